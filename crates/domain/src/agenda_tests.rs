//! The worker's agenda: reminders before a Quảng Trị deadline, catch-up after downtime,
//! overdue marks, extensions, requests, the next wake-up, and properties of a worker loop
//! that decides and applies what is due at random instants.

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;
use crate::calendar::{deadline_for, HolidayCalendar};
use crate::debtor::Debtor;
use crate::decide::decide;
use crate::error::DomainError;
use crate::event::{
    AppendixRowRef, Duty, EventEnvelope, PlanReporting, RequestKind, TaskAssigned, TaskEvent,
};
use crate::ids::{AgencyName, PlanId, RequestId, RequestKey, TaskId};
use crate::obligation::obligations;
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;
use crate::task::apply;
use crate::timeframe::Timeframe;

const VN_JSON: &str = include_str!("../../../deploy/holidays/vn.json");

fn vn() -> HolidayCalendar {
    HolidayCalendar::from_json(VN_JSON).unwrap()
}

fn quang_tri() -> ReportingPolicy {
    ReportingPolicy::preset("quang-tri").unwrap()
}

/// The context's fallback policy. Ba Tơ's dates differ from Quảng Trị's, so every
/// instant below shows that the policy recorded on the task is the one in force.
fn fallback_policy() -> ReportingPolicy {
    ReportingPolicy::preset("ba-to").unwrap()
}

fn agency(name: &str) -> AgencyName {
    AgencyName::parse(name).unwrap()
}

fn key(raw: &str) -> RequestKey {
    RequestKey::parse(raw).unwrap()
}

const LEAD: &str = "Sở TT&TT";
const DISTRICT_GROUP: &str = "UBND cấp huyện";
/// Three of Quảng Trị's district-level committees: enough to see a fan-out.
/// Sorted by name, the order obligations list them in.
const DISTRICTS: [&str; 3] = [
    "UBND huyện Hải Lăng",
    "UBND huyện Vĩnh Linh",
    "UBND thành phố Đông Hà",
];

fn district_members(name: &AgencyName) -> Option<Vec<AgencyName>> {
    (name.match_key() == DISTRICT_GROUP.to_lowercase())
        .then(|| DISTRICTS.iter().map(|name| agency(name)).collect())
}

fn context<'a>(
    policy: &'a ReportingPolicy,
    holidays: &'a HolidayCalendar,
) -> ObligationContext<'a> {
    ObligationContext {
        policy,
        holidays,
        group_members: &district_members,
    }
}

/// A Quảng Trị plan's row for 2024, recording its plan's policy.
fn assignment(timeframe: Option<&str>, leads: &[&str]) -> TaskAssigned {
    TaskAssigned {
        plan_year: 2024,
        title: "Triển khai nền tảng số thiết yếu".into(),
        content: None,
        lead: leads.iter().map(|name| agency(name)).collect(),
        coordinators: vec![agency(DISTRICT_GROUP), agency("Sở Nội vụ")],
        timeframe: Timeframe::parse(timeframe, 2024),
        source: AppendixRowRef {
            source_name: "qtri-cds-2024".into(),
            line: 40,
            position: 0,
            row_number: "2.1".into(),
            occurrence: 1,
            section_number: Some("2".into()),
            section_title: None,
            lead_text: leads.join("; "),
            coordinators_text: "UBND cấp huyện; Sở Nội vụ".into(),
        },
        extra: Vec::new(),
        agency_ids: Vec::new(),
        reporting: Some(PlanReporting {
            policy: quang_tri().into_spec(),
            province: Some("Quảng Trị".into()),
        }),
    }
}

fn q(year: i32, quarter: u8) -> ReportingPeriod {
    ReportingPeriod::Quarter { year, quarter }
}

fn periodic(period: ReportingPeriod) -> Duty {
    Duty::Periodic { period }
}

fn reminder(duty: Duty, agency_name: &str, due: OffsetDateTime, days: i64) -> TaskCommand {
    TaskCommand::RecordReminder {
        duty,
        agency: agency(agency_name),
        due,
        seconds_before_due: Duration::days(days).whole_seconds(),
    }
}

fn mark(period: ReportingPeriod, agency_name: &str, deadline: OffsetDateTime) -> TaskCommand {
    TaskCommand::MarkOverdue {
        period,
        deadline,
        agency: Some(agency(agency_name)),
    }
}

/// The due instant of a Quảng Trị period, from the real holiday calendar.
fn due_of(period: ReportingPeriod) -> OffsetDateTime {
    deadline_for(&quang_tri(), period, &vn()).unwrap().due
}

/// One task's history as a deadline worker builds it: every command is decided against
/// the current state and its events applied with the next version.
struct Worker {
    state: TaskState,
}

