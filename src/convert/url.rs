//! URLs on their way from Markdown into gemtext link lines: relative `.md` links become `.gmi`
//! links, fragments that Gemini cannot use are dropped, IDN hosts become punycode, and anything
//! a URI may not hold is percent-encoded (never HTML-escaped). Also finds bare URLs in prose, and
//! makes the absolute `gemini://` URLs that feeds need.

use std::borrow::Cow;
use std::fmt::Write;

/// Finds `://` with SIMD: most prose has none, and this keeps scanning it cheap.
static SCHEME_SEPARATOR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("://"));

/// Where a `www.` link may start; made once, as each paragraph is searched.
static WWW: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("www."));

/// Schemes whose bare URLs in prose become links.
const LINKIFY_SCHEMES: [&str; 5] = ["https://", "http://", "gemini://", "gopher://", "ftp://"];

/// How a link names a source file of the capsule, as Zola writes it (`@/posts/x.md`): the
/// converter leaves it in the gemtext, and the content layer points it at the page's URL.
pub const PAGE_REFERENCE: &str = "@/";

/// The gemtext link target for a Markdown destination, or `None` when nothing is left to link
/// (a link to a fragment of the same page: Gemini has no anchors).
pub fn link_target(dest: &str) -> Option<String> {
    let dest = dest.trim();
    if dest.is_empty() {
        return None;
    }
    let target = match scheme_of(dest) {
        Some(_) => punycode_host(dest),
        None if dest.starts_with("//") => punycode_host(dest),
        // A page reference (`@/posts/x.md#part`): the content layer resolves it as written.
        None if dest.starts_with(PAGE_REFERENCE) => Cow::Borrowed(dest),
        None => Cow::Owned(relative_target(dest)?),
    };
    Some(percent_encode(&target))
}

/// `x.md?q#frag` → `x.gmi?q`; `#frag` → nothing.
/// The file name endings Markdown is written with: `md`, and the others Jekyll reads by default
/// (its `markdown_ext`), so a Jekyll blog's `.markdown` posts are Markdown as they were there.
pub const MARKDOWN_EXTENSIONS: [&str; 6] = ["md", "markdown", "mdown", "mkdn", "mkd", "mkdown"];

/// `x.md` (or another Markdown ending) → the length of `x`, the part a `.gmi` page keeps.
pub fn markdown_stem(path: &str) -> Option<usize> {
    let (stem, ext) = path.rsplit_once('.')?;
    (!stem.is_empty()
        && !stem.ends_with('/')
        && MARKDOWN_EXTENSIONS
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e)))
    .then_some(stem.len())
}

fn relative_target(dest: &str) -> Option<String> {
    let without_fragment = dest.split('#').next().unwrap_or("");
    if without_fragment.is_empty() {
        return None;
    }
    let (path, query) = match without_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (without_fragment, None),
    };
    let path = match markdown_stem(path) {
        Some(stem) => format!("{}.gmi", &path[..stem]),
        None => path.to_owned(),
    };
    Some(match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    })
}

/// The scheme of an absolute URL (`gemini` in `gemini://…`, `mailto` in `mailto:…`).
pub fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// Rewrites a non-ASCII host of `scheme://host…` (or `//host…`) as punycode.
fn punycode_host(url: &str) -> Cow<'_, str> {
    if url.is_ascii() {
        return Cow::Borrowed(url);
    }
    let Some(start) = url.find("//").map(|i| i + 2) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.starts_with('[') => {
            (h, Some(p))
        }
        _ => (hostport, None),
    };
    if host.is_ascii() {
        return Cow::Borrowed(url);
    }
    let Ok(url::Host::Domain(ascii)) = url::Host::parse(host) else {
        return Cow::Borrowed(url);
    };
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(&url[..start]);
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    out.push_str(&ascii);
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    out.push_str(&rest[end..]);
    Cow::Owned(out)
}

