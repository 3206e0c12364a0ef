//! What the capsule folder holds and how request paths map onto it.

pub mod files;
pub mod front_matter;
pub mod markdown;
pub mod parallel;
pub mod post;
pub mod scaffold;
pub mod scan;
pub mod search;
pub mod series;
pub mod site;
pub mod store;

pub use files::{CapsuleRoot, Resolved, Secret, SecretInside};
