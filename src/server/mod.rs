//! The network side: binding the listeners, accepting connections under a cap, handing each
//! one to the Gemini handler, and shutting down gracefully.
//!
//! The server only looks things up in what `content` and `tls` prepared; it parses no content
//! of its own beyond request lines.

mod conn;
mod gemini;
mod gopher;
mod limits;
pub mod request;
pub mod selector;
mod slots;
pub mod status;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ConfigError, Hostname, Lang, ListenAddr};
use crate::content::scan::ReadCache;
use crate::content::site::{BuildOptions, Problem, Site};
use crate::content::{CapsuleRoot, Secret, SecretInside};
use crate::respond::Capsule;
use crate::watch;
use arc_swap::ArcSwap;

/// Unsent answer bytes the kernel holds per connection before a write waits (see
/// `TCP_NOTSENT_LOWAT`); what is in flight on the network is not limited by it.
const UNSENT_BYTES: u32 = 128 * 1024;

/// Connections the kernel queues for us while we are at the connection cap.
const LISTEN_BACKLOG: i32 = 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Certificates(#[from] tls::CertError),
    #[error("capsule folder {path}: {source}")]
    Capsule { path: PathBuf, source: io::Error },
    #[error(transparent)]
    SecretInside(#[from] SecretInside),
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

/// What a connection is served with, made from one configuration: a connection keeps the one
/// it started with, and a reload puts a new one in place for the next connections.
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
    gopher: GopherSettings,
    /// Connections and requests per client address.
    per_address: Arc<limits::PerAddress>,
}

/// What Gopher menus say about the server, and how text is laid out.
#[derive(Debug, Clone)]
struct GopherSettings {
    host: String,
    /// `None`: the port each request arrived on.
    public_port: Option<u16>,
    wrap: usize,
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy)]
enum Speaks {
    Gemini,
    Gopher,
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
    gopher_listeners: Vec<TcpListener>,
    live: Arc<Live>,
    certs: Vec<tls::HostCert>,
    /// The settings that only a restart changes.
    config: Config,
    reload_tx: UnboundedSender<()>,
    reload_rx: UnboundedReceiver<()>,
}

/// What is being served and what keeps it fresh.
struct Live {
    shared: ArcSwap<Shared>,
    /// Rebuilds the site when the capsule folder changes; replaced on reload.
    watch: Mutex<Option<watch::Watch>>,
}

/// Reads the configuration again, as it was first read (same file, same command-line values).
pub type LoadConfig = Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

/// Everything made from one configuration, ready to serve.
struct Prepared {
    shared: Shared,
    certs: Vec<tls::HostCert>,
    cache: ReadCache,
    problems: Vec<Problem>,
}

/// What a running server keeps across a configuration reload.
struct Running {
    /// What each address holds and has spent: limits change in place, counts are kept.
    per_address: Arc<limits::PerAddress>,
    /// The certificates in use: a reload never makes a new one for these hosts.
    certs: Vec<tls::HostCert>,
}

impl Prepared {
    /// Loads (or generates) certificates and reads the capsule; for a reload, `running` is
    /// what the server has now. Blocking.
    fn new(config: &Config, running: Option<&Running>) -> Result<Prepared, StartError> {
        let capsule = CapsuleRoot::open(&config.capsule)
            .map_err(|source| StartError::Capsule {
                path: config.capsule.clone(),
                source,
            })?
            .keep_secret(&Secret::of(config))?;
        let certs = tls::load_or_generate_keeping(config, running.map_or(&[], |r| &r.certs))?;
        // Generated just now on a first start: secret too, by whatever name.
        let capsule = capsule.keep_files_secret(
            certs
                .iter()
                .flat_map(|c| [c.cert_path.as_path(), c.key_path.as_path()]),
        );
        let acceptor = TlsAcceptor::from(tls::server_config(&certs)?);
        let mut cache = ReadCache::default();
        let (site, problems) = Site::build_cached(&capsule, &BuildOptions::new(config), &mut cache);
        for problem in &problems {
            tracing::warn!("{problem}");
        }
        tracing::info!(
            "{} post(s) in {} series",
            site.posts.len(),
            site.series.len()
        );
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
            // A reload sets the new limits in place once it is accepted (see `reload_loop`).
            per_address: match running {
                Some(running) => Arc::clone(&running.per_address),
                None => Arc::new(limits::PerAddress::new(
                    limits.max_connections_per_ip,
                    limits.requests_per_minute_per_ip,
                )),
            },
            gopher: GopherSettings {
                host: config.gopher_host().to_string(),
                public_port: config.gopher.public_port,
                wrap: config.gopher.wrap.get(),
            },
        };
        Ok(Prepared {
            shared,
            certs,
            cache,
            problems,
        })
    }

    /// Starts watching for changes; the watch keeps this configuration's site fresh.
    fn watch(
        self,
        config: &Config,
        reload: UnboundedSender<()>,
    ) -> (Shared, Vec<tls::HostCert>, Option<watch::Watch>) {
        let mut files: Vec<PathBuf> = config.source.iter().cloned().collect();
        for cert in &self.certs {
            files.push(cert.cert_path.clone());
            files.push(cert.key_path.clone());
        }
        // Events name files by absolute path.
        let files = files
            .into_iter()
            .map(|f| std::path::absolute(&f).unwrap_or(f))
            .collect();
        let target = watch::Target {
            current: Arc::clone(&self.shared.capsule),
            options: BuildOptions::new(config),
            cache: self.cache,
            logged: self.problems,
        };
        let watch = match watch::start(target, &config.watch, files, reload) {
            Ok(watch) => Some(watch),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "cannot watch the capsule folder; send SIGHUP (or restart) to pick up changes, \
                     or set watch.mode = \"poll\""
                );
                None
            }
        };
        (self.shared, self.certs, watch)
    }
}

