//! Writing a plan import (module docs of the crate: an import's events take effect with
//! its commit record): atomic batches of at most `MAX_BATCH_MESSAGES` (ADR-50) where the
//! stream allows them, one message at a time where it does not, and the commit record
//! on `dondoc.events.import.<import id>`, written at most once.
//!
//! Invariants: a task's events are never split between two batches (only its first
//! event states the task's last sequence, which the server checks against the stream
//! as it was before the batch); the commit record is the last message written, so it
//! is stored only if every event before it is.

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::HeaderMap;
use bytes::Bytes;
use dondoc_domain::{EventEnvelope, ImportCommitted};
use uuid::Uuid;

use crate::{
    event_headers, task_subject, unavailable, Appended, EventLog, LogError, IMPORT_SUBJECT_PREFIX,
};

/// Messages per atomic batch: the server's default ceiling (`jetstream.limits.batch.max_msgs`).
pub const MAX_BATCH_MESSAGES: usize = 1000;

/// The subject of an import's commit record.
pub fn import_subject(import_id: &Uuid) -> String {
    format!("{IMPORT_SUBJECT_PREFIX}.{import_id}")
}

/// One task's events of an import, written after the task's message at stream
/// sequence `expected_last_sequence` (0 for a new task).
#[derive(Clone, Debug)]
pub struct TaskAppend {
    pub envelopes: Vec<EventEnvelope>,
    pub expected_last_sequence: u64,
}

impl EventLog {
    /// Writes an import: every task's events, then the commit record, which is what
    /// makes them take effect. Atomic batches of at most `MAX_BATCH_MESSAGES` where the
    /// stream allows them, a task's events never split between two. On `Conflict` (a
    /// task changed since it was read) nothing of the failed batch is stored; earlier
    /// batches are, as pending events that the caller completes by deciding again. On a
    /// commit record already stored (a concurrent retry) the answer is `Conflict` on
    /// the import subject: read it with `read_import_commit`.
    pub async fn append_import(
        &self,
        tasks: &[TaskAppend],
        commit: &ImportCommitted,
    ) -> Result<Appended, LogError> {
        let commit_subject = import_subject(&commit.import_id);
        let commit_payload = Bytes::from(commit.encode());
        if !self.atomic_batches {
            for task in tasks {
                let mut expected = task.expected_last_sequence;
                for envelope in &task.envelopes {
                    expected = self.append(envelope, expected).await?.sequence;
                }
            }
            return self.append_commit(&commit_subject, commit_payload).await;
        }
        let mut batch: Vec<(String, HeaderMap, Bytes)> = Vec::new();
        let mut chunks = Vec::new();
        for task in tasks {
            if batch.len() + task.envelopes.len() + 1 > MAX_BATCH_MESSAGES && !batch.is_empty() {
                chunks.push(std::mem::take(&mut batch));
            }
            for (index, envelope) in task.envelopes.iter().enumerate() {
                let mut headers = event_headers(envelope);
                // Only a task's first event states what it follows: the server checks
                // expectations against the stream as it was before the batch.
                if index == 0 {
                    headers.insert(
                        "Nats-Expected-Last-Subject-Sequence",
                        task.expected_last_sequence.to_string().as_str(),
                    );
                }
                batch.push((
                    task_subject(&envelope.plan_id, &envelope.task_id),
                    headers,
                    Bytes::from(envelope.encode()),
                ));
            }
        }
        let mut commit_headers = HeaderMap::new();
        commit_headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
        commit_headers.insert("Dondoc-Record-Type", "import_committed");
        batch.push((commit_subject.clone(), commit_headers, commit_payload));
        chunks.push(batch);
        let mut last = Appended {
            sequence: 0,
            duplicate: false,
        };
        for chunk in chunks {
            last = self.publish_atomic(chunk, &commit_subject).await?;
        }
        Ok(last)
    }

