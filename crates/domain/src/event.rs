//! Task events and their envelope: the persisted JSON format of the event log.
//!
//! This JSON is a compatibility boundary (EVENTS.md beside this crate): events already in JetStream
//! must load forever. Rules: events are past-tense facts, one enum; fields are only ever
//! added (with serde defaults), never renamed or repurposed; a change that cannot follow
//! those rules bumps `CURRENT_SCHEMA_VERSION` and adds an upcaster in `decode`.
//! Fixtures of every event type live in `tests/fixtures/events/` and must keep loading.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::InvalidInput;
use crate::ids::{AgencyName, PlanId, RequestId, TaskId};
use crate::period::ReportingPeriod;
use crate::timeframe::Timeframe;

/// The schema version written into every new envelope.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// Where an assigned task came from: the appendix row, with its cells as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendixRowRef {
    /// A name for the imported document (a file name, or what the client called it).
    pub source_name: String,
    /// 1-based line of the row in that document.
    pub line: usize,
    /// 0-based position among the appendix's task rows: the order to list tasks in.
    pub position: usize,
    /// The row number as written ("6.1"); not unique on its own.
    pub row_number: String,
    /// 1 for the first row with this section and row number, 2 for a repeat, …
    pub occurrence: usize,
    pub section_number: Option<String>,
    pub section_title: Option<String>,
    /// The lead and coordinator cells exactly as written, before splitting.
    pub lead_text: String,
    pub coordinators_text: String,
}

/// A column of the appendix that has no dedicated field ("Vai trò hợp tác của Viettel").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraColumn {
    pub header: String,
    pub value: String,
}

/// The task was created from an appendix row and given to its lead agencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAssigned {
    pub plan_year: i32,
    pub title: String,
    #[serde(default)]
    pub content: Option<String>,
    pub lead: Vec<AgencyName>,
    pub coordinators: Vec<AgencyName>,
    pub timeframe: Timeframe,
    pub source: AppendixRowRef,
    #[serde(default)]
    pub extra: Vec<ExtraColumn>,
}

/// A coordinating agency recorded what it did for the task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinationRecorded {
    pub agency: AgencyName,
    pub note: String,
}

/// A lead agency submitted its report for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSubmitted {
    pub period: ReportingPeriod,
    pub reported_by: AgencyName,
    pub content: String,
}

/// The deadline of a period passed without a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOverdue {
    pub period: ReportingPeriod,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// The agency that owes the report (a lead, or a member of a lead group), or `None`:
    /// the task as a whole, as every event written before this field existed has it.
    /// Left out of the JSON when `None`, so whole-task events encode as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyName>,
}

/// A re-imported (revised) appendix changed the task's row. `assignment` is the row as
/// it now stands; `changed` names what differs from before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAmended {
    pub changed: Vec<String>,
    pub assignment: TaskAssigned,
}

/// A re-imported appendix of the task's plan no longer has the task's row. Nothing is
/// deleted: the task stays, flagged, with its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMissingFromAppendix {
    pub source_name: String,
}

/// A later import has the task's row again after it had gone missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskBackInAppendix {
    pub source_name: String,
}

/// Every fact about a task, in one enum. The tag is the event's `type` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // reason: one assignment per task; boxing buys nothing measurable
pub enum TaskEvent {
    TaskAssigned(TaskAssigned),
    CoordinationRecorded(CoordinationRecorded),
    ReportSubmitted(ReportSubmitted),
    TaskOverdue(TaskOverdue),
    TaskAmended(TaskAmended),
    TaskMissingFromAppendix(TaskMissingFromAppendix),
    TaskBackInAppendix(TaskBackInAppendix),
}

impl TaskEvent {
    /// The `type` tag as it appears in JSON, for logs and NATS headers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::TaskAssigned(_) => "task_assigned",
            Self::CoordinationRecorded(_) => "coordination_recorded",
            Self::ReportSubmitted(_) => "report_submitted",
            Self::TaskOverdue(_) => "task_overdue",
            Self::TaskAmended(_) => "task_amended",
            Self::TaskMissingFromAppendix(_) => "task_missing_from_appendix",
            Self::TaskBackInAppendix(_) => "task_back_in_appendix",
        }
    }
}

/// One event with what is known about its occurrence.
///
/// Invariant: `(task_id, version)` is unique in the log; `version` counts the task's
/// events from 1 without gaps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub schema_version: u32,
    pub event_id: Uuid,
    pub task_id: TaskId,
    pub plan_id: PlanId,
    /// The task's version after this event.
    pub version: u64,
    /// When the command was decided, in Vietnam time.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Who issued the command (an agency system, a worker, an administrator).
    pub actor: String,
    /// The client's request id: the key that makes a retried command idempotent.
    pub request_id: RequestId,
    #[serde(flatten)]
    pub event: TaskEvent,
}

impl EventEnvelope {
    /// Wraps an event decided for `task_id` at `version`, stamped in Vietnam time.
    #[allow(clippy::too_many_arguments)] // reason: an envelope is exactly these fields
    pub fn new(
        event_id: Uuid,
        task_id: TaskId,
        plan_id: PlanId,
        version: u64,
        occurred_at: OffsetDateTime,
        actor: String,
        request_id: RequestId,
        event: TaskEvent,
    ) -> Self {
        Self {
            schema_version: CURRENT_SCHEMA_VERSION,
            event_id,
            task_id,
            plan_id,
            version,
            occurred_at: crate::vietnam_time::in_vietnam(occurred_at),
            actor,
            request_id,
            event,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an envelope of any supported schema version.
    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidInput> {
        let envelope: Self = serde_json::from_slice(bytes).map_err(|err| {
            InvalidInput::new("event", format!("not a valid event envelope: {err}"))
        })?;
        if envelope.schema_version == 0 || envelope.schema_version > CURRENT_SCHEMA_VERSION {
            return Err(InvalidInput::new(
                "schema_version",
                format!(
                    "event {} has schema version {}; this build reads 1..={}",
                    envelope.event_id, envelope.schema_version, CURRENT_SCHEMA_VERSION
                ),
            ));
        }
        Ok(envelope)
    }
}
