//! A new post's first draft (`gemhole new`): its file name, its front matter, and the next
//! free part of its series, so an author starts from a file that already reads as intended;
//! and the rules for what the author typed ([`start`]), so the command line only wires.

use std::path::{Path, PathBuf};

use super::options::POSTS_DIR;
use super::post::{Post, fold, series_name};
use super::series;
use super::site::Site;

use super::CapsuleRoot;
use super::options::BuildOptions;
use crate::config::{GEMINI_PORT, HostConfig};
use crate::convert::url::{Origin, encode_path};
use crate::disk::{self, Durability, FileMode};

/// What the author gives for a new post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// The folder its file goes in, relative to the capsule root (`posts`, or below).
    pub folder: PathBuf,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: jiff::civil::Date,
    pub series: Option<String>,
    pub part: Option<u32>,
    pub tags: Vec<String>,
    /// How its file name spells `&`, and names a title of no letters: the host's language's.
    pub words: series::SlugWords,
}

impl NewPost {
    /// Its file, relative to the capsule root: `<folder>/YYYY-MM-DD-<slug>.md`.
    pub fn file(&self) -> PathBuf {
        // The URL name series and tags get (`untitled` when nothing of the title is left),
        // short enough for a file name (255 bytes) with the date and `.md`.
        let mut slug = series::slug_with(&self.title, &self.words);
        if slug.len() > MAX_SLUG_BYTES {
            let mut end = MAX_SLUG_BYTES;
            while !slug.is_char_boundary(end) {
                end -= 1;
            }
            slug.truncate(end);
            let kept = slug.trim_end_matches('-').len();
            slug.truncate(kept);
        }
        self.folder.join(format!("{}-{slug}.md", self.date))
    }

    /// The Markdown it starts as: front matter (a draft) and an empty body.
    pub fn text(&self) -> String {
        let mut text = format!("---\ntitle: {}\ndate: {}\n", quoted(&self.title), self.date);
        if let Some(series) = &self.series {
            text.push_str(&format!("series: {}\n", quoted(series)));
            if let Some(part) = self.part {
                text.push_str(&format!("part: {part}\n"));
            }
        }
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|t| quoted(t)).collect();
            text.push_str(&format!("tags: [{}]\n", tags.join(", ")));
        }
        text.push_str("draft: true\n---\n\n");
        text
    }
}

/// The longest slug in a new post's file name.
const MAX_SLUG_BYTES: usize = 200;

/// A post's title as the author gave it, trimmed: never blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    /// The title typed, trimmed; a blank one is refused.
    pub fn new(typed: &str) -> Result<Title, NewPostError> {
        let title = typed.trim();
        if title.is_empty() {
            return Err(NewPostError::NoTitle);
        }
        Ok(Title(title.to_owned()))
    }
}

/// What the author typed for a new post, before the capsule is consulted.
#[derive(Debug, Clone)]
pub struct Typed {
    pub title: Title,
    /// Trimmed; blank is none.
    pub series: Option<String>,
    /// Its part in the series; unset: the series' next free part.
    pub part: Option<u32>,
    /// Each trimmed; blank ones are left out.
    pub tags: Vec<String>,
    /// Unset: today in the host's time zone.
    pub date: Option<jiff::civil::Date>,
    /// The folder its file goes in, relative to the capsule root; unset: where its series'
    /// parts are, else `posts`.
    pub dir: Option<PathBuf>,
}

/// The new post, written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its file, below the capsule folder.
    pub path: PathBuf,
    /// Its absolute `gemini://` URL.
    pub url: String,
    /// The series it joined, as the capsule spells it, and its part.
    pub series: Option<(String, u32)>,
    /// The folder it was written into, relative to the capsule root.
    pub folder: PathBuf,
}

