//! The shipped judge statistics (`data/judge-stats.bin.gz`, which the page loads
//! instead of the training users) are exactly what the judge learns from the shipped
//! training users with the shipped thresholds; and a judge built from them labels
//! like the one that learned them. Regenerate with `tppo data judge-stats`.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_shipped_judge_statistics_are_the_ones_learned_from_the_training_users() {
    let p = |f: &str| Path::new(ROOT).join(f);
    let users = tppo::data::jsonl::read_users(&p("data/train.jsonl.gz")).unwrap();
    let file: tppo::labeler::file::LabelerFile =
        serde_json::from_slice(&std::fs::read(p("data/labeler.json")).unwrap()).unwrap();
    let learned = tppo::labeler::Labeler::statistics(file.config, &users).to_bytes();
    let shipped =
        tppo::io::maybe_gunzip(&std::fs::read(p("data/judge-stats.bin.gz")).unwrap()).unwrap();
    assert!(
        learned == shipped,
        "data/judge-stats.bin.gz is stale: run `tppo data judge-stats` (the training users or the judge's thresholds changed)"
    );
    // The page's judge (statistics) and the command line's (users) agree on eval users.
    let read = |f: &str| std::fs::read(p(f)).unwrap();
    let text = |f: &str| String::from_utf8(read(f)).unwrap();
    let page = tppo::kit::Kit::from_bytes_with_statistics(
        &read("data/tokenizer.json"),
        &read("data/glove-6b-50d.safetensors"),
        &text("data/glove-6b-50d-vocab.txt"),
        &read("data/judge-stats.bin.gz"),
        &text("data/labeler.json"),
        &text("data/interests.json"),
    )
    .unwrap();
    let cli = tppo::kit::Kit::from_bytes(
        &read("data/tokenizer.json"),
        &read("data/glove-6b-50d.safetensors"),
        &text("data/glove-6b-50d-vocab.txt"),
        &read("data/train.jsonl.gz"),
        &text("data/labeler.json"),
        &text("data/interests.json"),
    )
    .unwrap();
    let eval = tppo::data::jsonl::read_users(&p("data/eval.jsonl")).unwrap();
    // The page has the world (hidden-interest metric) but no corpus: no gold score,
    // rather than a gold of 0 for everything; the command line has both.
    let (u, r) = (&eval[0], eval[0].targets.join("; "));
    let gold = |k: &tppo::kit::Kit| {
        k.gold
            .as_ref()
            .map(|g| g.queries(u, &r, k.labeler.vectors()).is_some())
    };
    assert_eq!(gold(&page), Some(false));
    let files = tppo::kit::Kit::load(
        &p("data"),
        &p("data/train.jsonl.gz"),
        &p("data/tokenizer.json"),
    )
    .unwrap();
    assert_eq!(gold(&files), Some(true));
    // Once the page has the corpus (sent after its first view), its gold is the
    // command line's, query by query.
    let mut page = page;
    page.set_corpus(&read("data/trec-queries.tsv")).unwrap();
    for u in &eval[..200] {
        let r = u.targets.join("; ");
        let of = |k: &tppo::kit::Kit| {
            k.gold
                .as_ref()
                .and_then(|g| g.queries(u, &r, k.labeler.vectors()))
        };
        assert_eq!(of(&page), of(&files), "{}", u.user_id);
    }
    for u in &eval[..200] {
        let r = u.targets.join("; ");
        assert_eq!(
            page.labeler.judge(&u.history, &r),
            cli.labeler.judge(&u.history, &r),
            "{}",
            u.user_id
        );
    }
}
