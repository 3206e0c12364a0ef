//! The shortcode pass, form by form: what each becomes, what stays as written, and what is
//! told.

use super::*;

fn expanded(markdown: &str) -> Expanded<'_> {
    expand(
        markdown,
        ParseOptions::ENABLE_TABLES | ParseOptions::ENABLE_FOOTNOTES,
    )
}

fn md(markdown: &str) -> String {
    expanded(markdown).text.into_owned()
}

fn notes(markdown: &str) -> Vec<String> {
    expanded(markdown)
        .notes
        .into_iter()
        .map(|n| n.message)
        .collect()
}

#[test]
fn a_body_without_tags_is_borrowed_as_it_is() {
    let body = "# Title\n\nText with { braces } and 50% off.\n";
    let out = expanded(body);
    assert!(matches!(out.text, Cow::Borrowed(_)));
    assert!(out.notes.is_empty() && out.counts.is_empty());
}

#[test]
fn hugo_figure_becomes_an_image_with_its_caption() {
    assert_eq!(
        md("{{< figure src=\"/img/a b.png\" alt=\"A cat\" caption=\"Our cat, 2019\" >}}\n"),
        "![A cat](</img/a b.png>)\n\nOur cat, 2019\n"
    );
    assert_eq!(md("{{< figure src=\"x.png\" >}}"), "![](x.png)");
    assert_eq!(md("{{% figure src='x.png' title=\"T\" /%}}"), "![T](x.png)");
    assert_eq!(
        md("{{< img src=\"x.png\" alt=\"a\" link=\"https://e.org/\" >}}"),
        "![a](x.png)\n\n[a](https://e.org/)"
    );
}

#[test]
fn arguments_may_span_lines() {
    assert_eq!(
        md("{{< figure\n  src=\"x.png\"\n  alt=\"a\"\n>}}\nNext\n"),
        "![a](x.png)\nNext\n"
    );
}

#[test]
fn references_become_page_references_inside_a_link() {
    assert_eq!(
        md("[next]({{< ref \"posts/b.md\" >}})"),
        "[next](@/posts/b.md)"
    );
    assert_eq!(
        md("[next]({{< relref path=\"/blog/my post.md#part\" >}})"),
        "[next](@/blog/my%20post.md#part)"
    );
    assert_eq!(
        md("[p]({{ site.baseurl }}{% post_url 2010-07-21-name %})"),
        "[p](@/2010-07-21-name)"
    );
    assert_eq!(
        md("[p]({%- post_url /sub/2010-07-21-name -%})"),
        "[p](@/sub/2010-07-21-name)"
    );
    assert_eq!(
        md("[about]({% link _pages/about.md %})"),
        "[about](@/_pages/about.md)"
    );
    assert_eq!(md("See {{< ref \"b\" >}}."), "See [b](@/b).");
    // A target written as a page reference already is not made one twice.
    assert_eq!(
        md("See {{ ref(path=\"@/other.md\") }}."),
        "See [other.md](@/other.md)."
    );
}

#[test]
fn a_reference_is_bare_only_where_a_url_is_expected() {
    for (body, expected) in [
        (
            "See {{< ref path=\"secret.md\" >}}.",
            "See [secret.md](@/secret.md).",
        ),
        (
            "See: {{< ref path=\"secret.md\" >}}",
            "See: [secret.md](@/secret.md)",
        ),
        ("(see {{< ref \"b.md\" >}})", "(see [b.md](@/b.md))"),
        ("[x](<{{< ref \"a b.md\" >}}>)", "[x](<@/a%20b.md>)"),
        (
            "<a href=\"{{< ref \"b.md\" >}}\">b</a>",
            "<a href=\"@/b.md\">b</a>",
        ),
        ("[b]: {{< relref \"b.md\" >}}\n", "[b]: @/b.md\n"),
        ("> [b]({{< ref \"b.md\" >}})", "> [b](@/b.md)"),
    ] {
        assert_eq!(md(body), expected, "{body}");
    }
}

