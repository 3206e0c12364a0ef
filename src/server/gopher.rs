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
use super::host::{Arrival, Host, Hosts};
use super::slots::{CLOSED_FOR_NEWCOMER, STALLED_FOR_NEWCOMER};
use super::{Admitted, Holds};
use crate::config::GEMINI_PORT;
use crate::convert::gopher::Place;
use crate::convert::url::Origin;
use crate::protocol::selector;
use crate::respond::gopher::{self as gopher_answers, Now};

/// The longest request line read; RFC 1436 selectors are at most 255 bytes.
const MAX_REQUEST_BYTES: usize = 1024;

/// What a request gets, its file (if it is one) opened.
type Answer = gopher_answers::Answer<std::fs::File>;

/// What the capsule decided, before its file (if it is one) is opened.
type Decided = gopher_answers::Answer;

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
    let served = serve(stream, &mut holds, &hosts, host, &mut log).await;
    if let Some(note) = served {
        log.note = note;
    }
    log.write(hosts.log_ip);
}

/// Runs the phases of a connection; returns why it ended early, for the log.
async fn serve(
    mut stream: TcpStream,
    holds: &mut Holds,
    hosts: &Hosts,
    host: &Arc<Host>,
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
    let arrival = Arrival {
        hosts,
        host,
        local,
        identity: None,
    };
    Box::pin(reply(stream, line, arrival, log, holds)).await
}

/// Answers a request line (`None`: one too long) and closes; returns why it ended early, for
/// the log.
async fn reply(
    mut stream: TcpStream,
    line: Option<&[u8]>,
    arrival: Arrival<'_>,
    log: &mut AccessLog,
    holds: &mut Holds,
) -> Option<&'static str> {
    let limits = &arrival.hosts.timeouts;
    let answer = match line {
        Some(line) => respond(line, arrival, log).await,
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
async fn respond(line: &[u8], arrival: Arrival<'_>, log: &mut AccessLog) -> Answer {
    let Arrival {
        hosts, host, local, ..
    } = arrival;
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
    let capsule = host.capsule.load_full();
    let (answer, note) = match capsule.gopher_now(request.target, &place) {
        Now::Answer(told) => told,
        Now::Search { page, query } => {
            let capsule = Arc::clone(&capsule);
            off_thread(move || capsule.gopher_search(page.as_deref(), &query, &place))
                .await
                .unwrap_or((
                    Decided::error("Too many searches at once: try again in a moment"),
                    Some("too many searches at once"),
                ))
        }
        Now::Blocking { segments, slash } => {
            let origin = Origin::new(
                host.canonical().as_str(),
                host.public_port.unwrap_or(GEMINI_PORT),
            );
            // Menus and texts are made off the async threads, once for every request that
            // asks meanwhile.
            let capsule = Arc::clone(&capsule);
            let made =
                on_disk(move || Ok(capsule.gopher_blocking(segments, slash, &place, &origin)))
                    .await;
            match made {
                Ok(answer) => (answer, None),
                Err(e) => {
                    tracing::error!(error = %e, "selector lookup failed");
                    (Decided::error("Internal error"), None)
                }
            }
        }
    };
    if let Some(note) = note {
        log.note = note;
    }
    match answer.take_file() {
        Ok(answer) => answer,
        Err((kind, path)) => match open_file(&capsule.root, &path).await {
            Ok(file) => Answer::File { kind, file },
            Err(e) => Answer::unopened(&path, &e),
        },
    }
}
