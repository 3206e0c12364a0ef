//! Hostile clients against one real server, all at once: slowloris connections on both ports
//! (hundreds, one byte a second), connections that finish TLS and say nothing, clients that
//! never read their answer, floods of random bytes, oversized and malformed requests; and
//! ordinary readers throughout, whose requests must all succeed. Afterwards the server must
//! hold exactly the file descriptors it held before, and must not have panicked.
//!
//! The abusers come from other loopback addresses (127.0.0.10 and up), a few dozen each, as a
//! botnet would, so the per-address cap does not simply refuse them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::common::abuse::{client_hello, connect_from, dribble, noise, open_fds, tls};
use crate::common::{DEADLINE, Setup, TestServer, Tls, big_file, fetch, non_reader};

/// The timeouts the server runs with here: short, so the test is quick.
const CONFIG: &str = "[limits]\nhandshake_timeout = 3\nrequest_timeout = 3\nwrite_timeout = 3\n";

const SLOWLORIS_PER_KIND: usize = 100;
const SILENT: usize = 50;
const NON_READERS: usize = 8;
const FLOODS: usize = 20;

/// Asks for the about page over both protocols until `done`, counting answers; every answer
/// must be the right one.
fn ordinary_reader(server: Arc<TestServer>, gopher: SocketAddr, done: Arc<AtomicBool>) -> usize {
    let mut served = 0;
    while !done.load(Ordering::Relaxed) {
        let answer = server.get(&server.url("/about.gmi"));
        answer.expect("20");
        assert_eq!(answer.body_text(), "# About\n");
        let text = gopher_request(gopher, b"/about.txt\r\n");
        let text = String::from_utf8_lossy(&text);
        assert!(text.starts_with("About\r\n====="), "{text:?}");
        served += 2;
    }
    served
}

