//! Certificates and the TLS configuration.
//!
//! Gemini clients pin a capsule's certificate on first use (TOFU), so a certificate, once made,
//! is never replaced: this module generates a host's pair only when neither of its files
//! exists, and it refuses to start rather than overwrite half a pair. Which pair SNI picks is
//! the host table's business (`server::host`).

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ProducesTickets, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::{Config, HostConfig, Hostname};
use crate::disk::{self, Durability, FileMode};

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
        "a reload would serve {host} with a new certificate made in {dir}, but it is served with \
         {served}, which readers' clients have pinned; a reload never replaces a served \
         certificate: check `certs` and the host's `hostnames`, or restart gemhole to make the \
         new one; the running one stays in use",
        served = served.display(),
        dir = dir.display()
    )]
    WouldReplace {
        host: Hostname,
        served: PathBuf,
        dir: PathBuf,
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

/// A certificate pair, ready for rustls, the names it is served for, and what an operator needs
/// to know about it.
#[derive(Debug, Clone)]
pub struct HostCert {
    /// The host's names this pair answers for, in the host's order.
    pub names: Vec<Hostname>,
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
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
    /// The DNS names and addresses the certificate is for (its subject alternative names).
    pub names: Vec<String>,
}

impl CertInfo {
    /// Whether a client that checks names accepts the certificate for `name` (exactly, or by a
    /// `*.` wildcard for one label).
    pub fn covers(&self, name: &Hostname) -> bool {
        let name = name.as_str();
        self.names.iter().any(|san| {
            san.eq_ignore_ascii_case(name)
                || san.strip_prefix("*.").is_some_and(|rest| {
                    name.split_once('.').is_some_and(|(label, tail)| {
                        !label.is_empty() && tail.eq_ignore_ascii_case(rest)
                    })
                })
        })
    }
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

/// Loads a host's certificates, generating a pair when one is needed and missing; for a
/// running server, `running` is what it serves now. The pair that serves the canonical name
/// comes first.
///
/// Readers pin what they were first shown, so a name keeps its pair wherever one exists:
/// 1. its `[tls."name"]` files; else, on a running server, the pair it is served with; else
///    its own `certs/<name>/` pair;
/// 2. else a pair that names it already, among those of step 1 and all in `certs/`: ours
///    before an operator's, then the oldest. Renaming or reordering a host's names, moving a
///    name to another host, or an operator's certificate that covers `www.` too, changes
///    nothing readers see;
/// 3. the names still without a pair share a new one, made for them in the folder of the first
///    of them: for a new host, `certs/<canonical>/` with every name of the host. A running
///    server never gives a name it serves another pair this way (the reload is refused), and
///    refuses a reload when a served pair's files are gone.
pub fn load_or_generate(
    host: &HostConfig,
    config: &Config,
    running: &[HostCert],
) -> Result<Vec<HostCert>, CertError> {
    served_files_there(host, running)?;
    let mut pairs = Pairs {
        list: Vec::new(),
        provider: provider(),
    };
    let pending = pairs.own(host, config, running)?;
    let rest = pairs.naming(host, config, pending);
    pairs.new_for(config, running, &rest)?;
    let mut pairs = pairs.list;
    if let Some(first) = pairs
        .iter()
        .position(|p| p.names.contains(host.canonical()))
    {
        pairs[..=first].rotate_right(1);
    }
    warn_unnamed(host, &pairs);
    Ok(pairs)
}

/// A reload is refused when a pair a name is served with (ours, not an operator's) lost its
/// files: readers pinned it.
fn served_files_there(host: &HostConfig, running: &[HostCert]) -> Result<(), CertError> {
    for name in &host.hostnames {
        if let Some(before) = running.iter().find(|c| c.names.contains(name))
            && before.origin != Origin::Operator
            && (!before.cert_path.exists() || !before.key_path.exists())
        {
            return Err(CertError::Vanished {
                host: name.clone(),
                cert: before.cert_path.clone(),
                key: before.key_path.clone(),
            });
        }
    }
    Ok(())
}

/// The pair files of a folder in `certs/`.
fn in_dir(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(CERT_FILE), dir.join(KEY_FILE))
}

/// A host's pairs as they are gathered, each loaded once however many names it serves.
struct Pairs {
    list: Vec<HostCert>,
    provider: Arc<CryptoProvider>,
}

impl Pairs {
    /// `name` is served with the pair in `files`, loaded unless another name has it already.
    fn add(
        &mut self,
        name: &Hostname,
        (cert, key): (PathBuf, PathBuf),
        origin: Origin,
    ) -> Result<(), CertError> {
        match self.list.iter_mut().find(|p| p.cert_path == cert) {
            Some(pair) => pair.names.push(name.clone()),
            None => self
                .list
                .push(load(name, &cert, &key, origin, &self.provider)?),
        }
        Ok(())
    }

    /// Step 1: each name's `[tls]` files, the pair it is served with, or its own folder's
    /// pair; the names with none of these are returned.
    fn own<'h>(
        &mut self,
        host: &'h HostConfig,
        config: &Config,
        running: &[HostCert],
    ) -> Result<Vec<&'h Hostname>, CertError> {
        let mut pending = Vec::new();
        for name in &host.hostnames {
            if let Some(paths) = config.tls.get(name) {
                let files = (paths.cert.clone(), paths.key.clone());
                self.add(name, files, Origin::Operator)?;
                continue;
            }
            // A served name keeps the pair it is served with (its files are there: see
            // above); a reload changes no certificate readers see. Only `[tls]` names other
            // files on purpose.
            if let Some(before) = running
                .iter()
                .find(|c| c.names.contains(name) && c.origin != Origin::Operator)
            {
                let files = (before.cert_path.clone(), before.key_path.clone());
                self.add(name, files, Origin::Stored)?;
                continue;
            }
            let own = config.certs.join(name.as_str());
            if stored_pair(&own)? {
                self.add(name, in_dir(&own), Origin::Stored)?;
            } else {
                pending.push(name);
            }
        }
        Ok(pending)
    }

    /// Step 2: each pending name served with a pair that names it already, ours first (an
    /// operator's may cover more than was meant), then the oldest; the order of the names
    /// and of the folder changes nothing. The names still without a pair are returned.
    fn naming<'h>(
        &mut self,
        host: &HostConfig,
        config: &Config,
        pending: Vec<&'h Hostname>,
    ) -> Vec<&'h Hostname> {
        let mut stored: Option<Vec<StoredPair>> = None;
        let mut rest = Vec::new();
        for name in pending {
            let stored = stored.get_or_insert_with(|| stored_pairs(&config.certs));
            let mut naming: Vec<(bool, jiff::Timestamp, PathBuf, PathBuf)> = self
                .list
                .iter()
                .filter(|p| p.info.covers(name))
                .map(|p| {
                    let operator = p.origin == Origin::Operator;
                    (
                        operator,
                        p.info.not_before,
                        p.cert_path.clone(),
                        p.key_path.clone(),
                    )
                })
                .chain(
                    stored
                        .iter()
                        .filter(|p| p.info.covers(name))
                        .map(|p| (false, p.info.not_before, p.cert.clone(), p.key.clone())),
                )
                .collect();
            naming.sort();
            naming.dedup_by(|a, b| a.2 == b.2);
            let mut kept = false;
            for (operator, _, cert, key) in naming {
                let origin = if operator {
                    Origin::Operator
                } else {
                    Origin::Stored
                };
                match self.add(name, (cert.clone(), key), origin) {
                    Ok(()) => {
                        kept = true;
                        break;
                    }
                    Err(e) => tracing::warn!(
                        host = %host.canonical(),
                        "not serving `{name}` with {}, which names it: {e}",
                        cert.display()
                    ),
                }
            }
            if !kept {
                rest.push(name);
            }
        }
        rest
    }

    /// Step 3: the names `rest` share a new pair in the folder of the first of them (or the
    /// pair already there); never for a name a running server serves with another pair.
    fn new_for(
        &mut self,
        config: &Config,
        running: &[HostCert],
        rest: &[&Hostname],
    ) -> Result<(), CertError> {
        let Some(first) = rest.first() else {
            return Ok(());
        };
        let dir = config.certs.join(first.as_str());
        let (cert, key) = in_dir(&dir);
        if let Some((name, before)) = rest.iter().find_map(|n| {
            running
                .iter()
                .find(|c| c.names.contains(n) && c.cert_path != cert)
                .map(|c| (n, c))
        }) {
            return Err(CertError::WouldReplace {
                host: (*name).clone(),
                served: before.cert_path.clone(),
                dir,
            });
        }
        let origin = if stored_pair(&dir)? {
            Origin::Stored
        } else {
            let names: Vec<Hostname> = rest.iter().map(|n| (*n).clone()).collect();
            generate(&names, &dir)?;
            Origin::Generated
        };
        for name in rest {
            self.add(name, (cert.clone(), key.clone()), origin)?;
        }
        Ok(())
    }
}

