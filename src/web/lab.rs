//! `Lab`: everything the browser lab does, as one object a Web Worker owns.
//! A thin shell: every method calls the library (the same code as the CLI).
//!
//! - `create`: WebGPU (or the CPU backend when asked or when WebGPU fails), the
//!   tokenizer, the judge, the users, and the shipped SFT policy and reward models.
//! - `score`: token rewards of a response (margin P(2) − P(1) per token; the page
//!   applies lwp with [`super::lwp_curve`] so the sliders recolour without a call),
//!   the sentence reward model's score, the judge's word labels with evidence.
//! - `start` / `step`: PPO (`sentence`) and TPPO (`token`) runs from the same SFT
//!   start and seed; each step is one iteration and returns its metrics.
//! - `compare`: SFT / PPO / TPPO outputs for the first users, judged, with
//!   win / tie / lose and bootstrap intervals.
//! - `import_jsonl`: validate an outputs or compare JSONL from `tppo eval` / `tppo compare`.
//!
//! Weights reach the device from bytes (uploads only); every read from the device is
//! async (`into_data_async`): burn's synchronous reads panic on WebGPU.

use super::{init_once, js_err, maybe_gunzip, to_js};
use crate::backend::BackendInfo;
use crate::data::User;
use crate::eval::{self, OutputRecord};
use crate::labeler::Labeler;
use crate::labeler::labels::LabelRecord;
use crate::model::checkpoint::{self, CheckpointInfo};
use crate::model::policy::{Policy, PolicyConfig, SampleConfig};
use crate::model::prompt::{Prompter, Special};
use crate::reward::data::RmExample;
use crate::reward::model::{Level, RewardModel, RewardModelConfig};
use crate::reward::train::{RmTrainConfig, batch_loss, evaluate_async};
use crate::rl::{Metrics, Ppo, PpoConfig, RewardMode};
use crate::tokenize::Tok;
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// The largest file the lab imports.
pub const MAX_IMPORT_BYTES: usize = 16 << 20;
const MAX_PROMPT: usize = 192;

#[wasm_bindgen]
pub struct Lab {
    device: Device,
    info: BackendInfo,
    tok: Tok,
    sp: Special,
    labeler: Labeler,
    users: Vec<User>,
    train: Vec<User>,
    sft_bytes: Vec<u8>,
    sft_cfg: PolicyConfig,
    sft: Policy,
    rm_token: RewardModel,
    rm_sentence: RewardModel,
    runs: Vec<(RewardMode, Ppo)>,
    rm_runs: Vec<RmRun>,
}

/// A reward model training live in the page (view 3).
struct RmRun {
    model: RewardModel,
    optim: burn::optim::ModuleOptimizer,
    cfg: RmTrainConfig,
    train: Vec<RmExample>,
    eval: Vec<RmExample>,
    rng: rand_chacha::ChaCha8Rng,
    step: usize,
}

/// Settings of the page's reward-model run.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RmSettings {
    /// Train users whose target responses the judge labels.
    pub users: usize,
    /// Eval users (their targets) for the AUC.
    pub eval_users: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub w: f32,
    pub seed: u64,
}

/// A run's settings from the page (everything else: [`PpoConfig::default`]).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RunSettings {
    pub seed: u64,
    pub batch_size: usize,
    pub max_new: usize,
    pub lr: f64,
    pub kl_coef: f32,
    pub alpha: f32,
    pub sl: f32,
}

#[derive(Serialize)]
struct Step {
    metrics: Metrics,
    /// The first rollouts of the batch, decoded.
    samples: Vec<String>,
}

fn load_policy(
    name: &str,
    bytes: &[u8],
    device: &Device,
) -> Result<(Policy, PolicyConfig), JsError> {
    let info: CheckpointInfo<PolicyConfig> = checkpoint::read_info(name, bytes).map_err(js_err)?;
    let p = checkpoint::load_into(name, bytes, info.config.init(device)).map_err(js_err)?;
    Ok((p, info.config))
}

fn load_rm(name: &str, bytes: &[u8], device: &Device) -> Result<RewardModel, JsError> {
    let info: CheckpointInfo<RewardModelConfig> =
        checkpoint::read_info(name, bytes).map_err(js_err)?;
    checkpoint::load_into(name, bytes, info.config.init(device)).map_err(js_err)
}

