//! Ordinary readers while the server is abused, on loopback, release build, default limits:
//!
//! - requests/s `gemload` gets (8 connections, a full handshake each, a 5 KB page) with and
//!   without 500 slowloris connections open (half dribble a ClientHello, half finish TLS and
//!   dribble a request, one byte a second; each reconnects when dropped), in alternating
//!   rounds; the same for Agate when it is installed;
//! - peak RSS (VmHWM) of a fresh server over a quiet run of the same load, and of another over
//!   a mixed-abuse run of the same length (the slowloris, 50 connections that finish TLS and say
//!   nothing, 20 clients that ask for 16 MB and never read, floods of random bytes and
//!   oversized requests on both ports);
//! - open file descriptors before the abuse and once it has stopped.
//!
//! `cargo bench --bench abuse` (`-- --quick` for short runs). Abusers connect from 127.0.0.10
//! and up, 30 per address. It stops by itself.

#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::abuse::{client_hello, connect_from, dribble, noise, open_fds, status_number, tls};
use common::{Setup, TestServer, big_file, json_number, write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SLOWLORIS: usize = 500;
const SILENT: usize = 50;
const NON_READERS: usize = 20;
const FLOODERS: usize = 4;

/// A 5 KB page.
fn page() -> String {
    let mut text = String::from("# A five-kilobyte page\n\n");
    while text.len() < 5100 {
        text.push_str("A paragraph of ordinary prose, with a few words more than that.\n\n");
    }
    text
}

fn server() -> TestServer {
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let capsule = setup.path().join("capsule");
    write(&capsule, "page.gmi", page());
    big_file(&capsule);
    setup.start()
}

/// What `gemload` measured for the ordinary readers.
struct Load {
    rps: f64,
    failed: f64,
}

/// Ordinary readers: `gemload` with 8 connections for `seconds`.
fn ordinary(addr: SocketAddr, seconds: f64) -> Load {
    let url = format!("gemini://localhost:{}/page.gmi", addr.port());
    let output = Command::new(common::tool("gemload"))
        .args(["gemini", &url, "--connect", &addr.to_string(), "--json"])
        .args(["-c", "8", "-d", &seconds.to_string()])
        .output()
        .expect("gemload");
    let json = String::from_utf8_lossy(&output.stdout);
    Load {
        rps: json_number(&json, "rps").unwrap_or(f64::NAN),
        failed: json_number(&json, "failed").unwrap_or(f64::NAN),
    }
}

/// `VmRSS:` (resident now) or `VmHWM:` (its peak) of a process, in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    status_number(pid, field) / 1024.0
}

/// Abusers running on their own runtime until dropped.
struct Abuse {
    stop: Arc<AtomicBool>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Abuse {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// What to throw at a server.
struct Mix {
    gemini: SocketAddr,
    gopher: Option<SocketAddr>,
    /// Everything, not just the slowloris.
    mixed: bool,
}

/// The abusers' own runtime: one thread is plenty for clients that mostly wait.
fn abusers_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts the abusers; each reconnects when the server drops it.
fn abuse(mix: Mix) -> Abuse {
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = abusers_runtime();
    let hello: Arc<[u8]> = client_hello().into();
    let gemini = mix.gemini;
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    for i in 0..SLOWLORIS {
        let (me, stop, hello) = (next(), Arc::clone(&stop), Arc::clone(&hello));
        runtime.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(tcp) = connect_from(me, gemini, None).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                if i % 2 == 0 {
                    dribble(tcp, &hello, &stop).await;
                } else if let Ok(tls) = tls(tcp).await {
                    dribble(tls, b"gemini://localhost/page.gmi", &stop).await;
                }
            }
        });
    }
    if mix.mixed {
        for _ in 0..SILENT {
            let (me, stop) = (next(), Arc::clone(&stop));
            runtime.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(tcp) = connect_from(me, gemini, None).await
                        && let Ok(mut tls) = tls(tcp).await
                    {
                        let mut sink = Vec::new();
                        tokio::select! {
                            _ = tls.read_to_end(&mut sink) => {}
                            () = stopped(&stop) => {}
                        }
                    } else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            });
        }
        for _ in 0..NON_READERS {
            let (me, stop) = (next(), Arc::clone(&stop));
            runtime.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(tcp) = connect_from(me, gemini, Some(4096)).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let Ok(mut tls) = tls(tcp).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let _ = tls.write_all(b"gemini://localhost/big.bin\r\n").await;
                    // Never read: wait until the server gives up (a write fails then).
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if tls.write_all(b"x").await.is_err() {
                            break;
                        }
                    }
                }
            });
        }
        for f in 0..FLOODERS {
            let (me, stop, gopher) = (next(), Arc::clone(&stop), mix.gopher);
            runtime.spawn(async move {
                let mut seed = f as u64 * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    seed += 1;
                    let target = match (seed % 2, gopher) {
                        (1, Some(gopher)) => gopher,
                        _ => gemini,
                    };
                    let mut bytes = noise(seed, 32 * 1024);
                    if seed.is_multiple_of(4) {
                        bytes[0] = 0x16;
                    }
                    if seed % 8 == 3 {
                        bytes = vec![b'a'; 5000];
                    }
                    if let Ok(mut tcp) = connect_from(me, target, None).await {
                        let _ = tcp.write_all(&bytes).await;
                        let mut sink = Vec::new();
                        let _ = tokio::time::timeout(
                            Duration::from_secs(5),
                            tcp.read_to_end(&mut sink),
                        )
                        .await;
                    }
                }
            });
        }
    }
    Abuse {
        stop,
        runtime: Some(runtime),
    }
}

