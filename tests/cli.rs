//! The command line, and configuration errors as an operator sees them.

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
    assert!(
        first.contains("a.example") && first.contains("b.example"),
        "{first}"
    );
    assert_eq!(first.matches("generated now").count(), 2, "{first}");
    assert!(dir.path().join("c/a.example/key.pem").exists());
    let (_, second, _) = run_cli(dir.path(), &args);
    assert_eq!(second.matches("existing").count(), 2, "{second}");
    let fingerprints = |out: &str| {
        out.lines()
            .filter(|l| l.contains("SHA-256"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(fingerprints(&first), fingerprints(&second));
    assert_eq!(fingerprints(&first).len(), 4);
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
    assert!(stderr.contains("write_timeout = -1"), "{stderr}");
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
    assert!(out.is_empty());
    assert!(
        err.contains("bad.md:3:") || err.contains("bad.md:4:"),
        "{err}"
    );
    assert!(err.contains("invalid YAML front matter"), "{err}");

    crate::common::write(dir.path(), "open.md", "+++\ntitle = \"x\"\nBody\n");
    let (status, _, err) = run_cli(dir.path(), &["convert", "open.md"]);
    assert!(!status.success());
    assert!(
        err.contains("open.md:1: front matter opened with `+++` is never closed"),
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
        err.contains("1 error(s): the pages they name cannot be published"),
        "{err}"
    );
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
        "posts/hand.gmi",
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
        "posts/hand.gmi:4: warning: link to /missing/: no such page in the capsule",
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
