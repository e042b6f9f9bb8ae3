//! Given/when/then tests of the task aggregate, and replay properties.

use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::*;

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
        agency_ids: Vec::new(),
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
            vec![TaskEvent::TaskMarkedOverdue(TaskMarkedOverdue {
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
        TaskEvent::TaskMarkedOverdue(TaskMarkedOverdue {
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
        TaskEvent::TaskMarkedOverdue(TaskMarkedOverdue {
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
        include_str!("../tests/fixtures/events/v1_deadline_extended.json"),
        include_str!("../tests/fixtures/events/v1_report_requested.json"),
        include_str!("../tests/fixtures/events/v1_request_answered.json"),
        include_str!("../tests/fixtures/events/v1_reminder_sent.json"),
        include_str!("../tests/fixtures/events/v1_request_overdue.json"),
    ];
    let history: Vec<EventEnvelope> = fixtures
        .iter()
        .map(|json| decodes_and_reencodes(json))
        .collect();
    let state = replay(&history);
    assert_eq!(state.version, 13);
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
    assert!(state.missing_from_appendix.is_none());

    let q3 = Duty::Periodic {
        period: ReportingPeriod::parse("2023-Q3").unwrap(),
    };
    assert_eq!(state.extensions.len(), 1);
    let extension = &state.extensions[0];
    assert_eq!(extension.duty, q3);
    assert_eq!(extension.agency, Some(agency("UBND huyện Ba Tơ")));
    assert_eq!(extension.previous_due, datetime!(2023-09-26 00:00 +07:00));
    assert_eq!(extension.new_due, datetime!(2023-10-10 00:00 +07:00));
    assert_eq!(extension.granted_at, datetime!(2023-09-28 10:00 +07:00));
    assert_eq!(extension.version, 9);

    let key = request_key("phoi-hop-2023-10");
    let request = state.report_request(&key).unwrap();
    assert_eq!(request.kind, RequestKind::Coordination);
    assert_eq!(request.agencies, [agency("UBND cấp huyện")]);
    assert_eq!(request.due, datetime!(2023-10-16 00:00 +07:00));
    assert_eq!(request.version, 10);
    assert_eq!(state.answers.len(), 1);
    assert_eq!(state.answers[0].answered_by.as_str(), "UBND huyện Ba Tơ");
    assert_eq!(state.reminders.len(), 1);
    assert_eq!(
        state.reminders[0].duty,
        Duty::Requested {
            request_key: key.clone()
        }
    );
    assert_eq!(state.reminders[0].seconds_before_due, 3 * 86_400);
    assert_eq!(state.request_overdue.len(), 1);
    assert_eq!(
        state.request_overdue[0].agency.as_str(),
        "UBND huyện Sơn Hà"
    );

    let assignment = state.assignment.unwrap();
    assert_eq!(
        assignment.details.lead[0].as_str(),
        "Sở Thông tin và Truyền thông"
    );
    // Written before plans carried a policy: none recorded.
    assert_eq!(assignment.details.reporting, None);

    // A task of a plan that records its policy (another task: its own history).
    let with_policy = decodes_and_reencodes(include_str!(
        "../tests/fixtures/events/v1_task_assigned_reporting.json"
    ));
    let state = replay([&with_policy]);
    let TaskEvent::TaskAssigned(assigned) = &with_policy.event else {
        panic!("not a task_assigned: {with_policy:?}");
    };
    let reporting = assigned.reporting.as_ref().unwrap();
    assert_eq!(reporting.province.as_deref(), Some("Quảng Trị"));
    assert_eq!(reporting.policy.yearly, Some((time::Month::December, 20)));
    assert_eq!(
        state.reporting_policy(),
        crate::policy::ReportingPolicy::preset("quang-tri")
    );
    assert_eq!(state.province(), Some("Quảng Trị"));
}

#[test]
fn an_assignment_records_who_its_agencies_are() {
    let envelope = decodes_and_reencodes(include_str!(
        "../tests/fixtures/events/v1_task_assigned_agency_ids.json"
    ));
    let state = replay([&envelope]);
    let details = &state.assignment.unwrap().details;
    let id = |name: &str| {
        details
            .recorded_id(&AgencyName::parse(name).unwrap())
            .map(|id| id.as_str().to_owned())
    };
    assert_eq!(
        id("sở thông tin và truyền thông").as_deref(),
        Some("quang-tri-so-tttt")
    );
    assert_eq!(
        id("Ủy ban nhân dân huyện Gio Linh").as_deref(),
        Some("quang-tri-ubnd-huyen-gio-linh"),
        "a member of a group the task names"
    );
    assert_eq!(id("Sở Y tế"), None);
    // Events written before ids were: none recorded, and nothing else differs.
    let name_only = EventEnvelope::decode(include_bytes!(
        "../tests/fixtures/events/v1_task_assigned_reporting.json"
    ))
    .unwrap();
    let TaskEvent::TaskAssigned(assigned) = &name_only.event else {
        panic!("not a task_assigned");
    };
    assert!(assigned.agency_ids.is_empty());
}

/// Decodes a stored envelope and checks that encoding it again gives the same JSON (as
/// values: key order and whitespace aside), so that nothing is lost or added on the way.
fn decodes_and_reencodes(json: &str) -> EventEnvelope {
    let envelope = EventEnvelope::decode(json.as_bytes()).unwrap();
    let stored: serde_json::Value = serde_json::from_str(json).unwrap();
    let encoded: serde_json::Value = serde_json::from_slice(&envelope.encode()).unwrap();
    assert_eq!(
        encoded,
        stored,
        "{} re-encodes differently",
        envelope.event.type_name()
    );
    envelope
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

// Deadline extensions, report requests and their answers, request overdue marks,
// reminders, and the plan's reporting policy on the assignment.

fn invalid_field(error: DomainError) -> String {
    refusal(error).0
}

fn refusal(error: DomainError) -> (String, String) {
    match error {
        DomainError::Invalid(InvalidInput { field, message }) => (field, message),
        other => panic!("not an invalid field: {other:?}"),
    }
}

fn request_key(raw: &str) -> RequestKey {
    RequestKey::parse(raw).unwrap()
}

const Q1_2023_DUE: OffsetDateTime = datetime!(2023-03-25 00:00 +07:00);

fn q1_2023() -> Duty {
    Duty::Periodic {
        period: ReportingPeriod::Quarter {
            year: 2023,
            quarter: 1,
        },
    }
}

/// An extension of Q1 2023 (due `Q1_2023_DUE`) by two weeks for all, with one change;
/// `previous_due` stands for the command's `current_due`.
fn extend_with(change: impl FnOnce(&mut DeadlineExtended)) -> TaskCommand {
    let mut extension = DeadlineExtended {
        duty: q1_2023(),
        agency: None,
        previous_due: Q1_2023_DUE,
        new_due: Q1_2023_DUE + time::Duration::days(14),
        reason: "  Chờ kết quả khảo sát  ".into(),
        granted_by: "UBND tỉnh".into(),
    };
    change(&mut extension);
    // Whoever the extension is for owes the duty until `previous_due`.
    let debtor = extension
        .agency
        .clone()
        .unwrap_or_else(|| agency("Sở TT&TT"));
    TaskCommand::ExtendDeadline {
        duty: extension.duty,
        agency: extension.agency,
        debtors: vec![debtor_of(&debtor, None, extension.previous_due)],
        new_due: extension.new_due,
        reason: extension.reason,
        granted_by: extension.granted_by,
    }
}

fn debtor_of(name: &AgencyName, via_group: Option<&str>, due: OffsetDateTime) -> Debtor {
    Debtor {
        agency: name.clone(),
        via_group: via_group.map(agency),
        due,
    }
}

fn extend(duty: Duty, agency_name: Option<&str>, new_due: OffsetDateTime) -> TaskCommand {
    extend_with(|extension| {
        extension.duty = duty;
        extension.agency = agency_name.map(agency);
        extension.new_due = new_due;
    })
}

#[test]
fn an_extension_is_recorded_with_the_deadline_it_replaces() {
    let new_due = datetime!(2023-04-08 00:00 +07:00);
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let granted_at = datetime!(2023-03-27 10:00 +07:00);
    // The deadline in force given in UTC: recorded in Vietnam time.
    let command = extend_with(|extension| {
        extension.previous_due = datetime!(2023-03-24 17:00 UTC);
        extension.agency = Some(agency("UBND huyện Ba Tơ"));
        extension.new_due = new_due;
    });
    let events = scenario.when(command, granted_at).unwrap();
    let expected = DeadlineExtended {
        duty: q1_2023(),
        agency: Some(agency("UBND huyện Ba Tơ")),
        previous_due: Q1_2023_DUE,
        new_due,
        reason: "Chờ kết quả khảo sát".into(),
        granted_by: "UBND tỉnh".into(),
    };
    assert_eq!(events, vec![TaskEvent::DeadlineExtended(expected)]);
    let TaskEvent::DeadlineExtended(recorded) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        recorded.previous_due.offset(),
        time::macros::offset!(+07:00)
    );
    scenario.record(events[0].clone(), granted_at);
    let state = replay(&scenario.history);
    assert_eq!(state.extensions.len(), 1);
    let extension = &state.extensions[0];
    assert_eq!(
        (extension.granted_at, extension.version, extension.new_due),
        (granted_at, 2, new_due)
    );
    // Not idempotent by content: a second extension is another grant, deduplicated by
    // its request id.
    assert!(!extend(q1_2023(), None, new_due).converges());
}

#[test]
fn an_extension_must_move_the_deadline_later_and_give_a_reason() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let now = datetime!(2023-03-27 10:00 +07:00);
    for new_due in [Q1_2023_DUE, Q1_2023_DUE - time::Duration::days(1)] {
        let error = scenario
            .when(extend(q1_2023(), None, new_due), now)
            .unwrap_err();
        assert_eq!(invalid_field(error), "new_due", "{new_due}");
    }
    let no_reason = extend_with(|extension| extension.reason = " \n ".into());
    assert_eq!(
        invalid_field(scenario.when(no_reason, now).unwrap_err()),
        "reason"
    );
    let no_grantor = extend_with(|extension| extension.granted_by = String::new());
    assert_eq!(
        invalid_field(scenario.when(no_grantor, now).unwrap_err()),
        "granted_by"
    );
    assert_eq!(
        given(vec![]).when(extend_with(|_| {}), now).unwrap_err(),
        DomainError::NotAssigned
    );
}

#[test]
fn an_extension_is_refused_when_nobody_or_another_agency_owes_the_duty() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let now = datetime!(2023-03-27 10:00 +07:00);
    let new_due = Q1_2023_DUE + time::Duration::days(14);
    let with_debtors =
        |agency_name: Option<&str>, debtors: Vec<Debtor>| TaskCommand::ExtendDeadline {
            duty: q1_2023(),
            agency: agency_name.map(agency),
            debtors,
            new_due,
            reason: "Bão".into(),
            granted_by: "UBND tỉnh".into(),
        };
    // Outside the timeframe, or not a report the policy asks for: nobody owes it.
    let error = scenario
        .when(with_debtors(None, Vec::new()), now)
        .unwrap_err();
    assert_eq!(invalid_field(error), "period");
    let members = vec![
        debtor_of(
            &agency("UBND huyện Ba Tơ"),
            Some("UBND cấp huyện"),
            Q1_2023_DUE,
        ),
        debtor_of(
            &agency("UBND huyện Sơn Hà"),
            Some("UBND cấp huyện"),
            Q1_2023_DUE,
        ),
    ];
    let DomainError::Invalid(error) = scenario
        .when(with_debtors(Some("Sở Y tế"), members.clone()), now)
        .unwrap_err()
    else {
        panic!("an invalid agency")
    };
    assert_eq!(error.field, "agency");
    assert!(
        error
            .message
            .contains("owed by UBND huyện Ba Tơ; UBND huyện Sơn Hà"),
        "{}",
        error.message
    );
    // A member, and the group for all its members, may be granted one.
    for who in ["ubnd huyện ba tơ", "UBND cấp huyện"] {
        let events = scenario
            .when(with_debtors(Some(who), members.clone()), now)
            .unwrap();
        assert_eq!(events.len(), 1, "{who}");
    }
    // The deadline in force is the latest of those it is for.
    let mut later = members.clone();
    later[1].due = Q1_2023_DUE + time::Duration::days(20);
    let error = scenario
        .when(with_debtors(None, later.clone()), now)
        .unwrap_err();
    assert_eq!(invalid_field(error), "new_due", "not later than Sơn Hà's");
    let events = scenario
        .when(with_debtors(Some("UBND huyện Ba Tơ"), later), now)
        .unwrap();
    let TaskEvent::DeadlineExtended(extended) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(extended.previous_due, Q1_2023_DUE);
}

#[test]
fn extending_an_unknown_request_is_not_found() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let unknown = Duty::Requested {
        request_key: request_key("dot-xuat-9"),
    };
    let error = scenario
        .when(
            extend(unknown, None, Q1_2023_DUE + time::Duration::days(7)),
            MARCH_2023,
        )
        .unwrap_err();
    assert_eq!(
        error,
        DomainError::UnknownRequest {
            request_key: "dot-xuat-9".into()
        }
    );
}

const REQUEST_DUE: OffsetDateTime = datetime!(2023-04-10 00:00 +07:00);

/// An ad hoc request `dot-xuat-2023-04` from the province to the task's lead, due
/// `REQUEST_DUE`, with one change.
fn ad_hoc_with(change: impl FnOnce(&mut ReportRequested)) -> TaskCommand {
    let mut requested = ReportRequested {
        request_key: request_key("dot-xuat-2023-04"),
        kind: RequestKind::AdHoc,
        requested_by: agency("UBND tỉnh Quảng Ngãi"),
        agencies: vec![agency("Sở TT&TT")],
        due: REQUEST_DUE,
        subject: "Báo cáo nhanh".into(),
    };
    change(&mut requested);
    TaskCommand::RequestReport {
        request_key: requested.request_key,
        kind: requested.kind,
        requested_by: requested.requested_by,
        agencies: requested.agencies,
        due: requested.due,
        subject: requested.subject,
    }
}

fn ad_hoc(agencies: &[&str]) -> TaskCommand {
    ad_hoc_with(|requested| {
        requested.agencies = agencies.iter().map(|name| agency(name)).collect();
    })
}

fn coordination(requested_by: &str, agencies: &[&str]) -> TaskCommand {
    TaskCommand::RequestReport {
        request_key: request_key("phoi-hop-1"),
        kind: RequestKind::Coordination,
        requested_by: agency(requested_by),
        agencies: agencies.iter().map(|name| agency(name)).collect(),
        due: REQUEST_DUE,
        subject: "Số liệu phối hợp".into(),
    }
}

#[test]
fn an_ad_hoc_request_goes_to_lead_agencies_only() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    // Leads are compared case-insensitively; the spelling given is kept.
    let events = scenario.when(ad_hoc(&["sở tt&tt"]), MARCH_2023).unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::ReportRequested(ReportRequested {
            request_key: request_key("dot-xuat-2023-04"),
            kind: RequestKind::AdHoc,
            requested_by: agency("UBND tỉnh Quảng Ngãi"),
            agencies: vec![agency("sở tt&tt")],
            due: REQUEST_DUE,
            subject: "Báo cáo nhanh".into(),
        })]
    );
    // A coordinating agency is not asked for an ad hoc report.
    let (field, message) = refusal(
        scenario
            .when(ad_hoc(&["Sở TT&TT", "UBND cấp huyện"]), MARCH_2023)
            .unwrap_err(),
    );
    assert_eq!(field, "agencies");
    assert!(
        message.contains("UBND cấp huyện") && message.contains("lead"),
        "{message}"
    );
}

