//! Live reload against a running server: posts created, edited, renamed and deleted; editors'
//! partial and atomic writes; a burst of files; readers who keep asking meanwhile and must
//! never see a torn page or an error for a page that exists before and after; SIGHUP and
//! changes to the config file and the certificates.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::identity::{ClientCert, titan_put};
use crate::common::{DEADLINE, Exchange, Setup, TestServer, Tls, connect, fetch, finish, write};

fn post(title: &str, date: &str, extra: &str, body: &str) -> String {
    format!("---\ntitle: {title}\ndate: {date}\n{extra}---\n{body}\n")
}

/// Polls `path` until its body satisfies `pred`.
fn wait_body(server: &TestServer, path: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    server
        .wait_for(path, what, |a| a.status() == "20" && pred(&a.body_text()))
        .body_text()
}

/// Polls `path` until it answers `status`.
fn wait_status(server: &TestServer, path: &str, status: &str) {
    server.wait_for(path, status, |a| a.status() == status);
}

#[test]
fn posts_appear_change_move_and_vanish_without_a_restart() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "steady.md",
        post("Steady", "2024-01-01", "", "Here."),
    );
    let server = setup.start();

    write(
        &posts,
        "new.md",
        post("Brand New", "2024-02-01", "tags: [fresh]\n", "First."),
    );
    wait_body(&server, "/archive/", "the new post", |b| {
        b.contains("=> /posts/new.gmi 2024-02-01 Brand New")
    });
    assert_eq!(
        server
            .get(&server.url("/posts/new.gmi"))
            .expect("20")
            .body(),
        b"# Brand New\n\nFirst.\n"
    );
    let tag = server.get(&server.url("/tags/fresh/"));
    assert!(tag.expect("20").body_text().contains("/posts/new.gmi"));
    assert!(
        server
            .get(&server.url("/atom.xml"))
            .body_text()
            .contains("new.gmi")
    );

    // Edited in place.
    write(
        &posts,
        "new.md",
        post(
            "Brand New, Edited",
            "2024-02-01",
            "tags: [fresh]\n",
            "Second.",
        ),
    );
    wait_body(&server, "/posts/new.gmi", "the edit", |b| {
        b.contains("Second.")
    });
    assert!(
        server
            .get(&server.url("/archive/"))
            .body_text()
            .contains("Brand New, Edited")
    );

    // Renamed: the post moves to its new URL and leaves the old one.
    std::fs::rename(posts.join("new.md"), posts.join("moved.md")).unwrap();
    wait_body(&server, "/archive/", "the move", |b| {
        b.contains("/posts/moved.gmi") && !b.contains("/posts/new.gmi")
    });
    server.get(&server.url("/posts/new.gmi")).expect("51");
    assert!(
        server
            .get(&server.url("/posts/moved.gmi"))
            .expect("20")
            .body_text()
            .contains("Second.")
    );

    // Deleted: gone from every index and feed, and its URL answers 51.
    std::fs::remove_file(posts.join("moved.md")).unwrap();
    wait_body(&server, "/archive/", "the deletion", |b| {
        !b.contains("moved")
    });
    server.get(&server.url("/posts/moved.gmi")).expect("51");
    server.get(&server.url("/tags/fresh/")).expect("51");
    for path in ["/", "/atom.xml", "/tags/"] {
        let page = server.get(&server.url(path));
        assert!(!page.expect("20").body_text().contains("moved"), "{path}");
    }

    // A draft dropped in stays hidden, even once a later rebuild has read it.
    write(
        &posts,
        "secret.md",
        post("Secret", "2024-03-01", "draft: true\n", "Not yet."),
    );
    write(
        &posts,
        "public.md",
        post("Public", "2024-03-02", "", "Yes."),
    );
    wait_body(&server, "/archive/", "the public post", |b| {
        b.contains("Public")
    });
    server.get(&server.url("/posts/secret.gmi")).expect("51");
    assert!(!server.get(&server.url("/")).body_text().contains("Secret"));
    server.get(&server.url("/posts/secret.md")).expect("51");
}

