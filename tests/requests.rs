//! One test per request rule of the Gemini spec (and per gemini-diagnostics check that concerns
//! requests). Every error answer must still end with close_notify.

use crate::common::TestServer;

#[test]
fn home_page_is_20_gemtext_with_crlf_and_close_notify() {
    // gemini-diagnostics ResponseFormat, HomepageNoRedirect, TLSCloseNotify.
    let server = TestServer::start();
    let r = server.get(&server.url("/"));
    r.expect("20");
    assert_eq!(r.header(), "20 text/gemini; charset=utf-8");
    assert_eq!(r.body(), b"# Home\n\nWelcome.\n");
}

#[test]
fn empty_path_is_the_home_page_without_redirect() {
    let server = TestServer::start();
    let r = server.get(&server.url(""));
    r.expect("20");
    assert_eq!(r.body(), b"# Home\n\nWelcome.\n");
}

#[test]
fn port_in_url_must_be_ours_and_may_be_left_out() {
    // URLIncludePort (ours → 20), URLWrongPort (→ 53); no port → our page.
    let server = TestServer::start();
    server.get(&server.url("/about.gmi")).expect("20");
    server.get("gemini://localhost/about.gmi").expect("20");
    let other = if server.port() == 443 { 444 } else { 443 };
    server
        .get(&format!("gemini://localhost:{other}/"))
        .expect("53");
}

#[test]
fn missing_page_is_51_with_empty_body() {
    // PageNotFound.
    let server = TestServer::start();
    let r = server.get(&server.url("/09pdsakjo73hjn12id78"));
    r.expect("51");
    assert!(r.body().is_empty(), "{:?}", r.text());
}

/// A request URL of exactly `len` bytes for a missing page.
fn url_of_len(server: &TestServer, len: usize) -> String {
    let base = server.url("/");
    format!("{base}{}", "a".repeat(len - base.len()))
}

#[test]
fn url_of_exactly_1024_bytes_is_accepted() {
    // URLMaxSize: handled normally, so a missing page → 51.
    let server = TestServer::start();
    let url = url_of_len(&server, 1024);
    assert_eq!(url.len(), 1024);
    server.get(&url).expect("51");
}

#[test]
fn url_of_1025_bytes_is_59() {
    // URLAboveMaxSize.
    let server = TestServer::start();
    server.get(&url_of_len(&server, 1025)).expect("59");
    // Also when no CRLF ever comes: the server stops reading at the limit.
    server.raw(&vec![b'a'; 4000]).expect("59");
}

#[test]
fn bare_lf_does_not_end_a_request() {
    // RequestMissingCR: no header at all; the server closes after its request timeout.
    let server = crate::common::Setup::new()
        .config("[limits]\nrequest_timeout = 1\n")
        .start();
    let r = server.raw(format!("{}\n", server.url("/")).as_bytes());
    assert!(
        r.raw.is_empty(),
        "answered a bare-LF request: {:?}",
        r.text()
    );
    server.wait_log("the timeout", |l| l.contains("request timed out"));
}

#[test]
fn bytes_after_crlf_are_ignored() {
    let server = TestServer::start();
    let r = server.raw(format!("{}\r\nJUNK\r\nmore junk", server.url("/about.gmi")).as_bytes());
    r.expect("20");
    assert_eq!(r.body(), b"# About\n");
}

#[test]
fn userinfo_is_59() {
    let server = TestServer::start();
    let port = server.port();
    server
        .get(&format!("gemini://user@localhost:{port}/"))
        .expect("59");
    server
        .get(&format!("gemini://user:pw@localhost:{port}/"))
        .expect("59");
}

#[test]
fn fragment_is_59() {
    let server = TestServer::start();
    server.get(&server.url("/#frag")).expect("59");
    server.get(&server.url("/about.gmi#")).expect("59");
}

#[test]
fn leading_bom_is_59() {
    let server = TestServer::start();
    server
        .get(&format!("\u{feff}{}", server.url("/")))
        .expect("59");
}

#[test]
fn invalid_utf8_is_59() {
    // URLInvalidUTF8Byte.
    let server = TestServer::start();
    let mut line = server.url("/").into_bytes();
    line.extend_from_slice(b"\xdc\r\n");
    server.raw(&line).expect("59");
}

#[test]
fn control_bytes_and_nul_are_59() {
    let server = TestServer::start();
    for bad in [&b"\0"[..], b"\t", b"\x7f", b"\x1b[31m", b"a b"] {
        let mut line = server.url("/").into_bytes();
        line.extend_from_slice(bad);
        line.extend_from_slice(b"\r\n");
        server.raw(&line).expect("59");
    }
}

#[test]
fn not_absolute_urls_are_59() {
    // URLEmpty, URLRelative, URLSchemeMissing, URLInvalid.
    let server = TestServer::start();
    server.raw(b"\r\n").expect("59");
    server.raw(b"/\r\n").expect("59");
    server.raw(b"//localhost/\r\n").expect("59");
    server.raw(b"Hello Gemini!\r\n").expect("59");
    server.raw(b"about.gmi\r\n").expect("59");
}

#[test]
fn other_schemes_are_53() {
    // URLSchemeHTTP, URLSchemeHTTPS, URLSchemeGopher.
    let server = TestServer::start();
    let port = server.port();
    for scheme in ["http", "https", "gopher", "titan"] {
        server
            .get(&format!("{scheme}://localhost:{port}/"))
            .expect("53");
    }
}

#[test]
fn other_hosts_are_53() {
    // URLWrongHost.
    let server = TestServer::start();
    server.get("gemini://wikipedia.org/").expect("53");
    server
        .get(&format!("gemini://example.org:{}/", server.port()))
        .expect("53");
    server.get("gemini://10.1.2.3/").expect("53");
}

#[test]
fn host_matching_ignores_case() {
    let server = TestServer::start();
    let r = server.get(&format!("gemini://LOCALHOST:{}/about.gmi", server.port()));
    r.expect("20");
    assert_eq!(r.body(), b"# About\n");
    server
        .get(&format!("gemini://LocalHost.:{}/", server.port()))
        .expect("20");
}

#[test]
fn dot_segments_are_59() {
    // URLDotEscape, and the same through percent-encoding.
    let server = TestServer::start();
    for path in [
        "/../../",
        "/./about.gmi",
        "/docs/../about.gmi",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2e/",
        "/.%2e/x",
    ] {
        server.get(&server.url(path)).expect("59");
    }
}

#[test]
fn encoded_separators_and_nul_are_59() {
    let server = TestServer::start();
    for path in [
        "/docs%2fpage.gmi",
        "/docs%2Fpage.gmi",
        "/docs%5cpage.gmi",
        "/about.gmi%00",
        "/%00",
    ] {
        server.get(&server.url(path)).expect("59");
    }
}

#[test]
fn every_error_is_logged() {
    let server = TestServer::start();
    server.get(&server.url("/#frag")).expect("59");
    let line = server.wait_log("the 59", |l| l.contains("status=59"));
    assert!(line.contains("fragment"), "{line}");
}

#[test]
fn the_public_port_that_feeds_carry_is_answered() {
    let server = crate::common::Setup::new()
        .config("public_port = 5555\n")
        .start();
    let feed = server.get(&server.url("/atom.xml"));
    feed.expect("20");
    assert!(
        feed.body_text().contains("gemini://localhost:5555/"),
        "{}",
        feed.body_text()
    );
    // What the feed points at is served, though the server listens on another port.
    server.get("gemini://localhost:5555/about.gmi").expect("20");
    let other = server.get("gemini://localhost:5556/about.gmi");
    assert_eq!(other.status(), "53");
}
