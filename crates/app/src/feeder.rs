//! The projection feeder: follows the event stream from the projection's checkpoint and
//! applies each event, forever, resubscribing from the checkpoint after any failure. A
//! message that is not an event dondoc can apply is quarantined (recorded in the
//! projection with the checkpoint, never applied), so one foreign message never stops
//! the projection. An import's events are held until its commit record and then
//! applied at once (`ProjectionStore::commit_import`).
//!
//! Why an ordered consumer from the sled checkpoint and not a durable consumer's acks:
//! the checkpoint is written in the same sled transaction as the change it covers, so
//! it is the one position that can never disagree with the projection. A second
//! position kept by JetStream could. It also lets any number of projection replicas
//! follow the stream independently, each with its own store.

use std::time::Duration;

use dondoc_domain::TaskId;
use dondoc_eventlog::{EventLog, LogError, LogRecord};
use dondoc_projection::ApplyOutcome;
use dondoc_projection::{ProjectionError, ProjectionStore, Quarantined};
use futures::StreamExt;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

const RETRY_PAUSE_MIN: Duration = Duration::from_millis(100);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(5);
/// Change notifications buffered per subscriber; one that falls further behind is told
/// it lagged (and the deadline worker rebuilds its agenda).
const CHANGE_BUFFER: usize = 4096;

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
            },
            ProjectionProgress(receiver),
        ))
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
        if let Err(error) = self.store.flush() {
            tracing::warn!(%error, "flushing the projection on shutdown failed");
        }
    }

    /// Follows the stream from the checkpoint until the subscription fails.
    async fn follow_once(&self) -> Result<(), String> {
        let checkpoint = self.store.checkpoint().map_err(|err| err.to_string())?;
        self.progress.send_replace(checkpoint);
        let mut events = self
            .log
            .follow(checkpoint + 1)
            .await
            .map_err(|err| err.to_string())?;
        tracing::info!(
            from = checkpoint + 1,
            "projection following the event stream"
        );
        while let Some(item) = events.next().await {
            let applied = apply_record(&self.store, item).map_err(|err| err.to_string())?;
            // The changes go out before the progress: whoever reads the progress and
            // then drains its changes has seen every change up to it (the worker's
            // `settled` relies on this). No subscriber is not an error: the worker is
            // optional.
            for task_id in applied.changed {
                let _ = self.changes.send(task_id);
            }
            self.progress.send_replace(applied.sequence);
        }
        Err("event subscription ended".to_owned())
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
/// import), an import's commit record (its held events applied), or a message that is
/// not an event dondoc can apply (quarantined: kept aside, never applied, and the
/// projection goes on). A failure of the subscription itself is the caller's to
/// handle (it resubscribes from the checkpoint).
pub(crate) fn apply_record(
    store: &ProjectionStore,
    item: Result<LogRecord, LogError>,
) -> Result<AppliedRecord, FeedError> {
    match item {
        Ok(LogRecord::Event(recorded)) => {
            let outcome = store.apply(recorded.sequence, &recorded.envelope)?;
            let changed = if outcome == ApplyOutcome::Applied {
                vec![recorded.envelope.task_id]
            } else {
                Vec::new()
            };
            Ok(AppliedRecord {
                sequence: recorded.sequence,
                changed,
            })
        }
        Ok(LogRecord::ImportCommitted { sequence, record }) => {
            let changed = store.commit_import(sequence, &record.import_id)?;
            tracing::info!(
                import = %record.import_id,
                plan = %record.plan_id,
                tasks = changed.len(),
                "an import took effect"
            );
            Ok(AppliedRecord { sequence, changed })
        }
        Err(LogError::Unreadable {
            sequence,
            subject,
            reason,
        }) => {
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
        Err(other) => Err(FeedError::Log(other)),
    }
}

/// Why applying a delivered item failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}
