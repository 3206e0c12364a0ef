//! One Gopher connection: read a selector line (CRLF, or a lone LF) under a timeout and a
//! length limit, answer it from the capsule snapshot, close. Plain TCP, no status line.
//!
//! Selectors mirror the Gemini paths: `/` is the home menu, `/posts/x.txt` the text of the page
//! Gemini serves at `/posts/x.gmi`, `/series/slug/` a menu, other files their own bytes. A bad
//! request gets a type-3 error menu that never repeats what was sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::conn::{AccessLog, Pace, close, off_thread, on_disk, open_file, send_file, write_timed};
use super::host::{Host, Hosts};
use super::slots::{CLOSED_FOR_NEWCOMER, STALLED_FOR_NEWCOMER};
use super::{Admitted, Holds};
use crate::config::GEMINI_PORT;
use crate::content::Resolved;
use crate::convert::gopher::{self, Place};
use crate::convert::route::Route;
use crate::convert::url::Origin;
use crate::protocol::selector::{self, Target};
use crate::respond::{Capsule, Lookup, Searched, encode_query};

/// The longest request line read; RFC 1436 selectors are at most 255 bytes.
const MAX_REQUEST_BYTES: usize = 1024;

/// What a request gets.
enum Answer {
    /// Bytes made for this request, and the item type they are (for the log).
    Made { kind: char, bytes: Vec<u8> },
    /// A file's own bytes.
    File { kind: char, file: std::fs::File },
    /// A rendered answer kept for this snapshot: its item type as the first byte, then the
    /// answer.
    Kept(Arc<[u8]>),
}

impl Answer {
    fn menu(body: String) -> Answer {
        Answer::Made {
            kind: '1',
            bytes: body.into_bytes(),
        }
    }

    fn text(body: String) -> Answer {
        Answer::Made {
            kind: '0',
            bytes: body.into_bytes(),
        }
    }

    fn error(message: &str) -> Answer {
        Answer::Made {
            kind: '3',
            bytes: gopher::error(message).into_bytes(),
        }
    }
}

/// Serves one accepted TCP connection on the listener configured at `configured`, for the
/// host that listens there.
pub(super) async fn handle(conn: Admitted, hosts: Arc<Hosts>, configured: SocketAddr) {
    let Admitted {
        stream,
        peer,
        via,
        quiet,
        mut holds,
        ..
    } = conn;
    let mut log = AccessLog::new(peer);
    log.via = via;
    log.quiet = quiet;
    // A reload never leaves a bound address without its host; should it, the default one.
    let host = hosts.for_gopher(configured).unwrap_or(hosts.default_host());
    log.host = "gopher".into();
    log.vhost = host.canonical().to_string();
    let served = serve(stream, &mut holds, (&hosts, host), &mut log).await;
    if let Some(note) = served {
        log.note = note;
    }
    log.write(hosts.log_ip);
}

/// Runs the phases of a connection; returns why it ended early, for the log.
async fn serve(
    mut stream: TcpStream,
    holds: &mut Holds,
    (hosts, host): (&Hosts, &Host),
    log: &mut AccessLog,
) -> Option<&'static str> {
    let limits = &hosts.timeouts;
    let Ok(local) = stream.local_addr() else {
        return Some("connection lost");
    };
    let mut buf = [0u8; MAX_REQUEST_BYTES + 2];
    // A connection accepted before a shutdown is served during it (within `shutdown_grace`).
    let read = tokio::select! {
        read = timeout(limits.request_timeout, read_line(&mut stream, &mut buf)) => read,
        () = holds.ticket.closed_for_newcomer().cancelled() => return Some(CLOSED_FOR_NEWCOMER),
    };
    holds.ticket.request_arrived();
    let line = match read {
        Err(_) => return Some("request timed out"),
        Ok(Line::Closed) => return Some("client closed before sending a request"),
        Ok(Line::TooLong) => None,
        Ok(Line::Read(len)) => Some(&buf[..len]),
    };
    // A balancer's health check that asks for something is logged like any request.
    log.quiet = false;
    // Boxed: the answering phase's state is allocated only once a request has arrived, so a
    // connection that is still waiting for one (hundreds, in a slowloris attack) stays small.
    Box::pin(reply(stream, line, local, (hosts, host), log, holds)).await
}

