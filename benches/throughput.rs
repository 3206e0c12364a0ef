//! Requests per second, server CPU per request, latency and peak memory: gemhole against the
//! limit server (a fixed in-memory response: the practical ceiling) and Agate, on loopback.
//!
//! A second gemhole serves three hosts (three copies of the capsule); its rows are requests to
//! the second host, and its memory after start is compared with the one-host server's.
//!
//! `cargo bench --bench throughput` (`-- --quick` for one short round). Agate is measured when
//! `agate` is on the PATH (`cargo install agate`). Every run uses `gemload` with a new
//! connection (a full handshake) per request. Servers alternate within each round; the tables
//! give medians over the rounds. Server CPU is utime + stime from `/proc/<pid>/stat` over a
//! run, divided by the successful requests.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process of ours, killed by PID when dropped.
struct Server {
    name: &'static str,
    child: Child,
    addr: String,
    /// gemhole's Gopher listener, when it has one.
    gopher: Option<String>,
    /// gemhole's listener for a balancer (PROXY protocol), when it has one.
    proxied: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one load run measured.
#[derive(Debug, Clone, Default)]
struct Run {
    rps: f64,
    failed: f64,
    cpu_us: f64,
    p50: f64,
    p99: f64,
}

/// CPU time (user + system) the process has used, in microseconds.
fn cpu_us(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the file: 12 and 13 after the ')'.
    let hz = 100.0;
    (ticks(11) + ticks(12)) / hz * 1e6
}

fn peak_rss_kib(pid: u32) -> f64 {
    common::abuse::status_number(pid, "VmHWM:")
}

fn rss_kib(pid: u32) -> f64 {
    common::abuse::status_number(pid, "VmRSS:")
}

/// Runs gemload against `addr` and charges the CPU of process `pid`.
fn load(
    addr: &str,
    pid: u32,
    protocol: &str,
    target: &str,
    concurrency: usize,
    seconds: f64,
) -> Run {
    load_with(addr, pid, (protocol, target), concurrency, seconds, &[])
}

/// As [`load`], with more gemload arguments.
fn load_with(
    addr: &str,
    pid: u32,
    (protocol, target): (&str, &str),
    concurrency: usize,
    seconds: f64,
    extra: &[&str],
) -> Run {
    let before = cpu_us(pid);
    let output = Command::new(common::tool("gemload"))
        .args([protocol, target, "--connect", addr, "--json"])
        .args(extra)
        .args(["-c", &concurrency.to_string(), "-d", &seconds.to_string()])
        .output()
        .expect("gemload");
    let used = cpu_us(pid) - before;
    let json = String::from_utf8_lossy(&output.stdout);
    let field = |name| common::json_number(&json, name).unwrap_or(f64::NAN);
    let ok = field("ok");
    Run {
        rps: field("rps"),
        failed: field("failed"),
        cpu_us: used / ok.max(1.0),
        p50: field("p50_ms"),
        p99: field("p99_ms"),
    }
}

/// Starts a server and waits for the lines that give its addresses (`listening on ADDR`, and
/// `listening on ADDR (gopher)` and `… (PROXY protocol)` when `gopher` is set: gemhole's).
fn start(name: &'static str, mut command: Command, gopher: bool) -> Server {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let (tx, rx) = std::sync::mpsc::channel();
    let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
        child.stdout.take().map(|p| Box::new(p) as _),
        child.stderr.take().map(|p| Box::new(p) as _),
    ];
    for pipe in pipes.into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // Read to the end, so the server never blocks on a full pipe.
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
    }
    let (mut addr, mut gopher_addr, mut proxied) = (None, None, None);
    while addr.is_none() || (gopher && (gopher_addr.is_none() || proxied.is_none())) {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{name} did not report its address"));
        if let Some(g) = line.strip_suffix(" (gopher)") {
            gopher_addr = Some(g.to_owned());
        } else if let Some(p) = line.strip_suffix(" (PROXY protocol)") {
            proxied = Some(p.to_owned());
        } else {
            addr = Some(line);
        }
    }
    Server {
        name,
        child,
        addr: addr.unwrap(),
        gopher: gopher_addr,
        proxied,
    }
}

