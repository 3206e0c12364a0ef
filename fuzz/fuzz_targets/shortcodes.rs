//! Shortcodes and template tags on arbitrary bytes: must never panic, and every offset of the
//! expanded text must map back into the source.
#![no_main]

use gemhole::convert::markdown::parse_options;
use gemhole::convert::shortcodes::expand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let expanded = expand(&text, parse_options());
    for at in 0..=expanded.text.len() {
        assert!(expanded.source_offset(at) <= text.len());
    }
    for note in &expanded.notes {
        assert!(note.offset <= text.len());
    }
});
