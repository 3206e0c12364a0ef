//! Generated pages, served: series indexes and the navigation on every post of a series, the
//! archive, tag pages and the home page.

use crate::common::{Setup, TestServer, write};

/// A five-part series written out of date order, with a supplement, a see-also post and a
/// draft part.
fn sailing() -> TestServer {
    sailing_with_config("")
}

fn sailing_with_config(config: &str) -> TestServer {
    let setup = Setup::new().config(config);
    write(
        &setup.path().join("capsule/series"),
        "learning-to-sail.md",
        "# Learning to Sail\n\nFive weekends on the water, and what they taught me.\n",
    );
    let posts = setup.path().join("capsule/posts");
    let part = |file: &str, title: &str, date: &str, part: u32| {
        write(
            &posts,
            file,
            format!(
                "---\ntitle: {title}\ndate: {date}\nseries: Learning to Sail\npart: {part}\ntags: [sailing]\n---\nText of {title}.\n"
            ),
        );
    };
    part("first-lesson.md", "The First Lesson", "2024-03-04", 1);
    part("knots.md", "Knots", "2024-03-11", 2);
    part("wind.md", "Reading the Wind", "2024-03-29", 3);
    part("tacking.md", "Tacking and Gybing", "2024-03-25", 4);
    write(
        &posts,
        "glossary.md",
        "+++\ntitle = \"A Glossary of Rigging\"\ndate = 2024-04-03\nseries = \"Learning to Sail\"\nseries_role = \"supplement\"\n+++\nTerms.\n",
    );
    write(
        &posts,
        "further.md",
        "---\ntitle: Further Reading\ndate: 2024-04-05\nseries: Learning to Sail\nseries_role: see-also\n---\nBooks.\n",
    );
    write(
        &posts,
        "sixth.md",
        "---\ntitle: Secret Sixth\ndraft: true\nseries: Learning to Sail\npart: 6\n---\nNot yet.\n",
    );
    part("coming-home.md", "Coming Home", "2024-04-01", 5);
    setup.start()
}

#[test]
fn series_index_lists_parts_in_part_order_as_a_gemfeed() {
    let server = sailing();
    let r = server.get(&server.url("/series/learning-to-sail/"));
    r.expect("20");
    assert_eq!(r.meta(), "text/gemini; charset=utf-8");
    let body = String::from_utf8(r.body().to_vec()).unwrap();
    insta::assert_snapshot!("series_index", body);
    assert!(!body.contains("Secret"));
}

#[test]
fn series_paths_without_slash_redirect_and_unknown_series_are_51() {
    let server = sailing();
    let r = server.get(&server.url("/series/learning-to-sail"));
    r.expect("31");
    assert_eq!(r.meta(), "/series/learning-to-sail/");
    server.get(&server.url("/series")).expect("31");
    server
        .get(&server.url("/series/no-such-series/"))
        .expect("51");
    let all = server.get(&server.url("/series/"));
    all.expect("20");
    assert!(
        String::from_utf8_lossy(all.body())
            .contains("=> /series/learning-to-sail/ Learning to Sail (5 parts)")
    );
}

#[test]
fn every_post_of_a_series_carries_its_navigation() {
    let server = sailing();
    let r = server.get(&server.url("/posts/wind.gmi"));
    r.expect("20");
    let body = String::from_utf8(r.body().to_vec()).unwrap();
    insta::assert_snapshot!("series_post_navigation", body);

    let first = String::from_utf8(
        server
            .get(&server.url("/posts/first-lesson.gmi"))
            .body()
            .to_vec(),
    )
    .unwrap();
    assert!(
        first.contains("Part 1 of 5 in “Learning to Sail”"),
        "{first}"
    );
    assert!(!first.contains("← Previous"), "{first}");
    assert!(
        first.contains("=> /posts/knots.gmi → Next: Part 2: Knots"),
        "{first}"
    );

    let glossary = String::from_utf8(
        server
            .get(&server.url("/posts/glossary.gmi"))
            .body()
            .to_vec(),
    )
    .unwrap();
    assert!(
        glossary.contains("A supplement to “Learning to Sail”"),
        "{glossary}"
    );
    assert!(
        glossary.contains("Supplement: A Glossary of Rigging (this post)"),
        "{glossary}"
    );
    assert!(!glossary.contains("Next:"), "{glossary}");

    // Drafts stay invisible: their page is 51 and no page names them.
    server.get(&server.url("/posts/sixth.gmi")).expect("51");
    assert!(!first.contains("Secret"));
}

