//! Path rules (`[[path]]`, `[[host.path]]`): what an operator says of a part of the URL
//! space beside what the capsule holds (a folder listed, a redirect, a page gone, a MIME type,
//! language or charset, programs run), each table checked whole while it is read, so a
//! mistake is reported at its line.

use std::fmt;

use serde::Deserialize;

use super::access::decoded_segments;
use super::values::Lang;

/// Where a rule applies: a folder and everything beneath it (`/docs/`), or one path
/// (`/old.gmi`), written as in a URL and kept decoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathMatch {
    written: String,
    segments: Vec<String>,
    folder: bool,
}

impl PathMatch {
    /// The decoded segments (`/a/b/` → `["a", "b"]`; `/` → none).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Whether it names a folder (and all beneath it) rather than one path.
    pub fn is_folder(&self) -> bool {
        self.folder
    }

    /// Whether a request path (decoded segments) falls under it. A folder's path without its
    /// slash is under it too: it is answered by a redirect to the folder.
    pub fn covers(&self, segments: &[String], ends_with_slash: bool) -> bool {
        if self.folder {
            segments.starts_with(&self.segments)
        } else {
            segments == self.segments.as_slice() && !ends_with_slash
        }
    }

    /// How specific it is: one path beats any folder, a deeper folder a shallower one.
    pub fn specificity(&self) -> (usize, bool) {
        (self.segments.len(), !self.folder)
    }
}

impl fmt::Display for PathMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl TryFrom<String> for PathMatch {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        if !written.starts_with('/') || written.starts_with("//") {
            return Err(format!(
                "`match = \"{written}\"`: a path of the capsule starts with one `/`: a folder \
                 ends with `/` (\"/docs/\"), one page does not (\"/old.gmi\")"
            ));
        }
        if written.contains(['?', '#', '*']) {
            return Err(format!(
                "`match = \"{written}\"`: a path, without query, fragment or wildcard: a folder \
                 ending in `/` covers everything beneath it"
            ));
        }
        let segments =
            decoded_segments(&written).map_err(|why| format!("`match = \"{written}\"` {why}"))?;
        let folder = written.ends_with('/');
        Ok(PathMatch {
            written,
            segments,
            folder,
        })
    }
}

/// What a rule does with the paths it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathAction {
    /// `redirect`: `30`, or `31` when `permanent`. A folder rule whose target ends in `/`
    /// carries the rest of the path over (`/old/` → `/new/`: `/old/a.gmi` → `/new/a.gmi`).
    Redirect { to: String, permanent: bool },
    /// `gone = true`: `52`, whatever the capsule holds there.
    Gone,
    /// `cgi = true`: executables beneath are run, their output the answer.
    Cgi,
    /// Served from the capsule, with what the rule overrides.
    Serve {
        list: bool,
        mime: Option<String>,
        lang: Option<Lang>,
        charset: Option<String>,
    },
}

/// One `[[path]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "WrittenRule")]
pub struct PathRule {
    pub matches: PathMatch,
    pub action: PathAction,
}

/// A `[[path]]` table as written, before its keys are checked together.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenRule {
    #[serde(rename = "match")]
    matches: PathMatch,
    #[serde(default)]
    list: bool,
    redirect: Option<Checked<Target>>,
    permanent: Option<bool>,
    #[serde(default)]
    gone: bool,
    mime: Option<Checked<Mime>>,
    lang: Option<Lang>,
    charset: Option<Checked<Charset>>,
    #[serde(default)]
    cgi: bool,
}

impl TryFrom<WrittenRule> for PathRule {
    type Error = String;

