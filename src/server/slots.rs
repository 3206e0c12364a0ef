//! The cap on open connections (`limits.max_connections`), shared by every listener, and how a
//! full server still admits a newcomer: it closes the connection that has waited longest
//! without sending its request.
//!
//! Holding a connection that sends nothing, or that asks for a large file and stops reading,
//! costs an attacker almost nothing, while a reader's client sends its request within
//! milliseconds of connecting and reads what it is sent. So when every slot is taken, a
//! connection that has had its whole answer and only waits for its client to hang up is closed
//! first (it loses nothing); else the one idle longest of those still waiting for their
//! request (for at least [`MIN_WAIT`]) and those whose answer has not moved (for at least
//! [`MIN_STALL`]: the client stopped reading); and its slot goes to the new connection. A full
//! server of connections that all make progress makes the newcomer wait for a free slot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A connection is only closed for a newcomer once it has waited this long for its request, so
/// a burst of ordinary clients never closes each other's connections.
pub(super) const MIN_WAIT: Duration = Duration::from_secs(1);

/// The access-log note of a connection closed to admit a newer one.
pub(super) const CLOSED_FOR_NEWCOMER: &str =
    "all connection slots taken; closed (no request yet) to admit a newer connection";

/// An answer whose writes have not moved for this long is closed for a newcomer when every
/// slot is taken: its client has stopped reading (a slow but live link moves a chunk in less).
pub(super) const MIN_STALL: Duration = Duration::from_secs(2);

/// The access-log note of a connection closed to admit a newer one while its answer stalled.
pub(super) const STALLED_FOR_NEWCOMER: &str =
    "all connection slots taken; closed (answer not read) to admit a newer connection";

/// How often a newcomer that found no connection old enough to close looks again.
const RECHECK: Duration = Duration::from_millis(100);

/// The slots, and the connections in each phase, by admission number (oldest first).
pub(super) struct Slots {
    permits: Arc<Semaphore>,
    /// Waiting for their request.
    waiting: Mutex<BTreeMap<u64, Waiting>>,
    /// Writing their answer, with when a write last went through.
    answering: Mutex<BTreeMap<u64, Answering>>,
    /// Answered, waiting for their client to hang up.
    closing: Mutex<BTreeMap<u64, CancellationToken>>,
    next: AtomicU64,
    /// What the progress times count from.
    started: Instant,
}

struct Answering {
    /// Milliseconds since `Slots::started` at the last write that went through.
    progress: Arc<AtomicU64>,
    close: CancellationToken,
}

struct Waiting {
    since: Instant,
    close: CancellationToken,
}

/// A connection's slot; given back when dropped.
pub(super) struct Ticket {
    slots: Arc<Slots>,
    number: u64,
    close: CancellationToken,
    progress: Arc<AtomicU64>,
    _permit: OwnedSemaphorePermit,
}

impl Ticket {
    /// Cancelled when the server closes this connection to admit a newer one.
    pub fn closed_for_newcomer(&self) -> &CancellationToken {
        &self.close
    }

    /// The request has arrived: the connection keeps its slot while its answer moves.
    pub fn request_arrived(&self) {
        self.slots.forget(self.number);
        // A kept-alive HTTP connection's next request: no longer only waiting.
        lock(&self.slots.closing).remove(&self.number);
        self.wrote();
        lock(&self.slots.answering).insert(
            self.number,
            Answering {
                progress: Arc::clone(&self.progress),
                close: self.close.clone(),
            },
        );
    }

    /// A write of the answer went through: the client is reading.
    pub fn wrote(&self) {
        self.progress
            .store(self.slots.millis_since_start(), Ordering::Relaxed);
    }

    /// The answer is sent and the connection only waits for its client to hang up: a full
    /// server may close it for a newcomer at any moment.
    pub fn answered(&self) {
        lock(&self.slots.answering).remove(&self.number);
        lock(&self.slots.closing).insert(self.number, self.close.clone());
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.slots.forget(self.number);
        lock(&self.slots.answering).remove(&self.number);
        lock(&self.slots.closing).remove(&self.number);
    }
}

