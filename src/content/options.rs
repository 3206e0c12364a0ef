//! Where a capsule keeps its posts and series descriptions, and the options a build reads them
//! with: the operator's settings for a host, turned into what reading a file needs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::{HostConfig, SeriesConfig};
use crate::convert;

/// The folder, below the capsule root, that holds the posts.
pub const POSTS_DIR: &str = "posts";

/// Jekyll's folder of posts (`_posts/`, at the root or in `posts/`), each named
/// `YYYY-MM-DD-title.md`: its posts are posts as if they were in `posts/`.
pub const JEKYLL_POSTS_DIR: &str = "_posts";

/// Jekyll's folder of unfinished posts (`_drafts/`, at the root or in `posts/`): drafts
/// whatever their front matter says.
pub const JEKYLL_DRAFTS_DIR: &str = "_drafts";

/// Whether a file (relative to the capsule root) is a post: under `posts/`, or a Jekyll site's
/// `_posts/` or `_drafts/` copied in whole.
pub fn is_post_path(relative: &Path) -> bool {
    relative.starts_with(POSTS_DIR)
        || relative.starts_with(JEKYLL_POSTS_DIR)
        || relative.starts_with(JEKYLL_DRAFTS_DIR)
}

/// Whether a post lies in Jekyll's `_posts/` or `_drafts/` (at the root or in `posts/`).
pub fn in_jekyll_folder(relative: &Path) -> bool {
    jekyll_folder(relative).is_some()
}

/// Whether a post lies in Jekyll's `_drafts/` (at the root or in `posts/`).
pub fn is_jekyll_draft(relative: &Path) -> bool {
    jekyll_folder(relative) == Some(JEKYLL_DRAFTS_DIR)
}

/// The path a post is served as: its own, but for Jekyll's folders, whose posts are served as
/// if they were in `posts/` (`_posts/2010-07-21-x.md` and `posts/_posts/2010-07-21-x.md` at
/// `/posts/2010-07-21-x.gmi`, drafts alike), so a migrated site's posts sit beside the others
/// under one URL; the file's own URL sends readers there.
pub fn served_as(relative: &Path) -> Cow<'_, Path> {
    let Some(folder) = jekyll_folder(relative) else {
        return Cow::Borrowed(relative);
    };
    let inside = relative
        .strip_prefix(folder)
        .or_else(|_| relative.strip_prefix(Path::new(POSTS_DIR).join(folder)))
        .unwrap_or(relative);
    Cow::Owned(Path::new(POSTS_DIR).join(inside))
}

/// `_posts` or `_drafts` when a file lies in one of them, at the root or in `posts/`.
fn jekyll_folder(relative: &Path) -> Option<&'static str> {
    let mut names = relative.components().map(|c| c.as_os_str());
    let first = names.next()?;
    let folder = if first == POSTS_DIR {
        names.next()?
    } else {
        first
    };
    [JEKYLL_POSTS_DIR, JEKYLL_DRAFTS_DIR]
        .into_iter()
        .find(|name| folder == *name)
}

/// The folder, below the capsule root, whose `<slug>.md` files describe series.
pub const SERIES_DIR: &str = "series";

/// Limits and options for reading posts.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    pub markdown: convert::Options,
    pub max_file_size: u64,
    /// Publish posts whose date is still in the future.
    pub show_future: bool,
    /// Per-series settings from the config, by series name.
    pub series: BTreeMap<String, SeriesConfig>,
    /// The time zone of dates written without an offset.
    pub zone: jiff::tz::TimeZone,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions::new(&HostConfig::default())
    }
}

impl BuildOptions {
    /// Whether a file is read the same way under both: converted alike, with the same size
    /// limit, its dates in the same zone. What was read under one serves the other.
    pub fn reads_same(&self, other: &BuildOptions) -> bool {
        self.markdown == other.markdown
            && self.max_file_size == other.max_file_size
            && self.zone == other.zone
    }

    /// The options the operator's settings for a host give.
    pub fn new(config: &HostConfig) -> BuildOptions {
        BuildOptions {
            markdown: convert::Options::from(&config.markdown),
            max_file_size: config.markdown.max_file_size.bytes(),
            show_future: config.publish_future,
            series: config.series.clone(),
            zone: config.timezone.zone().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jekyll_posts_are_posts_served_as_if_in_posts() {
        for (file, post, served, draft) in [
            ("posts/a.md", true, "posts/a.md", false),
            (
                "_posts/2010-07-21-a.md",
                true,
                "posts/2010-07-21-a.md",
                false,
            ),
            (
                "posts/_posts/2010-07-21-a.md",
                true,
                "posts/2010-07-21-a.md",
                false,
            ),
            ("_posts/travel/b.md", true, "posts/travel/b.md", false),
            ("_drafts/c.md", true, "posts/c.md", true),
            ("posts/_drafts/c.md", true, "posts/c.md", true),
            ("notes/_posts/d.md", false, "notes/_posts/d.md", false),
            ("about.md", false, "about.md", false),
        ] {
            let path = Path::new(file);
            assert_eq!(is_post_path(path), post, "{file}");
            assert_eq!(served_as(path), Path::new(served), "{file}");
            assert_eq!(is_jekyll_draft(path), draft, "{file}");
        }
    }
}
