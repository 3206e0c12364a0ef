//! The rules that span several keys, which no single value's type can check: between
//! `[[host]]` tables (each reported at the line that breaks it), across the whole file
//! (listeners, `[tls]` names), and within one host (its names, its series).
//!
//! The rules between tables run on the parsed file, where lines are known; the others run once
//! the command line's values are in, so they hold whatever the values came from.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use super::ConfigError;
use super::access;
use super::daemon::Config;
use super::host::{HostConfig, SeriesConfig};
use super::paths;
use super::positions::{Positions, Spots};
use super::values::{Hostname, ListenAddr};

/// A rule broken at a place in the text: the span to point at and what to say.
pub(super) type Broken = (Range<usize>, String);

/// The rules between `[[host]]` tables, each reported at the entry that breaks it.
pub(super) fn check_host_tables(config: &Config, positions: &Positions) -> Result<(), Broken> {
    if config.hosts.is_empty() {
        return Err((
            positions.host_key.clone(),
            "`host` holds no host: write one [[host]] table per capsule".into(),
        ));
    }
    let mut claims = Claims {
        spots: &positions.hosts,
        default_host: config.hosts.iter().position(|h| h.default).unwrap_or(0),
        names: BTreeMap::new(),
        default: None,
        gopher: BTreeMap::new(),
    };
    for (i, (host, spot)) in config.hosts.iter().zip(&positions.hosts).enumerate() {
        claims.names(i, host, spot)?;
        claims.default_mark(i, host, spot)?;
        claims.gopher_addresses(i, host, spot)?;
    }
    claims.tls_names(&positions.tls)
}

/// What the `[[host]]` tables read so far have claimed, by the index of the table: a name
/// belongs to one host, one host is the default, a Gopher address is one host's.
struct Claims<'a> {
    spots: &'a [Spots],
    /// The host that clients without SNI get, marked or first: the only one an address may name.
    default_host: usize,
    names: BTreeMap<&'a Hostname, usize>,
    /// The host marked `default = true` so far.
    default: Option<usize>,
    gopher: BTreeMap<SocketAddr, usize>,
}

impl<'a> Claims<'a> {
    /// The line of a table, for a message about another one.
    fn line_of(&self, host: usize) -> usize {
        self.spots[host].line
    }

