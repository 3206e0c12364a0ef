//! Client-certificate areas: 60, 61 and 62 per request over real TLS with certificates made
//! here, identities that survive resumption, impostors that fail the handshake, and pages of
//! an area kept out of every generated page, feed, menu and static copy.

use time::{Duration, OffsetDateTime};

use crate::common::identity::{ClientCert, anonymous, send};
use crate::common::{Setup, TestServer, run_cli, write};

struct Members {
    server: TestServer,
    alice: ClientCert,
    bob: ClientCert,
    carol: ClientCert,
}

/// `/members/` lets in Alice (by certificate) and an expired certificate of hers; `/club/`
/// any certificate; `/keys/` Carol by public key; `/posts/private/` Alice.
fn members() -> Members {
    let (alice, bob, carol) = (ClientCert::new(), ClientCert::new(), ClientCert::new());
    let config = format!(
        "[gopher]\nlisten = [\"127.0.0.1:0\"]\n\n\
         [[area]]\npath = \"/members/\"\nfingerprints = [\"{}\"]\n\n\
         [[area]]\npath = \"/club/\"\n\n\
         [[area]]\npath = \"/keys/\"\nfingerprints = [\"{}\"]\n\n\
         [[area]]\npath = \"/posts/private/\"\nfingerprints = [\"SHA256:{}\"]\n\n\
         [[area]]\npath = \"/note.gmi/\"\n\n\
         [[area]]\npath = \"/posts/renamed-from.gmi/\"\n\n\
         [[area]]\npath = \"/linked/\"\n\n\
         [[area]]\npath = \"/Nothing-Here/\"\n",
        alice.fingerprint(),
        carol.spki(),
        alice.openssl_fingerprint(),
    );
    let setup = Setup::new().config(&config);
    let capsule = setup.path().join("capsule");
    write(&capsule, "members/index.gmi", "# Members\n\nThe minutes.\n");
    write(&capsule, "club/index.gmi", "# Club\n");
    write(&capsule, "keys/index.gmi", "# Keys\n");
    write(&capsule, "members/data.bin", "minutes in bytes");
    write(&capsule, "note.gmi", "# A private note\n");
    // Links into the areas from outside them, and one within an area.
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, capsule.join(name)).unwrap();
    };
    std::fs::create_dir_all(capsule.join("posts/private")).unwrap();
    link("../members", "posts/inlink");
    link("../members/index.gmi", "posts/leak.gmi");
    link("members/data.bin", "leak.bin");
    link("private", "posts/mirror");
    link("index.gmi", "members/alias.gmi");
    // An area whose own folder is a link: check says what it leads to is public.
    write(&capsule, "real/page.gmi", "# Real\n");
    link("real", "linked");
    // A post renamed by `slug` out of a file-sized area; a public page links to it.
    write(
        &capsule.join("posts"),
        "renamed-from.md",
        "---\ntitle: Moved Secret\ndate: 2025-01-01\nslug: moved-secret\n---\nText of Moved Secret.\n",
    );
    write(
        &capsule,
        "links.gmi",
        "# Links\n=> /posts/renamed-from.gmi The secret\n=> /posts/private/summer.gmi Summer\n",
    );
    let post = |file: &str, title: &str, date: &str| {
        write(
            &capsule.join("posts"),
            file,
            format!(
                "---\ntitle: {title}\ndate: {date}\nseries: Garden\ntags: [garden]\n---\nText of {title}.\n"
            ),
        );
    };
    post("spring.md", "Spring Beds", "2025-03-01");
    post("private/summer.md", "Summer Secrets", "2025-06-01");
    post("autumn.md", "Autumn Leaves", "2025-09-01");
    Members {
        server: setup.start(),
        alice,
        bob,
        carol,
    }
}

