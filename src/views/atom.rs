//! Atom 1.0 feeds of the capsule's posts: one for the whole capsule, one per series.
//!
//! Feed readers need absolute URLs, so these are the only pages that carry `gemini://` links;
//! they are built from the public host and port. Each entry carries its post's gemtext as plain
//! text (never as HTML) and the summary from its front matter.
//!
//! Ids are `tag:` URIs (RFC 4151) minted from the first configured hostname and the post's
//! source file, never from its URL: a reader who already has an entry keeps it when the post
//! gets a new `slug`, or the capsule a new port, and no port ever goes into an id.

use std::fmt::Write;
use std::path::{Component, Path};

use crate::content::markdown::Text;
use crate::content::{Post, Series, Site};
use crate::convert::route::Route;
use crate::convert::url::{Origin, byte_set, encode_except};

/// The most entries a feed (the capsule's or a series') carries, newest first. Readers keep the
/// entries they have fetched, and each entry holds its whole post, so older ones would only
/// make every fetch bigger.
pub const MAX_ENTRIES: usize = 50;

/// The date part of the feeds' own ids (`tag:host,2000:feed`): fixed, so a feed's id never
/// changes; entries use the year of their post's date instead.
pub const FEED_ID_YEAR: &str = "2000";

/// What a feed says of the capsule, from the settings rather than the request, so it is the
/// same whichever of the capsule's names and ports a reader asked for.
#[derive(Debug, Clone, Copy)]
pub struct FeedInfo<'a> {
    /// The capsule feed's title; a series feed is titled by its series.
    pub title: &'a str,
    pub author: &'a str,
    /// The canonical hostname (the first configured), whose name ids are minted under.
    pub host: &'a str,
}

/// The feed of the newest published posts, newest first.
pub fn capsule_feed(site: &Site, origin: &Origin, info: &FeedInfo<'_>) -> String {
    let posts: Vec<&Post> = site.posts.iter().take(MAX_ENTRIES).map(|p| &**p).collect();
    let self_url = Route::Feed.url();
    let head = Head {
        id: tag(info.host, FEED_ID_YEAR, "feed"),
        title: info.title,
        author: info.author,
        self_url: &self_url,
        page_url: "/",
    };
    feed(site, origin, info.host, &head, &posts)
}

/// The feed of one series: the newest of its parts, supplements and see-also posts, newest
/// first.
pub fn series_feed(site: &Site, series: &Series, origin: &Origin, info: &FeedInfo<'_>) -> String {
    let members = &series.members;
    let mut posts: Vec<&Post> = members
        .parts
        .iter()
        .chain(&members.supplements)
        .chain(&members.see_also)
        .filter_map(|m| site.post(&m.path))
        .collect();
    posts.sort_by(|a, b| {
        b.meta
            .date
            .cmp(&a.meta.date)
            .then_with(|| a.url.cmp(&b.url))
    });
    posts.truncate(MAX_ENTRIES);
    let self_url = Route::SeriesFeed(&series.slug).url();
    let page_url = Route::Series(&series.slug).url();
    let head = Head {
        id: tag(info.host, FEED_ID_YEAR, &format!("series/{}", series.slug)),
        title: &series.name,
        author: info.author,
        self_url: &self_url,
        page_url: &page_url,
    };
    feed(site, origin, info.host, &head, &posts)
}

/// The id of a post's entry: `tag:<host>,<year of its date>:<source file>`, e.g.
/// `tag:example.org,2024:posts/knots.md`. The year is the author's (in the offset they wrote),
/// as the post's pages show its date.
pub fn entry_id(host: &str, post: &Post) -> String {
    // RFC 4151 wants four digits; a date outside them is kept to the nearest year that has.
    let year = format!("{:04}", post.meta.date.year().clamp(0, 9999));
    tag(host, &year, &source_path(&post.source))
}

/// The first level-1 heading of a gemtext page (outside preformatted blocks), the title a
/// capsule's home page gives it.
pub fn first_heading(gemtext: &str) -> Option<&str> {
    for (prose, line) in crate::convert::gemtext::text_lines(gemtext) {
        if prose
            && let Some(text) = line.strip_prefix('#')
            && !text.starts_with('#')
            && !text.trim().is_empty()
        {
            return Some(text.trim());
        }
    }
    None
}

