//! A Markdown file as a gemtext page: front matter split off and read, the body converted, and
//! a title heading added when the body does not start with one.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Lang;
use crate::content::front_matter::{self, FrontMatterError, KeyLines};
use crate::content::post::Link;
use crate::content::post::RawMeta;
use crate::content::post::meta::title_from_file_stem;
use crate::convert;

/// Why a Markdown file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is larger than the {limit}-byte limit for Markdown files (markdown.max_file_size)"
    )]
    TooLarge { path: PathBuf, limit: u64 },
}

/// Reads a Markdown file of at most `limit` bytes; invalid UTF-8 is replaced, not fatal.
pub fn read_source(path: &Path, limit: u64) -> Result<Source, SourceError> {
    let read = |source| SourceError::Read {
        path: path.to_owned(),
        source,
    };
    // Non-blocking, so a FIFO is refused below instead of waited on forever.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(read)?;
    if !file.metadata().map_err(read)?.is_file() {
        return Err(read(std::io::Error::other("not a regular file")));
    }
    let source = read_opened(file, path, limit)?;
    source.refuse_binary(path)?;
    Ok(source)
}

/// A file's text as read: invalid UTF-8 replaced by U+FFFD, and where the first was.
#[derive(Debug)]
pub struct Source {
    pub text: String,
    /// The byte offset of the first sequence that is not UTF-8, if any (the text up to it is
    /// the file's bytes as they are).
    pub not_utf8_at: Option<usize>,
}

impl Source {
    /// A NUL never stands in a text file: one that holds it is binary, and its "gemtext" would
    /// be noise.
    pub fn refuse_binary(&self, path: &Path) -> Result<(), SourceError> {
        match self.text.find('\0') {
            Some(at) => Err(SourceError::Read {
                path: path.to_owned(),
                source: std::io::Error::other(format!(
                    "it is not text (a NUL byte at offset {at})"
                )),
            }),
            None => Ok(()),
        }
    }

    /// The line (from 1) of the first sequence that is not UTF-8, with a note for the author.
    pub fn not_utf8(&self) -> Option<(usize, String)> {
        let at = self.not_utf8_at?;
        let line = self.text[..at].matches('\n').count() + 1;
        Some((
            line,
            format!(
                "not valid UTF-8 (byte {at} of the file): what cannot be read is shown as the \
                 replacement character U+FFFD; save the file as UTF-8"
            ),
        ))
    }
}

/// As [`read_source`], from a file already opened (the capsule opens its files safely).
pub fn read_opened(file: std::fs::File, path: &Path, limit: u64) -> Result<Source, SourceError> {
    let wrap = |source| SourceError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(wrap)?;
    if bytes.len() as u64 > limit {
        return Err(SourceError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => Source {
            text,
            not_utf8_at: None,
        },
        Err(e) => Source {
            not_utf8_at: Some(e.utf8_error().valid_up_to()),
            text: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
    })
}

/// Why a page with broken front matter is withheld (it might have said `draft: true`).
pub const BROKEN: &str = "its front matter cannot be read";
/// Why a post whose front matter reads but holds an error (a date that cannot be read, a slug
/// that is not one) is withheld.
pub const INVALID: &str = "its front matter has an error";

/// A converted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub gemtext: String,
    /// The page's own language (front matter `lang`), if valid.
    pub lang: Option<Lang>,
    /// Why readers must not see this page: a draft, or front matter that could not be read
    /// (which might have said `draft: true`).
    pub withheld: Option<&'static str>,
    /// Where its `redirect_to` sends readers instead, as [`Target::stored`] keeps it.
    ///
    /// [`Target::stored`]: crate::convert::redirect::Target::stored
    pub redirect: Option<String>,
    /// The series a section page (`_index.md`) makes of its folder's posts.
    pub series: Option<crate::content::post::FolderSeries>,
    /// Its body's shortcodes and template tags, converted and left out, by name (`None` when
    /// it has none, as most pages: a word where the counts would take six): summed over the
    /// capsule only when a migration's summary is asked for.
    pub shortcodes: Option<Box<convert::shortcodes::ShortcodeCounts>>,
}

