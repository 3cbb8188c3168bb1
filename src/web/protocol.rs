//! The page ↔ worker protocol, typed in one place.
//!
//! The page (`www/main.js`) sends its worker (`www/worker.js`) messages `{id, cmd,
//! args}`: [`Request`] lists every command with its arguments, as serde reads such a
//! message (`cmd` the tag, `args` the content). The worker answers `{id, ok, value |
//! error}`; the lab's values are the reply types below (no untyped JSON is built in
//! `src/web/`). The settings the page sends are [`RunSettings`] and [`RmSettings`],
//! which refuse unknown fields.
//!
//! The scripts are JavaScript, so the compiler cannot hold them to this: the tests
//! below read `www/worker.js` and `www/main.js` and fail when they name a command or
//! an argument that [`Request`] lacks (or [`Request`] a command the worker lacks).

use crate::eval::metrics::ModelMetrics;
use crate::eval::{PairComparison, Relevance, TokenReward};
use crate::labeler::QueryVerdict;
use crate::rl::Metrics;
use serde::{Deserialize, Serialize};

/// Every command the worker takes, with its arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "cmd", content = "args", rename_all = "camelCase")]
pub enum Request {
    /// Load the wasm build and the lab: "auto" (WebGPU, else CPU) or "cpu".
    Init { backend: String },
    /// The eval user at `index` (id, history, targets).
    User { index: usize },
    /// lwp(l) for l = 1..=n (eq. 4).
    Lwp { alpha: f32, sl: f32, n: usize },
    /// Eq. 5 on margins, with the heatmap's colours ([`Shaded`]).
    Shade {
        margins: Vec<f32>,
        alpha: f32,
        sl: f32,
    },
    /// The heatmap's colour of each reward.
    Colours { rewards: Vec<f32> },
    /// Token rewards, the sentence score and the judge's words of a response ([`Scored`]).
    Score {
        index: usize,
        response: String,
        alpha: f32,
        sl: f32,
    },
    /// A response of "sft", "ppo" or "tppo" for a user; temperature 0 is greedy.
    Generate {
        model: String,
        index: usize,
        temperature: f32,
        seed: u64,
    },
    /// (Re)start PPO and TPPO from the SFT policy, each with `seeds` seeds
    /// (`settings.seed`, `settings.seed + 1`, …): the bands of the live curves.
    Start { settings: RunSettings, seeds: usize },
    /// One iteration of each run, every seed ([`StepReply`] per mode and seed).
    Step,
    /// Iterate until paused or `iters` iterations (events `step`, then `paused`).
    Play { iters: usize },
    /// Where each run puts the credit of the SFT policy's greedy response to the eval
    /// user at `index` ([`CreditReply`]).
    Credit { index: usize },
    /// Stop `play` or `rmPlay` after the current step.
    Pause,
    /// Start the live reward models ([`RmStarted`]).
    RmStart { settings: RmSettings },
    /// `steps` training steps per evaluation, `evals` times (events `rm`).
    RmPlay { steps: usize, evals: usize },
    /// SFT / PPO / TPPO on the first `n` eval users, judged and compared ([`Compared`]).
    Compare { n: usize },
    /// An outputs or compare JSONL from the command line, validated.
    Import {
        name: String,
        /// An ArrayBuffer, transferred.
        bytes: Vec<u8>,
    },
    /// The slices of the last comparison ([`PairSlices`] per pair).
    Slices {
        #[cfg_attr(test, schemars(with = "serde_json::Value"))]
        spec: crate::eval::slices::SliceSpec,
    },
    /// The last comparison as a static HTML page.
    ComparisonHtml {
        #[cfg_attr(test, schemars(with = "serde_json::Value"))]
        spec: crate::eval::slices::SliceSpec,
    },
    /// The library's size limits ([`Limits`]).
    Limits,
    /// The settings the page's forms start from ([`PageDefaults`]).
    Defaults,
    /// The guided experiments (`presets::Preset`).
    Presets,
    /// Lemma 3.1's toy trained by PPO ([`crate::rl::lemma::LemmaReport`]).
    Lemma { settings: LemmaSettings },
    /// Fetch the SFT policy, the sentence RM and the training users now.
    LoadPolicy,
    /// A trained policy ("ppo" or "tppo") as checkpoint bytes.
    ExportPolicy { model: String },
    /// Destroy the WebGPU devices (the device-loss tests).
    LoseDevice,
    /// The worker's wasm and GPU memory; `collect` runs the garbage collector first.
    Memory {
        #[serde(default)]
        collect: bool,
    },
    /// Every URL the worker fetched.
    Resources,
}

