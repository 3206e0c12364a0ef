//! The command line, and configuration errors as an operator sees them.

use std::path::{Path, PathBuf};

use crate::common::{Setup, run_cli};

#[test]
fn version_and_help_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (status, out, _) = run_cli(dir.path(), &["--version"]);
    assert!(status.success());
    assert!(out.starts_with("gemhole "), "{out}");
    for args in [&["--help"][..], &["serve", "--help"], &["cert", "--help"]] {
        let (status, out, err) = run_cli(dir.path(), args);
        assert!(status.success(), "{args:?}: {err}");
        assert!(out.contains("Usage: gemhole"), "{out}");
    }
    let (_, out, _) = run_cli(dir.path(), &["serve", "--help"]);
    for flag in ["--config", "--capsule", "--certs", "--hostname", "--listen"] {
        assert!(out.contains(flag), "serve --help lacks {flag}");
    }
    let (_, out, _) = run_cli(dir.path(), &["cert", "--help"]);
    for flag in ["--certs", "--hostname"] {
        assert!(out.contains(flag), "cert --help lacks {flag}");
    }
    // One file cannot tell a post's place in its series; the help says where the full pages are.
    let (_, out, _) = run_cli(dir.path(), &["convert", "--help"]);
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("without series navigation"), "{out}");
    assert!(words.contains("`gemhole build --out DIR`"), "{out}");
    let (_, out, _) = run_cli(dir.path(), &["build", "--help"]);
    assert!(out.contains(".gemhole-build"), "{out}");
}

#[test]
fn cert_creates_missing_certificates_once() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "cert",
        "--certs",
        "c",
        "--hostname",
        "a.example",
        "--hostname",
        "b.example",
    ];
    let (status, first, err) = run_cli(dir.path(), &args);
    assert!(status.success(), "{err}");
    // One pair for the host's names, in the first name's folder.
    assert!(first.starts_with("a.example, b.example\n"), "{first}");
    assert_eq!(first.matches("generated now").count(), 1, "{first}");
    assert!(dir.path().join("c/a.example/key.pem").exists());
    assert!(!dir.path().join("c/b.example").exists());
    let (_, second, _) = run_cli(dir.path(), &args);
    assert_eq!(second.matches("existing").count(), 1, "{second}");
    let fingerprints = |out: &str| {
        out.lines()
            .filter(|l| l.contains("SHA-256"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(fingerprints(&first), fingerprints(&second));
    assert_eq!(fingerprints(&first).len(), 2);
}

#[test]
fn unknown_config_key_is_named_with_file_and_line() {
    let (status, stderr) = Setup::new()
        .config("capsule = \"capsule\"\n\n[limits]\nrequest_timeut = 5\n")
        .fail();
    assert!(!status.success());
    assert!(stderr.contains("config.toml:4:"), "{stderr}");
    assert!(stderr.contains("request_timeut"), "{stderr}");
}

#[test]
fn invalid_config_value_names_line_and_expected_form() {
    let (status, stderr) = Setup::new()
        .config("lang = \"en\"\nlisten = [\"nowhere\"]\n")
        .fail();
    assert!(!status.success());
    assert!(stderr.contains("config.toml:2:"), "{stderr}");
    assert!(
        stderr.contains("expected an IP address and port"),
        "{stderr}"
    );

    let (_, stderr) = Setup::new().config("[limits]\nwrite_timeout = -1\n").fail();
    assert!(stderr.contains("config.toml:2:"), "{stderr}");
    assert!(
        stderr.contains("`write_timeout`: invalid duration -1"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("expected a whole number of seconds"),
        "{stderr}"
    );
}

#[test]
fn explicit_config_file_must_exist() {
    let (status, stderr) = Setup::new().arg("--config").arg("nope.toml").fail();
    assert!(!status.success());
    assert!(stderr.contains("nope.toml"), "{stderr}");
}

#[test]
fn flags_override_the_config_file() {
    let setup = Setup::new();
    crate::common::write(&setup.path().join("other"), "index.gmi", "# Other\n");
    let server = setup
        .config("capsule = \"capsule\"\nhostnames = [\"example.org\"]\n")
        .arg("--capsule")
        .arg("other")
        .arg("--hostname")
        .arg("localhost")
        .start();
    let r = server.get(&server.url("/"));
    r.expect("20");
    assert_eq!(r.body(), b"# Other\n");
    server
        .get(&format!("gemini://example.org:{}/", server.port()))
        .expect("53");
}

#[test]
fn relative_paths_in_a_config_file_follow_the_file() {
    let setup = Setup::new();
    crate::common::write(&setup.path().join("site/pages"), "index.gmi", "# Site\n");
    crate::common::write(
        &setup.path().join("site"),
        "gemhole.toml",
        "capsule = \"pages\"\ncerts = \"keys\"\n",
    );
    let server = setup.arg("--config").arg("site/gemhole.toml").start();
    let r = server.get(&server.url("/"));
    assert_eq!(r.body(), b"# Site\n");
    assert!(
        server
            .dir
            .path()
            .join("site/keys/localhost/key.pem")
            .exists()
    );
}

#[test]
fn missing_capsule_folder_is_a_clear_error() {
    let (status, stderr) = Setup::new().arg("--capsule").arg("does-not-exist").fail();
    assert!(!status.success());
    assert!(stderr.contains("capsule folder does-not-exist"), "{stderr}");
}

#[test]
fn taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (status, stderr) = Setup::new().listen(&addr).fail();
    assert!(!status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("already in use"), "{stderr}");
}

#[test]
fn invalid_hostname_flag_is_rejected() {
    let (status, stderr) = Setup::new().arg("--hostname").arg("../etc").fail();
    assert!(!status.success());
    assert!(stderr.contains("invalid hostname"), "{stderr}");
}

#[test]
fn convert_prints_gemtext() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(
        dir.path(),
        "post.md",
        "+++\ntitle = \"A post\"\n+++\nSome *text* with [a link](next.md).\n",
    );
    let (status, out, err) = run_cli(dir.path(), &["convert", "post.md"]);
    assert!(status.success(), "{err}");
    assert_eq!(
        out,
        "# A post\n\nSome text with a link.\n=> next.gmi a link\n"
    );
}

#[test]
fn convert_reports_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let (status, out, err) = run_cli(dir.path(), &["convert", "nope.md"]);
    assert!(!status.success());
    assert!(out.is_empty());
    assert!(err.contains("cannot read nope.md"), "{err}");
}

