//! The page's scripts against [`Request`]: every command the worker defines and every
//! `call(...)` the page makes names a command of the enum, with arguments it has; every
//! command of the enum has its handler in the worker; the settings objects the page
//! builds have exactly the fields of [`RunSettings`] and [`RmSettings`].

use super::*;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn www(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("www")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `properties` of a schema object, following a `$ref` into `$defs`.
fn fields(schema: &Value, node: &Value) -> BTreeSet<String> {
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(r) => &schema["$defs"][r.trim_start_matches("#/$defs/")],
        None => node,
    };
    node.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Each command of [`Request`] with its argument names, from its JSON schema.
fn commands_of_the_enum() -> BTreeMap<String, BTreeSet<String>> {
    let schema = serde_json::to_value(schemars::schema_for!(Request)).unwrap();
    let variants = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        .expect("the schema of Request lists its variants");
    variants
        .iter()
        .map(|v| {
            let cmd = &v["properties"]["cmd"];
            let name = cmd
                .get("const")
                .or_else(|| cmd["enum"].get(0))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("a variant without a command name: {v}"));
            let args = v["properties"]
                .get("args")
                .map(|a| fields(&schema, a))
                .unwrap_or_default();
            (name.to_string(), args)
        })
        .collect()
}

fn schema_fields<T: schemars::JsonSchema>() -> BTreeSet<String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    fields(&schema, &schema)
}

/// An object literal's keys, each with the text of its value (`None` for a shorthand key).
type Keys = Vec<(String, Option<String>)>;

/// The top-level keys of the object literal that opens `src` (`{ a, b: f(x), c: {…} }`),
/// each with the text of its value (`None` for a shorthand key).
fn literal_keys(src: &str) -> Keys {
    assert!(src.starts_with('{'), "not an object literal: {src}");
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut parts = Vec::new();
    let mut start = 1;
    for (i, c) in src.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&src[start..i]);
                    break;
                }
            }
            ',' if depth == 1 => {
                parts.push(&src[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
            None => (p.to_string(), None),
        })
        .collect()
}

/// The worker's `commands` table: each handler's name and the arguments it destructures.
fn worker_commands() -> BTreeMap<String, BTreeSet<String>> {
    let js = www("worker.js");
    let start = js
        .find("const commands = {")
        .expect("worker.js: const commands");
    let end = start
        + js[start..]
            .find("\n};")
            .expect("worker.js: end of commands");
    let re =
        Regex::new(r"^  (?:async )?(\w+)(?:: (?:async )?)?\((?:\{ ?([^})]*?) ?\})?\)").unwrap();
    js[start..end]
        .lines()
        .filter_map(|l| re.captures(l))
        .map(|c| {
            let args = c.get(2).map_or("", |m| m.as_str());
            let args = args
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            (c[1].to_string(), args)
        })
        .collect()
}

