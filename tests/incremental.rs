//! A snapshot built change by change, as the watcher builds it (naming the files that changed),
//! answers every path exactly as one built from scratch over the same folder: random runs of
//! creating, editing, renaming and deleting posts (series, parts, tags, drafts, dates and slugs
//! changing, bodies edited alone, front matter broken and mended), series descriptions and
//! pages.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use gemhole::config::HostConfig;
use gemhole::content::CapsuleRoot;
use gemhole::content::Resolved;
use gemhole::content::scan::ReadCache;
use gemhole::content::{BuildOptions, Site};
use gemhole::convert::url::Origin;
use gemhole::respond::{Capsule, Lookup, Searched};
use proptest::prelude::*;

/// Posts are `posts/p<N>.md` (or `.gmi`), N below this.
const NAMES: usize = 6;

/// Posts from this number on lie in `posts/f/`, a folder its section page may make a series.
const IN_FOLDER: u8 = 4;

/// The folder a post lies in.
fn folder_of(i: u8) -> &'static str {
    if i >= IN_FOLDER { "posts/f" } else { "posts" }
}

/// The section pages of `posts/f/`: without a series, `series: true` (named by its title),
/// the name of a series posts name, and a name given under `params`.
const SECTIONS: [&str; 4] = [
    "---\ntitle: Folder\n---\nAbout the folder.\n",
    "---\ntitle: Folder\nseries: true\n---\nAbout the folder series.\n",
    "---\nseries: Series 0\n---\n",
    "---\nparams:\n  series: Folder B\n  series_slug: fb\n---\nB.\n",
];

/// Pages posts link to, two or three to a name: twins (the case of an extension too) and
/// indexes of every kind.
const PAGES: [&str; 6] = [
    "about.md",
    "about.gmi",
    "notes/index.md",
    "notes/index.gmi",
    "about.MD",
    "notes/index.gemini",
];

/// One post as the test writes it.
#[derive(Debug, Clone)]
struct PostSpec {
    title: u8,
    /// Days after 2020-01-01; 40,000 and more lies far ahead (withheld).
    day: u32,
    series: Option<u8>,
    part: Option<u8>,
    tags: Vec<u8>,
    draft: bool,
    slug: Option<u8>,
    /// Links to other posts, by number, and the body's words.
    links: Vec<u8>,
    body: u8,
}

#[derive(Debug, Clone)]
enum Field {
    Title(u8),
    Day(u32),
    Series(u8),
    Part(u8),
    Tags(Vec<u8>),
    Draft,
    Slug(u8),
}

#[derive(Debug, Clone)]
enum Op {
    /// Creates or replaces a post.
    Write(u8, PostSpec),
    /// Changes only the body of a post that exists (the case kept cheapest): its words and
    /// the posts it links to.
    EditBody(u8, u8, Vec<u8>),
    /// Changes one value of a post's front matter, leaving its keys where they are.
    Change(u8, Field),
    /// Writes a post whose front matter does not parse.
    Break(u8),
    Delete(u8),
    Rename(u8, u8),
    /// A hand-written gemtext twin of a Markdown post, or its removal.
    Twin(u8, bool),
    /// A series description, written or removed.
    Describe(u8, Option<u8>),
    /// The home page's own text, written or removed.
    Home(Option<u8>),
    /// A page outside `posts/` that posts link to (see [`PAGES`]), written or removed.
    Page(u8, bool),
    /// Touches a file without changing it.
    Touch(u8),
    /// The section page of `posts/f/` (see [`SECTIONS`]), written or removed.
    Section(Option<u8>),
}

