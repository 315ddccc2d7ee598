//! End-to-end tests: the real server on an ephemeral loopback port, driven over HTTP, and the
//! `justat` binary driven as a user would.

mod architecture;
mod calendar;
mod cli;
mod harness;
mod http_auth;
mod http_site;
mod publications;
mod sdc;
mod worker;
