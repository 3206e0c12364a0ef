//! The crate's data flows one way, and its imports must say so: every top-level module may use
//! only the modules below it in [`LAYERS`]. A `crate::<module>` path that points up (or at a
//! module missing from the list) fails here, naming the file. Inside a module, no two files
//! may lean on each other, however long the way round: every circle between files fails here,
//! named with its edges.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom to top. Modules on one line are peers: neither may use the other, except that
/// `server` starts a `watch`.
const LAYERS: &[&[&str]] = &[
    &["config", "disk"],
    &["convert"],
    &["protocol"],
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

/// A file's module path: `src/content/site/urls.rs` → `content::site::urls`;
/// `src/content/site/mod.rs` → `content::site`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The text without its unit tests (`#[cfg(test)] mod tests { … }` to the end of the file, as
/// this crate writes them): tests may look anywhere.
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// Every `crate::a::b` and `super::a` path in a text, with one level of `{…}` groups
/// expanded: (how many `super`s, or `None` for `crate`; the names after it).
fn paths_in(text: &str) -> Vec<(Option<usize>, Vec<String>)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let starts_word = at == 0 || !word(bytes[at - 1]);
        let head = if !starts_word {
            None
        } else if rest.starts_with("crate::") {
            Some((None, "crate::".len()))
        } else if rest.starts_with("super::") {
            let mut ups = 0;
            let mut len = 0;
            while text[at + len..].starts_with("super::") {
                ups += 1;
                len += "super::".len();
            }
            Some((Some(ups), len))
        } else {
            None
        };
        let Some((ups, len)) = head else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        // The names up to the end of the path (or the `{` of a group).
        let mut names = Vec::new();
        let mut end = at + len;
        loop {
            let name: String = text[end..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                break;
            }
            end += name.len();
            names.push(name);
            if text[end..].starts_with("::") {
                end += 2;
            } else {
                break;
            }
        }
        if text[end..].starts_with('{') {
            let close = text[end..].find('}').map_or(text.len(), |i| end + i);
            for item in text[end + 1..close].split(',') {
                let item = item.trim();
                let mut path = names.clone();
                if !item.is_empty() && item != "self" {
                    path.extend(
                        item.split("::")
                            .map(|p| p.split_whitespace().next().unwrap_or("").to_owned())
                            .filter(|p| !p.is_empty() && p != "*" && !p.starts_with('{')),
                    );
                }
                found.push((ups, path));
            }
            at = close.max(end + 1);
        } else {
            found.push((ups, names));
            at = end.max(at + len);
        }
    }
    found
}

#[test]
fn no_two_files_lean_on_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| {
            let relative = f.strip_prefix(&src).unwrap();
            (module_path(relative), relative.display().to_string())
        })
        .collect();
    // The file that defines the longest prefix of a module path.
    let file_for = |path: &[String]| {
        (1..=path.len())
            .rev()
            .find_map(|n| modules.get(&path[..n]).cloned())
    };
    let mut edges: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let me = module_path(relative);
        if me.is_empty() {
            continue; // lib.rs and main.rs wire everything
        }
        let name = relative.display().to_string();
        let is_mod = relative.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(file).unwrap();
        for (ups, rest) in paths_in(without_tests(&text)) {
            let target = match ups {
                None => rest,
                Some(ups) => {
                    // `super` in a folder's mod.rs is the folder's parent.
                    let mut base = me.clone();
                    if is_mod {
                        base.push(String::new());
                    }
                    let keep = base.len().saturating_sub(ups);
                    base.truncate(keep);
                    base.extend(rest);
                    base
                }
            };
            if let Some(to) = file_for(&target)
                && to != name
            {
                edges.entry(name.clone()).or_default().insert(to);
            }
        }
    }
    // A circle is a file that reaches itself: found by walking from each file.
    let mut circles = Vec::new();
    for start in edges.keys() {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, way)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut circle = way.clone();
                    circle.push(start.clone());
                    circles.push(circle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = way.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "files that lean on each other: {circles:#?}"
    );
}
