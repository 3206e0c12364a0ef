//! What templates see of the site: plain values made for one rendering, read-only, with every
//! label already in the host's language (a part's "Part 3: Title", a draft's mark), so the
//! default templates stay short and an author's can use the parts they want.

use serde::Serialize;

use crate::config::Strings;
use crate::content::post::SeriesRole;
use crate::content::series::Member;
use crate::content::site::{Place, Unpublished};
use crate::content::{Post, Series, Site, Tag};
use crate::convert::route::Route;

/// A post in a list.
#[derive(Debug, Serialize)]
pub struct PostItem {
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub updated: String,
    pub url: String,
    pub summary: Option<String>,
    pub tags: Vec<String>,
    pub series: Vec<String>,
    pub part: Option<u32>,
    /// Shown before readers can see it (an author's preview).
    pub draft: bool,
    /// `YYYY-MM-DD Title`, marked when readers cannot see it yet: a gemfeed link's label.
    pub listed: String,
}

/// A tag with its page and its number of posts.
#[derive(Debug, Serialize)]
pub struct TagItem {
    pub name: String,
    pub url: String,
    pub count: usize,
}

/// A series in a list.
#[derive(Debug, Serialize)]
pub struct SeriesItem {
    pub name: String,
    pub url: String,
    pub feed_url: String,
    pub count: u32,
}

/// A post of a series, as its lists show it.
#[derive(Debug, Serialize)]
pub struct MemberItem {
    pub title: String,
    /// A part's "Part 3: Title" (else its title), marked when readers cannot see it yet.
    pub label: String,
    /// `YYYY-MM-DD label`: its line in the series index.
    pub listed: String,
    /// None when it is not served (yet).
    pub url: Option<String>,
    pub date: String,
    /// The number "Part N" uses (0 for supplements and see-also posts).
    pub number: u32,
    /// The post being shown.
    pub this: bool,
}

/// A series' index (its description, the author's text, is placed beside these values).
#[derive(Debug, Serialize)]
pub struct SeriesPage {
    pub name: String,
    pub url: String,
    pub feed_url: String,
    pub count: u32,
    /// The first and last parts' dates (`YYYY-MM-DD`), when it has parts.
    pub first: Option<String>,
    pub last: Option<String>,
    pub parts: Vec<MemberItem>,
    pub supplements: Vec<MemberItem>,
    pub see_also: Vec<MemberItem>,
}

/// A series a post belongs to, as the post's header and footer show it.
#[derive(Debug, Serialize)]
pub struct PlaceItem {
    pub name: String,
    pub url: String,
    /// `part`, `supplement` or `see_also`.
    pub role: &'static str,
    /// "Part N of M": N and M.
    pub number: u32,
    pub count: u32,
    /// Every post of the series (parts, then supplements, then see-also posts).
    pub entries: Vec<MemberItem>,
    pub previous: Option<MemberItem>,
    pub next: Option<MemberItem>,
}

/// The site's own pages' URLs.
#[derive(Debug, Serialize)]
pub struct Urls {
    pub home: String,
    pub archive: String,
    pub feed: String,
    pub search: String,
    pub tags: String,
    pub all_series: String,
}

impl Default for Urls {
    fn default() -> Self {
        Urls::new()
    }
}

impl Urls {
    pub fn new() -> Urls {
        Urls {
            home: "/".to_owned(),
            archive: Route::Archive.url(),
            feed: Route::Feed.url(),
            search: Route::Search(None).url(),
            tags: Route::AllTags.url(),
            all_series: Route::AllSeries.url(),
        }
    }
}

/// `label` marked as a list shows a post readers cannot see yet: `label (draft)`,
/// `label (scheduled for DATE)`; as it is for readers.
pub fn marked(strings: &Strings, site: &Site, source: &std::path::Path, label: &str) -> String {
    mark_with(strings, site.unpublished(source), label)
}

/// `label` marked for what `unpublished` says.
fn mark_with(strings: &Strings, unpublished: Option<Unpublished<'_>>, label: &str) -> String {
    match unpublished {
        None => label.to_owned(),
        Some(Unpublished::Draft) => strings.format("draft", &[("label", label)]),
        Some(Unpublished::Scheduled(post)) => strings.format(
            "scheduled",
            &[
                ("label", label),
                ("date", &strings.date(&post.meta.date.day())),
            ],
        ),
    }
}

/// A post as lists show it, marked when readers cannot see it yet (`mark` off: as found).
pub fn post_item(strings: &Strings, site: &Site, post: &Post, mark: bool) -> PostItem {
    let date = post.meta.date.day();
    let plain = format!("{date} {}", post.meta.title);
    PostItem {
        title: post.meta.title.clone(),
        updated: post.meta.updated.day(),
        url: post.url.clone(),
        summary: post.meta.summary.clone(),
        tags: post.meta.tags.clone(),
        series: post.meta.series.clone(),
        part: post.meta.part,
        draft: site.unpublished(&post.source).is_some(),
        listed: if mark {
            marked(strings, site, &post.source, &plain)
        } else {
            plain
        },
        date,
    }
}

