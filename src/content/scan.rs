//! One pass over the capsule folder. Every text page (Markdown converted, gemtext read) is held
//! in memory, so a request never reads a file that an editor or a sync tool is half-way through
//! writing: readers get the version the last pass read, whole. The pass also lists the paths
//! the capsule serves, so the link check needs no file-system call per link.
//!
//! A file unchanged since the last pass (same size, inode, mtime and ctime) is not read again.
//! A file that breaks (front matter that no longer parses, a read error, a file emptied by an
//! editor that truncates before writing) keeps its last good version until it is fixed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::files::{
    CapsuleRoot, INDEX_FILE, SECTION_FILE, is_hidden, is_markdown, is_section_page,
    markdown_sources, names,
};
use super::front_matter::KeyLines;
use super::markdown::{self, Text, read_opened, title_stem};
use super::options::{BuildOptions, is_jekyll_draft, is_post_path};
use super::post::Post;
use super::post::{FileFacts, FolderSeries, RawMeta, unread_key};
use super::problem::Problem;
use crate::convert::mime::mime_for;
use crate::convert::redirect::redirect_target;
use crate::convert::shortcodes;

/// What one pass found. The collections are shared with the snapshot made from them and with
/// the next pass, which copies one only to change it.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    /// Text files (`.gmi`, `.md`) by path relative to the root.
    pub texts: Arc<HashMap<PathBuf, Text>>,
    /// Post files that can be published (drafts included), in path order.
    pub posts: Vec<Arc<Post>>,
    /// Every path the folder serves, decoded, from the root (`/about.gmi`, `/notes/`): files
    /// (Markdown under its `.gmi` name), folders with and without their slash.
    pub served: Arc<HashSet<String>>,
    /// The folders among them (without the slash), and which of those are symlinks (not
    /// walked: what lies below them is only known to the folder itself).
    pub folders: Arc<HashSet<String>>,
    pub linked_folders: Arc<HashSet<String>>,
    /// `None` when every file was looked at; else the text files (relative) a pass that looked
    /// only at the files a watcher named found changed, added or gone.
    pub changed: Option<Vec<PathBuf>>,
    /// Whether that pass added or removed a file (so the paths served changed).
    pub files_came_or_went: bool,
    /// How many files it read (the others were taken as the last pass read them).
    pub read: usize,
    /// The first [`FILES_NAMED`] of them (relative), for a reload's log line.
    pub read_files: Vec<PathBuf>,
    /// Text files reached through a symlink: their target may change without an event under
    /// their own name, so a pass that looks only at named files cannot be trusted with them.
    linked_texts: usize,
    /// The problems of each file that has some, in path order (the order a whole pass finds
    /// them in).
    problems: BTreeMap<PathBuf, Vec<Problem>>,
}

/// Files read by earlier passes, by absolute path, and what the last pass found.
#[derive(Debug, Default, Clone)]
pub struct ReadCache {
    entries: HashMap<PathBuf, Entry>,
    /// The only files that may have changed since the last pass, when a watcher knows them:
    /// every other file is taken from the cache without a `stat`. `None`: check every file.
    changed: Option<HashSet<PathBuf>>,
    /// The last pass's result, which a pass over named files changes in place of a walk.
    last: Option<Scan>,
    /// What the snapshot built from the last pass keeps for the next build (see
    /// [`super::site`]).
    pub(super) site: Option<super::site::Memo>,
    /// Which post held each URL when the lists were last made: kept when they are forgotten,
    /// so a reload never hands a URL to another post.
    pub(super) holders: Arc<super::site::Holders>,
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

    /// Keeps the files read but not the lists made from them: the next build makes them again
    /// (the settings that place posts in lists, or the areas, changed).
    pub fn forget_lists(&mut self) {
        self.site = None;
        self.last = None;
    }

    /// A cache that reads every file again, but settles URLs as this one last did.
    pub fn only_holders(&self) -> ReadCache {
        ReadCache {
            holders: Arc::clone(&self.holders),
            ..ReadCache::default()
        }
    }

