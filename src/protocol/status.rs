//! The Gemini status codes this server sends. Only codes the spec defines exist here, so no
//! other code can be written to a client.

use std::fmt;

/// A response status, with its two-digit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Input,
    Success,
    RedirectTemporary,
    RedirectPermanent,
    TemporaryFailure,
    ServerUnavailable,
    CgiError,
    SlowDown,
    NotFound,
    Gone,
    ProxyRequestRefused,
    BadRequest,
    CertificateRequired,
    CertificateNotAuthorised,
    CertificateNotValid,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Input => 10,
            Status::Success => 20,
            Status::RedirectTemporary => 30,
            Status::RedirectPermanent => 31,
            Status::TemporaryFailure => 40,
            Status::ServerUnavailable => 41,
            Status::CgiError => 42,
            Status::SlowDown => 44,
            Status::NotFound => 51,
            Status::Gone => 52,
            Status::ProxyRequestRefused => 53,
            Status::BadRequest => 59,
            Status::CertificateRequired => 60,
            Status::CertificateNotAuthorised => 61,
            Status::CertificateNotValid => 62,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}