/// A post renamed on disk while the server runs: the log names the URL it left and the alias
/// that keeps it, and once the alias is written the old URL answers 31 with the new one.
#[test]
fn a_renamed_post_is_told_with_the_alias_that_keeps_its_old_url() {
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(
        &posts,
        "old.md",
        post("Knots", "2024-01-01", "", "Six knots."),
    );
    let server = setup.start();
    server.get(&server.url("/posts/old.gmi")).expect("20");
    std::fs::rename(posts.join("old.md"), posts.join("new.md")).unwrap();
    let told = server.wait_log("the rename", |l| l.contains("is gone; if"));
    assert!(
        told.contains(
            "posts/old.md was served at /posts/old.gmi and is gone; if posts/new.md is that \
             post, add `aliases: [/posts/old.gmi]` to its front matter to keep old links working"
        ),
        "{told}"
    );
    wait_status(&server, "/posts/old.gmi", "51");
    write(
        &posts,
        "new.md",
        post(
            "Knots",
            "2024-01-01",
            "aliases: [/posts/old.gmi]\n",
            "Six knots.",
        ),
    );
    wait_status(&server, "/posts/old.gmi", "31");
    assert_eq!(
        server.get(&server.url("/posts/old.gmi")).meta(),
        "/posts/new.gmi"
    );
    assert_eq!(server.count_logs("is gone; if"), 1, "{:?}", server.logs());
}

/// The version a rewritten page carries: `# Version N`, then N lines, then `END N`.
fn version(n: usize) -> String {
    let lines: String = (0..n).map(|i| format!("Line {i} of {n}.\n\n")).collect();
    format!("# Version {n}\n\n{lines}END {n}\n")
}

/// Whether a body is one whole version of the rewritten page.
fn is_whole_version(body: &str) -> bool {
    let Some(n) = body
        .strip_prefix("# Version ")
        .and_then(|rest| rest.split('\n').next())
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return false;
    };
    body == version(n)
}

/// Readers that request pages over and over until told to stop, recording anything that is not
/// a complete `20` answer of the expected kind.
struct Readers {
    stop: Arc<AtomicBool>,
    answers: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<Vec<String>>>,
}

impl Readers {
    fn start(server: &TestServer, count: usize, steady: &'static str) -> Readers {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(AtomicUsize::new(0));
        let threads = (0..count)
            .map(|_| {
                let addr = server.addr();
                let url = |p: &str| format!("gemini://localhost:{}{p}", addr.port());
                let urls = [
                    url("/posts/edited.gmi"),
                    url("/posts/steady.gmi"),
                    url("/archive/"),
                    url("/"),
                ];
                let (stop, answers) = (Arc::clone(&stop), Arc::clone(&answers));
                std::thread::spawn(move || {
                    let mut problems = Vec::new();
                    let deadline = Instant::now() + DEADLINE * 4;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        for (i, url) in urls.iter().enumerate() {
                            let request = format!("{url}\r\n");
                            let answer =
                                fetch(addr, Some("localhost"), request.as_bytes(), Tls::Any);
                            answers.fetch_add(1, Ordering::Relaxed);
                            if let Some(problem) = judge(i, url, answer, steady) {
                                problems.push(problem);
                            }
                        }
                    }
                    problems
                })
            })
            .collect();
        Readers {
            stop,
            answers,
            threads,
        }
    }

    /// Stops the readers; returns how many answers they checked and what was wrong.
    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let problems = self
            .threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        (self.answers.load(Ordering::Relaxed), problems)
    }
}

/// What is wrong with one answer, if anything.
fn judge(
    which: usize,
    url: &str,
    answer: std::io::Result<Exchange>,
    steady: &str,
) -> Option<String> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return Some(format!("{url}: {e}")),
    };
    if !answer.raw.windows(2).any(|w| w == b"\r\n") {
        return Some(format!("{url}: no header in {:?}", answer.text()));
    }
    if answer.status() != "20" || !answer.close_notify {
        return Some(format!(
            "{url}: {:?} (close_notify: {})",
            answer.header(),
            answer.close_notify
        ));
    }
    let body = answer.body_text();
    let whole = match which {
        0 => is_whole_version(&body),
        1 => body == steady,
        _ => body.starts_with("# ") && body.ends_with('\n'),
    };
    (!whole).then(|| format!("{url}: incomplete body {body:?}"))
}

