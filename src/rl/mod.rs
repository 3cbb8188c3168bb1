//! Reinforcement learning from the reward models (paper §3.4): PPO with a
//! sentence-level reward, and TPPO with token-level rewards shaped by lwp.
//! Both share every line of code but the reward placement ([`rewards`]).
//!
//! - [`config`]: the settings, TRL's defaults.
//! - [`settings`]: a run's settings as a shell states them (a settings file, options over it).
//! - [`rewards`]: per-token rewards (KL term, score placement, lwp, span-end).
//! - [`gae`]: advantages, returns, whitening.
//! - [`loss`]: the clipped surrogate (eq. 6–7) and the clipped value loss.
//! - [`ppo`]: the trainer, top to bottom: rollout, credit (rewards, GAE), minibatch
//!   updates (the optimiser step is [`crate::optim`]'s); the critic's warm-up before
//!   it in `ppo/warmup.rs`.
//! - `minibatch`: eq. 6–9 on one minibatch, its gradient in pieces across threads.
//! - [`rollout`]: what one rollout batch holds, per response and token.
//! - [`metrics`]: what an iteration logs, named as TRL logs it.
//! - [`run`]: a run as the shells drive it: prompt schedule, iterations, judged rollouts.
//! - [`lemma`]: Lemma 3.1 on a one-step problem, with π* in closed form.

pub mod config;
pub mod gae;
pub mod lemma;
pub mod loss;
pub mod metrics;
mod minibatch;
pub mod ppo;
pub mod rewards;
pub mod rollout;
pub mod run;
pub mod settings;

pub use config::{Placement, PpoConfig, RewardMode};
pub use metrics::Metrics;
pub use ppo::Ppo;
pub use rollout::{Credit, Rollout};
pub use settings::PpoOptions;
