//! How a host's generated pages look and what they say: its strings (the host's language, its
//! `[strings]`), and a template per page (`home.gmi`, `post.gmi`, …) rendered by minijinja.
//! The defaults are templates too, embedded: a templates folder replaces any of them, file by
//! file.
//!
//! Templates see only the values a page is given (the site model, read-only) and the strings;
//! they cannot reach a file or the network. Each rendering has a budget (fuel: instructions
//! and the bytes they make) and an output limit, so a template that loops forever or grows
//! without bound stops with an error; the page is then made from the default, and the log
//! says why, at the template's file and line.
//!
//! Values are written on one line (a title cannot start a link line of its own); only the
//! author's own text (`body`, `text`, a series' description) is placed as it is. Runs of blank
//! lines become one, and no page starts or ends with one, so templates may be spaced freely.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

use crate::config::{HostConfig, Strings};

/// A generated page that has a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    Home,
    Post,
    Series,
    Tag,
    Tags,
    Archive,
    Search,
}

impl PageKind {
    pub const ALL: [PageKind; 7] = [
        PageKind::Home,
        PageKind::Post,
        PageKind::Series,
        PageKind::Tag,
        PageKind::Tags,
        PageKind::Archive,
        PageKind::Search,
    ];

    /// Its template's file name, in a templates folder and among the defaults.
    pub fn file(self) -> &'static str {
        match self {
            PageKind::Home => "home.gmi",
            PageKind::Post => "post.gmi",
            PageKind::Series => "series.gmi",
            PageKind::Tag => "tag.gmi",
            PageKind::Tags => "tags.gmi",
            PageKind::Archive => "archive.gmi",
            PageKind::Search => "search.gmi",
        }
    }

    /// The embedded default.
    pub fn default_source(self) -> &'static str {
        match self {
            PageKind::Home => include_str!("templates/home.gmi"),
            PageKind::Post => include_str!("templates/post.gmi"),
            PageKind::Series => include_str!("templates/series.gmi"),
            PageKind::Tag => include_str!("templates/tag.gmi"),
            PageKind::Tags => include_str!("templates/tags.gmi"),
            PageKind::Archive => include_str!("templates/archive.gmi"),
            PageKind::Search => include_str!("templates/search.gmi"),
        }
    }

    fn index(self) -> usize {
        PageKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    /// The name a default is known by to the engine (a folder's file is known by its own).
    fn default_name(self) -> String {
        format!("(default) {}", self.file())
    }
}

/// The largest template file read, in bytes.
pub const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// The work one rendering may do (minijinja's fuel: an instruction costs one, and every 64
/// bytes made, output or value, one more). The default archive of 100,000 posts takes 1.3
/// million; this bounds a rendering to a fraction of a second and the values it makes to
/// about 200 MB.
const FUEL: u64 = 3_000_000;

/// The most one rendering may write, in bytes (the author's text placed in it not counted).
const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// How many rendering failures a layout keeps for `check`.
const MAX_FAILURES_KEPT: usize = 20;

/// How deep templates may nest (includes, macros, loops).
const RECURSION_LIMIT: usize = 64;

/// A template that cannot be used, where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct TemplateProblem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl TemplateProblem {
    /// The problem with what its page does meanwhile: keeps the last good version of the
    /// file, or is made from the default.
    fn with_outcome(mut self, kept: bool) -> TemplateProblem {
        self.message.push_str(if kept {
            "; its page keeps the last good version of this file"
        } else {
            "; its page is made from the default template"
        });
        self
    }
}

/// One host's strings and templates.
pub struct Layout {
    pub strings: Arc<Strings>,
    env: Environment<'static>,
    /// Per page: the folder's file its template came from, if not the default.
    custom: [Option<PathBuf>; 7],
    /// Per page: the template's text (a folder's, or the default).
    sources: [Arc<str>; 7],
    /// The templates folder, if the host has one.
    folder: Option<PathBuf>,
    /// The first failures of a folder's templates while rendering, for `check` to tell.
    failures: std::sync::Mutex<Vec<TemplateProblem>>,
    /// Per page: its folder's template failed, and the default makes its pages until the
    /// template changes (a failing template costs one rendering, not one per request).
    set_aside: [std::sync::atomic::AtomicBool; 7],
    /// Held while a folder's template renders: one at a time per host, so what a runaway
    /// template may take before its budget stops it is taken once, not once per thread.
    one_at_a_time: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("language", &self.strings.language())
            .field("custom", &self.custom)
            .finish()
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::defaults(Strings::default())
    }
}

