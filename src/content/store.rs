//! Writing into the capsule (uploads from authors' clients, and restores): a file is written
//! whole under a temporary dot-name in its folder, then renamed into place, so a reader or the
//! watcher never sees half of it. Nothing an author wrote is lost: the version a write
//! replaces, and a file taken away, are kept in [`HISTORY_DIR`] (a dot-folder: never served,
//! listed or read as a post), under the file's own path and the time, where `gemhole history`
//! lists them and `gemhole restore` puts one back. Every folder on the way is opened beneath
//! the capsule's descriptor without following a symlink: nothing is ever written outside the
//! capsule, whatever is swapped in while it happens.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::files::CapsuleRoot;
use crate::disk::{self, Durability, FileMode, FolderUse, Temporary, Written};

/// What a temporary file in the capsule is named after (`.upload-…`: hidden, so neither served
/// nor read as a post).
const TEMPORARY: &str = "upload";

/// The folder, at the capsule's top, where replaced and deleted files are kept: one folder
/// per file, named by its path (`.history/posts/x.md/`), holding one file per version, named
/// by the time it was put aside and why (`2026-12-07T04:31:44.123456789Z.replaced`).
pub const HISTORY_DIR: &str = ".history";

/// The file in the history that servers sharing a folder lock while they put a version aside.
const LOCK_FILE: &str = ".lock";

/// How deep the history is walked: deeper folders were not made by it.
const MAX_DEPTH: usize = 64;

/// What a folder counts for in [`CapsuleRoot::bytes_held`]: the block it takes on disk.
pub const FOLDER_BYTES: u64 = 4096;

/// Entries looked at, at most, by one walk (a listing, or the bytes held below a folder).
const MAX_ENTRIES: usize = 1_000_000;

/// The writes of the last moments, by any server on the folder (a line each, their paths):
/// a server checks an upload against a snapshot that shows them all.
const WRITES_FILE: &str = ".writes";

/// How many writes [`WRITES_FILE`] remembers.
const RECENT_WRITES: usize = 64;

/// Proof that the history's lock is held: writes into the capsule are made one at a time by
/// every server on the folder (nodes on shared storage, `gemhole restore`), so a version is
/// put aside and its replacement renamed into place as one step, and an upload is checked
/// against every write before it. Released when dropped.
#[derive(Debug)]
pub struct HistoryLock {
    /// The lock lasts as long as this descriptor is open.
    _file: OwnedFd,
}

/// The history's lock file, open, not yet held.
#[derive(Debug)]
pub struct LockFile(OwnedFd);

impl LockFile {
    /// Takes the lock if nobody holds it; else gives the file back.
    pub fn try_lock(self) -> Result<HistoryLock, LockFile> {
        match rustix::fs::flock(
            &self.0,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        ) {
            Ok(()) => Ok(HistoryLock { _file: self.0 }),
            Err(_) => Err(self),
        }
    }

    /// Takes the lock, waiting for it at most `wait` (blocking): `Busy` after.
    pub fn lock(self, wait: std::time::Duration) -> Result<HistoryLock, StoreError> {
        let until = std::time::Instant::now() + wait;
        let mut file = self;
        loop {
            match file.try_lock() {
                Ok(held) => return Ok(held),
                Err(_) if std::time::Instant::now() >= until => return Err(StoreError::Busy),
                Err(back) => file = back,
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Why a write into the capsule was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A symlink, or something other than a folder or a regular file, is in the way.
    #[error("{0} is a symbolic link or not a plain folder or file: nothing is written through it")]
    NotPlain(PathBuf),
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// Not written, for the reason given (a twin that would be served in its place).
    #[error("{0}")]
    Refused(&'static str),
    /// A version asked for by the start of its name: none, or several, have it.
    #[error("{0}")]
    NoSuchVersion(String),
    /// The write of `adding` bytes would take the folders a quota counts past it: `held`
    /// bytes are held now.
    #[error("{held} bytes are held of a quota of {limit}, and {adding} more were to be written")]
    OverQuota { held: u64, limit: u64, adding: u64 },
    /// Another writer holds the history's lock (another server on the folder, a restore).
    #[error("another server or command is writing to the capsule and holds its history's lock")]
    Busy,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl StoreError {
    fn io(path: &Path, source: impl Into<io::Error>) -> StoreError {
        StoreError::Io {
            path: path.to_owned(),
            source: source.into(),
        }
    }
}

/// Why a version was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A new version (an upload, a restore) took its place.
    Replaced,
    /// It was deleted.
    Deleted,
}

impl Why {
    fn word(self) -> &'static str {
        match self {
            Why::Replaced => "replaced",
            Why::Deleted => "deleted",
        }
    }
}

/// One kept version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// When it was put aside, UTC, to the nanosecond: `2026-12-07T04:31:44.123456789Z`. It
    /// names the version (in `gemhole restore`), and sorts as the times do.
    pub when: String,
    pub why: Why,
    pub bytes: u64,
}

impl Version {
    /// Its file's name in the file's history folder.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.when, self.why.word())
    }

    fn parse(name: &str, bytes: u64) -> Option<Version> {
        let (when, why) = name.rsplit_once('.')?;
        let why = match why {
            "replaced" => Why::Replaced,
            "deleted" => Why::Deleted,
            _ => return None,
        };
        let well_formed = when.len() == 30
            && when.ends_with('Z')
            && when
                .bytes()
                .all(|b| b.is_ascii_digit() || b"-T:.Z".contains(&b));
        well_formed.then(|| Version {
            when: when.to_owned(),
            why,
            bytes,
        })
    }
}

/// The kept versions of one file (its path relative to the capsule root), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub file: PathBuf,
    pub versions: Vec<Version>,
}

