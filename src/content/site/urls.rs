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
use crate::content::post::{Post, bundle_folder, page_url};
use crate::content::problem::Problem;
use crate::convert::redirect;
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

/// Published posts renamed by a `slug`: the URL their file name gives → theirs; and page
/// bundles: their file's page (`/posts/x/index.gmi`) → their folder. A name another post
/// holds (a hand-written twin) is left alone.
pub(super) fn renamed_posts(posts: &[Arc<Post>], drafts: &[Arc<Post>]) -> HashMap<String, String> {
    let renamed: Vec<(String, &Arc<Post>)> = posts
        .iter()
        .filter_map(|p| {
            if p.renamed {
                Some((p.natural_url(), p))
            } else {
                bundle_folder(&p.source).map(|_| (page_url(&p.source.with_extension("gmi")), p))
            }
        })
        .collect();
    if renamed.is_empty() {
        return HashMap::new();
    }
    let held: HashSet<&str> = posts.iter().chain(drafts).map(|p| p.url.as_str()).collect();
    renamed
        .into_iter()
        .filter(|(old, _)| !held.contains(old.as_str()))
        .map(|(old, p)| (old, p.url.clone()))
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
                    // A page of an area is not named at all from outside it (the author is
                    // told); any other reference that names no page stays as written.
                    let Resolved::Url(url) = resolved else {
                        return matches!(resolved, Resolved::InArea).then(String::new);
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

pub use crate::convert::url::MAX_PATH_BYTES;

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

/// A former URL of a post, answered with a redirect to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The post's URL.
    pub to: String,
    /// Whether its author wrote it (`aliases`, `redirect_from`, `url`, a bundle's `slug`),
    /// rather than a generator implying it: only those are written into a static copy.
    pub written: bool,
}

/// A post's claim on a former URL: the key ([`redirect::former_key`]), whether the author
/// wrote it, and the front-matter key it is written under.
struct Claim {
    key: String,
    written: bool,
    front_key: &'static str,
}

/// The URLs a post's generator would have given it, as readers may have linked them: Hugo's
/// folder URL (`/posts/x/`, and in lower case, as Hugo writes it), the `.html` page many
/// generators write (`/posts/x.html`), and for a Jekyll post (under a `_posts` folder) its
/// default permalink ([`jekyll_permalink`]); a bundle's folder URL last.
pub fn generator_urls(post: &Post) -> Vec<String> {
    let decoded = percent_decode_str(&post.natural_url())
        .decode_utf8_lossy()
        .into_owned();
    let mut urls = Vec::new();
    if let Some(stem) = decoded.strip_suffix(".gmi") {
        urls.push(format!("{stem}/"));
        urls.push(format!("{stem}.html"));
    }
    // Hugo writes its folder URLs in lower case (`Trim.md` at `/…/trim/`) unless told not to.
    let folder = urls.first().unwrap_or(&decoded);
    let lower = folder.to_lowercase();
    if folder.ends_with('/') && lower != *folder {
        urls.push(lower);
    }
    // A bundle's own folder, so its other spellings (`/posts/x.html`, `/posts/x/index.html`)
    // lead to it as a page's do.
    if decoded.ends_with('/') {
        urls.push(decoded.clone());
    }
    urls.extend(jekyll_permalink(post));
    urls
}

/// The one URL a post most likely had on the site it came from (decoded): the path its front
/// matter wrote (`url`, `path`, `permalink`, placeholders filled, relative to its folder),
/// else Jekyll's permalink for a post under `_posts`, else the folder URL Hugo and Zola give
/// (a bundle's is its URL here too). `None` for a written path that cannot be read.
pub fn generator_url(post: &Post) -> Option<String> {
    if let Some((path, _)) = &post.meta.path {
        let path = expand_path(post, path).ok()?;
        return Some(match path.strip_prefix('/') {
            Some(_) => path,
            None => format!("{}{path}", post_folder(post)),
        });
    }
    jekyll_permalink(post).or_else(|| generator_urls(post).into_iter().next())
}

/// Jekyll's default permalink for a post under a `_posts` folder
/// (`/:categories/:year/:month/:day/:title.html`; categories are the folders above `_posts`
/// and, when the post writes `categories`, its tags, which those are read as).
fn jekyll_permalink(post: &Post) -> Option<String> {
    let names: Vec<&str> = post.source.iter().filter_map(|n| n.to_str()).collect();
    let at = names.iter().position(|n| *n == "_posts")?;
    // The folders above `_posts`, but for the capsule's own `posts/` it was copied into.
    let above = names.get(..at).unwrap_or_default();
    let above = above
        .strip_prefix(&[crate::content::POSTS_DIR])
        .unwrap_or(above);
    let mut categories: Vec<String> = above.iter().map(|n| (*n).to_owned()).collect();
    if post.lines.line("categories").is_some() {
        categories.extend(post.meta.tags.iter().cloned());
    }
    Some(redirect::jekyll_url(
        &categories,
        &post.meta.date.day(),
        &post.meta.slug,
    ))
}

/// The former URLs of each published public post (drafts', withheld and members-only
/// posts' are never answered), by key. A former URL is only taken where nothing else is:
/// a file, a folder's index or another post keeps its URL, and an author who wrote that
/// alias is told. Two posts writing one alias: the older keeps it and the author is warned of
/// both (both publish); what a generator implied yields quietly to anything written.
pub(super) fn settle_former_urls(
    site: &Site,
    folders: &HashSet<String>,
    problems: &mut Vec<Problem>,
) -> HashMap<String, Moved> {
    let held = held_keys(site, folders);
    let mut by_age: Vec<&Arc<Post>> = site.posts.iter().collect();
    by_age.sort_by(|a, b| {
        a.meta
            .date
            .cmp(&b.meta.date)
            .then_with(|| a.source.cmp(&b.source))
    });
    // Each post's claims read once, so a refused one is told once.
    let mut claims: Vec<(&Post, Vec<Claim>)> = by_age
        .iter()
        .map(|post| (&***post, former_claims(post, problems)))
        .collect();
    let mut moved: HashMap<String, (Moved, &Post)> = HashMap::new();
    for written in [true, false] {
        for (post, claims) in &mut claims {
            for claim in claims.extract_if(.., |c| c.written == written) {
                take_claim(post, claim, &held, &mut moved, problems);
            }
        }
    }
    moved.into_iter().map(|(k, (m, _))| (k, m)).collect()
}

/// Gives `post` the former URL it claims, unless a page or an earlier claim holds it.
fn take_claim<'a>(
    post: &'a Post,
    claim: Claim,
    held: &HashMap<String, Option<&Path>>,
    moved: &mut HashMap<String, (Moved, &'a Post)>,
    problems: &mut Vec<Problem>,
) {
    let mut warn = |message: String, error: bool| {
        if claim.written {
            problems.push(Problem {
                path: post.source.clone(),
                line: post.line(claim.front_key),
                message,
                error,
            });
        }
    };
    match held.get(&claim.key) {
        Some(Some(owner)) if *owner == post.source => {}
        Some(owner) => {
            let what = owner.map_or("a file or folder of the capsule".to_owned(), |o| {
                o.display().to_string()
            });
            return warn(
                format!(
                    "`{}` names {}, which {what} serves: the page keeps it, and it does not \
                     redirect here",
                    claim.front_key, claim.key
                ),
                false,
            );
        }
        None => {}
    }
    match moved.get(&claim.key) {
        Some((earlier, _)) if earlier.to == post.url => {}
        Some((earlier, holder)) if earlier.written || !claim.written => {
            let holder = holder.source.display().to_string();
            warn(
                format!(
                    "{} is a former URL of both {holder} and {}: {holder}, the older, keeps \
                     it; remove it from one of them",
                    claim.key,
                    post.source.display()
                ),
                false,
            );
        }
        _ => {
            let to = Moved {
                to: post.url.clone(),
                written: claim.written,
            };
            moved.insert(claim.key, (to, post));
        }
    }
}

/// The former URLs a post claims: those its author wrote (each checked, a refused one
/// reported at its line), then those its generator implied.
fn former_claims(post: &Post, problems: &mut Vec<Problem>) -> Vec<Claim> {
    let folder = post_folder(post);
    let mut written: Vec<(String, &'static str)> = Vec::new();
    let alias_key = ["aliases", "redirect_from"]
        .into_iter()
        .find(|k| post.lines.line(k).is_some())
        .unwrap_or("aliases");
    written.extend(post.meta.aliases.iter().map(|a| (a.clone(), alias_key)));
    if let Some((path, key)) = &post.meta.path {
        match expand_path(post, path) {
            Ok(path) => written.push((path, key)),
            Err(why) => problems.push(refused(post, key, path, why)),
        }
    }
    if let Some(folder) = bundle_folder(&post.source).and_then(Path::parent)
        && post.lines.line("slug").is_some()
    {
        let parent = percent_decode_str(&page_url(folder))
            .decode_utf8_lossy()
            .into_owned();
        written.push((format!("{parent}/{}/", post.meta.slug), "slug"));
    }
    let mut claims = Vec::new();
    for (text, front_key) in written {
        match redirect::former_url(&folder, &text) {
            Ok(key) => claims.push(Claim {
                key,
                written: true,
                front_key,
            }),
            Err(why) => problems.push(refused(post, front_key, &text, why)),
        }
    }
    claims.extend(generator_urls(post).into_iter().filter_map(|url| {
        Some(Claim {
            key: redirect::former_url("/", &url).ok()?,
            written: false,
            front_key: "",
        })
    }));
    claims
}

/// A `url`, `path` or `permalink` as a path: Jekyll's placeholders filled.
fn expand_path(post: &Post, path: &str) -> Result<String, redirect::Refusal> {
    if !path.contains(':') || redirect::redirect_target("/", path).is_err() {
        return Ok(path.to_owned());
    }
    redirect::expand_permalink(
        path,
        &post.meta.tags,
        &post.meta.date.day(),
        &post.meta.slug,
    )
}

/// The warning for a former URL that cannot be taken.
fn refused(post: &Post, key: &str, written: &str, why: &str) -> Problem {
    Problem {
        path: post.source.clone(),
        line: post.line(key),
        message: format!("`{key}` `{written}` is not taken: {why}"),
        error: false,
    }
}

/// The decoded URL of the folder a post is written in (`/posts/`; a bundle's own folder),
/// against which its relative aliases are read.
fn post_folder(post: &Post) -> String {
    let folder = post.source.parent().unwrap_or(Path::new(""));
    let url = percent_decode_str(&page_url(folder))
        .decode_utf8_lossy()
        .into_owned();
    format!("{}/", url.trim_end_matches('/'))
}

/// The key of every path something answers: the files and folder indexes of the capsule
/// (`None`: no post), and every post's URLs (drafts' and members-only ones too).
fn held_keys<'a>(site: &'a Site, folders: &HashSet<String>) -> HashMap<String, Option<&'a Path>> {
    let segments = |path: &str| -> Option<String> {
        let decoded = percent_decode_str(path).decode_utf8_lossy().into_owned();
        redirect::former_key(&decoded.split('/').collect::<Vec<_>>())
    };
    let mut held: HashMap<String, Option<&Path>> = site
        .served
        .iter()
        .filter(|path| !folders.contains(*path))
        .filter_map(|path| Some((segments(path)?, None)))
        .collect();
    for post in site.all_posts() {
        for url in [&post.url, &post.natural_url()] {
            if let Some(key) = segments(url) {
                held.insert(key, Some(post.source.as_path()));
            }
        }
    }
    held
}

