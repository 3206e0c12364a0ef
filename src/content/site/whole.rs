//! The whole pass: every list (posts by date, drafts, members-only posts, series, tags, places
//! in series) made again from every post read, then the checks that look at the whole site.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::areas::check_areas;
use super::folders::{
    folder_description, paragraph, report_numbers_without_series, with_folder_series,
};
use super::links::{link_problems, withheld_by_url};
use super::refs::{References, any_references};
use super::urls::{
    check_url_lengths, redirect_loops, renamed_posts, rewrite_links, settle_former_urls,
    settle_urls,
};
use super::{Changed, Holders, Memo, SeriesPlace, Site};
use crate::content::files::CapsuleRoot;
use crate::content::markdown::Text;
use crate::content::options::{BuildOptions, SERIES_DIR};
use crate::content::post::{Post, PostDate, SeriesRole, fold, series_name};
use crate::content::problem::Problem;
use crate::content::scan::Scan;
use crate::content::series::{Series, group_series};
use crate::content::tags::group_tags;

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
        let posts = (scanned.posts.iter())
            .map(|p| with_folder_series(p, &scanned.texts))
            .collect::<Vec<_>>();
        report_numbers_without_series(&posts, &mut problems);
        let (all, unserved) =
            settle_urls(posts, &scanned.texts, &scanned.served, held, &mut problems);
        let (drafts, posts) = split_drafts(all, options, now);
        let (members_only, mut posts) = split_members_only(capsule, posts);
        report_members_only(&members_only, &mut problems);
        posts.sort_by(newest_first);

        // Posts dated ahead join their series as parts to come; drafts and an area's do not.
        let scheduled: Vec<Arc<Post>> = drafts
            .iter()
            .filter(|p| !p.meta.draft && !in_area(capsule, p))
            .cloned()
            .collect();
        let mut series = group_series(&posts, &scheduled, &options.series, &mut problems);
        describe_series(&mut series, &scanned.texts, options);
        let tags = group_tags(&posts, &mut problems);
        let by_source = positions(&posts, |p| p.source.clone());
        // Drafts, and posts whose URL another holds: never served by their file's name.
        let withheld = drafts
            .iter()
            .map(|p| p.source.clone())
            .chain(unserved)
            .collect();
        let by_url = positions(&posts, |p| p.url.clone());
        let places = series_places(&series);
        // Only public posts' new names are written into links: a members-only post's would
        // tell anyone its `slug` (its old name still leads there, to those the area lets in).
        let renamed = renamed_posts(&posts, &drafts);
        let (members_only, members_only_urls) = members_only_maps(members_only);
        let mut site = Site {
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
            moved: Arc::default(),
            looped: Arc::default(),
            texts: Arc::clone(&scanned.texts),
            served: scanned.served,
            folders: scanned.folders,
            linked_folders: scanned.linked_folders,
            changed: Changed::default(),
            references: any_references(&scanned.texts),
        };
        site.moved = Arc::new(settle_former_urls(&site, &site.folders, &mut problems));
        site.looped = Arc::new(redirect_loops(&site, &mut problems));
        let references = site.references.then(|| References::new(&site, capsule));
        site.texts = with_rewritten_links(&scanned.texts, &site.renamed, references.as_ref());
        let (links, after) = whole_site_checks(capsule, &site, references.as_ref());
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
        same(&mut self.moved, &previous.moved);
        same(&mut self.looped, &previous.looped);
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

/// Drafts, posts due after `now` (unless shown) and expired posts apart from the published,
/// so nothing lists them by mistake: (drafts, published).
fn split_drafts(
    all: Vec<Arc<Post>>,
    options: &BuildOptions,
    now: PostDate,
) -> (Vec<Arc<Post>>, Vec<Arc<Post>>) {
    all.into_iter()
        .partition(|p| p.meta.withheld_at(now, options.show_future))
}

/// Published posts of a client-certificate area apart from the public ones, since they leave
/// every list: (members-only, public). Drafts stay withheld wherever they are.
fn split_members_only(
    capsule: &CapsuleRoot,
    posts: Vec<Arc<Post>>,
) -> (Vec<Arc<Post>>, Vec<Arc<Post>>) {
    posts.into_iter().partition(|p| in_area(capsule, p))
}