#[test]
fn convert_reports_broken_front_matter_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(
        dir.path(),
        "bad.md",
        "---\ntitle: fine\ntags: [a, b\n---\nBody\n",
    );
    let (status, out, err) = run_cli(dir.path(), &["convert", "bad.md"]);
    assert!(!status.success());
    // The page is written all the same: nothing the author wrote is lost.
    assert!(out.contains("Body"), "{out}");
    assert!(
        err.contains("bad.md:3:") || err.contains("bad.md:4:"),
        "{err}"
    );
    assert!(err.contains("invalid YAML front matter"), "{err}");

    crate::common::write(dir.path(), "open.md", "+++\ntitle = \"x\"\nBody\n");
    let (status, out, err) = run_cli(dir.path(), &["convert", "open.md"]);
    assert!(!status.success());
    assert!(
        err.contains("open.md:1: front matter opened with `+++` is never closed"),
        "{err}"
    );
    assert!(
        out.contains("title = \"x\"") && out.contains("Body"),
        "{out}"
    );

    // A first `---` before prose is Markdown (a setext heading, then a rule): no error.
    crate::common::write(dir.path(), "rule.md", "---\nFoo\n---\nBar\n---\nBaz\n");
    let (status, out, err) = run_cli(dir.path(), &["convert", "rule.md"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("## Foo") || out.contains("# Foo"), "{out}");
    assert!(out.contains("Bar") && out.contains("Baz"), "{out}");
    assert!(
        err.contains("rule.md:1: the first line `---` opens no front matter"),
        "{err}"
    );
}

#[test]
fn check_reports_problems_with_file_and_line_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let capsule = dir.path().join("capsule");
    crate::common::write(&capsule, "index.gmi", "# Home\n");
    crate::common::write(
        &capsule,
        "posts/good.md",
        "---\nseries: Sail\npart: 1\n---\nSee [two](two.md).\n",
    );
    crate::common::write(
        &capsule,
        "posts/two.md",
        "---\nseries: Sail\npart: 1\n---\nTwo.\n",
    );
    crate::common::write(&capsule, "posts/orphan.md", "---\npart: 4\n---\nAlone.\n");
    crate::common::write(
        &capsule,
        "posts/role.md",
        "---\nseries: Sail\nseries_role: extra\n---\n",
    );
    crate::common::write(
        &capsule,
        "posts/links.md",
        "[Missing](missing.md) and [home](/).\n",
    );

    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    every_problem_names_its_line(&out);
    assert!(
        out.contains("posts/orphan.md:2: warning: `part` is set but `series` is not"),
        "{out}"
    );
    assert!(
        out.contains("posts/role.md:3: warning: unknown `series_role` `extra`"),
        "{out}"
    );
    assert!(
        out.contains("posts/two.md:3: warning: series “Sail”: part 1 is used by both"),
        "{out}"
    );
    assert!(
        out.contains("posts/links.md:1: warning: link to missing.gmi"),
        "{out}"
    );
    assert!(!out.contains("link to /"), "{out}");
    assert!(out.contains("5 published post(s)"), "{out}");

    crate::common::write(
        &capsule,
        "posts/broken.md",
        "---\ntitle: x\ndate: [2024\n---\n",
    );
    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(!status.success());
    every_problem_names_its_line(&out);
    assert!(
        out.contains("posts/broken.md:3: error: invalid YAML front matter"),
        "{out}"
    );
    assert!(
        err.contains("1 error(s): what they name is not published as written"),
        "{err}"
    );
}

