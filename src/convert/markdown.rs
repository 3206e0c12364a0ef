//! Markdown → gemtext, from pulldown-cmark's event stream.
//!
//! Gemtext has no inline markup and no inline links, and each line has one type, so the
//! converter works a block at a time. Inline content gathers in a *leaf* (a paragraph, heading,
//! list item text or table cell); when the leaf ends it becomes one or more lines, and the
//! links it held are queued. The queue is written after the outermost block that holds the
//! leaf (a paragraph, a whole list, a whole quote, a table, a footnote), so prose reads as the
//! author wrote it and every link still gets its own line. Pure: no I/O, no panics, linear in
//! the input.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use pulldown_cmark::{
    Alignment, CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options as ParseOptions,
    Parser, Tag, TagEnd,
};
use unicode_width::UnicodeWidthStr;

use super::gemtext::{FirstLine, Line, Writer};
use super::html::{HtmlEvent, HtmlStripper};
use super::shortcodes::{self, ShortcodeCounts};
use super::url::{find_bare_urls, link_target, trim_url_end};
pub use crate::config::LinkPlacement;
use crate::config::MarkdownConfig;
use std::borrow::Cow;

/// Conversion settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub links: LinkPlacement,
    /// Put before an image's alt text in its link line, so readers know what they will get.
    pub image_marker: String,
}

impl From<&MarkdownConfig> for Options {
    fn from(config: &MarkdownConfig) -> Options {
        Options {
            links: config.links,
            image_marker: config.image_marker.clone(),
        }
    }
}

/// The operator's defaults (`[markdown]` left out of the config).
impl Default for Options {
    fn default() -> Self {
        Options::from(&MarkdownConfig::default())
    }
}

/// The Markdown extensions we read: the GitHub-flavoured ones authors use. Metadata blocks stay
/// off (front matter is split off beforehand), and so do options that would change the meaning
/// of plain text (smart punctuation, math, wiki links, and pulldown-cmark's heading attributes,
/// which take any trailing `{…}`: [`without_heading_attributes`] reads Hugo's and Zola's
/// strictly instead).
pub fn parse_options() -> ParseOptions {
    ParseOptions::ENABLE_TABLES
        | ParseOptions::ENABLE_FOOTNOTES
        | ParseOptions::ENABLE_STRIKETHROUGH
        | ParseOptions::ENABLE_TASKLISTS
}

/// A heading's text without the attribute block Hugo and Zola read at its end (`Setup
/// {#setup .wide}`): it names the heading's anchor, which gemtext has no use for. Only a block
/// of `#id`, `.class` and `key=value` words counts; `Sets {a, b}` stays as written.
fn without_heading_attributes(text: &str) -> &str {
    let Some(inner) = text.strip_suffix('}') else {
        return text;
    };
    let Some(open) = inner.rfind('{') else {
        return text;
    };
    let before = &inner[..open];
    let words = &inner[open + 1..];
    let name = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    };
    let attribute = |w: &str| match w.as_bytes()[0] {
        b'#' | b'.' => name(&w[1..]),
        _ => w
            .split_once('=')
            .is_some_and(|(k, v)| name(k) && !v.is_empty()),
    };
    let is_block = before.ends_with(char::is_whitespace)
        && !before.trim().is_empty()
        && words.split_whitespace().next().is_some()
        && words.split_whitespace().all(attribute);
    if is_block { before.trim_end() } else { text }
}

/// The rule drawn for a thematic break (`---` would look like a front-matter fence).
const RULE: &str = "──────────";

/// A converted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub gemtext: String,
    /// The text of the body's opening level-1 heading, if it has one.
    pub heading: Option<String>,
    /// Every link the page got, as its gemtext target, with the byte offset in the Markdown
    /// where it is written (a Markdown link, a bare URL, an HTML `href`/`src`), in the order
    /// they were read: so a broken link can be reported at its line.
    pub links: Vec<SourceLink>,
    /// What the reader does not get as written, and why (the bounds below), each with the
    /// byte offset in the Markdown it is about: warnings for `check` and the log.
    pub notes: Vec<SourceNote>,
    /// The page's shortcodes and template tags, converted and left out, by name.
    pub shortcodes: ShortcodeCounts,
}

/// A warning about the conversion and where in the Markdown it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    pub offset: usize,
    pub message: String,
}

/// The inline marks, block openers and lines (`[`, `*`, `_`, `` ` ``, `<`, `!`, `&`, `\`, `~`,
/// `|`, `>`, list markers, line ends) a page may hold and still be read as Markdown. The
/// parser holds a node or more per
/// mark for the whole page at once, so this bounds what converting one page costs (see
/// BENCHMARKS.md, "What one page costs"); past it the page is kept as text, line for line.
pub const MAX_MARKS: usize = 60_000;

/// The links one page gets a link line for. Past it a link's text stays in the prose, and
/// the page has a warning: the bound keeps a page's lines, link checks and warnings in step
/// with what a reader can use.
pub const MAX_LINKS: usize = 5_000;

/// How many bytes of `markdown` can each open a node of the parser's tree: inline marks,
/// line ends, and what opens a block inside a block (a quote's `>`, a list item's `-`, `+`
/// or `1.` before a space, each of which may nest on one line).
fn marks(markdown: &str) -> usize {
    let bytes = markdown.as_bytes();
    let spaced = |i: usize| matches!(bytes.get(i + 1), Some(b' ' | b'\t'));
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, b)| match b {
            b'[' | b'*' | b'_' | b'`' | b'<' | b'!' | b'&' | b'\\' | b'~' | b'|' | b'\n' | b'>' => {
                true
            }
            b'-' | b'+' => spaced(i),
            // A line end of its own (a CR alone ends a line too).
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            b'.' | b')' => spaced(i) && i > 0 && bytes[i - 1].is_ascii_digit(),
            _ => false,
        })
        .count()
}

/// A link target and where its source is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLink {
    pub target: String,
    /// Byte offset into the converted Markdown.
    pub offset: usize,
}

/// Converts a Markdown body (front matter already removed) to gemtext.
pub fn convert(markdown: &str, options: &Options) -> Converted {
    convert_page(markdown, options, None)
}

/// As [`convert`], and a body that does not open with a level-1 heading gets `# title` first.
/// Shortcodes and template tags are expanded first (see [`shortcodes`]); every offset given
/// back is one of `markdown`, as written.
pub fn convert_page(markdown: &str, options: &Options, title: Option<&str>) -> Converted {
    let expanded = shortcodes::expand(markdown, parse_options());
    let mut converted = convert_expanded(&expanded.text, options, title);
    if let Cow::Owned(_) = expanded.text {
        for link in &mut converted.links {
            link.offset = expanded.source_offset(link.offset);
        }
        for note in &mut converted.notes {
            note.offset = expanded.source_offset(note.offset);
        }
        converted
            .notes
            .extend(expanded.notes.into_iter().map(|note| SourceNote {
                offset: note.offset,
                message: note.message,
            }));
        converted.notes.sort_by_key(|note| note.offset);
        converted.shortcodes = expanded.counts;
    }
    converted
}