impl Layout {
    /// The embedded templates, with `strings`.
    pub fn defaults(strings: Strings) -> Layout {
        let sources = PageKind::ALL.map(|k| Arc::<str>::from(k.default_source()));
        Layout::from_sources(Arc::new(strings), sources, [const { None }; 7], None)
    }

    /// A host's layout: its strings, and its templates folder's files in place of the
    /// defaults. A file that cannot be read or compiled is a problem; its page keeps what
    /// `previous` (the layout being replaced) had for it when that came from the same file,
    /// else the default.
    pub fn load(host: &HostConfig, previous: Option<&Layout>) -> (Layout, Vec<TemplateProblem>) {
        let strings = host.strings();
        let Some(folder) = &host.templates else {
            return (Layout::defaults(strings), Vec::new());
        };
        let mut problems = Vec::new();
        if !folder.is_dir() {
            problems.push(TemplateProblem {
                file: folder.clone(),
                line: 1,
                column: 1,
                message: "the templates folder does not exist (or is not a folder): every page \
                          keeps its default template"
                    .into(),
            });
        }
        let mut sources = PageKind::ALL.map(|k| Arc::<str>::from(k.default_source()));
        let mut custom = [const { None }; 7];
        for kind in PageKind::ALL {
            let file = folder.join(kind.file());
            let text = match read_template(&file) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(problem) => {
                    let kept = keep_previous(previous, kind, &file, &mut sources, &mut custom);
                    problems.push(problem.with_outcome(kept));
                    continue;
                }
            };
            match compile_check(&file, &text) {
                Ok(()) => {
                    sources[kind.index()] = Arc::from(text);
                    custom[kind.index()] = Some(file);
                }
                Err(problem) => {
                    let kept = keep_previous(previous, kind, &file, &mut sources, &mut custom);
                    problems.push(problem.with_outcome(kept));
                }
            }
        }
        let layout = Layout::from_sources(Arc::new(strings), sources, custom, Some(folder.clone()));
        (layout, problems)
    }

    fn from_sources(
        strings: Arc<Strings>,
        sources: [Arc<str>; 7],
        custom: [Option<PathBuf>; 7],
        folder: Option<PathBuf>,
    ) -> Layout {
        let mut env = environment(Arc::clone(&strings));
        for kind in PageKind::ALL {
            let name = template_name(kind, &custom);
            // Checked when read (the defaults by a test): a failure here cannot be.
            if let Err(e) = env.add_template_owned(name, sources[kind.index()].to_string()) {
                tracing::error!("template {}: {e}", kind.file());
            }
            // The default is always there to fall back on.
            if custom[kind.index()].is_some() {
                let _ = env.add_template_owned(kind.default_name(), kind.default_source());
            }
        }
        Layout {
            strings,
            env,
            custom,
            sources,
            folder,
            failures: std::sync::Mutex::default(),
            set_aside: Default::default(),
            one_at_a_time: std::sync::Mutex::default(),
        }
    }

    /// The failures of a folder's templates seen while rendering (the first few, each once).
    pub fn failures(&self) -> Vec<TemplateProblem> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Whether a folder's template makes this page.
    pub fn is_custom(&self, kind: PageKind) -> bool {
        self.custom[kind.index()].is_some()
    }

    /// Whether any page comes from a folder's template: every page may then show any part of
    /// the site.
    pub fn any_custom(&self) -> bool {
        self.custom.iter().any(Option::is_some)
    }

    /// The files a change of which changes this layout: every template file the folder may
    /// hold, present or not, and the folder itself (made, removed or replaced: its files are
    /// watched again from the reload that follows).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        self.folder
            .iter()
            .flat_map(|folder| {
                PageKind::ALL
                    .map(|k| folder.join(k.file()))
                    .into_iter()
                    .chain([folder.clone()])
            })
            .collect()
    }

    /// Whether `other` renders as this does (the same strings and template texts).
    #[cfg(test)]
    pub fn same_as(&self, other: &Layout) -> bool {
        self.strings == other.strings && self.sources == other.sources
    }

    /// Renders a page. `places` are the author's texts the context names (their sentinels
    /// are replaced after the blank lines are tidied). A folder's template that fails is
    /// logged at its file and line, and the default makes the page.
    pub fn render(&self, kind: PageKind, context: Value, places: &[(&str, &str)]) -> String {
        use std::sync::atomic::Ordering;
        let aside = &self.set_aside[kind.index()];
        let custom = self.is_custom(kind) && !aside.load(Ordering::Relaxed);
        let name = if custom {
            template_name(kind, &self.custom)
        } else {
            kind.default_name()
        };
        let rendered = if custom {
            let _turn = self.one_at_a_time.lock();
            self.render_named(&name, &context)
        } else {
            self.render_named(&name, &context)
        };
        match rendered {
            Ok(out) => return finish(&out, places),
            Err(e) => {
                let file = self.custom[kind.index()]
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(kind.default_name()));
                let problem = located(&file, &e, &self.sources[kind.index()]);
                aside.store(true, Ordering::Relaxed);
                tracing::warn!(
                    "{problem}; its pages are made from the default template until it changes"
                );
                if let Ok(mut failures) = self.failures.lock()
                    && failures.len() < MAX_FAILURES_KEPT
                    && !failures.contains(&problem)
                {
                    failures.push(problem);
                }
            }
        }
        match self.render_named(&kind.default_name(), &context) {
            Ok(out) => finish(&out, places),
            Err(e) => {
                tracing::error!("default template {}: {e}", kind.file());
                String::new()
            }
        }
    }

    fn render_named(&self, name: &str, context: &Value) -> Result<String, minijinja::Error> {
        let template = self.env.get_template(name)?;
        let mut out = Capped(Vec::new());
        template.render_captured_to(context, &mut out)?;
        Ok(String::from_utf8_lossy(&out.0).into_owned())
    }
}

