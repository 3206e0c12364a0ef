//! A static copy of the capsule in a folder (`gemhole build --out`): the bytes the server would
//! send, written in place, then every file the build did not write removed, so a page no
//! longer published is gone.
//!
//! The folder is opened once, and everything below it is reached through folder descriptors
//! opened without following symlinks: a link planted in it, or swapped in while the build runs,
//! is removed as a link and never written or swept through. A file system mounted inside it is
//! left alone; it is told apart by its mount ID, which a bind mount of the same file system has
//! too.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, StatxFlags};
use rustix::io::Errno;

use crate::content::{Resolved, Secret};
use crate::convert::url::Origin;
use crate::disk::{self, Durability, FileMode, Temporary, Written};
use crate::respond::web::{WebAsk, WebCopy, copy_request};
use crate::respond::{Capsule, Lookup, output_file};

/// The file at the top of every build's folder. A build writes only into a folder that has it
/// (or an empty one), so a mistyped `--out` cannot wipe out someone's files.
pub const MARKER: &str = ".gemhole-build";

/// The name a file is written under before it is renamed into place.
const TEMPORARY: &str = ".gemhole-new";

/// How deep a build's folder is swept: deeper folders were not made by a build.
const MAX_DEPTH: usize = 128;

const MARKER_TEXT: &str = "This folder is written by `gemhole build`: each build into it \
                           removes the files it did not write.\n";

/// Why a build was refused or stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("--out {0} does not end in a folder name: give the folder to write, e.g. --out site")]
    NoName(PathBuf),
    #[error("refusing to build into {shown}: {why}; nothing was changed")]
    Refused { shown: String, why: String },
    #[error("another build is writing into {0}; nothing was changed")]
    Busy(PathBuf),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot write {path}: {other} was written by this build, and both cannot be (two files \
         of the capsule need one path, or a folder was replaced while the build ran)"
    )]
    Clash { path: PathBuf, other: PathBuf },
    #[error(
        "cannot write {0}: another file system is mounted on the way, inside the build's \
         folder, and a build never writes into one (unmount it)"
    )]
    Mounted(PathBuf),
    #[error(
        "the build into {dir} stopped before its end: the folder holds the files written so \
         far, and the files of earlier builds were not swept; fix this and build again: {cause}"
    )]
    Stopped {
        dir: PathBuf,
        cause: Box<PublishError>,
    },
    #[error(
        "the build into {dir} is written, but {} file(s) it did not write are still there, so \
         pages no longer published may still be: {}",
        .left.len(),
        .left.join("; ")
    )]
    Stale { dir: PathBuf, left: Vec<String> },
}

fn io(what: &'static str, path: &Path, source: impl Into<std::io::Error>) -> PublishError {
    PublishError::Io {
        what,
        path: path.to_owned(),
        source: source.into(),
    }
}

/// The folder `--out` names, checked before anything is built.
#[derive(Debug)]
pub struct OutDir {
    /// As given, for messages.
    given: PathBuf,
    /// The folder it is in, symlinks resolved.
    parent: PathBuf,
    /// Its own name, never resolved: a symlink there is refused, not followed.
    name: OsString,
}

/// What is at `--out` now.
enum Previous {
    Nothing,
    /// An earlier build, or an empty folder: written into.
    Usable,
    /// Anything else, with why it is kept.
    Refused(String),
}

