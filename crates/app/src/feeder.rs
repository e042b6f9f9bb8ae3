//! The projection feeder: follows the event stream from the projection's checkpoint and
//! applies each event, forever, resubscribing from the checkpoint after any failure. A
//! message that is not an event dondoc can apply is quarantined (recorded in the
//! projection with the checkpoint, never applied), so one foreign message never stops
//! the projection. An import's events are held until its commit record and then
//! applied at once (`ProjectionStore::commit_import`). From the first key record on,
//! a record not signed by the key on record (`signing::Trust`), or an event that does
//! not chain onto its task, is quarantined too: nothing foreign is applied.
//!
//! With a deployment key, the feeder also appends signed checkpoints of every chain
//! head (per plan: tasks, events, a digest of the heads) at an interval and when it
//! stops, computed between two records so each is exactly the log up to its
//! `at_sequence`.
//!
//! Why an ordered consumer from the sled checkpoint and not a durable consumer's acks:
//! the checkpoint is written in the same sled transaction as the change it covers, so
//! it is the one position that can never disagree with the projection. A second
//! position kept by JetStream could. It also lets any number of projection replicas
//! follow the stream independently, each with its own store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dondoc_domain::{CheckpointBuilder, DeploymentKey, TaskId};
use dondoc_eventlog::{EventLog, LogError, LogRecord};
use dondoc_projection::ApplyOutcome;
use dondoc_projection::{ProjectionBatch, ProjectionError, ProjectionStore, Quarantined};
use futures::StreamExt;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use uuid::Uuid;

use crate::clock::Clock;
use crate::signing::Trust;

const RETRY_PAUSE_MIN: Duration = Duration::from_millis(100);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(5);
/// Change notifications buffered per subscriber; one that falls further behind is told
/// it lagged (and the deadline worker rebuilds its agenda).
const CHANGE_BUFFER: usize = 4096;
/// The most stream records applied in one projection batch: what the subscription has
/// ready, up to this many, goes in one sled write.
const BATCH_RECORDS: usize = 512;

/// Read side of the feeder's progress: the last stream sequence the projection applied.
#[derive(Clone, Debug)]
pub struct ProjectionProgress(watch::Receiver<u64>);

impl ProjectionProgress {
    pub fn applied(&self) -> u64 {
        *self.0.borrow()
    }

    /// Waits for the next change; false on reaching `deadline` (or if the feeder is gone).
    pub async fn wait_for_change_until(&mut self, deadline: Instant) -> bool {
        matches!(
            tokio::time::timeout_at(deadline, self.0.changed()).await,
            Ok(Ok(()))
        )
    }
}

#[derive(Debug)]
pub struct ProjectionFeeder {
    log: EventLog,
    store: ProjectionStore,
    progress: watch::Sender<u64>,
    changes: broadcast::Sender<TaskId>,
    checkpoints: Option<Checkpoints>,
}

/// How the feeder writes signed checkpoints of the chain heads.
#[derive(Debug)]
pub struct Checkpoints {
    pub key: DeploymentKey,
    pub clock: Arc<dyn Clock>,
    /// How often, while the log grows.
    pub every: Duration,
    /// Recorded as the checkpoint's actor.
    pub actor: String,
    /// (the last record other than a checkpoint applied, the `at_sequence` of the
    /// last checkpoint written): a checkpoint is due when the first is beyond the
    /// second.
    state: Mutex<(u64, u64)>,
}

