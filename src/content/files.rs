//! Maps a decoded request path onto a file under the capsule root, and decides what may be
//! served: only regular files that lie inside the root once every symlink is followed, and no
//! dot-file or dot-directory except under `/.well-known/`.
//!
//! The checks use the canonical (symlink-free) path, so a link that points outside the root or
//! at a hidden file is refused just like a direct request for it. The files the server keeps
//! secret (private keys, certificates, its configuration) must lie outside the capsule; any
//! path at or below one of them is refused too, as a second line.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::options::POSTS_DIR;
use crate::config::{AreaConfig, Config};
use crate::convert::mime::mime_for;
use crate::disk::{self, FolderUse};

/// The file every directory serves.
pub const INDEX_FILE: &str = "index.gmi";

/// A folder's section page (Hugo's and Zola's `_index.md`): its index when it has no
/// `index.gmi` or `index.md`, never a post.
pub const SECTION_FILE: &str = "_index.md";

/// The capsule folder, canonicalised once at start-up, and a descriptor of it that every file
/// is opened beneath.
#[derive(Debug, Clone)]
pub struct CapsuleRoot {
    /// The folder as configured, made absolute but not canonical: a deploy may swap it (or a
    /// symlink by that name) for another folder, which is then what it names.
    configured: PathBuf,
    root: PathBuf,
    dir: Arc<OwnedFd>,
    /// Canonical paths of what the server keeps secret; nothing at or below them is served.
    secrets: Arc<[PathBuf]>,
    /// The files among them (device and inode), so that no other name for them (a hard link,
    /// the folder moved) opens them either.
    secret_files: Arc<[(u64, u64)]>,
    /// The paths of client-certificate areas: a symlink never leads into one from outside it
    /// (the area's check is made on the path a client asks for), and posts there are never
    /// listed.
    areas: Arc<[AreaConfig]>,
}

/// Something the server keeps secret lies inside the capsule, where it would be served; or the
/// capsule lies inside it, where nothing is served.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.message())]
pub struct SecretInside {
    pub what: &'static str,
    pub path: PathBuf,
    pub capsule: PathBuf,
    pub fix: &'static str,
}

impl SecretInside {
    fn message(&self) -> String {
        let (what, path, capsule) = (self.what, self.path.display(), self.capsule.display());
        if self.capsule.starts_with(&self.path) {
            format!(
                "the capsule {capsule} lies inside {what} {path}, whose files are never served: \
                 keep the two apart ({})",
                self.fix
            )
        } else {
            format!(
                "{what} {path} lies inside the capsule {capsule}, so anyone could download \
                 it; keep it outside the capsule folder ({})",
                self.fix
            )
        }
    }
}

/// A file or folder the server keeps secret: what it is, where it is, and how to move it.
#[derive(Debug, Clone)]
pub struct Secret {
    pub what: &'static str,
    pub path: PathBuf,
    pub fix: &'static str,
}

impl Secret {
    /// What a configuration keeps secret: the certificate folder (private keys are generated
    /// there), every operator-supplied certificate and key, and the configuration file.
    pub fn of(config: &Config) -> Vec<Secret> {
        let mut secrets = vec![Secret {
            what: "the certificate folder",
            path: config.certs.clone(),
            fix: "set `certs` in config.toml, or pass --certs, to a folder elsewhere",
        }];
        // A folder in it may be a link to elsewhere (pairs in it are read): where it leads is
        // secret too.
        let links = std::fs::read_dir(&config.certs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()));
        for link in links {
            secrets.push(Secret {
                what: "the target of a link in the certificate folder",
                path: link.path(),
                fix: "point the link at a folder outside every capsule",
            });
        }
        for paths in config.tls.values() {
            let fix = "move it and point its [tls] table at the new place";
            secrets.push(Secret {
                what: "the certificate",
                path: paths.cert.clone(),
                fix,
            });
            secrets.push(Secret {
                what: "the private key",
                path: paths.key.clone(),
                fix,
            });
        }
        for http in config.hosts.iter().map(|h| &h.http) {
            let fix = "move it and point http.cert and http.key at the new place";
            for (what, path) in [
                ("the HTTPS certificate", &http.cert),
                ("the HTTPS private key", &http.key),
            ] {
                if let Some(path) = path {
                    secrets.push(Secret {
                        what,
                        path: path.clone(),
                        fix,
                    });
                }
            }
        }
        if let Some(keys) = &config.ticket_keys {
            secrets.push(Secret {
                what: "the session-ticket key file",
                path: keys.clone(),
                fix: "keep it outside the capsule, e.g. on tmpfs in /run",
            });
        }
        for templates in config.hosts.iter().filter_map(|h| h.templates.as_ref()) {
            secrets.push(Secret {
                what: "the templates folder",
                path: templates.clone(),
                fix: "keep it outside every capsule (it is never served), and point `templates` \
                      at the new place",
            });
        }
        if let Some(source) = &config.source {
            secrets.push(Secret {
                what: "the configuration file",
                path: source.clone(),
                fix: "move it out of the capsule and pass its path with --config",
            });
        }
        secrets
    }
}

