//! The operator's path rules (`[[path]]`) as requests meet them: for a path, the one rule
//! that decides its answer (a redirect, gone, a program) or what the rules covering it
//! override (a listing, a MIME type, a language, a charset).

use crate::config::{Lang, PathAction, PathRule};
use crate::content::Site;
use crate::convert::url::encode_path;

/// A host's rules, the most specific first, and whether any closes a path (a redirect, gone,
/// a program's folder).
#[derive(Debug, Default, Clone)]
pub struct Rules(Vec<PathRule>, bool);

/// What the rules say of one path.
#[derive(Debug, PartialEq, Eq)]
pub enum Ruled<'a> {
    /// `30`/`31` to this target.
    Redirect { to: String, permanent: bool },
    /// `52`.
    Gone,
    /// A program may answer: the folder the `cgi` rule names (decoded segments).
    Cgi { folder: &'a [String] },
    /// Served from the capsule, with what the rules override.
    Serve(Overrides<'a>),
}

/// What the rules covering a served path override.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct Overrides<'a> {
    pub list: bool,
    pub mime: Option<&'a str>,
    pub lang: Option<&'a Lang>,
    pub charset: Option<&'a str>,
}

impl Rules {
    pub fn new(rules: &[PathRule]) -> Rules {
        let mut rules = rules.to_vec();
        rules.sort_by_key(|r| std::cmp::Reverse(r.matches.specificity()));
        let closes = rules
            .iter()
            .any(|r| !matches!(r.action, PathAction::Serve { .. }));
        Rules(rules, closes)
    }

    /// Whether any rule closes a path (a redirect, gone, a program's folder).
    pub fn close_any(&self) -> bool {
        self.1
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every rule, the most specific first.
    pub fn all(&self) -> &[PathRule] {
        &self.0
    }

    /// What the rules say of a request path (decoded segments): the most specific rule
    /// covering it decides; under a served path, each override comes from the most specific
    /// rule that sets it (rules that decide whole answers further up do not apply).
    pub fn at(&self, segments: &[String], ends_with_slash: bool) -> Ruled<'_> {
        let mut overrides = Overrides::default();
        let mut served = false;
        for rule in self
            .0
            .iter()
            .filter(|r| r.matches.covers(segments, ends_with_slash))
        {
            match &rule.action {
                PathAction::Serve {
                    list,
                    mime,
                    lang,
                    charset,
                } => {
                    served = true;
                    overrides.list |= *list;
                    overrides.mime = overrides.mime.or(mime.as_deref());
                    overrides.lang = overrides.lang.or(lang.as_ref());
                    overrides.charset = overrides.charset.or(charset.as_deref());
                }
                // A folder served beneath a redirect, gone or program folder.
                _ if served => {}
                PathAction::Redirect { to, permanent } => {
                    return Ruled::Redirect {
                        to: carried(rule, to, segments, ends_with_slash),
                        permanent: *permanent,
                    };
                }
                PathAction::Gone => return Ruled::Gone,
                PathAction::Cgi => {
                    return Ruled::Cgi {
                        folder: rule.matches.segments(),
                    };
                }
            }
        }
        Ruled::Serve(overrides)
    }

    /// The rules that serve something (a listing, a type, a language, a charset, programs)
    /// but cover nothing the capsule serves: a mistyped `match`, most likely. A redirect or
    /// gone rule is meant to stand where nothing is.
    pub fn unmatched<'a>(&'a self, site: &'a Site) -> impl Iterator<Item = &'a PathRule> + 'a {
        self.0.iter().filter(move |rule| {
            if matches!(rule.action, PathAction::Redirect { .. } | PathAction::Gone) {
                return false;
            }
            let segments = rule.matches.segments();
            if segments.is_empty() {
                return false;
            }
            let decoded: String = segments.iter().map(|s| format!("/{s}")).collect();
            let url: String = segments
                .iter()
                .map(|s| format!("/{}", encode_path(s)))
                .collect();
            let found = site.serves(&decoded)
                || site.generated(segments).is_some()
                || site.text_path(segments, rule.matches.is_folder()).is_some()
                || if rule.matches.is_folder() {
                    site.all_posts()
                        .any(|p| p.url.starts_with(&format!("{url}/")))
                } else {
                    site.post_by_url(&url).is_some()
                };
            !found
        })
    }

    /// The language the rules give a path's gemtext, if any.
    pub fn lang_at(&self, segments: &[String], ends_with_slash: bool) -> Option<&Lang> {
        match self.at(segments, ends_with_slash) {
            Ruled::Serve(o) => o.lang,
            _ => None,
        }
    }
}

