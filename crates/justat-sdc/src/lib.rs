//! Statistical disclosure control (secret statistique) of Justat's tables.
//!
//! This crate grows in the order of the flow: hierarchies of the dimensions, tables with every
//! hierarchy level and total built from microdata, the primary rules (frequency threshold,
//! (n,k) dominance, p %) with the protection interval each unsafe cell requires, and the
//! pattern files other tools and benchmarks exchange.
//!
//! Architecture invariant: the only crate that will link an LP solver; no table leaves Justat
//! without passing through it.

pub mod audit;
pub mod hierarchy;
mod hypercube;
mod lp;
pub mod microdata;
pub mod pattern;
pub mod primary;
pub mod secondary;
pub mod table;

pub use hierarchy::{Hierarchy, HierarchyError};
pub use primary::{PrimaryRules, Status};
pub use table::{Cell, Table, TableError};
