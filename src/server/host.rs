//! The hosts one configuration serves, and the one decision of which host a connection and its
//! request are for.
//!
//! A [`Host`] is one capsule: its names, certificates, snapshot and settings. [`Hosts`] is all
//! that one configuration made: the TLS acceptor (whose certificate resolver reads the same
//! name table requests are routed with), the default host, and the host of each Gopher
//! address. A connection keeps one `Hosts` for its whole life. SNI picks its host once, after
//! the handshake (no SNI, an address or an unknown name: the default host); a request whose
//! URL names another host is refused (`53`). No handler branches on which host it serves:
//! what differs between hosts travels inside `Host`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ProducesTickets, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsAcceptor;

use super::limits::PerAddress;
use super::{StartError, tls};
use crate::config::{AreaConfig, Config, Fingerprint, HostConfig, Hostname, HttpKind, TitanConfig};
use crate::content::scan::{self, ReadCache, SharedCache};
use crate::content::{BuildOptions, Problem, Site};
use crate::content::{CapsuleRoot, Secret};
use crate::protocol::identity::Identity;
use crate::protocol::request::{Named, Rejection, Request};
use crate::respond::Capsule;
use crate::views::layout::Layout;
use crate::watch;

/// An HTTP address as configured, with how it is served (one address of port 0 may be both
/// a plain and an HTTPS listener, each bound to a port of its own).
pub(super) type WebAddr = (SocketAddr, HttpKind);

/// Per-phase time limits of a connection.
#[derive(Debug, Clone)]
pub(super) struct Timeouts {
    pub handshake_timeout: Duration,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    /// For the PROXY header on a `proxy_listen` listener.
    pub proxy_header_timeout: Duration,
}

/// What Gopher menus say about a host, and how text is laid out.
#[derive(Debug, Clone)]
pub(super) struct GopherSettings {
    pub host: String,
    /// `None`: the port each request arrived on.
    pub public_port: Option<u16>,
    pub wrap: usize,
}

/// One served capsule.
pub(super) struct Host {
    /// Its names; the first is the canonical one (feeds, menus, logs).
    pub names: Vec<Hostname>,
    /// Its certificate pairs, the canonical name's first.
    pub certs: Vec<tls::HostCert>,
    /// What every path answers; replaced as a whole when the capsule folder changes.
    pub capsule: Arc<ArcSwap<Capsule>>,
    /// The port feeds put in their absolute URLs; `None`: the port a request arrived on.
    pub public_port: Option<u16>,
    pub gopher: GopherSettings,
    /// Its names as a `gemini://` link on a web page writes them: such a link is a link
    /// within the site.
    pub web_names: Arc<[String]>,
    /// Its HTTPS certificate (`http.cert`), when it has HTTPS listeners.
    pub web_cert: Option<tls::HostCert>,
    /// How its posts are read: an upload is checked as the watcher will read it.
    pub build: BuildOptions,
    /// The files its watch has read: a reload of the same folder with the same settings for
    /// reading starts from them.
    read: SharedCache,
    /// Tells its watch of files the server wrote (an upload), to be shown at once.
    pub watch: std::sync::OnceLock<watch::Notifier>,
    /// The authors' mistakes in its folder as last logged (kept up to date by its watch), so
    /// a reload of the configuration tells only new ones.
    logged: watch::Logged,
}

impl Host {
    pub fn canonical(&self) -> &Hostname {
        &self.names[0]
    }
}

/// Where a request arrived: the configuration its connection started under, the host the
/// connection is for (by SNI, or by its Gopher listener), the address it arrived at, and the
/// client certificate it presented. What answers on a connection takes it whole.
#[derive(Clone, Copy)]
pub(super) struct Arrival<'a> {
    pub hosts: &'a Hosts,
    pub host: &'a Arc<Host>,
    pub local: SocketAddr,
    pub identity: Option<&'a Identity>,
}

