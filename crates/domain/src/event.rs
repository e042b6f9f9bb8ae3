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
use crate::ids::{AgencyId, AgencyName, PlanId, RequestId, RequestKey, TaskId};
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicySpec;
use crate::signing::{DeploymentKey, SIGNED_SCHEMA_VERSION};
use crate::timeframe::Timeframe;

/// The schema version written into every new envelope.
///
/// - 1: the first format.
/// - 2: envelopes are sealed into a hash chain per task (`prev_hash`, `hash`; see
///   `chain.rs`). A version-1 envelope is read as an unsealed one (both `None`): nothing
///   else changed, so no other upcasting is needed.
/// - 3: signed by the deployment key; see signing.rs (`sig`, just before `hash`). A
///   version-1 or -2 envelope is read as an unsigned one (`sig` `None`); nothing else
///   changed. `EventEnvelope::sealed` still writes version 2 (sealed, unsigned),
///   `EventEnvelope::signed` writes version 3.
pub const CURRENT_SCHEMA_VERSION: u32 = 3;

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
    /// The plan's reporting rules, recorded with each of its tasks at import so that a
    /// task's history alone says what was asked of it. `None` in events written before
    /// plans carried a policy: read as the `default` preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting: Option<PlanReporting>,
    /// The identity of every agency the assignment names, and of the members of the
    /// groups among them, as the directory had them at import: the record of who is who.
    /// Later events name agencies of this task (unambiguous within its province) and
    /// are read through this table. Empty in events written before agencies had ids:
    /// readers resolve those names against the directory, with the task's province, as
    /// the import would have (`dondoc-app` agencies.rs, "upcasting").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agency_ids: Vec<AgencyIdentity>,
}

impl TaskAssigned {
    /// The recorded id of `name` (compared by `AgencyName::match_key`), if any.
    pub fn recorded_id(&self, name: &AgencyName) -> Option<&AgencyId> {
        let key = name.match_key();
        self.agency_ids
            .iter()
            .find(|identity| identity.name.match_key() == key)
            .map(|identity| &identity.id)
    }
}

/// One agency as an assignment records it: its name in the task, its identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyIdentity {
    pub name: AgencyName,
    pub id: AgencyId,
}

/// A plan's reporting rules as imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReporting {
    pub policy: ReportingPolicySpec,
    /// The province whose agency directory the plan was read against: it decides the
    /// members of groups such as "UBND cấp huyện".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
}

/// What an agency owes: a periodic report under the plan's policy, or the answer to a
/// report request recorded on the task. With the agency, it names one obligation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "duty", rename_all = "snake_case")]
pub enum Duty {
    Periodic { period: ReportingPeriod },
    Requested { request_key: RequestKey },
}

impl std::fmt::Display for Duty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Periodic { period } => write!(f, "report {period}"),
            Self::Requested { request_key } => write!(f, "request {request_key}"),
        }
    }
}

/// Who asks and what is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// "Báo cáo đột xuất": the plan's owner asks lead agencies for a report outside the
    /// periodic schedule.
    AdHoc,
    /// A lead agency asks coordinating agencies for their contribution ("khi có yêu cầu
    /// từ đơn vị chủ trì").
    Coordination,
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
pub struct TaskMarkedOverdue {
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
pub struct TaskFlaggedMissing {
    pub source_name: String,
}

/// A later import has the task's row again after it had gone missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReturnedToAppendix {
    pub source_name: String,
}

/// A deadline was extended ("gia hạn"). The original deadline stays on record in the
/// history and in `previous_due`; `agency: None` extends it for every agency that owes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineExtended {
    pub duty: Duty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyName>,
    /// The deadline in force when the extension was granted.
    #[serde(with = "time::serde::rfc3339")]
    pub previous_due: OffsetDateTime,
    /// The first instant at which a report is late under the extension.
    #[serde(with = "time::serde::rfc3339")]
    pub new_due: OffsetDateTime,
    pub reason: String,
    /// Who granted it (the plan's owner).
    pub granted_by: String,
}

/// A report was requested outside the periodic schedule, with its own deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequested {
    pub request_key: RequestKey,
    pub kind: RequestKind,
    pub requested_by: AgencyName,
    /// The agencies that owe an answer (a group fans out to its members).
    pub agencies: Vec<AgencyName>,
    /// The first instant at which an answer is late.
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub subject: String,
}

/// An agency answered a report request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestAnswered {
    pub request_key: RequestKey,
    pub answered_by: AgencyName,
    pub content: String,
}

/// A request's deadline passed without an answer from `agency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMarkedOverdue {
    pub request_key: RequestKey,
    pub agency: AgencyName,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
}

/// A reminder of an approaching deadline went out to `agency` on its NATS subject.
/// Recorded so that no worker, restarted or concurrent, sends it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSent {
    pub duty: Duty,
    pub agency: AgencyName,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    /// The reminder offset it was sent for: this many seconds before `due`.
    pub seconds_before_due: i64,
}

