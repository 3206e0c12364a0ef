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
use super::host::{Arrival, Hosts};
use super::slots::{CLOSED_FOR_NEWCOMER, STALLED_FOR_NEWCOMER};
use super::upload;
use super::{Admitted, Holds};
use crate::convert::url::Origin;
use crate::protocol::identity::Identity;
use crate::protocol::request::{self, LineEnd, MAX_REQUEST_BYTES};
use crate::protocol::status::Status;
use crate::protocol::titan;
use crate::respond::gemini::{Answer, Ask, Now, success};

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Unsent TLS bytes kept per connection (rustls' default is 64 KiB): one full record.
const SEND_BUFFER_BYTES: usize = 16 * 1024 + 1024;

/// What a request gets, its file (if it is one) opened.
pub(super) type Response = Answer<std::fs::File>;

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
    let arrival = Arrival {
        hosts,
        host,
        local,
        identity: identity.as_ref(),
    };
    Box::pin(answer(tls, received, &buf, arrival, log, holds)).await
}

/// Answers what arrived, ends with close_notify; returns why it ended early, for the log.
async fn answer(
    mut tls: Tls,
    received: Received,
    buf: &[u8],
    arrival: Arrival<'_>,
    log: &mut AccessLog,
    holds: &mut Holds,
) -> Option<&'static str> {
    let limits = &arrival.hosts.timeouts;
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
            upload::respond(&mut tls, line, early, arrival, log).await
        }
        Received::Line { len, .. } => Some(respond(&buf[..len], arrival, log).await),
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
async fn respond(line: &[u8], arrival: Arrival<'_>, log: &mut AccessLog) -> Response {
    let Arrival {
        hosts,
        host: conn,
        local,
        identity,
    } = arrival;
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
    // One snapshot for the whole request, even if the site is reloaded meanwhile.
    let capsule = host.capsule.load_full();
    // A page of an area is for the certificates its areas let in (every area it lies in).
    if let Err(refusal) = capsule.admit(&request.segments, identity) {
        log.note = "client certificate refused";
        return Response::header(refusal.status, capsule.refusal_meta(&refusal));
    }
    let ask = Ask {
        origin: Origin::new(
            host.canonical().as_str(),
            host.public_port.unwrap_or(local.port()),
        ),
        request,
        identity: identity.cloned(),
    };
    let answer = match capsule.gemini_now(&ask) {
        Now::Answer(answer) => answer,
        Now::Search => {
            let capsule = Arc::clone(&capsule);
            off_thread(move || capsule.gemini_search(&ask))
                .await
                .unwrap_or_else(Answer::too_many_searches)
        }
        Now::Blocking => {
            let capsule = Arc::clone(&capsule);
            match on_disk(move || Ok(capsule.gemini_blocking(&ask))).await {
                Ok(answer) => answer,
                Err(e) => Answer::failed(&e),
            }
        }
        Now::Program(folder) => {
            // The client's address only where the operator lets personal data through.
            let peer = hosts.log_ip.then(|| log.peer.ip());
            let finding = Arc::clone(&capsule);
            let found = on_disk(move || Ok(finding.program(&folder, &ask, peer))).await;
            return match found {
                Ok(Some(program)) => {
                    log.note = "program";
                    hosts.programs.run(program, &mut log.note).await
                }
                Ok(None) => {
                    log.note = "no program at this path";
                    Response::header(Status::NotFound, capsule.layout.strings.text("not_found"))
                }
                Err(e) => Answer::failed(&e),
            };
        }
    };
    match answer.take_file() {
        Ok(answer) => answer,
        Err((mime, path)) => match open_file(&capsule.root, &path).await {
            Ok(file) => Response::File { mime, file },
            Err(e) => Response::unopened(&path, &e),
        },
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
