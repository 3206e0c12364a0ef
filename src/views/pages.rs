//! Generated gemtext: the home page's sections, the archive, tags, series indexes, the list of
//! all series, and a post as served (for a post of a series, a header line under its title,
//! an "In this series" footer, previous/next). Each page with a template is made by it
//! ([`Layout::render`]) from values of the site ([`model`]); the small pages without one
//! (all series, drafts, moved) from the host's strings.
//!
//! Every list of posts is a gemfeed (`=> url YYYY-MM-DD Title`), so readers can subscribe to a
//! series page as it is. Links are root-relative, so pages work on any host and port.

use minijinja::context;
use minijinja::value::{Value, merge_maps};

use super::layout::{Layout, PageKind, placed};
use super::model::{self, Urls};
use crate::config::{HomeConfig, Strings};
use crate::content::site::Place;
use crate::content::{Post, Series, Site, Tag};
use crate::convert::gemtext::{Line, Writer};

/// The index page of one series: its name as the feed title, its span, then its parts in
/// reading order, its supplements and its see-also posts.
pub fn series_index(layout: &Layout, site: &Site, series: &Series) -> String {
    let description = series
        .description
        .as_deref()
        .map(|d| d.trim_matches('\n'))
        .filter(|d| !d.is_empty());
    let page = model::series_page(&layout.strings, site, series);
    // The author's text is a value of its own: it would not survive being serialised.
    let description_value = match description {
        Some(_) => placed("description"),
        None => Value::from(()),
    };
    let series_value = merge_maps([
        context! { description => description_value },
        model::value(&page),
    ]);
    layout.render(
        PageKind::Series,
        context! { series => series_value, urls => model::value(Urls::new()) },
        &[("description", description.unwrap_or(""))],
    )
}

/// The list of every series, with the number of parts in each.
pub fn all_series(layout: &Layout, site: &Site) -> String {
    let strings = &layout.strings;
    list_page(
        strings.text("series"),
        strings.text("no_series"),
        site.series.iter().map(|series| {
            let item = model::series_item(series);
            Line::Link {
                label: strings.count("series_count", item.count.into(), &[("series", &item.name)]),
                url: item.url,
            }
        }),
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

/// A post as served: its page's gemtext in the `post.gmi` template, with, for a post of a
/// series, a line under its title per series and a footer with the series' posts.
pub fn post_page(
    layout: &Layout,
    site: &Site,
    post: &Post,
    places: &[Place<'_>],
    gemtext: &str,
) -> String {
    let (heading, rest) = match gemtext.split_once('\n') {
        Some((heading, rest)) => (heading, rest.trim_start_matches('\n')),
        None => (gemtext, ""),
    };
    let strings = &layout.strings;
    let series: Vec<_> = places
        .iter()
        .map(|place| model::place_item(strings, site, place))
        .collect();
    let text = |name: &str, text: &str| {
        if text.is_empty() {
            Value::from("")
        } else {
            placed(name)
        }
    };
    layout.render(
        PageKind::Post,
        context! {
            post => model::value(model::post_item(strings, site, post, false)),
            series => model::value(&series),
            heading => text("heading", heading),
            rest => text("rest", rest),
            body => text("body", gemtext),
            urls => model::value(Urls::new()),
        },
        &[("heading", heading), ("rest", rest), ("body", gemtext)],
    )
}

/// Drafts and posts dated ahead, at the URL of their files: what an author previews.
pub fn drafts<'a>(
    layout: &Layout,
    drafts: impl Iterator<Item = &'a std::sync::Arc<Post>>,
) -> String {
    let strings = &layout.strings;
    list_page(
        strings.text("drafts"),
        strings.text("no_drafts"),
        drafts.map(|p| Line::Link {
            url: p.natural_url(),
            label: format!("{} {}", p.meta.date.day(), p.meta.title),
        }),
    )
}

/// A folder's listing (`list = true`): its path as the title, a link up, then its folders
/// and files, each file with its title where known, its size and the day it last changed.
pub fn listing(
    strings: &Strings,
    segments: &[String],
    listing: &crate::content::listing::Listing,
) -> String {
    let path: String = segments.iter().map(|s| format!("/{s}")).collect::<String>() + "/";
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: strings.format("listing_title", &[("path", &path)]),
    });
    w.push(Line::Blank);
    if let Some((_, up)) = segments.split_last() {
        let up: String = up
            .iter()
            .map(|s| format!("/{}", crate::convert::url::encode_path(s)))
            .collect();
        w.push(Line::Link {
            url: format!("{up}/"),
            label: strings.text("listing_parent").into(),
        });
    }
    for entry in &listing.entries {
        // Names are whoever wrote the files': no control character reaches a reader.
        let name = crate::convert::printable(&entry.name);
        let mut label = match &entry.title {
            Some(title) if title != &entry.name => {
                format!("{name} — {}", crate::convert::printable(title))
            }
            _ => name.into_owned(),
        };
        if let Some(size) = entry.size {
            label.push_str(&format!(" ({})", human_size(size)));
        }
        if let Some(day) = entry.modified.and_then(day_of) {
            label.push_str(&format!(" {day}"));
        }
        w.push(Line::Link {
            url: entry.url.clone(),
            label,
        });
    }
    if listing.left_out > 0 {
        w.push(Line::Text(format!("… (+{})", listing.left_out)));
    }
    w.finish()
}

