//! Draft previews: an author's certificate (`[titan] fingerprints`) sees drafts and posts dated
//! ahead at their own URLs, marked, and `/drafts/` listing them; every other reader gets `51`
//! and no trace; `serve --drafts` shows them to everyone.

use crate::common::identity::{ClientCert, anonymous, send};
use crate::common::{Setup, TestServer, write};

fn posts(setup: &Setup) {
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "draft.md",
        "---\ntitle: Half Written\ndate: 2025-01-01\ndraft: true\n---\nNot ready yet.\n",
    );
    write(
        &posts,
        "ahead.md",
        "---\ntitle: Next Year\ndate: 2999-01-01\n---\nComing later.\n",
    );
    write(&posts, "broken.md", "---\ntitle: [broken\n---\nNo.\n");
    write(
        &posts,
        "public.md",
        "---\ntitle: Out Now\ndate: 2024-01-01\n---\nFor everyone.\n",
    );
}

fn get(
    server: &TestServer,
    client: std::sync::Arc<rustls::ClientConfig>,
    path: &str,
) -> crate::common::Exchange {
    send(
        server.addr(),
        client,
        format!("{}\r\n", server.url(path)).as_bytes(),
    )
    .unwrap()
}

#[test]
fn authors_preview_drafts_and_readers_never_see_them() {
    let author = ClientCert::new();
    let setup = Setup::new().config(&format!(
        "[titan]\nfingerprints = [\"{}\"]\n[[area]]\npath = \"/posts/club/\"\n\
         fingerprints = [\"{}\"]\n",
        author.fingerprint(),
        ClientCert::new().fingerprint()
    ));
    posts(&setup);
    write(
        &setup.path().join("capsule/posts/club"),
        "plan.md",
        "---\ntitle: Club Plan\ndate: 2025-01-01\ndraft: true\n---\nMembers only.\n",
    );
    let server = setup.start();
    // Readers first (so a kept answer could leak if the author's were kept), then the author.
    for round in 0..2 {
        for path in ["/posts/draft.gmi", "/posts/ahead.gmi", "/drafts/"] {
            for reader in [anonymous(), ClientCert::new().client()] {
                get(&server, reader, path).expect("51");
            }
            if round == 1 {
                let answer = get(&server, author.client(), path);
                answer.expect("20");
            }
        }
    }
    let draft = get(&server, author.client(), "/posts/draft.gmi").body_text();
    assert!(
        draft.starts_with("# Half Written\nDraft — not visible to readers\n"),
        "{draft}"
    );
    assert!(draft.contains("Not ready yet."), "{draft}");
    let ahead = get(&server, author.client(), "/posts/ahead.gmi").body_text();
    assert!(ahead.contains("Draft — not visible to readers"), "{ahead}");
    let list = get(&server, author.client(), "/drafts/").body_text();
    assert!(
        list.contains("=> /posts/draft.gmi 2025-01-01 Half Written"),
        "{list}"
    );
    assert!(
        list.contains("=> /posts/ahead.gmi 2999-01-01 Next Year"),
        "{list}"
    );
    assert!(!list.contains("Out Now"), "{list}");
    // A draft in an area the author is not let into is neither listed nor shown.
    assert!(!list.contains("Club Plan"), "{list}");
    get(&server, author.client(), "/posts/club/plan.gmi").expect("61");
    // Published pages look the same to the author; a broken page stays withheld.
    let public = get(&server, author.client(), "/posts/public.gmi").body_text();
    assert!(!public.contains("Draft —"), "{public}");
    get(&server, author.client(), "/posts/broken.gmi").expect("51");
    // No list a reader sees names them.
    for path in ["/", "/archive/", "/atom.xml", "/search?ready"] {
        let body = get(&server, anonymous(), path).body_text();
        assert!(
            !body.contains("Half Written") && !body.contains("Next Year"),
            "{path}: {body}"
        );
    }
}

