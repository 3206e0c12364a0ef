//! What a web browser is answered: every public page as an HTML document made from the same
//! gemtext the Gemini door serves (a `.gmi` path answers HTML, a folder its index), generated
//! files (feeds, `robots.txt`) and the capsule's other files as they are, the search page as a
//! form, and each Gemini status as its HTTP one.
//!
//! The web has no client certificates: it is answered as a reader without one would be over
//! Gemini, never as an author (no drafts, however the server was started; no edit links), and
//! programs (`cgi = true`) answer over Gemini only. Pages are made once per snapshot and kept
//! with their validator ([`WebPage::etag`]), as Gemini answers are.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::SystemTime;

use bytes::Bytes;

use super::gemini::{Answer, search_page};
use super::rules::Ruled;
use super::{Capsule, Lookup, Searched, decode_query, encode_query};
use crate::convert::gemtext_html;
use crate::convert::route::Route;
use crate::convert::url::{Origin, encode_path};
use crate::protocol::request::Request;
use crate::protocol::status::Status;
use crate::views::web_page::{self, PageHead, STYLESHEET, STYLESHEET_PATH};

/// The type of every HTML page.
pub const HTML: &str = "text/html; charset=utf-8";

/// A request from a web browser, as the capsule answers it.
#[derive(Debug, Clone)]
pub struct WebAsk {
    /// The request target, read as the Gemini door reads a URL (one set of path rules).
    pub request: Request,
    /// Where web readers reach the capsule (`https://host`), for feeds' absolute URLs.
    pub origin: Origin,
    /// Where Gemini readers reach it, for each page's alternate.
    pub gemini: Origin,
    /// The host's names: a `gemini://` link to one of them is a link within the site.
    pub names: Arc<[String]>,
}

/// What a browser gets. `F` is how a file is held: its path, or the file the server opened.
#[derive(Debug)]
pub enum Web<F = PathBuf> {
    /// A page made from this snapshot: status, type, body and validator.
    Page(Arc<WebPage>),
    /// A file of the capsule, as it is.
    File { mime: String, file: F },
    /// `301` (permanent) or `302`, to `location`.
    Redirect { permanent: bool, location: String },
}

/// An answer made whole in memory.
#[derive(Debug)]
pub struct WebPage {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
    /// A strong validator of the body (`"…"`, quotes included).
    pub etag: String,
    /// When it was made: its `Last-Modified`.
    pub made: SystemTime,
    /// The body compressed, made at the first request that accepts it (`None`: not worth
    /// it), kept with the page. Filled by the server, which owns the encodings.
    pub gzip: OnceLock<Option<Bytes>>,
    pub brotli: OnceLock<Option<Bytes>>,
}

impl WebPage {
    pub fn new(status: u16, content_type: impl Into<String>, body: Vec<u8>) -> WebPage {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&body);
        WebPage {
            status,
            content_type: content_type.into(),
            etag: format!("\"{hash:016x}-{:x}\"", body.len()),
            body: Bytes::from(body),
            made: SystemTime::now(),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }
}

/// What [`Capsule::web_now`] found: a page kept from this snapshot, or the work it needs.
#[derive(Debug)]
pub enum WebNow {
    Answer(Web),
    /// A search: [`Capsule::web_search`], on a thread for searches.
    Search,
    /// Work that may look at the folder: [`Capsule::web_blocking`], off the async threads.
    Blocking,
}

/// Pages made from one snapshot for browsers, kept for the next requests; bounded as Gemini's
/// kept answers are (past the bounds a page is made per request).
#[derive(Debug, Default)]
pub struct WebKept {
    pages: RwLock<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_key: HashMap<(String, String), Arc<WebPage>>,
    /// The bodies' bytes, counted against [`WebKept::MAX_BYTES`] twice over: room for their
    /// compressed copies, made later.
    bytes: usize,
}

impl WebKept {
    const MAX_ENTRIES: usize = 4096;
    const MAX_BYTES: usize = 64 << 20;

    fn get(&self, key: &(String, String)) -> Option<Arc<WebPage>> {
        let kept = self.pages.read().unwrap_or_else(|e| e.into_inner());
        kept.by_key.get(key).cloned()
    }

    fn keep(&self, key: (String, String), page: &Arc<WebPage>) {
        let mut kept = self.pages.write().unwrap_or_else(|e| e.into_inner());
        let cost = page.body.len() * 2 + key.0.len() + key.1.len();
        if kept.by_key.len() < Self::MAX_ENTRIES
            && kept.bytes + cost <= Self::MAX_BYTES
            && !kept.by_key.contains_key(&key)
        {
            kept.bytes += cost;
            kept.by_key.insert(key, Arc::clone(page));
        }
    }
}

