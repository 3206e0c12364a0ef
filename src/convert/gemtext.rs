//! Gemtext as typed lines, and the [`Writer`] that turns them into text.
//!
//! Converters hand over [`Line`]s instead of strings, so the rules that keep a line what it
//! claims to be live in one place: a text line that would read as a link, list item, heading,
//! quote or toggle gets a leading space; a preformatted line that would close the block early
//! gets one too; nothing a line holds can contain a line break; blank lines only separate.

/// A gemtext page's lines, each with whether it is text outside preformatted blocks (a fence
/// line and the lines between two are not): what a reader of the page's text looks at.
pub fn text_lines(gemtext: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut pre = false;
    gemtext.lines().map(move |line| {
        if line.starts_with("```") {
            pre = !pre;
            return (false, line);
        }
        (!pre, line)
    })
}

/// One gemtext line (a preformatted block counts as one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    Link {
        url: String,
        label: String,
    },
    /// Level 1 to 3.
    Heading {
        level: u8,
        text: String,
    },
    ListItem(String),
    Quote(String),
    /// A preformatted block: alt text and its lines.
    Preformatted {
        alt: String,
        lines: Vec<String>,
    },
    Blank,
}

/// Line types decided by their first characters (gemtext spec), which a text line must not
/// start with.
const LINE_STARTS: [&str; 5] = ["=>", "* ", "#", ">", "```"];

/// What a document's first line is, for callers that add a title or a note number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstLine {
    /// A level-1 heading with this text.
    Title(String),
    Text,
    Other,
}

/// Writes gemtext a line at a time. Blank lines only ever separate content: a blank line
/// pushed first, last, or twice in a row is dropped. With a title, a document that does not
/// open with a level-1 heading gets `# title` first.
#[derive(Debug, Default)]
pub struct Writer {
    text: String,
    lines: usize,
    blank_pending: bool,
    first: Option<FirstLine>,
    title: Option<String>,
}

impl Writer {
    pub fn with_title(title: Option<String>, capacity: usize) -> Writer {
        Writer {
            text: String::with_capacity(capacity),
            title,
            ..Writer::default()
        }
    }

    pub fn push(&mut self, line: Line) {
        self.push_ref(&line);
    }

    pub fn push_ref(&mut self, line: &Line) {
        if let Line::Blank = line {
            self.blank_pending = self.lines > 0;
            return;
        }
        if self.lines == 0 {
            let first = match line {
                Line::Heading { level: 1, text } => FirstLine::Title(text.clone()),
                Line::Text(_) => FirstLine::Text,
                _ => FirstLine::Other,
            };
            if let Some(title) = self.title.take()
                && !matches!(first, FirstLine::Title(_))
            {
                self.write_title(title);
                self.text.push('\n');
            }
            self.first = Some(first);
        }
        if self.blank_pending {
            self.text.push('\n');
            self.blank_pending = false;
        }
        write_line(&mut self.text, line);
        self.lines += 1;
    }

    fn write_title(&mut self, title: String) {
        write_line(
            &mut self.text,
            &Line::Heading {
                level: 1,
                text: title,
            },
        );
        self.lines += 1;
    }

