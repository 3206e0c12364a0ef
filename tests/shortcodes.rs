//! A blog copied in from Hugo, Zola or Jekyll: its shortcodes and template tags are served as
//! what they mean, its page references lead to the pages they name, and `check` tells what was
//! left out, at the line it is written on.

use crate::common::{Setup, run_cli, write};

#[test]
fn shortcodes_and_page_references_are_served_as_what_they_mean() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "posts/2024-01-02-first.md",
        "---\ntitle: First\ndate: 2024-01-02\n---\n\
         Zola: [second](@/posts/2024-02-03-second.md#part).\n\n\
         Hugo: [bundle]({{< ref \"trip\" >}}).\n\n\
         Jekyll: [old]({{ site.baseurl }}{% post_url 2010-07-21-jekyll %}).\n\n\
         {{< youtube dQw4w9WgXcQ >}}\n\n\
         {{< tabs >}}\nInside tabs.\n{{< /tabs >}}\n\n\
         [nowhere](@/missing.md)\n",
    );
    write(
        &capsule,
        "posts/2024-02-03-second.md",
        "---\ntitle: Second\ndate: 2024-02-03\n---\n\
         {{< highlight go >}}\nx := \"{{ y }}\"\n{{< /highlight >}}\n\n\
         {% raw %}{{ page.title }}{% endraw %}\n",
    );
    write(
        &capsule,
        "posts/trip/index.md",
        "---\ntitle: Trip\ndate: 2023-05-06\n---\nPhotos.\n",
    );
    write(
        &capsule,
        "posts/_posts/2010-07-21-jekyll.md",
        "---\ntitle: Jekyll\ndate: 2010-07-21\n---\nOld.\n",
    );
    let server = setup.start();

    let first = server.get(&server.url("/posts/2024-01-02-first.gmi"));
    first.expect("20");
    let body = first.body_text();
    let trip = server
        .get(&server.url("/posts/2024-02-03-second.gmi"))
        .body_text();
    for line in [
        "=> /posts/2024-02-03-second.gmi second",
        "=> https://www.youtube.com/watch?v=dQw4w9WgXcQ YouTube video",
        "Inside tabs.",
        "=> @/missing.md nowhere",
    ] {
        assert!(body.lines().any(|l| l == line), "{line:?} in {body}");
    }
    // The bundle and the Jekyll post are linked at the URLs the site serves them at.
    for (label, url) in [
        ("bundle", "/posts/trip/"),
        ("old", "/posts/2010-07-21-jekyll.gmi"),
    ] {
        let link = body
            .lines()
            .find(|l| l.starts_with("=> /") && l.ends_with(label))
            .unwrap_or_else(|| panic!("{label} in {body}"));
        let target = link.split(' ').nth(1).unwrap();
        assert!(target.starts_with(url), "{link}");
        server.get(&server.url(target)).expect("20");
    }
    assert!(!body.contains("{{") && !body.contains("{%"), "{body}");
    assert!(
        trip.contains("```go\nx := \"{{ y }}\"\n```\n") && trip.contains("{{ page.title }}"),
        "{trip}"
    );

    let (_, out, err) = run_cli(server.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(
        said.contains(
            "posts/2024-01-02-first.md:13: warning: shortcode or tag `tabs` is not known: its \
             tags are left out, its content kept"
        ),
        "{said}"
    );
    assert!(
        said.contains("posts/2024-01-02-first.md:9: warning: `site.baseurl` stands for a value"),
        "{said}"
    );
    assert!(
        said.contains("posts/2024-01-02-first.md:17: warning: page reference @/missing.md"),
        "{said}"
    );
}

#[test]
fn check_tells_an_unknown_shortcode_once_for_the_whole_site() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "posts/a.md",
        "---\ntitle: A\ndate: 2024-01-02\n---\nText.\n\n{{< newsletter >}}\n\n{{< newsletter >}}\n",
    );
    write(
        &capsule,
        "posts/b.md",
        "---\ntitle: B\ndate: 2024-01-03\n---\n{{< newsletter >}}\n",
    );
    let (_, out, err) = run_cli(setup.path(), &["check"]);
    let said = format!("{out}{err}");
    let told: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("`newsletter`"))
        .collect();
    assert_eq!(
        told,
        [
            "posts/a.md:7: warning: shortcode or tag `newsletter` is not known: its tags are left \
             out, its content kept (1 more use on this page) (also in 1 more file)"
        ],
        "{said}"
    );
}
