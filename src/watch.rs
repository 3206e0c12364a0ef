//! Live reload: watch the capsule folder and, when files change, read the site again off the
//! serving path and swap the new snapshot in atomically. A request holds one snapshot from
//! start to end, so nobody sees half of an update.
//!
//! Editors and sync tools write in steps (temporary files, renames, several files at once):
//! temporary and hidden files are ignored, and a rebuild starts once the folder has been quiet
//! for a moment, so one rebuild covers a burst.
//! Changes to the config file or the certificates are passed on as a request to reload the
//! whole configuration, as SIGHUP does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::config::{WatchConfig, WatchMode};
use crate::content::CapsuleRoot;
use crate::content::files::{is_hidden, names};
use crate::content::scan::{self, SharedCache, Stamp};
use crate::content::{BuildOptions, Problem, Site};
use crate::respond::Capsule;

/// How long the folder must be quiet before a rebuild starts: editors and tools write a file,
/// or many, in quick steps, and one rebuild should see them all.
const QUIET: Duration = Duration::from_millis(50);

/// The longest a rebuild waits for quiet: a folder that never stops changing (a log written
/// inside the capsule) still gets its changes served.
const MOST_WAIT: Duration = Duration::from_secs(1);

/// The longest a post dated ahead waits past its date before it appears (a timer wakes the
/// rebuild; this bounds how far the clock may have jumped meanwhile).
const LONGEST_SLEEP: Duration = Duration::from_secs(3600);

/// Keeps the watch alive; dropping it ends the rebuild task, which owns the watcher (it
/// points the watcher at a new folder when a deploy replaces the capsule's).
pub struct Watch {
    _stop: tokio::sync::oneshot::Sender<()>,
    rebuilds: tokio::task::JoinHandle<()>,
    changes: UnboundedSender<Change>,
}

/// Tells a watch which files were just written, and hears when a snapshot that shows them is
/// served: whatever the watch mode, and without waiting for the kernel's events.
#[derive(Debug, Clone)]
pub struct Notifier(UnboundedSender<Change>);

impl Notifier {
    /// Asks for a rebuild that looks at `paths` (absolute) and waits until it is served;
    /// `false` if the watch has ended (or the rebuild could not serve the folder).
    pub async fn rebuilt(&self, paths: Vec<PathBuf>) -> bool {
        let (done, heard) = tokio::sync::oneshot::channel();
        if self.0.send(Change::Written(paths, done)).is_err() {
            return false;
        }
        heard.await.is_ok()
    }
}

impl Watch {
    /// What tells this watch of files written.
    pub fn notifier(&self) -> Notifier {
        Notifier(self.changes.clone())
    }

    /// Ends the watch and waits until its watcher is closed (after a rebuild under way).
    pub async fn end(self) {
        let Watch {
            _stop, rebuilds, ..
        } = self;
        drop(_stop);
        let _ = rebuilds.await;
    }
}

/// What the watch rebuilds and how it reports.
pub struct Target {
    /// The host's canonical name, which its log lines carry.
    pub host: String,
    /// The snapshot requests are answered from; each rebuild stores a new one.
    pub current: Arc<ArcSwap<Capsule>>,
    pub options: BuildOptions,
    /// The files the last build read, so a rebuild only reads what changed.
    pub cache: SharedCache,
    /// Problems already logged, not logged again by a rebuild that finds them still there.
    pub logged: Vec<Problem>,
    /// Where each rebuild leaves the problems it has logged, for a reload of the
    /// configuration to tell only new ones.
    pub told: Logged,
    /// What a folder swapped in under the capsule's name must pass before it is served (the
    /// rules between hosts that start and reload check).
    pub check_root: RootCheck,
}

/// Authors' mistakes as logged, shared between a host's watch and the reload that replaces it.
pub type Logged = Arc<std::sync::Mutex<HashSet<String>>>;

