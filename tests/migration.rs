//! `gemhole check` on a blog copied in from Hugo, Zola or Jekyll: after its problems it tells
//! what the move did (shortcodes converted and left out, page references, former URLs, page
//! bundles, section pages, Jekyll posts) and where readers' old links now lead; for a capsule
//! with none of these it says nothing more.

use crate::common::{run_cli, write};

#[test]
fn check_tells_what_a_migration_did() {
    let dir = tempfile::tempdir().unwrap();
    let capsule = dir.path().join("capsule");
    write(
        &capsule,
        "posts/knots.md",
        "---\ntitle: Knots\ndate: 2024-01-02\naliases: [/old/knots/]\n---\n\
         {{< figure src=\"a.png\" >}}\n\n{{< figure src=\"b.png\" >}}\n\n\
         {{< youtube dQw4w9WgXcQ >}}\n\n\
         {{< tabs >}}\nInside.\n{{< /tabs >}}\n\n\
         [trip](@/posts/trip/index.md) and [gone](@/posts/gone.md)\n",
    );
    write(
        &capsule,
        "posts/trip/index.md",
        "---\ntitle: Trip\ndate: 2023-05-06\n---\nPhotos.\n",
    );
    write(
        &capsule,
        "posts/_index.md",
        "---\nsort_by: date\n---\nAll.\n",
    );
    write(
        &capsule,
        "_posts/2010-07-21-jekyll.md",
        "---\ntitle: Jekyll\n---\nOld.\n",
    );
    write(
        &capsule,
        "posts/moved.md",
        "---\ntitle: Moved\ndate: 2024-02-03\nurl: /nothing/here/\n---\nText.\n",
    );
    write(&capsule, "nothing/here/index.gmi", "# Holds the old URL\n");

    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    // The unknown shortcode and the reference to nothing are told at their lines first.
    assert!(
        out.contains("posts/knots.md:12: warning: shortcode or tag `tabs` is not known"),
        "{out}"
    );
    assert!(
        out.contains("posts/knots.md:16: warning: page reference @/posts/gone.md"),
        "{out}"
    );
    let summary = out
        .split_once("from other generators:\n")
        .map(|(_, after)| after)
        .unwrap_or_else(|| panic!("no summary in {out}"));
    assert_eq!(
        summary,
        "  shortcodes and template tags converted: 3 (figure 2, youtube 1)\n\
         \x20 shortcodes and template tags left out: 1 (tabs 1), each told above at its line\n\
         \x20 page references: 1 resolved, 1 unresolved, each told above at its line\n\
         \x20 former URLs (aliases, redirect_from, url, permalink) answered with 31: 1\n\
         \x20 page bundles: 1\n\
         \x20 section pages (_index.md): 1\n\
         \x20 Jekyll posts: 1\n\
         \x20 3 post(s) at another URL than their generator gave them (31: the old URL \
         redirects here; lost: it answers nothing):\n\
         \x20 _posts/2010-07-21-jekyll.md: /2010/07/21/jekyll.html → \
         /posts/2010-07-21-jekyll.gmi (31)\n\
         \x20 posts/knots.md: /posts/knots/ → /posts/knots.gmi (31)\n\
         \x20 posts/moved.md: /nothing/here/ → /posts/moved.gmi (lost)\n",
        "{out}"
    );
    // The summary comes after the count of posts and problems.
    let (before, _) = out.split_once("from other generators:").unwrap();
    assert!(
        before.lines().last().unwrap().contains("published post(s)"),
        "{out}"
    );
}

#[test]
fn check_of_a_capsule_with_nothing_from_another_generator_tells_no_migration() {
    let dir = tempfile::tempdir().unwrap();
    let capsule = dir.path().join("capsule");
    write(&capsule, "index.gmi", "# Home\n");
    write(
        &capsule,
        "posts/first.md",
        "---\ntitle: First\ndate: 2024-01-02\ntags: [sea]\n---\nSee [second](second.md).\n",
    );
    write(
        &capsule,
        "posts/second.md",
        "---\ntitle: Second\ndate: 2024-01-03\n---\nText.\n",
    );
    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    assert_eq!(
        out,
        "2 published post(s), 0 withheld (drafts, dated ahead or expired), 0 series, 1 tag(s); \
         0 error(s), 0 warning(s)\n"
    );
}

#[test]
fn check_tells_the_first_moved_posts_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let capsule = dir.path().join("capsule");
    write(&capsule, "posts/_index.md", "---\ntitle: Posts\n---\n");
    for n in 10..32 {
        write(
            &capsule,
            &format!("posts/p{n}.md"),
            format!("---\ndate: 2024-03-{n:02}\n---\nText.\n"),
        );
    }
    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("  22 post(s) at another URL than their generator gave them"),
        "{out}"
    );
    let told: Vec<&str> = out.lines().filter(|l| l.ends_with(" (31)")).collect();
    assert_eq!(told.len(), 20, "{out}");
    assert_eq!(told[0], "  posts/p10.md: /posts/p10/ → /posts/p10.gmi (31)");
    assert!(out.ends_with("  and 2 more\n"), "{out}");
}
