//! Building the `Site` for a large capsule: 10,000 posts in 500 series (20 parts each), every
//! post with YAML front matter, tags, links and a list, about 1 KB of Markdown.
//!
//! `cargo bench --bench site` prints the median of 5 builds and the process's peak resident
//! memory (VmHWM), which includes the generated capsule's own strings; then the search index:
//! its build (whole, and after one changed post, beside the site's own rebuild), its memory,
//! and query latency for one- and three-word queries.

use std::time::Instant;

use gemhole::content::CapsuleRoot;
use gemhole::content::scan::ReadCache;
use gemhole::content::search::Index;
use gemhole::content::{BuildOptions, Site};
use gemhole::convert;

mod capsule;

use capsule::{POSTS, SERIES, post};

/// A memory figure of this process from `/proc/self/status` (`VmHWM`: peak resident, `VmRSS`:
/// resident now), in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The `q`-quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let posts = dir.path().join("posts");
    let bytes = capsule::write_posts(dir.path(), POSTS);
    let capsule = CapsuleRoot::open(dir.path()).unwrap();
    let options = BuildOptions {
        markdown: convert::Options::default(),
        max_file_size: 4 * 1024 * 1024,
        show_future: false,
        ..BuildOptions::default()
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let (site, problems) = Site::build(&capsule, &options);
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(site.posts.len(), POSTS);
        assert_eq!(site.series.len(), SERIES);
        assert!(
            problems.is_empty(),
            "{:?}",
            &problems[..problems.len().min(3)]
        );
    }
    times.sort_by(f64::total_cmp);

    // A rebuild after one post changed, with the posts of the previous build kept.
    let mut cache = ReadCache::default();
    Site::build_cached(&capsule, &options, &mut cache);
    let mut rebuilds = Vec::new();
    for round in 0..5 {
        let i = round * 997 % POSTS;
        std::fs::write(posts.join(format!("post-{i}.md")), post(i) + "\nEdited.\n").unwrap();
        let start = Instant::now();
        let (site, _) = Site::build_cached(&capsule, &options, &mut cache);
        rebuilds.push(start.elapsed().as_secs_f64());
        assert_eq!(site.posts.len(), POSTS);
    }
    rebuilds.sort_by(f64::total_cmp);
    // The same, as the watcher asks: the changed file named, every other taken as it was.
    let mut named = Vec::new();
    for round in 0..5 {
        let i = round * 613 % POSTS;
        let path = posts.join(format!("post-{i}.md"));
        std::fs::write(&path, post(i) + "\nNamed.\n").unwrap();
        cache.only_changed(std::collections::HashSet::from([path]));
        let start = Instant::now();
        let (site, _) = Site::build_cached(&capsule, &options, &mut cache);
        named.push(start.elapsed().as_secs_f64());
        assert_eq!(site.posts.len(), POSTS);
    }
    named.sort_by(f64::total_cmp);
    println!(
        "site rebuild after one post's text changed, the file named (as the watcher does): \
         median {:.2} ms (min {:.2} ms, max {:.2} ms over 5)",
        named[2] * 1e3,
        named[0] * 1e3,
        named[4] * 1e3
    );
    search(&capsule, &options, &posts, &mut cache, rebuilds[2]);
    println!(
        "site rebuild after one changed post: median {:.3} s (min {:.3} s, max {:.3} s over 5)",
        rebuilds[2], rebuilds[0], rebuilds[4]
    );
    println!(
        "site build: {POSTS} posts ({:.1} MB of Markdown) in {SERIES} series: median {:.3} s \
         (min {:.3} s, max {:.3} s over 5 builds); peak RSS {:.1} MiB",
        bytes as f64 / 1e6,
        times[2],
        times[0],
        times[4],
        status_mib("VmHWM")
    );
}

/// The search index over the same capsule: what it costs to build and keep, and to ask.
fn search(
    capsule: &CapsuleRoot,
    options: &BuildOptions,
    posts: &std::path::Path,
    cache: &mut ReadCache,
    site_rebuild: f64,
) {
    let (site, _) = Site::build_cached(capsule, options, cache);
    let before = status_mib("VmRSS");
    let index = Index::build(&site, None);
    let held = status_mib("VmRSS") - before;
    assert_eq!(index.len(), POSTS);
    let mut builds = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let built = Index::build(&site, None);
        builds.push(start.elapsed().as_secs_f64());
        assert_eq!(built.len(), POSTS);
    }
    builds.sort_by(f64::total_cmp);
    // After one post changed: the site's rebuild keeps the other posts, and so does the index.
    let mut index = index;
    let mut updates = Vec::new();
    for round in 0..5 {
        let i = round * 991 % POSTS;
        std::fs::write(
            posts.join(format!("post-{i}.md")),
            post(i) + "\nSearched.\n",
        )
        .unwrap();
        let (site, _) = Site::build_cached(capsule, options, cache);
        let start = Instant::now();
        index = Index::build(&site, Some(&index));
        updates.push(start.elapsed().as_secs_f64());
    }
    updates.sort_by(f64::total_cmp);
    println!(
        "search index: {POSTS} posts built in {:.3} s (median of 5); after one changed post \
         {:.1} ms, {:.0} % of that rebuild ({:.1} ms for the site); about {held:.1} MiB held",
        builds[2],
        updates[2] * 1e3,
        100.0 * updates[2] / (updates[2] + site_rebuild),
        site_rebuild * 1e3,
    );
    for (label, queries) in [
        ("one common word (every post)", vec!["rigging".to_owned()]),
        (
            "one rare word (one post)",
            (0..200).map(|i| format!("{}", i * 37 % POSTS)).collect(),
        ),
        (
            "three words",
            (0..200)
                .map(|i| format!("weather patience {}", i * 53 % POSTS))
                .collect(),
        ),
    ] {
        let mut times = Vec::new();
        for round in 0..400 {
            let query = &queries[round % queries.len()];
            let start = Instant::now();
            let results = index.search(query, 0, 10);
            times.push(start.elapsed().as_secs_f64() * 1e3);
            assert!(results.total > 0, "{query}");
        }
        times.sort_by(f64::total_cmp);
        println!(
            "search query, {label}: p50 {:.2} ms, p99 {:.2} ms (400 queries, 10 results with \
             snippets)",
            quantile(&times, 0.5),
            quantile(&times, 0.99)
        );
    }
}
