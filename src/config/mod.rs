//! The operator's settings: the `config.toml` schema, its embedded defaults, validation and the
//! command-line overrides.
//!
//! Every value is checked while it is deserialised (through the small newtypes of `values`),
//! so a bad value is reported by the TOML parser itself, with the file, line and column it came
//! from. Nothing here touches the network or the capsule, and nothing here imports another
//! module of the crate: this is the ground floor. The result is a plain [`Config`] that the
//! other modules read, each turning the part it needs into its own terms.
//!
//! The files, each using only those listed before it:
//! - `values`: the value types (hostnames, addresses, durations, sizes, languages, zones …);
//! - `strings`: the words of generated pages per language, and `[strings]` overrides;
//! - `access`: who may read (`[[area]]`) and write (`[titan]`);
//! - `paths`: the rules an operator gives parts of the URL space (`[[path]]`);
//! - `host`: one capsule's settings ([`HostConfig`] and its tables);
//! - `daemon`: the whole file ([`Config`]: listeners, limits, logs, watching, the hosts);
//! - `positions`: spans of the text made into `file:line:column` messages;
//! - `rules`: the rules across keys, between hosts and within one;
//! - `load`: file → text → table → [`Config`], and the command line's [`Overrides`].

use std::path::PathBuf;

mod access;
mod daemon;
mod host;
mod load;
mod paths;
mod positions;
mod rules;
pub mod strings;
mod values;

pub use access::{AreaConfig, Fingerprint, PathPrefix, TitanConfig, Token};
pub use daemon::{
    CertPaths, CgiConfig, Config, Limits, LogConfig, LogFormat, WatchConfig, WatchMode,
};
pub use host::{
    GopherConfig, HomeConfig, HostConfig, HttpConfig, HttpKind, LinkPlacement, MarkdownConfig,
    SeriesConfig,
};
pub use load::Overrides;
pub use paths::{PathAction, PathMatch, PathRule};
pub use strings::Strings;
pub use values::{
    Cidr, Columns, Count, FileSize, Hostname, Lang, ListenAddr, LogFilter, OneLine, Seconds,
    Timezone,
};

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

/// Config text checked as a file's is (parsed, then validated), without a file: what the unit
/// tests of every part start from.
#[cfg(test)]
fn parse_and_validate(text: &str) -> Result<Config, ConfigError> {
    let path = std::path::Path::new("config.toml");
    let config = Config::parse(text, path)?;
    config.validate(path)?;
    Ok(config)
}
