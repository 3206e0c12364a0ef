//! Full-text search over the published posts of one snapshot: BM25F over title, tags (with the
//! series' names) and body text, every query word required, else any. Words are runs of
//! letters and digits, lower-cased; Chinese, Japanese and Korean runs become overlapping pairs
//! of characters, so `無線電` is found in a text that holds it without any dictionary.
//!
//! Small on purpose: each post keeps only its terms' hashes and counts (sorted, for binary
//! search), and a query looks at every post. At ten thousand posts that is a millisecond,
//! with no inverted index to rebuild: a post that did not change keeps its entry from the
//! last snapshot, so a reload re-reads only what changed.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use super::markdown::Page;
use super::markdown::Text;
use super::post::Post;
use super::site::Site;

/// Weight and length normalisation (BM25's `b`) of each field: title, tags, body.
const FIELDS: [(f32, f32); 3] = [(3.0, 0.3), (2.0, 0.3), (1.0, 0.75)];
/// BM25's term-frequency saturation.
const K1: f32 = 1.2;
/// Query words looked at; the rest of a longer query is ignored.
pub const MAX_QUERY_TERMS: usize = 32;
/// Characters of body text shown around a match.
const SNIPPET_CHARS: usize = 200;
/// Bytes of a post's text looked through for its snippet: a long post's first match is
/// usually early, and a hit must not cost in proportion to the post's size.
const SNIPPET_SCAN_BYTES: usize = 64 * 1024;
/// Longest query kept (its words, as [`words`] gives them), in bytes: its page links stay
/// well within a request line once encoded.
const MAX_WORDS_BYTES: usize = 200;

/// The index of one snapshot's published posts.
#[derive(Debug, Default)]
pub struct Index {
    docs: Vec<Doc>,
    /// Average length of each field, in terms.
    average: [f32; 3],
}

/// One post as the index keeps it.
#[derive(Debug)]
struct Doc {
    post: Arc<Post>,
    /// Its text as served (gemtext), for snippets; `None` for a page too large to hold.
    page: Option<Arc<Page>>,
    /// Shared with the next snapshot's index while the post does not change.
    fields: Arc<Fields>,
}

/// The low bits of a word of [`Fields`] hold a term's count; the rest, its hash.
const COUNT_MASK: u64 = 0xFFFF;

/// The terms of a post's three fields (title, tags, body) in one allocation: per field, one
/// word per term, sorted, each the term's [`hash`] with its count in the low bits. Ten
/// thousand posts hold hundreds of thousands of terms: no allocation or byte more than
/// needed.
#[derive(Debug, Default)]
struct Fields {
    words: Box<[u64]>,
    /// Where each field's words end.
    ends: [u32; 3],
    /// Each field's length, in terms.
    lens: [u32; 3],
}

impl Fields {
    fn of(texts: [&str; 3]) -> Fields {
        let mut words = Vec::new();
        let mut ends = [0u32; 3];
        let mut lens = [0u32; 3];
        for (f, text) in texts.into_iter().enumerate() {
            let mut counts: HashMap<u64, u16> = HashMap::new();
            each_term(text, |_, term| {
                lens[f] = lens[f].saturating_add(1);
                let n = counts.entry(hash(term)).or_default();
                *n = n.saturating_add(1);
            });
            let start = words.len();
            words.extend(counts.into_iter().map(|(term, n)| term | u64::from(n)));
            words[start..].sort_unstable();
            ends[f] = u32::try_from(words.len()).unwrap_or(u32::MAX);
        }
        Fields {
            words: words.into_boxed_slice(),
            ends,
            lens,
        }
    }

    /// How often `term` (a [`hash`]) is in field `f`.
    fn count(&self, f: usize, term: u64) -> u16 {
        let start = if f == 0 { 0 } else { self.ends[f - 1] as usize };
        let words = &self.words[start..self.ends[f] as usize];
        words
            .binary_search_by_key(&term, |w| w & !COUNT_MASK)
            .map_or(0, |i| (words[i] & COUNT_MASK) as u16)
    }

    /// Whether `term` is in any field.
    fn holds(&self, term: u64) -> bool {
        (0..3).any(|f| self.count(f, term) > 0)
    }
}

