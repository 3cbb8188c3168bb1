//! Models: the policy (a small GPT with a value head).

pub mod policy;