/// Converts a Markdown source. `file_stem` supplies the title when neither the front matter
/// nor the body has one.
///
/// A broken front-matter block never stops the page: it is returned as the error beside a page
/// made from what could be read (the body without the block, or the whole text when the block
/// never closes, so nothing the author wrote disappears). Callers decide whether to fail or
/// to log.
pub fn convert(
    source: &str,
    file_stem: &str,
    options: &convert::Options,
) -> (Page, Option<FrontMatterError>) {
    let read = read(source, file_stem, options);
    (read.page, read.error)
}

/// A Markdown file read: its page, and what a post is made from.
#[derive(Debug)]
pub struct Parsed {
    pub page: Page,
    /// The front matter as written (empty when it is missing or broken).
    pub front: RawMeta,
    /// The line each front-matter key is written on.
    pub front_lines: KeyLines,
    /// The page's links, each with the line of the file it is written on.
    pub links: Vec<Link>,
    /// The text of the body's own opening level-1 heading, if it has one.
    pub heading: Option<String>,
    /// The first error: the page is withheld (its metadata might have said `draft`).
    pub error: Option<FrontMatterError>,
    /// Everything found wrong with the front matter, each at its line, errors (`true`) first
    /// among them the one in `error`.
    pub problems: Vec<(FrontMatterError, bool)>,
}

/// As [`convert`], keeping the front matter and the body's heading.
pub fn read(source: &str, file_stem: &str, options: &convert::Options) -> Parsed {
    let mut problems: Vec<(FrontMatterError, bool)> = Vec::new();
    let (body, front, front_lines) = split_front_matter(source, &mut problems);
    problems.sort_by_key(|(e, fatal)| (!fatal, e.line));
    let error = problems
        .iter()
        .find(|(_, fatal)| *fatal)
        .map(|(e, _)| e.clone());
    let fallback = match &front.title {
        Some(title) if !title.trim().is_empty() => title.trim().to_owned(),
        _ => title_from_file_stem(file_stem),
    };
    let converted = convert::convert_page(body, options, Some(&fallback));
    let title = match (&front.title, &converted.heading) {
        (Some(title), _) if !title.trim().is_empty() => title.trim().to_owned(),
        (_, Some(heading)) => heading.clone(),
        _ => fallback,
    };
    let page = Page {
        title,
        gemtext: converted.gemtext,
        lang: front
            .lang
            .as_deref()
            .and_then(|l| Lang::try_from(l.to_owned()).ok()),
        withheld: withheld(error.is_some(), &front),
        redirect: None,
        series: None,
        shortcodes: (!converted.shortcodes.is_empty()).then(|| Box::new(converted.shortcodes)),
    };
    // The body is the end of the source: its offsets count from there.
    let body_start = source.len() - body.len();
    let lines = LineIndex::new(source);
    for note in converted.notes {
        problems.push((
            FrontMatterError {
                line: lines.line_of(body_start + note.offset),
                message: note.message,
            },
            false,
        ));
    }
    let links = converted
        .links
        .into_iter()
        .map(|link| Link {
            line: lines.line_of(body_start + link.offset),
            target: link.target,
        })
        .collect();
    Parsed {
        page,
        front,
        front_lines,
        links,
        heading: converted.heading,
        error,
        problems,
    }
}

/// The body, the front matter and the line of each of its keys. A block that cannot be split
/// or parsed leaves the metadata empty; whatever is wrong goes to `problems`, which are fatal
/// (`true`) where the metadata cannot be trusted.
fn split_front_matter<'a>(
    source: &'a str,
    problems: &mut Vec<(FrontMatterError, bool)>,
) -> (&'a str, RawMeta, KeyLines) {
    match front_matter::split(source) {
        Ok(split) => {
            if let Some(note) = &split.not_front_matter {
                problems.push((note.clone(), false));
            }
            if let Some(e) = front_matter::stray_block(&split, &crate::content::post::KNOWN_KEYS)
                .or_else(|| front_matter::draft_in_body(&split))
            {
                problems.push((e, true));
            }
            let (front, lines) = split
                .front
                .and_then(|block| read_front_block(&block, problems))
                .unwrap_or_default();
            (split.body, front, lines)
        }
        Err(e) => {
            problems.push((e, true));
            (
                source.strip_prefix('\u{feff}').unwrap_or(source),
                RawMeta::default(),
                KeyLines::default(),
            )
        }
    }
}

