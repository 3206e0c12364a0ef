//! A folder of posts made a series by its section page (`_index.md`), served: the series'
//! index in reading order with the section page's body as its description, the folder's own
//! URL, posts that name another series, and the opt-in turned on and off while serving.

use crate::common::{Setup, TestServer, write};

/// `posts/pi/` made a series by `series = true` (named by its title), three parts ordered by
/// `weight` against their dates (one a page bundle), and a post that names another series.
fn pi() -> TestServer {
    let setup = Setup::new();
    let pi = setup.path().join("capsule/posts/pi");
    write(
        &pi,
        "_index.md",
        "+++\ntitle = \"Pi by Hand\"\nseries = true\nsort_by = \"weight\"\n+++\n\
         Digits worked out with a pencil.\n",
    );
    let part = |file: &str, title: &str, date: &str, weight: u32| {
        write(
            &pi,
            file,
            format!("+++\ntitle = \"{title}\"\ndate = {date}\nweight = {weight}\n+++\nText.\n"),
        );
    };
    part("circles.md", "Circles", "2024-03-20", 1);
    part("polygons.md", "Polygons", "2024-03-01", 2);
    part("series-sums/index.md", "Sums", "2024-02-01", 3);
    write(
        &pi,
        "aside.md",
        "---\ntitle: An Aside\ndate: 2024-03-05\nseries: Side Notes\n---\nElsewhere.\n",
    );
    setup.start()
}

#[test]
fn a_section_page_with_series_true_lists_its_folder_in_order() {
    let server = pi();
    let index = server.get(&server.url("/series/pi-by-hand/"));
    index.expect("20");
    let body = index.body_text();
    assert!(body.starts_with("# Pi by Hand\n"), "{body}");
    assert!(body.contains("Digits worked out with a pencil."), "{body}");
    let order: Vec<&str> = ["Circles", "Polygons", "Sums"]
        .iter()
        .map(|t| {
            let at = body
                .find(&format!(": {t}"))
                .unwrap_or_else(|| panic!("{t}: {body}"));
            &body[at..at + 2 + t.len()]
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|t| body.find(t));
    assert_eq!(order, sorted, "{body}");
    assert!(body.contains("=> /posts/pi/series-sums/"), "{body}");
    assert!(!body.contains("An Aside"), "{body}");
    // The post that names its own series is in that one alone.
    let side = server.get(&server.url("/series/side-notes/"));
    assert!(
        side.body_text().contains("An Aside"),
        "{}",
        side.body_text()
    );
    // Each part carries the folder series' navigation.
    let polygons = server
        .get(&server.url("/posts/pi/polygons.gmi"))
        .body_text();
    assert!(polygons.contains("Part 2 of 3"), "{polygons}");
    // The folder's own URL still shows its section page.
    let folder = server.get(&server.url("/posts/pi/"));
    folder.expect("20");
    assert!(
        folder.body_text().contains("Digits worked out"),
        "{}",
        folder.body_text()
    );
}

#[test]
fn a_zola_section_names_its_series_in_extra() {
    let setup = Setup::new();
    let knots = setup.path().join("capsule/posts/knots");
    write(
        &knots,
        "_index.md",
        "+++\ntitle = \"Knots\"\ndescription = \"Six knots, one a week.\"\n[extra]\n\
         series = \"Six Knots\"\nseries_slug = \"knots\"\n+++\n",
    );
    write(
        &knots,
        "bowline.md",
        "+++\ndate = 2024-01-01\n+++\n# Bowline\n",
    );
    let server = setup.start();
    let body = server.get(&server.url("/series/knots/")).body_text();
    assert!(body.starts_with("# Six Knots\n"), "{body}");
    assert!(body.contains("Six knots, one a week."), "{body}");
    assert!(body.contains("Bowline"), "{body}");
}

#[test]
fn turning_the_opt_in_on_and_off_while_serving() {
    let setup = Setup::new();
    let folder = setup.path().join("capsule/posts/tides");
    write(
        &folder,
        "_index.md",
        "---\ntitle: Tides\n---\nOn the sea.\n",
    );
    write(&folder, "neap.md", "---\ndate: 2024-01-01\n---\n# Neap\n");
    let server = setup.start();
    server.get(&server.url("/series/tides/")).expect("51");
    write(
        &folder,
        "_index.md",
        "---\ntitle: Tides\nseries: true\n---\nOn the sea.\n",
    );
    server.wait_text("/series/tides/", "Neap");
    write(
        &folder,
        "_index.md",
        "---\ntitle: Tidal Waters\nseries: true\n---\nOn the sea.\n",
    );
    server.wait_text("/series/tidal-waters/", "Neap");
    write(
        &folder,
        "_index.md",
        "---\ntitle: Tides\n---\nOn the sea.\n",
    );
    server.wait_for("/series/tidal-waters/", "the series gone", |a| {
        a.status() == "51"
    });
    let neap = server.get(&server.url("/posts/tides/neap.gmi")).body_text();
    assert!(!neap.contains("Part 1"), "{neap}");
}
