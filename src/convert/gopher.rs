//! Gemtext as Gopher: a page becomes type-0 text wrapped to a width, with its links numbered and
//! listed at the end; a generated page or a folder becomes a type-1 menu whose links are items,
//! in the order the Gemini page has them.
//!
//! Every line ends with CRLF. No text line is a lone `.` (strict clients would stop there), no
//! display string holds a TAB, CR or LF, and every menu ends with `.` CRLF. Local links point at
//! the Gopher selectors that mirror the Gemini paths (`/posts/x.gmi` → `/posts/x.txt`), on the
//! public host and port, never the address the listener is bound to.

use std::fmt::Write;

use percent_encoding::percent_decode_str;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::gemtext::text_lines;
use super::mime::mime_for;

/// Where menus and links say the Gopher server is.
#[derive(Debug, Clone)]
pub struct Place {
    /// The public host name written into menus.
    pub host: String,
    /// The public port written into menus.
    pub port: u16,
    /// The Gemini host whose links are local (`gemini://<this>/…`).
    pub gemini_host: String,
    /// Text is wrapped to this many display columns.
    pub width: usize,
}

/// Where a link in gemtext leads, in Gopher terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A selector on this server, with its item type.
    Local { kind: char, selector: String },
    /// An item on another Gopher server.
    Gopher {
        kind: char,
        selector: String,
        host: String,
        port: u16,
    },
    /// Anything else (gemini, https, mailto…), reached through a `URL:` selector.
    External(String),
}

/// The type-0 text of a gemtext page served at the Gemini path `page`.
///
/// Links are numbered `[1]`, `[2]`… where they stand and listed by those numbers at the end;
/// the footnotes of a converted Markdown page are shown `[^1]` (see [`Footnotes`]).
pub fn text(gemtext: &str, page: &str, place: &Place) -> String {
    let width = place.width;
    let notes = Footnotes::of(gemtext);
    let mut numbers = LinkNumbers::of(gemtext, &notes);
    let mut out = Lines::default();
    let mut links: Vec<(usize, String)> = Vec::new();
    let mut pre = false;
    for (at, line) in gemtext.lines().enumerate() {
        if line.starts_with("```") {
            pre = !pre;
            continue;
        }
        if pre {
            out.push(expand_tabs(line));
            continue;
        }
        if let Some(link) = line.strip_prefix("=>") {
            let (url, label) = split_link(link);
            let (number, label) = numbers.take(label);
            links.push((number, absolute(&target(url, page, place), url, place)));
            let label = if label.is_empty() { url } else { label };
            let label = notes.mark(at, label);
            let number = format!("[{number}] ");
            let indent = " ".repeat(number.len());
            out.extend(wrap(&label, width, &number, &indent));
            continue;
        }
        let line = notes.mark(at, line);
        if let Some(heading) = line.strip_prefix("###") {
            out.block(wrap(&format!("### {}", heading.trim()), width, "", ""));
        } else if let Some(heading) = line.strip_prefix("##") {
            out.block(underlined(heading.trim(), '-', width));
        } else if let Some(heading) = line.strip_prefix('#') {
            out.block(underlined(heading.trim(), '=', width));
        } else if let Some(item) = line.strip_prefix("* ") {
            out.extend(wrap(item.trim(), width, "  * ", "    "));
        } else if let Some(quote) = line.strip_prefix('>') {
            out.extend(wrap(quote.trim(), width, "> ", "> "));
        } else if line.trim().is_empty() {
            out.blank();
        } else {
            out.extend(wrap(line.trim_end(), width, "", ""));
        }
    }
    if !links.is_empty() {
        links.sort_by_key(|(n, _)| *n);
        out.blank();
        out.push("Links:".into());
        for (n, url) in &links {
            // Kept whole, however long: a broken URL cannot be followed.
            out.push(format!("[{n}] {url}"));
        }
    }
    out.finish()
}

