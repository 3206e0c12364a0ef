//! Former URLs, in text alone: the one form every way of writing an old address takes (so
//! `/a/b/`, `/a/b`, `/a/b/index.html` and `/a/b.html` are one), where a `redirect_to` sends
//! readers, and the URLs static-site generators gave posts by default.

use super::route::Route;
use super::url::{MAX_PATH_BYTES, encode_path, scheme_of};

/// Why a former URL or a redirect target cannot be taken.
pub type Refusal = &'static str;

/// The one form of a path within the capsule (decoded, from the root, no trailing slash)
/// that its variants share: a folder's index, an `.html`, `.htm` or `.gmi` page and the bare
/// path are one former URL. `None` for the root.
pub fn former_key(segments: &[&str]) -> Option<String> {
    let mut segments: Vec<&str> = segments.iter().copied().filter(|s| !s.is_empty()).collect();
    if segments
        .last()
        .is_some_and(|last| ["index.html", "index.htm", "index.gmi"].contains(last))
    {
        segments.pop();
    }
    let last = segments.pop()?;
    let stem = [".html", ".htm", ".gmi"]
        .iter()
        .find_map(|ext| last.strip_suffix(ext))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(last);
    segments.push(stem);
    Some(format!("/{}", segments.join("/")))
}

/// The form of a former URL as an author wrote it (`/old/path/`, `/old/path.html`, or
/// `old-name`, relative to `folder`, the decoded URL of the post's folder ending in `/`).
/// Only a path the server could be asked for and would otherwise not answer is taken, so the
/// server and a static copy answer the same ones: a scheme, a host, a query, a way out of the
/// capsule (`..` past the root), a hidden name (`.well-known`), a control character, an
/// encoded `/` or `\`, a name over 255 bytes (no file system holds it), a path too long to
/// request and a page the capsule makes itself ([`Route`]) are refused.
pub fn former_url(folder: &str, written: &str) -> Result<String, Refusal> {
    let written = written.trim();
    if scheme_of(written).is_some() || written.starts_with("//") {
        return Err("a full URL: only a path of this capsule can be a former URL");
    }
    if written.contains(['?', '#']) {
        return Err("a query or fragment cannot be part of a former URL");
    }
    let mut names: Vec<String> = Vec::new();
    if !written.starts_with('/') {
        names.extend(folder.split('/').map(str::to_owned));
    }
    // Each name decoded on its own: an encoded `/` stays inside its name, where it is refused.
    for raw in written.split('/') {
        names.push(
            percent_encoding::percent_decode_str(raw)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    let segments = normal_segments(names.iter().map(String::as_str))
        .ok_or("it leads out of the capsule (`..`)")?;
    for name in &segments {
        unrequestable(name)?;
    }
    let key = former_key(&segments).ok_or("the capsule's root is its home page")?;
    if encode_path(&key).len() >= MAX_PATH_BYTES {
        return Err("it is too long for a Gemini request (1024 bytes in all)");
    }
    let key_segments: Vec<String> = key.split('/').skip(1).map(str::to_owned).collect();
    if Route::parse(&key_segments).is_some() {
        return Err("the capsule makes a page of its own there");
    }
    Ok(key)
}

/// Why no request can name a path with this name in it, if none can.
fn unrequestable(name: &str) -> Result<(), Refusal> {
    if name.starts_with('.') {
        return Err("a name starting with `.` is hidden, and never answered");
    }
    if name.chars().any(char::is_control) {
        return Err("it holds a control character");
    }
    if name.contains(['/', '\\']) {
        return Err("it encodes `/` or `\\` inside a name, which no request may ask for");
    }
    if name.len() > MAX_NAME_BYTES {
        return Err("a name over 255 bytes, which no file system holds");
    }
    Ok(())
}

/// The longest file name file systems hold, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Where a `redirect_to` sends readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path of this capsule (percent-encoded) or a `gemini://` URL: answered `31`.
    Gemini(String),
    /// An `http(s)://` URL: many Gemini clients will not follow a redirect there, so readers
    /// are given a page with a link to it instead.
    Web(String),
}

impl Target {
    /// As a `redirect_to` value is kept: the web page's URL after `web:`, so it is one text.
    pub fn stored(&self) -> String {
        match self {
            Target::Gemini(url) => url.clone(),
            Target::Web(url) => format!("web:{url}"),
        }
    }

    /// A stored value read back.
    pub fn from_stored(stored: &str) -> Target {
        match stored.strip_prefix("web:") {
            Some(url) => Target::Web(url.to_owned()),
            None => Target::Gemini(stored.to_owned()),
        }
    }
}

/// Where a page's `redirect_to` leads: a root-relative path, a path relative to `folder` (the
/// decoded URL of the page's folder, ending in `/`), or a `gemini://`, `http://` or
/// `https://` URL. Other schemes, and paths out of the capsule, are refused.
pub fn redirect_target(folder: &str, written: &str) -> Result<Target, Refusal> {
    let written = written.trim();
    match scheme_of(written).map(str::to_ascii_lowercase).as_deref() {
        Some("gemini") => return Ok(Target::Gemini(written.to_owned())),
        Some("http" | "https") => return Ok(Target::Web(written.to_owned())),
        Some(_) => return Err("a scheme Gemini clients cannot follow"),
        None if written.starts_with("//") => return Err("a host without a scheme"),
        None => {}
    }
    let (path, suffix) = match written.find(['?', '#']) {
        Some(i) => written.split_at(i),
        None => (written, ""),
    };
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let absolute = match decoded.strip_prefix('/') {
        Some(_) => decoded.into_owned(),
        None => format!("{folder}{decoded}"),
    };
    let segments =
        normal_segments(absolute.split('/')).ok_or("it leads out of the capsule (`..`)")?;
    let slash = if absolute.ends_with('/') && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    let path = encode_path(&format!("/{}{slash}", segments.join("/")));
    Ok(Target::Gemini(format!("{path}{suffix}")))
}

/// The segments of a root-relative path (its names) with `.` and `..` worked out; `None` when a `..`
/// would climb above the root.
fn normal_segments<'a>(names: impl Iterator<Item = &'a str>) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    for segment in names {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The URL Jekyll's default permalink (`/:categories/:year/:month/:day/:title.html`) gave a
/// post: categories lower-cased, each once, in order; `day` is `YYYY-MM-DD`; `title` is the
/// file name's part after its date.
pub fn jekyll_url(categories: &[String], day: &str, title: &str) -> String {
    let mut parts = category_path(categories);
    parts.push(day.replace('-', "/"));
    format!("/{}/{title}.html", parts.join("/"))
}

/// Categories as Jekyll puts them in a URL: lower-cased, each once, in order.
fn category_path(categories: &[String]) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for category in categories {
        let lower = category.to_lowercase();
        if !lower.is_empty() && !parts.contains(&lower) {
            parts.push(lower);
        }
    }
    parts
}