/// What a request path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file inside the root: serve it with this MIME type.
    File { path: PathBuf, mime: &'static str },
    /// A Markdown file to convert and serve as gemtext.
    Markdown(PathBuf),
    /// A directory asked for without its trailing slash.
    AddSlash,
    /// Nothing servable: missing, hidden, outside the root, or not a regular file.
    NotFound(&'static str),
}

impl CapsuleRoot {
    /// Canonicalises `dir`; an error if it does not exist, is not a folder, or cannot be read
    /// (a folder that cannot be listed would be served as an empty capsule).
    pub fn open(dir: &Path) -> io::Result<CapsuleRoot> {
        let configured = std::path::absolute(dir)?;
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
        }
        std::fs::read_dir(&root)?;
        let dir = rustix::fs::open(
            &root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(CapsuleRoot {
            configured,
            root,
            dir: Arc::new(dir),
            secrets: Arc::new([]),
            secret_files: Arc::new([]),
            areas: Arc::new([]),
        })
    }

    /// The same folder with the paths of the host's client-certificate areas.
    pub fn with_areas(mut self, areas: &[AreaConfig]) -> CapsuleRoot {
        self.areas = areas.into();
        self
    }

    /// The client-certificate areas: the one list every protocol's admission asks (see
    /// `respond::access`).
    pub fn areas(&self) -> &[AreaConfig] {
        &self.areas
    }

    /// The areas a path (decoded segments) lies in: a request must pass every one.
    pub fn areas_over<'a>(
        &'a self,
        segments: &'a [String],
    ) -> impl Iterator<Item = &'a AreaConfig> {
        self.areas.iter().filter(move |a| a.path.covers(segments))
    }

    /// Whether a path (decoded segments) lies in a client-certificate area.
    pub fn in_area(&self, segments: &[String]) -> bool {
        self.areas_over(segments).next().is_some()
    }

    /// Whether a URL of the site (percent-encoded, root-relative) lies in an area.
    pub fn url_in_area(&self, url: &str) -> bool {
        !self.areas.is_empty() && self.in_area(&crate::convert::url::path_segments(url))
    }

    /// Whether the file really at `real` lies in an area that the path it was reached by,
    /// `requested`, does not (both relative to the root): then a symlink leads into the area
    /// from outside it, and the area's certificate check would be skipped.
    pub fn crosses_into_area(&self, requested: &Path, real: &Path) -> bool {
        if self.areas.is_empty() {
            return false;
        }
        let segments = |p: &Path| -> Vec<String> { names(p).map(str::to_owned).collect() };
        let (requested, real) = (segments(requested), segments(real));
        self.areas
            .iter()
            .any(|a| a.path.covers(&real) && !a.path.covers(&requested))
    }

    /// The folder as configured (absolute, not canonical).
    pub fn configured(&self) -> &Path {
        &self.configured
    }

    /// Whether the configured path now names another folder than the one this was opened on
    /// (`mv capsule capsule.old && mv capsule.new capsule`, `ln -sfn release-2 capsule`, or a
    /// capsule deleted and made again), or none.
    pub fn replaced(&self) -> bool {
        let Ok(now) = rustix::fs::stat(&self.configured) else {
            return true;
        };
        let Ok(opened) = rustix::fs::fstat(&*self.dir) else {
            return true;
        };
        (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)
    }

    /// Whether two roots are opened on one folder (the same device and inode, whatever the
    /// path: a folder swapped in under the capsule's name has the same path, and is another).
    pub fn same_folder(&self, other: &CapsuleRoot) -> bool {
        match (
            rustix::fs::fstat(&*self.dir),
            rustix::fs::fstat(&*other.dir),
        ) {
            (Ok(a), Ok(b)) => (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino),
            _ => false,
        }
    }

    /// The folder the configured path names now, with the same secrets kept (refused if one
    /// now lies inside it).
    pub fn reopen(&self) -> io::Result<CapsuleRoot> {
        let mut fresh = CapsuleRoot::open(&self.configured)?;
        if let Some(inside) = self.secrets.iter().find(|s| s.starts_with(&fresh.root)) {
            return Err(io::Error::other(format!(
                "{} lies inside the capsule {}; keep it outside the capsule folder",
                inside.display(),
                fresh.root.display()
            )));
        }
        fresh.secrets = Arc::clone(&self.secrets);
        fresh.secret_files = Arc::clone(&self.secret_files);
        fresh.areas = Arc::clone(&self.areas);
        Ok(fresh)
    }

    /// Opens a file of the capsule for reading, safely whatever has happened to the folder
    /// since it was last read (the snapshot is only a hint): beneath the capsule's descriptor,
    /// never through a symlink that leaves it or leads to a hidden or secret name, without
    /// blocking (a FIFO put in a file's place cannot hang the caller), and only if what was
    /// opened is a regular file. `path` is absolute, below the root. Blocking (one or two
    /// quick system calls): call it off the async threads.
    pub fn open_file(&self, path: &Path) -> io::Result<File> {
        let refused = |why: &str| io::Error::new(io::ErrorKind::NotFound, why.to_owned());
        let relative = path
            .strip_prefix(&self.root)
            .map_err(|_| refused("outside the capsule"))?;
        if relative.as_os_str().is_empty() || is_hidden(names(relative)) {
            return Err(refused("hidden file"));
        }
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let file = File::from(
            self.open_beneath(relative, flags)
                .map_err(nothing_servable)?,
        );
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(refused("not a regular file"));
        }
        if self.is_secret_file(&meta) {
            return Err(refused("a file the server keeps secret"));
        }
        Ok(file)
    }

    /// The descriptor every path of the capsule is reached beneath.
    pub(super) fn dir_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Opens `relative` beneath the root's descriptor: directly when no symlink is on the way,
    /// else through [`CapsuleRoot::open_through_links`].
    fn open_beneath(&self, relative: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let no_symlinks = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
        match rustix::fs::openat2(&*self.dir, relative, flags, Mode::empty(), no_symlinks) {
            Ok(fd) => Ok(fd),
            // A symlink on the way: followed, then checked by where the file really is.
            Err(Errno::LOOP | Errno::XDEV) => self.open_through_links(relative, flags),
            // No openat2 (before Linux 5.6, or filtered): a component at a time.
            Err(Errno::NOSYS | Errno::PERM) => self.open_walking(relative, flags),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens through symlinks (absolute ones too), then accepts the file only if it really
    /// lies inside the root under visible names, is not secret and is a regular file (as the
    /// kernel knows the descriptor): the path is first opened without any access (`O_PATH`,
    /// which neither blocks nor has an effect on a device), checked, and only then opened for
    /// reading through that very descriptor.
    fn open_through_links(&self, relative: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let located = rustix::fs::openat(
            &*self.dir,
            relative,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let handle = format!("/proc/self/fd/{}", located.as_raw_fd());
        let real = std::fs::read_link(&handle)?;
        let servable = match real.strip_prefix(&self.root) {
            Ok(inside) => {
                !is_hidden(names(inside))
                    && !self.is_secret(&real)
                    && !self.crosses_into_area(relative, inside)
            }
            Err(_) => false,
        };
        if !servable
            || !rustix::fs::fstat(&located).is_ok_and(|st| {
                rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
            })
        {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "a symlink that leads out of the capsule, into a client-certificate area, to a \
                 hidden file or to no regular file",
            ));
        }
        Ok(rustix::fs::open(&handle, flags, Mode::empty())?)
    }

    /// Without openat2: each folder on the way opened without following a symlink; a symlink
    /// met on the way goes to [`CapsuleRoot::open_through_links`].
    fn open_walking(&self, relative: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let mut names: Vec<&std::ffi::OsStr> = relative.iter().collect();
        let Some(last) = names.pop() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let dir = match disk::open_folders(self.dir.as_fd(), &names, FolderUse::Path, |_, _| None) {
            Ok(dir) => dir,
            Err(stuck) if matches!(stuck.errno, Errno::LOOP | Errno::NOTDIR) => {
                return self.open_through_links(relative, flags);
            }
            Err(stuck) => return Err(stuck.errno.into()),
        };
        match disk::open_file(&dir, last, flags) {
            Err(Errno::LOOP) => self.open_through_links(relative, flags),
            opened => Ok(opened?),
        }
    }

    /// Remembers what the server keeps secret, refusing (with both paths and the fix) any of
    /// it that lies inside the capsule. Paths that do not exist yet (a certificate folder
    /// made on first start) are placed where they will be.
    pub fn keep_secret(mut self, secrets: &[Secret]) -> Result<CapsuleRoot, SecretInside> {
        let mut canonical = Vec::with_capacity(secrets.len());
        for secret in secrets {
            let path = canonical_or_planned(&secret.path);
            if path.starts_with(&self.root) || self.root.starts_with(&path) {
                return Err(SecretInside {
                    what: secret.what,
                    path,
                    capsule: self.root.clone(),
                    fix: secret.fix,
                });
            }
            canonical.push(path);
        }
        let mut files = Vec::new();
        for path in &canonical {
            secret_files_at(path, &mut files, &mut 4096);
        }
        self.secrets = canonical.into();
        self.secret_files = files.into();
        Ok(self)
    }

    /// Adds files made since [`CapsuleRoot::keep_secret`] (certificates generated on first
    /// start) to the secret ones.
    pub fn keep_files_secret<'p>(mut self, paths: impl IntoIterator<Item = &'p Path>) -> Self {
        let mut files = self.secret_files.to_vec();
        for path in paths {
            secret_files_at(path, &mut files, &mut 1);
        }
        // Certificates that were already there are known from the folder's walk: once each,
        // since every file opened is looked up in this list.
        files.sort_unstable();
        files.dedup();
        self.secret_files = files.into();
        self
    }

    /// Whether an opened file is one the server keeps secret, by whatever name it was opened.
    fn is_secret_file(&self, meta: &std::fs::Metadata) -> bool {
        self.secret_files.contains(&(meta.dev(), meta.ino()))
    }

    /// Whether a canonical path is, or lies below, something the server keeps secret.
    pub fn is_secret(&self, canonical: &Path) -> bool {
        self.secrets.iter().any(|s| canonical.starts_with(s))
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Resolves decoded path segments (none of them `.`, `..`, empty, or containing `/`).
    /// A `.gmi` path with no such file is served from a `.md` file of the same name, and a
    /// folder's page is its `index.gmi`, else its `index.md`. Blocking: call it off the async
    /// threads.
    pub fn resolve(&self, segments: &[String], ends_with_slash: bool) -> Resolved {
        if is_hidden(segments.iter().map(String::as_str)) {
            return Resolved::NotFound("hidden file");
        }
        let requested: PathBuf = segments.iter().fold(self.root.clone(), |p, s| p.join(s));
        match self.inside(&requested) {
            Some(target) if target.is_dir() => {
                if !ends_with_slash {
                    return Resolved::AddSlash;
                }
                self.page(&target.join(INDEX_FILE))
                    .or_else(|| self.markdown_twin(&target.join("_index.gmi")))
                    .unwrap_or(Resolved::NotFound("folder has no index.gmi or index.md"))
            }
            // Markdown is published through its `.gmi` page only: the source may be a draft.
            Some(target) if is_markdown(&target) => Resolved::NotFound("Markdown source"),
            Some(target) if target.is_file() => Resolved::File {
                mime: mime_for(&target),
                path: target,
            },
            Some(_) => Resolved::NotFound("not a regular file"),
            None => self
                .markdown_twin(&requested)
                .unwrap_or(Resolved::NotFound("no such file")),
        }
    }

    /// A gemtext page: the `.gmi` file itself, else its Markdown twin.
    fn page(&self, gmi: &Path) -> Option<Resolved> {
        match self.inside(gmi) {
            Some(path) if path.is_file() => Some(Resolved::File {
                mime: mime_for(&path),
                path,
            }),
            _ => self.markdown_twin(gmi),
        }
    }

    /// `x.md` for a requested `x.gmi`, if it is a servable file.
    fn markdown_twin(&self, gmi: &Path) -> Option<Resolved> {
        if gmi.extension()? != "gmi" {
            return None;
        }
        markdown_sources(gmi).find_map(|source| {
            let source = self.inside(&source)?;
            source.is_file().then_some(Resolved::Markdown(source))
        })
    }

    /// The canonical form of `path` if it exists, lies inside the root, is neither hidden nor
    /// secret, and is not reached through a symlink into an area from outside it.
    pub(crate) fn inside(&self, path: &Path) -> Option<PathBuf> {
        let canonical = path.canonicalize().ok()?;
        let relative = canonical.strip_prefix(&self.root).ok()?;
        let requested = path.strip_prefix(&self.root).ok()?;
        (!is_hidden(names(relative))
            && !self.is_secret(&canonical)
            && !self.crosses_into_area(requested, relative))
        .then_some(canonical)
    }
}

