//! The whole pass: every list (posts by date, drafts, members-only posts, series, tags, places
//! in series) made again from every post read, then the checks that look at the whole site.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::areas::check_areas;
use super::links::{link_problems, withheld_by_url};
use super::urls::{check_url_lengths, renamed_posts, rewrite_links, settle_urls};
use super::{Changed, Holders, Memo, SeriesPlace, Site};
use crate::content::files::CapsuleRoot;
use crate::content::markdown::Text;
use crate::content::options::{BuildOptions, SERIES_DIR};
use crate::content::post::{Post, PostDate, SeriesRole, fold, series_name};
use crate::content::problem::Problem;
use crate::content::scan::Scan;
use crate::content::series::group_series;
use crate::content::tags::group_tags;
use crate::convert;

impl Site {
    /// Every list made again from every post read.
    pub(super) fn whole(
        capsule: &CapsuleRoot,
        options: &BuildOptions,
        scanned: Scan,
        held: &Holders,
        now: PostDate,
    ) -> Memo {
        let mut problems = Vec::new();
        let (all, unserved) = settle_urls(
            scanned.posts.clone(),
            &scanned.texts,
            &scanned.served,
            held,
            &mut problems,
        );

        let (drafts, posts): (Vec<Arc<Post>>, Vec<Arc<Post>>) = all
            .into_iter()
            .partition(|p| p.meta.draft || (!options.show_future && p.meta.date.at() > now.at()));
        // Drafts stay withheld wherever they are; published posts of an area leave every list.
        let areas = !capsule.areas().is_empty();
        let (members_only, mut posts): (Vec<Arc<Post>>, Vec<Arc<Post>>) =
            posts.into_iter().partition(|p| {
                areas && (capsule.url_in_area(&p.url) || capsule.url_in_area(&p.natural_url()))
            });
        for post in &members_only {
            let key = match (post.meta.series.is_empty(), post.meta.tags.is_empty()) {
                (false, _) => "series",
                (true, false) => "tags",
                (true, true) => continue,
            };
            problems.push(Problem {
                path: post.source.clone(),
                line: post.line(key),
                message: format!(
                    "{} lies in a client-certificate area: it is served only to the \
                     certificates the area lets in, and no series, tag page, feed or menu \
                     lists it",
                    post.url
                ),
                error: false,
            });
        }
        posts.sort_by(|a, b| {
            b.meta
                .date
                .cmp(&a.meta.date)
                .then_with(|| a.url.cmp(&b.url))
        });

        let mut series = group_series(&posts, &options.series, &mut problems);
        for one in &mut series {
            one.description = description(&scanned.texts, &one.slug).or_else(|| {
                let text = &options
                    .series
                    .iter()
                    .find(|(name, _)| {
                        series_name(name).is_some_and(|n| fold(&n) == fold(&one.name))
                    })?
                    .1
                    .description;
                let mut w = convert::Writer::default();
                w.push(convert::Line::Text(text.trim().to_owned()));
                Some(w.finish().trim_end().to_owned()).filter(|t| !t.is_empty())
            });
        }
        let tags = group_tags(&posts, &mut problems);
        let by_source = posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.source.clone(), i))
            .collect();
        // Drafts, and posts whose URL another holds: never served by their file's name.
        let withheld = drafts
            .iter()
            .map(|p| p.source.clone())
            .chain(unserved)
            .collect();
        let by_url = posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.url.clone(), i))
            .collect();
        let mut places: HashMap<PathBuf, Vec<SeriesPlace>> = HashMap::new();
        for (s, one) in series.iter().enumerate() {
            let roles = [
                (SeriesRole::Part, &one.members.parts),
                (SeriesRole::Supplement, &one.members.supplements),
                (SeriesRole::SeeAlso, &one.members.see_also),
            ];
            for (role, members) in roles {
                for (i, m) in members.iter().enumerate() {
                    places.entry(m.path.clone()).or_default().push((s, role, i));
                }
            }
        }
        // Only public posts' new names are written into links: a members-only post's would
        // tell anyone its `slug` (its old name still leads there, to those the area lets in).
        let renamed = renamed_posts(&posts, &drafts);
        let mut texts = Arc::clone(&scanned.texts);
        if !renamed.is_empty() {
            for (path, text) in Arc::make_mut(&mut texts).iter_mut() {
                if let Some(rewritten) = rewrite_links(path, text, &renamed) {
                    *text = rewritten;
                }
            }
        }
        let members_only_urls = members_only
            .iter()
            .map(|p| (p.url.clone(), p.source.clone()))
            .collect();
        let members_only = members_only
            .into_iter()
            .map(|p| (p.source.clone(), p))
            .collect();
        let site = Site {
            posts,
            drafts,
            members_only: Arc::new(members_only),
            members_only_urls: Arc::new(members_only_urls),
            series: Arc::new(series),
            tags: Arc::new(tags),
            by_source: Arc::new(by_source),
            withheld: Arc::new(withheld),
            by_url: Arc::new(by_url),
            places: Arc::new(places),
            renamed: Arc::new(renamed),
            texts,
            served: scanned.served,
            folders: scanned.folders,
            linked_folders: scanned.linked_folders,
            changed: Changed::default(),
        };
        let withheld = withheld_by_url(&site);
        let links = site
            .posts
            .iter()
            .enumerate()
            .map(|(i, post)| (i, link_problems(&site, &withheld, post)))
            .filter(|(_, found)| !found.is_empty())
            .collect();
        let mut after = Vec::new();
        check_url_lengths(&site, &mut after);
        check_areas(capsule, &site, &mut after);
        Memo {
            site,
            scanned: scanned.posts,
            listing: problems,
            links,
            after,
            now,
        }
    }

    /// Takes the parts of `previous` equal to its own, so two snapshots of one capsule hold
    /// one copy of what did not change (a whole pass that found the folder as it was).
    pub(super) fn share(&mut self, previous: &Site) {
        fn same<T: PartialEq>(mine: &mut Arc<T>, theirs: &Arc<T>) {
            if !Arc::ptr_eq(mine, theirs) && **mine == **theirs {
                *mine = Arc::clone(theirs);
            }
        }
        same(&mut self.members_only, &previous.members_only);
        same(&mut self.members_only_urls, &previous.members_only_urls);
        same(&mut self.series, &previous.series);
        same(&mut self.tags, &previous.tags);
        same(&mut self.by_source, &previous.by_source);
        same(&mut self.withheld, &previous.withheld);
        same(&mut self.by_url, &previous.by_url);
        same(&mut self.places, &previous.places);
        same(&mut self.renamed, &previous.renamed);
        // The texts and paths served are shared by the scan already.
        for (mine, theirs) in [
            (&mut self.posts, &previous.posts),
            (&mut self.drafts, &previous.drafts),
        ] {
            if mine.len() == theirs.len() {
                for (a, b) in mine.iter_mut().zip(theirs) {
                    if !Arc::ptr_eq(a, b) && a == b {
                        *a = Arc::clone(b);
                    }
                }
            }
        }
    }
}

/// The description of a series: the page made from `series/<slug>.md` (or `.gmi`), without
/// its title.
fn description(texts: &HashMap<PathBuf, Text>, slug: &str) -> Option<String> {
    let page = ["md", "gmi"].iter().find_map(|ext| {
        match texts.get(&Path::new(SERIES_DIR).join(format!("{slug}.{ext}")))? {
            Text::Page(page) if page.withheld.is_none() => Some(page),
            _ => None,
        }
    })?;
    let text = page.gemtext.as_str();
    let without_title = match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => rest,
        _ => text,
    };
    Some(without_title.trim_matches('\n').to_owned()).filter(|t| !t.is_empty())
}