/// A Jekyll-style permalink with its placeholders filled (`:year`, `:month`, `:day`, `:title`,
/// `:slug`, `:categories`), from the same facts as [`jekyll_url`]; refused when it names one
/// gemhole cannot know.
pub fn expand_permalink(
    pattern: &str,
    categories: &[String],
    day: &str,
    title: &str,
) -> Result<String, Refusal> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    let mut date = day.splitn(3, '-');
    let (year, month, mday) = (
        date.next().unwrap_or(""),
        date.next().unwrap_or(""),
        date.next().unwrap_or(""),
    );
    while let Some(at) = rest.find(':') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let value = match &after[..end] {
            "year" => year.to_owned(),
            "month" => month.to_owned(),
            "day" => mday.to_owned(),
            "title" | "slug" => title.to_owned(),
            "categories" => category_path(categories).join("/"),
            "" => ":".to_owned(),
            _ => {
                return Err(
                    "a placeholder gemhole does not fill (`:year`, `:month`, `:day`, `:title`, `:slug` and `:categories` are)",
                );
            }
        };
        out.push_str(&value);
        rest = &after[end..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_writing_one_old_address_is_one_former_url() {
        let one = Ok("/old/path".to_owned());
        for written in [
            "/old/path/",
            "/old/path",
            "/old/path/index.html",
            "/old/path.html",
            "/old/path.htm",
            "/old/path.gmi",
            "/old//./path/",
            "path",
            "../old/path/",
        ] {
            assert_eq!(former_url("/old/", written), one, "{written}");
        }
        assert_eq!(former_url("/", "/caf%C3%A9/"), Ok("/café".to_owned()));
        assert_eq!(former_key(&["a", "index.gmi"]), Some("/a".to_owned()));
        assert_eq!(former_key(&[".html"]), Some("/.html".to_owned()));
        assert_eq!(former_key(&["index.html"]), None);
    }

    #[test]
    fn a_former_url_never_leaves_the_capsule() {
        for written in [
            "https://example.com/old/",
            "//example.com/old",
            "gemini://host/x",
            "/../../etc/passwd",
            "../../x",
            "/",
            "/x?y=1",
        ] {
            assert!(former_url("/posts/", written).is_err(), "{written}");
        }
    }

    /// Only a path a request can name, and that the capsule does not answer by a page of its
    /// own, is a former URL.
    #[test]
    fn a_former_url_is_a_path_the_server_could_be_asked_for() {
        let long_name = format!("/{}/", "a".repeat(256));
        let long_path = format!("/{}", "abcdefgh/".repeat(101));
        for written in [
            "/atom.xml",
            "/robots.txt",
            "/archive/",
            "/archive.gmi",
            "/tags/",
            "/tags.html",
            "/tags/rust/",
            "/series/",
            "/series/sail/atom.xml",
            "/search",
            "/search/2",
            "/drafts/",
            "/.well-known/x",
            "/.hidden/x/",
            "/nul\0x/",
            "/a%0D%0Ab/",
            "/back%5Cslash/",
            "/a%2fb/",
            "/a\\b",
            &long_name,
            &long_path,
        ] {
            assert!(former_url("/", written).is_err(), "{written:?}");
        }
        let fits = format!("/{}/", "a".repeat(255));
        assert!(former_url("/", &fits).is_ok());
        // A name that only begins like a generated page's is the capsule's.
        for written in [
            "/archives/",
            "/tags/a/b/",
            "/series/s/x",
            "/search/1/2",
            "/x.well-known",
        ] {
            assert!(former_url("/", written).is_ok(), "{written}");
        }
    }

    #[test]
    fn a_redirect_target_is_a_path_of_the_capsule_or_a_url_readers_can_follow() {
        let target = |w| redirect_target("/blog/", w);
        assert_eq!(target("/new/"), Ok(Target::Gemini("/new/".into())));
        assert_eq!(
            target("other.gmi"),
            Ok(Target::Gemini("/blog/other.gmi".into()))
        );
        assert_eq!(target("../a b/#x"), Ok(Target::Gemini("/a%20b/#x".into())));
        assert_eq!(
            target("gemini://example.org/x"),
            Ok(Target::Gemini("gemini://example.org/x".into()))
        );
        let web = target("https://example.org/x").unwrap();
        assert_eq!(web, Target::Web("https://example.org/x".into()));
        assert_eq!(Target::from_stored(&web.stored()), web);
        assert!(target("mailto:me@example.org").is_err());
        assert!(target("../../../x").is_err());
    }

    #[test]
    fn jekyll_placed_posts_by_category_and_date() {
        let categories = ["Rust".to_owned(), "Web".to_owned(), "rust".to_owned()];
        assert_eq!(
            jekyll_url(&categories, "2024-03-01", "knots"),
            "/rust/web/2024/03/01/knots.html"
        );
        assert_eq!(jekyll_url(&[], "2009-12-25", "x"), "/2009/12/25/x.html");
        let expand = |p| expand_permalink(p, &categories, "2024-03-01", "knots");
        assert_eq!(
            expand("/:categories/:year/:month/:title/"),
            Ok("/rust/web/2024/03/knots/".to_owned())
        );
        assert_eq!(
            expand("/blog/:day-:slug.html"),
            Ok("/blog/01-knots.html".to_owned())
        );
        assert!(expand("/:i_month/:title").is_err());
    }
}
