//! The overdue sweep against a real nats-server: two trackers, each with its own sled
//! projection, sweep 1,000 tasks at the same time; every overdue obligation is marked
//! exactly once, a repeated sweep marks nothing, and a sweep after "downtime" catches up
//! every deadline it missed, with the original deadline on each mark.

use std::sync::Arc;

use dondoc_agencies::AgencyDirectory;
use dondoc_app::{DeadlineRules, FixedClock, ImportPlan, PlanRules, ProjectionFeeder, Tracker};
use dondoc_domain::calendar::{deadline_for, HolidayCalendar};
use dondoc_domain::{PlanId, ReportingPeriod, ReportingPolicy, RequestId};
use dondoc_eventlog::{EventLog, EventLogOptions};
use dondoc_nats_embed::{locate_nats_server, NatsServer, NatsServerOptions};
use dondoc_projection::ProjectionStore;
use time::macros::datetime;
use tokio::sync::watch;

const TASKS: usize = 1000;

fn directory() -> AgencyDirectory {
    dondoc_agencies::shipped().unwrap()
}

fn holidays() -> HolidayCalendar {
    HolidayCalendar::from_json(include_str!("../../../deploy/holidays/vn.json")).unwrap()
}

fn rules() -> DeadlineRules {
    let default = PlanRules {
        policy: ReportingPolicy::preset("default").unwrap(),
        province: Some("Quảng Ngãi".to_owned()),
    };
    DeadlineRules::new(default, holidays())
}

/// A tracker with its own projection and feeder, as one worker process would have.
async fn tracker(
    nats_url: &str,
    dir: &std::path::Path,
    clock: Arc<FixedClock>,
) -> (Tracker, watch::Sender<bool>) {
    let log = EventLog::connect(nats_url, &EventLogOptions::default())
        .await
        .unwrap();
    let store = ProjectionStore::open(dir).unwrap();
    let (feeder, progress) = ProjectionFeeder::new(log.clone(), store.clone()).unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(feeder.run(stopped));
    (
        Tracker::new(log, store, progress, clock, Arc::new(directory())),
        stop,
    )
}

fn appendix() -> String {
    let mut text =
        String::from("TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n1\tNhóm nhiệm vụ\t\t\n");
    for row in 1..=TASKS {
        text.push_str(&format!(
            "1.{row}\tNhiệm vụ số {row}\tSở TT&TT\tUBND cấp huyện\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sweepers_mark_each_overdue_obligation_exactly_once_and_catch_up_after_downtime() {
    let dir = tempfile::tempdir().unwrap();
    let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
    let nats = NatsServer::start(&NatsServerOptions::in_data_dir(
        binary,
        &dir.path().join("nats"),
    ))
    .unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let (first, _stop_first) =
        tracker(nats.client_url(), &dir.path().join("first"), clock.clone()).await;
    let (second, _stop_second) =
        tracker(nats.client_url(), &dir.path().join("second"), clock.clone()).await;
    let summary = first
        .import_plan(&ImportPlan {
            plan_id: PlanId::parse("sweep").unwrap(),
            plan_year: 2023,
            source_name: "generated.txt".to_owned(),
            content: appendix(),
            actor: "test".to_owned(),
            request_id: RequestId::parse("import").unwrap(),
            province: Some("Quảng Ngãi".to_owned()),
        })
        .await
        .unwrap();
    assert_eq!(summary.created, TASKS);
    let rules = rules();

    // 1 April 2023: only Q1's deadline (late from 25 March) has passed.
    clock.set(datetime!(2023-04-01 00:00 +07:00));
    let (a, b) = tokio::join!(first.sweep_overdue(&rules), second.sweep_overdue(&rules));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.overdue, TASKS);
    assert_eq!(a.marked + b.marked, TASKS, "{a:?} {b:?}");
    let log = EventLog::connect(nats.client_url(), &EventLogOptions::default())
        .await
        .unwrap();
    assert_eq!(log.event_count().await.unwrap(), 2 * TASKS as u64);

    // Sweeping again, from either worker, records nothing.
    let again = second.sweep_overdue(&rules).await.unwrap();
    assert_eq!((again.overdue, again.marked), (TASKS, 0));
    assert_eq!(log.event_count().await.unwrap(), 2 * TASKS as u64);

    // "Downtime" until 15 January 2024: Q2, Q3, the 2023 yearly report and Q4 are all due.
    clock.set(datetime!(2024-01-15 00:00 +07:00));
    let caught_up = first.sweep_overdue(&rules).await.unwrap();
    assert_eq!(caught_up.marked, 4 * TASKS);
    assert_eq!(log.event_count().await.unwrap(), 6 * TASKS as u64);

    let policy = ReportingPolicy::preset("default").unwrap();
    let holidays = holidays();
    second
        .wait_for_sequence(log.last_sequence().await.unwrap())
        .await
        .unwrap();
    for task_id in summary.task_ids.iter().step_by(97) {
        let view = second.get_task(*task_id, 6).await.unwrap();
        assert_eq!(view.state.overdue.len(), 5, "one mark per period");
        for mark in &view.state.overdue {
            let expected = deadline_for(&policy, mark.period, &holidays).unwrap();
            assert_eq!(
                mark.deadline, expected.due,
                "the original deadline of {}",
                mark.period
            );
            assert_eq!(
                mark.agency.as_ref().unwrap().as_str(),
                "Sở Thông tin và Truyền thông"
            );
        }
        let q1 = view.state.overdue.iter().find(|mark| {
            mark.period
                == ReportingPeriod::Quarter {
                    year: 2023,
                    quarter: 1,
                }
        });
        assert_eq!(q1.unwrap().deadline, datetime!(2023-03-25 00:00 +07:00));
    }
    nats.stop().unwrap();
}
