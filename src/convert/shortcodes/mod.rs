//! Static-site generators' shortcodes and template tags in a Markdown body, turned into the
//! Markdown they stand for before the body is converted: Hugo's `{{< name >}}` and
//! `{{% name %}}`, Zola's `{{ name(…) }}` and `{% name(…) %}…{% end %}`, Liquid's (Jekyll's)
//! `{% tag %}` and `{{ output }}`. A blog copied in from one of them never shows its template
//! syntax raw: known forms become what they mean (an image, a link, a code block, a quote, a
//! page reference), unknown ones keep their content and lose their tags, with one warning per
//! name.
//!
//! Links to other pages of the site become page references, `@/path/to/page.md`: the content
//! layer resolves them once it knows every page's URL.
//!
//! Inside code (fenced or indented blocks, code spans) nothing is changed but the generators'
//! own escapes, `{{</* … */>}}` and `{{/* … */}}`, which they show without the comment marks:
//! that is how their authors write a shortcode in a code sample.
//!
//! Pure text, no panics. A body without `{{` or `{%` costs one byte scan; the rest is linear in
//! the body, with bounds on a tag's length and on how many broken tags are looked at.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use memchr::memmem;
use pulldown_cmark::{Event, Options as ParseOptions, Parser, Tag as MdTag};

use super::url::PAGE_REFERENCE;

/// The longest tag read (its arguments may span lines): past it an opener is taken as text.
const MAX_TAG_BYTES: usize = 4096;
/// How many openers are read inside one argument of a tag.
const MAX_NESTED: usize = 8;
/// How many openers that close nowhere are looked at on one page: past it the rest of the
/// page is left as written, so a page of `{{` costs no more than a page of text.
const MAX_UNCLOSED: usize = 256;

/// What the pass made of a body: the text to convert, where each of its bytes came from, and
/// what the author is told.
#[derive(Debug, Clone)]
pub struct Expanded<'a> {
    pub text: Cow<'a, str>,
    /// Runs of the output and where they start in the source, in output order.
    map: Vec<Run>,
    /// Warnings, each at a byte offset of the source.
    pub notes: Vec<Note>,
    pub counts: ShortcodeCounts,
}

/// A warning and the byte offset of the source it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub offset: usize,
    pub message: String,
}

/// How many of a page's shortcodes and template tags were converted, and how many were left
/// out (unknown, or a value only the generator knows), by name: for a migration's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortcodeCounts {
    pub converted: BTreeMap<String, usize>,
    pub left: BTreeMap<String, usize>,
}

impl ShortcodeCounts {
    /// Adds another page's counts to these.
    pub fn add(&mut self, other: &ShortcodeCounts) {
        for (mine, theirs) in [
            (&mut self.converted, &other.converted),
            (&mut self.left, &other.left),
        ] {
            for (name, n) in theirs {
                *mine.entry(name.clone()).or_default() += n;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.converted.is_empty() && self.left.is_empty()
    }
}

/// A run of output bytes starting at `out`, from the source at `src`: copied (each byte from
/// the one at the same distance) or written by the pass (every byte from `src`).
#[derive(Debug, Clone, Copy)]
struct Run {
    out: usize,
    src: usize,
    copied: bool,
}

impl Expanded<'_> {
    /// The source offset of an offset into [`Expanded::text`], so a problem found in the
    /// output is told at the line the author wrote.
    pub fn source_offset(&self, out: usize) -> usize {
        let i = self.map.partition_point(|r| r.out <= out);
        match i.checked_sub(1).map(|i| self.map[i]) {
            Some(run) if run.copied => run.src + (out - run.out),
            Some(run) => run.src,
            None => out,
        }
    }
}

/// The body with its shortcodes and template tags expanded; `options` are those the body is
/// parsed with, so code is found where the converter will find it.
pub fn expand(markdown: &str, options: ParseOptions) -> Expanded<'_> {
    let bytes = markdown.as_bytes();
    let may_hold =
        memchr::memchr_iter(b'{', bytes).any(|i| matches!(bytes.get(i + 1), Some(b'{' | b'%')));
    if !may_hold {
        return Expanded {
            text: Cow::Borrowed(markdown),
            map: Vec::new(),
            notes: Vec::new(),
            counts: ShortcodeCounts::default(),
        };
    }
    let (tags, mut warnings) = tokenize(markdown, options);
    let partners = pair(&tags);
    let mut writer = Expander {
        src: markdown,
        out: Out::default(),
        warnings: &mut warnings,
        counts: ShortcodeCounts::default(),
    };
    writer.run(&tags, &partners);
    let Expander { out, counts, .. } = writer;
    Expanded {
        text: Cow::Owned(out.text),
        map: out.map,
        notes: warnings.into_notes(),
        counts,
    }
}

/// Which generator's syntax a tag is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// `{{< … >}}` or `{{% … %}}`.
    Hugo,
    /// `{{ name(…) }}` or `{% name(…) %}`, `{% end %}`.
    Zola,
    /// `{% tag … %}`.
    Liquid,
    /// `{{ expression }}`: a value only the generator knows.
    Output,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Open,
    Close,
    /// Hugo's `{{< name />}}`, or a Zola call `{{ name() }}`: no content follows.
    Alone,
    /// A generator's escape, shown as this text.
    Literal(String),
    /// A tag whose content is taken as written (`raw`, `highlight`, `comment`), with the
    /// content's range; `None` when its end is never found.
    Verbatim(Option<Range<usize>>),
}

/// One tag as read.
#[derive(Debug, Clone)]
struct Tag {
    span: Range<usize>,
    form: Form,
    name: String,
    args: String,
    role: Role,
}

/// Tags whose content is not read for other tags.
fn is_verbatim(name: &str) -> bool {
    matches!(name, "raw" | "highlight" | "code" | "comment")
}

