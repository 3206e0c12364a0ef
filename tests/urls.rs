//! URLs as an old site had them: page bundles at their folder URLs, `_index.md` section
//! pages, former URLs (`aliases`, `redirect_from`, `url`, the generators' own) answering `31`
//! over Gemini and a pointer over Gopher, `redirect_to`, and the static copy of them.

use crate::common::{Setup, TestServer, run_cli, write};

/// A capsule moved from a static-site generator, served over Gemini and Gopher.
fn migrated() -> TestServer {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "posts/trip/index.md",
        "---\ntitle: The trip\ndate: 2024-02-01\nslug: voyage\naliases: [/2019/trip/]\n---\n\
         ![harbour](harbour.png)\n",
    );
    write(
        &capsule,
        "posts/trip/harbour.png",
        b"\x89PNG\r\n\x1a\nbytes",
    );
    write(
        &capsule,
        "posts/knots.md",
        "---\ntitle: Knots\ndate: 2024-03-01\nredirect_from:\n  - /old/knots.html\n  - notes/knots/\n\
         url: /2024/knots/\n---\nSee [the trip](trip/index.md) and [again](../posts/trip/).\n",
    );
    write(
        &capsule,
        "posts/claim.md",
        "---\ntitle: Claim\ndate: 2024-04-01\naliases:\n  - /old/knots.html\n  - /about.gmi\n---\nMine.\n",
    );
    write(
        &capsule,
        "posts/moved.md",
        "---\ntitle: Moved\ndate: 2024-01-01\nredirect_to: posts/knots.gmi\n---\nGone.\n",
    );
    write(&capsule, "about.gmi", "# About\n");
    write(
        &capsule,
        "posts/_index.md",
        "+++\ntitle = \"All posts\"\nsort_by = \"date\"\npaginate_by = 5\n+++\nThe posts.\n",
    );
    write(
        &capsule,
        "blog/_index.md",
        "---\nredirect_to: /posts/\ntemplate: section.html\n---\n",
    );
    setup.start()
}

#[test]
fn a_bundle_is_served_at_its_folder_with_its_files_beside_it() {
    let s = migrated();
    let page = s.get(&s.url("/posts/trip/"));
    page.expect("20");
    assert!(
        page.body_text().contains("=> harbour.png"),
        "{}",
        page.text()
    );
    s.get(&s.url("/posts/trip/harbour.png")).expect("20");
    // Its file's own name, and the folder its `slug` names, lead to the folder.
    let by_name = s.get(&s.url("/posts/trip/index.gmi"));
    assert_eq!((by_name.status(), by_name.meta()), ("31", "/posts/trip/"));
    let by_slug = s.get(&s.url("/posts/voyage/"));
    assert_eq!((by_slug.status(), by_slug.meta()), ("31", "/posts/trip/"));
    // Every list names the folder.
    for list in ["/archive/", "/atom.xml", "/"] {
        let body = s.get(&s.url(list)).body_text();
        assert!(body.contains("/posts/trip/"), "{list}: {body}");
        assert!(!body.contains("trip/index.gmi"), "{list}: {body}");
    }
}

#[test]
fn a_section_page_is_its_folders_index_and_no_post() {
    let s = migrated();
    let index = s.get(&s.url("/posts/"));
    index.expect("20");
    assert!(index.body_text().contains("The posts."), "{}", index.text());
    for list in ["/archive/", "/atom.xml"] {
        let body = s.get(&s.url(list)).body_text();
        assert!(!body.contains("All posts"), "{list}: {body}");
        assert!(body.contains("Knots"), "{list}: {body}");
    }
    let section = s.get(&s.url("/blog/"));
    assert_eq!((section.status(), section.meta()), ("31", "/posts/"));
}

