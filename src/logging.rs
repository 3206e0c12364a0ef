//! Where log lines go: stderr, written by a thread of their own so that the request path makes
//! no system call per access-log line. tracing-appender's non-blocking writer queues each line
//! (bounded); its thread writes them through a buffer that is flushed whenever the queue runs
//! empty, so a busy server makes one write for many lines and a quiet one shows each at once.
//!
//! A stderr that stops draining never stalls a request: once the queue is full, lines are
//! dropped (lossy mode) and counted, and the count is written as a line of its own when there
//! is room again.

use std::io::{BufWriter, Write};
use std::sync::mpsc;
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

/// Lines queued for the writer thread. The queue's slots are allocated (and touched) up front,
/// 32 bytes each, so this is 256 KiB: at thousands of requests a second, a second or two of
/// lines while stderr is slow.
const QUEUED_LINES: usize = 8 * 1024;

/// How often the count of dropped lines is looked at.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Keeps the writer thread (and the dropped-line report) running; when dropped, writes what is
/// still queued (waiting at most about a second) and stops them.
pub struct Guard {
    /// Dropped first: its thread ends when this channel closes.
    _stop_report: mpsc::Sender<()>,
    _writer: WorkerGuard,
}

/// Starts the writer thread for stderr; hand the writer to the tracing subscriber and keep the
/// guard as long as logging.
pub fn stderr() -> (NonBlocking, Guard) {
    start(std::io::stderr())
}

/// As [`stderr`], for any destination.
fn start<W: Write + Send + 'static>(destination: W) -> (NonBlocking, Guard) {
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("log-writer")
        .finish(BufWriter::new(destination));
    let (stop_report, stopped) = mpsc::channel();
    let reporter = writer.clone();
    let _ = std::thread::Builder::new()
        .name("log-drops".into())
        .spawn(move || report_drops(&reporter, &stopped));
    (
        writer,
        Guard {
            _stop_report: stop_report,
            _writer: worker,
        },
    )
}

/// Writes how many lines were dropped since the last look, whenever that number grows, until
/// `stopped` closes.
fn report_drops(writer: &NonBlocking, stopped: &mpsc::Receiver<()>) {
    let counter: ErrorCounter = writer.error_counter();
    let mut reported = 0;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(REPORT_EVERY) {
        let dropped = counter.dropped_lines();
        if dropped > reported {
            let line = format!(
                "log: {} line(s) dropped while stderr was blocked\n",
                dropped - reported
            );
            // Counted as reported only once the note itself is queued.
            let _ = writer.clone().write_all(line.as_bytes());
            if counter.dropped_lines() == dropped {
                reported = dropped;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A destination that blocks every write until it is opened, and keeps what it got.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, changed) = &*self.open;
            let mut is_open = open.lock().unwrap();
            while !*is_open {
                is_open = changed.wait(is_open).unwrap();
            }
            self.got.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Gate {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }

        fn text(&self) -> String {
            String::from_utf8(self.got.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn a_blocked_destination_drops_lines_counts_them_and_stalls_no_writer() {
        let gate = Gate::default();
        let (writer, guard) = start(gate.clone());
        let total = QUEUED_LINES * 3;
        // Far more lines than the queue holds while the destination is stuck: the writes must
        // all return (in another thread, waited for with a deadline).
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            for i in 0..total {
                writer
                    .clone()
                    .write_all(format!("line {i}\n").as_bytes())
                    .unwrap();
            }
            let _ = done.send(());
        });
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("a write blocked on the stuck destination");
        gate.open();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !gate.text().contains("dropped while stderr was blocked") {
            assert!(std::time::Instant::now() < deadline, "no drop report");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(guard);
        let text = gate.text();
        assert!(text.starts_with("line 0\n"), "{}", &text[..40]);
        let written = text.lines().filter(|l| l.starts_with("line ")).count();
        let reports: Vec<usize> = text
            .lines()
            .filter_map(|l| l.strip_prefix("log: "))
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect();
        // Every line was written or counted as dropped (a report that was itself dropped is
        // counted in the next one).
        assert!(written < total, "nothing was dropped");
        let reported: usize = reports.iter().sum();
        assert!(
            (total - written..=total - written + reports.len()).contains(&reported),
            "{written} written, {reports:?} reported dropped of {total}"
        );
    }

    #[test]
    fn lines_queued_before_the_guard_is_dropped_are_written() {
        let gate = Gate::default();
        gate.open();
        let (writer, guard) = start(gate.clone());
        for i in 0..100 {
            writer
                .clone()
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        drop(guard);
        assert_eq!(gate.text().lines().count(), 100);
    }
}
