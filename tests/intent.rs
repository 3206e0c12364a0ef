//! What an author wrote is what readers get, or `check` says why not: front matter where
//! editors put it, series and tags that keep their identity and URLs, dates in the author's
//! time zone, file names with URL delimiters, slugs that cannot take another page's URL.

use crate::common::{Setup, run_cli, write};

/// `check` on a capsule with every mistake names each one at its file and line, lists each
/// withheld post with why, and exits 1 because some post cannot be published as written.
#[test]
fn check_names_every_mistake_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("capsule/posts");
    write(&dir.path().join("capsule"), "index.gmi", "# Home\n");
    let files: [(&str, &str); 13] = [
        // A blank line before the front matter: still a draft.
        (
            "2024-01-01-blank.md",
            "\n---\ntitle: x\ndraft: true\n---\nBody\n",
        ),
        // A second block where the body begins.
        (
            "2024-01-02-late.md",
            "---\ntitle: y\n---\n\n---\ndraft: true\n---\n",
        ),
        ("2024-01-03-typo.md", "---\ndarft: true\nserie: Sail\n---\n"),
        ("2024-01-04-type.md", "---\ntitle: t\npart: three\n---\n"),
        ("2024-01-05-date.md", "---\ndate: 2024-13-01\n---\n"),
        ("nodate.md", "# No date\n"),
        ("2024-01-06-thief.md", "---\nslug: owner.gmi\n---\n"),
        ("owner.md", "---\ndate: 2024-01-07\n---\n"),
        ("2024-01-08-a.md", "---\nseries: Rust Notes\n---\n"),
        ("2024-01-09-b.md", "---\nseries: \"Rust: notes!\"\n---\n"),
        (
            "2024-01-10-c.md",
            "---\nseries: rust notes\n---\n[soon](later.md)\n",
        ),
        ("later.md", "---\ndate: 2999-01-01\n---\n"),
        (
            "2024-01-11-numbers.md",
            "---\ntags: [rust, 2024]\nseries: 2024\n---\n",
        ),
    ];
    for (name, text) in files {
        write(&posts, name, text);
    }
    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert_eq!(status.code(), Some(1), "{out}{err}");
    for expected in [
        "posts/2024-01-01-blank.md:4: withheld: draft",
        "posts/2024-01-02-late.md:5: error: front matter must start the file",
        "posts/2024-01-03-typo.md:2: error: unknown key `darft`: did you mean `draft`? The post is withheld",
        "posts/2024-01-03-typo.md:3: warning: unknown key `serie` is ignored: did you mean `series`?",
        "posts/2024-01-04-type.md:3: error: `part` must be a whole number from 0 up, such as `part: 2` (found `three`)",
        "posts/2024-01-05-date.md:2: error: `date`: invalid date `2024-13-01`",
        "posts/nodate.md:1: warning: no `date` and no YYYY-MM-DD- file-name prefix: dated by the file's modification time",
        "posts/2024-01-06-thief.md:2: error: `slug` `owner` asks for /posts/owner.gmi, which posts/owner.md holds by its name",
        "posts/2024-01-09-b.md:2: error: series “Rust: notes!” and series “Rust Notes” (posts/2024-01-08-a.md) both have the URL name `rust-notes`",
        "posts/2024-01-10-c.md:2: warning: series “rust notes” is taken as “Rust Notes”",
        "posts/2024-01-10-c.md:4: warning: link to later.gmi: posts/later.md is not published (dated ahead: appears 2999-01-01T00:00+00:00)",
        "posts/later.md:2: withheld: dated ahead: appears 2999-01-01T00:00+00:00",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // Numbers are text: no problem with the post that uses them.
    assert!(!out.contains("2024-01-11-numbers.md"), "{out}");
}

/// The project's own sample capsule is clean.
#[test]
fn check_passes_the_sample_capsule() {
    let (status, out, err) = run_cli(env!("CARGO_MANIFEST_DIR").as_ref(), &["check"]);
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("0 error(s), 0 warning(s)"), "{out}");
    assert!(
        out.contains("posts/unfinished-thoughts.md:4: withheld: draft"),
        "{out}"
    );
}