/// One post found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'a> {
    pub post: &'a Post,
    pub score: f32,
    /// One line of its text around the best match, the matched words in `[brackets]`; empty
    /// when only its title or tags matched and it has no text.
    pub snippet: String,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Results<'a> {
    /// The hits on the page asked for.
    pub hits: Vec<Hit<'a>>,
    /// How many posts matched in all.
    pub total: usize,
    /// Every query word was found in each hit; `false`: no post had them all, so these have
    /// any of them.
    pub every_word: bool,
}

impl Index {
    /// Indexes every published post of `site` (never drafts, posts dated ahead or posts of a
    /// client-certificate area, which the site keeps apart), taking the entries of posts that
    /// did not change from `previous`.
    pub fn build(site: &Site, previous: Option<&Index>) -> Index {
        // When the posts are listed as before (an edit to a post's text), each post's entry
        // is found at its own place, without a table of them all.
        let in_place = previous.filter(|p| {
            p.docs.len() == site.posts.len()
                && p.docs
                    .iter()
                    .zip(&site.posts)
                    .all(|(d, post)| d.post.source == post.source)
        });
        // An entry is kept only for the very same post (and page): found by its address.
        let kept: HashMap<usize, &Doc> = match (previous, in_place) {
            (Some(p), None) => p
                .docs
                .iter()
                .map(|d| (Arc::as_ptr(&d.post) as usize, d))
                .collect(),
            _ => HashMap::new(),
        };
        let make = |i: usize, post: &Arc<Post>| {
            let page = match site.text(&post.source) {
                Some(Text::Page(page)) => Some(Arc::clone(page)),
                _ => None,
            };
            let same = |d: &&&Doc| {
                Arc::ptr_eq(&d.post, post)
                    && match (&d.page, &page) {
                        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                        (None, None) => true,
                        _ => false,
                    }
            };
            let earlier = match in_place {
                Some(p) => Some(&p.docs[i]),
                None => kept.get(&(Arc::as_ptr(post) as usize)).copied(),
            };
            match earlier.as_ref().filter(same) {
                Some(doc) => Doc {
                    post: Arc::clone(post),
                    page,
                    fields: Arc::clone(&doc.fields),
                },
                None => Doc::of(post, page),
            }
        };
        // A first build indexes every post: on every core.
        let mut slots: Vec<(usize, Option<Doc>)> =
            (0..site.posts.len()).map(|i| (i, None)).collect();
        let per_thread = if previous.is_none() { 256 } else { usize::MAX };
        super::parallel::each(&mut slots, per_thread, |(i, doc)| {
            *doc = Some(make(*i, &site.posts[*i]));
        });
        let docs: Vec<Doc> = slots.into_iter().filter_map(|(_, doc)| doc).collect();
        let mut average = [0f32; 3];
        if !docs.is_empty() {
            for (f, avg) in average.iter_mut().enumerate() {
                let total: f64 = docs.iter().map(|d| f64::from(d.fields.lens[f])).sum();
                *avg = (total / docs.len() as f64).max(1.0) as f32;
            }
        }
        Index { docs, average }
    }