/// The footnotes of a page converted from Markdown, told apart from link numbers.
///
/// In Gopher text `[N]` is a link: the number this renderer gives each link, the form lynx,
/// phlog generators and readers of plain-text mail already know. A footnote is shown `[^N]`,
/// Markdown's own footnote form: plain ASCII (every client and `curl` shows it as is), as
/// short as `[N]`, and unlike `(N)` never mistaken for an enumeration in the prose.
///
/// Gemtext has no footnotes, so they are found by the shape the Markdown converter gives them:
/// the page's last `## Notes` heading with a note right under it (`[N] text`, or `[N]` alone
/// on its line), then one note line per number in rising order until the next `#` or `##`
/// heading (the end of the page, the links of the `end` placement, a series footer). Only
/// those numbers are footnotes, only above that heading and only outside preformatted blocks:
/// a page without such a section keeps every `[N]` its author wrote.
#[derive(Debug, Default)]
struct Footnotes {
    numbers: Vec<usize>,
    /// The line the notes end before: what follows holds no footnote.
    end: usize,
}

impl Footnotes {
    fn of(gemtext: &str) -> Footnotes {
        let lines: Vec<(bool, &str)> = text_lines(gemtext).collect();
        let mut section = None;
        for (i, &(text, line)) in lines.iter().enumerate() {
            if text
                && line.trim_end() == "## Notes"
                && lines
                    .get(i + 1)
                    .is_some_and(|(_, next)| note_number(next).is_some())
            {
                section = Some(i + 1);
            }
        }
        let mut numbers = Vec::new();
        let Some(start) = section else {
            return Footnotes { numbers, end: 0 };
        };
        let mut end = lines.len();
        for (at, &(text, line)) in lines.iter().enumerate().skip(start) {
            if !text {
                continue;
            } else if line.starts_with('#') && !line.starts_with("###") {
                end = at;
                break;
            } else if let Some(n) = note_number(line)
                && numbers.last().is_none_or(|&last| n > last)
            {
                numbers.push(n);
            }
        }
        Footnotes { numbers, end }
    }

    fn is_note(&self, n: usize) -> bool {
        self.numbers.binary_search(&n).is_ok()
    }

    /// The text of line `at` with each footnote's `[N]` written `[^N]`.
    fn mark<'a>(&self, at: usize, text: &'a str) -> std::borrow::Cow<'a, str> {
        if at >= self.end || !text.contains('[') {
            return text.into();
        }
        let mut out = String::with_capacity(text.len() + 4);
        let mut rest = text;
        while let Some(at) = rest.find('[') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            match bracketed_number(rest) {
                Some((n, after)) if self.is_note(n) => {
                    out.push_str("[^");
                    out.push_str(&rest[1..rest.len() - after.len()]);
                    rest = after;
                }
                _ => {
                    out.push('[');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out.into()
    }
}

/// `N` and the rest, for text that starts with `[N]` (N a decimal number).
fn bracketed_number(text: &str) -> Option<(usize, &str)> {
    let inner = text.strip_prefix('[')?;
    let digits = inner.find(|c: char| !c.is_ascii_digit())?;
    let after = inner[digits..].strip_prefix(']')?;
    if digits == 0 || digits > 9 {
        return None;
    }
    Some((inner[..digits].parse().ok()?, after))
}

/// The number of a note line of the converter's `## Notes`: `[N] text`, or `[N]` alone.
fn note_number(line: &str) -> Option<usize> {
    bracketed_number(line)
        .filter(|(_, rest)| rest.is_empty() || rest.starts_with(' '))
        .map(|(n, _)| n)
}

/// The numbers of a text page's links. A link the converter already numbered (the `footnote`
/// and `end` placements write `=> url [3] label`, and `label[3]` in the prose) keeps its
/// number, so the prose and the link list agree; every other link takes the next number
/// after those.
struct LinkNumbers {
    given: std::collections::HashSet<usize>,
    used: std::collections::HashSet<usize>,
    next: usize,
}

