//! Client certificates made in the tests: readers' and authors' identities, valid, expired,
//! not yet valid, or presented with another identity's key.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use time::{Duration, OffsetDateTime};

use super::{Exchange, Tls, connect_with, finish};

/// A client certificate and its key.
pub struct ClientCert {
    pub der: Vec<u8>,
    key: Vec<u8>,
}

impl ClientCert {
    /// Valid from yesterday for a year.
    pub fn new() -> ClientCert {
        let now = OffsetDateTime::now_utc();
        ClientCert::dated(now - Duration::days(1), now + Duration::days(365))
    }

    /// Valid from `not_before` to `not_after`.
    pub fn dated(not_before: OffsetDateTime, not_after: OffsetDateTime) -> ClientCert {
        ClientCert::with_key(rcgen::KeyPair::generate().unwrap(), not_before, not_after)
    }

    /// Another certificate for the same key (a reissued identity).
    pub fn reissued(&self) -> ClientCert {
        let key = rcgen::KeyPair::try_from(self.key.as_slice()).unwrap();
        let now = OffsetDateTime::now_utc();
        ClientCert::with_key(key, now - Duration::days(2), now + Duration::days(700))
    }

    fn with_key(
        key: rcgen::KeyPair,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> ClientCert {
        let mut params = rcgen::CertificateParams::new(vec!["reader".to_owned()]).unwrap();
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&key).unwrap();
        ClientCert {
            der: cert.der().to_vec(),
            key: key.serialize_der(),
        }
    }

    /// SHA-256 of the certificate, lowercase hex: what Lagrange copies.
    /// A `[titan]` table that lets this certificate publish.
    pub fn titan_table(&self) -> String {
        format!(
            "[titan]\nenabled = true\nfingerprints = [\"{}\"]\n",
            self.fingerprint()
        )
    }

    pub fn fingerprint(&self) -> String {
        lower_hex(&self.der)
    }

    /// The fingerprint as `openssl x509 -fingerprint -sha256` prints it (colons, upper case).
    pub fn openssl_fingerprint(&self) -> String {
        super::sha256_hex(&self.der)
    }

    /// `spki:` and the SHA-256 of the public key.
    pub fn spki(&self) -> String {
        let (_, cert) = x509_parser::parse_x509_certificate(&self.der).unwrap();
        format!("spki:{}", lower_hex(cert.public_key().raw))
    }

    /// A client that presents this certificate (one session cache per configuration).
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        self.client_signing_with(self)
    }

    /// A client that presents this certificate but signs with `other`'s key: an impostor.
    pub fn client_signing_with(&self, other: &ClientCert) -> Arc<rustls::ClientConfig> {
        client_for(&self.der, &other.key, Tls::Any)
    }

    /// As [`ClientCert::client`], offering TLS 1.2 only.
    pub fn client_tls12(&self) -> Arc<rustls::ClientConfig> {
        client_for(&self.der, &self.key, Tls::Only12)
    }
}

fn lower_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn client_for(cert: &[u8], key: &[u8], tls: Tls) -> Arc<rustls::ClientConfig> {
    let provider = rustls::crypto::ring::default_provider();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec()));
    let signer = provider.key_provider.load_private_key(key).unwrap();
    let certified = CertifiedKey::new(vec![CertificateDer::from(cert.to_vec())], signer);
    let versions: &[&rustls::SupportedProtocolVersion] = match tls {
        Tls::Any => &[&rustls::version::TLS13, &rustls::version::TLS12],
        Tls::Only12 => &[&rustls::version::TLS12],
    };
    Arc::new(gemload::client::config_with_identity(
        versions,
        Arc::new(Always(Arc::new(certified))),
    ))
}

/// Presents one certificate whatever the server asks.
#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesClientCert for Always {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Sends `request` (line and any body) with SNI `localhost` through `client`.
pub fn send(
    addr: SocketAddr,
    client: Arc<rustls::ClientConfig>,
    request: &[u8],
) -> std::io::Result<Exchange> {
    let mut conn = connect_with(addr, Some("localhost"), client)?;
    conn.write_all(request)?;
    conn.flush()?;
    finish(conn)
}

/// A client with no certificate (an anonymous reader).
pub fn anonymous() -> Arc<rustls::ClientConfig> {
    super::client_config(Tls::Any)
}

/// A Titan upload to `server` with `client`'s certificate: `path_and_params` (after the
/// host and port), then `;size=` last, as Lagrange writes it, then `body`.
pub fn titan_put(
    server: &super::TestServer,
    client: Arc<rustls::ClientConfig>,
    path_and_params: &str,
    body: &[u8],
) -> Exchange {
    let mut request = format!(
        "titan://localhost:{}{path_and_params};size={}\r\n",
        server.port(),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    send(server.addr(), client, &request).unwrap()
}

/// Uploads `count` pages of a megabyte of `[a](b) ` each (about 150,000 links a page),
/// `posts/links-<i>.md`, from `author`'s client, each answered `30`, and waits until the last
/// is served; returns its answer.
pub fn upload_link_pages(
    server: &super::TestServer,
    author: &ClientCert,
    count: usize,
) -> Exchange {
    let front = "---\ntitle: Links\ndate: 2024-01-01\n---\n";
    let page = format!("{front}{}", "[a](b) ".repeat((1_048_576 - front.len()) / 7));
    for i in 0..count {
        let path = format!("/posts/links-{i}.md;mime=text/plain");
        titan_put(server, author.client(), &path, page.as_bytes()).expect("30");
    }
    let last = format!("/posts/links-{}.gmi", count - 1);
    server.wait_for(&last, "the last page", |a| a.status() == "20")
}
