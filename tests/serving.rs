//! Serving the capsule folder.

use crate::common::{Setup, TestServer, write};

#[test]
fn files_are_served_byte_for_byte() {
    let server = TestServer::start();
    let r = server.get(&server.url("/docs/page.gmi"));
    r.expect("20");
    assert_eq!(r.body(), b"# A page\n");
    let r = server.get(&server.url("/with%20space.gmi"));
    r.expect("20");
    assert_eq!(r.body(), b"# Spaced\n");
}

#[test]
fn folder_serves_its_index() {
    let server = TestServer::start();
    let r = server.get(&server.url("/docs/"));
    r.expect("20");
    assert_eq!(r.body(), b"# Docs\n");
}

#[test]
fn folder_without_slash_redirects_31_keeping_the_query() {
    let server = TestServer::start();
    let r = server.get(&server.url("/docs"));
    r.expect("31");
    assert_eq!(r.meta(), "/docs/");
    assert!(r.body().is_empty());
    let r = server.get(&server.url("/docs?x=1&y"));
    r.expect("31");
    assert_eq!(r.meta(), "/docs/?x=1&y");
    // The root is never redirected, with or without a query.
    server.get(&server.url("?q")).expect("20");
}

#[test]
fn folder_without_index_is_51() {
    let server = TestServer::start();
    server.get(&server.url("/empty/")).expect("51");
    server.get(&server.url("/empty/readme.txt")).expect("20");
}

#[test]
fn mime_types_by_extension() {
    let server = TestServer::start();
    let meta = |path: &str| server.get(&server.url(path)).meta().to_owned();
    assert_eq!(meta("/about.gmi"), "text/gemini; charset=utf-8");
    assert_eq!(meta("/notes.txt"), "text/plain");
    assert_eq!(meta("/robots.txt"), "text/plain");
    assert_eq!(meta("/image.png"), "image/png");
}

#[test]
fn configured_lang_is_sent_with_gemtext_only() {
    let server = Setup::new().config("lang = \"en\"\n").start();
    let r = server.get(&server.url("/"));
    assert_eq!(r.header(), "20 text/gemini; charset=utf-8; lang=en");
    assert_eq!(server.get(&server.url("/notes.txt")).meta(), "text/plain");

    let server = Setup::new().config("lang = \"en,fr\"\n").start();
    let r = server.get(&server.url("/"));
    assert_eq!(r.meta(), "text/gemini; charset=utf-8; lang=\"en,fr\"");
}

#[test]
fn dot_files_and_folders_are_51_except_well_known() {
    let server = TestServer::start();
    server.get(&server.url("/.secret")).expect("51");
    server.get(&server.url("/.git/config")).expect("51");
    server.get(&server.url("/.git/")).expect("51");
    server.get(&server.url("/%2esecret")).expect("51");
    let r = server.get(&server.url("/.well-known/security.txt"));
    r.expect("20");
    assert_eq!(r.body(), b"Contact: mailto:a@example.org\n");
}

#[test]
fn symlinks_out_of_the_root_are_not_followed() {
    let setup = Setup::new();
    let outside = setup.path().join("outside");
    write(&outside, "passwd", "root:x:0:0\n");
    let capsule = setup.path().join("capsule");
    std::os::unix::fs::symlink(outside.join("passwd"), capsule.join("passwd.gmi")).unwrap();
    std::os::unix::fs::symlink(&outside, capsule.join("out")).unwrap();
    std::os::unix::fs::symlink(capsule.join(".secret"), capsule.join("public.txt")).unwrap();
    std::os::unix::fs::symlink(capsule.join("about.gmi"), capsule.join("alias.gmi")).unwrap();
    std::os::unix::fs::symlink(capsule.join("docs"), capsule.join("linked")).unwrap();
    let server = setup.start();
    server.get(&server.url("/passwd.gmi")).expect("51");
    server.get(&server.url("/out/passwd")).expect("51");
    server.get(&server.url("/out/")).expect("51");
    server.get(&server.url("/public.txt")).expect("51");
    // A link that stays inside the capsule is fine.
    let r = server.get(&server.url("/alias.gmi"));
    r.expect("20");
    assert_eq!(r.body(), b"# About\n");
    // So is a folder linked from inside it, with what lies below.
    let r = server.get(&server.url("/linked/page.gmi"));
    assert_eq!(r.expect("20").body(), b"# A page\n");
    server.get(&server.url("/linked")).expect("31");
    server.get(&server.url("/linked/missing.gmi")).expect("51");
}

#[test]
fn large_files_stream_intact() {
    let setup = Setup::new();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    write(&setup.path().join("capsule"), "big.bin", &body);
    let server = setup.start();
    let r = server.get(&server.url("/big.bin"));
    r.expect("20");
    assert_eq!(r.meta(), "application/octet-stream");
    assert!(
        r.body() == body.as_slice(),
        "body differs ({} bytes)",
        r.body().len()
    );
}