/// What the feed says of itself.
struct Head<'a> {
    id: String,
    title: &'a str,
    author: &'a str,
    self_url: &'a str,
    page_url: &'a str,
}

fn feed(site: &Site, origin: &Origin, host: &str, head: &Head<'_>, posts: &[&Post]) -> String {
    let updated = posts
        .iter()
        .map(|p| p.meta.updated)
        // The latest instant, whatever day it is shown on.
        .max_by_key(|d| d.at())
        .map(|d| d.rfc3339_utc())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    let mut xml = String::with_capacity(512 + posts.len() * 400);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(xml, "  <id>{}</id>", escape(&head.id));
    let _ = writeln!(xml, "  <title>{}</title>", escape(head.title));
    let _ = writeln!(xml, "  <updated>{updated}</updated>");
    let _ = writeln!(
        xml,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        escape(&origin.absolute(head.self_url))
    );
    let _ = writeln!(
        xml,
        "  <link rel=\"alternate\" type=\"{}\" href=\"{}\"/>",
        origin.page_type(),
        escape(&origin.absolute(head.page_url))
    );
    let _ = writeln!(
        xml,
        "  <author><name>{}</name></author>",
        escape(head.author)
    );
    for post in posts {
        let url = escape(&origin.absolute(&post.url));
        xml.push_str("  <entry>\n");
        let _ = writeln!(xml, "    <id>{}</id>", escape(&entry_id(host, post)));
        let _ = writeln!(xml, "    <title>{}</title>", escape(&post.meta.title));
        let _ = writeln!(
            xml,
            "    <published>{}</published>",
            post.meta.date.rfc3339_utc()
        );
        let _ = writeln!(
            xml,
            "    <updated>{}</updated>",
            post.meta.updated.rfc3339_utc()
        );
        let _ = writeln!(
            xml,
            "    <link rel=\"alternate\" type=\"{}\" href=\"{url}\"/>",
            origin.page_type()
        );
        if let Some(summary) = &post.meta.summary {
            let _ = writeln!(xml, "    <summary>{}</summary>", escape(summary));
        }
        // As served, without a series' navigation; a gemtext file too large to hold in
        // memory has none.
        if let Some(Text::Page(page)) = site.text(&post.source)
            && page.withheld.is_none()
        {
            let _ = writeln!(
                xml,
                "    <content type=\"text\">{}</content>",
                escape(&capped(&page.gemtext, &url))
            );
        }
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

/// The most of a post's text an entry carries: a feed of long posts stays a few megabytes (it
/// is made per request when it is not kept, so its size is what each reader costs).
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

/// `gemtext` cut at a line end within [`MAX_CONTENT_BYTES`], with a link to the whole post.
fn capped<'a>(gemtext: &'a str, url: &str) -> std::borrow::Cow<'a, str> {
    if gemtext.len() <= MAX_CONTENT_BYTES {
        return gemtext.into();
    }
    let mut end = MAX_CONTENT_BYTES;
    while !gemtext.is_char_boundary(end) {
        end -= 1;
    }
    let end = gemtext[..end].rfind('\n').map_or(end, |i| i + 1);
    format!("{}\n…\n=> {url} The whole post\n", &gemtext[..end]).into()
}

/// `tag:<authority>,<date>:<specific>`, with what the specific part may not hold
/// percent-encoded.
fn tag(host: &str, date: &str, specific: &str) -> String {
    format!(
        "tag:{},{date}:{}",
        tag_authority(host),
        encode_except(specific, &TAG_BYTES)
    )
}

/// A hostname as RFC 4151 takes it: labels of letters, digits and inner `-`. An IPv6 address
/// is written as its eight groups joined by `-` (`::1` → `0-0-0-0-0-0-0-1`); another character
/// a label may not hold becomes `-`, and a label's leading or trailing `-` is dropped.
fn tag_authority(host: &str) -> String {
    if let Ok(v6) = host.trim_matches(['[', ']']).parse::<std::net::Ipv6Addr>() {
        return v6
            .segments()
            .iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join("-");
    }
    let labels: Vec<String> = host
        .split('.')
        .map(|label| {
            label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .trim_matches('-')
                .to_owned()
        })
        .filter(|label| !label.is_empty())
        .collect();
    if labels.is_empty() {
        "localhost".to_owned()
    } else {
        labels.join(".")
    }
}

