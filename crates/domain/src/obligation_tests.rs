//! Obligations: the seeds' shapes, group fan-out and roll-ups, the instants around a
//! deadline, and properties over random tasks, reports and clocks.

use proptest::prelude::*;
use time::macros::datetime;
use time::Duration;

use super::*;
use crate::event::{AppendixRowRef, TaskAssigned};
use crate::task::{decide, Assignment, Report};
use crate::timeframe::Timeframe;

const VN_JSON: &str = include_str!("../../../deploy/holidays/vn.json");

fn vn() -> HolidayCalendar {
    HolidayCalendar::from_json(VN_JSON).unwrap()
}

fn default_policy() -> ReportingPolicy {
    ReportingPolicy::preset("default").unwrap()
}

fn agency(name: &str) -> AgencyName {
    AgencyName::parse(name).unwrap()
}

const DISTRICT_GROUP: &str = "UBND cấp huyện";

/// The 13 district-level committees of Quảng Ngãi (2023).
const DISTRICTS: [&str; 13] = [
    "UBND thành phố Quảng Ngãi",
    "UBND thị xã Đức Phổ",
    "UBND huyện Bình Sơn",
    "UBND huyện Sơn Tịnh",
    "UBND huyện Tư Nghĩa",
    "UBND huyện Nghĩa Hành",
    "UBND huyện Mộ Đức",
    "UBND huyện Ba Tơ",
    "UBND huyện Minh Long",
    "UBND huyện Sơn Hà",
    "UBND huyện Sơn Tây",
    "UBND huyện Trà Bồng",
    "UBND huyện Lý Sơn",
];

fn district_members(name: &AgencyName) -> Option<Vec<AgencyName>> {
    (name.match_key() == DISTRICT_GROUP.to_lowercase())
        .then(|| DISTRICTS.iter().map(|name| agency(name)).collect())
}

fn task(timeframe: Option<&str>, leads: &[&str], reports: Vec<Report>) -> TaskState {
    let details = TaskAssigned {
        plan_year: 2023,
        title: "Tổ chức triển khai Tuần lễ Chuyển đổi số".into(),
        content: None,
        lead: leads.iter().map(|name| agency(name)).collect(),
        coordinators: vec![agency("Các Sở, ban, ngành tỉnh"), agency("Công an tỉnh")],
        timeframe: Timeframe::parse(timeframe, 2023),
        source: AppendixRowRef {
            source_name: "qng-189".into(),
            line: 1,
            position: 0,
            row_number: "1.1".into(),
            occurrence: 1,
            section_number: Some("1".into()),
            section_title: None,
            lead_text: leads.join("; "),
            coordinators_text: "Các Sở, ban, ngành tỉnh; Công an tỉnh".into(),
        },
        extra: Vec::new(),
        reporting: None,
    };
    TaskState {
        version: 1 + reports.len() as u64,
        assignment: Some(Assignment {
            details,
            assigned_at: datetime!(2023-01-01 08:00 +07:00),
        }),
        reports,
        ..TaskState::default()
    }
}

fn report(period: ReportingPeriod, by: &str, at: OffsetDateTime) -> Report {
    Report {
        period,
        reported_by: agency(by),
        content: "báo cáo".into(),
        submitted_at: at,
        version: 2,
    }
}

fn quarter(year: i32, quarter: u8) -> ReportingPeriod {
    ReportingPeriod::Quarter { year, quarter }
}

fn derive(task: &TaskState, now: OffsetDateTime) -> Vec<Obligation> {
    let (policy, holidays) = (default_policy(), vn());
    let context = ObligationContext {
        policy: &policy,
        holidays: &holidays,
        group_members: &district_members,
    };
    obligations(task, &context, now)
}

fn periods(obligations: &[Obligation]) -> Vec<String> {
    obligations
        .iter()
        .map(|obligation| obligation.period().unwrap().to_string())
        .collect()
}

fn find<'a>(
    obligations: &'a [Obligation],
    agency_name: &str,
    period: ReportingPeriod,
) -> &'a Obligation {
    obligations
        .iter()
        .find(|obligation| {
            obligation.agency.as_str() == agency_name && obligation.period().unwrap() == period
        })
        .unwrap()
}

