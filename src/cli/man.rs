//! The man pages kept true to the code: `gemhole(1)` is rendered from the command line and
//! compared with `man/gemhole.1`, and `gemhole.toml(5)` documents exactly the keys accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;

use super::Cli;
use crate::config::Config;

/// Set to `1` to write `man/gemhole.1` from the command line instead of comparing with it.
const BLESS: &str = "GEMHOLE_BLESS_MAN";

/// The sections after the commands, which clap knows nothing of.
const EPILOGUE: &str = r#".SH FILES
.TP
.I config.toml
Read from the current folder when no \fB\-\-config\fR is given; without it, the built\-in
defaults apply. Its keys are described in \fBgemhole.toml\fR(5).
.TP
.I certs/<first hostname>/cert.pem\fR, \fIcerts/<first hostname>/key.pem
The certificate and key made on first start for a host's names, never replaced.
.TP
.I <capsule>/.history/
The versions kept of what uploads from Gemini clients replaced or deleted; never served.
.SH ENVIRONMENT
.TP
.B RUST_LOG
Log filter (e.g. \fBdebug\fR, \fBgemhole=debug,warn\fR); it wins over the config's
\fBlog.level\fR.
.SH SIGNALS
.TP
.B SIGHUP
\fBgemhole serve\fR reads the config file and the certificates again; a mistake is logged and
the running settings are kept.
.TP
.BR SIGINT ", " SIGTERM
\fBgemhole serve\fR stops accepting connections and gives those already accepted
\fBlimits.shutdown_grace\fR seconds to finish; a second signal exits at once.
.SH "EXIT STATUS"
0 on success; 1 on an error, which is printed on standard error as \fBgemhole: error: \fR...,
and for \fBgemhole check\fR when a page cannot be published as written.
.SH "SEE ALSO"
\fBgemhole.toml\fR(5); the documentation in the \fIdocs/\fR folder of gemhole's source.
"#;

/// A file of the repository, found wherever the tests run from.
fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `gemhole(1)` as one page, so a reader finds every command's options under `man gemhole`.
fn render_gemhole_1() -> std::io::Result<Vec<u8>> {
    // clap's top of the page, then a subsection per command (its synopsis, description and
    // options as clap renders them, their headings made paragraph breaks), then the epilogue.
    let mut cmd = Cli::command()
        .disable_help_subcommand(true)
        .subcommand_value_name("COMMAND");
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut page = Vec::new();
    top.render_title(&mut page)?;
    top.render_name_section(&mut page)?;
    top.render_synopsis_section(&mut page)?;
    top.render_description_section(&mut page)?;
    top.render_options_section(&mut page)?;
    page.write_all(b".SH COMMANDS\n")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_bin_name().unwrap_or(sub.get_name());
        writeln!(page, ".SS \"{name}\"")?;
        let man = Man::new(sub.clone());
        let mut parts = Vec::new();
        man.render_synopsis_section(&mut parts)?;
        man.render_description_section(&mut parts)?;
        man.render_options_section(&mut parts)?;
        for line in String::from_utf8_lossy(&parts).lines() {
            let line = if line.starts_with(".SH ") {
                ".PP"
            } else {
                line
            };
            writeln!(page, "{line}")?;
        }
    }
    page.write_all(EPILOGUE.as_bytes())?;
    Ok(page)
}

#[test]
fn gemhole_1_is_what_the_command_line_renders() {
    let path = repo_file("man/gemhole.1");
    let rendered = render_gemhole_1().expect("rendered into memory");
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("man/gemhole.1 written");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    let first_difference = String::from_utf8_lossy(&rendered)
        .lines()
        .zip(String::from_utf8_lossy(&committed).lines())
        .position(|(a, b)| a != b)
        .map_or("its length".to_owned(), |i| format!("line {}", i + 1));
    assert!(
        rendered == committed,
        "man/gemhole.1 is not what the command line renders (first difference: {}): after \
         changing a command, a flag or its help, run `{BLESS}=1 cargo test --lib cli::man` and \
         commit man/gemhole.1",
        first_difference
    );
}

