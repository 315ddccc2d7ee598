//! Engine integration tests: real files, a real SQLite store, a real lake.

mod chains;
mod deliveries;
mod env;
mod fuzz;
mod limits;
mod lines;
mod measure;
