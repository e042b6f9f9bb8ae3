//! `TestNats`: a real nats-server with JetStream in a temporary directory, on a port it
//! picks itself, and what tests read back from its streams.

use std::time::Duration;

use dondoc_nats_embed::{locate_nats_server, NatsServer, NatsServerOptions};
use futures::StreamExt;

/// The log of record's stream (dondoc-eventlog's `STREAM_NAME`; a test that reads it
/// directly checks what is stored, not what dondoc says).
const EVENT_STREAM: &str = "DONDOC_EVENTS";

/// A nats-server with JetStream in a temporary directory; killed when dropped.
pub struct TestNats {
    server: Option<NatsServer>,
    options: NatsServerOptions,
    _dir: tempfile::TempDir,
}

impl TestNats {
    /// A server that fsyncs every write, as dondoc's embedded default does.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// A server that acknowledges before fsync: for tests of many appends that are not
    /// about durability.
    pub fn start_without_fsync() -> Self {
        Self::start_with(false)
    }

    fn start_with(sync_always: bool) -> Self {
        let binary = locate_nats_server().expect("nats-server: run deploy/install-nats-server.sh");
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut options = NatsServerOptions::in_data_dir(binary, dir.path());
        options.sync_always = sync_always;
        let server = NatsServer::start(&options).expect("nats-server starts");
        Self {
            server: Some(server),
            options,
            _dir: dir,
        }
    }

    fn server(&self) -> &NatsServer {
        self.server.as_ref().expect("nats-server is running")
    }

    pub fn url(&self) -> String {
        self.server().client_url().to_owned()
    }

    pub fn port(&self) -> u16 {
        self.server().port()
    }

    /// Stops the server (SIGTERM, waited for) and keeps its store, for `restart`.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().expect("nats-server stops");
        }
    }

    /// SIGKILL (a crash: nothing flushed), then the server again on the same port and
    /// store.
    pub fn crash_and_restart(&mut self) {
        let port = self.port();
        if let Some(server) = self.server.take() {
            server.kill().expect("nats-server killed");
        }
        let mut options = self.options.clone();
        options.port = Some(port);
        self.server = Some(NatsServer::start(&options).expect("nats-server restarts"));
    }

    /// Starts the server again on `port` with the same store.
    pub fn restart(&mut self, port: u16) {
        self.stop();
        let mut options = self.options.clone();
        options.port = Some(port);
        self.server = Some(NatsServer::start(&options).expect("nats-server restarts"));
    }

    /// A JetStream context of a connection of the test's own.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(self.url())
            .await
            .expect("connect to nats");
        async_nats::jetstream::new(client)
    }

    /// The state of a stream (`DONDOC_EVENTS`, `DONDOC_REMINDERS`).
    pub async fn stream_state(&self, stream: &str) -> async_nats::jetstream::stream::State {
        let mut stream = self
            .jetstream()
            .await
            .get_stream(stream)
            .await
            .unwrap_or_else(|error| panic!("stream {stream} exists: {error}"));
        stream.info().await.expect("stream info").state.clone()
    }

    /// Number of task events in the event stream (import commit records and other
    /// records not counted: `record_count` counts those).
    pub async fn event_count(&self) -> u64 {
        self.record_count("dondoc.events.task.>").await
    }

    /// Number of messages of the event stream on subjects matching `filter`.
    pub async fn record_count(&self, filter: &str) -> u64 {
        let stream = self
            .jetstream()
            .await
            .get_stream(EVENT_STREAM)
            .await
            .expect("event stream exists");
        let mut subjects = stream
            .info_with_subjects(filter)
            .await
            .expect("stream info with subjects");
        let mut total = 0;
        while let Some(item) = subjects.next().await {
            let (_, count) = item.expect("a subject's count");
            total += count as u64;
        }
        total
    }

    /// Stream sequence of the newest event.
    pub async fn last_sequence(&self) -> u64 {
        self.stream_state(EVENT_STREAM).await.last_sequence
    }

    /// Every stored task event's sequence and exact bytes, in stream order, up to the
    /// last sequence when called (`stored_records` has the other records too).
    pub async fn stored_events(&self) -> Vec<(u64, Vec<u8>)> {
        self.stored_records()
            .await
            .into_iter()
            .filter(|(_, subject, _)| subject.starts_with("dondoc.events.task."))
            .map(|(sequence, _, payload)| (sequence, payload))
            .collect()
    }

    /// Every message of the event stream: sequence, subject and exact bytes.
    pub async fn stored_records(&self) -> Vec<(u64, String, Vec<u8>)> {
        let last = self.last_sequence().await;
        if last == 0 {
            return Vec::new();
        }
        let stream = self
            .jetstream()
            .await
            .get_stream(EVENT_STREAM)
            .await
            .expect("event stream exists");
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
            .await
            .expect("an ordered consumer");
        let mut messages = consumer.messages().await.expect("consumer messages");
        let mut events = Vec::new();
        while let Some(message) = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .expect("the stream delivers its events")
        {
            let message = message.expect("a stored event");
            let sequence = message.info().expect("message info").stream_sequence;
            events.push((
                sequence,
                message.subject.to_string(),
                message.payload.to_vec(),
            ));
            if sequence >= last {
                break;
            }
        }
        events
    }

    /// Every stored event as JSON, oldest first.
    pub async fn event_json(&self) -> Vec<serde_json::Value> {
        self.stored_events()
            .await
            .iter()
            .map(|(_, payload)| serde_json::from_slice(payload).expect("events are JSON"))
            .collect()
    }
}
