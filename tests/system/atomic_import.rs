//! Imports are all or nothing, at any size and whatever fails: `dondoc up` or the
//! nats-server killed with SIGKILL at moments drawn at random, a client that gives up
//! (its deadline passes) on a 20,000-row import, a row over a limit. Every observation
//! of a plan's tasks is none or all of them, and sending the import again with the same
//! request id completes it (or answers with its first outcome).

use std::time::Duration;

use crate::support::{eventually, spawn_dondoc, TestNats};
use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::TaskServiceClient;

/// A generated appendix of `rows` tasks, each led by a department the directory knows.
fn appendix(rows: usize) -> String {
    let mut text = String::from("TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n");
    for row in 1..=rows {
        text.push_str(&format!(
            "{row}\tNhiệm vụ số {row}: triển khai nền tảng số\tSở TT&TT\tSở Nội vụ\n"
        ));
    }
    text
}

fn import_request(plan_id: &str, rows: usize, request_id: &str) -> pb::ImportPlanRequest {
    pb::ImportPlanRequest {
        plan_id: plan_id.to_owned(),
        plan_year: 2023,
        source_name: format!("{plan_id}.tsv"),
        content: appendix(rows),
        request_id: request_id.to_owned(),
        actor: "test".to_owned(),
        province: "Quảng Ngãi".to_owned(),
        ..Default::default()
    }
}

/// How many tasks of `plan_id` the read model shows once it has caught up with
/// `min_sequence`, asked until the service answers (it may be reconnecting to a
/// restarted nats-server).
async fn visible_tasks(
    client: &mut TaskServiceClient<ApiChannel>,
    plan_id: &str,
    min_sequence: u64,
) -> usize {
    eventually("the plan's tasks", Duration::from_secs(60), || {
        let mut client = client.clone();
        async move { count_tasks(&mut client, plan_id, min_sequence).await }
    })
    .await
}

async fn count_tasks(
    client: &mut TaskServiceClient<ApiChannel>,
    plan_id: &str,
    min_sequence: u64,
) -> Result<usize, String> {
    let mut count = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tasks(pb::ListTasksRequest {
                plan_id: plan_id.to_owned(),
                page_size: 500,
                page_token: page_token.clone(),
                min_sequence,
                ..Default::default()
            })
            .await
            .map_err(|status| status.to_string())?
            .into_inner();
        count += page.tasks.len();
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        page_token = page.next_page_token;
    }
}

/// A small deterministic generator (xorshift), seeded per run and printed, so a
/// failing trial can be replayed.
struct Draws(u64);

impl Draws {
    fn seeded() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64)
            | 1;
        println!("kill moments drawn with seed {seed}");
        Self(seed)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Waits until the stream holds at least `events` more task events than `base`
/// (or the import is over), so the kill lands at that point of the import.
async fn wait_for_progress(
    nats: &TestNats,
    base: u64,
    events: u64,
    import: &tokio::task::JoinHandle<
        Result<tonic::Response<pb::ImportPlanResponse>, tonic::Status>,
    >,
) {
    eventually(
        "the import reaching the kill moment",
        Duration::from_secs(60),
        || async {
            let stored = nats.event_count().await - base;
            if stored >= events || import.is_finished() {
                Ok(())
            } else {
                Err(format!("{stored} events stored"))
            }
        },
    )
    .await;
}