#[test]
fn a_coordination_request_goes_from_a_lead_to_coordinating_agencies() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let events = scenario
        .when(coordination("Sở TT&TT", &["UBND cấp huyện"]), MARCH_2023)
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].type_name(), "report_requested");

    let (field, message) = refusal(
        scenario
            .when(
                coordination("UBND cấp huyện", &["Các Sở, ban, ngành tỉnh"]),
                MARCH_2023,
            )
            .unwrap_err(),
    );
    assert_eq!(field, "requested_by");
    assert!(message.contains("UBND cấp huyện"), "{message}");

    let (field, message) = refusal(
        scenario
            .when(
                coordination("Sở TT&TT", &["UBND cấp huyện", "Sở TT&TT"]),
                MARCH_2023,
            )
            .unwrap_err(),
    );
    assert_eq!(field, "agencies");
    assert!(
        message.contains("Sở TT&TT") && message.contains("coordinating"),
        "{message}"
    );
}

#[test]
fn a_request_needs_a_future_due_agencies_and_a_subject() {
    let scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    for now in [REQUEST_DUE, REQUEST_DUE + time::Duration::days(1)] {
        assert_eq!(
            invalid_field(scenario.when(ad_hoc(&["Sở TT&TT"]), now).unwrap_err()),
            "due",
            "{now}"
        );
    }
    assert!(scenario
        .when(
            ad_hoc(&["Sở TT&TT"]),
            REQUEST_DUE - time::Duration::seconds(1)
        )
        .is_ok());
    assert_eq!(
        invalid_field(scenario.when(ad_hoc(&[]), MARCH_2023).unwrap_err()),
        "agencies"
    );
    let blank = ad_hoc_with(|requested| requested.subject = "   ".into());
    assert_eq!(
        invalid_field(scenario.when(blank, MARCH_2023).unwrap_err()),
        "subject"
    );
    assert_eq!(
        given(vec![])
            .when(ad_hoc(&["Sở TT&TT"]), MARCH_2023)
            .unwrap_err(),
        DomainError::NotAssigned
    );
}

