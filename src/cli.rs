//! The command line: clap definitions and the subcommands (`history` and `restore` in a file
//! of their own).
//!
//! Parsing and reporting only: the work is done by `config`, `server` and `server::tls`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, HostConfig, Hostname, ListenAddr, LogFilter, Overrides};
use crate::content::site::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Secret};
use crate::respond::Capsule;
use crate::server::tls::{self, HostCert, Origin};
use crate::server::{self, Server};

/// `println!` through [`out`]: a closed pipe ends the command quietly.
macro_rules! say {
    () => {
        out("\n")
    };
    ($($arg:tt)*) => {
        out(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod history;

/// Serve a folder of posts as a Gemini capsule.
#[derive(Debug, Parser)]
#[command(name = "gemhole", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the capsule over Gemini (TLS), generating certificates on first start.
    Serve(ServeArgs),
    /// Create missing certificates, then print each host's fingerprints and expiry date.
    Cert(CertArgs),
    /// Convert a Markdown file to gemtext and print its body, without series navigation.
    ///
    /// The server adds navigation to a post in a series (a "Part N of M" line, the series'
    /// other posts, the previous and next parts), which one file cannot tell; `gemhole build
    /// --out DIR` writes every page as the server sends it.
    Convert(ConvertArgs),
    /// Check the config and every post; exit non-zero if a post cannot be published.
    Check(CheckArgs),
    /// Write the whole capsule, generated pages included, as static files.
    Build(BuildArgs),
    /// Start a new post: posts/YYYY-MM-DD-<slug>.md with its front matter, as a draft.
    New(NewArgs),
    /// List the versions kept of what uploads replaced or deleted (in the capsule's
    /// .history/ folder, never served).
    History(history::HistoryArgs),
    /// Put a kept version of a file back in its place; the file it replaces is kept too.
    Restore(history::RestoreArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder to serve as the capsule root (overrides `capsule`; single-host configs only)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
    /// Folder holding one sub-folder of PEM files per hostname (overrides `certs`)
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// Hostname to serve; repeat for several, the first is the canonical one (overrides
    /// `hostnames`; single-host configs only)
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<Hostname>,
    /// Address to listen on, e.g. 0.0.0.0:1965 or [::]:1965; repeatable (overrides `listen`)
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<ListenAddr>,
    /// Also serve the capsule over Gopher on this address, e.g. 0.0.0.0:70; repeatable
    /// (overrides `gopher.listen`; single-host configs only)
    #[arg(long = "gopher-listen", value_name = "ADDR")]
    gopher_listen: Vec<ListenAddr>,
    /// Address for a balancer in front (HAProxy's send-proxy-v2): every connection starts with
    /// a PROXY protocol header; repeatable (overrides `proxy_listen`)
    #[arg(long = "proxy-listen", value_name = "ADDR")]
    proxy_listen: Vec<ListenAddr>,
    /// The same for Gopher; repeatable (overrides `gopher.proxy_listen`; single-host configs
    /// only)
    #[arg(long = "gopher-proxy-listen", value_name = "ADDR")]
    gopher_proxy_listen: Vec<ListenAddr>,
    /// Write client IP addresses into the access log (sets `log.ip`)
    #[arg(long)]
    log_ip: bool,
    /// Show drafts and posts dated ahead to every reader, marked, with a /drafts/ page: a
    /// local preview (authors' certificates see them anyway)
    #[arg(long)]
    drafts: bool,
}

#[derive(Debug, Args)]
struct CertArgs {
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder holding one sub-folder of PEM files per hostname (overrides `certs`)
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// Hostname whose certificate to show; repeatable (overrides `hostnames`; single-host
    /// configs only)
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<Hostname>,
    /// Only the host that has this name [default: every host]
    #[arg(long, value_name = "NAME")]
    host: Option<Hostname>,
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// Config file for the [markdown] settings [default: ./config.toml if it exists]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The Markdown file
    #[arg(value_name = "FILE.md")]
    file: PathBuf,
}

#[derive(Debug, Args)]
struct CheckArgs {
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

#[derive(Debug, Args)]
struct BuildArgs {
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
}

#[derive(Debug, Args)]
struct NewArgs {
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

/// Runs the command line and turns an error into a message on stderr and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Cert(args) => cert(args),
        Command::Convert(args) => convert(args),
        Command::Check(args) => check(args),
        Command::Build(args) => build(args),
        Command::New(args) => new_post(args),
        Command::History(args) => history::history(args),
        Command::Restore(args) => history::restore(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemhole: error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// Writes to standard output. A reader that went away (`gemhole convert x.md | head`) ends
/// the command quietly, as a pipe's writer does, rather than in a panic.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("gemhole: error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// The error and its causes on one line. The crate's errors name their cause in their own
/// message and also return it as their source (thiserror does both for a `source` field), so a
/// cause the line already ends with is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// Threads for blocking work (opening and reading files, folder lookups, site rebuilds). A read
/// from the page cache takes microseconds, so more threads would mostly add memory: tokio's
/// default of 512 lets a burst of file requests start hundreds.
const BLOCKING_THREADS: usize = 16;

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        certs: args.certs,
        hostnames: args.hostnames,
        listen: args.listen,
        proxy_listen: args.proxy_listen,
        gopher_listen: args.gopher_listen,
        gopher_proxy_listen: args.gopher_proxy_listen,
        log_ip: args.log_ip,
        drafts: args.drafts,
    };
    let config = Config::load(args.config.as_deref(), overrides.clone())?;
    let _log = init_logging(&config.log.level);
    if config.drafts {
        tracing::warn!(
            "--drafts: every reader sees the drafts and the posts dated ahead (marked), and \
             /drafts/ lists them; for a local preview, never on a public server"
        );
    }
    // A reload reads the file the start read: one moved away (or renamed while being
    // replaced) is an error, not a fall back to the built-in defaults.
    let config_path = config.source.clone().or(args.config);
    let load_config: server::LoadConfig =
        Box::new(move || Config::load(config_path.as_deref(), overrides.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let server = Server::bind(&config)?;
        let hosts = server.hosts();
        for host in &hosts {
            let canonical = &host.names[0];
            for cert in &host.certs {
                log_certificate(canonical, cert);
            }
            tracing::info!(
                host = %canonical,
                "serving {} as {}{}",
                host.capsule.display(),
                names(&host.names),
                if host.default && hosts.len() > 1 { " (the default host)" } else { "" }
            );
        }
        for (addr, proxied) in server.local_addrs() {
            if proxied {
                tracing::info!("listening on {addr} (PROXY protocol)");
            } else {
                tracing::info!("listening on {addr}");
            }
        }
        for (addr, host, proxied) in server.gopher_addrs() {
            let proxied = if proxied { ", PROXY protocol" } else { "" };
            if hosts.len() > 1 {
                tracing::info!("listening on {addr} (gopher{proxied}) for {host}");
            } else {
                tracing::info!("listening on {addr} (gopher{proxied})");
            }
        }
        let shutdown = CancellationToken::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = server::shutdown_signal().await {
                tracing::error!(error = %e, "cannot watch for signals");
                return;
            }
            trigger.cancel();
            // A second signal means the operator does not want to wait for the grace period.
            if server::shutdown_signal().await.is_ok() {
                tracing::warn!("second signal; exiting without waiting");
                std::process::exit(1);
            }
        });
        server.run(shutdown, load_config).await;
        anyhow::Ok(())
    });
    // A file-system call stuck in the kernel (a hung network mount) must not keep the process
    // from exiting once connections are done: blocking work gets a moment, then is left.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

fn cert(args: CertArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        certs: args.certs,
        hostnames: args.hostnames,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let _log = init_logging(&config.log.level);
    // A key made inside a capsule would be served: every capsule there is now is checked
    // first (a missing one cannot hold it).
    let secrets = Secret::of(&config);
    for host in &config.hosts {
        match CapsuleRoot::open(&host.capsule) {
            Ok(root) => {
                root.keep_secret(&secrets)?;
            }
            // Not there yet: where it will be is checked.
            Err(_) => {
                let capsule = std::path::absolute(&host.capsule)?;
                for secret in &secrets {
                    if std::path::absolute(&secret.path)?.starts_with(&capsule) {
                        anyhow::bail!(
                            "{} {} lies inside the capsule folder {} (which does not exist \
                             yet), so anyone could download it once it does; keep it outside \
                             ({})",
                            secret.what,
                            secret.path.display(),
                            host.capsule.display(),
                            secret.fix
                        );
                    }
                }
            }
        }
    }
    for host in chosen_hosts(&config, args.host.as_ref())? {
        for cert in tls::load_or_generate(host, &config, &[])? {
            let info = &cert.info;
            say!("{}", names(&cert.names));
            say!(
                "  file:           {} ({})",
                cert.cert_path.display(),
                origin(cert.origin)
            );
            say!("  SHA-256 cert:   {}", info.cert_sha256);
            say!("  SHA-256 SPKI:   {}", info.spki_sha256);
            say!("  expires:        {}", rfc3339(info.not_after));
        }
    }
    Ok(())
}

/// The hosts a command works on: the one that has `name`, else all of them.
fn chosen_hosts<'a>(
    config: &'a Config,
    name: Option<&Hostname>,
) -> anyhow::Result<Vec<&'a HostConfig>> {
    let Some(name) = name else {
        return Ok(config.hosts.iter().collect());
    };
    match config.host_named(name) {
        Some(host) => Ok(vec![host]),
        None => {
            let known: Vec<&Hostname> = config.hosts.iter().flat_map(|h| &h.hostnames).collect();
            anyhow::bail!(
                "no host is named `{name}` (the hosts' names: {})",
                names(known)
            )
        }
    }
}

/// Names as a comma-separated list.
fn names<'a>(names: impl IntoIterator<Item = &'a Hostname>) -> String {
    names
        .into_iter()
        .map(Hostname::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let markdown = &config.default_host().markdown;
    let path = &args.file;
    let limit = markdown.max_file_size.bytes();
    let source = crate::content::markdown::read_source(path, limit)?;
    let stem = crate::content::markdown::title_stem(path);
    let read = crate::content::markdown::read(&source, stem, &markdown.into());
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

fn check(args: CheckArgs) -> anyhow::Result<()> {
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
        let opened = CapsuleRoot::open(&host.capsule)
            .with_context(|| format!("capsule folder {}", host.capsule.display()))
            .and_then(|root| {
                Ok(root
                    .keep_secret(&Secret::of(&config))?
                    .with_areas(&host.areas))
            });
        let capsule = match opened {
            Ok(capsule) => capsule,
            Err(e) if several => {
                say!("error: {}", report(&e));
                errors += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (site, problems) = Site::build(&capsule, &BuildOptions::new(host));
        for problem in &problems {
            say!("{}", crate::convert::printable(&problem.to_string()));
        }
        // Each post readers cannot see yet, and why: a count alone hides the one that matters.
        for post in &site.drafts {
            let (line, why) = site.withheld_reason(post);
            let source = post.source.to_string_lossy();
            let source = crate::convert::printable(&source);
            say!("{source}:{line}: withheld: {why}");
        }
        let host_errors = problems.iter().filter(|p| p.error).count();
        say!(
            "{} published post(s), {} withheld (drafts or dated ahead), {} series, {} tag(s); \
             {host_errors} error(s), {} warning(s)",
            site.posts.len(),
            site.drafts.len(),
            site.series.len(),
            site.tags.len(),
            problems.len() - host_errors
        );
        errors += host_errors;
    }
    if errors > 0 {
        anyhow::bail!(
            "{errors} error(s): what they name is not published as written until they are fixed"
        );
    }
    Ok(())
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let _log = init_logging(&config.log.level);
    let several = config.hosts.len() > 1;
    let secrets = Secret::of(&config);
    // No host's copy may land in (or hold) any host's capsule folder, as configured or as it
    // resolves; every output is checked before anything is written.
    let capsules: Vec<PathBuf> = config
        .hosts
        .iter()
        .flat_map(|h| {
            [
                Some(h.capsule.clone()),
                std::fs::canonicalize(&h.capsule).ok(),
            ]
        })
        .flatten()
        .collect();
    let capsules: Vec<&std::path::Path> = capsules.iter().map(PathBuf::as_path).collect();
    let mut builds = Vec::new();
    for host in chosen_hosts(&config, args.host.as_ref())? {
        // A static copy of a capsule that holds a private key would publish the key.
        let root = CapsuleRoot::open(&host.capsule)
            .with_context(|| format!("capsule folder {}", host.capsule.display()))?
            .keep_secret(&secrets)?
            .with_areas(&host.areas);
        // With several hosts, each has its own folder, named by its canonical name.
        let out = if several {
            args.out.join(host.canonical().as_str())
        } else {
            args.out.clone()
        };
        let mut refused = capsules.clone();
        refused.push(root.path());
        let out = crate::publish::OutDir::check(&out, &refused, &secrets)?;
        builds.push((host, root, out));
    }
    for (host, root, out) in builds {
        let (site, problems) = Site::build(&root, &BuildOptions::new(host));
        for problem in &problems {
            eprintln!("{problem}");
        }
        let capsule = Capsule::new(root, site, host);
        // Feeds need absolute URLs: the canonical name and the public port (else Gemini's).
        let origin = crate::convert::url::Origin::new(
            host.canonical().as_str(),
            host.public_port.unwrap_or(crate::config::GEMINI_PORT),
        );
        let written = out.write(&capsule, &origin)?;
        say!("wrote {written} file(s) to {}", out.given().display());
        for area in &host.areas {
            say!(
                "left out {}: a client-certificate area is served only by `gemhole serve`",
                area.path
            );
        }
    }
    Ok(())
}

fn new_post(args: NewArgs) -> anyhow::Result<()> {
    use crate::content::scaffold::{self, NewPost};
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let host = match chosen_hosts(&config, args.host.as_ref())?.as_slice() {
        [host] => *host,
        _ => anyhow::bail!(
            "this config serves several hosts: name the one the post is for with --host \
             (the hosts: {})",
            names(config.hosts.iter().map(HostConfig::canonical))
        ),
    };
    let title = args.title.trim().to_owned();
    if title.is_empty() {
        anyhow::bail!("give the post a title: gemhole new \"My Title\"");
    }
    let root = CapsuleRoot::open(&host.capsule)
        .with_context(|| format!("capsule folder {}", host.capsule.display()))?
        .keep_secret(&Secret::of(&config))?
        .with_areas(&host.areas);
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

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Generated => "generated now",
        Origin::Stored => "existing",
        Origin::Operator => "from config",
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn log_certificate(host: &Hostname, cert: &HostCert) {
    tracing::info!(
        host = %host,
        names = %names(&cert.names),
        file = %cert.cert_path.display(),
        sha256 = %cert.info.cert_sha256,
        spki_sha256 = %cert.info.spki_sha256,
        expires = %rfc3339(cert.info.not_after),
        "certificate {}",
        origin(cert.origin)
    );
}

/// Logs go to stderr; `RUST_LOG` wins over the config's level.
/// Logs to stderr in batches (see `logging`); the guard writes what is left when dropped.
#[must_use]
fn init_logging(level: &LogFilter) -> crate::logging::FlushGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.as_str()));
    let (writer, guard) = crate::logging::BatchedStderr::start();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    guard
}
