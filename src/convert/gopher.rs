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
pub fn text(gemtext: &str, page: &str, place: &Place) -> String {
    let width = place.width;
    let mut out = Lines::default();
    let mut links: Vec<String> = Vec::new();
    let mut pre = false;
    for line in gemtext.lines() {
        if line.starts_with("```") {
            pre = !pre;
            continue;
        }
        if pre {
            out.push(expand_tabs(line));
            continue;
        }
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
        } else if let Some(link) = line.strip_prefix("=>") {
            let (url, label) = split_link(link);
            links.push(absolute(&target(url, page, place), url, place));
            let label = if label.is_empty() { url } else { label };
            let number = format!("[{}] ", links.len());
            let indent = " ".repeat(number.len());
            out.extend(wrap(label, width, &number, &indent));
        } else if line.trim().is_empty() {
            out.blank();
        } else {
            out.extend(wrap(line.trim_end(), width, "", ""));
        }
    }
    if !links.is_empty() {
        out.blank();
        out.push("Links:".into());
        for (n, url) in links.iter().enumerate() {
            // Kept whole, however long: a broken URL cannot be followed.
            out.push(format!("[{}] {url}", n + 1));
        }
    }
    out.finish()
}

/// The type-1 menu of a gemtext page (a generated index, a folder's page) served at the
/// Gemini path `page`.
pub fn menu(gemtext: &str, page: &str, place: &Place) -> String {
    let width = place.width;
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
    for line in gemtext.lines() {
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
            let label = fit(&clean(if label.is_empty() { url } else { label }), width);
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
        } else if let Some(heading) = line.strip_prefix('#') {
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
