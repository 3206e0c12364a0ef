//! One Gemini connection, start to end: refuse non-TLS bytes, complete the handshake, read one
//! request line, answer it from the capsule, end with close_notify, and write one access-log
//! line. Every phase runs under its own timeout, so no client can hold a connection forever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::conn::{AccessLog, Pace, close, off_thread, on_disk, open_file, send_file, write_timed};
use super::host::{Host, Hosts};
use super::slots::{CLOSED_FOR_NEWCOMER, STALLED_FOR_NEWCOMER};
use super::upload;
use super::{Admitted, Holds};
use crate::content::Resolved;
use crate::content::files::names;
use crate::content::markdown::Page;
use crate::convert::route::Route;
use crate::convert::url::Origin;
use crate::protocol::identity::{self, Identity, Purpose};
use crate::protocol::request::{self, LineEnd, MAX_REQUEST_BYTES, Request};
use crate::protocol::status::Status;
use crate::protocol::titan;
use crate::respond::{Lookup, Searched, decode_query, encode_query};

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Unsent TLS bytes kept per connection (rustls' default is 64 KiB): one full record.
const SEND_BUFFER_BYTES: usize = 16 * 1024 + 1024;

/// What a request gets.
pub(super) enum Response {
    /// A header with no body (every status but 20).
    Header { status: Status, meta: String },
    /// `20 <mime>` and the contents of a file.
    File { mime: String, file: std::fs::File },
    /// `20 <mime>` and a page held in the snapshot (sent from it, never copied: a large page
    /// held by many slow readers is one page), and lines after it made for this request (an
    /// author's edit link).
    Page {
        mime: String,
        page: Arc<Page>,
        tail: Option<String>,
    },
    /// `20 <mime>` and gemtext made for this request.
    Generated { mime: String, body: String },
    /// A whole answer (header and body) made earlier from this snapshot.
    Kept(Arc<[u8]>),
}

impl Response {
    pub(super) fn header(status: Status, meta: impl Into<String>) -> Response {
        Response::Header {
            status,
            meta: meta.into(),
        }
    }

    fn status(&self) -> Status {
        match self {
            Response::Header { status, .. } => *status,
            Response::File { .. }
            | Response::Page { .. }
            | Response::Generated { .. }
            | Response::Kept(_) => Status::Success,
        }
    }
}

/// Serves one accepted TCP connection.
pub(super) async fn handle(conn: Admitted, hosts: Arc<Hosts>) {
    let Admitted {
        stream,
        peer,
        via,
        to,
        quiet,
        mut holds,
    } = conn;
    let mut log = AccessLog::new(peer);
    log.via = via;
    log.quiet = quiet;
    if let Some(note) = serve(stream, to, &mut holds, &hosts, &mut log).await {
        log.note = note;
    }
    log.write(hosts.log_ip);
}

/// Runs the phases of a connection; returns why it ended early, for the log.
async fn serve(
    stream: TcpStream,
    to: Option<SocketAddr>,
    holds: &mut Holds,
    hosts: &Hosts,
    log: &mut AccessLog,
) -> Option<&'static str> {
    let Ok(local) = stream.local_addr() else {
        return Some("connection lost before the handshake");
    };
    // The address the client connected to: the balancer's, when one relays it.
    let acceptor = hosts.acceptor_for(to.unwrap_or(local).ip());
    // A connection accepted before a shutdown is served during it, request and all (within
    // `shutdown_grace`): behind a balancer that is draining a node, nothing is dropped.
    let mut buf = [0u8; MAX_REQUEST_BYTES];
    let (tls, received) = tokio::select! {
        received = receive(stream, acceptor, hosts, &mut buf) => match received {
            Ok(received) => received,
            Err(note) => return Some(note),
        },
        () = holds.ticket.closed_for_newcomer().cancelled() => return Some(CLOSED_FOR_NEWCOMER),
    };
    holds.ticket.request_arrived();
    // The client certificate, if one was presented (or carried over by a resumed session).
    let identity = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| Identity::of(cert));
    log.cert = identity.as_ref().map(Identity::short);
    // Boxed: the answering phase's state is allocated only once a request has arrived, so a
    // connection that is still waiting for one (hundreds, in a slowloris attack) stays small.
    // The host the client asked for by name (SNI): the one this connection is for.
    let host = hosts.by_sni(tls.get_ref().1.server_name());
    log.vhost = host.canonical().to_string();
    Box::pin(answer(
        tls,
        received,
        &buf,
        (local, identity.as_ref()),
        (hosts, host),
        log,
        holds,
    ))
    .await
}