#[test]
fn special_files_are_not_served() {
    let setup = Setup::new();
    let fifo = setup.path().join("capsule/fifo.gmi");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let server = setup.start();
    server.get(&server.url("/fifo.gmi")).expect("51");
}

#[test]
fn bundled_sample_capsule_is_served_and_its_links_resolve() {
    // The repository's own config.toml and capsule/, as `cargo run -- serve` uses them.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let setup = Setup::new();
    let certs = setup.path().join("certs");
    let server = setup
        .arg("--config")
        .arg(repo.join("config.toml").to_str().unwrap())
        .arg("--certs")
        .arg(certs.to_str().unwrap())
        .start();
    let home = server.get(&server.url("/"));
    home.expect("20");
    // The author's text, then the generated sections.
    let own = std::fs::read(repo.join("capsule/index.gmi")).unwrap();
    assert!(home.body().starts_with(&own));
    assert!(String::from_utf8_lossy(home.body()).contains("## Recent posts\n=> /posts/"));

    // Crawl every internal link (relative ones resolved against their page) over TLS.
    let mut pending = vec!["/".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let r = server.get(&server.url(&path));
        // The search page asks for its words.
        if path == "/search" {
            assert_eq!(r.header(), "10 Search this capsule");
            continue;
        }
        assert_eq!(r.status(), "20", "{path}: {}", r.header());
        let text = String::from_utf8(r.body().to_vec()).unwrap();
        assert!(
            !text.contains("Unfinished Thoughts"),
            "draft leaked on {path}"
        );
        if r.meta() == "application/atom+xml" {
            roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            continue;
        }
        if !r.meta().starts_with("text/gemini") {
            continue;
        }
        for line in text.lines().filter(|l| l.starts_with("=>")) {
            let target = line[2..].split_whitespace().next().unwrap();
            if let Some(local) = resolve_local(&path, target) {
                pending.push(local);
            }
        }
    }
    // Every published post was reached; the draft was not.
    for entry in std::fs::read_dir(repo.join("capsule/posts")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let url = format!("/posts/{}", name.replace(".md", ".gmi"));
        if name == "unfinished-thoughts.md" {
            assert!(!seen.contains(&url));
            server.get(&server.url(&url)).expect("51");
        } else {
            assert!(
                seen.contains(&url),
                "{url} is not linked from anywhere: {seen:?}"
            );
        }
    }
    assert!(seen.contains("/atom.xml"));
    // The series index lists its parts in part order, whatever their dates.
    let index = server.get(&server.url("/series/building-a-crystal-radio/"));
    let index = String::from_utf8(index.body().to_vec()).unwrap();
    let positions: Vec<usize> = (1..=5)
        .map(|n| {
            index
                .find(&format!(" Part {n}: "))
                .unwrap_or_else(|| panic!("part {n} in {index}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{index}");
}

/// The root-relative path a link on `page` points to, if it stays in the capsule.
fn resolve_local(page: &str, link: &str) -> Option<String> {
    if link.contains("://") || link.starts_with("mailto:") {
        return None;
    }
    let link = link.split(['?', '#']).next().unwrap_or("");
    let joined = if link.starts_with('/') {
        link.to_owned()
    } else {
        format!("{}{link}", &page[..page.rfind('/').map_or(0, |i| i + 1)])
    };
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let slash = if joined.ends_with('/') { "/" } else { "" };
    Some(if parts.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}{slash}", parts.join("/"))
    })
}

#[test]
fn markdown_is_served_as_gemtext_at_the_gmi_path() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "posts/hello.md",
        "---\ntitle: Hello\n---\nSee [the other post](other.md).\n",
    );
    write(&capsule, "posts/other.md", "# Other\n");
    write(&capsule, "posts/both.md", "# From Markdown\n");
    write(&capsule, "posts/both.gmi", "# Hand-written\n");
    write(&capsule, "notes/index.md", "Notes home.\n");
    let server = setup.config("lang = \"en\"\n").start();

    let r = server.get(&server.url("/posts/hello.gmi"));
    r.expect("20");
    assert_eq!(r.meta(), "text/gemini; charset=utf-8; lang=en");
    assert_eq!(
        r.body(),
        b"# Hello\n\nSee the other post.\n=> other.gmi the other post\n"
    );
    // The hand-written page wins over its Markdown twin.
    assert_eq!(
        server.get(&server.url("/posts/both.gmi")).body(),
        b"# Hand-written\n"
    );
    // A folder's index.md is its page.
    assert_eq!(
        server.get(&server.url("/notes/")).body(),
        b"# notes\n\nNotes home.\n"
    );
    // The source is not served: it might be a draft.
    server.get(&server.url("/posts/other.md")).expect("51");
    server.get(&server.url("/posts/missing.gmi")).expect("51");
}

