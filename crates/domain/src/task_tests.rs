//! Given/when/then tests of the task aggregate, and replay properties.

use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::event::{AppendixRowRef, EventEnvelope, TaskAssigned, CURRENT_SCHEMA_VERSION};
use crate::ids::{PlanId, RequestId, TaskId};
use crate::timeframe::Timeframe;

fn agency(name: &str) -> AgencyName {
    AgencyName::parse(name).unwrap()
}

fn assignment(timeframe_text: Option<&str>) -> TaskAssigned {
    TaskAssigned {
        plan_year: 2023,
        title: "Tổ chức triển khai Tuần lễ Chuyển đổi số năm 2023".into(),
        content: None,
        lead: vec![agency("Sở TT&TT")],
        coordinators: vec![agency("Các Sở, ban, ngành tỉnh"), agency("UBND cấp huyện")],
        timeframe: Timeframe::parse(timeframe_text, 2023),
        source: AppendixRowRef {
            source_name: "qng-189".into(),
            line: 519,
            position: 0,
            row_number: "1.1".into(),
            occurrence: 1,
            section_number: Some("1".into()),
            section_title: Some("Nhận thức số".into()),
            lead_text: "Sở TT&TT".into(),
            coordinators_text: "Các Sở, ban, ngành tỉnh; UBND cấp huyện;".into(),
        },
        extra: Vec::new(),
        reporting: None,
    }
}

/// The cqrs-es `TestFramework` shape: given past events, when a command, then events or
/// an error.
struct Scenario {
    history: Vec<EventEnvelope>,
}

fn given(events: Vec<TaskEvent>) -> Scenario {
    let mut scenario = Scenario {
        history: Vec::new(),
    };
    for event in events {
        scenario.record(event, datetime!(2023-01-10 09:00 +07:00));
    }
    scenario
}

impl Scenario {
    fn record(&mut self, event: TaskEvent, at: OffsetDateTime) {
        let version = self.history.len() as u64 + 1;
        self.history.push(envelope(version, at, event));
    }

    fn when(
        &self,
        command: TaskCommand,
        now: OffsetDateTime,
    ) -> Result<Vec<TaskEvent>, DomainError> {
        decide(&replay(&self.history), &command, now)
    }
}

fn envelope(version: u64, at: OffsetDateTime, event: TaskEvent) -> EventEnvelope {
    let plan_id = PlanId::parse("qng-189-2022").unwrap();
    EventEnvelope::new(
        Uuid::from_u128(version as u128),
        TaskId::for_appendix_row(&plan_id, Some("1"), "1.1", 1),
        plan_id,
        version,
        at,
        "test".into(),
        RequestId::parse(&format!("req-{version}")).unwrap(),
        event,
    )
}

fn report(period: &str, content: &str) -> TaskCommand {
    TaskCommand::SubmitReport {
        period: ReportingPeriod::parse(period).unwrap(),
        reported_by: agency("Sở TT&TT"),
        content: content.into(),
    }
}

const MARCH_2023: OffsetDateTime = datetime!(2023-03-20 10:00 +07:00);

#[test]
fn assigning_a_new_task_records_the_assignment() {
    let events = given(vec![])
        .when(TaskCommand::AssignTask(assignment(None)), MARCH_2023)
        .unwrap();
    assert_eq!(events, vec![TaskEvent::TaskAssigned(assignment(None))]);
}

#[test]
fn assigning_the_same_row_again_changes_nothing() {
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(TaskCommand::AssignTask(assignment(None)), MARCH_2023)
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn assigning_a_revised_row_amends_the_task_and_names_the_fields() {
    let mut revised = assignment(None);
    revised.title = "Khác".into();
    revised.lead = vec![agency("Sở Nội vụ")];
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(TaskCommand::AssignTask(revised.clone()), MARCH_2023)
        .unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::TaskAmended(crate::event::TaskAmended {
            changed: vec!["title".into(), "lead".into()],
            assignment: revised,
        })]
    );
}