/// Answers what arrived, ends with close_notify; returns why it ended early, for the log.
async fn answer(
    mut tls: Tls,
    received: Received,
    buf: &[u8],
    (local, identity): (SocketAddr, Option<&Identity>),
    (hosts, host): (&Hosts, &Arc<Host>),
    log: &mut AccessLog,
    holds: &mut Holds,
) -> Option<&'static str> {
    let limits = &hosts.timeouts;
    // A balancer's health check that asks for something is a request like any other: its
    // line is news (only a bare connect and close is not).
    if !matches!(received, Received::TimedOut) {
        log.quiet = false;
    }
    let response = match received {
        Received::TimedOut => {
            log.note = "request timed out (no CRLF)";
            None
        }
        Received::TooLong => Some(Response::header(
            Status::BadRequest,
            "Request longer than 1024 bytes",
        )),
        Received::Line { len, filled } if titan::is_titan(&buf[..len]) => {
            // The bytes after the CRLF already read are the start of the upload's body.
            let early = &buf[len + 2..filled];
            let line = &buf[..len];
            upload::respond(&mut tls, line, early, local, (hosts, host), identity, log).await
        }
        Received::Line { len, .. } => {
            Some(respond(&buf[..len], (local, identity), (hosts, host), log).await)
        }
    };
    let note = match response {
        // Nothing to answer: the connection is only closed.
        None => {
            holds.answer_written();
            Some(log.note)
        }
        Some(response) => {
            log.status = Some(response.status().to_string());
            // A full server may close an answer that has stopped moving to admit a newcomer.
            let evicted = holds.ticket.closed_for_newcomer().clone();
            tokio::select! {
                delivered = deliver(&mut tls, response, limits.write_timeout, log, holds) => {
                    if delivered.is_err() {
                        return Some("client stopped reading; connection dropped");
                    }
                }
                () = evicted.cancelled() => return Some(STALLED_FOR_NEWCOMER),
            }
            log.answered = Some(Instant::now());
            None
        }
    };
    close(
        &mut tls,
        |tls| tls.get_mut().0,
        limits.write_timeout,
        &holds.ticket,
    )
    .await;
    note
}

type Tls = tokio_rustls::server::TlsStream<TcpStream>;

/// What arrived on a connection whose handshake succeeded.
enum Received {
    /// A request line of `len` bytes (CRLF not counted) is at the start of the buffer, which
    /// holds `filled` bytes.
    Line { len: usize, filled: usize },
    /// More than 1024 bytes without a CRLF.
    TooLong,
    /// The request timeout passed before a CRLF.
    TimedOut,
}

/// Refuses non-TLS bytes, completes the handshake, then reads the request line, each under its
/// own deadline. `Err` carries the log note of a connection that ends without any answer.
async fn receive(
    stream: TcpStream,
    acceptor: &tokio_rustls::TlsAcceptor,
    hosts: &Hosts,
    buf: &mut [u8; MAX_REQUEST_BYTES],
) -> Result<(Tls, Received), &'static str> {
    let limits = &hosts.timeouts;
    let handshake = async {
        first_record_arrived(&stream).await?;
        acceptor.accept(stream).await.map_err(|e| {
            tracing::debug!(error = %e, "TLS handshake failed");
            "TLS handshake failed"
        })
    };
    let mut tls = timeout(limits.handshake_timeout, handshake)
        .await
        .map_err(|_| "handshake timed out")??;
    // Encrypted bytes waiting for a client that reads slowly stay in the kernel's socket
    // buffer, not ours: rustls keeps at most one record of them.
    tls.get_mut().1.set_buffer_limit(Some(SEND_BUFFER_BYTES));
    let received = match timeout(limits.request_timeout, read_request(&mut tls, buf)).await {
        Err(_) => Received::TimedOut,
        Ok(Err(ReadError::Closed)) => return Err("client closed before sending a request"),
        Ok(Err(ReadError::TooLong)) => Received::TooLong,
        Ok(Ok((len, filled))) => Received::Line { len, filled },
    };
    Ok((tls, received))
}

