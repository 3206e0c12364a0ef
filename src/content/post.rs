//! A post's metadata: the front-matter keys authors write, in YAML or TOML, and the fallbacks
//! that fill what they leave out (title from the first heading, then the file name; date from a
//! `YYYY-MM-DD-` file-name prefix, then the file's modification time).
//!
//! Problems that do not stop a post from being published (a `part` without a `series`, an
//! unknown `series_role`) are returned as warnings beside the metadata, so both the server's log
//! and `gemhole check` can report them.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::markdown::title_from_file_stem;

/// The front-matter keys of a post, as written. Unknown keys are allowed (other tools' metadata
/// must not break a post) and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawMeta {
    pub title: Option<String>,
    pub date: Option<DateText>,
    pub updated: Option<DateText>,
    pub draft: Option<bool>,
    /// `published: false` is the other common way to say draft.
    pub published: Option<bool>,
    pub series: Option<OneOrMany>,
    pub part: Option<u32>,
    pub series_part: Option<u32>,
    pub series_index: Option<u32>,
    pub series_weight: Option<u32>,
    pub series_role: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Option<OneOrMany>,
    pub lang: Option<String>,
    pub slug: Option<String>,
}

/// A date as written: a YAML string or a TOML date/datetime, checked when the post is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateText(pub String);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;

        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date such as 2024-03-11 or 2024-03-11T19:30:00+12:00")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<DateText, E> {
                Ok(DateText(s.to_owned()))
            }

            // TOML's native dates arrive as a one-entry map.
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateText, A::Error> {
                let datetime =
                    toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(DateText(datetime.to_string()))
            }
        }

        deserializer.deserialize_any(DateVisitor)
    }
}

/// A key that takes one string or a list of them (`tags: x` or `tags: [x, y]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// How a post belongs to its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeriesRole {
    Part,
    Supplement,
    SeeAlso,
}

/// A point in time with the offset the author wrote (dates alone are midnight UTC), so pages can
/// show the author's calendar day and feeds can convert to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PostDate(pub OffsetDateTime);

impl PostDate {
    /// Parses `YYYY-MM-DD`, or a date and time (`T` or a space between them) with an optional
    /// `Z`/`±hh:mm` offset (none means UTC).
    pub fn parse(text: &str) -> Result<PostDate, String> {
        let text = text.trim();
        if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(PostDate(t));
        }
        let normalised = text.replacen(' ', "T", 1);
        if let Ok(t) = OffsetDateTime::parse(&normalised, &Rfc3339) {
            return Ok(PostDate(t));
        }
        let local_formats = [
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
            format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        ];
        for format in local_formats {
            if let Ok(t) = PrimitiveDateTime::parse(&normalised, format) {
                return Ok(PostDate(t.assume_utc()));
            }
        }
        if let Ok(d) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
            return Ok(PostDate(d.midnight().assume_utc()));
        }
        Err(format!(
            "invalid date `{text}`: expected YYYY-MM-DD or an RFC 3339 date-time such as \
             2024-03-11T19:30:00+12:00"
        ))
    }

    /// The author's calendar day, `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        let d = self.0.date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// RFC 3339 in UTC, for Atom.
    pub fn rfc3339_utc(&self) -> String {
        self.0
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap_or_default()
    }
}

/// What the file system says about a post, for the fallbacks.
#[derive(Debug, Clone)]
pub struct FileFacts<'a> {
    /// The file name without its extension.
    pub stem: &'a str,
    pub modified: OffsetDateTime,
}

/// A post's metadata with every fallback applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostMeta {
    pub title: String,
    pub date: PostDate,
    pub updated: PostDate,
    pub draft: bool,
    pub series: Option<String>,
    pub part: Option<u32>,
    pub role: SeriesRole,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub lang: Option<String>,
    pub slug: String,
}

/// A problem with a post's metadata; `fatal` ones keep the post from being published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProblem {
    pub fatal: bool,
    pub message: String,
    /// The front-matter key whose value is wrong, so the report can name its line.
    pub key: &'static str,
}

impl PostMeta {
    /// Applies the fallbacks to what the author wrote. `heading` is the text of the body's
    /// first level-1 heading, if any.
    pub fn resolve(
        raw: RawMeta,
        file: &FileFacts<'_>,
        heading: Option<&str>,
    ) -> (PostMeta, Vec<MetaProblem>) {
        let (part, part_key) = part_of(&raw);
        let mut problems = Vec::new();
        let mut warn = |fatal, key: &'static str, message: String| {
            problems.push(MetaProblem {
                fatal,
                message,
                key,
            })
        };

        let (prefix_date, rest_of_stem) = split_date_prefix(file.stem);
        let title = non_empty(raw.title)
            .or_else(|| heading.map(str::to_owned))
            .unwrap_or_else(|| title_from_file_stem(file.stem));

