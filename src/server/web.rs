//! One HTTP connection: HTTP/1.1 with keep-alive (hyper), optionally in TLS, each request
//! answered from the capsule by `respond::web` and carried here with what HTTP asks of a
//! server: validators and `304`, compression for clients that accept it, `HEAD`, security
//! headers, and no request bodies at all.
//!
//! Limits as for Gemini: the request head within `request_timeout` and at most
//! [`MAX_HEAD_BYTES`]; a connection with nothing moving for `request_timeout` (between
//! requests) or a write that stalls for `write_timeout` is closed; every request counts
//! against its address's rate; a connection idle between requests may be closed for a
//! newcomer when every slot is taken.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

use super::conn::{AccessLog, off_thread, on_disk, open_file};
use super::host::{Hosts, WebAddr};
use super::limits::Slot;
use super::slots::{CLOSED_FOR_NEWCOMER, Ticket};
use super::{Admitted, Holds};
use crate::convert::url::Origin;
use crate::protocol::request;
use crate::respond::web::{Web, WebAsk, WebNow, WebPage};

/// The largest request head read (request line and headers); past it, `431`.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Headers one request may have.
const MAX_HEADERS: usize = 64;

/// Pages larger than this are compressed off the async threads.
const OFF_THREAD_BYTES: usize = 32 * 1024;

/// Bodies smaller than this are sent as they are: compressing them saves nothing.
const MIN_COMPRESSED: usize = 512;

/// How often a connection's progress is looked at.
const TICK: Duration = Duration::from_millis(500);

/// What every answer says of how it may be used: no script, no frame, nothing from
/// elsewhere, no referrer.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

type Reply = Response<BoxBody<Bytes, std::io::Error>>;

/// Serves one accepted connection of an HTTP listener bound at `configured`.
pub(super) async fn handle(
    conn: Admitted,
    hosts: Arc<Hosts>,
    configured: WebAddr,
    shutdown: CancellationToken,
) {
    let Admitted {
        stream,
        peer,
        via,
        quiet,
        holds,
        ..
    } = conn;
    let Holds { place, ticket } = holds;
    let ticket = Arc::new(ticket);
    let local = stream.local_addr().ok();
    let timeouts = hosts.timeouts.clone();
    let progress = Arc::new(Progress::new());
    let door = Door {
        hosts: Arc::clone(&hosts),
        configured,
        https: hosts.web_acceptor(configured).is_some(),
        port: local.map_or(configured.0.port(), |l| l.port()),
        peer,
        via,
        quiet,
        ticket: Arc::clone(&ticket),
        progress: Arc::clone(&progress),
        connected: std::sync::Mutex::new(place),
        sni: None,
    };
    match hosts.web_acceptor(configured) {
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(timeouts.handshake_timeout, acceptor.accept(stream));
            let tls = tokio::select! {
                tls = handshake => tls,
                () = ticket.closed_for_newcomer().cancelled() => return,
            };
            match tls {
                Ok(Ok(tls)) => {
                    let mut door = door;
                    door.sni = tls.get_ref().1.server_name().map(str::to_owned);
                    serve(tls, Arc::new(door), shutdown).await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed (HTTPS)"),
                Err(_) => tracing::debug!("TLS handshake timed out (HTTPS)"),
            }
        }
        None => serve(stream, Arc::new(door), shutdown).await,
    }
}

/// What every request of a connection shares.
struct Door {
    hosts: Arc<Hosts>,
    configured: WebAddr,
    https: bool,
    /// The port the client connected to.
    port: u16,
    peer: SocketAddr,
    via: Option<SocketAddr>,
    quiet: bool,
    ticket: Arc<Ticket>,
    progress: Arc<Progress>,
    /// The place among its address's connections the connection was let in with, until its
    /// first request: from then on each request takes one of its client's while it is
    /// answered (a kept-alive connection between requests holds none).
    connected: std::sync::Mutex<Option<Slot>>,
    /// The name an HTTPS client asked for: a request for another host is misdirected.
    sni: Option<String>,
}

