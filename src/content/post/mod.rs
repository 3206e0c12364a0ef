//! A post: one file under `posts/`, its metadata resolved from its front matter ([`meta`]), its
//! URL, its links and where its keys are written, for reports that name the line.

use std::path::{Path, PathBuf};

use crate::content::front_matter::KeyLines;
use crate::content::options::{POSTS_DIR, served_as};
use crate::convert;

pub mod folder;
pub mod meta;

pub use folder::{FolderSeries, section_page_of};
pub use meta::*;

/// One published (or draft) post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// The source file, relative to the capsule root.
    pub source: PathBuf,
    /// The root-relative URL it is served at (`/posts/x.gmi`).
    pub url: String,
    pub meta: PostMeta,
    /// The links of the page, each with the line of the source it is written on.
    pub links: Vec<Link>,
    /// Where each front-matter key is written, for reports about them.
    pub lines: KeyLines,
    /// The line of the source its part number is written on (1 when it has none).
    pub part_line: usize,
    /// Whether its `url` is not the one its file name gives ([`Post::natural_url`]): every
    /// build asks, of every post.
    pub renamed: bool,
}

/// A link of a page: its gemtext target, and the line of the source file where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub target: String,
    pub line: usize,
}

impl Post {
    /// The post a file under `posts/` makes, from its front matter (and the lines its keys are
    /// on), the text of its body's heading and its links; `None` (with a fatal problem) when
    /// it cannot be published.
    pub fn read(
        relative: &Path,
        front: RawMeta,
        front_lines: &KeyLines,
        facts: &FileFacts<'_>,
        heading: Option<&str>,
        links: Vec<Link>,
    ) -> (Option<Post>, Vec<MetaProblem>) {
        let (_, part_key) = part_of(&front);
        // A `slug` renames the page within its folder; otherwise the file name gives the URL.
        let explicit_slug = front.slug.as_deref().is_some_and(|s| !s.trim().is_empty());
        let (meta, problems) = PostMeta::resolve(front, facts, heading);
        if problems.iter().any(|p| p.fatal) {
            return (None, problems);
        }
        let served = served_as(relative);
        // A bundle's `slug` names a folder URL that redirects to it (see [`bundle_folder`]).
        let renames = explicit_slug && bundle_folder(&served).is_none();
        let url = if renames {
            page_url(&served.with_file_name(format!("{}.gmi", meta.slug)))
        } else {
            natural_url(relative)
        };
        let post = Post {
            renamed: renames && url != natural_url(relative),
            source: relative.to_owned(),
            url,
            meta,
            links,
            part_line: front_lines.line(part_key).unwrap_or(1),
            lines: front_lines.clone(),
        };
        (Some(post), problems)
    }

    /// The URL its file name gives it (`posts/x.md` → `/posts/x.gmi`, a bundle
    /// `posts/x/index.md` → `/posts/x/`, Jekyll's `_posts/x.md` as if in `posts/`: see
    /// [`served_as`]), whatever its `slug`.
    pub fn natural_url(&self) -> String {
        natural_url(&self.source)
    }

    /// The line of its source a front-matter key is written on (1 when it is not).
    pub fn line(&self, key: &str) -> usize {
        self.lines.line(key).unwrap_or(1)
    }
}

/// The folder of a page bundle: a post written as `index.md` (or `index.gmi`) in a folder of
/// its own below `posts/`, its images and files beside it, as Hugo's leaf bundles and Zola's
/// colocated assets are. It is served at the folder's URL (`/posts/x/`), so `=> photo.jpg` in
/// it finds `/posts/x/photo.jpg`. A `slug` does not move it: its files would be left behind at
/// the old folder, so the slug's folder URL redirects to it instead.
pub fn bundle_folder(source: &Path) -> Option<&Path> {
    let stem = source.file_stem()?.to_str()?;
    let folder = source.parent()?;
    let below_posts = folder.starts_with(POSTS_DIR) && folder != Path::new(POSTS_DIR);
    (stem == "index" && below_posts).then_some(folder)
}

/// The URL a post's file gives it: its `.gmi` name, or a bundle's folder URL.
fn natural_url(source: &Path) -> String {
    let served = served_as(source);
    match bundle_folder(&served) {
        Some(folder) => format!("{}/", page_url(folder)),
        None => page_url(&served.with_extension("gmi")),
    }
}

/// The URL of a page, from its path relative to the capsule root.
pub(crate) fn page_url(page: &Path) -> String {
    convert::url::encode_path(&format!("/{}", page.to_string_lossy()))
}
