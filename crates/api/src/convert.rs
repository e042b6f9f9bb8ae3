//! Conversions from the application's answers to dondoc.v1 messages. No logic beyond
//! shape. Instants go out in Vietnam time: to the second where they are deadlines and
//! "now" (`rfc3339`), with the precision they have where they record when something
//! happened (`exact_instant`).

use dondoc_app::{Agencies, AgencyRef};
use dondoc_app::{CommandOutcome, Scorecard, ScorecardRow, TaskObligation, TaskSnapshot};
use dondoc_domain::{
    in_vietnam, rfc3339, AgencyName, Duty, Obligation, ObligationSource, ObligationStatus, PlanId,
    RequestKind, Schedule, TaskId, Timeframe,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tonic::Response;

use crate::pb;

/// RFC 3339 in Vietnam time, with the instant's own precision.
pub fn exact_instant(instant: OffsetDateTime) -> String {
    in_vietnam(instant).format(&Rfc3339).unwrap_or_default()
}

fn timeframe(timeframe: &Timeframe) -> pb::Timeframe {
    let (kind, from_year, to_year) = match timeframe.schedule {
        Schedule::PlanYear { year } => ("plan_year", year, year),
        Schedule::Year { year } => ("year", year, year),
        Schedule::Range { from, to } => ("range", from, to),
        Schedule::Annual { from } => ("annual", from, 0),
        Schedule::Ongoing { from } => ("ongoing", from, 0),
        Schedule::Unparsed { from } => ("unparsed", from, 0),
    };
    pb::Timeframe {
        text: timeframe.text.clone().unwrap_or_default(),
        kind: kind.to_owned(),
        from_year,
        to_year,
    }
}

pub fn task(agencies: &Agencies, snapshot: &TaskSnapshot) -> pb::Task {
    let state = &snapshot.state;
    let id_of = |name: &AgencyName| {
        agencies
            .identify(state, &snapshot.plan_id, name)
            .id
            .to_string()
    };
    let mut task = pb::Task {
        task_id: snapshot.task_id.to_string(),
        plan_id: snapshot.plan_id.to_string(),
        version: state.version,
        stream_sequence: snapshot.stream_sequence,
        through_groups: snapshot
            .through_groups
            .iter()
            .map(ToString::to_string)
            .collect(),
        reports: state
            .reports
            .iter()
            .map(|report| pb::Report {
                period: report.period.to_string(),
                agency: report.reported_by.to_string(),
                agency_id: id_of(&report.reported_by),
                content: report.content.clone(),
                submitted_at: exact_instant(report.submitted_at),
                version: report.version,
            })
            .collect(),
        coordinations: state
            .coordinations
            .iter()
            .map(|coordination| pb::Coordination {
                agency: coordination.agency.to_string(),
                agency_id: id_of(&coordination.agency),
                note: coordination.note.clone(),
                recorded_at: exact_instant(coordination.recorded_at),
                version: coordination.version,
            })
            .collect(),
        overdue: state
            .overdue
            .iter()
            .map(|mark| pb::Overdue {
                period: mark.period.to_string(),
                deadline: exact_instant(mark.deadline),
                recorded_at: exact_instant(mark.recorded_at),
                agency: mark
                    .agency
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                agency_id: mark.agency.as_ref().map(id_of).unwrap_or_default(),
            })
            .collect(),
        amendments: state
            .amendments
            .iter()
            .map(|amendment| pb::Amendment {
                changed: amendment.changed.clone(),
                amended_at: exact_instant(amendment.amended_at),
                version: amendment.version,
            })
            .collect(),
        missing_from_appendix: state.missing_from_appendix.is_some(),
        missing_since: state
            .missing_from_appendix
            .as_ref()
            .map(|mark| exact_instant(mark.since))
            .unwrap_or_default(),
        ..Default::default()
    };
    if let Some(assignment) = &state.assignment {
        let details = &assignment.details;
        let source = &details.source;
        task.row_number = source.row_number.clone();
        task.section_number = source.section_number.clone().unwrap_or_default();
        task.section_title = source.section_title.clone().unwrap_or_default();
        task.title = details.title.clone();
        task.content = details.content.clone().unwrap_or_default();
        task.lead_agencies = details.lead.iter().map(ToString::to_string).collect();
        task.coordinating_agencies = details
            .coordinators
            .iter()
            .map(ToString::to_string)
            .collect();
        let identified = |names: &[AgencyName]| -> Vec<pb::Agency> {
            names
                .iter()
                .map(|name| {
                    let agency = agencies.identify(state, &snapshot.plan_id, name);
                    pb::Agency {
                        id: agency.id.to_string(),
                        name: agency.name.to_string(),
                    }
                })
                .collect()
        };
        task.leads = identified(&details.lead);
        task.coordinators = identified(&details.coordinators);
        task.timeframe = Some(timeframe(&details.timeframe));
        task.source = Some(pb::AppendixSource {
            source_name: source.source_name.clone(),
            line: source.line as u32,
            position: source.position as u32,
            occurrence: source.occurrence as u32,
            lead_text: source.lead_text.clone(),
            coordinators_text: source.coordinators_text.clone(),
        });
        task.extra_columns = details
            .extra
            .iter()
            .map(|column| pb::ExtraColumn {
                header: column.header.clone(),
                value: column.value.clone(),
            })
            .collect();
        task.assigned_at = exact_instant(assignment.assigned_at);
        task.plan_year = details.plan_year;
    }
    task
}

fn instant(instant: OffsetDateTime) -> String {
    rfc3339(instant)
}

fn request_kind(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::AdHoc => "ad_hoc",
        RequestKind::Coordination => "coordination",
    }
}