/// The set, even if a thread panicked holding it.
pub fn lock(logged: &Logged) -> std::sync::MutexGuard<'_, HashSet<String>> {
    logged.lock().unwrap_or_else(|e| e.into_inner())
}

/// A check of a capsule folder; `Err` says why it is not served.
pub type RootCheck = Arc<dyn Fn(&CapsuleRoot) -> Result<(), String> + Send + Sync>;

/// Starts watching the capsule folder, and the `config_files` (the config file and the
/// certificate files) whose change sends a message on `reload`; when the kernel's events
/// cannot be had, by polling. Must run inside a tokio runtime.
pub fn start(
    target: Target,
    settings: &WatchConfig,
    config_files: Vec<PathBuf>,
    reload: UnboundedSender<()>,
) -> Watch {
    let (root, configured) = {
        let current = target.current.load();
        (
            current.root.path().to_owned(),
            current.root.configured().to_owned(),
        )
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
    let notify_tx = tx.clone();
    // The snapshot was read before this watch began (a reload reads every host first): one
    // look at every file's stamp (and at what the capsule's name holds now) catches what
    // changed meanwhile.
    let _ = tx.send(Change::Unknown);
    let (poll_tx, poll_reload) = (tx.clone(), reload.clone());
    // Where the capsule folder is now: the rebuild moves it when a deploy swaps the folder.
    let watched = Arc::new(ArcSwap::from_pointee(root.clone()));
    let handler = Events {
        changes: tx,
        reload,
        watched: Arc::clone(&watched),
        config_files: config_files.iter().cloned().collect(),
        root_names: [root.clone(), configured.clone()],
    };
    let mut mode = settings.mode;
    let mut watcher = None;
    if mode == WatchMode::Events {
        watcher = watch_events(
            handler,
            &root,
            &configured,
            &config_files,
            &target.host,
            settings,
        );
        if watcher.is_none() {
            mode = WatchMode::Poll;
        }
    }
    if mode == WatchMode::Poll {
        // Every file's own stamp (size, inode, times to the nanosecond) is checked on each
        // look, so an edit within the same second, or a folder swapped back to an older one,
        // is seen too (a watcher comparing whole-second times that only go up misses both).
        tokio::spawn(poll(
            poll_tx,
            poll_reload,
            config_files.clone(),
            settings.poll_interval.duration(),
        ));
    }
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let rebuilds = tokio::spawn(rebuild_loop(target, rx, stopped, watcher, watched));
    Watch {
        _stop: stop,
        rebuilds,
        changes: notify_tx,
    }
}

/// What the kernel's events are turned into: a reload for a config or certificate file, a
/// look at what the capsule's name holds when it moved, and the changed files of the folder.
struct Events {
    changes: UnboundedSender<Change>,
    reload: UnboundedSender<()>,
    /// Where the capsule folder is now (the rebuild moves it when a deploy swaps the folder).
    watched: Arc<ArcSwap<PathBuf>>,
    config_files: HashSet<PathBuf>,
    /// The capsule folder's path and the name it was configured by.
    root_names: [PathBuf; 2],
}

impl notify::EventHandler for Events {
    /// Runs on the watcher's own thread, for each event or error it reports.
    fn handle_event(&mut self, result: notify::Result<notify::Event>) {
        match result {
            // Reading a file is an event too (ours included): only changes count.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(event) => {
                let rescan = event.need_rescan();
                if event.paths.iter().any(|p| self.config_files.contains(p)) {
                    let _ = self.reload.send(());
                }
                // The capsule folder itself moved, vanished or appeared (its parent is watched
                // for its name): the rebuild looks at what the name holds now.
                if event.paths.iter().any(|p| self.root_names.contains(p)) {
                    let _ = self.changes.send(Change::Unknown);
                }
                let watch_root = self.watched.load();
                let paths: Vec<PathBuf> = event
                    .paths
                    .into_iter()
                    .filter(|p| p.starts_with(&**watch_root) && matters(&watch_root, p))
                    .collect();
                if rescan {
                    let _ = self.changes.send(Change::Unknown);
                } else if !paths.is_empty() {
                    let _ = self.changes.send(Change::Paths(paths));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "file watcher");
                // Something may have been missed: check every file.
                let _ = self.changes.send(Change::Unknown);
            }
        }
    }
}

