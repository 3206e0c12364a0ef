//! Answers rendered from one snapshot, kept for the next requests: bounded, made once however
//! many ask at the same time, and shared while held.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use crate::convert::url::Origin;

/// What a kept answer is the answer to: the protocol that answers, with what its bytes depend
/// on beyond the path (Gemini's origin, in feeds' absolute URLs; Gopher's advertised port, in
/// menus' items), and the request path in its one form (`//a//b` is `/a/b`), so one answer is
/// kept once however it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub asked: Asked,
    /// Decoded, from the root: `/posts/x.gmi`, `/archive/`.
    pub path: String,
}

/// Who asks, as far as the bytes of an answer depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Asked {
    /// `gemini://host[:port]`.
    Gemini(String),
    /// The port Gopher menus advertise.
    Gopher(u16),
}

impl AnswerKey {
    pub fn gemini(origin: &Origin, segments: &[String], ends_with_slash: bool) -> AnswerKey {
        AnswerKey {
            asked: Asked::Gemini(origin.absolute("")),
            path: path_of(segments, ends_with_slash),
        }
    }

    pub fn gopher(port: u16, segments: &[String], ends_with_slash: bool) -> AnswerKey {
        AnswerKey {
            asked: Asked::Gopher(port),
            path: path_of(segments, ends_with_slash),
        }
    }

    /// What it costs to keep, counted against [`Rendered::MAX_BYTES`].
    fn bytes(&self) -> usize {
        let asked = match &self.asked {
            Asked::Gemini(origin) => origin.len(),
            Asked::Gopher(_) => 2,
        };
        asked + self.path.len()
    }
}

fn path_of(segments: &[String], ends_with_slash: bool) -> String {
    format!(
        "/{}{}",
        segments.join("/"),
        if ends_with_slash { "/" } else { "" }
    )
}

/// Rendered answers by key, made once per snapshot. Bounded in count and in bytes: past
/// [`Rendered::MAX_ENTRIES`] or [`Rendered::MAX_BYTES`] an answer is no longer kept for
/// later requests, so no sequence of requests can grow it further. An answer is made once
/// however many requests ask for it at the same time, and one that is not kept is still
/// shared by every request that asks while another is sending it: a large page costs one
/// copy, not one per connection (readers that stop reading hold the copy, not a new one).
#[derive(Debug, Default)]
pub struct Rendered {
    kept: std::sync::RwLock<Kept>,
    /// Answers being made, and answers made but not kept while someone still holds them.
    shared: std::sync::Mutex<HashMap<AnswerKey, Arc<Making>>>,
}

/// One answer being made: its maker holds the lock; later askers wait on it, then find the
/// answer (as long as someone holds it).
#[derive(Debug, Default)]
struct Making(std::sync::Mutex<Option<Weak<[u8]>>>);

#[derive(Debug, Default)]
struct Kept {
    entries: HashMap<AnswerKey, Arc<[u8]>>,
    bytes: usize,
}

impl Rendered {
    pub const MAX_ENTRIES: usize = 4096;
    pub const MAX_BYTES: usize = 64 << 20;

    /// Answers shared while held, at most: past it those no longer held are forgotten.
    const MAX_SHARED: usize = 256;

    /// The answer under `key`, kept or still held by a request: never waits. Keys must be
    /// canonical (one key per answer), or one answer could fill the budget under many names.
    pub fn get(&self, key: &AnswerKey) -> Option<Arc<[u8]>> {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = kept.entries.get(key) {
            return Some(Arc::clone(found));
        }
        drop(kept);
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let making = shared.get(key)?;
        making.0.try_lock().ok()?.as_ref()?.upgrade()
    }

