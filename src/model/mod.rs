//! Models: the shared transformer trunk, the policy (with a value head), SFT, checkpoints.

pub mod batch;
pub mod checkpoint;
pub mod kl;
pub mod ops;
pub mod policy;
pub mod prompt;
pub mod respond;
pub mod sft;
pub mod sft_settings;
pub mod trunk;