/// Everything one configuration serves with: a connection keeps the one it started with, and
/// a reload puts a new one in place for the next connections.
pub(super) struct Hosts {
    /// In the order of the configuration.
    pub list: Vec<Arc<Host>>,
    names: Arc<Names>,
    /// The host of each configured Gopher address.
    gopher: HashMap<SocketAddr, usize>,
    /// The hosts of each configured HTTP address, in the configuration's order.
    web: HashMap<WebAddr, Vec<usize>>,
    /// The TLS acceptor of each HTTPS address.
    web_tls: HashMap<WebAddr, TlsAcceptor>,
    acceptor: TlsAcceptor,
    /// For an address among the default host's names whose certificate is not the default
    /// one: what a client that connected to it without SNI is given (that certificate).
    by_address: HashMap<IpAddr, TlsAcceptor>,
    pub timeouts: Timeouts,
    /// The balancers allowed on `proxy_listen` listeners.
    pub proxy_trusted: Vec<crate::config::Cidr>,
    pub log_ip: bool,
    /// Connections and requests per client address: daemon-wide (a client's allowance does
    /// not grow with the number of hosts) and kept across reloads.
    pub per_address: Arc<PerAddress>,
    /// A balancer's own connections (PROXY v2 `LOCAL`: its health checks), per balancer
    /// address: a few at a time, so an address in `proxy_trusted` cannot open connections
    /// without end by claiming to be a health check.
    pub balancer_checks: Arc<PerAddress>,
    /// The programs `cgi` rules run, and their limits.
    pub programs: Arc<super::cgi::Programs>,
    /// The port Gemini readers use when a host sets no `public_port`: the first Gemini
    /// address's (1965 when it is chosen at start), for a web page's Gemini address.
    pub gemini_port: u16,
}

/// Every name served, with its host and certificate: the one table both the certificate
/// resolver and the request router read.
#[derive(Debug)]
struct Names {
    by_name: HashMap<String, (usize, Arc<CertifiedKey>)>,
    default: usize,
    default_cert: Arc<CertifiedKey>,
}

impl Names {
    /// The entry of a name as a client sends it in SNI (any case, a trailing dot).
    fn find(&self, sni: Option<&str>) -> Option<&(usize, Arc<CertifiedKey>)> {
        let name = sni?;
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        self.by_name.get(&name)
    }
}

impl Names {
    /// The pair of the name a client sent, else `default`.
    fn pair(&self, hello: &ClientHello<'_>, default: &Arc<CertifiedKey>) -> Arc<CertifiedKey> {
        let found = self.find(hello.server_name());
        Arc::clone(found.map_or(default, |(_, key)| key))
    }
}

impl ResolvesServerCert for Names {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.pair(&hello, &self.default_cert))
    }
}

/// The name table for clients that connected to one of the default host's addresses: a
/// client that sends no SNI (as one that connects by address does) gets that address's
/// certificate, which names it, rather than the first hostname's.
#[derive(Debug)]
struct AtAddress {
    names: Arc<Names>,
    cert: Arc<CertifiedKey>,
}

impl ResolvesServerCert for AtAddress {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.names.pair(&hello, &self.cert))
    }
}

impl Hosts {
    /// The TLS acceptor for a client that connected to `local`.
    pub fn acceptor_for(&self, local: IpAddr) -> &TlsAcceptor {
        self.by_address
            .get(&local.to_canonical())
            .unwrap_or(&self.acceptor)
    }

    /// The connection's host from the name its client sent (`None`: none, or an address).
    pub fn by_sni(&self, sni: Option<&str>) -> &Arc<Host> {
        let index = self.names.find(sni).map_or(self.names.default, |(i, _)| *i);
        &self.list[index]
    }

