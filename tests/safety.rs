//! What the server must never serve or suffer, whatever is placed in (or swapped into) the
//! capsule folder while it runs: its own secrets, symlinks that lead out, FIFOs, deploys.

use crate::common::{Setup, run_cli, write};

#[test]
fn a_capsule_holding_the_certificate_folder_is_refused_at_start() {
    // `gemhole serve --capsule .` in a capsule folder, no config: `certs/` would be made
    // inside it, and its private key served.
    let setup = Setup::new().arg("--capsule").arg(".");
    let dir = setup.path().to_owned();
    let (status, err) = setup.fail();
    assert!(!status.success());
    assert!(
        err.contains("the certificate folder") && err.contains("lies inside the capsule"),
        "{err}"
    );
    assert!(err.contains("--certs"), "{err}");
    // Refused before anything was generated.
    assert!(!dir.join("certs").exists());
}

#[test]
fn a_configuration_file_or_key_inside_the_capsule_is_refused_at_start() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "config.toml",
        "capsule = \".\"\ncerts = \"../certs\"\n",
    );
    let (status, err) = setup.arg("--config").arg("capsule/config.toml").fail();
    assert!(!status.success());
    assert!(
        err.contains("the configuration file") && err.contains("lies inside the capsule"),
        "{err}"
    );

    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(&capsule, "keys/cert.pem", "x");
    write(&capsule, "keys/key.pem", "x");
    let (status, err) = setup
        .config(
            "[tls.\"localhost\"]\ncert = \"capsule/keys/cert.pem\"\nkey = \"capsule/keys/key.pem\"\n",
        )
        .fail();
    assert!(!status.success());
    assert!(err.contains("lies inside the capsule"), "{err}");
    assert!(err.contains("[tls]"), "{err}");
}

#[test]
fn a_reload_that_would_put_the_keys_inside_the_capsule_is_refused() {
    let server = Setup::new().config("").start();
    write(
        server.dir.path(),
        "config.toml",
        "certs = \"capsule/certs\"\n",
    );
    server.signal(rustix::process::Signal::HUP.as_raw());
    let refused = server.wait_log("the refusal", |l| l.contains("reload refused"));
    assert!(refused.contains("lies inside the capsule"), "{refused}");
    // Still serving with the old keys; nothing was generated inside the capsule.
    server.get(&server.url("/")).expect("20");
    assert!(!server.capsule().join("certs").exists());
    server
        .get(&server.url("/certs/localhost/key.pem"))
        .expect("51");
}

#[test]
fn build_and_check_refuse_a_capsule_holding_a_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "capsule/index.gmi", "# Home\n");
    let (status, _, err) = run_cli(
        dir.path(),
        &[
            "build",
            "--out",
            "out",
            "--capsule",
            "capsule",
            "--config",
            "/dev/null",
        ],
    );
    assert!(status.success(), "{err}");
    for command in ["build", "check"] {
        let mut args = vec![command, "--capsule", "."];
        if command == "build" {
            args.extend(["--out", "../out2"]);
        }
        let (status, _, err) = run_cli(&dir.path().join("capsule"), &args);
        assert!(!status.success(), "{command}: {err}");
        assert!(err.contains("lies inside the capsule"), "{command}: {err}");
    }
}

/// What the outside file and the hidden file hold: never to be seen in an answer.
const OUTSIDE: &str = "outside-the-capsule";
const HIDDEN: &str = "hidden-in-the-capsule";

