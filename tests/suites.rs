//! Conformance suites written elsewhere, fetched at test time into `target/suites/` (never
//! committed) and checked against pinned SHA-256 sums:
//!
//! - the CommonMark 0.31.2 spec examples (npm `commonmark-spec` 0.31.2, its `spec.txt`);
//! - the GitHub Flavored Markdown extension examples (tables, strikethrough, extended
//!   autolinks, task lists, tagfilter) of the GFM spec 0.29, as shipped in the `marko` 2.2.4
//!   source distribution (`tests/spec/gfm.txt`);
//! - long real-world documents from npm packages (READMEs, changelogs, reference docs), scored
//!   against pulldown-cmark's own HTML, since they have none of their own.
//!
//! Each example is converted with `convert::convert` and its gemtext scored against the
//! reference HTML, per category:
//!
//! - words: the words a browser shows (runs of letters and digits; markup ignored) are all in
//!   the gemtext, as often as in the HTML;
//! - links: every `href`/`src` (entities decoded) is the target of a `=>` line, byte for byte
//!   or with the bytes a URI cannot hold raw percent-encoded, and a relative `x.md` may be
//!   `x.gmi`; empty targets and bare `#fragment`s are not counted (Gemini has no anchors);
//! - headings: each `<hN>` with words is a `#` line with the same words (a `>` line in a quote);
//! - code: each `<pre><code>` is a preformatted block, byte for byte;
//! - items: each `<li>`'s own leading words are on a `* ` line (a `=>` line for a list made of
//!   links, a `>` line in a quote);
//! - quotes: each `<blockquote>`'s leading words are on a `>` line.
//!
//! An example is *kept whole* when every check passes. The figures must not fall below the
//! floors (raise them as the converter gets better); no example may panic or give an empty page
//! (`EMPTY_TODAY` lists none); every example's text also goes through the front-matter reader,
//! which must refuse none (a first `---` that opens no metadata is Markdown).
//!
//! `cargo test --test integration suites -- --nocapture` prints the tables;
//! `SUITES_SHOW=commonmark/123` (or `gfm/621`) prints one example's input, output and score,
//! `SUITES_SHOW=corpus` what the real documents lost. The first run needs the network (curl,
//! 60 s per file, three retries); without it and without a cache the tests fail and say what
//! to fetch. `SUITES_OUTPUTS=DIR` scores another converter's outputs instead
//! (`DIR/<suite>/<number>.gmi`, as `benches/suites_md2gemini.py` writes them) and prints the
//! tables without the floors.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use gemhole::convert::{self, Options};

/// A pinned archive from a package registry.
pub(crate) struct Archive {
    /// The file name it is kept under in the cache.
    pub(crate) file: &'static str,
    pub(crate) url: &'static str,
    pub(crate) sha256: &'static str,
}

const COMMONMARK: Archive = Archive {
    file: "commonmark-spec-0.31.2.tgz",
    url: "https://registry.npmjs.org/commonmark-spec/-/commonmark-spec-0.31.2.tgz",
    sha256: "588280df96c211f7ce9db0b7943ded34ac4b8ba321e2fdf9c03d188ec0f01fea",
};
const COMMONMARK_SPEC: &str = "package/spec.txt";

const GFM: Archive = Archive {
    file: "marko-2.2.4.tar.gz",
    url: "https://files.pythonhosted.org/packages/82/6d/671a18bb386adca6311bca6c2fe6bec873947ee501cc5f8f509ec06bdde0/marko-2.2.4.tar.gz",
    sha256: "c042c66f835425673123d7536b39b4660de3b68e30078c70fd26245b31170683",
};
const GFM_SPEC: &str = "marko-2.2.4/tests/spec/gfm.txt";

