//! Live reload: watch the capsule folder and, when files change, read the site again off the
//! serving path and swap the new snapshot in atomically. A request holds one snapshot from
//! start to end, so nobody sees half of an update.
//!
//! Editors and sync tools write in steps (temporary files, renames, several files at once):
//! events are debounced, temporary and hidden files ignored, and one rebuild covers a burst.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::content::scan::ReadCache;
use crate::content::site::{BuildOptions, Problem, Site};
use crate::respond::Capsule;

/// How long the folder must be quiet before a rebuild starts.
const QUIET: Duration = Duration::from_millis(100);

/// Keeps the watch alive; dropping it stops watching.
pub struct Watch {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Starts watching `capsule`'s folder; each burst of relevant changes rebuilds the site and
/// stores the new snapshot in `current`. `posts` holds the posts the first build read, so the
/// first rebuild only reads what changed; `logged` are the problems that build already logged.
/// Must run inside a tokio runtime.
pub fn start(
    current: Arc<ArcSwap<Capsule>>,
    options: BuildOptions,
    posts: ReadCache,
    logged: &[Problem],
) -> notify::Result<Watch> {
    let logged: HashSet<String> = logged.iter().map(ToString::to_string).collect();
    let root = current.load().root.path().to_owned();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watch_root = root.clone();
    let mut debouncer = new_debouncer(QUIET, None, move |result: DebounceEventResult| {
        let relevant = match result {
            Ok(events) => events
                .iter()
                .flat_map(|e| e.event.paths.iter())
                .any(|p| matters(&watch_root, p)),
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "file watcher");
                }
                true
            }
        };
        if relevant {
            let _ = tx.send(());
        }
    })?;
    debouncer.watch(&root, RecursiveMode::Recursive)?;

    tokio::spawn(async move {
        // Unchanged posts are not read again; the cache moves in and out of the blocking task.
        let mut cache = Some(posts);
        // Problems already logged (at start-up or by an earlier reload) are not logged again.
        let mut known = Some(logged);
        while rx.recv().await.is_some() {
            // One rebuild for everything that arrived meanwhile.
            while rx.try_recv().is_ok() {}
            let current = Arc::clone(&current);
            let options = options.clone();
            let mut post_cache = cache.take().unwrap_or_default();
            let seen_before = known.take();
            let rebuilt = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let old = current.load_full();
                let (site, problems) = Site::build_cached(&old.root, &options, &mut post_cache);
                let problems: HashSet<String> = problems.iter().map(ToString::to_string).collect();
                for problem in &problems {
                    if seen_before.as_ref().is_none_or(|s| !s.contains(problem)) {
                        tracing::warn!("{problem}");
                    }
                }
                let posts = site.posts.len();
                current.store(Arc::new(old.with_site(site)));
                (posts, started.elapsed(), post_cache, problems)
            })
            .await;
            match rebuilt {
                Ok((posts, took, post_cache, problems)) => {
                    cache = Some(post_cache);
                    known = Some(problems);
                    tracing::info!(
                        "site reloaded: {posts} post(s) in {:.1} ms",
                        took.as_secs_f64() * 1000.0
                    )
                }
                Err(e) => {
                    tracing::error!(error = %e, "site reload failed; serving the previous one")
                }
            }
        }
    });
    Ok(Watch {
        _debouncer: debouncer,
    })
}

/// Whether a changed path can change what readers see: not hidden (`.git`, `.#lock`), not an
/// editor's or sync tool's temporary file.
fn matters(root: &Path, path: &Path) -> bool {
    let relative: PathBuf = path.strip_prefix(root).unwrap_or(path).to_owned();
    let hidden = relative.components().any(|c| match c {
        Component::Normal(name) => name.to_string_lossy().starts_with('.'),
        _ => false,
    });
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913";
    !hidden && !temporary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_and_hidden_files_do_not_matter() {
        let root = Path::new("/c");
        assert!(matters(root, Path::new("/c/posts/a.md")));
        assert!(matters(root, Path::new("/c/index.gmi")));
        for p in [
            "/c/posts/.a.md.swp",
            "/c/posts/a.md~",
            "/c/.git/index",
            "/c/posts/.#a.md",
            "/c/posts/4913",
            "/c/x.tmp",
            "/c/posts/.a.md.Xy12ab",
        ] {
            assert!(!matters(root, Path::new(p)), "{p}");
        }
    }
}
