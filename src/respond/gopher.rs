//! What a Gopher selector answers, decided without a socket: the probes and pseudo-selectors
//! clients send (Gopher+, `caps.txt`, `URL:`, HTTP by mistake), menus made from the Gemini
//! pages of folders, the text of a page under its `.txt` name, files, search, and the refusal
//! of an area's pages (Gopher has no certificate to show).
//!
//! Nothing here waits: [`Capsule::gopher_now`] answers what needs no work and says what the
//! rest needs ([`Now`]); the server runs [`Capsule::gopher_search`] or
//! [`Capsule::gopher_blocking`] on the right threads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::rendered::AnswerKey;
use super::rules::Ruled;
use super::{Capsule, Lookup, Searched, encode_query};
use crate::content::Resolved;
use crate::convert::gopher::{self, Place};
use crate::convert::route::Route;
use crate::convert::url::Origin;
use crate::protocol::selector::Target;

/// What a Gopher request gets. `F` is how a file is held: its path, as decided here, or the
/// file the server opened.
#[derive(Debug)]
pub enum Answer<F = PathBuf> {
    /// Bytes made for this request, and the item type they are (for the log).
    Made { kind: char, bytes: Vec<u8> },
    /// A file's own bytes.
    File { kind: char, file: F },
    /// A rendered answer kept for this snapshot: its item type as the first byte, then the
    /// answer.
    Kept(Arc<[u8]>),
}

impl<F> Answer<F> {
    pub fn menu(body: String) -> Answer<F> {
        Answer::Made {
            kind: '1',
            bytes: body.into_bytes(),
        }
    }

    pub fn text(body: String) -> Answer<F> {
        Answer::Made {
            kind: '0',
            bytes: body.into_bytes(),
        }
    }

    pub fn error(message: &str) -> Answer<F> {
        Answer::Made {
            kind: '3',
            bytes: gopher::error(message).into_bytes(),
        }
    }

    /// The file to open (its item type and how it is held) when the answer is one, else the
    /// answer as it is, for any way of holding files.
    pub fn take_file<G>(self) -> Result<Answer<G>, (char, F)> {
        Ok(match self {
            Answer::File { kind, file } => return Err((kind, file)),
            Answer::Made { kind, bytes } => Answer::Made { kind, bytes },
            Answer::Kept(bytes) => Answer::Kept(bytes),
        })
    }

    /// What a file that could not be opened answers: it is gone (the snapshot is only a
    /// hint), or it cannot be read.
    pub fn unopened(path: &Path, error: &std::io::Error) -> Answer<F> {
        if error.kind() == std::io::ErrorKind::NotFound {
            tracing::debug!(file = %path.display(), %error, "not served");
            Answer::error("Not found")
        } else {
            tracing::warn!(file = %path.display(), %error, "cannot open file");
            Answer::error("Cannot read this file")
        }
    }
}