#[test]
fn a_plan_year_task_owes_four_quarterly_and_one_yearly_report() {
    let task = task(None, &["Sở TT&TT"], Vec::new());
    let found = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    // Sorted by due: the yearly deadline (before 20/12) comes before Q4's (before 25/12).
    assert_eq!(
        periods(&found),
        ["2023-Q1", "2023-Q2", "2023-Q3", "2023", "2023-Q4"]
    );
    assert!(found
        .iter()
        .all(|obligation| obligation.agency.as_str() == "Sở TT&TT"
            && obligation.via_group.is_none()
            && obligation.status == ObligationStatus::Overdue
            && obligation.deadline().unwrap().period == obligation.period().unwrap()));
    // Coordinating agencies owe nothing.
    assert!(!found
        .iter()
        .any(|obligation| obligation.agency.as_str() == "Công an tỉnh"));
    assert_eq!(task_status(&found), TaskStatus::Overdue);
}

#[test]
fn a_range_owes_every_year_of_it_but_no_future_year() {
    let task = task(Some("2023 - 2024"), &["Sở TT&TT"], Vec::new());
    assert_eq!(derive(&task, datetime!(2024-12-31 12:00 +07:00)).len(), 10);
    let in_2023 = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    assert_eq!(in_2023.len(), 5);
    assert!(in_2023
        .iter()
        .all(|obligation| obligation.period().unwrap().year() == 2023));
    assert!(derive(&task, datetime!(2022-12-31 12:00 +07:00)).is_empty());
    // Years after the range are never owed.
    assert_eq!(derive(&task, datetime!(2027-06-01 12:00 +07:00)).len(), 10);
}

#[test]
fn an_open_ended_task_owes_every_year_up_to_now_with_this_years_later_periods_pending() {
    for text in ["Hằng năm", "Thường xuyên", "Quý II/2023"] {
        let task = task(Some(text), &["Sở TT&TT"], Vec::new());
        let found = derive(&task, datetime!(2025-07-01 12:00 +07:00));
        assert_eq!(found.len(), 15, "{text}");
        let years: Vec<i32> = found.iter().map(|o| o.period().unwrap().year()).collect();
        assert_eq!(years.iter().min(), Some(&2023));
        assert_eq!(years.iter().max(), Some(&2025));
        let pending: Vec<String> = found
            .iter()
            .filter(|o| o.status == ObligationStatus::Pending)
            .map(|o| o.period().unwrap().to_string())
            .collect();
        assert_eq!(pending, ["2025-Q3", "2025", "2025-Q4"], "{text}");
        assert!(found
            .iter()
            .filter(|o| o.period().unwrap().year() < 2025)
            .all(|o| o.status == ObligationStatus::Overdue));
    }
}

#[test]
fn an_unassigned_task_owes_nothing() {
    let found = derive(&TaskState::default(), datetime!(2023-12-31 12:00 +07:00));
    assert!(found.is_empty());
    assert_eq!(task_status(&found), TaskStatus::NoObligations);
    assert!(roll_ups(&found).is_empty());
}

#[test]
fn a_policy_without_a_separate_q4_report_owes_four_per_year() {
    let mut spec = default_policy().into_spec();
    spec.yearly_satisfies_q4 = true;
    let policy = ReportingPolicy::new(spec).unwrap();
    let holidays = vn();
    let context = ObligationContext::without_groups(&policy, &holidays);
    let task = task(None, &["Sở TT&TT"], Vec::new());
    let found = obligations(&task, &context, datetime!(2023-12-31 12:00 +07:00));
    assert_eq!(periods(&found), ["2023-Q1", "2023-Q2", "2023-Q3", "2023"]);
}

#[test]
fn a_report_one_second_before_due_is_on_time_at_or_after_it_late() {
    let q1 = quarter(2023, 1);
    let probe = task(None, &["Sở TT&TT"], Vec::new());
    let due = find(
        &derive(&probe, datetime!(2023-12-31 12:00 +07:00)),
        "Sở TT&TT",
        q1,
    )
    .deadline()
    .unwrap()
    .due;
    // "trước ngày 25" of March 2023: the 24th is a Friday, the last day on time.
    assert_eq!(due, datetime!(2023-03-25 00:00 +07:00));
    let cases = [
        (due - Duration::seconds(1), true),
        (due, false),
        (due + Duration::seconds(1), false),
    ];
    for (at, on_time) in cases {
        let task = task(None, &["Sở TT&TT"], vec![report(q1, "Sở TT&TT", at)]);
        let status = find(
            &derive(&task, datetime!(2023-12-31 12:00 +07:00)),
            "Sở TT&TT",
            q1,
        )
        .status;
        let expected = if on_time {
            ObligationStatus::ReportedOnTime { at }
        } else {
            ObligationStatus::ReportedLate { at }
        };
        assert_eq!(status, expected, "report at {at}");
    }
    // With no report: pending one second before due, overdue at due.
    let status_at = |now| find(&derive(&probe, now), "Sở TT&TT", q1).status;
    assert_eq!(
        status_at(due - Duration::seconds(1)),
        ObligationStatus::Pending
    );
    assert_eq!(status_at(due), ObligationStatus::Overdue);
}