/// Why no post was written; each message says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum NewPostError {
    #[error("give the post a title: gemhole new \"My Title\"")]
    NoTitle,
    #[error(
        "part {part} of “{series}” is {}'s: nothing was written (leave --part out for the next \
         free part)",
        holder.display()
    )]
    PartTaken {
        part: u32,
        series: String,
        holder: PathBuf,
    },
    /// A hand-written page of the same name would be served in the new post's place.
    #[error(
        "{} exists and would be served in place of the new post: nothing was written (give \
         another title or --date)",
        twin.display()
    )]
    TwinExists { twin: PathBuf },
    #[error(
        "{} already exists: nothing was written (give another title or --date)",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error(
        "--dir {}: a post's folder is below {POSTS_DIR}/ in the capsule (`..`, a hidden or an \
         absolute folder is not): nothing was written",
        dir.display()
    )]
    DirOutside { dir: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes the first draft of a post to `host`'s capsule (`root`): the series' part chosen, or
/// checked against the posts there; the date today in the host's zone unless given; refused
/// when a file or a hand-written page of its name is there.
pub fn start(host: &HostConfig, root: &CapsuleRoot, typed: Typed) -> Result<Started, NewPostError> {
    let dir = typed.dir.map(post_folder).transpose()?;
    let series = typed
        .series
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let joined = match &series {
        Some(name) => Some(join_series(host, root, name, typed.part)?),
        None => None,
    };
    let date = typed.date.unwrap_or_else(|| {
        host.timezone
            .zone()
            .to_datetime(jiff::Timestamp::now())
            .date()
    });
    let folder = dir
        .or_else(|| joined.as_ref().and_then(|j| j.folder.clone()))
        .unwrap_or_else(|| PathBuf::from(POSTS_DIR));
    let strings = host.strings();
    let post = NewPost {
        // Made slugs themselves: an operator's string cannot put a `/` in a file name.
        words: series::SlugWords {
            and: series::slug(strings.text("slug_and")),
            untitled: series::slug(strings.text("slug_untitled")),
        },
        folder: folder.clone(),
        title: typed.title.0,
        date,
        series: joined.as_ref().map(|j| j.name.clone()),
        part: joined.as_ref().map(|j| j.part).or(typed.part),
        tags: typed
            .tags
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    let file = post.file();
    let path = root.path().join(&file);
    let twin = root.path().join(file.with_extension("gmi"));
    if twin.symlink_metadata().is_ok() {
        return Err(NewPostError::TwinExists { twin });
    }
    create(root.path(), &file, &post.text()).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            NewPostError::Exists { path: path.clone() }
        } else {
            NewPostError::Write {
                path: path.clone(),
                source,
            }
        }
    })?;
    Ok(Started {
        url: page_url(host, &file),
        path,
        series: joined.map(|j| (j.name, j.part)),
        folder,
    })
}

/// A folder the author named for a new post, relative to the capsule: below `posts/` (the
/// only place posts are read from), with no `..`, hidden or absolute part.
fn post_folder(dir: PathBuf) -> Result<PathBuf, NewPostError> {
    use std::path::Component;
    let inside = dir.components().all(|c| match c {
        Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
        Component::CurDir => true,
        _ => false,
    });
    let folder: PathBuf = dir
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if inside && folder.starts_with(POSTS_DIR) {
        Ok(folder)
    } else {
        Err(NewPostError::DirOutside { dir })
    }
}

/// The series a new post joins, as the capsule knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Joined {
    /// Its own spelling: the config's, else its posts'; the one typed for a new series.
    name: String,
    part: u32,
    /// The folder its parts share, when they share one below `posts/`.
    folder: Option<PathBuf>,
}

/// The series named `typed` as the capsule has it (the same series up to case and Unicode
/// form, or by a configured alias), the part the new post takes (the one given if no post
/// has it, else the next free one), and the folder its parts live in.
fn join_series(
    host: &HostConfig,
    root: &CapsuleRoot,
    typed: &str,
    given: Option<u32>,
) -> Result<Joined, NewPostError> {
    let aliases = || {
        host.series
            .iter()
            .map(|(name, series)| (name.as_str(), series.aliases.as_slice()))
    };
    let (site, _) = Site::build(root, &BuildOptions::new(host));
    let name = own_spelling(host, &site, typed);
    let part = match given {
        None => next_part(&site, &name, aliases()),
        Some(part) => match part_taken(&site, &name, aliases(), part) {
            Some(holder) => {
                return Err(NewPostError::PartTaken {
                    part,
                    series: name,
                    holder: holder.to_owned(),
                });
            }
            None => part,
        },
    };
    let folder = shared_folder(members(&site, &name, aliases()).map(|p| p.source.as_path()));
    Ok(Joined { name, part, folder })
}