/// A size as people read it: `512 B`, `1.5 KiB`, `12 MiB`.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// The day (UTC) a file last changed, `YYYY-MM-DD`.
fn day_of(time: std::time::SystemTime) -> Option<String> {
    let at = jiff::Timestamp::try_from(time).ok()?;
    Some(at.strftime("%Y-%m-%d").to_string())
}

/// The page that stands where a page moved, when no redirect can be sent: a static copy of a
/// former URL, or a `redirect_to` a web page, which many Gemini clients will not follow.
pub fn moved(strings: &Strings, target: &str) -> String {
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: strings.text("moved").into(),
    });
    w.push(Line::Text(strings.text("moved_to").into()));
    w.push(Line::Link {
        url: target.to_owned(),
        label: String::new(),
    });
    w.finish()
}

/// A draft's gemtext with the host's draft line under its title (its first line, when that is
/// a heading), else at its top.
pub fn marked_draft(strings: &Strings, gemtext: &str) -> String {
    let mark = format!("{}\n", strings.text("draft_line"));
    match gemtext.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => format!("{first}\n{mark}{rest}"),
        _ if gemtext.starts_with("# ") => format!("{gemtext}\n{mark}"),
        _ => format!("{mark}{gemtext}"),
    }
}

/// Posts as lists show them, marked when readers cannot see them yet.
fn listed<'a>(
    layout: &'a Layout,
    site: &'a Site,
    posts: impl Iterator<Item = &'a Post> + 'a,
) -> Vec<model::PostItem> {
    posts
        .map(|p| model::post_item(&layout.strings, site, p, true))
        .collect()
}

fn tag_items(site: &Site) -> Vec<model::TagItem> {
    site.tags
        .iter()
        .map(|(slug, tag)| model::tag_item(slug, tag))
        .collect()
}

/// Every published post, newest first: a gemfeed.
pub fn archive(layout: &Layout, site: &Site) -> String {
    let posts = listed(layout, site, site.posts.iter().map(|p| &**p));
    layout.render(
        PageKind::Archive,
        context! { posts => model::value(&posts), urls => model::value(Urls::new()) },
        &[],
    )
}

/// Every tag with the number of posts that carry it.
pub fn all_tags(layout: &Layout, site: &Site) -> String {
    layout.render(
        PageKind::Tags,
        context! { tags => model::value(tag_items(site)), urls => model::value(Urls::new()) },
        &[],
    )
}

/// The posts that carry one tag, newest first: a gemfeed.
pub fn tag_page(layout: &Layout, site: &Site, slug: &str, tag: &Tag) -> String {
    let posts = listed(layout, site, tag.posts.iter().map(|&i| &*site.posts[i]));
    let item = model::tag_item(slug, tag);
    layout.render(
        PageKind::Tag,
        context! {
            tag => context! { name => item.name, url => item.url, count => item.count, posts => model::value(&posts) },
            urls => model::value(Urls::new()),
        },
        &[],
    )
}

/// The home page: the author's text (or a title), then the generated sections that have
/// something to show. The recent posts keep the page a gemfeed.
pub fn home(
    layout: &Layout,
    site: &Site,
    author_text: Option<&str>,
    title: &str,
    sections: &HomeConfig,
) -> String {
    let mut out = String::new();
    if let Some(text) = author_text.filter(|t| !t.trim().is_empty()) {
        out.push_str(text.trim_end_matches('\n'));
        out.push('\n');
    }
    let recent = listed(
        layout,
        site,
        site.posts
            .iter()
            .take(sections.recent as usize)
            .map(|p| &**p),
    );
    let series: Vec<_> = site.series.iter().map(model::series_item).collect();
    let generated = layout.render(
        PageKind::Home,
        context! {
            title => title,
            text => !out.is_empty(),
            sections => context! {
                recent => sections.recent,
                series => sections.series,
                tags => sections.tags,
            },
            recent => model::value(&recent),
            series => model::value(&series),
            tags => model::value(tag_items(site)),
            urls => model::value(Urls::new()),
        },
        &[],
    );
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
