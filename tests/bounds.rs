//! What one page may cost, whatever an author sends: pages of links uploaded from a client
//! keep the server's memory flat and its log short, and a page too large to keep among the
//! rendered answers is made once and shared by every reader, not once per connection.

use crate::common::identity::{ClientCert, upload_link_pages};
use crate::common::{Setup, gopher_non_readers, memory_kib, write};

/// Ten uploads of a megabyte of `[a](b) ` each (about 150,000 links a page) took a server
/// from 8 to 851 MiB and wrote a warning per link. Now such a page is kept as text with one
/// warning, and the server's peak stays near where it started.
#[test]
fn pages_of_links_from_a_client_keep_memory_and_the_log_in_bounds() {
    let author = ClientCert::new();
    let config = author.titan_table();
    let server = Setup::new().config(&config).start();
    let started = memory_kib(&server, "VmHWM");
    let answer = upload_link_pages(&server, &author, 10);
    let peak = memory_kib(&server, "VmHWM");
    assert!(
        peak < started + 100 * 1024,
        "peak {peak} KiB, {started} KiB at start"
    );
    let warnings = server.count_logs("posts/links-");
    assert!(warnings < 100, "{warnings} log lines about the pages");
    // Kept as text, with one warning that says so.
    let text = answer.body_text();
    assert!(
        text.contains("[a](b) [a](b)") && !text.contains("=> b"),
        "{}",
        &text[..200]
    );
    server.wait_log("the tenth page's warning", |l| {
        l.contains("posts/links-9.md:5: warning: this page has") && l.contains("inline marks")
    });
}

/// A page's Gopher text, too large to keep once the answers kept are full, is made once and
/// held once, however many readers ask for it and stop reading.
#[test]
fn an_answer_too_large_to_keep_is_shared_by_its_readers() {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let capsule = setup.path().join("capsule");
    // Tags enough to fill the answers kept (4,096) with their menus.
    let tags: Vec<String> = (0..4200).map(|i| format!("t{i}")).collect();
    write(
        &capsule,
        "posts/2024-01-01-tagged.md",
        format!("---\ntags: [{}]\n---\nTagged.\n", tags.join(", ")),
    );
    // Three megabytes of gemtext, whose Gopher text is made from it.
    let line = format!("{}\n", "word ".repeat(15));
    write(
        &capsule,
        "big.gmi",
        format!("# Big\n{}", line.repeat(40_000)),
    );
    let server = setup.listen("127.0.0.1:0").start();
    let gopher = server.gopher_addr();
    let fill = |from: usize, step: usize| {
        for tag in tags.iter().skip(from).step_by(step) {
            let menu = crate::common::gopher_at(gopher, format!("/tags/{tag}/\r\n").as_bytes());
            assert!(menu.ends_with(b".\r\n"));
        }
    };
    std::thread::scope(|s| {
        for from in 0..4 {
            s.spawn(move || fill(from, 4));
        }
    });
    // Once, read whole: what a reader gets.
    let text = crate::common::gopher_at(gopher, b"/big.gmi\r\n");
    assert!(text.len() > 3_000_000, "{}", text.len());
    let before = memory_kib(&server, "VmRSS");
    let readers = gopher_non_readers(gopher, "/big.gmi", 40);
    let after = memory_kib(&server, "VmRSS");
    assert!(
        after < before + 40 * 1024,
        "{after} KiB with 40 readers holding the page, {before} KiB before"
    );
    drop(readers);
}

/// A large page held in the snapshot is sent from it: Gemini readers that stop reading hold
/// a reference to the page, not a copy each.
#[test]
fn readers_of_a_large_page_share_it() {
    let setup = Setup::new();
    // Four megabytes of prose, under every bound: held whole in the snapshot.
    let line = format!("{}\n\n", "word ".repeat(20));
    write(
        &setup.path().join("capsule"),
        "big.md",
        format!("# Big\n\n{}", line.repeat(4_000_000 / line.len())),
    );
    let server = setup.start();
    let url = server.url("/big.gmi");
    server.get(&url).expect("20");
    let before = memory_kib(&server, "VmRSS");
    let readers = tls_non_readers(&server, &url, 40);
    let after = memory_kib(&server, "VmRSS");
    assert!(
        after < before + 40 * 1024,
        "{after} KiB with 40 readers holding the page, {before} KiB before"
    );
    drop(readers);
}

/// `count` TLS clients that ask for `url` and never read, returned once every answer has
/// begun: more bytes wait in each socket than the session ticket sent after the handshake.
fn tls_non_readers(
    server: &crate::common::TestServer,
    url: &str,
    count: usize,
) -> Vec<crate::common::Conn> {
    let readers: Vec<crate::common::Conn> = (0..count)
        .map(|_| crate::common::non_reader(server.addr(), format!("{url}\r\n").as_bytes()).unwrap())
        .collect();
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    for reader in &readers {
        reader.sock.set_nonblocking(true).unwrap();
        let mut waiting = [0u8; 4096];
        while !matches!(reader.sock.peek(&mut waiting), Ok(n) if n >= 2048) {
            assert!(
                std::time::Instant::now() < deadline,
                "an answer never began"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    readers
}