    /// How many files the last pass read from disk (the others it took as they were).
    pub fn last_read(&self) -> usize {
        self.last.as_ref().map_or(0, |l| l.read)
    }

    /// Some of the files the last pass read (relative), for a reload's log line.
    pub fn last_read_files(&self) -> &[PathBuf] {
        self.last.as_ref().map_or(&[], |l| l.read_files.as_slice())
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A host's read cache, shared by its watch (which keeps it up to date) and by a
/// configuration reload (which starts from a copy of it, so unchanged files are not read
/// again).
pub type SharedCache = Arc<std::sync::Mutex<ReadCache>>;

/// The cache behind the lock; emptied if a build panicked while holding it (it may be half
/// changed: the next build reads every file).
pub fn lock(cache: &SharedCache) -> std::sync::MutexGuard<'_, ReadCache> {
    cache.lock().unwrap_or_else(|poisoned| {
        cache.clear_poison();
        let mut guard = poisoned.into_inner();
        *guard = ReadCache::default();
        guard
    })
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

/// Walks the capsule, reading what changed since the pass that filled `cache`; when a watcher
/// named the changed files (and none is a folder or a symlink), looks at those alone and
/// changes the last pass's result, so its cost follows the change, not the capsule. Blocking.
pub fn scan(
    root: &CapsuleRoot,
    options: &BuildOptions,
    cache: &mut ReadCache,
    problems: &mut Vec<Problem>,
) -> Scan {
    let last = cache.last.take();
    // A folder reached by a symlink too is watched once, and the kernel names a change in it
    // by one of its names only, maybe the link's: then the names are no guide to what changed.
    let changed = cache.changed.take().filter(|named| {
        !last.as_ref().is_some_and(|last| {
            named
                .iter()
                .any(|path| through_link(last, root.path(), path))
        })
    });
    if let (Some(named), Some(last)) = (&changed, last.clone().filter(|l| l.linked_texts == 0))
        && let Some(patched) = patch(root, options, &mut cache.entries, last, named)
    {
        problems.extend(fold_site_wide(patched.problems.values().flatten()));
        cache.last = Some(patched.clone());
        return patched;
    }
    let mut pass = Pass {
        capsule: root,
        root: root.path(),
        options,
        old: std::mem::take(&mut cache.entries),
        changed,
        new: HashMap::new(),
        found: Found::default(),
        pending: Vec::new(),
    };
    pass.dir(root.path(), Path::new(""));
    pass.read_pending();
    cache.entries = pass.new;
    let found = pass.found;
    problems.extend(fold_site_wide(found.problems.values().flatten()));
    // The folder as the last pass left it (a poll, or the first look of a watch): that pass's
    // result stands, with nothing changed, and no copy of it is kept.
    if let Some(last) = last.filter(|last| {
        found.read == 0
            && found.posts == last.posts
            && found.problems == last.problems
            && *last.texts == found.texts
            && *last.served == found.served
            && *last.folders == found.folders
            && *last.linked_folders == found.linked_folders
    }) {
        let unchanged = Scan {
            changed: Some(Vec::new()),
            files_came_or_went: false,
            read: 0,
            read_files: Vec::new(),
            ..last
        };
        cache.last = Some(unchanged.clone());
        return unchanged;
    }
    let scan = Scan {
        texts: Arc::new(found.texts),
        posts: found.posts,
        served: Arc::new(found.served),
        folders: Arc::new(found.folders),
        linked_folders: Arc::new(found.linked_folders),
        changed: None,
        files_came_or_went: true,
        linked_texts: found.linked_texts,
        problems: found.problems,
        read: found.read,
        read_files: found.read_files,
    };
    cache.last = Some(scan.clone());
    scan
}

/// Files a pass names of those it read: enough for a log line.
pub const FILES_NAMED: usize = 16;

/// What a whole pass collects, before it is shared.
#[derive(Default)]
struct Found {
    texts: HashMap<PathBuf, Text>,
    posts: Vec<Arc<Post>>,
    served: HashSet<String>,
    folders: HashSet<String>,
    linked_folders: HashSet<String>,
    linked_texts: usize,
    problems: BTreeMap<PathBuf, Vec<Problem>>,
    read: usize,
    read_files: Vec<PathBuf>,
}

/// The last pass's result with the `named` files (absolute paths) looked at again; `None` when
/// only a whole pass can tell (a folder or a symlink named, a file whose folder is unknown).
fn patch(
    capsule: &CapsuleRoot,
    options: &BuildOptions,
    entries: &mut HashMap<PathBuf, Entry>,
    mut scan: Scan,
    named: &HashSet<PathBuf>,
) -> Option<Scan> {
    let plan = plan_patch(capsule, &scan, named)?;
    scan.files_came_or_went = false;
    scan.read = 0;
    let mut patching = Patching {
        capsule,
        options,
        entries,
        scan,
        changed: Vec::new(),
    };
    for planned in plan {
        patching.apply(planned);
    }
    let mut scan = patching.scan;
    scan.changed = Some(patching.changed);
    Some(scan)
}

/// A named file a patch looks at again: its absolute and relative paths, and what it is now
/// (`None`: gone, or no regular file).
struct Planned {
    path: PathBuf,
    relative: PathBuf,
    meta: Option<std::fs::Metadata>,
}

/// First make sure every named path can be handled alone, so nothing is half done: the files
/// to look at again, in path order, or `None` when one needs a whole pass.
fn plan_patch(
    capsule: &CapsuleRoot,
    scan: &Scan,
    named: &HashSet<PathBuf>,
) -> Option<Vec<Planned>> {
    let root = capsule.path();
    let mut named: Vec<&PathBuf> = named.iter().collect();
    named.sort();
    let mut plan = Vec::new();
    for path in named {
        let relative = path.strip_prefix(root).ok()?;
        let Some(name) = relative.file_name() else {
            return None; // the root itself
        };
        let url = url_of(relative);
        let parent = url_of(relative.parent().unwrap_or(Path::new("")));
        let folder_known = parent.is_empty()
            || (scan.folders.contains(&parent) && !scan.linked_folders.contains(&parent));
        if scan.folders.contains(&url) || !folder_known {
            return None;
        }
        if is_hidden(names(relative)) || capsule.is_secret(path) || name.to_str().is_none() {
            continue; // never listed by a whole pass either
        }
        // A symlinked folder's index is served under the link's name too, which only a walk
        // looks at again.
        if !scan.linked_folders.is_empty() && served_by(relative).len() > 1 {
            return None;
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() || meta.file_type().is_symlink() => return None,
            Ok(meta) => Some(meta).filter(std::fs::Metadata::is_file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return None,
        };
        plan.push(Planned {
            path: path.clone(),
            relative: relative.to_owned(),
            meta,
        });
    }
    Some(plan)
}

/// A patch under way: the last pass's result changed one planned file at a time, and the text
/// files it found changed, added or gone.
struct Patching<'a> {
    capsule: &'a CapsuleRoot,
    options: &'a BuildOptions,
    entries: &'a mut HashMap<PathBuf, Entry>,
    scan: Scan,
    changed: Vec<PathBuf>,
}

impl Patching<'_> {
    /// Takes one planned file into the result: gone, come, or changed.
    fn apply(&mut self, planned: Planned) {
        let Planned {
            path,
            relative,
            meta,
        } = planned;
        let contributed = served_by(&relative);
        let is_text = is_text_file(&relative);
        let existed = if is_text {
            self.scan.texts.contains_key(&relative)
        } else {
            self.scan.served.contains(&url_of(&relative))
        };
        let Some(meta) = meta else {
            if existed {
                self.scan.files_came_or_went = true;
                self.forget(&path, &relative, is_text, contributed);
            }
            return;
        };
        if !existed {
            self.scan.files_came_or_went = true;
            for url in contributed {
                if !self.scan.served.contains(&url) {
                    Arc::make_mut(&mut self.scan.served).insert(url);
                }
            }
        }
        if is_text {
            self.reread(path, relative, &meta);
        }
    }

    /// Drops a file that is gone: its text, post and problems, and the paths it alone served.
    fn forget(&mut self, path: &Path, relative: &Path, is_text: bool, contributed: Vec<String>) {
        let scan = &mut self.scan;
        if is_text {
            Arc::make_mut(&mut scan.texts).remove(relative);
            scan.problems.remove(relative);
            self.entries.remove(path);
            if let Ok(i) = post_at(&scan.posts, relative) {
                scan.posts.remove(i);
            }
            self.changed.push(relative.to_owned());
        }
        // A name another file still serves (a Markdown file's twin, the other index)
        // stays.
        for url in contributed {
            if !still_served(&scan.texts, relative, &url) {
                Arc::make_mut(&mut scan.served).remove(&url);
            }
        }
    }

    /// Looks at a text file again (reading it if its stamp changed) and takes in its new
    /// version, if it is one.
    fn reread(&mut self, path: PathBuf, relative: PathBuf, meta: &std::fs::Metadata) {
        let scan = &mut self.scan;
        let old = self.entries.remove(&path);
        let before = old.as_ref().map(|o| (o.text.clone(), o.post.clone()));
        let entry = refresh(
            self.capsule,
            self.options,
            &path,
            &relative,
            old,
            meta,
            &mut scan.read,
        );
        let same = before.is_some_and(|(text, post)| {
            text == entry.text
                && match (&post, &entry.post) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                }
        });
        if entry.problems.is_empty() {
            scan.problems.remove(&relative);
        } else {
            scan.problems
                .insert(relative.clone(), entry.problems.clone());
        }
        if !same {
            Arc::make_mut(&mut scan.texts).insert(relative.clone(), entry.text.clone());
            match (post_at(&scan.posts, &relative), &entry.post) {
                (Ok(i), Some(post)) => scan.posts[i] = Arc::clone(post),
                (Ok(i), None) => {
                    scan.posts.remove(i);
                }
                (Err(i), Some(post)) => scan.posts.insert(i, Arc::clone(post)),
                (Err(_), None) => {}
            }
            self.changed.push(relative);
        }
        self.entries.insert(path, entry);
    }
}

