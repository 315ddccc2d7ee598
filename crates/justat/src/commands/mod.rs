//! One module per command (or group of subcommands): each parses its arguments, opens the
//! store (`crate::db`) and calls the library crates, then prints. A command module imports
//! only the binary's infrastructure modules (`config`, `db`, `progress`, `server`, …) and
//! library crates, never another command module (checked by `tests/it/architecture.rs`).

pub mod audit;
pub mod calendar;
pub mod db;
pub mod demo;
pub mod embargo;
pub mod incident;
pub mod mail;
pub mod production;
pub mod publication;
pub mod sdc;
pub mod survey;
pub mod user;
