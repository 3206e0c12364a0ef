//! Blogs brought from Hugo, Zola and Jekyll: a corpus in each generator's shape (page bundles
//! with images, `_index.md` sections, shortcodes and Liquid tags, `@/` and `ref` links,
//! aliases, `[extra]`, `_posts`, series by key and by folder), served over TLS, copied by
//! `build --out` and read by `check`.

use std::path::Path;
use std::process::Command;

use crate::common::{Setup, TestServer, build_copy, build_copy_with, run_cli, write};
use crate::suites::{Archive, fetch};

/// What a Hugo author copies from `content/`: a section page, a page bundle with its photo,
/// a post full of shortcodes, a series ordered by the Blowfish theme's `series_order`.
fn hugo(capsule: &Path) {
    let posts = capsule.join("posts");
    write(
        &posts,
        "_index.md",
        "+++\ntitle = \"Writing\"\ndescription = \"Everything I wrote.\"\nweight = 1\n+++\nThe posts section.\n",
    );
    write(
        &posts,
        "my-trip/index.md",
        "---\ntitle: My Trip\ndate: 2023-05-01\nlastmod: 2023-06-01\ncategories: [travel]\n\
         aliases: [/trips/2023/]\nshowToc: true\nparams:\n  series_role: part\n---\n\
         ![The harbour at dawn](harbour.jpg)\n\nWe left early.\n",
    );
    write(&posts, "my-trip/harbour.jpg", [0xff, 0xd8, 0xff, 0xe0]);
    write(
        &posts,
        "shortcodes.md",
        "+++\ntitle = \"Every Shortcode\"\ndate = 2023-07-01\ntags = [\"meta\"]\nkeywords = [\"x\"]\n\
         linkTitle = \"Shortcodes\"\n[params]\nauthor = \"Me\"\n+++\n\
         {{< figure src=\"/images/map.png\" alt=\"A map\" caption=\"Where we went\" >}}\n\n\
         {{< youtube dQw4w9WgXcQ >}}\n\n\
         Read [the trip]({{< ref \"my-trip/index.md\" >}}) and [part two]({{< relref \"pi/two.md\" >}}).\n\n\
         {{% note %}}\nA **noted** thing.\n{{% /note %}}\n\n\
         {{< highlight go >}}\nfmt.Println(\"hi\")\n{{< /highlight >}}\n\n\
         {{< tabs >}}\nTab one text.\n{{< /tabs >}}\n\n\
         Shown literally: `{{< figure src=\"x\" >}}` in a code span.\n\n\
         ```\n{{< youtube abc >}}\n```\n",
    );
    for (file, order, date) in [
        ("one.md", 1, "2023-03-03"),
        ("two.md", 2, "2023-01-01"),
        ("three.md", 3, "2023-02-02"),
    ] {
        write(
            &posts,
            &format!("pi/{file}"),
            format!(
                "---\ntitle: Pi {order}\ndate: {date}\nseries: [\"Self-Hosting on a Pi\"]\n\
                 series_order: {order}\n---\nPart {order} text.\n"
            ),
        );
    }
    write(
        &posts,
        "expired.md",
        "---\ntitle: Old Offer\ndate: 2020-01-01\nexpiryDate: 2020-02-01\n---\nGone.\n",
    );
}

/// What a Zola author copies from `content/`: `+++` TOML only, `[taxonomies]`, gemhole's own
/// keys under `[extra]`, `@/` links, both shortcode forms, a section that redirects.
fn zola(capsule: &Path) {
    let posts = capsule.join("posts");
    write(
        &posts,
        "garden/_index.md",
        "+++\ntitle = \"Garden\"\nsort_by = \"date\"\npaginate_by = 5\ninsert_anchor_links = \"right\"\n\
         template = \"section.html\"\n+++\nNotes from the garden.\n",
    );
    write(
        &posts,
        "garden/beans.md",
        "+++\ntitle = \"Beans\"\ndate = 2022-04-01\nweight = 2\naliases = [\"/garden/old-beans/\"]\n\
         [taxonomies]\ntags = [\"garden\"]\nauthors = [\"me\"]\n[extra]\nseries = \"The Garden\"\npart = 2\n+++\n\
         Back to [the peas](@/posts/garden/peas.md#sowing).\n\n\
         {{ youtube(id=\"abc123\") }}\n\n\
         {% note(title=\"Careful\") %}\nSlugs love beans.\n{% end %}\n",
    );
    write(
        &posts,
        "garden/peas.md",
        "+++\ntitle = \"Peas\"\ndate = 2022-05-01\nupdated = 2022-06-01\nin_search_index = true\n\
         [extra]\nseries = \"The Garden\"\npart = 1\n+++\nSee [beans](@/posts/garden/beans.md).\n",
    );
    write(
        &posts,
        "moved/_index.md",
        "+++\nredirect_to = \"posts/garden/\"\n+++\n",
    );
}

