//! The application layer: the use cases of dondoc over the domain, the event log and the
//! projection. It knows those through their crates' types only, and nothing of gRPC.
//!
//! Where each use case lives:
//! - `tracker.rs`: the composition root (`Tracker`), which hands out the handles below;
//! - `write/`: the command loop, the one path by which anything is appended (load the
//!   task's history, decide, append with optimistic concurrency and a sealed chain),
//!   and the write side's history cache;
//! - `commands/`: what agency systems ask (`Commands`: reports, coordination,
//!   extensions, report requests and answers), each a named entry point;
//! - `import/`: plan imports (`Imports`, `preview_import`);
//! - `queries/`: reads of the projection (`Queries`: tasks, obligations, upcoming and
//!   overdue deadlines, the scorecard), with read-your-writes waits;
//! - `scorecard.rs`: the scorecard's arithmetic, shared by the live and the audited one;
//! - `rules.rs`: deadline rules and each task's obligations under them;
//! - `agencies.rs`: the agency directory facade, the one place names are resolved;
//! - `worker/`: the deadline worker (overdue marks and reminders, exactly once);
//! - `feeder.rs`: the projection feeder;
//! - `audit/`: the auditors' reads of the log (`Auditor`: replays, past states, the hash
//!   chains, rebuild-and-compare);
//! - `clock.rs`, `error.rs`: where "now" comes from, and what can fail.

mod access;
mod agencies;
mod audit;
mod clock;
mod commands;
mod error;
mod feeder;
mod import;
mod queries;
mod rules;
mod scorecard;
mod signing;
mod statistics;
mod tracker;
mod worker;
mod write;

pub use access::{audit_scope, require_auditor, Caller, ReadScope, Role};
pub use agencies::{Agencies, AgencyRef, AgencyTarget, Resolved};
pub use audit::{
    rebuild_and_compare, AgencyEvents, AuditPoint, AuditRange, AuditScope, Auditor, Comparison,
    LogVerification, StoredEvent, StoredEvents, StoredRecord, TaskAsOf,
};
pub use clock::{Clock, FixedClock, ShiftedClock, SystemClock};
pub use commands::{request_key_for, Commands, DeadlineExtension, ReportRequestInput};
pub use error::{AppError, ErrorKind};
pub use feeder::{Checkpoints, ProjectionFeeder, ProjectionProgress};
pub use import::{
    preview_import, reporting_policy, ImportPlan, ImportPreview, ImportSummary, ImportWarning,
    Imports, PreviewTask,
};
pub use queries::{
    DeadlinePage, PageRequest, QuarantinedMessage, Queries, TaskFilter, TaskObligation,
    TaskObligations, TaskPage, TaskSnapshot, Upcoming, UpcomingQuery, DEFAULT_DEADLINE_PAGE,
    MAX_DEADLINE_PAGE,
};
pub use rules::DeadlineRules;
pub use scorecard::{
    scorecard_period, tally, PeriodFilter, Scorecard, ScorecardQuery, ScorecardRow, StatusCounts,
};
pub use signing::{Signing, Trust};
pub use statistics::ObligationStatistics;
pub use tracker::{Tracker, TrackerParts};
pub use worker::{DeadlineWorker, Pass, Settled, SweepReport, DEFAULT_MAX_NAP, WORKER_ACTOR};
pub use write::{CommandMeta, CommandOutcome};
