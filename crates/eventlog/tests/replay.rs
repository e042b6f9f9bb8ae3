//! Replays and watches against a real nats-server (deploy/install-nats-server.sh).

use std::collections::HashMap;
use std::time::Duration;

use dondoc_domain::{
    AgencyName, CoordinationRecorded, EventEnvelope, PlanId, RequestId, TaskEvent, TaskId,
};
use dondoc_eventlog::{
    EventLog, EventLogOptions, RawRecordedEvent, ReplayEnd, ReplayFilter, ReplayStart,
};
use dondoc_test_support::TestNats;
use futures::{StreamExt, TryStreamExt};
use time::macros::datetime;
use time::OffsetDateTime;

struct Harness {
    log: EventLog,
    /// Last stream sequence and version of each task appended to.
    tasks: HashMap<TaskId, (u64, u64)>,
    nats: TestNats,
}

fn plan(id: &str) -> PlanId {
    PlanId::parse(id).unwrap()
}

fn task(plan_id: &str, row: &str) -> TaskId {
    TaskId::for_appendix_row(&plan(plan_id), None, row, 1)
}

impl Harness {
    async fn start() -> Self {
        let nats = TestNats::start_without_fsync();
        let log = EventLog::connect(&nats.url(), &EventLogOptions::default())
            .await
            .unwrap();
        Self {
            log,
            tasks: HashMap::new(),
            nats,
        }
    }

    /// Appends a coordination note to `task_id` of `plan_id`, stamped `occurred_at`.
    async fn append(&mut self, plan_id: &str, task_id: TaskId, occurred_at: OffsetDateTime) -> u64 {
        let (last, version) = self.tasks.get(&task_id).copied().unwrap_or((0, 0));
        let envelope = EventEnvelope::new(
            uuid::Uuid::new_v4(),
            task_id,
            plan(plan_id),
            version + 1,
            occurred_at,
            "Sở Y tế".to_owned(),
            RequestId::parse(&format!("note-{}", version + 1)).unwrap(),
            TaskEvent::CoordinationRecorded(CoordinationRecorded {
                agency: AgencyName::parse("Sở Y tế").unwrap(),
                note: format!("Ghi chú số {} của nhiệm vụ", version + 1),
            }),
        );
        let appended = self.log.append(&envelope, last).await.unwrap();
        self.tasks.insert(task_id, (appended.sequence, version + 1));
        appended.sequence
    }

    async fn replay(
        &self,
        filter: ReplayFilter,
        start: ReplayStart,
        end: Option<ReplayEnd>,
    ) -> Vec<RawRecordedEvent> {
        self.log
            .replay(&filter, start, end)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }
}

fn sequences(events: &[RawRecordedEvent]) -> Vec<u64> {
    events.iter().map(|event| event.sequence).collect()
}

/// Two plans, three tasks, events interleaved: sequences 1..=9.
async fn populated() -> (Harness, TaskId, TaskId, TaskId) {
    let mut harness = Harness::start().await;
    let (a1, a2, b1) = (task("a", "1"), task("a", "2"), task("b", "1"));
    let base = datetime!(2024-03-20 09:00 +7);
    for round in 0..3 {
        for (plan_id, task_id) in [("a", a1), ("b", b1), ("a", a2)] {
            let at = base + time::Duration::minutes(i64::from(round) * 10);
            harness.append(plan_id, task_id, at).await;
        }
    }
    (harness, a1, a2, b1)
}