/// Markdown without shortcodes to gemtext.
fn convert_expanded(markdown: &str, options: &Options, title: Option<&str>) -> Converted {
    let marks = marks(markdown);
    if marks > MAX_MARKS {
        return as_text(markdown, title, marks);
    }
    let mut converter = Converter::new(options, title, markdown);
    for (event, range) in Parser::new_ext(markdown, parse_options()).into_offset_iter() {
        converter.at = range.start;
        converter.event(event);
    }
    converter.finish()
}

/// A page with more marks than [`MAX_MARKS`]: every line of it as a text line (blank lines
/// kept), under its title, with a warning. Nothing is lost, nothing is parsed.
fn as_text(markdown: &str, title: Option<&str>, marks: usize) -> Converted {
    let mut out = Writer::with_title(title.map(str::to_owned), markdown.len() + 64);
    for line in markdown.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            out.push(Line::Blank);
        } else {
            out.push(Line::Text(line.to_owned()));
        }
    }
    let heading = match out.first_line() {
        Some(FirstLine::Title(text)) => Some(text.clone()),
        _ => None,
    };
    Converted {
        gemtext: out.finish(),
        heading,
        links: Vec::new(),
        notes: vec![SourceNote {
            offset: 0,
            message: format!(
                "this page has {marks} inline marks and lines (links, emphasis, code, HTML, \
                 quotes, list items, line ends), more than the {MAX_MARKS} a page may have to \
                 be read as Markdown: readers get it as written, line for line, without links"
            ),
        }],
        shortcodes: ShortcodeCounts::default(),
    }
}

/// A link collected from a leaf, waiting for its line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QueuedLink {
    url: String,
    label: String,
}

/// A link found in a leaf, with where it starts in the leaf's text (for source order).
struct LeafLink {
    pos: usize,
    depth: usize,
    /// The number shown in the prose (`footnote`/`end` placement), inserted at `marker_at`.
    numbered: bool,
    marker_at: usize,
    link: QueuedLink,
}

/// A link or image whose end has not been seen yet.
struct OpenLink {
    target: Option<String>,
    start: usize,
    /// Where it is written in the Markdown.
    source: usize,
    image: bool,
}

/// What a leaf's text will become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeafKind {
    Paragraph,
    Heading(u8),
    TableCell,
}

/// Inline content being gathered.
struct Leaf {
    kind: LeafKind,
    text: String,
    /// Byte offsets of hard line breaks in `text`.
    breaks: Vec<usize>,
    /// Ranges of `text` outside links and code, where bare URLs are looked for.
    plain: Vec<Range<usize>>,
    /// Whether any visible text lies outside links (else the leaf is link-only).
    has_prose: bool,
    links: Vec<LeafLink>,
    open: Vec<OpenLink>,
    /// (offset in `text`, offset in the Markdown) where each piece of text was appended, so a
    /// bare URL found in `text` can be traced to where it is written.
    sources: Vec<(usize, usize)>,
}

impl Leaf {
    fn new(kind: LeafKind, capacity: usize) -> Leaf {
        Leaf {
            kind,
            text: String::with_capacity(capacity),
            breaks: Vec::new(),
            plain: Vec::new(),
            has_prose: false,
            links: Vec::new(),
            open: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// Notes that the text appended next is written at `source` in the Markdown.
    fn mark_source(&mut self, source: usize) {
        let at = self.text.len();
        match self.sources.last_mut() {
            Some(last) if last.0 == at => last.1 = source,
            _ => self.sources.push((at, source)),
        }
    }

    /// Where in the Markdown the text at `pos` of this leaf is written.
    fn source_of(&self, pos: usize) -> usize {
        self.piece_of(pos).map_or(0, |(_, source)| source)
    }

    /// Where in the Markdown the very byte at `pos` is written, when its piece of text is
    /// copied from the Markdown as it is (the caller checks it is).
    fn exact_source_of(&self, pos: usize) -> usize {
        self.piece_of(pos)
            .map_or(0, |(at, source)| source + (pos - at))
    }

    /// The piece of text `pos` is in: where it starts in the leaf, and in the Markdown.
    fn piece_of(&self, pos: usize) -> Option<(usize, usize)> {
        let i = self.sources.partition_point(|&(at, _)| at <= pos);
        i.checked_sub(1).map(|i| self.sources[i])
    }

    /// Appends prose text (outside code): linkable when outside links. A space is not
    /// doubled where two pieces meet (as around a removed HTML comment).
    fn push_text(&mut self, text: &str) {
        let text = if self.text.ends_with(' ') {
            text.trim_start_matches(' ')
        } else {
            text
        };
        let start = self.text.len();
        self.text.push_str(text);
        if self.open.is_empty() {
            if !text.trim().is_empty() {
                self.has_prose = true;
            }
            match self.plain.last_mut() {
                Some(last) if last.end == start => last.end = self.text.len(),
                _ => self.plain.push(start..self.text.len()),
            }
        }
    }

    /// Appends text that counts as prose but is never linkified (inline code, markers).
    fn push_literal(&mut self, text: &str) {
        self.text.push_str(text);
        if self.open.is_empty() && !text.trim().is_empty() {
            self.has_prose = true;
        }
    }

    fn hard_break(&mut self) {
        self.breaks.push(self.text.len());
    }
}

/// Containers that shape the lines of the leaves inside them.
enum Container {
    Quote,
    List { next: Option<u64> },
    Item { marker: String, leaves: usize },
    Footnote { label: String },
}

/// A table being gathered.
struct Table {
    aligns: Vec<Alignment>,
    rows: Vec<Vec<String>>,
    /// Where it is written in the Markdown.
    start: usize,
}

struct Converter<'o> {
    options: &'o Options,
    /// The Markdown converted: bare URLs are linked as written there, not as shown.
    markdown: &'o str,
    /// Byte offset in the Markdown of the event being handled.
    at: usize,
    /// Every link made so far, with where it is written.
    links: Vec<SourceLink>,
    /// The current sink: the document, or a footnote definition being read.
    out: Writer,
    /// Outer sinks while a footnote definition is read.
    outer: Vec<Writer>,
    containers: Vec<Container>,
    leaf: Option<Leaf>,
    /// The buffers of the last closed leaf, for the next one.
    spare_leaf: Option<Leaf>,
    /// Links waiting for the end of the outermost block (`below`, `footnote` placement) or of
    /// the document (`end`), and the set that keeps each link once per queue.
    queue: Vec<QueuedLink>,
    queued: HashSet<QueuedLink>,
    /// The last number given to a footnote or (in numbered placements) a link: both share one
    /// sequence, so a `[n]` in the prose always means one thing.
    last_number: usize,
    code: Option<(String, String)>,
    table: Option<Table>,
    /// Whether the last leaf in the current quote was a paragraph (a bare `>` separates two).
    quote_paragraph: bool,
    footnote_numbers: HashMap<String, usize>,
    footnotes: Vec<(String, Writer)>,
    html: HtmlStripper,
    html_events: Vec<HtmlEvent>,
    /// The text of a raw HTML `<pre>` being read, kept as written.
    html_pre: Option<String>,
    /// Links left as text past [`MAX_LINKS`], and where the first of them is written.
    links_left: usize,
    first_left: usize,
    /// Warnings about what the reader does not get as written.
    notes: Vec<SourceNote>,
}

impl<'o> Converter<'o> {
    /// Whether one more link gets its line; past [`MAX_LINKS`] it is counted instead, and
    /// its text stays in the prose.
    fn link_fits(&mut self, source: usize) -> bool {
        if self.links.len() < MAX_LINKS {
            return true;
        }
        if self.links_left == 0 {
            self.first_left = source;
        }
        self.links_left += 1;
        false
    }

