//! The operator's settings: the `config.toml` schema, its embedded defaults, validation and the
//! command-line overrides.
//!
//! Every value is checked while it is deserialised (through the small newtypes below), so a bad
//! value is reported by the TOML parser itself, with the file, line and column it came from.
//! Nothing here touches the network or the capsule, and nothing here imports another module of
//! the crate: this is the ground floor. The result is a plain [`Config`] that the other modules
//! read, each turning the part it needs into its own terms.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

mod access;
pub use access::{AreaConfig, Fingerprint, PathPrefix, TitanConfig, Token};
use toml::de::{DeArray, DeTable, DeValue};

/// The file `gemhole serve` reads from the working directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "config.toml";

/// Crawlers welcome; web proxies (which would republish the capsule over HTTP) are not. Per the
/// Gemini robots.txt companion spec, bots identify by purpose: archiver, indexer, researcher,
/// webproxy.
pub const DEFAULT_ROBOTS_TXT: &str = "User-agent: webproxy\nDisallow: /\n";

/// Gemini's registered port, used by the default listen addresses.
pub const GEMINI_PORT: u16 = 1965;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, an unknown key or a value of the wrong form, located in the file.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A rule that spans several keys (no line of its own to point at).
    #[error("{path}: {message}")]
    Inconsistent { path: PathBuf, message: String },
}

/// The validated settings of one server: what the daemon shares (listeners, certificates'
/// folder, limits, logs, watching) and the hosts it serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder that holds one sub-folder of PEM files per hostname.
    pub certs: PathBuf,
    /// Addresses the Gemini listener binds.
    pub listen: Vec<ListenAddr>,
    /// Addresses of Gemini listeners for a balancer in front (HAProxy's `send-proxy-v2`): each
    /// connection starts with a PROXY protocol header that names the client.
    pub proxy_listen: Vec<ListenAddr>,
    /// The peers allowed to connect to `proxy_listen` listeners (the balancers); others are
    /// closed at once.
    pub proxy_trusted: Vec<Cidr>,
    /// Session-ticket keys shared by every node behind a balancer (HAProxy's
    /// `tls-ticket-keys` format); unset: random keys of this process.
    pub ticket_keys: Option<PathBuf>,
    pub log: LogConfig,
    pub limits: Limits,
    /// Operator-supplied certificate and key per hostname, instead of the `certs/` folder.
    pub tls: BTreeMap<Hostname, CertPaths>,
    pub watch: WatchConfig,
    /// The capsules served, in the order written; never empty. The single-host form (host
    /// keys at the top level) is one host.
    #[serde(rename = "host")]
    pub hosts: Vec<HostConfig>,
    /// Whether the hosts were written as `[[host]]` tables (else: the single-host form, which
    /// the command line's `--capsule` and `--hostname` may change).
    #[serde(skip)]
    pub host_tables: bool,
    /// The file these settings were read from (`None`: built-in defaults), read again on reload.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Drafts and posts dated ahead shown to every reader, marked (`serve --drafts`: a local
    /// preview). Not a key of the file, so no config can publish drafts by mistake.
    #[serde(skip)]
    pub drafts: bool,
}

/// One capsule: its names, its folder and how it is shown.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// Hostnames served; the first is the canonical one (feeds, menus, logs).
    pub hostnames: Vec<Hostname>,
    /// The host for clients that send no SNI, an IP address or a name no host has (else the
    /// first host).
    pub default: bool,
    /// Folder served as the capsule root.
    pub capsule: PathBuf,
    /// The port readers use, for the absolute URLs in feeds (behind a port forward it differs
    /// from the listening port); unset: the port each request arrived on.
    pub public_port: Option<u16>,
    /// Served as `/robots.txt` when the capsule has no file of that name.
    pub robots_txt: String,
    /// Publish posts dated in the future (off: they wait for their date).
    pub publish_future: bool,
    /// The time zone of post dates written without an offset (and of date-only posts, which
    /// appear when their day begins there).
    pub timezone: Timezone,
    /// BCP 47 language tag(s) added to `text/gemini` responses as `lang=`; empty for none.
    pub lang: Lang,
    /// The capsule's title, for its Atom feed (and its home page when it has no `index.gmi`);
    /// unset: the home page's first heading, else the first hostname.
    pub title: Option<OneLine>,
    /// The author named by the Atom feeds; unset: the first hostname.
    pub author: Option<OneLine>,
    pub markdown: MarkdownConfig,
    pub home: HomeConfig,
    /// Per-series settings, by series name.
    pub series: BTreeMap<String, SeriesConfig>,
    pub gopher: GopherConfig,
    /// Parts readable only with a client certificate (`[[area]]`).
    #[serde(rename = "area")]
    pub areas: Vec<AreaConfig>,
    /// Uploads from authors' Gemini clients.
    pub titan: TitanConfig,
}

/// The keys of a [`HostConfig`] (but `default`): at the top level of the file they describe
/// the one host of the single-host form. A unit test keeps the list equal to the struct's.
const HOST_KEYS: &[&str] = &[
    "hostnames",
    "capsule",
    "public_port",
    "robots_txt",
    "publish_future",
    "timezone",
    "lang",
    "title",
    "author",
    "markdown",
    "home",
    "series",
    "gopher",
    "area",
    "titan",
];

/// The optional Gopher listener: the same capsule as a gopherhole.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GopherConfig {
    /// Addresses the Gopher listener binds (plain TCP); none: no Gopher listener.
    pub listen: Vec<ListenAddr>,
    /// Addresses of Gopher listeners for a balancer in front: each connection starts with a
    /// PROXY protocol header.
    pub proxy_listen: Vec<ListenAddr>,
    /// The host written into menus; unset: the first of `hostnames`.
    pub public_host: Option<Hostname>,
    /// The port written into menus; unset: the port each request arrived on.
    pub public_port: Option<u16>,
    /// Display columns text pages are wrapped to.
    pub wrap: Columns,
}

impl Default for GopherConfig {
    fn default() -> Self {
        GopherConfig {
            listen: Vec::new(),
            proxy_listen: Vec::new(),
            public_host: None,
            public_port: None,
            wrap: Columns(70),
        }
    }
}

/// A line width in display columns, from 20 to 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Columns(usize);

