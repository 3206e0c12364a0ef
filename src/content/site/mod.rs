//! The capsule's posts, read from disk into one immutable [`Site`]: every post's metadata, its
//! series in reading order, its tags, and every problem found on the way, each naming its file
//! (and line, where there is one).
//!
//! Posts are the `.md` and `.gmi` files under `capsule/posts/`. A broken post is left out and
//! reported; it never stops the others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::content::files::is_markdown;
use crate::content::markdown::Text;
use crate::content::post::{Post, PostDate, SeriesRole};
use crate::content::problem::Problem;
use crate::content::series::Series;
use crate::content::tags::Tag;
use crate::convert::route::Route;

mod areas;
mod build;
mod folders;
mod hints;
mod links;
mod migration;
mod preview;
mod refs;
mod update;
mod urls;
mod whole;

#[cfg(test)]
mod tests;

pub use hints::LikelyRename;
pub use migration::{Migration, MovedPage};
pub use preview::Unpublished;
pub use urls::{MAX_PATH_BYTES, Moved, generator_url, generator_urls};

/// Everything the capsule serves, as read at one moment: the generated pages are made from it
/// and every text page is served from it.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Published posts (drafts excluded), newest first. Shared with the cache of the next
    /// rebuild, hence `Arc`.
    pub posts: Vec<Arc<Post>>,
    /// Drafts (and posts dated in the future, unless shown), kept apart so nothing lists them
    /// by mistake.
    pub drafts: Vec<Arc<Post>>,
    /// Published posts under a client-certificate area: served to those it lets in, never
    /// listed (home, archive, tags, series, feeds, menus), so kept apart from `posts`.
    members_only: Arc<HashMap<PathBuf, Arc<Post>>>,
    /// Their URLs → their sources.
    members_only_urls: Arc<HashMap<String, PathBuf>>,
    /// By name. What lists posts is shared (`Arc`) with the next snapshot while no post's
    /// place in it changes, so an edit to a post's text costs that post alone.
    pub series: Arc<Vec<Series>>,
    /// Tags by their URL name (see [`series::slug`]).
    pub tags: Arc<BTreeMap<String, Tag>>,
    /// Source path → index into `posts`.
    by_source: Arc<HashMap<PathBuf, usize>>,
    /// The sources of `drafts`: asked on every request for a file.
    withheld: Arc<HashSet<PathBuf>>,
    /// URL → index into `posts`.
    by_url: Arc<HashMap<String, usize>>,
    /// Source path → for each of its series: (index into `series`, role, index within that
    /// role's list).
    places: Arc<HashMap<PathBuf, Vec<SeriesPlace>>>,
    /// Public posts renamed by a `slug`: the URL their file name gives → theirs. Links to the
    /// first are written as the second.
    renamed: Arc<HashMap<String, String>>,
    /// Former URLs of published posts (`aliases`, `redirect_from`, `url`, and those their
    /// generators gave them), by key ([`convert::redirect::former_key`]): answered with a
    /// redirect where nothing else answers.
    moved: Arc<HashMap<String, Moved>>,
    /// Pages whose `redirect_to` leads back to them (itself, or through other redirects and
    /// former URLs): served as they are, not redirected.
    looped: Arc<HashSet<PathBuf>>,
    /// Every text file (`.md`, `.gmi`) by path relative to the root, as last read.
    texts: Arc<HashMap<PathBuf, Text>>,
    /// Every path the capsule folder serves (decoded), for the link check.
    served: Arc<HashSet<String>>,
    folders: Arc<HashSet<String>>,
    linked_folders: Arc<HashSet<String>>,
    /// When this snapshot kept the last one's lists: the text files (relative) that changed
    /// since. Not part of what the snapshot holds (two equal snapshots may differ here).
    changed: Changed,
    /// Whether a text had page references (`@/…`) resolved: an update resolves those of the
    /// texts it changes, and cannot take the scan's texts as they are. Not part of what the
    /// snapshot holds (it may stay set after the last reference is gone).
    references: bool,
}

/// The text files a snapshot changed from the last one it kept the lists of.
#[derive(Debug, Clone, Default)]
pub(super) struct Changed(Option<Arc<[PathBuf]>>);