#[test]
fn leading_blank_lines_do_not_publish_a_draft() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "2024-01-01-secret.md",
        "\n \n---\ntitle: Secret\ndraft: true\n---\nNo.\n",
    );
    write(
        &posts,
        "2024-01-02-late.md",
        "---\ntitle: Late\n---\n\n---\ndraft: true\n---\nNo.\n",
    );
    let server = setup.start();
    server
        .get(&server.url("/posts/2024-01-01-secret.gmi"))
        .expect("51");
    server
        .get(&server.url("/posts/2024-01-02-late.gmi"))
        .expect("51");
    let archive = server.get(&server.url("/archive/")).text();
    assert!(
        !archive.contains("Secret") && !archive.contains("Late"),
        "{archive}"
    );
}

#[test]
fn file_names_with_url_delimiters_are_reachable() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(&posts, "2024-01-01-C# & you?.md", "# Sharp\n");
    write(&posts, "2024-01-02-100%.md", "# Full\n");
    let server = setup.start();
    let archive = server.get(&server.url("/archive/")).text();
    for url in [
        "/posts/2024-01-01-C%23%20&%20you%3F.gmi",
        "/posts/2024-01-02-100%25.gmi",
    ] {
        assert!(archive.contains(&format!("=> {url} ")), "{url}: {archive}");
        server.get(&server.url(url)).expect("20");
    }
}

#[test]
fn a_renamed_series_keeps_its_old_urls_and_posts() {
    let setup = Setup::new().config(
        "[series.\"Learning to Sail\"]\nslug = \"sailing\"\naliases = [\"Sailing Notes\"]\n",
    );
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "2024-01-01-a.md",
        "---\nseries: Sailing Notes\npart: 1\n---\n# A\n",
    );
    write(
        &posts,
        "2024-01-02-b.md",
        "---\nseries: Learning to Sail\npart: 2\n---\n# B\n",
    );
    let server = setup.start();
    let r = server.get(&server.url("/series/sailing-notes/"));
    r.expect("31");
    assert_eq!(r.meta(), "/series/sailing/");
    let r = server.get(&server.url("/series/sailing-notes/atom.xml"));
    r.expect("31");
    assert_eq!(r.meta(), "/series/sailing/atom.xml");
    let index = server.get(&server.url("/series/sailing/")).text();
    assert!(index.contains("# Learning to Sail"), "{index}");
    assert!(
        index.contains("Part 1: A") && index.contains("Part 2: B"),
        "{index}"
    );
}

#[test]
fn series_without_numbers_and_posts_in_two_series_are_navigable() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "2024-05-01-day-one.md",
        "---\nseries: [Diary, Boats]\n---\n# Day One\n",
    );
    write(
        &posts,
        "2024-05-02-day-two.md",
        "---\nseries: Diary\n---\n# Day Two\n",
    );
    write(
        &posts,
        "2024-05-03-hull.md",
        "---\nseries: Boats\n---\n# Hull\n",
    );
    let server = setup.start();
    let page = server
        .get(&server.url("/posts/2024-05-01-day-one.gmi"))
        .text();
    for expected in [
        "Part 1 of 2 in “Diary” · 2024-05-01",
        "Part 1 of 2 in “Boats” · 2024-05-01",
        "## In “Diary”",
        "## In “Boats”",
        "=> /posts/2024-05-02-day-two.gmi → Next: Part 2: Day Two",
        "=> /posts/2024-05-03-hull.gmi → Next: Part 2: Hull",
    ] {
        assert!(page.contains(expected), "missing {expected:?} in:\n{page}");
    }
    assert!(!page.contains("supplement"), "{page}");
    let index = server.get(&server.url("/series/diary/")).text();
    assert!(
        index.contains("## 2 parts, 2024-05-01 to 2024-05-02"),
        "{index}"
    );
}

#[test]
fn part_numbers_are_one_numbering() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "2024-06-01-one.md",
        "---\nseries: S\npart: 1\n---\n# One\n",
    );
    write(
        &posts,
        "2024-06-03-six.md",
        "---\nseries: S\npart: 6\n---\n# Six\n",
    );
    let server = setup.start();
    let page = server.get(&server.url("/posts/2024-06-03-six.gmi")).text();
    assert!(page.contains("Part 6 of 6 in “S”"), "{page}");
    assert!(page.contains("Part 6: Six (this post)"), "{page}");
}

#[test]
fn tags_are_shown_as_written_and_kept_apart() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "2024-07-01-a.md",
        "---\ntags: [C++, C#, C, Product Management]\n---\n# A\n",
    );
    let server = setup.start();
    let tags = server.get(&server.url("/tags/")).text();
    for expected in [
        "=> /tags/c-plus-plus/ C++ (1)",
        "=> /tags/c-sharp/ C# (1)",
        "=> /tags/c/ C (1)",
        "=> /tags/product-management/ Product Management (1)",
    ] {
        assert!(tags.contains(expected), "missing {expected:?} in:\n{tags}");
    }
    let page = server.get(&server.url("/tags/c-sharp/")).body_text();
    assert!(page.starts_with("# Posts tagged “C#”"), "{page}");
}

