//! Generated gemtext: series indexes, the list of all series, and the navigation a post of a
//! series carries (a header line under its title, an "In this series" footer, previous/next).
//!
//! Every list of posts is a gemfeed (`=> url YYYY-MM-DD Title`), so readers can subscribe to a
//! series page as it is. Links are root-relative, so pages work on any host and port.

use crate::config::HomeConfig;
use crate::content::post::SeriesRole;
use crate::content::series::Member;
use crate::content::site::{Place, Unpublished};
use crate::content::{Post, Series, Site, Tag};
use crate::convert::gemtext::{Line, Writer};
use crate::convert::route::Route;

fn dated_link(site: &Site, member: &Member, label: String) -> Line {
    Line::Link {
        url: site.url_of(&member.path).unwrap_or_default().to_owned(),
        label: format!("{} {label}{}", member.date.day(), mark(site, &member.path)),
    }
}

/// What a list says after a post readers cannot see yet, so an author's preview tells it
/// apart: " (draft)", " (scheduled for DATE)". Readers' lists never hold one: nothing.
fn mark(site: &Site, source: &std::path::Path) -> String {
    match site.unpublished(source) {
        None => String::new(),
        Some(Unpublished::Draft) => " (draft)".to_owned(),
        Some(Unpublished::Scheduled(post)) => {
            format!(" (scheduled for {})", post.meta.date.day())
        }
    }
}

/// The index page of one series: its name as the feed title, its span, then its parts in
/// reading order, its supplements and its see-also posts.
pub fn series_index(site: &Site, series: &Series) -> String {
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: series.name.clone(),
    });
    let parts = &series.members.parts;
    if let (Some(first), Some(last)) = (
        parts.iter().map(|m| m.date).min(),
        parts.iter().map(|m| m.date).max(),
    ) {
        let count = match series.members.count() {
            1 => "One part".to_owned(),
            n => format!("{n} parts"),
        };
        let span = if first.day() == last.day() {
            first.day()
        } else {
            format!("{} to {}", first.day(), last.day())
        };
        w.push(Line::Heading {
            level: 2,
            text: format!("{count}, {span}"),
        });
    }
    if let Some(description) = &series.description {
        w.push_gemtext(description);
    }
    let sections: [(&str, &Vec<Member>); 3] = [
        ("Parts", parts),
        ("Supplement", &series.members.supplements),
        ("See also", &series.members.see_also),
    ];
    for (title, members) in sections {
        if members.is_empty() {
            continue;
        }
        w.push(Line::Blank);
        w.push(Line::Heading {
            level: 3,
            text: title.into(),
        });
        for member in members {
            let label = if title == "Parts" {
                member.part_label(&series.name)
            } else {
                member.title.clone()
            };
            w.push(dated_link(site, member, label));
        }
    }
    w.push(Line::Blank);
    w.push(Line::Link {
        url: Route::SeriesFeed(&series.slug).url(),
        label: "Atom feed of this series".into(),
    });
    w.push(Line::Link {
        url: Route::AllSeries.url(),
        label: "All series".into(),
    });
    w.finish()
}

/// The list of every series, with the number of parts in each.
pub fn all_series(site: &Site) -> String {
    list_page(
        "Series",
        "No series yet.",
        site.series.iter().map(series_link),
    )
}

/// A page of one heading and a list of links (or a line saying there is nothing yet).
fn list_page(title: &str, empty: &str, items: impl Iterator<Item = Line>) -> String {
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: title.into(),
    });
    w.push(Line::Blank);
    let mut any = false;
    for item in items {
        any = true;
        w.push(item);
    }
    if !any {
        w.push(Line::Text(empty.into()));
    }
    w.finish()
}

/// `=> /series/<slug>/ Name (N parts)`
fn series_link(series: &Series) -> Line {
    let parts = series.members.count();
    Line::Link {
        url: Route::Series(&series.slug).url(),
        label: format!(
            "{} ({parts} part{})",
            series.name,
            if parts == 1 { "" } else { "s" }
        ),
    }
}

/// `=> /tags/<slug>/ Tag (N)`
fn tag_link(slug: &str, tag: &Tag) -> Line {
    Line::Link {
        url: Route::Tag(slug).url(),
        label: format!("{} ({})", tag.name, tag.posts.len()),
    }
}