/// Two snapshots are equal when they hold the same: how each was made (`changed`, the files a
/// change-by-change update put in) is left out, so a rebuild can be compared with a whole
/// build of the same folder. Every other field is compared; the pattern names them all, so a
/// field added later cannot be forgotten here.
impl PartialEq for Site {
    fn eq(&self, other: &Site) -> bool {
        let Site {
            posts,
            drafts,
            members_only,
            members_only_urls,
            series,
            tags,
            by_source,
            withheld,
            by_url,
            places,
            renamed,
            moved,
            looped,
            texts,
            served,
            folders,
            linked_folders,
            changed: _,
            references: _,
        } = self;
        *posts == other.posts
            && *drafts == other.drafts
            && *members_only == other.members_only
            && *members_only_urls == other.members_only_urls
            && *series == other.series
            && *tags == other.tags
            && *by_source == other.by_source
            && *withheld == other.withheld
            && *by_url == other.by_url
            && *places == other.places
            && *renamed == other.renamed
            && *moved == other.moved
            && *looped == other.looped
            && *texts == other.texts
            && *served == other.served
            && *folders == other.folders
            && *linked_folders == other.linked_folders
    }
}

impl Eq for Site {}

/// Where a post sits in one series: (index into `Site::series`, role, index within that
/// role's list).
pub(super) type SeriesPlace = (usize, SeriesRole, usize);

/// What a build keeps for the next one: the snapshot and the problems found by what an edit
/// to a post's text cannot change.
#[derive(Debug, Clone)]
pub(super) struct Memo {
    site: Site,
    /// The posts as the scan read them (before URLs were settled), in path order.
    scanned: Vec<Arc<Post>>,
    /// Problems of the lists: shared URLs and slugs, members-only posts, series and tags.
    listing: Vec<Problem>,
    /// The link problems of published posts, by index into `site.posts`.
    links: BTreeMap<usize, Vec<Problem>>,
    /// Problems found after the links: URL lengths and areas.
    after: Vec<Problem>,
    /// When it was built: a post dated between then and now must be published.
    now: PostDate,
}

/// Which post held each URL in the last snapshot (URL → source): a post that keeps its file
/// and the URL it asks for keeps that URL, whatever comes later.
pub(super) type Holders = HashMap<String, PathBuf>;

impl Site {
    /// The text files (relative to the root) that changed since `previous`, when this snapshot
    /// was made from it by changing those alone: its lists, and every page that shows only
    /// what lists show, are as they were. `None` when the lists were made again.
    pub fn changed_since(&self, previous: &Site) -> Option<&[PathBuf]> {
        let kept = Arc::ptr_eq(&self.series, &previous.series)
            && Arc::ptr_eq(&self.tags, &previous.tags)
            && Arc::ptr_eq(&self.by_url, &previous.by_url)
            && Arc::ptr_eq(&self.by_source, &previous.by_source)
            && Arc::ptr_eq(&self.places, &previous.places)
            && Arc::ptr_eq(&self.withheld, &previous.withheld)
            && Arc::ptr_eq(&self.renamed, &previous.renamed)
            && Arc::ptr_eq(&self.moved, &previous.moved)
            && Arc::ptr_eq(&self.served, &previous.served)
            && Arc::ptr_eq(&self.folders, &previous.folders)
            && self.posts.len() == previous.posts.len()
            && self.drafts.len() == previous.drafts.len();
        self.changed.0.as_deref().filter(|_| kept)
    }

    /// A text file as last read, by its path relative to the root.
    pub fn text(&self, source: &Path) -> Option<&Text> {
        self.texts.get(source)
    }

    /// The text file a request path names, if the snapshot has it: `x.gmi` (or its Markdown
    /// twin `x.md`), or for a folder path its `index.gmi` (or `index.md`, or the section page
    /// `_index.md`). Hidden files are never in the snapshot.
    pub fn text_path(&self, segments: &[String], ends_with_slash: bool) -> Option<&Path> {
        let joined: PathBuf = segments.iter().collect();
        let page = if ends_with_slash {
            joined.join(super::files::INDEX_FILE)
        } else if segments.last().is_some_and(|s| s.ends_with(".gmi")) {
            joined
        } else {
            return None;
        };
        // The hand-written `.gmi` wins over its Markdown twin, and both over a section page.
        let section = ends_with_slash.then(|| page.with_file_name(super::files::SECTION_FILE));
        std::iter::once(page.clone())
            .chain(super::files::markdown_sources(&page))
            .chain(section)
            .find_map(|c| self.texts.get_key_value(&c).map(|(k, _)| k.as_path()))
    }

    /// What the folder held at a request path when the site was read: `None` when only the
    /// folder can tell (the path is, or passes through, a symlinked folder, which is not
    /// walked: its page lies in the folder it leads to).
    pub fn entry_at(&self, segments: &[String]) -> Option<Entry> {
        let mut url = String::new();
        for segment in segments {
            url.push('/');
            url.push_str(segment);
            if self.linked_folders.contains(&url) {
                return None;
            }
        }
        Some(if url.is_empty() || self.folders.contains(&url) {
            Entry::Folder
        } else if self.served.contains(&url) && !is_markdown(Path::new(&url)) {
            Entry::File
        } else {
            Entry::Nothing
        })
    }

