//! Gemini request lines: finding the line in the bytes a client sent, and turning it into a
//! [`Request`] or the precise reason it is refused.
//!
//! Pure functions only (no I/O), so every rule of the spec is unit-testable. The checks run on the
//! raw bytes *before* the `url` crate sees them, because `url` quietly repairs what the spec says
//! must be refused: it strips control characters and surrounding spaces, and it removes `.`/`..`
//! segments instead of reporting them.

use percent_encoding::percent_decode_str;
use url::Url;

use super::status::Status;
use crate::config::Hostname;

/// Longest URL a client may send, in bytes, not counting the CRLF.
pub const MAX_URL_BYTES: usize = 1024;

/// Bytes a request can occupy: the URL plus CRLF. Reading stops here, so no client can make the
/// server buffer more than this.
pub const MAX_REQUEST_BYTES: usize = MAX_URL_BYTES + 2;

/// Where the request line ends in what has been read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum LineEnd {
    /// The URL is `buf[..n]` (a CRLF follows it).
    Found(usize),
    /// No CRLF yet and the line may still be within the limit: read more.
    Incomplete,
    /// No CRLF within the first [`MAX_REQUEST_BYTES`] bytes: the URL is too long.
    TooLong,
}

/// Looks for the first CRLF. A bare LF is not a line end: it is just a byte of the line (and a
/// control character, which [`parse`] refuses if a CRLF ever follows).
pub fn find_line_end(buf: &[u8]) -> LineEnd {
    let window = &buf[..buf.len().min(MAX_REQUEST_BYTES)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(n) => LineEnd::Found(n),
        None if buf.len() >= MAX_REQUEST_BYTES => LineEnd::TooLong,
        None => LineEnd::Incomplete,
    }
}

/// A request that is well-formed and addressed to a Gemini URL. Whether it is for *us* (host and
/// port) is checked by [`Request::check_target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Host in canonical form (lower case, IDNs as punycode, IPv6 without brackets).
    pub host: Hostname,
    /// The port written in the URL, if any.
    pub port: Option<u16>,
    /// The path exactly as sent (still percent-encoded), `""` for an empty path; for logs and
    /// redirects, so they echo the client's own encoding.
    pub raw_path: String,
    /// Decoded path segments, without empty ones (`/a//b/` gives `["a", "b"]`).
    pub segments: Vec<String>,
    /// The path ends with `/` (or is empty, which the spec makes equal to `/`).
    pub ends_with_slash: bool,
    /// The query string without its `?`, still encoded.
    pub query: Option<String>,
}

/// Why a request line gets an error status instead of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: Status,
    pub reason: &'static str,
}

fn bad(reason: &'static str) -> Rejection {
    Rejection {
        status: Status::BadRequest,
        reason,
    }
}

fn refused(reason: &'static str) -> Rejection {
    Rejection {
        status: Status::ProxyRequestRefused,
        reason,
    }
}

/// Parses the URL of a request line (the bytes before the CRLF).
pub fn parse(line: &[u8]) -> Result<Request, Rejection> {
    if line.is_empty() {
        return Err(bad("Empty request"));
    }
    if line.len() > MAX_URL_BYTES {
        return Err(bad("URL longer than 1024 bytes"));
    }
    parse_url(line)
}

/// [`parse`] without the bound on the URL's length.
fn parse_url(line: &[u8]) -> Result<Request, Rejection> {
    if line.starts_with("\u{feff}".as_bytes()) {
        return Err(bad("Request starts with a byte order mark"));
    }
    let text = std::str::from_utf8(line).map_err(|_| bad("Request is not valid UTF-8"))?;
    if text.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad(
            "Request contains spaces or control characters (they must be percent-encoded)",
        ));
    }
    let raw = RawParts::split(text).ok_or(bad("Not an absolute URL"))?;
    if raw.authority.contains('@') {
        return Err(bad("URL contains userinfo, which Gemini forbids"));
    }
    if raw.fragment {
        return Err(bad("URL contains a fragment, which Gemini forbids"));
    }

    let url = Url::parse(text).map_err(|_| bad("Not an absolute URL"))?;
    if url.scheme() != "gemini" {
        return Err(refused("Only gemini:// URLs are served here"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) => {
            let decoded = percent_decode_str(name)
                .decode_utf8()
                .map_err(|_| bad("Host is not valid UTF-8"))?;
            decoded
                .parse::<Hostname>()
                .map_err(|_| bad("Invalid host name"))?
        }
        Some(url::Host::Ipv4(ip)) => Hostname::from_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => Hostname::from_ip(ip.into()),
        None => return Err(bad("URL has no host")),
    };

    let mut segments = Vec::new();
    for raw_segment in raw.path.split('/').skip(1) {
        // An empty segment (`//`) stands for nothing; one that decodes to nothing (`%` alone
        // is refused) cannot be empty.
        if raw_segment.is_empty() {
            continue;
        }
        segments.push(segment(raw_segment)?);
    }

    Ok(Request {
        host,
        port: url.port(),
        raw_path: raw.path.to_owned(),
        segments,
        ends_with_slash: raw.path.is_empty() || raw.path.ends_with('/'),
        query: url.query().map(str::to_owned),
    })
}

