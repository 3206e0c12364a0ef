//! Raw HTML inside Markdown, reduced to what gemtext can carry: its text, line breaks, links,
//! images, headings (`<h1>`–`<h6>`) and preformatted text (`<pre>`). Comments, `<script>` and
//! `<style>` vanish with their contents, but never past the HTML block or the run of inline
//! content they are written in ([`HtmlStripper::end_run`]).
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
    /// `<a href>`; the text up to [`HtmlEvent::LinkEnd`] is its label. `at`: where its
    /// `href` is written in the source (see [`HtmlStripper::feed`]).
    LinkStart {
        href: String,
        at: usize,
    },
    LinkEnd,
    /// `<h1>`–`<h6>`: the text up to [`HtmlEvent::HeadingEnd`] is a heading of this level.
    HeadingStart(u8),
    HeadingEnd,
    /// `<pre>`: the text up to [`HtmlEvent::PreEnd`] keeps its lines and spaces.
    PreStart,
    PreEnd,
    /// `<img src alt>`; `at`: where its `src` is written.
    Image {
        src: String,
        alt: String,
        at: usize,
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
    /// Where the pieces of the tag being collected are written in the source: (offset in
    /// `buf`, offset in the source) at the `<` and at the start of each later piece, so an
    /// attribute's place is known even when the tag spans lines (or a quote's `> ` prefixes).
    sources: Vec<(usize, usize)>,
    /// Just after a `<pre>` tag, whose first line break HTML drops.
    after_pre: bool,
    /// How many `<pre>` elements are open: `<code>` in one is no code span.
    pre_depth: u32,
}

impl Default for HtmlStripper {
    fn default() -> Self {
        HtmlStripper {
            state: State::Text,
            buf: String::new(),
            sources: Vec::new(),
            after_pre: false,
            pre_depth: 0,
        }
    }
}

impl HtmlStripper {
    /// Whether the stripper is inside a comment or a hidden element, where Markdown text
    /// between two HTML pieces must be dropped too.
    pub fn hiding(&self) -> bool {
        matches!(self.state, State::Comment { .. } | State::Hidden { .. })
    }

    /// Whether anything is left open: a tag, a comment, a hidden element, a `<pre>`'s start.
    pub fn open(&self) -> bool {
        self.state != State::Text || self.after_pre
    }