/// A Markdown file that is not UTF-8 is named in `check` at the line of its first bad byte
/// and served with U+FFFD in place of what cannot be read; one that holds a NUL is binary:
/// named, and never served as a page, nor listed.
#[test]
fn markdown_that_is_not_utf8_text_is_named_with_its_line() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    std::fs::create_dir_all(&posts).unwrap();
    std::fs::write(
        posts.join("latin1.md"),
        b"---\ntitle: Latin-1\ndate: 2024-05-01\n---\nA caf\xe9 by the sea.\n",
    )
    .unwrap();
    let mut binary = b"---\ntitle: Noise\ndate: 2024-05-02\n---\n".to_vec();
    binary.extend_from_slice(&[0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0x00, b'\n']);
    std::fs::write(posts.join("binary.md"), &binary).unwrap();

    let (_, out, err) = run_cli(setup.path(), &["check"]);
    every_problem_names_its_line(&out);
    assert!(
        out.contains("posts/latin1.md:5: warning: not valid UTF-8 (byte 45 of the file)"),
        "{out}{err}"
    );
    assert!(
        out.contains("posts/binary.md:1: error: cannot read: it is not text (a NUL byte"),
        "{out}{err}"
    );

    let (status, out, err) = run_cli(setup.path(), &["convert", "capsule/posts/latin1.md"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("A caf\u{fffd} by the sea."), "{out}");
    assert!(
        err.contains("capsule/posts/latin1.md:5: not valid UTF-8"),
        "{err}"
    );
    let (status, _, err) = run_cli(setup.path(), &["convert", "capsule/posts/binary.md"]);
    assert!(!status.success() && err.contains("it is not text"), "{err}");

    let server = setup.start();
    let page = server.get(&server.url("/posts/latin1.gmi"));
    page.expect("20");
    assert!(
        page.body_text().contains("A caf\u{fffd} by the sea."),
        "{}",
        page.text()
    );
    server.get(&server.url("/posts/binary.gmi")).expect("40");
    let archive = server.get(&server.url("/archive/"));
    assert!(
        archive.body_text().contains("Latin-1"),
        "{}",
        archive.text()
    );
    assert!(!archive.body_text().contains("Noise"), "{}", archive.text());
    server.wait_log("the binary file in the log", |l| {
        l.contains("posts/binary.md") && l.contains("not text")
    });
}

/// Asserts that every line `check` printed before its summary starts `file:line: kind: `.
fn every_problem_names_its_line(out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    let (summary, problems) = lines.split_last().expect("a summary line");
    assert!(summary.contains("published post(s)"), "{out}");
    for line in problems {
        let mut parts = line.splitn(3, ':');
        let (file, number, rest) = (parts.next(), parts.next(), parts.next());
        let named = file.is_some_and(|f| !f.is_empty() && !f.contains(' '))
            && number.is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n > 0))
            && rest.is_some_and(|r| r.starts_with(" warning: ") || r.starts_with(" error: "));
        assert!(named, "no file:line: in {line:?}\n{out}");
    }
}

