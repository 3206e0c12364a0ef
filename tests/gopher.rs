//! The Gopher listener over real TCP: a crawl of every menu and text item from the root, the
//! protocol's invariants on every line, hostile selectors, Gopher+ and HTTP probes.

use std::collections::{BTreeSet, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::{DEADLINE, Setup, TestServer, write};
use unicode_width::UnicodeWidthStr;

const PUBLIC_HOST: &str = "hole.example";
const PUBLIC_PORT: &str = "7070";

/// The sample capsule plus a series, tags, a draft and pages that stress the text renderer.
pub(crate) fn hole(config: &str) -> TestServer {
    let setup = Setup::new()
        .config(config)
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    let posts = setup.path().join("capsule/posts");
    for (file, title, part) in [("one.md", "First", 1), ("two.md", "Second", 2)] {
        write(
            &posts,
            file,
            format!(
                "---\ntitle: {title}\ndate: 2024-0{part}-01\nseries: Sail\npart: {part}\ntags: [sea, 日本]\n---\n\
                 Text of the {title} part, long enough to be wrapped at seventy columns when it is shown as Gopher text.\n\n\
                 日本語の文章は空白がなくても表示幅で折り返されるべきです。全角文字は二桁を占めますので注意が必要です。\n\n\
                 Emoji 🚀🚀🚀 take two columns each 🛸 and so do these ✨✨, which the wrapping must count as such.\n\n\
                 ```\ncode line\n.\n```\n\n\
                 See [the other part](two.md), [the web](https://example.org/), and ![a picture](../image.png).\n"
            ),
        );
    }
    write(
        &posts,
        "secret.md",
        "---\ntitle: Secret\ndraft: true\n---\nHidden.\n",
    );
    write(
        &setup.path().join("capsule"),
        "index.gmi",
        "# Home\n\nWelcome.\n=> about.gmi About\n=> docs/ Docs\n=> image.png A picture\n\
         => notes.txt Notes\n=> with%20space.gmi Spaced\n=> https://example.org/ The web\n",
    );
    write(
        &setup.path().join("capsule"),
        "about.gmi",
        "# About\n\n.\n=> posts/one.gmi The first post\n",
    );
    setup.start()
}

/// One Gopher exchange with the server's listener.
fn fetch(server: &TestServer, selector: &str) -> String {
    String::from_utf8_lossy(&server.gopher(format!("{selector}\r\n").as_bytes())).into_owned()
}

/// Checks a menu's lines; returns its `(type, selector, host, port)` items.
fn check_menu(selector: &str, menu: &str) -> Vec<(char, String, String, String)> {
    assert!(menu.ends_with("\r\n.\r\n"), "{selector}: {menu:?}");
    let body = &menu[..menu.len() - ".\r\n".len()];
    let mut items = Vec::new();
    for line in body.split_terminator("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "{selector}: {line:?}"
        );
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "{selector}: {line:?}");
        let kind = line.chars().next().unwrap();
        assert!("01379gIhsi".contains(kind), "{selector}: {line:?}");
        assert_ne!(kind, '3', "{selector}: an error item: {line:?}");
        if kind != 'i' {
            let selector = fields[1].to_owned();
            items.push((kind, selector, fields[2].to_owned(), fields[3].to_owned()));
        }
    }
    items
}