#[test]
fn the_earliest_report_decides_and_reports_after_now_do_not_count_yet() {
    let q2 = quarter(2023, 2);
    // Sat 24 is the last day on time, rolled past Sunday to the end of Monday 26 June.
    let due = datetime!(2023-06-27 00:00 +07:00);
    let on_time = due - Duration::hours(5);
    let task = task(
        None,
        &["Sở TT&TT"],
        vec![
            report(q2, "Sở TT&TT", due + Duration::days(3)),
            report(q2, "sở tt&tt", on_time),
        ],
    );
    let found = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    let obligation = find(&found, "Sở TT&TT", q2);
    assert_eq!(obligation.deadline().unwrap().due, due);
    assert!(obligation.deadline().unwrap().rolled);
    assert_eq!(
        obligation.status,
        ObligationStatus::ReportedOnTime { at: on_time }
    );
    // As of a moment before the report, it did not exist yet.
    let earlier = derive(&task, on_time - Duration::seconds(1));
    assert_eq!(
        find(&earlier, "Sở TT&TT", q2).status,
        ObligationStatus::Pending
    );
}

#[test]
fn a_group_lead_fans_out_to_its_members_and_rolls_up() {
    let (q1, q2, q3) = (quarter(2023, 1), quarter(2023, 2), quarter(2023, 3));
    let due_q1 = datetime!(2023-03-25 00:00 +07:00);
    let due_q2 = datetime!(2023-06-27 00:00 +07:00);
    let due_q3 = datetime!(2023-09-26 00:00 +07:00);
    let reports = vec![
        // Q1: one member in time, one late; the other eleven never report.
        report(q1, "UBND huyện Ba Tơ", due_q1 - Duration::days(1)),
        report(q1, "UBND huyện Sơn Hà", due_q1 + Duration::days(1)),
        // Q2: the group reports for everyone in time; a member's later addendum is late
        // but the group's report came first.
        report(q2, DISTRICT_GROUP, due_q2 - Duration::days(2)),
        report(q2, "UBND huyện Sơn Hà", due_q2 + Duration::days(1)),
        // Q3: one member in time, the group late for the rest.
        report(q3, "UBND huyện Lý Sơn", due_q3 - Duration::days(1)),
        report(q3, DISTRICT_GROUP, due_q3 + Duration::days(1)),
    ];
    let task = task(None, &[DISTRICT_GROUP], reports);
    let found = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    assert_eq!(found.len(), 13 * 5);
    assert!(found
        .iter()
        .all(|o| o.via_group.as_ref().map(AgencyName::as_str) == Some(DISTRICT_GROUP)));
    assert!(!found.iter().any(|o| o.agency.as_str() == DISTRICT_GROUP));

    let rolled = roll_ups(&found);
    assert_eq!(
        rolled
            .iter()
            .map(|r| r.period().unwrap().to_string())
            .collect::<Vec<_>>(),
        ["2023-Q1", "2023-Q2", "2023-Q3", "2023", "2023-Q4"]
    );
    let counts = |period| {
        let r = rolled
            .iter()
            .find(|r| r.period().unwrap() == period)
            .unwrap();
        assert_eq!(r.group.as_str(), DISTRICT_GROUP);
        assert_eq!(
            r.members,
            r.reported_on_time + r.reported_late + r.overdue + r.pending
        );
        (
            r.members,
            r.reported_on_time,
            r.reported_late,
            r.overdue,
            r.pending,
        )
    };
    assert_eq!(counts(q1), (13, 1, 1, 11, 0));
    assert_eq!(counts(q2), (13, 13, 0, 0, 0));
    assert_eq!(counts(q3), (13, 1, 12, 0, 0));
    assert_eq!(counts(ReportingPeriod::Year(2023)), (13, 0, 0, 13, 0));
    assert_eq!(
        find(&found, "UBND huyện Sơn Hà", q2).status,
        ObligationStatus::ReportedOnTime {
            at: due_q2 - Duration::days(2)
        }
    );
    // Within a period, members are ordered by name.
    let q1_agencies: Vec<&str> = found
        .iter()
        .filter(|o| o.period().unwrap() == q1)
        .map(|o| o.agency.as_str())
        .collect();
    let mut sorted = q1_agencies.clone();
    sorted.sort_unstable();
    assert_eq!(q1_agencies, sorted);
}

