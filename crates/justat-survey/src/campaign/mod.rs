//! The pure rules of a collection campaign: its legal notice, its stratified sample, the
//! imputation of unit non-response and the reminder plan. Each takes its inputs (and `now`)
//! as arguments; storing and sending are other crates' business.

pub mod impute;
pub mod notice;
pub mod reminder;
pub mod sample;

pub use impute::{
    Flag, ImputedValue, Method, StoredValueError, UnitAnswers, impute, impute_non_response,
};
pub use notice::{
    CnisOpinion, LegalStanding, NoticeError, NoticeParagraph, NoticePart, Visa, legal_notice,
};
pub use reminder::{Message, ResponseStatus, Schedule, ScheduleError, UnitFollowUp, due_messages};
pub use sample::{FrameUnit, Rng, Sample, SampleError, draw_stratified};
