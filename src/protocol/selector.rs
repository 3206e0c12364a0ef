//! Gopher request lines: what a selector line asks for, or why it is refused.
//!
//! Pure functions only (no I/O), so the rules are unit-testable and fuzzable. The line is what
//! the client sent before its CRLF (or lone LF); the server has already limited its length.

/// What a request line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// The UMN client's first question: the root's Gopher+ attributes (`TAB $`).
    PlusProbe,
    /// A web browser pointed at the Gopher port (`GET / HTTP/1.1`).
    Http,
    /// `URL:<url>`: a page that points at an external URL.
    Url(String),
    /// `caps.txt`: the server's capabilities file.
    Caps,
    /// An item of the capsule: path segments (never empty, `.` or `..`, never holding `/`) and
    /// whether the selector ends with `/` (a menu).
    Item { segments: Vec<String>, slash: bool },
    /// A `.` or `..` segment: nothing outside a folder is reachable, and no two selectors name
    /// one item, so it names nothing.
    DotSegment,
    /// The search (type `7`): `/search TAB words` for the first page, `/search/<n>/<words
    /// percent-encoded>/` for the others (a menu item cannot carry a search string).
    Search { page: Option<String>, query: String },
}

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The selector as sent (before any TAB), for the log.
    pub selector: &'a str,
    pub target: Target,
}

/// Why a line is refused before it is looked at (the log note).
pub type Rejection = &'static str;

/// Parses a request line: `selector`, optionally followed by TAB and a search query or a
/// Gopher+ request (both ignored, except the root probe).
pub fn parse(line: &[u8]) -> Result<Request<'_>, Rejection> {
    let line = std::str::from_utf8(line).map_err(|_| "selector is not UTF-8")?;
    // TAB separates a search query or a Gopher+ request; no other control byte belongs here.
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("control bytes in the selector");
    }
    let (selector, extra) = line.split_once('\t').unwrap_or((line, ""));
    let target = if let Some(search) = search(selector, extra) {
        search
    } else if matches!(selector, "" | "/") && extra.starts_with('$') {
        Target::PlusProbe
    } else if is_http(selector) {
        Target::Http
    } else if let Some(url) = selector.strip_prefix("URL:") {
        if !linkable(url) {
            return Err("URL: selector with a scheme that is not a link to follow");
        }
        Target::Url(url.to_owned())
    } else if matches!(selector, "caps.txt" | "/caps.txt") {
        Target::Caps
    } else {
        split(selector).map_or(Target::DotSegment, |(segments, slash)| Target::Item {
            segments,
            slash,
        })
    };
    Ok(Request { selector, target })
}

/// A search request, by either of its forms.
fn search(selector: &str, extra: &str) -> Option<Target> {
    let path = selector.trim_start_matches('/').trim_end_matches('/');
    let url = crate::convert::route::Route::Search(None).url();
    let name = &url[1..];
    // The words after a tab, up to a Gopher+ field the client may add; `$`, `+`, `!` alone
    // are one.
    let typed = || {
        let words = extra.split('\t').next().unwrap_or("");
        match words {
            "$" | "+" | "!" => String::new(),
            words => words.to_owned(),
        }
    };
    if path == name {
        return Some(Target::Search {
            page: None,
            query: typed(),
        });
    }
    let rest = path.strip_prefix(name)?.strip_prefix('/')?;
    // A later page, as the menus link it (`/search/2/<words>`), or typed at its selector.
    let (page, query) = match rest.split_once('/') {
        Some((page, words)) => (
            page,
            percent_encoding::percent_decode_str(words)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        None => (rest, typed()),
    };
    Some(Target::Search {
        page: Some(page.to_owned()),
        query,
    })
}

/// The schemes a `URL:` page may point at: protocols a reader follows to another place, never
/// one that runs something in the reader's browser (`javascript:`, `data:`, `vbscript:`, …).
const LINK_SCHEMES: [&str; 16] = [
    "gemini", "gopher", "gophers", "http", "https", "mailto", "ftp", "ftps", "news", "nntp", "irc",
    "ircs", "telnet", "ssh", "xmpp", "finger",
];

/// Whether a `URL:` target has one of [`LINK_SCHEMES`] (any case).
fn linkable(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        LINK_SCHEMES
            .iter()
            .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
    })
}

