//! Titan's rules, apart from its sockets and its writes: which names an upload may take,
//! which folders it may make, the file a Titan URL writes, the token, the quota's message, and
//! the checks of a body that keep an author's words (the page as shown is never stored over
//! its source, no front matter is dropped, no URL is taken from its holder). Each refusal
//! carries its status, its META and the note the access log gives it.

use std::path::{Path, PathBuf};

use super::Capsule;
use crate::content::files::{is_hidden, is_markdown};
use crate::content::front_matter;
use crate::content::scan::{Examined, examine_text};
use crate::content::store::{HISTORY_DIR, StoreError};
use crate::content::{BuildOptions, Post};
use crate::convert::mime::mime_for;
use crate::convert::url::{Origin, encode_path};
use crate::protocol::status::Status;

/// The longest file name Linux file systems take.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest META a refusal carries (a header line is at most 1024 bytes with its status).
pub const MAX_META_BYTES: usize = 1000;

/// `59` when a folder on the way to the file (made by the upload, or there already) has the
/// name of a URL a post holds (`posts/knots.gmi/x.png` while a post's `slug` is `knots`): the
/// folder would answer at the post's URL.
pub fn check_folders(capsule: &Capsule, segments: &[String]) -> Result<(), Refused> {
    let folders: Vec<String> = (1..segments.len())
        .map(|n| encode_path(&format!("/{}", segments[..n].join("/"))))
        .collect();
    let Some(holder) = capsule.site.all_posts().find(|p| folders.contains(&p.url)) else {
        return Ok(());
    };
    Err(Refused::new(
        "a folder of the upload's path has a post's URL",
        format!(
            "{} is the URL of {}: a folder of that name would take it, so nothing was written. \
             Choose another folder",
            holder.url,
            holder.source.display()
        ),
    ))
}

/// How many names deep an upload may write (`posts/2026/12/x.md` is four): every folder made
/// is walked by each scan of the capsule, and counted against the quota.
const MAX_DEPTH: usize = 12;

/// `59` for a name the server would never serve (a dot-file, an editor's temporary file or
/// backup), one longer than a file system takes, or a path deeper than [`MAX_DEPTH`].
pub fn check_names(segments: &[String]) -> Result<(), Refused> {
    if segments.len() > MAX_DEPTH {
        return Err(refused(
            Status::BadRequest,
            "The path is more than 12 names deep: uploads write at most 12 deep",
        ));
    }
    if is_hidden(segments.iter().map(String::as_str)) {
        return Err(refused(
            Status::BadRequest,
            "This name is never served (dot-files, and editors' temporary files and backups: \
             x~, *.swp, *.tmp, 4913): nothing was written",
        ));
    }
    if segments.iter().any(|s| s.len() > MAX_NAME_BYTES) {
        return Err(refused(
            Status::BadRequest,
            "A file or folder name is longer than 255 bytes",
        ));
    }
    Ok(())
}

/// `59` with the figures of a quota an upload of `size` bytes would pass.
pub fn over_quota(held: u64, limit: u64, size: u64) -> Refused {
    Refused::new(
        "over the upload quota",
        format!(
            "Over the capsule's upload quota: its [titan] paths and kept versions \
             ({HISTORY_DIR}/) hold {} of {} and this upload is {}; nothing was written. Ask \
             the operator to raise [titan] quota or to clear old versions",
            shown_bytes(held),
            shown_bytes(limit),
            shown_bytes(size)
        ),
    )
}

