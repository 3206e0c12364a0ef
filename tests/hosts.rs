//! Several capsules on one daemon: each host's names, certificate, pages, feeds, live reload
//! and Gopher hole, and the one rule between them (a connection serves the host its client
//! named).

use std::path::Path;

use crate::common::{
    DEADLINE, Exchange, Setup, TestServer, Tls, fetch, gopher_at, run_cli, sha256_hex, write,
};

/// Two capsules, `a/` (a series of two parts) and `b/` (one post), in a fresh folder.
fn two_capsules(dir: &Path) {
    write(dir, "a/index.gmi", "# Alpha\n\nThe first capsule.\n");
    for (n, day) in [(1, "01"), (2, "02")] {
        write(
            dir,
            &format!("a/posts/2024-01-{day}-sail-{n}.md"),
            format!(
                "---\ntitle: Lesson {n}\ndate: 2024-01-{day}\nseries: Sail\npart: {n}\n---\nAlpha text {n}.\n"
            ),
        );
    }
    write(dir, "b/index.gmi", "# Beta\n\nThe second capsule.\n");
    write(
        dir,
        "b/posts/2024-02-01-bee.md",
        "---\ntitle: Bee\ndate: 2024-02-01\n---\nBeta text.\n",
    );
}

/// A config with hosts `a.example` (also `www.a.example`) and `b.example` (the default).
const TWO_HOSTS: &str = r#"
[[host]]
hostnames = ["a.example", "www.a.example"]
capsule = "a"

[[host]]
hostnames = ["b.example", "127.0.0.1"]
capsule = "b"
default = true
"#;

fn two_hosts(config: &str) -> Setup {
    let setup = Setup::in_dir(std::sync::Arc::new(tempfile::tempdir().unwrap()));
    two_capsules(setup.path());
    setup.config(config)
}

/// One request over a new connection that sends `sni` (`None`: none, as by IP).
fn get(server: &TestServer, sni: Option<&str>, url: &str) -> Exchange {
    fetch(
        server.addr(),
        sni,
        format!("{url}\r\n").as_bytes(),
        Tls::Any,
    )
    .unwrap()
}

fn url(server: &TestServer, host: &str, path: &str) -> String {
    format!("gemini://{host}:{}{path}", server.port())
}

fn stored_cert(dir: &Path, host: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(dir.join("certs").join(host).join("cert.pem")).unwrap();
    CertificateDer::from_pem_slice(&pem).unwrap().to_vec()
}

