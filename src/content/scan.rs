//! One pass over the capsule folder. Every text page (Markdown converted, gemtext read) is held
//! in memory, so a request never reads a file that an editor or a sync tool is half-way through
//! writing: readers get the version the last pass read, whole. The pass also lists the paths
//! the capsule serves, so the link check needs no file-system call per link.
//!
//! A file unchanged since the last pass (same size, inode, mtime and ctime) is not read again.
//! A file that breaks (front matter that no longer parses, a read error, a file emptied by an
//! editor that truncates before writing) keeps its last good version until it is fixed.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use super::files::{CapsuleRoot, INDEX_FILE, is_hidden, is_markdown, names};
use super::front_matter::KeyLines;
use super::markdown::{self, Page, read_opened, title_stem};
use super::post::{FileFacts, RawMeta};
use super::site::{BuildOptions, POSTS_DIR, Post, Problem};
use crate::convert::mime::mime_for;

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

/// What one pass found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Text files (`.gmi`, `.md`) by path relative to the root.
    pub texts: HashMap<PathBuf, Text>,
    /// Post files that can be published (drafts included), in path order.
    pub posts: Vec<Arc<Post>>,
    /// Every path the folder serves, decoded, from the root (`/about.gmi`, `/notes/`): files
    /// (Markdown under its `.gmi` name), folders with and without their slash.
    pub served: HashSet<String>,
    /// The folders among them (without the slash), and which of those are symlinks (not
    /// walked: what lies below them is only known to the folder itself).
    pub folders: HashSet<String>,
    pub linked_folders: HashSet<String>,
}

/// Files read by earlier passes, by absolute path.
#[derive(Debug, Default)]
pub struct ReadCache {
    entries: HashMap<PathBuf, Entry>,
    /// The only files that may have changed since the last pass, when a watcher knows them:
    /// every other file is taken from the cache without a `stat`. `None`: check every file.
    changed: Option<HashSet<PathBuf>>,
}

#[derive(Debug, Clone)]
struct Entry {
    stamp: Stamp,
    text: Text,
    post: Option<Arc<Post>>,
    problems: Vec<Problem>,
    /// Whether this version failed to read; a broken version is never kept as the last good one.
    broken: bool,
}