/// A PPO / TPPO run's settings from the page (everything else: [`crate::rl::PpoConfig::default`]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    pub seed: u64,
    pub batch_size: usize,
    pub max_new: usize,
    pub lr: f64,
    pub kl_coef: f32,
    /// Adaptive KL control's target (None: β fixed).
    #[serde(default)]
    pub kl_target: Option<f32>,
    pub alpha: f32,
    pub sl: f32,
}

impl From<&crate::rl::PpoConfig> for RunSettings {
    fn from(c: &crate::rl::PpoConfig) -> Self {
        Self {
            seed: c.seed,
            batch_size: c.batch_size,
            max_new: c.max_new,
            lr: c.lr,
            kl_coef: c.kl_coef,
            kl_target: c.kl_target,
            alpha: c.lwp.alpha,
            sl: c.lwp.sl,
        }
    }
}

impl Default for RunSettings {
    /// [`crate::rl::PpoConfig::page`].
    fn default() -> Self {
        (&crate::rl::PpoConfig::page()).into()
    }
}

/// The page's reward-model run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
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

impl Default for RmSettings {
    /// 256 train users' and 64 eval users' targets (labelled in a few seconds), batches
    /// of 8; the learning rate, w and seed of [`crate::reward::train::RmTrainConfig`].
    fn default() -> Self {
        let d = crate::reward::train::RmTrainConfig::default();
        Self {
            users: 256,
            eval_users: 64,
            batch_size: 8,
            lr: d.lr,
            w: d.w,
            seed: d.seed,
        }
    }
}

/// The Lemma 3.1 toy's settings the page can change ([`crate::rl::lemma::LemmaConfig`]'s others fixed).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LemmaSettings {
    pub beta: f32,
    pub iters: usize,
    pub seed: u64,
}

impl Default for LemmaSettings {
    fn default() -> Self {
        let c = crate::rl::lemma::LemmaConfig::default();
        Self {
            beta: c.beta,
            iters: c.iters,
            seed: c.seed,
        }
    }
}

/// The most iterations the page's Lemma 3.1 toy runs.
pub const MAX_LEMMA_ITERS: usize = 2000;

impl LemmaSettings {
    /// The toy's full settings, or what is wrong with these.
    pub fn config(&self) -> Result<crate::rl::lemma::LemmaConfig, String> {
        if !(self.beta.is_finite() && self.beta >= 0.01) {
            return Err(format!("β: expected a number ≥ 0.01, found {}", self.beta));
        }
        if !(1..=MAX_LEMMA_ITERS).contains(&self.iters) {
            return Err(format!(
                "iterations: expected 1 to {MAX_LEMMA_ITERS}, found {}",
                self.iters
            ));
        }
        Ok(crate::rl::lemma::LemmaConfig {
            beta: self.beta,
            iters: self.iters,
            seed: self.seed,
            ..crate::rl::lemma::LemmaConfig::default()
        })
    }
}

/// `defaults`: what the page's forms start from (a setting in the page's URL wins).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PageDefaults {
    pub run: RunSettings,
    pub rm: RmSettings,
    /// Users the Compare view judges (16: a comparison in seconds).
    pub compare_users: usize,
    /// The temperature of the token view's "Generate" (the rollouts').
    pub temperature: f32,
    /// Seeds per mode of the live PPO vs TPPO runs: the curves' bands (one seed's
    /// curve is easily read as a finding; three show the spread).
    pub seeds: usize,
    /// The Lemma 3.1 view's toy.
    pub lemma: LemmaSettings,
}

/// The most seeds per mode the page runs side by side.
pub const MAX_SEEDS: usize = 5;

impl Default for PageDefaults {
    fn default() -> Self {
        Self {
            run: RunSettings::default(),
            rm: RmSettings::default(),
            compare_users: 16,
            temperature: crate::rl::PpoConfig::page().temperature,
            seeds: 3,
            lemma: LemmaSettings::default(),
        }
    }
}

