//! Programs that answer requests (`cgi = true` path rules): which executable a path names,
//! the environment it gets (the Gemini CGI conventions gmid, Jetforce and Molly Brown share),
//! and whether what it wrote first is a Gemini header. Running it is the server's.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::Capsule;
use super::gemini::Ask;
use crate::content::files::is_hidden;
use crate::convert::url::encode_path;

/// A program found for a request, ready to run.
#[derive(Debug, Clone)]
pub struct Program {
    /// The executable (canonical, inside the capsule).
    pub executable: PathBuf,
    /// Its path from the capsule root, as logs name it (`cgi-bin/guestbook`).
    pub name: String,
    /// The folder it runs in: its own.
    pub folder: PathBuf,
    /// The capsule it belongs to: all a confined program may read of the host's files.
    pub capsule: PathBuf,
    /// Its whole environment: nothing of the server's own is passed on.
    pub env: Vec<(String, String)>,
}

/// The `PATH` programs get: the system's, never the server's own.
const PROGRAM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl Capsule {
    /// The program a request under the `cgi` folder `folder` names: the first path, walking
    /// down from the folder, that is an executable regular file the capsule serves (never a
    /// dot-file, a secret, or reached through a link into an area or out of the capsule);
    /// what follows it is the path info. `peer` is the client's address when the operator's
    /// `log.ip` lets personal data through. Blocking: it looks at the folder.
    pub fn program(&self, folder: &[String], ask: &Ask, peer: Option<IpAddr>) -> Option<Program> {
        let segments = &ask.request.segments;
        if is_hidden(segments.iter().map(String::as_str)) {
            return None;
        }
        for end in folder.len() + 1..=segments.len() {
            let requested = segments[..end]
                .iter()
                .fold(self.root.path().to_owned(), |p, s| p.join(s));
            let target = self.root.inside(&requested)?;
            // A link may not run what lies outside the program folder.
            let real = target.strip_prefix(self.root.path()).ok()?;
            if !crate::content::files::names(real)
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .starts_with(folder)
            {
                return None;
            }
            let meta = std::fs::metadata(&target).ok()?;
            if meta.is_dir() {
                continue;
            }
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                return None;
            }
            let script: String = segments[..end]
                .iter()
                .map(|s| format!("/{}", encode_path(s)))
                .collect();
            let rest = &segments[end..];
            let mut path_info: String = rest.iter().map(|s| format!("/{s}")).collect();
            if ask.request.ends_with_slash {
                path_info.push('/');
            }
            return Some(Program {
                folder: target.parent()?.to_owned(),
                capsule: self.root.path().to_owned(),
                name: segments[..end].join("/"),
                env: environment(ask, &script, &path_info, peer),
                executable: target,
            });
        }
        None
    }
}

/// The environment of a program: CGI/1.1's variables as the Gemini servers fill them.
fn environment(
    ask: &Ask,
    script: &str,
    path_info: &str,
    peer: Option<IpAddr>,
) -> Vec<(String, String)> {
    let request = &ask.request;
    let port = ask.origin.absolute("/");
    let port = url::Url::parse(&port)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(crate::config::GEMINI_PORT);
    let host = ask.origin.host();
    let query = request.query.clone().unwrap_or_default();
    // The URL as sent: an IPv6 host in brackets.
    let mut url = match request.host.as_str() {
        h if h.contains(':') => format!("gemini://[{h}]"),
        h => format!("gemini://{h}"),
    };
    if let Some(port) = request.port {
        url.push_str(&format!(":{port}"));
    }
    url.push_str(if request.raw_path.is_empty() {
        "/"
    } else {
        &request.raw_path
    });
    if request.query.is_some() {
        url.push('?');
        url.push_str(&query);
    }
    let mut env: Vec<(String, String)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        ("SERVER_PROTOCOL".into(), "GEMINI".into()),
        (
            "SERVER_SOFTWARE".into(),
            format!("gemhole/{}", env!("CARGO_PKG_VERSION")),
        ),
        (
            "SERVER_NAME".into(),
            host.trim_matches(['[', ']']).to_owned(),
        ),
        ("SERVER_PORT".into(), port.to_string()),
        ("REQUEST_METHOD".into(), String::new()),
        ("GEMINI_URL".into(), url),
        (
            "GEMINI_URL_PATH".into(),
            if request.raw_path.is_empty() {
                "/".into()
            } else {
                request.raw_path.clone()
            },
        ),
        ("SCRIPT_NAME".into(), script.to_owned()),
        ("PATH_INFO".into(), path_info.to_owned()),
        ("QUERY_STRING".into(), query),
        ("PATH".into(), PROGRAM_PATH.into()),
    ];
    if let Some(peer) = peer {
        env.push(("REMOTE_ADDR".into(), peer.to_string()));
        env.push(("REMOTE_HOST".into(), peer.to_string()));
    }
    if let Some(identity) = &ask.identity {
        env.push(("AUTH_TYPE".into(), "CERTIFICATE".into()));
        env.push(("TLS_CLIENT_HASH".into(), identity.hash()));
        env.push(("TLS_CLIENT_AUTHORISED".into(), "0".into()));
        if let Some(name) = &identity.common_name {
            env.push(("REMOTE_USER".into(), name.clone()));
            env.push(("TLS_CLIENT_SUBJECT".into(), format!("CN={name}")));
        }
    }
    env
}