/// How the capsule spells the series `typed` names: the config's name when it or one of its
/// aliases folds to it, else the name its published series goes by, else a draft's spelling,
/// else the one typed (its spaces made single).
fn own_spelling(host: &HostConfig, site: &Site, typed: &str) -> String {
    let typed = series_name(typed).unwrap_or_else(|| typed.to_owned());
    let key = fold(&typed);
    let same = |name: &str| series_name(name).is_some_and(|n| fold(&n) == key);
    let configured = host.series.iter().find_map(|(name, series)| {
        (same(name) || series.aliases.iter().any(|a| same(a))).then(|| series_name(name))?
    });
    configured
        .or_else(|| {
            site.series
                .iter()
                .find(|s| same(&s.name))
                .map(|s| s.name.clone())
        })
        .or_else(|| {
            site.all_posts()
                .flat_map(|p| &p.meta.series)
                .find(|s| same(s))
                .and_then(|s| series_name(s))
        })
        .unwrap_or(typed)
}

/// The deepest folder below `posts/` that holds every one of `sources` (a page bundle's
/// `index.md` counts as its folder's place), if any.
fn shared_folder<'a>(sources: impl Iterator<Item = &'a Path>) -> Option<PathBuf> {
    let mut shared: Option<PathBuf> = None;
    for source in sources {
        let mut folder = source.parent()?;
        if source
            .file_stem()
            .is_some_and(|s| s == "index" || s == "_index")
        {
            folder = folder.parent()?;
        }
        shared = Some(match shared {
            None => folder.to_owned(),
            Some(so_far) => so_far
                .components()
                .zip(folder.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    shared.filter(|f| f.starts_with(POSTS_DIR))
}

/// The absolute URL of the page a post's file becomes: the canonical name and the public port
/// (else Gemini's).
fn page_url(host: &HostConfig, file: &Path) -> String {
    let origin = Origin::new(
        host.canonical().as_str(),
        host.public_port.unwrap_or(GEMINI_PORT),
    );
    let served = super::options::served_as(file);
    origin.absolute(&encode_path(&format!(
        "/{}",
        served.with_extension("gmi").to_string_lossy()
    )))
}

/// The part after the highest one any post of `series` has (drafts included), by the series'
/// URL name, so spelling and case do not matter, and by the names `aliases` gives it (former
/// names: `(name, its aliases)` from the config).
pub fn next_part<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
) -> u32 {
    members(site, series, aliases)
        .filter_map(|p| p.meta.part)
        .max()
        .map_or(1, |highest| highest.saturating_add(1))
}

/// The post (drafts included) that already has `part` of `series`, if any.
pub fn part_taken<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
    part: u32,
) -> Option<&'a Path> {
    members(site, series, aliases)
        .find(|p| p.meta.part == Some(part))
        .map(|p| p.source.as_path())
}

/// Every post of `series`, by its URL name or a name its aliases give it.
fn members<'a>(
    site: &'a Site,
    series: &str,
    aliases: impl Iterator<Item = (&'a str, &'a [String])>,
) -> impl Iterator<Item = &'a Post> {
    let mut names = vec![series::slug(series)];
    for (name, former) in aliases {
        let all: Vec<String> = std::iter::once(name)
            .chain(former.iter().map(String::as_str))
            .map(series::slug)
            .collect();
        if all.contains(&names[0]) {
            names.extend(all);
        }
    }
    site.all_posts().filter(move |p| {
        p.meta
            .series
            .iter()
            .any(|s| names.contains(&series::slug(s)))
    })
}

