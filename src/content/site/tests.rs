//! The site model's tests: a capsule in a temp folder, built, and what the snapshot holds.

use super::links::{MAX_LINK_PROBLEMS, local_path};
use super::*;
use crate::config::SeriesConfig;
use crate::content::files::CapsuleRoot;
use crate::content::front_matter::KeyLines;
use crate::content::options::BuildOptions;
use crate::content::post::{PostMeta, fold, series_name};
use crate::content::scan::ReadCache;
use crate::content::series::{self, group_series, stable_hash};
use crate::convert;

pub(super) fn build(files: &[(&str, &str)]) -> (Site, Vec<Problem>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions {
        markdown: convert::Options::default(),
        max_file_size: 1024 * 1024,
        show_future: false,
        series: BTreeMap::from([(
            "Sail".into(),
            SeriesConfig {
                description: "From the config.".into(),
                ..SeriesConfig::default()
            },
        )]),
        ..BuildOptions::default()
    };
    Site::build(&capsule, &options)
}

#[test]
fn posts_series_tags_and_drafts() {
    let (site, problems) = build(&[
        (
            "posts/2024-03-11-knots.md",
            "---\nseries: Sail\npart: 2\ntags: [sailing]\n---\n# Knots\n",
        ),
        (
            "posts/first.md",
            "---\ntitle: First\ndate: 2024-03-04\nseries: Sail\npart: 1\ntags: [Sailing, intro]\n---\nHi [next](2024-03-11-knots.md).\n",
        ),
        (
            "posts/glossary.md",
            "---\ndate: 2024-04-03\nseries: Sail\n---\nTerms.\n",
        ),
        (
            "posts/secret.md",
            "---\ndraft: true\ndate: 2024-01-01\nseries: Sail\npart: 3\n---\nNo.\n",
        ),
        (
            "posts/later.md",
            "---\ndate: 2999-01-01\nseries: Sail\npart: 4\n---\nSoon.\n",
        ),
        ("posts/notes/2023-12-01-hand.gmi", "# Hand-written\n"),
        ("about.gmi", "# Not a post\n"),
        ("posts/.hidden.md", "x"),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
    let urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/posts/glossary.gmi",
            "/posts/2024-03-11-knots.gmi",
            "/posts/first.gmi",
            "/posts/notes/2023-12-01-hand.gmi"
        ]
    );
    assert_eq!(site.posts[1].meta.title, "Knots");
    assert_eq!(site.posts[3].meta.title, "Hand-written");
    assert_eq!(site.drafts.len(), 2);
    assert!(site.is_withheld(Path::new("posts/later.md")));
    assert_eq!(site.series.len(), 1);
    let sail = &site.series[0];
    assert_eq!(sail.slug, "sail");
    assert_eq!(sail.description.as_deref(), Some("From the config."));
    let parts: Vec<_> = sail
        .members
        .parts
        .iter()
        .map(|m| m.title.as_str())
        .collect();
    assert_eq!(parts, ["First", "Knots"]);
    assert_eq!(sail.members.supplements.len(), 1);
    assert_eq!(site.tags["sailing"].posts, vec![1, 2]);
    assert_eq!(site.tags["sailing"].name, "Sailing");
    let places = site.places_of(Path::new("posts/2024-03-11-knots.md"));
    assert_eq!((places[0].role, places[0].index), (SeriesRole::Part, 1));
    assert!(site.places_of(Path::new("posts/secret.md")).is_empty());
    assert_eq!(
        site.url_of(Path::new("posts/first.md")),
        Some("/posts/first.gmi")
    );
    assert_eq!(site.tags["intro"].posts, vec![2]);
}

#[test]
fn broken_posts_are_left_out_and_named() {
    let (site, problems) = build(&[
        ("posts/ok.md", "Fine.\n"),
        ("posts/bad.md", "---\ntitle: x\ntags: [a\n---\nBody\n"),
        ("posts/open.md", "+++\ntitle = \"x\"\n"),
        ("posts/slug.md", "---\nslug: ../x\n---\n"),
        (
            "posts/role.md",
            "---\nseries: S\nseries_role: appendix\n---\n",
        ),
        ("posts/big.md", &"x".repeat(2 * 1024 * 1024)),
        ("posts/only-front-matter.md", "---\ntitle: Only\n---\n"),
        ("posts/empty.md", ""),
    ]);
    let urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
    // ok, role (a warning only), only-front-matter and empty are published.
    assert_eq!(urls.len(), 4, "{urls:?}");
    assert!(urls.contains(&"/posts/empty.gmi"), "{urls:?}");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/bad.md:3: error: invalid YAML")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/open.md:1: error:")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/slug.md:2: error: `slug`")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/role.md:3: warning: unknown `series_role`")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/big.md:1: error:") && t.contains("limit")),
        "{text:?}"
    );
}

#[test]
fn duplicate_urls_and_missing_links_are_reported() {
    let (site, problems) = build(&[
        (
            "posts/x.md",
            "From Markdown [gone](missing.md) [up](../about.gmi) [web](https://e.org/).\n",
        ),
        (
            "posts/x.gmi",
            "# Hand\n=> /nowhere/ Nowhere\n=> /archive/ Archive\n",
        ),
        ("about.gmi", "# About\n"),
    ]);
    assert_eq!(site.posts.len(), 1);
    assert_eq!(site.posts[0].meta.title, "Hand");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("posts/x.md:1: warning: posts/x.gmi serves the same URL")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("posts/x.gmi:2: warning: link to /nowhere/")),
        "{text:?}"
    );
    assert!(!text.iter().any(|t| t.contains("/archive/")), "{text:?}");
}

fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// A file's broken links are told one by one up to a few, then counted in one line.
#[test]
fn many_broken_links_are_told_in_a_few_lines() {
    let links: String = (0..50)
        .map(|i| format!("[l{i}](missing-{i}.md)\n\n"))
        .collect();
    let (_, problems) = build(&[("posts/2024-01-01-many.md", links.as_str())]);
    let text = messages(&problems);
    assert_eq!(text.len(), MAX_LINK_PROBLEMS + 1, "{text:?}");
    assert!(text[0].starts_with("posts/2024-01-01-many.md:1: warning: link to missing-0.gmi"));
    assert_eq!(
        text[MAX_LINK_PROBLEMS],
        "posts/2024-01-01-many.md:39: warning: 30 more links after this line lead to pages \
             that do not exist or are not published (only the first 20 of a file are told one \
             by one)"
    );
}

