//! The config's value types: each checks its form while it is deserialised, so a bad value is
//! reported by the TOML parser with the line and column it came from, and the rest of the crate
//! only ever holds values of the right form (a canonical hostname, a duration of at least a
//! second, a size within bounds, a known time zone …).
//!
//! The fields are visible to the other files of `config` only, which write the defaults.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// A hostname in canonical form: lower-case ASCII (IDNs as punycode), no trailing dot, or an
/// IP address literal. It doubles as a folder name under `certs/`, so the form is strict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Hostname(pub(super) String);

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
pub struct Seconds(pub(super) u64);

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
pub struct ListenAddr(pub(super) SocketAddr);

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
    pub(super) addr: std::net::IpAddr,
    pub(super) prefix: u8,
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
pub struct FileSize(pub(super) u64);

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
pub struct Count(pub(super) usize);

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

/// A line width in display columns, from 20 to 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Columns(pub(super) usize);

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
    /// The tags as configured (`fr`, `en,fr`), or empty.
    pub fn as_str(&self) -> &str {
        &self.0
    }

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
        // An empty value is a slip (a variable that was not set), not a choice of UTC.
        let zone = if trimmed.is_empty() {
            None
        } else if fixed.is_empty() || fixed == "Z" {
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
pub struct LogFilter(pub(super) String);

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
    use crate::config::parse_and_validate as parse;

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
    fn lang_parameter_is_quoted_for_lists() {
        let one = Lang::try_from("en".to_string()).unwrap();
        assert_eq!(one.mime_parameter().as_deref(), Some("lang=en"));
        let two = Lang::try_from("en,fr".to_string()).unwrap();
        assert_eq!(two.mime_parameter().as_deref(), Some("lang=\"en,fr\""));
        assert_eq!(Lang::default().mime_parameter(), None);
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
}