/// Whether a post lies in a client-certificate area, by its URL or its file's.
pub(super) fn in_area(capsule: &CapsuleRoot, post: &Post) -> bool {
    !capsule.areas().is_empty()
        && (capsule.url_in_area(&post.url) || capsule.url_in_area(&post.natural_url()))
}

/// Tells the author of a members-only post that names a series or tags that no list shows
/// it, at the line that names them.
fn report_members_only(members_only: &[Arc<Post>], problems: &mut Vec<Problem>) {
    for post in members_only {
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
}

/// Newest first; on one date, by URL, so the order never hangs on the scan's.
pub(super) fn newest_first(a: &Arc<Post>, b: &Arc<Post>) -> Ordering {
    b.meta
        .date
        .cmp(&a.meta.date)
        .then_with(|| a.url.cmp(&b.url))
}

/// Gives each series its description: its page under `series/`, else the config's text,
/// else, for a folder series, its section page's.
pub(super) fn describe_series(
    series: &mut [Series],
    texts: &HashMap<PathBuf, Text>,
    options: &BuildOptions,
) {
    for one in series {
        one.description = description(texts, &one.slug)
            .or_else(|| {
                let text = &options
                    .series
                    .iter()
                    .find(|(name, _)| {
                        series_name(name).is_some_and(|n| fold(&n) == fold(&one.name))
                    })?
                    .1
                    .description;
                paragraph(text)
            })
            .or_else(|| folder_description(one, texts));
    }
}

/// Each post's index in `posts` by `key` (its source, its URL), to find it without a search.
pub(super) fn positions<K: Eq + Hash>(
    posts: &[Arc<Post>],
    key: impl Fn(&Post) -> K,
) -> HashMap<K, usize> {
    posts.iter().enumerate().map(|(i, p)| (key(p), i)).collect()
}

/// Source path → each place its post has in a series, so a post's page finds its series
/// without going through them all.
pub(super) fn series_places(series: &[Series]) -> HashMap<PathBuf, Vec<SeriesPlace>> {
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
    places
}

/// The texts with links to renamed posts written as their new URLs and page references
/// resolved; the scan's own copy when no post is renamed and no text has a reference.
fn with_rewritten_links(
    scanned: &Arc<HashMap<PathBuf, Text>>,
    renamed: &HashMap<String, String>,
    references: Option<&References>,
) -> Arc<HashMap<PathBuf, Text>> {
    let mut texts = Arc::clone(scanned);
    if !renamed.is_empty() || references.is_some() {
        for (path, text) in Arc::make_mut(&mut texts).iter_mut() {
            if let Some(rewritten) = rewrite_links(path, text, renamed, references) {
                *text = rewritten;
            }
        }
    }
    texts
}

/// The members-only posts by source, and their sources by URL.
type MembersOnly = (HashMap<PathBuf, Arc<Post>>, HashMap<String, PathBuf>);

/// The members-only posts as the site looks them up: by source and by URL.
fn members_only_maps(members_only: Vec<Arc<Post>>) -> MembersOnly {
    let urls = members_only
        .iter()
        .map(|p| (p.url.clone(), p.source.clone()))
        .collect();
    let by_source = members_only
        .into_iter()
        .map(|p| (p.source.clone(), p))
        .collect();
    (by_source, urls)
}

/// The checks that look at the whole site once its lists are made: each published post's
/// links (by index into `posts`), then URL lengths and areas.
fn whole_site_checks(
    capsule: &CapsuleRoot,
    site: &Site,
    references: Option<&References>,
) -> (BTreeMap<usize, Vec<Problem>>, Vec<Problem>) {
    let withheld = withheld_by_url(site);
    let links = site
        .posts
        .iter()
        .enumerate()
        .map(|(i, post)| (i, link_problems(site, &withheld, post, references)))
        .filter(|(_, found)| !found.is_empty())
        .collect();
    let mut after = Vec::new();
    check_url_lengths(site, &mut after);
    check_areas(capsule, site, &mut after);
    (links, after)
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
