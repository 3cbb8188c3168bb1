//! The bundled data set is what the README says it is, and is reproduced
//! byte for byte by the commands in data/PROVENANCE.md.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;
use std::path::Path;
use tppo::data::{corpus, filter, jsonl, synth};

fn users(path: &str) -> Vec<tppo::data::User> {
    jsonl::read_users(Path::new(path)).expect("bundled file is valid")
}

#[test]
fn sizes_splits_and_filter() {
    let train = users("data/train.jsonl.gz");
    let eval = users("data/eval.jsonl");
    assert_eq!((train.len(), eval.len()), (10_000, 2_000));
    let train_queries: HashSet<&str> = train
        .iter()
        .flat_map(|u| {
            u.history
                .iter()
                .map(|e| e.text.as_str())
                .chain(u.targets.iter().map(String::as_str))
        })
        .collect();
    for u in &eval {
        for t in &u.targets {
            assert!(
                !train_queries.contains(t.as_str()),
                "eval target {t:?} appears in the train split"
            );
            assert_eq!(synth::split_of(t), synth::Split::Eval);
        }
    }
    for u in train.iter().chain(&eval) {
        for q in u.targets.iter().chain(
            u.history
                .iter()
                .filter(|e| e.kind == tppo::data::EventKind::Search)
                .map(|e| &e.text),
        ) {
            assert_eq!(
                filter::removal_reason(q),
                None,
                "{q:?} should have been filtered"
            );
        }
    }
}

#[test]
fn eval_split_is_reproduced_byte_for_byte() {
    let corpus = corpus::load(Path::new("data/trec-queries.tsv")).unwrap();
    let wv = tppo::vectors::WordVectors::load_dir(Path::new("data")).unwrap();
    let cfg = synth::SynthConfig {
        users: 2000,
        seed: 2,
        split: synth::Split::Eval,
        ..Default::default()
    };
    let (made, summary) = synth::Generator::new(cfg, &corpus, &wv).unwrap().generate();
    assert_eq!(
        jsonl::to_jsonl(&made),
        std::fs::read_to_string("data/eval.jsonl").unwrap()
    );
    assert_eq!(
        (
            summary.corpus.removed_adult,
            summary.corpus.removed_personal_data
        ),
        (420, 299)
    );
}

#[test]
fn labeler_json_is_the_calibration_of_the_train_split() {
    let train = users("data/train.jsonl.gz");
    let wv = tppo::vectors::WordVectors::load_dir(Path::new("data")).unwrap();
    let judge = tppo::labeler::Labeler::new(tppo::labeler::LabelerConfig::default(), wv, &train);
    let cal = tppo::labeler::calibrate::calibrate(&judge, &train);
    let file: tppo::labeler::file::LabelerFile =
        serde_json::from_slice(&std::fs::read("data/labeler.json").unwrap()).unwrap();
    assert_eq!(file.calibration, cal);
    assert!(cal.measured_null_pass <= cal.null_pass_rate, "{cal:?}");
}

#[test]
fn tokenizer_json_is_reproduced_by_training() {
    let train = users("data/train.jsonl.gz");
    let texts = train.iter().flat_map(|u| {
        u.history
            .iter()
            .map(|e| e.text.clone())
            .chain(std::iter::once(u.target_response()))
    });
    let json = tppo::tokenize::train_bpe(texts, 4096).unwrap();
    assert_eq!(
        json,
        std::fs::read_to_string("data/tokenizer.json").unwrap()
    );
}

#[test]
fn the_topics_file_assigns_targets_to_the_generators_topics() {
    // The hidden-interest metric assigns a query to the nearest topic centroid; on the
    // targets (real corpus queries) that must agree with the topic the generator drew
    // them from (meta.target_topics), which it mostly does (k-means assignments move
    // a little in the last round).
    let topics =
        tppo::data::topics::TopicFile::read(std::path::Path::new("data/topics.json")).unwrap();
    let wv = tppo::vectors::WordVectors::load_dir(std::path::Path::new("data")).unwrap();
    let users = tppo::data::jsonl::read_users(std::path::Path::new("data/eval.jsonl")).unwrap();
    let (mut same, mut n) = (0, 0);
    for u in &users {
        let meta = u.meta.as_ref().unwrap();
        for (t, want) in u
            .targets
            .iter()
            .zip(meta["target_topics"].as_array().unwrap())
        {
            n += 1;
            same += usize::from(topics.assign(t, &wv) == want.as_str());
        }
    }
    let agree = same as f64 / n as f64;
    eprintln!("{same} of {n} targets in their generator topic ({agree:.3})");
    assert!(
        agree > 0.9,
        "{same} of {n} targets in their generator topic ({agree:.3})"
    );
}
