//! What a Gemini request answers, decided without a socket: the search pages, an author's
//! preview of drafts (and the link to edit a page), the answers kept per snapshot, a page of
//! the snapshot, a file of the folder (opened by the server, which owns the sockets and the
//! file handles), the redirect of a folder's path to its form with a slash, and every status
//! in between.
//!
//! Nothing here waits: [`Capsule::gemini_now`] answers what memory can, and says which kind
//! of thread the rest needs ([`Now`]); the server runs [`Capsule::gemini_search`] or
//! [`Capsule::gemini_blocking`] there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::rendered::AnswerKey;
use super::rules::{Overrides, Ruled};
use super::{Capsule, Lookup, Searched, decode_query, encode_query};
use crate::config::Lang;
use crate::content::Resolved;
use crate::content::files::names;
use crate::content::markdown::Page;
use crate::convert::route::Route;
use crate::convert::url::Origin;
use crate::protocol::identity::Identity;
use crate::protocol::request::Request;
use crate::protocol::status::Status;

/// What a request gets. `F` is how a file is held: its path, as decided here, or the file the
/// server opened.
#[derive(Debug)]
pub enum Answer<F = PathBuf> {
    /// A header with no body (every status but 20).
    Header { status: Status, meta: String },
    /// `20 <mime>` and the contents of a file.
    File { mime: String, file: F },
    /// `20 <mime>` and a page held in the snapshot (sent from it, never copied: a large page
    /// held by many slow readers is one page), and lines after it made for this request (an
    /// author's edit link).
    Page {
        mime: String,
        page: Arc<Page>,
        tail: Option<String>,
    },
    /// `20 <mime>` and gemtext made for this request.
    Generated { mime: String, body: String },
    /// A whole answer (header and body) made earlier from this snapshot.
    Kept(Arc<[u8]>),
}

impl<F> Answer<F> {
    pub fn header(status: Status, meta: impl Into<String>) -> Answer<F> {
        Answer::Header {
            status,
            meta: meta.into(),
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Answer::Header { status, .. } => *status,
            Answer::File { .. }
            | Answer::Page { .. }
            | Answer::Generated { .. }
            | Answer::Kept(_) => Status::Success,
        }
    }

    /// The file to open (its MIME header and how it is held) when the answer is one, else the
    /// answer as it is, for any way of holding files.
    pub fn take_file<G>(self) -> Result<Answer<G>, (String, F)> {
        Ok(match self {
            Answer::File { mime, file } => return Err((mime, file)),
            Answer::Header { status, meta } => Answer::Header { status, meta },
            Answer::Page { mime, page, tail } => Answer::Page { mime, page, tail },
            Answer::Generated { mime, body } => Answer::Generated { mime, body },
            Answer::Kept(bytes) => Answer::Kept(bytes),
        })
    }

    /// What a file that could not be opened answers: it is gone (the snapshot is only a
    /// hint), or it cannot be read.
    pub fn unopened(path: &Path, error: &std::io::Error) -> Answer<F> {
        if error.kind() == std::io::ErrorKind::NotFound {
            tracing::debug!(file = %path.display(), %error, "not served");
            Answer::header(Status::NotFound, "Not found")
        } else {
            tracing::warn!(file = %path.display(), %error, "cannot open file");
            Answer::header(Status::TemporaryFailure, "Cannot read this file")
        }
    }

    /// What a request gets when the work its answer needs could not run.
    pub fn failed(error: &std::io::Error) -> Answer<F> {
        tracing::error!(%error, "path lookup failed");
        Answer::header(Status::TemporaryFailure, "Internal error")
    }

    /// What a search gets when too many run at once.
    pub fn too_many_searches() -> Answer<F> {
        Answer::header(
            Status::ServerUnavailable,
            "Too many searches at once: try again in a moment",
        )
    }
}

