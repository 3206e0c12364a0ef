//! Titan on the Gemini port: an author's client writes, replaces, deletes or fetches the source
//! of a page of the capsule. Everything that can be refused is refused before a byte of the
//! body is read, in the order an author can act on: host (`53`), form (`59`), certificate
//! (`60`/`61`/`62`), token and place (`61`), then the name, the size and the quota (`59`).
//! Then exactly `size` bytes are read, checked off the async threads (an upload that would
//! lose what an author wrote, or take a URL another post holds, is refused with `59`) and
//! written whole; what it replaces is kept in the history, and the live reload serves the
//! page within its latency.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout;

use super::conn::{AccessLog, on_disk};
use super::gemini::Response;
use super::host::{Host, Hosts};
use crate::content::files::{is_hidden, is_markdown, names};
use crate::content::front_matter;
use crate::content::scan::examine_text;
use crate::content::store::{HISTORY_DIR, HistoryLock, Quota, StoreError};
use crate::convert::mime::mime_for;
use crate::convert::url::{Origin, encode_path};
use crate::protocol::identity::{self, Identity, Purpose};
use crate::protocol::status::Status;
use crate::protocol::titan;
use crate::respond::Capsule;

/// The longest file name Linux file systems take.
const MAX_NAME_BYTES: usize = 255;

/// The longest META a refusal carries (a header line is at most 1024 bytes with its status).
const MAX_META_BYTES: usize = 1000;

/// Answers a Titan request line; `None` when the connection is to be closed without an
/// answer (the body was cut short, or never came).
pub(super) async fn respond<S: AsyncRead + Unpin>(
    stream: &mut S,
    line: &[u8],
    early: &[u8],
    local: SocketAddr,
    hosts: (&Hosts, &Arc<Host>),
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Option<Response> {
    let Upload {
        host,
        capsule,
        target,
        request,
    } = match checked(line, early, local, hosts, identity, log).await {
        Ok(upload) => upload,
        Err(refused) => return Some(refused),
    };
    if request.edit {
        return Some(source_of(&capsule, &target, host.titan.max_size.bytes(), log).await);
    }
    let size = request.size.unwrap_or(0);
    let body = if size == 0 {
        None
    } else {
        Some(read_body(stream, early, size, hosts.0, log).await?)
    };
    // One write at a time, in this process and among every server on the folder (nodes on
    // shared storage): each is checked against a snapshot that shows every write before it,
    // and answered once the snapshot shows it (so a URL taken a moment ago is taken, and the
    // page a client is sent to is there).
    let Ok(_turn) = timeout(TURN_WAIT, WRITES.lock()).await else {
        log.note = "too many uploads at once";
        return Some(Response::header(
            Status::TemporaryFailure,
            "Another upload is being written: nothing was written, try again in a moment",
        ));
    };
    // The folder served now (a deploy may have swapped another in under the capsule's name),
    // and its lock.
    let Some(served) = caught_up(host, &capsule, Vec::new()).await else {
        return Some(not_now(log));
    };
    let held = match history_lock(&served, log).await {
        Ok(held) => Arc::new(held),
        Err(refused) => return Some(refused),
    };
    let recent = {
        let (served, held) = (Arc::clone(&served), Arc::clone(&held));
        on_disk(move || Ok(served.root.recent_writes(&held)))
            .await
            .unwrap_or_default()
    };
    let capsule = match caught_up(host, &served, recent).await {
        // Written into the folder whose lock is held, and served.
        Some(now) if now.root.same_folder(&served.root) && !now.root.replaced() => now,
        _ => return Some(not_now(log)),
    };
    let Some(body) = body else {
        return Some(delete(&capsule, &held, &target, host, identity, log).await);
    };
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(local.port()),
    );
    // A page's checks cost what converting its text does: off the async threads.
    let checked = {
        let (capsule, target, host) = (Arc::clone(&capsule), target.clone(), Arc::clone(host));
        let edit_url = edit_url(&origin, &request.target.raw_path);
        on_disk(move || Ok(check_body(&capsule, &target, body, &host, &edit_url))).await
    };
    let body = match checked {
        Ok(Ok(body)) => body,
        Ok(Err(refusal)) => {
            log.note = refusal.note;
            return Some(Response::header(Status::BadRequest, refusal.meta));
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot check an upload");
            log.note = "cannot check the upload";
            return Some(Response::header(
                Status::TemporaryFailure,
                "Cannot check the upload: try again",
            ));
        }
    };
    let stored = {
        let (capsule, target, held) = (Arc::clone(&capsule), target.clone(), Arc::clone(&held));
        let quota = quota_of(host);
        in_capsule(
            move || {
                let kept = capsule
                    .root
                    .store(&held, &target, &body, None, Some(&quota))?;
                // Not remembered: other servers then see it by their watch alone.
                if let Err(e) = capsule.root.note_write(&held, &target) {
                    tracing::warn!(error = %e, "cannot note a write in the history");
                }
                Ok(kept)
            },
            log,
            "Cannot store the upload",
        )
        .await
    };
    let kept = match stored {
        Ok(kept) => kept,
        Err(refused) => return Some(refused),
    };
    log.note = "upload stored";
    tracing::info!(
        host = %host.canonical(),
        // Named by the client: quoted and escaped, as the access log's path, so a space, a
        // `=` or a line separator in it cannot forge a field or a line.
        file = ?target.to_string_lossy(),
        bytes = size,
        kept = ?kept.as_deref().map_or("-".into(), Path::to_string_lossy),
        cert = %identity.map(Identity::short).unwrap_or_default(),
        "published from a Gemini client"
    );
    let now = caught_up(host, &capsule, vec![target.clone()])
        .await
        .unwrap_or(capsule);
    let url = now.page_url(&target);
    Some(Response::header(
        Status::RedirectTemporary,
        origin.absolute(&url),
    ))
}

