//! `Lab`: the browser lab's state, owned by a Web Worker. It converts types at the
//! JS boundary and awaits device reads; the work is the library's, the same code as
//! the command line's:
//!
//! - `create`: WebGPU (or the CPU backend when asked or when WebGPU fails), the
//!   [`Kit`] (tokenizer, the judge from its precomputed statistics), the eval users,
//!   and the token reward model (kind and tokenizer checked): what the first view
//!   needs; `set_rest`: the SFT policy, the sentence reward model and the training
//!   users, which the page sends while the user reads the first view;
//! - `score` / `shade`: token rewards of a response (eq. 5 with the page's α and sl),
//!   the sentence reward model's score, the judge's word labels with evidence;
//! - `start` / `step`: PPO (`sentence`) and TPPO (`token`) runs ([`Run`]) from the
//!   same SFT start and seed;
//! - `compare`: SFT / PPO / TPPO outputs for the first users ([`eval::outputs`] with
//!   each run's own α and sl), judged, with win / tie / lose ([`eval::compare_models`]);
//! - `rm_start` / `rm_step`: a token and a sentence reward model training live
//!   ([`RmTrainer`]) on the judge's labels of target responses;
//! - `import_jsonl`: validate an outputs or compare JSONL ([`eval::import_jsonl`]).

use super::{js_err, to_js};
use crate::backend::BackendInfo;
use crate::data::User;
use crate::eval::{self, OutputRecord};
use crate::kit::Kit;
use crate::model::checkpoint::{self, CheckpointInfo};
use crate::model::policy::{Policy, PolicyConfig, SampleConfig};
use crate::model::prompt::{MAX_PROMPT, MAX_RESPONSE};
use crate::reward::data::RmExample;
use crate::reward::lwp::LwpConfig;
use crate::reward::model::{self as rm, Level, RewardModel};
use crate::reward::train::{RmTrainConfig, RmTrainer, evaluate_async};
use crate::rl::run::Run;
use crate::rl::{PpoConfig, RewardMode};
use crate::web::protocol::{
    Compared, CreditColours, CreditReply, JudgedWord, ModeCredit, ModelRelevance, RmEvalPoint,
    RmSettings, RmStarted, RmStepPoint, RunSettings, Scored, StepReply,
};
use burn::module::Module;
use burn::tensor::Device;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Lab {
    device: Device,
    info: BackendInfo,
    kit: Kit,
    users: Vec<User>,
    rm_token: RewardModel,
    /// The SFT policy (with its bytes) and the sentence reward model: loaded after
    /// `create`, while the user reads the first view (`set_rest`).
    sft: Option<(Policy, std::rc::Rc<Vec<u8>>)>,
    rm_sentence: Option<RewardModel>,
    runs: Vec<Run>,
    rm_runs: Vec<(RmTrainer, Vec<RmExample>, Vec<RmExample>)>,
    /// The credit view's response (the SFT policy's greedy answer) for the user index:
    /// the same at every iteration, so generated once per user.
    credit_response: std::cell::RefCell<Option<(usize, String)>>,
}

/// A mode name from the page: "sentence" (PPO) or "token" (TPPO).
fn mode(name: &str) -> Result<RewardMode, JsError> {
    match name {
        "sentence" => Ok(RewardMode::Sentence),
        "token" => Ok(RewardMode::Token),
        other => Err(js_err(format!("unknown mode {other:?}: sentence or token"))),
    }
}