#[test]
fn slugs_rename_pages_but_never_take_a_url_another_file_owns() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-02-long-file-name.md",
            "---\nslug: short.gmi\n---\nA.\n",
        ),
        (
            "posts/notes/2024-01-01-n.md",
            "---\nslug: short\n---\nIn a folder.\n",
        ),
        (
            "posts/2024-01-03-other.md",
            "---\nslug: short\n---\nClash.\n",
        ),
        (
            "posts/2024-01-04-thief.md",
            "---\nslug: owned\n---\nTakes a name.\n",
        ),
        (
            "posts/owned.md",
            "---\ndraft: true\ndate: 2024-01-01\n---\nThe owner, a draft, older.\n",
        ),
        (
            "posts/2024-01-05-linker.md",
            "[Long](2024-01-02-long-file-name.md) and [n](notes/2024-01-01-n.md).\n",
        ),
    ]);
    let mut urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            "/posts/2024-01-03-other.gmi",
            "/posts/2024-01-04-thief.gmi",
            "/posts/2024-01-05-linker.gmi",
            "/posts/notes/short.gmi",
            "/posts/short.gmi",
        ]
    );
    assert_eq!(
        site.post_by_url("/posts/short.gmi").unwrap().source,
        PathBuf::from("posts/2024-01-02-long-file-name.md")
    );
    let text = messages(&problems);
    assert!(
        text.iter().any(|t| t.starts_with(
            "posts/2024-01-03-other.md:2: error: `slug` `short` asks for /posts/short.gmi, \
                 which posts/2024-01-02-long-file-name.md holds by its `slug`"
        )),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with(
            "posts/2024-01-04-thief.md:2: error: `slug` `owned` asks for /posts/owned.gmi, \
                 which posts/owned.md holds by its name"
        )),
        "{text:?}"
    );

    // Links by file name follow the rename, in the page served (and so in a build).
    let Some(Text::Page(page)) = site.text(Path::new("posts/2024-01-05-linker.md")) else {
        panic!()
    };
    assert!(
        page.gemtext.contains("=> /posts/short.gmi Long\n"),
        "{}",
        page.gemtext
    );
    assert!(
        page.gemtext.contains("=> /posts/notes/short.gmi n\n"),
        "{}",
        page.gemtext
    );
    assert!(!text.iter().any(|t| t.contains("link to")), "{text:?}");
}

/// A post that keeps its file and slug keeps its URL whatever comes later, by slug or by
/// name, older or not, across a reload that reads every file again; the newcomer gets
/// the error, naming both files. Settled afresh, names come first, then age.
#[test]
fn the_post_that_holds_a_url_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = CapsuleRoot::open(dir.path()).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "posts/slugged.md",
        "---\ndate: 2024-06-01\nslug: hello\n---\nThe holder.\n",
    );
    let options = BuildOptions::default();
    let mut cache = ReadCache::default();
    let (site, _) = Site::build_cached(&root, &options, &mut cache);
    assert_eq!(site.posts[0].url, "/posts/hello.gmi");
    // Older newcomers, by slug and by name.
    write(
        "posts/aaa.md",
        "---\ndate: 2020-01-01\nslug: hello\n---\nThe newcomer.\n",
    );
    write("posts/hello.md", "---\ndate: 2020-01-02\n---\nBy name.\n");
    let mut reload = cache.only_holders();
    for reading in [&mut cache, &mut reload] {
        let (site, problems) = Site::build_cached(&root, &options, reading);
        let holder = site.post_by_url("/posts/hello.gmi").unwrap();
        assert_eq!(holder.source, PathBuf::from("posts/slugged.md"));
        assert_eq!(
            site.post(Path::new("posts/aaa.md")).unwrap().url,
            "/posts/aaa.gmi"
        );
        assert!(site.is_withheld(Path::new("posts/hello.md")));
        let text = messages(&problems);
        assert!(
            text.iter().any(|t| t.starts_with(
                "posts/aaa.md:3: error: `slug` `hello` asks for /posts/hello.gmi, which \
                     posts/slugged.md holds by its `slug`"
            )),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with(
                "posts/hello.md:1: error: posts/hello.md would be served at \
                     /posts/hello.gmi, which posts/slugged.md holds"
            )),
            "{text:?}"
        );
    }
    // A folder of that name made since does not take it either.
    std::fs::create_dir(dir.path().join("posts/hello.gmi")).unwrap();
    let (site, problems) = Site::build_cached(&root, &options, &mut cache);
    assert_eq!(
        site.post_by_url("/posts/hello.gmi").unwrap().source,
        PathBuf::from("posts/slugged.md")
    );
    assert!(messages(&problems).iter().all(|m| !m.contains("  ")));
    std::fs::remove_dir(dir.path().join("posts/hello.gmi")).unwrap();
    // Settled afresh (a restart), a file's own name comes first, then the older post.
    let (site, _) = Site::build(&root, &options);
    assert_eq!(
        site.post_by_url("/posts/hello.gmi").unwrap().source,
        PathBuf::from("posts/hello.md")
    );
    std::fs::remove_file(dir.path().join("posts/hello.md")).unwrap();
    let (site, _) = Site::build(&root, &options);
    assert_eq!(
        site.post_by_url("/posts/hello.gmi").unwrap().source,
        PathBuf::from("posts/aaa.md")
    );
}

#[test]
fn file_names_with_url_delimiters_get_urls_that_reach_them() {
    let (site, _) = build(&[
        ("posts/2024-01-01-C# & you?.md", "# Sharp\n"),
        ("posts/2024-01-02-100%.md", "# Full\n"),
    ]);
    let mut urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            "/posts/2024-01-01-C%23%20&%20you%3F.gmi",
            "/posts/2024-01-02-100%25.gmi"
        ]
    );
}