#[test]
fn a_group_with_unknown_members_owes_one_report_itself() {
    let task = task(
        None,
        &["Các doanh nghiệp BCVT trên địa bàn tỉnh"],
        vec![report(
            ReportingPeriod::Year(2023),
            "Các doanh nghiệp BCVT trên địa bàn tỉnh",
            datetime!(2023-12-01 09:00 +07:00),
        )],
    );
    let found = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    assert_eq!(found.len(), 5);
    assert!(found.iter().all(|o| o.via_group.is_none()));
    assert!(roll_ups(&found).is_empty());
}

#[test]
fn an_agency_reached_twice_owes_once_and_its_direct_assignment_wins() {
    let task = task(
        None,
        &[DISTRICT_GROUP, "UBND huyện Ba Tơ", "Sở TT&TT", "sở  tt&tt"],
        Vec::new(),
    );
    let found = derive(&task, datetime!(2023-12-31 12:00 +07:00));
    // 13 districts (Ba Tơ once, named directly) + Sở TT&TT once.
    assert_eq!(found.len(), 14 * 5);
    let ba_to = find(&found, "UBND huyện Ba Tơ", quarter(2023, 1));
    assert_eq!(ba_to.via_group, None);
    assert_eq!(roll_ups(&found)[0].members, 12);
}

#[test]
fn task_status_reads_the_worst_obligation() {
    let now = datetime!(2023-12-31 12:00 +07:00);
    let q1 = quarter(2023, 1);
    let all_on_time: Vec<Report> = [q1, quarter(2023, 2), quarter(2023, 3), quarter(2023, 4)]
        .into_iter()
        .chain([ReportingPeriod::Year(2023)])
        .map(|period| report(period, "Sở TT&TT", period.starts_at() + Duration::days(10)))
        .collect();
    let on_track = task(None, &["Sở TT&TT"], all_on_time.clone());
    assert_eq!(task_status(&derive(&on_track, now)), TaskStatus::OnTrack);
    // Early in the year nothing is due yet: on track too.
    let fresh = task(None, &["Sở TT&TT"], Vec::new());
    assert_eq!(
        task_status(&derive(&fresh, datetime!(2023-02-01 12:00 +07:00))),
        TaskStatus::OnTrack
    );
    let mut late_reports = all_on_time;
    late_reports[0].submitted_at = datetime!(2023-04-10 09:00 +07:00);
    let late = task(None, &["Sở TT&TT"], late_reports);
    assert_eq!(task_status(&derive(&late, now)), TaskStatus::ReportedLate);
    assert_eq!(task_status(&derive(&fresh, now)), TaskStatus::Overdue);
}

#[test]
fn an_overdue_obligation_gives_a_mark_overdue_that_decide_accepts_once() {
    let task = task(
        None,
        &[DISTRICT_GROUP],
        vec![report(
            quarter(2023, 1),
            "UBND huyện Ba Tơ",
            datetime!(2023-03-20 09:00 +07:00),
        )],
    );
    let now = datetime!(2023-04-01 12:00 +07:00);
    let found = derive(&task, now);
    assert!(find(&found, "UBND huyện Ba Tơ", quarter(2023, 1))
        .overdue_command()
        .is_none());
    let commands: Vec<TaskCommand> = found
        .iter()
        .filter_map(Obligation::overdue_command)
        .collect();
    assert_eq!(commands.len(), 12);
    for command in &commands {
        assert_eq!(decide(&task, command, now).unwrap().len(), 1, "{command:?}");
    }
}

#[test]
fn obligations_are_deterministic() {
    let task = task(
        Some("Hằng năm"),
        &[DISTRICT_GROUP, "Sở TT&TT"],
        vec![report(
            quarter(2024, 2),
            DISTRICT_GROUP,
            datetime!(2024-06-01 09:00 +07:00),
        )],
    );
    let now = datetime!(2025-07-01 12:00 +07:00);
    assert_eq!(derive(&task, now), derive(&task, now));
    assert_eq!(roll_ups(&derive(&task, now)), roll_ups(&derive(&task, now)));
}

// Properties over random tasks, reports and clocks.

