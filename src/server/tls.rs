//! Certificates and the TLS configuration.
//!
//! Gemini clients pin a capsule's certificate on first use (TOFU), so a certificate, once made,
//! is never replaced: this module generates one per hostname only when neither of its files
//! exists, and it refuses to start rather than overwrite half a pair. SNI picks the host's
//! certificate; a client that sends no SNI (it connected by IP) or an unknown name gets the
//! default host's, so its handshake still completes.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use crate::config::{Config, Hostname};

/// File names inside `certs/<hostname>/`.
pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";

/// How long a generated certificate is valid. Clients pin it until it expires, so the longer
/// the better; a century is what gmcapsule uses and stays within every parser's date range.
const VALIDITY_YEARS: i64 = 100;

/// Why the certificates could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "{present} exists but {missing} does not; refusing to generate a new certificate over it \
         (restore {missing}, or move {present} away to get a new certificate that clients will \
         have to re-trust)"
    )]
    HalfPair { present: PathBuf, missing: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot generate a certificate for {host}: {reason}")]
    Generate { host: Hostname, reason: String },
    #[error(
        "the certificate files of {host} ({cert}, {key}) are gone; a reload does not make a new \
         certificate in their place (every reader's client would warn that the capsule changed \
         identity): restore them, or restart gemhole to generate a new one; the running one \
         stays in use"
    )]
    Vanished {
        host: Hostname,
        cert: PathBuf,
        key: PathBuf,
    },
    #[error(
        "{path} can be read by every user on this machine (mode {mode:o}); a private key must not \
         be: run `chmod 600 {path}` (or `chmod 640` with a group the server runs as) and start \
         again"
    )]
    KeyWorldReadable { path: PathBuf, mode: u32 },
}

/// Where a host's certificate came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Made just now and written to `certs/<hostname>/`.
    Generated,
    /// Read from `certs/<hostname>/`.
    Stored,
    /// Read from the paths in the `[tls]` table of the config.
    Operator,
}

/// A hostname's certificate, ready for rustls, with what an operator needs to know about it.
#[derive(Debug, Clone)]
pub struct HostCert {
    pub hostname: Hostname,
    pub key: Arc<CertifiedKey>,
    pub info: CertInfo,
    pub origin: Origin,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// The facts a reader compares when their client asks whether to trust the capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the DER certificate (what older clients pin).
    pub cert_sha256: Fingerprint,
    /// SHA-256 of the DER SubjectPublicKeyInfo (what Lagrange pins; survives re-issue with the
    /// same key).
    pub spki_sha256: Fingerprint,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A SHA-256 digest, shown as colon-separated upper-case hex like `openssl x509 -fingerprint`.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    fn of(bytes: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut out = [0; 32];
        out.copy_from_slice(digest.as_ref());
        Fingerprint(out)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The one crypto provider used everywhere (ring), named explicitly so that rustls never has to
/// guess a process-wide default.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads every configured host's certificate, generating the missing ones. The first entry is
/// the default host's.
pub fn load_or_generate(config: &Config) -> Result<Vec<HostCert>, CertError> {
    load_or_generate_keeping(config, &[])
}

/// As [`load_or_generate`] for a running server: a host that has a certificate in `running`
/// never gets a new one generated (its files vanished: the reload is refused instead).
pub fn load_or_generate_keeping(
    config: &Config,
    running: &[HostCert],
) -> Result<Vec<HostCert>, CertError> {
    let provider = provider();
    config
        .hostnames
        .iter()
        .map(|host| match config.tls.get(host) {
            Some(paths) => load(host, &paths.cert, &paths.key, Origin::Operator, &provider),
            None => {
                let dir = config.certs.join(host.as_str());
                let cert = dir.join(CERT_FILE);
                let key = dir.join(KEY_FILE);
                let origin = match (cert.exists(), key.exists()) {
                    (true, true) => Origin::Stored,
                    (false, false) if running.iter().any(|c| &c.hostname == host) => {
                        return Err(CertError::Vanished {
                            host: host.clone(),
                            cert,
                            key,
                        });
                    }
                    (false, false) => {
                        generate(host, &dir)?;
                        Origin::Generated
                    }
                    (true, false) => return Err(half_pair(cert, key)),
                    (false, true) => return Err(half_pair(key, cert)),
                };
                load(host, &cert, &key, origin, &provider)
            }
        })
        .collect()
}

fn half_pair(present: PathBuf, missing: PathBuf) -> CertError {
    CertError::HalfPair { present, missing }
}

/// Writes a new self-signed ECDSA P-256 certificate and key into `dir`.
///
/// The files are written under temporary names and then hard-linked into place, which fails
/// instead of replacing a file that appeared meanwhile (another process starting at once).
fn generate(host: &Hostname, dir: &Path) -> Result<(), CertError> {
    let fail = |reason: String| CertError::Generate {
        host: host.clone(),
        reason,
    };
    let mut names = vec![host.as_str().to_owned()];
    if host.as_str() == "localhost" {
        names.extend(["127.0.0.1".to_owned(), "::1".to_owned()]);
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| fail(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host.as_str());
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365 * VALIDITY_YEARS + VALIDITY_YEARS / 4);
    let key_pair = rcgen::KeyPair::generate().map_err(|e| fail(e.to_string()))?;
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| fail(e.to_string()))?;

    fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_owned(),
        source,
    })?;
    write_new(
        &dir.join(KEY_FILE),
        key_pair.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_new(&dir.join(CERT_FILE), cert.pem().as_bytes(), 0o644)?;
    Ok(())
}

