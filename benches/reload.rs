//! Live reload, measured against the real server (release build) on loopback, over real TLS:
//!
//! - latency from a post written to its new text being served, one change at a time, in
//!   capsules of 10, 1,000 and 10,000 posts: an edit of a post's text, and a new post (which
//!   changes the lists: archive, series, tags); median, p99 and max over repeated changes,
//!   beside the rebuild times the server logged;
//! - a burst of 100 edited posts at 10,000 posts, until the last is served;
//! - a configuration reload at 10,000 posts (SIGHUP to the "configuration reloaded" line), one
//!   that changes no setting of reading and one that changes `[markdown]`;
//! - the time from process start to the first answer at 10,000 posts, and the resident memory
//!   after start;
//! - requests answered in full (status 20, whole page, close_notify) while 1,000 posts are
//!   rewritten under load, half in place and half by renaming a temporary file over them.
//!
//! `cargo bench --bench reload` (`-- --quick` for fewer rounds). With `GEMHOLE_BASELINE` set to
//! another gemhole binary (an earlier build), every measurement but the churn runs against it
//! too, in the same run, and the ratios are printed. With `GEMHOLE_BENCH_TEMPLATES` set to a
//! templates folder (absolute), every server serves with it. It stops by itself.

#[path = "../tests/common/mod.rs"]
mod common;

mod capsule;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DEADLINE, Setup, TestServer, Tls, fetch};

fn get(server: &TestServer, path: &str) -> std::io::Result<common::Exchange> {
    let request = format!("{}\r\n", server.url(path));
    fetch(
        server.addr(),
        Some("localhost"),
        request.as_bytes(),
        Tls::Any,
    )
}

/// A server (of `binary`, else this build) on a capsule of `posts` generated posts, and how
/// long from its start to its first answer.
fn server_with(posts: usize, binary: Option<&Path>) -> (TestServer, PathBuf, Duration) {
    let mut setup = Setup::new().config(&with_templates(CONFIG));
    if let Some(binary) = binary {
        setup = setup.binary(binary);
    }
    let root = setup.path().join("capsule");
    capsule::write_posts(&root, posts);
    let started = Instant::now();
    let server = setup.start();
    while !get(&server, "/").is_ok_and(|a| a.status() == "20") {
        assert!(started.elapsed() < DEADLINE, "no first answer");
    }
    let first = started.elapsed();
    (server, root, first)
}

/// The configuration every server starts with (a reload rewrites it).
const CONFIG: &str = "robots_txt = \"first\\n\"\n";

/// `text` with `templates = "<GEMHOLE_BENCH_TEMPLATES>"` first, when that is set: every
/// measurement then runs with an author's templates folder.
fn with_templates(text: &str) -> String {
    match std::env::var("GEMHOLE_BENCH_TEMPLATES") {
        Ok(folder) => format!("templates = {folder:?}\n{text}"),
        Err(_) => text.to_owned(),
    }
}

