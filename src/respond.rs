//! What each path of the capsule answers, whoever asks: the Gemini listener for a request, or
//! `gemhole build` for every path at once, so both give the same bytes.
//!
//! Generated pages (home, archive, tags, series, feeds, robots.txt) come from the [`Site`];
//! everything else from the capsule folder, with Markdown converted and series posts given
//! their navigation. Blocking: the server calls it off its async threads.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Weak};

use crate::config::HomeConfig;
use crate::config::Lang;
use crate::content::Site;
use crate::content::files::is_markdown;
use crate::content::markdown::Page;
use crate::content::markdown::Text;
use crate::content::search::Index;
use crate::content::site::{Entry, Generated};
use crate::content::{CapsuleRoot, Resolved};
use crate::convert::mime::mime_for;
use crate::convert::route::Route;
use crate::convert::url::{self, Origin};
use crate::views::{atom, pages};

/// A search query as sent in a URL: `+` and `%20` are spaces, `%XX` bytes (of UTF-8; what
/// is not UTF-8 becomes U+FFFD).
pub fn decode_query(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// `query` percent-encoded for a URL's query or a path segment: letters and digits stay.
pub fn encode_query(query: &str) -> String {
    percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The MIME type of Atom feeds.
pub const ATOM: &str = "application/atom+xml";

/// Everything a path is answered from.
#[derive(Debug)]
pub struct Capsule {
    pub root: CapsuleRoot,
    pub site: Site,
    pub home: Home,
    pub feeds: Feeds,
    /// Served at `/robots.txt` when the capsule has no such file.
    pub robots_txt: String,
    /// Answers rendered from this snapshot, kept for the next request (a new snapshot starts
    /// empty, so nothing outlives the content it was made from).
    pub rendered: Rendered,
    /// The site's published posts, for `/search`.
    pub search: Index,
}

/// What the search page answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Searched {
    /// No query yet: ask for one.
    Prompt,
    /// A results page (gemtext).
    Page(String),
    /// A page number that is no page.
    NotFound,
}

/// Rendered answers by key, made once per snapshot. Bounded in count and in bytes: past
/// [`Rendered::MAX_ENTRIES`] or [`Rendered::MAX_BYTES`] an answer is no longer kept for
/// later requests, so no sequence of requests can grow it further. An answer is made once
/// however many requests ask for it at the same time, and one that is not kept is still
/// shared by every request that asks while another is sending it: a large page costs one
/// copy, not one per connection (readers that stop reading hold the copy, not a new one).
#[derive(Debug, Default)]
pub struct Rendered {
    kept: std::sync::RwLock<Kept>,
    /// Answers being made, and answers made but not kept while someone still holds them.
    shared: std::sync::Mutex<HashMap<String, Arc<Making>>>,
}

/// One answer being made: its maker holds the lock; later askers wait on it, then find the
/// answer (as long as someone holds it).
#[derive(Debug, Default)]
struct Making(std::sync::Mutex<Option<Weak<[u8]>>>);

#[derive(Debug, Default)]
struct Kept {
    entries: HashMap<String, Arc<[u8]>>,
    bytes: usize,
}

impl Rendered {
    pub const MAX_ENTRIES: usize = 4096;
    pub const MAX_BYTES: usize = 64 << 20;

    /// Answers shared while held, at most: past it those no longer held are forgotten.
    const MAX_SHARED: usize = 256;

    /// The answer under `key`, kept or still held by a request: never waits. Keys must be
    /// canonical (one key per answer), or one answer could fill the budget under many names.
    pub fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = kept.entries.get(key) {
            return Some(Arc::clone(found));
        }
        drop(kept);
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let making = shared.get(key)?;
        making.0.try_lock().ok()?.as_ref()?.upgrade()
    }

    /// The answer under `key`, else what `make` gives: an answer (kept if it fits, shared
    /// while held if not), or `Err` with what the caller needs to answer otherwise. Made once
    /// for every request that asks meanwhile: those wait for the first. Blocking: call it off
    /// the async threads.
    pub fn get_or_make<T>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Vec<u8>, T>,
    ) -> Result<Arc<[u8]>, T> {
        if let Some(found) = self.get(key) {
            return Ok(found);
        }
        let making = {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            if shared.len() >= Self::MAX_SHARED {
                // Forgotten once no request waits on it and nobody holds its answer.
                shared.retain(|_, m| {
                    Arc::strong_count(m) > 1
                        || m.0
                            .try_lock()
                            .map_or(true, |w| w.as_ref().is_some_and(|w| w.strong_count() > 0))
                });
            }
            Arc::clone(shared.entry(key.to_owned()).or_default())
        };
        let mut made = making.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = made.as_ref().and_then(Weak::upgrade) {
            return Ok(found);
        }
        // Made and kept by the request this one waited for.
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = kept.entries.get(key) {
            return Ok(Arc::clone(found));
        }
        drop(kept);
        let answer: Arc<[u8]> = make()?.into();
        let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
        let fits = kept.entries.len() < Self::MAX_ENTRIES
            && kept.bytes + answer.len() + key.len() <= Self::MAX_BYTES;
        if fits && !kept.entries.contains_key(key) {
            kept.bytes += answer.len() + key.len();
            kept.entries.insert(key.to_owned(), Arc::clone(&answer));
        } else {
            *made = Some(Arc::downgrade(&answer));
        }
        Ok(answer)
    }

    /// The answers kept under keys whose path (the key's last part) `keep` holds to, for the
    /// next snapshot.
    pub fn carried(&self, keep: impl Fn(&str) -> bool) -> Rendered {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        let mut carried = Kept::default();
        for (key, answer) in &kept.entries {
            if key.splitn(3, ' ').nth(2).is_some_and(&keep) {
                carried.bytes += answer.len() + key.len();
                carried.entries.insert(key.clone(), Arc::clone(answer));
            }
        }
        Rendered {
            kept: std::sync::RwLock::new(carried),
            shared: std::sync::Mutex::default(),
        }
    }

    /// How many answers are kept, and their bytes (keys included).
    pub fn size(&self) -> (usize, usize) {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        (kept.entries.len(), kept.bytes)
    }
}

