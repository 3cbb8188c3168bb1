//! The command-line tool, as a user runs it.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn tppo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tppo"))
        .args(args)
        .output()
        .expect("tppo runs")
}

#[test]
fn synth_is_deterministic_and_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    for out in [&a, &b] {
        let o = tppo(&[
            "data",
            "synth",
            "--users",
            "200",
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(&b).unwrap(),
        "same seed, different bytes"
    );
    assert_eq!(bytes.iter().filter(|&&c| c == b'\n').count(), 200);
    let o = tppo(&[
        "data",
        "synth",
        "--users",
        "200",
        "--seed",
        "2",
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_ne!(
        bytes,
        std::fs::read(&b).unwrap(),
        "another seed gave the same users"
    );

    let o = tppo(&["data", "check", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Break line 7: the check fails and names it.
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[6] = r#"{"user_id":"broken","history":[{"kind":"search","text":"x"}],"targets":["a"]}"#;
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, lines.join("\n") + "\n").unwrap();
    let o = tppo(&["data", "check", broken.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.jsonl:7: field `targets`"), "{err}");

    let o = tppo(&["data", "check", "--json", broken.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["valid_users"].as_u64(), v["errors"][0]["line"].as_u64()),
        (Some(199), Some(7))
    );
}

#[test]
fn from_aol_writes_the_expected_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("aol.jsonl");
    let o = tppo(&[
        "data",
        "from-aol",
        "--input",
        "tests/fixtures/aol-small.tsv",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        include_str!("fixtures/aol-small.expected.jsonl")
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skipped_fewer_than_3_distinct_queries"], 1);
}

#[test]
fn judge_inspect_label_and_report_run_on_the_bundled_data() {
    let o = tppo(&[
        "judge",
        "--user",
        "eval-000001",
        "--response",
        "cheap flights; the weather",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["words"][2]["text"], ";");
    assert_eq!(j["words"][2]["class"], 0);

    let o = tppo(&["inspect", "--user", "eval-000001"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("token labels") && !text.contains('\x1b'),
        "piped output must be plain"
    );

    let o = tppo(&["label", "--report", "--json", "--fresh-users", "50"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sets = r["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "the data and the fresh users");
    assert_eq!(sets[1]["validation"]["users"], 50);
    let v = &sets[0]["validation"];
    assert!(
        v["word_precision"].as_f64().unwrap() > 0.0 && v["rows"].as_array().unwrap().len() >= 7
    );
    assert_eq!(r["popular"].as_array().unwrap().len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels.jsonl");
    let o = tppo(&["label", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let labels = tppo::labeler::labels::read(&out).unwrap();
    assert_eq!(labels.len(), 2000);

    let o = tppo(&["judge", "--user", "nobody", "--response", "x"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user with user_id \"nobody\""));
}

#[test]
fn an_over_long_user_is_skipped_counted_and_warned_about_not_fatal() {
    // The generator's own data has such users (seed 11, 30,000 users: 2 of them);
    // here one user whose target response is far longer than the 64 tokens a model takes.
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.jsonl");
    let long = "international travel insurance comparison for frequent business travellers \
                flying between orlando miami atlanta chicago denver seattle boston and dallas";
    let mut text = String::new();
    for i in 0..6 {
        let targets = if i == 3 {
            serde_json::json!([long, long, long])
        } else {
            serde_json::json!(["orlando hotels", "disney tickets", "orlando weather"])
        };
        let u = serde_json::json!({"user_id": format!("u{i}"),
            "history": [{"kind": "search", "text": "cheap flights"}, {"kind": "search", "text": "florida vacation"}],
            "targets": targets});
        text.push_str(&u.to_string());
        text.push('\n');
    }
    std::fs::write(&users, text).unwrap();
    let path = users.to_str().unwrap();

    let o = tppo(&["data", "check", path]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(":4: field `targets`: the target response is"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 warnings"));

    let labels = dir.path().join("labels.jsonl");
    let o = tppo(&["label", "--data", path, "--out", labels.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 empty or over-long"));
    assert_eq!(tppo::labeler::labels::read(&labels).unwrap().len(), 5);

    let out = dir.path().join("sft");
    let o = tppo(&[
        "sft",
        "--preset",
        "quick",
        "--data",
        path,
        "--eval",
        path,
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "1 train users were left out: their target response is longer than 64 tokens (first: u3"
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["train_users"], 5);
    assert_eq!(v["left_out"]["train_too_long"], 1);

    // --save-epochs: every epoch's weights beside the kept ones, none overwriting them.
    let out = dir.path().join("sft2");
    let o = tppo(&[
        "sft",
        "--preset",
        "quick",
        "--data",
        path,
        "--eval",
        path,
        "--epochs",
        "2",
        "--save-epochs",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let best = v["best_epoch"].as_u64().unwrap() as usize;
    // A safetensors file as (its header as JSON, its tensor bytes): burn writes the
    // header's metadata in no fixed order.
    let read = |name: &str| {
        let b = std::fs::read(dir.path().join(name)).unwrap();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
        (header, b[8 + n..].to_vec())
    };
    for n in 1..=2 {
        assert!(dir.path().join(format!("sft2-epoch{n}.json")).exists());
    }
    assert!(read("sft2-epoch1.safetensors").1 != read("sft2-epoch2.safetensors").1);
    assert!(
        read("sft2.safetensors") == read(&format!("sft2-epoch{}.safetensors", best + 1)),
        "the kept checkpoint is the best epoch's"
    );
}

#[test]
fn the_judge_marks_a_repeated_query_and_counts_distinct_queries() {
    // eval-000954 searched for airline flights and flights to Cuba.
    let o = tppo(&[
        "judge",
        "--user",
        "eval-000954",
        "--response",
        "cheap flights; cheap flights; orlando hotels",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let words = j["words"].as_array().unwrap();
    // cheap flights ; cheap flights ; orlando hotels: words 3 and 4 are the repeat.
    assert_eq!(words[1]["class"], 2, "{}", words[1]);
    for w in &words[3..5] {
        assert_eq!(w["class"], 1, "{w}");
        assert_eq!(w["evidence"]["kind"], "repeats");
        assert_eq!(w["evidence"]["query"], 1);
    }
    assert_eq!(j["distinct_queries"], 2);
    assert_eq!(j["queries"][1]["repeats"], 1);
    assert_eq!(j["queries"][1]["relevant"], false);
    let o = tppo(&[
        "judge",
        "--user",
        "eval-000954",
        "--response",
        "cheap flights; cheap flights; orlando hotels",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("repeats query 1") && text.contains("2 distinct queries of 3"),
        "{text}"
    );
}

/// A planned job's line runs with exactly the settings its file holds: `--print-settings`
/// on the line (its flags over its settings file) gives the plan's settings, and a
/// misspelt setting in a file is refused with the file's name.
#[test]
fn a_planned_jobs_line_runs_with_its_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let o = tppo(&[
        "pipeline",
        "--preset",
        "quick",
        "--plan",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan: tppo::pipeline::Plan =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
    let mut checked = 0;
    for job in &plan.jobs {
        for (command, file) in job.commands.iter().zip(&job.settings) {
            assert_eq!(command[0], "ppo");
            let written = tppo::rl::settings::read(&file.path).unwrap();
            assert_eq!(written, file.ppo, "{}", job.id);
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.push("--print-settings");
            let o = tppo(&args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let ran: tppo::rl::PpoConfig = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(ran, file.ppo, "{}", job.id);
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "2 seeds × 2 modes, the α ablation, 3 controls");
    let typo = dir.path().join("typo.json");
    std::fs::write(&typo, r#"{"learning_rate": 1e-4}"#).unwrap();
    let o = tppo(&[
        "ppo",
        "--settings",
        typo.to_str().unwrap(),
        "--print-settings",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("typo.json") && err.contains("learning_rate"),
        "{err}"
    );
}

/// `tppo sft` and `tppo train-rm` state their settings the way `tppo ppo` does: a
/// preset, a settings file over it, options over both; `--print-settings` shows the
/// result, and a file that names no setting of the struct is refused with its name.
#[test]
fn sft_and_reward_model_settings_print_and_a_settings_file_goes_under_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let o = tppo(&[
        "sft",
        "--preset",
        "default",
        "--epochs",
        "2",
        "--print-settings",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sft: tppo::model::sft::SftConfig = serde_json::from_slice(&o.stdout).unwrap();
    let vocab = tppo::tokenize::Tok::load(std::path::Path::new("data/tokenizer.json"))
        .unwrap()
        .vocab_size();
    let want = tppo::model::sft::SftConfig {
        epochs: 2,
        ..tppo::model::sft::SftConfig::preset("default", vocab).unwrap()
    };
    assert_eq!(sft, want);
    // The printed settings are a settings file: read back, with an option over them.
    let file = dir.path().join("sft.json");
    std::fs::write(&file, &o.stdout).unwrap();
    let o = tppo(&[
        "sft",
        "--settings",
        file.to_str().unwrap(),
        "--seed",
        "5",
        "--print-settings",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again: tppo::model::sft::SftConfig = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again, tppo::model::sft::SftConfig { seed: 5, ..want });

    let rm = |extra: &[&str]| {
        let mut args = vec![
            "train-rm",
            "--labels",
            "x",
            "--eval-labels",
            "y",
            "--print-settings",
        ];
        args.extend_from_slice(extra);
        tppo(&args)
    };
    let o = rm(&["--level", "sentence", "--preset", "default"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c: tppo::reward::train::RmTrainConfig = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (c.level, c.epochs, c.seed),
        (tppo::reward::model::Level::Sentence, 3, 1)
    );
    let typo = dir.path().join("rm-typo.json");
    std::fs::write(&typo, r#"{"learning_rate": 1e-3}"#).unwrap();
    let o = rm(&["--settings", typo.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rm-typo.json") && err.contains("learning_rate"),
        "{err}"
    );
}
