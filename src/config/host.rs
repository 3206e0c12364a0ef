//! One capsule's settings, as [`HostConfig`] holds them: its names, its folder, how its pages
//! are made (Markdown, the home page, series) and its Gopher listener, with the defaults a
//! missing key takes. Who may read and write it is `access`'s.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::DEFAULT_ROBOTS_TXT;
use super::access::{AreaConfig, TitanConfig};
use super::paths::PathRule;
use super::strings::{Overrides, Strings};
use super::values::{Columns, FileSize, Hostname, Lang, ListenAddr, OneLine, Timezone};

/// One capsule: its names, its folder and how it is shown.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// Hostnames served; the first is the canonical one (feeds, menus, logs).
    pub hostnames: Vec<Hostname>,
    /// The host for clients that send no SNI, an IP address or a name no host has (else the
    /// first host).
    pub default: bool,
    /// Folder served as the capsule root.
    pub capsule: PathBuf,
    /// The port readers use, for the absolute URLs in feeds (behind a port forward it differs
    /// from the listening port); unset: the port each request arrived on.
    pub public_port: Option<u16>,
    /// Served as `/robots.txt` when the capsule has no file of that name.
    pub robots_txt: String,
    /// Publish posts dated in the future (off: they wait for their date).
    pub publish_future: bool,
    /// The time zone of post dates written without an offset (and of date-only posts, which
    /// appear when their day begins there).
    pub timezone: Timezone,
    /// BCP 47 language tag(s) added to `text/gemini` responses as `lang=`; empty for none.
    pub lang: Lang,
    /// The capsule's title, for its Atom feed (and its home page when it has no `index.gmi`);
    /// unset: the home page's first heading, else the first hostname.
    pub title: Option<OneLine>,
    /// The author named by the Atom feeds; unset: the first hostname.
    pub author: Option<OneLine>,
    pub markdown: MarkdownConfig,
    pub home: HomeConfig,
    /// Per-series settings, by series name.
    pub series: BTreeMap<String, SeriesConfig>,
    pub gopher: GopherConfig,
    /// The optional HTTP listener: the same capsule for web browsers, as HTML.
    pub http: HttpConfig,
    /// Parts readable only with a client certificate (`[[area]]`).
    #[serde(rename = "area")]
    pub areas: Vec<AreaConfig>,
    /// Uploads from authors' Gemini clients.
    pub titan: TitanConfig,
    /// What parts of the URL space answer beside what the capsule holds (`[[path]]`): a
    /// host's own first, then the top level's.
    #[serde(rename = "path")]
    pub paths: Vec<PathRule>,
    /// The folder of templates that replace the generated pages' defaults (`home.gmi`,
    /// `post.gmi`, …); relative to the config file. Never served.
    pub templates: Option<PathBuf>,
    /// Strings of the generated pages replacing the language's built-in ones, by id.
    pub strings: Overrides,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            hostnames: vec![Hostname("localhost".into())],
            default: false,
            capsule: PathBuf::from("capsule"),
            public_port: None,
            publish_future: false,
            timezone: Timezone::default(),
            robots_txt: DEFAULT_ROBOTS_TXT.to_owned(),
            lang: Lang::default(),
            title: None,
            author: None,
            markdown: MarkdownConfig::default(),
            home: HomeConfig::default(),
            series: BTreeMap::new(),
            gopher: GopherConfig::default(),
            http: HttpConfig::default(),
            areas: Vec::new(),
            titan: TitanConfig::default(),
            paths: Vec::new(),
            templates: None,
            strings: Overrides::default(),
        }
    }
}

impl HostConfig {
    /// Its language, when it has one and gemhole has no built-in strings for it.
    pub fn unknown_language(&self) -> Option<&str> {
        let first = self.lang.as_str().split(',').next().unwrap_or("").trim();
        (!first.is_empty() && super::strings::built_in_language(first).is_none()).then_some(first)
    }

