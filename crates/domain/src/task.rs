//! The task aggregate: one appendix row, its assignment, the reports and coordination
//! recorded against it, and the periods it went overdue.
//!
//! Purposefully synchronous and pure (the esrs shape):
//! `decide(&state, &command, now) -> Result<Vec<TaskEvent>, DomainError>` holds every
//! business rule; `apply(state, &envelope) -> state` only records facts and never refuses
//! one. Replaying the same envelopes in the same order always yields the same state.
//! Whatever a decision needs from outside (the clock, the assignment built from an
//! appendix row) arrives in the command or as `now`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{DomainError, InvalidInput};
use crate::event::{
    CoordinationRecorded, DeadlineExtended, Duty, EventEnvelope, ReminderSent, ReportRequested,
    ReportSubmitted, RequestAnswered, RequestKind, RequestMarkedOverdue, TaskAmended, TaskAssigned,
    TaskEvent, TaskFlaggedMissing, TaskMarkedOverdue, TaskReturnedToAppendix,
};
use crate::ids::{AgencyName, RequestKey};
use crate::obligation::Debtor;
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;
use crate::vietnam_time::in_vietnam;

/// What a client or worker asks of a task. Imperative names; the events are past tense.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // reason: commands are short-lived; boxing buys nothing measurable
pub enum TaskCommand {
    /// Create the task from an appendix row, or bring it in line with a re-imported
    /// (possibly revised) row. Identical content decides nothing.
    AssignTask(TaskAssigned),
    /// A re-imported appendix of the plan no longer has this task's row.
    FlagMissingFromAppendix {
        source_name: String,
    },
    RecordCoordination {
        agency: AgencyName,
        note: String,
    },
    SubmitReport {
        period: ReportingPeriod,
        reported_by: AgencyName,
        content: String,
    },
    /// Record that `period`'s deadline passed unreported. `deadline` is the first instant
    /// at which a report is late. `agency`: the agency that owes the report, or `None`
    /// for the task as a whole. Idempotent: a (period, agency) pair is marked at most
    /// once, and never when a report arrived before the deadline: one by that agency, or,
    /// for `None`, any report of the period.
    ///
    /// Agencies are compared by `AgencyName::match_key` (case-insensitive). Whether
    /// `agency` owes anything is not checked here: a member of a lead group is not named
    /// in the task, and group membership is not part of the aggregate. Nor does a report
    /// under a group's name protect its members here; the caller that knows the groups
    /// (`obligation::obligations`) only asks to mark obligations it found `Overdue`.
    ///
    /// A mark whose deadline is at or after `deadline` already covers it; a later
    /// deadline (after an extension) can be marked again.
    MarkOverdue {
        period: ReportingPeriod,
        deadline: OffsetDateTime,
        agency: Option<AgencyName>,
    },
    /// Extend a deadline ("gia hạn") for `agency`, or for every agency that owes the duty
    /// (`None`). `debtors` are who owes the duty now and by when, as the caller derived
    /// them from the task's obligations (periodic deadlines depend on the holiday
    /// calendar and groups on the agency directory, neither part of the aggregate):
    /// refused when nobody, or not `agency`, owes it. The deadline in force is the latest
    /// of the debtors'; `new_due` must be later.
    ExtendDeadline {
        duty: Duty,
        agency: Option<AgencyName>,
        debtors: Vec<Debtor>,
        new_due: OffsetDateTime,
        reason: String,
        granted_by: String,
    },
    /// Ask for a report outside the periodic schedule. Ad hoc requests go to lead
    /// agencies, coordination requests from a lead to coordinating agencies. The same
    /// request again decides nothing; another request under the same key is refused.
    RequestReport {
        request_key: RequestKey,
        kind: RequestKind,
        requested_by: AgencyName,
        agencies: Vec<AgencyName>,
        due: OffsetDateTime,
        subject: String,
    },
    /// Answer a report request. `debtors` are who owes the answer now (the asked
    /// agencies, a group fanned out to its members), as the caller derived them: refused
    /// when `answered_by` is not among them, since its answer would cover nothing.
    AnswerRequest {
        request_key: RequestKey,
        answered_by: AgencyName,
        debtors: Vec<Debtor>,
        content: String,
    },
    /// Record that a request's deadline passed without `agency`'s answer. Idempotent like
    /// `MarkOverdue`.
    MarkRequestOverdue {
        request_key: RequestKey,
        agency: AgencyName,
        due: OffsetDateTime,
    },
    /// Record that a reminder went out. Idempotent: one per (duty, agency, due, offset).
    RecordReminder {
        duty: Duty,
        agency: AgencyName,
        due: OffsetDateTime,
        seconds_before_due: i64,
    },
}