/// Warns of each name served with a pair that does not name it.
fn warn_unnamed(host: &HostConfig, pairs: &[HostCert]) {
    for pair in pairs {
        for name in pair.names.iter().filter(|n| !pair.info.covers(n)) {
            tracing::warn!(
                host = %host.canonical(),
                file = %pair.cert_path.display(),
                "the certificate does not name `{name}` (it names {}): clients that check names \
                 refuse it there; move the pair away to have one made for every name of the host \
                 (readers then trust it anew), or give `{name}` its own [tls] files",
                pair.info.names.join(", ")
            );
        }
    }
}

/// The largest PEM file read: a chain of a few certificates is a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Reads a PEM file: a regular file of at most [`MAX_PEM_BYTES`] (a FIFO or a device put in
/// its place must neither hang nor exhaust the server).
fn read_pem(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    if !fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "larger than 1 MiB: not a PEM certificate or key",
        ));
    }
    Ok(bytes)
}

/// A whole pair found in the certificate folder, with what its certificate says.
struct StoredPair {
    cert: PathBuf,
    key: PathBuf,
    info: CertInfo,
}

/// Every whole pair in the folder's sub-folders whose certificate can be read (the rest are
/// not looked at: a name whose pair is broken has its own folder, and step 1 reports it).
fn stored_pairs(certs: &Path) -> Vec<StoredPair> {
    let Ok(entries) = fs::read_dir(certs) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        if !key.is_file() {
            continue;
        }
        let info = read_pem(&cert).ok().and_then(|pem| {
            let der = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
            cert_info(&der).ok()
        });
        if let Some(info) = info {
            found.push(StoredPair { cert, key, info });
        }
    }
    found
}