/// Whether `path` (absolute) is, or lies below, a symlinked folder of the capsule.
fn through_link(scan: &Scan, root: &Path, path: &Path) -> bool {
    if scan.linked_folders.is_empty() {
        return false;
    }
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    relative
        .ancestors()
        .any(|a| scan.linked_folders.contains(&url_of(a)))
}

/// Where the post of the file `relative` is (or would go) among posts in path order.
fn post_at(posts: &[Arc<Post>], relative: &Path) -> Result<usize, usize> {
    posts.binary_search_by(|p| p.source.as_path().cmp(relative))
}

/// Whether a file of this name is a text page (read, and converted if Markdown).
fn is_text_file(relative: &Path) -> bool {
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (is_markdown(relative) || mime_for(relative) == "text/gemini") && name.contains('.')
}

/// The paths a file serves: its own (a Markdown file's under its `.gmi` name) and, for an
/// index page, its folder's with the slash.
fn served_by(relative: &Path) -> Vec<String> {
    let mut urls = vec![if is_markdown(relative) {
        url_of(&relative.with_extension("gmi"))
    } else {
        url_of(relative)
    }];
    let stem = relative
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('.'))
        .map(|(stem, _)| stem);
    if is_text_file(relative) && (stem == Some("index") || is_section_page(relative)) {
        urls.push(format!(
            "{}/",
            url_of(relative.parent().unwrap_or(Path::new("")))
        ));
    }
    urls
}