impl TaskCommand {
    /// Whether deciding this command again after it was applied decides nothing: its
    /// events bring the state to a fixed point (assignment, flags, overdue marks). Such a
    /// command can be retried by re-deciding; any other must be deduplicated by its
    /// request id.
    pub fn converges(&self) -> bool {
        matches!(
            self,
            Self::AssignTask(_)
                | Self::FlagMissingFromAppendix { .. }
                | Self::MarkOverdue { .. }
                | Self::RequestReport { .. }
                | Self::MarkRequestOverdue { .. }
                | Self::RecordReminder { .. }
        )
    }
}

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

/// Decides which events `command` produces against `state` at `now`.
pub fn decide(
    state: &TaskState,
    command: &TaskCommand,
    now: OffsetDateTime,
) -> Result<Vec<TaskEvent>, DomainError> {
    match command {
        TaskCommand::AssignTask(assigned) => decide_assign(state, assigned),
        TaskCommand::FlagMissingFromAppendix { source_name } => {
            if state.assignment.is_none() {
                return Err(DomainError::NotAssigned);
            }
            if state.missing_from_appendix.is_some() {
                return Ok(Vec::new());
            }
            Ok(vec![TaskEvent::TaskFlaggedMissing(TaskFlaggedMissing {
                source_name: source_name.clone(),
            })])
        }
        TaskCommand::RecordCoordination { agency, note } => {
            if state.assignment.is_none() {
                return Err(DomainError::NotAssigned);
            }
            let note = non_empty_text("note", note)?;
            Ok(vec![TaskEvent::CoordinationRecorded(
                CoordinationRecorded {
                    agency: agency.clone(),
                    note,
                },
            )])
        }
        TaskCommand::SubmitReport {
            period,
            reported_by,
            content,
        } => {
            let assignment = state.assignment.as_ref().ok_or(DomainError::NotAssigned)?;
            let content = non_empty_text("content", content)?;
            if !assignment.details.timeframe.covers(period) {
                return Err(DomainError::PeriodOutsideTimeframe {
                    period: *period,
                    timeframe: assignment.details.timeframe.to_string(),
                });
            }
            if now < period.starts_at() {
                return Err(DomainError::PeriodNotStarted { period: *period });
            }
            Ok(vec![TaskEvent::ReportSubmitted(ReportSubmitted {
                period: *period,
                reported_by: reported_by.clone(),
                content,
            })])
        }
        TaskCommand::MarkOverdue {
            period,
            deadline,
            agency,
        } => {
            if state.assignment.is_none() {
                return Err(DomainError::NotAssigned);
            }
            if now < *deadline {
                return Err(DomainError::DeadlineNotPassed {
                    what: format!("report {period}"),
                    deadline: deadline.to_string(),
                });
            }
            let key = agency.as_ref().map(AgencyName::match_key);
            let already_marked = state.overdue.iter().any(|mark| {
                mark.period == *period
                    && mark.deadline >= *deadline
                    && mark.agency.as_ref().map(AgencyName::match_key) == key
            });
            // `deadline` is the first instant at which a report is late (calendar::Deadline::due).
            let reported_in_time = state.reports.iter().any(|report| {
                report.period == *period
                    && report.submitted_at < *deadline
                    && key
                        .as_ref()
                        .is_none_or(|key| report.reported_by.match_key() == *key)
            });
            if already_marked || reported_in_time {
                return Ok(Vec::new());
            }
            Ok(vec![TaskEvent::TaskMarkedOverdue(TaskMarkedOverdue {
                period: *period,
                deadline: in_vietnam(*deadline),
                agency: agency.clone(),
            })])
        }
        TaskCommand::ExtendDeadline {
            duty,
            agency,
            debtors,
            new_due,
            reason,
            granted_by,
        } => {
            if state.assignment.is_none() {
                return Err(DomainError::NotAssigned);
            }
            if let Duty::Requested { request_key } = duty {
                known_request(state, request_key)?;
            }
            let current_due = &deadline_in_force(duty, agency.as_ref(), debtors)?;
            if new_due <= current_due {
                return Err(InvalidInput::new(
                    "new_due",
                    format!(
                        "{} must be later than the deadline in force, {}",
                        in_vietnam(*new_due),
                        in_vietnam(*current_due)
                    ),
                )
                .into());
            }
            let reason = non_empty_text("reason", reason)?;
            let granted_by = non_empty_text("granted_by", granted_by)?;
            Ok(vec![TaskEvent::DeadlineExtended(DeadlineExtended {
                duty: duty.clone(),
                agency: agency.clone(),
                previous_due: in_vietnam(*current_due),
                new_due: in_vietnam(*new_due),
                reason,
                granted_by,
            })])
        }
        TaskCommand::RequestReport {
            request_key,
            kind,
            requested_by,
            agencies,
            due,
            subject,
        } => decide_request(
            state,
            ReportRequested {
                request_key: request_key.clone(),
                kind: *kind,
                requested_by: requested_by.clone(),
                agencies: agencies.clone(),
                due: in_vietnam(*due),
                subject: subject.trim().to_owned(),
            },
            now,
        ),
        TaskCommand::AnswerRequest {
            request_key,
            answered_by,
            debtors,
            content,
        } => {
            known_request(state, request_key)?;
            let duty = Duty::Requested {
                request_key: request_key.clone(),
            };
            owed_by(&duty, Some(answered_by), debtors)?;
            let content = non_empty_text("content", content)?;
            Ok(vec![TaskEvent::RequestAnswered(RequestAnswered {
                request_key: request_key.clone(),
                answered_by: answered_by.clone(),
                content,
            })])
        }
        TaskCommand::MarkRequestOverdue {
            request_key,
            agency,
            due,
        } => {
            known_request(state, request_key)?;
            if now < *due {
                return Err(DomainError::DeadlineNotPassed {
                    what: format!("request {request_key}"),
                    deadline: due.to_string(),
                });
            }
            let key = agency.match_key();
            let already_marked = state.request_overdue.iter().any(|mark| {
                mark.request_key == *request_key
                    && mark.due >= *due
                    && mark.agency.match_key() == key
            });
            let answered_in_time = state.answers.iter().any(|answer| {
                answer.request_key == *request_key
                    && answer.answered_at < *due
                    && answer.answered_by.match_key() == key
            });
            if already_marked || answered_in_time {
                return Ok(Vec::new());
            }
            Ok(vec![TaskEvent::RequestMarkedOverdue(
                RequestMarkedOverdue {
                    request_key: request_key.clone(),
                    agency: agency.clone(),
                    due: in_vietnam(*due),
                },
            )])
        }
        TaskCommand::RecordReminder {
            duty,
            agency,
            due,
            seconds_before_due,
        } => {
            if state.assignment.is_none() {
                return Err(DomainError::NotAssigned);
            }
            let key = agency.match_key();
            let already_sent = state.reminders.iter().any(|mark| {
                mark.duty == *duty
                    && mark.due == *due
                    && mark.seconds_before_due == *seconds_before_due
                    && mark.agency.match_key() == key
            });
            if already_sent {
                return Ok(Vec::new());
            }
            Ok(vec![TaskEvent::ReminderSent(ReminderSent {
                duty: duty.clone(),
                agency: agency.clone(),
                due: in_vietnam(*due),
                seconds_before_due: *seconds_before_due,
            })])
        }
    }
}

