//! File-system access beneath a root: every folder and file below a folder descriptor is
//! opened relative to it, a name at a time, without following a symbolic link, so whatever is
//! swapped in while it happens, nothing is read or written outside the root. A file is written
//! whole under a temporary dot-name in its folder and then renamed into place, so a reader
//! never sees half of it; whether it is made durable first, and whether it may replace what is
//! there, is the caller's to say ([`Durability`], [`Written::replace`],
//! [`Written::place_new`], [`create_new`]), as is the mode it gets ([`FileMode`]).
//!
//! The capsule's uploads and restores (`content::store`), the capsule's files as they are
//! served (`content::files`), a new post (`content::scaffold`), a static build
//! (`publish`) and generated certificates (`server::tls`) all go through here. Nothing of
//! the crate is used: it knows of no capsule, build or certificate.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use rustix::path::Arg;

/// Whether a file is made durable (`fsync`) before it is renamed into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Its bytes are on the disk before its name is: a crash leaves the old file or the new
    /// one, never an empty or half-written file under the name.
    Synced,
    /// Left to the kernel to write back: for what is made again from its source anyway.
    Unsynced,
}

/// The permissions a new file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// These bits, whatever the process's umask (a private key's 0600 is 0600).
    Exactly(u32),
    /// These bits less the process's umask, as `open(2)` gives them (0666: what any new file
    /// of a program gets).
    Umasked(u32),
}

/// What a folder is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderUse {
    /// Read: its entries listed, a lock taken on it, files made in it.
    Read,
    /// Only a place to open what is in it (`O_PATH`: nothing is read from it).
    Path,
}

impl FolderUse {
    fn flags(self) -> OFlags {
        let access = match self {
            FolderUse::Read => OFlags::RDONLY,
            FolderUse::Path => OFlags::PATH,
        };
        access | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
    }
}

/// Where a walk of [`open_folders`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck {
    /// How many of the names were opened before it: the next one is where it stopped.
    pub opened: usize,
    /// Why: `NOENT` (missing), `LOOP` or `NOTDIR` (a symlink or a file where a folder
    /// should be), or another error.
    pub errno: Errno,
}

/// One entry of a folder, as itself (a symlink is a symlink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub kind: FileType,
    /// Bytes, for a regular file.
    pub size: u64,
}

/// The folder at `path`, opened for reading. The root itself is where its owner configured
/// it: a symlink on the way there is followed.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The folder `name` in `dir`, opened for reading without following a symlink at its name
/// (`LOOP` or `NOTDIR` then).
pub fn open_folder(dir: impl AsFd, name: impl Arg) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(dir, name, FolderUse::Read.flags(), Mode::empty())
}

/// The folder reached from `root` by `names`, each opened beneath the last without following
/// a symlink. `make` gives the mode of a folder that does not exist (by its depth and name),
/// or `None` to stop there (`NOENT`). No names: `root` again (a new descriptor of it).
pub fn open_folders(
    root: BorrowedFd<'_>,
    names: &[&OsStr],
    usage: FolderUse,
    make: impl Fn(usize, &OsStr) -> Option<Mode>,
) -> Result<OwnedFd, Stuck> {
    let mut at: Option<OwnedFd> = None;
    for (depth, &name) in names.iter().enumerate() {
        let dir = at.as_ref().map_or(root, AsFd::as_fd);
        let opened = match rustix::fs::openat(dir, name, usage.flags(), Mode::empty()) {
            Err(Errno::NOENT) => match make(depth, name) {
                Some(mode) => match rustix::fs::mkdirat(dir, name, mode) {
                    // Made meanwhile (another writer): opened as any folder is.
                    Ok(()) | Err(Errno::EXIST) => {
                        rustix::fs::openat(dir, name, usage.flags(), Mode::empty())
                    }
                    Err(e) => Err(e),
                },
                None => Err(Errno::NOENT),
            },
            opened => opened,
        };
        at = Some(opened.map_err(|errno| Stuck {
            opened: depth,
            errno,
        })?);
    }
    match at {
        Some(fd) => Ok(fd),
        // The root itself, opened anew for this use: the descriptor it was held by may be
        // one that cannot list (`O_PATH`).
        None => rustix::fs::openat(root, ".", usage.flags(), Mode::empty())
            .map_err(|errno| Stuck { opened: 0, errno }),
    }
}