/// What a Jekyll author copies: the whole site, `_posts` with their date prefixes, Liquid
/// tags, `redirect_from`, and files of Jekyll's own that are never served.
fn jekyll(capsule: &Path) {
    write(
        capsule,
        "_config.yml",
        "title: My Blog\nsecret_token: abc\n",
    );
    write(
        capsule,
        "_layouts/post.html",
        "<html>{{ content }}</html>\n",
    );
    write(
        capsule,
        "_posts/2020-01-15-welcome.md",
        "---\nlayout: post\ntitle: Welcome\ncategories: [news]\nredirect_from: [/old-welcome/]\n\
         excerpt: The first post.\n---\n\
         Next: [the second]({% post_url 2020-02-01-second %}).\n\n\
         {% highlight ruby %}\nputs \"hi\"\n{% endhighlight %}\n\n\
         {% raw %}Literally {{ page.title }}{% endraw %}\n\n\
         {% include note.html %}\n\nHome is {{ site.baseurl }}/.\n",
    );
    write(
        capsule,
        "_posts/2020-02-01-second.markdown",
        "---\nlayout: post\ntitle: Second\npublished: true\n---\nSecond text.\n",
    );
    write(
        capsule,
        "_posts/2020-03-01-unpublished.md",
        "---\nlayout: post\ntitle: Hidden\npublished: false\n---\nNot yet.\n",
    );
}

fn corpus(make: fn(&Path)) -> TestServer {
    let setup = Setup::new();
    make(&setup.path().join("capsule"));
    setup.start()
}

/// Runs `gemhole` in `dir`, returning whether it succeeded and both outputs together.
fn gemhole(dir: &Path, args: &[&str]) -> (bool, String) {
    let (status, out, err) = run_cli(dir, args);
    (status.success(), format!("{out}{err}"))
}

/// Builds a static copy of `dir/capsule` into `dir/site`.
fn build(dir: &Path) -> (bool, String) {
    let (status, out, err) = build_copy(dir, "site");
    (status.success(), format!("{out}{err}"))
}

fn has_line(body: &str, line: &str) -> bool {
    body.lines().any(|l| l == line)
}

/// The text lines of a gemtext page outside preformatted blocks, with code spans taken out:
/// where a template tag left raw would meet a reader.
fn prose(body: &str) -> String {
    let mut out = String::new();
    let mut preformatted = false;
    for line in body.lines() {
        if line.starts_with("```") {
            preformatted = !preformatted;
            continue;
        }
        if preformatted {
            continue;
        }
        // Code spans: every other run between backticks.
        for (i, piece) in line.split('`').enumerate() {
            if i % 2 == 0 {
                out.push_str(piece);
            }
        }
        out.push('\n');
    }
    out
}

fn expect_redirect(server: &TestServer, from: &str, to: &str) {
    let r = server.get(&server.url(from));
    assert_eq!(r.status(), "31", "{from}: {}", r.header());
    assert!(
        r.meta().ends_with(to),
        "{from} should redirect to {to}: {}",
        r.header()
    );
}

fn page(server: &TestServer, path: &str) -> String {
    let r = server.get(&server.url(path));
    assert_eq!(r.status(), "20", "{path}: {}", r.header());
    r.body_text()
}

fn check_output(server: &TestServer) -> String {
    let (_, out) = gemhole(server.dir.path(), &["check"]);
    out
}

