//! Live reload, measured against the real server (release build) on loopback, over real TLS:
//!
//! - latency from a post written to its new text being served, one change at a time, in a
//!   capsule of 10 and of 10,000 posts: median, p99 and max over repeated changes;
//! - requests answered in full (status 20, whole page, close_notify) while 1,000 posts are
//!   rewritten under load, half in place and half by renaming a temporary file over them.
//!
//! `cargo bench --bench reload` (`-- --quick` for fewer rounds). It stops by itself.

#[path = "../tests/common/mod.rs"]
mod common;

mod capsule;

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

/// A server on a capsule of `posts` generated posts.
fn server_with(posts: usize) -> (TestServer, std::path::PathBuf) {
    let setup = Setup::new();
    let root = setup.path().join("capsule");
    capsule::write_posts(&root, posts);
    (setup.start(), root)
}

/// Times from writing a changed post to the first answer that carries the change, and the
/// rebuild times the server logged meanwhile.
fn latencies(posts: usize, rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (server, root) = server_with(posts);
    let mut times = Vec::with_capacity(rounds);
    // Round 0 warms up (first connections, page cache of the kernel).
    for round in 0..=rounds {
        let i = round * 7919 % posts;
        let marker = format!("Edit number {round} of the benchmark.");
        let path = root.join(format!("posts/post-{i}.md"));
        std::fs::write(&path, format!("{}\n{marker}\n", capsule::post(i))).unwrap();
        let written = Instant::now();
        let url = format!("/posts/post-{i}.gmi");
        loop {
            if let Ok(answer) = get(&server, &url)
                && answer.body_text().contains(&marker)
            {
                break;
            }
            assert!(written.elapsed() < DEADLINE, "{url} never changed");
        }
        if round > 0 {
            times.push(written.elapsed());
        }
    }
    times.sort();
    let mut rebuilds: Vec<Duration> = server
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
    rebuilds.sort();
    (times, rebuilds)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Readers fetch posts (and the archive) while every post is rewritten; returns (answers,
/// failures, first failures, seconds, rebuilds).
fn churn(posts: usize, readers: usize) -> (usize, usize, Vec<String>, f64, usize) {
    let (server, root) = server_with(posts);
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    for (posts, rounds) in [(10, 100), (capsule::POSTS, 60)] {
        let rounds = if quick { rounds / 5 } else { rounds };
        let (times, rebuilds) = latencies(posts, rounds);
        println!(
            "reload latency, {posts} posts, {rounds} changes: median {}, p99 {}, max {}, min {} \
             (of which the rebuild: median {})",
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 99.0)),
            ms(times[times.len() - 1]),
            ms(times[0]),
            ms(percentile(&rebuilds, 50.0)),
        );
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