impl OutDir {
    /// Refuses a folder where a build would remove or overwrite what is not a build: the
    /// capsule, the certificates, keys or config (or a folder holding or held in one of them,
    /// through symlinks or not), a folder inside an earlier build (its next build would remove
    /// this one), `/`, the home folder, a symlink, a file, or a non-empty folder without
    /// [`MARKER`]. Nothing is created or removed here.
    /// `capsule` is given as configured and as opened, so a symlink to it counts too.
    pub fn check(
        given: &Path,
        capsule: &[&Path],
        secrets: &[Secret],
    ) -> Result<OutDir, PublishError> {
        let Some(name) = given.file_name() else {
            return Err(PublishError::NoName(given.to_owned()));
        };
        let parent = match given.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let out = OutDir {
            given: given.to_owned(),
            parent: resolve(parent)?,
            name: name.to_owned(),
        };
        let real = out.path();
        let refuse = |why: String| {
            let shown = if real == out.given {
                out.given.display().to_string()
            } else {
                format!("{} ({})", out.given.display(), real.display())
            };
            PublishError::Refused { shown, why }
        };
        let mut kept: Vec<(&str, PathBuf)> = capsule
            .iter()
            .map(|c| ("the capsule folder", c.to_path_buf()))
            .collect();
        kept.extend(secrets.iter().map(|s| (s.what, s.path.clone())));
        for (what, path) in kept {
            // Both where it leads and where it is named: a symlink to it in the folder would
            // be removed by the build.
            let named = match (path.parent(), path.file_name()) {
                (Some(p), Some(n)) if !p.as_os_str().is_empty() => resolve(p)?.join(n),
                (_, Some(n)) => resolve(Path::new("."))?.join(n),
                _ => resolve(&path)?,
            };
            for path in [resolve(&path)?, named] {
                if real == path || real.starts_with(&path) || path.starts_with(&real) {
                    return Err(refuse(format!(
                        "it is {what} {}, inside it or holds it, and a build removes what it \
                         did not write",
                        path.display()
                    )));
                }
            }
        }
        let home = std::env::var_os("HOME").and_then(|h| Path::new(&h).canonicalize().ok());
        if real.parent().is_none() || home.is_some_and(|home| home.starts_with(&real)) {
            return Err(refuse(
                "it is the home folder or holds it, and a build removes what it did not write"
                    .into(),
            ));
        }
        if let Some(build) = real
            .ancestors()
            .skip(1)
            .find(|a| std::fs::symlink_metadata(a.join(MARKER)).is_ok_and(|m| m.is_file()))
        {
            return Err(refuse(format!(
                "it is inside {}, an earlier build's folder, whose next build would remove it",
                build.display()
            )));
        }
        if let Previous::Refused(why) = previous(&real, &out.given)? {
            return Err(refuse(why));
        }
        Ok(out)
    }

    /// The folder as given on the command line.
    pub fn given(&self) -> &Path {
        &self.given
    }

    fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    /// Writes the capsule into the folder (created if missing), each file whole by a rename,
    /// then removes every file it did not write. The folder itself stays, with its owner, mode
    /// and mounts: what holds it (a bind mount, a server's working folder) keeps seeing it.
    /// Returns how many files the capsule has.
    pub fn write(&self, capsule: &Capsule, form: &Form) -> Result<usize, PublishError> {
        let path = self.path();
        std::fs::create_dir_all(&self.parent).map_err(|e| io("create", &self.parent, e))?;
        let parent = disk::open_root(&self.parent).map_err(|e| io("open", &self.parent, e))?;
        // A build into a folder inside another's would be swept by it: the folders above are
        // held shared, which a build of one of them (holding its own exclusively) excludes.
        let mut _above = Vec::new();
        for folder in path.ancestors().skip(1) {
            let Ok(fd) = rustix::fs::open(
                folder,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            ) else {
                continue;
            };
            if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockShared).is_err() {
                return Err(PublishError::Busy(folder.to_owned()));
            }
            if rustix::fs::statat(&fd, MARKER, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile)
            {
                return Err(PublishError::Refused {
                    shown: self.given.display().to_string(),
                    why: format!(
                        "it is inside {}, an earlier build's folder, whose next build would \
                         remove it",
                        folder.display()
                    ),
                });
            }
            _above.push(fd);
        }
        match rustix::fs::mkdirat(&parent, self.name.as_os_str(), Mode::from_raw_mode(0o777)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(io("create", &path, e)),
        }
        let root = match disk::open_folder(&parent, &self.name) {
            Ok(root) => root,
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return Err(PublishError::Refused {
                    shown: self.given.display().to_string(),
                    why: "it was replaced by a symbolic link or a file since it was checked".into(),
                });
            }
            Err(e) => return Err(io("open", &path, e)),
        };
        // Two builds into one folder at once would remove each other's files.
        rustix::fs::flock(&root, FlockOperation::NonBlockingLockExclusive)
            .map_err(|_| PublishError::Busy(self.given.clone()))?;
        // Checked again through the folder now held: it may have been swapped since.
        let marked = rustix::fs::statat(&root, MARKER, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::RegularFile);
        if !marked
            && !disk::names(&root)
                .map_err(|e| io("list", &path, e))?
                .is_empty()
        {
            return Err(PublishError::Refused {
                shown: self.given.display().to_string(),
                why: format!("it changed since it was checked and has no {MARKER} file"),
            });
        }
        let mut tree = Tree {
            mount: mount_of(&root)?,
            root,
            path: path.clone(),
            written: HashSet::new(),
        };
        let stopped = |cause| PublishError::Stopped {
            dir: self.given.clone(),
            cause: Box::new(cause),
        };
        tree.put(Path::new(MARKER), MARKER_TEXT.as_bytes())
            .map_err(stopped)?;
        let count = match form {
            Form::Gemini(origin) => write_capsule(capsule, origin, &mut tree),
            Form::Html(web) => write_html(capsule, web, &mut tree),
        }
        .map_err(stopped)?;
        let mut left = Vec::new();
        tree.sweep(&tree.root, Path::new(""), &mut left);
        if !left.is_empty() {
            return Err(PublishError::Stale {
                dir: self.given.clone(),
                left,
            });
        }
        Ok(count)
    }
}

