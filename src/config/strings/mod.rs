//! The words of generated pages, in the host's language: a built-in table per language (one
//! TOML file each, beside this one), the operator's `[strings]` on top, plural forms by the
//! CLDR rules of each language, and dates in the language's own order.
//!
//! English is the reference: its file lists every id, and every other language must give each
//! one (a test holds them to it). An `[strings]` table may set only those ids, use only the
//! placeholders English uses for that id, and give plural forms only where English does.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

mod plural;

pub use plural::Category;

/// The languages with built-in strings: their primary subtag and their file.
const BUILT_IN: &[(&str, &str)] = &[
    ("en", include_str!("en.toml")),
    ("de", include_str!("de.toml")),
    ("fr", include_str!("fr.toml")),
    ("es", include_str!("es.toml")),
    ("it", include_str!("it.toml")),
    ("pt", include_str!("pt.toml")),
    ("nl", include_str!("nl.toml")),
    ("pl", include_str!("pl.toml")),
    ("ru", include_str!("ru.toml")),
    ("ja", include_str!("ja.toml")),
    ("zh", include_str!("zh.toml")),
];

/// The languages with built-in strings, by primary subtag.
pub fn languages() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(code, _)| *code)
}

/// One string as written: a text, or a form per plural category.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Text(String),
    Plural(BTreeMap<Category, String>),
    /// `months`: twelve names.
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// Reads an [`Entry`] and says, in an operator's words, what else it may be.
struct EntryVisitor;

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
            "a text in quotes, a table of plural forms (`{ one = \"…\", other = \"…\" }`), or \
             for `months` a list of twelve names",
        )
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Entry, E> {
        Ok(Entry::Text(text.to_owned()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(Entry::List(names))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut forms = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let category = Category::named(&key).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown plural form `{key}`: the forms are zero, one, two, few, many and \
                     other"
                ))
            })?;
            forms.insert(category, map.next_value::<String>()?);
        }
        Ok(Entry::Plural(forms))
    }
}

/// The strings of one host: its language's, with the operator's overrides in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Strings {
    /// The primary subtag whose built-in strings and plural rules these are.
    language: &'static str,
    entries: BTreeMap<String, Entry>,
}

/// Every built-in table, parsed once.
fn built_in() -> &'static BTreeMap<&'static str, BTreeMap<String, Entry>> {
    static TABLES: OnceLock<BTreeMap<&'static str, BTreeMap<String, Entry>>> = OnceLock::new();
    TABLES.get_or_init(|| {
        BUILT_IN
            .iter()
            .map(|(code, text)| {
                let table: BTreeMap<String, Entry> = toml::from_str(text)
                    .unwrap_or_else(|e| panic!("built-in strings {code}.toml: {e}"));
                (*code, table)
            })
            .collect()
    })
}

/// The English table: every id there is.
fn reference() -> &'static BTreeMap<String, Entry> {
    &built_in()["en"]
}

impl Default for Strings {
    fn default() -> Self {
        Strings::for_language("")
    }
}

impl Strings {
    /// The built-in strings for a language tag (`fr`, `pt-BR`, `zh-Hans`, or a list `de,en`
    /// whose first is used); English for none, or for a language without built-in strings.
    pub fn for_language(tag: &str) -> Strings {
        let language = built_in_language(tag).unwrap_or("en");
        Strings {
            language,
            entries: built_in()[language].clone(),
        }
    }

    /// This language's strings with `overrides` (checked by [`check_override`]) in place.
    pub fn with_overrides(mut self, overrides: &Overrides) -> Strings {
        for (id, entry) in &overrides.0 {
            self.entries.insert(id.clone(), entry.clone());
        }
        self
    }

    /// Whether `id` names a string.
    pub fn has(&self, id: &str) -> bool {
        reference().contains_key(id)
    }