#[test]
fn archive_and_tag_pages_are_gemfeeds_newest_first() {
    let server = sailing();
    let archive = String::from_utf8(server.get(&server.url("/archive/")).body().to_vec()).unwrap();
    insta::assert_snapshot!("archive", archive);
    assert!(!archive.contains("Secret"));
    server.get(&server.url("/archive")).expect("31");

    let tags = String::from_utf8(server.get(&server.url("/tags/")).body().to_vec()).unwrap();
    assert!(tags.contains("=> /tags/sailing/ sailing (5)"), "{tags}");
    let tag = server.get(&server.url("/tags/sailing/"));
    tag.expect("20");
    let tag = String::from_utf8(tag.body().to_vec()).unwrap();
    assert!(
        tag.starts_with(
            "# Posts tagged “sailing”\n\n=> /posts/coming-home.gmi 2024-04-01 Coming Home\n"
        ),
        "{tag}"
    );
    server.get(&server.url("/tags/nothing/")).expect("51");
}

#[test]
fn home_page_is_the_authors_text_then_recent_posts_series_and_tags() {
    let server = sailing();
    write(
        &server.capsule(),
        "index.gmi",
        "# My Gemlog\n\nHello, reader.\n",
    );
    let home = server.wait_text("/", "Hello, reader.").body_text();
    insta::assert_snapshot!("home", home);

    let bare = sailing_with_config("[home]\nrecent = 0\nseries = false\ntags = false\n");
    write(&bare.capsule(), "index.gmi", "# My Gemlog\n");
    assert_eq!(bare.wait_text("/", "My Gemlog").body(), b"# My Gemlog\n");
}

#[test]
fn atom_feed_snapshot() {
    let server = sailing_with_config("public_port = 1965\n");
    let feed = server.get(&server.url("/series/learning-to-sail/atom.xml"));
    insta::assert_snapshot!(
        "series_feed",
        String::from_utf8(feed.body().to_vec()).unwrap()
    );
}

