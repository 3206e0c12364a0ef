//! Titan on the Gemini port: an author's client writes, replaces, deletes or fetches the source
//! of a page of the capsule. Everything that can be refused is refused before a byte of the
//! body is read (host, form, certificate, token, place, size); then exactly `size` bytes are
//! read, checked and written whole, and the live reload serves the page within its latency.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout;

use super::conn::{AccessLog, on_disk};
use super::gemini::Response;
use super::host::{Host, Hosts};
use super::identity::{self, Identity, Purpose};
use super::status::Status;
use super::titan;
use crate::content::files::is_markdown;
use crate::content::scan::problems_of;
use crate::content::site::BuildOptions;
use crate::content::store::{StoreError, TRASH_DIR};
use crate::convert::mime::mime_for;
use crate::convert::url::{Origin, encode_path};
use crate::respond::Capsule;

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
    if size == 0 {
        return Some(delete(&capsule, &target, host, identity, log).await);
    }
    let body = read_body(stream, early, size, hosts.0, log).await?;
    if let Err(refused) = check_text(&target, &body, &host.build, log) {
        return Some(refused);
    }
    let url = page_url(&capsule, &target);
    let stored = {
        let (capsule, target) = (Arc::clone(&capsule), target.clone());
        in_capsule(
            move || capsule.root.store(&target, &body),
            log,
            "Cannot store the upload",
        )
        .await
    };
    if let Err(refused) = stored {
        return Some(refused);
    }
    log.note = "upload stored";
    tracing::info!(
        host = %host.canonical(),
        file = %target.display(),
        bytes = size,
        cert = %identity.map(Identity::short).unwrap_or_default(),
        "published from a Gemini client"
    );
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(local.port()),
    );
    Some(Response::header(
        Status::RedirectTemporary,
        origin.absolute(&url),
    ))
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
/// host (`53`), form (`59`), certificate (`60`/`61`/`62`), token and place (`61`), the file
/// (`59`), the size (`59`).
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
    if let Some(expected) = &settings.token {
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
    let capsule = host.capsule.load_full();
    let target = {
        let (capsule, segments) = (Arc::clone(&capsule), request.target.segments.clone());
        in_capsule(
            move || file_of(&capsule, &segments),
            log,
            "Cannot look at the capsule folder",
        )
        .await?
    };
    let segments: Vec<String> = target
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    // An author passes the areas over the page too (by its URL and by its file): Titan
    // writes and reads sources, so it never opens an area to someone the area refuses.
    let over = host
        .areas_over(&request.target.segments)
        .chain(host.areas_over(&segments));
    for area in over {
        identity::admit(&area.fingerprints, identity, identity::now(), Purpose::Area)
            .map_err(|r| refuse(log, r.status, r.meta))?;
    }
    if !settings.paths.iter().any(|p| p.holds(&segments)) {
        return Err(refuse(
            log,
            Status::CertificateNotAuthorised,
            "Uploads may not write here: see the capsule's [titan] paths",
        ));
    }
    {
        let (capsule, target) = (Arc::clone(&capsule), target.clone());
        in_capsule(
            move || capsule.root.check_writable(&target),
            log,
            "Cannot look at the capsule folder",
        )
        .await?;
    }
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
    if !request.edit && size == 0 && !settings.allow_delete {
        return Err(refuse(
            log,
            Status::CertificateNotAuthorised,
            "Deleting is not allowed here (size=0 deletes; see [titan] allow_delete)",
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
    Ok(Upload {
        host,
        capsule,
        target,
        request,
    })
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
                "The path leads through a symbolic link or to no plain file: nothing is \
                 written or deleted there",
            ));
        }
        Ok(Err(StoreError::Missing(_))) => {
            return Err(refuse(log, Status::NotFound, "Not found"));
        }
        Ok(Err(StoreError::Refused(why))) => return Err(refuse(log, Status::BadRequest, why)),
        Ok(Err(e @ StoreError::Io { .. })) => e.to_string(),
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
/// URL (`/posts/x.gmi` → `posts/x.md`, whatever its `slug`), else a `.gmi` path's Markdown
/// twin when only that exists, else the path itself. A Markdown file whose `.gmi` twin exists
/// is refused: the twin is served in its place, so the upload would never be seen. Blocking
/// (it may look at the folder).
fn file_of(capsule: &Capsule, segments: &[String]) -> Result<PathBuf, StoreError> {
    let path: PathBuf = segments.iter().collect();
    let url = encode_path(&format!("/{}", segments.join("/")));
    if let Some(post) = capsule.site.post_by_url(&url) {
        return Ok(post.source.clone());
    }
    let on_disk = |p: &Path| std::fs::symlink_metadata(capsule.root.path().join(p)).is_ok();
    if path.extension().is_some_and(|e| e == "gmi") {
        let twin = path.with_extension("md");
        if (capsule.site.text(&twin).is_some() || on_disk(&twin)) && !on_disk(&path) {
            return Ok(twin);
        }
    }
    if is_markdown(&path) && on_disk(&path.with_extension("gmi")) {
        return Err(StoreError::Refused(
            "A .gmi file of the same name is served in place of this Markdown file: upload to \
             the .gmi URL, or delete that file first",
        ));
    }
    Ok(path)
}

/// The URL a stored file is served at: a post's (its `slug` kept), a Markdown file's `.gmi`
/// name, else its own path.
fn page_url(capsule: &Capsule, file: &Path) -> String {
    if let Some(url) = capsule.site.url_of(file) {
        return url.to_owned();
    }
    let served = if is_markdown(file) {
        file.with_extension("gmi")
    } else {
        file.to_owned()
    };
    encode_path(&format!("/{}", served.to_string_lossy()))
}

/// Whether a file is gemtext (`.gmi`, `.gemini`), as the capsule serves it.
fn is_gemtext(file: &Path) -> bool {
    mime_for(file) == "text/gemini"
}

/// Whether a file holds text (and so must be UTF-8).
fn is_text(file: &Path) -> bool {
    is_markdown(file) || is_gemtext(file) || mime_for(file) == "text/plain"
}

/// Refuses a text that is not UTF-8, and a page the watcher would not publish as written (a
/// post whose front matter does not parse, say): the author's client keeps the text to fix.
fn check_text(
    file: &Path,
    body: &[u8],
    options: &BuildOptions,
    log: &mut AccessLog,
) -> Result<(), Response> {
    if !is_text(file) {
        return Ok(());
    }
    let Ok(text) = std::str::from_utf8(body) else {
        log.note = "upload is not UTF-8";
        return Err(Response::header(
            Status::BadRequest,
            "The text is not valid UTF-8: nothing was written",
        ));
    };
    if let Some(problem) = problems_of(text.to_owned(), file, options)
        .into_iter()
        .find(|p| p.error)
    {
        log.note = "upload would not be published as written";
        // One line, within the 1024 bytes a META may hold.
        let mut meta = format!("Not published, nothing was written: {problem}");
        meta.retain(|c| !c.is_control());
        if meta.len() > 1000 {
            let mut end = 1000;
            while !meta.is_char_boundary(end) {
                end -= 1;
            }
            meta.truncate(end);
        }
        return Err(Response::header(Status::BadRequest, meta));
    }
    Ok(())
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

/// `size=0`: the file moves to the trash.
async fn delete(
    capsule: &Arc<Capsule>,
    file: &Path,
    host: &Host,
    identity: Option<&Identity>,
    log: &mut AccessLog,
) -> Response {
    let moved = {
        let (capsule, file) = (Arc::clone(capsule), file.to_owned());
        in_capsule(
            move || capsule.root.trash(&file),
            log,
            "Cannot delete this file",
        )
        .await
    };
    let place = match moved {
        Ok(place) => place,
        Err(refused) => return refused,
    };
    log.note = "deleted (moved to the trash)";
    tracing::info!(
        host = %host.canonical(),
        file = %file.display(),
        trash = %place.display(),
        cert = %identity.map(Identity::short).unwrap_or_default(),
        "deleted from a Gemini client"
    );
    Response::Generated {
        mime: host.gemtext_header(None),
        body: format!(
            "# Deleted\n\n{} is no longer served. It was moved to {} in the capsule folder, \
             from where it can be put back.\n\n=> / Home\n",
            file.display(),
            TRASH_DIR
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
}