/// Writes `text` as a new file at `relative` below `root` (its folder made if missing), whole
/// and durable, with the permissions any new file gets; refuses to replace a file that is
/// there (`AlreadyExists`).
/// Each folder on the way is opened beneath the last without following a symlink, so a link
/// planted in the capsule never takes the new post outside it.
pub fn create(root: &Path, relative: &Path, text: &str) -> std::io::Result<()> {
    let (Some(folder), Some(name)) = (relative.parent(), relative.file_name()) else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    let root = disk::open_root(root)?;
    let names: Vec<&std::ffi::OsStr> = folder.iter().collect();
    let folder = disk::open_folders(
        std::os::fd::AsFd::as_fd(&root),
        &names,
        disk::FolderUse::Read,
        |_, _| Some(rustix::fs::Mode::from_raw_mode(0o777)),
    )
    .map_err(|stuck| match stuck.errno {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
            let at: PathBuf = names.iter().take(stuck.opened + 1).collect();
            std::io::Error::other(format!(
                "{} is a symlink or a file, not a folder of the capsule",
                at.display()
            ))
        }
        errno => std::io::Error::from(errno),
    })?;
    disk::create_new(
        &folder,
        name,
        text.as_bytes(),
        FileMode::Umasked(0o666),
        Durability::Synced,
    )
}