impl Columns {
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<i64> for Columns {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        match in_range(n, 500, "width", "a number of columns") {
            Ok(v) if v >= 20 => Ok(Columns(v as usize)),
            Ok(_) => Err(format!(
                "width {n} is too narrow: expected 20 to 500 columns"
            )),
            Err(e) => Err(e),
        }
    }
}

/// How changes to the capsule folder (and to this file and the certificates) are noticed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    pub mode: WatchMode,
    /// Seconds between two looks at the folder in `poll` mode.
    pub poll_interval: Seconds,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            mode: WatchMode::Events,
            poll_interval: Seconds(2),
        }
    }
}

/// How the watcher learns about changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    /// The kernel reports each change (inotify): quick and cheap. The default.
    Events,
    /// The folder is scanned every `poll_interval`: for network and FUSE file systems that
    /// report no events.
    Poll,
    /// Nothing is watched; SIGHUP reloads.
    Off,
}

/// Logging switches.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `RUST_LOG`-style filter used when the `RUST_LOG` variable is not set.
    pub level: LogFilter,
    /// Write the client's IP address into the access log (off: it is personal data).
    pub ip: bool,
}

/// Bounds that keep one client, or many, from exhausting the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Connections served at once. When all are taken, a connection already answered (only
    /// waiting for its client to hang up) is closed to admit a newcomer, else the one that has
    /// waited longest (at least a second) for its request; else newcomers wait.
    pub max_connections: Count,
    /// Connections one client address (an IPv6 /64) may have waiting for (or receiving) their
    /// answer at once; answered connections that only wait for the client's close do not
    /// count. 0: no cap.
    pub max_connections_per_ip: u32,
    /// Requests one client address (an IPv6 /64) may make per minute, in bursts of up to as
    /// many; over it, Gemini answers `44` and Gopher an error line. 0: no limit.
    pub requests_per_minute_per_ip: u32,
    /// Seconds a client gets to complete the TLS handshake.
    pub handshake_timeout: Seconds,
    /// Seconds a client gets to send its request line.
    pub request_timeout: Seconds,
    /// Seconds a single write to the client may stall before the connection is dropped.
    pub write_timeout: Seconds,
    /// Seconds the connections already accepted get to finish (their request included) after
    /// SIGINT/SIGTERM.
    pub shutdown_grace: Seconds,
    /// Seconds a balancer gets to send the PROXY header on a `proxy_listen` listener.
    pub proxy_header_timeout: Seconds,
}

/// How Markdown files become gemtext.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkdownConfig {
    /// Where link lines go: below each block, numbered below each block, or at the end.
    pub links: LinkPlacement,
    /// Put in front of an image's label in its link line.
    pub image_marker: String,
    /// Largest Markdown file converted, in bytes; larger ones are refused and logged.
    pub max_file_size: FileSize,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            links: LinkPlacement::Below,
            image_marker: "🖼".to_owned(),
            max_file_size: FileSize(4 * 1024 * 1024),
        }
    }
}

/// Where the link lines of a converted Markdown page go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkPlacement {
    /// After the block that holds them; the prose is unchanged.
    #[default]
    Below,
    /// After the block, numbered: the prose gets `label[1]`, the link line `=> url [1] label`.
    Footnote,
    /// Numbered as for `footnote`, all together under `## Links` at the end of the page.
    End,
}

/// What the home page lists after the author's own `index.gmi`/`index.md` text.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeConfig {
    /// How many of the newest posts to list; 0 lists none.
    pub recent: u32,
    /// List the series.
    pub series: bool,
    /// List the tags.
    pub tags: bool,
}

impl Default for HomeConfig {
    fn default() -> Self {
        HomeConfig {
            recent: 10,
            series: true,
            tags: true,
        }
    }
}

/// Settings of one series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesConfig {
    /// Shown under the series' title on its index page (a `capsule/series/<slug>.md` wins).
    pub description: String,
    /// The series' URL name, instead of one made from its name.
    pub slug: Option<String>,
    /// Former names (or URL names) of the series: posts that still use one belong to it, and
    /// its old index and feed URLs redirect to the new ones.
    pub aliases: Vec<String>,
}

/// Paths of an operator-supplied PEM certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            certs: PathBuf::from("certs"),
            listen: default_listen(),
            proxy_listen: Vec::new(),
            ticket_keys: None,
            proxy_trusted: vec![
                Cidr {
                    addr: Ipv4Addr::new(127, 0, 0, 0).into(),
                    prefix: 8,
                },
                Cidr {
                    addr: Ipv6Addr::LOCALHOST.into(),
                    prefix: 128,
                },
            ],
            log: LogConfig::default(),
            limits: Limits::default(),
            tls: BTreeMap::new(),
            watch: WatchConfig::default(),
            hosts: vec![HostConfig::default()],
            host_tables: false,
            drafts: false,
            source: None,
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            hostnames: vec![Hostname("localhost".into())],
            default: false,
            capsule: PathBuf::from("capsule"),
            public_port: None,
            publish_future: false,
            timezone: Timezone::default(),
            robots_txt: DEFAULT_ROBOTS_TXT.to_owned(),
            lang: Lang::default(),
            title: None,
            author: None,
            markdown: MarkdownConfig::default(),
            home: HomeConfig::default(),
            series: BTreeMap::new(),
            gopher: GopherConfig::default(),
            areas: Vec::new(),
            titan: TitanConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LogFilter("info".into()),
            ip: false,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: Count(1024),
            max_connections_per_ip: 64,
            requests_per_minute_per_ip: 0,
            handshake_timeout: Seconds(10),
            request_timeout: Seconds(10),
            write_timeout: Seconds(30),
            shutdown_grace: Seconds(5),
            proxy_header_timeout: Seconds(5),
        }
    }
}

/// Both stacks on the Gemini port: `0.0.0.0` and `[::]` (the latter bound IPv6-only).
fn default_listen() -> Vec<ListenAddr> {
    vec![
        ListenAddr(SocketAddr::from((Ipv4Addr::UNSPECIFIED, GEMINI_PORT))),
        ListenAddr(SocketAddr::from((Ipv6Addr::UNSPECIFIED, GEMINI_PORT))),
    ]
}

