//! Word labels → token labels, for tokenizers of different kinds built here:
//! a byte-level BPE trained in the test, and a hand-built BPE, WordPiece and
//! Unigram (the paper's "re"+"levant" / "relev"+"ant" example).
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use std::collections::HashMap;
use tppo::text::{Span, words};
use tppo::tokenize::{LabeledSpan, Tok, token_classes, train_bpe};

fn labeled(text: &str, classes: &[u8]) -> Vec<LabeledSpan> {
    words(text)
        .into_iter()
        .zip(classes)
        .map(|(span, &class)| LabeledSpan { span, class })
        .collect()
}

fn hand_bpe() -> Tok {
    use tokenizers::models::bpe::BPE;
    let merges = [
        ("r", "e"),
        ("re", "l"),
        ("rel", "e"),
        ("rele", "v"),
        ("a", "n"),
        ("an", "t"),
    ];
    let mut vocab: HashMap<String, u32> = HashMap::new();
    for t in "abcdefghijklmnopqrstuvwxyz0123456789;'-"
        .chars()
        .map(String::from)
        .chain(merges.iter().map(|(a, b)| format!("{a}{b}")))
    {
        let n = vocab.len() as u32;
        vocab.entry(t).or_insert(n);
    }
    let merges = merges
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(
            vocab
                .into_iter()
                .collect::<tokenizers::models::bpe::Vocab>(),
            merges,
        )
        .build()
        .unwrap();
    let mut t = tokenizers::Tokenizer::new(bpe);
    t.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::whitespace::Whitespace {}));
    Tok::from_bytes(t.to_string(false).unwrap().as_bytes()).unwrap()
}

/// A WordPiece written as a tokenizer.json by hand, as a user would bring one.
fn hand_wordpiece() -> Tok {
    let pieces = [
        "[UNK]", "re", "##levant", "cheap", "flights", ";", "or", "##lando", "##s", "a", "##b", "b",
    ];
    let vocab: serde_json::Map<String, serde_json::Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| (p.to_string(), i.into()))
        .collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
    });
    Tok::from_bytes(json.to_string().as_bytes()).unwrap()
}

/// A Unigram (SentencePiece-style) model written as a tokenizer.json by hand.
fn hand_unigram() -> Tok {
    let mut vocab = vec![serde_json::json!(["<unk>", 0.0])];
    for c in "abcdefghijklmnopqrstuvwxyz0123456789;'-".chars() {
        vocab.push(serde_json::json!([c.to_string(), -6.0]));
    }
    for (p, score) in [
        ("re", -3.0),
        ("levant", -3.0),
        ("relev", -2.5),
        ("ant", -2.5),
        ("cheap", -1.0),
        ("flights", -1.0),
    ] {
        vocab.push(serde_json::json!([p, score]));
    }
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": false}
    });
    Tok::from_bytes(json.to_string().as_bytes()).unwrap()
}

fn trained_bpe() -> Tok {
    let corpus = [
        "relevant queries",
        "cheap flights; orlando",
        "irrelevant answers",
        "relevance of flights",
        "mcdonald's menu-prices 2006",
    ];
    let json = train_bpe(corpus.iter().cycle().take(200), 300).unwrap();
    Tok::from_bytes(json.as_bytes()).unwrap()
}

#[test]
fn the_papers_example_relevant_maps_to_2_2_in_both_tokenizers() {
    let text = "relevant";
    let words = labeled(text, &[2]);
    let (enc, classes) = hand_wordpiece().encode_labeled(text, &words).unwrap();
    assert_eq!(enc.tokens, ["re", "##levant"]);
    assert_eq!(classes, [2, 2]);
    let (enc, classes) = hand_bpe().encode_labeled(text, &words).unwrap();
    assert_eq!(enc.tokens, ["relev", "ant"]);
    assert_eq!(classes, [2, 2]);
    let (enc, classes) = hand_unigram().encode_labeled(text, &words).unwrap();
    assert_eq!(enc.tokens.len(), 2, "{:?}", enc.tokens);
    assert_eq!(classes, [2, 2]);
}

