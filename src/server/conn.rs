//! What both listeners do the same way with a connection: the access-log line, writes that may
//! stall only so long, and a close that does not turn into a reset.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::slots::Ticket;
use crate::content::CapsuleRoot;

/// How long, and how much, we keep reading after our last byte so that leftover client bytes
/// do not turn our close into a reset that could destroy the end of the response.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 64 * 1024;

/// The fields of one access-log line.
pub(super) struct AccessLog {
    pub started: Instant,
    /// Set when the last response byte was handed over, so the figure does not include the
    /// close or a client that is slow to hang up.
    pub answered: Option<Instant>,
    pub peer: SocketAddr,
    /// The balancer the connection came through, if any.
    pub via: Option<SocketAddr>,
    /// A balancer's own connection (a health check): written at debug level only.
    pub quiet: bool,
    /// The canonical name of the host that serves the connection (once known).
    pub vhost: String,
    /// The host the client asked for (its URL's), or `gopher`.
    pub host: String,
    pub path: String,
    /// The Gemini status, or the Gopher item type, of the answer.
    pub status: Option<String>,
    pub bytes: u64,
    /// The first 16 hex digits of the client certificate's fingerprint, if one was presented.
    pub cert: Option<String>,
    pub note: &'static str,
}

impl AccessLog {
    pub fn new(peer: SocketAddr) -> AccessLog {
        AccessLog {
            started: Instant::now(),
            answered: None,
            peer,
            via: None,
            quiet: false,
            vhost: "-".into(),
            host: "-".into(),
            path: "-".into(),
            status: None,
            bytes: 0,
            cert: None,
            note: "",
        }
    }

    pub fn write(&self, log_ip: bool) {
        let peer = if log_ip {
            self.peer.to_string()
        } else {
            "-".to_owned()
        };
        let status = self.status.as_deref().unwrap_or("-");
        let end = self.answered.unwrap_or_else(Instant::now);
        let ms = (end - self.started).as_secs_f64() * 1000.0;
        let via = self.via.map_or("-".to_owned(), |v| v.to_string());
        let note = if self.note.is_empty() {
            "served"
        } else {
            self.note
        };
        // Host and path come from the client: quoted and escaped, so a space, a quote or a
        // control byte in them cannot forge another field or line.
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "gemhole::access",
                    peer = %peer,
                    via = %via,
                    vhost = %self.vhost,
                    host = ?self.host,
                    path = ?self.path,
                    status = %status,
                    bytes = self.bytes,
                    cert = %self.cert.as_deref().unwrap_or("-"),
                    ms = format_args!("{ms:.1}"),
                    "{note}"
                )
            };
        }
        // A balancer's health checks come every few seconds: not every one is news.
        if self.quiet {
            line!(debug);
        } else {
            line!(info);
        }
    }
}

/// How an answer is written: in chunks, each of which may stall for at most `limit`, every one
/// that goes through reported to the connection's ticket (an answer that stops moving may be
/// closed for a newcomer when every slot is taken).
#[derive(Clone, Copy)]
pub(super) struct Pace<'a> {
    pub limit: Duration,
    pub ticket: &'a Ticket,
}

/// Writes all of `bytes` in chunks, failing if the client stops reading for `pace.limit` at
/// any one of them (a total deadline would cut off a steady slow reader of a large answer).
pub(super) async fn write_timed<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    pace: Pace<'_>,
) -> std::io::Result<()> {
    for chunk in bytes.chunks(CHUNK_BYTES) {
        match timeout(pace.limit, stream.write_all(chunk)).await {
            Ok(written) => written?,
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        }
        pace.ticket.wrote();
    }
    Ok(())
}

/// Size of the chunks a file is sent in: one TLS record's worth, so a connection holds no
/// more than this of a file while a client reads slowly.
const CHUNK_BYTES: usize = 16 * 1024;

/// File-system calls made for requests at once, at most. The blocking pool has 16 threads;
/// the rest stay free for rebuilds and reloads, so a folder that stops answering (a hung
/// network mount) cannot pin every worker.
const MAX_DISK_CALLS: usize = 12;

/// How long a request waits for one file-system call before it is answered without it.
const DISK_TIMEOUT: Duration = Duration::from_secs(10);

/// Places for file-system calls made for requests (process-wide: a reload does not forget
/// calls that are stuck).
static DISK_CALLS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(MAX_DISK_CALLS)));

/// Runs a blocking file-system call off the async threads, bounded: it waits for one of
/// [`MAX_DISK_CALLS`] places, and the request gives up after [`DISK_TIMEOUT`] in all (the
/// place stays taken until the call returns, if ever).
pub(super) async fn on_disk<T: Send + 'static>(
    call: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let not_answering = || {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the capsule folder did not answer in time",
        )
    };
    let deadline = tokio::time::Instant::now() + DISK_TIMEOUT;
    let place = tokio::time::timeout_at(deadline, Arc::clone(&DISK_CALLS).acquire_owned())
        .await
        .map_err(|_| not_answering())?
        .map_err(std::io::Error::other)?;
    let task = tokio::task::spawn_blocking(move || {
        let _place = place;
        call()
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(std::io::Error::other(join)),
        Err(_) => Err(not_answering()),
    }
}