#[test]
fn check_names_the_line_of_every_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let capsule = dir.path().join("capsule");
    crate::common::write(&capsule, "index.gmi", "# Home\n");
    crate::common::write(&capsule, "about.gmi", "# About\n");
    crate::common::write(
        &capsule,
        "posts/x.md",
        "---\ntitle: X\ndate: 2024-01-01\n---\n\n\
         A paragraph with a [good link](../about.gmi)\n\
         and a [broken one](y.md) on its second line.\n\n\
         * one item\n\
         * another, [in a list](list-gone.md)\n\n\
         <p>Raw HTML with <a href=\"html-gone.gmi\">a link</a>\n\
         and <img src=\"picture-gone.png\" alt=\"a picture\"></p>\n\n\
         A bare gemini://localhost/bare-gone.gmi URL is external.\n",
    );
    crate::common::write(
        &capsule,
        "posts/2024-01-02-hand.gmi",
        "# Hand-written\n\nText.\n=> /missing/ Gone\n=> x.gmi Fine\n",
    );
    let (status, out, err) = run_cli(dir.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    every_problem_names_its_line(&out);
    for expected in [
        "posts/x.md:7: warning: link to y.gmi: no such page in the capsule",
        "posts/x.md:10: warning: link to list-gone.gmi: no such page in the capsule",
        "posts/x.md:12: warning: link to html-gone.gmi: no such page in the capsule",
        "posts/x.md:13: warning: link to picture-gone.png: no such page in the capsule",
        "posts/2024-01-02-hand.gmi:4: warning: link to /missing/: no such page in the capsule",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("about.gmi"), "{out}");
    assert!(!out.contains("bare-gone"), "{out}");
    assert_eq!(out.matches("warning:").count(), 5, "{out}");
}

#[test]
fn check_validates_the_config_too() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(dir.path(), "config.toml", "capsule = 3\n");
    let (status, _, err) = run_cli(dir.path(), &["check"]);
    assert!(!status.success());
    assert!(err.contains("config.toml:1:"), "{err}");
}

#[test]
fn convert_names_a_missing_file_once() {
    let dir = tempfile::tempdir().unwrap();
    // The file, then a config file that is missing: each named once, its reason once.
    for (args, missing) in [
        (&["convert", "nope.md"][..], "cannot read nope.md: "),
        (
            &["convert", "--config", "nope.toml", "nope.md"],
            "cannot read config file nope.toml: ",
        ),
    ] {
        let (status, out, err) = run_cli(dir.path(), args);
        assert_eq!(status.code(), Some(1), "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("gemhole: error: {missing}")),
            "{err}"
        );
        assert_eq!(err.matches("nope.").count(), 1, "{err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    }
}

/// A FIFO is refused rather than waited on, and a binary file rather than printed as noise.
#[test]
fn convert_refuses_what_is_not_a_text_file() {
    let dir = tempfile::tempdir().unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("fifo.md"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    crate::common::write(dir.path(), "binary.md", b"\x7fELF\0\0\x01garbage");
    for (file, why) in [
        ("fifo.md", "not a regular file"),
        ("binary.md", "it is not text (a NUL byte at offset 4)"),
        (".", "not a regular file"),
    ] {
        let (status, out, err) = run_cli(dir.path(), &["convert", file]);
        assert_eq!(status.code(), Some(1), "{file}: {out}{err}");
        assert_eq!(err, format!("gemhole: error: cannot read {file}: {why}\n"));
    }
}

use crate::common::build_copy as build;

/// Every file below `dir` with its contents, in order.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path.strip_prefix(dir).unwrap().to_owned(), bytes));
            }
        }
    }
    found.sort();
    found
}

/// The names in `dir`, sorted: a build must leave no temporary folder next to its own.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn post(title: &str, extra: &str) -> String {
    format!("---\ntitle: {title}\ndate: 2024-01-01\n{extra}---\nBody of {title}.\n")
}

/// A capsule with three posts; `gone` has a tag of its own.
fn three_posts(dir: &Path) {
    let capsule = dir.join("capsule");
    crate::common::write(&capsule, "index.gmi", "# Home\n");
    crate::common::write(&capsule, "posts/stays.md", post("Stays Here", ""));
    crate::common::write(
        &capsule,
        "posts/drafted.md",
        post("Soon a Draft", "tags: [drafty]\n"),
    );
    crate::common::write(&capsule, "posts/deleted.md", post("Soon Deleted", ""));
}

/// Whether the built pages that list posts mention `title`.
fn listed(site: &Path, title: &str) -> bool {
    ["index.gmi", "archive/index.gmi", "atom.xml"]
        .iter()
        .any(|page| {
            std::fs::read_to_string(site.join(page))
                .unwrap()
                .contains(title)
        })
}

