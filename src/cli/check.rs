//! `gemhole check`: each host's capsule read as the server would, its problems and the posts
//! it withholds (and why) printed with a summary; the exit status says whether any post cannot
//! be published as written.

use std::path::PathBuf;

use clap::Args;

use super::hosts::{chosen_hosts, open_capsule};
use super::output::{report, say};
use crate::config::{Config, HostConfig, Hostname, Overrides};
use crate::content::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Secret};
use crate::convert::printable;

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
    let errors = problems.iter().filter(|p| p.error).count();
    say!(
        "{} published post(s), {} withheld (drafts or dated ahead), {} series, {} tag(s); \
         {errors} error(s), {} warning(s)",
        site.posts.len(),
        site.drafts.len(),
        site.series.len(),
        site.tags.len(),
        problems.len() - errors
    );
    errors
}