/// Returns once `stop` is set.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the server holds `baseline` descriptors again; returns the count it ended at.
fn settle_fds(pid: u32, baseline: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    while open_fds(pid) != baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    open_fds(pid)
}

/// Quiet vs slowloris req/s for one server, alternating rounds.
fn slowloris_ratio(name: &str, gemini: SocketAddr, rounds: usize, seconds: f64) -> f64 {
    let (mut quiet, mut abused) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let q = ordinary(gemini, seconds);
        let attack = abuse(Mix {
            gemini,
            gopher: None,
            mixed: false,
        });
        // Let the slowloris connect before measuring.
        std::thread::sleep(Duration::from_secs(2));
        let a = ordinary(gemini, seconds);
        drop(attack);
        println!(
            "{name}: quiet {:.0} req/s ({} failed), under {SLOWLORIS} slowloris {:.0} req/s ({} failed)",
            q.rps, q.failed, a.rps, a.failed
        );
        quiet.push(q.rps);
        abused.push(a.rps);
    }
    let ratio = common::median(abused) / common::median(quiet);
    println!("{name}: under slowloris / quiet = {ratio:.2}×");
    ratio
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    if args.iter().any(|a| a == "--per-connection") {
        for kind in Held::ALL {
            per_connection(kind);
        }
        return;
    }
    let (rounds, seconds, mut mixed_seconds) = if quick {
        (1, 3.0, 10.0)
    } else {
        (3, 10.0, 60.0)
    };
    if let Some(at) = args.iter().position(|a| a == "--mixed-seconds") {
        mixed_seconds = args[at + 1].parse().expect("--mixed-seconds SECONDS");
    }

    if !args.iter().any(|a| a == "--memory-only") {
        throughput_under_slowloris(rounds, seconds);
    }
    memory_under_mixed_abuse(mixed_seconds);
}

/// Requests/s with and without the slowloris, gemhole's and Agate's (when installed).
fn throughput_under_slowloris(rounds: usize, seconds: f64) {
    let gemhole = server();
    ordinary(gemhole.addr(), 1.0);
    let baseline = open_fds(gemhole.pid());
    slowloris_ratio("gemhole", gemhole.addr(), rounds, seconds);
    let after = settle_fds(gemhole.pid(), baseline, Duration::from_secs(60));
    println!("gemhole: open fds {baseline} before the slowloris, {after} after");
    drop(gemhole);
    if Command::new("sh")
        .args(["-c", "command -v agate"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("content"), "page.gmi", page());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut agate = Command::new("agate")
            .arg("--content")
            .arg(dir.path().join("content"))
            .arg("--certs")
            .arg(dir.path().join("certs"))
            .args(["--hostname", "localhost"])
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        ordinary(addr, 1.0);
        slowloris_ratio("Agate", addr, rounds, seconds);
        let _ = agate.kill();
        let _ = agate.wait();
    }
}