/// Swaps `capsule/page.txt` between a regular file and a symlink (out of the capsule, then to
/// a hidden file), atomically by rename, while readers ask for it over both protocols; no
/// answer may carry what the symlinks lead to.
fn swap_loop_leaks_nothing(watch: &str) {
    let setup = Setup::new()
        .config(&format!("[watch]\nmode = \"{watch}\"\npoll_interval = 1\n"))
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    let outside = setup.path().join("outside.txt");
    std::fs::write(&outside, OUTSIDE).unwrap();
    let capsule = setup.path().join("capsule");
    write(&capsule, ".hidden.txt", HIDDEN);
    write(&capsule, "page.txt", "public");
    let server = setup.start();
    let gopher = server.gopher_addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, capsule) = (std::sync::Arc::clone(&stop), capsule.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = capsule.join(format!("swap{n}.tmp"));
                match n % 3 {
                    0 => std::os::unix::fs::symlink(&outside, &tmp).unwrap(),
                    1 => std::os::unix::fs::symlink(capsule.join(".hidden.txt"), &tmp).unwrap(),
                    _ => std::fs::write(&tmp, "public").unwrap(),
                }
                std::fs::rename(&tmp, capsule.join("page.txt")).unwrap();
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let mut answers = Vec::new();
    for _ in 0..150 {
        answers.push(server.get(&server.url("/page.txt")).text());
        let mut stream = std::net::TcpStream::connect(gopher).unwrap();
        std::io::Write::write_all(&mut stream, b"/page.txt\r\n").unwrap();
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stream, &mut text);
        answers.push(text);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    let leaks = answers
        .iter()
        .filter(|a| a.contains(OUTSIDE) || a.contains(HIDDEN))
        .count();
    let served = answers.iter().filter(|a| a.contains("public")).count();
    assert_eq!(
        leaks,
        0,
        "{leaks} of {} answers leaked ({watch})",
        answers.len()
    );
    // The file was served whenever it was itself: the check refuses only the symlinks.
    let mut kinds: Vec<&String> = answers.iter().collect();
    kinds.sort();
    kinds.dedup();
    assert!(
        served > 0,
        "never served the file itself ({watch}); the answers were: {kinds:?}"
    );
}

#[test]
fn a_file_swapped_for_a_symlink_out_is_never_served_with_the_watcher_off() {
    swap_loop_leaks_nothing("off");
}

#[test]
fn a_file_swapped_for_a_symlink_out_is_never_served_when_polling() {
    swap_loop_leaks_nothing("poll");
}

#[test]
fn a_file_swapped_for_a_symlink_out_is_never_served_with_events() {
    swap_loop_leaks_nothing("events");
}

