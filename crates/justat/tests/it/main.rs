//! End-to-end tests: the real server on an ephemeral loopback port, driven over HTTP, and the
//! `justat` binary driven as a user would.

mod architecture;
mod audit;
mod calendar;
mod cli;
mod harness;
mod http_auth;
mod http_site;
mod http_throttle;
mod mail;
mod programme;
mod public_cache;
mod publications;
mod release_leaks;
mod sdc;
mod steering;
mod survey;
mod survey_back;
mod survey_portal;
mod survey_reminders;
mod worker;