impl LinkNumbers {
    fn of(gemtext: &str, notes: &Footnotes) -> LinkNumbers {
        let mut given = std::collections::HashSet::new();
        for (text, line) in text_lines(gemtext) {
            if text
                && let Some(link) = line.strip_prefix("=>")
                && let Some((n, _)) = given_number(split_link(link).1)
                && !notes.is_note(n)
            {
                given.insert(n);
            }
        }
        let next = given.iter().max().map_or(1, |n| n + 1);
        LinkNumbers {
            given,
            used: std::collections::HashSet::new(),
            next,
        }
    }

    /// The number of the link labelled `label`, and its label without a number it had.
    fn take<'a>(&mut self, label: &'a str) -> (usize, &'a str) {
        if let Some((n, rest)) = given_number(label)
            && self.given.contains(&n)
            && self.used.insert(n)
        {
            return (n, rest);
        }
        while self.used.contains(&self.next) {
            self.next += 1;
        }
        self.used.insert(self.next);
        (self.next, label)
    }
}

/// The number a link label starts with (`[3] label`), and the label after it.
fn given_number(label: &str) -> Option<(usize, &str)> {
    bracketed_number(label)
        .and_then(|(n, rest)| Some((n, rest.strip_prefix(' ')?.trim_start())))
        .filter(|(_, rest)| !rest.is_empty())
}

/// The type-1 menu of a gemtext page (a generated index, a folder's page) served at the
/// Gemini path `page`.
pub fn menu(gemtext: &str, page: &str, place: &Place) -> String {
    let width = place.width;
    let notes = Footnotes::of(gemtext);
    let mut out = String::new();
    let mut pre = false;
    let mut titled = false;
    let mut blank = true;
    let info = |out: &mut String, text: &str, blank: &mut bool| {
        let text = clean(text);
        if text.trim().is_empty() {
            if *blank {
                return;
            }
            *blank = true;
        } else {
            *blank = false;
        }
        let _ = write!(out, "i{text}\t\tnull.host\t1\r\n");
    };
    for (at, line) in gemtext.lines().enumerate() {
        if line.starts_with("```") {
            pre = !pre;
            continue;
        }
        if pre {
            info(&mut out, &expand_tabs(line), &mut blank);
            continue;
        }
        if let Some(link) = line.strip_prefix("=>") {
            let (url, label) = split_link(link);
            let label = fit(
                &clean(&notes.mark(at, if label.is_empty() { url } else { label })),
                width,
            );
            let _ = match target(url, page, place) {
                Target::Local { kind, selector } => write!(
                    out,
                    "{kind}{label}\t{}\t{}\t{}\r\n",
                    clean(&selector),
                    place.host,
                    place.port
                ),
                Target::Gopher {
                    kind,
                    selector,
                    host,
                    port,
                } => write!(
                    out,
                    "{kind}{label}\t{}\t{}\t{port}\r\n",
                    clean(&selector),
                    clean(&host)
                ),
                Target::External(url) => write!(
                    out,
                    "h{label}\tURL:{}\t{}\t{}\r\n",
                    clean(&url),
                    place.host,
                    place.port
                ),
            };
            blank = false;
            continue;
        }
        let line = notes.mark(at, line);
        if let Some(heading) = line.strip_prefix('#') {
            let heading = heading.trim_start_matches('#').trim();
            if !titled && !line.starts_with("##") {
                // The menu's title, as Gophernicus marks it.
                titled = true;
                let _ = write!(
                    out,
                    "i{}\tTITLE\tnull.host\t1\r\n",
                    fit(&clean(heading), width)
                );
                blank = false;
            } else {
                info(&mut out, "", &mut blank);
                for row in wrap(heading, width, "", "") {
                    info(&mut out, &row, &mut blank);
                }
            }
        } else if let Some(item) = line.strip_prefix("* ") {
            for row in wrap(item.trim(), width, "  * ", "    ") {
                info(&mut out, &row, &mut blank);
            }
        } else if let Some(quote) = line.strip_prefix('>') {
            for row in wrap(quote.trim(), width, "> ", "> ") {
                info(&mut out, &row, &mut blank);
            }
        } else if line.trim().is_empty() {
            info(&mut out, "", &mut blank);
        } else {
            for row in wrap(line.trim_end(), width, "", "") {
                info(&mut out, &row, &mut blank);
            }
        }
    }
    out.push_str(".\r\n");
    out
}

