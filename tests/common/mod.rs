//! Shared test machinery: a real `gemhole` process on an ephemeral loopback port in a temp dir,
//! and a small blocking Gemini client over real TLS (rustls, ring), as a reader's client would
//! be: it accepts any certificate (TOFU) but verifies the handshake signatures.

#![allow(dead_code)]

pub mod abuse;
pub mod balancer;
pub mod identity;
pub mod web;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

/// How long a test waits for something that should happen quickly, before it fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The sample capsule most tests serve.
pub fn sample_capsule(root: &Path) {
    write(root, "index.gmi", "# Home\n\nWelcome.\n");
    write(root, "about.gmi", "# About\n");
    write(root, "docs/index.gmi", "# Docs\n");
    write(root, "docs/page.gmi", "# A page\n");
    write(root, "empty/readme.txt", "no index here\n");
    write(root, "notes.txt", "plain text\n");
    write(root, "robots.txt", "User-agent: *\nDisallow:\n");
    write(root, "image.png", "\u{89}PNG");
    write(root, ".secret", "top secret\n");
    write(root, ".git/config", "[core]\n");
    write(
        root,
        ".well-known/security.txt",
        "Contact: mailto:a@example.org\n",
    );
    write(root, "with space.gmi", "# Spaced\n");
}

pub fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// A running server and the temp folder it lives in (capsule/, certs/, config.toml).
pub struct TestServer {
    child: Child,
    pub dir: Arc<tempfile::TempDir>,
    pub addrs: Vec<SocketAddr>,
    logs: Arc<(Mutex<Vec<String>>, Condvar)>,
}