/// A date-only post is published when its day begins in the capsule's time zone.
#[test]
fn dates_follow_the_configured_time_zone() {
    let now = time::OffsetDateTime::now_utc();
    // The day it is now at UTC+14: already begun there, not yet anywhere west of UTC-10.
    let day = (now + time::Duration::hours(14)).date();
    let post = format!("---\ndate: {day}\n---\n# Today\n");
    for (zone, status) in [
        ("+14:00", "20"),
        ("Pacific/Kiritimati", "20"),
        ("-12:00", "51"),
    ] {
        let setup = Setup::new().config(&format!("timezone = \"{zone}\"\n"));
        write(&setup.path().join("capsule/posts"), "today.md", &post);
        let server = setup.start();
        server.get(&server.url("/posts/today.gmi")).expect(status);
    }
}

#[test]
fn an_unknown_time_zone_stops_the_server_with_the_line() {
    let (status, err) = Setup::new()
        .config("lang = \"en\"\ntimezone = \"Mars/Olympus\"\n")
        .fail();
    assert!(!status.success());
    assert!(err.contains("config.toml:2"), "{err}");
    assert!(err.contains("unknown time zone `Mars/Olympus`"), "{err}");
    // An empty one is a slip (a template's unset variable), not UTC.
    let (status, err) = Setup::new().config("timezone = \"\"\n").fail();
    assert!(!status.success());
    assert!(err.contains("config.toml:1"), "{err}");
    assert!(err.contains("unknown time zone ``"), "{err}");
}

#[test]
fn links_to_a_renamed_post_follow_it_in_a_build() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("capsule/posts");
    write(
        &posts,
        "2024-01-01-long-name.md",
        "---\nslug: short\n---\n# Short\n",
    );
    write(
        &posts,
        "2024-01-02-b.md",
        "# B\n\nSee [the first](2024-01-01-long-name.md).\n",
    );
    let (status, out, err) = run_cli(
        dir.path(),
        &["build", "--capsule", "capsule", "--out", "out"],
    );
    assert!(status.success(), "{out}{err}");
    let page = std::fs::read_to_string(dir.path().join("out/posts/2024-01-02-b.gmi")).unwrap();
    assert!(page.contains("=> /posts/short.gmi the first"), "{page}");
    assert!(dir.path().join("out/posts/short.gmi").is_file());
}

/// A post whose front matter holds an error is not served by its name either, nor built: a
/// date that cannot be read might be months ahead. A key in the wrong case is still obeyed.
#[test]
fn posts_that_cannot_be_published_as_written_stay_hidden() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "scheduled.md",
        "---\ndate: 2030-06-01\nupdated: 2030-06-1\n---\nSoon.\n",
    );
    write(
        &posts,
        "caps.md",
        "---\nDraft: true\ndate: 2024-01-01\n---\nNo.\n",
    );
    write(
        &posts,
        "typo.md",
        "---\ndrafts: true\ndate: 2024-01-01\n---\nNo.\n",
    );
    write(
        &posts,
        "far.md",
        "---\ndate: 2024-01-01\nupdated: 9999-12-31T23:00:00-05:00\n---\nFar.\n",
    );
    let server = setup.start();
    for page in ["scheduled", "caps", "typo", "far"] {
        server
            .get(&server.url(&format!("/posts/{page}.gmi")))
            .expect("51");
    }
    // The feeds still answer (a date past 9999 in UTC once stopped them).
    let feed = server.get(&server.url("/atom.xml"));
    feed.expect("20");
    assert!(!feed.body_text().contains("Far."));
    let capsule = server.capsule();
    let dir = capsule.parent().unwrap();
    let (status, out, err) = run_cli(dir, &["check", "--capsule", "capsule"]);
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("posts/far.md:3: error: `updated`: date"),
        "{out}"
    );
    assert!(out.contains("out of range"), "{out}");
    let (status, out, err) = run_cli(dir, &["build", "--capsule", "capsule", "--out", "out"]);
    assert!(status.success(), "{out}{err}");
    for page in ["scheduled", "caps", "typo", "far"] {
        assert!(
            !dir.join(format!("out/posts/{page}.gmi")).exists(),
            "{page}"
        );
    }
}