    /// One atomic batch (ADR-50): every message but the last is published without a
    /// reply (the server rejects the batch at its commit if any went missing), the
    /// last with `Nats-Batch-Commit` as a request answered by the batch's ack.
    async fn publish_atomic(
        &self,
        messages: Vec<(String, HeaderMap, Bytes)>,
        commit_subject: &str,
    ) -> Result<Appended, LogError> {
        let client = self.jetstream.client();
        let batch_id = Uuid::new_v4().simple().to_string();
        let count = messages.len();
        let mut last_subject = String::new();
        for (index, (subject, mut headers, payload)) in messages.into_iter().enumerate() {
            headers.insert("Nats-Batch-Id", batch_id.as_str());
            headers.insert("Nats-Batch-Sequence", (index + 1).to_string().as_str());
            if index + 1 < count {
                client
                    .publish_with_headers(subject, headers, payload)
                    .await
                    .map_err(|err| unavailable("sending an import batch")(&err))?;
                continue;
            }
            headers.insert("Nats-Batch-Commit", "1");
            last_subject = subject.clone();
            let reply = client
                .request_with_headers(subject, headers, payload)
                .await
                .map_err(|err| unavailable("committing an import batch")(&err))?;
            return batch_ack(&reply.payload, &last_subject, commit_subject);
        }
        Err(LogError::Unavailable {
            action: "committing an import batch",
            detail: format!("an empty batch for {last_subject}"),
        })
    }

    async fn append_commit(&self, subject: &str, payload: Bytes) -> Result<Appended, LogError> {
        let message = PublishMessage::build()
            .payload(payload)
            .expected_last_subject_sequence(0)
            .header("Dondoc-Record-Type", "import_committed");
        let ack = self
            .jetstream
            .send_publish(subject.to_owned(), message)
            .await
            .map_err(|err| unavailable("sending an import's commit record")(&err))?
            .await
            .map_err(|err| match err.kind() {
                PublishErrorKind::WrongLastSequence => LogError::Conflict {
                    subject: subject.to_owned(),
                    expected_last_sequence: 0,
                },
                _ => unavailable("awaiting an import commit's acknowledgement")(&err),
            })?;
        Ok(Appended {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// The commit record of import `import_id` and its stream sequence, if stored: read
    /// from the stream leader.
    pub async fn read_import_commit(
        &self,
        import_id: &Uuid,
    ) -> Result<Option<(u64, ImportCommitted)>, LogError> {
        let subject = import_subject(import_id);
        let result = self
            .stream
            .raw_message_builder()
            .last_by_subject(subject.clone())
            .send()
            .await;
        let message = match result {
            Ok(message) => message,
            Err(err) if err.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(err) => return Err(unavailable("reading an import's commit record")(&err)),
        };
        let record =
            ImportCommitted::decode(&message.payload).map_err(|err| LogError::Unreadable {
                sequence: message.sequence,
                subject,
                reason: err.to_string(),
            })?;
        Ok(Some((message.sequence, record)))
    }
}

/// Reads the reply to an atomic batch's commit: its ack, or the error that rejected it.
fn batch_ack(payload: &[u8], subject: &str, commit_subject: &str) -> Result<Appended, LogError> {
    #[derive(serde::Deserialize)]
    struct ApiError {
        #[serde(default)]
        err_code: u64,
        #[serde(default)]
        description: String,
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        error: Option<ApiError>,
        #[serde(default)]
        seq: u64,
        #[serde(default)]
        duplicate: bool,
    }
    let reply: Reply = serde_json::from_slice(payload).map_err(|err| LogError::Unavailable {
        action: "reading an import batch's acknowledgement",
        detail: format!("{err}: {}", String::from_utf8_lossy(payload)),
    })?;
    match reply.error {
        None => Ok(Appended {
            sequence: reply.seq,
            duplicate: reply.duplicate,
        }),
        // 10071: wrong last sequence (10164 is how a clustered stream says it while
        // another write to the subject is in flight).
        Some(error) if matches!(error.err_code, 10071 | 10164) => Err(LogError::Conflict {
            subject: if error.description.contains(commit_subject) {
                commit_subject.to_owned()
            } else {
                subject.to_owned()
            },
            expected_last_sequence: 0,
        }),
        Some(error) => Err(LogError::Unavailable {
            action: "committing an import batch",
            detail: format!("{} (error {})", error.description, error.err_code),
        }),
    }
}