fn spec() -> impl Strategy<Value = PostSpec> {
    (
        0u8..4,
        prop_oneof![0u32..2000, 40_000u32..40_010],
        proptest::option::of(0u8..2),
        proptest::option::of(1u8..4),
        proptest::collection::vec(0u8..3, 0..3),
        proptest::bool::weighted(0.2),
        proptest::option::weighted(0.2, 0u8..3),
        proptest::collection::vec(0u8..NAMES as u8, 0..3),
        0u8..8,
    )
        .prop_map(
            |(title, day, series, part, tags, draft, slug, links, body)| PostSpec {
                title,
                day,
                series,
                part,
                tags,
                draft,
                slug,
                links,
                body,
            },
        )
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        (0u8..4).prop_map(Field::Title),
        prop_oneof![0u32..2000, 40_000u32..40_010].prop_map(Field::Day),
        (0u8..2).prop_map(Field::Series),
        (1u8..4).prop_map(Field::Part),
        proptest::collection::vec(0u8..3, 1..3).prop_map(Field::Tags),
        Just(Field::Draft),
        (0u8..3).prop_map(Field::Slug),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0u8..NAMES as u8;
    prop_oneof![
        4 => (n.clone(), spec()).prop_map(|(i, s)| Op::Write(i, s)),
        4 => (n.clone(), 0u8..8, proptest::collection::vec(0u8..NAMES as u8 + 1, 0..3))
            .prop_map(|(i, b, links)| Op::EditBody(i, b, links)),
        3 => (n.clone(), field()).prop_map(|(i, f)| Op::Change(i, f)),
        1 => n.clone().prop_map(Op::Break),
        1 => n.clone().prop_map(Op::Delete),
        1 => (n.clone(), n.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (n.clone(), any::<bool>()).prop_map(|(i, on)| Op::Twin(i, on)),
        1 => (0u8..2, proptest::option::of(0u8..3)).prop_map(|(s, t)| Op::Describe(s, t)),
        1 => proptest::option::of(0u8..3).prop_map(Op::Home),
        2 => (0u8..PAGES.len() as u8, any::<bool>()).prop_map(|(p, on)| Op::Page(p, on)),
        1 => n.prop_map(Op::Touch),
        2 => proptest::option::of(0u8..SECTIONS.len() as u8).prop_map(Op::Section),
    ]
}

fn front_matter(spec: &PostSpec) -> String {
    let mut out = String::from("---\n");
    out += &format!("title: Title {}\n", spec.title);
    let date = jiff::civil::date(2020, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(spec.day)))
        .unwrap();
    out += &format!("date: {date}\n");
    if let Some(s) = spec.series {
        out += &format!("series: Series {s}\n");
    }
    if let Some(p) = spec.part {
        out += &format!("part: {p}\n");
    }
    if !spec.tags.is_empty() {
        let tags: Vec<String> = spec.tags.iter().map(|t| format!("tag{t}")).collect();
        out += &format!("tags: [{}]\n", tags.join(", "));
    }
    if spec.draft {
        out += "draft: true\n";
    }
    if let Some(s) = spec.slug {
        out += &format!("slug: renamed-{s}\n");
    }
    out + "---\n"
}

fn body(spec_links: &[u8], words: u8) -> String {
    let mut out = format!("\nThe body, version {words}: knots and weather.\n\n");
    out += "About [me](/about.gmi), [notes](../notes/) and [the same](/linked/).\n\n";
    for l in spec_links {
        out += &format!("See [post {l}](p{l}.md) and [its page](/posts/p{l}.gmi).\n\n");
    }
    out
}

/// The folder, and what the test last wrote as each post (to edit its body alone).
struct Folder {
    root: PathBuf,
    specs: BTreeMap<u8, PostSpec>,
}

impl Folder {
    fn post(&self, i: u8) -> PathBuf {
        self.root.join(format!("{}/p{i}.md", folder_of(i)))
    }

