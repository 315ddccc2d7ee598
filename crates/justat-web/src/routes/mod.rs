//! The routes, one module per area of the site.

pub mod admin;
pub mod calendar;
pub mod calendar_admin;
pub mod dashboards;
pub mod embargo;
pub mod embargo_lists;
pub mod login;
pub mod production;
pub mod programme;
pub mod programme_admin;
pub mod public;
pub mod publication_editor;
pub mod publications;
pub mod publications_admin;
pub mod survey;
pub mod survey_admin;
