//! The URL space the capsule makes for itself, written and read in this one place: the home
//! page, the feeds, the archive, tags, series, drafts and search. The router, the views that
//! link to these pages, the Gemini and Gopher answers, the link check and `gemhole build` all
//! go through [`Route`], so a URL cannot be spelled one way where it is made and another
//! where it is answered.
//!
//! Everything else (a post, a page, a file) is the capsule folder's, and no route.

use super::url::encode_path;

/// One generated page of the capsule, by its URL. Slugs are as the site makes them (no `/`),
/// percent-encoded on the way out like every path the capsule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route<'a> {
    /// `/`
    Home,
    /// `/atom.xml`: the capsule's feed.
    Feed,
    /// `/robots.txt`, when the capsule has none of its own.
    Robots,
    /// `/archive/`
    Archive,
    /// `/drafts/`: what an author previews.
    Drafts,
    /// `/tags/`
    AllTags,
    /// `/tags/<slug>/`
    Tag(&'a str),
    /// `/series/`
    AllSeries,
    /// `/series/<slug>/`
    Series(&'a str),
    /// `/series/<slug>/atom.xml`
    SeriesFeed(&'a str),
    /// `/search` (the first page of results, or the prompt) and `/search/<n>`.
    Search(Option<&'a str>),
}

const FEED: &str = "atom.xml";
const ROBOTS: &str = "robots.txt";
const ARCHIVE: &str = "archive";
const DRAFTS: &str = "drafts";
const TAGS: &str = "tags";
const SERIES: &str = "series";
const SEARCH: &str = "search";

impl<'a> Route<'a> {
    /// The route at these path segments (decoded, as from a request), whichever form the
    /// path was sent in (`/archive` or `/archive/`: [`Route::is_folder`] says which is its
    /// own); `None` for every path the capsule folder answers instead.
    pub fn parse(segments: &'a [String]) -> Option<Route<'a>> {
        let s: Vec<&'a str> = segments.iter().map(String::as_str).collect();
        Some(match s.as_slice() {
            [] => Route::Home,
            [FEED] => Route::Feed,
            [ROBOTS] => Route::Robots,
            [ARCHIVE] => Route::Archive,
            [DRAFTS] => Route::Drafts,
            [TAGS] => Route::AllTags,
            [TAGS, tag] => Route::Tag(tag),
            [SERIES] => Route::AllSeries,
            [SERIES, slug] => Route::Series(slug),
            [SERIES, slug, FEED] => Route::SeriesFeed(slug),
            [SEARCH] => Route::Search(None),
            [SEARCH, page] => Route::Search(Some(page)),
            _ => return None,
        })
    }

    /// Whether its own URL ends with a slash (`/archive/`): the other form is redirected to
    /// it. Search is answered in the form it is asked (`/search/2/` is no page of results).
    pub fn is_folder(&self) -> bool {
        !matches!(
            self,
            Route::Feed | Route::Robots | Route::SeriesFeed(_) | Route::Search(_)
        )
    }

    /// Its path segments, decoded: what a request for it carries.
    pub fn segments(&self) -> Vec<String> {
        let names: &[&str] = match self {
            Route::Home => &[],
            Route::Feed => &[FEED],
            Route::Robots => &[ROBOTS],
            Route::Archive => &[ARCHIVE],
            Route::Drafts => &[DRAFTS],
            Route::AllTags => &[TAGS],
            Route::Tag(tag) => &[TAGS, tag],
            Route::AllSeries => &[SERIES],
            Route::Series(slug) => &[SERIES, slug],
            Route::SeriesFeed(slug) => &[SERIES, slug, FEED],
            Route::Search(None) => &[SEARCH],
            Route::Search(Some(page)) => &[SEARCH, page],
        };
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    /// Its root-relative URL, percent-encoded: what links to it say.
    pub fn url(&self) -> String {
        let mut url = String::from("/");
        for (i, segment) in self.segments().iter().enumerate() {
            if i > 0 {
                url.push('/');
            }
            url.push_str(&encode_path(segment));
        }
        if self.is_folder() && url.len() > 1 {
            url.push('/');
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_route_reads_back_from_its_own_url() {
        let routes = [
            Route::Home,
            Route::Feed,
            Route::Robots,
            Route::Archive,
            Route::Drafts,
            Route::AllTags,
            Route::Tag("c-plus-plus"),
            Route::AllSeries,
            Route::Series("learning-to-sail"),
            Route::SeriesFeed("learning-to-sail"),
            Route::Search(None),
            Route::Search(Some("2")),
        ];
        for route in routes {
            let url = route.url();
            let segments = segments(&url);
            assert_eq!(Route::parse(&segments), Some(route), "{url}");
            assert_eq!(route.segments(), segments, "{url}");
            assert_eq!(url.ends_with('/'), route.is_folder(), "{url}");
        }
    }

    #[test]
    fn urls_are_the_ones_readers_know() {
        assert_eq!(Route::Home.url(), "/");
        assert_eq!(Route::Feed.url(), "/atom.xml");
        assert_eq!(Route::Archive.url(), "/archive/");
        assert_eq!(Route::Drafts.url(), "/drafts/");
        assert_eq!(Route::Tag("rust").url(), "/tags/rust/");
        assert_eq!(Route::Series("sail").url(), "/series/sail/");
        assert_eq!(Route::SeriesFeed("sail").url(), "/series/sail/atom.xml");
        assert_eq!(Route::Search(None).url(), "/search");
        assert_eq!(Route::Search(Some("3")).url(), "/search/3");
        assert_eq!(Route::Tag("c#").url(), "/tags/c%23/");
    }

    #[test]
    fn other_paths_are_the_folders() {
        for path in [
            "/posts/x.gmi",
            "/tags/a/b",
            "/series/s/x",
            "/about.gmi",
            "/search/1/2",
        ] {
            assert_eq!(Route::parse(&segments(path)), None, "{path}");
        }
    }
}