/// Whether a text file still present in the folder of `gone` serves `url` as `gone` did (its
/// Markdown or gemtext twin, whatever the case of its extension; another `index.*`). Only
/// text files serve a name another file may share.
fn still_served(texts: &HashMap<PathBuf, Text>, gone: &Path, url: &str) -> bool {
    texts
        .keys()
        .filter(|other| other.parent() == gone.parent())
        .any(|other| served_by(other).iter().any(|u| u == url))
}

struct Pass<'a> {
    capsule: &'a CapsuleRoot,
    root: &'a Path,
    options: &'a BuildOptions,
    old: HashMap<PathBuf, Entry>,
    changed: Option<HashSet<PathBuf>>,
    new: HashMap<PathBuf, Entry>,
    found: Found,
    /// Text files in walk order, read (where they changed) once the walk is done, on every
    /// core.
    pending: Vec<Pending>,
}

/// A text file the walk found: its entry, once looked at.
struct Pending {
    path: PathBuf,
    relative: PathBuf,
    /// Its last entry, if any.
    old: Option<Entry>,
    /// Given for a symlink (already followed).
    meta: Option<std::fs::Metadata>,
    /// Taken as it was, without a look.
    unchanged: bool,
    /// `None` when it could not be looked at (gone since it was listed).
    entry: Option<Entry>,
    read: bool,
}