#[test]
fn series_are_known_by_their_name_up_to_case_and_unicode_form() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "---\nseries: Learning to Sail\npart: 1\n---\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\nseries: learning to sail\npart: 2\n---\n",
        ),
        (
            "posts/2024-01-03-c.md",
            "---\nseries: Learning to Sail\npart: 3\n---\n",
        ),
        (
            "posts/2024-01-04-d.md",
            "---\nseries: \"Cafe\u{301}\"\n---\n",
        ),
        ("posts/2024-01-05-e.md", "---\nseries: \"Café\"\n---\n"),
    ]);
    let names: Vec<(&str, &str, usize)> = site
        .series
        .iter()
        .map(|s| (s.name.as_str(), s.slug.as_str(), s.members.parts.len()))
        .collect();
    assert_eq!(
        names,
        [
            ("Café", "café", 2),
            ("Learning to Sail", "learning-to-sail", 3)
        ]
    );
    let text = messages(&problems);
    assert_eq!(
        text,
        [
            "posts/2024-01-02-b.md:2: warning: series “learning to sail” is taken as “Learning \
              to Sail”, as it is written elsewhere (names that differ only in case or accents \
              are one series): write it the same way everywhere"
        ],
    );
}

#[test]
fn series_slugs_never_collide_and_the_older_series_keeps_its_url() {
    let (site, problems) = build(&[
        ("posts/2024-01-01-a.md", "---\nseries: Rust Notes\n---\n"),
        ("posts/2024-02-01-b.md", "---\nseries: Rust Notes 2\n---\n"),
        (
            "posts/2024-03-01-c.md",
            "---\nseries: \"Rust: notes!\"\n---\n",
        ),
        ("posts/2024-04-01-d.md", "---\nseries: C# Tips\n---\n"),
        ("posts/2024-04-02-e.md", "---\nseries: C++ Tips\n---\n"),
        ("posts/2024-04-03-f.md", "---\nseries: C Tips\n---\n"),
    ]);
    let slug = |name: &str| {
        site.series
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.slug.clone())
            .unwrap()
    };
    assert_eq!(slug("Rust Notes"), "rust-notes");
    assert_eq!(slug("Rust Notes 2"), "rust-notes-2");
    let moved = slug("Rust: notes!");
    assert!(
        moved.starts_with("rust-notes-") && moved != "rust-notes-2",
        "{moved}"
    );
    assert_eq!(slug("C# Tips"), "c-sharp-tips");
    assert_eq!(slug("C++ Tips"), "c-plus-plus-tips");
    assert_eq!(slug("C Tips"), "c-tips");
    let text = messages(&problems);
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].starts_with(
            "posts/2024-03-01-c.md:2: error: series “Rust: notes!” and series “Rust Notes” \
                 (posts/2024-01-01-a.md) both have the URL name `rust-notes`"
        ),
        "{text:?}"
    );
    assert!(text[0].contains("series_slug"), "{text:?}");
}

#[test]
fn a_series_slug_can_be_pinned_and_renamed_series_keep_their_old_urls() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "posts/2024-01-01-a.md",
            "---\nseries: Knots\nseries_slug: knots-old\n---\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\nseries: Knots\nseries_slug: other\n---\n",
        ),
        ("posts/2024-01-03-c.md", "---\nseries: Sailing Notes\n---\n"),
        (
            "posts/2024-01-04-d.md",
            "---\nseries: Learning to Sail\n---\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions {
        series: BTreeMap::from([(
            "Learning to Sail".into(),
            SeriesConfig {
                slug: Some("sail".into()),
                aliases: vec!["Sailing Notes".into(), "sailing-101".into()],
                ..SeriesConfig::default()
            },
        )]),
        ..BuildOptions::default()
    };
    let (site, problems) = Site::build(&capsule, &options);
    let text = messages(&problems);
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].starts_with(
            "posts/2024-01-02-b.md:3: error: `series_slug` `other` differs from `knots-old`"
        ),
        "{text:?}"
    );
    assert_eq!(site.series_by_slug("knots-old").unwrap().name, "Knots");
    // The old name's posts belong to the renamed series.
    let sail = site.series_by_slug("sail").unwrap();
    assert_eq!(sail.name, "Learning to Sail");
    assert_eq!(sail.members.parts.len(), 2);
    for old in ["sailing-notes", "sailing-101"] {
        assert!(
            matches!(
                site.generated(&["series".into(), old.into()]),
                Some(Generated::SeriesMoved(s, false)) if s.slug == "sail"
            ),
            "{old}"
        );
    }
    assert!(matches!(
        site.generated(&["series".into(), "sailing-notes".into(), "atom.xml".into()]),
        Some(Generated::SeriesMoved(_, true))
    ));
}

#[test]
fn unnumbered_series_are_read_in_date_order_and_numbers_are_one() {
    let (site, problems) = build(&[
        ("posts/2024-01-03-c.md", "---\nseries: Diary\n---\n"),
        ("posts/2024-01-01-a.md", "---\nseries: Diary\n---\n"),
        (
            "posts/2024-01-02-b.md",
            "---\nseries: Diary\nseries_role: supplement\n---\n",
        ),
        (
            "posts/2024-02-01-p1.md",
            "---\nseries: Numbered\npart: 1\n---\n",
        ),
        (
            "posts/2024-02-02-p3.md",
            "---\nseries: Numbered\npart: 3\n---\n",
        ),
        (
            "posts/2024-02-03-p6.md",
            "---\nseries: Numbered\npart: 6\n---\n",
        ),
        (
            "posts/2024-02-04-p6b.md",
            "---\nseries: Numbered\npart: 6\n---\n",
        ),
        ("posts/2024-02-05-extra.md", "---\nseries: Numbered\n---\n"),
    ]);
    let diary = site.series_by_slug("diary").unwrap();
    let parts: Vec<(&str, u32)> = diary
        .members
        .parts
        .iter()
        .map(|m| (m.title.as_str(), m.number))
        .collect();
    assert_eq!(parts, [("a", 1), ("c", 2)]);
    assert_eq!(diary.members.supplements.len(), 1);
    assert_eq!(diary.members.total, 2);
    let numbered = site.series_by_slug("numbered").unwrap();
    let numbers: Vec<u32> = numbered.members.parts.iter().map(|m| m.number).collect();
    assert_eq!(numbers, [1, 3, 6, 6]);
    assert_eq!(numbered.members.total, 6);
    assert_eq!(numbered.members.supplements.len(), 1);
    let text = messages(&problems);
    assert_eq!(
        text,
        [
            "posts/2024-02-02-p3.md:3: warning: series “Numbered”: part 2 is missing: the \
                 parts go from 1 to 3",
            "posts/2024-02-03-p6.md:3: warning: series “Numbered”: parts 4 to 5 are \
                 missing: the parts go from 3 to 6",
            "posts/2024-02-04-p6b.md:3: warning: series “Numbered”: part 6 is used by both \
                 posts/2024-02-03-p6.md and posts/2024-02-04-p6b.md",
        ]
    );
}

