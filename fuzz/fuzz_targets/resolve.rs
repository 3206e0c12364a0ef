//! Request path → capsule lookup on arbitrary bytes, against a small capsule on disk that
//! holds hidden files and symlinks pointing out of it and at hidden files: whatever is found
//! must be a file inside the capsule and not hidden, and never the file outside it.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gemhole::config::Config;
use gemhole::content::{BuildOptions, Site};
use gemhole::content::{CapsuleRoot, Resolved};
use gemhole::convert::url::Origin;
use gemhole::respond::{Capsule, Lookup};
use gemhole::protocol::request;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    capsule: Capsule,
    root: PathBuf,
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("gemhole-fuzz-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("capsule");
        write(&root, "index.gmi", "# Home\n");
        write(&root, "docs/index.md", "# Docs\n");
        write(&root, "docs/page.gmi", "# Page\n");
        write(&root, "notes.txt", "notes\n");
        write(&root, "posts/a.md", "---\ntitle: A\ndate: 2024-01-01\nseries: s\npart: 1\n---\nText\n");
        write(&root, "posts/draft.md", "---\ntitle: D\ndate: 2024-01-01\ndraft: true\n---\nX\n");
        write(&root, ".secret", "secret\n");
        write(&root, ".git/config", "secret\n");
        write(&root, ".well-known/security.txt", "Contact: x\n");
        write(&base, "outside/passwd", "secret\n");
        std::os::unix::fs::symlink(base.join("outside/passwd"), root.join("passwd")).unwrap();
        std::os::unix::fs::symlink(base.join("outside"), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join(".secret"), root.join("public.txt")).unwrap();
        let capsule_root = CapsuleRoot::open(&root).unwrap();
        let config = Config::default();
        let host = config.default_host();
        let (site, _) = Site::build(&capsule_root, &BuildOptions::new(host));
        let root = capsule_root.path().to_owned();
        Fixture {
            capsule: Capsule::new(capsule_root, site, host, Default::default()),
            root,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let mut line = b"gemini://localhost/".to_vec();
    line.extend_from_slice(data);
    let Ok(request) = request::parse(&line) else {
        return;
    };
    let origin = Origin::new("localhost", 1965);
    let found = fixture
        .capsule
        .lookup(&request.segments, request.ends_with_slash, &origin);
    if let Lookup::Found(Resolved::File { path, .. } | Resolved::Markdown(path)) = found {
        let relative = path
            .strip_prefix(&fixture.root)
            .unwrap_or_else(|_| panic!("{path:?} is outside the capsule"));
        let mut names = relative.iter().map(|n| n.to_str().unwrap());
        let first = names.next().unwrap();
        assert!(
            (!first.starts_with('.') || first == ".well-known") && names.all(|n| !n.starts_with('.')),
            "{path:?} is hidden"
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains("secret"), "{path:?} is a secret");
    }
});
