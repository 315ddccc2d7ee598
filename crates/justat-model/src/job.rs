//! The work the back office queues for a worker: one typed request per kind of job.
//!
//! The web crate enqueues a [`JobRequest`] and the worker matches on it, so that both sides agree
//! on each kind's parameters at compile time. It is stored as its kind (a column of its own,
//! shown in the job list) and its parameters (JSON); [`JobRequest::from_stored`] refuses a row
//! whose kind is unknown or whose parameters do not fit it, which the worker reports as the job's
//! failure rather than running it with empty values.

use crate::digest::StoredFile;
use crate::{Collection, DeliveryStatus, Sha256Hex};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The kinds of job, as stored in the jobs' `kind` column (and asked for by
/// `Store::latest_job`).
pub mod kind {
    /// [`super::JobRequest::Delivery`].
    pub const DELIVERY: &str = "delivery";
    /// [`super::JobRequest::ChainRun`].
    pub const CHAIN_RUN: &str = "chain_run";
    /// [`super::JobRequest::Publication`].
    pub const PUBLICATION: &str = "publication";
    /// [`super::JobRequest::EmbargoCopy`].
    pub const EMBARGO_COPY: &str = "embargo_copy";
    /// [`super::JobRequest::AspExport`].
    pub const ASP_EXPORT: &str = "asp_export";
    /// [`super::JobRequest::SurveyReceipt`].
    pub const SURVEY_RECEIPT: &str = "survey_receipt";
    /// [`super::JobRequest::ProgrammePdf`].
    pub const PROGRAMME_PDF: &str = "programme_pdf";
    /// [`super::JobRequest::TestPanic`].
    pub const TEST_PANIC: &str = "test_panic";
    /// [`super::JobRequest::TestSleep`].
    pub const TEST_SLEEP: &str = "test_sleep";
}

/// One job, by kind, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "params", rename_all = "snake_case")]
pub enum JobRequest {
    /// Check an uploaded extract and record it as a delivery of `source`.
    Delivery {
        /// The source's id (`penal`).
        source: String,
        /// Where the upload waits on disk; the worker removes it once the original is in the lake.
        path: PathBuf,
        /// The file's name as the user's browser sent it, shown in the job list.
        file_name: String,
    },
    /// Run `chain` over the given deliveries.
    ChainRun {
        /// The chain's id.
        chain: String,
        /// The deliveries it reads, by number.
        deliveries: Vec<i64>,
    },
    /// Build a publication written in the back office's editor, saved as a draft or only
    /// previewed.
    Publication {
        /// Save the build as a draft version (`true`) or only preview it.
        save: bool,
        /// The source files.
        files: EditorFiles,
    },
    /// Make an embargo recipient's stamped copy of a version's PDF.
    EmbargoCopy {
        /// The publication's collection.
        collection: Collection,
        /// The publication's slug.
        slug: String,
        /// The version copied.
        version: i64,
        /// The banner printed on every page.
        banner: String,
    },
    /// Transmit a release's embargo list and access log to the ASP.
    AspExport {
        /// The publication's collection.
        collection: Collection,
        /// The publication's slug.
        slug: String,
    },
    /// Typeset a respondent's acknowledgement of receipt, asked for when they submit their
    /// answers: what it says is fixed at that instant.
    SurveyReceipt {
        /// The campaign.
        campaign: i64,
        /// The unit's code.
        unit: String,
        /// The acknowledgement's content.
        receipt: crate::survey::SurveyReceipt,
    },
    /// Typeset the PDF of a year's work programme as it stands, asked for after each edit.
    ProgrammePdf {
        /// The programme's year.
        year: i16,
    },
    /// Tests only (the worker refuses it unless its test switch is on): panic with `message`.
    TestPanic {
        /// The panic's message.
        message: String,
    },
    /// Tests only (the worker refuses it unless its test switch is on): sleep `seconds`.
    TestSleep {
        /// How long.
        seconds: u64,
    },
}

/// The two source files of a publication written in the editor, stored under the names a
/// publication folder gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorFiles {
    /// The text: front matter and Markdown.
    #[serde(rename = "publication.md")]
    pub publication: String,
    /// The tables' definitions.
    #[serde(rename = "tables.toml")]
    pub tables: String,
}

