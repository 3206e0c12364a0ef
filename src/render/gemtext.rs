//! Gemtext as typed lines, and their serialisation.
//!
//! Converters build [`Line`]s instead of strings, so the rules that keep a line what it claims
//! to be live in one place: a text line that would read as a link, list item, heading, quote
//! or toggle gets a leading space; a preformatted line that would close the block early gets
//! one too; nothing a line holds can contain a line break. The Gopher renderer reads the same
//! lines.

use std::fmt::Write;

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

/// A gemtext document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub lines: Vec<Line>,
}

/// Line types decided by their first characters (gemtext spec), which a text line must not
/// start with.
const LINE_STARTS: [&str; 5] = ["=>", "* ", "#", ">", "```"];

impl Document {
    /// The gemtext, LF line ends, ending with exactly one newline (empty for no lines).
    pub fn to_gemtext(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            write_line(&mut out, line);
        }
        out
    }

    /// The text of the first line if it is a level-1 heading.
    pub fn leading_title(&self) -> Option<&str> {
        match self.lines.first() {
            Some(Line::Heading { level: 1, text }) => Some(text),
            _ => None,
        }
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
            out.push_str(&one_line(url).replace([' ', '\t'], "%20"));
            let label = one_line(label);
            let label = label.trim();
            if !label.is_empty() {
                out.push(' ');
                out.push_str(label);
            }
        }
        Line::Heading { level, text } => {
            let level = (*level).clamp(1, 3) as usize;
            let _ = write!(out, "{} {}", "#".repeat(level), one_line(text).trim());
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
    if text.contains(['\n', '\r']) {
        text.replace("\r\n", " ").replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lines: Vec<Line>) -> String {
        Document { lines }.to_gemtext()
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
        assert_eq!(out, "### Deep\n=> a%20b.gmi label\n=> x\n>\n\n");
    }
}
