//! The command line: clap definitions and the two subcommands, `serve` and `cert`.
//!
//! Parsing and reporting only: the work is done by `config`, `server` and `server::tls`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, Hostname, ListenAddr, LogFilter, Overrides};
use crate::content::site::{BuildOptions, Site};
use crate::content::{CapsuleRoot, Resolved, Secret};
use crate::respond::{Capsule, Lookup, output_file};
use crate::server::tls::{self, HostCert, Origin};
use crate::server::{self, Server};

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
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder to serve as the capsule root (overrides `capsule`)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
    /// Folder holding one sub-folder of PEM files per hostname (overrides `certs`)
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// Hostname to serve; repeat for several, the first is the default (overrides `hostnames`)
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<Hostname>,
    /// Address to listen on, e.g. 0.0.0.0:1965 or [::]:1965; repeatable (overrides `listen`)
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<ListenAddr>,
    /// Also serve the capsule over Gopher on this address, e.g. 0.0.0.0:70; repeatable
    /// (overrides `gopher.listen`)
    #[arg(long = "gopher-listen", value_name = "ADDR")]
    gopher_listen: Vec<ListenAddr>,
    /// Write client IP addresses into the access log (sets `log.ip`)
    #[arg(long)]
    log_ip: bool,
}

#[derive(Debug, Args)]
struct CertArgs {
    /// Config file [default: ./config.toml if it exists, else built-in defaults]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder holding one sub-folder of PEM files per hostname (overrides `certs`)
    #[arg(long, value_name = "DIR")]
    certs: Option<PathBuf>,
    /// Hostname whose certificate to show; repeatable (overrides `hostnames`)
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<Hostname>,
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
    /// Folder to check as the capsule root (overrides `capsule`)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
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
    /// Folder to build from as the capsule root (overrides `capsule`)
    #[arg(long, value_name = "DIR")]
    capsule: Option<PathBuf>,
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemhole: error: {}", report(&e));
            ExitCode::FAILURE
        }
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
        gopher_listen: args.gopher_listen,
        log_ip: args.log_ip,
    };
    let config = Config::load(args.config.as_deref(), overrides.clone())?;
    let _log = init_logging(&config.log.level);
    let config_path = args.config;
    let load_config: server::LoadConfig =
        Box::new(move || Config::load(config_path.as_deref(), overrides.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let server = Server::bind(&config)?;
        for cert in server.certificates() {
            log_certificate(cert);
        }
        tracing::info!("serving {}", server.capsule().display());
        for addr in server.local_addrs() {
            tracing::info!("listening on {addr}");
        }
        for addr in server.gopher_addrs() {
            tracing::info!("listening on {addr} (gopher)");
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
    let certs = tls::load_or_generate(&config)?;
    for cert in &certs {
        let info = &cert.info;
        println!("{}", cert.hostname);
        println!(
            "  file:           {} ({})",
            cert.cert_path.display(),
            origin(cert.origin)
        );
        println!("  SHA-256 cert:   {}", info.cert_sha256);
        println!("  SHA-256 SPKI:   {}", info.spki_sha256);
        println!("  expires:        {}", rfc3339(info.not_after));
    }
    Ok(())
}

fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), Overrides::default())?;
    let path = &args.file;
    let limit = config.markdown.max_file_size.bytes();
    let source = crate::content::markdown::read_source(path, limit)?;
    let stem = crate::content::markdown::title_stem(path);
    let (page, error) =
        crate::content::markdown::convert(&source, stem, &(&config.markdown).into());
    if let Some(e) = error {
        anyhow::bail!("{}:{}: {}", path.display(), e.line, e.message);
    }
    print!("{}", page.gemtext);
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let capsule = CapsuleRoot::open(&config.capsule)
        .with_context(|| format!("capsule folder {}", config.capsule.display()))?
        .keep_secret(&Secret::of(&config))?;
    let options = BuildOptions::new(&config);
    let (site, problems) = Site::build(&capsule, &options);
    for problem in &problems {
        println!("{problem}");
    }
    // Each post readers cannot see yet, and why: a count alone hides the one that matters.
    for post in &site.drafts {
        let (line, why) = site.withheld_reason(post);
        println!("{}:{line}: withheld: {why}", post.source.display());
    }
    let errors = problems.iter().filter(|p| p.error).count();
    println!(
        "{} published post(s), {} withheld (drafts or dated ahead), {} series, {} tag(s); \
         {errors} error(s), {} warning(s)",
        site.posts.len(),
        site.drafts.len(),
        site.series.len(),
        site.tags.len(),
        problems.len() - errors
    );
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
    // A static copy of a capsule that holds a private key would publish the key.
    let root = CapsuleRoot::open(&config.capsule)
        .with_context(|| format!("capsule folder {}", config.capsule.display()))?
        .keep_secret(&Secret::of(&config))?;
    let out = OutDir::check(&args.out, root.path(), &Secret::of(&config))?;
    let (site, problems) = Site::build(&root, &BuildOptions::new(&config));
    for problem in &problems {
        eprintln!("{problem}");
    }
    let capsule = Capsule::new(root, site, &config);
    // Feeds need absolute URLs: the first hostname and the public port (else Gemini's).
    let origin = crate::convert::url::Origin::new(
        config.default_hostname().as_str(),
        config.public_port.unwrap_or(crate::config::GEMINI_PORT),
    );
    let written = out.write(&capsule, &origin)?;
    println!("wrote {written} file(s) to {}", out.given.display());
    Ok(())
}