#[test]
fn readers_never_see_a_torn_page_or_an_error_while_files_change() {
    const STEADY: &str = "# Steady\n\nAlways here.\n";
    let setup = Setup::new();
    let posts = setup.path().join("capsule/posts");
    write(&posts, "steady.md", "# Steady\n\nAlways here.\n");
    write(&posts, "edited.md", version(0));
    let server = setup.start();
    let readers = Readers::start(&server, 2, STEADY);
    let edited = posts.join("edited.md");
    let served = |n: usize| {
        server.wait_for("/posts/edited.gmi", &format!("version {n}"), |a| {
            a.body_text() == version(n)
        });
    };

    // Rewritten in place (truncate, then write), as most editors and `cp` do.
    for n in 1..=3 {
        std::fs::write(&edited, version(n)).unwrap();
        served(n);
    }
    // Written in several pieces through one open file.
    {
        use std::io::Write;
        let text = version(4);
        let mut file = std::fs::File::create(&edited).unwrap();
        for piece in text.as_bytes().chunks(text.len() / 3 + 1) {
            file.write_all(piece).unwrap();
            file.flush().unwrap();
        }
    }
    served(4);
    // Saved atomically: a hidden temporary file renamed over the post (vim, rsync, git).
    for n in 5..=6 {
        let temp = posts.join(format!(".edited.md.{n}.tmp"));
        std::fs::write(&temp, version(n)).unwrap();
        std::fs::rename(&temp, &edited).unwrap();
        served(n);
    }
    // Left empty long enough for a rebuild to see it: the last version stays served.
    std::fs::File::create(&edited).unwrap();
    server.wait_log("the emptied file", |l| {
        l.contains("posts/edited.md") && l.contains("the file is empty")
    });
    assert_eq!(
        server.get(&server.url("/posts/edited.gmi")).body_text(),
        version(6)
    );
    std::fs::write(&edited, version(7)).unwrap();
    served(7);
    // Broken front matter: the last good version stays served until it is fixed.
    std::fs::write(&edited, format!("---\ntitle: [oops\n---\n{}", version(8))).unwrap();
    server.wait_log("the broken front matter", |l| {
        l.contains("posts/edited.md:2:")
    });
    assert_eq!(
        server.get(&server.url("/posts/edited.gmi")).body_text(),
        version(7)
    );
    std::fs::write(&edited, version(9)).unwrap();
    served(9);

    // A burst of 200 new posts, as a git checkout or an rsync run makes.
    for i in 0..200 {
        write(
            &posts,
            &format!("burst-{i:03}.md"),
            post(&format!("Burst {i}"), "2024-05-01", "", "Many."),
        );
    }
    wait_body(&server, "/archive/", "all 200 new posts", |b| {
        b.matches("/posts/burst-").count() == 200
    });

    let (answers, problems) = readers.finish();
    assert!(
        problems.is_empty(),
        "{} bad answers: {problems:#?}",
        problems.len()
    );
    assert!(answers >= 8, "the readers made only {answers} requests");
}