/// Peak memory: a quiet run and a mixed-abuse run of the same length, each on a fresh server;
/// file descriptors before, during and after.
fn memory_under_mixed_abuse(mixed_seconds: f64) {
    let quiet = server();
    let load = ordinary(quiet.addr(), mixed_seconds);
    let quiet_rss = memory_mib(quiet.pid(), "VmHWM:");
    println!(
        "quiet {mixed_seconds} s: {:.0} req/s, peak RSS {quiet_rss:.1} MiB",
        load.rps
    );
    drop(quiet);

    let abused = server();
    ordinary(abused.addr(), 1.0);
    let baseline = open_fds(abused.pid());
    let attack = abuse(Mix {
        gemini: abused.addr(),
        gopher: Some(abused.gopher_addr()),
        mixed: true,
    });
    // Sample the server's threads while the load runs.
    let pid = abused.pid();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = std::thread::spawn({
        let sampling = Arc::clone(&sampling);
        move || {
            let mut most = 0.0f64;
            while sampling.load(Ordering::Relaxed) {
                most = most.max(status_number(pid, "Threads:"));
                std::thread::sleep(Duration::from_millis(200));
            }
            most
        }
    });
    let load = ordinary(abused.addr(), mixed_seconds);
    sampling.store(false, Ordering::Relaxed);
    let threads = sampler.join().unwrap();
    let during = open_fds(abused.pid());
    drop(attack);
    let abused_rss = memory_mib(abused.pid(), "VmHWM:");
    let after = settle_fds(abused.pid(), baseline, Duration::from_secs(90));
    println!(
        "mixed abuse {mixed_seconds} s: {:.0} req/s ({} failed), peak RSS {abused_rss:.1} MiB \
         ({:.2}× quiet), open fds {baseline} before, {during} during, {after} after, \
         at most {threads} threads",
        load.rps,
        load.failed,
        abused_rss / quiet_rss
    );
    let panics = abused
        .logs()
        .iter()
        .filter(|l| l.contains("panicked"))
        .count();
    println!("panics logged: {panics}");
}

/// What a held connection has done.
#[derive(Clone, Copy, Debug)]
enum Held {
    Nothing,
    HalfAHello,
    TlsNoRequest,
    NotReading,
}

impl Held {
    const ALL: [Held; 4] = [
        Held::Nothing,
        Held::HalfAHello,
        Held::TlsNoRequest,
        Held::NotReading,
    ];
}

/// Resident memory a server needs per held connection of one kind: 500 of them, measured
/// against the same server after a quiet load.
fn per_connection(kind: Held) {
    const HELD: usize = 500;
    let server = server();
    ordinary(server.addr(), 2.0);
    let pid = server.pid();
    let before = memory_mib(pid, "VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = abusers_runtime();
    let hello: Arc<[u8]> = client_hello().into();
    let gemini = server.addr();
    for me in 0..HELD {
        let (stop, hello) = (Arc::clone(&stop), Arc::clone(&hello));
        runtime.spawn(async move {
            let Ok(mut tcp) = connect_from(me, gemini, Some(4096)).await else {
                return;
            };
            match kind {
                Held::Nothing => {}
                Held::HalfAHello => {
                    let _ = tcp.write_all(&hello[..hello.len() / 2]).await;
                }
                Held::TlsNoRequest | Held::NotReading => {
                    let Ok(mut tls) = tls(tcp).await else {
                        return;
                    };
                    if let Held::NotReading = kind {
                        let _ = tls.write_all(b"gemini://localhost/big.bin\r\n").await;
                    }
                    stopped(&stop).await;
                    return;
                }
            }
            stopped(&stop).await;
        });
    }
    // Until every connection is in: each holds a descriptor (a non-reader also its file).
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_fds(pid) < HELD && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let held = memory_mib(pid, "VmRSS:");
    println!(
        "{kind:?} ×{HELD}: {before:.1} → {held:.1} MiB, {:.1} KiB per connection ({} fds)",
        (held - before) * 1024.0 / HELD as f64,
        open_fds(pid)
    );
    stop.store(true, Ordering::Relaxed);
    runtime.shutdown_timeout(Duration::from_secs(5));
}