    /// How many posts it holds.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The posts that match `query`, best first, `per_page` from `offset`.
    pub fn search(&self, query: &str, offset: usize, per_page: usize) -> Results<'_> {
        let mut terms: Vec<u64> = Vec::new();
        each_term(query, |_, term| {
            let term = hash(term);
            if !terms.contains(&term) && terms.len() < MAX_QUERY_TERMS {
                terms.push(term);
            }
        });
        let none = Results {
            hits: Vec::new(),
            total: 0,
            every_word: true,
        };
        if terms.is_empty() {
            return none;
        }
        // Which terms each post holds (in any field), and in how many posts each term is.
        let mut found: Vec<(usize, u64)> = Vec::new();
        let mut in_docs = vec![0u32; terms.len()];
        for (d, doc) in self.docs.iter().enumerate() {
            let mut mask = 0u64;
            for (t, &term) in terms.iter().enumerate() {
                if doc.fields.holds(term) {
                    mask |= 1 << t;
                    in_docs[t] += 1;
                }
            }
            if mask != 0 {
                found.push((d, mask));
            }
        }
        let every = (1u64 << terms.len()) - 1;
        let every_word = found.iter().any(|&(_, mask)| mask == every);
        if every_word {
            found.retain(|&(_, mask)| mask == every);
        }
        let n = self.docs.len() as f32;
        let idf: Vec<f32> = in_docs
            .iter()
            .map(|&df| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln())
            .collect();
        let mut scored: Vec<(f32, &Doc)> = found
            .iter()
            .map(|&(d, _)| {
                let doc = &self.docs[d];
                (self.score(doc, &terms, &idf), doc)
            })
            .collect();
        // Best first; equal scores newest first, then by URL: one order for one content. Only
        // the hits up to the page asked for are put in order.
        let order = |(sa, a): &(f32, &Doc), (sb, b): &(f32, &Doc)| {
            sb.total_cmp(sa)
                .then_with(|| b.post.meta.date.cmp(&a.post.meta.date))
                .then_with(|| a.post.url.cmp(&b.post.url))
        };
        let total = scored.len();
        let wanted = offset.saturating_add(per_page).min(total);
        if wanted > 0 && wanted < total {
            scored.select_nth_unstable_by(wanted - 1, order);
            scored.truncate(wanted);
        }
        scored.sort_by(order);
        let hits = scored
            .into_iter()
            .skip(offset)
            .take(per_page)
            .map(|(score, doc)| Hit {
                post: &doc.post,
                score,
                snippet: doc
                    .page
                    .as_ref()
                    .map(|p| snippet(&p.gemtext, &terms))
                    .unwrap_or_default(),
            })
            .collect();
        Results {
            hits,
            total,
            every_word,
        }
    }

    fn score(&self, doc: &Doc, terms: &[u64], idf: &[f32]) -> f32 {
        let mut score = 0.0;
        for (f, &(weight, b)) in FIELDS.iter().enumerate() {
            let norm = 1.0 - b + b * doc.fields.lens[f] as f32 / self.average[f];
            for (t, &term) in terms.iter().enumerate() {
                let tf = f32::from(doc.fields.count(f, term));
                if tf > 0.0 {
                    score += weight * idf[t] * tf * (K1 + 1.0) / (tf + K1 * norm);
                }
            }
        }
        score
    }
}

impl Doc {
    fn of(post: &Arc<Post>, page: Option<Arc<Page>>) -> Doc {
        let meta = &post.meta;
        let labels = meta
            .tags
            .iter()
            .chain(&meta.series)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let body = page.as_ref().map(|p| prose(&p.gemtext)).unwrap_or_default();
        Doc {
            post: Arc::clone(post),
            page,
            fields: Arc::new(Fields::of([&meta.title, &labels, &body])),
        }
    }
}

/// The readable text of gemtext: link labels without their URLs, lines without their markers,
/// preformatted text as it is.
fn prose(gemtext: &str) -> String {
    let mut out = String::with_capacity(gemtext.len());
    for (_, line) in text_lines(gemtext) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The text of each line of gemtext, as [`prose`] takes it; `true` with a heading's.
fn text_lines(gemtext: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut pre = false;
    gemtext.lines().filter_map(move |line| {
        if line.starts_with("```") {
            pre = !pre;
            return None;
        }
        if pre {
            return Some((false, line));
        }
        let text = if let Some(link) = line.strip_prefix("=>") {
            let link = link.trim_start();
            link.split_once([' ', '\t']).map_or("", |(_, label)| label)
        } else {
            line.trim_start_matches(['#', '>', '*', ' '])
        };
        Some((line.starts_with('#'), text.trim()))
    })
}

/// Whether a character is written without spaces between words (Han, Kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
        | 0xFF66..=0xFF9F | 0x20000..=0x3134F)
}

