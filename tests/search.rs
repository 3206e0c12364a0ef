//! Search, as readers meet it: `/search` over Gemini (prompt, results, snippets, pages) and the
//! type 7 item over Gopher; what is never found; an index that follows live reload; and pages
//! that are the same bytes for the same content.

use crate::common::{Setup, TestServer, write};

fn post(dir: &std::path::Path, file: &str, front: &str, body: &str) {
    write(
        &dir.join("capsule/posts"),
        file,
        format!("---\n{front}\n---\n{body}\n"),
    );
}

/// A capsule with posts to find, a draft, a post dated ahead, one in an area, and twelve that
/// share a word (for paging).
fn library() -> TestServer {
    let setup = Setup::new()
        .config("public_port = 1965\n[[area]]\npath = \"/posts/members/\"\n")
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    let dir = setup.path().to_owned();
    post(
        &dir,
        "radio.md",
        "title: Crystal Radio\ndate: 2025-01-01\ntags: [electronics]",
        "A set with no battery at all.",
    );
    post(
        &dir,
        "notes.md",
        "title: Workshop Notes\ndate: 2025-01-02",
        "I mention a crystal radio only in passing, deep in the text.",
    );
    post(
        &dir,
        "zebra.md",
        "title: Stripes\ndate: 2025-01-03\nseries: Animals",
        "The zebra grazes.",
    );
    post(
        &dir,
        "wireless.md",
        "title: 無線電の話\ndate: 2025-01-04",
        "古い無線電を修理しました。",
    );
    post(
        &dir,
        "draft.md",
        "title: Secret Draft\ndate: 2025-01-05\ndraft: true",
        "The word quixotic appears only here.",
    );
    post(
        &dir,
        "ahead.md",
        "title: Ahead\ndate: 2999-01-01",
        "The word zeppelin appears only here.",
    );
    post(
        &dir,
        "members/inside.md",
        "title: Inside\ndate: 2025-01-06",
        "The word marmalade appears only here.",
    );
    for n in 1..=12 {
        post(
            &dir,
            &format!("common-{n:02}.md"),
            &format!("title: Common {n}\ndate: 2024-02-{n:02}"),
            "Every one of these says plentiful.",
        );
    }
    setup.start()
}

fn search(server: &TestServer, query: &str) -> crate::common::Exchange {
    server.get(&server.url(&format!("/search{query}")))
}

#[test]
fn words_are_found_ranked_and_marked() {
    let s = library();
    // No words: a prompt.
    for q in ["", "?", "?%20%20", "?+", "?%00", "?%E2%80%AE%2C"] {
        let answer = search(&s, q);
        assert_eq!(answer.header(), "10 Search this capsule", "{q}");
    }
    // Every way a space is written.
    for q in ["?crystal+radio", "?crystal%20radio", "?Crystal%20RADIO"] {
        let answer = search(&s, q);
        answer.expect("20");
        assert_eq!(answer.meta(), "text/gemini; charset=utf-8");
        let body = answer.body_text();
        assert!(body.starts_with("# Search: "), "{body}");
        assert!(body.contains("Showing 1–2 of 2 posts."), "{q}: {body}");
        // The title match first, as a gemfeed line; the body match with its snippet.
        let radio = body
            .find("=> /posts/radio.gmi 2025-01-01 Crystal Radio")
            .unwrap();
        let notes = body
            .find("=> /posts/notes.gmi 2025-01-02 Workshop Notes")
            .unwrap();
        assert!(radio < notes, "{body}");
        assert!(
            body.contains("> I mention a [crystal] [radio] only in passing, deep in the text."),
            "{body}"
        );
    }
    // `%2B` is a plus sign, a separator like any other.
    assert!(
        search(&s, "?crystal%2Bradio")
            .body_text()
            .contains("of 2 posts")
    );
    // No post has every word: any of them, said so.
    let body = search(&s, "?zebra+battery").body_text();
    assert!(body.contains("No post has every word"), "{body}");
    assert!(
        body.contains("/posts/zebra.gmi") && body.contains("/posts/radio.gmi"),
        "{body}"
    );
    // Tags and series names are searched too.
    assert!(
        search(&s, "?electronics")
            .body_text()
            .contains("/posts/radio.gmi")
    );
    assert!(
        search(&s, "?animals")
            .body_text()
            .contains("/posts/zebra.gmi")
    );
    // Chinese and Japanese text, by the characters it holds (encoded or raw UTF-8).
    for q in ["?%E7%84%A1%E7%B7%9A%E9%9B%BB", "?無線電"] {
        let body = search(&s, q).body_text();
        assert!(body.contains("/posts/wireless.gmi"), "{q}: {body}");
        assert!(body.contains("[無線電]"), "{q}: {body}");
    }
    // Nothing: the words said back, and a way on.
    let body = search(&s, "?nothing%0Ahere").body_text();
    assert!(body.contains("No post matches “nothing here”."), "{body}");
    assert!(body.contains("=> /tags/ "), "{body}");
}

