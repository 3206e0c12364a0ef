//! A build: the scan of the folder, then either the change-by-change [`update`](super::update)
//! of the last snapshot or the [`whole`](super::whole) pass, and what the next build keeps.

use std::sync::Arc;

use super::update::update;
use super::{Holders, Site};
use crate::content::files::CapsuleRoot;
use crate::content::options::BuildOptions;
use crate::content::post::PostDate;
use crate::content::problem::Problem;
use crate::content::scan::{self, ReadCache};

impl Site {
    /// Reads every post under `capsule/posts/`. Blocking.
    pub fn build(capsule: &CapsuleRoot, options: &BuildOptions) -> (Site, Vec<Problem>) {
        Site::build_cached(capsule, options, &mut ReadCache::default())
    }

    /// As [`Site::build`], reusing the posts in `cache` whose files have not changed (and
    /// updating it). When only the text of some posts or pages changed (nothing that places
    /// a post in a list: its URL, date, title, series, tags, …), the last snapshot's lists are
    /// kept and only those files are looked at again. Blocking.
    pub fn build_cached(
        capsule: &CapsuleRoot,
        options: &BuildOptions,
        cache: &mut ReadCache,
    ) -> (Site, Vec<Problem>) {
        let mut problems = Vec::new();
        let scanned = scan::scan(capsule, options, cache, &mut problems);
        let now = PostDate::now();
        let previous = cache.site.take();
        let memo = match previous
            .as_ref()
            .and_then(|m| update(capsule, m, &scanned, options, now))
        {
            Some(memo) => memo,
            None => {
                let mut memo = Site::whole(capsule, options, scanned, &cache.holders, now);
                if let Some(previous) = &previous {
                    memo.site.share(&previous.site);
                }
                cache.holders = Arc::new(holders_of(&memo.site));
                memo
            }
        };
        problems.extend(memo.listing.iter().cloned());
        problems.extend(memo.links.values().flatten().cloned());
        problems.extend(memo.after.iter().cloned());
        let site = memo.site.clone();
        cache.site = Some(memo);
        (site, problems)
    }
}

/// The URLs a snapshot settled, for the next build's [`settle_urls`].
fn holders_of(site: &Site) -> Holders {
    site.all_posts()
        .map(|p| (p.url.clone(), p.source.clone()))
        .collect()
}