    /// The primary subtag of the language these strings are in.
    pub fn language(&self) -> &'static str {
        self.language
    }

    /// The text of `id`, its placeholders as written (the `other` form of a plural).
    pub fn text<'a>(&'a self, id: &'a str) -> &'a str {
        match self.entries.get(id).or_else(|| reference().get(id)) {
            Some(Entry::Text(text)) => text,
            Some(Entry::Plural(forms)) => forms.get(&Category::Other).map_or(id, String::as_str),
            Some(Entry::List(_)) | None => id,
        }
    }

    /// `id` with each `{name}` of `args` replaced.
    pub fn format(&self, id: &str, args: &[(&str, &str)]) -> String {
        fill(self.text(id), args)
    }

    /// `id` in the plural form `n` takes in this language, `{n}` and `args` replaced.
    pub fn count(&self, id: &str, n: u64, args: &[(&str, &str)]) -> String {
        let template = match self.entries.get(id).or_else(|| reference().get(id)) {
            Some(Entry::Plural(forms)) => {
                let category = plural::category(self.language, n);
                forms
                    .get(&category)
                    .or_else(|| forms.get(&Category::Other))
                    .map_or(id, String::as_str)
            }
            _ => self.text(id),
        };
        let n = n.to_string();
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(("n", n.as_str()));
        all.extend_from_slice(args);
        fill(template, &all)
    }

    /// A date (`YYYY-MM-DD`, as posts keep it) as sentences show it in this language; anything
    /// else as it is.
    pub fn date(&self, iso: &str) -> String {
        let Some((year, month, day)) = split_date(iso) else {
            return iso.to_owned();
        };
        let month_name = match self
            .entries
            .get("months")
            .or_else(|| reference().get("months"))
        {
            Some(Entry::List(names)) => names
                .get(month.parse::<usize>().unwrap_or(1).saturating_sub(1))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        let day_number = day.trim_start_matches('0').to_owned();
        fill(
            self.text("date"),
            &[
                ("year", year),
                ("month", month),
                ("day", day),
                ("month_name", &month_name),
                ("day_number", &day_number),
            ],
        )
    }
}

/// The longest text a string may have, in bytes: a status line's meta must fit in 1024.
const MAX_TEXT_BYTES: usize = 512;

/// What a `date` format may use.
const DATE_PLACES: [&str; 5] = ["year", "month", "day", "month_name", "day_number"];

/// The built-in language a tag asks for, if any: the first tag of a list, by its primary
/// subtag, any case.
pub fn built_in_language(tag: &str) -> Option<&'static str> {
    let first = tag.split(',').next().unwrap_or("").trim();
    let primary = first.split(['-', '_']).next().unwrap_or("");
    BUILT_IN
        .iter()
        .map(|(code, _)| *code)
        .find(|code| code.eq_ignore_ascii_case(primary))
}

fn split_date(iso: &str) -> Option<(&str, &str, &str)> {
    let bytes = iso.as_bytes();
    let ok = iso.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && iso
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    ok.then(|| (&iso[..4], &iso[5..7], &iso[8..]))
}

/// `template` with each `{name}` of `args` replaced by its value; other braces as written.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, args.iter().find(|(k, _)| *k == &after[..close])?)))
        {
            Some((close, (_, value))) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholders (`{name}`) a text uses.
fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if !after[..close].is_empty()
                    && after[..close]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                names.push(&after[..close]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

/// An `[strings]` table: ids and the texts that replace them, each checked against English.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides(BTreeMap<String, Entry>);

impl<'de> Deserialize<'de> for Overrides {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OverridesVisitor)
    }
}

/// Reads `[strings]`, checking each entry while its value is read, so an error points at it.
struct OverridesVisitor;

impl<'de> serde::de::Visitor<'de> for OverridesVisitor {
    type Value = Overrides;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a table of string ids and their texts")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Overrides, A::Error> {
        let mut table = BTreeMap::new();
        while let Some(id) = map.next_key::<String>()? {
            let entry = map.next_value_seed(Checked(&id))?;
            table.insert(id, entry);
        }
        Ok(Overrides(table))
    }
}

