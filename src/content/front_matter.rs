//! Front matter: the YAML (`---`) or TOML (`+++`) block at the very top of a Markdown post, or
//! the JSON object (`{` … `}`) Hugo also reads there.
//!
//! It is split off here, at byte 0 only, instead of by pulldown-cmark: its metadata-block
//! option also fires in the middle of a document (a `---` … `---` pair around a heading) and
//! swallows text. Errors carry the line number *in the whole file*, so an author can jump to it.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// The syntax of a front-matter block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
    /// A JSON object, with its braces: read as YAML, of which JSON is a part.
    Json,
}

/// A document cut into its front matter and its Markdown body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The front-matter text (without its fences), if the document has a block.
    pub front: Option<Block<'a>>,
    /// The Markdown after the closing fence (or the whole text, minus a BOM).
    pub body: &'a str,
    /// 1-based line number of the body's first line in the file.
    pub body_line: usize,
    /// A first line that is a fence (`---`, `+++`) opening nothing that reads as metadata: the
    /// file is Markdown from its first line (a rule, a setext heading), and the author is told.
    pub not_front_matter: Option<FrontMatterError>,
}

/// The text between the fences and where it sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    pub format: Format,
    pub text: &'a str,
    /// 1-based line number of the block's first line in the file.
    pub first_line: usize,
}

/// What an author got wrong, with the 1-based line of the file it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FrontMatterError {
    pub line: usize,
    pub message: String,
}

/// Splits `text` into front matter and body. A document whose first line with text is a fence
/// (`---` or `+++`, after an optional BOM; blank lines and spaces before it are forgiven, as an
/// author cannot see them) holds front matter when what follows reads as metadata (its first
/// line with text sets a key, or the block is empty): then it must close with the same fence
/// (YAML also accepts `...`), or it is an error rather than a guess, so a broken post is
/// reported instead of leaking its metadata to readers. A fence followed by anything else
/// (`---` then prose: a rule, or a setext heading) is Markdown, as CommonMark reads it. A JSON
/// object is front matter too (see [`split_json`]).
pub fn split(text: &str) -> Result<Split<'_>, FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut start = text;
    let mut line = 1;
    let (first, rest) = loop {
        let (first, rest) = next_line(start);
        if !first.trim().is_empty() || rest.is_empty() {
            break (first, rest);
        }
        start = rest;
        line += 1;
    };
    if let Some(json) = split_json(start, line) {
        return json;
    }
    let (format, closers): (Format, &[&str]) = match first.trim() {
        "---" => (Format::Yaml, &["---", "..."]),
        "+++" => (Format::Toml, &["+++"]),
        // A YAML document start may carry a comment (`--- # front matter`).
        fence
            if fence
                .strip_prefix("---")
                .is_some_and(|c| c.trim_start().starts_with('#')) =>
        {
            (Format::Yaml, &["---", "..."])
        }
        _ => return Ok(Split::markdown(text, None)),
    };
    let mut offset = 0;
    let mut remaining = rest;
    let mut block_lines = 0;
    let mut closed = None;
    while !remaining.is_empty() {
        let (closer, after) = next_line(remaining);
        // Only at the start of a line: an indented `---` is text inside a YAML value.
        if closers.contains(&closer.trim_end()) {
            closed = Some(after);
            break;
        }
        offset += remaining.len() - after.len();
        remaining = after;
        block_lines += 1;
    }
    let block = &rest[..offset];
    let reads_as_metadata = || {
        closed.is_some()
            && Block {
                format,
                text: block,
                first_line: line + 1,
            }
            .parse::<Entries>()
            .is_ok()
    };
    match metadata_start(format, block) {
        Start::Key => {}
        Start::Nothing if closed.is_some() => {}
        // Metadata all the same (`my title: x`, an anchor, a tag, a complex key): read it.
        Start::Text if reads_as_metadata() => {}
        // Not metadata, but it says whether the page is a draft: withheld, never shown.
        Start::Text if says_draft(block, closed.is_some()) => {
            return Err(FrontMatterError {
                line,
                message: format!(
                    "the block opened with `{}` is not valid front matter, but it sets `draft` \
                     or `published`: the page is withheld until the block reads as metadata",
                    first.trim()
                ),
            });
        }
        Start::Nothing | Start::Text => {
            let note = FrontMatterError {
                line,
                message: format!(
                    "the first line `{}` opens no front matter (the lines after it set no \
                     `key{}` value): read as Markdown, where it is a rule or underlines a heading",
                    first.trim(),
                    match format {
                        Format::Yaml | Format::Json => ":",
                        Format::Toml => " =",
                    }
                ),
            };
            return Ok(Split::markdown(text, Some(note)));
        }
    }
    if let Some(after) = closed {
        return Ok(Split {
            front: Some(Block {
                format,
                text: block,
                first_line: line + 1,
            }),
            body: after,
            body_line: line + block_lines + 2,
            not_front_matter: None,
        });
    }
    Err(FrontMatterError {
        line,
        message: format!(
            "front matter opened with `{}` is never closed (add a line `{}` after it)",
            first.trim(),
            closers[0]
        ),
    })
}

