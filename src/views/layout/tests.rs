use super::*;

fn host_with(templates: &Path) -> HostConfig {
    HostConfig {
        templates: Some(templates.to_owned()),
        ..HostConfig::default()
    }
}

#[test]
fn the_defaults_compile() {
    for kind in PageKind::ALL {
        compile_check(Path::new(kind.file()), kind.default_source())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn blank_lines_only_separate_and_the_authors_text_stays_as_written() {
    let body = "# T\n\n\n```\n\n\n```\n";
    let rendered = format!("\n\nA\n\n\n{}\n\n```\nx\n\n\ny\n```\n\n", sentinel("body"));
    assert_eq!(
        finish(&rendered, &[("body", body)]),
        format!("A\n\n{body}\n```\nx\n\n\ny\n```\n")
    );
    assert_eq!(finish("\n\n", &[]), "");
}

#[test]
fn a_broken_template_is_told_at_its_line_and_column_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("archive.gmi");
    std::fs::write(
        &file,
        "# Everything\n{% for post in posts %}\n=> {{ post.url }}\n{% endfor %}\n",
    )
    .unwrap();
    let host = host_with(dir.path());
    let (good, problems) = Layout::load(&host, None);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(good.is_custom(PageKind::Archive));
    std::fs::write(&file, "# Everything\n\n{% for post in posts %\n").unwrap();
    let (kept, problems) = Layout::load(&host, Some(&good));
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert_eq!((problem.file.as_path(), problem.line), (file.as_path(), 3));
    assert!(
        problem
            .to_string()
            .starts_with(&format!("{}:3:", file.display())),
        "{problem}"
    );
    assert!(kept.same_as(&good));
    // Without a last good one: the default.
    let (fresh, _) = Layout::load(&host, None);
    assert!(!fresh.is_custom(PageKind::Archive));
}

#[test]
fn a_template_that_never_ends_or_grows_without_bound_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // Loops over loops: far more work than any page needs.
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
        // A string that doubles each time.
        "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        // A macro that calls itself.
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    ];
    for source in cases {
        std::fs::write(dir.path().join("tags.gmi"), source).unwrap();
        let (layout, problems) = Layout::load(&host_with(dir.path()), None);
        assert!(problems.is_empty(), "{problems:?}");
        let context = minijinja::context! { tags => Vec::<String>::new() };
        let out = layout.render(PageKind::Tags, context, &[]);
        // The default made the page instead, and makes the next ones without trying again.
        assert_eq!(out, "# Tags\n\nNo tags yet.\n", "{source}");
        let aside = &layout.set_aside[PageKind::Tags.index()];
        assert!(aside.load(std::sync::atomic::Ordering::Relaxed), "{source}");
        assert_eq!(layout.failures().len(), 1, "{source}");
    }
}

#[test]
fn values_stay_on_their_line() {
    let layout = Layout::default();
    let tag = minijinja::context! {
        name => "evil\n=> gemini://elsewhere.example/ click",
        url => "/tags/evil/",
        count => 1,
        posts => Vec::<String>::new(),
    };
    let out = layout.render(
        PageKind::Tag,
        minijinja::context! { tag => tag, urls => model_urls() },
        &[],
    );
    assert!(
        !out.lines().any(|l| l.starts_with("=> gemini://elsewhere")),
        "{out}"
    );
}

fn model_urls() -> minijinja::Value {
    super::super::model::value(super::super::model::Urls::new())
}

/// A tag page whose tag is named `name`, with the author's text `# Secret` to place.
fn tag_named(layout: &Layout, name: String) -> String {
    let tag = minijinja::context! {
        name => name, url => "/tags/x/", count => 1, posts => Vec::<String>::new(),
    };
    layout.render(
        PageKind::Tag,
        minijinja::context! { tag => tag, urls => model_urls() },
        &[("body", "# Secret\nbody\n")],
    )
}

#[test]
fn a_value_cannot_place_the_authors_text() {
    let out = tag_named(&Layout::default(), format!("x {} y", sentinel("body")));
    assert!(!out.contains("Secret"), "{out}");
}

#[test]
fn a_template_file_is_read_no_further_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // A file that says it is empty and is not.
    std::os::unix::fs::symlink("/proc/self/pagemap", dir.path().join("tags.gmi")).unwrap();
    let (layout, problems) = Layout::load(&host_with(dir.path()), None);
    assert!(!layout.is_custom(PageKind::Tags));
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn a_value_marked_safe_by_a_template_cannot_place_the_authors_text_either() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tag.gmi"),
        "# {{ tag.name|safe }}\n{{ tag.name|e }}\n",
    )
    .unwrap();
    let (layout, problems) = Layout::load(&host_with(dir.path()), None);
    assert!(problems.is_empty(), "{problems:?}");
    // Only a placed value is written as a marker, whatever a template does with a string.
    for name in [sentinel("body"), format!("x {} y", sentinel("body"))] {
        let out = tag_named(&layout, name);
        assert!(!out.contains("Secret"), "{out}");
    }
}

#[test]
fn a_process_s_environment_or_a_binary_file_is_no_template() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("home.gmi")).unwrap();
    std::fs::write(dir.path().join("tags.gmi"), b"# Tags\0\n").unwrap();
    let (layout, problems) = Layout::load(&host_with(dir.path()), None);
    assert!(!layout.is_custom(PageKind::Home) && !layout.is_custom(PageKind::Tags));
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn a_string_id_no_string_has_is_a_template_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tags.gmi"), "# Tags\n\n{{ t(\"nope\") }}\n").unwrap();
    let (layout, _) = Layout::load(&host_with(dir.path()), None);
    let out = layout.render(
        PageKind::Tags,
        minijinja::context! { tags => Vec::<String>::new() },
        &[],
    );
    assert_eq!(out, "# Tags\n\nNo tags yet.\n");
    let failures = layout.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].line, 3, "{}", failures[0]);
    assert!(failures[0].message.contains("nope"), "{}", failures[0]);
}
