//! Writing into the capsule (uploads from authors' clients): a file is written whole under a
//! temporary dot-name in its folder, then renamed into place, so a reader or the watcher never
//! sees half of it; a file taken away is moved to `.trash/`, never unlinked. Every folder on
//! the way is opened beneath the capsule's descriptor without following a symlink: nothing is
//! ever written outside the capsule, whatever is swapped in while it happens.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::files::CapsuleRoot;

/// The folder, at the capsule's top, that deleted files are moved to (never served: its name
/// starts with a dot).
pub const TRASH_DIR: &str = ".trash";

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
        match kind_of(&dir, name) {
            Ok(None | Some(FileType::RegularFile)) => Ok(()),
            Ok(Some(_)) => Err(StoreError::NotPlain(relative.to_owned())),
            Err(e) => Err(StoreError::io(relative, e)),
        }
    }

    /// Writes `bytes` as the file at `relative` (a path below the root, of visible names),
    /// making the folders on the way. The new file keeps the permissions of the one it
    /// replaces. Blocking.
    pub fn store(&self, relative: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let (folders, name) = split(relative)?;
        let dir = self.folder(&folders, true, relative)?;
        let mode = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                Mode::from_raw_mode(st.st_mode) & Mode::from_raw_mode(0o7777)
            }
            Ok(_) => return Err(StoreError::NotPlain(relative.to_owned())),
            Err(Errno::NOENT) => Mode::from_raw_mode(0o644),
            Err(e) => return Err(StoreError::io(relative, e)),
        };
        let (temporary, file) = new_temporary(&dir, relative)?;
        let written = write_whole(file, bytes, mode)
            .and_then(|()| rustix::fs::renameat(&dir, &temporary, &dir, name).map_err(Into::into));
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&dir, &temporary, AtFlags::empty());
            return Err(StoreError::io(relative, e));
        }
        Ok(())
    }

    /// Moves the file at `relative` into [`TRASH_DIR`], in a folder named by the time, under
    /// its own path and name (`.trash/<nanoseconds>/posts/x.md`); returns where it went
    /// (relative to the root). Blocking.
    pub fn trash(&self, relative: &Path) -> Result<PathBuf, StoreError> {
        let (folders, name) = split(relative)?;
        let dir = self.folder(&folders, false, relative)?;
        match kind_of(&dir, name) {
            Ok(Some(FileType::RegularFile)) => {}
            Ok(None) => return Err(StoreError::Missing(relative.to_owned())),
            Ok(Some(_)) => return Err(StoreError::NotPlain(relative.to_owned())),
            Err(e) => return Err(StoreError::io(relative, e)),
        }
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        for attempt in 0..100u32 {
            let when = std::ffi::OsString::from(format!("{}", stamp + i128::from(attempt)));
            let mut trash_folders = vec![std::ffi::OsStr::new(TRASH_DIR), &when];
            trash_folders.extend(folders.iter().copied());
            let trash = self.folder(&trash_folders, true, relative)?;
            match rustix::fs::renameat_with(&dir, name, &trash, name, RenameFlags::NOREPLACE) {
                Ok(()) => return Ok(Path::new(TRASH_DIR).join(&when).join(relative)),
                Err(Errno::EXIST) => {}
                Err(e) => return Err(StoreError::io(relative, e)),
            }
        }
        Err(StoreError::io(relative, Errno::EXIST))
    }

    /// The folder `folders` below the root, made when `make` is set: each opened beneath the
    /// last without following a symlink.
    fn folder(
        &self,
        folders: &[&std::ffi::OsStr],
        make: bool,
        relative: &Path,
    ) -> Result<OwnedFd, StoreError> {
        let mut at = rustix::io::dup(self.dir_fd()).map_err(|e| StoreError::io(relative, e))?;
        let mut walked = PathBuf::new();
        for folder in folders {
            walked.push(folder);
            let opened = match open_folder(at.as_fd(), folder) {
                Err(Errno::NOENT) if make => {
                    match rustix::fs::mkdirat(&at, *folder, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => open_folder(at.as_fd(), folder),
                        Err(e) => Err(e),
                    }
                }
                opened => opened,
            };
            at = match opened {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Err(StoreError::Missing(walked)),
                Err(Errno::LOOP | Errno::NOTDIR) => return Err(StoreError::NotPlain(walked)),
                Err(e) => return Err(StoreError::io(&walked, e)),
            };
        }
        Ok(at)
    }
}

/// The folders and the file name of a relative path of plain names.
fn split(relative: &Path) -> Result<(Vec<&std::ffi::OsStr>, &std::ffi::OsStr), StoreError> {
    let mut names = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(name) => names.push(name),
            _ => return Err(StoreError::NotPlain(relative.to_owned())),
        }
    }
    let name = names
        .pop()
        .ok_or_else(|| StoreError::Missing(relative.to_owned()))?;
    Ok((names, name))
}

fn open_folder(at: BorrowedFd<'_>, name: &std::ffi::OsStr) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// What stands at `name` in `dir` (a symlink as itself); `None`: nothing.
fn kind_of(dir: impl AsFd, name: &std::ffi::OsStr) -> Result<Option<FileType>, Errno> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new, empty dot-file in `dir` (hidden, so neither served nor read as a post).
fn new_temporary(dir: &OwnedFd, relative: &Path) -> Result<(std::ffi::OsString, File), StoreError> {
    let pid = std::process::id();
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000;
    for attempt in 0..100u32 {
        // Short whatever the name (a 255-byte name must still fit beside it).
        let temporary = std::ffi::OsString::from(format!(".upload-{pid}-{stamp}-{attempt}"));
        match rustix::fs::openat(
            dir,
            &temporary,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((temporary, File::from(fd))),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(StoreError::io(relative, e)),
        }
    }
    Err(StoreError::io(relative, Errno::EXIST))
}

/// Writes all of `bytes`, gives the file `mode`, and makes it durable before it is renamed.
fn write_whole(mut file: File, bytes: &[u8], mode: Mode) -> io::Result<()> {
    file.write_all(bytes)?;
    rustix::fs::fchmod(&file, mode)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, CapsuleRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = CapsuleRoot::open(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn stores_whole_files_in_new_folders_and_keeps_permissions() {
        let (dir, root) = root();
        root.store(Path::new("posts/2026/new.md"), b"# Hi\n")
            .unwrap();
        let path = dir.path().join("posts/2026/new.md");
        assert_eq!(std::fs::read(&path).unwrap(), b"# Hi\n");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        root.store(Path::new("posts/2026/new.md"), b"# Again\n")
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
            root.store(Path::new("posts/x.md"), b"x"),
            Err(StoreError::NotPlain(_))
        ));
        std::fs::create_dir(dir.path().join("p")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("p/f.md")).unwrap();
        assert!(root.check_writable(Path::new("p/f.md")).is_err());
        assert!(root.store(Path::new("p/f.md"), b"x").is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(root.check_writable(Path::new("q/new/x.md")).is_ok());
    }

    #[test]
    fn trash_keeps_what_it_takes() {
        let (dir, root) = root();
        root.store(Path::new("posts/x.md"), b"old").unwrap();
        let place = root.trash(Path::new("posts/x.md")).unwrap();
        assert!(place.starts_with(".trash"), "{}", place.display());
        assert!(place.ends_with("posts/x.md"), "{}", place.display());
        assert!(!dir.path().join("posts/x.md").exists());
        assert_eq!(std::fs::read(dir.path().join(&place)).unwrap(), b"old");
        assert!(matches!(
            root.trash(Path::new("posts/x.md")),
            Err(StoreError::Missing(_))
        ));
    }
}