/// An entry read for one id, and checked against English before the value is left.
struct Checked<'a>(&'a str);

impl<'de> serde::de::DeserializeSeed<'de> for Checked<'_> {
    type Value = Entry;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Entry, D::Error> {
        let entry = Entry::deserialize(deserializer)?;
        check_override(self.0, &entry).map_err(serde::de::Error::custom)?;
        Ok(entry)
    }
}

/// Why an `[strings]` entry cannot be used: an unknown id (with the nearest known one), a
/// placeholder English does not give that id, plural forms where there is one text (or the
/// other way round), or `months` that are not twelve names.
pub fn check_override(id: &str, entry: &Entry) -> Result<(), String> {
    let Some(english) = reference().get(id) else {
        let near = reference()
            .keys()
            .map(|k| (strsim::osa_distance(id, k), k))
            .filter(|(d, _)| *d <= 3)
            .min();
        return Err(match near {
            Some((_, k)) => format!("unknown string id `{id}`: did you mean `{k}`?"),
            None => format!(
                "unknown string id `{id}` (the ids are listed in docs/configuration.md, \
                 under [strings], and in gemhole.toml(5))"
            ),
        });
    };
    let allowed: Vec<&str> = match english {
        Entry::Text(_) if id == "date" => DATE_PLACES.to_vec(),
        Entry::Text(t) => placeholders(t),
        Entry::Plural(forms) => {
            let mut all: Vec<&str> = forms.values().flat_map(|t| placeholders(t)).collect();
            all.push("n");
            all
        }
        Entry::List(_) => Vec::new(),
    };
    let texts: Vec<&String> = match (english, entry) {
        (Entry::Text(_), Entry::Text(t)) => vec![t],
        (Entry::Plural(_), Entry::Plural(forms)) => {
            if !forms.contains_key(&Category::Other) {
                return Err(format!(
                    "string `{id}` needs an `other` form (the form any number may take)"
                ));
            }
            forms.values().collect()
        }
        (Entry::Plural(_), Entry::Text(t)) => vec![t],
        (Entry::List(_), Entry::List(names)) if names.len() == 12 => names.iter().collect(),
        (Entry::List(_), _) => {
            return Err(format!("`{id}` is a list of the twelve months' names"));
        }
        (Entry::Text(_), Entry::Plural(_)) => {
            return Err(format!(
                "string `{id}` is one text, not a table of plural forms: `{id} = \"…\"`"
            ));
        }
        (_, _) => {
            return Err(format!("string `{id}` is a text in quotes: `{id} = \"…\"`"));
        }
    };
    for text in texts {
        // Some become a Gemini status line's meta (at most 1024 bytes, one line).
        if text.chars().any(char::is_control) {
            return Err(format!(
                "string `{id}` is one line: no line breaks, tabs or other control characters"
            ));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "string `{id}` is {} bytes long: a string may have at most {MAX_TEXT_BYTES}",
                text.len()
            ));
        }
        let marks = placeholders(text).len();
        if text.matches('{').count() != marks || text.matches('}').count() != marks {
            return Err(format!(
                "string `{id}` has a brace that is not a placeholder: braces only mark \
                 placeholders such as `{{n}}`"
            ));
        }
        if let Some(bad) = placeholders(text)
            .into_iter()
            .find(|p| !allowed.contains(p))
        {
            let mut known: Vec<&str> = allowed.clone();
            known.sort_unstable();
            known.dedup();
            return Err(if known.is_empty() {
                format!("string `{id}` takes no placeholder, but has `{{{bad}}}`")
            } else {
                format!(
                    "string `{id}` has `{{{bad}}}`, which it is never given: it may use {}",
                    known
                        .iter()
                        .map(|k| format!("`{{{k}}}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
