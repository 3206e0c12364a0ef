//! The web door: the same capsule over HTTP/1.1 as HTML, with HTTP's rules (statuses,
//! validators, compression, HEAD, security headers) and every rule of the other doors (no
//! areas, drafts, Titan, secrets), against hostile requests too.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::common::web::{HttpConn, http_get, http_raw, operator_cert, rope_part, rope_series};
use crate::common::{DEADLINE, Setup, TestServer, run_cli, write};

/// A small blog: a series of three parts, a draft, an area, a secret, an image, links of
/// every kind.
fn blog(setup: &Setup) {
    let root = setup.path().join("capsule");
    write(
        &root,
        "index.gmi",
        "# Knots & Splices\n\nA blog about <rope>.\n\n\
         => gemini://localhost/posts/one.gmi The first part\n\
         => gemini://elsewhere.example/page.gmi Another capsule\n\
         => javascript:alert(1) Not a link\n\
         => gemini://localhost//elsewhere.example/x Two slashes\n\
         => https://example.org/ The web\n\n\
         ```a diagram of a bowline\n  __\n /  \\\n```\n",
    );
    rope_series(&root, "");
    write(
        &root,
        "posts/soon.md",
        "---\ntitle: Unfinished\ndate: 2024-03-20\ndraft: true\n---\nNot for readers yet.\n",
    );
    write(
        &root,
        "members/inside.gmi",
        "# Members only\n\nA secret handshake.\n",
    );
    write(&root, "notes.txt", "plain text notes\n");
}

fn start_with(config: &str, args: &[&str]) -> TestServer {
    let mut setup = Setup::new();
    blog(&setup);
    setup = setup.config(config).arg("--http-listen").arg("127.0.0.1:0");
    for arg in args {
        setup = setup.arg(arg);
    }
    setup.start()
}

fn start() -> TestServer {
    start_with(
        "lang = \"en\"\ntitle = \"Knots\"\n[[area]]\npath = \"/members/\"\n",
        &[],
    )
}

