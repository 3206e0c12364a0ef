//! Gemtext → Gopher text and menus, as pure functions: wrapping by display width (CJK, emoji),
//! long URLs, preformatted blocks, link numbering and rewriting, menu lines.

use gemhole::convert::gopher::{self, Place, Target};
use unicode_width::UnicodeWidthStr;

fn place(width: usize) -> Place {
    Place {
        host: "hole.example".into(),
        port: 7070,
        gemini_host: "capsule.example".into(),
        width,
    }
}

/// The lines of a CRLF text, checking that every line ends with CRLF.
fn lines(text: &str) -> Vec<&str> {
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text:?}");
    let body = text.strip_suffix("\r\n").unwrap_or(text);
    let lines: Vec<&str> = body.split("\r\n").collect();
    assert!(lines.iter().all(|l| !l.contains('\n') && !l.contains('\r')));
    lines
}

const PAGE: &str = "# A page about wrapping and links\n\
\n\
This paragraph is long enough to need wrapping at a narrow width, and it mentions a few things along the way.\n\
日本語の文章は空白がなくても表示幅で折り返されるべきです。全角文字は二桁を占めます。\n\
Emoji 🚀🚀🚀 take two columns each 🛸 and so do these ✨✨.\n\
=> other.gmi A local page\n\
=> /series/sail/ The series\n\
=> gemini://capsule.example/posts/x.gmi An absolute link to a local post\n\
=> https://example.org/a/very/long/path/that/goes/on/and/on/and/on/for/quite/a/while/index.html A web page with a long address\n\
=> gopher://other.example:7000/0/docs/readme.txt A file on another gopher server\n\
=> ../image.png A picture\n\
## Notes\n\
* A list item that is long enough to wrap onto a second line with a hanging indent.\n\
> A quotation that is also long enough to wrap onto a second line, each with its marker.\n\
```text\n\
pre\tformatted\tline that is much longer than the width and must never be wrapped at all\n\
.\n\
```\n\
.\n\
### Small heading\n";

#[test]
fn text_page_snapshot() {
    let text = gopher::text(PAGE, "/posts/page.gmi", &place(40));
    insta::assert_snapshot!("gopher_text", text.replace("\r\n", "⏎\n"));
}

#[test]
fn text_lines_fit_the_width_outside_preformatted_blocks_and_the_link_list() {
    for width in [20, 40, 70] {
        let text = gopher::text(PAGE, "/posts/page.gmi", &place(width));
        let lines = lines(&text);
        let links_at = lines.iter().position(|l| *l == "Links:").unwrap();
        for line in &lines[..links_at] {
            if line.starts_with("pre") {
                continue; // the preformatted line, kept whole
            }
            assert!(line.width() <= width, "{width}: {line:?}");
            assert_ne!(*line, ".", "a lone dot");
        }
        // Every link is numbered in order and listed whole.
        assert_eq!(
            lines[links_at + 1],
            "[1] gopher://hole.example:7070/0/posts/other.txt"
        );
        assert!(lines.contains(
            &"[4] https://example.org/a/very/long/path/that/goes/on/and/on/and/on/for/quite/a/while/index.html"
        ));
        assert_eq!(lines.len() - links_at - 1, 6);
    }
}

#[test]
fn wide_characters_count_two_columns() {
    let rows = gopher::wrap("日本語の文章は空白がなくても", 10, "", "");
    assert_eq!(rows, ["日本語の文", "章は空白が", "なくても"]);
    let rows = gopher::wrap("🚀 🚀 🚀 🚀", 5, "", "");
    assert_eq!(rows, ["🚀 🚀", "🚀 🚀"]);
    // Prefixes count too, and continuation lines get theirs.
    let rows = gopher::wrap("one two three four", 9, "  * ", "    ");
    assert_eq!(rows, ["  * one", "    two", "    three", "    four"]);
}