/// Adds the device and inode of the file at `path`, or of every file below the folder at
/// `path`, to `out`. At most `budget` entries are looked at, and at most [`SECRET_DEPTH`]
/// folders deep: a link loop (`certs/old/a -> .`) or a link to `/usr` ends the walk rather
/// than the start-up.
fn secret_files_at(path: &Path, out: &mut Vec<(u64, u64)>, budget: &mut usize) {
    secret_files_below(path, out, budget, SECRET_DEPTH);
}

/// How many folders deep the secret files are looked for.
const SECRET_DEPTH: usize = 4;

fn secret_files_below(path: &Path, out: &mut Vec<(u64, u64)>, budget: &mut usize, depth: usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.push((meta.dev(), meta.ino()));
    } else if meta.is_dir()
        && depth > 0
        && let Ok(entries) = std::fs::read_dir(path)
    {
        for entry in entries.flatten() {
            secret_files_below(&entry.path(), out, budget, depth - 1);
        }
    }
}

/// An error opening a capsule file, as `NotFound` when it means that nothing servable stands
/// at the path (missing, a folder, a socket, a device, a symlink refused), so the caller can
/// answer "not found" rather than "temporary failure".
fn nothing_servable(e: io::Error) -> io::Error {
    let nothing = matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(
            Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::ISDIR | Errno::NXIO | Errno::NODEV
        )
    );
    if nothing {
        io::Error::new(io::ErrorKind::NotFound, e)
    } else {
        e
    }
}