#[test]
fn the_same_request_again_decides_nothing_and_another_under_its_key_is_refused() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let command = ad_hoc(&["Sở TT&TT"]);
    assert!(command.converges());
    let events = scenario.when(command, MARCH_2023).unwrap();
    scenario.record(events[0].clone(), MARCH_2023);

    // A retry, even after the due passed, with the due given in UTC and the subject
    // padded: the same request.
    let retry = ad_hoc_with(|requested| {
        requested.due = datetime!(2023-04-09 17:00 UTC);
        requested.subject = "  Báo cáo nhanh ".into();
    });
    for now in [MARCH_2023, REQUEST_DUE + time::Duration::days(3)] {
        assert!(
            scenario.when(retry.clone(), now).unwrap().is_empty(),
            "{now}"
        );
    }

    let taken = DomainError::RequestKeyTaken {
        request_key: "dot-xuat-2023-04".into(),
    };
    let others = [
        ad_hoc_with(|requested| requested.due += time::Duration::days(1)),
        ad_hoc_with(|requested| requested.subject = "Báo cáo khác".into()),
        ad_hoc_with(|requested| requested.requested_by = agency("UBND tỉnh")),
        ad_hoc_with(|requested| requested.agencies.push(agency("Sở Nội vụ"))),
        ad_hoc_with(|requested| {
            requested.kind = RequestKind::Coordination;
            requested.requested_by = agency("Sở TT&TT");
            requested.agencies = vec![agency("UBND cấp huyện")];
        }),
    ];
    for other in others {
        assert_eq!(
            scenario.when(other.clone(), MARCH_2023),
            Err(taken.clone()),
            "{other:?}"
        );
    }
    // Another key is another request.
    let another = ad_hoc_with(|requested| requested.request_key = request_key("dot-xuat-2023-04b"));
    assert_eq!(scenario.when(another, MARCH_2023).unwrap().len(), 1);
}

