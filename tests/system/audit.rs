//! The audit API end to end: a real nats-server, a real `dondoc up` (real clock, no
//! worker), small Quảng Ngãi appendices for 2023, and the AuditService over gRPC (and
//! `dondoc audit` as a process). What the live system showed is recorded as the test
//! goes; what the log rebuilds later must equal it.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tonic::Code;

use crate::support::{cli, spawn_dondoc, spawn_dondoc_listening, Dondoc, TestNats};

const HEADER: &str = "TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n1\tNhóm nhiệm vụ\t\t\n";
const PLAN_A: &str = "audit-a";
const PLAN_B: &str = "audit-b";
const TTTT: &str = "Sở TT&TT";
const YTE: &str = "Sở Y tế";
const NOIVU: &str = "Sở Nội vụ";

/// (row, title, lead, coordinators)
type Row = (&'static str, &'static str, &'static str, &'static str);

const ROWS: [Row; 3] = [
    ("1.1", "Triển khai nền tảng số dùng chung", TTTT, YTE),
    ("1.2", "Số hoá hồ sơ sức khoẻ điện tử", YTE, ""),
    ("1.3", "Đào tạo kỹ năng số cho công chức", NOIVU, TTTT),
];

fn appendix(rows: &[Row]) -> String {
    let mut text = HEADER.to_owned();
    for (row, title, lead, coordinators) in rows {
        text.push_str(&format!("{row}\t{title}\t{lead}\t{coordinators}\n"));
    }
    text
}

/// A running stack. Fields drop in order: dondoc first.
/// The stream sequences of the log's task events (its other records, such as import
/// commit records, are not events).
async fn event_sequences(nats: &TestNats) -> Vec<u64> {
    nats.stored_events()
        .await
        .into_iter()
        .map(|(sequence, _)| sequence)
        .collect()
}

struct Stack {
    dondoc: Dondoc,
    tasks: TaskServiceClient<ApiChannel>,
    audit: AuditServiceClient<ApiChannel>,
    nats: TestNats,
    _data: tempfile::TempDir,
}

async fn start() -> Stack {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let channel = dondoc.channel().await;
    Stack {
        dondoc,
        tasks: TaskServiceClient::new(channel.clone()),
        audit: AuditServiceClient::new(channel),
        nats,
        _data: data,
    }
}

async fn import(
    tasks: &mut TaskServiceClient<ApiChannel>,
    plan_id: &str,
    rows: &[Row],
    request_id: &str,
) -> pb::ImportPlanResponse {
    tasks
        .import_plan(pb::ImportPlanRequest {
            plan_id: plan_id.into(),
            plan_year: 2023,
            source_name: "audit.txt".into(),
            content: appendix(rows),
            request_id: request_id.into(),
            actor: "test".into(),
            province: "Quảng Ngãi".into(),
            ..Default::default()
        })
        .await
        .expect("import")
        .into_inner()
}

async fn report(
    tasks: &mut TaskServiceClient<ApiChannel>,
    task_id: &str,
    agency: &str,
    period: &str,
) -> pb::CommandResponse {
    tasks
        .submit_report(pb::SubmitReportRequest {
            task_id: task_id.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            agency: agency.into(),
            period: period.into(),
            content: format!("Báo cáo {period}"),
            expected_version: None,
        })
        .await
        .expect("report")
        .into_inner()
}

async fn coordinate(
    tasks: &mut TaskServiceClient<ApiChannel>,
    task_id: &str,
    agency: &str,
    note: &str,
) -> pb::CommandResponse {
    tasks
        .record_coordination(pb::RecordCoordinationRequest {
            task_id: task_id.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            agency: agency.into(),
            note: note.into(),
            expected_version: None,
        })
        .await
        .expect("coordination")
        .into_inner()
}

async fn replay(
    audit: &mut AuditServiceClient<ApiChannel>,
    request: pb::ReplayRequest,
) -> Vec<pb::AuditEvent> {
    let mut stream = audit.replay(request).await.expect("replay").into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.message().await.expect("replay stream") {
        events.push(event);
    }
    events
}