/// The canonical form of a path, or, when it does not exist yet, where it will be: its
/// nearest existing ancestor made canonical, the rest appended.
fn canonical_or_planned(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut rest = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for name in rest.iter().rev() {
                match name {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Whether a file is a folder's section page (`_index.md`).
pub fn is_section_page(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == SECTION_FILE)
}

/// Whether a file is Markdown (converted and served under its `.gmi` name).
pub fn is_markdown(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        crate::convert::url::MARKDOWN_EXTENSIONS
            .iter()
            .any(|m| e.eq_ignore_ascii_case(m))
    })
}

/// The Markdown files a page at `page` (`x.gmi`, or a folder's `index.gmi`) may be written
/// as, `x.md` first.
pub fn markdown_sources(page: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    crate::convert::url::MARKDOWN_EXTENSIONS
        .iter()
        .map(move |e| page.with_extension(e))
}

/// The names of a path below the root, for [`is_hidden`]; a name that is not UTF-8 (or a
/// `..`) reads as `.`, so it counts as hidden.
pub(crate) fn names(relative: &Path) -> impl Iterator<Item = &str> {
    relative.components().map(|c| match c {
        Component::Normal(name) => name.to_str().unwrap_or("."),
        _ => ".",
    })
}

/// Whether a path (as names below the root) passes through a dot-file or dot-directory, an
/// editor's or sync tool's temporary file or backup, or a Jekyll site's own files at the root:
/// never listed, served or watched. `/.well-known/` is the one exception: it holds files meant
/// for the public.
pub(crate) fn is_hidden<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    let first_visible = |name: &str| !name.starts_with('.') || name == ".well-known";
    let hidden = |name: &str| name.starts_with('.') || is_temporary(name);
    match names.next() {
        None => false,
        Some(first) => {
            if !first_visible(first) || is_temporary(first) {
                return true;
            }
            let second = names.next();
            let mut rest = names.peekable();
            // A Jekyll site's own files, at the root or copied whole into `posts/`.
            let jekyll = is_jekyll_site_file(first, second)
                || (first == POSTS_DIR
                    && second.is_some_and(|s| is_jekyll_site_file(s, rest.peek().copied())));
            jekyll || second.is_some_and(hidden) || rest.any(hidden)
        }
    }
}

