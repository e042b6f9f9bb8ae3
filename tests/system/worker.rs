//! The deadline worker as processes: `dondoc up` runs it with each sample plan's policy;
//! a `dondoc worker` killed with SIGKILL in the middle of its catch-up and restarted
//! leaves every overdue obligation marked exactly once; reminders are sent once each,
//! across restarts. The clock is pinned with `--pretend-now`/`--as-of`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::support::{dondoc_binary, Dondoc, TestNats};

/// Mid-April 2024: every 2023 deadline and 2024-Q1 have passed; nothing falls due for
/// weeks, so a test's few minutes of real time change nothing.
const APRIL_2024: &str = "2024-04-10T09:00:00+07:00";
/// Six days before 2024-Q1's deadline: "before the 25th" makes Sunday 24 March the last
/// day on time, which the working-day rule moves to Monday 25 March, so reports are late
/// from 2024-03-26T00:00+07:00. Its 7-day reminder (from 19 March) is due, its 3-day
/// one (23 March) is not.
const MARCH_20_2024: &str = "2024-03-20T09:00:00+07:00";

/// Every event in the stream, as JSON, oldest first.
async fn stream_events(nats: &TestNats) -> Vec<Value> {
    let last = nats.last_sequence().await;
    if last == 0 {
        return Vec::new();
    }
    let stream = nats
        .jetstream()
        .await
        .get_stream("DONDOC_EVENTS")
        .await
        .unwrap();
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut events = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        events.push(serde_json::from_slice(&message.payload).unwrap());
        if message.info().unwrap().stream_sequence >= last {
            break;
        }
    }
    events
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["type"] == kind)
        .collect()
}