/// Titan writes of this process, one at a time.
static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long an upload waits for the one before it (in this process) to be written and shown.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// How long an upload waits for the history's lock, which another server on the folder, or a
/// restore, may hold.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long a write waits for the snapshot to show it before it is answered all the same.
const SHOWN_WAIT: Duration = Duration::from_secs(10);

/// The history's lock, waited for without holding a thread (it is asked for again every few
/// milliseconds); `40` when another writer keeps it past [`LOCK_WAIT`].
async fn history_lock(
    capsule: &Arc<Capsule>,
    log: &mut AccessLog,
) -> Result<HistoryLock, Response> {
    let mut file = {
        let capsule = Arc::clone(capsule);
        match on_disk(move || Ok(capsule.root.lock_file())).await {
            Ok(Ok(file)) => file,
            // The history is the operator's to mend (a symlink or a file in its place, a
            // folder the server may not write): the author's path is not at fault.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot take the lock of the capsule's history");
                return Err(refuse(
                    log,
                    Status::TemporaryFailure,
                    "The server may not write to the capsule's history (.history/): nothing \
                     was written; its operator's log says why",
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the lock of the capsule's history");
                return Err(refuse(
                    log,
                    Status::TemporaryFailure,
                    "Cannot look at the capsule folder: nothing was written, try again",
                ));
            }
        }
    };
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        // A lock asked for without waiting: no time spent in the call.
        match file.try_lock() {
            Ok(held) => return Ok(held),
            Err(back) if tokio::time::Instant::now() < deadline => file = back,
            Err(_) => {
                log.note = "the history's lock is held elsewhere";
                return Err(Response::header(
                    Status::TemporaryFailure,
                    "Another server or command is writing to this capsule: nothing was \
                     written, try again in a moment",
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The snapshot once it shows `files` (relative) as they are now, and the folder the
/// capsule's name holds now (a deploy may have swapped it): the host's watch is told of them
/// and looks at once, whatever its mode. After [`SHOWN_WAIT`], the snapshot as it is. `None`
/// when the host's watch has ended: a configuration reload made another host of it, whose
/// snapshot this one no longer follows.
async fn caught_up(host: &Host, capsule: &Capsule, files: Vec<PathBuf>) -> Option<Arc<Capsule>> {
    let watch = host.watch.get()?;
    let paths = files.iter().map(|f| capsule.root.path().join(f)).collect();
    match timeout(SHOWN_WAIT, watch.rebuilt(paths)).await {
        Ok(false) => None,
        Ok(true) | Err(_) => Some(host.capsule.load_full()),
    }
}

/// `40` for an upload that came during a configuration reload or a swap of the capsule
/// folder: what it was checked against is no longer what is served.
fn not_now(log: &mut AccessLog) -> Response {
    log.note = "the configuration or the capsule folder changed during the upload";
    Response::header(
        Status::TemporaryFailure,
        "The server's configuration or capsule folder changed while this upload came in: \
         nothing was written, try again",
    )
}

/// The host's quota, as the store checks it.
fn quota_of(host: &Host) -> Quota {
    Quota {
        below: host.titan.folders(),
        limit: host.titan.quota.bytes(),
    }
}

/// An upload (or edit, or delete) that passed every check made before its body.
struct Upload<'a> {
    host: &'a Arc<Host>,
    capsule: Arc<Capsule>,
    /// The file it is about, relative to the capsule root.
    target: PathBuf,
    request: titan::TitanRequest,
}

/// Everything checked before a byte of the body is read, in the order the answers are given:
/// host (`53`), form (`59`), certificate (`60`/`61`/`62`), token, place and permission
/// (`61`), then the name, the file, the size and the quota (`59`).
async fn checked<'a>(
    line: &[u8],
    early: &[u8],
    local: SocketAddr,
    (hosts, conn): (&Hosts, &'a Arc<Host>),
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Result<Upload<'a>, Response> {
    let parsed = titan::parse(line);
    if let Ok(request) = &parsed {
        log.host = request.target.host.to_string();
        // The path only: the parameters may hold the token.
        log.path = request.target.raw_path.clone();
    }
    // Every request line counts against its address's rate, uploads too.
    if let Err(wait) = hosts.per_address.request(log.peer.ip()) {
        log.note = "over the request rate of its address";
        return Err(Response::header(Status::SlowDown, wait.to_string()));
    }
    // Only the connection's own host is served on it: where that host takes no uploads, a
    // titan:// request is refused as by a server without Titan, whatever its form.
    if !conn.titan.enabled {
        return Err(refuse(
            log,
            Status::ProxyRequestRefused,
            "Only gemini:// URLs are served here",
        ));
    }
    let request = parsed.map_err(|r| refuse(log, r.status, r.reason))?;
    let host = hosts
        .route(conn, &request.target, local)
        .map_err(|r| refuse(log, r.status, r.reason))?;
    let settings = &host.titan;
    identity::admit(
        &settings.fingerprints,
        identity,
        identity::now(),
        Purpose::Titan,
    )
    .map_err(|r| refuse(log, r.status, r.meta))?;
    // Reading a source is the author's certificate's alone (Lagrange asks for `;edit` without
    // a token); writing needs the token too.
    if let Some(expected) = settings.token.as_ref().filter(|_| !request.edit) {
        let why = match &request.token {
            None => {
                "Publishing here needs the capsule's token: add it in your client's upload \
                     dialog"
            }
            Some(given) if !same_secret(given, expected.as_bytes()) => "Wrong token",
            Some(_) => "",
        };
        if !why.is_empty() {
            return Err(refuse(log, Status::CertificateNotAuthorised, why));
        }
    }
    let segments = &request.target.segments;
    place_allowed(host, segments, identity, log)?;
    let size = request.size.unwrap_or(0);
    if !request.edit && size == 0 && !settings.allow_delete {
        return Err(refuse(
            log,
            Status::CertificateNotAuthorised,
            "Deleting is not allowed here (size=0 deletes; see [titan] allow_delete)",
        ));
    }
    check_names(segments, log)?;
    let capsule = host.capsule.load_full();
    let target = {
        let (capsule, segments) = (Arc::clone(&capsule), segments.clone());
        in_capsule(
            move || file_of(&capsule, &segments),
            log,
            "Cannot look at the capsule folder",
        )
        .await?
    };
    // The file a URL names lies in the URL's folder; checked again by its own path all the
    // same, as every rule is.
    let file_segments: Vec<String> = names(&target).map(str::to_owned).collect();
    place_allowed(host, &file_segments, identity, log)?;
    check_names(&file_segments, log)?;
    check_folders(&capsule, &file_segments, log)?;
    {
        let (capsule, target) = (Arc::clone(&capsule), target.clone());
        in_capsule(
            move || capsule.root.check_writable(&target),
            log,
            "Cannot look at the capsule folder",
        )
        .await?;
    }
    if request.edit && !early.is_empty() {
        return Err(refuse(
            log,
            Status::BadRequest,
            "An edit request carries no body",
        ));
    }
    if !request.edit && early.len() as u64 > size {
        return Err(refuse(
            log,
            Status::BadRequest,
            "More bytes than `size` announced",
        ));
    }
    let max = settings.max_size.bytes();
    if size > max {
        log.note = "upload larger than max_size";
        return Err(Response::header(
            Status::BadRequest,
            format!("Uploads are limited to {max} bytes (the capsule's [titan] max_size)"),
        ));
    }
    if !request.edit && size > 0 {
        check_quota(host, &capsule, size, log).await?;
    }
    Ok(Upload {
        host,
        capsule,
        target,
        request,
    })
}

/// `61` unless the author `identity` may write at a path (decoded segments): see
/// [`Host::write_refusal`].
fn place_allowed(
    host: &Host,
    segments: &[String],
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Result<(), Response> {
    match host.write_refusal(segments, identity) {
        Some(r) => Err(refuse(log, r.status, r.meta)),
        None => Ok(()),
    }
}

/// `59` when a folder on the way to the file (made by the upload, or there already) has the
/// name of a URL a post holds (`posts/knots.gmi/x.png` while a post's `slug` is `knots`): the
/// folder would answer at the post's URL.
fn check_folders(
    capsule: &Capsule,
    segments: &[String],
    log: &mut AccessLog,
) -> Result<(), Response> {
    let folders: Vec<String> = (1..segments.len())
        .map(|n| encode_path(&format!("/{}", segments[..n].join("/"))))
        .collect();
    let Some(holder) = capsule.site.all_posts().find(|p| folders.contains(&p.url)) else {
        return Ok(());
    };
    log.note = "a folder of the upload's path has a post's URL";
    Err(Response::header(
        Status::BadRequest,
        one_line(format!(
            "{} is the URL of {}: a folder of that name would take it, so nothing was written. \
             Choose another folder",
            holder.url,
            holder.source.display()
        )),
    ))
}

/// How many names deep an upload may write (`posts/2026/12/x.md` is four): every folder made
/// is walked by each scan of the capsule, and counted against the quota.
const MAX_DEPTH: usize = 12;

/// `59` for a name the server would never serve (a dot-file, an editor's temporary file or
/// backup), one longer than a file system takes, or a path deeper than [`MAX_DEPTH`].
fn check_names(segments: &[String], log: &mut AccessLog) -> Result<(), Response> {
    if segments.len() > MAX_DEPTH {
        return Err(refuse(
            log,
            Status::BadRequest,
            "The path is more than 12 names deep: uploads write at most 12 deep",
        ));
    }
    if is_hidden(segments.iter().map(String::as_str)) {
        return Err(refuse(
            log,
            Status::BadRequest,
            "This name is never served (dot-files, and editors' temporary files and backups: \
             x~, *.swp, *.tmp, 4913): nothing was written",
        ));
    }
    if segments.iter().any(|s| s.len() > MAX_NAME_BYTES) {
        return Err(refuse(
            log,
            Status::BadRequest,
            "A file or folder name is longer than 255 bytes",
        ));
    }
    Ok(())
}

/// `59` with the figures when an upload of `size` bytes would take the host's `[titan] paths`
/// and kept versions past its quota.
async fn check_quota(
    host: &Host,
    capsule: &Arc<Capsule>,
    size: u64,
    log: &mut AccessLog,
) -> Result<(), Response> {
    let (capsule, quota) = (Arc::clone(capsule), quota_of(host));
    in_capsule(
        move || capsule.root.within(&quota, size),
        log,
        "Cannot look at the capsule folder",
    )
    .await
}

/// `59` with the figures of a quota an upload of `size` bytes would pass.
fn over_quota(held: u64, limit: u64, size: u64, log: &mut AccessLog) -> Response {
    log.note = "over the upload quota";
    Response::header(
        Status::BadRequest,
        format!(
            "Over the capsule's upload quota: its [titan] paths and kept versions \
             ({HISTORY_DIR}/) hold {} of {} and this upload is {}; nothing was written. Ask \
             the operator to raise [titan] quota or to clear old versions",
            shown_bytes(held),
            shown_bytes(limit),
            shown_bytes(size)
        ),
    )
}

/// Bytes as an author reads them: `1234 bytes`, `12.3 MiB (12897484 bytes)`.
fn shown_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes < 1024 * 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} MiB ({bytes} bytes)", bytes as f64 / MIB)
    }
}

/// A header-only answer, its reason noted for the log.
fn refuse(log: &mut AccessLog, status: Status, why: &'static str) -> Response {
    log.note = why;
    Response::header(status, why)
}

/// Runs a call on the capsule folder off the async threads; what goes wrong becomes the
/// answer: a symlink or special file in the way, or a refusal, `59`; a missing file `51`;
/// anything else `40` saying `failed` (and a log line).
async fn in_capsule<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    log: &mut AccessLog,
    failed: &'static str,
) -> Result<T, Response> {
    let error = match on_disk(move || Ok(call())).await {
        Ok(Ok(done)) => return Ok(done),
        Ok(Err(StoreError::NotPlain(_))) => {
            return Err(refuse(
                log,
                Status::BadRequest,
                "The path leads through a symbolic link, or to a folder or something else \
                 than a plain file: nothing is written or deleted there",
            ));
        }
        Ok(Err(StoreError::Missing(_))) => {
            return Err(refuse(log, Status::NotFound, "Not found"));
        }
        Ok(Err(StoreError::Refused(why))) => return Err(refuse(log, Status::BadRequest, why)),
        Ok(Err(StoreError::Io { path, source }))
            if matches!(
                source.raw_os_error(),
                Some(libc::EROFS | libc::EACCES | libc::EPERM)
            ) =>
        {
            tracing::warn!(at = ?path.to_string_lossy(), error = %source, "{failed}");
            return Err(refuse(
                log,
                Status::TemporaryFailure,
                "The server may not write to the capsule folder here (read-only, or not its \
                 own): nothing was written; its operator's log says where",
            ));
        }
        Ok(Err(StoreError::OverQuota {
            held,
            limit,
            adding,
        })) => {
            return Err(over_quota(held, limit, adding, log));
        }
        Ok(Err(StoreError::Busy)) => {
            return Err(refuse(
                log,
                Status::TemporaryFailure,
                "Another server or command is writing to this capsule: nothing was written, \
                 try again in a moment",
            ));
        }
        Ok(Err(e @ (StoreError::Io { .. } | StoreError::NoSuchVersion(_)))) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::warn!(error = %error, "{failed}");
    Err(refuse(log, Status::TemporaryFailure, failed))
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let digest = |b: &[u8]| ring::digest::digest(&ring::digest::SHA256, b);
    let (a, b) = (digest(given), digest(expected));
    a.as_ref()
        .iter()
        .zip(b.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The file a Titan path writes (relative to the root): the source of the post served at that
/// URL (`/posts/x.gmi` → `posts/x.md`, whatever its `slug`; drafts too), else a `.gmi` path's
/// Markdown twin when only that exists, else the path itself. A Markdown file whose `.gmi`
/// twin exists is refused: the twin is served in its place, so the upload would never be
/// seen. Blocking (it may look at the folder).
fn file_of(capsule: &Capsule, segments: &[String]) -> Result<PathBuf, StoreError> {
    let path: PathBuf = segments.iter().collect();
    let url = encode_path(&format!("/{}", segments.join("/")));
    if let Some(post) = capsule.site.all_posts().find(|p| p.url == url) {
        return Ok(post.source.clone());
    }
    let on_disk = |p: &Path| std::fs::symlink_metadata(capsule.root.path().join(p)).is_ok();
    if path.extension().is_some_and(|e| e == "gmi") {
        let twin = path.with_extension("md");
        if (capsule.site.text(&twin).is_some() || on_disk(&twin)) && !on_disk(&path) {
            return Ok(twin);
        }
    }
    let is_file = |p: &Path| {
        std::fs::symlink_metadata(capsule.root.path().join(p)).is_ok_and(|m| !m.is_dir())
    };
    if is_markdown(&path) && is_file(&path.with_extension("gmi")) {
        return Err(StoreError::Refused(
            "A .gmi file of the same name is served in place of this Markdown file: upload to \
             the .gmi URL, or delete that file first",
        ));
    }
    Ok(path)
}

/// `titan://host:port/<url>;edit`: where an author's client fetches the source of the page
/// at `url` (root-relative, as the site writes URLs).
pub(super) fn edit_url(origin: &Origin, url: &str) -> String {
    let gemini = origin.absolute(url);
    format!(
        "titan{};edit",
        gemini.strip_prefix("gemini").unwrap_or(&gemini)
    )
}

/// Whether a file is gemtext (`.gmi`, `.gemini`), as the capsule serves it.
fn is_gemtext(file: &Path) -> bool {
    mime_for(file) == "text/gemini"
}

/// Whether a file holds text (and so must be UTF-8).
fn is_text(file: &Path) -> bool {
    is_markdown(file) || is_gemtext(file) || mime_for(file) == "text/plain"
}

/// Why a body is refused: the META, and the log's note.
#[derive(Debug)]
struct Refusal {
    meta: String,
    note: &'static str,
}

impl Refusal {
    fn new(note: &'static str, meta: String) -> Refusal {
        Refusal {
            meta: one_line(meta),
            note,
        }
    }
}

/// A META of one line, within the 1024 bytes a header may hold.
fn one_line(meta: String) -> String {
    // Names authors chose: nothing in them may break, reorder or hide the line a client shows
    // (escaped as the log and `check` show them).
    let mut meta = crate::convert::printable(&meta).into_owned();
    if meta.len() > MAX_META_BYTES {
        let mut end = MAX_META_BYTES;
        while !meta.is_char_boundary(end) {
            end -= 1;
        }
        meta.truncate(end);
    }
    meta
}

/// The checks of an upload's body, in the order of what an author would lose: text that is
/// not UTF-8, gemtext sent over a Markdown source (told by its lines, whatever MIME type the
/// client named: Lagrange calls all typed text `text/plain`), front matter the file has that the body
/// drops, lines the server adds to the page as shown, a page that would not be published as
/// written, and a URL another post holds. Returns the body when it may be stored. Blocking.
fn check_body(
    capsule: &Capsule,
    file: &Path,
    body: Vec<u8>,
    host: &Host,
    edit_url: &str,
) -> Result<Vec<u8>, Refusal> {
    if !is_text(file) {
        return Ok(body);
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(Refusal::new(
            "upload is not UTF-8",
            "The text is not valid UTF-8: nothing was written".into(),
        ));
    };
    let shown = file.display();
    let front = front_matter::split(text).ok().and_then(|split| split.front);
    let has_front = front.is_some_and(|block| {
        block.text.trim().is_empty() || front_matter::keys_of(text).is_some_and(|k| !k.is_empty())
    });
    if is_gemtext(file) && has_front {
        return Err(Refusal::new(
            "front matter sent to a gemtext page",
            format!(
                "This text starts with front matter, which a gemtext page ({shown}) does not \
                 read: readers would see it as text, and a `draft` in it would not hold the \
                 page back. Nothing was written. Upload it to the Markdown name ({}) to \
                 publish it as a post",
                file.with_extension("md").display()
            ),
        ));
    }
    let current = current_text(capsule, file, host.build.max_file_size);
    if let Some(current) = current.as_ref().filter(|_| is_markdown(file)) {
        if let Some((line, link)) = new_link_line(text, current) {
            return Err(Refusal::new(
                "gemtext sent over a Markdown source",
                format!(
                    "{shown} is written in Markdown and this text is gemtext (line \
                     {line}: {link}), the page as shown: storing it would lose its front \
                     matter and run its links together, so nothing was written. Edit the \
                     Markdown source instead: open {edit_url}"
                ),
            ));
        }
        if let Some(dropped) = dropped_keys(current, text) {
            return Err(Refusal::new(
                "upload drops front matter",
                format!(
                    "This text drops front matter {shown} has ({}): nothing was written. \
                     Send the whole source ({edit_url} gets it); to change a value, keep \
                     its key; to clear one, leave the key with no value",
                    dropped.join(", ")
                ),
            ));
        }
    }
    if let Some(current) = &current {
        let added = capsule.added_lines(file);
        let carried = text.lines().map(str::trim_end).find(|line| {
            (added.iter().any(|a| a == line) || is_edit_link(line))
                && !current.lines().any(|c| c.trim_end() == *line)
        });
        if let Some(line) = carried {
            return Err(Refusal::new(
                "upload carries the lines the server adds",
                format!(
                    "This text holds a line the server adds to {shown} as it shows it \
                     (“{line}”): the page as shown, not its source, so nothing was written. \
                     Edit the source instead: open {edit_url}"
                ),
            ));
        }
    }
    if is_markdown(file) && body.len() as u64 > host.build.max_file_size {
        return Err(Refusal::new(
            "upload larger than markdown.max_file_size",
            format!(
                "This Markdown text is larger than the {} bytes a page may be converted from \
                 ([markdown] max_file_size): nothing was written",
                host.build.max_file_size
            ),
        ));
    }
    let examined = examine_text(text.to_owned(), file, &host.build);
    if let Some(problem) = examined.problems.iter().find(|p| p.error) {
        return Err(Refusal::new(
            "upload would not be published as written",
            format!("Not published, nothing was written: {problem}"),
        ));
    }
    if let Some(post) = &examined.post {
        let natural = post.natural_url();
        // A `slug` never takes the name of a file or folder that is no post.
        let decoded = percent_encoding::percent_decode_str(&post.url).decode_utf8_lossy();
        if post.url != natural
            && capsule.site.serves(&decoded)
            && !capsule.site.all_posts().any(|p| p.url == post.url)
        {
            return Err(Refusal::new(
                "upload asks for a file's URL",
                format!(
                    "{}, which its `slug` asks for, is the name of a file or folder of the \
                     capsule that is no post, so nothing was written. Choose another `slug`",
                    post.url
                ),
            ));
        }
        let holder = capsule
            .site
            .all_posts()
            .find(|p| p.source != file && (p.url == post.url || p.url == natural));
        if let Some(holder) = holder {
            let (url, how) = if holder.url == post.url && post.url != natural {
                (post.url.as_str(), "its `slug` asks for")
            } else {
                (holder.url.as_str(), "it would be served at")
            };
            return Err(Refusal::new(
                "upload asks for another post's URL",
                format!(
                    "{url}, which {how}, is {}'s: a post keeps its URL, so nothing was \
                     written. Choose another {}",
                    holder.source.display(),
                    if how.contains("slug") {
                        "`slug`"
                    } else {
                        "file name"
                    }
                ),
            ));
        }
    }
    Ok(body)
}

/// The text of the file an upload replaces, if it has one (and it reads as UTF-8).
fn current_text(capsule: &Capsule, file: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    let opened = capsule
        .root
        .open_file(&capsule.root.path().join(file))
        .ok()?;
    let mut bytes = Vec::new();
    opened.take(limit).read_to_end(&mut bytes).ok()?;
    String::from_utf8(bytes).ok()
}

/// The first gemtext link line (`=> …`, outside fenced code) of `text` that `current` does
/// not have: a Markdown source with gemtext links of its own keeps them, but the page as a
/// client shows it is gemtext throughout. Its line number and text (shortened).
fn new_link_line(text: &str, current: &str) -> Option<(usize, String)> {
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if !fenced && line.starts_with("=>") && !current.lines().any(|c| c == line) {
            let shown: String = line.chars().take(60).collect();
            return Some((i + 1, shown));
        }
    }
    None
}

/// The front-matter keys `current` has and `text` does not (any case), if any.
fn dropped_keys(current: &str, text: &str) -> Option<Vec<String>> {
    let before = front_matter::keys_of(current)?;
    let after: Vec<String> = front_matter::keys_of(text)
        .unwrap_or_default()
        .iter()
        .map(|k| k.to_lowercase())
        .collect();
    let dropped: Vec<String> = before
        .into_iter()
        .filter(|k| !after.contains(&k.to_lowercase()))
        .collect();
    (!dropped.is_empty()).then_some(dropped)
}

/// Whether a line is the edit link authors see under a page.
fn is_edit_link(line: &str) -> bool {
    line.strip_prefix("=>")
        .map(str::trim_start)
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|url| {
            url.len() > 8 && url[..8].eq_ignore_ascii_case("titan://") && url.ends_with(";edit")
        })
}

/// Reads exactly `size` bytes (those already read after the request line first) within the
/// request timeout; `None` when they do not all come.
async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    early: &[u8],
    size: u64,
    hosts: &Hosts,
    log: &mut AccessLog,
) -> Option<Vec<u8>> {
    let size = usize::try_from(size).ok()?;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(early);
    let rest = size - early.len();
    let read = timeout(
        hosts.timeouts.request_timeout,
        stream.take(rest as u64).read_to_end(&mut body),
    )
    .await;
    match read {
        Ok(Ok(_)) if body.len() == size => Some(body),
        Err(_) => {
            log.note = "upload timed out before its size: nothing written";
            None
        }
        _ => {
            log.note = "upload cut short: nothing written";
            None
        }
    }
}

/// `;edit`: the source of a page, as the author wrote it.
async fn source_of(capsule: &Arc<Capsule>, file: &Path, max: u64, log: &mut AccessLog) -> Response {
    let mime = if is_markdown(file) {
        "text/markdown; charset=utf-8"
    } else if is_gemtext(file) {
        "text/gemini; charset=utf-8"
    } else {
        log.note = "edit of a file that is not a page";
        return Response::header(
            Status::BadRequest,
            "Only Markdown and gemtext pages can be edited",
        );
    };
    let (capsule, path) = (Arc::clone(capsule), capsule.root.path().join(file));
    let read = on_disk(move || {
        use std::io::Read;
        let file = capsule.root.open_file(&path)?;
        let mut text = Vec::new();
        file.take(max + 1).read_to_end(&mut text)?;
        Ok(text)
    })
    .await;
    match read {
        Ok(text) if text.len() as u64 > max => {
            log.note = "source larger than max_size";
            Response::header(
                Status::BadRequest,
                "This page is larger than the capsule's [titan] max_size: edit it elsewhere",
            )
        }
        Ok(text) => match String::from_utf8(text) {
            Ok(body) => {
                log.note = "source sent for editing";
                Response::Generated {
                    mime: mime.to_owned(),
                    body,
                }
            }
            Err(_) => Response::header(Status::BadRequest, "This page is not valid UTF-8"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log.note = "edit of a page that does not exist";
            Response::header(Status::NotFound, "Not found")
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read a source");
            Response::header(Status::TemporaryFailure, "Cannot read this page")
        }
    }
}

/// `size=0`: the file moves to the history.
async fn delete(
    capsule: &Arc<Capsule>,
    held: &Arc<HistoryLock>,
    file: &Path,
    host: &Host,
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Response {
    let moved = {
        let (capsule, file, held) = (Arc::clone(capsule), file.to_owned(), Arc::clone(held));
        in_capsule(
            move || {
                let place = capsule.root.remove(&held, &file)?;
                if let Err(e) = capsule.root.note_write(&held, &file) {
                    tracing::warn!(error = %e, "cannot note a write in the history");
                }
                Ok(place)
            },
            log,
            "Cannot delete this file",
        )
        .await
    };
    let place = match moved {
        Ok(place) => place,
        Err(refused) => return refused,
    };
    log.note = "deleted (kept in the history)";
    let _ = caught_up(host, capsule, vec![file.to_owned()]).await;
    tracing::info!(
        host = %host.canonical(),
        file = ?file.to_string_lossy(),
        kept = ?place.to_string_lossy(),
        cert = %identity.map(Identity::short).unwrap_or_default(),
        "deleted from a Gemini client"
    );
    Response::Generated {
        mime: host.gemtext_header(None),
        body: format!(
            "# Deleted\n\n{} is no longer served. It is kept in {HISTORY_DIR}/ in the capsule \
             folder (never served), from where `gemhole restore {}` puts it back.\n\n=> / Home\n",
            file.display(),
            file.display(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret(b"hunter2", b"hunter2"));
        assert!(!same_secret(b"hunter2", b"hunter3"));
        assert!(!same_secret(b"", b"hunter2"));
        assert!(!same_secret(b"hunter2x", b"hunter2"));
    }

    #[test]
    fn text_targets_are_the_pages() {
        assert!(is_text(Path::new("posts/x.md")));
        assert!(is_text(Path::new("a.gemini")));
        assert!(is_text(Path::new("notes.txt")));
        assert!(is_text(Path::new("a.GMI")));
        assert!(!is_text(Path::new("img/x.png")));
    }

    #[test]
    fn gemtext_links_over_markdown_are_found_unless_the_source_has_them() {
        let source = "---\ntitle: A\n---\nSee [b](b.md).\n\n=> gemini://kept.example kept\n";
        let shown = "# A\n\nSee b.\n=> b.gmi b\n=> gemini://kept.example kept\n";
        assert_eq!(new_link_line(shown, source), Some((4, "=> b.gmi b".into())));
        let edited = source.replace("See", "Read");
        assert_eq!(new_link_line(&edited, source), None);
        let fenced = format!("{source}```\n=> not a link\n```\n");
        assert_eq!(new_link_line(&fenced, source), None);
    }

    #[test]
    fn dropped_keys_are_named_in_any_case() {
        let source = "---\ntitle: A\nseries: S\npart: 2\nweight: 3\n---\nText\n";
        assert_eq!(
            dropped_keys(source, "---\nTitle: A\nseries:\npart: 2\n---\nText\n"),
            Some(vec!["weight".to_owned()])
        );
        assert_eq!(
            dropped_keys(source, "# A\nText\n"),
            Some(vec![
                "title".into(),
                "series".into(),
                "part".into(),
                "weight".into()
            ])
        );
        assert_eq!(dropped_keys(source, source), None);
        assert_eq!(dropped_keys("# No front matter\n", "# A\n"), None);
    }

    #[test]
    fn edit_links_are_known() {
        assert!(is_edit_link(
            "=> titan://h:1965/posts/x.gmi;edit Edit this page"
        ));
        assert!(is_edit_link("=>TITAN://h/x.gmi;edit"));
        assert!(!is_edit_link("=> titan://h/x.gmi Upload"));
        assert!(!is_edit_link("Text ;edit"));
    }

    #[test]
    fn metas_are_one_line_within_bounds() {
        let long = format!("a\r\nb\u{7}\u{2028}{}", "é".repeat(600));
        let meta = one_line(long);
        assert!(meta.starts_with("a\\u{d}\\u{a}b\\u{7}\\u{2028}é"), "{meta}");
        assert!(meta.len() <= MAX_META_BYTES && !meta.contains(['\u{7}', '\n', '\u{2028}']));
    }
}