/// How the home page is made.
#[derive(Debug, Clone)]
pub struct Home {
    /// The heading when the capsule has no `index.gmi`/`index.md` of its own.
    pub title: String,
    pub sections: HomeConfig,
}

/// What the Atom feeds say of the capsule, from the settings.
#[derive(Debug, Clone)]
pub struct Feeds {
    /// `title`; unset: the home page's first heading, else `host`.
    pub title: Option<String>,
    /// `author`; unset: `host`.
    pub author: String,
    /// The first configured hostname, never the one a request named, so feed and entry ids
    /// stay the same whichever name a reader used.
    pub host: String,
}

/// What a path of the capsule answers.
pub enum Lookup {
    Found(Resolved),
    Page(Arc<Page>),
    /// Gemtext made for this request: a generated index, or a series post with its navigation.
    Generated {
        body: String,
        lang: Option<Lang>,
    },
    /// A generated body of another type (an Atom feed, the default robots.txt).
    Typed {
        mime: &'static str,
        body: String,
    },
    /// A Markdown file that cannot be served, and why.
    PageError(Arc<str>),
    /// The page lives at another URL (a post renamed by its `slug`).
    Redirect(String),
}

impl Capsule {
    /// Puts together what a capsule answers from: its folder, the site read from it, and the
    /// host's settings for generated pages.
    pub fn new(root: CapsuleRoot, site: Site, config: &crate::config::HostConfig) -> Capsule {
        Capsule::after(None, root, site, config)
    }

