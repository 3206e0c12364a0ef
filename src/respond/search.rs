//! The search pages: a query as sent in a URL, and the page of results it asks for.

use super::Capsule;

/// A search query as sent in a URL: `+` and `%20` are spaces, `%XX` bytes (of UTF-8; what
/// is not UTF-8 becomes U+FFFD).
pub fn decode_query(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// `query` percent-encoded for a URL's query or a path segment: letters and digits stay.
pub fn encode_query(query: &str) -> String {
    percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// What the search page answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Searched {
    /// No query yet: ask for one.
    Prompt,
    /// A results page (gemtext).
    Page(String),
    /// A page number that is no page.
    NotFound,
}

impl Capsule {
    /// What the search page answers: page `page` (`None`: the first; else the segment after
    /// `/search/`) of the results for `query` (decoded), each page linked by `page_url`.
    pub fn search_page(
        &self,
        page: Option<&str>,
        query: &str,
        page_url: impl Fn(usize, &str) -> String,
    ) -> Searched {
        // One URL per page: `/search/2`, never `/search/02` or `/search/+2`.
        let page = match page {
            None => 1,
            Some(n) => match n.parse::<usize>() {
                Ok(p) if (1..=100_000).contains(&p) && p.to_string() == n => p,
                _ => return Searched::NotFound,
            },
        };
        // The words searched for, as shown and linked: what is not a word is left out.
        let words = crate::content::search::words(query);
        let query = words.as_str();
        if query.is_empty() {
            return Searched::Prompt;
        }
        let per_page = crate::views::search::PER_PAGE;
        let results = self.search.search(query, (page - 1) * per_page, per_page);
        if page > 1 && results.hits.is_empty() {
            return Searched::NotFound;
        }
        Searched::Page(crate::views::search::results(
            &self.layout,
            query,
            page,
            &results,
            |n| page_url(n, query),
        ))
    }
}