    /// The host a request on a connection for `conn` is answered by: `conn` itself, if the
    /// URL names it (or the address the client connected to) on a port of ours; else `53`.
    pub fn route<'a>(
        &self,
        conn: &'a Arc<Host>,
        request: &Request,
        local: SocketAddr,
    ) -> Result<&'a Arc<Host>, Rejection> {
        let named = match self.names.by_name.get(request.host.as_str()) {
            Some((i, _)) if Arc::ptr_eq(&self.list[*i], conn) => Named::ThisHost,
            Some(_) => Named::OtherHost,
            None => Named::NoHost,
        };
        request.check_target(named, local, conn.public_port)?;
        Ok(conn)
    }

    /// The host an HTTP request on a listener bound at `configured` is for: the one of its
    /// hosts its `Host` header names (any case, a port or a trailing dot aside), else the
    /// first of them; `None` when no host listens there any more.
    pub fn for_web(&self, configured: WebAddr, host: Option<&str>) -> Option<&Arc<Host>> {
        let at = self.web.get(&configured)?;
        let asked = host.map(|h| {
            let h = match h.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
                _ => h,
            };
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
        });
        let named = asked.and_then(|asked| {
            at.iter()
                .find(|&&i| self.list[i].names.iter().any(|n| n.as_str() == asked))
        });
        named.or(at.first()).map(|&i| &self.list[i])
    }

    /// The canonical names of the hosts an HTTP listener bound at `configured` serves.
    pub fn web_hosts(&self, configured: WebAddr) -> Vec<Hostname> {
        self.web.get(&configured).map_or_else(Vec::new, |at| {
            at.iter()
                .map(|&i| self.list[i].canonical().clone())
                .collect()
        })
    }

    /// The TLS acceptor of an HTTPS listener bound at `configured` (`None`: plain HTTP).
    pub fn web_acceptor(&self, configured: WebAddr) -> Option<&TlsAcceptor> {
        self.web_tls.get(&configured)
    }

    /// The host a Gopher listener bound at `configured` serves.
    pub fn for_gopher(&self, configured: SocketAddr) -> Option<&Arc<Host>> {
        self.gopher.get(&configured).map(|&i| &self.list[i])
    }

    pub fn default_host(&self) -> &Arc<Host> {
        &self.list[self.names.default]
    }
}

/// Where `inner`'s folder is `outer`'s or lies inside it, `outer` serves its files too: every
/// client-certificate area either has must be guarded by the other as well, at the matching
/// path, letting in no certificate the area does not; or one host would serve the other's
/// area to readers it refuses.
fn areas_kept(
    outer: &HostConfig,
    outer_root: &CapsuleRoot,
    inner: &HostConfig,
    inner_root: &CapsuleRoot,
) -> Result<(), String> {
    let Ok(at) = inner_root.path().strip_prefix(outer_root.path()) else {
        return Ok(());
    };
    let at: Vec<String> = at
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for area in &inner.areas {
        let there: Vec<String> = at.iter().chain(area.path.segments()).cloned().collect();
        kept_by(inner, area, outer, &there)?;
    }
    for area in &outer.areas {
        let segments = area.path.segments();
        let there = match segments.strip_prefix(at.as_slice()) {
            Some(below) => below.to_vec(),
            // The area holds the whole inner folder.
            None if at.starts_with(segments) => Vec::new(),
            None => continue,
        };
        kept_by(outer, area, inner, &there)?;
    }
    Ok(())
}

/// Whether `other` guards `area` (of `guarding`) where it serves the same files, at `there`.
fn kept_by(
    guarding: &HostConfig,
    area: &AreaConfig,
    other: &HostConfig,
    there: &[String],
) -> Result<(), String> {
    let refused = match admitted(other, there) {
        None => "to anyone",
        Some(None) if !area.fingerprints.is_empty() => "to any certificate",
        Some(Some(list))
            if !area.fingerprints.is_empty()
                && list.iter().any(|f| !area.fingerprints.contains(f)) =>
        {
            "to certificates the area does not list"
        }
        Some(_) => return Ok(()),
    };
    let shown = format!(
        "/{}",
        there.iter().map(|s| format!("{s}/")).collect::<String>()
    );
    Err(format!(
        "{}'s client-certificate area {} is served by {} too (their folders overlap), at \
         {shown}, {refused}: add a [[host.area]] with path = \"{shown}\" and the same \
         fingerprints to {}, or give {} a folder of its own",
        guarding.canonical(),
        area.path,
        other.canonical(),
        other.canonical(),
        guarding.canonical(),
    ))
}

