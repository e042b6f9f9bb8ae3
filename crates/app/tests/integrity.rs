//! Tamper evidence and rebuild-and-compare against a real nats-server: every event the
//! tracker and the deadline worker append is sealed into its task's chain, the stored
//! bytes verify, and a projection rebuilt from the stream after a long scripted history
//! digests exactly like the live one.

use std::sync::Arc;

use dondoc_app::{
    rebuild_and_compare, CommandMeta, DeadlineRules, DeadlineWorker, FixedClock, ImportPlan,
    ProjectionFeeder, Tracker,
};
use dondoc_domain::calendar::HolidayCalendar;
use dondoc_domain::chain::ChainVerifier;
use dondoc_domain::{AgencyName, PlanId, ReportingPeriod, RequestId, TaskCommand};
use dondoc_eventlog::{EventLog, EventLogOptions, ReminderChannelOptions};
use dondoc_nats_embed::{locate_nats_server, NatsServer, NatsServerOptions};
use dondoc_projection::ProjectionStore;
use futures::StreamExt;
use time::macros::datetime;
use tokio::sync::watch;

/// Every stored event's exact bytes, in stream order.
async fn stored_payloads(nats_url: &str) -> Vec<(u64, Vec<u8>)> {
    let client = async_nats::connect(nats_url).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream.get_stream("DONDOC_EVENTS").await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut payloads = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let sequence = message.info().unwrap().stream_sequence;
        payloads.push((sequence, message.payload.to_vec()));
        if sequence >= last {
            break;
        }
    }
    payloads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_appended_event_is_sealed_and_a_rebuilt_projection_matches_the_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
    let mut options = NatsServerOptions::in_data_dir(binary, &dir.path().join("nats"));
    // Thousands of appends, and nothing here is about durability.
    options.sync_always = false;
    let nats = NatsServer::start(&options).unwrap();
    let log = EventLog::connect(nats.client_url(), &EventLogOptions::default())
        .await
        .unwrap();
    let live = ProjectionStore::open(&dir.path().join("live")).unwrap();
    let (feeder, progress) = ProjectionFeeder::new(log.clone(), live.clone()).unwrap();
    let (stop_feeder, feeder_stopped) = watch::channel(false);
    let feeder_task = tokio::spawn(feeder.run(feeder_stopped));
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let tracker = Tracker::new(
        log.clone(),
        live.clone(),
        progress,
        clock.clone(),
        Arc::new(dondoc_agencies::shipped().unwrap()),
    );

    // A scripted history: seed 004's appendix, reports through 2023, a revision of the
    // appendix, and the deadline worker's marks and reminders.
    let seed = include_str!("../../../deploy/samples/qng-189-kh-ubnd-2022.txt");
    let import = |content: &str, request: &str| ImportPlan {
        plan_id: PlanId::parse("qng").unwrap(),
        plan_year: 2023,
        source_name: "004.txt".to_owned(),
        content: content.to_owned(),
        actor: "test".to_owned(),
        request_id: RequestId::parse(request).unwrap(),
        province: Some("Quảng Ngãi".to_owned()),
        policy: None,
    };
    let summary = tracker
        .import_plan(&import(seed, "import-1"))
        .await
        .unwrap();
    let rules = Arc::new(DeadlineRules::new(
        HolidayCalendar::from_json(include_str!("../../../deploy/holidays/vn.json")).unwrap(),
    ));
    let reminders = log
        .reminder_channel(&ReminderChannelOptions::default())
        .await
        .unwrap();
    let worker = DeadlineWorker::new(tracker.clone(), rules, reminders);
    let lead = AgencyName::parse("Sở Thông tin và Truyền thông").unwrap();
    for (month, quarter) in [(3, 1), (6, 2)] {
        clock.set(
            datetime!(2023-01-20 09:00 +07:00)
                .replace_month(time::Month::try_from(month).unwrap())
                .unwrap(),
        );
        for (index, task_id) in summary.task_ids.iter().enumerate().step_by(3) {
            let command = TaskCommand::SubmitReport {
                period: ReportingPeriod::Quarter {
                    year: 2023,
                    quarter,
                },
                reported_by: lead.clone(),
                content: format!("Báo cáo quý {quarter}"),
            };
            let meta = CommandMeta {
                request_id: RequestId::parse(&format!("report-{quarter}-{index}")).unwrap(),
                actor: "test".to_owned(),
                expected_version: None,
            };
            // Some tasks are not led by this agency or not open then: refusals are fine.
            let _ = tracker.execute(*task_id, None, &command, &meta).await;
        }
        worker.sweep().await.unwrap();
    }
    let revised = seed.replacen("Tuần lễ Chuyển đổi số", "Tuần lễ Chuyển đổi số tỉnh", 1);
    tracker
        .import_plan(&import(&revised, "import-2"))
        .await
        .unwrap();
    clock.set(datetime!(2024-01-15 09:00 +07:00));
    worker.sweep().await.unwrap();

    // Every stored event is sealed, and every chain holds.
    let payloads = stored_payloads(nats.client_url()).await;
    let mut verifier = ChainVerifier::new();
    for (sequence, payload) in &payloads {
        verifier
            .push(&format!("sequence {sequence}"), payload)
            .unwrap();
    }
    let summary = verifier.summary();
    assert_eq!(summary.events, payloads.len() as u64);
    assert_eq!(summary.sealed, summary.events);
    assert_eq!(summary.tasks, 76);
    assert!(summary.events > 1000, "a long history: {summary:?}");

    // The live projection, stopped, against one rebuilt from the stream.
    tracker
        .wait_for_sequence(log.last_sequence().await.unwrap())
        .await
        .unwrap();
    let _ = stop_feeder.send(true);
    feeder_task.await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let comparison = rebuild_and_compare(&log, &live, scratch.path())
        .await
        .unwrap();
    assert_eq!(comparison.checkpoint, log.last_sequence().await.unwrap());
    assert!(comparison.matches(), "{:?}", comparison.differing_trees());
    assert_eq!(comparison.live[0].entries, 76);
    nats.stop().unwrap();
}
