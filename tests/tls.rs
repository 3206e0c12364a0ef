//! Certificates, SNI and TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;

use crate::common::{DEADLINE, Setup, TestServer, Tls, fetch, run_cli, sha256_hex};

fn stored_cert_der(dir: &std::path::Path, host: &str) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(dir.join("certs").join(host).join("cert.pem")).unwrap();
    CertificateDer::from_pem_slice(&pem).unwrap().to_vec()
}

#[test]
fn tls13_is_negotiated_and_tls12_is_accepted() {
    // TLSVersion.
    let server = TestServer::start();
    let request = format!("{}\r\n", server.url("/"));
    let r = fetch(
        server.addr(),
        Some("localhost"),
        request.as_bytes(),
        Tls::Any,
    )
    .unwrap();
    r.expect("20");
    assert_eq!(r.version, Some(rustls::ProtocolVersion::TLSv1_3));
    let r = fetch(
        server.addr(),
        Some("localhost"),
        request.as_bytes(),
        Tls::Only12,
    )
    .unwrap();
    r.expect("20");
    assert_eq!(r.version, Some(rustls::ProtocolVersion::TLSv1_2));
}

#[test]
fn generated_certificate_claims_the_hostname_and_loopback() {
    // TLSClaims: valid now, SAN covers the host name (and 127.0.0.1/::1 for localhost).
    let server = TestServer::start();
    let r = server.get(&server.url("/"));
    let (_, cert) = x509_parser::parse_x509_certificate(&r.peer_cert).unwrap();
    assert!(cert.validity().is_valid());
    let years = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
        / (365 * 24 * 3600);
    assert!(years >= 30, "valid for {years} years only");
    let san = cert.subject_alternative_name().unwrap().unwrap();
    use x509_parser::extensions::GeneralName;
    let names = &san.value.general_names;
    assert!(
        names.contains(&GeneralName::DNSName("localhost")),
        "{names:?}"
    );
    assert!(
        names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])),
        "{names:?}"
    );
    let v6_loopback = std::net::Ipv6Addr::LOCALHOST.octets();
    assert!(
        names.contains(&GeneralName::IPAddress(&v6_loopback)),
        "{names:?}"
    );
    // ECDSA P-256 (id-ecPublicKey + prime256v1).
    let spki = cert.public_key();
    assert_eq!(spki.algorithm.algorithm.to_id_string(), "1.2.840.10045.2.1");
    assert_eq!(r.peer_cert, stored_cert_der(server.dir.path(), "localhost"));
}

#[test]
fn no_sni_completes_the_handshake_with_the_default_certificate() {
    // A client connecting by IP sends no SNI; an IP host equal to ours is served.
    let server = Setup::new()
        .arg("--hostname")
        .arg("localhost")
        .arg("--hostname")
        .arg("example.org")
        .start();
    let request = format!("gemini://127.0.0.1:{}/about.gmi\r\n", server.port());
    let r = fetch(server.addr(), None, request.as_bytes(), Tls::Any).unwrap();
    r.expect("20");
    assert_eq!(r.body(), b"# About\n");
    assert_eq!(r.peer_cert, stored_cert_der(server.dir.path(), "localhost"));
}

#[test]
fn unknown_sni_gets_the_default_certificate_and_53() {
    let server = TestServer::start();
    let request = format!("gemini://unknown.example:{}/\r\n", server.port());
    let r = fetch(
        server.addr(),
        Some("unknown.example"),
        request.as_bytes(),
        Tls::Any,
    )
    .unwrap();
    r.expect("53");
    assert_eq!(r.peer_cert, stored_cert_der(server.dir.path(), "localhost"));
}