/// How to start a server; everything lives in one temp dir unless told otherwise.
pub struct Setup {
    dir: Arc<tempfile::TempDir>,
    args: Vec<String>,
    config: Option<String>,
    listen: Vec<String>,
    env: Vec<(String, String)>,
    /// Shell commands run before the server (through `sh`): `ulimit` options, mounts.
    prelude: Option<String>,
    /// Whether they run in a mount namespace of their own (`unshare -rm`).
    own_mounts: bool,
    /// Another gemhole binary to run (a benchmark's baseline build); `None`: this build's.
    binary: Option<PathBuf>,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        sample_capsule(&dir.path().join("capsule"));
        Setup::in_dir(Arc::new(dir))
    }

    /// Reuses a folder (and so its certs/) of an earlier server.
    pub fn in_dir(dir: Arc<tempfile::TempDir>) -> Setup {
        Setup {
            dir,
            args: Vec::new(),
            config: None,
            listen: Vec::new(),
            env: Vec::new(),
            prelude: None,
            own_mounts: false,
            binary: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes this text as `config.toml` in the server's working folder.
    pub fn config(mut self, text: &str) -> Setup {
        self.config = Some(text.to_owned());
        self
    }

    pub fn arg(mut self, arg: &str) -> Setup {
        self.args.push(arg.to_owned());
        self
    }

    pub fn listen(mut self, addr: &str) -> Setup {
        self.listen.push(addr.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Setup {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs this binary in place of this build's (a benchmark's baseline).
    pub fn binary(mut self, path: &Path) -> Setup {
        self.binary = Some(path.to_owned());
        self
    }

    /// Starts the server under `ulimit <options>` (e.g. `-Sn 100`).
    pub fn ulimit(mut self, options: &str) -> Setup {
        self.prelude = Some(format!("ulimit {options}"));
        self
    }

    /// Starts the server in a mount namespace of its own (`unshare -rm`, as an unprivileged
    /// user may), after `script` (shell commands: bind mounts, say) has run in it: what a
    /// systemd unit's file-system rules do, without systemd.
    pub fn in_own_mounts(mut self, script: &str) -> Setup {
        self.prelude = Some(script.to_owned());
        self.own_mounts = true;
        self
    }

    fn command(&self) -> Command {
        if let Some(text) = &self.config {
            std::fs::write(self.path().join("config.toml"), text).unwrap();
        }
        let binary = self
            .binary
            .clone()
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gemhole")));
        let mut cmd = match &self.prelude {
            // `exec`: the server keeps the shell's PID (and `unshare` execs the shell).
            Some(prelude) => {
                let mut sh = if self.own_mounts {
                    let mut unshare = Command::new("unshare");
                    unshare.args(["-rm", "sh"]);
                    unshare
                } else {
                    Command::new("sh")
                };
                sh.arg("-c")
                    .arg(format!("{prelude} && exec \"$0\" \"$@\""))
                    .arg(&binary);
                sh
            }
            None => Command::new(binary),
        };
        cmd.current_dir(self.path())
            .arg("serve")
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let listen = if self.listen.is_empty() {
            vec!["127.0.0.1:0".to_owned()]
        } else {
            self.listen.clone()
        };
        for addr in listen {
            cmd.arg("--listen").arg(addr);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the server and waits until every listener has reported its address.
    pub fn start(self) -> TestServer {
        let expected = self.listen.len().max(1);
        let mut child = self.command().spawn().expect("cannot start gemhole");
        let logs = collect_stderr(&mut child);
        let deadline = Instant::now() + DEADLINE;
        let addrs = loop {
            let addrs: Vec<SocketAddr> = {
                let lines = logs.0.lock().unwrap();
                lines
                    .iter()
                    .filter_map(|l| l.split("listening on ").nth(1))
                    .filter_map(|a| a.trim().parse().ok())
                    .collect()
            };
            if addrs.len() >= expected {
                break addrs;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "gemhole exited ({status}) before listening:\n{}",
                    logs.0.lock().unwrap().join("\n")
                );
            }
            assert!(Instant::now() < deadline, "gemhole did not start in time");
            wait_for_log(&logs, Duration::from_millis(50));
        };
        TestServer {
            child,
            dir: self.dir,
            addrs,
            logs,
        }
    }

    /// Runs the server expecting it to fail at start-up; returns its exit status and stderr.
    /// A server that keeps running is killed (by PID) after the deadline and fails the test.
    pub fn fail(self) -> (ExitStatus, String) {
        let mut child = self.command().stderr(Stdio::piped()).spawn().unwrap();
        let logs = collect_stderr(&mut child);
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "gemhole kept running instead of refusing to start:\n{}",
                    logs.0.lock().unwrap().join("\n")
                );
            }
            wait_for_log(&logs, Duration::from_millis(50));
        };
        // The reader thread has the last lines once the pipe is closed.
        let deadline = Instant::now() + DEADLINE;
        while Arc::strong_count(&logs) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = logs.0.lock().unwrap().join("\n");
        (status, text)
    }
}

fn collect_stderr(child: &mut Child) -> Arc<(Mutex<Vec<String>>, Condvar)> {
    let logs = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            sink.0.lock().unwrap().push(line);
            sink.1.notify_all();
        }
    });
    logs
}

fn wait_for_log(logs: &(Mutex<Vec<String>>, Condvar), at_most: Duration) {
    let guard = logs.0.lock().unwrap();
    let _ = logs.1.wait_timeout(guard, at_most).unwrap();
}

