//! The one configuration struct, with the paper's defaults where it gives them.
//! Serialised as JSON next to every result so a run can be repeated.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub lwp: LwpConfig,
    pub labeler: LabelerConfig,
}

/// Length-weighted penalty (paper eq. 4–5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LwpConfig {
    /// Penalty intensity α (paper ablation: 0.5 and 1.0).
    pub alpha: f32,
    /// Suggested length `sl` in response tokens. The paper gives no value; the
    /// bundled targets (three queries and two separators) average 18.9 tokens with
    /// the bundled tokenizer (`tppo tokenizer train` prints it), so 20.
    pub sl: f32,
}

impl Default for LwpConfig {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            sl: 20.0,
        }
    }
}

/// The AI-feedback judge's thresholds. `tppo calibrate` replaces the two
/// similarity thresholds by values measured on the train split
/// (see [`crate::labeler::calibrate`]); these are the fallbacks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelerConfig {
    /// A word is relevant when its cosine to some history word reaches this.
    pub cos_threshold: f32,
    /// ... or when its PMI with some history word reaches this ...
    pub pmi_threshold: f32,
    /// ... over at least this many training histories holding both words.
    pub min_pair_count: u32,
    /// Words seen in fewer training histories get no co-occurrence statistics.
    pub min_word_df: u32,
    /// A response is relevant (sentence label 2) when at least this fraction of its
    /// content words (class ≠ 0) are relevant.
    pub sentence_threshold: f32,
    /// Calibration: the share of words from *another* user's queries that may pass
    /// a similarity threshold (the false-positive rate under a shuffled-user null).
    pub null_pass_rate: f32,
}

impl Default for LabelerConfig {
    fn default() -> Self {
        Self {
            cos_threshold: 0.75,
            pmi_threshold: 3.0,
            min_pair_count: 3,
            min_word_df: 3,
            sentence_threshold: 0.5,
            null_pass_rate: 0.05,
        }
    }
}