impl Server {
    /// Loads (or generates) certificates, opens the capsule and binds every listen address.
    /// Must run inside a tokio runtime.
    pub fn bind(config: &Config) -> Result<Server, StartError> {
        let prepared = Prepared::new(config, None)?;
        let listeners = bind_all(&config.listen)?;
        let gopher_listeners = if config.gopher.listen.is_empty() {
            Vec::new()
        } else {
            bind_all(&config.gopher.listen)?
        };
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        let (shared, certs, watch) = prepared.watch(config, reload_tx.clone());
        Ok(Server {
            listeners,
            gopher_listeners,
            live: Arc::new(Live {
                shared: ArcSwap::from_pointee(shared),
                watch: Mutex::new(watch),
            }),
            certs,
            config: config.clone(),
            reload_tx,
            reload_rx,
        })
    }

    /// The addresses actually bound (with the real port when port 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The addresses the Gopher listener bound, if it is on.
    pub fn gopher_addrs(&self) -> Vec<SocketAddr> {
        self.gopher_listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The certificates in use, default host first.
    pub fn certificates(&self) -> &[tls::HostCert] {
        &self.certs
    }

    pub fn capsule(&self) -> std::path::PathBuf {
        self.live
            .shared
            .load()
            .capsule
            .load()
            .root
            .path()
            .to_owned()
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and gives in-flight
    /// connections the configured grace period to finish. SIGHUP, or a change to the config
    /// file or a certificate, reloads the configuration with `load_config`; a configuration
    /// that cannot be used is refused and the running one kept.
    pub async fn run(self, shutdown: CancellationToken, load_config: LoadConfig) {
        let tracker = TaskTracker::new();
        let limits = &self.config.limits;
        let (max_connections, files) = limits::make_room_for(limits.max_connections.get());
        if max_connections < limits.max_connections.get() {
            tracing::warn!(
                "limits.max_connections = {} needs up to {files} open files, but this process \
                 may open fewer (see `ulimit -Hn`, or LimitNOFILE= in a systemd unit); serving \
                 at most {max_connections} connections at once",
                limits.max_connections.get(),
            );
        }
        let slots = Arc::new(slots::Slots::new(max_connections));
        let shutdown_grace = limits.shutdown_grace.duration();
        let mut accept_loops = tokio::task::JoinSet::new();
        let gemini = self.listeners.into_iter().map(|l| (l, Speaks::Gemini));
        let gopher = self
            .gopher_listeners
            .into_iter()
            .map(|l| (l, Speaks::Gopher));
        for (listener, protocol) in gemini.chain(gopher) {
            accept_loops.spawn(accept_loop(
                listener,
                protocol,
                Arc::clone(&self.live),
                Arc::clone(&slots),
                tracker.clone(),
                shutdown.clone(),
            ));
        }
        let hangup = self.reload_tx.clone();
        let signals = tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot watch for SIGHUP");
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP received; reloading");
                let _ = hangup.send(());
            }
        });
        let reloads = tokio::spawn(reload_loop(
            Arc::clone(&self.live),
            (self.config, self.certs),
            load_config,
            self.reload_rx,
            self.reload_tx,
        ));
        while accept_loops.join_next().await.is_some() {}
        signals.abort();
        reloads.abort();

        tracker.close();
        let in_flight = tracker.len();
        if in_flight > 0 {
            tracing::info!("waiting for {in_flight} connection(s) to finish");
        }
        if tokio::time::timeout(shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} connection(s) still open after {:?}; closing them",
                tracker.len(),
                shutdown_grace
            );
        }
        tracing::info!("stopped");
    }
}