/// Reads an HTTP request target (`/path?query`) by the rules of a Gemini URL's path and
/// query, as [`parse`] reads `gemini://host/path?query`: one set of rules for every door. The
/// host is left unnamed (the web door picks it by the `Host` header). A target of the common
/// characters is read directly; any other goes through [`parse`] whole.
pub fn parse_target(target: &str) -> Result<Request, Rejection> {
    /// What a target may hold to be read directly: what the URL parser keeps as it is.
    fn plain(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%[]".contains(&b)
    }
    if target.len() > MAX_URL_BYTES {
        return Err(bad("Request target longer than 1024 bytes"));
    }
    let whole = || parse_url(format!("gemini://h{target}").as_bytes());
    if !target.starts_with('/') || !target.bytes().all(plain) {
        return whole();
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    if path.contains(['?', '[', ']']) {
        return whole();
    }
    let mut segments = Vec::new();
    for raw_segment in path.split('/').skip(1) {
        if raw_segment.is_empty() {
            continue;
        }
        segments.push(segment(raw_segment)?);
    }
    Ok(Request {
        host: Hostname::from_ip(std::net::Ipv4Addr::UNSPECIFIED.into()),
        port: None,
        raw_path: path.to_owned(),
        segments,
        ends_with_slash: path.ends_with('/'),
        query: query.map(str::to_owned),
    })
}

/// One segment of a path, decoded, by the rules of every door.
fn segment(raw: &str) -> Result<String, Rejection> {
    if !percent_encoded_well(raw) {
        return Err(bad(
            "Path has a `%` that does not begin a percent-encoded byte",
        ));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| bad("Path is not valid UTF-8 after percent-decoding"))?;
    match &*decoded {
        "." | ".." => Err(bad("Path contains a `.` or `..` segment")),
        s if s.contains(['/', '\\', '\0']) => Err(bad("Path segment encodes `/`, `\\` or NUL")),
        s if s.chars().any(char::is_control) => {
            Err(bad("Path segment encodes a control character"))
        }
        s => Ok(s.to_owned()),
    }
}

impl Request {
    /// Refuses (`53`) a request for a host we do not serve or a port we do not listen on.
    ///
    /// An IP-literal host is accepted when it is the address the client connected to, so a
    /// capsule reached by IP (clients then send no SNI) still works. A URL without a port is
    /// accepted on any listening port, so a capsule behind a port forward works too; a URL
    /// with a port must name the one the request came in on, or the `public_port` readers are
    /// told to use (the port a forward or a balancer listens on, which feeds carry).
    ///
    /// `named` is whose name the URL's host is; only the connection's own host is served on
    /// it (a client must not pass one host's checks under its name, then read another's).
    pub fn check_target(
        &self,
        named: Named,
        local: std::net::SocketAddr,
        public_port: Option<u16>,
    ) -> Result<(), Rejection> {
        let ours = match named {
            Named::ThisHost => true,
            Named::OtherHost => {
                return Err(refused(
                    "This host is not served on this connection: connect with its name",
                ));
            }
            Named::NoHost => self.host.as_ip().is_some_and(|ip| same_ip(ip, local.ip())),
        };
        if !ours {
            return Err(refused("This host is not served here"));
        }
        if self
            .port
            .is_some_and(|port| port != local.port() && Some(port) != public_port)
        {
            return Err(refused("This port is not served here"));
        }
        Ok(())
    }
}

/// Whose name a request's host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// The host the connection was made for (by SNI, or the default one).
    ThisHost,
    /// Another host served here.
    OtherHost,
    /// No host served here.
    NoHost,
}

