//! Transport only: binding the Gemini and Gopher listeners, accepting connections under a cap
//! and per-address limits, TLS and PROXY headers, handing each request to `respond` for its
//! answer and writing that answer out, reloading, and shutting down gracefully.
//!
//! What a path answers, and what an upload may do, is decided in `respond`; the server reads
//! request lines (with `protocol`'s parsers) and bodies, writes answers, and has an accepted
//! upload stored by `content::store`, the one writer beneath a capsule.

mod cgi;
mod client_certs;
pub mod confine;
mod conn;
mod gemini;
mod gopher;
mod host;
mod limits;
mod proxy;
mod slots;
mod tickets;
pub mod tls;
mod upload;
mod web;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{self, Config, ConfigError, Hostname};
use crate::content::SecretInside;
use crate::watch;
use arc_swap::ArcSwap;
use host::{Hosts, Prepared, Running};

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
    #[error(transparent)]
    TicketKeys(#[from] tickets::TicketKeyError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    /// Two hosts share files, and one would serve another's client-certificate area to anyone.
    #[error("{0}")]
    AreaShared(String),
}

/// Which protocol a listener speaks; a Gopher listener serves the host of the address it was
/// configured with.
#[derive(Debug, Clone, Copy)]
enum Speaks {
    Gemini,
    Gopher(SocketAddr),
    /// HTTP or HTTPS for the hosts that list the address it was configured with.
    Http(host::WebAddr),
}

/// A server whose listeners are bound and whose certificates are loaded: everything that can
/// fail at start-up has been checked once this exists.
pub struct Server {
    /// Gemini listeners, each marked when it expects a PROXY header (`proxy_listen`).
    listeners: Vec<(TcpListener, bool)>,
    /// Each with the address it was configured with (which names its host), marked when it
    /// expects a PROXY header.
    gopher_listeners: Vec<(SocketAddr, TcpListener, bool)>,
    /// The HTTP listeners, as the Gopher ones.
    web_listeners: Vec<(host::WebAddr, TcpListener, bool)>,
    live: Arc<Live>,
    /// What a reload keeps.
    running: Running,
    /// The settings that only a restart changes.
    config: Config,
    reload_tx: UnboundedSender<()>,
    reload_rx: UnboundedReceiver<()>,
}

/// What is being served and what keeps it fresh.
struct Live {
    hosts: ArcSwap<Hosts>,
    /// Rebuild each host's site when its folder changes; replaced on reload.
    watches: Mutex<Vec<watch::Watch>>,
}

/// Reads the configuration again, as it was first read (same file, same command-line values).
pub type LoadConfig = Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

/// What `gemhole serve` reports about one host at start.
pub struct HostReport {
    pub names: Vec<Hostname>,
    pub capsule: PathBuf,
    pub certs: Vec<tls::HostCert>,
    pub default: bool,
}

impl Server {
    /// Loads (or generates) certificates, opens every capsule and binds every listen address.
    /// Must run inside a tokio runtime.
    pub fn bind(config: &Config) -> Result<Server, StartError> {
        let mut running = Running::first(config)?;
        let prepared = Prepared::new(config, &running)?;
        let mut listeners: Vec<(TcpListener, bool)> =
            bind_all(config.listen.iter().map(|a| a.get()))?
                .into_iter()
                .map(|(_, l)| (l, false))
                .collect();
        if !config.proxy_listen.is_empty() {
            let proxied = bind_all(config.proxy_listen.iter().map(|a| a.get()))?;
            listeners.extend(proxied.into_iter().map(|(_, l)| (l, true)));
        }
        let mut gopher_listeners = Vec::new();
        for host in &config.hosts {
            for (addrs, proxied) in [
                (&host.gopher.listen, false),
                (&host.gopher.proxy_listen, true),
            ] {
                if !addrs.is_empty() {
                    let bound = bind_all(addrs.iter().map(|a| a.get()))?;
                    gopher_listeners.extend(bound.into_iter().map(|(a, l)| (a, l, proxied)));
                }
            }
        }
        let mut web_addrs: Vec<(SocketAddr, config::HttpKind)> = config
            .hosts
            .iter()
            .flat_map(|h| h.http.addresses())
            .collect();
        web_addrs.sort();
        web_addrs.dedup();
        let mut web_listeners = Vec::new();
        for (addr, kind) in web_addrs {
            let bound = bind_all([addr])?;
            let proxied = kind == config::HttpKind::Proxied;
            web_listeners.extend(bound.into_iter().map(|(a, l)| ((a, kind), l, proxied)));
        }
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        let (hosts, watches) = prepared.watch(config, reload_tx.clone());
        running.certs = all_certs(&hosts);
        running.hosts = hosts.list.clone();
        Ok(Server {
            listeners,
            gopher_listeners,
            web_listeners,
            live: Arc::new(Live {
                hosts: ArcSwap::from_pointee(hosts),
                watches: Mutex::new(watches),
            }),
            running,
            config: config.clone(),
            reload_tx,
            reload_rx,
        })
    }

