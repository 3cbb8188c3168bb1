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
    let world = tppo::data::interests::load(Path::new("data"), &wv).unwrap();
    let (made, summary) = synth::Generator::new(cfg, &corpus, &wv, world)
        .unwrap()
        .generate();
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
    let cal =
        tppo::labeler::calibrate::calibrate(&wv, &train, tppo::labeler::LabelerConfig::default());
    let file: tppo::labeler::file::LabelerFile =
        serde_json::from_slice(&std::fs::read("data/labeler.json").unwrap()).unwrap();
    assert_eq!(file.calibration, cal);
    assert!(cal.measured_null_pass <= cal.null_pass_rate, "{cal:?}");
}

#[test]
fn the_calibrations_rates_are_the_judges_verdicts_with_held_out_statistics() {
    // An independent path to the two rates data/labeler.json reports: judge every
    // train user's next queries, and those of the user half the file away, with the
    // shipped thresholds and statistics learned without any next query's search.
    let train = users("data/train.jsonl.gz");
    let wv = tppo::vectors::WordVectors::load_dir(Path::new("data")).unwrap();
    let file: tppo::labeler::file::LabelerFile =
        serde_json::from_slice(&std::fs::read("data/labeler.json").unwrap()).unwrap();
    let (held, n_held) = tppo::labeler::calibrate::without_next_queries(&train);
    assert_eq!(n_held, file.calibration.held_out_searches);
    let next: std::collections::HashSet<String> = train
        .iter()
        .flat_map(|u| u.targets.iter().map(|t| tppo::text::normalize_query(t)))
        .collect();
    assert!(held.iter().all(|u| {
        u.searches()
            .iter()
            .all(|s| !next.contains(&tppo::text::normalize_query(s)))
    }));
    let judge = tppo::labeler::Labeler::new(file.config, wv, &held);
    let m = train.len();
    let (mut real, mut null, mut queries) = (0usize, 0usize, 0usize);
    for (i, u) in train.iter().enumerate() {
        let idx = judge.index(&u.history);
        let relevant = |t: &String| usize::from(judge.judge_indexed(&idx, t).queries[0].relevant);
        real += u.targets.iter().map(relevant).sum::<usize>();
        null += train[(i + m / 2) % m]
            .targets
            .iter()
            .map(relevant)
            .sum::<usize>();
        queries += u.targets.len();
    }
    let cal = &file.calibration;
    assert_eq!(queries, cal.queries_real);
    assert!((real as f32 / queries as f32 - cal.measured_real_pass).abs() < 1e-6);
    assert!((null as f32 / queries as f32 - cal.measured_null_pass).abs() < 1e-6);
    assert!(cal.measured_null_pass <= cal.null_pass_rate);
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
fn every_target_is_on_its_recorded_interest_and_new() {
    // The gold score assigns a query to an interest with the world's lexicons; on the
    // targets (real corpus queries) that is the interest the generator drew them from
    // (meta.target_interests), and no target copies a history search.
    let wv = tppo::vectors::WordVectors::load_dir(Path::new("data")).unwrap();
    let world = tppo::data::interests::load(Path::new("data"), &wv).unwrap();
    let users = users("data/eval.jsonl");
    let (mut drift, mut n) = (0, 0);
    for u in &users {
        let meta = u.meta.as_ref().unwrap();
        let searches = u.searches();
        for (k, t) in u.targets.iter().enumerate() {
            let want = meta["target_interests"][k].as_str().unwrap();
            let got = world.assign(t, &wv).map(|i| world.names[i].as_str());
            assert_eq!(got, Some(want), "{}: {t:?}", u.user_id);
            assert_eq!(
                tppo::text::copies(t, &searches),
                None,
                "{}: {t:?}",
                u.user_id
            );
            n += 1;
            drift += usize::from(meta["target_drifts"][k].as_bool().unwrap());
        }
    }
    let share = drift as f64 / n as f64;
    assert!(
        (0.1..0.3).contains(&share),
        "drifting targets {share:.3}: a stated minority (0.2)"
    );
}

#[test]
fn gold_ranks_the_actual_next_queries_above_every_reference_and_rejects_word_salad() {
    // The instrument's gold half on 400 eval users: actual ≫ copies, popular, another
    // user's, word salad (≤ 10 %); a gold that called a string of interest words a
    // query would fail here.
    let dir = Path::new("data");
    let train = users("data/train.jsonl.gz");
    let (judge, _) = tppo::labeler::file::load_with_users(dir, &train).unwrap();
    let gold = tppo::kit::load_gold(dir, judge.vectors()).unwrap().unwrap();
    let eval: Vec<_> = users("data/eval.jsonl").into_iter().take(400).collect();
    let popular = tppo::eval::instrument::most_popular(&train, 3);
    let v = tppo::eval::instrument::validate(&judge, Some(&gold), &eval, &popular);
    let g = |name: &str| {
        v.rows
            .iter()
            .find(|r| r.reference.starts_with(name))
            .and_then(|r| r.gold)
            .unwrap()
    };
    assert!(g("actual next queries, all") > 0.9, "{v:?}");
    assert!(g("word salad") <= 0.10, "{v:?}");
    assert_eq!(v.gold_valid, Some(true), "{v:?}");
    // The judge never calls a copy of a history search relevant.
    let copies = v
        .rows
        .iter()
        .find(|r| r.reference.starts_with("copies"))
        .unwrap();
    assert!(copies.judge <= 0.05, "{copies:?}");
}