    /// As [`Capsule::new`], taking the search entries of posts that did not change from the
    /// capsule it replaces (a configuration reload).
    pub fn after(
        previous: Option<&Capsule>,
        root: CapsuleRoot,
        site: Site,
        config: &crate::config::HostConfig,
    ) -> Capsule {
        let host = config.canonical().to_string();
        let title = config.title.as_ref().map(|t| t.as_str().to_owned());
        let search = Index::build(&site, previous.map(|p| &p.search));
        Capsule {
            root,
            site,
            home: Home {
                title: title.clone().unwrap_or_else(|| host.clone()),
                sections: config.home.clone(),
            },
            feeds: Feeds {
                title,
                author: config
                    .author
                    .as_ref()
                    .map_or_else(|| host.clone(), |a| a.as_str().to_owned()),
                host,
            },
            robots_txt: config.robots_txt.clone(),
            rendered: Rendered::default(),
            search,
        }
    }

    /// The same capsule with a newly read site.
    pub fn with_site(&self, site: Site) -> Capsule {
        self.with_root(self.root.clone(), site)
    }

    /// The same settings over another folder (the capsule was swapped by a deploy) and the
    /// site read from it.
    pub fn with_root(&self, root: CapsuleRoot, site: Site) -> Capsule {
        // Posts that did not change keep their index entries.
        let search = Index::build(&site, Some(&self.search));
        // When only some pages' text changed, every answer that cannot show it stays.
        let rendered = match site.changed_since(&self.site) {
            Some(changed) if root.same_folder(&self.root) => {
                let shown = Shown::of(changed, &site, &self.site);
                self.rendered.carried(|path| !shown.shows(path))
            }
            _ => Rendered::default(),
        };
        Capsule {
            root,
            site,
            home: self.home.clone(),
            feeds: self.feeds.clone(),
            robots_txt: self.robots_txt.clone(),
            rendered,
            search,
        }
    }

    /// What an author sees at a path: what readers see, but drafts and posts dated ahead are
    /// served at their own URLs, marked as drafts, and `/drafts/` lists them. Never kept in
    /// [`Capsule::rendered`], which readers' answers come from. Blocking.
    pub fn lookup_preview(
        &self,
        segments: &[String],
        ends_with_slash: bool,
        origin: &Origin,
    ) -> Lookup {
        if Route::parse(segments) == Some(Route::Drafts) {
            if !ends_with_slash {
                return Lookup::Found(Resolved::AddSlash);
            }
            // Drafts of an area are left out: the list is not in the area, its pages are.
            let outside =
                |post: &&Arc<crate::content::Post>| !self.root.url_in_area(&post.natural_url());
            return Lookup::Generated {
                body: pages::drafts(self.site.drafts.iter().filter(outside)),
                lang: None,
            };
        }
        let withheld = self
            .site
            .text_path(segments, ends_with_slash)
            .and_then(|source| match self.site.text(source) {
                // A draft, or a post dated ahead; never a page whose front matter is broken.
                Some(Text::Page(page))
                    if page.withheld == Some("draft")
                        || (page.withheld.is_none() && self.site.is_withheld(source)) =>
                {
                    Some(page)
                }
                _ => None,
            });
        match withheld {
            Some(page) => Lookup::Generated {
                body: pages::marked_draft(&page.gemtext),
                lang: page.lang.clone(),
            },
            None => self.lookup(segments, ends_with_slash, origin),
        }
    }

    /// What the search page answers: page `page` (`None`: the first; else the segment after
    /// `/search/`) of the results for `query` (decoded), each page linked by `page_url`.
    pub fn search_page(
        &self,
        page: Option<&str>,
        query: &str,
        page_url: impl Fn(usize, &str) -> String,
    ) -> Searched {
        // One URL per page: `/search/2`, never `/search/02` or `/search/+2`.
        let page = match page {
            None => 1,
            Some(n) => match n.parse::<usize>() {
                Ok(p) if (1..=100_000).contains(&p) && p.to_string() == n => p,
                _ => return Searched::NotFound,
            },
        };
        // The words searched for, as shown and linked: what is not a word is left out.
        let words = crate::content::search::words(query);
        let query = words.as_str();
        if query.is_empty() {
            return Searched::Prompt;
        }
        let per_page = crate::views::search::PER_PAGE;
        let results = self.search.search(query, (page - 1) * per_page, per_page);
        if page > 1 && results.hits.is_empty() {
            return Searched::NotFound;
        }
        Searched::Page(crate::views::search::results(query, page, &results, |n| {
            page_url(n, query)
        }))
    }

