//! Titan on the Gemini port: an author publishes, replaces, edits and deletes posts from a
//! client with a certificate made here, over real TLS; everything refused is refused before a
//! byte of the body is sent, and nothing is ever written where it must not be.

use std::io::Write;
use std::time::Duration;

use crate::common::identity::{ClientCert, anonymous, send, titan_put};
use crate::common::{Exchange, Setup, TestServer, connect_with, finish, run_cli, write};

struct Capsule {
    server: TestServer,
    author: ClientCert,
}

/// A series of two parts, Titan on for `author`, with `extra` settings in `[titan]` and
/// `more` after it.
fn capsule(extra: &str, more: &str) -> Capsule {
    capsule_with_top("", extra, more)
}

/// As [`capsule`], with `top` (daemon keys) written before the tables.
fn capsule_with_top(top: &str, extra: &str, more: &str) -> Capsule {
    let author = ClientCert::new();
    let config = format!(
        "{top}{}{extra}
{more}",
        author.titan_table()
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
        titan_put(
            &self.server,
            self.author.client(),
            path_and_params,
            text.as_bytes(),
        )
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

/// `paths = ["/"]` lets the author write anywhere: the quota then counts the whole capsule,
/// listed from its root.
#[test]
fn an_author_allowed_everywhere_writes_at_the_root_and_in_any_folder() {
    let c = capsule("paths = [\"/\"]", "");
    let s = &c.server;
    c.put("/hello.gmi", "# Hello\n").expect("30");
    s.wait_text("/hello.gmi", "# Hello");
    c.put("/writing/new.gmi", "# New\n").expect("30");
    s.wait_text("/writing/new.gmi", "# New");
    let body = post("Reading the Wind", "2024-03-20", 3);
    c.put("/posts/wind.md", &body).expect("30");
    s.wait_text("/posts/wind.gmi", "Text of Reading the Wind.");
    assert_eq!(c.file("hello.gmi").as_deref(), Some("# Hello\n"));
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
            "never served",
        ),
        // Outside the paths: 61 before any name problem.
        (
            author(),
            c.url("/.git/config;size=5"),
            "61",
            "[titan] paths",
        ),
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
    // Both are done with: a connection's line is logged once all its work is over.
    c.server
        .wait_log("the cut-short upload", |l| l.contains("upload cut short"));
    c.server
        .wait_log("the silent upload", |l| l.contains("upload timed out"));
    assert!(c.file("posts/short.md").is_none());
    assert!(c.file("posts/silent.md").is_none());
    let left: Vec<_> = std::fs::read_dir(c.server.capsule().join("posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
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

/// The versions kept in `.history/` of a file of the capsule: (file name, contents).
fn kept(c: &Capsule, file: &str) -> Vec<(String, String)> {
    let folder = c.server.capsule().join(".history").join(file);
    let mut versions: Vec<(String, String)> = std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_file())
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
}

#[test]
fn delete_keeps_the_file_in_the_history_only_when_allowed() {
    let c = capsule("allow_delete = true", "");
    c.server.wait_text("/archive/", "Knots");
    // Lagrange's empty upload.
    let answer = c.upload("/posts/knots.gmi;mime=application/octet-stream;size=0", b"");
    answer.expect("20");
    assert!(answer.body_text().contains("posts/knots.md"));
    assert!(
        answer
            .body_text()
            .contains("gemhole restore posts/knots.md")
    );
    assert!(c.file("posts/knots.md").is_none());
    // Under its own path, named by the time and why.
    let versions = kept(&c, "posts/knots.md");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].0.ends_with("Z.deleted"), "{versions:?}");
    assert!(versions[0].1.contains("Text of Knots."));
    c.server
        .wait_for("/posts/knots.gmi", "51", |a| a.status() == "51");
    c.server.wait_for("/archive/", "no Knots", |a| {
        !a.body_text().contains("Knots")
    });
    // The history is never served, over Gemini or Gopher, nor listed.
    let path = format!("/.history/posts/knots.md/{}", versions[0].0);
    c.server.get(&c.server.url(&path)).expect("51");
    c.upload("/posts/knots.md;size=0", b"").expect("51");
    // Names as long as the file system takes fit beside the temporary name and in the history.
    let long = format!("posts/{}.md", "n".repeat(252));
    let text = post("Long", "2024-03-23", 3);
    c.put(&format!("/{long}"), &text).expect("30");
    assert_eq!(c.file(&long).as_deref(), Some(text.as_str()));
    c.upload(&format!("/{long};size=0"), b"").expect("20");
    assert!(c.file(&long).is_none());
    assert_eq!(kept(&c, &long).len(), 1);
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
    let bad_date = "---\ntitle: Knots\ndate: yesterday-ish\nseries: Sailing\npart: 2\n---\nText.\n";
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

impl Capsule {
    /// A Gemini request for `path` with `client`'s certificate.
    fn get_as(&self, client: std::sync::Arc<rustls::ClientConfig>, path: &str) -> Exchange {
        let line = format!("gemini://localhost:{}{path}\r\n", self.server.port());
        send(self.server.addr(), client, line.as_bytes()).unwrap()
    }

    /// Asks for `path` with `client`'s certificate until it is served (`20`).
    fn wait_as(&self, client: std::sync::Arc<rustls::ClientConfig>, path: &str) -> Exchange {
        let deadline = std::time::Instant::now() + crate::common::DEADLINE;
        loop {
            let answer = self.get_as(client.clone(), path);
            if answer.status() == "20" {
                return answer;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path} never served: {}",
                answer.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The edit link an author sees under the page at `path`.
    fn edit_link(&self, path: &str) -> String {
        format!(
            "=> titan://localhost:{}{path};edit Edit this page",
            self.server.port()
        )
    }
}

/// Lagrange's own byte sequences: the `;edit` link opened with an explicit port and no token
/// (the author's identity of the gemini:// page), then the edited text sent back to the same
/// URL, parameters stripped and put back as Lagrange writes them (`mime=text/plain`, the size,
/// the token percent-encoded). The round trip keeps the post whole, in its series, and the
/// version it replaced.
#[test]
fn lagranges_edit_round_trip_keeps_the_post_whole() {
    let c = capsule("token = \"sea breeze\"", "");
    let port = c.server.port();
    let source = c.file("posts/knots.md").unwrap();
    let edit = format!("titan://localhost:{port}/posts/knots.gmi;edit\r\n");
    let fetched = send(c.server.addr(), c.author.client(), edit.as_bytes()).unwrap();
    fetched.expect("20");
    assert_eq!(fetched.meta(), "text/markdown; charset=utf-8");
    assert_eq!(fetched.body_text(), source);
    // Without the author's certificate there is no source to read.
    send(c.server.addr(), anonymous(), edit.as_bytes())
        .unwrap()
        .expect("60");
    let edited = fetched
        .body_text()
        .replace("Text of Knots.", "Text of Knots, retied.");
    let upload = |token: &str| {
        let mut bytes = format!(
            "titan://localhost:{port}/posts/knots.gmi;mime=text/plain;size={}{token}\r\n",
            edited.len()
        )
        .into_bytes();
        bytes.extend_from_slice(edited.as_bytes());
        send(c.server.addr(), c.author.client(), &bytes).unwrap()
    };
    // Writing needs the token; reading the source did not.
    upload("").expect("61");
    assert_eq!(c.file("posts/knots.md").unwrap(), source);
    let stored = upload(";token=sea%20breeze");
    stored.expect("30");
    assert_eq!(
        stored.meta(),
        format!("gemini://localhost:{port}/posts/knots.gmi")
    );
    assert_eq!(c.file("posts/knots.md").unwrap(), edited);
    let versions = kept(&c, "posts/knots.md");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].0.ends_with("Z.replaced"));
    assert_eq!(versions[0].1, source);
    // Still part 2 of its series, with its date.
    let page = c
        .server
        .wait_text("/posts/knots.gmi", "Text of Knots, retied.");
    assert!(
        page.body_text().contains("Part 2 of 2"),
        "{}",
        page.body_text()
    );
    c.server
        .wait_text("/series/sailing/", "2024-03-11 Part 2: Knots");
}

/// Lagrange's "Edit Page with Titan" fills its editor with the page as shown (gemtext, the
/// navigation and the edit link included) and sends it to the page's URL as text/plain:
/// never stored over a Markdown source, nor over a gemtext one, nor is a text that drops
/// front matter the file has.
#[test]
fn the_page_as_shown_is_never_stored_over_its_source() {
    let c = capsule("", "");
    let source = c.file("posts/knots.md").unwrap();
    let shown = c.get_as(c.author.client(), "/posts/knots.gmi");
    shown.expect("20");
    let shown = shown.body_text();
    assert!(shown.contains(&c.edit_link("/posts/knots.gmi")), "{shown}");
    let reader_view = c.server.get(&c.server.url("/posts/knots.gmi")).body_text();
    for (what, text) in [
        ("the author's view", shown.clone()),
        ("a reader's view", reader_view),
        (
            "a retouched view",
            shown.replace("Text of Knots.", "Knots, retouched."),
        ),
    ] {
        let answer = c.put("/posts/knots.gmi;mime=text/plain", &text);
        assert_eq!(answer.status(), "59", "{what}: {}", answer.text());
        assert!(
            answer
                .meta()
                .contains("posts/knots.md is written in Markdown")
                && answer.meta().contains("/posts/knots.gmi;edit"),
            "{what}: {}",
            answer.meta()
        );
    }
    // The source without its front matter, or without some keys.
    let body = source.split("---\n").nth(2).unwrap().to_owned();
    let answer = c.put(
        "/posts/knots.gmi;mime=text/plain",
        &format!("# Knots\n{body}"),
    );
    answer.expect("59");
    assert!(
        answer
            .meta()
            .contains("drops front matter posts/knots.md has (title, date, series, part)"),
        "{}",
        answer.meta()
    );
    let no_part = source.replace("part: 2\n", "");
    let answer = c.put("/posts/knots.gmi", &no_part);
    answer.expect("59");
    assert!(answer.meta().contains("(part)"), "{}", answer.meta());
    assert_eq!(c.file("posts/knots.md").unwrap(), source);
    assert!(kept(&c, "posts/knots.md").is_empty());
    // A key cleared on purpose is kept with no value.
    let cleared = source.replace("part: 2\n", "part:\n");
    c.put("/posts/knots.gmi", &cleared).expect("30");
    assert_eq!(c.file("posts/knots.md").unwrap(), cleared);
    // A gemtext post: the lines the server adds to it as shown are not the author's.
    write(
        &c.server.capsule(),
        "posts/tide.gmi",
        "# Tide\n\nHand-written.\n",
    );
    c.server.wait_text("/posts/tide.gmi", "Hand-written.");
    let shown = c.get_as(c.author.client(), "/posts/tide.gmi").body_text();
    assert!(shown.contains(&c.edit_link("/posts/tide.gmi")), "{shown}");
    let answer = c.put("/posts/tide.gmi;mime=text/plain", &shown);
    answer.expect("59");
    assert!(
        answer.meta().contains("Edit this page"),
        "{}",
        answer.meta()
    );
    assert_eq!(
        c.file("posts/tide.gmi").unwrap(),
        "# Tide\n\nHand-written.\n"
    );
    // Its own text edited is stored.
    c.put("/posts/tide.gmi;mime=text/plain", "# Tide\n\nRewritten.\n")
        .expect("30");
}

#[test]
fn every_version_is_kept_and_can_be_put_back() {
    let c = capsule("allow_delete = true", "");
    let dir = c.server.dir.path();
    let original = c.file("posts/knots.md").unwrap();
    let second = post("Knots", "2024-03-11", 2).replace("Text of", "Second text of");
    let third = post("Knots", "2024-03-11", 2).replace("Text of", "Third text of");
    c.put("/posts/knots.gmi", &second).expect("30");
    c.put("/posts/knots.gmi", &third).expect("30");
    c.upload("/posts/knots.gmi;size=0", b"").expect("20");
    let versions = kept(&c, "posts/knots.md");
    let texts: Vec<&str> = versions.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, [original.as_str(), second.as_str(), third.as_str()]);
    assert!(versions[2].0.ends_with(".deleted") && versions[0].0.ends_with(".replaced"));
    c.server
        .wait_for("/posts/knots.gmi", "51", |a| a.status() == "51");
    let (status, out, err) = run_cli(dir, &["history"]);
    assert!(status.success(), "{err}");
    assert!(out.starts_with("posts/knots.md\n"), "{out}");
    assert_eq!(out.matches("  replaced  ").count(), 2, "{out}");
    assert_eq!(out.matches("  deleted   ").count(), 1, "{out}");
    assert!(out.contains("3 version(s) of 1 file(s)"), "{out}");
    let (_, by_url, _) = run_cli(dir, &["history", "/posts/knots.gmi"]);
    assert_eq!(by_url, out);
    // A post's URL names its source, its `slug` included.
    write(
        &c.server.capsule(),
        "posts/2024-01-01-long-name.md",
        "---\nslug: short\n---\nOne.\n",
    );
    c.server.wait_text("/posts/short.gmi", "One.");
    c.put("/posts/short.gmi", "---\nslug: short\n---\nTwo.\n")
        .expect("30");
    let (_, by_slug, _) = run_cli(dir, &["history", "/posts/short.gmi"]);
    assert!(
        by_slug.starts_with("posts/2024-01-01-long-name.md\n"),
        "{by_slug}"
    );
    // The newest comes back by default: the deleted text, served again.
    let (status, out, err) = run_cli(dir, &["restore", "posts/knots.md"]);
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("when it was deleted"), "{out}");
    assert_eq!(c.file("posts/knots.md").unwrap(), third);
    c.server
        .wait_text("/posts/knots.gmi", "Third text of Knots.");
    // An older one by the start of its time; what it replaces is kept in turn.
    let when = &versions[0].0[..23];
    let (status, out, err) = run_cli(dir, &["restore", "/posts/knots.gmi", when]);
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("the version it replaced is kept too"), "{out}");
    assert_eq!(c.file("posts/knots.md").unwrap(), original);
    assert_eq!(kept(&c, "posts/knots.md").len(), 4);
    c.server.wait_text("/posts/knots.gmi", "Text of Knots.");
    // A version that is not there is named as such.
    let (status, _, err) = run_cli(dir, &["restore", "posts/knots.md", "1999"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        err.contains("no kept version of posts/knots.md starts with `1999`"),
        "{err}"
    );
    let (status, _, err) = run_cli(dir, &["restore", "../etc/passwd"]);
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("is no file of the capsule"), "{err}");
}

