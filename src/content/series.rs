//! Series: grouping posts by their `series` key and putting them in reading order.
//!
//! Order is `part` ascending; parts without a number follow the numbered ones; ties go to the
//! date, then the title, then the path. Never the date alone: authors publish part 4 before
//! part 3 often enough. Supplements and see-also posts are kept apart, each by date.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::post::{PostDate, PostMeta, SeriesRole};

/// What ordering needs to know about one post of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub path: PathBuf,
    pub title: String,
    pub date: PostDate,
    pub part: Option<u32>,
    pub role: SeriesRole,
    /// The line of its source file its part number is written on (1 when it has none).
    pub part_line: usize,
}

impl Member {
    pub fn of(path: &Path, meta: &PostMeta, part_line: usize) -> Member {
        Member {
            path: path.to_owned(),
            title: meta.title.clone(),
            date: meta.date,
            part: meta.part,
            role: meta.role,
            part_line,
        }
    }
}

/// Something about a series worth telling its author, at the file and line it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A series' posts in reading order, by role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ordered {
    pub parts: Vec<Member>,
    pub supplements: Vec<Member>,
    pub see_also: Vec<Member>,
    /// Problems worth telling the author (duplicate part numbers).
    pub warnings: Vec<Warning>,
}

/// Sorts the members of one series.
pub fn order(members: Vec<Member>) -> Ordered {
    let mut ordered = Ordered::default();
    for member in members {
        match member.role {
            SeriesRole::Part => ordered.parts.push(member),
            SeriesRole::Supplement => ordered.supplements.push(member),
            SeriesRole::SeeAlso => ordered.see_also.push(member),
        }
    }
    ordered.parts.sort_by(reading_order);
    ordered.supplements.sort_by(by_date);
    ordered.see_also.sort_by(by_date);
    for pair in ordered.parts.windows(2) {
        if let (Some(a), Some(b)) = (pair[0].part, pair[1].part)
            && a == b
        {
            ordered.warnings.push(Warning {
                path: pair[1].path.clone(),
                line: pair[1].part_line,
                message: format!(
                    "part {a} is used by both {} and {}",
                    pair[0].path.display(),
                    pair[1].path.display()
                ),
            });
        }
    }
    ordered
}

fn reading_order(a: &Member, b: &Member) -> Ordering {
    let numbered = |m: &Member| m.part.map_or((1, 0), |p| (0, p));
    numbered(a).cmp(&numbered(b)).then_with(|| by_date(a, b))
}

fn by_date(a: &Member, b: &Member) -> Ordering {
    a.date
        .cmp(&b.date)
        .then_with(|| a.title.cmp(&b.title))
        .then_with(|| a.path.cmp(&b.path))
}

/// The URL name of a series: lower case, each run of characters other than letters and digits
/// becomes one `-` (letters of any script are kept; they are percent-encoded in URLs).
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    }
    if out.is_empty() {
        "untitled".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, part: Option<u32>, day: &str, role: SeriesRole) -> Member {
        Member {
            path: PathBuf::from(format!("posts/{name}.md")),
            title: name.to_owned(),
            date: PostDate::parse(day).unwrap(),
            part,
            role,
            part_line: 3,
        }
    }

    #[test]
    fn parts_follow_their_numbers_not_their_dates() {
        let ordered = order(vec![
            member("wind", Some(3), "2024-03-29", SeriesRole::Part),
            member("home", Some(5), "2024-04-01", SeriesRole::Part),
            member("first", Some(1), "2024-03-04", SeriesRole::Part),
            member("tacking", Some(4), "2024-03-25", SeriesRole::Part),
            member("knots", Some(2), "2024-03-11", SeriesRole::Part),
            member("unnumbered-late", None, "2024-05-01", SeriesRole::Part),
            member("unnumbered-early", None, "2024-01-01", SeriesRole::Part),
            member("further", None, "2024-04-05", SeriesRole::SeeAlso),
            member("glossary", None, "2024-04-03", SeriesRole::Supplement),
            member("rigging", None, "2024-04-02", SeriesRole::Supplement),
        ]);
        let names = |v: &[Member]| v.iter().map(|m| m.title.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&ordered.parts),
            [
                "first",
                "knots",
                "wind",
                "tacking",
                "home",
                "unnumbered-early",
                "unnumbered-late"
            ]
        );
        assert_eq!(names(&ordered.supplements), ["rigging", "glossary"]);
        assert_eq!(names(&ordered.see_also), ["further"]);
        assert!(ordered.warnings.is_empty());
    }

    #[test]
    fn ties_go_to_date_then_title_then_path_and_duplicates_are_reported() {
        let ordered = order(vec![
            member("b", Some(2), "2024-01-02", SeriesRole::Part),
            member("a", Some(2), "2024-01-02", SeriesRole::Part),
            member("c", Some(2), "2024-01-01", SeriesRole::Part),
        ]);
        let names: Vec<_> = ordered.parts.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        assert_eq!(ordered.warnings.len(), 2);
        let first = &ordered.warnings[0];
        assert!(
            first.message.contains("part 2 is used by both"),
            "{first:?}"
        );
        // Named at the second post's `part` line.
        assert_eq!((first.path.to_str(), first.line), (Some("posts/a.md"), 3));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Learning to Sail"), "learning-to-sail");
        assert_eq!(slug("  C++ / Rust: notes!  "), "c-rust-notes");
        assert_eq!(slug("Ölfarben & Öl"), "ölfarben-öl");
        assert_eq!(slug("東京 日記"), "東京-日記");
        assert_eq!(slug("🚀🚀"), "untitled");
        assert_eq!(slug("../etc/passwd"), "etc-passwd");
    }
}
