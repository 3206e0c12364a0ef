//! Titan on the Gemini port: an author's client writes, replaces, deletes or fetches the source
//! of a page of the capsule. Everything that can be refused is refused before a byte of the
//! body is read, in the order an author can act on: host (`53`), form (`59`), certificate
//! (`60`/`61`/`62`), token and place (`61`), then the name, the size and the quota (`59`).
//! Then exactly `size` bytes are read, checked off the async threads (an upload that would
//! lose what an author wrote, or take a URL another post holds, is refused with `59`) and
//! written whole; what it replaces is kept in the history, and the live reload serves the
//! page within its latency.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout;

use super::conn::{AccessLog, on_disk};
use super::host::{Arrival, Host, Hosts};
use crate::config::TitanConfig;
use crate::content::files::{is_markdown, names};
use crate::content::store::{HISTORY_DIR, HistoryLock, Quota, StoreError};
use crate::convert::url::Origin;
use crate::protocol::identity::Identity;
use crate::protocol::status::Status;
use crate::protocol::titan;
use crate::respond::Capsule;
use crate::respond::titan::{
    Refused, check_body, check_folders, check_names, edit_url, file_of, is_gemtext, over_quota,
    same_secret,
};

/// What an upload gets: a header, or a source's text; never a file.
type Answer = crate::respond::gemini::Answer<std::fs::File>;

/// Answers a Titan request line; `None` when the connection is to be closed without an
/// answer (the body was cut short, or never came).
pub(super) async fn respond<S: AsyncRead + Unpin>(
    stream: &mut S,
    line: &[u8],
    early: &[u8],
    arrival: Arrival<'_>,
    log: &mut AccessLog,
) -> Option<Answer> {
    let Arrival {
        hosts,
        local,
        identity,
        ..
    } = arrival;
    let Upload {
        host,
        capsule,
        target,
        request,
    } = match checked(line, early, arrival, log).await {
        Ok(upload) => upload,
        Err(refused) => return Some(refused),
    };
    if request.edit {
        let max = capsule.access.titan.max_size.bytes();
        return Some(source_of(&capsule, &target, max, log).await);
    }
    let size = request.size.unwrap_or(0);
    let body = if size == 0 {
        None
    } else {
        Some(read_body(stream, early, size, hosts, log).await?)
    };
    // One write at a time, in this process and among every server on the folder (nodes on
    // shared storage): each is checked against a snapshot that shows every write before it,
    // and answered once the snapshot shows it (so a URL taken a moment ago is taken, and the
    // page a client is sent to is there).
    let _turn = match take_turn(log).await {
        Ok(turn) => turn,
        Err(busy) => return Some(busy),
    };
    let (capsule, held) = match served_and_locked(host, &capsule, log).await {
        Ok(ready) => ready,
        Err(refused) => return Some(refused),
    };
    let Some(body) = body else {
        return Some(delete(&capsule, &held, &target, host, identity, log).await);
    };
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(local.port()),
    );
    let edit_url = edit_url(&origin, &request.target.raw_path);
    let body = match checked_body(&capsule, &target, body, host, edit_url, log).await {
        Ok(body) => body,
        Err(refused) => return Some(refused),
    };
    let kept = match store(&capsule, &held, &target, body, log).await {
        Ok(kept) => kept,
        Err(refused) => return Some(refused),
    };
    log.note = "upload stored";
    log_published(host, &target, size, kept.as_deref(), identity);
    Some(sent_to_page(host, capsule, &target, &origin).await)
}

/// This process's turn to write (see [`WRITES`]); `40` when the upload before it is not
/// written and shown within [`TURN_WAIT`].
async fn take_turn(log: &mut AccessLog) -> Result<tokio::sync::MutexGuard<'static, ()>, Answer> {
    timeout(TURN_WAIT, WRITES.lock()).await.map_err(|_| {
        log.note = "too many uploads at once";
        Answer::header(
            Status::TemporaryFailure,
            "Another upload is being written: nothing was written, try again in a moment",
        )
    })
}

