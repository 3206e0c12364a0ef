//! What a path of the capsule is, whoever asks: a generated page, a page of the snapshot (with
//! a series post's navigation), a file of the folder, a redirect, or nothing.

use std::path::Path;
use std::sync::Arc;

use super::rules::Ruled;
use super::{ATOM, Capsule};
use crate::config::Lang;
use crate::content::Resolved;
use crate::content::files::is_markdown;
use crate::content::markdown::{Page, Text};
use crate::content::site::{Entry, Generated};
use crate::convert::mime::mime_for;
use crate::convert::redirect::Target;
use crate::convert::route::Route;
use crate::convert::url::{self, Origin};
use crate::views::layout::PageKind;
use crate::views::{atom, pages};

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
    /// What an author sees at a path: the capsule as it will be. Drafts and posts dated ahead
    /// are served at their own URLs, marked as drafts, listed (marked) wherever they will
    /// appear, and `/drafts/` lists them. Never kept in [`Capsule::rendered`], which readers'
    /// answers come from. Blocking.
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
                body: pages::drafts(&self.layout, self.site.drafts.iter().filter(outside)),
                lang: None,
            };
        }
        // Feeds stay the readers': a feed reader keeps every entry it was once shown.
        if matches!(
            Route::parse(segments),
            Some(Route::Feed | Route::SeriesFeed(_))
        ) {
            return self.lookup(segments, ends_with_slash, origin);
        }
        let preview = self.preview();
        // A draft, or a post dated ahead, marked, with its series' navigation as it will be.
        if let Some(source) = self
            .site
            .text_path(segments, ends_with_slash)
            .filter(|source| self.site.previewable(source))
            && let Some(Text::Page(page)) = self.site.text(source)
        {
            let marked = pages::marked_draft(&self.layout.strings, &page.gemtext);
            let body = preview
                .post_page(&self.root.path().join(source), &marked)
                .unwrap_or(marked);
            return Lookup::Generated {
                body,
                lang: page.lang.clone(),
            };
        }
        preview.lookup(segments, ends_with_slash, origin)
    }

    /// Whether answering a path means making its text (a generated page, or a series post
    /// with its navigation): work done off the async threads, once per snapshot (see
    /// [`Rendered`]). Other text pages are held whole in the snapshot.
    pub fn renders(&self, segments: &[String], ends_with_slash: bool) -> bool {
        if self.site.generated(segments).is_some() {
            return true;
        }
        let url = request_url(segments, ends_with_slash);
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

    /// What a path answers, or where a post that was once there now is: a former URL is
    /// answered only where nothing else is.
    fn lookup_with(
        &self,
        segments: &[String],
        ends_with_slash: bool,
        origin: &Origin,
        disk: bool,
    ) -> Option<Lookup> {
        let found = self.lookup_here(segments, ends_with_slash, origin, disk)?;
        if let Lookup::Found(Resolved::NotFound(_)) = found
            && let Some(moved) = self.site.moved_to(segments)
        {
            return Some(Lookup::Redirect(moved.to.clone()));
        }
        Some(found)
    }

    /// Whether a static copy writes a page with a link where the server redirects to `to`: a
    /// former URL its author wrote, or a page's `redirect_to` (a copy cannot redirect).
    pub fn writes_moved_page(&self, segments: &[String], ends_with_slash: bool, to: &str) -> bool {
        self.site
            .moved_to(segments)
            .is_some_and(|m| m.written && m.to == to)
            || self.site.redirect_at(segments, ends_with_slash) == Some(to)
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

    fn lookup_here(
        &self,
        segments: &[String],
        ends_with_slash: bool,
        origin: &Origin,
        disk: bool,
    ) -> Option<Lookup> {
        match self.site.generated(segments) {
            // A feed or robots.txt is a file: asked for as a folder, it is not there (as a
            // file of the folder is not).
            Some(page) if ends_with_slash && page.route().is_some_and(|r| !r.is_folder()) => {
                return Some(Lookup::Found(Resolved::NotFound(
                    "a file asked for as a folder",
                )));
            }
            // The capsule's own robots.txt wins: see below.
            Some(Generated::Robots) | None => {}
            Some(page) if page.is_folder() && !ends_with_slash => {
                return Some(Lookup::Found(Resolved::AddSlash));
            }
            Some(page) => return Some(self.generated_page(page, origin)),
        }
        // A post renamed by its `slug` is served at its URL, and its file's own name sends
        // readers there.
        let url = request_url(segments, ends_with_slash);
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
            Some(post) if !post.url.ends_with('/') => {
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
        if matches!(resolved, Resolved::NotFound(_)) && ends_with_slash && self.lists(segments) {
            // Read from the folder per request: a listing shows the folder as it is now.
            return disk.then(|| self.listing(segments));
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
        if let Resolved::Markdown(path) | Resolved::File { path, .. } = &resolved
            && self.closed_by_rules(path, false)
        {
            return Some(Lookup::Found(Resolved::NotFound(
                "reached through a link into a folder a path rule closes",
            )));
        }
        Some(self.answer_text(resolved))
    }

    /// What a path the folder resolved answers: a text page as the site last read it (never a
    /// file being written), sent on by its `redirect_to`, or with its series navigation; any
    /// other file as it is.
    fn answer_text(&self, resolved: Resolved) -> Lookup {
        let text = match &resolved {
            Resolved::Markdown(path) => Some(self.text(path)),
            Resolved::File { path, mime } if *mime == "text/gemini" => Some(self.text(path)),
            _ => None,
        };
        let redirect = match &resolved {
            Resolved::Markdown(path) | Resolved::File { path, .. } => path
                .strip_prefix(self.root.path())
                .ok()
                .and_then(|source| self.site.redirect_of(source)),
            _ => None,
        };
        match (text, resolved) {
            (Some(Some(Text::Page(page))), Resolved::Markdown(_) | Resolved::File { .. })
                if let Some(redirect) = redirect =>
            {
                match Target::from_stored(redirect) {
                    Target::Gemini(url) => Lookup::Redirect(url),
                    Target::Web(url) => Lookup::Generated {
                        body: pages::moved(&self.layout.strings, &url),
                        lang: page.lang.clone(),
                    },
                }
            }
            (
                Some(Some(Text::Page(page))),
                Resolved::Markdown(path) | Resolved::File { path, .. },
            ) => match self.post_page(&path, &page.gemtext) {
                Some(body) if page.withheld.is_none() => Lookup::Generated {
                    body,
                    lang: page.lang.clone(),
                },
                _ => Lookup::Page(Arc::clone(page)),
            },
            (Some(Some(Text::Unreadable(why))), _) => Lookup::PageError(Arc::clone(why)),
            // Created since the site was last read: served once it has been.
            (Some(None), _) => Lookup::Found(Resolved::NotFound("not read yet")),
            (_, other) => Lookup::Found(other),
        }
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

    /// Whether a file or folder, by its real path, lies where a rule answers in its place (a
    /// program's folder, a page gone, a redirect): a link elsewhere must not serve it, nor a
    /// program's source. The path is resolved (a few lookups the kernel answers from its
    /// cache) only when some rule closes a path.
    pub(super) fn closed_by_rules(&self, path: &Path, folder: bool) -> bool {
        if !self.rules.close_any() {
            return false;
        }
        let real = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        let Ok(relative) = real.strip_prefix(self.root.path()) else {
            return false;
        };
        let segments: Vec<String> = crate::content::files::names(relative)
            .map(str::to_owned)
            .collect();
        !matches!(self.rules.at(&segments, folder), Ruled::Serve(_))
    }

    /// Whether a folder without a page of its own is listed (a `list = true` rule).
    fn lists(&self, segments: &[String]) -> bool {
        matches!(self.rules.at(segments, true), Ruled::Serve(o) if o.list)
    }

    /// A folder's listing, or not found when it is no folder of the capsule.
    fn listing(&self, segments: &[String]) -> Lookup {
        let folder = segments
            .iter()
            .fold(self.root.path().to_owned(), |p, s| p.join(s));
        if self.closed_by_rules(&folder, true) {
            return Lookup::Found(Resolved::NotFound("a link to a folder a path rule closes"));
        }
        let open = |real: &Path| !self.closed_by_rules(real, real.is_dir());
        match crate::content::listing::list(&self.root, &self.site, segments, open) {
            Ok(listing) => Lookup::Generated {
                body: pages::listing(&self.layout.strings, segments, &listing),
                lang: None,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Lookup::Found(Resolved::NotFound("no such folder"))
            }
            Err(e) => {
                tracing::warn!(folder = %segments.join("/"), error = %e, "cannot list folder");
                Lookup::Found(Resolved::NotFound("folder cannot be read"))
            }
        }
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
                &self.layout,
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
    pub(super) fn feed_title(&self) -> &str {
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
            Generated::AllSeries => pages::all_series(&self.layout, site),
            Generated::Series(series) => pages::series_index(&self.layout, site, series),
            Generated::Archive => pages::archive(&self.layout, site),
            Generated::AllTags => pages::all_tags(&self.layout, site),
            Generated::Tag(slug, tag) => pages::tag_page(&self.layout, site, slug, tag),
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
    /// root) when it serves it: a series post's header and footer (a reader's and a
    /// preview's), a draft's mark. A page
    /// uploaded back as a client showed it would carry them into its source.
    pub fn added_lines(&self, source: &Path) -> Vec<String> {
        let mut added = Vec::new();
        // As readers see it, and as its authors preview it (drafts listed, marked).
        let path = self.root.path().join(source);
        for shown in [
            self.post_page(&path, ""),
            self.preview().post_page(&path, ""),
        ]
        .into_iter()
        .flatten()
        {
            added.extend(shown.lines().map(str::to_owned));
        }
        added.push(self.layout.strings.text("draft_line").to_owned());
        // Its headings (`## In this series`) an author may well write too: the lines that
        // tell the page as shown are its links, its part line and its list. An author's
        // post template may add only headings: those its source does not hold tell too.
        let own = match self.site.text(source) {
            Some(Text::Page(page)) if self.layout.is_custom(PageKind::Post) => {
                page.gemtext.lines().map(str::to_owned).collect()
            }
            _ => std::collections::HashSet::new(),
        };
        added.retain(|line| {
            !line.trim().is_empty()
                && (!line.starts_with('#') || (!own.is_empty() && !own.contains(line)))
        });
        added
    }

    /// A post's page made by the post template around `gemtext`: a post of a series (its
    /// header and footer), or any post when the host has a `post.gmi` of its own; `None` for
    /// other pages, served as they are.
    fn post_page(&self, path: &Path, gemtext: &str) -> Option<String> {
        let site = &self.site;
        let source = path.strip_prefix(self.root.path()).ok()?;
        let post = site.post(source)?;
        let places = site.places_of(source);
        if places.is_empty() && !self.layout.is_custom(PageKind::Post) {
            return None;
        }
        Some(pages::post_page(&self.layout, site, post, &places, gemtext))
    }
}

/// The URL a request names, as the site writes URLs: percent-encoded, a folder's with its
/// slash (a page bundle's URL is its folder's).
fn request_url(segments: &[String], ends_with_slash: bool) -> String {
    let slash = if ends_with_slash && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    url::encode_path(&format!("/{}{slash}", segments.join("/")))
}
