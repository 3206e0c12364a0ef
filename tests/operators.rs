//! What an operator coming from gmid, Agate or Molly Brown expects: folder listings that
//! never show what is not served, path rules (redirects, gone, types, languages) over Gemini
//! and Gopher, and programs run for requests with the Gemini CGI environment and limits.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::identity::{ClientCert, send};
use crate::common::{DEADLINE, Setup, TestServer, run_cli, write};

/// A program in the capsule, executable.
fn program(capsule: &Path, rel: &str, script: &str) {
    write(capsule, rel, script);
    let path = capsule.join(rel);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A server with every kind of rule, a listed folder holding what must never be listed, and
/// Gopher on.
fn ruled(extra: &str) -> TestServer {
    let alice = ClientCert::new();
    let config = format!(
        "[gopher]\nlisten = [\"127.0.0.1:0\"]\n\n\
         [[area]]\npath = \"/pub/members/\"\nfingerprints = [\"{}\"]\n\n\
         [[path]]\nmatch = \"/pub/\"\nlist = true\n\n\
         [[path]]\nmatch = \"/old/\"\nredirect = \"/pub/\"\npermanent = true\n\n\
         [[path]]\nmatch = \"/moved.gmi\"\nredirect = \"gemini://elsewhere.example/x\"\n\n\
         [[path]]\nmatch = \"/gone/\"\ngone = true\n\n\
         [[path]]\nmatch = \"/pub/latin/\"\nmime = \"text/plain\"\ncharset = \"iso-8859-1\"\n\n\
         [[path]]\nmatch = \"/fr/\"\nlang = \"fr\"\n\n\
         [[path]]\nmatch = \"/cgi/\"\ncgi = true\n{extra}",
        alice.fingerprint()
    );
    let setup = Setup::new().config(&config);
    let capsule = setup.path().join("capsule");
    write(&capsule, "pub/note.gmi", "# A note of mine\n\nText.\n");
    write(&capsule, "pub/sub/file.bin", "0123456789");
    write(&capsule, "pub/.hidden", "dot file\n");
    write(&capsule, "pub/notes.txt~", "editor backup\n");
    write(&capsule, "pub/members/minutes.gmi", "# Minutes\n");
    write(
        &capsule,
        "pub/draft.md",
        "---\ntitle: Not Yet\ndraft: true\n---\nSecret draft.\n",
    );
    write(
        &capsule,
        "pub/out.md",
        "---\ntitle: Out Now\ndate: 2024-05-01\n---\nPublished.\n",
    );
    write(&capsule, "pub/latin/old.txt", b"caf\xe9\n");
    write(&capsule, "gone/page.gmi", "# Still on disk\n");
    write(&capsule, "fr/index.gmi", "# Bonjour\n");
    // Where programs may write (`cgi.write`): it must be there when the server confines itself.
    std::fs::create_dir_all(capsule.join("cgi/state")).unwrap();
    write(&capsule, "outside.txt", "the capsule's own\n");
    std::os::unix::fs::symlink("../outside.txt", capsule.join("pub/link.txt")).unwrap();
    std::os::unix::fs::symlink("/etc", capsule.join("pub/etc")).unwrap();
    std::os::unix::fs::symlink("members", capsule.join("pub/door")).unwrap();
    setup.start()
}

#[test]
fn a_listed_folder_shows_what_is_served_and_nothing_else_over_both_protocols() {
    let server = ruled("");
    let page = server.get(&server.url("/pub/"));
    page.expect("20");
    let body = page.body_text();
    for shown in [
        "# Index of /pub/",
        "=> /pub/sub/ sub/",
        "=> /pub/note.gmi note.gmi — A note of mine (",
        "=> /pub/out.gmi out.gmi — Out Now",
        "=> /pub/latin/ latin/",
        "=> /pub/link.txt link.txt",
        "=> / ",
    ] {
        assert!(body.contains(shown), "{shown:?} missing:\n{body}");
    }
    for hidden in [
        ".hidden",
        "notes.txt~",
        "members",
        "draft",
        "Not Yet",
        "etc",
        "door",
        ".md",
    ] {
        assert!(!body.contains(hidden), "{hidden:?} listed:\n{body}");
    }
    // What is listed is served; a folder beneath is listed too; the area stays closed.
    server.get(&server.url("/pub/note.gmi")).expect("20");
    let sub = server.get(&server.url("/pub/sub/")).body_text();
    assert!(sub.contains("file.bin (10 B)"), "{sub}");
    server.get(&server.url("/pub/members/")).expect("60");
    server.get(&server.url("/pub/etc/passwd")).expect("51");
    // A folder without a rule is not listed.
    server.get(&server.url("/empty/")).expect("51");

    let menu = String::from_utf8_lossy(&server.gopher(b"/pub/\r\n")).into_owned();
    assert!(menu.contains("note.gmi — A note of mine"), "{menu}");
    assert!(menu.contains("\t/pub/sub/\t"), "{menu}");
    for hidden in ["members", "Not Yet", ".hidden", "etc"] {
        assert!(!menu.contains(hidden), "{hidden:?} in the menu:\n{menu}");
    }
}

#[test]
fn redirects_gone_and_overrides_answer_over_both_protocols() {
    let server = ruled("");
    assert_eq!(
        server.get(&server.url("/old/a%20b/c.gmi")).header(),
        "31 /pub/a%20b/c.gmi"
    );
    assert_eq!(
        server.get(&server.url("/moved.gmi")).header(),
        "30 gemini://elsewhere.example/x"
    );
    let gone = server.get(&server.url("/gone/page.gmi"));
    assert!(gone.header().starts_with("52 "), "{}", gone.header());
    let latin = server.get(&server.url("/pub/latin/old.txt"));
    assert_eq!(latin.header(), "20 text/plain; charset=iso-8859-1");
    assert_eq!(latin.body(), b"caf\xe9\n");
    assert_eq!(
        server.get(&server.url("/fr/")).header(),
        "20 text/gemini; charset=utf-8; lang=fr"
    );

    let moved = String::from_utf8_lossy(&server.gopher(b"/old/x.gmi\r\n")).into_owned();
    assert!(moved.contains("\t/pub/x.txt\t"), "{moved}");
    let gone = String::from_utf8_lossy(&server.gopher(b"/gone/page.gmi\r\n")).into_owned();
    assert!(gone.starts_with('3'), "{gone}");
    assert!(!gone.contains("Still on disk"), "{gone}");
    let cgi = String::from_utf8_lossy(&server.gopher(b"/cgi/env\r\n")).into_owned();
    assert!(cgi.starts_with('3'), "programs are Gemini's only: {cgi}");
}

#[test]
fn a_program_gets_the_gemini_cgi_environment_and_its_answer_is_passed_on() {
    let server = ruled("[log]\nip = true\n");
    let capsule = server.capsule();
    program(
        &capsule,
        "cgi/env",
        "#!/bin/sh\nprintf '20 text/plain\\r\\n'\nenv | sort\necho 'a word on stderr' >&2\n",
    );
    let reader = ClientCert::new();
    let line = format!(
        "gemini://localhost:{}/cgi/env/more/path?a%20b\r\n",
        server.port()
    );
    let answer = send(server.addr(), reader.client(), line.as_bytes()).unwrap();
    assert_eq!(answer.header(), "20 text/plain");
    let env = answer.body_text();
    for expected in [
        "GATEWAY_INTERFACE=CGI/1.1".to_owned(),
        "SERVER_PROTOCOL=GEMINI".to_owned(),
        format!(
            "GEMINI_URL=gemini://localhost:{}/cgi/env/more/path?a%20b",
            server.port()
        ),
        "SCRIPT_NAME=/cgi/env".to_owned(),
        "PATH_INFO=/more/path".to_owned(),
        "QUERY_STRING=a%20b".to_owned(),
        "SERVER_NAME=localhost".to_owned(),
        format!("SERVER_PORT={}", server.port()),
        "REMOTE_ADDR=127.0.0.1".to_owned(),
        "AUTH_TYPE=CERTIFICATE".to_owned(),
        format!(
            "TLS_CLIENT_HASH=SHA256:{}",
            reader.fingerprint().to_uppercase()
        ),
    ] {
        assert!(
            env.lines().any(|l| l == expected),
            "{expected} missing:\n{env}"
        );
    }
    // Nothing of the server's own environment.
    assert!(!env.contains("RUST_LOG"), "{env}");
    server.wait_log("the program's stderr under its name", |l| {
        l.contains("a word on stderr") && l.contains("cgi/env")
    });
    // Without a certificate, and without log.ip, no personal data.
    let quiet = ruled("");
    program(
        &quiet.capsule(),
        "cgi/env",
        "#!/bin/sh\nprintf '20 text/plain\\r\\n'\nenv\n",
    );
    let env = quiet.get(&quiet.url("/cgi/env")).body_text();
    assert!(
        !env.contains("REMOTE_ADDR") && !env.contains("AUTH_TYPE"),
        "{env}"
    );
}

#[test]
fn a_program_that_misbehaves_is_a_42_and_the_server_goes_on() {
    let server = ruled("[cgi]\ntimeout = 1\nmax_output = 65536\nmax_running = 1\n");
    let capsule = server.capsule();
    let marker = format!("{}.5", std::process::id());
    program(&capsule, "cgi/noheader", "#!/bin/sh\necho 'Hello world'\n");
    program(
        &capsule,
        "cgi/badstatus",
        "#!/bin/sh\nprintf '99 what\\r\\n'\n",
    );
    program(
        &capsule,
        "cgi/forever",
        &format!("#!/bin/sh\nprintf '20 text/plain\\r\\n'\nsleep {marker}\n"),
    );
    program(
        &capsule,
        "cgi/gigabyte",
        "#!/bin/sh\nprintf '20 application/octet-stream\\r\\n'\nhead -c 1000000000 /dev/zero\n",
    );
    write(&capsule, "cgi/plain.sh", "#!/bin/sh\necho not executable\n");
    for path in [
        "/cgi/noheader",
        "/cgi/badstatus",
        "/cgi/forever",
        "/cgi/gigabyte",
    ] {
        let answer = server.get(&server.url(path));
        assert!(
            answer.header().starts_with("42"),
            "{path}: {}",
            answer.header()
        );
    }
    // Nothing the never-ending program started is left running.
    let deadline = std::time::Instant::now() + DEADLINE;
    while running_with_arg(&marker) {
        assert!(
            std::time::Instant::now() < deadline,
            "`sleep {marker}` outlived its answer"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A file that is not executable is never run, nor shown.
    assert!(
        server
            .get(&server.url("/cgi/plain.sh"))
            .header()
            .starts_with("51")
    );
    server.get(&server.url("/pub/note.gmi")).expect("20");
    server.wait_log("the refused header named", |l| {
        l.contains("cgi/noheader") && l.contains("header")
    });
}

#[test]
fn programs_over_the_cap_wait_their_turn_with_44() {
    let server = ruled("[cgi]\nmax_running = 1\ntimeout = 20\nwrite = [\"capsule/cgi/state\"]\n");
    let capsule = server.capsule();
    program(
        &capsule,
        "cgi/slow",
        "#!/bin/sh\ntouch state/started\nwhile [ ! -e go ]; do sleep 0.05; done\nprintf '20 text/plain\\r\\ndone\\n'\n",
    );
    let url = server.url("/cgi/slow");
    let first = std::thread::scope(|scope| {
        let first = scope.spawn(|| server.get(&url));
        let deadline = std::time::Instant::now() + DEADLINE;
        while !capsule.join("cgi/state/started").exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the program never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(server.get(&url).header(), "44 2");
        std::fs::write(capsule.join("cgi/go"), "").unwrap();
        first.join().unwrap()
    });
    assert_eq!(first.header(), "20 text/plain");
    assert_eq!(first.body_text(), "done\n");
}

#[test]
fn check_names_rules_that_cover_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "capsule/docs/index.gmi", "# Docs\n");
    std::fs::write(
        dir.path().join("config.toml"),
        "capsule = \"capsule\"\n[[path]]\nmatch = \"/docs/\"\nlang = \"fr\"\n\
         [[path]]\nmatch = \"/dosc/\"\nlist = true\n[[path]]\nmatch = \"/was/\"\ngone = true\n",
    )
    .unwrap();
    let (status, stdout, stderr) = run_cli(dir.path(), &["check"]);
    assert!(status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("[[path]] `match = \"/dosc/\"` covers nothing"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\"/docs/\"") && !stdout.contains("/was/"),
        "{stdout}"
    );
}

/// Whether a process on this machine has `arg` as an argument.
fn running_with_arg(arg: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
    })
}