#[test]
fn every_public_page_is_html_at_its_gemini_path() {
    let server = start();
    let home = server.http("/");
    assert_eq!(home.status, 200, "{}", home.text());
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = home.text();
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{html}"
    );
    assert!(
        html.contains("<title>Knots &amp; Splices</title>"),
        "{html}"
    );
    assert!(html.contains("<h1>Knots &amp; Splices</h1>"), "{html}");
    assert!(html.contains("<p>A blog about &lt;rope&gt;.</p>"), "{html}");
    // Same-host gemini:// links become links within the site; others stay; unsafe ones are
    // text.
    assert!(
        html.contains("<a href=\"/posts/one.gmi\">The first part</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"gemini://elsewhere.example/page.gmi\">Another capsule</a>"),
        "{html}"
    );
    assert!(!html.contains("href=\"javascript:"), "{html}");
    // A link of this host stays on this site, however many slashes its path starts with.
    assert!(
        html.contains("<a href=\"/elsewhere.example/x\">Two slashes</a>"),
        "{html}"
    );
    assert!(
        html.contains("<figure aria-label=\"a diagram of a bowline\">"),
        "{html}"
    );
    // The page's Gemini address as its alternate, and as a visible link.
    assert!(
        html.contains("<link rel=\"alternate\" type=\"text/gemini\" href=\"gemini://localhost/\">"),
        "{html}"
    );
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/style.css\">"));
    assert!(!html.contains("<script"), "{html}");
    // The stylesheet, light and dark.
    let css = server.http("/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains("prefers-color-scheme: dark"));
    // A post, converted from Markdown, at its .gmi path; a folder as its index.
    let post = server.http("/posts/two.gmi");
    assert_eq!(post.status, 200);
    assert!(
        post.text()
            .contains("href=\"gemini://localhost/posts/two.gmi\""),
        "{}",
        post.text()
    );
    assert!(
        post.text().contains("<p>A clove hitch binds.</p>"),
        "{}",
        post.text()
    );
    let archive = server.http("/archive/");
    assert!(archive.text().contains("Sheet Bend"), "{}", archive.text());
    // A folder asked for without its slash: a permanent redirect, as over Gemini.
    let moved = server.http("/archive");
    assert_eq!(
        (moved.status, moved.header("location")),
        (301, Some("/archive/"))
    );
    // Generated files and files as they are.
    let robots = server.http("/robots.txt");
    assert_eq!(
        robots.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let notes = server.http("/notes.txt");
    assert_eq!(notes.text(), "plain text notes\n");
    assert_eq!(
        notes.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let feed = server.http("/atom.xml");
    assert!(
        feed.header("content-type")
            .unwrap()
            .starts_with("application/atom+xml")
    );
    // Read directly from a plain listener: the feed's URLs are where it was read.
    let port = server.http_addr().port();
    let direct = format!("type=\"text/html\" href=\"http://localhost:{port}/posts/three.gmi\"");
    assert!(feed.text().contains(&direct), "{}", feed.text());
    assert!(!feed.text().contains("text/gemini"), "{}", feed.text());
    assert!(
        !feed.text().contains("gemini://localhost/posts"),
        "{}",
        feed.text()
    );
    // Through a proxy that says the reader came over HTTPS: https URLs.
    let proxied = http_get(
        server.http_addr(),
        "/atom.xml",
        &[
            ("X-Forwarded-For", "192.0.2.1"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert!(
        proxied
            .text()
            .contains("href=\"https://localhost/posts/three.gmi\""),
        "{}",
        proxied.text()
    );
    // Not found, as a page.
    let missing = server.http("/nowhere.gmi");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("Not found"));
    // Security headers on every answer.
    for answer in [&home, &css, &missing, &moved, &notes] {
        let csp = answer.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
    }
    // Each request has its access-log line, with the HTTP status.
    server.wait_log("the access line of a 404", |l| {
        l.contains("path=\"/nowhere.gmi\"") && l.contains("status=404")
    });
}

#[test]
fn a_series_reads_from_its_first_part_to_its_last() {
    let server = start();
    let index = server.http("/series/rope-work/");
    assert_eq!(index.status, 200, "{}", index.text());
    let html = index.text();
    assert!(html.contains("<a href=\"/posts/one.gmi\">"), "{html}");
    // Follow "Next" from part 1 to the end, as a reader clicks.
    let mut at = "/posts/one.gmi".to_owned();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let page = server.http(&at);
        assert_eq!(page.status, 200, "{at}");
        let html = page.text();
        seen.push(at.clone());
        let next = html
            .lines()
            .find(|l| l.contains("Next"))
            .and_then(|l| l.split("href=\"").nth(1).and_then(|r| r.split('"').next()));
        match next {
            Some(next) => at = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["/posts/one.gmi", "/posts/two.gmi", "/posts/three.gmi"]
    );
    let tag = server.http("/tags/rope/");
    assert!(tag.text().contains("Clove Hitch"), "{}", tag.text());
}

#[test]
fn search_is_a_form_and_its_results_link_to_pages() {
    let server = start();
    let form = server.http("/search");
    assert_eq!(form.status, 200);
    assert!(
        form.text()
            .contains("<form role=\"search\" method=\"get\" action=\"/search\">"),
        "{}",
        form.text()
    );
    let found = server.http("/search?q=clove+hitch");
    assert_eq!(found.status, 200);
    let html = found.text();
    assert!(html.contains("<a href=\"/posts/two.gmi\">"), "{html}");
    assert!(html.contains("value=\"clove hitch\""), "{html}");
    // The words as a Gemini search link writes them work too.
    let gemini_style = server.http("/search?clove%20hitch");
    assert!(gemini_style.text().contains("/posts/two.gmi"));
    // Words are escaped where they are shown.
    let hostile = server.http("/search?q=%3Cscript%3Ealert(1)%3C/script%3E");
    assert!(!hostile.text().contains("<script>"), "{}", hostile.text());
    assert_eq!(server.http("/search/9?q=rope").status, 404);
}

#[test]
fn areas_drafts_secrets_and_uploads_never_go_out_over_http() {
    let server = start_with(
        &format!(
            "lang = \"en\"\n[[area]]\npath = \"/members/\"\n[titan]\nenabled = true\n\
             fingerprints = [\"{}\"]\n",
            "ab".repeat(32)
        ),
        &["--drafts"],
    );
    // Over Gemini, --drafts shows the draft to every reader; over HTTP, never.
    server.wait_text("/posts/soon.gmi", "Not for readers yet.");
    let draft = server.http("/posts/soon.gmi");
    assert_eq!(draft.status, 404, "{}", draft.text());
    assert!(!draft.text().contains("Not for readers yet"));
    assert!(!server.http("/archive/").text().contains("Unfinished"));
    assert_eq!(server.http("/drafts/").status, 404);
    // An area: a page saying a client certificate is needed, nothing of the page.
    let area = server.http("/members/inside.gmi");
    assert_eq!(area.status, 403);
    assert!(
        area.text().contains("client certificate"),
        "{}",
        area.text()
    );
    assert!(!area.text().contains("secret handshake"));
    // Secrets, dot-files, Markdown sources.
    for path in ["/.secret", "/.git/config", "/posts/one.md", "/config.toml"] {
        let answer = server.http(path);
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
    }
    // Titan's way in: no method but GET and HEAD.
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let raw = http_raw(
            server.http_addr(),
            format!(
                "{method} /posts/new.gmi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        );
        assert!(raw.starts_with("HTTP/1.1 405"), "{method}: {raw}");
        assert!(
            raw.to_ascii_lowercase().contains("allow: get, head"),
            "{raw}"
        );
    }
    assert!(!server.capsule().join("posts/new.gmi").exists());
}

#[test]
fn validators_head_and_compression_follow_http() {
    let server = start();
    let addr = server.http_addr();
    let page = server.http("/posts/one.gmi");
    let etag = page.header("etag").unwrap().to_owned();
    let modified = page.header("last-modified").unwrap().to_owned();
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let not_modified = http_get(addr, "/posts/one.gmi", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        http_get(addr, "/posts/one.gmi", &[("If-Modified-Since", &modified)]).status,
        304
    );
    assert_eq!(
        http_get(addr, "/posts/one.gmi", &[("If-None-Match", "\"other\"")]).status,
        200
    );
    // HEAD: the headers of GET, no body.
    let mut conn = HttpConn::open(addr);
    conn.send(b"HEAD /posts/one.gmi HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = conn.response(true).unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap(),
        page.body.len().to_string()
    );
    // Kept alive: the next request on the same connection is answered.
    conn.send(b"GET /posts/two.gmi HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let next = conn.response(false).unwrap();
    assert!(next.text().contains("clove hitch"), "{}", next.text());
    // Compressed for clients that ask, the same page once decoded.
    let home = server.http("/");
    let gz = http_get(addr, "/", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, home.body);
    let br = http_get(addr, "/", &[("Accept-Encoding", "gzip, deflate, br")]);
    assert_eq!(br.header("content-encoding"), Some("br"));
    let mut plain = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, home.body);
    assert_ne!(br.header("etag"), home.header("etag"));
    let refused = http_get(addr, "/", &[("Accept-Encoding", "br;q=0, gzip;q=0")]);
    assert_eq!(refused.header("content-encoding"), None);
    // A file: validators from the disk.
    let notes = server.http("/notes.txt");
    let tag = notes.header("etag").unwrap().to_owned();
    assert_eq!(
        http_get(addr, "/notes.txt", &[("If-None-Match", &tag)]).status,
        304
    );
}

#[test]
fn a_change_on_disk_reaches_web_readers_without_a_restart() {
    let server = start();
    assert!(
        server
            .http("/posts/one.gmi")
            .text()
            .contains("The bowline holds.")
    );
    write(
        &server.capsule(),
        "posts/one.md",
        rope_part(
            "Bowline",
            "2024-03-01",
            1,
            "The bowline holds, and slips free.",
        ),
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        if server.http("/posts/one.gmi").text().contains("slips free") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change never reached the web page"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bodies_smuggling_and_malformed_heads_are_refused() {
    let server = start();
    let addr = server.http_addr();
    let cases: [(&str, &[u8], &str); 7] = [
        (
            "a body on GET",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
            "400",
        ),
        (
            "chunked",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400",
        ),
        (
            "length and chunked",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400",
        ),
        (
            "two lengths",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
            "400",
        ),
        ("no Host", b"GET / HTTP/1.1\r\n\r\n", "400"),
        (
            "two Hosts",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: other\r\n\r\n",
            "400",
        ),
        ("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "400"),
    ];
    for (what, request, status) in cases {
        let answer = http_raw(addr, request);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{what}: {answer:?}"
        );
        // One answer, and the connection closed: whatever followed is not read as a request.
        assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{what}: {answer:?}");
    }
    // A request smuggled behind a body is never answered.
    let smuggled = http_raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\n\r\nGET /members/inside.gmi HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(smuggled.matches("HTTP/1.1 ").count(), 1, "{smuggled}");
    // A head larger than the bound: 431, not memory.
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let answer = http_raw(addr, huge.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // Path tricks never leave the capsule.
    for path in [
        "/../config.toml",
        "/%2e%2e/config.toml",
        "/posts/..%2F..%2Fconfig.toml",
        "/posts%2Fone.gmi",
        "/%00",
        "//etc/passwd",
        "/capsule/../../config.toml",
    ] {
        let answer = http_get(addr, path, &[]);
        assert!(
            [400, 404].contains(&answer.status),
            "{path}: {} {}",
            answer.status,
            answer.text()
        );
        assert!(!answer.text().contains("lang = "), "{path}");
    }
    let long = format!("/{}", "a".repeat(2000));
    assert_eq!(http_get(addr, &long, &[]).status, 414);
    // As long as a Gemini URL may be: looked up.
    let longest = format!("/{}", "a".repeat(1023));
    assert_eq!(http_get(addr, &longest, &[]).status, 404);
    // The server still answers.
    assert_eq!(server.http("/").status, 200);
}

#[test]
fn slow_and_idle_clients_are_closed_at_the_request_timeout() {
    let server = start_with("[limits]\nrequest_timeout = 1\n", &[]);
    let addr = server.http_addr();
    // A head sent a byte at a time, never finished.
    let mut slow = HttpConn::open(addr);
    slow.send(b"GET / HTTP/1.1\r\nHost: local");
    let started = Instant::now();
    let mut trickling = true;
    while trickling && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        trickling = slow.try_send(b"h").is_ok();
    }
    assert!(
        slow.closed_within(Duration::from_secs(10)),
        "a slow head kept its connection"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // A kept-alive connection with nothing more to ask is closed too.
    let mut idle = HttpConn::open(addr);
    idle.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(idle.response(false).unwrap().status, 200);
    assert!(
        idle.closed_within(Duration::from_secs(10)),
        "an idle connection stayed open"
    );
    assert_eq!(server.http("/").status, 200);
}

#[test]
fn hosts_share_an_http_address_by_their_host_header() {
    let setup = Setup::new();
    let root = setup.path();
    write(&root.join("a"), "index.gmi", "# Alpha\n");
    write(
        &root.join("b"),
        "index.gmi",
        "# Bravo\n=> gemini://b.example/page.gmi Same host\n",
    );
    let server = setup
        .config(
            "[[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n[host.http]\nlisten = [\"127.0.0.1:0\"]\n\
             [[host]]\nhostnames = [\"b.example\"]\ncapsule = \"b\"\n",
        )
        .start();
    let line = server.wait_log("the HTTP listener", |l| l.contains("(http) for a.example"));
    let addr: std::net::SocketAddr = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut conn = HttpConn::open(addr);
    conn.send(b"GET / HTTP/1.1\r\nHost: A.EXAMPLE:80\r\n\r\n");
    assert!(conn.response(false).unwrap().text().contains("Alpha"));
    // A host that does not list the address is not served there: the first host answers.
    conn.send(b"GET / HTTP/1.1\r\nHost: b.example\r\n\r\n");
    assert!(conn.response(false).unwrap().text().contains("Alpha"));
}

#[test]
fn an_https_listener_serves_the_operator_s_certificate() {
    let setup = Setup::new();
    blog(&setup);
    let cert = operator_cert(setup.path(), "web", &["localhost"]);
    let server = setup
        .config(
            "[http]\nhttps_listen = [\"127.0.0.1:0\"]\ncert = \"web/cert.pem\"\nkey = \"web/key.pem\"\n",
        )
        .start();
    let addr = server.listening_on(" (https)");
    let mut tls = crate::common::connect(addr, Some("localhost"), crate::common::Tls::Any)
        .expect("a TLS connection");
    std::io::Write::write_all(
        &mut tls,
        b"GET /posts/one.gmi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("The bowline holds."), "{answer}");
    let served = tls.conn.peer_certificates().unwrap()[0].to_vec();
    assert_eq!(served, cert);
}

#[test]
fn http_settings_are_checked_at_start() {
    let (_, err) = Setup::new()
        .config("[http]\nhttps_listen = [\"127.0.0.1:0\"]\n")
        .fail();
    assert!(
        err.contains("https_listen needs http.cert and http.key"),
        "{err}"
    );
    let (_, err) = Setup::new()
        .listen("127.0.0.1:19999")
        .config("[http]\nlisten = [\"127.0.0.1:19999\"]\n")
        .fail();
    assert!(err.contains("is both an HTTP"), "{err}");
    let (_, err) = Setup::new().config("[http]\nlisen = []\n").fail();
    assert!(err.contains("lisen") && err.contains("listen"), "{err}");
}

#[test]
fn build_html_writes_the_site_a_web_server_serves() {
    let setup = Setup::new();
    blog(&setup);
    let dir = setup.path().to_owned();
    std::fs::write(dir.join("config.toml"), "[[area]]\npath = \"/members/\"\n").unwrap();
    let (status, _, err) = run_cli(&dir, &["build", "--out", "site", "--html"]);
    assert!(status.success(), "{err}");
    let site = dir.join("site");
    let post = std::fs::read_to_string(site.join("posts/two.gmi")).unwrap();
    assert!(post.starts_with("<!DOCTYPE html>"), "{post}");
    assert!(post.contains("<p>A clove hitch binds.</p>"), "{post}");
    let home = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(home.contains("<a href=\"/posts/one.gmi\">"), "{home}");
    // With no `title` set, the site is named by its home page's heading, as its feed is.
    assert!(
        home.contains("<header><a href=\"/\">Knots &amp; Splices</a></header>"),
        "{home}"
    );
    assert!(site.join("archive/index.html").is_file());
    assert!(site.join("series/rope-work/index.html").is_file());
    assert!(site.join("style.css").is_file());
    assert!(
        std::fs::read_to_string(site.join("atom.xml"))
            .unwrap()
            .contains("https://localhost/")
    );
    assert!(!site.join("members").exists());
    assert!(!site.join("posts/soon.gmi").exists());
    assert_eq!(
        std::fs::read_to_string(site.join("notes.txt")).unwrap(),
        "plain text notes\n"
    );
}

#[test]
fn behind_a_balancer_the_proxy_header_names_the_client() {
    let setup = Setup::new();
    blog(&setup);
    let server = setup
        .config("[http]\nproxy_listen = [\"127.0.0.1:0\"]\n")
        .arg("--log-ip")
        .start();
    let addr = server.listening_on(" (http, PROXY protocol)");
    let client: std::net::SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let header = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (client, addr),
    )
    .build()
    .unwrap();
    let mut request = header;
    request.extend_from_slice(
        b"GET /posts/one.gmi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let answer = http_raw(addr, &request);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.wait_log("the client the header named", |l| {
        l.contains("peer=192.0.2.7:40000") && l.contains("path=\"/posts/one.gmi\"")
    });
    // Without a header: no byte.
    let bare = http_raw(addr, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(bare, "");
}

#[test]
fn an_https_key_inside_the_capsule_is_refused_at_start() {
    let setup = Setup::new();
    operator_cert(setup.path(), "capsule/tls", &["localhost"]);
    let (status, err) = setup
        .config(
            "[http]\nhttps_listen = [\"127.0.0.1:0\"]\ncert = \"capsule/tls/cert.pem\"\n\
             key = \"capsule/tls/key.pem\"\n",
        )
        .fail();
    assert!(!status.success());
    assert!(
        err.contains("HTTPS private key") || err.contains("HTTPS certificate"),
        "{err}"
    );
    assert!(err.contains("inside the capsule"), "{err}");
}

#[test]
fn behind_a_reverse_proxy_each_reader_has_their_own_allowance() {
    let server = start_with(
        "[limits]\nrequests_per_minute_per_ip = 2\nmax_connections_per_ip = 2\n",
        &["--log-ip"],
    );
    let addr = server.http_addr();
    // From a trusted proxy (loopback), X-Forwarded-For names the reader: each has their own
    // rate.
    for reader in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        for _ in 0..2 {
            let answer = http_get(addr, "/", &[("X-Forwarded-For", reader)]);
            assert_eq!(answer.status, 200, "{reader}");
        }
    }
    let over = http_get(
        addr,
        "/",
        &[("X-Forwarded-For", "203.0.113.9, 198.51.100.1")],
    );
    assert_eq!(over.status, 429);
    assert!(over.header("retry-after").is_some());
    server.wait_log("the reader named in the log, the proxy as via", |l| {
        l.contains("peer=198.51.100.2:0") && l.contains("via=127.0.0.1:")
    });
    // Kept-alive connections between requests hold no place: more of them than the
    // address's cap stay usable.
    let mut conns: Vec<HttpConn> = (0..4).map(|_| HttpConn::open(addr)).collect();
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.send(
            format!("GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 192.0.2.{i}\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(conn.response(false).unwrap().status, 200, "connection {i}");
    }
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.send(
            format!("GET /robots.txt HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 192.0.2.{i}\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(
            conn.response(false).unwrap().status,
            200,
            "connection {i} again"
        );
    }
}

#[test]
fn a_large_page_is_compressed_once_and_decodes_to_the_page() {
    let setup = Setup::new();
    let line = "A line of a long page about knots, repeated to make it large.\n";
    write(
        &setup.path().join("capsule"),
        "long.gmi",
        format!("# Long\n\n{}", line.repeat(4000)),
    );
    let server = setup.arg("--http-listen").arg("127.0.0.1:0").start();
    let addr = server.http_addr();
    let page = server.http("/long.gmi");
    assert!(page.body.len() > 200_000, "{}", page.body.len());
    for (encoding, name) in [("br", "br"), ("gzip", "gzip")] {
        let first = http_get(addr, "/long.gmi", &[("Accept-Encoding", encoding)]);
        assert_eq!(first.header("content-encoding"), Some(name));
        assert!(first.body.len() < page.body.len() / 10);
        let mut plain = Vec::new();
        if name == "br" {
            brotli::Decompressor::new(&first.body[..], 4096)
                .read_to_end(&mut plain)
                .unwrap();
        } else {
            flate2::read::GzDecoder::new(&first.body[..])
                .read_to_end(&mut plain)
                .unwrap();
        }
        assert_eq!(plain, page.body);
        let again = http_get(addr, "/long.gmi", &[("Accept-Encoding", encoding)]);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("etag"), first.header("etag"));
    }
}

#[test]
fn an_absolute_target_names_its_host_and_https_keeps_to_the_certificate_s_host() {
    let setup = Setup::new();
    let root = setup.path().to_owned();
    write(&root.join("a"), "index.gmi", "# Alpha\n");
    write(&root.join("b"), "index.gmi", "# Bravo\n");
    operator_cert(&root, "web", &["a.example", "b.example"]);
    let http = "listen = [\"127.0.0.1:0\"]\nhttps_listen = [\"127.0.0.1:0\"]\n\
                cert = \"web/cert.pem\"\nkey = \"web/key.pem\"\n";
    let server = setup
        .config(&format!(
            "[[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n[host.http]\n{http}\
             [[host]]\nhostnames = [\"b.example\"]\ncapsule = \"b\"\n[host.http]\n{http}"
        ))
        .start();
    let _ = server.wait_log("the HTTPS listener", |l| l.contains("(https) for"));
    let _ = server.wait_log("the HTTP listener", |l| l.contains("(http) for"));
    let plain = server.listening_on(" (http) for a.example, b.example");
    let https = server.listening_on(" (https) for a.example, b.example");
    let answer = http_raw(
        plain,
        b"GET http://b.example/ HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.contains("Bravo"), "{answer}");
    let mut tls =
        crate::common::connect(https, Some("a.example"), crate::common::Tls::Any).unwrap();
    std::io::Write::write_all(
        &mut tls,
        b"GET / HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    assert!(!answer.contains("Bravo"), "{answer}");
    // Without a name (by address), the connection is the first host's, whose certificate
    // it was shown.
    for (host, status) in [("b.example", "421"), ("a.example", "200")] {
        let mut tls = crate::common::connect(https, None, crate::common::Tls::Any).unwrap();
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        std::io::Write::write_all(&mut tls, request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{host}: {answer}"
        );
    }
}

#[test]
fn a_full_server_closes_a_kept_alive_connection_for_a_newcomer() {
    // Two slots, and a request head may take a minute: only closing a connection that has
    // its answer (and now trickles its next request) lets a newcomer in within the deadline.
    let server = start_with("[limits]\nmax_connections = 2\nrequest_timeout = 60\n", &[]);
    let addr = server.http_addr();
    let mut held: Vec<HttpConn> = (0..2).map(|_| HttpConn::open(addr)).collect();
    for conn in &mut held {
        conn.send(b"GET /about.gmi HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(conn.response(false).unwrap().status, 200);
        conn.send(b"GET /about.gmi HTTP/1.1\r\nHost: loc");
    }
    let trickle = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let trickler = {
        let trickle = std::sync::Arc::clone(&trickle);
        std::thread::spawn(move || {
            while trickle.load(std::sync::atomic::Ordering::Relaxed) {
                for conn in &mut held {
                    let _ = conn.try_send(b"a");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let newcomer = server.http("/about.gmi");
    trickle.store(false, std::sync::atomic::Ordering::Relaxed);
    trickler.join().unwrap();
    assert_eq!(newcomer.status, 200);
}

#[test]
fn a_gemtext_file_too_large_to_convert_is_left_out_of_the_web_copy() {
    let setup = Setup::new();
    let dir = setup.path().to_owned();
    let script = "<script>alert(1)</script>\n".repeat(100);
    write(
        &dir.join("capsule"),
        "huge.gmi",
        format!("# Huge\n{script}"),
    );
    std::fs::write(
        dir.join("config.toml"),
        "[markdown]\nmax_file_size = 1000\n",
    )
    .unwrap();
    let (status, _, err) = run_cli(&dir, &["build", "--out", "site", "--html"]);
    assert!(status.success(), "{err}");
    assert!(!dir.join("site/huge.gmi").exists());
    assert!(
        err.contains("huge.gmi") && err.contains("left out of the web copy"),
        "{err}"
    );
    // The server sends it as the text it is, which a browser does not run.
    let server = setup.arg("--http-listen").arg("127.0.0.1:0").start();
    let answer = server.http("/huge.gmi");
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn a_page_s_gemini_address_has_the_port_readers_use() {
    let server = start_with("public_port = 1966\n", &[]);
    let page = server.http("/posts/one.gmi");
    let alternate = "<link rel=\"alternate\" type=\"text/gemini\" \
                     href=\"gemini://localhost:1966/posts/one.gmi\">";
    assert!(page.text().contains(alternate), "{}", page.text());
}
