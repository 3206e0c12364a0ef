//! Per-address limits: how many connections one client address may hold open, and how many
//! requests it may make per minute. The state lives in fixed tables indexed by a keyed hash of
//! the address (IPv6 by its /64, which one user usually holds whole), so a flood from any
//! number of addresses cannot grow memory: addresses that share a slot share its allowance.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// Slots per table: 65,536 × 4 bytes for connections, × 16 for request rates (only once a
/// rate is set), whatever the traffic.
const SLOTS: usize = 1 << 16;

/// Health-check connections (PROXY v2 `LOCAL`) one balancer address may have at once:
/// HAProxy checks each server with one at a time.
pub const BALANCER_CHECKS: u32 = 4;

/// The per-address limits of one server. The tables live as long as the process: a reload
/// changes the limits in place, so an address keeps what it holds and what it has spent.
pub struct PerAddress {
    hasher: RandomState,
    /// Connections per address; 0: no cap.
    max_connections: AtomicU32,
    /// Connections owed an answer, per slot.
    connections: Box<[AtomicU32]>,
    /// Requests per minute per address; 0: no rate limit.
    per_minute: AtomicU32,
    /// Request allowance per slot, made when a rate is first set.
    buckets: OnceLock<Mutex<Box<[Bucket]>>>,
    started: Instant,
}

/// A token bucket: `tokens` requests may be made now; it refills at `per_minute`.
#[derive(Clone, Copy, Default)]
struct Bucket {
    tokens: f32,
    /// Milliseconds since `Rates::started` at the last refill; 0: never used.
    at_ms: u64,
}

/// Held by a connection until its answer is written (or it ends sooner); frees its place when
/// dropped. A connection that is only being closed holds none, so an address's allowance
/// counts the connections it is still owed an answer on.
pub struct Slot {
    limits: Arc<PerAddress>,
    index: usize,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.connections[self.index].fetch_sub(1, Ordering::Relaxed);
    }
}

impl PerAddress {
    /// `max_connections` and `requests_per_minute` of 0 turn that limit off.
    pub fn new(max_connections: u32, requests_per_minute: u32) -> PerAddress {
        let limits = PerAddress {
            hasher: RandomState::new(),
            max_connections: AtomicU32::new(0),
            connections: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            per_minute: AtomicU32::new(0),
            buckets: OnceLock::new(),
            started: Instant::now(),
        };
        limits.set(max_connections, requests_per_minute);
        limits
    }

    /// Changes the limits (a configuration reload); what each address holds and has spent is
    /// kept.
    pub fn set(&self, max_connections: u32, requests_per_minute: u32) {
        self.max_connections
            .store(max_connections, Ordering::Relaxed);
        if requests_per_minute > 0 {
            self.buckets
                .get_or_init(|| Mutex::new(vec![Bucket::default(); SLOTS].into_boxed_slice()));
        }
        self.per_minute
            .store(requests_per_minute, Ordering::Relaxed);
    }

    fn index(&self, ip: IpAddr) -> usize {
        // An IPv4 client written as an IPv4-mapped IPv6 address (a dual-stack balancer) is
        // that IPv4 address, not one of a single /64.
        let key: u128 = match ip.to_canonical() {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            // The /64: the part of an IPv6 address that names a network, not a device.
            IpAddr::V6(v6) => u128::from(v6) >> 64 | 1 << 127,
        };
        (self.hasher.hash_one(key) as usize) % SLOTS
    }

    /// Takes a connection place for `ip`; `None` if the address already has its most waiting for
    /// an answer.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let index = self.index(ip);
        let max = self.max_connections.load(Ordering::Relaxed);
        let before = self.connections[index].fetch_add(1, Ordering::Relaxed);
        if max > 0 && before >= max {
            self.connections[index].fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Slot {
            limits: Arc::clone(self),
            index,
        })
    }

    /// Counts a request from `ip`: `Err(seconds)` if it is over its rate, with how long until
    /// it may ask again, rounded up (a client that waits that long is let in).
    pub fn request(&self, ip: IpAddr) -> Result<(), u64> {
        let per_minute = f64::from(self.per_minute.load(Ordering::Relaxed));
        let Some(buckets) = self.buckets.get().filter(|_| per_minute > 0.0) else {
            return Ok(());
        };
        let index = self.index(ip);
        let per_ms = per_minute / 60_000.0;
        let mut buckets = buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the lock: a time read before it could be older than the bucket's.
        let now_ms = self.started.elapsed().as_millis() as u64 + 1;
        let bucket = &mut buckets[index];
        debug_assert!(
            now_ms >= bucket.at_ms,
            "a bucket's clock ran backwards, from {} ms to {now_ms} ms",
            bucket.at_ms
        );
        let tokens = if bucket.at_ms == 0 {
            per_minute
        } else {
            let refilled = now_ms.saturating_sub(bucket.at_ms) as f64 * per_ms;
            (f64::from(bucket.tokens) + refilled).min(per_minute)
        };
        bucket.at_ms = now_ms;
        if tokens >= 1.0 {
            bucket.tokens = (tokens - 1.0) as f32;
            Ok(())
        } else {
            bucket.tokens = tokens as f32;
            let wait_ms = ((1.0 - tokens) / per_ms).ceil() as u64;
            Err(wait_ms.div_ceil(1000).max(1))
        }
    }
}

/// File descriptors the process keeps for itself (listeners, the watcher, logs, the runtime).
const FDS_OF_OUR_OWN: u64 = 64;