/// How many redirects a loop is followed through: past that, readers' clients give up anyway.
const MAX_HOPS: usize = 8;

/// The pages whose `redirect_to` leads back to them, each told at its `redirect_to` line:
/// they are served as they are, since a redirect there would send readers round for ever.
pub(super) fn redirect_loops(site: &Site, problems: &mut Vec<Problem>) -> HashSet<PathBuf> {
    let mut looped: Vec<&PathBuf> = site
        .texts
        .keys()
        .filter(|source| site.redirect_of(source).is_some() && leads_back(site, source))
        .collect();
    looped.sort();
    for source in &looped {
        let redirect = site.redirect_of(source).unwrap_or_default();
        problems.push(Problem {
            path: (*source).clone(),
            line: site.post(source).map_or(1, |p| p.line("redirect_to")),
            message: format!(
                "`redirect_to` `{redirect}` leads back to this page (by itself, or through \
                 other redirects and former URLs): it is not followed, and the page is served \
                 as it is"
            ),
            error: false,
        });
    }
    looped.into_iter().cloned().collect()
}

/// Whether following the redirects from the page made from `start`, as the server answers
/// them, comes back to it within [`MAX_HOPS`].
fn leads_back(site: &Site, start: &Path) -> bool {
    let mut at = start;
    for _ in 0..MAX_HOPS {
        let Some(redirect::Target::Gemini(url)) =
            site.redirect_of(at).map(redirect::Target::from_stored)
        else {
            return false;
        };
        // Only a path of this capsule leads on; a full URL leads elsewhere.
        let Some(path) = url.strip_prefix('/') else {
            return false;
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments = crate::convert::url::path_segments(path);
        let next = site.page_at(&segments, path.ends_with('/')).or_else(|| {
            let moved = site.moved_to(&segments)?;
            Some(site.post_by_url(&moved.to)?.source.as_path())
        });
        match next {
            Some(next) if next == start => return true,
            Some(next) => at = next,
            None => return false,
        }
    }
    false
}