const POOL: [&str; 6] = [
    DISTRICT_GROUP,
    "UBND huyện Ba Tơ",
    "ubnd huyện ba tơ",
    "Sở TT&TT",
    "Các Sở, ban, ngành tỉnh",
    "UBND huyện Lý Sơn",
];

fn arbitrary_timeframe() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("Hằng năm".to_owned())),
        Just(Some("Thường xuyên".to_owned())),
        Just(Some("khi có yêu cầu".to_owned())),
        (2022i32..=2026).prop_map(|year| Some(year.to_string())),
        (2022i32..=2026, 0i32..3)
            .prop_map(|(from, span)| Some(format!("{from} - {}", from + span))),
    ]
}

fn arbitrary_period() -> impl Strategy<Value = ReportingPeriod> {
    (2022i32..=2026, 0u8..=4).prop_map(|(year, q)| {
        if q == 0 {
            ReportingPeriod::Year(year)
        } else {
            quarter(year, q)
        }
    })
}

/// Seconds from 2022-01-01 to the end of 2026.
const SPAN: i64 = 5 * 366 * 24 * 3600;
const ORIGIN: OffsetDateTime = datetime!(2022-01-01 00:00 +07:00);

fn arbitrary_task() -> impl Strategy<Value = TaskState> {
    (
        arbitrary_timeframe(),
        proptest::collection::vec(0usize..POOL.len(), 1..4),
        proptest::collection::vec((arbitrary_period(), 0usize..POOL.len(), 0i64..SPAN), 0..25),
    )
        .prop_map(|(timeframe, leads, reports)| {
            let leads: Vec<&str> = leads.into_iter().map(|i| POOL[i]).collect();
            let reports = reports
                .into_iter()
                .map(|(period, by, at)| report(period, POOL[by], ORIGIN + Duration::seconds(at)))
                .collect();
            task(timeframe.as_deref(), &leads, reports)
        })
}

fn rank(status: ObligationStatus) -> u8 {
    match status {
        ObligationStatus::Pending | ObligationStatus::Extended => 0,
        ObligationStatus::Overdue => 1,
        ObligationStatus::ReportedOnTime { .. } | ObligationStatus::ReportedLate { .. } => 2,
    }
}

proptest! {
    #[test]
    fn no_agency_owes_a_period_twice_and_the_order_holds(
        task in arbitrary_task(),
        now in 0i64..SPAN,
    ) {
        let found = derive(&task, ORIGIN + Duration::seconds(now));
        let mut keys: Vec<(ReportingPeriod, String)> = found
            .iter()
            .map(|o| (o.period().unwrap(), o.agency.match_key()))
            .collect();
        let count = keys.len();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), count);
        for pair in found.windows(2) {
            prop_assert!(
                (pair[0].deadline().unwrap().due, pair[0].period().unwrap(), &pair[0].agency)
                    < (pair[1].deadline().unwrap().due, pair[1].period().unwrap(), &pair[1].agency)
            );
        }
        for roll_up in roll_ups(&found) {
            prop_assert_eq!(
                roll_up.members,
                roll_up.reported_on_time + roll_up.reported_late + roll_up.overdue + roll_up.pending
            );
        }
        let fanned = found.iter().filter(|o| o.via_group.is_some()).count();
        prop_assert_eq!(roll_ups(&found).iter().map(|r| r.members).sum::<usize>(), fanned);
        prop_assert_eq!(&found, &derive(&task, ORIGIN + Duration::seconds(now)));
    }

    #[test]
    fn status_only_moves_forward_as_now_advances(
        task in arbitrary_task(),
        earlier in 0i64..SPAN,
        later in 0i64..SPAN,
    ) {
        let (earlier, later) = (earlier.min(later), earlier.max(later));
        let before = derive(&task, ORIGIN + Duration::seconds(earlier));
        let after = derive(&task, ORIGIN + Duration::seconds(later));
        for old in &before {
            let new = after
                .iter()
                .find(|o| o.period().unwrap() == old.period().unwrap() && o.agency == old.agency);
            prop_assert!(new.is_some(), "{} {} disappeared", old.agency, old.period().unwrap());
            let new = new.unwrap();
            prop_assert!(rank(new.status) >= rank(old.status), "{:?} -> {:?}", old.status, new.status);
            if rank(old.status) == 2 {
                prop_assert_eq!(new.status, old.status);
            }
            if old.status == ObligationStatus::Overdue {
                prop_assert!(
                    !matches!(new.status, ObligationStatus::ReportedOnTime { .. }),
                    "overdue became on time: {:?}",
                    new.status
                );
            }
        }
    }
}