#[test]
fn build_into_the_same_folder_drops_unpublished_posts() {
    let dir = tempfile::tempdir().unwrap();
    let (dir, site) = (dir.path(), dir.path().join("site"));
    three_posts(dir);
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    for page in [
        "posts/drafted.gmi",
        "posts/deleted.gmi",
        "tags/drafty/index.gmi",
    ] {
        assert!(site.join(page).is_file(), "{page} was not written");
    }
    assert!(listed(&site, "Soon a Draft") && listed(&site, "Soon Deleted"));
    assert!(site.join(".gemhole-build").is_file());

    crate::common::write(
        &dir.join("capsule"),
        "posts/drafted.md",
        post("Soon a Draft", "tags: [drafty]\ndraft: true\n"),
    );
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    assert!(
        !site.join("posts/drafted.gmi").exists(),
        "the draft's page is still there"
    );
    assert!(
        !site.join("tags/drafty").exists(),
        "its tag's page is still there"
    );
    for page in [
        "index.gmi",
        "archive/index.gmi",
        "atom.xml",
        "tags/index.gmi",
    ] {
        let text = std::fs::read_to_string(site.join(page)).unwrap();
        assert!(
            !text.contains("Soon a Draft"),
            "{page} lists the draft:\n{text}"
        );
        assert!(
            !text.contains("drafty"),
            "{page} lists the draft's tag:\n{text}"
        );
    }
    assert!(site.join("posts/deleted.gmi").is_file());

    std::fs::remove_file(dir.join("capsule/posts/deleted.md")).unwrap();
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    assert!(
        !site.join("posts/deleted.gmi").exists(),
        "the deleted post's page is still there"
    );
    assert!(!listed(&site, "Soon Deleted"));
    assert!(listed(&site, "Stays Here"));
    assert_eq!(
        files(&site)
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>(),
        [
            ".gemhole-build",
            "archive/index.gmi",
            "atom.xml",
            "index.gmi",
            "posts/stays.gmi",
            "robots.txt",
            "series/index.gmi",
            "tags/index.gmi",
        ]
        .map(PathBuf::from)
    );
    assert_eq!(names(dir), ["capsule", "site"]);

    // Modes as for any folder and file made here (not a temporary folder's 0700).
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let (folder, file) = (dir.join("folder"), dir.join("file"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(&file, "").unwrap();
    assert_eq!(mode(&site), mode(&folder));
    assert_eq!(mode(&site.join("posts")), mode(&folder));
    assert_eq!(mode(&site.join("posts/stays.gmi")), mode(&file));
    assert_eq!(mode(&site.join(".gemhole-build")), mode(&file));
}

#[test]
fn build_replaces_only_an_earlier_build_or_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    crate::common::write(dir, "mine/notes.txt", "keep me");
    crate::common::write(dir, "mine/deep/more.txt", "and me");
    let before = files(&dir.join("mine"));
    let (status, out, err) = build(dir, "mine");
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("refusing to build into mine")
            && err.contains("no .gemhole-build file")
            && err.contains("create mine/.gemhole-build"),
        "{err}"
    );
    assert_eq!(files(&dir.join("mine")), before, "the folder was changed");
    assert_eq!(names(dir), ["capsule", "mine"]);

    // A file, and a symlink (even to an earlier build), are left alone too.
    crate::common::write(dir, "a-file", "text");
    let (status, _, err) = build(dir, "a-file");
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("it is a file, not a folder"), "{err}");
    assert_eq!(std::fs::read(dir.join("a-file")).unwrap(), b"text");
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    std::os::unix::fs::symlink("site", dir.join("link")).unwrap();
    let built = files(&dir.join("site"));
    let (status, _, err) = build(dir, "link");
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("is a symbolic link (to site)"), "{err}");
    assert!(dir.join("link").is_symlink());
    assert_eq!(files(&dir.join("site")), built);

    // An empty folder is used; a folder the operator marks is replaced, files and all.
    std::fs::create_dir(dir.join("empty")).unwrap();
    let (status, out, err) = build(dir, "empty");
    assert!(status.success(), "{out}{err}");
    assert!(dir.join("empty/posts/stays.gmi").is_file());
    crate::common::write(dir, "mine/.gemhole-build", "");
    let (status, out, err) = build(dir, "mine");
    assert!(status.success(), "{out}{err}");
    assert!(!dir.join("mine/notes.txt").exists());
    assert!(dir.join("mine/posts/stays.gmi").is_file());
}

