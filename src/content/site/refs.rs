//! Page references (`@/posts/x.md#part`, as Zola writes them and as the converter writes Hugo's
//! `ref` and Jekyll's `post_url` and `link`) pointed at the URL the site settled on for the
//! file they name.
//!
//! Authors copy their generator's content folder to different places in the capsule, so a
//! reference is looked for, in order: from the capsule root, from `posts/`, from the linking
//! page's folder, and last as the one file whose path ends with it. Each of those may name the
//! file with or without its extension, or a folder by its `index.md` or `_index.md`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

use super::Site;
use crate::content::files::{CapsuleRoot, is_markdown};
use crate::content::markdown::Text;
use crate::content::options::POSTS_DIR;
use crate::content::post::page_url;
use crate::convert::url::PAGE_REFERENCE;

/// Every text file's URL by its source, and its sources by file name, to resolve references.
#[derive(Debug, Default)]
pub(super) struct References {
    urls: HashMap<PathBuf, String>,
    /// File name → the sources of that name.
    by_name: HashMap<String, Vec<PathBuf>>,
    /// The sources inside a client-certificate area: a page outside every area never links
    /// to them, or its readers would learn what the area holds.
    in_area: HashSet<PathBuf>,
}

/// What a reference names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolved {
    /// The URL the site serves it at.
    Url(String),
    /// No file it could name.
    Missing,
    /// Several files end with it, and it names none of them from a folder it is looked in.
    Ambiguous(Vec<PathBuf>),
    /// A page inside a client-certificate area, named from a page outside every area.
    InArea,
}

/// Whether a page's gemtext has a link line with a page reference.
pub(super) fn has_references(gemtext: &str) -> bool {
    gemtext.starts_with("=> @/") || memchr::memmem::find(gemtext.as_bytes(), b"\n=> @/").is_some()
}

/// Whether any text of the site has a page reference: else nothing is looked up.
pub(super) fn any_references(texts: &HashMap<PathBuf, Text>) -> bool {
    texts
        .values()
        .any(|t| matches!(t, Text::Page(page) if has_references(&page.gemtext)))
}

impl References {
    /// The URLs the site settled on: every post's (published, withheld, members-only), and
    /// every other text page's own.
    pub(super) fn new(site: &Site, capsule: &CapsuleRoot) -> References {
        let mut urls: HashMap<PathBuf, String> = site
            .all_posts()
            .map(|p| (p.source.clone(), p.url.clone()))
            .collect();
        for path in site.texts.keys() {
            if !urls.contains_key(path) {
                let served = if is_markdown(path) {
                    path.with_extension("gmi")
                } else {
                    path.clone()
                };
                urls.insert(path.clone(), page_url(&served));
            }
        }
        let mut by_name: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for path in urls.keys() {
            if let Some(name) = path.file_name() {
                let name = name.to_string_lossy().into_owned();
                by_name.entry(name).or_default().push(path.clone());
            }
        }
        for sources in by_name.values_mut() {
            sources.sort();
        }
        let in_area = if capsule.areas().is_empty() {
            HashSet::new()
        } else {
            let natural = |path: &Path| site.post(path).map(|p| p.natural_url());
            urls.iter()
                .filter(|(path, url)| {
                    capsule.url_in_area(url)
                        || natural(path).is_some_and(|n| capsule.url_in_area(&n))
                })
                .map(|(path, _)| path.clone())
                .collect()
        };
        References {
            urls,
            by_name,
            in_area,
        }
    }

    /// The URL `target` (a link as the gemtext has it, `@/…`) names, from the page at `from`;
    /// `None` when it is no page reference.
    pub(super) fn resolve(&self, from: &Path, target: &str) -> Option<Resolved> {
        let named = target.strip_prefix(PAGE_REFERENCE)?;
        let named = named.split(['#', '?']).next().unwrap_or("");
        let named = percent_decode_str(named).decode_utf8_lossy();
        let named = Path::new(named.trim_matches('/'));
        if named.as_os_str().is_empty() {
            return Some(Resolved::Missing);
        }
        let folder = from.parent().unwrap_or(Path::new(""));
        for base in [Path::new(""), Path::new(POSTS_DIR), folder] {
            let joined = base.join(named);
            if let Some(source) = spellings(&joined).find(|p| self.urls.contains_key(p)) {
                return Some(self.url_from(from, &source));
            }
        }
        Some(match self.by_ending(named) {
            Ok(source) => self.url_from(from, &source),
            Err(unresolved) => unresolved,
        })
    }

    /// The URL of `source` as the page at `from` may link it: never into an area from outside.
    fn url_from(&self, from: &Path, source: &Path) -> Resolved {
        if self.in_area.contains(source) && !self.in_area.contains(from) {
            return Resolved::InArea;
        }
        Resolved::Url(self.urls[source].clone())
    }