#[test]
fn a_hosts_names_share_one_certificate_and_earlier_pairs_stay() {
    let server = Setup::new()
        .config("hostnames = [\"localhost\", \"example.org\"]\n")
        .start();
    let get = |server: &TestServer| {
        let request = format!("gemini://example.org:{}/about.gmi\r\n", server.port());
        fetch(
            server.addr(),
            Some("example.org"),
            request.as_bytes(),
            Tls::Any,
        )
        .unwrap()
    };
    let r = get(&server);
    r.expect("20");
    // One pair, made for every name of the host.
    assert_eq!(r.peer_cert, stored_cert_der(server.dir.path(), "localhost"));
    assert!(!server.dir.path().join("certs/example.org").exists());
    let (_, cert) = x509_parser::parse_x509_certificate(&r.peer_cert).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    use x509_parser::extensions::GeneralName;
    assert!(
        san.value
            .general_names
            .contains(&GeneralName::DNSName("example.org")),
        "{san:?}"
    );

    // A pair made earlier for the name alone (as versions before did) is what readers
    // pinned: it stays that name's.
    let earlier = Setup::new().config("hostnames = [\"localhost\", \"example.org\"]\n");
    let (status, _, err) = run_cli(
        earlier.path(),
        &[
            "cert",
            "--config",
            "/dev/null",
            "--certs",
            "certs",
            "--hostname",
            "example.org",
        ],
    );
    assert!(status.success(), "{err}");
    let server = earlier.start();
    let r = get(&server);
    r.expect("20");
    let theirs = stored_cert_der(server.dir.path(), "example.org");
    assert_eq!(r.peer_cert, theirs);
    assert_ne!(theirs, stored_cert_der(server.dir.path(), "localhost"));
}