/// A bound on what some folders (and the history) may hold, checked as a write is made.
#[derive(Debug, Clone)]
pub struct Quota {
    /// The folders counted besides the history: paths of names relative to the root.
    pub below: Vec<Vec<String>>,
    /// Bytes they may hold together.
    pub limit: u64,
}

/// A folder uploads write to that this process cannot write.
#[derive(Debug)]
pub struct Unwritable {
    /// The folder asked: the one uploads write to, or the nearest that exists.
    pub folder: PathBuf,
    /// The folder uploads write to, when it does not exist (and would be made in `folder`).
    pub missing: Option<PathBuf>,
    pub error: io::Error,
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The version put back (it stays kept).
    pub version: Version,
    /// Where the file it replaced was kept, if there was one.
    pub kept: Option<PathBuf>,
}

/// A moment as a version is named by it.
fn stamp(at: jiff::Timestamp) -> String {
    let at = jiff::tz::Offset::UTC.to_datetime(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.subsec_nanosecond()
    )
}

impl CapsuleRoot {
    /// Checks, without changing anything, that a file could be written at `relative`: no
    /// symlink and nothing but folders on the way, and no symlink, folder or special file
    /// where it goes. Folders that do not exist yet are fine (they will be made).
    pub fn check_writable(&self, relative: &Path) -> Result<(), StoreError> {
        let (folders, name) = split(relative)?;
        let dir = match self.folder(&folders, false, relative) {
            Ok(dir) => dir,
            // A folder still to be made: nothing stands in the way.
            Err(StoreError::Missing(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        match disk::kind(&dir, name) {
            Ok(None | Some(FileType::RegularFile)) => Ok(()),
            Ok(Some(_)) => Err(StoreError::NotPlain(relative.to_owned())),
            Err(e) => Err(StoreError::io(relative, e)),
        }
    }

    /// Writes `bytes` as the file at `relative` (a path below the root, of visible names),
    /// making the folders on the way; the file it replaces is kept in the history first.
    /// The new file keeps the permissions of the one it replaces (else `mode`, else 0644).
    /// Returns where the replaced version was kept, if there was one. Blocking.
    /// With a `quota`, the write is refused when what its folders hold now (counted while no
    /// other write of this process can change it) and `bytes` would pass it.
    pub fn store(
        &self,
        _held: &HistoryLock,
        relative: &Path,
        bytes: &[u8],
        mode: Option<u32>,
        quota: Option<&Quota>,
    ) -> Result<Option<PathBuf>, StoreError> {
        if let Some(quota) = quota {
            self.within(quota, bytes.len() as u64)?;
        }
        let (folders, name) = split(relative)?;
        let dir = self.folder(&folders, true, relative)?;
        let (mode, replaces) = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                (st.st_mode & 0o7777, true)
            }
            Ok(_) => return Err(StoreError::NotPlain(relative.to_owned())),
            Err(Errno::NOENT) => (mode.unwrap_or(0o644) & 0o7777, false),
            Err(e) => return Err(StoreError::io(relative, e)),
        };
        // Removed again unless it is renamed into place.
        let mut written = write_aside(&dir, bytes, mode, relative)?;
        if !replaces {
            match written.place_new(name) {
                Ok(()) => return Ok(None),
                // Made meanwhile (by another server on the same folder): replaced, and kept,
                // as any file is.
                Err(Errno::EXIST) => {}
                Err(e) => return Err(StoreError::io(relative, e)),
            }
        }
        // The version it replaces is put aside first: if that fails, nothing is replaced.
        let kept = match self.keep(&dir, name, &folders, relative, Why::Replaced) {
            Ok(kept) => Some(kept),
            // Taken away meanwhile: nothing to keep.
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if let Err(e) = written.replace(name) {
            // The old version is still in place: its copy in the history is not a version.
            if let Some(kept) = &kept {
                self.forget(kept);
            }
            return Err(StoreError::io(relative, e));
        }
        Ok(kept)
    }

    /// Takes the file at `relative` away: it moves into the history, as deleted. Returns
    /// where it went (relative to the root). Blocking.
    pub fn remove(&self, _held: &HistoryLock, relative: &Path) -> Result<PathBuf, StoreError> {
        let (folders, name) = split(relative)?;
        let dir = self.folder(&folders, false, relative)?;
        match disk::kind(&dir, name) {
            Ok(Some(FileType::RegularFile)) => {}
            Ok(None) => return Err(StoreError::Missing(relative.to_owned())),
            Ok(Some(_)) => return Err(StoreError::NotPlain(relative.to_owned())),
            Err(e) => return Err(StoreError::io(relative, e)),
        }
        self.keep(&dir, name, &folders, relative, Why::Deleted)
    }

    /// The kept versions of `file` (every file's, when `None`), files in path order, versions
    /// oldest first. Blocking.
    pub fn history(&self, file: Option<&Path>) -> Result<Vec<History>, StoreError> {
        let start = match file {
            Some(file) => {
                let (folders, name) = split(file)?;
                let mut place = vec![OsStr::new(HISTORY_DIR)];
                place.extend(folders);
                place.push(name);
                place
            }
            None => vec![OsStr::new(HISTORY_DIR)],
        };
        let shown = Path::new(HISTORY_DIR);
        let dir = match self.folder(&start, false, shown) {
            Ok(dir) => dir,
            Err(StoreError::Missing(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut found = Vec::new();
        let mut budget = MAX_ENTRIES;
        let at: PathBuf = start[1..].iter().collect();
        collect_history(&dir, &at, 0, &mut budget, &mut found)
            .map_err(|e| StoreError::io(shown, e))?;
        found.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(found)
    }

    /// Puts a kept version of `file` back in its place: the newest, or the one whose name
    /// starts with `which` (`2026-12-07T04:31`); the file it replaces is kept in turn, and the
    /// version stays kept. Blocking.
    pub fn restore(&self, file: &Path, which: Option<&str>) -> Result<Restored, StoreError> {
        let versions = self
            .history(Some(file))?
            .into_iter()
            .find(|h| h.file == file)
            .map(|h| h.versions)
            .unwrap_or_default();
        let version = match which {
            None => versions.last().cloned(),
            Some(start) => {
                let matching: Vec<&Version> = versions
                    .iter()
                    .filter(|v| v.file_name().starts_with(start))
                    .collect();
                if matching.len() > 1 {
                    return Err(StoreError::NoSuchVersion(format!(
                        "{} versions of {} start with `{start}`: give more of the one to put \
                         back ({})",
                        matching.len(),
                        file.display(),
                        matching
                            .iter()
                            .map(|v| v.when.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                matching.first().map(|v| (*v).clone())
            }
        }
        .ok_or_else(|| {
            StoreError::NoSuchVersion(match which {
                None => format!("no version of {} is kept", file.display()),
                Some(start) => format!(
                    "no kept version of {} starts with `{start}` (`gemhole history {}` lists them)",
                    file.display(),
                    file.display()
                ),
            })
        })?;
        let (folders, name) = split(file)?;
        let mut place = vec![OsStr::new(HISTORY_DIR)];
        place.extend(folders);
        place.push(name);
        let shown = history_path(file).join(version.file_name());
        let dir = self.folder(&place, false, &shown)?;
        let opened = disk::open_file(
            &dir,
            version.file_name().as_str(),
            OFlags::RDONLY | OFlags::NONBLOCK,
        )
        .map_err(|e| StoreError::io(&shown, e))?;
        let st = rustix::fs::fstat(&opened).map_err(|e| StoreError::io(&shown, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(StoreError::NotPlain(shown));
        }
        let mut bytes = Vec::new();
        File::from(opened)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io(&shown, e))?;
        let held = self.lock_file()?.lock(std::time::Duration::from_secs(30))?;
        let kept = self.store(&held, file, &bytes, Some(st.st_mode & 0o7777), None)?;
        self.note_write(&held, file)?;
        Ok(Restored { version, kept })
    }

    /// `OverQuota` when what `quota` counts now and `adding` bytes would pass it. Blocking.
    pub fn within(&self, quota: &Quota, adding: u64) -> Result<(), StoreError> {
        let held = self.bytes_held(&quota.below)?;
        if held.saturating_add(adding) > quota.limit {
            return Err(StoreError::OverQuota {
                held,
                limit: quota.limit,
                adding,
            });
        }
        Ok(())
    }

    /// The bytes of the regular files below each folder of `below` (paths of names, relative
    /// to the root; one inside another counts once) and in the history: what a quota on
    /// authors' uploads counts. Symlinks are not followed. Blocking.
    pub fn bytes_held(&self, below: &[Vec<String>]) -> Result<u64, StoreError> {
        let mut folders: Vec<Vec<OsString>> = vec![vec![HISTORY_DIR.into()]];
        for folder in below {
            folders.push(folder.iter().map(OsString::from).collect());
        }
        folders.sort();
        folders.dedup();
        let outermost: Vec<&Vec<OsString>> = folders
            .iter()
            .filter(|f| !folders.iter().any(|o| o != *f && f.starts_with(o)))
            .collect();
        let mut total = 0;
        let mut budget = MAX_ENTRIES;
        for folder in outermost {
            let names: Vec<&OsStr> = folder.iter().map(OsString::as_os_str).collect();
            let shown: PathBuf = match names.is_empty() {
                true => ".".into(),
                false => names.iter().collect(),
            };
            let dir = match self.folder(&names, false, &shown) {
                Ok(dir) => dir,
                Err(StoreError::Missing(_) | StoreError::NotPlain(_)) => continue,
                Err(e) => return Err(e),
            };
            total += bytes_below(&dir, 0, &mut budget).map_err(|e| StoreError::io(&shown, e))?;
        }
        Ok(total)
    }

    /// The folders an author's uploads write to (`below`, paths of names relative to the
    /// root, and the history) that this process cannot write, each with why: a folder that
    /// exists is asked; one still to be made is asked of the nearest folder that exists, and
    /// named as missing. Nothing is written. Blocking.
    pub fn unwritable(&self, below: &[Vec<String>]) -> Vec<Unwritable> {
        let mut folders: Vec<Vec<String>> = below.to_vec();
        folders.push(vec![HISTORY_DIR.to_owned()]);
        let mut found: Vec<Unwritable> = Vec::new();
        for folder in folders {
            let mut existing = self.path().to_owned();
            let mut missing = None;
            for name in &folder {
                let next = existing.join(name);
                match std::fs::symlink_metadata(&next) {
                    Ok(meta) if meta.is_dir() => existing = next,
                    _ => {
                        missing = Some(self.path().join(folder.iter().collect::<PathBuf>()));
                        break;
                    }
                }
            }
            if found
                .iter()
                .any(|f| f.folder == existing && f.missing == missing)
            {
                continue;
            }
            if let Err(e) = rustix::fs::access(&existing, rustix::fs::Access::WRITE_OK) {
                found.push(Unwritable {
                    folder: existing,
                    missing,
                    error: e.into(),
                });
            }
        }
        found
    }

    /// Puts the file `name` of `dir` (the file at `relative`) aside in the history, by a hard
    /// link while it stays (a copy where links cannot be made), or moved when it is deleted.
    /// Returns where it went, relative to the root.
    fn keep(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        folders: &[&OsStr],
        relative: &Path,
        why: Why,
    ) -> Result<PathBuf, StoreError> {
        let mut place = vec![OsStr::new(HISTORY_DIR)];
        place.extend(folders.iter().copied());
        place.push(name);
        let history = self.folder(&place, true, relative)?;
        let now = jiff::Timestamp::now();
        let bytes = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map(|st| st.st_size.max(0) as u64)
            .unwrap_or(0);
        for attempt in 0..100 {
            let version = Version {
                when: stamp(now + jiff::SignedDuration::from_nanos(attempt)),
                why,
                bytes,
            };
            let version_name = version.file_name();
            let put = match why {
                Why::Deleted => match rustix::fs::renameat_with(
                    dir,
                    name,
                    &history,
                    version_name.as_str(),
                    RenameFlags::NOREPLACE,
                ) {
                    // The history on another mount (a systemd unit's `ReadWritePaths=` makes
                    // each folder one): a copy, then the file goes.
                    Err(Errno::XDEV) => {
                        match copy_aside(dir, name, &history, &version_name, relative)? {
                            Ok(()) => rustix::fs::unlinkat(dir, name, AtFlags::empty()),
                            Err(e) => Err(e),
                        }
                    }
                    moved => moved,
                },
                Why::Replaced => {
                    match rustix::fs::linkat(
                        dir,
                        name,
                        &history,
                        version_name.as_str(),
                        AtFlags::empty(),
                    ) {
                        // A file system without hard links (or a file with too many): a copy.
                        Err(Errno::PERM | Errno::XDEV | Errno::MLINK | Errno::OPNOTSUPP) => {
                            copy_aside(dir, name, &history, &version_name, relative)?
                        }
                        linked => linked,
                    }
                }
            };
            match put {
                Ok(()) => return Ok(history_path(relative).join(version_name)),
                Err(Errno::EXIST) => {}
                Err(e) => return Err(StoreError::io(relative, e)),
            }
        }
        Err(StoreError::io(relative, Errno::EXIST))
    }

    /// The history's lock file (`flock`, which every process on the folder honours, over
    /// NFS too), open: making the history if it is missing. Blocking (briefly).
    pub fn lock_file(&self) -> Result<LockFile, StoreError> {
        let shown = Path::new(HISTORY_DIR).join(LOCK_FILE);
        let history = self.folder(&[OsStr::new(HISTORY_DIR)], true, &shown)?;
        let lock = rustix::fs::openat(
            &history,
            LOCK_FILE,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| StoreError::io(&shown, e))?;
        Ok(LockFile(lock))
    }

    /// The files written of late by any server on the folder (relative paths, oldest first).
    pub fn recent_writes(&self, _held: &HistoryLock) -> Vec<PathBuf> {
        let Ok(history) = self.folder(&[OsStr::new(HISTORY_DIR)], false, Path::new(HISTORY_DIR))
        else {
            return Vec::new();
        };
        let Ok(file) = disk::open_file(&history, WRITES_FILE, OFlags::RDONLY | OFlags::NONBLOCK)
        else {
            return Vec::new();
        };
        let mut text = String::new();
        let _ = File::from(file).take(64 * 1024).read_to_string(&mut text);
        text.lines()
            .map(PathBuf::from)
            .filter(|p| split(p).is_ok())
            .collect()
    }

    /// Adds `relative` to the writes of late (keeping the last [`RECENT_WRITES`]). A path
    /// that cannot be written on a line of its own is left out.
    pub fn note_write(&self, held: &HistoryLock, relative: &Path) -> Result<(), StoreError> {
        let Some(line) = relative.to_str().filter(|l| !l.contains(['\n', '\r'])) else {
            return Ok(());
        };
        let mut writes = self.recent_writes(held);
        writes.retain(|w| w != relative);
        writes.push(PathBuf::from(line));
        let skip = writes.len().saturating_sub(RECENT_WRITES);
        let mut text = String::new();
        for write in &writes[skip..] {
            text.push_str(&write.to_string_lossy());
            text.push('\n');
        }
        let shown = Path::new(HISTORY_DIR).join(WRITES_FILE);
        let history = self.folder(&[OsStr::new(HISTORY_DIR)], true, &shown)?;
        write_aside(&history, text.as_bytes(), 0o600, &shown)?
            .replace(WRITES_FILE)
            .map_err(|e| StoreError::io(&shown, e))
    }

    /// Removes a version just kept for a write that then failed.
    fn forget(&self, kept: &Path) {
        let (Some(parent), Some(name)) = (kept.parent(), kept.file_name()) else {
            return;
        };
        let Ok((mut folders, last)) = split(parent) else {
            return;
        };
        folders.push(last);
        if let Ok(dir) = self.folder(&folders, false, kept) {
            let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
        }
    }

    /// The folder `folders` below the root, made when `make` is set: each opened beneath the
    /// last without following a symlink.
    fn folder(
        &self,
        folders: &[&OsStr],
        make: bool,
        relative: &Path,
    ) -> Result<OwnedFd, StoreError> {
        let mode = |depth: usize, folder: &OsStr| {
            // The history holds what authors took away (a draft, say): for those who run the
            // server only.
            let mode = if depth == 0 && folder == HISTORY_DIR {
                0o700
            } else {
                0o755
            };
            make.then(|| Mode::from_raw_mode(mode))
        };
        disk::open_folders(self.dir_fd(), folders, FolderUse::Read, mode).map_err(|stuck| {
            let walked: PathBuf = match folders.get(..=stuck.opened) {
                Some(walked) => walked.iter().collect(),
                None => relative.to_owned(),
            };
            match stuck.errno {
                Errno::NOENT => StoreError::Missing(walked),
                Errno::LOOP | Errno::NOTDIR => StoreError::NotPlain(walked),
                e => StoreError::io(&walked, e),
            }
        })
    }
}

/// Where the versions of `file` are kept, relative to the root.
fn history_path(file: &Path) -> PathBuf {
    Path::new(HISTORY_DIR).join(file)
}

/// Copies the file `name` of `dir` to `version` in `history`, whole (a temporary name, then
/// a rename that never replaces).
fn copy_aside(
    dir: &OwnedFd,
    name: &OsStr,
    history: &OwnedFd,
    version: &str,
    relative: &Path,
) -> Result<Result<(), Errno>, StoreError> {
    let source = disk::open_file(dir, name, OFlags::RDONLY | OFlags::NONBLOCK)
        .map_err(|e| StoreError::io(relative, e))?;
    let mode = rustix::fs::fstat(&source)
        .map(|st| st.st_mode & 0o7777)
        .map_err(|e| StoreError::io(relative, e))?;
    let mut bytes = Vec::new();
    File::from(source)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io(relative, e))?;
    // With its own permissions, which a restore gives back.
    match write_aside(history, &bytes, mode, relative)?.place_new(version) {
        Ok(()) => Ok(Ok(())),
        Err(Errno::EXIST) => Ok(Err(Errno::EXIST)),
        Err(e) => Err(StoreError::io(relative, e)),
    }
}

/// `bytes` written whole and durable in `dir` under a new dot-name (hidden, so neither served
/// nor read as a post), with exactly `mode`, to be renamed into place.
fn write_aside<'d>(
    dir: &'d OwnedFd,
    bytes: &[u8],
    mode: u32,
    relative: &Path,
) -> Result<Written<'d>, StoreError> {
    Written::new(
        dir.as_fd(),
        Temporary::Unique(TEMPORARY),
        bytes,
        FileMode::Exactly(mode),
        Durability::Synced,
    )
    .map_err(|e| StoreError::io(relative, e))
}

/// Adds the versions below `dir` (the history folder of the path `at`) to `found`.
fn collect_history(
    dir: &OwnedFd,
    at: &Path,
    depth: usize,
    budget: &mut usize,
    found: &mut Vec<History>,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut versions = Vec::new();
    for disk::Entry { name, kind, size } in disk::entries(dir, budget)? {
        match kind {
            FileType::Directory => {
                if let Ok(inner) = disk::open_folder(dir, &name) {
                    collect_history(&inner, &at.join(&name), depth + 1, budget, found)?;
                }
            }
            FileType::RegularFile => {
                if let Some(v) = name.to_str().and_then(|n| Version::parse(n, size)) {
                    versions.push(v);
                }
            }
            _ => {}
        }
    }
    if !versions.is_empty() && !at.as_os_str().is_empty() {
        versions.sort_by(|a, b| a.when.cmp(&b.when));
        found.push(History {
            file: at.to_owned(),
            versions,
        });
    }
    Ok(())
}

/// The bytes of the regular files below `dir`, symlinks not followed.
fn bytes_below(dir: &OwnedFd, depth: usize, budget: &mut usize) -> io::Result<u64> {
    if depth > MAX_DEPTH {
        return Ok(0);
    }
    let mut total = 0;
    for disk::Entry { name, kind, size } in disk::entries(dir, budget)? {
        // Dot-files are no author's: the history's lock and list of writes, a write under way.
        if name.as_bytes().starts_with(b".") {
            continue;
        }
        match kind {
            // A folder costs a block of the disk (and an entry each scan walks).
            FileType::Directory => {
                total += FOLDER_BYTES;
                if let Ok(inner) = disk::open_folder(dir, &name) {
                    total += bytes_below(&inner, depth + 1, budget)?;
                }
            }
            FileType::RegularFile => total += size,
            _ => {}
        }
    }
    Ok(total)
}

/// The folders and the file name of a relative path of plain names.
fn split(relative: &Path) -> Result<(Vec<&OsStr>, &OsStr), StoreError> {
    let mut names = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => names.push(name),
            _ => return Err(StoreError::NotPlain(relative.to_owned())),
        }
    }
    let name = names
        .pop()
        .ok_or_else(|| StoreError::Missing(relative.to_owned()))?;
    Ok((names, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, CapsuleRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = CapsuleRoot::open(dir.path()).unwrap();
        (dir, root)
    }

    fn locked(root: &CapsuleRoot) -> HistoryLock {
        root.lock_file()
            .unwrap()
            .lock(std::time::Duration::from_secs(5))
            .unwrap()
    }

    #[test]
    fn stores_whole_files_in_new_folders_and_keeps_permissions() {
        let (dir, root) = root();
        let kept = root
            .store(
                &locked(&root),
                Path::new("posts/2026/new.md"),
                b"# Hi\n",
                None,
                None,
            )
            .unwrap();
        assert_eq!(kept, None);
        let path = dir.path().join("posts/2026/new.md");
        assert_eq!(std::fs::read(&path).unwrap(), b"# Hi\n");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        root.store(
            &locked(&root),
            Path::new("posts/2026/new.md"),
            b"# Again\n",
            None,
            None,
        )
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"# Again\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("posts/2026"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["new.md"]);
    }

    #[test]
    fn nothing_is_written_through_a_symlink() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("posts")).unwrap();
        assert!(matches!(
            root.check_writable(Path::new("posts/x.md")),
            Err(StoreError::NotPlain(_))
        ));
        assert!(matches!(
            root.store(&locked(&root), Path::new("posts/x.md"), b"x", None, None),
            Err(StoreError::NotPlain(_))
        ));
        std::fs::create_dir(dir.path().join("p")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("p/f.md")).unwrap();
        assert!(root.check_writable(Path::new("p/f.md")).is_err());
        assert!(
            root.store(&locked(&root), Path::new("p/f.md"), b"x", None, None)
                .is_err()
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(root.check_writable(Path::new("q/new/x.md")).is_ok());
        // Nor into a history folder that leads out.
        std::fs::write(dir.path().join("p/real.md"), "one").unwrap();
        std::fs::remove_dir_all(dir.path().join(HISTORY_DIR)).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join(HISTORY_DIR)).unwrap();
        // No lock through it, so no write.
        assert!(matches!(root.lock_file(), Err(StoreError::NotPlain(_))));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("p/real.md")).unwrap(),
            "one"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn every_replaced_and_deleted_version_is_kept_and_can_be_put_back() {
        let (dir, root) = root();
        let file = Path::new("posts/x.md");
        root.store(&locked(&root), file, b"one", None, None)
            .unwrap();
        let first = root
            .store(&locked(&root), file, b"two", None, None)
            .unwrap()
            .unwrap();
        assert!(first.starts_with(".history/posts/x.md"), "{first:?}");
        assert_eq!(std::fs::read(dir.path().join(&first)).unwrap(), b"one");
        root.store(&locked(&root), file, b"three", None, None)
            .unwrap()
            .unwrap();
        let gone = root.remove(&locked(&root), file).unwrap();
        assert!(!dir.path().join(file).exists());
        assert_eq!(std::fs::read(dir.path().join(&gone)).unwrap(), b"three");
        let history = root.history(None).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].file, file);
        let whys: Vec<(Why, u64)> = history[0]
            .versions
            .iter()
            .map(|v| (v.why, v.bytes))
            .collect();
        assert_eq!(
            whys,
            [(Why::Replaced, 3), (Why::Replaced, 3), (Why::Deleted, 5)]
        );
        assert_eq!(root.history(Some(file)).unwrap(), history);
        assert!(
            root.history(Some(Path::new("posts/y.md")))
                .unwrap()
                .is_empty()
        );
        // The newest comes back; the others by the start of their name.
        let restored = root.restore(file, None).unwrap();
        assert_eq!(restored.version.why, Why::Deleted);
        assert_eq!(restored.kept, None);
        assert_eq!(std::fs::read(dir.path().join(file)).unwrap(), b"three");
        let oldest = history[0].versions[0].when.clone();
        let restored = root.restore(file, Some(&oldest)).unwrap();
        assert!(restored.kept.is_some());
        assert_eq!(std::fs::read(dir.path().join(file)).unwrap(), b"one");
        // Nothing was lost on the way: four versions now, "three" among them twice.
        let versions = &root.history(Some(file)).unwrap()[0].versions;
        assert_eq!(versions.len(), 4);
        assert!(matches!(
            root.restore(file, Some("1999")),
            Err(StoreError::NoSuchVersion(_))
        ));
        assert!(matches!(
            root.restore(file, Some("2")),
            Err(StoreError::NoSuchVersion(m)) if m.contains("versions")
        ));
        assert!(matches!(
            root.remove(&locked(&root), Path::new("posts/none.md")),
            Err(StoreError::Missing(_))
        ));
        // The history counts against the bytes held, its folders a block each.
        let posts = [vec!["posts".to_owned()]];
        let held = root.bytes_held(&posts).unwrap();
        assert_eq!(held, 3 + (3 + 3 + 5 + 5) + 2 * FOLDER_BYTES);
        // A write that would pass a quota is refused, the file as it was.
        let quota = Quota {
            below: posts.to_vec(),
            limit: held + 3,
        };
        assert!(matches!(
            root.store(&locked(&root), file, b"four", None, Some(&quota)),
            Err(StoreError::OverQuota { held: h, .. }) if h == held
        ));
        assert_eq!(std::fs::read(dir.path().join(file)).unwrap(), b"one");
        root.store(&locked(&root), file, b"abc", None, Some(&quota))
            .unwrap();
    }

    /// One holder of the lock at a time, whichever process; the writes of late are kept, the
    /// last 64.
    #[test]
    fn the_history_lock_is_held_by_one_writer_and_remembers_the_writes() {
        let (_dir, root) = root();
        let first = locked(&root);
        let second = root.lock_file().unwrap();
        let second = second.try_lock().unwrap_err();
        assert!(matches!(
            second.lock(std::time::Duration::from_millis(50)),
            Err(StoreError::Busy)
        ));
        for i in 0..70 {
            root.note_write(&first, Path::new(&format!("posts/{i}.md")))
                .unwrap();
        }
        root.note_write(&first, Path::new("posts/10.md")).unwrap();
        let writes = root.recent_writes(&first);
        assert_eq!(writes.len(), 64);
        assert_eq!(writes[0], Path::new("posts/6.md"));
        assert_eq!(writes[63], Path::new("posts/10.md"));
        drop(first);
        let again = locked(&root);
        assert_eq!(root.recent_writes(&again).len(), 64);
    }

    #[test]
    fn bytes_held_counts_each_folder_once_and_follows_no_link() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![0u8; 10_000]).unwrap();
        std::fs::create_dir_all(dir.path().join("posts/a")).unwrap();
        std::fs::write(dir.path().join("posts/a/x"), "12345").unwrap();
        std::fs::write(dir.path().join("posts/y"), "123").unwrap();
        std::fs::write(dir.path().join("other"), "1234567").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("posts/out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("big"), dir.path().join("posts/big"))
            .unwrap();
        let held = root
            .bytes_held(&[
                vec!["posts".into()],
                vec!["posts".into(), "a".into()],
                vec!["missing".into()],
            ])
            .unwrap();
        assert_eq!(held, 8 + FOLDER_BYTES);
        // Every folder from the root (`paths = ["/"]`): the root is listed like any folder,
        // though the capsule holds it by a descriptor that cannot list.
        let all = root.bytes_held(&[Vec::new()]).unwrap();
        assert_eq!(all, 8 + 7 + 2 * FOLDER_BYTES);
    }
}
