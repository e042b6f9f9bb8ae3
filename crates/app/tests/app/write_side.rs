//! Two replicas writing one task on a real nats-server: each decides on its cached
//! history first, and a cache behind the log (the other replica appended since) never
//! answers for it: pinned versions, retried request ids and versions come out as the
//! log has them.

use std::sync::Arc;

use dondoc_app::{AppError, CommandMeta, FixedClock, ImportPlan};
use dondoc_domain::{AgencyName, PlanId, RequestId, TaskId};
use dondoc_test_support::TestNats;
use time::macros::datetime;

use crate::support::Replica;

fn meta(request: &str, expected_version: Option<u64>) -> CommandMeta {
    CommandMeta {
        request_id: RequestId::parse(request).unwrap(),
        caller: dondoc_app::Caller::operator("test"),
        expected_version,
    }
}

async fn note(
    replica: &Replica,
    task: TaskId,
    request: &str,
    expected_version: Option<u64>,
) -> Result<dondoc_app::CommandOutcome, AppError> {
    let agency = AgencyName::parse("Sở Nội vụ").unwrap();
    replica
        .tracker
        .commands()
        .record_coordination(
            task,
            &agency,
            "Đã phối hợp",
            &meta(request, expected_version),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_log_decides_again_on_the_logs_history() {
    let nats = TestNats::start_without_fsync();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(datetime!(2023-02-10 09:00 +07:00)));
    let (first, second) = Replica::pair(&nats.url(), dir.path(), &clock, "none").await;
    let summary = first
        .tracker
        .imports()
        .import_plan(&ImportPlan {
            plan_id: PlanId::parse("two-writers").unwrap(),
            plan_year: 2023,
            source_name: "two-writers.tsv".to_owned(),
            content: "TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\tThời gian\n\
                      1\tTriển khai nền tảng số\tSở TT&TT\tSở Nội vụ\t2023-2025\n"
                .to_owned(),
            caller: dondoc_app::Caller::operator("test"),
            request_id: RequestId::parse("import-two-writers").unwrap(),
            province: Some("Quảng Ngãi".to_owned()),
            policy: None,
        })
        .await
        .unwrap();
    let task = summary.task_ids[0];

    // Each replica's cache is warm after its own command; the other's makes it stale.
    assert_eq!(note(&second, task, "b1", None).await.unwrap().version, 2);
    assert_eq!(note(&first, task, "a1", None).await.unwrap().version, 3);
    // The second knows version 2; the log is at 3: a pin at 3 is right, not a conflict.
    let pinned = note(&second, task, "b2", Some(3)).await.unwrap();
    assert_eq!((pinned.version, pinned.unchanged), (4, false));
    // A pin at what the stale cache held is the client's conflict, stated with the log's
    // version.
    note(&first, task, "a2", None).await.unwrap();
    let conflict = note(&second, task, "b3", Some(4)).await.unwrap_err();
    assert!(
        matches!(
            conflict,
            AppError::VersionConflict {
                expected: 4,
                actual: 5,
                ..
            }
        ),
        "{conflict:?}"
    );
    // A request recorded through the first, retried through the second whose cache
    // has not seen it: its own outcome, and no second event.
    let recorded = note(&first, task, "a3", None).await.unwrap();
    let retried = note(&second, task, "a3", None).await.unwrap();
    assert_eq!(
        (retried.version, retried.stream_sequence, retried.unchanged),
        (recorded.version, recorded.stream_sequence, true)
    );
    let after = note(&second, task, "b4", None).await.unwrap();
    assert_eq!(after.version, recorded.version + 1);

    let history = first.log.read_task(None, &task, 0).await.unwrap();
    let versions: Vec<u64> = history
        .events
        .iter()
        .map(|event| event.envelope.version)
        .collect();
    assert_eq!(versions, (1..=after.version).collect::<Vec<_>>());
}