    /// Whether this source file is a post readers must not see (a draft, or dated ahead).
    pub fn is_withheld(&self, source: &Path) -> bool {
        self.withheld.contains(source)
    }

    /// Why a withheld post is not shown, and the line of its source that says so.
    pub fn withheld_reason(&self, post: &Post) -> (usize, String) {
        if post.meta.draft {
            let key = if post.lines.line("draft").is_some() {
                "draft"
            } else {
                "published"
            };
            (post.line(key), "draft".into())
        } else if let Some((series, part)) = self.scheduled_part(&post.source) {
            (
                post.line("date"),
                format!(
                    "dated ahead: part {} of series “{}” is scheduled for {}, and no list \
                     counts it until then",
                    part.number,
                    series.name,
                    post.meta.date.minute()
                ),
            )
        } else {
            let (key, why) = post.meta.withheld_why(PostDate::now());
            (post.line(key), why)
        }
    }

    /// The series a post dated ahead is a part to come of, and its place there.
    fn scheduled_part(&self, source: &Path) -> Option<(&Series, &crate::content::series::Member)> {
        self.series.iter().find_map(|series| {
            let part = series.members.scheduled.iter().find(|m| m.path == source)?;
            Some((series, part))
        })
    }

    /// The published post made from this source file (relative to the capsule root), listed
    /// or in an area.
    pub fn post(&self, source: &Path) -> Option<&Post> {
        match self.by_source.get(source) {
            Some(&i) => Some(&*self.posts[i]),
            None => self.members_only.get(source).map(|p| &**p),
        }
    }

    /// The published post served at this URL (as the site writes URLs: percent-encoded),
    /// listed or in an area.
    pub fn post_by_url(&self, url: &str) -> Option<&Post> {
        match self.by_url.get(url) {
            Some(&i) => Some(&*self.posts[i]),
            None => self.post(self.members_only_urls.get(url)?),
        }
    }

    /// The source of the text page a request path (decoded segments) names: a published
    /// post's by its URL, else a page by its file's name.
    pub fn page_at(&self, segments: &[String], ends_with_slash: bool) -> Option<&Path> {
        let slash = if ends_with_slash && !segments.is_empty() {
            "/"
        } else {
            ""
        };
        let url = crate::convert::url::encode_path(&format!("/{}{slash}", segments.join("/")));
        match self.post_by_url(&url) {
            Some(post) => Some(&post.source),
            None => self.text_path(segments, ends_with_slash),
        }
    }

    /// Where the page at a request path sends readers by its `redirect_to`, as stored.
    pub fn redirect_at(&self, segments: &[String], ends_with_slash: bool) -> Option<&str> {
        self.redirect_of(self.page_at(segments, ends_with_slash)?)
    }

    /// Where the page made from `source` (relative to the root) sends readers by its
    /// `redirect_to`, as stored; `None` for a page that is served, one withheld, and one
    /// whose redirect leads back to it.
    pub fn redirect_of(&self, source: &Path) -> Option<&str> {
        match self.text(source)? {
            Text::Page(page) if page.withheld.is_none() && !self.looped.contains(source) => {
                page.redirect.as_deref()
            }
            _ => None,
        }
    }

    /// Every post read: published, withheld (drafts, dated ahead) and members-only.
    pub fn all_posts(&self) -> impl Iterator<Item = &Post> {
        self.posts
            .iter()
            .chain(&self.drafts)
            .map(|p| &**p)
            .chain(self.members_only.values().map(|p| &**p))
    }

    /// How many published posts lie in areas (served, never listed).
    pub fn members_only_count(&self) -> usize {
        self.members_only.len()
    }

    /// The URL of a published post, by its source file.
    pub fn url_of(&self, source: &Path) -> Option<&str> {
        self.post(source).map(|p| p.url.as_str())
    }

    /// Whether the folder serves this path (decoded, from the root: `/about.gmi`, `/notes`):
    /// a file, or a folder, as the site was last read.
    pub fn serves(&self, path: &str) -> bool {
        self.served.contains(path)
    }

    /// Whether a published post belongs to a series (and so is served with its navigation).
    pub fn in_series(&self, source: &Path) -> bool {
        self.places.contains_key(source)
    }