/// Whether `dir` holds a whole certificate pair (`false`: neither file); half a pair is an
/// error, never overwritten.
fn stored_pair(dir: &Path) -> Result<bool, CertError> {
    let cert = dir.join(CERT_FILE);
    let key = dir.join(KEY_FILE);
    match (cert.exists(), key.exists()) {
        (true, true) => Ok(true),
        (false, false) => Ok(false),
        (true, false) => Err(half_pair(cert, key)),
        (false, true) => Err(half_pair(key, cert)),
    }
}

fn half_pair(present: PathBuf, missing: PathBuf) -> CertError {
    CertError::HalfPair { present, missing }
}

/// Writes a new self-signed ECDSA P-256 certificate and key into `dir`, for every one of
/// `hosts` (the first is its common name).
///
/// The files are written under temporary names and then put in place by a rename that fails
/// instead of replacing a file that appeared meanwhile (another process starting at once).
fn generate(hosts: &[Hostname], dir: &Path) -> Result<(), CertError> {
    let host = &hosts[0];
    let fail = |reason: String| CertError::Generate {
        host: host.clone(),
        reason,
    };
    let mut names: Vec<String> = hosts.iter().map(|h| h.as_str().to_owned()).collect();
    if names.iter().any(|n| n == "localhost") {
        for ip in ["127.0.0.1", "::1"] {
            if !names.iter().any(|n| n == ip) {
                names.push(ip.to_owned());
            }
        }
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| fail(e.to_string()))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host.as_str());
    let now = time::OffsetDateTime::now_utc();
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