    /// The table names hosts, no name twice, and no name another table has; an IP address only
    /// in the default host.
    fn names(&mut self, i: usize, host: &'a HostConfig, spot: &Spots) -> Result<(), Broken> {
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
            if name.as_ip().is_some() && i != self.default_host {
                return Err((
                    span,
                    format!(
                        "`{name}` is an IP address: a client that connects by address sends \
                         no name, so it gets the default host; list addresses in the default \
                         host's `hostnames` only"
                    ),
                ));
            }
            match self.names.insert(name, i) {
                Some(other) if other == i => {
                    return Err((span, format!("`{name}` is listed twice in `hostnames`")));
                }
                Some(other) => {
                    return Err((
                        span,
                        format!(
                            "`{name}` is served by two hosts (also by the [[host]] at line \
                             {}): a name belongs to one host",
                            self.line_of(other)
                        ),
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// One table at most is marked `default = true`.
    fn default_mark(&mut self, i: usize, host: &HostConfig, spot: &Spots) -> Result<(), Broken> {
        if !host.default {
            return Ok(());
        }
        if let Some(other) = self.default {
            return Err((
                spot.default.clone().unwrap_or(spot.table.clone()),
                format!(
                    "two hosts are marked `default = true` (also the [[host]] at line {}): \
                     keep one",
                    self.line_of(other)
                ),
            ));
        }
        self.default = Some(i);
        Ok(())
    }

    /// A Gopher address (plain or for a balancer) is one host's, listed once.
    fn gopher_addresses(
        &mut self,
        i: usize,
        host: &HostConfig,
        spot: &Spots,
    ) -> Result<(), Broken> {
        let addrs = host.gopher.listen.iter().chain(&host.gopher.proxy_listen);
        for (j, addr) in addrs.enumerate() {
            if let Some(other) = self.gopher.insert(addr.get(), i) {
                let span = spot.gopher.get(j).cloned().unwrap_or(spot.table.clone());
                let whose = if other == i {
                    "this host lists it twice".to_owned()
                } else {
                    format!(
                        "the [[host]] at line {} listens there too",
                        self.line_of(other)
                    )
                };
                return Err((
                    span,
                    format!("Gopher address {} belongs to one host: {whose}", addr.get()),
                ));
            }
        }
        Ok(())
    }

    /// Each `[tls."name"]` names a host that a table lists (once every table is read).
    fn tls_names(&self, written: &[(String, Range<usize>)]) -> Result<(), Broken> {
        for (written, span) in written {
            let named = written.parse::<Hostname>().ok();
            if named.is_none_or(|n| !self.names.contains_key(&n)) {
                return Err((
                    span.clone(),
                    format!("[tls.\"{written}\"] names a host that no [[host]] table lists"),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Rules that involve more than one value; `path` names the source in messages.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        check_config(self).map_err(|message| ConfigError::Inconsistent {
            path: path.to_owned(),
            message,
        })
    }
}

/// The rules across the whole file, the hosts' own included.
fn check_config(config: &Config) -> Result<(), String> {
    if config.hosts.is_empty() {
        return Err("`host` holds no host: write one [[host]] table per capsule".into());
    }
    check_listeners(config)?;
    for host in &config.hosts {
        // With several hosts, a message says which one it is about.
        let about = match (config.host_tables, host.hostnames.first()) {
            (true, Some(name)) => format!("[[host]] `{name}`: "),
            _ => String::new(),
        };
        check_host(host)
            .and_then(|()| check_gopher_ports(config, host))
            .and_then(|()| check_https(host))
            .map_err(|message| format!("{about}{message}"))?;
    }
    check_http_addresses(config)?;
    check_tls_names(config)
}

/// An HTTPS listener has its certificate and key.
fn check_https(host: &HostConfig) -> Result<(), String> {
    let http = &host.http;
    if !http.https_listen.is_empty() && (http.cert.is_none() || http.key.is_none()) {
        return Err(
            "http.https_listen needs http.cert and http.key: the PEM certificate \
                    chain and private key browsers are shown (the Gemini certificate is \
                    self-signed, which browsers refuse)"
                .into(),
        );
    }
    Ok(())
}

/// An HTTP address is served one way (plain, behind a balancer, or HTTPS) by every host that
/// lists it (hosts may share one: the `Host` header picks), and is no Gemini or Gopher
/// address.
fn check_http_addresses(config: &Config) -> Result<(), String> {
    let taken: Vec<SocketAddr> = config
        .listen
        .iter()
        .chain(&config.proxy_listen)
        .chain(
            config
                .hosts
                .iter()
                .flat_map(|h| h.gopher.listen.iter().chain(&h.gopher.proxy_listen)),
        )
        .map(|a| a.get())
        .collect();
    let mut kinds: std::collections::BTreeMap<SocketAddr, super::host::HttpKind> =
        std::collections::BTreeMap::new();
    for host in &config.hosts {
        for (addr, kind) in host.http.addresses() {
            if addr.port() == 0 {
                continue;
            }
            if taken.contains(&addr) {
                return Err(format!(
                    "{addr} is both an HTTP ({}) and a Gemini or Gopher address: give each \
                     its own port",
                    kind.key()
                ));
            }
            if let Some(other) = kinds.insert(addr, kind)
                && other != kind
            {
                return Err(format!(
                    "{addr} is in both {} and {}: an address is served one way; give each \
                     its own port",
                    other.key(),
                    kind.key()
                ));
            }
        }
    }
    Ok(())
}

/// There is a Gemini listener, and each expects a PROXY header on every connection or on none.
fn check_listeners(config: &Config) -> Result<(), String> {
    if config.listen.is_empty() {
        return Err("`listen` must name at least one address, e.g. [\"0.0.0.0:1965\"]".into());
    }
    if let Some(addr) = config
        .proxy_listen
        .iter()
        .find(|a| a.get().port() != 0 && config.listen.contains(a))
    {
        return Err(format!(
            "{} is in both `listen` and `proxy_listen`: a listener either expects a PROXY \
             header on every connection or on none; give each its own port",
            addr.get()
        ));
    }
    Ok(())
}

/// A host's Gopher addresses are none of the Gemini ones (port 0 binds a port of its own each
/// time, so it never clashes).
fn check_gopher_ports(config: &Config, host: &HostConfig) -> Result<(), String> {
    let gemini: Vec<&ListenAddr> = config.listen.iter().chain(&config.proxy_listen).collect();
    if let Some(addr) = host
        .gopher
        .listen
        .iter()
        .chain(&host.gopher.proxy_listen)
        .find(|a| a.get().port() != 0 && gemini.contains(a))
    {
        return Err(format!(
            "{} is both a Gopher and a Gemini (`listen`) address: give each its own port",
            addr.get()
        ));
    }
    Ok(())
}

/// Each `[tls."name"]` names a host. The names may come from the command line here; with
/// [[host]] tables `parse` has already said this with the line.
fn check_tls_names(config: &Config) -> Result<(), String> {
    for name in config.tls.keys() {
        if config.host_named(name).is_none() {
            let served: Vec<&str> = config
                .hosts
                .iter()
                .flat_map(|h| &h.hostnames)
                .map(Hostname::as_str)
                .collect();
            return Err(format!(
                "[tls.\"{name}\"] names a host that no host serves ({})",
                served.join(", ")
            ));
        }
    }
    Ok(())
}

/// The rules within one host.
fn check_host(host: &HostConfig) -> Result<(), String> {
    check_hostnames(&host.hostnames)?;
    check_series_names(&host.series)?;
    check_series_slugs(&host.series)?;
    access::validate_areas(&host.areas)?;
    paths::validate_rules(&host.paths)?;
    host.titan.validate()
}

/// At least one name, none twice.
fn check_hostnames(hostnames: &[Hostname]) -> Result<(), String> {
    if hostnames.is_empty() {
        return Err("`hostnames` must name at least one host, e.g. [\"localhost\"]".into());
    }
    for (i, host) in hostnames.iter().enumerate() {
        if hostnames[..i].contains(host) {
            return Err(format!("hostname `{host}` is listed twice in `hostnames`"));
        }
    }
    Ok(())
}

/// Series are known by their name up to case and Unicode form, and by their aliases: two
/// tables that name one series would be merged or ignored without a word.
fn check_series_names(series: &BTreeMap<String, SeriesConfig>) -> Result<(), String> {
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
    for (name, table) in series {
        if known(name).is_empty() {
            return Err("[series.\"\"] names no series: give the series' name".into());
        }
        let aliases = table.aliases.iter().filter(|a| !known(a).is_empty());
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
    Ok(())
}

/// A slug is a file name of its own: letters, digits, `-`, `_` and `.`, not hidden.
fn check_series_slugs(series: &BTreeMap<String, SeriesConfig>) -> Result<(), String> {
    for (name, table) in series {
        if let Some(slug) = &table.slug
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_and_validate as parse;

    #[test]
    fn tls_entries_must_name_served_hosts() {
        let err = parse("[tls.\"other.example\"]\ncert = \"c.pem\"\nkey = \"k.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("other.example"), "{err}");
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
}
