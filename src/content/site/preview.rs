//! The capsule as it will be: an author's preview lists drafts and posts dated ahead where
//! they will appear (series, tags, archive, home), each at the URL of its file. Made only
//! for a previewing request, never for a reader's.

use std::path::Path;
use std::sync::Arc;

use super::whole::{describe_series, in_area, newest_first, positions, series_places};
use super::{Changed, Site};
use crate::content::files::CapsuleRoot;
use crate::content::markdown::Text;
use crate::content::options::BuildOptions;
use crate::content::post::Post;
use crate::content::series::group_series;
use crate::content::tags::group_tags;

/// How a list marks a post readers cannot see yet (only a preview lists one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpublished<'a> {
    Draft,
    /// Dated ahead: published on its date.
    Scheduled(&'a Post),
}

impl Site {
    /// Whether an author's preview shows this source file (a draft, or a post dated ahead),
    /// never a page whose front matter is broken.
    pub fn previewable(&self, source: &Path) -> bool {
        match self.text(source) {
            Some(Text::Page(page)) => {
                page.withheld == Some("draft")
                    || (page.withheld.is_none() && self.is_withheld(source))
            }
            _ => false,
        }
    }

    /// Whether a post a list names is one readers cannot see yet, and how: only a preview's
    /// lists hold such posts, so a reader's pages never carry a mark.
    pub fn unpublished(&self, source: &Path) -> Option<Unpublished<'_>> {
        if !self.is_withheld(source) {
            return None;
        }
        let post = self.post(source)?;
        Some(if post.meta.draft {
            Unpublished::Draft
        } else {
            Unpublished::Scheduled(post)
        })
    }

    /// This snapshot with its drafts and posts dated ahead listed as if published (at their
    /// files' URLs, where a preview serves them; an area's left out, as `/drafts/` leaves
    /// them): what an author sees before publishing. Its problems are the real build's, so
    /// none are kept.
    pub fn preview(&self, capsule: &CapsuleRoot, options: &BuildOptions) -> Site {
        let mut posts = self.posts.clone();
        for draft in &self.drafts {
            if in_area(capsule, draft) || !self.previewable(&draft.source) {
                continue;
            }
            let url = draft.natural_url();
            posts.push(if draft.url == url {
                Arc::clone(draft)
            } else {
                Arc::new(Post {
                    url,
                    ..(**draft).clone()
                })
            });
        }
        posts.sort_by(newest_first);
        let mut ignored = Vec::new();
        let mut series = group_series(&posts, &[], &options.series, &mut ignored);
        describe_series(&mut series, &self.texts, options);
        let tags = group_tags(&posts, &mut ignored);
        let by_source = positions(&posts, |p| p.source.clone());
        let mut by_url = positions(&posts, |p| p.url.clone());
        // A published post keeps a URL a draft's file name would take too.
        for (i, post) in posts.iter().enumerate() {
            if !self.is_withheld(&post.source) {
                by_url.insert(post.url.clone(), i);
            }
        }
        let places = series_places(&series);
        Site {
            posts,
            series: Arc::new(series),
            tags: Arc::new(tags),
            by_source: Arc::new(by_source),
            by_url: Arc::new(by_url),
            places: Arc::new(places),
            changed: Changed::default(),
            ..self.clone()
        }
    }
}
