//! A post whose file was renamed between two snapshots: its old URL is gone and every link to
//! it fails, which the author may not notice. Where the new snapshot has a post that looks like
//! the one that left, the author is told how to keep the old URL.

use std::fmt;
use std::path::PathBuf;

use super::Site;
use crate::content::markdown::Text;
use crate::content::post::Post;
use crate::convert::url::path_segments;

/// A published URL gone in a rebuild, and the post that appeared in the same rebuild and looks
/// like the one that held it (the same title, or the same text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikelyRename {
    pub old_source: PathBuf,
    pub old_url: String,
    pub new_source: PathBuf,
}

impl fmt::Display for LikelyRename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} was served at {} and is gone; if {} is that post, add `aliases: [{}]` to its \
             front matter to keep old links working",
            self.old_source.display(),
            self.old_url,
            self.new_source.display(),
            self.old_url
        )
    }
}

impl Site {
    /// The published posts of `previous` gone from this snapshot, whose URL nothing answers
    /// now, each with a post new in this snapshot that looks like it. Only the posts that came
    /// and went are compared: nothing when none did.
    pub fn likely_renames(&self, previous: &Site) -> Vec<LikelyRename> {
        if std::sync::Arc::ptr_eq(&self.by_source, &previous.by_source) {
            return Vec::new();
        }
        let added: Vec<&Post> = (self.posts.iter())
            .filter(|p| !previous.by_source.contains_key(&p.source))
            .map(|p| &**p)
            .collect();
        if added.is_empty() {
            return Vec::new();
        }
        previous
            .posts
            .iter()
            .filter(|old| !self.by_source.contains_key(&old.source) && self.lost(&old.url))
            .filter_map(|old| {
                let new = added
                    .iter()
                    .find(|new| new.meta.title == old.meta.title)
                    .or_else(|| added.iter().find(|new| same_text(previous, old, self, new)))?;
                Some(LikelyRename {
                    old_source: old.source.clone(),
                    old_url: old.url.clone(),
                    new_source: new.source.clone(),
                })
            })
            .collect()
    }

    /// Whether nothing answers at a URL a post was served at: no post, no former URL.
    fn lost(&self, url: &str) -> bool {
        self.post_by_url(url).is_none() && self.moved_to(&path_segments(url)).is_none()
    }
}

/// Whether two posts, each of its snapshot, have one text under their titles (and not an
/// empty one): a title made from the file's name changes with the name.
fn same_text(old_site: &Site, old: &Post, new_site: &Site, new: &Post) -> bool {
    match (old_site.text(&old.source), new_site.text(&new.source)) {
        (Some(Text::Page(a)), Some(Text::Page(b))) => {
            let body = below_title(&a.gemtext);
            !body.is_empty() && body == below_title(&b.gemtext)
        }
        _ => false,
    }
}

/// A page's gemtext without its opening title line.
fn below_title(gemtext: &str) -> &str {
    let body = match gemtext.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => rest,
        _ if gemtext.starts_with("# ") => "",
        _ => gemtext,
    };
    body.trim()
}