#[test]
fn sighup_reloads_the_config_without_dropping_connections() {
    let setup = Setup::new().config("robots_txt = \"first\\n\"\n");
    let config = setup.path().join("config.toml");
    let server = setup.start();
    let robots = |server: &TestServer| server.get(&server.url("/robots.txt")).body_text();
    // The capsule has a robots.txt of its own; remove it so the configured one is served.
    std::fs::remove_file(server.capsule().join("robots.txt")).unwrap();
    server.wait_for("/robots.txt", "the configured robots.txt", |a| {
        a.body_text() == "first\n"
    });

    // A connection that has finished its handshake but not yet sent its request.
    let waiting = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    std::fs::write(&config, "robots_txt = \"second\\n\"\n").unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    server.wait_for("/robots.txt", "the reloaded robots.txt", |a| {
        a.body_text() == "second\n"
    });
    let mut waiting = waiting;
    std::io::Write::write_all(&mut waiting, server.url("/about.gmi").as_bytes()).unwrap();
    std::io::Write::write_all(&mut waiting, b"\r\n").unwrap();
    let answer = finish(waiting).unwrap();
    assert_eq!(answer.expect("20").body(), b"# About\n");

    // A config with a mistake is refused, with its file and line, and the running one kept.
    std::fs::write(
        &config,
        "robots_txt = \"third\\n\"\nlang = \"not a tag!\"\n",
    )
    .unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    let refused = server.wait_log("the refusal", |l| l.contains("reload refused"));
    assert!(refused.contains("config.toml:2:"), "{refused}");
    assert_eq!(robots(&server), "second\n");

    // Fixed: the change is picked up without a signal, since the config file is watched.
    std::fs::write(&config, "robots_txt = \"fourth\\n\"\n").unwrap();
    server.wait_for("/robots.txt", "the watched config", |a| {
        a.body_text() == "fourth\n"
    });
    server.wait_log("the SIGHUP", |l| l.contains("SIGHUP received"));
}

#[test]
fn replaced_certificates_are_served_to_new_connections() {
    let server = Setup::new().start();
    let before = server.get(&server.url("/")).expect("20").peer_cert.clone();
    // A new pair made elsewhere (`gemhole cert` in another folder) copied over the old one: the
    // reload that the change triggers serves it, and logs its fingerprint.
    let other = tempfile::tempdir().unwrap();
    let (status, _, err) = crate::common::run_cli(
        other.path(),
        &["cert", "--certs", "certs", "--config", "/dev/null"],
    );
    assert!(status.success(), "{err}");
    let certs = server.dir.path().join("certs/localhost");
    for name in ["key.pem", "cert.pem"] {
        let tmp = certs.join(format!("{name}.new"));
        std::fs::copy(other.path().join("certs/localhost").join(name), &tmp).unwrap();
        std::fs::rename(&tmp, certs.join(name)).unwrap();
    }
    let after = server
        .wait_for("/", "the new certificate", |a| a.peer_cert != before)
        .peer_cert
        .clone();
    let fingerprint = crate::common::sha256_hex(&after);
    server.wait_log("the new fingerprint", |l| {
        l.contains("certificate changed on reload") && l.contains(&fingerprint)
    });
}

#[test]
fn vanished_certificates_are_not_replaced_by_a_reload() {
    let server = Setup::new().start();
    let before = server.get(&server.url("/")).expect("20").peer_cert.clone();
    // The pair deleted (a careless cleanup): a reload must not make a new identity, which every
    // reader's client would warn about; the running certificate stays.
    let certs = server.dir.path().join("certs/localhost");
    std::fs::remove_file(certs.join("cert.pem")).unwrap();
    std::fs::remove_file(certs.join("key.pem")).unwrap();
    let refused = server.wait_log("the refusal", |l| l.contains("reload refused"));
    assert!(refused.contains("are gone"), "{refused}");
    assert_eq!(server.get(&server.url("/")).expect("20").peer_cert, before);
    assert!(!certs.join("key.pem").exists());
}

#[test]
fn polling_finds_changes_on_file_systems_without_events() {
    let setup = Setup::new().config("[watch]\nmode = \"poll\"\npoll_interval = 1\n");
    let posts = setup.path().join("capsule/posts");
    let server = setup.start();
    write(
        &posts,
        "polled.md",
        post("Polled", "2024-01-01", "", "Found."),
    );
    wait_body(&server, "/posts/polled.gmi", "the polled post", |b| {
        b.contains("Found.")
    });
}