/// Who a request is from: the connection's peer, or the client a trusted reverse proxy
/// names in `X-Forwarded-For` (then `via` is the proxy); whether it came through a proxy or
/// balancer, and the scheme that says the reader used (`X-Forwarded-Proto`: `true` for
/// `https`).
struct Client {
    peer: SocketAddr,
    via: Option<SocketAddr>,
    proxied: bool,
    scheme: Option<bool>,
}

impl Door {
    fn client(&self, headers: &HeaderMap) -> Client {
        let trusted = self.via.is_none()
            && self
                .hosts
                .proxy_trusted
                .iter()
                .any(|net| net.contains(self.peer.ip()));
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
        let scheme = headers
            .get("x-forwarded-proto")
            .map(|p| p.as_bytes().trim_ascii().eq_ignore_ascii_case(b"https"))
            .filter(|_| trusted || self.via.is_some());
        match forwarded {
            Some(ip) if trusted => Client {
                peer: SocketAddr::new(ip, 0),
                via: Some(self.peer),
                proxied: true,
                scheme,
            },
            _ => Client {
                peer: self.peer,
                via: self.via,
                proxied: self.via.is_some(),
                scheme,
            },
        }
    }
}

/// Runs hyper over the stream until the client is done, a limit is passed, or the server
/// shuts down.
async fn serve<S>(stream: S, door: Arc<Door>, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeouts = door.hosts.timeouts.clone();
    let progress = Arc::clone(&door.progress);
    let ticket = Arc::clone(&door.ticket);
    let io = TokioIo::new(Watched {
        inner: stream,
        progress: Arc::clone(&progress),
    });
    let service = hyper::service::service_fn(move |request| {
        let door = Arc::clone(&door);
        async move { Ok::<_, Infallible>(answer(request, &door).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.request_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS)
        .keep_alive(true)
        .half_close(false);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut ticker = tokio::time::interval(TICK);
    let mut last_seen = progress.last_written();
    let mut closing = false;
    loop {
        tokio::select! {
            done = connection.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "HTTP connection ended");
                }
                return;
            }
            _ = ticker.tick() => {
                let now = progress.last_written();
                if now != last_seen {
                    last_seen = now;
                    ticket.wrote();
                }
                if !progress.writing.load(Ordering::Relaxed)
                    && progress.sent.swap(false, Ordering::Relaxed)
                {
                    ticket.answered();
                }
                let quiet_for = progress.quiet_for();
                let limit = if progress.writing.load(Ordering::Relaxed) {
                    timeouts.write_timeout
                } else {
                    timeouts.request_timeout
                };
                if quiet_for > limit {
                    return;
                }
            }
            () = shutdown.cancelled(), if !closing => {
                // Finish the request in flight, take no other.
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = ticket.closed_for_newcomer().cancelled() => {
                tracing::debug!("{CLOSED_FOR_NEWCOMER}");
                return;
            }
        }
    }
}

/// Answers one request and writes its access-log line.
async fn answer(request: Request<Incoming>, door: &Door) -> Reply {
    door.progress.sent.store(false, Ordering::Relaxed);
    door.ticket.request_arrived();
    // From now on each request holds a place of its own client's.
    drop(
        door.connected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(),
    );
    let client = door.client(request.headers());
    let mut log = AccessLog::new(client.peer);
    log.via = client.via;
    log.quiet = door.quiet;
    log.path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().to_string(), |p| p.as_str().to_owned());
    log.host = host_header(request.headers()).unwrap_or("-").to_owned();
    let place = door.hosts.per_address.connect(client.peer.ip());
    let reply = match place {
        Some(_) => reply(&request, door, &client, &mut log).await,
        None => {
            log.note = "too many requests at once from one address";
            let mut reply = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many requests at once\n",
            );
            set(reply.headers_mut(), header::RETRY_AFTER, "1");
            reply
        }
    };
    log.status = Some(reply.status().as_u16().to_string());
    log.bytes = reply.body().size_hint().exact().unwrap_or(0);
    log.answered = Some(Instant::now());
    log.write(door.hosts.log_ip);
    // Sent in full, the connection only waits for the next request: a full server may close
    // it for a newcomer.
    let progress = Arc::clone(&door.progress);
    let (parts, body) = reply.into_parts();
    Response::from_parts(
        parts,
        Tracked {
            body,
            progress,
            place,
        }
        .boxed(),
    )
}