/// The keys of a front-matter block with their lines, each key's problem placed at its line
/// (or the block's opening line); `None` when the block does not parse.
fn read_front_block(
    block: &front_matter::Block<'_>,
    problems: &mut Vec<(FrontMatterError, bool)>,
) -> Option<(RawMeta, KeyLines)> {
    let lines = block.key_lines(&crate::content::post::KNOWN_KEYS);
    let mut entries = match block.parse::<front_matter::Entries>() {
        Ok(entries) => entries,
        Err(e) => {
            problems.push((e, true));
            return None;
        }
    };
    block.keep_written_text(&mut entries, &lines, &crate::content::post::TEXT_KEYS);
    let (front, key_problems) = RawMeta::from_entries(entries);
    for p in key_problems {
        let line = lines.line(&p.key).unwrap_or(block.first_line - 1);
        problems.push((
            FrontMatterError {
                line,
                message: p.message,
            },
            p.fatal,
        ));
    }
    Some((front, lines))
}

/// Why readers must not see the page, if they must not: front matter that could not be read
/// (it might have said `draft: true`), or a draft.
fn withheld(broken: bool, front: &RawMeta) -> Option<&'static str> {
    if broken {
        Some(BROKEN)
    } else if front.draft == Some(true) || front.published == Some(false) {
        Some("draft")
    } else {
        None
    }
}

/// Where the lines of a text end, to turn byte offsets into 1-based line numbers. A line ends
/// as Markdown has it: LF, CRLF, or a CR alone.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let ends = memchr::memchr2_iter(b'\n', b'\r', bytes)
            .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
            .collect();
        LineIndex(ends)
    }

    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&end| end < offset) + 1
    }
}

/// The link lines of a gemtext page (outside preformatted blocks), with their line numbers:
/// the first [`convert::MAX_LINKS`].
pub fn gemtext_links(gemtext: &str) -> Vec<Link> {
    let mut pre = false;
    let mut links = Vec::new();
    for (i, line) in gemtext.lines().enumerate() {
        if line.starts_with("```") {
            pre = !pre;
        } else if !pre
            && let Some(rest) = line.strip_prefix("=>")
            && let Some(url) = rest.split_whitespace().next()
        {
            links.push(Link {
                target: url.to_owned(),
                line: i + 1,
            });
            // As many as a Markdown page gets: the ones a post's link check looks at.
            if links.len() == convert::MAX_LINKS {
                break;
            }
        }
    }
    links
}

/// A gemtext file as a page: titled by its first level-1 heading, else its file name.
pub fn gemtext_page(text: String, file_stem: &str) -> (Page, Option<String>) {
    let heading = text
        .lines()
        .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_owned()));
    let page = Page {
        title: heading
            .clone()
            .unwrap_or_else(|| title_from_file_stem(file_stem)),
        gemtext: text,
        lang: None,
        withheld: None,
        redirect: None,
        series: None,
        shortcodes: None,
    };
    (page, heading)
}

/// The name a page's fallback title comes from: the file's stem, or for an `index` file the
/// name of its folder.
pub fn title_stem(path: &Path) -> &str {
    fn name(p: Option<&std::ffi::OsStr>) -> &str {
        p.and_then(|s| s.to_str()).unwrap_or("")
    }
    match name(path.file_stem()) {
        "index" => match name(path.parent().and_then(Path::file_name)) {
            "" => "index",
            folder => folder,
        },
        stem => stem,
    }
}

/// What a text file of the capsule serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Read, and converted if it is Markdown.
    Page(Arc<Page>),
    /// A gemtext file over the size limit: sent from disk as it is.
    Large,
    /// A Markdown file that cannot be served, and why (unreadable, over the size limit).
    Unreadable(Arc<str>),
}