/// Hands every path of the capsule, with its bytes, to `put`; returns how many files there were.
fn write_capsule(
    capsule: &Capsule,
    origin: &crate::convert::url::Origin,
    put: &mut dyn FnMut(&Path, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for (segments, slash) in capsule.paths() {
        let target = output_file(Path::new(""), &segments, slash);
        let mut write = |bytes: &[u8]| put(&target, bytes);
        match capsule.lookup(&segments, slash, origin) {
            Lookup::Found(Resolved::File { path, .. }) => {
                // Opened as the server opens it: never a secret, a FIFO, or through a symlink
                // that leads out.
                let mut bytes = Vec::new();
                match capsule.root.open_file(&path) {
                    Ok(mut file) => std::io::Read::read_to_end(&mut file, &mut bytes)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(e).with_context(|| format!("cannot read {}", path.display()));
                    }
                };
                write(&bytes)?;
            }
            Lookup::Page(page) if page.withheld.is_none() => write(page.gemtext.as_bytes())?,
            Lookup::Generated { body, .. } | Lookup::Typed { body, .. } => write(body.as_bytes())?,
            Lookup::PageError(e) => {
                eprintln!("{e}");
                continue;
            }
            _ => continue,
        }
        written += 1;
    }
    Ok(written)
}

/// The file at the top of every build's folder. A build writes only into a folder that has it
/// (or an empty one), so a mistyped `--out` cannot wipe out someone's files.
const BUILD_MARKER: &str = ".gemhole-build";

const MARKER_TEXT: &str = "This folder is written by `gemhole build`: each build into it \
                           removes the files it did not write.\n";

/// The folder `--out` names, checked before anything is built.
struct OutDir {
    /// As given, for messages.
    given: PathBuf,
    /// Made absolute, symlinks in its parents resolved.
    path: PathBuf,
}

/// What is at `--out` now.
enum Previous {
    Nothing,
    /// An earlier build, or an empty folder: written into.
    Replaceable,
    /// Anything else, with why it is kept.
    Refused(String),
}