const ROWS: usize = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_dondoc_or_nats_during_a_3000_row_import_leaves_none_or_all_of_it() {
    let mut nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut draws = Draws::seeded();
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    // Five trials, each its own plan: three kill dondoc, two kill the nats-server.
    for trial in 0..5 {
        let plan_id = format!("big-{trial}");
        let request_id = format!("import-{plan_id}");
        let kill_nats = trial >= 3;
        let base = nats.event_count().await;
        let moment = draws.below(ROWS as u64);
        let mut client = dondoc.client().await;
        let request = import_request(&plan_id, ROWS, &request_id);
        let import = tokio::spawn(async move { client.import_plan(request).await });
        wait_for_progress(&nats, base, moment, &import).await;
        if kill_nats {
            nats.crash_and_restart();
        } else {
            dondoc.kill_9();
        }
        let first_answer = import.await.unwrap();
        if !kill_nats {
            dondoc = spawn_dondoc(&nats.url(), data.path());
        }
        let mut client = dondoc.client().await;
        let last = nats.last_sequence().await;
        let seen = visible_tasks(&mut client, &plan_id, last).await;
        println!(
            "trial {trial}: killed {} after {moment} events; first answer ok: {}; {seen} tasks visible",
            if kill_nats { "nats-server" } else { "dondoc" },
            first_answer.is_ok()
        );
        assert!(
            seen == 0 || seen == ROWS,
            "trial {trial}: {seen} of {ROWS} tasks visible after the kill"
        );
        if let Ok(answer) = &first_answer {
            assert_eq!(answer.get_ref().tasks_created as usize, ROWS);
            assert_eq!(seen, ROWS, "an acknowledged import is visible whole");
        }

        // The same request again completes it, and answers as the first attempt would.
        let retried = eventually("the retried import", Duration::from_secs(120), || {
            let mut client = client.clone();
            let request = import_request(&plan_id, ROWS, &request_id);
            async move {
                client
                    .import_plan(request)
                    .await
                    .map(tonic::Response::into_inner)
                    .map_err(|status| status.to_string())
            }
        })
        .await;
        assert_eq!(retried.tasks_created as usize, ROWS, "trial {trial}");
        assert_eq!(retried.task_ids.len(), ROWS);
        assert_eq!(
            visible_tasks(&mut client, &plan_id, retried.stream_sequence).await,
            ROWS
        );
        // Exactly one assignment per task in the log, however many attempts wrote it.
        assert_eq!(
            nats.event_count().await - base,
            ROWS as u64,
            "trial {trial}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_gives_up_on_a_20000_row_import_does_not_leave_half_of_it() {
    const BIG: usize = 20_000;
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let mut request = tonic::Request::new(import_request("huge", BIG, "import-huge"));
    request.set_timeout(Duration::from_millis(300));
    let status = client.import_plan(request).await.unwrap_err();
    // The client's own timer (CANCELLED) or the server's (DEADLINE_EXCEEDED) ends it.
    assert!(
        matches!(
            status.code(),
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
        ),
        "{status}"
    );

    // The import goes on without its client; every look at the plan sees none or all.
    let mut observations = 0;
    eventually("the whole import", Duration::from_secs(300), || {
        let mut client = client.clone();
        observations += 1;
        async move {
            let seen = count_tasks(&mut client, "huge", 0).await?;
            assert!(seen == 0 || seen == BIG, "{seen} of {BIG} tasks visible");
            if seen == BIG {
                Ok(())
            } else {
                Err(format!("{seen} tasks visible"))
            }
        }
    })
    .await;
    println!("{observations} observations, each none or all");

    let answer = client
        .import_plan(import_request("huge", BIG, "import-huge"))
        .await
        .expect("the same import again")
        .into_inner();
    assert_eq!(answer.tasks_created as usize, BIG, "the first outcome");
    assert_eq!(nats.event_count().await, BIG as u64);

    // The same request id with another appendix is refused, and records nothing.
    let status = client
        .import_plan(import_request("huge", BIG - 1, "import-huge"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status}");
    assert!(status.message().contains("import-huge"), "{status}");
    assert_eq!(nats.event_count().await, BIG as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_over_a_limit_is_refused_naming_it_before_anything_is_written() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let mut request = import_request("oversized", 300, "import-oversized");
    let long_name = "nền tảng số ".repeat(2_000);
    request.content = request.content.replacen(
        "Nhiệm vụ số 201: triển khai nền tảng số",
        &format!("Nhiệm vụ số 201: {long_name}"),
        1,
    );
    let status = client.import_plan(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
    assert!(status.message().contains("201"), "names the row: {status}");
    assert!(
        status.message().contains("20000"),
        "names the limit: {status}"
    );
    assert_eq!(nats.event_count().await, 0, "nothing written");
}
