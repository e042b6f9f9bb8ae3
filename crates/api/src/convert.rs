//! Conversions between domain views and dondoc.v1 messages. No logic beyond shape.

use dondoc_domain::{Schedule, Timeframe};
use dondoc_projection::TaskView;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::pb;

pub fn rfc3339(instant: OffsetDateTime) -> String {
    instant.format(&Rfc3339).unwrap_or_default()
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

pub fn task(view: &TaskView) -> pb::Task {
    let state = &view.state;
    let mut task = pb::Task {
        task_id: view.task_id.to_string(),
        plan_id: view.plan_id.to_string(),
        version: state.version,
        stream_sequence: view.last_sequence,
        reports: state
            .reports
            .iter()
            .map(|report| pb::Report {
                period: report.period.to_string(),
                agency: report.reported_by.to_string(),
                content: report.content.clone(),
                submitted_at: rfc3339(report.submitted_at),
                version: report.version,
            })
            .collect(),
        coordinations: state
            .coordinations
            .iter()
            .map(|coordination| pb::Coordination {
                agency: coordination.agency.to_string(),
                note: coordination.note.clone(),
                recorded_at: rfc3339(coordination.recorded_at),
                version: coordination.version,
            })
            .collect(),
        overdue: state
            .overdue
            .iter()
            .map(|mark| pb::Overdue {
                period: mark.period.to_string(),
                deadline: rfc3339(mark.deadline),
                recorded_at: rfc3339(mark.recorded_at),
                agency: mark
                    .agency
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            })
            .collect(),
        amendments: state
            .amendments
            .iter()
            .map(|amendment| pb::Amendment {
                changed: amendment.changed.clone(),
                amended_at: rfc3339(amendment.amended_at),
                version: amendment.version,
            })
            .collect(),
        missing_from_appendix: state.missing_from_appendix.is_some(),
        missing_since: state
            .missing_from_appendix
            .as_ref()
            .map(|mark| rfc3339(mark.since))
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
        task.assigned_at = rfc3339(assignment.assigned_at);
        task.plan_year = details.plan_year;
    }
    task
}