    /// Whether answering a path means making its text (a generated page, or a series post
    /// with its navigation): work done off the async threads, once per snapshot (see
    /// [`Rendered`]). Other text pages are held whole in the snapshot.
    pub fn renders(&self, segments: &[String], ends_with_slash: bool) -> bool {
        if self.site.generated(segments).is_some() {
            return true;
        }
        let url = url::encode_path(&format!("/{}", segments.join("/")));
        let source = match self.site.post_by_url(&url) {
            Some(post) => Some(post.source.as_path()),
            None => self.site.text_path(segments, ends_with_slash),
        };
        source.is_some_and(|s| self.site.in_series(s))
    }

    /// What `segments` (decoded, as from a request path) answers. Blocking: it may look at
    /// the capsule folder.
    pub fn lookup(&self, segments: &[String], ends_with_slash: bool, origin: &Origin) -> Lookup {
        self.lookup_with(segments, ends_with_slash, origin, true)
            .unwrap_or(Lookup::Found(Resolved::NotFound("no such file")))
    }

    /// As [`Capsule::lookup`] for the paths the site snapshot answers by itself (generated
    /// pages, text pages), without a file-system call; `None` for the others. Requests for
    /// pages never wait for the disk this way.
    pub fn lookup_in_memory(
        &self,
        segments: &[String],
        ends_with_slash: bool,
        origin: &Origin,
    ) -> Option<Lookup> {
        self.lookup_with(segments, ends_with_slash, origin, false)
    }

    fn lookup_with(
        &self,
        segments: &[String],
        ends_with_slash: bool,
        origin: &Origin,
        disk: bool,
    ) -> Option<Lookup> {
        match self.site.generated(segments) {
            // The capsule's own robots.txt wins: see below.
            Some(Generated::Robots) | None => {}
            Some(page) if page.is_folder() && !ends_with_slash => {
                return Some(Lookup::Found(Resolved::AddSlash));
            }
            Some(page) => return Some(self.generated_page(page, origin)),
        }
        // A post renamed by its `slug` is served at its URL, and its file's own name sends
        // readers there.
        let url = url::encode_path(&format!("/{}", segments.join("/")));
        let resolved = match self.site.post_by_url(&url) {
            // Renamed by its `slug`, it is still the file of its own name: an area over that
            // name holds it under the new one too.
            Some(post)
                if self.root.crosses_into_area(
                    &segments.iter().collect::<std::path::PathBuf>(),
                    Path::new(
                        &percent_encoding::percent_decode_str(&post.natural_url())
                            .decode_utf8_lossy()
                            .trim_start_matches('/'),
                    ),
                ) =>
            {
                return Some(Lookup::Found(Resolved::NotFound(
                    "renamed out of a client-certificate area",
                )));
            }
            Some(post) if !ends_with_slash => {
                let path = self.root.path().join(&post.source);
                if is_markdown(&path) {
                    Resolved::Markdown(path)
                } else {
                    Resolved::File {
                        mime: mime_for(&path),
                        path,
                    }
                }
            }
            _ => self.resolve(segments, ends_with_slash, disk)?,
        };
        if let Resolved::Markdown(path) | Resolved::File { path, .. } = &resolved
            && let Ok(source) = path.strip_prefix(self.root.path())
            && let Some(post) = self.site.post(source)
            && post.url != url
        {
            return Some(Lookup::Redirect(post.url.clone()));
        }
        if matches!(resolved, Resolved::NotFound(_)) && segments == ["robots.txt"] {
            // The capsule has none of its own: serve the configured one.
            return Some(self.generated_page(Generated::Robots, origin));
        }
        if let Resolved::Markdown(path) | Resolved::File { path, .. } = &resolved
            && path
                .strip_prefix(self.root.path())
                .is_ok_and(|source| self.site.is_withheld(source))
        {
            return Some(Lookup::Found(Resolved::NotFound("not published yet")));
        }
        // Text pages come from the site as last read, never from a file being written.
        let text = match &resolved {
            Resolved::Markdown(path) => Some(self.text(path)),
            Resolved::File { path, mime } if *mime == "text/gemini" => Some(self.text(path)),
            _ => None,
        };
        Some(match (text, resolved) {
            (
                Some(Some(Text::Page(page))),
                Resolved::Markdown(path) | Resolved::File { path, .. },
            ) => match self.navigation(&path) {
                Some((header, footer)) if page.withheld.is_none() => Lookup::Generated {
                    body: pages::with_navigation(&page.gemtext, &header, &footer),
                    lang: page.lang.clone(),
                },
                _ => Lookup::Page(Arc::clone(page)),
            },
            (Some(Some(Text::Unreadable(why))), _) => Lookup::PageError(Arc::clone(why)),
            // Created since the site was last read: served once it has been.
            (Some(None), _) => Lookup::Found(Resolved::NotFound("not read yet")),
            (_, other) => Lookup::Found(other),
        })
    }

