//! Importing seed 004's Phụ lục 2 through gRPC.

use crate::support::{import_seed_004, list_all, spawn_dondoc, spawn_dondoc_with, TestNats};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_seed_004_gives_its_76_tasks_through_grpc() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;

    let summary = import_seed_004(&mut client, "qng-189-2022").await;
    assert_eq!(summary.task_ids.len(), 76);
    assert_eq!(summary.tasks_created, 76);

    let tasks = list_all(&mut client, "qng-189-2022", summary.stream_sequence).await;
    assert_eq!(tasks.len(), 76);
    let ids: Vec<&str> = tasks.iter().map(|task| task.task_id.as_str()).collect();
    let imported: Vec<&str> = summary.task_ids.iter().map(String::as_str).collect();
    assert_eq!(ids, imported, "listed in appendix order");

    let rows: Vec<&str> = tasks.iter().map(|task| task.row_number.as_str()).collect();
    assert_eq!(rows.first(), Some(&"1.1"));
    assert_eq!(rows.last(), Some(&"10.5"));
    assert_eq!(
        rows.iter().filter(|row| **row == "6.1").count(),
        2,
        "both 6.1 rows are tasks"
    );
    assert_eq!(
        rows.iter().filter(|row| **row == "8.4").count(),
        2,
        "both 8.4 rows are tasks"
    );
    let sections: std::collections::BTreeSet<&str> = tasks
        .iter()
        .map(|task| task.section_number.as_str())
        .collect();
    assert_eq!(sections.len(), 10);

    let row_3_2 = tasks.iter().find(|task| task.row_number == "3.2").unwrap();
    // Canonical names from the agency directory; the cell as written is kept beside them.
    assert_eq!(
        row_3_2.lead_agencies,
        ["Sở, ban, ngành cấp tỉnh", "Ủy ban nhân dân cấp huyện"]
    );
    let source = row_3_2.source.as_ref().unwrap();
    assert_eq!(source.lead_text, "Các Sở, ban, ngành tỉnh; UBND cấp huyện;");
    assert!(
        row_3_2.title.ends_with("ngành"),
        "continuation joined: {}",
        row_3_2.title
    );
    let row_2_6 = tasks.iter().find(|task| task.row_number == "2.6").unwrap();
    assert!(
        row_2_6.title.contains("soát, cập nhật"),
        "{}",
        row_2_6.title
    );
    let row_1_1 = &tasks[0];
    assert_eq!(row_1_1.lead_agencies, ["Sở Thông tin và Truyền thông"]);
    assert_eq!(
        row_1_1.coordinating_agencies,
        ["Sở, ban, ngành cấp tỉnh", "Ủy ban nhân dân cấp huyện"]
    );
    assert_eq!(row_1_1.timeframe.as_ref().unwrap().kind, "plan_year");
    assert_eq!(nats.event_count().await, 76);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_appendix_twice_creates_nothing_new() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;

    let first = import_seed_004(&mut client, "qng").await;
    let mut again = dondoc_api::pb::ImportPlanRequest {
        plan_id: "qng".into(),
        plan_year: 2023,
        source_name: "again.txt".into(),
        content: crate::support::seed_004_text(),
        request_id: "a-different-request".into(),
        actor: "test".into(),
        province: "Quảng Ngãi".into(),
        ..Default::default()
    };
    let second = client
        .import_plan(again.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.tasks_created, 0);
    assert_eq!(second.tasks_unchanged, 76);
    assert_eq!(second.task_ids, first.task_ids, "deterministic task ids");
    // The first import sent again answers with its first outcome; its request id with
    // another document (another source name) is refused: a request id names one request.
    let retried = import_seed_004(&mut client, "qng").await;
    assert_eq!(retried.tasks_created, 76);
    assert_eq!(retried.stream_sequence, first.stream_sequence);
    again.request_id = "import-qng".into();
    let refused = client.import_plan(again).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::AlreadyExists, "{refused}");
    assert_eq!(nats.event_count().await, 76);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_plan_is_imported_on_first_start_only() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut dondoc = spawn_dondoc_with(&nats.url(), data.path(), &["--no-worker"]);
    let mut client = dondoc.client().await;
    let all_samples = 76 + 36 + 5;
    assert_eq!(
        list_all(&mut client, "qng-189-2022", all_samples)
            .await
            .len(),
        76
    );
    assert_eq!(
        list_all(&mut client, "qti-dti-2023", all_samples)
            .await
            .len(),
        36
    );
    let viettel = list_all(&mut client, "qti-viettel-2025", all_samples).await;
    assert_eq!(viettel.len(), 5);
    assert!(
        viettel.iter().all(|task| task
            .extra_columns
            .iter()
            .any(|column| column.header.contains("Viettel"))),
        "the Viettel role column is kept on every task"
    );
    assert!(dondoc.terminate(), "clean exit on SIGTERM");

    let dondoc = spawn_dondoc_with(&nats.url(), data.path(), &["--no-worker"]);
    let mut client = dondoc.client().await;
    assert_eq!(list_all(&mut client, "qng-189-2022", 0).await.len(), 76);
    assert_eq!(nats.event_count().await, all_samples);
}

#[test]
fn the_shipped_samples_are_the_seeds_as_they_stand() {
    let root = crate::support::workspace_root();
    let seeds = root.join("../shared/seeds");
    if !seeds.exists() {
        eprintln!("../shared is not beside this checkout; nothing to compare");
        return;
    }
    for (seed, sample) in [
        ("004_09303d0239868285.txt", "qng-189-kh-ubnd-2022.txt"),
        ("000_3f00891f279c1e57.txt", "qti-dti-2023.txt"),
        ("002_069ffc44a699e7d5.txt", "qti-viettel-2025.txt"),
    ] {
        assert_eq!(
            std::fs::read(seeds.join(seed)).unwrap(),
            std::fs::read(root.join("deploy/samples").join(sample)).unwrap(),
            "deploy/samples/{sample} differs from the seed {seed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_appendix_is_refused_and_changes_nothing() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    import_seed_004(&mut client, "qng").await;

    let cases = [
        ("no table here", "content"),
        (
            "TT\tTên nhiệm vụ\tCơ quan chủ trì\n1.1\tViệc\tSở A\tthừa\tthừa nữa\n",
            "line 2",
        ),
    ];
    for (content, named) in cases {
        let status = client
            .import_plan(dondoc_api::pb::ImportPlanRequest {
                plan_id: "bad".into(),
                plan_year: 2023,
                source_name: "bad.txt".into(),
                content: content.into(),
                request_id: "bad-import".into(),
                actor: "test".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains("bad.txt"),
            "names the file: {}",
            status.message()
        );
        if named != "content" {
            assert!(
                status.message().contains(named),
                "names {named}: {}",
                status.message()
            );
        }
    }
    let status = client
        .import_plan(dondoc_api::pb::ImportPlanRequest {
            plan_id: "Not A Plan".into(),
            plan_year: 2023,
            content: crate::support::seed_004_text(),
            request_id: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("plan_id"), "{}", status.message());
    assert_eq!(nats.event_count().await, 76, "nothing was appended");
}
