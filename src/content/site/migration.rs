//! What a capsule holds from the generator it was moved from (Hugo, Zola, Jekyll), counted
//! from a snapshot when asked: `gemhole check` tells an author what a migration did, and what
//! it could not do, in a few lines.

use crate::content::files::CapsuleRoot;
use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use super::Site;
use super::refs::{References, Resolved};
use super::urls::generator_url;
use crate::content::files::is_section_page;
use crate::content::markdown::Text;
use crate::content::options::{in_jekyll_folder, served_as};
use crate::content::post::bundle_folder;
use crate::convert::shortcodes::ShortcodeCounts;
use crate::convert::url::PAGE_REFERENCE;

/// What a capsule holds from another generator. Counted over every text and post read,
/// withheld ones too (their shortcodes were converted all the same); the moved pages are the
/// published ones', the URLs readers may have linked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migration {
    /// Shortcodes and template tags converted and left out, by name, over every page.
    pub shortcodes: ShortcodeCounts,
    /// Page references (`@/…`, and Hugo's `ref`, Jekyll's `post_url` as converted) in posts
    /// that lead to the page they name.
    pub references_resolved: usize,
    /// Those that name no page, or several (each told by the link check at its line).
    pub references_unresolved: usize,
    /// Former URLs written in front matter (`aliases`, `redirect_from`, `url`, `permalink`,
    /// a bundle's `slug`) that answer with a redirect.
    pub former_urls: usize,
    /// Pages whose `redirect_to` sends readers elsewhere.
    pub redirect_pages: usize,
    /// Posts written as page bundles (`posts/x/index.md`).
    pub bundles: usize,
    /// Section pages (`_index.md`).
    pub sections: usize,
    /// Posts in Jekyll's `_posts/` or `_drafts/`.
    pub jekyll_posts: usize,
    /// Published posts whose URL is not the one their generator gave them, by source.
    pub moved: Vec<MovedPage>,
}

/// A published post served at another URL than its generator gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedPage {
    /// Its source, relative to the capsule root.
    pub source: PathBuf,
    /// The URL its generator gave it (decoded), as readers may have linked it.
    pub from: String,
    /// Its URL here (decoded).
    pub to: String,
    /// Whether `from` answers with a redirect to it; else readers' links to it are lost.
    pub redirected: bool,
}

impl Migration {
    /// Whether the capsule holds nothing another generator wrote: then there is nothing to
    /// tell (every post's URL differs from Hugo's, so the moved pages alone do not count).
    pub fn is_empty(&self) -> bool {
        self.shortcodes.is_empty()
            && self.references_resolved == 0
            && self.references_unresolved == 0
            && self.former_urls == 0
            && self.redirect_pages == 0
            && self.bundles == 0
            && self.sections == 0
            && self.jekyll_posts == 0
    }
}

impl Site {
    /// What the capsule holds from another generator: counted now, from the snapshot, as
    /// only `gemhole check` asks.
    pub fn migration(&self, capsule: &CapsuleRoot) -> Migration {
        let mut migration = Migration::default();
        for (path, text) in self.texts.iter() {
            migration.sections += usize::from(is_section_page(path));
            if let Text::Page(page) = text {
                if let Some(counts) = &page.shortcodes {
                    migration.shortcodes.add(counts);
                }
                migration.redirect_pages += usize::from(page.redirect.is_some());
            }
        }
        for post in self.all_posts() {
            migration.jekyll_posts += usize::from(in_jekyll_folder(&post.source));
            migration.bundles += usize::from(bundle_folder(&served_as(&post.source)).is_some());
        }
        migration.former_urls = self.moved.values().filter(|m| m.written).count();
        (
            migration.references_resolved,
            migration.references_unresolved,
        ) = self.references(capsule);
        migration.moved = self.moved_pages();
        migration
    }

    /// How many page references in posts lead to one page, and how many do not.
    fn references(&self, capsule: &CapsuleRoot) -> (usize, usize) {
        let is_reference = |target: &str| target.starts_with(PAGE_REFERENCE);
        let any = self
            .all_posts()
            .any(|p| p.links.iter().any(|l| is_reference(&l.target)));
        if !any {
            return (0, 0);
        }
        let references = References::new(self, capsule);
        let (mut resolved, mut unresolved) = (0, 0);
        for post in self.all_posts() {
            for link in &post.links {
                match references.resolve(&post.source, &link.target) {
                    Some(Resolved::Url(_)) => resolved += 1,
                    Some(_) => unresolved += 1,
                    None => {}
                }
            }
        }
        (resolved, unresolved)
    }

