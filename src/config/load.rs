//! From a file (or none) to the [`Config`] the server runs with, in named steps:
//!
//! 1. **choose** the file: the one given, else `config.toml` here, else the built-in defaults;
//! 2. **parse** its text into a TOML table (syntax errors, located);
//! 3. **resolve** the two ways of writing hosts into one: `[[host]]` tables as written, or the
//!    single-host form's top-level keys gathered into one host;
//! 4. **deserialise** it, every value checked by its type (`values`), and check the rules
//!    between `[[host]]` tables while their lines are still known (`rules`, `positions`);
//! 5. **rebase** the file's relative paths on its folder;
//! 6. **apply** the command line's [`Overrides`];
//! 7. **validate** the rules across keys ([`Config::validate`]).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::daemon::Config;
use super::host::HOST_KEYS;
use super::positions::{Positions, located};
use super::rules::{self, Broken};
use super::values::{Hostname, ListenAddr};
use super::{ConfigError, DEFAULT_CONFIG_FILE};

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
    pub http_listen: Vec<ListenAddr>,
    pub log_ip: bool,
    pub drafts: bool,
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
        } else if !self.http_listen.is_empty() {
            Some("--http-listen")
        } else {
            None
        }
    }
}

impl Config {
    /// Reads `path` if given (it must exist), else `config.toml` in the working directory if it
    /// exists, else the embedded defaults; then applies `overrides`.
    ///
    /// Relative paths inside a config file are taken relative to that file's folder, so a
    /// server started from anywhere finds the same capsule. Paths given on the command line
    /// stay relative to the working directory, as a shell user expects.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let chosen = path.or_else(|| default_file.is_file().then_some(default_file));
        let named = chosen.unwrap_or(Path::new("(defaults)"));
        let mut config = match chosen {
            Some(file) => Config::read(file)?,
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

    /// One file's settings, its relative paths made its folder's.
    fn read(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
            path: file.to_owned(),
            source,
        })?;
        let mut config = Config::parse(&text, file)?;
        config.rebase(file.parent().unwrap_or(Path::new("")));
        Ok(config)
    }

    /// Parses config text: syntax, known keys, the form of every value and the rules between
    /// hosts (each names the line it is about). `path` only names the source in error
    /// messages; relative paths in the text are left as they are, and the other rules across
    /// keys are checked by [`Config::validate`] once overrides are applied.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |span: Option<Range<usize>>, message: &str| located(text, path, span, message);
        let broken = |(span, message): Broken| at(Some(span), &message);
        let mut root = DeTable::parse(text).map_err(|e| at(e.span(), e.message()))?;
        let host_tables = resolve_hosts(&mut root).map_err(broken)?;
        // Taken before the table is consumed: the rules between tables point at their lines.
        let positions = host_tables.then(|| Positions::of(root.get_ref(), text));
        let mut config = Config::deserialize(toml::de::Deserializer::from(root))
            .map_err(|e| at(e.span(), e.message()))?;
        config.host_tables = host_tables;
        if let Some(positions) = positions {
            rules::check_host_tables(&config, &positions).map_err(broken)?;
        }
        Ok(config)
    }

    /// Puts the command-line values in place of the file's. Addresses go by protocol: a flag
    /// that sets a Gemini address (`--listen`, `--proxy-listen`) replaces every Gemini address
    /// of the file, one that sets a Gopher address every Gopher address of the one host, and
    /// `--http-listen` every HTTP address of the one host (so
    /// `--listen 127.0.0.1:1965` never also opens the file's PROXY port). `--drafts` is a local
    /// preview: it opens no Gopher port the command line did not name, since Gopher has no
    /// certificates and the drafts would go to every reader of the file's public port. The
    /// one host's values apply to the single-host form only (see
    /// [`Overrides::single_host_flag`]).
    pub fn apply(&mut self, overrides: Overrides) {
        let gopher_named =
            !overrides.gopher_listen.is_empty() || !overrides.gopher_proxy_listen.is_empty();
        if overrides.drafts && !gopher_named {
            for host in &mut self.hosts {
                host.gopher.listen.clear();
                host.gopher.proxy_listen.clear();
            }
        }
        if let Some(host) = self.hosts.first_mut() {
            if let Some(capsule) = overrides.capsule {
                host.capsule = capsule;
            }
            if !overrides.hostnames.is_empty() {
                host.hostnames = overrides.hostnames;
            }
            if gopher_named {
                host.gopher.listen = overrides.gopher_listen;
                host.gopher.proxy_listen = overrides.gopher_proxy_listen;
            }
            if !overrides.http_listen.is_empty() {
                host.http.listen = overrides.http_listen;
                host.http.proxy_listen.clear();
                host.http.https_listen.clear();
            }
        }
        if !overrides.listen.is_empty() || !overrides.proxy_listen.is_empty() {
            self.listen = overrides.listen;
            self.proxy_listen = overrides.proxy_listen;
        }
        if let Some(certs) = overrides.certs {
            self.certs = certs;
        }
        self.log.ip |= overrides.log_ip;
        self.drafts |= overrides.drafts;
    }

    /// Takes the relative paths of a file's settings as relative to `base`, its folder.
    fn rebase(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        for host in &mut self.hosts {
            join(&mut host.capsule);
            if let Some(templates) = &mut host.templates {
                join(templates);
            }
            for file in [&mut host.http.cert, &mut host.http.key]
                .into_iter()
                .flatten()
            {
                join(file);
            }
        }
        join(&mut self.certs);
        if let Some(keys) = &mut self.ticket_keys {
            join(keys);
        }
        for paths in self.tls.values_mut() {
            join(&mut paths.cert);
            join(&mut paths.key);
        }
        self.cgi
            .read
            .iter_mut()
            .chain(&mut self.cgi.write)
            .for_each(join);
    }
}

