//! The search results page: a gemfeed-style link per hit, its snippet as a quote line, and
//! links to the other pages. The same gemtext makes the Gopher menu, with the page links
//! pointing at selectors instead.

use crate::content::search::Results;
use crate::convert::gemtext::{Line, Writer};
use crate::convert::route::Route;

use super::pages::post_link;

/// Results per page.
pub const PER_PAGE: usize = 10;

/// Longest part of a query echoed back in a heading, in characters.
const ECHO_CHARS: usize = 100;

/// The results page `page` (from 1) for `query` (its words, as
/// [`crate::content::search::words`] gives them); `page_url(n)` links page `n`.
pub fn results(
    query: &str,
    page: usize,
    results: &Results<'_>,
    page_url: impl Fn(usize) -> String,
) -> String {
    let shown = echo(query);
    let mut w = Writer::default();
    w.push(Line::Heading {
        level: 1,
        text: format!("Search: {shown}"),
    });
    w.push(Line::Blank);
    if results.total == 0 {
        w.push(Line::Text(format!("No post matches “{shown}”.")));
        w.push(Line::Blank);
        w.push(Line::Link {
            url: Route::AllTags.url(),
            label: "Browse the posts by tag".into(),
        });
        w.push(Line::Link {
            url: Route::Search(None).url(),
            label: "Search again".into(),
        });
        return w.finish();
    }
    let first = (page - 1) * PER_PAGE + 1;
    let last = first + results.hits.len() - 1;
    let posts = if results.total == 1 { "post" } else { "posts" };
    w.push(Line::Text(if results.every_word {
        format!("Showing {first}–{last} of {} {posts}.", results.total)
    } else {
        format!(
            "No post has every word; showing {first}–{last} of {} {posts} with some of them.",
            results.total
        )
    }));
    for hit in &results.hits {
        w.push(Line::Blank);
        w.push(post_link(hit.post));
        if !hit.snippet.is_empty() {
            w.push(Line::Quote(hit.snippet.clone()));
        }
    }
    w.push(Line::Blank);
    if last < results.total {
        w.push(Line::Link {
            url: page_url(page + 1),
            label: "Next page".into(),
        });
    }
    if page > 1 {
        w.push(Line::Link {
            url: page_url(page - 1),
            label: "Previous page".into(),
        });
    }
    w.push(Line::Link {
        url: Route::Search(None).url(),
        label: "New search".into(),
    });
    w.finish()
}

/// The words as shown back: at most [`ECHO_CHARS`] characters (they are one line already:
/// only the words of the query are kept).
fn echo(words: &str) -> String {
    match words.char_indices().nth(ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &words[..end]),
        None => words.to_owned(),
    }
}