/// Hugo's JSON front matter: an object whose `{` opens the file and whose first member is a
/// key (or which is empty), up to its matching `}` (braces inside strings do not count); the
/// body starts on the line after it. `None` when the file opens with no such object: a
/// shortcode or template tag (`{{< x >}}`, `{% x %}`, `{{ x }}`) or prose in braces is
/// Markdown. An object that never closes is an error at its first line, as an unclosed fence
/// is.
fn split_json(start: &str, line: usize) -> Option<Result<Split<'_>, FrontMatterError>> {
    let object = start.trim_start_matches([' ', '\t']);
    let mut tokens = JsonTokens::new(object);
    if !matches!(tokens.next(), Some((_, Token::Open(b'{')))) {
        return None;
    }
    let Some((_, Token::Key(_) | Token::Close)) = tokens.next() else {
        return None;
    };
    let Some(end) = object_end(object) else {
        return Some(Err(FrontMatterError {
            line,
            message: "JSON front matter opened with `{` has no matching `}` (a brace or a \
                      quote is missing)"
                .into(),
        }));
    };
    let after = &object[end..];
    // The rest of the closing brace's line is no part of the body when it is blank.
    let (rest_of_line, next) = next_line(after);
    let body = if rest_of_line.trim().is_empty() {
        next
    } else {
        after
    };
    Some(Ok(Split {
        front: Some(Block {
            format: Format::Json,
            text: &object[..end],
            first_line: line,
        }),
        body,
        body_line: line + start[..start.len() - body.len()].matches('\n').count(),
        not_front_matter: None,
    }))
}

/// The length of the JSON object or array `text` opens with (up to its matching closer);
/// `None` when it never closes.
fn object_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, token) in JsonTokens::new(text) {
        match token {
            Token::Open(_) => depth += 1,
            Token::Close => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            Token::Key(_) | Token::Other => {}
        }
    }
    None
}

/// What JSON text is made of, as far as finding an object's end and its keys needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// `{` or `[`.
    Open(u8),
    /// `}` or `]`.
    Close,
    /// A string followed by `:` (which it takes), as written between its quotes.
    Key(&'a str),
    /// A value, a comma, or a string that never closes (the last token).
    Other,
}

/// The tokens of JSON text, each with its byte offset; strings are skipped whole, escapes and
/// all, so a brace inside one is text.
struct JsonTokens<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> JsonTokens<'a> {
    fn new(text: &'a str) -> JsonTokens<'a> {
        JsonTokens { text, at: 0 }
    }

    /// The offset just past the string whose opening quote is at `quote`, if it closes.
    fn string_end(&self, quote: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = quote + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }
}

impl<'a> Iterator for JsonTokens<'a> {
    type Item = (usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
        let at = self.at;
        let token = match *bytes.get(at)? {
            open @ (b'{' | b'[') => Token::Open(open),
            b'}' | b']' => Token::Close,
            b'"' => {
                let Some(end) = self.string_end(at) else {
                    self.at = bytes.len();
                    return Some((at, Token::Other));
                };
                let colon = self.text[end..].trim_start();
                self.at = end;
                return Some((
                    at,
                    match colon.strip_prefix(':') {
                        Some(after) => {
                            self.at = self.text.len() - after.len();
                            Token::Key(&self.text[at + 1..end - 1])
                        }
                        None => Token::Other,
                    },
                ));
            }
            _ => {
                // A number, a word, a comma: up to the next thing that matters.
                let first = self.text[at..].chars().next().map_or(1, char::len_utf8);
                let len = self.text[at + first..]
                    .find(|c: char| c.is_ascii_whitespace() || "{}[]\",:".contains(c))
                    .unwrap_or(self.text.len() - at - first);
                self.at = at + first + len;
                return Some((at, Token::Other));
            }
        };
        self.at = at + 1;
        Some((at, token))
    }
}

impl<'a> Split<'a> {
    /// The whole text as Markdown, with no front matter.
    fn markdown(text: &'a str, not_front_matter: Option<FrontMatterError>) -> Split<'a> {
        Split {
            front: None,
            body: text,
            body_line: 1,
            not_front_matter,
        }
    }
}

/// How the text after an opening fence begins.
enum Start {
    /// Nothing but blank lines and comments.
    Nothing,
    /// A line that sets a key (`title: x`, `title = "x"`, `"a b": c`, `[extra]`).
    Key,
    /// Anything else: prose, a list, a heading.
    Text,
}

/// How a block's first line with text (past blank lines and `#` comments) begins.
fn metadata_start(format: Format, block: &str) -> Start {
    let Some(first) = block
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return Start::Nothing;
    };
    let (key, separator) = match format {
        Format::Yaml | Format::Json => (first.split_once(':'), ':'),
        Format::Toml => (first.split_once('='), '='),
    };
    // A TOML table, or a YAML flow mapping (`{title: x, date: y}`).
    let table = match format {
        Format::Toml => first.starts_with('[') && first.ends_with(']'),
        Format::Yaml | Format::Json => first.starts_with('{'),
    };
    let sets_a_key = key.is_some_and(|(key, value)| {
        let key = key.trim_end();
        // YAML needs a space (or the end) after the colon: `https://x` is no key.
        let spaced = separator == '=' || value.is_empty() || value.starts_with([' ', '\t']);
        spaced && is_key(key)
    });
    if sets_a_key || table {
        Start::Key
    } else {
        Start::Text
    }
}

