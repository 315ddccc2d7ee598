//! Justat's domain types and pure rules.
//!
//! Architecture invariant: this crate never reads the clock, the disk or the network, and
//! never depends on sqlx, axum or DataFusion. Every function takes the current instant as an
//! argument, so the rules (roles, audit chain, throttling, session expiry) can be tested
//! exhaustively and at their boundaries.

pub mod account;
pub mod audit;
pub mod calendar;
pub mod checkpoint;
pub mod codelist;
pub mod columns;
pub mod cube;
pub mod digest;
pub mod embargo;
pub mod french;
pub mod incident;
pub mod job;
pub mod manifest;
pub mod production;
pub mod programme;
pub mod provenance;
pub mod publication;
pub mod role;
pub mod session;
pub mod survey;
pub mod text_encoding;
pub mod throttle;

pub use account::{PasswordProblem, Username, UsernameProblem, validate_new_password};
pub use audit::{AuditEntry, AuditHead, ChainBreak, verify_chain};
pub use cube::CubeSchema;
pub use digest::Sha256Hex;
pub use job::JobRequest;
pub use production::{DeliveryStatus, RunStatus};
pub use provenance::Provenance;
pub use publication::{Action, Collection, LifecycleError, VersionState};
pub use role::{Permission, Role};
pub use session::{SessionPolicy, SessionStatus};
pub use throttle::{IN_FLIGHT_EXPIRY, ThrottleDecision, ThrottlePolicy, ThrottleState};
