//! Gemtext as semantic HTML5, for readers with only a web browser: headings, paragraphs, lists,
//! quotes, preformatted blocks named by their alt text, and each run of link lines a list of
//! links. Everything an author wrote is escaped; a link whose scheme a browser could run as
//! code (`javascript:`, `data:`) stays text. Where a link leads on the web is the caller's to
//! say (`web_href`): a `gemini://` link to the same capsule becomes a web path, others stay.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute, encode_text};

/// URL schemes a link may keep on a web page; any other (`javascript:`, `data:`, `vbscript:`,
/// an unknown one) is shown as text.
const SCHEMES: [&str; 14] = [
    "gemini", "gopher", "http", "https", "mailto", "finger", "spartan", "titan", "news", "irc",
    "ircs", "xmpp", "ftp", "tel",
];

/// What a run of lines is in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    None,
    List,
    Quote,
    Links,
}

impl Run {
    fn close(self) -> &'static str {
        match self {
            Run::None => "",
            Run::List | Run::Links => "</ul>\n",
            Run::Quote => "</blockquote>\n",
        }
    }
}

/// A page's gemtext as the HTML of its `<main>`. `web_href` turns a link's URL into the one a
/// browser follows (`None`: the URL as written).
pub fn body(gemtext: &str, web_href: &dyn Fn(&str) -> Option<String>) -> String {
    let mut html = String::with_capacity(gemtext.len() + gemtext.len() / 2);
    let mut run = Run::None;
    let mut pre: Option<(String, String)> = None;
    for line in gemtext.lines() {
        if let Some((alt, text)) = &mut pre {
            if line.starts_with("```") {
                preformatted(&mut html, alt, text);
                pre = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        let this = if line.starts_with("* ") {
            Run::List
        } else if line.starts_with('>') {
            Run::Quote
        } else if line.starts_with("=>") {
            Run::Links
        } else {
            Run::None
        };
        if this != run {
            html.push_str(run.close());
            html.push_str(match this {
                Run::None => "",
                Run::List => "<ul>\n",
                Run::Quote => "<blockquote>\n",
                Run::Links => "<ul class=\"links\">\n",
            });
            run = this;
        }
        if let Some(alt) = line.strip_prefix("```") {
            pre = Some((alt.trim().to_owned(), String::new()));
        } else if let Some(item) = line.strip_prefix("* ") {
            let _ = writeln!(html, "<li>{}</li>", encode_text(item.trim()));
        } else if let Some(quote) = line.strip_prefix('>') {
            let _ = writeln!(html, "<p>{}</p>", encode_text(quote.trim()));
        } else if let Some(link) = line.strip_prefix("=>") {
            html.push_str("<li>");
            link_item(&mut html, link, web_href);
            html.push_str("</li>\n");
        } else if let Some((level, text)) = heading(line) {
            let _ = writeln!(html, "<h{level}>{}</h{level}>", encode_text(text));
        } else if !line.trim().is_empty() {
            let _ = writeln!(html, "<p>{}</p>", encode_text(line));
        }
    }
    // A block left open at the end is closed there, as gemtext clients show it.
    if let Some((alt, text)) = &pre {
        preformatted(&mut html, alt, text);
    }
    html.push_str(run.close());
    html
}

/// A heading's level (1 to 3) and text.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    (1..=3)
        .contains(&level)
        .then(|| (level, line[level..].trim()))
}

/// A preformatted block: in a figure named by its alt text (what a screen reader announces
/// instead of reading ASCII art character by character), else bare.
fn preformatted(html: &mut String, alt: &str, text: &str) {
    if alt.is_empty() {
        let _ = writeln!(html, "<pre>{}</pre>", encode_text(text));
    } else {
        let _ = writeln!(
            html,
            "<figure aria-label=\"{}\"><pre>{}</pre></figure>",
            encode_double_quoted_attribute(alt),
            encode_text(text)
        );
    }
}

/// One link line's item: the link, or its text when its URL may not be followed.
fn link_item(html: &mut String, link: &str, web_href: &dyn Fn(&str) -> Option<String>) {
    let link = link.trim_start();
    let (url, label) = match link.find(char::is_whitespace) {
        Some(at) => (&link[..at], link[at..].trim()),
        None => (link, ""),
    };
    let shown = if label.is_empty() { url } else { label };
    if url.is_empty() || !followable(url) {
        let _ = write!(html, "{}", encode_text(shown));
        return;
    }
    let href = web_href(url).unwrap_or_else(|| url.to_owned());
    let _ = write!(
        html,
        "<a href=\"{}\">{}</a>",
        encode_double_quoted_attribute(&href),
        encode_text(shown)
    );
}

/// Whether a browser may follow a link: a relative one, or one of [`SCHEMES`].
fn followable(url: &str) -> bool {
    let scheme_end = url.find(':');
    let before_path = url.find(['/', '?', '#']).unwrap_or(url.len());
    match scheme_end {
        // `a:b` with the colon before any `/`, `?` or `#` names a scheme.
        Some(colon) if colon < before_path => {
            let scheme = &url[..colon];
            SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme))
        }
        _ => !url.chars().any(char::is_control),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(gemtext: &str) -> String {
        body(gemtext, &|url| {
            url.strip_prefix("gemini://example.org").map(|path| {
                if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                }
            })
        })
    }

    #[test]
    fn each_line_type_becomes_its_element() {
        let page = "# Title\n## Part\n### Bit\nA paragraph.\n\n* one\n* two\n> said\n> more\n\
                    => /a.gmi First\n=> gemini://example.org/b.gmi\n=> gemini://other.example/ Away\n\
                    ```ascii art of a cat\n /\\_/\\\n( o.o )\n```\nAfter.\n";
        assert_eq!(
            html(page),
            "<h1>Title</h1>\n<h2>Part</h2>\n<h3>Bit</h3>\n<p>A paragraph.</p>\n\
             <ul>\n<li>one</li>\n<li>two</li>\n</ul>\n\
             <blockquote>\n<p>said</p>\n<p>more</p>\n</blockquote>\n\
             <ul class=\"links\">\n<li><a href=\"/a.gmi\">First</a></li>\n\
             <li><a href=\"/b.gmi\">gemini://example.org/b.gmi</a></li>\n\
             <li><a href=\"gemini://other.example/\">Away</a></li>\n</ul>\n\
             <figure aria-label=\"ascii art of a cat\"><pre> /\\_/\\\n( o.o )\n</pre></figure>\n\
             <p>After.</p>\n"
        );
    }

    #[test]
    fn what_an_author_wrote_never_becomes_markup_or_code() {
        let page = "# <script>alert(1)</script>\n=> javascript:alert(1) Click\n\
                    => data:text/html,<b>x</b>\n=> JavaScript:alert(1)\n\
                    => /x\" onclick=\"alert(1) Quote\n```a\" onload=\"x\n<b>bold</b>\n```\n* <i>\n";
        let out = html(page);
        for never in [
            "<script",
            "<b>",
            "<i>",
            "href=\"javascript",
            "href=\"data",
            "href=\"JavaScript",
        ] {
            assert!(!out.contains(never), "{never}: {out}");
        }
        assert!(out.contains("<li>Click</li>"), "{out}");
        assert!(out.contains("href=\"/x&quot;\""), "{out}");
        assert!(
            out.contains("aria-label=\"a&quot; onload=&quot;x\""),
            "{out}"
        );
    }

    #[test]
    fn an_unclosed_block_and_heading_levels_past_three_are_kept() {
        assert_eq!(html("####x\n"), "<p>####x</p>\n");
        assert_eq!(html("```\nopen"), "<pre>open\n</pre>\n");
        assert_eq!(html("=>\n"), "<ul class=\"links\">\n<li></li>\n</ul>\n");
    }
}
