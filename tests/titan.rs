//! Titan on the Gemini port: an author publishes, replaces, edits and deletes posts from a
//! client with a certificate made here, over real TLS; everything refused is refused before a
//! byte of the body is sent, and nothing is ever written where it must not be.

use std::io::Write;
use std::time::Duration;

use crate::common::identity::{ClientCert, anonymous, send};
use crate::common::{Exchange, Setup, TestServer, connect_with, finish, write};

struct Capsule {
    server: TestServer,
    author: ClientCert,
}

/// A series of two parts, Titan on for `author`, with `extra` settings in `[titan]` and
/// `more` after it.
fn capsule(extra: &str, more: &str) -> Capsule {
    let author = ClientCert::new();
    let config = format!(
        "[titan]\nenabled = true\nfingerprints = [\"{}\"]\n{extra}\n{more}",
        author.fingerprint()
    );
    let setup = Setup::new().config(&config);
    let posts = setup.path().join("capsule/posts");
    let part = |file: &str, title: &str, date: &str, part: u32| {
        write(&posts, file, post(title, date, part));
    };
    part("first.md", "The First Lesson", "2024-03-04", 1);
    part("knots.md", "Knots", "2024-03-11", 2);
    Capsule {
        server: setup.start(),
        author,
    }
}

impl Capsule {
    /// `titan://localhost:<port><path>` and the parameters.
    fn url(&self, path_and_params: &str) -> String {
        format!("titan://localhost:{}{path_and_params}", self.server.port())
    }

    /// Sends a Titan request line and body as the author.
    fn upload(&self, path_and_params: &str, body: &[u8]) -> Exchange {
        self.upload_as(self.author.client(), path_and_params, body)
    }

    fn upload_as(
        &self,
        client: std::sync::Arc<rustls::ClientConfig>,
        path_and_params: &str,
        body: &[u8],
    ) -> Exchange {
        let mut request = format!("{}\r\n", self.url(path_and_params)).into_bytes();
        request.extend_from_slice(body);
        send(self.server.addr(), client, &request).unwrap()
    }

    /// Uploads `text` as the author to a path (and parameters), its size added last.
    fn put(&self, path_and_params: &str, text: &str) -> Exchange {
        let with_size = format!("{path_and_params};size={}", text.len());
        self.upload(&with_size, text.as_bytes())
    }

    /// Sends only the request line and reads the answer: it must come before any body.
    fn header_only(&self, client: std::sync::Arc<rustls::ClientConfig>, line: &str) -> String {
        let mut conn = connect_with(self.server.addr(), Some("localhost"), client).unwrap();
        conn.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        conn.flush().unwrap();
        finish(conn).unwrap().header().to_owned()
    }

    fn file(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.server.capsule().join(relative)).ok()
    }
}

fn post(title: &str, date: &str, part: u32) -> String {
    format!(
        "---\ntitle: {title}\ndate: {date}\nseries: Sailing\npart: {part}\n---\nText of {title}.\n"
    )
}

