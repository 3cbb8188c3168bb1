//! The bad-input catalog: well over 100 malformed inputs, each of which must give an
//! error naming the file, the line and the field, with the valid lines around it
//! still read. Users files and labels files are mutated field by field (wrong
//! types, wrong values, truncated JSON, invalid UTF-8, enormous lines); checkpoints
//! are truncated, of the wrong kind or made with another tokenizer; HTML and script
//! text is valid text and must come back byte for byte, never interpreted.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{Value, json};
use tppo::data::jsonl::check_bytes;
use tppo::error::InputError;
use tppo::model::trunk::TrunkConfig;

fn good_user(id: &str) -> Value {
    json!({"user_id": id, "history": [{"kind": "search", "text": "cheap flights", "time": "2006-03-01 07:17:12"},
                                      {"kind": "click", "text": "www.expedia.com", "time": "2006-03-01 07:18:00"}],
           "targets": ["orlando hotels", "disney tickets", "orlando weather"]})
}

fn good_label(id: &str) -> Value {
    json!({"user_id": id, "response": "cheap hotels; orlando",
           "words": [{"text": "cheap", "class": 2}, {"text": "hotels", "class": 1},
                     {"text": ";", "class": 0}, {"text": "orlando", "class": 2}],
           "sentence": 2})
}

/// Set `path` (`a.b[0].c`) in `v` to `x`.
fn set(v: &mut Value, path: &str, x: Value) {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (
                n,
                Some(rest.trim_end_matches(']').parse::<usize>().unwrap()),
            ),
            None => (*part, None),
        };
        let last = i + 1 == parts.len();
        if last && index.is_none() {
            cur[name] = x;
            return;
        }
        cur = &mut cur[name];
        if let Some(k) = index {
            if last {
                cur[k] = x;
                return;
            }
            cur = &mut cur[k];
        }
    }
}

/// (label, the malformed line, the field the error must name)
fn user_cases() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut add = |path: &str, x: Value| {
        let mut u = good_user("bad");
        set(&mut u, path, x.clone());
        out.push((
            format!("users {path} = {x}"),
            u.to_string(),
            path.to_string(),
        ));
    };
    let not_text = [
        json!(42),
        json!(1.5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!(["a"]),
    ];
    for path in [
        "user_id",
        "history[0].kind",
        "history[0].text",
        "history[1].text",
        "targets[0]",
        "targets[2]",
    ] {
        for x in &not_text {
            add(path, x.clone());
        }
    }
    for x in ["", "   ", "\t"] {
        add("user_id", json!(x));
        add("history[0].text", json!(x));
        add("targets[1]", json!(x));
    }
    for x in ["Search", "query", "clicked", ""] {
        add("history[0].kind", json!(x));
    }
    for x in [
        json!(42),
        json!(true),
        json!([]),
        json!({}),
        json!("yesterday"),
        json!("2006-13-45 99:99:99"),
        json!("2006/03/01"),
    ] {
        add("history[0].time", x);
    }
    add("history[1].time", json!("2006-02-01 00:00:00")); // before the event above it
    for x in [
        json!("cheap flights"),
        json!(42),
        json!(true),
        json!(null),
        json!({}),
    ] {
        add("history", x.clone());
        add("targets", x);
    }
    for x in [
        json!("an event"),
        json!(7),
        json!(false),
        json!(null),
        json!([]),
    ] {
        add("history[0]", x);
    }
    add("history", json!([]));
    add("targets", json!(["a", "b"]));
    add("targets", json!(["a", "b", "c", "d"]));
    add("targets", json!([]));
    add("targets[0]", json!("a; b"));
    for x in [json!("x"), json!(1), json!(true), json!(null), json!([])] {
        add("meta", x);
    }
    add("history[0].clicks", json!(3));
    add("history[0].url", json!("x"));
    add("target", json!(["a"]));
    out
}

fn label_cases() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut add = |path: &str, x: Value| {
        let mut l = good_label("bad");
        set(&mut l, path, x.clone());
        out.push((
            format!("labels {path} = {x}"),
            l.to_string(),
            path.to_string(),
        ));
    };
    for x in [json!(42), json!(true), json!(null), json!([]), json!({})] {
        add("user_id", x.clone());
        add("response", x.clone());
        add("words[0].text", x.clone());
    }
    for x in [
        json!(0),
        json!(3),
        json!(-1),
        json!(1.5),
        json!("2"),
        json!(null),
    ] {
        add("sentence", x);
    }
    for x in [json!(3), json!(-1), json!("2"), json!(null), json!(2.5)] {
        add("words[1].class", x);
    }
    for x in [json!("cheap"), json!(1), json!(null)] {
        add("words[0]", x);
    }
    // Words that do not match the response, or are out of order.
    add("words[0].text", json!("expensive"));
    add("words[3].text", json!("cheap"));
    add("words[0].start", json!(0)); // start without end
    add("words[0].extra", json!(1));
    add("score", json!(1));
    out
}

fn assert_named(e: &[InputError], file: &str, field: &str, label: &str) {
    assert!(!e.is_empty(), "{label}: no error");
    for x in e {
        assert_eq!((x.file.as_str(), x.line), (file, 2), "{label}: {x}");
        assert!(
            x.to_string().starts_with(&format!("{file}:2")),
            "{label}: {x}"
        );
    }
    assert!(
        e.iter().any(|x| x.field == field
            || x.field.starts_with(&format!("{field}."))
            || x.field.starts_with(&format!("{field}["))),
        "{label}: no error names `{field}`: {e:?}"
    );
}