impl OutDir {
    /// Refuses a folder where a build would remove or overwrite what is not a build: the
    /// capsule, the certificates, keys or config (or a folder holding or held in one of them),
    /// `/`, the home folder, a symlink, a file, or a non-empty folder without [`BUILD_MARKER`].
    /// Nothing is created or removed here.
    fn check(given: &Path, capsule: &Path, secrets: &[Secret]) -> anyhow::Result<OutDir> {
        let Some(name) = given.file_name() else {
            anyhow::bail!(
                "--out {} does not end in a folder name: give the folder to write, e.g. --out site",
                given.display()
            );
        };
        let parent = match given.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // The folder's own name is not resolved: a symlink there is refused, not followed.
        let out = OutDir {
            given: given.to_owned(),
            path: resolve(parent)?.join(name),
        };
        let real = &out.path;
        let refuse = |why: &str| {
            let shown = if *real == out.given {
                out.given.display().to_string()
            } else {
                format!("{} ({})", out.given.display(), real.display())
            };
            anyhow::anyhow!("refusing to build into {shown}: {why}; nothing was changed")
        };
        let mut kept = vec![("the capsule folder", capsule.to_owned())];
        for secret in secrets {
            if let Ok(path) = resolve(&secret.path) {
                kept.push((secret.what, path));
            }
        }
        for (what, path) in kept {
            if *real == path || real.starts_with(&path) || path.starts_with(real) {
                return Err(refuse(&format!(
                    "it is {what} {}, inside it or holds it, and a build removes what it did \
                     not write",
                    path.display()
                )));
            }
        }
        let home = std::env::var_os("HOME").and_then(|h| Path::new(&h).canonicalize().ok());
        if real.parent().is_none() || home.is_some_and(|home| home.starts_with(real)) {
            return Err(refuse(
                "it is the home folder or holds it, and a build removes what it did not write",
            ));
        }
        if let Previous::Refused(why) = previous(real, &out.given)? {
            return Err(refuse(&why));
        }
        Ok(out)
    }

    /// Writes the build into the folder (created if missing), each file whole by a rename, then
    /// removes every file it did not write, so a page no longer published is gone. The folder
    /// itself stays, with its owner, mode and mounts: what holds it (a bind mount, a server's
    /// working folder) keeps seeing it. Symlinks in it are replaced, never followed, and a
    /// folder mounted inside it is left alone.
    fn write(
        &self,
        capsule: &Capsule,
        origin: &crate::convert::url::Origin,
    ) -> anyhow::Result<usize> {
        let dir = &self.path;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let handle =
            std::fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
        // Two builds into one folder at once would remove each other's files.
        rustix::fs::flock(
            &handle,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .map_err(|_| {
            anyhow::anyhow!(
                "another build is writing into {}; nothing was changed",
                self.given.display()
            )
        })?;
        let mut written: HashSet<PathBuf> = HashSet::new();
        let mut put = |relative: &Path, bytes: &[u8]| -> anyhow::Result<()> {
            put_file(dir, relative, bytes, &written)?;
            written.insert(relative.to_owned());
            Ok(())
        };
        put(Path::new(BUILD_MARKER), MARKER_TEXT.as_bytes())?;
        let count = write_capsule(capsule, origin, &mut put).with_context(|| {
            format!(
                "the build into {} stopped before its end: the folder holds the files written \
                 so far, and nothing was removed; fix this and build again",
                self.given.display()
            )
        })?;
        let device = std::fs::symlink_metadata(dir)
            .with_context(|| format!("cannot look at {}", dir.display()))?
            .dev();
        sweep(dir, Path::new(""), device, &written);
        Ok(count)
    }
}

/// Writes `bytes` to `dir/relative` through a temporary file renamed into place. Whatever is
/// on the way and is not a real folder (a symlink, a file where a folder goes, a folder where
/// the file goes) is removed first: nothing outside `dir` is ever written through a link.
fn put_file(
    dir: &Path,
    relative: &Path,
    bytes: &[u8],
    written: &HashSet<PathBuf>,
) -> anyhow::Result<()> {
    // What this build wrote is never removed to make room: two pages want one path.
    let clear = |at: &Path| -> anyhow::Result<()> {
        let inside = at.strip_prefix(dir).unwrap_or(at);
        if let Some(other) = written.iter().find(|w| w.starts_with(inside)) {
            anyhow::bail!(
                "cannot write {}: {} was written by this build, and both cannot be (two files \
                 of the capsule need one path)",
                relative.display(),
                other.display()
            );
        }
        remove(at)
    };
    let mut at = dir.to_owned();
    let parents: Vec<_> = relative
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .collect();
    for part in parents {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => clear(&at)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot look at {}", at.display())),
        }
        std::fs::create_dir(&at).with_context(|| format!("cannot create {}", at.display()))?;
    }
    let target = dir.join(relative);
    if let Ok(meta) = std::fs::symlink_metadata(&target)
        && meta.is_dir()
    {
        clear(&target)?;
    }
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let temporary = target.with_file_name(format!(".{name}.gemhole-new"));
    // Created anew (O_EXCL), so a link planted at its name is never written through.
    let _ = std::fs::remove_file(&temporary);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
        .and_then(|()| std::fs::rename(&temporary, &target))
        .with_context(|| format!("cannot write {}", target.display()))
}