fn gopher_request(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// Oversized and malformed requests on both ports, each with its proper answer.
fn malformed(server: &TestServer, gopher: SocketAddr) {
    let gemini = |request: &[u8], status: &str| {
        let answer = fetch(server.addr(), Some("localhost"), request, Tls::Any).unwrap();
        answer.expect(status);
    };
    let mut long = server.url("/").into_bytes();
    long.resize(5000, b'a');
    long.extend_from_slice(b"\r\n");
    gemini(&long, "59");
    gemini(&[b'a'; 20_000], "59");
    gemini(b"\r\n", "59");
    gemini(b"gemini://localhost/\0\r\n", "59");
    gemini(b"\xff\xfe\r\n", "59");
    gemini(b"http://localhost/\r\n", "53");
    for request in [
        &[b'a'; 5000][..],
        b"/\0x\r\n",
        b"\xff\xfe\r\n",
        b"/../../etc/passwd\r\n",
    ] {
        let answer = gopher_request(gopher, request);
        assert!(answer.starts_with(b"3"), "{request:?}: {answer:?}");
        assert!(answer.ends_with(b".\r\n"), "{request:?}: {answer:?}");
    }
}

#[test]
fn ordinary_readers_are_served_while_the_server_is_abused() {
    let setup = Setup::new()
        .config(CONFIG)
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    big_file(&setup.path().join("capsule"));
    let server = Arc::new(setup.start());
    let gemini = server.addr();
    let gopher = server.gopher_addr();
    let pid = server.pid();

    // Warm up both listeners; once both connections are logged (so closed), count what the
    // server holds at rest.
    server.get(&server.url("/about.gmi")).expect("20");
    assert!(!gopher_request(gopher, b"/about.txt\r\n").is_empty());
    server.wait_log("the warm-up requests", |l| {
        l.contains("path=\"/about.txt\"")
    });
    server.wait_log("the warm-up requests", |l| {
        l.contains("path=\"/about.gmi\"")
    });
    let baseline = open_fds(pid);
    assert!(baseline > 0);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (server, done) = (Arc::clone(&server), Arc::clone(&done));
            std::thread::spawn(move || ordinary_reader(server, gopher, done))
        })
        .collect();

    runtime.block_on(async {
        let mut abuse = JoinSet::new();
        let hello = Arc::new(client_hello());
        let stop = Arc::new(AtomicBool::new(false));
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        // Slowloris: a ClientHello, a Gemini request after TLS, a Gopher selector, each one
        // byte a second. The server must close each within its timeouts, without an answer.
        for _ in 0..SLOWLORIS_PER_KIND {
            let (a, b, c) = (next(), next(), next());
            let (hello, stop_a) = (Arc::clone(&hello), Arc::clone(&stop));
            abuse.spawn(async move {
                let tcp = connect_from(a, gemini, None).await.unwrap();
                let got = dribble(tcp, &hello, &stop_a).await;
                assert!(got.is_some(), "a slow handshake was never dropped");
            });
            let stop_b = Arc::clone(&stop);
            abuse.spawn(async move {
                let tcp = connect_from(b, gemini, None).await.unwrap();
                // The server may drop an abuser at any point, even during the handshake.
                if let Ok(tls) = tls(tcp).await {
                    let got = dribble(tls, b"gemini://localhost/about.gmi", &stop_b).await;
                    assert_eq!(got, Some(Vec::new()), "a slow request was never dropped");
                }
            });
            let stop_c = Arc::clone(&stop);
            abuse.spawn(async move {
                let tcp = connect_from(c, gopher, None).await.unwrap();
                let got = dribble(tcp, b"/about.txt", &stop_c).await;
                assert_eq!(got, Some(Vec::new()), "a slow selector was never dropped");
            });
        }
        // TLS, then silence.
        for _ in 0..SILENT {
            let m = next();
            abuse.spawn(async move {
                let tcp = connect_from(m, gemini, None).await.unwrap();
                let Ok(mut tls) = tls(tcp).await else {
                    return;
                };
                let mut got = Vec::new();
                let read = tokio::time::timeout(DEADLINE, tls.read_to_end(&mut got)).await;
                assert!(read.is_ok(), "a silent client was never dropped");
                assert!(got.is_empty(), "{got:?}");
            });
        }
        // Random bytes: on the Gemini port (half of them starting like a TLS record) the
        // server closes; on the Gopher port it answers a type 3 error without echoing.
        for i in 0..FLOODS {
            let mut bytes = noise(i as u64 + 1, 32 * 1024);
            if i % 2 == 0 {
                bytes[0] = 0x16;
            }
            let m = next();
            abuse.spawn(async move {
                let mut tcp = connect_from(m, gemini, None).await.unwrap();
                let _ = tcp.write_all(&bytes).await;
                let mut got = Vec::new();
                let read = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut got)).await;
                assert!(read.is_ok(), "a flooding client was never dropped");
                if bytes[0] != 0x16 {
                    assert!(got.is_empty(), "{got:?}");
                }
            });
            let m = next();
            abuse.spawn(async move {
                let bytes = noise(i as u64 + 1000, 32 * 1024);
                let mut tcp = connect_from(m, gopher, None).await.unwrap();
                let _ = tcp.write_all(&bytes).await;
                let mut got = Vec::new();
                let read = tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut got)).await;
                assert!(read.is_ok(), "a flooding client was never dropped");
                assert!(got.starts_with(b"3"), "{:?}", String::from_utf8_lossy(&got));
                assert!(got.ends_with(b".\r\n"));
                assert!(got.len() < 200, "{}", got.len());
            });
        }
        // Clients that ask for 16 MB and never read it (blocking sockets: a thread each).
        let non_readers: Vec<_> = (0..NON_READERS)
            .map(|i| {
                std::thread::spawn(move || {
                    if i % 2 == 0 {
                        let conn = non_reader(gemini, b"gemini://localhost/big.bin\r\n").unwrap();
                        std::thread::sleep(Duration::from_secs(6));
                        drop(conn);
                    } else {
                        let socket = socket2::Socket::new(
                            socket2::Domain::IPV4,
                            socket2::Type::STREAM,
                            None,
                        )
                        .unwrap();
                        socket.set_recv_buffer_size(4096).unwrap();
                        socket.connect(&gopher.into()).unwrap();
                        let mut tcp: std::net::TcpStream = socket.into();
                        std::io::Write::write_all(&mut tcp, b"/big.bin\r\n").unwrap();
                        std::thread::sleep(Duration::from_secs(6));
                        drop(tcp);
                    }
                })
            })
            .collect();
        malformed(&server, gopher);
        while let Some(joined) = abuse.join_next().await {
            joined.unwrap();
        }
        for thread in non_readers {
            thread.join().unwrap();
        }
    });
    done.store(true, Ordering::Relaxed);
    let served: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(served >= 2, "the ordinary readers never got through");

    // Every abuser was dropped for the reason it deserved.
    let count = |note: &str| server.logs().iter().filter(|l| l.contains(note)).count();
    server.wait_log("the dropped non-readers", |_| {
        count("client stopped reading") >= NON_READERS
    });
    assert_eq!(count("client stopped reading"), NON_READERS);

    // All connections are gone: the server holds what it held at rest.
    let deadline = Instant::now() + DEADLINE;
    while open_fds(pid) != baseline {
        assert!(
            Instant::now() < deadline,
            "{} file descriptors open, {baseline} before the abuse",
            open_fds(pid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.get(&server.url("/about.gmi")).expect("20");
    let logs = server.logs().join("\n");
    assert!(!logs.contains("panicked"), "{logs}");
}

#[test]
fn clients_that_stop_reading_cannot_hold_every_slot() {
    // Every slot taken by clients that ask for a large file and never read it, from several
    // addresses (so the per-address cap does not refuse them), with a write timeout far
    // longer than a reader would wait: the reader must still be served, by closing the
    // answer that stopped moving.
    let setup = Setup::new().config("[limits]\nmax_connections = 16\nwrite_timeout = 120\n");
    big_file(&setup.path().join("capsule"));
    let server = setup.start();
    let request = server.url("/big.bin\r\n");
    let mut held = Vec::new();
    for host in 20..24u8 {
        for _ in 0..4 {
            held.push(
                crate::common::non_reader_from(Some(host), server.addr(), request.as_bytes())
                    .unwrap(),
            );
        }
    }
    // A reader from a fifth address, twice (a second newcomer needs a second slot).
    for _ in 0..2 {
        let mut reader = crate::common::connect_from(24, server.addr(), Some("localhost")).unwrap();
        std::io::Write::write_all(&mut reader, server.url("/about.gmi\r\n").as_bytes()).unwrap();
        let answer = crate::common::finish(reader).unwrap();
        answer.expect("20");
    }
    server.wait_log("a non-reader closed for the reader", |l| {
        l.contains("answer not read")
    });
    drop(held);
}