impl TestServer {
    pub fn start() -> TestServer {
        Setup::new().start()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// The address of the Gopher listener (started with `--gopher-listen 127.0.0.1:0`).
    pub fn gopher_addr(&self) -> SocketAddr {
        let line = self.wait_log("the Gopher listener", |l| l.ends_with("(gopher)"));
        let addr = line.split("listening on ").nth(1).unwrap();
        addr.trim_end_matches("(gopher)").trim().parse().unwrap()
    }

    /// The address of the Gemini listener that expects a PROXY header (`--proxy-listen`).
    pub fn proxy_addr(&self) -> SocketAddr {
        self.listening_on(" (PROXY protocol)")
    }

    /// The address of the Gopher listener that expects a PROXY header.
    pub fn gopher_proxy_addr(&self) -> SocketAddr {
        self.listening_on(" (gopher, PROXY protocol)")
    }

    /// The address on the line `listening on ADDR<suffix>`.
    pub fn listening_on(&self, suffix: &str) -> SocketAddr {
        let line = self.wait_log(suffix, |l| l.ends_with(suffix));
        let addr = line.split("listening on ").nth(1).unwrap();
        addr.trim_end_matches(suffix).trim().parse().unwrap()
    }

    /// The address of the Gopher listener of `host` (when several hosts are served).
    pub fn gopher_addr_of(&self, host: &str) -> SocketAddr {
        let suffix = format!(" (gopher) for {host}");
        let line = self.wait_log("the Gopher listener", |l| l.ends_with(&suffix));
        let addr = line.split("listening on ").nth(1).unwrap();
        addr.trim_end_matches(&suffix).trim().parse().unwrap()
    }

    /// Sends raw bytes to the Gopher listener and reads the answer to the end.
    pub fn gopher(&self, request: &[u8]) -> Vec<u8> {
        gopher_at(self.gopher_addr(), request)
    }
}

/// Sends raw bytes to a Gopher listener and reads the answer to the end.
pub fn gopher_at(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.write_all(request).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        answer
    }
}

impl TestServer {
    pub fn capsule(&self) -> PathBuf {
        self.dir.path().join("capsule")
    }

    /// `gemini://localhost:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("gemini://localhost:{}{}", self.port(), path)
    }

    /// Sends `url` + CRLF with SNI `localhost`.
    pub fn get(&self, url: &str) -> Exchange {
        let mut line = url.as_bytes().to_vec();
        line.extend_from_slice(b"\r\n");
        self.raw(&line)
    }

    /// Sends raw bytes as the request, with SNI `localhost`.
    pub fn raw(&self, request: &[u8]) -> Exchange {
        fetch(self.addr(), Some("localhost"), request, Tls::Any).expect("exchange failed")
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.0.lock().unwrap().clone()
    }

    /// How many log lines so far contain `text` (to wait for the next one).
    pub fn count_logs(&self, text: &str) -> usize {
        self.logs
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Waits until a log line satisfies `pred` and returns it.
    pub fn wait_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line for {what}; log:\n{}",
                self.logs().join("\n")
            );
            wait_for_log(&self.logs, Duration::from_millis(100));
        }
    }

    /// Requests `path` until the answer satisfies `pred` (the site is reloaded a moment after
    /// its files change) and returns that answer.
    pub fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Exchange) -> bool) -> Exchange {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let answer = self.get(&self.url(path));
            if pred(&answer) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never showed {what}; last answer: {:?}; log:\n{}",
                answer.text(),
                self.logs().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Requests `path` until its body contains `text`.
    pub fn wait_text(&self, path: &str, text: &str) -> Exchange {
        self.wait_for(path, text, |a| a.body_text().contains(text))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal to the server process (by its PID).
    pub fn signal(&self, signal: i32) {
        let rc = send_signal(self.child.id(), signal);
        assert!(rc, "kill failed");
    }

    /// Waits for the process to exit, within the deadline.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "gemhole did not exit");
            wait_for_log(&self.logs, Duration::from_millis(50));
        }
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(mut self) -> ExitStatus {
        self.signal(rustix::process::Signal::TERM.as_raw());
        self.wait_exit()
    }
}

pub fn send_signal(pid: u32, signal: i32) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the client saw.
#[derive(Debug)]
pub struct Exchange {
    /// Every byte received, header included.
    pub raw: Vec<u8>,
    /// Whether the server ended with TLS close_notify (else the stream just ended).
    pub close_notify: bool,
    pub peer_cert: Vec<u8>,
    pub version: Option<rustls::ProtocolVersion>,
    /// The handshake resumed an earlier session.
    pub resumed: bool,
}