impl Checkpoints {
    pub fn new(key: DeploymentKey, clock: Arc<dyn Clock>, every: Duration, actor: &str) -> Self {
        Self {
            key,
            clock,
            every,
            actor: actor.to_owned(),
            state: Mutex::new((0, 0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, u64)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ProjectionFeeder {
    pub fn new(
        log: EventLog,
        store: ProjectionStore,
    ) -> Result<(Self, ProjectionProgress), ProjectionError> {
        let (progress, receiver) = watch::channel(store.checkpoint()?);
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        Ok((
            Self {
                log,
                store,
                progress,
                changes,
                checkpoints: None,
            },
            ProjectionProgress(receiver),
        ))
    }

    /// Writes signed checkpoints as it goes (module docs).
    pub fn with_checkpoints(mut self, checkpoints: Checkpoints) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// The id of every task the feeder changes from now on, once the change is applied.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<TaskId> {
        self.changes.subscribe()
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut pause = RETRY_PAUSE_MIN;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => break,
                result = self.follow_once() => {
                    match result {
                        Ok(()) => pause = RETRY_PAUSE_MIN,
                        Err(error) => {
                            tracing::warn!(%error, retry_in = ?pause, "projection feeder interrupted");
                        }
                    }
                }
            }
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(RETRY_PAUSE_MAX);
        }
        if let Err(error) = self.write_checkpoint().await {
            tracing::warn!(%error, "writing the checkpoint on shutdown failed");
        }
        if let Err(error) = self.store.flush() {
            tracing::warn!(%error, "flushing the projection on shutdown failed");
        }
    }

    /// Appends a signed checkpoint of every chain head as of the projection's
    /// checkpoint, if records arrived since the last one.
    async fn write_checkpoint(&self) -> Result<(), String> {
        let Some(checkpoints) = &self.checkpoints else {
            return Ok(());
        };
        let (last_record, last_checkpoint) = *checkpoints.lock();
        if last_record <= last_checkpoint {
            return Ok(());
        }
        let at_sequence = self.store.checkpoint().map_err(|err| err.to_string())?;
        let mut builder = CheckpointBuilder::new();
        for (plan_id, task_id, version, hash) in
            self.store.chain_heads().map_err(|err| err.to_string())?
        {
            builder.add(plan_id, task_id, version, hash);
        }
        let checkpoint = builder.build(
            Uuid::new_v4(),
            dondoc_domain::in_vietnam(checkpoints.clock.now()),
            &checkpoints.actor,
            at_sequence,
        );
        let plans = checkpoint.plans.len();
        let appended = self
            .log
            .append_checkpoint(checkpoint.encode_signed(&checkpoints.key))
            .await
            .map_err(|err| err.to_string())?;
        checkpoints.lock().1 = at_sequence;
        tracing::info!(
            at_sequence,
            plans,
            sequence = appended.sequence,
            "appended a signed checkpoint of the chain heads"
        );
        Ok(())
    }

    /// Follows the stream from the checkpoint until the subscription fails.
    async fn follow_once(&self) -> Result<(), String> {
        let checkpoint = self.store.checkpoint().map_err(|err| err.to_string())?;
        self.progress.send_replace(checkpoint);
        // The keys on record as of the checkpoint: what the records after it are
        // checked against (later key records arrive in order).
        let key_records = self
            .log
            .key_records()
            .await
            .map_err(|err| err.to_string())?;
        let (mut trust, _) = Trust::from_key_records(
            key_records
                .iter()
                .filter(|record| record.sequence <= checkpoint),
        );
        let events = self
            .log
            .follow(checkpoint + 1)
            .await
            .map_err(|err| err.to_string())?;
        tracing::info!(
            from = checkpoint + 1,
            "projection following the event stream"
        );
        let every = self
            .checkpoints
            .as_ref()
            .map_or(Duration::from_secs(24 * 3600), |checkpoints| {
                checkpoints.every
            });
        let mut next_checkpoint = Instant::now() + every;
        let mut events = events.ready_chunks(BATCH_RECORDS);
        loop {
            let items = tokio::select! {
                items = events.next() => match items {
                    Some(items) => items,
                    None => break,
                },
                _ = tokio::time::sleep_until(next_checkpoint) => {
                    next_checkpoint = Instant::now() + every;
                    self.write_checkpoint().await?;
                    continue;
                }
            };
            // sled blocks (page cache misses, log writes): off the async workers.
            let store = self.store.clone();
            let (applied, returned_trust) = tokio::task::spawn_blocking(move || {
                let applied = apply_records(&store, &mut trust, items);
                (applied, trust)
            })
            .await
            .map_err(|err| format!("the projection's apply task failed: {err}"))?;
            trust = returned_trust;
            // The changes go out before the progress: whoever reads the progress and
            // then drains its changes has seen every change up to it (the worker's
            // `settled` relies on this). No subscriber is not an error: the worker is
            // optional.
            for task_id in applied.changed {
                let _ = self.changes.send(task_id);
            }
            if let Some(sequence) = applied.sequence {
                self.progress.send_replace(sequence);
            }
            if let (Some(checkpoints), Some(sequence)) =
                (&self.checkpoints, applied.last_not_checkpoint)
            {
                checkpoints.lock().0 = sequence;
            }
            if let Some(error) = applied.failure {
                return Err(error);
            }
        }
        Err("event subscription ended".to_owned())
    }
}

/// What a batch of messages did to the projection, once committed.
#[derive(Debug, Default)]
struct AppliedBatch {
    /// The last stream sequence applied, if any.
    sequence: Option<u64>,
    /// The last one that was not a checkpoint record.
    last_not_checkpoint: Option<u64>,
    changed: Vec<TaskId>,
    /// Why the batch stopped before its end: what was applied before is committed.
    failure: Option<String>,
}

/// Applies the items in order in one projection batch and commits it (module docs of
/// `dondoc_projection::store`): one sled write for many records, and a new batch at each
/// import's commit record. An item that fails ends the batch; the items before it are
/// committed.
fn apply_records(
    store: &ProjectionStore,
    trust: &mut Trust,
    items: Vec<Result<LogRecord, LogError>>,
) -> AppliedBatch {
    let mut batch = store.batch();
    // What the batches committed so far applied, and what the open one has staged.
    let mut committed = AppliedBatch::default();
    let mut applied = AppliedBatch::default();
    for item in items {
        let is_checkpoint = matches!(item, Ok(LogRecord::Checkpoint { .. }));
        if matches!(item, Ok(LogRecord::ImportCommitted { .. })) && !batch.is_empty() {
            // An import's commit applies all its events in one operation: first in its
            // batch, it keeps no undo log (`ProjectionBatch`), the largest transient
            // of a large import.
            if let Err(error) = std::mem::replace(&mut batch, store.batch()).commit() {
                return AppliedBatch {
                    failure: Some(error.to_string()),
                    ..committed
                };
            }
            committed.absorb(std::mem::take(&mut applied));
        }
        match apply_record(&mut batch, trust, item) {
            Ok(record) => {
                applied.sequence = Some(record.sequence);
                if !is_checkpoint {
                    applied.last_not_checkpoint = Some(record.sequence);
                }
                applied.changed.extend(record.changed);
            }
            Err(error) => {
                applied.failure = Some(error.to_string());
                break;
            }
        }
    }
    if let Err(error) = batch.commit() {
        // Nothing of the open batch is applied: the feeder resubscribes from the
        // checkpoint.
        return AppliedBatch {
            failure: Some(error.to_string()),
            ..committed
        };
    }
    committed.absorb(applied);
    committed
}

impl AppliedBatch {
    /// Adds what a later batch applied.
    fn absorb(&mut self, later: AppliedBatch) {
        self.sequence = later.sequence.or(self.sequence);
        self.last_not_checkpoint = later.last_not_checkpoint.or(self.last_not_checkpoint);
        self.changed.extend(later.changed);
        self.failure = later.failure.or(self.failure.take());
    }
}

/// What one message of the stream did to the projection.
#[derive(Debug)]
pub(crate) struct AppliedRecord {
    pub sequence: u64,
    /// Tasks whose view changed.
    pub changed: Vec<TaskId>,
}

/// Applies one item the event stream delivered: an event (applied or held for its
/// import), an import's commit record (its held events applied), a key record (the
/// keys on record grow), a checkpoint (noted), or a message that is not something
/// dondoc can apply: unreadable, not signed by the key on record (`trust`), or an event
/// that does not chain onto its task. Those are quarantined: kept aside with the
/// reason, never applied, and the projection goes on. A failure of the subscription
/// itself is the caller's to handle (it resubscribes from the checkpoint).
pub(crate) fn apply_record(
    store: &mut ProjectionBatch<'_>,
    trust: &mut Trust,
    item: Result<LogRecord, LogError>,
) -> Result<AppliedRecord, FeedError> {
    let record = match item {
        Ok(record) => record,
        Err(LogError::Unreadable {
            sequence,
            subject,
            reason,
        }) => return quarantine(store, sequence, subject, reason),
        Err(other) => return Err(FeedError::Log(other)),
    };
    let nothing_changed = |sequence| AppliedRecord {
        sequence,
        changed: Vec::new(),
    };
    match record {
        LogRecord::Event(recorded) => {
            let sequence = recorded.sequence;
            let subject = dondoc_eventlog::task_subject(
                &recorded.envelope.plan_id,
                &recorded.envelope.task_id,
            );
            if let Err(error) = trust.admits(sequence, &recorded.payload) {
                return quarantine(store, sequence, subject, error.to_string());
            }
            let outcome = match store.apply(sequence, &recorded.envelope) {
                Ok(outcome) => outcome,
                Err(ProjectionError::Unchained { reason, .. }) => {
                    return quarantine(store, sequence, subject, reason)
                }
                Err(other) => return Err(other.into()),
            };
            let changed = if outcome == ApplyOutcome::Applied {
                vec![recorded.envelope.task_id]
            } else {
                Vec::new()
            };
            Ok(AppliedRecord { sequence, changed })
        }
        LogRecord::ImportCommitted {
            sequence,
            record,
            payload,
        } => {
            if let Err(error) = trust.admits(sequence, &payload) {
                let subject = dondoc_eventlog::import_subject(&record.import_id);
                return quarantine(store, sequence, subject, error.to_string());
            }
            let changed = store.commit_import(sequence, &record.import_id)?;
            tracing::info!(
                import = %record.import_id,
                plan = %record.plan_id,
                tasks = changed.len(),
                "an import took effect"
            );
            Ok(AppliedRecord { sequence, changed })
        }
        LogRecord::Key { sequence, payload } => {
            if let Err(reason) = trust.push_key_record(sequence, &payload) {
                let subject = dondoc_eventlog::KEYS_SUBJECT.to_owned();
                return quarantine(store, sequence, subject, reason);
            }
            store.note_record(sequence)?;
            Ok(nothing_changed(sequence))
        }
        LogRecord::Checkpoint { sequence, payload } => {
            if let Err(error) = trust.admits(sequence, &payload) {
                let subject = dondoc_eventlog::CHECKPOINT_SUBJECT.to_owned();
                return quarantine(store, sequence, subject, error.to_string());
            }
            store.note_record(sequence)?;
            Ok(nothing_changed(sequence))
        }
    }
}

fn quarantine(
    store: &mut ProjectionBatch<'_>,
    sequence: u64,
    subject: String,
    reason: String,
) -> Result<AppliedRecord, FeedError> {
    tracing::error!(sequence, %subject, %reason, "quarantined a message of the event stream");
    store.quarantine(&Quarantined {
        sequence,
        subject,
        reason,
    })?;
    Ok(AppliedRecord {
        sequence,
        changed: Vec::new(),
    })
}

/// Why applying a delivered item failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}