#[test]
fn a_confined_server_serves_reloads_and_takes_uploads_but_its_programs_read_only_what_is_declared()
{
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "outside the capsule\n").unwrap();
    let author = ClientCert::new();
    let setup = Setup::new().config(&format!(
        "{}\n[[path]]\nmatch = \"/cgi/\"\ncgi = true\n",
        author.titan_table()
    ));
    let capsule = setup.path().join("capsule");
    program(
        &capsule,
        "cgi/peek",
        &format!(
            "#!/bin/sh\nprintf '20 text/plain\\r\\n'\n\
             if cat '{}' >/dev/null 2>&1; then echo outside:read; else echo outside:refused; fi\n\
             if cat /usr/bin/env >/dev/null 2>&1; then echo declared:read; fi\n\
             if cat ../index.gmi >/dev/null 2>&1; then echo capsule:read; fi\n\
             if cat ../../config.toml >/dev/null 2>&1; then echo config:read; fi\n\
             if cat ../../certs/localhost/key.pem >/dev/null 2>&1; then echo key:read; fi\n\
             if echo x > ../../certs/planted 2>/dev/null; then echo certs:written; fi\n\
             if echo x > ../posts/planted.gmi 2>/dev/null; then echo capsule:written; fi\n\
             if kill -HUP $PPID 2>/dev/null; then echo daemon:signalled; fi\n",
            secret.display()
        ),
    );
    let server = setup.start();
    if server.count_logs("cannot confine the process") > 0 {
        // This kernel has no Landlock: the one line said so, and serving goes on as before.
        server.get(&server.url("/about.gmi")).expect("20");
        return;
    }
    server.wait_log("confinement in force", |l| {
        l.contains("confined to its files")
    });
    let peek = server.get(&server.url("/cgi/peek")).body_text();
    assert!(peek.contains("outside:refused"), "{peek}");
    assert!(
        peek.contains("declared:read") && peek.contains("capsule:read"),
        "{peek}"
    );
    // A program has less than the daemon: never its configuration or certificates, nor the
    // capsule its uploads write.
    for never in [
        "config:read",
        "key:read",
        "certs:written",
        "capsule:written",
        "daemon:signalled",
    ] {
        assert!(!peek.contains(never), "{never}: {peek}");
    }
    assert_eq!(server.count_logs("SIGHUP received"), 0);
    // Serving, reloading and uploading go on.
    server.get(&server.url("/about.gmi")).expect("20");
    write(&capsule, "new.gmi", "# Written after the start\n");
    server.wait_text("/new.gmi", "Written after the start");
    let put = crate::common::identity::titan_put(
        &server,
        author.client(),
        "/posts/uploaded.gmi",
        b"# Uploaded while confined\n",
    );
    put.expect("30");
    assert_eq!(
        std::fs::read_to_string(capsule.join("posts/uploaded.gmi")).unwrap(),
        "# Uploaded while confined\n"
    );
    server.wait_text("/posts/uploaded.gmi", "Uploaded while confined");
}