/// Bytes as an author reads them: `1234 bytes`, `12.3 MiB (12897484 bytes)`.
fn shown_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes < 1024 * 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} MiB ({bytes} bytes)", bytes as f64 / MIB)
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let digest = |b: &[u8]| ring::digest::digest(&ring::digest::SHA256, b);
    let (a, b) = (digest(given), digest(expected));
    a.as_ref()
        .iter()
        .zip(b.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The file a Titan path writes (relative to the root): the source of the post served at that
/// URL (`/posts/x.gmi` → `posts/x.md`, whatever its `slug`; drafts too), else a `.gmi` path's
/// Markdown twin when only that exists, else the path itself. A Markdown file whose `.gmi`
/// twin exists is refused: the twin is served in its place, so the upload would never be
/// seen. Blocking (it may look at the folder).
pub fn file_of(capsule: &Capsule, segments: &[String]) -> Result<PathBuf, StoreError> {
    let path: PathBuf = segments.iter().collect();
    let url = encode_path(&format!("/{}", segments.join("/")));
    if let Some(post) = capsule.site.all_posts().find(|p| p.url == url) {
        return Ok(post.source.clone());
    }
    let on_disk = |p: &Path| std::fs::symlink_metadata(capsule.root.path().join(p)).is_ok();
    if path.extension().is_some_and(|e| e == "gmi") {
        let twin = path.with_extension("md");
        if (capsule.site.text(&twin).is_some() || on_disk(&twin)) && !on_disk(&path) {
            return Ok(twin);
        }
    }
    let is_file = |p: &Path| {
        std::fs::symlink_metadata(capsule.root.path().join(p)).is_ok_and(|m| !m.is_dir())
    };
    if is_markdown(&path) && is_file(&path.with_extension("gmi")) {
        return Err(StoreError::Refused(
            "A .gmi file of the same name is served in place of this Markdown file: upload to \
             the .gmi URL, or delete that file first",
        ));
    }
    Ok(path)
}

/// `titan://host:port/<url>;edit`: where an author's client fetches the source of the page
/// at `url` (root-relative, as the site writes URLs).
pub fn edit_url(origin: &Origin, url: &str) -> String {
    let gemini = origin.absolute(url);
    format!(
        "titan{};edit",
        gemini.strip_prefix("gemini").unwrap_or(&gemini)
    )
}

/// Whether a file is gemtext (`.gmi`, `.gemini`), as the capsule serves it.
pub fn is_gemtext(file: &Path) -> bool {
    mime_for(file) == "text/gemini"
}

/// Whether a file holds text (and so must be UTF-8).
pub fn is_text(file: &Path) -> bool {
    is_markdown(file) || is_gemtext(file) || mime_for(file) == "text/plain"
}

/// Why a body is refused: the META, and the log's note.
#[derive(Debug)]
pub struct Refused {
    pub status: Status,
    pub meta: String,
    pub note: &'static str,
}

impl Refused {
    /// A `59`, its META made one line.
    fn new(note: &'static str, meta: String) -> Refused {
        Refused {
            status: Status::BadRequest,
            meta: one_line(meta),
            note,
        }
    }
}

/// A refusal whose META is its note.
pub fn refused(status: Status, why: &'static str) -> Refused {
    Refused {
        status,
        meta: why.to_owned(),
        note: why,
    }
}

/// A META of one line, within the 1024 bytes a header may hold.
pub fn one_line(meta: String) -> String {
    // Names authors chose: nothing in them may break, reorder or hide the line a client shows
    // (escaped as the log and `check` show them).
    let mut meta = crate::convert::printable(&meta).into_owned();
    if meta.len() > MAX_META_BYTES {
        let mut end = MAX_META_BYTES;
        while !meta.is_char_boundary(end) {
            end -= 1;
        }
        meta.truncate(end);
    }
    meta
}

/// The checks of an upload's body, in the order of what an author would lose: text that is not
/// UTF-8 (or Markdown that holds a NUL, which no scan reads), gemtext sent over a Markdown
/// source (told by its lines, whatever MIME type the client named: Lagrange calls all typed
/// text `text/plain`), front matter the file has that the body drops, lines the server adds to
/// the page as shown, a page that would not be published as written, and a URL another post
/// holds. Returns the body when it may be stored. Blocking.
pub fn check_body(
    capsule: &Capsule,
    file: &Path,
    body: Vec<u8>,
    build: &BuildOptions,
    edit_url: &str,
) -> Result<Vec<u8>, Refused> {
    if !is_text(file) {
        return Ok(body);
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Err(Refused::new(
            "upload is not UTF-8",
            "The text is not valid UTF-8: nothing was written".into(),
        ));
    };
    // What the capsule's scan would refuse to read as a page (see `markdown::Source`).
    if let Some(at) = text.find('\0').filter(|_| is_markdown(file)) {
        return Err(Refused::new(
            "upload is binary",
            format!(
                "A Markdown file must be text, and this holds a NUL byte (at offset {at}): \
                 nothing was written"
            ),
        ));
    }
    let upload = UploadText {
        capsule,
        file,
        text,
        build,
        edit_url,
    };
    upload.no_front_matter_in_gemtext()?;
    let current = current_text(capsule, file, build.max_file_size);
    if let Some(current) = current.as_ref().filter(|_| is_markdown(file)) {
        upload.not_the_page_as_shown(current)?;
        upload.keeps_front_matter(current)?;
    }
    if let Some(current) = &current {
        upload.without_added_lines(current)?;
    }
    upload.within_markdown_size()?;
    let examined = examine_text(text.to_owned(), file, build);
    upload.publishable(&examined)?;
    if let Some(post) = &examined.post {
        upload.slug_takes_no_file(post)?;
        upload.url_is_free(post)?;
    }
    Ok(body)
}

/// A text upload as [`check_body`]'s checks see it: each check is one way an author's words
/// could be lost, and refuses with what to do instead.
struct UploadText<'a> {
    capsule: &'a Capsule,
    /// The file it writes, relative to the capsule root.
    file: &'a Path,
    /// The body, known to be UTF-8.
    text: &'a str,
    build: &'a BuildOptions,
    /// Where the author's client fetches the file's source.
    edit_url: &'a str,
}