        let mut parse_date = |key: &'static str, text: Option<DateText>| match text {
            Some(DateText(text)) => match PostDate::parse(&text) {
                Ok(date) => Some(date),
                Err(e) => {
                    warn(false, key, format!("`{key}`: {e}"));
                    None
                }
            },
            None => None,
        };
        let written_date = parse_date("date", raw.date);
        let updated = parse_date("updated", raw.updated);
        let date = written_date
            .or(prefix_date)
            .unwrap_or(PostDate(file.modified));

        let series = raw
            .series
            .and_then(|s| s.into_vec().into_iter().find_map(|s| non_empty(Some(s))));
        if part.is_some() && series.is_none() {
            warn(
                false,
                part_key,
                format!("`{part_key}` is set but `series` is not"),
            );
        }
        let role = match raw.series_role.as_deref().map(str::trim) {
            None => {
                if part.is_some() || series.is_none() {
                    SeriesRole::Part
                } else {
                    SeriesRole::Supplement
                }
            }
            Some("part") => SeriesRole::Part,
            Some("supplement") => SeriesRole::Supplement,
            Some("see-also" | "see_also" | "seealso") => SeriesRole::SeeAlso,
            Some(other) => {
                warn(
                    false,
                    "series_role",
                    format!(
                        "unknown `series_role` `{other}`: expected `part`, `supplement` or \
                         `see-also` (treated as `part`)"
                    ),
                );
                SeriesRole::Part
            }
        };
        let slug = match non_empty(raw.slug) {
            Some(slug) if is_valid_slug(&slug) => slug,
            Some(slug) => {
                warn(
                    true,
                    "slug",
                    format!(
                        "`slug` `{slug}` may only hold letters, digits, `-`, `_` and `.` and \
                         must not start with `.`"
                    ),
                );
                rest_of_stem.to_owned()
            }
            None => rest_of_stem.to_owned(),
        };
        let meta = PostMeta {
            title,
            date,
            updated: updated.unwrap_or(date),
            draft: raw.draft.unwrap_or(false) || raw.published == Some(false),
            series,
            part,
            role,
            summary: non_empty(raw.summary).or_else(|| non_empty(raw.description)),
            tags: raw
                .tags
                .map(OneOrMany::into_vec)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| non_empty(Some(t)))
                .collect(),
            lang: non_empty(raw.lang),
            slug,
        };
        (meta, problems)
    }
}

/// The keys that number a post within its series, in the order they are looked at.
pub const PART_KEYS: [&str; 4] = ["part", "series_part", "series_index", "series_weight"];

