//! Series: the generated index pages and the navigation on every post of a series, served.

use crate::common::{Setup, TestServer, write};

/// A five-part series written out of date order, with a supplement, a see-also post and a
/// draft part.
fn sailing() -> TestServer {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    let part = |file: &str, title: &str, date: &str, part: u32| {
        write(
            &posts,
            file,
            format!(
                "---\ntitle: {title}\ndate: {date}\nseries: Learning to Sail\npart: {part}\n---\nText of {title}.\n"
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