#[test]
fn changed_markdown_is_converted_again() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(&capsule, "post.md", "First version.\n");
    let server = setup.start();
    let url = server.url("/post.gmi");
    assert_eq!(server.get(&url).body(), b"# post\n\nFirst version.\n");
    assert_eq!(server.get(&url).body(), b"# post\n\nFirst version.\n");
    write(&capsule, "post.md", "Second, longer version.\n");
    assert_eq!(
        server.wait_text("/post.gmi", "Second").body(),
        b"# post\n\nSecond, longer version.\n"
    );
}

#[test]
fn broken_front_matter_is_logged_and_the_page_withheld() {
    // Unreadable front matter might have said `draft: true`: the page stays hidden until fixed.
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(&capsule, "bad.md", "---\ntitle: [oops\n---\nThe body.\n");
    let server = setup.start();
    server.get(&server.url("/bad.gmi")).expect("51");
    let line = server.wait_log("the front matter warning", |l| l.contains("bad.md:2:"));
    assert!(line.contains("invalid YAML front matter"), "{line}");
    write(&capsule, "bad.md", "---\ntitle: fixed\n---\nThe body.\n");
    assert_eq!(
        server.wait_text("/bad.gmi", "fixed").body(),
        b"# fixed\n\nThe body.\n"
    );
}

#[test]
fn drafts_are_not_served_and_lang_comes_from_front_matter() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "draft.md",
        "---\ndraft: true\n---\nSecret plans.\n",
    );
    write(
        &capsule,
        "unpublished.md",
        "+++\npublished = false\n+++\nSecret.\n",
    );
    write(&capsule, "french.md", "---\nlang: fr\n---\nBonjour.\n");
    let server = setup.config("lang = \"en\"\n").start();
    let draft = server.get(&server.url("/draft.gmi"));
    draft.expect("51");
    assert!(!draft.text().contains("Secret"));
    server.get(&server.url("/unpublished.gmi")).expect("51");
    server.get(&server.url("/draft.md")).expect("51");
    let r = server.get(&server.url("/french.gmi"));
    assert_eq!(r.meta(), "text/gemini; charset=utf-8; lang=fr");
}

#[test]
fn markdown_over_the_size_limit_is_refused_and_logged() {
    let setup = Setup::new();
    write(&setup.path().join("capsule"), "big.md", "x".repeat(2048));
    let server = setup.config("[markdown]\nmax_file_size = 1024\n").start();
    server.get(&server.url("/big.gmi")).expect("40");
    server.wait_log("the refusal", |l| {
        l.contains("big.md is larger than the 1024-byte limit")
    });
}

/// Binary garbage named `.md` is no page: its request gets an error answer and the log (as
/// `check`) names the file; the rest of the capsule is served. Text that is merely not UTF-8
/// is served, as `tests/cli.rs` shows.
#[test]
fn binary_garbage_in_markdown_is_refused_with_a_log_line() {
    let setup = Setup::new();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(garbage.contains(&0));
    write(&setup.path().join("capsule"), "garbage.md", &garbage);
    let server = setup.start();
    server.wait_log("the binary file named", |l| {
        l.contains("garbage.md:1: error: cannot read: it is not text (a NUL byte")
    });
    let r = server.get(&server.url("/garbage.gmi"));
    assert_eq!(r.header(), "40 Cannot convert this page");
    server.get(&server.url("/")).expect("20");
}

#[test]
fn the_log_names_the_file_and_line_of_a_broken_link_at_start_and_after_a_change() {
    let setup = Setup::new();
    write(
        &setup.path().join("capsule"),
        "posts/a.md",
        "---\ntitle: A\n---\n\nFine.\n\nSee [b](b.md).\n",
    );
    let server = setup.start();
    server.wait_log("the broken link at start", |l| {
        l.contains("posts/a.md:7: warning: link to b.gmi: no such page in the capsule")
    });
    // Edited while serving: the rebuild reports the new line.
    write(
        &server.capsule(),
        "posts/a.md",
        "---\ntitle: A\n---\n\nFine.\n\nStill fine.\n\nSee [c](c.md).\n",
    );
    server.wait_log("the broken link after the edit", |l| {
        l.contains("posts/a.md:9: warning: link to c.gmi: no such page in the capsule")
    });
}

#[test]
fn a_folder_redirect_names_one_path_never_another_host() {
    let server = TestServer::start();
    // `//docs` → `/docs/`, not `//docs/` (a link to the host `docs`).
    let r = server.get(&server.url("//docs"));
    r.expect("31");
    assert_eq!(r.meta(), "/docs/");
}

#[test]
fn a_symlinked_folder_serves_its_page() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    std::os::unix::fs::symlink(capsule.join("docs"), capsule.join("linked")).unwrap();
    let server = setup.start();
    let r = server.get(&server.url("/linked"));
    r.expect("31");
    assert_eq!(r.meta(), "/linked/");
    let r = server.get(&server.url("/linked/"));
    r.expect("20");
    assert_eq!(r.body(), b"# Docs\n");
    server.get(&server.url("/linked/page.gmi")).expect("20");
}
