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
use super::post::{FileFacts, MetaProblem, PostDate, PostMeta, RawMeta, SeriesRole, part_of};
use super::scan::{self, ReadCache, Text};
use super::series::{self, Member, Ordered};
use crate::config::Config;
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
    /// The lines of the source its part number and its `slug` are written on (1 when they
    /// are not), for reports about them.
    pub part_line: usize,
    pub slug_line: usize,
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
    /// By name.
    pub series: Vec<Series>,
    /// Tag (as a slug: lower case, words joined by `-`) → indexes into `posts`, newest first.
    pub tags: BTreeMap<String, Vec<usize>>,
    /// Source path → index into `posts`.
    by_source: HashMap<PathBuf, usize>,
    /// URL → index into `posts`.
    by_url: HashMap<String, usize>,
    /// Source path → (index into `series`, role, index within that role's list).
    places: HashMap<PathBuf, (usize, SeriesRole, usize)>,
    /// Every text file (`.md`, `.gmi`) by path relative to the root, as last read.
    texts: HashMap<PathBuf, Text>,
    /// Every path the capsule folder serves (decoded), for the link check.
    served: HashSet<String>,
    folders: HashSet<String>,
    linked_folders: HashSet<String>,
}

/// Limits and options for reading posts.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub markdown: convert::Options,
    pub max_file_size: u64,
    /// Publish posts whose date is still in the future.
    pub show_future: bool,
    /// Series name → description, from the config (a description file wins).
    pub series_descriptions: BTreeMap<String, String>,
}

impl BuildOptions {
    /// The options the operator's settings give.
    pub fn new(config: &Config) -> BuildOptions {
        BuildOptions {
            markdown: convert::Options::from(&config.markdown),
            max_file_size: config.markdown.max_file_size.bytes(),
            show_future: config.publish_future,
            series_descriptions: config
                .series
                .iter()
                .map(|(name, s)| (name.clone(), s.description.clone()))
                .collect(),
        }
    }
}

impl Site {
    /// Reads every post under `capsule/posts/`. Blocking.
    pub fn build(capsule: &CapsuleRoot, options: &BuildOptions) -> (Site, Vec<Problem>) {
        Site::build_cached(capsule, options, &mut ReadCache::default())
    }

