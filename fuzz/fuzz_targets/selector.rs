//! The Gopher selector parser on arbitrary bytes: must never panic; an item's segments are
//! never empty, `.` or `..`, and hold no `/` and no control character; the selector it reports
//! is a prefix of the line.
#![no_main]

use gemhole::protocol::selector::{self, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = selector::parse(data) else {
        return;
    };
    assert!(data.starts_with(request.selector.as_bytes()));
    if let Target::Item { segments, .. } = &request.target {
        for segment in segments {
            assert!(!segment.is_empty());
            assert!(segment != "." && segment != "..", "dot segment {segment:?}");
            assert!(!segment.contains('/'), "slash in segment {segment:?}");
            assert!(!segment.chars().any(char::is_control), "control in {segment:?}");
        }
    }
});