#[test]
fn a_tag_inside_an_argument_is_left_out_and_told() {
    let body = "{{< figure src=\"x.png\" caption=\"A {{< nested >}}cat\" >}}";
    assert_eq!(md(body), "![A cat](x.png)");
    assert_eq!(
        notes(body),
        ["shortcode or tag `nested` inside another one's argument is left out"]
    );
    assert_eq!(
        md("{{< figure src=\"x.png\" alt=\"{{ site.title }}{{</* b */>}}\" >}}"),
        "![{{\\< b \\>}}](x.png)"
    );
    // Openers that close nowhere are kept as written.
    let crowded = format!(
        "{{{{< figure src=\"x.png\" alt=\"{}\" >}}}}",
        "{{".repeat(500)
    );
    assert_eq!(md(&crowded), format!("![{}](x.png)", "{{".repeat(500)));
}

#[test]
fn a_quoted_string_output_prints_the_string() {
    assert_eq!(md("Write {{ \"{{\" }} to start."), "Write {{ to start.");
    assert_eq!(md("{{ '{%' }} raw {{ \"%}\" }}"), "{% raw %}");
    assert!(notes("{{ \"{{\" }}").is_empty());
}

#[test]
fn highlight_and_code_become_preformatted_blocks() {
    assert_eq!(
        md("{{< highlight go \"linenos=table\" >}}\nfunc main() {}\n{{< /highlight >}}\n"),
        "```go\nfunc main() {}\n```\n"
    );
    assert_eq!(
        md("{% highlight ruby %}\nputs '{{ x }}'\n{% endhighlight %}"),
        "```ruby\nputs '{{ x }}'\n```"
    );
    assert_eq!(
        md("Text {% code(lang=\"rust\") %}let x = 1;{% end %} after"),
        "Text \n```rust\nlet x = 1;\n```\n after"
    );
    // A fence longer than any run of backticks inside.
    assert_eq!(
        md("{{< highlight md >}}\n````\n{{< /highlight >}}\n"),
        "`````md\n````\n`````\n"
    );
}

/// Whether `markdown`'s text `after` is read as text, not as code: the fences before it
/// are balanced.
fn read_as_text(markdown: &str, after: &str) -> bool {
    let mut in_code = false;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(MdTag::CodeBlock(_)) => in_code = true,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = false,
            Event::Text(text) if text.contains(after) => return !in_code,
            _ => {}
        }
    }
    false
}

#[test]
fn a_code_block_in_a_quote_or_list_item_stays_in_it() {
    for (body, expected) in [
        (
            "> quote\n> {% highlight ruby %}\n> puts 1\n> {% endhighlight %}\n\nAfter.\n",
            "> quote\n> ```ruby\n> puts 1\n> ```\n\nAfter.\n",
        ),
        (
            "> > {{< highlight go >}}\n> > x := 1\n> >\n> > y\n> > {{< /highlight >}}\n\nAfter.\n",
            "> > ```go\n> > x := 1\n> > \n> > y\n> > ```\n\nAfter.\n",
        ),
        (
            "- item\n\n  {% highlight ruby %}\n  puts 1\n    indented\n  {% endhighlight %}\n\nAfter.\n",
            "- item\n\n  ```ruby\n  puts 1\n    indented\n  ```\n\nAfter.\n",
        ),
        (
            "> 1. {{< highlight go >}}\n>    f()\n>    {{< /highlight >}}\n\nAfter.\n",
            "> 1. ```go\n>    f()\n>    ```\n\nAfter.\n",
        ),
        (
            "> {% highlight ruby %}\n> x\n>\n{% endhighlight %}\n\nAfter.\n",
            "> ```ruby\n> x\n> \n> ```\n\nAfter.\n",
        ),
        // Lines written without the quote's marks get them, and text after the close
        // goes on in the quote.
        (
            "> Text {% highlight ruby %}\nputs 1\n{% endhighlight %} more\n\nAfter.\n",
            "> Text \n> ```ruby\n> puts 1\n> ```\n>  more\n\nAfter.\n",
        ),
    ] {
        let out = md(body);
        assert_eq!(out, expected, "{body}");
        assert!(read_as_text(&out, "After."), "{out}");
    }
}