#[test]
fn former_urls_answer_31_and_gopher_points_to_the_page() {
    let s = migrated();
    let moved = |path: &str| {
        let r = s.get(&s.url(path));
        (r.status().to_owned(), r.meta().to_owned())
    };
    let knots = ("31".to_owned(), "/posts/knots.gmi".to_owned());
    for path in [
        "/old/knots.html",
        "/old/knots.gmi",
        "/old/knots/",
        "/posts/notes/knots/",
        "/posts/notes/knots",
        "/2024/knots/",
        "/2024/knots/index.html",
        // What Hugo and others served it at.
        "/posts/knots/",
        "/posts/knots.html",
    ] {
        assert_eq!(moved(path), knots, "{path}");
    }
    assert_eq!(moved("/2019/trip/"), ("31".into(), "/posts/trip/".into()));
    // A page keeps its URL; a post's `redirect_to` sends readers on.
    assert_eq!(moved("/about.gmi").0, "20");
    assert_eq!(moved("/posts/moved.gmi"), knots);
    s.get(&s.url("/nowhere/")).expect("51");

    let menu = String::from_utf8_lossy(&s.gopher(b"/old/knots.html\r\n")).into_owned();
    assert!(menu.contains("/posts/knots.txt"), "{menu}");
    // A bundle's former URLs, as a page's: every spelling, and over Gopher a menu that points
    // to it.
    let trip = ("31".to_owned(), "/posts/trip/".to_owned());
    for path in [
        "/posts/trip/index.html",
        "/posts/trip.html",
        "/posts/voyage/",
        "/posts/voyage.html",
    ] {
        assert_eq!(moved(path), trip, "{path}");
    }
    for selector in ["/2019/trip/", "/posts/voyage/"] {
        let menu =
            String::from_utf8_lossy(&s.gopher(format!("{selector}\r\n").as_bytes())).into_owned();
        assert!(
            menu.contains("/posts/trip/") && !menu.contains("harbour.png"),
            "{selector}: {menu}"
        );
    }
}