    /// Applies `op`, and returns the paths a watcher would name.
    fn apply(&mut self, op: &Op) -> Vec<PathBuf> {
        match op {
            Op::Write(i, spec) => {
                let path = self.post(*i);
                let text = front_matter(spec) + &body(&spec.links, spec.body);
                std::fs::write(&path, text).unwrap();
                self.specs.insert(*i, spec.clone());
                vec![path]
            }
            Op::EditBody(..) | Op::Change(..) => {
                let i = match op {
                    Op::EditBody(i, ..) | Op::Change(i, _) => i,
                    _ => unreachable!(),
                };
                let path = self.post(*i);
                let Some(spec) = self.specs.get_mut(i) else {
                    return Vec::new();
                };
                match op {
                    Op::EditBody(_, words, links) => {
                        spec.body = *words;
                        spec.links = links.clone();
                    }
                    // A key the post has keeps its line; one it lacks is added.
                    Op::Change(_, field) => match field {
                        Field::Title(t) => spec.title = *t,
                        Field::Day(d) => spec.day = *d,
                        Field::Series(s) => spec.series = Some(*s),
                        Field::Part(p) => spec.part = Some(*p),
                        Field::Tags(t) => spec.tags = t.clone(),
                        Field::Draft => spec.draft = !spec.draft,
                        Field::Slug(s) => spec.slug = Some(*s),
                    },
                    _ => unreachable!(),
                }
                if !path.exists() {
                    return Vec::new();
                }
                let text = front_matter(spec) + &body(&spec.links, spec.body);
                std::fs::write(&path, text).unwrap();
                vec![path]
            }
            Op::Break(i) => {
                let path = self.post(*i);
                std::fs::write(&path, "---\ntitle: [unclosed\n---\nBroken.\n").unwrap();
                vec![path]
            }
            Op::Delete(i) => {
                let path = self.post(*i);
                let _ = std::fs::remove_file(&path);
                self.specs.remove(i);
                vec![path]
            }
            Op::Rename(a, b) => {
                let (from, to) = (self.post(*a), self.post(*b));
                if a == b || !from.exists() {
                    return Vec::new();
                }
                std::fs::rename(&from, &to).unwrap();
                if let Some(spec) = self.specs.remove(a) {
                    self.specs.insert(*b, spec);
                }
                vec![from, to]
            }
            Op::Twin(i, on) => {
                let path = self.root.join(format!("{}/p{i}.gmi", folder_of(*i)));
                if *on {
                    std::fs::write(&path, format!("# Twin {i}\n\nWritten by hand.\n")).unwrap();
                } else {
                    let _ = std::fs::remove_file(&path);
                }
                vec![path]
            }
            Op::Describe(s, text) => {
                let path = self.root.join(format!("series/series-{s}.md"));
                match text {
                    Some(t) => std::fs::write(&path, format!("# S\n\nAbout it, {t}.\n")).unwrap(),
                    None => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                vec![path]
            }
            Op::Home(text) => {
                let path = self.root.join("index.gmi");
                match text {
                    Some(t) => std::fs::write(&path, format!("# Home {t}\n")).unwrap(),
                    None => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                vec![path]
            }
            Op::Page(which, on) => {
                let name = PAGES[usize::from(*which)];
                let path = self.root.join(name);
                if *on {
                    std::fs::write(&path, format!("# Page {which}\n")).unwrap();
                } else {
                    let _ = std::fs::remove_file(&path);
                }
                vec![path]
            }
            Op::Section(which) => {
                let path = self.root.join("posts/f/_index.md");
                match which {
                    Some(w) => std::fs::write(&path, SECTIONS[usize::from(*w)]).unwrap(),
                    None => {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                vec![path]
            }
            Op::Touch(i) => {
                let path = self.post(*i);
                if let Ok(text) = std::fs::read(&path) {
                    std::fs::write(&path, text).unwrap();
                }
                vec![path]
            }
        }
    }
}

/// What a lookup answers, as comparable text.
fn answer(lookup: Lookup) -> String {
    match lookup {
        Lookup::Found(Resolved::File { path, mime }) => {
            format!("file {mime} {:?}", std::fs::read(path).ok())
        }
        Lookup::Found(other) => format!("{other:?}"),
        Lookup::Page(page) => format!("page {:?} {:?} {}", page.lang, page.withheld, page.gemtext),
        Lookup::Generated { body, lang } => format!("generated {lang:?} {body}"),
        Lookup::Typed { mime, body } => format!("typed {mime} {body}"),
        Lookup::PageError(e) => format!("error {e}"),
        Lookup::Redirect(to) => format!("redirect {to}"),
    }
}

/// Every path either snapshot knows (and a few it may not), with what each answers; the
/// search page for a few words; and the problems, as a set.
fn answers(capsule: &Capsule, extra: &[(Vec<String>, bool)]) -> BTreeMap<String, String> {
    let origin = Origin::new("localhost", 1965);
    let mut out = BTreeMap::new();
    for (segments, slash) in capsule.paths().iter().chain(extra) {
        let key = format!("/{}{}", segments.join("/"), if *slash { "/" } else { "" });
        let memory = capsule
            .lookup_in_memory(segments, *slash, &origin)
            .map(answer);
        let disk = answer(capsule.lookup(segments, *slash, &origin));
        out.insert(key, format!("{memory:?}\n{disk}"));
    }
    for query in ["knots", "title 2", "weather body"] {
        let page = match capsule.search_page(None, query, |n, q| format!("{n} {q}")) {
            Searched::Page(page) => page,
            other => format!("{other:?}"),
        };
        out.insert(format!("search {query}"), page);
    }
    out
}

/// Paths worth asking whichever posts exist now.
fn extra_paths() -> Vec<(Vec<String>, bool)> {
    let mut paths = Vec::new();
    for i in 0..NAMES as u8 {
        for name in [format!("p{i}.gmi"), format!("renamed-{i}.gmi")] {
            let mut path: Vec<String> = folder_of(i).split('/').map(String::from).collect();
            path.push(name);
            paths.push((path, false));
        }
    }
    for slug in ["folder", "fb"] {
        paths.push((vec!["series".into(), slug.into()], true));
    }
    paths.push((vec!["posts".into(), "f".into()], true));
    for s in 0..2 {
        paths.push((vec!["series".into(), format!("series-{s}")], true));
    }
    for t in 0..3 {
        paths.push((vec!["tags".into(), format!("tag{t}")], true));
    }
    paths.push((vec!["posts".into()], true));
    paths
}

fn problems(list: &[gemhole::content::Problem]) -> BTreeSet<String> {
    list.iter().map(ToString::to_string).collect()
}

fn run(ops: &[Op]) {
    run_with(ops, false);
}

/// As [`run`]; with `linked`, the capsule has `linked/`, a symlink to `notes/`.
fn run_with(ops: &[Op], linked: bool) {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["posts/f", "series", "notes"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
    }
    if linked {
        std::os::unix::fs::symlink("notes", dir.path().join("linked")).unwrap();
    }
    let root = CapsuleRoot::open(dir.path()).unwrap();
    let mut folder = Folder {
        root: root.path().to_owned(),
        specs: BTreeMap::new(),
    };
    let options = BuildOptions::default();
    let config = HostConfig::default();
    let mut cache = ReadCache::default();
    // The same history read by whole passes (every file looked at, every list made again):
    // a file whose front matter breaks keeps its last good version in both.
    let mut whole_cache = ReadCache::default();
    let (site, _) = Site::build_cached(&root, &options, &mut cache);
    Site::build_cached(&root, &options, &mut whole_cache);
    let mut incremental = Capsule::new(root.clone(), site, &config, Default::default());
    let extra = extra_paths();
    for (step, op) in ops.iter().enumerate() {
        let named: HashSet<PathBuf> = folder.apply(op).into_iter().collect();
        cache.only_changed(named);
        let (site, found) = Site::build_cached(&root, &options, &mut cache);
        incremental = incremental.with_site(site);
        let got = answers(&incremental, &extra);
        let (whole_site, whole_found) = Site::build_cached(&root, &options, &mut whole_cache);
        let mut references = vec![("whole passes", whole_site, whole_found)];
        // Without a last good version standing in, and without two posts asking for one URL
        // (the one that held it keeps it: history decides), a build from nothing reads the
        // same.
        let (scratch_site, scratch_found) = Site::build(&root, &options);
        if !problems(&references[0].2)
            .iter()
            .any(|p| p.contains("last good version") || p.contains(" holds by its "))
        {
            references.push(("scratch", scratch_site, scratch_found));
        }
        for (name, site, found_there) in references {
            let reference = Capsule::new(root.clone(), site, &config, Default::default());
            assert_eq!(
                problems(&found),
                problems(&found_there),
                "problems after step {step} ({op:?}), against {name}"
            );
            let want = answers(&reference, &extra);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "paths after step {step} ({op:?}), against {name}"
            );
            for (path, answer) in &want {
                assert_eq!(
                    &got[path], answer,
                    "{path} after step {step} ({op:?}) of {ops:?}, against {name}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_built_change_by_change_answers_as_one_built_from_scratch(
        ops in proptest::collection::vec(op(), 1..24)
    ) {
        run(&ops);
    }
}

/// The cases the property found once, kept whatever the random seed.
#[test]
fn body_edits_beside_slugs_twins_and_broken_front_matter() {
    let post = |title, slug: Option<u8>, links: Vec<u8>| PostSpec {
        title,
        day: 10,
        series: Some(0),
        part: Some(1),
        tags: vec![0],
        draft: false,
        slug,
        links,
        body: 0,
    };
    run(&[
        Op::Write(0, post(0, Some(1), vec![1])),
        Op::Write(1, post(1, None, vec![0])),
        Op::EditBody(1, 3, vec![0, 6]),
        Op::Break(0),
        Op::EditBody(1, 4, vec![]),
        Op::Twin(1, true),
        Op::EditBody(1, 5, vec![1]),
        Op::Write(0, post(0, Some(1), vec![1])),
        Op::EditBody(0, 2, vec![6]),
        Op::Change(0, Field::Day(40_001)),
        Op::Change(0, Field::Day(3)),
        Op::Change(1, Field::Title(3)),
        Op::Describe(0, Some(1)),
        Op::EditBody(0, 6, vec![1]),
        Op::Touch(0),
    ]);
}

/// A post in no series, with no tags and no links.
fn plain_post() -> PostSpec {
    PostSpec {
        title: 0,
        day: 1,
        series: None,
        part: None,
        tags: vec![],
        draft: false,
        slug: None,
        links: vec![],
        body: 0,
    }
}

/// A page and its twin (`about.md` beside `about.gmi`, an index in both forms) come and go
/// while a post links to them: the name stays served while either file is there.
#[test]
fn twins_come_and_go_under_a_link() {
    let post = plain_post();
    run(&[
        Op::Write(0, post),
        Op::Page(0, true),
        Op::Page(1, true),
        Op::Page(0, false),
        Op::Page(3, true),
        Op::Page(2, true),
        Op::Page(3, false),
        Op::Page(1, false),
        Op::Page(2, false),
        // Twins whose extensions differ in case, and indexes of every kind.
        Op::Page(4, true),
        Op::Page(0, true),
        Op::Page(0, false),
        Op::Page(5, true),
        Op::Page(3, true),
        Op::Page(3, false),
        Op::Page(4, false),
        Op::Page(5, false),
    ]);
}

/// The index of a folder a symlink leads to comes and goes: served under the link's name too.
#[test]
fn an_index_behind_a_symlinked_folder_comes_and_goes() {
    let post = plain_post();
    run_with(
        &[
            Op::Write(0, post),
            Op::Page(3, true),
            Op::EditBody(0, 1, vec![]),
            Op::Page(3, false),
            Op::Page(5, true),
            Op::Page(5, false),
        ],
        true,
    );
}