/// Every tag of the body outside code, in order.
fn tokenize(src: &str, options: ParseOptions) -> (Vec<Tag>, Warnings) {
    let code = code_ranges(src, options);
    let mut code = code.iter().peekable();
    let mut tags = Vec::new();
    let mut warnings = Warnings::default();
    let mut unclosed = 0;
    let mut closes = Closes::new(src);
    let mut at = 0;
    let finder = memmem::Finder::new("{");
    while let Some(found) = finder.find(&src.as_bytes()[at..]) {
        let start = at + found;
        at = start + 1;
        if !matches!(src.as_bytes().get(start + 1), Some(b'{' | b'%')) {
            continue;
        }
        while code.next_if(|r| r.end <= start).is_some() {}
        let in_code = code.peek().is_some_and(|r| r.start <= start);
        let read = if in_code {
            read_literal(src, start).flatten()
        } else {
            read_tag(src, start)
        };
        let Some(mut tag) = read else {
            if !in_code {
                unclosed += 1;
                warnings.unclosed(src, start);
                if unclosed >= MAX_UNCLOSED {
                    break;
                }
            }
            continue;
        };
        if tag.role == Role::Open && is_verbatim(&tag.name) {
            let inner = closes.find(tag.span.end, &tag);
            if let Some((inner, end)) = &inner {
                tag.span.end = *end;
                tag.role = Role::Verbatim(Some(inner.clone()));
            } else {
                tag.role = Role::Verbatim(None);
            }
        }
        at = tag.span.end;
        tags.push(tag);
    }
    (tags, warnings)
}

/// The byte ranges of code spans and code blocks, in order.
fn code_ranges(src: &str, options: ParseOptions) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for (event, range) in Parser::new_ext(src, options).into_offset_iter() {
        let code = matches!(event, Event::Code(_) | Event::Start(MdTag::CodeBlock(_)));
        if code && ranges.last().is_none_or(|last| last.end <= range.start) {
            ranges.push(range);
        }
    }
    ranges
}

/// Finds the closes of verbatim tags (`raw`, `highlight`, …), remembering for each kind of
/// close where none is found any more: a page of openers that never close is read once per
/// kind, not once per opener.
struct Closes<'s> {
    src: &'s str,
    /// By what closes a block (its form and name): the offset from which no close is found.
    none_from: HashMap<(Form, String), usize>,
    /// How many places a close was looked for: the work done, for tests to bound.
    looked_at: usize,
}

impl<'s> Closes<'s> {
    fn new(src: &'s str) -> Self {
        Closes {
            src,
            none_from: HashMap::new(),
            looked_at: 0,
        }
    }

    /// The end of a verbatim tag's content and of its closing tag: (content, end of the close).
    fn find(&mut self, from: usize, open: &Tag) -> Option<(Range<usize>, usize)> {
        let key = close_key(open);
        // Where no close starts at or after some offset, none does after a later one either.
        if self.none_from.get(&key).is_some_and(|&none| none <= from) {
            return None;
        }
        let src = self.src;
        let finder = memmem::Finder::new("{");
        let mut at = from;
        while let Some(found) = finder.find(&src.as_bytes()[at..]) {
            let start = at + found;
            at = start + 1;
            if !matches!(src.as_bytes().get(start + 1), Some(b'{' | b'%')) {
                continue;
            }
            self.looked_at += 1;
            if !may_close(&src.as_bytes()[start..], open.form) {
                continue;
            }
            if let Some(tag) = read_tag(src, start).filter(|t| closes(open, t)) {
                return Some((from..start, tag.span.end));
            }
        }
        self.none_from.insert(key, from);
        None
    }
}

/// Whether the tag at the start of `text` can be a close of a block of this form, judged by its
/// first characters, so that a close is only read where one may be: Hugo's starts `{{< /` or
/// `{{% /`, the others' `{% end`.
fn may_close(text: &[u8], form: Form) -> bool {
    let (opener, mark): (&[u8], &[u8]) = match (form, text.get(2)) {
        (Form::Hugo, Some(b'<' | b'%')) => (&text[..3], b"/"),
        (Form::Hugo, _) => return false,
        _ => (b"{%", b"end"),
    };
    let Some(after) = text.strip_prefix(opener) else {
        return false;
    };
    let start = after
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != b'-')
        .unwrap_or(after.len());
    after[start..].starts_with(mark)
}

/// What closes a block: Zola's `{% end %}` closes any of its blocks, the others' close names
/// their opener.
fn close_key(tag: &Tag) -> (Form, String) {
    match tag.form {
        Form::Zola => (Form::Zola, String::new()),
        form => (form, tag.name.clone()),
    }
}

/// Whether `close` ends the block `open` begins.
fn closes(open: &Tag, close: &Tag) -> bool {
    close.role == Role::Close
        && match open.form {
            Form::Zola => close.form == Form::Zola,
            form => close.form == form && close.name == open.name,
        }
}

/// The tag that starts at `at` (at a `{{` or `{%`), or `None` when it never closes.
fn read_tag(src: &str, at: usize) -> Option<Tag> {
    if let Some(literal) = read_literal(src, at) {
        return literal;
    }
    let rest = &src[at..];
    let (open_len, close) = match rest.as_bytes() {
        [b'{', b'{', b'<', ..] => (3, ">}}"),
        [b'{', b'{', b'%', ..] => (3, "%}}"),
        [b'{', b'{', ..] => (2, "}}"),
        _ => (2, "%}"),
    };
    let end = find_delimiter(&rest[open_len..], close)?;
    let inner = &rest[open_len..open_len + end];
    let span = at..at + open_len + end + close.len();
    Some(match (open_len, close) {
        (3, _) => hugo_tag(span, inner),
        (_, "}}") => curly_tag(span, inner),
        _ => percent_tag(span, inner),
    })
}

