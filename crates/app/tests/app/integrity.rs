//! Tamper evidence and rebuild-and-compare against a real nats-server: every event the
//! tracker and the deadline worker append is sealed into its task's chain, the stored
//! bytes verify, and a projection rebuilt from the stream after a long scripted history
//! digests exactly like the live one.

use std::sync::Arc;

use dondoc_app::{rebuild_and_compare, CommandMeta, FixedClock, ImportPlan};
use dondoc_domain::{AgencyName, ChainVerifier, PlanId, ReportingPeriod, RequestId};
use dondoc_test_support::TestNats;
use time::macros::datetime;

use crate::support::{rules, Replica};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_appended_event_is_sealed_and_a_rebuilt_projection_matches_the_live_one() {
    // Thousands of appends, and nothing here is about durability.
    let nats = TestNats::start_without_fsync();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-01-10 09:00 +07:00)));
    let replica = Replica::start(
        &nats.url(),
        &dir.path().join("live"),
        clock.clone(),
        rules("7d,3d,1d"),
    )
    .await;
    let tracker = &replica.tracker;
    let log = replica.log.clone();

    // A scripted history: seed 004's appendix, reports through 2023, a revision of the
    // appendix, and the deadline worker's marks and reminders.
    let seed = include_str!("../../../../deploy/samples/qng-189-kh-ubnd-2022.txt");
    let import = |content: &str, request: &str| ImportPlan {
        plan_id: PlanId::parse("qng").unwrap(),
        plan_year: 2023,
        source_name: "004.txt".to_owned(),
        content: content.to_owned(),
        caller: dondoc_app::Caller::operator("test"),
        request_id: RequestId::parse(request).unwrap(),
        province: Some("Quảng Ngãi".to_owned()),
        policy: None,
    };
    let imports = tracker.imports();
    let commands = tracker.commands();
    let summary = imports
        .import_plan(&import(seed, "import-1"))
        .await
        .unwrap();
    let worker = &replica.worker;
    let lead = AgencyName::parse("Sở Thông tin và Truyền thông").unwrap();
    for (month, quarter) in [(3, 1), (6, 2)] {
        clock.set(
            datetime!(2023-01-20 09:00 +07:00)
                .replace_month(time::Month::try_from(month).unwrap())
                .unwrap(),
        );
        for (index, task_id) in summary.task_ids.iter().enumerate().step_by(3) {
            let period = ReportingPeriod::Quarter {
                year: 2023,
                quarter,
            };
            let meta = CommandMeta {
                request_id: RequestId::parse(&format!("report-{quarter}-{index}")).unwrap(),
                caller: dondoc_app::Caller::operator("test"),
                expected_version: None,
            };
            // Some tasks are not led by this agency or not open then: refusals are fine.
            let _ = commands
                .submit_report(
                    *task_id,
                    period,
                    &lead,
                    &format!("Báo cáo quý {quarter}"),
                    &meta,
                )
                .await;
        }
        worker.sweep().await.unwrap();
    }
    let revised = seed.replacen("Tuần lễ Chuyển đổi số", "Tuần lễ Chuyển đổi số tỉnh", 1);
    imports
        .import_plan(&import(&revised, "import-2"))
        .await
        .unwrap();
    clock.set(datetime!(2024-01-15 09:00 +07:00));
    worker.sweep().await.unwrap();

    // Every stored record is signed by the key on record and sealed, and every chain
    // holds.
    let records = nats.stored_records().await;
    let mut verifier = ChainVerifier::new();
    for (sequence, _, payload) in &records {
        verifier
            .push_at(&format!("sequence {sequence}"), Some(*sequence), payload)
            .unwrap();
    }
    let verified = verifier.finish().unwrap();
    assert!(verified.findings.is_empty(), "{:?}", verified.findings);
    assert_eq!(verified.summary.records, records.len() as u64);
    assert_eq!(verified.summary.signed, records.len() as u64, "all signed");
    assert_eq!(verified.summary.key_records, 1);
    let summary = verifier.summary();
    assert_eq!(summary.events, nats.event_count().await);
    assert_eq!(summary.sealed, summary.events);
    assert_eq!(summary.tasks, 76);
    assert!(summary.events > 1000, "a long history: {summary:?}");

    // The live projection, stopped, against one rebuilt from the stream. Caught up with
    // the whole log first: bounded by its progress, not by a fixed wait (a slow machine
    // applies thousands of events in more than the read-your-writes bound).
    tracker.queries().catch_up().await.unwrap();
    let live = replica.stop().await;
    let scratch = tempfile::tempdir().unwrap();
    let statistics = dondoc_app::ObligationStatistics::new(
        &dondoc_agencies::shipped().unwrap(),
        &super::support::rules("none"),
    );
    let comparison = rebuild_and_compare(&log, &live, scratch.path(), Some(statistics))
        .await
        .unwrap();
    assert_eq!(comparison.checkpoint, log.last_sequence().await.unwrap());
    assert!(comparison.matches(), "{:?}", comparison.differing_trees());
    assert_eq!(comparison.live[0].entries, 76);
}