#[test]
fn a_fifo_or_socket_put_in_a_file_s_place_is_refused_at_once_and_shutdown_is_not_held() {
    let setup = Setup::new()
        .config("[watch]\nmode = \"off\"\n[limits]\nshutdown_grace = 2\n")
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    let capsule = setup.path().join("capsule");
    write(&capsule, "pipe.txt", "a file, for now");
    write(&capsule, "sock.txt", "a file, for now");
    let mut server = setup.start();
    let gopher = server.gopher_addr();
    // The snapshot still lists both as files.
    std::fs::remove_file(capsule.join("pipe.txt")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        capsule.join("pipe.txt"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    std::fs::remove_file(capsule.join("sock.txt")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(capsule.join("sock.txt")).unwrap();
    // More requests than the server has threads for blocking work: none may hang.
    let askers: Vec<_> = (0..24)
        .map(|i| {
            let (addr, url) = (
                server.addr(),
                server.url(if i % 2 == 0 { "/pipe.txt" } else { "/sock.txt" }),
            );
            std::thread::spawn(move || {
                let mut line = url.into_bytes();
                line.extend_from_slice(b"\r\n");
                crate::common::fetch(addr, Some("localhost"), &line, crate::common::Tls::Any)
                    .map(|answer| answer.status().to_owned())
            })
        })
        .collect();
    for asker in askers {
        let status = asker.join().unwrap().unwrap();
        assert_eq!(status, "51", "{}", server.logs().join("\n"));
    }
    let mut stream = std::net::TcpStream::connect(gopher).unwrap();
    std::io::Write::write_all(&mut stream, b"/pipe.txt\r\n").unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stream, &mut text).unwrap();
    assert!(text.starts_with('3'), "{text:?}");
    // Still answering, and it stops when asked.
    server.get(&server.url("/")).expect("20");
    server.signal(rustix::process::Signal::TERM.as_raw());
    assert!(server.wait_exit().success());
}

#[test]
fn a_large_gemtext_page_over_gopher_is_streamed_not_read_whole_per_request() {
    // 20 MB of gemtext, five times `markdown.max_file_size`: not held in the snapshot.
    let setup = Setup::new().arg("--gopher-listen").arg("127.0.0.1:0");
    let line = "A line of a very long page, with a link below it.\n=> /about.gmi About\n";
    let page = line.repeat(20 * 1024 * 1024 / line.len());
    write(&setup.path().join("capsule"), "big.gmi", &page);
    write(&setup.path().join("capsule"), "huge/index.gmi", &page);
    let server = setup.start();
    let gopher = server.gopher_addr();
    let ask = move |selector: &'static str| {
        std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(gopher).unwrap();
            std::io::Write::write_all(&mut stream, format!("{selector}\r\n").as_bytes()).unwrap();
            let mut answer = Vec::new();
            std::io::Read::read_to_end(&mut stream, &mut answer).unwrap();
            answer
        })
    };
    let readers: Vec<_> = (0..16).map(|_| ask("/big.txt")).collect();
    for reader in readers {
        // The page as it is, whole.
        assert_eq!(reader.join().unwrap(), page.as_bytes());
    }
    // The folder's page is too large for a menu: a menu that offers it as text.
    let menu = String::from_utf8(ask("/huge/").join().unwrap()).unwrap();
    assert!(menu.contains("too large to show as a menu"), "{menu}");
    assert!(menu.contains("\t/huge/index.txt\t"), "{menu}");
    assert_eq!(ask("/huge/index.txt").join().unwrap(), page.as_bytes());
    // Sixteen readers of a 20 MB page cost no copy of it each (before: about four).
    let peak_kib = crate::common::abuse::status_number(server.pid(), "VmHWM:");
    assert!(peak_kib < 96.0 * 1024.0, "peak RSS {peak_kib} KiB");
}

#[test]
fn a_folder_swapped_in_by_a_deploy_is_served_fresh_however_deep() {
    let setup = Setup::new();
    let capsule = setup.path().join("capsule");
    write(
        &capsule,
        "notes/deep/er/x.md",
        "# Public\n\nFor everyone.\n",
    );
    write(&capsule, "notes/deep/er/file.txt", "old file\n");
    let staging = setup.path().join("staging");
    write(
        &staging,
        "notes/deep/er/x.md",
        "---\ndraft: true\n---\n# Not yet\n",
    );
    write(&staging, "notes/deep/er/file.txt", "new file\n");
    let server = setup.start();
    server.get(&server.url("/notes/deep/er/x.gmi")).expect("20");
    server
        .get(&server.url("/notes/deep/er/file.txt"))
        .expect("20");
    // `mv capsule/notes capsule/notes.old && mv staging/notes capsule/notes`
    std::fs::rename(capsule.join("notes"), capsule.join("notes.old")).unwrap();
    std::fs::rename(staging.join("notes"), capsule.join("notes")).unwrap();
    server.wait_for("/notes/deep/er/x.gmi", "the draft withheld", |a| {
        a.status() == "51"
    });
    server.wait_text("/notes/deep/er/file.txt", "new file");
}