    fn try_from(w: WrittenRule) -> Result<Self, String> {
        let matches = w.matches;
        let at = format!("[[path]] `{matches}`");
        let overrides = w.list || w.mime.is_some() || w.lang.is_some() || w.charset.is_some();
        let answers = [w.redirect.is_some(), w.gone, w.cgi];
        if answers.iter().filter(|a| **a).count() > 1 {
            return Err(format!(
                "{at}: `redirect`, `gone` and `cgi` each decide the whole answer: keep one"
            ));
        }
        if w.permanent.is_some() && w.redirect.is_none() {
            return Err(format!("{at}: `permanent` goes with `redirect`"));
        }
        if overrides && answers.iter().any(|a| *a) {
            let which = if w.cgi {
                "a program writes its own header"
            } else {
                "nothing is served there"
            };
            return Err(format!(
                "{at}: `list`, `mime`, `lang` and `charset` do not go with `redirect`, `gone` \
                 or `cgi` ({which})"
            ));
        }
        if (w.list || w.cgi) && !matches.is_folder() {
            return Err(format!(
                "{at}: `list` and `cgi` apply to a folder: write `match` with a final `/`"
            ));
        }
        let action = if let Some(Checked(to, _)) = w.redirect {
            let into_itself = if matches.is_folder() {
                to.starts_with(&matches.written)
            } else {
                to == matches.written
            };
            if into_itself {
                return Err(format!(
                    "{at}: `redirect = \"{to}\"` leads back under its own `match`: a reader would \
                     be sent round without end"
                ));
            }
            PathAction::Redirect {
                to,
                permanent: w.permanent.unwrap_or(false),
            }
        } else if w.gone {
            PathAction::Gone
        } else if w.cgi {
            PathAction::Cgi
        } else if overrides {
            PathAction::Serve {
                list: w.list,
                mime: w.mime.map(|m| m.0),
                lang: w.lang,
                charset: w.charset.map(|c| c.0),
            }
        } else {
            return Err(format!(
                "{at} sets nothing: give one of `list`, `redirect`, `gone`, `mime`, `lang`, \
                 `charset`, `cgi`"
            ));
        };
        Ok(PathRule { matches, action })
    }
}

/// A value of one key checked on its own, so a mistake is told at its line: `K` says how.
#[derive(Deserialize)]
#[serde(try_from = "String", bound(deserialize = "K: Check"))]
struct Checked<K>(String, std::marker::PhantomData<K>);

/// How a [`Checked`] value is checked.
trait Check {
    fn check(value: String) -> Result<String, String>;
}

impl<K: Check> TryFrom<String> for Checked<K> {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        K::check(value).map(|v| Checked(v, std::marker::PhantomData))
    }
}

/// A redirect's target: a path of the capsule (`/new/`) or an absolute URL
/// (`gemini://elsewhere.example/`), one line a status line can carry.
struct Target;

impl Check for Target {
    fn check(to: String) -> Result<String, String> {
        let fits = !to.is_empty()
            && to.len() <= 1024
            && !to.chars().any(|c| c.is_control() || c.is_whitespace());
        let path = to.starts_with('/') && !to.starts_with("//");
        let url = url::Url::parse(&to).is_ok_and(|u| u.has_host() || u.scheme() == "mailto");
        if fits && (path || url) {
            Ok(to)
        } else {
            Err(format!(
                "`redirect = \"{to}\"`: expected a path of this capsule (\"/new/\") or an \
                 absolute URL (\"gemini://example.org/new/\"), one line without spaces, at \
                 most 1024 bytes"
            ))
        }
    }
}

/// A MIME type without parameters (`charset` and `lang` are keys of their own).
struct Mime;

impl Check for Mime {
    fn check(mime: String) -> Result<String, String> {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        match mime.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) => Ok(mime.to_ascii_lowercase()),
            _ => Err(format!(
                "`mime = \"{mime}\"`: expected a MIME type such as \"text/plain\", without \
                 parameters (`charset` and `lang` are keys of their own)"
            )),
        }
    }
}

/// A charset name as IANA registers them (`utf-8`, `iso-8859-1`).
struct Charset;

impl Check for Charset {
    fn check(name: String) -> Result<String, String> {
        let ok = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b));
        if ok {
            Ok(name.to_ascii_lowercase())
        } else {
            Err(format!(
                "`charset = \"{name}\"`: expected a charset name such as \"iso-8859-1\""
            ))
        }
    }
}