/// A generator's escape at `at` (`{{</* … */>}}`, `{{/* … */}}` and their `%` forms): the
/// tag, or `None` inside when it never closes; `None` when there is none.
fn read_literal(src: &str, at: usize) -> Option<Option<Tag>> {
    let rest = &src[at..];
    for (open, close, shown) in [
        ("{{</*", "*/>}}", ("{{<", ">}}")),
        ("{{%/*", "*/%}}", ("{{%", "%}}")),
        ("{{/*", "*/}}", ("{{", "}}")),
        ("{%/*", "*/%}", ("{%", "%}")),
    ] {
        if let Some(after) = rest.strip_prefix(open) {
            let bounded = clip(after, MAX_TAG_BYTES);
            let Some(end) = bounded.find(close).or_else(|| spaced_close(bounded, close)) else {
                return Some(None);
            };
            let inner = &after[..end];
            let tail = close_len(&after[end..], close);
            return Some(Some(Tag {
                span: at..at + open.len() + end + tail,
                form: Form::Hugo,
                name: String::new(),
                args: String::new(),
                role: Role::Literal(format!("{}{inner}{}", shown.0, shown.1)),
            }));
        }
    }
    None
}

/// The first `max` bytes of `text`, or fewer so as not to split a character.
fn clip(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A comment's close written with spaces before the braces (`*/ >}}`): where it starts.
fn spaced_close(text: &str, close: &str) -> Option<usize> {
    let star = text.find("*/")?;
    let after = text[star + 2..].trim_start();
    after.starts_with(&close[2..]).then_some(star)
}

/// The length of the comment's close at the start of `text`, written tight (`*/>}}`) or with
/// spaces before the braces (`*/ >}}`); never reaching past it, so that a later tag is not taken.
fn close_len(text: &str, close: &str) -> usize {
    if text.starts_with(close) {
        return close.len();
    }
    let after = &text[2..];
    2 + (after.len() - after.trim_start().len()) + close.len() - 2
}

/// Where `close` ends a tag's text, outside its quoted arguments, within the bound.
fn find_delimiter(text: &str, close: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let limit = bytes.len().min(MAX_TAG_BYTES);
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < limit {
        let b = bytes[i];
        match quote {
            Some(q) if b == b'\\' && q != b'`' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'`' => quote = Some(b),
            // An apostrophe opens a value only where one starts (`caption='…'`), not in a word.
            None if b == b'\''
                && (i == 0
                    || matches!(bytes[i - 1], b'=' | b' ' | b'\t' | b'\n' | b'(' | b',')) =>
            {
                quote = Some(b)
            }
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// `{{< … >}}` / `{{% … %}}`: `/name`, `name args`, or `name args /`.
fn hugo_tag(span: Range<usize>, inner: &str) -> Tag {
    let inner = inner.trim();
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, inner),
    };
    let (inner, alone) = match inner.strip_suffix('/') {
        Some(rest) if !closing => (rest.trim_end(), true),
        _ => (inner, false),
    };
    let (name, args) = split_name(inner);
    let role = match (closing, alone) {
        (true, _) => Role::Close,
        (_, true) => Role::Alone,
        _ => Role::Open,
    };
    Tag {
        span,
        form: Form::Hugo,
        name: name.to_owned(),
        args: args.to_owned(),
        role,
    }
}

/// `{{ … }}`: a Zola call, or a Liquid output.
fn curly_tag(span: Range<usize>, inner: &str) -> Tag {
    let inner = trim_control(inner);
    match zola_call(inner) {
        Some((name, args)) => Tag {
            span,
            form: Form::Zola,
            name: name.to_owned(),
            args: args.to_owned(),
            role: Role::Alone,
        },
        None => Tag {
            span,
            form: Form::Output,
            name: String::new(),
            args: inner.to_owned(),
            role: Role::Alone,
        },
    }
}

/// `{% … %}`: a Zola block (`name(…)`, `end`) or a Liquid tag (`name args`, `endname`).
fn percent_tag(span: Range<usize>, inner: &str) -> Tag {
    let inner = trim_control(inner);
    if inner == "end" {
        return Tag {
            span,
            form: Form::Zola,
            name: String::new(),
            args: String::new(),
            role: Role::Close,
        };
    }
    if let Some((name, args)) = zola_call(inner) {
        return Tag {
            span,
            form: Form::Zola,
            name: name.to_owned(),
            args: args.to_owned(),
            role: Role::Open,
        };
    }
    let (name, args) = split_name(inner);
    let (name, role) = match name.strip_prefix("end") {
        Some(block) if !block.is_empty() => (block, Role::Close),
        _ if is_liquid_block(name) || name == "raw" => (name, Role::Open),
        _ => (name, Role::Alone),
    };
    Tag {
        span,
        form: Form::Liquid,
        name: name.to_owned(),
        args: args.to_owned(),
        role,
    }
}

/// Liquid tags that have an `end…` tag: their content stays when the tags go.
fn is_liquid_block(name: &str) -> bool {
    matches!(
        name,
        "highlight"
            | "comment"
            | "capture"
            | "if"
            | "unless"
            | "for"
            | "case"
            | "tablerow"
            | "raw"
            | "javascript"
    )
}

/// Liquid's whitespace control (`{%- … -%}`) and the spaces inside the delimiters removed.
fn trim_control(inner: &str) -> &str {
    let inner = inner.trim();
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    inner.trim()
}

/// `name(args)` → (name, args), for a Zola call.
fn zola_call(inner: &str) -> Option<(&str, &str)> {
    let open = inner.find('(')?;
    let name = inner[..open].trim_end();
    let valid = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    let args = inner[open + 1..].strip_suffix(')')?;
    valid.then_some((name, args))
}

/// The first word and the rest.
fn split_name(inner: &str) -> (&str, &str) {
    match inner.find(char::is_whitespace) {
        Some(i) => (&inner[..i], inner[i..].trim()),
        None => (inner, ""),
    }
}

/// For each tag, the index of the tag that closes it (for an opener) when there is one.
fn pair(tags: &[Tag]) -> Vec<Option<usize>> {
    // The openers not yet closed, by what closes them: a close takes the nearest.
    let key = close_key;
    let mut partners = vec![None; tags.len()];
    let mut open: HashMap<(Form, String), Vec<usize>> = HashMap::new();
    for (i, tag) in tags.iter().enumerate() {
        match tag.role {
            Role::Open => open.entry(key(tag)).or_default().push(i),
            // Any Liquid tag may begin a block: one that an `{% endname %}` follows does.
            Role::Alone if tag.form == Form::Liquid => open.entry(key(tag)).or_default().push(i),
            Role::Close => {
                if let Some(o) = open.get_mut(&key(tag)).and_then(Vec::pop) {
                    partners[o] = Some(i);
                    partners[i] = Some(o);
                }
            }
            _ => {}
        }
    }
    partners
}

/// The arguments of a tag: positional and named, quotes removed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    positional: Vec<String>,
    named: Vec<(String, String)>,
}

impl Args {
    /// Reads Hugo's (`a "b c" d=e f='g'`), Zola's (`a="b", c=1`) and Liquid's arguments.
    fn parse(text: &str) -> Args {
        let mut args = Args::default();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            if rest.is_empty() {
                return args;
            }
            let (word, after) = value(rest, true);
            match after.strip_prefix('=') {
                Some(after) if !word.is_empty() => {
                    let (v, after) = value(after.trim_start(), false);
                    args.named.push((word, v));
                    rest = after;
                }
                _ => {
                    args.positional.push(word);
                    rest = after;
                }
            }
        }
    }

    /// The first named argument of these names, else the positional one at `position`.
    fn get(&self, names: &[&str], position: Option<usize>) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.named.iter().find(|(k, _)| k == n).map(|(_, v)| v))
            .or_else(|| self.positional.get(position?))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// One value at the start of `text` (quoted, a `[…]` list, or a bare word, which ends at a
