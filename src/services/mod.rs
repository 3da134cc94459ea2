//! The secretariat's and delegations' operations on frameworks, cycles, participants and national
//! goals: each checks its input, writes in one transaction and records the change in the audit
//! log. Pages, the API and the command line call these; authorization is the caller's (see
//! [`crate::auth::policy`]) and the database's (row-level security).

pub mod assessments;
pub mod clarifications;
pub mod cycles;
pub mod evidence;
pub mod exports;
pub mod frameworks;
pub mod mappings;
pub mod national_goals;
pub mod offline;
pub mod participants;
pub mod reports;
pub mod workflow;

use std::collections::BTreeMap;

use crate::domain::problem::Problem;

/// Field name → catalogue key.
pub type FieldProblems = BTreeMap<String, String>;

/// Why an operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields of a form or request are wrong.
    #[error("invalid input")]
    Invalid(FieldProblems),
    /// A framework document breaks rules (each with its place in the document).
    #[error("invalid framework")]
    Problems(Vec<Problem>),
    #[error("not found")]
    NotFound,
    /// A file could not be written.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// The caller may not do this (a second line behind the handlers' checks).
    #[error("forbidden")]
    Forbidden,
    /// The record changed since it was read: nothing was overwritten.
    #[error("changed since read")]
    Conflict,
    /// A rule refuses it (catalogue key of the explanation), e.g. a frozen framework.
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

impl ServiceError {
    /// A single field problem.
    pub fn field(field: &str, key: &str) -> Self {
        ServiceError::Invalid(BTreeMap::from([(field.to_owned(), key.to_owned())]))
    }
}
