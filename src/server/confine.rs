//! The process confined to its files (Linux Landlock): once the configuration is read, the
//! daemon, and every program it runs, may read only the capsules, templates, certificates,
//! the configuration's folder and what programs are declared to need, and write only the
//! certificates' folder, the capsules that take uploads (their history is inside) and the
//! folders declared for programs. Done before any thread starts, since a thread keeps the
//! rights it was started with. A kernel without Landlock runs as before, told in one line.

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
    path_beneath_rules,
};

use crate::config::{Config, PathAction};

/// The newest Landlock version whose rights are asked for; older kernels give what they have.
const ABI_WANTED: ABI = ABI::V5;

/// What confinement came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Confined {
    /// In force: the folders read and written.
    Yes {
        read: usize,
        written: usize,
        partly: bool,
    },
    /// The kernel cannot confine (no Landlock, it is off, or a system-call filter refuses
    /// it), and why.
    Unsupported(String),
    /// `confine = false`.
    Off,
}

/// Why the process could not be confined as asked.
#[derive(Debug, thiserror::Error)]
#[error("cannot confine the process ({0}); set `confine = false` to run without confinement")]
pub struct ConfineError(String);

/// The folders the daemon reads (and programs run from) and those it writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Allowed {
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
}

impl Allowed {
    /// What `config` needs, as its paths are now (missing ones are left out; the certificates'
    /// folder is made first, as the start would make it).
    pub fn of(config: &Config) -> Allowed {
        let mut allowed = Allowed::default();
        // Made now if missing, as the start would make it, unless it lies in a capsule (which
        // the start refuses, with its own message).
        let certs = std::path::absolute(&config.certs).unwrap_or_else(|_| config.certs.clone());
        let in_a_capsule = config.hosts.iter().any(|h| {
            let capsule = h
                .capsule
                .canonicalize()
                .unwrap_or_else(|_| h.capsule.clone());
            certs.starts_with(&capsule) || certs.starts_with(&h.capsule)
        });
        if !in_a_capsule {
            let _ = std::fs::create_dir_all(&config.certs);
        }
        allowed.write.push(config.certs.clone());
        if let Some(file) = &config.source {
            // Its folder, not the file: an editor saves by putting a new file in its place.
            allowed.read.extend(folder_of(file));
        }
        let web_files = config
            .hosts
            .iter()
            .flat_map(|h| [&h.http.cert, &h.http.key])
            .flatten();
        let tls_files = config.tls.values().flat_map(|p| [&p.cert, &p.key]);
        {
            for file in tls_files.chain(web_files) {
                allowed.read.extend(folder_of(file));
                // A renewal tool's link (`live/…` → `archive/…`): the files it points to.
                allowed
                    .read
                    .extend(file.canonicalize().ok().as_deref().and_then(folder_of));
            }
        }
        if let Some(keys) = &config.ticket_keys {
            allowed.read.extend(folder_of(keys));
        }
        let mut programs = false;
        for host in &config.hosts {
            let capsule = &host.capsule;
            let into = if host.titan.enabled {
                &mut allowed.write
            } else {
                &mut allowed.read
            };
            into.push(capsule.clone());
            // A capsule that is a link a deploy switches: the folder it is switched within.
            // (A folder renamed into its place is a new folder, out of reach until a restart.)
            if capsule.is_symlink() {
                into.extend(folder_of(capsule));
            }
            allowed.read.extend(host.templates.clone());
            programs |= host.paths.iter().any(|r| r.action == PathAction::Cgi);
        }
        // Time zones, for dates written without an offset.
        allowed.read.push(PathBuf::from("/usr/share/zoneinfo"));
        if programs {
            allowed.read.extend(config.cgi.read.iter().cloned());
            allowed.write.extend(config.cgi.write.iter().cloned());
        }
        allowed.read.retain(|p| p.exists());
        allowed.write.retain(|p| p.exists());
        allowed
    }
}

/// The folder holding a file (`.` for a bare name).
fn folder_of(file: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(file).ok()?;
    absolute.parent().map(Path::to_owned)
}

/// Whether this process is confined: programs are then started through `gemhole
/// run-program`, which confines them further (a program may not have the daemon's rights).
static IN_FORCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Whether [`confine`] put confinement in force.
pub fn in_force() -> bool {
    IN_FORCE.get().copied().unwrap_or(false)
}