/// Searches run at once: each is up to milliseconds of CPU work, done off the async threads (so
/// a search never holds up another request) and a core's worth at a time (so a flood of them
/// queues, rather than taking every blocking thread from the file reads).
static SEARCHES: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores))
});

/// How long a search waits for its turn before it is answered that the server is busy: well
/// within the time after which a full server takes the slot of an answer that stalls.
const SEARCH_WAIT: Duration = Duration::from_secs(1);

/// Runs a search off the async threads, a few at a time; `None` if it could not have its turn
/// within [`SEARCH_WAIT`] (too many searches at once), or could not run.
pub(super) async fn off_thread<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let place = timeout(SEARCH_WAIT, Arc::clone(&SEARCHES).acquire_owned())
        .await
        .ok()?
        .ok()?;
    tokio::task::spawn_blocking(move || {
        let _place = place;
        call()
    })
    .await
    .ok()
}

/// Opens a file of the capsule safely (see [`CapsuleRoot::open_file`]), off the async threads.
pub(super) async fn open_file(root: &CapsuleRoot, path: &Path) -> std::io::Result<std::fs::File> {
    let (root, path) = (root.clone(), path.to_owned());
    on_disk(move || root.open_file(&path)).await
}

/// Sends a file's bytes in chunks, counting them into the log; each write may stall for at
/// most `limit`. Each chunk is read on the blocking pool straight into the one buffer the
/// connection holds (`tokio::fs::File` would keep a second one).
pub(super) async fn send_file<S: AsyncWrite + Unpin>(
    stream: &mut S,
    file: std::fs::File,
    pace: Pace<'_>,
    log: &mut AccessLog,
) -> std::io::Result<()> {
    // Shared with each blocking read (`&File` reads too), so no read needs to hand it back.
    let file = Arc::new(file);
    let mut chunk = vec![0u8; CHUNK_BYTES];
    loop {
        let reading = Arc::clone(&file);
        let read = on_disk(move || {
            let n = (&*reading).read(&mut chunk);
            Ok((chunk, n))
        })
        .await?;
        chunk = read.0;
        let n = read.1?;
        if n == 0 {
            return Ok(());
        }
        write_timed(stream, &chunk[..n], pace).await?;
        log.bytes += n as u64;
    }
}

/// Ends an answered connection: the protocol's close (TLS close_notify, or the TCP FIN), then a
/// moment of reading what the client still sends, because closing a socket with unread input
/// makes the kernel send a reset, which can destroy the tail of the answer before the client
/// has read it. `raw` gives the socket under `stream` (the TLS stream's TCP, or the stream
/// itself). From the start of this the client has its whole answer in the kernel's hands, so a
/// full server may close the connection for a newcomer at any moment, even while a close that
/// a non-reading client stalls is still being written.
pub(super) async fn close<S, R>(
    stream: &mut S,
    raw: impl FnOnce(&mut S) -> &mut R,
    write_timeout: Duration,
    ticket: &Ticket,
) where
    S: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    ticket.answered();
    let closing = async {
        if timeout(write_timeout, stream.shutdown()).await.is_ok() {
            drain(raw(stream)).await;
        }
    };
    tokio::select! {
        () = closing => {}
        () = ticket.closed_for_newcomer().cancelled() => {}
    }
}

/// Reads and drops what the client still sends, for a moment, before the socket is closed:
/// closing a socket with unread input makes the kernel send a reset, which can destroy the
/// tail of the response before the client has read it.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    let _ = timeout(LINGER, async {
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
pub(super) mod tests {
    #[tokio::test(start_paused = true)]
    async fn a_search_that_cannot_have_its_turn_is_refused_in_time() {
        let permits = u32::try_from(super::SEARCHES.available_permits()).unwrap();
        let held = std::sync::Arc::clone(&super::SEARCHES)
            .acquire_many_owned(permits)
            .await
            .unwrap();
        assert_eq!(super::off_thread(|| 1).await, None);
        drop(held);
        assert_eq!(super::off_thread(|| 1).await, Some(1));
    }

    use super::*;
    use crate::server::slots::Slots;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A socket whose client has stopped reading near the end of an answer: it takes every
    /// write into a buffer that never drains, so whatever must reach the client (a flush of
    /// what TLS holds back, the close) waits for ever, and it never sends anything.
    pub(in crate::server) struct Stalled;

    impl AsyncWrite for Stalled {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(bytes.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Pending
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Pending
        }
    }

    impl AsyncRead for Stalled {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_close_stalled_by_a_non_reader_gives_its_slot_to_a_newcomer_at_once() {
        let slots = Arc::new(Slots::new(1));
        let ticket = slots.admit().await;
        ticket.request_arrived();
        let closing = tokio::spawn(async move {
            close(&mut Stalled, |s| s, Duration::from_secs(30), &ticket).await;
            // The slot goes back when the connection's task ends.
            drop(ticket);
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        let started = tokio::time::Instant::now();
        let newcomer = slots.admit().await;
        // Well before the 30 s the close may take.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        closing.await.unwrap();
        drop(newcomer);
    }
}
