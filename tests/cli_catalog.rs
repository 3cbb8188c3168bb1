//! The command line's bad-value catalog: every subcommand is run with bad values
//! for each of its numeric options (0, negative, NaN, infinity, huge, empty) and
//! with missing files and directories where files belong. Each run must exit
//! non-zero, name the option (or the file) in its message, and never panic.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn tppo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tppo"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("tppo runs")
}

/// The bad values of each kind of option.
const COUNT_FROM_1: &[&str] = &[
    "0",
    "-1",
    "NaN",
    "inf",
    "99999999999999999999999",
    "",
    "1.5",
];
const COUNT_FROM_0: &[&str] = &["-1", "NaN", "99999999999999999999999", ""];
const POSITIVE: &[&str] = &["0", "-1", "NaN", "inf", "-inf", "1e999", ""];
const NON_NEGATIVE: &[&str] = &["-1", "NaN", "inf", "1e999", ""];
const PROBABILITY: &[&str] = &["-0.1", "1.5", "NaN", "inf", ""];
const SEED: &[&str] = &["-1", "NaN", "99999999999999999999999", ""];

/// (subcommand with its required arguments, option, bad values)
fn numeric_cases() -> Vec<(Vec<&'static str>, &'static str, &'static [&'static str])> {
    let rm = vec![
        "train-rm",
        "--labels",
        "l.jsonl",
        "--eval-labels",
        "e.jsonl",
    ];
    let ablate = vec![
        "ablate-w",
        "--labels",
        "l.jsonl",
        "--eval-labels",
        "e.jsonl",
    ];
    vec![
        (
            vec!["data", "from-aol", "--input", "x", "--out", "y"],
            "--min-history",
            COUNT_FROM_0,
        ),
        (vec!["data", "synth", "--out", "y"], "--users", COUNT_FROM_1),
        (vec!["data", "synth", "--out", "y"], "--seed", SEED),
        (vec!["label", "--out", "y"], "--samples", COUNT_FROM_1),
        (vec!["label", "--out", "y"], "--temperature", POSITIVE),
        (vec!["label", "--out", "y"], "--users", COUNT_FROM_0),
        (vec!["tokenizer", "train"], "--vocab", COUNT_FROM_1),
        (vec!["sft"], "--epochs", COUNT_FROM_1),
        (vec!["sft"], "--users", COUNT_FROM_0),
        (vec!["sft"], "--warmup-epochs", COUNT_FROM_0),
        (vec!["sft"], "--lr", POSITIVE),
        (vec!["sft"], "--seed", SEED),
        (rm.clone(), "--w", PROBABILITY),
        (rm.clone(), "--epochs", COUNT_FROM_1),
        (rm.clone(), "--eval-every", COUNT_FROM_1),
        (rm.clone(), "--grad-shards", COUNT_FROM_1),
        (rm.clone(), "--seed", SEED),
        (ablate.clone(), "--values", PROBABILITY),
        (ablate.clone(), "--jobs", COUNT_FROM_1),
        (vec!["ppo"], "--iters", COUNT_FROM_1),
        (vec!["ppo"], "--batch-size", COUNT_FROM_1),
        (vec!["ppo"], "--lr", POSITIVE),
        (vec!["ppo"], "--kl-coef", NON_NEGATIVE),
        (vec!["ppo"], "--alpha", NON_NEGATIVE),
        (vec!["ppo"], "--sl", NON_NEGATIVE),
        (vec!["ppo"], "--max-new", COUNT_FROM_1),
        (vec!["ppo"], "--grad-shards", COUNT_FROM_1),
        (vec!["ppo"], "--seed", SEED),
        (vec!["lemma"], "--beta", POSITIVE),
        (vec!["lemma"], "--iters", COUNT_FROM_1),
        (vec!["eval"], "--users", COUNT_FROM_0),
        (vec!["eval"], "--temperature", NON_NEGATIVE),
        (vec!["compare", "a", "b"], "--resamples", COUNT_FROM_1),
        (vec!["compare", "a", "b"], "--margin", PROBABILITY),
        (vec!["pipeline"], "--seeds", COUNT_FROM_1),
        (vec!["pipeline"], "--resamples", COUNT_FROM_1),
        (vec!["pipeline"], "--jobs", COUNT_FROM_1),
        (vec!["bench"], "--batch", COUNT_FROM_1),
        (vec!["bench"], "--prompt-len", COUNT_FROM_1),
        (vec!["bench"], "--max-new", COUNT_FROM_1),
        (vec!["bench"], "--reps", COUNT_FROM_1),
        (vec!["bench"], "--torch-threads", COUNT_FROM_0),
        (vec!["lwp"], "--alpha", NON_NEGATIVE),
        (vec!["lwp"], "--sl", NON_NEGATIVE),
        (vec!["lwp"], "--max-len", COUNT_FROM_1),
    ]
}

fn assert_refused(args: &[&str], must_name: &str) {
    let o = tppo(args);
    let err = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        !o.status.success() && code != Some(101) && !err.contains("panicked"),
        "`tppo {}`: exit {code:?}, expected a clean failure:\n{err}",
        args.join(" ")
    );
    assert!(
        err.contains(must_name),
        "`tppo {}`: the message does not name {must_name}:\n{err}",
        args.join(" ")
    );
}

