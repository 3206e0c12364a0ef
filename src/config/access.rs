//! Who may read and who may write: client-certificate areas (`[[area]]`) and Titan uploads
//! (`[titan]`), with the forms an operator writes them in (fingerprints as other tools print
//! them, path prefixes as URLs show them) checked and made canonical while they are read.

use std::fmt;

use serde::Deserialize;

use super::values::FileSize;

/// Part of the capsule readable only with a client certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaConfig {
    /// Every path that starts with this prefix is in the area.
    pub path: PathPrefix,
    /// The certificates let in; empty: any certificate (a reader chooses to be known).
    #[serde(default)]
    pub fingerprints: Vec<Fingerprint>,
}

/// Uploads from a Gemini client (Titan, on the Gemini port).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TitanConfig {
    /// Off: a `titan://` request is refused (`53`) as by a server without Titan.
    pub enabled: bool,
    /// The authors' certificates: the only ones that may upload, delete or ask for a source.
    pub fingerprints: Vec<Fingerprint>,
    /// A password every upload must also carry (`;token=`), if set.
    pub token: Option<Token>,
    /// Where uploads may write: path prefixes of the capsule.
    pub paths: Vec<PathPrefix>,
    /// Largest upload, in bytes.
    pub max_size: FileSize,
    /// `size=0` deletes (the file moves to the history); off: refused.
    pub allow_delete: bool,
    /// What the `paths` folders and the kept versions may hold together, in bytes: an
    /// upload that would pass it is refused.
    pub quota: FileSize,
}

impl Default for TitanConfig {
    fn default() -> Self {
        TitanConfig {
            enabled: false,
            fingerprints: Vec::new(),
            token: None,
            paths: vec![PathPrefix::try_from("/posts/".to_owned()).expect("a valid prefix")],
            max_size: FileSize(1024 * 1024),
            allow_delete: false,
            quota: FileSize(256 * 1024 * 1024),
        }
    }
}

impl TitanConfig {
    /// The folders of `paths`, each as its names (`/posts/` → `["posts"]`).
    pub fn folders(&self) -> Vec<Vec<String>> {
        self.paths.iter().map(|p| p.segments().to_vec()).collect()
    }

    /// The rules across its keys.
    pub(super) fn validate(&self) -> Result<(), String> {
        if !self.enabled {
            return Ok(());
        }
        if self.fingerprints.is_empty() {
            return Err(
                "[titan] is enabled but lists no `fingerprints`: give the SHA-256 \
                        fingerprint of each author's client certificate (in Lagrange: \
                        Identities, right-click, Copy SHA-256 Fingerprint)"
                    .into(),
            );
        }
        if self.paths.is_empty() {
            return Err("[titan] `paths` is empty: list where uploads may write, \
                        e.g. [\"/posts/\"]"
                .into());
        }
        Ok(())
    }
}

/// Checks the areas of one host: one table per prefix.
pub(super) fn validate_areas(areas: &[AreaConfig]) -> Result<(), String> {
    for (i, area) in areas.iter().enumerate() {
        if areas[..i]
            .iter()
            .any(|a| a.path.segments() == area.path.segments())
        {
            return Err(format!(
                "two [[area]] tables have the path `{}`: keep one (list every certificate in it)",
                area.path
            ));
        }
    }
    Ok(())
}

/// A folder-style prefix of the capsule's paths, written as in a URL (`/members/`): what
/// clients scope an identity to. Kept decoded and split into segments, the form requests are
/// matched in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathPrefix {
    written: String,
    segments: Vec<String>,
}

impl PathPrefix {
    /// The decoded segments (`/a/b/` → `["a", "b"]`; `/` → none).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether a path (decoded segments) is the prefix's folder or lies below it.
    pub fn covers(&self, segments: &[String]) -> bool {
        segments.starts_with(&self.segments)
    }

    /// Whether a file at `segments` lies below the prefix (not the folder itself).
    pub fn holds(&self, segments: &[String]) -> bool {
        segments.len() > self.segments.len() && self.covers(segments)
    }
}

impl fmt::Display for PathPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl TryFrom<String> for PathPrefix {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        if !written.starts_with('/') || !written.ends_with('/') {
            return Err(format!(
                "path `{written}` must start and end with `/` (a folder, as clients scope \
                 identities by URL prefix), e.g. \"/members/\""
            ));
        }
        let segments =
            decoded_segments(&written).map_err(|why| format!("path `{written}` {why}"))?;
        Ok(PathPrefix { written, segments })
    }
}

/// The names of a path of the capsule as an operator writes it (percent-encoded, as in a
/// URL), decoded; or why it can name nothing served.
pub(super) fn decoded_segments(written: &str) -> Result<Vec<String>, &'static str> {
    let mut segments = Vec::new();
    for raw in written.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| "is not UTF-8 once percent-decoded")?;
        if decoded == "." || decoded == ".." || decoded.starts_with('.') {
            return Err("has a `.` or dot-folder segment, which is never served");
        }
        if decoded
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err("encodes a control character, `/` or `\\`");
        }
        segments.push(decoded.into_owned());
    }
    Ok(segments)
}

