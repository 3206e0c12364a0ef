//! The network side: binding the listeners, accepting connections under a cap, handing each
//! one to the Gemini handler, and shutting down gracefully.
//!
//! The server only looks things up in what `content` and `tls` prepared; it parses no content
//! of its own beyond request lines.

mod gemini;
pub mod request;
pub mod status;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Hostname, Lang, ListenAddr};
use crate::content::CapsuleRoot;
use crate::content::scan::ReadCache;
use crate::content::site::Site;
use crate::respond::Capsule;
use crate::watch;
use arc_swap::ArcSwap;

/// Connections the kernel queues for us while we are at the connection cap.
const LISTEN_BACKLOG: i32 = 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Certificates(#[from] tls::CertError),
    #[error("capsule folder {path}: {source}")]
    Capsule { path: PathBuf, source: io::Error },
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

/// Per-phase time limits of a connection.
#[derive(Debug, Clone)]
struct Timeouts {
    handshake_timeout: Duration,
    request_timeout: Duration,
    write_timeout: Duration,
}

/// What every connection task reads; built once at start-up.
struct Shared {
    acceptor: TlsAcceptor,
    /// What every path answers; replaced as a whole when the capsule folder changes.
    capsule: Arc<ArcSwap<Capsule>>,
    hostnames: Vec<Hostname>,
    /// The port feeds put in their absolute URLs; `None`: the port a request arrived on.
    public_port: Option<u16>,
    /// `; lang=…` for gemtext, or empty.
    gemtext_params: String,
    limits: Timeouts,
    log_ip: bool,
}

impl Shared {
    /// The META of a `20` response for a file of this MIME type.
    fn mime_header(&self, mime: &str) -> String {
        if mime == "text/gemini" {
            self.gemtext_header(None)
        } else {
            mime.to_owned()
        }
    }

    /// The META of a gemtext page: its own language if it has one, else the capsule's.
    fn gemtext_header(&self, lang: Option<&Lang>) -> String {
        match lang.and_then(Lang::mime_parameter) {
            Some(param) => format!("text/gemini; charset=utf-8; {param}"),
            None => format!("text/gemini; charset=utf-8{}", self.gemtext_params),
        }
    }
}

/// A server whose listeners are bound and whose certificates are loaded: everything that can
/// fail at start-up has been checked once this exists.
pub struct Server {
    listeners: Vec<TcpListener>,
    /// Rebuilds the site when the capsule folder changes (dropped with the server).
    _watch: Option<watch::Watch>,
    shared: Arc<Shared>,
    certs: Vec<tls::HostCert>,
    max_connections: usize,
    shutdown_grace: Duration,
}

impl Server {
    /// Loads (or generates) certificates, opens the capsule and binds every listen address.
    /// Must run inside a tokio runtime.
    pub fn bind(config: &Config) -> Result<Server, StartError> {
        let capsule = CapsuleRoot::open(&config.capsule).map_err(|source| StartError::Capsule {
            path: config.capsule.clone(),
            source,
        })?;
        let certs = tls::load_or_generate(config)?;
        let mut post_cache = ReadCache::default();
        let (site, problems) =
            Site::build_cached(&capsule, &config.build_options(), &mut post_cache);
        for problem in &problems {
            tracing::warn!("{problem}");
        }
        tracing::info!(
            "{} post(s) in {} series",
            site.posts.len(),
            site.series.len()
        );
        let acceptor = TlsAcceptor::from(tls::server_config(&certs)?);
        let listeners = bind_all(&config.listen)?;
        let limits = &config.limits;
        let shared = Shared {
            acceptor,
            capsule: Arc::new(ArcSwap::from_pointee(Capsule::new(capsule, site, config))),
            hostnames: config.hostnames.clone(),
            public_port: config.public_port,
            gemtext_params: config
                .lang
                .mime_parameter()
                .map(|p| format!("; {p}"))
                .unwrap_or_default(),
            limits: Timeouts {
                handshake_timeout: limits.handshake_timeout.duration(),
                request_timeout: limits.request_timeout.duration(),
                write_timeout: limits.write_timeout.duration(),
            },
            log_ip: config.log.ip,
        };
        let watch = match watch::start(
            Arc::clone(&shared.capsule),
            config.build_options(),
            post_cache,
            &problems,
        ) {
            Ok(watch) => Some(watch),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "cannot watch the capsule folder; restart to pick up new posts"
                );
                None
            }
        };
        Ok(Server {
            listeners,
            _watch: watch,
            shared: Arc::new(shared),
            certs,
            max_connections: limits.max_connections.get(),
            shutdown_grace: limits.shutdown_grace.duration(),
        })
    }

    /// The addresses actually bound (with the real port when port 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The certificates in use, default host first.
    pub fn certificates(&self) -> &[tls::HostCert] {
        &self.certs
    }

    pub fn capsule(&self) -> std::path::PathBuf {
        self.shared.capsule.load().root.path().to_owned()
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and gives in-flight
    /// connections the configured grace period to finish.
    pub async fn run(self, shutdown: CancellationToken) {
        let tracker = TaskTracker::new();
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let mut accept_loops = tokio::task::JoinSet::new();
        for listener in self.listeners {
            accept_loops.spawn(accept_loop(
                listener,
                Arc::clone(&self.shared),
                Arc::clone(&permits),
                tracker.clone(),
                shutdown.clone(),
            ));
        }
        while accept_loops.join_next().await.is_some() {}

        tracker.close();
        let in_flight = tracker.len();
        if in_flight > 0 {
            tracing::info!("waiting for {in_flight} connection(s) to finish");
        }
        if tokio::time::timeout(self.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} connection(s) still open after {:?}; closing them",
                tracker.len(),
                self.shutdown_grace
            );
        }
        tracing::info!("stopped");
    }
}

