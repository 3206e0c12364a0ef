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
    let read = markdown::read(&source.text, stem, &settings.into());
    let warnings = read.problems.iter().filter(|(_, fatal)| !fatal);
    let warnings = warnings.map(|(w, _)| (w.line, w.message.clone()));
    for (line, message) in source.not_utf8().into_iter().chain(warnings) {
        eprintln!("gemhole: warning: {}:{line}: {message}", path.display());
    }
    // Never nothing: with front matter that cannot be read, the page is still written (made
    // from the text, the block kept as text when it never closes), and the error fails the
    // command, as the server withholds such a page (it might have said `draft: true`).
    out(&read.page.gemtext);
    if let Some(e) = read.error {
        anyhow::bail!("{}:{}: {}", path.display(), e.line, e.message);
    }
    Ok(())
}
