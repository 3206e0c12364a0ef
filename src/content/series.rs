//! Series: grouping posts by their `series` key and putting them in reading order.
//!
//! Order is `part` ascending; parts without a number follow the numbered ones; ties go to the
//! `weight` (Hugo's and Zola's, lighter first, the unweighted after), then the date, then the
//! title, then the path. Never the date alone: authors publish part 4 before
//! part 3 often enough. A series where no post has a number (a diary) is read in date order.
//! Supplements and see-also posts are kept apart, each by date.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::config::SeriesConfig;
use crate::content::post::{
    Post, PostDate, PostMeta, SeriesRole, fold, is_valid_slug, series_name,
};
use crate::content::problem::Problem;

/// What ordering needs to know about one post of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub path: PathBuf,
    pub title: String,
    pub date: PostDate,
    pub part: Option<u32>,
    /// Its `weight`, which orders parts of one number (or none).
    pub weight: Option<i64>,
    /// The role its author gave it, if any.
    pub role: Option<SeriesRole>,
    /// The number it is shown with ("Part 3"): the author's, or its place when the series has
    /// none. 0 for supplements and see-also posts.
    pub number: u32,
    /// The line of its source file its part number is written on (1 when it has none).
    pub part_line: usize,
}

impl Member {
    pub fn of(path: &Path, meta: &PostMeta, part_line: usize) -> Member {
        Member {
            path: path.to_owned(),
            title: meta.title.clone(),
            date: meta.date,
            part: meta.part,
            weight: meta.weight,
            role: meta.role,
            number: 0,
            part_line,
        }
    }
}

impl Member {
    /// What its part label says after "Part N" (see [`part_rest`]), `said` being how the host's
    /// language says "Part N" for this part ("Teil 2", "第2回").
    pub fn part_rest(&self, series: &str, said: &str) -> String {
        part_rest(series, &self.title, self.number, said)
    }
}

/// What a part's label (`Part N: Title`, N being the number "Part N of M" uses too) says after
/// "Part N": the title, with what it already says dropped from its start, so nothing is said
/// twice: the series' name (whatever its case and spacing; the list is that series'), then
/// "part N", "pt. N", "pt N", "#N" or "No. N" (any case, N this part's own number, an "of M"
/// after it too), or `said`, the host's own words for it, with the punctuation around them
/// (`:` `-` `–` `—` `,` `.` `|` `/` `;` and spaces). "Self-hosting on a Pi, part 1: Hardware",
/// "Part 1: Hardware", "Self-hosting on a Pi #1 – Hardware" and "Hardware" all leave
/// "Hardware"; a title that says nothing more ("Part 1", or only the series' name) leaves
/// nothing. Nothing is taken from the middle of a title, nor a number that is not this part's.
fn part_rest(series: &str, title: &str, number: u32, said: &str) -> String {
    let title = nfc(title.trim());
    let mut rest = &*title;
    let mut stripped = false;
    if let Some(after) = strip_name(rest, series) {
        rest = after.trim_start_matches(is_label_punctuation);
        stripped = true;
    }
    if let Some(after) = strip_part_number(rest, number).or_else(|| strip_said(rest, said)) {
        rest = after;
        stripped = true;
    }
    if stripped {
        rest = rest.trim_start_matches(is_label_punctuation);
    }
    rest.to_owned()
}

/// The title after `said` ("Teil 2", "第2回") at its start, in any case, where a word ends
/// (a full-width colon or comma ends one too, and goes with it).
fn strip_said<'a>(title: &'a str, said: &str) -> Option<&'a str> {
    let start = title.get(..said.len())?;
    if said.is_empty() || start.to_lowercase() != said.to_lowercase() {
        return None;
    }
    let rest = &title[said.len()..];
    if rest.starts_with(['：', '、']) {
        return Some(rest.trim_start_matches(['：', '、']));
    }
    at_word_end(rest).then_some(rest)
}

/// `text` in Unicode's composed form: ASCII as it is (every page of a series asks for every
/// part's label, so the common case costs no copy).
fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    if text.is_ascii() {
        text.into()
    } else {
        text.nfc().collect::<String>().into()
    }
}

/// What separates a series' name or a part's number from the rest of a title.
fn is_label_punctuation(c: char) -> bool {
    c.is_whitespace() || matches!(c, ':' | '-' | '–' | '—' | ',' | '.' | '|' | '/' | ';')
}

/// Whether `rest`, what follows a name or a number in a title, starts after a word's end:
/// nothing, a space, or punctuation then a space. Punctuation that joins on ("Pi-hole",
/// "Part 1.5", "1/5") does not end a word.
fn at_word_end(rest: &str) -> bool {
    rest.trim_start_matches(|c: char| is_label_punctuation(c) && !c.is_whitespace())
        .chars()
        .next()
        .is_none_or(char::is_whitespace)
}