#[test]
fn serve_drafts_shows_them_to_every_reader() {
    let setup = Setup::new().arg("--drafts");
    posts(&setup);
    let server = setup.start();
    server.wait_log("the warning", |l| {
        l.contains("WARN") && l.contains("--drafts")
    });
    let draft = get(&server, anonymous(), "/posts/draft.gmi");
    draft.expect("20");
    assert!(draft.body_text().contains("Draft — not visible to readers"));
    get(&server, anonymous(), "/drafts/").expect("20");
    get(&server, anonymous(), "/drafts").expect("31");
    get(&server, anonymous(), "/posts/broken.gmi").expect("51");
}

/// A draft whose block is not plain front matter (a key with a space, a list, a missing
/// opening fence, a block below a heading) is never served: read as metadata, or withheld
/// with an error `check` names; a first `---` before prose is a rule, and the page is served.
#[test]
fn drafts_in_odd_blocks_are_never_served() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    for (file, text) in [
        (
            "spaced.md",
            "---\nmy title: x\ndraft: true\n---\nSecret one.\n",
        ),
        ("listed.md", "---\n- draft: true\n---\nSecret two.\n"),
        ("unopened.md", "title: x\ndraft: true\n---\nSecret three.\n"),
        (
            "below.md",
            "# My post\n---\ndraft: true\n---\nSecret four.\n",
        ),
        (
            "rule.md",
            "---\nHello there\n---\nA rule, then a heading.\n",
        ),
    ] {
        write(&posts, file, text);
    }
    let (_, out, _) = crate::common::run_cli(setup.path(), &["check"]);
    assert!(out.contains("posts/listed.md:1: error:"), "{out}");
    assert!(out.contains("posts/unopened.md:3: error:"), "{out}");
    assert!(out.contains("posts/below.md:4: error:"), "{out}");
    assert!(
        out.contains("posts/rule.md:1: warning: the first line `---` opens no front matter"),
        "{out}"
    );
    let server = setup.start();
    for path in ["spaced", "listed", "unopened", "below"] {
        server
            .get(&server.url(&format!("/posts/{path}.gmi")))
            .expect("51");
    }
    let archive = server.get(&server.url("/archive/")).body_text();
    assert!(
        !archive.contains("Secret") && !archive.contains("My post"),
        "{archive}"
    );
    let feed = server.get(&server.url("/atom.xml")).body_text();
    assert!(!feed.contains("Secret"), "{feed}");
    server.get(&server.url("/posts/rule.gmi")).expect("20");
}

/// Part `n` of the series “Pi”, `extra` front matter after its date.
fn pi_part(setup: &Setup, n: u32, date: &str, extra: &str) {
    write(
        &setup.path().join("capsule/posts/pi"),
        &format!("p{n}.md"),
        format!(
            "---\ntitle: Step {n}\ndate: {date}\n{extra}series: Pi\npart: {n}\ntags: [pi]\n---\n\
             Text of part {n}.\n"
        ),
    );
}

fn gopher_text(server: &TestServer, selector: &str) -> String {
    String::from_utf8_lossy(&server.gopher(format!("{selector}\r\n").as_bytes())).into_owned()
}

#[test]
fn a_part_dated_ahead_is_scheduled_and_counted_nowhere_until_it_appears() {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    for n in [1, 2, 3, 4, 6] {
        pi_part(&setup, n, &format!("2024-01-0{n}"), "");
    }
    pi_part(&setup, 5, "2999-01-03", "");
    let (status, out, err) =
        crate::common::run_cli(setup.path(), &["check", "--capsule", "capsule"]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains(
            "posts/pi/p5.md:3: withheld: dated ahead: part 5 of series “Pi” is scheduled for \
             2999-01-03"
        ),
        "{out}"
    );
    assert!(!out.contains("missing"), "{out}");
    let server = setup.start();
    let index = server.get(&server.url("/series/pi/")).body_text();
    assert!(
        index.contains("## 6 parts, 2024-01-01 to 2024-01-06"),
        "{index}"
    );
    assert!(!index.contains("Step 5"), "{index}");
    let four = server.get(&server.url("/posts/pi/p4.gmi")).body_text();
    assert!(four.contains("Part 4 of 6 in “Pi”"), "{four}");
    assert!(
        four.contains("=> /posts/pi/p6.gmi → Next: Part 6"),
        "{four}"
    );
    assert!(!four.contains("Step 5"), "{four}");
    let all = server.get(&server.url("/series/")).body_text();
    assert!(all.contains("=> /series/pi/ Pi (6 parts)"), "{all}");
    for feed in ["/atom.xml", "/series/pi/atom.xml"] {
        let body = server.get(&server.url(feed)).body_text();
        assert!(
            body.contains("Step 4") && !body.contains("Step 5"),
            "{feed}: {body}"
        );
    }
    let menu = gopher_text(&server, "/series/");
    assert!(menu.contains("Pi (6 parts)"), "{menu}");
    let part = gopher_text(&server, "/posts/pi/p4.txt");
    assert!(
        part.contains("Part 4 of 6") && !part.contains("Step 5"),
        "{part}"
    );
}

