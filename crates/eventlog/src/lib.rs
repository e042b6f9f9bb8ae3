//! The event log of record: one JetStream stream, one subject per task.
//!
//! Architecture invariant: this is the only crate that knows NATS. It stores and reads
//! `EventEnvelope`s; it never interprets them.
//!
//! Invariants it keeps:
//! - the stream is append-only: created with deny-delete and deny-purge and no age,
//!   count or size limits, file storage;
//! - a task's events live on `dondoc.events.task.<plan>.<task>`; an append states the
//!   stream sequence of the task's last event (`Nats-Expected-Last-Subject-Sequence`),
//!   so two writers deciding on the same state cannot both append (optimistic
//!   concurrency; the loser gets `LogError::Conflict`);
//! - every append carries `Nats-Msg-Id = <task>/<request id>/<version>`, so a retried
//!   command is stored once within the stream's duplicate window; beyond it the command
//!   handler recognises the request id in the task's history;
//! - reads used for decisions go to the stream leader (STREAM.MSG.GET), not to direct
//!   get, which a follower may answer from a stale copy.
//!
//! - a plan import is written as its events (each tagged with the import id) and then
//!   one commit record on `dondoc.events.import.<import id>` ([`EventLog::append_import`]):
//!   in atomic batches of at most [`MAX_BATCH_MESSAGES`] where the stream allows them
//!   (ADR-50), one message at a time where it does not. Readers apply an import's
//!   events only once its commit record is stored, so an import of any size is seen
//!   whole or not at all whatever fails in between.
//!
//! Auditors read it back through [`replay`]: bounded replays of the whole log, a plan
//! or a task, and live watches, each event with the exact bytes stored.
//!
//! It also owns a second, separate stream for deadline reminders to agencies
//! ([`reminders`]): notifications, not part of the log of record.

pub mod access;
mod import;
mod records;
pub mod reminders;
pub mod replay;

pub use records::{RawRecord, CHECKPOINT_SUBJECT, KEYS_SUBJECT};

pub use import::{import_subject, TaskAppend, MAX_BATCH_MESSAGES};

pub use access::{agency_consumer, Identity, NatsAuth, Permissions};

pub use reminders::{
    reminder_subject, InvalidAgencyToken, ReminderChannel, ReminderChannelOptions, ReminderError,
    REMINDER_STREAM_NAME,
};
pub use replay::{RawRecordedEvent, ReplayEnd, ReplayFilter, ReplayStart};

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{pull::OrderedConfig, DeliverPolicy},
    context::PublishErrorKind,
    message::PublishMessage,
    stream::{Config as StreamConfig, DiscardPolicy, LastRawMessageErrorKind, StorageType},
};
use async_nats::HeaderMap;
use bytes::Bytes;
use dondoc_domain::{EventEnvelope, ImportCommitted, PlanId, TaskId};
use futures::{Stream, StreamExt};

/// The stream holding every event.
pub const STREAM_NAME: &str = "DONDOC_EVENTS";
/// Subjects of task events: `dondoc.events.task.<plan>.<task>`.
pub const TASK_SUBJECT_PREFIX: &str = "dondoc.events.task";
/// Subjects of import commit records: `dondoc.events.import.<import id>`.
pub const IMPORT_SUBJECT_PREFIX: &str = "dondoc.events.import";
const STREAM_SUBJECTS: &str = "dondoc.events.>";

/// The largest stored record dondoc writes: NATS's default `max_payload` is 1 MiB, and
/// headers travel with the payload. Larger inputs are refused before anything is
/// written.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024 - 8 * 1024;

/// How long JetStream remembers message ids to drop duplicates. Retries after this are
/// still idempotent through the request ids recorded with each task.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Infrastructure failures, kept apart from domain rejections.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// NATS or JetStream cannot be reached or did not answer in time.
    /// Handling: UNAVAILABLE (retry later).
    #[error("event log unavailable while {action}: {detail}")]
    Unavailable {
        action: &'static str,
        detail: String,
    },

    /// Another writer appended to the task since its state was read.
    /// Handling: ABORTED (re-read and retry).
    #[error("task {subject} changed since sequence {expected_last_sequence} was read")]
    Conflict {
        subject: String,
        expected_last_sequence: u64,
    },

    /// A stored message is not an event this build can read: written by something else
    /// than dondoc, or by a later build (which needs an upcaster here). Handling:
    /// INTERNAL where an event is needed; the projection quarantines it and goes on.
    #[error("stream message {sequence} on {subject} cannot be read: {reason}")]
    Unreadable {
        sequence: u64,
        subject: String,
        reason: String,
    },
}