/// The certificates `host` lets into a path: `None` if no area holds it, `Some(None)` any,
/// else those every area over it lists (a request must pass them all).
fn admitted(host: &HostConfig, path: &[String]) -> Option<Option<Vec<Fingerprint>>> {
    let over: Vec<&AreaConfig> = host.areas.iter().filter(|a| a.path.covers(path)).collect();
    if over.is_empty() {
        return None;
    }
    let lists: Vec<&Vec<Fingerprint>> = over
        .iter()
        .map(|a| &a.fingerprints)
        .filter(|l| !l.is_empty())
        .collect();
    let Some((first, rest)) = lists.split_first() else {
        return Some(None);
    };
    Some(Some(
        first
            .iter()
            .filter(|f| rest.iter().all(|l| l.contains(f)))
            .copied()
            .collect(),
    ))
}

/// The check a host's capsule must pass when a deploy swaps its folder while serving: its
/// areas and the other hosts' stay guarded (as [`Prepared::new`] checks at start and reload).
pub(super) fn root_check(
    config: &Config,
    index: usize,
    capsules: Vec<Arc<ArcSwap<Capsule>>>,
) -> watch::RootCheck {
    let hosts = config.hosts.clone();
    Arc::new(move |fresh: &CapsuleRoot| {
        let this = &hosts[index];
        for (other, capsule) in hosts
            .iter()
            .zip(&capsules)
            .enumerate()
            .filter(|(j, _)| *j != index)
            .map(|(_, p)| p)
        {
            let other_root = capsule.load().root.clone();
            areas_kept(this, fresh, other, &other_root)?;
            areas_kept(other, &other_root, this, fresh)?;
        }
        Ok(())
    })
}

/// Where a host's build starts (and the capsule it replaces, whose search entries it keeps): a
/// copy of what a served host with the same folder read, if its files are read the same way
/// (else nothing: every file is read). Every file's stamp is still looked at (with
/// `watch.mode = "off"` a reload is how changes are seen), but only changed files are read;
/// with the same settings and areas too, a folder as it was keeps the snapshot whole, else
/// the lists are made again from the files.
fn kept_read(
    served: &[Arc<Host>],
    root: &CapsuleRoot,
    options: &BuildOptions,
    areas: &[AreaConfig],
) -> (ReadCache, Option<Arc<Capsule>>) {
    let same_folder = |h: &&Arc<Host>| h.capsule.load().root.path() == root.path();
    let Some(host) = served
        .iter()
        .filter(same_folder)
        .find(|h| h.build.reads_same(options))
    else {
        // Read again, but posts keep the URLs they hold.
        let cache = served
            .iter()
            .find(same_folder)
            .map_or_else(ReadCache::default, |h| scan::lock(&h.read).only_holders());
        return (cache, None);
    };
    let mut cache = scan::lock(&host.read).clone();
    if host.build != *options || host.capsule.load().root.areas() != areas {
        cache.forget_lists();
    }
    (cache, Some(host.capsule.load_full()))
}

/// One warning, at start and on each reload, when Titan is on but the server cannot write
/// where uploads go (a unit that makes the file system read-only, a capsule owned by another
/// user): otherwise every upload would fail and only its own log line would say why.
fn warn_unwritable(host: &Hostname, root: &CapsuleRoot, titan: &TitanConfig) {
    let unwritable = root.unwritable(&titan.folders());
    if unwritable.is_empty() {
        return;
    }
    let folders: Vec<String> = unwritable
        .iter()
        .map(|u| match &u.missing {
            Some(missing) => format!(
                "{} (it does not exist, and cannot be made in {}: {})",
                missing.display(),
                u.folder.display(),
                u.error
            ),
            None => format!("{} ({})", u.folder.display(), u.error),
        })
        .collect();
    tracing::warn!(
        host = %host,
        "Titan is on, but the server cannot write to {}: uploads there (and every replacement \
         and delete, if it is {}) fail with 40 until it can. Make each folder, owned by the \
         server's user, and let the server write there (under systemd: a ReadWritePaths= line \
         for each in its unit, as contrib/gemhole.service has; see \"Running in production\" \
         in docs/operating.md)",
        folders.join(", "),
        root.path().join(crate::content::store::HISTORY_DIR).display()
    );
}