/// `=` when it may be a name) and what follows.
fn value(text: &str, name: bool) -> (String, &str) {
    let Some(first) = text.chars().next() else {
        return (String::new(), text);
    };
    if matches!(first, '"' | '\'' | '`') {
        let body = &text[1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == first {
                return (out, &body[i + 1..]);
            }
            if c == '\\' && first != '`' {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
                continue;
            }
            out.push(c);
        }
        return (out, "");
    }
    if first == '[' {
        let end = text.find(']').map_or(text.len(), |i| i + 1);
        return (text[..end].to_owned(), &text[end..]);
    }
    let end = text
        .find(|c: char| c.is_whitespace() || c == ',' || (name && c == '='))
        .unwrap_or(text.len());
    let end = if end == 0 { first.len_utf8() } else { end };
    (text[..end].to_owned(), &text[end..])
}

/// The expanded text and where each run of it came from.
#[derive(Debug, Default)]
struct Out {
    text: String,
    map: Vec<Run>,
    /// How many quotes the text being written is in: each line gets `> ` that many times.
    quotes: usize,
    /// Inside a block whose content is not shown (a Liquid `capture`).
    silent: usize,
}

impl Out {
    /// Writes `text`, from the source at `src` (byte for byte when `copied`), each new line
    /// inside a quote marked as the quote's.
    fn write(&mut self, text: &str, src: usize, copied: bool) {
        if self.silent > 0 || text.is_empty() {
            return;
        }
        let mut offset = 0;
        for piece in text.split_inclusive('\n') {
            self.run(src + if copied { offset } else { 0 }, copied);
            self.text.push_str(piece);
            offset += piece.len();
            if piece.ends_with('\n') && self.quotes > 0 {
                self.run(src + if copied { offset } else { 0 }, false);
                self.text.push_str(&"> ".repeat(self.quotes));
            }
        }
    }

    fn run(&mut self, src: usize, copied: bool) {
        let out = self.text.len();
        if let Some(last) = self.map.last_mut()
            && last.out == out
        {
            *last = Run { out, src, copied };
            return;
        }
        self.map.push(Run { out, src, copied });
    }

    /// Starts a new line unless the text is at one.
    fn line_start(&mut self, src: usize) {
        let text = self.text.trim_end_matches([' ', '>']);
        if !text.is_empty() && !text.ends_with('\n') {
            self.write("\n", src, false);
        }
    }

    /// Blanks each line holding one of `emptied` (where a tag left nothing) on which only a
    /// list marker or a run of `-` or `=` is left: after a paragraph, Markdown would read
    /// what the author wrote as an item as a heading's underline, or as a rule. The line keeps
    /// its quote marks and its length, so every byte still maps to where it came from.
    fn clear_bare_marks(&mut self, emptied: &[usize]) {
        for &at in emptied {
            let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = self.text[at..]
                .find('\n')
                .map_or(self.text.len(), |i| at + i);
            let line = &self.text[start..end];
            if !only_marks(line) {
                continue;
            }
            let blank: String = line
                .chars()
                .map(|c| {
                    if c == '>' || c.is_ascii_whitespace() {
                        c
                    } else {
                        ' '
                    }
                })
                .collect();
            self.text.replace_range(start..end, &blank);
        }
    }

    /// Whether nothing but a quote's or list item's marks is written on this line.
    fn at_line_start(&self) -> bool {
        let line = self.text.rsplit('\n').next().unwrap_or("");
        container_marks(line).0 == line.len()
    }