impl ReadCache {
    /// Tells the next pass that only these files (absolute paths, as the watcher reported
    /// them) can have changed; a file anywhere below a folder named here is checked too.
    pub fn only_changed(&mut self, paths: HashSet<PathBuf>) {
        self.changed = Some(paths);
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What identifies a version of a file: any write changes at least one of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    inode: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            inode: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Walks the capsule, reading what changed since the pass that filled `cache`. Blocking.
pub fn scan(
    root: &CapsuleRoot,
    options: &BuildOptions,
    cache: &mut ReadCache,
    problems: &mut Vec<Problem>,
) -> Scan {
    let mut pass = Pass {
        capsule: root,
        root: root.path(),
        options,
        old: std::mem::take(&mut cache.entries),
        changed: cache.changed.take(),
        new: HashMap::new(),
        scan: Scan::default(),
        problems,
    };
    pass.dir(root.path(), Path::new(""));
    cache.entries = pass.new;
    pass.scan
}

struct Pass<'a> {
    capsule: &'a CapsuleRoot,
    root: &'a Path,
    options: &'a BuildOptions,
    old: HashMap<PathBuf, Entry>,
    changed: Option<HashSet<PathBuf>>,
    new: HashMap<PathBuf, Entry>,
    scan: Scan,
    problems: &'a mut Vec<Problem>,
}

impl Pass<'_> {
    /// Reads the folder `dir` (`relative` below the root), in name order so posts keep a
    /// stable order. Symlinked folders are listed but not entered: their targets inside the
    /// root are walked under their own names.
    fn dir(&mut self, dir: &Path, relative: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| (e.file_name(), e)).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, entry) in entries {
            let Some(name_str) = name.to_str() else {
                continue; // not a name a URL can reach
            };
            let relative = relative.join(&name);
            if is_hidden(names(&relative)) {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // Never listed, read or served: what the server keeps secret (refused at start if
            // it lies inside the capsule; this is the second line).
            if self.capsule.is_secret(&path) {
                continue;
            }
            let (is_dir, meta) = if kind.is_symlink() {
                // Served only if it leads to a visible place inside the root.
                let Ok(target) = path.canonicalize() else {
                    continue;
                };
                match target.strip_prefix(self.root) {
                    Ok(inside) if self.capsule.crosses_into_area(&relative, inside) => {
                        // Its page would be served and listed under the link's public name.
                        self.problems.push(Problem {
                            path: relative.clone(),
                            line: 1,
                            message: format!(
                                "a symlink to {}, inside a client-certificate area: not followed \
                                 (link from inside the area, or move the file out of it)",
                                inside.display()
                            ),
                            error: false,
                        });
                        continue;
                    }
                    Ok(inside) if !is_hidden(names(inside)) && !self.capsule.is_secret(&target) => {
                    }
                    _ => continue,
                }
                let Ok(meta) = std::fs::metadata(&target) else {
                    continue;
                };
                (meta.is_dir(), Some(meta))
            } else {
                (kind.is_dir(), None)
            };
            let url = url_of(&relative);
            if is_dir {
                self.scan.served.insert(url.clone());
                self.scan.folders.insert(url.clone());
                if kind.is_symlink() {
                    self.scan.linked_folders.insert(url.clone());
                }
                let target = path.canonicalize().unwrap_or_else(|_| path.clone());
                if target.join(INDEX_FILE).is_file() || target.join("index.md").is_file() {
                    self.scan.served.insert(format!("{url}/"));
                }
                if !kind.is_symlink() {
                    self.dir(&path, &relative);
                }
                continue;
            }
            let meta = match meta {
                Some(meta) if meta.is_file() => Some(meta),
                // A regular file: its metadata is read only if it is a text file that may
                // have changed.
                None if kind.is_file() => None,
                _ => continue, // sockets, fifos, devices
            };
            let markdown = is_markdown(&relative);
            let gemtext = mime_for(&relative) == "text/gemini";
            if markdown {
                self.scan
                    .served
                    .insert(url_of(&relative.with_extension("gmi")));
            } else {
                self.scan.served.insert(url);
            }
            if (markdown || gemtext)
                && let Some(stem) = name_str.rsplit_once('.').map(|(stem, _)| stem)
            {
                if stem == "index" {
                    self.scan.served.insert(format!(
                        "{}/",
                        url_of(relative.parent().unwrap_or(Path::new("")))
                    ));
                }
                self.text(path, relative, meta);
            }
        }
    }

    /// Reads one text file, or takes it from the last pass. `meta` is given for a symlink
    /// (already followed), else read here when needed.
    fn text(&mut self, path: PathBuf, relative: PathBuf, meta: Option<std::fs::Metadata>) {
        let old = self.old.remove(&path);
        // Unchanged only if neither it nor any folder above it was named: a folder moved or
        // replaced whole (`mv staging/notes capsule/notes`) is reported by its own name alone.
        let unchanged = meta.is_none()
            && self
                .changed
                .as_ref()
                .is_some_and(|changed| !path.ancestors().any(|a| changed.contains(a)));
        let (old, meta) = match (old, meta) {
            (Some(old), _) if unchanged => {
                self.add(path, relative, old);
                return;
            }
            (old, Some(meta)) => (old, meta),
            (old, None) => match std::fs::metadata(&path) {
                Ok(meta) => (old, meta),
                Err(_) => return,
            },
        };
        let meta = &meta;
        let stamp = Stamp::of(meta);
        let entry = match old {
            Some(old) if old.stamp == stamp => old,
            old => {
                let last_good = old.filter(|o| !o.broken);
                match last_good {
                    // Editors that truncate and then write leave an empty file for a moment.
                    Some(good) if meta.len() == 0 => keep(good, stamp, &relative, None),
                    last_good => {
                        let fresh = read(self.capsule, &path, &relative, meta, self.options);
                        match last_good {
                            Some(good) if fresh.broken => {
                                keep(good, stamp, &relative, Some(fresh.problems))
                            }
                            _ => Entry { stamp, ..fresh },
                        }
                    }
                }
            }
        };
        self.add(path, relative, entry);
    }

    /// Puts a file's entry into this pass's results.
    fn add(&mut self, path: PathBuf, relative: PathBuf, entry: Entry) {
        self.problems.extend(entry.problems.iter().cloned());
        if let Some(post) = &entry.post {
            self.scan.posts.push(Arc::clone(post));
        }
        self.scan.texts.insert(relative, entry.text.clone());
        self.new.insert(path, entry);
    }
}