/// Below this many files to look at, one thread does it all.
const PARALLEL_FROM: usize = 64;

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
            if name.to_str().is_none() {
                continue; // not a name a URL can reach
            }
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
                        self.found.problems.entry(relative.clone()).or_default().push(Problem {
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
            if is_dir {
                let url = url_of(&relative);
                self.found.served.insert(url.clone());
                self.found.folders.insert(url.clone());
                if kind.is_symlink() {
                    self.found.linked_folders.insert(url.clone());
                }
                let target = path.canonicalize().unwrap_or_else(|_| path.clone());
                let index = target.join(INDEX_FILE);
                if index.is_file()
                    || markdown_sources(&index).any(|m| m.is_file())
                    || target.join(SECTION_FILE).is_file()
                {
                    self.found.served.insert(format!("{url}/"));
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
            self.found.served.extend(served_by(&relative));
            if is_text_file(&relative) {
                self.text(path, relative, meta);
            }
        }
    }

    /// Reads one text file, or takes it from the last pass. `meta` is given for a symlink
    /// (already followed), else read here when needed.
    fn text(&mut self, path: PathBuf, relative: PathBuf, meta: Option<std::fs::Metadata>) {
        if meta.is_some() {
            self.found.linked_texts += 1;
        }
        let old = self.old.remove(&path);
        // Unchanged only if neither it nor any folder above it was named: a folder moved or
        // replaced whole (`mv staging/notes capsule/notes`) is reported by its own name alone.
        let unchanged = old.is_some()
            && meta.is_none()
            && self
                .changed
                .as_ref()
                .is_some_and(|changed| !path.ancestors().any(|a| changed.contains(a)));
        self.pending.push(Pending {
            path,
            relative,
            old,
            meta,
            unchanged,
            entry: None,
            read: false,
        });
    }

    /// Looks at the text files the walk found (on every core when there are many), and puts
    /// their entries in, in walk order.
    fn read_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        let (capsule, options) = (self.capsule, self.options);
        let look = |job: &mut Pending| {
            if job.unchanged {
                job.entry = job.old.take();
                return;
            }
            let meta = match job.meta.take() {
                Some(meta) => meta,
                None => match std::fs::metadata(&job.path) {
                    Ok(meta) => meta,
                    Err(_) => return,
                },
            };
            let mut reads = 0;
            job.entry = Some(refresh(
                capsule,
                options,
                &job.path,
                &job.relative,
                job.old.take(),
                &meta,
                &mut reads,
            ));
            job.read = reads > 0;
        };
        // Files taken as they were cost nothing: only those looked at call for threads.
        let to_look = pending.iter().filter(|p| !p.unchanged).count();
        let per_thread = PARALLEL_FROM * pending.len() / to_look.max(1);
        super::parallel::each(&mut pending, per_thread, look);
        for job in pending {
            self.found.read += usize::from(job.read);
            if job.read && self.found.read_files.len() < FILES_NAMED {
                self.found.read_files.push(job.relative.clone());
            }
            if let Some(entry) = job.entry {
                self.add(job.path, job.relative, entry);
            }
        }
    }

    /// Puts a file's entry into this pass's results.
    fn add(&mut self, path: PathBuf, relative: PathBuf, entry: Entry) {
        if !entry.problems.is_empty() {
            self.found
                .problems
                .insert(relative.clone(), entry.problems.clone());
        }
        if let Some(post) = &entry.post {
            self.found.posts.push(Arc::clone(post));
        }
        self.found.texts.insert(relative, entry.text.clone());
        self.new.insert(path, entry);
    }
}

