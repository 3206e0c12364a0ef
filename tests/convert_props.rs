//! Properties of the Markdown converter that must hold for any input: balanced preformatted
//! toggles, only well-formed gemtext lines, and no link of the input lost.

use gemhole::convert::{self, LinkPlacement, Options};
use proptest::prelude::*;
use pulldown_cmark::{Event, Parser, Tag};

/// Pieces that exercise Markdown's (and HTML's) syntax when strung together at random.
const VOCABULARY: &[&str] = &[
    "word",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "é",
    "東京",
    "👋🏽",
    "שלום",
    "[",
    "]",
    "(",
    ")",
    "](",
    "![",
    "[link](https://example.org/a b)",
    "[rel](x.md#f)",
    "[frag](#top)",
    "<https://a.example>",
    "<me@example.org>",
    "https://bare.example/x.",
    "gemini://g.example/",
    "*",
    "**",
    "_",
    "~~",
    "`",
    "``",
    "```",
    "```rust\n",
    "~~~\n",
    "    ",
    "> ",
    ">",
    "- ",
    "* ",
    "+ ",
    "1. ",
    "7) ",
    "- [x] ",
    "#",
    "# ",
    "### ",
    "###### ",
    "=",
    "===\n",
    "---\n",
    "***\n",
    "|",
    "| a | b |\n",
    "|---|:-:|\n",
    "[^1]",
    "[^1]: note ",
    "[ref]",
    "[ref]: https://ref.example \"t\"\n",
    "<a href=\"https://h.example\">",
    "</a>",
    "<br>",
    "<img src=\"i.png\" alt=\"i\">",
    "<!--",
    "-->",
    "<script>",
    "</script>",
    "<div>",
    "</div>",
    "&amp;",
    "&copy;",
    "&#0;",
    "\\",
    "\\*",
    "=>",
    "\r\n",
    "\u{feff}",
    "\0",
];

fn markdownish() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(VOCABULARY), 0..120).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

fn placement() -> impl Strategy<Value = LinkPlacement> {
    prop_oneof![
        Just(LinkPlacement::Below),
        Just(LinkPlacement::Footnote),
        Just(LinkPlacement::End),
    ]
}

/// Checks every line of a gemtext document; returns the URLs of its link lines.
fn check_lines(gemtext: &str) -> Result<Vec<String>, String> {
    if !gemtext.is_empty() && !gemtext.ends_with('\n') {
        return Err("does not end with a newline".into());
    }
    if gemtext.contains('\r') {
        return Err("contains CR".into());
    }
    let mut preformatted = false;
    let mut urls = Vec::new();
    for line in gemtext.lines() {
        if line.starts_with("```") {
            preformatted = !preformatted;
            continue;
        }
        if preformatted {
            continue;
        }
        if let Some(rest) = line.strip_prefix("=>") {
            let url = rest
                .split_whitespace()
                .next()
                .ok_or_else(|| format!("link line without URL: {line:?}"))?;
            if !rest.starts_with(' ') {
                return Err(format!("link line without space: {line:?}"));
            }
            urls.push(url.to_owned());
        } else if line.starts_with('#') {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            if hashes > 3 || !line[hashes..].starts_with(' ') {
                return Err(format!("malformed heading: {line:?}"));
            }
        } else if line.starts_with('*') && !line.starts_with("* ") && line.len() > 1 {
            // `*text` is an ordinary text line; nothing to check.
        } else if line.starts_with('>') && line.len() > 1 && !line.starts_with("> ") {
            return Err(format!("quote without space: {line:?}"));
        }
    }
    if preformatted {
        return Err("unbalanced preformatted toggles".into());
    }
    Ok(urls)
}

/// The link destinations pulldown-cmark finds in the input, as gemtext will write them.
fn input_links(markdown: &str) -> Vec<String> {
    Parser::new_ext(markdown, convert::markdown::parse_options())
        .filter_map(|event| match event {
            Event::Start(Tag::Link {
                dest_url,
                link_type,
                ..
            }) => {
                let dest = if link_type == pulldown_cmark::LinkType::Email
                    && !dest_url.starts_with("mailto:")
                {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                convert::url::link_target(&dest)
            }
            Event::Start(Tag::Image { dest_url, .. }) => convert::url::link_target(&dest_url),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn output_is_well_formed_gemtext_with_every_link(md in markdownish(), links in placement()) {
        let options = Options { links, ..Options::default() };
        let gemtext = convert::convert(&md, &options).gemtext;
        let urls = check_lines(&gemtext).map_err(|e| TestCaseError::fail(format!("{e}\n{gemtext}")))?;
        for dest in input_links(&md) {
            prop_assert!(urls.contains(&dest), "lost link {dest:?}\ninput: {md:?}\noutput:\n{gemtext}");
        }
    }

    #[test]
    fn whole_pages_are_well_formed(md in markdownish()) {
        let (page, _) = gemhole::content::markdown::convert(&md, "post", &Options::default());
        check_lines(&page.gemtext).map_err(TestCaseError::fail)?;
        prop_assert!(page.gemtext.starts_with("# "));
    }
}

#[test]
fn pathological_inputs_convert() {
    // Deep nesting and unterminated constructs; each must finish and stay well-formed.
    let inputs = [
        "> ".repeat(5_000) + "deep",
        "- ".repeat(5_000) + "deep",
        "[".repeat(50_000),
        "![".repeat(20_000) + &"](x)".repeat(20_000),
        "<a href=x>".repeat(20_000),
        "<a ".repeat(30_000),
        "<!--".repeat(20_000),
        "*a **b ".repeat(20_000),
        format!("https://x.example/{}", ")".repeat(50_000)),
        "| a ".repeat(10_000) + "|\n" + &"|---".repeat(10_000) + "|\n",
        "[^1]".repeat(10_000) + "\n\n[^1]: x\n",
        "`".repeat(30_000),
        "\n".repeat(100_000),
    ];
    for md in inputs {
        let gemtext = convert::convert(&md, &Options::default()).gemtext;
        if let Err(e) = check_lines(&gemtext) {
            panic!("{e} for input starting {:?}", &md[..40.min(md.len())]);
        }
    }
}
