//! Tags: posts grouped by tag, each tag shown as first written, its URL name never shared by
//! two different tags.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::content::post::{Post, fold, series_name};
use crate::content::problem::Problem;
use crate::content::series::{self, free_slug};

/// A tag: as its author first wrote it, and its posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// Indexes into `Site::posts`, newest first.
    pub posts: Vec<usize>,
}

/// Groups published posts by tag. A tag is known by its text up to case and Unicode form, and
/// shown as first written; its URL name never merges two different tags (the newer one gets
/// a suffix, with a warning).
pub(crate) fn group_tags(
    posts: &[Arc<Post>],
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, Tag> {
    // Folded text → (name as first written, posts oldest first, where first written).
    let mut found: BTreeMap<String, (String, Vec<usize>, PathBuf, usize)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (i, post) in posts.iter().enumerate().rev() {
        for tag in post.meta.tags.iter().filter_map(|t| series_name(t)) {
            let key = fold(&tag);
            let entry = found.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                (tag, Vec::new(), post.source.clone(), post.line("tags"))
            });
            if entry.1.last() != Some(&i) {
                entry.1.push(i);
            }
        }
    }
    // Every tag's own URL name is reserved first, so a suffixed one never takes another's.
    let mut taken: HashSet<String> = found
        .values()
        .map(|(name, ..)| series::slug(name))
        .collect();
    let mut tags: BTreeMap<String, Tag> = BTreeMap::new();
    let mut owner: HashMap<String, String> = HashMap::new();
    for key in order {
        let Some((name, mut indexes, path, line)) = found.remove(&key) else {
            continue;
        };
        indexes.reverse();
        let mut slug = series::slug(&name);
        if let Some(other) = owner.get(&slug) {
            let fallback = free_slug(&slug, &key, &mut taken);
            problems.push(Problem {
                path,
                line,
                message: format!(
                    "tag “{name}” has the same URL name as tag “{other}”, `{slug}`: it is \
                     listed at /tags/{fallback}/ (write them the same way if they are one tag)"
                ),
                error: false,
            });
            slug = fallback;
        }
        owner.insert(slug.clone(), name.clone());
        tags.insert(
            slug,
            Tag {
                name,
                posts: indexes,
            },
        );
    }
    tags
}