/// Accepts connections while a connection slot is free, until shutdown. The listener is dropped
/// (and the port closed) when this returns.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => return,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                let shutdown = shutdown.clone();
                tracker.spawn(async move {
                    gemini::handle(stream, peer, shared, shutdown).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // Typically EMFILE: back off instead of spinning on the error.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Binds every address. IPv6 sockets are IPv6-only, so `0.0.0.0:P` and `[::]:P` can both be
/// bound. An unspecified IPv6 address on a machine without IPv6 is skipped with a warning when
/// another address was bound; every other failure stops start-up.
fn bind_all(addrs: &[ListenAddr]) -> Result<Vec<TcpListener>, StartError> {
    let mut listeners = Vec::new();
    let mut skipped = Vec::new();
    for addr in addrs.iter().map(|a| a.get()) {
        match bind(addr) {
            Ok(listener) => listeners.push(listener),
            Err(e) if addr.is_ipv6() && addr.ip().is_unspecified() && no_ipv6(&e) => {
                skipped.push((addr, e));
            }
            Err(e) => {
                return Err(StartError::Bind {
                    addr,
                    reason: explain_bind_error(addr, &e),
                });
            }
        }
    }
    if listeners.is_empty() {
        if let Some((addr, e)) = skipped.into_iter().next() {
            return Err(StartError::Bind {
                addr,
                reason: explain_bind_error(addr, &e),
            });
        }
    } else {
        for (addr, e) in skipped {
            tracing::warn!("not listening on {addr}: IPv6 is not available here ({e})");
        }
    }
    Ok(listeners)
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL)
    )
}

fn explain_bind_error(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::AddrInUse => format!(
            "the address is already in use (is another server already running on port {}?)",
            addr.port()
        ),
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => {
            format!("permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE ({e})")
        }
        io::ErrorKind::AddrNotAvailable => {
            format!("this machine has no such address ({e})")
        }
        _ => e.to_string(),
    }
}

/// Resolves when the process receives SIGINT or SIGTERM.
pub async fn shutdown_signal() -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT received; shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
    }
    Ok(())
}
