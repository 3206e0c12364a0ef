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
    server.signal(libc::SIGHUP);
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
