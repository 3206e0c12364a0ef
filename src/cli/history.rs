//! `gemhole history` and `gemhole restore`: the versions Titan kept of what it replaced or
//! deleted, listed, and one put back. Wiring only: the history is `content::store`'s.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::hosts::{one_host, open_capsule};
use super::output::say;
use crate::config::{Config, HostConfig, Hostname, Overrides};
use crate::content::store::{HISTORY_DIR, Why};
use crate::content::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Secret};

#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    /// Only this file's versions, as a path in the capsule (`posts/x.md`) or its URL
    /// (`/posts/x.gmi`) [default: every file's]
    #[arg(value_name = "FILE")]
    file: Option<String>,
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The host whose capsule to look in [default: the only host; required with several]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
}

#[derive(Debug, Args)]
pub(super) struct RestoreArgs {
    /// The file to put back, as a path in the capsule (`posts/x.md`) or its URL
    /// (`/posts/x.gmi`)
    #[arg(value_name = "FILE")]
    file: String,
    /// The version: the start of its time as `gemhole history` shows it
    /// (`2026-12-07T04:31`) [default: the newest]
    #[arg(value_name = "VERSION")]
    version: Option<String>,
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The host whose capsule it is in [default: the only host; required with several]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
}

/// The one host a command works on, and its capsule folder.
fn capsule(
    config_file: Option<&Path>,
    name: Option<&Hostname>,
    command: &str,
) -> anyhow::Result<(HostConfig, CapsuleRoot)> {
    let config = Config::load(config_file, Overrides::default())?;
    let host = one_host(
        &config,
        name,
        &format!("name the one to look at with `gemhole {command} --host NAME`"),
    )?;
    let root = open_capsule(host, &Secret::of(&config))?;
    Ok((host.clone(), root))
}

/// A file of the capsule as a user names it: a relative path of plain names, or a URL's path
/// (`/posts/x.gmi`, percent-encoded or not). A page's URL names its Markdown source when only
/// that has kept versions, and a post's URL (its `slug` too) names the post's source.
fn file_named(host: &HostConfig, root: &CapsuleRoot, given: &str) -> anyhow::Result<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(given.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let path = PathBuf::from(&decoded);
    if decoded.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        anyhow::bail!(
            "`{given}` is no file of the capsule: give its path inside the capsule folder, \
             e.g. posts/x.md"
        );
    }
    let kept = |p: &Path| root.history(Some(p)).is_ok_and(|h| !h.is_empty());
    if kept(&path) || path.extension().is_none_or(|e| e != "gmi") {
        return Ok(path);
    }
    // The post served at that URL, as the server reads the capsule now.
    let url = crate::convert::url::encode_path(&format!("/{decoded}"));
    let (site, _) = Site::build(root, &BuildOptions::new(host));
    if let Some(post) = site.all_posts().find(|p| p.url == url) {
        return Ok(post.source.clone());
    }
    let markdown = path.with_extension("md");
    Ok(if kept(&markdown) { markdown } else { path })
}

pub(super) fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let (host, root) = capsule(args.config.as_deref(), args.host.as_ref(), "history")?;
    let file = args
        .file
        .as_deref()
        .map(|f| file_named(&host, &root, f))
        .transpose()?;
    let kept = root.history(file.as_deref())?;
    let folder = root.path().join(HISTORY_DIR);
    if kept.is_empty() {
        match &file {
            Some(file) => say!(
                "no version of {} is kept (in {})",
                file.display(),
                folder.display()
            ),
            None => say!("no versions are kept (in {})", folder.display()),
        }
        return Ok(());
    }
    let (mut count, mut bytes) = (0, 0);
    for history in &kept {
        say!(
            "{}",
            crate::convert::printable(&history.file.to_string_lossy())
        );
        for version in &history.versions {
            let why = match version.why {
                Why::Replaced => "replaced",
                Why::Deleted => "deleted ",
            };
            say!("  {}  {why}  {} bytes", version.when, version.bytes);
            count += 1;
            bytes += version.bytes;
        }
    }
    say!(
        "{count} version(s) of {} file(s), {bytes} bytes, in {}; put one back with `gemhole \
         restore FILE [VERSION]`",
        kept.len(),
        folder.display()
    );
    Ok(())
}

pub(super) fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let (host, root) = capsule(args.config.as_deref(), args.host.as_ref(), "restore")?;
    let file = file_named(&host, &root, &args.file)?;
    let restored = root
        .restore(&file, args.version.as_deref())
        .with_context(|| format!("cannot restore {}", file.display()))?;
    say!(
        "{} is back as it was {} at {}",
        file.display(),
        match restored.version.why {
            Why::Replaced => "before it was replaced",
            Why::Deleted => "when it was deleted",
        },
        restored.version.when
    );
    if let Some(kept) = restored.kept {
        say!(
            "the version it replaced is kept too: {}",
            root.path().join(kept).display()
        );
    }
    Ok(())
}
