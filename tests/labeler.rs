//! The judge on cases whose classes are known: separators and stop words → 0,
//! history words → 2 (exact, stem, close vector, co-occurrence), unrelated words → 1.
#![cfg(not(target_arch = "wasm32"))]

use tppo::data::{Event, EventKind, User};
use tppo::labeler::LabelerConfig;
use tppo::labeler::{Evidence, Labeler};
use tppo::vectors::WordVectors;

fn search(text: &str) -> Event {
    Event {
        kind: EventKind::Search,
        text: text.into(),
        time: None,
    }
}

fn user(id: usize, history: &[&str]) -> User {
    User {
        user_id: format!("u{id}"),
        history: history.iter().map(|t| search(t)).collect(),
        targets: vec!["a".into(), "b".into(), "c".into()],
        meta: None,
    }
}

fn labeler() -> Labeler {
    let vectors = WordVectors::load_dir(std::path::Path::new("data")).expect("bundled vectors");
    // 200 training histories: "mortgage" and "orlando" share 5 of them, and appear nowhere else.
    let mut train: Vec<User> = (0..195)
        .map(|i| user(i, &[&format!("filler{i} words{i}")]))
        .collect();
    train.extend((0..5).map(|i| user(200 + i, &["mortgage rates", "orlando"])));
    // "google" is searched in 20 of the 200 histories: popular (≥ 5 %), navigational.
    for (i, u) in train.iter_mut().enumerate().take(20) {
        u.history
            .push(search(if i % 2 == 0 { "google" } else { "Google" }));
    }
    let cfg = LabelerConfig {
        popular_share: 0.05,
        ..LabelerConfig::default()
    };
    Labeler::new(cfg, vectors, &train)
}

fn classes(l: &Labeler, history: &[&str], response: &str) -> Vec<(String, u8, Evidence)> {
    let h: Vec<Event> = history.iter().map(|t| search(t)).collect();
    l.judge(&h, response)
        .words
        .into_iter()
        .map(|w| (w.text, w.class, w.evidence))
        .collect()
}

#[test]
fn separators_punctuation_and_stop_words_are_class_0() {
    let l = labeler();
    let got = classes(&l, &["chicken recipes"], "the chicken; of - a");
    let zero: Vec<&str> = got
        .iter()
        .filter(|w| w.1 == 0)
        .map(|w| w.0.as_str())
        .collect();
    assert_eq!(zero, ["the", ";", "of", "-", "a"]);
    assert_eq!(got[2].2, Evidence::Separator);
    assert_eq!(got[0].2, Evidence::StopWord);
}

#[test]
fn history_words_are_class_2_with_their_evidence() {
    let l = labeler();
    let got = classes(
        &l,
        &["chicken recipes", "crock pot"],
        "chicken recipe ideas for kids; beef stew",
    );
    assert_eq!((got[0].1, &got[0].2), (2, &Evidence::ExactMatch));
    assert_eq!(
        (got[1].1, &got[1].2),
        (
            2,
            &Evidence::SameStem {
                word: "recipes".into()
            }
        )
    );
    // "beef" is close to "chicken" in GloVe (cosine above the default 0.75).
    assert_eq!(got[6].1, 2, "{:?}", got[6]);
    assert!(
        matches!(&got[6].2, Evidence::Close { word, cosine } if word == "chicken" && *cosine >= 0.75),
        "{:?}",
        got[6]
    );
}

#[test]
fn co_occurring_words_are_class_2() {
    let l = labeler();
    // PMI(mortgage, orlando) = ln(200·5 / (5·5)) = ln 40 ≈ 3.69 ≥ 3.0, and their vectors are far apart.
    let got = classes(&l, &["orlando"], "mortgage");
    assert_eq!(got[0].1, 2, "{:?}", got[0]);
    match &got[0].2 {
        Evidence::CoOccurs {
            word,
            histories,
            pmi,
        } => {
            assert_eq!((word.as_str(), *histories), ("orlando", 5));
            assert!((pmi - 40f32.ln()).abs() < 1e-5);
        }
        other => panic!("expected co-occurrence evidence, got {other:?}"),
    }
}

#[test]
fn unrelated_words_are_class_1_and_set_the_sentence_label() {
    let l = labeler();
    let h = [search("chicken recipes"), search("crock pot soup")];
    let j = l.judge(&h, "quantum physics; chicken soup");
    let got: Vec<(&str, u8)> = j.words.iter().map(|w| (w.text.as_str(), w.class)).collect();
    assert_eq!(
        got,
        [
            ("quantum", 1),
            ("physics", 1),
            (";", 0),
            ("chicken", 2),
            ("soup", 2)
        ]
    );
    assert!(matches!(j.words[0].evidence, Evidence::Unrelated { .. }));
    assert_eq!(
        (j.queries[0].relevant, j.queries[1].relevant),
        (false, true)
    );
    // 2 of 4 content words relevant: 0.5 ≥ the default threshold 0.5 → sentence label 2.
    assert_eq!((j.relevant_fraction, j.sentence), (0.5, 2));
    assert_eq!(l.judge(&h, "quantum physics; tax forms").sentence, 1);
}

#[test]
fn the_judge_never_reads_meta() {
    let l = labeler();
    let mut u = user(1, &["chicken recipes"]);
    let a = l.judge(&u.history, "chicken; tax forms");
    u.meta =
        Some(serde_json::json!({"interests": ["tax"], "target_on_interest": [true, true, true]}));
    assert_eq!(l.judge(&u.history, "chicken; tax forms"), a);
}

