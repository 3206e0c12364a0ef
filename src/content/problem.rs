//! Something wrong with a file of the capsule, as `check` and the log tell it: every reader of
//! the capsule reports in this one form, naming the file and the line to fix.

use std::fmt;
use std::path::PathBuf;

/// Something wrong with a file of the capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Relative to the capsule root.
    pub path: PathBuf,
    /// 1-based, in that file: where the author can fix it (a problem with the whole file is
    /// at its first line).
    pub line: usize,
    pub message: String,
    /// Errors keep a post from being published; warnings do not.
    pub error: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.error { "error" } else { "warning" };
        write!(
            f,
            "{}:{}: {kind}: {}",
            self.path.display(),
            self.line,
            self.message
        )
    }
}
