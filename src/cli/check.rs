//! `gemhole check`: each host's capsule read as the server would, its problems and the posts
//! it withholds (and why) printed with a summary; the exit status says whether any post cannot
//! be published as written.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::hosts::{chosen_hosts, open_capsule};
use super::output::{report, say};
use crate::config::{Config, GEMINI_PORT, HostConfig, Hostname, Overrides};
use crate::content::site::Migration;
use crate::content::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Secret};
use crate::convert::printable;
use crate::convert::route::Route;
use crate::convert::url::{Origin, path_segments};
use crate::respond::Capsule;
use crate::respond::rules::Rules;
use crate::views::layout::Layout;

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder to check as the capsule root (overrides `capsule`; single-host configs only)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
    /// Only the host that has this name [default: every host]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
}

pub(super) fn check(args: CheckArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let several = config.hosts.len() > 1;
    let mut errors = 0;
    for host in chosen_hosts(&config, args.host.as_ref())? {
        if several {
            say!("# {} ({})", host.canonical(), host.capsule.display());
        }
        // A host that cannot be read is an error of its own; the others are still checked.
        let capsule = match open_capsule(host, &Secret::of(&config)) {
            Ok(capsule) => capsule,
            Err(e) if several => {
                say!("error: {}", report(&e));
                errors += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        errors += check_site(host, &capsule);
    }
    if errors > 0 {
        anyhow::bail!(
            "{errors} error(s): what they name is not published as written until they are fixed"
        );
    }
    Ok(())
}

/// Reads one host's capsule as the server would and prints its problems, each post it
/// withholds and a summary; returns how many of the problems are errors.
fn check_site(host: &HostConfig, capsule: &CapsuleRoot) -> usize {
    let (site, problems) = Site::build(capsule, &BuildOptions::new(host));
    for problem in &problems {
        say!("{}", printable(&problem.to_string()));
    }
    // Each post readers cannot see yet, and why: a count alone hides the one that matters.
    for post in &site.drafts {
        let (line, why) = site.withheld_reason(post);
        let source = post.source.to_string_lossy();
        let source = printable(&source);
        say!("{source}:{line}: withheld: {why}");
    }
    let template_errors = check_layout(host, capsule, &site);
    let rules = Rules::new(&host.paths);
    let unmatched: Vec<_> = rules.unmatched(&site).collect();
    for rule in &unmatched {
        say!(
            "warning: [[path]] `match = \"{}\"` covers nothing the capsule serves",
            printable(&rule.matches.to_string())
        );
    }
    let errors = problems.iter().filter(|p| p.error).count() + template_errors;
    say!(
        "{} published post(s), {} withheld (drafts, dated ahead or expired), {} series, {} tag(s); \
         {errors} error(s), {} warning(s)",
        site.posts.len(),
        site.drafts.len(),
        site.series.len(),
        site.tags.len(),
        problems.len() + template_errors + unmatched.len() - errors
    );
    let migration = site.migration(capsule);
    if !migration.is_empty() {
        print_migration(&migration);
    }
    errors
}

/// The host's language and templates: a language without built-in strings (a warning); a
/// template that cannot be read or compiled, or that fails on this site's pages, at its
/// `file:line:column` (an error each: its pages are made from the default instead).
fn check_layout(host: &HostConfig, root: &CapsuleRoot, site: &Site) -> usize {
    if let Some(language) = host.unknown_language() {
        say!(
            "warning: no built-in strings for language `{}`: generated pages are in English \
             except what [strings] sets (built in: {})",
            printable(language),
            crate::config::strings::languages()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (layout, problems) = Layout::load(host, None);
    for problem in &problems {
        say!("{}", printable(&problem.to_string()));
    }
    if !layout.any_custom() {
        return problems.len();
    }
    // Each templated page once, made from this site: what fails is kept by the layout.
    let layout = Arc::new(layout);
    let mut paths = vec![
        Route::Home.url(),
        Route::Archive.url(),
        Route::AllTags.url(),
    ];
    paths.extend(site.tags.keys().next().map(|slug| Route::Tag(slug).url()));
    paths.extend(site.series.first().map(|s| Route::Series(&s.slug).url()));
    paths.extend(site.posts.first().map(|p| p.url.clone()));
    let word = site
        .posts
        .first()
        .and_then(|p| p.meta.title.split_whitespace().next().map(str::to_owned));
    let capsule = Capsule::new(root.clone(), site.clone(), host, Arc::clone(&layout));
    let origin = Origin::new(host.canonical().as_str(), GEMINI_PORT);
    for path in paths {
        let slash = path.ends_with('/');
        let _ = capsule.lookup(&path_segments(&path), slash, &origin);
    }
    if let Some(word) = word {
        let _ = capsule.search_page(None, &word, |n, q| format!("/search/{n}?{q}"));
    }
    let failures = layout.failures();
    for failure in &failures {
        say!(
            "{}; its pages are made from the default template",
            printable(&failure.to_string())
        );
    }
    problems.len() + failures.len()
}

/// The moved pages told one by one; the rest are counted.
const MOVED_SHOWN: usize = 20;
/// The shortcode names told on one line; the rest are counted.
const NAMES_SHOWN: usize = 12;

/// What a capsule holds from the generator it came from: what was converted, what was left
/// out (each also told at its line above), and where readers' old links now lead.
fn print_migration(migration: &Migration) {
    say!("from other generators:");
    let counts = &migration.shortcodes;
    for (what, names, told) in [
        ("converted", &counts.converted, ""),
        ("left out", &counts.left, ", each told above at its line"),
    ] {
        if !names.is_empty() {
            let total: usize = names.values().sum();
            say!(
                "  shortcodes and template tags {what}: {total} ({}){told}",
                by_use(names)
            );
        }
    }
    let (resolved, unresolved) = (
        migration.references_resolved,
        migration.references_unresolved,
    );
    if resolved + unresolved > 0 {
        let told = if unresolved > 0 {
            ", each told above at its line"
        } else {
            ""
        };
        say!("  page references: {resolved} resolved, {unresolved} unresolved{told}");
    }
    for (count, what) in [
        (
            migration.former_urls,
            "former URLs (aliases, redirect_from, url, permalink) answered with 31",
        ),
        (migration.redirect_pages, "pages sent on by redirect_to"),
        (migration.bundles, "page bundles"),
        (migration.sections, "section pages (_index.md)"),
        (migration.jekyll_posts, "Jekyll posts"),
    ] {
        if count > 0 {
            say!("  {what}: {count}");
        }
    }
    if migration.moved.is_empty() {
        return;
    }
    say!(
        "  {} post(s) at another URL than their generator gave them (31: the old URL \
         redirects here; lost: it answers nothing):",
        migration.moved.len()
    );
    for page in migration.moved.iter().take(MOVED_SHOWN) {
        let source = page.source.to_string_lossy();
        say!(
            "  {}: {} → {} ({})",
            printable(&source),
            printable(&page.from),
            printable(&page.to),
            if page.redirected { "31" } else { "lost" }
        );
    }
    if let Some(more) = migration
        .moved
        .len()
        .checked_sub(MOVED_SHOWN)
        .filter(|&n| n > 0)
    {
        say!("  and {more} more");
    }
}

/// Names with their counts, most used first (`figure 133, ref 99, note 71`).
fn by_use(names: &std::collections::BTreeMap<String, usize>) -> String {
    let mut sorted: Vec<(&String, &usize)> = names.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut shown: Vec<String> = sorted
        .iter()
        .take(NAMES_SHOWN)
        .map(|(name, n)| format!("{} {n}", printable(name)))
        .collect();
    if sorted.len() > NAMES_SHOWN {
        shown.push(format!("and {} more", sorted.len() - NAMES_SHOWN));
    }
    shown.join(", ")
}