fn answer(key: &str, by: &str) -> TaskCommand {
    TaskCommand::AnswerRequest {
        request_key: request_key(key),
        answered_by: agency(by),
        debtors: vec![debtor_of(&agency(by), None, REQUEST_DUE)],
        content: " Đã báo cáo ".into(),
    }
}

/// A task with the ad hoc request `dot-xuat-2023-04` to its lead and the coordination
/// request `phoi-hop-1` to "UBND cấp huyện", both due `REQUEST_DUE`.
fn with_requests() -> Scenario {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    for command in [
        ad_hoc(&["Sở TT&TT"]),
        coordination("Sở TT&TT", &["UBND cấp huyện"]),
    ] {
        let events = scenario.when(command, MARCH_2023).unwrap();
        scenario.record(events[0].clone(), MARCH_2023);
    }
    scenario
}

#[test]
fn answering_an_unknown_request_is_not_found_and_a_known_one_is_recorded() {
    let mut scenario = with_requests();
    assert_eq!(
        scenario
            .when(answer("dot-xuat-9", "Sở TT&TT"), MARCH_2023)
            .unwrap_err(),
        DomainError::UnknownRequest {
            request_key: "dot-xuat-9".into()
        }
    );
    let not_asked = TaskCommand::AnswerRequest {
        request_key: request_key("dot-xuat-2023-04"),
        answered_by: agency("Sở Y tế"),
        debtors: vec![debtor_of(&agency("Sở TT&TT"), None, REQUEST_DUE)],
        content: "Đã báo cáo".into(),
    };
    assert_eq!(
        invalid_field(scenario.when(not_asked, MARCH_2023).unwrap_err()),
        "agency",
        "an answer from an agency that owes none covers nothing"
    );
    let blank = TaskCommand::AnswerRequest {
        request_key: request_key("dot-xuat-2023-04"),
        answered_by: agency("Sở TT&TT"),
        debtors: vec![debtor_of(&agency("Sở TT&TT"), None, REQUEST_DUE)],
        content: String::new(),
    };
    assert_eq!(
        invalid_field(scenario.when(blank, MARCH_2023).unwrap_err()),
        "content"
    );
    let command = answer("dot-xuat-2023-04", "Sở TT&TT");
    assert!(!command.converges());
    let events = scenario.when(command, MARCH_2023).unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::RequestAnswered(RequestAnswered {
            request_key: request_key("dot-xuat-2023-04"),
            answered_by: agency("Sở TT&TT"),
            content: "Đã báo cáo".into(),
        })]
    );
    let answered_at = datetime!(2023-04-01 15:00 +07:00);
    scenario.record(events[0].clone(), answered_at);
    let state = replay(&scenario.history);
    assert_eq!(state.answers.len(), 1);
    assert_eq!(
        (state.answers[0].answered_at, state.answers[0].version),
        (answered_at, 4)
    );
    assert_eq!(state.report_requests.len(), 2);
    assert_eq!(state.report_requests[1].requested_at, MARCH_2023);
}