impl Exchange {
    /// The header line without CRLF; panics if there is none.
    pub fn header(&self) -> &str {
        let end = self
            .raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| panic!("no CRLF-terminated header in {:?}", self.text()));
        std::str::from_utf8(&self.raw[..end]).unwrap()
    }

    pub fn status(&self) -> &str {
        self.header().split(' ').next().unwrap()
    }

    pub fn meta(&self) -> &str {
        self.header().split_once(' ').map_or("", |(_, m)| m)
    }

    pub fn body(&self) -> &[u8] {
        &self.raw[self.header().len() + 2..]
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }

    /// Asserts the status and that the response was closed properly.
    pub fn expect(&self, status: &str) -> &Exchange {
        assert_eq!(self.status(), status, "response: {:?}", self.text());
        assert!(
            self.close_notify,
            "no close_notify after {:?}",
            self.header()
        );
        self
    }
}

/// Which TLS versions the client offers.
#[derive(Clone, Copy)]
pub enum Tls {
    Any,
    Only12,
}

/// One request over a new TLS connection. `sni = None` connects by IP, sending no SNI.
pub fn fetch(
    addr: SocketAddr,
    sni: Option<&str>,
    request: &[u8],
    tls: Tls,
) -> std::io::Result<Exchange> {
    let mut conn = connect(addr, sni, tls)?;
    conn.write_all(request)?;
    conn.flush()?;
    finish(conn)
}

pub type Conn = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Opens a TCP connection and completes the TLS handshake.
pub fn connect(addr: SocketAddr, sni: Option<&str>, tls: Tls) -> std::io::Result<Conn> {
    connect_with(addr, sni, client_config(tls))
}

/// A client configuration as a reader's client has: any certificate, verified signatures.
pub fn client_config(tls: Tls) -> Arc<rustls::ClientConfig> {
    let versions: &[&rustls::SupportedProtocolVersion] = match tls {
        Tls::Any => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Tls::Only12 => &[&rustls::version::TLS12],
    };
    Arc::new(gemload::client::config(versions))
}

/// As [`connect`], with a given client configuration (and so its session cache).
pub fn connect_with(
    addr: SocketAddr,
    sni: Option<&str>,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<Conn> {
    let name = match sni {
        Some(name) => ServerName::try_from(name.to_owned()).unwrap(),
        None => ServerName::IpAddress(addr.ip().into()),
    };
    tls_over(TcpStream::connect(addr)?, name, config)
}

/// As [`connect`], from the loopback address `127.0.0.<host>` (Linux routes all of 127/8 to
/// `lo`), so a test can be another client address than its neighbours.
pub fn connect_from(host: u8, addr: SocketAddr, sni: Option<&str>) -> std::io::Result<Conn> {
    let name = ServerName::try_from(sni.unwrap_or("localhost").to_owned()).unwrap();
    tls_over(tcp_from(host, addr)?, name, client_config(Tls::Any))
}

/// A plain TCP connection from the loopback address `127.0.0.<host>`.
pub fn tcp_from(host: u8, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, host], 0)).into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// Raises this process's soft open-file limit to its hard limit, for tests that hold many
/// sockets while others run in parallel.
pub fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
}

/// Completes a TLS handshake over a connected socket.
pub fn tls_over(
    tcp: TcpStream,
    name: ServerName<'static>,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<Conn> {
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    tcp.set_read_timeout(Some(DEADLINE))?;
    tcp.set_write_timeout(Some(DEADLINE))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// The size of a file the sample capsule gets from [`big_file`]: far more than the socket
/// buffers of both ends hold, so a client that does not read stalls the server's writes.
pub const BIG_FILE_BYTES: usize = 16 << 20;

/// Adds `big.bin` ([`BIG_FILE_BYTES`]) to a capsule.
pub fn big_file(root: &Path) {
    write(root, "big.bin", vec![b'x'; BIG_FILE_BYTES]);
}

/// A client that asks for `request` and then never reads: a small receive buffer, the
/// handshake done, the request sent.
pub fn non_reader(addr: SocketAddr, request: &[u8]) -> std::io::Result<Conn> {
    non_reader_from(None, addr, request)
}

/// As [`non_reader`], from the loopback address `127.0.0.<host>` when one is given.
pub fn non_reader_from(
    host: Option<u8>,
    addr: SocketAddr,
    request: &[u8],
) -> std::io::Result<Conn> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_recv_buffer_size(4096)?;
    if let Some(host) = host {
        socket.bind(&SocketAddr::from(([127, 0, 0, host], 0)).into())?;
    }
    socket.connect(&addr.into())?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = tls_over(socket.into(), name, client_config(Tls::Any))?;
    conn.write_all(request)?;
    conn.flush()?;
    Ok(conn)
}