#[tokio::test]
async fn replays_select_the_log_a_plan_or_a_task_in_stream_order() {
    let (harness, a1, a2, b1) = populated().await;
    let all = harness
        .replay(ReplayFilter::All, ReplayStart::default(), None)
        .await;
    assert_eq!(sequences(&all), (1..=9).collect::<Vec<_>>());
    let plan_a = harness
        .replay(ReplayFilter::Plan(plan("a")), ReplayStart::default(), None)
        .await;
    assert_eq!(sequences(&plan_a), [1, 3, 4, 6, 7, 9]);
    assert!(plan_a
        .iter()
        .all(|event| event.envelope.task_id == a1 || event.envelope.task_id == a2));
    let one = harness
        .replay(ReplayFilter::Task(b1), ReplayStart::default(), None)
        .await;
    assert_eq!(sequences(&one), [2, 5, 8]);
    let versions: Vec<u64> = one.iter().map(|event| event.envelope.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    let none = harness
        .replay(
            ReplayFilter::Plan(plan("zzz")),
            ReplayStart::default(),
            None,
        )
        .await;
    assert!(none.is_empty(), "a plan without events replays nothing");

    for (filter, first) in [
        (ReplayFilter::All, Some(1)),
        (ReplayFilter::Task(a2), Some(3)),
        (ReplayFilter::Plan(plan("b")), Some(2)),
        (ReplayFilter::Plan(plan("zzz")), None),
    ] {
        let found = harness.log.first_sequence(&filter).await.unwrap();
        assert_eq!(found, first, "{filter:?}");
    }
}

#[tokio::test]
async fn payloads_are_the_bytes_stored() {
    let (harness, ..) = populated().await;
    let all = harness
        .replay(ReplayFilter::All, ReplayStart::default(), None)
        .await;
    for event in &all {
        assert_eq!(event.payload.as_ref(), event.envelope.encode().as_slice());
        assert!(event.payload_text().contains("Ghi chú số"));
        assert_eq!(
            EventEnvelope::decode(&event.payload).unwrap(),
            event.envelope
        );
    }
    // The same bytes the stream holds, read independently.
    let client = async_nats::connect(harness.nats.url()).await.unwrap();
    let stream = async_nats::jetstream::new(client)
        .get_stream("DONDOC_EVENTS")
        .await
        .unwrap();
    for event in &all {
        let stored = stream.get_raw_message(event.sequence).await.unwrap();
        assert_eq!(stored.payload, event.payload);
    }
}

#[tokio::test]
async fn starts_and_ends_are_inclusive_sequences_or_store_times() {
    let (harness, a1, ..) = populated().await;
    let from_4 = harness
        .replay(ReplayFilter::All, ReplayStart::Sequence(4), None)
        .await;
    assert_eq!(sequences(&from_4), [4, 5, 6, 7, 8, 9]);
    let window = harness
        .replay(
            ReplayFilter::Plan(plan("a")),
            ReplayStart::Sequence(3),
            Some(ReplayEnd::Sequence(7)),
        )
        .await;
    assert_eq!(sequences(&window), [3, 4, 6, 7]);
    let beyond = harness
        .replay(ReplayFilter::All, ReplayStart::Sequence(10), None)
        .await;
    assert!(beyond.is_empty());
    let empty_window = harness
        .replay(
            ReplayFilter::Task(a1),
            ReplayStart::Sequence(5),
            Some(ReplayEnd::Sequence(5)),
        )
        .await;
    assert!(empty_window.is_empty(), "a1 has nothing at sequence 5");

    // Store time, not occurred_at (the envelopes say 2024).
    let all = harness
        .replay(ReplayFilter::All, ReplayStart::default(), None)
        .await;
    let fifth = all[4].stored_at;
    assert!(
        fifth > datetime!(2025-01-01 00:00 UTC),
        "stored now: {fifth}"
    );
    let from_time = harness
        .replay(ReplayFilter::All, ReplayStart::StoredAt(fifth), None)
        .await;
    assert_eq!(from_time.first().map(|event| event.sequence), Some(5));
    let until = harness
        .replay(
            ReplayFilter::All,
            ReplayStart::default(),
            Some(ReplayEnd::StoredAt(fifth)),
        )
        .await;
    assert_eq!(until.last().map(|event| event.sequence), Some(5));
}

#[tokio::test]
async fn a_replay_stops_at_the_last_sequence_it_started_with() {
    let (mut harness, a1, ..) = populated().await;
    let mut replay = harness
        .log
        .replay(&ReplayFilter::All, ReplayStart::default(), None)
        .await
        .unwrap()
        .boxed();
    let first = replay.next().await.unwrap().unwrap();
    assert_eq!(first.sequence, 1);
    // Events stored after the replay started are not part of it.
    for _ in 0..3 {
        harness
            .append("a", a1, datetime!(2024-03-21 09:00 +7))
            .await;
    }
    let rest: Vec<RawRecordedEvent> = tokio::time::timeout(Duration::from_secs(10), async {
        replay.try_collect().await.unwrap()
    })
    .await
    .expect("the replay ends by itself");
    assert_eq!(sequences(&rest), (2..=9).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_watch_goes_on_with_new_events() {
    let (mut harness, a1, _, b1) = populated().await;
    let mut watch = harness
        .log
        .watch(8, &ReplayFilter::Task(a1))
        .await
        .unwrap()
        .boxed();
    // Sequence 9 is a2's: a1's next event is the first appended below.
    let mut appended = Vec::new();
    for _ in 0..2 {
        harness
            .append("b", b1, datetime!(2024-03-21 09:00 +7))
            .await;
        appended.push(
            harness
                .append("a", a1, datetime!(2024-03-21 09:00 +7))
                .await,
        );
    }
    let mut seen = Vec::new();
    while seen.len() < appended.len() {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("the watch delivers new events")
            .unwrap()
            .unwrap();
        assert_eq!(event.envelope.task_id, a1);
        seen.push(event.sequence);
    }
    assert_eq!(seen, appended);
}