/// Creates `path` with `mode` and `contents`, never replacing an existing file.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), CertError> {
    let wrap = |source| CertError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have cleared bits of `mode`; the key must be exactly 0600 either way.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(wrap)
}

/// A private key anyone on the machine can read is as good as published.
fn refuse_world_readable(path: &Path) -> Result<(), CertError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|source| CertError::Read {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o004 != 0 {
        return Err(CertError::KeyWorldReadable {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

/// Reads a PEM certificate chain and private key and checks that they belong together.
fn load(
    host: &Hostname,
    cert_path: &Path,
    key_path: &Path,
    origin: Origin,
    provider: &CryptoProvider,
) -> Result<HostCert, CertError> {
    let invalid = |path: &Path, reason: String| CertError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let read = |path: &Path| {
        fs::read(path).map_err(|source| CertError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_path, format!("not a PEM certificate file ({e})")))?;
    let Some(end_entity) = chain.first() else {
        return Err(invalid(cert_path, "no CERTIFICATE block found".into()));
    };
    let info = cert_info(end_entity).map_err(|reason| invalid(cert_path, reason))?;

    refuse_world_readable(key_path)?;
    let key_pem = read(key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(key_path, format!("no usable PEM private key found ({e})")))?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        invalid(
            key_path,
            format!("this key cannot be used with {} ({e})", cert_path.display()),
        )
    })?;

    if info.not_after < OffsetDateTime::now_utc() {
        tracing::warn!(
            host = %host,
            file = %cert_path.display(),
            "certificate expired on {}; clients will refuse it",
            info.not_after.date()
        );
    }
    Ok(HostCert {
        hostname: host.clone(),
        key: Arc::new(certified),
        info,
        origin,
        cert_path: cert_path.to_owned(),
        key_path: key_path.to_owned(),
    })
}

/// Fingerprints and validity of a DER certificate.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
    Ok(CertInfo {
        cert_sha256: Fingerprint::of(der),
        spki_sha256: Fingerprint::of(cert.public_key().raw),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

/// Picks a certificate by SNI, falling back to the default host's.
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let by_sni = hello.server_name().and_then(|name| {
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            self.by_name.get(&name)
        });
        Some(Arc::clone(by_sni.unwrap_or(&self.default)))
    }
}

/// The rustls configuration: TLS 1.2 and 1.3 only, no early data, certificates by SNI with a
/// default. `certs` must not be empty (the config guarantees one hostname at least).
pub fn server_config(certs: &[HostCert]) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let resolver = SniResolver {
        by_name: certs
            .iter()
            .map(|c| (c.hostname.as_str().to_owned(), Arc::clone(&c.key)))
            .collect(),
        default: Arc::clone(&certs[0].key),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    // A Gemini request must never ride on replayable 0-RTT data.
    config.max_early_data_size = 0;
    // Resumption by stateless tickets (encrypted with a key that rotates), one per handshake:
    // no per-client state to store, and no linear scans of a large session cache.
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path, hosts: &[&str]) -> Config {
        Config {
            certs: dir.to_owned(),
            hostnames: hosts.iter().map(|h| h.parse().unwrap()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &["localhost", "example.org"]);
        let first = load_or_generate(&config).unwrap();
        assert_eq!(first[0].origin, Origin::Generated);
        let key_mode = fs::metadata(dir.path().join("localhost/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(key_mode & 0o777, 0o600);
        let second = load_or_generate(&config).unwrap();
        assert_eq!(second[1].origin, Origin::Stored);
        assert_eq!(first[0].info, second[0].info);
        assert_eq!(first[1].info, second[1].info);
        assert_ne!(first[0].info.spki_sha256, first[1].info.spki_sha256);
        let years = (first[0].info.not_after - first[0].info.not_before).whole_days() / 365;
        assert!(years >= 99, "{years}");
    }

    #[test]
    fn half_pair_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &["localhost"]);
        load_or_generate(&config).unwrap();
        let key = dir.path().join("localhost/key.pem");
        let key_text = fs::read(&key).unwrap();
        fs::remove_file(dir.path().join("localhost/cert.pem")).unwrap();
        let err = load_or_generate(&config).unwrap_err().to_string();
        assert!(err.contains("cert.pem does not"), "{err}");
        assert_eq!(fs::read(&key).unwrap(), key_text);
        assert!(!dir.path().join("localhost/cert.pem").exists());
    }

    #[test]
    fn broken_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let host_dir = dir.path().join("localhost");
        fs::create_dir(&host_dir).unwrap();
        fs::write(host_dir.join("cert.pem"), "garbage").unwrap();
        fs::write(host_dir.join("key.pem"), "garbage").unwrap();
        let err = load_or_generate(&config_in(dir.path(), &["localhost"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cert.pem") && err.contains("no CERTIFICATE"),
            "{err}"
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        load_or_generate(&config_in(a.path(), &["localhost"])).unwrap();
        load_or_generate(&config_in(b.path(), &["localhost"])).unwrap();
        fs::copy(
            b.path().join("localhost/key.pem"),
            a.path().join("localhost/key.pem"),
        )
        .unwrap();
        let err = load_or_generate(&config_in(a.path(), &["localhost"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key.pem") && err.contains("cannot be used with"),
            "{err}"
        );
    }

    #[test]
    fn fingerprint_format() {
        let fp = Fingerprint([0xab; 32]);
        let text = fp.to_string();
        assert_eq!(text.len(), 32 * 3 - 1);
        assert!(text.starts_with("AB:AB:"));
    }
}
