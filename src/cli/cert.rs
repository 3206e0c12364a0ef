//! `gemhole cert`: every host's certificates made where missing, then each one's file,
//! fingerprints and expiry printed — once no certificate folder or key lies in a capsule, now
//! or once the capsule folder exists.

use std::path::PathBuf;

use clap::Args;

use super::hosts::{chosen_hosts, names};
use super::output::{init_logging, origin, rfc3339, say};
use crate::config::{Config, Hostname, Overrides};
use crate::content::{CapsuleRoot, Secret};
use crate::server::tls;

#[derive(Debug, Args)]
pub(super) struct CertArgs {
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

pub(super) fn cert(args: CertArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        certs: args.certs,
        hostnames: args.hostnames,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let _log = init_logging(&config.log);
    keep_secrets_out_of_capsules(&config)?;
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

/// A key made inside a capsule would be served: every capsule there is now is checked before
/// any key is made (a missing one cannot hold it, but where it will be can).
fn keep_secrets_out_of_capsules(config: &Config) -> anyhow::Result<()> {
    let secrets = Secret::of(config);
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
    Ok(())
}