/// A redirect's target for a path: a folder rule whose target ends in `/` carries the rest of
/// the path over to it.
fn carried(rule: &PathRule, to: &str, segments: &[String], ends_with_slash: bool) -> String {
    let below = segments.get(rule.matches.segments().len()..).unwrap_or(&[]);
    if !rule.matches.is_folder() || !to.ends_with('/') || below.is_empty() {
        return to.to_owned();
    }
    let rest: Vec<String> = below.iter().map(|s| encode_path(s)).collect();
    let slash = if ends_with_slash { "/" } else { "" };
    let carried = format!("{to}{}{slash}", rest.join("/"));
    // A status line's meta is at most 1024 bytes: past it, the folder itself.
    if carried.len() > 1024 {
        return to.to_owned();
    }
    carried
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Rules {
        let config = crate::config::Config::parse(text, std::path::Path::new("t.toml")).unwrap();
        Rules::new(&config.hosts[0].paths)
    }

    fn segs(path: &str) -> Vec<String> {
        crate::convert::url::path_segments(path)
    }

    #[test]
    fn the_most_specific_rule_decides_and_overrides_combine_beneath_it() {
        let r = rules(
            "[[path]]\nmatch = \"/old/\"\nredirect = \"/new/\"\npermanent = true\n\
             [[path]]\nmatch = \"/old/keep/\"\nlist = true\n\
             [[path]]\nmatch = \"/old/one.gmi\"\nredirect = \"gemini://elsewhere.example/\"\n\
             [[path]]\nmatch = \"/\"\nlang = \"fr\"\n\
             [[path]]\nmatch = \"/docs/\"\nmime = \"text/plain\"\n\
             [[path]]\nmatch = \"/gone/\"\ngone = true\n",
        );
        assert_eq!(
            r.at(&segs("/old/a b/c.gmi"), false),
            Ruled::Redirect {
                to: "/new/a%20b/c.gmi".into(),
                permanent: true
            }
        );
        assert_eq!(
            r.at(&segs("/old/"), true),
            Ruled::Redirect {
                to: "/new/".into(),
                permanent: true
            }
        );
        assert!(matches!(
            r.at(&segs("/old/one.gmi"), false),
            Ruled::Redirect { to, permanent: false } if to == "gemini://elsewhere.example/"
        ));
        let Ruled::Serve(kept) = r.at(&segs("/old/keep/x"), false) else {
            panic!("a served folder beneath a redirect")
        };
        assert!(kept.list);
        assert_eq!(kept.lang.map(Lang::as_str), Some("fr"));
        let Ruled::Serve(docs) = r.at(&segs("/docs/a.txt"), false) else {
            panic!()
        };
        assert_eq!((docs.mime, docs.list), (Some("text/plain"), false));
        assert_eq!(r.at(&segs("/gone/x/y"), false), Ruled::Gone);
        // A status line's meta stays within 1024 bytes: past it, the folder itself.
        let long = format!("/old/{}", "é".repeat(300));
        assert_eq!(
            r.at(&segs(&long), false),
            Ruled::Redirect {
                to: "/new/".into(),
                permanent: true
            }
        );
        assert_eq!(r.at(&segs("/gone"), false), Ruled::Gone);
        assert!(matches!(r.at(&segs("/elsewhere"), false), Ruled::Serve(_)));
    }
}