/// The keys the config page documents, by place, to be set against those the parser accepts.
fn documented_keys(roff: &str) -> BTreeMap<String, BTreeSet<String>> {
    // Places: `daemon` and `host keys` (the two sections of top-level keys, where a table's
    // heading counts as its key), then each table by name (`limits`, `host` for `[[host]]`,
    // `series.*` for `[series."NAME"]`, `strings` for the ids). A key is the first word of a
    // `.B` line right after `.TP`.
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section: Option<&str> = None;
    let mut table: Option<String> = None;
    let mut after_tp = false;
    for line in roff.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            section = match heading.trim_matches('"') {
                "DAEMON KEYS" => Some("daemon"),
                "HOST KEYS" => Some("host keys"),
                _ => None,
            };
            table = section.map(str::to_owned);
        } else if let Some(heading) = line.strip_prefix(".SS ") {
            table = section.and(table_of(heading));
            if let (Some(section), Some(table)) = (section, &table) {
                let key = table.trim_end_matches(".*").to_owned();
                keys.entry(section.to_owned()).or_default().insert(key);
            }
        } else if after_tp && let (Some(key), Some(table)) = (line.strip_prefix(".B "), &table) {
            let key = key
                .split_whitespace()
                .next()
                .unwrap_or("")
                .replace("\\-", "-");
            keys.entry(table.clone()).or_default().insert(key);
        }
        after_tp = line == ".TP";
    }
    keys
}

/// The table a `.SS` heading names (`[[area]]` → `area`, `[series.…]` → `series.*`), if any.
fn table_of(heading: &str) -> Option<String> {
    let inner = heading.trim_matches('"').trim_start_matches('[');
    let (name, _) = inner.split_once(']')?;
    Some(match name.split_once('.') {
        Some((name, _)) => format!("{name}.*"),
        None => name.to_owned(),
    })
}

/// A key no table has, far from every real one, so the parser lists the keys of its place.
const UNKNOWN: &str = "zzzzzzzzzzzz";

/// The keys the config parser accepts at `place`, as its "unknown key" message lists them.
fn accepted_at(place: &str, head: &str) -> BTreeSet<String> {
    let text = format!("{head}{UNKNOWN} = 1\n");
    let err = match Config::parse(&text, Path::new("config.toml")) {
        Ok(_) => panic!("{place}: an unknown key was accepted"),
        Err(e) => e.to_string(),
    };
    let listed = err
        .split_once("(the keys here: ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(keys, _)| keys.split(", ").map(str::to_owned).collect());
    listed.unwrap_or_else(|| panic!("{place}: the parser listed no keys: {err}"))
}

#[test]
fn gemhole_toml_5_documents_every_key_the_parser_accepts_and_no_other() {
    let roff = std::fs::read_to_string(repo_file("man/gemhole.toml.5"))
        .expect("man/gemhole.toml.5 is readable");
    let documented = documented_keys(&roff);
    let doc = |place: &str| documented.get(place).cloned().unwrap_or_default();
    let host_keys = doc("host keys");
    let places = [
        ("", ""),
        ("host", "[[host]]\nhostnames = [\"a.example\"]\n"),
        ("log", "[log]\n"),
        ("limits", "[limits]\n"),
        ("watch", "[watch]\n"),
        ("tls.*", "[tls.\"localhost\"]\ncert = \"c\"\nkey = \"k\"\n"),
        ("markdown", "[markdown]\n"),
        ("home", "[home]\n"),
        ("gopher", "[gopher]\n"),
        ("titan", "[titan]\n"),
        ("area", "[[area]]\npath = \"/m/\"\n"),
        ("path", "[[path]]\nmatch = \"/m/\"\n"),
        ("cgi", "[cgi]\n"),
        ("series.*", "[series.\"S\"]\n"),
    ];
    for (place, head) in places {
        let accepted = accepted_at(place, head);
        let expected: BTreeSet<String> = match place {
            // The single-host form: the daemon's keys and one host's, side by side.
            "" => doc("daemon").union(&host_keys).cloned().collect(),
            "host" => doc("host").union(&host_keys).cloned().collect(),
            _ => doc(place),
        };
        let undocumented: Vec<&String> = accepted.difference(&expected).collect();
        let unknown: Vec<&String> = expected.difference(&accepted).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "[{place}]: keys the parser accepts that man/gemhole.toml.5 does not document: \
             {undocumented:?}; keys it documents that the parser refuses: {unknown:?}"
        );
    }

    // `[strings]`: every id of the reference language is documented, and each documented id
    // is taken by the parser.
    let english: toml::Table = include_str!("../config/strings/en.toml")
        .parse()
        .expect("the English strings parse");
    let ids: BTreeSet<String> = english.keys().cloned().collect();
    let strings = doc("strings");
    let undocumented: Vec<&String> = ids.difference(&strings).collect();
    assert!(
        undocumented.is_empty(),
        "string ids that man/gemhole.toml.5 does not document: {undocumented:?}"
    );
    for id in &strings {
        let value = if id == "months" {
            format!("[{}]", ["\"m\""; 12].join(", "))
        } else {
            "\"x\"".to_owned()
        };
        let text = format!("[strings]\n{id} = {value}\n");
        let parsed = Config::parse(&text, Path::new("config.toml"));
        assert!(
            parsed.is_ok(),
            "man/gemhole.toml.5 documents the string id `{id}`, which the parser refuses: {}",
            parsed.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}