#[wasm_bindgen]
impl Lab {
    /// Load what the first view needs. `backend`: "auto" (WebGPU, else CPU), "cpu" or
    /// "no-webgpu" ([`super::device_for`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        backend: String,
        tokenizer: Vec<u8>,
        vectors: Vec<u8>,
        vocab: String,
        judge_stats: Vec<u8>,
        labeler_json: String,
        interests_json: String,
        users: Vec<u8>,
        rm_token: Vec<u8>,
    ) -> Result<Lab, JsError> {
        super::init_once();
        let (device, info) = super::device_for(&backend).await;
        let kit = Kit::from_bytes_with_statistics(
            &tokenizer,
            &vectors,
            &vocab,
            &judge_stats,
            &labeler_json,
            &interests_json,
        )
        .map_err(js_err)?;
        let users = crate::data::jsonl::read_users_bytes(
            "data/eval.jsonl",
            &crate::io::maybe_gunzip(&users).map_err(js_err)?,
        )
        .map_err(js_err)?;
        let fp = kit.fingerprint();
        Ok(Lab {
            rm_token: rm::from_bytes("rm-token.safetensors", &rm_token, &fp, &device)
                .map_err(js_err)?,
            rm_sentence: None,
            device,
            info,
            kit,
            users,
            sft: None,
            runs: Vec::new(),
            rm_runs: Vec::new(),
            credit_response: std::cell::RefCell::new(None),
        })
    }

    /// What the first view does not need: the shipped SFT policy and sentence reward
    /// model (checked like every checkpoint), the training users (RL prompts, the
    /// live reward models' data) and the query corpus (the gold score of the live
    /// runs' rollouts). The page sends them once the first view is up, when no other
    /// call is in flight (this takes `&mut self`).
    pub fn set_rest(
        &mut self,
        sft: Vec<u8>,
        rm_sentence: Vec<u8>,
        train: Vec<u8>,
        corpus: Vec<u8>,
    ) -> Result<(), JsError> {
        let fp = self.kit.fingerprint();
        let (policy, _) = checkpoint::policy_from_bytes("sft.safetensors", &sft, &fp, &self.device)
            .map_err(js_err)?;
        let rm_sentence =
            rm::from_bytes("rm-sentence.safetensors", &rm_sentence, &fp, &self.device)
                .map_err(js_err)?;
        self.kit.set_train(&train).map_err(js_err)?;
        self.kit.set_corpus(&corpus).map_err(js_err)?;
        self.sft = Some((policy, std::rc::Rc::new(sft)));
        *self.credit_response.borrow_mut() = None;
        self.rm_sentence = Some(rm_sentence);
        Ok(())
    }

    fn train_loaded(&self) -> Result<(), JsError> {
        if self.kit.train.is_empty() {
            return Err(js_err("the training users are still loading"));
        }
        Ok(())
    }

    /// The SFT policy and its bytes (cheap clones: the tensors and bytes are shared).
    fn sft(&self) -> Result<(Policy, std::rc::Rc<Vec<u8>>), JsError> {
        self.sft
            .clone()
            .ok_or_else(|| js_err("the SFT policy is still loading"))
    }

    fn rm_sentence(&self) -> Result<&RewardModel, JsError> {
        self.rm_sentence
            .as_ref()
            .ok_or_else(|| js_err("the sentence reward model is still loading"))
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

    /// The first started run of a mode (the settings' own seed): what the other views
    /// (generate, compare, credit, export) show of "ppo" and "tppo".
    fn run(&self, reward: RewardMode) -> Option<&Run> {
        self.runs.iter().find(|r| r.cfg().reward == reward)
    }

    /// The policy of a model ("sft", "ppo" or "tppo", the latter two once started)
    /// and the lwp its token rewards are shown with (a run's own α and sl).
    fn policy_of(&self, model: &str) -> Result<(Policy, LwpConfig), JsError> {
        let reward = match model {
            "sft" => return Ok((self.sft()?.0, LwpConfig::default())),
            "ppo" => RewardMode::Sentence,
            "tppo" => RewardMode::Token,
            other => return Err(js_err(format!("unknown model {other:?}: sft, ppo or tppo"))),
        };
        self.run(reward)
            .map(|r| (r.policy(), r.cfg().lwp))
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
        let (policy, _) = self.policy_of(&model)?;
        let user = self.user_ref(index)?.clone();
        let cfg = SampleConfig {
            temperature,
            seed,
            ..SampleConfig::greedy()
        };
        let out = crate::model::respond::respond(
            &policy,
            &self.kit.prompter(),
            &[user],
            &cfg,
            1,
            &self.device,
        )
        .await
        .map_err(js_err)?;
        Ok(out.into_iter().next().unwrap_or_default())
    }

    /// Token rewards (margins P(2) − P(1), and eq. 5 with `alpha` and `sl`), the
    /// sentence RM's score (null while it is still loading) and the judge's words for
    /// a response.
    pub async fn score(
        &self,
        index: usize,
        response: String,
        alpha: f32,
        sl: f32,
    ) -> Result<JsValue, JsError> {
        let user = self.user_ref(index)?.clone();
        let lwp = LwpConfig { alpha, sl };
        let rec = self
            .judged(
                "page",
                std::slice::from_ref(&user),
                std::slice::from_ref(&response),
                lwp,
            )
            .await?;
        let (p, _) = self.kit.prompter().prompt(&user.history).map_err(js_err)?;
        let mut ids = self.kit.tok.encode(&response).map_err(js_err)?.ids;
        ids.push(self.kit.sp.eos);
        let sentence = match &self.rm_sentence {
            Some(rm) => rm
                .margins(&[&p], &[&ids], self.kit.sp.pad, &self.device)
                .await
                .map_err(js_err)?
                .first()
                .and_then(|m| m.last().copied()),
            None => None,
        };
        let r = &rec[0];
        let words = r
            .judgement
            .words
            .iter()
            .map(|w| JudgedWord {
                text: w.text.clone(),
                class: w.class,
                evidence: w.evidence.to_string(),
            })
            .collect();
        to_js(&Scored {
            tokens: r.tokens.clone(),
            colours: r
                .tokens
                .iter()
                .map(|t| crate::reward::lwp::colour(t.reward))
                .collect(),
            sentence_score: sentence,
            words,
            queries: r.judgement.queries.clone(),
            sentence: r.judgement.sentence,
            relevant_fraction: r.judgement.relevant_fraction,
        })
    }

    /// Judge responses and attach the token reward model's rewards (see [`eval::records`]).
    async fn judged(
        &self,
        model: &str,
        users: &[User],
        texts: &[String],
        lwp: LwpConfig,
    ) -> Result<Vec<OutputRecord>, JsError> {
        eval::records(
            model,
            users,
            texts,
            &self.kit,
            Some(&self.rm_token),
            lwp,
            &self.device,
        )
        .await
        .map_err(js_err)
    }

    /// Start (or restart) a PPO ("sentence") or TPPO ("token") run from the SFT policy.
    pub fn start(&mut self, mode_name: String, settings: JsValue) -> Result<(), JsError> {
        let s: RunSettings = serde_wasm_bindgen::from_value(settings).map_err(js_err)?;
        self.train_loaded()?;
        let reward = mode(&mode_name)?;
        let mut cfg = PpoConfig {
            reward,
            seed: s.seed,
            batch_size: s.batch_size,
            max_new: s.max_new,
            lr: s.lr,
            kl_coef: s.kl_coef,
            kl_target: s.kl_target,
            grad_shards: crate::cpu::par::PIECES,
            ..PpoConfig::default()
        };
        cfg.lwp = LwpConfig {
            alpha: s.alpha,
            sl: s.sl,
        };
        let rm = if reward.uses_token_rm() {
            self.rm_token.clone()
        } else {
            self.rm_sentence()?.clone()
        };
        let sft_bytes = self.sft()?.1;
        let run = Run::new(
            &self.kit,
            cfg,
            ("sft.safetensors", &sft_bytes),
            rm,
            &self.device,
        )
        .map_err(js_err)?;
        self.runs
            .retain(|r| !(r.cfg().reward == reward && r.cfg().seed == s.seed));
        self.runs.push(run);
        Ok(())
    }

    /// Forget every PPO / TPPO run (before a new start with other settings or seeds).
    pub fn clear_runs(&mut self) {
        self.runs.clear();
    }

    /// One iteration of the started run of `mode_name` and `seed`, on the next
    /// training users of its seed.
    pub async fn step(&mut self, mode_name: String, seed: u64) -> Result<JsValue, JsError> {
        let reward = mode(&mode_name)?;
        let run = self
            .runs
            .iter_mut()
            .find(|r| r.cfg().reward == reward && r.cfg().seed == seed)
            .ok_or_else(|| js_err(format!("{mode_name}, seed {seed}: start the run first")))?;
        let step = run.step(&self.kit).await.map_err(js_err)?;
        to_js(&StepReply {
            metrics: step.metrics,
            samples: step.texts.into_iter().take(3).collect(),
        })
    }

    /// Where each started run puts the credit of one response to eval user `index` —
    /// the SFT policy's greedy answer, the same across iterations: per token the
    /// reward, the critic's value and GAE's advantage ([`Run::credit`]).
    pub async fn credit(&self, index: usize) -> Result<JsValue, JsError> {
        if self.runs.is_empty() {
            return Err(js_err("no run yet: press step or play"));
        }
        let user = self.user_ref(index)?.clone();
        let cached = self
            .credit_response
            .borrow()
            .as_ref()
            .filter(|(i, _)| *i == index)
            .map(|(_, r)| r.clone());
        let response = match cached {
            Some(r) => r,
            None => {
                let r = self.generate("sft".into(), index, 0.0, 0).await?;
                *self.credit_response.borrow_mut() = Some((index, r.clone()));
                r
            }
        };
        let paint = |v: &[f32]| -> Vec<String> {
            v.iter().map(|&x| crate::reward::lwp::colour(x)).collect()
        };
        let mut tokens = Vec::new();
        let mut modes = Vec::new();
        for reward in [RewardMode::Sentence, RewardMode::Token] {
            let Some(run) = self.run(reward) else {
                continue;
            };
            let (t, credit) = run
                .credit(&self.kit, &user, &response)
                .await
                .map_err(js_err)?;
            tokens = t;
            modes.push(ModeCredit {
                mode: reward.name().to_string(),
                iter: run.iterations(),
                kl_coef: run.kl_coef(),
                gamma: run.cfg().gamma,
                lam: run.cfg().lam,
                rm_tokens: credit.rm_tokens(run.kl_coef()),
                colours: CreditColours {
                    rewards: paint(&credit.rewards),
                    values: paint(&credit.values),
                    advantages: paint(&credit.advantages),
                },
                credit,
            });
        }
        to_js(&CreditReply {
            response,
            tokens,
            modes,
        })
    }

    /// SFT / PPO / TPPO outputs (greedy) for the first `n` users, judged and compared.
    pub async fn compare(&self, n: usize) -> Result<JsValue, JsError> {
        let users: Vec<User> = self.users.iter().take(n.max(1)).cloned().collect();
        let mut outputs: Vec<(String, Vec<OutputRecord>)> = Vec::new();
        for model in ["sft", "ppo", "tppo"] {
            let Ok((policy, lwp)) = self.policy_of(model) else {
                continue;
            };
            let recs = eval::outputs(
                model,
                &policy,
                &self.kit,
                &users,
                Some(&self.rm_token),
                lwp,
                &SampleConfig::greedy(),
                &self.device,
            )
            .await
            .map_err(js_err)?;
            outputs.push((model.to_string(), recs));
        }
        let pairs = eval::compare_models(&outputs, &eval::PAIRS, 1000, 1).map_err(js_err)?;
        let relevance = outputs
            .iter()
            .map(|(m, r)| ModelRelevance {
                model: m.clone(),
                relevance: eval::relevance_of(r),
                metrics: eval::metrics_of(r),
            })
            .collect();
        to_js(&Compared { relevance, pairs })
    }

    /// Start training a token and a sentence reward model side by side from the SFT
    /// trunk, on the judge's labels of the targets of the first train users (the CLI
    /// also labels the policy's own samples; the page keeps to the targets to start at once).
    pub fn rm_start(&mut self, settings: JsValue) -> Result<JsValue, JsError> {
        let s: RmSettings = serde_wasm_bindgen::from_value(settings).map_err(js_err)?;
        self.train_loaded()?;
        let kit = &self.kit;
        let label = |users: &[User]| -> Result<Vec<RmExample>, JsError> {
            let labeled = crate::reward::rlaif::label(
                kit,
                users,
                &crate::reward::rlaif::targets(users),
                MAX_RESPONSE,
            )
            .map_err(js_err)?;
            crate::reward::data::examples(
                &kit.tok,
                kit.sp,
                users,
                &labeled.records,
                MAX_PROMPT,
                MAX_RESPONSE,
            )
            .map(|ex| ex.examples)
            .map_err(js_err)
        };
        let train = label(&kit.train[..s.users.clamp(8, kit.train.len())])?;
        let eval = label(&self.users[..s.eval_users.clamp(8, self.users.len())])?;
        let ad = self.device.clone().autodiff();
        self.rm_runs.clear();
        for level in [Level::Token, Level::Sentence] {
            let (model, _) = rm::from_sft(
                "sft.safetensors",
                &self.sft()?.1,
                level,
                &kit.fingerprint(),
                &ad,
            )
            .map_err(js_err)?;
            let cfg = RmTrainConfig {
                level,
                w: s.w,
                batch_size: s.batch_size.clamp(1, 64),
                lr: s.lr,
                seed: s.seed,
                grad_shards: crate::cpu::par::PIECES,
                ..RmTrainConfig::default()
            }
            .balanced(&train);
            self.rm_runs
                .push((RmTrainer::new(model, cfg), train.clone(), eval.clone()));
        }
        let relevant = train.iter().filter(|e| e.sentence == 2).count();
        to_js(&RmStarted {
            train: train.len(),
            eval: eval.len(),
            relevant_train: relevant,
        })
    }

    /// Evaluate both reward models on the held-out users (step 0 included).
    pub async fn rm_eval(&self) -> Result<JsValue, JsError> {
        let mut out = Vec::new();
        for (t, _, eval) in &self.rm_runs {
            let e = evaluate_async(
                &t.model.valid(),
                eval,
                &t.cfg,
                self.kit.sp.pad,
                &self.device,
            )
            .await;
            out.push(RmEvalPoint {
                level: t.cfg.level,
                step: t.step,
                eval: e,
            });
        }
        to_js(&out)
    }

    /// `steps` training steps of both reward models; their last training losses.
    pub async fn rm_step(&mut self, steps: usize) -> Result<JsValue, JsError> {
        if self.rm_runs.is_empty() {
            return Err(js_err("start the reward-model run first"));
        }
        let ad = self.device.clone().autodiff();
        let mut out = Vec::new();
        for (t, train, _) in &mut self.rm_runs {
            let mut loss = f32::NAN;
            for _ in 0..steps.max(1) {
                loss = t.step(train, self.kit.sp.pad, &ad).await.map_err(js_err)?;
            }
            out.push(RmStepPoint {
                level: t.cfg.level,
                step: t.step,
                train_loss: loss,
            });
        }
        to_js(&out)
    }

    /// Validate an imported JSONL (outputs from `tppo eval` or records from `tppo compare`).
    pub fn import_jsonl(&self, name: String, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        eval::import_jsonl(&name, &bytes)
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
        let reward = match model.as_str() {
            "ppo" => RewardMode::Sentence,
            "tppo" => RewardMode::Token,
            other => return Err(js_err(format!("unknown model {other:?}: ppo or tppo"))),
        };
        let run = self
            .run(reward)
            .ok_or_else(|| js_err(format!("{model} has not been trained yet: press play")))?;
        let info: CheckpointInfo<PolicyConfig> = CheckpointInfo {
            kind: "policy".into(),
            config: run.policy_config,
            tokenizer: self.kit.fingerprint(),
        };
        checkpoint::to_bytes(&run.policy(), &info).map_err(js_err)
    }
}