/// A host's strings and templates, each broken template logged (its page keeps the template
/// the served host of the same names had from that file, else the default).
fn load_layout(host: &HostConfig, served: &[Arc<Host>]) -> Arc<Layout> {
    let previous = served
        .iter()
        .find(|h| h.names == host.hostnames)
        .map(|h| Arc::clone(&h.capsule.load().layout));
    let (layout, problems) = Layout::load(host, previous.as_deref());
    for problem in problems {
        tracing::error!(
            host = %host.canonical(),
            "{}",
            crate::convert::printable(&problem.to_string())
        );
    }
    if let Some(language) = host.unknown_language() {
        tracing::warn!(
            host = %host.canonical(),
            "no built-in strings for language `{language}`: generated pages are in English \
             except what [strings] sets"
        );
    }
    Arc::new(layout)
}

/// What a running server keeps across a configuration reload.
#[derive(Clone)]
pub(super) struct Running {
    /// What each address holds and has spent: limits change in place, counts are kept.
    pub per_address: Arc<PerAddress>,
    /// What each balancer's health checks hold.
    pub balancer_checks: Arc<PerAddress>,
    /// The certificates in use: a reload never makes a new one for these names.
    pub certs: Vec<tls::HostCert>,
    /// Sessions begun before a reload resume after it.
    pub ticketer: Arc<dyn ProducesTickets>,
    /// The hosts being served: a reload takes the files they read in place of reading them
    /// again.
    pub hosts: Vec<Arc<Host>>,
}

impl Running {
    /// What a server starts with.
    pub fn first(config: &Config) -> Result<Running, StartError> {
        Ok(Running {
            per_address: Arc::new(PerAddress::new(
                config.limits.max_connections_per_ip,
                config.limits.requests_per_minute_per_ip,
            )),
            balancer_checks: Arc::new(PerAddress::new(super::limits::BALANCER_CHECKS, 0)),
            certs: Vec::new(),
            ticketer: tls::ticketer()?,
            hosts: Vec::new(),
        })
    }
}

/// Everything made from one configuration, ready to serve and to watch.
pub(super) struct Prepared {
    pub hosts: Hosts,
    /// Per host: the problems its build logged, where its watch starts.
    read: Vec<Vec<Problem>>,
}

impl Prepared {
    /// Loads (or generates) every host's certificates and reads every capsule. Blocking. Any
    /// host that cannot be served fails the whole configuration.
    pub fn new(config: &Config, running: &Running) -> Result<Prepared, StartError> {
        // Every capsule is checked before any key is made: a key made for one host in another
        // host's folder would be served.
        let roots = open_roots(config)?;
        let mut opened = Vec::new();
        for (host, root) in config.hosts.iter().zip(roots) {
            let certs = tls::load_or_generate(host, config, &running.certs)?;
            opened.push((root, certs));
        }
        warn_nested(config, &opened);
        let web_certs = config
            .hosts
            .iter()
            .map(tls::load_web)
            .collect::<Result<Vec<_>, _>>()?;
        // Generated just now on a first start: secret too, by whatever name, in every capsule.
        let cert_files: Vec<PathBuf> = opened
            .iter()
            .flat_map(|(_, certs)| certs)
            .flat_map(|c| [c.cert_path.clone(), c.key_path.clone()])
            .collect();
        let default = config
            .hosts
            .iter()
            .position(|h| h.default)
            .unwrap_or_default();
        let mut by_name = HashMap::new();
        let mut gopher = HashMap::new();
        let mut web: HashMap<WebAddr, Vec<usize>> = HashMap::new();
        let mut list = Vec::new();
        let mut read = Vec::new();
        let opened = opened.into_iter().zip(web_certs);
        for (i, (host, ((root, certs), web_cert))) in config.hosts.iter().zip(opened).enumerate() {
            let root = root.keep_files_secret(cert_files.iter().map(PathBuf::as_path));
            let (mut served, problems) = Host::read_capsule(host, root, certs, config, running);
            served.web_cert = web_cert;
            for cert in &served.certs {
                for name in &cert.names {
                    by_name.insert(name.as_str().to_owned(), (i, Arc::clone(&cert.key)));
                }
            }
            for addr in host.gopher.listen.iter().chain(&host.gopher.proxy_listen) {
                gopher.insert(addr.get(), i);
            }
            for configured in host.http.addresses() {
                let at = web.entry(configured).or_default();
                if !at.contains(&i) {
                    at.push(i);
                }
            }
            list.push(Arc::new(served));
            read.push(problems);
        }
        let default_cert = Arc::clone(&list[default].certs[0].key);
        let names = Arc::new(Names {
            by_name,
            default,
            default_cert,
        });
        let hosts = Hosts::new(config, running, list, names, (gopher, web))?;
        Ok(Prepared { hosts, read })
    }

