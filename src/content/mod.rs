//! What the capsule folder holds and how request paths map onto it.

pub mod files;

pub use files::{CapsuleRoot, Resolved};
