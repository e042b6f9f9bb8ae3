//! The obligation statistics the projection derives as events arrive, against the
//! derivation from every view: two replicas on one log, one keeping the statistics and
//! one without, give the same scorecards, overdue and upcoming lists (item for item,
//! page by page) at every instant of a scripted history of the shipped sample plans:
//! reports on time and late, extensions, report requests and answers, the deadline
//! worker's marks, and years with nothing recorded on open-ended tasks. Then the
//! statistics kept event by event equal those derived from scratch.

use std::sync::Arc;

use dondoc_app::{
    AgencyTarget, CommandMeta, DeadlineExtension, FixedClock, ImportPlan, PageRequest,
    PeriodFilter, ReadScope, ReportRequestInput, ScorecardQuery, TaskFilter, TaskObligation,
    Tracker, UpcomingQuery,
};
use dondoc_domain::{AgencyName, Duty, PlanId, ReportingPeriod, RequestId, RequestKind, TaskId};
use dondoc_projection::{Derivation, Derived, ProjectionStore, TaskView};
use dondoc_test_support::TestNats;
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{rules, Replica};

const SAMPLES: [(&str, &str, i32, &str); 3] = [
    (
        "qti-dti-2023",
        include_str!("../../../../deploy/samples/qti-dti-2023.txt"),
        2023,
        "Quảng Trị",
    ),
    (
        "qng-189",
        include_str!("../../../../deploy/samples/qng-189-kh-ubnd-2022.txt"),
        2023,
        "Quảng Ngãi",
    ),
    (
        "qti-viettel-2025",
        include_str!("../../../../deploy/samples/qti-viettel-2025.txt"),
        2025,
        "Quảng Trị",
    ),
];

fn meta(request: &str) -> CommandMeta {
    CommandMeta {
        request_id: RequestId::parse(request).unwrap(),
        caller: dondoc_app::Caller::operator("test"),
        expected_version: None,
    }
}

/// Every task of a plan with its first lead.
async fn tasks_of(tracker: &Tracker, plan: &str) -> Vec<(TaskId, AgencyName)> {
    let mut filter = TaskFilter {
        plan_id: Some(PlanId::parse(plan).unwrap()),
        page_size: 500,
        ..Default::default()
    };
    let mut found = Vec::new();
    loop {
        let page = tracker
            .queries()
            .list_tasks(&ReadScope::all("test"), &filter, 0)
            .await
            .unwrap();
        for task in page.tasks {
            let assignment = task.state.assignment.unwrap();
            if let Some(lead) = assignment.details.lead.first() {
                found.push((task.task_id, lead.clone()));
            }
        }
        match page.next_page_token {
            Some(token) => filter.page_token = Some(token),
            None => return found,
        }
    }
}

/// Every page of an overdue list, `page_size` at a time.
async fn all_overdue(
    tracker: &Tracker,
    plan: Option<&PlanId>,
    agency: Option<&AgencyTarget>,
    page_size: usize,
) -> Vec<TaskObligation> {
    let scope = ReadScope::all("test");
    let mut page = PageRequest {
        page_size,
        page_token: None,
    };
    let mut found = Vec::new();
    loop {
        let (_, listed) = tracker
            .queries()
            .overdue_obligations(&scope, plan, agency, &page, 0)
            .await
            .unwrap();
        found.extend(listed.obligations);
        match listed.next_page_token {
            Some(token) => page.page_token = Some(token),
            None => return found,
        }
    }
}

async fn all_upcoming(
    tracker: &Tracker,
    query: &UpcomingQuery,
    page_size: usize,
) -> Vec<TaskObligation> {
    let scope = ReadScope::all("test");
    let mut page = PageRequest {
        page_size,
        page_token: None,
    };
    let mut found = Vec::new();
    loop {
        let listed = tracker
            .queries()
            .upcoming_deadlines(&scope, query, &page, 0)
            .await
            .unwrap();
        found.extend(listed.obligations);
        match listed.next_page_token {
            Some(token) => page.page_token = Some(token),
            None => return found,
        }
    }
}