/// A YAML double-quoted string: whatever the text holds (`: `, `#`, quotes), it reads back
/// as itself.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> NewPost {
        NewPost {
            folder: PathBuf::from(POSTS_DIR),
            title: "Tuning: \"at\" Night #1".into(),
            date: jiff::civil::date(2026, 11, 28),
            series: Some("Crystal Radio".into()),
            part: Some(6),
            tags: vec!["radio".into(), "night sky".into()],
            words: series::SlugWords::default(),
        }
    }

    #[test]
    fn the_file_is_dated_and_named_by_its_title() {
        assert_eq!(
            post().file(),
            Path::new("posts/2026-11-28-tuning-at-night-sharp-1.md")
        );
        let untitled = NewPost {
            title: "!!!".into(),
            ..post()
        };
        assert_eq!(untitled.file(), Path::new("posts/2026-11-28-untitled.md"));
        // In the host's language.
        let french = series::SlugWords {
            and: "et".into(),
            untitled: "sans-titre".into(),
        };
        let salt = NewPost {
            title: "Sel & Poivre".into(),
            words: french.clone(),
            ..post()
        };
        assert_eq!(salt.file(), Path::new("posts/2026-11-28-sel-et-poivre.md"));
        let nothing = NewPost {
            title: "!!!".into(),
            words: french,
            ..post()
        };
        assert_eq!(nothing.file(), Path::new("posts/2026-11-28-sans-titre.md"));
    }

    #[test]
    fn front_matter_reads_back_as_written() {
        let text = post().text();
        assert!(
            text.starts_with("---\ntitle: \"Tuning: \\\"at\\\" Night #1\"\n"),
            "{text}"
        );
        assert!(
            text.contains("\nseries: \"Crystal Radio\"\npart: 6\n"),
            "{text}"
        );
        assert!(
            text.contains("\ntags: [\"radio\", \"night sky\"]\n"),
            "{text}"
        );
        assert!(text.ends_with("draft: true\n---\n\n"), "{text}");
        let read = crate::content::markdown::read(
            &text,
            "x",
            &crate::convert::Options::from(&crate::config::MarkdownConfig::default()),
        );
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert!(read.error.is_none());
    }

    #[test]
    fn a_start_writes_a_draft_once_and_never_over_a_page() {
        assert!(matches!(Title::new(" \t"), Err(NewPostError::NoTitle)));
        let dir = tempfile::tempdir().unwrap();
        let root = CapsuleRoot::open(dir.path()).unwrap();
        let host = HostConfig::default();
        let typed = |title: &str| Typed {
            title: Title::new(title).unwrap(),
            series: Some(" ".into()),
            part: None,
            tags: vec![" radio ".into(), " ".into()],
            date: Some(jiff::civil::date(2026, 11, 28)),
            dir: None,
        };
        let started = start(&host, &root, typed(" First ")).unwrap();
        assert_eq!(started.path, root.path().join("posts/2026-11-28-first.md"));
        assert!(
            started.url.ends_with("/posts/2026-11-28-first.gmi"),
            "{}",
            started.url
        );
        let text = std::fs::read_to_string(&started.path).unwrap();
        assert!(
            text.contains("title: \"First\"\n") && text.contains("tags: [\"radio\"]\n"),
            "{text}"
        );
        assert!(!text.contains("series:"), "{text}");
        let again = start(&host, &root, typed("First")).unwrap_err();
        assert!(matches!(again, NewPostError::Exists { .. }), "{again}");
        std::fs::write(root.path().join("posts/2026-11-28-twin.gmi"), "# Twin\n").unwrap();
        let twin = start(&host, &root, typed("Twin")).unwrap_err();
        assert!(matches!(twin, NewPostError::TwinExists { .. }), "{twin}");
    }

    #[test]
    fn a_post_joins_its_series_as_spelt_in_the_folder_of_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let part = |n: u32| {
            format!("---\ndate: 2025-01-0{n}\nseries: Self-Hosting on a Pi\npart: {n}\n---\n")
        };
        write("posts/pi/one.md", &part(1));
        write("posts/pi/two/index.md", &part(2));
        write(
            "posts/pi/three.md",
            &(part(3).replace("---\n", "---\ndraft: true\n")),
        );
        let root = CapsuleRoot::open(dir.path()).unwrap();
        let host = HostConfig::default();
        let typed = |dir: Option<&str>| Typed {
            title: Title::new("Four").unwrap(),
            series: Some("self-hosting on a  PI".into()),
            part: None,
            tags: Vec::new(),
            date: Some(jiff::civil::date(2026, 11, 28)),
            dir: dir.map(PathBuf::from),
        };
        let started = start(&host, &root, typed(None)).unwrap();
        assert_eq!(started.series, Some(("Self-Hosting on a Pi".to_owned(), 4)));
        assert_eq!(started.folder, Path::new("posts/pi"));
        assert_eq!(
            started.path,
            root.path().join("posts/pi/2026-11-28-four.md")
        );
        let text = std::fs::read_to_string(&started.path).unwrap();
        assert!(
            text.contains("series: \"Self-Hosting on a Pi\"\npart: 4\n"),
            "{text}"
        );
        // A folder of the author's choice, made; never outside posts/.
        let chosen = start(&host, &root, typed(Some("./posts/elsewhere/pi"))).unwrap();
        assert_eq!(
            chosen.path,
            root.path().join("posts/elsewhere/pi/2026-11-28-four.md")
        );
        assert_eq!(chosen.series, Some(("Self-Hosting on a Pi".to_owned(), 5)));
        for outside in ["posts/../..", "/tmp", "notes", "posts/.hidden", ""] {
            let refused = start(&host, &root, typed(Some(outside))).unwrap_err();
            assert!(
                matches!(refused, NewPostError::DirOutside { .. }),
                "{outside}: {refused}"
            );
        }
        // A series the capsule has no post of keeps the spelling typed, in posts/.
        let new_series = Typed {
            series: Some("Brand  New".into()),
            ..typed(None)
        };
        let started = start(&host, &root, new_series).unwrap();
        assert_eq!(started.series, Some(("Brand New".to_owned(), 1)));
        assert_eq!(started.folder, Path::new(POSTS_DIR));
    }

    #[test]
    fn a_configured_name_is_the_series_own_spelling() {
        let mut host = HostConfig::default();
        host.series.insert(
            "Crystal Radio".into(),
            crate::config::SeriesConfig {
                aliases: vec!["Old Radio Notes".into()],
                ..Default::default()
            },
        );
        let site = Site::default();
        for typed in ["crystal radio", "OLD radio notes", "Crystal  Radio"] {
            assert_eq!(
                own_spelling(&host, &site, typed),
                "Crystal Radio",
                "{typed}"
            );
        }
        assert_eq!(own_spelling(&host, &site, "Other"), "Other");
    }
}