/// Answers a request line (`None`: one too long) and closes; returns why it ended early, for
/// the log.
async fn reply(
    mut stream: TcpStream,
    line: Option<&[u8]>,
    local: SocketAddr,
    (hosts, host): (&Hosts, &Host),
    log: &mut AccessLog,
    holds: &mut Holds,
) -> Option<&'static str> {
    let limits = &hosts.timeouts;
    let answer = match line {
        Some(line) => respond(line, local, (hosts, host), log).await,
        None => {
            log.note = "request too long";
            Answer::error("Request too long")
        }
    };
    let pace = Pace {
        limit: limits.write_timeout,
        ticket: &holds.ticket,
    };
    let writing = async {
        match answer {
            Answer::Made { kind, bytes } => {
                log.status = Some(kind.to_string());
                log.bytes = bytes.len() as u64;
                write_timed(&mut stream, &bytes, pace).await
            }
            Answer::File { kind, file } => {
                log.status = Some(kind.to_string());
                send_file(&mut stream, file, pace, log).await
            }
            Answer::Kept(kept) => {
                log.status = Some((kept[0] as char).to_string());
                log.bytes = kept.len() as u64 - 1;
                write_timed(&mut stream, &kept[1..], pace).await
            }
        }
    };
    // A full server may close an answer that has stopped moving to admit a newcomer.
    tokio::select! {
        written = writing => {
            if written.is_err() {
                return Some("client stopped reading; connection dropped");
            }
        }
        () = holds.ticket.closed_for_newcomer().cancelled() => return Some(STALLED_FOR_NEWCOMER),
    }
    log.answered = Some(Instant::now());
    holds.answer_written();
    close(&mut stream, |s| s, limits.write_timeout, &holds.ticket).await;
    None
}

enum Line {
    /// A request of this many bytes (line end not counted) starts the buffer.
    Read(usize),
    TooLong,
    Closed,
}

/// Reads up to the first LF (a CR before it is dropped). A client that closes its side after
/// sending a selector without a line end has still asked for it.
async fn read_line(stream: &mut TcpStream, buf: &mut [u8; MAX_REQUEST_BYTES + 2]) -> Line {
    let mut len = 0;
    loop {
        if let Some(end) = buf[..len].iter().position(|&b| b == b'\n') {
            let line = if end > 0 && buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            return if line > MAX_REQUEST_BYTES {
                Line::TooLong
            } else {
                Line::Read(line)
            };
        }
        if len == buf.len() {
            return Line::TooLong;
        }
        match stream.read(&mut buf[len..]).await {
            Ok(0) if len == 0 => return Line::Closed,
            // Ended by the client's half-close: a selector all the same, unless too long (never
            // cut short into another one).
            Ok(0) if len > MAX_REQUEST_BYTES => return Line::TooLong,
            Ok(0) => return Line::Read(len),
            Ok(n) => len += n,
            Err(_) => return Line::Closed,
        }
    }
}