    /// Where a published post sits in each of its series.
    pub fn places_of(&self, source: &Path) -> Vec<Place<'_>> {
        self.places
            .get(source)
            .into_iter()
            .flatten()
            .map(|&(s, role, index)| Place {
                series: &self.series[s],
                role,
                index,
            })
            .collect()
    }

    /// The page the server generates from the site at these path segments, if any. One table
    /// for the listener, the link check and the static build.
    pub fn generated(&self, segments: &[String]) -> Option<Generated<'_>> {
        self.generated_at(Route::parse(segments)?)
    }

    /// The page the site makes for a route, if it has one (a tag or series it holds; never
    /// the drafts or search, which are the reader's, not the site's).
    pub fn generated_at(&self, route: Route<'_>) -> Option<Generated<'_>> {
        Some(match route {
            Route::Home => Generated::Home,
            Route::Feed => Generated::Feed,
            Route::Robots => Generated::Robots,
            Route::Archive => Generated::Archive,
            Route::AllTags => Generated::AllTags,
            Route::Tag(tag) => {
                let (slug, tag) = self.tags.get_key_value(tag)?;
                Generated::Tag(slug, tag)
            }
            Route::AllSeries => Generated::AllSeries,
            Route::Series(slug) => match self.series_by_slug(slug) {
                Some(series) => Generated::Series(series),
                None => Generated::SeriesMoved(self.series_by_alias(slug)?, false),
            },
            Route::SeriesFeed(slug) => match self.series_by_slug(slug) {
                Some(series) => Generated::SeriesFeed(series),
                None => Generated::SeriesMoved(self.series_by_alias(slug)?, true),
            },
            Route::Drafts | Route::Search(_) => return None,
        })
    }

    /// Where a former URL of a post (decoded path segments, as requested) now is, when
    /// nothing else answers there.
    pub fn moved_to(&self, segments: &[String]) -> Option<&Moved> {
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.moved
            .get(&crate::convert::redirect::former_key(&segments)?)
    }

    /// The former URLs their authors wrote (decoded, without a trailing slash), each with
    /// the URL it leads to, for a static copy, which cannot redirect.
    pub fn written_former_urls(&self) -> impl Iterator<Item = (&str, &str)> {
        self.moved
            .iter()
            .filter(|(_, m)| m.written)
            .map(|(key, m)| (key.as_str(), m.to.as_str()))
    }

    /// A series by its URL slug.
    pub fn series_by_slug(&self, slug: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.slug == slug)
    }

    /// A series by one of its former URL names.
    pub fn series_by_alias(&self, slug: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.aliases.iter().any(|a| a == slug))
    }
}

/// What a request path named in the folder, when the site was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Folder,
    File,
    Nothing,
}

/// A page made from the site rather than read from a file.
#[derive(Debug, Clone, Copy)]
pub enum Generated<'a> {
    Home,
    /// Only when the capsule has no `robots.txt` of its own.
    Robots,
    Feed,
    Archive,
    AllTags,
    /// A tag's page: its URL name, and the tag.
    Tag(&'a str, &'a Tag),
    AllSeries,
    Series(&'a Series),
    SeriesFeed(&'a Series),
    /// A former URL name of a series (its index, or its feed when `true`): redirected.
    SeriesMoved(&'a Series, bool),
}

impl Generated<'_> {
    /// Whether the page is a folder-style URL (`/archive/`), so the bare form redirects. A
    /// former name of a series is redirected in whichever form it is asked.
    pub fn is_folder(&self) -> bool {
        !matches!(self, Generated::SeriesMoved(..)) && self.route().is_some_and(|r| r.is_folder())
    }

    /// Its route, by which it is linked; `None` for a former name of a series (its new one
    /// is [`Generated::moved_to`]).
    pub fn route(&self) -> Option<Route<'_>> {
        Some(match self {
            Generated::Home => Route::Home,
            Generated::Robots => Route::Robots,
            Generated::Feed => Route::Feed,
            Generated::Archive => Route::Archive,
            Generated::AllTags => Route::AllTags,
            Generated::Tag(slug, _) => Route::Tag(slug),
            Generated::AllSeries => Route::AllSeries,
            Generated::Series(series) => Route::Series(&series.slug),
            Generated::SeriesFeed(series) => Route::SeriesFeed(&series.slug),
            Generated::SeriesMoved(..) => return None,
        })
    }

    /// Where a former name of a series leads: its index, or its feed.
    pub fn moved_to(&self) -> Option<Route<'_>> {
        match self {
            Generated::SeriesMoved(series, false) => Some(Route::Series(&series.slug)),
            Generated::SeriesMoved(series, true) => Some(Route::SeriesFeed(&series.slug)),
            _ => None,
        }
    }
}

/// Where a post sits in its series.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub series: &'a Series,
    pub role: SeriesRole,
    /// Index within the list of its role (parts, supplements or see-also).
    pub index: usize,
}