    /// The strings its generated pages use: its language's, with its `[strings]` in place.
    pub fn strings(&self) -> Strings {
        Strings::for_language(self.lang.as_str()).with_overrides(&self.strings)
    }

    /// The name feeds, menus and logs use: the first of `hostnames`.
    pub fn canonical(&self) -> &Hostname {
        &self.hostnames[0]
    }

    /// The host Gopher menus name: `gopher.public_host`, else the canonical name.
    pub fn gopher_host(&self) -> &Hostname {
        self.gopher.public_host.as_ref().unwrap_or(self.canonical())
    }
}

/// The keys of a [`HostConfig`] (but `default`): at the top level of the file they describe
/// the one host of the single-host form. A unit test keeps the list equal to the struct's.
pub(super) const HOST_KEYS: &[&str] = &[
    "hostnames",
    "capsule",
    "public_port",
    "robots_txt",
    "publish_future",
    "timezone",
    "lang",
    "title",
    "author",
    "markdown",
    "home",
    "series",
    "gopher",
    "http",
    "area",
    "titan",
    "path",
    "templates",
    "strings",
];

/// The optional Gopher listener: the same capsule as a gopherhole.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GopherConfig {
    /// Addresses the Gopher listener binds (plain TCP); none: no Gopher listener.
    pub listen: Vec<ListenAddr>,
    /// Addresses of Gopher listeners for a balancer in front: each connection starts with a
    /// PROXY protocol header.
    pub proxy_listen: Vec<ListenAddr>,
    /// The host written into menus; unset: the first of `hostnames`.
    pub public_host: Option<Hostname>,
    /// The port written into menus; unset: the port each request arrived on.
    pub public_port: Option<u16>,
    /// Display columns text pages are wrapped to.
    pub wrap: Columns,
}

impl Default for GopherConfig {
    fn default() -> Self {
        GopherConfig {
            listen: Vec::new(),
            proxy_listen: Vec::new(),
            public_host: None,
            public_port: None,
            wrap: Columns(70),
        }
    }
}

/// The optional HTTP listener: every public page as HTML for web browsers. Plain HTTP is
/// meant to sit behind a reverse proxy that holds the TLS certificate (Caddy, nginx); HTTPS
/// with the operator's own certificate serves browsers directly.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Addresses of plain HTTP listeners; none: no HTTP listener. Several hosts may share one:
    /// the `Host` header picks the host.
    pub listen: Vec<ListenAddr>,
    /// Addresses of plain HTTP listeners for a balancer in front: each connection starts with
    /// a PROXY protocol header.
    pub proxy_listen: Vec<ListenAddr>,
    /// Addresses of HTTPS listeners, served with `cert` and `key`.
    pub https_listen: Vec<ListenAddr>,
    /// The PEM certificate chain for `https_listen` (one a browser trusts, not the Gemini
    /// one); relative to the config file.
    pub cert: Option<PathBuf>,
    /// The PEM private key of `cert`.
    pub key: Option<PathBuf>,
}

impl HttpConfig {
    /// Every address, each with how it is served.
    pub fn addresses(&self) -> impl Iterator<Item = (SocketAddr, HttpKind)> + '_ {
        let of = |addrs: &'static str| -> (&Vec<ListenAddr>, HttpKind) {
            match addrs {
                "listen" => (&self.listen, HttpKind::Plain),
                "proxy_listen" => (&self.proxy_listen, HttpKind::Proxied),
                _ => (&self.https_listen, HttpKind::Https),
            }
        };
        ["listen", "proxy_listen", "https_listen"]
            .into_iter()
            .map(of)
            .flat_map(|(addrs, kind)| addrs.iter().map(move |a| (a.get(), kind)))
    }
}

/// How an HTTP address is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpKind {
    Plain,
    /// Plain HTTP after a PROXY protocol header.
    Proxied,
    Https,
}

impl HttpKind {
    /// The key that lists such addresses.
    pub fn key(self) -> &'static str {
        match self {
            HttpKind::Plain => "http.listen",
            HttpKind::Proxied => "http.proxy_listen",
            HttpKind::Https => "http.https_listen",
        }
    }
}