    /// The answer under `key`, else what `make` gives: an answer (kept if it fits, shared
    /// while held if not), or `Err` with what the caller needs to answer otherwise. Made once
    /// for every request that asks meanwhile: those wait for the first. Blocking: call it off
    /// the async threads.
    pub fn get_or_make<T>(
        &self,
        key: &AnswerKey,
        make: impl FnOnce() -> Result<Vec<u8>, T>,
    ) -> Result<Arc<[u8]>, T> {
        if let Some(found) = self.get(key) {
            return Ok(found);
        }
        let making = {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            if shared.len() >= Self::MAX_SHARED {
                // Forgotten once no request waits on it and nobody holds its answer.
                shared.retain(|_, m| {
                    Arc::strong_count(m) > 1
                        || m.0
                            .try_lock()
                            .map_or(true, |w| w.as_ref().is_some_and(|w| w.strong_count() > 0))
                });
            }
            Arc::clone(shared.entry(key.clone()).or_default())
        };
        let mut made = making.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = made.as_ref().and_then(Weak::upgrade) {
            return Ok(found);
        }
        // Made and kept by the request this one waited for.
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = kept.entries.get(key) {
            return Ok(Arc::clone(found));
        }
        drop(kept);
        let answer: Arc<[u8]> = make()?.into();
        let mut kept = self.kept.write().unwrap_or_else(|e| e.into_inner());
        let fits = kept.entries.len() < Self::MAX_ENTRIES
            && kept.bytes + answer.len() + key.bytes() <= Self::MAX_BYTES;
        if fits && !kept.entries.contains_key(key) {
            kept.bytes += answer.len() + key.bytes();
            kept.entries.insert(key.clone(), Arc::clone(&answer));
        } else {
            *made = Some(Arc::downgrade(&answer));
        }
        Ok(answer)
    }

    /// The answers kept under keys whose path `keep` holds to, for the next snapshot.
    pub fn carried(&self, keep: impl Fn(&str) -> bool) -> Rendered {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        let mut carried = Kept::default();
        for (key, answer) in &kept.entries {
            if keep(&key.path) {
                carried.bytes += answer.len() + key.bytes();
                carried.entries.insert(key.clone(), Arc::clone(answer));
            }
        }
        Rendered {
            kept: std::sync::RwLock::new(carried),
            shared: std::sync::Mutex::default(),
        }
    }

    /// How many answers are kept, and their bytes (keys included).
    pub fn size(&self) -> (usize, usize) {
        let kept = self.kept.read().unwrap_or_else(|e| e.into_inner());
        (kept.entries.len(), kept.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> AnswerKey {
        AnswerKey::gopher(70, &[name.to_owned()], false)
    }

    #[test]
    fn rendered_answers_are_kept_up_to_a_bound() {
        let rendered = Rendered::default();
        let mut calls = 0;
        for _ in 0..3 {
            let got = rendered.get_or_make(&key("a"), || {
                calls += 1;
                Ok::<_, ()>(b"answer".to_vec())
            });
            assert_eq!(got.as_deref(), Ok(&b"answer"[..]));
        }
        assert_eq!(calls, 1);
        // Nothing made, nothing kept.
        assert!(rendered.get_or_make(&key("none"), || Err(())).is_err());
        for i in 0..Rendered::MAX_ENTRIES + 10 {
            let _ = rendered.get_or_make(&key(&i.to_string()), || Ok::<_, ()>(vec![0]));
        }
        assert_eq!(rendered.size().0, Rendered::MAX_ENTRIES);

        // Big answers stop being kept at the byte budget, but are still answered.
        let big = Rendered::default();
        let size = Rendered::MAX_BYTES / 10;
        for i in 0..20 {
            let got = big.get_or_make(&key(&i.to_string()), || Ok::<_, ()>(vec![0; size]));
            assert_eq!(got.map(|g| g.len()), Ok(size));
        }
        let (entries, bytes) = big.size();
        assert_eq!(entries, 9);
        assert!(bytes <= Rendered::MAX_BYTES, "{bytes}");
        // One not kept is shared while it is held: the same bytes, not a copy.
        let held = big
            .get_or_make(&key("19"), || Ok::<_, ()>(vec![1; size]))
            .unwrap();
        assert!(Arc::ptr_eq(&held, &big.get(&key("19")).unwrap()));
        let again = big.get_or_make(&key("19"), || Err(())).unwrap();
        assert!(Arc::ptr_eq(&held, &again));
        drop((held, again));
        assert!(big.get(&key("19")).is_none());
    }

    /// Requests that ask for one answer at once wait for the first to make it: it is made
    /// once, and they all get the same bytes.
    #[test]
    fn an_answer_asked_for_at_once_is_made_once() {
        let rendered = Arc::new(Rendered::default());
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let size = Rendered::MAX_BYTES + 1;
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (rendered, made) = (Arc::clone(&rendered), Arc::clone(&made));
                std::thread::spawn(move || {
                    rendered
                        .get_or_make(&key("big"), || {
                            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok::<_, ()>(vec![7; size])
                        })
                        .unwrap()
                })
            })
            .collect();
        let answers: Vec<Arc<[u8]>> = askers.into_iter().map(|a| a.join().unwrap()).collect();
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| Arc::ptr_eq(a, &answers[0])));
        assert_eq!(rendered.size().0, 0);
    }
}