#[test]
fn embeds_become_labelled_links() {
    for (tag, line) in [
        (
            "{{< youtube dQw4w9WgXcQ >}}",
            "[YouTube video](https://www.youtube.com/watch?v=dQw4w9WgXcQ)",
        ),
        (
            "{{< youtube id=\"abc\" title=\"Talk\" >}}",
            "[YouTube video: Talk](https://www.youtube.com/watch?v=abc)",
        ),
        (
            "{{ youtube(id=\"abc\") }}",
            "[YouTube video](https://www.youtube.com/watch?v=abc)",
        ),
        (
            "{{< vimeo 146022717 >}}",
            "[Vimeo video](https://vimeo.com/146022717)",
        ),
        (
            "{{< gist spf13 7896402 \"img.html\" >}}",
            "[GitHub gist by spf13](https://gist.github.com/spf13/7896402)",
        ),
        (
            "{{ gist(url=\"https://gist.github.com/k/1\") }}",
            "[GitHub gist](https://gist.github.com/k/1)",
        ),
        (
            "{{< x user=\"SanDiegoZoo\" id=\"1453110110599868418\" >}}",
            "[Post by @SanDiegoZoo on X](https://x.com/SanDiegoZoo/status/1453110110599868418)",
        ),
        (
            "{{< tweet user=\"a\" id=\"1\" >}}",
            "[Post by @a on X](https://x.com/a/status/1)",
        ),
        (
            "{{< instagram BWNjjyYFxVx >}}",
            "[Instagram post](https://www.instagram.com/p/BWNjjyYFxVx/)",
        ),
    ] {
        assert_eq!(md(tag), line, "{tag}");
    }
}

#[test]
fn asides_keep_their_content_under_their_title() {
    assert_eq!(
        md("{{< details summary=\"More\" >}}\nHidden *text*.\n{{< /details >}}\n"),
        "**More**\n\nHidden *text*.\n\n"
    );
    assert_eq!(
        md("{{% note %}}\nRead this.\n{{% /note %}}\n"),
        "\nRead this.\n\n"
    );
    assert_eq!(
        md("{% admonition(type=\"tip\", title=\"Tip\") %}\nDo it.\n{% end %}"),
        "**Tip**\n\nDo it.\n"
    );
}

#[test]
fn quotes_become_quote_lines_with_their_author() {
    assert_eq!(
        md("{{< quote author=\"Ada\" source=\"Notes\" >}}\nOne.\nTwo.\n{{< /quote >}}\n"),
        "> \n> One.\n> Two.\n> — Ada, Notes\n"
    );
    assert_eq!(md("{% quote(author=\"B\") %}Hi{% end %}"), "> Hi\n> — B");
}

#[test]
fn raw_content_is_taken_as_written() {
    assert_eq!(
        md("{% raw %}{{ page.title }} and {% if %}{% endraw %}"),
        "{{ page.title }} and {% if %}"
    );
    assert_eq!(
        md("{{< raw >}}{{< figure src=\"x\" >}}{{< /raw >}}"),
        "{{< figure src=\"x\" >}}"
    );
}

#[test]
fn comments_are_dropped_and_escapes_shown_without_their_marks() {
    assert_eq!(md("a{% comment %}secret {{ x }}{% endcomment %}b"), "ab");
    assert_eq!(
        md("{{</* figure src=\"x\" */>}}"),
        "{{< figure src=\"x\" >}}"
    );
    assert_eq!(md("{{%/* note */%}}"), "{{% note %}}");
    assert_eq!(md("{{/* image(src=\"x\") */}}"), "{{ image(src=\"x\") }}");
    assert_eq!(md("{%/* quote() */%}"), "{% quote() %}");
    // In code too: that is where the generators' authors write them.
    assert_eq!(
        md("```\n{{</* youtube id */>}}\n```\n"),
        "```\n{{< youtube id >}}\n```\n"
    );
}

#[test]
fn an_escape_ends_at_its_own_close_not_at_a_later_tag() {
    assert_eq!(
        md("`{%/* box(a=1) */%}X{%/* end */%}` then\n\n{{ later() }} and `{{/* f() */}}`"),
        "`{% box(a=1) %}X{% end %}` then\n\n and `{{ f() }}`"
    );
    assert_eq!(md("{{</* note */ >}} tail }}"), "{{< note >}} tail }}");
}

#[test]
fn code_is_left_as_written() {
    for body in [
        "```\n{{< figure src=\"x\" >}}\n{% raw %}\n```\n",
        "    {{ site.title }}\n",
        "Use `{% include x.html %}` here.",
        "~~~liquid\n{% for p in site.posts %}{% endfor %}\n~~~\n",
    ] {
        let out = expanded(body);
        assert_eq!(out.text, body);
        assert!(out.notes.is_empty(), "{body}: {:?}", out.notes);
    }
}