/// The file `name` in `dir`, opened with `flags` (close-on-exec) and never through a symlink
/// at its name (`LOOP`).
pub fn open_file(dir: impl AsFd, name: impl Arg, flags: OFlags) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        dir,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// What stands at `name` in `dir` (a symlink as itself); `None`: nothing.
pub fn kind(dir: impl AsFd, name: impl Arg) -> Result<Option<FileType>, Errno> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The names in a folder, `.` and `..` aside.
pub fn names(dir: impl AsFd) -> Result<Vec<OsString>, Errno> {
    let mut unbounded = usize::MAX;
    read_names(dir, &mut unbounded)
}

/// The entries of a folder (`.` and `..` aside) with their type and size, symlinks as
/// themselves; at most `budget` in all the listings that share it (each name counts, and one
/// gone before it was looked at is left out).
pub fn entries(dir: impl AsFd, budget: &mut usize) -> Result<Vec<Entry>, Errno> {
    let dir = dir.as_fd();
    let mut out = Vec::new();
    for name in read_names(dir, budget)? {
        let Ok(st) = rustix::fs::statat(dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        out.push(Entry {
            name,
            kind: FileType::from_raw_mode(st.st_mode),
            size: st.st_size.max(0) as u64,
        });
    }
    Ok(out)
}

fn read_names(dir: impl AsFd, budget: &mut usize) -> Result<Vec<OsString>, Errno> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        out.push(OsStr::from_bytes(name).to_owned());
    }
    Ok(out)
}

/// A file written whole under a temporary name in its folder, not yet in place. Dropped
/// before it is placed, it is removed.
#[derive(Debug)]
pub struct Written<'d> {
    dir: BorrowedFd<'d>,
    temporary: OsString,
    placed: bool,
}

/// The name a [`Written`] file has until it is placed.
#[derive(Debug, Clone, Copy)]
pub enum Temporary<'a> {
    /// A new dot-name of its own, `.<prefix>-<pid>-<time>-<n>`: hidden, and short whatever
    /// the name it is for.
    Unique(&'a str),
    /// This name, which must not exist yet (`AlreadyExists`: nothing is written, nor removed).
    Named(&'a OsStr),
}

impl<'d> Written<'d> {
    /// Writes `bytes` in `dir` under a `temporary` name, with `mode`, made durable or not.
    pub fn new(
        dir: BorrowedFd<'d>,
        temporary: Temporary<'_>,
        bytes: &[u8],
        mode: FileMode,
        durability: Durability,
    ) -> io::Result<Written<'d>> {
        let created = match mode {
            // Private until its mode is set.
            FileMode::Exactly(_) => 0o600,
            FileMode::Umasked(bits) => bits,
        };
        let (fd, temporary) = match temporary {
            Temporary::Named(name) => (create(dir, name, created)?, name.to_owned()),
            Temporary::Unique(prefix) => create_unique(dir, prefix, created)?,
        };
        // Removed again if anything below fails.
        let written = Written {
            dir,
            temporary,
            placed: false,
        };
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        if let FileMode::Exactly(bits) = mode {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(bits & 0o7777))?;
        }
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        Ok(written)
    }

    /// Renames it to `name`, replacing whatever file is there: a reader sees the old file or
    /// the new one, and a hard link to the old one keeps its bytes.
    pub fn replace(&mut self, name: impl Arg) -> Result<(), Errno> {
        rustix::fs::renameat(self.dir, self.temporary.as_os_str(), self.dir, name)?;
        self.placed = true;
        Ok(())
    }

    /// Renames it to `name` only if nothing is there (`EXIST`, and it stays pending). Where the
    /// file system cannot rename without replacing (NFS), it is hard-linked there instead,
    /// which fails the same way.
    pub fn place_new(&mut self, name: impl Arg + Copy) -> Result<(), Errno> {
        let temporary = self.temporary.as_os_str();
        match rustix::fs::renameat_with(self.dir, temporary, self.dir, name, RenameFlags::NOREPLACE)
        {
            Err(Errno::INVAL | Errno::NOSYS) => {
                rustix::fs::linkat(self.dir, temporary, self.dir, name, AtFlags::empty())?;
                let _ = rustix::fs::unlinkat(self.dir, temporary, AtFlags::empty());
            }
            renamed => renamed?,
        }
        self.placed = true;
        Ok(())
    }
}