/// Whether a block (its lines up to the first blank one when it never closes) has a line that
/// sets `draft` or `published`, in any case, after a list dash or a `?` if any.
fn says_draft(block: &str, closed: bool) -> bool {
    block
        .lines()
        .take_while(|l| closed || !l.trim().is_empty())
        .any(sets_draft)
}

/// Whether a line sets `draft` or `published` (`draft: true`, `- published = false`).
fn sets_draft(line: &str) -> bool {
    let line = line
        .trim()
        .trim_start_matches(['-', '?', ' ', '\t'])
        .trim_start_matches(['"', '\'']);
    ["draft", "published"].iter().any(|key| {
        line.get(..key.len())
            .is_some_and(|k| k.eq_ignore_ascii_case(key))
            && line[key.len()..]
                .trim_start_matches(['"', '\'', ' ', '\t'])
                .starts_with([':', '='])
    })
}

/// A key as front matter writes one: a bare word (letters, digits, `_`, `-`, `.`), or quoted.
fn is_key(key: &str) -> bool {
    let quoted = |q: char| key.len() >= 2 && key.starts_with(q) && key.ends_with(q);
    quoted('"')
        || quoted('\'')
        || (!key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
}

/// A `draft` or `published` line the body shows as text: in a run of lines (no blank line)
/// that ends with a `---` or `+++` line, at the body's start (front matter whose opening fence
/// is missing, or a second block after an empty one) or after such a line anywhere (a block
/// below a heading). Markdown would publish it as a heading; the page is withheld instead.
/// Code blocks are skipped: a post may show front matter as an example.
pub fn draft_in_body(split: &Split<'_>) -> Option<FrontMatterError> {
    // A line that ends a run as a heading's underline would, or opens a block.
    let is_fence = |l: &str| {
        let l = l.trim_matches([' ', '\t']);
        matches!(l, "+++" | "...")
            || (!l.is_empty() && (l.bytes().all(|b| b == b'-') || l.bytes().all(|b| b == b'=')))
    };
    // The open code fence: its character and length.
    let mut in_code: Option<(u8, usize)> = None;
    let mut run_start: Option<usize> = Some(0);
    let mut run_has_draft = false;
    // Lines as Markdown ends them: LF, CRLF, or a CR alone.
    let lines = split
        .body
        .split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'));
    for (i, line) in lines.enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - trimmed.len();
        let fence = code_fence(trimmed).filter(|_| indent < 4);
        if let Some((char, len)) = in_code {
            // Closed by a fence of the same character, as long, with nothing after it.
            if fence.is_some_and(|(c, l)| c == char && l >= len)
                && trimmed.trim_end().bytes().all(|b| b == char)
            {
                in_code = None;
            }
            continue;
        }
        if let Some(fence) = fence {
            in_code = Some(fence);
            run_start = None;
            continue;
        }
        if trimmed.trim_end_matches([' ', '\t']).is_empty() {
            run_start = None;
            run_has_draft = false;
            continue;
        }
        if indent < 4 && is_fence(line) {
            if run_start.is_some() && run_has_draft {
                return Some(FrontMatterError {
                    line: split.body_line + i,
                    message: "a `draft` or `published` line between `---` lines that is not the \
                              file's front matter would be shown to readers as a heading: the \
                              page is withheld (make it the first block of the file)"
                        .into(),
                });
            }
            run_start = Some(i);
            run_has_draft = false;
            continue;
        }
        if run_start.is_some() && sets_draft(line) {
            run_has_draft = true;
        }
    }
    None
}

/// A line that opens a fenced code block: three or more backticks (whose info string holds
/// none) or tildes; the fence's character and length.
fn code_fence(line: &str) -> Option<(u8, usize)> {
    let char = *line.as_bytes().first()?;
    if char != b'`' && char != b'~' {
        return None;
    }
    let len = line.bytes().take_while(|&b| b == char).count();
    let info = &line[len..];
    (len >= 3 && !(char == b'`' && info.contains('`'))).then_some((char, len))
}

