//! `Tracker`: executes task commands and answers task queries.
//!
//! A command runs as: load the task (the projection's view, then whatever the stream
//! leader holds beyond it) → if its request id is already in the history, answer with
//! the version it produced → check the pinned version → `decide` → append each event
//! stating the task's last stream sequence. A conflicting append means another writer
//! got there first: with a pinned version that is the client's conflict (ABORTED);
//! without one the command is decided again on the fresh state, a bounded number of times.

use std::sync::Arc;
use std::time::Duration;

use dondoc_agencies::{AgencyDirectory, Resolution};
use dondoc_domain::{decide, AgencyName, EventEnvelope, PlanId, RequestId, TaskCommand, TaskId};
use dondoc_eventlog::{EventLog, LogError};
use dondoc_projection::{ProjectionStore, TaskPage, TaskQuery, TaskView};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::AppError;
use crate::feeder::ProjectionProgress;

/// How often a command is re-decided after losing a race it did not pin.
const MAX_ATTEMPTS: usize = 5;
/// How long a read waits for the projection to reach the version asked for.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

/// Who sent a command, and how it must relate to the task's state.
#[derive(Clone, Debug)]
pub struct CommandMeta {
    pub request_id: RequestId,
    pub actor: String,
    /// Refuse the command unless the task is at exactly this version.
    pub expected_version: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    pub task_id: TaskId,
    /// The task's version after the command.
    pub version: u64,
    /// Stream sequence of the task's last event (for `min_sequence` reads).
    pub stream_sequence: u64,
    /// No new event: a retried request, or a command that changed nothing.
    pub unchanged: bool,
}

#[derive(Clone, Debug)]
pub struct Tracker {
    log: EventLog,
    projection: ProjectionStore,
    progress: ProjectionProgress,
    clock: Arc<dyn Clock>,
    directory: Arc<AgencyDirectory>,
}