/// The engine's name for a page's template: the default's, or the folder file's.
fn template_name(kind: PageKind, custom: &[Option<PathBuf>; 7]) -> String {
    match &custom[kind.index()] {
        Some(file) => file.display().to_string(),
        None => kind.default_name(),
    }
}

/// A page whose new file failed keeps the template the layout it replaces had from that file.
/// Whether it did.
fn keep_previous(
    previous: Option<&Layout>,
    kind: PageKind,
    file: &Path,
    sources: &mut [Arc<str>; 7],
    custom: &mut [Option<PathBuf>; 7],
) -> bool {
    if let Some(previous) = previous
        && previous.custom[kind.index()].as_deref() == Some(file)
    {
        sources[kind.index()] = Arc::clone(&previous.sources[kind.index()]);
        custom[kind.index()] = Some(file.to_owned());
        return true;
    }
    false
}

/// A template file's text: `None` when there is none, a problem when it cannot be used.
fn read_template(file: &Path) -> Result<Option<String>, TemplateProblem> {
    let problem = |message: String| TemplateProblem {
        file: file.to_owned(),
        line: 1,
        column: 1,
        message,
    };
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(format!("cannot read: {e}"))),
    };
    if !meta.is_file() {
        return Err(problem("not a file".into()));
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(problem(format!(
            "{} bytes: a template may have at most {MAX_TEMPLATE_BYTES}",
            meta.len()
        )));
    }
    // The size a file reports is a hint (`/proc` files report 0, a file may grow between the
    // look and the read): at most one byte over the limit is read.
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, MAX_TEMPLATE_BYTES + 1),
                &mut bytes,
            )
        })
        .map_err(|e| problem(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(problem(format!(
            "over {MAX_TEMPLATE_BYTES} bytes: a template may have at most that many"
        )));
    }
    // A file whose size is not what it said (being written, or a /proc file such as a
    // process's environment), or that holds NUL bytes, is no template.
    if bytes.len() as u64 != meta.len() {
        return Err(problem(format!(
            "its size changed while it was read ({} bytes, then {}): not used until it is \
             written whole",
            meta.len(),
            bytes.len()
        )));
    }
    if bytes.contains(&0) {
        return Err(problem("holds NUL bytes: not a text".into()));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| problem(format!("not UTF-8 text: {e}")))
}

/// Compiles a template alone, to find its syntax errors before it replaces anything.
fn compile_check(file: &Path, text: &str) -> Result<(), TemplateProblem> {
    let mut env = Environment::new();
    configure(&mut env);
    env.add_template_owned("t", text.to_owned())
        .map_err(|e| located(file, &e, text))
}

