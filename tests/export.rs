//! `tppo export`: the files load with the `datasets` JSON loader's shape (one object
//! per line, the same keys with the same JSON types on every line, lists of one
//! element type), and the token labels are the word labels mapped to the tokens.

use serde_json::Value;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The JSON type of a value, lists with their element type ("list<int>").
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_u64() || n.is_i64() => "int".into(),
        Value::Number(_) => "float".into(),
        Value::String(_) => "string".into(),
        Value::Array(a) => {
            let kinds: std::collections::BTreeSet<String> = a.iter().map(kind).collect();
            assert!(kinds.len() <= 1, "a list mixes types: {kinds:?}");
            format!(
                "list<{}>",
                kinds.into_iter().next().unwrap_or_else(|| "?".into())
            )
        }
        Value::Object(_) => "object".into(),
    }
}

/// Every line an object with the same keys and types (empty lists fit any list type).
fn schema(text: &str) -> Vec<Value> {
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first: std::collections::BTreeMap<String, String> = rows[0]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), kind(v)))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let o = r
            .as_object()
            .unwrap_or_else(|| panic!("line {} is not an object", i + 1));
        assert_eq!(
            o.len(),
            first.len(),
            "line {}: other keys than line 1",
            i + 1
        );
        for (k, v) in o {
            let (want, got) = (&first[k], kind(v));
            assert!(
                want == &got || got == "list<?>" || want == "list<?>",
                "line {}: {k} is {got}, line 1 has {want}",
                i + 1
            );
        }
    }
    rows
}

fn tppo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tppo"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into()
}

#[test]
fn exported_labels_are_a_token_classification_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.jsonl");
    std::fs::write(
        &labels,
        concat!(
            r#"{"user_id":"eval-000000","response":"cheap flights; orlando hotels","words":[{"text":"cheap","class":1},{"text":"flights","class":2},{"text":";","class":0},{"text":"orlando","class":2},{"text":"hotels","class":2}],"sentence":2,"source":"tppo-judge"}"#,
            "\n",
            r#"{"user_id":"eval-000001","response":"kittens","words":[{"text":"kittens","class":1}],"sentence":1}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("hf.jsonl");
    tppo(&[
        "export",
        "labels",
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = schema(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(rows.len(), 2);
    for r in &rows {
        let n = r["tokens"].as_array().unwrap().len();
        assert_eq!(r["input_ids"].as_array().unwrap().len(), n);
        assert_eq!(r["token_labels"].as_array().unwrap().len(), n);
        assert_eq!(
            r["words"].as_array().unwrap().len(),
            r["word_labels"].as_array().unwrap().len()
        );
        assert_eq!(r["tokens"][n - 1], "<eos>");
        assert_eq!(r["token_labels"][n - 1], 0);
    }
    // Each token carries the class of the word it lies in: "cheap" 1, "flights" 2, ";" 0.
    let r = &rows[0];
    let toks: Vec<&str> = r["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let labs: Vec<u64> = r["token_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    let text: String = toks
        .iter()
        .zip(&labs)
        .map(|(t, l)| format!("{}:{l} ", t.replace('Ġ', "_")))
        .collect();
    assert!(
        labs.contains(&1) && labs.contains(&2) && labs.contains(&0),
        "{text}"
    );
    let semi = toks.iter().position(|t| t.contains(';')).unwrap();
    assert_eq!(labs[semi], 0, "{text}");
    assert_eq!(labs[0], 1, "cheap: {text}");
    assert_eq!(labs[semi - 1], 2, "flights: {text}");
    assert_eq!(r["sentence_label"], 2);
}

#[test]
fn exported_sft_data_is_prompt_completion_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sft.jsonl");
    tppo(&[
        "export",
        "sft",
        "--data",
        "data/val.jsonl",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = schema(&std::fs::read_to_string(&out).unwrap());
    assert!(rows.len() > 100);
    for r in &rows {
        assert!(r["prompt"].as_str().unwrap().ends_with("<resp>"));
        assert_eq!(r["completion"].as_str().unwrap().split("; ").count(), 3);
    }
}