    fn new(options: &'o Options, title: Option<&str>, markdown: &'o str) -> Self {
        let input_len = markdown.len();
        Converter {
            options,
            markdown,
            at: 0,
            links: Vec::new(),
            // Gemtext is about as long as its Markdown.
            out: Writer::with_title(title.map(str::to_owned), input_len + input_len / 8 + 64),
            outer: Vec::new(),
            containers: Vec::new(),
            leaf: None,
            spare_leaf: None,
            queue: Vec::new(),
            queued: HashSet::new(),
            last_number: 0,
            code: None,
            table: None,
            quote_paragraph: false,
            footnote_numbers: HashMap::new(),
            footnotes: Vec::new(),
            html: HtmlStripper::default(),
            html_events: Vec::new(),
            html_pre: None,
            links_left: 0,
            first_left: 0,
            notes: Vec::new(),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                if !self.html.hiding() {
                    let leaf = self.leaf();
                    leaf.push_literal("`");
                    leaf.push_literal(&code);
                    leaf.push_literal("`");
                }
            }
            Event::InlineMath(math) | Event::DisplayMath(math) => self.text(&math),
            Event::Html(html) | Event::InlineHtml(html) => self.raw_html(&html),
            Event::FootnoteReference(label) => {
                let n = self.footnote_number(&label);
                self.leaf().push_literal(&format!("[{n}]"));
            }
            Event::SoftBreak => {
                if !self.html.hiding() {
                    if let Some(pre) = &mut self.html_pre {
                        pre.push('\n');
                    } else if let Some((_, code)) = &mut self.code {
                        code.push('\n');
                    } else {
                        self.leaf().push_text(" ");
                    }
                }
            }
            Event::HardBreak => self.leaf().hard_break(),
            Event::Rule => {
                self.close_leaf();
                self.begin_block();
                let line = if self.in_quote() {
                    Line::Quote(RULE.into())
                } else {
                    Line::Text(RULE.into())
                };
                self.out.push(line);
                self.end_block();
            }
            Event::TaskListMarker(done) => {
                if let Some(Container::Item { marker, .. }) = self.containers.last_mut() {
                    marker.push_str(if done { "[x] " } else { "[ ] " });
                }
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.start_leaf_block(LeafKind::Paragraph),
            Tag::Heading { level, .. } => {
                self.start_leaf_block(LeafKind::Heading(heading_level(level)));
            }
            Tag::BlockQuote(_) => self.start_quote(),
            Tag::CodeBlock(kind) => self.start_code_block(kind),
            Tag::HtmlBlock => self.start_block(),
            Tag::List(start) => {
                self.start_block();
                self.containers.push(Container::List { next: start });
            }
            Tag::Item => self.start_item(),
            Tag::FootnoteDefinition(label) => self.start_footnote(&label),
            Tag::Table(aligns) => self.start_table(aligns),
            Tag::TableHead | Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.rows.push(Vec::new());
                }
            }
            Tag::TableCell => self.leaf = Some(self.new_leaf(LeafKind::TableCell)),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => self.start_link(link_type, dest_url),
            Tag::Image { dest_url, .. } => self.open_link(&dest_url, true),
            Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => {}
        }
    }

    /// Closes what inline content was open and separates the block that starts from the last.
    fn start_block(&mut self) {
        self.close_leaf();
        self.begin_block();
    }

    /// A block that is one leaf (a paragraph, a heading): its inline content gathers in it.
    fn start_leaf_block(&mut self, kind: LeafKind) {
        self.start_block();
        self.leaf = Some(self.new_leaf(kind));
    }

    /// A quote; the outermost one starts with no paragraph before it to separate.
    fn start_quote(&mut self) {
        self.start_block();
        if !self.in_quote() {
            self.quote_paragraph = false;
        }
        self.containers.push(Container::Quote);
    }

    /// A code block, gathered as text; a fence's first word is its alt text.
    fn start_code_block(&mut self, kind: CodeBlockKind<'_>) {
        self.start_block();
        let alt = match kind {
            CodeBlockKind::Fenced(info) => info
                .split(|c: char| c.is_whitespace() || c == ',')
                .next()
                .unwrap_or("")
                .to_owned(),
            CodeBlockKind::Indented => String::new(),
        };
        self.code = Some((alt, String::new()));
    }

    /// A list item, with its number when its list is numbered.
    fn start_item(&mut self) {
        self.close_leaf();
        let marker = match self.containers.last_mut() {
            Some(Container::List { next: Some(n) }) => {
                let marker = format!("{n}. ");
                *n = n.saturating_add(1);
                marker
            }
            _ => String::new(),
        };
        self.containers.push(Container::Item { marker, leaves: 0 });
    }

    /// A footnote's text, written apart from the page until the notes are put at its end.
    fn start_footnote(&mut self, label: &str) {
        self.close_leaf();
        self.end_block();
        self.outer.push(std::mem::take(&mut self.out));
        self.containers.push(Container::Footnote {
            label: label.to_string(),
        });
    }

    /// A table, gathered row by row and laid out when it ends.
    fn start_table(&mut self, aligns: Vec<Alignment>) {
        self.start_block();
        self.table = Some(Table {
            aligns,
            rows: Vec::new(),
            start: self.at,
        });
    }

    /// A link; an autolinked e-mail address gets its `mailto:`.
    fn start_link(&mut self, link_type: LinkType, dest_url: CowStr<'_>) {
        let dest = match link_type {
            LinkType::Email if !dest_url.starts_with("mailto:") => {
                CowStr::from(format!("mailto:{dest_url}"))
            }
            _ => dest_url,
        };
        self.open_link(&dest, false);
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::HtmlBlock => {
                self.end_html_run();
                self.close_leaf();
                self.end_block();
            }
            TagEnd::BlockQuote(_) | TagEnd::List(_) => {
                self.close_leaf();
                self.containers.pop();
                self.end_block();
            }
            TagEnd::CodeBlock => {
                if let Some((alt, text)) = self.code.take() {
                    self.out.push(preformatted(alt, &text));
                }
                self.end_block();
            }
            TagEnd::Item => {
                self.close_leaf();
                self.containers.pop();
            }
            TagEnd::FootnoteDefinition => {
                self.close_leaf();
                self.end_block();
                if let Some(Container::Footnote { label }) = self.containers.pop() {
                    let outer = self.outer.pop().unwrap_or_default();
                    let note = std::mem::replace(&mut self.out, outer);
                    self.footnotes.push((label, note));
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.push_table(&table);
                }
                self.end_block();
            }
            TagEnd::TableCell => {
                self.end_html_run();
                self.close_leaf();
            }
            TagEnd::TableHead | TagEnd::TableRow => {}
            TagEnd::Link | TagEnd::Image => self.close_link(),
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_)
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.html.hiding() {
            return;
        }
        if let Some(pre) = &mut self.html_pre {
            pre.push_str(text);
            return;
        }
        if let Some((_, code)) = &mut self.code {
            code.push_str(text);
        } else {
            let at = self.at;
            let leaf = self.leaf();
            leaf.mark_source(at);
            leaf.push_text(text);
        }
    }

    /// The open leaf; inline content outside any paragraph (tight list items, stray inline
    /// HTML) opens one.
    fn leaf(&mut self) -> &mut Leaf {
        if self.leaf.is_none() {
            self.leaf = Some(self.new_leaf(LeafKind::Paragraph));
        }
        self.leaf.as_mut().expect("leaf just opened")
    }

    fn in_quote(&self) -> bool {
        self.containers
            .iter()
            .any(|c| matches!(c, Container::Quote))
    }

    /// Whether no list, quote or table encloses the current position (footnotes count as
    /// documents of their own).
    fn at_top(&self) -> bool {
        self.table.is_none()
            && !self
                .containers
                .iter()
                .any(|c| !matches!(c, Container::Footnote { .. }))
    }

    /// Separates a new top-level block from the previous one with a blank line.
    fn begin_block(&mut self) {
        if self.at_top() && self.outer.is_empty() {
            self.out.push(Line::Blank);
        }
    }

    /// Writes the queued links once the outermost block has ended.
    fn end_block(&mut self) {
        if self.at_top() && self.options.links != LinkPlacement::End {
            self.flush_queue();
        }
    }

    fn flush_queue(&mut self) {
        self.queued.clear();
        for link in self.queue.drain(..) {
            self.out.push(Line::Link {
                url: link.url,
                label: link.label,
            });
        }
    }

    fn footnote_number(&mut self, label: &str) -> usize {
        if let Some(n) = self.footnote_numbers.get(&label.to_lowercase()) {
            return *n;
        }
        let n = self.next_number();
        self.footnote_numbers.insert(label.to_lowercase(), n);
        n
    }

    fn next_number(&mut self) -> usize {
        self.last_number += 1;
        self.last_number
    }

    fn open_link(&mut self, dest: &str, image: bool) {
        self.open_link_at(dest, image, self.at);
    }

    /// Opens a link written at `source` in the Markdown.
    fn open_link_at(&mut self, dest: &str, image: bool, source: usize) {
        let target = link_target(dest);
        let leaf = self.leaf();
        let start = leaf.text.len();
        leaf.open.push(OpenLink {
            target,
            start,
            source,
            image,
        });
    }

    fn close_link(&mut self) {
        let numbered = self.options.links != LinkPlacement::Below;
        let marker = self.options.image_marker.clone();
        let Some(leaf) = self.leaf.as_mut() else {
            return;
        };
        let Some(open) = leaf.open.pop() else {
            return;
        };
        let Some(url) = open.target else {
            return;
        };
        if !self.link_fits(open.source) {
            return;
        }
        let Some(leaf) = self.leaf.as_mut() else {
            return;
        };
        let text = collapse_whitespace(&leaf.text[open.start..]);
        let label = if open.image {
            let alt = if text.is_empty() {
                file_name(&url).to_owned()
            } else {
                text
            };
            format!("{marker} {alt}").trim().to_owned()
        } else if text.is_empty() {
            url.clone()
        } else {
            text
        };
        self.links.push(SourceLink {
            target: url.clone(),
            offset: open.source,
        });
        leaf.links.push(LeafLink {
            pos: open.start,
            depth: leaf.open.len(),
            numbered: numbered && !open.image,
            marker_at: leaf.text.len(),
            link: QueuedLink { url, label },
        });
    }

    fn raw_html(&mut self, html: &str) {
        let mut events = std::mem::take(&mut self.html_events);
        self.html.feed(html, self.at, &mut events);
        self.html_events(&mut events);
        self.html_events = events;
    }

    /// Ends the run of raw HTML of a block that ends: nothing it left open (a comment, a
    /// `<style>`, a `<pre>`) reaches past it.
    fn end_html_run(&mut self) {
        if !self.html.open() && self.html_pre.is_none() {
            return;
        }
        let mut events = std::mem::take(&mut self.html_events);
        if let Some(open) = self.html.end_run(&mut events) {
            let what = match open {
                "<!--" => "an HTML comment (`<!--`)".to_owned(),
                element => format!("a `<{element}>`"),
            };
            self.notes.push(SourceNote {
                offset: self.at,
                message: format!(
                    "{what} in this HTML block or paragraph is never closed: what follows it, \
                     to the block's end, is not shown"
                ),
            });
        }
        self.html_events(&mut events);
        self.html_events = events;
        self.end_html_pre();
    }

    /// A `<pre>`'s text, as one preformatted block.
    fn end_html_pre(&mut self) {
        if let Some(text) = self.html_pre.take() {
            if !text.trim().is_empty() {
                self.out.push(preformatted(String::new(), &text));
            }
            self.end_block();
        }
    }

    fn html_events(&mut self, events: &mut Vec<HtmlEvent>) {
        for event in events.drain(..) {
            match event {
                HtmlEvent::Text(text) if self.html_pre.is_some() => {
                    if let Some(pre) = &mut self.html_pre {
                        pre.push_str(&text);
                    }
                }
                HtmlEvent::PreStart => {
                    self.close_leaf();
                    self.end_html_pre();
                    self.begin_block();
                    self.html_pre = Some(String::new());
                }
                HtmlEvent::PreEnd => self.end_html_pre(),
                HtmlEvent::HeadingStart(level) => {
                    self.close_leaf();
                    self.begin_block();
                    self.leaf = Some(self.new_leaf(LeafKind::Heading(level.min(3))));
                }
                HtmlEvent::HeadingEnd => {
                    if self
                        .leaf
                        .as_ref()
                        .is_some_and(|l| matches!(l.kind, LeafKind::Heading(_)))
                    {
                        self.close_leaf();
                        self.end_block();
                    }
                }
                HtmlEvent::Text(text) => {
                    if self.code.is_none() && !text.trim().is_empty() {
                        let text = collapse_whitespace_keep_edges(&text);
                        let at = self.at;
                        let leaf = self.leaf();
                        leaf.mark_source(at);
                        leaf.push_text(&text);
                    } else if self.leaf.as_ref().is_some_and(|l| !l.text.is_empty()) {
                        self.leaf().push_text(" ");
                    }
                }
                HtmlEvent::Break => self.leaf().hard_break(),
                HtmlEvent::BlockBreak => {
                    if self.leaf.as_ref().is_some_and(|l| l.open.is_empty()) {
                        let kind = self.leaf.as_ref().map_or(LeafKind::Paragraph, |l| l.kind);
                        if kind == LeafKind::Paragraph {
                            self.close_leaf();
                            self.leaf = Some(self.new_leaf(kind));
                        }
                    }
                }
                HtmlEvent::LinkStart { href, at } => self.open_link_at(&href, false, at),
                HtmlEvent::LinkEnd => {
                    if self.leaf.as_ref().is_some_and(|l| !l.open.is_empty()) {
                        self.close_link();
                    }
                }
                HtmlEvent::Image { src, alt, at } => {
                    // As with a Markdown image: the alt text stays in the prose.
                    self.open_link_at(&src, true, at);
                    self.leaf().push_text(&alt);
                    self.close_link();
                }
            }
        }
    }

    /// Turns the open leaf into lines and queues its links.
    fn close_leaf(&mut self) {
        let Some(mut leaf) = self.leaf.take() else {
            return;
        };
        // Links left open by broken HTML end here.
        while !leaf.open.is_empty() {
            self.leaf = Some(leaf);
            self.close_link();
            leaf = self.leaf.take().expect("leaf just put back");
        }
        self.write_leaf(&mut leaf);
        // Keep the leaf's buffers for the next one: fewer allocations per paragraph.
        leaf.breaks.clear();
        leaf.plain.clear();
        leaf.links.clear();
        leaf.sources.clear();
        self.spare_leaf = Some(leaf);
    }

    /// A bare URL as its Markdown writes it, byte for byte: emphasis marks, `_` and backticks
    /// inside it are the URL's, not Markdown's (`https://e.org/a*b*c` links `a*b*c`), with
    /// backslash escapes and entities decoded once, as in text. `shown` is what the text
    /// shows; it is used instead when the URL as written differs from it by more than those
    /// marks (the text was not copied from where it is thought to be: raw HTML, a link's
    /// syntax after it).
    fn written_url<'s>(
        &self,
        leaf: &Leaf,
        pos: usize,
        shown: &'s str,
        in_cell: bool,
    ) -> Cow<'s, str> {
        let ends_url =
            |c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"') || (in_cell && c == '|');
        let Some(written) = self.markdown.get(leaf.exact_source_of(pos)..) else {
            return Cow::Borrowed(shown);
        };
        let raw = &written[..written.find(ends_url).unwrap_or(written.len())];
        let unescaped = unescape_punctuation(raw);
        let decoded = html_escape::decode_html_entities(&unescaped);
        let url = trim_url_end(&decoded[..decoded.find(ends_url).unwrap_or(decoded.len())]);
        let marks = |c: &char| !matches!(c, '*' | '_' | '`' | '~');
        let (as_written, as_shown): (String, String) = (
            url.chars().filter(marks).collect(),
            shown.chars().filter(marks).collect(),
        );
        // A code span in a URL is not prose, so the text shows the URL up to it only.
        // (Nothing of a link's syntax may follow: its label is what the prose shows there.)
        let same = as_written == as_shown
            || (url.contains('`')
                && !url.contains(['[', ']', '!'])
                && as_written.starts_with(&as_shown));
        let scheme = shown.find("://").map_or(0, |i| i + 3);
        if url.len() <= scheme || !same {
            return Cow::Borrowed(shown);
        }
        Cow::Owned(url.to_owned())
    }

    fn write_leaf(&mut self, leaf: &mut Leaf) {
        let in_cell = leaf.kind == LeafKind::TableCell;
        for range in &leaf.plain {
            for bare in find_bare_urls(&leaf.text[range.clone()]) {
                let pos = range.start + bare.at;
                // A hard line break ends a URL, though the leaf's text runs on past it.
                let shown = match leaf
                    .breaks
                    .iter()
                    .find(|&&b| b > pos && b < pos + bare.text.len())
                {
                    Some(&b) => bare.text.get(..b - pos).unwrap_or(bare.text),
                    None => bare.text,
                };
                let url = match bare.prefix {
                    "" => self.written_url(leaf, pos, shown, in_cell),
                    _ => Cow::Borrowed(shown),
                };
                if let Some(target) = link_target(&format!("{}{url}", bare.prefix)) {
                    let source = leaf.source_of(pos);
                    if !self.link_fits(source) {
                        continue;
                    }
                    self.links.push(SourceLink {
                        target: target.clone(),
                        offset: source,
                    });
                    leaf.links.push(LeafLink {
                        pos,
                        depth: 0,
                        numbered: false,
                        marker_at: 0,
                        link: QueuedLink {
                            url: target,
                            label: url.into_owned(),
                        },
                    });
                }
            }
        }
        leaf.links.sort_by_key(|l| (l.pos, l.depth));

        if leaf.kind == LeafKind::TableCell {
            let text = collapse_whitespace(&leaf.text);
            if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                row.push(text);
            }
            for l in leaf.links.drain(..) {
                self.queue_link(l.link);
            }
            return;
        }

        let link_only = !leaf.has_prose && !leaf.links.is_empty();
        if link_only && leaf.kind == LeafKind::Paragraph {
            self.count_item_leaf();
            for l in leaf.links.drain(..) {
                self.out.push(Line::Link {
                    url: l.link.url,
                    label: l.link.label,
                });
            }
            return;
        }
        if leaf.text.trim().is_empty() && leaf.links.is_empty() {
            return;
        }

        // Number links in the prose, then cut it at hard breaks.
        let mut inserts: Vec<(usize, String)> = Vec::new();
        for l in leaf.links.drain(..) {
            let mut link = l.link;
            if l.numbered {
                let n = self.next_number();
                inserts.push((l.marker_at, format!("[{n}]")));
                link.label = format!("[{n}] {}", link.label);
            }
            self.queue_link(link);
        }
        inserts.sort_by_key(|(at, _)| *at);
        let segments = split_segments(std::mem::take(&mut leaf.text), &leaf.breaks, &inserts);
        self.emit_leaf_lines(leaf.kind, segments);
    }

    /// A new leaf, reusing the buffers of the last one.
    fn new_leaf(&mut self, kind: LeafKind) -> Leaf {
        let capacity = if kind == LeafKind::Paragraph { 256 } else { 32 };
        match self.spare_leaf.take() {
            Some(mut leaf) => {
                leaf.kind = kind;
                leaf.text = String::with_capacity(capacity);
                leaf.has_prose = false;
                leaf
            }
            None => Leaf::new(kind, capacity),
        }
    }

    /// Counts a leaf towards the innermost list item (only its first leaf gets the marker).
    fn count_item_leaf(&mut self) -> Option<String> {
        match self.containers.last_mut() {
            Some(Container::Item { marker, leaves }) => {
                *leaves += 1;
                (*leaves == 1).then(|| marker.clone())
            }
            _ => None,
        }
    }

    fn emit_leaf_lines(&mut self, kind: LeafKind, segments: Vec<String>) {
        let item_marker = self.count_item_leaf();
        let in_item = matches!(self.containers.last(), Some(Container::Item { .. }));
        if let LeafKind::Heading(level) = kind {
            let text = segments.join(" ");
            let text = match without_heading_attributes(&text) {
                kept if kept.len() == text.len() => text,
                kept => kept.to_owned(),
            };
            let line = if self.in_quote() {
                Line::Quote(text)
            } else {
                Line::Heading { level, text }
            };
            self.out.push(line);
            return;
        }
        if self.in_quote() {
            let is_paragraph = !in_item;
            if is_paragraph && self.quote_paragraph {
                self.out.push(Line::Quote(String::new()));
            }
            self.quote_paragraph = is_paragraph;
            let mut first = true;
            for seg in segments {
                let text = match (&item_marker, first) {
                    (Some(marker), true) => format!("• {marker}{seg}"),
                    _ => seg,
                };
                first = false;
                self.out.push(Line::Quote(text));
            }
            return;
        }
        if let Some(mut text) = item_marker {
            for (i, seg) in segments.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(seg);
            }
            self.out.push(Line::ListItem(text));
            return;
        }
        for seg in segments {
            self.out.push(Line::Text(seg));
        }
    }

    /// Queues a link unless the queue already has it. Short queues (the usual case) are
    /// searched directly; a long one is indexed, so a block with many links stays linear.
    fn queue_link(&mut self, link: QueuedLink) {
        const SCAN_LIMIT: usize = 16;
        if self.queue.len() < SCAN_LIMIT {
            if !self.queue.contains(&link) {
                self.queue.push(link);
            }
            return;
        }
        if self.queued.is_empty() {
            self.queued.extend(self.queue.iter().cloned());
        }
        if self.queued.insert(link.clone()) {
            self.queue.push(link);
        }
    }

    fn finish(mut self) -> Converted {
        self.end_html_run();
        self.close_leaf();
        if let Some((alt, text)) = self.code.take() {
            self.out.push(preformatted(alt, &text));
        }
        if let Some(table) = self.table.take() {
            self.push_table(&table);
        }
        while let Some(mut outer) = self.outer.pop() {
            // An unterminated footnote definition: keep its text in place.
            std::mem::swap(&mut self.out, &mut outer);
            self.out.append(outer);
        }
        self.containers.clear();
        if self.options.links != LinkPlacement::End {
            self.flush_queue();
        }

        if !self.footnotes.is_empty() {
            // Numbers follow first use in the text; notes never referenced come last.
            let mut notes: Vec<(usize, Writer)> = std::mem::take(&mut self.footnotes)
                .into_iter()
                .map(|(label, note)| (self.footnote_number(&label), note))
                .collect();
            notes.sort_by_key(|(n, _)| *n);
            self.push_section("Notes");
            for (n, mut note) in notes {
                match note.first_line() {
                    Some(FirstLine::Text) => note.prefix_first_line(&format!("[{n}] ")),
                    _ => self.out.push(Line::Text(format!("[{n}]"))),
                }
                self.out.append(note);
            }
        }
        if !self.queue.is_empty() {
            self.push_section("Links");
            self.flush_queue();
        }
        let heading = match self.out.first_line() {
            Some(FirstLine::Title(text)) => Some(text.clone()),
            _ => None,
        };
        // Bare URLs are found when their leaf closes, after the links written inside it.
        self.links.sort_by_key(|l| l.offset);
        let mut notes = std::mem::take(&mut self.notes);
        if self.links_left > 0 {
            notes.push(SourceNote {
                offset: self.first_left,
                message: format!(
                    "this page has {} links past the first {MAX_LINKS}, the most a page gets \
                     link lines for: from here on their text is kept, their link lines are \
                     not made (split the page)",
                    self.links_left
                ),
            });
        }
        Converted {
            gemtext: self.out.finish(),
            heading,
            links: self.links,
            notes,
            shortcodes: ShortcodeCounts::default(),
        }
    }

    /// A table as a preformatted block, its columns aligned unless that would make it many
    /// times longer than its cells (one wide cell over many short rows): then each row as
    /// written, with a warning.
    fn push_table(&mut self, table: &Table) {
        let (line, aligned) = render_table(table);
        if !aligned {
            self.notes.push(SourceNote {
                offset: table.start,
                message: "this table's columns are too uneven to align (aligning would make it \
                          many times longer than its text): its rows are shown as written"
                    .into(),
            });
        }
        self.out.push(line);
    }

    fn push_section(&mut self, title: &str) {
        self.out.push(Line::Blank);
        self.out.push(Line::Heading {
            level: 2,
            text: title.into(),
        });
    }
}

