//! `gemhole serve`: the config loaded with the command line's values, logs started, the
//! listeners bound and announced, and the server run until a signal, each reload reading the
//! same file again.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::hosts::names;
use super::output::{init_logging, origin, rfc3339};
use crate::config::{Config, Hostname, ListenAddr, Overrides};
use crate::server::confine::Confined;
use crate::server::tls::HostCert;
use crate::server::{self, Server};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
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
    /// Address to listen on, e.g. 0.0.0.0:1965 or [::]:1965; repeatable. The Gemini addresses
    /// given on the command line replace all of the file's (`listen` and `proxy_listen`)
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<ListenAddr>,
    /// Also serve the capsule over Gopher on this address, e.g. 0.0.0.0:70; repeatable. The
    /// Gopher addresses given replace all of the file's (`gopher.listen` and
    /// `gopher.proxy_listen`; single-host configs only)
    #[arg(long = "gopher-listen", value_name = "ADDR")]
    gopher_listen: Vec<ListenAddr>,
    /// Address for a balancer in front (HAProxy's send-proxy-v2): every connection starts with
    /// a PROXY protocol header; repeatable (with --listen, replaces the file's Gemini
    /// addresses)
    #[arg(long = "proxy-listen", value_name = "ADDR")]
    proxy_listen: Vec<ListenAddr>,
    /// The same for Gopher; repeatable (with --gopher-listen, replaces the file's Gopher
    /// addresses; single-host configs only)
    #[arg(long = "gopher-proxy-listen", value_name = "ADDR")]
    gopher_proxy_listen: Vec<ListenAddr>,
    /// Also serve the capsule to web browsers, as HTML, over plain HTTP on this address, e.g.
    /// 127.0.0.1:8080 behind a reverse proxy; repeatable. Replaces all of the file's HTTP
    /// addresses (`http.listen`, `http.proxy_listen`, `http.https_listen`; single-host
    /// configs only)
    #[arg(long = "http-listen", value_name = "ADDR")]
    http_listen: Vec<ListenAddr>,
    /// Write client IP addresses into the access log (sets `log.ip`)
    #[arg(long)]
    log_ip: bool,
    /// Show drafts and posts dated ahead to every reader, marked, with a /drafts/ page: a
    /// local preview (authors' certificates see them anyway). Opens no Gopher port but one
    /// given by --gopher-listen
    #[arg(long)]
    drafts: bool,
}

/// Threads for blocking work (opening and reading files, folder lookups, site rebuilds). A read
/// from the page cache takes microseconds, so more threads would mostly add memory: tokio's
/// default of 512 lets a burst of file requests start hundreds.
const BLOCKING_THREADS: usize = 16;

pub(super) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        capsule: args.capsule,
        certs: args.certs,
        hostnames: args.hostnames,
        listen: args.listen,
        proxy_listen: args.proxy_listen,
        gopher_listen: args.gopher_listen,
        gopher_proxy_listen: args.gopher_proxy_listen,
        http_listen: args.http_listen,
        log_ip: args.log_ip,
        drafts: args.drafts,
    };
    let config = Config::load(args.config.as_deref(), overrides.clone())?;
    // Before any thread starts (the log's own too): each keeps the rights it began with.
    let confined = server::confine::confine(&config)?;
    let _log = init_logging(&config.log);
    match confined {
        Confined::Yes {
            read,
            written,
            partly,
        } => tracing::info!(
            "confined to its files: {read} folder(s) read, {written} written{}",
            if partly {
                " (as far as this kernel's Landlock goes)"
            } else {
                ""
            }
        ),
        Confined::Unsupported(why) => tracing::warn!(
            "this kernel cannot confine the process ({why}): running with every file its \
             user may read"
        ),
        Confined::Off => {}
    }
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
        announce(&server);
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signals(shutdown.clone()));
        server.run(shutdown, load_config).await;
        anyhow::Ok(())
    });
    // A file-system call stuck in the kernel (a hung network mount) must not keep the process
    // from exiting once connections are done: blocking work gets a moment, then is left.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Logs what is served: each host's certificates, capsule folder and names, and each listener.
fn announce(server: &Server) {
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
    for (addr, names, proxied, https) in server.web_addrs() {
        let kind = match (https, proxied) {
            (true, _) => "https",
            (false, true) => "http, PROXY protocol",
            (false, false) => "http",
        };
        if hosts.len() > 1 {
            let names: Vec<&str> = names.iter().map(Hostname::as_str).collect();
            tracing::info!("listening on {addr} ({kind}) for {}", names.join(", "));
        } else {
            tracing::info!("listening on {addr} ({kind})");
        }
    }
}

/// Cancels `shutdown` at the first SIGINT or SIGTERM; a second one exits at once.
async fn cancel_on_signals(shutdown: CancellationToken) {
    if let Err(e) = server::shutdown_signal().await {
        tracing::error!(error = %e, "cannot watch for signals");
        return;
    }
    shutdown.cancel();
    // A second signal means the operator does not want to wait for the grace period.
    if server::shutdown_signal().await.is_ok() {
        tracing::warn!("second signal; exiting without waiting");
        std::process::exit(1);
    }
}

/// One certificate of `host` in the log, as `cert` prints it.
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
