//! The deadline worker as processes: `dondoc up` runs it with each sample plan's policy;
//! a `dondoc worker` killed with SIGKILL in the middle of its catch-up and restarted
//! leaves every overdue obligation marked exactly once; reminders are sent once each,
//! across restarts. The clock is pinned with `--pretend-now`/`--as-of`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use crate::support::{cli, dondoc_binary, eventually, spawn_dondoc_with, Dondoc, TestNats};

/// Mid-April 2024: every 2023 deadline and 2024-Q1 have passed; nothing falls due for
/// weeks, so a test's few minutes of real time change nothing.
const APRIL_2024: &str = "2024-04-10T09:00:00+07:00";
/// Six days before 2024-Q1's deadline: "before the 25th" makes Sunday 24 March the last
/// day on time, which the working-day rule moves to Monday 25 March, so reports are late
/// from 2024-03-26T00:00+07:00. Its 7-day reminder (from 19 March) is due, its 3-day
/// one (23 March) is not.
const MARCH_20_2024: &str = "2024-03-20T09:00:00+07:00";

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["type"] == kind)
        .collect()
}

/// How long a catch-up of the samples' backlog may take.
const CATCH_UP: Duration = Duration::from_secs(240);

/// A `dondoc worker` that says when it has done its work.
/// The signing key of the `dondoc up` in `api_data`: what processes beside its log use.
fn signing_key(api_data: &Path) -> String {
    api_data.join("keys/signing.key").display().to_string()
}

fn start_worker(nats: &TestNats, data_dir: &Path, extra: &[&str]) -> Dondoc {
    let mut args = vec!["--print-settled"];
    args.extend_from_slice(extra);
    Dondoc::worker(dondoc_binary(), &nats.url(), data_dir, &args)
}

/// `dondoc sweep --as-of INSTANT --json`, with the given extra flags.
fn sweep(nats_url: &str, as_of: &str, extra: &[&str]) -> Value {
    let mut args = vec!["sweep", "--nats", nats_url, "--as-of", as_of, "--json"];
    args.extend_from_slice(extra);
    cli().json(&args)
}

/// How many reminders the reminder stream holds.
async fn reminders_stored(nats: &TestNats) -> u64 {
    nats.stream_state("DONDOC_REMINDERS").await.messages
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
    // It prints its address once the samples are imported.
    let _api = spawn_dondoc_with(&nats.url(), api_data.path(), &["--no-worker"]);
    let imported = nats.event_count().await;
    assert_eq!(imported, 76 + 36 + 5);

    let key = signing_key(api_data.path());
    let flags = [
        "--pretend-now",
        APRIL_2024,
        "--reminders",
        "none",
        "--signing-key",
        &key,
    ];
    let mut worker = start_worker(&nats, worker_data.path(), &flags);
    // Kill it once it is well into the backlog of 2023's deadlines.
    eventually(
        "the worker marks 100 obligations",
        Duration::from_secs(60),
        || async {
            let count = nats.event_count().await;
            (count >= imported + 100)
                .then_some(())
                .ok_or(count.to_string())
        },
    )
    .await;
    worker.kill_9();
    let at_kill = nats.event_count().await;

    let mut restarted = start_worker(&nats, worker_data.path(), &flags);
    let finished = restarted.wait_settled(&nats, CATCH_UP).await;
    assert!(
        finished > at_kill,
        "the kill came after the backlog was done ({at_kill} events): nothing was tested"
    );

    // A separate one-pass sweep a few minutes later finds nothing left to mark …
    let report = sweep(
        &nats.url(),
        "2024-04-10T09:10:00+07:00",
        &["--reminders", "none", "--signing-key", &key],
    );
    assert_eq!(report["marked"], 0, "{report}");
    // … and every overdue obligation it sees is marked exactly once in the log.
    let events = nats.event_json().await;
    let marks = distinct_marks(&events);
    assert_eq!(
        report["overdue"].as_u64().unwrap(),
        marks.len() as u64,
        "{report}"
    );
    assert_eq!(events.len() as u64, imported + marks.len() as u64);
    assert_eq!(events.len() as u64, finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dondoc_up_runs_the_worker_with_each_plans_policy_and_reminds_once_across_restarts() {
    let nats = TestNats::start();
    // Watch the agencies' reminder subjects as an agency system would (core NATS).
    let watcher = async_nats::connect(nats.url()).await.unwrap();
    let mut reminder_messages = watcher.subscribe("dondoc.reminders.>").await.unwrap();

    let data = tempfile::tempdir().unwrap();
    let flags = ["--pretend-now", MARCH_20_2024, "--print-settled"];
    let mut dondoc = spawn_dondoc_with(&nats.url(), data.path(), &flags);
    let settled = dondoc.wait_settled(&nats, CATCH_UP).await;
    let events = nats.event_json().await;
    assert_eq!(events.len() as u64, settled);

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
    while delivered.len() < reminders.len() {
        let message = tokio::time::timeout(Duration::from_secs(30), reminder_messages.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {} recorded reminders delivered",
                    delivered.len(),
                    reminders.len()
                )
            })
            .expect("the subscription stays open");
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        delivered.insert(body["reminder_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        delivered.len(),
        reminders.len(),
        "every recorded reminder was delivered, each once"
    );
    let stored = reminders_stored(&nats).await;
    assert_eq!(stored, reminders.len() as u64);

    // Restarted: nothing is recorded or sent again.
    assert!(dondoc.terminate());
    let mut restarted = spawn_dondoc_with(&nats.url(), data.path(), &flags);
    assert_eq!(restarted.wait_settled(&nats, CATCH_UP).await, settled);
    assert_eq!(
        reminders_stored(&nats).await,
        stored,
        "no reminder was stored again"
    );
    // Nor published to core subscribers: the server had routed anything the worker
    // published before it settled, so it reaches this subscriber before a probe sent now.
    watcher
        .publish("dondoc.reminders.test-probe", "probe".into())
        .await
        .unwrap();
    watcher.flush().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), reminder_messages.next())
        .await
        .expect("the probe comes back")
        .unwrap();
    assert_eq!(
        next.subject.as_str(),
        "dondoc.reminders.test-probe",
        "no reminder was sent again"
    );
}