/// Values given on the command line; each one that is set replaces the file's value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub capsule: Option<PathBuf>,
    pub certs: Option<PathBuf>,
    pub hostnames: Vec<Hostname>,
    pub listen: Vec<ListenAddr>,
    pub proxy_listen: Vec<ListenAddr>,
    pub gopher_listen: Vec<ListenAddr>,
    pub gopher_proxy_listen: Vec<ListenAddr>,
    pub log_ip: bool,
    pub drafts: bool,
}

impl Config {
    /// Parses config text: syntax, known keys, the form of every value and the rules between
    /// hosts (each names the line it is about). `path` only names the source in error
    /// messages; relative paths in the text are left as they are, and the other rules across
    /// keys are checked by [`Config::validate`] once overrides are applied.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |span: Option<Range<usize>>, message: &str| located(text, path, span, message);
        let mut root = DeTable::parse(text).map_err(|e| at(e.span(), e.message()))?;
        let top_host_keys: Vec<(String, Range<usize>)> = root
            .get_ref()
            .iter()
            .filter(|(key, _)| HOST_KEYS.contains(&key.get_ref().as_ref()))
            .map(|(key, _)| (key.get_ref().to_string(), key.span()))
            .collect();
        let host_tables = root.get_ref().contains_key("host");
        if let Some(host) = root.get_ref().get("host")
            && host.get_ref().is_table()
        {
            return Err(at(
                Some(host.span()),
                "a host is written `[[host]]` (two brackets: one table per host)",
            ));
        }
        if host_tables {
            // The first written (the table itself keeps keys in alphabetical order).
            if let Some((key, span)) = top_host_keys.iter().min_by_key(|(_, span)| span.start) {
                return Err(at(
                    Some(span.clone()),
                    &format!(
                        "`{key}` describes a host: with [[host]] tables it belongs inside one \
                         of them (the single-host form keeps every host key at the top level \
                         and has no [[host]] table)"
                    ),
                ));
            }
        } else if !top_host_keys.is_empty() {
            // The single-host form: its top-level keys make the one host.
            let mut host = DeTable::new();
            for key in HOST_KEYS {
                if let Some((key, value)) = root.get_mut().remove_entry(*key) {
                    host.insert(key, value);
                }
            }
            let mut hosts = DeArray::new();
            hosts.push(Spanned::new(0..0, DeValue::Table(host)));
            root.get_mut().insert(
                Spanned::new(0..0, "host".into()),
                Spanned::new(0..0, DeValue::Array(hosts)),
            );
        }
        let spots = if host_tables {
            Spots::of(root.get_ref(), text)
        } else {
            Vec::new()
        };
        let host_span = root.get_ref().get("host").map(Spanned::span);
        // Where each `[tls."name"]` is written, for a name no host has.
        let tls_spans: Vec<(String, Range<usize>)> = root
            .get_ref()
            .get("tls")
            .and_then(|t| t.get_ref().as_table())
            .map(|t| {
                t.iter()
                    .map(|(k, _)| (k.get_ref().to_string(), k.span()))
                    .collect()
            })
            .unwrap_or_default();
        let mut config = Config::deserialize(toml::de::Deserializer::from(root))
            .map_err(|e| at(e.span(), e.message()))?;
        config.host_tables = host_tables;
        if host_tables {
            if config.hosts.is_empty() {
                return Err(at(
                    host_span,
                    "`host` holds no host: write one [[host]] table per capsule",
                ));
            }
            config
                .check_hosts(&spots, &tls_spans)
                .map_err(|(span, message)| at(Some(span), &message))?;
        }
        Ok(config)
    }

    /// The rules between `[[host]]` tables, each reported at the entry that breaks it.
    fn check_hosts(
        &self,
        spots: &[Spots],
        tls_spans: &[(String, Range<usize>)],
    ) -> Result<(), (Range<usize>, String)> {
        let mut claimed: BTreeMap<&Hostname, usize> = BTreeMap::new();
        let mut gopher: BTreeMap<SocketAddr, usize> = BTreeMap::new();
        let mut default: Option<usize> = None;
        let line_of = |i: usize| spots[i].line;
        let default_host = self.hosts.iter().position(|h| h.default).unwrap_or(0);
        for (i, (host, spot)) in self.hosts.iter().zip(spots).enumerate() {
            // `hostnames` has a default, for the single-host form only.
            if host.hostnames.is_empty() || !spot.named {
                return Err((
                    spot.table.clone(),
                    "this [[host]] names no host: give it `hostnames = [\"example.org\"]`".into(),
                ));
            }
            for (j, name) in host.hostnames.iter().enumerate() {
                let span = spot.names.get(j).cloned().unwrap_or(spot.table.clone());
                // Without SNI the connection is the default host's: an address of another
                // host could never be served.
                if name.as_ip().is_some() && i != default_host {
                    return Err((
                        span,
                        format!(
                            "`{name}` is an IP address: a client that connects by address sends \
                             no name, so it gets the default host; list addresses in the default \
                             host's `hostnames` only"
                        ),
                    ));
                }
                match claimed.insert(name, i) {
                    Some(other) if other == i => {
                        return Err((span, format!("`{name}` is listed twice in `hostnames`")));
                    }
                    Some(other) => {
                        return Err((
                            span,
                            format!(
                                "`{name}` is served by two hosts (also by the [[host]] at line \
                                 {}): a name belongs to one host",
                                line_of(other)
                            ),
                        ));
                    }
                    None => {}
                }
            }
            if host.default {
                if let Some(other) = default {
                    return Err((
                        spot.default.clone().unwrap_or(spot.table.clone()),
                        format!(
                            "two hosts are marked `default = true` (also the [[host]] at line \
                             {}): keep one",
                            line_of(other)
                        ),
                    ));
                }
                default = Some(i);
            }
            let addrs = host.gopher.listen.iter().chain(&host.gopher.proxy_listen);
            for (j, addr) in addrs.enumerate() {
                if let Some(other) = gopher.insert(addr.get(), i) {
                    let span = spot.gopher.get(j).cloned().unwrap_or(spot.table.clone());
                    let whose = if other == i {
                        "this host lists it twice".to_owned()
                    } else {
                        format!("the [[host]] at line {} listens there too", line_of(other))
                    };
                    return Err((
                        span,
                        format!("Gopher address {} belongs to one host: {whose}", addr.get()),
                    ));
                }
            }
        }
        for (written, span) in tls_spans {
            let named = written.parse::<Hostname>().ok();
            if named.is_none_or(|n| !claimed.contains_key(&n)) {
                return Err((
                    span.clone(),
                    format!("[tls.\"{written}\"] names a host that no [[host]] table lists"),
                ));
            }
        }
        Ok(())
    }

    /// Reads `path` if given (it must exist), else `config.toml` in the working directory if it
    /// exists, else the embedded defaults; then applies `overrides`.
    ///
    /// Relative paths inside a config file are taken relative to that file's folder, so a
    /// server started from anywhere finds the same capsule. Paths given on the command line
    /// stay relative to the working directory, as a shell user expects.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let chosen = match path {
            Some(p) => Some(p),
            None if default_file.is_file() => Some(default_file),
            None => None,
        };
        let named = chosen.unwrap_or(Path::new("(defaults)"));
        let mut config = match chosen {
            Some(file) => {
                let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                    path: file.to_owned(),
                    source,
                })?;
                let mut config = Config::parse(&text, file)?;
                let base = file.parent().unwrap_or(Path::new(""));
                config.rebase(base);
                config
            }
            None => Config::default(),
        };
        if config.host_tables
            && let Some(flag) = overrides.single_host_flag()
        {
            return Err(ConfigError::Inconsistent {
                path: named.to_owned(),
                message: format!(
                    "{flag} sets the one host of the single-host form, but this file has \
                     [[host]] tables: set it in the [[host]] table instead (check, build and \
                     cert take --host NAME to pick one host)"
                ),
            });
        }
        config.apply(overrides);
        config.validate(named)?;
        config.source = chosen.map(Path::to_owned);
        Ok(config)
    }

    /// Replaces file values by the command-line values that were given (those of the one host
    /// apply to the single-host form only; see [`Overrides::single_host_flag`]).
    pub fn apply(&mut self, overrides: Overrides) {
        if let Some(host) = self.hosts.first_mut() {
            if let Some(capsule) = overrides.capsule {
                host.capsule = capsule;
            }
            if !overrides.hostnames.is_empty() {
                host.hostnames = overrides.hostnames;
            }
            if !overrides.gopher_listen.is_empty() {
                host.gopher.listen = overrides.gopher_listen;
            }
            if !overrides.gopher_proxy_listen.is_empty() {
                host.gopher.proxy_listen = overrides.gopher_proxy_listen;
            }
        }
        if !overrides.proxy_listen.is_empty() {
            self.proxy_listen = overrides.proxy_listen;
        }
        if let Some(certs) = overrides.certs {
            self.certs = certs;
        }
        if !overrides.listen.is_empty() {
            self.listen = overrides.listen;
        }
        self.log.ip |= overrides.log_ip;
        self.drafts |= overrides.drafts;
    }

    /// The host for clients that send no SNI or a name no host has: the one marked `default`,
    /// else the first.
    pub fn default_host(&self) -> &HostConfig {
        self.hosts
            .iter()
            .find(|h| h.default)
            .unwrap_or(&self.hosts[0])
    }

    /// The host that has `name` among its hostnames.
    pub fn host_named(&self, name: &Hostname) -> Option<&HostConfig> {
        self.hosts.iter().find(|h| h.hostnames.contains(name))
    }

    fn rebase(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        for host in &mut self.hosts {
            join(&mut host.capsule);
        }
        join(&mut self.certs);
        if let Some(keys) = &mut self.ticket_keys {
            join(keys);
        }
        for paths in self.tls.values_mut() {
            join(&mut paths.cert);
            join(&mut paths.key);
        }
    }

    /// Rules that involve more than one value; `path` names the source in messages.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let fail = |message: String| {
            Err(ConfigError::Inconsistent {
                path: path.to_owned(),
                message,
            })
        };
        if self.hosts.is_empty() {
            return fail("`host` holds no host: write one [[host]] table per capsule".into());
        }
        if self.listen.is_empty() {
            return fail("`listen` must name at least one address, e.g. [\"0.0.0.0:1965\"]".into());
        }
        if let Some(addr) = self
            .proxy_listen
            .iter()
            .find(|a| a.get().port() != 0 && self.listen.contains(a))
        {
            return fail(format!(
                "{} is in both `listen` and `proxy_listen`: a listener either expects a PROXY \
                 header on every connection or on none; give each its own port",
                addr.get()
            ));
        }
        for host in &self.hosts {
            // With several hosts, a message says which one it is about.
            let about = match (self.host_tables, host.hostnames.first()) {
                (true, Some(name)) => format!("[[host]] `{name}`: "),
                _ => String::new(),
            };
            if let Err(message) = host.validate() {
                return fail(format!("{about}{message}"));
            }
            // (Port 0 binds a port of its own each time.)
            let gemini: Vec<&ListenAddr> = self.listen.iter().chain(&self.proxy_listen).collect();
            if let Some(addr) = host
                .gopher
                .listen
                .iter()
                .chain(&host.gopher.proxy_listen)
                .find(|a| a.get().port() != 0 && gemini.contains(a))
            {
                return fail(format!(
                    "{about}{} is both a Gopher and a Gemini (`listen`) address: give each its \
                     own port",
                    addr.get()
                ));
            }
        }
        // The names may come from the command line here; with [[host]] tables `parse` has
        // already said this with the line.
        for name in self.tls.keys() {
            if self.host_named(name).is_none() {
                let served: Vec<&str> = self
                    .hosts
                    .iter()
                    .flat_map(|h| &h.hostnames)
                    .map(Hostname::as_str)
                    .collect();
                return fail(format!(
                    "[tls.\"{name}\"] names a host that no host serves ({})",
                    served.join(", ")
                ));
            }
        }
        Ok(())
    }
}

