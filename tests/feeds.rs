//! The Atom feeds as readers fetch them: each post's gemtext, the title and author the settings
//! (or the home page) give, ids that outlive a new slug or port, and the cap on entries.

use std::sync::Arc;

use crate::common::{Setup, TestServer, write};

/// The feed at `path`, parsed: its own `(title, author, id)`, and per entry `(id, title,
/// link, content)`.
struct Feed {
    title: String,
    author: String,
    id: String,
    entries: Vec<Entry>,
}

#[derive(Debug, PartialEq)]
struct Entry {
    id: String,
    title: String,
    link: String,
    content: Option<String>,
}

fn feed(server: &TestServer, path: &str) -> Feed {
    let answer = server.get(&server.url(path));
    answer.expect("20");
    assert_eq!(answer.meta(), "application/atom+xml");
    parse(&answer.body_text())
}

fn parse(xml: &str) -> Feed {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let root = doc.root_element();
    let child = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|n| n.has_tag_name(name))
            .map(|n| n.text().unwrap_or_default().to_owned())
    };
    let author = root
        .children()
        .find(|n| n.has_tag_name("author"))
        .and_then(|a| child(a, "name"))
        .unwrap_or_default();
    Feed {
        title: child(root, "title").unwrap_or_default(),
        author,
        id: child(root, "id").unwrap_or_default(),
        entries: root
            .children()
            .filter(|n| n.has_tag_name("entry"))
            .map(|e| Entry {
                id: child(e, "id").unwrap_or_default(),
                title: child(e, "title").unwrap_or_default(),
                link: e
                    .children()
                    .find(|n| n.has_tag_name("link"))
                    .and_then(|n| n.attribute("href"))
                    .unwrap_or_default()
                    .to_owned(),
                content: child(e, "content"),
            })
            .collect(),
    }
}

fn post(title: &str, date: &str, extra: &str, body: &str) -> String {
    format!("---\ntitle: {title}\ndate: {date}\n{extra}---\n{body}\n")
}

#[test]
fn entries_carry_the_gemtext_of_their_post_escaped() {
    let setup = Setup::new();
    write(
        &setup.path().join("capsule/posts"),
        "knots.md",
        post(
            "Knots & <Bends>",
            "2024-03-11",
            "summary: Which knot & when\n",
            "If 1 < 2 & \"3\" > 2, tie a bowline.\n\n```\n<rope/> & </rope>\n```",
        ),
    );
    let server = setup.start();
    let answer = server.get(&server.url("/atom.xml"));
    let xml = answer.body_text();
    // Escaped in the document, and read back as the very text the post is served as.
    assert!(
        xml.contains("If 1 &lt; 2 &amp; &quot;3&quot; &gt; 2, tie a bowline."),
        "{xml}"
    );
    assert!(xml.contains("&lt;rope/&gt; &amp; &lt;/rope&gt;"), "{xml}");
    assert!(
        xml.contains("<summary>Which knot &amp; when</summary>"),
        "{xml}"
    );
    let served = server
        .get(&server.url("/posts/knots.gmi"))
        .expect("20")
        .body_text();
    let feed = parse(&xml);
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].title, "Knots & <Bends>");
    assert_eq!(feed.entries[0].content.as_deref(), Some(served.as_str()));
}

#[test]
fn title_and_author_come_from_the_settings() {
    let setup = Setup::new().config("title = \"Knots & Splices\"\nauthor = \"Ann Example\"\n");
    write(
        &setup.path().join("capsule/posts"),
        "knots.md",
        post("Knots", "2024-03-11", "series: Learning to Sail\n", "Text."),
    );
    std::fs::remove_file(setup.path().join("capsule/index.gmi")).unwrap();
    let server = setup.start();
    let capsule = feed(&server, "/atom.xml");
    assert_eq!(capsule.title, "Knots & Splices");
    assert_eq!(capsule.author, "Ann Example");
    let series = feed(&server, "/series/learning-to-sail/atom.xml");
    assert_eq!(series.title, "Learning to Sail");
    assert_eq!(series.author, "Ann Example");
    // With no home page of its own, the capsule's generated one bears the title too.
    let home = server.get(&server.url("/")).expect("20").body_text();
    assert!(home.starts_with("# Knots & Splices\n"), "{home}");
}

