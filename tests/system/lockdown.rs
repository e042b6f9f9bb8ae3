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
pub(crate) async fn connect_as(data_dir: &Path, url: &str, name: &str) -> async_nats::Client {
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

pub(crate) async fn messages_in(client: &async_nats::Client, stream: &str) -> u64 {
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
    assert_eq!(
        events,
        1 + 117 + 3,
        "the key record, the samples' events and their imports' commit records"
    );

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
    for private in ["credentials", "keys", "nats", "projection"] {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_embedded_nats_server_is_restarted_and_nothing_acknowledged_is_lost() {
    use dondoc_api::pb;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let data = tempfile::tempdir().unwrap();
    let dondoc = Dondoc::up_embedded(dondoc_binary(), data.path(), &["--no-worker"]);
    let mut client = dondoc.client().await;
    let tasks = crate::support::list_all(&mut client, "qng-189-2022", 0).await;
    let mut health = HealthClient::new(dondoc.channel().await);
    let mut statuses = health
        .watch(HealthCheckRequest {
            service: "dondoc.v1.TaskService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = statuses.message().await.unwrap().unwrap().status;
    assert_eq!(first, ServingStatus::Serving as i32);

    // Commands under way while the server is killed: a ledger of what was acknowledged.
    let command = |index: usize| pb::RecordCoordinationRequest {
        task_id: tasks[index % tasks.len()].task_id.clone(),
        request_id: format!("load-{index}"),
        agency: "UBND cấp huyện".into(),
        note: format!("Ghi chú {index}"),
        expected_version: None,
    };
    let mut acknowledged = std::collections::BTreeSet::new();
    let mut failed = Vec::new();
    let pid_file = data.path().join("nats/nats-run/nats-server.pid");
    for index in 0..300 {
        if index == 100 {
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
        match client.record_coordination(command(index)).await {
            Ok(_) => {
                acknowledged.insert(index);
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                failed.push(index);
            }
        }
    }
    // Health said so, and says it is back.
    let mut seen = vec![first];
    while seen.last() != Some(&(ServingStatus::Serving as i32)) || seen.len() < 3 {
        let next = tokio::time::timeout(Duration::from_secs(30), statuses.message())
            .await
            .expect("health changes")
            .unwrap()
            .unwrap();
        seen.push(next.status);
    }
    assert!(
        seen.contains(&(ServingStatus::NotServing as i32)),
        "health went NOT_SERVING: {seen:?}"
    );
    // Retried with the same request ids, the failed ones complete.
    for index in failed {
        crate::support::eventually("a retry succeeds", Duration::from_secs(30), || {
            let mut client = client.clone();
            let request = command(index);
            async move {
                client
                    .record_coordination(request)
                    .await
                    .map(|_| ())
                    .map_err(|status| format!("{status:?}"))
            }
        })
        .await;
        acknowledged.insert(index);
    }
    assert_eq!(acknowledged.len(), 300);
    // Each acknowledged command is in the log exactly once.
    let url = std::fs::read_to_string(data.path().join("nats.url"))
        .unwrap()
        .trim()
        .to_owned();
    let operator = connect_as(data.path(), &url, "dondoc-operator").await;
    assert_eq!(
        messages_in(&operator, "DONDOC_EVENTS").await,
        1 + 117 + 3 + 300
    );
}