/// The title after the series' name, when it starts with it: letters compared in any case,
/// spaces ignored, and the name must end where a word does.
fn strip_name<'a>(title: &'a str, series: &str) -> Option<&'a str> {
    let series = nfc(series);
    let mut name = series
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .peekable();
    name.peek()?;
    for (at, c) in title.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        for lower in c.to_lowercase() {
            if name.next() != Some(lower) {
                return None;
            }
        }
        if name.peek().is_none() {
            let rest = &title[at + c.len_utf8()..];
            return at_word_end(rest).then_some(rest);
        }
    }
    None
}

/// The title after "part N", "pt. N", "pt N", "#N" or "No. N" (and an "of M") at its start,
/// when N is `number`.
fn strip_part_number(title: &str, number: u32) -> Option<&str> {
    let lower = title.to_ascii_lowercase();
    let word = ["part", "pt.", "pt", "no.", "#"]
        .into_iter()
        .find(|w| lower.starts_with(w))?;
    let rest = &title[word.len()..];
    // A word must end before its number ("partial" is no "part").
    if word.ends_with(|c: char| c.is_ascii_alphabetic())
        && rest.starts_with(|c: char| c.is_alphabetic())
    {
        return None;
    }
    let rest = rest.trim_start();
    let (n, rest) = leading_number(rest)?;
    if n != number || !at_word_end(rest) {
        return None;
    }
    // "Part 2 of 5": the total says nothing more than "Part N of M" does.
    let of = rest.trim_start();
    if of.len() > 2
        && of.as_bytes()[..2].eq_ignore_ascii_case(b"of")
        && of[2..].starts_with(char::is_whitespace)
        && let total = of[2..].trim_start()
        && let digits = total.len() - total.trim_start_matches(|c: char| c.is_ascii_digit()).len()
        && digits > 0
        && let after = &total[digits..]
        && at_word_end(after)
    {
        return Some(after);
    }
    Some(rest)
}

/// The decimal number `text` starts with, and the text after it.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

/// Something about a series worth telling its author, at the file and line it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A series' posts in reading order, by role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ordered {
    pub parts: Vec<Member>,
    pub supplements: Vec<Member>,
    pub see_also: Vec<Member>,
    /// The number of the last part readers can read: the M of "Part N of M" and the count
    /// every list gives, the one number a series is known by (see [`Ordered::count`]).
    pub total: u32,
    /// Parts dated ahead, withheld until their date: not counted anywhere until they appear,
    /// and never reported missing. Reading order, numbered as they will be.
    pub scheduled: Vec<Member>,
    /// Problems worth telling the author (duplicate, missing or scheduled part numbers).
    pub warnings: Vec<Warning>,
}

impl Ordered {
    /// How many parts the series has, as every page says it ("N parts", "Part N of M"): the
    /// number of its last readable part (a part dated ahead is left out until it appears),
    /// or more when part numbers repeat, so a count never falls below what a list shows.
    pub fn count(&self) -> u32 {
        let listed = u32::try_from(self.parts.len()).unwrap_or(u32::MAX);
        self.total.max(listed)
    }
}

/// Sorts the members of one series. When some post has a part number, a post without one
/// (and without a `series_role`) is a supplement; when none has, every post is a part, in
/// date order. `scheduled` are its posts dated ahead: kept apart, never counted, and the
/// numbers they will take are never reported missing.
pub fn order(members: Vec<Member>, scheduled: Vec<Member>) -> Ordered {
    let numbered = members.iter().chain(&scheduled).any(|m| m.part.is_some());
    let mut ordered = Ordered::default();
    for member in members {
        match role_in(&member, numbered) {
            SeriesRole::Part => ordered.parts.push(member),
            SeriesRole::Supplement => ordered.supplements.push(member),
            SeriesRole::SeeAlso => ordered.see_also.push(member),
        }
    }
    ordered.parts.sort_by(reading_order);
    ordered.supplements.sort_by(by_date);
    ordered.see_also.sort_by(by_date);
    // One numbering for labels and for "Part N of M": the author's numbers, continued by one
    // for a part without a number.
    let last = number_parts(&mut ordered.parts, numbered, None);
    ordered.total = ordered.parts.iter().map(|m| m.number).max().unwrap_or(0);
    ordered.scheduled = scheduled
        .into_iter()
        .filter(|m| role_in(m, numbered) == SeriesRole::Part)
        .collect();
    ordered.scheduled.sort_by(reading_order);
    number_parts(&mut ordered.scheduled, numbered, last);
    ordered.warnings = part_warnings(&ordered.parts, &ordered.scheduled);
    ordered
}

/// The role a member plays: its author's, else a part when it has a number or the series has
/// none, else a supplement.
fn role_in(member: &Member, numbered: bool) -> SeriesRole {
    member
        .role
        .unwrap_or(if member.part.is_some() || !numbered {
            SeriesRole::Part
        } else {
            SeriesRole::Supplement
        })
}