#[test]
fn a_post_in_several_series_is_in_each() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "---\nseries: [Boats, Knots]\npart: 1\n---\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\nseries: Knots\npart: 2\n---\n",
        ),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
    let places = site.places_of(Path::new("posts/2024-01-01-a.md"));
    let names: Vec<&str> = places.iter().map(|p| p.series.name.as_str()).collect();
    assert_eq!(names, ["Boats", "Knots"]);
}

#[test]
fn tags_keep_their_spelling_and_symbols() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "---\ntags: [C++, C#, C, Product Management]\n---\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\ntags: [c++, \"🦀\", product management, \"Cafe\u{301}\"]\n---\n",
        ),
        (
            "posts/2024-01-03-c.md",
            "---\ntags: [\"Café\", product-management]\n---\n",
        ),
    ]);
    let tags: Vec<(&str, &str, usize)> = site
        .tags
        .iter()
        .map(|(slug, t)| (slug.as_str(), t.name.as_str(), t.posts.len()))
        .collect();
    let moved = format!("product-management-{}", stable_hash("product-management"));
    assert_eq!(
        tags,
        [
            ("c", "C", 1),
            ("c-plus-plus", "C++", 2),
            ("c-sharp", "C#", 1),
            ("café", "Café", 2),
            ("product-management", "Product Management", 2),
            (moved.as_str(), "product-management", 1),
            ("🦀", "🦀", 1),
        ]
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn links_to_withheld_posts_are_reported() {
    let (_, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "[soon](later.md) [hidden](secret.md)\n",
        ),
        (
            "posts/secret.md",
            "---\ndraft: true\ndate: 2024-01-01\n---\n",
        ),
        ("posts/later.md", "---\ndate: 2999-01-01\n---\n"),
    ]);
    let text = messages(&problems);
    assert_eq!(
        text,
        [
            "posts/2024-01-01-a.md:1: warning: link to later.gmi: posts/later.md is not \
                 published (dated ahead: appears 2999-01-01T00:00+00:00); readers get “not found”",
            "posts/2024-01-01-a.md:1: warning: link to secret.gmi: posts/secret.md is not \
                 published (draft); readers get “not found”",
        ]
    );
}

#[test]
fn front_matter_after_blank_lines_is_obeyed_and_a_late_block_is_an_error() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "\n  \n---\ntitle: x\ndraft: true\n---\nBody\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\ntitle: y\n---\n\n---\ndraft: true\n---\nBody\n",
        ),
    ]);
    assert!(site.is_withheld(Path::new("posts/2024-01-01-a.md")));
    assert!(site.posts.is_empty(), "{:?}", site.posts);
    let text = messages(&problems);
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].starts_with("posts/2024-01-02-b.md:5: error: front matter must start the file"),
        "{text:?}"
    );
}

/// A post for [`group_series`] alone: one series, dated `day` days into 2024.
fn series_post(i: usize, series: &str, day: i64) -> Arc<Post> {
    let date = PostDate::utc(jiff::Timestamp::from_second(1_704_067_200 + day * 86_400).unwrap());
    Arc::new(Post {
        source: PathBuf::from(format!("posts/{i}.md")),
        url: format!("/posts/{i}.gmi"),
        meta: PostMeta {
            title: format!("{i}"),
            date,
            updated: date,
            publish_date: None,
            expiry_date: None,
            weight: None,
            draft: false,
            series: vec![series.to_owned()],
            part: None,
            role: None,
            series_slug: None,
            summary: None,
            tags: Vec::new(),
            lang: None,
            slug: format!("{i}"),
            aliases: Vec::new(),
            path: None,
            redirect_to: None,
        },
        links: Vec::new(),
        lines: KeyLines::default(),
        part_line: 1,
        renamed: false,
    })
}

fn slugs_of(names: &[String]) -> BTreeMap<String, String> {
    let posts: Vec<Arc<Post>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| series_post(i, name, i as i64))
        .collect();
    group_series(&posts, &[], &BTreeMap::new(), &mut Vec::new())
        .into_iter()
        .map(|s| (fold(&s.name), s.slug))
        .collect()
}

proptest::proptest! {
    /// Slugs are unique; a series whose name makes a slug no other name makes gets that
    /// slug; and adding newer series (or removing them) never moves an older one.
    #[test]
    fn series_slugs_are_unique_and_stable(
        names in proptest::collection::vec("[AaBb+#:! é]{1,5}", 1..12),
        keep in 0usize..12,
    ) {
        let names: Vec<String> = names.into_iter().filter_map(|n| series_name(&n)).collect();
        let all = slugs_of(&names);
        let unique: HashSet<&String> = all.values().collect();
        proptest::prop_assert_eq!(unique.len(), all.len(), "{:?}", all);
        for (key, slug) in &all {
            let base = series::slug(key);
            let shared = all.keys().filter(|k| series::slug(k) == base).count();
            if shared == 1 {
                proptest::prop_assert_eq!(slug, &base);
            }
        }
        let older = slugs_of(&names[..keep.min(names.len())]);
        for (key, slug) in &older {
            proptest::prop_assert_eq!(Some(slug), all.get(key), "{} in {:?} vs {:?}", key, older, all);
        }
    }
}