/// Decides the answer to a request line.
async fn respond(
    line: &[u8],
    local: SocketAddr,
    (hosts, host): (&Hosts, &Host),
    log: &mut AccessLog,
) -> Answer {
    // Every request line counts against its address's rate, refused ones too.
    if let Err(wait) = hosts.per_address.request(log.peer.ip()) {
        log.note = "over the request rate of its address";
        return Answer::error(&format!("Too many requests: try again in {} s", wait));
    }
    let request = match selector::parse(line) {
        Ok(request) => request,
        Err(rejection) => {
            log.note = rejection;
            return Answer::error("Not found");
        }
    };
    log.path = if request.selector.is_empty() {
        "/"
    } else {
        request.selector
    }
    .chars()
    .take(200)
    .collect();
    let place = Place {
        host: host.gopher.host.clone(),
        port: host.gopher.public_port.unwrap_or(local.port()),
        gemini_host: host.canonical().to_string(),
        width: host.gopher.wrap,
    };
    let (segments, slash) = match request.target {
        // The UMN client asks for the root's Gopher+ attributes first and gives up without them.
        Target::PlusProbe => {
            return Answer::Made {
                kind: '+',
                bytes: format!(
                    "+-1\r\n+INFO: 1Main menu\t\t{}\t{}\r\n.\r\n",
                    place.host, place.port
                )
                .into_bytes(),
            };
        }
        Target::Http => {
            log.note = "HTTP request";
            return Answer::Made {
                kind: 'H',
                bytes: format!(
                    "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Connection: close\r\n\r\nThis is a Gopher server: gopher://{}:{}/\r\n",
                    place.host, place.port
                )
                .into_bytes(),
            };
        }
        Target::Url(url) => {
            return Answer::Made {
                kind: 'h',
                bytes: gopher::url_redirect(&url).into_bytes(),
            };
        }
        Target::Caps => {
            return Answer::text(gopher::caps("gemhole", env!("CARGO_PKG_VERSION")));
        }
        Target::DotSegment => {
            log.note = "dot segment in the selector";
            return Answer::error("Not found");
        }
        Target::Item { segments, slash } => (segments, slash),
        Target::Search { page, query } => return search(host, page, query, place, log).await,
    };
    // Gopher has no client certificates: an area's pages are for Gemini readers it lets in.
    if host.areas_over(&segments).next().is_some() {
        log.note = "in a client-certificate area";
        return Answer::error("This page needs a client certificate: read it over Gemini");
    }
    let capsule = host.capsule.load_full();
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(GEMINI_PORT),
    );
    // Menus and texts are rendered once per snapshot (and per advertised port); what the
    // snapshot cannot answer alone is looked up in the folder, off the async threads.
    // The key is the selector in its one canonical form (`//a//b` is `/a/b`), so an answer is
    // kept once however it is asked for.
    let key = format!(
        "gopher {} /{}{}",
        place.port,
        segments.join("/"),
        if slash { "/" } else { "" }
    );
    if let Some(bytes) = capsule.rendered.get(&key) {
        return Answer::Kept(bytes);
    }
    // Menus and texts are made off the async threads, once for every request that asks
    // meanwhile.
    let found = {
        let capsule = Arc::clone(&capsule);
        on_disk(move || {
            let kept = capsule.rendered.get_or_make(&key, || {
                match answer(&capsule, segments.clone(), slash, &place, &origin, false) {
                    Some(Found::Made(Answer::Made {
                        kind: kind @ ('0' | '1'),
                        bytes,
                    })) => Ok([kind as u8].into_iter().chain(bytes).collect()),
                    found => Err(found),
                }
            });
            Ok(match kept {
                Ok(bytes) => Found::Made(Answer::Kept(bytes)),
                Err(Some(found)) => found,
                Err(None) => answer(&capsule, segments, slash, &place, &origin, true)
                    .unwrap_or(Found::Nothing),
            })
        })
        .await
    };
    match found {
        Ok(Found::Made(answer)) => answer,
        Ok(Found::File(path)) => match open_file(&capsule.root, &path).await {
            Ok(file) => Answer::File {
                kind: gopher::item_type(&path.to_string_lossy()),
                file,
            },
            // What stands there now is no servable file (the snapshot is only a hint).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(file = %path.display(), error = %e, "not served");
                Answer::error("Not found")
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot open file");
                Answer::error("Cannot read this file")
            }
        },
        Ok(Found::Nothing) => Answer::error("Not found"),
        Err(e) => {
            tracing::error!(error = %e, "selector lookup failed");
            Answer::error("Internal error")
        }
    }
}

/// A search: a menu of results, or what to do.
async fn search(
    host: &Host,
    page: Option<String>,
    query: String,
    place: Place,
    log: &mut AccessLog,
) -> Answer {
    let capsule = host.capsule.load_full();
    if capsule.root.in_area(&Route::Search(None).segments()) {
        log.note = "in a client-certificate area";
        return Answer::error("This page needs a client certificate: read it over Gemini");
    }
    let searched = off_thread(move || {
        let searched = capsule.search_page(page.as_deref(), &query, |n, words| {
            // Decoded once on the way into the menu: the selector keeps the words encoded.
            let page = Route::Search(Some(&n.to_string())).url();
            format!("{page}/{}/", encode_query(&encode_query(words)))
        });
        let search_url = Route::Search(None).url();
        match searched {
            Searched::Page(gemtext) => Some(gopher::menu(&gemtext, &search_url, &place)),
            Searched::Prompt => Some(gopher::menu(
                &format!(
                    "# Search this capsule\nType the words to search for in your client's \
                     search prompt.\n=> {search_url} Search this capsule\n"
                ),
                &search_url,
                &place,
            )),
            Searched::NotFound => None,
        }
    })
    .await;
    match searched {
        Some(Some(menu)) => Answer::menu(menu),
        Some(None) => {
            log.note = "no such page of results";
            Answer::error("No such page of results")
        }
        None => {
            log.note = "too many searches at once";
            Answer::error("Too many searches at once: try again in a moment")
        }
    }
}

/// What a selector names, found in the capsule.
enum Found {
    Made(Answer),
    /// A file to send as it is.
    File(std::path::PathBuf),
    Nothing,
}

