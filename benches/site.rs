//! Building the `Site` for a large capsule: 10,000 posts in 500 series (20 parts each), every
//! post with YAML front matter, tags, links and a list, about 1 KB of Markdown.
//!
//! `cargo bench --bench site` prints the median of 5 builds and the process's peak resident
//! memory (VmHWM), which includes the generated capsule's own strings.

use std::time::Instant;

use gemhole::content::CapsuleRoot;
use gemhole::content::scan::ReadCache;
use gemhole::content::site::{BuildOptions, Site};
use gemhole::convert;

mod capsule;

use capsule::{POSTS, SERIES, post};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
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
        peak_rss_mib()
    );
}