#[test]
fn values_only_the_generator_knows_are_left_out_with_a_warning() {
    assert_eq!(
        md("By {{ site.author }}, {{- page.date | date: \"%Y\" -}}."),
        "By , ."
    );
    assert_eq!(
        notes("{{ site.author }} {{ site.author }} {{< param \"x\" >}} {% include a.html %}"),
        [
            "`site.author` stands for a value only the site generator knows: it is left out \
             (1 more use on this page)",
            "`param` stands for a value only the site generator knows: it is left out",
            "`include` stands for a value only the site generator knows: it is left out",
        ]
    );
    assert_eq!(
        md("![a]({{ \"/img/a.png\" | relative_url }})"),
        "![a](/img/a.png)"
    );
    assert_eq!(md("a{% capture x %}hidden{% endcapture %}b"), "ab");
}

#[test]
fn unknown_shortcodes_keep_their_content_with_one_warning_per_name() {
    let body = "{{< tabs >}}\nOne\n{{< /tabs >}}\n\n{{< tabs >}}Two{{< /tabs >}} {{< tabs >}}\n";
    assert_eq!(md(body), "\nOne\n\n\nTwo \n");
    let out = expanded(body);
    assert_eq!(out.notes.len(), 1);
    assert_eq!(out.notes[0].offset, 0);
    assert_eq!(
        out.notes[0].message,
        "shortcode or tag `tabs` is not known: its tags are left out, its content kept \
         (2 more uses on this page)"
    );
    assert_eq!(out.counts.left.get("tabs"), Some(&3));
    assert_eq!(md("{% if site.x %}yes{% else %}no{% endif %}"), "yesno");
}

#[test]
fn liquid_control_flow_keeps_every_branch_and_is_told_once_per_word() {
    let body = "{% if a %}A{% elsif b %}B{% else %}C{% endif %}\n\
                {% unless x %}U{% endunless %}{% case v %}{% when 1 %}one{% endcase %}\n\
                {% for p in ps %}{% if p %}{% break %}{% else %}{% continue %}{% endif %}\
                {% endfor %}{% tablerow t in ts %}T{% endtablerow %}\n\
                {% increment n %}{% decrement n %}{% cycle 'a', 'b' %}\n";
    let out = expanded(body);
    assert_eq!(out.text, "ABC\nUone\nT\n\n");
    let said: Vec<&str> = out.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(!said.iter().any(|m| m.contains("not known")), "{said:#?}");
    for word in [
        "if", "elsif", "else", "unless", "case", "when", "for", "break", "continue", "tablerow",
    ] {
        let told = format!("Liquid's `{word}` is control flow, which is not run");
        assert_eq!(
            said.iter().filter(|m| m.starts_with(&told)).count(),
            1,
            "{word}: {said:#?}"
        );
    }
    for word in ["increment", "decrement", "cycle"] {
        let told = format!("`{word}` stands for a value only the site generator knows");
        assert!(said.iter().any(|m| m.starts_with(&told)), "{word}");
    }
    assert_eq!(out.counts.left.get("if"), Some(&2));
    // Only Liquid's: a Hugo shortcode of the same name is the author's own.
    assert!(notes("{{< if >}}").iter().all(|m| m.contains("not known")));
}

#[test]
fn nested_blocks_are_each_converted() {
    assert_eq!(
        md(
            "{{< note title=\"N\" >}}\n{{< figure src=\"a.png\" alt=\"a\" >}}\n{{< tabs >}}x{{< /tabs >}}\n{{< /note >}}"
        ),
        "**N**\n\n![a](a.png)\nx\n"
    );
    let out = expanded("{{< quote >}}{{< quote >}}in{{< /quote >}}{{< /quote >}}");
    assert_eq!(out.text, "> > in");
    assert_eq!(out.counts.converted.get("quote"), Some(&2));
}

