//! Readers' and authors' identities: client certificates, and the one rule that lets one in.
//! Whether an identity may see a page or upload is decided per request ([`admit`]): a resumed
//! session skips the handshake's verifier, so a certificate's dates are checked here too.
//! Pure: the handshake's side lives in the server.

use std::fmt::Write as _;

use super::status::Status;
use crate::config::Fingerprint;

/// The client certificate a connection presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// SHA-256 of the certificate (DER).
    pub certificate: [u8; 32],
    /// SHA-256 of its public key (DER SubjectPublicKeyInfo).
    pub public_key: [u8; 32],
    /// Validity, in seconds since the Unix epoch.
    not_before: i64,
    not_after: i64,
    /// The subject's common name, as a reader chose it (handed to programs as `REMOTE_USER`).
    pub common_name: Option<String>,
}

impl Identity {
    /// The identity of an end-entity certificate; `None` if it is no X.509 certificate.
    pub fn of(der: &[u8]) -> Option<Identity> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Some(Identity {
            certificate: sha256(der),
            public_key: sha256(cert.public_key().raw),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(|cn| cn.chars().filter(|c| !c.is_control()).take(256).collect()),
        })
    }

    /// The first 16 hex digits of the certificate's fingerprint: enough for a log to tell
    /// readers apart, short of a full identity.
    pub fn short(&self) -> String {
        let mut hex = String::with_capacity(16);
        for b in &self.certificate[..8] {
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }

    /// The certificate's fingerprint as programs are given it (`TLS_CLIENT_HASH`):
    /// `SHA256:` and the hex digits, as Jetforce and Molly Brown write it.
    pub fn hash(&self) -> String {
        let mut hex = String::from("SHA256:");
        for b in &self.certificate {
            let _ = write!(hex, "{b:02X}");
        }
        hex
    }

    /// Whether `fingerprint` names this identity.
    pub fn is(&self, fingerprint: &Fingerprint) -> bool {
        match fingerprint {
            Fingerprint::Certificate(f) => *f == self.certificate,
            Fingerprint::PublicKey(f) => *f == self.public_key,
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// What is asked of a certificate: the words a refusal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reading a page of a `[[area]]`.
    Area,
    /// Uploading, deleting or editing with Titan.
    Titan,
}

/// Why a request is refused for its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: Status,
    pub meta: &'static str,
    /// The id of the host's string that says it in the host's language (empty: none).
    pub id: &'static str,
}

/// Seconds since the Unix epoch: the `now` of [`admit`].
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Lets `identity` through if it is valid at `now` (seconds since the epoch) and `allowed`
/// lists it (an empty list: any certificate), else says why not.
pub fn admit(
    allowed: &[Fingerprint],
    identity: Option<&Identity>,
    now: i64,
    purpose: Purpose,
) -> Result<(), Refusal> {
    let Some(identity) = identity else {
        return Err(Refusal {
            status: Status::CertificateRequired,
            meta: match purpose {
                Purpose::Area => {
                    "This part of the capsule is for members: choose a client certificate \
                     (an identity) and try again"
                }
                Purpose::Titan => {
                    "Publishing here needs an author's client certificate: choose your \
                     identity and try again"
                }
            },
            id: match purpose {
                Purpose::Area => "cert_needed_area",
                Purpose::Titan => "cert_needed_titan",
            },
        });
    };
    if now < identity.not_before {
        return Err(Refusal {
            status: Status::CertificateNotValid,
            meta: "Your certificate is not valid yet (check your clock, or make a new identity)",
            id: "cert_not_yet_valid",
        });
    }
    if now > identity.not_after {
        return Err(Refusal {
            status: Status::CertificateNotValid,
            meta: "Your certificate has expired: make a new identity",
            id: "cert_expired",
        });
    }
    if !allowed.is_empty() && !allowed.iter().any(|f| identity.is(f)) {
        return Err(Refusal {
            status: Status::CertificateNotAuthorised,
            meta: match purpose {
                Purpose::Area => {
                    "This certificate is not let into this part of the capsule: ask its \
                     owner to add your fingerprint, or choose another identity"
                }
                Purpose::Titan => "This certificate may not publish here",
            },
            id: match purpose {
                Purpose::Area => "cert_refused_area",
                Purpose::Titan => "cert_refused_titan",
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(not_before: i64, not_after: i64) -> Identity {
        Identity {
            certificate: [1; 32],
            public_key: [2; 32],
            not_before,
            not_after,
            common_name: None,
        }
    }

    #[test]
    fn statuses_in_order_of_the_spec() {
        let id = identity(100, 200);
        let status = |allowed: &[Fingerprint], id: Option<&Identity>, now| match admit(
            allowed,
            id,
            now,
            Purpose::Area,
        ) {
            Ok(()) => 20,
            Err(r) => r.status.code(),
        };
        assert_eq!(status(&[], None, 150), 60);
        assert_eq!(status(&[], Some(&id), 150), 20);
        assert_eq!(status(&[], Some(&id), 99), 62);
        assert_eq!(status(&[], Some(&id), 201), 62);
        let other = Fingerprint::Certificate([9; 32]);
        assert_eq!(status(&[other], Some(&id), 150), 61);
        // An expired certificate is invalid before it is unknown.
        assert_eq!(status(&[other], Some(&id), 201), 62);
        assert_eq!(
            status(&[Fingerprint::Certificate([1; 32])], Some(&id), 150),
            20
        );
        assert_eq!(
            status(&[other, Fingerprint::PublicKey([2; 32])], Some(&id), 150),
            20
        );
        assert_eq!(
            status(&[Fingerprint::PublicKey([1; 32])], Some(&id), 150),
            61
        );
    }

    #[test]
    fn the_short_form_is_the_fingerprints_start() {
        let der = rcgen::generate_simple_self_signed(vec!["reader".into()])
            .unwrap()
            .cert
            .der()
            .to_vec();
        let id = Identity::of(&der).unwrap();
        let hex: String = id.certificate.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(id.short(), hex[..16]);
        assert!(id.is(&Fingerprint::try_from(hex).unwrap()));
        assert!(Identity::of(b"not a certificate").is_none());
    }
}