/// Waits, reading nothing, until the client's first TLS record (its ClientHello) is wholly in
/// the socket's receive queue. Until then the connection costs no TLS state: a client that
/// sends its hello a byte at a time holds only the kernel's buffer. Answers nothing at all to a
/// client that does not speak TLS: even a TLS alert would be bytes on the wire.
async fn first_record_arrived(stream: &TcpStream) -> Result<(), &'static str> {
    const CLOSED: &str = "closed before the handshake";
    loop {
        let ready = stream.ready(Interest::READABLE).await.map_err(|_| CLOSED)?;
        let checked = stream.try_io(Interest::READABLE, || {
            let mut header = [0u8; 5];
            // Nothing queued: WouldBlock (readiness can be spurious); 0 bytes: the client
            // closed.
            let (peeked, _) =
                rustix::net::recv(stream, &mut header[..], rustix::net::RecvFlags::PEEK)?;
            if peeked == 0 {
                return Ok(Err(CLOSED));
            }
            let header = &header[..peeked];
            if header[0] != TLS_HANDSHAKE_RECORD {
                return Ok(Err("not TLS: closed without a reply"));
            }
            if header.len() < 5 {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            let record = 5 + u64::from(u16::from_be_bytes([header[3], header[4]]));
            // A longer one is not TLS (a plaintext record holds at most 16 KiB): rustls
            // refuses it at once, rather than waiting for bytes the kernel may never queue.
            if record <= 5 + 16 * 1024 && rustix::io::ioctl_fionread(stream)? < record {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            Ok(Ok(()))
        });
        match checked {
            Ok(result) => return result,
            // Part of a record, and the client has closed: the rest never comes (and a
            // closed socket stays readable, so waiting again would spin).
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && ready.is_read_closed() => {
                return Err(CLOSED);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(CLOSED),
        }
    }
}

enum ReadError {
    Closed,
    TooLong,
}

/// Reads until the first CRLF; returns the length of the URL before it and how many bytes
/// were read (a Titan body may follow the line). Reads at most [`MAX_REQUEST_BYTES`], so a
/// client cannot make us buffer more.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8; MAX_REQUEST_BYTES],
) -> Result<(usize, usize), ReadError> {
    let mut len = 0;
    loop {
        match request::find_line_end(&buf[..len]) {
            LineEnd::Found(n) => return Ok((n, len)),
            LineEnd::TooLong => return Err(ReadError::TooLong),
            LineEnd::Incomplete => {}
        }
        match stream.read(&mut buf[len..]).await {
            Ok(0) | Err(_) => return Err(ReadError::Closed),
            Ok(n) => len += n,
        }
    }
}

/// Decides the response to a request line on a connection for `conn`.
async fn respond(
    line: &[u8],
    (local, identity): (SocketAddr, Option<&Identity>),
    (hosts, conn): (&Hosts, &Arc<Host>),
    log: &mut AccessLog,
) -> Response {
    let parsed = request::parse(line);
    if let Ok(request) = &parsed {
        log.host = request.host.to_string();
        log.path = if request.raw_path.is_empty() {
            "/".to_owned()
        } else {
            request.raw_path.clone()
        };
    }
    // Every request line counts against its address's rate, refused ones too.
    if let Err(wait) = hosts.per_address.request(log.peer.ip()) {
        log.note = "over the request rate of its address";
        return Response::header(Status::SlowDown, wait.to_string());
    }
    let request = match parsed {
        Ok(request) => request,
        Err(rejection) => {
            log.note = rejection.reason;
            return Response::header(rejection.status, rejection.reason);
        }
    };
    let host = match hosts.route(conn, &request, local) {
        Ok(host) => host,
        Err(rejection) => {
            log.note = rejection.reason;
            return Response::header(rejection.status, rejection.reason);
        }
    };
    // A page of an area is for the certificates its areas let in (every area it lies in).
    let now = identity::now();
    for area in host.areas_over(&request.segments) {
        if let Err(refusal) = identity::admit(&area.fingerprints, identity, now, Purpose::Area) {
            log.note = "client certificate refused";
            return Response::header(refusal.status, refusal.meta);
        }
    }
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(local.port()),
    );
    let preview = host.previews_drafts(identity);
    let response = serve_file(&request, host, origin.clone(), preview).await;
    if host.is_author(identity) {
        return with_edit_link(response, &request, host, &origin, identity);
    }
    response
}

