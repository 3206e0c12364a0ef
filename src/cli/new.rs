//! `gemhole new`: a new post's first draft in one host's capsule, its part in a series chosen
//! or checked, its date today in the host's zone, and the file and its URL printed.

use std::path::PathBuf;

use clap::Args;

use super::hosts::{one_host, open_capsule};
use super::output::say;
use crate::config::{Config, Hostname, Overrides};
use crate::content::Secret;
use crate::content::site::{BuildOptions, Site};

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
    use crate::content::scaffold::{self, NewPost};
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let host = one_host(
        &config,
        args.host.as_ref(),
        "name the one the post is for with --host",
    )?;
    let title = args.title.trim().to_owned();
    if title.is_empty() {
        anyhow::bail!("give the post a title: gemhole new \"My Title\"");
    }
    let root = open_capsule(host, &Secret::of(&config))?;
    let series = args
        .series
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let aliases = || {
        host.series
            .iter()
            .map(|(name, series)| (name.as_str(), series.aliases.as_slice()))
    };
    let part = match (&series, args.part) {
        (Some(name), part) => {
            let (site, _) = Site::build(&root, &BuildOptions::new(host));
            match part {
                None => Some(scaffold::next_part(&site, name, aliases())),
                Some(part) => {
                    if let Some(holder) = scaffold::part_taken(&site, name, aliases(), part) {
                        anyhow::bail!(
                            "part {part} of “{name}” is {}'s: nothing was written (leave \
                             --part out for the next free part)",
                            holder.display()
                        );
                    }
                    Some(part)
                }
            }
        }
        (None, part) => part,
    };
    let date = args.date.unwrap_or_else(|| {
        host.timezone
            .zone()
            .to_datetime(jiff::Timestamp::now())
            .date()
    });
    let post = NewPost {
        title,
        date,
        series,
        part,
        tags: args
            .tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    let file = post.file();
    let path = root.path().join(&file);
    // A hand-written page of the same name would be served in its place.
    let twin = root.path().join(file.with_extension("gmi"));
    if twin.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} exists and would be served in place of the new post: nothing was written \
             (give another title or --date)",
            twin.display()
        );
    }
    scaffold::create(root.path(), &file, &post.text()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists: nothing was written (give another title or --date)",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot write {}: {e}", path.display())
        }
    })?;
    let origin = crate::convert::url::Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(crate::config::GEMINI_PORT),
    );
    let url = crate::convert::url::encode_path(&format!(
        "/{}",
        file.with_extension("gmi").to_string_lossy()
    ));
    say!("{}", path.display());
    say!(
        "{} (a draft: readers see it once you remove `draft: true`)",
        origin.absolute(&url)
    );
    Ok(())
}