#[test]
fn plaintext_on_the_tls_port_gets_no_bytes() {
    // TLSRequired: close without writing anything, not even a TLS alert.
    let server = TestServer::start();
    let mut tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    tcp.write_all(format!("{}\r\n", server.url("/")).as_bytes())
        .unwrap();
    let mut got = Vec::new();
    match tcp.read_to_end(&mut got) {
        Ok(_) => assert!(got.is_empty(), "server sent {got:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    server.wait_log("the refusal", |l| l.contains("not TLS"));
}

#[test]
fn certificate_is_generated_once_and_reused_unchanged() {
    let first = TestServer::start();
    let dir = first.dir.clone();
    let cert_file = dir.path().join("certs/localhost/cert.pem");
    let key_file = dir.path().join("certs/localhost/key.pem");
    let served_first = first.get(&first.url("/")).peer_cert;
    let cert_before = std::fs::read(&cert_file).unwrap();
    let key_before = std::fs::read(&key_file).unwrap();
    let mtime_before = std::fs::metadata(&key_file).unwrap().modified().unwrap();
    assert!(first.stop().success());

    let second = Setup::in_dir(dir.clone()).start();
    assert_eq!(second.get(&second.url("/")).peer_cert, served_first);
    assert_eq!(std::fs::read(&cert_file).unwrap(), cert_before);
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().modified().unwrap(),
        mtime_before
    );
    second.wait_log("the reuse", |l| l.contains("certificate existing"));
}

#[test]
fn private_key_is_written_0600() {
    let server = TestServer::start();
    let mode = std::fs::metadata(server.dir.path().join("certs/localhost/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn operator_supplied_certificate_is_used() {
    // Make a pair with `gemhole cert` in another folder, then point [tls] at it.
    let setup = Setup::new();
    let elsewhere = setup.path().join("elsewhere");
    let (status, _, err) = run_cli(
        setup.path(),
        &["cert", "--certs", elsewhere.to_str().unwrap()],
    );
    assert!(status.success(), "{err}");
    let config = format!(
        "[tls.localhost]\ncert = \"{0}/localhost/cert.pem\"\nkey = \"{0}/localhost/key.pem\"\n",
        elsewhere.display()
    );
    let server = setup.config(&config).start();
    let r = server.get(&server.url("/"));
    r.expect("20");
    let pem = std::fs::read(elsewhere.join("localhost/cert.pem")).unwrap();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    assert_eq!(r.peer_cert, der.to_vec());
    assert!(!server.dir.path().join("certs/localhost").exists());
}

#[test]
fn a_world_readable_key_is_refused_with_the_fix() {
    let first = TestServer::start();
    let dir = first.dir.clone();
    drop(first);
    let key = dir.path().join("certs/localhost/key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, stderr) = Setup::in_dir(dir.clone()).fail();
    assert!(!status.success());
    assert!(stderr.contains("certs/localhost/key.pem"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    // Fixed as told, it starts again with the same certificate.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = Setup::in_dir(dir).start();
    server.get(&server.url("/")).expect("20");
}

#[test]
fn invalid_certificate_stops_start_up_naming_the_file() {
    let setup = Setup::new();
    crate::common::write(
        &setup.path().join("certs/localhost"),
        "cert.pem",
        "not a cert",
    );
    crate::common::write(
        &setup.path().join("certs/localhost"),
        "key.pem",
        "not a key",
    );
    let (status, stderr) = setup.fail();
    assert!(!status.success());
    assert!(stderr.contains("certs/localhost/cert.pem"), "{stderr}");
    assert!(stderr.contains("no CERTIFICATE"), "{stderr}");
}

#[test]
fn missing_half_of_a_pair_is_refused_not_regenerated() {
    let first = TestServer::start();
    let dir = first.dir.clone();
    drop(first);
    let cert = dir.path().join("certs/localhost/cert.pem");
    std::fs::remove_file(&cert).unwrap();
    let (status, stderr) = Setup::in_dir(dir.clone()).fail();
    assert!(!status.success());
    assert!(stderr.contains("refusing to generate"), "{stderr}");
    assert!(!cert.exists());
}

#[test]
fn ipv6_loopback_is_served() {
    // IPv6Address, when the machine has ::1 (skip only if binding ::1 is impossible here).
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback on this machine; skipping");
        return;
    }
    let server = Setup::new().listen("127.0.0.1:0").listen("[::1]:0").start();
    let v6 = *server.addrs.iter().find(|a| a.is_ipv6()).unwrap();
    let request = format!("gemini://[::1]:{}/about.gmi\r\n", v6.port());
    let r = fetch(v6, None, request.as_bytes(), Tls::Any).unwrap();
    r.expect("20");
    let request = format!("gemini://localhost:{}/\r\n", v6.port());
    fetch(v6, Some("localhost"), request.as_bytes(), Tls::Any)
        .unwrap()
        .expect("20");
}

#[test]
fn cert_command_prints_the_fingerprints_clients_see() {
    let server = TestServer::start();
    let served = server.get(&server.url("/")).peer_cert;
    let (status, out, err) = run_cli(server.dir.path(), &["cert", "--certs", "certs"]);
    assert!(status.success(), "{err}");
    assert!(out.contains(&sha256_hex(&served)), "{out}");
    let (_, cert) = x509_parser::parse_x509_certificate(&served).unwrap();
    assert!(out.contains(&sha256_hex(cert.public_key().raw)), "{out}");
    let year = cert.validity().not_after.to_datetime().year().to_string();
    assert!(out.contains(&format!("expires:        {year}-")), "{out}");
    assert!(out.contains("existing"), "{out}");
}

#[test]
fn sessions_resume_with_a_stateless_ticket_in_both_versions() {
    let server = TestServer::start();
    for tls in [Tls::Any, Tls::Only12] {
        let config = crate::common::client_config(tls);
        let mut kinds = Vec::new();
        for _ in 0..3 {
            let mut conn =
                crate::common::connect_with(server.addr(), Some("localhost"), config.clone())
                    .unwrap();
            kinds.push(conn.conn.handshake_kind());
            conn.write_all(server.url("/").as_bytes()).unwrap();
            conn.write_all(b"\r\n").unwrap();
            crate::common::finish(conn).unwrap().expect("20");
        }
        use rustls::HandshakeKind::{Full, Resumed};
        assert_eq!(kinds, [Some(Full), Some(Resumed), Some(Resumed)]);
    }
}

#[test]
fn a_client_hello_sent_in_pieces_still_completes_the_handshake() {
    // The server waits for the whole first record before it starts TLS; the pieces here are
    // the record header alone, part of the body, then the rest.
    let server = TestServer::start();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn =
        rustls::ClientConnection::new(crate::common::client_config(Tls::Any), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    let mut tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    for piece in [&hello[..3], &hello[3..5], &hello[5..40], &hello[40..]] {
        tcp.write_all(piece).unwrap();
        tcp.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).unwrap();
    }
    stream
        .write_all(format!("{}\r\n", server.url("/about.gmi")).as_bytes())
        .unwrap();
    crate::common::finish(stream).unwrap().expect("20");
}

#[test]
fn a_client_that_closes_halfway_through_its_hello_is_let_go_at_once() {
    // Long timeouts: only noticing the close can end these connections within the test.
    let server = Setup::new()
        .config("[limits]\nhandshake_timeout = 300\n")
        .start();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn =
        rustls::ClientConnection::new(crate::common::client_config(Tls::Any), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    for cut in [1, 3, 5, 40] {
        let mut tcp = TcpStream::connect(server.addr()).unwrap();
        tcp.set_read_timeout(Some(DEADLINE)).unwrap();
        tcp.write_all(&hello[..cut]).unwrap();
        tcp.shutdown(std::net::Shutdown::Write).unwrap();
        // Closed without a byte: an end of stream, or a reset (our bytes were never read).
        let mut rest = Vec::new();
        match tcp.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    let closed = |l: &str| l.contains("closed before the handshake");
    server.wait_log("four closes", |_| {
        server.logs().iter().filter(|l| closed(l)).count() == 4
    });
}

#[test]
fn a_record_longer_than_tls_allows_is_refused_at_once() {
    // A handshake record header claiming 65,535 bytes: no valid ClientHello is that long, so
    // the server must not wait for the rest (the handshake timeout is long here).
    let server = Setup::new()
        .config("[limits]\nhandshake_timeout = 300\n")
        .start();
    let mut tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00])
        .unwrap();
    let mut rest = Vec::new();
    match tcp.read_to_end(&mut rest) {
        // A TLS alert at most, then the end.
        Ok(_) => assert!(rest.len() < 16, "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    server.wait_log("the refusal", |l| l.contains("TLS handshake failed"));
}

/// A name added to a host later gets a pair of its own; a pair that does not name a name it
/// is served for (here an operator's) is served with a warning naming the file.
#[test]
fn a_name_added_later_gets_its_own_pair_and_a_pair_that_misses_a_name_is_reported() {
    let first = Setup::new().start();
    let dir = first.dir.clone();
    let served_first = first.get(&first.url("/")).peer_cert;
    drop(first);
    let server = Setup::in_dir(dir.clone())
        .config("hostnames = [\"localhost\", \"example.org\"]\n")
        .start();
    let request = format!("gemini://example.org:{}/\r\n", server.port());
    let added = fetch(
        server.addr(),
        Some("example.org"),
        request.as_bytes(),
        Tls::Any,
    )
    .unwrap();
    added.expect("20");
    assert_eq!(added.peer_cert, stored_cert_der(dir.path(), "example.org"));
    assert_eq!(server.get(&server.url("/")).peer_cert, served_first);
    drop(server);
    let server = Setup::in_dir(dir)
        .config(
            "hostnames = [\"localhost\", \"www.example\"]\n\
             [tls.\"www.example\"]\ncert = \"certs/localhost/cert.pem\"\n\
             key = \"certs/localhost/key.pem\"\n",
        )
        .start();
    let line = server.wait_log("the warning", |l| l.contains("does not name `www.example`"));
    assert!(line.contains("certs/localhost/cert.pem"), "{line}");
}

/// What lies in the certificate folder besides pairs (link loops, a FIFO in place of a
/// certificate) neither hangs the start nor stops it; a link from it into the capsule is
/// refused (pairs in it are read, and a key there would be served).
#[test]
fn clutter_in_the_certificate_folder_neither_hangs_nor_leaks() {
    let setup = Setup::new().config("hostnames = [\"localhost\", \"www.example\"]\n");
    let dir = setup.path().to_owned();
    let certs = dir.join("certs");
    std::fs::create_dir_all(certs.join("old")).unwrap();
    std::os::unix::fs::symlink(".", certs.join("old/a")).unwrap();
    std::os::unix::fs::symlink(".", certs.join("old/b")).unwrap();
    std::fs::create_dir_all(certs.join("fifo")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(certs.join("fifo/cert.pem"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(certs.join("fifo/key.pem"), "").unwrap();
    let server = setup.start();
    let request = format!("gemini://www.example:{}/\r\n", server.port());
    fetch(
        server.addr(),
        Some("www.example"),
        request.as_bytes(),
        Tls::Any,
    )
    .unwrap()
    .expect("20");
    let kept = server.dir.clone();
    drop(server);
    std::fs::create_dir_all(dir.join("capsule/keys")).unwrap();
    std::os::unix::fs::symlink(dir.join("capsule/keys"), certs.join("legacy")).unwrap();
    let (status, stderr) = Setup::in_dir(kept).fail();
    assert!(!status.success());
    assert!(
        stderr.contains("a link in the certificate folder") && stderr.contains("lies inside"),
        "{stderr}"
    );
}

/// A client that connects by address sends no SNI: it gets the certificate made for that
/// address when the address is among the host's names (a name added later has a pair of its
/// own, which names it), not the first hostname's, which does not.
#[test]
fn no_sni_on_a_listed_address_gets_that_addresss_certificate() {
    let first = Setup::new().start();
    let dir = std::sync::Arc::clone(&first.dir);
    drop(first);
    let server = Setup::in_dir(dir)
        .config("hostnames = [\"localhost\", \"127.0.0.2\"]\n")
        .listen("127.0.0.2:0")
        .listen("127.0.0.1:0")
        .arg("--proxy-listen")
        .arg("127.0.0.1:0")
        .start();
    let by_address = |addr: std::net::SocketAddr| {
        let request = format!("gemini://{addr}/about.gmi\r\n");
        let r = fetch(addr, None, request.as_bytes(), Tls::Any).unwrap();
        r.expect("20");
        r.peer_cert
    };
    let at_two = server
        .addrs
        .iter()
        .find(|a| a.ip().to_string() == "127.0.0.2");
    let at_one = server
        .addrs
        .iter()
        .find(|a| a.ip().to_string() == "127.0.0.1");
    let (at_two, at_one) = (*at_two.unwrap(), *at_one.unwrap());
    let own = stored_cert_der(server.dir.path(), "127.0.0.2");
    assert_ne!(own, stored_cert_der(server.dir.path(), "localhost"));
    assert_eq!(by_address(at_two), own);
    assert_eq!(
        by_address(at_one),
        stored_cert_der(server.dir.path(), "localhost")
    );
    // Behind a balancer, the address the client connected to is the one its header names.
    let header = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (
            "192.0.2.9:4000".parse::<std::net::SocketAddr>().unwrap(),
            "127.0.0.2:1965".parse::<std::net::SocketAddr>().unwrap(),
        ),
    )
    .build()
    .unwrap();
    let mut tcp = std::net::TcpStream::connect(server.proxy_addr()).unwrap();
    std::io::Write::write_all(&mut tcp, &header).unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(
        "127.0.0.2".parse::<std::net::IpAddr>().unwrap().into(),
    );
    let mut conn =
        crate::common::tls_over(tcp, name, crate::common::client_config(Tls::Any)).unwrap();
    std::io::Write::write_all(&mut conn, b"gemini://127.0.0.2/about.gmi\r\n").unwrap();
    let relayed = crate::common::finish(conn).unwrap();
    relayed.expect("20");
    assert_eq!(relayed.peer_cert, own);
    // A client that names the address in SNI anyway gets it too.
    let request = format!("gemini://{at_two}/\r\n");
    let r = fetch(at_two, Some("127.0.0.2"), request.as_bytes(), Tls::Any);
    if let Ok(r) = r {
        assert_eq!(r.peer_cert, own);
    }
}
