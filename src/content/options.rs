//! Where a capsule keeps its posts and series descriptions, and the options a build reads them
//! with: the operator's settings for a host, turned into what reading a file needs.

use std::collections::BTreeMap;

use crate::config::{HostConfig, SeriesConfig};
use crate::convert;

/// The folder, below the capsule root, that holds the posts.
pub const POSTS_DIR: &str = "posts";

/// The folder, below the capsule root, whose `<slug>.md` files describe series.
pub const SERIES_DIR: &str = "series";

/// Limits and options for reading posts.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOptions {
    pub markdown: convert::Options,
    pub max_file_size: u64,
    /// Publish posts whose date is still in the future.
    pub show_future: bool,
    /// Per-series settings from the config, by series name.
    pub series: BTreeMap<String, SeriesConfig>,
    /// The time zone of dates written without an offset.
    pub zone: jiff::tz::TimeZone,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions::new(&HostConfig::default())
    }
}

impl BuildOptions {
    /// Whether a file is read the same way under both: converted alike, with the same size
    /// limit, its dates in the same zone. What was read under one serves the other.
    pub fn reads_same(&self, other: &BuildOptions) -> bool {
        self.markdown == other.markdown
            && self.max_file_size == other.max_file_size
            && self.zone == other.zone
    }

    /// The options the operator's settings for a host give.
    pub fn new(config: &HostConfig) -> BuildOptions {
        BuildOptions {
            markdown: convert::Options::from(&config.markdown),
            max_file_size: config.markdown.max_file_size.bytes(),
            show_future: config.publish_future,
            series: config.series.clone(),
            zone: config.timezone.zone().clone(),
        }
    }
}