    /// What a path names: from the site snapshot when it is a text page, else (when `disk`)
    /// from the folder; `None` when only the folder can tell and `disk` is off.
    fn resolve(&self, segments: &[String], ends_with_slash: bool, disk: bool) -> Option<Resolved> {
        if let Some(source) = self.site.text_path(segments, ends_with_slash) {
            let path = self.root.path().join(source);
            return Some(if is_markdown(&path) {
                Resolved::Markdown(path)
            } else {
                Resolved::File {
                    mime: mime_for(&path),
                    path,
                }
            });
        }
        if disk {
            return Some(self.root.resolve(segments, ends_with_slash));
        }
        // Hidden paths are never in the snapshot; the rest is as the site last read it.
        Some(match self.site.entry_at(segments)? {
            Entry::Folder if !ends_with_slash => Resolved::AddSlash,
            Entry::Folder => Resolved::NotFound("folder has no index.gmi or index.md"),
            Entry::File if !ends_with_slash => {
                let path = segments
                    .iter()
                    .fold(self.root.path().to_owned(), |p, s| p.join(s));
                Resolved::File {
                    mime: mime_for(&path),
                    path,
                }
            }
            Entry::File | Entry::Nothing => Resolved::NotFound("no such file"),
        })
    }

    /// A text file as the site last read it.
    fn text(&self, path: &Path) -> Option<&Text> {
        self.site.text(path.strip_prefix(self.root.path()).ok()?)
    }

    /// The author's home page (`index.gmi`, else `index.md`) as the site last read it.
    fn home_text(&self) -> Option<(std::path::PathBuf, &Text)> {
        match self.resolve(&[], true, false)? {
            Resolved::File { path, .. } | Resolved::Markdown(path) => {
                let text = self.text(&path)?;
                Some((path, text))
            }
            _ => None,
        }
    }

    /// The home page: the author's `index.gmi` (or `index.md`) text, then the generated sections.
    fn home_page(&self) -> Lookup {
        let (text, lang) = match self.home_text() {
            Some((_, Text::Page(page))) if page.withheld.is_none() => {
                (Some(page.gemtext.clone()), page.lang.clone())
            }
            Some((path, Text::Large)) => {
                tracing::warn!(file = %path.display(), "the home page is over the size limit");
                (None, None)
            }
            _ => (None, None),
        };
        Lookup::Generated {
            body: pages::home(
                &self.site,
                text.as_deref(),
                &self.home.title,
                &self.home.sections,
            ),
            lang,
        }
    }