/// The two ways of writing hosts made one: `[[host]]` tables stay as written, and the
/// single-host form's top-level host keys become one `[[host]]` table. Returns whether the file
/// has tables; refuses a `[host]` table, and host keys at the top level beside tables.
fn resolve_hosts(root: &mut Spanned<DeTable<'_>>) -> Result<bool, Broken> {
    let host_tables = root.get_ref().contains_key("host");
    if let Some(host) = root.get_ref().get("host")
        && host.get_ref().is_table()
    {
        return Err((
            host.span(),
            "a host is written `[[host]]` (two brackets: one table per host)".into(),
        ));
    }
    if host_tables {
        hand_down(root.get_mut());
    }
    let top_host_keys = root
        .get_ref()
        .iter()
        .filter(|(key, _)| HOST_KEYS.contains(&key.get_ref().as_ref()));
    if host_tables {
        // The first written (the table itself keeps keys in alphabetical order).
        if let Some((key, _)) = top_host_keys.min_by_key(|(key, _)| key.span().start) {
            return Err((
                key.span(),
                format!(
                    "`{}` describes a host: with [[host]] tables it belongs inside one of them \
                     (the single-host form keeps every host key at the top level and has no \
                     [[host]] table)",
                    key.get_ref()
                ),
            ));
        }
    } else if top_host_keys.count() > 0 {
        gather_single_host(root.get_mut());
    }
    Ok(host_tables)
}

/// Host keys the top level may set for every `[[host]]` table: `templates` (a host's own
/// replaces it), `strings` (a host's own ids replace the top level's, the rest stay) and
/// `path` (the top level's rules follow a host's own, but for a `match` the host has).
const HANDED_DOWN: [&str; 3] = ["templates", "strings", "path"];