/// An author's view of a page they may edit: the page with a link to its source under it
/// (`=> titan://host:port/path;edit`), which their client opens in its editor. Readers' pages
/// never have it (and an author's view is never kept for them).
fn with_edit_link(
    response: Response,
    request: &Request,
    host: &Host,
    origin: &Origin,
    identity: Option<&Identity>,
) -> Response {
    let gemtext = match &response {
        Response::Page { page, .. } => page.gemtext.as_str(),
        Response::Generated { mime, body } if mime.starts_with("text/gemini") => body.as_str(),
        _ => return response,
    };
    let capsule = host.capsule.load();
    let Some(source) = capsule
        .site
        .text_path(&request.segments, request.ends_with_slash)
    else {
        return response;
    };
    let segments: Vec<String> = names(source).map(str::to_owned).collect();
    if host.write_refusal(&segments, identity).is_some() {
        return response;
    }
    // The page's own URL (a post's, its `slug` kept); a folder's page by its index file.
    let edit = upload::edit_url(origin, &capsule.page_url(source));
    let newline = if gemtext.is_empty() || gemtext.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let link = format!("{newline}\n=> {edit} Edit this page\n");
    match response {
        Response::Page { mime, page, .. } => Response::Page {
            mime,
            page,
            tail: Some(link),
        },
        Response::Generated { mime, mut body } => {
            body.push_str(&link);
            Response::Generated { mime, body }
        }
        other => other,
    }
}

/// Answers a request for `host`: a generated page, else from its capsule folder; with
/// `preview`, as its authors see it (drafts included).
async fn serve_file(
    request: &Request,
    host: &Arc<Host>,
    origin: Origin,
    preview: bool,
) -> Response {
    // One snapshot for the whole request, even if the site is reloaded meanwhile.
    let capsule = host.capsule.load_full();
    if let Some(page) = search_path(&request.segments, request.ends_with_slash) {
        let query = decode_query(request.query.as_deref().unwrap_or(""));
        let (capsule, page) = (Arc::clone(&capsule), page.map(str::to_owned));
        let searched = off_thread(move || {
            capsule.search_page(page.as_deref(), &query, |n, words| {
                let words = encode_query(words);
                match n {
                    1 => format!("{}?{words}", Route::Search(None).url()),
                    n => format!("{}?{words}", Route::Search(Some(&n.to_string())).url()),
                }
            })
        })
        .await;
        return match searched {
            Some(Searched::Prompt) => Response::header(Status::Input, "Search this capsule"),
            Some(Searched::Page(body)) => Response::Generated {
                mime: host.gemtext_header(None),
                body,
            },
            Some(Searched::NotFound) => {
                Response::header(Status::NotFound, "No such page of results")
            }
            None => Response::header(
                Status::ServerUnavailable,
                "Too many searches at once: try again in a moment",
            ),
        };
    }
    let segments = request.segments.clone();
    let ends_with_slash = request.ends_with_slash;
    if preview {
        // An author's view is made per request: the kept answers are readers'.
        let previewed = Arc::clone(&capsule);
        let lookup =
            on_disk(move || Ok(previewed.lookup_preview(&segments, ends_with_slash, &origin)))
                .await;
        return found(
            lookup,
            &capsule,
            host,
            &request.raw_path,
            request.query.as_deref(),
        )
        .await;
    }
    // Generated answers (indexes, feeds, series posts with their navigation) are made once
    // per snapshot, off the async threads, and kept; pages come from memory; only other
    // files need the folder (off the async threads too).
    let key = format!(
        "gemini {} /{}{}",
        origin.absolute(""),
        segments.join("/"),
        if ends_with_slash { "/" } else { "" }
    );
    if let Some(bytes) = capsule.rendered.get(&key) {
        return Response::Kept(bytes);
    }
    let lookup = if capsule.renders(&segments, ends_with_slash) {
        // Made off the async threads, once for every request that asks meanwhile.
        let (capsule, host) = (Arc::clone(&capsule), Arc::clone(host));
        let made = on_disk(move || {
            let kept = capsule.rendered.get_or_make(&key, || {
                match capsule.lookup_in_memory(&segments, ends_with_slash, &origin) {
                    Some(Lookup::Generated { body, lang }) => {
                        Ok(success(&host.gemtext_header(lang.as_ref()), &body))
                    }
                    Some(Lookup::Typed { mime, body }) => Ok(success(mime, &body)),
                    other => Err(other),
                }
            });
            Ok(match kept {
                Ok(bytes) => Ok(bytes),
                Err(Some(lookup)) => Err(lookup),
                Err(None) => Err(capsule.lookup(&segments, ends_with_slash, &origin)),
            })
        })
        .await;
        match made {
            Ok(Ok(bytes)) => return Response::Kept(bytes),
            Ok(Err(lookup)) => Ok(lookup),
            Err(e) => Err(e),
        }
    } else {
        // Pages held whole in the snapshot come from memory; only files need the folder.
        match capsule.lookup_in_memory(&segments, ends_with_slash, &origin) {
            Some(lookup) => Ok(lookup),
            None => {
                let capsule = Arc::clone(&capsule);
                on_disk(move || Ok(capsule.lookup(&segments, ends_with_slash, &origin))).await
            }
        }
    };
    found(
        lookup,
        &capsule,
        host,
        &request.raw_path,
        request.query.as_deref(),
    )
    .await
}