/// Asserts that each selector gets a Gopher error item (type 3).
fn gopher_errors(gopher: std::net::SocketAddr, selectors: &[&str]) {
    for selector in selectors {
        let answer = crate::common::gopher_at(gopher, format!("{selector}\r\n").as_bytes());
        assert!(
            answer.starts_with(b"3"),
            "{selector}: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
}

fn status(m: &Members, client: std::sync::Arc<rustls::ClientConfig>, path: &str) -> String {
    let url = format!("{}\r\n", m.server.url(path));
    let answer = send(m.server.addr(), client, url.as_bytes()).unwrap();
    answer.header().to_owned()
}

#[test]
fn every_status_of_an_area() {
    let m = members();
    // Anonymous readers still connect and read the public pages.
    assert!(status(&m, anonymous(), "/").starts_with("20 "));
    assert!(status(&m, m.bob.client(), "/").starts_with("20 "));
    let no_cert = status(&m, anonymous(), "/members/");
    assert!(no_cert.starts_with("60 "), "{no_cert}");
    assert!(no_cert.contains("client certificate"), "{no_cert}");
    // The folder without its slash, and every file below, are in the area too.
    assert!(status(&m, anonymous(), "/members").starts_with("60 "));
    assert!(status(&m, anonymous(), "/members/index.gmi").starts_with("60 "));
    assert!(status(&m, anonymous(), "/members/nothing-here").starts_with("60 "));
    assert!(status(&m, anonymous(), "/%6Dembers/").starts_with("60 "));
    let allowed = send(
        m.server.addr(),
        m.alice.client(),
        format!("{}\r\n", m.server.url("/members/")).as_bytes(),
    )
    .unwrap();
    allowed.expect("20");
    assert!(allowed.body_text().contains("The minutes."));
    let other = status(&m, m.bob.client(), "/members/");
    assert!(other.starts_with("61 "), "{other}");
    // An area that lets in any certificate.
    assert!(status(&m, anonymous(), "/club/").starts_with("60 "));
    assert!(status(&m, m.bob.client(), "/club/").starts_with("20 "));
    // `spki:`: the key counts, so a reissued certificate still gets in.
    assert!(status(&m, m.carol.client(), "/keys/").starts_with("20 "));
    assert!(status(&m, m.carol.reissued().client(), "/keys/").starts_with("20 "));
    assert!(status(&m, m.alice.client(), "/keys/").starts_with("61 "));
    // Certificates outside their dates: 62, listed or not, in any area.
    let now = OffsetDateTime::now_utc();
    let expired = ClientCert::dated(now - Duration::days(400), now - Duration::days(35));
    let early = ClientCert::dated(now + Duration::days(30), now + Duration::days(400));
    for cert in [&expired, &early] {
        let answer = status(&m, cert.client(), "/club/");
        assert!(answer.starts_with("62 "), "{answer}");
        // Public pages do not care.
        assert!(status(&m, cert.client(), "/").starts_with("20 "));
    }
    assert!(status(&m, expired.client(), "/club/").contains("expired"));
    // TLS 1.2 carries the identity too.
    assert!(status(&m, m.alice.client_tls12(), "/members/").starts_with("20 "));
    // The access log names the certificate by the start of its fingerprint.
    let short = &m.alice.fingerprint()[..16];
    m.server.wait_log("the certificate in the access log", |l| {
        l.contains(&format!("cert={short}")) && l.contains("status=20")
    });
    assert!(
        !m.server
            .logs()
            .iter()
            .any(|l| l.contains(&m.alice.fingerprint()))
    );
}

#[test]
fn no_other_name_leads_into_an_area() {
    let m = members();
    let s = &m.server;
    // Symlinks from outside an area into it: not followed, whoever asks.
    for path in [
        "/posts/inlink/index.gmi",
        "/posts/inlink/data.bin",
        "/posts/inlink/",
        "/posts/leak.gmi",
        "/leak.bin",
        "/posts/mirror/summer.gmi",
    ] {
        for client in [anonymous(), m.alice.client()] {
            let answer = status(&m, client, path);
            assert!(!answer.starts_with("20"), "{path}: {answer}");
        }
    }
    // Renamed by its slug out of a file-sized area: the area still holds it.
    assert!(status(&m, anonymous(), "/posts/renamed-from.gmi").starts_with("60 "));
    assert!(!status(&m, anonymous(), "/posts/moved-secret.gmi").starts_with("20"));
    let links = s.get(&s.url("/links.gmi")).body_text();
    assert!(!links.contains("moved-secret"), "{links}");
    // A link within an area is the area's own.
    assert!(status(&m, anonymous(), "/members/alias.gmi").starts_with("60 "));
    assert!(status(&m, m.alice.client(), "/members/alias.gmi").starts_with("20 "));
    // An area that is one page: its Gopher `.txt` name is the page too.
    assert!(status(&m, anonymous(), "/note.gmi").starts_with("60 "));
    let gopher = s.gopher_addr();
    gopher_errors(
        gopher,
        &[
            "/note.txt",
            "/note.gmi",
            "/posts/mirror/summer.txt",
            "/posts/inlink/index.txt",
            "/posts/leak.txt",
            "/leak.bin",
            "/posts/moved-secret.txt",
        ],
    );
    for path in ["/atom.xml", "/archive/", "/"] {
        let body = s.get(&s.url(path)).body_text();
        assert!(
            !body.contains("Members") && !body.contains("leak"),
            "{path}: {body}"
        );
    }
    // `check` names the links it does not follow, and the area that guards nothing.
    let (_, out, err) = run_cli(s.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(
        said.contains("posts/leak.gmi:1: warning: a symlink to members/index.gmi"),
        "{said}"
    );
    assert!(said.contains("/Nothing-Here/ names nothing"), "{said}");
    assert!(
        said.contains("/linked/ passes through the symlink linked"),
        "{said}"
    );
    let (status, out, err) = run_cli(s.dir.path(), &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let site = s.dir.path().join("site");
    for gone in [
        "posts/leak.gmi",
        "leak.bin",
        "posts/inlink",
        "posts/mirror",
        "note.gmi",
    ] {
        assert!(!site.join(gone).exists(), "{gone} was copied");
    }
}

#[test]
fn an_impostor_without_the_key_never_gets_an_answer() {
    let m = members();
    let impostor = m.alice.client_signing_with(&m.bob);
    let request = format!("{}\r\n", m.server.url("/members/"));
    match send(m.server.addr(), impostor, request.as_bytes()) {
        Err(_) => {}
        Ok(answer) => assert!(answer.raw.is_empty(), "{:?}", answer.text()),
    }
    // The server goes on serving.
    assert!(status(&m, m.alice.client(), "/members/").starts_with("20 "));
}

#[test]
fn a_resumed_session_keeps_its_identity_and_its_dates_are_checked_again() {
    let m = members();
    let alice = m.alice.client();
    let url = format!("{}\r\n", m.server.url("/members/"));
    let first = send(m.server.addr(), alice.clone(), url.as_bytes()).unwrap();
    first.expect("20");
    let again = send(m.server.addr(), alice, url.as_bytes()).unwrap();
    assert!(
        again.resumed,
        "the second connection should resume the session"
    );
    again.expect("20");
    // A resumed session skips the verifier: the dates are checked per request.
    let now = OffsetDateTime::now_utc();
    let expired = ClientCert::dated(now - Duration::days(400), now - Duration::days(35)).client();
    let club = format!("{}\r\n", m.server.url("/club/"));
    send(m.server.addr(), expired.clone(), club.as_bytes())
        .unwrap()
        .expect("62");
    let resumed = send(m.server.addr(), expired, club.as_bytes()).unwrap();
    assert!(resumed.resumed);
    resumed.expect("62");
    // No certificate, resumed: still none.
    let reader = anonymous();
    send(m.server.addr(), reader.clone(), club.as_bytes())
        .unwrap()
        .expect("60");
    let resumed = send(m.server.addr(), reader, club.as_bytes()).unwrap();
    assert!(resumed.resumed);
    resumed.expect("60");
}

#[test]
fn pages_of_an_area_are_in_no_list_menu_feed_or_copy() {
    let m = members();
    let s = &m.server;
    let secret = "Summer Secrets";
    // It is served, to Alice.
    let page = send(
        s.addr(),
        m.alice.client(),
        format!("{}\r\n", s.url("/posts/private/summer.gmi")).as_bytes(),
    )
    .unwrap();
    page.expect("20");
    assert!(page.body_text().contains("Text of Summer Secrets."));
    // Public lists show its neighbours, never it.
    for path in [
        "/",
        "/archive/",
        "/tags/",
        "/tags/garden/",
        "/series/",
        "/series/garden/",
        "/series/garden/atom.xml",
        "/atom.xml",
        "/posts/spring.gmi",
        "/posts/autumn.gmi",
    ] {
        let answer = s.get(&s.url(path));
        answer.expect("20");
        let body = answer.body_text();
        assert!(!body.contains(secret), "{path} lists it:\n{body}");
        assert!(!body.contains("private/summer"), "{path} links it:\n{body}");
        assert!(
            [
                "/",
                "/archive/",
                "/tags/garden/",
                "/series/garden/",
                "/atom.xml"
            ]
            .iter()
            .all(|p| *p != path || body.contains("Autumn Leaves")),
            "{path} lost a public post:\n{body}"
        );
    }
    // The neighbours link to each other, over it.
    let spring = s.get(&s.url("/posts/spring.gmi")).body_text();
    assert!(spring.contains("/posts/autumn.gmi"), "{spring}");
    // Gopher: no menu names it, and asking for it gets an error item.
    let gopher = s.gopher_addr();
    for selector in ["", "/archive/", "/tags/garden/", "/series/garden/"] {
        let menu = String::from_utf8_lossy(&crate::common::gopher_at(
            gopher,
            format!("{selector}\r\n").as_bytes(),
        ))
        .into_owned();
        assert!(
            menu.contains("Autumn Leaves") || selector == "/tags/",
            "{selector}: {menu}"
        );
        assert!(!menu.contains(secret), "{selector}: {menu}");
    }
    gopher_errors(
        gopher,
        &[
            "/posts/private/summer.txt",
            "/members/",
            "/members/index.gmi",
        ],
    );
    // `check` says what the area does to the post's series and tags.
    let (_, out, err) = run_cli(s.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(said.contains("posts/private/summer.md"), "{said}");
    assert!(said.contains("client-certificate area"), "{said}");
    // A static copy leaves the areas out.
    let (status, out, err) = run_cli(s.dir.path(), &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let site = s.dir.path().join("site");
    assert!(site.join("posts/spring.gmi").exists());
    assert!(!site.join("posts/private").exists());
    assert!(!site.join("members").exists());
    let archive = std::fs::read_to_string(site.join("archive/index.gmi")).unwrap();
    assert!(!archive.contains(secret), "{archive}");
    assert!(out.contains("left out /members/"), "{out}");
}

#[test]
fn area_and_titan_settings_are_checked_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "hostnames = [\"localhost\"]\n\n[[area]]\npath = \"/members\"\n",
            "config.toml:4",
            "must start and end with `/`",
        ),
        (
            "[[area]]\npath = \"/a/\"\nfingerprints = [\"abc\"]\n",
            "config.toml:3",
            "64 hex digits",
        ),
        ("[[area]]\nfingerprints = []\n", "config.toml:1", "path"),
        (
            "[titan]\nenabled = true\n",
            "config.toml",
            "lists no `fingerprints`",
        ),
        (
            "[titan]\nenabled = true\nfingerprints = [\"spki:zz\"]\n",
            "config.toml:3",
            "64 hex digits",
        ),
        ("[titan]\ntoken = \"\"\n", "config.toml:2", "non-empty"),
        (
            "[[area]]\npath = \"/m/\"\n[[area]]\npath = \"/m/\"\n",
            "config.toml",
            "two [[area]] tables",
        ),
        (
            "[[area]]\npath = \"/members/\"\n[[area]]\npath = \"/%6Dembers//\"\n",
            "config.toml",
            "two [[area]] tables",
        ),
    ];
    for (config, place, message) in cases {
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("capsule")).unwrap();
        let (status, out, err) = run_cli(dir.path(), &["check"]);
        assert!(!status.success(), "{config}");
        let said = format!("{out}{err}");
        assert!(said.contains(place), "{config}: {said}");
        assert!(said.contains(message), "{config}: {said}");
    }
}

#[test]
fn hosts_that_share_files_keep_each_others_areas() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    write(&dir.path().join("a/b/members"), "s.gmi", "# Secret\n");
    let config = |outer_area: &str| {
        format!(
            "listen = [\"127.0.0.1:0\"]\n\
             [[host]]\nhostnames = [\"a.test\"]\ncapsule = \"a\"\n{outer_area}\n\
             [[host]]\nhostnames = [\"b.test\"]\ncapsule = \"a/b\"\n\
             [[host.area]]\npath = \"/members/\"\n"
        )
    };
    // The outer host would serve b.test's area at /b/members/ to anyone: refused.
    let (status, err) = Setup::in_dir(dir.clone()).config(&config("")).fail();
    assert!(!status.success());
    assert!(
        err.contains("b.test's client-certificate area /members/"),
        "{err}"
    );
    assert!(err.contains("path = \"/b/members/\""), "{err}");
    // Guarded by the outer host for any certificate, where b.test lists one: refused too.
    let listed = ClientCert::new().fingerprint();
    let strict = config("[[host.area]]\npath = \"/b/members/\"").replace(
        "[[host.area]]\npath = \"/members/\"\n",
        &format!("[[host.area]]\npath = \"/members/\"\nfingerprints = [\"{listed}\"]\n"),
    );
    let (status, err) = Setup::in_dir(dir.clone()).config(&strict).fail();
    assert!(!status.success());
    assert!(err.contains("to any certificate"), "{err}");
    assert!(err.contains("the same fingerprints"), "{err}");
    // Guarded on both hosts: served, the secret behind a certificate under either name.
    let server = Setup::in_dir(dir.clone())
        .config(&config("[[host.area]]\npath = \"/b/members/\""))
        .start();
    for (sni, path) in [("a.test", "/b/members/s.gmi"), ("b.test", "/members/s.gmi")] {
        let url = format!("gemini://{sni}:{}{path}\r\n", server.port());
        let mut conn = crate::common::connect_with(server.addr(), Some(sni), anonymous()).unwrap();
        std::io::Write::write_all(&mut conn, url.as_bytes()).unwrap();
        crate::common::finish(conn).unwrap().expect("60");
    }
}

#[test]
fn an_area_over_every_post_is_named_by_check() {
    let setup = Setup::new();
    std::fs::write(
        setup.path().join("config.toml"),
        "[[area]]\npath = \"/posts/\"\n",
    )
    .unwrap();
    write(
        &setup.path().join("capsule/posts"),
        "one.md",
        "---\ntitle: One\ndate: 2025-01-01\n---\nText.\n",
    );
    let (_, out, err) = run_cli(setup.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(said.contains("/posts/ holds every post"), "{said}");
}

#[test]
fn a_folder_swapped_in_must_keep_the_other_hosts_areas() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    write(
        &dir.path().join("release-a/members"),
        "s.gmi",
        "# Secret of A\n",
    );
    write(&dir.path().join("release-b"), "index.gmi", "# B\n");
    std::os::unix::fs::symlink("release-a", dir.path().join("a")).unwrap();
    std::os::unix::fs::symlink("release-b", dir.path().join("b")).unwrap();
    let server = Setup::in_dir(dir.clone())
        .config(
            "listen = [\"127.0.0.1:0\"]\n\
             [[host]]\nhostnames = [\"a.test\"]\ncapsule = \"a\"\n\
             [[host.area]]\npath = \"/members/\"\n\
             [[host]]\nhostnames = [\"b.test\"]\ncapsule = \"b\"\n",
        )
        .start();
    let get = |sni: &str, path: &str| {
        let url = format!("gemini://{sni}:{}{path}\r\n", server.port());
        let mut conn = crate::common::connect_with(server.addr(), Some(sni), anonymous()).unwrap();
        std::io::Write::write_all(&mut conn, url.as_bytes()).unwrap();
        crate::common::finish(conn).unwrap()
    };
    get("b.test", "/").expect("20");
    // A deploy points b at a's release: b.test would serve a.test's area to anyone.
    let swap = dir.path().join("b.new");
    std::os::unix::fs::symlink("release-a", &swap).unwrap();
    std::fs::rename(&swap, dir.path().join("b")).unwrap();
    server.wait_log("the refused swap", |l| {
        l.contains("host=b.test") && l.contains("still serving what was last read")
    });
    get("b.test", "/").expect("20");
    assert!(get("b.test", "/").body_text().contains("# B"));
    let secret = get("b.test", "/members/s.gmi");
    assert!(
        !secret.body_text().contains("Secret of A"),
        "{:?}",
        secret.text()
    );
    get("a.test", "/members/s.gmi").expect("60");
}
