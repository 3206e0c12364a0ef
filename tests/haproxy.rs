//! Two gemhole nodes behind a real HAProxy (Debian's `haproxy`), with the shipped
//! `contrib/haproxy/haproxy.cfg` (its ports and socket path substituted): an upload from an
//! author's client through the balancer is served by both nodes (their shared capsule folder
//! keeps the version it replaced once), requests from a client on 127.0.0.2 reach both nodes
//! over Gemini and Gopher, both logs name the client, a session resumes on the other node, a
//! direct connection without a header gets no byte, and one node drained and restarted under
//! steady load costs no request.
//!
//! Needs `haproxy` on the PATH: `.ci/run` installs it and runs this with
//! `cargo test --test haproxy -- --ignored`.

#[path = "common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::balancer::{Cluster, admin, server_stat, wait_until};
use common::identity::ClientCert;
use common::{DEADLINE, Tls, client_config, finish, tcp_from, tls_over};
use rustls::pki_types::ServerName;

/// One request (`request`: its line and any body) through the balancer from 127.0.0.2, with
/// `config` (its session store, its certificate).
fn send_through(
    frontend: u16,
    config: &Arc<rustls::ClientConfig>,
    request: &[u8],
) -> std::io::Result<(common::Exchange, Option<rustls::HandshakeKind>)> {
    let addr: SocketAddr = ([127, 0, 0, 1], frontend).into();
    let tcp = tcp_from(2, addr)?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = tls_over(tcp, name, config.clone())?;
    let kind = conn.conn.handshake_kind();
    conn.write_all(request)?;
    conn.flush()?;
    Ok((finish(conn)?, kind))
}

/// A request for the home page through the balancer.
fn through(
    frontend: u16,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<(common::Exchange, Option<rustls::HandshakeKind>)> {
    send_through(
        frontend,
        config,
        format!("gemini://localhost:{frontend}/\r\n").as_bytes(),
    )
}

/// An access line of the home page answered `20`.
const HOME_SERVED: &str = "path=\"/\" status=20";

/// The nodes share one capsule folder: an upload through the balancer lands on one node,
/// which writes it and keeps what it replaces in the folder's `.history/` (once), and both
/// nodes serve it.
fn an_upload_through_the_balancer_is_served_by_both_nodes(cluster: &Cluster, author: &ClientCert) {
    let front = cluster.gemini_front;
    // A new post, then the same one changed (by its page's URL).
    for (path, text) in [
        ("/posts/through.md", "Sent through the balancer."),
        ("/posts/through.gmi", "Sent again, changed."),
    ] {
        let body = format!("---\ntitle: Through\ndate: 2024-05-01\n---\n{text}\n");
        let line = format!(
            "titan://localhost:{front}{path};mime=text/plain;size={}\r\n{body}",
            body.len()
        );
        let (answer, _) = send_through(front, &author.client(), line.as_bytes()).unwrap();
        answer.expect("30");
    }
    // Read through the balancer until each node has served the changed page.
    let reader = client_config(Tls::Any);
    let read = format!("gemini://localhost:{front}/posts/through.gmi\r\n");
    wait_until("both nodes to serve the upload", || {
        let _ = send_through(front, &reader, read.as_bytes());
        cluster.nodes.iter().all(|n| {
            n.log().lines().any(|l| {
                l.contains("gemhole::access")
                    && l.contains("path=\"/posts/through.gmi\"")
                    && l.contains("status=20")
                    && l.contains("bytes=")
                    && !l.contains("bytes=0")
            })
        }) && cluster
            .nodes
            .iter()
            .all(|n| n.log().contains("site reloaded"))
    });
    // Each node now answers the second text.
    for node in &cluster.nodes {
        let served = common::fetch(
            node.plain(),
            Some("localhost"),
            format!("gemini://localhost:{front}/posts/through.gmi\r\n").as_bytes(),
            Tls::Any,
        )
        .unwrap();
        assert!(
            served.body_text().contains("Sent again, changed."),
            "{}",
            served.text()
        );
    }
    // The version it replaced, kept once, in the shared folder.
    let history = cluster
        .work
        .path()
        .join("capsule/.history/posts/through.md");
    let kept: Vec<_> = std::fs::read_dir(&history).unwrap().collect();
    assert_eq!(kept.len(), 1);
    let published: usize = cluster
        .nodes
        .iter()
        .map(|n| n.log().matches("published from a Gemini client").count())
        .sum();
    assert_eq!(published, 2);
}

#[test]
#[ignore = "needs HAProxy (Debian's haproxy); .ci/run installs it and runs this"]
fn two_nodes_behind_haproxy_serve_resume_and_restart_without_a_failed_request() {
    let author = ClientCert::new();
    let cluster = Cluster::start_with(&author.titan_table());
    an_upload_through_the_balancer_is_served_by_both_nodes(&cluster, &author);
    let (gemini_front, gopher_front) = (cluster.gemini_front, cluster.gopher_front);
    let socket = cluster.socket.clone();
    let mut nodes = cluster.nodes;
    // Requests through the balancer reach both nodes, whose logs name the client; a session
    // begun on one node resumes on the other (round robin: consecutive connections alternate).
    let client = client_config(Tls::Any);
    let (first, kind) = through(gemini_front, &client).unwrap();
    first.expect("20");
    assert!(first.body_text().contains("Welcome."));
    assert_eq!(kind, Some(rustls::HandshakeKind::Full));
    let before: Vec<usize> = nodes.iter().map(|n| n.served(HOME_SERVED)).collect();
    let (second, kind) = through(gemini_front, &client).unwrap();
    second.expect("20");
    assert_eq!(kind, Some(rustls::HandshakeKind::Resumed));
    wait_until("both nodes' access lines", || {
        nodes.iter().all(|n| n.served(HOME_SERVED) >= 1)
    });
    let after: Vec<usize> = nodes.iter().map(|n| n.served(HOME_SERVED)).collect();
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
    let served_before = nodes[0].served(HOME_SERVED);
    wait_until("node1 serving again", || {
        nodes[0].served(HOME_SERVED) > served_before
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
