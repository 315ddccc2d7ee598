//! The stage between cubes and outputs: what turns a chain's cube into the figures a
//! publication shows, and a released version into what leaves the building before its
//! instant.
//!
//! * [`cube`] — a cube's cells for one period and measure as a secret statistique
//!   [`Table`](justat_sdc::Table), restricted to the linked tables published from it
//!   ([`TableShape`](justat_sdc::table::TableShape)s), the earlier pattern of the same cube,
//!   period and measure carried over; the pattern recorded once protected.
//! * [`tables`] — every table of a publication: read from its cube, the tables of one cube,
//!   measure and period protected together as one pattern, certified by the audit
//!   ([`justat_sdc::audit::certify`]), and only then made into the
//!   [`DataTable`](justat_render::DataTable)s the text cites — a `DataTable` cannot be made
//!   without the proof of a clean audit (see its documentation).
//! * [`version`] — a publication's build (tables, page, files, PDF, provenance) saved as a
//!   draft, its preview, and the lifecycle actions taken as a user.
//! * [`embargo`] — the stamped copy of a version's PDF for an early-access recipient, and the
//!   transmission of a release's list to the ASP (CSV, the letter as PDF, the access log).
//! * [`survey_delivery`] — the one stage before the chains: a validated survey campaign's
//!   answers (imputed ones flagged) written as a delivery of its source `survey_<survey>` and
//!   received like any extract.
//!
//! The binary's commands and the job worker call these functions; nothing here parses a
//! command line or prints.

pub mod cube;
pub mod dashboard;
pub mod embargo;
pub mod programme;
pub mod survey_delivery;
pub mod tables;
pub mod version;

pub use cube::{CubeTable, cube_table, pattern_summary, record_pattern};
pub use embargo::{AspFile, asp_files, stamped_copy, transmit_to_asp};
pub use programme::typeset_programme;
pub use survey_delivery::{SurveyDeliveryError, deliver_campaign};
pub use tables::{Patterns, protected_tables};
pub use version::{Preview, act_as, check_may_build, import_dir, import_source, preview_source};

use justat_model::publication::Collection;
use justat_store::{Lake, LakeKind, StoreError, StoredFile};

/// Why a stage of publishing failed. Wrapped errors keep their own message (and causes), so
/// that a command or a job's page says what the lower crate said.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A publication's source or build, at its file and line.
    #[error(transparent)]
    Build(#[from] justat_render::BuildError),
    /// A cube's file could not be read.
    #[error(transparent)]
    Engine(#[from] justat_engine::EngineError),
    /// A secret statistique table could not be made from the cube.
    #[error(transparent)]
    Table(#[from] justat_sdc::TableError),
    /// A dimension's hierarchy could not be made from its codelist.
    #[error(transparent)]
    Hierarchy(#[from] justat_sdc::HierarchyError),
    /// Typst failed (a stamped copy).
    #[error(transparent)]
    Pdf(#[from] justat_pdf::PdfError),
    /// A file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An indicator file was refused, at its file and line.
    #[error(transparent)]
    Indicator(#[from] justat_indicators::LoadError),
    /// A dashboard's table could not be protected, audited or written.
    #[error("tableau de bord {0}")]
    Dashboard(String),
    /// A cube lacks a dimension asked of it.
    #[error("the cube has no dimension `{0}`")]
    NoDimension(String),
    /// A table reads a dimension its cube lacks (its definition was checked before: a bug).
    #[error("dimension")]
    UnknownDimension,
    /// A table reads no period with a certified pattern (every period a definition reads is
    /// protected before its table is made: a bug).
    #[error("table `{0}` has no audited pattern")]
    NoAuditedPattern(String),
    /// A cube names a codelist Justat does not ship.
    #[error("unknown codelist {0}")]
    UnknownCodelist(String),
    /// The earlier pattern of a cube and period was made over other dimensions.
    #[error(
        "pattern #{id} of this cube and period has dimensions {dims}: protect with the same --dims"
    )]
    PatternDimensions {
        /// The earlier pattern.
        id: i64,
        /// Its dimensions, comma-separated.
        dims: String,
    },
    /// An earlier pattern holds a status letter Justat does not know.
    #[error("pattern #{id}: status `{letter}`")]
    PatternStatus {
        /// The pattern.
        id: i64,
        /// The letter.
        letter: String,
    },
    /// The version a build would replace is frozen (submitted or approved).
    #[error("{collection}/{slug} version {version} is {state}: it is frozen and cannot be rebuilt")]
    Frozen {
        /// Its collection.
        collection: Collection,
        /// Its slug.
        slug: String,
        /// The version.
        version: i64,
        /// Its state.
        state: &'static str,
    },
    /// The user's role does not build publications.
    #[error("{username} is {role}: only statisticians and the head of service build publications")]
    MayNotBuild {
        /// The account.
        username: String,
        /// Its role, in French.
        role: &'static str,
    },
    /// No such publication.
    #[error("no publication {collection}/{slug}")]
    NoPublication {
        /// Its collection.
        collection: Collection,
        /// Its slug.
        slug: String,
    },
    /// A build's file could not be put into the lake.
    #[error("cannot store {name}")]
    Lake {
        /// The file.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No such version (a stamped copy).
    #[error("no such version")]
    NoVersion,
    /// The version has no PDF to stamp.
    #[error("the version has no PDF")]
    NoPdf,
    /// The release is not in the calendar.
    #[error("{collection}/{slug} is not in the calendar")]
    NotInCalendar {
        /// Its collection.
        collection: Collection,
        /// Its slug.
        slug: String,
    },
    /// The release has no embargo list.
    #[error("{collection}/{slug} has no embargo list")]
    NoEmbargoList {
        /// Its collection.
        collection: Collection,
        /// Its slug.
        slug: String,
    },
    /// The letter to the ASP could not be typeset.
    #[error("the letter cannot be typeset: {0}")]
    Letter(justat_pdf::PdfError),
}

/// An error and its causes as one line, `outer: cause: cause` (as the binary prints them), for
/// the messages that carry a lower error inside a `BuildError`.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Puts a file's bytes into the lake under `kind`, with the extension of its name; returns it
/// as a version or a transmission records it.
pub(crate) fn put_file(
    lake: &Lake,
    kind: LakeKind,
    name: &str,
    media_type: &str,
    bytes: &[u8],
) -> std::io::Result<StoredFile> {
    let ext = name.rsplit('.').next().unwrap_or("bin");
    Ok(StoredFile {
        name: name.to_string(),
        media_type: media_type.to_string(),
        sha256: lake.put_bytes(kind, bytes, ext)?,
        size: bytes.len() as u64,
    })
}