/// What a static copy is written as.
#[derive(Debug)]
pub enum Form {
    /// Gemtext and files, for a Gemini server; feeds' absolute URLs from this origin.
    Gemini(Origin),
    /// HTML for a web server, at the same paths (a `.gmi` name holds HTML, a folder its
    /// `index.html`), with the stylesheet every page loads.
    Html(WebSite),
}

/// Where the web copy is read and which `gemini://` links are its own.
#[derive(Debug)]
pub struct WebSite {
    /// `https://host`: feeds' absolute URLs.
    pub origin: Origin,
    /// `gemini://host`: each page's alternate.
    pub gemini: Origin,
    pub names: std::sync::Arc<[String]>,
}

/// Writes every path of the capsule as HTML into `tree`, as the HTTP door answers it; returns
/// how many files there were.
fn write_html(capsule: &Capsule, site: &WebSite, tree: &mut Tree) -> Result<usize, PublishError> {
    let mut written = 0;
    let mut moved = Vec::new();
    let mut paths = capsule.paths();
    paths.push((vec!["style.css".to_owned()], false));
    paths.dedup();
    for (segments, slash) in paths {
        let mut target = output_file(Path::new(""), &segments, slash);
        if slash {
            target.set_file_name("index.html");
        }
        let ask = WebAsk {
            request: copy_request(&segments, slash),
            origin: site.origin.clone(),
            gemini: site.gemini.clone(),
            names: std::sync::Arc::clone(&site.names),
        };
        let bytes = match capsule.web_copy(&ask) {
            WebCopy::Bytes(bytes) => bytes.to_vec(),
            WebCopy::File(path) => match read_file(capsule, &path)? {
                Some(bytes) => bytes,
                None => continue,
            },
            WebCopy::Moved(bytes) => {
                moved.push((target, bytes.to_vec()));
                continue;
            }
            WebCopy::Nothing => continue,
        };
        if tree.written.contains(&target) {
            continue;
        }
        tree.put(&target, &bytes)?;
        written += 1;
    }
    Ok(written + put_moved(tree, moved))
}