/// A one-line error menu. The message is ours: a request is never echoed back.
pub fn error(message: &str) -> String {
    format!("3{}\t\terror.host\t1\r\n.\r\n", clean(message))
}

/// The page a client that cannot open a `URL:` link itself gets: a pointer to the URL.
pub fn url_redirect(url: &str) -> String {
    let escaped = html_escape::encode_double_quoted_attribute(url);
    let text = html_escape::encode_text(url);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"2; url={escaped}\">\
         <title>Leaving Gopherspace</title></head>\n<body><p>This link leads out of \
         Gopherspace, to <a href=\"{escaped}\">{text}</a>.</p></body></html>\n"
    )
}

/// The `caps.txt` of the server: how its selectors work, for clients that ask.
pub fn caps(software: &str, version: &str) -> String {
    let lines = [
        "CAPS".to_owned(),
        "CapsVersion=1".into(),
        "ExpireCapsAfter=3600".into(),
        "PathDelimeter=/".into(),
        "PathIdentity=.".into(),
        "PathParent=..".into(),
        "PathParentDouble=FALSE".into(),
        "PathKeepPreDelimeter=FALSE".into(),
        "ServerSupportsStdinScripts=FALSE".into(),
        "ServerDefaultEncoding=UTF-8".into(),
        "ServerTLSPort=0".into(),
        format!("ServerSoftware={software}"),
        format!("ServerSoftwareVersion={version}"),
    ];
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// The Gopher item type of a file, from its name.
pub fn item_type(path: &str) -> char {
    let mime = mime_for(std::path::Path::new(path));
    match mime {
        "image/gif" => 'g',
        m if m.starts_with("image/") => 'I',
        m if m.starts_with("audio/") => 's',
        "text/html" => 'h',
        m if m.starts_with("text/") || m == "application/atom+xml" => '0',
        _ => '9',
    }
}

/// Where a gemtext link leads from the page at Gemini path `page`.
pub fn target(link: &str, page: &str, place: &Place) -> Target {
    let Ok(base) = url::Url::parse(&format!("gemini://{}{page}", place.gemini_host)) else {
        return Target::External(link.to_owned());
    };
    let Ok(resolved) = base.join(link) else {
        return Target::External(link.to_owned());
    };
    match resolved.scheme() {
        "gemini" if resolved.host_str() == base.host_str() && resolved.port().is_none() => {
            let path = percent_decode_str(resolved.path())
                .decode_utf8_lossy()
                .into_owned();
            if path == super::route::Route::Search(None).url() {
                Target::Local {
                    kind: '7',
                    selector: path,
                }
            } else if path.ends_with('/') {
                Target::Local {
                    kind: '1',
                    selector: path,
                }
            } else if let Some(stem) = path.strip_suffix(".gmi") {
                Target::Local {
                    kind: '0',
                    selector: format!("{stem}.txt"),
                }
            } else {
                Target::Local {
                    kind: item_type(&path),
                    selector: path,
                }
            }
        }
        "gopher" => {
            let path = resolved.path();
            let mut chars = path.strip_prefix('/').unwrap_or(path).chars();
            let kind = chars.next().unwrap_or('1');
            let selector = percent_decode_str(chars.as_str())
                .decode_utf8_lossy()
                .into_owned();
            Target::Gopher {
                kind,
                selector,
                host: resolved.host_str().unwrap_or("").to_owned(),
                port: resolved.port().unwrap_or(70),
            }
        }
        _ => Target::External(link.to_owned()),
    }
}

/// The absolute URL of a link target, for the list at the end of a text page.
fn absolute(target: &Target, original: &str, place: &Place) -> String {
    let encode = |s: &str| super::url::percent_encode(s);
    match target {
        Target::Local { kind, selector } => {
            format!(
                "gopher://{}{}/{kind}{}",
                place.host,
                port_suffix(place.port),
                encode(selector)
            )
        }
        Target::Gopher { .. } | Target::External(_) => original.to_owned(),
    }
}

fn port_suffix(port: u16) -> String {
    if port == 70 {
        String::new()
    } else {
        format!(":{port}")
    }
}

/// `url label` from the rest of a link line.
fn split_link(rest: &str) -> (&str, &str) {
    let rest = rest.trim_start();
    match rest.find(char::is_whitespace) {
        Some(end) => (&rest[..end], rest[end..].trim()),
        None => (rest, ""),
    }
}

/// Lines of text joined with CRLF: runs of blank lines become one, none at either end, and a
/// line that is a lone `.` gets a space in front.
#[derive(Default)]
struct Lines {
    lines: Vec<String>,
}

impl Lines {
    fn push(&mut self, line: String) {
        if line.trim().is_empty() {
            self.blank();
        } else if line == "." {
            self.lines.push(" .".into());
        } else {
            self.lines.push(line);
        }
    }

    fn extend(&mut self, lines: Vec<String>) {
        for line in lines {
            self.push(line);
        }
    }

    /// Lines with a blank line before and after.
    fn block(&mut self, lines: Vec<String>) {
        self.blank();
        self.extend(lines);
        self.blank();
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn finish(mut self) -> String {
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out
    }
}

/// A heading, wrapped, with a rule of `mark` as wide as its widest line.
fn underlined(text: &str, mark: char, width: usize) -> Vec<String> {
    let mut lines = wrap(text, width, "", "");
    let widest = lines.iter().map(|l| l.width()).max().unwrap_or(0);
    if widest > 0 {
        lines.push(mark.to_string().repeat(widest));
    }
    lines
}

/// Wraps text at `width` display columns, breaking at spaces (control characters count as
/// spaces); the first line starts with `first`, the others with `rest`. A word wider than a
/// line is cut, so no line is wider than `width` (unless a prefix alone is).
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    // Control characters have no width a terminal agrees on (and escape sequences could
    // reach the reader's terminal): they become spaces.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut prefix_width = first.width();
    let mut used = prefix_width;
    let mut empty = true;
    for word in text.split_whitespace() {
        let word_width = word.width();
        if !empty && used + 1 + word_width <= width {
            line.push(' ');
            line.push_str(word);
            used += 1 + word_width;
            continue;
        }
        if !empty {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            prefix_width = rest.width();
            used = prefix_width;
        }
        if prefix_width + word_width <= width {
            line.push_str(word);
            used += word_width;
        } else {
            // Too wide for any line: cut it by characters.
            for c in word.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > width && used > prefix_width {
                    lines.push(std::mem::replace(&mut line, rest.to_owned()));
                    prefix_width = rest.width();
                    used = prefix_width;
                }
                line.push(c);
                used += w;
            }
        }
        empty = false;
    }
    if !empty || lines.is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// Cuts a display string to `width` columns, ending it with `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A string made safe for a menu field: TAB, CR, LF and other controls become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// TABs as spaces to the next multiple of eight columns.
fn expand_tabs(line: &str) -> String {
    if !line.contains('\t') {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let spaces = 8 - column % 8;
            out.push_str(&" ".repeat(spaces));
            column += spaces;
        } else {
            out.push(c);
            column += c.width().unwrap_or(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            host: "hole.example".into(),
            port: 70,
            gemini_host: "capsule.example".into(),
            width: 70,
        }
    }

    fn render(gemtext: &str) -> Vec<String> {
        text(gemtext, "/posts/p.gmi", &place())
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    fn assert_has(lines: &[String], expected: &[&str]) {
        for line in expected {
            assert!(lines.iter().any(|l| l == line), "{line:?} in {lines:#?}");
        }
    }

    /// What the converter makes of a post with two footnotes (one with a link) and two links,
    /// in the default `below` placement, under a series footer.
    const BELOW: &str = "# Power\n\
        \n\
        The Pi draws little power.[1] See the index and the spec.\n\
        => /series/pi/ the index\n\
        => https://example.org/spec spec\n\
        \n\
        Another claim.[2] A literal [3] stays.\n\
        \n\
        ## Notes\n\
        [1] About 3 W idle, per the datasheet.\n\
        => https://example.org/ds the datasheet\n\
        [2] Measured at home.\n\
        \n\
        ## In this series\n\
        => /posts/q.gmi Part 2: Next [1]\n";

    #[test]
    fn footnotes_are_marked_apart_from_link_numbers() {
        let lines = render(BELOW);
        assert_has(
            &lines,
            &[
                "The Pi draws little power.[^1] See the index and the spec.",
                "[1] the index",
                "[2] spec",
                "Another claim.[^2] A literal [3] stays.",
                "[^1] About 3 W idle, per the datasheet.",
                "[3] the datasheet",
                "[^2] Measured at home.",
                "[4] Part 2: Next [1]",
                "[1] gopher://hole.example/1/series/pi/",
                "[3] https://example.org/ds",
                "[4] gopher://hole.example/0/posts/q.txt",
            ],
        );
    }

    #[test]
    fn without_the_converters_notes_every_bracketed_number_is_the_authors() {
        for page in [
            // No notes section at all.
            "As [1] says, and [2].\n=> a.gmi A\n",
            // A `## Notes` heading of the author's, with no note right under it.
            "As [1] says.\n\n## Notes\n\n[1] my own list\n",
            // The notes shape inside a preformatted block is not the converter's.
            "As [1] says.\n```\n## Notes\n[1] x\n```\n",
        ] {
            let out = text(page, "/p.gmi", &place());
            assert!(!out.contains("[^"), "{page:?} → {out:?}");
        }
        // Inside a preformatted block a footnote's number is left as written (a table keeps
        // its alignment).
        let out = text(
            "```table\n| a[1] | b |\n```\n\n## Notes\n[1] n\n",
            "/p.gmi",
            &place(),
        );
        assert!(
            out.contains("| a[1] | b |") && out.contains("[^1] n"),
            "{out:?}"
        );
    }

    #[test]
    fn notes_are_the_rising_numbers_of_the_last_notes_section() {
        let notes = Footnotes::of(
            "## Notes\n[9] an author's section\n\n## Notes\n[1] one\nsecond line [7] of it\n\
             [1] not again\n[2]\n* a list note\n[4] four\n\n## Links\n[5] not a note\n",
        );
        assert_eq!(notes.numbers, [1, 2, 4]);
        assert_eq!(
            notes.mark(0, "a[1] b[3] c[4][2] [^1] [x] [] [12]"),
            "a[^1] b[3] c[^4][^2] [^1] [x] [] [12]"
        );
    }

    #[test]
    fn links_the_converter_numbered_keep_their_numbers() {
        // The `footnote` placement: links and notes share one sequence in the gemtext.
        let lines = render(
            "See the index[2] and the spec[3].[1]\n\
             => /series/pi/ [2] the index\n\
             => https://example.org/spec [3] spec\n\
             \n\
             ## Notes\n\
             [1] Per the datasheet[4].\n\
             => https://example.org/ds [4] the datasheet\n\
             \n\
             => /series/pi/ All of it\n",
        );
        assert_has(
            &lines,
            &[
                "See the index[2] and the spec[3].[^1]",
                "[2] the index",
                "[3] spec",
                "[^1] Per the datasheet[4].",
                "[4] the datasheet",
                "[5] All of it",
                "[2] gopher://hole.example/1/series/pi/",
                "[4] https://example.org/ds",
            ],
        );
        let listed: Vec<&String> = lines.iter().skip_while(|l| *l != "Links:").collect();
        assert!(
            listed[1].starts_with("[2] ") && listed[4].starts_with("[5] "),
            "{listed:#?}"
        );
    }

    #[test]
    fn menus_mark_footnotes_too() {
        let menu = menu(BELOW, "/posts/p.gmi", &place());
        assert!(menu.contains("iThe Pi draws little power.[^1] "), "{menu}");
        assert!(menu.contains("i[^2] Measured at home.\t"), "{menu}");
    }
}