/// Why a command about `duty` is refused when nobody owes it.
fn nobody_owes(duty: &Duty) -> InvalidInput {
    let field = match duty {
        Duty::Periodic { .. } => "period",
        Duty::Requested { .. } => "request_key",
    };
    InvalidInput::new(
        field,
        format!(
            "the task owes no {duty}: outside its timeframe, or not a report its plan's \
             policy asks for"
        ),
    )
}

/// The debtors of `duty` that `agency` is (itself, or a member through a group that owes
/// it; every debtor for `None`), or why there are none: nobody owes it, or others do.
fn owed_by<'d>(
    duty: &Duty,
    agency: Option<&AgencyName>,
    debtors: &'d [Debtor],
) -> Result<Vec<&'d Debtor>, InvalidInput> {
    if debtors.is_empty() {
        return Err(nobody_owes(duty));
    }
    let Some(agency) = agency else {
        return Ok(debtors.iter().collect());
    };
    let owed: Vec<&Debtor> = debtors.iter().filter(|debtor| debtor.is(agency)).collect();
    if owed.is_empty() {
        let mut others: Vec<&str> = debtors
            .iter()
            .map(|debtor| debtor.agency.as_str())
            .collect();
        others.dedup();
        return Err(InvalidInput::new(
            "agency",
            format!(
                "{agency} owes no {duty} on this task; it is owed by {}",
                others.join("; ")
            ),
        ));
    }
    Ok(owed)
}

/// The deadline an extension of `duty` for `agency` (every debtor for `None`) replaces:
/// the latest of those debtors' deadlines in force.
fn deadline_in_force(
    duty: &Duty,
    agency: Option<&AgencyName>,
    debtors: &[Debtor],
) -> Result<OffsetDateTime, InvalidInput> {
    owed_by(duty, agency, debtors)?
        .iter()
        .map(|debtor| debtor.due)
        .max()
        .ok_or_else(|| nobody_owes(duty))
}

/// The request `key` of an assigned task, or why there is none.
fn known_request<'s>(
    state: &'s TaskState,
    key: &RequestKey,
) -> Result<&'s ReportRequest, DomainError> {
    if state.assignment.is_none() {
        return Err(DomainError::NotAssigned);
    }
    state
        .report_request(key)
        .ok_or_else(|| DomainError::UnknownRequest {
            request_key: key.to_string(),
        })
}