impl HostConfig {
    /// The name feeds, menus and logs use: the first of `hostnames`.
    pub fn canonical(&self) -> &Hostname {
        &self.hostnames[0]
    }

    /// The host Gopher menus name: `gopher.public_host`, else the canonical name.
    pub fn gopher_host(&self) -> &Hostname {
        self.gopher.public_host.as_ref().unwrap_or(self.canonical())
    }

    /// The rules within one host.
    fn validate(&self) -> Result<(), String> {
        if self.hostnames.is_empty() {
            return Err("`hostnames` must name at least one host, e.g. [\"localhost\"]".into());
        }
        for (i, host) in self.hostnames.iter().enumerate() {
            if self.hostnames[..i].contains(host) {
                return Err(format!("hostname `{host}` is listed twice in `hostnames`"));
            }
        }
        // Series are known by their name up to case and Unicode form, and by their aliases:
        // two tables that name one series would be merged or ignored without a word.
        let known = |name: &str| -> String {
            use unicode_normalization::UnicodeNormalization;
            name.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .nfc()
                .flat_map(char::to_lowercase)
                .collect()
        };
        let mut names: BTreeMap<String, &str> = BTreeMap::new();
        for (name, series) in &self.series {
            if known(name).is_empty() {
                return Err("[series.\"\"] names no series: give the series' name".into());
            }
            let aliases = series.aliases.iter().filter(|a| !known(a).is_empty());
            for called in std::iter::once(name).chain(aliases) {
                if let Some(other) = names.insert(known(called), name)
                    && other != name
                {
                    return Err(format!(
                        "[series.\"{other}\"] and [series.\"{name}\"] both name the series \
                         “{called}” (as a name or an alias, whatever the case): keep one"
                    ));
                }
            }
        }
        for (name, series) in &self.series {
            if let Some(slug) = &series.slug
                && (slug.is_empty()
                    || slug.starts_with('.')
                    || !slug
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
            {
                return Err(format!(
                    "[series.\"{name}\"] slug `{slug}` may only hold letters, digits, `-`, `_` \
                     and `.` and must not start with `.`"
                ));
            }
        }
        access::validate_areas(&self.areas)?;
        self.titan.validate()
    }
}

impl Overrides {
    /// The first flag given that changes the one host of the single-host form.
    fn single_host_flag(&self) -> Option<&'static str> {
        if self.capsule.is_some() {
            Some("--capsule")
        } else if !self.hostnames.is_empty() {
            Some("--hostname")
        } else if !self.gopher_listen.is_empty() {
            Some("--gopher-listen")
        } else if !self.gopher_proxy_listen.is_empty() {
            Some("--gopher-proxy-listen")
        } else {
            None
        }
    }
}

