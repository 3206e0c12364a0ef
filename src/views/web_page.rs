//! A page for web readers: the HTML document around a page's body (`convert::gemtext_html`),
//! in the host's language, with the page's Gemini address offered beside it, and the one small
//! stylesheet every page shares (served as a file of its own, so a strict
//! `Content-Security-Policy` allows no inline style or script).

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute, encode_text};

/// The path every web page loads its stylesheet from.
pub const STYLESHEET_PATH: &str = "/style.css";

/// The stylesheet: a readable measure, the reader's own fonts, light and dark by the reader's
/// setting (`prefers-color-scheme`), nothing fetched from elsewhere.
pub const STYLESHEET: &str = "\
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfb; --muted: #5c5c5c; --link: #1a4fa0; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e3; --bg: #161616; --muted: #a8a8a3; --link: #8cb4ff; }
}
html { background: var(--bg); color: var(--fg); }
body { font-family: system-ui, sans-serif; line-height: 1.55; max-width: 38rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
a { color: var(--link); }
h1, h2, h3 { line-height: 1.25; }
blockquote { margin: 1rem 0; padding-left: 1rem; border-left: 3px solid var(--muted); color: var(--muted); }
pre { overflow-x: auto; padding: 0.75rem; background: color-mix(in srgb, var(--fg) 6%, var(--bg)); }
figure { margin: 1rem 0; }
ul.links { list-style: none; padding-left: 0; }
header { margin-bottom: 1.5rem; font-weight: 600; }
header a { text-decoration: none; }
form[role=search] { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 1rem 0; }
form[role=search] input { flex: 1 1 12rem; font: inherit; padding: 0.3rem; }
form[role=search] button { font: inherit; padding: 0.3rem 0.8rem; }
footer { margin-top: 3rem; font-size: 0.9rem; color: var(--muted); }
";

/// What a web page says of itself beside its body.
#[derive(Debug, Clone, Copy)]
pub struct PageHead<'a> {
    pub title: &'a str,
    /// The host's language (`lang` of the document); empty: none said.
    pub lang: &'a str,
    /// The same page over Gemini, offered as its alternate.
    pub gemini_url: &'a str,
    /// The words of the visible link to it ("Read this page over Gemini").
    pub gemini_label: &'a str,
    /// The capsule's title, the link home at the top of every page.
    pub site_title: &'a str,
}

/// A search form (GET, to `action`), with the words of the search asked already in its field.
pub fn search_form(action: &str, label: &str, button: &str, words: &str) -> String {
    format!(
        "<form role=\"search\" method=\"get\" action=\"{action}\">\n\
         <label for=\"q\">{label}</label>\n\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{words}\">\n\
         <button type=\"submit\">{button}</button>\n</form>\n",
        action = encode_double_quoted_attribute(action),
        label = encode_text(label),
        words = encode_double_quoted_attribute(words),
        button = encode_text(button),
    )
}

/// The whole document: `body_html` (already HTML, from `convert::gemtext_html`) in `<main>`.
pub fn document(head: PageHead<'_>, body_html: &str) -> String {
    let mut html = String::with_capacity(body_html.len() + 640);
    html.push_str("<!DOCTYPE html>\n");
    let lang = head.lang.split(',').next().unwrap_or("").trim();
    if lang.is_empty() {
        html.push_str("<html>\n");
    } else {
        let _ = writeln!(
            html,
            "<html lang=\"{}\">",
            encode_double_quoted_attribute(lang)
        );
    }
    let gemini = encode_double_quoted_attribute(head.gemini_url);
    let _ = write!(
        html,
        "<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         <link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\">\n\
         <link rel=\"alternate\" type=\"text/gemini\" href=\"{gemini}\">\n\
         </head>\n<body>\n<header><a href=\"/\">{site}</a></header>\n\
         <main>\n{body_html}</main>\n\
         <footer><a href=\"{gemini}\">{label}</a></footer>\n</body>\n</html>\n",
        title = encode_text(head.title),
        label = encode_text(head.gemini_label),
        site = encode_text(head.site_title),
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(title: &'a str, lang: &'a str) -> PageHead<'a> {
        PageHead {
            title,
            lang,
            gemini_url: "gemini://example.org/posts/a.gmi",
            gemini_label: "Read this page over Gemini",
            site_title: "Knots & co",
        }
    }

    #[test]
    fn a_document_in_the_host_s_language_offers_its_gemini_page() {
        let page = document(head("Knots & <Splices>", "fr,en"), "<p>x</p>\n");
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>"),
            "{page}"
        );
        assert!(
            page.contains("<title>Knots &amp; &lt;Splices&gt;</title>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<link rel=\"alternate\" type=\"text/gemini\" href=\"gemini://example.org/posts/a.gmi\">"
            ),
            "{page}"
        );
        assert!(page.contains("<main>\n<p>x</p>\n</main>"), "{page}");
        assert!(
            page.contains("<header><a href=\"/\">Knots &amp; co</a></header>"),
            "{page}"
        );
        assert!(
            page.contains("<footer><a href=\"gemini://example.org/posts/a.gmi\">"),
            "{page}"
        );
        // Nothing inline that a strict Content-Security-Policy would refuse.
        for never in ["<script", "<style", " style=", "http://", "https://"] {
            assert!(!page.contains(never), "{never}: {page}");
        }
        assert!(document(head("t", ""), "").contains("<html>\n"));
    }

    #[test]
    fn a_search_form_keeps_the_words_escaped() {
        let form = search_form("/search", "Search this capsule", "Search", "a \"b\" <c>");
        assert!(form.contains("method=\"get\" action=\"/search\""), "{form}");
        assert!(
            form.contains("name=\"q\" value=\"a &quot;b&quot; &lt;c&gt;\""),
            "{form}"
        );
        assert!(
            form.contains("<label for=\"q\">Search this capsule</label>"),
            "{form}"
        );
    }

    #[test]
    fn the_stylesheet_follows_the_reader_s_colour_scheme_and_fetches_nothing() {
        assert!(STYLESHEET.contains("prefers-color-scheme: dark"));
        assert!(STYLESHEET.contains("max-width: 38rem"));
        for never in ["url(", "@import", "http"] {
            assert!(!STYLESHEET.contains(never), "{never}");
        }
    }
}