/// The response to one request, before it is logged.
async fn reply(
    request: &Request<Incoming>,
    door: &Door,
    client: &Client,
    log: &mut AccessLog,
) -> Reply {
    let hosts = &door.hosts;
    if let Err(wait) = hosts.per_address.request(client.peer.ip()) {
        log.note = "over the request rate of its address";
        let mut reply = plain(StatusCode::TOO_MANY_REQUESTS, "Too many requests\n");
        set(reply.headers_mut(), header::RETRY_AFTER, &wait.to_string());
        return reply;
    }
    if let Some((status, why)) = refused(request) {
        log.note = why;
        let mut reply = plain(status, &format!("{why}\n"));
        // What follows a refused head cannot be trusted to be a request: no other is read.
        set(reply.headers_mut(), header::CONNECTION, "close");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            set(reply.headers_mut(), header::ALLOW, "GET, HEAD");
        }
        return reply;
    }
    let head = request.method() == Method::HEAD;
    // An absolute-form target names its host itself; else the Host header does.
    let named = match request.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => host_header(request.headers()),
    };
    let Some(host) = hosts.for_web(door.configured, named) else {
        log.note = "no host listens here any more";
        return plain(StatusCode::MISDIRECTED_REQUEST, "No host here\n");
    };
    // Over HTTPS the connection is for the host its certificate was chosen by (without a
    // name, the address's first host's).
    if door.https
        && let Some(by_name) = hosts.for_web(door.configured, door.sni.as_deref())
        && !Arc::ptr_eq(by_name, host)
    {
        log.note = "a request for another host than the connection's";
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "This connection is for another host\n",
        );
    }
    log.vhost = host.canonical().to_string();
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    // The target read as the Gemini door reads a URL: one set of rules for paths.
    let parsed = request::parse_target(target);
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(rejection) => {
            log.note = rejection.reason;
            let status = if target.len() > request::MAX_URL_BYTES {
                StatusCode::URI_TOO_LONG
            } else {
                StatusCode::BAD_REQUEST
            };
            return plain(status, &format!("{}\n", rejection.reason));
        }
    };
    let capsule = host.capsule.load_full();
    let ask = WebAsk {
        request: parsed,
        origin: web_origin(host.canonical().as_str(), door, client),
        gemini: Origin::new(
            host.canonical().as_str(),
            host.public_port.unwrap_or(hosts.gemini_port),
        ),
        names: Arc::clone(&host.web_names),
    };
    let web = if capsule.admit(&ask.request.segments, None).is_err() {
        log.note = "a client-certificate area: not over HTTP";
        capsule.web_refused(&ask)
    } else {
        match capsule.web_now(&ask) {
            WebNow::Answer(web) => web,
            WebNow::Search => {
                let searching = Arc::clone(&capsule);
                let asked = ask.clone();
                match off_thread(move || searching.web_search(&asked)).await {
                    Some(web) => web,
                    None => {
                        capsule.web_error(&ask, 503, capsule.layout.strings.text("busy_search"))
                    }
                }
            }
            WebNow::Blocking => {
                let looking = Arc::clone(&capsule);
                let asked = ask.clone();
                match on_disk(move || Ok(looking.web_blocking(&asked))).await {
                    Ok(web) => web,
                    Err(e) => {
                        tracing::error!(error = %e, "path lookup failed");
                        capsule.web_error(&ask, 503, capsule.layout.strings.text("internal_error"))
                    }
                }
            }
        }
    };
    match web {
        Web::Page(page) => {
            encode_off_thread(&page, request.headers()).await;
            page_reply(&page, request.headers(), head)
        }
        Web::Redirect {
            permanent,
            location,
        } => {
            let status = if permanent {
                StatusCode::MOVED_PERMANENTLY
            } else {
                StatusCode::FOUND
            };
            let mut reply = empty(status);
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    reply.headers_mut().insert(header::LOCATION, value);
                    reply
                }
                Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "Bad redirect target\n"),
            }
        }
        Web::File { mime, file } => match open_file(&capsule.root, &file).await {
            Ok(opened) => file_reply(opened, &mime, request.headers(), head).await,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => page_of(
                capsule.web_error(&ask, 404, capsule.layout.strings.text("not_found")),
                head,
            ),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "cannot open file");
                page_of(
                    capsule.web_error(&ask, 500, capsule.layout.strings.text("cannot_read")),
                    head,
                )
            }
        },
    }
}

