//! Store integration tests. Each test body runs against SQLite always and against
//! PostgreSQL when `JUSTAT_TEST_POSTGRES_URL` is set (test names end in `::sqlite` and
//! `::postgres`).

#[macro_use]
mod harness;
mod accounts;
mod audit;
mod calendar;
mod calendar_model;
mod embargo;
mod migrate;
mod production;
mod programme;
mod publications;
mod roles;
mod sessions;
mod surveys;