impl Worker {
    fn assigned(assigned: TaskAssigned) -> Self {
        let mut worker = Self {
            state: TaskState::default(),
        };
        worker
            .act(
                TaskCommand::AssignTask(assigned),
                datetime!(2024-01-02 08:00 +07:00),
            )
            .unwrap();
        worker
    }

    fn act(
        &mut self,
        command: TaskCommand,
        at: OffsetDateTime,
    ) -> Result<Vec<TaskEvent>, DomainError> {
        let events = decide(&self.state, &command, at)?;
        for event in &events {
            self.record(event.clone(), at);
        }
        Ok(events)
    }

    fn record(&mut self, event: TaskEvent, at: OffsetDateTime) {
        let plan_id = PlanId::parse("qtri-cds-2024").unwrap();
        let version = self.state.version + 1;
        let envelope = EventEnvelope::new(
            Uuid::from_u128(u128::from(version)),
            TaskId::for_appendix_row(&plan_id, Some("2"), "2.1", 1),
            plan_id,
            version,
            at,
            "deadline-worker".into(),
            RequestId::parse(&format!("req-{version}")).unwrap(),
            event,
        );
        self.state = apply(std::mem::take(&mut self.state), &envelope);
    }

    /// Who owes `duty` at `at`, as the application would tell `decide`.
    fn debtors(&self, duty: &Duty, at: OffsetDateTime) -> Vec<Debtor> {
        let (policy, holidays) = (fallback_policy(), vn());
        let listed = obligations(&self.state, &context(&policy, &holidays), at);
        Debtor::of_duty(&listed, duty)
    }

    fn due(&self, offsets: &ReminderOffsets, now: OffsetDateTime) -> Vec<TaskCommand> {
        let (policy, holidays) = (fallback_policy(), vn());
        due_commands(&self.state, &context(&policy, &holidays), offsets, now)
    }

    fn next(&self, offsets: &ReminderOffsets, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let (policy, holidays) = (fallback_policy(), vn());
        next_instant(&self.state, &context(&policy, &holidays), offsets, now)
    }

    /// What the worker does when it wakes at `now`: decide every due command and apply
    /// its events. Each due command must decide exactly one event, and afterwards nothing
    /// is due at the same `now` (the loop converges).
    fn run(&mut self, offsets: &ReminderOffsets, now: OffsetDateTime) -> Vec<TaskCommand> {
        let commands = self.due(offsets, now);
        for command in &commands {
            let events = self.act(command.clone(), now).unwrap();
            assert_eq!(events.len(), 1, "{command:?} at {now} decided {events:?}");
        }
        assert_eq!(
            self.due(offsets, now),
            Vec::new(),
            "work left after one run at {now}"
        );
        commands
    }
}

fn standard() -> ReminderOffsets {
    ReminderOffsets::standard()
}

#[test]
fn q1_2024_in_quang_tri_is_due_at_the_end_of_monday_25_march() {
    // "trước ngày 25": the last day on time is Sunday 24 March 2024, which rolls to the
    // end of Monday 25 March under the working-day rule.
    assert_eq!(due_of(q(2024, 1)), datetime!(2024-03-26 00:00 +07:00));
}

#[test]
fn reminders_go_out_seven_three_and_one_day_before_a_quang_tri_deadline() {
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    let due = due_of(q(2024, 1));
    let q1 = periodic(q(2024, 1));
    let offsets = standard();

    assert!(worker
        .run(&offsets, datetime!(2024-03-01 09:00 +07:00))
        .is_empty());
    for days in [7, 3, 1] {
        let instant = due - Duration::days(days);
        assert!(
            worker
                .run(&offsets, instant - Duration::seconds(1))
                .is_empty(),
            "{days}d reminder early"
        );
        assert_eq!(
            worker.run(&offsets, instant),
            vec![reminder(q1.clone(), LEAD, due, days)],
            "{days}d reminder"
        );
        // Any later wake-up before the next offset finds it already sent.
        assert!(worker
            .run(&offsets, instant + Duration::hours(5))
            .is_empty());
    }
    assert!(worker.run(&offsets, due - Duration::seconds(1)).is_empty());

    let sent: Vec<i64> = worker
        .state
        .reminders
        .iter()
        .map(|mark| {
            assert_eq!(
                (&mark.duty, mark.agency.as_str(), mark.due),
                (&q1, LEAD, due)
            );
            mark.seconds_before_due
        })
        .collect();
    assert_eq!(sent, [7 * 86_400, 3 * 86_400, 86_400]);
    // The recorded instants are the reminder instants, in Vietnam time.
    assert_eq!(
        worker.state.reminders[0].sent_at,
        datetime!(2024-03-19 00:00 +07:00)
    );
}