#[test]
fn a_post_dated_ahead_appears_when_its_time_comes() {
    let setup = Setup::new();
    let soon = time::OffsetDateTime::now_utc() + Duration::from_secs(2);
    let date = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    write(
        &setup.path().join("capsule/posts"),
        "soon.md",
        post("Soon", &date, "", "Now."),
    );
    let server = setup.start();
    // Until its date it is not served (unless the clock has already passed it).
    let early = server.get(&server.url("/posts/soon.gmi"));
    if time::OffsetDateTime::now_utc() < soon {
        assert_eq!(early.status(), "51");
    }
    wait_status(&server, "/posts/soon.gmi", "20");
    assert!(
        server
            .get(&server.url("/archive/"))
            .body_text()
            .contains("Soon")
    );
}

/// The "N post(s) in S series (R file(s) read)" line of the last start or reload.
fn files_read(server: &TestServer, reloads: usize) -> usize {
    let line = server.wait_log("a reload's count of files read", |l| {
        l.contains("file(s) read)") && server.count_logs("configuration reloaded") >= reloads
    });
    let lines: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("file(s) read)"))
        .collect();
    let last = lines.last().unwrap_or(&line);
    last.rsplit_once(" file(s) read)")
        .and_then(|(head, _)| head.rsplit_once('(')?.1.parse().ok())
        .unwrap_or_else(|| panic!("no count in {last}"))
}

#[test]
fn a_config_reload_reads_again_only_when_reading_changed() {
    let setup = Setup::new().config("robots_txt = \"first\\n\"\n");
    let config = setup.path().join("config.toml");
    for part in 1..=3 {
        write(
            &setup.path().join("capsule"),
            &format!("posts/radio-{part}.md"),
            post(
                &format!("Radio {part}"),
                &format!("2024-01-0{part}"),
                &format!("series: Radio\npart: {part}\n"),
                "![the coil](coil.png)",
            ),
        );
    }
    // The configured robots.txt is served only without the capsule's own.
    std::fs::remove_file(setup.path().join("capsule/robots.txt")).unwrap();
    let server = setup.start();
    let started = files_read(&server, 0);
    assert!(started >= 3, "the capsule is read at start: {started}");
    let reloaded = |n: usize| {
        server.wait_log("the reload", |_| {
            server.count_logs("configuration reloaded") >= n
        });
        files_read(&server, n)
    };

    // Nothing about reading or listing changed: no file is read, and an edit made before the
    // reload (seen by the watch) is still served after it.
    write(
        &server.capsule(),
        "posts/fresh.md",
        post("Fresh", "2024-05-01", "", "Fresh text."),
    );
    wait_body(&server, "/posts/fresh.gmi", "the new post", |b| {
        b.contains("Fresh text.")
    });
    std::fs::write(&config, "robots_txt = \"second\\n\"\n").unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    assert_eq!(reloaded(1), 0);
    wait_body(&server, "/robots.txt", "the new robots.txt", |b| {
        b == "second\n"
    });
    assert!(
        server
            .get(&server.url("/posts/fresh.gmi"))
            .body_text()
            .contains("Fresh text.")
    );
    assert!(
        server
            .get(&server.url("/archive/"))
            .body_text()
            .contains("Fresh")
    );

    // A setting that places posts (a series' URL name): the lists are made again from the
    // files already read.
    server.get(&server.url("/series/radio/")).expect("20");
    std::fs::write(
        &config,
        "robots_txt = \"second\\n\"\n[series.Radio]\nslug = \"wireless\"\n",
    )
    .unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    assert_eq!(reloaded(2), 0);
    let series = server.get(&server.url("/series/")).body_text();
    assert!(series.contains("/series/wireless/"), "{series}");
    server.get(&server.url("/series/wireless/")).expect("20");
    assert!(
        server
            .get(&server.url("/posts/radio-2.gmi"))
            .body_text()
            .contains("🖼")
    );

    // A setting of how Markdown is converted: every Markdown file is read again, and served
    // converted the new way.
    std::fs::write(
        &config,
        "robots_txt = \"second\\n\"\n[series.Radio]\nslug = \"wireless\"\n\
         [markdown]\nimage_marker = \"IMAGE\"\n",
    )
    .unwrap();
    server.signal(rustix::process::Signal::HUP.as_raw());
    assert!(reloaded(3) >= started, "every file read again");
    let page = server.get(&server.url("/posts/radio-2.gmi")).body_text();
    assert!(page.contains("IMAGE") && !page.contains("🖼"), "{page}");
}

