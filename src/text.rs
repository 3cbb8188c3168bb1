//! Words: the unit the labeler judges and the unit whose class every token
//! inherits (paper §3.2). One definition shared by the labeler, the labels
//! reader and the word→token mapping.
//!
//! A word is either a maximal run of letters/digits (an apostrophe between two
//! of them stays inside: `mcdonald's`), or a single other non-space character
//! (`;`, `-`, `.`). Whitespace belongs to no word. Spans are byte offsets into
//! the original string, so they compose with the tokenizer's offsets.

/// The separator between the queries of one response: `q1; q2; q3`.
pub const SEP: char = ';';

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Split `s` into word spans (byte offsets).
pub fn words(s: &str) -> Vec<Span> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(s.len(), |c| c.0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() {
            let mut j = i;
            loop {
                let next = chars.get(j + 1).map(|x| x.1);
                let after = chars.get(j + 2).map(|x| x.1);
                match next {
                    Some(n) if n.is_alphanumeric() => j += 1,
                    Some('\'') if after.is_some_and(char::is_alphanumeric) => j += 2,
                    _ => break,
                }
            }
            out.push(Span {
                start,
                end: end_of(j),
            });
            i = j + 1;
        } else {
            out.push(Span {
                start,
                end: end_of(i),
            });
            i += 1;
        }
    }
    out
}

/// True for a word made of letters/digits (not punctuation or a separator).
pub fn is_alnum_word(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_alphanumeric)
}

/// Split a response `q1; q2; q3` into its queries (trimmed, empty ones kept out).
pub fn split_response(response: &str) -> Vec<&str> {
    response
        .split(SEP)
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .collect()
}

/// The byte spans of a response's non-empty queries (between separators), in order:
/// the spans of [`split_response`]'s queries.
pub fn query_spans(response: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for part in response.split(SEP) {
        let (start, end) = (offset, offset + part.len());
        offset = end + SEP.len_utf8();
        if !part.trim().is_empty() {
            out.push((start, end));
        }
    }
    out
}

/// Join queries into one response string with the separator.
pub fn join_response<S: AsRef<str>>(queries: &[S]) -> String {
    let parts: Vec<&str> = queries.iter().map(AsRef::as_ref).collect();
    parts.join(&format!("{SEP} "))
}

/// Lower-case, map the separator and control characters to spaces, collapse whitespace.
pub fn normalize_query(q: &str) -> String {
    let lowered: String = q
        .chars()
        .map(|c| if c == SEP || c.is_control() { ' ' } else { c })
        .collect::<String>()
        .to_lowercase();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        words(s).iter().map(|w| &s[w.start..w.end]).collect()
    }

    #[test]
    fn splits_words_punctuation_and_separators() {
        assert_eq!(
            texts("cheap flights; mcdonald's menu-prices  2006"),
            vec![
                "cheap",
                "flights",
                ";",
                "mcdonald's",
                "menu",
                "-",
                "prices",
                "2006"
            ]
        );
        assert_eq!(texts("  "), Vec::<&str>::new());
        assert_eq!(texts("it's'"), vec!["it's", "'"]);
        assert_eq!(texts("café über"), vec!["café", "über"]);
    }

    #[test]
    fn response_round_trip() {
        let r = join_response(&["a b", "c", "d"]);
        assert_eq!(r, "a b; c; d");
        assert_eq!(split_response(&r), vec!["a b", "c", "d"]);
        assert_eq!(
            normalize_query("  Cheap;Flights\tNOW "),
            "cheap flights now"
        );
    }
}

/// English stop words and web fillers: words that carry no topical content.
/// The labeler gives them class 0 (non-reward), as the paper masks separators.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "com",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "htm",
    "html",
    "http",
    "https",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "net",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "org",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "s",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "www",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// True for a stop word (input lower-cased).
pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Content words of a text: lower-case letter/digit words that are not stop words.
pub fn content_words(s: &str) -> Vec<String> {
    words(s)
        .into_iter()
        .map(|sp| s[sp.start..sp.end].to_lowercase())
        .filter(|w| is_alnum_word(w) && !is_stop_word(w))
        .collect()
}

