//! Re-importing a plan: a revised appendix amends the changed rows and flags the rows it
//! no longer has; nothing is deleted; a row that comes back clears its flag.

use dondoc_api::pb;

use crate::support::{import_seed_004, list_all, seed_004_text, spawn_dondoc, TestNats};

fn import_request(content: String, request_id: &str) -> pb::ImportPlanRequest {
    pb::ImportPlanRequest {
        plan_id: "qng".into(),
        plan_year: 2023,
        source_name: "revised.txt".into(),
        content,
        request_id: request_id.into(),
        actor: "test".into(),
        province: "Quảng Ngãi".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revised_appendix_amends_changed_rows_and_flags_vanished_ones() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let original = import_seed_004(&mut client, "qng").await;

    // Revision: row 1.1 gets another lead; row 10.5 (the last line) is dropped.
    let seed = seed_004_text();
    let revised: String = seed
        .lines()
        .filter(|line| !line.starts_with("10.5\t"))
        .map(|line| {
            if line.starts_with("1.1\t") {
                line.replacen("\tSở TT&TT\t", "\tSở Nội vụ\t", 1)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let summary = client
        .import_plan(import_request(revised.clone(), "revision-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.task_ids.len(), 75);
    assert_eq!(summary.tasks_created, 0);
    assert_eq!(summary.tasks_amended, 1);
    assert_eq!(summary.tasks_unchanged, 74);
    let row_10_5 = original.task_ids.last().unwrap().clone();
    assert_eq!(summary.missing_task_ids, std::slice::from_ref(&row_10_5));
    assert_eq!(nats.event_count().await, 76 + 2);

    let tasks = list_all(&mut client, "qng", summary.stream_sequence).await;
    assert_eq!(tasks.len(), 76, "nothing is deleted");
    let row_1_1 = &tasks[0];
    assert_eq!(row_1_1.lead_agencies, ["Sở Nội vụ"]);
    assert_eq!(row_1_1.amendments.len(), 1);
    assert_eq!(row_1_1.amendments[0].changed, ["lead", "cells"]);
    let vanished = tasks.iter().find(|task| task.task_id == row_10_5).unwrap();
    assert!(vanished.missing_from_appendix);

    // The same revision again records nothing.
    let again = client
        .import_plan(import_request(revised, "revision-1-again"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.tasks_amended, again.tasks_unchanged), (0, 75));
    assert!(again.missing_task_ids.is_empty(), "already flagged");
    assert_eq!(nats.event_count().await, 78);

    // The original again: row 1.1 amended back, row 10.5 back in the appendix.
    let restored = client
        .import_plan(import_request(seed, "restore"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(restored.tasks_amended, 2);
    let tasks = list_all(&mut client, "qng", restored.stream_sequence).await;
    assert!(tasks.iter().all(|task| !task.missing_from_appendix));
    assert_eq!(tasks[0].lead_agencies, ["Sở Thông tin và Truyền thông"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_is_found_by_its_full_name_or_its_abbreviation() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let summary = import_seed_004(&mut client, "qng").await;
    let count = |lead: &str| {
        let request = pb::ListTasksRequest {
            lead_agency: lead.into(),
            province: "Quảng Ngãi".into(),
            page_size: 500,
            min_sequence: summary.stream_sequence,
            ..Default::default()
        };
        let mut client = client.clone();
        async move {
            client
                .list_tasks(request)
                .await
                .unwrap()
                .into_inner()
                .tasks
                .len()
        }
    };
    let by_abbreviation = count("Sở TT&TT").await;
    let by_full_name = count("sở thông tin và truyền thông").await;
    assert_eq!(by_abbreviation, by_full_name);
    // 004 names Sở TT&TT as a lead in these rows (counted in the seed).
    assert!(by_abbreviation >= 40, "{by_abbreviation}");
    // And by its id, the same.
    assert_eq!(count("quang-ngai-so-tttt").await, by_abbreviation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_appendix_as_a_bare_table_or_as_csv_changes_nothing() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    import_seed_004(&mut client, "qng").await;

    let seed = seed_004_text();
    let table_only = seed[seed.find("TT\tTên nhiệm vụ").unwrap()..].to_owned();
    let csv = std::fs::read_to_string(
        crate::support::workspace_root().join("crates/appendix/testdata/qng-189-table.csv"),
    )
    .unwrap();
    for (content, request_id) in [(table_only, "bare-table"), (csv, "as-csv")] {
        let summary = client
            .import_plan(import_request(content, request_id))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(summary.task_ids.len(), 76, "{request_id}");
        assert_eq!(
            (
                summary.tasks_created,
                summary.tasks_amended,
                summary.tasks_unchanged
            ),
            (0, 0, 76),
            "{request_id}"
        );
        assert!(summary.missing_task_ids.is_empty(), "{request_id}");
    }
    assert_eq!(nats.event_count().await, 76);
}