#[test]
fn check_names_both_posts_of_a_contested_alias_and_a_static_copy_links_former_urls() {
    let s = migrated();
    let (status, out, err) = run_cli(s.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    // Both posts publish: a contested alias is a warning, and told once.
    assert!(status.success(), "{said}");
    assert_eq!(said.matches("is a former URL of both").count(), 1, "{said}");
    assert!(
        said.contains("/old/knots is a former URL of both posts/knots.md and posts/claim.md"),
        "{said}"
    );
    assert!(
        said.contains("`aliases` names /about, which a file or folder of the capsule serves"),
        "{said}"
    );
    assert!(
        !said.contains("sort_by") && !said.contains("template"),
        "{said}"
    );

    let (status, out, err) = run_cli(s.dir.path(), &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let site = s.dir.path().join("site");
    let read = |p: &str| std::fs::read_to_string(site.join(p)).unwrap_or_default();
    assert!(read("posts/trip/index.gmi").contains("=> harbour.png"));
    assert!(site.join("posts/trip/harbour.png").is_file());
    assert!(read("old/knots/index.gmi").contains("=> /posts/knots.gmi"));
    assert!(read("old/knots.gmi").contains("=> /posts/knots.gmi"));
    assert!(read("2019/trip/index.gmi").contains("=> /posts/trip/"));
    assert!(read("posts/index.gmi").contains("The posts."));
}

/// Aliases no request could name, or that name a page the capsule makes, are refused with a
/// warning at their line; neither the server nor `gemhole build` uses them, and the build
/// writes the rest.
#[test]
fn aliases_the_server_would_never_answer_are_refused_and_the_build_goes_on() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    let long = "a".repeat(256);
    write(
        &capsule,
        "posts/bad.md",
        format!(
            "---\ntitle: Bad\ndate: 2024-01-01\naliases:\n  - /atom.xml\n  - /robots.txt\n  \
             - /archive/\n  - /archive.gmi\n  - /tags/\n  - /series/\n  - /search\n  \
             - /drafts/\n  - /.well-known/x\n  - /.hidden/x/\n  - \"/nul\\u0000x/\"\n  \
             - /a%0D%0Ab/\n  - /back%5Cslash/\n  - /a%2fb/\n  - /{long}/\n  - /fine/\n  - /about.gmi/x/\n\
             ---\nBad.\n"
        ),
    );
    write(
        &capsule,
        "posts/away.md",
        "---\ntitle: Away\ndate: 2024-02-01\nredirect_to: /posts/bad.gmi\n---\nGone.\n",
    );
    let s = setup.start();
    let (status, out, err) = run_cli(s.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(status.success(), "{said}");
    for alias in [
        "/atom.xml",
        "/robots.txt",
        "/archive/",
        "/archive.gmi",
        "/tags/",
        "/series/",
        "/search",
        "/drafts/",
        "/.well-known/x",
        "/.hidden/x/",
        "/a%0D%0Ab/",
        "/back%5Cslash/",
        "/a%2fb/",
    ] {
        let told = format!("`aliases` `{alias}` is not taken");
        assert_eq!(said.matches(&told).count(), 1, "{alias}: {said}");
    }
    assert!(said.contains("posts/bad.md:4:"), "{said}");
    assert!(said.contains("a name over 255 bytes"), "{said}");
    assert!(said.contains("control character"), "{said}");
    assert!(
        said.contains("the capsule makes a page of its own there"),
        "{said}"
    );

    s.get(&s.url("/atom.xml")).expect("20");
    s.get(&s.url("/archive/")).expect("20");
    s.get(&s.url("/.well-known/x")).expect("51");
    let fine = s.get(&s.url("/fine/"));
    assert_eq!((fine.status(), fine.meta()), ("31", "/posts/bad.gmi"));

    let (status, out, err) = run_cli(s.dir.path(), &["build", "--out", "site"]);
    assert!(status.success(), "{out}{err}");
    let site = s.dir.path().join("site");
    assert!(
        std::fs::read_to_string(site.join("atom.xml")).is_ok_and(|feed| feed.contains("<feed"))
    );
    assert!(
        std::fs::read_to_string(site.join("fine/index.gmi"))
            .is_ok_and(|p| p.contains("=> /posts/bad.gmi"))
    );
    for never in [
        "archive.gmi",
        "tags.gmi",
        "series.gmi",
        "search/index.gmi",
        "drafts/index.gmi",
        ".hidden",
        ".well-known/x",
        "back\\slash",
        "a/b",
    ] {
        assert!(!site.join(never).exists(), "{never}");
    }
    // A page's `redirect_to` within the capsule gets a page with the link, as a web one does.
    let away = std::fs::read_to_string(site.join("posts/away.gmi")).unwrap_or_default();
    assert!(away.contains("=> /posts/bad.gmi"), "{away}");
}

/// A `redirect_to` that leads back to its page, by itself or round a loop of redirects and
/// former URLs, is warned about at its line and not followed: the page is served as it is.
#[test]
fn a_redirect_loop_is_told_and_its_pages_are_served() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    let post = |name: &str, redirect: &str| {
        write(
            &capsule,
            &format!("posts/{name}.md"),
            format!(
                "---\ntitle: {name}\ndate: 2024-01-01\nredirect_to: {redirect}\n---\nI am {name}.\n"
            ),
        );
    };
    post("rself", "/posts/rself.gmi");
    post("rchain1", "/posts/rchain2.gmi");
    post("rchain2", "/posts/rchain1.gmi");
    // Through a former URL the generator gave it.
    post("rold", "/posts/rold/");
    // Into a loop, but on none: still redirected.
    post("rinto", "/posts/rchain1.gmi");
    let s = setup.start();
    let (status, out, err) = run_cli(s.dir.path(), &["check"]);
    let said = format!("{out}{err}");
    assert!(status.success(), "{said}");
    for name in ["rself", "rchain1", "rchain2", "rold"] {
        let told = format!("posts/{name}.md:4: warning: `redirect_to`");
        assert_eq!(said.matches(&told).count(), 1, "{name}: {said}");
        let page = s.get(&s.url(&format!("/posts/{name}.gmi")));
        page.expect("20");
        assert!(
            page.body_text().contains(&format!("I am {name}.")),
            "{name}"
        );
    }
    assert!(!said.contains("rinto.md:4"), "{said}");
    let into = s.get(&s.url("/posts/rinto.gmi"));
    assert_eq!((into.status(), into.meta()), ("31", "/posts/rchain1.gmi"));
}
