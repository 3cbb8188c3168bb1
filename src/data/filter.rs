//! The content filter applied to the real queries before anything reaches a
//! page or a training file (DESIGN §2). Real search logs carry adult queries
//! and queries that look like personal data; both are removed and counted.
//!
//! The rule, in full:
//! - **adult**: a query with a word whose Snowball (English) stem is the stem
//!   of a word in [`ADULT_WORDS`] (`masturbating` matches `masturbation`);
//! - **personal data**: a query with an e-mail-like token (`x@y`), a run of 7
//!   or more digits once separators `-`, `.`, `(`, `)` and spaces are taken
//!   out (phone, social-security and account numbers), a word in
//!   [`PERSONAL_WORDS`] (`ssn`, `dob`, ...), or a house number followed by a
//!   street word (`1234 elm street`).
//!
//! The list errs on the side of removal; a removed query is only counted, never shown.

/// Adult or sexual terms. A query containing one of these words is removed.
pub const ADULT_WORDS: &[&str] = &[
    "sex",
    "sexy",
    "porn",
    "porno",
    "pornography",
    "xxx",
    "nude",
    "nudes",
    "naked",
    "nudity",
    "fuck",
    "fucking",
    "pussy",
    "cock",
    "tits",
    "boobs",
    "boob",
    "nipple",
    "anal",
    "blowjob",
    "handjob",
    "milf",
    "hentai",
    "erotic",
    "erotica",
    "escort",
    "escorts",
    "stripper",
    "strippers",
    "playboy",
    "penthouse",
    "hustler",
    "orgasm",
    "orgy",
    "fetish",
    "bdsm",
    "bondage",
    "incest",
    "rape",
    "shemale",
    "tranny",
    "hooker",
    "hookers",
    "prostitute",
    "prostitutes",
    "whore",
    "slut",
    "sluts",
    "bitch",
    "masturbation",
    "masturbate",
    "viagra",
    "cialis",
    "penis",
    "vagina",
    "clitoris",
    "genital",
    "genitals",
    "lingerie",
    "thong",
    "bikini",
    "upskirt",
    "voyeur",
    "camgirl",
    "adult",
    "swinger",
    "swingers",
    "horny",
    "hardcore",
    "softcore",
    "bukkake",
    "gangbang",
    "threesome",
    "spank",
    "spanking",
    "pedo",
    "lolita",
    "nsfw",
    "stripclub",
    "dildo",
    "vibrator",
];

/// Words that ask for personal records.
pub const PERSONAL_WORDS: &[&str] = &[
    "ssn",
    "dob",
    "passport",
    "password",
    "passwords",
    "pin",
    "license plate",
];

const STREET_WORDS: &[&str] = &[
    "street",
    "st",
    "avenue",
    "ave",
    "road",
    "rd",
    "drive",
    "dr",
    "lane",
    "ln",
    "boulevard",
    "blvd",
    "court",
    "ct",
    "circle",
    "way",
    "place",
    "pl",
    "terrace",
];

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static S: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    S.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
}

fn adult_stems() -> &'static std::collections::HashSet<String> {
    static S: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        ADULT_WORDS
            .iter()
            .map(|w| stemmer().stem(w).into_owned())
            .collect()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Removal {
    Adult,
    PersonalData,
}

/// Why a (lower-cased, normalised) query must be removed, or `None` to keep it.
pub fn removal_reason(query: &str) -> Option<Removal> {
    let words: Vec<&str> = query
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.')
        .filter(|w| !w.is_empty())
        .collect();
    let plain = |w: &str| w.trim_matches('.').to_string();
    let stems = adult_stems();
    for w in &words {
        if stems.contains(stemmer().stem(&plain(w)).as_ref()) {
            return Some(Removal::Adult);
        }
    }
    if words.iter().any(|w| {
        let mut parts = w.splitn(2, '@');
        matches!((parts.next(), parts.next()), (Some(a), Some(b)) if !a.is_empty() && !b.is_empty())
    }) {
        return Some(Removal::PersonalData);
    }
    let mut run = 0usize;
    for c in query.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 7 {
                return Some(Removal::PersonalData);
            }
        } else if !matches!(c, '-' | '.' | '(' | ')' | ' ') {
            run = 0;
        }
    }
    let joined = format!(
        " {} ",
        words.iter().map(|w| plain(w)).collect::<Vec<_>>().join(" ")
    );
    if PERSONAL_WORDS
        .iter()
        .any(|p| joined.contains(&format!(" {p} ")))
    {
        return Some(Removal::PersonalData);
    }
    for pair in words.windows(3) {
        let number = pair[0].len() >= 2 && pair[0].chars().all(|c| c.is_ascii_digit());
        if number && STREET_WORDS.contains(&plain(pair[2]).as_str()) {
            return Some(Removal::PersonalData);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_adult_and_personal_queries() {
        assert_eq!(removal_reason("free porn videos"), Some(Removal::Adult));
        assert_eq!(removal_reason("hot escorts"), Some(Removal::Adult));
        assert_eq!(
            removal_reason("brothers masturbating"),
            Some(Removal::Adult)
        );
        assert_eq!(
            removal_reason("john smith 555-123-4567"),
            Some(Removal::PersonalData)
        );
        assert_eq!(
            removal_reason("mail jdoe@aol.com"),
            Some(Removal::PersonalData)
        );
        assert_eq!(
            removal_reason("1234 elm street"),
            Some(Removal::PersonalData)
        );
        assert_eq!(removal_reason("ssn lookup"), Some(Removal::PersonalData));
    }

    #[test]
    fn keeps_ordinary_queries() {
        for q in [
            "chicken recipes",
            "essex county",
            "orlando hotels 2006",
            "pinball",
            "sussex",
            "route 66",
        ] {
            assert_eq!(removal_reason(q), None, "{q}");
        }
    }
}