#[wasm_bindgen]
impl Lab {
    /// Load everything. `backend`: "auto" (WebGPU, else CPU) or "cpu".
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        backend: String,
        tokenizer: Vec<u8>,
        vectors: Vec<u8>,
        vocab: String,
        train: Vec<u8>,
        labeler_json: String,
        users: Vec<u8>,
        sft: Vec<u8>,
        rm_token: Vec<u8>,
        rm_sentence: Vec<u8>,
    ) -> Result<Lab, JsError> {
        init_once();
        let (device, info) = if backend == "cpu" {
            (
                crate::backend::cpu(),
                BackendInfo {
                    backend: "cpu".into(),
                    name: "Flex (pure-Rust CPU)".into(),
                    fallback_reason: Some("the CPU backend was asked for (?backend=cpu)".into()),
                    check: 12.0,
                },
            )
        } else {
            crate::backend::detect().await
        };
        let tok = Tok::from_bytes(&tokenizer).map_err(js_err)?;
        let sp = Special::of(&tok).map_err(js_err)?;
        let vectors = crate::vectors::WordVectors::from_bytes(&vectors, &vocab).map_err(js_err)?;
        let train =
            crate::data::jsonl::read_users_bytes("data/train.jsonl.gz", &maybe_gunzip(&train)?)
                .map_err(js_err)?;
        let file: crate::labeler::calibrate::LabelerFile = serde_json::from_str(&labeler_json)
            .map_err(|e| js_err(format!("data/labeler.json: {e}")))?;
        let users = crate::data::jsonl::read_users_bytes("data/eval.jsonl", &maybe_gunzip(&users)?)
            .map_err(js_err)?;
        let (sft_model, sft_cfg) = load_policy("sft.safetensors", &sft, &device)?;
        let fp = tok.fingerprint();
        for (name, bytes) in [
            ("sft.safetensors", &sft),
            ("rm-token.safetensors", &rm_token),
            ("rm-sentence.safetensors", &rm_sentence),
        ] {
            let info: CheckpointInfo<serde_json::Value> =
                checkpoint::read_info(name, bytes).map_err(js_err)?;
            if info.tokenizer != fp {
                return Err(js_err(format!(
                    "{name}: trained with tokenizer {}, but data/tokenizer.json is {fp}",
                    info.tokenizer
                )));
            }
        }
        Ok(Lab {
            rm_token: load_rm("rm-token.safetensors", &rm_token, &device)?,
            rm_sentence: load_rm("rm-sentence.safetensors", &rm_sentence, &device)?,
            labeler: Labeler::new(file.config, vectors, &train),
            device,
            info,
            tok,
            sp,
            users,
            train,
            sft_bytes: sft,
            sft_cfg,
            sft: sft_model,
            runs: Vec::new(),
            rm_runs: Vec::new(),
        })
    }

    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js(&self.info)
    }

    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// The user at `index`: id, history, targets.
    pub fn user(&self, index: usize) -> Result<JsValue, JsError> {
        to_js(self.user_ref(index)?)
    }

    fn user_ref(&self, index: usize) -> Result<&User, JsError> {
        self.users.get(index).ok_or_else(|| {
            js_err(format!(
                "no user at index {index} (there are {})",
                self.users.len()
            ))
        })
    }

    fn prompter(&self) -> Prompter<'_> {
        Prompter {
            tok: &self.tok,
            sp: self.sp,
            max_prompt: MAX_PROMPT,
        }
    }

    /// The policy of a model: "sft", "ppo" or "tppo" (the latter two once started).
    fn policy_of(&self, model: &str) -> Result<Policy, JsError> {
        let mode = match model {
            "sft" => return Ok(self.sft.clone()),
            "ppo" => RewardMode::Sentence,
            "tppo" => RewardMode::Token,
            other => return Err(js_err(format!("unknown model {other:?}: sft, ppo or tppo"))),
        };
        self.runs
            .iter()
            .find(|r| r.0 == mode)
            .map(|r| r.1.policy())
            .ok_or_else(|| js_err(format!("{model} has not been trained yet: press play")))
    }

    /// Generate a response for user `index` from `model`; temperature 0 is greedy.
    pub async fn generate(
        &self,
        model: String,
        index: usize,
        temperature: f32,
        seed: u64,
    ) -> Result<String, JsError> {
        let policy = self.policy_of(&model)?;
        let user = self.user_ref(index)?.clone();
        let cfg = SampleConfig {
            temperature,
            top_k: 0,
            max_new: PpoConfig::default().max_new,
            seed,
        };
        let out = crate::model::respond::respond(
            &policy,
            &self.prompter(),
            &[user],
            &cfg,
            1,
            &self.device,
        )
        .await
        .map_err(js_err)?;
        Ok(out.into_iter().next().unwrap_or_default())
    }

    /// Token rewards (margins), the sentence RM's score and the judge's words for a response.
    pub async fn score(&self, index: usize, response: String) -> Result<JsValue, JsError> {
        let user = self.user_ref(index)?.clone();
        let rec = self
            .judged(
                "page",
                std::slice::from_ref(&user),
                std::slice::from_ref(&response),
            )
            .await?;
        let (p, _) = self.prompter().prompt(&user.history).map_err(js_err)?;
        let mut ids = self.tok.encode(&response).map_err(js_err)?.ids;
        ids.push(self.sp.eos);
        let sentence = self
            .rm_sentence
            .margins(&[&p], &[&ids], self.sp.pad, &self.device)
            .await
            .map_err(js_err)?;
        let r = &rec[0];
        let words: Vec<serde_json::Value> = r
            .judgement
            .words
            .iter()
            .map(|w| serde_json::json!({"text": w.text, "class": w.class, "evidence": w.evidence.to_string()}))
            .collect();
        to_js(&serde_json::json!({
            "tokens": r.tokens,
            "sentence_score": sentence[0].last().copied().unwrap_or(0.0),
            "words": words,
            "queries": r.judgement.queries,
            "sentence": r.judgement.sentence,
            "relevant_fraction": r.judgement.relevant_fraction,
        }))
    }

    /// Judge responses and attach the token reward model's rewards (see [`eval::records`]).
    async fn judged(
        &self,
        model: &str,
        users: &[User],
        texts: &[String],
    ) -> Result<Vec<OutputRecord>, JsError> {
        eval::records(
            model,
            users,
            texts,
            &self.labeler,
            &self.prompter(),
            Some(&self.rm_token),
            crate::config::LwpConfig::default(),
            &self.device,
        )
        .await
        .map_err(js_err)
    }

    /// Start (or restart) a PPO ("sentence") or TPPO ("token") run from the SFT policy.
    pub fn start(&mut self, mode: String, settings: JsValue) -> Result<(), JsError> {
        let s: RunSettings = serde_wasm_bindgen::from_value(settings).map_err(js_err)?;
        let reward = match mode.as_str() {
            "sentence" => RewardMode::Sentence,
            "token" => RewardMode::Token,
            other => return Err(js_err(format!("unknown mode {other:?}: sentence or token"))),
        };
        let mut cfg = PpoConfig {
            reward,
            seed: s.seed,
            batch_size: s.batch_size.clamp(1, 64),
            max_new: s.max_new.clamp(2, 48),
            lr: s.lr,
            kl_coef: s.kl_coef,
            // One piece per minibatch: the wasm module has no threads, and WebGPU
            // prefers one large batch.
            grad_shards: 1,
            ..PpoConfig::default()
        };
        cfg.lwp.alpha = s.alpha;
        cfg.lwp.sl = s.sl;
        let ad = self.device.clone().autodiff();
        let policy =
            checkpoint::load_into("sft.safetensors", &self.sft_bytes, self.sft_cfg.init(&ad))
                .map_err(js_err)?;
        let rm = match reward {
            RewardMode::Token => self.rm_token.clone(),
            RewardMode::Sentence => self.rm_sentence.clone(),
        };
        let ppo = Ppo::new(
            cfg,
            policy,
            self.sft.clone(),
            rm,
            self.sp.eos,
            self.sp.pad,
            ad,
            None,
        )
        .map_err(js_err)?;
        self.runs.retain(|r| r.0 != reward);
        self.runs.push((reward, ppo));
        Ok(())
    }

    /// One iteration of a started run; the prompts are the next train users of its seed.
    pub async fn step(&mut self, mode: String) -> Result<JsValue, JsError> {
        let reward = if mode == "sentence" {
            RewardMode::Sentence
        } else {
            RewardMode::Token
        };
        let prompter = Prompter {
            tok: &self.tok,
            sp: self.sp,
            max_prompt: MAX_PROMPT,
        };
        let (_, ppo) = self
            .runs
            .iter_mut()
            .find(|r| r.0 == reward)
            .ok_or_else(|| js_err(format!("{mode}: start the run first")))?;
        let n = self.train.len().max(1);
        let b = ppo.cfg.batch_size;
        let start = (ppo.iteration_count() * b + (ppo.cfg.seed as usize * 7919)) % n;
        let users: Vec<&User> = (0..b).map(|k| &self.train[(start + k) % n]).collect();
        let prompts = users
            .iter()
            .map(|u| prompter.prompt(&u.history).map(|p| p.0))
            .collect::<crate::Result<Vec<_>>>()
            .map_err(js_err)?;
        let (mut metrics, ro) = ppo.iteration(&prompts).await.map_err(js_err)?;
        let mut samples = Vec::new();
        let mut relevant = 0;
        for (u, r) in users.iter().zip(&ro.responses) {
            let body: Vec<u32> = r.iter().copied().filter(|&t| t != self.sp.eos).collect();
            let text = crate::model::respond::clean(&self.tok.decode(&body).map_err(js_err)?);
            relevant += usize::from(self.labeler.judge(&u.history, &text).sentence == 2);
            if samples.len() < 3 {
                samples.push(text);
            }
        }
        metrics.judge_relevance = Some(relevant as f32 / users.len().max(1) as f32);
        to_js(&Step { metrics, samples })
    }

    /// SFT / PPO / TPPO outputs (greedy) for the first `n` users, judged and compared.
    pub async fn compare(&self, n: usize) -> Result<JsValue, JsError> {
        let users: Vec<User> = self.users.iter().take(n.max(1)).cloned().collect();
        let mut outputs: Vec<(String, Vec<OutputRecord>)> = Vec::new();
        for model in ["sft", "ppo", "tppo"] {
            let Ok(policy) = self.policy_of(model) else {
                continue;
            };
            let cfg = SampleConfig {
                temperature: 0.0,
                top_k: 0,
                max_new: PpoConfig::default().max_new,
                seed: 0,
            };
            let texts = crate::model::respond::respond(
                &policy,
                &self.prompter(),
                &users,
                &cfg,
                16,
                &self.device,
            )
            .await
            .map_err(js_err)?;
            let recs = self.judged(model, &users, &texts).await?;
            outputs.push((model.to_string(), recs));
        }
        let mut pairs = Vec::new();
        for (a, b) in [("tppo", "ppo"), ("tppo", "sft"), ("ppo", "sft")] {
            let (Some(x), Some(y)) = (
                outputs.iter().find(|o| o.0 == a),
                outputs.iter().find(|o| o.0 == b),
            ) else {
                continue;
            };
            let recs = eval::compare(&x.1, &y.1, eval::pairwise::DEFAULT_MARGIN).map_err(js_err)?;
            let summary = eval::win_tie_lose(&recs, 1000, 1);
            pairs.push(serde_json::json!({"pair": format!("{a}-vs-{b}"), "summary": summary, "records": recs}));
        }
        let relevance: Vec<serde_json::Value> = outputs
            .iter()
            .map(|(m, r)| {
                serde_json::json!({"model": m, "relevance": eval::relevance(&r.iter().map(|x| &x.judgement).collect::<Vec<_>>())})
            })
            .collect();
        to_js(&serde_json::json!({"relevance": relevance, "pairs": pairs}))
    }

    /// Start training a token and a sentence reward model side by side from the SFT
    /// trunk, on the judge's labels of the targets of the first train users (the CLI
    /// also labels the policy's own samples; the page keeps to the targets to start at once).
    pub fn rm_start(&mut self, settings: JsValue) -> Result<JsValue, JsError> {
        use rand::SeedableRng;
        let s: RmSettings = serde_wasm_bindgen::from_value(settings).map_err(js_err)?;
        let label = |users: &[User]| -> Result<Vec<RmExample>, JsError> {
            let labels: Vec<LabelRecord> = users
                .iter()
                .map(|u| {
                    let j = self.labeler.judge(&u.history, &u.target_response());
                    LabelRecord::from_judgement(&u.user_id, &j, "tppo-judge/target")
                })
                .collect();
            crate::reward::data::examples(&self.tok, self.sp, users, &labels, MAX_PROMPT, 64)
                .map(|ex| ex.examples)
                .map_err(js_err)
        };
        let train = label(&self.train[..s.users.clamp(8, self.train.len())])?;
        let eval = label(&self.users[..s.eval_users.clamp(8, self.users.len())])?;
        let ad = self.device.clone().autodiff();
        self.rm_runs.clear();
        for level in [Level::Token, Level::Sentence] {
            let sft =
                checkpoint::load_into("sft.safetensors", &self.sft_bytes, self.sft_cfg.init(&ad))
                    .map_err(js_err)?;
            let cfg = RmTrainConfig {
                level,
                w: s.w,
                batch_size: s.batch_size.clamp(1, 64),
                lr: s.lr,
                seed: s.seed,
                ..RmTrainConfig::default()
            };
            self.rm_runs.push(RmRun {
                model: RewardModel::from_trunk(sft.into_trunk(), self.sft_cfg.d_model, &ad),
                optim: burn::optim::AdamConfig::new()
                    .with_grad_clipping(Some(
                        burn::optim::grad_clipping::GradientClippingConfig::Norm(1.0),
                    ))
                    .init(),
                cfg,
                train: train.clone(),
                eval: eval.clone(),
                rng: rand_chacha::ChaCha8Rng::seed_from_u64(s.seed),
                step: 0,
            });
        }
        let relevant = train.iter().filter(|e| e.sentence == 2).count();
        to_js(
            &serde_json::json!({"train": train.len(), "eval": eval.len(), "relevant_train": relevant}),
        )
    }

    /// `steps` training steps of both reward models, then their evaluation.
    pub async fn rm_step(&mut self, steps: usize) -> Result<JsValue, JsError> {
        use burn::optim::GradientsParams;
        use rand::Rng;
        if self.rm_runs.is_empty() {
            return Err(js_err("start the reward-model run first"));
        }
        let plain = self.device.clone();
        let mut out = Vec::new();
        for run in &mut self.rm_runs {
            let mut last_loss = f32::NAN;
            for _ in 0..steps.max(1) {
                let n = run.train.len();
                let refs: Vec<&RmExample> = (0..run.cfg.batch_size)
                    .map(|_| &run.train[run.rng.random_range(0..n)])
                    .collect();
                let b = crate::reward::data::batch(&refs, self.sp.pad);
                let loss = batch_loss(
                    &run.model,
                    &b,
                    &run.cfg,
                    Some(&mut run.rng),
                    &self.device.clone().autodiff(),
                );
                last_loss = crate::backend::read_scalar(loss.clone()).await;
                if last_loss.is_finite() {
                    let grads = GradientsParams::from_grads(loss.backward(), &run.model);
                    run.model = run.optim.step(run.cfg.lr, run.model.clone(), grads);
                }
                run.step += 1;
            }
            let eval =
                evaluate_async(&run.model.valid(), &run.eval, &run.cfg, self.sp.pad, &plain).await;
            out.push(serde_json::json!({"level": run.cfg.level, "step": run.step, "train_loss": last_loss, "eval": eval}));
        }
        to_js(&out)
    }

    /// Validate an imported JSONL (outputs from `tppo eval` or records from `tppo compare`).
    pub fn import_jsonl(&self, name: String, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        eval::import_jsonl(&name, &bytes, MAX_IMPORT_BYTES)
            .map_err(js_err)
            .and_then(|v| to_js(&v))
    }

    /// A trained policy as checkpoint bytes (the CPU backend only: saving reads weights synchronously).
    pub fn export_policy(&self, model: String) -> Result<Vec<u8>, JsError> {
        if self.info.backend != "cpu" {
            return Err(js_err(
                "checkpoint export reads the weights synchronously, which WebGPU does not allow: reload with ?backend=cpu to export",
            ));
        }
        let policy = self.policy_of(&model)?;
        let info = CheckpointInfo {
            kind: "policy".into(),
            config: self.sft_cfg,
            tokenizer: self.tok.fingerprint(),
        };
        checkpoint::to_bytes(&policy, &info).map_err(js_err)
    }
}
