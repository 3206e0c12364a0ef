//! Raw HTML inside Markdown, reduced to what gemtext can carry: its text, line breaks, links
//! and images. Comments, `<script>` and `<style>` vanish with their contents.
//!
//! pulldown-cmark hands raw HTML over in pieces (a block line by line, inline tags one by one),
//! so this is a character-at-a-time state machine that keeps its state between pieces. Every
//! character is looked at once, and a tag that never closes is given up on after a bounded
//! length and kept as text, so any input is handled in linear time.

use std::borrow::Cow;

/// Longest tag (or declaration) kept while waiting for its `>`.
const MAX_TAG_BYTES: usize = 8 * 1024;

/// Elements whose contents are never shown.
const HIDDEN_ELEMENTS: [&str; 2] = ["script", "style"];

/// Elements that start a new block of text.
const BLOCK_ELEMENTS: [&str; 31] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
];

/// What a piece of HTML amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HtmlEvent {
    /// Text, entities decoded, white space as written.
    Text(String),
    /// `<br>`: a line break within the block.
    Break,
    /// A block-level element began or ended: a new paragraph.
    BlockBreak,
    /// `<a href>`; the text up to [`HtmlEvent::LinkEnd`] is its label.
    LinkStart(String),
    LinkEnd,
    /// `<img src alt>`.
    Image {
        src: String,
        alt: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Text,
    /// After `<`, collecting a tag, declaration or comment opener. Quotes count once an `=`
    /// has been seen (attribute values), so `<` in `title="a>b"` does not end the tag.
    Tag {
        quote: Option<char>,
        seen_eq: bool,
    },
    /// Inside `<!-- … -->`; counts the dashes just seen.
    Comment {
        dashes: u8,
    },
    /// Inside a hidden element, waiting for its closing tag.
    Hidden {
        element: &'static str,
    },
}

/// Turns raw HTML pieces into [`HtmlEvent`]s.
#[derive(Debug)]
pub struct HtmlStripper {
    state: State,
    /// The tag being collected, or the tail of a hidden element's text.
    buf: String,
}

impl Default for HtmlStripper {
    fn default() -> Self {
        HtmlStripper {
            state: State::Text,
            buf: String::new(),
        }
    }
}

impl HtmlStripper {
    /// Whether the stripper is inside a comment or a hidden element, where Markdown text
    /// between two HTML pieces must be dropped too.
    pub fn hiding(&self) -> bool {
        matches!(self.state, State::Comment { .. } | State::Hidden { .. })
    }

    /// Processes one piece of raw HTML.
    pub fn feed(&mut self, html: &str, out: &mut Vec<HtmlEvent>) {
        let mut text = String::new();
        for c in html.chars() {
            match &mut self.state {
                State::Text => {
                    if c == '<' {
                        flush_text(&mut text, out);
                        self.buf.clear();
                        self.buf.push('<');
                        self.state = State::Tag {
                            quote: None,
                            seen_eq: false,
                        };
                    } else {
                        text.push(c);
                    }
                }
                State::Tag { quote, seen_eq } => {
                    self.buf.push(c);
                    match *quote {
                        Some(q) if c == q => *quote = None,
                        Some(_) => {}
                        None if c == '>' => {
                            let tag = std::mem::take(&mut self.buf);
                            self.state = State::Text;
                            self.finish_tag(&tag, out);
                        }
                        None if c == '=' => *seen_eq = true,
                        None if (c == '"' || c == '\'') && *seen_eq => *quote = Some(c),
                        None => {}
                    }
                    if self.buf == "<!--" {
                        self.buf.clear();
                        self.state = State::Comment { dashes: 0 };
                    } else if self.buf.len() == 2 && !looks_like_markup(c) {
                        // `<` followed by a space, digit, …: just a less-than sign.
                        text.push_str(&self.buf);
                        self.buf.clear();
                        self.state = State::Text;
                    } else if self.buf.len() > MAX_TAG_BYTES {
                        text.push_str(&self.buf);
                        self.buf.clear();
                        self.state = State::Text;
                    }
                }
                State::Comment { dashes } => {
                    if c == '>' && *dashes >= 2 {
                        self.state = State::Text;
                    } else if c == '-' {
                        *dashes = dashes.saturating_add(1);
                    } else {
                        *dashes = 0;
                    }
                }
                State::Hidden { element } => {
                    let element = *element;
                    self.buf.push(c.to_ascii_lowercase());
                    let closer_len = element.len() + 2;
                    if self.buf.len() > closer_len * 2 {
                        let cut = self.buf.len() - closer_len;
                        let cut = (cut..self.buf.len())
                            .find(|&i| self.buf.is_char_boundary(i))
                            .unwrap_or(self.buf.len());
                        self.buf.drain(..cut);
                    }
                    let before = self.buf.len().saturating_sub(element.len());
                    if self.buf.ends_with(element) && self.buf[..before].ends_with("</") {
                        self.buf.clear();
                        self.buf.push_str("</");
                        self.buf.push_str(element);
                        self.state = State::Tag {
                            quote: None,
                            seen_eq: false,
                        };
                    }
                }
            }
        }
        flush_text(&mut text, out);
    }