/// Why a program's answer cannot be passed on: what it wrote first is not one Gemini header
/// line (`NN meta`, the two digits a status the spec defines, at most 1024 bytes of UTF-8,
/// ended by CRLF or LF).
pub fn header_end(output: &[u8]) -> Result<usize, &'static str> {
    let Some(newline) = output.iter().take(1024 + 4).position(|&b| b == b'\n') else {
        return Err("no header line (or one longer than 1024 bytes)");
    };
    let line = &output[..newline];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| "the header is not UTF-8")?;
    let (code, meta) = match line.split_at_checked(2) {
        Some((code, rest)) if rest.is_empty() || rest.starts_with(' ') => {
            (code, rest.trim_start_matches(' '))
        }
        _ => return Err("the header does not start with a two-digit status and a space"),
    };
    let known = matches!(
        code,
        "10" | "11"
            | "20"
            | "30"
            | "31"
            | "40"
            | "41"
            | "42"
            | "43"
            | "44"
            | "50"
            | "51"
            | "52"
            | "53"
            | "59"
            | "60"
            | "61"
            | "62"
    );
    if !known {
        return Err("the header's status is not one Gemini defines");
    }
    if meta.len() > 1024 || meta.chars().any(char::is_control) {
        return Err("the header's meta is longer than 1024 bytes or holds control characters");
    }
    if code == "20" && !meta.contains('/') {
        return Err("a 20 header names its MIME type");
    }
    if code.starts_with('3') && meta.is_empty() {
        return Err("a redirect names where to");
    }
    Ok(newline + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_the_request_as_sent() {
        let ask = Ask {
            request: crate::protocol::request::parse(b"gemini://[::1]:1966/cgi/x/a%20b?q%20r")
                .unwrap(),
            origin: crate::convert::url::Origin::new("::1", 1966),
            identity: None,
        };
        let env = environment(&ask, "/cgi/x", "/a b", None);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("GEMINI_URL"),
            Some("gemini://[::1]:1966/cgi/x/a%20b?q%20r")
        );
        assert_eq!(get("SERVER_NAME"), Some("::1"));
        assert_eq!(get("SERVER_PORT"), Some("1966"));
        assert_eq!(get("QUERY_STRING"), Some("q%20r"));
        assert_eq!(get("PATH_INFO"), Some("/a b"));
        assert_eq!(get("REMOTE_ADDR"), None);
        assert_eq!(get("AUTH_TYPE"), None);
    }

    #[test]
    fn a_header_is_one_gemini_status_line() {
        assert_eq!(header_end(b"20 text/gemini\r\nHello"), Ok(16));
        assert_eq!(header_end(b"20 text/gemini\nHello"), Ok(15));
        assert_eq!(header_end(b"10 Your name?\r\n"), Ok(15));
        assert_eq!(header_end(b"51\r\n"), Ok(4));
        for bad in [
            &b"Hello world\r\n"[..],
            b"99 nope\r\n",
            b"20\r\n",
            b"31 \r\n",
            b"2 text/gemini\r\n",
            b"20text/gemini\r\n",
            b"20 text/gemini",
            b"20 text/\xffgemini\r\n",
            b"20 text/gemini\x07\r\n",
            b"",
        ] {
            assert!(
                header_end(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("20 text/{}\r\n", "x".repeat(1100));
        assert!(header_end(long.as_bytes()).is_err());
    }
}