/// A code block's text as a preformatted block, one line per source line (CR dropped).
fn preformatted(alt: String, text: &str) -> Line {
    // An empty block has no line, not one blank line.
    if text.is_empty() {
        return Line::Preformatted {
            alt,
            lines: Vec::new(),
        };
    }
    let lines = text
        .strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    Line::Preformatted { alt, lines }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        _ => 3,
    }
}

/// Cuts leaf text at hard breaks, inserting link numbers, trimming each piece.
fn split_segments(mut text: String, breaks: &[usize], inserts: &[(usize, String)]) -> Vec<String> {
    if breaks.is_empty() && inserts.is_empty() {
        // The common case: one piece, trimmed in place without copying.
        let end = text.trim_end().len();
        text.truncate(end);
        let start = text.len() - text.trim_start().len();
        text.drain(..start);
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![text]
        };
    }
    let text = text.as_str();
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut at = 0;
    let mut inserts = inserts.iter().peekable();
    let mut cuts = breaks
        .iter()
        .copied()
        .chain(std::iter::once(text.len()))
        .peekable();
    while let Some(cut) = cuts.next() {
        while let Some((pos, marker)) = inserts.next_if(|(pos, _)| *pos <= cut) {
            current.push_str(&text[at..*pos]);
            current.push_str(marker);
            at = *pos;
        }
        current.push_str(&text[at..cut]);
        at = cut;
        let is_last = cuts.peek().is_none();
        let piece = current.trim().to_owned();
        if !piece.is_empty() || !is_last && !segments.is_empty() {
            segments.push(piece);
        }
        current.clear();
    }
    while segments.last().is_some_and(|s: &String| s.is_empty()) {
        segments.pop();
    }
    segments
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Collapses runs of white space to one space but keeps one at either end, so words from
/// neighbouring HTML pieces stay apart.
fn collapse_whitespace_keep_edges(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.starts_with(char::is_whitespace) {
        out.push(' ');
    }
    out.push_str(&collapse_whitespace(text));
    if text.ends_with(char::is_whitespace) {
        out.push(' ');
    }
    out
}

