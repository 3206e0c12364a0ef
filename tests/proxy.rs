//! Listeners behind a balancer: the PROXY protocol header names the client (access log,
//! per-address limits), only trusted balancers are let in, and a connection without a valid
//! header gets no byte.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use rustls::pki_types::ServerName;

use crate::common::{DEADLINE, Exchange, Setup, TestServer, Tls, client_config, finish, tls_over};

/// A v2 header (HAProxy's `send-proxy-v2`) for a TCP client at `source`.
fn v2(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    use ppp::v2::{Builder, Command, Protocol, Version};
    Builder::with_addresses(
        Version::Two | Command::Proxy,
        Protocol::Stream,
        (source, destination),
    )
    .build()
    .unwrap()
}

/// v2 `LOCAL`: the balancer's own connection (its health check).
const LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";

fn behind_balancer(config: &str) -> TestServer {
    Setup::new()
        .config(config)
        .arg("--proxy-listen")
        .arg("127.0.0.1:0")
        .arg("--gopher-proxy-listen")
        .arg("127.0.0.1:0")
        .arg("--log-ip")
        .env("RUST_LOG", "debug,rustls=info")
        .start()
}

/// Sends `header` on a new connection to `addr`, then a Gemini request over TLS.
fn gemini_through(addr: SocketAddr, header: &[u8], url: &str) -> std::io::Result<Exchange> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.write_all(header)?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = tls_over(tcp, name, client_config(Tls::Any))?;
    conn.write_all(format!("{url}\r\n").as_bytes())?;
    conn.flush()?;
    finish(conn)
}

/// Sends raw bytes on a new connection and reads until the server closes it.
fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    tcp.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    answer
}

#[test]
fn the_header_names_the_client_on_gemini_and_gopher() {
    let server = behind_balancer("");
    let proxy = server.proxy_addr();
    let client: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let answer = gemini_through(proxy, &v2(client, proxy), "gemini://localhost/").unwrap();
    answer.expect("20");
    assert!(answer.body_text().contains("Welcome."), "{}", answer.text());
    server.wait_log("the access line", |l| {
        l.contains("gemhole::access")
            && l.contains("peer=192.0.2.7:40000")
            && l.contains("via=127.0.0.1:")
            && l.contains("status=20")
    });
    // IPv6 clients, and v1 headers.
    let client6: SocketAddr = "[2001:db8::7]:40001".parse().unwrap();
    let to6: SocketAddr = "[2001:db8::1]:1965".parse().unwrap();
    gemini_through(proxy, &v2(client6, to6), "gemini://localhost/")
        .unwrap()
        .expect("20");
    server.wait_log("the IPv6 client", |l| {
        l.contains("peer=[2001:db8::7]:40001")
    });
    let v1 = b"PROXY TCP4 198.51.100.9 127.0.0.1 40002 1965\r\n";
    gemini_through(proxy, v1, "gemini://localhost/")
        .unwrap()
        .expect("20");
    server.wait_log("the v1 client", |l| l.contains("peer=198.51.100.9:40002"));
    // Gopher: header, then the selector, in one write.
    let gopher = server.gopher_proxy_addr();
    let mut request = b"PROXY TCP4 198.51.100.10 127.0.0.1 40003 70\r\n".to_vec();
    request.extend(b"/\r\n");
    let menu = String::from_utf8(raw(gopher, &request)).unwrap();
    assert!(menu.contains("Welcome."), "{menu}");
    server.wait_log("the Gopher client", |l| {
        l.contains("peer=198.51.100.10:40003") && l.contains("host=\"gopher\"")
    });
}

#[test]
fn without_a_valid_header_a_connection_gets_no_byte() {
    let server = behind_balancer("[limits]\nproxy_header_timeout = 1\n");
    let proxy = server.proxy_addr();
    // A client that reached the port directly: a TLS ClientHello, a Gemini request, a
    // selector; a broken header; a header cut short.
    for bytes in [
        crate::common::abuse::client_hello(),
        server.url("/").into_bytes(),
        b"PROXY TCP4 192.0.2.7 127.0.0.1 040000 1965\r\n".to_vec(),
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00".to_vec(),
    ] {
        assert_eq!(raw(proxy, &bytes), b"", "{bytes:?}");
    }
    assert_eq!(raw(server.gopher_proxy_addr(), b"/\r\n"), b"");
    server.wait_log("the refusal", |l| l.contains("no PROXY header"));
    server.wait_log("the broken header", |l| {
        l.contains("malformed PROXY header")
    });
    // Silence until the timeout.
    let mut silent = TcpStream::connect(proxy).unwrap();
    silent.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut got = Vec::new();
    let _ = silent.read_to_end(&mut got);
    assert!(got.is_empty());
    server.wait_log("the timeout", |l| l.contains("no PROXY header within"));
    // The plain listener is unchanged.
    server.get("gemini://localhost/").expect("20");
}

