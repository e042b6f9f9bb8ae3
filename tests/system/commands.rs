//! Reports and coordination through gRPC: read-your-writes, optimistic concurrency,
//! idempotent retries, and the status codes of refused commands.

use std::time::Duration;

use crate::support::{eventually, import_seed_004, report, spawn_dondoc, Dondoc, TestNats};
use dondoc_api::pb;
use tonic::Code;

struct Fixture {
    nats: TestNats,
    dondoc: Dondoc,
    _data: tempfile::TempDir,
    task_ids: Vec<String>,
}

async fn imported() -> Fixture {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let summary = import_seed_004(&mut client, "qng").await;
    Fixture {
        nats,
        dondoc,
        _data: data,
        task_ids: summary.task_ids,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_report_is_read_back_with_the_minimum_version() {
    let fixture = imported().await;
    let mut client = fixture.dondoc.client().await;
    let task_id = &fixture.task_ids[0];

    let response = client
        .submit_report(report(task_id, "r-1", 1, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.version, 2);
    assert!(!response.unchanged);

    let task = client
        .get_task(pb::GetTaskRequest {
            task_id: task_id.clone(),
            min_version: response.version,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(task.version, 2);
    assert_eq!(task.reports.len(), 1);
    assert_eq!(task.reports[0].period, "2023-Q1");
    assert_eq!(
        task.reports[0].agency, "Sở Thông tin và Truyền thông",
        "stored under its canonical name"
    );
    assert_eq!(task.reports[0].content, "Báo cáo quý 1");
    assert!(
        task.reports[0].submitted_at.ends_with("+07:00"),
        "{}",
        task.reports[0].submitted_at
    );

    let coordination = client
        .record_coordination(pb::RecordCoordinationRequest {
            task_id: task_id.clone(),
            request_id: "c-1".into(),
            agency: "UBND cấp huyện".into(),
            note: "Đã phối hợp".into(),
            expected_version: Some(2),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(coordination.version, 3);
    let task = client
        .get_task(pb::GetTaskRequest {
            task_id: task_id.clone(),
            min_version: 3,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(task.coordinations[0].agency, "Ủy ban nhân dân cấp huyện");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_commands_on_the_same_version_one_wins_the_other_is_aborted() {
    let fixture = imported().await;
    let channel = fixture.dondoc.channel().await;
    // Several rounds on different tasks, so that both orders of arrival occur.
    for (round, task_id) in fixture.task_ids.iter().take(10).enumerate() {
        let mut first = dondoc_api::TaskServiceClient::new(channel.clone());
        let mut second = dondoc_api::TaskServiceClient::new(channel.clone());
        let (a, b) = tokio::join!(
            first.submit_report(report(task_id, &format!("a-{round}"), 1, Some(1))),
            second.submit_report(report(task_id, &format!("b-{round}"), 2, Some(1))),
        );
        let outcomes = [a, b];
        let wins = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        assert_eq!(wins, 1, "exactly one wins: {outcomes:?}");
        let loser = outcomes.into_iter().find_map(Result::err).unwrap();
        assert_eq!(loser.code(), Code::Aborted, "{loser:?}");
    }
    assert_eq!(fixture.nats.event_count().await, 76 + 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_id_sent_twice_records_one_event() {
    let fixture = imported().await;
    let mut client = fixture.dondoc.client().await;
    let task_id = &fixture.task_ids[1];

    let first = client
        .submit_report(report(task_id, "same", 1, None))
        .await
        .unwrap()
        .into_inner();
    let second = client
        .submit_report(report(task_id, "same", 1, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.version, first.version);
    assert!(second.unchanged);
    assert_eq!(fixture.nats.event_count().await, 77);

    // A retry after other events were recorded answers with the version it produced.
    client
        .submit_report(report(task_id, "other", 2, None))
        .await
        .unwrap();
    let late_retry = client
        .submit_report(report(task_id, "same", 1, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(late_retry.version, first.version);
    assert!(late_retry.unchanged);
    assert_eq!(fixture.nats.event_count().await, 78);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_request_record_one_event() {
    let fixture = imported().await;
    let channel = fixture.dondoc.channel().await;
    let task_id = fixture.task_ids[2].clone();
    let retries = (0..8).map(|_| {
        let mut client = dondoc_api::TaskServiceClient::new(channel.clone());
        let request = report(&task_id, "burst-retry", 1, None);
        async move { client.submit_report(request).await }
    });
    let outcomes = futures::future::join_all(retries).await;
    let versions: Vec<u64> = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every retry succeeds").into_inner().version)
        .collect();
    assert!(versions.iter().all(|version| *version == 2), "{versions:?}");
    assert_eq!(fixture.nats.event_count().await, 77);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_commands_get_the_right_status_codes_and_change_nothing() {
    let fixture = imported().await;
    let mut client = fixture.dondoc.client().await;
    let task_id = &fixture.task_ids[3];

    let not_a_uuid = client
        .submit_report(report("nope", "x1", 1, None))
        .await
        .unwrap_err();
    assert_eq!(not_a_uuid.code(), Code::InvalidArgument);
    assert!(
        not_a_uuid.message().contains("task_id"),
        "{}",
        not_a_uuid.message()
    );

    let unknown = client
        .submit_report(report(
            "00000000-0000-0000-0000-000000000000",
            "x2",
            1,
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    let mut bad_period = report(task_id, "x3", 1, None);
    bad_period.period = "2023-Q5".into();
    let status = client.submit_report(bad_period).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("period"), "{}", status.message());

    let mut empty = report(task_id, "x4", 1, None);
    empty.content = "  ".into();
    let status = client.submit_report(empty).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("content"), "{}", status.message());

    let mut outside = report(task_id, "x5", 1, None);
    outside.period = "2025-Q1".into();
    let status = client.submit_report(outside).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let stale = client
        .submit_report(report(task_id, "x6", 1, Some(7)))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    let missing = client
        .get_task(pb::GetTaskRequest {
            task_id: "00000000-0000-0000-0000-000000000000".into(),
            min_version: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let bad_token = client
        .list_tasks(pb::ListTasksRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument);

    assert_eq!(fixture.nats.event_count().await, 76, "nothing was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_unavailable_while_nats_is_down_and_work_again_after() {
    let mut fixture = imported().await;
    let mut client = fixture.dondoc.client().await;
    let task_id = fixture.task_ids[4].clone();
    let port = fixture.nats.port();

    fixture.nats.stop();
    let status = client
        .submit_report(report(&task_id, "during-outage", 1, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Reads are served by the projection meanwhile.
    let task = client
        .get_task(pb::GetTaskRequest {
            task_id: task_id.clone(),
            min_version: 0,
        })
        .await
        .unwrap();
    assert_eq!(task.into_inner().task.unwrap().version, 1);

    fixture.nats.restart(port);
    // The client reconnects on its own; retry with the same request id until it does.
    let recorded = eventually(
        "recorded once NATS is back",
        Duration::from_secs(10),
        || {
            let mut client = client.clone();
            let task_id = task_id.clone();
            async move {
                match client
                    .submit_report(report(&task_id, "during-outage", 1, None))
                    .await
                {
                    Ok(response) => Ok(response.into_inner()),
                    Err(status) if status.code() == Code::Unavailable => Err(format!("{status:?}")),
                    Err(status) => panic!("unexpected {status:?}"),
                }
            }
        },
    )
    .await;
    assert_eq!(recorded.version, 2);
    assert_eq!(fixture.nats.event_count().await, 77);
}

/// Commands for one task queue in the server: sixteen clients at once on one task, none
/// pinning a version, all succeed, each once, in some order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_clients_on_one_task_all_succeed_without_a_pinned_version() {
    let fixture = imported().await;
    let channel = fixture.dondoc.channel().await;
    let task_id = fixture.task_ids[0].clone();
    let before = fixture.nats.event_count().await;
    let notes = (0..16).map(|client| {
        let mut tasks = dondoc_api::TaskServiceClient::new(channel.clone());
        let task_id = task_id.clone();
        async move {
            tasks
                .record_coordination(pb::RecordCoordinationRequest {
                    task_id,
                    request_id: format!("crowd-{client}"),
                    agency: "Sở Nội vụ".into(),
                    note: format!("Phối hợp lần {client}"),
                    expected_version: None,
                })
                .await
        }
    });
    let outcomes = futures::future::join_all(notes).await;
    let mut versions: Vec<u64> = outcomes
        .into_iter()
        .map(|outcome| outcome.expect("no ABORTED").into_inner().version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..18).collect::<Vec<u64>>(), "one version each");
    assert_eq!(fixture.nats.event_count().await, before + 16);
}
