//! The Gemini request-line parser on arbitrary bytes: must never panic, and whatever it
//! accepts must hold no `.`/`..` segment and no control byte in its path.
#![no_main]

use gemhole::protocol::request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = request::parse(data) {
        for segment in &request.segments {
            assert!(segment != "." && segment != "..", "dot segment {segment:?}");
            assert!(!segment.contains('/'), "slash in segment {segment:?}");
            assert!(!segment.chars().any(char::is_control), "control in {segment:?}");
        }
    }
});