/// Compares addresses, treating an IPv4-mapped IPv6 address as the IPv4 one.
fn same_ip(a: std::net::IpAddr, b: std::net::IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The pieces of a URL as written, before any normalisation.
struct RawParts<'a> {
    authority: &'a str,
    path: &'a str,
    fragment: bool,
}

impl<'a> RawParts<'a> {
    /// Splits `scheme://authority/path?query#fragment`; `None` if there is no `scheme://`.
    fn split(text: &'a str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return None;
        }
        let fragment = rest.contains('#');
        let before_fragment = rest.split('#').next().unwrap_or("");
        let before_query = before_fragment.split('?').next().unwrap_or("");
        let (authority, path) = match before_query.find('/') {
            Some(i) => before_query.split_at(i),
            None => (before_query, ""),
        };
        Some(RawParts {
            authority,
            path,
            fragment,
        })
    }
}

/// Whether every `%` begins a percent-encoded byte (two hex digits): a lone one is a
/// malformed URL (RFC 3986), not a name to look up.
fn percent_encoded_well(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_target_reads_as_the_same_path_in_a_gemini_url() {
        let targets = [
            "/",
            "/a",
            "/a/",
            "//a//b/",
            "/posts/x.gmi",
            "/search?q=a+b",
            "/search?a%20b",
            "/a/./b",
            "/a/../b",
            "/%2e%2e/x",
            "/a%2Fb",
            "/a%5Cb",
            "/%00",
            "/%zz",
            "/%",
            "/caf%C3%A9/",
            "/%C3%28",
            "/a;b=c/d@e:f",
            "/x?y?z",
            "/x?",
            "/a[b]",
            "/?q=<s>",
            "/a b",
            "/é",
            "/a#b",
            "/a\\b",
            "/q?\"x\"",
            "/%0a",
            "/~user/",
            "/a%20b?c=d&e=f",
        ];
        for target in targets {
            let direct = parse_target(target);
            let whole = parse_url(format!("gemini://h{target}").as_bytes());
            match (direct, whole) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.segments, b.segments, "{target}");
                    assert_eq!(a.ends_with_slash, b.ends_with_slash, "{target}");
                    assert_eq!(a.raw_path, b.raw_path, "{target}");
                    assert_eq!(a.query, b.query, "{target}");
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{target}"),
                (a, b) => panic!("{target}: {a:?} / {b:?}"),
            }
        }
        // The target itself may be as long as a Gemini URL.
        assert!(parse_target(&format!("/{}", "a".repeat(1023))).is_ok());
        assert!(parse_target(&format!("/{}?", "%41".repeat(340))).is_ok());
        assert!(parse_target(&format!("/{}", "a".repeat(1024))).is_err());
    }

    use super::*;

    fn reason(line: &str) -> Rejection {
        parse(line.as_bytes()).unwrap_err()
    }

    fn status(line: &[u8]) -> Status {
        match parse(line) {
            Ok(_) => Status::Success,
            Err(r) => r.status,
        }
    }

    #[test]
    fn finds_crlf_but_not_bare_lf() {
        assert_eq!(find_line_end(b"gemini://a/\r\n"), LineEnd::Found(11));
        assert_eq!(find_line_end(b"gemini://a/\r\nJUNK"), LineEnd::Found(11));
        assert_eq!(find_line_end(b"gemini://a/\n"), LineEnd::Incomplete);
        assert_eq!(find_line_end(b"gemini://a/\r"), LineEnd::Incomplete);
    }

    #[test]
    fn length_limit_is_1024_bytes_of_url() {
        let mut exact = vec![b'a'; MAX_URL_BYTES];
        exact.extend_from_slice(b"\r\n");
        assert_eq!(find_line_end(&exact), LineEnd::Found(MAX_URL_BYTES));
        let mut over = vec![b'a'; MAX_URL_BYTES + 1];
        over.extend_from_slice(b"\r\n");
        assert_eq!(find_line_end(&over), LineEnd::TooLong);
        assert_eq!(
            find_line_end(&over[..MAX_REQUEST_BYTES - 1]),
            LineEnd::Incomplete
        );
    }

    #[test]
    fn accepts_plain_requests() {
        let r = parse(b"gemini://Example.org:1965/a/b%20c/?q=1").unwrap();
        assert_eq!(r.host.as_str(), "example.org");
        assert_eq!(r.port, Some(1965));
        assert_eq!(r.segments, vec!["a", "b c"]);
        assert!(r.ends_with_slash);
        assert_eq!(r.query.as_deref(), Some("q=1"));
        assert_eq!(r.raw_path, "/a/b%20c/");

        let empty = parse(b"gemini://example.org").unwrap();
        assert!(empty.segments.is_empty() && empty.ends_with_slash);
        assert_eq!(empty.raw_path, "");
    }

    #[test]
    fn malformed_requests_are_59() {
        for line in [
            &b""[..],
            b"/",
            b"//example.org/",
            b"Hello Gemini!",
            b"gemini://user@example.org/",
            b"gemini://@example.org/",
            b"gemini://example.org/#frag",
            b"gemini://example.org/#",
            b"\xef\xbb\xbfgemini://example.org/",
            b"gemini://example.org/\xdc",
            b"gemini://example.org/../../",
            b"gemini://example.org/a/./b",
            b"gemini://example.org/%2e%2e/x",
            b"gemini://example.org/.%2E/x",
            b"gemini://example.org/a%2fb",
            b"gemini://example.org/a%5cb",
            b"gemini://example.org/a%00b",
            b"gemini://example.org/a\0b",
            b"gemini://example.org/a\tb",
            b"gemini://example.org/a\nb",
            b" gemini://example.org/",
            b"gemini://example.org/ ",
            b"gemini://example.org/%ff",
            b"gemini://example.org/%",
            b"gemini://example.org/%zz",
            b"gemini://example.org/a%4",
            b"gemini://example.org/a%4g/",
            b"gemini:///path",
        ] {
            assert_eq!(
                status(line),
                Status::BadRequest,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            reason("gemini://u@h/").reason,
            "URL contains userinfo, which Gemini forbids"
        );
    }

    #[test]
    fn other_schemes_are_53() {
        for line in [
            "http://example.org/",
            "https://example.org/",
            "gopher://example.org/",
            "GOPHER://example.org/",
        ] {
            assert_eq!(
                status(line.as_bytes()),
                Status::ProxyRequestRefused,
                "{line}"
            );
        }
    }

    #[test]
    fn dots_inside_names_are_fine() {
        let r = parse(b"gemini://example.org/.well-known/a..b/.x").unwrap();
        assert_eq!(r.segments, vec![".well-known", "a..b", ".x"]);
    }

    #[test]
    fn host_and_port_must_be_ours() {
        let hosts: Vec<Hostname> = vec!["example.org".parse().unwrap()];
        let local: std::net::SocketAddr = "127.0.0.1:1966".parse().unwrap();
        let named = |r: &Request| match r.host.as_str() {
            "other.example" => Named::OtherHost,
            _ if hosts.contains(&r.host) => Named::ThisHost,
            _ => Named::NoHost,
        };
        let check = |line: &str| {
            let r = parse(line.as_bytes()).unwrap();
            r.check_target(named(&r), local, None)
        };
        assert!(check("gemini://EXAMPLE.org/").is_ok());
        assert!(check("gemini://example.org.:1966/").is_ok());
        assert!(check("gemini://example.org/").is_ok());
        assert!(check("gemini://127.0.0.1/").is_ok());
        assert_eq!(
            check("gemini://example.org:1965/").unwrap_err().status,
            Status::ProxyRequestRefused
        );
        assert_eq!(
            check("gemini://other.org/").unwrap_err().status,
            Status::ProxyRequestRefused
        );
        assert_eq!(
            check("gemini://10.0.0.1/").unwrap_err().status,
            Status::ProxyRequestRefused
        );
        // Another host's name on this connection, on any port.
        assert_eq!(
            check("gemini://other.example:1966/").unwrap_err().status,
            Status::ProxyRequestRefused
        );
        let local6: std::net::SocketAddr = "[::1]:1966".parse().unwrap();
        let r = parse(b"gemini://[::1]:1966/").unwrap();
        assert!(r.check_target(named(&r), local6, None).is_ok());
        // The public port (a port forward in front) is ours too; others are not.
        let r = parse(b"gemini://example.org:1965/").unwrap();
        assert!(r.check_target(named(&r), local, Some(1965)).is_ok());
        let r = parse(b"gemini://example.org:1967/").unwrap();
        assert!(r.check_target(named(&r), local, Some(1965)).is_err());
    }

    #[test]
    fn idn_hosts_compare_as_punycode() {
        let r = parse("gemini://BÜCHER.example/".as_bytes()).unwrap();
        assert_eq!(r.host.as_str(), "xn--bcher-kva.example");
    }
}