#[test]
fn suffixed_url_names_never_take_another_name() {
    let moved = format!("c-sharp-{}", stable_hash("c sharp"));
    let (site, _) = build(&[
        (
            "posts/2024-01-01-t1.md",
            &format!("---\ntags: [\"{moved}\"]\n---\n"),
        ),
        ("posts/2024-01-02-t2.md", "---\ntags: [c-sharp]\n---\n"),
        ("posts/2024-01-03-t3.md", "---\ntags: [C Sharp]\n---\n"),
        ("posts/2024-01-04-a.md", "---\nseries: \"!!\"\n---\n"),
        ("posts/2024-01-05-b.md", "---\nseries: \"!):{\"\n---\n"),
        ("posts/2024-01-06-c.md", "---\nseries: \".[{;\"\n---\n"),
    ]);
    assert_eq!(site.tags.len(), 3, "{:?}", site.tags);
    assert_eq!(site.tags[&moved].name, moved);
    assert_eq!(site.tags[&format!("{moved}-2")].name, "C Sharp");
    let slugs: HashSet<&str> = site.series.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs.len(), 3, "{slugs:?}");
}

#[test]
fn link_rewriting_keeps_code_twins_fragments_and_drafts_alone() {
    let (site, _) = build(&[
        ("posts/2024-01-01-knots.md", "---\nslug: k\n---\n# Knots\n"),
        (
            "posts/twin.md",
            "---\nslug: twin-renamed\ndate: 2024-01-01\n---\n# Twin\n",
        ),
        ("posts/twin.gmi", "# Hand-written twin\n"),
        (
            "posts/secret.md",
            "---\ndraft: true\nslug: big-announcement\ndate: 2024-01-01\n---\n",
        ),
        (
            "posts/2024-01-02-links.md",
            "[a](2024-01-01-knots.md#rig) [b](2024-01-01-knots.md?x=1) [t](twin.gmi) \
                 [s](secret.md)\n\n```\n=> 2024-01-01-knots.gmi example\n```\n",
        ),
    ]);
    let Some(Text::Page(page)) = site.text(Path::new("posts/2024-01-02-links.md")) else {
        panic!()
    };
    let text = &page.gemtext;
    assert!(text.contains("=> /posts/k.gmi?x=1 b\n"), "{text}");
    assert!(text.contains("=> twin.gmi t\n"), "{text}");
    assert!(text.contains("=> secret.gmi s\n"), "{text}");
    assert!(!text.contains("big-announcement"), "{text}");
    assert!(
        text.contains("```\n=> 2024-01-01-knots.gmi example\n```"),
        "{text}"
    );
    // Gemini has no fragments, so the converter drops them; the link still follows.
    assert!(text.contains("=> /posts/k.gmi a\n"), "{text}");
}

#[test]
fn urls_too_long_to_request_are_reported() {
    let long = "語".repeat(120);
    let (_, problems) = build(&[(
        "posts/2024-01-01-a.md",
        &format!("---\ntags: [{long}, short]\nseries: {long}\n---\n"),
    )]);
    let text = messages(&problems);
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text.iter()
            .all(|t| t.contains("too long for a Gemini request")),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("posts/2024-01-01-a.md:2: warning: tag “語"),
        "{text:?}"
    );
}