    /// The capsule feed's title: the `title` setting, else the heading the author gave the
    /// home page, else the hostname.
    fn feed_title(&self) -> &str {
        if let Some(title) = &self.feeds.title {
            return title;
        }
        match self.home_text() {
            Some((_, Text::Page(page))) if page.withheld.is_none() => {
                // A heading of nothing a feed can show (control characters) is no title.
                atom::first_heading(&page.gemtext)
                    .filter(|h| {
                        h.chars().any(|c| {
                            !c.is_control() && !c.is_whitespace() && (c as u32) & 0xFFFE != 0xFFFE
                        })
                    })
                    .unwrap_or(&self.feeds.host)
            }
            _ => &self.feeds.host,
        }
    }

    /// The body of a generated page.
    fn generated_page(&self, page: Generated<'_>, origin: &Origin) -> Lookup {
        let site = &self.site;
        let info = || atom::FeedInfo {
            title: self.feed_title(),
            author: &self.feeds.author,
            host: &self.feeds.host,
        };
        let body = match page {
            Generated::Feed => {
                return Lookup::Typed {
                    mime: ATOM,
                    body: atom::capsule_feed(site, origin, &info()),
                };
            }
            Generated::SeriesFeed(series) => {
                return Lookup::Typed {
                    mime: ATOM,
                    body: atom::series_feed(site, series, origin, &info()),
                };
            }
            Generated::AllSeries => pages::all_series(site),
            Generated::Series(series) => pages::series_index(site, series),
            Generated::Archive => pages::archive(site),
            Generated::AllTags => pages::all_tags(site),
            Generated::Tag(_, tag) => pages::tag_page(site, tag),
            Generated::SeriesMoved(..) => {
                let moved_to = page.moved_to().map(|r| r.url()).unwrap_or_default();
                return Lookup::Redirect(moved_to);
            }
            Generated::Home => return self.home_page(),
            Generated::Robots => {
                return Lookup::Typed {
                    mime: "text/plain",
                    body: self.robots_txt.clone(),
                };
            }
        };
        Lookup::Generated { body, lang: None }
    }

    /// The URL the page made from `file` (relative to the root) is served at: a post's (its
    /// `slug` kept, drafts too), a Markdown file's `.gmi` name, else its own path.
    pub fn page_url(&self, file: &Path) -> String {
        if let Some(post) = self.site.all_posts().find(|p| p.source == file) {
            return post.url.clone();
        }
        let served = if is_markdown(file) {
            file.with_extension("gmi")
        } else {
            file.to_owned()
        };
        url::encode_path(&format!("/{}", served.to_string_lossy()))
    }

    /// The lines the server adds to the text of the page made from `source` (relative to the
    /// root) when it serves it: a series post's header and footer, a draft's mark. A page
    /// uploaded back as a client showed it would carry them into its source.
    pub fn added_lines(&self, source: &Path) -> Vec<String> {
        let mut added = Vec::new();
        if let Some((header, footer)) = self.navigation(&self.root.path().join(source)) {
            added.extend(header.lines().chain(footer.lines()).map(str::to_owned));
        }
        added.push(pages::DRAFT_MARK.to_owned());
        // Its headings (`## In this series`) an author may well write too: the lines that
        // tell the page as shown are its links, its part line and its list.
        added.retain(|line| !line.trim().is_empty() && !line.starts_with('#'));
        added
    }

    /// The header and footer of a post that belongs to a series.
    fn navigation(&self, path: &Path) -> Option<(String, String)> {
        let site = &self.site;
        let source = path.strip_prefix(self.root.path()).ok()?;
        let places = site.places_of(source);
        if places.is_empty() {
            return None;
        }
        let date = site.post(source)?.meta.date.day();
        Some((
            pages::post_header(&places, &date),
            pages::post_footer(site, &places),
        ))
    }