/// Looks a selector up. With `disk` off, only in the site snapshot: `None` when the folder
/// would have to be looked at. With `disk` on it blocks (the folder may be looked at) and
/// always answers. No file is read here: a page too large for the snapshot is sent as it is.
fn answer(
    capsule: &Capsule,
    mut segments: Vec<String>,
    slash: bool,
    place: &Place,
    origin: &Origin,
    disk: bool,
) -> Option<Found> {
    let lookup = |segments: &[String], slash: bool| {
        // Every path looked up, a `.txt` name's page and a redirect's target too: Gopher
        // readers have no certificate to show an area.
        if capsule.root.in_area(segments) {
            return Some(Lookup::Found(Resolved::NotFound(
                "in a client-certificate area",
            )));
        }
        if disk {
            Some(capsule.lookup(segments, slash, origin))
        } else {
            capsule.lookup_in_memory(segments, slash, origin)
        }
    };
    if slash || segments.is_empty() {
        // A former name of a series: Gopher has no redirect, so the menu it moved to.
        if let Lookup::Redirect(target) = lookup(&segments, true)?
            && target.ends_with('/')
        {
            let (_, moved) = segments_of(&target);
            return menu(lookup(&moved, true)?, &moved, place);
        }
        return menu(lookup(&segments, true)?, &segments, place);
    }
    match lookup(&segments, false)? {
        Lookup::Found(Resolved::File { path, .. }) => return Some(Found::File(path)),
        Lookup::Found(Resolved::AddSlash) => {
            return menu(lookup(&segments, true)?, &segments, place);
        }
        Lookup::Typed { body, .. } => return Some(Found::Made(Answer::text(body))),
        // A page asked for by its Gemini name: its gemtext, as a file would be.
        Lookup::Page(page) if page.withheld.is_none() => {
            return Some(Found::Made(Answer::text(page.gemtext.clone())));
        }
        Lookup::Generated { body, .. } => return Some(Found::Made(Answer::text(body))),
        _ => {}
    }
    // `x.txt`: the text of the page Gemini serves as `x.gmi`.
    let Some(last) = segments.last_mut() else {
        return Some(Found::Nothing);
    };
    let Some(stem) = last.strip_suffix(".txt") else {
        return Some(Found::Nothing);
    };
    *last = format!("{stem}.gmi");
    let mut gemini_path = format!("/{}", segments.join("/"));
    let mut found = lookup(&segments, false)?;
    if let Lookup::Redirect(target) = found {
        // A post renamed by its `slug`: the text of the page it moved to.
        let (decoded, target) = segments_of(&target);
        found = lookup(&target, false)?;
        gemini_path = decoded;
    }
    let gemtext = match found {
        Lookup::Page(page) if page.withheld.is_none() => page.gemtext.clone(),
        Lookup::Generated { body, .. } => body,
        // Over `markdown.max_file_size`, so not held in the snapshot: its gemtext as it is,
        // streamed from the file rather than read whole and rendered per request.
        Lookup::Found(Resolved::File { path, .. }) => return Some(Found::File(path)),
        _ => return Some(Found::Nothing),
    };
    Some(Found::Made(Answer::text(gopher::text(
        &gemtext,
        &gemini_path,
        place,
    ))))
}

/// A root-relative URL the capsule redirects to, decoded, and its path segments.
fn segments_of(url: &str) -> (String, Vec<String>) {
    let decoded = percent_encoding::percent_decode_str(url)
        .decode_utf8_lossy()
        .into_owned();
    (decoded, crate::convert::url::path_segments(url))
}

/// The menu of a folder-style selector from what its Gemini page looked up to.
fn menu(lookup: Lookup, segments: &[String], place: &Place) -> Option<Found> {
    let path = if segments.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", segments.join("/"))
    };
    let gemtext = match lookup {
        Lookup::Generated { body, .. } => body,
        Lookup::Page(page) if page.withheld.is_none() => page.gemtext.clone(),
        // A folder page over `markdown.max_file_size`: not made into a menu (that would mean
        // reading it whole per request); a menu that offers it as text instead.
        Lookup::Found(Resolved::File {
            path: file,
            mime: "text/gemini",
        }) => {
            let name = file.file_name()?.to_string_lossy();
            format!(
                "This page is too large to show as a menu.\n=> {} The page as text\n",
                crate::convert::url::encode_path(&name)
            )
        }
        _ => return Some(Found::Nothing),
    };
    Some(Found::Made(Answer::menu(gopher::menu(
        &gemtext, &path, place,
    ))))
}
