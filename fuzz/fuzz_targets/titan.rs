//! The Titan request-line parser on arbitrary bytes: must never panic, and whatever it accepts
//! must name a file (no folder, no `.` or `..` segment, no `/` or control byte in a segment;
//! dot-files are the upload's to refuse, once its place is known), carry a size unless it is
//! an edit, and keep a token out of the path it logs.
#![no_main]

use gemhole::protocol::titan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = titan::parse(data) {
        let target = &request.target;
        assert!(!target.segments.is_empty() && !target.ends_with_slash);
        for segment in &target.segments {
            assert!(segment != "." && segment != "..", "dot segment {segment:?}");
            assert!(!segment.contains('/'), "slash in segment {segment:?}");
            assert!(!segment.chars().any(char::is_control), "control in {segment:?}");
        }
        assert!(request.edit || request.size.is_some());
        assert!(!target.raw_path.contains(';'), "parameters in the path {:?}", target.raw_path);
        if let Some(mime) = &request.mime {
            assert!(!mime.chars().any(char::is_control), "control in {mime:?}");
        }
    }
});
