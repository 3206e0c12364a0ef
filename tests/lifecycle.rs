//! Connection handling: concurrency, the connection cap, the access log and graceful shutdown.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{
    DEADLINE, Setup, TestServer, Tls, big_file, connect, finish, non_reader, write,
};

#[test]
fn an_idle_connection_does_not_block_others() {
    // ConcurrentConnections: socket 1 sends one byte and waits; socket 2 is served meanwhile.
    let server = TestServer::start();
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    idle.write_all(b"\x16").unwrap();
    server.get(&server.url("/")).expect("20");
    drop(idle);
}

#[test]
fn connection_cap_makes_new_connections_wait() {
    let setup = Setup::new().config("[limits]\nmax_connections = 1\nwrite_timeout = 120\n");
    // In place before the start, so the first snapshot has it.
    big_file(&setup.path().join("capsule"));
    let server = setup.start();
    // Holds the only slot with an answer being written to a client that does not read.
    let holder = non_reader(server.addr(), server.url("/big.bin\r\n").as_bytes()).unwrap();
    // The kernel accepts the TCP connection, but the server takes it on only once the slot is
    // free: here when the holder, whose answer has stopped moving (for 2 s), is closed for it.
    // However slow the machine, the newcomer is never handled before that.
    let mut waiting = TcpStream::connect(server.addr()).unwrap();
    waiting.set_read_timeout(Some(DEADLINE)).unwrap();
    waiting.write_all(b"\x16\x03\x01\x00\x05hello").unwrap();
    let mut buf = [0u8; 16];
    let handled = waiting.read(&mut buf);
    assert!(
        !matches!(&handled, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the waiting connection was never handled\n{}",
        server.logs().join("\n")
    );
    // In the log, the holder's slot was given up for the newcomer before the newcomer's
    // handshake was tried.
    let newcomer = |l: &str| l.contains("TLS handshake failed");
    let evicted = |l: &str| l.contains("to admit a newer connection");
    server.wait_log("the newcomer's line", newcomer);
    server.wait_log("the holder's eviction", evicted);
    let logs = server.logs();
    let at = |pred: &dyn Fn(&str) -> bool| logs.iter().position(|l| pred(l)).unwrap();
    assert!(
        at(&evicted) < at(&newcomer),
        "the newcomer was handled while the holder had the only slot:\n{}",
        logs.join("\n")
    );
    drop(waiting);
    drop(holder);
    // The slot is free again.
    server.get(&server.url("/about.gmi")).expect("20");
}

#[test]
fn a_full_server_closes_its_longest_waiting_connection_for_a_newcomer() {
    let server = Setup::new()
        .config("[limits]\nmax_connections = 1\nrequest_timeout = 120\n")
        .start();
    // Holds the only slot: TLS done, no request.
    let mut idle = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    // A newcomer is served (once the idle one has waited a second) ...
    server.get(&server.url("/about.gmi")).expect("20");
    // ... and the idle one was closed without an answer.
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    server.wait_log("the eviction", |l| {
        l.contains("to admit a newer connection")
    });
}

#[test]
fn access_log_line_per_request_without_ip_by_default() {
    let server = TestServer::start();
    server.get(&server.url("/about.gmi")).expect("20");
    let line = server.wait_log("the access line", |l| l.contains("path=\"/about.gmi\""));
    assert!(line.contains("host=\"localhost\""), "{line}");
    assert!(line.contains("status=20"), "{line}");
    assert!(line.contains("bytes=39"), "{line}"); // 31-byte header + 8-byte body
    assert!(line.contains("ms="), "{line}");
    assert!(line.contains("peer=-"), "{line}");
    assert!(!line.contains("127.0.0.1"), "{line}");
}

#[test]
fn log_ip_flag_adds_the_peer() {
    let server = Setup::new().arg("--log-ip").start();
    server.get(&server.url("/")).expect("20");
    let line = server.wait_log("the access line", |l| l.contains("status=20"));
    assert!(line.contains("peer=127.0.0.1:"), "{line}");
}

#[test]
fn shutdown_lets_an_in_flight_response_finish() {
    let setup = Setup::new();
    let body: Vec<u8> = (0..24_000_000u32).map(|i| (i % 253) as u8).collect();
    write(&setup.path().join("capsule"), "big.bin", &body);
    let mut server = setup.config("[limits]\nshutdown_grace = 30\n").start();

    let mut conn = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    conn.write_all(format!("{}\r\n", server.url("/big.bin")).as_bytes())
        .unwrap();
    conn.flush().unwrap();
    // Read the start of the response: it is now in flight, far from done (buffers are small).
    let mut start = vec![0u8; 64 * 1024];
    conn.read_exact(&mut start).unwrap();

    server.signal(rustix::process::Signal::TERM.as_raw());
    server.wait_log("the shutdown", |l| l.contains("shutting down"));
    // New connections are refused once shutdown has begun.
    let deadline = std::time::Instant::now() + DEADLINE;
    while TcpStream::connect(server.addr()).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let rest = finish(conn).unwrap();
    assert!(rest.close_notify, "response cut without close_notify");
    let mut all = start;
    all.extend_from_slice(&rest.raw);
    let header = b"20 application/octet-stream\r\n";
    assert!(all.starts_with(header));
    assert!(
        all[header.len()..] == body[..],
        "body incomplete: {} bytes",
        all.len()
    );
    assert!(server.wait_exit().success());
}

/// Draining: a connection accepted before SIGTERM whose request has not arrived yet is still
/// answered when it arrives within `shutdown_grace` (a balancer may have just handed it over);
/// the server then exits cleanly.
#[test]
fn a_connection_accepted_before_sigterm_is_answered_during_the_grace() {
    let mut server = Setup::new()
        .config("[limits]\nshutdown_grace = 30\n")
        .start();
    // The handshake completes, so the server holds this connection, waiting for its request.
    let mut waiting = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    server.signal(rustix::process::Signal::TERM.as_raw());
    server.wait_log("the shutdown", |l| {
        l.contains("waiting for 1 connection(s)")
    });
    waiting
        .write_all(format!("{}\r\n", server.url("/")).as_bytes())
        .unwrap();
    let answer = finish(waiting).unwrap();
    answer.expect("20");
    assert!(server.wait_exit().success());
}

#[test]
fn an_address_over_its_request_rate_gets_44_and_gopher_an_error() {
    let server = Setup::new()
        .config("[limits]\nrequests_per_minute_per_ip = 3\n")
        .arg("--gopher-listen")
        .arg("127.0.0.1:0")
        .start();
    for _ in 0..3 {
        server.get(&server.url("/")).expect("20");
    }
    let slow = server.get(&server.url("/"));
    slow.expect("44");
    // A whole number of seconds until the next request is allowed (one per 20 s here).
    let wait: u64 = slow.meta().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // The same address over Gopher shares the allowance.
    let gopher = String::from_utf8(server.gopher(b"/\r\n")).unwrap();
    assert!(gopher.starts_with("3Too many requests"), "{gopher}");
    assert!(gopher.ends_with("\terror.host\t1\r\n.\r\n"), "{gopher}");
    server.wait_log("the refusal", |l| l.contains("status=44"));
}

#[test]
fn an_address_holding_its_most_connections_gets_no_more() {
    let server = Setup::new()
        .config("[limits]\nmax_connections_per_ip = 2\n")
        .start();
    let first = crate::common::connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    let _second = crate::common::connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    // A third one from the same address is closed before its handshake.
    assert!(crate::common::connect(server.addr(), Some("localhost"), Tls::Any).is_err());
    server.wait_log("the refusal", |l| l.contains("too many connections"));
    // Once one closes, the address may connect again.
    drop(first);
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    loop {
        match crate::common::fetch(
            server.addr(),
            Some("localhost"),
            b"gemini://localhost/\r\n",
            Tls::Any,
        ) {
            Ok(answer) if answer.status() == "20" => break,
            _ => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the place was never given back"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The soft and hard open-file limits of a process.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn the_open_file_limit_is_raised_to_fit_the_connection_cap() {
    // A low soft limit (as Linux gives every process) is raised: two files per connection
    // and 64 of its own.
    let server = Setup::new()
        .config("[limits]\nmax_connections = 500\n")
        .ulimit("-Sn 100")
        .start();
    let (soft, hard) = open_file_limits(server.pid());
    assert_eq!(soft, hard.min(1064), "soft {soft}, hard {hard}");
    server.get(&server.url("/")).expect("20");
}

#[test]
fn a_hard_open_file_limit_too_low_for_the_cap_lowers_the_cap_with_a_warning() {
    let server = Setup::new()
        .config("[limits]\nmax_connections = 500\n")
        .ulimit("-n 200")
        .start();
    let line = server.wait_log("the warning", |l| l.contains("limits.max_connections"));
    assert!(line.contains("serving at most 68 connections"), "{line}");
    server.get(&server.url("/")).expect("20");
}

/// Asks for `/` on an open connection and reads the answer up to the server's close_notify,
/// keeping the connection open afterwards (as a client that is slow to hang up does).
fn ask_and_keep(conn: &mut crate::common::Conn) -> String {
    conn.write_all(b"gemini://localhost/\r\n").unwrap();
    conn.flush().unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn sixty_four_readers_from_one_address_are_all_served_at_the_defaults() {
    // Each reader keeps its last answered connection open while it asks again, so the address
    // holds up to 128 connections, at most 64 of them still waiting for their answer: the
    // answered ones must not count against `max_connections_per_ip` (64 by default).
    let server = Setup::new().start();
    crate::common::raise_open_file_limit();
    let addr = server.addr();
    let start = std::sync::Arc::new(std::sync::Barrier::new(64));
    let readers: Vec<_> = (0..64)
        .map(|_| {
            let start = std::sync::Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut kept = None;
                let mut statuses = Vec::new();
                for _ in 0..4 {
                    let status = match connect(addr, Some("localhost"), Tls::Any) {
                        Ok(mut conn) => {
                            let answer = ask_and_keep(&mut conn);
                            kept = Some(conn);
                            answer.get(..2).unwrap_or("no answer").to_owned()
                        }
                        Err(e) => format!("connection failed: {e}"),
                    };
                    statuses.push(status);
                }
                drop(kept);
                statuses
            })
        })
        .collect();
    let statuses: Vec<String> = readers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    let failed: Vec<&String> = statuses.iter().filter(|s| *s != "20").collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}; log:\n{}",
        failed.len(),
        statuses.len(),
        &failed[..failed.len().min(5)],
        server
            .logs()
            .iter()
            .filter(|l| l.contains("too many"))
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn hundreds_of_silent_connections_from_one_address_lock_out_no_other_reader() {
    // The defaults but for a handshake timeout the test cannot outlast on a slow machine.
    let server = Setup::new()
        .config("[limits]\nhandshake_timeout = 120\n")
        .start();
    crate::common::raise_open_file_limit();
    let addr = server.addr();
    // 400 connections from 127.0.0.3 that never say anything: 64 are let in and held (they
    // are still owed an answer), the rest are closed at once.
    let silent: Vec<TcpStream> = (0..400)
        .filter_map(|_| crate::common::tcp_from(3, addr).ok())
        .collect();
    assert_eq!(silent.len(), 400);
    server.wait_log("the refusals", |l| {
        l.contains("too many connections from one address")
    });
    // A reader from another address is served as if nothing happened.
    let mut reader = crate::common::connect_from(4, addr, Some("localhost")).unwrap();
    assert!(ask_and_keep(&mut reader).starts_with("20 "));
    // The address holding its 64 cannot open a 65th.
    let more = crate::common::connect_from(3, addr, Some("localhost"));
    assert!(
        more.is_err(),
        "a 65th connection from a full address got in"
    );
    drop(silent);
}

#[test]
fn a_reload_keeps_what_each_address_holds_and_has_spent() {
    let server = Setup::new()
        .config(
            "[limits]\nmax_connections_per_ip = 2\nrequests_per_minute_per_ip = 3\n\
             request_timeout = 120\n",
        )
        .start();
    let _first = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    let _second = connect(server.addr(), Some("localhost"), Tls::Any).unwrap();
    // Another address spends its three requests.
    for _ in 0..3 {
        let mut reader = crate::common::connect_from(3, server.addr(), Some("localhost")).unwrap();
        reader.write_all(server.url("/\r\n").as_bytes()).unwrap();
        crate::common::finish(reader).unwrap().expect("20");
    }
    server.signal(rustix::process::Signal::HUP.as_raw());
    server.wait_log("the reload", |l| l.contains("configuration reloaded"));
    // Still full, still spent: a reload is no fresh allowance.
    assert!(connect(server.addr(), Some("localhost"), Tls::Any).is_err());
    let mut reader = crate::common::connect_from(3, server.addr(), Some("localhost")).unwrap();
    reader.write_all(server.url("/\r\n").as_bytes()).unwrap();
    let answer = crate::common::finish(reader).unwrap();
    assert_eq!(answer.status(), "44", "{}", answer.header());
}

#[test]
fn a_steady_slow_reader_of_a_large_page_is_not_cut_off() {
    // An 8 MB page is held in memory and written in 16 KiB chunks, each under `write_timeout`
    // (4 s here; a write waits at most until half the socket's send buffer, 4 MB at most, has
    // drained): a reader that takes longer than that in all, but keeps reading, gets it whole.
    let setup =
        Setup::new().config("[limits]\nwrite_timeout = 4\n[markdown]\nmax_file_size = 16777216\n");
    let line = "A line of a long page that a slow reader reads a little at a time.\n";
    let page = line.repeat(8 * 1024 * 1024 / line.len());
    write(&setup.path().join("capsule"), "long.gmi", &page);
    let server = setup.start();
    let mut conn =
        crate::common::non_reader_from(None, server.addr(), server.url("/long.gmi\r\n").as_bytes())
            .unwrap();
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("cut off after {} bytes: {e}", received.len()),
        }
        // About 1.3 MB/s: some 6 s for the page.
        std::thread::sleep(Duration::from_millis(12));
    }
    let header = b"20 text/gemini; charset=utf-8\r\n";
    assert!(received.starts_with(header));
    assert_eq!(received.len() - header.len(), page.len());
    // It really took longer than one write timeout in all.
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_slow_reader_of_a_large_file_keeps_going_past_the_write_timeout() {
    // A client that reads a 16 MB file slowly but steadily (some 64 KB/s) for longer than
    // `write_timeout` (2 s): each write must go through as it reads, not wait for megabytes
    // of socket buffer to drain.
    let setup = Setup::new().config("[limits]\nwrite_timeout = 2\n");
    big_file(&setup.path().join("capsule"));
    let server = setup.start();
    let mut conn =
        crate::common::non_reader_from(None, server.addr(), server.url("/big.bin\r\n").as_bytes())
            .unwrap();
    let mut received = 0usize;
    let mut chunk = vec![0u8; 16 * 1024];
    let slow_until = std::time::Instant::now() + Duration::from_secs(6);
    loop {
        match conn.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) => panic!("cut off after {received} bytes: {e}"),
        }
        if std::time::Instant::now() < slow_until {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    assert_eq!(
        received,
        "20 application/octet-stream\r\n".len() + crate::common::BIG_FILE_BYTES
    );
}

/// systemd's `Type=notify`: READY=1 once listening, RELOADING=1 (with the clock reading
/// `notify-reload` wants) then READY=1 around a reload, STOPPING=1 at shutdown; sent to the
/// socket `NOTIFY_SOCKET` names.
#[test]
fn systemd_hears_ready_reloading_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut server = Setup::new()
        .env("NOTIFY_SOCKET", path.to_str().unwrap())
        .start();
    let next = || {
        let mut buf = [0u8; 512];
        let n = socket.recv(&mut buf).expect("a notification in time");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1\n");
    server.signal(rustix::process::Signal::HUP.as_raw());
    let reloading = next();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    assert_eq!(next(), "READY=1\n");
    server.signal(rustix::process::Signal::TERM.as_raw());
    assert_eq!(next(), "STOPPING=1\n");
    assert!(server.wait_exit().success());
}