    /// Starts watching each host's folder (each keeps its own snapshot fresh), and the config
    /// and certificate files, whose change sends a message on `reload`.
    pub fn watch(self, config: &Config, reload: UnboundedSender<()>) -> (Hosts, Vec<watch::Watch>) {
        let mut files: Vec<PathBuf> = config
            .source
            .iter()
            .chain(&config.ticket_keys)
            .cloned()
            .collect();
        for cert in self
            .hosts
            .list
            .iter()
            .flat_map(|h| h.certs.iter().chain(&h.web_cert))
        {
            files.push(cert.cert_path.clone());
            files.push(cert.key_path.clone());
        }
        // A template changed is a reload: its page is made again, or keeps its last good one.
        for host in &self.hosts.list {
            files.extend(host.capsule.load().layout.watched_files());
        }
        // Events name files by absolute path.
        let mut files: Vec<PathBuf> = files
            .into_iter()
            .map(|f| std::path::absolute(&f).unwrap_or(f))
            .collect();
        let mut watches = Vec::new();
        let capsules: Vec<_> = self
            .hosts
            .list
            .iter()
            .map(|h| Arc::clone(&h.capsule))
            .collect();
        for (index, ((host, host_config), logged)) in self
            .hosts
            .list
            .iter()
            .zip(&config.hosts)
            .zip(self.read)
            .enumerate()
        {
            let target = watch::Target {
                host: host.canonical().to_string(),
                current: Arc::clone(&host.capsule),
                options: BuildOptions::new(host_config),
                cache: Arc::clone(&host.read),
                logged,
                told: Arc::clone(&host.logged),
                check_root: root_check(config, index, capsules.clone()),
            };
            // The first watch also passes on changes to the config and certificate files.
            let started = watch::start(
                target,
                &config.watch,
                std::mem::take(&mut files),
                reload.clone(),
            );
            let _ = host.watch.set(started.notifier());
            watches.push(started);
        }
        (self.hosts, watches)
    }
}

/// Every host's capsule folder, opened: none holds a secret of the configuration, and none
/// serves another host's client-certificate area to readers that host refuses.
fn open_roots(config: &Config) -> Result<Vec<CapsuleRoot>, StartError> {
    let secrets = Secret::of(config);
    let mut roots = Vec::new();
    for host in &config.hosts {
        let root = CapsuleRoot::open(&host.capsule)
            .map_err(|source| StartError::Capsule {
                path: host.capsule.clone(),
                source,
            })?
            .keep_secret(&secrets)?
            .with_areas(&host.areas);
        roots.push(root);
    }
    for (outer, root) in config.hosts.iter().zip(&roots) {
        for (inner, other) in config.hosts.iter().zip(&roots) {
            if !std::ptr::eq(outer, inner) {
                areas_kept(outer, root, inner, other).map_err(StartError::AreaShared)?;
            }
        }
    }
    Ok(roots)
}

