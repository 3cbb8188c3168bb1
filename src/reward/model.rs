//! Reward models over [history ; response] (paper §3.3, Fig. 4): the shared
//! trunk and a 3-class head (0 non-reward, 1 irrelevant, 2 relevant).
//!
//! - token level (TPPO): the head on every response token, trained with
//!   eq. 1–3 ([`super::loss`]); its reward for token t is
//!   r_t = lwp(l) · (P(2) − P(1)) (eq. 4–5, [`super::lwp`]).
//! - sentence level (the PPO baseline): the same model shape, trained with
//!   cross-entropy on the sentence label at the last response token only; its
//!   score is P(2) − P(1) there.

use crate::model::batch::{Padded, TailBatch};
use crate::model::trunk::{Trunk, TrunkConfig};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Level {
    Token,
    Sentence,
}

#[derive(Module, Debug)]
pub struct RewardModel {
    trunk: Trunk,
    head: Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RewardModelConfig {
    pub trunk: TrunkConfig,
    pub level: Level,
}

impl RewardModelConfig {
    pub fn init(&self, device: &Device) -> RewardModel {
        RewardModel {
            trunk: self.trunk.init(device),
            head: LinearConfig::new(self.trunk.d_model, 3).init(device),
        }
    }
}

impl RewardModel {
    /// A reward model on an existing trunk (the SFT policy's), with a fresh head.
    pub fn from_trunk(trunk: Trunk, d_model: usize, device: &Device) -> Self {
        RewardModel {
            trunk,
            head: LinearConfig::new(d_model, 3).init(device),
        }
    }

    /// Class logits [B, n, 3] of the last `n` positions of left-padded sequences
    /// (the responses sit at the end).
    pub fn logits_tail(&self, batch: &Padded, n: usize, device: &Device) -> Tensor<3> {
        let (tokens, keep, positions) = batch.tensors(device);
        let x = self.trunk.forward_tail(tokens, keep, positions, n);
        self.head.forward(x)
    }

    /// P(2) − P(1) [B, n] on the last `n` positions: the reward margin of each token
    /// (eq. 5 before lwp), and at the last token the sentence-level score.
    pub fn margins_tail(&self, batch: &Padded, n: usize, device: &Device) -> Tensor<2> {
        let p = softmax(self.logits_tail(batch, n, device), 2);
        let [b, n, _] = p.dims();
        (p.clone().narrow(2, 2, 1) - p.narrow(2, 1, 1)).reshape([b, n])
    }

    /// The margins of each response (ragged), for prompts and responses given as ids.
    pub async fn margins(
        &self,
        prompts: &[&[u32]],
        responses: &[&[u32]],
        pad: u32,
        device: &Device,
    ) -> crate::Result<Vec<Vec<f32>>> {
        let t = TailBatch::new(prompts, responses, pad);
        let flat = crate::backend::read(self.margins_tail(&t.seqs, t.r, device)).await?;
        Ok(t.untail(&flat))
    }
}

impl Level {
    /// The checkpoint kind of a reward model of this level.
    pub fn kind(self) -> &'static str {
        match self {
            Level::Token => "token-rm",
            Level::Sentence => "sentence-rm",
        }
    }
}

/// A reward model from checkpoint bytes (kind `token-rm` or `sentence-rm`, its level
/// matching its kind), onto `device`.
pub fn from_bytes(
    name: &str,
    bytes: &[u8],
    tokenizer: &str,
    device: &Device,
) -> crate::Result<RewardModel> {
    use crate::model::checkpoint::{CheckpointInfo, load_into, open_bytes};
    let info: CheckpointInfo<RewardModelConfig> =
        open_bytes(name, bytes, &["token-rm", "sentence-rm"], tokenizer)?;
    if info.kind != info.config.level.kind() {
        return Err(crate::Error::Invalid(format!(
            "{name}: a {} checkpoint whose config says level {:?}",
            info.kind, info.config.level
        )));
    }
    load_into(name, bytes, info.config.init(device))
}

/// Load a reward model checkpoint (`PATH.safetensors`) onto `device`.
pub fn load(
    path: &std::path::Path,
    tokenizer: &str,
    device: &Device,
) -> crate::Result<RewardModel> {
    let file = path.with_extension("safetensors");
    let bytes = crate::io::read_file(&file)?;
    from_bytes(&file.display().to_string(), &bytes, tokenizer, device)
}

/// A reward model on the trunk of a policy checkpoint (the SFT policy's: how both
/// reward models start, paper §3.3), with a fresh head; and its config.
pub fn from_sft(
    name: &str,
    bytes: &[u8],
    level: Level,
    tokenizer: &str,
    device: &Device,
) -> crate::Result<(RewardModel, RewardModelConfig)> {
    let (policy, pcfg) =
        crate::model::checkpoint::policy_from_bytes(name, bytes, tokenizer, device)?;
    let cfg = RewardModelConfig {
        trunk: pcfg.trunk,
        level,
    };
    Ok((
        RewardModel::from_trunk(policy.into_trunk(), pcfg.trunk.d_model, device),
        cfg,
    ))
}
