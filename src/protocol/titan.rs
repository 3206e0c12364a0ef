//! Titan request lines (`titan://host/path;size=N;mime=T;token=X`): an upload's target and its
//! parameters, or the precise reason it is refused.
//!
//! Pure functions only (no I/O), so every rule is unit-testable and fuzzable. The parameters
//! are cut from the raw line before any URL parser sees it (one would decode `%3B` into a
//! separator, or drop the space of Lagrange's `mime=text/plain; charset=utf-8`); what is left
//! is an ordinary URL, checked by the Gemini request rules ([`request::parse`]).

use percent_encoding::percent_decode_str;

use super::request::{self, MAX_URL_BYTES, Rejection, Request};
use super::status::Status;

/// A parsed Titan request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitanRequest {
    /// The target, as a Gemini request for the same host and path would have it.
    pub target: Request,
    /// The body's length in bytes (`None` only for `;edit`).
    pub size: Option<u64>,
    /// The MIME type the client named: a hint only (what is stored is decided by the path).
    pub mime: Option<String>,
    /// The token, percent-decoded. Never logged.
    pub token: Option<Vec<u8>>,
    /// `;edit`: the client asks for the page's source, to send it back changed.
    pub edit: bool,
}

/// Whether a request line is a Titan request (its scheme is `titan`, in any case).
pub fn is_titan(line: &[u8]) -> bool {
    line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"titan://")
}

fn bad(reason: &'static str) -> Rejection {
    Rejection {
        status: Status::BadRequest,
        reason,
    }
}

/// Parses a Titan request line (the bytes before the CRLF).
pub fn parse(line: &[u8]) -> Result<TitanRequest, Rejection> {
    if line.len() > MAX_URL_BYTES {
        return Err(bad("URL longer than 1024 bytes"));
    }
    if !is_titan(line) {
        return Err(bad("Not a titan:// URL"));
    }
    let text = std::str::from_utf8(line).map_err(|_| bad("Request is not valid UTF-8"))?;
    let rest = &text["titan://".len()..];
    let path_start = rest
        .find(['/', '?', '#', ';'])
        .filter(|&i| rest.as_bytes()[i] == b'/')
        .ok_or(bad("A Titan URL needs a path: the file to write"))?;
    let (authority, after) = rest.split_at(path_start);
    // Parameters start at the first `;` of the path (a `;` inside a file name is written
    // `%3B`) and end at a query.
    let (path, params, query) = match after.find(';') {
        Some(semi) => {
            let (path, tail) = after.split_at(semi);
            if path.contains('#') {
                return Err(bad("URL contains a fragment, which Gemini forbids"));
            }
            if path.contains('?') {
                return Err(bad(
                    "Titan parameters belong after the path, before any query",
                ));
            }
            let (params, query) = match tail.find(['?', '#']) {
                Some(q) => tail.split_at(q),
                None => (tail, ""),
            };
            (path, &params[1..], query)
        }
        None => match after.find(['?', '#']) {
            Some(q) => (&after[..q], "", &after[q..]),
            None => (after, "", ""),
        },
    };
    let target = request::parse(format!("gemini://{authority}{path}{query}").as_bytes())?;
    let mut parsed = TitanRequest {
        target,
        size: None,
        mime: None,
        token: None,
        edit: false,
    };
    read_params(params, &mut parsed)?;
    let target = &parsed.target;
    if target.ends_with_slash || target.segments.is_empty() {
        return Err(bad("A Titan URL names a file, not a folder"));
    }
    match (parsed.edit, parsed.size) {
        (true, Some(size)) if size > 0 => {
            Err(bad("An edit request carries no body: send `;edit` alone"))
        }
        (false, None) => Err(bad(
            "A Titan upload needs `;size=N`: the length of the body in bytes",
        )),
        _ => Ok(parsed),
    }
}

/// Reads `key=value` parameters separated by `;`, in any order. A piece that starts with a
/// space continues the MIME type (`mime=text/plain; charset=utf-8`, as Lagrange sends it).
fn read_params(params: &str, parsed: &mut TitanRequest) -> Result<(), Rejection> {
    if params.is_empty() {
        return Ok(());
    }
    let mut last_was_mime = false;
    for piece in params.split(';') {
        if piece.chars().any(char::is_control) {
            return Err(bad("Titan parameters hold a control character"));
        }
        if let Some(more) = piece.strip_prefix(' ') {
            match (&mut parsed.mime, last_was_mime) {
                (Some(mime), true) if !more.contains(' ') => {
                    mime.push_str("; ");
                    mime.push_str(&decoded(more)?);
                    continue;
                }
                _ => return Err(bad("Titan parameters hold a space")),
            }
        }
        if piece.contains(' ') {
            return Err(bad("Titan parameters hold a space"));
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        last_was_mime = false;
        match key.to_ascii_lowercase().as_str() {
            "size" => {
                if parsed.size.is_some() {
                    return Err(bad("`size` is given twice"));
                }
                if value.is_empty()
                    || value.len() > 19
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(bad("`size` must be a number of bytes"));
                }
                parsed.size = Some(value.parse().map_err(|_| bad("`size` is too large"))?);
            }
            "mime" => {
                if parsed.mime.is_some() {
                    return Err(bad("`mime` is given twice"));
                }
                parsed.mime = Some(decoded(value)?);
                last_was_mime = true;
            }
            "token" => {
                if parsed.token.is_some() {
                    return Err(bad("`token` is given twice"));
                }
                parsed.token = Some(percent_decode_str(value).collect());
            }
            "edit" if value.is_empty() => parsed.edit = true,
            "edit" => return Err(bad("`edit` takes no value")),
            "" => return Err(bad("An empty Titan parameter")),
            // A `;` of the file name (`a;b.gmi`), unencoded: the upload would go elsewhere.
            _ if !piece.contains('=') => {
                return Err(bad(
                    "A Titan parameter without a value: a `;` in a file name is written `%3B`",
                ));
            }
            // The spec names no others: a client's extension is not ours to refuse.
            _ => {}
        }
    }
    Ok(())
}