/// Authors browsing with their certificate see a link to edit each page they may; readers'
/// pages are the same bytes whoever asks, and never have one.
#[test]
fn authors_see_an_edit_link_readers_never_do() {
    let member = ClientCert::new();
    let c = capsule(
        "paths = [\"/posts/\", \"/notes/\"]",
        &format!(
            "[[area]]\npath = \"/posts/private/\"\nfingerprints = [\"{}\"]\n",
            member.fingerprint()
        ),
    );
    let reader = c.server.get(&c.server.url("/posts/knots.gmi"));
    reader.expect("20");
    let stranger = c.get_as(ClientCert::new().client(), "/posts/knots.gmi");
    assert_eq!(reader.raw, stranger.raw);
    assert!(!reader.text().contains("titan://"));
    let author = c.get_as(c.author.client(), "/posts/knots.gmi");
    assert_eq!(
        author.body_text(),
        format!(
            "{}\n{}\n",
            reader.body_text(),
            c.edit_link("/posts/knots.gmi")
        )
    );
    // Pages outside [titan] paths, generated pages and a folder's index by its file.
    for path in ["/", "/archive/", "/series/sailing/", "/atom.xml"] {
        let page = c.get_as(c.author.client(), path);
        page.expect("20");
        assert!(!page.text().contains("titan://"), "{path}: {}", page.text());
    }
    write(&c.server.capsule(), "notes/index.md", "# All the notes\n");
    let index = c.server.wait_text("/notes/", "All the notes");
    assert!(!index.text().contains("titan://"));
    let index = c.get_as(c.author.client(), "/notes/");
    assert!(
        index.body_text().contains(&c.edit_link("/notes/index.gmi")),
        "{}",
        index.body_text()
    );
    // A page in an area that does not let the author in: no link (nor page).
    write(
        &c.server.capsule(),
        "posts/private/p.md",
        post("Private", "2024-03-24", 7),
    );
    let private = c.wait_as(member.client(), "/posts/private/p.gmi");
    assert!(!private.text().contains("titan://"));
    // A draft the author previews has its link too.
    write(
        &c.server.capsule(),
        "posts/draft.md",
        "---\ntitle: Draft\ndraft: true\n---\nNot yet.\n",
    );
    let draft = c.wait_as(c.author.client(), "/posts/draft.gmi");
    assert!(draft.body_text().contains(&c.edit_link("/posts/draft.gmi")));
    c.server.get(&c.server.url("/posts/draft.gmi")).expect("51");
}

