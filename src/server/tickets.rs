//! Session tickets encrypted with keys from a file shared by every node behind a balancer, so
//! a reader who resumes on another node than the one that issued its ticket still resumes.
//!
//! The file is HAProxy's `tls-ticket-keys` format, so one file and one rotation job serve
//! HAProxy and every gemhole node: one base64 line per key (48 or 80 bytes, e.g. `openssl rand
//! 80 | openssl base64 -A`). The last three keys decrypt and the second-to-last encrypts: a new
//! key is appended (and the file reloaded everywhere) before any node encrypts with it.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;

/// Keys taken from the end of the file for decryption (HAProxy's `TLS_TICKETS_NO`).
const KEYS_USED: usize = 3;

/// A ticket's lifetime hint to clients: keys are meant to rotate every 12 hours.
const LIFETIME_SECONDS: u32 = 12 * 60 * 60;

/// The longest ticket decrypted: a ticket holds a session and, with client certificates, their
/// chain; anything longer is not one of ours (and is attacker-controlled input).
const MAX_TICKET_BYTES: usize = 16 * 1024;

/// The largest key file read: hundreds of keys.
const MAX_FILE_BYTES: u64 = 64 * 1024;

const NAME_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;

/// HKDF's salt and info for a ticket key: what the key is for, so the same line of the file
/// gives this use a key of its own (HAProxy reads the same line its own way).
const HKDF_SALT: &[u8] = b"gemhole TLS session tickets";
const HKDF_INFO: &[u8] = b"ChaCha20-Poly1305 ticket key";

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TicketKeyError {
    #[error("cannot read the ticket key file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{path} can be read by other users (mode {mode:o}); ticket keys decrypt readers' \
         sessions: run `chmod 600 {path}`",
        path = path.display()
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error("{path}:{line}: {reason}", path = path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path} holds no key: write one base64 line per key (`openssl rand 80 | openssl base64 -A`)", path = path.display())]
    Empty { path: PathBuf },
}

/// One key: its name (the first 16 bytes, carried in each ticket) and an AEAD key derived
/// from the whole line ([`derive`]).
struct TicketKey {
    name: [u8; NAME_BYTES],
    key: LessSafeKey,
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey")
    }
}

/// Encrypts with the second-to-last key of the file, decrypts with the last three.
#[derive(Debug)]
pub struct FileTicketer {
    encrypt: usize,
    keys: Vec<TicketKey>,
    random: SystemRandom,
}