#[test]
fn malformed_tags_never_swallow_the_page() {
    let body = "Start {{< figure src=\"x\"\n\nand the rest of the page.\n";
    assert_eq!(md(body), body);
    assert_eq!(
        notes(body),
        ["`{{<` opens a shortcode or template tag that is never closed: it is shown as written"]
    );
    // An opener whose close never comes: its tag goes, the rest stays.
    assert_eq!(md("{% raw %}kept {{ x }}"), "kept ");
    assert_eq!(md("{% highlight go %}\ncode"), "\ncode");
    assert_eq!(md("a {{< /tabs >}} b"), "a  b");
    assert_eq!(
        notes("a {{< /tabs >}}"),
        ["the closing tag of `tabs` closes nothing opened before it: it is left out"]
    );
    // A close inside quotes is the string's: the tag ends after it.
    assert_eq!(md("{{ \"}}\" }}x"), "}}x");
}

#[test]
fn a_tag_taken_out_of_a_list_item_leaves_no_heading_underline() {
    for (body, expected) in [
        (
            "Intro paragraph text\n- {% include foo.html %}\n- second\n",
            "Intro paragraph text\n  \n- second\n",
        ),
        ("Intro\n- {{ site.baseurl }}\n", "Intro\n  \n"),
        ("Para\n-{{< x >}}\n", "Para\n \n"),
        ("Intro\n= {{< param x >}}\n", "Intro\n  \n"),
        (
            "- a\n  - {{< unknownx >}}\n    deep\n",
            "- a\n    \n    deep\n",
        ),
        ("Intro\n- {% raw %}\n- b\n", "Intro\n  \n- b\n"),
        ("Intro\n- {% comment %}\n- b\n", "Intro\n  \n- b\n"),
        ("> Intro\n> 1. {{< x >}}\n", "> Intro\n>    \n"),
        // What a tag leaves beside other text, or writes itself, stays.
        ("Intro\n- a {{< x >}}\n", "Intro\n- a \n"),
        ("Intro\n- {{< qr text=\"q\" >}}\n", "Intro\n- q\n"),
        ("Intro\n---\n{{< x >}}\n", "Intro\n---\n\n"),
    ] {
        let out = expanded(body);
        assert_eq!(out.text, expected, "{body:?}");
        // Each line still maps to the line it was written on.
        let line = |text: &str, at: usize| text[..at].matches('\n').count();
        for (at, _) in out.text.match_indices('\n') {
            assert_eq!(line(body, out.source_offset(at)), line(&out.text, at));
        }
    }
}

#[test]
fn liquid_blocks_of_any_name_close_with_their_end_tag() {
    assert_eq!(md("{% tabs %}z{% endtabs %}"), "z");
    assert_eq!(
        notes("{% tabs %}z{% endtabs %}"),
        ["shortcode or tag `tabs` is not known: its tags are left out, its content kept"]
    );
    assert_eq!(
        md("{% details Click me %}\nInside\n{% enddetails %}\n"),
        "**Click me**\n\nInside\n\n"
    );
    assert_eq!(md("{% note %}\nN\n{% endnote %}\n"), "\nN\n\n");
    assert!(notes("{% details Click me %}x{% enddetails %}").is_empty());
    assert!(notes("{% note %}x{% endnote %}").is_empty());
    // A tag with no end is still one tag alone.
    assert_eq!(md("{% details Click me %}"), "");
}

#[test]
fn an_aside_never_closed_is_told() {
    for body in ["{{% notice info %}}\nabc\n", "{% note() %}\nabc\n"] {
        assert_eq!(md(body), "\nabc\n");
        let told = notes(body);
        assert_eq!(told.len(), 1, "{body:?}");
        assert!(
            told[0].ends_with("is never closed: its opening tag is left out, what follows it kept")
        );
    }
    // A Hugo shortcode known alone needs no close.
    assert!(notes("{{< youtube abc >}}").is_empty());
}