#[test]
fn every_agency_of_a_group_gets_its_own_reminder() {
    let mut worker = Worker::assigned(assignment(None, &[DISTRICT_GROUP, LEAD]));
    let due = due_of(q(2024, 1));
    let commands = worker.run(&standard(), due - Duration::days(7));
    let mut expected: Vec<TaskCommand> = [LEAD]
        .iter()
        .chain(DISTRICTS.iter())
        .map(|name| reminder(periodic(q(2024, 1)), name, due, 7))
        .collect();
    // In obligation order: by agency name within the duty.
    expected.sort_by_key(|command| match command {
        TaskCommand::RecordReminder { agency, .. } => agency.clone(),
        _ => unreachable!(),
    });
    assert_eq!(commands, expected);
}

#[test]
fn after_downtime_only_the_smallest_passed_offset_is_sent() {
    let due = due_of(q(2024, 1));
    let q1 = periodic(q(2024, 1));

    // Down through the 7d and 3d instants: the 3d reminder, never a late 7d one.
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    assert_eq!(
        worker.run(&standard(), due - Duration::days(2)),
        vec![reminder(q1.clone(), LEAD, due, 3)]
    );
    assert_eq!(
        worker.run(&standard(), due - Duration::hours(20)),
        vec![reminder(q1.clone(), LEAD, due, 1)]
    );
    assert_eq!(worker.state.reminders.len(), 2);

    // Down through every reminder instant: the overdue mark only.
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    assert_eq!(
        worker.run(&standard(), due + Duration::hours(1)),
        vec![mark(q(2024, 1), LEAD, due)]
    );
    assert!(worker.state.reminders.is_empty());
}

#[test]
fn a_reported_obligation_gets_no_reminders_and_no_mark() {
    let due = due_of(q(2024, 1));
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    worker.run(&standard(), due - Duration::days(7));
    assert_eq!(worker.state.reminders.len(), 1);
    worker
        .act(
            TaskCommand::SubmitReport {
                period: q(2024, 1),
                reported_by: agency("sở tt&tt"),
                content: "Đã triển khai".into(),
            },
            due - Duration::days(5),
        )
        .unwrap();
    for instant in [
        due - Duration::days(3),
        due - Duration::days(1),
        due,
        due + Duration::days(10),
    ] {
        assert!(worker.run(&standard(), instant).is_empty(), "{instant}");
    }
    assert_eq!(worker.state.reminders.len(), 1);
    assert!(worker.state.overdue.is_empty());

    // A report under the group's name covers its members: no reminders for them.
    let mut grouped = Worker::assigned(assignment(None, &[DISTRICT_GROUP]));
    grouped
        .act(
            TaskCommand::SubmitReport {
                period: q(2024, 1),
                reported_by: agency(DISTRICT_GROUP),
                content: "Tổng hợp các huyện".into(),
            },
            due - Duration::days(10),
        )
        .unwrap();
    assert!(grouped.run(&standard(), due - Duration::days(7)).is_empty());
    assert!(grouped.run(&standard(), due).is_empty());
}

#[test]
fn the_overdue_mark_is_due_at_due_and_not_a_second_before() {
    let due = due_of(q(2024, 1));
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    worker.run(&standard(), due - Duration::days(1));
    assert!(worker
        .due(&standard(), due - Duration::seconds(1))
        .is_empty());
    assert_eq!(
        worker.run(&standard(), due),
        vec![mark(q(2024, 1), LEAD, due)]
    );
    assert_eq!(worker.state.overdue.len(), 1);
    assert_eq!(worker.state.overdue[0].deadline, due);
    // Marked once: later wake-ups find nothing for Q1.
    for later in [due + Duration::hours(1), due + Duration::days(30)] {
        assert!(worker.run(&standard(), later).is_empty(), "{later}");
    }
    assert_eq!(worker.state.overdue.len(), 1);
}

#[test]
fn due_commands_converge_at_every_instant_of_a_year() {
    // Waking every 12 hours through 2024, then at each wake-up a second time: the
    // second run never finds anything (asserted by `run`) and nothing is sent twice.
    let mut worker = Worker::assigned(assignment(None, &[DISTRICT_GROUP, LEAD]));
    let mut now = datetime!(2024-01-02 09:00 +07:00);
    while now < datetime!(2025-01-01 00:00 +07:00) {
        worker.run(&standard(), now);
        now += Duration::hours(12);
    }
    // Four debtors, five duties: each got a mark; reminders only where a wake-up fell
    // inside an offset's window before the next offset.
    assert_eq!(worker.state.overdue.len(), 4 * 5);
    assert_eq!(worker.state.reminders.len(), 4 * 5 * 3);
}