/// Reads the rest of the response to EOF and records how the stream ended.
pub fn finish(mut conn: Conn) -> std::io::Result<Exchange> {
    let mut raw = Vec::new();
    let close_notify = match conn.read_to_end(&mut raw) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => return Err(e),
    };
    let peer_cert = conn
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    Ok(Exchange {
        raw,
        close_notify,
        peer_cert,
        version: conn.conn.protocol_version(),
        resumed: conn.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
    })
}

/// The path of a benchmark tool (`gemload` or `limit-server`): a binary of the workspace's
/// `gemload` package, which is built first, in the profile of the running test or benchmark,
/// so it is never missing or stale. Cargo only hands a package its own binaries' paths.
pub fn tool(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    // target/<profile>/deps/<this test or bench>
    let exe = std::env::current_exe().expect("the running executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in target/<profile>/deps/")
        .to_owned();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let built = BUILT.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--package", "gemload", "--bins"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cargo.arg("--release");
        }
        match cargo.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("`cargo build --package gemload` failed ({status})")),
            Err(e) => Err(format!("cannot run cargo: {e}")),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    profile_dir.join(name)
}

/// A number from the flat JSON object `gemload --json` prints.
pub fn json_number(json: &str, name: &str) -> Option<f64> {
    let start = json.find(&format!("\"{name}\":"))? + name.len() + 3;
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Runs `gemhole` with arguments in `dir` and returns (status, stdout, stderr).
pub fn run_cli(dir: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gemhole"))
        .current_dir(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `gemhole build` in `dir` on its `capsule/` folder, with built-in defaults.
pub fn build_copy(dir: &Path, out: &str) -> (ExitStatus, String, String) {
    build_copy_with(dir, out, &[])
}

/// [`build_copy`] with more flags (`--html`).
pub fn build_copy_with(dir: &Path, out: &str, flags: &[&str]) -> (ExitStatus, String, String) {
    let mut args = vec![
        "build",
        "--config",
        "/dev/null",
        "--capsule",
        "capsule",
        "--out",
        out,
    ];
    args.extend_from_slice(flags);
    run_cli(dir, &args)
}

/// The middle value of some measurements (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// SHA-256 of some bytes as `AB:CD:…`, the form `gemhole cert` prints.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A figure of the server's `/proc/<pid>/status`, in KiB (`VmRSS`, `VmHWM`).
pub fn memory_kib(server: &TestServer, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

/// `count` Gopher clients that ask for `selector` and never read (small receive buffers),
/// returned once every answer has begun (each has bytes waiting).
pub fn gopher_non_readers(addr: SocketAddr, selector: &str, count: usize) -> Vec<TcpStream> {
    let mut readers = Vec::new();
    for _ in 0..count {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&addr.into()).unwrap();
        let mut stream: TcpStream = socket.into();
        stream
            .write_all(format!("{selector}\r\n").as_bytes())
            .unwrap();
        readers.push(stream);
    }
    let deadline = Instant::now() + DEADLINE;
    for reader in &readers {
        reader.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        while !matches!(reader.peek(&mut byte), Ok(n) if n > 0) {
            assert!(Instant::now() < deadline, "an answer never began");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    readers
}
