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
/// from the whole line.
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
                let derived = ring::digest::digest(&ring::digest::SHA256, bytes);
                let unbound = UnboundKey::new(&aead::CHACHA20_POLY1305, derived.as_ref())
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
