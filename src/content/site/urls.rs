//! The one place URLs are settled: which post holds which URL (the last holder keeps it, a
//! `slug` never takes a file's name), links to renamed posts rewritten, and URLs too long to
//! request reported.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::links::local_path;
use super::refs::{References, Resolved};
use super::{Holders, Site};
use crate::content::files::is_markdown;
use crate::content::markdown;
use crate::content::markdown::Text;
use crate::content::post::{Post, page_url};
use crate::content::problem::Problem;
use crate::convert::route::Route;

/// Gives each post its URL: the one its file name makes, or its `slug`'s. Two posts that ask
/// for one URL do not share it: the one that held it in the last snapshot (`held`) keeps it,
/// else the one named so, else the older (by date, then file name); the other gets an error
/// naming both. A post
/// renamed by a `slug` that loses is served at its file's own name; one that asks for its own
/// name and loses is not served (its source is returned, to be withheld). A slug may never
/// take the name of a file that is no post. A hand-written `.gmi` and its Markdown twin share
/// a name: the `.gmi` wins.
pub(super) fn settle_urls(
    scanned: Vec<Arc<Post>>,
    texts: &HashMap<PathBuf, Text>,
    served: &HashSet<String>,
    held: &Holders,
    problems: &mut Vec<Problem>,
) -> (Vec<Arc<Post>>, Vec<PathBuf>) {
    let mut claims = one_file_per_name(scanned, problems);
    let natural_names: HashSet<String> = claims
        .iter()
        .filter(|p| !p.renamed)
        .map(|p| p.url.clone())
        .collect();
    claims.sort_by(|a, b| claim_order(a, b, held));
    let mut given = Given::default();
    let mut moved: Vec<(Arc<Post>, String)> = Vec::new();
    let mut unserved = Vec::new();
    for post in claims {
        let holder = file_holder(&post, texts, served, held, &natural_names)
            .or_else(|| given.holder(&post.url));
        match holder {
            None => given.give(post),
            Some(holder) if post.renamed => moved.push((post, holder)),
            Some(holder) => {
                problems.push(Problem {
                    path: post.source.clone(),
                    line: 1,
                    message: format!(
                        "{} would be served at {}, {holder}: a post keeps its URL, so this \
                         one is not served until one of them is renamed",
                        post.source.display(),
                        post.url
                    ),
                    error: true,
                });
                unserved.push(post.source.clone());
            }
        }
    }
    serve_lost_slugs(moved, &mut given, &mut unserved, problems);
    let mut all = given.all;
    // Back in path order, as the scan found them.
    all.sort_by(|a, b| a.source.cmp(&b.source));
    (all, unserved)
}

/// Twins first: one file per name. A hand-written `.gmi` beats its Markdown twin, else the
/// first found keeps the name; the other is reported and left out.
fn one_file_per_name(scanned: Vec<Arc<Post>>, problems: &mut Vec<Problem>) -> Vec<Arc<Post>> {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut claims: Vec<Arc<Post>> = Vec::new();
    for post in scanned {
        if post.renamed {
            claims.push(post);
            continue;
        }
        match by_name.get(&post.url) {
            Some(&earlier) => {
                let later_wins = is_markdown(&claims[earlier].source) && !is_markdown(&post.source);
                let (keep, drop) = if later_wins {
                    (post, claims[earlier].source.clone())
                } else {
                    (claims[earlier].clone(), post.source.clone())
                };
                problems.push(Problem {
                    path: drop.clone(),
                    line: 1,
                    message: format!(
                        "{} serves the same URL {}; {} is ignored",
                        keep.source.display(),
                        keep.url,
                        drop.display()
                    ),
                    error: false,
                });
                claims[earlier] = keep;
            }
            None => {
                by_name.insert(post.url.clone(), claims.len());
                claims.push(post);
            }
        }
    }
    claims
}

/// The holder first; else a file's own name before a slug, then the older post, then by
/// file name: the order in which claims on one URL are granted.
fn claim_order(a: &Post, b: &Post, held: &Holders) -> Ordering {
    let holds = |p: &Post| held.get(&p.url) == Some(&p.source);
    holds(b)
        .cmp(&holds(a))
        .then_with(|| a.renamed.cmp(&b.renamed))
        .then_with(|| a.meta.date.cmp(&b.meta.date))
        .then_with(|| a.source.cmp(&b.source))
}

/// The posts given a URL so far, and the URLs they hold, so a later claim finds its holder.
#[derive(Default)]
struct Given {
    by_url: HashMap<String, usize>,
    all: Vec<Arc<Post>>,
}

impl Given {
    /// Gives `post` the URL it asks for.
    fn give(&mut self, post: Arc<Post>) {
        self.by_url.insert(post.url.clone(), self.all.len());
        self.all.push(post);
    }

    /// Which post holds `url` already, and by what, as the problem tells it.
    fn holder(&self, url: &str) -> Option<String> {
        self.by_url.get(url).map(|&i| {
            let how = if self.all[i].renamed {
                "its `slug`"
            } else {
                "its name"
            };
            format!("which {} holds by {how}", self.all[i].source.display())
        })
    }
}

/// A file (or folder) of that name that is no post: it has the URL a `slug` asks for, unless
/// this post held it first (a folder made since does not take it).
fn file_holder(
    post: &Post,
    texts: &HashMap<PathBuf, Text>,
    served: &HashSet<String>,
    held: &Holders,
    natural_names: &HashSet<String>,
) -> Option<String> {
    let page = percent_decode_str(&post.url)
        .decode_utf8_lossy()
        .into_owned();
    let held_here = held.get(&post.url) == Some(&post.source);
    let named_by_file =
        post.renamed && !held_here && served.contains(&page) && !natural_names.contains(&post.url);
    if !named_by_file {
        return None;
    }
    let owner = Path::new(page.trim_start_matches('/'));
    let owner = [owner.to_owned(), owner.with_extension("md")]
        .into_iter()
        .find(|p| texts.contains_key(p))
        .unwrap_or_else(|| owner.to_owned());
    Some(format!("which {} has by its name", owner.display()))
}