/// What a finished job produced, as its page shows it: one shape per kind of request (the
/// stored JSON, a plain object, says which by its keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum JobOutcome {
    /// A delivery checked and recorded.
    Delivery {
        /// Its number.
        delivery: i64,
        /// How its checks ended.
        status: DeliveryStatus,
    },
    /// A chain run recorded (successful or not).
    ChainRun {
        /// Its number.
        run: i64,
        /// The cube it produced.
        cube: Option<Sha256Hex>,
        /// The steering dashboards' tables computed anew from it (indicator and granularity).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dashboards: Vec<String>,
    },
    /// A publication built and saved as a draft.
    Saved {
        /// The version saved.
        saved: SavedVersion,
    },
    /// A publication built for a preview only.
    Preview {
        /// The page as the editor shows it.
        preview: PublicationPreview,
    },
    /// A recipient's stamped copy, in the lake.
    EmbargoCopy {
        /// Its digest.
        sha256: Sha256Hex,
    },
    /// The files of a transmission to the ASP, in the lake.
    AspExport {
        /// The files, in the order of the transmission.
        files: Vec<StoredFile>,
    },
    /// A respondent's acknowledgement of receipt, in the lake.
    SurveyReceipt {
        /// Its digest.
        receipt_sha256: Sha256Hex,
    },
    /// The PDF of a year's programme, in the lake (none when nothing was written for it).
    ProgrammePdf {
        /// The year.
        programme_year: i16,
        /// Its digest.
        programme_pdf: Option<Sha256Hex>,
    },
    /// Tests only: how long a test job slept.
    Slept {
        /// Seconds.
        slept: u64,
    },
}

/// A publication's build seen before it is saved: what the editor shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationPreview {
    /// The version the build would save.
    pub version: i64,
    /// The title, its cited values resolved.
    pub title: String,
    /// The summary.
    pub summary: String,
    /// The page's body (HTML, charts inline).
    pub html: String,
}

/// A publication version saved by a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedVersion {
    /// Its collection.
    pub collection: Collection,
    /// Its slug.
    pub slug: String,
    /// Its number.
    pub version: i64,
}

/// A stored job that is not a [`JobRequest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobRequestError {
    /// No request has this kind.
    #[error("unknown job kind `{0}`")]
    UnknownKind(String),
    /// The kind is known but its parameters do not fit it.
    #[error("the parameters of a `{kind}` job do not fit it: {message}")]
    Params {
        /// The job's kind.
        kind: String,
        /// What did not fit.
        message: String,
    },
}

impl JobRequest {
    /// Every kind, as stored.
    pub const KINDS: [&'static str; 9] = [
        kind::DELIVERY,
        kind::CHAIN_RUN,
        kind::PUBLICATION,
        kind::EMBARGO_COPY,
        kind::ASP_EXPORT,
        kind::SURVEY_RECEIPT,
        kind::PROGRAMME_PDF,
        kind::TEST_PANIC,
        kind::TEST_SLEEP,
    ];