/// Whether a name at the root (and the one below it) is one of a Jekyll site's own files: the
/// names below, every settings file and its copies (`_config` and any name going on from it
/// with `.`, `_` or `-`: `_config_dev.yml`, `_config.yml.bak`; extra ones often hold secrets) and the folders
/// Jekyll leaves out by default (`node_modules`, `gemfiles`, `vendor/bundle`, `vendor/cache`,
/// `vendor/gems`, `vendor/ruby`). In any case of letters: a file system that ignores case
/// would open the file by any spelling.
fn is_jekyll_site_file(first: &str, second: Option<&str>) -> bool {
    let first = first.to_ascii_lowercase();
    let second = second.map(str::to_ascii_lowercase);
    let settings = first
        .strip_prefix("_config")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '_', '-']));
    settings
        || JEKYLL_SITE_FILES.contains(&first.as_str())
        || (first == "vendor"
            && second
                .as_deref()
                .is_some_and(|s| ["bundle", "cache", "gems", "ruby"].contains(&s)))
}

/// What a Jekyll site keeps beside its pages, for building them (its settings, templates,
/// styles, data, plugins, Ruby's gems, the built site): a site copied in whole into the capsule
/// serves none of it. Other names starting with `_` are the author's.
const JEKYLL_SITE_FILES: [&str; 12] = [
    "_layouts",
    "_includes",
    "_sass",
    "_data",
    "_plugins",
    "_site",
    "gemfile",
    "gemfile.lock",
    "gems.rb",
    "gems.locked",
    "node_modules",
    "gemfiles",
];

