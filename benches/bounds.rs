//! What one page may cost the server (release build, loopback), whatever an author sends:
//!
//! - ten uploads from a Gemini client (Titan) of a megabyte of `[a](b) ` each (about 150,000
//!   links a page): the server's peak resident memory (`VmHWM`) before and after, and the log
//!   lines written about those pages, then the warning lines a restart on them writes;
//! - 60 Gopher readers that ask for one of those pages and stop reading, once the answers a
//!   host keeps are full (4,200 tag menus asked for first): the resident memory they add.
//!
//! `cargo bench --bench bounds`. With `GEMHOLE_BASELINE` set to another gemhole binary (an
//! earlier build), the same runs against it too, in the same run, and the ratios are printed.
//! It stops by itself.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::identity::ClientCert;
use common::{Setup, memory_kib, write};

/// What one build measured.
#[derive(Debug, Default)]
struct Figures {
    peak_before_kib: u64,
    peak_after_kib: u64,
    log_lines: usize,
    restart_warnings: usize,
    readers_added_kib: u64,
}

fn setup(dir: Option<Arc<tempfile::TempDir>>, binary: Option<&Path>, config: &str) -> Setup {
    let mut setup = match dir {
        Some(dir) => Setup::in_dir(dir),
        None => Setup::new(),
    };
    setup = setup.config(config);
    if let Some(binary) = binary {
        setup = setup.binary(binary);
    }
    setup
}

fn measure(binary: Option<&Path>) -> Figures {
    let author = ClientCert::new();
    let config = format!(
        "{}[gopher]
listen = [\"127.0.0.1:0\"]
",
        author.titan_table()
    );
    let first = setup(None, binary, &config);
    let tags: Vec<String> = (0..4200).map(|i| format!("t{i}")).collect();
    write(
        &first.path().join("capsule"),
        "posts/2024-01-01-tagged.md",
        format!("---\ntags: [{}]\n---\nTagged.\n", tags.join(", ")),
    );
    let server = first.start();
    let mut figures = Figures {
        peak_before_kib: memory_kib(&server, "VmHWM"),
        ..Figures::default()
    };
    common::identity::upload_link_pages(&server, &author, 10);
    figures.peak_after_kib = memory_kib(&server, "VmHWM");
    figures.log_lines = server.count_logs("posts/links-");

    // The answers kept, filled with tag menus; then readers that never read.
    let gopher = server.gopher_addr();
    std::thread::scope(|s| {
        for from in 0..4 {
            let tags = &tags;
            s.spawn(move || {
                for tag in tags.iter().skip(from).step_by(4) {
                    common::gopher_at(gopher, format!("/tags/{tag}/\r\n").as_bytes());
                }
            });
        }
    });
    common::gopher_at(gopher, b"/posts/links-0.txt\r\n");
    let before = memory_kib(&server, "VmRSS");
    let readers = common::gopher_non_readers(gopher, "/posts/links-0.txt", 60);
    figures.readers_added_kib = memory_kib(&server, "VmRSS").saturating_sub(before);
    drop(readers);

    // A restart on the same folder: what it logs about those pages.
    let dir = Arc::clone(&server.dir);
    drop(server);
    let again = setup(Some(dir), binary, &config).start();
    again.wait_for("/posts/links-9.gmi", "the restart", |a| a.status() == "20");
    // Every start-up line is written before the first answer.
    figures.restart_warnings = again.count_logs("posts/links-");
    figures
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let baseline: Option<PathBuf> = std::env::var_os("GEMHOLE_BASELINE").map(PathBuf::from);
    let this = measure(None);
    let base = baseline.as_deref().map(|b| measure(Some(b)));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("| measure | this build | baseline | baseline ÷ this |");
    println!("| --- | --- | --- | --- |");
    let row = |name: &str, this: f64, base: Option<f64>, unit: &str| match base {
        Some(b) => println!(
            "| {name} | {this:.1} {unit} | {b:.1} {unit} | {:.1}× |",
            b / this.max(0.1)
        ),
        None => println!("| {name} | {this:.1} {unit} | | |"),
    };
    row(
        "peak RSS before the uploads",
        mib(this.peak_before_kib),
        base.as_ref().map(|b| mib(b.peak_before_kib)),
        "MiB",
    );
    row(
        "peak RSS after ten 1 MiB pages of links",
        mib(this.peak_after_kib),
        base.as_ref().map(|b| mib(b.peak_after_kib)),
        "MiB",
    );
    row(
        "log lines about those pages",
        this.log_lines as f64,
        base.as_ref().map(|b| b.log_lines as f64),
        "lines",
    );
    row(
        "warning lines at a restart on them",
        this.restart_warnings as f64,
        base.as_ref().map(|b| b.restart_warnings as f64),
        "lines",
    );
    row(
        "RSS added by 60 Gopher readers that stop reading",
        mib(this.readers_added_kib),
        base.as_ref().map(|b| mib(b.readers_added_kib)),
        "MiB",
    );
}