/// The kernel's events for the capsule folder `root` and for the folders that hold the config
/// files and the capsule's name (as `configured`); `None` (said in the log) when they cannot
/// be had, and the folder is to be polled.
fn watch_events(
    handler: Events,
    root: &Path,
    configured: &Path,
    config_files: &[PathBuf],
    host: &str,
    settings: &WatchConfig,
) -> Option<RecommendedWatcher> {
    // Folders, not files: editors and renewal tools replace a file by renaming another
    // over it, which would end a watch on the file itself.
    let mut folders: HashSet<&Path> = config_files.iter().filter_map(|f| f.parent()).collect();
    // The folder that holds the capsule's name: a deploy that swaps the capsule folder
    // (or the symlink by its name) is seen there.
    folders.extend(configured.parent());
    let started = notify::recommended_watcher(handler).and_then(|mut watcher| {
        watcher.watch(root, RecursiveMode::Recursive)?;
        for folder in folders {
            // One not made yet (a templates folder) is seen being made from its own folder,
            // which is watched too; the reload that follows watches it.
            if !folder.exists() {
                continue;
            }
            if let Err(e) = watcher.watch(folder, RecursiveMode::NonRecursive) {
                tracing::warn!(folder = %folder.display(), error = %e, "cannot watch for config changes");
            }
        }
        Ok(watcher)
    });
    match started {
        Ok(started) => Some(started),
        // Out of inotify instances or watches (one instance per host; Linux allows 128 per
        // user by default), or a file system without events: changes are still served.
        Err(e) => {
            tracing::warn!(
                host = %host,
                error = %e,
                "cannot watch the capsule folder for events; looking at it every {} s \
                 instead (raise fs.inotify.max_user_instances or max_user_watches, or set \
                 watch.mode = \"poll\")",
                settings.poll_interval.duration().as_secs()
            );
            None
        }
    }
}

/// Polling: asks for a full check of the capsule every `interval`, and for a reload when a
/// config or certificate file's stamp changes. Ends when the rebuild loop has.
async fn poll(
    changes: UnboundedSender<Change>,
    reload: UnboundedSender<()>,
    config_files: Vec<PathBuf>,
    interval: Duration,
) {
    let stamps = |files: &[PathBuf]| -> Vec<Option<Stamp>> {
        files
            .iter()
            .map(|f| std::fs::metadata(f).ok().map(|m| Stamp::of(&m)))
            .collect()
    };
    let mut last = stamps(&config_files);
    loop {
        tokio::time::sleep(interval).await;
        if changes.send(Change::Unknown).is_err() {
            return;
        }
        let now = stamps(&config_files);
        if now != last {
            let _ = reload.send(());
            last = now;
        }
    }
}

/// What the watcher saw change in the capsule folder.
#[derive(Debug)]
enum Change {
    /// These files or folders (absolute paths).
    Paths(Vec<PathBuf>),
    /// Unknown (events were lost): every file must be checked.
    Unknown,
    /// These files, just written by the server itself: told when a snapshot showing them is
    /// served.
    Written(Vec<PathBuf>, tokio::sync::oneshot::Sender<()>),
}

/// Waits until no message has arrived for [`QUIET`] (or [`MOST_WAIT`] has passed), and
/// returns every message that arrived meanwhile: one burst of changes, one rebuild.
pub async fn settle<T>(messages: &mut UnboundedReceiver<T>) -> Vec<T> {
    let give_up = tokio::time::Instant::now() + MOST_WAIT;
    let mut taken = Vec::new();
    loop {
        let until = (tokio::time::Instant::now() + QUIET).min(give_up);
        match tokio::time::timeout_at(until, messages.recv()).await {
            Ok(Some(message)) => {
                taken.push(message);
                if tokio::time::Instant::now() >= give_up {
                    return taken;
                }
            }
            _ => return taken,
        }
    }
}