#[test]
fn a_large_folder_lists_its_first_entries_in_order_and_counts_the_rest() {
    let server = ruled("");
    let big = server.capsule().join("pub/big");
    std::fs::create_dir_all(big.join("zz")).unwrap();
    for i in 0..1100 {
        std::fs::write(big.join(format!("f{i:04}")), "").unwrap();
    }
    let body = server
        .wait_text("/pub/big/", "# Index of /pub/big/")
        .body_text();
    assert!(
        body.contains("=> /pub/big/zz/ zz/"),
        "folders first:\n{body}"
    );
    assert!(body.contains("f0000") && body.contains("f0998"), "{body}");
    assert!(!body.contains("f0999"), "past the first 1000:\n{body}");
    assert!(body.contains("… (+101)"), "{body}");
}

#[test]
fn links_never_open_what_a_rule_closes_and_names_never_reach_a_reader_raw() {
    let server = ruled("[cgi]\ntimeout = 5\n");
    let capsule = server.capsule();
    program(
        &capsule,
        "cgi/secret-source",
        "#!/bin/sh\n# the program's source\nprintf '20 text/plain\\r\\nran\\n'\n",
    );
    program(
        &capsule,
        "elsewhere/tool",
        "#!/bin/sh\nprintf '20 text/plain\\r\\noutside ran\\n'\n",
    );
    write(&capsule, "gone/kept.gmi", "# Gone but linked\n");
    let link = |target: &str, name: &str| std::os::unix::fs::symlink(target, capsule.join(name));
    link("../cgi", "pub/cgilink").unwrap();
    link("../gone", "pub/gonelink").unwrap();
    link("../elsewhere/tool", "cgi/tool").unwrap();
    link("../cgi/secret-source", "pub/source-link").unwrap();
    link("../gone/kept.gmi", "pub/kept-link.gmi").unwrap();
    for name in [
        "pub/#draft.gmi#",
        "pub/notes.bak",
        "pub/notes.orig",
        "pub/esc\u{1b}[31mred.txt",
    ] {
        write(&capsule, name, "x\n");
    }
    // A program's source is never served through a link, nor a gone page.
    let source = server.get(&server.url("/pub/cgilink/secret-source"));
    assert!(source.header().starts_with("51"), "{}", source.text());
    let gone = server.get(&server.url("/pub/gonelink/kept.gmi"));
    assert!(gone.header().starts_with("51"), "{}", gone.text());
    // Links to the files themselves, and a listing through a link, are closed too.
    for path in [
        "/pub/source-link",
        "/pub/kept-link.gmi",
        "/pub/cgilink/",
        "/pub/gonelink/",
    ] {
        let answer = server.wait_for(path, "closed", |a| !a.header().starts_with("40"));
        assert!(
            answer.header().starts_with("51"),
            "{path}: {}",
            answer.text()
        );
    }
    for selector in [&b"/pub/source-link\r\n"[..], b"/pub/kept-link.gmi\r\n"] {
        let text = String::from_utf8_lossy(&server.gopher(selector)).into_owned();
        assert!(
            !text.contains("the program's source") && !text.contains("Gone but"),
            "{text}"
        );
    }
    let menu =
        String::from_utf8_lossy(&server.gopher(b"/pub/cgilink/secret-source\r\n")).into_owned();
    assert!(!menu.contains("the program's source"), "{menu}");
    // A link in the program folder runs nothing outside it.
    assert!(
        server
            .get(&server.url("/cgi/tool"))
            .header()
            .starts_with("51")
    );
    server.get(&server.url("/cgi/secret-source")).expect("20");
    // Backups are neither listed nor served; a name's control characters never reach a reader.
    let listing = server.wait_text("/pub/", "esc").body_text();
    for never in [
        "#draft.gmi#",
        "notes.bak",
        "notes.orig",
        "\u{1b}",
        "source-link",
        "kept-link",
        "cgilink",
    ] {
        assert!(!listing.contains(never), "{never:?}:\n{listing}");
    }
    assert!(
        server
            .get(&server.url("/pub/notes.bak"))
            .header()
            .starts_with("51")
    );
}