/// Where web readers reach the host, for feeds' absolute URLs: the HTTPS listener's own
/// address; the scheme a trusted proxy or balancer names (`X-Forwarded-Proto`), else `https`
/// behind one; a plain listener reached directly, `http` at its port.
fn web_origin(host: &str, door: &Door, client: &Client) -> Origin {
    if door.https {
        Origin::web(true, host, door.port)
    } else if let Some(https) = client.scheme {
        Origin::web(https, host, if https { 443 } else { 80 })
    } else if client.proxied {
        Origin::web(true, host, 443)
    } else {
        Origin::web(false, host, door.port)
    }
}

/// Why a request is refused before its path is looked at: a method other than `GET` and
/// `HEAD`, a body (none is accepted, so none can be smuggled), a missing or repeated `Host`.
fn refused(request: &Request<Incoming>) -> Option<(StatusCode, &'static str)> {
    let headers = request.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Some((StatusCode::BAD_REQUEST, "Request bodies are not accepted"));
    }
    let lengths = headers.get_all(header::CONTENT_LENGTH);
    if lengths.iter().count() > 1 || lengths.iter().any(|l| l.as_bytes() != b"0") {
        return Some((StatusCode::BAD_REQUEST, "Request bodies are not accepted"));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET and HEAD are answered",
        ));
    }
    let hosts = headers.get_all(header::HOST).iter().count();
    if hosts > 1 || (hosts == 0 && request.version() == hyper::Version::HTTP_11) {
        return Some((StatusCode::BAD_REQUEST, "One Host header is required"));
    }
    if request
        .uri()
        .path_and_query()
        .is_none_or(|p| !p.as_str().starts_with('/'))
    {
        return Some((StatusCode::BAD_REQUEST, "The request target must be a path"));
    }
    None
}

fn host_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|h| h.to_str().ok())
}

/// Compresses a large page off the async threads (once, kept with it), when the client takes
/// an encoding it has not been compressed in yet: brotli of a few megabytes takes a core for
/// a moment, which no other connection should wait for.
async fn encode_off_thread(page: &Arc<WebPage>, asked: &HeaderMap) {
    if page.body.len() < OFF_THREAD_BYTES || !compressible(&page.content_type) {
        return;
    }
    let page = Arc::clone(page);
    let work: Box<dyn FnOnce() + Send> = match pick_encoding(asked) {
        Some(Encoding::Brotli) if page.brotli.get().is_none() => Box::new(move || {
            page.brotli.get_or_init(|| brotli(&page.body));
        }),
        Some(Encoding::Gzip) if page.gzip.get().is_none() => Box::new(move || {
            page.gzip.get_or_init(|| gzip(&page.body));
        }),
        _ => return,
    };
    let _ = tokio::task::spawn_blocking(work).await;
}