/// Numbers parts in reading order: the author's number, else one after the last (`last`
/// before the first). Returns the last number given.
fn number_parts(parts: &mut [Member], numbered: bool, mut last: Option<u32>) -> Option<u32> {
    for member in parts {
        member.number = match member.part {
            Some(n) if numbered => n,
            _ => last.map_or(1, |n| n.saturating_add(1)),
        };
        last = Some(member.number);
    }
    last
}

/// What the author is told of a series' numbering: a first part after 1, a number used
/// twice, numbers skipped. A number a scheduled part will take is not missing (`check` names
/// it with the posts it withholds).
fn part_warnings(parts: &[Member], scheduled: &[Member]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let coming: HashSet<u32> = scheduled.iter().map(|m| m.number).collect();
    let absent =
        |from: u32, to: u32| -> Vec<u32> { (from..to).filter(|n| !coming.contains(n)).collect() };
    if let Some(first) = parts.first().filter(|m| m.part.is_some_and(|n| n > 1)) {
        let unseen = absent(1, first.number);
        if !unseen.is_empty() {
            warnings.push(Warning {
                path: first.path.clone(),
                line: first.part_line,
                message: format!(
                    "the first published part is part {}: readers see no {} before it",
                    first.number,
                    numbers_named(&unseen)
                ),
            });
        }
    }
    for pair in parts.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.part.is_none() || b.part.is_none() {
            continue;
        }
        if a.number == b.number {
            warnings.push(Warning {
                path: b.path.clone(),
                line: b.part_line,
                message: format!(
                    "part {} is used by both {} and {}",
                    a.number,
                    a.path.display(),
                    b.path.display()
                ),
            });
            continue;
        }
        let missing = absent(a.number.saturating_add(1), b.number);
        if !missing.is_empty() {
            let verb = if missing.len() == 1 { "is" } else { "are" };
            warnings.push(Warning {
                path: b.path.clone(),
                line: b.part_line,
                message: format!(
                    "{} {verb} missing: the parts go from {} to {}",
                    numbers_named(&missing),
                    a.number,
                    b.number
                ),
            });
        }
    }
    warnings
}

/// "part 2", "parts 4 to 5", or "parts 2, 4 and 6": ascending numbers, as a sentence names
/// them.
fn numbers_named(numbers: &[u32]) -> String {
    match numbers {
        [] => String::new(),
        [one] => format!("part {one}"),
        [first, .., last] if (last - first) as usize + 1 == numbers.len() => {
            format!("parts {first} to {last}")
        }
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            format!("parts {} and {last}", rest.join(", "))
        }
    }
}

fn reading_order(a: &Member, b: &Member) -> Ordering {
    let numbered = |m: &Member| m.part.map_or((1, 0), |p| (0, p));
    let weighted = |m: &Member| m.weight.map_or((1, 0), |w| (0, w));
    numbered(a)
        .cmp(&numbered(b))
        .then_with(|| weighted(a).cmp(&weighted(b)))
        .then_with(|| by_date(a, b))
}

fn by_date(a: &Member, b: &Member) -> Ordering {
    a.date
        .cmp(&b.date)
        .then_with(|| a.title.cmp(&b.title))
        .then_with(|| a.path.cmp(&b.path))
}

/// The URL name of a series or a tag, from its name alone (never from which others exist, so
/// it stays put as the capsule grows): NFC-normalised, lower case, symbols that tell names
/// apart spelled out (`C++` → `c-plus-plus`, `C#` → `c-sharp`), each run of other ASCII
/// punctuation and spaces one `-`. Letters, marks and emoji of any script are kept (they are
/// percent-encoded in URLs).
pub fn slug(name: &str) -> String {
    slug_with(name, &SlugWords::default())
}

/// The words a slug spells `&` with, and is when nothing of a name is left: a new post's
/// file name in the host's language (series' and tags' URLs keep English, so they stay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlugWords {
    pub and: String,
    pub untitled: String,
}

impl Default for SlugWords {
    fn default() -> Self {
        SlugWords {
            and: "and".into(),
            untitled: "untitled".into(),
        }
    }
}

/// [`slug`] with `words`.
pub fn slug_with(name: &str, words: &SlugWords) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    let word = |out: &mut String, dash: &mut bool, text: &str| {
        if *dash && !out.is_empty() {
            out.push('-');
        }
        *dash = false;
        out.push_str(text);
    };
    for c in name.nfc() {
        match c {
            // A word of its own, apart from what is around it.
            c if let Some(&(_, spelled)) = SPELLED.iter().find(|(s, _)| *s == c) => {
                dash = true;
                let spelled = if c == '&' {
                    words.and.as_str()
                } else {
                    spelled
                };
                word(&mut out, &mut dash, spelled);
                dash = true;
            }
            c if c.is_alphanumeric() || (!c.is_ascii() && !is_separator(c)) => {
                let lower: String = c.to_lowercase().collect();
                word(&mut out, &mut dash, &lower);
            }
            _ => dash = true,
        }
    }
    if out.is_empty() {
        words.untitled.clone()
    } else {
        out
    }
}