#[test]
fn every_item_from_the_root_answers_and_keeps_the_rules() {
    let server = hole(&format!(
        "[gopher]\npublic_host = \"{PUBLIC_HOST}\"\npublic_port = {PUBLIC_PORT}\n"
    ));
    let mut queue = VecDeque::from([('1', String::new())]);
    let mut seen = BTreeSet::new();
    while let Some((kind, selector)) = queue.pop_front() {
        if !seen.insert(selector.clone()) {
            continue;
        }
        let answer = fetch(&server, &selector);
        assert!(!answer.starts_with('3'), "{selector}: {answer:?}");
        match kind {
            '1' => {
                for (kind, item, host, port) in check_menu(&selector, &answer) {
                    if kind == 'h' {
                        assert!(item.starts_with("URL:"), "{item}");
                    }
                    // Every item of ours names the public host and port, not the bound address.
                    if host == PUBLIC_HOST {
                        assert_eq!(port, PUBLIC_PORT, "{item}");
                        // A search: asked as a client asks, with words after a TAB.
                        if kind == '7' {
                            queue.push_back(('1', format!("{item}\tone")));
                        }
                        if kind == '0' || kind == '1' {
                            queue.push_back((kind, item));
                        }
                    } else {
                        assert_ne!(host, "127.0.0.1", "{item}");
                    }
                }
            }
            _ if selector.ends_with(".txt") && selector.starts_with("/posts/") => {
                assert!(answer.ends_with("\r\n"), "{selector}");
                let text = answer.strip_suffix("\r\n").unwrap();
                let links = text.find("\r\nLinks:\r\n").unwrap_or(text.len());
                for line in text[..links].split("\r\n") {
                    assert!(!line.contains('\n'), "{selector}: bare LF in {line:?}");
                    assert_ne!(line, ".", "{selector}: a lone dot");
                    assert!(line.width() <= 70, "{selector}: {line:?}");
                }
            }
            _ => {}
        }
    }
    for expected in [
        "/posts/one.txt",
        "/posts/two.txt",
        "/series/sail/",
        "/archive/",
        "/tags/",
        "/about.txt",
        "/docs/",
        "/with space.txt",
    ] {
        assert!(seen.contains(expected), "{expected} not reached: {seen:?}");
    }
    assert!(seen.iter().all(|s| !s.contains("secret")), "{seen:?}");

    // A post as text: title underlined, links numbered, local ones rewritten to selectors.
    let post = fetch(&server, "/posts/one.txt");
    assert!(post.starts_with("First\r\n=====\r\n"), "{post}");
    assert!(post.contains("\r\n[2] the other part\r\n"), "{post}");
    assert!(
        post.contains("\r\n[2] gopher://hole.example:7070/0/posts/two.txt\r\n"),
        "{post}"
    );
    assert!(
        post.contains("\r\n .\r\n"),
        "the lone dot is indented: {post}"
    );
    // The series menu lists the parts in order, as on Gemini.
    let series = fetch(&server, "/series/sail/");
    let first = series.find("/posts/one.txt").unwrap();
    let second = series.find("/posts/two.txt").unwrap();
    assert!(first < second, "{series}");
    // Drafts are invisible here too; files are sent as they are.
    assert!(fetch(&server, "/posts/secret.txt").starts_with('3'));
    assert_eq!(
        server.gopher(b"/image.png\r\n"),
        std::fs::read(server.capsule().join("image.png")).unwrap()
    );
    assert_eq!(fetch(&server, "/notes.txt"), "plain text\n");
}

#[test]
fn menus_name_the_first_hostname_and_the_listening_port_by_default() {
    let server = hole("");
    let port = server.gopher_addr().port().to_string();
    let menu = fetch(&server, "/");
    let items = check_menu("/", &menu);
    assert!(!items.is_empty());
    for (_, selector, host, item_port) in items {
        if !selector.starts_with("URL:") {
            assert_eq!(
                (host.as_str(), item_port.as_str()),
                ("localhost", port.as_str())
            );
        }
    }
    // `/` and the empty selector are the same menu; a folder asked without its slash too.
    assert_eq!(fetch(&server, ""), menu);
    assert_eq!(fetch(&server, "/docs"), fetch(&server, "/docs/"));
}