#[test]
fn the_same_row_from_another_document_or_line_is_not_a_change() {
    let mut moved = assignment(None);
    moved.source.line = 3;
    moved.source.source_name = "table-only.csv".into();
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(TaskCommand::AssignTask(moved), MARCH_2023)
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn a_row_gone_from_the_appendix_is_flagged_once_and_cleared_when_it_returns() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let flag = TaskCommand::FlagMissingFromAppendix {
        source_name: "revised.txt".into(),
    };
    let events = scenario.when(flag.clone(), MARCH_2023).unwrap();
    assert_eq!(events.len(), 1);
    scenario.record(events[0].clone(), MARCH_2023);
    assert!(replay(&scenario.history).missing_from_appendix.is_some());
    assert!(
        scenario.when(flag, MARCH_2023).unwrap().is_empty(),
        "flagged once"
    );

    let events = scenario
        .when(TaskCommand::AssignTask(assignment(None)), MARCH_2023)
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].type_name(), "task_back_in_appendix");
    scenario.record(events[0].clone(), MARCH_2023);
    let state = replay(&scenario.history);
    assert!(state.missing_from_appendix.is_none());
    assert!(state.assignment.is_some(), "nothing was deleted");
}

#[test]
fn an_amendment_replaces_the_assignment_and_keeps_the_history() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let mut revised = assignment(Some("2023 - 2024"));
    revised.coordinators.clear();
    let events = scenario
        .when(TaskCommand::AssignTask(revised.clone()), MARCH_2023)
        .unwrap();
    scenario.record(events[0].clone(), MARCH_2023);
    let state = replay(&scenario.history);
    assert_eq!(state.assignment.as_ref().unwrap().details, revised);
    assert_eq!(state.amendments.len(), 1);
    assert_eq!(state.amendments[0].changed, ["coordinators", "timeframe"]);
    assert_eq!(state.amendments[0].version, 2);
}

#[test]
fn assigning_without_a_lead_is_invalid() {
    let mut leaderless = assignment(None);
    leaderless.lead.clear();
    let error = given(vec![])
        .when(TaskCommand::AssignTask(leaderless), MARCH_2023)
        .unwrap_err();
    assert!(
        matches!(error, DomainError::Invalid(InvalidInput { ref field, .. }) if field == "lead")
    );
}

#[test]
fn reporting_on_an_unassigned_task_is_not_found() {
    let error = given(vec![])
        .when(report("2023-Q1", "done"), MARCH_2023)
        .unwrap_err();
    assert_eq!(error, DomainError::NotAssigned);
}

#[test]
fn a_report_in_the_timeframe_is_recorded_trimmed() {
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(report("2023-Q1", "  Đã tổ chức  "), MARCH_2023)
        .unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::ReportSubmitted(ReportSubmitted {
            period: ReportingPeriod::Quarter {
                year: 2023,
                quarter: 1
            },
            reported_by: agency("Sở TT&TT"),
            content: "Đã tổ chức".into(),
        })]
    );
}

#[test]
fn an_empty_report_names_the_content_field() {
    let error = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(report("2023-Q1", "   "), MARCH_2023)
        .unwrap_err();
    assert!(
        matches!(error, DomainError::Invalid(InvalidInput { ref field, .. }) if field == "content")
    );
}

#[test]
fn a_report_outside_the_plan_year_is_refused() {
    let error = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(report("2024-Q1", "x"), datetime!(2024-03-20 10:00 +07:00))
        .unwrap_err();
    assert!(matches!(error, DomainError::PeriodOutsideTimeframe { .. }));
}

#[test]
fn a_report_for_a_period_that_has_not_started_is_refused() {
    let error = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(report("2023-Q3", "x"), MARCH_2023)
        .unwrap_err();
    assert!(matches!(error, DomainError::PeriodNotStarted { .. }));
}

#[test]
fn coordination_is_recorded_for_an_assigned_task() {
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(
            TaskCommand::RecordCoordination {
                agency: agency("UBND cấp huyện"),
                note: "Đã cử cán bộ".into(),
            },
            MARCH_2023,
        )
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].type_name(), "coordination_recorded");
}