/// The last good version of a file, standing in for a new version that failed (`failure`
/// holds why; `None` for a file left empty).
fn keep(good: Entry, stamp: Stamp, relative: &Path, failure: Option<Vec<Problem>>) -> Entry {
    let mut problems = failure.unwrap_or_else(|| {
        vec![Problem {
            path: relative.to_owned(),
            line: 1,
            message: "the file is empty".into(),
            error: true,
        }]
    });
    // Said at the line of what broke it.
    let line = problems.iter().find(|p| p.error).map_or(1, |p| p.line);
    problems.push(Problem {
        path: relative.to_owned(),
        line,
        message: "its last good version stays published until this is fixed".into(),
        error: false,
    });
    Entry {
        stamp,
        problems,
        broken: false,
        ..good
    }
}

/// Reads and converts one text file; a post file under `posts/` also gives its post.
fn read(
    capsule: &CapsuleRoot,
    path: &Path,
    relative: &Path,
    meta: &std::fs::Metadata,
    options: &BuildOptions,
) -> Entry {
    let markdown = is_markdown(path);
    // Opened safely: whatever was listed may have been swapped since (for a FIFO, which would
    // hang the rebuild, or a symlink out of the capsule).
    let opened = capsule
        .open_file(path)
        .map_err(|source| markdown::SourceError::Read {
            path: path.to_owned(),
            source,
        });
    let source = match opened.and_then(|file| read_opened(file, path, options.max_file_size)) {
        Ok(source) => source,
        Err(e) => {
            let text = match e {
                markdown::SourceError::TooLarge { .. } if !markdown => Text::Large,
                _ => Text::Unreadable(e.to_string().into()),
            };
            // A large gemtext page is still served; it just cannot be a post. The whole file is
            // at fault: reported at its first line.
            let mut problems = Vec::new();
            if markdown || relative.starts_with(POSTS_DIR) {
                let message = match &e {
                    markdown::SourceError::TooLarge { limit, .. } => format!(
                        "larger than the {limit}-byte limit for Markdown files \
                         (markdown.max_file_size)"
                    ),
                    markdown::SourceError::Read { source, .. } => format!("cannot read: {source}"),
                };
                problems.push(Problem {
                    path: relative.to_owned(),
                    line: 1,
                    message,
                    error: true,
                });
            }
            return Entry {
                stamp: Stamp::of(meta),
                ..failed(text, problems)
            };
        }
    };
    let modified = meta
        .modified()
        .map(OffsetDateTime::from)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Entry {
        stamp: Stamp::of(meta),
        ..examine(source, relative, modified, options)
    }
}

/// A file that cannot be published as it is (its stamp is set by the caller).
fn failed(text: Text, problems: Vec<Problem>) -> Entry {
    Entry {
        stamp: Stamp::default(),
        text,
        post: None,
        problems,
        broken: true,
    }
}

/// The problems a text would have as the file at `relative` (relative to the root): what an
/// upload is checked with before it is written.
pub fn problems_of(text: String, relative: &Path, options: &BuildOptions) -> Vec<Problem> {
    examine(text, relative, OffsetDateTime::now_utc(), options).problems
}

