//! gemtext → Gopher text and menu on arbitrary text: must never panic; every text line fits the
//! width outside preformatted blocks and the link list, no line is a lone `.`, and every menu
//! line has four TAB-separated fields and the menu ends with `.` CRLF.
#![no_main]

use gemhole::convert::gopher::{self, Place};
use libfuzzer_sys::fuzz_target;
use unicode_width::UnicodeWidthStr;

fuzz_target!(|data: &[u8]| {
    let gemtext = String::from_utf8_lossy(data);
    let place = Place {
        host: "hole.example".into(),
        port: 70,
        gemini_host: "capsule.example".into(),
        width: 40,
    };
    let menu = gopher::menu(&gemtext, "/posts/", &place);
    assert!(menu.ends_with(".\r\n"));
    for line in menu.strip_suffix(".\r\n").unwrap().split_terminator("\r\n") {
        assert_eq!(line.split('\t').count(), 4, "{line:?}");
    }
    let text = gopher::text(&gemtext, "/posts/x.gmi", &place);
    let mut pre = false;
    let pre_lines: Vec<&str> = gemtext
        .lines()
        .filter(|l| {
            if l.starts_with("```") {
                pre = !pre;
                return false;
            }
            pre
        })
        .collect();
    for line in text.split("\r\n") {
        if line == "Links:" {
            break;
        }
        assert_ne!(line, ".");
        if line.width() > 40 {
            // Only preformatted lines, as written (TABs expanded), may be wider.
            assert!(
                pre_lines
                    .iter()
                    .any(|p| p.contains('\t') || p.trim_end() == line.trim_end()),
                "{line:?}"
            );
        }
    }
});
