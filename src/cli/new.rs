//! `gemhole new`: a new post's first draft in one host's capsule. Wiring only: the rules for
//! what the author typed are `content::scaffold`'s; this picks the host, opens its capsule and
//! prints the file and its URL.

use std::path::PathBuf;

use clap::Args;

use super::hosts::{one_host, open_capsule};
use super::output::say;
use crate::config::{Config, Hostname, Overrides};
use crate::content::scaffold::{self, Title, Typed};
use crate::content::{Secret, is_jekyll_draft};

#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// The post's title
    title: String,
    /// The series it belongs to
    #[arg(long, value_name = "NAME")]
    series: Option<String>,
    /// Its part in the series [default: the series' next free part]
    #[arg(long, value_name = "N", requires = "series", value_parser = clap::value_parser!(u32).range(1..))]
    part: Option<u32>,
    /// Its tags, separated by commas
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    tags: Vec<String>,
    /// The folder it goes in, relative to the capsule and below posts/ (made if missing)
    /// [default: the folder its series' parts share, else posts/]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Its date [default: today, in the host's `timezone`]
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<jiff::civil::Date>,
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The host whose capsule gets it [default: the only host; required with several]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
}

pub(super) fn new_post(args: NewArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let host = one_host(
        &config,
        args.host.as_ref(),
        "name the one the post is for with --host",
    )?;
    // Before the capsule is opened: a blank title is the author's mistake whatever the folder.
    let title = Title::new(&args.title)?;
    let root = open_capsule(host, &Secret::of(&config))?;
    let typed = Typed {
        title,
        series: args.series,
        part: args.part,
        tags: args.tags,
        date: args.date,
        dir: args.dir,
    };
    let started = scaffold::start(host, &root, typed)?;
    let folder = format!("{}/", started.folder.display());
    match &started.series {
        Some((name, part)) => say!("series: {name} (part {part}), into {folder}"),
        None => say!("into {folder}"),
    }
    say!("{}", started.path.display());
    let how = if is_jekyll_draft(&started.folder.join("x.md")) {
        "in Jekyll's _drafts/: readers see it once you move it to _posts/"
    } else {
        "readers see it once you remove `draft: true`"
    };
    say!("{} (a draft: {how})", started.url);
    Ok(())
}