#[test]
fn a_new_post_is_served_listed_and_navigated() {
    let c = capsule("", "");
    let s = &c.server;
    let body = post("Reading the Wind", "2024-03-20", 3);
    let answer = c.put("/posts/wind.md;mime=text/markdown", &body);
    answer.expect("30");
    assert_eq!(
        answer.meta(),
        format!("gemini://localhost:{}/posts/wind.gmi", s.port())
    );
    assert_eq!(c.file("posts/wind.md").as_deref(), Some(body.as_str()));
    s.wait_text("/posts/wind.gmi", "Text of Reading the Wind.");
    s.wait_text("/archive/", "Reading the Wind");
    s.wait_text("/series/sailing/", "Reading the Wind");
    s.wait_text("/posts/knots.gmi", "/posts/wind.gmi");
    s.wait_text("/atom.xml", "Reading the Wind");
    s.wait_log("the upload in the log", |l| {
        l.contains("published from a Gemini client") && l.contains("posts/wind.md")
    });
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(s.capsule().join("posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn replacing_a_post_with_lagranges_text_plain_and_charset() {
    let c = capsule("", "");
    let body = post("Knots, Revised", "2024-03-11", 2);
    // Lagrange: explicit port, `mime=text/plain; charset=utf-8` with its space, size last.
    let answer = c.upload(
        &format!(
            "/posts/knots.md;mime=text/plain; charset=utf-8;size={}",
            body.len()
        ),
        body.as_bytes(),
    );
    answer.expect("30");
    assert_eq!(c.file("posts/knots.md").as_deref(), Some(body.as_str()));
    c.server
        .wait_text("/posts/knots.gmi", "Text of Knots, Revised.");
    // Parameters in another order, the token-less form, and a `.gmi` URL of the post: its
    // Markdown source is what is written.
    let body = post("Knots Again", "2024-03-11", 2);
    let answer = c.upload(
        &format!("/posts/knots.gmi;size={};mime=text/gemini", body.len()),
        body.as_bytes(),
    );
    answer.expect("30");
    assert!(answer.meta().ends_with("/posts/knots.gmi"));
    assert_eq!(c.file("posts/knots.md").as_deref(), Some(body.as_str()));
    assert!(c.file("posts/knots.gmi").is_none());
    c.server
        .wait_text("/posts/knots.gmi", "Text of Knots Again.");
}

#[test]
fn edit_returns_the_source_and_a_round_trip_changes_the_post() {
    let c = capsule("", "");
    let source = c.file("posts/first.md").unwrap();
    let answer = c.upload("/posts/first.gmi;edit", b"");
    answer.expect("20");
    assert_eq!(answer.meta(), "text/markdown; charset=utf-8");
    assert_eq!(answer.body_text(), source);
    // The author changes it and sends it back to the same URL, as text/plain.
    let changed = source.replace("Text of The First Lesson.", "Rewritten on the water.");
    let answer = c.put("/posts/first.gmi;mime=text/plain", &changed);
    answer.expect("30");
    assert_eq!(c.file("posts/first.md").as_deref(), Some(changed.as_str()));
    c.server
        .wait_text("/posts/first.gmi", "Rewritten on the water.");
    assert_eq!(c.upload("/posts/first.md;edit", b"").body_text(), changed);
    // Gemtext pages are edited as gemtext; a missing page is 51; an edit has no body.
    write(&c.server.capsule(), "posts/note.gmi", "# Note\n");
    let note = c.upload("/posts/note.gmi;edit", b"");
    note.expect("20");
    assert_eq!(note.meta(), "text/gemini; charset=utf-8");
    assert_eq!(note.body_text(), "# Note\n");
    c.upload("/posts/none.gmi;edit", b"").expect("51");
    c.upload("/posts/first.gmi;edit", b"extra").expect("59");
    c.upload("/posts/first.gmi;edit;size=3", b"abc")
        .expect("59");
    // Only the author may read sources.
    let reader = c.upload_as(anonymous(), "/posts/first.gmi;edit", b"");
    reader.expect("60");
}

#[test]
fn refusals_come_before_the_body_and_write_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let c = capsule("max_size = 100", "");
    let capsule_dir = c.server.capsule();
    std::os::unix::fs::symlink(outside.path(), capsule_dir.join("posts/out")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("f.md"), capsule_dir.join("posts/f.md"))
        .unwrap();
    let author = || c.author.client();
    let cases: Vec<(std::sync::Arc<rustls::ClientConfig>, String, &str, &str)> = vec![
        (author(), c.url("/posts/big.md;size=101"), "59", "100 bytes"),
        (author(), c.url("/posts/x.md"), "59", "size"),
        (author(), c.url("/posts/x.md;size=ten"), "59", "size"),
        (author(), c.url("/posts/../about.gmi;size=5"), "59", ".."),
        (
            author(),
            c.url("/posts/%2e%2e/about.gmi;size=5"),
            "59",
            "..",
        ),
        (
            author(),
            c.url("/posts/.hidden.md;size=5"),
            "59",
            "Dot-files",
        ),
        (author(), c.url("/.git/config;size=5"), "59", "Dot-files"),
        (
            author(),
            c.url("/posts/out/x.md;size=5"),
            "59",
            "symbolic link",
        ),
        (author(), c.url("/posts/f.md;size=5"), "59", "symbolic link"),
        (author(), c.url("/about.gmi;size=5"), "61", "[titan] paths"),
        (author(), c.url("/posts;size=5"), "61", "[titan] paths"),
        (
            author(),
            c.url("/posts/x.md;size=0"),
            "61",
            "Deleting is not allowed",
        ),
        (
            anonymous(),
            c.url("/posts/x.md;size=5"),
            "60",
            "certificate",
        ),
        (
            ClientCert::new().client(),
            c.url("/posts/x.md;size=5"),
            "61",
            "may not publish",
        ),
        (
            author(),
            "titan://elsewhere.example/posts/x.md;size=5".to_owned(),
            "53",
            "not served",
        ),
    ];
    for (client, line, status, words) in cases {
        let header = c.header_only(client, &line);
        assert!(
            header.starts_with(&format!("{status} ")),
            "{line}: {header}"
        );
        assert!(header.contains(words), "{line}: {header}");
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(c.file("posts/x.md").is_none());
    assert!(c.file("posts/big.md").is_none());
    // A text target must be UTF-8; bytes may go anywhere else allowed.
    c.upload("/posts/bad.md;size=3", &[0xff, 0xfe, 0x00])
        .expect("59");
    assert!(c.file("posts/bad.md").is_none());
    c.upload("/posts/pic.png;mime=image/png;size=4", b"\x89PNG")
        .expect("30");
    assert_eq!(
        std::fs::read(c.server.capsule().join("posts/pic.png")).unwrap(),
        b"\x89PNG"
    );
    // More bytes than announced.
    c.upload("/posts/long.md;size=2", b"abcdef").expect("59");
    assert!(c.file("posts/long.md").is_none());
}

#[test]
fn a_short_or_silent_body_writes_nothing() {
    let c = capsule("", "[limits]\nrequest_timeout = 1\n");
    // Short: the client stops sending, then closes its side.
    let mut conn = connect_with(c.server.addr(), Some("localhost"), c.author.client()).unwrap();
    conn.write_all(format!("{}\r\n0123456789", c.url("/posts/short.md;size=100")).as_bytes())
        .unwrap();
    conn.flush().unwrap();
    conn.conn.send_close_notify();
    conn.conn.complete_io(&mut conn.sock).unwrap();
    let answer = finish(conn).unwrap();
    assert!(answer.raw.is_empty(), "{:?}", answer.text());
    // Silent: the request timeout closes it.
    let mut conn = connect_with(c.server.addr(), Some("localhost"), c.author.client()).unwrap();
    conn.write_all(format!("{}\r\nabc", c.url("/posts/silent.md;size=100")).as_bytes())
        .unwrap();
    conn.flush().unwrap();
    let answer = finish(conn).unwrap();
    assert!(answer.raw.is_empty(), "{:?}", answer.text());
    std::thread::sleep(Duration::from_millis(50));
    assert!(c.file("posts/short.md").is_none());
    assert!(c.file("posts/silent.md").is_none());
    let left: Vec<_> = std::fs::read_dir(c.server.capsule().join("posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    c.server
        .wait_log("the cut-short upload", |l| l.contains("upload cut short"));
    c.server
        .wait_log("the silent upload", |l| l.contains("upload timed out"));
}

#[test]
fn a_token_is_needed_right_and_never_logged() {
    let c = capsule("token = \"sea breeze\"", "");
    let body = post("Tides", "2024-03-18", 3);
    let path = format!("/posts/tides.md;size={}", body.len());
    let missing = c.upload(&path, body.as_bytes());
    missing.expect("61");
    assert!(missing.meta().contains("token"));
    c.upload(&format!("{path};token=sea%20breezy"), body.as_bytes())
        .expect("61");
    assert!(c.file("posts/tides.md").is_none());
    c.upload(&format!("{path};token=sea%20breeze"), body.as_bytes())
        .expect("30");
    assert_eq!(c.file("posts/tides.md").as_deref(), Some(body.as_str()));
    // The right token does not let in another certificate.
    c.upload_as(
        ClientCert::new().client(),
        &format!("{path};token=sea%20breeze"),
        body.as_bytes(),
    )
    .expect("61");
    c.server
        .wait_log("the upload", |l| l.contains("posts/tides.md"));
    let logs = c.server.logs().join("\n");
    assert!(!logs.contains("breeze"), "{logs}");
}

#[test]
fn titan_is_refused_where_it_is_off() {
    let server = Setup::new().start();
    let author = ClientCert::new();
    let line = format!(
        "titan://localhost:{}/posts/x.md;size=3\r\nabc",
        server.port()
    );
    let answer = send(server.addr(), author.client(), line.as_bytes()).unwrap();
    answer.expect("53");
    assert!(!server.capsule().join("posts/x.md").exists());
}

#[test]
fn delete_moves_to_the_trash_only_when_allowed() {
    let c = capsule("allow_delete = true", "");
    c.server.wait_text("/archive/", "Knots");
    // Lagrange's empty upload.
    let answer = c.upload("/posts/knots.gmi;mime=application/octet-stream;size=0", b"");
    answer.expect("20");
    assert!(answer.body_text().contains("posts/knots.md"));
    assert!(c.file("posts/knots.md").is_none());
    // In a folder named by the time, under its own path and name.
    let trash = c.server.capsule().join(".trash");
    let when: Vec<_> = std::fs::read_dir(&trash)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(when.len(), 1);
    let kept = trash.join(&when[0]).join("posts/knots.md");
    assert!(
        std::fs::read_to_string(&kept)
            .unwrap()
            .contains("Text of Knots.")
    );
    assert!(answer.body_text().contains(".trash"));
    c.server
        .wait_for("/posts/knots.gmi", "51", |a| a.status() == "51");
    c.server.wait_for("/archive/", "no Knots", |a| {
        !a.body_text().contains("Knots")
    });
    // The trash is never served.
    c.server
        .get(&c.server.url(&format!("/.trash/{}/posts/knots.md", when[0])))
        .expect("51");
    c.upload("/posts/knots.md;size=0", b"").expect("51");
    // Names as long as the file system takes fit beside the temporary name and in the trash.
    let long = format!("posts/{}.md", "n".repeat(252));
    let text = post("Long", "2024-03-23", 3);
    c.put(&format!("/{long}"), &text).expect("30");
    assert_eq!(c.file(&long).as_deref(), Some(text.as_str()));
    c.upload(&format!("/{long};size=0"), b"").expect("20");
    assert!(c.file(&long).is_none());
}

#[test]
fn what_would_not_be_published_as_written_is_refused_with_its_line() {
    let c = capsule("", "");
    // Front matter that does not parse: the author's client keeps the text to fix.
    let broken = "---\ntitle: Broken\ndate: 2024-03-20\ntags: [a,\n---\nText.\n";
    let answer = c.put("/posts/broken.md", broken);
    answer.expect("59");
    assert!(
        answer.meta().contains("posts/broken.md:"),
        "{}",
        answer.meta()
    );
    assert!(c.file("posts/broken.md").is_none());
    // Over an existing post: refused, the post as it was.
    let before = c.file("posts/knots.md").unwrap();
    let bad_date = "---\ntitle: Knots\ndate: yesterday-ish\n---\nText.\n";
    let answer = c.put("/posts/knots.gmi", bad_date);
    answer.expect("59");
    assert!(
        answer.meta().contains("posts/knots.md:3"),
        "{}",
        answer.meta()
    );
    assert_eq!(c.file("posts/knots.md").unwrap(), before);
    // A Markdown file whose hand-written .gmi twin is served in its place.
    write(&c.server.capsule(), "posts/twin.gmi", "# Twin\n");
    let text = post("Twin", "2024-03-21", 3);
    let answer = c.put("/posts/twin.md", &text);
    answer.expect("59");
    assert!(answer.meta().contains(".gmi"), "{}", answer.meta());
    assert!(c.file("posts/twin.md").is_none());
    // Gemtext by either extension must be UTF-8.
    c.upload("/posts/latin.gemini;size=3", b"caf\xe9"[..3].as_ref())
        .expect("30");
    c.upload("/posts/latin2.gemini;size=4", b"caf\xe9")
        .expect("59");
    assert!(c.file("posts/latin2.gemini").is_none());
    // A `;` in a file name must be encoded, or the upload would go elsewhere.
    c.upload("/posts/a;b.md;size=3", b"abc").expect("59");
    assert!(c.file("posts/a").is_none());
    let text = post("Semi", "2024-03-22", 4);
    let answer = c.put("/posts/a%3Bb.md", &text);
    answer.expect("30");
    assert!(
        answer.meta().ends_with("/posts/a%3Bb.gmi"),
        "{}",
        answer.meta()
    );
    c.server.wait_text("/archive/", "/posts/a%3Bb.gmi");
}

#[test]
fn an_author_passes_the_areas_of_what_they_write_or_read() {
    let reader = ClientCert::new();
    let c = capsule(
        "allow_delete = true",
        &format!(
            "[[area]]\npath = \"/posts/private/\"\nfingerprints = [\"{}\"]\n",
            reader.fingerprint()
        ),
    );
    write(
        &c.server.capsule(),
        "posts/private/p.md",
        post("Private", "2024-03-24", 7),
    );
    // The author may publish, but is not among those the area lets in.
    c.upload("/posts/private/p.gmi;edit", b"").expect("61");
    let text = post("Private, Rewritten", "2024-03-24", 7);
    c.put("/posts/private/p.md", &text).expect("61");
    c.put("/posts/private/new.md", &text).expect("61");
    c.upload("/posts/private/p.md;size=0", b"").expect("61");
    assert!(c.file("posts/private/p.md").unwrap().contains("Private"));
    assert!(c.file("posts/private/new.md").is_none());
}