/// Waits until the stream has not grown for `quiet`, and returns its size.
async fn wait_until_quiet(nats: &TestNats, quiet: Duration) -> u64 {
    let mut count = nats.event_count().await;
    let mut stable_since = std::time::Instant::now();
    let give_up = std::time::Instant::now() + Duration::from_secs(240);
    while stable_since.elapsed() < quiet {
        assert!(
            std::time::Instant::now() < give_up,
            "the stream never went quiet"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = nats.event_count().await;
        if now != count {
            count = now;
            stable_since = std::time::Instant::now();
        }
    }
    count
}

/// A `dondoc worker` process.
struct WorkerProcess(Option<Child>);

impl WorkerProcess {
    fn start(nats_url: &str, data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(dondoc_binary())
            .args(["worker", "--nats", nats_url, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("DONDOC_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dondoc worker starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        match lines.next() {
            Some(Ok(line)) if line.contains("dondoc worker running") => {}
            other => panic!("dondoc worker did not start: {other:?}"),
        }
        std::thread::spawn(move || for _ in lines {});
        Self(Some(child))
    }

    fn kill_9(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// `dondoc sweep --as-of INSTANT --json`, with the given extra flags.
fn sweep(nats_url: &str, as_of: &str, extra: &[&str]) -> Value {
    let output = Command::new(dondoc_binary())
        .args(["sweep", "--nats", nats_url, "--as-of", as_of, "--json"])
        .args(extra)
        .env("DONDOC_LOG", "warn")
        .output()
        .expect("dondoc sweep runs");
    assert!(
        output.status.success(),
        "dondoc sweep failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("sweep prints JSON")
}

/// (task, period, agency, deadline) of every overdue mark; panics on a duplicate.
fn distinct_marks(events: &[Value]) -> BTreeSet<String> {
    let mut marks = BTreeSet::new();
    for event in of_type(events, "task_overdue") {
        let key = format!(
            "{} {} {} {}",
            event["task_id"],
            event["data"]["period"],
            event["data"]["agency"],
            event["data"]["deadline"]
        );
        assert!(marks.insert(key.clone()), "marked twice: {key}");
    }
    marks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_catch_up_and_restarted_marks_every_overdue_obligation_once() {
    let nats = TestNats::start();
    let api_data = tempfile::tempdir().unwrap();
    let worker_data = tempfile::tempdir().unwrap();
    // The three sample plans, no worker in the API process.
    let _api = Dondoc::start_with(&nats.url(), api_data.path(), &["--no-worker"]);
    let imported = wait_until_quiet(&nats, Duration::from_millis(500)).await;
    assert_eq!(imported, 76 + 36 + 5);

    let flags = ["--pretend-now", APRIL_2024, "--reminders", "none"];
    let mut worker = WorkerProcess::start(&nats.url(), worker_data.path(), &flags);
    // Kill it once it is well into the backlog of 2023's deadlines.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while nats.event_count().await < imported + 100 {
        assert!(
            std::time::Instant::now() < give_up,
            "the worker marked nothing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.kill_9();
    let at_kill = nats.event_count().await;

    let _restarted = WorkerProcess::start(&nats.url(), worker_data.path(), &flags);
    let finished = wait_until_quiet(&nats, Duration::from_secs(2)).await;
    assert!(
        finished > at_kill,
        "the kill came after the backlog was done ({at_kill} events): nothing was tested"
    );

    // A separate one-pass sweep a few minutes later finds nothing left to mark …
    let report = sweep(
        &nats.url(),
        "2024-04-10T09:10:00+07:00",
        &["--reminders", "none"],
    );
    assert_eq!(report["marked"], 0, "{report}");
    // … and every overdue obligation it sees is marked exactly once in the log.
    let events = stream_events(&nats).await;
    let marks = distinct_marks(&events);
    assert_eq!(
        report["overdue"].as_u64().unwrap(),
        marks.len() as u64,
        "{report}"
    );
    assert_eq!(events.len() as u64, imported + marks.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dondoc_up_runs_the_worker_with_each_plans_policy_and_reminds_once_across_restarts() {
    let nats = TestNats::start();
    // Watch the agencies' reminder subjects as an agency system would (core NATS).
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut reminder_messages = watcher.subscribe("dondoc.reminders.>").await.unwrap();

    let data = tempfile::tempdir().unwrap();
    let flags = ["--pretend-now", MARCH_20_2024];
    let mut dondoc = Dondoc::start_with(&nats.url(), data.path(), &flags);
    let settled = wait_until_quiet(&nats, Duration::from_secs(2)).await;
    let events = stream_events(&nats).await;

    // Each sample plan recorded its policy on its tasks.
    let mut policies = BTreeMap::new();
    for assigned in of_type(&events, "task_assigned") {
        let policy = assigned["data"]["reporting"]["policy"]["name"]
            .as_str()
            .unwrap();
        policies
            .entry(assigned["plan_id"].as_str().unwrap().to_owned())
            .or_insert_with(BTreeSet::new)
            .insert(policy.to_owned());
    }
    assert_eq!(
        policies["qng-189-2022"],
        BTreeSet::from(["default".to_owned()])
    );
    assert_eq!(
        policies["qti-dti-2023"],
        BTreeSet::from(["quang-tri".to_owned()])
    );
    assert_eq!(
        policies["qti-viettel-2025"],
        BTreeSet::from(["quang-tri".to_owned()])
    );

    // 2023's deadlines were caught up, each with its original deadline.
    let marks = distinct_marks(&events);
    assert!(!marks.is_empty());
    let q1_2023: BTreeSet<&str> = of_type(&events, "task_overdue")
        .into_iter()
        .filter(|mark| mark["data"]["period"] == "2023-Q1")
        .map(|mark| mark["data"]["deadline"].as_str().unwrap())
        .collect();
    assert_eq!(q1_2023, BTreeSet::from(["2023-03-25T00:00:00+07:00"]));
    assert!(
        of_type(&events, "task_overdue")
            .iter()
            .all(|mark| mark["data"]["period"].as_str().unwrap() < "2024-Q1"),
        "2024-Q1 is not late until 26 March"
    );

    // The 7-day reminders of 2024-Q1, one per open obligation, each delivered once.
    let reminders = of_type(&events, "reminder_sent");
    assert!(
        !reminders.is_empty(),
        "2024 obligations are open on 20 March"
    );
    let mut seen = BTreeSet::new();
    for reminder in &reminders {
        let data = &reminder["data"];
        assert_eq!(data["due"], "2024-03-26T00:00:00+07:00");
        assert_eq!(data["seconds_before_due"], 7 * 24 * 3600);
        let key = format!(
            "{} {} {}",
            reminder["task_id"], data["duty"], data["agency"]
        );
        assert!(seen.insert(key.clone()), "reminded twice: {key}");
    }
    let mut delivered = BTreeSet::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(500), reminder_messages.next()).await
    {
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        delivered.insert(body["reminder_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        delivered.len(),
        reminders.len(),
        "every recorded reminder was delivered"
    );

    // Restarted: nothing is recorded or sent again.
    assert!(dondoc.terminate());
    let _dondoc = Dondoc::start_with(&nats.url(), data.path(), &flags);
    assert_eq!(
        wait_until_quiet(&nats, Duration::from_secs(2)).await,
        settled
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), reminder_messages.next())
            .await
            .is_err(),
        "no reminder was sent again"
    );
}