/// Rebuilds the site for each burst of changes, and when a post dated ahead comes due.
async fn rebuild_loop(
    target: Target,
    mut changes: UnboundedReceiver<Change>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    watcher: Option<RecommendedWatcher>,
    watched: Arc<ArcSwap<PathBuf>>,
) {
    // Without a watcher nothing says which files changed: a timed rebuild checks them all.
    let events_known = watcher.is_some();
    let mut rebuilds = Rebuilds::new(target, watcher, watched);
    loop {
        let due = rebuilds.due;
        let wait = due.map_or(LONGEST_SLEEP, |d| d.min(LONGEST_SLEEP));
        let first = tokio::select! {
            _ = &mut stopped => return,
            change = changes.recv() => match change {
                Some(change) => Some(change),
                None => return,
            },
            () = tokio::time::sleep(wait) => if due.is_none() { continue } else { None },
        };
        // One rebuild for everything that arrives until the folder is quiet.
        let mut burst = Burst::gather(first, &mut changes, !events_known).await;
        let Some(root) = rebuilds.root_now(&mut burst) else {
            continue;
        };
        rebuilds.rebuild(root, burst.unknown, burst.changed).await;
        // What was written is served now (or was found as it was).
        for done in burst.waiting {
            let _ = done.send(());
        }
    }
}

/// The changes one rebuild covers.
struct Burst {
    /// The files and folders named as changed.
    changed: HashSet<PathBuf>,
    /// Whether every file must be looked at (nothing says which changed).
    unknown: bool,
    /// Who waits to hear that what they wrote is served.
    waiting: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Burst {
    /// `first` and every change that arrives until the folder is quiet (see [`settle`]).
    async fn gather(
        first: Option<Change>,
        changes: &mut UnboundedReceiver<Change>,
        unknown: bool,
    ) -> Burst {
        let mut burst = Burst {
            changed: HashSet::new(),
            unknown,
            waiting: Vec::new(),
        };
        for change in first.into_iter().chain(settle(changes).await) {
            match change {
                Change::Paths(paths) => burst.changed.extend(paths),
                Change::Unknown => burst.unknown = true,
                Change::Written(paths, done) => {
                    burst.changed.extend(paths);
                    burst.waiting.push(done);
                }
            }
        }
        burst
    }
}

/// What the rebuild loop keeps from one rebuild to the next.
struct Rebuilds {
    /// What each rebuild reads, and where it serves the result.
    build: Build,
    check_root: RootCheck,
    watcher: Option<RecommendedWatcher>,
    /// Where the capsule folder is now, for the watcher's events.
    watched: Arc<ArcSwap<PathBuf>>,
    /// Why the capsule's name holds no folder we can serve, as last logged (logged again only
    /// when the reason changes).
    root_refused: Option<String>,
    /// The problems already logged (`None` while a rebuild is under way, or after one failed:
    /// the next logs them all).
    known: Option<HashSet<String>>,
    /// The same, for a reload of the configuration.
    told: Logged,
    /// How long until the next post dated ahead is due, if one waits.
    due: Option<Duration>,
}

impl Rebuilds {
    /// The loop's state at the start: the snapshot's problems taken as logged.
    fn new(
        target: Target,
        watcher: Option<RecommendedWatcher>,
        watched: Arc<ArcSwap<PathBuf>>,
    ) -> Rebuilds {
        let Target {
            host,
            current,
            options,
            cache,
            logged,
            told,
            check_root,
        } = target;
        // Unchanged posts are not read again.
        let known = Some(
            logged
                .iter()
                .map(ToString::to_string)
                .collect::<HashSet<_>>(),
        );
        let due = next_due(&current.load().site, &options);
        Rebuilds {
            build: Build {
                host,
                current,
                options,
                cache,
            },
            check_root,
            watcher,
            watched,
            root_refused: None,
            known,
            told,
            due,
        }
    }