#[test]
fn values_where_text_is_expected_stay_as_written() {
    let (site, problems) = build(&[
        (
            "posts/2024-01-01-a.md",
            "---\ntitle: 3.10\ntags: [rust, 3.10, 007, yes, 0x1F]\nseries: on\n---\n",
        ),
        (
            "posts/2024-01-02-b.md",
            "---\nseries: yes\ntags:\n  - 1_000\n  - x\n---\n",
        ),
        (
            "posts/2024-01-03-c.md",
            "+++\ntags = [\"rust\", 2024]\n+++\n",
        ),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
    let a = site.post(Path::new("posts/2024-01-01-a.md")).unwrap();
    assert_eq!(a.meta.title, "3.10");
    assert_eq!(a.meta.tags, ["rust", "3.10", "007", "yes", "0x1F"]);
    let names: Vec<&str> = site.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["on", "yes"]);
    let b = site.post(Path::new("posts/2024-01-02-b.md")).unwrap();
    assert_eq!(b.meta.tags, ["1_000", "x"]);
    let c = site.post(Path::new("posts/2024-01-03-c.md")).unwrap();
    assert_eq!(c.meta.tags, ["rust", "2024"]);
}

#[test]
fn a_backslash_is_part_of_a_file_name() {
    let (site, _) = build(&[("posts/2024-01-01-back\\slash.md", "# B\n")]);
    assert_eq!(site.posts[0].url, "/posts/2024-01-01-back%5Cslash.gmi");
}

#[test]
fn a_draft_series_description_is_not_shown() {
    let (site, _) = build(&[
        ("posts/2024-01-01-a.md", "---\nseries: Sail\n---\n"),
        (
            "series/sail.md",
            "---\ndraft: true\n---\n# Sail\n\nSecret plans.\n",
        ),
    ]);
    // The config's description (from `build`'s options) stands in.
    assert_eq!(
        site.series[0].description.as_deref(),
        Some("From the config.")
    );
}

#[test]
fn posts_with_errors_are_withheld_by_their_name_too() {
    let (site, problems) = build(&[
        (
            "posts/scheduled.md",
            "---\ndate: 2030-06-01\nupdated: 2030-06-1\n---\nSoon.\n",
        ),
        (
            "posts/2024-01-01-sslug.md",
            "---\nseries: X\nseries_slug: \"a b\"\n---\n",
        ),
        ("posts/2024-01-02-typo.md", "---\ndrafts: true\n---\n"),
    ]);
    assert!(site.posts.is_empty(), "{:?}", site.posts);
    for file in [
        "posts/scheduled.md",
        "posts/2024-01-01-sslug.md",
        "posts/2024-01-02-typo.md",
    ] {
        let Some(Text::Page(page)) = site.text(Path::new(file)) else {
            panic!("{file}")
        };
        assert!(page.withheld.is_some(), "{file}");
    }
    assert_eq!(
        problems.iter().filter(|p| p.error).count(),
        3,
        "{problems:?}"
    );
}

#[test]
fn a_rebuild_reads_only_changed_posts() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir(&posts).unwrap();
    std::fs::write(posts.join("a.md"), "---\ndate: 2024-01-01\n---\n# A\n").unwrap();
    std::fs::write(posts.join("b.md"), "---\ntitle: [broken\n---\n").unwrap();
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions {
        markdown: convert::Options::default(),
        max_file_size: 1024,
        show_future: false,
        ..BuildOptions::default()
    };
    let mut cache = ReadCache::default();
    let (site, problems) = Site::build_cached(&capsule, &options, &mut cache);
    assert_eq!((site.posts.len(), problems.len()), (1, 1));
    // Unchanged: the same answer, problems included, from the cache.
    let (again, problems_again) = Site::build_cached(&capsule, &options, &mut cache);
    assert_eq!(again, site);
    assert_eq!(problems_again, problems);
    // Changed and deleted files are seen.
    std::fs::write(
        posts.join("a.md"),
        "---\ndate: 2024-01-01\n---\n# A, edited\n",
    )
    .unwrap();
    std::fs::remove_file(posts.join("b.md")).unwrap();
    let (edited, problems) = Site::build_cached(&capsule, &options, &mut cache);
    assert_eq!(edited.posts[0].meta.title, "A, edited");
    assert!(problems.is_empty());
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_post_that_breaks_keeps_its_last_good_version() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts");
    std::fs::create_dir(&posts).unwrap();
    let file = posts.join("a.md");
    std::fs::write(&file, "---\ntitle: Good\ndate: 2024-01-01\n---\nBody\n").unwrap();
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions {
        markdown: convert::Options::default(),
        max_file_size: 1024,
        show_future: false,
        ..BuildOptions::default()
    };
    let mut cache = ReadCache::default();
    let (good, _) = Site::build_cached(&capsule, &options, &mut cache);
    let text = |site: &Site| match site.text(Path::new("posts/a.md")) {
        Some(Text::Page(page)) => page.gemtext.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(&good), "# Good\n\nBody\n");

    for broken in ["---\ntitle: [Bad\n---\nBody\n", ""] {
        std::fs::write(&file, broken).unwrap();
        let (site, problems) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(site.posts, good.posts, "{broken:?}");
        assert_eq!(text(&site), "# Good\n\nBody\n");
        assert!(problems[0].error, "{problems:?}");
        assert!(
            problems[1].message.contains("last good version"),
            "{problems:?}"
        );
        // Still broken on the next pass: still the last good version, still reported.
        let (again, problems_again) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(
            (again.posts, problems_again),
            (good.posts.clone(), problems)
        );
    }

    std::fs::write(&file, "---\ntitle: Fixed\ndate: 2024-01-01\n---\nBody\n").unwrap();
    let (fixed, problems) = Site::build_cached(&capsule, &options, &mut cache);
    assert_eq!(fixed.posts[0].meta.title, "Fixed");
    assert!(problems.is_empty(), "{problems:?}");

    // A file that never had a good version is withheld, not kept.
    std::fs::write(posts.join("new.md"), "---\ntitle: [Bad\n---\n").unwrap();
    let (site, _) = Site::build_cached(&capsule, &options, &mut cache);
    assert_eq!(site.posts.len(), 1);
    match site.text(Path::new("posts/new.md")) {
        Some(Text::Page(page)) => assert!(page.withheld.is_some()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_paths_find_text_pages_in_memory() {
    let (site, _) = build(&[
        ("index.gmi", "# Home\n"),
        ("index.md", "# Shadowed\n"),
        ("a.md", "# A\n"),
        ("b.gmi", "# B\n"),
        ("b.md", "# B twin\n"),
        ("docs/index.md", "# Docs\n"),
        (".hidden/index.gmi", "# No\n"),
    ]);
    let segs = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let at = |p: &str, slash| site.text_path(&segs(p), slash).map(Path::to_owned);
    assert_eq!(at("", true), Some("index.gmi".into()));
    assert_eq!(at("a.gmi", false), Some("a.md".into()));
    assert_eq!(at("b.gmi", false), Some("b.gmi".into()));
    assert_eq!(at("docs", true), Some("docs/index.md".into()));
    for (p, slash) in [
        ("a.md", false),
        ("c.gmi", false),
        ("docs", false),
        (".hidden", true),
    ] {
        assert_eq!(at(p, slash), None, "{p}");
    }
}

#[test]
fn local_paths() {
    assert_eq!(
        local_path("/posts/a.gmi", "b.gmi").as_deref(),
        Some("/posts/b.gmi")
    );
    assert_eq!(local_path("/posts/a.gmi", "../x/").as_deref(), Some("/x/"));
    assert_eq!(
        local_path("/posts/a.gmi", "/y.gmi?q#f").as_deref(),
        Some("/y.gmi")
    );
    assert_eq!(local_path("/posts/a.gmi", "gemini://e.org/"), None);
    assert_eq!(local_path("/posts/a.gmi", "mailto:x@y"), None);
    assert_eq!(local_path("/a.gmi", "../../etc"), Some("/etc".into()));
}

#[test]
fn series_slugs_stay_unique() {
    let (site, _) = build(&[
        ("posts/a.md", "---\nseries: \"🚀\"\n---\n"),
        ("posts/b.md", "---\nseries: \"🛸\"\n---\n"),
    ]);
    let slugs: Vec<&str> = site.series.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs.len(), 2);
    assert_ne!(slugs[0], slugs[1]);
}

/// Every key Hugo and Zola document for a section page is known there: none is "unknown".
#[test]
fn a_section_pages_documented_keys_are_never_unknown() {
    let keys = [
        "sort_by",
        "paginate_by",
        "paginate_path",
        "paginate_reversed",
        "insert_anchor_links",
        "transparent",
        "render",
        "page_template",
        "template",
        "weight",
        "in_search_index",
        "generate_feeds",
        "generate_feed",
        "cascade",
        "outputs",
        "layout",
        "type",
        "menu",
        "build",
        "linktitle",
        "sitemap",
    ];
    let front: String = keys.iter().map(|k| format!("{k}: x\n")).collect();
    let front = front.replace("weight: x", "weight: 1");
    let text = format!("---\n{front}---\nAll\n");
    let (_, problems) = build(&[("posts/garden/_index.md", text.as_str())]);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn former_urls_are_settled_where_nothing_else_answers() {
    let (site, problems) = build(&[
        (
            "posts/a.md",
            "---\ndate: 2024-01-01\naliases: [/old/a/, old-b, /posts/c.gmi, https://x.org/a]\n---\nA\n",
        ),
        (
            "posts/b.md",
            "---\ndate: 2024-02-01\naliases: [/old/a.html]\n---\nB\n",
        ),
        ("posts/c.md", "---\ndate: 2024-03-01\n---\nC\n"),
        (
            "posts/pics/index.md",
            "---\ndate: 2024-04-01\nslug: photos\n---\nP\n",
        ),
        ("posts/_index.md", "---\nsort_by: date\n---\nAll\n"),
        (
            "posts/_posts/2020-05-06-j.md",
            "---\ncategories: [Web]\n---\nJ\n",
        ),
        ("_posts/2021-01-02-k.md", "K\n"),
        ("posts/Funcs/Trim.md", "---\ndate: 2024-05-01\n---\nT\n"),
        ("posts/Big/index.md", "---\ndate: 2024-06-01\n---\nB\n"),
    ]);
    let to = |path: &str| {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        site.moved_to(&segments).map(|m| m.to.clone())
    };
    assert_eq!(to("/old/a/index.html").as_deref(), Some("/posts/a.gmi"));
    // Each refused alias is told once.
    let told = |text: &str| problems.iter().filter(|p| p.message.contains(text)).count();
    assert_eq!(told("https://x.org/a"), 1, "{problems:?}");
    assert_eq!(told("names /posts/c,"), 1, "{problems:?}");
    // The older post keeps a contested alias; the page a post holds is never taken.
    let contested: Vec<_> = problems
        .iter()
        .filter(|p| p.message.contains("/old/a is a former URL"))
        .collect();
    assert!(
        contested.len() == 1 && !contested[0].error && contested[0].path == Path::new("posts/b.md"),
        "{problems:?}"
    );
    assert_eq!(to("/posts/c.gmi").as_deref(), Some("/posts/c.gmi"));
    assert!(problems.iter().any(|p| {
        p.message
            .contains("names /posts/c, which posts/c.md serves")
    }));
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("https://x.org/a") && !p.error)
    );
    // Relative to the post's folder; a generator's own; a bundle's slug; Jekyll's.
    assert_eq!(to("/posts/old-b/").as_deref(), Some("/posts/a.gmi"));
    assert_eq!(to("/posts/b/").as_deref(), Some("/posts/b.gmi"));
    assert_eq!(to("/posts/a.html").as_deref(), Some("/posts/a.gmi"));
    assert_eq!(to("/posts/photos/").as_deref(), Some("/posts/pics/"));
    assert_eq!(
        to("/web/2020/05/06/j.html").as_deref(),
        Some("/posts/2020-05-06-j.gmi")
    );
    // Hugo's lower-case folder URLs.
    assert_eq!(
        to("/posts/funcs/trim/").as_deref(),
        Some("/posts/Funcs/Trim.gmi")
    );
    assert_eq!(
        to("/posts/Funcs/Trim/").as_deref(),
        Some("/posts/Funcs/Trim.gmi")
    );
    assert_eq!(to("/posts/big/").as_deref(), Some("/posts/Big/"));
    // Jekyll's `_posts` at the root.
    assert_eq!(
        to("/2021/01/02/k.html").as_deref(),
        Some("/posts/2021-01-02-k.gmi")
    );

    // A section page is no post, and its keys are known.
    assert!(site.posts.iter().all(|p| !p.source.ends_with("_index.md")));
    assert!(
        !problems.iter().any(|p| p.message.contains("sort_by")),
        "{problems:?}"
    );
    let bundle = site.post(Path::new("posts/pics/index.md")).unwrap();
    assert_eq!(bundle.url, "/posts/pics/");
}

#[test]
fn a_part_dated_ahead_is_scheduled_and_counted_nowhere_until_it_appears() {
    let part = |n: u32, date: &str| {
        (
            format!("posts/p{n}.md"),
            format!("---\ntitle: P{n}\ndate: {date}\nseries: Pi\npart: {n}\n---\nText.\n"),
        )
    };
    let files = [
        part(1, "2024-01-01"),
        part(2, "2024-01-08"),
        part(3, "2999-01-03"),
        part(4, "2024-01-22"),
    ];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (site, problems) = build(&files);
    assert!(problems.is_empty(), "{problems:?}");
    let pi = site.series_by_slug("pi").unwrap();
    assert_eq!(pi.members.parts.len(), 3);
    assert_eq!(pi.members.count(), 4);
    let numbers: Vec<u32> = pi.members.scheduled.iter().map(|m| m.number).collect();
    assert_eq!(numbers, [3]);
    let ahead = site.drafts.iter().find(|p| p.meta.part == Some(3)).unwrap();
    let (line, why) = site.withheld_reason(ahead);
    assert_eq!(line, 3);
    assert!(
        why.starts_with("dated ahead: part 3 of series “Pi” is scheduled for 2999-01-03"),
        "{why}"
    );
    // A series of posts dated ahead alone is no series readers have.
    let (site, _) = build(&[(
        "posts/later.md",
        "---\ndate: 2999-01-01\nseries: Later\n---\n",
    )]);
    assert!(site.series.is_empty(), "{:?}", site.series);
}

/// The paths of a series' parts, in reading order.
fn part_paths(series: &Series) -> Vec<&str> {
    let parts = &series.members.parts;
    parts.iter().map(|m| m.path.to_str().unwrap()).collect()
}

#[test]
fn a_section_page_makes_its_folder_a_series() {
    let (site, problems) = build(&[
        (
            "posts/pi/_index.md",
            "+++\ntitle = \"Pi by hand\"\nseries = true\n+++\nDigits, one by one.\n",
        ),
        (
            "posts/pi/b.md",
            "+++\ndate = 2024-01-01\nweight = 2\n+++\nB\n",
        ),
        (
            "posts/pi/a.md",
            "+++\ndate = 2024-02-01\nweight = 1\n+++\nA\n",
        ),
        (
            "posts/pi/c/index.md",
            "---\ndate: 2023-03-01\nweight: 3\n---\nC\n",
        ),
        (
            "posts/pi/other.md",
            "---\ndate: 2024-01-05\nseries: Elsewhere\n---\nO\n",
        ),
        ("posts/pi/deeper/x.md", "---\ndate: 2024-01-06\n---\nX\n"),
        ("posts/loose.md", "---\ndate: 2024-01-07\npart: 2\n---\nL\n"),
    ]);
    let pi = site
        .series_by_slug("pi-by-hand")
        .expect("the folder's series");
    assert_eq!(pi.name, "Pi by hand");
    assert_eq!(
        part_paths(pi),
        ["posts/pi/a.md", "posts/pi/b.md", "posts/pi/c/index.md"]
    );
    assert_eq!(pi.description.as_deref(), Some("Digits, one by one."));
    assert!(site.series_by_slug("elsewhere").is_some());
    assert!(!site.in_series(Path::new("posts/pi/deeper/x.md")));
    // Only the part number no series takes is told; the folder's parts' numbers are theirs.
    let told: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        told,
        ["posts/loose.md:3: warning: `part` is set but `series` is not"]
    );
}