/// The header lines put under a series post's title: one per series it belongs to.
pub fn post_header(places: &[Place<'_>], date: &str) -> String {
    let mut w = Writer::default();
    for place in places {
        let series = place.series;
        let text = match place.role {
            SeriesRole::Part => format!(
                "Part {} of {} in “{}” · {date}",
                place_member(place).map_or(place.index as u32 + 1, |m| m.number),
                series.members.count(),
                series.name
            ),
            SeriesRole::Supplement => format!("A supplement to “{}” · {date}", series.name),
            SeriesRole::SeeAlso => format!("Related to “{}” · {date}", series.name),
        };
        w.push(Line::Text(text));
        w.push(Line::Link {
            url: Route::Series(&series.slug).url(),
            label: if places.len() == 1 {
                "Series index".into()
            } else {
                format!("Index of “{}”", series.name)
            },
        });
    }
    w.finish()
}

/// The post a place points at.
fn place_member<'a>(place: &Place<'a>) -> Option<&'a Member> {
    let members = &place.series.members;
    match place.role {
        SeriesRole::Part => members.parts.get(place.index),
        SeriesRole::Supplement => members.supplements.get(place.index),
        SeriesRole::SeeAlso => members.see_also.get(place.index),
    }
}

/// The "In this series" footer, once per series the post belongs to: every post of the
/// series (this one as plain text) and, for a part, the previous and next parts in reading
/// order.
pub fn post_footer(site: &Site, places: &[Place<'_>]) -> String {
    let mut out = String::new();
    for place in places {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&series_footer(site, place, places.len() > 1));
    }
    out
}

fn series_footer(site: &Site, place: &Place<'_>, several: bool) -> String {
    let series = place.series;
    let members = &series.members;
    let this = place_member(place);
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 2,
        text: if several {
            format!("In “{}”", series.name)
        } else {
            "In this series".into()
        },
    });
    let entries = members
        .parts
        .iter()
        .map(|m| (m, m.part_label(&series.name)))
        .chain(
            members
                .supplements
                .iter()
                .map(|m| (m, format!("Supplement: {}", m.title))),
        )
        .chain(
            members
                .see_also
                .iter()
                .map(|m| (m, format!("See also: {}", m.title))),
        );
    for (member, label) in entries {
        let label = label + &mark(site, &member.path);
        if Some(member) == this {
            w.push(Line::Text(format!("{label} (this post)")));
        } else if let Some(url) = site.url_of(&member.path) {
            w.push(Line::Link {
                url: url.to_owned(),
                label,
            });
        }
    }
    if place.role == SeriesRole::Part {
        let previous = place
            .index
            .checked_sub(1)
            .and_then(|i| members.parts.get(i));
        let next = members.parts.get(place.index + 1);
        if previous.is_some() || next.is_some() {
            w.push(Line::Blank);
        }
        for (member, arrow) in [(previous, "← Previous"), (next, "→ Next")] {
            if let Some(m) = member
                && let Some(url) = site.url_of(&m.path)
            {
                w.push(Line::Link {
                    url: url.to_owned(),
                    label: format!(
                        "{arrow}: {}{}",
                        m.part_label(&series.name),
                        mark(site, &m.path)
                    ),
                });
            }
        }
    }
    w.push(Line::Blank);
    w.push(Line::Link {
        url: Route::Series(&series.slug).url(),
        label: format!("All of “{}”", series.name),
    });
    w.finish()
}

/// Puts a series post's header under its first line (the title) and its footer at the end.
pub fn with_navigation(page: &str, header: &str, footer: &str) -> String {
    let (title, rest) = match page.split_once('\n') {
        Some((title, rest)) => (title, rest),
        None => (page, ""),
    };
    let rest = rest.trim_start_matches('\n');
    let mut out = String::with_capacity(page.len() + header.len() + footer.len() + 4);
    out.push_str(title);
    out.push('\n');
    out.push_str(header);
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
        if !rest.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(footer);
    out
}

/// The line under a draft's title, as its authors see it.
pub const DRAFT_MARK: &str = "Draft — not visible to readers";

/// Drafts and posts dated ahead, at the URL of their files: what an author previews.
pub fn drafts<'a>(drafts: impl Iterator<Item = &'a std::sync::Arc<Post>>) -> String {
    list_page(
        "Drafts",
        "No drafts: every post is published.",
        drafts.map(|p| Line::Link {
            url: p.natural_url(),
            label: format!("{} {}", p.meta.date.day(), p.meta.title),
        }),
    )
}

/// The page that stands where a page moved, when no redirect can be sent: a static copy of a
/// former URL, or a `redirect_to` a web page, which many Gemini clients will not follow.
pub fn moved(target: &str) -> String {
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: "Moved".into(),
    });
    w.push(Line::Text("This page is now at:".into()));
    w.push(Line::Link {
        url: target.to_owned(),
        label: String::new(),
    });
    w.finish()
}