fn dns_names(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(name) => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn each_host_has_its_own_certificate_pages_and_feeds() {
    let server = two_hosts(TWO_HOSTS).start();
    let dir = server.dir.path();
    let a = get(&server, Some("a.example"), &url(&server, "a.example", "/"));
    a.expect("20");
    assert!(a.body_text().contains("The first capsule."), "{}", a.text());
    assert_eq!(a.peer_cert, stored_cert(dir, "a.example"));
    assert_eq!(dns_names(&a.peer_cert), ["a.example", "www.a.example"]);
    let b = get(&server, Some("b.example"), &url(&server, "b.example", "/"));
    b.expect("20");
    assert!(
        b.body_text().contains("The second capsule."),
        "{}",
        b.text()
    );
    assert_eq!(b.peer_cert, stored_cert(dir, "b.example"));
    assert_ne!(a.peer_cert, b.peer_cert);
    assert_eq!(dns_names(&b.peer_cert), ["b.example"]);

    // Archive, series and feeds are each host's own, with its own name in absolute URLs.
    let page = |host: &str, path: &str| {
        let answer = get(&server, Some(host), &url(&server, host, path));
        answer.expect("20");
        answer.body_text()
    };
    let archive = page("a.example", "/archive/");
    assert!(
        archive.contains("Lesson 2") && !archive.contains("Bee"),
        "{archive}"
    );
    let archive = page("b.example", "/archive/");
    assert!(
        archive.contains("Bee") && !archive.contains("Lesson"),
        "{archive}"
    );
    let series = page("a.example", "/series/sail/");
    assert!(series.contains("Part 1: Lesson 1"), "{series}");
    let missing = get(
        &server,
        Some("b.example"),
        &url(&server, "b.example", "/series/sail/"),
    );
    assert_eq!(missing.status(), "51", "{}", missing.text());
    let own = format!("gemini://a.example:{}/posts/", server.port());
    let feed = page("a.example", "/atom.xml");
    assert!(feed.contains(&own) && !feed.contains("b.example"), "{feed}");
    let feed = page("a.example", "/series/sail/atom.xml");
    assert!(feed.contains(&own), "{feed}");
    let feed = page("b.example", "/atom.xml");
    let own = format!("gemini://b.example:{}/posts/", server.port());
    assert!(feed.contains(&own) && !feed.contains("a.example"), "{feed}");

    // A second name of a host serves the same pages, under the same certificate.
    let www = get(
        &server,
        Some("www.a.example"),
        &url(&server, "www.a.example", "/"),
    );
    www.expect("20");
    assert_eq!(www.body(), a.body());
    assert_eq!(www.peer_cert, a.peer_cert);
}

#[test]
fn clients_without_sni_or_with_an_unknown_name_get_the_default_host() {
    let server = two_hosts(TWO_HOSTS).start();
    let dir = server.dir.path();
    // By address: no SNI; the default host's certificate and pages.
    let by_ip = get(&server, None, &url(&server, "127.0.0.1", "/"));
    by_ip.expect("20");
    assert!(by_ip.body_text().contains("The second capsule."));
    assert_eq!(by_ip.peer_cert, stored_cert(dir, "b.example"));
    let unknown = get(
        &server,
        Some("zzz.example"),
        &url(&server, "b.example", "/"),
    );
    unknown.expect("20");
    assert_eq!(unknown.peer_cert, stored_cert(dir, "b.example"));
    assert!(unknown.body_text().contains("The second capsule."));
    // Without a name, another host cannot be reached: its name is refused.
    let other = get(&server, None, &url(&server, "a.example", "/"));
    assert_eq!(other.status(), "53", "{}", other.text());
}

#[test]
fn a_connection_serves_only_the_host_its_client_named() {
    let server = two_hosts(TWO_HOSTS).start();
    for (sni, host) in [
        ("a.example", "b.example"),
        ("b.example", "a.example"),
        ("www.a.example", "b.example"),
        ("a.example", "127.0.0.1"),
        ("a.example", "nobody.example"),
        // Another host's address, written as an IPv4-mapped IPv6 address.
        ("a.example", "[::ffff:127.0.0.1]"),
    ] {
        let answer = get(&server, Some(sni), &url(&server, host, "/"));
        answer.expect("53");
        assert!(!answer.body_text().contains("capsule"), "{}", answer.text());
    }
    // Each host's own names pass, in any case, with or without the port.
    get(&server, Some("a.example"), "gemini://WWW.A.example/").expect("20");
    get(&server, Some("b.example"), &url(&server, "b.example.", "/")).expect("20");
    // The access log names the host serving the connection and the one asked for.
    server.wait_log("the refusal with the host asked for", |l| {
        l.contains("gemhole::access")
            && l.contains("vhost=a.example host=\"nobody.example\"")
            && l.contains("status=53")
    });
}

#[test]
fn a_change_in_one_hosts_folder_rebuilds_that_host_only() {
    let server = two_hosts(TWO_HOSTS).start();
    let dir = server.dir.path();
    write(
        dir,
        "a/posts/2024-03-01-new.md",
        "---\ntitle: Fresh news\ndate: 2024-03-01\n---\nNew.\n",
    );
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let a = get(
            &server,
            Some("a.example"),
            &url(&server, "a.example", "/archive/"),
        );
        if a.body_text().contains("Fresh news") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", a.text());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let b = get(
        &server,
        Some("b.example"),
        &url(&server, "b.example", "/archive/"),
    );
    assert!(!b.body_text().contains("Fresh news"), "{}", b.text());
    let reloads: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("site reloaded"))
        .collect();
    assert!(
        reloads.iter().all(|l| l.contains("host=a.example")),
        "{reloads:?}"
    );
    // A problem in a host's post is logged with the host and the file.
    write(
        dir,
        "b/posts/2024-03-02-broken.md",
        "---\ntitle: [\n---\nx\n",
    );
    server.wait_log("the problem", |l| {
        l.contains("posts/2024-03-02-broken.md:") && l.contains("host=b.example")
    });
}