#[test]
fn a_hugo_blog_keeps_its_urls_its_series_order_and_shows_no_shortcode() {
    let server = corpus(hugo);

    // The page bundle at its folder URL, its photo beside it, its old URLs leading there.
    let trip = page(&server, "/posts/my-trip/");
    assert!(trip.contains("=> harbour.jpg"), "{trip}");
    let photo = server.get(&server.url("/posts/my-trip/harbour.jpg"));
    assert_eq!(photo.header(), "20 image/jpeg");
    expect_redirect(&server, "/trips/2023/", "/posts/my-trip/");
    expect_redirect(&server, "/posts/my-trip/index.gmi", "/posts/my-trip/");
    expect_redirect(&server, "/posts/shortcodes/", "/posts/shortcodes.gmi");

    // Every shortcode is what it means; code keeps what was written.
    let body = page(&server, "/posts/shortcodes.gmi");
    let shown = prose(&body);
    for raw in ["{{<", "{{%", ">}}", "%}}"] {
        assert!(!shown.contains(raw), "`{raw}` shown:\n{body}");
    }
    for line in [
        "=> /posts/my-trip/ the trip",
        "=> /posts/pi/two.gmi part two",
        "Tab one text.",
        "```go",
    ] {
        assert!(has_line(&body, line), "{line:?} in:\n{body}");
    }
    assert!(body.contains("/images/map.png"), "{body}");
    assert!(body.contains("youtube.com/watch?v=dQw4w9WgXcQ"), "{body}");
    assert!(body.contains("noted thing"), "{body}");
    assert!(body.contains("`{{< figure src=\"x\" >}}`"), "{body}");
    assert!(body.contains("```\n{{< youtube abc >}}\n```"), "{body}");

    // The section page is the folder's index and no post; the expired post is gone.
    let section = page(&server, "/posts/");
    assert!(section.contains("The posts section."), "{section}");
    let archive = page(&server, "/archive/");
    assert!(!archive.contains("Writing"), "{archive}");
    assert!(!archive.contains("Old Offer"), "{archive}");
    assert_eq!(server.get(&server.url("/posts/expired.gmi")).status(), "51");

    // The series in `series_order`, whatever the dates say.
    let series = page(&server, "/series/self-hosting-on-a-pi/");
    let at = |title: &str| {
        series
            .find(title)
            .unwrap_or_else(|| panic!("{title}: {series}"))
    };
    assert!(
        at("Pi 1") < at("Pi 2") && at("Pi 2") < at("Pi 3"),
        "{series}"
    );

    let check = check_output(&server);
    assert!(!check.contains("unknown key"), "{check}");
    assert!(check.contains("`tabs`"), "{check}");
}

#[test]
fn a_zola_blog_resolves_its_references_and_reads_its_extra_table() {
    let server = corpus(zola);
    let beans = page(&server, "/posts/garden/beans.gmi");
    assert!(
        has_line(&beans, "=> /posts/garden/peas.gmi the peas"),
        "{beans}"
    );
    assert!(beans.contains("youtube.com/watch?v=abc123"), "{beans}");
    assert!(beans.contains("Slugs love beans."), "{beans}");
    for raw in ["{{ ", "{%", "%}"] {
        assert!(!prose(&beans).contains(raw), "`{raw}` shown:\n{beans}");
    }
    // `[extra]` gave the series and the parts.
    let series = page(&server, "/series/the-garden/");
    assert!(
        series.find("Peas").unwrap() < series.find("Beans").unwrap(),
        "{series}"
    );
    assert!(beans.contains("Part 2"), "{beans}");

    let garden = page(&server, "/posts/garden/");
    assert!(garden.contains("Notes from the garden."), "{garden}");
    expect_redirect(&server, "/garden/old-beans/", "/posts/garden/beans.gmi");
    expect_redirect(&server, "/posts/moved/", "/posts/garden/");

    let check = check_output(&server);
    assert!(!check.contains("unknown key"), "{check}");
}