#[test]
fn menu_snapshot() {
    let gemtext = "# Posts tagged “sailing”\n\n\
                   => /posts/knots.gmi 2024-03-11 Knots\n\
                   => /posts/wind.gmi 2024-03-29 Reading\tthe Wind\n\
                   => /series/sail/ Learning to Sail (4 parts)\n\
                   => /atom.xml Atom feed\n\
                   => /pictures/boat.jpg The boat\n\
                   => /pictures/anim.gif A GIF\n\
                   => /files/plan.pdf The plan\n\
                   => gemini://elsewhere.example/ A friend's capsule\n\
                   => gopher://other.example/1/phlog A phlog\n\
                   \n\
                   ## More\n\
                   Some text under a heading that is long enough to be wrapped into two info lines.\n\
                   * an item\n";
    let menu = gopher::menu(gemtext, "/tags/sailing/", &place(40));
    insta::assert_snapshot!("gopher_menu", menu.replace("\r\n", "⏎\n"));
}

#[test]
fn menu_lines_have_four_fields_and_the_menu_ends_with_a_dot() {
    let menu = gopher::menu(PAGE, "/posts/", &place(70));
    assert!(menu.ends_with("\r\n.\r\n"));
    let lines = lines(&menu);
    let (last, items) = lines.split_last().unwrap();
    assert_eq!(*last, ".");
    for line in items {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "{line:?}");
        let kind = line.chars().next().unwrap();
        if kind == 'i' {
            assert_eq!(fields[2], "null.host");
        } else {
            assert!(fields[0].width() <= 71, "{line:?}");
        }
    }
}

#[test]
fn link_targets() {
    let p = place(70);
    let t = |link: &str| gopher::target(link, "/posts/a.gmi", &p);
    let local = |kind, selector: &str| Target::Local {
        kind,
        selector: selector.into(),
    };
    assert_eq!(t("b.gmi"), local('0', "/posts/b.txt"));
    assert_eq!(t("../series/x/"), local('1', "/series/x/"));
    assert_eq!(t("with%20space.gmi"), local('0', "/posts/with space.txt"));
    assert_eq!(t("/notes.txt"), local('0', "/notes.txt"));
    assert_eq!(t("/i.png"), local('I', "/i.png"));
    assert_eq!(t("gemini://capsule.example/x.gmi"), local('0', "/x.txt"));
    assert_eq!(
        t("gemini://capsule.example:1966/x.gmi"),
        Target::External("gemini://capsule.example:1966/x.gmi".into())
    );
    assert_eq!(
        t("gopher://g.example/0/a%20b.txt"),
        Target::Gopher {
            kind: '0',
            selector: "/a b.txt".into(),
            host: "g.example".into(),
            port: 70
        }
    );
    assert_eq!(
        t("mailto:me@example.org"),
        Target::External("mailto:me@example.org".into())
    );
}

#[test]
fn errors_and_redirect_pages_escape_what_they_hold() {
    assert_eq!(
        gopher::error("Not\tfound\r\n"),
        "3Not found  \t\terror.host\t1\r\n.\r\n"
    );
    let page = gopher::url_redirect("https://example.org/?a=1&b=\"<x>\"");
    assert!(
        page.contains("https://example.org/?a=1&amp;b=&quot;&lt;x&gt;&quot;"),
        "{page}"
    );
    assert!(!page.contains("<x>"));
}

/// Found by `cargo fuzz run gopher_render`: control characters (0 columns to `char::width`,
/// 1 to `str::width`) let a cut word overflow the width.
#[test]
fn control_characters_never_widen_a_line() {
    let crash: &[u8] = &[
        61, 1, 1, 65, 1, 26, 107, 58, 189, 61, 255, 255, 255, 255, 62, 61, 107, 157, 58, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 189, 61,
    ];
    let gemtext = String::from_utf8_lossy(crash);
    let mut long = String::from("x");
    long.push_str(&"\u{1}".repeat(100));
    for input in [gemtext.as_ref(), long.as_str(), "\u{1b}[31mred\u{1b}[0m"] {
        let text = gopher::text(input, "/posts/x.gmi", &place(40));
        for line in lines(&text) {
            assert!(line.width() <= 40, "{line:?}");
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
    }
}
