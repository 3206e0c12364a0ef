//! The link check: links of published posts to capsule pages that do not exist or are
//! withheld, told in a few lines per post.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use super::Site;
use super::refs::{References, Resolved};
use crate::content::post::{Link, Post};
use crate::content::problem::Problem;
use crate::convert;

/// Withheld posts by both their URLs, looked up once per link.
pub(super) fn withheld_by_url(site: &Site) -> HashMap<String, &Post> {
    let mut withheld: HashMap<String, &Post> = HashMap::new();
    for post in &site.drafts {
        withheld.insert(post.natural_url(), post);
        withheld.insert(post.url.clone(), post);
    }
    withheld
}

/// Warnings about the links of `post` to capsule pages that do not exist (generated pages
/// count as existing) or are withheld.
pub(super) fn link_problems(
    site: &Site,
    withheld: &HashMap<String, &Post>,
    post: &Post,
    references: Option<&References>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for Link { target, line } in &post.links {
        let resolved = references.and_then(|r| r.resolve(&post.source, target));
        let target = match &resolved {
            None => target.as_str(),
            Some(Resolved::Url(url)) => url.as_str(),
            Some(unresolved) => {
                problems.push(Problem {
                    path: post.source.clone(),
                    line: *line,
                    message: unresolved_message(target, unresolved),
                    error: false,
                });
                continue;
            }
        };
        let Some(path) = local_path(&post.url, target) else {
            continue;
        };
        let Ok(decoded) = percent_decode_str(&path).decode_utf8() else {
            continue; // no file has such a name
        };
        let segments: Vec<String> = decoded
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let url = convert::url::encode_path(&decoded);
        if let Some(&withheld) = withheld.get(&url) {
            let (_, why) = site.withheld_reason(withheld);
            problems.push(Problem {
                path: post.source.clone(),
                line: *line,
                message: format!(
                    "link to {target}: {} is not published ({why}); readers get \
                     “not found”",
                    withheld.source.display()
                ),
                error: false,
            });
            continue;
        }
        let found = site.generated(&segments).is_some()
            || site.post_by_url(&url).is_some()
            || site.served.contains(decoded.as_ref());
        if !found {
            problems.push(Problem {
                path: post.source.clone(),
                line: *line,
                message: format!("link to {target}: no such page in the capsule"),
                error: false,
            });
        }
    }
    // One file's broken links are told in a few lines, not one per link: the rest are
    // counted in a last line.
    if problems.len() > MAX_LINK_PROBLEMS {
        let more = problems.len() - MAX_LINK_PROBLEMS;
        problems.truncate(MAX_LINK_PROBLEMS);
        let line = problems.last().map_or(1, |p| p.line);
        problems.push(Problem {
            path: post.source.clone(),
            line,
            message: format!(
                "{more} more links after this line lead to pages that do not exist or are not \
                 published (only the first {MAX_LINK_PROBLEMS} of a file are told one by one)"
            ),
            error: false,
        });
    }
    problems
}

/// What the author is told of a page reference that names no one page.
fn unresolved_message(target: &str, resolved: &Resolved) -> String {
    match resolved {
        Resolved::Ambiguous(sources) => {
            let names: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
            format!(
                "page reference {target} could name any of {}: write more of its path",
                names.join(", ")
            )
        }
        Resolved::InArea => format!(
            "page reference {target} names a page in a client-certificate area: not linked \
             from a page outside it, whose readers would learn what the area holds"
        ),
        _ => format!(
            "page reference {target}: no file of the capsule has that path (looked for from \
             the capsule root, from posts/, from this page's folder, and as the end of a path)"
        ),
    }
}

/// The broken links of one post that are each told in a line of their own.
pub(super) const MAX_LINK_PROBLEMS: usize = 20;

/// The capsule path a link points to, resolved against the page's URL; `None` for links to
/// other sites (or other schemes).
pub(super) fn local_path(page_url: &str, link: &str) -> Option<String> {
    if convert::url::scheme_of(link).is_some() || link.starts_with("//") {
        return None;
    }
    let link = link.split(['?', '#']).next().unwrap_or("");
    if link.is_empty() {
        return None;
    }
    let joined = if link.starts_with('/') {
        link.to_owned()
    } else {
        let base = &page_url[..page_url.rfind('/').map_or(0, |i| i + 1)];
        format!("{base}{link}")
    };
    let mut out: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let slash = if joined.ends_with('/') || joined.ends_with("/.") || joined.ends_with("/..") {
        "/"
    } else {
        ""
    };
    Some(format!("/{}{slash}", out.join("/")))
}
