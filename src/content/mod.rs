//! What the capsule folder holds and how request paths map onto it.

pub mod files;
pub mod front_matter;
pub mod listing;
pub mod markdown;
pub mod options;
pub mod parallel;
pub mod post;
pub mod problem;
pub mod scaffold;
pub mod scan;
pub mod search;
pub mod series;
pub mod site;
pub mod store;
pub mod tags;

pub use files::{CapsuleRoot, Resolved, Secret, SecretInside};
pub use options::{BuildOptions, POSTS_DIR, SERIES_DIR, is_jekyll_draft, is_post_path, served_as};
pub use post::{Link, Post};
pub use problem::Problem;
pub use series::Series;
pub use site::Site;
pub use tags::Tag;