pub fn tag_item(slug: &str, tag: &Tag) -> TagItem {
    TagItem {
        name: tag.name.clone(),
        url: Route::Tag(slug).url(),
        count: tag.posts.len(),
    }
}

pub fn series_item(series: &Series) -> SeriesItem {
    SeriesItem {
        name: series.name.clone(),
        url: Route::Series(&series.slug).url(),
        feed_url: Route::SeriesFeed(&series.slug).url(),
        count: series.members.count(),
    }
}

/// "Part N" or "Part N: rest", in the host's words. A title that already says "Part N" in
/// the host's language ("Teil 2: Die Spule") says it once.
pub fn part_label(strings: &Strings, series: &Series, member: &Member) -> String {
    let n = member.number.to_string();
    let said = strings.format("part", &[("n", &n)]);
    let rest = member.part_rest(&series.name, &said);
    if rest.is_empty() {
        strings.format("part", &[("n", &n)])
    } else {
        strings.format("part_titled", &[("n", &n), ("title", &rest)])
    }
}

/// A member with `label` (marked), for lists of a series.
fn member_item(
    strings: &Strings,
    site: &Site,
    member: &Member,
    label: &str,
    this: bool,
) -> MemberItem {
    let date = member.date.day();
    let unpublished = site.unpublished(&member.path);
    MemberItem {
        title: member.title.clone(),
        label: mark_with(strings, unpublished, label),
        listed: mark_with(strings, unpublished, &format!("{date} {label}")),
        url: site.url_of(&member.path).map(str::to_owned),
        date,
        number: member.number,
        this,
    }
}

/// A series' index page's values.
pub fn series_page(strings: &Strings, site: &Site, series: &Series) -> SeriesPage {
    let members = &series.members;
    let parts = &members.parts;
    let part = |m: &Member| member_item(strings, site, m, &part_label(strings, series, m), false);
    let titled = |m: &Member| member_item(strings, site, m, &m.title, false);
    SeriesPage {
        name: series.name.clone(),
        url: Route::Series(&series.slug).url(),
        feed_url: Route::SeriesFeed(&series.slug).url(),
        count: members.count(),
        first: parts.iter().map(|m| m.date).min().map(|d| d.day()),
        last: parts.iter().map(|m| m.date).max().map(|d| d.day()),
        parts: parts.iter().map(part).collect(),
        supplements: members.supplements.iter().map(titled).collect(),
        see_also: members.see_also.iter().map(titled).collect(),
    }
}

/// The post a place points at.
pub fn place_member<'a>(place: &Place<'a>) -> Option<&'a Member> {
    let members = &place.series.members;
    match place.role {
        SeriesRole::Part => members.parts.get(place.index),
        SeriesRole::Supplement => members.supplements.get(place.index),
        SeriesRole::SeeAlso => members.see_also.get(place.index),
    }
}

/// A series a post belongs to, with its entries, previous and next.
pub fn place_item(strings: &Strings, site: &Site, place: &Place<'_>) -> PlaceItem {
    let series = place.series;
    let members = &series.members;
    let this = place_member(place);
    let part = |m: &Member| part_label(strings, series, m);
    let entries = members
        .parts
        .iter()
        .map(|m| (m, part(m)))
        .chain(members.supplements.iter().map(|m| {
            (
                m,
                strings.format("supplement_entry", &[("title", &m.title)]),
            )
        }))
        .chain(
            members
                .see_also
                .iter()
                .map(|m| (m, strings.format("see_also_entry", &[("title", &m.title)]))),
        )
        .map(|(m, label)| member_item(strings, site, m, &label, Some(m) == this))
        .collect();
    let (previous, next) = if place.role == SeriesRole::Part {
        let previous = place
            .index
            .checked_sub(1)
            .and_then(|i| members.parts.get(i));
        let next = members.parts.get(place.index + 1);
        let item = |m: &Member| member_item(strings, site, m, &part(m), false);
        (
            previous
                .filter(|m| site.url_of(&m.path).is_some())
                .map(item),
            next.filter(|m| site.url_of(&m.path).is_some()).map(item),
        )
    } else {
        (None, None)
    };
    PlaceItem {
        name: series.name.clone(),
        url: Route::Series(&series.slug).url(),
        role: match place.role {
            SeriesRole::Part => "part",
            SeriesRole::Supplement => "supplement",
            SeriesRole::SeeAlso => "see_also",
        },
        number: this.map_or(place.index as u32 + 1, |m| m.number),
        count: members.count(),
        entries,
        previous,
        next,
    }
}

/// A value as templates see it.
pub fn value<T: Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}