    /// Whether the text written so far asks for a bare URL next: a link's destination
    /// (`](`, `](<`), an HTML attribute (`href=`, `href="`), a reference definition (`[id]:`).
    fn wants_url(&self) -> bool {
        let line = self.text.rsplit('\n').next().unwrap_or("");
        let line = line[container_marks(line).0..].trim_end();
        let attribute = line
            .strip_suffix(['"', '\''])
            .unwrap_or(line)
            .trim_end()
            .ends_with('=');
        let definition = line.starts_with('[') && line.ends_with("]:");
        line.ends_with("](") || line.ends_with("](<") || attribute || definition
    }
}

/// What the author is told: one warning per kind and name, at its first use, with a count.
#[derive(Debug, Default)]
struct Warnings(BTreeMap<(Kind, String), (usize, usize)>);

/// Why a tag is not shown as the generator would show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Unknown: its tags are left out, its content kept.
    Unknown,
    /// Liquid's control flow, not run: its tags are left out, every branch's content kept.
    Control,
    /// A value only the generator knows (a parameter, a site variable, an include).
    Value,
    /// An opener whose tag is never closed (shown as written).
    Unclosed,
    /// A block's opening tag that no closing tag ends.
    Unended,
    /// A closing tag that closes nothing.
    Stray,
    /// A tag inside another's argument: left out.
    Nested,
}

impl Warnings {
    fn add(&mut self, kind: Kind, name: &str, offset: usize) {
        self.0
            .entry((kind, name.to_owned()))
            .and_modify(|(_, n)| *n += 1)
            .or_insert((offset, 1));
    }

    /// An opener at `at` with no close: named by its first characters.
    fn unclosed(&mut self, src: &str, at: usize) {
        let opener = if src[at..].starts_with("{{<") || src[at..].starts_with("{{%") {
            &src[at..at + 3]
        } else {
            &src[at..at + 2]
        };
        self.add(Kind::Unclosed, opener, at);
    }

    fn into_notes(self) -> Vec<Note> {
        let mut notes: Vec<Note> = self
            .0
            .into_iter()
            .map(|((kind, name), (offset, count))| {
                let more = match count {
                    1 => String::new(),
                    2 => " (1 more use on this page)".to_owned(),
                    n => format!(" ({} more uses on this page)", n - 1),
                };
                Note {
                    offset,
                    message: format!("{}{more}", kind.warning(&name)),
                }
            })
            .collect();
        notes.sort_by_key(|n| n.offset);
        notes
    }
}

impl Kind {
    /// What the author is told of a tag of this name.
    fn warning(self, name: &str) -> String {
        match self {
            Kind::Unknown => format!(
                "shortcode or tag `{name}` is not known: its tags are left out, its content kept"
            ),
            Kind::Control => format!(
                "Liquid's `{name}` is control flow, which is not run: its tags are left out, the \
                 content of every branch kept"
            ),
            Kind::Value => {
                format!("`{name}` stands for a value only the site generator knows: it is left out")
            }
            Kind::Unclosed => format!(
                "`{name}` opens a shortcode or template tag that is never closed: it is shown as \
                 written"
            ),
            Kind::Unended => format!(
                "`{name}` is never closed: its opening tag is left out, what follows it kept"
            ),
            Kind::Nested => {
                format!("shortcode or tag `{name}` inside another one's argument is left out")
            }
            Kind::Stray => format!(
                "the closing tag of `{name}` closes nothing opened before it: it is left out"
            ),
        }
    }
}

/// A warning without its count of uses on its page, when it is about a name a site may use on
/// many pages (a shortcode it does not know, Liquid's control flow, a value only the generator
/// knows) rather than a mistake on one page: a site is told of each such name once.
pub fn site_wide_warning(message: &str) -> Option<&str> {
    let name = message.split('`').nth(1)?;
    [Kind::Unknown, Kind::Control, Kind::Value]
        .into_iter()
        .map(|kind| kind.warning(name))
        .find(|warning| message.starts_with(warning.as_str()))
        .map(|warning| &message[..warning.len()])
}

/// Writes the body with each tag replaced.
struct Expander<'s, 'w> {
    src: &'s str,
    out: Out,
    warnings: &'w mut Warnings,
    counts: ShortcodeCounts,
}

impl Expander<'_, '_> {
    fn run(&mut self, tags: &[Tag], partners: &[Option<usize>]) {
        let mut at = 0;
        // Where a tag was taken out and nothing written in its place.
        let mut emptied = Vec::new();
        for (i, tag) in tags.iter().enumerate() {
            self.out.write(&self.src[at..tag.span.start], at, true);
            at = tag.span.end;
            let written = self.out.text.len();
            self.tag(tag, i, tags, partners);
            if self.out.text.len() == written {
                emptied.push(written);
            }
        }
        self.out.write(&self.src[at..], at, true);
        self.out.clear_bare_marks(&emptied);
    }

    /// Writes what one tag stands for.
    fn tag(&mut self, tag: &Tag, i: usize, tags: &[Tag], partners: &[Option<usize>]) {
        match (&tag.role, partners[i]) {
            (Role::Open | Role::Alone, Some(_)) => self.open(tag),
            (Role::Close, Some(open)) => self.close(&tags[open], tag),
            (Role::Close, None) => self.warnings.add(Kind::Stray, &tag.name, tag.span.start),
            (Role::Literal(text), _) => self.out.write(text, tag.span.start, false),
            (Role::Verbatim(inner), _) => self.verbatim(tag, inner.clone()),
            _ => self.alone(tag),
        }
    }

    fn converted(&mut self, name: &str) {
        *self.counts.converted.entry(name.to_owned()).or_default() += 1;
    }

    fn left(&mut self, kind: Kind, name: &str, at: usize) {
        *self.counts.left.entry(name.to_owned()).or_default() += 1;
        self.warnings.add(kind, name, at);
    }