fn file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path)
}

/// A table as an aligned preformatted block; widths are display columns (CJK counts two).
/// The table as preformatted lines, and whether its columns are aligned: they are unless the
/// padding would take it past [`MAX_TABLE_GROWTH`] times its cells' text (and 16 KiB).
fn render_table(table: &Table) -> (Line, bool) {
    let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    let cell_widths: Vec<Vec<usize>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(|cell| cell.width()).collect())
        .collect();
    let mut widths = vec![3usize; columns];
    for row in &cell_widths {
        for (i, w) in row.iter().enumerate() {
            widths[i] = widths[i].max(*w);
        }
    }
    let written: usize = table
        .rows
        .iter()
        .map(|row| row.iter().map(|c| c.len() + 3).sum::<usize>() + 1)
        .sum();
    let aligned =
        (table.rows.len() + 1).saturating_mul(widths.iter().sum::<usize>() + 3 * columns + 1);
    if aligned > written.saturating_mul(MAX_TABLE_GROWTH) + 16 * 1024 {
        return (unaligned_table(table, columns), false);
    }
    let align = |i: usize| table.aligns.get(i).copied().unwrap_or(Alignment::None);
    let pad = |line: &mut String, n: usize| line.extend(std::iter::repeat_n(' ', n));
    let mut lines = Vec::with_capacity(table.rows.len() + 1);
    for (r, row) in table.rows.iter().enumerate() {
        let mut line = String::with_capacity(widths.iter().sum::<usize>() + 3 * columns + 1);
        line.push('|');
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            let spare = width - cell_widths[r].get(i).copied().unwrap_or(0);
            let (left, right) = match align(i) {
                Alignment::Right => (spare, 0),
                Alignment::Center => (spare / 2, spare - spare / 2),
                Alignment::Left | Alignment::None => (0, spare),
            };
            line.push(' ');
            pad(&mut line, left);
            line.push_str(cell);
            pad(&mut line, right);
            line.push_str(" |");
        }
        lines.push(line);
        if r == 0 {
            let mut rule = String::from("|");
            for (i, width) in widths.iter().enumerate() {
                let (l, r) = match align(i) {
                    Alignment::Left => (':', '-'),
                    Alignment::Right => ('-', ':'),
                    Alignment::Center => (':', ':'),
                    Alignment::None => ('-', '-'),
                };
                rule.push(l);
                rule.extend(std::iter::repeat_n('-', *width));
                rule.push(r);
                rule.push('|');
            }
            lines.push(rule);
        }
    }
    (
        Line::Preformatted {
            alt: "table".into(),
            lines,
        },
        true,
    )
}