fn decoded(value: &str) -> Result<String, Rejection> {
    let text = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| bad("A Titan parameter is not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(bad("Titan parameters hold a control character"));
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> TitanRequest {
        parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {}", e.reason))
    }

    fn refused(line: &str) -> &'static str {
        let e = parse(line.as_bytes()).unwrap_err();
        assert_eq!(e.status, Status::BadRequest, "{line}");
        e.reason
    }

    #[test]
    fn parameters_in_any_order_with_lagranges_forms() {
        let a = ok("titan://example.org:1965/posts/x.md;mime=text/plain;size=12;token=a%20b");
        assert_eq!(a.target.host.as_str(), "example.org");
        assert_eq!(a.target.port, Some(1965));
        assert_eq!(a.target.segments, ["posts", "x.md"]);
        assert_eq!(a.target.raw_path, "/posts/x.md");
        assert_eq!(a.size, Some(12));
        assert_eq!(a.mime.as_deref(), Some("text/plain"));
        assert_eq!(a.token.as_deref(), Some(&b"a b"[..]));
        let b = ok("TITAN://example.org/posts/x.md;token=t;size=0;mime=x");
        assert_eq!((b.size, b.token.as_deref()), (Some(0), Some(&b"t"[..])));
        let c = ok("titan://example.org/p/x.txt;mime=text/plain; charset=utf-8;size=5");
        assert_eq!(c.mime.as_deref(), Some("text/plain; charset=utf-8"));
        assert_eq!(c.size, Some(5));
        let d = ok("titan://example.org/p/caf%C3%A9.md;size=1?ignored=1");
        assert_eq!(d.target.segments, ["p", "café.md"]);
        let e = ok("titan://example.org/posts/x.gmi;edit");
        assert!(e.edit && e.size.is_none());
        // A path that only looks like a parameter is a file name.
        let f = ok("titan://example.org/a%3Bsize=9/b.md;size=3");
        assert_eq!(
            (f.target.segments[0].as_str(), f.size),
            ("a;size=9", Some(3))
        );
        assert!(ok("titan://h/a.md;size=1;future=x").size == Some(1));
        assert!(refused("titan://h/posts/a;b.gmi;size=5").contains("%3B"));
        assert!(refused("titan://h/posts/a;b.gmi;edit").contains("%3B"));
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(refused("titan://h/posts/x.md").contains("size"));
        assert!(refused("titan://h/posts/x.md;size=").contains("size"));
        assert!(refused("titan://h/posts/x.md;size=-1").contains("size"));
        assert!(refused("titan://h/posts/x.md;size=1e3").contains("size"));
        assert!(refused("titan://h/posts/x.md;size=99999999999999999999").contains("size"));
        assert!(refused("titan://h/posts/x.md;size=1;size=2").contains("twice"));
        assert!(refused("titan://h/posts/../x.md;size=1").contains("`..`"));
        assert!(refused("titan://h/posts/%2e%2e/x.md;size=1").contains("`..`"));
        assert!(refused("titan://h/posts/%2E%2E/x.md;size=1").contains("`..`"));
        // Names are the upload's to judge, once its place is known (`61` comes first).
        assert!(ok("titan://h/.git/config;size=1").size == Some(1));
        assert!(refused("titan://h/posts/;size=1").contains("folder"));
        assert!(refused("titan://h;size=1").contains("path"));
        assert!(refused("titan://h/x.md;size=1;edit").contains("no body"));
        assert!(refused("titan://h/x.md;edit=1").contains("no value"));
        assert!(refused("titan://h/x.md;size=1; charset=x").contains("space"));
        assert!(refused("titan://h/x.md;mime=a b;size=1").contains("space"));
        assert!(refused("titan://h/x.md;size=1;token=\u{7f}").contains("control"));
        assert!(refused("titan://u@h/x.md;size=1").contains("userinfo"));
        assert!(refused("titan://h/x%00.md;size=1").contains("NUL"));
        assert!(refused("titan://h/x.md;;size=1").contains("empty"));
        assert!(refused("titan://h/a?q;size=1").contains("before any query"));
        assert!(refused("titan://h/a.md#f;size=1").contains("fragment"));
        let long = format!("titan://h/{};size=1", "a".repeat(1100));
        assert!(refused(&long).contains("1024"));
    }

    #[test]
    fn only_titan_lines_are_titan() {
        assert!(is_titan(b"titan://h/x"));
        assert!(is_titan(b"Titan://h/x"));
        assert!(!is_titan(b"gemini://h/x"));
        assert!(!is_titan(b"titan:/"));
    }
}