/// The Snowball (English) stem of a lower-case word.
pub fn stem(w: &str) -> String {
    use std::sync::OnceLock;
    static STEMMER: OnceLock<rust_stemmers::Stemmer> = OnceLock::new();
    STEMMER
        .get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
        .stem(w)
        .into_owned()
}

/// A query as what it asks for: the stems of its content words (lower case, stop
/// words and single characters dropped).
pub fn query_stems(q: &str) -> std::collections::BTreeSet<String> {
    content_words(q)
        .into_iter()
        .filter(|w| w.chars().count() > 1)
        .map(|w| stem(&w))
        .collect()
}

/// Whether a query with stems `q` is a copy or near-copy of one with stems `h`
/// ([`query_stems`]): the same stems, or one stem dropped or added. An empty `q`
/// copies nothing.
pub fn is_near_copy(
    q: &std::collections::BTreeSet<String>,
    h: &std::collections::BTreeSet<String>,
) -> bool {
    if q.is_empty() {
        return false;
    }
    (q.is_subset(h) && h.len() <= q.len() + 1) || (h.is_subset(q) && q.len() <= h.len() + 1)
}

/// The first of `earlier` (0-based) that `query` copies or nearly copies
/// ([`is_near_copy`]).
pub fn copies<S: AsRef<str>>(query: &str, earlier: &[S]) -> Option<usize> {
    let q = query_stems(query);
    earlier
        .iter()
        .position(|h| is_near_copy(&q, &query_stems(h.as_ref())))
}

/// For each query in order, the 1-based number of an earlier query it repeats: its
/// stems (see [`query_stems`]) are all among that query's (equal to it, or
/// contained in it: "flights" after "cheap flights"). `None` for a new query, and
/// for a query with no content word.
pub fn repeats<S: AsRef<str>>(queries: &[S]) -> Vec<Option<usize>> {
    let stems: Vec<_> = queries.iter().map(|q| query_stems(q.as_ref())).collect();
    stems
        .iter()
        .enumerate()
        .map(|(k, s)| {
            if s.is_empty() {
                return None;
            }
            (0..k).find(|&j| s.is_subset(&stems[j])).map(|j| j + 1)
        })
        .collect()
}

#[cfg(test)]
mod stop_tests {
    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = super::STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, super::STOP_WORDS);
        assert!(super::is_stop_word("the") && !super::is_stop_word("chicken"));
    }

    #[test]
    fn near_copies_by_hand() {
        use super::copies;
        let hist = ["chicken soup recipes", "google"];
        assert_eq!(copies("Chicken Soup Recipe", &hist), Some(0), "same stems");
        assert_eq!(copies("chicken soup", &hist), Some(0), "one word dropped");
        assert_eq!(
            copies("easy chicken soup recipes", &hist),
            Some(0),
            "one added"
        );
        assert_eq!(
            copies("chicken recipes for the soup", &hist),
            Some(0),
            "stop words"
        );
        assert_eq!(
            copies("chicken", &hist),
            None,
            "two words dropped: a new query"
        );
        assert_eq!(
            copies("easy chicken soup recipes online", &hist),
            None,
            "two added"
        );
        assert_eq!(copies("beef soup recipes", &hist), None, "one word changed");
        assert_eq!(copies("google", &hist), Some(1));
        assert_eq!(copies("the", &hist), None, "no content word");
        // b ⊂ a by one word is a near-copy in both directions.
        let (a, b) = (
            super::query_stems("soup recipes"),
            super::query_stems("soup"),
        );
        assert!(super::is_near_copy(&a, &b) && super::is_near_copy(&b, &a));
    }

    #[test]
    fn repeats_by_hand() {
        use super::repeats;
        assert_eq!(
            repeats(&["cheap flights", "Cheap Flights", "orlando hotels"]),
            vec![None, Some(1), None]
        );
        // Contained in an earlier query, after stemming; the reverse is a refinement.
        assert_eq!(
            repeats(&["cheap flights", "flight", "flights to orlando"]),
            vec![None, Some(1), None]
        );
        assert_eq!(repeats(&["flights", "cheap flights"]), vec![None, None]);
        // The first earlier query that contains it; stop words do not count.
        assert_eq!(
            repeats(&["state of texas", "state of", "the state"]),
            vec![None, Some(1), Some(1)]
        );
        assert_eq!(repeats(&["the", "of the"]), vec![None, None]);
    }
}
