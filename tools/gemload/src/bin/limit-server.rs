//! limit-server: the least a Gemini (or Gopher) server can do per request, as the yardstick
//! for benchmarks (not part of the daemon). It accepts, completes the TLS handshake with a
//! P-256 certificate made at start-up, reads the request line, writes one fixed in-memory
//! response, ends with close_notify and closes.
//!
//! ```text
//! limit-server --listen 127.0.0.1:0 --body-bytes 5120
//! limit-server --gopher --listen 127.0.0.1:0
//! ```
//! It prints `listening on ADDR` and runs until killed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// A minimal fixed-response server.
#[derive(Debug, Parser)]
#[command(name = "limit-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Size of the response body.
    #[arg(long, default_value_t = 5120)]
    body_bytes: usize,
    /// Plain TCP Gopher instead of Gemini over TLS.
    #[arg(long)]
    gopher: bool,
}

/// How long a client gets for each step.
const STEP: Duration = Duration::from_secs(10);

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve(args));
}

async fn serve(args: Args) {
    let listener = TcpListener::bind(args.listen).await.expect("cannot listen");
    println!("listening on {}", listener.local_addr().expect("address"));
    let line = "A line of text as a page would have it, about seventy characters long.\n";
    let body: String = line.repeat(args.body_bytes / line.len() + 1)[..args.body_bytes].into();
    let response: Arc<[u8]> = if args.gopher {
        body.into_bytes().into()
    } else {
        format!("20 text/gemini\r\n{body}").into_bytes().into()
    };
    let acceptor = (!args.gopher).then(acceptor);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let response = Arc::clone(&response);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = match acceptor {
                Some(acceptor) => timeout(STEP, gemini(stream, acceptor, &response)).await,
                None => timeout(STEP, gopher(stream, &response)).await,
            };
        });
    }
}

async fn gemini(
    stream: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    response: &[u8],
) -> std::io::Result<()> {
    let mut tls = acceptor.accept(stream).await?;
    read_line(&mut tls).await?;
    tls.write_all(response).await?;
    tls.shutdown().await
}

async fn gopher(mut stream: TcpStream, response: &[u8]) -> std::io::Result<()> {
    read_line(&mut stream).await?;
    stream.write_all(response).await?;
    stream.shutdown().await
}

/// Reads until a LF, at most 1 KB.
async fn read_line<S: AsyncReadExt + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let mut buf = [0u8; 1026];
    let mut len = 0;
    while !buf[..len].contains(&b'\n') && len < buf.len() {
        match stream.read(&mut buf[len..]).await? {
            0 => break,
            n => len += n,
        }
    }
    Ok(())
}

/// TLS with a fresh self-signed P-256 certificate for `localhost`.
fn acceptor() -> tokio_rustls::TlsAcceptor {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("names")
        .self_signed(&key)
        .expect("certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("certificate");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