/// `mv capsule capsule.prev && mv capsule.next capsule` (or the capsule deleted and made
/// again), with the config outside the capsule: the new folder is served, and changes made in
/// it later are seen too.
fn root_swap_is_followed(watch: &str, delete: bool) {
    let setup = Setup::new().config(&format!("[watch]\nmode = \"{watch}\"\npoll_interval = 1\n"));
    let dir = setup.path().to_owned();
    write(
        &dir.join("capsule.next"),
        "index.gmi",
        "# The next release\n",
    );
    write(&dir.join("capsule.next"), "file.txt", "next file\n");
    let server = setup.start();
    server.wait_text("/", "Welcome");
    if delete {
        std::fs::remove_dir_all(dir.join("capsule")).unwrap();
    } else {
        std::fs::rename(dir.join("capsule"), dir.join("capsule.prev")).unwrap();
    }
    std::fs::rename(dir.join("capsule.next"), dir.join("capsule")).unwrap();
    server.wait_text("/", "The next release");
    server.wait_text("/file.txt", "next file");
    // Watching the new folder, not the old one.
    write(
        &dir.join("capsule"),
        "index.gmi",
        "# Edited after the deploy\n",
    );
    server.wait_text("/", "Edited after the deploy");
}

#[test]
fn a_capsule_folder_swapped_by_rename_is_followed() {
    root_swap_is_followed("events", false);
}

#[test]
fn a_capsule_folder_deleted_and_made_again_is_followed() {
    root_swap_is_followed("events", true);
}

#[test]
fn a_capsule_folder_swapped_is_followed_when_polling() {
    root_swap_is_followed("poll", false);
}

#[test]
fn a_key_or_config_linked_or_moved_into_the_capsule_is_never_served() {
    let setup = Setup::new()
        .config("[watch]\nmode = \"events\"\n")
        .arg("--gopher-listen")
        .arg("127.0.0.1:0");
    let dir = setup.path().to_owned();
    let server = setup.start();
    let capsule = server.capsule();
    // Other names for the same files: hard links inside the capsule.
    std::fs::hard_link(dir.join("certs/localhost/key.pem"), capsule.join("hk.pem")).unwrap();
    std::fs::hard_link(dir.join("config.toml"), capsule.join("hconf.toml")).unwrap();
    // Once the folder has been read again (a file written after the links is served), the
    // links are listed like any file, and must still not open.
    write(&capsule, "sentinel.txt", "read again\n");
    server.wait_text("/sentinel.txt", "read again");
    for path in ["/hk.pem", "/hconf.toml"] {
        let answer = server.get(&server.url(path));
        assert_eq!(answer.status(), "51", "{path}: {}", answer.text());
        let text =
            String::from_utf8_lossy(&server.gopher(format!("{path}\r\n").as_bytes())).into_owned();
        assert!(text.starts_with('3'), "{path}: {text:?}");
    }
    // The whole certificate folder moved inside the capsule while serving.
    std::fs::rename(dir.join("certs"), capsule.join("certsmv")).unwrap();
    server.wait_for("/certsmv", "the moved folder in the snapshot", |a| {
        a.status() == "31"
    });
    let answer = server.get(&server.url("/certsmv/localhost/key.pem"));
    assert_eq!(answer.status(), "51", "{}", answer.text());
    assert!(!answer.text().contains("PRIVATE KEY"));
}

#[test]
fn polling_sees_two_edits_in_one_second_and_a_rollback_to_an_older_folder() {
    let setup = Setup::new().config("[watch]\nmode = \"poll\"\npoll_interval = 1\n");
    let dir = setup.path().to_owned();
    // An older release, kept aside, whose files are older than the served ones.
    write(&dir.join("capsule.old"), "index.gmi", "# The old release\n");
    let server = setup.start();
    write(&server.capsule(), "index.gmi", "# Edit A\n");
    server.wait_text("/", "Edit A");
    // A second edit at once, within the same second as the first (same whole-second time).
    write(&server.capsule(), "index.gmi", "# Edit B\n");
    server.wait_text("/", "Edit B");
    // Roll back: the old folder (older times) swapped in under the capsule's name.
    std::fs::rename(dir.join("capsule"), dir.join("capsule.bad")).unwrap();
    std::fs::rename(dir.join("capsule.old"), dir.join("capsule")).unwrap();
    server.wait_text("/", "The old release");
}