/// Real documents: each archive and the Markdown files in it that are scored.
const CORPUS: &[(Archive, &[&str])] = &[
    (
        Archive {
            file: "express-5.1.0.tgz",
            url: "https://registry.npmjs.org/express/-/express-5.1.0.tgz",
            sha256: "dd6bdb4d4e54d520c78443d5c35aa4ae552be1837e8650d2ec1641df99393e1b",
        },
        &["package/History.md", "package/Readme.md"],
    ),
    (
        Archive {
            file: "axios-1.9.0.tgz",
            url: "https://registry.npmjs.org/axios/-/axios-1.9.0.tgz",
            sha256: "6758628f748506b961ff588dcb572473342f33efb10ee9f914d2b68f5a73d745",
        },
        &["package/README.md", "package/CHANGELOG.md"],
    ),
    (
        Archive {
            file: "fastify-5.3.3.tgz",
            url: "https://registry.npmjs.org/fastify/-/fastify-5.3.3.tgz",
            sha256: "b6a87e70cf880494b77362903d6cbcc407b8b736e94c412e4d466ec60855d9d8",
        },
        &[
            "package/docs/Reference/Server.md",
            "package/docs/Reference/TypeScript.md",
            "package/docs/Guides/Ecosystem.md",
        ],
    ),
    (
        Archive {
            file: "eslint-9.28.0.tgz",
            url: "https://registry.npmjs.org/eslint/-/eslint-9.28.0.tgz",
            sha256: "6874b2d5e9b0b3e64e86a7244a4a13f8ed1693981f1340ae5d91feeee6e2b983",
        },
        &["package/README.md"],
    ),
    (
        Archive {
            file: "commander-14.0.0.tgz",
            url: "https://registry.npmjs.org/commander/-/commander-14.0.0.tgz",
            sha256: "eaef3a697e7173c7347ca4c1e60dd2bc1d38214d2aaecce89d70881a51d7fde7",
        },
        &["package/Readme.md"],
    ),
];

/// Examples gemtext cannot hold as the reference has them, left out of the percentages (they
/// are still converted, and must neither panic nor give an empty page): (suite, number, why).
const CANNOT_HOLD: &[(&str, usize, &str)] = &[
    ("commonmark", 123, FENCE_IN_CODE),
    ("commonmark", 124, FENCE_IN_CODE),
    ("commonmark", 127, FENCE_IN_CODE),
    ("commonmark", 134, FENCE_IN_CODE),
    ("commonmark", 147, FENCE_IN_CODE),
    (
        "commonmark",
        300,
        "headings as list items: a gemtext line is a heading or a list item, not both (the \
         headings are kept as `#` lines)",
    ),
];
const FENCE_IN_CODE: &str = "a code line starting with ``` would close the preformatted block \
                             (gemhole keeps it with a space before it)";

/// Examples that give an empty page today, and why: the list may only shrink (it is empty:
/// keep it so).
const EMPTY_TODAY: &[(&str, usize, &str)] = &[];

/// What gemhole achieves today, (kept, checked) per category: the kept figures may only go
/// up. Raise them when the converter keeps more.
mod floor {
    use super::Counts;

    pub const COMMONMARK_WHOLE: usize = 646;
    pub const COMMONMARK: Counts = Counts {
        words: (1360, 1360),
        links: (150, 150),
        headings: (57, 57),
        code: (85, 85),
        items: (133, 133),
        quotes: (37, 37),
    };
    pub const GFM_WHOLE: usize = 23;
    pub const GFM: Counts = Counts {
        words: (191, 195),
        links: (19, 19),
        headings: (0, 0),
        code: (0, 0),
        items: (6, 6),
        quotes: (1, 2),
    };
    pub const CORPUS: Counts = Counts {
        words: (55686, 55686),
        links: (1710, 1710),
        headings: (853, 853),
        code: (298, 298),
        items: (3939, 3939),
        quotes: (29, 30),
    };
}

// ---------------------------------------------------------------------------------------------
// Fetching

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/suites")
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The archive in the cache, fetched first if it is missing or does not match its sum.
pub(crate) fn fetch(archive: &Archive) -> PathBuf {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).expect("create target/suites");
    let path = dir.join(archive.file);
    if let Ok(bytes) = std::fs::read(&path)
        && sha256_hex(&bytes) == archive.sha256
    {
        return path;
    }
    let partial = dir.join(format!("{}.{}.part", archive.file, std::process::id()));
    let status = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-time",
            "60",
            "--retry",
            "3",
            "--retry-delay",
            "2",
            "--output",
        ])
        .arg(&partial)
        .arg(archive.url)
        .status();
    let failure = match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("curl: {s}")),
        Err(e) => Some(format!("curl could not run: {e}")),
    };
    if let Some(failure) = failure {
        let _ = std::fs::remove_file(&partial);
        panic!(
            "the suites and real sites written elsewhere need {url} (network unavailable? curl missing?), and it is \
             not in the cache: fetch it once with\n  curl -L --max-time 60 -o {path} {url}\n\
             ({failure})",
            url = archive.url,
            path = path.display(),
        );
    }
    let bytes = std::fs::read(&partial).expect("read the fetched archive");
    let sum = sha256_hex(&bytes);
    if sum != archive.sha256 {
        let _ = std::fs::remove_file(&partial);
        panic!(
            "{} has SHA-256 {sum}, not the pinned {}: refusing it",
            archive.url, archive.sha256
        );
    }
    std::fs::rename(&partial, &path).expect("keep the fetched archive");
    path
}