/// Checks one host's rules together: one table per `match`.
pub(super) fn validate_rules(rules: &[PathRule]) -> Result<(), String> {
    for (i, rule) in rules.iter().enumerate() {
        if rules[..i].iter().any(|r| r.matches == rule.matches) {
            return Err(format!(
                "two [[path]] tables have `match = \"{}\"`: keep one",
                rule.matches
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_and_validate as parse;

    fn rule(body: &str) -> Result<PathRule, String> {
        let text = format!("capsule = \"c\"\n[[path]]\n{body}\n");
        parse(&text)
            .map(|c| c.hosts[0].paths[0].clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_rule_reads_its_keys_and_checks_them_together() {
        let r = rule("match = \"/old/\"\nredirect = \"/new/\"\npermanent = true").unwrap();
        assert_eq!(
            r.action,
            PathAction::Redirect {
                to: "/new/".into(),
                permanent: true
            }
        );
        assert!(r.matches.covers(&["old".into(), "a.gmi".into()], false));
        let r = rule("match = \"/a%20b.txt\"\nmime = \"Text/Plain\"\ncharset = \"ISO-8859-1\"")
            .unwrap();
        assert!(r.matches.covers(&["a b.txt".into()], false));
        assert!(!r.matches.covers(&["a b.txt".into(), "x".into()], false));
        assert_eq!(
            r.action,
            PathAction::Serve {
                list: false,
                mime: Some("text/plain".into()),
                lang: None,
                charset: Some("iso-8859-1".into())
            }
        );
        for (body, said) in [
            ("match = \"docs/\"\nlist = true", "starts with one `/`"),
            ("match = \"/x/\"", "sets nothing"),
            ("match = \"/x/\"\ngone = true\ncgi = true", "keep one"),
            ("match = \"/x\"\nlist = true", "apply to a folder"),
            ("match = \"/x/\"\npermanent = true", "goes with `redirect`"),
            (
                "match = \"/x/\"\nredirect = \"new\"",
                "expected a path of this capsule",
            ),
            (
                "match = \"/x/\"\nredirect = \"//evil.example/\"",
                "expected a path",
            ),
            (
                "match = \"/x/\"\nmime = \"text/plain; charset=x\"",
                "without parameters",
            ),
            (
                "match = \"/x/\"\ncgi = true\nmime = \"text/plain\"",
                "writes its own header",
            ),
            ("match = \"/../\"\nlist = true", "dot-folder segment"),
            ("match = \"/x/*.gmi\"\nlist = true", "wildcard"),
            ("match = \"/x/\"\nlsit = true", "did you mean `list`?"),
            (
                "match = \"/a/\"\nredirect = \"/a/b/\"",
                "leads back under its own",
            ),
            (
                "match = \"/a.gmi\"\nredirect = \"/a.gmi\"",
                "leads back under its own",
            ),
        ] {
            let err = rule(body).unwrap_err();
            assert!(err.contains(said), "{body}: {err}");
            assert!(err.starts_with("config.toml:"), "{body}: {err}");
        }
    }

    #[test]
    fn a_bad_value_is_told_at_its_own_line() {
        for (body, line) in [
            ("match = \"/x/\"\nmime = \"bad\"", "config.toml:4:"),
            (
                "match = \"/x/\"\nlist = true\ncharset = \"a b\"",
                "config.toml:5:",
            ),
            ("match = \"/x/\"\nredirect = \"x y\"", "config.toml:4:"),
            ("list = true\nmatch = \"x/\"", "config.toml:4:"),
        ] {
            let err = rule(body).unwrap_err();
            assert!(err.starts_with(line), "{body}: {err}");
        }
    }

    #[test]
    fn one_table_per_match_and_the_top_level_rules_are_every_host_s() {
        let err = parse(
            "capsule = \"c\"\n[[path]]\nmatch = \"/x/\"\nlist = true\n[[path]]\nmatch = \"/x/\"\ngone = true\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("two [[path]] tables"), "{err}");
        let config = parse(
            "[[path]]\nmatch = \"/pub/\"\nlist = true\n[[path]]\nmatch = \"/x/\"\ngone = true\n\
             [[host]]\nhostnames = [\"a.example\"]\n[[host.path]]\nmatch = \"/x/\"\nlist = true\n\
             [[host]]\nhostnames = [\"b.example\"]\n",
        )
        .unwrap();
        let matches = |i: usize| -> Vec<String> {
            config.hosts[i]
                .paths
                .iter()
                .map(|r| format!("{} {:?}", r.matches, r.action))
                .collect()
        };
        assert_eq!(matches(0).len(), 2, "{:?}", matches(0));
        assert!(matches(0)[0].starts_with("/x/ Serve"), "{:?}", matches(0));
        assert!(matches(0)[1].starts_with("/pub/"), "{:?}", matches(0));
        assert_eq!(matches(1).len(), 2, "{:?}", matches(1));
    }
}
