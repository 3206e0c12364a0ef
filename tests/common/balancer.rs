//! Two gemhole nodes behind a real HAProxy with the shipped `contrib/haproxy/haproxy.cfg`, on
//! loopback: what the scenario test (`tests/haproxy.rs`) and the balancer benchmark share.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::DEADLINE;

/// A process of ours, killed by PID when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// HAProxy's binary: on the PATH, else where Debian puts it (`/usr/sbin`, which a user's
/// PATH may lack).
pub fn haproxy() -> PathBuf {
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
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One gemhole node: its folder (config.toml, log) and its process.
pub struct Node {
    pub dir: PathBuf,
    /// Its listener for the balancer (PROXY protocol), Gemini and Gopher.
    pub gemini: u16,
    pub gopher: u16,
    process: Option<Process>,
}

impl Node {
    /// A node of `root`'s shared capsule, whose config ends with `extra` (tables).
    pub fn new(root: &Path, name: &str, frontend: u16, extra: &str) -> Node {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let (gemini, gopher) = (free_port(), free_port());
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "capsule = \"../capsule\"\ncerts = \"../certs\"\nticket_keys = \"../ticket.keys\"\n\
                 proxy_listen = [\"127.0.0.1:{gemini}\"]\npublic_port = {frontend}\n\
                 [gopher]\nproxy_listen = [\"127.0.0.1:{gopher}\"]\n{extra}"
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

    pub fn start(&mut self) {
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
                // Addresses given on the command line replace all of the file's Gemini ones.
                "--proxy-listen",
                &format!("127.0.0.1:{}", self.gemini),
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
    pub fn stop(&mut self) {
        let process = self.process.take().unwrap();
        assert!(super::send_signal(
            process.0.id(),
            rustix::process::Signal::TERM.as_raw()
        ));
        // Waited for here: no kill on drop for a PID that may be another process's by then.
        let mut child = std::mem::ManuallyDrop::new(process);
        let status = child.0.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log());
    }

    /// Its plain Gemini listener (the one readers reach without the balancer).
    pub fn plain(&self) -> std::net::SocketAddr {
        self.log()
            .lines()
            .filter_map(|l| l.split("listening on ").nth(1))
            .find_map(|a| a.trim().parse().ok())
            .expect("a plain listener")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Access lines for the client on 127.0.0.2 answered `20` (Gemini) or with a menu.
    pub fn served(&self, what: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("gemhole::access") && l.contains("peer=127.0.0.2:"))
            .filter(|l| l.contains(what))
            .count()
    }
}

pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A command on HAProxy's admin socket; its answer.
pub fn admin(socket: &Path, command: &str) -> String {
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// A server's row of `show stat`: (status, current sessions).
pub fn server_stat(socket: &Path, backend: &str, server: &str) -> (String, u64) {
    let stat = admin(socket, "show stat");
    let row = stat
        .lines()
        .find(|l| l.starts_with(&format!("{backend},{server},")))
        .unwrap_or_else(|| panic!("no {backend}/{server} in {stat}"));
    let fields: Vec<&str> = row.split(',').collect();
    (fields[17].to_owned(), fields[4].parse().unwrap_or(0))
}

/// Two nodes on one capsule folder, with one set of certificates and one ticket key file, and
/// HAProxy in front of them, both nodes UP.
pub struct Cluster {
    pub work: tempfile::TempDir,
    pub nodes: [Node; 2],
    pub gemini_front: u16,
    pub gopher_front: u16,
    /// HAProxy's admin socket.
    pub socket: PathBuf,
    _haproxy: Process,
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with("")
    }

    /// As [`Cluster::start`], each node's config ending with `extra` (tables).
    pub fn start_with(extra: &str) -> Cluster {
        let work = tempfile::tempdir().unwrap();
        let root = work.path();
        super::sample_capsule(&root.join("capsule"));
        let keys = root.join("ticket.keys");
        std::fs::write(
            &keys,
            "NTf4FBXZ3RPkM9CZfBONmOmsjeWAwdhd4OpBYnSJ6e1p1Sc9CplsLR2Hhb3HEYAoCTcIHZ0JqZDkJXrvTIvaAp6BRr+LFfnyFmtAAbV8YIQ=\n",
        )
        .unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (gemini_front, gopher_front) = (free_port(), free_port());
        let mut nodes = [
            Node::new(root, "node1", gemini_front, extra),
            Node::new(root, "node2", gemini_front, extra),
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
        let shipped = include_str!("../../contrib/haproxy/haproxy.cfg");
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
        let log = std::fs::File::create(root.join("haproxy.log")).unwrap();
        let haproxy = Process(
            Command::new(haproxy())
                .args(["-db", "-f"])
                .arg(&config_file)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
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
        Cluster {
            work,
            nodes,
            gemini_front,
            gopher_front,
            socket,
            _haproxy: haproxy,
        }
    }
}