/// Percent-encodes every byte a URI may not contain as it is; existing `%XX` escapes stay.
pub fn percent_encode(url: &str) -> String {
    let bytes = url.as_bytes();
    if (0..bytes.len()).all(|i| allowed(bytes, i)) {
        return url.to_owned();
    }
    let mut out = String::with_capacity(url.len() + 16);
    for (i, &b) in bytes.iter().enumerate() {
        if allowed(bytes, i) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Whether byte `i` lies in the authority of an absolute URL (`scheme://` up to the next
/// `/`, `?` or `#`).
fn in_authority(bytes: &[u8], i: usize) -> bool {
    let Some(start) = bytes
        .windows(3)
        .position(|w| w == b"://")
        .filter(|&colon| bytes[..colon].iter().all(u8::is_ascii_alphanumeric))
    else {
        return false;
    };
    let host = start + 3;
    let end = bytes[host..]
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(bytes.len(), |p| host + p);
    (host..end).contains(&i)
}

/// Whether `bytes[i]` may stand in a URI as it is: unreserved and reserved characters, and `%`
/// when it starts an escape.
fn allowed(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'%' => {
            bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        }
        // Brackets belong to an IPv6 host only (`http://[::1]/`): elsewhere they are encoded,
        // as CommonMark's reference renderer does.
        b'[' | b']' => in_authority(bytes, i),
        b => URI_BYTES[b as usize],
    }
}

/// The longest path a page's URL may have: a Gemini request is at most 1024 bytes, and the
/// scheme and host take some (`gemini://` and a host of up to 100 bytes, say).
pub const MAX_PATH_BYTES: usize = 900;

/// The URL of a path made of names as they are on disk (`/posts/C# & you?.gmi`): each name
/// percent-encoded as one path segment, so `#`, `?` and `%` in a file name stay part of it
/// instead of starting a fragment, a query or an escape. `/` separates the names.
pub fn encode_path(path: &str) -> String {
    encode_except(path, &PATH_BYTES)
}

/// `text` with every byte not in `keep` percent-encoded (`%` itself too, so it is taken as
/// written, never as an escape).
pub fn encode_except(text: &str, keep: &[bool; 256]) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for &b in text.as_bytes() {
        if keep[b as usize] {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The table of which bytes a set of characters holds, for [`encode_except`].
pub const fn byte_set(chars: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < chars.len() {
        table[chars[i] as usize] = true;
        i += 1;
    }
    table
}

/// The bytes a path may contain as they are: those of a segment (RFC 3986 `pchar`, `%` aside)
/// and `/` between segments.
///
/// `;` is encoded although a path may hold it: a Titan URL's parameters start at the first
/// `;`, so a page's URL made into a `titan://` one must not hold a bare one.
static PATH_BYTES: [bool; 256] =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:@!$&'()*+,=/");

/// The bytes a URI may contain as they are (RFC 3986 unreserved + reserved), `%` aside.
static URI_BYTES: [bool; 256] = byte_set(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=",
);

/// Bare links in prose, as GitHub's extended autolinks find them: each `http(s)://`,
/// `gemini://`, `gopher://` or `ftp://` URL that starts a word, each `www.` domain (linked with
/// `http://`) and each e-mail address (linked with `mailto:`), in order. Trailing sentence
/// punctuation is left out, and a closing bracket only belongs to a URL that opened one.
pub fn find_bare_urls(text: &str) -> Vec<Bare<'_>> {
    let mut found = scheme_urls(text);
    let has_www = WWW.find(text.as_bytes()).is_some();
    let has_at = memchr::memchr(b'@', text.as_bytes()).is_some();
    if !has_www && !has_at {
        return found;
    }
    let www: Vec<Bare<'_>> = www_domains(text)
        .into_iter()
        .filter(|b| !overlaps(&found, b))
        .collect();
    let emails: Vec<Bare<'_>> = emails(text)
        .into_iter()
        .filter(|b| !overlaps(&found, b) && !overlaps(&www, b))
        .collect();
    found.extend(www);
    found.extend(emails);
    found.sort_by_key(|f| f.at);
    found
}

/// Whether `bare` overlaps one of `found` (in order, apart from each other).
fn overlaps(found: &[Bare<'_>], bare: &Bare<'_>) -> bool {
    // The first found that ends after `bare` starts is the only one that can overlap it.
    let i = found.partition_point(|f| f.at + f.text.len() <= bare.at);
    found
        .get(i)
        .is_some_and(|f| f.at < bare.at + bare.text.len())
}

/// A link found in prose: where it starts, its text, and what goes before it to make it a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bare<'a> {
    pub at: usize,
    pub text: &'a str,
    /// `""` for a URL; `http://` for a `www.` domain; `mailto:` for an address.
    pub prefix: &'static str,
}

/// Whether the character before `at` lets a link start there: the start, a space or one of the
/// delimiters GitHub allows (`*`, `_`, `~`, `(`).
fn starts_link(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || matches!(c, '*' | '_' | '~' | '(' | '"' | '\''))
}

fn scheme_urls(text: &str) -> Vec<Bare<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rel) = SCHEME_SEPARATOR.find(&text.as_bytes()[from..]) {
        let colon = from + rel;
        from = colon + 3;
        let Some(scheme) = LINKIFY_SCHEMES.iter().find(|s| {
            let scheme_len = s.len() - 3;
            colon >= scheme_len
                && text.is_char_boundary(colon - scheme_len)
                && text[colon - scheme_len..colon].eq_ignore_ascii_case(&s[..scheme_len])
        }) else {
            continue;
        };
        let start = colon - (scheme.len() - 3);
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if !starts_word {
            continue;
        }
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
            .unwrap_or(text.len() - start);
        let url = trim_url_end(&text[start..start + len]);
        if url.len() > scheme.len() {
            found.push(Bare {
                at: start,
                text: url,
                prefix: "",
            });
        }
        from = start + len.max(3);
    }
    found
}

