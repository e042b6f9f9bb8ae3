//! Crashes: `dondoc up` killed with SIGKILL in the middle of a burst of commands, then
//! restarted on the same data directory. Nothing acknowledged may be lost, nothing may
//! be applied twice, and the projection must agree with the stream.

use std::collections::BTreeMap;

use crate::support::{
    import_seed_004, list_all, report, spawn_dondoc, spawn_dondoc_with, TestNats,
};
use dondoc_api::pb;
use futures::StreamExt;

/// Events per task id, counted from the stream itself.
async fn events_per_task(nats: &TestNats) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (_, subject, _) in nats.stored_records().await {
        if let Some(task) = subject.strip_prefix("dondoc.events.task.") {
            let task_id = task.rsplit('.').next().unwrap().to_owned();
            *counts.entry(task_id).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_nothing_acknowledged_and_doubles_nothing() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let task_ids = import_seed_004(&mut client, "qng").await.task_ids;

    // A burst of reports, 4 quarters on each task, 8 in flight at a time; the server is
    // killed while it runs.
    let channel = dondoc.channel().await;
    let requests: Vec<pb::SubmitReportRequest> = (1..=4u8)
        .flat_map(|quarter| {
            task_ids.iter().map(move |task_id| {
                report(
                    task_id,
                    &format!("burst-{task_id}-{quarter}"),
                    quarter,
                    None,
                )
            })
        })
        .collect();
    let burst = {
        let requests = requests.clone();
        tokio::spawn(async move {
            futures::stream::iter(requests)
                .map(|request| {
                    let mut client = dondoc_api::TaskServiceClient::new(channel.clone());
                    async move {
                        let request_id = request.request_id.clone();
                        (
                            request_id,
                            client.submit_report(request).await.map(|r| r.into_inner()),
                        )
                    }
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await
        })
    };
    // Kill once a good part of the burst is in the stream.
    let target = 76 + requests.len() as u64 / 3;
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while nats.event_count().await < target {
        assert!(
            std::time::Instant::now() < give_up,
            "the burst stalled before the kill"
        );
        tokio::task::yield_now().await;
    }
    dondoc.kill_9();
    let outcomes = burst.await.unwrap();
    let acknowledged: BTreeMap<String, u64> = outcomes
        .iter()
        .filter_map(|(request_id, outcome)| {
            outcome
                .as_ref()
                .ok()
                .map(|r| (request_id.clone(), r.version))
        })
        .collect();
    assert!(!acknowledged.is_empty());
    assert!(
        acknowledged.len() < requests.len(),
        "the kill interrupted the burst"
    );

    // Restart on the same data directory: the projection resumes after its checkpoint.
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let last_sequence = nats.last_sequence().await;
    let tasks = list_all(&mut client, "qng", last_sequence).await;
    assert_eq!(tasks.len(), 76);

    let stream_counts = events_per_task(&nats).await;
    let total_events: u64 = stream_counts.values().sum();
    assert_eq!(total_events, nats.event_count().await);
    let mut reports_in_projection = 0;
    for task in &tasks {
        // The projection holds exactly the stream's events of each task, once each.
        assert_eq!(
            task.version, stream_counts[&task.task_id],
            "task {}",
            task.task_id
        );
        assert_eq!(task.reports.len() as u64, task.version - 1);
        let mut periods: Vec<&str> = task.reports.iter().map(|r| r.period.as_str()).collect();
        periods.sort_unstable();
        periods.dedup();
        assert_eq!(
            periods.len(),
            task.reports.len(),
            "no report doubled on {}",
            task.task_id
        );
        reports_in_projection += task.reports.len();
    }
    assert_eq!(total_events, 76 + reports_in_projection as u64);
    // Every acknowledged command is in the log.
    assert!(reports_in_projection >= acknowledged.len());

    // Retrying the whole burst with the same request ids completes it without doubles.
    let channel = dondoc.channel().await;
    for request in &requests {
        let mut client = dondoc_api::TaskServiceClient::new(channel.clone());
        let response = client
            .submit_report(request.clone())
            .await
            .unwrap()
            .into_inner();
        if let Some(version) = acknowledged.get(&request.request_id) {
            assert!(response.unchanged);
            assert_eq!(
                response.version, *version,
                "an acknowledged version never changes"
            );
        }
    }
    assert_eq!(nats.event_count().await, 76 + requests.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_projection_is_rebuilt_from_the_stream() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let task_ids = import_seed_004(&mut client, "qng").await.task_ids;
    for (index, task_id) in task_ids.iter().enumerate().take(20) {
        client
            .submit_report(report(task_id, &format!("r-{index}"), 1, None))
            .await
            .unwrap();
    }
    let before = list_all(&mut client, "qng", nats.last_sequence().await).await;
    assert!(dondoc.terminate());

    let dondoc = spawn_dondoc_with(
        &nats.url(),
        data.path(),
        &["--no-sample", "--no-worker", "--rebuild-projection"],
    );
    let mut client = dondoc.client().await;
    let after = list_all(&mut client, "qng", nats.last_sequence().await).await;
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_appends_nothing_and_serves_once_it_has_caught_up() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    // A store with no sample plan in it: a log of record of someone's own plans.
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let task_ids = import_seed_004(&mut client, "mine").await.task_ids;
    for (index, task_id) in task_ids.iter().enumerate().take(30) {
        client
            .submit_report(report(task_id, &format!("r-{index}"), 1, None))
            .await
            .unwrap();
    }
    let before = list_all(&mut client, "mine", nats.last_sequence().await).await;
    assert!(dondoc.terminate());
    let stored = nats.event_count().await;

    // Rebuilt without --no-sample: the samples are not imported into this log.
    let dondoc = spawn_dondoc_with(
        &nats.url(),
        data.path(),
        &["--no-worker", "--rebuild-projection"],
    );
    assert_eq!(
        nats.event_count().await,
        stored,
        "a rebuild appends nothing"
    );
    // Listening means caught up: a read that waits for nothing sees every task as it was.
    let mut client = dondoc.client().await;
    assert_eq!(list_all(&mut client, "mine", 0).await, before);
    for sample in ["qng-189-2022", "qti-dti-2023", "qti-viettel-2025"] {
        assert!(
            list_all(&mut client, sample, 0).await.is_empty(),
            "{sample}"
        );
    }
}
