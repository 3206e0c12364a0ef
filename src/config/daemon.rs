//! The settings of the whole daemon, as [`Config`] holds them: what every host shares (the
//! listeners, the certificates' folder, limits, logs, watching) and the hosts it serves, with
//! the defaults a missing key takes.
//!
//! One capsule's own settings are `host`'s; the rules across keys are `rules`'.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

use super::GEMINI_PORT;
use super::host::HostConfig;
use super::values::{Cidr, Count, FileSize, Hostname, ListenAddr, LogFilter, Seconds};

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
    /// Programs run for requests (`cgi = true` path rules): their limits, and what they may
    /// read and write beyond their own folder when the process is confined.
    pub cgi: CgiConfig,
    /// On Linux, confine the process (and the programs it runs) to its files after start:
    /// read the capsules, certificates, config and templates, write only where uploads,
    /// certificates and the history go (Landlock; a kernel without it runs as before).
    pub confine: bool,
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
            cgi: CgiConfig::default(),
            confine: true,
            hosts: vec![HostConfig::default()],
            host_tables: false,
            drafts: false,
            source: None,
        }
    }
}

impl Config {
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
    /// How lines are written; unset: `journald` when started by systemd with its journal on
    /// standard error (`JOURNAL_STREAM`), else `text`.
    pub format: Option<LogFormat>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: LogFilter("info".into()),
            ip: false,
            format: None,
        }
    }
}

/// The form of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// A timestamp, the level and the message: for a terminal or a file.
    Text,
    /// The syslog priority prefix (`<4>`) and the message, no timestamp: journald keeps its
    /// own and filters by priority (`journalctl -p warning`).
    Journald,
}

/// Programs run for requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CgiConfig {
    /// Seconds a program may run before it is ended and the client told `42`.
    pub timeout: Seconds,
    /// Most bytes a program's answer may have (header and body); past it, the program is
    /// ended and the answer cut short.
    pub max_output: FileSize,
    /// Programs running at once, every host together; over it, `44` (try again).
    pub max_running: Count,
    /// Folders and files programs may read (and run) when the process is confined, beside
    /// the capsule: the system's programs and libraries, the loader's cache, the local time
    /// zone, `/dev/zero` and `/dev/urandom` by default.
    pub read: Vec<PathBuf>,
    /// Folders and files programs may write when the process is confined (a guestbook's
    /// folder); `/dev/null` by default.
    pub write: Vec<PathBuf>,
}

impl Default for CgiConfig {
    fn default() -> Self {
        CgiConfig {
            timeout: Seconds(10),
            max_output: FileSize(4 * 1024 * 1024),
            max_running: Count(8),
            read: [
                "/usr",
                "/bin",
                "/lib",
                "/lib64",
                "/etc/ld.so.cache",
                "/etc/localtime",
                "/dev/zero",
                "/dev/urandom",
            ]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
            write: vec![PathBuf::from("/dev/null")],
        }
    }
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

/// Paths of an operator-supplied PEM certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Both stacks on the Gemini port: `0.0.0.0` and `[::]` (the latter bound IPv6-only).
fn default_listen() -> Vec<ListenAddr> {
    vec![
        ListenAddr(SocketAddr::from((Ipv4Addr::UNSPECIFIED, GEMINI_PORT))),
        ListenAddr(SocketAddr::from((Ipv6Addr::UNSPECIFIED, GEMINI_PORT))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_and_validate as parse;

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
    fn shipped_config_file_matches_the_defaults() {
        let text = include_str!("../../config.toml");
        let shipped = parse(text).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{shipped:?}"), format!("{defaults:?}"));
    }
}