/// Calls `found` with each term of `text` and the bytes it comes from: a run of letters and
/// digits, lower-cased; in a run of CJK characters each overlapping pair (a lone character by
/// itself).
pub fn each_term(text: &str, mut found: impl FnMut(Range<usize>, &str)) {
    let mut word = String::new();
    let mut word_start = 0;
    let mut cjk: Vec<(usize, char)> = Vec::new();
    let flush_cjk = |cjk: &mut Vec<(usize, char)>, found: &mut dyn FnMut(Range<usize>, &str)| {
        match cjk.as_slice() {
            [] => {}
            [(at, c)] => found(*at..*at + c.len_utf8(), &c.to_string()),
            pairs => {
                for pair in pairs.windows(2) {
                    let (at, a) = pair[0];
                    let (next, b) = pair[1];
                    let term: String = [a, b].iter().collect();
                    found(at..next + b.len_utf8(), &term);
                }
            }
        }
        cjk.clear();
    };
    let flush_word =
        |word: &mut String, start: usize, end: usize, found: &mut dyn FnMut(Range<usize>, &str)| {
            if !word.is_empty() {
                found(start..end, word);
                word.clear();
            }
        };
    for (at, c) in text.char_indices() {
        if is_cjk(c) {
            flush_word(&mut word, word_start, at, &mut found);
            if cjk
                .last()
                .is_some_and(|&(last, l)| last + l.len_utf8() != at)
            {
                flush_cjk(&mut cjk, &mut found);
            }
            cjk.push((at, c));
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut found);
            if word.is_empty() {
                word_start = at;
            }
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, word_start, at, &mut found);
            flush_cjk(&mut cjk, &mut found);
        }
    }
    flush_word(&mut word, word_start, text.len(), &mut found);
    flush_cjk(&mut cjk, &mut found);
}