#[test]
fn build_refuses_the_capsule_and_folders_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    // Marked as if built, so that only the rule about the capsule can refuse them.
    crate::common::write(dir, "capsule/.gemhole-build", "");
    crate::common::write(dir, "capsule/posts/.gemhole-build", "");
    let capsule = files(&dir.join("capsule"));
    let absolute = dir.display().to_string();
    for (out, why) in [
        ("capsule", "is the capsule folder"),
        ("capsule/", "is the capsule folder"),
        ("capsule/posts/../../capsule", "is the capsule folder"),
        ("capsule/posts/..", "does not end in a folder name"),
        ("capsule/posts", "is the capsule folder"),
        ("capsule/new/site", "is the capsule folder"),
        (absolute.as_str(), "is the capsule folder"),
        ("../", "does not end in a folder name"),
        (".", "does not end in a folder name"),
        ("/", "does not end in a folder name"),
    ] {
        let (status, out_text, err) = build(dir, out);
        assert_eq!(status.code(), Some(1), "--out {out}: {out_text}{err}");
        assert!(err.contains(why), "--out {out}: {err}");
        assert_eq!(files(&dir.join("capsule")), capsule, "--out {out}");
        assert_eq!(names(dir), ["capsule"], "--out {out}");
    }

    // The home folder, or one that holds it, even when marked as a build.
    crate::common::write(dir, "users/.gemhole-build", "");
    crate::common::write(dir, "users/me/.gemhole-build", "");
    for out in ["users/me", "users"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gemhole"))
            .current_dir(dir)
            .args(["build", "--config", "/dev/null", "--capsule", "capsule"])
            .args(["--out", out])
            .env("HOME", dir.join("users/me"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "--out {out}: {err}");
        assert!(
            err.contains("is the home folder or holds it"),
            "--out {out}: {err}"
        );
        assert!(dir.join("users/me/.gemhole-build").exists());
    }
}

#[test]
fn a_build_that_stops_removes_nothing_and_the_next_one_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    let built = files(&dir.join("site"));
    crate::common::write(dir, "site/posts/old.gmi", "from an older build");
    // A folder named as a post's page: two files of the capsule want one path.
    crate::common::write(dir, "capsule/posts/stays.gmi/photo.txt", "in the way");
    let (status, out, err) = build(dir, "site");
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("the build into site stopped before its end")
            && err.contains("two files of the capsule need one path"),
        "{err}"
    );
    assert!(
        dir.join("site/posts/old.gmi").exists(),
        "nothing is removed"
    );
    assert_eq!(names(dir), ["capsule", "site"]);
    std::fs::remove_dir_all(dir.join("capsule/posts/stays.gmi")).unwrap();
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    assert_eq!(files(&dir.join("site")), built);
}

/// The folder is written in place: its mode stays, and nothing that leads out of it (a
/// symlink planted in it) is written through or removed beyond.
#[test]
fn build_keeps_its_folder_and_never_writes_through_links() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    crate::common::write(dir, "outside/precious.txt", "keep");
    crate::common::write(dir, "outside/stays.gmi", "keep too");
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    let site = dir.join("site");
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o2750)).unwrap();
    std::fs::remove_dir_all(site.join("posts")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), site.join("posts")).unwrap();
    std::fs::remove_file(site.join("index.gmi")).unwrap();
    std::os::unix::fs::symlink(dir.join("outside/precious.txt"), site.join("index.gmi")).unwrap();
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    assert_eq!(
        std::fs::metadata(&site).unwrap().permissions().mode() & 0o7777,
        0o2750
    );
    assert!(site.join("posts").is_dir() && !site.join("posts").is_symlink());
    assert!(site.join("posts/stays.gmi").is_file());
    assert!(!site.join("index.gmi").is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.join("outside/precious.txt")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("outside/stays.gmi")).unwrap(),
        "keep too"
    );
}

/// The certificates (and the config) are never a build's folder, even once marked as one.
#[test]
fn build_refuses_the_certificate_folder() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    crate::common::write(dir, "certs/.gemhole-build", "");
    crate::common::write(dir, "certs/localhost/key.pem", "secret");
    for out in ["certs", "certs/localhost"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gemhole"))
            .current_dir(dir)
            .args(["build", "--capsule", "capsule", "--out", out])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "--out {out}: {err}");
        assert!(err.contains("the certificate folder"), "--out {out}: {err}");
    }
    assert!(dir.join("certs/localhost/key.pem").is_file());
}

/// A symlink in the build's folder to the capsule or the config is not removed by the build:
/// the folder is refused.
#[test]
fn build_refuses_a_folder_that_holds_links_to_the_capsule_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    crate::common::write(dir, "real.toml", "capsule = \"site\"\n");
    crate::common::write(dir, "deploy/.gemhole-build", "");
    std::os::unix::fs::symlink("../capsule", dir.join("deploy/site")).unwrap();
    std::os::unix::fs::symlink("../real.toml", dir.join("deploy/config.toml")).unwrap();
    let (status, out, err) = run_cli(
        dir,
        &["build", "--config", "deploy/config.toml", "--out", "deploy"],
    );
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(err.contains("refusing to build into deploy"), "{err}");
    assert!(dir.join("deploy/site").is_symlink());
    assert!(dir.join("deploy/config.toml").is_symlink());
    // The capsule's link alone, the config elsewhere, is refused too.
    crate::common::write(dir, "other.toml", "capsule = \"deploy/site\"\n");
    let (status, out, err) = run_cli(dir, &["build", "--config", "other.toml", "--out", "deploy"]);
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(err.contains("the capsule folder"), "{err}");
    assert!(dir.join("deploy/site").is_symlink());
}