#[test]
fn the_catalog_has_over_100_cases_and_every_one_is_named() {
    let users = user_cases();
    let labels = label_cases();
    let (g1, g2) = (good_user("ok-1").to_string(), good_user("ok-2").to_string());
    for (label, bad, field) in &users {
        let c = check_bytes("users.jsonl", format!("{g1}\n{bad}\n{g2}\n").as_bytes());
        assert_named(&c.errors, "users.jsonl", field, label);
        let ids: Vec<&str> = c.users.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["ok-1", "ok-2"], "{label}: valid lines lost");
    }
    let (l1, l2) = (
        good_label("ok-1").to_string(),
        good_label("ok-2").to_string(),
    );
    for (label, bad, field) in &labels {
        let input = format!("{l1}\n{bad}\n{l2}\n");
        let e = tppo::labeler::labels::read_bytes("labels.jsonl", input.as_bytes()).unwrap_err();
        assert_named(&e.0, "labels.jsonl", field, label);
        // The valid lines alone read; the bad one is the only problem.
        assert_eq!(
            tppo::labeler::labels::read_bytes("labels.jsonl", format!("{l1}\n{l2}\n").as_bytes())
                .unwrap()
                .len(),
            2
        );
    }
    // Whole-line problems in both kinds of file.
    let whole = [
        "{\"user_id\": \"u\"", // truncated JSON
        "[1, 2, 3]",           // not an object
        "\"text\"",
        "42",
        "null",
        "", // an empty line
    ];
    for bad in whole {
        let c = check_bytes("users.jsonl", format!("{g1}\n{bad}\n{g2}\n").as_bytes());
        assert_eq!(c.errors.len(), 1, "{bad:?}: {:?}", c.errors);
        assert_eq!(c.errors[0].line, 2);
        assert_eq!(c.users.len(), 2);
        let e = tppo::labeler::labels::read_bytes(
            "labels.jsonl",
            format!("{l1}\n{bad}\n{l2}\n").as_bytes(),
        )
        .unwrap_err();
        assert_eq!(e.0[0].line, 2, "{bad:?}");
    }
    let mut utf8 = format!("{g1}\n").into_bytes();
    utf8.extend_from_slice(b"{\"user_id\": \"\xc3\x28\"}\n");
    utf8.extend_from_slice(format!("{g2}\n").as_bytes());
    let c = check_bytes("users.jsonl", &utf8);
    assert!(
        c.errors[0].line == 2 && c.errors[0].message.contains("UTF-8"),
        "{:?}",
        c.errors
    );
    let huge = format!(
        "{g1}\n{}\n{g2}\n",
        "x".repeat(tppo::data::schema::MAX_LINE_BYTES + 10)
    );
    let c = check_bytes("users.jsonl", huge.as_bytes());
    assert!(
        c.errors[0].line == 2 && c.users.len() == 2,
        "{:?}",
        c.errors
    );
    let total = users.len() + labels.len() + 2 * whole.len() + 2;
    eprintln!(
        "catalog: {} users cases, {} labels cases, {total} in all",
        users.len(),
        labels.len()
    );
    assert!(total >= 100, "{total}");
}

#[test]
fn html_and_script_text_is_kept_verbatim() {
    let nasty = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "a & b < c > d \"e\" 'f'",
        "javascript:alert(1)",
    ];
    for t in nasty {
        let mut u = good_user("html");
        set(&mut u, "history[0].text", json!(t));
        set(&mut u, "targets[0]", json!(t));
        let c = check_bytes("users.jsonl", u.to_string().as_bytes());
        assert!(c.errors.is_empty(), "{t}: {:?}", c.errors);
        assert_eq!(c.users[0].history[0].text, t);
        assert_eq!(c.users[0].targets[0], t);
    }
}

#[test]
fn checkpoints_that_are_truncated_of_another_kind_or_tokenizer_are_clear_errors() {
    use tppo::model::checkpoint::{self, CheckpointInfo};
    use tppo::model::policy::PolicyConfig;
    let dir = tempfile::tempdir().unwrap();
    let cfg = PolicyConfig::of(TrunkConfig {
        vocab: 30,
        d_model: 16,
        n_layers: 1,
        n_heads: 2,
        d_ff: 32,
        max_len: 16,
    });
    let info = CheckpointInfo {
        kind: "policy".into(),
        config: cfg,
        tokenizer: "aaaa".into(),
    };
    let path = dir.path().join("p");
    checkpoint::save(&cfg.init(&tppo::backend::cpu()), &info, &path).unwrap();
    let err = |r: tppo::Result<tppo::model::policy::Policy>| {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    };
    let device = tppo::backend::cpu();
    let other_tok = err(checkpoint::load_policy(&path, "bbbb", &device));
    assert!(
        other_tok.contains("tokenizer") && other_tok.contains("p.safetensors"),
        "{other_tok}"
    );
    let rm = tppo::reward::model::load(&path, "aaaa", &device)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(rm.contains("p.safetensors"), "{rm}");
    let bytes = std::fs::read(path.with_extension("safetensors")).unwrap();
    for cut in [0, 8, 64, bytes.len() / 3, bytes.len() - 4] {
        std::fs::write(path.with_extension("safetensors"), &bytes[..cut]).unwrap();
        let e = err(checkpoint::load_policy(&path, "aaaa", &device));
        assert!(e.contains("p.safetensors"), "cut {cut}: {e}");
    }
    let missing = err(checkpoint::load_policy(
        &dir.path().join("none"),
        "aaaa",
        &device,
    ));
    assert!(missing.contains("none.safetensors"), "{missing}");
}