    /// A tag's arguments, with any tag written inside a quoted value (`caption="{{< x >}}"`)
    /// left out and told, and any escape inside shown as it reads.
    fn args(&mut self, tag: &Tag) -> Args {
        let mut args = Args::parse(&tag.args);
        let values = args.positional.iter_mut();
        for value in values.chain(args.named.iter_mut().map(|(_, value)| value)) {
            if value.contains("{{") || value.contains("{%") {
                *value = self.without_tags(value, tag.span.start);
            }
        }
        args
    }

    /// A value with the tags inside it left out, and openers that close nowhere kept as
    /// written; past [`MAX_NESTED`] openers the rest is kept as written, so that a value of
    /// openers costs no more than a few reads.
    fn without_tags(&mut self, value: &str, at: usize) -> String {
        let mut kept = String::with_capacity(value.len());
        let (mut copied, mut from, mut read) = (0, 0, 0);
        while let Some(found) = value[from..].find('{') {
            let start = from + found;
            from = start + 1;
            if !matches!(value.as_bytes().get(start + 1), Some(b'{' | b'%')) {
                continue;
            }
            kept.push_str(&value[copied..start]);
            copied = start;
            read += 1;
            if read > MAX_NESTED {
                break;
            }
            let Some(inner) = read_tag(value, start) else {
                continue;
            };
            match &inner.role {
                Role::Literal(text) => kept.push_str(text),
                _ if inner.form == Form::Output => {
                    let name = inner.args.split_whitespace().next().unwrap_or("{{ }}");
                    self.left(Kind::Nested, name, at)
                }
                _ => self.left(Kind::Nested, &inner.name, at),
            }
            copied = inner.span.end;
            from = copied;
        }
        kept.push_str(&value[copied..]);
        kept
    }

    /// The opening tag of a block with a close.
    fn open(&mut self, tag: &Tag) {
        let at = tag.span.start;
        let args = self.args(tag);
        match tag.name.as_str() {
            name if is_aside(name) => {
                self.converted(name);
                if let Some(title) = aside_title(tag, &args) {
                    self.out.line_start(at);
                    self.out
                        .write(&format!("**{}**\n", escape(&title)), at, false);
                }
            }
            name @ ("quote" | "blockquote") => {
                self.converted(name);
                self.out.line_start(at);
                self.out.quotes += 1;
                self.out.write("> ", at, false);
            }
            "capture" => {
                self.left(Kind::Value, "capture", at);
                self.out.silent += 1;
            }
            // A shortcode known alone (a `qr` with its text inside): its content is what it
            // shows.
            name if known_alone(name) => self.converted(name),
            name if tag.form == Form::Liquid && is_liquid_control(name) => {
                self.left(Kind::Control, name, at)
            }
            name => self.left(Kind::Unknown, name, at),
        }
    }

    /// The closing tag of a block: what the opener began is ended.
    fn close(&mut self, open: &Tag, tag: &Tag) {
        let at = tag.span.start;
        match open.name.as_str() {
            "quote" | "blockquote" => {
                let args = self.args(open);
                let by = [
                    args.get(&["author", "by", "name"], Some(0)),
                    args.get(&["source", "cite", "title", "from"], Some(1)),
                ];
                let by: Vec<&str> = by.into_iter().flatten().collect();
                if !by.is_empty() {
                    self.out.line_start(at);
                    self.out
                        .write(&format!("— {}", escape(&by.join(", "))), at, false);
                }
                self.out.quotes = self.out.quotes.saturating_sub(1);
            }
            "capture" => self.out.silent = self.out.silent.saturating_sub(1),
            _ => {}
        }
    }

    /// A tag whose content is taken as written: `raw` shows it, `comment` hides it,
    /// `highlight` and `code` make it a preformatted block.
    fn verbatim(&mut self, tag: &Tag, inner: Option<Range<usize>>) {
        let at = tag.span.start;
        let Some(inner) = inner else {
            self.left(Kind::Unended, &tag.name, at);
            return;
        };
        self.converted(&tag.name);
        let text = &self.src[inner.clone()];
        match tag.name.as_str() {
            "raw" => self.out.write(text, inner.start, true),
            "comment" => {}
            _ => self.code_block(tag, inner),
        }
    }

    /// A preformatted block for a `highlight` or `code` tag. Each line it writes carries the
    /// marks of the quote or list item the tag stands in (`> `, the item's indentation), as
    /// the lines it replaces did, so that its fences open and close inside it.
    fn code_block(&mut self, tag: &Tag, inner: Range<usize>) {
        let at = tag.span.start;
        let text = &self.src[inner.clone()];
        let args = self.args(tag);
        let lang = args.get(&["lang", "language"], Some(0)).unwrap_or("");
        let fence = "`".repeat(longest_run(text, b'`').max(2) + 1);
        let line_start = self.src[..at].rfind('\n').map_or(0, |i| i + 1);
        let prefix = container_marks(&self.src[line_start..at]).1;
        let newline = format!("\n{prefix}");
        if !self.out.at_line_start() {
            self.out.write(&newline, at, false);
        }
        self.out.write(&format!("{fence}{lang}"), at, false);
        if !text.starts_with('\n') && !text.starts_with("\r\n") {
            self.out.write(&newline, at, false);
        }
        let mut offset = inner.start;
        let pieces = text.split_inclusive('\n').count();
        let mut after_marks = false;
        for (i, piece) in text.split_inclusive('\n').enumerate() {
            let content = if i == 0 {
                piece
            } else {
                self.out.write(&prefix, offset, false);
                strip_marks(piece, &prefix)
            };
            // The marks before the closing tag are written already: its spaces would push
            // the fence in past where it closes.
            after_marks =
                i + 1 == pieces && i > 0 && !piece.ends_with('\n') && content.trim().is_empty();
            if !after_marks {
                self.out
                    .write(content, offset + piece.len() - content.len(), true);
            }
            offset += piece.len();
        }
        if text.ends_with('\n') {
            self.out.write(&prefix, inner.end, false);
        } else if !after_marks {
            self.out.write(&newline, inner.end, false);
        }
        self.out.write(&fence, inner.end, false);
        let after = &self.src[tag.span.end..];
        if !after.is_empty() && !after.starts_with(['\n', '\r']) {
            self.out.write(&newline, tag.span.end, false);
        }
    }