#[test]
fn two_hosts_may_share_one_folder() {
    let server = two_hosts(
        r#"
[[host]]
hostnames = ["a.example"]
capsule = "a"
title = "Alpha feed"

[[host]]
hostnames = ["mirror.example"]
capsule = "a"
title = "Mirror feed"
"#,
    )
    .start();
    let a = get(
        &server,
        Some("a.example"),
        &url(&server, "a.example", "/atom.xml"),
    );
    let m = get(
        &server,
        Some("mirror.example"),
        &url(&server, "mirror.example", "/atom.xml"),
    );
    assert!(a.body_text().contains("Alpha feed"), "{}", a.text());
    assert!(m.body_text().contains("Mirror feed"), "{}", m.text());
    assert!(m.body_text().contains("gemini://mirror.example:"));
    write(
        server.dir.path(),
        "a/posts/2024-03-01-new.md",
        "---\ntitle: Shared news\ndate: 2024-03-01\n---\nNew.\n",
    );
    for host in ["a.example", "mirror.example"] {
        let deadline = std::time::Instant::now() + DEADLINE;
        while !get(&server, Some(host), &url(&server, host, "/archive/"))
            .body_text()
            .contains("Shared news")
        {
            assert!(std::time::Instant::now() < deadline, "{host}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn a_reload_that_breaks_any_host_is_refused_and_every_host_keeps_serving() {
    let server = two_hosts(TWO_HOSTS).start();
    let dir = server.dir.path();
    let refused = |config: &str, why: &str| {
        let before = server.count_logs("reload refused");
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let line = server.wait_log("the refusal", |_| {
            server.count_logs("reload refused") > before
        });
        let all = server.logs().join("\n");
        assert!(all.contains(why), "{why}: {line}\n{all}");
        for host in ["a.example", "b.example"] {
            get(&server, Some(host), &url(&server, host, "/")).expect("20");
        }
    };
    // A third host that claims a name of the first.
    refused(
        &format!(
            "{TWO_HOSTS}\n[[host]]\nhostnames = [\"c.example\", \"a.example\"]\ncapsule = \"b\"\n"
        ),
        "config.toml:12:",
    );
    // A host whose folder is missing.
    refused(
        &TWO_HOSTS.replace("capsule = \"b\"", "capsule = \"gone\""),
        "gone",
    );
    // A mistyped `certs`: every served name keeps the certificate readers have pinned.
    let pinned = get(&server, Some("a.example"), &url(&server, "a.example", "/")).peer_cert;
    let before = server.count_logs("configuration reloaded");
    std::fs::write(
        dir.join("config.toml"),
        format!("certs = \"certz\"\n{TWO_HOSTS}"),
    )
    .unwrap();
    server.wait_log("the reload", |_| {
        server.count_logs("configuration reloaded") > before
    });
    let now = get(&server, Some("a.example"), &url(&server, "a.example", "/"));
    assert_eq!(now.peer_cert, pinned);
    assert!(!dir.join("certz").exists());
    // The certificate folder moved into a host's capsule: refused before any key is made.
    refused(
        &format!("certs = \"b/keys\"\n{TWO_HOSTS}"),
        "lies inside the capsule",
    );
    assert!(!dir.join("b/keys").exists());
    // The config file moved away: not the built-in defaults, but a refusal.
    std::fs::rename(dir.join("config.toml"), dir.join("config.toml.bak")).unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    server.wait_log("the refusal", |l| {
        l.contains("reload refused") && l.contains("cannot read config file")
    });
    for host in ["a.example", "b.example"] {
        get(&server, Some(host), &url(&server, host, "/")).expect("20");
    }
    std::fs::rename(dir.join("config.toml.bak"), dir.join("config.toml")).unwrap();
    // A good change applies to every host at once.
    std::fs::write(
        dir.join("config.toml"),
        TWO_HOSTS.replace("capsule = \"a\"", "capsule = \"a\"\ntitle = \"Renamed\""),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + DEADLINE;
    while !get(
        &server,
        Some("a.example"),
        &url(&server, "a.example", "/atom.xml"),
    )
    .body_text()
    .contains("Renamed")
    {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    get(&server, Some("b.example"), &url(&server, "b.example", "/")).expect("20");
}

#[test]
fn each_gopher_listener_serves_its_own_host() {
    let server = two_hosts(
        r#"
[[host]]
hostnames = ["a.example"]
capsule = "a"
[host.gopher]
listen = ["127.0.0.1:0"]

[[host]]
hostnames = ["b.example"]
capsule = "b"
[host.gopher]
listen = ["127.0.0.2:0"]
public_host = "gopher.b.example"
"#,
    )
    .start();
    let a = String::from_utf8(gopher_at(server.gopher_addr_of("a.example"), b"/\r\n")).unwrap();
    let b = String::from_utf8(gopher_at(server.gopher_addr_of("b.example"), b"/\r\n")).unwrap();
    assert!(
        a.contains("The first capsule.") && !a.contains("second"),
        "{a}"
    );
    assert!(
        b.contains("The second capsule.") && !b.contains("first"),
        "{b}"
    );
    // Menus name their host's address.
    assert!(a.contains("\ta.example\t"), "{a}");
    assert!(b.contains("\tgopher.b.example\t"), "{b}");
    assert!(!b.contains("\ta.example\t"), "{b}");
    server.wait_log("b's Gopher access line", |l| {
        l.contains("gemhole::access") && l.contains("vhost=b.example host=\"gopher\"")
    });
}

#[test]
fn config_mistakes_between_hosts_stop_the_start_with_their_line() {
    for (config, line, what) in [
        (
            "[[host]]\nhostnames = [\"a.example\"]\n[[host]]\nhostnames = [\"b.example\", \"a.example\"]\n",
            "config.toml:4:",
            "served by two hosts",
        ),
        (
            "capsule = \"a\"\n[[host]]\nhostnames = [\"a.example\"]\n",
            "config.toml:1:",
            "belongs inside one",
        ),
        (
            "[[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n[host.gopher]\nlisten = [\"127.0.0.1:0\"]\n[[host]]\nhostnames = [\"b.example\"]\ncapsule = \"b\"\ngopher = { listen = [\"127.0.0.1:0\"] }\n",
            "config.toml:9:",
            "belongs to one host",
        ),
    ] {
        let (status, stderr) = two_hosts(config).fail();
        assert!(!status.success());
        assert!(
            stderr.contains(line) && stderr.contains(what),
            "{config}\n{stderr}"
        );
    }
    // A key for one host is never made inside another's capsule, even when start-up fails.
    let kept = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let dir = kept.path().to_owned();
    two_capsules(&dir);
    let (status, stderr) = Setup::in_dir(kept.clone())
        .config(&format!("certs = \"b/keys\"\n{TWO_HOSTS}"))
        .fail();
    assert!(!status.success());
    assert!(stderr.contains("lies inside the capsule"), "{stderr}");
    assert!(!dir.join("b/keys").exists(), "{stderr}");
    let (status, _, err) = run_cli(&dir, &["cert"]);
    assert!(
        !status.success() && err.contains("lies inside the capsule"),
        "{err}"
    );
    assert!(!dir.join("b/keys").exists(), "{err}");
    // Nor where a capsule will be, nor through a host's certificate folder linked into one.
    std::fs::remove_dir_all(dir.join("b")).unwrap();
    let (status, _, err) = run_cli(&dir, &["cert"]);
    assert!(
        !status.success() && err.contains("does not exist yet"),
        "{err}"
    );
    assert!(!dir.join("b/keys").exists(), "{err}");
    two_capsules(&dir);
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::create_dir_all(dir.join("b/secret")).unwrap();
    std::os::unix::fs::symlink("../b/secret", dir.join("certs/b.example")).unwrap();
    let (status, stderr) = Setup::in_dir(kept.clone()).config(TWO_HOSTS).fail();
    assert!(!status.success());
    assert!(
        stderr.contains("a link in the certificate folder") && stderr.contains("lies inside"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.join("b/secret")).unwrap().count(), 0);
    // Nor is a capsule served from inside the certificate folder (where nothing is served).
    let (status, stderr) = two_hosts("certs = \".\"\ncapsule = \"a\"\n").fail();
    assert!(!status.success());
    assert!(
        stderr.contains("lies inside the certificate folder"),
        "{stderr}"
    );
    // No hosts at all.
    let (status, stderr) = two_hosts("\nhost = []\n").fail();
    assert!(!status.success());
    assert!(
        stderr.contains("config.toml:2:") && stderr.contains("holds no host"),
        "{stderr}"
    );
    let (status, stderr) = two_hosts(TWO_HOSTS).arg("--capsule").arg("a").fail();
    assert!(!status.success());
    assert!(
        stderr.contains("--capsule") && stderr.contains("[[host]] tables"),
        "{stderr}"
    );
}

#[test]
fn commands_work_on_every_host_or_the_one_named() {
    let setup = two_hosts(TWO_HOSTS);
    let dir = setup.path().to_owned();
    // Written now for the commands; the server started last writes it again.
    std::fs::write(dir.join("config.toml"), TWO_HOSTS).unwrap();
    write(
        &dir,
        "b/posts/2024-03-02-broken.md",
        "---\ntitle: [\n---\nx\n",
    );

    // check: every host, each under its name; one host with --host (any of its names).
    let (status, out, _) = run_cli(&dir, &["check"]);
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("# a.example (") && out.contains("# b.example ("),
        "{out}"
    );
    assert!(out.contains("2 published post(s)"), "{out}");
    let (status, out, err) = run_cli(&dir, &["check", "--host", "WWW.A.example"]);
    assert!(status.success(), "{out}{err}");
    assert!(!out.contains("b.example"), "{out}");
    let (status, out, _) = run_cli(&dir, &["check", "--host", "b.example"]);
    assert!(!status.success());
    assert!(out.contains("posts/2024-03-02-broken.md:"), "{out}");
    let (status, _, err) = run_cli(&dir, &["check", "--host", "nobody.example"]);
    assert!(!status.success());
    assert!(err.contains("no host is named `nobody.example`"), "{err}");
    std::fs::remove_file(dir.join("b/posts/2024-03-02-broken.md")).unwrap();

    // build: one folder per canonical name.
    let (status, out, err) = run_cli(&dir, &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let feed = std::fs::read_to_string(dir.join("site/a.example/atom.xml")).unwrap();
    assert!(feed.contains("gemini://a.example/posts/"), "{feed}");
    let home = std::fs::read_to_string(dir.join("site/b.example/index.gmi")).unwrap();
    assert!(home.contains("The second capsule."), "{home}");
    let (status, _, err) = run_cli(&dir, &["build", "--out", "one", "--host", "b.example"]);
    assert!(status.success(), "{err}");
    assert!(dir.join("one/b.example/index.gmi").exists());
    assert!(!dir.join("one/a.example").exists());
    // No host's copy lands in another host's folder, and a refusal comes before any writing.
    let (status, _, err) = run_cli(&dir, &["build", "--out", "b/site"]);
    assert!(!status.success(), "{err}");
    assert!(!dir.join("b/site").exists(), "{err}");

    // cert: every host's pairs (made now), or one host's.
    let (status, out, err) = run_cli(&dir, &["cert"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("a.example, www.a.example\n"), "{out}");
    assert!(out.contains("b.example, 127.0.0.1\n"), "{out}");
    assert_eq!(out.matches("SHA-256 cert:").count(), 2, "{out}");
    let a = stored_cert(&dir, "a.example");
    let (_, one, _) = run_cli(&dir, &["cert", "--host", "a.example"]);
    assert_eq!(one.matches("SHA-256 cert:").count(), 1, "{one}");
    assert!(one.contains(&sha256_hex(&a)), "{one}");
    assert!(one.contains("existing"), "{one}");

    // The server serves exactly those certificates, and logs each at start.
    let server = setup.start();
    let served = get(&server, Some("a.example"), &url(&server, "a.example", "/"));
    assert_eq!(served.peer_cert, a);
    server.wait_log("a.example's certificate", |l| {
        l.contains("certificate existing") && l.contains(&sha256_hex(&a))
    });
}

#[test]
fn a_capsule_inside_another_hosts_is_served_and_reported() {
    let setup = two_hosts(
        r#"
[[host]]
hostnames = ["a.example"]
capsule = "a"

[[host]]
hostnames = ["inner.example"]
capsule = "a/posts"
"#,
    );
    let server = setup.start();
    let line = server.wait_log("the warning", |l| l.contains("lies inside this host's"));
    assert!(
        line.contains("inner.example") && line.contains("under /posts/"),
        "{line}"
    );
    get(
        &server,
        Some("inner.example"),
        &url(&server, "inner.example", "/"),
    )
    .expect("20");
}

/// The request rate is the address's, whatever host it asks for and whatever the answer: a
/// refused request counts too.
#[test]
fn the_request_rate_counts_every_request_of_an_address() {
    let server = two_hosts(&format!(
        "[limits]\nrequests_per_minute_per_ip = 4\n{TWO_HOSTS}"
    ))
    .start();
    get(&server, Some("a.example"), &url(&server, "a.example", "/")).expect("20");
    get(&server, Some("b.example"), &url(&server, "b.example", "/")).expect("20");
    get(
        &server,
        Some("a.example"),
        &url(&server, "nobody.example", "/"),
    )
    .expect("53");
    get(&server, Some("a.example"), "gemini://a.example/../\r").expect("59");
    let over = get(&server, Some("b.example"), &url(&server, "b.example", "/"));
    assert_eq!(over.status(), "44", "{}", over.text());
}