#[test]
fn atom_feeds_are_valid_xml_with_absolute_gemini_urls() {
    let server = sailing();
    let r = server.get(&server.url("/atom.xml"));
    r.expect("20");
    assert_eq!(r.meta(), "application/atom+xml");
    let xml = String::from_utf8(r.body().to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("feed is well-formed XML");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(
        feed.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let entries: Vec<_> = feed
        .children()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    assert_eq!(entries.len(), 7, "drafts must not be in the feed");
    let base = format!("gemini://localhost:{}/", server.port());
    for entry in &entries {
        let text = |name: &str| {
            entry
                .children()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_owned()
        };
        // Ids name the source file under the first hostname; links are where readers go.
        assert!(
            text("id").starts_with("tag:localhost,2024:posts/"),
            "{}",
            text("id")
        );
        let href = entry
            .children()
            .find(|n| n.has_tag_name("link"))
            .and_then(|n| n.attribute("href"))
            .unwrap_or_default();
        assert!(href.starts_with(&base), "{href}");
        assert!(!text("title").is_empty());
        assert!(
            time::OffsetDateTime::parse(
                &text("updated"),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
    }
    assert!(!xml.contains("Secret"));

    let series = server.get(&server.url("/series/learning-to-sail/atom.xml"));
    series.expect("20");
    let xml = String::from_utf8(series.body().to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let title = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("title"))
        .unwrap();
    assert_eq!(title.text(), Some("Learning to Sail"));
    assert_eq!(
        doc.root_element()
            .children()
            .filter(|n| n.has_tag_name("entry"))
            .count(),
        7
    );
    server
        .get(&server.url("/series/nope/atom.xml"))
        .expect("51");
}

#[test]
fn posts_dated_ahead_wait_for_their_date_unless_configured() {
    let write_future = |setup: &Setup| {
        write(
            &setup.path().join("capsule/posts"),
            "soon.md",
            "---\ntitle: From the Future\ndate: 2999-01-01\n---\nNot yet.\n",
        );
    };
    let setup = Setup::new();
    write_future(&setup);
    let server = setup.start();
    server.get(&server.url("/posts/soon.gmi")).expect("51");
    let archive = server.get(&server.url("/archive/"));
    assert!(!String::from_utf8_lossy(archive.body()).contains("Future"));

    let setup = Setup::new().config("publish_future = true\n");
    write_future(&setup);
    let server = setup.start();
    server.get(&server.url("/posts/soon.gmi")).expect("20");
    let archive = server.get(&server.url("/archive/"));
    assert!(String::from_utf8_lossy(archive.body()).contains("2999-01-01 From the Future"));
}

#[test]
fn robots_txt_has_a_default_and_the_capsules_own_wins() {
    let setup = Setup::new();
    std::fs::remove_file(setup.path().join("capsule/robots.txt")).unwrap();
    let server = setup.start();
    let r = server.get(&server.url("/robots.txt"));
    r.expect("20");
    assert_eq!(r.meta(), "text/plain");
    assert_eq!(r.body(), b"User-agent: webproxy\nDisallow: /\n");

    let server = Setup::new().start();
    assert_eq!(
        server.get(&server.url("/robots.txt")).body(),
        b"User-agent: *\nDisallow:\n"
    );
}

#[test]
fn build_writes_the_same_bytes_the_server_sends() {
    let server = sailing_with_config("public_port = 1965\n");
    let dir = server.dir.path();
    let (status, out, err) = crate::common::run_cli(dir, &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let site = dir.join("site");
    let mut compared = 0;
    for path in [
        "/",
        "/archive/",
        "/tags/",
        "/tags/sailing/",
        "/series/",
        "/series/learning-to-sail/",
        "/series/learning-to-sail/atom.xml",
        "/atom.xml",
        "/posts/wind.gmi",
        "/posts/glossary.gmi",
        "/about.gmi",
        "/robots.txt",
    ] {
        let file = if path.ends_with('/') {
            site.join(&path[1..]).join("index.gmi")
        } else {
            site.join(&path[1..])
        };
        let built = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let served = server.get(&server.url(path));
        served.expect("20");
        assert!(built == served.body(), "{path} differs");
        compared += 1;
    }
    assert_eq!(compared, 12);
    assert!(
        !site.join("posts/sixth.gmi").exists(),
        "the draft was written"
    );
    assert!(
        !site.join("posts/knots.md").exists(),
        "a Markdown source was copied"
    );
    assert!(!site.join(".secret").exists(), "a dot-file was copied");
}

#[test]
fn a_slug_renames_a_post_and_its_file_name_redirects() {
    let setup = Setup::new();
    write(
        &setup.path().join("capsule/posts"),
        "2024-05-01-a-very-long-file-name.md",
        "---\ntitle: Short\nslug: short\n---\nBody.\n",
    );
    let server = setup.start();
    let r = server.get(&server.url("/posts/short.gmi"));
    r.expect("20");
    assert_eq!(r.body(), b"# Short\n\nBody.\n");
    let r = server.get(&server.url("/posts/2024-05-01-a-very-long-file-name.gmi"));
    r.expect("31");
    assert_eq!(r.meta(), "/posts/short.gmi");
    let archive = server.get(&server.url("/archive/"));
    assert!(
        String::from_utf8_lossy(archive.body()).contains("=> /posts/short.gmi 2024-05-01 Short")
    );

    let (status, out, err) = crate::common::run_cli(server.dir.path(), &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let built = server.dir.path().join("site/posts");
    assert_eq!(
        std::fs::read(built.join("short.gmi")).unwrap(),
        b"# Short\n\nBody.\n"
    );
    assert!(!built.join("2024-05-01-a-very-long-file-name.gmi").exists());
}

#[test]
fn the_author_places_the_generated_part_with_a_marker_line() {
    let server = sailing();
    write(
        &server.capsule(),
        "index.gmi",
        "# My Gemlog\n\nAbove.\n\n{{generated}}\n\n## Elsewhere\n=> gemini://example.org/ A friend\n",
    );
    let home = server.wait_text("/", "Above.").body_text();
    assert!(!home.contains("{{generated}}"), "{home}");
    let recent = home.find("## Recent posts").unwrap();
    let elsewhere = home.find("## Elsewhere").unwrap();
    assert!(
        home.find("Above.").unwrap() < recent && recent < elsewhere,
        "{home}"
    );
    assert!(
        home.ends_with("=> gemini://example.org/ A friend\n"),
        "{home}"
    );
}

/// Polls `path` until its body satisfies `pred`, within the deadline.
fn poll_until(server: &TestServer, path: &str, what: &str, pred: impl Fn(&str) -> bool) {
    server.wait_for(path, what, |a| pred(&a.body_text()));
}

#[test]
fn new_and_deleted_posts_show_without_a_restart() {
    let server = sailing();
    let posts = server.capsule().join("posts");
    write(
        &posts,
        "fresh.md",
        "---\ntitle: Freshly Written\ndate: 2024-06-01\nseries: Learning to Sail\npart: 6\n---\nNew.\n",
    );
    poll_until(&server, "/archive/", "new post in the archive", |b| {
        b.contains("=> /posts/fresh.gmi 2024-06-01 Freshly Written")
    });
    poll_until(
        &server,
        "/series/learning-to-sail/",
        "new part in the series",
        |b| b.contains("Part 6: Freshly Written"),
    );
    let knots = String::from_utf8(
        server
            .get(&server.url("/posts/coming-home.gmi"))
            .body()
            .to_vec(),
    )
    .unwrap();
    assert!(knots.contains("→ Next: Part 6: Freshly Written"), "{knots}");

    std::fs::remove_file(posts.join("fresh.md")).unwrap();
    poll_until(&server, "/archive/", "deleted post gone", |b| {
        !b.contains("Freshly Written")
    });
    server.get(&server.url("/posts/fresh.gmi")).expect("51");
    server.wait_log("the reload", |l| l.contains("site reloaded"));
}

/// Titles that already name the series and the part are labelled once, "Part N: rest", on the
/// series index, in a post's footer and previous/next links, and in the Gopher menu.
#[test]
fn part_labels_do_not_repeat_what_the_title_says() {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let posts = setup.path().join("capsule/posts");
    for (file, title, part) in [
        ("hardware.md", "Self-hosting on a Pi, part 1: Hardware", 1),
        ("disks.md", "self-hosting on a  PI #2 – Disks", 2),
        ("power.md", "Part 3", 3),
    ] {
        write(
            &posts,
            file,
            format!(
                "---\ntitle: \"{title}\"\ndate: 2024-01-0{part}\nseries: Self-hosting on a Pi\npart: {part}\n---\nText.\n"
            ),
        );
    }
    let server = setup.start();
    let index = server
        .get(&server.url("/series/self-hosting-on-a-pi/"))
        .body_text();
    for line in [
        "=> /posts/hardware.gmi 2024-01-01 Part 1: Hardware",
        "=> /posts/disks.gmi 2024-01-02 Part 2: Disks",
        "=> /posts/power.gmi 2024-01-03 Part 3",
    ] {
        assert!(index.lines().any(|l| l == line), "{line:?} in\n{index}");
    }
    let post = server.get(&server.url("/posts/disks.gmi")).body_text();
    for line in [
        "=> /posts/hardware.gmi Part 1: Hardware",
        "Part 2: Disks (this post)",
        "=> /posts/power.gmi Part 3",
        "=> /posts/hardware.gmi ← Previous: Part 1: Hardware",
        "=> /posts/power.gmi → Next: Part 3",
    ] {
        assert!(post.lines().any(|l| l == line), "{line:?} in\n{post}");
    }
    let menu = String::from_utf8(server.gopher(b"/series/self-hosting-on-a-pi/\r\n")).unwrap();
    let port = server.gopher_addr().port();
    for line in [
        format!("02024-01-01 Part 1: Hardware\t/posts/hardware.txt\tlocalhost\t{port}"),
        format!("02024-01-02 Part 2: Disks\t/posts/disks.txt\tlocalhost\t{port}"),
        format!("02024-01-03 Part 3\t/posts/power.txt\tlocalhost\t{port}"),
    ] {
        assert!(menu.split("\r\n").any(|l| l == line), "{line:?} in\n{menu}");
    }
    // Past the post's own title, no label repeats the series' name or the part's number.
    let footer = post.split_once('\n').unwrap().1;
    for page in [index.as_str(), footer, menu.as_str()] {
        let lower = page.to_lowercase();
        for n in 1..=3 {
            assert!(!lower.contains(&format!("part {n}: part")), "{page}");
            assert!(
                !lower.contains(&format!("part {n}: self-hosting")),
                "{page}"
            );
        }
        assert!(!page.contains("#2"), "{page}");
    }
}