fn request_overdue(key: &str, by: &str, due: OffsetDateTime) -> TaskCommand {
    TaskCommand::MarkRequestOverdue {
        request_key: request_key(key),
        agency: agency(by),
        due,
    }
}

#[test]
fn a_request_is_marked_overdue_after_its_due_once_per_agency() {
    let mut scenario = with_requests();
    let member = "UBND huyện Ba Tơ";
    let early = scenario.when(
        request_overdue("phoi-hop-1", member, REQUEST_DUE),
        REQUEST_DUE - time::Duration::seconds(1),
    );
    assert_eq!(
        early,
        Err(DomainError::DeadlineNotPassed {
            what: "request phoi-hop-1".into(),
            deadline: REQUEST_DUE.to_string(),
        })
    );
    assert_eq!(
        scenario
            .when(
                request_overdue("phoi-hop-9", member, REQUEST_DUE),
                REQUEST_DUE
            )
            .unwrap_err(),
        DomainError::UnknownRequest {
            request_key: "phoi-hop-9".into()
        }
    );
    let events = scenario
        .when(
            request_overdue("phoi-hop-1", member, REQUEST_DUE),
            REQUEST_DUE,
        )
        .unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::RequestMarkedOverdue(RequestMarkedOverdue {
            request_key: request_key("phoi-hop-1"),
            agency: agency(member),
            due: REQUEST_DUE,
        })]
    );
    scenario.record(events[0].clone(), REQUEST_DUE);
    for (by, due) in [
        (member, REQUEST_DUE),
        ("ubnd huyện ba tơ", REQUEST_DUE),
        // An earlier due is covered by the mark at a later one.
        (member, REQUEST_DUE - time::Duration::days(2)),
    ] {
        let again = request_overdue("phoi-hop-1", by, due);
        assert!(
            scenario
                .when(again, REQUEST_DUE + time::Duration::days(1))
                .unwrap()
                .is_empty(),
            "{by} {due}"
        );
    }
    // Another agency, another request, or a later (extended) due: marked.
    let later = REQUEST_DUE + time::Duration::days(5);
    for (key, by, due) in [
        ("phoi-hop-1", "UBND huyện Sơn Hà", REQUEST_DUE),
        ("dot-xuat-2023-04", member, REQUEST_DUE),
        ("phoi-hop-1", member, later),
    ] {
        let mark = request_overdue(key, by, due);
        assert_eq!(
            scenario.when(mark, later).unwrap().len(),
            1,
            "{key} {by} {due}"
        );
    }
}