    /// As [`Site::build`], reusing the posts in `cache` whose files have not changed (and
    /// updating it). Blocking.
    pub fn build_cached(
        capsule: &CapsuleRoot,
        options: &BuildOptions,
        cache: &mut ReadCache,
    ) -> (Site, Vec<Problem>) {
        let mut problems = Vec::new();
        let scanned = scan::scan(capsule, options, cache, &mut problems);

        let mut by_url: HashMap<String, usize> = HashMap::new();
        let mut all: Vec<Arc<Post>> = Vec::new();
        for post in scanned.posts {
            match by_url.get(&post.url) {
                Some(&earlier) => {
                    // A hand-written page wins over Markdown; otherwise the first file does.
                    let later_wins =
                        is_markdown(&all[earlier].source) && !is_markdown(&post.source);
                    // A `slug` that takes another post's URL is named at its line.
                    let line = if later_wins {
                        all[earlier].slug_line
                    } else {
                        post.slug_line
                    };
                    let (keep, drop) = if later_wins {
                        (post, all[earlier].source.clone())
                    } else {
                        (all[earlier].clone(), post.source.clone())
                    };
                    problems.push(Problem {
                        path: drop.clone(),
                        line,
                        message: format!(
                            "{} serves the same URL {}; {} is ignored",
                            keep.source.display(),
                            keep.url,
                            drop.display()
                        ),
                        error: false,
                    });
                    all[earlier] = keep;
                }
                None => {
                    by_url.insert(post.url.clone(), all.len());
                    all.push(post);
                }
            }
        }

        let now = PostDate(OffsetDateTime::now_utc());
        let (drafts, mut posts): (Vec<Arc<Post>>, Vec<Arc<Post>>) = all
            .into_iter()
            .partition(|p| p.meta.draft || (!options.show_future && p.meta.date > now));
        posts.sort_by(|a, b| {
            b.meta
                .date
                .cmp(&a.meta.date)
                .then_with(|| a.url.cmp(&b.url))
        });

        let mut series = group_series(&posts, &mut problems);
        for one in &mut series {
            one.description = description(&scanned.texts, &one.slug).or_else(|| {
                let text = options.series_descriptions.get(&one.name)?;
                let mut w = convert::Writer::default();
                w.push(convert::Line::Text(text.trim().to_owned()));
                Some(w.finish().trim_end().to_owned()).filter(|t| !t.is_empty())
            });
        }
        let mut tags: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, post) in posts.iter().enumerate() {
            for tag in &post.meta.tags {
                let list = tags.entry(series::slug(tag)).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let by_source = posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.source.clone(), i))
            .collect();
        let by_url = posts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.url.clone(), i))
            .collect();
        let mut places = HashMap::new();
        for (s, one) in series.iter().enumerate() {
            let roles = [
                (SeriesRole::Part, &one.members.parts),
                (SeriesRole::Supplement, &one.members.supplements),
                (SeriesRole::SeeAlso, &one.members.see_also),
            ];
            for (role, members) in roles {
                for (i, m) in members.iter().enumerate() {
                    places.insert(m.path.clone(), (s, role, i));
                }
            }
        }
        let site = Site {
            posts,
            drafts,
            series,
            tags,
            by_source,
            by_url,
            places,
            texts: scanned.texts,
            served: scanned.served,
            folders: scanned.folders,
            linked_folders: scanned.linked_folders,
        };
        check_links(&site, &mut problems);
        (site, problems)
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
        self.drafts.iter().any(|p| p.source == source)
    }

    /// The published post made from this source file (relative to the capsule root).
    pub fn post(&self, source: &Path) -> Option<&Post> {
        self.by_source.get(source).map(|&i| &*self.posts[i])
    }

    /// The published post served at this URL (as the site writes URLs: percent-encoded).
    pub fn post_by_url(&self, url: &str) -> Option<&Post> {
        self.by_url.get(url).map(|&i| &*self.posts[i])
    }

    /// The URL of a published post, by its source file.
    pub fn url_of(&self, source: &Path) -> Option<&str> {
        self.post(source).map(|p| p.url.as_str())
    }

    /// Where a published post sits in its series, if it belongs to one.
    pub fn place_of(&self, source: &Path) -> Option<Place<'_>> {
        let &(s, role, index) = self.places.get(source)?;
        Some(Place {
            series: &self.series[s],
            role,
            index,
        })
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
            ["tags", tag] => {
                let (tag, posts) = self.tags.get_key_value(*tag)?;
                Generated::Tag(tag, posts)
            }
            ["series"] => Generated::AllSeries,
            ["series", slug] => Generated::Series(self.series_by_slug(slug)?),
            ["series", slug, "atom.xml"] => Generated::SeriesFeed(self.series_by_slug(slug)?),
            _ => return None,
        })
    }

    /// A series by its URL slug.
    pub fn series_by_slug(&self, slug: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.slug == slug)
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
    Tag(&'a str, &'a [usize]),
    AllSeries,
    Series(&'a Series),
    SeriesFeed(&'a Series),
}

impl Generated<'_> {
    /// Whether the page is a folder-style URL (`/archive/`), so the bare form redirects.
    pub fn is_folder(&self) -> bool {
        !matches!(
            self,
            Generated::Robots | Generated::Feed | Generated::SeriesFeed(_)
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
        let url = format!("/{}", page.to_string_lossy().replace('\\', "/"));
        let post = Post {
            source: relative.to_owned(),
            url: convert::url::percent_encode(&url),
            meta,
            links,
            part_line: front_lines.line(part_key).unwrap_or(1),
            slug_line: front_lines.line("slug").unwrap_or(1),
        };
        (Some(post), problems)
    }
}

/// Warns about links to capsule pages that do not exist (generated pages count as existing).
fn check_links(site: &Site, problems: &mut Vec<Problem>) {
    for post in &site.posts {
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
            let found = site.generated(&segments).is_some()
                || site.post_by_url(&path).is_some()
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
    }
}

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
            Text::Page(page) if page.withheld != Some(markdown::BROKEN) => Some(page),
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

/// Groups published posts into series, ordered; reports what ordering found.
fn group_series(posts: &[Arc<Post>], problems: &mut Vec<Problem>) -> Vec<Series> {
    let mut groups: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for post in posts {
        if let Some(name) = &post.meta.series {
            groups.entry(name.clone()).or_default().push(Member::of(
                &post.source,
                &post.meta,
                post.part_line,
            ));
        }
    }
    let mut slugs: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (name, members) in groups {
        let base = series::slug(&name);
        let n = slugs.entry(base.clone()).or_insert(0);
        *n += 1;
        let slug = if *n == 1 { base } else { format!("{base}-{n}") };
        let members = series::order(members);
        for warning in &members.warnings {
            problems.push(Problem {
                path: warning.path.clone(),
                line: warning.line,
                message: format!("series “{name}”: {}", warning.message),
                error: false,
            });
        }
        out.push(Series {
            name,
            slug,
            members,
            description: None,
        });
    }
    out
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
            series_descriptions: BTreeMap::from([("Sail".into(), "From the config.".into())]),
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
                "---\ndraft: true\nseries: Sail\npart: 3\n---\nNo.\n",
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
        assert_eq!(site.tags["sailing"], vec![1, 2]);
        let place = site
            .place_of(Path::new("posts/2024-03-11-knots.md"))
            .unwrap();
        assert_eq!((place.role, place.index), (SeriesRole::Part, 1));
        assert!(site.place_of(Path::new("posts/secret.md")).is_none());
        assert_eq!(
            site.url_of(Path::new("posts/first.md")),
            Some("/posts/first.gmi")
        );
        assert_eq!(site.tags["intro"], vec![2]);
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

    #[test]
    fn slugs_rename_pages_and_duplicates_are_named() {
        let (site, problems) = build(&[
            (
                "posts/2024-01-02-long-file-name.md",
                "---\nslug: short\n---\nA.\n",
            ),
            ("posts/notes/n.md", "---\nslug: short\n---\nIn a folder.\n"),
            ("posts/other.md", "---\nslug: short\n---\nClash.\n"),
        ]);
        let mut urls: Vec<&str> = site.posts.iter().map(|p| p.url.as_str()).collect();
        urls.sort();
        assert_eq!(urls, ["/posts/notes/short.gmi", "/posts/short.gmi"]);
        assert_eq!(
            site.post_by_url("/posts/short.gmi").unwrap().source,
            PathBuf::from("posts/2024-01-02-long-file-name.md")
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.starts_with("posts/other.md:2: warning: posts/2024-01-02-long-file-name.md serves the same URL /posts/short.gmi")),
            "{text:?}"
        );
    }

    #[test]
    fn a_rebuild_reads_only_changed_posts() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        std::fs::create_dir(&posts).unwrap();
        std::fs::write(posts.join("a.md"), "# A\n").unwrap();
        std::fs::write(posts.join("b.md"), "---\ntitle: [broken\n---\n").unwrap();
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024,
            show_future: false,
            series_descriptions: BTreeMap::new(),
        };
        let mut cache = ReadCache::default();
        let (site, problems) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!((site.posts.len(), problems.len()), (1, 1));
        // Unchanged: the same answer, problems included, from the cache.
        let (again, problems_again) = Site::build_cached(&capsule, &options, &mut cache);
        assert_eq!(again, site);
        assert_eq!(problems_again, problems);
        // Changed and deleted files are seen.
        std::fs::write(posts.join("a.md"), "# A, edited\n").unwrap();
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
        std::fs::write(&file, "---\ntitle: Good\n---\nBody\n").unwrap();
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        let options = BuildOptions {
            markdown: convert::Options::default(),
            max_file_size: 1024,
            show_future: false,
            series_descriptions: BTreeMap::new(),
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

        std::fs::write(&file, "---\ntitle: Fixed\n---\nBody\n").unwrap();
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