/// Writes every path of the capsule into `tree`; returns how many files there were. The
/// pages for former URLs go last, and one that cannot be written (a page of the capsule is on
/// its way) is left out with a warning: it never takes a page's place or stops the build.
fn write_capsule(
    capsule: &Capsule,
    origin: &Origin,
    tree: &mut Tree,
) -> Result<usize, PublishError> {
    let mut written = 0;
    let mut moved = Vec::new();
    for (segments, slash) in capsule.paths() {
        let target = output_file(Path::new(""), &segments, slash);
        let bytes = match capsule.lookup(&segments, slash, origin) {
            Lookup::Found(Resolved::File { path, .. }) => match read_file(capsule, &path)? {
                Some(bytes) => bytes,
                None => continue,
            },
            Lookup::Page(page) if page.withheld.is_none() => page.gemtext.as_bytes().to_vec(),
            Lookup::Generated { body, .. } | Lookup::Typed { body, .. } => body.into_bytes(),
            // A former URL its author wrote, or a page's `redirect_to`: a static copy cannot
            // redirect, so a page with a link to where readers go now. (A file renamed by its
            // `slug` is left out: links to its old name are rewritten.)
            Lookup::Redirect(to) if capsule.writes_moved_page(&segments, slash, &to) => {
                moved.push((
                    target,
                    crate::views::pages::moved(&capsule.layout.strings, &to).into_bytes(),
                ));
                continue;
            }
            Lookup::PageError(e) => {
                eprintln!("{e}");
                continue;
            }
            _ => continue,
        };
        tree.put(&target, &bytes)?;
        written += 1;
    }
    Ok(written + put_moved(tree, moved))
}

/// A file of the capsule, opened as the server opens it: never a secret, a FIFO, or through
/// a symlink that leads out. `None`: gone since the capsule was read.
fn read_file(capsule: &Capsule, path: &Path) -> Result<Option<Vec<u8>>, PublishError> {
    let mut bytes = Vec::new();
    match capsule.root.open_file(path) {
        Ok(mut file) => {
            std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| io("read", path, e))?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path, e)),
    }
}

/// Writes the pages for former URLs, last: one that cannot be written (a page of the capsule
/// is on its way) is left out with a warning. Returns how many were written.
fn put_moved(tree: &mut Tree, moved: Vec<(PathBuf, Vec<u8>)>) -> usize {
    let mut written = 0;
    for (target, body) in moved {
        if tree.written.contains(&target) {
            continue;
        }
        match tree.put(&target, &body) {
            Ok(()) => written += 1,
            Err(e) => eprintln!("gemhole: warning: the page for a former URL is left out: {e}"),
        }
    }
    written
}

/// The build's folder, held open, and what has been written into it.
struct Tree {
    root: OwnedFd,
    /// The mount it is on: a folder below it on another is not the build's.
    mount: u64,
    path: PathBuf,
    /// Paths relative to the folder.
    written: HashSet<PathBuf>,
}