/// The rebuild times the server logged ("site reloaded: … in X ms").
fn rebuilds(server: &TestServer) -> Vec<Duration> {
    let mut times: Vec<Duration> = server
        .logs()
        .iter()
        .filter_map(|l| l.split("site reloaded: ").nth(1))
        .filter_map(|l| {
            // `… in 12.3 ms host=localhost`: the host's field follows.
            l.split(" in ")
                .nth(1)?
                .split(" ms")
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .collect();
    times.sort();
    times
}

/// Polls `url` until its body holds `marker`.
fn wait_for(server: &TestServer, url: &str, marker: &str, since: Instant) {
    loop {
        if let Ok(answer) = get(server, url)
            && answer.body_text().contains(marker)
        {
            return;
        }
        assert!(since.elapsed() < DEADLINE, "{url} never changed");
    }
}

/// What one post change is.
#[derive(Clone, Copy)]
enum Change {
    /// A line added to an existing post's text.
    Edit,
    /// A new post in an existing series (the archive, series and tags change).
    New,
}

/// Times from writing a change to the first answer that carries it, and the rebuild times the
/// server logged meanwhile.
fn latencies(
    server: &TestServer,
    root: &Path,
    posts: usize,
    rounds: usize,
    change: Change,
) -> (Vec<Duration>, Vec<Duration>) {
    let before = rebuilds(server).len();
    let mut times = Vec::with_capacity(rounds);
    // Round 0 warms up (first connections, page cache of the kernel).
    for round in 0..=rounds {
        let marker = format!("Edit number {round} of the benchmark.");
        // An edit goes to a post spread over the capsule; a new post continues a series.
        let i = match change {
            Change::Edit => round * 7919 % posts,
            Change::New => posts + round,
        };
        let path = root.join(format!("posts/post-{i}.md"));
        let url = format!("/posts/post-{i}.gmi");
        let text = format!("{}\n{marker}\n", capsule::post(i));
        std::fs::write(&path, text).unwrap();
        let written = Instant::now();
        wait_for(server, &url, &marker, written);
        if round > 0 {
            times.push(written.elapsed());
        }
    }
    times.sort();
    let mut logged = rebuilds(server);
    logged.drain(..before.min(logged.len()));
    logged.sort();
    (times, logged)
}

/// A burst of `count` edited posts, written one after another as fast as the file system
/// takes them: the time until the last one is served (and every one checked).
fn burst(server: &TestServer, root: &Path, posts: usize, count: usize) -> Duration {
    // The post the k-th edit goes to, spread over the capsule.
    let post_of = |k: usize| (k * 97 + 13) % posts;
    let started = Instant::now();
    for k in 0..count {
        let i = post_of(k);
        let text = format!("{}\nBurst edit {k}.\n", capsule::post(i));
        std::fs::write(root.join(format!("posts/post-{i}.md")), text).unwrap();
    }
    let seen = |k: usize| {
        wait_for(
            server,
            &format!("/posts/post-{}.gmi", post_of(k)),
            &format!("Burst edit {k}."),
            started,
        )
    };
    seen(count - 1);
    let took = started.elapsed();
    (0..count).for_each(seen);
    took
}

/// A configuration reload: the config file rewritten with `text`, then SIGHUP, until the
/// server logs that it reloaded; the time that took.
fn config_reload(server: &TestServer, config: &Path, text: &str) -> Duration {
    let before = server.count_logs("configuration reloaded");
    std::fs::write(config, text).unwrap();
    let started = Instant::now();
    server.signal(rustix::process::Signal::HUP.as_raw());
    server.wait_log("the reload", |_| {
        server.count_logs("configuration reloaded") > before
    });
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Readers fetch posts (and the archive) while every post is rewritten; returns (answers,
/// failures, first failures, seconds, rebuilds).
fn churn(posts: usize, readers: usize) -> (usize, usize, Vec<String>, f64, usize) {
    let (server, root, _) = server_with(posts, None);
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..readers)
        .map(|r| {
            let (server, stop, answers) =
                (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&answers));
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                let mut n: usize = r * 7 + 1;
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
                    let i = n % posts;
                    // One request in ten is the archive; the rest are posts.
                    let archive = n.is_multiple_of(10);
                    let path = if archive {
                        "/archive/".to_owned()
                    } else {
                        format!("/posts/post-{i}.gmi")
                    };
                    let title = format!("# Notes {i}: on rigging");
                    let whole = |b: &str| {
                        if archive {
                            b.ends_with('\n')
                        } else {
                            b.starts_with(&title) && b.contains("[1] The footnote text.")
                        }
                    };
                    answers.fetch_add(1, Ordering::Relaxed);
                    match get(&server, &path) {
                        Ok(a) if a.status() == "20" && a.close_notify && whole(&a.body_text()) => {}
                        Ok(a) => failures.push(format!("{path}: {:?}", a.text())),
                        Err(e) => failures.push(format!("{path}: {e}")),
                    }
                }
                failures
            })
        })
        .collect();
    let started = Instant::now();
    for i in 0..posts {
        let path = root.join(format!("posts/post-{i}.md"));
        let text = format!("{}\nEdited.\n", capsule::post(i));
        if i % 2 == 0 {
            std::fs::write(&path, text).unwrap();
        } else {
            let temp = root.join(format!("posts/.post-{i}.md.tmp"));
            std::fs::write(&temp, text).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Until the last change is served.
    let last = format!("/posts/post-{}.gmi", posts - 1);
    while !get(&server, &last).is_ok_and(|a| a.body_text().contains("Edited.")) {
        assert!(started.elapsed() < DEADLINE, "the last change never showed");
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let rebuilds = server
        .logs()
        .iter()
        .filter(|l| l.contains("site reloaded"))
        .count();
    let first = failures.iter().take(5).cloned().collect();
    (
        answers.load(Ordering::Relaxed),
        failures.len(),
        first,
        seconds,
        rebuilds,
    )
}

/// The figures of one build, by name, in milliseconds (MiB for memory).
type Figures = Vec<(String, f64)>;

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every measurement but the churn, against `binary` (else this build).
fn measure(binary: Option<&Path>, quick: bool) -> Figures {
    let mut figures = Figures::new();
    let scale = if quick { 5 } else { 1 };
    for posts in [10, 1_000, capsule::POSTS] {
        let (server, root, first) = server_with(posts, binary);
        if posts == capsule::POSTS {
            figures.push((
                "first answer after start, 10,000 posts".into(),
                millis(first),
            ));
            // After the watch's first look at every file.
            std::thread::sleep(Duration::from_secs(2));
            let rss = common::abuse::status_number(server.pid(), "VmRSS:") / 1024.0;
            figures.push((
                "resident memory after start, 10,000 posts (MiB)".into(),
                rss,
            ));
        }
        for (change, name, rounds) in [
            (Change::Edit, "edit", 60 / scale),
            (Change::New, "new post", 20 / scale),
        ] {
            let (times, logged) = latencies(&server, &root, posts, rounds, change);
            let label = format!("{posts} posts, {name}");
            figures.push((
                format!("{label}: seen, median"),
                millis(percentile(&times, 50.0)),
            ));
            figures.push((
                format!("{label}: seen, p99"),
                millis(percentile(&times, 99.0)),
            ));
            if !logged.is_empty() {
                figures.push((
                    format!("{label}: rebuild, median"),
                    millis(percentile(&logged, 50.0)),
                ));
            }
        }
        if posts == capsule::POSTS {
            figures.push((
                "10,000 posts, burst of 100 edits: last seen".into(),
                millis(burst(&server, &root, posts, 100)),
            ));
            let config = server.capsule().parent().unwrap().join("config.toml");
            let mut same = Vec::new();
            for n in 0..(5 / scale).max(1) {
                same.push(config_reload(
                    &server,
                    &config,
                    &with_templates(&format!("robots_txt = \"reload {n}\\n\"\n")),
                ));
            }
            same.sort();
            figures.push((
                "10,000 posts, config reload, no setting of reading changed".into(),
                millis(percentile(&same, 50.0)),
            ));
            let markdown = config_reload(
                &server,
                &config,
                &with_templates(
                    "robots_txt = \"again\\n\"\n[markdown]\nimage_marker = \"IMAGE\"\n",
                ),
            );
            figures.push((
                "10,000 posts, config reload, [markdown] changed".into(),
                millis(markdown),
            ));
        }
    }
    figures
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let baseline = std::env::var_os("GEMHOLE_BASELINE").map(PathBuf::from);
    let before = baseline.as_deref().map(|b| measure(Some(b), quick));
    let after = measure(None, quick);
    match &before {
        Some(before) => {
            println!("| measure | baseline | this build | this ÷ baseline |");
            println!("| --- | --- | --- | --- |");
            for ((name, now), (_, then)) in after.iter().zip(before) {
                println!("| {name} | {then:.1} | {now:.1} | {:.2}× |", now / then);
            }
        }
        None => {
            for (name, now) in &after {
                println!("{name}: {now:.1}");
            }
        }
    }
    let (answers, failed, first, seconds, rebuilds) = churn(1000, 4);
    println!(
        "churn: 1000 posts rewritten in {seconds:.2} s under 4 readers: {answers} requests, \
         {failed} failed ({:.3} % success), {:.0} req/s; the server logged {rebuilds} rebuild(s)",
        100.0 * (answers - failed) as f64 / answers as f64,
        answers as f64 / seconds,
    );
    for failure in first {
        println!("  failed: {failure}");
    }
}