/// The folder served now (a deploy may have swapped another in under the capsule's name),
/// its history's lock held, once its snapshot shows every write noted before this one (by
/// any server on the folder); `40` when the folder or the configuration changes meanwhile.
async fn served_and_locked(
    host: &Arc<Host>,
    capsule: &Capsule,
    log: &mut AccessLog,
) -> Result<(Arc<Capsule>, Arc<HistoryLock>), Answer> {
    let Some(served) = caught_up(host, capsule, Vec::new()).await else {
        return Err(not_now(log));
    };
    let held = Arc::new(history_lock(&served, log).await?);
    let recent = {
        let (served, held) = (Arc::clone(&served), Arc::clone(&held));
        on_disk(move || Ok(served.root.recent_writes(&held)))
            .await
            .unwrap_or_default()
    };
    match caught_up(host, &served, recent).await {
        // Written into the folder whose lock is held, and served.
        Some(now) if now.root.same_folder(&served.root) && !now.root.replaced() => Ok((now, held)),
        _ => Err(not_now(log)),
    }
}

/// The body once [`check_body`] passes it against the snapshot; a page's checks cost what
/// converting its text does, so they run off the async threads. `40` when they cannot run.
async fn checked_body(
    capsule: &Arc<Capsule>,
    target: &Path,
    body: Vec<u8>,
    host: &Arc<Host>,
    edit_url: String,
    log: &mut AccessLog,
) -> Result<Vec<u8>, Answer> {
    let checked = {
        let (capsule, target, host) = (Arc::clone(capsule), target.to_owned(), Arc::clone(host));
        on_disk(move || Ok(check_body(&capsule, &target, body, &host.build, &edit_url))).await
    };
    match checked {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(refused)) => Err(told(log, refused)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check an upload");
            log.note = "cannot check the upload";
            Err(Answer::header(
                Status::TemporaryFailure,
                "Cannot check the upload: try again",
            ))
        }
    }
}

/// Writes the body over `target` (what it replaces goes to the history, within the quota)
/// and notes the write for the other servers on the folder; where the replaced version is
/// kept, if there was one.
async fn store(
    capsule: &Arc<Capsule>,
    held: &Arc<HistoryLock>,
    target: &Path,
    body: Vec<u8>,
    log: &mut AccessLog,
) -> Result<Option<PathBuf>, Answer> {
    let (capsule, target, held) = (Arc::clone(capsule), target.to_owned(), Arc::clone(held));
    let quota = quota_of(&capsule);
    in_capsule(
        move || {
            let kept = capsule
                .root
                .store(&held, &target, &body, None, Some(&quota))?;
            // Not remembered: other servers then see it by their watch alone.
            note_write(&capsule, &held, &target);
            Ok(kept)
        },
        log,
        "Cannot store the upload",
    )
    .await
}

/// Notes a write of `file` in the history, for the other servers on the folder to look at;
/// only a log line when it cannot be noted.
fn note_write(capsule: &Capsule, held: &HistoryLock, file: &Path) {
    if let Err(e) = capsule.root.note_write(held, file) {
        tracing::warn!(error = %e, "cannot note a write in the history");
    }
}

/// The operator's line for an upload stored: which file, how large, where what it replaced
/// is kept, and whose certificate sent it.
fn log_published(
    host: &Host,
    target: &Path,
    size: u64,
    kept: Option<&Path>,
    identity: Option<&Identity>,
) {
    tracing::info!(
        host = %host.canonical(),
        // Named by the client: quoted and escaped, as the access log's path, so a space, a
        // `=` or a line separator in it cannot forge a field or a line.
        file = ?target.to_string_lossy(),
        bytes = size,
        kept = ?kept.map_or("-".into(), Path::to_string_lossy),
        cert = %identity.map(Identity::short).unwrap_or_default(),
        "published from a Gemini client"
    );
}