/// A second metadata block where the body begins: a `---` (or `+++`) line followed by a line
/// setting one of `keys` (`draft: true`). Markdown would show it as a rule and a heading, so
/// the author's metadata would be published as text instead of obeyed. Only known keys count:
/// a rule followed by "Update: …" is prose.
pub fn stray_block(split: &Split<'_>, keys: &[&str]) -> Option<FrontMatterError> {
    let mut lines = split
        .body
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim().is_empty());
    let (at, fence) = lines.next()?;
    let fence = fence.trim();
    let is_rule = fence.len() >= 3 && fence.bytes().all(|b| b == b'-');
    if !is_rule && fence != "+++" {
        return None;
    }
    // The first line with content after it, past blank lines and YAML/TOML comments.
    let (_, next) = lines
        .take(30)
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let sets_a_key = next
        .split_once([':', '='])
        .is_some_and(|(key, _)| keys.contains(&key.trim().trim_matches(['"', '\''])));
    sets_a_key.then(|| FrontMatterError {
        line: split.body_line + at,
        message: "front matter must start the file: this `key: value` block after a `---` line \
                  would be shown to readers as text (move it to the top, or merge it with the \
                  block there)"
            .into(),
    })
}

/// A front-matter value as written, before it is checked against what its key expects: so a
/// wrong type can be told in a sentence naming the key, and a number can stand for text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    /// A TOML date or date-time, in its TOML (RFC 3339) form.
    Date(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    /// The value as text, when it is a scalar (`2024` → `"2024"`, `true` → `"true"`).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Text(s) | Value::Date(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::List(_) | Value::Map(_) => None,
        }
    }

    /// What the value is, for messages: "a list", "text `x`".
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "nothing".into(),
            Value::Bool(b) => format!("`{b}`"),
            Value::Int(n) => format!("`{n}`"),
            Value::Float(f) => format!("`{f}`"),
            Value::Text(s) | Value::Date(s) => format!("`{s}`"),
            Value::List(_) => "a list".into(),
            Value::Map(_) => "a table of keys".into(),
        }
    }
}

/// The top-level keys of a block, in the order written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entries(pub Vec<(String, Value)>);

/// TOML hands its dates to serde as a map with this one key.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a front-matter value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Value>()? {
            let key = key.as_text().unwrap_or_default();
            if key == TOML_DATETIME_KEY {
                let date: String = map.next_value()?;
                return Ok(Value::Date(date));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Map(entries) => Ok(Entries(entries)),
            Value::Null => Ok(Entries::default()),
            other => Err(de::Error::custom(format!(
                "front matter must be `key: value` lines, not {}",
                other.describe()
            ))),
        }
    }
}

/// The first line (without its line end) and the text after it.
fn next_line(text: &str) -> (&str, &str) {
    match text.find('\n') {
        Some(i) => (
            text[..i].strip_suffix('\r').unwrap_or(&text[..i]),
            &text[i + 1..],
        ),
        None => (text, ""),
    }
}

/// The line of the file each top-level key of a block is written on, so a message about a
/// key's value can point at it; and the keys one level down in a table (`[extra]`, `params:`)
/// as `table.key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLines {
    top: Vec<(Cow<'static, str>, usize)>,
    nested: Vec<(String, usize)>,
}

/// The tables gemhole reads its own keys from too, where a key missing from the top level is
/// looked for.
const TABLES: [&str; 3] = ["extra", "params", "taxonomies"];

impl KeyLines {
    /// The line of `key`: a top-level key (in any case when not as written, as Hugo reads
    /// keys), else the same key in `[extra]`, `params` or `[taxonomies]`; a `table.key` at its
    /// own line, else at its table's.
    pub fn line(&self, key: &str) -> Option<usize> {
        let top = |key: &str| {
            let find = |same: &dyn Fn(&str) -> bool| {
                self.top
                    .iter()
                    .find(|(k, _)| same(k))
                    .map(|&(_, line)| line)
            };
            find(&|k| k == key).or_else(|| find(&|k| k.eq_ignore_ascii_case(key)))
        };
        let nested = |key: &str| {
            self.nested
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|&(_, line)| line)
        };
        top(key).or_else(|| match key.split_once('.') {
            Some((table, _)) => nested(key).or_else(|| top(table)),
            None => TABLES
                .iter()
                .find_map(|table| nested(&format!("{table}.{key}"))),
        })
    }

    /// The top-level keys, as written, in the order of the block.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.top.iter().map(|(k, _)| &**k)
    }
}

/// The top-level keys of a document's front matter, as written (`None`: it has no block,
/// or one that cannot be split off).
pub fn keys_of(text: &str) -> Option<Vec<String>> {
    let block = split(text).ok()?.front?;
    Some(block.key_lines(&[]).keys().map(str::to_owned).collect())
}