#[test]
fn a_folder_series_takes_extra_names_slugs_and_a_description_key() {
    let (site, problems) = build(&[
        (
            "posts/pi/_index.md",
            "+++\ntitle = \"Pi\"\ndescription = \"About pi.\"\n[extra]\nseries = \"Digits\"\n\
             series_slug = \"digits-of-pi\"\n+++\n",
        ),
        ("posts/pi/a.md", "---\ndate: 2024-01-01\n---\nA\n"),
        ("series/unused.md", "# Unused\n"),
    ]);
    assert!(problems.is_empty(), "{problems:?}");
    let digits = site.series_by_slug("digits-of-pi").expect("pinned slug");
    assert_eq!(digits.name, "Digits");
    assert_eq!(digits.description.as_deref(), Some("About pi."));
    // The config's description wins over the section page's.
    let (site, _) = build(&[
        (
            "posts/sail/_index.md",
            "---\nseries: Sail\n---\nThe folder's words.\n",
        ),
        ("posts/sail/a.md", "---\ndate: 2024-01-01\n---\nA\n"),
    ]);
    let sail = site.series_by_slug("sail").unwrap();
    assert_eq!(sail.description.as_deref(), Some("From the config."));
}

#[test]
fn turning_a_folder_series_on_off_and_renaming_it_remakes_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("posts/pi");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.md"), "---\ndate: 2024-01-01\n---\nA\n").unwrap();
    let section = folder.join("_index.md");
    std::fs::write(&section, "---\ntitle: Pi\n---\nIntro.\n").unwrap();
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions::default();
    let mut cache = ReadCache::default();
    let mut rebuild = |text: &str| {
        std::fs::write(&section, text).unwrap();
        cache.only_changed(HashSet::from([section.clone()]));
        let (site, _) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(site, Site::build(&capsule, &options).0, "as a whole build");
        site.series
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    assert!(rebuild("---\ntitle: Pi\n---\nIntro.\n").is_empty());
    assert_eq!(
        rebuild("---\ntitle: Pi\nseries: true\n---\nIntro.\n"),
        ["Pi"]
    );
    assert_eq!(
        rebuild("---\ntitle: Tau\nseries: true\n---\nIntro.\n"),
        ["Tau"]
    );
    assert_eq!(
        rebuild("---\ntitle: Tau\nseries: true\n---\nNew intro.\n"),
        ["Tau"]
    );
    assert!(rebuild("---\ntitle: Tau\nseries: false\n---\n").is_empty());
}