    /// Whether the next line starts a new block (nothing written yet, or a blank line is due).
    pub fn at_block_start(&self) -> bool {
        self.lines == 0 || self.blank_pending
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// The kind of the first line written by [`Writer::push`] (not the added title).
    pub fn first_line(&self) -> Option<&FirstLine> {
        self.first.as_ref()
    }

    /// Puts `prefix` in front of the first line (a note number before a footnote's text).
    pub fn prefix_first_line(&mut self, prefix: &str) {
        self.text.insert_str(0, prefix);
    }

    /// Appends ready gemtext (a description the author wrote) as a block of its own.
    pub fn push_gemtext(&mut self, text: &str) {
        let text = text.trim_matches('\n');
        if text.is_empty() {
            return;
        }
        let mut other = Writer::default();
        other.text.push_str(text);
        other.text.push('\n');
        other.lines = text.lines().count();
        other.first = Some(FirstLine::Other);
        self.push(Line::Blank);
        self.append(other);
    }

    /// Appends everything another writer wrote, as if pushed here.
    pub fn append(&mut self, other: Writer) {
        if other.lines == 0 {
            return;
        }
        if self.lines == 0 && self.first.is_none() {
            self.first = other.first;
        }
        if self.blank_pending {
            self.text.push('\n');
            self.blank_pending = false;
        }
        self.text.push_str(&other.text);
        self.lines += other.lines;
    }

    /// The gemtext: ends with one newline, or is empty (just the title if one was given).
    pub fn finish(mut self) -> String {
        if let Some(title) = self.title.take() {
            self.write_title(title);
        }
        self.text
    }
}

fn write_line(out: &mut String, line: &Line) {
    match line {
        Line::Text(text) => {
            let text = one_line(text);
            if LINE_STARTS.iter().any(|s| text.starts_with(s)) {
                out.push(' ');
            }
            out.push_str(&text);
        }
        Line::Link { url, label } => {
            out.push_str("=> ");
            let url = one_line(url);
            if memchr::memchr2(b' ', b'\t', url.as_bytes()).is_some() {
                out.push_str(&url.replace([' ', '\t'], "%20"));
            } else {
                out.push_str(&url);
            }
            let label = one_line(label);
            let label = label.trim();
            if !label.is_empty() {
                out.push(' ');
                out.push_str(label);
            }
        }
        Line::Heading { level, text } => {
            out.push_str(&"###"[..(*level).clamp(1, 3) as usize]);
            out.push(' ');
            out.push_str(one_line(text).trim());
        }
        Line::ListItem(text) => {
            out.push_str("* ");
            out.push_str(&one_line(text));
        }
        Line::Quote(text) => {
            out.push('>');
            let text = one_line(text);
            if !text.is_empty() {
                out.push(' ');
                out.push_str(&text);
            }
        }
        Line::Preformatted { alt, lines } => {
            out.push_str("```");
            out.push_str(&one_line(alt));
            out.push('\n');
            for l in lines {
                // A line starting with ``` would close the block early.
                if l.starts_with("```") {
                    out.push(' ');
                }
                out.push_str(&one_line(l));
                out.push('\n');
            }
            out.push_str("```");
        }
        Line::Blank => {}
    }
    out.push('\n');
}

/// Replaces line breaks (which would start a new, differently typed line) by spaces.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
        text.replace("\r\n", " ").replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lines: Vec<Line>) -> String {
        let mut writer = Writer::default();
        for line in lines {
            writer.push(line);
        }
        writer.finish()
    }

    #[test]
    fn text_lines_never_change_type() {
        for start in ["=> x", "* x", "# x", "## x", "> x", "```x"] {
            let out = render(vec![Line::Text(start.into())]);
            assert_eq!(out, format!(" {start}\n"));
        }
        assert_eq!(
            render(vec![Line::Text("*not a list".into())]),
            "*not a list\n"
        );
        assert_eq!(render(vec![Line::Text("a\nb".into())]), "a b\n");
    }

    #[test]
    fn preformatted_lines_cannot_close_the_block() {
        let out = render(vec![Line::Preformatted {
            alt: "md".into(),
            lines: vec!["```".into(), "x".into()],
        }]);
        assert_eq!(out, "```md\n ```\nx\n```\n");
    }

    #[test]
    fn links_headings_quotes() {
        let out = render(vec![
            Line::Heading {
                level: 5,
                text: "Deep".into(),
            },
            Line::Link {
                url: "a b.gmi".into(),
                label: " label ".into(),
            },
            Line::Link {
                url: "x".into(),
                label: String::new(),
            },
            Line::Quote(String::new()),
            Line::Blank,
        ]);
        assert_eq!(out, "### Deep\n=> a%20b.gmi label\n=> x\n>\n");
    }

    #[test]
    fn blank_lines_only_separate_content() {
        let out = render(vec![
            Line::Blank,
            Line::Text("a".into()),
            Line::Blank,
            Line::Blank,
            Line::Text("b".into()),
            Line::Blank,
        ]);
        assert_eq!(out, "a\n\nb\n");
    }

    #[test]
    fn title_is_added_unless_the_document_opens_with_one() {
        let mut w = Writer::with_title(Some("T".into()), 0);
        w.push(Line::Text("x".into()));
        assert_eq!(w.finish(), "# T\n\nx\n");
        let mut w = Writer::with_title(Some("T".into()), 0);
        w.push(Line::Heading {
            level: 1,
            text: "Own".into(),
        });
        assert_eq!(w.first_line(), Some(&FirstLine::Title("Own".into())));
        assert_eq!(w.finish(), "# Own\n");
        assert_eq!(Writer::with_title(Some("T".into()), 0).finish(), "# T\n");
    }
}