/// Warns of a capsule inside another's: served twice, under two names and two sets of
/// settings; allowed, but likely a slip.
fn warn_nested(config: &Config, opened: &[(CapsuleRoot, Vec<tls::HostCert>)]) {
    for (outer, (root, _)) in config.hosts.iter().zip(opened) {
        for (inner, (other, _)) in config.hosts.iter().zip(opened) {
            if other.path() != root.path() && other.path().starts_with(root.path()) {
                tracing::warn!(
                    host = %outer.canonical(),
                    "the capsule of {} ({}) lies inside this host's ({}): its files are \
                     served here too, under /{}/, as this host's pages (its posts dated \
                     ahead are not withheld here)",
                    inner.canonical(),
                    other.path().display(),
                    root.path().display(),
                    other
                        .path()
                        .strip_prefix(root.path())
                        .unwrap_or(other.path())
                        .display()
                );
            }
        }
    }
}

impl Host {
    /// Reads one host's capsule (from what a served host with the same folder read, if any)
    /// and says in the log what it found; the problems its build logged come too.
    fn read_capsule(
        host: &HostConfig,
        root: CapsuleRoot,
        certs: Vec<tls::HostCert>,
        config: &Config,
        running: &Running,
    ) -> (Host, Vec<Problem>) {
        let options = BuildOptions::new(host);
        let (mut cache, before) = kept_read(&running.hosts, &root, &options, &host.areas);
        let (site, problems) = Site::build_cached(&root, &options, &mut cache);
        let canonical = host.canonical();
        let told_before = running
            .hosts
            .iter()
            .find(|h| h.capsule.load().root.path() == root.path())
            .map(|h| watch::lock(&h.logged).clone())
            .unwrap_or_default();
        let mut logged = std::collections::HashSet::new();
        for problem in &problems {
            // File names are authors': nothing in them may forge a line.
            let problem = problem.to_string();
            if !told_before.contains(&problem) && !logged.contains(&problem) {
                tracing::info!(
                    target: crate::watch::AUTHOR,
                    host = %canonical,
                    "{}",
                    crate::convert::printable(&problem)
                );
            }
            logged.insert(problem);
        }
        if host.titan.enabled {
            warn_unwritable(canonical, &root, &host.titan);
        }
        let layout = load_layout(host, &running.hosts);
        tracing::info!(
            host = %canonical,
            "{} post(s) in {} series ({} file(s) read)",
            site.posts.len(),
            site.series.len(),
            cache.last_read()
        );
        let served = Host {
            names: host.hostnames.clone(),
            certs,
            capsule: Arc::new(ArcSwap::from_pointee(
                Capsule::after(before.as_deref(), root, site, host, layout)
                    .with_drafts_for_all(config.drafts),
            )),
            public_port: host.public_port,
            gopher: GopherSettings {
                host: host.gopher_host().to_string(),
                public_port: host.gopher.public_port,
                wrap: host.gopher.wrap.get(),
            },
            web_names: host
                .hostnames
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect(),
            web_cert: None,
            build: options,
            read: Arc::new(std::sync::Mutex::new(cache)),
            watch: std::sync::OnceLock::new(),
            logged: Arc::new(std::sync::Mutex::new(logged)),
        };
        (served, problems)
    }
}

