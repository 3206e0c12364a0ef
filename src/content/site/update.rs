//! The change-by-change update: when an edit moves no post in any list, the last snapshot's
//! lists are kept and only the changed posts and pages are put in.

use crate::content::files::CapsuleRoot;
use std::path::Path;
use std::sync::Arc;

use super::folders::{makes_series, with_folder_series};
use super::links::{link_problems, withheld_by_url};
use super::refs::{References, has_references};
use super::urls::rewrite_links;
use super::{Changed, Memo};
use crate::content::files::is_section_page;
use crate::content::markdown::Text;
use crate::content::options::{BuildOptions, SERIES_DIR};
use crate::content::post::{Post, PostDate};
use crate::content::scan::Scan;

/// The snapshot after `scanned`, a pass over named files, when no post's place in any list
/// changed: the last one's lists with the changed posts and pages put in. `None` when the
/// lists must be made again.
pub(super) fn update(
    capsule: &CapsuleRoot,
    memo: &Memo,
    scanned: &Scan,
    options: &BuildOptions,
    now: PostDate,
) -> Option<Memo> {
    let changed = scanned
        .changed
        .as_ref()
        .filter(|_| !scanned.files_came_or_went)?;
    // A post dated ahead whose time has come, one expired, or a clock set back: the lists
    // change.
    let came_due = memo
        .site
        .drafts
        .iter()
        .any(|p| !p.meta.withheld_at(now, options.show_future))
        || memo.site.posts.iter().any(|p| p.meta.expired_at(now));
    if came_due || now.at() < memo.now.at() {
        return None;
    }
    let find = |posts: &[Arc<Post>], path: &Path| {
        posts
            .binary_search_by(|p| p.source.as_path().cmp(path))
            .ok()
            .map(|i| Arc::clone(&posts[i]))
    };
    let mut posts_changed = Vec::new();
    for path in changed {
        if changes_lists(memo, scanned, path) {
            return None;
        }
        match (find(&memo.scanned, path), find(&scanned.posts, path)) {
            (None, None) => {}
            (Some(old), Some(new)) if same_place(&old, &new) => posts_changed.push((old, new)),
            _ => return None,
        }
    }
    let (mut site, mut links) = (memo.site.clone(), memo.links.clone());
    site.changed = Changed(Some(changed.as_slice().into()));
    let referring = changed.iter().any(|path| {
        matches!(scanned.texts.get(path), Some(Text::Page(page)) if has_references(&page.gemtext))
    });
    site.references |= referring;
    let references = site.references.then(|| References::new(&site, capsule));
    if site.renamed.is_empty() && references.is_none() {
        site.texts = Arc::clone(&scanned.texts);
    } else {
        let texts = Arc::make_mut(&mut site.texts);
        for path in changed {
            match scanned.texts.get(path) {
                Some(text) => {
                    let text = rewrite_links(path, text, &site.renamed, references.as_ref())
                        .unwrap_or(text.clone());
                    texts.insert(path.clone(), text);
                }
                None => {
                    texts.remove(path);
                }
            }
        }
    }
    let mut published = Vec::new();
    for (old, new) in posts_changed {
        let new = with_folder_series(&new, &scanned.texts);
        // Its URL as settled last time (a `slug` another file holds leaves it at its name).
        let settled = |was: &Arc<Post>| {
            if was.url == new.url {
                Arc::clone(&new)
            } else {
                Arc::new(Post {
                    url: was.url.clone(),
                    renamed: was.renamed,
                    ..(*new).clone()
                })
            }
        };
        if let Some(&i) = site.by_source.get(&old.source) {
            site.posts[i] = settled(&site.posts[i]);
            published.push(i);
        } else if let Some(d) = site.drafts.iter().position(|p| p.source == old.source) {
            site.drafts[d] = settled(&site.drafts[d]);
        } else if let Some(was) = site.members_only.get(&old.source).cloned() {
            Arc::make_mut(&mut site.members_only).insert(old.source.clone(), settled(&was));
        }
    }
    let withheld = withheld_by_url(&site);
    for i in published {
        let found = link_problems(&site, &withheld, &site.posts[i], references.as_ref());
        if found.is_empty() {
            links.remove(&i);
        } else {
            links.insert(i, found);
        }
    }
    Some(Memo {
        site,
        scanned: scanned.posts.clone(),
        listing: memo.listing.clone(),
        links,
        after: memo.after.clone(),
        now,
    })
}

/// Whether a changed page (not a post) asks for the lists to be made again: a series
/// description (shown on its index), a section page that makes or made its folder a series,
/// or a page with a redirect, which may close or open a loop through other pages.
fn changes_lists(memo: &Memo, scanned: &Scan, path: &Path) -> bool {
    let (was, is) = (memo.site.texts.get(path), scanned.texts.get(path));
    let redirects =
        |text: Option<&Text>| matches!(text, Some(Text::Page(p)) if p.redirect.is_some());
    path.starts_with(SERIES_DIR)
        || (is_section_page(path) && (makes_series(was) || makes_series(is)))
        || redirects(was)
        || redirects(is)
}

/// Whether two versions of a post sit in the same place of every list: all but their links
/// (the body's text is not part of a post) are the same.
pub(super) fn same_place(old: &Post, new: &Post) -> bool {
    old.source == new.source
        && old.url == new.url
        && old.meta == new.meta
        && old.lines == new.lines
        && old.part_line == new.part_line
}