impl Capsule {
    /// The answer to a browser's request if memory holds it, else the kind of work it needs.
    /// Never blocks.
    pub fn web_now(&self, ask: &WebAsk) -> WebNow {
        let request = &ask.request;
        if let Some(ruled) = self.web_ruled(ask) {
            return WebNow::Answer(ruled);
        }
        if search_page(request).is_some() {
            return WebNow::Search;
        }
        if let Some(page) = self.web.get(&key_of(ask)) {
            return WebNow::Answer(Web::Page(page));
        }
        // Made (HTML from gemtext, perhaps a large page) off the async threads, then kept.
        WebNow::Blocking
    }

    /// The answer to a browser's request, whatever it takes. Blocking: call it off the async
    /// threads.
    pub fn web_blocking(&self, ask: &WebAsk) -> Web {
        if let Some(ruled) = self.web_ruled(ask) {
            return ruled;
        }
        if search_page(&ask.request).is_some() {
            return self.web_search(ask);
        }
        if let Some(page) = self.web.get(&key_of(ask)) {
            return Web::Page(page);
        }
        let request = &ask.request;
        // Pages held in the snapshot (and generated ones) are kept as HTML; what the folder
        // holds now (a listing, a file) is read per request.
        if let Some(lookup) =
            self.lookup_in_memory(&request.segments, request.ends_with_slash, &ask.origin)
            && !self.is_stylesheet(request)
        {
            return self.web_found(lookup, ask, true);
        }
        let lookup = self.lookup(&request.segments, request.ends_with_slash, &ask.origin);
        // The stylesheet every page loads, unless the capsule has one of its own.
        if let Lookup::Found(crate::content::Resolved::NotFound(_)) = lookup
            && self.is_stylesheet(request)
        {
            let page = Arc::new(WebPage::new(
                200,
                "text/css; charset=utf-8",
                STYLESHEET.as_bytes().to_vec(),
            ));
            self.web.keep(key_of(ask), &page);
            return Web::Page(page);
        }
        // What was read from the folder now (a listing, a file) is not kept: it may change
        // before the next snapshot.
        self.web_found(lookup, ask, false)
    }

    /// The search page: a form, and the results of the words asked (`?q=…` from the form, or
    /// the words as a Gemini search link writes them). Blocking: call it on a thread for
    /// searches.
    pub fn web_search(&self, ask: &WebAsk) -> Web {
        let raw = ask.request.query.as_deref().unwrap_or("");
        let words = decode_query(form_value(raw, "q").unwrap_or(raw));
        let mut request = ask.request.clone();
        request.query = (!words.trim().is_empty()).then(|| encode_query(&words));
        let page = search_page(&request).flatten();
        let searched = self.search_page(
            page,
            &decode_query(request.query.as_deref().unwrap_or("")),
            |n, words| {
                let words = encode_query(words);
                match n {
                    1 => format!("{}?q={words}", Route::Search(None).url()),
                    n => format!("{}?q={words}", Route::Search(Some(&n.to_string())).url()),
                }
            },
        );
        let form = web_page::search_form(
            &Route::Search(None).url(),
            self.layout.strings.text("search_capsule"),
            self.layout.strings.text("search_button"),
            &words,
        );
        let lang = self.host_lang();
        let (status, body) = match searched {
            Searched::Prompt => (
                200,
                format!(
                    "<h1>{}</h1>\n",
                    escape(self.layout.strings.text("search_capsule"))
                ),
            ),
            Searched::Page(gemtext) => (
                200,
                gemtext_html::body(&gemtext, &|url| self.web_href(url, ask)),
            ),
            Searched::NotFound => (
                404,
                format!(
                    "<h1>{}</h1>\n",
                    escape(self.layout.strings.text("no_results_page"))
                ),
            ),
        };
        let title = self.layout.strings.text("search_capsule").to_owned();
        let html = self.web_document(ask, &title, &lang, &format!("{form}{body}"));
        Web::Page(Arc::new(WebPage::new(status, HTML, html.into_bytes())))
    }

    /// What the operator's path rules answer a browser, if they decide.
    fn web_ruled(&self, ask: &WebAsk) -> Option<Web> {
        let request = &ask.request;
        match self.rules.at(&request.segments, request.ends_with_slash) {
            Ruled::Redirect { to, permanent } => Some(Web::Redirect {
                permanent,
                location: self.web_location(&to, ask),
            }),
            Ruled::Gone => Some(self.web_error(ask, 410, self.layout.strings.text("gone"))),
            // Programs are given a Gemini request's environment: they answer over Gemini.
            Ruled::Cgi { .. } => {
                Some(self.web_error(ask, 404, self.layout.strings.text("program_page")))
            }
            Ruled::Serve(_) => None,
        }
    }