/// A folder inside an earlier build's folder would be removed by that folder's next build.
#[test]
fn build_refuses_a_folder_inside_another_build() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    let (status, out, err) = build(dir, "site/posts/inner");
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(err.contains("an earlier build's folder"), "{err}");
    assert!(!dir.join("site/posts/inner").exists());
}

/// Unmounts a bind mount when dropped, whatever the test's end.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Bind-mounts `from` at `to` (same file system), or `None` where this user may not mount.
fn bind(from: &Path, to: &Path) -> Option<Mounted> {
    let ok = std::process::Command::new("mount")
        .arg("--bind")
        .arg(from)
        .arg(to)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mounted(to.to_owned()))
}

/// A file system mounted inside the build's folder, even a bind mount of the same one, is
/// never swept, and never written into.
#[test]
fn build_leaves_mounts_inside_its_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    three_posts(dir);
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    crate::common::write(dir, "media/photo.jpg", "precious");
    std::fs::create_dir(dir.join("site/media")).unwrap();
    let Some(mount) = bind(&dir.join("media"), &dir.join("site/media")) else {
        eprintln!("skipped: this user cannot mount (the test needs root)");
        return;
    };
    let (status, out, err) = build(dir, "site");
    assert!(status.success(), "{out}{err}");
    assert!(err.contains("another file system mounted"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("media/photo.jpg")).unwrap(),
        "precious"
    );
    drop(mount);
    // A mount where the build writes pages stops it, and nothing in it is touched.
    crate::common::write(dir, "elsewhere/stays.gmi", "not a page");
    let Some(_mount) = bind(&dir.join("elsewhere"), &dir.join("site/posts")) else {
        return;
    };
    let (status, out, err) = build(dir, "site");
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("another file system is mounted on the way"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("elsewhere/stays.gmi")).unwrap(),
        "not a page"
    );
}

