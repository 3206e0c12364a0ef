//! Markdown → gemtext, one snapshot per construct and per combination users have reported
//! broken in other converters. Each snapshot records its Markdown input as the description.

use gemhole::convert::{self, LinkPlacement, Options};

fn check(name: &str, markdown: &str) {
    check_with(name, markdown, &Options::default());
}

fn check_with(name: &str, markdown: &str, options: &Options) {
    let gemtext = convert::convert(markdown, options).gemtext;
    insta::with_settings!({ description => markdown, omit_expression => true }, {
        insta::assert_snapshot!(name, gemtext);
    });
}

#[test]
fn paragraph_links_go_below_with_prose_unchanged() {
    check(
        "paragraph_links",
        "Read [the spec](gemini://geminiprotocol.net/docs/) and [Lagrange](https://gmi.skyjake.fi/lagrange/) first.\nThen write.\n",
    );
}

#[test]
fn link_only_paragraph_and_list_become_link_lines() {
    check(
        "link_only",
        "[Home](/) [About](about.md)\n\n- [One](one.md)\n- [Two](https://two.example)\n",
    );
}

#[test]
fn images_are_links_with_a_marker() {
    check(
        "images",
        "A cat: ![Sleeping cat](img/cat.jpg) and an unnamed one ![](img/dog.png).\n\n![Diagram](diagram.svg)\n",
    );
}

#[test]
fn image_inside_a_link_gives_two_labelled_lines() {
    check(
        "image_in_link",
        "[![Build status](badge.svg)](https://ci.example/build)\n",
    );
}

#[test]
fn reference_links_case_insensitive_and_angle_destinations() {
    check(
        "reference_links",
        "See the [safety sheet][SAFETY], [the manual][] and [faq].\n\n[safety]: <https://example.org/safety sheet.pdf> \"Safety\"\n[the manual]: https://example.org/manual?a=1&b=2\n[FAQ]: faq.md#top\n[unused]: https://unused.example\n",
    );
}

#[test]
fn autolinks_and_email() {
    check(
        "autolinks",
        "Mail <someone@example.org> or see <https://example.org/a>.\n",
    );
}

#[test]
fn bare_urls_in_text_are_linked() {
    check(
        "bare_urls",
        "Mirrors: gemini://example.org/x, https://example.org/y_(z). And gopher://example.org/1/ too, and ftp://example.org (GitHub links it).\n\n`https://in-code.example` stays code.\n",
    );
}

#[test]
fn headings_capped_at_three_levels() {
    check(
        "headings",
        "# One\n## Two\n### Three\n#### Four ####\n##### Five\n###### Six\n",
    );
}

/// Hugo's and Zola's heading attributes name an anchor: dropped, never shown. A brace that is
/// no attribute block stays.
#[test]
fn heading_attributes_are_dropped() {
    let gemtext = gemhole::convert::convert(
        "## Setup {#setup}\n\n### Notes {#notes .wide}\n\n## Sets {a, b}\n",
        &gemhole::convert::Options::default(),
    )
    .gemtext;
    assert_eq!(gemtext, "## Setup\n\n### Notes\n\n## Sets {a, b}\n");
}

#[test]
fn setext_headings() {
    check(
        "setext_headings",
        "Title\n=====\n\nSubtitle\n--------\n\nText.\n",
    );
}

#[test]
fn nested_lists_are_flattened() {
    check(
        "nested_lists",
        "- fruit\n  - apple\n    - green\n  - pear\n- vegetables\n  which wrap over lines\n",
    );
}

#[test]
fn ordered_lists_keep_their_numbers() {
    check(
        "ordered_lists",
        "7. seven\n8. eight\n   1. sub one\n   2. sub two\n9. nine\n",
    );
}

#[test]
fn task_lists() {
    check(
        "task_lists",
        "- [x] written\n- [ ] published\n  - [X] nested done\n",
    );
}

#[test]
fn links_in_nested_lists_follow_the_whole_list() {
    check(
        "links_in_nested_lists",
        "- Tools:\n  - [md2gemini](https://github.com/makew0rld/md2gemini) is archived\n  - [gmnhg](https://github.com/tdemin/gmnhg) for Hugo\n- Servers: [Agate](https://github.com/mbrubeck/agate)\n\nAfter the list.\n",
    );
}

#[test]
fn loose_list_with_paragraphs() {
    check(
        "loose_list",
        "- First item.\n\n  Second paragraph of the first item.\n\n- Second item.\n",
    );
}

#[test]
fn quotes_one_line_per_paragraph() {
    check(
        "quotes",
        "> First paragraph,\n> still the first.\n>\n> Second paragraph.  \n> After a hard break.\n\nAfter the quote.\n",
    );
}

#[test]
fn links_inside_quotes_follow_the_quote() {
    check(
        "quote_links",
        "> Quoting [a post](https://example.org/post) and\n> [another](gemini://example.org/other).\n>\n> More.\n",
    );
}

#[test]
fn nested_quotes_and_lists_in_quotes() {
    check(
        "nested_quotes",
        "> Outer\n> > Inner\n>\n> - item one\n> - item two\n",
    );
}

#[test]
fn tables_are_aligned_preformatted_blocks() {
    check(
        "table_alignment",
        "| Left | Right | Centre | Plain |\n|:-----|------:|:------:|-------|\n| a | 1 | x | p |\n| longer cell | 1000 | xyz | **bold** |\n",
    );
}

#[test]
fn table_cell_links_follow_the_table() {
    check(
        "table_links",
        "| Server | Site |\n|---|---|\n| Agate | [repo](https://github.com/mbrubeck/agate) |\n| gmid | [home](https://gmid.omarpolo.com) |\n",
    );
}