    /// The Gemini addresses actually bound (with the real port when port 0 was asked for),
    /// each marked when it expects a PROXY header.
    pub fn local_addrs(&self) -> Vec<(SocketAddr, bool)> {
        self.listeners
            .iter()
            .filter_map(|(l, proxied)| Some((l.local_addr().ok()?, *proxied)))
            .collect()
    }

    /// The addresses the Gopher listeners bound, each with the canonical name of its host and
    /// marked when it expects a PROXY header.
    pub fn gopher_addrs(&self) -> Vec<(SocketAddr, Hostname, bool)> {
        let hosts = self.live.hosts.load();
        self.gopher_listeners
            .iter()
            .filter_map(|(configured, l, proxied)| {
                let host = hosts.for_gopher(*configured)?;
                Some((l.local_addr().ok()?, host.canonical().clone(), *proxied))
            })
            .collect()
    }

    /// The addresses the HTTP listeners bound, each with the canonical names of the hosts
    /// there, marked when it expects a PROXY header and when it speaks HTTPS.
    pub fn web_addrs(&self) -> Vec<(SocketAddr, Vec<Hostname>, bool, bool)> {
        let hosts = self.live.hosts.load();
        self.web_listeners
            .iter()
            .filter_map(|(configured, l, proxied)| {
                let names = hosts.web_hosts(*configured);
                let https = hosts.web_acceptor(*configured).is_some();
                Some((l.local_addr().ok()?, names, *proxied, https))
            })
            .collect()
    }

