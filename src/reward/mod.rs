//! Rewards: the length-weighted penalty, the token- and sentence-level reward
//! models, their losses, data (RLAIF labels), training and metrics.

pub mod data;
pub mod loss;
pub mod lwp;
pub mod metrics;
pub mod model;
pub mod rlaif;
pub mod settings;
pub mod train;