/// A page of about 5 KB of gemtext.
fn page() -> String {
    let mut text = String::from("# A five-kilobyte page\n\n");
    while text.len() < 5100 {
        text.push_str(
            "A paragraph of ordinary prose, as a capsule page has it, with a few words more.\n\n",
        );
    }
    text
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, seconds) = if quick { (1, 2.0) } else { (3, 4.0) };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    assert!(
        Command::new("cp")
            .args(["-r", "capsule"])
            .arg(dir.join("capsule"))
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(dir.join("capsule/page.gmi"), page()).unwrap();
    std::fs::write(
        dir.join("capsule/posts/five-kb.md"),
        format!(
            "---\ntitle: Five KB\ndate: 2024-01-01\n---\n{}",
            &page()[25..]
        ),
    )
    .unwrap();
    // No config.toml: gemhole runs with its defaults, limits included, as a new user's would.
    let mut gemhole = Command::new(env!("CARGO_BIN_EXE_gemhole"));
    gemhole
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--gopher-listen",
            "127.0.0.1:0",
            "--proxy-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info");
    let gemhole = start("gemhole", gemhole, true);
    let rss_one = rss_kib(gemhole.child.id());
    // Three hosts, each with its own copy of the capsule, at the defaults but `[[host]]`.
    let multi = dir.join("multi");
    let mut config = String::new();
    for (i, host) in ["one.example", "two.example", "three.example"]
        .iter()
        .enumerate()
    {
        let folder = multi.join(format!("h{i}"));
        std::fs::create_dir_all(&multi).unwrap();
        assert!(
            Command::new("cp")
                .arg("-r")
                .arg(dir.join("capsule"))
                .arg(&folder)
                .status()
                .unwrap()
                .success()
        );
        config.push_str(&format!(
            "[[host]]\nhostnames = [\"{host}\"]\ncapsule = \"h{i}\"\n\n"
        ));
    }
    std::fs::write(multi.join("config.toml"), config).unwrap();
    let mut hosts = Command::new(env!("CARGO_BIN_EXE_gemhole"));
    hosts
        .current_dir(&multi)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info");
    let hosts = start("gemhole, 3 hosts", hosts, false);
    let rss_three = rss_kib(hosts.child.id());
    let mut limit = Command::new(common::tool("limit-server"));
    limit.args(["--listen", "127.0.0.1:0", "--body-bytes", "5120"]);
    let limit = start("limit server", limit, false);
    let mut gopher_limit = Command::new(common::tool("limit-server"));
    gopher_limit.args([
        "--gopher",
        "--listen",
        "127.0.0.1:0",
        "--body-bytes",
        "5120",
    ]);
    let gopher_limit = start("limit server (Gopher)", gopher_limit, false);
    let agate = which("agate").then(|| {
        let port = free_port();
        std::fs::create_dir_all(dir.join("agate-certs")).unwrap();
        let mut agate = Command::new("agate");
        agate
            .args(["--content"])
            .arg(dir.join("capsule"))
            .args(["--certs"])
            .arg(dir.join("agate-certs"))
            .args([
                "--hostname",
                "localhost",
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .env("RUST_LOG", "warn");
        let server = Server {
            name: "Agate",
            child: agate
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
            addr: format!("127.0.0.1:{port}"),
            gopher: None,
            proxied: None,
        };
        wait_listening(&server.addr);
        server
    });
    // With the port: Agate refuses a URL without it on a port other than 1965.
    let gemini_at = |server: &Server, host: &str, path: &str, c: usize| {
        let port = server.addr.rsplit(':').next().unwrap_or("1965");
        let url = format!("gemini://{host}:{port}{path}");
        load(&server.addr, server.child.id(), "gemini", &url, c, seconds)
    };
    let gemini = |server: &Server, path: &str, c: usize| gemini_at(server, "localhost", path, c);
    let mut rows: Vec<(String, usize, Vec<Run>)> = Vec::new();
    let mut record = |label: &str, c: usize, run: Run| match rows
        .iter_mut()
        .find(|(l, cc, _)| l == label && *cc == c)
    {
        Some(row) => row.2.push(run),
        None => rows.push((label.to_owned(), c, vec![run])),
    };
    for round in 0..rounds {
        for c in [1, 8, 64] {
            record("limit server, 5 KB", c, gemini(&limit, "/", c));
            record("gemhole, static .gmi", c, gemini(&gemhole, "/page.gmi", c));
            // The same page through the listener for a balancer: a PROXY v2 header first.
            let proxied = gemhole.proxied.as_deref().unwrap();
            let url = "gemini://localhost/page.gmi";
            let run = load_with(
                proxied,
                gemhole.child.id(),
                ("gemini", url),
                c,
                seconds,
                &["--proxy-v2"],
            );
            record("gemhole, static .gmi, PROXY v2", c, run);
            record(
                "gemhole, Markdown post",
                c,
                gemini(&gemhole, "/posts/five-kb.gmi", c),
            );
            let series = "/series/building-a-crystal-radio/";
            record("gemhole, series index", c, gemini(&gemhole, series, c));
            let second = |path| gemini_at(&hosts, "two.example", path, c);
            record("gemhole 3 hosts, 2nd, static .gmi", c, second("/page.gmi"));
            record("gemhole 3 hosts, 2nd, series index", c, second(series));
            if let Some(agate) = &agate {
                record("Agate, static .gmi", c, gemini(agate, "/page.gmi", c));
            }
            let gopher = gemhole.gopher.as_deref().unwrap();
            let run = load(
                gopher,
                gemhole.child.id(),
                "gopher",
                "/page.txt",
                c,
                seconds,
            );
            record("gemhole, Gopher text", c, run);
            let limit_gopher = load(
                &gopher_limit.addr,
                gopher_limit.child.id(),
                "gopher",
                "/",
                c,
                seconds,
            );
            record("limit server, Gopher", c, limit_gopher);
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    println!("| server, page | c | req/s | CPU µs/req | p50 ms | p99 ms | failed |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (label, c, runs) in &rows {
        let m = |f: fn(&Run) -> f64| common::median(runs.iter().map(f).collect());
        println!(
            "| {label} | {c} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} |",
            m(|r| r.rps),
            m(|r| r.cpu_us),
            m(|r| r.p50),
            m(|r| r.p99),
            runs.iter().map(|r| r.failed).sum::<f64>(),
        );
    }
    let ratio_of = |field: fn(&Run) -> f64, a: &str, b: &str, c: usize| {
        let get = |l: &str| {
            rows.iter()
                .find(|(label, cc, _)| label == l && *cc == c)
                .map(|(_, _, runs)| common::median(runs.iter().map(field).collect()))
        };
        get(a).zip(get(b)).map(|(a, b)| a / b)
    };
    let ratio = |a: &str, b: &str, c: usize| ratio_of(|r| r.rps, a, b, c);
    let cpu_ratio = |a: &str, b: &str, c: usize| ratio_of(|r| r.cpu_us, a, b, c);
    for c in [1, 8, 64] {
        for label in [
            "gemhole, static .gmi",
            "gemhole, Markdown post",
            "gemhole, series index",
            "gemhole 3 hosts, 2nd, static .gmi",
            "gemhole 3 hosts, 2nd, series index",
        ] {
            if let Some(r) = ratio(label, "limit server, 5 KB", c) {
                let cpu = cpu_ratio(label, "limit server, 5 KB", c).unwrap_or(f64::NAN);
                println!("c={c}: {label} / limit = {r:.2}× req/s at {cpu:.2}× CPU per request");
            }
        }
        if let Some(r) = ratio("gemhole, static .gmi", "Agate, static .gmi", c) {
            println!("c={c}: gemhole / Agate (static) = {r:.2}×");
        }
        let (plain, proxied) = ("gemhole, static .gmi", "gemhole, static .gmi, PROXY v2");
        if let (Some(r), Some(cpu)) = (ratio(proxied, plain, c), cpu_ratio(proxied, plain, c)) {
            println!(
                "c={c}: PROXY v2 listener / plain listener = {r:.2}× req/s at {cpu:.2}× CPU per request"
            );
        }
        if let Some(r) = ratio("gemhole, Gopher text", "limit server, Gopher", c) {
            println!("c={c}: gemhole Gopher / limit Gopher = {r:.2}×");
        }
    }
    println!(
        "RSS after start: gemhole, 1 host {:.1} MiB; 3 hosts {:.1} MiB ({:.2}×)",
        rss_one / 1024.0,
        rss_three / 1024.0,
        rss_three / rss_one
    );
    for server in [Some(&gemhole), Some(&hosts), Some(&limit), agate.as_ref()]
        .into_iter()
        .flatten()
    {
        println!(
            "peak RSS {}: {:.1} MiB",
            server.name,
            peak_rss_kib(server.child.id()) / 1024.0
        );
    }
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn wait_listening(addr: &str) {
    for _ in 0..600 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{addr} never listened");
}