    /// Acts on a complete `<…>`.
    fn finish_tag(&mut self, tag: &str, out: &mut Vec<HtmlEvent>) {
        let inner = &tag[1..tag.len() - 1];
        if inner.starts_with('!') || inner.starts_with('?') {
            return; // doctype, CDATA or processing instruction
        }
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name_end = inner
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(inner.len());
        let name = inner[..name_end].to_ascii_lowercase();
        let attrs = &inner[name_end..];
        let self_closing = attrs.trim_end().ends_with('/');
        match name.as_str() {
            "br" => out.push(HtmlEvent::Break),
            "a" if closing => out.push(HtmlEvent::LinkEnd),
            "a" => {
                if let Some(href) = attribute(attrs, "href") {
                    out.push(HtmlEvent::LinkStart(href));
                }
            }
            "img" if !closing => {
                if let Some(src) = attribute(attrs, "src") {
                    let alt = attribute(attrs, "alt").unwrap_or_default();
                    out.push(HtmlEvent::Image { src, alt });
                }
            }
            _ if !closing && !self_closing => {
                if let Some(element) = HIDDEN_ELEMENTS.iter().find(|e| **e == name) {
                    self.buf.clear();
                    self.state = State::Hidden { element };
                } else if BLOCK_ELEMENTS.contains(&name.as_str()) {
                    out.push(HtmlEvent::BlockBreak);
                }
            }
            _ if BLOCK_ELEMENTS.contains(&name.as_str()) => out.push(HtmlEvent::BlockBreak),
            _ => {}
        }
    }
}

/// Whether the character after `<` can begin a tag, declaration or comment.
fn looks_like_markup(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')
}

fn flush_text(text: &mut String, out: &mut Vec<HtmlEvent>) {
    if !text.is_empty() {
        let decoded = match html_escape::decode_html_entities(text.as_str()) {
            Cow::Borrowed(_) => std::mem::take(text),
            Cow::Owned(s) => {
                text.clear();
                s
            }
        };
        out.push(HtmlEvent::Text(decoded));
    }
}

/// The value of attribute `name` in a tag's attribute text, entities decoded.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (value, after) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after_eq[1..];
                    let end = body.find(q).unwrap_or(body.len());
                    (&body[..end], &body[(end + 1).min(body.len())..])
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            rest = after;
            value
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(html_escape::decode_html_entities(value).into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HtmlEvent::*;

    fn strip(pieces: &[&str]) -> Vec<HtmlEvent> {
        let mut s = HtmlStripper::default();
        let mut out = Vec::new();
        for p in pieces {
            s.feed(p, &mut out);
        }
        out
    }

    fn texts(events: &[HtmlEvent]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn text_links_images_breaks() {
        let got = strip(&[
            "<p>Hi &amp; <b>bye</b><br/><a href=\"/x?a=1&amp;b\">go</a> <img alt='A cat' src=cat.png></p>",
        ]);
        assert_eq!(
            got,
            vec![
                BlockBreak,
                Text("Hi & ".into()),
                Text("bye".into()),
                Break,
                LinkStart("/x?a=1&b".into()),
                Text("go".into()),
                LinkEnd,
                Text(" ".into()),
                Image {
                    src: "cat.png".into(),
                    alt: "A cat".into()
                },
                BlockBreak,
            ]
        );
    }

    #[test]
    fn comments_scripts_and_styles_vanish_across_pieces() {
        let got = strip(&[
            "a<!-- hidden",
            " still -- hidden -->b",
            "<SCRIPT>x<y</scr",
            "ipt>c<style>p{}</style >d",
        ]);
        assert_eq!(texts(&got), "abcd");
    }

    #[test]
    fn hiding_is_reported_between_pieces() {
        let mut s = HtmlStripper::default();
        let mut out = Vec::new();
        s.feed("<script>", &mut out);
        assert!(s.hiding());
        s.feed("</script>", &mut out);
        assert!(!s.hiding());
    }

    #[test]
    fn less_than_signs_and_broken_tags_stay_text() {
        let got = strip(&["1 < 2 and <3 "]);
        assert!(got.iter().all(|e| matches!(e, Text(_))), "{got:?}");
        assert_eq!(texts(&got), "1 < 2 and <3 ");
        let long = format!("<a {}", "x".repeat(MAX_TAG_BYTES + 10));
        assert_eq!(texts(&strip(&[&long])), long);
    }

    #[test]
    fn attributes() {
        assert_eq!(attribute(" href=\"a b\" x", "href").as_deref(), Some("a b"));
        assert_eq!(attribute(" HREF = 'q' ", "href").as_deref(), Some("q"));
        assert_eq!(
            attribute(" disabled href=z/", "href").as_deref(),
            Some("z/")
        );
        assert_eq!(attribute(" title=x", "href"), None);
    }
}