impl Tree {
    /// Writes `bytes` to `relative` through a temporary file renamed into place. Whatever is
    /// on the way and is not a real folder (a symlink, a file where a folder goes, a folder
    /// where the file goes) is removed first, unless this build wrote it.
    fn put(&mut self, relative: &Path, bytes: &[u8]) -> Result<(), PublishError> {
        let shown = self.path.join(relative);
        let parts: Vec<&OsStr> = relative
            .components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name),
                _ => None,
            })
            .collect();
        let Some((file, folders)) = parts.split_last() else {
            return Ok(());
        };
        let mut dir = disk::open_folder(&self.root, ".").map_err(|e| io("open", &self.path, e))?;
        let mut at = PathBuf::new();
        for &name in folders {
            at.push(name);
            dir = match disk::open_folder(&dir, name) {
                Ok(next) => next,
                Err(Errno::NOENT) => self.make_dir(&dir, name, &at)?,
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    self.clear(&dir, name, &at, relative)?;
                    self.make_dir(&dir, name, &at)?
                }
                Err(e) => return Err(io("open", &self.path.join(&at), e)),
            };
            if mount_of(&dir)? != self.mount {
                return Err(PublishError::Mounted(shown));
            }
        }
        if let Ok(stat) = rustix::fs::statat(&dir, *file, AtFlags::SYMLINK_NOFOLLOW)
            && FileType::from_raw_mode(stat.st_mode) == FileType::Directory
        {
            self.clear(&dir, file, relative, relative)?;
        }
        // One name per folder (files are written one at a time), short whatever the file's:
        // whatever is there (a leftover, or anything planted) goes first.
        if let Err(Errno::ISDIR | Errno::PERM) =
            rustix::fs::unlinkat(&dir, TEMPORARY, AtFlags::empty())
        {
            let at = relative.with_file_name(TEMPORARY);
            self.clear(&dir, OsStr::new(TEMPORARY), &at, relative)?;
        }
        // Created anew (O_EXCL, no link followed), then renamed over the old file: a reader
        // never sees half a file, and a hard link to the old one keeps its bytes. Not synced:
        // the folder is output made again from the capsule by every build, a sync per file
        // would make a build of thousands of files crawl, and a crash costs at most files the
        // next build writes again.
        Written::new(
            dir.as_fd(),
            Temporary::Named(OsStr::new(TEMPORARY)),
            bytes,
            FileMode::Umasked(0o666),
            Durability::Unsynced,
        )
        .map_err(|e| io("write", &shown, e))?
        .replace(*file)
        .map_err(|e| match e {
            Errno::BUSY => PublishError::Mounted(shown.clone()),
            e => io("write", &shown, e),
        })?;
        self.written.insert(relative.to_owned());
        Ok(())
    }

    fn make_dir(&self, dir: &OwnedFd, name: &OsStr, at: &Path) -> Result<OwnedFd, PublishError> {
        let shown = self.path.join(at);
        match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o777)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(io("create", &shown, e)),
        }
        disk::open_folder(dir, name).map_err(|e| io("open", &shown, e))
    }

    /// Removes what stands at `name` (the build's `at`) so `relative` can be written: never
    /// what this build wrote, and never a mounted file system.
    fn clear(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        at: &Path,
        relative: &Path,
    ) -> Result<(), PublishError> {
        if let Some(other) = self.written.iter().find(|w| w.starts_with(at)) {
            return Err(PublishError::Clash {
                path: relative.to_owned(),
                other: other.clone(),
            });
        }
        let shown = self.path.join(at);
        match disk::open_folder(dir, name) {
            Ok(inner) => {
                if mount_of(&inner)? != self.mount {
                    return Err(PublishError::Mounted(shown));
                }
                let mut left = Vec::new();
                self.sweep_all(&inner, at, &mut left);
                rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)
                    .map_err(|e| io("remove", &shown, e))
            }
            Err(Errno::LOOP | Errno::NOTDIR) => rustix::fs::unlinkat(dir, name, AtFlags::empty())
                .map_err(|e| io("remove", &shown, e)),
            Err(e) => Err(io("open", &shown, e)),
        }
    }

    /// Removes below `dir` (the build's `at`) every file this build did not write, and every
    /// folder left empty; what cannot be removed is added to `left`.
    fn sweep(&self, dir: &OwnedFd, at: &Path, left: &mut Vec<String>) {
        self.sweep_with(dir, at, left, true);
    }

    /// As [`Tree::sweep`], removing every file.
    fn sweep_all(&self, dir: &OwnedFd, at: &Path, left: &mut Vec<String>) {
        self.sweep_with(dir, at, left, false);
    }

    fn sweep_with(&self, dir: &OwnedFd, at: &Path, left: &mut Vec<String>, keep: bool) {
        let shown = |name: &OsStr| self.path.join(at).join(name).display().to_string();
        if at.components().count() >= MAX_DEPTH {
            left.push(format!(
                "{} (folders nested deeper than {MAX_DEPTH} levels are not swept)",
                self.path.join(at).display()
            ));
            return;
        }
        let entries = match disk::names(dir) {
            Ok(entries) => entries,
            Err(e) => {
                left.push(format!(
                    "{} (cannot list it: {e})",
                    self.path.join(at).display()
                ));
                return;
            }
        };
        for name in entries {
            let inside = at.join(&name);
            let is_dir = rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory);
            if is_dir {
                match disk::open_folder(dir, &name) {
                    Ok(inner) => {
                        if mount_of(&inner).is_ok_and(|m| m != self.mount) {
                            eprintln!(
                                "gemhole: warning: {} is another file system mounted in the \
                                 build's folder; left as it is",
                                shown(&name)
                            );
                            continue;
                        }
                        self.sweep_with(&inner, &inside, left, keep);
                        // Only if empty: a folder that still holds something stays.
                        let _ = rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::REMOVEDIR);
                        continue;
                    }
                    // Swapped for a link or a file since: removed as what it now is.
                    Err(Errno::LOOP | Errno::NOTDIR) => {}
                    Err(e) => {
                        left.push(format!("{} (cannot open it: {e})", shown(&name)));
                        continue;
                    }
                }
            }
            if keep && self.written.contains(&inside) {
                continue;
            }
            match rustix::fs::unlinkat(dir, name.as_os_str(), AtFlags::empty()) {
                Ok(()) => {}
                Err(Errno::BUSY) => eprintln!(
                    "gemhole: warning: {} has a file system mounted on it; left as it is",
                    shown(&name)
                ),
                Err(e) => left.push(format!("{} ({e})", shown(&name))),
            }
        }
    }
}