/// Where the entries of one `[[host]]` table are written, for messages about rules between
/// hosts.
struct Spots {
    /// Line of the table's first entry.
    line: usize,
    table: Range<usize>,
    /// Whether the table has a `hostnames` key.
    named: bool,
    names: Vec<Range<usize>>,
    default: Option<Range<usize>>,
    gopher: Vec<Range<usize>>,
}

impl Spots {
    /// The spots of each `[[host]]` table, in order.
    fn of(root: &DeTable<'_>, text: &str) -> Vec<Spots> {
        let Some(hosts) = root.get("host").and_then(|h| h.get_ref().as_array()) else {
            return Vec::new();
        };
        let items = |value: Option<&Spanned<DeValue<'_>>>| -> Vec<Range<usize>> {
            value
                .and_then(|v| v.get_ref().as_array())
                .map(|a| a.iter().map(Spanned::span).collect())
                .unwrap_or_default()
        };
        hosts
            .iter()
            .map(|host| {
                let table = host.get_ref().as_table();
                let key = |name: &str| table.and_then(|t| t.get(name));
                Spots {
                    line: line_and_column(text, host.span().start).0,
                    table: host.span(),
                    named: key("hostnames").is_some(),
                    names: items(key("hostnames")),
                    default: key("default")
                        .filter(|v| v.get_ref().as_bool() == Some(true))
                        .map(Spanned::span),
                    gopher: ["listen", "proxy_listen"]
                        .into_iter()
                        .flat_map(|list| {
                            items(
                                key("gopher")
                                    .and_then(|g| g.get_ref().as_table())
                                    .and_then(|g| g.get(list)),
                            )
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// An error at a place in the config text (`None`: its start).
fn located(text: &str, path: &Path, span: Option<Range<usize>>, message: &str) -> ConfigError {
    let (line, column) = span
        .map(|span| line_and_column(text, span.start))
        .unwrap_or((1, 1));
    let source_line = text.lines().nth(line - 1).unwrap_or("").trim();
    let mut message = message.trim_end().to_owned();
    if !source_line.is_empty() {
        message = format!("{message}\n    {line} | {source_line}");
    }
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A hostname in canonical form: lower-case ASCII (IDNs as punycode), no trailing dot, or an
/// IP address literal. It doubles as a folder name under `certs/`, so the form is strict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Hostname(String);

impl Hostname {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, when this is an IP literal rather than a DNS name.
    pub fn as_ip(&self) -> Option<std::net::IpAddr> {
        self.0.parse().ok()
    }

    /// An address's name; an IPv4-mapped IPv6 address is its IPv4 address (one address,
    /// one name).
    pub fn from_ip(ip: std::net::IpAddr) -> Self {
        Hostname(ip.to_canonical().to_string())
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Hostname {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.parse()
    }
}

impl std::str::FromStr for Hostname {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let expected = "expected a DNS name such as `example.org` or an IP address";
        let trimmed = raw.strip_suffix('.').unwrap_or(raw);
        let literal = trimmed
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(trimmed);
        if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
            return Ok(Hostname::from_ip(ip));
        }
        match url::Host::parse(trimmed) {
            Ok(url::Host::Domain(name)) => {
                let labels_ok = name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
                if labels_ok && name.len() <= 253 {
                    Ok(Hostname(name))
                } else {
                    Err(format!("invalid hostname `{raw}`: {expected}"))
                }
            }
            Ok(url::Host::Ipv4(ip)) => Ok(Hostname::from_ip(ip.into())),
            Ok(url::Host::Ipv6(ip)) => Ok(Hostname::from_ip(ip.into())),
            Err(e) => Err(format!("invalid hostname `{raw}` ({e}): {expected}")),
        }
    }
}

/// A whole number of seconds, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Seconds(u64);

impl Seconds {
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl TryFrom<i64> for Seconds {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        in_range(n, 86_400, "duration", "a whole number of seconds").map(Seconds)
    }
}

/// An address and port to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ListenAddr(SocketAddr);

impl ListenAddr {
    pub fn get(self) -> SocketAddr {
        self.0
    }
}

impl TryFrom<String> for ListenAddr {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.parse()
    }
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        raw.parse().map(ListenAddr).map_err(|_| {
            format!(
                "invalid listen address `{raw}`: expected an IP address and port such as \
                 `0.0.0.0:1965` or `[::]:1965`"
            )
        })
    }
}

/// A block of addresses such as `127.0.0.0/8` or `::1/128`; a bare address is that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the block (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.parse()
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid address block `{raw}`: expected an address with a prefix length, such \
                 as `10.0.0.0/8` or `fd00::/8`, or one address"
            )
        };
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let most = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(bad)?,
            Some(_) => return Err(bad()),
            None => most,
        };
        Ok(Cidr { addr, prefix })
    }
}