/// Removes a file, a symlink (not what it leads to) or a folder tree of one file system.
fn remove(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot look at {}", path.display()))?;
    let removed = if meta.is_dir() {
        sweep(path, Path::new(""), meta.dev(), &HashSet::new());
        std::fs::remove_dir(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.with_context(|| format!("cannot remove {}", path.display()))
}

/// Removes below `dir` every file not in `keep` (paths relative to the build's folder, of which
/// `dir` is `relative`) and every folder left empty. Symlinks are removed as links; a folder on
/// another file system (a mount) is left alone, with a warning.
fn sweep(dir: &Path, relative: &Path, device: u64, keep: &HashSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let inside = relative.join(entry.file_name());
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if meta.is_dir() {
            if meta.dev() != device {
                eprintln!(
                    "gemhole: warning: {} is another file system mounted in the build's folder; \
                     left as it is",
                    path.display()
                );
                continue;
            }
            sweep(&path, &inside, device, keep);
            // Only if empty: a folder that still holds something stays.
            let _ = std::fs::remove_dir(&path);
        } else if !keep.contains(&inside)
            && let Err(e) = std::fs::remove_file(&path)
        {
            eprintln!("gemhole: warning: cannot remove {}: {e}", path.display());
        }
    }
}

/// What is at `path` (`given` names it in messages). Symlinks are not followed: writing into
/// one would write where it leads.
fn previous(path: &Path, given: &Path) -> anyhow::Result<Previous> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Previous::Nothing),
        Err(e) => return Err(e).with_context(|| format!("cannot look at {}", path.display())),
    };
    if meta.is_symlink() {
        let to = std::fs::read_link(path).unwrap_or_default();
        return Ok(Previous::Refused(format!(
            "it is a symbolic link (to {}), which a build does not follow; give the folder it \
             leads to as --out",
            to.display()
        )));
    }
    if !meta.is_dir() {
        return Ok(Previous::Refused("it is a file, not a folder".into()));
    }
    let marked = std::fs::symlink_metadata(path.join(BUILD_MARKER)).is_ok_and(|m| m.is_file());
    let empty = || -> anyhow::Result<bool> {
        let mut entries =
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?;
        Ok(entries.next().is_none())
    };
    if marked || empty()? {
        return Ok(Previous::Replaceable);
    }
    Ok(Previous::Refused(format!(
        "it is not empty and has no {BUILD_MARKER} file, so it is not an earlier build, and a \
         build removes what it did not write; choose another folder, or empty this one, or (to \
         have every file in it replaced) create {}",
        given.join(BUILD_MARKER).display()
    )))
}

/// `path` made absolute with symlinks resolved; the part of it that does not exist yet (and so
/// holds no links) is appended as written.
fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => return Ok(missing.iter().rev().fold(real, |p, name| p.join(name))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(e).with_context(|| format!("cannot resolve {}", path.display()));
                };
                missing.push(name);
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            Err(e) => return Err(e).with_context(|| format!("cannot resolve {}", path.display())),
        }
    }
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

fn log_certificate(cert: &HostCert) {
    tracing::info!(
        host = %cert.hostname,
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
