//! The capsule's posts, read from disk into one immutable [`Site`]: every post's metadata, its
//! series in reading order, its tags, and every problem found on the way, each naming its file
//! (and line, where there is one).
//!
//! Posts are the `.md` and `.gmi` files under `capsule/posts/`. A broken post is left out and
//! reported; it never stops the others.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use time::OffsetDateTime;

use super::files::{CapsuleRoot, is_markdown};
use super::front_matter::KeyLines;
use super::markdown;
use super::post::{
    FileFacts, MetaProblem, PostDate, PostMeta, RawMeta, SeriesRole, fold, is_valid_slug, part_of,
    series_name,
};
use super::scan::{self, ReadCache, Scan, Text};
use super::series::{self, Member, Ordered, stable_hash};
use crate::config::{HostConfig, SeriesConfig};
use crate::convert;

/// The folder, below the capsule root, that holds the posts.
pub const POSTS_DIR: &str = "posts";

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

/// A series and its posts in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub slug: String,
    pub members: Ordered,
    /// Gemtext from `capsule/series/<slug>.md` (or `.gmi`), shown on the series index.
    pub description: Option<String>,
    /// Former URL names (from `aliases` in the config), redirected to this one.
    pub aliases: Vec<String>,
}

/// A tag: as its author first wrote it, and its posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// Indexes into `Site::posts`, newest first.
    pub posts: Vec<usize>,
}

/// The folder, below the capsule root, whose `<slug>.md` files describe series.
pub const SERIES_DIR: &str = "series";

/// Something wrong with a file of the capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the capsule root.
    pub path: PathBuf,
    /// 1-based, in that file: where the author can fix it (a problem with the whole file is
    /// at its first line).
    pub line: usize,
    pub message: String,
    /// Errors keep a post from being published; warnings do not.
    pub error: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.error { "error" } else { "warning" };
        write!(
            f,
            "{}:{}: {kind}: {}",
            self.path.display(),
            self.line,
            self.message
        )
    }
}

/// Everything the capsule serves, as read at one moment: the generated pages are made from it
/// and every text page is served from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Every text file (`.md`, `.gmi`) by path relative to the root, as last read.
    texts: Arc<HashMap<PathBuf, Text>>,
    /// Every path the capsule folder serves (decoded), for the link check.
    served: Arc<HashSet<String>>,
    folders: Arc<HashSet<String>>,
    linked_folders: Arc<HashSet<String>>,
    /// When this snapshot kept the last one's lists: the text files (relative) that changed
    /// since. Not part of what the snapshot holds (two equal snapshots may differ here).
    changed: Changed,
}

/// The text files a snapshot changed from the last one it kept the lists of.
#[derive(Debug, Clone, Default)]
struct Changed(Option<Arc<[PathBuf]>>);

impl PartialEq for Changed {
    fn eq(&self, _: &Changed) -> bool {
        true
    }
}

impl Eq for Changed {}