#[test]
fn a_copy_or_near_copy_of_a_history_search_is_not_relevant() {
    // The old judge called all three relevant (every word matches the history exactly).
    let l = labeler();
    let h = [search("chicken soup recipes"), search("crock pot")];
    for response in [
        "Chicken Soup Recipes",
        "chicken soup",
        "easy chicken soup recipes",
    ] {
        let j = l.judge(&h, response);
        let q = &j.queries[0];
        assert!(!q.relevant, "{q:?}");
        assert_eq!(q.copies.as_deref(), Some("chicken soup recipes"), "{q:?}");
        for w in j.words.iter().filter(|w| w.class != 0) {
            assert_eq!(w.class, 1, "{w:?}");
            assert_eq!(
                w.evidence,
                Evidence::CopiesHistory {
                    search: "chicken soup recipes".into()
                }
            );
        }
        assert_eq!(j.sentence, 1);
    }
    // Two words changed: a new query on the same interest, relevant.
    let j = l.judge(&h, "chicken noodle soup");
    assert!(
        j.queries[0].relevant && j.queries[0].copies.is_none(),
        "{j:?}"
    );
}

#[test]
fn navigational_queries_are_no_evidence_of_an_interest() {
    let l = labeler();
    // In the response: "google" is popular in the training histories.
    let got = classes(&l, &["tax forms"], "google");
    assert_eq!((got[0].1, &got[0].2), (1, &Evidence::Navigational));
    // In the history: a popular search is not indexed, so "google" there is no
    // evidence for a word that only matches it.
    let got = classes(&l, &["google", "tax forms"], "google earth maps");
    assert!(
        !matches!(got[0].2, Evidence::ExactMatch),
        "a popular search is not evidence: {:?}",
        got[0]
    );
}

#[test]
fn the_labeler_never_uses_the_generators_world() {
    // Judge and gold are two instruments: the judge (src/labeler/) may not read the
    // generator's interests, its lexicons or k-means topics, or the hidden `meta`.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/labeler");
    let forbidden = ["synth", "interests", "topics", "lexicon", ".meta", "gold"];
    let mut files = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        files += 1;
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                assert!(
                    !code.contains(f),
                    "{}:{}: the judge uses `{f}`: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
    assert!(files >= 4, "read {files} files of src/labeler/");
}

#[test]
fn a_word_found_beside_anything_is_generic_class_0() {
    // "new" is in 100 of 200 histories, each time beside one of 20 fillers (5 each):
    // PMI(new, filler) = ln(200·5 / (100·5)) = ln 2 ≈ 0.693 < 0.7: generic.
    let vectors = WordVectors::load_dir(std::path::Path::new("data")).expect("bundled vectors");
    let mut train: Vec<User> = (0..100)
        .map(|i| user(i, &[&format!("new filler{}", i % 20)]))
        .collect();
    train.extend((0..100).map(|i| user(100 + i, &[&format!("other{i} words{i}")])));
    let cfg = LabelerConfig {
        popular_share: 0.5,
        ..LabelerConfig::default()
    };
    let l = Labeler::new(cfg, vectors, &train);
    let m = l.generic("new").expect("generic");
    assert!((m - 2f32.ln()).abs() < 1e-5, "{m}");
    let got = classes(&l, &["income tax"], "new tax forms");
    assert_eq!(got[0].1, 0, "{:?}", got[0]);
    assert!(matches!(got[0].2, Evidence::Generic { .. }), "{:?}", got[0]);
    // Just above the bound, the same word is evidence again.
    let cfg = LabelerConfig {
        generic_pmi: 0.69,
        ..cfg
    };
    let vectors = WordVectors::load_dir(std::path::Path::new("data")).expect("bundled vectors");
    assert_eq!(Labeler::new(cfg, vectors, &train).generic("new"), None);
}

#[test]
fn a_query_with_one_relevant_word_is_relevant_as_a_whole() {
    let l = labeler();
    let h = [
        search("harley davidson road tests"),
        search("motorcycle video"),
    ];
    let j = l.judge(&h, "mini drag motorcycles; quantum physics");
    let got: Vec<(&str, u8)> = j.words.iter().map(|w| (w.text.as_str(), w.class)).collect();
    assert_eq!(
        got,
        [
            ("mini", 2),
            ("drag", 2),
            ("motorcycles", 2),
            (";", 0),
            ("quantum", 1),
            ("physics", 1)
        ]
    );
    let anchored = Evidence::InRelevantQuery {
        anchor: "motorcycles".into(),
    };
    assert_eq!(
        (&j.words[0].evidence, &j.words[1].evidence),
        (&anchored, &anchored)
    );
    assert_eq!(
        j.words[2].evidence,
        Evidence::SameStem {
            word: "motorcycle".into()
        }
    );
    assert_eq!(
        (j.queries[0].relevant, j.queries[1].relevant),
        (true, false)
    );
    // 3 of 5 content words relevant.
    assert_eq!((j.relevant_fraction, j.sentence), (0.6, 2));
    // Stop words stay class 0 inside a relevant query.
    let got = classes(&l, &["motorcycle video"], "the motorcycles of mars");
    assert_eq!(
        got.iter().map(|w| w.1).collect::<Vec<_>>(),
        [0, 2, 0, 2],
        "{got:?}"
    );
}
