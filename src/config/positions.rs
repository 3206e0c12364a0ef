//! Places in the config text: a byte span made into `file:line:column` and the line itself for
//! a message, and where the entries of `[[host]]` and `[tls."name"]` tables are written, so a
//! rule between hosts (checked once the text is deserialised and the spans are gone) can still
//! point at the line that breaks it.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;

/// Where the entries that the rules between `[[host]]` tables point at are written, taken
/// from the parsed text before it is deserialised.
pub(super) struct Positions {
    /// The `host` key's value (for `host = []`, which holds no host).
    pub(super) host_key: Range<usize>,
    /// Each `[[host]]` table's, in order.
    pub(super) hosts: Vec<Spots>,
    /// Each `[tls."name"]` table's name as written, for a name no host has.
    pub(super) tls: Vec<(String, Range<usize>)>,
}

impl Positions {
    /// The positions in a file written with `[[host]]` tables.
    pub(super) fn of(root: &DeTable<'_>, text: &str) -> Positions {
        Positions {
            host_key: root.get("host").map(Spanned::span).unwrap_or_default(),
            hosts: Spots::of(root, text),
            tls: root
                .get("tls")
                .and_then(|t| t.get_ref().as_table())
                .map(|t| {
                    t.iter()
                        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Where the entries of one `[[host]]` table are written, for messages about rules between
/// hosts.
pub(super) struct Spots {
    /// Line of the table's first entry.
    pub(super) line: usize,
    pub(super) table: Range<usize>,
    /// Whether the table has a `hostnames` key.
    pub(super) named: bool,
    pub(super) names: Vec<Range<usize>>,
    pub(super) default: Option<Range<usize>>,
    pub(super) gopher: Vec<Range<usize>>,
}

impl Spots {
    /// The spots of each `[[host]]` table, in order.
    fn of(root: &DeTable<'_>, text: &str) -> Vec<Spots> {
        let Some(hosts) = root.get("host").and_then(|h| h.get_ref().as_array()) else {
            return Vec::new();
        };
        let items = |value: Option<&Spanned<DeValue<'_>>>| -> Vec<Range<usize>> {
            value
                .and_then(|v| v.get_ref().as_array())
                .map(|a| a.iter().map(Spanned::span).collect())
                .unwrap_or_default()
        };
        hosts
            .iter()
            .map(|host| {
                let table = host.get_ref().as_table();
                let key = |name: &str| table.and_then(|t| t.get(name));
                Spots {
                    line: line_and_column(text, host.span().start).0,
                    table: host.span(),
                    named: key("hostnames").is_some(),
                    names: items(key("hostnames")),
                    default: key("default")
                        .filter(|v| v.get_ref().as_bool() == Some(true))
                        .map(Spanned::span),
                    gopher: ["listen", "proxy_listen"]
                        .into_iter()
                        .flat_map(|list| {
                            items(
                                key("gopher")
                                    .and_then(|g| g.get_ref().as_table())
                                    .and_then(|g| g.get(list)),
                            )
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// An error at a place in the config text (`None`: its start).
pub(super) fn located(
    text: &str,
    path: &Path,
    span: Option<Range<usize>>,
    message: &str,
) -> ConfigError {
    let (line, column) = span
        .map(|span| line_and_column(text, span.start))
        .unwrap_or((1, 1));
    let source_line = text.lines().nth(line - 1).unwrap_or("").trim();
    let key = key_at(text, line);
    let message = explained(message, source_line, key);
    // One line, whatever the parser wrote: a log line or a terminal shows it whole.
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// The key whose value holds `line` (1-based): the nearest `key = …` at or above it, within
/// its table (a value may span lines, as a list does).
fn key_at(text: &str, line: usize) -> Option<&str> {
    for written in text
        .lines()
        .take(line)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let written = written.trim();
        if written.starts_with('[') && !written.contains('=') {
            return None;
        }
        if let Some((key, _)) = written.split_once('=') {
            let key = key.trim();
            let bare = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if bare {
                return Some(key);
            }
        }
    }
    None
}

/// The parser's message in the operator's terms: an unknown key with the nearest valid key at
/// that place (every host key too, at the top level of the single-host form), a value of the
/// wrong type told the form the key takes, and a word left unquoted told how a text is
/// written. Other messages are prefixed by the key they are about, when one is known.
fn explained(message: &str, source_line: &str, key: Option<&str>) -> String {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((unknown, expected)) = rest.split_once('`')
    {
        let mut valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if valid.contains(&"host") {
            valid.extend(super::host::HOST_KEYS);
        }
        let near = valid
            .iter()
            .map(|k| (strsim::osa_distance(unknown, k), *k))
            .filter(|(d, k)| *d <= (k.len() / 3).max(2))
            .min();
        return match near {
            Some((_, k)) => format!("unknown key `{unknown}`: did you mean `{k}`?"),
            None if valid.is_empty() => format!("unknown key `{unknown}`: this table takes none"),
            None => format!(
                "unknown key `{unknown}` (the keys here: {})",
                valid.join(", ")
            ),
        };
    }
    let Some(key) = key else {
        return message.to_owned();
    };
    let value = source_line
        .split_once('=')
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let bare = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
        && !matches!(value, "true" | "false" | "inf" | "nan");
    if bare && message.starts_with("invalid") {
        return format!("`{key}`: a text is written in quotes: `{key} = \"{value}\"`");
    }
    if let Some(found) = message.strip_prefix("invalid type: ") {
        let found = found.split(", expected").next().unwrap_or(found);
        let form = if message.contains("expected a string") {
            Some(format!("text, in quotes: `{key} = \"…\"`"))
        } else if message.contains("expected a boolean") {
            Some(format!("true or false: `{key} = true`"))
        } else if message.contains("expected a sequence") {
            Some(format!("a list: `{key} = [\"…\"]`"))
        } else if message.contains("expected a map") || message.contains("expected struct") {
            Some(format!("a table: `[{key}]`"))
        } else if message.contains("expected i") || message.contains("expected u") {
            Some(format!("a whole number: `{key} = 10`"))
        } else {
            None
        };
        if let Some(form) = form {
            return format!("`{key}` is {form}, not {found}");
        }
    }
    if message.contains(&format!("`{key}`")) {
        return message.to_owned();
    }
    format!("`{key}`: {message}")
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_keys_are_told_with_the_nearest_and_bare_words_with_quotes() {
        use super::explained;
        let top = "unknown field `hostname`, expected one of `certs`, `listen`, `host`";
        assert_eq!(
            explained(top, "hostname = []", Some("hostname")),
            "unknown key `hostname`: did you mean `hostnames`?"
        );
        let gopher = "unknown field `public_hots`, expected one of `listen`, `public_host`";
        assert_eq!(
            explained(gopher, "public_hots = \"x\"", Some("public_hots")),
            "unknown key `public_hots`: did you mean `public_host`?"
        );
        let far = explained(
            "unknown field `zzz`, expected `listen` or `wrap`",
            "zzz = 1",
            Some("zzz"),
        );
        assert!(
            far.starts_with("unknown key `zzz` (the keys here: listen"),
            "{far}"
        );
        assert_eq!(
            explained(
                "invalid boolean, expected `false`",
                "lang = fr",
                Some("lang")
            ),
            "`lang`: a text is written in quotes: `lang = \"fr\"`"
        );
        assert_eq!(
            explained("invalid boolean", "x = true", Some("x")),
            "`x`: invalid boolean"
        );
    }

    use crate::config::parse_and_validate as parse;

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("capsule = \"c\"\nhostname = [\"x\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:2:1:"), "{text}");
        assert!(text.contains("hostname"), "{text}");
    }

    #[test]
    fn unknown_key_in_a_table_is_named() {
        let err = parse("[limits]\nmax_conections = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:2:"), "{text}");
        assert!(text.contains("max_conections"), "{text}");
    }

    #[test]
    fn invalid_value_names_line_and_expected_form() {
        let err = parse("\n[limits]\nrequest_timeout = 0\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config.toml:3:"), "{text}");
        assert!(
            text.contains("expected a whole number of seconds"),
            "{text}"
        );

        let err = parse("listen = [\"1965\"]\n").unwrap_err().to_string();
        assert!(err.starts_with("config.toml:1:"), "{err}");

        let err = parse("hostnames = [\"a/b\"]\n").unwrap_err().to_string();
        assert!(err.contains("expected a DNS name"), "{err}");

        let err = parse("lang = \"en fr\"\n").unwrap_err().to_string();
        assert!(err.contains("BCP 47"), "{err}");
    }

    #[test]
    fn errors_are_one_line_naming_the_key_and_the_form_it_takes() {
        let cases = [
            (
                "lang = fr\n",
                "config.toml:1:8: `lang`: a text is written in quotes: `lang = \"fr\"`",
            ),
            (
                "lang = 3\n",
                "`lang` is text, in quotes: `lang = \"…\"`, not integer `3`",
            ),
            (
                "capsule = \"c\"\n[gopher]\nlisten = \"0.0.0.0:70\"\n",
                "`listen` is a list",
            ),
            (
                "[limits]\nmax_connections = \"many\"\n",
                "`max_connections` is a whole number",
            ),
            (
                "hostnames = [\n  \"a.example\",\n  \"a/b\",\n]\n",
                "config.toml:1:13: `hostnames`: invalid hostname `a/b`",
            ),
            ("[log]\nip = \"yes\"\n", "`ip` is true or false"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(!err.contains('\n'), "{text:?}: {err}");
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
