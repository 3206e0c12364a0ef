//! Pure text conversions: Markdown → gemtext, gemtext → Gopher text and menus, gemtext → HTML
//! for web readers, and the URL and file-name helpers they share. No I/O, no async, no knowledge of a site: each function takes
//! text (and settings) and gives text, so `content` can call them while reading posts and
//! everything is tested with plain inputs and outputs.

pub mod gemtext;
pub mod gemtext_html;
pub mod gopher;
pub mod html;
pub mod markdown;
pub mod mime;
pub mod redirect;
pub mod route;
pub mod shortcodes;
pub mod url;

pub use gemtext::{Line, Writer};
pub use markdown::{
    Converted, LinkPlacement, MAX_LINKS, MAX_MARKS, Options, convert, convert_page,
};

/// `text` with what could forge a line or hide a word escaped as `\u{…}`: control
/// characters, the Unicode line and paragraph separators and NEL, and the marks that reorder
/// or hide text (bidirectional overrides and isolates, zero-width marks). For names authors
/// chose, written into logs and terminals.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let hides = |c: char| {
        c.is_control()
            || matches!(
                c,
                '\u{2028}'
                    | '\u{2029}'
                    | '\u{061c}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{202a}'..='\u{202e}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{feff}'
            )
    };
    if !text.chars().any(hides) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hides(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn what_forges_a_line_or_hides_a_word_is_escaped() {
        assert_eq!(super::printable("posts/plain é.md"), "posts/plain é.md");
        assert_eq!(
            super::printable("a\u{2028}b\u{202e}c\nd\te"),
            "a\\u{2028}b\\u{202e}c\\u{a}d\\u{9}e"
        );
    }
}
