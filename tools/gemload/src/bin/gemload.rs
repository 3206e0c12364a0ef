//! gemload: a load generator for Gemini and Gopher servers, for benchmarks (not part of the
//! daemon). Every request is a new connection, as real clients make them; Gemini handshakes
//! accept any certificate but verify the handshake signature, as trust-on-first-use clients do.
//! It always stops by itself: after `--requests` answers or `--duration` seconds.
//!
//! ```text
//! gemload gemini gemini://localhost:1965/ --connect 127.0.0.1:1965 -c 8 -d 10
//! gemload gopher /posts/x.txt --connect 127.0.0.1:7070 -c 8 -n 10000 --json
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Load generator for Gemini and Gopher servers.
#[derive(Debug, Parser)]
#[command(name = "gemload", version)]
struct Args {
    /// Protocol to speak.
    protocol: Protocol,
    /// Gemini: the URL to request. Gopher: the selector.
    target: String,
    /// Address to connect to (default: the URL's host and port).
    #[arg(long, value_name = "ADDR")]
    connect: Option<SocketAddr>,
    /// Connections open at once.
    #[arg(short = 'c', long, default_value_t = 8)]
    concurrency: usize,
    /// Stop after this many requests.
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Stop after this many seconds.
    #[arg(short = 'd', long, default_value_t = 10.0)]
    duration: f64,
    /// Gemini: resume TLS sessions (one client session cache per connection slot).
    #[arg(long)]
    resume: bool,
    /// Gemini: the status counted as success.
    #[arg(long, default_value = "20")]
    expect: String,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    /// Start every connection with a PROXY protocol v2 header (as HAProxy's `send-proxy-v2`)
    /// naming this end of the connection as the client.
    #[arg(long)]
    proxy_v2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    Gemini,
    Gopher,
}

