//! Steering indicators for the ministry's administrations (DACG, DAP, DPJJ, DSJ, SADJAV…).
//!
//! An [`Indicator`] is declared in a versioned TOML file in `indicators/` (format in its
//! README) and checked by [`definition::parse`] against a [`Catalog`] of the cubes the chains
//! produce: an unknown cube, measure or dimension, or a [`Formula`] that does not parse, is
//! refused at its file and line. [`series::series`] evaluates the formula over a cube's month
//! cells for one area, by month, quarter or year. [`release::disclosure`] says what a
//! dashboard may show of a value: management information (*pilotage*) at once, a value of an
//! official series (*statistique publique*) only once a publication has released its period,
//! by the public site's own predicate.
//!
//! The crate is pure: it reads no file, clock or database; the caller gives the texts, the
//! cells, the releases and the instant.

pub mod content;
pub mod definition;
pub mod formula;
pub mod release;
pub mod series;

pub use content::{AreaRow, DashboardContent};
pub use definition::{
    Administration, AreaLevel, Catalog, Granularity, Indicator, LoadError, Nature, SHIPPED, Target,
    TimeAggregation, parse, shipped,
};
pub use formula::{Formula, FormulaError};
pub use release::{Disclosure, SeriesRelease, disclosure};
pub use series::{MonthCell, Point, Trend, series, trend};

#[cfg(test)]
mod tests;