#[test]
fn a_jekyll_site_serves_its_posts_and_never_its_own_files() {
    let server = corpus(jekyll);
    let welcome = page(&server, "/posts/2020-01-15-welcome.gmi");
    assert!(
        has_line(&welcome, "=> /posts/2020-02-01-second.gmi the second"),
        "{welcome}"
    );
    assert!(welcome.contains("```ruby\nputs \"hi\"\n```"), "{welcome}");
    assert!(welcome.contains("Literally {{ page.title }}"), "{welcome}");
    assert!(!prose(&welcome).contains("{%"), "{welcome}");
    assert!(!welcome.contains("baseurl"), "{welcome}");
    // The `.markdown` post, its date from its name.
    let second = page(&server, "/posts/2020-02-01-second.gmi");
    assert!(second.contains("Second text."), "{second}");

    expect_redirect(
        &server,
        "/news/2020/01/15/welcome.html",
        "/posts/2020-01-15-welcome.gmi",
    );
    expect_redirect(&server, "/old-welcome/", "/posts/2020-01-15-welcome.gmi");
    for hidden in [
        "/_config.yml",
        "/_layouts/post.html",
        "/posts/2020-03-01-unpublished.gmi",
    ] {
        assert_eq!(server.get(&server.url(hidden)).status(), "51", "{hidden}");
    }
    let check = check_output(&server);
    assert!(!check.contains("unknown key"), "{check}");
    assert!(check.contains("2 published post(s)"), "{check}");
}

/// A static copy keeps the same shape: the bundle's folder with its photo, and a page at
/// each former URL the author wrote, linking to where the post went.
#[test]
fn a_static_copy_of_a_hugo_blog_keeps_bundles_and_former_urls() {
    let dir = tempfile::tempdir().unwrap();
    hugo(&dir.path().join("capsule"));
    let (ok, out) = build(dir.path());
    assert!(ok, "{out}");
    let site = dir.path().join("site");
    let read = |p: &str| {
        std::fs::read_to_string(site.join(p)).unwrap_or_else(|e| panic!("{p}: {e}\n{out}"))
    };
    assert!(read("posts/my-trip/index.gmi").contains("=> harbour.jpg"));
    assert!(site.join("posts/my-trip/harbour.jpg").is_file());
    assert!(read("trips/2023/index.gmi").contains("/posts/my-trip/"));
    assert!(!prose(&read("posts/shortcodes.gmi")).contains("{{<"));
}

/// A real site written elsewhere, pinned in a package registry, and how its author would lay
/// it out in a capsule: (folder in the archive, folder in the capsule).
struct RealSite {
    archive: Archive,
    layout: &'static [(&'static str, &'static str)],
    /// The posts its generator publishes (not drafts, not `published: false`).
    published: usize,
    /// Tags the site shows on purpose, escaped in its source (`{%/* end */%}`).
    shown: &'static [&'static str],
}

/// Jekyll's own site as it shipped in Jekyll 3.0.0.beta1 (npm `jekyll`, MIT): `_posts` of
/// `.markdown` files full of Liquid (`highlight`, `raw`, `post_url`, `include`), and `_docs`.
const JEKYLL_SITE: RealSite = RealSite {
    archive: Archive {
        file: "jekyll-3.0.0-beta1.tgz",
        url: "https://registry.npmjs.org/jekyll/-/jekyll-3.0.0-beta1.tgz",
        sha256: "e0dcb53e9b1d692cc32fb3de144e4e2ee4fd5667a7493930d45412069337f567",
    },
    layout: &[
        ("package/site/_posts", "_posts"),
        ("package/site/_docs", "_docs"),
    ],
    published: 34,
    shown: &[],
};

/// The Doks theme's own site for Hugo (npm `@hyas/doks` 0.5.0, MIT): sections with
/// `_index.md`, page bundles, `relref`, `alert` and `details` shortcodes; its `blog` section
/// copied in as the capsule's posts.
const HUGO_DOKS: RealSite = RealSite {
    archive: Archive {
        file: "doks-0.5.0.tgz",
        url: "https://registry.npmjs.org/@hyas/doks/-/doks-0.5.0.tgz",
        sha256: "9c3026edf5f9632f0a038c14af10781710c41491ed1e317e32cb75f1d5299c4c",
    },
    layout: &[
        ("package/content/en/blog", "posts"),
        ("package/content/en/docs", "docs"),
        ("package/content/en/contributors", "contributors"),
    ],
    published: 1,
    shown: &[],
};