/// Every answer of a capsule with a series, tags, a slug, an index page and a plain page, over
/// Gemini and Gopher, by path.
fn every_answer(server: &TestServer) -> Vec<(String, Vec<u8>)> {
    let gemini = [
        "/",
        "/archive/",
        "/tags/",
        "/tags/sea/",
        "/series/",
        "/series/sail/",
        "/series/sail/atom.xml",
        "/atom.xml",
        "/posts/one.gmi",
        "/posts/two.gmi",
        "/posts/third-part.gmi",
        "/docs/",
        "/docs/page.gmi",
        "/about.gmi",
        "/search?sail",
    ];
    let gopher = [
        "",
        "/archive/",
        "/posts/one.txt",
        "/posts/two.txt",
        "/posts/third-part.txt",
        "/docs/",
        "/docs/page.txt",
        "/series/sail/",
    ];
    let mut out: Vec<(String, Vec<u8>)> = gemini
        .iter()
        .map(|p| {
            (
                p.to_string(),
                server.get(&server.url(p)).text().into_bytes(),
            )
        })
        .collect();
    out.extend(gopher.iter().map(|p| {
        (
            format!("gopher {p}"),
            server.gopher(format!("{p}\r\n").as_bytes()),
        )
    }));
    // Each server has its own ports, which absolute links name.
    let ports = [server.port(), server.gopher_addr().port()];
    for (_, answer) in &mut out {
        let mut text = String::from_utf8_lossy(answer).into_owned();
        for port in ports {
            text = text.replace(&port.to_string(), "PORT");
        }
        *answer = text.into_bytes();
    }
    out
}

#[test]
fn answers_kept_across_an_edit_are_the_ones_a_fresh_start_gives() {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let capsule = setup.path().join("capsule");
    let post = |title: &str, part: u32, extra: &str, body: &str| {
        post(
            title,
            &format!("2024-0{part}-01"),
            &format!("series: Sail\npart: {part}\ntags: [sea]\n{extra}"),
            body,
        )
    };
    write(
        &capsule,
        "posts/one.md",
        post("One", 1, "", "First text. [Next](two.md)"),
    );
    write(&capsule, "posts/two.md", post("Two", 2, "", "Second text."));
    write(
        &capsule,
        "posts/three.md",
        post("Three", 3, "slug: third-part\n", "Third text."),
    );
    let server = setup.start();
    // Every answer rendered once, so the snapshot keeps it.
    let before = every_answer(&server);
    // Text alone changes: a post in the middle of the series (its neighbours' navigation and
    // the lists stay), the renamed post, a page, and a folder's index.
    write(
        &capsule,
        "posts/two.md",
        post("Two", 2, "", "Second text, edited. [Back](one.md)"),
    );
    write(
        &capsule,
        "posts/three.md",
        post("Three", 3, "slug: third-part\n", "Third, edited."),
    );
    write(&capsule, "docs/page.gmi", "# A page\n\nEdited too.\n");
    write(&capsule, "docs/index.gmi", "# Docs, edited\n");
    wait_body(&server, "/posts/two.gmi", "the edit", |b| {
        b.contains("edited")
    });
    wait_body(&server, "/posts/third-part.gmi", "the edit", |b| {
        b.contains("edited")
    });
    wait_body(&server, "/docs/page.gmi", "the edit", |b| {
        b.contains("Edited")
    });
    wait_body(&server, "/docs/", "the edit", |b| b.contains("edited"));
    let live = every_answer(&server);
    server.wait_log("the rebuild", |l| l.contains("site reloaded"));
    // A fresh server on the same folder: the same bytes everywhere (and some changed).
    let fresh = Setup::in_dir(Arc::clone(&server.dir))
        .arg("--gopher-listen")
        .arg("127.0.0.1:0")
        .start();
    let want = every_answer(&fresh);
    for ((path, got), (_, want)) in live.iter().zip(&want) {
        assert_eq!(
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want),
            "{path} after the edit"
        );
    }
    let changed: Vec<&String> = before
        .iter()
        .zip(&live)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| &a.0)
        .collect();
    for path in [
        "/posts/two.gmi",
        "/posts/third-part.gmi",
        "/docs/",
        "/atom.xml",
        "gopher /posts/two.txt",
    ] {
        assert!(
            changed.iter().any(|c| *c == path),
            "{path} should have changed: {changed:?}"
        );
    }
}