/// Creates `path` with exactly `mode` (whatever the umask: a key is 0600) and `contents`,
/// whole and durable, never replacing an existing file.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), CertError> {
    let wrap = |source| CertError::Write {
        path: path.to_owned(),
        source,
    };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(wrap(io::ErrorKind::InvalidInput.into()));
    };
    let dir = disk::open_root(dir).map_err(wrap)?;
    disk::create_new(
        &dir,
        name,
        contents,
        FileMode::Exactly(mode),
        Durability::Synced,
    )
    .map_err(wrap)
}

/// A private key anyone on the machine can read is as good as published.
fn refuse_world_readable(path: &Path) -> Result<(), CertError> {
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
        read_pem(path).map_err(|source| CertError::Read {
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

    if info.not_after < jiff::Timestamp::now() {
        tracing::warn!(
            host = %host,
            file = %cert_path.display(),
            "certificate expired on {}; clients will refuse it",
            info.not_after.strftime("%Y-%m-%d")
        );
    }
    Ok(HostCert {
        names: vec![host.clone()],
        key: Arc::new(certified),
        info,
        origin,
        cert_path: cert_path.to_owned(),
        key_path: key_path.to_owned(),
    })
}

/// The certificate browsers are shown on a host's HTTPS listeners (`http.cert`, `http.key`),
/// served for every name of the host; `None` when it has no HTTPS listener.
pub fn load_web(host: &HostConfig) -> Result<Option<HostCert>, CertError> {
    let http = &host.http;
    let (Some(cert), Some(key)) = (&http.cert, &http.key) else {
        return Ok(None);
    };
    if http.https_listen.is_empty() {
        return Ok(None);
    }
    let mut pair = load(host.canonical(), cert, key, Origin::Operator, &provider())?;
    pair.names = host.hostnames.clone();
    Ok(Some(pair))
}

/// The TLS settings of an HTTPS listener: no client certificates (the web has none to show),
/// HTTP/1.1 offered by ALPN, sessions resumed by tickets.
pub fn web_server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    ticketer: Arc<dyn ProducesTickets>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.max_early_data_size = 0;
    config.ticketer = ticketer;
    Ok(Arc::new(config))
}

/// Fingerprints and validity of a DER certificate.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    names.push(dns.to_ascii_lowercase());
                }
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(std::net::IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok(CertInfo {
        cert_sha256: Fingerprint::of(der),
        spki_sha256: Fingerprint::of(cert.public_key().raw),
        not_before: timestamp(cert.validity().not_before),
        not_after: timestamp(cert.validity().not_after),
        names,
    })
}