/// Which mount a folder is on: its mount ID where the kernel tells it (a bind mount of the same
/// file system has its own), else its device.
fn mount_of(fd: &impl AsFd) -> Result<u64, PublishError> {
    match rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID) {
        Ok(statx) if statx.stx_mask & StatxFlags::MNT_ID.bits() != 0 => Ok(statx.stx_mnt_id),
        _ => rustix::fs::fstat(fd)
            .map(|s| s.st_dev)
            .map_err(|e| io("look at", Path::new("the build's folder"), e)),
    }
}

/// What is at `path` (`given` names it in messages). Symlinks are not followed: writing into
/// one would write where it leads.
fn previous(path: &Path, given: &Path) -> Result<Previous, PublishError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Previous::Nothing),
        Err(e) => return Err(io("look at", path, e)),
    };
    if meta.is_symlink() {
        let to = std::fs::read_link(path).unwrap_or_default();
        return Ok(Previous::Refused(format!(
            "it is a symbolic link (to {}), which a build does not follow; give the folder it \
             leads to as --out",
            to.display()
        )));
    }
    if !meta.is_dir() {
        return Ok(Previous::Refused("it is a file, not a folder".into()));
    }
    let marked = std::fs::symlink_metadata(path.join(MARKER)).is_ok_and(|m| m.is_file());
    let empty = std::fs::read_dir(path)
        .map_err(|e| io("list", path, e))?
        .next()
        .is_none();
    if marked || empty {
        return Ok(Previous::Usable);
    }
    Ok(Previous::Refused(format!(
        "it is not empty and has no {MARKER} file, so it is not an earlier build, and a build \
         removes what it did not write; choose another folder, or empty this one, or (to have \
         every file in it replaced) create {}",
        given.join(MARKER).display()
    )))
}

