//! Abusive clients, for the hostile-client tests and the abuse benchmark: connections from
//! other loopback addresses, slow senders, and noise.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{DEADLINE, Tls, client_config};

/// Abusers per source address: under the server's default per-address cap (64), as a botnet
/// spreads its connections.
pub const PER_ADDRESS: usize = 30;

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A number from `/proc/<pid>/status` (`Threads:`, or a memory figure such as `VmHWM:` in
/// kB).
pub fn status_number(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// A TCP connection from the `n`-th abuser's address (127.0.0.10 + n / PER_ADDRESS), with a
/// small receive buffer if `recv_buffer` is set.
pub async fn connect_from(
    n: usize,
    to: SocketAddr,
    recv_buffer: Option<u32>,
) -> std::io::Result<TcpStream> {
    let host = 10 + (n / PER_ADDRESS % 240) as u8;
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))?;
    socket.connect(to).await
}

/// A TLS client connection over `tcp` (any certificate, SNI `localhost`).
pub async fn tls(tcp: TcpStream) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(client_config(Tls::Any))
        .connect(name, tcp)
        .await
}

/// Sends `bytes` (over and over) one per second until the server closes the connection, and
/// returns what the server sent before closing; `None` if `stop` was set first or the server
/// kept the connection open past [`DEADLINE`].
pub async fn dribble<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    bytes: &[u8],
    stop: &AtomicBool,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + DEADLINE;
    let mut received = Vec::new();
    let mut next = bytes.iter().cycle();
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(received),
                Ok(n) => received.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                let byte = [*next.next().unwrap()];
                if stream.write_all(&byte).await.is_err() {
                    return Some(received);
                }
            }
        }
    }
    None
}

/// The first flight of a TLS client: a ClientHello record.
pub fn client_hello() -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(client_config(Tls::Any), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

/// Deterministic noise (xorshift), so a failure can be replayed.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
