//! Integration tests of the survey core, one binary.

mod lunatic;
mod questionnaires;