    /// A tag without content, or an opener never closed.
    fn alone(&mut self, tag: &Tag) {
        let at = tag.span.start;
        if tag.form == Form::Output {
            return self.output(tag);
        }
        let args = self.args(tag);
        let name = tag.name.as_str();
        let written = match name {
            "figure" | "image" | "img" => figure(&args),
            "ref" | "relref" | "post_url" | "link" => args
                .get(&["path", "page"], Some(0))
                .map(|target| self.reference(target)),
            "qr" => args.get(&["text"], Some(0)).map(escape),
            _ => embed(name, &args),
        };
        match written {
            Some(text) => {
                self.converted(name);
                self.out.write(&text, at, false);
            }
            None if is_aside(name) || known_alone(name) => {
                // Known, but with nothing to show here (a block's opener without its close).
                self.converted(name);
                // An aside always has content, and a Zola block always a close: one missing is
                // the author's to know of.
                if tag.role == Role::Open && (is_aside(name) || tag.form != Form::Hugo) {
                    self.warnings.add(Kind::Unended, name, at);
                }
                if let Some(title) = args.get(&["title", "summary"], None) {
                    self.out.write(&format!("**{}**", escape(title)), at, false);
                }
            }
            None if tag.form == Form::Liquid && is_liquid_control(name) => {
                self.left(Kind::Control, name, at)
            }
            None if is_generator_value(name, tag.form) => self.left(Kind::Value, name, at),
            None if tag.role == Role::Open && tag.form != Form::Hugo => {
                self.left(Kind::Unended, name, at)
            }
            None => self.left(Kind::Unknown, name, at),
        }
    }

    /// A Liquid output: a URL filter of a quoted path gives the path; anything else is a
    /// value only the generator knows.
    fn output(&mut self, tag: &Tag) {
        let at = tag.span.start;
        let mut parts = tag.args.split('|').map(str::trim);
        let subject = parts.next().unwrap_or("");
        let url_filters = parts.all(|f| matches!(f, "relative_url" | "absolute_url"));
        let (literal, rest) = value(subject, false);
        let quoted = subject.starts_with(['"', '\'']) && rest.trim().is_empty();
        // A quoted string printed as it is: Liquid's way to write `{{` in a page.
        if quoted && url_filters {
            if tag.args.contains('|') {
                self.converted("relative_url");
            }
            self.out.write(&literal, at, false);
            return;
        }
        let name = subject.split_whitespace().next().unwrap_or(subject);
        let name = if name.is_empty() { "{{ }}" } else { name };
        self.left(Kind::Value, name, at);
    }

    /// A page reference: bare where a link target is expected (after `(`, `=`, `:` or a
    /// quote), else a link of its own.
    fn reference(&self, target: &str) -> String {
        // A target already written as a page reference (Zola's `ref(path="@/x.md")`) is one.
        let target = target.trim();
        let target = target.strip_prefix(PAGE_REFERENCE).unwrap_or(target);
        let target = target.trim_start_matches('/');
        let mut encoded = String::with_capacity(target.len() + 2);
        encoded.push_str("@/");
        for c in target.chars() {
            match c {
                ' ' => encoded.push_str("%20"),
                '(' => encoded.push_str("%28"),
                ')' => encoded.push_str("%29"),
                '<' => encoded.push_str("%3C"),
                '>' => encoded.push_str("%3E"),
                c if c.is_control() => {}
                c => encoded.push(c),
            }
        }
        if self.out.wants_url() {
            encoded
        } else {
            format!("[{}]({encoded})", escape(target))
        }
    }
}

/// Liquid's control flow: which branch or how many times is the generator's to decide, so
/// every branch's content is kept, once.
fn is_liquid_control(name: &str) -> bool {
    matches!(
        name,
        "if" | "elsif"
            | "else"
            | "unless"
            | "case"
            | "when"
            | "for"
            | "break"
            | "continue"
            | "tablerow"
            | "ifchanged"
    )
}

/// Tags that stand for a value only the generator knows: a parameter, a file it includes, a
/// variable it sets or counts.
fn is_generator_value(name: &str, form: Form) -> bool {
    match form {
        Form::Liquid => matches!(
            name,
            "include"
                | "include_relative"
                | "render"
                | "assign"
                | "increment"
                | "decrement"
                | "cycle"
                | "echo"
        ),
        _ => matches!(name, "param" | "include"),
    }
}

/// Shortcodes that set their content apart: shown as the content, under its title.
fn is_aside(name: &str) -> bool {
    matches!(
        name,
        "details"
            | "note"
            | "tip"
            | "warning"
            | "info"
            | "caution"
            | "important"
            | "admonition"
            | "callout"
            | "alert"
            | "hint"
            | "notice"
            | "aside"
    )
}

/// The title an aside's opener gives: a named or first argument, or for Liquid, whose tags
/// take their words unquoted (`{% details Click me %}`), all its words.
fn aside_title<'a>(tag: &Tag, args: &'a Args) -> Option<Cow<'a, str>> {
    let names = ["title", "summary", "header", "heading"];
    let unquoted = !tag.args.starts_with(['"', '\'']) && args.named.is_empty();
    if tag.form == Form::Liquid && unquoted && args.positional.len() > 1 {
        return Some(Cow::Owned(args.positional.join(" ")));
    }
    args.get(&names, Some(0)).map(Cow::Borrowed)
}

