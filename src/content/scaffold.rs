//! A new post's first draft (`gemhole new`): its file name, its front matter, and the next
//! free part of its series, so an author starts from a file that already reads as intended.

use std::path::{Path, PathBuf};

use super::series;
use super::site::{POSTS_DIR, Site};
use crate::disk::{self, Durability, FileMode};

/// What the author gives for a new post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: jiff::civil::Date,
    pub series: Option<String>,
    pub part: Option<u32>,
    pub tags: Vec<String>,
}

impl NewPost {
    /// Its file, relative to the capsule root: `posts/YYYY-MM-DD-<slug>.md`.
    pub fn file(&self) -> PathBuf {
        // The URL name series and tags get (`untitled` when nothing of the title is left),
        // short enough for a file name (255 bytes) with the date and `.md`.
        let mut slug = series::slug(&self.title);
        if slug.len() > MAX_SLUG_BYTES {
            let mut end = MAX_SLUG_BYTES;
            while !slug.is_char_boundary(end) {
                end -= 1;
            }
            slug.truncate(end);
            let kept = slug.trim_end_matches('-').len();
            slug.truncate(kept);
        }
        Path::new(POSTS_DIR).join(format!("{}-{slug}.md", self.date))
    }

    /// The Markdown it starts as: front matter (a draft) and an empty body.
    pub fn text(&self) -> String {
        let mut text = format!("---\ntitle: {}\ndate: {}\n", quoted(&self.title), self.date);
        if let Some(series) = &self.series {
            text.push_str(&format!("series: {}\n", quoted(series)));
            if let Some(part) = self.part {
                text.push_str(&format!("part: {part}\n"));
            }
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| quoted(t)).collect();
            text.push_str(&format!("tags: [{}]\n", tags.join(", ")));
        }
        text.push_str("draft: true\n---\n\n");
        text
    }
}

/// The longest slug in a new post's file name.
const MAX_SLUG_BYTES: usize = 200;

/// The part after the highest one any post of `series` has (drafts included), by the series'
/// URL name, so spelling and case do not matter, and by the names `aliases` gives it (former
/// names: `(name, its aliases)` from the config).
pub fn next_part<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
) -> u32 {
    members(site, series, aliases)
        .filter_map(|p| p.meta.part)
        .max()
        .map_or(1, |highest| highest.saturating_add(1))
}

/// The post (drafts included) that already has `part` of `series`, if any.
pub fn part_taken<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
    part: u32,
) -> Option<&'a Path> {
    members(site, series, aliases)
        .find(|p| p.meta.part == Some(part))
        .map(|p| p.source.as_path())
}

/// Every post of `series`, by its URL name or a name its aliases give it.
fn members<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
) -> impl Iterator<Item = &'a super::site::Post> {
    let mut names = vec![series::slug(series)];
    for (name, former) in aliases {
        let all: Vec<String> = std::iter::once(name)
            .chain(former.iter().map(String::as_str))
            .map(series::slug)
            .collect();
        if all.contains(&names[0]) {
            names.extend(all);
        }
    }
    site.all_posts().filter(move |p| {
        p.meta
            .series
            .iter()
            .any(|s| names.contains(&series::slug(s)))
    })
}

/// Writes `text` as a new file at `relative` below `root` (its folder made if missing), whole
/// and durable, with the permissions any new file gets; refuses to replace a file that is
/// there (`AlreadyExists`).
pub fn create(root: &Path, relative: &Path, text: &str) -> std::io::Result<()> {
    let path = root.join(relative);
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    std::fs::create_dir_all(folder)?;
    let folder = disk::open_root(folder)?;
    disk::create_new(
        &folder,
        name,
        text.as_bytes(),
        FileMode::Umasked(0o666),
        Durability::Synced,
    )
}

/// A YAML double-quoted string: whatever the text holds (`: `, `#`, quotes), it reads back
/// as itself.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> NewPost {
        NewPost {
            title: "Tuning: \"at\" Night #1".into(),
            date: jiff::civil::date(2026, 11, 28),
            series: Some("Crystal Radio".into()),
            part: Some(6),
            tags: vec!["radio".into(), "night sky".into()],
        }
    }

    #[test]
    fn the_file_is_dated_and_named_by_its_title() {
        assert_eq!(
            post().file(),
            Path::new("posts/2026-11-28-tuning-at-night-sharp-1.md")
        );
        let untitled = NewPost {
            title: "!!!".into(),
            ..post()
        };
        assert_eq!(untitled.file(), Path::new("posts/2026-11-28-untitled.md"));
    }

    #[test]
    fn front_matter_reads_back_as_written() {
        let text = post().text();
        assert!(
            text.starts_with("---\ntitle: \"Tuning: \\\"at\\\" Night #1\"\n"),
            "{text}"
        );
        assert!(
            text.contains("\nseries: \"Crystal Radio\"\npart: 6\n"),
            "{text}"
        );
        assert!(
            text.contains("\ntags: [\"radio\", \"night sky\"]\n"),
            "{text}"
        );
        assert!(text.ends_with("draft: true\n---\n\n"), "{text}");
        let read = crate::content::markdown::read(
            &text,
            "x",
            &crate::convert::Options::from(&crate::config::MarkdownConfig::default()),
        );
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert!(read.error.is_none());
    }
}