/// A page made in memory: `304` when the client's copy is this one, else the page, compressed
/// when the client accepts it and it is worth it.
fn page_reply(page: &WebPage, asked: &HeaderMap, head: bool) -> Reply {
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let validated = status == StatusCode::OK;
    let encoding = if compressible(&page.content_type) && page.body.len() >= MIN_COMPRESSED {
        pick_encoding(asked)
    } else {
        None
    };
    let (body, etag) = match encoding {
        Some(Encoding::Brotli) => match page.brotli.get_or_init(|| brotli(&page.body)) {
            Some(bytes) => (bytes.clone(), variant(&page.etag, "br")),
            None => (page.body.clone(), page.etag.clone()),
        },
        Some(Encoding::Gzip) => match page.gzip.get_or_init(|| gzip(&page.body)) {
            Some(bytes) => (bytes.clone(), variant(&page.etag, "gz")),
            None => (page.body.clone(), page.etag.clone()),
        },
        None => (page.body.clone(), page.etag.clone()),
    };
    let encoded = etag != page.etag;
    if validated && not_modified(asked, &[&page.etag, &etag], page.made) {
        let mut reply = empty(StatusCode::NOT_MODIFIED);
        validators(reply.headers_mut(), &etag, page.made);
        if compressible(&page.content_type) {
            set(reply.headers_mut(), header::VARY, "Accept-Encoding");
        }
        return reply;
    }
    let mut reply = sized(status, body, head);
    let headers = reply.headers_mut();
    set(headers, header::CONTENT_TYPE, &page.content_type);
    if validated {
        validators(headers, &etag, page.made);
    }
    if compressible(&page.content_type) {
        set(headers, header::VARY, "Accept-Encoding");
    }
    if encoded {
        let name = if matches!(encoding, Some(Encoding::Brotli)) {
            "br"
        } else {
            "gzip"
        };
        set(headers, header::CONTENT_ENCODING, name);
    }
    reply
}

fn page_of(web: Web, head: bool) -> Reply {
    match web {
        Web::Page(page) => page_reply(&page, &HeaderMap::new(), head),
        Web::File { .. } | Web::Redirect { .. } => {
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal error\n")
        }
    }
}

/// A file of the capsule, sent as it is from the disk, with validators from its metadata.
async fn file_reply(file: std::fs::File, mime: &str, asked: &HeaderMap, head: bool) -> Reply {
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a file's metadata");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Cannot read this file\n");
        }
    };
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let nanos = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{nanos:x}-{:x}\"", meta.len());
    if not_modified(asked, &[&etag], modified) {
        let mut reply = empty(StatusCode::NOT_MODIFIED);
        validators(reply.headers_mut(), &etag, modified);
        return reply;
    }
    let body = if head {
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed()
    } else {
        FileBody {
            file: tokio::fs::File::from_std(file),
            left: meta.len(),
            buf: bytes::BytesMut::new(),
        }
        .boxed()
    };
    let mut reply = Response::new(body);
    let headers = reply.headers_mut();
    set(headers, header::CONTENT_TYPE, mime);
    set(headers, header::CONTENT_LENGTH, &meta.len().to_string());
    validators(headers, &etag, modified);
    security(headers);
    reply
}

/// `ETag`, `Last-Modified`, and that a copy must be checked before it is used again (the
/// capsule changes while it is served).
fn validators(headers: &mut HeaderMap, etag: &str, modified: SystemTime) {
    set(headers, header::ETAG, etag);
    set(
        headers,
        header::LAST_MODIFIED,
        &httpdate::fmt_http_date(modified),
    );
    set(headers, header::CACHE_CONTROL, "no-cache");
}

/// Whether the client's copy is current: `If-None-Match` names one of `etags` (or `*`); else,
/// without it, `If-Modified-Since` is no earlier than `modified` (to the second).
fn not_modified(asked: &HeaderMap, etags: &[&str], modified: SystemTime) -> bool {
    let matches = asked.get_all(header::IF_NONE_MATCH);
    if matches.iter().next().is_some() {
        return matches.iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || etags.iter().any(|e| tag.trim_start_matches("W/") == *e))
        });
    }
    let Some(since) = asked
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    let seconds = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    seconds(modified) <= seconds(since)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