/// Moves the top level's [`HANDED_DOWN`] keys into each `[[host]]` table.
fn hand_down(root: &mut DeTable<'_>) {
    for name in HANDED_DOWN {
        let Some((key, value)) = root.remove_entry(name) else {
            continue;
        };
        let Some(DeValue::Array(hosts)) = root.get_mut("host").map(Spanned::get_mut) else {
            continue;
        };
        for host in hosts.iter_mut() {
            let DeValue::Table(host) = host.get_mut() else {
                continue;
            };
            match (host.get_mut(name).map(Spanned::get_mut), value.get_ref()) {
                (None, _) => {
                    host.insert(key.clone(), value.clone());
                }
                (Some(DeValue::Table(own)), DeValue::Table(top)) => {
                    for (id, text) in top.iter() {
                        if !own.contains_key(id.get_ref().as_ref()) {
                            own.insert(id.clone(), text.clone());
                        }
                    }
                }
                (Some(DeValue::Array(own)), DeValue::Array(top)) => {
                    let matched = |rule: &Spanned<DeValue<'_>>| {
                        rule.get_ref()
                            .as_table()
                            .and_then(|t| t.get("match"))
                            .and_then(|m| m.get_ref().as_str().map(str::to_owned))
                    };
                    let taken: Vec<Option<String>> = own.iter().map(matched).collect();
                    for rule in top.iter() {
                        let m = matched(rule);
                        if m.is_none() || !taken.contains(&m) {
                            own.push(rule.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The single-host form: its top-level host keys moved into the one `[[host]]` table.
fn gather_single_host(root: &mut DeTable<'_>) {
    let mut host = DeTable::new();
    for key in HOST_KEYS {
        if let Some((key, value)) = root.remove_entry(*key) {
            host.insert(key, value);
        }
    }
    let mut hosts = DeArray::new();
    hosts.push(Spanned::new(0..0, DeValue::Table(host)));
    root.insert(
        Spanned::new(0..0, "host".into()),
        Spanned::new(0..0, DeValue::Array(hosts)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OneLine;
    use crate::config::parse_and_validate as parse;

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
    fn address_flags_replace_every_address_of_their_protocol() {
        let text = "listen = [\"127.0.0.1:1965\"]\nproxy_listen = [\"127.0.0.1:1966\"]\n\
                    [gopher]\nlisten = [\"127.0.0.1:70\"]\nproxy_listen = [\"127.0.0.1:71\"]\n";
        let addr = |s: &str| -> ListenAddr { s.parse().unwrap() };
        let mut config = parse(text).unwrap();
        config.apply(Overrides {
            listen: vec![addr("127.0.0.1:2000")],
            ..Overrides::default()
        });
        assert_eq!(config.listen, vec![addr("127.0.0.1:2000")]);
        assert!(config.proxy_listen.is_empty(), "{:?}", config.proxy_listen);
        assert_eq!(config.hosts[0].gopher.listen, vec![addr("127.0.0.1:70")]);

        let mut config = parse(text).unwrap();
        config.apply(Overrides {
            gopher_proxy_listen: vec![addr("127.0.0.1:2001")],
            ..Overrides::default()
        });
        assert!(config.hosts[0].gopher.listen.is_empty());
        assert_eq!(
            config.hosts[0].gopher.proxy_listen,
            vec![addr("127.0.0.1:2001")]
        );
        assert_eq!(config.proxy_listen, vec![addr("127.0.0.1:1966")]);
    }

    #[test]
    fn an_http_address_flag_replaces_every_http_address_of_the_file() {
        let addr = |s: &str| -> ListenAddr { s.parse().unwrap() };
        let text = "[http]\nlisten = [\"127.0.0.1:8080\"]\nproxy_listen = [\"127.0.0.1:8081\"]\n\
                    https_listen = [\"127.0.0.1:8443\"]\ncert = \"c.pem\"\nkey = \"k.pem\"\n";
        let mut config = parse(text).unwrap();
        config.apply(Overrides {
            http_listen: vec![addr("127.0.0.1:9000")],
            ..Overrides::default()
        });
        let http = &config.hosts[0].http;
        assert_eq!(http.listen, vec![addr("127.0.0.1:9000")]);
        assert!(http.proxy_listen.is_empty() && http.https_listen.is_empty());
        // The Gemini and Gopher addresses stay.
        assert_eq!(config.listen, parse(text).unwrap().listen);
    }

    #[test]
    fn a_drafts_preview_opens_no_gopher_port_the_command_line_did_not_name() {
        let text = "[gopher]\nlisten = [\"127.0.0.1:70\"]\n";
        let mut config = parse(text).unwrap();
        config.apply(Overrides {
            drafts: true,
            ..Overrides::default()
        });
        assert!(config.hosts[0].gopher.listen.is_empty());
        let mut config = parse(text).unwrap();
        let named: ListenAddr = "127.0.0.1:7070".parse().unwrap();
        config.apply(Overrides {
            drafts: true,
            gopher_listen: vec![named],
            ..Overrides::default()
        });
        assert_eq!(config.hosts[0].gopher.listen, vec![named]);
    }

    #[test]
    fn templates_and_strings_at_the_top_are_every_host_s_unless_it_has_its_own() {
        let text = "\
templates = \"layout\"

[strings]
recent_posts = \"New\"
all_posts = \"Everything\"

[[host]]
hostnames = [\"a.example\"]
capsule = \"a\"

[[host]]
hostnames = [\"b.example\"]
capsule = \"b\"
templates = \"own\"

[host.strings]
recent_posts = \"Fresh\"
";
        let path = Path::new("/etc/gemhole/config.toml");
        let mut config = Config::parse(text, path).unwrap();
        config.rebase(Path::new("/etc/gemhole"));
        let (a, b) = (&config.hosts[0], &config.hosts[1]);
        assert_eq!(
            a.templates.as_deref(),
            Some(Path::new("/etc/gemhole/layout"))
        );
        assert_eq!(b.templates.as_deref(), Some(Path::new("/etc/gemhole/own")));
        let (a, b) = (a.strings(), b.strings());
        assert_eq!(a.text("recent_posts"), "New");
        assert_eq!(b.text("recent_posts"), "Fresh");
        assert_eq!(b.text("all_posts"), "Everything");
        assert_eq!(b.text("archive"), "Archive");
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