    /// The one source whose path ends with `named` (in any of its spellings).
    fn by_ending(&self, named: &Path) -> Result<PathBuf, Resolved> {
        let mut found: Vec<&PathBuf> = spellings(named)
            .flat_map(|spelled| {
                let name = spelled
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.by_name
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .filter(move |source| source.ends_with(&spelled))
            })
            .collect();
        found.sort();
        found.dedup();
        match found.as_slice() {
            [] => Err(Resolved::Missing),
            [one] => Ok((*one).clone()),
            many => Err(Resolved::Ambiguous(
                many.iter().map(|p| (*p).clone()).collect(),
            )),
        }
    }
}

/// The files a reference may mean: as written, with a Markdown extension, or a folder's
/// index page. `x.md` may name the bundle `x/index.md` too, as Hugo's `ref` finds it once the
/// post became a folder.
fn spellings(named: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    let extension_of = |list: &[&str]| {
        named
            .extension()
            .is_some_and(|e| list.iter().any(|x| e.eq_ignore_ascii_case(x)))
    };
    let markdown = extension_of(&["md", "markdown"]);
    let has_extension = markdown || extension_of(&["gmi"]);
    let as_written = std::iter::once(named.to_owned());
    let others = (!has_extension).then(|| {
        let name = named.as_os_str().to_string_lossy();
        [
            PathBuf::from(format!("{name}.md")),
            PathBuf::from(format!("{name}.markdown")),
        ]
    });
    let folder = (!has_extension)
        .then_some(named.to_owned())
        .or_else(|| markdown.then(|| named.with_extension("")));
    let bundle = folder.map(|f| [f.join("index.md"), f.join("_index.md")]);
    as_written
        .chain(others.into_iter().flatten())
        .chain(bundle.into_iter().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(paths: &[(&str, &str)]) -> References {
        let urls: HashMap<PathBuf, String> = paths
            .iter()
            .map(|(p, u)| (PathBuf::from(p), (*u).to_owned()))
            .collect();
        let mut by_name: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for path in urls.keys() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            by_name.entry(name).or_default().push(path.clone());
        }
        References {
            urls,
            by_name,
            in_area: HashSet::new(),
        }
    }

    #[test]
    fn a_page_in_an_area_is_named_from_inside_it_only() {
        let mut refs = references(&[
            ("members/a.md", "/members/a.gmi"),
            ("members/b.md", "/members/b.gmi"),
            ("posts/x.md", "/posts/x.gmi"),
        ]);
        refs.in_area = ["members/a.md", "members/b.md"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let inside = Path::new("members/b.md");
        assert_eq!(
            refs.resolve(inside, "@/a.md"),
            Some(Resolved::Url("/members/a.gmi".into()))
        );
        let outside = Path::new("posts/x.md");
        assert_eq!(refs.resolve(outside, "@/a.md"), Some(Resolved::InArea));
        assert_eq!(refs.resolve(outside, "@/members/a"), Some(Resolved::InArea));
        assert_eq!(
            refs.resolve(inside, "@/x"),
            Some(Resolved::Url("/posts/x.gmi".into()))
        );
    }

    #[test]
    fn references_are_looked_for_from_the_root_posts_the_page_then_by_ending() {
        let refs = references(&[
            ("posts/a.md", "/posts/a.gmi"),
            ("posts/b/index.md", "/posts/b/"),
            ("posts/2020/c.md", "/posts/2020/c.gmi"),
            ("about.md", "/about.gmi"),
            (
                "posts/_posts/2010-07-21-name.md",
                "/posts/2010-07-21-name.gmi",
            ),
            ("posts/x/same.md", "/posts/x/same.gmi"),
            ("posts/y/same.md", "/posts/y/same.gmi"),
        ]);
        let from = Path::new("posts/2020/d.md");
        let url = |s: &str| Some(Resolved::Url(s.to_owned()));
        assert_eq!(refs.resolve(from, "@/about.md"), url("/about.gmi"));
        assert_eq!(refs.resolve(from, "@/a.md#part"), url("/posts/a.gmi"));
        assert_eq!(refs.resolve(from, "@/posts/a"), url("/posts/a.gmi"));
        assert_eq!(refs.resolve(from, "@/b"), url("/posts/b/"));
        // A post that became a bundle is still found by its old file name.
        assert_eq!(refs.resolve(from, "@/b.md"), url("/posts/b/"));
        assert_eq!(refs.resolve(from, "@/posts/b.markdown"), url("/posts/b/"));
        assert_eq!(refs.resolve(from, "@/b.gmi"), Some(Resolved::Missing));
        assert_eq!(refs.resolve(from, "@/c.md"), url("/posts/2020/c.gmi"));
        assert_eq!(
            refs.resolve(from, "@/2010-07-21-name"),
            url("/posts/2010-07-21-name.gmi")
        );
        assert_eq!(refs.resolve(from, "@/nope.md"), Some(Resolved::Missing));
        assert_eq!(
            refs.resolve(from, "@/same.md"),
            Some(Resolved::Ambiguous(vec![
                "posts/x/same.md".into(),
                "posts/y/same.md".into()
            ]))
        );
        assert_eq!(refs.resolve(from, "x/same"), None);
        assert_eq!(refs.resolve(from, "@/"), Some(Resolved::Missing));
    }
}