/// What one connection slot measured.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    /// Microseconds per successful request.
    latencies: Vec<u64>,
    bytes: u64,
    first_error: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemload: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let (addr, host) = match args.protocol {
        Protocol::Gemini => {
            let url = url::Url::parse(&args.target).map_err(|e| format!("{}: {e}", args.target))?;
            let host = url.host_str().ok_or("the URL has no host")?.to_owned();
            let addr = match args.connect {
                Some(addr) => addr,
                None => tokio::net::lookup_host((host.as_str(), url.port().unwrap_or(1965)))
                    .await
                    .map_err(|e| e.to_string())?
                    .next()
                    .ok_or("the host has no address")?,
            };
            (addr, host)
        }
        Protocol::Gopher => (
            args.connect.ok_or("gopher needs --connect HOST:PORT")?,
            String::new(),
        ),
    };
    let args = Arc::new(args);
    let issued = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration);
    let mut slots = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (args, issued, stop, host) = (
            Arc::clone(&args),
            Arc::clone(&issued),
            Arc::clone(&stop),
            host.clone(),
        );
        slots.spawn(async move {
            let config = client_config(args.resume);
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if args
                    .requests
                    .is_some_and(|n| issued.fetch_add(1, Ordering::Relaxed) >= n)
                {
                    break;
                }
                let begun = Instant::now();
                let result = match args.protocol {
                    Protocol::Gemini => gemini(addr, &host, &args, &config).await,
                    Protocol::Gopher => gopher(addr, &args).await,
                };
                match result {
                    Ok(bytes) => {
                        tally.ok += 1;
                        tally.bytes += bytes;
                        tally.latencies.push(begun.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        tally.failed += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(tally) = slots.join_next().await {
        let tally = tally.map_err(|e| e.to_string())?;
        total.ok += tally.ok;
        total.failed += tally.failed;
        total.bytes += tally.bytes;
        total.latencies.extend(tally.latencies);
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    report(&args, &mut total, seconds);
    Ok(())
}

fn report(args: &Args, total: &mut Tally, seconds: f64) {
    total.latencies.sort_unstable();
    let at = |p: f64| -> f64 {
        if total.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * total.latencies.len() as f64).ceil() as usize;
        total.latencies[rank.clamp(1, total.latencies.len()) - 1] as f64 / 1000.0
    };
    let rate = total.ok as f64 / seconds;
    let max = total.latencies.last().map_or(0.0, |&m| m as f64 / 1000.0);
    if args.json {
        let error = total
            .first_error
            .as_deref()
            .map_or("null".to_owned(), |e| format!("{:?}", e));
        println!(
            "{{\"protocol\":\"{:?}\",\"concurrency\":{},\"ok\":{},\"failed\":{},\"seconds\":{seconds:.3},\
             \"rps\":{rate:.1},\"bytes\":{},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\
             \"max_ms\":{max:.3},\"first_error\":{error}}}",
            args.protocol,
            args.concurrency,
            total.ok,
            total.failed,
            total.bytes,
            at(50.0),
            at(90.0),
            at(99.0),
        );
    } else {
        println!(
            "{} ok, {} failed in {seconds:.2} s: {rate:.0} req/s; latency p50 {:.2} ms, p90 {:.2} ms, \
             p99 {:.2} ms, max {max:.2} ms",
            total.ok,
            total.failed,
            at(50.0),
            at(90.0),
            at(99.0),
        );
        if let Some(e) = &total.first_error {
            println!("first error: {e}");
        }
    }
}

/// One Gemini request over a new connection; the response's size on success.
async fn gemini(
    addr: SocketAddr,
    host: &str,
    args: &Args,
    config: &Arc<rustls::ClientConfig>,
) -> Result<u64, String> {
    let (url, expect) = (&args.target, &args.expect);
    let tcp = open(addr, args.proxy_v2).await?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(format!("{url}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response).await {
        Ok(_) => {}
        // Some servers close without close_notify; what arrived still counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    if response.starts_with(expect.as_bytes()) {
        Ok(response.len() as u64)
    } else {
        let header: String = String::from_utf8_lossy(&response[..response.len().min(40)]).into();
        Err(format!("unexpected answer {header:?}"))
    }
}

/// One Gopher request over a new connection; the response's size if it is not empty or an
/// error item.
async fn gopher(addr: SocketAddr, args: &Args) -> Result<u64, String> {
    let selector = &args.target;
    let mut tcp = open(addr, args.proxy_v2).await?;
    tcp.write_all(format!("{selector}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tcp.read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    if response.is_empty() || response.starts_with(b"3") {
        Err("empty or error answer".into())
    } else {
        Ok(response.len() as u64)
    }
}

/// A client that accepts any certificate (trust on first use) but checks every handshake
/// signature, with or without a session cache of its own.
fn client_config(resume: bool) -> Arc<rustls::ClientConfig> {
    let mut config = gemload::client::config(&[&rustls::version::TLS13, &rustls::version::TLS12]);
    config.resumption = if resume {
        rustls::client::Resumption::in_memory_sessions(16)
    } else {
        rustls::client::Resumption::disabled()
    };
    Arc::new(config)
}

/// A new connection, with a PROXY v2 header in front when `proxy_v2` is set.
async fn open(addr: SocketAddr, proxy_v2: bool) -> Result<TcpStream, String> {
    let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    if proxy_v2 {
        let local = tcp.local_addr().map_err(|e| e.to_string())?;
        tcp.write_all(&proxy_v2_header(local, addr))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(tcp)
}

/// A PROXY protocol v2 header for a TCP connection from `source` to `destination` (28 bytes
/// for IPv4, 52 for IPv6: what HAProxy sends).
fn proxy_v2_header(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21".to_vec();
    let mut body = Vec::new();
    match (source, destination) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            header.push(0x11);
            body.extend(s.ip().octets());
            body.extend(d.ip().octets());
        }
        (s, d) => {
            header.push(0x21);
            let v6 = |a: SocketAddr| match a {
                SocketAddr::V4(a) => a.ip().to_ipv6_mapped().octets(),
                SocketAddr::V6(a) => a.ip().octets(),
            };
            body.extend(v6(s));
            body.extend(v6(d));
        }
    }
    body.extend(source.port().to_be_bytes());
    body.extend(destination.port().to_be_bytes());
    header.extend((body.len() as u16).to_be_bytes());
    header.extend(body);
    header
}