#[test]
fn new_writes_a_dated_draft_with_the_next_part_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("capsule/posts");
    for (file, part, draft) in [
        ("one.md", 1, false),
        ("two.md", 2, false),
        ("three.md", 3, true),
    ] {
        crate::common::write(
            &posts,
            file,
            format!(
                "---\ntitle: Part {part}\ndate: 2025-01-0{part}\nseries: Crystal Radio\npart: {part}\ndraft: {draft}\n---\nText.\n"
            ),
        );
    }
    let new = |args: &[&str]| crate::common::run_cli(dir.path(), args);
    // The series by another spelling, written as the capsule spells it; the draft's part
    // counts.
    let (status, out, err) = new(&[
        "new",
        "Tuning: \"at\" Night",
        "--series",
        "crystal radio",
        "--tags",
        "radio, night",
        "--date",
        "2026-11-28",
    ]);
    assert!(status.success(), "{out}{err}");
    let file = posts.join("2026-11-28-tuning-at-night.md");
    assert!(out.contains(&file.display().to_string()), "{out}");
    assert!(
        out.contains("series: Crystal Radio (part 4), into posts/\n"),
        "{out}"
    );
    assert!(
        out.contains("gemini://localhost/posts/2026-11-28-tuning-at-night.gmi"),
        "{out}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        "---\ntitle: \"Tuning: \\\"at\\\" Night\"\ndate: 2026-11-28\nseries: \"Crystal Radio\"\n\
         part: 4\ntags: [\"radio\", \"night\"]\ndraft: true\n---\n\n"
    );
    // It reads as a draft, with no problem.
    let (status, out, err) = new(&["check"]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("2026-11-28-tuning-at-night.md:7: withheld: draft"),
        "{out}"
    );
    // Never over an existing file.
    std::fs::write(&file, "mine").unwrap();
    let (status, out, err) = new(&["new", "Tuning: \"at\" Night", "--date", "2026-11-28"]);
    assert!(!status.success(), "{out}{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    // Without a series: no series or part; a date of today in the host's time zone.
    let (status, out, err) = new(&["new", "Plain"]);
    assert!(status.success(), "{out}{err}");
    let plain = std::fs::read_dir(&posts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-plain.md"))
        .unwrap();
    let text = std::fs::read_to_string(plain).unwrap();
    assert!(!text.contains("series") && !text.contains("part"), "{text}");
    // A series' former name counts as the series.
    std::fs::write(
        dir.path().join("config.toml"),
        "[series.\"Crystal Radio\"]\naliases = [\"Old Radio Notes\"]\n",
    )
    .unwrap();
    crate::common::write(
        &posts,
        "old.md",
        "---\ntitle: Old\ndate: 2025-02-01\nseries: Old Radio Notes\npart: 7\n---\nText.\n",
    );
    let (status, out, err) = new(&[
        "new",
        "Eighth",
        "--series",
        "Crystal Radio",
        "--date",
        "2026-11-29",
    ]);
    assert!(status.success(), "{out}{err}");
    let eighth = std::fs::read_to_string(posts.join("2026-11-29-eighth.md")).unwrap();
    assert!(eighth.contains("\npart: 8\n"), "{eighth}");
    // A part that is taken, under the series' own name or a former one.
    let (status, _, err) = new(&["new", "Again", "--series", "Crystal Radio", "--part", "7"]);
    assert!(!status.success());
    assert!(
        err.contains("part 7 of “Crystal Radio” is posts/old.md's"),
        "{err}"
    );
    // Into a folder of the author's choosing, made, inside posts/ only.
    let (status, out, err) = new(&[
        "new",
        "Ninth",
        "--series",
        "CRYSTAL RADIO",
        "--dir",
        "posts/radio",
        "--date",
        "2026-11-29",
    ]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("series: Crystal Radio (part 9), into posts/radio/"),
        "{out}"
    );
    assert!(posts.join("radio/2026-11-29-ninth.md").is_file());
    let (status, _, err) = new(&["new", "Out", "--dir", "../elsewhere"]);
    assert!(!status.success());
    assert!(err.contains("--dir ../elsewhere"), "{err}");
    // A symlink planted in posts/ never takes the new post outside the capsule.
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), posts.join("link")).unwrap();
    let (status, _, err) = new(&["new", "Linked", "--dir", "posts/link/deeper"]);
    assert!(!status.success());
    let (status2, _, err2) = new(&["new", "Linked", "--dir", "posts/link"]);
    assert!(!status2.success(), "{err}");
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "{err}{err2}"
    );
    std::fs::remove_file(posts.join("link")).unwrap();
    // Into Jekyll's drafts folder: served as if in posts/, published by moving it.
    let (status, out, err) = new(&[
        "new",
        "Jekyll Draft",
        "--dir",
        "posts/_drafts",
        "--date",
        "2026-11-29",
    ]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("/posts/2026-11-29-jekyll-draft.gmi (a draft: in Jekyll's"),
        "{out}"
    );
    // A title longer than a file name may be.
    let long = "x".repeat(300);
    let (status, out, err) = new(&["new", &long, "--date", "2026-11-30"]);
    assert!(status.success(), "{out}{err}");
    // A hand-written page that would be served in its place.
    crate::common::write(&posts, "2026-12-01-twin.gmi", "# Twin\n");
    let (status, _, err) = new(&["new", "Twin", "--date", "2026-12-01"]);
    assert!(!status.success());
    assert!(err.contains("would be served in place"), "{err}");
    assert!(!posts.join("2026-12-01-twin.md").exists());
    // A part without a series, part 0, a bad date, no title: refused by the command line.
    for args in [
        &["new", "X", "--part", "2"][..],
        &["new", "X", "--series", "S", "--part", "0"][..],
        &["new", "X", "--date", "28/11/2026"][..],
        &["new", " "][..],
    ] {
        let (status, _, err) = new(args);
        assert!(!status.success(), "{args:?}: {err}");
    }
}

#[test]
fn a_mistyped_key_is_told_with_the_nearest_and_an_unquoted_word_with_quotes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("capsule")).unwrap();
    for (text, said) in [
        (
            "hostname = [\"a.example\"]\n",
            "c.toml:1:1: unknown key `hostname`: did you mean `hostnames`?",
        ),
        (
            "lang = fr\n",
            "c.toml:1:8: `lang`: a text is written in quotes: `lang = \"fr\"`",
        ),
    ] {
        std::fs::write(dir.path().join("c.toml"), text).unwrap();
        let (status, _, stderr) =
            crate::common::run_cli(dir.path(), &["check", "--config", "c.toml"]);
        assert!(!status.success());
        assert!(stderr.contains(said), "{text}: {stderr}");
    }
}
