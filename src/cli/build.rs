//! `gemhole build`: every host's capsule written as static files, generated pages included,
//! each output folder checked before anything is written (no copy inside a capsule, none that
//! would hold a key).

use std::path::{Path, PathBuf};

use clap::Args;

use super::hosts::{chosen_hosts, open_capsule};
use super::output::{init_logging, say};
use crate::config::{Config, GEMINI_PORT, HostConfig, Hostname, Overrides};
use crate::content::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Secret};
use crate::convert::url::Origin;
use crate::publish::{Form, OutDir, WebSite};
use crate::respond::Capsule;
use crate::views::layout::Layout;

#[derive(Debug, Args)]
pub(super) struct BuildArgs {
    /// Folder to write the capsule to; files in it that the build did not write are removed, so
    /// it must be missing, empty, or an earlier build (marked by its `.gemhole-build` file)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder to build from as the capsule root (overrides `capsule`; single-host configs only)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
    /// Only the host that has this name [default: every host; with several hosts each is
    /// written to DIR/<its first hostname>/]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
    /// Write HTML for a web server instead of gemtext: every page at the same path as over
    /// Gemini (a `.gmi` name holds HTML, a folder its `index.html`), with `style.css`
    #[arg(long)]
    html: bool,
}

pub(super) fn build(args: BuildArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let _log = init_logging(&config.log);
    let several = config.hosts.len() > 1;
    let secrets = Secret::of(&config);
    let capsules = capsule_folders(&config);
    let capsules: Vec<&Path> = capsules.iter().map(PathBuf::as_path).collect();
    let mut builds = Vec::new();
    for host in chosen_hosts(&config, args.host.as_ref())? {
        // A static copy of a capsule that holds a private key would publish the key.
        let root = open_capsule(host, &secrets)?;
        // With several hosts, each has its own folder, named by its canonical name.
        let out = if several {
            args.out.join(host.canonical().as_str())
        } else {
            args.out.clone()
        };
        let mut refused = capsules.clone();
        refused.push(root.path());
        let out = OutDir::check(&out, &refused, &secrets)?;
        builds.push((host, root, out));
    }
    for (host, root, out) in builds {
        write_copy(host, root, &out, args.html)?;
    }
    Ok(())
}

/// Every host's capsule folder, as configured and as it resolves: no host's copy may land in
/// (or hold) one, so every output is checked against them all before anything is written.
fn capsule_folders(config: &Config) -> Vec<PathBuf> {
    config
        .hosts
        .iter()
        .flat_map(|h| {
            [
                Some(h.capsule.clone()),
                std::fs::canonicalize(&h.capsule).ok(),
            ]
        })
        .flatten()
        .collect()
}

/// Writes one host's copy to its checked folder and says what it wrote and left out.
fn write_copy(
    host: &HostConfig,
    root: CapsuleRoot,
    out: &OutDir,
    html: bool,
) -> anyhow::Result<()> {
    let (site, problems) = Site::build(&root, &BuildOptions::new(host));
    for problem in &problems {
        eprintln!("{problem}");
    }
    let (layout, broken) = Layout::load(host, None);
    for problem in &broken {
        eprintln!("{problem}");
    }
    let capsule = Capsule::new(root, site, host, std::sync::Arc::new(layout));
    // Feeds need absolute URLs: the canonical name and the public port (else Gemini's).
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(GEMINI_PORT),
    );
    let form = if html {
        Form::Html(WebSite {
            origin: Origin::web(true, host.canonical().as_str(), 443),
            gemini: origin,
            names: host
                .hostnames
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect(),
        })
    } else {
        Form::Gemini(origin)
    };
    let written = out.write(&capsule, &form)?;
    say!("wrote {written} file(s) to {}", out.given().display());
    for area in &host.areas {
        say!(
            "left out {}: a client-certificate area is served only by `gemhole serve`",
            area.path
        );
    }
    Ok(())
}