/// How Markdown files become gemtext.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkdownConfig {
    /// Where link lines go: below each block, numbered below each block, or at the end.
    pub links: LinkPlacement,
    /// Put in front of an image's label in its link line.
    pub image_marker: String,
    /// Largest Markdown file converted, in bytes; larger ones are refused and logged.
    pub max_file_size: FileSize,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        MarkdownConfig {
            links: LinkPlacement::Below,
            image_marker: "🖼".to_owned(),
            max_file_size: FileSize(4 * 1024 * 1024),
        }
    }
}

/// Where the link lines of a converted Markdown page go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkPlacement {
    /// After the block that holds them; the prose is unchanged.
    #[default]
    Below,
    /// After the block, numbered: the prose gets `label[1]`, the link line `=> url [1] label`.
    Footnote,
    /// Numbered as for `footnote`, all together under `## Links` at the end of the page.
    End,
}

/// What the home page lists after the author's own `index.gmi`/`index.md` text.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeConfig {
    /// How many of the newest posts to list; 0 lists none.
    pub recent: u32,
    /// List the series.
    pub series: bool,
    /// List the tags.
    pub tags: bool,
}

impl Default for HomeConfig {
    fn default() -> Self {
        HomeConfig {
            recent: 10,
            series: true,
            tags: true,
        }
    }
}

/// Settings of one series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesConfig {
    /// Shown under the series' title on its index page (a `capsule/series/<slug>.md` wins).
    pub description: String,
    /// The series' URL name, instead of one made from its name.
    pub slug: Option<String>,
    /// Former names (or URL names) of the series: posts that still use one belong to it, and
    /// its old index and feed URLs redirect to the new ones.
    pub aliases: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_and_validate as parse;

    #[test]
    fn areas_and_titan_belong_to_their_host() {
        let fp = "ab".repeat(32);
        let text = format!(
            "[[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n\
             [[host.area]]\npath = \"/members/\"\nfingerprints = [\"{fp}\"]\n\
             [host.titan]\nenabled = true\nfingerprints = [\"{fp}\"]\nmax_size = 2048\n\
             [[host]]\nhostnames = [\"b.example\"]\ncapsule = \"b\"\n"
        );
        let config = parse(&text).unwrap();
        let (a, b) = (&config.hosts[0], &config.hosts[1]);
        assert_eq!(a.areas.len(), 1);
        assert_eq!(a.areas[0].path.to_string(), "/members/");
        assert!(a.titan.enabled);
        assert_eq!(a.titan.max_size.bytes(), 2048);
        assert_eq!(a.titan.paths[0].to_string(), "/posts/");
        assert!(b.areas.is_empty() && !b.titan.enabled);
        // The single-host form: at the top, beside the other host keys.
        let single = parse(&format!(
            "hostnames = [\"a.example\"]\n[[area]]\npath = \"/m/\"\n[titan]\nenabled = true\n\
             fingerprints = [\"spki:{fp}\"]\npaths = [\"/posts/\", \"/notes/\"]\n"
        ))
        .unwrap();
        let host = &single.hosts[0];
        assert_eq!(host.areas[0].path.segments(), ["m"]);
        assert_eq!(host.titan.paths.len(), 2);
        // Titan on without authors is refused, per host too.
        let err = parse("[[host]]\nhostnames = [\"a.example\"]\n[host.titan]\nenabled = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lists no `fingerprints`"), "{err}");
    }

    /// The single-host form's keys and a `[[host]]` table's are the same (but `default`).
    #[test]
    fn host_keys_are_the_host_tables_keys() {
        let err = parse("[[host]]\nhostnames = [\"a.example\"]\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        let listed: Vec<&str> = err
            .split_once("(the keys here: ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(keys, _)| keys.split(", ").filter(|k| *k != "default").collect())
            .unwrap_or_default();
        assert_eq!(listed, HOST_KEYS, "{err}");
    }
}
