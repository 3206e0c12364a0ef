//! The search results page: a gemfeed-style link per hit, its snippet as a quote line, and
//! links to the other pages. The same gemtext makes the Gopher menu, with the page links
//! pointing at selectors instead.

use minijinja::context;

use super::layout::{Layout, PageKind};
use super::model::Urls;
use crate::content::search::Results;

/// Results per page.
pub const PER_PAGE: usize = 10;

/// Longest part of a query echoed back in a heading, in characters.
const ECHO_CHARS: usize = 100;

/// The results page `page` (from 1) for `query` (its words, as
/// [`crate::content::search::words`] gives them); `page_url(n)` links page `n`.
pub fn results(
    layout: &Layout,
    query: &str,
    page: usize,
    results: &Results<'_>,
    page_url: impl Fn(usize) -> String,
) -> String {
    let first = (page - 1) * PER_PAGE + 1;
    let last = (first + results.hits.len()).saturating_sub(1);
    let hits: Vec<_> = results
        .hits
        .iter()
        .map(|hit| {
            let post = hit.post;
            context! {
                url => post.url.clone(),
                label => format!("{} {}", post.meta.date.day(), post.meta.title),
                title => post.meta.title.clone(),
                date => post.meta.date.day(),
                snippet => hit.snippet.clone(),
            }
        })
        .collect();
    layout.render(
        PageKind::Search,
        context! {
            query => echo(query),
            page => page,
            total => results.total,
            first => first,
            last => last,
            every_word => results.every_word,
            hits => hits,
            next_url => (last < results.total).then(|| page_url(page + 1)),
            previous_url => (page > 1).then(|| page_url(page - 1)),
            urls => super::model::value(Urls::new()),
        },
        &[],
    )
}

/// The words as shown back: at most [`ECHO_CHARS`] characters (they are one line already:
/// only the words of the query are kept).
fn echo(words: &str) -> String {
    match words.char_indices().nth(ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &words[..end]),
        None => words.to_owned(),
    }
}
