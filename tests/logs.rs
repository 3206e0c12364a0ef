//! Logs as systemd's journal and an operator read them: the priority prefix without a
//! timestamp (asked for, or when standard error is the journal), authors' mistakes under a
//! target of their own, a reload that names what changed, and a configuration reload that
//! tells a standing mistake only once.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{DEADLINE, Setup, send_signal, write};

/// A post with a mistake its author must hear of once: an unknown front-matter key.
const MISTAKE: &str = "---\ntitle: Typo\ndate: 2024-01-01\ntgas: [x]\n---\nBody.\n";

#[test]
fn journald_lines_carry_priorities_and_a_reload_names_its_files_and_tells_a_mistake_once() {
    let setup = Setup::new().config("[log]\nformat = \"journald\"\n");
    write(&setup.path().join("capsule"), "posts/typo.md", MISTAKE);
    let server = setup.start();
    let mistake = server.wait_log("the author's mistake", |l| l.contains("tgas"));
    assert!(mistake.starts_with("<6>author: "), "{mistake}");
    write(&server.capsule(), "fresh.gmi", "# Fresh\n");
    let reloaded = server.wait_log("the reload", |l| l.contains("site reloaded"));
    assert!(reloaded.contains("(fresh.gmi)"), "{reloaded}");
    server.signal(1);
    server.wait_log("the configuration reload", |l| {
        l.contains("configuration reloaded")
    });
    server.get(&server.url("/fresh.gmi")).expect("20");
    assert_eq!(server.count_logs("tgas"), 1, "{}", server.logs().join("\n"));
    for line in server.logs() {
        let prefixed = line.len() > 3
            && line.starts_with('<')
            && line.as_bytes()[2] == b'>'
            && b"34567".contains(&line.as_bytes()[1]);
        assert!(prefixed, "no priority: {line}");
        assert!(!line[3..].starts_with("20"), "a timestamp: {line}");
    }
}

#[test]
fn standard_error_that_is_the_journal_gets_journald_lines_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("capsule"), "index.gmi", "# Home\n");
    let log_path = dir.path().join("journal");
    let log = std::fs::File::create(&log_path).unwrap();
    let meta = log.metadata().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gemhole"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + DEADLINE;
    let text = loop {
        let mut text = String::new();
        std::fs::File::open(&log_path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        if text.contains("listening on") {
            break text;
        }
        assert!(Instant::now() < deadline, "never listened:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(send_signal(child.id(), 15));
    let _ = child.wait();
    let listening = text.lines().find(|l| l.contains("listening on")).unwrap();
    assert!(listening.starts_with("<6>"), "{text}");
}