/// The words of a query as searched for, shown and linked: its terms' text in order, each
/// once, separated by spaces, at most [`MAX_QUERY_TERMS`] of them and [`MAX_WORDS_BYTES`]
/// (longer words are left out); empty when it holds no word.
pub fn words(query: &str) -> String {
    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    each_term(query, |range, term| {
        let term = hash(term);
        if seen.len() >= MAX_QUERY_TERMS || seen.contains(&term) {
            return;
        }
        seen.push(term);
        match spans.last_mut() {
            // A CJK run's pairs overlap: one span.
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => spans.push(range),
        }
    });
    let mut out = String::new();
    for span in spans {
        let word = &query[span];
        if out.len() + 1 + word.len() > MAX_WORDS_BYTES {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A term's key: the same for the same term in every index of this build.
/// A term's hash: 48 bits, so a word of [`Fields`] holds its count beside it (that two of
/// the twenty thousand words of ten thousand posts share one is a chance under one in a
/// million).
fn hash(term: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    term.hash(&mut hasher);
    hasher.finish() & !COUNT_MASK
}

/// One line around the best match in a post's text, matched terms in `[brackets]`: the line
/// holding the most query terms, cut to about [`SNIPPET_CHARS`] around its first match.
/// Headings (the title first of all) are passed over: the result's link shows the title.
/// Whitespace is collapsed and control characters dropped, so it stays one line.
fn snippet(gemtext: &str, terms: &[u64]) -> String {
    let mut scanned = gemtext.len().min(SNIPPET_SCAN_BYTES);
    while !gemtext.is_char_boundary(scanned) {
        scanned -= 1;
    }
    let gemtext = &gemtext[..scanned];
    let text = || {
        text_lines(gemtext)
            .filter(|(heading, _)| !heading)
            .map(|(_, l)| l)
    };
    let mut best: Option<(usize, &str, usize)> = None;
    for line in text() {
        let mut matched: Vec<u64> = Vec::new();
        let mut first = None;
        each_term(line, |range, term| {
            let term = hash(term);
            if terms.contains(&term) {
                first.get_or_insert(range.start);
                if !matched.contains(&term) {
                    matched.push(term);
                }
            }
        });
        if let Some(first) = first
            && best.is_none_or(|(n, _, _)| matched.len() > n)
        {
            best = Some((matched.len(), line, first));
        }
    }
    let Some((_, line, first)) = best else {
        // Only the title or tags matched: the start of the text.
        let start = text().find(|l| !l.is_empty()).unwrap_or("");
        return one_line(&cut(start, 0), &[]);
    };
    // Some words before the match, then the rest of the window.
    let before = line[..first]
        .char_indices()
        .rev()
        .nth(SNIPPET_CHARS / 4)
        .map_or(0, |(at, _)| at);
    let start = line[..before]
        .rfind(char::is_whitespace)
        .map_or(before, |space| if before == 0 { 0 } else { space + 1 });
    let window = cut(line, start);
    let mut marks: Vec<Range<usize>> = Vec::new();
    each_term(&window, |range, term| {
        if terms.contains(&hash(term)) {
            match marks.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => marks.push(range),
            }
        }
    });
    one_line(&window, &marks)
}

/// `line` from byte `start`, at most [`SNIPPET_CHARS`] characters, with `…` where it is cut.
fn cut(line: &str, start: usize) -> String {
    let rest = &line[start..];
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    match rest.char_indices().nth(SNIPPET_CHARS) {
        Some((end, _)) => {
            let end = rest[..end].rfind(char::is_whitespace).unwrap_or(end);
            out.push_str(&rest[..end]);
            out.push('…');
        }
        None => out.push_str(rest),
    }
    out
}

/// The text with `[`/`]` around each marked range, on one line.
fn one_line(text: &str, marks: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len() + 2 * marks.len());
    let mut at = 0;
    for mark in marks {
        out.push_str(&text[at..mark.start]);
        out.push('[');
        out.push_str(&text[mark.clone()]);
        out.push(']');
        at = mark.end;
    }
    out.push_str(&text[at..]);
    let mut line = String::with_capacity(out.len());
    for word in out.split(|c: char| c.is_whitespace() || c.is_control()) {
        if !word.is_empty() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        each_term(text, |range, term| {
            out.push(term.to_owned());
            assert!(text.get(range).is_some());
        });
        out
    }

    #[test]
    fn words_are_lower_cased_runs_and_cjk_runs_become_pairs() {
        assert_eq!(terms("Crystal-Radio, 2024!"), ["crystal", "radio", "2024"]);
        assert_eq!(terms("Ärger über Öl"), ["ärger", "über", "öl"]);
        assert_eq!(
            terms("無線電の修理"),
            ["無線", "線電", "電の", "の修", "修理"]
        );
        assert_eq!(terms("a 無 b"), ["a", "無", "b"]);
        assert_eq!(terms("라디오 수리"), ["라디", "디오", "수리"]);
        assert_eq!(terms("x\u{0}y\n"), ["x", "y"]);
        assert!(terms("  ,.;  ").is_empty());
    }

    #[test]
    fn the_words_of_a_query_are_its_terms_text() {
        assert_eq!(words("  Crystal,  radio!! crystal "), "Crystal radio");
        assert_eq!(words("無線電の修理 x"), "無線電の修理 x");
        assert_eq!(words("\u{202e}%00 \u{0}"), "00");
        assert_eq!(words("\u{202e}\u{0} ,"), "");
        let many: String = (0..100).map(|i| format!("w{i} ")).collect();
        assert_eq!(words(&many).split(' ').count(), MAX_QUERY_TERMS);
        let long = format!("{} tail", "a".repeat(300));
        assert_eq!(words(&long), "tail");
        let cjk = "無線電修理".repeat(30);
        assert!(words(&cjk).len() <= MAX_WORDS_BYTES);
    }

    #[test]
    fn snippets_mark_matches_on_one_line_around_the_best_line() {
        let gemtext = "# Title\n\nNothing here.\n\n=> https://example.org A crystal link\n\
                       The crystal radio needs no battery, only a long wire.\n";
        let q: Vec<u64> = ["crystal", "radio"].iter().map(|t| hash(t)).collect();
        assert_eq!(
            snippet(gemtext, &q),
            "The [crystal] [radio] needs no battery, only a long wire."
        );
        let cjk = "無線電の修理をしました。\n";
        let q: Vec<u64> = ["無線", "線電"].iter().map(|t| hash(t)).collect();
        assert_eq!(snippet(cjk, &q), "[無線電]の修理をしました。");
        let long = format!("{} needle {}\n", "word ".repeat(100), "tail ".repeat(100));
        let s = snippet(&long, &[hash("needle")]);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("[needle]"),
            "{s}"
        );
        assert!(s.chars().count() <= SNIPPET_CHARS + 2, "{s}");
        // Only the start of a long text is looked through: a hit costs the same however long.
        let late = format!(
            "First line.\n{}needle\n",
            "filler\n".repeat(SNIPPET_SCAN_BYTES / 7)
        );
        assert_eq!(snippet(&late, &[hash("needle")]), "First line.");
    }
}