#[test]
fn a_full_response_by_hand() {
    // cheap/1 flights/2 ;/0 orlandos/2 — WordPiece: cheap flights ; or ##lando ##s
    let text = "cheap flights; orlandos";
    let (enc, classes) = hand_wordpiece()
        .encode_labeled(text, &labeled(text, &[1, 2, 0, 2]))
        .unwrap();
    assert_eq!(
        enc.tokens,
        ["cheap", "flights", ";", "or", "##lando", "##s"]
    );
    assert_eq!(classes, [1, 2, 0, 2, 2, 2]);
}

#[test]
fn tokens_outside_labeled_words_get_class_0() {
    let tok = trained_bpe();
    let text = "relevant flights";
    // Only "flights" is labeled (an external labeler may skip words).
    let only = [LabeledSpan {
        span: Span { start: 9, end: 16 },
        class: 2,
    }];
    let (enc, classes) = tok.encode_labeled(text, &only).unwrap();
    for ((s, e), c) in enc.offsets.iter().zip(&classes) {
        assert_eq!(*c, if *s >= 9 { 2 } else { 0 }, "token {s}..{e}");
    }
}

/// Classes of the tokens overlapping each word.
fn per_word(tok: &Tok, text: &str, words: &[LabeledSpan]) -> Vec<Vec<u8>> {
    let (enc, classes) = tok.encode_labeled(text, words).unwrap();
    words
        .iter()
        .map(|w| {
            enc.offsets
                .iter()
                .zip(&classes)
                .filter(|((s, e), _)| *s < w.span.end && *e > w.span.start)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

const WORDS: &[&str] = &[
    "relevant",
    "cheap",
    "flights",
    "orlando",
    "irrelevant",
    "b",
    "ab",
    "zzqx",
    ";",
    "mcdonald's",
    "2006",
    "-",
    "relevance",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_token_inside_a_word_carries_its_class(
        picks in prop::collection::vec((0..WORDS.len(), 0u8..3), 1..12)
    ) {
        let text = picks.iter().map(|(i, _)| WORDS[*i]).collect::<Vec<_>>().join(" ");
        let classes: Vec<u8> = picks.iter().map(|p| p.1).collect();
        let spans = labeled(&text, &classes);
        // Our word split agrees with the words we joined (each pick is one word).
        prop_assert_eq!(spans.len(), picks.len());
        let toks = [trained_bpe(), hand_bpe(), hand_wordpiece(), hand_unigram()];
        for tok in &toks {
            let (enc, got) = tok.encode_labeled(&text, &spans).unwrap();
            for ((s, e), c) in enc.offsets.iter().zip(&got) {
                if let Some(w) = spans.iter().find(|w| *s >= w.span.start && *e <= w.span.end && s < e) {
                    prop_assert_eq!(*c, w.class, "token {}..{} in {:?}", s, e, text);
                }
                if !spans.iter().any(|w| *s < w.span.end && *e > w.span.start) {
                    prop_assert_eq!(*c, 0);
                }
            }
            // Word level: every word's tokens all carry the word's class, whatever the tokenizer.
            for (w, cs) in spans.iter().zip(per_word(tok, &text, &spans)) {
                prop_assert!(!cs.is_empty(), "word {:?} got no token", &text[w.span.start..w.span.end]);
                prop_assert!(cs.iter().all(|c| *c == w.class), "word {:?}: {:?} vs {}", &text[w.span.start..w.span.end], cs, w.class);
            }
        }
    }

    #[test]
    fn mapping_depends_only_on_overlaps(
        offsets in prop::collection::vec((0usize..40, 0usize..6), 0..20),
    ) {
        // Against an independent formula: per token, the class of the word with most overlap.
        let text = "cheap flights; orlando hotels now";
        let spans = labeled(text, &[1, 2, 0, 2, 1, 1]);
        let offsets: Vec<(usize, usize)> = offsets.into_iter().map(|(s, l)| (s, s + l)).collect();
        let got = token_classes(&offsets, &spans);
        for ((s, e), c) in offsets.iter().zip(got) {
            let mut best = (0usize, 0u8);
            for w in &spans {
                let ov = (*e).min(w.span.end) as i64 - (*s).max(w.span.start) as i64;
                if ov > best.0 as i64 || (ov > 0 && ov == best.0 as i64 && w.class > best.1) {
                    best = (ov as usize, w.class);
                }
            }
            prop_assert_eq!(c, best.1);
        }
    }
}