    /// Ends the HTML block or the run of inline content being read: a comment or a hidden
    /// element left open ends here (CommonMark gives raw HTML no more than that), and a tag
    /// that never closed is kept as text.
    /// Returns what was left open and hid text to its end: `<script>`, `<style>` or a
    /// comment.
    pub fn end_run(&mut self, out: &mut Vec<HtmlEvent>) -> Option<&'static str> {
        self.after_pre = false;
        if self.state == State::Text {
            return None;
        }
        let state = std::mem::replace(&mut self.state, State::Text);
        let mut unfinished = std::mem::take(&mut self.buf);
        match state {
            State::Tag { .. } => {
                flush_text(&mut unfinished, out);
                None
            }
            State::Hidden { element } => Some(element),
            State::Comment { .. } => Some("<!--"),
            State::Text => None,
        }
    }

    /// Processes one piece of raw HTML, written at byte offset `at` of the source (links and
    /// images report where their attribute is written from it).
    pub fn feed(&mut self, html: &str, at: usize, out: &mut Vec<HtmlEvent>) {
        let mut text = String::new();
        if matches!(self.state, State::Tag { .. }) {
            self.sources.push((self.buf.len(), at));
        }
        for (i, c) in html.char_indices() {
            let after_pre = std::mem::take(&mut self.after_pre);
            match &mut self.state {
                State::Text if after_pre && c == '\n' => {}
                State::Text => {
                    if c == '<' {
                        flush_text(&mut text, out);
                        self.buf.clear();
                        self.buf.push('<');
                        self.sources.clear();
                        self.sources.push((0, at + i));
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
        // Where `attrs` starts in the tag: after `<`, a `/`, and the name.
        let attrs_start = tag.len() - 1 - attrs.len();
        let source_of = |pos: usize| self.source_of(attrs_start + pos);
        let self_closing = attrs.trim_end().ends_with('/');
        match name.as_str() {
            "br" => out.push(HtmlEvent::Break),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if closing => out.push(HtmlEvent::HeadingEnd),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if !self_closing => {
                out.push(HtmlEvent::HeadingStart(name.as_bytes()[1] - b'0'));
            }
            "pre" if closing => {
                self.pre_depth = self.pre_depth.saturating_sub(1);
                out.push(HtmlEvent::PreEnd);
            }
            "pre" if !self_closing => {
                out.push(HtmlEvent::PreStart);
                self.pre_depth += 1;
                self.after_pre = true;
            }
            // Inline code keeps its backticks, as a Markdown code span does: `<code>{% raw
            // %}</code>` shows a template tag as the author meant it, as code.
            "code" | "samp" | "tt" if self.pre_depth == 0 && !self_closing => {
                out.push(HtmlEvent::Text("`".into()));
            }
            "a" if closing => out.push(HtmlEvent::LinkEnd),
            "a" => {
                if let Some((href, pos)) = attribute(attrs, "href") {
                    out.push(HtmlEvent::LinkStart {
                        href,
                        at: source_of(pos),
                    });
                }
            }
            "img" if !closing => {
                if let Some((src, pos)) = attribute(attrs, "src") {
                    let alt = attribute(attrs, "alt").map(|(alt, _)| alt);
                    out.push(HtmlEvent::Image {
                        src,
                        alt: alt.unwrap_or_default(),
                        at: source_of(pos),
                    });
                }
            }
            // What else a page embeds by `src` (`<video>`, `<audio>`, `<source>`, `<iframe>`,
            // custom elements): a link, as an image is.
            _ if !closing
                && !HIDDEN_ELEMENTS.contains(&name.as_str())
                && attribute(attrs, "src").is_some() =>
            {
                if let Some((src, pos)) = attribute(attrs, "src") {
                    out.push(HtmlEvent::Image {
                        src,
                        alt: String::new(),
                        at: source_of(pos),
                    });
                }
                if BLOCK_ELEMENTS.contains(&name.as_str()) {
                    out.push(HtmlEvent::BlockBreak);
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

impl HtmlStripper {
    /// Where the byte at `pos` of the tag just collected is written in the source.
    fn source_of(&self, pos: usize) -> usize {
        let i = self.sources.partition_point(|&(at, _)| at <= pos);
        match i.checked_sub(1).map(|i| self.sources[i]) {
            Some((start, source)) => source + (pos - start),
            None => 0,
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

/// The value of attribute `name` in a tag's attribute text, entities decoded, and where its
/// name starts in `attrs`.
fn attribute(attrs: &str, name: &str) -> Option<(String, usize)> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_at = attrs.len() - rest.len();
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
            return Some((
                html_escape::decode_html_entities(value).into_owned(),
                key_at,
            ));
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
        let mut at = 0;
        for p in pieces {
            s.feed(p, at, &mut out);
            at += p.len();
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
    fn inline_code_keeps_backticks_but_not_in_pre() {
        let got = strip(&["<p>Use <code>{% raw %}</code> here</p><pre>\n<code>x</code></pre>"]);
        assert_eq!(texts(&got), "Use `{% raw %}` herex");
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
                LinkStart {
                    href: "/x?a=1&b".into(),
                    at: 30
                },
                Text("go".into()),
                LinkEnd,
                Text(" ".into()),
                Image {
                    src: "cat.png".into(),
                    alt: "A cat".into(),
                    at: 74
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
        s.feed("<script>", 0, &mut out);
        assert!(s.hiding());
        s.feed("</script>", 8, &mut out);
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
        let value = |attrs: &str, name: &str| attribute(attrs, name).map(|(v, _)| v);
        assert_eq!(value(" href=\"a b\" x", "href").as_deref(), Some("a b"));
        assert_eq!(value(" HREF = 'q' ", "href").as_deref(), Some("q"));
        assert_eq!(value(" disabled href=z/", "href").as_deref(), Some("z/"));
        assert_eq!(value(" title=x", "href"), None);
        assert_eq!(
            attribute(" disabled href=z/", "href").map(|(_, at)| at),
            Some(10)
        );
    }

    #[test]
    fn attributes_are_placed_where_they_are_written_across_pieces() {
        // A tag over three lines of a block (pieces at source offsets 100, 110, 125), and one
        // inside a quote, whose `> ` prefixes are not part of the pieces.
        let mut s = HtmlStripper::default();
        let mut out = Vec::new();
        s.feed("<img\n", 100, &mut out);
        s.feed("  alt=\"x\"\n", 110, &mut out);
        s.feed("  src=\"p.png\">\n", 125, &mut out);
        s.feed("<a\n", 200, &mut out);
        s.feed("href=\"q.gmi\">", 206, &mut out);
        let places: Vec<usize> = out
            .iter()
            .filter_map(|e| match e {
                Image { at, .. } | LinkStart { at, .. } => Some(*at),
                _ => None,
            })
            .collect();
        assert_eq!(places, [127, 206]);
    }
}
