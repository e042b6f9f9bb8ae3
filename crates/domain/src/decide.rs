//! `decide`: every business rule of the task aggregate. Given the task's state, a command
//! and "now", it returns the events the command produces, or why it is refused.
//!
//! Pure: no I/O and no clock. Idempotent where the command says so
//! (`TaskCommand::converges`): deciding such a command again on the state its events
//! produced decides nothing.

use time::OffsetDateTime;

use crate::command::TaskCommand;
use crate::debtor::Debtor;
use crate::error::{DomainError, InvalidInput};
use crate::event::{
    CoordinationRecorded, DeadlineExtended, Duty, ReminderSent, ReportRequested, ReportSubmitted,
    RequestAnswered, RequestKind, RequestMarkedOverdue, TaskAmended, TaskAssigned, TaskEvent,
    TaskFlaggedMissing, TaskMarkedOverdue, TaskReturnedToAppendix,
};
use crate::ids::{AgencyName, RequestKey};
use crate::policy::ReportingPolicy;
use crate::task::{ReportRequest, TaskState};
use crate::text::{check_text, limits};
use crate::vietnam_time::in_vietnam;

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
        // A re-import of a task recorded before agencies had ids records them: that
        // fills the record in, it does not change who the task names.
        // Who the same names are, changed (a directory that re-keyed an agency); a
        // change of names is "lead" or "coordinators" already.
        (
            "agency_ids",
            !before.agency_ids.is_empty()
                && before.lead == after.lead
                && before.coordinators == after.coordinators
                && before.agency_ids != after.agency_ids,
        ),
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

/// A caller's text, trimmed: not empty, within its limit, without forbidden characters
/// (`text.rs`). Long text (contents, notes, reasons) may hold line breaks and tabs.
fn non_empty_text(field: &str, text: &str) -> Result<String, InvalidInput> {
    let (limit, multiline) = match field {
        "content" => (limits::REPORT_CONTENT, true),
        "note" => (limits::NOTE, true),
        "reason" => (limits::SHORT_TEXT, true),
        // A title comes from an appendix row, whose reader checks its cells.
        "title" => (usize::MAX, true),
        _ => (limits::SHORT_TEXT, false),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    check_text(field, trimmed, limit, multiline)?;
    Ok(trimmed.to_owned())
}