/// The answer to what a path looked up to.
async fn found(
    lookup: std::io::Result<Lookup>,
    capsule: &crate::respond::Capsule,
    host: &Host,
    raw_path: &str,
    query: Option<&str>,
) -> Response {
    match lookup {
        Ok(Lookup::Found(Resolved::File { path, mime })) => {
            match open_file(&capsule.root, &path).await {
                Ok(file) => Response::File {
                    mime: host.mime_header(mime),
                    file,
                },
                // What stands there now is no servable file (the snapshot is only a hint).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::debug!(file = %path.display(), error = %e, "not served");
                    Response::header(Status::NotFound, "Not found")
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot open file");
                    Response::header(Status::TemporaryFailure, "Cannot read this file")
                }
            }
        }
        Ok(Lookup::Page(page)) => match page.withheld {
            Some(_) => Response::header(Status::NotFound, "Not found"),
            None => Response::Page {
                mime: host.gemtext_header(page.lang.as_ref()),
                page,
                tail: None,
            },
        },
        Ok(Lookup::Generated { body, lang }) => Response::Generated {
            mime: host.gemtext_header(lang.as_ref()),
            body,
        },
        Ok(Lookup::Typed { mime, body }) => Response::Generated {
            mime: mime.into(),
            body,
        },
        Ok(Lookup::Redirect(target)) => Response::header(Status::RedirectPermanent, target),
        Ok(Lookup::PageError(e)) => {
            tracing::warn!("{e}");
            Response::header(Status::TemporaryFailure, "Cannot convert this page")
        }
        Ok(Lookup::Found(Resolved::AddSlash)) => {
            // The path as sent, in its one form: `//archive` must not become `//archive/`,
            // which a client reads as a link to another host.
            let path: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
            let mut target = format!("/{}/", path.join("/"));
            if let Some(query) = query {
                target.push('?');
                target.push_str(query);
            }
            Response::header(Status::RedirectPermanent, target)
        }
        Ok(Lookup::Found(Resolved::NotFound(_) | Resolved::Markdown(_))) => {
            Response::header(Status::NotFound, "Not found")
        }
        Err(e) => {
            tracing::error!(error = %e, "path lookup failed");
            Response::header(Status::TemporaryFailure, "Internal error")
        }
    }
}

/// Whether a path is the search page (`/search`, `/search/<n>`), and then its page segment.
fn search_path(segments: &[String], ends_with_slash: bool) -> Option<Option<&str>> {
    match Route::parse(segments)? {
        Route::Search(page) if !ends_with_slash => Some(page),
        _ => None,
    }
}