impl UploadText<'_> {
    /// Front matter sent to a gemtext page would be shown as text, its `draft` ignored.
    fn no_front_matter_in_gemtext(&self) -> Result<(), Refused> {
        let (file, text) = (self.file, self.text);
        let front = front_matter::split(text).ok().and_then(|split| split.front);
        let has_front = front.is_some_and(|block| {
            block.text.trim().is_empty()
                || front_matter::keys_of(text).is_some_and(|k| !k.is_empty())
        });
        if is_gemtext(file) && has_front {
            let shown = file.display();
            return Err(Refused::new(
                "front matter sent to a gemtext page",
                format!(
                    "This text starts with front matter, which a gemtext page ({shown}) does not \
                     read: readers would see it as text, and a `draft` in it would not hold the \
                     page back. Nothing was written. Upload it to the Markdown name ({}) to \
                     publish it as a post",
                    file.with_extension("md").display()
                ),
            ));
        }
        Ok(())
    }

    /// Gemtext over a Markdown source is the page as shown: stored, it would lose the front
    /// matter and run the links together.
    fn not_the_page_as_shown(&self, current: &str) -> Result<(), Refused> {
        let Some((line, link)) = new_link_line(self.text, current) else {
            return Ok(());
        };
        let (shown, edit_url) = (self.file.display(), self.edit_url);
        Err(Refused::new(
            "gemtext sent over a Markdown source",
            format!(
                "{shown} is written in Markdown and this text is gemtext (line \
                 {line}: {link}), the page as shown: storing it would lose its front \
                 matter and run its links together, so nothing was written. Edit the \
                 Markdown source instead: open {edit_url}"
            ),
        ))
    }

    /// A key the Markdown source has and the body lacks would be lost without a word.
    fn keeps_front_matter(&self, current: &str) -> Result<(), Refused> {
        let Some(dropped) = dropped_keys(current, self.text) else {
            return Ok(());
        };
        let (shown, edit_url) = (self.file.display(), self.edit_url);
        Err(Refused::new(
            "upload drops front matter",
            format!(
                "This text drops front matter {shown} has ({}): nothing was written. \
                 Send the whole source ({edit_url} gets it); to change a value, keep \
                 its key; to clear one, leave the key with no value",
                dropped.join(", ")
            ),
        ))
    }

    /// A line the server adds to the page as shown (or the edit link), stored in its source,
    /// would be shown twice.
    fn without_added_lines(&self, current: &str) -> Result<(), Refused> {
        let added = self.capsule.added_lines(self.file);
        let carried = self.text.lines().map(str::trim_end).find(|line| {
            (added.iter().any(|a| a == line) || is_edit_link(line))
                && !current.lines().any(|c| c.trim_end() == *line)
        });
        let Some(line) = carried else {
            return Ok(());
        };
        let (shown, edit_url) = (self.file.display(), self.edit_url);
        Err(Refused::new(
            "upload carries the lines the server adds",
            format!(
                "This text holds a line the server adds to {shown} as it shows it \
                 (“{line}”): the page as shown, not its source, so nothing was written. \
                 Edit the source instead: open {edit_url}"
            ),
        ))
    }

    /// A Markdown text larger than a page may be converted from would never be served.
    fn within_markdown_size(&self) -> Result<(), Refused> {
        let max = self.build.max_file_size;
        if is_markdown(self.file) && self.text.len() as u64 > max {
            return Err(Refused::new(
                "upload larger than markdown.max_file_size",
                format!(
                    "This Markdown text is larger than the {max} bytes a page may be converted \
                     from ([markdown] max_file_size): nothing was written",
                ),
            ));
        }
        Ok(())
    }

    /// A text the watcher would not publish (an error in it) is refused with that error.
    fn publishable(&self, examined: &Examined) -> Result<(), Refused> {
        match examined.problems.iter().find(|p| p.error) {
            Some(problem) => Err(Refused::new(
                "upload would not be published as written",
                format!("Not published, nothing was written: {problem}"),
            )),
            None => Ok(()),
        }
    }

    /// A `slug` never takes the name of a file or folder that is no post.
    fn slug_takes_no_file(&self, post: &Post) -> Result<(), Refused> {
        let site = &self.capsule.site;
        let decoded = percent_encoding::percent_decode_str(&post.url).decode_utf8_lossy();
        if post.url != post.natural_url()
            && site.serves(&decoded)
            && !site.all_posts().any(|p| p.url == post.url)
        {
            return Err(Refused::new(
                "upload asks for a file's URL",
                format!(
                    "{}, which its `slug` asks for, is the name of a file or folder of the \
                     capsule that is no post, so nothing was written. Choose another `slug`",
                    post.url
                ),
            ));
        }
        Ok(())
    }

    /// A post keeps its URL: another file's post may not take it, by `slug` or by name.
    fn url_is_free(&self, post: &Post) -> Result<(), Refused> {
        let natural = post.natural_url();
        let holder = self
            .capsule
            .site
            .all_posts()
            .find(|p| p.source != self.file && (p.url == post.url || p.url == natural));
        let Some(holder) = holder else {
            return Ok(());
        };
        let (url, how) = if holder.url == post.url && post.url != natural {
            (post.url.as_str(), "its `slug` asks for")
        } else {
            (holder.url.as_str(), "it would be served at")
        };
        Err(Refused::new(
            "upload asks for another post's URL",
            format!(
                "{url}, which {how}, is {}'s: a post keeps its URL, so nothing was \
                 written. Choose another {}",
                holder.source.display(),
                if how.contains("slug") {
                    "`slug`"
                } else {
                    "file name"
                }
            ),
        ))
    }
}