    /// Every path a static copy of the capsule needs: each file (Markdown under its `.gmi`
    /// name, folders through their index) and each generated page, but none of a
    /// client-certificate area. Blocking.
    pub fn paths(&self) -> Vec<(Vec<String>, bool)> {
        let mut routes = vec![
            Route::Home,
            Route::Archive,
            Route::AllTags,
            Route::AllSeries,
            Route::Feed,
            Route::Robots,
        ];
        routes.extend(self.site.tags.keys().map(|tag| Route::Tag(tag)));
        for series in self.site.series.iter() {
            routes.push(Route::Series(&series.slug));
            routes.push(Route::SeriesFeed(&series.slug));
        }
        let mut paths: Vec<(Vec<String>, bool)> = routes
            .iter()
            .map(|route| (route.segments(), route.is_folder()))
            .collect();
        for post in &self.site.posts {
            let segments = post
                .url
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            paths.push((segments, false));
        }
        collect_paths(self.root.path(), &mut Vec::new(), &mut paths);
        // A static copy has no client certificates to ask for.
        paths.retain(|(segments, _)| !self.root.in_area(segments));
        paths.sort();
        paths.dedup();
        paths
    }
}

/// What answers may show the text of the files in `changed` (relative to the root): the page
/// itself (by its file's name or its post's URL, in any of its forms: `.gmi`, `.md`, Gopher's
/// `.txt`), the folder it lies in (its index page), and the feeds, which carry posts' text.
/// Made once per rebuild, then asked of every kept answer.
struct Shown {
    /// Paths without their extension (`/posts/x`).
    stems: HashSet<String>,
    /// Folders (`/posts`, the root as ``).
    folders: HashSet<String>,
}

impl Shown {
    fn of(changed: &[std::path::PathBuf], site: &Site, before: &Site) -> Shown {
        let mut shown = Shown {
            stems: HashSet::new(),
            folders: HashSet::new(),
        };
        for file in changed {
            let parent = file
                .parent()
                .map(|p| p.to_string_lossy())
                .unwrap_or_default();
            shown
                .folders
                .insert(format!("/{parent}").trim_end_matches('/').to_owned());
            shown
                .stems
                .insert(format!("/{}", file.with_extension("").to_string_lossy()));
            for url in [site.url_of(file), before.url_of(file)]
                .into_iter()
                .flatten()
            {
                let decoded = percent_encoding::percent_decode_str(url).decode_utf8_lossy();
                shown
                    .stems
                    .insert(decoded.trim_end_matches(".gmi").to_owned());
            }
        }
        shown
    }

    /// Whether the answer at `path` (a request path as answers are kept: decoded, from the
    /// root) may show a changed file's text.
    fn shows(&self, path: &str) -> bool {
        if path.contains("atom.xml") {
            return true;
        }
        let path = path.trim_end_matches('/');
        if self.folders.contains(path) || self.stems.contains(path) {
            return true;
        }
        // `/posts/x.gmi`, `/posts/x.txt`, `/posts/x.y.md`: the stem is up to any dot of the
        // last name.
        let last = path.rfind('/').map_or(0, |i| i + 1);
        path[last..]
            .match_indices('.')
            .any(|(dot, _)| self.stems.contains(&path[..last + dot]))
    }
}

/// Adds the capsule's own files below `dir` (`prefix` holds their path segments).
fn collect_paths(dir: &Path, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') && !(prefix.is_empty() && name == ".well-known") {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            prefix.push(name);
            out.push((prefix.clone(), true));
            collect_paths(&entry.path(), prefix, out);
            prefix.pop();
            continue;
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) => (stem, ext.to_ascii_lowercase()),
            None => (name.as_str(), String::new()),
        };
        if stem == "index" && (ext == "gmi" || ext == "md") {
            continue; // served as its folder
        }
        let served = if ext == "md" {
            format!("{stem}.gmi")
        } else {
            name.clone()
        };
        let mut segments = prefix.clone();
        segments.push(served);
        out.push((segments, false));
    }
}