impl Block<'_> {
    /// In YAML, a value of `keys` that the parser typed (`3.10`, `007`, `yes`) is put back as
    /// it is written: where text is expected, the author's text is what counts. Each such key
    /// is read again from its own lines of the block, as text.
    pub fn keep_written_text(&self, entries: &mut Entries, lines: &KeyLines, keys: &[&str]) {
        if self.format != Format::Yaml {
            return;
        }
        let typed = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_));
        for (key, value) in &mut entries.0 {
            let list = matches!(value, Value::List(_));
            let needs = match &*value {
                Value::List(items) => items.iter().any(typed),
                other => typed(other),
            };
            if !needs || !keys.contains(&key.as_str()) {
                continue;
            }
            let Some(start) = lines.line(key) else {
                continue;
            };
            // Its lines: from its own to the next top-level key's.
            let end = lines
                .top
                .iter()
                .map(|&(_, line)| line)
                .filter(|&line| line > start)
                .min()
                .unwrap_or(usize::MAX);
            let snippet: String = self
                .text
                .lines()
                .enumerate()
                .map(|(i, line)| (i + self.first_line, line))
                .filter(|&(n, _)| n >= start && n < end)
                .map(|(_, line)| format!("{line}\n"))
                .collect();
            let written = if list {
                serde_saphyr::from_str::<std::collections::HashMap<String, Vec<String>>>(&snippet)
                    .ok()
                    .and_then(|mut m| m.remove(key.as_str()))
                    .map(|items| Value::List(items.into_iter().map(Value::Text).collect()))
            } else {
                serde_saphyr::from_str::<std::collections::HashMap<String, String>>(&snippet)
                    .ok()
                    .and_then(|mut m| m.remove(key.as_str()))
                    .map(Value::Text)
            };
            if let Some(written) = written {
                *value = written;
            }
        }
    }

    /// Where the block's top-level keys are, the key bare or quoted: in TOML, lines `key =`
    /// (indented or not) before the first `[table]` header; in YAML, lines `key:` at the
    /// indentation of the first key, or the `key: value` pairs of a flow mapping (`{a: 1}`).
    /// Keys among `known` are held without an allocation of their own (every post has them).
    /// The keys one level into a table are kept as `table.key`: a TOML `[table]`'s, a YAML
    /// block mapping's.
    pub fn key_lines(&self, known: &[&'static str]) -> KeyLines {
        let mut lines = KeyLines::default();
        let mut add = |key: &str, table: Option<&str>, line: usize| {
            let key = key.trim().trim_matches(['"', '\'']);
            let line = self.first_line + line;
            if key.is_empty() {
                return;
            }
            if let Some(table) = table {
                let key = format!("{table}.{key}");
                if !lines.nested.iter().any(|(k, _)| *k == key) {
                    lines.nested.push((key, line));
                }
            } else if !lines.top.iter().any(|(k, _)| k == key) {
                let key = match known.iter().find(|&&k| k == key) {
                    Some(known) => Cow::Borrowed(*known),
                    None => Cow::Owned(key.to_owned()),
                };
                lines.top.push((key, line));
            }
        };
        match self.format {
            Format::Toml => self.toml_keys(&mut add),
            Format::Yaml => self.yaml_keys(&mut add),
            Format::Json => self.json_keys(&mut add),
        }
        lines.top.shrink_to_fit();
        lines.nested.shrink_to_fit();
        lines
    }

    /// Each `key =` of a TOML block with its table (`None` at the top) and line in the block.
    fn toml_keys(&self, add: &mut impl FnMut(&str, Option<&str>, usize)) {
        let mut table: Option<&str> = None;
        for (i, line) in self.text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(header) = line.strip_prefix('[') {
                // `[extra]` is a key of the top level, at its header's line; `[[x]]` and
                // `[a.b]` are deeper than is looked at.
                let name = header.split(']').next().unwrap_or("").trim();
                let simple = !header.starts_with('[') && !name.contains('.');
                table = simple.then_some(name);
                if let Some(name) = table {
                    add(name, None, i);
                } else {
                    table = Some("");
                }
                continue;
            }
            if let Some((key, _)) = line.split_once('=') {
                match table {
                    None => add(key, None, i),
                    Some("") => {}
                    Some(name) => add(key, Some(name), i),
                }
            }
        }
    }

    /// Each `key:` of a YAML block with its table (`None` at the top) and line in the block:
    /// a flow mapping's keys, or a block mapping's at the first key's indentation, and those
    /// one level into a key with no value on its line.
    fn yaml_keys(&self, add: &mut impl FnMut(&str, Option<&str>, usize)) {
        let content = |line: &str| {
            let trimmed = line.trim_start();
            !trimmed.is_empty() && !trimmed.starts_with('#')
        };
        let indent_of = |line: &str| line.len() - line.trim_start().len();
        let first = self.text.lines().find(|l| content(l)).unwrap_or("");
        let indent = indent_of(first);
        if first.trim_start().starts_with('{') {
            for (i, line) in self.text.lines().enumerate() {
                for pair in line.split([',', '{']) {
                    if let Some((key, _)) = pair.split_once(':') {
                        add(key, None, i);
                    }
                }
            }
            return;
        }
        // The top-level key whose value is the lines below it, and their indentation.
        let mut table: Option<(&str, Option<usize>)> = None;
        for (i, line) in self.text.lines().enumerate() {
            if !content(line) || line.trim_start().starts_with('-') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let at = indent_of(line);
            if at == indent {
                add(key, None, i);
                let opens = value.trim().is_empty() || value.trim_start().starts_with('#');
                table = opens.then_some((key.trim().trim_matches(['"', '\'']), None));
            } else if let Some((name, inner)) = &mut table
                && at > indent
                && *inner.get_or_insert(at) == at
            {
                add(key, Some(name), i);
            }
        }
    }

    /// Each key of a JSON object with its table (`None` at the top) and line in the block: the
    /// object's own, and those of an object that is the value of one of them.
    fn json_keys(&self, add: &mut impl FnMut(&str, Option<&str>, usize)) {
        // The objects and arrays open, each with the top-level key it is the value of.
        let mut open: Vec<Option<&str>> = Vec::new();
        let mut last_key = None;
        let (mut line, mut counted) = (0, 0);
        for (at, token) in JsonTokens::new(self.text) {
            match token {
                Token::Open(_) => open.push(last_key.take()),
                Token::Close => {
                    open.pop();
                }
                Token::Key(key) => {
                    line += self.text[counted..at].matches('\n').count();
                    counted = at;
                    match open.as_slice() {
                        [_] => {
                            add(key, None, line);
                            last_key = Some(key);
                        }
                        [_, Some(table)] => add(key, Some(table), line),
                        _ => {}
                    }
                }
                Token::Other => {}
            }
        }
    }

    /// Parses the block into `T`, reporting errors at their line in the file.
    pub fn parse<T: for<'de> Deserialize<'de> + Default>(&self) -> Result<T, FrontMatterError> {
        if self.text.trim().is_empty() {
            return Ok(T::default());
        }
        match self.format {
            Format::Toml => toml::from_str(self.text).map_err(|e| {
                let line_in_block = e
                    .span()
                    .map(|span| {
                        self.text[..span.start.min(self.text.len())]
                            .matches('\n')
                            .count()
                    })
                    .unwrap_or(0);
                FrontMatterError {
                    line: self.first_line + line_in_block,
                    message: format!("invalid TOML front matter: {}", e.message().trim_end()),
                }
            }),
            Format::Yaml => self.parse_yaml(self.text, "YAML"),
            // A tab is whitespace to JSON but no indentation to YAML; outside strings it is
            // whitespace alone, and inside one JSON writes it `\t`.
            Format::Json => self.parse_yaml(&self.text.replace('\t', " "), "JSON"),
        }
    }

    /// Parses YAML (or JSON) into `T`, reporting errors at their line in the file.
    fn parse_yaml<T: for<'de> Deserialize<'de>>(
        &self,
        text: &str,
        syntax: &str,
    ) -> Result<T, FrontMatterError> {
        serde_saphyr::from_str(text).map_err(|e| {
            let line_in_block = e
                .location()
                .map(|l| (l.line() as usize).saturating_sub(1))
                .unwrap_or(0);
            FrontMatterError {
                line: self.first_line + line_in_block,
                message: format!("invalid {syntax} front matter: {}", yaml_message(&e)),
            }
        })
    }
}