/// The text of the file an upload replaces, if it has one (and it reads as UTF-8).
fn current_text(capsule: &Capsule, file: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    let opened = capsule
        .root
        .open_file(&capsule.root.path().join(file))
        .ok()?;
    let mut bytes = Vec::new();
    opened.take(limit).read_to_end(&mut bytes).ok()?;
    String::from_utf8(bytes).ok()
}

/// The first gemtext link line (`=> …`, outside fenced code) of `text` that `current` does
/// not have: a Markdown source with gemtext links of its own keeps them, but the page as a
/// client shows it is gemtext throughout. Its line number and text (shortened).
fn new_link_line(text: &str, current: &str) -> Option<(usize, String)> {
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if !fenced && line.starts_with("=>") && !current.lines().any(|c| c == line) {
            let shown: String = line.chars().take(60).collect();
            return Some((i + 1, shown));
        }
    }
    None
}

/// The front-matter keys `current` has and `text` does not (any case), if any.
fn dropped_keys(current: &str, text: &str) -> Option<Vec<String>> {
    let before = front_matter::keys_of(current)?;
    let after: Vec<String> = front_matter::keys_of(text)
        .unwrap_or_default()
        .iter()
        .map(|k| k.to_lowercase())
        .collect();
    let dropped: Vec<String> = before
        .into_iter()
        .filter(|k| !after.contains(&k.to_lowercase()))
        .collect();
    (!dropped.is_empty()).then_some(dropped)
}

