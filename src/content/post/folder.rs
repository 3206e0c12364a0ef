//! Folder series: a folder below `posts/` whose section page (`_index.md`) says `series`, so
//! an author who keeps a series as a folder (Hugo's and Zola's sections) need not name it in
//! every post. Every post directly in the folder, and every page bundle in it, belongs to that
//! series unless its own front matter names one.

use std::path::{Path, PathBuf};

use super::bundle_folder;
use super::meta::{MetaProblem, RawMeta, is_valid_slug, series_name, title_from_file_stem};
use crate::content::files::SECTION_FILE;
use crate::content::options::{POSTS_DIR, served_as};

/// The series a section page makes of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSeries {
    /// Its name, as [`series_name`] writes names.
    pub name: String,
    /// The URL name its `series_slug` pins, if valid.
    pub slug: Option<String>,
    /// The page's `description`, the series' description when the page has no body.
    pub description: Option<String>,
}

impl FolderSeries {
    /// The series the front matter of the section page at `page` (relative to the capsule
    /// root) opts its folder into: `series = true` (named by the page's `title`, else by the
    /// folder's name) or `series = "Name"`, at the top level or in `[extra]`/`params`. `None`
    /// when it does not, with what was wrong (keyed by the front-matter key, as a post's are).
    pub fn of_section(raw: &RawMeta, page: &Path) -> (Option<FolderSeries>, Vec<MetaProblem>) {
        let mut problems = Vec::new();
        let mut warn = |key: &str, message: String| {
            problems.push(MetaProblem {
                fatal: false,
                message,
                key: key.to_owned(),
            })
        };
        let folder = page.parent().unwrap_or(Path::new(""));
        let written = match raw.series_switch {
            Some(false) => None,
            Some(true) => raw.title.as_deref().and_then(series_name).or_else(|| {
                folder_name(folder).and_then(|n| series_name(&title_from_file_stem(n)))
            }),
            None => {
                if raw.series.len() > 1 {
                    warn(
                        "series",
                        format!(
                            "a folder is one series: `{}` names it, the other names are ignored",
                            raw.series[0]
                        ),
                    );
                }
                raw.series.first().and_then(|n| series_name(n))
            }
        };
        let Some(name) = written else {
            return (None, problems);
        };
        if served_as(folder) == Path::new(POSTS_DIR) || !served_as(folder).starts_with(POSTS_DIR) {
            warn(
                "series",
                "`series` is ignored here: only a folder below posts/ can be a series".into(),
            );
            return (None, problems);
        }
        let slug = raw.series_slug.as_deref().map(str::trim);
        let slug = match slug {
            Some(slug) if is_valid_slug(slug) => Some(slug.to_owned()),
            Some(slug) => {
                warn(
                    "series_slug",
                    format!(
                        "`series_slug` `{slug}` is ignored: it may only hold letters, digits, \
                         `-`, `_` and `.` and must not start with `.`"
                    ),
                );
                None
            }
            None => None,
        };
        let description = raw
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        (
            Some(FolderSeries {
                name,
                slug,
                description,
            }),
            problems,
        )
    }
}

/// The section page whose `series` a post's folder takes: `_index.md` beside it, or for a
/// page bundle (`posts/pi/x/index.md`) beside its folder.
pub fn section_page_of(source: &Path) -> Option<PathBuf> {
    let folder = bundle_folder(source).unwrap_or(source).parent()?;
    Some(folder.join(SECTION_FILE))
}

/// The last name of a folder, in any case readable.
fn folder_name(folder: &Path) -> Option<&str> {
    folder.file_name()?.to_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::front_matter::{Entries, split};

    fn section(source: &str, page: &str) -> (Option<FolderSeries>, Vec<MetaProblem>) {
        let block = split(source).unwrap().front.unwrap();
        let (raw, _) = RawMeta::from_entries(block.parse::<Entries>().unwrap());
        FolderSeries::of_section(&raw, Path::new(page))
    }

    fn name(source: &str) -> Option<String> {
        section(source, "posts/learning-pi/_index.md")
            .0
            .map(|s| s.name)
    }

    #[test]
    fn series_true_takes_the_title_else_the_folder_name() {
        assert_eq!(
            name("+++\ntitle = \"Pi by hand\"\nseries = true\n+++\n").as_deref(),
            Some("Pi by hand")
        );
        assert_eq!(
            name("---\nseries: true\n---\n").as_deref(),
            Some("learning pi")
        );
        assert_eq!(
            name("+++\ntitle = \"T\"\n[extra]\nseries = true\n+++\n").as_deref(),
            Some("T")
        );
    }

    #[test]
    fn a_named_series_in_extra_or_params_and_its_slug() {
        let (found, problems) = section(
            "+++\ntitle = \"T\"\n[extra]\nseries = \"Digits  of Pi\"\nseries_slug = \"pi\"\n+++\n",
            "posts/pi/_index.md",
        );
        let found = found.unwrap();
        assert_eq!(
            (found.name.as_str(), found.slug.as_deref()),
            ("Digits of Pi", Some("pi"))
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            name("---\nparams:\n  series: Hugo pi\n---\n").as_deref(),
            Some("Hugo pi")
        );
    }

    #[test]
    fn off_unless_asked_and_never_for_posts_itself() {
        assert_eq!(name("---\ntitle: Pi\n---\n"), None);
        assert_eq!(name("---\ntitle: Pi\nseries: false\n---\n"), None);
        let (found, problems) = section("---\nseries: true\n---\n", "posts/_index.md");
        assert_eq!(found, None);
        assert!(problems[0].message.contains("below posts/"), "{problems:?}");
    }

    #[test]
    fn one_name_per_folder_and_a_bad_slug_is_told() {
        let (found, problems) = section(
            "---\nseries: [A, B]\nseries_slug: \"../x\"\n---\n",
            "posts/a/_index.md",
        );
        let found = found.unwrap();
        assert_eq!((found.name.as_str(), found.slug), ("A", None));
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["series", "series_slug"]);
    }

    #[test]
    fn a_post_and_a_bundle_take_their_folders_section_page() {
        assert_eq!(
            section_page_of(Path::new("posts/pi/one.md")),
            Some(PathBuf::from("posts/pi/_index.md"))
        );
        assert_eq!(
            section_page_of(Path::new("posts/pi/two/index.md")),
            Some(PathBuf::from("posts/pi/_index.md"))
        );
    }
}