impl FileTicketer {
    /// Reads the key file; refused unless only its owner may read it.
    pub fn load(path: &Path) -> Result<FileTicketer, TicketKeyError> {
        let read = |source| TicketKeyError::Read {
            path: path.to_owned(),
            source,
        };
        let meta = fs::metadata(path).map_err(read)?;
        // A FIFO or device must not hang the start, nor a huge file fill the memory.
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            return Err(TicketKeyError::Read {
                path: path.to_owned(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file of at most 64 KiB",
                ),
            });
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(TicketKeyError::Readable {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
        let text = fs::read_to_string(path).map_err(read)?;
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let invalid = |reason: String| TicketKeyError::Invalid {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(line)
                .map_err(|e| invalid(format!("not base64 ({e})")))?;
            if bytes.len() != 48 && bytes.len() != 80 {
                return Err(invalid(format!(
                    "a key is 48 or 80 bytes, this one {} (`openssl rand 80 | openssl base64 -A`)",
                    bytes.len()
                )));
            }
            lines.push(bytes);
        }
        if lines.is_empty() {
            return Err(TicketKeyError::Empty {
                path: path.to_owned(),
            });
        }
        let used = &lines[lines.len().saturating_sub(KEYS_USED)..];
        let keys = used
            .iter()
            .map(|bytes| {
                let mut name = [0u8; NAME_BYTES];
                name.copy_from_slice(&bytes[..NAME_BYTES]);
                let unbound = UnboundKey::new(&aead::CHACHA20_POLY1305, &derive(bytes))
                    .expect("a 32-byte key");
                TicketKey {
                    name,
                    key: LessSafeKey::new(unbound),
                }
            })
            .collect::<Vec<_>>();
        Ok(FileTicketer {
            encrypt: keys.len().saturating_sub(2),
            keys,
            random: SystemRandom::new(),
        })
    }
}

/// The AEAD key of one line of the key file (all its bytes, 48 or 80).
///
/// HKDF (extract, then expand, with SHA-256), not a bare hash of the line: it is the key
/// derivation made for this, the salt and info bind the key to this one purpose (a key
/// derived from the same line for anything else, by gemhole or by HAProxy, which uses the
/// line's bytes as keys directly, has nothing in common with it), and a line that is less
/// than uniformly random (written by hand) is still turned into a uniform key. Every node
/// must derive the same key from the same line: nodes of a version that derived it otherwise
/// do not open each other's tickets (their clients make a full handshake instead).
fn derive(line: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT)
        .extract(line)
        .expand(&[HKDF_INFO], &aead::CHACHA20_POLY1305)
        .and_then(|okm| okm.fill(&mut key))
        .expect("32 bytes are within HKDF-SHA-256's output");
    key
}

impl ProducesTickets for FileTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME_SECONDS
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let key = &self.keys[self.encrypt];
        let mut nonce = [0u8; NONCE_BYTES];
        self.random.fill(&mut nonce).ok()?;
        let mut sealed = plain.to_vec();
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(key.name),
                &mut sealed,
            )
            .ok()?;
        let mut ticket = Vec::with_capacity(NAME_BYTES + NONCE_BYTES + sealed.len());
        ticket.extend_from_slice(&key.name);
        ticket.extend_from_slice(&nonce);
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        if cipher.len() > MAX_TICKET_BYTES || cipher.len() < NAME_BYTES + NONCE_BYTES {
            return None;
        }
        let (name, rest) = cipher.split_at(NAME_BYTES);
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let key = self.keys.iter().find(|k| k.name == name)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut opened = sealed.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(key.name), &mut opened)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_line(seed: u8, len: usize) -> String {
        let bytes: Vec<u8> = (0..len)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn file(dir: &Path, name: &str, lines: &[String], mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_ticket_from_one_node_opens_on_another_with_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = [key_line(1, 80), key_line(2, 80), key_line(3, 48)];
        let path = file(dir.path(), "keys", &keys, 0o600);
        let (a, b) = (
            FileTicketer::load(&path).unwrap(),
            FileTicketer::load(&path).unwrap(),
        );
        let ticket = a.encrypt(b"session state").unwrap();
        assert_eq!(b.decrypt(&ticket).as_deref(), Some(&b"session state"[..]));
        // Another file's keys open nothing, and a tampered ticket opens nowhere.
        let other = file(dir.path(), "other", &[key_line(9, 80)], 0o600);
        assert_eq!(FileTicketer::load(&other).unwrap().decrypt(&ticket), None);
        let mut tampered = ticket.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(b.decrypt(&tampered), None);
        assert_eq!(b.decrypt(&[0u8; 10]), None);
        assert_eq!(b.decrypt(&vec![0u8; MAX_TICKET_BYTES + 1]), None);
    }

    /// HAProxy's rule: appending a key makes it decrypt at once and encrypt one rotation later;
    /// the last three decrypt.
    #[test]
    fn rotation_follows_haproxys_rule() {
        let dir = tempfile::tempdir().unwrap();
        let before = file(
            dir.path(),
            "before",
            &[key_line(1, 80), key_line(2, 80), key_line(3, 80)],
            0o600,
        );
        let after = file(
            dir.path(),
            "after",
            &[
                key_line(1, 80),
                key_line(2, 80),
                key_line(3, 80),
                key_line(4, 80),
            ],
            0o600,
        );
        let (old, new) = (
            FileTicketer::load(&before).unwrap(),
            FileTicketer::load(&after).unwrap(),
        );
        // Old nodes encrypt with key 2, which new ones still read; new nodes encrypt with key 3,
        // which old ones read too.
        assert!(new.decrypt(&old.encrypt(b"x").unwrap()).is_some());
        assert!(old.decrypt(&new.encrypt(b"x").unwrap()).is_some());
        // Key 1 has left the window of the new file.
        let first = file(dir.path(), "first", &[key_line(1, 80)], 0o600);
        let ticket = FileTicketer::load(&first).unwrap().encrypt(b"x").unwrap();
        assert!(old.decrypt(&ticket).is_some());
        assert!(new.decrypt(&ticket).is_none());
    }

    /// The same line always gives the same key, any other line another: nodes that share the
    /// file open each other's tickets, and the derivation (HKDF-SHA-256 with this salt and
    /// info) is pinned by a known answer, computed apart from ring, so no change to it goes
    /// unnoticed.
    #[test]
    fn one_line_gives_one_key_and_another_line_another() {
        let line = |seed: u8| {
            base64::engine::general_purpose::STANDARD
                .decode(key_line(seed, 80))
                .unwrap()
        };
        assert_eq!(derive(&line(1)), derive(&line(1)));
        assert_ne!(derive(&line(1)), derive(&line(2)));
        // One byte apart, past the name that every ticket shows: another key.
        let mut near = line(1);
        *near.last_mut().unwrap() ^= 1;
        assert_ne!(derive(&line(1)), derive(&near));
        // Not the bare hash the line once was turned into.
        let hashed = ring::digest::digest(&ring::digest::SHA256, &line(1));
        assert_ne!(&derive(&line(1))[..], hashed.as_ref());
        let hex: String = derive(&[0u8; 80])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "f94d4f1ed3ac2b3bcd525801df0a3d03e6a3d8162421837091a4874c989f7e94"
        );
    }

    /// A key file as operators write it (`openssl rand 80 | openssl base64 -A`, a line each,
    /// blank lines and spaces around them allowed, keys of 80 and 48 bytes) loads as it always
    /// has: the last three decrypt, the second-to-last encrypts, each by its line's key.
    #[test]
    fn an_existing_key_file_loads_as_it_is() {
        const FILE: &str = "\
JTA7RlFcZ3J9iJOeqbS/ytXg6/YBDBciLThDTllkb3qFkJumsbzH0t3o8/4JFB8qNUBLVmFsd4KNmKOuucTP2uXw+wYRHCcyPUhTXml0f4o=

  SlVga3aBjJeirbjDztnk7/oFEBsmMTxHUl1oc36JlJ+qtcDL1uHs9wINGCMuOURPWmVwe4aRnKeyvcjT3un0/woVICs2QUxXYm14g46ZpK8=
b3qFkJumsbzH0t3o8/4JFB8qNUBLVmFsd4KNmKOuucTP2uXw+wYRHCcyPUhTXml0
";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        fs::write(&path, FILE).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let ticketer = FileTicketer::load(&path).unwrap();
        let lines: Vec<Vec<u8>> = FILE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| base64::engine::general_purpose::STANDARD.decode(l).unwrap())
            .collect();
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [80, 80, 48]);
        let names: Vec<&[u8]> = ticketer.keys.iter().map(|k| &k.name[..]).collect();
        let expected: Vec<&[u8]> = lines.iter().map(|l| &l[..NAME_BYTES]).collect();
        assert_eq!(names, expected);
        // Sealed by the second line's key, under its name: what the ticketer makes and opens.
        let ticket = ticketer.encrypt(b"session").unwrap();
        assert_eq!(&ticket[..NAME_BYTES], &lines[1][..NAME_BYTES]);
        let key = UnboundKey::new(&aead::CHACHA20_POLY1305, &derive(&lines[1])).unwrap();
        let (name, rest) = ticket.split_at(NAME_BYTES);
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let mut opened = sealed.to_vec();
        let plain = LessSafeKey::new(key)
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).unwrap(),
                Aad::from(name),
                &mut opened,
            )
            .unwrap();
        assert_eq!(plain, b"session");
        assert_eq!(ticketer.decrypt(&ticket).as_deref(), Some(&b"session"[..]));
    }

    #[test]
    fn a_file_others_may_read_or_a_bad_line_is_refused_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let open = file(dir.path(), "open", &[key_line(1, 80)], 0o644);
        let err = FileTicketer::load(&open).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("open"), "{err}");
        let short = file(
            dir.path(),
            "short",
            &[key_line(1, 80), key_line(2, 32)],
            0o600,
        );
        let err = FileTicketer::load(&short).unwrap_err().to_string();
        assert!(
            err.contains("short:2:") && err.contains("48 or 80 bytes"),
            "{err}"
        );
        let garbage = file(dir.path(), "garbage", &["not base64!".into()], 0o600);
        let err = FileTicketer::load(&garbage).unwrap_err().to_string();
        assert!(err.contains("garbage:1: not base64"), "{err}");
        // A FIFO in its place (it would never end) and a huge file are refused at once.
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .args(["-m", "600"])
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = FileTicketer::load(&fifo).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let lines: Vec<String> = (0..1000).map(|i| key_line(i as u8, 80)).collect();
        let huge = file(dir.path(), "huge", &lines, 0o600);
        let err = FileTicketer::load(&huge).unwrap_err().to_string();
        assert!(err.contains("at most 64 KiB"), "{err}");
        let empty = file(dir.path(), "empty", &[], 0o600);
        assert!(matches!(
            FileTicketer::load(&empty),
            Err(TicketKeyError::Empty { .. })
        ));
    }
}