/// A size in bytes, from 1 byte to 1 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct FileSize(u64);

impl FileSize {
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl TryFrom<i64> for FileSize {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        in_range(n, 0x4000_0000, "size", "a number of bytes").map(FileSize)
    }
}

/// A positive count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Count(usize);

impl Count {
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<i64> for Count {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        in_range(n, 1_000_000, "count", "a whole number").map(|n| Count(n as usize))
    }
}

/// `n` if it lies in `1..=max`, else the message a config error shows.
fn in_range(n: i64, max: u64, what: &str, form: &str) -> Result<u64, String> {
    match u64::try_from(n) {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "invalid {what} {n}: expected {form} from 1 to {max}"
        )),
    }
}

/// One BCP 47 language tag, or several separated by commas (`en`, `en-GB`, `en,fr`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Lang(String);

impl Lang {
    /// The `lang` parameter of a `text/gemini` MIME type, quoted when it lists several tags;
    /// `None` when no language is configured.
    pub fn mime_parameter(&self) -> Option<String> {
        if self.0.is_empty() {
            None
        } else if self.0.contains(',') {
            Some(format!("lang=\"{}\"", self.0))
        } else {
            Some(format!("lang={}", self.0))
        }
    }
}

impl TryFrom<String> for Lang {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        let tag_ok = |tag: &str| {
            !tag.is_empty()
                && tag.split('-').all(|sub| {
                    (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
                })
        };
        if raw.is_empty() || raw.split(',').all(tag_ok) {
            Ok(Lang(raw))
        } else {
            Err(format!(
                "invalid language `{raw}`: expected BCP 47 tags such as `en`, `pt-BR` or `en,fr`"
            ))
        }
    }
}

/// The time zone of dates written without an offset: an IANA name (`Pacific/Auckland`) or a
/// fixed offset (`+14:00`, `-0500`, `UTC`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct Timezone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl Timezone {
    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Timezone {
            name: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }
}

impl TryFrom<String> for Timezone {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let trimmed = name.trim();
        let fixed = trimmed
            .strip_prefix("UTC")
            .or_else(|| trimmed.strip_prefix("GMT"))
            .unwrap_or(trimmed);
        let zone = if fixed.is_empty() || fixed == "Z" {
            Some(jiff::tz::TimeZone::UTC)
        } else if let Some(seconds) = offset_seconds(fixed) {
            jiff::tz::Offset::from_seconds(seconds)
                .ok()
                .map(jiff::tz::TimeZone::fixed)
        } else {
            jiff::tz::TimeZone::get(trimmed).ok()
        };
        match zone {
            Some(zone) => Ok(Timezone {
                name: trimmed.to_owned(),
                zone,
            }),
            None => Err(format!(
                "unknown time zone `{name}`: expected an IANA name such as `Europe/Berlin` or \
                 an offset such as `+14:00`"
            )),
        }
    }
}

/// A line of text shown to readers (a title, a name): not blank, and without line breaks or
/// other control characters, which a feed reader would show as they are or drop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OneLine(String);

impl OneLine {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OneLine {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        if raw.trim().is_empty() {
            Err("empty text: expected a line of text, or leave the key out for the default".into())
        } else if raw.chars().any(|c| {
            // Line and paragraph separators break a line too; noncharacters are not text
            // (feeds drop them, which could leave nothing).
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FDD0}'..='\u{FDEF}')
                || (c as u32) & 0xFFFE == 0xFFFE
        }) {
            Err(format!(
                "invalid text {raw:?}: expected one line, without line breaks or control characters"
            ))
        } else {
            Ok(OneLine(raw.trim().to_owned()))
        }
    }
}