/// Whether a line is the edit link authors see under a page.
pub fn is_edit_link(line: &str) -> bool {
    line.strip_prefix("=>")
        .map(str::trim_start)
        .and_then(|rest| rest.split_whitespace().next())
        .is_some_and(|url| {
            url.len() > 8 && url[..8].eq_ignore_ascii_case("titan://") && url.ends_with(";edit")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same_secret(b"hunter2", b"hunter2"));
        assert!(!same_secret(b"hunter2", b"hunter3"));
        assert!(!same_secret(b"", b"hunter2"));
        assert!(!same_secret(b"hunter2x", b"hunter2"));
    }

    #[test]
    fn text_targets_are_the_pages() {
        assert!(is_text(Path::new("posts/x.md")));
        assert!(is_text(Path::new("a.gemini")));
        assert!(is_text(Path::new("notes.txt")));
        assert!(is_text(Path::new("a.GMI")));
        assert!(!is_text(Path::new("img/x.png")));
    }

    #[test]
    fn gemtext_links_over_markdown_are_found_unless_the_source_has_them() {
        let source = "---\ntitle: A\n---\nSee [b](b.md).\n\n=> gemini://kept.example kept\n";
        let shown = "# A\n\nSee b.\n=> b.gmi b\n=> gemini://kept.example kept\n";
        assert_eq!(new_link_line(shown, source), Some((4, "=> b.gmi b".into())));
        let edited = source.replace("See", "Read");
        assert_eq!(new_link_line(&edited, source), None);
        let fenced = format!("{source}```\n=> not a link\n```\n");
        assert_eq!(new_link_line(&fenced, source), None);
    }

    #[test]
    fn dropped_keys_are_named_in_any_case() {
        let source = "---\ntitle: A\nseries: S\npart: 2\nweight: 3\n---\nText\n";
        assert_eq!(
            dropped_keys(source, "---\nTitle: A\nseries:\npart: 2\n---\nText\n"),
            Some(vec!["weight".to_owned()])
        );
        assert_eq!(
            dropped_keys(source, "# A\nText\n"),
            Some(vec![
                "title".into(),
                "series".into(),
                "part".into(),
                "weight".into()
            ])
        );
        assert_eq!(dropped_keys(source, source), None);
        assert_eq!(dropped_keys("# No front matter\n", "# A\n"), None);
    }

    #[test]
    fn edit_links_are_known() {
        assert!(is_edit_link(
            "=> titan://h:1965/posts/x.gmi;edit Edit this page"
        ));
        assert!(is_edit_link("=>TITAN://h/x.gmi;edit"));
        assert!(!is_edit_link("=> titan://h/x.gmi Upload"));
        assert!(!is_edit_link("Text ;edit"));
    }

    #[test]
    fn metas_are_one_line_within_bounds() {
        let long = format!("a\r\nb\u{7}\u{2028}{}", "é".repeat(600));
        let meta = one_line(long);
        assert!(meta.starts_with("a\\u{d}\\u{a}b\\u{7}\\u{2028}é"), "{meta}");
        assert!(meta.len() <= MAX_META_BYTES && !meta.contains(['\u{7}', '\n', '\u{2028}']));
    }
}