#[test]
fn hostile_selectors_get_an_error_that_does_not_echo_them() {
    let server = hole("");
    let long = format!("/{}", "a".repeat(2000));
    let requests: Vec<Vec<u8>> = vec![
        b"/../../etc/passwd\r\n".to_vec(),
        b"/posts/../../etc/passwd\r\n".to_vec(),
        b"/about.txt\0junk\r\n".to_vec(),
        b"/.secret\r\n".to_vec(),
        b"/.git/config\r\n".to_vec(),
        b"/posts/one.md\r\n".to_vec(),
        b"/nothing-here.txt\r\n".to_vec(),
        b"\xff\xfe\x00binary\x01\x02\r\n".to_vec(),
        format!("{long}\r\n").into_bytes(),
        long.clone().into_bytes(),
    ];
    for request in requests {
        let answer = String::from_utf8_lossy(&server.gopher(&request)).into_owned();
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        assert!(answer.starts_with('3'), "{shown:?}: {answer:?}");
        assert!(
            answer.ends_with("\terror.host\t1\r\n.\r\n"),
            "{shown:?}: {answer:?}"
        );
        for echo in [
            "passwd",
            "junk",
            "secret",
            "binary",
            "aaaaaaaa",
            "nothing-here",
        ] {
            assert!(!answer.contains(echo), "{shown:?} echoed: {answer:?}");
        }
    }
    server.wait_log("the error answers in the access log", |l| {
        l.contains("status=3")
    });
}