#[test]
fn next_instant_is_the_next_reminder_or_deadline_strictly_after_now() {
    let due = due_of(q(2024, 1));
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    let offsets = standard();
    let start = datetime!(2024-03-01 09:00 +07:00);
    assert_eq!(worker.next(&offsets, start), Some(due - Duration::days(7)));

    // Following next_instant from the start visits exactly the four instants of Q1.
    let mut now = start;
    let mut visited = Vec::new();
    while now < due {
        worker.run(&offsets, now);
        let next = worker.next(&offsets, now).unwrap();
        assert!(next > now);
        visited.push(next);
        now = next;
    }
    assert_eq!(
        visited,
        [
            due - Duration::days(7),
            due - Duration::days(3),
            due - Duration::days(1),
            due,
        ]
    );
    worker.run(&offsets, due);
    // Then the next deadline's first reminder: Q2 2024 is due at the end of Monday 24 June.
    let q2_due = due_of(q(2024, 2));
    assert_eq!(q2_due, datetime!(2024-06-25 00:00 +07:00));
    assert_eq!(worker.next(&offsets, due), Some(q2_due - Duration::days(7)));
    // Waking exactly at an instant, the same instant is not "next".
    assert_eq!(
        worker.next(&offsets, q2_due - Duration::days(7)),
        Some(q2_due - Duration::days(3))
    );
}

#[test]
fn next_instant_looks_into_next_year_for_a_yearly_task_and_ends_for_a_finished_one() {
    let after_q4 = datetime!(2024-12-26 09:00 +07:00);
    let mut yearly = Worker::assigned(assignment(Some("Hằng năm"), &[LEAD]));
    let mut finished = Worker::assigned(assignment(None, &[LEAD]));
    yearly.run(&standard(), after_q4);
    finished.run(&standard(), after_q4);
    assert_eq!(yearly.state.overdue.len(), 5);
    assert_eq!(finished.state.overdue.len(), 5);

    let q1_2025 = due_of(q(2025, 1));
    assert_eq!(q1_2025, datetime!(2025-03-25 00:00 +07:00));
    assert_eq!(
        yearly.next(&standard(), after_q4),
        Some(q1_2025 - Duration::days(7))
    );
    assert_eq!(
        yearly.run(&standard(), q1_2025 - Duration::days(7)),
        vec![reminder(periodic(q(2025, 1)), LEAD, q1_2025, 7)]
    );

    // A plan-year task whose every obligation is settled has no next instant.
    assert_eq!(finished.next(&standard(), after_q4), None);
    assert!(finished
        .due(&standard(), datetime!(2026-06-01 09:00 +07:00))
        .is_empty());
}

#[test]
fn without_reminders_only_deadlines_wake_the_worker() {
    let none = ReminderOffsets::parse("none").unwrap();
    let due = due_of(q(2024, 1));
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    assert_eq!(
        worker.next(&none, datetime!(2024-03-01 09:00 +07:00)),
        Some(due)
    );
    assert!(worker.run(&none, due - Duration::seconds(1)).is_empty());
    assert_eq!(worker.run(&none, due), vec![mark(q(2024, 1), LEAD, due)]);
    assert!(worker.state.reminders.is_empty());
}

#[test]
fn an_extension_starts_a_new_reminder_series_and_a_second_mark_at_the_new_due() {
    let due = due_of(q(2024, 1));
    let new_due = datetime!(2024-04-09 00:00 +07:00);
    let q1 = periodic(q(2024, 1));
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    for days in [7, 3, 1] {
        worker.run(&standard(), due - Duration::days(days));
    }
    assert_eq!(
        worker.run(&standard(), due),
        vec![mark(q(2024, 1), LEAD, due)]
    );

    let granted = due + Duration::days(1);
    worker
        .act(
            TaskCommand::ExtendDeadline {
                duty: q1.clone(),
                agency: Some(agency(LEAD)),
                debtors: worker.debtors(&q1, granted),
                new_due,
                reason: "Chờ số liệu của các huyện".into(),
                granted_by: "UBND tỉnh Quảng Trị".into(),
            },
            granted,
        )
        .unwrap();
    assert!(worker.run(&standard(), granted).is_empty());
    assert_eq!(
        worker.next(&standard(), granted),
        Some(new_due - Duration::days(7))
    );
    for days in [7, 3, 1] {
        assert_eq!(
            worker.run(&standard(), new_due - Duration::days(days)),
            vec![reminder(q1.clone(), LEAD, new_due, days)]
        );
    }
    assert!(worker
        .run(&standard(), new_due - Duration::seconds(1))
        .is_empty());
    assert_eq!(
        worker.run(&standard(), new_due),
        vec![mark(q(2024, 1), LEAD, new_due)]
    );
    assert!(worker
        .run(&standard(), new_due + Duration::days(2))
        .is_empty());

    assert_eq!(worker.state.reminders.len(), 6);
    let marks: Vec<OffsetDateTime> = worker
        .state
        .overdue
        .iter()
        .map(|mark| mark.deadline)
        .collect();
    assert_eq!(marks, [due, new_due]);
}