/// An event as stored: its stream sequence, envelope and exact bytes (what signatures
/// are checked over).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub sequence: u64,
    pub envelope: EventEnvelope,
    pub payload: Bytes,
}

/// What `read_task` found on a task's subject.
#[derive(Debug, Default)]
pub struct TaskMessages {
    /// The task's events, oldest first.
    pub events: Vec<RecordedEvent>,
    /// Messages on the subject that are not events of the task (each an `Unreadable`).
    pub foreign: Vec<LogError>,
    /// The stream sequence of the last message read (event or not), 0 for none: what
    /// the next append on the subject must state.
    pub last_sequence: u64,
}

/// One message of the log, as the projection reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// A task event (both variants boxed: they differ much in size).
    Event(Box<RecordedEvent>),
    /// The commit record of a plan import: its events take effect now.
    ImportCommitted {
        sequence: u64,
        record: Box<ImportCommitted>,
        payload: Bytes,
    },
    /// A key record (`dondoc.events.keys`), raw: the domain's `Keyring` reads it.
    Key { sequence: u64, payload: Bytes },
    /// A signed checkpoint of the chain heads (`dondoc.events.checkpoint`), raw.
    Checkpoint { sequence: u64, payload: Bytes },
}

impl LogRecord {
    pub fn sequence(&self) -> u64 {
        match self {
            Self::Event(event) => event.sequence,
            Self::ImportCommitted { sequence, .. }
            | Self::Key { sequence, .. }
            | Self::Checkpoint { sequence, .. } => *sequence,
        }
    }
}

/// What an append achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub sequence: u64,
    /// The message id was seen before: nothing new was stored, `sequence` is the original's.
    pub duplicate: bool,
}

/// Stream settings chosen by the operator, and how to authenticate.
#[derive(Clone, Debug)]
pub struct EventLogOptions {
    /// 1 for a single server; 3 on a 3-node cluster, where replication stands in for
    /// fsync-per-write.
    pub replicas: usize,
    pub auth: NatsAuth,
}

impl Default for EventLogOptions {
    fn default() -> Self {
        Self {
            replicas: 1,
            auth: NatsAuth::None,
        }
    }
}

/// A connection to the NATS server at `url`, authenticated by `auth`, named `name`.
pub async fn connect_nats(
    url: &str,
    auth: &NatsAuth,
    name: &str,
) -> Result<async_nats::Client, LogError> {
    auth.connect_options()
        .await
        .map_err(|err| unavailable("reading the NATS credentials")(&err))?
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|err| unavailable("connecting to NATS")(&err))
}

#[derive(Clone, Debug)]
pub struct EventLog {
    pub(crate) jetstream: jetstream::Context,
    pub(crate) stream: jetstream::stream::Stream,
    /// The stream takes atomic batches (streams created by builds before imports were
    /// atomic do not, and the service may not reconfigure the stream).
    pub(crate) atomic_batches: bool,
}

/// The subject of one task's events.
pub fn task_subject(plan_id: &PlanId, task_id: &TaskId) -> String {
    format!("{TASK_SUBJECT_PREFIX}.{plan_id}.{task_id}")
}