#[test]
fn a_preview_shows_drafts_where_they_will_appear_and_readers_see_nothing_changed() {
    let author = ClientCert::new();
    let setup = Setup::new().config(&format!(
        "[titan]\nfingerprints = [\"{}\"]\n",
        author.fingerprint()
    ));
    pi_part(&setup, 1, "2024-01-01", "");
    pi_part(&setup, 2, "2024-01-08", "draft: true\n");
    pi_part(&setup, 3, "2999-01-03", "");
    let server = setup.start();
    let pages = [
        "/",
        "/archive/",
        "/tags/pi/",
        "/series/pi/",
        "/posts/pi/p1.gmi",
    ];
    let read = |client: &dyn Fn() -> std::sync::Arc<rustls::ClientConfig>| -> Vec<Vec<u8>> {
        pages
            .iter()
            .map(|p| get(&server, client(), p).body().to_vec())
            .collect()
    };
    let before = read(&|| anonymous());
    let seen: Vec<String> = read(&|| author.client())
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    // Each reader's page as it was, whoever asked in between.
    assert_eq!(read(&|| anonymous()), before);
    assert_eq!(read(&|| ClientCert::new().client()), before);
    for body in &before {
        let body = String::from_utf8_lossy(body);
        assert!(
            !body.contains("Step 2") && !body.contains("Step 3"),
            "{body}"
        );
    }
    for (page, body) in pages.iter().zip(&seen).take(3) {
        assert!(
            body.contains("=> /posts/pi/p2.gmi 2024-01-08 Step 2 (draft)")
                && body
                    .contains("=> /posts/pi/p3.gmi 2999-01-03 Step 3 (scheduled for 2999-01-03)"),
            "{page}: {body}"
        );
    }
    assert!(
        seen[3].contains("## 3 parts,")
            && seen[3].contains("=> /posts/pi/p2.gmi 2024-01-08 Part 2: Step 2 (draft)"),
        "{}",
        seen[3]
    );
    assert!(
        seen[4].contains("Part 1 of 3 in “Pi”")
            && seen[4].contains("=> /posts/pi/p2.gmi → Next: Part 2: Step 2 (draft)"),
        "{}",
        seen[4]
    );
    let draft = get(&server, author.client(), "/posts/pi/p2.gmi").body_text();
    assert!(
        draft.contains("Draft — not visible to readers")
            && draft.contains("=> /posts/pi/p1.gmi ← Previous: Part 1: Step 1")
            && draft.contains("→ Next: Part 3: Step 3 (scheduled for 2999-01-03)"),
        "{draft}"
    );
}

/// `serve --drafts` previews over Gemini only: Gopher has no certificates to tell an author
/// by, and its port may be the public one the config opens.
#[test]
fn serve_drafts_previews_over_gemini_and_gopher_keeps_hiding_drafts() {
    let setup = Setup::new()
        .arg("--drafts")
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    pi_part(&setup, 1, "2024-01-01", "");
    pi_part(&setup, 2, "2024-01-08", "draft: true\n");
    let server = setup.start();
    let menu = gopher_text(&server, "/series/pi/");
    assert!(
        menu.contains("Part 1") && !menu.contains("Step 2"),
        "{menu}"
    );
    for selector in ["/posts/pi/p2.txt", "/tags/pi/", "/", "/drafts/"] {
        let text = gopher_text(&server, selector);
        assert!(!text.contains("Step 2"), "{selector}: {text}");
    }
    let gemini = server.get(&server.url("/tags/pi/")).body_text();
    assert!(gemini.contains("Step 2 (draft)"), "{gemini}");
}