#[test]
fn an_extension_granted_before_the_deadline_moves_the_remaining_reminders() {
    let due = due_of(q(2024, 1));
    let new_due = due + Duration::days(14);
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    worker.run(&standard(), due - Duration::days(7));
    worker
        .act(
            TaskCommand::ExtendDeadline {
                duty: periodic(q(2024, 1)),
                agency: None,
                debtors: worker.debtors(&periodic(q(2024, 1)), due - Duration::days(5)),
                new_due,
                reason: "Trùng đợt kiểm tra".into(),
                granted_by: "UBND tỉnh Quảng Trị".into(),
            },
            due - Duration::days(5),
        )
        .unwrap();
    // Under the new deadline, the first offset has not come yet: nothing at the old
    // 3d and 1d instants, nor an overdue mark at the old due.
    for old in [due - Duration::days(3), due - Duration::days(1), due] {
        assert!(worker.run(&standard(), old).is_empty(), "{old}");
    }
    assert_eq!(
        worker.run(&standard(), new_due - Duration::days(7)),
        vec![reminder(periodic(q(2024, 1)), LEAD, new_due, 7)]
    );
}

#[test]
fn a_request_gets_reminders_and_its_overdue_marks_like_a_periodic_report() {
    let requested_at = datetime!(2024-04-01 09:00 +07:00);
    let due = datetime!(2024-04-15 00:00 +07:00);
    let request = key("phoi-hop-2024-04");
    let duty = Duty::Requested {
        request_key: request.clone(),
    };
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    // Q1 went overdue on 26 March; the worker marked it then.
    worker.run(&standard(), due_of(q(2024, 1)));
    worker
        .act(
            TaskCommand::RequestReport {
                request_key: request.clone(),
                kind: RequestKind::Coordination,
                requested_by: agency(LEAD),
                agencies: vec![agency(DISTRICT_GROUP)],
                due,
                subject: "Số liệu điểm phục vụ dịch vụ công".into(),
            },
            requested_at,
        )
        .unwrap();
    assert!(worker.run(&standard(), requested_at).is_empty());
    assert_eq!(
        worker.next(&standard(), requested_at),
        Some(due - Duration::days(7))
    );
    let all_members = |days| -> Vec<TaskCommand> {
        DISTRICTS
            .iter()
            .map(|name| reminder(duty.clone(), name, due, days))
            .collect()
    };
    assert_eq!(
        worker.run(&standard(), due - Duration::days(7)),
        all_members(7)
    );
    // Hải Lăng answers: no more reminders for it.
    worker
        .act(
            TaskCommand::AnswerRequest {
                request_key: request.clone(),
                answered_by: agency("UBND huyện Hải Lăng"),
                debtors: worker.debtors(&duty, due - Duration::days(4)),
                content: "Đã gửi số liệu".into(),
            },
            due - Duration::days(4),
        )
        .unwrap();
    let others = |days| -> Vec<TaskCommand> {
        all_members(days)
            .into_iter()
            .filter(|command| {
                !matches!(command, TaskCommand::RecordReminder { agency, .. }
                    if agency.as_str() == "UBND huyện Hải Lăng")
            })
            .collect()
    };
    assert_eq!(worker.run(&standard(), due - Duration::days(3)), others(3));
    assert_eq!(worker.run(&standard(), due - Duration::days(1)), others(1));
    let marks = worker.run(&standard(), due);
    assert_eq!(
        marks,
        ["UBND huyện Vĩnh Linh", "UBND thành phố Đông Hà"]
            .iter()
            .map(|name| TaskCommand::MarkRequestOverdue {
                request_key: request.clone(),
                agency: agency(name),
                due,
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(worker.state.request_overdue.len(), 2);
    assert!(worker.run(&standard(), due + Duration::days(1)).is_empty());
}

#[test]
fn a_request_made_late_starts_with_the_offset_that_fits() {
    // Asked two days before its due: the 3d instant has already passed, so the 3d
    // reminder goes out at once (not the 7d one), then the 1d one.
    let requested_at = datetime!(2024-05-08 10:00 +07:00);
    let due = datetime!(2024-05-10 17:00 +07:00);
    let request = key("dot-xuat-2024-05");
    let duty = Duty::Requested {
        request_key: request.clone(),
    };
    let mut worker = Worker::assigned(assignment(None, &[LEAD]));
    worker.run(&standard(), due_of(q(2024, 1)));
    worker
        .act(
            TaskCommand::RequestReport {
                request_key: request,
                kind: RequestKind::AdHoc,
                requested_by: agency("UBND tỉnh Quảng Trị"),
                agencies: vec![agency(LEAD)],
                due,
                subject: "Báo cáo đột xuất".into(),
            },
            requested_at,
        )
        .unwrap();
    assert_eq!(
        worker.run(&standard(), requested_at),
        vec![reminder(duty.clone(), LEAD, due, 3)]
    );
    assert_eq!(
        worker.next(&standard(), requested_at),
        Some(due - Duration::days(1))
    );
    assert_eq!(
        worker.run(&standard(), due - Duration::days(1)),
        vec![reminder(duty, LEAD, due, 1)]
    );
}

#[test]
fn a_reminder_of_next_years_first_deadline_is_due_at_its_instant() {
    let offsets = ReminderOffsets::parse("100d").unwrap();
    let q1_2025 = due_of(q(2025, 1));
    let instant = q1_2025 - Duration::days(100);
    assert_eq!(instant, datetime!(2024-12-15 00:00 +07:00));
    let mut worker = Worker::assigned(assignment(Some("Hằng năm"), &[LEAD]));
    worker.run(&offsets, datetime!(2024-12-01 09:00 +07:00));
    assert_eq!(
        worker.next(&offsets, datetime!(2024-12-01 09:00 +07:00)),
        Some(instant)
    );
    // The worker wakes when told to: the reminder is due then.
    assert_eq!(
        worker.due(&offsets, instant),
        vec![reminder(periodic(q(2025, 1)), LEAD, q1_2025, 100)]
    );
    // And if it missed it, next_instant must not sleep past the moment it becomes due
    // (it says 17 March 2025, the Q2 reminder, while Q1's is due from 1 January).
    let after_q4 = datetime!(2024-12-26 09:00 +07:00);
    worker.run(&offsets, after_q4);
    let next = worker.next(&offsets, after_q4).unwrap();
    assert!(
        worker.due(&offsets, next - Duration::seconds(1)).is_empty(),
        "work due before next_instant {next}"
    );
}

#[test]
fn reminder_offsets_parse_sort_dedup_and_display() {
    let standard = ReminderOffsets::standard();
    assert_eq!(ReminderOffsets::parse("7d,3d,1d").unwrap(), standard);
    assert_eq!(
        ReminderOffsets::parse(" 1d , 7d,3d ,3d ").unwrap(),
        standard
    );
    assert_eq!(
        standard.offsets(),
        [Duration::days(7), Duration::days(3), Duration::days(1)]
    );
    assert_eq!(standard.to_string(), "7d,3d,1d");

    let hours = ReminderOffsets::parse("12h,2d,36h").unwrap();
    assert_eq!(
        hours.offsets(),
        [
            Duration::hours(48),
            Duration::hours(36),
            Duration::hours(12)
        ]
    );
    assert_eq!(hours.to_string(), "2d,36h,12h");
    assert_eq!(ReminderOffsets::parse(&hours.to_string()).unwrap(), hours);
    // 24h and 1d are one offset.
    assert_eq!(
        ReminderOffsets::parse("24h,1d").unwrap().offsets(),
        [Duration::days(1)]
    );

    for empty in ["", "  ", "none"] {
        let parsed = ReminderOffsets::parse(empty).unwrap();
        assert!(parsed.offsets().is_empty(), "{empty:?}");
        assert_eq!(parsed.to_string(), "none");
    }
    assert_eq!(ReminderOffsets::new([]).unwrap().to_string(), "none");
}

#[test]
fn reminder_offsets_errors_name_the_bad_part() {
    for (text, bad) in [
        ("7d,3x,1d", "\"3x\""),
        ("7d,,1d", "\"\""),
        ("d", "\"d\""),
        ("7", "\"7\""),
        ("7 ngay", "\"7 ngay\""),
        ("1.5d", "\"1.5d\""),
        ("7d;3d", "\"7d;3d\""),
        ("-1d", "-1d"),
    ] {
        let error = ReminderOffsets::parse(text).unwrap_err();
        assert_eq!(error.field, "reminder_offsets", "{text:?}");
        assert!(
            error.message.contains(bad),
            "{text:?}: {:?} does not name {bad}",
            error.message
        );
    }
    let error = ReminderOffsets::parse("7d,0h").unwrap_err();
    assert_eq!(error.field, "reminder_offsets");
    assert!(error.message.contains("positive"), "{}", error.message);
    assert!(ReminderOffsets::new([Duration::ZERO]).is_err());
    assert!(ReminderOffsets::new([Duration::days(1), -Duration::hours(1)]).is_err());
}

#[test]
fn reminder_offsets_refuse_rather_than_panic() {
    let texts = [
        "1giờ",
        "7đ",
        "3 ngày,1giờ",
        "999999999999999d",
        "9999999999999999h",
    ];
    let panicked: Vec<&str> = texts
        .into_iter()
        .filter(|text| std::panic::catch_unwind(|| ReminderOffsets::parse(text)).is_err())
        .collect();
    assert_eq!(panicked, Vec::<&str>::new(), "these panicked");
    for text in texts {
        let error = ReminderOffsets::parse(text).unwrap_err();
        assert_eq!(error.field, "reminder_offsets", "{text:?}");
    }
}

// A worker loop at random instants, with reports, requests, answers and extensions
// recorded in between.

const POOL: [&str; 6] = [
    LEAD,
    DISTRICT_GROUP,
    "UBND thành phố Đông Hà",
    "ubnd huyện hải lăng",
    "UBND huyện Vĩnh Linh",
    "Sở Nội vụ",
];

/// Seconds from 2024-01-01 to the end of 2025.
const SPAN: i64 = 731 * 24 * 3600;
const ORIGIN: OffsetDateTime = datetime!(2024-01-01 00:00 +07:00);

#[derive(Clone, Debug)]
enum Outside {
    Nothing,
    Report {
        pick: usize,
        by: usize,
    },
    Extend {
        pick: usize,
        days: i64,
        scope: u8,
    },
    Request {
        coordination: bool,
        days: i64,
        hours: i64,
    },
    Answer {
        pick: usize,
        by: usize,
    },
}

fn arbitrary_outside() -> impl Strategy<Value = Outside> {
    prop_oneof![
        3 => Just(Outside::Nothing),
        2 => (0usize..64, 0usize..POOL.len()).prop_map(|(pick, by)| Outside::Report { pick, by }),
        1 => (0usize..64, 1i64..30, 0u8..3)
            .prop_map(|(pick, days, scope)| Outside::Extend { pick, days, scope }),
        1 => (any::<bool>(), 0i64..20, 1i64..24)
            .prop_map(|(coordination, days, hours)| Outside::Request { coordination, days, hours }),
        1 => (0usize..8, 0usize..POOL.len()).prop_map(|(pick, by)| Outside::Answer { pick, by }),
    ]
}

fn arbitrary_offsets() -> impl Strategy<Value = ReminderOffsets> {
    // Up to 30 days: longer offsets reach from next year's first deadline back into this
    // year (see the ignored `a_reminder_of_next_years_first_deadline_is_due_at_its_instant`).
    proptest::sample::subsequence(
        vec![
            Duration::hours(1),
            Duration::hours(12),
            Duration::days(1),
            Duration::days(3),
            Duration::days(7),
            Duration::days(30),
        ],
        0..=6,
    )
    .prop_map(|offsets| ReminderOffsets::new(offsets).unwrap())
}

fn arbitrary_leads() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        Just(vec![LEAD]),
        Just(vec![DISTRICT_GROUP]),
        Just(vec![DISTRICT_GROUP, LEAD]),
        Just(vec![LEAD, "ubnd huyện hải lăng"]),
    ]
}

impl Worker {
    /// Records what someone other than the worker does at `at`; refused commands are
    /// dropped, as a client's would be.
    fn outside(&mut self, outside: &Outside, at: OffsetDateTime) {
        let (policy, holidays) = (fallback_policy(), vn());
        let listed = obligations(&self.state, &context(&policy, &holidays), at);
        let command = match *outside {
            Outside::Nothing => return,
            Outside::Report { pick, by } => {
                let Some(period) = listed
                    .iter()
                    .filter_map(Obligation::period)
                    .nth(pick % listed.len().max(1))
                else {
                    return;
                };
                TaskCommand::SubmitReport {
                    period,
                    reported_by: agency(POOL[by]),
                    content: "báo cáo".into(),
                }
            }
            Outside::Extend { pick, days, scope } => {
                let Some(obligation) = listed.get(pick % listed.len().max(1)) else {
                    return;
                };
                TaskCommand::ExtendDeadline {
                    duty: obligation.duty.clone(),
                    agency: match scope {
                        0 => None,
                        1 => Some(obligation.agency.clone()),
                        _ => obligation
                            .via_group
                            .clone()
                            .or(Some(obligation.agency.clone())),
                    },
                    debtors: Debtor::of_duty(&listed, &obligation.duty),
                    new_due: obligation.due + Duration::days(days),
                    reason: "gia hạn".into(),
                    granted_by: "UBND tỉnh Quảng Trị".into(),
                }
            }
            Outside::Request {
                coordination,
                days,
                hours,
            } => {
                let details = &self.state.assignment.as_ref().unwrap().details;
                let (kind, requested_by, agencies) = if coordination {
                    (
                        RequestKind::Coordination,
                        details.lead[0].clone(),
                        details.coordinators.clone(),
                    )
                } else {
                    (
                        RequestKind::AdHoc,
                        agency("UBND tỉnh Quảng Trị"),
                        details.lead.clone(),
                    )
                };
                TaskCommand::RequestReport {
                    request_key: key(&format!("r-{}", self.state.report_requests.len())),
                    kind,
                    requested_by,
                    agencies,
                    due: at + Duration::days(days) + Duration::hours(hours),
                    subject: "yêu cầu".into(),
                }
            }
            Outside::Answer { pick, by } => {
                let requests = &self.state.report_requests;
                let Some(request) = requests.get(pick % requests.len().max(1)) else {
                    return;
                };
                TaskCommand::AnswerRequest {
                    request_key: request.request_key.clone(),
                    answered_by: agency(POOL[by]),
                    debtors: Debtor::of_duty(
                        &listed,
                        &Duty::Requested {
                            request_key: request.request_key.clone(),
                        },
                    ),
                    content: "trả lời".into(),
                }
            }
        };
        let _ = self.act(command, at);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_worker_loop_sends_nothing_twice_and_sleeps_only_when_nothing_is_due(
        yearly in any::<bool>(),
        leads in arbitrary_leads(),
        offsets in arbitrary_offsets(),
        steps in proptest::collection::vec((0i64..SPAN, arbitrary_outside(), any::<bool>()), 1..40),
    ) {
        let timeframe = yearly.then_some("Hằng năm");
        let mut worker = Worker::assigned(assignment(timeframe, &leads));
        let mut steps = steps;
        steps.sort_by_key(|(at, _, _)| *at);
        let mut wakes = 0;
        for (index, (at, outside, follow)) in steps.iter().enumerate() {
            let at = ORIGIN + Duration::seconds(*at);
            let until = steps
                .get(index + 1)
                .map_or(ORIGIN + Duration::seconds(SPAN), |(next, _, _)| ORIGIN + Duration::seconds(*next));
            worker.outside(outside, at);
            let mut now = at;
            loop {
                // `run` asserts that every due command decides one event and that the
                // loop converges at `now`.
                worker.run(&offsets, now);
                wakes += 1;
                let next = worker.next(&offsets, now);
                if let Some(next) = next {
                    prop_assert!(next > now, "next {} not after {}", next, now);
                }
                // Nothing is due strictly between now and the next instant.
                let horizon = next.unwrap_or(now + Duration::days(800));
                let gap = horizon - now;
                for sample in [
                    now + Duration::seconds(1),
                    now + gap / 3,
                    now + gap / 2,
                    horizon - Duration::seconds(1),
                ] {
                    if sample > now && sample < horizon {
                        let due = worker.due(&offsets, sample);
                        prop_assert!(
                            due.is_empty(),
                            "at {}: next_instant {:?} but {:?} due at {}",
                            now, next, due, sample
                        );
                    }
                }
                // Follow the worker's own schedule up to the next outside step.
                match next {
                    Some(next) if *follow && next < until && wakes < 400 => now = next,
                    _ => break,
                }
            }
        }
        let state = &worker.state;
        let mut reminders: Vec<_> = state
            .reminders
            .iter()
            .map(|mark| (mark.duty.clone(), mark.agency.match_key(), mark.due, mark.seconds_before_due))
            .collect();
        let count = reminders.len();
        reminders.sort();
        reminders.dedup();
        prop_assert_eq!(reminders.len(), count, "a reminder was sent twice");
        for mark in &state.reminders {
            // Never before its instant, never at or after the deadline.
            prop_assert!(mark.sent_at >= mark.due - Duration::seconds(mark.seconds_before_due));
            prop_assert!(mark.sent_at < mark.due);
        }
        let mut marks: Vec<_> = state
            .overdue
            .iter()
            .map(|mark| (mark.period, mark.agency.as_ref().map(AgencyName::match_key), mark.deadline))
            .collect();
        let count = marks.len();
        marks.sort();
        marks.dedup();
        prop_assert_eq!(marks.len(), count, "a period was marked overdue twice");
        let mut request_marks: Vec<_> = state
            .request_overdue
            .iter()
            .map(|mark| (mark.request_key.clone(), mark.agency.match_key(), mark.due))
            .collect();
        let count = request_marks.len();
        request_marks.sort();
        request_marks.dedup();
        prop_assert_eq!(request_marks.len(), count, "a request was marked overdue twice");
        for mark in &state.overdue {
            prop_assert!(mark.recorded_at >= mark.deadline);
        }
        for mark in &state.request_overdue {
            prop_assert!(mark.recorded_at >= mark.due);
        }
    }
}