/// A text file's entry now that its metadata is `meta`: the last one if its stamp is the same,
/// else the file read again (or its last good version, if the new one is broken or empty).
fn refresh(
    capsule: &CapsuleRoot,
    options: &BuildOptions,
    path: &Path,
    relative: &Path,
    old: Option<Entry>,
    meta: &std::fs::Metadata,
    reads: &mut usize,
) -> Entry {
    let stamp = Stamp::of(meta);
    match old {
        Some(old) if old.stamp == stamp => old,
        old => {
            let last_good = old.filter(|o| !o.broken);
            match last_good {
                // Editors that truncate and then write leave an empty file for a moment.
                Some(good) if meta.len() == 0 => keep(good, stamp, relative, None),
                last_good => {
                    *reads += 1;
                    let fresh = read(capsule, path, relative, meta, options);
                    match last_good {
                        Some(good) if fresh.broken => {
                            keep(good, stamp, relative, Some(fresh.problems))
                        }
                        _ => Entry { stamp, ..fresh },
                    }
                }
            }
        }
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
    // A Markdown file must be text; a gemtext page is served as it is.
    let source = opened
        .and_then(|file| read_opened(file, path, options.max_file_size))
        .and_then(|source| match markdown {
            true => source.refuse_binary(path).map(|()| source),
            false => Ok(source),
        });
    let source = match source {
        Ok(source) => source,
        Err(e) => {
            let text = match e {
                markdown::SourceError::TooLarge { .. } if !markdown => Text::Large,
                _ => Text::Unreadable(e.to_string().into()),
            };
            // A large gemtext page is still served; it just cannot be a post. The whole file is
            // at fault: reported at its first line.
            let mut problems = Vec::new();
            if markdown || is_post_path(relative) {
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
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let not_utf8 = source.not_utf8();
    let mut entry = examine(source.text, relative, modified, options);
    if let Some((line, message)) = not_utf8
        && (markdown || is_post_path(relative))
    {
        entry.problems.push(Problem {
            path: relative.to_owned(),
            line,
            message,
            error: false,
        });
    }
    Entry {
        stamp: Stamp::of(meta),
        ..entry
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

/// A text read as the file at `relative` (relative to the root) would be: its problems and
/// the post it makes, what an upload is checked with before it is written.
pub fn examine_text(text: String, relative: &Path, options: &BuildOptions) -> Examined {
    let entry = examine(text, relative, jiff::Timestamp::now(), options);
    Examined {
        problems: entry.problems,
        post: entry.post,
    }
}

/// A text read as the watcher will read it, for an upload's checks.
#[derive(Debug)]
pub struct Examined {
    /// What is wrong with it, errors and warnings.
    pub problems: Vec<Problem>,
    /// The post it makes (with the URL it asks for), if it is one and can be published.
    pub post: Option<Arc<Post>>,
}

/// Converts the text of a page (and reads its post, if it is one) into an entry, but for its
/// stamp.
fn examine(
    source: String,
    relative: &Path,
    modified: jiff::Timestamp,
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
    let section = is_section_page(relative);
    let is_post = is_post_path(relative) && !section;
    let stem = title_stem(relative);
    let (mut page, mut front, front_lines, heading, links) = if markdown {
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
    // Jekyll's `_drafts/` holds drafts, whatever their front matter says.
    if is_post && is_jekyll_draft(relative) {
        front.draft = Some(true);
        page.withheld.get_or_insert("draft");
    }
    for (line, message) in page_settings(&mut page, &front, &front_lines, relative, markdown) {
        problem(line, message, false);
    }
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
    // Held for as long as the file is unchanged: without the room it grew into.
    page.gemtext.shrink_to_fit();
    page.title.shrink_to_fit();
    Entry {
        stamp: Stamp::default(),
        text: Text::Page(Arc::new(page)),
        post,
        problems,
        broken,
    }
}

/// What the front matter says of the page itself, as other generators write it: where it
/// sends its readers (`redirect_to`), and the series a section page (`_index.md`) makes of its
/// folder. Returns the warnings, by line.
fn page_settings(
    page: &mut markdown::Page,
    front: &RawMeta,
    front_lines: &KeyLines,
    relative: &Path,
    markdown: bool,
) -> Vec<(usize, String)> {
    let mut warnings = Vec::new();
    if let Some(written) = front.redirect_to.as_deref() {
        // As Zola reads it, whose key it is: a path without a leading `/` is from the site's
        // root (`redirect_to = "docs/start/"`), not from the page's folder.
        match redirect_target("/", written) {
            Ok(target) => page.redirect = Some(target.stored()),
            Err(why) => warnings.push((
                front_lines.line("redirect_to").unwrap_or(1),
                format!("`redirect_to` `{written}` is ignored: {why}"),
            )),
        }
    }
    if is_section_page(relative) && markdown && is_post_path(relative) {
        let (series, series_problems) = FolderSeries::of_section(front, relative);
        for p in series_problems {
            warnings.push((front_lines.line(&p.key).unwrap_or(1), p.message));
        }
        page.series = series;
    }
    warnings
}

/// The problems, with each warning a site may give on many of its files told once, at its
/// first file, with how many more files have it: an author's own key (one gemhole does not
/// read and that is no near miss of its keys), a shortcode it does not know, Liquid's control
/// flow, a value only the generator knows. A theme's keys or shortcodes on every post would
/// otherwise drown the warnings that matter.
fn fold_site_wide<'p>(problems: impl Iterator<Item = &'p Problem>) -> Vec<Problem> {
    let problems: Vec<&Problem> = problems.collect();
    let mut files: HashMap<&str, HashSet<&Path>> = HashMap::new();
    for problem in &problems {
        if let Some((told, _)) = site_wide(&problem.message) {
            files.entry(told).or_default().insert(&problem.path);
        }
    }
    let mut told_already = HashSet::new();
    let mut out = Vec::with_capacity(problems.len());
    for problem in problems {
        let Some((told, why)) = site_wide(&problem.message) else {
            out.push(problem.clone());
            continue;
        };
        if !told_already.insert(told) {
            continue;
        }
        let more = files.get(told).map_or(0, |f| f.len().saturating_sub(1));
        let mut problem = problem.clone();
        if more > 0 {
            let files = if more == 1 { "file" } else { "files" };
            problem.message = format!("{} (also in {more} more {files}{why})", problem.message);
        }
        out.push(problem);
    }
    out
}

/// What a warning told once for the whole site says whatever its file (its message, less a
/// count of uses on one page), and why the other files are not named.
fn site_wide(message: &str) -> Option<(&str, &'static str)> {
    if unread_key(message).is_some() {
        return Some((
            message,
            ": a key of the author's own, such as a theme's, is kept in the file and not read",
        ));
    }
    shortcodes::site_wide_warning(message).map(|told| (told, ""))
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

    /// The problems as `check` tells them, folded.
    fn told(problems: &[Problem]) -> Vec<String> {
        fold_site_wide(problems.iter())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_authors_own_key_is_told_once_with_how_many_files_carry_it() {
        let warn = |path: &str, message: &str| Problem {
            path: PathBuf::from(path),
            line: 2,
            message: message.to_owned(),
            error: false,
        };
        let problems = [
            warn("posts/a.md", "unknown key `pillar` is ignored"),
            warn(
                "posts/a.md",
                "unknown key `serise` is ignored: did you mean `series`?",
            ),
            warn("posts/b.md", "unknown key `pillar` is ignored"),
            warn("posts/b.md", "unknown key `mood` is ignored"),
            warn("posts/c.md", "unknown key `pillar` is ignored"),
            warn(
                "posts/c.md",
                "unknown key `serise` is ignored: did you mean `series`?",
            ),
        ];
        let folded = told(&problems);
        assert_eq!(folded.len(), 4, "{folded:#?}");
        assert!(folded[0].starts_with(
            "posts/a.md:2: warning: unknown key `pillar` is ignored (also in 2 more files: "
        ));
        // A near miss is told at each post: each is a typo to fix.
        assert!(
            folded[1].ends_with("did you mean `series`?") && folded[3].starts_with("posts/c.md")
        );
        assert_eq!(
            folded[2],
            "posts/b.md:2: warning: unknown key `mood` is ignored"
        );
    }

    #[test]
    fn an_unknown_shortcode_is_told_once_at_its_first_use_with_how_many_files_use_it() {
        let unknown = |name: &str| {
            format!(
                "shortcode or tag `{name}` is not known: its tags are left out, its content kept"
            )
        };
        let broken = "`{{<` opens a shortcode or template tag that is never closed: it is shown \
                      as written";
        let newsletter = unknown("newsletter");
        let problems: Vec<Problem> = [
            ("a", 7, format!("{newsletter} (2 more uses on this page)")),
            ("a", 9, unknown("tabs")),
            ("b", 3, newsletter.clone()),
            ("b", 4, broken.to_owned()),
            ("c", 12, format!("{newsletter} (1 more use on this page)")),
            ("c", 5, broken.to_owned()),
        ]
        .into_iter()
        .map(|(file, line, message)| Problem {
            path: PathBuf::from(format!("posts/{file}.md")),
            line,
            message,
            error: false,
        })
        .collect();
        assert_eq!(
            told(&problems),
            [
                format!(
                    "posts/a.md:7: warning: {newsletter} (2 more uses on this page) (also in 2 \
                     more files)"
                ),
                format!("posts/a.md:9: warning: {}", unknown("tabs")),
                // A tag broken on a page is told on each page: each is a mistake to fix.
                format!("posts/b.md:4: warning: {broken}"),
                format!("posts/c.md:5: warning: {broken}"),
            ]
        );
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
        // Named: read again. Not named: taken as it was, and a file the watcher did not name
        // is not looked for (a watcher names every file it sees made).
        assert_eq!(title(&scanned, "a.md"), "A2");
        assert_eq!(title(&scanned, "b.md"), "B");
        assert!(!scanned.texts.contains_key(Path::new("c.md")));
        assert_eq!(scanned.changed, Some(vec![PathBuf::from("a.md")]));
        // Named and new: read, and served.
        cache.only_changed(HashSet::from([file("c.md"), file("gone.md")]));
        let scanned = pass(&mut cache);
        assert_eq!(title(&scanned, "c.md"), "C");
        assert!(scanned.served.contains("/c.gmi") && scanned.files_came_or_went);
        // Gone: no longer served, unless its twin serves the name.
        std::fs::write(file("c.gmi"), "# C twin\n").unwrap();
        std::fs::remove_file(file("c.md")).unwrap();
        cache.only_changed(HashSet::from([file("c.md"), file("c.gmi")]));
        let scanned = pass(&mut cache);
        assert!(scanned.served.contains("/c.gmi"));
        std::fs::remove_file(file("c.gmi")).unwrap();
        cache.only_changed(HashSet::from([file("c.gmi")]));
        let scanned = pass(&mut cache);
        assert!(!scanned.served.contains("/c.gmi") && scanned.texts.len() == 2);
        // A folder named: every file below it is looked at, by a whole pass.
        cache.only_changed(HashSet::from([root.path().to_owned()]));
        let scanned = pass(&mut cache);
        assert_eq!(scanned.changed, None);
        assert_eq!(title(&scanned, "b.md"), "B2");
        assert_eq!(title(&scanned, "D.GMI"), "D");
    }
}
