//! Reminders against a real nats-server (deploy/install-nats-server.sh).

use std::time::Duration;

use bytes::Bytes;
use dondoc_eventlog::reminders::{
    reminder_subject, ReminderChannel, ReminderChannelOptions, ReminderError, REMINDER_STREAM_NAME,
};
use dondoc_test_support::TestNats;
use futures::StreamExt;

struct Harness {
    channel: ReminderChannel,
    client: async_nats::Client,
    nats: TestNats,
}

impl Harness {
    async fn start() -> Self {
        let nats = TestNats::start();
        let client = async_nats::connect(nats.url()).await.unwrap();
        let channel = ReminderChannel::open(client.clone(), &ReminderChannelOptions::default())
            .await
            .unwrap();
        Self {
            channel,
            client,
            nats,
        }
    }

    fn stop(mut self) {
        self.nats.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_is_configured_for_day_long_deduplication() {
    let harness = Harness::start().await;
    let stream = async_nats::jetstream::new(harness.client.clone())
        .get_stream(REMINDER_STREAM_NAME)
        .await
        .unwrap();
    let config = &stream.cached_info().config;
    assert_eq!(config.subjects, vec!["dondoc.reminders.>".to_owned()]);
    assert_eq!(config.duplicate_window, Duration::from_secs(24 * 60 * 60));
    assert_eq!(config.max_age, Duration::from_secs(90 * 24 * 60 * 60));
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    assert_eq!(
        config.discard,
        async_nats::jetstream::stream::DiscardPolicy::Old
    );
    // Opening again reuses the stream.
    ReminderChannel::open(harness.client.clone(), &ReminderChannelOptions::default())
        .await
        .unwrap();
    harness.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_id_is_stored_once() {
    let harness = Harness::start().await;
    let channel = &harness.channel;
    let first = channel
        .publish(
            "so-noi-vu",
            "task-1/2024-Q1/due-in-3-days",
            Bytes::from_static(b"first"),
            &[("Dondoc-Reminder-Kind", "due-soon")],
        )
        .await
        .unwrap();
    assert!(!first.duplicate);
    let second = channel
        .publish(
            "so-noi-vu",
            "task-1/2024-Q1/due-in-3-days",
            Bytes::from_static(b"retry after a crash"),
            &[("Dondoc-Reminder-Kind", "due-soon")],
        )
        .await
        .unwrap();
    assert!(second.duplicate);
    assert_eq!(second.sequence, first.sequence);
    assert_eq!(channel.count().await.unwrap(), 1);
    assert_eq!(
        channel.read_subject("so-noi-vu").await.unwrap(),
        vec![(first.sequence, Bytes::from_static(b"first"))]
    );
    harness.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_agency_reads_only_its_own_reminders_in_order() {
    let harness = Harness::start().await;
    let channel = &harness.channel;
    let mut expected_a = Vec::new();
    let mut expected_b = Vec::new();
    for n in 0..5 {
        let (agency, expected) = if n % 2 == 0 {
            ("so-noi-vu", &mut expected_a)
        } else {
            ("so-tai-chinh", &mut expected_b)
        };
        let payload = Bytes::from(format!("{agency} reminder {n}"));
        let appended = channel
            .publish(agency, &format!("task-{n}/due"), payload.clone(), &[])
            .await
            .unwrap();
        assert!(!appended.duplicate);
        expected.push((appended.sequence, payload));
    }
    assert_eq!(channel.read_subject("so-noi-vu").await.unwrap(), expected_a);
    assert_eq!(
        channel.read_subject("so-tai-chinh").await.unwrap(),
        expected_b
    );
    assert!(channel.read_subject("so-y-te").await.unwrap().is_empty());
    assert_eq!(channel.count().await.unwrap(), 5);
    harness.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_subscribers_on_the_agency_subject_receive_reminders() {
    let harness = Harness::start().await;
    let listener = async_nats::connect(harness.nats.url()).await.unwrap();
    let mut subscriber = listener
        .subscribe(reminder_subject("so-noi-vu").unwrap())
        .await
        .unwrap();
    let mut other = listener
        .subscribe(reminder_subject("so-tai-chinh").unwrap())
        .await
        .unwrap();
    // `flush` only writes the SUBs out; the server registers them when it reads them, in
    // order. A probe of our own (outside the reminder stream) that comes back proves it
    // has, before another connection publishes.
    let mut probe = listener.subscribe("test.probe").await.unwrap();
    listener
        .publish("test.probe", Bytes::from_static(b"probe"))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), probe.next())
        .await
        .expect("the probe came back")
        .unwrap();

    let payload = Bytes::from_static("Nhắc hạn báo cáo quý I".as_bytes());
    harness
        .channel
        .publish(
            "so-noi-vu",
            "task-1/q1",
            payload.clone(),
            &[("Dondoc-Task", "task-1")],
        )
        .await
        .unwrap();
    let received = tokio::time::timeout(Duration::from_secs(30), subscriber.next())
        .await
        .expect("the subscriber received the reminder")
        .unwrap();
    assert_eq!(received.subject.as_str(), "dondoc.reminders.so-noi-vu");
    assert_eq!(received.payload, payload);
    let headers = received.headers.unwrap();
    assert_eq!(headers.get("Nats-Msg-Id").unwrap().as_str(), "task-1/q1");
    assert_eq!(headers.get("Dondoc-Task").unwrap().as_str(), "task-1");

    // A repeat is not stored again, but it is still a publish on the wire: core
    // subscribers see it and recognise it by its message id.
    let repeat = harness
        .channel
        .publish("so-noi-vu", "task-1/q1", payload.clone(), &[])
        .await
        .unwrap();
    assert!(repeat.duplicate);
    let again = tokio::time::timeout(Duration::from_secs(30), subscriber.next())
        .await
        .expect("the subscriber saw the repeat")
        .unwrap();
    assert_eq!(
        again.headers.unwrap().get("Nats-Msg-Id").unwrap().as_str(),
        "task-1/q1"
    );

    // Another agency's subscriber heard nothing.
    listener.flush().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), other.next())
            .await
            .is_err(),
        "another agency received a reminder not meant for it"
    );
    harness.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_agency_tokens_are_refused_before_anything_is_sent() {
    let harness = Harness::start().await;
    for bad in ["Sở Nội vụ", "a.b", "", "a>", "*", "so noi vu"] {
        let err = reminder_subject(bad).unwrap_err();
        assert_eq!(err.token, bad);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");

        let err = harness
            .channel
            .publish(bad, "task-1/q1", Bytes::from_static(b"x"), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ReminderError::InvalidAgencyToken(invalid) if invalid.token == bad),
            "{err}"
        );
        let err = harness.channel.read_subject(bad).await.unwrap_err();
        assert!(matches!(err, ReminderError::InvalidAgencyToken(_)), "{err}");
    }
    let err = harness
        .channel
        .publish(
            "so-noi-vu",
            "task-1/q1",
            Bytes::new(),
            &[("Nats-Msg-Id", "other")],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ReminderError::InvalidHeader { .. }), "{err}");
    let err = harness
        .channel
        .publish("so-noi-vu", "", Bytes::new(), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, ReminderError::InvalidHeader { .. }), "{err}");
    assert_eq!(harness.channel.count().await.unwrap(), 0);
    harness.stop();
}