#[test]
fn overdue_is_marked_once_and_only_after_the_deadline() {
    let q1 = ReportingPeriod::Quarter {
        year: 2023,
        quarter: 1,
    };
    let deadline = datetime!(2023-03-25 00:00 +07:00);
    let mark = TaskCommand::MarkOverdue {
        period: q1,
        deadline,
        agency: None,
    };
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);

    let early = scenario.when(mark.clone(), deadline - time::Duration::seconds(1));
    assert!(matches!(early, Err(DomainError::DeadlineNotPassed { .. })));

    let events = scenario.when(mark.clone(), deadline).unwrap();
    assert_eq!(events.len(), 1);
    scenario.record(events[0].clone(), deadline);
    assert!(scenario
        .when(mark, deadline + time::Duration::days(1))
        .unwrap()
        .is_empty());
}

#[test]
fn overdue_is_not_marked_when_the_report_came_in_time_but_is_when_it_came_late() {
    let q1 = ReportingPeriod::Quarter {
        year: 2023,
        quarter: 1,
    };
    let deadline = datetime!(2023-03-25 00:00 +07:00);
    let mark = TaskCommand::MarkOverdue {
        period: q1,
        deadline,
        agency: None,
    };

    let mut on_time = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    on_time.record(
        TaskEvent::ReportSubmitted(ReportSubmitted {
            period: q1,
            reported_by: agency("Sở TT&TT"),
            content: "x".into(),
        }),
        deadline - time::Duration::seconds(1),
    );
    assert!(on_time.when(mark.clone(), deadline).unwrap().is_empty());

    let mut late = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    late.record(
        TaskEvent::ReportSubmitted(ReportSubmitted {
            period: q1,
            reported_by: agency("Sở TT&TT"),
            content: "x".into(),
        }),
        deadline, // at the deadline instant: already late
    );
    assert_eq!(
        late.when(mark, deadline + time::Duration::days(1))
            .unwrap()
            .len(),
        1
    );
}

fn overdue_for(agency_name: Option<&str>) -> TaskCommand {
    TaskCommand::MarkOverdue {
        period: ReportingPeriod::Quarter {
            year: 2023,
            quarter: 1,
        },
        deadline: datetime!(2023-03-25 00:00 +07:00),
        agency: agency_name.map(agency),
    }
}

fn submitted(by: &str) -> TaskEvent {
    TaskEvent::ReportSubmitted(ReportSubmitted {
        period: ReportingPeriod::Quarter {
            year: 2023,
            quarter: 1,
        },
        reported_by: agency(by),
        content: "x".into(),
    })
}

#[test]
fn overdue_is_marked_once_per_period_and_agency() {
    let after = datetime!(2023-03-27 08:00 +07:00);
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    for who in [None, Some("UBND huyện Ba Tơ"), Some("UBND huyện Sơn Hà")] {
        let events = scenario.when(overdue_for(who), after).unwrap();
        assert_eq!(
            events,
            vec![TaskEvent::TaskOverdue(TaskOverdue {
                period: ReportingPeriod::Quarter {
                    year: 2023,
                    quarter: 1
                },
                deadline: datetime!(2023-03-25 00:00 +07:00),
                agency: who.map(agency),
            })],
            "{who:?}"
        );
        scenario.record(events[0].clone(), after);
    }
    for who in [
        None,
        Some("UBND huyện Ba Tơ"),
        Some("ubnd huyện  Ba Tơ"),
        Some("UBND huyện Sơn Hà"),
    ] {
        assert!(
            scenario.when(overdue_for(who), after).unwrap().is_empty(),
            "{who:?} marked twice"
        );
    }
    let state = replay(&scenario.history);
    assert_eq!(state.overdue.len(), 3);
    assert_eq!(state.overdue[1].agency, Some(agency("UBND huyện Ba Tơ")));
}

