//! Posts copied in from Hugo, Zola and Jekyll sites: their front matter obeyed (an expired post
//! gone from every list, `lastmod` as the update, a series named in Zola's `[extra]`), Jekyll's
//! `_posts/` served beside the other posts and its site files never served.

use crate::common::{Setup, run_cli, write};

#[test]
fn posts_from_hugo_zola_and_jekyll_are_served_as_their_sites_had_them() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    // Jekyll: posts dated by their names, a date with an offset, the site's own files.
    write(
        &capsule,
        "_posts/2010-07-21-hello-jekyll.md",
        "---\nlayout: post\ntitle: Hello Jekyll\ncategories: [notes]\n\
         excerpt_separator: <!--more-->\n---\nFrom Jekyll.\n",
    );
    write(
        &capsule,
        "_posts/2010-08-01-second.md",
        "---\nlayout: post\ntitle: Second Jekyll\ndate: 2010-08-01 12:34:56 -0500\n\
         last_modified_at: 2010-09-01\n---\nAgain.\n",
    );
    write(
        &capsule,
        "_drafts/unfinished.md",
        "---\ntitle: Unfinished\n---\nNot yet.\n",
    );
    write(&capsule, "_config.yml", "title: My Jekyll blog\n");
    write(
        &capsule,
        "_layouts/post.html",
        "<html>{{ content }}</html>\n",
    );
    // Hugo: one expired, one updated.
    write(
        &capsule,
        "posts/expired.md",
        "+++\ntitle = \"Old Offer\"\ndate = 2020-01-01\nexpiryDate = 2020-02-01\n\
         tags = [\"offers\"]\n+++\nGone.\n",
    );
    write(
        &capsule,
        "posts/updated.md",
        "---\ntitle: Hugo Updated\ndate: 2021-01-01\nlastmod: 2021-06-15T10:00:00Z\n\
         showToc: true\nparams:\n  author: Me\n---\nStill here.\n",
    );
    // Zola: the series in `[extra]`, ordered by weight.
    for (name, weight) in [("zola-b", -1), ("zola-a", 5)] {
        write(
            &capsule,
            &format!("posts/{name}.md"),
            format!(
                "+++\ntitle = \"Zola {name}\"\ndate = 2022-01-0{}\nweight = {weight}\n\
                 [taxonomies]\nauthors = [\"me\"]\n[extra]\nseries = \"Zola Way\"\n+++\nText.\n",
                if weight < 0 { 2 } else { 1 }
            ),
        );
    }
    let server = setup.start();

    let jekyll = server.get(&server.url("/posts/2010-07-21-hello-jekyll.gmi"));
    jekyll.expect("20");
    assert!(jekyll.body_text().contains("From Jekyll."));
    // The file's own URL sends readers to the post's.
    let own = server.get(&server.url("/_posts/2010-07-21-hello-jekyll.gmi"));
    own.expect("31");
    assert!(
        own.meta().ends_with("/posts/2010-07-21-hello-jekyll.gmi"),
        "{}",
        own.meta()
    );
    for hidden in [
        "/_config.yml",
        "/_layouts/post.html",
        "/posts/unfinished.gmi",
    ] {
        server.get(&server.url(hidden)).expect("51");
    }
    server.get(&server.url("/posts/expired.gmi")).expect("51");

    let archive = server.get(&server.url("/archive/")).body_text();
    assert!(
        archive.contains("=> /posts/2010-07-21-hello-jekyll.gmi 2010-07-21 Hello Jekyll"),
        "{archive}"
    );
    assert!(archive.contains("2010-08-01 Second Jekyll"), "{archive}");
    assert!(
        !archive.contains("Old Offer") && !archive.contains("Unfinished"),
        "{archive}"
    );
    let feed = server.get(&server.url("/atom.xml")).body_text();
    assert!(!feed.contains("Old Offer"), "{feed}");
    assert!(feed.contains("2021-06-15T10:00:00Z"), "{feed}");
    assert!(feed.contains("2010-09-01T00:00:00Z"), "{feed}");
    server.get(&server.url("/tags/offers/")).expect("51");
    server.get(&server.url("/tags/notes/")).expect("20");

    let series = server.get(&server.url("/series/zola-way/")).body_text();
    let b = series.find("Zola zola-b").expect(&series);
    let a = series.find("Zola zola-a").expect(&series);
    assert!(b < a, "the lighter first: {series}");
}

/// Hugo's JSON front matter: read as YAML and TOML are, a draft in it withheld, one that
/// cannot be read named by `check` at its line; a page opening with a shortcode is no JSON.
#[test]
fn a_hugo_post_with_json_front_matter_is_read() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "posts/json.md",
        "{\n  \"title\": \"From JSON\",\n  \"date\": \"2023-04-05\",\n  \
         \"tags\": [\"braces\"]\n}\n\nThe body.\n",
    );
    write(
        &capsule,
        "posts/json-draft.md",
        "{ \"title\": \"Not Yet\", \"draft\": true }\nSoon.\n",
    );
    write(
        &capsule,
        "posts/json-broken.md",
        "{\n  \"title\": \"Broken\"\n  \"date\": \"2023-04-06\"\n}\nText.\n",
    );
    write(
        &capsule,
        "posts/shortcode.md",
        "{{< figure src=\"x.png\" caption=\"First\" >}}\n\nAfter.\n",
    );
    let (_, out, err) = run_cli(setup.path(), &["check"]);
    assert!(
        out.contains("posts/json-broken.md:3: error: invalid JSON front matter"),
        "{out}{err}"
    );
    let server = setup.start();

    let page = server.get(&server.url("/posts/json.gmi"));
    page.expect("20");
    let body = page.body_text();
    assert!(body.starts_with("# From JSON\n"), "{body}");
    assert!(
        body.contains("The body.") && !body.contains("\"title\""),
        "{body}"
    );
    let tag = server.get(&server.url("/tags/braces/")).body_text();
    assert!(tag.contains("2023-04-05 From JSON"), "{tag}");
    server
        .get(&server.url("/posts/json-draft.gmi"))
        .expect("51");
    server
        .get(&server.url("/posts/json-broken.gmi"))
        .expect("51");
    let shortcode = server.get(&server.url("/posts/shortcode.gmi")).body_text();
    assert!(shortcode.contains("=> x.png 🖼 First\n"), "{shortcode}");
}