/// Uploads are checked in the order an author can act on: a place they may not write (or an
/// area that refuses them) is `61` whatever the name; then a name the server never serves is
/// `59`.
#[test]
fn checks_come_in_the_order_an_author_can_act_on() {
    let c = capsule(
        "",
        &format!(
            "[[area]]\npath = \"/posts/private/\"\nfingerprints = [\"{}\"]\n",
            ClientCert::new().fingerprint()
        ),
    );
    let cases = [
        ("/about~;size=5", "61", "[titan] paths"),
        ("/.git/config;size=5", "61", "[titan] paths"),
        ("/posts/private/x~;size=5", "61", "not let into this part"),
        ("/posts/x.md~;size=0", "61", "Deleting is not allowed"),
        ("/posts/x.md~;size=5", "59", "never served"),
        ("/posts/x.swp;size=5", "59", "never served"),
        ("/posts/X.TMP;size=5", "59", "never served"),
        ("/posts/4913;size=5", "59", "never served"),
        ("/posts/.x.md;size=5", "59", "never served"),
        ("/posts/a/.git/x.md;size=5", "59", "never served"),
        ("/posts/x.md;size=1048577", "59", "1048576 bytes"),
        (
            "/posts/1/2/3/4/5/6/7/8/9/10/11/x.md;size=5",
            "59",
            "more than 12 names deep",
        ),
    ];
    for (path, status, words) in cases {
        let header = c.header_only(c.author.client(), &c.url(path));
        assert!(
            header.starts_with(&format!("{status} ")) && header.contains(words),
            "{path}: {header}"
        );
    }
    let names: Vec<_> = std::fs::read_dir(c.server.capsule().join("posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// A post that holds a URL keeps it: an upload asking for it (by `slug` or by name) is
/// refused naming the holder, and a file dropped in by hand gets the error instead.
#[test]
fn a_url_a_post_holds_is_never_taken() {
    let c = capsule("", "");
    write(
        &c.server.capsule(),
        "posts/slugged.md",
        "---\ntitle: Holder\ndate: 2024-05-01\nslug: hello\n---\nThe holder.\n",
    );
    c.server.wait_text("/posts/hello.gmi", "The holder.");
    let taker = "---\ntitle: Taker\ndate: 2020-01-01\nslug: hello\n---\nThe taker.\n";
    let answer = c.put("/posts/aaa.md", taker);
    answer.expect("59");
    assert!(
        answer.meta().contains("/posts/hello.gmi")
            && answer.meta().contains("posts/slugged.md")
            && answer.meta().contains("`slug`"),
        "{}",
        answer.meta()
    );
    let answer = c.put(
        "/posts/hello.md",
        "---\ntitle: By name\ndate: 2020-01-01\n---\nMine.\n",
    );
    answer.expect("59");
    assert!(
        answer.meta().contains("posts/slugged.md"),
        "{}",
        answer.meta()
    );
    assert!(c.file("posts/aaa.md").is_none() && c.file("posts/hello.md").is_none());
    // Nor by a folder of that name, made by an upload of a file in it.
    let answer = c.upload("/posts/hello.gmi/cat.png;mime=image/png;size=4", b"\x89PNG");
    answer.expect("59");
    assert!(
        answer
            .meta()
            .contains("/posts/hello.gmi is the URL of posts/slugged.md"),
        "{}",
        answer.meta()
    );
    assert!(!c.server.capsule().join("posts/hello.gmi").exists());
    // The URL's own source is the holder's: that is what an edit of it reaches.
    let source = c.upload("/posts/hello.gmi;edit", b"");
    assert!(source.body_text().contains("The holder."));
    // Two uploads one after the other: the second sees the first's URL taken.
    c.put(
        "/posts/Beta-Post.md",
        "---\ntitle: Beta\ndate: 2024-05-02\n---\nBeta.\n",
    )
    .expect("30");
    let answer = c.put(
        "/posts/evil.md",
        "---\ntitle: Evil\ndate: 2020-01-01\nslug: Beta-Post\n---\nEvil.\n",
    );
    answer.expect("59");
    assert!(
        answer.meta().contains("posts/Beta-Post.md"),
        "{}",
        answer.meta()
    );
    // Dropped in by hand, older: served at its own name, the holder keeps its URL.
    write(&c.server.capsule(), "posts/aaa.md", taker);
    c.server.wait_text("/posts/aaa.gmi", "The taker.");
    c.server.wait_log("the newcomer's error", |l| {
        l.contains("posts/aaa.md:4: error: `slug` `hello` asks for /posts/hello.gmi, which posts/slugged.md holds")
    });
    c.server.wait_text("/posts/hello.gmi", "The holder.");
    // A folder of that name made by hand does not take it either.
    std::fs::create_dir(c.server.capsule().join("posts/hello.gmi")).unwrap();
    write(
        &c.server.capsule(),
        "posts/touch.md",
        "---\ndate: 2024-05-03\n---\nTouch.\n",
    );
    c.server.wait_text("/posts/touch.gmi", "Touch.");
    c.server.wait_text("/posts/hello.gmi", "The holder.");
}

/// The page an upload is sent to is the one it wrote: the answer waits (a moment) for the
/// snapshot that shows it, so a client following the redirect at once reads it.
#[test]
fn the_redirect_of_an_upload_shows_what_it_wrote() {
    let c = capsule("", "");
    for i in 0..3 {
        let text = format!(
            "---\ntitle: Fresh {i}\ndate: 2024-06-0{}\nslug: fresh-{i}\n---\nVersion {i}.\n",
            i + 1
        );
        let answer = c.put(&format!("/posts/2024-06-0{}-fresh.md", i + 1), &text);
        answer.expect("30");
        // At its `slug`'s URL, at once.
        let url = answer.meta().to_owned();
        assert!(url.ends_with(&format!("/posts/fresh-{i}.gmi")), "{url}");
        let page = c.server.get(&url);
        page.expect("20");
        assert!(page.body_text().contains(&format!("Version {i}.")));
        // An edit too.
        let edited = text.replace(&format!("Version {i}."), &format!("Edited {i}."));
        let answer = c.put(&format!("/posts/fresh-{i}.gmi"), &edited);
        answer.expect("30");
        assert!(
            c.server
                .get(answer.meta())
                .body_text()
                .contains(&format!("Edited {i}."))
        );
    }
}

/// Front matter sent to a gemtext page would be shown to readers, its `draft` not obeyed.
#[test]
fn front_matter_is_never_stored_in_a_gemtext_page() {
    let c = capsule("", "");
    let text = "---\ntitle: Secret plan\ndate: 2024-06-03\ndraft: true\n---\nNot yet.\n";
    let answer = c.put("/posts/2024-06-03-secret-plan.gmi;mime=text/plain", text);
    answer.expect("59");
    assert!(
        answer
            .meta()
            .contains("Upload it to the Markdown name (posts/2024-06-03-secret-plan.md)"),
        "{}",
        answer.meta()
    );
    assert!(c.file("posts/2024-06-03-secret-plan.gmi").is_none());
    // To the Markdown name, it is a draft, held back.
    c.put("/posts/2024-06-03-secret-plan.md", text).expect("30");
    c.server
        .get(&c.server.url("/posts/2024-06-03-secret-plan.gmi"))
        .expect("51");
}

/// Each folder counts for a block of the disk.
const FOLDER_BYTES: usize = 4096;

#[test]
fn the_quota_counts_uploads_kept_versions_and_folders() {
    // What the capsule's two posts hold, then two uploads of 301 bytes and the history's two
    // folders (`.history/posts/`, `.history/posts/filler.md/`): room for those, not a third.
    let first = post("The First Lesson", "2024-03-04", 1).len();
    let knots = post("Knots", "2024-03-11", 2).len();
    let held = first + knots + 2 * 301 + 2 * FOLDER_BYTES;
    let quota = held + 300;
    let c = capsule(&format!("quota = {quota}\nallow_delete = true"), "");
    let text = |n: usize| {
        let mut t = post("Filler", "2024-04-01", 9);
        t.push_str(&"x".repeat(300 - t.len() - n.to_string().len()));
        t.push_str(&n.to_string());
        t.push('\n');
        t
    };
    c.put("/posts/filler.md", &text(1)).expect("30");
    // Replacing keeps the old version: it counts too.
    c.put("/posts/filler.md", &text(2)).expect("30");
    let answer = c.put("/posts/filler.md", &text(3));
    answer.expect("59");
    assert!(
        answer
            .meta()
            .contains(&format!("hold {held} bytes of {quota} bytes"))
            && answer.meta().contains("this upload is 301 bytes"),
        "{}",
        answer.meta()
    );
    assert!(c.file("posts/filler.md").unwrap().ends_with("2\n"));
    // Deleting moves bytes, it adds none: allowed over the quota.
    c.upload("/posts/filler.md;size=0", b"").expect("20");
}

/// Uploads that each fit the quota before their bodies arrive, sent at once, are written
/// only as far as it goes: the quota is counted again as each is written.
#[test]
fn uploads_at_once_cannot_pass_the_quota_together() {
    let first = post("The First Lesson", "2024-03-04", 1).len();
    let knots = post("Knots", "2024-03-11", 2).len();
    // Room for two new posts of 300 bytes (with no folder made), not three.
    let quota = first + knots + 2 * 300 + 100;
    let c = capsule(&format!("quota = {quota}"), "");
    let body = |i: usize| {
        let mut t = post(&format!("Race {i}"), "2024-04-01", 9);
        t.push_str(&"x".repeat(299 - t.len()));
        t.push('\n');
        t
    };
    // Every request line first (each passes the quota as it is now), then every body.
    let mut conns: Vec<_> = (0..6)
        .map(|i| {
            let mut conn =
                connect_with(c.server.addr(), Some("localhost"), c.author.client()).unwrap();
            let line = c.url(&format!("/posts/race-{i}.md;size=300"));
            conn.write_all(format!("{line}\r\n").as_bytes()).unwrap();
            conn.flush().unwrap();
            conn
        })
        .collect();
    // Answered after the lines above were read: they have been checked by now.
    c.server.get(&c.server.url("/")).expect("20");
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.write_all(body(i).as_bytes()).unwrap();
        conn.flush().unwrap();
    }
    let answers: Vec<String> = conns
        .into_iter()
        .map(|conn| finish(conn).unwrap().header().to_owned())
        .collect();
    let stored = answers.iter().filter(|h| h.starts_with("30 ")).count();
    assert_eq!(stored, 2, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|h| !h.starts_with("30 "))
            .all(|h| h.starts_with("59 Over the capsule's upload quota")),
        "{answers:?}"
    );
}

/// Titan's log lines name files as the access log names paths: quoted and escaped, so a name
/// cannot write fields or lines of its own.
#[test]
fn titan_log_lines_cannot_be_forged() {
    let c = capsule("allow_delete = true", "");
    let text = post("Forged", "2024-04-02", 8);
    c.put("/posts/x%20host=evil%20file=index.gmi.md", &text)
        .expect("30");
    c.put("/posts/a%E2%80%A8b.md", &text).expect("30");
    // Without a date: the watcher's warning names the file too.
    c.put(
        "/posts/c%E2%80%A8d.md",
        "---\ntitle: Undated\n---\nNo date.\n",
    )
    .expect("30");
    c.server.wait_log("the watcher's warning", |l| {
        l.contains(r"posts/c\u{2028}d.md:1: warning: no `date`")
    });
    c.upload("/posts/a%E2%80%A8b.md;size=0", b"").expect("20");
    let line = c.server.wait_log("the first upload", |l| {
        l.contains("published from a Gemini client") && l.contains("evil")
    });
    assert!(
        line.contains(r#"file="posts/x host=evil file=index.gmi.md""#),
        "{line}"
    );
    c.server.wait_log("the deletion", |l| {
        l.contains("deleted from a Gemini client") && l.contains(r#"file="posts/a\u{2028}b.md""#)
    });
    assert!(c.server.logs().iter().all(|l| !l.contains('\u{2028}')));
}

/// The folders `contrib/gemhole.service` lets the server write, below `/var/lib/gemhole/`
/// (where docs/operating.md installs it), as paths below `root`.
fn unit_writable(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/gemhole.service"),
    )
    .unwrap();
    let writable: Vec<std::path::PathBuf> = unit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ReadWritePaths="))
        .flat_map(str::split_whitespace)
        .map(|p| p.trim_start_matches('-'))
        .map(|p| {
            let below = p
                .strip_prefix("/var/lib/gemhole/")
                .unwrap_or_else(|| panic!("{p} is not below /var/lib/gemhole/"));
            root.join(below)
        })
        .collect();
    assert!(!writable.is_empty(), "the unit grants no ReadWritePaths");
    writable
}

/// The shell commands that make `root` read-only but for `writable`, in a mount namespace of
/// the server's own: `ProtectSystem=strict` with `ReadWritePaths=`, for the folders the
/// server uses.
fn read_only_but(root: &std::path::Path, writable: &[std::path::PathBuf]) -> String {
    let mut script = format!(
        "mount --bind '{0}' '{0}' && mount -o remount,bind,ro '{0}'",
        root.display()
    );
    // A path the unit marks with `-` may be missing: it is then left out, as systemd does.
    for path in writable {
        script.push_str(&format!(
            " && if [ -d '{0}' ]; then mount --bind '{0}' '{0}' && \
             mount -o remount,bind,rw '{0}'; fi",
            path.display()
        ));
    }
    script
}

/// Under the shipped unit's rules (everything read-only but what it grants), set up as
/// docs/operating.md installs it, Titan publishes, replaces (keeping the old version) and
/// deletes; under the old rules (the certificates alone), the server says at start which folder it cannot
/// write, and an upload is refused with a META that says why.
#[test]
fn the_shipped_unit_lets_titan_write_where_it_writes_and_nothing_else() {
    assert!(
        std::process::Command::new("unshare")
            .args(["-rm", "true"])
            .status()
            .is_ok_and(|s| s.success()),
        "this test needs `unshare -rm` (util-linux, with user namespaces allowed)"
    );
    let author = ClientCert::new();
    let config = format!(
        "[titan]\nenabled = true\nallow_delete = true\nfingerprints = [\"{}\"]\n",
        author.fingerprint()
    );
    let setup = Setup::new().config(&config);
    let root = setup.path().to_owned();
    // As the install steps in docs/operating.md do: the certificate folder, the posts folder and the
    // history made.
    for folder in ["certs", "capsule/posts", "capsule/.history"] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    let writable = unit_writable(&root);
    let server = setup
        .in_own_mounts(&read_only_but(&root, &writable))
        .start();
    assert_eq!(server.count_logs("cannot write"), 0, "{:?}", server.logs());
    let c = Capsule { server, author };
    // The rest of the capsule is read-only indeed.
    let header = c.header_only(c.author.client(), &c.url("/about.gmi;size=5"));
    assert!(header.starts_with("61 "), "{header}");
    let text = post("Under the unit", "2024-04-03", 3);
    c.put("/posts/unit.md", &text).expect("30");
    c.put(
        "/posts/unit.md",
        &text.replace("Text of", "Changed text of"),
    )
    .expect("30");
    c.server.wait_text("/posts/unit.gmi", "Changed text of");
    c.upload("/posts/unit.md;size=0", b"").expect("20");
    // Kept across the unit's mounts (the history is a mount of its own): copied.
    let versions = kept(&c, "posts/unit.md");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[0].1, text);
    assert!(versions[1].0.ends_with(".deleted") && versions[1].1.contains("Changed text of"));
    assert!(c.file("posts/unit.md").is_none());
    let dir = std::sync::Arc::clone(&c.server.dir);
    let author = c.author;
    drop(c.server);

    // The unit as it was: only the certificate folder.
    let only_certs = vec![root.join("certs")];
    let server = Setup::in_dir(dir)
        .config(&config)
        .in_own_mounts(&read_only_but(&root, &only_certs))
        .start();
    let warning = server.wait_log("the warning", |l| l.contains("Titan is on, but"));
    assert!(
        warning.contains(&format!("{}", root.join("capsule/posts").display()))
            && warning.contains("ReadWritePaths="),
        "{warning}"
    );
    assert_eq!(server.count_logs("Titan is on, but"), 1);
    let c = Capsule { server, author };
    let answer = c.put("/posts/second.md", &post("Second", "2024-04-04", 4));
    answer.expect("40");
    assert!(answer.meta().contains("may not write"), "{}", answer.meta());
    let dir = std::sync::Arc::clone(&c.server.dir);
    let author = c.author;
    drop(c.server);

    // The shipped unit on a capsule without `.history/`: the unit leaves its line out, and
    // the warning says to make the folder (not to open the capsule to writes).
    std::fs::rename(root.join("capsule/.history"), root.join("history-before")).unwrap();
    let server = Setup::in_dir(dir)
        .config(&config)
        .in_own_mounts(&read_only_but(&root, &writable))
        .start();
    let warning = server.wait_log("the warning", |l| l.contains("Titan is on, but"));
    let history = root.join("capsule/.history");
    assert!(
        warning.contains(&format!("{} (it does not exist", history.display())),
        "{warning}"
    );
    let c = Capsule { server, author };
    // Every write takes the history's lock (servers sharing the folder write one at a time):
    // without the folder, none is made.
    let answer = c.put("/posts/third.md", &post("Third", "2024-04-05", 5));
    answer.expect("40");
    assert!(answer.meta().contains("may not write"), "{}", answer.meta());
    assert!(c.file("posts/third.md").is_none());
}

/// Two servers on one capsule folder (nodes on shared storage), authors uploading one file
/// through both at once: every text that was answered `30` is kept, as the file or as a
/// version, and none twice.
#[test]
fn two_servers_on_one_folder_keep_every_version() {
    let author = ClientCert::new();
    let config = author.titan_table();
    let first = Setup::new().config(&config).start();
    let second = Setup::in_dir(std::sync::Arc::clone(&first.dir))
        .config(&config)
        .start();
    let servers = [&first, &second];
    let accepted: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (server, author) = (servers[t % 2], &author);
                s.spawn(move || {
                    let mut accepted = Vec::new();
                    for round in 0..4 {
                        let text = format!(
                            "---\ntitle: Race\ndate: 2024-07-01\n---\nWritten by {t} in round \
                             {round}.\n"
                        );
                        let answer =
                            titan_put(server, author.client(), "/posts/race.md", text.as_bytes());
                        if answer.status() == "30" {
                            accepted.push(text);
                        }
                    }
                    accepted
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    assert!(accepted.len() >= 16, "{} accepted", accepted.len());
    let capsule = first.capsule();
    let mut held = vec![std::fs::read_to_string(capsule.join("posts/race.md")).unwrap()];
    for version in std::fs::read_dir(capsule.join(".history/posts/race.md")).unwrap() {
        held.push(std::fs::read_to_string(version.unwrap().path()).unwrap());
    }
    for text in &accepted {
        let copies = held.iter().filter(|h| *h == text).count();
        assert_eq!(copies, 1, "{text:?} is held {copies} times");
    }
}

/// Two servers on one folder: an upload through one that asks for a URL an upload through
/// the other took a moment before is refused, whatever either snapshot had seen (the second
/// polls the folder once an hour, as a node on a network file system might); both then serve
/// the same post there.
#[test]
fn two_servers_on_one_folder_agree_on_who_holds_a_url() {
    let author = ClientCert::new();
    let config = author.titan_table();
    let first = Setup::new().config(&config).start();
    std::fs::write(
        first.dir.path().join("slow.toml"),
        format!("{config}[watch]\nmode = \"poll\"\npoll_interval = 3600\n"),
    )
    .unwrap();
    let second = Setup::in_dir(std::sync::Arc::clone(&first.dir))
        .arg("--config")
        .arg("slow.toml")
        .start();
    for round in 0..5 {
        let put = |server: &TestServer, file: &str, who: &str| {
            let text =
                format!("---\ntitle: {who}\ndate: 2024-08-01\nslug: s{round}\n---\nFrom {who}.\n");
            titan_put(
                server,
                author.client(),
                &format!("/posts/{file}"),
                text.as_bytes(),
            )
        };
        let a = put(&first, &format!("r{round}-a.md"), "A");
        let b = put(&second, &format!("r{round}-b.md"), "B");
        a.expect("30");
        b.expect("59");
        assert!(
            b.meta().contains(&format!("posts/r{round}-a.md")),
            "{}",
            b.meta()
        );
        for server in [&first, &second] {
            server.wait_text(&format!("/posts/s{round}.gmi"), "From A.");
        }
    }
}

/// With the watch off (or polling slowly), an upload is still shown at once, and the next
/// upload is checked against it.
#[test]
fn uploads_are_shown_at_once_whatever_the_watch() {
    for mode in ["off", "poll"] {
        let c = capsule(
            "",
            &format!("[watch]\nmode = \"{mode}\"\npoll_interval = 3600\n"),
        );
        let text = "---\ntitle: Foo\ndate: 2024-02-01\nslug: foo\n---\nThe first.\n";
        let answer = c.put("/posts/a.md", text);
        answer.expect("30");
        assert!(
            answer.meta().ends_with("/posts/foo.gmi"),
            "{mode}: {}",
            answer.meta()
        );
        c.server.get(answer.meta()).expect("20");
        let answer = c.put(
            "/posts/b.md",
            &text
                .replace("2024-02-01", "2024-01-01")
                .replace("first", "second"),
        );
        answer.expect("59");
        assert!(
            answer.meta().contains("posts/a.md"),
            "{mode}: {}",
            answer.meta()
        );
    }
}

/// A writer that keeps the history's lock (a hung server on the same folder) holds uploads
/// back for a bounded time: they are refused, and nothing is written later.
#[test]
fn a_lock_held_elsewhere_refuses_uploads_and_writes_nothing_later() {
    let c = capsule("", "");
    let history = c.server.capsule().join(".history");
    std::fs::create_dir_all(&history).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(history.join(".lock"))
        .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let before = c.file("posts/knots.md").unwrap();
    let answer = c.put(
        "/posts/knots.gmi",
        &post("Knots", "2024-03-11", 2).replace("Text of", "Blocked text of"),
    );
    answer.expect("40");
    assert!(
        answer.meta().contains("nothing was written"),
        "{}",
        answer.meta()
    );
    drop(lock);
    // Readers were served meanwhile, and are now; the refused text never lands.
    c.server.get(&c.server.url("/posts/knots.gmi")).expect("20");
    let again = c.put(
        "/posts/knots.gmi",
        &post("Knots", "2024-03-11", 2).replace("Text of", "Later text of"),
    );
    again.expect("30");
    assert!(c.file("posts/knots.md").unwrap().contains("Later text of"));
    let versions = kept(&c, "posts/knots.md");
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].1, before);
}

/// Smaller refusals: a Markdown text larger than a page may be converted from, a `slug` that
/// asks for a folder's name, an empty front-matter block sent to a gemtext page.
#[test]
fn texts_the_server_could_not_show_as_written_are_refused() {
    let c = capsule("max_size = 4096", "[markdown]\nmax_file_size = 1024\n");
    let big = format!("{}{}\n", post("Big", "2024-08-02", 5), "x".repeat(2000));
    let answer = c.put("/posts/big.md", &big);
    answer.expect("59");
    assert!(answer.meta().contains("max_file_size"), "{}", answer.meta());
    std::fs::create_dir_all(c.server.capsule().join("posts/zz.gmi")).unwrap();
    write(&c.server.capsule(), "posts/zz.gmi/inner.gmi", "# Inner\n");
    c.server.wait_text("/posts/zz.gmi/inner.gmi", "Inner");
    let answer = c.put(
        "/posts/takes.md",
        "---\ntitle: Takes\ndate: 2024-08-03\nslug: zz\n---\nText.\n",
    );
    answer.expect("59");
    assert!(
        answer.meta().contains("a file or folder"),
        "{}",
        answer.meta()
    );
    // A Markdown post of the folder's name: no `.gmi` file is served in its place.
    c.put("/posts/zz.md", &post("Zz", "2024-08-04", 6))
        .expect("30");
    let answer = c.put("/posts/plain.gmi", "---\n---\n# Plain\n");
    answer.expect("59");
    assert!(answer.meta().contains("front matter"), "{}", answer.meta());
    // Binary: the scan would read no page from it.
    let answer = c.put("/posts/noise.md", "---\ntitle: N\n---\nA\0B\n");
    answer.expect("59");
    assert!(
        answer.meta().contains("NUL byte (at offset 18)"),
        "{}",
        answer.meta()
    );
    assert_eq!(c.file("posts/noise.md"), None);
}

/// A deploy that swaps another folder in under the capsule's name (`mv`, or a symlink
/// pointed elsewhere) while the server runs: uploads land in the folder served now, and are
/// served, whatever the watch mode; the folder swapped out is left as it was.
#[test]
fn uploads_follow_a_capsule_folder_swapped_in() {
    for mode in ["events", "poll"] {
        // A folder renamed into the capsule's place is a new folder: a confined process may
        // not write it until it restarts (a capsule that is a link may be switched instead).
        let c = capsule_with_top(
            "confine = false\n",
            "",
            &format!("[watch]\nmode = \"{mode}\"\npoll_interval = 3600\n"),
        );
        let capsule_dir = c.server.capsule();
        let parent = capsule_dir.parent().unwrap().to_owned();
        // The same posts, copied whole (as a deploy of an unchanged site would be).
        let copy = |from: &std::path::Path, to: &std::path::Path| {
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .unwrap();
            assert!(status.success());
        };
        write(&capsule_dir, "hello.txt", "old");
        copy(&capsule_dir, &parent.join("capsule.new"));
        write(&parent.join("capsule.new"), "hello.txt", "new");
        std::fs::rename(&capsule_dir, parent.join("capsule.old")).unwrap();
        std::fs::rename(parent.join("capsule.new"), &capsule_dir).unwrap();
        let text = post("Knots", "2024-03-11", 2).replace("Text of", "Deployed text of");
        let answer = c.put("/posts/knots.gmi", &text);
        answer.expect("30");
        assert_eq!(
            std::fs::read_to_string(capsule_dir.join("posts/knots.md")).unwrap(),
            text,
            "{mode}"
        );
        assert!(
            !std::fs::read_to_string(parent.join("capsule.old/posts/knots.md"))
                .unwrap()
                .contains("Deployed"),
            "{mode}"
        );
        assert!(
            c.server
                .get(answer.meta())
                .body_text()
                .contains("Deployed text of"),
            "{mode}"
        );
        // Readers get the new folder's files too, though no page changed.
        assert_eq!(c.server.get(&c.server.url("/hello.txt")).body_text(), "new");
        // The next upload is checked against, and served from, the new folder too.
        c.put(
            "/posts/knots.gmi",
            &text.replace("Deployed", "Twice deployed"),
        )
        .expect("30");
        c.server
            .wait_text("/posts/knots.gmi", "Twice deployed text of");
    }
}

/// An upload whose body is still coming when the configuration is reloaded was checked by
/// the host as it was: it is refused (`40`), never written against a snapshot no longer
/// followed.
#[test]
fn an_upload_across_a_reload_is_refused_and_not_written() {
    let c = capsule("", "");
    let text = post("Across", "2024-09-01", 9);
    let mut conn = connect_with(c.server.addr(), Some("localhost"), c.author.client()).unwrap();
    let line = c.url(&format!("/posts/across.md;size={}", text.len()));
    conn.write_all(format!("{line}\r\n{}", &text[..5]).as_bytes())
        .unwrap();
    conn.flush().unwrap();
    c.server.signal(rustix::process::Signal::HUP.as_raw());
    c.server
        .wait_log("the reload", |l| l.contains("configuration reloaded"));
    conn.write_all(&text.as_bytes()[5..]).unwrap();
    conn.flush().unwrap();
    let answer = finish(conn).unwrap();
    answer.expect("40");
    assert!(
        answer.meta().contains("nothing was written"),
        "{}",
        answer.meta()
    );
    assert!(c.file("posts/across.md").is_none());
    // Sent again, it is written.
    c.put("/posts/across.md", &text).expect("30");
}

/// A `.history` that is no folder (a file, a symlink) is the operator's to mend: uploads get
/// `40` and a log line, not a `59` blaming the author's path.
#[test]
fn a_history_that_is_no_folder_refuses_uploads_with_40() {
    let c = capsule("", "");
    write(&c.server.capsule(), ".history", "not a folder");
    let answer = c.put("/posts/new.md", &post("New", "2024-09-02", 9));
    answer.expect("40");
    assert!(answer.meta().contains(".history"), "{}", answer.meta());
    c.server.wait_log("the reason", |l| {
        l.contains("cannot take the lock of the capsule's history")
    });
    assert!(c.file("posts/new.md").is_none());
}