/// `path` made absolute with symlinks resolved; the part of it that does not exist yet (and so
/// holds no links) is appended as written.
fn resolve(path: &Path) -> Result<PathBuf, PublishError> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => return Ok(missing.iter().rev().fold(real, |p, name| p.join(name))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(io("resolve", path, e));
                };
                missing.push(name);
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            Err(e) => return Err(io("resolve", path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capsule(dir: &Path) -> Capsule {
        std::fs::create_dir_all(dir.join("posts")).unwrap();
        std::fs::write(dir.join("posts/2024-01-01-a.md"), "# A\n").unwrap();
        let root = crate::content::CapsuleRoot::open(dir).unwrap();
        let config = crate::config::HostConfig::default();
        let (site, _) =
            crate::content::site::Site::build(&root, &crate::content::BuildOptions::new(&config));
        Capsule::new(root, site, &config, Default::default())
    }

    /// A symlink put where the checked folder was is refused when the build starts writing,
    /// and what it leads to is left as it was.
    #[test]
    fn a_link_swapped_in_after_the_check_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let capsule = capsule(&dir.path().join("capsule"));
        let out = OutDir::check(&dir.path().join("out"), &[capsule.root.path()], &[]).unwrap();
        std::fs::create_dir(dir.path().join("victim")).unwrap();
        std::fs::write(dir.path().join("victim/keep.txt"), "keep").unwrap();
        std::os::unix::fs::symlink(dir.path().join("victim"), dir.path().join("out")).unwrap();
        let origin = Origin::new("localhost", 1965);
        let err = out
            .write(&capsule, &Form::Gemini(origin.clone()))
            .unwrap_err();
        assert!(
            err.to_string().contains("replaced by a symbolic link"),
            "{err}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("victim"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep.txt"]);
        // A real folder without the marker swapped in is refused too.
        std::fs::remove_file(dir.path().join("out")).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/mine.txt"), "mine").unwrap();
        let err = out
            .write(&capsule, &Form::Gemini(origin.clone()))
            .unwrap_err();
        assert!(
            err.to_string().contains("changed since it was checked"),
            "{err}"
        );
        assert!(dir.path().join("out/mine.txt").exists());
    }

    #[test]
    fn long_names_deep_trees_and_planted_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let capsule_dir = dir.path().join("capsule");
        let long = "a".repeat(250);
        std::fs::create_dir_all(capsule_dir.join("files")).unwrap();
        std::fs::write(capsule_dir.join("files").join(format!("{long}.txt")), "x").unwrap();
        let capsule = capsule(&capsule_dir);
        let out_path = dir.path().join("out");
        let origin = Origin::new("localhost", 1965);
        let build = || {
            OutDir::check(&out_path, &[capsule.root.path()], &[])
                .unwrap()
                .write(&capsule, &Form::Gemini(origin.clone()))
        };
        // A name that fits is written whatever the temporary name's length.
        build().unwrap();
        assert!(out_path.join("files").join(format!("{long}.txt")).is_file());
        // A folder planted at the temporary name does not stop every build.
        std::fs::create_dir(out_path.join(TEMPORARY)).unwrap();
        std::fs::write(out_path.join(TEMPORARY).join("x"), "x").unwrap();
        build().unwrap();
        assert!(!out_path.join(TEMPORARY).exists());
        // A tree deeper than any build makes is reported, not recursed into without end.
        let mut deep = out_path.join("deep");
        for _ in 0..MAX_DEPTH + 10 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let err = build().unwrap_err().to_string();
        assert!(err.contains("nested deeper than"), "{err}");
    }

    /// A build into a folder inside one another build is writing is refused.
    #[test]
    fn a_build_inside_a_running_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let capsule = capsule(&dir.path().join("capsule"));
        let outer = dir.path().join("outer");
        std::fs::create_dir(&outer).unwrap();
        let held = std::fs::File::open(&outer).unwrap();
        rustix::fs::flock(&held, FlockOperation::NonBlockingLockExclusive).unwrap();
        let inner = OutDir::check(&outer.join("inner"), &[capsule.root.path()], &[]).unwrap();
        let err = inner
            .write(&capsule, &Form::Gemini(Origin::new("localhost", 1965)))
            .unwrap_err();
        assert!(
            err.to_string().contains("another build is writing"),
            "{err}"
        );
        assert!(!outer.join("inner").exists());
    }

    #[test]
    fn a_build_writes_and_sweeps_only_its_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        let capsule = capsule(&dir.path().join("capsule"));
        let out_path = dir.path().join("out");
        let origin = Origin::new("localhost", 1965);
        let out = OutDir::check(&out_path, &[capsule.root.path()], &[]).unwrap();
        out.write(&capsule, &Form::Gemini(origin.clone())).unwrap();
        // Stale files, a link to a folder outside, a link where a page goes.
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/x.gmi"), "keep").unwrap();
        std::fs::write(out_path.join("stale.gmi"), "old").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), out_path.join("linked")).unwrap();
        std::fs::remove_file(out_path.join("index.gmi")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside/x.gmi"), out_path.join("index.gmi"))
            .unwrap();
        let out = OutDir::check(&out_path, &[capsule.root.path()], &[]).unwrap();
        out.write(&capsule, &Form::Gemini(origin.clone())).unwrap();
        assert!(!out_path.join("stale.gmi").exists());
        assert!(std::fs::symlink_metadata(out_path.join("linked")).is_err());
        assert!(!out_path.join("index.gmi").is_symlink());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("outside/x.gmi")).unwrap(),
            "keep"
        );
        assert!(out_path.join("posts/2024-01-01-a.gmi").is_file());
    }
}