    /// What a path looked up to, for a browser; `keep`: the page may be kept for the next
    /// requests of this snapshot.
    fn web_found(&self, lookup: Lookup, ask: &WebAsk, keep: bool) -> Web {
        let made = match self.found(lookup, &ask.request) {
            Answer::Header { status, meta } => return self.web_status(status, &meta, ask),
            Answer::File { mime, file } => {
                return Web::File {
                    mime: http_type(&mime),
                    file,
                };
            }
            Answer::Page { mime, page, .. } => self.web_gemtext(&page.gemtext, &mime, ask),
            Answer::Generated { mime, body } if mime.starts_with("text/gemini") => {
                self.web_gemtext(&body, &mime, ask)
            }
            Answer::Generated { mime, body } => {
                WebPage::new(200, http_type(&mime), body.into_bytes())
            }
            // Kept Gemini answers are not asked for here.
            Answer::Kept(_) => WebPage::new(500, HTML, Vec::new()),
        };
        let page = Arc::new(made);
        if keep {
            self.web.keep(key_of(ask), &page);
        }
        Web::Page(page)
    }

    /// A Gemini status as a browser is told it.
    fn web_status(&self, status: Status, meta: &str, ask: &WebAsk) -> Web {
        let strings = &self.layout.strings;
        match status {
            Status::RedirectPermanent | Status::RedirectTemporary => Web::Redirect {
                permanent: status == Status::RedirectPermanent,
                location: self.web_location(meta, ask),
            },
            Status::NotFound => self.web_error(ask, 404, meta),
            Status::Gone => self.web_error(ask, 410, meta),
            Status::BadRequest => self.web_error(ask, 400, meta),
            Status::TemporaryFailure | Status::CgiError => {
                self.web_error(ask, 500, strings.text("internal_error"))
            }
            Status::ServerUnavailable | Status::SlowDown => self.web_error(ask, 503, meta),
            _ => self.web_error(ask, 404, strings.text("not_found")),
        }
    }

    /// An error page: the status and what a reader is told.
    pub fn web_error(&self, ask: &WebAsk, status: u16, message: &str) -> Web {
        let body = format!("<h1>{}</h1>\n", escape(message));
        let html = self.web_document(ask, message, &self.host_lang(), &body);
        Web::Page(Arc::new(WebPage::new(status, HTML, html.into_bytes())))
    }

    /// What a browser is told of a page in a client-certificate area: `403`, and where to
    /// read it.
    pub fn web_refused(&self, ask: &WebAsk) -> Web {
        self.web_error(ask, 403, self.layout.strings.text("needs_certificate"))
    }

    /// A gemtext page as an HTML document, in the page's language (its `lang=`, else the
    /// host's).
    fn web_gemtext(&self, gemtext: &str, mime: &str, ask: &WebAsk) -> WebPage {
        let lang = mime_lang(mime).map_or_else(|| self.host_lang(), str::to_owned);
        let title = gemtext
            .lines()
            .find_map(|l| l.strip_prefix('#').filter(|t| !t.starts_with('#')))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(self.feed_title())
            .to_owned();
        let body = gemtext_html::body(gemtext, &|url| self.web_href(url, ask));
        let html = self.web_document(ask, &title, &lang, &body);
        WebPage::new(200, HTML, html.into_bytes())
    }

    fn web_document(&self, ask: &WebAsk, title: &str, lang: &str, body: &str) -> String {
        let request = &ask.request;
        let path = path_of(&request.segments, request.ends_with_slash);
        let gemini_url = ask.gemini.absolute(&encode_path(&path));
        web_page::document(
            PageHead {
                title,
                lang,
                gemini_url: &gemini_url,
                gemini_label: self.layout.strings.text("web_gemini_link"),
                site_title: self.feed_title(),
            },
            body,
        )
    }

    /// The host's language, as `lang=` gives it; unset, the language of the generated
    /// pages' words (English, unless `[strings]` says otherwise), since a browser and a
    /// screen reader need one.
    fn host_lang(&self) -> String {
        mime_lang(&self.gemtext_header(None))
            .unwrap_or(self.layout.strings.language())
            .to_owned()
    }