impl Slots {
    pub fn new(max_connections: usize) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(max_connections)),
            waiting: Mutex::new(BTreeMap::new()),
            answering: Mutex::new(BTreeMap::new()),
            closing: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// A slot for a new connection: a free one, else one made by closing an answered
    /// connection or the longest-waiting one, else the next one given back.
    pub async fn admit(self: &Arc<Self>) -> Ticket {
        let permit = loop {
            if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
                break permit;
            }
            self.close_one_for_newcomer();
            tokio::select! {
                permit = Arc::clone(&self.permits).acquire_owned() => match permit {
                    Ok(permit) => break permit,
                    // The semaphore is never closed; wait and look again all the same.
                    Err(_) => tokio::time::sleep(RECHECK).await,
                },
                () = tokio::time::sleep(RECHECK) => {}
            }
        };
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let close = CancellationToken::new();
        lock(&self.waiting).insert(
            number,
            Waiting {
                since: Instant::now(),
                close: close.clone(),
            },
        );
        Ticket {
            slots: Arc::clone(self),
            number,
            close,
            progress: Arc::default(),
            _permit: permit,
        }
    }

    fn millis_since_start(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Closes an answered connection that only waits for its client to hang up (the oldest),
    /// else the connection idle longest among those waiting for their request (at least
    /// [`MIN_WAIT`]) and those whose answer has not moved (at least [`MIN_STALL`]). Its slot is
    /// free once its task has ended.
    fn close_one_for_newcomer(&self) {
        if let Some((_, close)) = lock(&self.closing).pop_first() {
            close.cancel();
            return;
        }
        let mut waiting = lock(&self.waiting);
        let mut answering = lock(&self.answering);
        let waited = waiting
            .first_key_value()
            .map(|(&number, w)| (w.since.elapsed(), number))
            .filter(|(idle, _)| *idle >= MIN_WAIT);
        let now = self.millis_since_start();
        let stalled = answering
            .iter()
            .map(|(&number, a)| {
                let at = a.progress.load(Ordering::Relaxed);
                (Duration::from_millis(now.saturating_sub(at)), number)
            })
            .filter(|(idle, _)| *idle >= MIN_STALL)
            .max();
        let close = match (waited, stalled) {
            (Some(w), Some(s)) if s.0 > w.0 => answering.remove(&s.1).map(|a| a.close),
            (Some(w), _) => waiting.remove(&w.1).map(|w| w.close),
            (None, Some(s)) => answering.remove(&s.1).map(|a| a.close),
            (None, None) => None,
        };
        if let Some(close) = close {
            close.cancel();
        }
    }

    fn forget(&self, number: u64) {
        lock(&self.waiting).remove(&number);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing is left half-written under this lock; keep going after a panic elsewhere.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets spawned tasks run (time is paused: this takes no real time).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_server_closes_its_longest_waiting_connection_for_a_newcomer() {
        let slots = Arc::new(Slots::new(2));
        let first = slots.admit().await;
        tokio::time::advance(Duration::from_millis(10)).await;
        let second = slots.admit().await;
        tokio::time::advance(MIN_WAIT).await;

        // Full: the newcomer closes the oldest waiting connection and gets its slot once that
        // connection's task has given it back.
        let newcomer = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.admit().await }
        });
        settle().await;
        assert!(first.closed_for_newcomer().is_cancelled());
        assert!(!second.closed_for_newcomer().is_cancelled());
        drop(first);
        let third = newcomer.await.unwrap();

        // A connection whose request arrived is never closed for a newcomer; one that has
        // not waited long enough is not either, until it has.
        second.request_arrived();
        let waiting = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.admit().await }
        });
        tokio::time::advance(MIN_WAIT / 2).await;
        settle().await;
        assert!(!second.closed_for_newcomer().is_cancelled());
        assert!(!third.closed_for_newcomer().is_cancelled());
        tokio::time::advance(MIN_WAIT).await;
        tokio::time::sleep(RECHECK * 2).await;
        assert!(third.closed_for_newcomer().is_cancelled());
        assert!(!second.closed_for_newcomer().is_cancelled());
        drop(third);
        let fourth = waiting.await.unwrap();
        assert!(!fourth.closed_for_newcomer().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_stopped_moving_is_closed_but_one_that_moves_is_not() {
        let slots = Arc::new(Slots::new(2));
        let stalled = slots.admit().await;
        stalled.request_arrived();
        let reading = slots.admit().await;
        reading.request_arrived();
        let newcomer = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.admit().await }
        });
        // The reader's writes keep going through; the other's stopped at the start.
        for _ in 0..30 {
            tokio::time::advance(Duration::from_millis(100)).await;
            reading.wrote();
            settle().await;
            assert!(!reading.closed_for_newcomer().is_cancelled());
        }
        assert!(stalled.closed_for_newcomer().is_cancelled());
        drop(stalled);
        let newcomer = newcomer.await.unwrap();
        assert!(!newcomer.closed_for_newcomer().is_cancelled());
        assert!(!reading.closed_for_newcomer().is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_connection_goes_first_and_at_once() {
        let slots = Arc::new(Slots::new(2));
        let waiting = slots.admit().await;
        let answered = slots.admit().await;
        answered.request_arrived();
        answered.answered();
        // No minimum wait: the answered connection loses nothing, the waiting one is younger
        // than MIN_WAIT and stays.
        let newcomer = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.admit().await }
        });
        settle().await;
        assert!(answered.closed_for_newcomer().is_cancelled());
        assert!(!waiting.closed_for_newcomer().is_cancelled());
        drop(answered);
        let newcomer = newcomer.await.unwrap();
        assert!(!newcomer.closed_for_newcomer().is_cancelled());
        // A ticket dropped after being marked answered leaves nothing behind to close.
        assert!(lock(&slots.closing).is_empty());
    }
}