/// A certificate's time as the rest of gemhole reads times (jiff's), clamped to the years jiff
/// holds (X.509 times reach 9999 too, so only a forged one is moved).
fn timestamp(time: x509_parser::time::ASN1Time) -> jiff::Timestamp {
    let second = time.timestamp();
    jiff::Timestamp::from_second(second).unwrap_or(if second < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// The key that encrypts session tickets: made once per process and shared by every
/// configuration it loads, so a reload does not void every reader's session.
pub fn ticketer() -> Result<Arc<dyn ProducesTickets>, rustls::Error> {
    rustls::crypto::ring::Ticketer::new()
}

/// The rustls configuration: TLS 1.2 and 1.3 only, no early data, client certificates asked
/// for but never required, server certificates chosen by `resolver`.
pub fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
    ticketer: Arc<dyn ProducesTickets>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = provider();
    // Every handshake asks for a client certificate (an identity) and none requires one.
    let verifier = Arc::new(super::client_certs::AnyClientCertificate::new(&provider));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    // A Gemini request must never ride on replayable 0-RTT data.
    config.max_early_data_size = 0;
    // Resumption by stateless tickets (encrypted with a key that rotates), one per handshake:
    // no per-client state to store, and no linear scans of a large session cache. Resumption
    // is bound to the name the session began with, so one key serves every host.
    config.ticketer = ticketer;
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path, hosts: &[&str]) -> Config {
        let mut config = Config {
            certs: dir.to_owned(),
            ..Config::default()
        };
        config.hosts[0].hostnames = hosts.iter().map(|h| h.parse().unwrap()).collect();
        config
    }

    fn load_or_generate(config: &Config) -> Result<Vec<HostCert>, CertError> {
        super::load_or_generate(&config.hosts[0], config, &[])
    }

    #[test]
    fn generates_one_pair_for_every_name_once_then_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &["localhost", "example.org"]);
        let first = load_or_generate(&config).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].origin, Origin::Generated);
        assert_eq!(first[0].names, config.hosts[0].hostnames);
        for name in ["localhost", "example.org", "127.0.0.1", "::1"] {
            assert!(first[0].info.covers(&name.parse().unwrap()), "{name}");
        }
        assert!(!first[0].info.covers(&"other.org".parse().unwrap()));
        let key_mode = fs::metadata(dir.path().join("localhost/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(key_mode & 0o777, 0o600);
        assert!(!dir.path().join("example.org").exists());
        let second = load_or_generate(&config).unwrap();
        assert_eq!(second[0].origin, Origin::Stored);
        assert_eq!(first[0].info, second[0].info);
        let seconds = first[0].info.not_after.as_second() - first[0].info.not_before.as_second();
        let years = seconds / (365 * 24 * 60 * 60);
        assert!(years >= 99, "{years}");
    }

    /// A pair made earlier for one name alone stays that name's: readers pinned it.
    #[test]
    fn a_names_own_earlier_pair_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let alone = load_or_generate(&config_in(dir.path(), &["example.org"])).unwrap();
        let config = config_in(dir.path(), &["localhost", "example.org", "www.example.org"]);
        let pairs = load_or_generate(&config).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].names.len(), 2);
        assert_eq!(pairs[1].names, vec!["example.org".parse().unwrap()]);
        assert_eq!(pairs[1].info, alone[0].info);
        // Its files gone, a running server refuses rather than move the name to another pair.
        fs::remove_file(dir.path().join("example.org/cert.pem")).unwrap();
        fs::remove_file(dir.path().join("example.org/key.pem")).unwrap();
        let err = super::load_or_generate(&config.hosts[0], &config, &pairs).unwrap_err();
        assert!(matches!(err, CertError::Vanished { .. }), "{err}");
    }

    /// Renaming, reordering or adding a first name keeps every name's pair; only a name no
    /// pair covers gets a new one.
    #[test]
    fn names_keep_the_pair_that_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_generate(&config_in(dir.path(), &["a.example", "www.a.example"]))
            .unwrap()
            .remove(0);
        let reordered =
            load_or_generate(&config_in(dir.path(), &["www.a.example", "a.example"])).unwrap();
        assert_eq!(reordered.len(), 1);
        assert_eq!(reordered[0].info, made.info);
        assert!(!dir.path().join("www.a.example").exists());
        let config = config_in(dir.path(), &["a.net", "a.example", "www.a.example"]);
        let renamed = load_or_generate(&config).unwrap();
        assert_eq!(renamed.len(), 2);
        assert_eq!(renamed[0].names, vec!["a.net".parse().unwrap()]);
        assert_eq!(renamed[0].origin, Origin::Generated);
        assert_eq!(renamed[1].info, made.info);
        assert_eq!(renamed[1].names.len(), 2);
        // An operator's certificate that names `www.` too serves it.
        let mut operator = config_in(
            tempfile::tempdir().unwrap().path(),
            &["a.example", "www.a.example"],
        );
        operator.tls.insert(
            "a.example".parse().unwrap(),
            crate::config::CertPaths {
                cert: made.cert_path.clone(),
                key: made.key_path.clone(),
            },
        );
        let pairs = load_or_generate(&operator).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].origin, Origin::Operator);
        assert_eq!(pairs[0].names.len(), 2);
        assert!(!operator.certs.exists());
    }

    /// A name keeps its pair when the host's first name changes, when names are added (even on
    /// reload after reload), and when it moves to another host; it is found by what the pair
    /// names, in any folder of `certs/`.
    #[test]
    fn a_name_keeps_its_pair_across_renames_reloads_and_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(&config_in(dir.path(), &["a.example", "www.a.example"]))
            .unwrap()
            .remove(0);
        let www = |pairs: &[HostCert]| info_of(pairs, "www.a.example");
        // A new first name, then the same configuration read again (a reload that changes
        // nothing): the names that had a pair keep it, and the new name's pair is its own.
        let grown = config_in(dir.path(), &["www.a.example", "a.example", "new.example"]);
        let once =
            super::load_or_generate(&grown.hosts[0], &grown, std::slice::from_ref(&first)).unwrap();
        let twice = super::load_or_generate(&grown.hosts[0], &grown, &once).unwrap();
        assert_eq!(www(&once), first.info);
        assert_eq!(www(&twice), first.info);
        assert!(dir.path().join("new.example/cert.pem").exists());
        assert!(!dir.path().join("www.a.example").exists());
        // The first name renamed, at a restart (nothing running).
        let renamed =
            load_or_generate(&config_in(dir.path(), &["c.example", "www.a.example"])).unwrap();
        assert_eq!(www(&renamed), first.info);
        // The name moved to another host.
        let mut moved = config_in(dir.path(), &["b.example", "www.a.example"]);
        moved
            .hosts
            .insert(0, config_in(dir.path(), &["a.example"]).hosts.remove(0));
        let pairs = super::load_or_generate(&moved.hosts[1], &moved, &once).unwrap();
        assert_eq!(www(&pairs), first.info);
    }

    /// Writes a self-signed pair for `names` into `dir` (as an operator's CA pair would be).
    fn operator_pair(dir: &Path, names: &[&str]) -> crate::config::CertPaths {
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.self_signed(&key_pair).unwrap();
        fs::create_dir_all(dir).unwrap();
        write_new(
            &dir.join(KEY_FILE),
            key_pair.serialize_pem().as_bytes(),
            0o600,
        )
        .unwrap();
        write_new(&dir.join(CERT_FILE), cert.pem().as_bytes(), 0o644).unwrap();
        crate::config::CertPaths {
            cert: dir.join(CERT_FILE),
            key: dir.join(KEY_FILE),
        }
    }

    fn info_of(pairs: &[HostCert], name: &str) -> CertInfo {
        let name: Hostname = name.parse().unwrap();
        pairs
            .iter()
            .find(|p| p.names.contains(&name))
            .unwrap()
            .info
            .clone()
    }

    /// The order of a host's names never decides which of two pairs naming a name serves it:
    /// ours before an operator's wildcard, at a start and on a reload.
    #[test]
    fn the_order_of_names_does_not_pick_the_pair() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let made = load_or_generate(&config_in(&certs, &["example.org", "www.example.org"]))
            .unwrap()
            .remove(0);
        let wildcard = operator_pair(
            &dir.path().join("operator"),
            &["*.example.org", "example.org"],
        );
        for names in [
            ["example.org", "www.example.org", "shop.example.org"],
            ["shop.example.org", "www.example.org", "example.org"],
        ] {
            let mut config = config_in(&certs, &names);
            config
                .tls
                .insert("shop.example.org".parse().unwrap(), wildcard.clone());
            let started = load_or_generate(&config).unwrap();
            assert_eq!(info_of(&started, "www.example.org"), made.info, "{names:?}");
            let reloaded = super::load_or_generate(&config.hosts[0], &config, &started).unwrap();
            assert_eq!(
                info_of(&reloaded, "www.example.org"),
                made.info,
                "{names:?}"
            );
        }
    }

    /// On a running server a name keeps the pair it is served with, even when another pair
    /// for it appears where the configuration now points (a mistyped `certs`, then `gemhole
    /// cert` run to look).
    #[test]
    fn a_served_name_keeps_its_pair_on_reload() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &["example.org", "www.example.org"]);
        let running = load_or_generate(&config).unwrap();
        let typo = config_in(
            &dir.path().join("typo"),
            &["example.org", "www.example.org"],
        );
        load_or_generate(&typo).unwrap();
        let reloaded = super::load_or_generate(&typo.hosts[0], &typo, &running).unwrap();
        assert_eq!(info_of(&reloaded, "example.org"), running[0].info);
        assert_eq!(info_of(&reloaded, "www.example.org"), running[0].info);
    }

    /// A pair that names a name but cannot be used (a key anyone may read) is passed over with
    /// a warning; it does not stop the server.
    #[test]
    fn an_unusable_pair_that_names_a_name_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let stale = operator_pair(&dir.path().join("old"), &["www.example.org"]);
        fs::set_permissions(&stale.key, fs::Permissions::from_mode(0o644)).unwrap();
        let pairs =
            load_or_generate(&config_in(dir.path(), &["example.org", "www.example.org"])).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].origin, Origin::Generated);
        assert_eq!(pairs[0].names.len(), 2);
    }

    /// A running server never makes a new pair for a name it serves: a mistyped `certs` on a
    /// reload keeps every served name's pair (a new name gets one where `certs` now points),
    /// and a name whose `[tls]` files are taken away is refused rather than given a new one.
    #[test]
    fn a_reload_never_makes_a_new_pair_for_a_served_name() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(&dir.path().join("certs"), &["a.example"]);
        let running = load_or_generate(&config).unwrap();
        let typo = config_in(&dir.path().join("elsewhere"), &["a.example", "b.example"]);
        let reloaded = super::load_or_generate(&typo.hosts[0], &typo, &running).unwrap();
        assert_eq!(info_of(&reloaded, "a.example"), running[0].info);
        assert!(!dir.path().join("elsewhere/a.example").exists());
        let mut operator = config_in(&dir.path().join("certs"), &["c.example"]);
        let paths = operator_pair(&dir.path().join("ca"), &["c.example"]);
        operator.tls.insert("c.example".parse().unwrap(), paths);
        let running = load_or_generate(&operator).unwrap();
        let taken_away = config_in(&dir.path().join("certs"), &["c.example"]);
        let err = super::load_or_generate(&taken_away.hosts[0], &taken_away, &running).unwrap_err();
        assert!(matches!(err, CertError::WouldReplace { .. }), "{err}");
        assert!(!dir.path().join("certs/c.example").exists());
    }

    #[test]
    fn wildcards_cover_one_label() {
        let info = CertInfo {
            names: vec!["*.example.org".into()],
            ..load_or_generate(&config_in(tempfile::tempdir().unwrap().path(), &["a.b"]))
                .unwrap()
                .remove(0)
                .info
        };
        assert!(info.covers(&"www.example.org".parse().unwrap()));
        assert!(!info.covers(&"example.org".parse().unwrap()));
        assert!(!info.covers(&"a.www.example.org".parse().unwrap()));
        assert!(!info.covers(&"notexample.org".parse().unwrap()));
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
