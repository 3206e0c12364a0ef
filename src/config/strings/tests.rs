use super::*;

#[test]
fn every_language_gives_every_string_in_the_same_shape() {
    for (code, table) in built_in() {
        for (id, english) in reference() {
            let entry = table
                .get(id)
                .unwrap_or_else(|| panic!("{code}.toml has no `{id}`"));
            check_override(id, entry).unwrap_or_else(|e| panic!("{code}.toml: {e}"));
            assert_eq!(
                std::mem::discriminant(entry),
                std::mem::discriminant(english),
                "{code}.toml: `{id}`"
            );
        }
        for id in table.keys() {
            assert!(
                reference().contains_key(id),
                "{code}.toml: `{id}` is not an id"
            );
        }
    }
}

#[test]
fn every_language_has_the_forms_its_numbers_take() {
    for (code, table) in built_in() {
        for (id, entry) in table {
            let Entry::Plural(forms) = entry else {
                continue;
            };
            for n in 0..=1_000_000u64 {
                if n > 200 && n != 1_000_000 {
                    continue;
                }
                let category = plural::category(code, n);
                assert!(
                    forms.contains_key(&category),
                    "{code}.toml: `{id}` has no `{category:?}` form, which {n} takes"
                );
            }
        }
    }
}

#[test]
fn plural_categories_follow_cldr() {
    use Category::*;
    // (language, number, category), from the CLDR plural rules charts.
    let cases = [
        ("en", 0, Other),
        ("en", 1, One),
        ("en", 2, Other),
        ("de", 1, One),
        ("de", 21, Other),
        ("nl", 1, One),
        ("fr", 0, One),
        ("fr", 1, One),
        ("fr", 2, Other),
        ("fr", 1_000_000, Many),
        ("pt", 0, One),
        ("pt", 2, Other),
        ("es", 0, Other),
        ("es", 1, One),
        ("es", 2_000_000, Many),
        ("it", 1, One),
        ("it", 11, Other),
        ("pl", 1, One),
        ("pl", 2, Few),
        ("pl", 4, Few),
        ("pl", 5, Many),
        ("pl", 12, Many),
        ("pl", 22, Few),
        ("pl", 0, Many),
        ("pl", 21, Many),
        ("ru", 1, One),
        ("ru", 11, Many),
        ("ru", 21, One),
        ("ru", 3, Few),
        ("ru", 13, Many),
        ("ru", 24, Few),
        ("ru", 5, Many),
        ("ru", 0, Many),
        ("ja", 1, Other),
        ("zh", 2, Other),
    ];
    for (language, n, expected) in cases {
        assert_eq!(plural::category(language, n), expected, "{language} {n}");
    }
}

#[test]
fn counts_take_their_form_and_fill_their_places() {
    let en = Strings::for_language("");
    assert_eq!(en.count("parts_count", 1, &[]), "One part");
    assert_eq!(en.count("parts_count", 3, &[]), "3 parts");
    assert_eq!(
        en.count("series_count", 1, &[("series", "Pi")]),
        "Pi (1 part)"
    );
    assert_eq!(en.date("2026-12-07"), "2026-12-07");
    assert_eq!(en.date("not a date"), "not a date");
    // An unknown language, or none: English.
    assert_eq!(Strings::for_language("tlh").language(), "en");
    assert_eq!(built_in_language("EN-gb"), Some("en"));
    assert_eq!(built_in_language("de,en"), Some("de"));
    assert_eq!(built_in_language("zh-Hans-CN"), Some("zh"));
}

#[test]
fn fill_replaces_only_the_names_given() {
    assert_eq!(
        fill("{a} and {b} {c", &[("a", "x"), ("b", "{a}")]),
        "x and {a} {c"
    );
    assert_eq!(fill("{}{", &[]), "{}{");
}

#[test]
fn overrides_are_checked_against_english() {
    let text = |t: &str| Entry::Text(t.to_owned());
    assert!(check_override("recent_posts", &text("Latest")).is_ok());
    let typo = check_override("recnt_posts", &text("Latest")).unwrap_err();
    assert!(typo.contains("did you mean `recent_posts`"), "{typo}");
    let bad = check_override("part_of", &text("Part {n} of {total}")).unwrap_err();
    assert!(
        bad.contains("`{total}`") && bad.contains("`{count}`"),
        "{bad}"
    );
    let forms: BTreeMap<Category, String> = [(Category::One, "one".to_owned())].into();
    assert!(
        check_override("parts_count", &Entry::Plural(forms))
            .unwrap_err()
            .contains("`other`")
    );
    // A plural id may take one text for every number.
    assert!(check_override("parts_count", &text("{n} parts")).is_ok());
    assert!(check_override("months", &text("x")).is_err());
    assert!(check_override("moved", &text("Moved {n}")).is_err());
    // Strings become status lines too: one line, short enough for one.
    assert!(check_override("not_found", &text("Gone\r\n20 text/gemini")).is_err());
    assert!(check_override("not_found", &text(&"x".repeat(600))).is_err());
}

#[test]
fn counts_read_as_each_language_counts() {
    // (language, n, parts_count as the language says it)
    let cases = [
        ("ru", 1, "1 часть"),
        ("ru", 2, "2 части"),
        ("ru", 5, "5 частей"),
        ("ru", 21, "21 часть"),
        ("ru", 12, "12 частей"),
        ("pl", 2, "2 części"),
        ("pl", 5, "5 części"),
        ("fr", 0, "0 partie"),
        ("fr", 2, "2 parties"),
        ("de", 1, "Ein Teil"),
        ("de", 3, "3 Teile"),
        ("ja", 3, "全3回"),
    ];
    for (language, n, said) in cases {
        assert_eq!(
            Strings::for_language(language).count("parts_count", n, &[]),
            said,
            "{language} {n}"
        );
    }
    assert_eq!(
        Strings::for_language("de").date("2026-12-07"),
        "7. Dezember 2026"
    );
    assert_eq!(
        Strings::for_language("ja").date("2026-12-07"),
        "2026年12月7日"
    );
    assert_eq!(
        Strings::for_language("fr").date("2026-09-13"),
        "13 septembre 2026"
    );
}