/// A Hugo demo site (PyPI `hugo-writer`, MIT): YAML, TOML and JSON front matter, a page
/// bundle with its image, a draft.
const HUGO_WRITER: RealSite = RealSite {
    archive: Archive {
        file: "hugo_writer-1.20261027.1002828.tar.gz",
        url: "https://files.pythonhosted.org/packages/43/11/cef8301114ff1ae08457a9f8509f9e79d922e48f7645f1960f535e2a1994/hugo_writer-1.20261027.1002828.tar.gz",
        sha256: "71881e74522b92da9a269ae2059c1f941ea0f5a4943175bbdaf456bcceaf3fb9",
    },
    layout: &[(
        "hugo_writer-1.20261027.1002828/examples/demo-site/content/posts",
        "posts",
    )],
    published: 2,
    shown: &[],
};

/// A Zola page exercising its shortcodes and `@/` links (PyPI `mdformat-zola`'s fixture, MIT).
const ZOLA_FIXTURE: RealSite = RealSite {
    archive: Archive {
        file: "mdformat_zola-1.0.2.tar.gz",
        url: "https://files.pythonhosted.org/packages/00/44/de10a35214d8001e864aedb8fe3eedee367b60382896664d24db04587c89/mdformat_zola-1.0.2.tar.gz",
        sha256: "f40ff4abb4c4d6567eb48b3e03ca4338822d886e86072fec98e433ec73809b9c",
    },
    layout: &[("mdformat_zola-1.0.2/tests/fixtures", "posts")],
    published: 1,
    shown: &["{% quote(author=\"Nobody\") %}", "{% end %}"],
};

/// Template tags a reader must never see: Hugo's and Zola's/Liquid's tag delimiters. (`{{ x }}`
/// alone is left out: a Liquid `raw` block shows it on purpose.)
const RAW_TAGS: [&str; 6] = ["{{<", "{{%", ">}}", "%}}", "{%", "%}"];

/// Lays the site out as a capsule, builds a static copy of it and checks it: every post its
/// generator publishes is published, no page shows a template tag outside code, and no key
/// its generator documents is called unknown.
fn try_real_site(site: &RealSite) {
    let archive = fetch(&site.archive);
    let dir = tempfile::tempdir().unwrap();
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("run tar");
    assert!(status.success(), "tar -xzf {}", archive.display());
    let capsule = dir.path().join("capsule");
    for (from, to) in site.layout {
        let to = capsule.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::rename(unpacked.join(from), &to).unwrap_or_else(|e| panic!("{from}: {e}"));
    }
    let name = site.archive.file;
    let (_, check) = gemhole(
        dir.path(),
        &["check", "--config", "/dev/null", "--capsule", "capsule"],
    );
    assert!(
        check.contains(&format!("{} published post(s)", site.published)),
        "{name}: {check}"
    );
    let documented = [
        "title",
        "date",
        "lastmod",
        "draft",
        "weight",
        "images",
        "menu",
        "toc",
        "aliases",
        "description",
        "slug",
        "url",
        "summary",
        "categories",
        "tags",
        "layout",
        "permalink",
        "published",
        "excerpt",
        "publishDate",
        "expiryDate",
        "keywords",
        "linkTitle",
        "params",
        "type",
        "author",
        "extra",
        "taxonomies",
        "updated",
        "template",
        "sort_by",
    ];
    for line in check.lines().filter(|l| l.contains("unknown key")) {
        assert!(
            !documented.iter().any(|k| line.contains(&format!("`{k}`"))),
            "{name}: {line}"
        );
    }
    let (ok, out) = build(dir.path());
    assert!(ok, "{name}: {out}");
    let gemtext = files_under(&dir.path().join("site"), |p| {
        p.extension().is_some_and(|e| e == "gmi")
    });
    for path in &gemtext {
        let text = std::fs::read_to_string(path).unwrap();
        let shown = site
            .shown
            .iter()
            .fold(prose(&text), |text, meant| text.replace(meant, ""));
        for tag in RAW_TAGS {
            assert!(
                !shown.contains(tag),
                "{name}: {} shows `{tag}`:\n{text}",
                path.display()
            );
        }
    }
    let pages = gemtext.len();
    assert!(pages > site.published, "{name}: {pages} pages\n{out}");
    // The same site for web readers: every page an HTML document whose elements close in
    // order, with no script, and no template tag in its text either.
    let (status, out, err) = build_copy_with(dir.path(), "web", &["--html"]);
    assert!(status.success(), "{name}: {out}{err}");
    // A folder's page is its `index.html`; other `.html` files are the site's own, copied as
    // they are.
    let documents = files_under(&dir.path().join("web"), |p| {
        p.extension().is_some_and(|e| e == "gmi")
            || p.file_name().is_some_and(|n| n == "index.html")
    });
    for path in &documents {
        let html = std::fs::read_to_string(path).unwrap();
        let shown = path.display();
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}: {shown}");
        assert!(
            !html.to_ascii_lowercase().contains("<script"),
            "{name}: {shown}"
        );
        if let Err(why) = elements_close_in_order(&html) {
            panic!("{name}: {shown}: {why}\n{html}");
        }
        let text = site
            .shown
            .iter()
            .fold(prose(&html_text(&html)), |text, meant| {
                text.replace(meant, "")
            });
        for tag in RAW_TAGS {
            assert!(!text.contains(tag), "{name}: {shown} shows `{tag}`");
        }
    }
    let documents = documents.len();
    assert_eq!(documents, pages, "{name}: one web page per Gemini page");
}