    /// The folder to read: a deploy may have put another folder (or none) under the capsule's
    /// name, so what it holds now is served and watched (every file then looked at). `None`
    /// while it holds none that can be served: what was last read is still served.
    fn root_now(&mut self, burst: &mut Burst) -> Option<CapsuleRoot> {
        let host = &self.build.host;
        let root = self.build.current.load().root.clone();
        if !root.replaced() {
            return Some(root);
        }
        let reopened = root
            .reopen()
            .map_err(|e| match e.kind() {
                // A confined server reaches only the folders it was started with.
                std::io::ErrorKind::PermissionDenied => format!(
                    "{e}: a folder outside those the server was started with needs a restart \
                     when it is confined"
                ),
                _ => e.to_string(),
            })
            .and_then(|fresh| (self.check_root)(&fresh).map(|()| fresh));
        match reopened {
            Ok(fresh) => {
                tracing::info!(
                    host = %host,
                    "the capsule folder {} was replaced; reading it again",
                    fresh.configured().display()
                );
                if let Some(watcher) = &mut self.watcher {
                    let _ = watcher.unwatch(root.path());
                    if let Err(e) = watcher.watch(fresh.path(), RecursiveMode::Recursive) {
                        tracing::warn!(host = %host, error = %e, "cannot watch the new capsule folder");
                    }
                }
                self.watched.store(Arc::new(fresh.path().to_owned()));
                burst.unknown = true;
                self.root_refused = None;
                Some(fresh)
            }
            Err(reason) => {
                if self.root_refused.as_ref() != Some(&reason) {
                    tracing::warn!(
                        host = %host,
                        "the capsule folder {} is gone, cannot be read or cannot be served \
                         ({reason}); still serving what was last read from it",
                        root.configured().display()
                    );
                    self.root_refused = Some(reason);
                }
                None
            }
        }
    }

