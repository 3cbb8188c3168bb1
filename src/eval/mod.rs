//! Evaluation (paper §4): the judge's relevance rate of a model's responses over
//! held-out users (Table 2) with its Wilson interval, and pairwise win / tie / lose
//! between two models ([`pairwise`]) with bootstrap intervals ([`stats`]).
//!
//! A model's outputs are written as JSONL, one [`OutputRecord`] per user (history,
//! response, the judge's word labels, the token reward model's per-token rewards);
//! `tppo compare` reads two such files and writes one [`CompareRecord`] per user.
//! The browser lab opens both.

pub mod instrument;
pub mod metrics;
pub mod pairwise;
pub mod settings;
pub mod slices;
pub mod stats;

use crate::data::{Event, User};
use crate::error::{Error, InputError, InputErrors, Result};
use crate::labeler::Judgement;
use crate::reward::lwp::LwpConfig;
use crate::reward::model::RewardModel;
use burn::tensor::Device;
use pairwise::{Outcome, Verdict, WinTieLose};
use serde::{Deserialize, Serialize};
use stats::{Interval, wilson};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relevance {
    pub n: usize,
    pub relevant: usize,
    pub rate: f64,
    /// Wilson 95 % interval.
    pub ci: Interval,
}

/// The judge's sentence verdict (label 2) averaged over users.
pub fn relevance(judgements: &[&Judgement]) -> Relevance {
    let n = judgements.len();
    let k = judgements.iter().filter(|j| j.sentence == 2).count();
    Relevance {
        n,
        relevant: k,
        rate: k as f64 / n.max(1) as f64,
        ci: wilson(k, n),
    }
}

/// The relevance rate of a model's outputs.
pub fn relevance_of(records: &[OutputRecord]) -> Relevance {
    relevance(&records.iter().map(|r| &r.judgement).collect::<Vec<_>>())
}

/// The model-level [`metrics`] of outputs (records without metrics are left out).
pub fn metrics_of(records: &[OutputRecord]) -> metrics::ModelMetrics {
    let (users, texts): (Vec<_>, Vec<_>) = records
        .iter()
        .filter_map(|r| r.metrics.as_ref().map(|m| (m, r.response.as_str())))
        .unzip();
    metrics::summarise(&users, &texts)
}

/// One response token with its reward-model margin P(2) − P(1) and its reward after lwp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenReward {
    pub text: String,
    pub margin: f32,
    pub reward: f32,
}

/// One user's response from one model, judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputRecord {
    pub user_id: String,
    pub model: String,
    pub history: Vec<Event>,
    pub response: String,
    pub judgement: Judgement,
    #[serde(default)]
    pub tokens: Vec<TokenReward>,
    /// The user's actual next queries (the reference).
    #[serde(default)]
    pub targets: Vec<String>,
    /// The reference, hidden-interest and distinctness metrics ([`metrics`]).
    #[serde(default)]
    pub metrics: Option<metrics::UserMetrics>,
    /// The user's `meta` (hidden interests, drift), for the workbench's slices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
    /// The run that produced the output (set by the pipeline's collect and by
    /// `tppo compare --runs`), so a judgement links back to its training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunLink>,
}

/// Which run an output came from: its pipeline job, mode, seed, the iteration kept
/// and its KL to the SFT policy, and the settings it trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLink {
    /// The pipeline job (`ppo-seed1`), or `sft`.
    pub id: String,
    /// `sft`, `ppo` (sentence reward) or `tppo` (token rewards).
    pub model: String,
    pub seed: u64,
    /// The checkpoint evaluated, relative to the pipeline folder.
    pub checkpoint: String,
    /// The iteration kept (best on the validation users within the KL budget) and its KL.
    #[serde(default)]
    pub iteration: Option<usize>,
    #[serde(default)]
    pub kl: Option<f32>,
    /// PPO settings (lr, KL target, β start, rollouts per iteration, α, sl); none for SFT.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

impl RunLink {
    /// One line for people: "tppo seed 1, iteration 40 (KL 1.92), lr 1e-5, …".
    pub fn describe(&self) -> String {
        let mut s = format!("{} ({}", self.id, self.model);
        if self.model != "sft" {
            s.push_str(&format!(", seed {}", self.seed));
        }
        if let (Some(i), Some(k)) = (self.iteration, self.kl) {
            s.push_str(&format!(", iteration {i}, KL {k:.3}"));
        }
        s.push(')');
        if let Some(serde_json::Value::Object(m)) = &self.settings {
            let kv: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!(": {}", kv.join(", ")));
        }
        s.push_str(&format!(" · {}", self.checkpoint));
        s
    }
}

