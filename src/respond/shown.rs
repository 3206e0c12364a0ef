//! Which kept answers a change to some files' text may show, so a rebuild that changed only
//! text keeps every other answer.

use std::collections::HashSet;

use crate::content::Site;

/// What answers may show the text of the files in `changed` (relative to the root): the page
/// itself (by its file's name or its post's URL, in any of its forms: `.gmi`, `.md`, Gopher's
/// `.txt`), the folder it lies in (its index page), and the feeds, which carry posts' text.
/// Made once per rebuild, then asked of every kept answer.
pub(super) struct Shown {
    /// Paths without their extension (`/posts/x`).
    stems: HashSet<String>,
    /// Folders (`/posts`, the root as ``).
    folders: HashSet<String>,
}

impl Shown {
    pub(super) fn of(changed: &[std::path::PathBuf], site: &Site, before: &Site) -> Shown {
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
    pub(super) fn shows(&self, path: &str) -> bool {
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
}
