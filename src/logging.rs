//! Log output that costs the request path no system call: formatted lines are gathered in
//! memory and written to stderr in batches by a thread of their own, at least every 100 ms
//! (and at once when much has gathered). A stderr that stops draining never blocks a request:
//! past a bound, lines are dropped and counted, and the count is logged when it drains again.
//!
//! Why not tracing-appender's non-blocking writer, which does much the same: its thread wakes
//! (and writes) for every line when lines come one at a time, which cost 1.09× the server's
//! CPU per request at one connection in an A/B of the two (BENCHMARKS.md, "Log writer").

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// How long a line may wait before it is written.
const EVERY: Duration = Duration::from_millis(100);
/// Gathered bytes that wake the writer at once.
const SOON: usize = 32 * 1024;
/// Gathered bytes past which new lines are dropped.
const MOST: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
}

type Shared = Arc<(Mutex<Pending>, Condvar)>;

/// A `MakeWriter` for tracing that batches lines for stderr.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Shared,
}

/// Writes what is still pending when dropped; keep it alive as long as logging.
pub struct FlushGuard {
    shared: Shared,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl BatchedStderr {
    /// Starts the writer thread.
    pub fn start() -> (BatchedStderr, FlushGuard) {
        let shared: Shared = Arc::default();
        let for_thread = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_batches(&for_thread))
            .ok();
        (
            BatchedStderr {
                shared: Arc::clone(&shared),
            },
            FlushGuard { shared, writer },
        )
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Pending> {
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer thread: waits for lines (or the interval), then writes them in one go.
fn write_batches(shared: &Shared) {
    let mut stderr = std::io::stderr();
    loop {
        let (batch, dropped, closed) = {
            let mut pending = lock(shared);
            if pending.bytes.is_empty() && !pending.closed {
                pending = shared
                    .1
                    .wait_timeout(pending, EVERY)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            let dropped = std::mem::take(&mut pending.dropped);
            (std::mem::take(&mut pending.bytes), dropped, pending.closed)
        };
        if dropped > 0 {
            let _ = writeln!(
                stderr,
                "log: {dropped} line(s) dropped while stderr was blocked"
            );
        }
        if !batch.is_empty() {
            let _ = stderr.write_all(&batch);
        }
        if closed {
            return;
        }
        // Gather for a while: one write per interval, not one per line.
        std::thread::sleep(EVERY.min(Duration::from_millis(20)));
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.1.notify_all();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// One log event's bytes, appended to the pending batch.
pub struct Line<'a> {
    shared: &'a Shared,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut pending = lock(self.shared);
        if pending.closed {
            // After the writer has stopped (process exit): straight to stderr.
            drop(pending);
            return std::io::stderr().write(buf);
        }
        if pending.bytes.len() + buf.len() > MOST {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(buf);
            if pending.bytes.len() >= SOON {
                self.shared.1.notify_one();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            shared: &self.shared,
        }
    }
}

/// Whether standard error is systemd's journal: `JOURNAL_STREAM` names its device and inode
/// (a child that inherited the variable but writes elsewhere is not).
pub fn journal_on_stderr() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(stat) = rustix::fs::fstat(std::io::stderr()) else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(stat.st_dev) && ino.parse::<u64>().ok() == Some(stat.st_ino)
}

/// Lines for journald: the syslog priority (`<4>`), the target and the message with its
/// fields, no timestamp (the journal keeps its own) and no colours, so `journalctl -p warning`
/// filters them.
pub struct JournaldFormat;

/// The syslog priority of a level: error 3, warning 4, info 6, debug and trace 7.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<S, N> FormatEvent<S, N> for JournaldFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        write!(writer, "<{}>{}: ", priority(*meta.level()), meta.target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_gather_until_written_and_a_full_buffer_drops() {
        let shared: Shared = Arc::default();
        let mut line = Line { shared: &shared };
        line.write_all(b"one\n").unwrap();
        line.write_all(b"two\n").unwrap();
        assert_eq!(lock(&shared).bytes, b"one\ntwo\n");
        lock(&shared).bytes = vec![0; MOST];
        line.write_all(b"three\n").unwrap();
        assert_eq!(lock(&shared).dropped, 1);
    }

    #[test]
    fn journald_lines_carry_their_priority_and_no_timestamp() {
        /// A [`Line`] that holds its own handle on the batch.
        struct OwnedLine(Shared);
        impl Write for OwnedLine {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                Line { shared: &self.0 }.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let shared: Shared = Arc::default();
        let for_writer = Arc::clone(&shared);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(JournaldFormat)
            .with_writer(move || OwnedLine(Arc::clone(&for_writer)))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "gemhole::server", host = "a.example", "disk full");
            tracing::info!(target: "author", "posts/x.md:2: no title");
            tracing::error!("cannot bind");
        });
        let text = String::from_utf8(lock(&shared).bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "<4>gemhole::server: disk full host=\"a.example\"",
                "<6>author: posts/x.md:2: no title",
                "<3>gemhole::logging::tests: cannot bind",
            ]
        );
    }
}
