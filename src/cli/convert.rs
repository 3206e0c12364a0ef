//! `gemhole convert`: one Markdown file as the gemtext the server makes of it, with the
//! `[markdown]` settings of the config's default host; warnings go to stderr.

use std::path::PathBuf;

use clap::Args;

use super::output::out;
use crate::config::{Config, Overrides};
use crate::content::markdown;

#[derive(Debug, Args)]
pub(super) struct ConvertArgs {
    /// Config file for the [markdown] settings [default: ./config.toml if it exists]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The Markdown file
    #[arg(value_name = "FILE.md")]
    file: PathBuf,
}

pub(super) fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let settings = &config.default_host().markdown;
    let path = &args.file;
    let limit = settings.max_file_size.bytes();
    let source = markdown::read_source(path, limit)?;
    let stem = markdown::title_stem(path);
    let read = markdown::read(&source, stem, &settings.into());
    if let Some(e) = read.error {
        anyhow::bail!("{}:{}: {}", path.display(), e.line, e.message);
    }
    for (warning, _) in read.problems.iter().filter(|(_, fatal)| !fatal) {
        eprintln!(
            "gemhole: warning: {}:{}: {}",
            path.display(),
            warning.line,
            warning.message
        );
    }
    out(&read.page.gemtext);
    Ok(())
}