/// The task fields an obligation message repeats.
pub struct TaskRef<'a> {
    pub task_id: TaskId,
    pub plan_id: &'a PlanId,
    pub row_number: &'a str,
    pub title: &'a str,
}

impl<'a> TaskRef<'a> {
    pub fn of_task(task: &'a TaskSnapshot) -> Self {
        let assignment = task.state.assignment.as_ref();
        Self {
            task_id: task.task_id,
            plan_id: &task.plan_id,
            row_number: assignment.map_or("", |assignment| &assignment.details.source.row_number),
            title: assignment.map_or("", |assignment| &assignment.details.title),
        }
    }
}

/// One obligation of `task`, owed by `owed_by` (through `via_group`).
pub fn obligation(
    task: &TaskRef<'_>,
    obligation: &Obligation,
    owed_by: &AgencyRef,
    via_group: Option<&AgencyRef>,
) -> pb::Obligation {
    let mut message = pb::Obligation {
        agency: obligation.agency.to_string(),
        agency_id: owed_by.id.to_string(),
        via_group_id: via_group
            .map(|group| group.id.to_string())
            .unwrap_or_default(),
        via_group: obligation
            .via_group
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        original_due: instant(obligation.original_due),
        due: instant(obligation.due),
        status: obligation.status.name().to_owned(),
        reported_at: match obligation.status {
            ObligationStatus::ReportedOnTime { at } | ObligationStatus::ReportedLate { at } => {
                instant(at)
            }
            _ => String::new(),
        },
        extension: obligation
            .extension
            .as_ref()
            .map(|extension| pb::DeadlineExtension {
                reason: extension.reason.clone(),
                granted_by: extension.granted_by.clone(),
                granted_at: instant(extension.granted_at),
            }),
        ..Default::default()
    };
    match &obligation.duty {
        Duty::Periodic { period } => message.period = period.to_string(),
        Duty::Requested { request_key } => message.request_key = request_key.to_string(),
    }
    match &obligation.source {
        ObligationSource::Periodic(deadline) => {
            message.last_day_on_time = deadline.last_day_on_time.to_string();
        }
        ObligationSource::Requested {
            kind,
            requested_by,
            subject,
        } => {
            message.request_kind = request_kind(*kind).to_owned();
            message.requested_by = requested_by.to_string();
            message.subject = subject.clone();
        }
    }
    message.task_id = task.task_id.to_string();
    message.plan_id = task.plan_id.to_string();
    message.row_number = task.row_number.to_owned();
    message.task_title = task.title.to_owned();
    message
}

pub fn task_obligation(found: &TaskObligation) -> pb::Obligation {
    let task = TaskRef {
        task_id: found.task_id,
        plan_id: &found.plan_id,
        row_number: &found.row_number,
        title: &found.title,
    };
    obligation(
        &task,
        &found.obligation,
        &found.agency,
        found.via_group.as_ref(),
    )
}

pub fn scorecard_row(row: &ScorecardRow) -> pb::ScorecardRow {
    let counts = &row.counts;
    pb::ScorecardRow {
        agency: row.agency.to_string(),
        agency_id: row.agency_id.to_string(),
        period: row
            .period
            .map(|period| period.to_string())
            .unwrap_or_default(),
        pending: counts.pending as u32,
        extended: counts.extended as u32,
        overdue: counts.overdue as u32,
        reported_on_time: counts.reported_on_time as u32,
        reported_late: counts.reported_late as u32,
        on_time_rate: counts.on_time_rate(),
        total: counts.total() as u32,
    }
}

/// A scorecard as GetScorecard (and GetScorecardAsOf) answer it.
pub fn scorecard(scorecard: &Scorecard) -> pb::GetScorecardResponse {
    pb::GetScorecardResponse {
        as_of: rfc3339(scorecard.as_of),
        rows: scorecard.rows.iter().map(scorecard_row).collect(),
        totals: scorecard.totals.iter().map(scorecard_row).collect(),
    }
}

pub fn command_response(outcome: CommandOutcome) -> Response<pb::CommandResponse> {
    Response::new(pb::CommandResponse {
        task_id: outcome.task_id.to_string(),
        version: outcome.version,
        stream_sequence: outcome.stream_sequence,
        unchanged: outcome.unchanged,
    })
}
