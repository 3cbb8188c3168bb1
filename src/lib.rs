//! TPPO Lab: token-level PPO for query generation (Ouyang et al.), end to end.
//!
//! Data flows one way: [`data`] → [`labeler`] → [`tokenize`] → [`reward`] → RL → eval → views.

pub mod backend;
pub mod bench;
pub mod cpu;
pub mod data;
pub mod error;
pub mod eval;
pub mod export;
pub mod io;
pub mod kit;
pub mod labeler;
pub mod model;
pub mod optim;
pub mod pipeline;

pub mod reward;
pub mod rl;
pub mod text;
pub mod tokenize;
pub mod vectors;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};
