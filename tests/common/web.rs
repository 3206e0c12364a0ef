//! A small HTTP/1.1 client for the web door: requests written byte for byte (as a browser,
//! curl or an attacker writes them), responses read by their `Content-Length`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{DEADLINE, TestServer};

/// A post of the series "Rope Work", tagged `rope`: the blog the web tests read.
pub fn rope_part(title: &str, date: &str, part: u32, text: &str) -> String {
    format!(
        "---\ntitle: {title}\ndate: {date}\nseries: Rope Work\npart: {part}\ntags: [rope]\n---\n\
         {text}\n"
    )
}

/// The three parts of "Rope Work" under `posts/`, each with `extra` after its first line.
pub fn rope_series(root: &std::path::Path, extra: &str) {
    let parts = [
        ("one", "Bowline", "2024-03-01", "The bowline holds."),
        ("two", "Clove Hitch", "2024-03-08", "A clove hitch binds."),
        ("three", "Sheet Bend", "2024-03-15", "The sheet bend joins."),
    ];
    for (n, (file, title, date, text)) in (1..).zip(parts) {
        super::write(
            root,
            &format!("posts/{file}.md"),
            rope_part(title, date, n, &format!("{text}{extra}")),
        );
    }
}

/// Writes a certificate for `names` and its key (readable by its owner only) as
/// `folder/cert.pem` and `folder/key.pem` under `root`, as an operator's for `[http]`; returns
/// the certificate's DER.
pub fn operator_cert(root: &std::path::Path, folder: &str, names: &[&str]) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    super::write(root, &format!("{folder}/cert.pem"), cert.cert.pem());
    let key = root.join(folder).join("key.pem");
    super::write(
        root,
        &format!("{folder}/key.pem"),
        cert.signing_key.serialize_pem(),
    );
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    cert.cert.der().to_vec()
}

/// One response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestServer {
    /// The address of the plain HTTP listener (`--http-listen 127.0.0.1:0`).
    pub fn http_addr(&self) -> SocketAddr {
        self.listening_on(" (http)")
    }

    /// `GET path` with `Host: localhost`, on a connection of its own.
    pub fn http(&self, path: &str) -> HttpResponse {
        http_get(self.http_addr(), path, &[])
    }
}

/// `GET path` with `Host: localhost` and `extra` headers, on a connection of its own.
pub fn http_get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> HttpResponse {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut conn = HttpConn::open(addr);
    conn.send(request.as_bytes());
    conn.response(false).expect("a response")
}

/// A kept-alive connection.
pub struct HttpConn {
    reader: BufReader<TcpStream>,
}

impl HttpConn {
    pub fn open(addr: SocketAddr) -> HttpConn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        HttpConn {
            reader: BufReader::new(stream),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends what it can (the server may have closed already).
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// The next response; `head`: it answers a `HEAD` (no body, whatever its length says).
    /// `None` when the connection closed first.
    pub fn response(&mut self, head: bool) -> Option<HttpResponse> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let mut body = Vec::new();
        if !head && status != 304 {
            match length {
                Some(n) => {
                    body.resize(n, 0);
                    self.reader.read_exact(&mut body).ok()?;
                }
                None => {
                    self.reader.read_to_end(&mut body).ok()?;
                }
            }
        }
        Some(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closes the connection within `within` (reading and dropping
    /// anything it still sends).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let stream = self.reader.get_mut();
        let mut sink = [0u8; 4096];
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match stream.read(&mut sink) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
                Err(_) => return true,
            }
        }
        false
    }
}

/// Everything the server sends for `bytes` until it closes (or the deadline).
pub fn http_raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
