//! dondoc's domain: the task aggregate, its commands and events, and the value types
//! they are made of (ids, agencies, reporting periods, timeframes, Vietnam time).
//!
//! Architecture invariant: this crate does no I/O, starts no threads and reads no clock;
//! it knows nothing of NATS, sled, gRPC or tokio. Everything here is deterministic, so
//! it cannot fail except by refusing a command. Adapters depend on it, never the reverse.
//!
//! Every item has one path: the modules are private and everything public is re-exported
//! here, so callers write `dondoc_domain::HolidayCalendar`, never a module path.

mod agenda;
mod calendar;
mod chain;
mod command;
mod debtor;
mod decide;
mod error;
mod event;
mod ids;
mod import_commit;
mod obligation;
mod period;
mod policy;
mod signing;
mod task;
mod text;
mod timeframe;
mod vietnam_time;

pub use agenda::{due_commands, next_instant, ReminderOffsets};
pub use calendar::{
    deadline_for, deadlines_for_year, is_on_time, Deadline, DeadlineKind, HolidayCalendar,
};
pub use chain::{
    check_seal, sha256_hex, BrokenLink, ChainSummary, ChainVerifier, CheckpointFinding, Seal,
    Verification, VerifySummary,
};
pub use command::TaskCommand;
pub use debtor::Debtor;
pub use decide::{changed_fields, decide};
pub use error::{DomainError, InvalidInput};
pub use event::{
    AgencyIdentity, AppendixRowRef, CoordinationRecorded, DeadlineExtended, Duty, EventEnvelope,
    ExtraColumn, PlanReporting, ReminderSent, ReportRequested, ReportSubmitted, RequestAnswered,
    RequestKind, RequestMarkedOverdue, TaskAmended, TaskAssigned, TaskEvent, TaskFlaggedMissing,
    TaskMarkedOverdue, TaskReturnedToAppendix, CURRENT_SCHEMA_VERSION,
};
pub use ids::{AgencyId, AgencyName, PlanId, RequestId, RequestKey, TaskId};
pub use import_commit::{import_content_digest, import_id_for, ImportCommitted, ImportOutcome};
pub use obligation::{
    obligations, obligations_through, roll_ups, task_status, AppliedExtension, GroupRollUp,
    Obligation, ObligationContext, ObligationSource, ObligationStatus, TaskStatus,
};
pub use period::ReportingPeriod;
pub use policy::{ReportingPolicy, ReportingPolicySpec, PRESET_NAMES};
pub use signing::{
    check_signature, checkpoint_plans, classify, heads_digest, sign_record, Checkpoint,
    CheckpointBuilder, DeploymentKey, KeyEstablished, KeyId, KeyRecord, KeyRotated, Keyring,
    KeyringError, PlanCheckpoint, PublicKey, RecordKind, SignatureCheck, SignatureError,
    KEY_ID_HEX_LEN, SIGNATURE_HEX_LEN, SIGNED_SCHEMA_VERSION,
};
pub use task::{
    apply, replay, Amendment, Answer, Assignment, Coordination, Extension, MissingMark,
    OverdueMark, ReminderMark, Report, ReportRequest, RequestOverdueMark, Succession, TaskState,
    VersionGap,
};
pub use text::{check_text, is_hidden_char, limits, quoted};
pub use timeframe::{Schedule, Timeframe};
pub use vietnam_time::{
    check_instant, in_vietnam, rfc3339, start_of_day, EARLIEST_INSTANT, LATEST_INSTANT,
    VIETNAM_OFFSET,
};
