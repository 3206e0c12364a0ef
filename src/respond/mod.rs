//! What each path of the capsule answers, whoever asks and by whichever protocol: the Gemini
//! and Gopher listeners for a request, or `gemhole build` for every path at once, so all give
//! the same bytes. The server only carries what is decided here.
//!
//! - [`lookup`]: what a path is (a generated page, a page of the snapshot, a file, a redirect);
//! - [`gemini`] and [`gopher`]: the answer each protocol gives for it, kept per snapshot where
//!   it is made ([`rendered`]), and which kept answers a change may show ([`shown`]);
//! - [`access`]: who may read, preview and write what (areas, drafts, Titan);
//! - [`rules`]: the operator's path rules (redirects, gone, listings, types, programs), and
//!   [`cgi`]: the program a path names and what it is given;
//! - [`search`]: the search pages; [`paths`]: every path a static copy needs;
//! - [`web`]: what a web browser is answered, as HTML from the same gemtext.
//!
//! Generated pages (home, archive, tags, series, feeds, robots.txt) come from the [`Site`];
//! everything else from the capsule folder, with Markdown converted and series posts given
//! their navigation. Blocking: the server calls what may touch the disk off its async threads.

use std::sync::{Arc, OnceLock};

use crate::config::HomeConfig;
use crate::content::search::Index;
use crate::content::{BuildOptions, CapsuleRoot, Site};
use crate::views::layout::Layout;

pub mod access;
pub mod cgi;
pub mod gemini;
pub mod gopher;
pub mod lookup;
pub mod paths;
pub mod rendered;
pub mod rules;
pub mod search;
pub mod shown;
pub mod titan;
pub mod web;

pub use access::Access;
pub use lookup::Lookup;
pub use paths::output_file;
pub use rendered::Rendered;
use rules::Rules;
pub use search::{Searched, decode_query, encode_query};
use shown::Shown;

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
    /// The host's strings and templates.
    pub layout: Arc<Layout>,
    /// Answers rendered from this snapshot, kept for the next request (a new snapshot starts
    /// empty, so nothing outlives the content it was made from).
    pub rendered: Rendered,
    /// The site's published posts, for `/search`.
    pub search: Index,
    /// Who may read, preview and write what.
    pub access: Access,
    /// The operator's path rules (`[[path]]`).
    pub rules: Arc<Rules>,
    /// Pages made from this snapshot for web browsers.
    web: web::WebKept,
    /// `; lang=…` for gemtext, or empty.
    gemtext_params: String,
    /// How the site was read: its series settings make a preview's series.
    options: Arc<BuildOptions>,
    /// The capsule as it will be, drafts listed (see [`Site::preview`]): made at the first
    /// previewing request of this snapshot, and only then, so readers never pay for it.
    preview: OnceLock<Box<Capsule>>,
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

impl Capsule {
    /// The same capsule, showing drafts to every reader or not (`serve --drafts`).
    pub fn with_drafts_for_all(mut self, on: bool) -> Capsule {
        self.access.drafts_for_all = on;
        self
    }

    /// Lets a reader (`None`: a protocol without certificates) read a path (decoded
    /// segments), or says why not: the one admission rule, for every protocol.
    pub fn admit(
        &self,
        segments: &[String],
        identity: Option<&crate::protocol::identity::Identity>,
    ) -> Result<(), crate::protocol::identity::Refusal> {
        self.access.read(&self.root, segments, identity)
    }

    /// What a client is told of a refused certificate, in the host's language.
    pub fn refusal_meta(&self, refusal: &crate::protocol::identity::Refusal) -> String {
        let strings = &self.layout.strings;
        if strings.has(refusal.id) {
            strings.text(refusal.id).to_owned()
        } else {
            refusal.meta.to_owned()
        }
    }

    /// Puts together what a capsule answers from: its folder, the site read from it, and the
    /// host's settings for generated pages (its templates and strings in `layout`).
    pub fn new(
        root: CapsuleRoot,
        site: Site,
        config: &crate::config::HostConfig,
        layout: Arc<Layout>,
    ) -> Capsule {
        Capsule::after(None, root, site, config, layout)
    }

    /// As [`Capsule::new`], taking the search entries of posts that did not change from the
    /// capsule it replaces (a configuration reload).
    pub fn after(
        previous: Option<&Capsule>,
        root: CapsuleRoot,
        site: Site,
        config: &crate::config::HostConfig,
        layout: Arc<Layout>,
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
            layout,
            rendered: Rendered::default(),
            search,
            access: Access {
                titan: config.titan.clone(),
                drafts_for_all: false,
            },
            rules: Arc::new(Rules::new(&config.paths)),
            web: web::WebKept::default(),
            gemtext_params: config
                .lang
                .mime_parameter()
                .map(|p| format!("; {p}"))
                .unwrap_or_default(),
            options: Arc::new(BuildOptions::new(config)),
            preview: OnceLock::new(),
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
        // When only some pages' text changed, every answer that cannot show it stays (an
        // author's template may show any part of the site on any page: then none stays).
        let rendered = match site.changed_since(&self.site) {
            Some(changed) if root.same_folder(&self.root) && !self.layout.any_custom() => {
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
            layout: Arc::clone(&self.layout),
            rendered,
            search,
            access: self.access.clone(),
            rules: Arc::clone(&self.rules),
            web: web::WebKept::default(),
            gemtext_params: self.gemtext_params.clone(),
            options: Arc::clone(&self.options),
            preview: OnceLock::new(),
        }
    }

    /// The capsule as an author previews it: the same settings over [`Site::preview`], made
    /// once per snapshot. Its answers are never kept (it has a `rendered` of its own, unused).
    pub(crate) fn preview(&self) -> &Capsule {
        self.preview.get_or_init(|| {
            Box::new(Capsule {
                root: self.root.clone(),
                site: self.site.preview(&self.root, &self.options),
                home: self.home.clone(),
                feeds: self.feeds.clone(),
                robots_txt: self.robots_txt.clone(),
                layout: Arc::clone(&self.layout),
                rendered: Rendered::default(),
                // Searches are answered by the readers' capsule.
                search: Index::default(),
                access: self.access.clone(),
                rules: Arc::clone(&self.rules),
                web: web::WebKept::default(),
                gemtext_params: self.gemtext_params.clone(),
                options: Arc::clone(&self.options),
                preview: OnceLock::new(),
            })
        })
    }
}

/// A capsule made from files in a temporary folder, for tests of what paths answer: no
/// socket, no server.
#[cfg(test)]
pub(crate) fn test_capsule(
    files: &[(&str, &str)],
    config: &crate::config::HostConfig,
) -> (tempfile::TempDir, Capsule) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let root = CapsuleRoot::open(dir.path())
        .unwrap()
        .with_areas(&config.areas);
    let (site, _) = Site::build(&root, &crate::content::BuildOptions::new(config));
    let capsule = Capsule::new(root, site, config, Arc::new(Layout::load(config, None).0));
    (dir, capsule)
}