/// A new file `name` in `dir`, for writing, never through a symlink.
fn create(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode & 0o7777),
    )
}

/// A new file in `dir` under a name no other has ([`Temporary::Unique`]).
fn create_unique(
    dir: BorrowedFd<'_>,
    prefix: &str,
    mode: u32,
) -> Result<(OwnedFd, OsString), Errno> {
    let pid = std::process::id();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    for attempt in 0..100u32 {
        let name = OsString::from(format!(".{prefix}-{pid}-{stamp}-{attempt}"));
        match create(dir, &name, mode) {
            Ok(fd) => return Ok((fd, name)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EXIST)
}

impl Drop for Written<'_> {
    fn drop(&mut self) {
        if !self.placed {
            let _ = rustix::fs::unlinkat(self.dir, self.temporary.as_os_str(), AtFlags::empty());
        }
    }
}

/// Makes `name` in `dir` with `bytes` and `mode`, whole or not at all, and never in place of
/// a file (or anything) that is there (`AlreadyExists`), even one made meanwhile.
pub fn create_new(
    dir: impl AsFd,
    name: impl Arg + Copy,
    bytes: &[u8],
    mode: FileMode,
    durability: Durability,
) -> io::Result<()> {
    let mut written = Written::new(
        dir.as_fd(),
        Temporary::Unique("new"),
        bytes,
        mode,
        durability,
    )?;
    Ok(written.place_new(name)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn root() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let fd = open_root(dir.path()).unwrap();
        (dir, fd)
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names_in(path: &Path) -> Vec<OsString> {
        let mut names: Vec<OsString> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_symlink_where_a_folder_is_expected_is_refused() {
        let (dir, root) = root();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("real/link")).unwrap();
        std::fs::write(dir.path().join("real/file"), "x").unwrap();
        let walk = |names: &[&str], usage, make: bool| {
            let names: Vec<&OsStr> = names.iter().map(OsStr::new).collect();
            open_folders(root.as_fd(), &names, usage, |_, _| {
                make.then(|| Mode::from_raw_mode(0o750))
            })
        };
        for usage in [FolderUse::Read, FolderUse::Path] {
            assert!(walk(&["real"], usage, false).is_ok());
            let stuck = walk(&["real", "link", "x"], usage, true).unwrap_err();
            assert_eq!(stuck.opened, 1);
            assert!(
                matches!(stuck.errno, Errno::LOOP | Errno::NOTDIR),
                "{stuck:?}"
            );
            let stuck = walk(&["real", "file"], usage, true).unwrap_err();
            assert_eq!(stuck.errno, Errno::NOTDIR);
            let stuck = walk(&["real", "missing"], usage, false).unwrap_err();
            assert_eq!((stuck.opened, stuck.errno), (1, Errno::NOENT));
        }
        assert!(matches!(
            open_folder(&root, "real/link"),
            Err(Errno::LOOP | Errno::NOTDIR)
        ));
        // A file through a link at its own name is refused too.
        std::os::unix::fs::symlink(dir.path().join("real/file"), dir.path().join("alias")).unwrap();
        assert_eq!(
            open_file(&root, "alias", OFlags::RDONLY).unwrap_err(),
            Errno::LOOP
        );
        assert!(open_file(&root, "real/file", OFlags::RDONLY).is_ok());
        // Nothing was made where the link leads.
        assert!(names_in(outside.path()).is_empty());
        // Missing folders are made, with the mode asked for (less the umask's part).
        let made = walk(&["new", "deeper"], FolderUse::Read, true).unwrap();
        assert_eq!(kind(&made, ".").unwrap(), Some(FileType::Directory));
        assert!(dir.path().join("new/deeper").is_dir());
        assert_eq!(mode_of(&dir.path().join("new/deeper")) & !0o750, 0);
        assert_eq!(kind(&root, "alias").unwrap(), Some(FileType::Symlink));
        assert_eq!(kind(&root, "none").unwrap(), None);
    }

    #[test]
    fn entries_are_listed_as_themselves_within_a_budget() {
        let (dir, root) = root();
        std::fs::write(dir.path().join("a"), "123").unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("c")).unwrap();
        let mut budget = 10;
        let mut found = entries(&root, &mut budget).unwrap();
        found.sort_by(|x, y| x.name.cmp(&y.name));
        let kinds: Vec<(&OsStr, FileType)> =
            found.iter().map(|e| (e.name.as_os_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (OsStr::new("a"), FileType::RegularFile),
                (OsStr::new("b"), FileType::Directory),
                (OsStr::new("c"), FileType::Symlink),
            ]
        );
        assert_eq!(found[0].size, 3);
        assert_eq!(budget, 7);
        let mut budget = 2;
        assert_eq!(entries(&root, &mut budget).unwrap().len(), 2);
        assert_eq!(budget, 0);
        assert!(entries(&root, &mut budget).unwrap().is_empty());
        assert_eq!(names(&root).unwrap().len(), 3);
    }

    #[test]
    fn create_new_never_replaces_and_gives_the_mode_asked_for() {
        let (dir, root) = root();
        let create = |name: &str, bytes: &[u8], mode, durability| {
            create_new(&root, name, bytes, mode, durability)
        };
        let key = dir.path().join("key.pem");
        create(
            "key.pem",
            b"secret",
            FileMode::Exactly(0o600),
            Durability::Synced,
        )
        .unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"secret");
        assert_eq!(mode_of(&key), 0o600);
        let again = create(
            "key.pem",
            b"other",
            FileMode::Exactly(0o644),
            Durability::Unsynced,
        );
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"secret");
        assert_eq!(mode_of(&key), 0o600);
        // Nor a symlink's place (nor where it leads).
        std::os::unix::fs::symlink(dir.path().join("target"), dir.path().join("link")).unwrap();
        let through = create("link", b"x", FileMode::Umasked(0o666), Durability::Synced);
        assert_eq!(through.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert!(!dir.path().join("target").exists());
        // Exact modes whatever the umask; the umask's part of the others.
        create("open", b"", FileMode::Exactly(0o664), Durability::Unsynced).unwrap();
        assert_eq!(mode_of(&dir.path().join("open")), 0o664);
        create(
            "masked",
            b"",
            FileMode::Umasked(0o640),
            Durability::Unsynced,
        )
        .unwrap();
        assert_eq!(mode_of(&dir.path().join("masked")) & !0o640, 0);
        // No temporary file is left behind, placed or refused.
        assert_eq!(
            names_in(dir.path()),
            ["key.pem", "link", "masked", "open"].map(OsString::from)
        );
    }

    #[test]
    fn a_rename_replaces_the_file_whole() {
        let (dir, root) = root();
        let path = dir.path().join("page");
        std::fs::write(&path, "old").unwrap();
        std::fs::hard_link(&path, dir.path().join("kept")).unwrap();
        let mut written = Written::new(
            root.as_fd(),
            Temporary::Unique("upload"),
            b"new",
            FileMode::Exactly(0o640),
            Durability::Synced,
        )
        .unwrap();
        // Something is there: not placed as new, and still pending.
        assert_eq!(written.place_new("page").unwrap_err(), Errno::EXIST);
        written.replace("page").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode_of(&path), 0o640);
        // The old file was replaced, not written over: another name for it keeps its bytes.
        assert_eq!(std::fs::read(dir.path().join("kept")).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), ["kept", "page"].map(OsString::from));
        // A reader never sees half a file, however often it is replaced.
        let (a, b) = (vec![b'a'; 256 * 1024], vec![b'b'; 256 * 1024]);
        let reader = {
            let path = path.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let read = std::fs::read(&path).unwrap();
                    let whole = read.len() == 256 * 1024 && read.iter().all(|&c| c == read[0]);
                    assert!(read == b"new" || whole, "half a file: {} bytes", read.len());
                }
            })
        };
        for i in 0..200 {
            let bytes = if i % 2 == 0 { &a } else { &b };
            Written::new(
                root.as_fd(),
                Temporary::Unique("upload"),
                bytes,
                FileMode::Umasked(0o644),
                Durability::Unsynced,
            )
            .unwrap()
            .replace("page")
            .unwrap();
        }
        reader.join().unwrap();
        // A temporary that is never placed goes when dropped; a taken name is left alone.
        let named = |name: &str| {
            let (mode, durability) = (FileMode::Umasked(0o644), Durability::Unsynced);
            let temporary = Temporary::Named(OsStr::new(name));
            Written::new(root.as_fd(), temporary, b"x", mode, durability)
        };
        drop(named(".tmp").unwrap());
        let taken = named("kept").unwrap_err();
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(dir.path().join("kept")).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), ["kept", "page"].map(OsString::from));
    }
}
