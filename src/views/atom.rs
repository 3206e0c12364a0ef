//! Atom 1.0 feeds of the capsule's posts: one for the whole capsule, one per series.
//!
//! Feed readers need absolute URLs, so these are the only pages that carry `gemini://` links;
//! they are built from the public host and port. Summaries come from front matter; gemtext is
//! never embedded as HTML.

use std::fmt::Write;

use crate::content::site::{Post, Series, Site};
use crate::convert::url::Origin;

/// The URL of the whole capsule's feed.
pub const FEED_URL: &str = "/atom.xml";

/// The URL of a series' feed.
pub fn series_feed_url(series: &Series) -> String {
    format!("{}atom.xml", super::pages::series_url(series))
}

/// The feed of every published post, newest first.
pub fn capsule_feed(site: &Site, origin: &Origin, title: &str) -> String {
    let posts: Vec<&Post> = site.posts.iter().map(|p| &**p).collect();
    feed(origin, title, FEED_URL, "/", &posts)
}

/// The feed of one series: its parts, supplements and see-also posts, newest first.
pub fn series_feed(site: &Site, series: &Series, origin: &Origin) -> String {
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
    let index = super::pages::series_url(series);
    feed(
        origin,
        &series.name,
        &series_feed_url(series),
        &index,
        &posts,
    )
}

fn feed(origin: &Origin, title: &str, self_url: &str, page_url: &str, posts: &[&Post]) -> String {
    let updated = posts
        .iter()
        .map(|p| p.meta.updated)
        .max()
        .map(|d| d.rfc3339_utc())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    let mut xml = String::with_capacity(512 + posts.len() * 400);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(xml, "  <id>{}</id>", escape(&origin.absolute(self_url)));
    let _ = writeln!(xml, "  <title>{}</title>", escape(title));
    let _ = writeln!(xml, "  <updated>{updated}</updated>");
    let _ = writeln!(
        xml,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        escape(&origin.absolute(self_url))
    );
    let _ = writeln!(
        xml,
        "  <link rel=\"alternate\" type=\"text/gemini\" href=\"{}\"/>",
        escape(&origin.absolute(page_url))
    );
    let _ = writeln!(xml, "  <author><name>{}</name></author>", escape(title));
    for post in posts {
        let url = escape(&origin.absolute(&post.url));
        xml.push_str("  <entry>\n");
        let _ = writeln!(xml, "    <id>{url}</id>");
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
            "    <link rel=\"alternate\" type=\"text/gemini\" href=\"{url}\"/>"
        );
        if let Some(summary) = &post.meta.summary {
            let _ = writeln!(xml, "    <summary>{}</summary>", escape(summary));
        }
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    xml
}

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

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"c'\u{1}d"), "a&lt;b&gt;&amp;&quot;c&apos;d");
    }
}
