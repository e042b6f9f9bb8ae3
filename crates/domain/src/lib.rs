//! dondoc's domain: the task aggregate, its commands and events, and the value types
//! they are made of (ids, agencies, reporting periods, timeframes, Vietnam time).
//!
//! Architecture invariant: this crate does no I/O, starts no threads and reads no clock;
//! it knows nothing of NATS, sled, gRPC or tokio. Everything here is deterministic, so
//! it cannot fail except by refusing a command. Adapters depend on it, never the reverse.

pub mod agenda;
pub mod calendar;
pub mod chain;
pub mod error;
pub mod event;
pub mod ids;
pub mod obligation;
pub mod period;
pub mod policy;
pub mod task;
pub mod timeframe;
pub mod vietnam_time;

pub use agenda::{due_commands, next_instant, ReminderOffsets};
pub use calendar::{
    deadline_for, deadlines_for_year, is_on_time, Deadline, DeadlineKind, HolidayCalendar,
};
pub use error::{DomainError, InvalidInput};
pub use event::{
    AppendixRowRef, CoordinationRecorded, DeadlineExtended, Duty, EventEnvelope, ExtraColumn,
    PlanReporting, ReminderSent, ReportRequested, ReportSubmitted, RequestAnswered, RequestKind,
    RequestOverdue, TaskAmended, TaskAssigned, TaskBackInAppendix, TaskEvent,
    TaskMissingFromAppendix, TaskOverdue, CURRENT_SCHEMA_VERSION,
};
pub use ids::{AgencyName, PlanId, RequestId, RequestKey, TaskId};
pub use obligation::{
    obligations, obligations_through, roll_ups, task_status, AppliedExtension, GroupRollUp,
    Obligation, ObligationContext, ObligationSource, ObligationStatus, TaskStatus,
};
pub use period::ReportingPeriod;
pub use policy::{ReportingPolicy, ReportingPolicySpec, PRESET_NAMES};
pub use task::{apply, changed_fields, decide, replay, TaskCommand, TaskState};
pub use timeframe::{Schedule, Timeframe};