/// A name editors and tools give a file on its way to its real name, or to the copy they keep
/// (`x~`, `x.swp`, vim's `4913`, `x.tmp`, Emacs's `#x#`, `x.bak`, `x.orig` and `x.rej` of a
/// merge or patch): what it holds may be half written, or an old version the author has since
/// changed.
fn is_temporary(name: &str) -> bool {
    let ends_with = |suffix: &str| {
        name.get(name.len().saturating_sub(suffix.len())..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
    };
    name.ends_with('~')
        // Emacs's auto-save file.
        || (name.len() > 2 && name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".swx", ".tmp", ".bak", ".orig", ".rej"]
            .into_iter()
            .any(ends_with)
        || name == "4913"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn secrets_inside_the_capsule_are_refused_and_never_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("keys")).unwrap();
        std::fs::write(root.join("keys/key.pem"), "secret").unwrap();
        let secret = |path: PathBuf| Secret {
            what: "the private key",
            path,
            fix: "move it",
        };
        // Inside (even through `..` and a folder that does not exist yet): refused.
        let err = CapsuleRoot::open(root)
            .unwrap()
            .keep_secret(&[secret(root.join("keys/key.pem"))])
            .unwrap_err();
        assert!(
            err.to_string().contains("key.pem lies inside the capsule"),
            "{err}"
        );
        let planned = root.join("certs/../later/x/key.pem");
        assert!(
            CapsuleRoot::open(root)
                .unwrap()
                .keep_secret(&[secret(planned)])
                .is_err()
        );
        // Outside: remembered; a symlink inside the capsule that leads to it is not served.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("key.pem"), "secret").unwrap();
        std::os::unix::fs::symlink(outside.path().join("key.pem"), root.join("k.pem")).unwrap();
        let capsule = CapsuleRoot::open(root)
            .unwrap()
            .keep_secret(&[secret(outside.path().to_owned())])
            .unwrap();
        let canonical = outside.path().join("key.pem").canonicalize().unwrap();
        assert!(capsule.is_secret(&canonical));
        assert!(matches!(
            capsule.resolve(&["k.pem".to_owned()], false),
            Resolved::NotFound(_)
        ));
    }

    #[test]
    fn files_are_opened_beneath_the_root_whatever_stands_in_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/page.gmi"), "# Page\n").unwrap();
        std::fs::write(root.join(".secret"), "hidden").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "outside").unwrap();
        let capsule = CapsuleRoot::open(&root).unwrap();
        let read = |name: &str| -> io::Result<String> {
            let mut text = String::new();
            io::Read::read_to_string(&mut capsule.open_file(&root.join(name))?, &mut text)?;
            Ok(text)
        };
        assert_eq!(read("docs/page.gmi").unwrap(), "# Page\n");
        // A symlink inside the capsule to a visible file inside it is followed.
        std::os::unix::fs::symlink(root.join("docs/page.gmi"), root.join("alias.gmi")).unwrap();
        std::os::unix::fs::symlink(root.join("docs"), root.join("linked")).unwrap();
        assert_eq!(read("alias.gmi").unwrap(), "# Page\n");
        assert_eq!(read("linked/page.gmi").unwrap(), "# Page\n");
        // Swapped for a symlink out of the capsule, or to a hidden file: refused.
        std::fs::remove_file(root.join("docs/page.gmi")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("passwd"), root.join("docs/page.gmi"))
            .unwrap();
        assert!(read("docs/page.gmi").is_err());
        assert!(read("linked/page.gmi").is_err());
        std::fs::remove_file(root.join("docs/page.gmi")).unwrap();
        std::os::unix::fs::symlink(root.join(".secret"), root.join("docs/page.gmi")).unwrap();
        assert!(read("docs/page.gmi").is_err());
        // A folder on the way swapped for a symlink out of the capsule.
        std::fs::rename(root.join("docs"), root.join("docs.old")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("docs")).unwrap();
        assert!(read("docs/passwd").is_err());
        // A FIFO, a folder, the root itself, a hidden name: refused at once, never waited on.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("pipe.gmi"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(read("pipe.gmi").is_err());
        assert!(read("docs.old").is_err());
        assert!(read("").is_err());
        assert!(read(".secret").is_err());
        assert!(capsule.open_file(outside.path()).is_err());
    }

    #[test]
    fn without_openat2_a_walk_refuses_the_same_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/page.gmi"), "# Page\n").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "outside").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("docs"), root.join("linked")).unwrap();
        let capsule = CapsuleRoot::open(&root).unwrap();
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let walk = |p: &str| capsule.open_walking(Path::new(p), flags);
        assert!(walk("docs/page.gmi").is_ok());
        assert!(walk("linked/page.gmi").is_ok());
        assert!(walk("out/passwd").is_err());
        assert!(walk("missing/x").is_err());
    }

    #[test]
    fn hidden_paths() {
        assert!(is_hidden(["a", ".git", "x"].into_iter()));
        assert!(is_hidden([".env"].into_iter()));
        assert!(!is_hidden([".well-known", "security.txt"].into_iter()));
        assert!(is_hidden([".well-known", ".secret"].into_iter()));
        assert!(is_hidden(["a", ".well-known"].into_iter()));
        assert!(!is_hidden(std::iter::empty()));
        for temporary in [
            "notes~",
            "x.swp",
            "x.SWP",
            "x.swo",
            "x.swx",
            "export.tmp",
            "a.TMP",
            "4913",
        ] {
            assert!(is_hidden([temporary].into_iter()), "{temporary}");
            assert!(is_hidden(["posts", temporary].into_iter()), "{temporary}");
        }
        assert!(!is_hidden(["posts", "4913-notes.md"].into_iter()));
        // A Jekyll site's own files, at the root; `_` is otherwise an ordinary name.
        for jekyll in [
            &["_config.yml"][..],
            &["_layouts", "post.html"],
            &["_includes", "head.html"],
            &["_sass", "main.scss"],
            &["_data", "authors.yml"],
            &["_site", "index.html"],
            &["Gemfile"],
            &["Gemfile.lock"],
            &["_config_dev.yml"],
            &["_config.local.yaml"],
            &["_config.production.toml"],
            &["vendor", "bundle", "x.rb"],
            &["vendor", "ruby"],
            &["node_modules", "x", "package.json"],
            &["_config.yml.bak"],
            &["_config"],
            &["_config-prod.json"],
            &["_CONFIG.YML"],
            &["_Layouts", "x.html"],
            &["Vendor", "Bundle", "x.rb"],
            &["gems.rb"],
            &["posts", "_config.yml"],
            &["posts", "_layouts", "post.html"],
            &["posts", "vendor", "bundle", "x.rb"],
        ] {
            assert!(is_hidden(jekyll.iter().copied()), "{jekyll:?}");
        }
        for shown in [
            &["_posts", "2010-07-21-x.md"][..],
            &["_notes.md"],
            &["posts", "about", "_config.yml"],
            &["vendor", "fonts", "a.woff"],
            &["_configure.md"],
        ] {
            assert!(!is_hidden(shown.iter().copied()), "{shown:?}");
        }
    }

    #[test]
    fn resolves_files_dirs_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("index.gmi"), "# Home\n").unwrap();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/index.gmi"), "# Docs\n").unwrap();
        std::fs::create_dir(root.join("empty")).unwrap();
        std::fs::write(root.join(".secret"), "x").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("passwd"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join(".secret"), root.join("public")).unwrap();
        let capsule = CapsuleRoot::open(root).unwrap();

        match capsule.resolve(&[], true) {
            Resolved::File { mime, .. } => assert_eq!(mime, "text/gemini"),
            other => panic!("{other:?}"),
        }
        assert_eq!(capsule.resolve(&segs("docs"), false), Resolved::AddSlash);
        assert!(matches!(
            capsule.resolve(&segs("docs"), true),
            Resolved::File { .. }
        ));
        assert!(matches!(
            capsule.resolve(&segs("empty"), true),
            Resolved::NotFound(_)
        ));
        assert!(matches!(
            capsule.resolve(&segs(".secret"), false),
            Resolved::NotFound(_)
        ));
        assert!(matches!(
            capsule.resolve(&segs("missing.gmi"), false),
            Resolved::NotFound(_)
        ));
        assert!(matches!(
            capsule.resolve(&segs("link"), false),
            Resolved::NotFound(_)
        ));
        assert!(matches!(
            capsule.resolve(&segs("public"), false),
            Resolved::NotFound(_)
        ));
    }
}