#[test]
fn openers_that_never_close_are_looked_past_once_each() {
    const OPENERS: usize = 3000;
    for opener in [
        "{{< highlight go >}}\n",
        "{% raw %}",
        "{%- raw -%}\n",
        "{% highlight go %}\n",
        "{% comment %}\n",
        "{% code(lang=\"go\") %}\n",
    ] {
        let body = opener.repeat(OPENERS);
        let mut closes = Closes::new(&body);
        let mut found = 0;
        for start in body.match_indices(opener.trim_end()).map(|(i, _)| i) {
            let tag = read_tag(&body, start).expect("an opener");
            found += usize::from(closes.find(tag.span.end, &tag).is_some());
        }
        assert_eq!(found, 0, "{opener}");
        // Once per opener for the first, then remembered: quadratic would be millions.
        assert!(
            closes.looked_at <= OPENERS,
            "{opener}: {}",
            closes.looked_at
        );
        // The whole pass: each opener's tag left out with one warning, the text kept.
        let out = expanded(&body);
        assert_eq!(out.notes.len(), 1, "{opener}: {:?}", out.notes);
        assert!(
            !out.text.contains("{%") && !out.text.contains("{{<"),
            "{opener}"
        );
    }
    // A close after many openers still closes the first, whose content shows the rest.
    let body = format!("{}{{% endraw %}}", "{% raw %}".repeat(OPENERS));
    assert!(md(&body) == "{% raw %}".repeat(OPENERS - 1));
}

#[test]
fn warnings_about_a_name_the_site_may_use_on_every_page_are_known_without_their_count() {
    let said = notes(
        "{{< tabs >}}{{< tabs >}}{% if x %}{% endif %}{{ site.author }}{% raw %}\n{{< /tabs >}}",
    );
    let site_wide: Vec<Option<&str>> = said.iter().map(|m| site_wide_warning(m)).collect();
    assert_eq!(
        site_wide,
        [
            Some("shortcode or tag `tabs` is not known: its tags are left out, its content kept"),
            Some(
                "Liquid's `if` is control flow, which is not run: its tags are left out, the \
                 content of every branch kept"
            ),
            Some("`site.author` stands for a value only the site generator knows: it is left out"),
            // A mistake on the page is told on each page.
            None,
        ],
        "{said:#?}"
    );
}

#[test]
fn offsets_map_back_to_the_source() {
    let body = "{{< figure src=\"a.png\" >}}\nline two [x](y.md)\n";
    let out = expanded(body);
    let at = out.text.find("[x]").unwrap();
    assert_eq!(out.source_offset(at), body.find("[x]").unwrap());
    assert_eq!(out.source_offset(2), 0);
    let quoted = "{{< quote >}}\na\nb [l](u)\n{{< /quote >}}";
    let out = expanded(quoted);
    let at = out.text.find("[l]").unwrap();
    assert_eq!(out.source_offset(at), quoted.find("[l]").unwrap());
}

#[test]
fn counts_add_up_across_pages() {
    let mut all = ShortcodeCounts::default();
    all.add(&expanded("{{< youtube a >}}{{< tabs >}}").counts);
    all.add(&expanded("{{< youtube b >}}").counts);
    assert_eq!(all.converted.get("youtube"), Some(&2));
    assert_eq!(all.left.get("tabs"), Some(&1));
}

/// Pieces of the generators' syntax strung together at random must never panic, and no
/// opener of a form that closed survives outside code.
#[test]
fn any_input_expands_without_panic_or_raw_tags() {
    const PIECES: &[&str] = &[
        "{{<",
        ">}}",
        "{{%",
        "%}}",
        "{{",
        "}}",
        "{%",
        "%}",
        "/",
        " ",
        "\n",
        "figure",
        "src=\"x\"",
        "note",
        "/note",
        "end",
        "endif",
        "if",
        "highlight",
        "endhighlight",
        "quote",
        "\"",
        "'",
        "`",
        "```\n",
        "é",
        "-",
        "*/",
        "(",
        ")",
        "a=1",
        "youtube",
        "ref",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut body = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut state = seed;
        for _ in 0..(state % 40) {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            body.push_str(PIECES[(state >> 33) as usize % PIECES.len()]);
        }
        let out = expanded(&body);
        for at in 0..=out.text.len() {
            assert!(out.source_offset(at) <= body.len(), "{body:?}");
        }
        // Raw and escapes show template syntax on purpose; broken tags are kept and told.
        let kept_on_purpose = body.contains("*/")
            || body.contains("`")
            || out.notes.iter().any(|n| n.message.contains("never closed"));
        if !kept_on_purpose {
            for opener in ["{{<", "{{%", "{%"] {
                assert!(!out.text.contains(opener), "{body:?} → {:?}", out.text);
            }
        }
    }
}