/// A whole `20` answer: header and body.
pub fn success(mime: &str, body: &str) -> Vec<u8> {
    let mut bytes = format!("{} {mime}\r\n", Status::Success).into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// A request as the capsule answers it: what was asked, where the capsule is reachable (for
/// absolute URLs), and who asks. Owned, to go to another thread.
#[derive(Debug, Clone)]
pub struct Ask {
    pub request: Request,
    pub origin: Origin,
    pub identity: Option<Identity>,
}

/// What [`Capsule::gemini_now`] found.
#[derive(Debug)]
pub enum Now {
    /// The answer, from memory.
    Answer(Answer),
    /// A search: [`Capsule::gemini_search`], on a thread for searches.
    Search,
    /// Work that may make text or look at the folder: [`Capsule::gemini_blocking`], off the
    /// async threads.
    Blocking,
    /// A program may answer (a `cgi = true` path rule over this folder):
    /// [`Capsule::program`] finds it, off the async threads, and the server runs it.
    Program(Vec<String>),
}

impl Capsule {
    /// The META of a gemtext page: its own language if it has one, else the capsule's.
    /// One of the host's strings, as a reader is told it.
    fn words(&self, id: &str) -> String {
        self.layout.strings.text(id).to_owned()
    }

    pub fn gemtext_header(&self, lang: Option<&Lang>) -> String {
        match lang.and_then(Lang::mime_parameter) {
            Some(param) => format!("text/gemini; charset=utf-8; {param}"),
            None => format!("text/gemini; charset=utf-8{}", self.gemtext_params),
        }
    }

    /// The META of a `20` response for a file of this MIME type.
    pub fn mime_header(&self, mime: &str) -> String {
        self.file_header(mime, Overrides::default())
    }

    /// The META of a file served as it is, with what the path rules override: its type, the
    /// charset of a text file, the language of gemtext.
    fn file_header(&self, mime: &str, overrides: Overrides<'_>) -> String {
        let mime = overrides.mime.unwrap_or(mime);
        if mime == "text/gemini" {
            let lang = overrides.lang.and_then(Lang::mime_parameter);
            let charset = overrides.charset.unwrap_or("utf-8");
            return match lang {
                Some(lang) => format!("text/gemini; charset={charset}; {lang}"),
                None => format!("text/gemini; charset={charset}{}", self.gemtext_params),
            };
        }
        match overrides.charset {
            Some(charset) if mime.starts_with("text/") => format!("{mime}; charset={charset}"),
            _ => mime.to_owned(),
        }
    }

    /// The language the path rules give a request's gemtext.
    fn rules_lang(&self, request: &Request) -> Option<&Lang> {
        self.rules
            .lang_at(&request.segments, request.ends_with_slash)
    }

    /// The answer to `ask` if memory holds it (an answer kept for this snapshot, a page held
    /// whole), else the kind of work it needs. Never blocks.
    pub fn gemini_now(&self, ask: &Ask) -> Now {
        let request = &ask.request;
        match self.rules.at(&request.segments, request.ends_with_slash) {
            Ruled::Redirect { to, permanent } => {
                let status = if permanent {
                    Status::RedirectPermanent
                } else {
                    Status::RedirectTemporary
                };
                return Now::Answer(Answer::header(status, to));
            }
            Ruled::Gone => return Now::Answer(Answer::header(Status::Gone, self.words("gone"))),
            Ruled::Cgi { folder } => return Now::Program(folder.to_vec()),
            Ruled::Serve(_) => {}
        }
        if search_page(request).is_some() {
            return Now::Search;
        }
        // An author's view is made per request: the kept answers are readers'.
        if self.access.previews_drafts(ask.identity.as_ref()) {
            return Now::Blocking;
        }
        let key = key_of(ask);
        if let Some(bytes) = self.rendered.get(&key) {
            return Now::Answer(Answer::Kept(bytes));
        }
        if self.renders(&request.segments, request.ends_with_slash) {
            return Now::Blocking;
        }
        // Pages held whole in the snapshot come from memory; only files need the folder.
        match self.lookup_in_memory(&request.segments, request.ends_with_slash, &ask.origin) {
            Some(lookup) => Now::Answer(self.with_edit_link(self.found(lookup, request), ask)),
            None => Now::Blocking,
        }
    }

    /// The answer to a search (`/search`, `/search/<n>`). Blocking: call it on a thread for
    /// searches.
    pub fn gemini_search(&self, ask: &Ask) -> Answer {
        let request = &ask.request;
        let page = search_page(request).flatten();
        let query = decode_query(request.query.as_deref().unwrap_or(""));
        let searched = self.search_page(page, &query, |n, words| {
            let words = encode_query(words);
            match n {
                1 => format!("{}?{words}", Route::Search(None).url()),
                n => format!("{}?{words}", Route::Search(Some(&n.to_string())).url()),
            }
        });
        match searched {
            Searched::Prompt => Answer::header(Status::Input, self.words("search_capsule")),
            Searched::Page(body) => Answer::Generated {
                mime: self.gemtext_header(None),
                body,
            },
            Searched::NotFound => Answer::header(Status::NotFound, self.words("no_results_page")),
        }
    }

    /// The answer to `ask`, whatever it takes: a preview, a page made (and kept, once for
    /// every request that asks meanwhile), or the folder looked at. Blocking: call it off the
    /// async threads.
    pub fn gemini_blocking(&self, ask: &Ask) -> Answer {
        let request = &ask.request;
        let (segments, slash, origin) = (&request.segments, request.ends_with_slash, &ask.origin);
        if search_page(request).is_some() {
            return self.gemini_search(ask);
        }
        let lookup = if self.access.previews_drafts(ask.identity.as_ref()) {
            self.lookup_preview(segments, slash, origin)
        } else if self.renders(segments, slash) {
            let kept = self.rendered.get_or_make(&key_of(ask), || {
                match self.lookup_in_memory(segments, slash, origin) {
                    Some(Lookup::Generated { body, lang }) => {
                        let lang = lang.as_ref().or(self.rules_lang(request));
                        Ok(success(&self.gemtext_header(lang), &body))
                    }
                    Some(Lookup::Typed { mime, body }) => Ok(success(mime, &body)),
                    other => Err(other),
                }
            });
            match kept {
                Ok(bytes) => return Answer::Kept(bytes),
                Err(Some(lookup)) => lookup,
                Err(None) => self.lookup(segments, slash, origin),
            }
        } else {
            self.lookup(segments, slash, origin)
        };
        self.with_edit_link(self.found(lookup, request), ask)
    }

    /// The answer to what a path looked up to.
    pub(super) fn found(&self, lookup: Lookup, request: &Request) -> Answer {
        match lookup {
            Lookup::Found(Resolved::File { path, mime }) => {
                let overrides = match self.rules.at(&request.segments, request.ends_with_slash) {
                    Ruled::Serve(overrides) => overrides,
                    _ => Overrides::default(),
                };
                Answer::File {
                    mime: self.file_header(mime, overrides),
                    file: path,
                }
            }
            Lookup::Page(page) => match page.withheld {
                Some(_) => Answer::header(Status::NotFound, self.words("not_found")),
                None => Answer::Page {
                    mime: self.gemtext_header(page.lang.as_ref().or(self.rules_lang(request))),
                    page,
                    tail: None,
                },
            },
            Lookup::Generated { body, lang } => Answer::Generated {
                mime: self.gemtext_header(lang.as_ref().or(self.rules_lang(request))),
                body,
            },
            Lookup::Typed { mime, body } => Answer::Generated {
                mime: mime.into(),
                body,
            },
            Lookup::Redirect(target) => Answer::header(Status::RedirectPermanent, target),
            Lookup::PageError(e) => {
                tracing::warn!("{e}");
                Answer::header(Status::TemporaryFailure, self.words("cannot_convert"))
            }
            Lookup::Found(Resolved::AddSlash) => {
                // The path as sent, in its one form: `//archive` must not become
                // `//archive/`, which a client reads as a link to another host.
                let path: Vec<&str> = request
                    .raw_path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .collect();
                let mut target = format!("/{}/", path.join("/"));
                if let Some(query) = &request.query {
                    target.push('?');
                    target.push_str(query);
                }
                Answer::header(Status::RedirectPermanent, target)
            }
            Lookup::Found(Resolved::NotFound(_) | Resolved::Markdown(_)) => {
                Answer::header(Status::NotFound, self.words("not_found"))
            }
        }
    }

    /// An author's view of a page they may edit: the page with a link to its source under it
    /// (`=> titan://host:port/path;edit`), which their client opens in its editor. Readers'
    /// pages never have it (and an author's view is never kept for them).
    fn with_edit_link(&self, answer: Answer, ask: &Ask) -> Answer {
        let identity = ask.identity.as_ref();
        if !self.access.is_author(identity) {
            return answer;
        }
        let gemtext = match &answer {
            Answer::Page { page, .. } => page.gemtext.as_str(),
            Answer::Generated { mime, body } if mime.starts_with("text/gemini") => body.as_str(),
            _ => return answer,
        };
        let request = &ask.request;
        let Some(source) = self
            .site
            .text_path(&request.segments, request.ends_with_slash)
        else {
            return answer;
        };
        let segments: Vec<String> = names(source).map(str::to_owned).collect();
        if self
            .access
            .write_refusal(&self.root, &segments, identity)
            .is_some()
        {
            return answer;
        }
        // The page's own URL (a post's, its `slug` kept); a folder's page by its index file.
        let edit = super::titan::edit_url(&ask.origin, &self.page_url(source));
        let newline = if gemtext.is_empty() || gemtext.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let link = format!(
            "{newline}\n=> {edit} {}\n",
            self.layout.strings.text("edit_page")
        );
        match answer {
            Answer::Page { mime, page, .. } => Answer::Page {
                mime,
                page,
                tail: Some(link),
            },
            Answer::Generated { mime, mut body } => {
                body.push_str(&link);
                Answer::Generated { mime, body }
            }
            other => other,
        }
    }
}

/// The key a reader's answer is kept under.
fn key_of(ask: &Ask) -> AnswerKey {
    AnswerKey::gemini(
        &ask.origin,
        &ask.request.segments,
        ask.request.ends_with_slash,
    )
}

/// Whether a request is for the search page (`/search`, `/search/<n>`), and then its page
/// segment.
pub(super) fn search_page(request: &Request) -> Option<Option<&str>> {
    match Route::parse(&request.segments)? {
        Route::Search(page) if !request.ends_with_slash => Some(page),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostConfig;
    use crate::respond::test_capsule;

    const POST: &str = "---\ntitle: Knots\ndate: 2024-03-11\ntags: [sail]\n---\nA bowline.\n";

    fn ask(line: &str) -> Ask {
        Ask {
            request: crate::protocol::request::parse(line.as_bytes()).unwrap(),
            origin: Origin::new("localhost", 1965),
            identity: None,
        }
    }

    /// What `gemini_now`, then the work it asks for, answers: as the server runs them.
    fn answer(capsule: &Capsule, line: &str) -> Answer {
        let ask = ask(line);
        match capsule.gemini_now(&ask) {
            Now::Answer(answer) => answer,
            Now::Search => capsule.gemini_search(&ask),
            Now::Blocking => capsule.gemini_blocking(&ask),
            Now::Program(folder) => panic!("a program under {folder:?}"),
        }
    }

    fn header(answer: &Answer) -> (Status, &str) {
        match answer {
            Answer::Header { status, meta } => (*status, meta.as_str()),
            other => panic!("not a header: {other:?}"),
        }
    }

    fn body(answer: &Answer) -> String {
        match answer {
            Answer::Page { page, .. } => page.gemtext.clone(),
            Answer::Generated { body, .. } => body.clone(),
            Answer::Kept(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => panic!("no body: {other:?}"),
        }
    }

    #[test]
    fn pages_generated_pages_and_redirects_are_answered_without_a_socket() {
        let (_dir, capsule) = test_capsule(
            &[
                ("posts/2024-03-11-knots.md", POST),
                ("index.gmi", "# Home\n"),
            ],
            &HostConfig::default(),
        );
        // A post converted from Markdown, held in the snapshot: no thread needed.
        let ask_post = ask("gemini://localhost/posts/2024-03-11-knots.gmi");
        assert!(matches!(capsule.gemini_now(&ask_post), Now::Answer(_)));
        let post = answer(&capsule, "gemini://localhost/posts/2024-03-11-knots.gmi");
        assert!(body(&post).contains("A bowline."), "{}", body(&post));
        // A generated page is made once, then kept: the second answer is the first's bytes.
        let first = answer(&capsule, "gemini://localhost/tags/sail/");
        assert!(body(&first).contains("Knots"), "{}", body(&first));
        let again = capsule.gemini_now(&ask("gemini://localhost/tags/sail/"));
        assert!(matches!(again, Now::Answer(Answer::Kept(_))), "{again:?}");
        // A folder-style route without its slash, in the form it was sent, query kept.
        let moved = answer(&capsule, "gemini://localhost//archive?x");
        assert_eq!(header(&moved), (Status::RedirectPermanent, "/archive/?x"));
        let missing = answer(&capsule, "gemini://localhost/nothing.gmi");
        assert_eq!(header(&missing), (Status::NotFound, "Not found"));
        // A generated file asked for as a folder is not there, as a file of the folder is not;
        // without the slash it is.
        for path in ["/atom.xml", "/robots.txt", "/index.gmi", "/search"] {
            let folder = answer(&capsule, &format!("gemini://localhost{path}/"));
            assert_eq!(header(&folder).0, Status::NotFound, "{path}/");
            let file = answer(&capsule, &format!("gemini://localhost{path}"));
            assert!(
                !matches!(file, Answer::Header { .. }) || path == "/search",
                "{path}"
            );
        }
        // The Markdown source itself is never served.
        let source = answer(&capsule, "gemini://localhost/posts/2024-03-11-knots.md");
        assert_eq!(header(&source).0, Status::NotFound);
    }

    #[test]
    fn search_asks_for_words_then_lists_pages() {
        let (_dir, capsule) = test_capsule(
            &[("posts/2024-03-11-knots.md", POST)],
            &HostConfig::default(),
        );
        assert!(matches!(
            capsule.gemini_now(&ask("gemini://localhost/search")),
            Now::Search
        ));
        let prompt = answer(&capsule, "gemini://localhost/search");
        assert_eq!(header(&prompt), (Status::Input, "Search this capsule"));
        let found = answer(&capsule, "gemini://localhost/search?bowline");
        assert!(body(&found).contains("Knots"), "{}", body(&found));
        let beyond = answer(&capsule, "gemini://localhost/search/7?bowline");
        assert_eq!(header(&beyond).0, Status::NotFound);
    }

    #[test]
    fn drafts_are_withheld_from_readers() {
        let draft = "---\ntitle: Soon\ndate: 2024-03-12\ndraft: true\n---\nNot yet.\n";
        let (_dir, capsule) = test_capsule(
            &[("posts/2024-03-12-soon.md", draft)],
            &HostConfig::default(),
        );
        let withheld = answer(&capsule, "gemini://localhost/posts/2024-03-12-soon.gmi");
        assert_eq!(header(&withheld).0, Status::NotFound);
        // The list of drafts is an author's page, not a reader's.
        let drafts = answer(&capsule, "gemini://localhost/drafts/");
        assert_eq!(header(&drafts).0, Status::NotFound);
        // With drafts shown to everyone, the same path is the draft, marked.
        let capsule = capsule.with_drafts_for_all(true);
        let shown = answer(&capsule, "gemini://localhost/posts/2024-03-12-soon.gmi");
        assert!(body(&shown).contains("Not yet."), "{}", body(&shown));
        assert!(body(&shown).contains(crate::config::Strings::default().text("draft_line")));
    }

    #[test]
    fn a_preview_lists_drafts_where_they_will_appear_and_readers_see_nothing_of_it() {
        let part = |title: &str, date: &str, part: u32, extra: &str| {
            format!(
                "---\ntitle: {title}\ndate: {date}\nseries: Pi\npart: {part}\ntags: [pi]\n\
                 {extra}---\nText of {title}.\n"
            )
        };
        let files = [
            ("posts/one.md", part("One", "2024-01-01", 1, "")),
            (
                "posts/two.md",
                part("Two", "2024-01-08", 2, "draft: true\n"),
            ),
            ("posts/three.md", part("Three", "2999-01-03", 3, "")),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let (_dir, capsule) = test_capsule(&files, &HostConfig::default());
        let pages = [
            "/",
            "/archive/",
            "/tags/pi/",
            "/series/",
            "/series/pi/",
            "/posts/one.gmi",
        ];
        let read = |capsule: &Capsule| -> Vec<String> {
            pages
                .iter()
                .map(|p| body(&answer(capsule, &format!("gemini://localhost{p}"))))
                .collect()
        };
        let before = read(&capsule);
        assert!(before[4].contains("## One part,"), "{}", before[4]);
        assert!(!before.iter().any(|b| b.contains("Two")), "{before:?}");
        // The readers' answers are kept; a preview never comes from them, nor goes into them.
        let capsule = capsule.with_drafts_for_all(true);
        let seen = read(&capsule);
        let draft = "=> /posts/two.gmi 2024-01-08 Two (draft)";
        for (page, body) in pages.iter().zip(&seen).take(3) {
            assert!(body.contains(draft), "{page}: {body}");
        }
        assert!(seen[3].contains("Pi (3 parts)"), "{}", seen[3]);
        assert!(
            seen[4].contains("=> /posts/two.gmi 2024-01-08 Part 2: Two (draft)")
                && seen[4].contains("2999-01-03 Part 3: Three (scheduled for 2999-01-03)"),
            "{}",
            seen[4]
        );
        assert!(
            seen[5].contains("Part 1 of 3 in “Pi”")
                && seen[5].contains("=> /posts/two.gmi → Next: Part 2: Two (draft)"),
            "{}",
            seen[5]
        );
        let two = body(&answer(&capsule, "gemini://localhost/posts/two.gmi"));
        assert!(
            two.contains(crate::config::Strings::default().text("draft_line"))
                && two.contains("Part 2 of 3 in “Pi”")
                && two.contains("=> /posts/one.gmi ← Previous: Part 1: One")
                && two.contains("→ Next: Part 3: Three (scheduled for 2999-01-03)"),
            "{two}"
        );
        // A page uploaded back as an author saw it carries lines the server adds.
        let added = capsule.added_lines(Path::new("posts/one.md"));
        assert!(
            added.contains(&"=> /posts/two.gmi → Next: Part 2: Two (draft)".to_owned()),
            "{added:?}"
        );
        let readers = capsule.with_drafts_for_all(false);
        assert_eq!(read(&readers), before);
        // Previewed first, in a new snapshot: what readers get after is theirs alone.
        let (_dir, fresh) = test_capsule(&files, &HostConfig::default());
        let fresh = fresh.with_drafts_for_all(true);
        assert_eq!(read(&fresh), seen);
        assert_eq!(read(&fresh.with_drafts_for_all(false)), before);
    }
}