/// Where a post sits in one series: (index into `Site::series`, role, index within that
/// role's list).
type SeriesPlace = (usize, SeriesRole, usize);

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
        let now = PostDate(OffsetDateTime::now_utc());
        let previous = cache.site.take();
        let memo = match previous
            .as_ref()
            .and_then(|m| update(m, &scanned, options, now))
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

    /// Every list made again from every post read.
    fn whole(
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
            .partition(|p| p.meta.draft || (!options.show_future && p.meta.date.0 > now.0));
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
    fn share(&mut self, previous: &Site) {
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
    /// twin `x.md`), or for a folder path its `index.gmi` (or `index.md`). Hidden files are
    /// never in the snapshot.
    pub fn text_path(&self, segments: &[String], ends_with_slash: bool) -> Option<&Path> {
        let joined: PathBuf = segments.iter().collect();
        let candidates = if ends_with_slash {
            [
                Some(joined.join(super::files::INDEX_FILE)),
                Some(joined.join("index.md")),
            ]
        } else if segments.last().is_some_and(|s| s.ends_with(".gmi")) {
            [Some(joined.clone()), Some(joined.with_extension("md"))]
        } else {
            [None, None]
        };
        // The hand-written `.gmi` wins over its Markdown twin.
        candidates
            .into_iter()
            .flatten()
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
        } else {
            (
                post.line("date"),
                format!("dated ahead: appears {}", post.meta.date.minute()),
            )
        }
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
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        Some(match s.as_slice() {
            [] => Generated::Home,
            ["atom.xml"] => Generated::Feed,
            ["robots.txt"] => Generated::Robots,
            ["archive"] => Generated::Archive,
            ["tags"] => Generated::AllTags,
            ["tags", tag] => Generated::Tag(self.tags.get(*tag)?),
            ["series"] => Generated::AllSeries,
            ["series", slug] => match self.series_by_slug(slug) {
                Some(series) => Generated::Series(series),
                None => Generated::SeriesMoved(self.series_by_alias(slug)?, false),
            },
            ["series", slug, "atom.xml"] => match self.series_by_slug(slug) {
                Some(series) => Generated::SeriesFeed(series),
                None => Generated::SeriesMoved(self.series_by_alias(slug)?, true),
            },
            _ => return None,
        })
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
    Tag(&'a Tag),
    AllSeries,
    Series(&'a Series),
    SeriesFeed(&'a Series),
    /// A former URL name of a series (its index, or its feed when `true`): redirected.
    SeriesMoved(&'a Series, bool),
}

impl Generated<'_> {
    /// Whether the page is a folder-style URL (`/archive/`), so the bare form redirects.
    pub fn is_folder(&self) -> bool {
        !matches!(
            self,
            Generated::Robots
                | Generated::Feed
                | Generated::SeriesFeed(_)
                | Generated::SeriesMoved(..)
        )
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
        let page = if explicit_slug {
            relative.with_file_name(format!("{}.gmi", meta.slug))
        } else {
            relative.with_extension("gmi")
        };
        let url = page_url(&page);
        let post = Post {
            renamed: explicit_slug && url != page_url(&relative.with_extension("gmi")),
            source: relative.to_owned(),
            url,
            meta,
            links,
            part_line: front_lines.line(part_key).unwrap_or(1),
            lines: front_lines.clone(),
        };
        (Some(post), problems)
    }

    /// The URL its file name gives it (`posts/x.md` → `/posts/x.gmi`), whatever its `slug`.
    pub fn natural_url(&self) -> String {
        page_url(&self.source.with_extension("gmi"))
    }

    /// The line of its source a front-matter key is written on (1 when it is not).
    pub fn line(&self, key: &str) -> usize {
        self.lines.line(key).unwrap_or(1)
    }
}

/// The URL of a page, from its path relative to the capsule root.
fn page_url(page: &Path) -> String {
    convert::url::encode_path(&format!("/{}", page.to_string_lossy()))
}

/// Warns of a client-certificate area that guards nothing (its path is case-sensitive, and a
/// slip leaves the folder it meant public) and of one that holds the posts folder (every list
/// is then empty, for members too).
fn check_areas(capsule: &CapsuleRoot, site: &Site, problems: &mut Vec<Problem>) {
    let segments = |path: &str| -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for area in capsule.areas() {
        let mut place: PathBuf = area.segments().iter().collect();
        if place.as_os_str().is_empty() {
            place = PathBuf::from(".");
        }
        // A folder of its path that is a symlink: the files are served under the name it
        // leads to as well, outside the area.
        let mut walked = capsule.path().to_owned();
        for name in area.segments() {
            walked.push(name);
            if walked
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                problems.push(Problem {
                    path: place.clone(),
                    line: 1,
                    message: format!(
                        "the client-certificate area {area} passes through the symlink {}: \
                         what it leads to is served under its own name too, to anyone; put \
                         the area on the folder the link leads to",
                        walked
                            .strip_prefix(capsule.path())
                            .unwrap_or(&walked)
                            .display()
                    ),
                    error: false,
                });
                break;
            }
        }
        let guards = site
            .served
            .iter()
            .chain(site.folders.iter())
            .any(|path| area.covers(&segments(path)))
            || site.generated(area.segments()).is_some()
            || area.segments().is_empty();
        if !guards {
            problems.push(Problem {
                path: place.clone(),
                line: 1,
                message: format!(
                    "the client-certificate area {area} names nothing in the capsule (paths \
                     are case-sensitive): it guards nothing"
                ),
                error: false,
            });
        }
        if area.covers(&[POSTS_DIR.to_owned()]) {
            problems.push(Problem {
                path: place,
                line: 1,
                message: format!(
                    "the client-certificate area {area} holds every post: they are served to \
                     the certificates it lets in, but the home page, archive, tags, series and \
                     feeds list none of them, to anyone"
                ),
                error: false,
            });
        }
    }
}

/// Which post held each URL in the last snapshot (URL → source): a post that keeps its file
/// and the URL it asks for keeps that URL, whatever comes later.
pub(super) type Holders = HashMap<String, PathBuf>;

/// The URLs a snapshot settled, for the next build's [`settle_urls`].
fn holders_of(site: &Site) -> Holders {
    site.all_posts()
        .map(|p| (p.url.clone(), p.source.clone()))
        .collect()
}

/// Gives each post its URL: the one its file name makes, or its `slug`'s. Two posts that ask
/// for one URL do not share it: the one that held it in the last snapshot (`held`) keeps it,
/// else the one named so, else the older (by date, then file name); the other gets an error
/// naming both. A post
/// renamed by a `slug` that loses is served at its file's own name; one that asks for its own
/// name and loses is not served (its source is returned, to be withheld). A slug may never
/// take the name of a file that is no post. A hand-written `.gmi` and its Markdown twin share
/// a name: the `.gmi` wins.
fn settle_urls(
    scanned: Vec<Arc<Post>>,
    texts: &HashMap<PathBuf, Text>,
    served: &HashSet<String>,
    held: &Holders,
    problems: &mut Vec<Problem>,
) -> (Vec<Arc<Post>>, Vec<PathBuf>) {
    // Twins first: one file per name.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut claims: Vec<Arc<Post>> = Vec::new();
    for post in scanned {
        if post.renamed {
            claims.push(post);
            continue;
        }
        match by_name.get(&post.url) {
            Some(&earlier) => {
                let later_wins = is_markdown(&claims[earlier].source) && !is_markdown(&post.source);
                let (keep, drop) = if later_wins {
                    (post, claims[earlier].source.clone())
                } else {
                    (claims[earlier].clone(), post.source.clone())
                };
                problems.push(Problem {
                    path: drop.clone(),
                    line: 1,
                    message: format!(
                        "{} serves the same URL {}; {} is ignored",
                        keep.source.display(),
                        keep.url,
                        drop.display()
                    ),
                    error: false,
                });
                claims[earlier] = keep;
            }
            None => {
                by_name.insert(post.url.clone(), claims.len());
                claims.push(post);
            }
        }
    }
    let natural_names: HashSet<String> = claims
        .iter()
        .filter(|p| !p.renamed)
        .map(|p| p.url.clone())
        .collect();
    // The holder first; else a file's own name before a slug, then the older post, then by
    // file name.
    claims.sort_by(|a, b| {
        let holds = |p: &Post| held.get(&p.url) == Some(&p.source);
        holds(b)
            .cmp(&holds(a))
            .then_with(|| a.renamed.cmp(&b.renamed))
            .then_with(|| a.meta.date.cmp(&b.meta.date))
            .then_with(|| a.source.cmp(&b.source))
    });
    let mut by_url: HashMap<String, usize> = HashMap::new();
    let mut all: Vec<Arc<Post>> = Vec::new();
    let mut moved: Vec<(Arc<Post>, String)> = Vec::new();
    let mut unserved = Vec::new();
    for post in claims {
        let page = percent_decode_str(&post.url)
            .decode_utf8_lossy()
            .into_owned();
        // A file (or folder) of that name that is no post: it has the URL, unless this post
        // held it first (a folder made since does not take it).
        let held_here = held.get(&post.url) == Some(&post.source);
        let holder = if post.renamed
            && !held_here
            && served.contains(&page)
            && !natural_names.contains(&post.url)
        {
            let owner = Path::new(page.trim_start_matches('/'));
            let owner = [owner.to_owned(), owner.with_extension("md")]
                .into_iter()
                .find(|p| texts.contains_key(p))
                .unwrap_or_else(|| owner.to_owned());
            Some(format!("which {} has by its name", owner.display()))
        } else {
            by_url.get(&post.url).map(|&i| {
                let how = if all[i].renamed {
                    "its `slug`"
                } else {
                    "its name"
                };
                format!("which {} holds by {how}", all[i].source.display())
            })
        };
        match holder {
            None => {
                by_url.insert(post.url.clone(), all.len());
                all.push(post);
            }
            Some(holder) if post.renamed => moved.push((post, holder)),
            Some(holder) => {
                problems.push(Problem {
                    path: post.source.clone(),
                    line: 1,
                    message: format!(
                        "{} would be served at {}, {holder}: a post keeps its URL, so this \
                         one is not served until one of them is renamed",
                        post.source.display(),
                        post.url
                    ),
                    error: true,
                });
                unserved.push(post.source.clone());
            }
        }
    }
    // A slug that lost is served at its file's own name, if that is free.
    for (post, holder) in moved {
        let natural = post.natural_url();
        let free = !by_url.contains_key(&natural);
        problems.push(Problem {
            path: post.source.clone(),
            line: post.line("slug"),
            message: if free {
                format!(
                    "`slug` `{}` asks for {}, {holder}; this post is served at {natural} \
                     until its slug is changed",
                    post.meta.slug, post.url
                )
            } else {
                format!(
                    "`slug` `{}` asks for {}, {holder}, and its own name {natural} is held \
                     too: it is not served until its slug is changed",
                    post.meta.slug, post.url
                )
            },
            error: true,
        });
        if !free {
            unserved.push(post.source.clone());
            continue;
        }
        let post = Arc::new(Post {
            url: natural,
            renamed: false,
            ..(*post).clone()
        });
        by_url.insert(post.url.clone(), all.len());
        all.push(post);
    }
    // Back in path order, as the scan found them.
    all.sort_by(|a, b| a.source.cmp(&b.source));
    (all, unserved)
}

/// Published posts renamed by a `slug`: the URL their file name gives → theirs. A name
/// another post holds (a hand-written twin) is left alone.
fn renamed_posts(posts: &[Arc<Post>], drafts: &[Arc<Post>]) -> HashMap<String, String> {
    let renamed: Vec<&Arc<Post>> = posts.iter().filter(|p| p.renamed).collect();
    if renamed.is_empty() {
        return HashMap::new();
    }
    let held: HashSet<&str> = posts.iter().chain(drafts).map(|p| p.url.as_str()).collect();
    renamed
        .into_iter()
        .filter_map(|p| {
            let natural = p.natural_url();
            (!held.contains(natural.as_str())).then(|| (natural, p.url.clone()))
        })
        .collect()
}

/// The page with its links to a renamed post's file name (`[next](2024-03-11-knots.md)`)
/// pointed at its URL, so they hold in a static copy too, where the old name cannot redirect;
/// `None` when it has none. Preformatted blocks are left alone.
fn rewrite_links(path: &Path, text: &Text, renamed: &HashMap<String, String>) -> Option<Text> {
    let Text::Page(page) = text else {
        return None;
    };
    let page_url = page_url(&if is_markdown(path) {
        path.with_extension("gmi")
    } else {
        path.to_owned()
    });
    let mut changed = false;
    let mut preformatted = false;
    let mut out = String::with_capacity(page.gemtext.len());
    for line in page.gemtext.split_inclusive('\n') {
        if line.starts_with("```") {
            preformatted = !preformatted;
        }
        let rewritten = line
            .strip_prefix("=>")
            .filter(|_| !preformatted)
            .and_then(|rest| {
                let rest = rest.trim_start();
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let (target, label) = rest.split_at(end);
                let new = renamed.get(&local_path(&page_url, target)?)?;
                // A query or fragment stays with the link.
                let suffix = target.find(['?', '#']).map_or("", |i| &target[i..]);
                Some(format!("=> {new}{suffix}{label}"))
            });
        match rewritten {
            Some(line) => {
                changed = true;
                out.push_str(&line);
            }
            None => out.push_str(line),
        }
    }
    changed.then(|| {
        Text::Page(Arc::new(markdown::Page {
            gemtext: out,
            ..(**page).clone()
        }))
    })
}

/// The snapshot after `scanned`, a pass over named files, when no post's place in any list
/// changed: the last one's lists with the changed posts and pages put in. `None` when the
/// lists must be made again.
fn update(memo: &Memo, scanned: &Scan, options: &BuildOptions, now: PostDate) -> Option<Memo> {
    let changed = scanned
        .changed
        .as_ref()
        .filter(|_| !scanned.files_came_or_went)?;
    // A post dated ahead whose time has come, or a clock set back: the lists change.
    let came_due = !options.show_future
        && memo
            .site
            .drafts
            .iter()
            .any(|p| !p.meta.draft && p.meta.date.0 <= now.0);
    if came_due || now.0 < memo.now.0 {
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
        // Series descriptions are shown on their indexes.
        if path.starts_with(SERIES_DIR) {
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
    if site.renamed.is_empty() {
        site.texts = Arc::clone(&scanned.texts);
    } else {
        let texts = Arc::make_mut(&mut site.texts);
        for path in changed {
            match scanned.texts.get(path) {
                Some(text) => {
                    let text = rewrite_links(path, text, &site.renamed).unwrap_or(text.clone());
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
        let found = link_problems(&site, &withheld, &site.posts[i]);
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

/// Whether two versions of a post sit in the same place of every list: all but their links
/// (the body's text is not part of a post) are the same.
fn same_place(old: &Post, new: &Post) -> bool {
    old.source == new.source
        && old.url == new.url
        && old.meta == new.meta
        && old.lines == new.lines
        && old.part_line == new.part_line
}

/// The longest path a page's URL may have: a Gemini request is at most 1024 bytes, and the
/// scheme and host take some (`gemini://` and a host of up to 100 bytes, say).
pub const MAX_PATH_BYTES: usize = 900;

/// Warns about pages listed at a URL too long for a reader to request (a long name in a
/// script whose letters take three bytes each, percent-encoded to nine).
fn check_url_lengths(site: &Site, problems: &mut Vec<Problem>) {
    let mut warn = |path: &Path, line: usize, what: String, url: &str| {
        if url.len() > MAX_PATH_BYTES {
            problems.push(Problem {
                path: path.to_owned(),
                line,
                message: format!(
                    "{what} has a URL of {} bytes, too long for a Gemini request (1024 bytes in \
                     all): give it a shorter name",
                    url.len()
                ),
                error: false,
            });
        }
    };
    for post in &site.posts {
        warn(
            &post.source,
            post.line("slug"),
            "this post".into(),
            &post.url,
        );
    }
    for one in site.series.iter() {
        let url = format!("/series/{}/atom.xml", convert::url::encode_path(&one.slug));
        if let Some(first) = one
            .members
            .parts
            .iter()
            .chain(&one.members.supplements)
            .next()
        {
            warn(&first.path, 1, format!("series “{}”", one.name), &url);
        }
    }
    for (slug, tag) in site.tags.iter() {
        let url = format!("/tags/{}/", convert::url::encode_path(slug));
        if let Some(&i) = tag.posts.last() {
            let post = &site.posts[i];
            warn(
                &post.source,
                post.line("tags"),
                format!("tag “{}”", tag.name),
                &url,
            );
        }
    }
}

/// Withheld posts by both their URLs, looked up once per link.
fn withheld_by_url(site: &Site) -> HashMap<String, &Post> {
    let mut withheld: HashMap<String, &Post> = HashMap::new();
    for post in &site.drafts {
        withheld.insert(post.natural_url(), post);
        withheld.insert(post.url.clone(), post);
    }
    withheld
}

/// Warnings about the links of `post` to capsule pages that do not exist (generated pages
/// count as existing) or are withheld.
fn link_problems(site: &Site, withheld: &HashMap<String, &Post>, post: &Post) -> Vec<Problem> {
    let mut problems = Vec::new();
    for Link { target, line } in &post.links {
        let Some(path) = local_path(&post.url, target) else {
            continue;
        };
        let Ok(decoded) = percent_decode_str(&path).decode_utf8() else {
            continue; // no file has such a name
        };
        let segments: Vec<String> = decoded
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let url = convert::url::encode_path(&decoded);
        if let Some(&withheld) = withheld.get(&url) {
            let (_, why) = site.withheld_reason(withheld);
            problems.push(Problem {
                path: post.source.clone(),
                line: *line,
                message: format!(
                    "link to {target}: {} is not published ({why}); readers get \
                     “not found”",
                    withheld.source.display()
                ),
                error: false,
            });
            continue;
        }
        let found = site.generated(&segments).is_some()
            || site.post_by_url(&url).is_some()
            || site.served.contains(decoded.as_ref());
        if !found {
            problems.push(Problem {
                path: post.source.clone(),
                line: *line,
                message: format!("link to {target}: no such page in the capsule"),
                error: false,
            });
        }
    }
    // One file's broken links are told in a few lines, not one per link: the rest are
    // counted in a last line.
    if problems.len() > MAX_LINK_PROBLEMS {
        let more = problems.len() - MAX_LINK_PROBLEMS;
        problems.truncate(MAX_LINK_PROBLEMS);
        let line = problems.last().map_or(1, |p| p.line);
        problems.push(Problem {
            path: post.source.clone(),
            line,
            message: format!(
                "{more} more links after this line lead to pages that do not exist or are not \
                 published (only the first {MAX_LINK_PROBLEMS} of a file are told one by one)"
            ),
            error: false,
        });
    }
    problems
}

/// The broken links of one post that are each told in a line of their own.
const MAX_LINK_PROBLEMS: usize = 20;

/// The capsule path a link points to, resolved against the page's URL; `None` for links to
/// other sites (or other schemes).
fn local_path(page_url: &str, link: &str) -> Option<String> {
    if convert::url::scheme_of(link).is_some() || link.starts_with("//") {
        return None;
    }
    let link = link.split(['?', '#']).next().unwrap_or("");
    if link.is_empty() {
        return None;
    }
    let joined = if link.starts_with('/') {
        link.to_owned()
    } else {
        let base = &page_url[..page_url.rfind('/').map_or(0, |i| i + 1)];
        format!("{base}{link}")
    };
    let mut out: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let slash = if joined.ends_with('/') || joined.ends_with("/.") || joined.ends_with("/..") {
        "/"
    } else {
        ""
    };
    Some(format!("/{}{slash}", out.join("/")))
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

/// The posts of one series, as found.
#[derive(Default)]
struct Group<'a> {
    /// The config's name for it, when the config has settings for it (or lists the name a
    /// post uses among its aliases).
    configured: Option<(String, &'a SeriesConfig)>,
    /// Each post's spelling of the name: (name, date, source, line of `series`).
    spellings: Vec<(String, PostDate, &'a Path, usize)>,
    members: Vec<Member>,
    /// `series_slug`s its posts pin: (slug, date, source, line).
    pins: Vec<(String, PostDate, &'a Path, usize)>,
}

/// Groups published posts into series, ordered. A series is known by its name up to case and
/// Unicode form (and by its configured aliases); its URL name comes from that name alone, or
/// from a `slug` the author pins, so it never moves when another series comes or goes. Two
/// series that would share a URL name are an error: the older keeps it.
fn group_series(
    posts: &[Arc<Post>],
    settings: &BTreeMap<String, SeriesConfig>,
    problems: &mut Vec<Problem>,
) -> Vec<Series> {
    // Folded name (or alias) → the configured series it names.
    let mut configured: HashMap<String, (String, &SeriesConfig)> = HashMap::new();
    for (name, config) in settings {
        let Some(name) = series_name(name) else {
            continue;
        };
        configured.insert(fold(&name), (name.clone(), config));
        for alias in config.aliases.iter().filter_map(|a| series_name(a)) {
            configured
                .entry(fold(&alias))
                .or_insert_with(|| (name.clone(), config));
        }
    }
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    // Oldest first, so the first spelling and pin found are the earliest written.
    for post in posts.iter().rev() {
        for (i, name) in post.meta.series.iter().enumerate() {
            let found = configured.get(&fold(name)).cloned();
            let key = found.as_ref().map_or_else(|| fold(name), |(n, _)| fold(n));
            let group = groups.entry(key).or_default();
            group.configured = group.configured.take().or(found);
            group.spellings.push((
                name.clone(),
                post.meta.date,
                &post.source,
                post.line("series"),
            ));
            group
                .members
                .push(Member::of(&post.source, &post.meta, post.part_line));
            // A pinned slug names the post's first series.
            if i == 0
                && let Some(pin) = &post.meta.series_slug
            {
                group.pins.push((
                    pin.clone(),
                    post.meta.date,
                    &post.source,
                    post.line("series_slug"),
                ));
            }
        }
    }

    let mut out: Vec<Series> = Vec::new();
    // Per series: its earliest post (the older series keeps a contested URL name), whether
    // its slug was chosen (pinned) rather than made, and where to report it.
    let mut claims: Vec<(PostDate, bool, PathBuf, usize)> = Vec::new();
    for (_, group) in groups {
        let name = match &group.configured {
            Some((name, _)) => name.clone(),
            None => most_used(&group.spellings),
        };
        let aliased = |spelling: &str| {
            group.configured.as_ref().is_some_and(|(_, c)| {
                c.aliases
                    .iter()
                    .any(|a| series_name(a).is_some_and(|a| fold(&a) == fold(spelling)))
            })
        };
        for (spelling, _, path, line) in &group.spellings {
            if *spelling != name && fold(spelling) == fold(&name) && !aliased(spelling) {
                problems.push(Problem {
                    path: path.to_path_buf(),
                    line: *line,
                    message: format!(
                        "series “{spelling}” is taken as “{name}”, as it is written elsewhere \
                         (names that differ only in case or accents are one series): write \
                         it the same way everywhere"
                    ),
                    error: false,
                });
            }
        }
        let configured_slug = group
            .configured
            .as_ref()
            .and_then(|(_, c)| c.slug.clone())
            .filter(|s| is_valid_slug(s));
        let mut chosen = configured_slug.clone();
        for (pin, _, path, line) in &group.pins {
            match &chosen {
                None => chosen = Some(pin.clone()),
                Some(slug) if slug == pin => {}
                Some(slug) => problems.push(Problem {
                    path: path.to_path_buf(),
                    line: *line,
                    message: format!(
                        "`series_slug` `{pin}` differs from `{slug}`, the URL name {} gives \
                         series “{name}”; it is ignored",
                        if configured_slug.is_some() {
                            "config.toml".to_owned()
                        } else {
                            let first = &group.pins[0];
                            format!("{} (line {})", first.2.display(), first.3)
                        }
                    ),
                    error: true,
                }),
            }
        }
        let pinned = chosen.is_some();
        let slug = chosen.unwrap_or_else(|| series::slug(&name));
        let (date, path, line) = group
            .spellings
            .iter()
            .map(|(_, date, path, line)| (*date, path.to_path_buf(), *line))
            .min_by(|a, b| a.0.0.cmp(&b.0.0).then_with(|| a.1.cmp(&b.1)))
            .unwrap_or((PostDate(OffsetDateTime::UNIX_EPOCH), PathBuf::new(), 1));
        claims.push((date, pinned, path, line));
        let members = series::order(group.members);
        for warning in &members.warnings {
            problems.push(Problem {
                path: warning.path.clone(),
                line: warning.line,
                message: format!("series “{name}”: {}", warning.message),
                error: false,
            });
        }
        let aliases = group
            .configured
            .as_ref()
            .map(|(_, c)| {
                c.aliases
                    .iter()
                    .flat_map(|a| [series::slug(a), a.trim().to_owned()])
                    .filter(|a| is_valid_slug(a) && *a != slug)
                    .collect()
            })
            .unwrap_or_default();
        out.push(Series {
            name,
            slug,
            members,
            description: None,
            aliases,
        });
    }

    // Contested URL names: a pinned one beats a made one, then the older series keeps it.
    let mut by_slug: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, one) in out.iter().enumerate() {
        by_slug.entry(one.slug.clone()).or_default().push(i);
    }
    let mut taken: HashSet<String> = by_slug.keys().cloned().collect();
    for (slug, mut holders) in by_slug {
        if holders.len() < 2 {
            continue;
        }
        holders.sort_by(|&a, &b| {
            (!claims[a].1, claims[a].0.0, &out[a].name).cmp(&(
                !claims[b].1,
                claims[b].0.0,
                &out[b].name,
            ))
        });
        let keeper = holders[0];
        for &i in &holders[1..] {
            let fallback = free_slug(&slug, &fold(&out[i].name), &mut taken);
            let (_, _, path, line) = &claims[i];
            problems.push(Problem {
                path: path.clone(),
                line: *line,
                message: format!(
                    "series “{}” and series “{}” ({}) both have the URL name `{slug}`; “{}” \
                     is served at /series/{fallback}/ for now: give one of them a name of its \
                     own with `[series.\"{}\"] slug = \"…\"` in config.toml (or `series_slug: \
                     …` in the posts that name it first)",
                    out[i].name,
                    out[keeper].name,
                    claims[keeper].2.display(),
                    out[i].name,
                    out[i].name,
                ),
                error: true,
            });
            out[i].slug = fallback;
        }
    }
    // A former name that another series now holds stays that series'.
    let live: HashSet<String> = out.iter().map(|s| s.slug.clone()).collect();
    for one in &mut out {
        one.aliases.retain(|a| !live.contains(a));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The spelling most posts use; on a tie, the earliest written.
fn most_used(spellings: &[(String, PostDate, &Path, usize)]) -> String {
    let mut counts: Vec<(&str, usize, usize)> = Vec::new();
    for (i, (name, ..)) in spellings.iter().enumerate() {
        match counts.iter_mut().find(|(n, ..)| n == name) {
            Some(entry) => entry.1 += 1,
            None => counts.push((name, 1, i)),
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.2.cmp(&a.2)))
        .map(|(name, ..)| name.to_owned())
        .unwrap_or_default()
}

/// Groups published posts by tag. A tag is known by its text up to case and Unicode form, and
/// shown as first written; its URL name never merges two different tags (the newer one gets
/// a suffix, with a warning).
fn group_tags(posts: &[Arc<Post>], problems: &mut Vec<Problem>) -> BTreeMap<String, Tag> {
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

/// A URL name for the series or tag `key` whose own name `slug` another holds: `slug` and a
/// hash of `key` (stable from run to run), and a number if even that is taken.
fn free_slug(slug: &str, key: &str, taken: &mut HashSet<String>) -> String {
    let base = format!("{slug}-{}", stable_hash(key));
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(files: &[(&str, &str)]) -> (Site, Vec<Problem>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024 * 1024,
            show_future: false,
            series: BTreeMap::from([(
                "Sail".into(),
                SeriesConfig {
                    description: "From the config.".into(),
                    ..SeriesConfig::default()
                },
            )]),
            ..BuildOptions::default()
        };
        Site::build(&capsule, &options)
    }

    #[test]
    fn posts_series_tags_and_drafts() {
        let (site, problems) = build(&[
            (
                "posts/2024-03-11-knots.md",
                "---\nseries: Sail\npart: 2\ntags: [sailing]\n---\n# Knots\n",
            ),
            (
                "posts/first.md",
                "---\ntitle: First\ndate: 2024-03-04\nseries: Sail\npart: 1\ntags: [Sailing, intro]\n---\nHi [next](2024-03-11-knots.md).\n",
            ),
            (
                "posts/glossary.md",
                "---\ndate: 2024-04-03\nseries: Sail\n---\nTerms.\n",
            ),
            (
                "posts/secret.md",
                "---\ndraft: true\ndate: 2024-01-01\nseries: Sail\npart: 3\n---\nNo.\n",
            ),
            (
                "posts/later.md",
                "---\ndate: 2999-01-01\nseries: Sail\npart: 4\n---\nSoon.\n",
            ),
            ("posts/notes/2023-12-01-hand.gmi", "# Hand-written\n"),
            ("about.gmi", "# Not a post\n"),
            ("posts/.hidden.md", "x"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "/posts/glossary.gmi",
                "/posts/2024-03-11-knots.gmi",
                "/posts/first.gmi",
                "/posts/notes/2023-12-01-hand.gmi"
            ]
        );
        assert_eq!(site.posts[1].meta.title, "Knots");
        assert_eq!(site.posts[3].meta.title, "Hand-written");
        assert_eq!(site.drafts.len(), 2);
        assert!(site.is_withheld(Path::new("posts/later.md")));
        assert_eq!(site.series.len(), 1);
        let sail = &site.series[0];
        assert_eq!(sail.slug, "sail");
        assert_eq!(sail.description.as_deref(), Some("From the config."));
        let parts: Vec<_> = sail
            .members
            .parts
            .iter()
            .map(|m| m.title.as_str())
            .collect();
        assert_eq!(parts, ["First", "Knots"]);
        assert_eq!(sail.members.supplements.len(), 1);
        assert_eq!(site.tags["sailing"].posts, vec![1, 2]);
        assert_eq!(site.tags["sailing"].name, "Sailing");
        let places = site.places_of(Path::new("posts/2024-03-11-knots.md"));
        assert_eq!((places[0].role, places[0].index), (SeriesRole::Part, 1));
        assert!(site.places_of(Path::new("posts/secret.md")).is_empty());
        assert_eq!(
            site.url_of(Path::new("posts/first.md")),
            Some("/posts/first.gmi")
        );
        assert_eq!(site.tags["intro"].posts, vec![2]);
    }

    #[test]
    fn broken_posts_are_left_out_and_named() {
        let (site, problems) = build(&[
            ("posts/ok.md", "Fine.\n"),
            ("posts/bad.md", "---\ntitle: x\ntags: [a\n---\nBody\n"),
            ("posts/open.md", "+++\ntitle = \"x\"\n"),
            ("posts/slug.md", "---\nslug: ../x\n---\n"),
            (
                "posts/role.md",
                "---\nseries: S\nseries_role: appendix\n---\n",
            ),
            ("posts/big.md", &"x".repeat(2 * 1024 * 1024)),
            ("posts/only-front-matter.md", "---\ntitle: Only\n---\n"),
            ("posts/empty.md", ""),
        ]);
        let urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
        // ok, role (a warning only), only-front-matter and empty are published.
        assert_eq!(urls.len(), 4, "{urls:?}");
        assert!(urls.contains(&"/posts/empty.gmi"), "{urls:?}");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/bad.md:3: error: invalid YAML")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/open.md:1: error:")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/slug.md:2: error: `slug`")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/role.md:3: warning: unknown `series_role`")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/big.md:1: error:") && t.contains("limit")),
            "{text:?}"
        );
    }

    #[test]
    fn duplicate_urls_and_missing_links_are_reported() {
        let (site, problems) = build(&[
            (
                "posts/x.md",
                "From Markdown [gone](missing.md) [up](../about.gmi) [web](https://e.org/).\n",
            ),
            (
                "posts/x.gmi",
                "# Hand\n=> /nowhere/ Nowhere\n=> /archive/ Archive\n",
            ),
            ("about.gmi", "# About\n"),
        ]);
        assert_eq!(site.posts.len(), 1);
        assert_eq!(site.posts[0].meta.title, "Hand");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("posts/x.md:1: warning: posts/x.gmi serves the same URL")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("posts/x.gmi:2: warning: link to /nowhere/")),
            "{text:?}"
        );
        assert!(!text.iter().any(|t| t.contains("/archive/")), "{text:?}");
    }

    fn messages(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    /// A file's broken links are told one by one up to a few, then counted in one line.
    #[test]
    fn many_broken_links_are_told_in_a_few_lines() {
        let links: String = (0..50)
            .map(|i| format!("[l{i}](missing-{i}.md)\n\n"))
            .collect();
        let (_, problems) = build(&[("posts/2024-01-01-many.md", links.as_str())]);
        let text = messages(&problems);
        assert_eq!(text.len(), MAX_LINK_PROBLEMS + 1, "{text:?}");
        assert!(text[0].starts_with("posts/2024-01-01-many.md:1: warning: link to missing-0.gmi"));
        assert_eq!(
            text[MAX_LINK_PROBLEMS],
            "posts/2024-01-01-many.md:39: warning: 30 more links after this line lead to pages \
             that do not exist or are not published (only the first 20 of a file are told one \
             by one)"
        );
    }

    #[test]
    fn slugs_rename_pages_but_never_take_a_url_another_file_owns() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-02-long-file-name.md",
                "---\nslug: short.gmi\n---\nA.\n",
            ),
            (
                "posts/notes/2024-01-01-n.md",
                "---\nslug: short\n---\nIn a folder.\n",
            ),
            (
                "posts/2024-01-03-other.md",
                "---\nslug: short\n---\nClash.\n",
            ),
            (
                "posts/2024-01-04-thief.md",
                "---\nslug: owned\n---\nTakes a name.\n",
            ),
            (
                "posts/owned.md",
                "---\ndraft: true\ndate: 2024-01-01\n---\nThe owner, a draft, older.\n",
            ),
            (
                "posts/2024-01-05-linker.md",
                "[Long](2024-01-02-long-file-name.md) and [n](notes/2024-01-01-n.md).\n",
            ),
        ]);
        let mut urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
        urls.sort();
        assert_eq!(
            urls,
            [
                "/posts/2024-01-03-other.gmi",
                "/posts/2024-01-04-thief.gmi",
                "/posts/2024-01-05-linker.gmi",
                "/posts/notes/short.gmi",
                "/posts/short.gmi",
            ]
        );
        assert_eq!(
            site.post_by_url("/posts/short.gmi").unwrap().source,
            PathBuf::from("posts/2024-01-02-long-file-name.md")
        );
        let text = messages(&problems);
        assert!(
            text.iter().any(|t| t.starts_with(
                "posts/2024-01-03-other.md:2: error: `slug` `short` asks for /posts/short.gmi, \
                 which posts/2024-01-02-long-file-name.md holds by its `slug`"
            )),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with(
                "posts/2024-01-04-thief.md:2: error: `slug` `owned` asks for /posts/owned.gmi, \
                 which posts/owned.md holds by its name"
            )),
            "{text:?}"
        );

        // Links by file name follow the rename, in the page served (and so in a build).
        let Some(Text::Page(page)) = site.text(Path::new("posts/2024-01-05-linker.md")) else {
            panic!()
        };
        assert!(
            page.gemtext.contains("=> /posts/short.gmi Long\n"),
            "{}",
            page.gemtext
        );
        assert!(
            page.gemtext.contains("=> /posts/notes/short.gmi n\n"),
            "{}",
            page.gemtext
        );
        assert!(!text.iter().any(|t| t.contains("link to")), "{text:?}");
    }

    /// A post that keeps its file and slug keeps its URL whatever comes later, by slug or by
    /// name, older or not, across a reload that reads every file again; the newcomer gets
    /// the error, naming both files. Settled afresh, names come first, then age.
    #[test]
    fn the_post_that_holds_a_url_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = CapsuleRoot::open(dir.path()).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "posts/slugged.md",
            "---\ndate: 2024-06-01\nslug: hello\n---\nThe holder.\n",
        );
        let options = BuildOptions::default();
        let mut cache = ReadCache::default();
        let (site, _) = Site::build_cached(&root, &options, &mut cache);
        assert_eq!(site.posts[0].url, "/posts/hello.gmi");
        // Older newcomers, by slug and by name.
        write(
            "posts/aaa.md",
            "---\ndate: 2020-01-01\nslug: hello\n---\nThe newcomer.\n",
        );
        write("posts/hello.md", "---\ndate: 2020-01-02\n---\nBy name.\n");
        let mut reload = cache.only_holders();
        for reading in [&mut cache, &mut reload] {
            let (site, problems) = Site::build_cached(&root, &options, reading);
            let holder = site.post_by_url("/posts/hello.gmi").unwrap();
            assert_eq!(holder.source, PathBuf::from("posts/slugged.md"));
            assert_eq!(
                site.post(Path::new("posts/aaa.md")).unwrap().url,
                "/posts/aaa.gmi"
            );
            assert!(site.is_withheld(Path::new("posts/hello.md")));
            let text = messages(&problems);
            assert!(
                text.iter().any(|t| t.starts_with(
                    "posts/aaa.md:3: error: `slug` `hello` asks for /posts/hello.gmi, which \
                     posts/slugged.md holds by its `slug`"
                )),
                "{text:?}"
            );
            assert!(
                text.iter().any(|t| t.starts_with(
                    "posts/hello.md:1: error: posts/hello.md would be served at \
                     /posts/hello.gmi, which posts/slugged.md holds"
                )),
                "{text:?}"
            );
        }
        // A folder of that name made since does not take it either.
        std::fs::create_dir(dir.path().join("posts/hello.gmi")).unwrap();
        let (site, problems) = Site::build_cached(&root, &options, &mut cache);
        assert_eq!(
            site.post_by_url("/posts/hello.gmi").unwrap().source,
            PathBuf::from("posts/slugged.md")
        );
        assert!(messages(&problems).iter().all(|m| !m.contains("  ")));
        std::fs::remove_dir(dir.path().join("posts/hello.gmi")).unwrap();
        // Settled afresh (a restart), a file's own name comes first, then the older post.
        let (site, _) = Site::build(&root, &options);
        assert_eq!(
            site.post_by_url("/posts/hello.gmi").unwrap().source,
            PathBuf::from("posts/hello.md")
        );
        std::fs::remove_file(dir.path().join("posts/hello.md")).unwrap();
        let (site, _) = Site::build(&root, &options);
        assert_eq!(
            site.post_by_url("/posts/hello.gmi").unwrap().source,
            PathBuf::from("posts/aaa.md")
        );
    }

    #[test]
    fn file_names_with_url_delimiters_get_urls_that_reach_them() {
        let (site, _) = build(&[
            ("posts/2024-01-01-C# & you?.md", "# Sharp\n"),
            ("posts/2024-01-02-100%.md", "# Full\n"),
        ]);
        let mut urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
        urls.sort();
        assert_eq!(
            urls,
            [
                "/posts/2024-01-01-C%23%20&%20you%3F.gmi",
                "/posts/2024-01-02-100%25.gmi"
            ]
        );
    }

    #[test]
    fn series_are_known_by_their_name_up_to_case_and_unicode_form() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "---\nseries: Learning to Sail\npart: 1\n---\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\nseries: learning to sail\npart: 2\n---\n",
            ),
            (
                "posts/2024-01-03-c.md",
                "---\nseries: Learning to Sail\npart: 3\n---\n",
            ),
            (
                "posts/2024-01-04-d.md",
                "---\nseries: \"Cafe\u{301}\"\n---\n",
            ),
            ("posts/2024-01-05-e.md", "---\nseries: \"Café\"\n---\n"),
        ]);
        let names: Vec<(&str, &str, usize)> = site
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.slug.as_str(), s.members.parts.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("Café", "café", 2),
                ("Learning to Sail", "learning-to-sail", 3)
            ]
        );
        let text = messages(&problems);
        assert_eq!(
            text,
            [
                "posts/2024-01-02-b.md:2: warning: series “learning to sail” is taken as “Learning \
              to Sail”, as it is written elsewhere (names that differ only in case or accents \
              are one series): write it the same way everywhere"
            ],
        );
    }

    #[test]
    fn series_slugs_never_collide_and_the_older_series_keeps_its_url() {
        let (site, problems) = build(&[
            ("posts/2024-01-01-a.md", "---\nseries: Rust Notes\n---\n"),
            ("posts/2024-02-01-b.md", "---\nseries: Rust Notes 2\n---\n"),
            (
                "posts/2024-03-01-c.md",
                "---\nseries: \"Rust: notes!\"\n---\n",
            ),
            ("posts/2024-04-01-d.md", "---\nseries: C# Tips\n---\n"),
            ("posts/2024-04-02-e.md", "---\nseries: C++ Tips\n---\n"),
            ("posts/2024-04-03-f.md", "---\nseries: C Tips\n---\n"),
        ]);
        let slug = |name: &str| {
            site.series
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.slug.clone())
                .unwrap()
        };
        assert_eq!(slug("Rust Notes"), "rust-notes");
        assert_eq!(slug("Rust Notes 2"), "rust-notes-2");
        let moved = slug("Rust: notes!");
        assert!(
            moved.starts_with("rust-notes-") && moved != "rust-notes-2",
            "{moved}"
        );
        assert_eq!(slug("C# Tips"), "c-sharp-tips");
        assert_eq!(slug("C++ Tips"), "c-plus-plus-tips");
        assert_eq!(slug("C Tips"), "c-tips");
        let text = messages(&problems);
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].starts_with(
                "posts/2024-03-01-c.md:2: error: series “Rust: notes!” and series “Rust Notes” \
                 (posts/2024-01-01-a.md) both have the URL name `rust-notes`"
            ),
            "{text:?}"
        );
        assert!(text[0].contains("series_slug"), "{text:?}");
    }

    #[test]
    fn a_series_slug_can_be_pinned_and_renamed_series_keep_their_old_urls() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            (
                "posts/2024-01-01-a.md",
                "---\nseries: Knots\nseries_slug: knots-old\n---\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\nseries: Knots\nseries_slug: other\n---\n",
            ),
            ("posts/2024-01-03-c.md", "---\nseries: Sailing Notes\n---\n"),
            (
                "posts/2024-01-04-d.md",
                "---\nseries: Learning to Sail\n---\n",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            series: BTreeMap::from([(
                "Learning to Sail".into(),
                SeriesConfig {
                    slug: Some("sail".into()),
                    aliases: vec!["Sailing Notes".into(), "sailing-101".into()],
                    ..SeriesConfig::default()
                },
            )]),
            ..BuildOptions::default()
        };
        let (site, problems) = Site::build(&capsule, &options);
        let text = messages(&problems);
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].starts_with(
                "posts/2024-01-02-b.md:3: error: `series_slug` `other` differs from `knots-old`"
            ),
            "{text:?}"
        );
        assert_eq!(site.series_by_slug("knots-old").unwrap().name, "Knots");
        // The old name's posts belong to the renamed series.
        let sail = site.series_by_slug("sail").unwrap();
        assert_eq!(sail.name, "Learning to Sail");
        assert_eq!(sail.members.parts.len(), 2);
        for old in ["sailing-notes", "sailing-101"] {
            assert!(
                matches!(
                    site.generated(&["series".into(), old.into()]),
                    Some(Generated::SeriesMoved(s, false)) if s.slug == "sail"
                ),
                "{old}"
            );
        }
        assert!(matches!(
            site.generated(&["series".into(), "sailing-notes".into(), "atom.xml".into()]),
            Some(Generated::SeriesMoved(_, true))
        ));
    }

    #[test]
    fn unnumbered_series_are_read_in_date_order_and_numbers_are_one() {
        let (site, problems) = build(&[
            ("posts/2024-01-03-c.md", "---\nseries: Diary\n---\n"),
            ("posts/2024-01-01-a.md", "---\nseries: Diary\n---\n"),
            (
                "posts/2024-01-02-b.md",
                "---\nseries: Diary\nseries_role: supplement\n---\n",
            ),
            (
                "posts/2024-02-01-p1.md",
                "---\nseries: Numbered\npart: 1\n---\n",
            ),
            (
                "posts/2024-02-02-p3.md",
                "---\nseries: Numbered\npart: 3\n---\n",
            ),
            (
                "posts/2024-02-03-p6.md",
                "---\nseries: Numbered\npart: 6\n---\n",
            ),
            (
                "posts/2024-02-04-p6b.md",
                "---\nseries: Numbered\npart: 6\n---\n",
            ),
            ("posts/2024-02-05-extra.md", "---\nseries: Numbered\n---\n"),
        ]);
        let diary = site.series_by_slug("diary").unwrap();
        let parts: Vec<(&str, u32)> = diary
            .members
            .parts
            .iter()
            .map(|m| (m.title.as_str(), m.number))
            .collect();
        assert_eq!(parts, [("a", 1), ("c", 2)]);
        assert_eq!(diary.members.supplements.len(), 1);
        assert_eq!(diary.members.total, 2);
        let numbered = site.series_by_slug("numbered").unwrap();
        let numbers: Vec<u32> = numbered.members.parts.iter().map(|m| m.number).collect();
        assert_eq!(numbers, [1, 3, 6, 6]);
        assert_eq!(numbered.members.total, 6);
        assert_eq!(numbered.members.supplements.len(), 1);
        let text = messages(&problems);
        assert_eq!(
            text,
            [
                "posts/2024-02-02-p3.md:3: warning: series “Numbered”: part 2 is missing: the \
                 parts go from 1 to 3",
                "posts/2024-02-03-p6.md:3: warning: series “Numbered”: parts 4 to 5 are \
                 missing: the parts go from 3 to 6",
                "posts/2024-02-04-p6b.md:3: warning: series “Numbered”: part 6 is used by both \
                 posts/2024-02-03-p6.md and posts/2024-02-04-p6b.md",
            ]
        );
    }

    #[test]
    fn a_post_in_several_series_is_in_each() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "---\nseries: [Boats, Knots]\npart: 1\n---\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\nseries: Knots\npart: 2\n---\n",
            ),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let places = site.places_of(Path::new("posts/2024-01-01-a.md"));
        let names: Vec<&str> = places.iter().map(|p| p.series.name.as_str()).collect();
        assert_eq!(names, ["Boats", "Knots"]);
    }

    #[test]
    fn tags_keep_their_spelling_and_symbols() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "---\ntags: [C++, C#, C, Product Management]\n---\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\ntags: [c++, \"🦀\", product management, \"Cafe\u{301}\"]\n---\n",
            ),
            (
                "posts/2024-01-03-c.md",
                "---\ntags: [\"Café\", product-management]\n---\n",
            ),
        ]);
        let tags: Vec<(&str, &str, usize)> = site
            .tags
            .iter()
            .map(|(slug, t)| (slug.as_str(), t.name.as_str(), t.posts.len()))
            .collect();
        let moved = format!("product-management-{}", stable_hash("product-management"));
        assert_eq!(
            tags,
            [
                ("c", "C", 1),
                ("c-plus-plus", "C++", 2),
                ("c-sharp", "C#", 1),
                ("café", "Café", 2),
                ("product-management", "Product Management", 2),
                (moved.as_str(), "product-management", 1),
                ("🦀", "🦀", 1),
            ]
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn links_to_withheld_posts_are_reported() {
        let (_, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "[soon](later.md) [hidden](secret.md)\n",
            ),
            (
                "posts/secret.md",
                "---\ndraft: true\ndate: 2024-01-01\n---\n",
            ),
            ("posts/later.md", "---\ndate: 2999-01-01\n---\n"),
        ]);
        let text = messages(&problems);
        assert_eq!(
            text,
            [
                "posts/2024-01-01-a.md:1: warning: link to later.gmi: posts/later.md is not \
                 published (dated ahead: appears 2999-01-01T00:00+00:00); readers get “not found”",
                "posts/2024-01-01-a.md:1: warning: link to secret.gmi: posts/secret.md is not \
                 published (draft); readers get “not found”",
            ]
        );
    }

    #[test]
    fn front_matter_after_blank_lines_is_obeyed_and_a_late_block_is_an_error() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "\n  \n---\ntitle: x\ndraft: true\n---\nBody\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\ntitle: y\n---\n\n---\ndraft: true\n---\nBody\n",
            ),
        ]);
        assert!(site.is_withheld(Path::new("posts/2024-01-01-a.md")));
        assert!(site.posts.is_empty(), "{:?}", site.posts);
        let text = messages(&problems);
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].starts_with("posts/2024-01-02-b.md:5: error: front matter must start the file"),
            "{text:?}"
        );
    }

    /// A post for [`group_series`] alone: one series, dated `day` days into 2024.
    fn series_post(i: usize, series: &str, day: i64) -> Arc<Post> {
        let date =
            PostDate(OffsetDateTime::from_unix_timestamp(1_704_067_200 + day * 86_400).unwrap());
        Arc::new(Post {
            source: PathBuf::from(format!("posts/{i}.md")),
            url: format!("/posts/{i}.gmi"),
            meta: PostMeta {
                title: format!("{i}"),
                date,
                updated: date,
                draft: false,
                series: vec![series.to_owned()],
                part: None,
                role: None,
                series_slug: None,
                summary: None,
                tags: Vec::new(),
                lang: None,
                slug: format!("{i}"),
            },
            links: Vec::new(),
            lines: KeyLines::default(),
            part_line: 1,
            renamed: false,
        })
    }

    fn slugs_of(names: &[String]) -> BTreeMap<String, String> {
        let posts: Vec<Arc<Post>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| series_post(i, name, i as i64))
            .collect();
        group_series(&posts, &BTreeMap::new(), &mut Vec::new())
            .into_iter()
            .map(|s| (fold(&s.name), s.slug))
            .collect()
    }

    proptest::proptest! {
        /// Slugs are unique; a series whose name makes a slug no other name makes gets that
        /// slug; and adding newer series (or removing them) never moves an older one.
        #[test]
        fn series_slugs_are_unique_and_stable(
            names in proptest::collection::vec("[AaBb+#:! é]{1,5}", 1..12),
            keep in 0usize..12,
        ) {
            let names: Vec<String> = names.into_iter().filter_map(|n| series_name(&n)).collect();
            let all = slugs_of(&names);
            let unique: HashSet<&String> = all.values().collect();
            proptest::prop_assert_eq!(unique.len(), all.len(), "{:?}", all);
            for (key, slug) in &all {
                let base = series::slug(key);
                let shared = all.keys().filter(|k| series::slug(k) == base).count();
                if shared == 1 {
                    proptest::prop_assert_eq!(slug, &base);
                }
            }
            let older = slugs_of(&names[..keep.min(names.len())]);
            for (key, slug) in &older {
                proptest::prop_assert_eq!(Some(slug), all.get(key), "{} in {:?} vs {:?}", key, older, all);
            }
        }
    }

    #[test]
    fn suffixed_url_names_never_take_another_name() {
        let moved = format!("c-sharp-{}", stable_hash("c sharp"));
        let (site, _) = build(&[
            (
                "posts/2024-01-01-t1.md",
                &format!("---\ntags: [\"{moved}\"]\n---\n"),
            ),
            ("posts/2024-01-02-t2.md", "---\ntags: [c-sharp]\n---\n"),
            ("posts/2024-01-03-t3.md", "---\ntags: [C Sharp]\n---\n"),
            ("posts/2024-01-04-a.md", "---\nseries: \"!!\"\n---\n"),
            ("posts/2024-01-05-b.md", "---\nseries: \"!):{\"\n---\n"),
            ("posts/2024-01-06-c.md", "---\nseries: \".[{;\"\n---\n"),
        ]);
        assert_eq!(site.tags.len(), 3, "{:?}", site.tags);
        assert_eq!(site.tags[&moved].name, moved);
        assert_eq!(site.tags[&format!("{moved}-2")].name, "C Sharp");
        let slugs: HashSet<&str> = site.series.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs.len(), 3, "{slugs:?}");
    }

    #[test]
    fn link_rewriting_keeps_code_twins_fragments_and_drafts_alone() {
        let (site, _) = build(&[
            ("posts/2024-01-01-knots.md", "---\nslug: k\n---\n# Knots\n"),
            (
                "posts/twin.md",
                "---\nslug: twin-renamed\ndate: 2024-01-01\n---\n# Twin\n",
            ),
            ("posts/twin.gmi", "# Hand-written twin\n"),
            (
                "posts/secret.md",
                "---\ndraft: true\nslug: big-announcement\ndate: 2024-01-01\n---\n",
            ),
            (
                "posts/2024-01-02-links.md",
                "[a](2024-01-01-knots.md#rig) [b](2024-01-01-knots.md?x=1) [t](twin.gmi) \
                 [s](secret.md)\n\n```\n=> 2024-01-01-knots.gmi example\n```\n",
            ),
        ]);
        let Some(Text::Page(page)) = site.text(Path::new("posts/2024-01-02-links.md")) else {
            panic!()
        };
        let text = &page.gemtext;
        assert!(text.contains("=> /posts/k.gmi?x=1 b\n"), "{text}");
        assert!(text.contains("=> twin.gmi t\n"), "{text}");
        assert!(text.contains("=> secret.gmi s\n"), "{text}");
        assert!(!text.contains("big-announcement"), "{text}");
        assert!(
            text.contains("```\n=> 2024-01-01-knots.gmi example\n```"),
            "{text}"
        );
        // Gemini has no fragments, so the converter drops them; the link still follows.
        assert!(text.contains("=> /posts/k.gmi a\n"), "{text}");
    }

    #[test]
    fn urls_too_long_to_request_are_reported() {
        let long = "語".repeat(120);
        let (_, problems) = build(&[(
            "posts/2024-01-01-a.md",
            &format!("---\ntags: [{long}, short]\nseries: {long}\n---\n"),
        )]);
        let text = messages(&problems);
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text.iter()
                .all(|t| t.contains("too long for a Gemini request")),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("posts/2024-01-01-a.md:2: warning: tag “語"),
            "{text:?}"
        );
    }

    #[test]
    fn values_where_text_is_expected_stay_as_written() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-01-a.md",
                "---\ntitle: 3.10\ntags: [rust, 3.10, 007, yes, 0x1F]\nseries: on\n---\n",
            ),
            (
                "posts/2024-01-02-b.md",
                "---\nseries: yes\ntags:\n  - 1_000\n  - x\n---\n",
            ),
            (
                "posts/2024-01-03-c.md",
                "+++\ntags = [\"rust\", 2024]\n+++\n",
            ),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let a = site.post(Path::new("posts/2024-01-01-a.md")).unwrap();
        assert_eq!(a.meta.title, "3.10");
        assert_eq!(a.meta.tags, ["rust", "3.10", "007", "yes", "0x1F"]);
        let names: Vec<&str> = site.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["on", "yes"]);
        let b = site.post(Path::new("posts/2024-01-02-b.md")).unwrap();
        assert_eq!(b.meta.tags, ["1_000", "x"]);
        let c = site.post(Path::new("posts/2024-01-03-c.md")).unwrap();
        assert_eq!(c.meta.tags, ["rust", "2024"]);
    }

    #[test]
    fn a_backslash_is_part_of_a_file_name() {
        let (site, _) = build(&[("posts/2024-01-01-back\\slash.md", "# B\n")]);
        assert_eq!(site.posts[0].url, "/posts/2024-01-01-back%5Cslash.gmi");
    }

    #[test]
    fn a_draft_series_description_is_not_shown() {
        let (site, _) = build(&[
            ("posts/2024-01-01-a.md", "---\nseries: Sail\n---\n"),
            (
                "series/sail.md",
                "---\ndraft: true\n---\n# Sail\n\nSecret plans.\n",
            ),
        ]);
        // The config's description (from `build`'s options) stands in.
        assert_eq!(
            site.series[0].description.as_deref(),
            Some("From the config.")
        );
    }

    #[test]
    fn posts_with_errors_are_withheld_by_their_name_too() {
        let (site, problems) = build(&[
            (
                "posts/scheduled.md",
                "---\ndate: 2030-06-01\nupdated: 2030-06-1\n---\nSoon.\n",
            ),
            (
                "posts/2024-01-01-sslug.md",
                "---\nseries: X\nseries_slug: \"a b\"\n---\n",
            ),
            ("posts/2024-01-02-typo.md", "---\ndrafts: true\n---\n"),
        ]);
        assert!(site.posts.is_empty(), "{:?}", site.posts);
        for file in [
            "posts/scheduled.md",
            "posts/2024-01-01-sslug.md",
            "posts/2024-01-02-typo.md",
        ] {
            let Some(Text::Page(page)) = site.text(Path::new(file)) else {
                panic!("{file}")
            };
            assert!(page.withheld.is_some(), "{file}");
        }
        assert_eq!(
            problems.iter().filter(|p| p.error).count(),
            3,
            "{problems:?}"
        );
    }

    #[test]
    fn a_rebuild_reads_only_changed_posts() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir(&posts).unwrap();
        std::fs::write(posts.join("a.md"), "---\ndate: 2024-01-01\n---\n# A\n").unwrap();
        std::fs::write(posts.join("b.md"), "---\ntitle: [broken\n---\n").unwrap();
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024,
            show_future: false,
            ..BuildOptions::default()
        };
        let mut cache = ReadCache::default();
        let (site, problems) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!((site.posts.len(), problems.len()), (1, 1));
        // Unchanged: the same answer, problems included, from the cache.
        let (again, problems_again) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(again, site);
        assert_eq!(problems_again, problems);
        // Changed and deleted files are seen.
        std::fs::write(
            posts.join("a.md"),
            "---\ndate: 2024-01-01\n---\n# A, edited\n",
        )
        .unwrap();
        std::fs::remove_file(posts.join("b.md")).unwrap();
        let (edited, problems) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(edited.posts[0].meta.title, "A, edited");
        assert!(problems.is_empty());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_post_that_breaks_keeps_its_last_good_version() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir(&posts).unwrap();
        let file = posts.join("a.md");
        std::fs::write(&file, "---\ntitle: Good\ndate: 2024-01-01\n---\nBody\n").unwrap();
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024,
            show_future: false,
            ..BuildOptions::default()
        };
        let mut cache = ReadCache::default();
        let (good, _) = Site::build_cached(&capsule, &options, &mut cache);
        let text = |site: &Site| match site.text(Path::new("posts/a.md")) {
            Some(Text::Page(page)) => page.gemtext.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(&good), "# Good\n\nBody\n");

        for broken in ["---\ntitle: [Bad\n---\nBody\n", ""] {
            std::fs::write(&file, broken).unwrap();
            let (site, problems) = Site::build_cached(&capsule, &options, &mut cache);
            assert_eq!(site.posts, good.posts, "{broken:?}");
            assert_eq!(text(&site), "# Good\n\nBody\n");
            assert!(problems[0].error, "{problems:?}");
            assert!(
                problems[1].message.contains("last good version"),
                "{problems:?}"
            );
            // Still broken on the next pass: still the last good version, still reported.
            let (again, problems_again) = Site::build_cached(&capsule, &options, &mut cache);
            assert_eq!(
                (again.posts, problems_again),
                (good.posts.clone(), problems)
            );
        }

        std::fs::write(&file, "---\ntitle: Fixed\ndate: 2024-01-01\n---\nBody\n").unwrap();
        let (fixed, problems) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(fixed.posts[0].meta.title, "Fixed");
        assert!(problems.is_empty(), "{problems:?}");

        // A file that never had a good version is withheld, not kept.
        std::fs::write(posts.join("new.md"), "---\ntitle: [Bad\n---\n").unwrap();
        let (site, _) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(site.posts.len(), 1);
        match site.text(Path::new("posts/new.md")) {
            Some(Text::Page(page)) => assert!(page.withheld.is_some()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_paths_find_text_pages_in_memory() {
        let (site, _) = build(&[
            ("index.gmi", "# Home\n"),
            ("index.md", "# Shadowed\n"),
            ("a.md", "# A\n"),
            ("b.gmi", "# B\n"),
            ("b.md", "# B twin\n"),
            ("docs/index.md", "# Docs\n"),
            (".hidden/index.gmi", "# No\n"),
        ]);
        let segs = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let at = |p: &str, slash| site.text_path(&segs(p), slash).map(Path::to_owned);
        assert_eq!(at("", true), Some("index.gmi".into()));
        assert_eq!(at("a.gmi", false), Some("a.md".into()));
        assert_eq!(at("b.gmi", false), Some("b.gmi".into()));
        assert_eq!(at("docs", true), Some("docs/index.md".into()));
        for (p, slash) in [
            ("a.md", false),
            ("c.gmi", false),
            ("docs", false),
            (".hidden", true),
        ] {
            assert_eq!(at(p, slash), None, "{p}");
        }
    }

    #[test]
    fn local_paths() {
        assert_eq!(
            local_path("/posts/a.gmi", "b.gmi").as_deref(),
            Some("/posts/b.gmi")
        );
        assert_eq!(local_path("/posts/a.gmi", "../x/").as_deref(), Some("/x/"));
        assert_eq!(
            local_path("/posts/a.gmi", "/y.gmi?q#f").as_deref(),
            Some("/y.gmi")
        );
        assert_eq!(local_path("/posts/a.gmi", "gemini://e.org/"), None);
        assert_eq!(local_path("/posts/a.gmi", "mailto:x@y"), None);
        assert_eq!(local_path("/a.gmi", "../../etc"), Some("/etc".into()));
    }

    #[test]
    fn series_slugs_stay_unique() {
        let (site, _) = build(&[
            ("posts/a.md", "---\nseries: \"🚀\"\n---\n"),
            ("posts/b.md", "---\nseries: \"🛸\"\n---\n"),
        ]);
        let slugs: Vec<&str> = site.series.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs.len(), 2);
        assert_ne!(slugs[0], slugs[1]);
    }
}