/// The encoding to send in, from `Accept-Encoding`: brotli, else gzip, each unless refused
/// (`;q=0`).
fn pick_encoding(asked: &HeaderMap) -> Option<Encoding> {
    let mut brotli = false;
    let mut gzip = false;
    for value in asked.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match name.as_str() {
                "br" => brotli = !refused,
                "gzip" | "x-gzip" => gzip = !refused,
                _ => {}
            }
        }
    }
    if brotli {
        Some(Encoding::Brotli)
    } else if gzip {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

fn compressible(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or("").trim();
    base.starts_with("text/") || base.ends_with("+xml") || base.ends_with("/json")
}

/// The validator of an encoded copy: another representation, another tag.
fn variant(etag: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", etag.trim_end_matches('"'))
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(body).ok()?;
    let out = encoder.finish().ok()?;
    (out.len() < body.len()).then(|| Bytes::from(out))
}

fn brotli(body: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    (out.len() < body.len()).then(|| Bytes::from(out))
}

/// A response of `bytes`, with its length; for `HEAD`, the length alone.
fn sized(status: StatusCode, bytes: Bytes, head: bool) -> Reply {
    let length = bytes.len();
    let body = if head { Bytes::new() } else { bytes };
    let mut reply = Response::new(Full::new(body).map_err(|never| match never {}).boxed());
    *reply.status_mut() = status;
    set(
        reply.headers_mut(),
        header::CONTENT_LENGTH,
        &length.to_string(),
    );
    security(reply.headers_mut());
    reply
}

fn plain(status: StatusCode, text: &str) -> Reply {
    let mut reply = sized(status, Bytes::copy_from_slice(text.as_bytes()), false);
    set(
        reply.headers_mut(),
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    reply
}

fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed(),
    );
    *reply.status_mut() = status;
    security(reply.headers_mut());
    reply
}

fn security(headers: &mut HeaderMap) {
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// When a connection last moved a byte, and whether a write is waiting for the client.
struct Progress {
    started: Instant,
    /// Milliseconds since `started` at the last byte read or written.
    last: AtomicU64,
    /// Milliseconds since `started` at the last byte written: only an answer that moves
    /// keeps its slot from a newcomer (a request trickled in does not).
    written: AtomicU64,
    writing: AtomicBool,
    /// hyper has taken an answer's last bytes: once none wait to be written, the answer is
    /// with the kernel and the connection only waits for its next request.
    sent: AtomicBool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            started: Instant::now(),
            last: AtomicU64::new(0),
            written: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            sent: AtomicBool::new(false),
        }
    }

    fn moved(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    fn wrote(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.written.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> u64 {
        self.last.load(Ordering::Relaxed)
    }

    fn last_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn quiet_for(&self) -> Duration {
        self.started
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last()))
    }
}

/// The connection's stream, noting each byte that moves.
struct Watched<S> {
    inner: S,
    progress: Arc<Progress>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progress.moved();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, bytes);
        self.note(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        let noted = match &polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Ok(0)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(std::io::Error::new(e.kind(), "flush"))),
        };
        self.note(&noted);
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S> Watched<S> {
    fn note(&self, polled: &Poll<std::io::Result<usize>>) {
        match polled {
            Poll::Pending => {
                if !self.progress.writing.swap(true, Ordering::Relaxed) {
                    // The wait counts from here.
                    self.progress.moved();
                }
            }
            Poll::Ready(result) => {
                self.progress.writing.store(false, Ordering::Relaxed);
                if result.as_ref().is_ok_and(|&n| n > 0) {
                    self.progress.moved();
                    self.progress.wrote();
                }
            }
        }
    }
}

/// A response body that tells the connection's slot when it has been sent in full.
struct Tracked {
    body: BoxBody<Bytes, std::io::Error>,
    progress: Arc<Progress>,
    /// The request's place among its client's, until its answer is sent.
    place: Option<Slot>,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// hyper drops a body once it has taken its last bytes (one that says it has ended is never
/// polled for its end): the answer is sent once hyper has written them too (see `serve`).
impl Drop for Tracked {
    fn drop(&mut self) {
        self.place = None;
        self.progress.sent.store(true, Ordering::Relaxed);
    }
}

/// A file's bytes, read as the client takes them.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buf: bytes::BytesMut,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let want = usize::try_from(this.left.min(16 * 1024)).unwrap_or(16 * 1024);
        this.buf.reserve(want);
        let mut limited = (&mut this.file).take(want as u64);
        match tokio_util::io::poll_read_buf(Pin::new(&mut limited), cx, &mut this.buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            // Shorter than it was when opened: the length sent cannot be kept.
            Poll::Ready(Ok(0)) => Poll::Ready(Some(Err(std::io::ErrorKind::UnexpectedEof.into()))),
            Poll::Ready(Ok(n)) => {
                this.left -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(this.buf.split().freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

use tokio::io::AsyncReadExt as _;