/// Writes the header and any body; each write may stall for at most `pace.limit`.
async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: Response,
    pace: Pace<'_>,
    log: &mut AccessLog,
) -> std::io::Result<()> {
    match response {
        Response::Header { status, meta } => {
            let header = format!("{status} {meta}\r\n");
            write_timed(stream, header.as_bytes(), pace).await?;
            log.bytes += header.len() as u64;
        }
        Response::Page { mime, page, tail } => {
            write_page(stream, &mime, &page.gemtext, tail.as_deref(), pace, log).await?;
        }
        Response::Generated { mime, body } => {
            write_page(stream, &mime, &body, None, pace, log).await?;
        }
        Response::Kept(bytes) => {
            write_timed(stream, &bytes, pace).await?;
            log.bytes += bytes.len() as u64;
        }
        Response::File { mime, file } => {
            let header = format!("{} {mime}\r\n", Status::Success);
            write_timed(stream, header.as_bytes(), pace).await?;
            log.bytes += header.len() as u64;
            send_file(stream, file, pace, log).await?;
        }
    }
    Ok(())
}

/// A whole `20` answer: header and body.
fn success(mime: &str, body: &str) -> Vec<u8> {
    let mut bytes = format!("{} {mime}\r\n", Status::Success).into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Writes `20 <mime>` and a body held in memory (a page of the snapshot, or text made for this
/// request), and any `tail` after it. A small body goes in one write with its header (one TLS
/// record); a larger one is written from its own bytes, so each reader of a snapshot's page
/// holds a reference to the page, not a copy.
async fn write_page<S: AsyncWrite + Unpin>(
    stream: &mut S,
    mime: &str,
    page: &str,
    tail: Option<&str>,
    pace: Pace<'_>,
    log: &mut AccessLog,
) -> std::io::Result<()> {
    const ONE_WRITE: usize = 16 * 1024;
    if page.len() <= ONE_WRITE {
        let mut bytes = success(mime, page);
        bytes.extend_from_slice(tail.unwrap_or("").as_bytes());
        write_timed(stream, &bytes, pace).await?;
        log.bytes += bytes.len() as u64;
        return Ok(());
    }
    let header = format!("{} {mime}\r\n", Status::Success);
    for part in [header.as_str(), page, tail.unwrap_or("")] {
        write_timed(stream, part.as_bytes(), pace).await?;
        log.bytes += part.len() as u64;
    }
    Ok(())
}

/// Writes the answer, then flushes what the TLS layer still holds (rustls keeps the last
/// records when the socket is full): only once the kernel has every byte is the answer
/// written, and only then does the connection give back its place among its address's.
async fn deliver<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: Response,
    write_timeout: Duration,
    log: &mut AccessLog,
    holds: &mut Holds,
) -> std::io::Result<()> {
    let pace = Pace {
        limit: write_timeout,
        ticket: &holds.ticket,
    };
    write_response(stream, response, pace, log).await?;
    match timeout(write_timeout, stream.flush()).await {
        Ok(flushed) => flushed?,
        Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
    }
    holds.answer_written();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::conn::tests::Stalled;
    use crate::server::limits::PerAddress;
    use crate::server::slots::Slots;

    #[tokio::test(start_paused = true)]
    async fn the_address_keeps_its_place_until_the_whole_answer_is_flushed() {
        let ip: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let per_address = Arc::new(PerAddress::new(1, 0));
        let slots = Arc::new(Slots::new(4));
        let mut holds = Holds {
            place: per_address.connect(ip),
            ticket: slots.admit().await,
        };
        let writing = tokio::spawn(async move {
            let mut log = AccessLog::new("192.0.2.1:1965".parse().unwrap());
            let response = Response::header(Status::Success, "text/gemini");
            let delivered = deliver(
                &mut Stalled,
                response,
                Duration::from_secs(30),
                &mut log,
                &mut holds,
            )
            .await;
            (delivered.is_ok(), holds.place.is_some())
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        // Written into the TLS layer but not flushed: still owed, still counted.
        assert!(per_address.connect(ip).is_none());
        // The client never reads: the write times out and the place goes with the connection.
        assert_eq!(writing.await.unwrap(), (false, true));
    }
}