fn decide_request(
    state: &TaskState,
    requested: ReportRequested,
    now: OffsetDateTime,
) -> Result<Vec<TaskEvent>, DomainError> {
    let assignment = state.assignment.as_ref().ok_or(DomainError::NotAssigned)?;
    if let Some(existing) = state.report_request(&requested.request_key) {
        let same = existing.kind == requested.kind
            && existing.requested_by == requested.requested_by
            && existing.agencies == requested.agencies
            && existing.due == requested.due
            && existing.subject == requested.subject;
        return if same {
            Ok(Vec::new())
        } else {
            Err(DomainError::RequestKeyTaken {
                request_key: requested.request_key.to_string(),
            })
        };
    }
    non_empty_text("subject", &requested.subject)?;
    if requested.agencies.is_empty() {
        return Err(InvalidInput::new("agencies", "name at least one agency to ask").into());
    }
    if requested.due <= now {
        return Err(
            InvalidInput::new("due", format!("{} is not in the future", requested.due)).into(),
        );
    }
    let details = &assignment.details;
    let is_in = |name: &AgencyName, list: &[AgencyName]| {
        list.iter()
            .any(|listed| listed.match_key() == name.match_key())
    };
    // Who may be asked follows the plan's text: ad hoc reports are owed by the task's
    // lead agencies; coordinating agencies contribute "khi có yêu cầu từ đơn vị chủ trì",
    // so a coordination request comes from a lead and goes to the task's coordinators.
    let (allowed, role) = match requested.kind {
        RequestKind::AdHoc => (&details.lead, "lead"),
        RequestKind::Coordination => {
            if !is_in(&requested.requested_by, &details.lead) {
                return Err(InvalidInput::new(
                    "requested_by",
                    format!(
                        "{} is not a lead agency of the task; coordination is requested by a lead",
                        requested.requested_by
                    ),
                )
                .into());
            }
            (&details.coordinators, "coordinating")
        }
    };
    if let Some(outsider) = requested
        .agencies
        .iter()
        .find(|agency| !is_in(agency, allowed))
    {
        return Err(InvalidInput::new(
            "agencies",
            format!("{outsider} is not a {role} agency of the task"),
        )
        .into());
    }
    Ok(vec![TaskEvent::ReportRequested(requested)])
}

fn decide_assign(
    state: &TaskState,
    assigned: &TaskAssigned,
) -> Result<Vec<TaskEvent>, DomainError> {
    if assigned.lead.is_empty() {
        return Err(InvalidInput::new("lead", "a task needs at least one lead agency").into());
    }
    non_empty_text("title", &assigned.title)?;
    if let Some(reporting) = &assigned.reporting {
        ReportingPolicy::new(reporting.policy.clone()).map_err(|err| {
            InvalidInput::new(format!("reporting.policy.{}", err.field), err.message)
        })?;
    }
    let Some(existing) = &state.assignment else {
        return Ok(vec![TaskEvent::TaskAssigned(assigned.clone())]);
    };
    let mut events = Vec::new();
    if state.missing_from_appendix.is_some() {
        events.push(TaskEvent::TaskReturnedToAppendix(TaskReturnedToAppendix {
            source_name: assigned.source.source_name.clone(),
        }));
    }
    let changed = changed_fields(&existing.details, assigned);
    if !changed.is_empty() {
        events.push(TaskEvent::TaskAmended(TaskAmended {
            changed: changed.into_iter().map(str::to_owned).collect(),
            assignment: assigned.clone(),
        }));
    }
    Ok(events)
}

/// What differs between two versions of a row, by field name.
///
/// Where the row sits in its document (line, document name) is not part of the task:
/// the same appendix imported whole or as a bare table is the same task. Its position
/// among the appendix's rows, its section and its cells as written are.
pub fn changed_fields(before: &TaskAssigned, after: &TaskAssigned) -> Vec<&'static str> {
    let (old_source, new_source) = (&before.source, &after.source);
    [
        ("title", before.title != after.title),
        ("content", before.content != after.content),
        ("lead", before.lead != after.lead),
        ("coordinators", before.coordinators != after.coordinators),
        ("timeframe", before.timeframe != after.timeframe),
        ("extra", before.extra != after.extra),
        ("plan_year", before.plan_year != after.plan_year),
        ("reporting", before.reporting != after.reporting),
        (
            "section",
            old_source.section_number != new_source.section_number
                || old_source.section_title != new_source.section_title,
        ),
        ("position", old_source.position != new_source.position),
        (
            "cells",
            old_source.lead_text != new_source.lead_text
                || old_source.coordinators_text != new_source.coordinators_text,
        ),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect()
}

fn non_empty_text(field: &str, text: &str) -> Result<String, InvalidInput> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    Ok(trimmed.to_owned())
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