/// Every `call("cmd", {…})` of the page: the command and the literal's keys and values.
fn page_calls() -> Vec<(String, Keys)> {
    let js = www("main.js");
    let re = Regex::new(r#"call\("(\w+)"(, *\{)?"#).unwrap();
    re.captures_iter(&js)
        .map(|c| {
            let keys = match c.get(2) {
                Some(m) => literal_keys(&js[m.end() - 1..]),
                None => Vec::new(),
            };
            (c[1].to_string(), keys)
        })
        .collect()
}

#[test]
fn the_worker_handles_exactly_the_commands_of_the_enum() {
    let want = commands_of_the_enum();
    let have = worker_commands();
    assert!(want.len() >= 20, "{want:?}");
    let (w, h): (BTreeSet<_>, BTreeSet<_>) = (want.keys().collect(), have.keys().collect());
    assert_eq!(w, h, "commands of Request vs www/worker.js");
    for (cmd, args) in &have {
        for a in args {
            assert!(
                want[cmd].contains(a),
                "www/worker.js: command {cmd} reads argument {a}, which Request::{cmd} lacks ({:?})",
                want[cmd]
            );
        }
    }
}

#[test]
fn every_call_of_the_page_names_a_command_and_arguments_of_the_enum() {
    let want = commands_of_the_enum();
    let calls = page_calls();
    assert!(calls.len() >= 20, "{calls:?}");
    let run = schema_fields::<RunSettings>();
    let rm = schema_fields::<RmSettings>();
    for (cmd, keys) in &calls {
        let args = want
            .get(cmd)
            .unwrap_or_else(|| panic!("www/main.js calls {cmd}, which Request lacks"));
        for (k, v) in keys {
            assert!(
                args.contains(k),
                "www/main.js: call {cmd} sends {k}, which Request::{cmd} lacks ({args:?})"
            );
            // A settings object written out in the call: exactly the struct's fields.
            if let (true, Some(v)) = (k == "settings", v)
                && v.starts_with('{')
            {
                let sent: BTreeSet<String> = literal_keys(v).into_iter().map(|(k, _)| k).collect();
                let want = if cmd == "rmStart" { &rm } else { &run };
                assert_eq!(&sent, want, "www/main.js: the settings of {cmd}");
            }
        }
    }
}

#[test]
fn the_page_builds_run_settings_with_exactly_their_fields() {
    let js = www("main.js");
    let at = js
        .find("const settings = () => (")
        .expect("main.js: const settings = () => ({…})");
    let lit = &js[at + "const settings = () => (".len()..];
    let sent: BTreeSet<String> = literal_keys(lit).into_iter().map(|(k, _)| k).collect();
    assert_eq!(sent, schema_fields::<RunSettings>());
}

#[test]
fn the_literal_parser_by_hand() {
    let keys = literal_keys(r#"{ a, b: f(x, y), c: { d: 1, e: "x,}" }, g: [1, 2] } trailing"#);
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "g"]);
    assert_eq!(keys[2].1.as_deref(), Some(r#"{ d: 1, e: "x,}" }"#));
}

#[test]
fn settings_refuse_unknown_fields() {
    let ok = r#"{"seed":1,"batch_size":4,"max_new":24,"lr":3e-5,"kl_coef":0.05,"kl_target":4,"alpha":1,"sl":20}"#;
    assert!(serde_json::from_str::<RunSettings>(ok).is_ok());
    let renamed = ok.replace("max_new", "maxnew");
    let err = serde_json::from_str::<RunSettings>(&renamed).unwrap_err();
    assert!(err.to_string().contains("maxnew"), "{err}");
}

#[test]
fn the_page_holds_no_default_setting() {
    // Every setting's field is filled from `PageDefaults` (main.js, fillDefaults): no
    // value in the HTML, no fallback number in the scripts.
    let html = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("index.html"),
    )
    .unwrap();
    let ids = [
        "seed",
        "batch",
        "lr",
        "beta",
        "kltarget",
        "maxnew",
        "alpha",
        "sl",
        "rm-users",
        "rm-eval",
        "rm-batch",
        "rm-w",
        "compare-n",
        "lemma-beta",
        "lemma-iters",
        "lemma-seed",
    ];
    let js = www("main.js");
    for id in ids {
        let re = Regex::new(&format!(r#"<input id="{id}"[^>]*>"#)).unwrap();
        let tag = re
            .find(&html)
            .unwrap_or_else(|| panic!("index.html: no input {id}"))
            .as_str();
        assert!(
            !tag.contains(" value="),
            "index.html: {tag} holds a default"
        );
        assert!(
            js.contains(&format!("\"{id}\":")) || js.contains(&format!(" {id}:")),
            "main.js: fillDefaults does not fill {id}"
        );
    }
    // The settings the page sends: no number written into a value.
    let number = Regex::new(r#"(^|[^\w$"'-])[0-9]"#).unwrap();
    let at = js
        .find("const settings = () => (")
        .expect("main.js: settings");
    let mut sent = literal_keys(&js[at + "const settings = () => (".len()..]);
    for (cmd, keys) in page_calls() {
        if ["rmStart", "compare", "generate"].contains(&cmd.as_str()) {
            for (k, v) in keys {
                match v {
                    Some(v) if k == "settings" => sent.extend(literal_keys(&v)),
                    // A fresh sampling seed per click and the user shown: not settings.
                    _ if k == "seed" || k == "index" => {}
                    v => sent.push((k, v)),
                }
            }
        }
    }
    let sign_test = Regex::new(r"[<>]=? *0\b").unwrap(); // "> 0": the field's own sentinel
    for (k, v) in sent {
        let v = sign_test
            .replace_all(&v.unwrap_or_default(), "")
            .to_string();
        assert!(!number.is_match(&v), "main.js: {k}: {v} writes a number");
    }
}

#[test]
fn the_page_defaults_by_hand() {
    let d = PageDefaults::default();
    let l = d.lemma;
    assert_eq!((l.beta, l.iters, l.seed), (0.5, 150, 7));
    let r = d.run;
    assert_eq!((r.seed, r.batch_size, r.max_new), (1, 4, 24));
    assert_eq!((r.lr, r.kl_coef, r.kl_target), (3e-5, 0.05, Some(4.0)));
    assert_eq!((r.alpha, r.sl), (1.0, 20.0));
    let m = d.rm;
    assert_eq!(
        (m.users, m.eval_users, m.batch_size, m.seed),
        (256, 64, 8, 1)
    );
    assert_eq!((m.lr, m.w), (5e-4, 0.5));
    assert_eq!(d.compare_users, 16);
    assert_eq!(d.temperature, 0.7);
}