/// Where a path's page goes in a static copy: folders become `…/index.gmi`.
pub fn output_file(out: &Path, segments: &[String], ends_with_slash: bool) -> std::path::PathBuf {
    let mut path = segments.iter().fold(out.to_owned(), |p, s| p.join(s));
    if ends_with_slash {
        path.push("index.gmi");
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_may_show_a_changed_text_are_known_by_their_path() {
        let shown = Shown {
            stems: ["/posts/x".to_owned(), "/posts/renamed".to_owned()].into(),
            folders: ["/docs".to_owned(), String::new()].into(),
        };
        for path in [
            "/posts/x.gmi",
            "/posts/x.txt",
            "/posts/x",
            "/posts/renamed.gmi",
            "/docs/",
            "/",
            "/atom.xml",
            "/series/s/atom.xml",
        ] {
            assert!(shown.shows(path), "{path}");
        }
        for path in [
            "/posts/xy.gmi",
            "/posts/",
            "/archive/",
            "/docs/page.gmi",
            "/tags/x/",
        ] {
            assert!(!shown.shows(path), "{path}");
        }
    }

    #[test]
    fn rendered_answers_are_kept_up_to_a_bound() {
        let rendered = Rendered::default();
        let mut calls = 0;
        for _ in 0..3 {
            let got = rendered.get_or_make("a", || {
                calls += 1;
                Ok::<_, ()>(b"answer".to_vec())
            });
            assert_eq!(got.as_deref(), Ok(&b"answer"[..]));
        }
        assert_eq!(calls, 1);
        // Nothing made, nothing kept.
        assert!(rendered.get_or_make("none", || Err(())).is_err());
        for i in 0..Rendered::MAX_ENTRIES + 10 {
            let _ = rendered.get_or_make(&i.to_string(), || Ok::<_, ()>(vec![0]));
        }
        assert_eq!(rendered.size().0, Rendered::MAX_ENTRIES);

        // Big answers stop being kept at the byte budget, but are still answered.
        let big = Rendered::default();
        let size = Rendered::MAX_BYTES / 10;
        for i in 0..20 {
            let got = big.get_or_make(&i.to_string(), || Ok::<_, ()>(vec![0; size]));
            assert_eq!(got.map(|g| g.len()), Ok(size));
        }
        let (entries, bytes) = big.size();
        assert_eq!(entries, 9);
        assert!(bytes <= Rendered::MAX_BYTES, "{bytes}");
        // One not kept is shared while it is held: the same bytes, not a copy.
        let held = big
            .get_or_make("19", || Ok::<_, ()>(vec![1; size]))
            .unwrap();
        assert!(Arc::ptr_eq(&held, &big.get("19").unwrap()));
        let again = big.get_or_make("19", || Err(())).unwrap();
        assert!(Arc::ptr_eq(&held, &again));
        drop((held, again));
        assert!(big.get("19").is_none());
    }

    /// Requests that ask for one answer at once wait for the first to make it: it is made
    /// once, and they all get the same bytes.
    #[test]
    fn an_answer_asked_for_at_once_is_made_once() {
        let rendered = Arc::new(Rendered::default());
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let size = Rendered::MAX_BYTES + 1;
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (rendered, made) = (Arc::clone(&rendered), Arc::clone(&made));
                std::thread::spawn(move || {
                    rendered
                        .get_or_make("big", || {
                            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok::<_, ()>(vec![7; size])
                        })
                        .unwrap()
                })
            })
            .collect();
        let answers: Vec<Arc<[u8]>> = askers.into_iter().map(|a| a.join().unwrap()).collect();
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| Arc::ptr_eq(a, &answers[0])));
        assert_eq!(rendered.size().0, 0);
    }
}
