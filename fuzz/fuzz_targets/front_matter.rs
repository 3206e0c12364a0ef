//! Front-matter splitting and parsing, then whole-page conversion, on arbitrary bytes: errors
//! are fine, panics are not, and an error's line must lie within the input.
#![no_main]

use gemhole::content::{front_matter, markdown};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count().max(1);
    match front_matter::split(&text) {
        Ok(split) => {
            if let Some(block) = split.front {
                if let Err(e) = block.parse::<front_matter::Entries>() {
                    assert!(e.line >= 1 && e.line <= lines + 1, "line {} of {lines}", e.line);
                }
            }
        }
        Err(e) => assert_eq!(e.line, 1),
    }
    let (page, _) = markdown::convert(&text, "fuzz", &Default::default());
    assert!(page.gemtext.starts_with("# "));
});