/// One file of a (gzipped) tar archive, as text.
fn member(archive: &Path, name: &str) -> String {
    let out = Command::new("tar")
        .arg("-xzOf")
        .arg(archive)
        .arg(name)
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar could not read {name} from {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The spec format: `example` blocks of 32 backticks, Markdown and HTML split by a `.` line.

struct Example {
    number: usize,
    section: String,
    /// The extension the example is for (`table`, `autolink`, …), empty for core examples.
    extension: String,
    markdown: String,
    html: String,
}

fn examples(spec: &str) -> Vec<Example> {
    let fence = "`".repeat(32);
    let spec = spec.replace("\r\n", "\n");
    let spec = spec.split("\n<!-- END TESTS -->").next().unwrap_or("");
    let mut out = Vec::new();
    let mut section = String::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix(&fence)
            && let Some(extension) = rest.strip_prefix(" example")
        {
            let (mut markdown, mut html) = (String::new(), String::new());
            let mut in_html = false;
            for line in lines.by_ref() {
                if line == fence {
                    break;
                }
                if line == "." && !in_html {
                    in_html = true;
                    continue;
                }
                let target = if in_html { &mut html } else { &mut markdown };
                target.push_str(&line.replace('→', "\t"));
                target.push('\n');
            }
            out.push(Example {
                number: out.len() + 1,
                section: section.clone(),
                extension: extension.trim().to_owned(),
                markdown,
                html,
            });
        } else if line.starts_with('#') {
            let title = line.trim_start_matches('#');
            if line.len() - title.len() <= 6 {
                section = title.trim().to_owned();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What a reader should find, read from the reference HTML.

/// Maximal runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Default, Debug)]
struct Expected {
    /// The words a browser shows (`foo<em>bar</em>` is one word).
    words: Vec<String>,
    /// The same with links' labels apart from the words beside them.
    words_links_apart: Vec<String>,
    links: Vec<String>,
    /// Each heading's words, and whether it sits in a quote.
    headings: Vec<(Vec<String>, bool)>,
    code: Vec<String>,
    /// Each list item's own leading words, and whether it sits in a quote.
    items: Vec<(Vec<String>, bool)>,
    /// Each quote's leading words.
    quotes: Vec<Vec<String>>,
}

fn decode(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

/// A start tag's name and attributes, from the text after `<` up to `>`.
fn start_tag(inner: &str) -> (String, Vec<(String, String)>) {
    let inner = inner.trim_end_matches('/');
    let name_end = inner
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = &inner[name_end..];
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(q @ ('"' | '\'')) = after.chars().next() {
                let body = &after[1..];
                let end = body.find(q).unwrap_or(body.len());
                value = body[..end].to_owned();
                rest = body.get(end + 1..).unwrap_or("");
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_owned();
                rest = &after[end..];
            }
        }
        attrs.push((key, decode(&value)));
    }
    (name, attrs)
}

/// Tags that start a block holding blocks: the words before them are an item's or a quote's
/// own, those inside are not.
const CONTAINERS: &[&str] = &["ul", "ol", "li", "pre", "blockquote", "table", "hr"];
/// Tags that separate words (everything else is inline: `foo<em>bar</em>` reads `foobar`).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];
/// Inline tags whose edges gemtext marks all the same: a code span keeps its backticks, and
/// a link's label may stand on a link line of its own.
const SEPARATE: &[&str] = &["code"];
const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

/// Where the tag opened at the start of `rest` ends: the index of its `>`, quotes respected.
fn tag_end(rest: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut after_equals = false;
    for (i, c) in rest.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '>' => return i,
            None if (c == '"' || c == '\'') && after_equals => quote = Some(c),
            None if c == '=' => after_equals = true,
            None if c.is_whitespace() => {}
            None => after_equals = false,
        }
    }
    rest.len()
}

fn expected(html: &str) -> Expected {
    /// An open list item or quote, gathering its own leading text.
    struct Collector {
        tag: &'static str,
        text: String,
        open: bool,
        in_quote: bool,
    }
    let mut out = Expected::default();
    let mut visible = String::new();
    // The same, each link's label a word apart (a link may stand on a link line of its own).
    let mut links_apart = String::new();
    let mut collectors: Vec<Collector> = Vec::new();
    let mut heading: Option<String> = None;
    let mut code: Option<String> = None;
    let mut after_pre = false;
    let mut hidden = 0usize; // inside <script> or <style>
    let mut quotes = 0usize;
    let mut rest = html;
    let text = |t: &str,
                visible: &mut String,
                links_apart: &mut String,
                collectors: &mut Vec<Collector>,
                heading: &mut Option<String>,
                code: &mut Option<String>| {
        let t = decode(t);
        visible.push_str(&t);
        links_apart.push_str(&t);
        for c in collectors.iter_mut().filter(|c| c.open) {
            c.text.push_str(&t);
        }
        if let Some(h) = heading {
            h.push_str(&t);
        }
        if let Some(c) = code {
            c.push_str(&t);
        }
    };
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        if hidden == 0 {
            text(
                &rest[..lt],
                &mut visible,
                &mut links_apart,
                &mut collectors,
                &mut heading,
                &mut code,
            );
        }
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        let skip = |rest: &str, from: usize, end: &str| -> usize {
            rest[from..]
                .find(end)
                .map(|i| from + i + end.len())
                .unwrap_or(rest.len())
        };
        let skipped = if rest.starts_with("<!--") {
            Some(skip(rest, 4, "-->"))
        } else if rest.starts_with("<?") {
            Some(skip(rest, 2, "?>"))
        } else if rest.starts_with("<![CDATA[") {
            Some(skip(rest, 9, "]]>"))
        } else if rest.starts_with("<!") {
            Some(skip(rest, 2, ">"))
        } else {
            None
        };
        if let Some(to) = skipped {
            rest = &rest[to..];
            continue;
        }
        let closing = rest.starts_with("</");
        let name_start = if closing { 2 } else { 1 };
        if !rest[name_start..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            if hidden == 0 {
                text(
                    "<",
                    &mut visible,
                    &mut links_apart,
                    &mut collectors,
                    &mut heading,
                    &mut code,
                );
            }
            rest = &rest[1..];
            continue;
        }
        let end = tag_end(rest);
        let inner = &rest[name_start..end];
        rest = rest.get(end + 1..).unwrap_or("");
        let (name, attrs) = start_tag(inner);
        let name = name.as_str();
        let was_after_pre = std::mem::take(&mut after_pre);
        if name == "a" {
            links_apart.push('\n');
        }
        if BLOCKS.contains(&name) || SEPARATE.contains(&name) {
            visible.push('\n');
            links_apart.push('\n');
            for c in collectors.iter_mut().filter(|c| c.open) {
                c.text.push('\n');
            }
        }
        if closing {
            match name {
                "script" | "style" => hidden = hidden.saturating_sub(1),
                _ if HEADINGS.contains(&name) => {
                    if let Some(h) = heading.take() {
                        out.headings.push((words(&h), quotes > 0));
                    }
                }
                "code" => {
                    if let Some(c) = code.take() {
                        out.code.push(c);
                    }
                }
                "li" | "blockquote" => {
                    if let Some(i) = collectors.iter().rposition(|c| c.tag == name) {
                        let c = collectors.remove(i);
                        if c.tag == "li" {
                            out.items.push((words(&c.text), c.in_quote));
                        } else {
                            quotes = quotes.saturating_sub(1);
                            out.quotes.push(words(&c.text));
                        }
                    }
                }
                _ => {}
            }
            // A leaf ends: what follows is no longer an item's or a quote's leading text.
            if BLOCKS.contains(&name) {
                for c in collectors.iter_mut() {
                    if !words(&c.text).is_empty() {
                        c.open = false;
                    }
                }
            }
            continue;
        }
        if CONTAINERS.contains(&name) {
            for c in collectors.iter_mut() {
                c.open = false;
            }
        }
        for (key, value) in &attrs {
            if key == "href" || key == "src" {
                out.links.push(value.clone());
            }
        }
        match name {
            "script" | "style" => hidden += 1,
            _ if HEADINGS.contains(&name) => heading = Some(String::new()),
            "pre" => after_pre = true,
            "code" if was_after_pre => code = Some(String::new()),
            "li" | "blockquote" => {
                let tag = if name == "li" { "li" } else { "blockquote" };
                collectors.push(Collector {
                    tag,
                    text: String::new(),
                    open: true,
                    in_quote: quotes > 0 || tag == "blockquote",
                });
                if tag == "blockquote" {
                    quotes += 1;
                }
            }
            _ => {}
        }
    }
    out.words = words(&visible);
    out.words_links_apart = words(&links_apart);
    out
}

// ---------------------------------------------------------------------------------------------
// What the gemtext holds, and the score.

struct Gemtext {
    words: HashMap<String, usize>,
    targets: Vec<String>,
    /// Each link line's label, as words.
    labels: Vec<Vec<String>>,
    headings: Vec<Vec<String>>,
    blocks: Vec<String>,
    items: Vec<Vec<String>>,
    quoted: Vec<Vec<String>>,
}

fn read_gemtext(gemtext: &str) -> Gemtext {
    let mut g = Gemtext {
        words: HashMap::new(),
        targets: Vec::new(),
        labels: Vec::new(),
        headings: Vec::new(),
        blocks: Vec::new(),
        items: Vec::new(),
        quoted: Vec::new(),
    };
    for w in words(gemtext) {
        *g.words.entry(w).or_default() += 1;
    }
    let mut block: Option<String> = None;
    for line in gemtext.lines() {
        if line.starts_with("```") {
            match block.take() {
                Some(b) => g.blocks.push(b),
                None => block = Some(String::new()),
            }
            continue;
        }
        if let Some(b) = &mut block {
            b.push_str(line);
            b.push('\n');
        } else if let Some(link) = line.strip_prefix("=>") {
            let link = link.trim_start();
            let end = link.find(char::is_whitespace).unwrap_or(link.len());
            g.targets.push(link[..end].to_owned());
            g.labels.push(words(&link[end..]));
        } else if line.starts_with('#') {
            g.headings.push(words(line));
        } else if line == "*" || line.starts_with("* ") {
            g.items.push(words(&line[1..]));
        } else if let Some(quoted) = line.strip_prefix('>') {
            g.quoted.push(words(quoted));
        }
    }
    if let Some(b) = block {
        g.blocks.push(b);
    }
    g
}

/// Whether `needle` is a run of consecutive words of `hay` (the empty run always is).
fn holds(hay: &[String], needle: &[String]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether gemtext can hold a link to `target` at all: an empty target (this very page) and
/// a bare `#fragment` (a place in it) have nothing to point at in Gemini, which has no anchors.
fn holdable(target: &str) -> bool {
    !target.is_empty() && !target.starts_with('#')
}

/// The gemtext link targets that are the reference's `want`: itself byte for byte, or with
/// the bytes a URI cannot hold raw (non-ASCII, spaces, controls, `\\`, `` ` ``, `"`, `<`, `>`,
/// `^`, `{`, `|`, `}`) percent-encoded, as a link line needs; a relative link to a Markdown
/// file may name the gemtext page it is served as (`x.md` → `x.gmi`, the fragment dropped).
fn target_forms(want: &str) -> Vec<String> {
    let escaped: String = want
        .bytes()
        .map(|b| {
            if b.is_ascii_graphic() && !b"\\`\"<>^{|}".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut forms = vec![want.to_owned()];
    let relative = !escaped.contains("://") && !escaped.starts_with("//");
    let (path, rest) = escaped.split_at(escaped.find(['?', '#']).unwrap_or(escaped.len()));
    let query = rest.split('#').next().unwrap_or("");
    if relative && path.ends_with(".md") {
        forms.push(format!("{}.gmi{query}", &path[..path.len() - 3]));
    }
    forms.push(escaped);
    forms
}

/// Takes the first unused entry of `pool` that `fits`, if any.
fn take<T>(pool: &[T], used: &mut [bool], fits: impl Fn(&T) -> bool) -> bool {
    match (0..pool.len()).find(|&i| !used[i] && fits(&pool[i])) {
        Some(i) => {
            used[i] = true;
            true
        }
        None => false,
    }
}

/// Lines as words, each taken once, found by their words (a long document has thousands).
struct Lines<'a> {
    lines: &'a [Vec<String>],
    by_word: HashMap<&'a str, Vec<usize>>,
    taken: Vec<bool>,
}

impl<'a> Lines<'a> {
    fn new(lines: &'a [Vec<String>]) -> Lines<'a> {
        let mut by_word: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, line) in lines.iter().enumerate() {
            for w in line {
                let at = by_word.entry(w).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
            }
        }
        Lines {
            lines,
            by_word,
            taken: vec![false; lines.len()],
        }
    }

    /// Takes the first unused line holding `words` (not empty) in a row.
    fn take(&mut self, words: &[String]) -> bool {
        let Some(at) = self.by_word.get(words[0].as_str()) else {
            return false;
        };
        match at
            .iter()
            .copied()
            .find(|&i| !self.taken[i] && holds(&self.lines[i], words))
        {
            Some(i) => {
                self.taken[i] = true;
                true
            }
            None => false,
        }
    }
}

/// Kept / checked, per category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    words: (usize, usize),
    links: (usize, usize),
    headings: (usize, usize),
    code: (usize, usize),
    items: (usize, usize),
    quotes: (usize, usize),
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        for (a, b) in self.fields_mut().into_iter().zip(other.fields()) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    fn fields(&self) -> [(usize, usize); 6] {
        [
            self.words,
            self.links,
            self.headings,
            self.code,
            self.items,
            self.quotes,
        ]
    }

    fn fields_mut(&mut self) -> [&mut (usize, usize); 6] {
        [
            &mut self.words,
            &mut self.links,
            &mut self.headings,
            &mut self.code,
            &mut self.items,
            &mut self.quotes,
        ]
    }

    fn whole(&self) -> bool {
        self.fields().iter().all(|(kept, of)| kept == of)
    }

    /// The categories that lost something.
    fn lost(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .zip(self.fields())
            .filter(|(_, (kept, of))| kept != of)
            .map(|(n, _)| *n)
            .collect()
    }

    /// The categories below `floor`'s kept figure.
    fn below(&self, floor: &Counts) -> Vec<String> {
        NAMES
            .iter()
            .zip(self.fields().into_iter().zip(floor.fields()))
            .filter(|(_, (now, floor))| now.0 < floor.0)
            .map(|(n, (now, floor))| format!("{n}: {} < floor {}", now.0, floor.0))
            .collect()
    }
}

const NAMES: [&str; 6] = ["words", "links", "headings", "code", "items", "quotes"];

fn score(expected: &Expected, gemtext: &str) -> Counts {
    score_noting(expected, gemtext, &mut Vec::new())
}

/// As [`score`], noting in `misses` what was not kept.
fn score_noting(expected: &Expected, gemtext: &str, misses: &mut Vec<String>) -> Counts {
    let g = read_gemtext(gemtext);
    let mut c = Counts::default();
    // The words, read either way: what the better reading loses is lost.
    let kept_words = |words: &[String]| {
        let mut wanted: HashMap<&str, usize> = HashMap::new();
        for w in words {
            *wanted.entry(w).or_default() += 1;
        }
        let kept: usize = wanted
            .iter()
            .map(|(w, n)| *n.min(g.words.get(*w).unwrap_or(&0)))
            .sum();
        (kept, words.len())
    };
    let (a, b) = (
        kept_words(&expected.words),
        kept_words(&expected.words_links_apart),
    );
    let lost = (a.1 - a.0).min(b.1 - b.0);
    c.words = (a.1 - lost.min(a.1), a.1);
    let targets: HashSet<&str> = g.targets.iter().map(String::as_str).collect();
    for link in expected.links.iter().filter(|l| holdable(l)) {
        c.links.1 += 1;
        let kept = target_forms(link)
            .iter()
            .any(|t| targets.contains(t.as_str()));
        if !kept {
            misses.push(format!("link {link}"));
        }
        c.links.0 += usize::from(kept);
    }
    let mut used = vec![false; g.headings.len()];
    // A heading in a quote can only be a quote line.
    for (h, in_quote) in expected.headings.iter().filter(|(h, _)| !h.is_empty()) {
        c.headings.1 += 1;
        let kept = take(&g.headings, &mut used, |l| l == h)
            || (*in_quote && g.quoted.iter().any(|l| l == h));
        if !kept {
            misses.push(format!("heading {}", h.join(" ")));
        }
        c.headings.0 += usize::from(kept);
    }
    let mut used = vec![false; g.blocks.len()];
    for code in &expected.code {
        c.code.1 += 1;
        let kept = take(&g.blocks, &mut used, |b| b == code);
        if !kept {
            misses.push(format!("code {code:?}"));
        }
        c.code.0 += usize::from(kept);
    }
    let mut items = Lines::new(&g.items);
    let mut labels = Lines::new(&g.labels);
    let mut quoted = Lines::new(&g.quoted);
    // An item with no words of its own (only a code block, say) has nothing for a line.
    for (item, in_quote) in expected.items.iter().filter(|(i, _)| !i.is_empty()) {
        c.items.1 += 1;
        let kept = if *in_quote {
            quoted.take(item)
        } else {
            // A list made only of links becomes link lines.
            items.take(item) || labels.take(item)
        };
        if !kept {
            misses.push(format!("item {}", item.join(" ")));
        }
        c.items.0 += usize::from(kept);
    }
    for quote in expected.quotes.iter().filter(|q| !q.is_empty()) {
        c.quotes.1 += 1;
        let kept = g.quoted.iter().any(|l| holds(l, quote));
        if !kept {
            misses.push(format!("quote {}", quote.join(" ")));
        }
        c.quotes.0 += usize::from(kept);
    }
    c
}

// ---------------------------------------------------------------------------------------------
// Running a suite.

/// The gemtext of `markdown`: gemhole's, or another converter's saved output.
fn gemtext_of(suite: &str, number: usize, markdown: &str) -> Result<String, String> {
    if let Some(dir) = std::env::var_os("SUITES_OUTPUTS") {
        let path = Path::new(&dir).join(suite).join(format!("{number}.gmi"));
        return std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    std::panic::catch_unwind(|| convert::convert(markdown, &Options::default()).gemtext)
        .map_err(|_| "panicked".to_owned())
}

struct Report {
    /// Per section: examples, kept whole, counts.
    sections: Vec<(String, usize, usize, Counts)>,
    total: Counts,
    whole: usize,
    scored: usize,
    excluded: usize,
    failed: Vec<(usize, String, Vec<&'static str>)>,
    broken: Vec<(usize, String)>,
    front_matter: Vec<usize>,
}

fn run_suite(suite: &str, examples: &[Example]) -> Report {
    let mut report = Report {
        sections: Vec::new(),
        total: Counts::default(),
        whole: 0,
        scored: 0,
        excluded: 0,
        failed: Vec::new(),
        broken: Vec::new(),
        front_matter: Vec::new(),
    };
    for example in examples {
        let expected = expected(&example.html);
        let gemtext = match gemtext_of(suite, example.number, &example.markdown) {
            Ok(g) => g,
            Err(why) => {
                report.broken.push((example.number, why));
                String::new()
            }
        };
        let has_links = expected.links.iter().any(|l| holdable(l));
        let known = EMPTY_TODAY
            .iter()
            .any(|(s, n, _)| *s == suite && *n == example.number);
        if gemtext.trim().is_empty() && (!expected.words.is_empty() || has_links) && !known {
            report
                .broken
                .push((example.number, "empty page".to_owned()));
        }
        let read = std::panic::catch_unwind(|| {
            gemhole::content::markdown::read(&example.markdown, "example", &Options::default())
                .error
                .is_some()
        });
        match read {
            Ok(false) => {}
            Ok(true) => report.front_matter.push(example.number),
            Err(_) => report.broken.push((
                example.number,
                "the front-matter reader panicked".to_owned(),
            )),
        }
        if CANNOT_HOLD
            .iter()
            .any(|(s, n, _)| *s == suite && *n == example.number)
        {
            report.excluded += 1;
            continue;
        }
        let counts = score(&expected, &gemtext);
        if std::env::var("SUITES_SHOW").is_ok_and(|n| n == format!("{suite}/{}", example.number)) {
            println!(
                "--- {suite} example {}\n{}--- html\n{}--- gemtext\n{gemtext}--- expected\n{expected:?}\n--- {counts:?}",
                example.number, example.markdown, example.html
            );
        }
        report.scored += 1;
        report.total.add(&counts);
        let whole = counts.whole();
        report.whole += usize::from(whole);
        if !whole {
            report
                .failed
                .push((example.number, example.section.clone(), counts.lost()));
        }
        match report.sections.iter_mut().find(|s| s.0 == example.section) {
            Some(s) => {
                s.1 += 1;
                s.2 += usize::from(whole);
                s.3.add(&counts);
            }
            None => report
                .sections
                .push((example.section.clone(), 1, usize::from(whole), counts)),
        }
    }
    report
}

fn cell((kept, of): (usize, usize)) -> String {
    if of == 0 {
        "-".to_owned()
    } else {
        format!("{kept}/{of}")
    }
}

fn print_report(suite: &str, title: &str, report: &Report) {
    println!("\n## {title}\n");
    println!(
        "| section | whole | {} |\n|---|---|{}",
        NAMES.join(" | "),
        "---|".repeat(NAMES.len())
    );
    for (section, n, whole, c) in &report.sections {
        let cells: Vec<String> = c.fields().into_iter().map(cell).collect();
        println!("| {section} | {whole}/{n} | {} |", cells.join(" | "));
    }
    let cells: Vec<String> = report.total.fields().into_iter().map(cell).collect();
    println!(
        "| **all** | {}/{} | {} |",
        report.whole,
        report.scored,
        cells.join(" | ")
    );
    println!(
        "\nkept whole: {}/{} ({:.1}%), {} left out as gemtext cannot hold them",
        report.whole,
        report.scored,
        100.0 * report.whole as f64 / report.scored.max(1) as f64,
        report.excluded
    );
    for (s, n, why) in CANNOT_HOLD.iter().filter(|(s, _, _)| *s == suite) {
        println!("  {s} example {n} left out: {why}");
    }
    let own = EMPTY_TODAY.iter().filter(|_| own_outputs());
    for (s, n, why) in own.filter(|(s, _, _)| *s == suite) {
        println!("  {s} example {n} gives an empty page today: {why}");
    }
    for (n, section, lost) in &report.failed {
        println!("  example {n} ({section}): {}", lost.join(", "));
    }
    if !report.front_matter.is_empty() && own_outputs() {
        println!(
            "front-matter reader refuses {} examples: {:?}",
            report.front_matter.len(),
            report.front_matter
        );
    }
    for (n, why) in &report.broken {
        println!("  example {n}: {why}");
    }
}

/// Whether the floors apply (gemhole's own outputs are being scored).
fn own_outputs() -> bool {
    std::env::var_os("SUITES_OUTPUTS").is_none()
}

fn check_floors(title: &str, report: &Report, whole: usize, floor: &Counts) {
    if !own_outputs() {
        return;
    }
    assert!(
        report.broken.is_empty(),
        "{title}: examples that panicked or gave an empty page: {:?}",
        report.broken
    );
    assert!(
        report.whole >= whole,
        "{title}: {} examples kept whole, below the floor of {whole}",
        report.whole
    );
    let below = report.total.below(floor);
    assert!(below.is_empty(), "{title}: below the floors: {below:?}");
    assert!(
        report.front_matter.is_empty(),
        "{title}: the front-matter reader refuses {} examples ({:?}); none may be",
        report.front_matter.len(),
        report.front_matter,
    );
}

#[test]
fn commonmark_spec_examples() {
    let archive = fetch(&COMMONMARK);
    let examples = examples(&member(&archive, COMMONMARK_SPEC));
    assert_eq!(examples.len(), 652, "CommonMark 0.31.2 has 652 examples");
    let report = run_suite("commonmark", &examples);
    print_report("commonmark", "CommonMark 0.31.2", &report);
    check_floors(
        "CommonMark",
        &report,
        floor::COMMONMARK_WHOLE,
        &floor::COMMONMARK,
    );
}

#[test]
fn gfm_extension_examples() {
    let archive = fetch(&GFM);
    let examples: Vec<Example> = examples(&member(&archive, GFM_SPEC))
        .into_iter()
        .filter(|e| !e.extension.is_empty())
        .collect();
    assert_eq!(examples.len(), 24, "GFM 0.29 has 24 extension examples");
    let report = run_suite("gfm", &examples);
    print_report("gfm", "GFM 0.29 extensions", &report);
    check_floors("GFM", &report, floor::GFM_WHOLE, &floor::GFM);
}

#[test]
fn real_world_documents() {
    if !own_outputs() {
        return;
    }
    let mut total = Counts::default();
    println!("\n## Real-world documents (against pulldown-cmark's HTML)\n");
    println!(
        "| document | {} |\n|---|{}",
        NAMES.join(" | "),
        "---|".repeat(NAMES.len())
    );
    for (archive, files) in CORPUS {
        let path = fetch(archive);
        for file in *files {
            let markdown = member(&path, file);
            let mut html = String::new();
            pulldown_cmark::html::push_html(
                &mut html,
                pulldown_cmark::Parser::new_ext(
                    &markdown,
                    gemhole::convert::markdown::parse_options(),
                ),
            );
            let gemtext = std::panic::catch_unwind(|| {
                convert::convert(&markdown, &Options::default()).gemtext
            })
            .unwrap_or_else(|_| panic!("{file} of {}: the converter panicked", archive.file));
            assert!(!gemtext.trim().is_empty(), "{file}: empty page");
            let mut misses = Vec::new();
            let counts = score_noting(&expected(&html), &gemtext, &mut misses);
            if std::env::var("SUITES_SHOW").is_ok_and(|s| s == "corpus") {
                for miss in &misses {
                    println!("  {file}: {miss}");
                }
            }
            let cells: Vec<String> = counts.fields().into_iter().map(cell).collect();
            let name = format!("{} {}", archive.file, file.trim_start_matches("package/"));
            println!("| {name} | {} |", cells.join(" | "));
            total.add(&counts);
        }
    }
    let cells: Vec<String> = total.fields().into_iter().map(cell).collect();
    println!("| **all** | {} |", cells.join(" | "));
    let below = total.below(&floor::CORPUS);
    assert!(
        below.is_empty(),
        "real-world documents below the floors: {below:?}"
    );
}