/// serde-saphyr's message without its own position prefix and source snippet (we print the
/// position ourselves, relative to the file rather than the block).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first
        .split_once(", set DuplicateKeyPolicy")
        .map_or(first, |(head, _)| head);
    let stripped = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or(first, |(_, msg)| msg);
    // Its own position is within the block, not the file: ours is the one to read.
    let stripped = match stripped.rfind(" at line ") {
        Some(at)
            if stripped[at + 9..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == ' ' || c.is_alphabetic()) =>
        {
            stripped[..at].trim_end()
        }
        _ => stripped,
    };
    stripped.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in schema: these tests are about splitting and error positions.
    #[derive(Debug, Default, PartialEq, Eq, Deserialize)]
    #[serde(default)]
    struct FrontMatter {
        title: Option<String>,
    }

    #[test]
    fn key_lines_point_at_top_level_keys() {
        let s =
            split("---\ntitle: A: b\ntags:\n  - x\n  part: 9\n\"part\": 2\n# c: 1\n---\n").unwrap();
        let lines = s.front.unwrap().key_lines(&[]);
        assert_eq!(lines.line("title"), Some(2));
        assert_eq!(lines.line("tags"), Some(3));
        assert_eq!(lines.line("part"), Some(6));
        assert_eq!(lines.line("c"), None);
        let s = split("\u{feff}+++\r\ndate = 2024-01-01\r\n[extra]\nslug = \"x\"\n+++\n").unwrap();
        let lines = s.front.unwrap().key_lines(&[]);
        assert_eq!(lines.line("date"), Some(2));
        // A key of `[extra]` at its own line; one the table does not have, at the table's.
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["date", "extra"]);
        assert_eq!(lines.line("slug"), Some(4));
        assert_eq!(lines.line("extra.slug"), Some(4));
        assert_eq!(lines.line("extra.part"), Some(3));
        assert_eq!(lines.line("part"), None);
        let s = split(
            "---\nparams:\n  # theirs\n  series: S\n  deep:\n    part: 2\nPublishDate: x\n---\n",
        )
        .unwrap();
        let lines = s.front.unwrap().key_lines(&[]);
        assert_eq!(lines.line("series"), Some(4));
        assert_eq!(lines.line("part"), None);
        // Keys are found in any case, as Hugo reads them.
        assert_eq!(lines.line("publishDate"), Some(7));
        // Indented keys (valid TOML, and YAML indented as a whole) and flow mappings.
        let s = split("+++\ntitle = \"Q\"\n  date = \"x\"\n+++\n").unwrap();
        assert_eq!(s.front.unwrap().key_lines(&[]).line("date"), Some(3));
        let s = split("---\n title: Q\n date: x\n tags:\n   - a\n---\n").unwrap();
        assert_eq!(s.front.unwrap().key_lines(&[]).line("date"), Some(3));
        let s = split("---\n{title: Q,\n date: x}\n---\n").unwrap();
        let lines = s.front.unwrap().key_lines(&[]);
        assert_eq!(
            (lines.line("title"), lines.line("date")),
            (Some(2), Some(3))
        );
    }

    #[test]
    fn a_json_object_opening_the_file_is_front_matter() {
        let s = split("\n{\n  \"title\": \"a } { \\\" b\",\n  \"extra\": {\"x\": [1, {\"y\": 2}]}\n}\n\nBody\n")
            .unwrap();
        let block = s.front.unwrap();
        assert_eq!(block.format, Format::Json);
        assert!(block.text.starts_with('{') && block.text.ends_with('}'));
        assert_eq!((block.first_line, s.body, s.body_line), (2, "\nBody\n", 6));
        let entries: Entries = block.parse().unwrap();
        assert_eq!(
            entries.0[0],
            ("title".into(), Value::Text("a } { \" b".into()))
        );
        let lines = block.key_lines(&[]);
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["title", "extra"]);
        assert_eq!(lines.line("extra.x"), Some(4));
        assert_eq!(lines.line("y"), None);
        // On one line, and empty.
        let s = split("{\"title\": \"T\"}\nBody").unwrap();
        assert_eq!(
            (s.front.unwrap().text, s.body, s.body_line),
            ("{\"title\": \"T\"}", "Body", 2)
        );
        let s = split("{}\nBody").unwrap();
        assert_eq!((s.front.unwrap().text, s.body), ("{}", "Body"));
    }

    #[test]
    fn a_shortcode_or_prose_in_braces_opening_the_file_is_markdown() {
        for text in [
            "{{< figure src=\"x.png\" >}}\n\nText\n",
            "{{% note %}}\nx\n{{% /note %}}\n",
            "{% include x.html %}\n",
            "{{ page.title }}\n",
            "{ \"quoted\" } is prose\n",
            "{braces} open this\n",
            "{ x: 1 }\n",
            "{",
        ] {
            let s = split(text).unwrap();
            assert_eq!(
                (s.front, s.body, s.not_front_matter),
                (None, text, None),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_json_object_that_never_closes_is_an_error_at_its_first_line() {
        for text in [
            "\n{\n  \"title\": \"x\"\n\nBody\n",
            "{\"title\": \"never closed }\n",
        ] {
            let err = split(text).unwrap_err();
            assert!(err.message.contains("no matching `}`"), "{err}");
            assert_eq!(err.line, 1 + usize::from(text.starts_with('\n')));
        }
        let s = split("{\n  \"title\": \"x\"\n  \"date\": 1\n}\n").unwrap();
        let err = s.front.unwrap().parse::<FrontMatter>().unwrap_err();
        assert!(
            err.message.starts_with("invalid JSON front matter"),
            "{err}"
        );
        assert!((2..=3).contains(&err.line), "{err}");
    }

    /// Every short text of JSON's characters splits without a panic, its keys found too.
    #[test]
    fn any_short_text_of_braces_and_quotes_splits() {
        let alphabet: Vec<char> = "{}[]\"\\:, x\né".chars().collect();
        let mut text = String::new();
        let mut digits = [0usize; 5];
        loop {
            text.clear();
            text.extend(digits.iter().map(|&d| alphabet[d]));
            if let Ok(Split {
                front: Some(block), ..
            }) = split(&text)
            {
                block.key_lines(&[]);
                let _ = block.parse::<Entries>();
            }
            let Some(i) = digits.iter().position(|&d| d + 1 < alphabet.len()) else {
                break;
            };
            digits[i] += 1;
            digits[..i].fill(0);
        }
    }

    #[test]
    fn no_front_matter() {
        let s = split("# Hello\n").unwrap();
        assert_eq!(s.front, None);
        assert_eq!(s.body, "# Hello\n");
        assert_eq!(split("").unwrap().body, "");
        assert_eq!(split("--- x\n").unwrap().front, None);
    }

    #[test]
    fn yaml_and_toml_blocks() {
        let s = split("---\ntitle: Hi\n---\nBody\n").unwrap();
        let block = s.front.unwrap();
        assert_eq!(block.format, Format::Yaml);
        assert_eq!(block.text, "title: Hi\n");
        assert_eq!(s.body, "Body\n");
        let fm: FrontMatter = block.parse().unwrap();
        assert_eq!(fm.title.as_deref(), Some("Hi"));

        let s = split("\u{feff}+++\r\ntitle = \"T\"\r\nother = 1\r\n+++\r\nBody").unwrap();
        let fm: FrontMatter = s.front.unwrap().parse().unwrap();
        assert_eq!(fm.title.as_deref(), Some("T"));
        assert_eq!(s.body, "Body");

        let s = split("---\n---\n").unwrap();
        assert_eq!(
            s.front.unwrap().parse::<FrontMatter>().unwrap(),
            FrontMatter::default()
        );
        assert_eq!(s.body, "");

        let s = split("---\ntitle: x\n...\nrest").unwrap();
        assert_eq!(s.body, "rest");
    }

    #[test]
    fn a_block_where_the_body_begins_is_found_by_its_keys() {
        let keys = ["title", "draft"];
        let stray = |text: &str| stray_block(&split(text).unwrap(), &keys).map(|e| e.line);
        assert_eq!(
            stray("---\ntitle: a\n---\n\n---\ndraft: true\n---\n"),
            Some(5)
        );
        assert_eq!(
            stray("+++\ntitle = \"a\"\n+++\n+++\n\"draft\" = true\n+++\n"),
            Some(4)
        );
        // A rule followed by prose, or by a key nobody reads, is the author's text.
        assert_eq!(
            stray("---\ntitle: a\n---\n---\nUpdate: it works now.\n"),
            None
        );
        assert_eq!(stray("---\ntitle: a\n---\nText\n---\ndraft: true\n"), None);
        // Comments, blank lines and a longer rule do not hide it.
        assert_eq!(
            stray("---\ntitle: a\n---\n---\n# note\ndraft: true\n---\n"),
            Some(4)
        );
        assert_eq!(stray("---\ntitle: a\n---\n---\n\ndraft: true\n"), Some(4));
        assert_eq!(stray("----\ndraft: true\n----\n"), Some(1));
    }

    #[test]
    fn an_indented_fence_inside_a_value_does_not_close_the_block() {
        let s =
            split("---\nsummary: |\n  line\n  ---\n  draft: x\ndraft: true\n---\nBody\n").unwrap();
        assert_eq!(s.body, "Body\n");
        assert!(s.front.unwrap().text.ends_with("draft: true\n"));
    }

    #[test]
    fn front_matter_may_follow_blank_lines() {
        let s = split("\n  \r\n---\ntitle: x\n---\nBody\n").unwrap();
        let block = s.front.unwrap();
        assert_eq!(
            (block.text, block.first_line, s.body, s.body_line),
            ("title: x\n", 4, "Body\n", 6)
        );
        let err = split("\n\n---\ntitle: x\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn a_rule_later_in_the_body_is_not_front_matter() {
        let s = split("Intro\n\n---\ntitle: no\n---\n").unwrap();
        assert_eq!(s.front, None);
    }

    #[test]
    fn a_fence_before_text_that_is_no_metadata_is_markdown() {
        for text in [
            "---\nFoo\n---\nBar\n---\nBaz\n",
            "---\n- a list\n---\n",
            "---\nhttps://example.org/\n---\n",
            "---\n\nA paragraph, never closed.\n",
            "+++\nNot TOML\n+++\n",
            "---\n# a comment, then prose\nFoo\n",
            "---\n",
        ] {
            let s = split(text).unwrap();
            assert_eq!((s.front, s.body, s.body_line), (None, text, 1), "{text:?}");
            let note = s.not_front_matter.expect(text);
            assert_eq!(note.line, 1);
            assert!(note.message.contains("opens no front matter"), "{note}");
        }
        // Metadata, or an empty block (Jekyll's `---` `---`), is front matter.
        for text in [
            "---\n---\nBody\n",
            "---\n# comment\ntitle: x\n---\n",
            "---\n\"a key\": 1\n---\n",
            "---\ntitle:\n---\n",
            "+++\n[extra]\nx = 1\n+++\n",
            "+++\ntitle=\"x\"\n+++\n",
        ] {
            let s = split(text).unwrap();
            assert!(s.front.is_some(), "{text:?}");
            assert_eq!(s.not_front_matter, None);
        }
    }

    #[test]
    fn unclosed_block_is_an_error_on_line_1() {
        let err = split("---\ntitle: x\n\nBody\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("never closed"), "{err}");
    }

    #[test]
    fn syntax_errors_name_the_file_line() {
        let s = split("---\ntitle: ok\ntags: [a, b\nmore: 1\n---\n").unwrap();
        let err = s.front.unwrap().parse::<FrontMatter>().unwrap_err();
        assert!((3..=5).contains(&err.line), "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");

        let s = split("+++\ntitle = \"ok\"\ntitle2 = \n+++\n").unwrap();
        let err = s.front.unwrap().parse::<FrontMatter>().unwrap_err();
        assert_eq!(err.line, 3, "{err}");

        let s = split("---\n\ntitle: [1, 2]\n---\n").unwrap();
        let err = s.front.unwrap().parse::<FrontMatter>().unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }
}