    /// Reads `root` again off the async threads (every file's stamp if `unknown`, else only
    /// the `changed` ones), and notes what the new snapshot holds.
    async fn rebuild(&mut self, root: CapsuleRoot, unknown: bool, changed: HashSet<PathBuf>) {
        let build = self.build.clone();
        let seen_before = self.known.take();
        let rebuilt =
            tokio::task::spawn_blocking(move || build.run(root, unknown, changed, seen_before))
                .await;
        let host = &self.build.host;
        match rebuilt {
            Ok(Rebuilt {
                posts,
                took,
                problems,
                due,
                changed,
                files,
            }) => {
                *lock(&self.told) = problems.clone();
                self.known = Some(problems);
                self.due = due;
                if changed {
                    tracing::info!(
                        host = %host,
                        "site reloaded: {posts} post(s) in {:.1} ms ({files})",
                        took.as_secs_f64() * 1000.0
                    )
                }
            }
            Err(e) => {
                tracing::error!(host = %host, error = %e, "site reload failed; serving the previous one")
            }
        }
    }
}

/// What a rebuild reads and where it serves what it read: a copy goes to the thread of each
/// rebuild.
#[derive(Clone)]
struct Build {
    /// The host's canonical name, which its log lines carry.
    host: String,
    current: Arc<ArcSwap<Capsule>>,
    options: BuildOptions,
    cache: SharedCache,
}

/// What one rebuild found.
struct Rebuilt {
    posts: usize,
    took: Duration,
    /// Every problem it found, as logged.
    problems: HashSet<String>,
    /// How long until the next post dated ahead is due.
    due: Option<Duration>,
    /// Whether a new snapshot is served.
    changed: bool,
    /// The files that changed, as the reload line names them.
    files: String,
}

impl Build {
    /// One rebuild, blocking: reads `root` (only the `changed` files unless `unknown`), logs
    /// the problems not in `seen_before`, and serves the new snapshot if it differs.
    fn run(
        self,
        root: CapsuleRoot,
        unknown: bool,
        changed: HashSet<PathBuf>,
        seen_before: Option<HashSet<String>>,
    ) -> Rebuilt {
        let started = Instant::now();
        let old = self.current.load_full();
        let mut read_cache = scan::lock(&self.cache);
        let named = (!unknown).then(|| told_files(root.path(), changed.iter(), changed.len()));
        if !unknown {
            // Files the watcher did not name are taken as they were, without a `stat`.
            read_cache.only_changed(changed);
        }
        let (site, problems) = Site::build_cached(&root, &self.options, &mut read_cache);
        let read = (
            read_cache.last_read(),
            read_cache.last_read_files().to_vec(),
        );
        drop(read_cache);
        let problems = log_new(&self.host, &problems, seen_before.as_ref());
        let posts = site.posts.len();
        let due = next_due(&site, &self.options);
        // Nothing changed (a poll that found the folder as it was): the snapshot, and the
        // answers rendered from it, stay.
        // (A folder swapped in has the same path as the one it replaced: it is told by
        // what it is.)
        let changed = site != old.site || !root.same_folder(&old.root);
        let files = named.unwrap_or_else(|| match read {
            (0, _) => "files removed".to_owned(),
            (count, files) => told_files(Path::new(""), files.iter(), count),
        });
        if changed {
            // Told once: the next rebuild compares with this snapshot.
            for renamed in site.likely_renames(&old.site) {
                let told = renamed.to_string();
                tracing::info!(target: AUTHOR, host = %self.host, "{}", crate::convert::printable(&told));
            }
            self.current.store(Arc::new(old.with_root(root, site)));
        }
        Rebuilt {
            posts,
            took: started.elapsed(),
            problems,
            due,
            changed,
            files,
        }
    }
}

/// The log target of authors' mistakes (a post's front matter, a broken link): theirs to
/// fix, told beside the server's own lines rather than as its warnings.
pub const AUTHOR: &str = "author";

/// Files most reload lines name; the rest are counted.
const FILES_TOLD: usize = 5;

/// The changed files as a reload line names them: relative to the capsule, sorted, the first
/// few, and how many more of the `total`.
fn told_files<'a>(root: &Path, files: impl Iterator<Item = &'a PathBuf>, total: usize) -> String {
    let mut names: Vec<String> = files
        .map(|f| {
            let relative = f.strip_prefix(root).unwrap_or(f);
            crate::convert::printable(&relative.to_string_lossy()).into_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    let more = total
        .max(names.len())
        .saturating_sub(FILES_TOLD.min(names.len()));
    names.truncate(FILES_TOLD);
    let mut told = names.join(", ");
    if more > 0 {
        told.push_str(&format!(" and {more} more"));
    }
    if told.is_empty() {
        told.push_str("no file named");
    }
    told
}

/// Logs the problems a rebuild found that `seen_before` does not hold, in the order the
/// rebuild found them (an error before the note about the last good version it keeps
/// published), each once; every problem, as logged.
fn log_new(
    host: &str,
    problems: &[Problem],
    seen_before: Option<&HashSet<String>>,
) -> HashSet<String> {
    let mut logged = HashSet::new();
    for problem in problems.iter().map(ToString::to_string) {
        if seen_before.is_none_or(|s| !s.contains(&problem)) && !logged.contains(&problem) {
            // File names are authors': nothing in them may forge a line.
            tracing::info!(target: AUTHOR, host = %host, "{}", crate::convert::printable(&problem));
        }
        logged.insert(problem);
    }
    logged
}

/// How long until the next post dated ahead is due, or one expires, if one waits.
fn next_due(site: &Site, options: &BuildOptions) -> Option<Duration> {
    let today = crate::content::post::PostDate::now();
    let now = today.at();
    site.all_posts()
        .filter_map(|p| p.meta.next_change(today, options.show_future))
        .map(|at| at.at())
        .min()
        .map(|date| {
            // A moment past the date, so the rebuild finds it in the past.
            Duration::try_from(date.duration_since(now)).unwrap_or_default()
                + Duration::from_millis(10)
        })
}

/// Whether a changed path can change what readers see: not hidden (`.git`, `.#lock`), not an
/// editor's or sync tool's temporary file (never served either).
fn matters(root: &Path, path: &Path) -> bool {
    let relative: PathBuf = path.strip_prefix(root).unwrap_or(path).to_owned();
    !is_hidden(names(&relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = "---\ntitle: New\ndate: 2024-01-01\n---\nText.\n";

    /// A snapshot of the folder `capsule` (created), and a watch target for it.
    fn snapshot(capsule: &Path) -> (Arc<ArcSwap<Capsule>>, Target) {
        std::fs::create_dir_all(capsule.join("posts")).unwrap();
        let root = crate::content::CapsuleRoot::open(capsule).unwrap();
        let host = crate::config::HostConfig::default();
        let options = BuildOptions::new(&host);
        let (site, _) = Site::build(&root, &options);
        let current = Arc::new(ArcSwap::from_pointee(Capsule::new(
            root,
            site,
            &host,
            Default::default(),
        )));
        let target = Target {
            host: "localhost".into(),
            current: Arc::clone(&current),
            options,
            cache: SharedCache::default(),
            logged: Vec::new(),
            told: Logged::default(),
            check_root: Arc::new(|_| Ok(())),
        };
        (current, target)
    }

    /// Waits (up to a deadline) until the snapshot holds a post.
    async fn until_a_post_is_served(current: &ArcSwap<Capsule>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while current.load().site.posts.is_empty() {
            assert!(Instant::now() < deadline, "the new post was never read");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Without the kernel's events (here: the folder vanished before the watch began; in
    /// production: out of inotify instances), the folder is polled, and changes are served.
    #[tokio::test]
    async fn without_events_the_folder_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let capsule = dir.path().join("capsule");
        let (current, target) = snapshot(&capsule);
        std::fs::remove_dir_all(&capsule).unwrap();
        let settings = WatchConfig {
            mode: WatchMode::Events,
            poll_interval: crate::config::Seconds::try_from(1).unwrap(),
        };
        let (reload, _reloads) = tokio::sync::mpsc::unbounded_channel();
        let watch = start(target, &settings, Vec::new(), reload);
        std::fs::create_dir_all(capsule.join("posts")).unwrap();
        std::fs::write(capsule.join("posts/2024-01-01-new.md"), POST).unwrap();
        until_a_post_is_served(&current).await;
        watch.end().await;
    }

    /// What changed between the read of the snapshot and the start of its watch is served
    /// (a reload reads every host, then swaps in the new watches).
    #[tokio::test]
    async fn changes_made_before_the_watch_began_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let capsule = dir.path().join("capsule");
        let (current, target) = snapshot(&capsule);
        std::fs::write(capsule.join("posts/2024-01-01-new.md"), POST).unwrap();
        let (reload, _reloads) = tokio::sync::mpsc::unbounded_channel();
        let watch = start(target, &WatchConfig::default(), Vec::new(), reload);
        until_a_post_is_served(&current).await;
        watch.end().await;
    }

    #[test]
    fn temporary_and_hidden_files_do_not_matter() {
        let root = Path::new("/c");
        assert!(matters(root, Path::new("/c/posts/a.md")));
        assert!(matters(root, Path::new("/c/index.gmi")));
        assert!(matters(root, Path::new("/c/.well-known/security.txt")));
        for p in [
            "/c/posts/.a.md.swp",
            "/c/posts/a.md~",
            "/c/.git/index",
            "/c/posts/.#a.md",
            "/c/posts/4913",
            "/c/x.tmp",
            "/c/posts/.a.md.Xy12ab",
            "/c/.well-known/.x",
        ] {
            assert!(!matters(root, Path::new(p)), "{p}");
        }
    }
}