/// Symbols that tell names apart (`C++`, `C#`), spelled out in a slug.
const SPELLED: [(char, &str); 4] = [('+', "plus"), ('#', "sharp"), ('&', "and"), ('@', "at")];

/// Non-ASCII characters that separate words rather than make them: spaces and punctuation
/// (the zero-width joiner inside an emoji sequence is kept).
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c as u32,
            0x80..=0xBF | 0xD7 | 0xF7
            | 0x2000..=0x200C | 0x200E..=0x206F
            | 0x2E00..=0x2E7F | 0x3000..=0x3004 | 0x3008..=0x3020
            | 0xFE10..=0xFE1F | 0xFE30..=0xFE6F
            | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

/// A short name of `text` that stays the same from run to run and release to release (FNV-1a),
/// to tell apart two series or tags whose names make the same slug.
pub fn stable_hash(text: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{:06x}", hash & 0x00ff_ffff)
}

/// A series and its posts in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub slug: String,
    pub members: Ordered,
    /// Gemtext from `capsule/series/<slug>.md` (or `.gmi`), shown on the series index.
    pub description: Option<String>,
    /// Former URL names (from `aliases` in the config), redirected to this one.
    pub aliases: Vec<String>,
}

/// The posts of one series, as found.
#[derive(Default)]
struct Group<'a> {
    /// The config's name for it, when the config has settings for it (or lists the name a
    /// post uses among its aliases).
    configured: Option<(String, &'a SeriesConfig)>,
    /// Each post's spelling of the name: (name, date, source, line of `series`).
    spellings: Vec<(String, PostDate, &'a Path, usize)>,
    members: Vec<Member>,
    /// Its posts dated ahead, withheld until their date.
    scheduled: Vec<Member>,
    /// `series_slug`s its posts pin: (slug, date, source, line).
    pins: Vec<(String, PostDate, &'a Path, usize)>,
}

/// Groups published posts into series, ordered. A series is known by its name up to case and
/// Unicode form (and by its configured aliases); its URL name comes from that name alone, or
/// from a `slug` the author pins, so it never moves when another series comes or goes. Two
/// series that would share a URL name are an error: the older keeps it. `scheduled` are the
/// posts dated ahead (drafts aside): each joins a series readers already have as a part to
/// come, counted nowhere until it appears; a series of such posts alone is not made.
pub(crate) fn group_series(
    posts: &[Arc<Post>],
    scheduled: &[Arc<Post>],
    settings: &BTreeMap<String, SeriesConfig>,
    problems: &mut Vec<Problem>,
) -> Vec<Series> {
    let configured = configured_names(settings);
    let mut groups = gather(posts, &configured);
    for post in scheduled {
        for name in &post.meta.series {
            if let Some(group) = groups.get_mut(&group_key(name, &configured)) {
                group
                    .scheduled
                    .push(Member::of(&post.source, &post.meta, post.part_line));
            }
        }
    }
    let mut out: Vec<Series> = Vec::new();
    let mut claims: Vec<Claim> = Vec::new();
    for (_, group) in groups {
        let (series, claim) = group.into_series(problems);
        out.push(series);
        claims.push(claim);
    }
    settle_contested_slugs(&mut out, &claims, problems);
    drop_held_aliases(&mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Folded name (or alias) → the configured series it names, so a post's spelling finds the
/// settings that are its series'.
fn configured_names(
    settings: &BTreeMap<String, SeriesConfig>,
) -> HashMap<String, (String, &SeriesConfig)> {
    let mut configured: HashMap<String, (String, &SeriesConfig)> = HashMap::new();
    for (name, config) in settings {
        let Some(name) = series_name(name) else {
            continue;
        };
        configured.insert(fold(&name), (name.clone(), config));
        for alias in config.aliases.iter().filter_map(|a| series_name(a)) {
            configured
                .entry(fold(&alias))
                .or_insert_with(|| (name.clone(), config));
        }
    }
    configured
}

/// The posts of each series under its folded name, so every spelling of one name (and every
/// configured alias) lands in one group.
fn gather<'a>(
    posts: &'a [Arc<Post>],
    configured: &HashMap<String, (String, &'a SeriesConfig)>,
) -> BTreeMap<String, Group<'a>> {
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    // Oldest first, so the first spelling and pin found are the earliest written.
    for post in posts.iter().rev() {
        for (i, name) in post.meta.series.iter().enumerate() {
            let found = configured.get(&fold(name)).cloned();
            let group = groups.entry(group_key(name, configured)).or_default();
            group.configured = group.configured.take().or(found);
            group.spellings.push((
                name.clone(),
                post.meta.date,
                &post.source,
                post.line("series"),
            ));
            group
                .members
                .push(Member::of(&post.source, &post.meta, post.part_line));
            // A pinned slug names the post's first series.
            if i == 0
                && let Some(pin) = &post.meta.series_slug
            {
                group.pins.push((
                    pin.clone(),
                    post.meta.date,
                    &post.source,
                    post.line("series_slug"),
                ));
            }
        }
    }
    groups
}

/// The key a series name is grouped under: the folded name of the configured series it
/// names, else its own folded.
fn group_key(name: &str, configured: &HashMap<String, (String, &SeriesConfig)>) -> String {
    configured
        .get(&fold(name))
        .map_or_else(|| fold(name), |(n, _)| fold(n))
}

/// One series' claim on its URL name: its earliest post (the older series keeps a contested
/// URL name), whether its slug was chosen (pinned) rather than made, and where to report it.
struct Claim {
    date: PostDate,
    pinned: bool,
    path: PathBuf,
    line: usize,
}

impl Group<'_> {
    /// The series this group makes, with its claim on its URL name, telling the author what
    /// its posts disagree on.
    fn into_series(self, problems: &mut Vec<Problem>) -> (Series, Claim) {
        let name = match &self.configured {
            Some((name, _)) => name.clone(),
            None => most_used(&self.spellings),
        };
        self.report_respellings(&name, problems);
        let chosen = self.chosen_slug(&name, problems);
        let pinned = chosen.is_some();
        let slug = chosen.unwrap_or_else(|| slug(&name));
        let claim = self.claim(pinned);
        let aliases = self.former_slugs(&slug);
        let members = order(self.members, self.scheduled);
        for warning in &members.warnings {
            problems.push(Problem {
                path: warning.path.clone(),
                line: warning.line,
                message: format!("series “{name}”: {}", warning.message),
                error: false,
            });
        }
        let series = Series {
            name,
            slug,
            members,
            description: None,
            aliases,
        };
        (series, claim)
    }

    /// Warns where a post spells the name otherwise than the series is known by (and not as
    /// a configured alias), since both are taken as one series.
    fn report_respellings(&self, name: &str, problems: &mut Vec<Problem>) {
        let aliased = |spelling: &str| {
            self.configured.as_ref().is_some_and(|(_, c)| {
                c.aliases
                    .iter()
                    .any(|a| series_name(a).is_some_and(|a| fold(&a) == fold(spelling)))
            })
        };
        for (spelling, _, path, line) in &self.spellings {
            if *spelling != name && fold(spelling) == fold(name) && !aliased(spelling) {
                problems.push(Problem {
                    path: path.to_path_buf(),
                    line: *line,
                    message: format!(
                        "series “{spelling}” is taken as “{name}”, as it is written elsewhere \
                         (names that differ only in case or accents are one series): write \
                         it the same way everywhere"
                    ),
                    error: false,
                });
            }
        }
    }

    /// The URL name the config or the earliest pin chose, if any; a later pin that differs is
    /// an error, since only one can hold.
    fn chosen_slug(&self, name: &str, problems: &mut Vec<Problem>) -> Option<String> {
        let configured_slug = self
            .configured
            .as_ref()
            .and_then(|(_, c)| c.slug.clone())
            .filter(|s| is_valid_slug(s));
        let mut chosen = configured_slug.clone();
        for (pin, _, path, line) in &self.pins {
            match &chosen {
                None => chosen = Some(pin.clone()),
                Some(slug) if slug == pin => {}
                Some(slug) => problems.push(Problem {
                    path: path.to_path_buf(),
                    line: *line,
                    message: format!(
                        "`series_slug` `{pin}` differs from `{slug}`, the URL name {} gives \
                         series “{name}”; it is ignored",
                        if configured_slug.is_some() {
                            "config.toml".to_owned()
                        } else {
                            let first = &self.pins[0];
                            format!("{} (line {})", first.2.display(), first.3)
                        }
                    ),
                    error: true,
                }),
            }
        }
        chosen
    }

    /// The group's claim on its URL name, dated by its earliest post.
    fn claim(&self, pinned: bool) -> Claim {
        let (date, path, line) = self
            .spellings
            .iter()
            .map(|(_, date, path, line)| (*date, path.to_path_buf(), *line))
            .min_by(|a, b| a.0.at().cmp(&b.0.at()).then_with(|| a.1.cmp(&b.1)))
            .unwrap_or((PostDate::EPOCH, PathBuf::new(), 1));
        Claim {
            date,
            pinned,
            path,
            line,
        }
    }

    /// The config's former names of the series as URL names other than `slug`, so old links
    /// are redirected.
    fn former_slugs(&self, slug: &str) -> Vec<String> {
        self.configured
            .as_ref()
            .map(|(_, c)| {
                c.aliases
                    .iter()
                    .flat_map(|a| [self::slug(a), a.trim().to_owned()])
                    .filter(|a| is_valid_slug(a) && *a != slug)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Contested URL names: a pinned one beats a made one, then the older series keeps it; the
/// others move to a free name and the author is told.
fn settle_contested_slugs(out: &mut [Series], claims: &[Claim], problems: &mut Vec<Problem>) {
    let mut by_slug: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, one) in out.iter().enumerate() {
        by_slug.entry(one.slug.clone()).or_default().push(i);
    }
    let mut taken: HashSet<String> = by_slug.keys().cloned().collect();
    for (slug, mut holders) in by_slug {
        if holders.len() < 2 {
            continue;
        }
        holders.sort_by(|&a, &b| {
            (!claims[a].pinned, claims[a].date.at(), &out[a].name).cmp(&(
                !claims[b].pinned,
                claims[b].date.at(),
                &out[b].name,
            ))
        });
        let keeper = holders[0];
        for &i in &holders[1..] {
            let fallback = free_slug(&slug, &fold(&out[i].name), &mut taken);
            let Claim { path, line, .. } = &claims[i];
            problems.push(Problem {
                path: path.clone(),
                line: *line,
                message: format!(
                    "series “{}” and series “{}” ({}) both have the URL name `{slug}`; “{}” \
                     is served at /series/{fallback}/ for now: give one of them a name of its \
                     own with `[series.\"{}\"] slug = \"…\"` in config.toml (or `series_slug: \
                     …` in the posts that name it first)",
                    out[i].name,
                    out[keeper].name,
                    claims[keeper].path.display(),
                    out[i].name,
                    out[i].name,
                ),
                error: true,
            });
            out[i].slug = fallback;
        }
    }
}

/// A former name that another series now holds stays that series'.
fn drop_held_aliases(out: &mut [Series]) {
    let live: HashSet<String> = out.iter().map(|s| s.slug.clone()).collect();
    for one in out {
        one.aliases.retain(|a| !live.contains(a));
    }
}

/// The spelling most posts use; on a tie, the earliest written.
fn most_used(spellings: &[(String, PostDate, &Path, usize)]) -> String {
    let mut counts: Vec<(&str, usize, usize)> = Vec::new();
    for (i, (name, ..)) in spellings.iter().enumerate() {
        match counts.iter_mut().find(|(n, ..)| n == name) {
            Some(entry) => entry.1 += 1,
            None => counts.push((name, 1, i)),
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.2.cmp(&a.2)))
        .map(|(name, ..)| name.to_owned())
        .unwrap_or_default()
}

/// A URL name for the series or tag `key` whose own name `slug` another holds: `slug` and a
/// hash of `key` (stable from run to run), and a number if even that is taken.
pub(crate) fn free_slug(slug: &str, key: &str, taken: &mut HashSet<String>) -> String {
    let base = format!("{slug}-{}", stable_hash(key));
    let mut candidate = base.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_labels_say_the_series_and_the_number_once() {
        let pi = "Self-hosting on a Pi";
        // (series, title, part number, label)
        #[rustfmt::skip]
        let cases: &[(&str, &str, u32, &str)] = &[
            (pi, "Self-hosting on a Pi, part 1: Hardware", 1, "Part 1: Hardware"),
            (pi, "Part 1: Hardware", 1, "Part 1: Hardware"),
            (pi, "Self-hosting on a Pi #1 – Hardware", 1, "Part 1: Hardware"),
            (pi, "Hardware", 1, "Part 1: Hardware"),
            (pi, "Part 1", 1, "Part 1"),
            (pi, "Part 7 of 99999999999999999999999: Far", 7, "Part 7: Far"),
            (pi, "Self-hosting on a Pi", 1, "Part 1"),
            (pi, "Self-hosting on a Pi, Part 1", 1, "Part 1"),
            // Any letter case, any spacing of the name, every wording and punctuation.
            (pi, "SELF-HOSTING ON A PI — PART 2 — Disks", 2, "Part 2: Disks"),
            (pi, "self-hosting  on a pi: pt. 3: Power", 3, "Part 3: Power"),
            (pi, "Self-hosting on a Pi | Pt 4 | Network", 4, "Part 4: Network"),
            (pi, "Self-hosting on a Pi / No. 5 / Backups", 5, "Part 5: Backups"),
            (pi, "Self-hosting on a   Pi - #6 - DNS", 6, "Part 6: DNS"),
            (pi, "Self-hosting on a Pi. Part 7. Mail", 7, "Part 7: Mail"),
            (pi, "part 8 of 9: Updates", 8, "Part 8: Updates"),
            (pi, "PT.9 — Wrap-up", 9, "Part 9: Wrap-up"),
            (pi, "#10: Ten", 10, "Part 10: Ten"),
            ("Learning to Sail", "Learning to Sail, Part 2: Knots", 2, "Part 2: Knots"),
            ("Learning to Sail", "Learning to Sail: Knots", 2, "Part 2: Knots"),
            ("Ünïcode Ström", "ÜNÏCODE STRÖM: Teil", 1, "Part 1: Teil"),
            // Only this part's own number is dropped.
            (pi, "Part 12 of the saga", 1, "Part 1: Part 12 of the saga"),
            (pi, "Self-hosting on a Pi, part 2: Disks", 3, "Part 3: part 2: Disks"),
            (pi, "Part 1.5: Between", 1, "Part 1: Part 1.5: Between"),
            (pi, "#1st place", 1, "Part 1: #1st place"),
            // Nothing from the middle of a title, nor a word the name or wording only begins.
            (pi, "Hardware, part 1", 1, "Part 1: Hardware, part 1"),
            (pi, "Why Self-hosting on a Pi: part 1", 1, "Part 1: Why Self-hosting on a Pi: part 1"),
            ("Pi", "Pi-hole setup", 1, "Part 1: Pi-hole setup"),
            ("Pi", "Pie recipes", 1, "Part 1: Pie recipes"),
            (pi, "Partial results", 1, "Part 1: Partial results"),
            (pi, "Notes 1: numbers", 1, "Part 1: Notes 1: numbers"),
            // A title's own punctuation stays when nothing is dropped.
            (pi, "-30 degrees", 1, "Part 1: -30 degrees"),
            (pi, ".NET on a Pi", 1, "Part 1: .NET on a Pi"),
        ];
        // As the English strings put it: "Part {n}", "Part {n}: {title}".
        let part_label = |series: &str, title: &str, number: u32| {
            let rest = part_rest(series, title, number, &format!("Part {number}"));
            if rest.is_empty() {
                format!("Part {number}")
            } else {
                format!("Part {number}: {rest}")
            }
        };
        for &(series, title, number, label) in cases {
            assert_eq!(
                part_label(series, title, number),
                label,
                "{title:?} in {series:?}"
            );
        }
    }

    #[test]
    fn a_title_that_says_its_part_in_the_host_s_language_says_it_once() {
        let rest = |title: &str, said: &str| part_rest("Spulen", title, 2, said);
        assert_eq!(rest("Teil 2: Die Spule", "Teil 2"), "Die Spule");
        assert_eq!(rest("teil 2 – Die Spule", "Teil 2"), "Die Spule");
        assert_eq!(rest("第2回：コイル", "第2回"), "コイル");
        assert_eq!(rest("Часть 2. Катушка", "Часть 2"), "Катушка");
        assert_eq!(rest("Teil 2", "Teil 2"), "");
        // Not this part's number, nor a word that goes on.
        assert_eq!(rest("Teil 20: x", "Teil 2"), "Teil 20: x");
        assert_eq!(rest("Die Spule", "Teil 2"), "Die Spule");
    }

    fn member(name: &str, part: Option<u32>, day: &str, role: SeriesRole) -> Member {
        Member {
            path: PathBuf::from(format!("posts/{name}.md")),
            title: name.to_owned(),
            date: PostDate::parse(day, &jiff::tz::TimeZone::UTC).unwrap(),
            part,
            weight: None,
            role: Some(role),
            number: 0,
            part_line: 3,
        }
    }

    #[test]
    fn weights_order_the_parts_without_numbers() {
        let weighed = |name, weight, day| Member {
            weight,
            role: None,
            ..member(name, None, day, SeriesRole::Part)
        };
        let ordered = order(
            vec![
                weighed("unweighted", None, "2024-01-01"),
                weighed("third", Some(10), "2024-01-02"),
                weighed("first", Some(-5), "2024-03-01"),
                weighed("second", Some(0), "2024-02-01"),
            ],
            Vec::new(),
        );
        let names: Vec<&str> = ordered.parts.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(names, ["first", "second", "third", "unweighted"]);
        let numbers: Vec<u32> = ordered.parts.iter().map(|m| m.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        // A part number wins over a weight.
        let ordered = order(
            vec![
                Member {
                    part: Some(2),
                    ..weighed("two", Some(-9), "2024-01-01")
                },
                Member {
                    part: Some(1),
                    ..weighed("one", Some(9), "2024-01-02")
                },
            ],
            Vec::new(),
        );
        assert_eq!(ordered.parts[0].title, "one");
    }

    #[test]
    fn parts_follow_their_numbers_not_their_dates() {
        let ordered = order(
            vec![
                member("wind", Some(3), "2024-03-29", SeriesRole::Part),
                member("home", Some(5), "2024-04-01", SeriesRole::Part),
                member("first", Some(1), "2024-03-04", SeriesRole::Part),
                member("tacking", Some(4), "2024-03-25", SeriesRole::Part),
                member("knots", Some(2), "2024-03-11", SeriesRole::Part),
                member("unnumbered-late", None, "2024-05-01", SeriesRole::Part),
                member("unnumbered-early", None, "2024-01-01", SeriesRole::Part),
                member("further", None, "2024-04-05", SeriesRole::SeeAlso),
                member("glossary", None, "2024-04-03", SeriesRole::Supplement),
                member("rigging", None, "2024-04-02", SeriesRole::Supplement),
            ],
            Vec::new(),
        );
        let names = |v: &[Member]| v.iter().map(|m| m.title.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&ordered.parts),
            [
                "first",
                "knots",
                "wind",
                "tacking",
                "home",
                "unnumbered-early",
                "unnumbered-late"
            ]
        );
        assert_eq!(names(&ordered.supplements), ["rigging", "glossary"]);
        assert_eq!(names(&ordered.see_also), ["further"]);
        assert!(ordered.warnings.is_empty());
    }

    #[test]
    fn ties_go_to_date_then_title_then_path_and_duplicates_are_reported() {
        let ordered = order(
            vec![
                member("b", Some(2), "2024-01-02", SeriesRole::Part),
                member("a", Some(2), "2024-01-02", SeriesRole::Part),
                member("c", Some(2), "2024-01-01", SeriesRole::Part),
            ],
            Vec::new(),
        );
        let names: Vec<_> = ordered.parts.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        // Two duplicates, and no part 1.
        assert_eq!(ordered.warnings.len(), 3);
        assert!(
            ordered.warnings[0].message.contains("no part 1"),
            "{:?}",
            ordered.warnings
        );
        let first = &ordered.warnings[1];
        assert!(
            first.message.contains("part 2 is used by both"),
            "{first:?}"
        );
        // Named at the second post's `part` line.
        assert_eq!((first.path.to_str(), first.line), (Some("posts/a.md"), 3));
    }

    #[test]
    fn a_part_dated_ahead_is_scheduled_not_missing_and_never_counted() {
        let ordered = order(
            vec![
                member("one", Some(1), "2026-01-01", SeriesRole::Part),
                member("two", Some(2), "2026-01-08", SeriesRole::Part),
                member("four", Some(4), "2026-01-22", SeriesRole::Part),
            ],
            vec![
                member("three", Some(3), "2027-01-03", SeriesRole::Part),
                member("extra", None, "2027-02-01", SeriesRole::Supplement),
            ],
        );
        assert_eq!(ordered.parts.len(), 3);
        assert_eq!((ordered.total, ordered.count()), (4, 4));
        let names: Vec<_> = ordered.scheduled.iter().map(|m| m.number).collect();
        assert_eq!(names, [3]);
        assert!(ordered.warnings.is_empty(), "{:?}", ordered.warnings);
        // Dated ahead at the end: the count is what readers can read.
        let ordered = order(
            vec![member("one", Some(1), "2026-01-01", SeriesRole::Part)],
            vec![member("two", Some(2), "2027-01-08", SeriesRole::Part)],
        );
        assert_eq!(ordered.count(), 1);
        // Numbers neither published nor scheduled are still missing, named as a sentence would.
        let ordered = order(
            vec![
                member("two", Some(2), "2026-01-01", SeriesRole::Part),
                member("seven", Some(7), "2026-01-02", SeriesRole::Part),
            ],
            vec![
                member("one", Some(1), "2027-01-01", SeriesRole::Part),
                member("four", Some(4), "2027-01-01", SeriesRole::Part),
            ],
        );
        let messages: Vec<_> = ordered.warnings.iter().map(|w| &w.message).collect();
        assert_eq!(
            messages[0],
            "parts 3, 5 and 6 are missing: the parts go from 2 to 7"
        );
        assert!(
            !messages.iter().any(|m| m.contains("no part")),
            "{messages:?}"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Learning to Sail"), "learning-to-sail");
        assert_eq!(slug("  C++ / Rust: notes!  "), "c-plus-plus-rust-notes");
        assert_eq!(slug("Ölfarben & Öl"), "ölfarben-and-öl");
        assert_eq!(slug("東京 日記"), "東京-日記");
        assert_eq!(slug("🚀🚀"), "🚀🚀");
        assert_eq!(slug("!!"), "untitled");
        assert_eq!(slug("C++ Tips"), "c-plus-plus-tips");
        assert_eq!(slug("C# Tips"), "c-sharp-tips");
        assert_eq!(slug("C Tips"), "c-tips");
        assert_eq!(slug("Rust: notes!"), slug("Rust Notes"));
        // NFD and NFC spellings make one slug, marks included.
        assert_eq!(slug("Cafe\u{301} notes"), slug("Café Notes"));
        assert_eq!(slug("Café Notes"), "café-notes");
        assert_eq!(slug("../etc/passwd"), "etc-passwd");
    }
}