/// Editors' and tools' temporary files and backups are never served, whether they were there
/// at start or written while the server runs (a backup holds what the author changed since).
#[test]
fn temporary_files_and_backups_are_never_served() {
    const TEMPORARY: [&str; 5] = ["export.tmp", "notes~", "4913", "game.swp", "game.swx"];
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    for name in TEMPORARY {
        write(&capsule, &format!("docs/{name}"), "an old copy");
    }
    let server = setup.start();
    for name in TEMPORARY {
        write(&capsule, name, "half written");
    }
    write(&capsule, "fresh.gmi", "# Fresh\n");
    wait_status(&server, "/fresh.gmi", "20");
    for name in TEMPORARY {
        for path in [format!("/{name}"), format!("/docs/{name}")] {
            let answer = server.get(&server.url(&path));
            assert_eq!(answer.status(), "51", "{path}: {}", answer.text());
        }
    }
    server.get(&server.url("/docs/page.gmi")).expect("20");
}

/// With the watch off, a reload is how changes are seen: it looks at every file's stamp
/// (reading only the changed one), even when nothing in the configuration changed.
#[test]
fn with_the_watch_off_a_reload_serves_what_changed() {
    let author = ClientCert::new();
    let setup = Setup::new().config(&format!(
        "[watch]\nmode = \"off\"\n{}",
        author.titan_table()
    ));
    let capsule = setup.path().join("capsule");
    let server = setup.start();
    // After its first look at every file (which would serve what changed before it), the
    // server looks at the folder only for an upload or a reload. An upload is answered once it
    // is served, after that first look: whatever is written next waits for the reload.
    let path = "/posts/first.gmi;mime=text/gemini";
    titan_put(&server, author.client(), path, b"# First\n").expect("30");
    server.get(&server.url("/posts/first.gmi")).expect("20");
    // Nothing watches the folder: the server has no inotify instance to hear of a change.
    let fds = std::fs::read_dir(format!("/proc/{}/fd", server.pid())).unwrap();
    let watchers = fds
        .filter_map(|fd| std::fs::read_link(fd.unwrap().path()).ok())
        .filter(|target| target.to_string_lossy().contains("inotify"))
        .count();
    assert_eq!(watchers, 0, "the watch is off, yet something watches");
    write(&capsule, "about.gmi", "# About, changed\n");
    assert_eq!(server.get(&server.url("/about.gmi")).body(), b"# About\n");
    let before = server.count_logs("configuration reloaded");
    server.signal(rustix::process::Signal::HUP.as_raw());
    server.wait_log("the reload", |_| {
        server.count_logs("configuration reloaded") > before
    });
    assert_eq!(
        server.get(&server.url("/about.gmi")).body(),
        b"# About, changed\n"
    );
    assert_eq!(files_read(&server, 1), 1);
}

/// A folder reached by a symlink too: the kernel reports a change under one of its names only
/// (maybe the link's), and the rebuild must still read the file by its own.
#[test]
fn edits_in_a_folder_a_symlink_leads_to_are_served() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(&capsule, "real/a.gmi", "# A\n");
    std::os::unix::fs::symlink("real", capsule.join("linked")).unwrap();
    let server = setup.start();
    assert_eq!(server.get(&server.url("/real/a.gmi")).body(), b"# A\n");
    write(&capsule, "real/a.gmi", "# A, edited\n");
    wait_body(&server, "/real/a.gmi", "the edit", |b| b == "# A, edited\n");
    write(&capsule, "linked/a.gmi", "# A, edited through the link\n");
    wait_body(&server, "/real/a.gmi", "the edit through the link", |b| {
        b == "# A, edited through the link\n"
    });
}