#[test]
fn results_come_ten_to_a_page() {
    let s = library();
    let first = search(&s, "?plentiful").body_text();
    assert!(first.contains("Showing 1–10 of 12 posts."), "{first}");
    assert_eq!(first.matches("\n=> /posts/").count(), 10, "{first}");
    assert!(
        first.contains("=> /search/2?plentiful Next page"),
        "{first}"
    );
    assert!(!first.contains("Previous page"), "{first}");
    // Newest first among equals.
    assert!(first.find("common-12.gmi").unwrap() < first.find("common-11.gmi").unwrap());
    let second = search(&s, "/2?plentiful").body_text();
    assert!(second.contains("Showing 11–12 of 12 posts."), "{second}");
    assert!(
        second.contains("=> /search?plentiful Previous page"),
        "{second}"
    );
    assert!(!second.contains("Next page"), "{second}");
    // One URL per page.
    for q in [
        "/3?plentiful",
        "/0?plentiful",
        "/x?plentiful",
        "/99999999999?plentiful",
        "/02?plentiful",
        "/+2?plentiful",
    ] {
        assert_eq!(search(&s, q).status(), "51", "{q}");
    }
    // A long query's page links are its words, kept short enough to follow.
    let long = format!("?plentiful{}", "+a".repeat(400));
    let first = search(&s, &long).body_text();
    let next = first
        .lines()
        .find(|l| l.ends_with(" Next page"))
        .unwrap_or_else(|| panic!("no next page: {first}"));
    let url = next.split_whitespace().nth(1).unwrap();
    assert!(url.len() < 300, "{url}");
    search(&s, &url["/search".len()..]).expect("20");
}

#[test]
fn hostile_queries_get_an_answer_that_stays_in_its_lines() {
    let s = library();
    let prefix = format!("gemini://localhost:{}/search?", s.port());
    let long = format!("{prefix}{}", "a%00".repeat((1024 - prefix.len()) / 4));
    assert!(long.len() <= 1024);
    let answer = s.get(&long);
    answer.expect("20");
    for q in [
        "%0D%0A%3D%3E%20/evil%20link",
        "%23%20heading%0A%60%60%60",
        "%FF%FE",
        "%E2%80%AE%00",
        "=>%20x",
    ] {
        let answer = search(&s, &format!("?{q}"));
        // Words are searched for; with none (only marks, controls), the prompt again.
        assert!(
            ["10", "20"].contains(&answer.status()),
            "{q}: {}",
            answer.header()
        );
        for line in answer.body_text().lines() {
            assert!(
                !line.contains("evil link") || !line.starts_with("=>"),
                "{q}: {line}"
            );
            assert!(!line.starts_with("```"), "{q}: {line}");
        }
    }
}

#[test]
fn drafts_posts_ahead_and_areas_are_never_found() {
    let s = library();
    for word in ["quixotic", "zeppelin", "marmalade", "secret"] {
        let body = search(&s, &format!("?{word}")).body_text();
        assert!(body.contains("No post matches"), "{word}: {body}");
    }
}