    /// The kind, as stored in the jobs' `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            JobRequest::Delivery { .. } => kind::DELIVERY,
            JobRequest::ChainRun { .. } => kind::CHAIN_RUN,
            JobRequest::Publication { .. } => kind::PUBLICATION,
            JobRequest::EmbargoCopy { .. } => kind::EMBARGO_COPY,
            JobRequest::AspExport { .. } => kind::ASP_EXPORT,
            JobRequest::SurveyReceipt { .. } => kind::SURVEY_RECEIPT,
            JobRequest::ProgrammePdf { .. } => kind::PROGRAMME_PDF,
            JobRequest::TestPanic { .. } => kind::TEST_PANIC,
            JobRequest::TestSleep { .. } => kind::TEST_SLEEP,
        }
    }

    /// The parameters, as stored in the jobs' `params` column.
    pub fn params(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut o)) => o.remove("params").unwrap_or_default(),
            // Every variant is a struct of plain fields, which serializes to an object.
            _ => serde_json::Value::Null,
        }
    }

    /// The request a stored row holds.
    pub fn from_stored(kind: &str, params: &serde_json::Value) -> Result<Self, JobRequestError> {
        if !Self::KINDS.contains(&kind) {
            return Err(JobRequestError::UnknownKind(kind.to_string()));
        }
        serde_json::from_value(serde_json::json!({ "kind": kind, "params": params })).map_err(|e| {
            JobRequestError::Params {
                kind: kind.to_string(),
                message: e.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn every_kind() -> Vec<JobRequest> {
        vec![
            JobRequest::Delivery {
                source: "penal".into(),
                path: "/data/uploads/x.csv".into(),
                file_name: "extrait.csv".into(),
            },
            JobRequest::ChainRun {
                chain: "penal_orientations".into(),
                deliveries: vec![3, 1],
            },
            JobRequest::Publication {
                save: true,
                files: EditorFiles {
                    publication: "+++\n".into(),
                    tables: "[x]\n".into(),
                },
            },
            JobRequest::EmbargoCopy {
                collection: Collection::Infostat,
                slug: "s".into(),
                version: 2,
                banner: "Sous embargo".into(),
            },
            JobRequest::AspExport {
                collection: Collection::ReferencesStatistiques,
                slug: "s".into(),
            },
            JobRequest::SurveyReceipt {
                campaign: 4,
                unit: "AV-1".into(),
                receipt: crate::survey::SurveyReceipt {
                    survey_title: "Enquête".into(),
                    period: "2025".into(),
                    unit_name: "Association".into(),
                    unit_code: "AV-1".into(),
                    submitted_at: jiff::Timestamp::UNIX_EPOCH,
                    lines: vec![
                        crate::survey::ReceiptLine::Page("Page".into()),
                        crate::survey::ReceiptLine::Answer {
                            label: "Question".into(),
                            value: "12".into(),
                        },
                    ],
                },
            },
            JobRequest::ProgrammePdf { year: 2026 },
            JobRequest::TestPanic {
                message: "boom".into(),
            },
            JobRequest::TestSleep { seconds: 3 },
        ]
    }

    #[test]
    fn every_request_comes_back_from_its_stored_kind_and_params() {
        let all = every_kind();
        assert_eq!(all.len(), JobRequest::KINDS.len());
        for request in all {
            assert!(JobRequest::KINDS.contains(&request.kind()));
            let back = JobRequest::from_stored(request.kind(), &request.params()).unwrap();
            assert_eq!(back, request);
        }
    }

    #[test]
    fn the_stored_params_keep_the_shape_the_jobs_table_already_holds() {
        let request = JobRequest::Publication {
            save: false,
            files: EditorFiles {
                publication: "texte".into(),
                tables: "tableaux".into(),
            },
        };
        assert_eq!(
            request.params(),
            json!({ "save": false, "files": { "publication.md": "texte", "tables.toml": "tableaux" } })
        );
        let copy = JobRequest::EmbargoCopy {
            collection: Collection::Infostat,
            slug: "s".into(),
            version: 2,
            banner: "b".into(),
        };
        assert_eq!(
            copy.params(),
            json!({ "collection": "infostat", "slug": "s", "version": 2, "banner": "b" })
        );
    }

    #[test]
    fn every_outcome_reads_back_as_itself_from_the_json_stored_so_far() {
        let stored = [
            json!({ "delivery": 3, "status": "OK_KO" }),
            json!({ "run": 4, "cube": null }),
            json!({ "run": 5, "cube": "ab".repeat(32) }),
            json!({ "saved": { "collection": "infostat", "slug": "s", "version": 2 } }),
            json!({ "preview": { "version": 1, "title": "T", "summary": "S", "html": "<p>x</p>" } }),
            json!({ "sha256": "cd".repeat(32) }),
            json!({ "files": [{ "name": "a.csv", "media_type": "text/csv",
                                "sha256": "ef".repeat(32), "size": 12 }] }),
            json!({ "slept": 3 }),
        ];
        let kinds: Vec<_> = stored
            .iter()
            .map(|v| {
                let o: JobOutcome = serde_json::from_value(v.clone()).unwrap();
                assert_eq!(serde_json::to_value(&o).unwrap(), *v);
                std::mem::discriminant(&o)
            })
            .collect();
        assert_eq!(kinds[1], kinds[2]);
        let distinct: std::collections::HashSet<_> = kinds.iter().collect();
        assert_eq!(distinct.len(), 7, "each shape reads as its own outcome");
        assert!(serde_json::from_value::<JobOutcome>(json!({ "sha256": "x" })).is_err());
        assert!(serde_json::from_value::<JobOutcome>(json!({ "run": 1, "x": 2 })).is_err());
    }

    #[test]
    fn an_unknown_kind_or_params_that_do_not_fit_are_refused_by_name() {
        assert_eq!(
            JobRequest::from_stored("reindex", &json!({})),
            Err(JobRequestError::UnknownKind("reindex".into()))
        );
        let err = JobRequest::from_stored("chain_run", &json!({ "chain": "c" })).unwrap_err();
        assert!(
            matches!(&err, JobRequestError::Params { kind, message }
                if kind == "chain_run" && message.contains("deliveries")),
            "{err}"
        );
        assert!(
            JobRequest::from_stored(
                "embargo_copy",
                &json!({
                    "collection": "nowhere", "slug": "s", "version": 1, "banner": "b"
                })
            )
            .is_err()
        );
    }
}