pub(crate) fn unavailable(action: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> LogError {
    move |err| LogError::Unavailable {
        action,
        detail: err.to_string(),
    }
}

impl EventLog {
    /// Connects to `url` and opens (creating if needed) the stream.
    pub async fn connect(url: &str, options: &EventLogOptions) -> Result<Self, LogError> {
        let client = connect_nats(url, &options.auth, "dondoc").await?;
        Self::open(client, options).await
    }

    /// Opens the stream over an existing connection, creating it append-only if missing.
    pub async fn open(
        client: async_nats::Client,
        options: &EventLogOptions,
    ) -> Result<Self, LogError> {
        let jetstream = jetstream::new(client);
        let config = StreamConfig {
            name: STREAM_NAME.to_owned(),
            description: Some("dondoc task events: the log of record".to_owned()),
            subjects: vec![STREAM_SUBJECTS.to_owned()],
            storage: StorageType::File,
            num_replicas: options.replicas,
            // No age, count or size limits: nothing accepted is ever dropped.
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            discard: DiscardPolicy::New,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            allow_atomic_publish: true,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        let stream = jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|err| unavailable("opening the event stream")(&err))?;
        let existing = &stream.cached_info().config;
        if !existing.deny_delete || !existing.deny_purge {
            tracing::warn!(
                stream = STREAM_NAME,
                "the existing stream allows delete or purge; the log is only append-only if it does not"
            );
        }
        let atomic_batches = existing.allow_atomic_publish;
        if !atomic_batches {
            tracing::info!(
                stream = STREAM_NAME,
                "the existing stream does not allow atomic batches; imports are written one event at a time (still all or nothing through their commit record)"
            );
        }
        Ok(Self {
            jetstream,
            stream,
            atomic_batches,
        })
    }

    /// Appends one event after the task's last event at stream sequence
    /// `expected_last_sequence` (0 for a task with no events yet).
    ///
    /// The message id names the task, the request and the version, so the events of one
    /// command each have their own id, and a retry that completes a command interrupted
    /// between two of its events appends only the missing ones.
    pub async fn append(
        &self,
        envelope: &EventEnvelope,
        expected_last_sequence: u64,
    ) -> Result<Appended, LogError> {
        let message_id = format!(
            "{}/{}/{}",
            envelope.task_id, envelope.request_id, envelope.version
        );
        let subject = task_subject(&envelope.plan_id, &envelope.task_id);
        let mut message = PublishMessage::build()
            .payload(Bytes::from(envelope.encode()))
            .message_id(message_id)
            .expected_last_subject_sequence(expected_last_sequence);
        for (name, values) in event_headers(envelope).iter() {
            for value in values {
                message = message.header(name.clone(), value.clone());
            }
        }
        let ack = self
            .jetstream
            .send_publish(subject.clone(), message)
            .await
            .map_err(|err| unavailable("sending an event")(&err))?
            .await
            .map_err(|err| match err.kind() {
                PublishErrorKind::WrongLastSequence => LogError::Conflict {
                    subject: subject.clone(),
                    expected_last_sequence,
                },
                _ => unavailable("awaiting the event's acknowledgement")(&err),
            })?;
        Ok(Appended {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// The task's messages stored after stream sequence `after_sequence`, oldest first,
    /// read from the stream leader: its events, and the messages on its subject that are
    /// not events of it (`Unreadable`, for the caller to skip and report: the task's state
    /// is its valid events). Without `plan_id` the task is found under any plan (a
    /// wildcard subject), for commands that name only the task.
    pub async fn read_task(
        &self,
        plan_id: Option<&PlanId>,
        task_id: &TaskId,
        after_sequence: u64,
    ) -> Result<TaskMessages, LogError> {
        let subject = match plan_id {
            Some(plan_id) => task_subject(plan_id, task_id),
            None => format!("{TASK_SUBJECT_PREFIX}.*.{task_id}"),
        };
        let mut read = TaskMessages::default();
        let messages = messages_on(
            &self.stream,
            &subject,
            after_sequence,
            "reading a task's events",
        )
        .await?;
        for message in messages {
            read.last_sequence = message.sequence;
            match decode(message.sequence, &message.subject, &message.payload) {
                Ok(event) if event.envelope.task_id == *task_id => read.events.push(event),
                Ok(event) => read.foreign.push(LogError::Unreadable {
                    sequence: event.sequence,
                    subject: message.subject.to_string(),
                    reason: format!("an event of task {}", event.envelope.task_id),
                }),
                Err(unreadable) => read.foreign.push(unreadable),
            }
        }
        Ok(read)
    }

    /// Every event from stream sequence `start_sequence` on, then each new one as it is
    /// stored. The stream ends on a consumer failure; the caller resubscribes from its
    /// checkpoint.
    pub async fn follow(
        &self,
        start_sequence: u64,
    ) -> Result<impl Stream<Item = Result<LogRecord, LogError>> + Send + 'static, LogError> {
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: STREAM_SUBJECTS.to_owned(),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start_sequence.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(|err| unavailable("creating the event consumer")(&err))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|err| unavailable("starting the event consumer")(&err))?;
        Ok(messages.map(|result| {
            let message = result.map_err(|err| unavailable("following the event stream")(&err))?;
            let sequence = message
                .info()
                .map_err(|err| unavailable("reading a message's stream sequence")(&*err))?
                .stream_sequence;
            decode_record(sequence, &message.subject, &message.payload)
        }))
    }

    /// The sequence of the newest event in the stream (0 when empty).
    pub async fn last_sequence(&self) -> Result<u64, LogError> {
        let mut stream = self.stream.clone();
        let info = stream
            .info()
            .await
            .map_err(|err| unavailable("reading the stream state")(&err))?;
        Ok(info.state.last_sequence)
    }

    /// The reminder stream, over this log's connection.
    pub async fn reminder_channel(
        &self,
        options: &ReminderChannelOptions,
    ) -> Result<ReminderChannel, LogError> {
        ReminderChannel::open(self.jetstream.client(), options).await
    }

    /// How many task events the stream holds (import commit records and other
    /// records not counted).
    pub async fn event_count(&self) -> Result<u64, LogError> {
        let mut subjects = self
            .stream
            .info_with_subjects(format!("{TASK_SUBJECT_PREFIX}.>"))
            .await
            .map_err(|err| unavailable("reading the stream state")(&err))?;
        let mut total = 0;
        while let Some(item) = subjects.next().await {
            let (_, count) = item.map_err(|err| unavailable("reading the stream state")(&err))?;
            total += count as u64;
        }
        Ok(total)
    }
}

/// Every message stored on `subject` (a wildcard allowed) after stream sequence
/// `after_sequence`, oldest first, read from the stream leader (STREAM.MSG.GET next by
/// subject, not direct get, which a follower may answer from a stale copy).
pub(crate) async fn messages_on(
    stream: &jetstream::stream::Stream,
    subject: &str,
    after_sequence: u64,
    action: &'static str,
) -> Result<Vec<async_nats::jetstream::message::StreamMessage>, LogError> {
    let mut messages = Vec::new();
    let mut next_sequence = after_sequence + 1;
    loop {
        let result = stream
            .raw_message_builder()
            .sequence(next_sequence)
            .next_by_subject(subject.to_owned())
            .send()
            .await;
        let message = match result {
            Ok(message) => message,
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => break,
            Err(err) => return Err(unavailable(action)(&err)),
        };
        next_sequence = message.sequence + 1;
        messages.push(message);
    }
    Ok(messages)
}

/// The headers every stored event carries (besides the publish's own).
pub(crate) fn event_headers(envelope: &EventEnvelope) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Dondoc-Event-Type", envelope.event.type_name());
    headers.insert(
        "Dondoc-Schema-Version",
        envelope.schema_version.to_string().as_str(),
    );
    headers
}

/// Reads a message of the stream: a task event, or an import's commit record.
fn decode_record(sequence: u64, subject: &str, payload: &[u8]) -> Result<LogRecord, LogError> {
    if let Some(import) = subject
        .strip_prefix(IMPORT_SUBJECT_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        let unreadable = |reason: String| LogError::Unreadable {
            sequence,
            subject: subject.to_owned(),
            reason,
        };
        let record = ImportCommitted::decode(payload).map_err(|err| unreadable(err.to_string()))?;
        if record.import_id.to_string() != import {
            return Err(unreadable(format!(
                "the commit record of import {} stored on another import's subject",
                record.import_id
            )));
        }
        return Ok(LogRecord::ImportCommitted {
            sequence,
            record: Box::new(record),
            payload: Bytes::copy_from_slice(payload),
        });
    }
    let payload = Bytes::copy_from_slice(payload);
    match subject {
        KEYS_SUBJECT => return Ok(LogRecord::Key { sequence, payload }),
        CHECKPOINT_SUBJECT => return Ok(LogRecord::Checkpoint { sequence, payload }),
        _ => {}
    }
    decode(sequence, subject, &payload).map(|event| LogRecord::Event(Box::new(event)))
}

fn decode(sequence: u64, subject: &str, payload: &[u8]) -> Result<RecordedEvent, LogError> {
    let envelope = EventEnvelope::decode(payload).map_err(|err| LogError::Unreadable {
        sequence,
        subject: subject.to_owned(),
        reason: err.to_string(),
    })?;
    // A readable event on another task's subject is as foreign as garbage: the log's
    // rule is one subject per task.
    let expected = task_subject(&envelope.plan_id, &envelope.task_id);
    if expected != subject {
        return Err(LogError::Unreadable {
            sequence,
            subject: subject.to_owned(),
            reason: format!(
                "an event of task {} stored on another task's subject",
                envelope.task_id
            ),
        });
    }
    Ok(RecordedEvent {
        sequence,
        envelope,
        payload: Bytes::copy_from_slice(payload),
    })
}