/// Converts the text of a page (and reads its post, if it is one) into an entry, but for its
/// stamp.
fn examine(
    source: String,
    relative: &Path,
    modified: OffsetDateTime,
    options: &BuildOptions,
) -> Entry {
    let mut problems = Vec::new();
    let mut problem = |line, message: String, error| {
        problems.push(Problem {
            path: relative.to_owned(),
            line,
            message,
            error,
        })
    };
    let markdown = is_markdown(relative);
    let is_post = relative.starts_with(POSTS_DIR);
    let stem = title_stem(relative);
    let (mut page, front, front_lines, heading, links) = if markdown {
        let read = markdown::read(&source, stem, &options.markdown);
        for (e, fatal) in &read.problems {
            problem(e.line, e.message.clone(), *fatal);
        }
        if read.error.is_some() {
            return failed(Text::Page(Arc::new(read.page)), problems);
        }
        (
            read.page,
            read.front,
            read.front_lines,
            read.heading,
            read.links,
        )
    } else {
        let links = if is_post {
            markdown::gemtext_links(&source)
        } else {
            Vec::new()
        };
        let (page, heading) = markdown::gemtext_page(source, stem);
        (
            page,
            RawMeta::default(),
            KeyLines::default(),
            heading,
            links,
        )
    };
    let mut broken = false;
    let post = if is_post {
        let facts = FileFacts {
            stem,
            modified,
            zone: &options.zone,
        };
        let (post, post_problems) = Post::read(
            relative,
            front,
            &front_lines,
            &facts,
            heading.as_deref(),
            links,
        );
        for p in post_problems {
            broken |= p.fatal;
            // A key missing from the block (a fallback went wrong) is reported at its top.
            problem(front_lines.line(&p.key).unwrap_or(1), p.message, p.fatal);
        }
        // A post that cannot be published as written is not served by its name either (a
        // date that cannot be read might be months ahead).
        if broken && page.withheld.is_none() {
            page.withheld = Some(markdown::INVALID);
        }
        post.map(Arc::new)
    } else {
        None
    };
    Entry {
        stamp: Stamp::default(),
        text: Text::Page(Arc::new(page)),
        post,
        problems,
        broken,
    }
}

/// `posts/x.gmi` → `/posts/x.gmi`; the root → `` (so a folder URL is this plus `/`).
fn url_of(relative: &Path) -> String {
    let mut url = String::new();
    for name in names(relative) {
        url.push('/');
        url.push_str(name);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert;

    fn title(scan: &Scan, file: &str) -> String {
        match scan.texts.get(Path::new(file)) {
            Some(Text::Page(page)) => page.title.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_watcher_that_names_the_changed_files_spares_a_stat_of_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = CapsuleRoot::open(dir.path()).unwrap();
        let file = |name: &str| root.path().join(name);
        std::fs::write(file("a.md"), "# A\n").unwrap();
        std::fs::write(file("b.md"), "# B\n").unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024,
            show_future: false,
            ..BuildOptions::default()
        };
        let mut cache = ReadCache::default();
        let pass = |cache: &mut ReadCache| scan(&root, &options, cache, &mut Vec::new());
        pass(&mut cache);

        std::fs::write(file("a.md"), "# A2\n").unwrap();
        std::fs::write(file("b.md"), "# B2\n").unwrap();
        std::fs::write(file("c.md"), "# C\n").unwrap();
        std::fs::write(file("D.GMI"), "# D\n").unwrap();
        cache.only_changed(HashSet::from([file("a.md")]));
        let scanned = pass(&mut cache);
        // Named: read again. Not named: taken as it was. New: read.
        assert_eq!(title(&scanned, "a.md"), "A2");
        assert_eq!(title(&scanned, "b.md"), "B");
        assert_eq!(title(&scanned, "c.md"), "C");
        assert_eq!(title(&scanned, "D.GMI"), "D");
        // The next pass without names checks every file.
        let scanned = pass(&mut cache);
        assert_eq!(title(&scanned, "b.md"), "B2");
        assert!(scanned.served.contains("/c.gmi"));
    }
}
