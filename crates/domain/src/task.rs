//! The task aggregate's state: one appendix row, its assignment, the reports and
//! coordination recorded against it, its requests, extensions, overdue marks and
//! reminders; and `apply`, which records an event in it.
//!
//! Purposefully synchronous and pure (the esrs shape): `decide` (`decide.rs`) holds
//! every business rule; `apply(state, &envelope) -> state` only records facts and never
//! refuses one. Replaying the same envelopes in the same order always yields the same
//! state. Whatever a decision needs from outside (the clock, the assignment built from
//! an appendix row) arrives in the command (`command.rs`) or as `now`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::event::{Duty, EventEnvelope, RequestKind, TaskAssigned, TaskEvent};
use crate::ids::{AgencyName, RequestKey};
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;

/// The task as its events left it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// Number of events applied; 0 for a task that does not exist yet.
    pub version: u64,
    pub assignment: Option<Assignment>,
    pub reports: Vec<Report>,
    pub coordinations: Vec<Coordination>,
    pub overdue: Vec<OverdueMark>,
    #[serde(default)]
    pub amendments: Vec<Amendment>,
    /// Set while the latest import of the plan lacks the task's row.
    #[serde(default)]
    pub missing_from_appendix: Option<MissingMark>,
    #[serde(default)]
    pub extensions: Vec<Extension>,
    #[serde(default)]
    pub report_requests: Vec<ReportRequest>,
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub request_overdue: Vec<RequestOverdueMark>,
    #[serde(default)]
    pub reminders: Vec<ReminderMark>,
}

impl TaskState {
    /// The reporting policy the task's plan recorded, if any and valid.
    pub fn reporting_policy(&self) -> Option<ReportingPolicy> {
        let reporting = self.assignment.as_ref()?.details.reporting.as_ref()?;
        ReportingPolicy::new(reporting.policy.clone()).ok()
    }

    /// The province the task's plan was read against.
    pub fn province(&self) -> Option<&str> {
        self.assignment
            .as_ref()?
            .details
            .reporting
            .as_ref()?
            .province
            .as_deref()
    }

