//! Markdown → gemtext throughput, next to pulldown-cmark's own parse-only throughput on the
//! same input (the floor any converter built on it can reach).
//!
//! Inputs: the sample post `tests/data/sailing-knots.md` (every common construct: lists, a
//! table, code, quote, footnote, reference links, HTML comment), body only, repeated to about
//! 20 KB and to about 1 MB. `benches/md2gemini_speed.py` times md2gemini on the same two inputs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use gemhole::convert::{self, Options};
use pulldown_cmark::Parser;

const POST: &str = include_str!("../tests/data/sailing-knots.md");

/// The post's Markdown body repeated until it is at least `bytes` long.
fn input(bytes: usize) -> String {
    let body = gemhole::content::front_matter::split(POST).unwrap().body;
    let mut text = String::with_capacity(bytes + body.len());
    while text.len() < bytes {
        text.push_str(body);
        text.push('\n');
    }
    text
}

fn bench(c: &mut Criterion) {
    let options = Options::default();
    let mut group = c.benchmark_group("markdown");
    for (name, size) in [("post-20KB", 20 * 1024), ("doc-1MB", 1024 * 1024)] {
        let text = input(size);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("pulldown-parse-only", name),
            &text,
            |b, t| b.iter(|| Parser::new_ext(t, convert::markdown::parse_options()).count()),
        );
        group.bench_with_input(BenchmarkId::new("gemhole-convert", name), &text, |b, t| {
            b.iter(|| convert::convert(t, &options).gemtext)
        });
    }
    group.finish();
}

/// The convert / parse-only time ratio, measured the way a shared, noisy machine allows:
/// alternating the two (A B A B …) in short rounds and taking the median ratio.
fn alternating_ratio(name: &str, text: &str) {
    let options = Options::default();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        let mut runs = 0u32;
        while start.elapsed() < Duration::from_millis(200) {
            f();
            runs += 1;
        }
        start.elapsed().as_secs_f64() / f64::from(runs)
    };
    let parse = || {
        black_box(Parser::new_ext(black_box(text), convert::markdown::parse_options()).count());
    };
    let convert = || {
        black_box(convert::convert(black_box(text), &options).gemtext);
    };
    let mut ratios = Vec::new();
    let mut parse_times = Vec::new();
    let mut convert_times = Vec::new();
    for _ in 0..11 {
        let p = time(&parse);
        let c = time(&convert);
        parse_times.push(p);
        convert_times.push(c);
        ratios.push(c / p);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mb = text.len() as f64 / 1e6;
    let (p, c) = (median(&mut parse_times), median(&mut convert_times));
    println!(
        "ratio {name}: convert/parse-only = {:.2} (median of 11 alternating rounds); \
         parse-only {:.1} MB/s, convert {:.1} MB/s",
        median(&mut ratios),
        mb / p,
        mb / c
    );
}

criterion_group!(benches, bench);

fn main() {
    if std::env::args().any(|a| a == "--ratio") {
        for (name, size) in [("post-20KB", 20 * 1024), ("doc-1MB", 1024 * 1024)] {
            alternating_ratio(name, &input(size));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
