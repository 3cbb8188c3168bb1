//! Claims from artifacts (issue 31): a number the README or `docs/results.md`
//! states as a result carries, right after it, the file under `docs/runs/` and the
//! JSON pointer it comes from:
//!
//! ```text
//! judged relevant 68.9 %<!-- claim docs/runs/sft/eval.json /metrics/judge_query_rate -->
//! ```
//!
//! (invisible once rendered). This test reads every such claim, looks the value up
//! and fails when the stated number is not the value rounded to the stated decimals
//! (a `%` or ` points` between the number and the comment states the value × 100;
//! `−` is a minus sign). A claim comment that follows no number fails too. The
//! README's results paragraphs must carry claims: a test counts them.
#![cfg(not(target_arch = "wasm32"))]

use regex::Regex;
use std::path::Path;

struct Claim {
    doc: String,
    line: usize,
    stated: String,
    percent: bool,
    file: String,
    pointer: String,
}

fn claims(doc: &str, text: &str) -> Vec<Claim> {
    let re =
        Regex::new(r"([−-]?[0-9][0-9,]*(?:\.[0-9]+)?)(\s*%|\s+points)?<!-- claim (\S+) (\S+) -->")
            .unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for c in re.captures_iter(line) {
            out.push(Claim {
                doc: doc.into(),
                line: i + 1,
                stated: c[1].to_string(),
                percent: c.get(2).is_some(),
                file: c[3].to_string(),
                pointer: c[4].to_string(),
            });
        }
    }
    out
}

/// `None` when the claim holds, else why not.
fn check(root: &Path, c: &Claim) -> Option<String> {
    let at = format!(
        "{}:{}: {} ({} {})",
        c.doc, c.line, c.stated, c.file, c.pointer
    );
    if !c.file.starts_with("docs/runs/") {
        return Some(format!("{at}: a claim's file must be under docs/runs/"));
    }
    let text = match std::fs::read_to_string(root.join(&c.file)) {
        Ok(t) => t,
        Err(e) => return Some(format!("{at}: {e}")),
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => return Some(format!("{at}: not JSON: {e}")),
    };
    let Some(value) = json.pointer(&c.pointer).and_then(serde_json::Value::as_f64) else {
        return Some(format!("{at}: no number at {}", c.pointer));
    };
    let value = if c.percent { value * 100.0 } else { value };
    let clean = c.stated.replace('−', "-").replace(',', "");
    let stated: f64 = clean.parse().ok()?;
    let decimals = clean.split('.').nth(1).map_or(0, str::len);
    let half = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9;
    ((stated - value).abs() > half)
        .then(|| format!("{at}: the file says {value} (stated to {decimals} decimals)"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_stated_result_is_the_number_in_its_file() {
    let mut all = Vec::new();
    for doc in ["README.md", "docs/results.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let found = claims(doc, &text);
        let comments = text.matches("<!-- claim ").count();
        assert_eq!(
            found.len(),
            comments,
            "{doc}: a claim comment must follow its number directly (or its % / points)"
        );
        all.extend(found);
    }
    let wrong: Vec<String> = all.iter().filter_map(|c| check(root(), c)).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let readme = all.iter().filter(|c| c.doc == "README.md").count();
    assert!(readme >= 20, "the README's results carry {readme} claims");
}

#[test]
fn a_claim_that_differs_from_its_file_fails() {
    let good = "gold 40.7 %<!-- claim docs/runs/sft/eval.json /metrics/gold -->";
    let c = claims("x", good);
    assert_eq!(c.len(), 1);
    assert!(check(root(), &c[0]).is_none());
    for bad in [
        "gold 40.9 %<!-- claim docs/runs/sft/eval.json /metrics/gold -->",
        "gold 0.41<!-- claim docs/runs/sft/eval.json /metrics/gold_typo -->",
        "gold 0.406<!-- claim data/models/sft.json /metrics/gold -->",
        "gold −0.407<!-- claim docs/runs/sft/eval.json /metrics/gold -->",
    ] {
        let c = claims("x", bad);
        assert_eq!(c.len(), 1, "{bad}");
        assert!(check(root(), &c[0]).is_some(), "{bad} passed");
    }
}