/// `GET / HTTP/1.1` and the like.
fn is_http(selector: &str) -> bool {
    ["GET ", "HEAD ", "POST "]
        .iter()
        .any(|m| selector.starts_with(m))
        && selector.contains(" HTTP/")
}

/// The path segments of a selector and whether it ends with `/`; `None` if a segment is `.` or
/// `..`.
fn split(selector: &str) -> Option<(Vec<String>, bool)> {
    let slash = selector.ends_with('/');
    let mut segments = Vec::new();
    for segment in selector.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return None;
        }
        segments.push(segment.to_owned());
    }
    Some((segments, slash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(line: &str) -> Target {
        parse(line.as_bytes()).unwrap().target
    }

    fn item(segments: &[&str], slash: bool) -> Target {
        Target::Item {
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            slash,
        }
    }

    #[test]
    fn selectors_split_into_segments() {
        assert_eq!(target(""), item(&[], false));
        assert_eq!(target("/"), item(&[], true));
        assert_eq!(target("/series/x/"), item(&["series", "x"], true));
        assert_eq!(target("posts/a b.txt"), item(&["posts", "a b.txt"], false));
        assert_eq!(target("//a//b"), item(&["a", "b"], false));
        assert_eq!(target("/../etc/passwd"), Target::DotSegment);
        assert_eq!(target("/posts/./a.txt"), Target::DotSegment);
    }

    #[test]
    fn queries_and_probes() {
        let request = parse(b"/posts/\tsome words").unwrap();
        assert_eq!(request.selector, "/posts/");
        assert_eq!(request.target, item(&["posts"], true));
        assert_eq!(target("\t$"), Target::PlusProbe);
        assert_eq!(target("/\t$"), Target::PlusProbe);
        assert_eq!(target("/x\t$"), item(&["x"], false));
        assert_eq!(target("caps.txt"), Target::Caps);
        assert_eq!(
            target("URL:https://example.org/"),
            Target::Url("https://example.org/".into())
        );
    }

    #[test]
    fn search_in_both_forms() {
        let search = |page: Option<&str>, query: &str| Target::Search {
            page: page.map(str::to_owned),
            query: query.to_owned(),
        };
        assert_eq!(target("/search\tsea wind"), search(None, "sea wind"));
        assert_eq!(target("/search/\t$"), search(None, ""));
        assert_eq!(
            target("/search/2/sea%20wind"),
            search(Some("2"), "sea wind")
        );
        assert_eq!(target("/search/2\tsea wind"), search(Some("2"), "sea wind"));
        assert_eq!(target("/search/2\tsea\t+"), search(Some("2"), "sea"));
        assert_eq!(target("/searches"), item(&["searches"], false));
    }

    #[test]
    fn http_requests_are_recognised() {
        assert_eq!(target("GET / HTTP/1.0"), Target::Http);
        assert_eq!(target("GET the book"), item(&["GET the book"], false));
        assert!(!is_http("/posts/x.txt"));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(b"/a\xff").unwrap_err(), "selector is not UTF-8");
        assert_eq!(
            parse(b"/a\0b").unwrap_err(),
            "control bytes in the selector"
        );
        assert_eq!(
            parse(b"/a\rb").unwrap_err(),
            "control bytes in the selector"
        );
        assert_eq!(
            parse("/a\u{85}".as_bytes()).unwrap_err(),
            "control bytes in the selector"
        );
    }

    #[test]
    fn url_pages_point_only_at_links() {
        for ok in [
            "URL:https://e.org/",
            "URL:gemini://e.org/",
            "URL:MAILTO:a@e.org",
        ] {
            assert!(
                matches!(parse(ok.as_bytes()).unwrap().target, Target::Url(_)),
                "{ok}"
            );
        }
        for bad in [
            "URL:javascript:alert(1)",
            "URL:JavaScript:x",
            "URL:data:text/html,<script>",
            "URL:vbscript:x",
            "URL:no-scheme",
            "URL:",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