#[test]
fn a_program_s_stderr_cannot_forge_a_log_line() {
    let server = ruled("");
    program(
        &server.capsule(),
        "cgi/noisy",
        "#!/bin/sh\nprintf 'first\\rINFO forged\\n' >&2\nprintf '20 text/plain\\r\\n'\n",
    );
    server.get(&server.url("/cgi/noisy")).expect("20");
    let line = server.wait_log("the program's stderr", |l| l.contains("forged"));
    assert!(!line.contains('\r'), "{line:?}");
}

#[test]
fn a_confined_server_says_what_it_cannot_reach_after_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "releases/1/index.gmi", "# One\n");
    std::os::unix::fs::symlink("releases/1", site.join("current")).unwrap();
    let setup = Setup::new().config("capsule = \"site/current\"\n");
    // The capsule lies beside the test's own folder: a folder the server was not started with.
    let here = setup.path().join("site");
    write(&here, "releases/1/index.gmi", "# One\n");
    std::os::unix::fs::symlink("releases/1", here.join("current")).unwrap();
    let server = setup.start();
    if server.count_logs("cannot confine the process") > 0 {
        return;
    }
    server.wait_text("/", "# One");
    // A cgi rule added by a reload: a confined process cannot widen what it may reach.
    std::fs::write(
        server.dir.path().join("config.toml"),
        "capsule = \"site/current\"\n[[path]]\nmatch = \"/cgi/\"\ncgi = true\n",
    )
    .unwrap();
    server.signal(1);
    server.wait_log("the restart the reload needs", |l| {
        l.contains("what the confined process may reach") && l.contains("after a restart")
    });
    // The link switched to a folder outside those it was started with: said, not served empty.
    let link = here.join("current");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(site.join("releases/1"), &link).unwrap();
    server.signal(1);
    server.wait_log("the folder it cannot read", |l| {
        l.contains("Permission denied")
    });
    server.get(&server.url("/")).expect("20");
    assert!(server.get(&server.url("/")).body_text().contains("# One"));
}