    /// Where a link leads a browser: a `gemini://` link to this host becomes a link within
    /// the site (`None`: as written).
    fn web_href(&self, url: &str, ask: &WebAsk) -> Option<String> {
        let scheme = url.get(..9)?;
        if !scheme.eq_ignore_ascii_case("gemini://") {
            return None;
        }
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if !ask.names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            return None;
        }
        // One slash: `//name/…` would lead a browser to another site.
        let path = match parsed.path().trim_start_matches('/') {
            "" => "/".to_owned(),
            path => format!("/{path}"),
        };
        Some(match parsed.query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        })
    }

    /// Where a redirect sends a browser: a path, or a `gemini://` URL of this host made a
    /// path; another URL as it is.
    fn web_location(&self, target: &str, ask: &WebAsk) -> String {
        self.web_href(target, ask)
            .unwrap_or_else(|| target.to_owned())
    }

    fn is_stylesheet(&self, request: &Request) -> bool {
        !request.ends_with_slash
            && request.segments.len() == 1
            && format!("/{}", request.segments[0]) == STYLESHEET_PATH
    }
}

/// What a path of a static copy for web readers holds.
#[derive(Debug)]
pub enum WebCopy {
    /// A page or generated file, as the server answers it.
    Bytes(Bytes),
    /// A file of the capsule, copied as it is.
    File(PathBuf),
    /// A former URL: a page with a link to where the post is now (a copy cannot redirect).
    Moved(Bytes),
    /// Nothing to write (a redirect, an error, a path rule's `gone`).
    Nothing,
}

impl Capsule {
    /// A path as a static copy for web readers writes it (`gemhole build --html`), answered
    /// as the HTTP door answers it. Blocking.
    pub fn web_copy(&self, ask: &WebAsk) -> WebCopy {
        let request = &ask.request;
        match self.web_blocking(ask) {
            Web::Page(page) if page.status == 200 => WebCopy::Bytes(page.body.clone()),
            // A web server serves a `.gmi` name as HTML: a gemtext file sent as it is (one
            // too large to convert) would be live markup there.
            Web::File { file, .. } if file.extension().is_some_and(|e| e == "gmi") => {
                eprintln!(
                    "gemhole: warning: {} is left out of the web copy: too large to convert \
                     (markdown.max_file_size), and as it is a web server would show it as HTML",
                    file.display()
                );
                WebCopy::Nothing
            }
            Web::File { file, .. } => WebCopy::File(file),
            Web::Redirect { location, .. }
                if self.writes_moved_page(
                    &request.segments,
                    request.ends_with_slash,
                    &location,
                ) =>
            {
                let gemtext = crate::views::pages::moved(&self.layout.strings, &location);
                let page = self.web_gemtext(&gemtext, "", ask);
                WebCopy::Moved(page.body)
            }
            _ => WebCopy::Nothing,
        }
    }
}

/// A request for a path, as a static copy asks for it.
pub fn copy_request(segments: &[String], ends_with_slash: bool) -> Request {
    let raw = path_of(segments, ends_with_slash);
    Request {
        // Unnamed: a static copy is every name's.
        host: crate::config::Hostname::from_ip(std::net::Ipv4Addr::UNSPECIFIED.into()),
        port: None,
        raw_path: encode_path(&raw),
        segments: segments.to_vec(),
        ends_with_slash,
        query: None,
    }
}

/// The key a page is kept under: the web origin and the path in its one form.
fn key_of(ask: &WebAsk) -> (String, String) {
    let request = &ask.request;
    (
        ask.origin.absolute(""),
        path_of(&request.segments, request.ends_with_slash),
    )
}

/// A request's path in its one form, decoded: `/`, `/posts/x.gmi`, `/archive/`.
fn path_of(segments: &[String], ends_with_slash: bool) -> String {
    let slash = if ends_with_slash && !segments.is_empty() {
        "/"
    } else {
        ""
    };
    format!("/{}{slash}", segments.join("/"))
}

/// The value of `name` in a form's query (`q=a+b&x=1`), still encoded.
fn form_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// The `lang=` of a Gemini MIME header.
fn mime_lang(mime: &str) -> Option<&str> {
    mime.split(';')
        .find_map(|p| p.trim().strip_prefix("lang="))
        .map(str::trim)
        .filter(|l| !l.is_empty())
}

/// A Gemini MIME header as an HTTP `Content-Type`: text says its charset.
fn http_type(mime: &str) -> String {
    let base = mime.split(';').next().unwrap_or(mime).trim();
    // Gemtext asked for as a file (a `mime` path rule): shown as the text it is.
    let (base, mime) = if base == "text/gemini" {
        ("text/plain", mime.replacen("text/gemini", "text/plain", 1))
    } else {
        (base, mime.to_owned())
    };
    let textual = base.starts_with("text/") || base.ends_with("+xml") || base == "application/json";
    if textual && !mime.contains("charset=") {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    }
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}