    /// The published posts served at another URL than their generator gave them, by source.
    fn moved_pages(&self) -> Vec<MovedPage> {
        let mut moved: Vec<MovedPage> = self
            .posts
            .iter()
            .filter_map(|post| {
                let from = generator_url(post)?;
                let to = percent_decode_str(&post.url)
                    .decode_utf8_lossy()
                    .into_owned();
                if from == to {
                    return None;
                }
                let segments: Vec<String> = from
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let redirected = self.moved_to(&segments).is_some_and(|m| m.to == post.url);
                Some(MovedPage {
                    source: post.source.clone(),
                    from,
                    to,
                    redirected,
                })
            })
            .collect();
        moved.sort_by(|a, b| a.source.cmp(&b.source));
        moved
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::build;
    use crate::content::files::CapsuleRoot;

    /// A capsule without areas, which is all the counts ask of it.
    fn no_areas() -> (tempfile::TempDir, CapsuleRoot) {
        let dir = tempfile::tempdir().unwrap();
        let capsule = CapsuleRoot::open(dir.path()).unwrap();
        (dir, capsule)
    }

    #[test]
    fn a_plain_capsule_holds_nothing_from_another_generator() {
        let (site, _) = build(&[
            ("posts/a.md", "---\ndate: 2024-01-01\n---\nA\n"),
            ("about.md", "# About\n"),
        ]);
        let (_dir, capsule) = no_areas();
        let migration = site.migration(&capsule);
        assert!(migration.is_empty(), "{migration:?}");
        // Its posts had other URLs under Hugo all the same, and they lead here.
        assert_eq!(migration.moved.len(), 1);
        assert_eq!(
            (
                migration.moved[0].from.as_str(),
                migration.moved[0].to.as_str()
            ),
            ("/posts/a/", "/posts/a.gmi")
        );
        assert!(migration.moved[0].redirected);
    }

    #[test]
    fn what_other_generators_wrote_is_counted() {
        let (site, _) = build(&[
            (
                "posts/a.md",
                "---\ndate: 2024-01-01\naliases: [/old/a/, /older/a.html]\n---\n\
                 {{< figure src=\"x.png\" >}}\n\n{{< figure src=\"y.png\" >}}\n\n\
                 {{< tabs >}}\n\n[b](@/posts/b/index.md) [none](@/posts/none.md)\n",
            ),
            ("posts/b/index.md", "---\ndate: 2024-01-02\n---\nB\n"),
            ("posts/_index.md", "---\nsort_by: date\n---\nAll\n"),
            ("_posts/2021-01-02-k.md", "K\n"),
            (
                "posts/c.md",
                "---\ndate: 2024-01-03\nurl: /2024/c/\n---\nC\n",
            ),
            ("old.md", "---\nredirect_to: /posts/c.gmi\n---\n"),
        ]);
        let (_dir, capsule) = no_areas();
        let m = site.migration(&capsule);
        assert_eq!(m.shortcodes.converted.get("figure"), Some(&2));
        assert_eq!(m.shortcodes.left.get("tabs"), Some(&1));
        assert_eq!((m.references_resolved, m.references_unresolved), (1, 1));
        // Two aliases and a `url`.
        assert_eq!(m.former_urls, 3);
        assert_eq!(
            (m.redirect_pages, m.bundles, m.sections, m.jekyll_posts),
            (1, 1, 1, 1)
        );
        let moved: Vec<(&Path, &str, &str, bool)> = m
            .moved
            .iter()
            .map(|p| (p.source.as_path(), &*p.from, &*p.to, p.redirected))
            .collect();
        assert_eq!(
            moved,
            [
                (
                    Path::new("_posts/2021-01-02-k.md"),
                    "/2021/01/02/k.html",
                    "/posts/2021-01-02-k.gmi",
                    true
                ),
                (Path::new("posts/a.md"), "/posts/a/", "/posts/a.gmi", true),
                (Path::new("posts/c.md"), "/2024/c/", "/posts/c.gmi", true),
            ]
        );
    }
}