    pub fn report_request(&self, key: &RequestKey) -> Option<&ReportRequest> {
        self.report_requests
            .iter()
            .find(|request| request.request_key == *key)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub duty: Duty,
    pub agency: Option<AgencyName>,
    #[serde(with = "time::serde::rfc3339")]
    pub previous_due: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub new_due: OffsetDateTime,
    pub reason: String,
    pub granted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    pub request_key: RequestKey,
    pub kind: RequestKind,
    pub requested_by: AgencyName,
    pub agencies: Vec<AgencyName>,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub request_key: RequestKey,
    pub answered_by: AgencyName,
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub answered_at: OffsetDateTime,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOverdueMark {
    pub request_key: RequestKey,
    pub agency: AgencyName,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderMark {
    pub duty: Duty,
    pub agency: AgencyName,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub seconds_before_due: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    pub changed: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub amended_at: OffsetDateTime,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingMark {
    pub source_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    #[serde(flatten)]
    pub details: TaskAssigned,
    #[serde(with = "time::serde::rfc3339")]
    pub assigned_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub period: ReportingPeriod,
    pub reported_by: AgencyName,
    pub content: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    /// The task version this report produced.
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordination {
    pub agency: AgencyName,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueMark {
    pub period: ReportingPeriod,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// The agency marked, or `None` for the task as a whole (`TaskMarkedOverdue::agency`).
    #[serde(default)]
    pub agency: Option<AgencyName>,
}

/// An event whose version does not follow the task's: the log skipped one, or events of
/// two tasks were crossed. Never applied; whoever reads the log reports it with the
/// event's position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "task {task_id}: event version {event_version} where version {expected_version} was expected"
)]
pub struct VersionGap {
    pub task_id: crate::ids::TaskId,
    pub event_version: u64,
    pub expected_version: u64,
}

/// Where an event stands against a state (`TaskState::succession`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Succession {
    /// The next event: apply it.
    Next,
    /// A version the state already has (a redelivery, a replay after a crash).
    AlreadyApplied,
}

impl TaskState {
    /// Whether `envelope` is this task's next event, one it already has, or a gap.
    pub fn succession(&self, envelope: &EventEnvelope) -> Result<Succession, VersionGap> {
        if envelope.version <= self.version {
            Ok(Succession::AlreadyApplied)
        } else if envelope.version == self.version + 1 {
            Ok(Succession::Next)
        } else {
            Err(VersionGap {
                task_id: envelope.task_id,
                event_version: envelope.version,
                expected_version: self.version + 1,
            })
        }
    }
}

/// Records one event. Never refuses: the event already happened.
pub fn apply(mut state: TaskState, envelope: &EventEnvelope) -> TaskState {
    state.version = envelope.version;
    let occurred_at = envelope.occurred_at;
    match &envelope.event {
        TaskEvent::TaskAssigned(assigned) => {
            state.assignment = Some(Assignment {
                details: assigned.clone(),
                assigned_at: occurred_at,
            });
        }
        TaskEvent::CoordinationRecorded(recorded) => state.coordinations.push(Coordination {
            agency: recorded.agency.clone(),
            note: recorded.note.clone(),
            recorded_at: occurred_at,
            version: envelope.version,
        }),
        TaskEvent::ReportSubmitted(submitted) => state.reports.push(Report {
            period: submitted.period,
            reported_by: submitted.reported_by.clone(),
            content: submitted.content.clone(),
            submitted_at: occurred_at,
            version: envelope.version,
        }),
        TaskEvent::TaskMarkedOverdue(overdue) => state.overdue.push(OverdueMark {
            period: overdue.period,
            deadline: overdue.deadline,
            recorded_at: occurred_at,
            agency: overdue.agency.clone(),
        }),
        TaskEvent::TaskAmended(amended) => {
            state.amendments.push(Amendment {
                changed: amended.changed.clone(),
                amended_at: occurred_at,
                version: envelope.version,
            });
            if let Some(assignment) = &mut state.assignment {
                assignment.details = amended.assignment.clone();
            }
        }
        TaskEvent::TaskFlaggedMissing(missing) => {
            state.missing_from_appendix = Some(MissingMark {
                source_name: missing.source_name.clone(),
                since: occurred_at,
            });
        }
        TaskEvent::TaskReturnedToAppendix(_) => state.missing_from_appendix = None,
        TaskEvent::DeadlineExtended(extended) => state.extensions.push(Extension {
            duty: extended.duty.clone(),
            agency: extended.agency.clone(),
            previous_due: extended.previous_due,
            new_due: extended.new_due,
            reason: extended.reason.clone(),
            granted_by: extended.granted_by.clone(),
            granted_at: occurred_at,
            version: envelope.version,
        }),
        TaskEvent::ReportRequested(requested) => state.report_requests.push(ReportRequest {
            request_key: requested.request_key.clone(),
            kind: requested.kind,
            requested_by: requested.requested_by.clone(),
            agencies: requested.agencies.clone(),
            due: requested.due,
            subject: requested.subject.clone(),
            requested_at: occurred_at,
            version: envelope.version,
        }),
        TaskEvent::RequestAnswered(answered) => state.answers.push(Answer {
            request_key: answered.request_key.clone(),
            answered_by: answered.answered_by.clone(),
            content: answered.content.clone(),
            answered_at: occurred_at,
            version: envelope.version,
        }),
        TaskEvent::RequestMarkedOverdue(overdue) => {
            state.request_overdue.push(RequestOverdueMark {
                request_key: overdue.request_key.clone(),
                agency: overdue.agency.clone(),
                due: overdue.due,
                recorded_at: occurred_at,
            })
        }
        TaskEvent::ReminderSent(sent) => state.reminders.push(ReminderMark {
            duty: sent.duty.clone(),
            agency: sent.agency.clone(),
            due: sent.due,
            seconds_before_due: sent.seconds_before_due,
            sent_at: occurred_at,
        }),
    }
    state
}

/// Folds a whole history, oldest first.
pub fn replay<'a>(envelopes: impl IntoIterator<Item = &'a EventEnvelope>) -> TaskState {
    envelopes.into_iter().fold(TaskState::default(), apply)
}

#[cfg(test)]
#[path = "task_tests.rs"]
mod tests;