/// Reloads the configuration on request: the new one is read, checked and prepared in full
/// (certificates, site) before it replaces the running one, so a mistake leaves the server as
/// it was. Connections already open finish with what they started with.
async fn reload_loop(
    live: Arc<Live>,
    (first, running_certs): (Config, Vec<tls::HostCert>),
    load_config: LoadConfig,
    mut requests: UnboundedReceiver<()>,
    reload_tx: UnboundedSender<()>,
) {
    let load_config = Arc::new(load_config);
    let mut certs = running_certs;
    while requests.recv().await.is_some() {
        // Editors and renewal tools write several files: one reload for the lot.
        watch::settle(&mut requests).await;
        let load = Arc::clone(&load_config);
        let running = Running {
            per_address: Arc::clone(&live.shared.load().per_address),
            certs: certs.clone(),
        };
        let prepared = tokio::task::spawn_blocking(move || {
            let config = load().map_err(|e| e.to_string())?;
            let prepared = Prepared::new(&config, Some(&running)).map_err(|e| e.to_string())?;
            Ok::<_, String>((config, prepared))
        })
        .await;
        let (config, prepared) = match prepared {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                tracing::error!("reload refused, still serving the previous configuration: {e}");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "reload failed, still serving the previous configuration");
                continue;
            }
        };
        for needs_restart in restart_only_changes(&first, &config) {
            tracing::warn!("{needs_restart} changed; that takes effect after a restart");
        }
        let (shared, new_certs, watch) = prepared.watch(&config, reload_tx.clone());
        shared.per_address.set(
            config.limits.max_connections_per_ip,
            config.limits.requests_per_minute_per_ip,
        );
        for cert in &new_certs {
            let before = certs.iter().find(|c| c.hostname == cert.hostname);
            if before.is_none_or(|b| b.info != cert.info) {
                tracing::info!(
                    host = %cert.hostname,
                    file = %cert.cert_path.display(),
                    sha256 = %cert.info.cert_sha256,
                    spki_sha256 = %cert.info.spki_sha256,
                    "certificate changed on reload"
                );
            }
        }
        certs = new_certs;
        live.shared.store(Arc::new(shared));
        let old = std::mem::replace(&mut *lock(&live.watch), watch);
        drop(old);
        tracing::info!(
            "configuration reloaded from {} ({} certificate(s))",
            config
                .source
                .as_deref()
                .map_or("built-in defaults".into(), |p| p.display().to_string()),
            certs.len()
        );
    }
}

/// The settings a reload cannot apply to a running server.
fn restart_only_changes(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if running.listen != new.listen {
        changed.push("listen");
    }
    if running.gopher.listen != new.gopher.listen {
        changed.push("gopher.listen");
    }
    if running.limits.max_connections != new.limits.max_connections {
        changed.push("limits.max_connections");
    }
    if running.limits.shutdown_grace != new.limits.shutdown_grace {
        changed.push("limits.shutdown_grace");
    }
    if running.log.level != new.log.level {
        changed.push("log.level");
    }
    changed
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing is left half-written under this lock; keep going after a panic elsewhere.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection let in, with what it holds of the limits.
struct Admitted {
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    holds: Holds,
}

/// What a connection holds of the limits.
struct Holds {
    /// Its place among its address's connections, until its answer is written.
    place: Option<limits::Slot>,
    /// Its slot among all connections, until the socket is closed.
    ticket: slots::Ticket,
}

impl Holds {
    /// The answer is written: the client may ask again on a new connection as soon as it has
    /// read it, even before our close, so the address's place goes back now. Its allowance
    /// counts only the connections still owed an answer.
    fn answer_written(&mut self) {
        self.place = None;
    }
}

/// Accepts connections until shutdown, each under the connection cap (see [`slots`]). The
/// listener is dropped (and the port closed) when this returns.
async fn accept_loop(
    listener: TcpListener,
    protocol: Speaks,
    live: Arc<Live>,
    slots: Arc<slots::Slots>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning on the error.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // The kernel keeps at most this much of an answer unsent: a write then goes through
        // as soon as the client has read a little, so a slow but steady reader shows progress
        // (and meets `write_timeout`) however large the socket's buffers have grown.
        let _ = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(UNSENT_BYTES);
        let shared = live.shared.load_full();
        let Some(place) = shared.per_address.connect(peer.ip()) else {
            // Closed at once: no handshake, no answer, no buffer for this one.
            tracing::info!(
                target: "gemhole::access",
                peer = %if shared.log_ip { peer.to_string() } else { "-".into() },
                "too many connections from one address; closed"
            );
            continue;
        };
        let ticket = tokio::select! {
            () = shutdown.cancelled() => return,
            ticket = slots.admit() => ticket,
        };
        let shutdown = shutdown.clone();
        let conn = Admitted {
            stream,
            peer,
            holds: Holds {
                place: Some(place),
                ticket,
            },
        };
        tracker.spawn(async move {
            match protocol {
                Speaks::Gemini => gemini::handle(conn, shared, shutdown).await,
                Speaks::Gopher => gopher::handle(conn, shared, shutdown).await,
            }
        });
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