/// An engine error as `file:line:column: message`.
fn located(file: &Path, error: &minijinja::Error, source: &str) -> TemplateProblem {
    let line = error.line().unwrap_or(1);
    let column = error
        .range()
        .and_then(|range| {
            let start = range.start.min(source.len());
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            source.get(line_start..start).map(|s| s.chars().count() + 1)
        })
        .unwrap_or(1);
    let mut message = match error.kind() {
        ErrorKind::OutOfFuel => {
            "the template did too much work (a loop that does not end, or output without \
             bound) and was stopped"
                .to_owned()
        }
        _ => error.detail().map_or_else(
            || error.kind().to_string(),
            |d| format!("{}: {d}", error.kind()),
        ),
    };
    if error.kind() == ErrorKind::WriteFailure {
        message = format!("the page grew past {MAX_OUTPUT_BYTES} bytes and was stopped");
    }
    // An include's or a macro's own failure is the cause worth telling.
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    TemplateProblem {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

/// The syntax and limits every template is compiled and rendered with.
fn configure(env: &mut Environment<'static>) {
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    // Templates reach nothing but what they are given.
    env.set_loader(|_| Ok(None::<String>));
}

/// An engine for a host: its strings as `t(id, …)`, dates by `|date`, values on one line.
fn environment(strings: Arc<Strings>) -> Environment<'static> {
    let mut env = Environment::new();
    configure(&mut env);
    let words = Arc::clone(&strings);
    env.add_function(
        "t",
        move |id: String, kwargs: Kwargs| -> Result<String, minijinja::Error> {
            if !words.has(&id) {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("t(\"{id}\"): no string has this id (they are listed in docs/configuration.md)"),
                ));
            }
            let mut args: Vec<(String, String)> = Vec::new();
            let mut n = None;
            for key in kwargs.args() {
                let value: Value = kwargs.get(key)?;
                if key == "n" {
                    n = u64::try_from(value.clone()).ok();
                }
                args.push((key.to_owned(), value.to_string()));
            }
            let args: Vec<(&str, &str)> =
                args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Ok(match n {
                Some(n) => words.count(&id, n, &args),
                None => words.format(&id, &args),
            })
        },
    );
    env.add_filter("date", move |iso: String| strings.date(&iso));
    env.set_formatter(|out, _state, value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        if let Some(placed) = value.downcast_object_ref::<Placed>() {
            out.write_str(&placed.0)?;
            return Ok(());
        }
        let text = value.to_string();
        if value.is_safe() {
            // A value a template marked safe keeps its lines, never the marker character.
            out.write_str(&text.replace(MARK, ""))?;
        } else {
            out.write_str(&one_line(&text))?;
        }
        Ok(())
    });
    env
}

/// A value as one line: line ends, tabs and other control characters become spaces, and
/// the character that marks an author's text is dropped (a title cannot place the page).
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(|c| c.is_control() || c == MARK) {
        text.chars()
            .filter(|c| *c != MARK)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Output that refuses to grow past [`MAX_OUTPUT_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT_BYTES {
            return Err(std::io::Error::other("page too large"));
        }
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A marker that stands for an author's text while blank lines are tidied: a private-use
/// character around its name. Only a [`placed`] value is written as one: every other value
/// loses that character, however a template writes it (`|safe` too).
pub fn sentinel(name: &str) -> String {
    format!("{MARK}gemhole:{name}{MARK}")
}

/// The value that places an author's text (`body`, `rest`, a series' description): written
/// as its sentinel, replaced by the text once the page is tidied.
pub fn placed(name: &str) -> Value {
    Value::from_object(Placed(sentinel(name)))
}

/// See [`placed`].
#[derive(Debug)]
struct Placed(String);

impl minijinja::value::Object for Placed {
    /// Placed only when there is text: `{% if body %}` holds.
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a sentinel is made with.
const MARK: char = '\u{F8FF}';

/// A rendering made a page: blank lines only between content (none first or last, never two),
/// outside preformatted blocks; then each author's text in place of its sentinel, with a line
/// end; ends with one line end (or is empty).
fn finish(rendered: &str, places: &[(&str, &str)]) -> String {
    let markers: Vec<(String, &str)> = places
        .iter()
        .map(|(name, text)| (sentinel(name), *text))
        .collect();
    let mut out =
        String::with_capacity(rendered.len() + places.iter().map(|p| p.1.len()).sum::<usize>());
    let mut pending_blank = false;
    let mut preformatted = false;
    for line in rendered.lines() {
        if !preformatted && line.trim().is_empty() {
            pending_blank = !out.is_empty();
            continue;
        }
        if pending_blank {
            out.push('\n');
            pending_blank = false;
        }
        if line.starts_with("```") {
            preformatted = !preformatted;
        }
        if !line.contains(MARK) {
            out.push_str(line);
            out.push('\n');
        } else if let Some((_, text)) = markers.iter().find(|(marker, _)| line == marker) {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        } else {
            let mut line = line.to_owned();
            for (marker, text) in &markers {
                if line.contains(marker.as_str()) {
                    line = line.replace(marker.as_str(), text);
                }
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests;