#[test]
fn every_numeric_option_refuses_values_outside_its_range() {
    let cases = numeric_cases();
    let mut runs = 0;
    for (cmd, option, values) in &cases {
        for v in *values {
            let mut args = cmd.clone();
            let arg = format!("{option}={v}");
            args.push(&arg);
            assert_refused(&args, option);
            runs += 1;
        }
    }
    assert!(runs > 200, "{runs} runs");
}

#[test]
fn every_subcommand_is_in_the_catalog() {
    // A new subcommand must add its options above: compare the help's list.
    let o = tppo(&["--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    let covered: Vec<&str> = numeric_cases()
        .iter()
        .map(|(cmd, _, _)| cmd[0])
        .chain(FILE_CASES.iter().map(|(cmd, _)| cmd[0]))
        .collect();
    assert!(listed.len() >= 16, "{listed:?}");
    for c in listed {
        assert!(covered.contains(&c), "subcommand {c} has no catalog case");
    }
}

/// (command line, the path its message must name). Missing files and
/// directories where files belong.
const FILE_CASES: &[(&[&str], &str)] = &[
    (&["data", "check", "no/such.jsonl"], "no/such.jsonl"),
    (
        &[
            "data",
            "judge-stats",
            "--train",
            "no/such.jsonl",
            "--out",
            "target/x.bin",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "data",
            "judge-stats",
            "--labeler",
            "data/eval.jsonl",
            "--out",
            "target/x.bin",
        ],
        "data/eval.jsonl",
    ),
    (
        &[
            "export",
            "labels",
            "--labels",
            "no/such.jsonl",
            "--out",
            "target/x.jsonl",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "export",
            "sft",
            "--data",
            "no/such.jsonl",
            "--out",
            "target/x.jsonl",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "export",
            "labels",
            "--labels",
            "data/eval.jsonl",
            "--out",
            "target/x.jsonl",
        ],
        "data/eval.jsonl",
    ),
    (&["data", "check", "data"], "data"),
    (
        &[
            "data",
            "from-aol",
            "--input",
            "no/such.tsv",
            "--out",
            "target/x.jsonl",
        ],
        "no/such.tsv",
    ),
    (
        &[
            "data",
            "synth",
            "--out",
            "target/x.jsonl",
            "--corpus",
            "no/such.tsv",
        ],
        "no/such.tsv",
    ),
    (
        &[
            "calibrate",
            "--data",
            "no/such.jsonl",
            "--out",
            "target/x.json",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "judge",
            "--user",
            "eval-000001",
            "--response",
            "a b",
            "--data",
            "no/such.jsonl",
        ],
        "no/such.jsonl",
    ),
    (
        &["judge", "--user", "no-such-user", "--response", "a b"],
        "no-such-user",
    ),
    (&["judge", "--user", "", "--response", "a b"], "--user"),
    (
        &["judge", "--user", "eval-000001", "--response", " "],
        "--response",
    ),
    (
        &["label", "--out", "target/x.jsonl", "--data", "src"],
        "src",
    ),
    (
        &[
            "tokenizer",
            "train",
            "--data",
            "no/such.jsonl",
            "--out",
            "target/t.json",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "inspect",
            "--user",
            "eval-000001",
            "--data",
            "no/such.jsonl",
        ],
        "no/such.jsonl",
    ),
    (&["sft", "--tokenizer", "data", "--out", "target/x"], "data"),
    (
        &[
            "train-rm",
            "--labels",
            "no/such.jsonl",
            "--eval-labels",
            "no/such.jsonl",
            "--out",
            "target/x",
        ],
        "no/such.jsonl",
    ),
    (
        &[
            "ablate-w",
            "--labels",
            "no/such.jsonl",
            "--eval-labels",
            "no/such.jsonl",
            "--out",
            "target/x.json",
        ],
        "no/such.jsonl",
    ),
    (&["ppo", "--sft", "no/such", "--out", "target/x"], "no/such"),
    (&["ppo", "--tokenizer", "data", "--out", "target/x"], "data"),
    (
        &[
            "ppo",
            "--max-new",
            "4000",
            "--iters",
            "1",
            "--out",
            "target/x",
        ],
        "max_new",
    ),
    (
        &["eval", "--policy", "no/such", "--out", "target/x.jsonl"],
        "no/such",
    ),
    (
        &[
            "compare",
            "no/such-a.jsonl",
            "no/such-b.jsonl",
            "--out",
            "target/x.jsonl",
        ],
        "no/such-a.jsonl",
    ),
    (
        &["pipeline", "--sft", "no/such", "--out", "target/x"],
        "no/such",
    ),
    (&["lemma", "--beta", "x"], "--beta"),
    (&["lwp", "--alpha", "x"], "--alpha"),
    (&["bench", "--only", "nothing"], "--only"),
    (&["bench", "--prompt-len", "4000", "--reps", "1"], "prompt"),
];

#[test]
fn missing_files_and_directories_are_named() {
    for (args, name) in FILE_CASES {
        assert_refused(args, name);
    }
}

#[test]
fn file_errors_give_the_os_reason_once() {
    let o = tppo(&["data", "check", "no/such.jsonl"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
