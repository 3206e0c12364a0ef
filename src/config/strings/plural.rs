//! CLDR plural categories for whole numbers, by language: which form of a counted string a
//! number takes ("1 part", "2 parts"; Polish "2 części", "5 części"; Russian "21 часть").
//! Only whole numbers are counted here, so the rules' operands reduce to `i` (the number),
//! with `v` (visible fraction digits) always 0.

/// A CLDR plural category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Zero,
    One,
    Two,
    Few,
    Many,
    Other,
}

impl Category {
    /// The category a key of a plural table names.
    pub fn named(name: &str) -> Option<Category> {
        Some(match name {
            "zero" => Category::Zero,
            "one" => Category::One,
            "two" => Category::Two,
            "few" => Category::Few,
            "many" => Category::Many,
            "other" => Category::Other,
            _ => return None,
        })
    }
}

/// The category `n` falls in for a language (a primary subtag of the built-in ones).
pub fn category(language: &str, n: u64) -> Category {
    let (m10, m100) = (n % 10, n % 100);
    // "Many" in French, Spanish, Italian and Portuguese: whole millions (CLDR 42 and later).
    let million = n != 0 && n.is_multiple_of(1_000_000);
    match language {
        "ja" | "zh" => Category::Other,
        "fr" | "pt" => match n {
            0 | 1 => Category::One,
            _ if million => Category::Many,
            _ => Category::Other,
        },
        "es" | "it" => match n {
            1 => Category::One,
            _ if million => Category::Many,
            _ => Category::Other,
        },
        "pl" => match n {
            1 => Category::One,
            _ if (2..=4).contains(&m10) && !(12..=14).contains(&m100) => Category::Few,
            _ => Category::Many,
        },
        "ru" => match () {
            _ if m10 == 1 && m100 != 11 => Category::One,
            _ if (2..=4).contains(&m10) && !(12..=14).contains(&m100) => Category::Few,
            _ => Category::Many,
        },
        // English, German, Dutch and any other: one and other.
        _ => match n {
            1 => Category::One,
            _ => Category::Other,
        },
    }
}