/// `www.` followed by a domain: segments of letters, digits, `_` and `-` between periods.
fn www_domains(text: &str) -> Vec<Bare<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    // Lower case, as GitHub matches it.
    for at in WWW.find_iter(text.as_bytes()) {
        if at < from || !starts_link(text, at) {
            continue;
        }
        // The domain first, so a candidate is given up on at its end, never past it.
        let domain_len = text[at..]
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(text.len() - at);
        let domain = text[at..at + domain_len].trim_end_matches('.');
        let valid = domain.len() > 4 && domain.split('.').all(|segment| !segment.is_empty());
        if !valid {
            continue;
        }
        let len = text[at..]
            .find(|c: char| c.is_whitespace() || c == '<')
            .unwrap_or(text.len() - at);
        let link = trim_url_end(&text[at..at + len]);
        found.push(Bare {
            at,
            text: link,
            prefix: "http://",
        });
        from = at + len.max(4);
    }
    found
}

/// E-mail addresses: `local@domain.tld`, the local part of letters, digits and `.+-_`, the
/// domain of letters, digits, `-` and `_` between periods (at least one), not ending in `-`
/// or `_`.
fn emails(text: &str) -> Vec<Bare<'_>> {
    let local = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_');
    let domain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let mut found: Vec<Bare<'_>> = Vec::new();
    for (at_sign, _) in text.match_indices('@') {
        let start = text[..at_sign]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local(c))
            .last()
            .map_or(at_sign, |(i, _)| i);
        let end = text[at_sign + 1..]
            .find(|c: char| !domain(c))
            .map_or(text.len(), |i| at_sign + 1 + i);
        let host = text[at_sign + 1..end].trim_end_matches('.');
        let valid = start < at_sign
            && host.contains('.')
            && !host.ends_with(['-', '_'])
            && host.split('.').all(|s| !s.is_empty())
            && starts_link(text, start)
            && found.last().is_none_or(|f| f.at + f.text.len() <= start);
        if valid {
            found.push(Bare {
                at: start,
                text: &text[start..at_sign + 1 + host.len()],
                prefix: "mailto:",
            });
        }
    }
    found
}