#[test]
fn an_over_long_selector_ended_by_a_half_close_is_too_long_not_cut() {
    let server = hole("");
    // No line end: the client closes its side after the selector.
    let half_closed = |request: String| {
        let mut stream = TcpStream::connect(server.gopher_addr()).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    // 1,025 bytes: not cut to 1,024 (which could name another item), but refused.
    let answer = half_closed(format!("/about.txt\t{}", "x".repeat(1014)));
    assert!(answer.starts_with("3Request too long"), "{answer:?}");
    // At the limit, the same selector is served.
    let answer = half_closed(format!("/about.txt\t{}", "x".repeat(1013)));
    assert!(answer.starts_with("About\r\n"), "{answer:?}");
}

#[test]
fn url_pages_are_made_only_for_links_not_scripts() {
    let server = hole("");
    for selector in [
        "URL:javascript:alert(1)",
        "URL:data:text/html,<b>x",
        "URL:nothing",
    ] {
        let answer = fetch(&server, selector);
        assert!(answer.starts_with('3'), "{selector}: {answer:?}");
        assert!(
            !answer.contains("alert") && !answer.contains("<b>"),
            "{answer:?}"
        );
    }
    assert!(fetch(&server, "URL:gemini://example.org/").contains("gemini://example.org/"));
}

#[test]
fn line_ends_split_requests_probes_and_special_selectors() {
    let server = hole("");
    // A lone LF, and a request that arrives in two pieces.
    assert!(fetch(&server, "/about.txt").starts_with("About\r\n"));
    assert!(String::from_utf8_lossy(&server.gopher(b"/about.txt\n")).starts_with("About\r\n"));
    let mut stream = TcpStream::connect(server.gopher_addr()).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(b"/about").unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    stream.write_all(b".txt\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("About\r\n"), "{answer}");
    // A search query after a TAB is parsed and (with no search here) ignored.
    assert!(fetch(&server, "/about.txt\tsome words").starts_with("About\r\n"));
    // The UMN client's Gopher+ probe of the root.
    let plus = fetch(&server, "\t$");
    assert!(
        plus.starts_with("+-1\r\n+INFO: 1Main menu\t\tlocalhost\t"),
        "{plus}"
    );
    assert!(plus.ends_with("\r\n.\r\n"));
    assert!(fetch(&server, "caps.txt").starts_with("CAPS\r\n"));
    let redirect = fetch(&server, "URL:https://example.org/?a=<b>");
    assert!(
        redirect.contains("https://example.org/?a=&lt;b&gt;"),
        "{redirect}"
    );
    assert!(fetch(&server, "GET / HTTP/1.1").starts_with("HTTP/1.0 400 Bad Request\r\n"));
}

#[test]
fn a_silent_client_is_dropped_after_the_request_timeout() {
    let server = hole("[limits]\nrequest_timeout = 1\n");
    let mut stream = TcpStream::connect(server.gopher_addr()).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut answer = Vec::new();
    // Closed by the server, with nothing sent.
    let _ = stream.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{answer:?}");
    server.wait_log("the timeout", |l| l.contains("request timed out"));
}

#[test]
fn new_posts_reach_gopher_readers_without_a_restart() {
    let server = hole("");
    write(
        &server.capsule().join("posts"),
        "three.md",
        "---\ntitle: Third\ndate: 2024-03-01\nseries: Sail\npart: 3\n---\nMore.\n",
    );
    let deadline = std::time::Instant::now() + DEADLINE;
    while !fetch(&server, "/series/sail/").contains("/posts/three.txt") {
        assert!(
            std::time::Instant::now() < deadline,
            "the new part never showed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(fetch(&server, "/posts/three.txt").starts_with("Third\r\n"));
}

#[test]
fn a_selector_cannot_forge_access_log_fields() {
    let server = hole("");
    let _ = fetch(&server, "/nothing status=20 bytes=999 path=/forged");
    let line = server.wait_log("the access line", |l| l.contains("nothing"));
    assert!(
        line.contains(r#"path="/nothing status=20 bytes=999 path=/forged""#),
        "{line}"
    );
    assert!(line.contains("status=3"), "{line}");
}

/// A renamed series' old menu shows the series (Gopher has no redirect).
#[test]
fn a_series_alias_shows_the_series_menu() {
    let server = hole("[series.\"Sail\"]\nslug = \"sailing\"\naliases = [\"old-sail\"]\n");
    let moved = fetch(&server, "/series/old-sail/");
    let current = fetch(&server, "/series/sailing/");
    assert!(current.contains("First"), "{current}");
    assert_eq!(moved, current);
}

/// A post with footnotes and links, read as Gopher text: links are `[N]` where they stand and
/// in the list at the end, footnotes `[^N]` in the prose and under "Notes", and a `[N]` the
/// author wrote stays as written.
#[test]
fn footnotes_and_links_read_apart_in_gopher_text() {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    write(
        &setup.path().join("capsule/posts"),
        "power.md",
        "---\ntitle: Power\ndate: 2024-01-01\nseries: Pi\npart: 1\n---\n\
         The Pi draws little power.[^watts] See [the spec](https://example.org/spec).\n\n\
         A literal [7] of the author's, and another claim.[^home]\n\n\
         [^watts]: About 3 W idle, per [the datasheet](https://example.org/ds).\n\
         [^home]: Measured at home.\n",
    );
    let server = setup.start();
    let text = fetch(&server, "/posts/power.txt");
    let lines: Vec<&str> = text.split("\r\n").collect();
    for expected in [
        "The Pi draws little power.[^1] See the spec.",
        "[1] Series index",
        "[2] the spec",
        "A literal [7] of the author's, and another claim.[^2]",
        "[^1] About 3 W idle, per the datasheet.",
        "[3] the datasheet",
        "[^2] Measured at home.",
        "[2] https://example.org/spec",
        "[3] https://example.org/ds",
    ] {
        assert!(lines.contains(&expected), "{expected:?} in\n{text}");
    }
    // Every `[N]` left is a link with an entry in the list; no footnote is written `[N]`.
    let listed: Vec<&str> = lines
        .iter()
        .skip_while(|l| **l != "Links:")
        .filter_map(|l| l.split_once(' ').map(|(n, _)| n))
        .collect();
    for line in lines.iter().take_while(|l| **l != "Links:") {
        for (at, _) in line.match_indices('[') {
            let Some(close) = line[at..].find(']') else {
                continue;
            };
            let mark = &line[at..=at + close];
            if mark[1..mark.len() - 1].bytes().all(|b| b.is_ascii_digit()) && mark != "[7]" {
                assert!(
                    listed.contains(&mark),
                    "{mark} in {line:?} is no link:\n{text}"
                );
            }
        }
    }
}
