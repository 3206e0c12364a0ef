//! Generated pages in the host's language, and in the shape of an author's templates: every
//! built-in language on every generated page, `[strings]`, a templates folder served live,
//! a broken template that keeps the last good one.

use std::path::Path;

use crate::common::{Setup, build_copy, run_cli, write};

/// The capsule the repository ships (its posts, a series, tags), copied to `dir/capsule`.
fn bundled_capsule(dir: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("capsule"))
        .arg(dir.join("capsule"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// The host languages with built-in strings, besides English.
const LANGUAGES: [&str; 10] = ["de", "fr", "es", "it", "pt", "nl", "pl", "ru", "ja", "zh"];

/// English texts of the generated pages that must not be left in another language's pages
/// (names of posts, series and tags are the author's, and stay; "Series" and "Tags" are
/// Spanish, Dutch or Portuguese words too).
const ENGLISH: [&str; 14] = [
    "Recent posts",
    "All posts",
    "Atom feed",
    "Search this capsule",
    "# Archive\n",
    "All tags",
    "All series",
    "Series index",
    "In this series",
    "← Previous",
    "→ Next",
    "(this post)",
    " parts)",
    "Posts tagged",
];

fn read(out: &Path, page: &str) -> String {
    std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"))
}

/// The generated pages of the sample capsule: home, archive, tags, a tag, a series' index, a
/// part of it.
const PAGES: [&str; 6] = [
    "index.gmi",
    "archive/index.gmi",
    "tags/index.gmi",
    "tags/radio/index.gmi",
    "series/building-a-crystal-radio/index.gmi",
    "posts/crystal-radio-coil.gmi",
];

#[test]
fn every_language_speaks_on_every_generated_page() {
    let dir = tempfile::tempdir().unwrap();
    bundled_capsule(dir.path());
    for language in LANGUAGES {
        std::fs::write(
            dir.path().join(format!("{language}.toml")),
            format!("capsule = \"capsule\"\nlang = \"{language}\"\n"),
        )
        .unwrap();
        let out = format!("out-{language}");
        let (status, _, stderr) = run_cli(
            dir.path(),
            &[
                "build",
                "--config",
                &format!("{language}.toml"),
                "--out",
                &out,
            ],
        );
        assert!(status.success(), "{language}: {stderr}");
        let out = dir.path().join(&out);
        let mut all = String::new();
        for page in PAGES {
            let text = read(&out, page);
            for english in ENGLISH {
                assert!(
                    !text.contains(english),
                    "{language}: {page} still says “{english}”:\n{text}"
                );
            }
            all.push_str(&text);
        }
        // The language's own words are there, and its date order.
        let home = read(&out, "index.gmi");
        assert!(
            home.lines().any(|l| l.starts_with("## ")
                && !l.contains("Start here")
                && !l.contains("Elsewhere")),
            "{language}: no heading of its own on the home page:\n{home}"
        );
        let part = read(&out, "posts/crystal-radio-coil.gmi");
        assert!(
            part.contains("2026") && !part.contains("· 2026-09-13"),
            "{language}: the part's date is not in the language's order:\n{part}"
        );
        // Gemfeed lines keep their ISO dates.
        assert!(
            read(&out, "archive/index.gmi")
                .contains("=> /posts/crystal-radio-coil.gmi 2026-09-13 "),
            "{language}"
        );
    }
}

#[test]
fn a_language_s_pages_read_as_its_own() {
    let dir = tempfile::tempdir().unwrap();
    bundled_capsule(dir.path());
    let build = |language: &str| {
        std::fs::write(
            dir.path().join("c.toml"),
            format!("capsule = \"capsule\"\nlang = \"{language}\"\n"),
        )
        .unwrap();
        let out = format!("o-{language}");
        let (status, _, stderr) =
            run_cli(dir.path(), &["build", "--config", "c.toml", "--out", &out]);
        assert!(status.success(), "{stderr}");
        dir.path().join(out)
    };
    let fr = build("fr-CA");
    let part = read(&fr, "posts/crystal-radio-coil.gmi");
    assert!(part.contains("13 septembre 2026"), "{part}");
    assert!(read(&fr, "index.gmi").contains("(5 parties)"));
    let de = build("de");
    let index = read(&de, "series/building-a-crystal-radio/index.gmi");
    assert!(index.contains("6. September 2026"), "{index}");
    let ja = build("ja");
    let part = read(&ja, "posts/crystal-radio-coil.gmi");
    assert!(part.contains("2026年9月13日"), "{part}");
    let ru = build("ru");
    assert!(read(&ru, "index.gmi").contains("(7)"));
}

#[test]
fn strings_replace_the_built_in_ones_and_bad_ones_are_told_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    bundled_capsule(dir.path());
    std::fs::write(
        dir.path().join("c.toml"),
        "capsule = \"capsule\"\nlang = \"de\"\n\n[strings]\nrecent_posts = \"Neu hier\"\n\
         parts_count = { one = \"ein Teil\", other = \"{n} Folgen\" }\n",
    )
    .unwrap();
    let (status, _, stderr) = run_cli(dir.path(), &["build", "--config", "c.toml", "--out", "o"]);
    assert!(status.success(), "{stderr}");
    assert!(read(&dir.path().join("o"), "index.gmi").contains("## Neu hier\n"));
    assert!(
        read(
            &dir.path().join("o"),
            "series/building-a-crystal-radio/index.gmi"
        )
        .contains("## 5 Folgen, ")
    );
    // Each told at the line of its key (the file's fifth).
    for (text, said) in [
        ("recnt_posts = \"x\"", "did you mean `recent_posts`"),
        ("part_of = \"Teil {n} von {total}\"", "`{total}`"),
        ("parts_count = { one = \"x\" }", "`other`"),
        (
            "parts_count = { bogus = \"x\", other = \"y\" }",
            "unknown plural form `bogus`",
        ),
        ("recent_posts = 42", "a text in quotes"),
        ("tag_count = \"{tag} {{n}}\"", "brace"),
    ] {
        let text = format!("[strings]\nall_posts = \"ok\"\n{text}\n");
        std::fs::write(
            dir.path().join("bad.toml"),
            format!("capsule = \"capsule\"\n\n{text}"),
        )
        .unwrap();
        let (status, stdout, stderr) = run_cli(dir.path(), &["check", "--config", "bad.toml"]);
        assert!(!status.success());
        let told = format!("{stdout}{stderr}");
        assert!(
            told.contains("bad.toml:5:") && told.contains(said),
            "{text}: {told}"
        );
    }
}

#[test]
fn a_templates_folder_reshapes_pages_live_and_a_broken_template_keeps_the_last_good_one() {
    let setup = Setup::new().config("capsule = \"capsule\"\ntemplates = \"tpl\"\n");
    write(
        &setup.path().join("capsule/posts"),
        "a.md",
        "---\ntitle: A post\ndate: 2024-01-01\n---\n# A post\n\nText.\n",
    );
    let tpl = setup.path().join("tpl");
    write(
        &tpl,
        "home.gmi",
        "# My corner\n{% for post in recent %}\n* {{ post.title }}\n{% endfor %}\n",
    );
    let server = setup.start();
    let home = server.wait_text("/", "# My corner").body_text();
    assert!(home.contains("* A post\n"), "{home}");
    assert!(!home.contains("Recent posts"), "{home}");

    // A post footer of the author's, added while serving.
    write(
        &tpl,
        "post.gmi",
        "{{ body }}\n\n=> /archive/ More from this capsule\n",
    );
    let post = server.wait_text("/posts/a.gmi", "More from this capsule");
    assert!(
        post.body_text().starts_with("# A post\n\nText.\n"),
        "{}",
        post.body_text()
    );

    // An edit to the home template, then a broken one: the last good page stays.
    write(&tpl, "home.gmi", "# Our corner\n");
    server.wait_text("/", "# Our corner");
    write(&tpl, "home.gmi", "# Broken\n{% for post in recent %}\n");
    let line = server.wait_log("the broken template's line", |l| l.contains("home.gmi:2:"));
    assert!(line.contains("tpl/home.gmi:2:"), "{line}");
    let home = server.get(&server.url("/"));
    assert!(
        home.body_text().contains("# Our corner") && !home.body_text().contains("Broken"),
        "{}",
        home.body_text()
    );

    // `check` tells it too.
    let dir = server.capsule().parent().unwrap().to_owned();
    let (status, stdout, _) = run_cli(&dir, &["check"]);
    assert!(!status.success());
    assert!(stdout.contains("tpl/home.gmi:2:"), "{stdout}");
}

#[test]
fn default_pages_are_as_they_were_without_a_templates_folder() {
    // The same site built with the embedded defaults and with a folder holding copies of them.
    let dir = tempfile::tempdir().unwrap();
    bundled_capsule(dir.path());
    let (status, _, stderr) = build_copy(dir.path(), "plain");
    assert!(status.success(), "{stderr}");
    let tpl = dir.path().join("tpl");
    std::fs::create_dir(&tpl).unwrap();
    for name in ["home", "post", "series", "tag", "tags", "archive", "search"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/views/templates/{name}.gmi")),
            tpl.join(format!("{name}.gmi")),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("c.toml"),
        "capsule = \"capsule\"\ntemplates = \"tpl\"\n",
    )
    .unwrap();
    let (status, _, stderr) = run_cli(
        dir.path(),
        &["build", "--config", "c.toml", "--out", "copied"],
    );
    assert!(status.success(), "{stderr}");
    for page in PAGES {
        assert_eq!(
            read(&dir.path().join("plain"), page),
            read(&dir.path().join("copied"), page),
            "{page}"
        );
    }
}

#[test]
fn a_page_shown_through_the_authors_post_template_is_not_taken_back_as_its_source() {
    use crate::common::identity::{ClientCert, titan_put};
    let author = ClientCert::new();
    let setup = Setup::new().config(&format!(
        "capsule = \"capsule\"\ntemplates = \"tpl\"\n{}",
        author.titan_table()
    ));
    let posts = setup.path().join("capsule/posts");
    write(&posts, "plain.md", "Just text.\n");
    // A template that shows the post without its body, and adds only a heading.
    write(
        &setup.path().join("tpl"),
        "post.gmi",
        "# {{ post.title }}\n## {{ t(\"series\") }}\n",
    );
    let server = setup.start();
    let shown = server
        .wait_text("/posts/plain.gmi", "## Series")
        .body_text();
    let answer = titan_put(
        &server,
        author.client(),
        "/posts/plain.gmi;mime=text/gemini",
        shown.as_bytes(),
    );
    answer.expect("59");
    assert_eq!(
        std::fs::read_to_string(posts.join("plain.md")).unwrap(),
        "Just text.\n"
    );
}

#[test]
fn a_templates_folder_made_after_the_start_is_read_when_it_appears() {
    let setup = Setup::new().config("capsule = \"capsule\"\ntemplates = \"later\"\n");
    let later = setup.path().join("later");
    let server = setup.start();
    server.wait_log("the missing folder told", |l| {
        l.contains("later") && l.contains("does not exist")
    });
    write(&later, "archive.gmi", "# Everything, in time\n");
    server.wait_text("/archive/", "# Everything, in time");
}

#[test]
fn a_reader_is_told_about_certificates_in_the_host_s_language() {
    let setup = Setup::new().config(&format!(
        "capsule = \"capsule\"\nlang = \"fr\"\n\n[[area]]\npath = \"/private/\"\nfingerprints = [\"{}\"]\n",
        "ab".repeat(32)
    ));
    write(
        &setup.path().join("capsule/private"),
        "index.gmi",
        "# Members\n",
    );
    let server = setup.start();
    let answer = server.get(&server.url("/private/"));
    assert_eq!(answer.status(), "60", "{}", answer.header());
    assert!(answer.meta().contains("capsule"), "{}", answer.meta());
    assert!(!answer.meta().contains("This part"), "{}", answer.meta());
    let missing = server.get(&server.url("/nothing-here.gmi"));
    assert_eq!(missing.status(), "51");
    assert_ne!(missing.meta(), "Not found");
}

#[test]
fn gopher_menus_speak_the_host_s_language_too() {
    // The Gopher tests' hole (a series "Sail" of two parts), in Japanese.
    let server = crate::gopher::hole("lang = \"ja\"\n");
    let menu = String::from_utf8_lossy(&server.gopher(b"/\r\n")).into_owned();
    assert!(menu.contains("最近の記事"), "{menu}");
    assert!(
        !menu.contains("Recent posts") && !menu.contains("All posts"),
        "{menu}"
    );
    let part = String::from_utf8_lossy(&server.gopher(b"/posts/two.txt\r\n")).into_owned();
    assert!(part.contains("第2回") && !part.contains("Part 2"), "{part}");
}