#[test]
fn an_agency_is_not_marked_overdue_when_it_reported_in_time() {
    let deadline = datetime!(2023-03-25 00:00 +07:00);
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    scenario.record(
        submitted("UBND huyện Ba Tơ"),
        deadline - time::Duration::seconds(1),
    );
    scenario.record(submitted("UBND huyện Sơn Hà"), deadline);
    // Its own report in time, under another capitalisation: not overdue.
    assert!(scenario
        .when(overdue_for(Some("ubnd huyện ba tơ")), deadline)
        .unwrap()
        .is_empty());
    // A report at the deadline instant is late: overdue.
    assert_eq!(
        scenario
            .when(overdue_for(Some("UBND huyện Sơn Hà")), deadline)
            .unwrap()
            .len(),
        1
    );
    // Another agency's report in time does not cover an agency that never reported.
    assert_eq!(
        scenario
            .when(overdue_for(Some("UBND huyện Trà Bồng")), deadline)
            .unwrap()
            .len(),
        1
    );
    // The whole task: any report in time covers it, as before `agency` existed.
    assert!(scenario
        .when(overdue_for(None), deadline)
        .unwrap()
        .is_empty());
}

#[test]
fn whole_task_overdue_json_is_unchanged_and_agency_json_round_trips() {
    let whole = envelope(
        4,
        MARCH_2023,
        TaskEvent::TaskOverdue(TaskOverdue {
            period: ReportingPeriod::Year(2023),
            deadline: datetime!(2023-12-20 00:00 +07:00),
            agency: None,
        }),
    );
    let json = String::from_utf8(whole.encode()).unwrap();
    assert!(!json.contains("agency"), "{json}");
    assert_eq!(EventEnvelope::decode(json.as_bytes()).unwrap(), whole);

    let per_agency = envelope(
        4,
        MARCH_2023,
        TaskEvent::TaskOverdue(TaskOverdue {
            period: ReportingPeriod::Year(2023),
            deadline: datetime!(2023-12-20 00:00 +07:00),
            agency: Some(agency("UBND huyện Ba Tơ")),
        }),
    );
    let json = String::from_utf8(per_agency.encode()).unwrap();
    assert!(json.contains("\"agency\":\"UBND huyện Ba Tơ\""), "{json}");
    assert_eq!(EventEnvelope::decode(json.as_bytes()).unwrap(), per_agency);
}

#[test]
fn envelope_json_round_trips_and_is_stamped_in_vietnam_time() {
    let utc = datetime!(2023-03-20 03:00 UTC);
    let original = envelope(
        1,
        utc,
        TaskEvent::TaskAssigned(assignment(Some("2023 - 2024"))),
    );
    let json = String::from_utf8(original.encode()).unwrap();
    assert!(
        json.contains("\"occurred_at\":\"2023-03-20T10:00:00+07:00\""),
        "{json}"
    );
    assert!(json.contains("\"type\":\"task_assigned\""), "{json}");
    assert_eq!(EventEnvelope::decode(json.as_bytes()).unwrap(), original);
}

#[test]
fn envelopes_from_a_future_schema_are_refused_by_name() {
    let mut future = envelope(1, MARCH_2023, TaskEvent::TaskAssigned(assignment(None)));
    future.schema_version = CURRENT_SCHEMA_VERSION + 1;
    let error = EventEnvelope::decode(&future.encode()).unwrap_err();
    assert_eq!(error.field, "schema_version");
}

#[test]
fn fixtures_of_schema_1_still_load() {
    // The persisted format is a compatibility boundary: these files must load forever.
    let fixtures = [
        include_str!("../tests/fixtures/events/v1_task_assigned.json"),
        include_str!("../tests/fixtures/events/v1_coordination_recorded.json"),
        include_str!("../tests/fixtures/events/v1_report_submitted.json"),
        include_str!("../tests/fixtures/events/v1_task_overdue.json"),
        include_str!("../tests/fixtures/events/v1_task_amended.json"),
        include_str!("../tests/fixtures/events/v1_task_missing_from_appendix.json"),
        include_str!("../tests/fixtures/events/v1_task_back_in_appendix.json"),
        include_str!("../tests/fixtures/events/v1_task_overdue_agency.json"),
    ];
    let history: Vec<EventEnvelope> = fixtures
        .iter()
        .map(|json| EventEnvelope::decode(json.as_bytes()).unwrap())
        .collect();
    let state = replay(&history);
    assert_eq!(state.version, 8);
    assert_eq!(state.reports.len(), 1);
    assert_eq!(state.coordinations.len(), 1);
    assert_eq!(state.overdue.len(), 2);
    // The mark written before `agency` existed is a whole-task mark.
    assert_eq!(state.overdue[0].agency, None);
    assert_eq!(
        state.overdue[1].agency.as_ref().map(AgencyName::as_str),
        Some("UBND huyện Ba Tơ")
    );
    assert_eq!(state.amendments[0].changed, ["lead", "cells"]);
    assert_eq!(
        state.assignment.unwrap().details.lead[0].as_str(),
        "Sở Thông tin và Truyền thông"
    );
    assert!(state.missing_from_appendix.is_none());
}