/// The agencies asked about: the leads of some tasks, and groups with their members.
fn targets(tracker: &Tracker, leads: &[(String, AgencyName)]) -> Vec<AgencyTarget> {
    let agencies = tracker.agencies();
    let mut written: Vec<(String, String)> = leads
        .iter()
        .step_by(23)
        .map(|(province, lead)| (province.clone(), lead.to_string()))
        .collect();
    for (province, name) in [
        ("Quảng Ngãi", "UBND cấp huyện"),
        ("Quảng Ngãi", "UBND huyện Bình Sơn"),
        ("Quảng Trị", "UBND các huyện, thị xã, thành phố"),
        ("Quảng Trị", "Sở Thông tin và Truyền thông"),
    ] {
        written.push((province.to_owned(), name.to_owned()));
    }
    let mut targets: Vec<AgencyTarget> = Vec::new();
    for (province, name) in written {
        if let Ok(target) = agencies.target("agency", &name, Some(&province)) {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    targets
}

async fn assert_same_answers(
    derived: &Tracker,
    plain: &Tracker,
    targets: &[AgencyTarget],
    at: OffsetDateTime,
) {
    let scope = ReadScope::all("test");
    let plans: Vec<Option<PlanId>> = std::iter::once(None)
        .chain(
            SAMPLES
                .iter()
                .map(|(plan, ..)| Some(PlanId::parse(plan).unwrap())),
        )
        .collect();
    let agencies: Vec<Option<&AgencyTarget>> = std::iter::once(None)
        .chain(targets.iter().map(Some))
        .collect();
    let periods = [
        PeriodFilter::default(),
        PeriodFilter {
            period: None,
            year: Some(2023),
        },
        PeriodFilter {
            period: Some(ReportingPeriod::parse("2023-Q2").unwrap()),
            year: None,
        },
    ];
    let mut compared = 0;
    for plan in &plans {
        for (index, agency) in agencies.iter().enumerate() {
            // Every filter for a few; the default one for the others.
            let filters = if index < 3 {
                &periods[..]
            } else {
                &periods[..1]
            };
            for periods in filters {
                for as_of in [None, Some(datetime!(2023-06-30 12:00 +07:00))] {
                    let query = ScorecardQuery {
                        agency: agency.cloned(),
                        plan_id: plan.clone(),
                        periods: *periods,
                        as_of,
                    };
                    let from_statistics = derived
                        .queries()
                        .scorecard(&scope, &query, 0)
                        .await
                        .unwrap();
                    let from_views = plain.queries().scorecard(&scope, &query, 0).await.unwrap();
                    assert_eq!(from_statistics, from_views, "scorecard {query:?} at {at}");
                    compared += 1;
                }
            }
            let overdue = all_overdue(derived, plan.as_ref(), *agency, 7).await;
            let expected = all_overdue(plain, plan.as_ref(), *agency, 5000).await;
            assert_eq!(
                overdue, expected,
                "overdue in {plan:?} for {agency:?} at {at}"
            );
        }
    }
    for agency in targets {
        for within_days in [30, 400] {
            let query = UpcomingQuery {
                agency: agency.clone(),
                from: None,
                to: None,
                within_days,
            };
            let upcoming = all_upcoming(derived, &query, 3).await;
            let expected = all_upcoming(plain, &query, 5000).await;
            assert_eq!(upcoming, expected, "upcoming {query:?} at {at}");
        }
    }
    assert!(compared > 50, "{compared} scorecards compared");
}

/// The statistics' own derivation under another fingerprint: opening a store with it
/// derives every record again from the views.
#[derive(Debug)]
struct FromScratch(Arc<dyn Derivation>);

impl Derivation for FromScratch {
    fn fingerprint(&self) -> Vec<u8> {
        [self.0.fingerprint(), b"-again".to_vec()].concat()
    }

    fn derive(&self, view: &TaskView) -> Derived {
        self.0.derive(view)
    }
}

fn derived_digests(store: &ProjectionStore) -> Vec<dondoc_projection::TreeDigest> {
    store
        .digests()
        .unwrap()
        .into_iter()
        .filter(|digest| digest.tree == "derived_index" || digest.tree == "counters")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_answer_exactly_as_the_derivation_from_every_view() {
    let nats = TestNats::start_without_fsync();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let derived = Replica::start(
        &nats.url(),
        &dir.path().join("derived"),
        clock.clone(),
        rules("none"),
    )
    .await;
    let plain = Replica::start_underived(
        &nats.url(),
        &dir.path().join("plain"),
        clock.clone(),
        rules("none"),
    )
    .await;
    let tracker = &derived.tracker;
    let mut leads = Vec::new();
    let mut tasks = Vec::new();
    for (plan, content, year, province) in SAMPLES {
        tracker
            .imports()
            .import_plan(&ImportPlan {
                plan_id: PlanId::parse(plan).unwrap(),
                plan_year: year,
                source_name: format!("{plan}.txt"),
                content: content.to_owned(),
                caller: dondoc_app::Caller::operator("test"),
                request_id: RequestId::parse(&format!("import-{plan}")).unwrap(),
                province: Some(province.to_owned()),
                policy: None,
            })
            .await
            .unwrap();
        for (task, lead) in tasks_of(tracker, plan).await {
            leads.push((province.to_owned(), lead.clone()));
            tasks.push((task, lead));
        }
    }
    let targets = targets(tracker, &leads);
    assert!(targets.len() > 8, "{targets:?}");
    let commands = tracker.commands();
    let instants = [
        (datetime!(2023-03-20 09:00 +07:00), "2023-Q1"),
        (datetime!(2023-04-05 09:00 +07:00), "2023-Q1"),
        (datetime!(2023-07-01 09:00 +07:00), "2023-Q2"),
        (datetime!(2023-12-25 09:00 +07:00), "2023-Q4"),
        (datetime!(2024-02-01 09:00 +07:00), "2023"),
        (datetime!(2025-06-30 09:00 +07:00), "2025-Q2"),
        // Two years with nothing recorded: open-ended tasks are past their horizon.
        (datetime!(2027-09-01 09:00 +07:00), "2027-Q3"),
    ];
    for (step, (at, period)) in instants.into_iter().enumerate() {
        clock.set(at);
        let period = ReportingPeriod::parse(period).unwrap();
        for (index, (task, lead)) in tasks.iter().enumerate() {
            let request = |what: &str| meta(&format!("{what}-{step}-{index}"));
            // Refusals (a task not open in that period, a group) are part of the script.
            if index % 3 == step % 3 {
                let _ = commands
                    .submit_report(*task, period, lead, "Báo cáo", &request("report"))
                    .await;
            }
            if index % 11 == step {
                let extension = DeadlineExtension {
                    duty: Duty::Periodic { period },
                    agency: None,
                    new_due: at + time::Duration::days(20),
                    reason: "Gia hạn".to_owned(),
                    granted_by: None,
                };
                let _ = commands
                    .extend_deadline(*task, &extension, &request("extend"))
                    .await;
            }
            if index % 13 == step {
                let input = ReportRequestInput {
                    request_key: None,
                    kind: RequestKind::AdHoc,
                    requested_by: None,
                    agencies: vec![lead.clone()],
                    due: at + time::Duration::days(10),
                    subject: "Báo cáo đột xuất".to_owned(),
                };
                if let Ok((_, key)) = commands
                    .request_report(*task, &input, &request("ask"))
                    .await
                {
                    if index % 2 == 0 {
                        let _ = commands
                            .answer_request(*task, &key, lead, "Đã báo cáo", &request("answer"))
                            .await;
                    }
                }
            }
        }
        // Marks too (they change no statistic, but the task's horizon).
        if step < 4 {
            derived.worker.sweep().await.unwrap();
        }
        tracker.queries().catch_up().await.unwrap();
        plain.tracker.queries().catch_up().await.unwrap();
        assert_same_answers(tracker, &plain.tracker, &targets, at).await;
    }

    drop(commands);
    // Kept event by event, the statistics are those derived from scratch.
    let statistics =
        dondoc_app::ObligationStatistics::new(&dondoc_agencies::shipped().unwrap(), &rules("none"));
    let store = derived.stop().await;
    let kept = derived_digests(&store);
    drop(store);
    let again = ProjectionStore::open_with(
        &dir.path().join("derived"),
        Some(Arc::new(FromScratch(statistics))),
    )
    .unwrap();
    assert_eq!(derived_digests(&again), kept);
    assert!(kept.iter().all(|digest| digest.entries > 100), "{kept:?}");
    plain.stop().await;
}