/// `occurred_at` of the event stored at `sequence` (of `task_id`).
async fn occurred_at(
    audit: &mut AuditServiceClient<ApiChannel>,
    task_id: &str,
    sequence: u64,
) -> String {
    let events = replay(
        audit,
        pb::ReplayRequest {
            task_id: task_id.into(),
            from_sequence: sequence,
            to_sequence: sequence,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].occurred_at.clone()
}

fn parse_instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, tonic::Status>, field: &str) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(&format!("invalid {field}")),
        "the message names {field}: {}",
        status.message()
    );
}

/// (stream sequence, task, version, type) of an event.
type Key = (u64, String, u64, String);

fn key(event: &pb::AuditEvent) -> Key {
    (
        event.stream_sequence,
        event.task_id.clone(),
        event.version,
        event.r#type.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plans_replay_is_exactly_its_events_in_order() {
    let mut stack = start().await;
    let a = import(&mut stack.tasks, PLAN_A, &ROWS, "import-a").await;
    let b = import(&mut stack.tasks, PLAN_B, &ROWS, "import-b").await;
    // The deployment key's record first; then each import: its three events, then its
    // commit record.
    assert_eq!((a.stream_sequence, b.stream_sequence), (5, 9));
    // Commands after the imports, as their answers say (an import appends its tasks
    // concurrently: its events are checked as a set below).
    let mut expected_a: Vec<Key> = Vec::new();
    let mut expected_b: Vec<Key> = Vec::new();
    for period in ["2023-Q1", "2023-Q2"] {
        let done = report(&mut stack.tasks, &a.task_ids[0], TTTT, period).await;
        expected_a.push((
            done.stream_sequence,
            done.task_id,
            done.version,
            "report_submitted".into(),
        ));
        let done = coordinate(&mut stack.tasks, &b.task_ids[0], YTE, period).await;
        expected_b.push((
            done.stream_sequence,
            done.task_id,
            done.version,
            "coordination_recorded".into(),
        ));
        let done = report(&mut stack.tasks, &a.task_ids[1], YTE, period).await;
        expected_a.push((
            done.stream_sequence,
            done.task_id,
            done.version,
            "report_submitted".into(),
        ));
        let done = report(&mut stack.tasks, &b.task_ids[2], NOIVU, period).await;
        expected_b.push((
            done.stream_sequence,
            done.task_id,
            done.version,
            "report_submitted".into(),
        ));
        let done = coordinate(&mut stack.tasks, &a.task_ids[2], TTTT, period).await;
        expected_a.push((
            done.stream_sequence,
            done.task_id,
            done.version,
            "coordination_recorded".into(),
        ));
    }

    let plan_a = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            plan_id: PLAN_A.into(),
            ..Default::default()
        },
    )
    .await;
    let imported = |events: &[pb::AuditEvent], sequences: [u64; 3], task_ids: &[String]| {
        let mut tasks: Vec<&str> = events.iter().map(|event| event.task_id.as_str()).collect();
        tasks.sort_unstable();
        let mut expected: Vec<&str> = task_ids.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(tasks, expected);
        for (event, sequence) in events.iter().zip(sequences) {
            assert_eq!(event.stream_sequence, sequence);
            assert_eq!((event.version, event.r#type.as_str()), (1, "task_assigned"));
        }
    };
    imported(&plan_a[..3], [2, 3, 4], &a.task_ids);
    assert_eq!(plan_a[3..].iter().map(key).collect::<Vec<_>>(), expected_a);
    let plan_b = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            plan_id: PLAN_B.into(),
            ..Default::default()
        },
    )
    .await;
    imported(&plan_b[..3], [6, 7, 8], &b.task_ids);
    assert_eq!(plan_b[3..].iter().map(key).collect::<Vec<_>>(), expected_b);
    let full_a: Vec<Key> = plan_a[..3].iter().map(key).chain(expected_a).collect();

    // Each event's fields are its stored JSON's, and the JSON is the stored bytes.
    let jetstream = stack.nats.jetstream().await;
    let stream = jetstream.get_stream("DONDOC_EVENTS").await.unwrap();
    for event in &plan_a {
        assert_eq!(event.plan_id, PLAN_A);
        let stored = stream.get_raw_message(event.stream_sequence).await.unwrap();
        assert_eq!(stored.payload.as_ref(), event.json.as_bytes());
        let json: serde_json::Value = serde_json::from_str(&event.json).unwrap();
        assert_eq!(json["event_id"], event.event_id.as_str());
        assert_eq!(json["task_id"], event.task_id.as_str());
        assert_eq!(json["version"], event.version);
        assert_eq!(json["type"], event.r#type.as_str());
        assert_eq!(json["occurred_at"], event.occurred_at.as_str());
        assert_eq!(json["actor"], event.actor.as_str());
        assert_eq!(json["request_id"], event.request_id.as_str());
        assert_eq!(json["schema_version"], event.schema_version);
        assert!(!event.stored_at.is_empty());
    }

    // The whole log is both plans' events, in stream order (between them, the
    // imports' commit records); windows are inclusive.
    let all = replay(&mut stack.audit, pb::ReplayRequest::default()).await;
    assert_eq!(
        all.iter()
            .map(|event| event.stream_sequence)
            .collect::<Vec<_>>(),
        event_sequences(&stack.nats).await
    );
    let window = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            plan_id: PLAN_A.into(),
            from_sequence: full_a[3].0,
            to_sequence: full_a[5].0,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(window.iter().map(key).collect::<Vec<_>>(), full_a[3..=5]);
    let one_task = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            task_id: a.task_ids[0].clone(),
            ..Default::default()
        },
    )
    .await;
    let of_task: Vec<Key> = full_a
        .iter()
        .filter(|(_, task, ..)| *task == a.task_ids[0])
        .cloned()
        .collect();
    assert_eq!(one_task.iter().map(key).collect::<Vec<_>>(), of_task);
    // From an instant: occurred_at, inclusive.
    let from_time = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            plan_id: PLAN_A.into(),
            from_time: plan_a[4].occurred_at.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(from_time.iter().map(key).collect::<Vec<_>>(), full_a[4..]);

    // An agency: the tasks it leads or coordinates (1.1 and 1.3 of both plans).
    let agency = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            agency: TTTT.into(),
            province: "Quảng Ngãi".into(),
            ..Default::default()
        },
    )
    .await;
    let mine = [
        &a.task_ids[0],
        &a.task_ids[2],
        &b.task_ids[0],
        &b.task_ids[2],
    ];
    let expected: Vec<Key> = all
        .iter()
        .filter(|event| mine.contains(&&event.task_id))
        .map(key)
        .collect();
    assert_eq!(agency.iter().map(key).collect::<Vec<_>>(), expected);

    // The CLI prints the same events as JSON Lines, the stored bytes unchanged.
    let lines: Vec<String> = cli()
        .with_server(&stack.dondoc)
        .stdout(&["audit", "replay", "--plan", PLAN_A, "--json"])
        .lines()
        .map(str::to_owned)
        .collect();
    let expected_lines: Vec<String> = plan_a
        .iter()
        .map(|event| {
            format!(
                "{{\"stream_sequence\":{},\"event\":{}}}",
                event.stream_sequence, event.json
            )
        })
        .collect();
    assert_eq!(lines, expected_lines);
}