#[test]
fn a_renamed_post_is_named_with_the_alias_that_keeps_its_url() {
    let old = [
        (
            "posts/old.md",
            "---\ntitle: Knots\ndate: 2024-01-01\n---\nSix knots.\n",
        ),
        (
            "posts/plain.md",
            "---\ndate: 2024-01-02\n---\nSame words.\n",
        ),
        (
            "posts/stays.md",
            "---\ntitle: Stays\ndate: 2024-01-03\n---\nS\n",
        ),
    ];
    let (before, _) = build(&old);
    let (after, _) = build(&[
        (
            "posts/new.md",
            "---\ntitle: Knots\ndate: 2024-01-01\n---\nSix knots.\n",
        ),
        (
            "posts/other.md",
            "---\ndate: 2024-01-02\n---\nSame words.\n",
        ),
        (
            "posts/stays.md",
            "---\ntitle: Stays\ndate: 2024-01-03\n---\nS\n",
        ),
        (
            "posts/unrelated.md",
            "---\ntitle: New\ndate: 2024-01-04\n---\nN\n",
        ),
    ]);
    let told: Vec<String> = after
        .likely_renames(&before)
        .iter()
        .map(ToString::to_string)
        .collect();
    // Newest first, as the site lists posts.
    let want = |old: &str, new: &str| {
        format!(
            "posts/{old}.md was served at /posts/{old}.gmi and is gone; if posts/{new}.md is \
             that post, add `aliases: [/posts/{old}.gmi]` to its front matter to keep old \
             links working"
        )
    };
    assert_eq!(told, [want("plain", "other"), want("old", "new")]);
    // With the alias written, the old URL answers: nothing to tell.
    let (kept, _) = build(&[(
        "posts/new.md",
        "---\ntitle: Knots\ndate: 2024-01-01\naliases: [/posts/old.gmi]\n---\nSix knots.\n",
    )]);
    assert!(kept.likely_renames(&before).is_empty());
    // Nothing came or went: nothing compared.
    assert!(before.likely_renames(&before).is_empty());
}
