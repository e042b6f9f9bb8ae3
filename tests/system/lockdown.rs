//! The embedded nats-server is locked down: nobody connects without credentials, the
//! service's identity cannot erase or rewrite the log of record nor send a reminder, only
//! the worker's can, and an agency's subscriber reads its own reminders only, on core
//! NATS and through its durable consumer. Credentials and the store are their owner's
//! alone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;

use crate::support::{dondoc_binary, Dondoc};

const TTTT: &str = "quang-tri-so-tttt";
const SO_Y_TE: &str = "quang-tri-so-y-te";

/// A connection as the identity whose credentials file is `name`.
async fn connect_as(data_dir: &Path, url: &str, name: &str) -> async_nats::Client {
    let file = data_dir.join("credentials").join(format!("{name}.json"));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    async_nats::ConnectOptions::with_user_and_password(
        record["user"].as_str().unwrap().into(),
        record["password"].as_str().unwrap().into(),
    )
    .custom_inbox_prefix(record["inbox_prefix"].as_str().unwrap())
    .connect(url)
    .await
    .unwrap_or_else(|error| panic!("{name} connects: {error}"))
}

async fn messages_in(client: &async_nats::Client, stream: &str) -> u64 {
    let mut stream = jetstream::new(client.clone())
        .get_stream(stream)
        .await
        .unwrap();
    stream.info().await.unwrap().state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_server_admits_each_identity_to_its_own_work_only() {
    let data = tempfile::tempdir().unwrap();
    // No worker in it: the test counts events, and sends reminders as the worker itself.
    let _dondoc = Dondoc::up_embedded(dondoc_binary(), data.path(), &["--no-worker"]);
    let url = std::fs::read_to_string(data.path().join("nats.url"))
        .unwrap()
        .trim()
        .to_owned();

    // No credentials, no connection.
    assert!(
        async_nats::ConnectOptions::new()
            .connect(&url)
            .await
            .is_err(),
        "an anonymous connection is refused"
    );

    let operator = connect_as(data.path(), &url, "dondoc-operator").await;
    let worker_client = connect_as(data.path(), &url, "dondoc-worker").await;
    // The reminder stream, as the deadline worker creates it.
    dondoc_eventlog::ReminderChannel::open(
        worker_client.clone(),
        &dondoc_eventlog::ReminderChannelOptions::default(),
    )
    .await
    .unwrap();
    let events = messages_in(&operator, "DONDOC_EVENTS").await;
    assert_eq!(events, 117, "the samples");

    // The service's identity cannot delete, purge or rewrite the log, nor remind.
    let mut service = jetstream::new(connect_as(data.path(), &url, "dondoc-service").await);
    // A refused request is never answered: each waits this long.
    service.set_timeout(Duration::from_millis(500));
    assert!(service.delete_stream("DONDOC_EVENTS").await.is_err());
    let stream = service.get_stream("DONDOC_EVENTS").await.unwrap();
    assert!(stream.purge().await.is_err());
    assert!(stream.delete_message(1).await.is_err());
    assert!(service.delete_stream("DONDOC_REMINDERS").await.is_err());
    let reminders_before = messages_in(&operator, "DONDOC_REMINDERS").await;
    let forged = tokio::time::timeout(Duration::from_secs(2), async {
        service
            .publish(format!("dondoc.reminders.{TTTT}"), "forged".into())
            .await?
            .await
    })
    .await;
    assert!(
        !matches!(forged, Ok(Ok(_))),
        "the service may not publish a reminder"
    );
    assert_eq!(messages_in(&operator, "DONDOC_EVENTS").await, events);
    assert_eq!(
        messages_in(&operator, "DONDOC_REMINDERS").await,
        reminders_before
    );

    // An agency reads its own subject, on core NATS and through its durable consumer.
    let agency = connect_as(data.path(), &url, &format!("agency-{TTTT}")).await;
    let mut own = agency
        .subscribe(format!("dondoc.reminders.{TTTT}"))
        .await
        .unwrap();
    let mut other = agency
        .subscribe(format!("dondoc.reminders.{SO_Y_TE}"))
        .await
        .unwrap();
    agency.flush().await.unwrap();
    let worker = jetstream::new(worker_client);
    for (agency_id, body) in [(SO_Y_TE, "cho Sở Y tế"), (TTTT, "cho Sở TT&TT")] {
        worker
            .publish(format!("dondoc.reminders.{agency_id}"), body.into())
            .await
            .unwrap()
            .await
            .expect("the worker may remind");
    }
    let received = tokio::time::timeout(Duration::from_secs(10), own.next())
        .await
        .expect("its own reminder arrives")
        .unwrap();
    assert_eq!(&received.payload[..], "cho Sở TT&TT".as_bytes());
    // The other agency's reminder, published first, would have arrived first.
    assert!(
        tokio::time::timeout(Duration::ZERO, other.next())
            .await
            .is_err(),
        "another agency's reminder is not delivered"
    );
    let mut agency_js = jetstream::new(agency.clone());
    agency_js.set_timeout(Duration::from_secs(2));
    let reminders = agency_js.get_stream("DONDOC_REMINDERS").await.unwrap();
    let consumer = reminders
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some(format!("agency-{TTTT}")),
            filter_subject: format!("dondoc.reminders.{TTTT}"),
            ..Default::default()
        })
        .await
        .expect("its own durable consumer");
    let mut batch = consumer.fetch().max_messages(10).messages().await.unwrap();
    let first = batch.next().await.unwrap().unwrap();
    assert_eq!(&first.payload[..], "cho Sở TT&TT".as_bytes());
    first.ack().await.unwrap();
    let theirs = tokio::time::timeout(
        Duration::from_secs(2),
        reminders.create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some(format!("agency-{TTTT}")),
            filter_subject: format!("dondoc.reminders.{SO_Y_TE}"),
            ..Default::default()
        }),
    )
    .await;
    assert!(
        !matches!(theirs, Ok(Ok(_))),
        "a consumer of another agency's reminders is refused"
    );

    // Nobody else on this machine reads the credentials or the store.
    for private in ["credentials", "nats", "projection"] {
        let mode = std::fs::metadata(data.path().join(private))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{private} is {mode:o}");
    }
    let mode = std::fs::metadata(data.path().join("credentials/dondoc-service.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