#[test]
fn a_request_answered_in_time_by_the_agency_is_not_marked_overdue() {
    let mut scenario = with_requests();
    for (by, at) in [
        ("ubnd huyện ba tơ", REQUEST_DUE - time::Duration::seconds(1)),
        ("UBND huyện Sơn Hà", REQUEST_DUE),
    ] {
        scenario.record(
            TaskEvent::RequestAnswered(RequestAnswered {
                request_key: request_key("phoi-hop-1"),
                answered_by: agency(by),
                content: "x".into(),
            }),
            at,
        );
    }
    let after = REQUEST_DUE + time::Duration::days(1);
    let marks = |key: &str, by: &str| {
        scenario
            .when(request_overdue(key, by, REQUEST_DUE), after)
            .unwrap()
            .len()
    };
    // Answered a second before the due: not overdue.
    assert_eq!(marks("phoi-hop-1", "UBND huyện Ba Tơ"), 0);
    // Answered at the due instant: late, overdue.
    assert_eq!(marks("phoi-hop-1", "UBND huyện Sơn Hà"), 1);
    // Another agency's answer, or an answer to another request, does not cover it.
    assert_eq!(marks("phoi-hop-1", "UBND huyện Trà Bồng"), 1);
    assert_eq!(marks("dot-xuat-2023-04", "UBND huyện Ba Tơ"), 1);
}

#[test]
fn an_overdue_mark_is_repeated_only_for_a_later_deadline() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let at = |deadline| TaskCommand::MarkOverdue {
        period: ReportingPeriod::Quarter {
            year: 2023,
            quarter: 1,
        },
        deadline,
        agency: Some(agency("Sở TT&TT")),
    };
    let after = Q1_2023_DUE + time::Duration::days(20);
    let events = scenario.when(at(Q1_2023_DUE), after).unwrap();
    scenario.record(events[0].clone(), after);
    assert!(scenario.when(at(Q1_2023_DUE), after).unwrap().is_empty());
    assert!(scenario
        .when(at(Q1_2023_DUE - time::Duration::days(3)), after)
        .unwrap()
        .is_empty());
    let extended = Q1_2023_DUE + time::Duration::days(14);
    let events = scenario.when(at(extended), after).unwrap();
    assert_eq!(events.len(), 1);
    scenario.record(events[0].clone(), after);
    assert!(scenario.when(at(extended), after).unwrap().is_empty());
    assert_eq!(replay(&scenario.history).overdue.len(), 2);
}

fn sent(duty: Duty, by: &str, due: OffsetDateTime, seconds: i64) -> TaskCommand {
    TaskCommand::RecordReminder {
        duty,
        agency: agency(by),
        due,
        seconds_before_due: seconds,
    }
}

#[test]
fn a_reminder_is_recorded_once_per_duty_agency_due_and_offset() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let week = 7 * 86_400;
    let first = sent(q1_2023(), "Sở TT&TT", Q1_2023_DUE, week);
    assert!(first.converges());
    let now = Q1_2023_DUE - time::Duration::days(7);
    let events = scenario.when(first.clone(), now).unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::ReminderSent(ReminderSent {
            duty: q1_2023(),
            agency: agency("Sở TT&TT"),
            due: Q1_2023_DUE,
            seconds_before_due: week,
        })]
    );
    scenario.record(events[0].clone(), now);
    assert!(scenario.when(first, now).unwrap().is_empty());
    // The same reminder with the agency in other case and the due in UTC.
    let same = sent(q1_2023(), "sở tt&tt", datetime!(2023-03-24 17:00 UTC), week);
    assert!(scenario.when(same, now).unwrap().is_empty());
    let request = Duty::Requested {
        request_key: request_key("dot-xuat-2023-04"),
    };
    for other in [
        sent(q1_2023(), "Sở TT&TT", Q1_2023_DUE, 3 * 86_400),
        sent(
            q1_2023(),
            "Sở TT&TT",
            Q1_2023_DUE + time::Duration::days(7),
            week,
        ),
        sent(q1_2023(), "UBND huyện Ba Tơ", Q1_2023_DUE, week),
        sent(request, "Sở TT&TT", Q1_2023_DUE, week),
    ] {
        assert_eq!(
            scenario.when(other.clone(), now).unwrap().len(),
            1,
            "{other:?}"
        );
    }
    let state = replay(&scenario.history);
    assert_eq!(state.reminders.len(), 1);
    assert_eq!(state.reminders[0].sent_at, now);
    assert_eq!(
        given(vec![])
            .when(sent(q1_2023(), "Sở TT&TT", Q1_2023_DUE, week), now)
            .unwrap_err(),
        DomainError::NotAssigned
    );
}