/// The files below `dir`, at any depth, that `wanted` picks.
fn files_under(dir: &Path, wanted: impl Fn(&Path) -> bool) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if wanted(&path) {
                files.push(path);
            }
        }
    }
    files
}

/// Whether every element of an HTML document but the void ones is closed, in order.
fn elements_close_in_order(html: &str) -> Result<(), String> {
    const VOID: [&str; 3] = ["meta", "link", "br"];
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let end = rest.find('>').ok_or("a tag never ends")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap_or("");
        if tag.starts_with('/') {
            match open.pop() {
                Some(opened) if opened == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if !VOID.contains(&name) {
            open.push(name);
        }
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("never closed: {open:?}"))
    }
}

/// The prose of an HTML document: tags and preformatted blocks (code, shown as written) left
/// out, the five escapes read back.
fn html_text(html: &str) -> String {
    let mut prose = String::new();
    let mut rest = html;
    while let Some(at) = rest.find("<pre") {
        prose.push_str(&rest[..at]);
        rest = rest[at..]
            .split_once("</pre>")
            .map_or("", |(_, after)| after);
    }
    prose.push_str(rest);
    let mut text = String::new();
    let mut inside = false;
    for c in prose.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[test]
fn real_sites_written_elsewhere_publish_every_post_and_show_no_template_tag() {
    for site in [&JEKYLL_SITE, &HUGO_DOKS, &HUGO_WRITER, &ZOLA_FIXTURE] {
        try_real_site(site);
    }
}

/// A page reference never leads readers of a public page into a client-certificate area:
/// the reference stays unresolved, and `check` says why.
#[test]
fn a_page_reference_never_points_into_an_area_from_outside() {
    let setup = Setup::new().config("[[area]]\npath = \"/members/\"\n");
    let capsule = setup.path().join("capsule");
    write(&capsule, "members/secret.md", "# Secret\n");
    write(
        &capsule,
        "posts/refs.md",
        "---\ndate: 2024-01-01\n---\nSee {{< ref \"secret.md\" >}} and [this](@/members/secret.md).\n",
    );
    let server = setup.start();
    let body = page(&server, "/posts/refs.gmi");
    assert!(!body.contains("members"), "{body}");
    assert!(body.contains("See secret.md and this."), "{body}");
    let check = check_output(&server);
    assert!(
        check.contains("posts/refs.md:4: warning: page reference @/secret.md names a page in a client-certificate area"),
        "{check}"
    );
}
