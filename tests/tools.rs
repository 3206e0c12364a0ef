//! The benchmark tools as the benchmarks find them (built from the workspace's `gemload`
//! package by `common::tool`): `gemload` against a running gemhole, over both protocols, and against
//! `limit-server`, whose answers are checked like any server's.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use crate::common::{Setup, Tls, fetch};

/// Runs gemload with `args` and returns its JSON line.
fn gemload(args: &[&str]) -> String {
    let output = Command::new(crate::common::tool("gemload"))
        .args(args)
        .arg("--json")
        .output()
        .expect("cannot run gemload");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A JSON number field of gemload's output.
fn field(json: &str, name: &str) -> f64 {
    crate::common::json_number(json, name).unwrap_or_else(|| panic!("no {name} in {json}"))
}

#[test]
fn gemload_counts_answers_from_gemhole_over_both_protocols() {
    let server = Setup::new()
        .arg("--gopher-listen")
        .arg("127.0.0.1:0")
        .start();
    let addr = server.addr().to_string();
    let url = server.url("/about.gmi");
    let json = gemload(&["gemini", &url, "--connect", &addr, "-n", "20", "-c", "3"]);
    assert_eq!(
        (field(&json, "ok"), field(&json, "failed")),
        (20.0, 0.0),
        "{json}"
    );
    assert!(field(&json, "p99_ms") >= field(&json, "p50_ms"), "{json}");
    // With session resumption too.
    let json = gemload(&[
        "gemini",
        &url,
        "--connect",
        &addr,
        "-n",
        "10",
        "-c",
        "2",
        "--resume",
    ]);
    assert_eq!(field(&json, "ok"), 10.0, "{json}");
    // A page that does not exist is a failure, not a success.
    let missing = server.url("/missing.gmi");
    let json = gemload(&["gemini", &missing, "--connect", &addr, "-n", "5", "-c", "1"]);
    assert_eq!(
        (field(&json, "ok"), field(&json, "failed")),
        (0.0, 5.0),
        "{json}"
    );
    let gopher = server.gopher_addr().to_string();
    let json = gemload(&[
        "gopher",
        "/about.txt",
        "--connect",
        &gopher,
        "-n",
        "15",
        "-c",
        "3",
    ]);
    assert_eq!(
        (field(&json, "ok"), field(&json, "failed")),
        (15.0, 0.0),
        "{json}"
    );
    let json = gemload(&[
        "gopher",
        "/missing",
        "--connect",
        &gopher,
        "-n",
        "4",
        "-c",
        "2",
    ]);
    assert_eq!(field(&json, "failed"), 4.0, "{json}");
}

/// A limit-server child, killed (by PID) when dropped.
struct Limit(Child, SocketAddr);

impl Limit {
    fn start(args: &[&str]) -> Limit {
        let mut child = Command::new(crate::common::tool("limit-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start limit-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Limit(child, addr)
    }
}

impl Drop for Limit {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn limit_server_answers_like_a_gemini_server() {
    let limit = Limit::start(&["--body-bytes", "5120"]);
    let answer = fetch(
        limit.1,
        Some("localhost"),
        b"gemini://localhost/\r\n",
        Tls::Any,
    )
    .unwrap();
    assert_eq!(answer.expect("20").body().len(), 5120);
    let json = gemload(&[
        "gemini",
        "gemini://localhost/",
        "--connect",
        &limit.1.to_string(),
        "-n",
        "20",
    ]);
    assert_eq!(field(&json, "ok"), 20.0, "{json}");
    // An answer other than the expected status counts as failed.
    let json = gemload(&[
        "gemini",
        "gemini://localhost/",
        "--connect",
        &limit.1.to_string(),
        "-n",
        "5",
        "--expect",
        "51",
    ]);
    assert_eq!(
        (field(&json, "ok"), field(&json, "failed")),
        (0.0, 5.0),
        "{json}"
    );

    let gopher = Limit::start(&["--gopher", "--body-bytes", "100"]);
    let json = gemload(&[
        "gopher",
        "/",
        "--connect",
        &gopher.1.to_string(),
        "-n",
        "10",
    ]);
    assert_eq!(
        (field(&json, "ok"), field(&json, "bytes")),
        (10.0, 1000.0),
        "{json}"
    );
}