fn quang_tri_reporting() -> crate::event::PlanReporting {
    crate::event::PlanReporting {
        policy: ReportingPolicy::preset("quang-tri").unwrap().into_spec(),
        province: Some("Quảng Trị".into()),
    }
}

#[test]
fn an_assignment_with_an_invalid_policy_is_refused_naming_the_policy_field() {
    type Change = fn(&mut crate::policy::ReportingPolicySpec);
    let cases: [(Change, &str); 4] = [
        (
            |spec| spec.quarterly_day = Some(31),
            "reporting.policy.quarterly_day",
        ),
        (
            |spec| spec.yearly = Some((time::Month::February, 29)),
            "reporting.policy.yearly",
        ),
        (
            |spec| spec.name = "Quảng Trị".into(),
            "reporting.policy.name",
        ),
        (
            |spec| spec.recipient = " ".into(),
            "reporting.policy.recipient",
        ),
    ];
    for (change, field) in cases {
        let mut assigned = assignment(None);
        let mut reporting = quang_tri_reporting();
        change(&mut reporting.policy);
        assigned.reporting = Some(reporting);
        let error = given(vec![])
            .when(TaskCommand::AssignTask(assigned.clone()), MARCH_2023)
            .unwrap_err();
        assert_eq!(invalid_field(error), field);
        // A re-import is validated too.
        let error = given(vec![TaskEvent::TaskAssigned(assignment(None))])
            .when(TaskCommand::AssignTask(assigned), MARCH_2023)
            .unwrap_err();
        assert_eq!(invalid_field(error), field);
    }
}

#[test]
fn a_reimport_under_another_policy_amends_the_reporting_field() {
    let mut recorded = assignment(None);
    recorded.reporting = Some(quang_tri_reporting());
    let scenario = given(vec![TaskEvent::TaskAssigned(recorded.clone())]);
    let state = replay(&scenario.history);
    assert_eq!(
        state.reporting_policy(),
        ReportingPolicy::preset("quang-tri")
    );
    assert_eq!(state.province(), Some("Quảng Trị"));
    assert!(scenario
        .when(TaskCommand::AssignTask(recorded.clone()), MARCH_2023)
        .unwrap()
        .is_empty());

    let mut revised = recorded.clone();
    revised
        .reporting
        .as_mut()
        .unwrap()
        .policy
        .named_day_is_on_time = true;
    let events = scenario
        .when(TaskCommand::AssignTask(revised.clone()), MARCH_2023)
        .unwrap();
    assert_eq!(
        events,
        vec![TaskEvent::TaskAmended(crate::event::TaskAmended {
            changed: vec!["reporting".into()],
            assignment: revised,
        })]
    );

    // Another province, or a policy where the first import recorded none: "reporting".
    let mut moved = recorded;
    moved.reporting.as_mut().unwrap().province = Some("Quảng Ngãi".into());
    let changed = |events: Vec<TaskEvent>| match &events[..] {
        [TaskEvent::TaskAmended(amended)] => amended.changed.clone(),
        other => panic!("not one amendment: {other:?}"),
    };
    let events = scenario
        .when(TaskCommand::AssignTask(moved.clone()), MARCH_2023)
        .unwrap();
    assert_eq!(changed(events), ["reporting"]);
    let events = given(vec![TaskEvent::TaskAssigned(assignment(None))])
        .when(TaskCommand::AssignTask(moved), MARCH_2023)
        .unwrap();
    assert_eq!(changed(events), ["reporting"]);
}

