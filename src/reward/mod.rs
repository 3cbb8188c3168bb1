//! Rewards: the length-weighted penalty now; the reward models follow.

pub mod lwp;
