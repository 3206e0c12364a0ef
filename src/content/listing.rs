//! A folder's listing, for the folders a `list = true` path rule opens: what the folder holds
//! that a reader may fetch, as the rest of the capsule decides it (never a dot-file, a
//! temporary, a secret, a Markdown source, a draft, or a way into an area from outside it),
//! with the titles the snapshot knows.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::files::{CapsuleRoot, is_hidden, is_markdown};
use super::markdown::Text;
use super::site::Site;
use crate::convert::url::encode_path;

/// Most entries a listing shows: a folder of a million files is not a page, and each entry
/// shown costs a few system calls per request.
pub const MOST_LISTED: usize = 1000;

/// Most names a listing sorts: past it, the rest of a folder is only counted.
const MOST_SORTED: usize = 200_000;

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The name a reader sees (`notes.gmi`, `photos/`).
    pub name: String,
    /// The link to it, from the root (percent-encoded): a relative link to `a:b` would read
    /// as a URL of scheme `a`.
    pub url: String,
    /// A page's title, where the snapshot knows it.
    pub title: Option<String>,
    /// A file's size in bytes (`None` for a folder).
    pub size: Option<u64>,
    pub modified: Option<SystemTime>,
}

/// What a listing found: the entries, sorted (folders first, then by name), and how many
/// more names the folder holds past the last one shown (some of which would not be shown).
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Listed>,
    pub left_out: usize,
}

/// The listing of the folder at `segments` (decoded), of the entries whose real path `open`
/// lets through (the caller's path rules). `NotFound` when it is not a folder the capsule
/// serves. Blocking: it reads the folder.
pub fn list(
    root: &CapsuleRoot,
    site: &Site,
    segments: &[String],
    open: impl Fn(&Path) -> bool,
) -> io::Result<Listing> {
    let not_found = || io::Error::new(io::ErrorKind::NotFound, "not a folder of the capsule");
    if is_hidden(segments.iter().map(String::as_str)) {
        return Err(not_found());
    }
    let folder: PathBuf = segments
        .iter()
        .fold(root.path().to_owned(), |p, s| p.join(s));
    let real = root
        .inside(&folder)
        .filter(|p| p.is_dir())
        .ok_or_else(not_found)?;
    let areas_here: Vec<_> = root.areas_over(segments).collect();
    let base: String = segments
        .iter()
        .map(|s| format!("/{}", encode_path(s)))
        .collect();
    let mut listing = Listing::default();
    // Names first (one read of the folder, no call per entry), sorted as the page shows
    // them: the entries shown are the first ones, whatever order the folder keeps.
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&real)? {
        let Ok(entry) = entry else { continue };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if names.len() == MOST_SORTED {
            listing.left_out += 1;
            continue;
        }
        let folder = entry.file_type().is_ok_and(|t| t.is_dir());
        names.push((!folder, name));
    }
    names.sort();
    let mut names = names.into_iter();
    for (_, name) in names.by_ref() {
        let mut below = segments.to_vec();
        below.push(name.clone());
        if is_hidden(below.iter().map(String::as_str)) {
            continue;
        }
        // A reader inside the listed folder's areas sees none of another area's entries.
        if root.areas_over(&below).count() != areas_here.len() {
            continue;
        }
        let requested = folder.join(&name);
        let Some(target) = root.inside(&requested) else {
            continue;
        };
        if !open(&target) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(&target) else {
            continue;
        };
        let relative = requested
            .strip_prefix(root.path())
            .unwrap_or(&requested)
            .to_owned();
        let found = if meta.is_dir() {
            Some(Listed {
                url: format!("{base}/{}/", encode_path(&name)),
                name: format!("{name}/"),
                title: None,
                size: None,
                modified: meta.modified().ok(),
            })
        } else if !meta.is_file() {
            None
        } else if is_markdown(&target) {
            published(site, &relative, &name, &meta, &base)
        } else {
            let title = match site.text(&relative) {
                Some(Text::Page(page)) if page.withheld.is_none() => Some(page.title.clone()),
                _ => None,
            };
            Some(Listed {
                url: format!("{base}/{}", encode_path(&name)),
                name,
                title,
                size: Some(meta.len()),
                modified: meta.modified().ok(),
            })
        };
        listing.entries.extend(found);
        if listing.entries.len() == MOST_LISTED {
            break;
        }
    }
    // Those past the last shown are counted, not looked at: some may be hidden.
    listing.left_out += names.count();
    listing
        .entries
        .sort_by(|a, b| (!a.name.ends_with('/'), &a.name).cmp(&(!b.name.ends_with('/'), &b.name)));
    Ok(listing)
}

/// A Markdown source as readers see it: its published page (a draft, or a file that cannot
/// be read, is left out), at the URL the site settled for it.
fn published(
    site: &Site,
    source: &Path,
    name: &str,
    meta: &std::fs::Metadata,
    base: &str,
) -> Option<Listed> {
    let Some(Text::Page(page)) = site.text(source) else {
        return None;
    };
    if page.withheld.is_some() || site.is_withheld(source) {
        return None;
    }
    let gmi = format!("{}.gmi", Path::new(name).file_stem()?.to_str()?);
    let url = match site.url_of(source) {
        Some(url) => url.to_owned(),
        None => format!("{base}/{}", encode_path(&gmi)),
    };
    Some(Listed {
        name: gmi,
        url,
        title: Some(page.title.clone()),
        size: Some(page.gemtext.len() as u64),
        modified: meta.modified().ok(),
    })
}