/// Confines this process (and what it will start) to what `config` needs. Call it before any
/// other thread is started.
pub fn confine(config: &Config) -> Result<Confined, ConfineError> {
    if !config.confine {
        return Ok(Confined::Off);
    }
    let mut allowed = Allowed::of(config);
    // Programs are started through this very binary (see `in_force`).
    if config
        .hosts
        .iter()
        .any(|h| h.paths.iter().any(|r| r.action == PathAction::Cgi))
        && let Ok(exe) = std::env::current_exe()
    {
        allowed.read.push(exe);
    }
    let confined = restrict(&allowed, false)?;
    if let Confined::Yes { .. } = confined {
        let _ = IN_FORCE.set(true);
    }
    Ok(confined)
}

/// Confines a program's process (before it becomes the program) to `read` (read and run)
/// and `write`, within what the daemon had.
pub fn confine_program(read: &[PathBuf], write: &[PathBuf]) -> Result<(), ConfineError> {
    let allowed = Allowed {
        read: read.iter().filter(|p| p.exists()).cloned().collect(),
        write: write.iter().filter(|p| p.exists()).cloned().collect(),
    };
    // A program is never run less confined than it was meant to be.
    match restrict(&allowed, true)? {
        Confined::Yes { .. } => Ok(()),
        Confined::Unsupported(why) => Err(ConfineError(format!(
            "a program's confinement did not take ({why})"
        ))),
        Confined::Off => Err(ConfineError("a program's confinement did not take".into())),
    }
}

/// Restricts this thread (and what it starts) to `allowed`; `scoped`, also from signalling
/// a process, or reaching an abstract socket, outside its own confinement (a program may not
/// stop or reload the daemon; the daemon itself answers systemd's socket).
fn restrict(allowed: &Allowed, scoped: bool) -> Result<Confined, ConfineError> {
    let fail = |e: &dyn std::fmt::Display| ConfineError(e.to_string());
    let read = AccessFs::from_read(ABI_WANTED);
    let write = AccessFs::from_all(ABI_WANTED);
    let created = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_WANTED))
        .and_then(|r| {
            if scoped {
                r.scope(Scope::Signal | Scope::AbstractUnixSocket)
            } else {
                Ok(r)
            }
        })
        .and_then(|r| r.create());
    let mut ruleset = match created {
        Ok(ruleset) => ruleset,
        Err(e) => return Ok(Confined::Unsupported(e.to_string())),
    };
    let rules = allowed
        .read
        .iter()
        .map(|p| (p, read))
        .chain(allowed.write.iter().map(|p| (p, write)));
    // Programs' standard input is the null device, opened by the daemon for them.
    let null = PathBuf::from("/dev/null");
    for (path, access) in rules.chain([(&null, write)]) {
        // A file's rule keeps the rights a file can have.
        for rule in path_beneath_rules([path], access) {
            let Ok(rule) = rule else { continue };
            ruleset = ruleset
                .add_rule(rule)
                .map_err(|e| fail(&format!("{}: {e}", path.display())))?;
        }
    }
    let status = ruleset.restrict_self().map_err(|e| fail(&e))?;
    Ok(match status.ruleset {
        RulesetStatus::NotEnforced => Confined::Unsupported("no Landlock".into()),
        enforced => Confined::Yes {
            read: allowed.read.len(),
            written: allowed.write.len(),
            partly: enforced == RulesetStatus::PartiallyEnforced,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_that_takes_uploads_is_written_the_others_only_read() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "layout", "site/releases/1"] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
        }
        std::os::unix::fs::symlink("releases/1", dir.path().join("site/current")).unwrap();
        let text = "certs = \"certs\"\ntemplates = \"layout\"\n\
                    [[host]]\nhostnames = [\"a.example\"]\ncapsule = \"a\"\n\
                    [host.titan]\nenabled = true\nfingerprints = [\"spki:0000000000000000000000000000000000000000000000000000000000000000\"]\n\
                    [[host]]\nhostnames = [\"b.example\"]\ncapsule = \"site/current\"\n\
                    [[host.path]]\nmatch = \"/cgi/\"\ncgi = true\n";
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap();
        let config = Config::load(Some(&file), Default::default()).unwrap();
        let allowed = Allowed::of(&config);
        let at = |p: &str| dir.path().join(p);
        assert!(allowed.write.contains(&at("a")), "{allowed:?}");
        assert!(allowed.write.contains(&at("certs")), "{allowed:?}");
        assert!(at("certs").is_dir());
        assert!(!allowed.write.contains(&at("site/current")), "{allowed:?}");
        assert!(allowed.read.contains(&at("site/current")), "{allowed:?}");
        assert!(
            allowed.read.contains(&at("site")),
            "the deploy's folder: {allowed:?}"
        );
        assert!(allowed.read.contains(&at("layout")), "{allowed:?}");
        assert!(allowed.read.contains(&dir.path().to_owned()), "{allowed:?}");
        assert!(
            allowed.read.contains(&PathBuf::from("/usr")),
            "programs: {allowed:?}"
        );
    }
}
