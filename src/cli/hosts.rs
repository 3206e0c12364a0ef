//! The hosts a command works on and their capsule folders: every host or the one `--host`
//! names, the one host of a command that needs exactly one, and a capsule folder opened as the
//! server would (refused if it holds a private key).

use anyhow::Context;

use crate::config::{Config, HostConfig, Hostname};
use crate::content::{CapsuleRoot, Secret};

/// The hosts a command works on: the one that has `name`, else all of them.
pub(super) fn chosen_hosts<'a>(
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

/// The host of a command that works on one capsule: the one named, else the only one. With
/// several hosts and none named, `ask` says how to name one.
pub(super) fn one_host<'a>(
    config: &'a Config,
    name: Option<&Hostname>,
    ask: &str,
) -> anyhow::Result<&'a HostConfig> {
    match chosen_hosts(config, name)?.as_slice() {
        [host] => Ok(host),
        _ => anyhow::bail!(
            "this config serves several hosts: {ask} (the hosts: {})",
            names(config.hosts.iter().map(HostConfig::canonical))
        ),
    }
}

/// A host's capsule folder, opened: refused if it holds one of `secrets`, its areas known.
pub(super) fn open_capsule(host: &HostConfig, secrets: &[Secret]) -> anyhow::Result<CapsuleRoot> {
    Ok(CapsuleRoot::open(&host.capsule)
        .with_context(|| format!("capsule folder {}", host.capsule.display()))?
        .keep_secret(secrets)?
        .with_areas(&host.areas))
}

/// Names as a comma-separated list.
pub(super) fn names<'a>(names: impl IntoIterator<Item = &'a Hostname>) -> String {
    names
        .into_iter()
        .map(Hostname::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