/// How many times longer than its cells' text an aligned table may be.
const MAX_TABLE_GROWTH: usize = 4;

/// A table's rows as written: each cell between bars, none padded.
fn unaligned_table(table: &Table, columns: usize) -> Line {
    let mut lines = Vec::with_capacity(table.rows.len() + 1);
    for (r, row) in table.rows.iter().enumerate() {
        let mut line = String::from("|");
        for cell in row {
            line.push(' ');
            line.push_str(cell);
            line.push_str(" |");
        }
        lines.push(line);
        if r == 0 {
            lines.push(format!("|{}", "---|".repeat(columns)));
        }
    }
    Line::Preformatted {
        alt: "table".into(),
        lines,
    }
}

/// `text` with each backslash escape of ASCII punctuation (`\\_`) made the character itself,
/// as CommonMark reads text.
fn unescape_punctuation(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && next.is_ascii_punctuation() => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shortcodes reach the gemtext as what they mean, page references as written, and every
    /// link and warning is told at the offset of the source the author wrote.
    #[test]
    fn shortcodes_are_converted_and_offsets_stay_the_authors() {
        let body = "Intro\n\n{{< figure src=\"cat.png\" alt=\"Cat\" >}}\n\n\
                    {{< tabs >}}\nSee [next]({{< ref \"b.md#part\" >}}) and [old](a.md).\n\
                    {{< /tabs >}}\n\n{{< highlight go >}}\nx := 1\n{{< /highlight >}}\n";
        let out = convert(body, &Options::default());
        assert_eq!(
            out.gemtext,
            "Intro\n\n=> cat.png 🖼 Cat\n\nSee next and old.\n=> @/b.md#part next\n\
             => a.gmi old\n\n```go\nx := 1\n```\n"
        );
        let at = |needle: &str| body.find(needle).unwrap();
        let links: Vec<(&str, usize)> = out
            .links
            .iter()
            .map(|l| (l.target.as_str(), l.offset))
            .collect();
        assert_eq!(
            links,
            [
                ("cat.png", at("{{< figure")),
                ("@/b.md#part", at("[next]")),
                ("a.gmi", at("[old]"))
            ]
        );
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.notes[0].offset, at("{{< tabs"));
        assert_eq!(out.shortcodes.left.get("tabs"), Some(&1));
        assert_eq!(out.shortcodes.converted.get("figure"), Some(&1));
    }

    /// The targets of the link lines a Markdown text makes.
    fn targets(markdown: &str) -> Vec<String> {
        convert(markdown, &Options::default())
            .gemtext
            .lines()
            .filter_map(|l| l.strip_prefix("=> "))
            .map(|l| l.split(' ').next().unwrap_or("").to_owned())
            .collect()
    }

    /// A bare URL is linked as its Markdown writes it: what Markdown would read as emphasis or
    /// a code span inside it is the URL's; escapes and entities are decoded once.
    #[test]
    fn bare_urls_are_linked_as_written() {
        for (markdown, target) in [
            (
                "https://example.com/foo*bar*baz",
                "https://example.com/foo*bar*baz",
            ),
            ("see https://e.org/a_b_c_ now", "https://e.org/a_b_c"),
            ("https://e.org/?a=1&amp;b=2", "https://e.org/?a=1&b=2"),
            ("https://e.org/a\\_b", "https://e.org/a_b"),
            ("**https://e.org/strong**,", "https://e.org/strong"),
            ("(https://e.org/p)", "https://e.org/p"),
            ("*https://e.org/em*", "https://e.org/em"),
            ("https://e.org/`x`y", "https://e.org/%60x%60y"),
            ("a https://e.org/x\\\nb", "https://e.org/x"),
            // Entities at the end, decoded before the URL's end is found.
            ("A &lt;https://x.com/a&gt; b", "https://x.com/a"),
            ("See https://x.com/a&#10;b", "https://x.com/a"),
            ("See https://x.com/a\\) ok", "https://x.com/a"),
            ("A ~~https://x.com/a~~ b", "https://x.com/a"),
            // The URL as written is the one shown, but for Markdown's marks: never another.
            (
                "<p title=\"https://evil.example/pwn\">Read https://good.example/ now</p>",
                "https://good.example/",
            ),
        ] {
            assert_eq!(targets(markdown), [target], "{markdown}");
        }
        assert_eq!(
            targets("x https://a.com/[b](https://c.com) y"),
            ["https://a.com/", "https://c.com"]
        );
        assert_eq!(
            targets("See https://good.example/x`y`[t](https://evil.example/steal) ok"),
            ["https://good.example/x", "https://evil.example/steal"]
        );
        // In a table, a cell ends the URL; in code, nothing is linked.
        assert_eq!(
            targets("| a | b |\n|---|---|\n| https://e.org/c|d |\n"),
            ["https://e.org/c"]
        );
        assert!(targets("`https://code.org/x`\n\n    https://e.org/y\n").is_empty());
    }

    /// Raw HTML reaches no further than CommonMark gives it: an unclosed `<style>` or
    /// `<script>` in prose hides the rest of its paragraph at most.
    #[test]
    fn unclosed_hidden_elements_end_with_their_paragraph() {
        let gemtext = |markdown| convert(markdown, &Options::default()).gemtext;
        let page = gemtext("a <style> b\n\n## Heading\n\n    code\n\nText <script>x");
        assert_eq!(page, "a\n\n## Heading\n\n```\ncode\n```\n\nText\n");
        // The author is told.
        let notes = convert("a <style> b\n\nok\n", &Options::default()).notes;
        assert!(
            notes[0].message.contains("a `<style>` in this HTML block"),
            "{notes:?}"
        );
        // A comment left open inside a paragraph is text, as CommonMark reads it.
        assert!(gemtext("a <!-- b\n\nc\n").contains("c"));
        // An unfinished tag at the end of an HTML block is kept as text.
        assert!(gemtext("<div\n\nnext\n").contains("next"));
    }

    /// HTML headings are headings; `<pre>` keeps its lines and spaces.
    #[test]
    fn html_headings_and_pre() {
        let gemtext = |markdown| convert(markdown, &Options::default()).gemtext;
        assert_eq!(
            gemtext("<h1 align=\"center\">Fastify</h1>\n\nText.\n"),
            "# Fastify\n\nText.\n"
        );
        assert_eq!(
            gemtext("<div>\n<h2>Sub</h2>\n<h5>Deep</h5>\n<p>para</p>\n</div>\n"),
            "## Sub\n\n### Deep\npara\n"
        );
        assert_eq!(
            gemtext("<pre>\nline 1\n  line 2 &amp; <b>bold</b>\n</pre>\n\nafter\n"),
            "```\nline 1\n  line 2 & bold\n```\n\nafter\n"
        );
        // HTML drops the line break right after `<pre>`, not one after `<code>`.
        assert_eq!(
            gemtext("<pre><code>\nx\n</code></pre>\n"),
            "```\n\nx\n```\n"
        );
        // What a page embeds by `src` is linked; an empty code block has no line.
        assert!(gemtext("Foo <responsive-image src=\"foo.jpg\" />\n").contains("=> foo.jpg"));
        assert!(gemtext("<video src=\"a.mp4\"></video>\n").contains("=> a.mp4"));
        assert_eq!(gemtext("```\n```\n"), "```\n```\n");
        // A `<pre>` never closed ends with its block.
        assert_eq!(gemtext("<pre>\n  a\n    b\n"), "```\n  a\n    b\n```\n");
    }

    /// GitHub's extended autolinks: `www.`, `ftp://` and e-mail addresses, in text only.
    #[test]
    fn extended_autolinks_become_link_lines() {
        assert_eq!(
            targets("Visit www.commonmark.org/help, ftp://f.org/x or foo@bar.baz."),
            [
                "http://www.commonmark.org/help",
                "ftp://f.org/x",
                "mailto:foo@bar.baz"
            ]
        );
        assert!(targets("`www.code.org` and\n\n```\nfoo@bar.baz\n```\n").is_empty());
    }

    /// Past [`MAX_LINKS`] a link's text stays in the prose and no line is made for it, with
    /// one warning at the first link left out.
    #[test]
    fn links_past_the_bound_keep_their_text() {
        let markdown: String = (0..MAX_LINKS + 3)
            .map(|i| format!("[l{i}](https://e.org/{i}) and https://bare.org/{i}\n\n"))
            .collect();
        let converted = convert(&markdown, &Options::default());
        assert_eq!(converted.links.len(), MAX_LINKS);
        let lines = converted
            .gemtext
            .lines()
            .filter(|l| l.starts_with("=>"))
            .count();
        assert_eq!(lines, MAX_LINKS);
        let last = MAX_LINKS / 2 + 2;
        assert!(
            converted
                .gemtext
                .contains(&format!("l{last} and https://bare.org/{last}\n"))
        );
        assert_eq!(converted.notes.len(), 1);
        let first_left = format!("[l{}](", MAX_LINKS / 2);
        assert_eq!(
            &markdown[converted.notes[0].offset..][..first_left.len()],
            first_left
        );
        assert!(
            converted.notes[0]
                .message
                .contains("links past the first 5000")
        );
    }

    /// A table whose one wide cell would pad every other row is shown as written, and says
    /// so: its text is kept, its size stays that of its cells.
    #[test]
    fn a_table_too_uneven_to_align_is_shown_as_written() {
        let markdown = format!("| {} |\n|-|\n{}", "x".repeat(100_000), "b\n".repeat(10_000));
        let converted = convert(&markdown, &Options::default());
        assert!(
            converted.gemtext.len() < 4 * markdown.len(),
            "{}",
            converted.gemtext.len()
        );
        assert!(converted.gemtext.contains("\n| b |\n| b |\n"));
        assert!(converted.notes[0].message.contains("too uneven to align"));
        assert_eq!(converted.notes[0].offset, 0);
        // An ordinary table is aligned, without a word.
        let small = convert("| a | bbb |\n|---|---|\n| cc | d |\n", &Options::default());
        assert!(small.gemtext.contains("| cc  | d   |"), "{}", small.gemtext);
        assert!(small.notes.is_empty());
    }

    /// What opens a block inside a block counts as a mark: a line of them nests as deep.
    #[test]
    fn quotes_and_list_items_count_as_marks() {
        assert_eq!(marks(">>> a"), 3);
        assert_eq!(marks("- - 1. 2) a"), 4);
        assert_eq!(marks("a well-known 3.5 value, x+y"), 0);
        assert_eq!(marks("a\rb\r\nc\n"), 3);
        let nested = ">".repeat(MAX_MARKS + 1);
        assert!(
            convert(&nested, &Options::default()).notes[0]
                .message
                .contains("more than the 60000")
        );
    }

    /// Past [`MAX_MARKS`] a page is not parsed: its lines are kept as text lines, escaped
    /// where they would read as gemtext, under its title.
    #[test]
    fn a_page_past_the_marks_bound_is_kept_as_text() {
        let markdown = format!("=> not a link\n\n{}\n", "*a* ".repeat(MAX_MARKS / 2));
        let converted = convert_page(&markdown, &Options::default(), Some("Title"));
        assert!(
            converted
                .gemtext
                .starts_with("# Title\n\n => not a link\n\n*a* *a*")
        );
        assert!(converted.links.is_empty());
        assert!(converted.notes[0].message.contains("more than the 60000"));
        // Under it, parsed as ever.
        let small = convert(&"*a* ".repeat(100), &Options::default());
        assert!(small.gemtext.starts_with("a a a") && small.notes.is_empty());
    }
}
