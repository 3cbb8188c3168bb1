//! Rewards: the length-weighted penalty, the reward models' losses and metrics.

pub mod loss;
pub mod lwp;
pub mod metrics;