/// An answer and, where it is worth a word in the access log, why.
pub type Told = (Answer, Option<&'static str>);

/// What [`Capsule::gopher_now`] found.
#[derive(Debug)]
pub enum Now {
    /// The answer, with its note for the log.
    Answer(Told),
    /// A search: [`Capsule::gopher_search`], on a thread for searches.
    Search { page: Option<String>, query: String },
    /// A menu or text to make, or the folder to look at: [`Capsule::gopher_blocking`], off
    /// the async threads.
    Blocking { segments: Vec<String>, slash: bool },
}

/// The refusal of an area's page: Gopher readers have no certificate to show.
fn in_area(strings: &crate::config::Strings) -> Told {
    (
        Answer::error(strings.text("needs_certificate")),
        Some("in a client-certificate area"),
    )
}

impl Capsule {
    /// The answer to a selector's target if it needs no work (the pseudo-selectors, a
    /// refusal, an answer kept for this snapshot), else the work it needs. Never blocks.
    pub fn gopher_now(&self, target: Target, place: &Place) -> Now {
        let (segments, slash) = match target {
            // The UMN client asks for the root's Gopher+ attributes first and gives up
            // without them.
            Target::PlusProbe => {
                return Now::Answer((
                    Answer::Made {
                        kind: '+',
                        bytes: format!(
                            "+-1\r\n+INFO: 1Main menu\t\t{}\t{}\r\n.\r\n",
                            place.host, place.port
                        )
                        .into_bytes(),
                    },
                    None,
                ));
            }
            Target::Http => {
                return Now::Answer((
                    Answer::Made {
                        kind: 'H',
                        bytes: format!(
                            "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; \
                             charset=utf-8\r\nConnection: close\r\n\r\nThis is a Gopher \
                             server: gopher://{}:{}/\r\n",
                            place.host, place.port
                        )
                        .into_bytes(),
                    },
                    Some("HTTP request"),
                ));
            }
            Target::Url(url) => {
                return Now::Answer((
                    Answer::Made {
                        kind: 'h',
                        bytes: gopher::url_redirect(&url).into_bytes(),
                    },
                    None,
                ));
            }
            Target::Caps => {
                return Now::Answer((
                    Answer::text(gopher::caps("gemhole", env!("CARGO_PKG_VERSION"))),
                    None,
                ));
            }
            Target::DotSegment => {
                return Now::Answer((
                    Answer::error(self.layout.strings.text("not_found")),
                    Some("dot segment in the selector"),
                ));
            }
            Target::Search { page, query } => {
                if self.admit(&Route::Search(None).segments(), None).is_err() {
                    return Now::Answer(in_area(&self.layout.strings));
                }
                return Now::Search { page, query };
            }
            Target::Item { segments, slash } => (segments, slash),
        };
        if self.admit(&segments, None).is_err() {
            return Now::Answer(in_area(&self.layout.strings));
        }
        let strings = &self.layout.strings;
        match self.rules.at(&segments, slash) {
            // Gopher has no redirect: a menu with the one item that leads there.
            Ruled::Redirect { to, .. } => {
                let path = format!("/{}", segments.join("/"));
                let body = crate::views::pages::moved(strings, &to);
                let menu = gopher::menu(&body, &path, place);
                return Now::Answer((Answer::menu(menu), Some("moved by a path rule")));
            }
            Ruled::Gone => {
                return Now::Answer((Answer::error(strings.text("gone")), Some("gone")));
            }
            Ruled::Cgi { .. } => {
                return Now::Answer((
                    Answer::error(strings.text("program_page")),
                    Some("a program's page (Gemini only)"),
                ));
            }
            Ruled::Serve(_) => {}
        }
        // Menus and texts are rendered once per snapshot (and per advertised port). Gopher
        // never previews drafts, not even under `serve --drafts`: it has no certificates to
        // tell an author, and a Gopher port opened from the config is a public one.
        if let Some(bytes) = self
            .rendered
            .get(&AnswerKey::gopher(place.port, &segments, slash))
        {
            return Now::Answer((Answer::Kept(bytes), None));
        }
        Now::Blocking { segments, slash }
    }

    /// A search: a menu of results, or what to do. Blocking: call it on a thread for
    /// searches.
    pub fn gopher_search(&self, page: Option<&str>, query: &str, place: &Place) -> Told {
        let searched = self.search_page(page, query, |n, words| {
            // Decoded once on the way into the menu: the selector keeps the words encoded.
            let page = Route::Search(Some(&n.to_string())).url();
            format!("{page}/{}/", encode_query(&encode_query(words)))
        });
        let search_url = Route::Search(None).url();
        let menu = match searched {
            Searched::Page(gemtext) => gopher::menu(&gemtext, &search_url, place),
            Searched::Prompt => gopher::menu(
                &format!(
                    "# {title}\n{help}\n=> {search_url} {title}\n",
                    title = self.layout.strings.text("search_capsule"),
                    help = self.layout.strings.text("search_help"),
                ),
                &search_url,
                place,
            ),
            Searched::NotFound => {
                return (
                    Answer::error(self.layout.strings.text("no_results_page")),
                    Some("no such page of results"),
                );
            }
        };
        (Answer::menu(menu), None)
    }

    /// A menu or text made (and kept, once for every request that asks meanwhile), or what
    /// the folder holds. Blocking: call it off the async threads.
    pub fn gopher_blocking(
        &self,
        segments: Vec<String>,
        slash: bool,
        place: &Place,
        origin: &Origin,
    ) -> Answer {
        let key = AnswerKey::gopher(place.port, &segments, slash);
        let kept = self.rendered.get_or_make(&key, || {
            match look_up(self, segments.clone(), slash, place, origin, false) {
                Some(Found::Made(Answer::Made {
                    kind: kind @ ('0' | '1'),
                    bytes,
                })) => Ok([kind as u8].into_iter().chain(bytes).collect()),
                found => Err(found),
            }
        });
        let found = match kept {
            Ok(bytes) => return Answer::Kept(bytes),
            Err(Some(found)) => found,
            Err(None) => {
                look_up(self, segments, slash, place, origin, true).unwrap_or(Found::Nothing)
            }
        };
        match found {
            Found::Made(answer) => answer,
            Found::File(path) => Answer::File {
                kind: gopher::item_type(&path.to_string_lossy()),
                file: path,
            },
            Found::Nothing => Answer::error(self.layout.strings.text("not_found")),
        }
    }
}

/// What a selector names, found in the capsule.
enum Found {
    Made(Answer),
    /// A file to send as it is.
    File(std::path::PathBuf),
    Nothing,
}

/// Looks a selector up. With `disk` off, only in the site snapshot: `None` when the folder
/// would have to be looked at. With `disk` on it blocks (the folder may be looked at) and
/// always answers. No file is read here: a page too large for the snapshot is sent as it is.
fn look_up(
    capsule: &Capsule,
    mut segments: Vec<String>,
    slash: bool,
    place: &Place,
    origin: &Origin,
    disk: bool,
) -> Option<Found> {
    let lookup = |segments: &[String], slash: bool| {
        // Every path looked up, a `.txt` name's page and a redirect's target too: Gopher
        // readers have no certificate to show an area.
        if capsule.admit(segments, None).is_err() {
            return Some(Lookup::Found(Resolved::NotFound(
                "in a client-certificate area",
            )));
        }
        if disk {
            Some(capsule.lookup(segments, slash, origin))
        } else {
            capsule.lookup_in_memory(segments, slash, origin)
        }
    };
    if slash || segments.is_empty() {
        return match lookup(&segments, true)? {
            // A former name of a series, or a folder page's `redirect_to`: Gopher has no
            // redirect, so the menu it moved to. A post's former URL gets a menu pointing to
            // the post, whatever it is.
            Lookup::Redirect(target)
                if target.ends_with('/') && capsule.site.moved_to(&segments).is_none() =>
            {
                let (_, moved) = segments_of(&target);
                menu(lookup(&moved, true)?, &moved, place)
            }
            Lookup::Redirect(target) => {
                moved_menu(&capsule.layout.strings, &target, &segments, place)
            }
            found => menu(found, &segments, place),
        };
    }
    match lookup(&segments, false)? {
        // A former URL of a post: a menu that points to where it is now.
        Lookup::Redirect(target) if !segments.last().is_some_and(|s| s.ends_with(".gmi")) => {
            return moved_menu(&capsule.layout.strings, &target, &segments, place);
        }
        Lookup::Found(Resolved::File { path, .. }) => return Some(Found::File(path)),
        Lookup::Found(Resolved::AddSlash) => {
            return menu(lookup(&segments, true)?, &segments, place);
        }
        Lookup::Typed { body, .. } => return Some(Found::Made(Answer::text(body))),
        // A page asked for by its Gemini name: its gemtext, as a file would be.
        Lookup::Page(page) if page.withheld.is_none() => {
            return Some(Found::Made(Answer::text(page.gemtext.clone())));
        }
        Lookup::Generated { body, .. } => return Some(Found::Made(Answer::text(body))),
        _ => {}
    }
    // `x.txt`: the text of the page Gemini serves as `x.gmi`.
    let Some(last) = segments.last_mut() else {
        return Some(Found::Nothing);
    };
    let Some(stem) = last.strip_suffix(".txt") else {
        return Some(Found::Nothing);
    };
    *last = format!("{stem}.gmi");
    let mut gemini_path = format!("/{}", segments.join("/"));
    let mut found = lookup(&segments, false)?;
    if let Lookup::Redirect(target) = found {
        // A post renamed by its `slug`: the text of the page it moved to.
        let (decoded, target) = segments_of(&target);
        found = lookup(&target, false)?;
        gemini_path = decoded;
    }
    let gemtext = match found {
        Lookup::Page(page) if page.withheld.is_none() => page.gemtext.clone(),
        Lookup::Generated { body, .. } => body,
        // Over `markdown.max_file_size`, so not held in the snapshot: its gemtext as it is,
        // streamed from the file rather than read whole and rendered per request.
        Lookup::Found(Resolved::File { path, .. }) => return Some(Found::File(path)),
        _ => return Some(Found::Nothing),
    };
    Some(Found::Made(Answer::text(gopher::text(
        &gemtext,
        &gemini_path,
        place,
    ))))
}

/// A root-relative URL the capsule redirects to, decoded, and its path segments.
fn segments_of(url: &str) -> (String, Vec<String>) {
    let decoded = percent_encoding::percent_decode_str(url)
        .decode_utf8_lossy()
        .into_owned();
    (decoded, crate::convert::url::path_segments(url))
}

/// The menu of a folder-style selector from what its Gemini page looked up to.
/// Where a page moved, as a menu with the one item that leads there.
fn moved_menu(
    strings: &crate::config::Strings,
    target: &str,
    segments: &[String],
    place: &Place,
) -> Option<Found> {
    let body = crate::views::pages::moved(strings, target);
    menu(Lookup::Generated { body, lang: None }, segments, place)
}

fn menu(lookup: Lookup, segments: &[String], place: &Place) -> Option<Found> {
    let path = if segments.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", segments.join("/"))
    };
    let gemtext = match lookup {
        Lookup::Generated { body, .. } => body,
        Lookup::Page(page) if page.withheld.is_none() => page.gemtext.clone(),
        // A folder page over `markdown.max_file_size`: not made into a menu (that would mean
        // reading it whole per request); a menu that offers it as text instead.
        Lookup::Found(Resolved::File {
            path: file,
            mime: "text/gemini",
        }) => {
            let name = file.file_name()?.to_string_lossy();
            format!(
                "This page is too large to show as a menu.\n=> {} The page as text\n",
                crate::convert::url::encode_path(&name)
            )
        }
        _ => return Some(Found::Nothing),
    };
    Some(Found::Made(Answer::menu(gopher::menu(
        &gemtext, &path, place,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostConfig;
    use crate::protocol::selector;
    use crate::respond::test_capsule;

    const POST: &str = "---\ntitle: Knots\ndate: 2024-03-11\n---\nA bowline.\n";

    fn place() -> Place {
        Place {
            host: "localhost".into(),
            port: 7070,
            gemini_host: "localhost".into(),
            width: 70,
        }
    }

    /// What a selector line answers, running the work `gopher_now` asks for as the server does.
    fn answer(capsule: &Capsule, line: &str) -> (char, String, Option<&'static str>) {
        let target = selector::parse(line.as_bytes()).unwrap().target;
        let (answer, note) = match capsule.gopher_now(target, &place()) {
            Now::Answer(told) => told,
            Now::Search { page, query } => capsule.gopher_search(page.as_deref(), &query, &place()),
            Now::Blocking { segments, slash } => {
                let origin = Origin::new("localhost", 1965);
                (
                    capsule.gopher_blocking(segments, slash, &place(), &origin),
                    None,
                )
            }
        };
        match answer {
            Answer::Made { kind, bytes } => (kind, String::from_utf8(bytes).unwrap(), note),
            Answer::Kept(bytes) => (
                bytes[0] as char,
                String::from_utf8(bytes[1..].to_vec()).unwrap(),
                note,
            ),
            Answer::File { kind, file } => (kind, file.display().to_string(), note),
        }
    }

    #[test]
    fn selectors_map_to_menus_texts_and_files_without_a_socket() {
        let (_dir, capsule) = test_capsule(
            &[
                ("posts/2024-03-11-knots.md", POST),
                (
                    "index.gmi",
                    "# Home\n=> /posts/2024-03-11-knots.gmi Knots\n",
                ),
                ("notes.bin", "\u{0}\u{1}"),
            ],
            &HostConfig::default(),
        );
        let (kind, menu, _) = answer(&capsule, "/");
        assert_eq!(kind, '1');
        assert!(menu.contains("/posts/2024-03-11-knots.txt"), "{menu}");
        let (kind, text, _) = answer(&capsule, "/posts/2024-03-11-knots.txt");
        assert_eq!(kind, '0');
        assert!(text.contains("A bowline."), "{text}");
        let (kind, path, _) = answer(&capsule, "/notes.bin");
        assert_eq!(kind, '9');
        assert!(path.ends_with("notes.bin"), "{path}");
        let (kind, _, _) = answer(&capsule, "/nothing.txt");
        assert_eq!(kind, '3');
        let (kind, _, note) = answer(&capsule, "/a/../b");
        assert_eq!((kind, note), ('3', Some("dot segment in the selector")));
        let (kind, caps, _) = answer(&capsule, "caps.txt");
        assert_eq!(kind, '0');
        assert!(caps.starts_with("CAPS"), "{caps}");
    }

    #[test]
    fn an_areas_pages_are_refused_and_search_is_a_menu() {
        let config = crate::config::Config::parse(
            "[[area]]\npath = \"/members/\"\n",
            std::path::Path::new("config.toml"),
        )
        .unwrap();
        let host = config.hosts[0].clone();
        let (_dir, capsule) = test_capsule(
            &[
                ("posts/2024-03-11-knots.md", POST),
                ("members/index.gmi", "# Members\n"),
            ],
            &host,
        );
        let (kind, _, note) = answer(&capsule, "/members/");
        assert_eq!((kind, note), ('3', Some("in a client-certificate area")));
        let (kind, results, _) = answer(&capsule, "/search\tbowline");
        assert_eq!(kind, '1');
        assert!(results.contains("Knots"), "{results}");
    }
}
