//! The domain's two kinds of failure: input that does not parse (`InvalidInput`, always
//! naming the field) and commands the aggregate refuses (`DomainError`).
//!
//! Neither says anything about infrastructure: "NATS is down" is never a domain error.
//! The gRPC layer maps each variant to one status code; the mapping is documented on the
//! variants ("Handling:").

use crate::period::ReportingPeriod;

/// A value that failed to parse. Handling: INVALID_ARGUMENT, with `field` in the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct InvalidInput {
    pub field: String,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A command the task aggregate refuses, given its current state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The task has not been assigned (no such appendix row was imported).
    /// Handling: NOT_FOUND.
    #[error("task has not been assigned")]
    NotAssigned,

    /// The reporting period lies outside the task's timeframe.
    /// Handling: FAILED_PRECONDITION.
    #[error("period {period} is outside the task's timeframe ({timeframe})")]
    PeriodOutsideTimeframe {
        period: ReportingPeriod,
        timeframe: String,
    },

    /// A report for a period that has not started yet at `now`.
    /// Handling: FAILED_PRECONDITION.
    #[error("period {period} has not started yet")]
    PeriodNotStarted { period: ReportingPeriod },

    /// An overdue mark asked for before its deadline has passed. `what` names the duty
    /// ("report 2024-Q1", "request dot-xuat-1").
    /// Handling: FAILED_PRECONDITION.
    #[error("deadline {deadline} of {what} has not passed")]
    DeadlineNotPassed { what: String, deadline: String },

    /// A request key the task does not know. Handling: NOT_FOUND.
    #[error("task has no report request {request_key:?}")]
    UnknownRequest { request_key: String },

    /// The request key is taken by a different request of the task.
    /// Handling: ALREADY_EXISTS.
    #[error("request key {request_key:?} is already used by another request of the task")]
    RequestKeyTaken { request_key: String },

    /// A command whose own fields are invalid. Handling: INVALID_ARGUMENT.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
}