#[test]
fn cjk_and_emoji_tables_align_by_display_width() {
    check(
        "cjk_table",
        "| 名前 | City | Mood |\n|---|:-:|---|\n| 山田太郎 | 東京 | 😀 |\n| Ann | Oslo | 🎉🎉 |\n",
    );
}

#[test]
fn rtl_and_emoji_text_is_kept() {
    check(
        "unicode_text",
        "שלום עולם — مرحبا بالعالم 👋🏽 and [קישור](https://he.example/דף).\n",
    );
}

#[test]
fn fenced_code_keeps_language_and_bytes() {
    check(
        "fenced_code",
        "```rust,ignore title=\"x\"\nfn main() {\n\tprintln!(\"*not* a [link](x)\");   \n}\n```\n\n~~~\n```\nfence inside\n~~~\n",
    );
}

#[test]
fn indented_code_is_fenced() {
    check(
        "indented_code",
        "Text:\n\n    let x = 1;\n    # not a heading\n\nMore.\n",
    );
}

#[test]
fn footnotes_numbered_by_first_use_under_notes() {
    check(
        "footnotes",
        "[^b]: Defined first, used second.\n\nFirst[^a] then second[^b] then first again[^a].\n\n[^a]: The first note.\n[^unused]: Never referenced.\n",
    );
}

#[test]
fn footnotes_with_links_keep_their_links() {
    check(
        "footnote_links",
        "A claim.[^src]\n\n[^src]: From [the study](https://example.org/study) and\n    <https://example.org/data>.\n",
    );
}

#[test]
fn raw_html_block_is_stripped_to_text() {
    check(
        "html_block",
        "<div class=\"note\">\n<p>Hello <b>world</b> &amp; friends<br>next line</p>\n<p><a href=\"https://example.org/?a=1&amp;b=2\">A link</a> and <img src=\"pic.png\" alt=\"a picture\"></p>\n</div>\n",
    );
}

#[test]
fn inline_html_is_stripped() {
    check(
        "inline_html",
        "Line one<br>line two with <em>emphasis</em>, <a href=\"/x.gmi\">a link</a> and <kbd>Ctrl</kbd>.\n",
    );
}

#[test]
fn html_comments_scripts_and_styles_vanish() {
    check(
        "html_hidden",
        "Before <!-- secret --> after.\n\n<!--\nmulti-line\ncomment\n-->\n\n<script>\nalert('x')\n</script>\n\n<style>p { color: red }</style>\n\nVisible.\n",
    );
}

#[test]
fn entities_are_decoded() {
    check(
        "entities",
        "Fish &amp; chips &copy; 2024 &mdash; caf&eacute; &#x1F600; &#169; and [AT&amp;T](https://example.org/?q=a&amp;b)\n",
    );
}

#[test]
fn hard_breaks_kept_soft_breaks_joined() {
    check(
        "breaks",
        "A paragraph that\nwraps in the source\nbecomes one line.\n\nHard break with spaces  \nand with a backslash\\\nend.\n",
    );
}

#[test]
fn emphasis_and_strikethrough_markers_are_stripped() {
    check(
        "emphasis",
        "*em* _em_ **strong** __strong__ ***both*** ~~gone~~ `code stays`\n",
    );
}

#[test]
fn escaped_line_starts_stay_prose() {
    check(
        "escaped_line_starts",
        "\\* not a list\n\n\\# not a heading\n\n\\> not a quote\n\n=> not a link\n\n\\```not a fence\n\n\\*\\*not bold\\*\\*\n",
    );
}

#[test]
fn relative_md_links_become_gmi() {
    check(
        "md_links",
        "[Next](part-2.md), [with query](search.md?q=sail#results), [up](../index.md), [same page](#section), [web](https://example.org/readme.md).\n",
    );
}

#[test]
fn ampersands_and_special_characters_in_urls() {
    check(
        "url_encoding",
        "[query](https://example.org/?a=1&b=2) [space](<my file.gmi>) [unicode](https://bücher.example/straße) [percent](a%20b.gmi)\n",
    );
}

#[test]
fn thematic_break() {
    check("thematic_break", "Above.\n\n---\n\nBelow.\n\n***\n");
}

#[test]
fn link_placement_footnote() {
    let options = Options {
        links: LinkPlacement::Footnote,
        ..Options::default()
    };
    check_with(
        "placement_footnote",
        "See [one](https://one.example) and [two](https://two.example).\n\n[Only a link](https://three.example)\n\nThen [four](https://four.example).\n",
        &options,
    );
}

#[test]
fn link_placement_end() {
    let options = Options {
        links: LinkPlacement::End,
        ..Options::default()
    };
    check_with(
        "placement_end",
        "See [one](https://one.example).\n\n- item [two](https://two.example)\n\nFoot[^n].\n\n[^n]: Note [three](https://three.example).\n",
        &options,
    );
}

#[test]
fn a_realistic_post_as_a_page() {
    // Whole-page conversion: front matter split off, its title used as the heading.
    let source = include_str!("data/sailing-knots.md");
    let (page, error) =
        gemhole::content::markdown::convert(source, "sailing-knots", &Options::default());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(page.title, "Learning to Sail, Part 2: Knots");
    insta::with_settings!({ description => "tests/data/sailing-knots.md", omit_expression => true }, {
        insta::assert_snapshot!("realistic_post", page.gemtext);
    });
}

#[test]
fn output_always_ends_with_one_newline() {
    for md in [
        "",
        "\n\n",
        "text",
        "# h",
        "```\ncode",
        "> q",
        "- i",
        "| a |\n|---|\n| b |",
    ] {
        let out = convert::convert(md, &Options::default()).gemtext;
        assert!(
            out.is_empty() || (out.ends_with('\n') && !out.ends_with("\n\n")),
            "{md:?} → {out:?}"
        );
    }
}
