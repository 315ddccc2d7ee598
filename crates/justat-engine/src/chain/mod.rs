//! Processing chains: a versioned, declarative TOML file of steps (filter, rule, derive,
//! recode, unit, sql, cube) run on DataFusion over the staging files of deliveries, ending in
//! a cube with every hierarchy level and total computed.
//!
//! The parts, in the order a run meets them:
//! - `file`: the chain file ([`Chain`]), parsed and checked before anything runs;
//! - `sql_guard`: the SQL a chain file may carry, checked at load and planned read-only;
//! - `execute`: the DataFusion session and the loop over the steps;
//! - `steps`: one module per kind of step, its SQL and its tests;
//! - `barrier`: per-row steps only flag rows, counted and quarantined before the next step
//!   that reads every row (unit, sql, cube);
//! - `run`: [`run_chain`], the run recorded with its cube and manifest.

mod barrier;
mod execute;
mod file;
mod run;
pub mod sql_guard;
mod steps;

pub use execute::{Progress, RunOptions, RunOutput, execute};
pub use file::{Aggregate, Chain, Dimension, Measure, SHIPPED, Severity, Step};
pub use run::run_chain;