impl Hosts {
    /// What serves the hosts `list` (their names in `names`, their Gopher addresses in
    /// `gopher`): the TLS acceptors and the limits of the configuration.
    fn new(
        config: &Config,
        running: &Running,
        list: Vec<Arc<Host>>,
        names: Arc<Names>,
        (gopher, web): (HashMap<SocketAddr, usize>, HashMap<WebAddr, Vec<usize>>),
    ) -> Result<Hosts, StartError> {
        let resolver: Arc<dyn ResolvesServerCert> = names.clone();
        // Shared by every node behind a balancer when a key file is set (read again on each
        // reload: keys rotate); else this process's own.
        let ticketer: Arc<dyn ProducesTickets> = match &config.ticket_keys {
            Some(path) => Arc::new(super::tickets::FileTicketer::load(path)?),
            None => Arc::clone(&running.ticketer),
        };
        let by_address = address_acceptors(&list[names.default], &names, &ticketer)?;
        let web_tls = web_acceptors(&list, &web, &ticketer)?;
        let limits = &config.limits;
        Ok(Hosts {
            list,
            names,
            gopher,
            web,
            web_tls,
            acceptor: TlsAcceptor::from(tls::server_config(resolver, ticketer)?),
            by_address,
            timeouts: Timeouts {
                handshake_timeout: limits.handshake_timeout.duration(),
                request_timeout: limits.request_timeout.duration(),
                write_timeout: limits.write_timeout.duration(),
                proxy_header_timeout: limits.proxy_header_timeout.duration(),
            },
            proxy_trusted: config.proxy_trusted.clone(),
            log_ip: config.log.ip,
            // A reload sets the new limits in place once it is accepted.
            per_address: Arc::clone(&running.per_address),
            balancer_checks: Arc::clone(&running.balancer_checks),
            programs: Arc::new(super::cgi::Programs::new(&config.cgi)),
            gemini_port: config
                .listen
                .iter()
                .map(|a| a.get().port())
                .find(|&port| port != 0)
                .unwrap_or(crate::config::GEMINI_PORT),
        })
    }
}

/// The certificates of the hosts of an HTTPS address, by name (the first host's for a client
/// that sends no name, or one no host there has).
#[derive(Debug)]
struct WebNames {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for WebNames {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello
            .server_name()
            .map(|n| n.strip_suffix('.').unwrap_or(n).to_ascii_lowercase());
        let found = name.and_then(|n| self.by_name.get(&n));
        Some(Arc::clone(found.unwrap_or(&self.default)))
    }
}

/// One TLS acceptor per HTTPS address, with the certificates of the hosts listening there.
fn web_acceptors(
    list: &[Arc<Host>],
    web: &HashMap<WebAddr, Vec<usize>>,
    ticketer: &Arc<dyn ProducesTickets>,
) -> Result<HashMap<WebAddr, TlsAcceptor>, StartError> {
    let mut acceptors = HashMap::new();
    for (addr, at) in web {
        if addr.1 != HttpKind::Https {
            continue;
        }
        let pairs: Vec<&tls::HostCert> = at
            .iter()
            .filter_map(|&i| list[i].web_cert.as_ref())
            .collect();
        let Some(first) = pairs.first() else { continue };
        let mut by_name = HashMap::new();
        for pair in &pairs {
            for name in &pair.names {
                by_name
                    .entry(name.as_str().to_owned())
                    .or_insert_with(|| Arc::clone(&pair.key));
            }
        }
        let resolver: Arc<dyn ResolvesServerCert> = Arc::new(WebNames {
            by_name,
            default: Arc::clone(&first.key),
        });
        let config = tls::web_server_config(resolver, Arc::clone(ticketer))?;
        acceptors.insert(*addr, TlsAcceptor::from(config));
    }
    Ok(acceptors)
}

/// An address among the default host's names whose pair does not name it the default
/// pair: its own acceptor (one per such address, a handful at most).
fn address_acceptors(
    default: &Host,
    names: &Arc<Names>,
    ticketer: &Arc<dyn ProducesTickets>,
) -> Result<HashMap<IpAddr, TlsAcceptor>, StartError> {
    let default_pair = &default.certs[0];
    let mut by_address = HashMap::new();
    for pair in &default.certs {
        for name in &pair.names {
            let Some(ip) = name.as_ip() else { continue };
            if default_pair.info.covers(name) {
                continue;
            }
            let at: Arc<dyn ResolvesServerCert> = Arc::new(AtAddress {
                names: Arc::clone(names),
                cert: Arc::clone(&pair.key),
            });
            let acceptor = TlsAcceptor::from(tls::server_config(at, Arc::clone(ticketer))?);
            by_address.insert(ip.to_canonical(), acceptor);
        }
    }
    Ok(by_address)
}