/// Names converted when they stand alone: a block of them keeps its content.
fn known_alone(name: &str) -> bool {
    matches!(
        name,
        "figure"
            | "image"
            | "img"
            | "ref"
            | "relref"
            | "post_url"
            | "link"
            | "qr"
            | "youtube"
            | "vimeo"
            | "gist"
            | "x"
            | "twitter"
            | "tweet"
            | "instagram"
            | "quote"
            | "blockquote"
    )
}

/// An image as a Markdown image, its caption kept as text when it says more than the alt.
fn figure(args: &Args) -> Option<String> {
    let src = args.get(&["src", "path", "url"], Some(0))?;
    let alt = args.get(&["alt"], None);
    let caption = args.get(&["caption"], None);
    let title = args.get(&["title"], None);
    let label = alt.or(caption).or(title).unwrap_or("");
    let mut out = format!("![{}]({})", escape(label), destination(src));
    for extra in [caption, title].into_iter().flatten() {
        if extra != label && !out.contains(&escape(extra)) {
            out.push_str(&format!("\n\n{}", escape(extra)));
        }
    }
    if let Some(link) = args.get(&["link"], None).filter(|l| *l != src) {
        out.push_str(&format!("\n\n[{}]({})", escape(label), destination(link)));
    }
    Some(out)
}

/// A link to an embedded video, gist or post, labelled with what it is.
fn embed(name: &str, args: &Args) -> Option<String> {
    let id = |position| args.get(&["id"], Some(position));
    let (label, url) = match name {
        "youtube" => {
            let id = id(0)?;
            (
                "YouTube video".to_owned(),
                format!("https://www.youtube.com/watch?v={id}"),
            )
        }
        "vimeo" => {
            let id = id(0)?;
            ("Vimeo video".to_owned(), format!("https://vimeo.com/{id}"))
        }
        "gist" => match args.get(&["url"], None) {
            Some(url) => ("GitHub gist".to_owned(), url.to_owned()),
            None => {
                let (user, id) = (args.get(&["user"], Some(0))?, id(1)?);
                (
                    format!("GitHub gist by {user}"),
                    format!("https://gist.github.com/{user}/{id}"),
                )
            }
        },
        "x" | "twitter" | "tweet" => {
            let (user, id) = (args.get(&["user"], Some(0))?, id(1)?);
            (
                format!("Post by @{user} on X"),
                format!("https://x.com/{user}/status/{id}"),
            )
        }
        "instagram" => {
            let id = id(0)?;
            (
                "Instagram post".to_owned(),
                format!("https://www.instagram.com/p/{id}/"),
            )
        }
        _ => return None,
    };
    let title = args.get(&["title"], None);
    let label = match title {
        Some(title) => format!("{label}: {title}"),
        None => label,
    };
    Some(format!("[{}]({})", escape(&label), destination(&url)))
}

/// Text with Markdown's marks escaped, on one line, so it reads as written.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '[' | ']' | '*' | '_' | '`' | '<' | '>' | '&' | '!' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A link destination as Markdown reads it whole: in `<…>` when it holds spaces or brackets.
fn destination(url: &str) -> String {
    let url: String = url
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' => "%3C".to_owned(),
            '>' => "%3E".to_owned(),
            c => c.to_string(),
        })
        .collect();
    if url.contains([' ', '(', ')']) {
        format!("<{url}>")
    } else {
        url
    }
}

/// The quote and list marks that open a line (`> `, `- `, `1. `, their indentation): how many
/// bytes they take, and what a line that goes on in the same quote or item starts with (the
/// quote marks kept, each list marker made spaces).
fn container_marks(line: &str) -> (usize, String) {
    let bytes = line.as_bytes();
    let mut prefix = String::new();
    let mut i = 0;
    loop {
        let spaces = bytes[i..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        prefix.push_str(&line[i..i + spaces]);
        i += spaces;
        if bytes.get(i) == Some(&b'>') {
            prefix.push('>');
            i += 1;
            continue;
        }
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let marker = match bytes.get(i + digits) {
            Some(b'.' | b')') if (1..=9).contains(&digits) => digits + 1,
            Some(b'-' | b'+' | b'*') if digits == 0 => 1,
            _ => 0,
        };
        let ends = matches!(bytes.get(i + marker), None | Some(b' ' | b'\t'));
        if marker == 0 || !ends {
            return (i, prefix);
        }
        prefix.push_str(&" ".repeat(marker));
        i += marker;
    }
}

/// Whether a line holds list markers or a run of `-` and `=`, with nothing else but quote
/// marks and spaces.
fn only_marks(line: &str) -> bool {
    let rest = &line[container_marks(line).0..];
    let left = rest
        .bytes()
        .all(|b| matches!(b, b'-' | b'=') || b.is_ascii_whitespace());
    left && line.bytes().any(|b| b != b'>' && !b.is_ascii_whitespace())
}

/// A line with the marks `prefix` stands for taken off its start, as far as it has them: a
/// line written lazily, without them, is kept whole.
fn strip_marks<'t>(line: &'t str, prefix: &str) -> &'t str {
    let mut rest = line;
    for mark in prefix.chars() {
        let stripped = match mark {
            '>' => {
                let indent = rest.len() - rest.trim_start_matches(' ').len();
                rest[indent.min(3)..].strip_prefix('>')
            }
            _ => rest.strip_prefix(mark),
        };
        match stripped {
            Some(stripped) => rest = stripped,
            None => break,
        }
    }
    rest
}

/// The longest run of `byte` in `text`.
fn longest_run(text: &str, byte: u8) -> usize {
    let (mut longest, mut run) = (0, 0);
    for &b in text.as_bytes() {
        run = if b == byte { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests;