/// One user, two models, the verdicts in both orders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareRecord {
    pub user_id: String,
    pub history: Vec<Event>,
    pub a: OutputRecord,
    pub b: OutputRecord,
    /// The judge with A first, and with B first.
    pub ab: Verdict,
    pub ba: Verdict,
    /// A's outcome.
    pub outcome: Outcome,
    pub consistent: bool,
}

/// Judge every response, attach the token reward model's rewards of its tokens (the
/// response re-encoded, EOS included, as the reward model was trained) and the
/// metrics against the user's targets and hidden interests ([`metrics`]).
#[allow(clippy::too_many_arguments)]
pub async fn records(
    model: &str,
    users: &[User],
    responses: &[String],
    kit: &crate::kit::Kit,
    rm: Option<&RewardModel>,
    lwp: LwpConfig,
    device: &Device,
) -> Result<Vec<OutputRecord>> {
    let prompter = kit.prompter();
    let (tok, sp, labeler) = (prompter.tok, prompter.sp, &kit.labeler);
    let mut out = Vec::with_capacity(users.len());
    for (chunk_u, chunk_r) in users.chunks(32).zip(responses.chunks(32)) {
        let mut prompts = Vec::new();
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for (u, r) in chunk_u.iter().zip(chunk_r) {
            prompts.push(prompter.prompt(&u.history)?.0);
            let enc = tok.encode(r)?;
            let mut x = enc.ids;
            x.push(sp.eos);
            let mut t = enc.tokens;
            t.push("<eos>".into());
            ids.push(x);
            texts.push(t);
        }
        let margins = match rm {
            Some(rm) => {
                let p: Vec<&[u32]> = prompts.iter().map(Vec::as_slice).collect();
                let x: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
                rm.margins(&p, &x, sp.pad, device).await?
            }
            None => vec![Vec::new(); chunk_u.len()],
        };
        for (((u, r), m), t) in chunk_u.iter().zip(chunk_r).zip(margins).zip(texts) {
            let shaped = crate::reward::lwp::apply(&m, lwp);
            let judgement = labeler.judge(&u.history, r);
            let gold = kit.gold.as_ref().map(|g| (g, labeler.vectors()));
            out.push(OutputRecord {
                user_id: u.user_id.clone(),
                model: model.to_string(),
                history: u.history.clone(),
                response: r.clone(),
                metrics: Some(metrics::user_metrics(u, &judgement, gold)),
                targets: u.targets.clone(),
                meta: u.meta.clone(),
                run: None,
                judgement,
                tokens: t
                    .into_iter()
                    .zip(m.iter().zip(&shaped))
                    .map(|(text, (&margin, &reward))| TokenReward {
                        text,
                        margin,
                        reward,
                    })
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Generate, judge and score one model's responses for `users` (in batches of 64;
/// batch i samples with seed `sample.seed + i`): the judge's verdict per user, and
/// the token reward model's rewards on each token with the run's `lwp`.
#[allow(clippy::too_many_arguments)]
pub async fn outputs(
    model: &str,
    policy: &crate::model::policy::Policy,
    kit: &crate::kit::Kit,
    users: &[User],
    rm: Option<&RewardModel>,
    lwp: LwpConfig,
    sample: &crate::model::policy::SampleConfig,
    device: &Device,
) -> Result<Vec<OutputRecord>> {
    let texts =
        crate::model::respond::respond(policy, &kit.prompter(), users, sample, 64, device).await?;
    records(model, users, &texts, kit, rm, lwp, device).await
}

/// One pair of models compared over the same users.
#[derive(Debug, Clone, Serialize)]
pub struct PairComparison {
    /// `a-vs-b`.
    pub pair: String,
    pub summary: WinTieLose,
    pub records: Vec<CompareRecord>,
}

/// Compare the named models' outputs pair by pair (pairs naming a model that is
/// not there are left out), with bootstrap intervals from `resamples` resamples.
pub fn compare_models(
    outputs: &[(String, Vec<OutputRecord>)],
    pairs: &[(&str, &str)],
    resamples: usize,
    seed: u64,
) -> Result<Vec<PairComparison>> {
    let find = |name: &str| outputs.iter().find(|o| o.0 == name).map(|o| &o.1);
    let mut out = Vec::new();
    for (a, b) in pairs {
        let (Some(x), Some(y)) = (find(a), find(b)) else {
            continue;
        };
        let records = compare(x, y, pairwise::DEFAULT_MARGIN)?;
        out.push(PairComparison {
            pair: format!("{a}-vs-{b}"),
            summary: win_tie_lose(&records, resamples, seed),
            records,
        });
    }
    Ok(out)
}

/// The lab's comparisons: TPPO against PPO and against SFT, PPO against SFT.
pub const PAIRS: [(&str, &str); 3] = [("tppo", "ppo"), ("tppo", "sft"), ("ppo", "sft")];

/// Compare two models' outputs user by user (the same users, in any order).
pub fn compare(a: &[OutputRecord], b: &[OutputRecord], margin: f32) -> Result<Vec<CompareRecord>> {
    let by_id: std::collections::HashMap<&str, &OutputRecord> =
        b.iter().map(|r| (r.user_id.as_str(), r)).collect();
    if a.len() != b.len() {
        return Err(Error::Invalid(format!(
            "the two outputs cover {} and {} users: compare the same users",
            a.len(),
            b.len()
        )));
    }
    a.iter()
        .map(|ra| {
            let rb = by_id.get(ra.user_id.as_str()).ok_or_else(|| {
                Error::Invalid(format!(
                    "user {:?} of model {} has no output from model {}",
                    ra.user_id, ra.model, b[0].model
                ))
            })?;
            let ab = pairwise::prefer(&ra.judgement, &rb.judgement, margin);
            let ba = pairwise::prefer(&rb.judgement, &ra.judgement, margin);
            let (outcome, consistent) = pairwise::outcome(ab, ba);
            Ok(CompareRecord {
                user_id: ra.user_id.clone(),
                history: ra.history.clone(),
                a: ra.clone(),
                b: (*rb).clone(),
                ab,
                ba,
                outcome,
                consistent,
            })
        })
        .collect()
}

/// Win / tie / lose of A against B over compare records.
pub fn win_tie_lose(records: &[CompareRecord], resamples: usize, seed: u64) -> WinTieLose {
    let o: Vec<(Outcome, bool)> = records.iter().map(|r| (r.outcome, r.consistent)).collect();
    pairwise::summarise(&o, resamples, seed)
}

/// Read a JSONL file of serde records (`what` names the expected shape in errors);
/// every bad line is reported, with its line number.
fn read_records<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
    what: &str,
) -> std::result::Result<Vec<T>, InputErrors> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (line, text) in crate::data::jsonl::lines(bytes) {
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(text) {
            Ok(r) => out.push(r),
            Err(e) => errors.push(InputError::new(
                file,
                line,
                "",
                format!("expected {what}: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InputErrors(errors))
    }
}

/// Read an outputs JSONL file from disk (see [`read_outputs`]).
pub fn read_outputs_file(path: &std::path::Path) -> crate::Result<Vec<OutputRecord>> {
    let bytes = crate::io::read_file(path)?;
    read_outputs(&path.display().to_string(), &bytes).map_err(crate::Error::Input)
}

/// Read an outputs JSONL file (written by `tppo eval`); every bad line is reported.
pub fn read_outputs(
    file: &str,
    bytes: &[u8],
) -> std::result::Result<Vec<OutputRecord>, InputErrors> {
    read_records(
        file,
        bytes,
        "an outputs record {user_id, model, history, response, judgement, tokens}",
    )
}

/// The largest file the browser lab imports.
pub const MAX_IMPORT_BYTES: usize = 16 << 20;

/// An imported file, validated, with what the page shows of it: the relevance rate
/// of outputs, or the win / tie / lose of compare records.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Imported {
    Outputs {
        records: Vec<OutputRecord>,
        relevance: Relevance,
    },
    Compare {
        records: Vec<CompareRecord>,
        summary: WinTieLose,
    },
}

/// Validate an imported JSONL: compare records when the first line has `outputs`-style
/// `a` and `b`, else outputs records; at most [`MAX_IMPORT_BYTES`]; every bad line named.
pub fn import_jsonl(name: &str, bytes: &[u8]) -> crate::Result<Imported> {
    import_within(name, bytes, MAX_IMPORT_BYTES)
}

fn import_within(name: &str, bytes: &[u8], max_bytes: usize) -> crate::Result<Imported> {
    if bytes.len() > max_bytes {
        return Err(crate::Error::Invalid(format!(
            "{name}: {} bytes, more than the {} MB the lab imports",
            bytes.len(),
            max_bytes >> 20
        )));
    }
    let first = crate::data::jsonl::lines(bytes)
        .find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(_, l)| l);
    let is_compare = first
        .and_then(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .is_some_and(|v| v.get("a").is_some() && v.get("b").is_some());
    if is_compare {
        read_records(
            name,
            bytes,
            "a compare record {user_id, history, a, b, ab, ba, outcome, consistent}",
        )
        .map(|records: Vec<CompareRecord>| Imported::Compare {
            summary: win_tie_lose(&records, 1000, 1),
            records,
        })
        .map_err(crate::Error::Input)
    } else {
        read_outputs(name, bytes)
            .map(|records| Imported::Outputs {
                relevance: relevance(&records.iter().map(|r| &r.judgement).collect::<Vec<_>>()),
                records,
            })
            .map_err(crate::Error::Input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labeler::sentence_verdict;

    fn record(user: &str, sentence_relevant: bool) -> OutputRecord {
        let mut j = sentence_verdict("", Vec::new(), 0.5);
        j.sentence = if sentence_relevant { 2 } else { 1 };
        OutputRecord {
            user_id: user.into(),
            model: "m".into(),
            history: Vec::new(),
            response: String::new(),
            judgement: j,
            tokens: Vec::new(),
            targets: Vec::new(),
            metrics: None,
            meta: None,
            run: None,
        }
    }

    #[test]
    fn relevance_rate_and_interval() {
        let rs: Vec<OutputRecord> = (0..10).map(|i| record(&format!("u{i}"), i < 8)).collect();
        let r = relevance(&rs.iter().map(|r| &r.judgement).collect::<Vec<_>>());
        assert_eq!((r.n, r.relevant), (10, 8));
        assert!((r.rate - 0.8).abs() < 1e-12);
        assert!((r.ci.lo - 0.490_18).abs() < 1e-4);
    }

    #[test]
    fn outputs_round_trip_and_bad_lines_are_named() {
        let rs = [record("u1", true), record("u2", false)];
        let mut text = String::new();
        for r in &rs {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        let back = read_outputs("o.jsonl", text.as_bytes()).unwrap();
        assert_eq!(back.len(), 2);
        text.push_str("{\"user_id\": 3}\n");
        let err = read_outputs("o.jsonl", text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("o.jsonl:3"), "{err}");
    }

    #[test]
    fn imports_are_capped_typed_and_never_rendered() {
        let evil = record("<img src=x onerror=alert(1)>", true);
        let line = serde_json::to_string(&evil).unwrap();
        match import_jsonl("x.jsonl", line.as_bytes()).unwrap() {
            Imported::Outputs { records, .. } => assert_eq!(records[0].user_id, evil.user_id),
            Imported::Compare { .. } => panic!("outputs expected"),
        }
        let one = std::slice::from_ref(&evil);
        let c = compare(one, one, 0.05).unwrap();
        let cl = serde_json::to_string(&c[0]).unwrap();
        assert!(matches!(
            import_jsonl("c.jsonl", cl.as_bytes()).unwrap(),
            Imported::Compare { .. }
        ));
        let big = import_within("big.jsonl", line.as_bytes(), 10)
            .unwrap_err()
            .to_string();
        assert!(big.contains("big.jsonl") && big.contains("bytes"), "{big}");
        let bad = format!("{cl}\n{{\"a\": 1, \"b\": 2}}\n");
        let err = import_jsonl("c.jsonl", bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.jsonl:2"), "{err}");
    }

    #[test]
    fn compare_needs_the_same_users() {
        let a = [record("u1", true), record("u2", false)];
        let b = [record("u2", true), record("u1", true)];
        let c = compare(&a, &b, 0.05).unwrap();
        assert_eq!(c[0].user_id, "u1");
        assert_eq!(c[1].b.user_id, "u2");
        let other = [record("u1", true), record("u9", true)];
        assert!(
            compare(&a, &other, 0.05)
                .unwrap_err()
                .to_string()
                .contains("u2")
        );
    }
}