#[test]
fn the_index_follows_the_capsule_as_it_changes() {
    let s = library();
    let dir = s.dir.path();
    post(
        dir,
        "fresh.md",
        "title: Fresh Post\ndate: 2025-02-01",
        "A word like xylophone.",
    );
    s.wait_for("/search?xylophone", "the new post", |a| {
        a.body_text().contains("/posts/fresh.gmi")
    });
    post(
        dir,
        "fresh.md",
        "title: Fresh Post\ndate: 2025-02-01",
        "Now about a harpsichord.",
    );
    s.wait_for("/search?harpsichord", "the edit", |a| {
        a.body_text().contains("/posts/fresh.gmi")
    });
    assert!(
        search(&s, "?xylophone")
            .body_text()
            .contains("No post matches")
    );
    std::fs::remove_file(dir.join("capsule/posts/fresh.md")).unwrap();
    s.wait_for("/search?harpsichord", "the deletion", |a| {
        a.body_text().contains("No post matches")
    });
    // A post published by removing its `draft` line is found.
    post(
        dir,
        "draft.md",
        "title: Secret Draft\ndate: 2025-01-05",
        "The word quixotic appears only here.",
    );
    s.wait_for("/search?quixotic", "the published draft", |a| {
        a.body_text().contains("/posts/draft.gmi")
    });
}

#[test]
fn gopher_searches_with_a_type_7_item() {
    let s = library();
    let gopher = s.gopher_addr();
    let get = |request: &str| {
        String::from_utf8_lossy(&crate::common::gopher_at(gopher, request.as_bytes())).into_owned()
    };
    let root = get("\r\n");
    let item = root
        .lines()
        .find(|l| l.starts_with('7'))
        .unwrap_or_else(|| panic!("no search item: {root}"));
    assert!(
        item.starts_with("7Search this capsule\t/search\t"),
        "{item}"
    );
    // With hits: a text item per post, date and snippet as info lines.
    let menu = get("/search\tcrystal radio\r\n");
    assert!(menu.ends_with(".\r\n"), "{menu}");
    assert!(
        menu.contains("0Crystal Radio\t/posts/radio.txt\t")
            || menu.contains("\t/posts/radio.txt\t"),
        "{menu}"
    );
    assert!(menu.contains("i> I mention a [crystal] [radio]"), "{menu}");
    // Lynx and curl send spaces as they are, UMN may add a Gopher+ field.
    assert!(get("/search\tcrystal radio\t$\r\n").contains("/posts/radio.txt"));
    // None: an info line saying so, never an empty menu.
    let none = get("/search\txqzzy\r\n");
    assert!(none.contains("iNo post matches"), "{none}");
    // No words yet: what to do, and the item to do it with.
    let prompt = get("/search\r\n");
    assert!(prompt.contains("iType the words to search for"), "{prompt}");
    assert!(
        prompt.contains("7Search this capsule\t/search\t"),
        "{prompt}"
    );
    // The next page is a selector that carries the words.
    let first = get("/search\tplentiful\r\n");
    let next = first
        .lines()
        .find(|l| l.starts_with("1Next page"))
        .unwrap_or_else(|| panic!("no next page: {first}"));
    let selector = next.split('\t').nth(1).unwrap();
    assert!(selector.starts_with("/search/2/"), "{selector}");
    let second = get(&format!("{selector}\r\n"));
    assert!(second.contains("Showing 11–12 of 12 posts."), "{second}");
}

#[test]
fn generated_pages_are_the_same_bytes_for_the_same_content() {
    let one = library();
    let two = Setup::in_dir(one.dir.clone()).start();
    for path in [
        "/",
        "/archive/",
        "/tags/",
        "/tags/electronics/",
        "/series/",
        "/series/animals/",
        "/series/animals/atom.xml",
        "/atom.xml",
        "/posts/zebra.gmi",
        "/search?plentiful",
        "/search/2?plentiful",
    ] {
        let a = one.get(&one.url(path));
        let b = two.get(&two.url(path));
        a.expect("20");
        assert_eq!(a.raw, b.raw, "{path} differs between two servers");
    }
}