/// A client certificate's identity: the SHA-256 of the certificate (DER), as Lagrange, Molly
/// Brown and gmid print it, or `spki:` and the SHA-256 of its public key (which stays the same
/// when the certificate is reissued with its key).
#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Fingerprint {
    Certificate([u8; 32]),
    PublicKey([u8; 32]),
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, bytes) = match self {
            Fingerprint::Certificate(b) => ("", b),
            Fingerprint::PublicKey(b) => ("spki:", b),
        };
        f.write_str(prefix)?;
        bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = String;

    /// Accepts lowercase or uppercase hex, with or without colons, after an optional
    /// `sha256:` (`SHA256:`, `sha256$`) prefix, or after `spki:`.
    fn try_from(written: String) -> Result<Self, String> {
        let lower = written.trim().to_ascii_lowercase();
        let (public_key, hex) = match lower.strip_prefix("spki:") {
            Some(rest) => (true, rest),
            None => (
                false,
                lower
                    .strip_prefix("sha256:")
                    .or_else(|| lower.strip_prefix("sha256$"))
                    .unwrap_or(&lower),
            ),
        };
        let digits: Vec<u8> = hex.bytes().filter(|&b| b != b':').collect();
        let nibble = |b: u8| (b as char).to_digit(16);
        let bytes: Option<Vec<u8>> = (digits.len() == 64)
            .then(|| {
                digits
                    .chunks(2)
                    .map(|pair| Some((nibble(pair[0])? * 16 + nibble(pair[1])?) as u8))
                    .collect()
            })
            .flatten();
        let Some(bytes) = bytes else {
            return Err(format!(
                "fingerprint `{written}` is not a SHA-256 fingerprint: 64 hex digits (colons \
                 and a `sha256:` prefix allowed), or `spki:` and 64 hex digits"
            ));
        };
        let bytes: [u8; 32] = bytes.try_into().expect("64 hex digits are 32 bytes");
        Ok(if public_key {
            Fingerprint::PublicKey(bytes)
        } else {
            Fingerprint::Certificate(bytes)
        })
    }
}

/// The `[titan] token`: compared, never shown (not in a debug print either).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Token(String);

impl Token {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(hidden)")
    }
}

impl TryFrom<String> for Token {
    type Error = String;

    fn try_from(token: String) -> Result<Self, String> {
        if token.is_empty() || token.chars().any(char::is_control) {
            return Err(
                "[titan] `token` must be a non-empty string without control \
                        characters (leave it out for none)"
                    .into(),
            );
        }
        Ok(Token(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_in_every_written_form_are_one() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let canonical = Fingerprint::try_from(hex.clone()).unwrap();
        for form in [
            colons.clone(),
            format!("sha256:{hex}"),
            format!("SHA256:{colons}"),
            format!("sha256${hex}"),
            format!(" {} ", hex.to_uppercase()),
        ] {
            assert_eq!(
                Fingerprint::try_from(form.clone()).unwrap(),
                canonical,
                "{form}"
            );
        }
        assert_eq!(canonical.to_string(), hex);
        let spki = Fingerprint::try_from(format!("SPKI:{colons}")).unwrap();
        assert_eq!(spki, Fingerprint::PublicKey([0xab; 32]));
        assert_eq!(spki.to_string(), format!("spki:{hex}"));
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(33), "spki:"] {
            let err = Fingerprint::try_from(bad.to_owned()).unwrap_err();
            assert!(err.contains("64 hex digits"), "{bad}: {err}");
        }
    }

    #[test]
    fn prefixes_are_folders_matched_by_segment() {
        let p = PathPrefix::try_from("/members/inner%20circle/".to_owned()).unwrap();
        assert_eq!(p.segments(), ["members", "inner circle"]);
        let path = |s: &str| -> Vec<String> { s.split('/').map(str::to_owned).collect() };
        assert!(p.covers(&path("members/inner circle")));
        assert!(p.covers(&path("members/inner circle/x.gmi")));
        assert!(!p.covers(&path("members/inner circles/x.gmi")));
        assert!(!p.covers(&path("members")));
        assert!(!p.holds(&path("members/inner circle")));
        assert!(p.holds(&path("members/inner circle/x.gmi")));
        let root = PathPrefix::try_from("/".to_owned()).unwrap();
        assert!(root.covers(&[]));
        for bad in [
            "members/",
            "/members",
            "/a/../b/",
            "/.git/",
            "/a/%2e%2e/",
            "/a%2Fb/",
        ] {
            assert!(PathPrefix::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_token_is_never_printed() {
        let token = Token::try_from("hunter2".to_owned()).unwrap();
        assert!(!format!("{token:?}").contains("hunter2"));
        assert!(Token::try_from(String::new()).is_err());
    }
}
