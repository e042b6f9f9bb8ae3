//! The deadline worker against a real nats-server, with a controlled clock: two workers,
//! each with its own sled projection, sweep 1,000 tasks at the same time; every overdue
//! obligation is marked exactly once, a repeated sweep marks nothing, and a sweep after
//! "downtime" catches up every deadline it missed, with the original deadline on each
//! mark. Reminders go out once each, on the agency's subject, however many workers run.
//! The scheduled loop wakes for deadlines and reminders as the clock reaches them.

use std::sync::Arc;
use std::time::Duration;

use dondoc_app::{FixedClock, ImportPlan, Settled};
use dondoc_domain::{deadline_for, PlanId, ReportingPeriod, ReportingPolicy, RequestId};
use dondoc_eventlog::{EventLog, ReminderChannelOptions};
use dondoc_test_support::TestNats;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::support::{holidays, rules, Replica};

const TASKS: usize = 1000;

fn import(content: String) -> ImportPlan {
    ImportPlan {
        plan_id: PlanId::parse("sweep").unwrap(),
        plan_year: 2023,
        source_name: "generated.txt".to_owned(),
        content,
        caller: dondoc_app::Caller::operator("test"),
        request_id: RequestId::parse("import").unwrap(),
        province: Some("Quảng Ngãi".to_owned()),
        policy: None,
    }
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
    let nats = TestNats::start();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let (first, second) = Replica::pair(&nats.url(), dir.path(), &clock, "none").await;
    let summary = first
        .tracker
        .imports()
        .import_plan(&import(appendix()))
        .await
        .unwrap();
    assert_eq!(summary.created, TASKS);

    // 1 April 2023: only Q1's deadline (late from 25 March) has passed.
    clock.set(datetime!(2023-04-01 00:00 +07:00));
    let (a, b) = tokio::join!(first.worker.sweep(), second.worker.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.overdue, TASKS);
    assert_eq!(a.marked + b.marked, TASKS, "{a:?} {b:?}");
    let log = &first.log;
    assert_eq!(log.event_count().await.unwrap(), 2 * TASKS as u64);

    // Sweeping again, from either worker, records nothing.
    let again = second.worker.sweep().await.unwrap();
    assert_eq!((again.overdue, again.marked), (TASKS, 0));
    assert_eq!(log.event_count().await.unwrap(), 2 * TASKS as u64);

    // "Downtime" until 15 January 2024: Q2, Q3, the 2023 yearly report and Q4 are all due.
    clock.set(datetime!(2024-01-15 00:00 +07:00));
    let caught_up = first.worker.sweep().await.unwrap();
    assert_eq!(caught_up.marked, 4 * TASKS);
    assert_eq!(log.event_count().await.unwrap(), 6 * TASKS as u64);

    let policy = ReportingPolicy::preset("default").unwrap();
    let holidays = holidays();
    let queries = second.tracker.queries();
    // Thousands of marks to apply: bounded by the projection's progress, not a fixed wait.
    queries.catch_up().await.unwrap();
    for task_id in summary.task_ids.iter().step_by(97) {
        let view = queries
            .task(&dondoc_app::ReadScope::all("test"), *task_id, 6)
            .await
            .unwrap();
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
}

fn small_appendix(tasks: usize) -> String {
    let mut text = String::from("TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n");
    for row in 1..=tasks {
        text.push_str(&format!("{row}\tNhiệm vụ số {row}\tSở TT&TT\tSở Nội vụ\n"));
    }
    text
}

async fn event_types(log: &EventLog) -> Vec<String> {
    use futures::StreamExt;
    let last = log.last_sequence().await.unwrap();
    let mut events = log.follow(1).await.unwrap();
    let mut types = Vec::new();
    while let Some(event) = events.next().await {
        let record = event.unwrap();
        if let dondoc_eventlog::LogRecord::Event(event) = &record {
            types.push(event.envelope.event.type_name().to_owned());
        }
        if record.sequence() >= last {
            break;
        }
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_send_each_reminder_once_on_the_agency_subject() {
    const TASKS: usize = 200;
    let nats = TestNats::start();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let (first, second) = Replica::pair(&nats.url(), dir.path(), &clock, "7d,3d,1d").await;
    first
        .tracker
        .imports()
        .import_plan(&import(small_appendix(TASKS)))
        .await
        .unwrap();

    // 20 March 2023: the 7-day reminder of Q1 (due 25 March, 00:00) is due, the 3-day not yet.
    clock.set(datetime!(2023-03-20 09:00 +07:00));
    let (a, b) = tokio::join!(first.worker.sweep(), second.worker.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.reminded + b.reminded, TASKS, "{a:?} {b:?}");
    assert_eq!(a.marked + b.marked, 0);

    let log = &first.log;
    let reminders = log
        .reminder_channel(&ReminderChannelOptions::default())
        .await
        .unwrap();
    // The lead's reminders are on its directory id's subject.
    let token = "quang-ngai-so-tttt";
    let delivered = reminders.read_subject(token).await.unwrap();
    assert_eq!(
        delivered.len(),
        TASKS,
        "one message per reminder on {token}"
    );
    let message: serde_json::Value = serde_json::from_slice(&delivered[0].1).unwrap();
    assert_eq!(message["agency"], "Sở Thông tin và Truyền thông");
    assert_eq!(message["period"], "2023-Q1");
    assert_eq!(message["due"], "2023-03-25T00:00:00+07:00");
    assert_eq!(message["seconds_before_due"], 7 * 24 * 3600);

    // Again, from either worker: nothing new.
    let again = second.worker.sweep().await.unwrap();
    assert_eq!(again.reminded, 0);
    assert_eq!(reminders.count().await.unwrap(), TASKS as u64);

    // 23 March: the 3-day reminder; 25 March: overdue, and no 1-day reminder after the fact.
    clock.set(datetime!(2023-03-23 09:00 +07:00));
    let third_day = first.worker.sweep().await.unwrap();
    assert_eq!(third_day.reminded, TASKS);
    clock.set(datetime!(2023-03-25 00:00 +07:00));
    let overdue = second.worker.sweep().await.unwrap();
    assert_eq!((overdue.reminded, overdue.marked), (0, TASKS));
    assert_eq!(reminders.count().await.unwrap(), 2 * TASKS as u64);

    let types = event_types(log).await;
    let count = |name: &str| types.iter().filter(|t| t.as_str() == name).count();
    assert_eq!(count("reminder_sent"), 2 * TASKS);
    assert_eq!(count("task_overdue"), TASKS);
}

/// Waits until the running worker has done all the work due at `clock` with every event
/// the log holds applied, and returns how many events the log holds then.
async fn settled_at(
    settled: &mut watch::Receiver<Option<Settled>>,
    log: &EventLog,
    clock: OffsetDateTime,
) -> u64 {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let last = log.last_sequence().await.unwrap();
        let done = matches!(*settled.borrow_and_update(),
            Some(Settled { clock: at, applied, .. }) if at >= clock && applied >= last);
        if done {
            return log.event_count().await.unwrap();
        }
        tokio::time::timeout_at(give_up, settled.changed())
            .await
            .expect("the worker settles")
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_worker_wakes_for_reminders_and_deadlines_as_the_clock_reaches_them() {
    const TASKS: usize = 20;
    let nats = TestNats::start();
    let dir = tempfile::tempdir().unwrap();
    let start = datetime!(2023-03-17 12:00 +07:00);
    let clock = Arc::new(FixedClock::new(start));
    let mut replica = Replica::start(
        &nats.url(),
        &dir.path().join("worker"),
        clock.clone(),
        rules("7d,3d,1d"),
    )
    .await;
    let worker = replica
        .worker
        .clone()
        .with_max_nap(Duration::from_millis(50));
    let mut settled = worker.settled();
    let (stop, stopped) = watch::channel(false);
    let loop_task = tokio::spawn(worker.run(replica.changes.take().unwrap(), stopped));
    // Imported after the worker started: the agenda learns of the tasks from the feeder.
    replica
        .tracker
        .imports()
        .import_plan(&import(small_appendix(TASKS)))
        .await
        .unwrap();
    let log = &replica.log;
    // Nothing is due on 17 March: the worker sleeps.
    assert_eq!(settled_at(&mut settled, log, start).await, TASKS as u64);

    let seven_days_before = datetime!(2023-03-18 00:00 +07:00);
    clock.set(seven_days_before);
    assert_eq!(
        settled_at(&mut settled, log, seven_days_before).await,
        2 * TASKS as u64,
        "one 7-day reminder per task"
    );

    // Straight past the deadline: the 3- and 1-day reminders are skipped, the marks recorded.
    let due = datetime!(2023-03-25 00:00 +07:00);
    clock.set(due);
    assert_eq!(
        settled_at(&mut settled, log, due).await,
        3 * TASKS as u64,
        "one overdue mark per task"
    );

    let _ = stop.send(true);
    loop_task.await.unwrap();
    let types = event_types(log).await;
    assert_eq!(
        types.iter().filter(|t| *t == "reminder_sent").count(),
        TASKS
    );
    assert_eq!(types.iter().filter(|t| *t == "task_overdue").count(), TASKS);
}