#[test]
fn the_title_defaults_to_the_home_heading_then_the_hostname() {
    let server = TestServer::start();
    // The sample capsule's index.gmi starts `# Home`.
    let first = feed(&server, "/atom.xml");
    assert_eq!(first.title, "Home");
    assert_eq!(first.author, "localhost");

    let capsule = server.capsule();
    write(
        &capsule,
        "index.gmi",
        "## Welcome\n```\n# Not a heading\n```\n# The Harbour Log\n",
    );
    server.wait_for("/atom.xml", "the new home heading", |a| {
        parse(&a.body_text()).title == "The Harbour Log"
    });

    // A Markdown home page, as converted.
    std::fs::remove_file(capsule.join("index.gmi")).unwrap();
    write(&capsule, "index.md", "# From *Markdown*\n\nHello.\n");
    server.wait_for("/atom.xml", "the Markdown home heading", |a| {
        parse(&a.body_text()).title == "From Markdown"
    });

    // A heading of control characters alone is no title.
    write(&capsule, "index.md", "# \u{1}\u{2}\n\nHello.\n");
    server.wait_for("/atom.xml", "the hostname for an empty heading", |a| {
        parse(&a.body_text()).title == "localhost"
    });
    std::fs::remove_file(capsule.join("index.md")).unwrap();
    write(&capsule, "index.gmi", "# Back\n");
    server.wait_for("/atom.xml", "a heading again", |a| {
        parse(&a.body_text()).title == "Back"
    });
    std::fs::remove_file(capsule.join("index.gmi")).unwrap();
    let last = server.wait_for("/atom.xml", "the hostname as title", |a| {
        parse(&a.body_text()).title == "localhost"
    });
    assert_eq!(parse(&last.body_text()).author, "localhost");
}

#[test]
fn ids_stay_when_a_post_gets_a_new_slug_and_the_capsule_a_new_port() {
    // The first hostname names the ids, whichever a reader asks for.
    let hosts = "hostnames = [\"example.org\", \"localhost\"]\n";
    let setup = Setup::new().config(hosts);
    let posts = setup.path().join("capsule/posts");
    let knots = |slug: &str| {
        post(
            "Knots",
            "2024-03-11",
            &format!("slug: {slug}\nseries: Learning to Sail\n"),
            "Text.",
        )
    };
    write(&posts, "knots.md", knots("knots"));
    let server = setup.start();
    let before = feed(&server, "/atom.xml");
    let series_before = feed(&server, "/series/learning-to-sail/atom.xml");
    assert_eq!(before.id, "tag:example.org,2000:feed");
    assert_eq!(
        series_before.id,
        "tag:example.org,2000:series/learning-to-sail"
    );
    assert_eq!(before.entries[0].id, "tag:example.org,2024:posts/knots.md");
    assert_eq!(series_before.entries[0].id, before.entries[0].id);

    write(&posts, "knots.md", knots("bends-and-hitches"));
    let renamed = server.wait_for("/atom.xml", "the new slug", |a| {
        a.body_text().contains("/posts/bends-and-hitches.gmi")
    });
    let renamed = parse(&renamed.body_text());
    assert_eq!(renamed.id, before.id);
    assert_eq!(renamed.entries[0].id, before.entries[0].id);

    // Served again on another port, which feeds carry in their links but never in ids.
    let dir = Arc::clone(&server.dir);
    server.stop();
    let server = Setup::in_dir(dir)
        .config(&format!("{hosts}public_port = 5555\n"))
        .start();
    let moved = feed(&server, "/atom.xml");
    assert_eq!(
        moved.entries[0].link,
        "gemini://example.org:5555/posts/bends-and-hitches.gmi"
    );
    assert_eq!(moved.id, before.id);
    assert_eq!(moved.entries[0].id, before.entries[0].id);
    let series_moved = feed(&server, "/series/learning-to-sail/atom.xml");
    assert_eq!(series_moved.id, series_before.id);
    assert_eq!(series_moved.entries[0].id, before.entries[0].id);
}

#[test]
fn the_capsule_feed_holds_the_fifty_newest_of_sixty_posts() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    for day in 1..=60 {
        let date = time::Date::from_calendar_date(2024, time::Month::January, 1).unwrap()
            + time::Duration::days(day - 1);
        write(
            &posts,
            &format!("day-{day:02}.md"),
            post(&format!("Day {day}"), &date.to_string(), "", "Text."),
        );
    }
    let server = setup.start();
    let capsule = feed(&server, "/atom.xml");
    let titles: Vec<&str> = capsule.entries.iter().map(|e| e.title.as_str()).collect();
    let expected: Vec<String> = (11..=60).rev().map(|d| format!("Day {d}")).collect();
    assert_eq!(titles, expected);
    // The archive still lists every post.
    let archive = server
        .get(&server.url("/archive/"))
        .expect("20")
        .body_text();
    assert!(archive.contains("Day 1\n"), "{archive}");
}