impl Tracker {
    pub fn new(
        log: EventLog,
        projection: ProjectionStore,
        progress: ProjectionProgress,
        clock: Arc<dyn Clock>,
        directory: Arc<AgencyDirectory>,
    ) -> Self {
        Self {
            log,
            projection,
            progress,
            clock,
            directory,
        }
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub fn directory(&self) -> &AgencyDirectory {
        &self.directory
    }

    pub(crate) fn projection(&self) -> &ProjectionStore {
        &self.projection
    }

    pub(crate) async fn log_last_sequence(&self) -> Result<u64, AppError> {
        Ok(self.log.last_sequence().await?)
    }

    /// The name tasks are stored under for an agency written any known way
    /// ("Sở TT&TT" → "Sở Thông tin và Truyền thông"); unknown names stay as written.
    pub fn canonical_agency(&self, written: &AgencyName) -> AgencyName {
        let canonical = match self.directory.resolve_for(None, written.as_str()) {
            Resolution::Agency(agency) => agency.name,
            Resolution::Group(group) => group.name,
            Resolution::Unknown { .. } => return written.clone(),
        };
        AgencyName::parse(&canonical).unwrap_or_else(|_| written.clone())
    }

    /// Runs `command` against `task_id`. `plan_id` is required to create a task and
    /// optional otherwise (the task's own plan is used).
    pub async fn execute(
        &self,
        task_id: TaskId,
        plan_id: Option<&PlanId>,
        command: &TaskCommand,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self.load(task_id, plan_id).await?;
            let view = match loaded {
                Some(view) => view,
                None => {
                    let plan_id = plan_id.ok_or(AppError::TaskNotFound(task_id))?;
                    TaskView::empty(task_id, plan_id.clone())
                }
            };
            // A command whose outcome depends only on the state (assign, flag, overdue)
            // is decided again, so a retry completes one interrupted between its events;
            // any other command already in the history is answered from it.
            let answered = view
                .version_for_request(meta.request_id.as_str())
                .filter(|_| !command.converges());
            if let Some(version) = answered {
                return Ok(CommandOutcome {
                    task_id,
                    version,
                    stream_sequence: view.last_sequence,
                    unchanged: true,
                });
            }
            if let Some(expected) = meta.expected_version {
                if expected != view.state.version {
                    return Err(AppError::VersionConflict {
                        task_id,
                        expected,
                        actual: view.state.version,
                    });
                }
            }
            let now = self.clock.now();
            let events = decide(&view.state, command, now).map_err(|error| match error {
                dondoc_domain::DomainError::NotAssigned => AppError::TaskNotFound(task_id),
                other => AppError::Domain(other),
            })?;
            if events.is_empty() {
                return Ok(CommandOutcome {
                    task_id,
                    version: view.state.version,
                    stream_sequence: view.last_sequence,
                    unchanged: true,
                });
            }
            match self.append_all(&view, events, meta, now).await {
                Ok(outcome) => return Ok(outcome),
                Err(LogError::Conflict { .. })
                    if meta.expected_version.is_none() && attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(%task_id, attempt, "lost an append race; deciding again");
                }
                Err(LogError::Conflict { .. }) if meta.expected_version.is_some() => {
                    let actual = self
                        .load(task_id, Some(&view.plan_id))
                        .await?
                        .map_or(0, |fresh| fresh.state.version);
                    return Err(AppError::VersionConflict {
                        task_id,
                        expected: view.state.version,
                        actual,
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    async fn append_all(
        &self,
        view: &TaskView,
        events: Vec<dondoc_domain::TaskEvent>,
        meta: &CommandMeta,
        now: time::OffsetDateTime,
    ) -> Result<CommandOutcome, LogError> {
        let mut version = view.state.version;
        let mut last_sequence = view.last_sequence;
        let mut last_hash = view.last_hash.clone();
        let mut all_duplicates = true;
        let count = events.len();
        for (index, event) in events.into_iter().enumerate() {
            version += 1;
            let envelope = EventEnvelope::new(
                Uuid::new_v4(),
                view.task_id,
                view.plan_id.clone(),
                version,
                now,
                meta.actor.clone(),
                meta.request_id.clone(),
                event,
            )
            .sealed(last_hash.take());
            let appended = self.log.append(&envelope, last_sequence).await?;
            if appended.duplicate && index + 1 < count {
                // The log holds an earlier attempt's event under this message id, whose
                // hash is not ours: chaining the next event to ours would break the
                // chain. Decide again on the task as the log has it.
                return Err(LogError::Conflict {
                    subject: dondoc_eventlog::task_subject(&view.plan_id, &view.task_id),
                    expected_last_sequence: last_sequence,
                });
            }
            all_duplicates &= appended.duplicate;
            last_sequence = appended.sequence;
            last_hash = envelope.hash;
        }
        Ok(CommandOutcome {
            task_id: view.task_id,
            version,
            stream_sequence: last_sequence,
            unchanged: all_duplicates,
        })
    }

    /// The task as the log has it now: the projection's view brought up to date from
    /// the stream leader. `None` if the task has no events.
    pub async fn load(
        &self,
        task_id: TaskId,
        plan_id: Option<&PlanId>,
    ) -> Result<Option<TaskView>, AppError> {
        let stored = self.projection.task(&task_id)?;
        let (plan_hint, after) = match &stored {
            Some(view) => (Some(&view.plan_id), view.last_sequence),
            None => (plan_id, 0),
        };
        let newer = self.log.read_task(plan_hint, &task_id, after).await?;
        let mut view = stored;
        for recorded in newer {
            let current = view
                .get_or_insert_with(|| TaskView::empty(task_id, recorded.envelope.plan_id.clone()));
            current
                .record(recorded.sequence, &recorded.envelope)
                .map_err(dondoc_projection::ProjectionError::Gap)?;
        }
        Ok(view)
    }

    /// The task from the projection, once it has reached `min_version` (0: as it is;
    /// a task the projection has not seen yet is read from the stream).
    pub async fn get_task(&self, task_id: TaskId, min_version: u64) -> Result<TaskView, AppError> {
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
        let mut progress = self.progress.clone();
        loop {
            match self.projection.task(&task_id)? {
                Some(view) if view.state.version >= min_version => return Ok(view),
                // Not projected yet: the stream decides whether the task exists, so a
                // task is never "not found" only because the projection lags.
                None if min_version == 0 => {
                    return self
                        .load(task_id, None)
                        .await?
                        .ok_or(AppError::TaskNotFound(task_id));
                }
                _ => {}
            }
            if !progress.wait_for_change_until(deadline).await {
                return match self.projection.task(&task_id)? {
                    Some(view) if view.state.version >= min_version => Ok(view),
                    _ => Err(AppError::NotCaughtUp(format!(
                        "task {task_id} has not reached version {min_version}"
                    ))),
                };
            }
        }
    }

    /// A page of tasks, once the projection has applied stream sequence `min_sequence`.
    pub async fn list_tasks(
        &self,
        query: &TaskQuery,
        min_sequence: u64,
    ) -> Result<TaskPage, AppError> {
        self.wait_for_sequence(min_sequence).await?;
        Ok(self.projection.list(query)?)
    }

    /// Waits until the projection has applied `min_sequence`, however long that takes,
    /// as long as it keeps moving: for a fresh projection catching up on the whole log
    /// (a worker process, `dondoc sweep`). Fails only if it stops advancing.
    pub async fn catch_up(&self, min_sequence: u64) -> Result<(), AppError> {
        loop {
            let before = self.progress.applied();
            match self.wait_for_sequence(min_sequence).await {
                Err(AppError::NotCaughtUp(_)) if self.progress.applied() > before => {
                    tracing::info!(
                        applied = self.progress.applied(),
                        target = min_sequence,
                        "projection catching up"
                    );
                }
                other => return other,
            }
        }
    }

    /// Waits until the projection has applied `min_sequence`.
    pub async fn wait_for_sequence(&self, min_sequence: u64) -> Result<(), AppError> {
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
        let mut progress = self.progress.clone();
        while progress.applied() < min_sequence {
            if !progress.wait_for_change_until(deadline).await {
                return Err(AppError::NotCaughtUp(format!(
                    "stream sequence {min_sequence} not applied yet (at {})",
                    progress.applied()
                )));
            }
        }
        Ok(())
    }
}