/// `step`: one iteration's metrics and its first rollouts as text.
#[derive(Debug, Clone, Serialize)]
pub struct StepReply {
    pub metrics: Metrics,
    pub samples: Vec<String>,
}

/// `credit`: one response, its tokens and, per run, its credit with the heatmap's colours.
#[derive(Debug, Clone, Serialize)]
pub struct CreditReply {
    /// The response: the SFT policy's greedy answer (the same across iterations).
    pub response: String,
    pub tokens: Vec<String>,
    pub modes: Vec<ModeCredit>,
}

/// One run's credit of the response ([`crate::rl::Credit`]) after `iter` iterations,
/// each row coloured on the Rewards view's scale (saturating at ±1).
#[derive(Debug, Clone, Serialize)]
pub struct ModeCredit {
    /// "sentence" (PPO) or "token" (TPPO).
    pub mode: String,
    pub iter: usize,
    pub kl_coef: f32,
    /// GAE's γ and λ of the run (the advantages' discount and trace).
    pub gamma: f32,
    pub lam: f32,
    /// Tokens whose reward carries the reward model's part (r_t + β·KL_t ≠ 0): PPO's
    /// last token only, TPPO's every token.
    pub rm_tokens: usize,
    pub credit: crate::rl::Credit,
    pub colours: CreditColours,
}

/// The colours of a [`ModeCredit`]'s rows.
#[derive(Debug, Clone, Serialize)]
pub struct CreditColours {
    pub rewards: Vec<String>,
    pub values: Vec<String>,
    pub advantages: Vec<String>,
}

/// `shade`: eq. 5's rewards and their colours.
#[derive(Debug, Clone, Serialize)]
pub struct Shaded {
    pub rewards: Vec<f32>,
    pub colours: Vec<String>,
}

/// One word of a response as the judge labels it.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedWord {
    pub text: String,
    /// 0 neutral, 1 irrelevant, 2 relevant.
    pub class: u8,
    /// Why, in words.
    pub evidence: String,
}

/// `score`: a response's token rewards with colours, the sentence RM's score (null
/// while it loads), and the judge's words, queries and verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub tokens: Vec<TokenReward>,
    pub colours: Vec<String>,
    pub sentence_score: Option<f32>,
    pub words: Vec<JudgedWord>,
    pub queries: Vec<QueryVerdict>,
    pub sentence: u8,
    pub relevant_fraction: f32,
}

/// One model's judged outputs in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRelevance {
    pub model: String,
    pub relevance: Relevance,
    pub metrics: ModelMetrics,
}

/// `compare`: each model's relevance and metrics, and the pairs' win / tie / lose.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub relevance: Vec<ModelRelevance>,
    pub pairs: Vec<PairComparison>,
}

/// `rmStart`: the labelled responses the live reward models train and are measured on.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RmStarted {
    pub train: usize,
    pub eval: usize,
    pub relevant_train: usize,
}

/// One reward model's evaluation at a step (the `rm` events).
#[derive(Debug, Clone, Serialize)]
pub struct RmEvalPoint {
    pub level: crate::reward::model::Level,
    pub step: usize,
    pub eval: crate::reward::train::RmEval,
}

/// One reward model's last training loss after some steps.
#[derive(Debug, Clone, Serialize)]
pub struct RmStepPoint {
    pub level: crate::reward::model::Level,
    pub step: usize,
    pub train_loss: f32,
}

/// `slices`: one pair's slices.
#[derive(Debug, Clone, Serialize)]
pub struct PairSlices {
    pub pair: String,
    pub slices: Vec<crate::eval::slices::Slice>,
}

/// `limits`: the sizes the library accepts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub max_import_bytes: usize,
    pub max_prompt: usize,
    pub max_response: usize,
    /// Seeds per mode of the live runs.
    pub max_seeds: usize,
}

impl Limits {
    pub fn of_library() -> Self {
        Self {
            max_import_bytes: crate::eval::MAX_IMPORT_BYTES,
            max_prompt: crate::model::prompt::MAX_PROMPT,
            max_response: crate::model::prompt::MAX_RESPONSE,
            max_seeds: MAX_SEEDS,
        }
    }
}

/// The page's benchmark: its settings and the rows of `tppo bench`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReply {
    pub config: crate::bench::BenchConfig,
    pub rows: Vec<crate::bench::BenchRow>,
}

#[cfg(test)]
mod tests;