/// A slug that lost is served at its file's own name, if that is free; else its post is not
/// served. Either way the author is told.
fn serve_lost_slugs(
    moved: Vec<(Arc<Post>, String)>,
    given: &mut Given,
    unserved: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
) {
    for (post, holder) in moved {
        let natural = post.natural_url();
        let free = !given.by_url.contains_key(&natural);
        problems.push(Problem {
            path: post.source.clone(),
            line: post.line("slug"),
            message: if free {
                format!(
                    "`slug` `{}` asks for {}, {holder}; this post is served at {natural} \
                     until its slug is changed",
                    post.meta.slug, post.url
                )
            } else {
                format!(
                    "`slug` `{}` asks for {}, {holder}, and its own name {natural} is held \
                     too: it is not served until its slug is changed",
                    post.meta.slug, post.url
                )
            },
            error: true,
        });
        if !free {
            unserved.push(post.source.clone());
            continue;
        }
        given.give(Arc::new(Post {
            url: natural,
            renamed: false,
            ..(*post).clone()
        }));
    }
}

/// Published posts renamed by a `slug`: the URL their file name gives → theirs. A name
/// another post holds (a hand-written twin) is left alone.
pub(super) fn renamed_posts(posts: &[Arc<Post>], drafts: &[Arc<Post>]) -> HashMap<String, String> {
    let renamed: Vec<&Arc<Post>> = posts.iter().filter(|p| p.renamed).collect();
    if renamed.is_empty() {
        return HashMap::new();
    }
    let held: HashSet<&str> = posts.iter().chain(drafts).map(|p| p.url.as_str()).collect();
    renamed
        .into_iter()
        .filter_map(|p| {
            let natural = p.natural_url();
            (!held.contains(natural.as_str())).then(|| (natural, p.url.clone()))
        })
        .collect()
}

/// The page with its links to a renamed post's file name (`[next](2024-03-11-knots.md)`)
/// pointed at its URL, so they hold in a static copy too, where the old name cannot redirect,
/// and its page references (`@/posts/x.md`) at the URL of the file they name (one that names
/// none is left as written: the link check tells it); `None` when it has none. Preformatted
/// blocks are left alone.
pub(super) fn rewrite_links(
    path: &Path,
    text: &Text,
    renamed: &HashMap<String, String>,
    references: Option<&References>,
) -> Option<Text> {
    let Text::Page(page) = text else {
        return None;
    };
    let page_url = page_url(&if is_markdown(path) {
        path.with_extension("gmi")
    } else {
        path.to_owned()
    });
    let mut changed = false;
    let mut preformatted = false;
    let mut out = String::with_capacity(page.gemtext.len());
    for line in page.gemtext.split_inclusive('\n') {
        if line.starts_with("```") {
            preformatted = !preformatted;
        }
        let rewritten = line
            .strip_prefix("=>")
            .filter(|_| !preformatted)
            .and_then(|rest| {
                let rest = rest.trim_start();
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let (target, label) = rest.split_at(end);
                if let Some(resolved) = references.and_then(|r| r.resolve(path, target)) {
                    // Gemtext has no fragments: the page is the target.
                    let Resolved::Url(url) = resolved else {
                        return None;
                    };
                    return Some(format!("=> {url}{label}"));
                }
                let new = renamed.get(&local_path(&page_url, target)?)?;
                // A query or fragment stays with the link.
                let suffix = target.find(['?', '#']).map_or("", |i| &target[i..]);
                Some(format!("=> {new}{suffix}{label}"))
            });
        match rewritten {
            Some(line) => {
                changed = true;
                out.push_str(&line);
            }
            None => out.push_str(line),
        }
    }
    changed.then(|| {
        Text::Page(Arc::new(markdown::Page {
            gemtext: out,
            ..(**page).clone()
        }))
    })
}

/// The longest path a page's URL may have: a Gemini request is at most 1024 bytes, and the
/// scheme and host take some (`gemini://` and a host of up to 100 bytes, say).
pub const MAX_PATH_BYTES: usize = 900;

/// Warns about pages listed at a URL too long for a reader to request (a long name in a
/// script whose letters take three bytes each, percent-encoded to nine).
pub(super) fn check_url_lengths(site: &Site, problems: &mut Vec<Problem>) {
    let mut warn = |path: &Path, line: usize, what: String, url: &str| {
        if url.len() > MAX_PATH_BYTES {
            problems.push(Problem {
                path: path.to_owned(),
                line,
                message: format!(
                    "{what} has a URL of {} bytes, too long for a Gemini request (1024 bytes in \
                     all): give it a shorter name",
                    url.len()
                ),
                error: false,
            });
        }
    };
    for post in &site.posts {
        warn(
            &post.source,
            post.line("slug"),
            "this post".into(),
            &post.url,
        );
    }
    for one in site.series.iter() {
        let url = Route::SeriesFeed(&one.slug).url();
        if let Some(first) = one
            .members
            .parts
            .iter()
            .chain(&one.members.supplements)
            .next()
        {
            warn(&first.path, 1, format!("series “{}”", one.name), &url);
        }
    }
    for (slug, tag) in site.tags.iter() {
        let url = Route::Tag(slug).url();
        if let Some(&i) = tag.posts.last() {
            let post = &site.posts[i];
            warn(
                &post.source,
                post.line("tags"),
                format!("tag “{}”", tag.name),
                &url,
            );
        }
    }
}
