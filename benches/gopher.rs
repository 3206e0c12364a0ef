//! Gopher requests per second for one post, gemhole against Debian's Gophernicus (run
//! inetd-style under socat, as its package intends), on loopback, same bytes, same load.
//!
//! `cargo bench --bench gopher` needs `gophernicus` and `socat` (Debian packages); without them
//! it says so and measures gemhole alone. Alternating rounds (A B A B …), medians; it stops by
//! itself. The ratio is what carries over to other machines.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The post both servers send, by its gemhole selector.
const SELECTOR: &str = "/posts/crystal-radio-coil.txt";
const ROUNDS: usize = 5;
const ROUND: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 8;

/// Kills the process it holds when dropped (our own child, by PID).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gopher(addr: SocketAddr, selector: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("{selector}\r\n").as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

/// Requests `selector` from `CONCURRENCY` threads for `ROUND`; returns (ok/s, failures).
fn load(addr: SocketAddr, selector: &str, expected: usize) -> (f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (stop, ok, failed) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
            let selector = selector.to_owned();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match gopher(addr, &selector) {
                        Ok(answer) if answer.len() == expected => {
                            ok.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(ROUND);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let seconds = started.elapsed().as_secs_f64();
    (
        ok.load(Ordering::Relaxed) as f64 / seconds,
        failed.load(Ordering::Relaxed),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Waits until `addr` answers `selector` with something.
fn wait_for(addr: SocketAddr, selector: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(answer) = gopher(addr, selector)
            && !answer.is_empty()
        {
            return answer;
        }
        assert!(Instant::now() < deadline, "{addr} did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .args(["-r", "capsule"])
        .arg(work.path().join("capsule"))
        .status()
        .unwrap();
    assert!(status.success());
    // gemhole, quiet (no access log to a pipe), Gopher only on a fixed free port.
    std::fs::write(
        work.path().join("config.toml"),
        "[log]\nlevel = \"warn\"\n[watch]\nmode = \"off\"\n",
    )
    .unwrap();
    let port = free_port();
    let ours = Running(
        Command::new(env!("CARGO_BIN_EXE_gemhole"))
            .current_dir(work.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--gopher-listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ours_addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let page = wait_for(ours_addr, SELECTOR);
    println!("page: {SELECTOR}, {} bytes", page.len());

    // Gophernicus serves the same bytes from a folder of its own, as the unprivileged user,
    // with its per-client throttling (4,096 hits by default) out of the way.
    let root = work.path().join("gophernicus");
    std::fs::create_dir_all(root.join("posts")).unwrap();
    std::fs::write(root.join(&SELECTOR[1..]), &page).unwrap();
    let _ = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(work.path())
        .status();
    let theirs_port = free_port();
    let theirs = which("gophernicus").and(which("socat")).map(|_| {
        Running(
            Command::new("socat")
                .arg(format!(
                    "TCP-LISTEN:{theirs_port},bind=127.0.0.1,fork,reuseaddr,backlog=1024"
                ))
                .arg(format!(
                    "EXEC:/usr/sbin/gophernicus -h localhost -p {theirs_port} -r {} -nv -i 1000000000 -k 1000000000{}",
                    root.display(),
                    if is_root() { ",su=nobody" } else { "" }
                ))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    });
    let theirs_addr: SocketAddr = ([127, 0, 0, 1], theirs_port).into();
    if theirs.is_some() {
        let their_page = wait_for(theirs_addr, SELECTOR);
        assert_eq!(
            their_page.len(),
            page.len(),
            "Gophernicus sends other bytes"
        );
    } else {
        println!("gophernicus or socat is not installed: measuring gemhole alone");
    }

    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (rate, failed) = load(ours_addr, SELECTOR, page.len());
        println!("round {round}: gemhole      {rate:>9.0} req/s ({failed} failed)");
        a.push(rate);
        if theirs.is_some() {
            let (rate, failed) = load(theirs_addr, SELECTOR, page.len());
            println!("round {round}: gophernicus  {rate:>9.0} req/s ({failed} failed)");
            b.push(rate);
        }
    }
    print!(
        "gopher, {} B post, {CONCURRENCY} connections, {ROUNDS} rounds of {} s: gemhole median {:.0} req/s",
        page.len(),
        ROUND.as_secs(),
        median(a.clone())
    );
    if !b.is_empty() {
        print!(
            ", gophernicus median {:.0} req/s: {:.1}×",
            median(b.clone()),
            median(a) / median(b)
        );
    }
    println!();
    drop(theirs);
    drop(ours);
}

fn which(tool: &str) -> Option<()> {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| ())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
