//! `objective/gold` of a rollout batch (rl::run::gold_rate): the mean over users of
//! the gold score per query, checked against the gold scorer user by user, and on
//! reference responses a person would rank: the users' actual next queries high,
//! copies of their last searches at 0.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_rollouts_gold_is_the_mean_of_each_users_gold() {
    let root = Path::new(ROOT);
    let kit = tppo::kit::Kit::load(
        &root.join("data"),
        &root.join("data/val.jsonl"),
        &root.join("data/tokenizer.json"),
    )
    .unwrap();
    let users = tppo::data::jsonl::read_users(&root.join("data/eval.jsonl")).unwrap();
    let users: Vec<&tppo::data::User> = users.iter().take(40).collect();
    let gold = kit
        .gold
        .as_ref()
        .expect("the bundled data has a gold score");
    let wv = kit.labeler.vectors();
    let actual: Vec<String> = users.iter().map(|u| u.targets.join("; ")).collect();
    let copies: Vec<String> = users
        .iter()
        .map(|u| {
            let h: Vec<&str> = u
                .history
                .iter()
                .rev()
                .take(3)
                .map(|e| e.text.as_str())
                .collect();
            h.join("; ")
        })
        .collect();
    for texts in [&actual, &copies] {
        let by_hand: Vec<f64> = users
            .iter()
            .zip(texts.iter())
            .filter_map(|(u, t)| gold.rate(u, t, wv))
            .collect();
        let want = by_hand.iter().sum::<f64>() / by_hand.len() as f64;
        let got = tppo::rl::run::gold_rate(&kit, &users, texts).unwrap();
        assert!((f64::from(got) - want).abs() < 1e-6, "{got} vs {want}");
    }
    let a = tppo::rl::run::gold_rate(&kit, &users, &actual).unwrap();
    let c = tppo::rl::run::gold_rate(&kit, &users, &copies).unwrap();
    assert!(a > 0.9 && c < 0.05, "actual {a}, copies {c}");
}