/// A source file's path with `/` between its parts, whatever the platform writes.
fn source_path(source: &Path) -> String {
    source
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The bytes a tag URI's specific part may hold as they are (RFC 4151: `pchar`, `/`, `?`);
/// `%` is always escaped, since file names are not already encoded.
static TAG_BYTES: [bool; 256] =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?");

/// Escapes text for XML content and attribute values, dropping characters XML 1.0 forbids.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::BuildOptions;
    use crate::content::CapsuleRoot;

    const INFO: FeedInfo<'static> = FeedInfo {
        title: "My Gemlog",
        author: "Ann Example",
        host: "example.org",
    };

    /// A site read from a capsule holding `files` (path, text).
    fn site(files: &[(&str, String)]) -> (tempfile::TempDir, Site) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let root = CapsuleRoot::open(dir.path()).unwrap();
        let (site, _) = Site::build(&root, &BuildOptions::default());
        (dir, site)
    }

    fn post(title: &str, date: &str, extra: &str, body: &str) -> String {
        format!("---\ntitle: {title}\ndate: {date}\n{extra}---\n{body}\n")
    }

    /// The text of each child element of the feed (or of its entries) called `name`.
    fn texts(xml: &str, name: &str, in_entries: bool) -> Vec<String> {
        let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
        let feed = doc.root_element();
        let parents: Vec<_> = if in_entries {
            feed.children()
                .filter(|n| n.has_tag_name("entry"))
                .collect()
        } else {
            vec![feed]
        };
        parents
            .iter()
            .flat_map(|p| p.children().filter(|n| n.has_tag_name(name)))
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"c'\u{1}d"), "a&lt;b&gt;&amp;&quot;c&apos;d");
    }

    #[test]
    fn entries_carry_their_gemtext_escaped_beside_the_summary() {
        let (_dir, site) = site(&[
            (
                "posts/knots.md",
                post(
                    "Knots",
                    "2024-03-11",
                    "summary: Bends & hitches\n",
                    "1 < 2 & \"c\".",
                ),
            ),
            ("posts/plain.gmi", "# Plain\n\n=> /x.gmi <x> & y\n".into()),
        ]);
        let xml = capsule_feed(&site, &Origin::new("example.org", 1965), &INFO);
        assert!(
            xml.contains("<content type=\"text\"># Knots\n\n1 &lt; 2 &amp; &quot;c&quot;."),
            "{xml}"
        );
        assert_eq!(texts(&xml, "summary", true), ["Bends & hitches"]);
        let Some(Text::Page(page)) = site.text(Path::new("posts/knots.md")) else {
            panic!("no page for the post");
        };
        let Some(Text::Page(plain)) = site.text(Path::new("posts/plain.gmi")) else {
            panic!("no page for the gemtext post");
        };
        // Newest first: the gemtext file has no date, so it is dated by its file (now).
        assert_eq!(
            texts(&xml, "content", true),
            [plain.gemtext.clone(), page.gemtext.clone()]
        );
    }

    #[test]
    fn ids_are_tag_uris_of_the_source_file_whatever_the_slug_and_port() {
        let files = |slug: &str| {
            vec![(
                "posts/knots.md",
                post(
                    "Knots",
                    "2024-12-31T23:30:00-05:00",
                    &format!("slug: {slug}\nseries: Learning to Sail\n"),
                    "Text.",
                ),
            )]
        };
        let (_a, before) = site(&files("knots"));
        let (_b, after) = site(&files("bends-and-hitches"));
        let old = capsule_feed(&before, &Origin::new("example.org", 1965), &INFO);
        let new = capsule_feed(&after, &Origin::new("example.org", 1966), &INFO);
        assert_eq!(texts(&old, "id", false), ["tag:example.org,2000:feed"]);
        // The year is the author's: 2024, though the date is 2025 in UTC.
        assert_eq!(
            texts(&old, "id", true),
            ["tag:example.org,2024:posts/knots.md"]
        );
        assert_eq!(texts(&new, "id", false), texts(&old, "id", false));
        assert_eq!(texts(&new, "id", true), texts(&old, "id", true));
        // Links follow the post and the port.
        assert!(new.contains("href=\"gemini://example.org:1966/posts/bends-and-hitches.gmi\""));

        let series = &after.series[0];
        let feed = series_feed(&after, series, &Origin::new("example.org", 1966), &INFO);
        assert_eq!(
            texts(&feed, "id", false),
            ["tag:example.org,2000:series/learning-to-sail"]
        );
        assert_eq!(texts(&feed, "id", true), texts(&old, "id", true));
    }

    #[test]
    fn what_a_tag_uri_may_not_hold_is_percent_encoded() {
        let (_dir, site) = site(&[("posts/a b%#ü[1].md", post("Odd", "2024-01-02", "", "Text."))]);
        let post = &site.posts[0];
        assert_eq!(
            entry_id("example.org", post),
            "tag:example.org,2024:posts/a%20b%25%23%C3%BC%5B1%5D.md"
        );
        // The authority is a DNS name as RFC 4151 has it, whatever the hostname.
        assert_eq!(
            entry_id("::1", post),
            "tag:0-0-0-0-0-0-0-1,2024:posts/a%20b%25%23%C3%BC%5B1%5D.md"
        );
        assert_eq!(tag_authority("fe80::1"), "fe80-0-0-0-0-0-0-1");
        assert_eq!(tag_authority("a_b.-x.example"), "a-b.x.example");
        assert_eq!(tag_authority("127.0.0.1"), "127.0.0.1");
        assert_eq!(
            tag("example.org", FEED_ID_YEAR, "series/bücher"),
            "tag:example.org,2000:series/b%C3%BCcher"
        );
    }

    #[test]
    fn title_and_author_come_from_the_info_and_series_keep_their_name() {
        let (_dir, site) = site(&[(
            "posts/knots.md",
            post("Knots", "2024-03-11", "series: Sail & Row\n", "Text."),
        )]);
        let origin = Origin::new("example.org", 1965);
        let feed = capsule_feed(&site, &origin, &INFO);
        assert_eq!(texts(&feed, "title", false), ["My Gemlog"]);
        assert!(
            feed.contains("<author><name>Ann Example</name></author>"),
            "{feed}"
        );
        let series = series_feed(&site, &site.series[0], &origin, &INFO);
        assert_eq!(texts(&series, "title", false), ["Sail & Row"]);
        assert!(
            series.contains("<author><name>Ann Example</name></author>"),
            "{series}"
        );
    }

    #[test]
    fn long_posts_are_cut_at_a_line_with_a_link_to_the_rest() {
        let line = "é".repeat(99) + "\n";
        let long = line.repeat(MAX_CONTENT_BYTES / line.len() + 5);
        let cut = capped(&long, "gemini://h/p.gmi");
        assert!(cut.len() < MAX_CONTENT_BYTES + 100, "{}", cut.len());
        assert!(cut.ends_with("é\n\n…\n=> gemini://h/p.gmi The whole post\n"));
        assert_eq!(capped("short\n", "u"), "short\n");
    }

    #[test]
    fn feeds_hold_the_newest_posts_up_to_the_cap() {
        let files: Vec<(String, String)> = (0..MAX_ENTRIES + 10)
            .map(|i| {
                let date = jiff::civil::date(2024, 1, 1)
                    .checked_add(jiff::Span::new().days(i as i64))
                    .unwrap();
                (
                    format!("posts/p{i:03}.md"),
                    post(
                        &format!("Post {i}"),
                        &date.to_string(),
                        &format!("series: Long\npart: {}\n", i + 1),
                        "Text.",
                    ),
                )
            })
            .collect();
        let files: Vec<(&str, String)> =
            files.iter().map(|(p, t)| (p.as_str(), t.clone())).collect();
        let (_dir, site) = site(&files);
        let origin = Origin::new("example.org", 1965);
        let newest = format!("Post {}", MAX_ENTRIES + 9);
        let oldest_kept = "Post 10";
        for xml in [
            capsule_feed(&site, &origin, &INFO),
            series_feed(&site, &site.series[0], &origin, &INFO),
        ] {
            let titles = texts(&xml, "title", true);
            assert_eq!(titles.len(), MAX_ENTRIES);
            assert_eq!(titles[0], newest);
            assert_eq!(titles[MAX_ENTRIES - 1], oldest_kept);
        }
    }

    #[test]
    fn the_first_heading_is_a_level_one_line_outside_preformatted_text() {
        let text = "## Sub\n```\n# Not this\n```\n#\n#Welcome aboard \n# Later\n";
        assert_eq!(first_heading(text), Some("Welcome aboard"));
        assert_eq!(first_heading("Just text.\n## Sub\n"), None);
    }
}
