//! The crate's data flows one way, and its imports must say so: every top-level module may use
//! only the modules below it in [`LAYERS`]. A `crate::<module>` path that points up (or at a
//! module missing from the list) fails here, naming the file.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom to top. Modules on one line are peers: neither may use the other, except that
/// `server` starts a `watch`.
const LAYERS: &[&[&str]] = &[
    &["config", "disk"],
    &["convert"],
    &["content"],
    &["views"],
    &["respond"],
    &["watch", "publish"],
    &["server"],
    &["cli"],
];

/// Modules outside the flow: they use nothing of the crate and anyone may use them.
const APART: &[&str] = &["logging"];

fn level(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to, if any (`lib.rs` and `main.rs` belong to none).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_owned()),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules named by `crate::<name>` paths in a source text.
fn uses(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in uses(&text) {
            if used == module || APART.contains(&used.as_str()) {
                continue;
            }
            let allowed = match (level(&module), level(&used)) {
                _ if APART.contains(&module.as_str()) => false,
                (Some(from), Some(to)) => to < from,
                _ => false,
            };
            if !allowed {
                wrong
                    .entry(format!("{module} -> {used}"))
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the flow (or of modules missing from LAYERS): {wrong:#?}"
    );
}

#[test]
fn every_module_has_a_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ").or(line.strip_prefix("mod ")) {
            let name = name.trim_end_matches(';');
            assert!(
                level(name).is_some() || APART.contains(&name),
                "module `{name}` is in no layer of tests/layers.rs"
            );
        }
    }
}
