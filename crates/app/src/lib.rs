//! The application layer: turns requests into commands, decides them against the task's
//! current state, appends the events, and feeds the projection.
//!
//! Owns: the command loop (load → decide → append with optimistic concurrency, retried
//! on conflict only when the client did not pin a version), request-id idempotency
//! beyond JetStream's duplicate window, plan import, read-your-writes waits, the
//! projection feeder, the deadline worker, and the auditors' reads of the log
//! (`audit.rs`: replays, past states and scorecards rebuilt from JetStream, a live
//! watch). It knows the event log and the projection through their crates'
//! types only; it knows nothing of gRPC.

mod audit;
mod clock;
mod compare;
mod deadlines;
mod error;
mod feeder;
mod import;
mod queries;
mod tracker;
mod verify;
mod worker;

pub use audit::{AgencyEvents, AuditPoint, AuditRange, AuditScope, Auditor, TaskAsOf};
pub use clock::{Clock, FixedClock, ShiftedClock, SystemClock};
pub use compare::{rebuild_and_compare, Comparison};
pub use deadlines::{DeadlineRules, SweepReport, WORKER_ACTOR};
pub use error::AppError;
pub use feeder::{ProjectionFeeder, ProjectionProgress};
pub use import::{
    preview_import, ImportPlan, ImportPreview, ImportSummary, ImportWarning, PreviewTask,
};
pub use queries::{
    reporting_policy, request_key_for, scorecard_period, tally, DeadlineExtension, PeriodFilter,
    ReportRequestInput, Scorecard, ScorecardQuery, ScorecardRow, StatusCounts, TaskObligation,
    TaskObligations,
};
pub use tracker::{CommandMeta, CommandOutcome, Tracker};
pub use verify::{verify_log, LogVerification};
pub use worker::{DeadlineWorker, DEFAULT_MAX_NAP};

/// An instant as the API and the reminders print it: RFC 3339 in Vietnam time, to the
/// second (deadlines are whole seconds; "now" need not be finer).
pub fn format_instant(instant: time::OffsetDateTime) -> String {
    let seconds = instant.replace_nanosecond(0).unwrap_or(instant);
    dondoc_domain::vietnam_time::in_vietnam(seconds)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