impl Text {
    /// Whether two snapshots hold this text as one reading of its file (the same `Arc`): a
    /// file read again since is another.
    pub fn is(&self, other: &Text) -> bool {
        match (self, other) {
            (Text::Page(a), Text::Page(b)) => Arc::ptr_eq(a, b),
            (Text::Unreadable(a), Text::Unreadable(b)) => Arc::ptr_eq(a, b),
            (Text::Large, Text::Large) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(source: &str) -> (Page, Option<FrontMatterError>) {
        convert(source, "2024-01-02-my-post", &convert::Options::default())
    }

    /// Whatever shape a block that says `draft` has, the page is never shown to readers: its
    /// metadata is read (a draft), or it is an error (withheld).
    #[test]
    fn a_draft_is_never_published_whatever_its_block_looks_like() {
        for source in [
            "---\nmy title: x\ndraft: true\n---\nSecret\n",
            "---\n$draft: true\ndraft: true\n---\nSecret\n",
            "---\n&a title: x\ndraft: true\n---\nSecret\n",
            "---\n!!map\ndraft: true\n---\nSecret\n",
            "---\n? draft\n: true\n---\nSecret\n",
            "---\n- draft: true\n---\nSecret\n",
            "---\n- published: false\n---\nSecret\n",
            "+++\nmy key = 1\ndraft = true\n+++\nSecret\n",
            "---\nhttps://x.y\ndraft: true\n---\nSecret\n",
            "---\nHello there\ndraft: true\n---\nSecret\n",
            "---\nHello there\ndraft: true\n\nSecret, never closed\n",
            "--- # front\ntitle: x\ndraft: true\n---\nSecret\n",
            "title: x\ndraft: true\n---\nSecret\n",
            "draft: true\n---\nSecret\n",
            "# My post\n---\ndraft: true\n---\nSecret\n",
            "<!-- x -->\n---\ndraft: true\n---\nSecret\n",
            "---\n---\ndraft: true\n---\nSecret\n",
            "# T\r\r---\rdraft: true\r---\rHi\r",
            "---\rtitle: a\rdraft: true\r---\rHi\r",
            "# T\n\n  ---\ndraft: true\n  ---\nHi\n",
            "# T\n\n---\ndraft: true\n----\nHi\n",
            "# T\n\n---\ndraft: true\n===\nHi\n",
            "# T\n\n---\n\u{3000}\ndraft: true\n---\nHi\n",
            "```x``` is inline code\n\n---\ndraft: true\n---\nHi\n",
        ] {
            let (page, _) = page(source);
            assert!(page.withheld.is_some(), "published: {source:?}");
        }
        // Front matter shown as an example in a code block is the post's text.
        for example in [
            "# How to\n\n```yaml\n---\ndraft: true\n---\n```\n\nDone.\n",
            "# How to\n\n````md\n```\n---\ndraft: true\n---\n````\n",
            "# How to\n\n```\nfoo\n```yaml\n---\ndraft: true\n---\n```\n",
            "# How to\n\n~~~\n---\ndraft: true\n---\n~~~\n",
        ] {
            let (shown, error) = page(example);
            assert_eq!((shown.withheld, error), (None, None), "{example:?}");
        }
    }

    /// Hugo's JSON front matter is read as the other two are, its keys found at their lines.
    #[test]
    fn json_front_matter_is_read() {
        let source = "{\n  \"title\": \"Knots {1}\",\n\t\"date\": \"2024-03-11\",\n  \
                      \"tags\": [\"sailing\", \"knots\"],\n  \"draft\": true,\n  \
                      \"params\": {\"series\": \"Sail\"},\n  \"colour\": 1\n}\nSix knots.\n";
        let read = read(source, "knots", &convert::Options::default());
        assert_eq!(read.error, None);
        assert_eq!(read.front.title.as_deref(), Some("Knots {1}"));
        assert_eq!(read.front.draft, Some(true));
        assert_eq!(read.front.tags, ["sailing", "knots"]);
        assert_eq!(read.front.series, ["Sail"]);
        assert!(read.front.date.is_some());
        assert_eq!(read.page.withheld, Some("draft"));
        assert_eq!(read.page.gemtext, "# Knots {1}\n\nSix knots.\n");
        let lines = &read.front_lines;
        assert_eq!(
            (lines.line("date"), lines.line("series")),
            (Some(3), Some(6))
        );
        // A key nobody reads is told at its own line.
        let unknown: Vec<usize> = read.problems.iter().map(|(e, _)| e.line).collect();
        assert_eq!(unknown, [7], "{:?}", read.problems);
    }

    #[test]
    fn broken_json_front_matter_withholds_the_page_and_names_its_line() {
        // A comma missing after the title.
        let (page, error) = page("{\n  \"title\": \"x\"\n  \"draft\": false\n}\nBody\n");
        let error = error.expect("an error");
        assert_eq!(error.line, 3, "{error}");
        assert!(
            error.message.starts_with("invalid JSON front matter"),
            "{error}"
        );
        assert_eq!(page.withheld, Some(BROKEN));
    }

    #[test]
    fn title_from_front_matter_then_heading_then_file() {
        let (p, e) = page("---\ntitle: From FM\n---\nText\n");
        assert!(e.is_none());
        assert_eq!(p.gemtext, "# From FM\n\nText\n");
        let (p, _) = page("# Heading\n\nText\n");
        assert_eq!(p.title, "Heading");
        assert_eq!(p.gemtext, "# Heading\n\nText\n");
        let (p, _) = page("Just text\n");
        assert_eq!(p.gemtext, "# my post\n\nJust text\n");
        let (p, _) = page("");
        assert_eq!(p.gemtext, "# my post\n");
    }

    #[test]
    fn broken_front_matter_is_reported_but_the_body_is_kept() {
        let (p, e) = page("---\ntitle: [unclosed\n---\nBody text\n");
        assert_eq!(e.unwrap().line, 2);
        assert_eq!(p.gemtext, "# my post\n\nBody text\n");
        assert!(p.withheld.is_some());
        let (p, e) = page("---\ntitle: x\nBody\n");
        assert_eq!(e.unwrap().line, 1);
        assert!(p.gemtext.contains("Body"), "{}", p.gemtext);
    }

    #[test]
    fn links_carry_the_line_they_are_written_on() {
        let source = "---\ntitle: T\n---\n\nSee [a](a.md) and\nhttps://e.org/x here.\n\n\
                      * item [b](b.md)\n\n| x | y |\n|---|---|\n| [c](c.md) | d |\n\n\
                      <div>\n<a href=\"d.gmi\">d</a>\n<img\n  src=\"e.png\">\n</div>\n\n\
                      Note.[^1]\n\n[^1]: In [f](f.md).\n\n\
                      <div>\n<a href=\"g.gmi\"\n   class=\"y\">g</a>\n<img src=\"h.png\"\n  alt=\"a\">\n</div>\n\n\
                      Inline <a\n  href=\"i.gmi\">i</a>.\n\n> Quoted <a\n> href=\"j.gmi\">j</a>\n";
        let parsed = read(source, "x", &convert::Options::default());
        let links: Vec<(&str, usize)> = parsed
            .links
            .iter()
            .map(|l| (l.target.as_str(), l.line))
            .collect();
        assert_eq!(
            links,
            [
                ("a.gmi", 5),
                ("https://e.org/x", 6),
                ("b.gmi", 8),
                ("c.gmi", 12),
                ("d.gmi", 15),
                ("e.png", 17),
                ("f.gmi", 22),
                ("g.gmi", 25),
                ("h.png", 27),
                ("i.gmi", 32),
                ("j.gmi", 35),
            ]
        );
        // Line ends as Markdown counts them: CR alone too.
        let cr = read(
            "# T\r\rPara [a](a.md)\r\n\r\nPara [b](b.md)\r",
            "x",
            &convert::Options::default(),
        );
        let cr: Vec<usize> = cr.links.iter().map(|l| l.line).collect();
        assert_eq!(cr, [3, 5]);
        let gmi = gemtext_links("# T\n=> a.gmi A\n```\n=> no\n```\n=>b.gmi\n");
        let gmi: Vec<(&str, usize)> = gmi.iter().map(|l| (l.target.as_str(), l.line)).collect();
        assert_eq!(gmi, [("a.gmi", 2), ("b.gmi", 6)]);
    }

    #[test]
    fn index_files_take_their_folder_name() {
        assert_eq!(title_stem(Path::new("/c/notes/index.md")), "notes");
        assert_eq!(title_stem(Path::new("/c/notes/today.md")), "today");
        assert_eq!(title_stem(Path::new("index.md")), "index");
    }

    #[test]
    fn drafts_are_withheld_and_lang_is_kept() {
        let (p, _) = page("---\ndraft: true\nlang: fr\n---\nx\n");
        assert_eq!(p.withheld, Some("draft"));
        assert_eq!(p.lang.unwrap().mime_parameter().as_deref(), Some("lang=fr"));
        let (p, _) = page("+++\npublished = false\n+++\nx\n");
        assert_eq!(p.withheld, Some("draft"));
        let (p, _) = page("---\nlang: not a tag\n---\nx\n");
        assert_eq!((p.withheld, p.lang), (None, None));
    }

    #[test]
    fn file_stem_titles() {
        assert_eq!(title_from_file_stem("2024-03-11-knots"), "knots");
        assert_eq!(title_from_file_stem("hello_world"), "hello world");
        assert_eq!(title_from_file_stem("2024-03-11"), "2024 03 11");
        assert_eq!(title_from_file_stem("---"), "---");
    }
}
