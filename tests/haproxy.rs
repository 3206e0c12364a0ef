//! Two gemhole nodes behind a real HAProxy (Debian's `haproxy`), with the shipped
//! `contrib/haproxy/haproxy.cfg` (its ports and socket path substituted): requests from a
//! client on 127.0.0.2 reach both nodes over Gemini and Gopher, both logs name the client, a
//! session resumes on the other node, a direct connection without a header gets no byte, and
//! one node drained and restarted under steady load costs no request.
//!
//! Needs `haproxy` on the PATH: `.ci/run` installs it and runs this with
//! `cargo test --test haproxy -- --ignored`.

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DEADLINE, Tls, client_config, finish, tcp_from, tls_over};
use rustls::pki_types::ServerName;

/// A process of ours, killed by PID when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// HAProxy's binary: on the PATH, else where Debian puts it (`/usr/sbin`, which a user's
/// PATH may lack).
fn haproxy() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("haproxy"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/haproxy"))
}

/// A port free on loopback now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One gemhole node: its folder (config.toml, log) and its process.
struct Node {
    dir: PathBuf,
    gemini: u16,
    gopher: u16,
    process: Option<Process>,
}

impl Node {
    fn new(root: &Path, name: &str, frontend: u16) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let (gemini, gopher) = (free_port(), free_port());
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "capsule = \"../capsule\"\ncerts = \"../certs\"\nticket_keys = \"../ticket.keys\"\n\
                 proxy_listen = [\"127.0.0.1:{gemini}\"]\npublic_port = {frontend}\n\
                 [gopher]\nproxy_listen = [\"127.0.0.1:{gopher}\"]\n"
            ),
        )
        .unwrap();
        Node {
            dir,
            gemini,
            gopher,
            process: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gemhole"))
            .current_dir(&self.dir)
            .args([
                "serve",
                "--config",
                "config.toml",
                "--listen",
                "127.0.0.1:0",
                "--log-ip",
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.process = Some(Process(child));
        let listening = format!("listening on 127.0.0.1:{} (PROXY protocol)", self.gemini);
        wait_until("the node to listen", || self.log().contains(&listening));
    }

    /// SIGTERM, then the exit, which must be clean.
    fn stop(&mut self) {
        let process = self.process.take().unwrap();
        assert!(common::send_signal(process.0.id(), libc::SIGTERM));
        // Waited for here: no kill on drop for a PID that may be another process's by then.
        let mut child = std::mem::ManuallyDrop::new(process);
        let status = child.0.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Access lines for the client on 127.0.0.2 answered `20` (Gemini) or with a menu.
    fn served(&self, what: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("gemhole::access") && l.contains("peer=127.0.0.2:"))
            .filter(|l| l.contains(what))
            .count()
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A command on HAProxy's admin socket; its answer.
fn admin(socket: &Path, command: &str) -> String {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// A server's row of `show stat`: (status, current sessions).
fn server_stat(socket: &Path, backend: &str, server: &str) -> (String, u64) {
    let stat = admin(socket, "show stat");
    let row = stat
        .lines()
        .find(|l| l.starts_with(&format!("{backend},{server},")))
        .unwrap_or_else(|| panic!("no {backend}/{server} in {stat}"));
    let fields: Vec<&str> = row.split(',').collect();
    (fields[17].to_owned(), fields[4].parse().unwrap_or(0))
}

/// One Gemini request through the balancer from 127.0.0.2, with `config`'s session store.
fn through(
    frontend: u16,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<(common::Exchange, Option<rustls::HandshakeKind>)> {
    let addr: SocketAddr = ([127, 0, 0, 1], frontend).into();
    let tcp = tcp_from(2, addr)?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = tls_over(tcp, name, config.clone())?;
    let kind = conn.conn.handshake_kind();
    conn.write_all(format!("gemini://localhost:{frontend}/\r\n").as_bytes())?;
    conn.flush()?;
    Ok((finish(conn)?, kind))
}

#[test]
#[ignore = "needs HAProxy (Debian's haproxy); .ci/run installs it and runs this"]
fn two_nodes_behind_haproxy_serve_resume_and_restart_without_a_failed_request() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    common::sample_capsule(&root.join("capsule"));
    let keys = root.join("ticket.keys");
    std::fs::write(
        &keys,
        "NTf4FBXZ3RPkM9CZfBONmOmsjeWAwdhd4OpBYnSJ6e1p1Sc9CplsLR2Hhb3HEYAoCTcIHZ0JqZDkJXrvTIvaAp6BRr+LFfnyFmtAAbV8YIQ=\n",
    )
    .unwrap();
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (gemini_front, gopher_front) = (free_port(), free_port());
    let mut nodes = [
        Node::new(root, "node1", gemini_front),
        Node::new(root, "node2", gemini_front),
    ];
    // One set of certificates for both nodes, made before either starts.
    let made = Command::new(env!("CARGO_BIN_EXE_gemhole"))
        .current_dir(&nodes[0].dir)
        .args(["cert", "--config", "config.toml"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for node in &mut nodes {
        node.start();
    }

    // The shipped HAProxy configuration, its ports and socket path substituted.
    let shipped = include_str!("../contrib/haproxy/haproxy.cfg");
    let socket = root.join("admin.sock");
    let config = shipped
        .replace("bind :1965", &format!("bind 127.0.0.1:{gemini_front}"))
        .replace("bind :70", &format!("bind 127.0.0.1:{gopher_front}"))
        .replace("127.0.0.1:11965", &format!("127.0.0.1:{}", nodes[0].gemini))
        .replace("127.0.0.1:11966", &format!("127.0.0.1:{}", nodes[1].gemini))
        .replace("127.0.0.1:11070", &format!("127.0.0.1:{}", nodes[0].gopher))
        .replace("127.0.0.1:11071", &format!("127.0.0.1:{}", nodes[1].gopher))
        .replace("/run/haproxy/gemhole-admin.sock", socket.to_str().unwrap());
    assert_ne!(config, shipped);
    let config_file = root.join("haproxy.cfg");
    std::fs::write(&config_file, config).unwrap();
    let checked = Command::new(haproxy())
        .args(["-c", "-f"])
        .arg(&config_file)
        .output()
        .expect("haproxy must be installed (Debian's haproxy)");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let haproxy_log = std::fs::File::create(root.join("haproxy.log")).unwrap();
    let _haproxy = Process(
        Command::new(haproxy())
            .args(["-db", "-f"])
            .arg(&config_file)
            .stdout(haproxy_log.try_clone().unwrap())
            .stderr(haproxy_log)
            .spawn()
            .unwrap(),
    );
    // (HAProxy creates its socket file a moment before it listens on it.)
    wait_until("both nodes UP", || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
            && ["node1", "node2"].iter().all(|n| {
                server_stat(&socket, "gemini_out", n).0 == "UP"
                    && server_stat(&socket, "gopher_out", n).0 == "UP"
            })
    });

    // Requests through the balancer reach both nodes, whose logs name the client; a session
    // begun on one node resumes on the other (round robin: consecutive connections alternate).
    let client = client_config(Tls::Any);
    let (first, kind) = through(gemini_front, &client).unwrap();
    first.expect("20");
    assert!(first.body_text().contains("Welcome."));
    assert_eq!(kind, Some(rustls::HandshakeKind::Full));
    let before: Vec<usize> = nodes.iter().map(|n| n.served("status=20")).collect();
    let (second, kind) = through(gemini_front, &client).unwrap();
    second.expect("20");
    assert_eq!(kind, Some(rustls::HandshakeKind::Resumed));
    wait_until("both nodes' access lines", || {
        nodes.iter().all(|n| n.served("status=20") >= 1)
    });
    let after: Vec<usize> = nodes.iter().map(|n| n.served("status=20")).collect();
    assert_ne!(before, after);
    for _ in 0..2 {
        let mut gopher = tcp_from(2, ([127, 0, 0, 1], gopher_front).into()).unwrap();
        gopher.set_read_timeout(Some(DEADLINE)).unwrap();
        gopher.write_all(b"/\r\n").unwrap();
        let mut menu = String::new();
        gopher.read_to_string(&mut menu).unwrap();
        assert!(menu.contains("Welcome."), "{menu}");
    }
    wait_until("both nodes' Gopher lines", || {
        nodes.iter().all(|n| n.served("host=\"gopher\"") >= 1)
    });
    // A connection straight to a node, without a header, gets no byte.
    let mut direct = TcpStream::connect(("127.0.0.1", nodes[0].gemini)).unwrap();
    direct.set_read_timeout(Some(DEADLINE)).unwrap();
    direct.write_all(&common::abuse::client_hello()).unwrap();
    let mut got = Vec::new();
    let _ = direct.read_to_end(&mut got);
    assert!(got.is_empty());

    // Steady load while node1 is drained, stopped, started again and made ready.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            let config = client_config(Tls::Any);
            while !stop.load(Ordering::Relaxed) {
                match through(gemini_front, &config) {
                    Ok((answer, _)) if answer.status() == "20" && answer.close_notify => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        eprintln!("failed: {:?}", other.map(|(a, _)| a.text()));
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    wait_until("some load", || ok.load(Ordering::Relaxed) >= 20);
    for backend in ["gemini_out", "gopher_out"] {
        admin(&socket, &format!("set server {backend}/node1 state drain"));
    }
    wait_until("node1 drained", || {
        server_stat(&socket, "gemini_out", "node1").1 == 0
            && server_stat(&socket, "gopher_out", "node1").1 == 0
    });
    nodes[0].stop();
    nodes[0].start();
    for backend in ["gemini_out", "gopher_out"] {
        admin(&socket, &format!("set server {backend}/node1 state ready"));
    }
    wait_until("node1 UP again", || {
        server_stat(&socket, "gemini_out", "node1").0 == "UP"
    });
    let served_before = nodes[0].served("status=20");
    wait_until("node1 serving again", || {
        nodes[0].served("status=20") > served_before
    });
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "ok: {}",
        ok.load(Ordering::Relaxed)
    );
}