#[test]
fn only_trusted_balancers_are_let_in() {
    let server = behind_balancer("proxy_trusted = [\"10.0.0.0/8\", \"127.0.0.2\"]\n");
    let proxy = server.proxy_addr();
    let client: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    assert_eq!(raw(proxy, &v2(client, proxy)), b"");
    server.wait_log("the refusal", |l| l.contains("not a trusted balancer"));
    // From a trusted address (127.0.0.2 is loopback too).
    let tcp = crate::common::tcp_from(2, proxy).unwrap();
    let mut tcp = tcp;
    tcp.write_all(&v2(client, proxy)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = tls_over(tcp, name, client_config(Tls::Any)).unwrap();
    conn.write_all(b"gemini://localhost/\r\n").unwrap();
    finish(conn).unwrap().expect("20");
}

#[test]
fn a_health_check_is_served_as_the_balancers_own_with_a_small_allowance() {
    let server = behind_balancer("");
    let proxy = server.proxy_addr();
    // A check that only connects and closes is not news.
    drop(TcpStream::connect(proxy).unwrap().write_all(LOCAL));
    let quiet = server.wait_log("the bare check", |l| {
        l.contains("gemhole::access") && l.contains("closed before the handshake")
    });
    assert!(quiet.contains("DEBUG"), "{quiet}");
    // One that asks for a page is served, and logged as a request.
    gemini_through(proxy, LOCAL, "gemini://localhost/")
        .unwrap()
        .expect("20");
    // A few at once under the balancer's address, no more: a trusted address cannot open
    // connections without end by calling them health checks. Of ten held open, six are
    // closed at once, without a byte.
    let held: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut tcp = TcpStream::connect(proxy).unwrap();
            tcp.write_all(LOCAL).unwrap();
            tcp
        })
        .collect();
    let refused = "too many health-check (LOCAL) connections from one balancer";
    server.wait_log("six checks refused", |_| server.count_logs(refused) >= 6);
    assert_eq!(server.count_logs(refused), 6);
    drop(held);
    // Readers through the balancer are not held back by its checks.
    gemini_through(
        proxy,
        &v2(
            "192.0.2.9:4000".parse().unwrap(),
            "127.0.0.1:1965".parse().unwrap(),
        ),
        "gemini://localhost/",
    )
    .unwrap()
    .expect("20");
    // A client whose address is not an IP address (v1 UNKNOWN): served as the balancer's, and
    // logged like any client (only LOCAL is a health check).
    gemini_through(proxy, b"PROXY UNKNOWN\r\n", "gemini://localhost/")
        .unwrap()
        .expect("20");
    server.wait_log("the unknown client", |l| {
        l.contains("INFO") && l.contains("gemhole::access") && l.contains("via=127.0.0.1:")
    });
    let line = server.wait_log("the health check", |l| {
        l.contains("gemhole::access") && l.contains("status=20") && l.contains("peer=127.0.0.1:")
    });
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("via=127.0.0.1:"), "{line}");
}