impl Stack {
    /// What GetTask shows now of `task_id` at `version` (its last event at `sequence`),
    /// with that event's occurred_at.
    async fn snapshot(&mut self, task_id: &str, version: u64, sequence: u64) -> (String, pb::Task) {
        let task = self
            .tasks
            .get_task(pb::GetTaskRequest {
                task_id: task_id.into(),
                min_version: version,
            })
            .await
            .expect("get task")
            .into_inner()
            .task
            .expect("a task");
        assert_eq!((task.version, task.stream_sequence), (version, sequence));
        (occurred_at(&mut self.audit, task_id, sequence).await, task)
    }

    async fn task_as_of(
        &mut self,
        task_id: &str,
        as_of: &str,
    ) -> Result<pb::GetTaskAsOfResponse, tonic::Status> {
        self.audit
            .get_task_as_of(pb::GetTaskAsOfRequest {
                task_id: task_id.into(),
                as_of: as_of.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_state_as_of_each_instant_is_what_get_task_showed_then() {
    let mut stack = start().await;
    let imported = import(&mut stack.tasks, PLAN_A, &ROWS, "import-1").await;
    let task_id = imported.task_ids[0].clone();
    // (occurred_at of the task's last event, the task as GetTask showed it then),
    // recorded right after each command.
    // The import appends its tasks concurrently: this one's sequence is among 1..=3.
    let assigned_at = replay(
        &mut stack.audit,
        pb::ReplayRequest {
            task_id: task_id.clone(),
            ..Default::default()
        },
    )
    .await[0]
        .stream_sequence;
    let mut seen: Vec<(String, pb::Task)> = vec![stack.snapshot(&task_id, 1, assigned_at).await];

    let done = report(&mut stack.tasks, &task_id, TTTT, "2023-Q1").await;
    seen.push(
        stack
            .snapshot(&task_id, done.version, done.stream_sequence)
            .await,
    );
    let done = coordinate(&mut stack.tasks, &task_id, YTE, "Đã phối hợp").await;
    seen.push(
        stack
            .snapshot(&task_id, done.version, done.stream_sequence)
            .await,
    );
    let done = stack
        .tasks
        .extend_deadline(pb::ExtendDeadlineRequest {
            task_id: task_id.clone(),
            request_id: "extend-q2".into(),
            period: "2023-Q2".into(),
            new_due: "2027-01-15T00:00:00+07:00".into(),
            reason: "Chờ số liệu".into(),
            granted_by: "UBND tỉnh Quảng Ngãi".into(),
            ..Default::default()
        })
        .await
        .expect("extension")
        .into_inner();
    seen.push(
        stack
            .snapshot(&task_id, done.version, done.stream_sequence)
            .await,
    );
    // A revised appendix gives the row another lead: one amendment event.
    let mut revised = ROWS;
    revised[0].2 = NOIVU;
    let reimported = import(&mut stack.tasks, PLAN_A, &revised, "import-2").await;
    assert_eq!(reimported.tasks_amended, 1);
    let version = done.version + 1;
    // The amendment is stored just before the import's commit record.
    seen.push(
        stack
            .snapshot(&task_id, version, reimported.stream_sequence - 1)
            .await,
    );
    let done = report(&mut stack.tasks, &task_id, NOIVU, "2023-Q2").await;
    seen.push(
        stack
            .snapshot(&task_id, done.version, done.stream_sequence)
            .await,
    );
    assert_eq!(seen.last().unwrap().1.lead_agencies, ["Sở Nội vụ"]);

    // From the log: at each recorded instant, exactly what GetTask showed then.
    for (instant, task) in &seen {
        let rebuilt = stack.task_as_of(&task_id, instant).await.expect("as of");
        assert_eq!(rebuilt.task.as_ref(), Some(task), "as of {instant}");
        assert_eq!(rebuilt.version, task.version);
        assert_eq!(rebuilt.stream_sequence, task.stream_sequence);
        assert_eq!(&rebuilt.occurred_at, instant);
        let state: serde_json::Value = serde_json::from_str(&rebuilt.state_json).unwrap();
        assert_eq!(state["version"], task.version);
    }
    // Between two events: the earlier state.
    for pair in seen.windows(2) {
        let (earlier, later) = (parse_instant(&pair[0].0), parse_instant(&pair[1].0));
        assert!(earlier < later);
        let between: OffsetDateTime = earlier + (later - earlier) / 2_i32;
        let rebuilt = stack
            .task_as_of(&task_id, &between.format(&Rfc3339).unwrap())
            .await
            .expect("as of");
        assert_eq!(rebuilt.task.as_ref(), Some(&pair[0].1));
    }
    // Before its first event the task did not exist.
    let before = parse_instant(&seen[0].0) - time::Duration::nanoseconds(1);
    let status = stack
        .task_as_of(&task_id, &before.format(&Rfc3339).unwrap())
        .await
        .expect_err("not yet");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains(&task_id), "{}", status.message());

    // The CLI prints the state as JSON.
    let (instant, task) = &seen[2];
    let printed = cli()
        .with_server(&stack.dondoc)
        .json(&["audit", "task", &task_id, "--as-of", instant]);
    assert_eq!(printed["version"], task.version);
    assert_eq!(printed["state"]["version"], task.version);
    assert_eq!(
        printed["state"]["coordinations"].as_array().unwrap().len(),
        1
    );
}

/// Watches from `after`, reads a few events per connection, disconnects, reconnects
/// after the last sequence it saw, until it has seen `target` (set once known).
/// Returns the sequences seen and the number of connections.
async fn resuming_watch(
    dondoc: dondoc_test_support::Connector,
    plan_id: &str,
    target: Arc<AtomicU64>,
) -> (Vec<u64>, usize) {
    let mut seen = Vec::new();
    let mut last = 0;
    let mut sessions = 0;
    loop {
        let goal = target.load(Ordering::SeqCst);
        if goal != 0 && last >= goal {
            return (seen, sessions);
        }
        // A new connection each time, as after a network failure.
        let mut audit = AuditServiceClient::new(dondoc.connect().await);
        let mut events = audit
            .watch(pb::WatchRequest {
                after_sequence: last,
                plan_id: plan_id.into(),
                ..Default::default()
            })
            .await
            .expect("watch")
            .into_inner();
        sessions += 1;
        for _ in 0..(3 + sessions % 4) {
            let goal = target.load(Ordering::SeqCst);
            if goal != 0 && last >= goal {
                break;
            }
            let event = tokio::time::timeout(Duration::from_secs(20), events.message())
                .await
                .expect("the watch delivers")
                .expect("watch stream")
                .expect("a watch does not end");
            assert!(
                event.stream_sequence > last,
                "{} after {last}",
                event.stream_sequence
            );
            if !plan_id.is_empty() {
                assert_eq!(event.plan_id, plan_id);
            }
            last = event.stream_sequence;
            seen.push(last);
        }
        // Disconnect mid-stream; events go on being appended meanwhile.
        drop(events);
        drop(audit);
        // Paces the reconnections (not a wait for anything): appends fall in between.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_resumed_from_its_last_sequence_sees_every_event_once() {
    let mut stack = start().await;
    let a = import(&mut stack.tasks, PLAN_A, &ROWS, "import-a").await;
    let b = import(&mut stack.tasks, PLAN_B, &ROWS, "import-b").await;
    let all_done = Arc::new(AtomicU64::new(0));
    let plan_a_done = Arc::new(AtomicU64::new(0));
    let everything = tokio::spawn(resuming_watch(
        stack.dondoc.connector(),
        "",
        all_done.clone(),
    ));
    let of_plan_a = tokio::spawn(resuming_watch(
        stack.dondoc.connector(),
        PLAN_A,
        plan_a_done.clone(),
    ));

    // Appended while the watchers come and go.
    // The import's events (after the key record; its commit record is the last of its
    // sequences).
    let mut expected_a: Vec<u64> = (2..a.stream_sequence).collect();
    let mut last = 0;
    for round in 0..30 {
        let (plan, ids) = if round % 3 == 0 {
            (PLAN_B, &b.task_ids)
        } else {
            (PLAN_A, &a.task_ids)
        };
        let done = coordinate(
            &mut stack.tasks,
            &ids[round % ids.len()],
            YTE,
            &format!("Ghi chú {round}"),
        )
        .await;
        if plan == PLAN_A {
            expected_a.push(done.stream_sequence);
        }
        last = done.stream_sequence;
        // Paces the appends (not a wait for anything), so that watchers come and go
        // between them.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    plan_a_done.store(*expected_a.last().unwrap(), Ordering::SeqCst);
    all_done.store(last, Ordering::SeqCst);

    let (seen, sessions) = everything.await.unwrap();
    assert_eq!(
        seen,
        event_sequences(&stack.nats).await,
        "no gap, no duplicate"
    );
    assert!(
        sessions >= 5,
        "disconnected and resumed many times: {sessions}"
    );
    let (seen_a, sessions_a) = of_plan_a.await.unwrap();
    assert_eq!(seen_a, expected_a, "the plan's events, each once");
    assert!(sessions_a >= 3, "{sessions_a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_watch_resumes_after_the_server_restarts() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    let address = dondoc.address().to_owned();
    let mut tasks = dondoc.client().await;
    let imported = import(&mut tasks, PLAN_A, &ROWS, "import").await;

    let mut watcher = cli()
        .with_server(&dondoc)
        .command(&["audit", "watch", "--retries", "40"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dondoc audit watch starts");
    let stdout = watcher.stdout.take().unwrap();
    let (lines, printed) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut sequences = Vec::new();
    let read_until = |target: u64, sequences: &mut Vec<u64>| {
        while sequences.last().copied().unwrap_or(0) < target {
            let line = printed
                .recv_timeout(Duration::from_secs(30))
                .expect("the watcher prints every event");
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(json["event"]["plan_id"], PLAN_A);
            sequences.push(json["stream_sequence"].as_u64().unwrap());
        }
    };
    let mut last = imported.stream_sequence;
    for round in 0..3 {
        last = coordinate(&mut tasks, &imported.task_ids[round], YTE, "trước")
            .await
            .stream_sequence;
    }
    read_until(last, &mut sequences);

    // The server stops (its open watch does not hold the shutdown up) and comes back on
    // the same address; the watcher reconnects by itself.
    let stopping = Instant::now();
    assert!(dondoc.terminate(), "dondoc stops cleanly");
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopping.elapsed()
    );
    drop(tasks);
    let dondoc = spawn_dondoc_listening(
        &nats.url(),
        data.path(),
        &address,
        &["--no-sample", "--no-worker"],
    );
    let mut tasks = dondoc.client().await;
    for round in 0..3 {
        last = coordinate(&mut tasks, &imported.task_ids[round], YTE, "sau")
            .await
            .stream_sequence;
    }
    read_until(last, &mut sequences);
    assert_eq!(sequences, event_sequences(&nats).await, "every event once");
    watcher.kill().expect("stop the watcher");
    watcher.wait().expect("reap the watcher");
}

/// The scorecard queries compared: everything, one agency, one plan's year, one period.
fn scorecard_queries(as_of: &str) -> Vec<pb::GetScorecardRequest> {
    let base = pb::GetScorecardRequest {
        as_of: as_of.into(),
        ..Default::default()
    };
    vec![
        base.clone(),
        pb::GetScorecardRequest {
            agency: TTTT.into(),
            province: "Quảng Ngãi".into(),
            ..base.clone()
        },
        pb::GetScorecardRequest {
            plan_id: PLAN_A.into(),
            year: 2023,
            ..base.clone()
        },
        pb::GetScorecardRequest {
            agency: NOIVU.into(),
            province: "Quảng Ngãi".into(),
            period: "2023-Q2".into(),
            ..base
        },
    ]
}

fn as_of_request(live: &pb::GetScorecardRequest) -> pb::GetScorecardAsOfRequest {
    pb::GetScorecardAsOfRequest {
        agency: live.agency.clone(),
        plan_id: live.plan_id.clone(),
        period: live.period.clone(),
        year: live.year,
        as_of: live.as_of.clone(),
        province: live.province.clone(),
    }
}

impl Stack {
    /// The live scorecards as of the last event now (`min_sequence`: it).
    async fn live_scorecards(
        &mut self,
    ) -> (
        String,
        Vec<(pb::GetScorecardRequest, pb::GetScorecardResponse)>,
    ) {
        let all = replay(&mut self.audit, pb::ReplayRequest::default()).await;
        let last = all.last().unwrap();
        let instant = last.occurred_at.clone();
        let mut cards = Vec::new();
        for request in scorecard_queries(&instant) {
            let card = self
                .tasks
                .get_scorecard(pb::GetScorecardRequest {
                    min_sequence: last.stream_sequence,
                    ..request.clone()
                })
                .await
                .expect("live scorecard")
                .into_inner();
            cards.push((request, card));
        }
        (instant, cards)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_scorecard_from_the_log_is_the_live_one_taken_then() {
    let mut stack = start().await;
    let a = import(&mut stack.tasks, PLAN_A, &ROWS, "import-a").await;
    import(&mut stack.tasks, PLAN_B, &ROWS[..2], "import-b").await;
    let mut taken = vec![stack.live_scorecards().await];

    report(&mut stack.tasks, &a.task_ids[0], TTTT, "2023-Q1").await;
    report(&mut stack.tasks, &a.task_ids[1], YTE, "2023").await;
    stack
        .tasks
        .extend_deadline(pb::ExtendDeadlineRequest {
            task_id: a.task_ids[2].clone(),
            request_id: "extend-q2".into(),
            period: "2023-Q2".into(),
            agency: NOIVU.into(),
            new_due: "2027-01-15T00:00:00+07:00".into(),
            reason: "Chờ số liệu".into(),
            granted_by: "UBND tỉnh Quảng Ngãi".into(),
            ..Default::default()
        })
        .await
        .expect("extension");
    taken.push(stack.live_scorecards().await);

    // The plan is revised: row 1.1 goes from the Sở TT&TT to the Sở Nội vụ.
    let mut revised = ROWS;
    revised[0].2 = NOIVU;
    let reimported = import(&mut stack.tasks, PLAN_A, &revised, "import-a-2").await;
    assert_eq!(reimported.tasks_amended, 1);
    report(&mut stack.tasks, &a.task_ids[0], NOIVU, "2023-Q2").await;
    taken.push(stack.live_scorecards().await);

    for (instant, cards) in &taken {
        for (request, live) in cards {
            let rebuilt = stack
                .audit
                .get_scorecard_as_of(as_of_request(request))
                .await
                .expect("scorecard as of")
                .into_inner();
            assert_eq!(&rebuilt, live, "as of {instant}: {request:?}");
        }
    }
    // The live scorecard "as of" the first instant reads today's assignment: the
    // Sở TT&TT no longer leads row 1.1. The log's is the one shown then.
    let (first_instant, first_cards) = &taken[0];
    let (request, then) = &first_cards[1];
    assert_eq!(request.agency, TTTT);
    assert!(!then.rows.is_empty());
    let now_says = stack
        .tasks
        .get_scorecard(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(&now_says, then, "as of {first_instant}");

    // The CLI shows the same.
    let output = cli().with_server(&stack.dondoc).output(&[
        "audit",
        "scorecard",
        "--agency",
        TTTT,
        "--province",
        "Quảng Ngãi",
        "--as-of",
        first_instant,
        "--json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["rows"].as_array().unwrap().len(), then.rows.len());
    assert_eq!(printed["totals"][0]["total"], then.totals[0].total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_name_the_field_and_unknown_tasks_are_not_found() {
    let mut stack = start().await;
    let a = import(&mut stack.tasks, PLAN_A, &ROWS, "import-a").await;
    let audit = &mut stack.audit;
    let replay_with = |edit: fn(&mut pb::ReplayRequest)| {
        let mut request = pb::ReplayRequest::default();
        edit(&mut request);
        request
    };
    let cases: Vec<(pb::ReplayRequest, &str)> = vec![
        (
            replay_with(|r| {
                r.plan_id = PLAN_A.into();
                r.task_id = "186fbe83-3743-529f-ad92-59ff048a27bc".into();
            }),
            "task_id",
        ),
        (
            replay_with(|r| {
                r.task_id = "186fbe83-3743-529f-ad92-59ff048a27bc".into();
                r.agency = TTTT.into();
            }),
            "agency",
        ),
        (replay_with(|r| r.task_id = "row-1.1".into()), "task_id"),
        (
            replay_with(|r| r.plan_id = "Kế hoạch 189".into()),
            "plan_id",
        ),
        (
            replay_with(|r| {
                r.from_sequence = 2;
                r.from_time = "2024-01-01T00:00:00+07:00".into();
            }),
            "from_time",
        ),
        (
            replay_with(|r| r.from_time = "2024-01-01".into()),
            "from_time",
        ),
        (replay_with(|r| r.to_time = "yesterday".into()), "to_time"),
        (
            replay_with(|r| {
                r.to_sequence = 5;
                r.to_time = "2024-01-01T00:00:00+07:00".into();
            }),
            "to_time",
        ),
        (
            replay_with(|r| {
                r.from_sequence = 9;
                r.to_sequence = 3;
            }),
            "to_sequence",
        ),
        (
            replay_with(|r| {
                r.from_time = "2024-02-01T00:00:00+07:00".into();
                r.to_time = "2024-01-01T00:00:00+07:00".into();
            }),
            "to_time",
        ),
    ];
    for (request, field) in cases {
        assert_invalid(audit.replay(request).await, field);
    }
    assert_invalid(
        audit
            .watch(pb::WatchRequest {
                plan_id: PLAN_A.into(),
                task_id: a.task_ids[0].clone(),
                ..Default::default()
            })
            .await,
        "task_id",
    );
    assert_invalid(
        audit
            .watch(pb::WatchRequest {
                plan_id: "A B".into(),
                ..Default::default()
            })
            .await,
        "plan_id",
    );
    assert_invalid(
        audit
            .get_task_as_of(pb::GetTaskAsOfRequest {
                task_id: a.task_ids[0].clone(),
                as_of: "2024-13-01T00:00:00+07:00".into(),
            })
            .await,
        "as_of",
    );
    assert_invalid(
        audit
            .get_task_as_of(pb::GetTaskAsOfRequest {
                task_id: "1.1".into(),
                as_of: String::new(),
            })
            .await,
        "task_id",
    );
    for (request, field) in [
        (
            pb::GetScorecardAsOfRequest {
                year: 1999,
                ..Default::default()
            },
            "year",
        ),
        (
            pb::GetScorecardAsOfRequest {
                period: "2023-Q5".into(),
                ..Default::default()
            },
            "period",
        ),
        (
            pb::GetScorecardAsOfRequest {
                as_of: "now".into(),
                ..Default::default()
            },
            "as_of",
        ),
        (
            pb::GetScorecardAsOfRequest {
                plan_id: "-".repeat(65),
                ..Default::default()
            },
            "plan_id",
        ),
    ] {
        assert_invalid(audit.get_scorecard_as_of(request).await, field);
    }

    // Unknown tasks: NOT_FOUND, naming the task.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let status = audit
        .get_task_as_of(pb::GetTaskAsOfRequest {
            task_id: unknown.into(),
            as_of: String::new(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains(unknown), "{}", status.message());
    let status = audit
        .replay(pb::ReplayRequest {
            task_id: unknown.into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    // A known task before it existed: NOT_FOUND too.
    let status = audit
        .get_task_as_of(pb::GetTaskAsOfRequest {
            task_id: a.task_ids[0].clone(),
            as_of: "2020-01-01T00:00:00+07:00".into(),
        })
        .await
        .expect_err("not yet");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    // An unknown plan is no error: it has no events.
    let none = replay(
        audit,
        pb::ReplayRequest {
            plan_id: "no-such-plan".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());

    // The CLI reports the refusal and fails.
    let output = cli()
        .with_server(&stack.dondoc)
        .output(&["audit", "replay", "--from", "9", "--to", "3"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("InvalidArgument") && stderr.contains("to_sequence"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_service_is_healthy_and_served_by_reflection() {
    use futures::StreamExt;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let stack = start().await;
    let channel = stack.dondoc.channel().await;
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: dondoc_api::AUDIT_SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    let ask = |message_request| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message_request),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(futures::stream::iter([
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol(
                "dondoc.v1.AuditService".into(),
            )),
        ]))
        .await
        .unwrap()
        .into_inner();
    let listed = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("unexpected reflection answer {listed:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(
        names.contains(&"dondoc.v1.AuditService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"dondoc.v1.TaskService".to_owned()),
        "{names:?}"
    );
    let described = responses.next().await.unwrap().unwrap();
    assert!(
        matches!(described.message_response, Some(MessageResponse::FileDescriptorResponse(ref files)) if !files.file_descriptor_proto.is_empty()),
        "{described:?}"
    );
}
