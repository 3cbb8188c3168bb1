//! The word → token mapping with the shipped tokenizer: any text, any classes.
//! One class per token; a token inside a single word gets that word's class; the
//! generated-token mapping (`word_of_tokens`) gives one entry per token, in range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tppo::tokenize::{LabeledSpan, Tok};

static TOK: OnceLock<Tok> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let tok = TOK.get_or_init(|| Tok::from_bytes(include_bytes!("../../data/tokenizer.json")).unwrap());
    let Some((&seed, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let words: Vec<LabeledSpan> = tppo::text::words(&text)
        .into_iter()
        .enumerate()
        .map(|(i, span)| LabeledSpan { span, class: ((seed as usize + i) % 3) as u8 })
        .collect();
    let Ok((enc, classes)) = tok.encode_labeled(&text, &words) else { return };
    assert_eq!(enc.ids.len(), classes.len());
    for ((s, e), c) in enc.offsets.iter().zip(&classes) {
        let inside: Vec<&LabeledSpan> = words.iter().filter(|w| w.span.start <= *s && *e <= w.span.end && s < e).collect();
        if inside.len() == 1 {
            assert_eq!(*c, inside[0].class, "token {s}..{e} in {text:?}");
        }
    }
    let Ok(of) = tok.word_of_tokens(&enc.ids) else { return };
    assert_eq!(of.len(), enc.ids.len());
    let n = tppo::text::words(&tok.decode(&enc.ids).unwrap_or_default()).len();
    assert!(of.iter().flatten().all(|&w| w < n));
});
