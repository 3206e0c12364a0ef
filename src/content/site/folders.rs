//! Folder series put into the posts: a post that names no series takes the one its folder's
//! section page (`_index.md`) opts into ([`FolderSeries`]), and that page's body is the
//! series' description when nothing else gives one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::content::markdown::{Page, Text};
use crate::content::post::{FolderSeries, PART_KEYS, Post, fold, section_page_of};
use crate::content::problem::Problem;
use crate::content::series::Series;
use crate::convert;

/// The post as its lists see it: with its folder's series when it names none itself. The same
/// `Arc` when the folder gives it nothing, so an unchanged post stays shared.
pub(super) fn with_folder_series(post: &Arc<Post>, texts: &HashMap<PathBuf, Text>) -> Arc<Post> {
    match folder_series(texts, &post.source) {
        Some((_, series)) if post.meta.series.is_empty() => {
            let mut post = (**post).clone();
            post.meta.series = vec![series.name.clone()];
            post.meta.series_slug = post.meta.series_slug.or_else(|| series.slug.clone());
            Arc::new(post)
        }
        _ => Arc::clone(post),
    }
}

/// The section page a post's folder has and the series it makes, if it makes one.
fn folder_series<'t>(
    texts: &'t HashMap<PathBuf, Text>,
    source: &Path,
) -> Option<(&'t Page, &'t FolderSeries)> {
    match texts.get(&section_page_of(source)?)? {
        Text::Page(page) => Some((page, page.series.as_ref()?)),
        _ => None,
    }
}

/// Whether a text is a section page that makes its folder a series: any edit to it may
/// rename the series, move posts into or out of it, or change its description.
pub(super) fn makes_series(text: Option<&Text>) -> bool {
    matches!(text, Some(Text::Page(page)) if page.series.is_some())
}

/// The description of a folder series: its section page's body (without its title), else its
/// `description`. Found through its parts' folders; `None` for a series no folder makes, or
/// when the section page is withheld (a draft's words stay unseen).
pub(super) fn folder_description(
    series: &Series,
    texts: &HashMap<PathBuf, Text>,
) -> Option<String> {
    let members = &series.members;
    let (page, made) = members
        .parts
        .iter()
        .chain(&members.supplements)
        .chain(&members.see_also)
        .filter_map(|m| folder_series(texts, &m.path))
        .find(|(_, made)| fold(&made.name) == fold(&series.name))?;
    if page.withheld.is_some() {
        return None;
    }
    let body = match page.gemtext.split_once('\n') {
        Some((first, rest)) if first.starts_with("# ") => rest,
        _ if page.gemtext.starts_with("# ") => "",
        _ => page.gemtext.as_str(),
    };
    Some(body.trim_matches('\n').to_owned())
        .filter(|b| !b.is_empty())
        .or_else(|| paragraph(made.description.as_deref()?))
}

/// Plain text (a description written in front matter or the config) as one gemtext
/// paragraph; `None` when it is blank.
pub(super) fn paragraph(text: &str) -> Option<String> {
    let mut w = convert::Writer::default();
    w.push(convert::Line::Text(text.trim().to_owned()));
    Some(w.finish().trim_end().to_owned()).filter(|t| !t.is_empty())
}

/// A part number on a post in no series (not even its folder's) orders nothing: told at the
/// key that gives it.
pub(super) fn report_numbers_without_series(posts: &[Arc<Post>], problems: &mut Vec<Problem>) {
    for post in posts
        .iter()
        .filter(|p| p.meta.part.is_some() && p.meta.series.is_empty())
    {
        let key = PART_KEYS
            .iter()
            .find(|k| post.lines.line(k).is_some())
            .unwrap_or(&PART_KEYS[0]);
        problems.push(Problem {
            path: post.source.clone(),
            line: post.part_line,
            message: format!("`{key}` is set but `series` is not"),
            error: false,
        });
    }
}