/// `+14:00`, `-0500`, `+2` → seconds east of UTC.
fn offset_seconds(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (h, m): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (h <= 18 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// A `RUST_LOG`-style filter such as `info` or `gemhole=debug,warn`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LogFilter(String);

impl LogFilter {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LogFilter {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        tracing_subscriber::EnvFilter::try_new(&raw)
            .map(|_| LogFilter(raw.clone()))
            .map_err(|e| {
                format!("invalid log filter `{raw}` ({e}): expected e.g. `info` or `gemhole=debug`")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let path = Path::new("config.toml");
        let config = Config::parse(text, path)?;
        config.validate(path)?;
        Ok(config)
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.hosts.len(), 1);
        assert_eq!(
            config.hosts[0].hostnames,
            vec![Hostname("localhost".into())]
        );
        assert_eq!(config.listen, default_listen());
        assert_eq!(config.limits.request_timeout, Seconds(10));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("capsule = \"c\"\nhostname = [\"x\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:2:1:"), "{text}");
        assert!(text.contains("hostname"), "{text}");
    }

    #[test]
    fn unknown_key_in_a_table_is_named() {
        let err = parse("[limits]\nmax_conections = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:2:"), "{text}");
        assert!(text.contains("max_conections"), "{text}");
    }

    #[test]
    fn invalid_value_names_line_and_expected_form() {
        let err = parse("\n[limits]\nrequest_timeout = 0\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:3:"), "{text}");
        assert!(
            text.contains("expected a whole number of seconds"),
            "{text}"
        );

        let err = parse("listen = [\"1965\"]\n").unwrap_err().to_string();
        assert!(err.starts_with("config.toml:1:"), "{err}");

        let err = parse("hostnames = [\"a/b\"]\n").unwrap_err().to_string();
        assert!(err.contains("expected a DNS name"), "{err}");

        let err = parse("lang = \"en fr\"\n").unwrap_err().to_string();
        assert!(err.contains("BCP 47"), "{err}");
    }

    #[test]
    fn hostnames_are_canonical() {
        let h: Hostname = "Example.ORG.".parse().unwrap();
        assert_eq!(h.as_str(), "example.org");
        let h: Hostname = "bücher.example".parse().unwrap();
        assert_eq!(h.as_str(), "xn--bcher-kva.example");
        let h: Hostname = "[::1]".parse().unwrap();
        assert_eq!(h.as_str(), "::1");
        assert!(h.as_ip().is_some());
        for bad in ["", "..", "a..b", "a/b", "a\\b", "a b", "a:b"] {
            assert!(bad.parse::<Hostname>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn tls_entries_must_name_served_hosts() {
        let err = parse("[tls.\"other.example\"]\ncert = \"c.pem\"\nkey = \"k.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("other.example"), "{err}");
    }

    #[test]
    fn lang_parameter_is_quoted_for_lists() {
        let one = Lang::try_from("en".to_string()).unwrap();
        assert_eq!(one.mime_parameter().as_deref(), Some("lang=en"));
        let two = Lang::try_from("en,fr".to_string()).unwrap();
        assert_eq!(two.mime_parameter().as_deref(), Some("lang=\"en,fr\""));
        assert_eq!(Lang::default().mime_parameter(), None);
    }

    #[test]
    fn overrides_replace_file_values() {
        let mut config = parse("hostnames = [\"a.example\"]\n").unwrap();
        config.apply(Overrides {
            hostnames: vec!["b.example".parse().unwrap()],
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            ..Overrides::default()
        });
        assert_eq!(config.default_host().canonical().as_str(), "b.example");
        assert_eq!(config.listen, vec!["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(config.listen[0].get().port(), 0);
    }

    #[test]
    fn series_tables_name_one_series_each() {
        let ok = parse(
            "[series.\"Sail\"]\naliases = [\"Old Sail\"]\n[series.\"Knots\"]\ndescription = \"x\"\n",
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
        for (text, what) in [
            (
                "[series.\"Sail\"]\n[series.\"sail\"]\n",
                "both name the series",
            ),
            (
                "[series.\"A\"]\naliases = [\"Old\"]\n[series.\"B\"]\naliases = [\"old\"]\n",
                "both name the series “old”",
            ),
            (
                "[series.\"A\"]\naliases = [\"b\"]\n[series.\"B\"]\n",
                "both name the series",
            ),
            ("[series.\" \"]\ndescription = \"x\"\n", "names no series"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn title_and_author_are_single_lines() {
        let config = parse("title = \" My Gemlog \"\nauthor = \"Ann Example\"\n").unwrap();
        let host = &config.hosts[0];
        assert_eq!(host.title.as_ref().map(OneLine::as_str), Some("My Gemlog"));
        assert_eq!(
            host.author.as_ref().map(OneLine::as_str),
            Some("Ann Example")
        );
        let defaults = parse("").unwrap();
        assert!(defaults.hosts[0].title.is_none() && defaults.hosts[0].author.is_none());

        let err = parse("\ntitle = \"  \"\n").unwrap_err().to_string();
        assert!(err.starts_with("config.toml:2:"), "{err}");
        assert!(err.contains("empty text"), "{err}");
        let err = parse("author = \"a\\nb\"\n").unwrap_err().to_string();
        assert!(err.contains("expected one line"), "{err}");
        for odd in ["\\uFFFE", "a\\u2028b", "\\uFDD0"] {
            let err = parse(&format!("title = \"{odd}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("expected one line"), "{odd}: {err}");
        }
    }

    #[test]
    fn address_blocks_hold_their_addresses() {
        let block = |s: &str| s.parse::<Cidr>().unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(block("127.0.0.0/8").contains(ip("127.9.9.9")));
        assert!(!block("127.0.0.0/8").contains(ip("128.0.0.1")));
        assert!(block("127.0.0.0/8").contains(ip("::ffff:127.0.0.2")));
        assert!(block("::1/128").contains(ip("::1")));
        assert!(!block("::1/128").contains(ip("127.0.0.1")));
        assert!(block("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!block("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(block("0.0.0.0/0").contains(ip("203.0.113.5")));
        assert!(block("fd00::/8").contains(ip("fd12::1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "x/8",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let err = parse("proxy_trusted = [\"10.0.0.0/40\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("config.toml:1:") && err.contains("address block"),
            "{err}"
        );
        let err = parse("listen = [\"127.0.0.1:1965\"]\nproxy_listen = [\"127.0.0.1:1965\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("both `listen` and `proxy_listen`"), "{err}");
    }

    #[test]
    fn shipped_config_file_matches_the_defaults() {
        let text = include_str!("../config.toml");
        let shipped = parse(text).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{shipped:?}"), format!("{defaults:?}"));
    }

    const TWO_HOSTS: &str = "\
listen = [\"127.0.0.1:0\"]

[[host]]
hostnames = [\"a.example\", \"www.a.example\"]
capsule = \"a\"
title = \"A\"

[host.gopher]
listen = [\"127.0.0.1:7070\"]

[[host]]
hostnames = [\"b.example\"]
capsule = \"b\"
default = true
public_port = 1966

[host.series.\"Sail\"]
slug = \"sail\"
";

    #[test]
    fn areas_and_titan_belong_to_their_host() {
        let fp = "ab".repeat(32);
        let text = format!(
            "[[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n\
             [[host.area]]\npath = \"/members/\"\nfingerprints = [\"{fp}\"]\n\
             [host.titan]\nenabled = true\nfingerprints = [\"{fp}\"]\nmax_size = 2048\n\
             [[host]]\nhostnames = [\"b.example\"]\ncapsule = \"b\"\n"
        );
        let config = parse(&text).unwrap();
        let (a, b) = (&config.hosts[0], &config.hosts[1]);
        assert_eq!(a.areas.len(), 1);
        assert_eq!(a.areas[0].path.to_string(), "/members/");
        assert!(a.titan.enabled);
        assert_eq!(a.titan.max_size.bytes(), 2048);
        assert_eq!(a.titan.paths[0].to_string(), "/posts/");
        assert!(b.areas.is_empty() && !b.titan.enabled);
        // The single-host form: at the top, beside the other host keys.
        let single = parse(&format!(
            "hostnames = [\"a.example\"]\n[[area]]\npath = \"/m/\"\n[titan]\nenabled = true\n\
             fingerprints = [\"spki:{fp}\"]\npaths = [\"/posts/\", \"/notes/\"]\n"
        ))
        .unwrap();
        let host = &single.hosts[0];
        assert_eq!(host.areas[0].path.segments(), ["m"]);
        assert_eq!(host.titan.paths.len(), 2);
        // Titan on without authors is refused, per host too.
        let err = parse("[[host]]\nhostnames = [\"a.example\"]\n[host.titan]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lists no `fingerprints`"), "{err}");
    }

    #[test]
    fn host_tables_make_one_host_each() {
        let config = parse(TWO_HOSTS).unwrap();
        assert!(config.host_tables);
        assert_eq!(config.hosts.len(), 2);
        let (a, b) = (&config.hosts[0], &config.hosts[1]);
        assert_eq!(a.canonical().as_str(), "a.example");
        assert_eq!(a.hostnames.len(), 2);
        assert_eq!(a.capsule, PathBuf::from("a"));
        assert_eq!(a.title.as_ref().map(OneLine::as_str), Some("A"));
        assert_eq!(a.gopher.listen.len(), 1);
        assert_eq!(b.public_port, Some(1966));
        assert!(b.series.contains_key("Sail"));
        assert!(a.series.is_empty());
        assert_eq!(config.default_host().canonical().as_str(), "b.example");
        let first =
            parse("[[host]]\nhostnames = [\"x.example\"]\n[[host]]\nhostnames = [\"y.example\"]\n")
                .unwrap();
        assert_eq!(first.default_host().canonical().as_str(), "x.example");
        // The single-host form is one host, from the top-level keys.
        let single =
            parse("hostnames = [\"c.example\"]\ncapsule = \"c\"\n[gopher]\nwrap = 60\n").unwrap();
        assert!(!single.host_tables);
        assert_eq!(single.hosts.len(), 1);
        assert_eq!(single.hosts[0].gopher.wrap.get(), 60);
    }

    /// Every mistake between hosts is reported at the line that makes it.
    #[test]
    fn rules_between_hosts_name_their_line() {
        for (text, line, what) in [
            (
                "capsule = \"x\"\n[[host]]\nhostnames = [\"a.example\"]\n",
                1,
                "belongs inside one",
            ),
            (
                "[[host]]\nhostnames = [\"a.example\"]\n[[host]]\nhostnames = [\"b.example\", \"A.example.\"]\n",
                4,
                "served by two hosts (also by the [[host]] at line",
            ),
            (
                "[[host]]\nhostnames = [\"a.example\", \"a.example\"]\n",
                2,
                "listed twice",
            ),
            (
                "[[host]]\nhostnames = [\"a.example\"]\ndefault = true\n[[host]]\nhostnames = [\"b.example\"]\n\ndefault = true\n",
                7,
                "two hosts are marked `default = true`",
            ),
            (
                "[[host]]\nhostnames = [\"a.example\"]\ngopher.listen = [\"0.0.0.0:70\"]\n[[host]]\nhostnames = [\"b.example\"]\n[host.gopher]\nlisten = [\"0.0.0.0:70\"]\n",
                7,
                "Gopher address 0.0.0.0:70 belongs to one host",
            ),
            ("[[host]]\ncapsule = \"a\"\n", 1, "names no host"),
            (
                "[[host]]\nhostnames = [\"a.example\"]\n[[host]]\nhostnames = [\"b.example\",\n  \"192.0.2.1\"]\n",
                5,
                "`192.0.2.1` is an IP address",
            ),
            (
                "[[host]]\nhostnames = [\"a.example\"]\n\n[tls.\"c.example\"]\ncert = \"c\"\nkey = \"k\"\n",
                4,
                "no [[host]] table lists",
            ),
            (
                "publish_future = true\ncapsule = \"x\"\n[[host]]\nhostnames = [\"a.example\"]\n",
                1,
                "`publish_future` describes a host",
            ),
            ("\nhost = []\n", 2, "holds no host"),
            ("[host]\nhostnames = [\"a.example\"]\n", 1, "[[host]]"),
            (
                "[[host]]\nhostnames = [\"a.example\"]\nlisten = [\"127.0.0.1:1\"]\n",
                3,
                "listen",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("config.toml:{line}:")),
                "{text}: {err}"
            );
            assert!(err.contains(what), "{text}: {err}");
        }
    }

    #[test]
    fn host_settings_are_checked_per_host() {
        let err = parse(
            "[[host]]\nhostnames = [\"a.example\"]\n[[host]]\nhostnames = [\"b.example\"]\n[host.series.\"S\"]\n[host.series.\"s\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[[host]] `b.example`: ") && err.contains("both name"),
            "{err}"
        );
        // In the single-host form (names may come from the command line), without a line.
        let err = parse("[tls.\"c.example\"]\ncert = \"c\"\nkey = \"k\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no host serves (localhost)"), "{err}");
        let err = parse("[gopher]\nlisten = [\"0.0.0.0:1965\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("both a Gopher and a Gemini"), "{err}");
        // One address, one name: the IPv4-mapped form is the IPv4 address.
        let mapped: Hostname = "[::ffff:192.0.2.1]".parse().unwrap();
        assert_eq!(mapped.as_str(), "192.0.2.1");
    }

    /// The single-host form's keys and a `[[host]]` table's are the same (but `default`).
    #[test]
    fn host_keys_are_the_host_tables_keys() {
        let err = parse("[[host]]\nhostnames = [\"a.example\"]\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        let listed: Vec<&str> = err
            .split('`')
            .skip(3)
            .step_by(2)
            .filter(|k| *k != "default")
            .collect();
        assert_eq!(listed, HOST_KEYS, "{err}");
    }

    #[test]
    fn single_host_flags_are_refused_with_host_tables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, TWO_HOSTS).unwrap();
        for (overrides, flag) in [
            (
                Overrides {
                    capsule: Some("c".into()),
                    ..Overrides::default()
                },
                "--capsule",
            ),
            (
                Overrides {
                    hostnames: vec!["c.example".parse().unwrap()],
                    ..Overrides::default()
                },
                "--hostname",
            ),
        ] {
            let err = Config::load(Some(&file), overrides)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(flag) && err.contains("[[host]] tables"),
                "{err}"
            );
        }
        let config = Config::load(
            Some(&file),
            Overrides {
                listen: vec!["127.0.0.1:1".parse().unwrap()],
                ..Overrides::default()
            },
        )
        .unwrap();
        // Paths are the file's folder's.
        assert_eq!(config.hosts[1].capsule, dir.path().join("b"));
    }
}