/// Every fact about a task, in one enum. The tag is the event's `type` in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // reason: one assignment per task; boxing buys nothing measurable
pub enum TaskEvent {
    TaskAssigned(TaskAssigned),
    CoordinationRecorded(CoordinationRecorded),
    ReportSubmitted(ReportSubmitted),
    /// Persisted as `task_overdue` (EVENTS.md, "Names").
    #[serde(rename = "task_overdue")]
    TaskMarkedOverdue(TaskMarkedOverdue),
    TaskAmended(TaskAmended),
    /// Persisted as `task_missing_from_appendix` (EVENTS.md, "Names").
    #[serde(rename = "task_missing_from_appendix")]
    TaskFlaggedMissing(TaskFlaggedMissing),
    /// Persisted as `task_back_in_appendix` (EVENTS.md, "Names").
    #[serde(rename = "task_back_in_appendix")]
    TaskReturnedToAppendix(TaskReturnedToAppendix),
    DeadlineExtended(DeadlineExtended),
    ReportRequested(ReportRequested),
    RequestAnswered(RequestAnswered),
    /// Persisted as `request_overdue` (EVENTS.md, "Names").
    #[serde(rename = "request_overdue")]
    RequestMarkedOverdue(RequestMarkedOverdue),
    ReminderSent(ReminderSent),
}

impl TaskEvent {
    /// Every `type` tag a task event can have in JSON (`type_name`'s answers): how a
    /// stored record is told to be a task event (`signing::classify`).
    pub const TYPE_NAMES: [&'static str; 12] = [
        "task_assigned",
        "coordination_recorded",
        "report_submitted",
        "task_overdue",
        "task_amended",
        "task_missing_from_appendix",
        "task_back_in_appendix",
        "deadline_extended",
        "report_requested",
        "request_answered",
        "request_overdue",
        "reminder_sent",
    ];

    /// The `type` tag as it appears in JSON, for logs and NATS headers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::TaskAssigned(_) => "task_assigned",
            Self::CoordinationRecorded(_) => "coordination_recorded",
            Self::ReportSubmitted(_) => "report_submitted",
            Self::TaskMarkedOverdue(_) => "task_overdue",
            Self::TaskAmended(_) => "task_amended",
            Self::TaskFlaggedMissing(_) => "task_missing_from_appendix",
            Self::TaskReturnedToAppendix(_) => "task_back_in_appendix",
            Self::DeadlineExtended(_) => "deadline_extended",
            Self::ReportRequested(_) => "report_requested",
            Self::RequestAnswered(_) => "request_answered",
            Self::RequestMarkedOverdue(_) => "request_overdue",
            Self::ReminderSent(_) => "reminder_sent",
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
    /// The plan import this event is part of (see `ImportCommitted`): such an event
    /// takes effect, for every reader, only once the import's commit record is in the
    /// log, so an import is seen whole or not at all. `None` for every other event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<Uuid>,
    /// The `hash` of the task's previous event; `None` for its first event (or when the
    /// previous one predates sealing). Part of what `hash` covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_hash: Option<String>,
    #[serde(flatten)]
    pub event: TaskEvent,
    /// Schema 3: `<key_id>:<128 hex>`, the deployment key's Ed25519 signature over this
    /// envelope's JSON without `sig` and `hash` (so over `prev_hash` too), written just
    /// before `hash`; `signing::check_signature` checks it on the stored bytes. `None`
    /// for an unsigned envelope (schemas 1 and 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    /// SHA-256 (lowercase hex) of this envelope's JSON without this member, which is
    /// always written last: `chain::check_seal` recomputes it from the stored bytes
    /// (`sig` included). `None` for an unsealed envelope (schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
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
            import_id: None,
            prev_hash: None,
            event,
            sig: None,
            hash: None,
        }
    }

    /// Seals the envelope into its task's chain after the event whose hash is
    /// `prev_hash`, unsigned: sets `prev_hash`, then `hash` over the JSON without `hash`.
    /// A sealed, unsigned envelope is schema 2 (schema 3 means signed), so a schema-3
    /// envelope is written as version 2 and any `sig` is dropped.
    pub fn sealed(mut self, prev_hash: Option<String>) -> Self {
        self.schema_version = self.schema_version.min(2);
        self.prev_hash = prev_hash;
        self.sig = None;
        self.hash = None;
        self.hash = Some(crate::chain::sha256_hex(&self.encode()));
        self
    }

    /// Signs and seals the envelope into its task's chain after the event whose hash is
    /// `prev_hash` (schema 3): sets `prev_hash`, then `sig` by `key` over the JSON
    /// without `sig` and `hash`, then `hash` over the JSON without `hash`.
    pub fn signed(mut self, prev_hash: Option<String>, key: &DeploymentKey) -> Self {
        self.schema_version = self.schema_version.max(SIGNED_SCHEMA_VERSION);
        self.prev_hash = prev_hash;
        self.sig = None;
        self.hash = None;
        self.sig = Some(key.signature_member(&self.encode()));
        self.hash = Some(crate::chain::sha256_hex(&self.encode()));
        self
    }

    /// The stored form. `hash` is the struct's last field and `sig` the one before, so a
    /// signed envelope encodes as its content JSON, then `,"sig":"…"`, then
    /// `,"hash":"…"` before the closing brace: exactly the bytes `chain::check_seal` and
    /// `signing::check_signature` verify.
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
