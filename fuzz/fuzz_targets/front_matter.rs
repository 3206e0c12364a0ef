//! Front-matter splitting and parsing, then whole-page conversion, on arbitrary bytes: errors
//! are fine, panics are not, and an error's line must lie within the input.
#![no_main]

use gemhole::content::{front_matter, markdown};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Lines as YAML counts them in a block: a lone CR ends one too.
    let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count();
    match front_matter::split(&text) {
        Ok(split) => {
            if let Some(block) = split.front {
                if let Err(e) = block.parse::<front_matter::Entries>() {
                    assert!(
                        e.line >= 1 && e.line <= lines + 1,
                        "line {} of {lines}",
                        e.line
                    );
                }
            }
        }
        // Reported at its opening fence: the first line with text (blank lines before it are
        // forgiven, after a byte-order mark).
        Err(e) => {
            let after_mark = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let fence = after_mark.lines().position(|l| !l.trim().is_empty());
            assert_eq!(e.line, fence.map_or(1, |i| i + 1));
        }
    }
    let (page, _) = markdown::convert(&text, "fuzz", &Default::default());
    assert!(page.gemtext.starts_with("# "));
});
