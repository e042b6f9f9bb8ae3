//! The log's records that are not task events: the deployment's key records
//! (`dondoc.events.keys`), signed checkpoints of the chain heads
//! (`dondoc.events.checkpoint`), and a raw walk over every message of the stream for
//! verifiers and exports.
//!
//! Invariants: key records are appended with the subject's last sequence stated, so two
//! processes cannot both establish a key; this crate stores and reads the bytes only
//! (what they mean, and whether their signatures hold, is the domain's `Keyring` and
//! `ChainVerifier`).

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::{messages_on, unavailable, Appended, EventLog, LogError, STREAM_SUBJECTS};

/// Subject of the deployment's key records.
pub const KEYS_SUBJECT: &str = "dondoc.events.keys";
/// Subject of the signed checkpoints of the chain heads.
pub const CHECKPOINT_SUBJECT: &str = "dondoc.events.checkpoint";

/// A message of the stream as stored: what verifiers and exports read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    pub sequence: u64,
    pub subject: String,
    /// The payload exactly as stored.
    pub payload: Bytes,
}

impl EventLog {
    /// Every key record, oldest first, with its stream sequence (read from the leader).
    pub async fn key_records(&self) -> Result<Vec<RawRecord>, LogError> {
        let messages =
            messages_on(&self.stream, KEYS_SUBJECT, 0, "reading the key records").await?;
        Ok(messages
            .into_iter()
            .map(|message| RawRecord {
                sequence: message.sequence,
                subject: KEYS_SUBJECT.to_owned(),
                payload: message.payload,
            })
            .collect())
    }

    /// Appends a key record after the key subject's message at `expected_last_sequence`
    /// (0: the first). `Conflict` when another process wrote one meanwhile.
    pub async fn append_key_record(
        &self,
        payload: Vec<u8>,
        expected_last_sequence: u64,
    ) -> Result<Appended, LogError> {
        self.append_record(KEYS_SUBJECT, payload, Some(expected_last_sequence), "key")
            .await
    }

    /// Appends a signed checkpoint.
    pub async fn append_checkpoint(&self, payload: Vec<u8>) -> Result<Appended, LogError> {
        self.append_record(CHECKPOINT_SUBJECT, payload, None, "checkpoint")
            .await
    }

    async fn append_record(
        &self,
        subject: &'static str,
        payload: Vec<u8>,
        expected_last_sequence: Option<u64>,
        record_type: &'static str,
    ) -> Result<Appended, LogError> {
        let mut message = PublishMessage::build()
            .payload(Bytes::from(payload))
            .header("Dondoc-Record-Type", record_type);
        if let Some(expected) = expected_last_sequence {
            message = message.expected_last_subject_sequence(expected);
        }
        let ack = self
            .jetstream
            .send_publish(subject.to_owned(), message)
            .await
            .map_err(|err| unavailable("sending a log record")(&err))?
            .await
            .map_err(|err| match err.kind() {
                PublishErrorKind::WrongLastSequence => LogError::Conflict {
                    subject: subject.to_owned(),
                    expected_last_sequence: expected_last_sequence.unwrap_or_default(),
                },
                _ => unavailable("awaiting a log record's acknowledgement")(&err),
            })?;
        Ok(Appended {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Every message of the stream from sequence 1 to the stream's last as of this
    /// call, raw (events, import commit records, key records, checkpoints, and anything
    /// foreign), oldest first: what a verifier walks. Flow-controlled like `replay`.
    pub async fn records(
        &self,
    ) -> Result<impl Stream<Item = Result<RawRecord, LogError>> + Send + Unpin + 'static, LogError>
    {
        let last = self.last_sequence().await?;
        let messages = if last == 0 {
            None
        } else {
            let consumer = self
                .stream
                .create_consumer(OrderedConfig {
                    filter_subject: STREAM_SUBJECTS.to_owned(),
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .map_err(|err| unavailable("creating a record consumer")(&err))?;
            Some(
                consumer
                    .messages()
                    .await
                    .map_err(|err| unavailable("starting a record consumer")(&err))?,
            )
        };
        Ok(
            futures::stream::unfold(messages, move |mut messages| async move {
                let delivered = messages.as_mut()?.next().await?;
                let record = delivered
                    .map_err(|err| unavailable("reading the event stream")(&err))
                    .and_then(|message| {
                        let sequence = message
                            .info()
                            .map_err(|err| {
                                unavailable("reading a message's stream sequence")(&*err)
                            })?
                            .stream_sequence;
                        Ok(RawRecord {
                            sequence,
                            subject: message.subject.to_string(),
                            payload: message.payload.clone(),
                        })
                    });
                match &record {
                    Ok(raw) if raw.sequence < last => {}
                    // The last message as of the call, or a failure: the walk ends after it.
                    _ => messages = None,
                }
                Some((record, messages))
            })
            .boxed(),
        )
    }
}