/// Raises the process's open-file limit (soft, up to the hard limit) so that `max_connections`
/// connections, each possibly sending a file, fit; returns how many connections fit in what
/// it got, and how many files it wanted. Linux starts processes with a soft limit of 1,024
/// files, fewer than a busy server needs, while the hard limit is usually far higher.
pub(super) fn make_room_for(max_connections: usize) -> (usize, u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let wanted = 2 * max_connections as u64 + FDS_OF_OUR_OWN;
    let limit = getrlimit(Resource::Nofile);
    let Some(mut current) = limit.current else {
        return (max_connections, wanted); // unlimited
    };
    if current < wanted {
        let raised = wanted.min(limit.maximum.unwrap_or(u64::MAX));
        let new = Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, new).is_ok() {
            current = raised;
        }
    }
    let fits = (current.saturating_sub(FDS_OF_OUR_OWN) / 2) as usize;
    (fits.clamp(1, max_connections), wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connections_per_address_are_capped_and_given_back() {
        let limits = Arc::new(PerAddress::new(2, 0));
        let a = limits.connect(ip("192.0.2.1")).unwrap();
        let _b = limits.connect(ip("192.0.2.1")).unwrap();
        assert!(limits.connect(ip("192.0.2.1")).is_none());
        // Another address has its own allowance (unless it shares the slot, 1 in 65,536).
        assert!(limits.connect(ip("198.51.100.7")).is_some());
        drop(a);
        assert!(limits.connect(ip("192.0.2.1")).is_some());
        // Off: no cap.
        let off = Arc::new(PerAddress::new(0, 0));
        let held: Vec<_> = (0..100)
            .map(|_| off.connect(ip("192.0.2.1")).unwrap())
            .collect();
        assert_eq!(held.len(), 100);
    }

    #[test]
    fn requests_over_the_rate_wait_and_an_ipv6_network_counts_once() {
        let limits = PerAddress::new(0, 3);
        for _ in 0..3 {
            limits.request(ip("2001:db8::1")).unwrap();
        }
        // Same /64, another device: the same allowance, now spent. One more comes after 20 s.
        assert_eq!(limits.request(ip("2001:db8::2")).unwrap_err(), 20);
        assert!(limits.request(ip("2001:db8:1::1")).is_ok());
        assert!(PerAddress::new(0, 0).request(ip("2001:db8::1")).is_ok());
        // A wait of 8.6 s is said as 9, never 8 (a client that waits 8 would be refused).
        let limits = PerAddress::new(0, 7);
        for _ in 0..7 {
            limits.request(ip("192.0.2.1")).unwrap();
        }
        assert_eq!(limits.request(ip("192.0.2.1")).unwrap_err(), 9);
    }

    #[test]
    fn one_address_asked_for_from_many_threads_never_runs_its_clock_backwards() {
        // Each request reads the clock; read before the lock, a later request could store a
        // time ahead of an earlier one still waiting for the lock (`now - at` underflows), and
        // the bucket's time would step back. Every request checks that it does not (a debug
        // assertion, which panics its thread), and so does a watcher of the bucket meanwhile.
        let limits = Arc::new(PerAddress::new(0, 1_000_000));
        let index = limits.index(ip("192.0.2.1"));
        let stamp = move |limits: &PerAddress| {
            let buckets = limits.buckets.get().unwrap();
            buckets.lock().unwrap_or_else(|e| e.into_inner())[index].at_ms
        };
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (limits, running) = (Arc::clone(&limits), Arc::clone(&running));
            std::thread::spawn(move || {
                let mut last = 0;
                while running.load(Ordering::Relaxed) {
                    let at = stamp(&limits);
                    assert!(
                        at >= last,
                        "the bucket's time went back from {last} to {at}"
                    );
                    last = at;
                    std::thread::yield_now();
                }
            })
        };
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let limits = Arc::clone(&limits);
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        let _ = limits.request(ip("192.0.2.1"));
                    }
                })
            })
            .collect();
        let panicked = threads
            .into_iter()
            .filter_map(|thread| thread.join().err())
            .count();
        running.store(false, Ordering::Relaxed);
        watcher.join().expect("the watcher saw the time go back");
        assert_eq!(
            panicked, 0,
            "a request found its bucket's time ahead of the clock"
        );
        // The last time stored is one the clock has reached.
        let elapsed = limits.started.elapsed().as_millis() as u64 + 1;
        let last = stamp(&limits);
        assert!(
            0 < last && last <= elapsed,
            "{last} ms, {elapsed} ms since the start"
        );
    }

    #[test]
    fn limits_change_in_place_and_keep_what_addresses_hold() {
        let limits = Arc::new(PerAddress::new(1, 0));
        let held = limits.connect(ip("192.0.2.1")).unwrap();
        limits.set(2, 1);
        let _second = limits.connect(ip("192.0.2.1")).unwrap();
        assert!(limits.connect(ip("192.0.2.1")).is_none());
        assert!(limits.request(ip("192.0.2.1")).is_ok());
        assert!(limits.request(ip("192.0.2.1")).is_err());
        limits.set(0, 0);
        assert!(limits.request(ip("192.0.2.1")).is_ok());
        drop(held);
    }

    #[test]
    fn a_flood_from_many_addresses_keeps_the_tables_fixed() {
        let limits = Arc::new(PerAddress::new(4, 60));
        let mut held = Vec::new();
        for n in 0..100_000u32 {
            let addr = IpAddr::from(n.to_be_bytes());
            let _ = limits.request(addr);
            if let Some(slot) = limits.connect(addr) {
                held.push(slot);
            }
        }
        // Memory is the fixed tables; at most 4 places per slot.
        assert!(held.len() <= 4 * SLOTS);
        assert!(held.len() > 60_000, "{}", held.len());
    }
}