/// A URL without the sentence punctuation after it, and without a closing bracket it did not open.
pub fn trim_url_end(mut url: &str) -> &str {
    // Bracket balance, counted once: the loop below only ever removes characters.
    let count = |open, close| {
        url.chars().fold(0i64, |n, c| match c {
            c if c == open => n + 1,
            c if c == close => n - 1,
            _ => n,
        })
    };
    let (mut parens, mut brackets) = (count('(', ')'), count('[', ']'));
    while let Some(last) = url.chars().next_back() {
        // What looks like an entity at the end (`&hl;`) is the text's, not the URL's (GFM).
        if last == ';'
            && let Some(amp) = url.rfind('&')
            && amp + 2 < url.len()
            && url[amp + 1..url.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric())
        {
            url = &url[..amp];
            continue;
        }
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_' | '~' => true,
            ')' if parens < 0 => {
                parens += 1;
                true
            }
            ']' if brackets < 0 => {
                brackets += 1;
                true
            }
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url
}

/// The decoded segments of a root-relative URL's path (`/a%20b//c/` → `["a b", "c"]`).
pub fn path_segments(url: &str) -> Vec<String> {
    percent_encoding::percent_decode_str(url)
        .decode_utf8_lossy()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where the capsule is reachable, for absolute URLs: `gemini://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String, String);

impl Origin {
    pub fn new(host: &str, port: u16) -> Origin {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let base = match port {
            1965 => format!("gemini://{host}"),
            port => format!("gemini://{host}:{port}"),
        };
        Origin(base, host)
    }

    /// Where a web reader reaches the capsule: `https://host` (or `http://`), the port written
    /// only when it is not the scheme's own.
    pub fn web(https: bool, host: &str, port: u16) -> Origin {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let (scheme, default) = if https { ("https", 443) } else { ("http", 80) };
        let base = if port == default {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        };
        Origin(base, host)
    }

    /// The type of the pages readers reach there: gemtext, or HTML for web readers.
    pub fn page_type(&self) -> &'static str {
        if self.0.starts_with("http") {
            "text/html"
        } else {
            "text/gemini"
        }
    }

    /// The host part, as written in URLs.
    pub fn host(&self) -> String {
        self.1.clone()
    }

    /// The absolute form of a root-relative URL.
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(encode_path("/posts/a b.gmi"), "/posts/a%20b.gmi");
        assert_eq!(
            encode_path("/posts/C# & you?.gmi"),
            "/posts/C%23%20&%20you%3F.gmi"
        );
        assert_eq!(encode_path("/100%.gmi"), "/100%25.gmi");
        assert_eq!(encode_path("/posts/a;b.gmi"), "/posts/a%3Bb.gmi");
        assert_eq!(encode_path("/é/"), "/%C3%A9/");
        assert_eq!(encode_path("/tags/c-plus-plus/"), "/tags/c-plus-plus/");
    }

    #[test]
    fn origins() {
        assert_eq!(
            Origin::new("example.org", 1965).absolute("/a"),
            "gemini://example.org/a"
        );
        assert_eq!(
            Origin::new("example.org", 1966).absolute("/"),
            "gemini://example.org:1966/"
        );
        assert_eq!(Origin::new("::1", 1965).absolute("/"), "gemini://[::1]/");
    }

    #[test]
    fn relative_md_links_become_gmi() {
        assert_eq!(link_target("post.md").as_deref(), Some("post.gmi"));
        assert_eq!(
            link_target("a/post.markdown").as_deref(),
            Some("a/post.gmi")
        );
        assert_eq!(link_target("post.MKD#x").as_deref(), Some("post.gmi"));
        assert_eq!(link_target("a/.md").as_deref(), Some("a/.md"));
        assert_eq!(link_target("notes.mdx").as_deref(), Some("notes.mdx"));
        assert_eq!(link_target("../a/b.MD#top").as_deref(), Some("../a/b.gmi"));
        assert_eq!(link_target("b.md?x=1#f").as_deref(), Some("b.gmi?x=1"));
        assert_eq!(link_target("notes.mdx").as_deref(), Some("notes.mdx"));
        assert_eq!(
            link_target("@/posts/a b.md#part").as_deref(),
            Some("@/posts/a%20b.md#part")
        );
        assert_eq!(link_target("#section"), None);
        assert_eq!(link_target("  "), None);
        assert_eq!(
            link_target("https://e.org/x.md#f").as_deref(),
            Some("https://e.org/x.md#f")
        );
    }

    #[test]
    fn encoding_never_html_escapes() {
        assert_eq!(
            link_target("https://e.org/?a=1&b=2").as_deref(),
            Some("https://e.org/?a=1&b=2")
        );
        assert_eq!(link_target("my file.gmi").as_deref(), Some("my%20file.gmi"));
        assert_eq!(link_target("/caf\u{e9}").as_deref(), Some("/caf%C3%A9"));
        assert_eq!(link_target("a%20b%zz").as_deref(), Some("a%20b%25zz"));
        assert_eq!(
            link_target("x\"<>{}|\\^`").as_deref(),
            Some("x%22%3C%3E%7B%7D%7C%5C%5E%60")
        );
    }

    #[test]
    fn idn_hosts_become_punycode() {
        assert_eq!(
            link_target("gemini://b\u{fc}cher.example:1965/\u{e9}").as_deref(),
            Some("gemini://xn--bcher-kva.example:1965/%C3%A9")
        );
    }

    #[test]
    fn bare_urls() {
        let found = find_bare_urls("see https://e.org/a_(b), and gemini://x.y/z. Or http://q.");
        let urls: Vec<&str> = found.iter().map(|b| b.text).collect();
        assert_eq!(
            urls,
            vec!["https://e.org/a_(b)", "gemini://x.y/z", "http://q"]
        );
        assert_eq!(found[0].at, 4);
        assert!(find_bare_urls("xhttps://no.pe xftp://no.pe https://").is_empty());
        assert_eq!(
            find_bare_urls("(https://e.org/x)")[0].text,
            "https://e.org/x"
        );
        assert_eq!(find_bare_urls("é https://é.org/é").len(), 1);
    }

    #[test]
    fn extended_autolinks_as_github_finds_them() {
        let found = |text| {
            find_bare_urls(text)
                .iter()
                .map(|b| format!("{}{}", b.prefix, b.text))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("Visit www.commonmark.org/help for more. Or www.x.org. Not WWW.x.org."),
            ["http://www.commonmark.org/help", "http://www.x.org"]
        );
        assert_eq!(
            found("(www.google.com/search?q=Markup+(business))"),
            ["http://www.google.com/search?q=Markup+(business)"]
        );
        assert_eq!(
            found("ftp://files.example.org/a.txt"),
            ["ftp://files.example.org/a.txt"]
        );
        assert_eq!(
            found("foo@bar.baz, hello+xyz@mail.example."),
            ["mailto:foo@bar.baz", "mailto:hello+xyz@mail.example"]
        );
        // Not an address: no period in the domain, or ending in - or _; nor one inside a URL.
        assert!(found("a@b x@y.z- x@y.z_ www. wwwx.org").is_empty());
        assert_eq!(found("https://u@e.org/x"), ["https://u@e.org/x"]);
        // What looks like an entity at the end is the text's.
        assert_eq!(
            found("www.e.org/search?q=a&hl;"),
            ["http://www.e.org/search?q=a"]
        );
    }

    #[test]
    fn brackets_are_encoded_but_in_an_ipv6_host() {
        assert_eq!(
            percent_encode("https://e.org/?q=](uri)"),
            "https://e.org/?q=%5D(uri)"
        );
        assert_eq!(
            percent_encode("http://[::1]:8080/a[b]"),
            "http://[::1]:8080/a%5Bb%5D"
        );
        assert_eq!(percent_encode("x[1].gmi"), "x%5B1%5D.gmi");
    }
}
