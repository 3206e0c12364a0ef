//! The cap on open connections (`limits.max_connections`), shared by every listener, and how a
//! full server still admits a newcomer: it closes the connection that has waited longest
//! without sending its request.
//!
//! Holding a connection that sends nothing costs a slowloris client almost nothing, while a
//! reader's client sends its request within milliseconds of connecting. So when every slot is
//! taken, a connection that has had its whole answer and only waits for its client to hang up
//! is closed first (it loses nothing), else the oldest connection still waiting for its
//! request (if it has waited at least [`MIN_WAIT`]), and its slot goes to the new connection;
//! a full server of busy connections (answers being written) makes the newcomer wait for a
//! free slot instead.

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

/// How often a newcomer that found no connection old enough to close looks again.
const RECHECK: Duration = Duration::from_millis(100);

/// The slots, the connections that have not sent a request yet, and those that are answered.
pub(super) struct Slots {
    permits: Arc<Semaphore>,
    /// Waiting connections by admission number (oldest first).
    waiting: Mutex<BTreeMap<u64, Waiting>>,
    /// Answered connections waiting for their client to hang up, by admission number.
    closing: Mutex<BTreeMap<u64, CancellationToken>>,
    next: AtomicU64,
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
    _permit: OwnedSemaphorePermit,
}

impl Ticket {
    /// Cancelled when the server closes this connection to admit a newer one.
    pub fn closed_for_newcomer(&self) -> &CancellationToken {
        &self.close
    }

    /// The request has arrived: the connection keeps its slot while it is answered.
    pub fn request_arrived(&self) {
        self.slots.forget(self.number);
    }

    /// The answer is sent and the connection only waits for its client to hang up: a full
    /// server may close it for a newcomer at any moment.
    pub fn answered(&self) {
        lock(&self.slots.closing).insert(self.number, self.close.clone());
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.slots.forget(self.number);
        lock(&self.slots.closing).remove(&self.number);
    }
}

impl Slots {
    pub fn new(max_connections: usize) -> Slots {
        Slots {
            permits: Arc::new(Semaphore::new(max_connections)),
            waiting: Mutex::new(BTreeMap::new()),
            closing: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
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
            _permit: permit,
        }
    }

    /// Closes an answered connection that only waits for its client to hang up (the oldest),
    /// else the connection that has waited longest for its request, if it has waited at least
    /// [`MIN_WAIT`]. Its slot is free once its task has ended.
    fn close_one_for_newcomer(&self) {
        if let Some((_, close)) = lock(&self.closing).pop_first() {
            close.cancel();
            return;
        }
        let mut waiting = lock(&self.waiting);
        if let Some(entry) = waiting.first_entry()
            && entry.get().since.elapsed() >= MIN_WAIT
        {
            entry.remove().close.cancel();
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