/// A post's part number, and the key it was written under (`part` when none is set).
pub fn part_of(raw: &RawMeta) -> (Option<u32>, &'static str) {
    let values = [
        raw.part,
        raw.series_part,
        raw.series_index,
        raw.series_weight,
    ];
    PART_KEYS
        .iter()
        .zip(values)
        .find_map(|(key, value)| value.map(|v| (Some(v), *key)))
        .unwrap_or((None, PART_KEYS[0]))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `2024-03-11-knots` → (that date, `knots`); anything else → (None, the whole stem).
fn split_date_prefix(stem: &str) -> (Option<PostDate>, &str) {
    match (stem.get(..10), stem.get(10..11), stem.get(11..)) {
        (Some(date), Some("-" | "_"), Some(rest)) if !rest.is_empty() => {
            match PostDate::parse(date) {
                Ok(date) => (Some(date), rest),
                Err(_) => (None, stem),
            }
        }
        _ => (None, stem),
    }
}

/// A slug becomes a file name in URLs: no separators, no dot-files.
fn is_valid_slug(slug: &str) -> bool {
    !slug.starts_with('.')
        && slug
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::front_matter::split;

    fn raw(source: &str) -> RawMeta {
        split(source).unwrap().front.unwrap().parse().unwrap()
    }

    fn facts(stem: &str) -> FileFacts<'_> {
        FileFacts {
            stem,
            modified: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        }
    }

    #[test]
    fn yaml_and_toml_give_the_same_metadata() {
        let yaml = raw(
            "---\ntitle: Knots\ndate: 2024-03-11\nseries: Learning to Sail\npart: 2\n\
             tags: [sailing, knots]\nsummary: Six knots.\n---\n",
        );
        let toml = raw(
            "+++\ntitle = \"Knots\"\ndate = 2024-03-11\nseries = \"Learning to Sail\"\n\
             series_weight = 2\ntags = [\"sailing\", \"knots\"]\ndescription = \"Six knots.\"\n+++\n",
        );
        let (a, pa) = PostMeta::resolve(yaml, &facts("knots"), None);
        let (b, pb) = PostMeta::resolve(toml, &facts("knots"), None);
        assert!(pa.is_empty() && pb.is_empty(), "{pa:?} {pb:?}");
        assert_eq!(a, b);
        assert_eq!(a.date.day(), "2024-03-11");
        assert_eq!(a.part, Some(2));
        assert_eq!(a.role, SeriesRole::Part);
        assert_eq!(a.tags, vec!["sailing", "knots"]);
        assert_eq!(a.summary.as_deref(), Some("Six knots."));
    }

    #[test]
    fn dates_with_time_and_offset() {
        let d = PostDate::parse("2024-04-10T19:30:00+12:00").unwrap();
        assert_eq!(d.day(), "2024-04-10");
        assert_eq!(d.rfc3339_utc(), "2024-04-10T07:30:00Z");
        assert_eq!(
            PostDate::parse("2024-04-10 08:15").unwrap().rfc3339_utc(),
            "2024-04-10T08:15:00Z"
        );
        assert_eq!(
            PostDate::parse("2024-04-10").unwrap().rfc3339_utc(),
            "2024-04-10T00:00:00Z"
        );
        let toml = raw("+++\ndate = 2024-04-10T19:30:00+12:00\n+++\n");
        assert_eq!(
            toml.date,
            Some(DateText("2024-04-10T19:30:00+12:00".into()))
        );
        assert!(
            PostDate::parse("10/04/2024")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn fallbacks_title_date_slug() {
        let (m, p) = PostMeta::resolve(
            RawMeta::default(),
            &facts("2024-03-11-knots"),
            Some("Knots!"),
        );
        assert!(p.is_empty());
        assert_eq!(m.title, "Knots!");
        assert_eq!(m.date.day(), "2024-03-11");
        assert_eq!(m.slug, "knots");
        let (m, _) = PostMeta::resolve(RawMeta::default(), &facts("plain-name"), None);
        assert_eq!(m.title, "plain name");
        assert_eq!(m.date.0.unix_timestamp(), 1_700_000_000);
        assert_eq!(m.slug, "plain-name");
        assert_eq!(m.updated, m.date);
    }

    #[test]
    fn drafts_two_ways() {
        let (m, _) = PostMeta::resolve(raw("---\ndraft: true\n---\n"), &facts("a"), None);
        assert!(m.draft);
        let (m, _) = PostMeta::resolve(raw("---\npublished: false\n---\n"), &facts("a"), None);
        assert!(m.draft);
        let (m, _) = PostMeta::resolve(raw("---\npublished: true\n---\n"), &facts("a"), None);
        assert!(!m.draft);
    }

    #[test]
    fn series_roles_and_warnings() {
        let (m, p) = PostMeta::resolve(
            raw("---\nseries: [Sail, Other]\n---\n"),
            &facts("glossary"),
            None,
        );
        assert_eq!(m.series.as_deref(), Some("Sail"));
        assert_eq!(m.role, SeriesRole::Supplement);
        assert!(p.is_empty());
        let (m, _) = PostMeta::resolve(
            raw("---\nseries: Sail\nseries_role: see-also\n---\n"),
            &facts("x"),
            None,
        );
        assert_eq!(m.role, SeriesRole::SeeAlso);
        let (_, p) = PostMeta::resolve(raw("---\npart: 3\n---\n"), &facts("x"), None);
        assert!(p[0].message.contains("`series` is not"), "{p:?}");
        let (m, p) = PostMeta::resolve(
            raw("---\nseries: S\nseries_role: appendix\n---\n"),
            &facts("x"),
            None,
        );
        assert_eq!(m.role, SeriesRole::Part);
        assert!(
            p[0].message.contains("unknown `series_role` `appendix`"),
            "{p:?}"
        );
        assert!(!p[0].fatal);
    }

    #[test]
    fn bad_values_are_reported_not_fatal_except_slugs() {
        let (m, p) = PostMeta::resolve(
            raw("---\ndate: someday\n---\n"),
            &facts("2024-01-02-x"),
            None,
        );
        assert_eq!(m.date.day(), "2024-01-02");
        assert!(
            p[0].message.starts_with("`date`: invalid date `someday`"),
            "{p:?}"
        );
        let (m, p) = PostMeta::resolve(raw("---\nslug: ../etc\n---\n"), &facts("x"), None);
        assert_eq!(m.slug, "x");
        assert!(p[0].fatal);
    }

    #[test]
    fn wrong_types_are_front_matter_errors_with_lines() {
        let err = split("---\ntitle: ok\npart: three\n---\n")
            .unwrap()
            .front
            .unwrap()
            .parse::<RawMeta>()
            .unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let err = split("+++\ndraft = \"yes\"\n+++\n")
            .unwrap()
            .front
            .unwrap()
            .parse::<RawMeta>()
            .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}