#[test]
fn limits_are_the_clients_not_the_balancers() {
    let server = behind_balancer("public_port = 1965\n[limits]\nmax_connections_per_ip = 1\n");
    let proxy = server.proxy_addr();
    // A holds its one place: its handshake is done, its request not sent. It comes through a
    // dual-stack balancer, which writes IPv4 clients as IPv4-mapped IPv6 addresses.
    let a: SocketAddr = "[::ffff:192.0.2.7]:40000".parse().unwrap();
    let to: SocketAddr = "[::ffff:127.0.0.1]:1965".parse().unwrap();
    let mut tcp = TcpStream::connect(proxy).unwrap();
    tcp.write_all(&v2(a, to)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let waiting = tls_over(tcp, name, client_config(Tls::Any)).unwrap();
    // Another client through the same balancer is served, with the public port in its URL.
    let b: SocketAddr = "192.0.2.8:40000".parse().unwrap();
    gemini_through(proxy, &v2(b, proxy), "gemini://localhost:1965/")
        .unwrap()
        .expect("20");
    // Another IPv4-mapped client is its own client too (not one /64 with A).
    let mapped: SocketAddr = "[::ffff:192.0.2.9]:40000".parse().unwrap();
    gemini_through(proxy, &v2(mapped, to), "gemini://localhost/")
        .unwrap()
        .expect("20");
    server.wait_log("the mapped client as IPv4", |l| {
        l.contains("peer=192.0.2.9:40000")
    });
    // A second connection of A's is closed at once, without a byte.
    let mut a2 = v2("192.0.2.7:40001".parse().unwrap(), proxy);
    a2.extend(crate::common::abuse::client_hello());
    assert_eq!(raw(proxy, &a2), b"");
    server.wait_log("A's refusal", |l| {
        l.contains("too many connections from one address") && l.contains("peer=192.0.2.7:40001")
    });
    drop(waiting);
}

/// Two nodes with one certificate: a reader's ticket from one resumes on the other when both
/// read one ticket key file, and not when their files differ. A key file others may read is
/// refused.
#[test]
fn a_ticket_from_one_node_resumes_on_another_with_the_same_key_file() {
    use base64::Engine;
    use std::os::unix::fs::PermissionsExt;
    let key = |seed: u8| {
        let bytes: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(seed)).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes) + "\n"
    };
    let node = |keys: &str, certs_from: Option<&std::path::Path>| {
        let setup = Setup::new().config("ticket_keys = \"ticket.keys\"\n");
        let file = setup.path().join("ticket.keys");
        std::fs::write(&file, keys).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some(from) = certs_from {
            let to = setup.path().join("certs/localhost");
            std::fs::create_dir_all(&to).unwrap();
            for name in ["cert.pem", "key.pem"] {
                std::fs::copy(from.join("certs/localhost").join(name), to.join(name)).unwrap();
            }
        }
        setup.start()
    };
    let shared = key(3) + &key(5);
    let a = node(&shared, None);
    let b = node(&shared, Some(a.dir.path()));
    let c = node(&(key(7) + &key(11)), Some(a.dir.path()));
    let kind = |server: &TestServer, config: &std::sync::Arc<rustls::ClientConfig>| {
        let mut conn =
            crate::common::connect_with(server.addr(), Some("localhost"), config.clone()).unwrap();
        let kind = conn.conn.handshake_kind();
        conn.write_all(b"gemini://localhost/\r\n").unwrap();
        finish(conn).unwrap().expect("20");
        kind
    };
    use rustls::HandshakeKind::{Full, Resumed};
    for tls in [Tls::Any, Tls::Only12] {
        let config = client_config(tls);
        assert_eq!(kind(&a, &config), Some(Full));
        assert_eq!(kind(&b, &config), Some(Resumed));
        assert_eq!(kind(&a, &config), Some(Resumed));
        assert_eq!(kind(&c, &config), Some(Full));
    }
    // New keys, written in place, are read on the reload the change starts: old tickets no
    // longer open.
    let config = client_config(Tls::Any);
    assert_eq!(kind(&a, &config), Some(Full));
    assert_eq!(kind(&a, &config), Some(Resumed));
    let before = a.count_logs("configuration reloaded");
    let file = a.dir.path().join("ticket.keys");
    std::fs::write(file.with_extension("new"), key(13) + &key(17)).unwrap();
    std::fs::set_permissions(
        file.with_extension("new"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::rename(file.with_extension("new"), &file).unwrap();
    a.wait_log("the reload", |_| {
        a.count_logs("configuration reloaded") > before
    });
    assert_eq!(kind(&a, &config), Some(Full));
    // Mode 0644: refused, naming the file and the fix.
    let setup = Setup::new().config("ticket_keys = \"ticket.keys\"\n");
    let file = setup.path().join("ticket.keys");
    std::fs::write(&file, key(3)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, stderr) = setup.fail();
    assert!(!status.success());
    assert!(
        stderr.contains("chmod 600") && stderr.contains("ticket.keys"),
        "{stderr}"
    );
}
