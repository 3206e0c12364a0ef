//! Markdown → gemtext on arbitrary bytes, with every link placement: must never panic, and the
//! output must keep its preformatted toggles balanced and end with a newline.
#![no_main]

use gemhole::convert::{self, LinkPlacement, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let links = match mode % 3 {
        0 => LinkPlacement::Below,
        1 => LinkPlacement::Footnote,
        _ => LinkPlacement::End,
    };
    let text = String::from_utf8_lossy(rest);
    let options = Options {
        links,
        ..Options::default()
    };
    let gemtext = convert::convert(&text, &options).gemtext;
    assert!(gemtext.is_empty() || gemtext.ends_with('\n'));
    let toggles = gemtext.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(toggles % 2, 0, "unbalanced preformatted toggles");
});
