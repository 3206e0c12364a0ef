//! Real browsers: Debian's headless Chromium (driven by `tests/browser/check.mjs`, with
//! axe-core injected) reads the web door as a reader with only a browser would: the home page,
//! a series from its first part to its last by its "Next" links, a tag page, a search typed into
//! the form, and the feed to subscribe to. Every page must load its stylesheet, log no console
//! error, ask nothing of another host and have no serious accessibility violation; screenshots
//! at a phone's and a desktop's width are kept in `target/browser-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci --prefix tests/browser`: `.ci/run` installs both and
//! runs this with `cargo test --test browser -- --ignored`.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Setup, write};
use serde_json::Value;

/// What each part has beside its first line: a heading, a list, a quote, a diagram.
const BODY: &str = "\n\n## Steps\n\n* Make a loop.\n* Pass the end through.\n\n> Practice \
                    makes it quick.\n\n```\n  __\n /  \\\n```";

/// Runs the browser check; its JSON report.
fn check(args: &[&str]) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots: PathBuf = root.join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new("node")
        .arg(root.join("tests/browser/check.mjs"))
        .arg("--out")
        .arg(&shots)
        .args(args)
        .output()
        .expect("node (see tests/browser/README.md)");
    assert!(
        output.status.success(),
        "the browser check failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

/// What every page must be for a reader: loaded, styled, quiet, local, accessible.
fn assert_sound(page: &Value) {
    let url = page["url"].as_str().unwrap_or("?");
    assert_eq!(page["status"], 200, "{url}");
    assert_eq!(page["lang"], "en", "{url}");
    assert_eq!(
        page["stylesheetApplied"], true,
        "{url}: the stylesheet is not applied"
    );
    assert!(
        strings(&page["consoleErrors"]).is_empty(),
        "{url}: {}",
        page["consoleErrors"]
    );
    assert!(
        strings(&page["cspViolations"]).is_empty(),
        "{url}: {}",
        page["cspViolations"]
    );
    assert!(
        strings(&page["outsideRequests"]).is_empty(),
        "{url}: {}",
        page["outsideRequests"]
    );
    let serious: Vec<&Value> = page["axe"]["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
                .collect()
        })
        .unwrap_or_default();
    assert!(serious.is_empty(), "{url}: accessibility: {serious:?}");
    let shots = page["screenshots"].as_array().expect("screenshots");
    assert_eq!(shots.len(), 2, "{url}");
    for shot in shots {
        let path = shot.as_str().unwrap();
        assert!(
            std::fs::metadata(path).is_ok_and(|m| m.len() > 1000),
            "{path}"
        );
    }
}

#[test]
#[ignore = "needs Chromium and the npm packages of tests/browser: run by .ci/run"]
fn a_reader_with_only_a_browser_reads_a_series_searches_and_subscribes() {
    let setup = Setup::new();
    let root = setup.path().join("capsule");
    write(
        &root,
        "index.gmi",
        "# Knots & Splices\n\nA blog about rope.\n\n=> /posts/one.gmi Start with the bowline\n",
    );
    common::web::rope_series(&root, BODY);
    let server = setup
        .config("lang = \"en\"\ntitle = \"Knots\"\n")
        .arg("--http-listen")
        .arg("127.0.0.1:0")
        .start();
    let base = format!("http://{}", server.http_addr());
    let report = check(&[
        "--click-through",
        "Next",
        &format!("{base}/posts/one.gmi"),
        &format!("{base}/"),
        &format!("{base}/tags/rope/"),
        &format!("{base}/search?q=sheet+bend"),
    ]);
    assert!(
        strings(&report["blockedConnections"]).is_empty(),
        "{}",
        report["blockedConnections"]
    );
    let pages = report["pages"].as_array().unwrap();
    for page in pages {
        assert_sound(page);
    }
    assert!(
        pages[0]["text"]
            .as_str()
            .unwrap()
            .contains("The bowline holds.")
    );
    assert!(pages[1]["text"].as_str().unwrap().contains("Recent posts"));
    assert!(pages[2]["text"].as_str().unwrap().contains("Clove Hitch"));
    assert!(pages[3]["text"].as_str().unwrap().contains("Sheet Bend"));
    // From part 1 to the end by real clicks on "Next".
    let titles: Vec<&str> = report["clickThrough"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        titles,
        ["Bowline", "Clove Hitch", "Sheet Bend"],
        "{}",
        report["clickThrough"]
    );
    // The home page leads to the feed a reader subscribes to.
    let links = pages[1]["links"].as_array().unwrap();
    let feed = links
        .iter()
        .find_map(|l| l["href"].as_str().filter(|h| h.ends_with("/atom.xml")))
        .expect("a link to the feed");
    let atom = common::web::http_get(server.http_addr(), "/atom.xml", &[]);
    assert_eq!(atom.status, 200, "{feed}");
    let text = atom.text();
    let doc = roxmltree::Document::parse(&text).expect("an Atom document");
    let entries = doc
        .descendants()
        .filter(|n| n.has_tag_name("entry"))
        .count();
    assert_eq!(entries, 3);
    let port = server.http_addr().port();
    assert!(
        text.contains(&format!("http://localhost:{port}/posts/two.gmi")),
        "{text}"
    );

    // A search typed into the form and submitted.
    let searched = check(&["--search", "clove hitch", &format!("{base}/search")]);
    assert_sound(&searched["pages"][0]);
    let search = &searched["search"];
    assert_eq!(search["status"], 200, "{search}");
    assert!(
        search["url"]
            .as_str()
            .unwrap()
            .contains("/search?q=clove+hitch"),
        "{search}"
    );
    assert!(
        search["text"].as_str().unwrap().contains("Clove Hitch"),
        "{search}"
    );
    assert!(
        search["links"].as_array().unwrap().iter().any(|l| l["href"]
            .as_str()
            .is_some_and(|h| h.ends_with("/posts/two.gmi"))),
        "{search}"
    );
}