/// A draft's gemtext with [`DRAFT_MARK`] under its title (its first line, when that is a
/// heading), else at its top.
pub fn marked_draft(gemtext: &str) -> String {
    let mark = format!("{DRAFT_MARK}\n");
    match gemtext.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => format!("{first}\n{mark}{rest}"),
        _ if gemtext.starts_with("# ") => format!("{gemtext}\n{mark}"),
        _ => format!("{mark}{gemtext}"),
    }
}

pub(super) fn post_link(post: &Post) -> Line {
    marked_link(post, "")
}

/// A post's link in one of the site's lists, marked when readers cannot see it yet.
fn listed_link(site: &Site, post: &Post) -> Line {
    marked_link(post, &mark(site, &post.source))
}

/// `=> url YYYY-MM-DD Title`, and `mark` after the title.
fn marked_link(post: &Post, mark: &str) -> Line {
    Line::Link {
        url: post.url.clone(),
        label: format!("{} {}{mark}", post.meta.date.day(), post.meta.title),
    }
}

/// Every published post, newest first: a gemfeed.
pub fn archive(site: &Site) -> String {
    list_page(
        "Archive",
        "No posts yet.",
        site.posts.iter().map(|p| listed_link(site, p)),
    )
}

/// Every tag with the number of posts that carry it.
pub fn all_tags(site: &Site) -> String {
    list_page(
        "Tags",
        "No tags yet.",
        site.tags.iter().map(|(slug, tag)| tag_link(slug, tag)),
    )
}

/// The posts that carry one tag, newest first: a gemfeed.
pub fn tag_page(site: &Site, tag: &Tag) -> String {
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: format!("Posts tagged “{}”", tag.name),
    });
    w.push(Line::Blank);
    for &i in &tag.posts {
        w.push(listed_link(site, &site.posts[i]));
    }
    w.push(Line::Blank);
    w.push(Line::Link {
        url: Route::AllTags.url(),
        label: "All tags".into(),
    });
    w.finish()
}

/// The home page: the author's text (or a title), then the generated sections that have
/// something to show. The recent posts keep the page a gemfeed.
pub fn home(site: &Site, author_text: Option<&str>, title: &str, sections: &HomeConfig) -> String {
    let mut w = Writer::default();
    let mut out = String::new();
    match author_text {
        Some(text) if !text.trim().is_empty() => {
            out.push_str(text.trim_end_matches('\n'));
            out.push('\n');
        }
        _ => w.push(Line::Heading {
            level: 1,
            text: title.into(),
        }),
    }
    if sections.recent > 0 && !site.posts.is_empty() {
        w.push(Line::Blank);
        w.push(Line::Heading {
            level: 2,
            text: "Recent posts".into(),
        });
        for post in site.posts.iter().take(sections.recent as usize) {
            w.push(listed_link(site, post));
        }
        w.push(Line::Link {
            url: Route::Archive.url(),
            label: "All posts".into(),
        });
        w.push(Line::Link {
            url: Route::Feed.url(),
            label: "Atom feed".into(),
        });
        w.push(Line::Link {
            url: Route::Search(None).url(),
            label: "Search this capsule".into(),
        });
    }
    if sections.series && !site.series.is_empty() {
        w.push(Line::Blank);
        w.push(Line::Heading {
            level: 2,
            text: "Series".into(),
        });
        for series in site.series.iter() {
            w.push(series_link(series));
        }
    }
    if sections.tags && !site.tags.is_empty() {
        w.push(Line::Blank);
        w.push(Line::Heading {
            level: 2,
            text: "Tags".into(),
        });
        for (slug, tag) in site.tags.iter() {
            w.push(tag_link(slug, tag));
        }
    }
    let generated = w.finish();
    if out.is_empty() {
        return generated;
    }
    // The author may place the generated part with a line of its own: `{{generated}}`.
    if let Some(at) = marker_line(&out) {
        let mut placed = String::with_capacity(out.len() + generated.len());
        placed.push_str(&out[..at.start]);
        placed.push_str(&generated);
        let rest = out[at.end..].trim_start_matches('\n');
        if !rest.is_empty() {
            placed.push('\n');
            placed.push_str(rest);
        }
        return placed;
    }
    if !generated.is_empty() {
        out.push('\n');
        out.push_str(&generated);
    }
    out
}

/// The line in the author's home text where the generated sections go.
pub const HOME_MARKER: &str = "{{generated}}";

/// The byte range of the marker line (with its line end), if the text has one.
fn marker_line(text: &str) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == HOME_MARKER {
            return Some(start..start + line.len());
        }
        start += line.len();
    }
    None
}