/// A sequence of commands a client might send, with the clock moving forward.
fn arbitrary_commands() -> impl Strategy<Value = Vec<(u8, u8, i64)>> {
    proptest::collection::vec((0u8..7, 1u8..=4, 0i64..400), 0..40)
}

fn command_for(kind: u8, quarter: u8) -> TaskCommand {
    let period = ReportingPeriod::Quarter {
        year: 2023,
        quarter,
    };
    match kind {
        0 => TaskCommand::AssignTask(assignment(None)),
        1 => TaskCommand::RecordCoordination {
            agency: agency("UBND cấp huyện"),
            note: format!("ghi chú {quarter}"),
        },
        2 => report(&period.to_string(), "báo cáo"),
        3 => TaskCommand::FlagMissingFromAppendix {
            source_name: format!("revision {quarter}"),
        },
        4 => {
            let mut revised = assignment(None);
            revised.title = format!("revision {quarter}");
            TaskCommand::AssignTask(revised)
        }
        5 => TaskCommand::MarkOverdue {
            period,
            deadline: datetime!(2023-03-25 00:00 +07:00),
            agency: None,
        },
        _ => TaskCommand::MarkOverdue {
            period,
            deadline: datetime!(2023-03-25 00:00 +07:00),
            // Two spellings of one agency: they are one (period, agency) pair.
            agency: Some(agency(if quarter % 2 == 0 {
                "Sở TT&TT"
            } else {
                "sở tt&tt"
            })),
        },
    }
}

proptest! {
    #[test]
    fn replaying_a_valid_history_is_deterministic(commands in arbitrary_commands()) {
        let mut scenario = given(vec![]);
        let mut incremental = TaskState::default();
        let mut now = datetime!(2023-01-01 08:00 +07:00);
        for (kind, quarter, advance_hours) in commands {
            now += time::Duration::hours(advance_hours);
            if let Ok(events) = scenario.when(command_for(kind, quarter), now) {
                for event in events {
                    scenario.record(event, now);
                    incremental = apply(incremental, scenario.history.last().unwrap());
                }
            }
        }
        let first = replay(&scenario.history);
        let second = replay(&scenario.history);
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(&first, &incremental);
        prop_assert_eq!(first.version, scenario.history.len() as u64);
        // The JSON form replays to the same state as the in-memory events.
        let decoded: Vec<EventEnvelope> = scenario
            .history
            .iter()
            .map(|envelope| EventEnvelope::decode(&envelope.encode()).unwrap())
            .collect();
        prop_assert_eq!(replay(&decoded), first);
    }

    #[test]
    fn at_most_one_overdue_mark_per_period_and_agency(commands in arbitrary_commands()) {
        let mut scenario = given(vec![]);
        let mut now = datetime!(2023-01-01 08:00 +07:00);
        for (kind, quarter, advance_hours) in commands {
            now += time::Duration::hours(advance_hours);
            if let Ok(events) = scenario.when(command_for(kind, quarter), now) {
                for event in events {
                    scenario.record(event, now);
                }
            }
        }
        let state = replay(&scenario.history);
        let mut marked: Vec<_> = state
            .overdue
            .iter()
            .map(|mark| (mark.period, mark.agency.as_ref().map(AgencyName::match_key)))
            .collect();
        let marks = marked.len();
        marked.sort();
        marked.dedup();
        prop_assert_eq!(marked.len(), marks);
        prop_assert!(state.assignment.is_some() || state.version == 0);
    }
}
