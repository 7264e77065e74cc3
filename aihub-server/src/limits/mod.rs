//! Rate limits, quotas, budgets and concurrency caps: where their state lives and how a
//! request takes from it.

pub mod backend;