    /// The hosts served, in the configuration's order.
    pub fn hosts(&self) -> Vec<HostReport> {
        let hosts = self.live.hosts.load();
        hosts
            .list
            .iter()
            .map(|host| HostReport {
                names: host.names.clone(),
                capsule: host.capsule.load().root.path().to_owned(),
                certs: host.certs.clone(),
                default: Arc::ptr_eq(host, hosts.default_host()),
            })
            .collect()
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
        let gemini = (self.listeners.into_iter()).map(|(l, proxied)| (l, Speaks::Gemini, proxied));
        let bound_gopher: Vec<SocketAddr> =
            self.gopher_listeners.iter().map(|(a, _, _)| *a).collect();
        let bound_web: Vec<host::WebAddr> = self.web_listeners.iter().map(|(a, _, _)| *a).collect();
        let gopher = self
            .gopher_listeners
            .into_iter()
            .map(|(configured, l, proxied)| (l, Speaks::Gopher(configured), proxied));
        let web = self
            .web_listeners
            .into_iter()
            .map(|(configured, l, proxied)| (l, Speaks::Http(configured), proxied));
        for listener in gemini.chain(gopher).chain(web) {
            accept_loops.spawn(accept_loop(
                listener,
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
            (self.config, self.running, (bound_gopher, bound_web)),
            load_config,
            self.reload_rx,
            self.reload_tx,
        ));
        // Listening, every host's first snapshot read: a `Type=notify` unit is started.
        notify_systemd(&[sd_notify::NotifyState::Ready]);
        while accept_loops.join_next().await.is_some() {}
        notify_systemd(&[sd_notify::NotifyState::Stopping]);
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
/// (every host's certificates and site) before it replaces the running one, so a mistake in
/// any host leaves the server as it was. Connections already open finish with what they
/// started with.
async fn reload_loop(
    live: Arc<Live>,
    (first, mut running, bound): (Config, Running, (Vec<SocketAddr>, Vec<host::WebAddr>)),
    load_config: LoadConfig,
    mut requests: UnboundedReceiver<()>,
    reload_tx: UnboundedSender<()>,
) {
    let load_config = Arc::new(load_config);
    while requests.recv().await.is_some() {
        // Editors and renewal tools write several files: one reload for the lot.
        watch::settle(&mut requests).await;
        reloading();
        let load = Arc::clone(&load_config);
        let Some((config, prepared)) = prepare(load, running.clone(), bound.clone()).await else {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
            continue;
        };
        for needs_restart in restart_only_changes(&first, &config) {
            tracing::warn!("{needs_restart} changed; that takes effect after a restart");
        }
        // The old watches end before the new ones start: one kernel watcher per host at a
        // time (the old snapshots are served a moment longer, unchanged).
        let old = std::mem::take(&mut *lock(&live.watches));
        for watch in old {
            watch.end().await;
        }
        let (hosts, watches) = prepared.watch(&config, reload_tx.clone());
        hosts.per_address.set(
            config.limits.max_connections_per_ip,
            config.limits.requests_per_minute_per_ip,
        );
        let certs = all_certs(&hosts);
        log_changed_certs(&running.certs, &certs);
        warn_default_changed(&live.hosts.load_full(), &hosts);
        running.certs = certs;
        running.hosts = hosts.list.clone();
        let count = hosts.list.len();
        live.hosts.store(Arc::new(hosts));
        *lock(&live.watches) = watches;
        tracing::info!(
            "configuration reloaded from {} ({count} host(s), {} certificate(s))",
            config
                .source
                .as_deref()
                .map_or("built-in defaults".into(), |p| p.display().to_string()),
            running.certs.len()
        );
        notify_systemd(&[sd_notify::NotifyState::Ready]);
    }
}

/// The new configuration and all it serves, made off the async threads; `None` when it
/// cannot be used (the log says why, and the running one stays).
async fn prepare(
    load: Arc<LoadConfig>,
    now: Running,
    (bound_gopher, bound_web): (Vec<SocketAddr>, Vec<host::WebAddr>),
) -> Option<(Config, Prepared)> {
    let prepared = tokio::task::spawn_blocking(move || {
        let config = load().map_err(|e| e.to_string())?;
        let prepared = Prepared::new(&config, &now).map_err(|e| e.to_string())?;
        // A listener keeps its address until a restart: it must still have a host.
        if let Some(orphan) = bound_gopher
            .iter()
            .find(|a| prepared.hosts.for_gopher(**a).is_none())
        {
            return Err(format!(
                "no host listens on the Gopher address {orphan} any more; Gopher \
                 addresses change with a restart"
            ));
        }
        if let Some(orphan) = bound_web
            .iter()
            .find(|a| prepared.hosts.for_web(**a, None).is_none())
        {
            return Err(format!(
                "no host listens on the HTTP address {} any more; HTTP addresses \
                 change with a restart",
                orphan.0
            ));
        }
        Ok::<_, String>((config, prepared))
    })
    .await;
    match prepared {
        Ok(Ok(ready)) => Some(ready),
        Ok(Err(e)) => {
            tracing::error!("reload refused, still serving the previous configuration: {e}");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "reload failed, still serving the previous configuration");
            None
        }
    }
}

/// One line for each certificate a reload serves that is new, or other than it was.
fn log_changed_certs(before: &[tls::HostCert], after: &[tls::HostCert]) {
    for cert in after {
        let was = before.iter().find(|c| c.cert_path == cert.cert_path);
        if was.is_none_or(|b| b.info != cert.info) {
            tracing::info!(
                host = %cert.names[0],
                file = %cert.cert_path.display(),
                sha256 = %cert.info.cert_sha256,
                spki_sha256 = %cert.info.spki_sha256,
                "certificate changed on reload"
            );
        }
    }
}

/// Warns when a reload changes what readers who connect by address get: another default
/// host, or another certificate.
fn warn_default_changed(before: &Hosts, hosts: &Hosts) {
    let after = hosts.default_host();
    if hosts.list.len() > 1 && after.canonical() != before.default_host().canonical() {
        tracing::warn!(
            "the default host is now {} (was {}): readers who connect by address get its \
             certificate and pages",
            after.canonical(),
            before.default_host().canonical()
        );
    }
    // What clients without SNI get is the default host's first name's certificate.
    let sha256 = |hosts: &Hosts| hosts.default_host().certs[0].info.cert_sha256.clone();
    if sha256(before) != sha256(hosts) {
        tracing::warn!(
            file = %after.certs[0].cert_path.display(),
            sha256 = %sha256(hosts),
            "readers who send no name (who connect by address) now get another \
             certificate: the one of the default host's first name"
        );
    }
}

/// Tells systemd (a `Type=notify` or `notify-reload` unit; nothing without `NOTIFY_SOCKET`)
/// that a reload begins, with the clock reading `notify-reload` asks for.
fn reloading() {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(now) => notify_systemd(&[sd_notify::NotifyState::Reloading, now]),
        Err(_) => notify_systemd(&[sd_notify::NotifyState::Reloading]),
    }
}

/// Sends states to systemd's notification socket, if there is one.
fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// Every certificate pair served, host by host.
fn all_certs(hosts: &Hosts) -> Vec<tls::HostCert> {
    hosts
        .list
        .iter()
        .flat_map(|h| h.certs.iter().cloned())
        .collect()
}

/// The settings a reload cannot apply to a running server.
fn restart_only_changes(running: &Config, new: &Config) -> Vec<&'static str> {
    // Each kind apart: an address moved between `listen` and `proxy_listen` changes whether
    // a header is expected there.
    let gopher = |config: &Config| {
        let of = |proxied: bool| {
            let mut addrs: Vec<SocketAddr> = config
                .hosts
                .iter()
                .flat_map(|h| {
                    if proxied {
                        &h.gopher.proxy_listen
                    } else {
                        &h.gopher.listen
                    }
                })
                .map(|a| a.get())
                .collect();
            addrs.sort();
            addrs
        };
        (of(false), of(true))
    };
    let mut changed = Vec::new();
    if running.listen != new.listen {
        changed.push("listen");
    }
    if running.proxy_listen != new.proxy_listen {
        changed.push("proxy_listen");
    }
    if gopher(running) != gopher(new) {
        changed.push("gopher.listen");
    }
    let web = |config: &Config| {
        let mut addrs: Vec<(SocketAddr, config::HttpKind)> = config
            .hosts
            .iter()
            .flat_map(|h| h.http.addresses())
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    };
    if web(running) != web(new) {
        changed.push("http.listen");
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
    if running.log.format != new.log.format {
        changed.push("log.format");
    }
    // A confined process can narrow its rights, never widen them.
    if running.confine != new.confine {
        changed.push("confine");
    } else if confine::in_force() && confine::Allowed::of(running) != confine::Allowed::of(new) {
        changed.push(
            "what the confined process may reach (a capsule or templates folder, the \
             certificates, the cgi rules or [cgi] read and write)",
        );
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
    /// The client: the socket's peer, or the one a balancer's PROXY header names.
    peer: SocketAddr,
    /// The balancer the connection came through, if any.
    via: Option<SocketAddr>,
    /// The address the client connected to, when a balancer's header names it (else the
    /// socket's own): a client without SNI gets the certificate made for it.
    to: Option<SocketAddr>,
    /// A balancer's own connection (its health check): logged at debug level only.
    quiet: bool,
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
/// listener is dropped (and the port closed) when this returns. On a `proxied` listener only
/// trusted balancers are let in, and each connection's client is read from its PROXY header
/// before anything else (see [`proxy`]).
async fn accept_loop(
    (listener, protocol, proxied): (TcpListener, Speaks, bool),
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
        // One configuration for the whole connection, even if a reload comes meanwhile.
        let hosts = live.hosts.load_full();
        let place = if proxied {
            if !hosts
                .proxy_trusted
                .iter()
                .any(|net| net.contains(peer.ip()))
            {
                closed_at_once(
                    &hosts,
                    peer,
                    None,
                    "not a trusted balancer (proxy_trusted); closed",
                );
                continue;
            }
            // Keyed on the client the header names, once it has been read.
            None
        } else if matches!(protocol, Speaks::Http(_))
            && hosts
                .proxy_trusted
                .iter()
                .any(|net| net.contains(peer.ip()))
        {
            // A reverse proxy's connections carry many readers: each request takes a place
            // of the reader it names (see `web`).
            None
        } else {
            let Some(place) = hosts.per_address.connect(peer.ip()) else {
                closed_at_once(
                    &hosts,
                    peer,
                    None,
                    "too many connections from one address; closed",
                );
                continue;
            };
            Some(place)
        };
        let ticket = tokio::select! {
            () = shutdown.cancelled() => return,
            ticket = slots.admit() => ticket,
        };
        let mut conn = Admitted {
            stream,
            peer,
            via: None,
            to: None,
            quiet: false,
            holds: Holds { place, ticket },
        };
        let stopping = shutdown.clone();
        tracker.spawn(async move {
            if proxied && let Err(note) = behind_balancer(&mut conn, &hosts).await {
                closed_at_once(&hosts, conn.peer, conn.via, note);
                return;
            }
            match protocol {
                Speaks::Gemini => gemini::handle(conn, hosts).await,
                Speaks::Gopher(configured) => gopher::handle(conn, hosts, configured).await,
                Speaks::Http(configured) => web::handle(conn, hosts, configured, stopping).await,
            }
        });
    }
}

/// Logs a connection closed before it was served: no handshake, no answer, no byte.
fn closed_at_once(hosts: &Hosts, peer: SocketAddr, via: Option<SocketAddr>, note: &str) {
    tracing::info!(
        target: "gemhole::access",
        peer = %if hosts.log_ip { peer.to_string() } else { "-".into() },
        via = %via.map_or("-".to_owned(), |v| v.to_string()),
        "{note}"
    );
}

/// Reads the PROXY header of a connection from a balancer, under its timeout: the connection
/// becomes the client's (its place among its address's connections too), or its balancer's
/// own (a health check). `Err`: why it is closed without a byte.
async fn behind_balancer(conn: &mut Admitted, hosts: &Hosts) -> Result<(), &'static str> {
    let read = tokio::select! {
        read = tokio::time::timeout(
            hosts.timeouts.proxy_header_timeout,
            proxy::read_header(&conn.stream),
        ) => read,
        () = conn.holds.ticket.closed_for_newcomer().cancelled() => {
            return Err(slots::CLOSED_FOR_NEWCOMER);
        }
    };
    let header = read.map_err(|_| "no PROXY header within limits.proxy_header_timeout")??;
    conn.via = Some(conn.peer);
    match header {
        proxy::Header::Client { from, to } => {
            conn.peer = from;
            conn.to = Some(to);
        }
        // Its health checks come every few seconds, and take no client's place: a few of
        // their own under the balancer's address.
        proxy::Header::Local => {
            conn.quiet = true;
            conn.holds.place =
                Some(hosts.balancer_checks.connect(conn.peer.ip()).ok_or(
                    "too many health-check (LOCAL) connections from one balancer; closed",
                )?);
            return Ok(());
        }
        proxy::Header::Unknown => {}
    }
    conn.holds.place = Some(
        hosts
            .per_address
            .connect(conn.peer.ip())
            .ok_or("too many connections from one address; closed")?,
    );
    Ok(())
}

/// Binds every address; each listener comes with the address it was asked for. IPv6 sockets
/// are IPv6-only, so `0.0.0.0:P` and `[::]:P` can both be bound. An unspecified IPv6 address
/// on a machine without IPv6 is skipped with a warning when another address was bound; every
/// other failure stops start-up.
fn bind_all(
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<(SocketAddr, TcpListener)>, StartError> {
    let mut listeners = Vec::new();
    let mut skipped = Vec::new();
    for addr in addrs {
        match bind(addr) {
            Ok(listener) => listeners.push((addr, listener)),
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
    use rustix::io::Errno;
    e.raw_os_error()
        .map(Errno::from_raw_os_error)
        .is_some_and(|e| e == Errno::AFNOSUPPORT || e == Errno::ADDRNOTAVAIL)
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