/// Commands about requests, extensions and reminders, for the properties below.
fn request_command_for(kind: u8, n: u8) -> TaskCommand {
    let key = format!("r-{}", n % 3);
    let due = datetime!(2023-03-01 00:00 +07:00) + time::Duration::days(i64::from(n) * 10);
    let by = if n % 2 == 0 {
        "Sở TT&TT"
    } else {
        "sở tt&tt"
    };
    match kind {
        0 => TaskCommand::AssignTask(assignment(None)),
        1 => TaskCommand::RequestReport {
            request_key: request_key(&key),
            kind: RequestKind::AdHoc,
            requested_by: agency("UBND tỉnh Quảng Ngãi"),
            agencies: vec![agency("Sở TT&TT")],
            due: datetime!(2023-05-01 00:00 +07:00) + time::Duration::days(i64::from(n % 3)),
            subject: format!("yêu cầu {key}"),
        },
        2 => answer(&key, by),
        3 => request_overdue(&key, by, due),
        4 => sent(
            if n % 4 < 2 {
                q1_2023()
            } else {
                Duty::Requested {
                    request_key: request_key(&key),
                }
            },
            by,
            due,
            86_400 * i64::from(n % 3 + 1),
        ),
        _ => extend_with(|extension| {
            extension.new_due = due + time::Duration::days(30);
            extension.previous_due = due;
        }),
    }
}

proptest! {
    #[test]
    fn requests_reminders_and_their_marks_replay_and_stay_unique(
        commands in proptest::collection::vec((0u8..6, 0u8..12, 0i64..200), 0..50),
    ) {
        let mut scenario = given(vec![]);
        let mut now = datetime!(2023-01-01 08:00 +07:00);
        for (kind, n, advance_hours) in commands {
            now += time::Duration::hours(advance_hours);
            if let Ok(events) = scenario.when(request_command_for(kind, n), now) {
                for event in events {
                    scenario.record(event, now);
                }
            }
        }
        let state = replay(&scenario.history);
        let decoded: Vec<EventEnvelope> = scenario
            .history
            .iter()
            .map(|envelope| EventEnvelope::decode(&envelope.encode()).unwrap())
            .collect();
        prop_assert_eq!(&replay(&decoded), &state);

        let mut reminders: Vec<_> = state
            .reminders
            .iter()
            .map(|mark| (mark.duty.clone(), mark.agency.match_key(), mark.due, mark.seconds_before_due))
            .collect();
        let count = reminders.len();
        reminders.sort();
        reminders.dedup();
        prop_assert_eq!(reminders.len(), count);

        let mut keys: Vec<&RequestKey> = state.report_requests.iter().map(|r| &r.request_key).collect();
        let count = keys.len();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), count, "one request per key");

        for (index, mark) in state.request_overdue.iter().enumerate() {
            prop_assert!(mark.recorded_at >= mark.due);
            // No mark was recorded while an earlier one at the same or a later due
            // covered it.
            let covered = state.request_overdue[..index].iter().any(|earlier| {
                earlier.request_key == mark.request_key
                    && earlier.agency.match_key() == mark.agency.match_key()
                    && earlier.due >= mark.due
            });
            prop_assert!(!covered, "{:?} marked again", mark);
            // Never for an agency that answered before the due.
            prop_assert!(!state.answers.iter().any(|answer| answer.request_key == mark.request_key
                && answer.answered_by.match_key() == mark.agency.match_key()
                && answer.answered_at < mark.due));
        }
    }
}

#[test]
fn an_event_is_the_next_one_already_applied_or_a_gap() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let note = TaskEvent::CoordinationRecorded(CoordinationRecorded {
        agency: agency("UBND cấp huyện"),
        note: "Đã phối hợp".into(),
    });
    scenario.record(note.clone(), MARCH_2023);
    scenario.record(note, MARCH_2023);
    let [first, second, third] = &scenario.history[..] else {
        panic!("three events")
    };
    let state = replay([first]);
    assert_eq!(state.succession(first), Ok(Succession::AlreadyApplied));
    assert_eq!(state.succession(second), Ok(Succession::Next));
    assert_eq!(
        state.succession(third),
        Err(VersionGap {
            task_id: third.task_id,
            event_version: 3,
            expected_version: 2,
        })
    );
}

#[test]
fn a_command_matches_what_its_request_recorded_and_nothing_else() {
    let mut scenario = given(vec![TaskEvent::TaskAssigned(assignment(None))]);
    let report = |content: &str| TaskCommand::SubmitReport {
        period: ReportingPeriod::Quarter {
            year: 2023,
            quarter: 1,
        },
        reported_by: agency("Sở TT&TT"),
        content: content.into(),
    };
    let events = scenario.when(report(" Đã tổ chức "), MARCH_2023).unwrap();
    scenario.record(events[0].clone(), MARCH_2023);
    let state = replay(&scenario.history);
    assert!(
        report("Đã tổ chức").matches_recorded(&state, 2),
        "the same, trimmed"
    );
    assert!(!report("Đã tổ chức khác").matches_recorded(&state, 2));
    assert!(
        !report("Đã tổ chức").matches_recorded(&state, 1),
        "another version"
    );
    let note = TaskCommand::RecordCoordination {
        agency: agency("Sở TT&TT"),
        note: "Đã tổ chức".into(),
    };
    assert!(!note.matches_recorded(&state, 2), "another kind of command");
}