/// `30` to the page of the file written, once the snapshot shows it (or after
/// [`SHOWN_WAIT`]: the snapshot as it is).
async fn sent_to_page(
    host: &Host,
    capsule: Arc<Capsule>,
    target: &Path,
    origin: &Origin,
) -> Answer {
    let now = caught_up(host, &capsule, vec![target.to_owned()])
        .await
        .unwrap_or(capsule);
    let url = now.page_url(target);
    Answer::header(Status::RedirectTemporary, origin.absolute(&url))
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
async fn history_lock(capsule: &Arc<Capsule>, log: &mut AccessLog) -> Result<HistoryLock, Answer> {
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
                return Err(Answer::header(
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
fn not_now(log: &mut AccessLog) -> Answer {
    log.note = "the configuration or the capsule folder changed during the upload";
    Answer::header(
        Status::TemporaryFailure,
        "The server's configuration or capsule folder changed while this upload came in: \
         nothing was written, try again",
    )
}

/// The host's quota, as the store checks it.
fn quota_of(capsule: &Capsule) -> Quota {
    Quota {
        below: capsule.access.titan.folders(),
        limit: capsule.access.titan.quota.bytes(),
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
    arrival: Arrival<'a>,
    log: &mut AccessLog,
) -> Result<Upload<'a>, Answer> {
    let identity = arrival.identity;
    let (host, request) = routed(line, arrival, log)?;
    let capsule = host.capsule.load_full();
    let settings = &capsule.access.titan;
    capsule
        .access
        .admit_author(identity)
        .map_err(|r| refused_certificate(log, &capsule, &r))?;
    token_given(&request, settings, log)?;
    let segments = &request.target.segments;
    place_allowed(&capsule, segments, identity, log)?;
    let size = request.size.unwrap_or(0);
    if !request.edit && size == 0 && !settings.allow_delete {
        return Err(refuse(
            log,
            Status::CertificateNotAuthorised,
            "Deleting is not allowed here (size=0 deletes; see [titan] allow_delete)",
        ));
    }
    let target = target_of(&capsule, segments, identity, log).await?;
    body_fits(&request, early, settings.max_size.bytes(), log)?;
    if !request.edit && size > 0 {
        check_quota(&capsule, size, log).await?;
    }
    Ok(Upload {
        host,
        capsule,
        target,
        request,
    })
}

/// The request line parsed (its host and path noted in the log) and the host that answers
/// it, once its address is within its rate (`44`) and its connection's host takes uploads
/// (`53`, as a server without Titan); `59` for a line that is no Titan request, `53` for
/// another host's URL.
fn routed<'a>(
    line: &[u8],
    arrival: Arrival<'a>,
    log: &mut AccessLog,
) -> Result<(&'a Arc<Host>, titan::TitanRequest), Answer> {
    let Arrival {
        hosts,
        host: conn,
        local,
        ..
    } = arrival;
    let parsed = titan::parse(line);
    if let Ok(request) = &parsed {
        log.host = request.target.host.to_string();
        // The path only: the parameters may hold the token.
        log.path = request.target.raw_path.clone();
    }
    // Every request line counts against its address's rate, uploads too.
    if let Err(wait) = hosts.per_address.request(log.peer.ip()) {
        log.note = "over the request rate of its address";
        return Err(Answer::header(Status::SlowDown, wait.to_string()));
    }
    // Only the connection's own host is served on it: where that host takes no uploads, a
    // titan:// request is refused as by a server without Titan, whatever its form.
    if !conn.capsule.load().access.titan.enabled {
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
    Ok((host, request))
}

/// `61` when writing needs the capsule's token and the request lacks it or names another.
/// Reading a source is the author's certificate's alone (Lagrange asks for `;edit` without
/// a token); writing needs the token too.
fn token_given(
    request: &titan::TitanRequest,
    settings: &TitanConfig,
    log: &mut AccessLog,
) -> Result<(), Answer> {
    let Some(expected) = settings.token.as_ref().filter(|_| !request.edit) else {
        return Ok(());
    };
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
    Ok(())
}

/// The file the URL's path names (relative to the capsule root), once every name on the way
/// may be written: the path's names, then the file's own (its place, its names, the folders
/// it would make), then the file itself as it is on disk (`59`, `61`).
async fn target_of(
    capsule: &Arc<Capsule>,
    segments: &[String],
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Result<PathBuf, Answer> {
    check_names(segments).map_err(|r| told(log, r))?;
    let target = {
        let (capsule, segments) = (Arc::clone(capsule), segments.to_vec());
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
    place_allowed(capsule, &file_segments, identity, log)?;
    check_names(&file_segments).map_err(|r| told(log, r))?;
    check_folders(capsule, &file_segments).map_err(|r| told(log, r))?;
    {
        let (capsule, target) = (Arc::clone(capsule), target.clone());
        in_capsule(
            move || capsule.root.check_writable(&target),
            log,
            "Cannot look at the capsule folder",
        )
        .await?;
    }
    Ok(target)
}

/// `59` for a body that cannot be what the request says: an edit request carries none, an
/// upload no more bytes than its `size`, and no `size` passes `max` (`[titan] max_size`).
fn body_fits(
    request: &titan::TitanRequest,
    early: &[u8],
    max: u64,
    log: &mut AccessLog,
) -> Result<(), Answer> {
    let size = request.size.unwrap_or(0);
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
    if size > max {
        log.note = "upload larger than max_size";
        return Err(Answer::header(
            Status::BadRequest,
            format!("Uploads are limited to {max} bytes (the capsule's [titan] max_size)"),
        ));
    }
    Ok(())
}

/// `61` unless the author `identity` may write at a path (decoded segments): see
/// [`crate::respond::Access::write_refusal`].
fn place_allowed(
    capsule: &Capsule,
    segments: &[String],
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Result<(), Answer> {
    match capsule
        .access
        .write_refusal(&capsule.root, segments, identity)
    {
        Some(r) => Err(refused_certificate(log, capsule, &r)),
        None => Ok(()),
    }
}

/// `59` with the figures when an upload of `size` bytes would take the host's `[titan] paths`
/// and kept versions past its quota.
async fn check_quota(capsule: &Arc<Capsule>, size: u64, log: &mut AccessLog) -> Result<(), Answer> {
    let (capsule, quota) = (Arc::clone(capsule), quota_of(capsule));
    in_capsule(
        move || capsule.root.within(&quota, size),
        log,
        "Cannot look at the capsule folder",
    )
    .await
}

/// The answer to a refusal, its note written in the log.
fn told(log: &mut AccessLog, refused: Refused) -> Answer {
    log.note = refused.note;
    Answer::header(refused.status, refused.meta)
}

/// A header-only answer, its reason noted for the log.
/// A refused certificate's answer, in the host's language; the log says it in English.
fn refused_certificate(
    log: &mut AccessLog,
    capsule: &Capsule,
    refusal: &crate::protocol::identity::Refusal,
) -> Answer {
    log.note = refusal.meta;
    Answer::header(refusal.status, capsule.refusal_meta(refusal))
}

fn refuse(log: &mut AccessLog, status: Status, why: &'static str) -> Answer {
    log.note = why;
    Answer::header(status, why)
}

/// Runs a call on the capsule folder off the async threads; what goes wrong becomes the
/// answer: a symlink or special file in the way, or a refusal, `59`; a missing file `51`;
/// anything else `40` saying `failed` (and a log line).
async fn in_capsule<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    log: &mut AccessLog,
    failed: &'static str,
) -> Result<T, Answer> {
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
            if source
                .raw_os_error()
                .map(rustix::io::Errno::from_raw_os_error)
                .is_some_and(|e| {
                    [
                        rustix::io::Errno::ROFS,
                        rustix::io::Errno::ACCESS,
                        rustix::io::Errno::PERM,
                    ]
                    .contains(&e)
                }) =>
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
            return Err(told(log, over_quota(held, limit, adding)));
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
async fn source_of(capsule: &Arc<Capsule>, file: &Path, max: u64, log: &mut AccessLog) -> Answer {
    let mime = if is_markdown(file) {
        "text/markdown; charset=utf-8"
    } else if is_gemtext(file) {
        "text/gemini; charset=utf-8"
    } else {
        log.note = "edit of a file that is not a page";
        return Answer::header(
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
            Answer::header(
                Status::BadRequest,
                "This page is larger than the capsule's [titan] max_size: edit it elsewhere",
            )
        }
        Ok(text) => match String::from_utf8(text) {
            Ok(body) => {
                log.note = "source sent for editing";
                Answer::Generated {
                    mime: mime.to_owned(),
                    body,
                }
            }
            Err(_) => Answer::header(Status::BadRequest, "This page is not valid UTF-8"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log.note = "edit of a page that does not exist";
            Answer::header(Status::NotFound, "Not found")
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read a source");
            Answer::header(Status::TemporaryFailure, "Cannot read this page")
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
) -> Answer {
    let moved = {
        let (capsule, file, held) = (Arc::clone(capsule), file.to_owned(), Arc::clone(held));
        in_capsule(
            move || {
                let place = capsule.root.remove(&held, &file)?;
                note_write(&capsule, &held, &file);
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
    Answer::Generated {
        mime: capsule.gemtext_header(None),
        body: format!(
            "# Deleted\n\n{} is no longer served. It is kept in {HISTORY_DIR}/ in the capsule \
             folder (never served), from where `gemhole restore {}` puts it back.\n\n=> / Home\n",
            file.display(),
            file.display(),
        ),
    }
}
