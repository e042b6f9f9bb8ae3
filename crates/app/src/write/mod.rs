//! The command loop: the one path by which anything is appended to a task.
//!
//! A command runs as: take the task's history (the cached one; on a retry, or with
//! none cached, the cached one brought up to date from the stream leader) → build the
//! command from it (a use case puts the facts `decide` needs into it, e.g. who owes a
//! duty now) → if its request id is already in the history, answer with the outcome it
//! had → check the pinned version → `decide` → append each event sealed to the previous
//! one, stating the task's last stream sequence. A conflicting append means another
//! writer got there first (or the cache was behind): with a pinned version, on a
//! history read from the log, that is the client's conflict (ABORTED); otherwise the
//! command is built and decided again on the fresh history, a bounded number of times.
//! An answer without an append (an error, a no-op) is only given on a history read from
//! the log in this command, so a cache behind the log never answers for it.
//!
//! Commands for one task queue in this process (`TaskQueues`): one at a time per task,
//! in arrival order, so that concurrent clients of one task do not race each other
//! into conflicts; only another process's append can still make one lose a race.
//!
//! A task with events of an import that has no commit record yet takes no command
//! (`AppError::ImportUnfinished`) but that import's own retry, which completes it: the
//! read side holds those events back until the commit, so anything decided on them
//! would be invisible, and anything decided without them would fork the task.
//!
//! Only use cases of this crate call `execute` (it is not public): the API and the
//! binaries reach commands through named entry points (`Commands`, `Imports`, the
//! deadline worker), which decide what each caller may ask.

mod history;

pub use history::{TaskHistories, TaskHistory};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use dondoc_domain::{
    decide, DomainError, EventEnvelope, PlanId, RequestId, TaskCommand, TaskEvent, TaskId,
};
use dondoc_eventlog::{EventLog, LogError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::AppError;
use crate::signing::Signing;

/// How often a command is built and decided again after losing a race it did not pin.
const MAX_ATTEMPTS: usize = 5;

/// A FIFO queue per task with commands in flight: a tokio mutex per task (fair, so in
/// arrival order), kept while anyone holds or waits for it and dropped after.
#[derive(Clone, Debug, Default)]
struct TaskQueues {
    queues: Arc<Mutex<std::collections::HashMap<TaskId, std::sync::Weak<tokio::sync::Mutex<()>>>>>,
}

impl TaskQueues {
    /// Waits for `task_id`'s turn; the task's next command runs once it is dropped.
    async fn turn(&self, task_id: TaskId) -> tokio::sync::OwnedMutexGuard<()> {
        let queue = {
            let mut queues = self
                .queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let queue = queues
                .get(&task_id)
                .and_then(std::sync::Weak::upgrade)
                .unwrap_or_else(|| {
                    let queue = Arc::new(tokio::sync::Mutex::new(()));
                    queues.insert(task_id, Arc::downgrade(&queue));
                    queue
                });
            // Forget the tasks nobody is queued on any more, now and then.
            if queues.len() > 1024 {
                queues.retain(|_, queue| queue.strong_count() > 0);
            }
            queue
        };
        queue.lock_owned().await
    }
}

/// Who sent a command, and how it must relate to the task's state.
#[derive(Clone, Debug)]
pub struct CommandMeta {
    pub request_id: RequestId,
    /// Who sends it: authorized before `decide` (`access.rs`); its subject is the actor
    /// recorded on the command's events.
    pub caller: crate::access::Caller,
    /// Refuse the command unless the task is at exactly this version.
    pub expected_version: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    pub task_id: TaskId,
    /// The task's version after the command.
    pub version: u64,
    /// Stream sequence of the command's last event (of the task's last event when the
    /// command changed nothing): a `min_sequence` for reads.
    pub stream_sequence: u64,
    /// No new event: a retried request, or a command that changed nothing.
    pub unchanged: bool,
}

/// The plan a task's subject names, for a task whose subject holds only foreign
/// messages (`dondoc.events.task.<plan>.<task>`).
fn plan_of_subject(read: &dondoc_eventlog::TaskMessages) -> PlanId {
    read.foreign
        .iter()
        .find_map(|foreign| match foreign {
            LogError::Unreadable { subject, .. } => subject
                .rsplit('.')
                .nth(1)
                .and_then(|plan| PlanId::parse(plan).ok()),
            _ => None,
        })
        .unwrap_or_else(|| PlanId::parse("unknown").expect("a valid plan id"))
}

/// What a command comes to on one history, before any append.
enum Prepared {
    /// Its request id is in the history: the outcome it had.
    Recorded(CommandOutcome),
    /// It changes nothing.
    Unchanged(CommandOutcome),
    /// Events to append, decided at that instant.
    Append(Vec<TaskEvent>, OffsetDateTime),
}

/// Loads histories and runs commands. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    log: EventLog,
    /// The directory, to authorize callers by their agency.
    agencies: crate::agencies::Agencies,
    clock: Arc<dyn Clock>,
    /// The key it signs with, and the keys on record: an event on a task's subject not
    /// signed by one is not the task's (skipped, as the projection quarantines it).
    signing: Arc<Signing>,
    histories: TaskHistories,
    /// One queue per task with commands in flight (module docs).
    queues: TaskQueues,
    /// Imports whose commit record this process has seen: they never become
    /// uncommitted again, so each is looked up in the log once.
    committed_imports: Arc<Mutex<HashSet<Uuid>>>,
}

/// What deciding a command for an import gave: the history it was decided on and the
/// events to append (none: the task already is as the import has it).
#[derive(Debug)]
pub(crate) struct Decided {
    pub history: Arc<TaskHistory>,
    pub events: Vec<TaskEvent>,
    pub decided_at: OffsetDateTime,
}

impl Writer {
    pub(crate) fn new(
        log: EventLog,
        clock: Arc<dyn Clock>,
        signing: Arc<Signing>,
        agencies: crate::agencies::Agencies,
    ) -> Self {
        Self {
            log,
            agencies,
            clock,
            signing,
            histories: TaskHistories::default(),
            queues: TaskQueues::default(),
            committed_imports: Arc::default(),
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The key this process signs what it appends with.
    pub(crate) fn key(&self) -> &dondoc_domain::DeploymentKey {
        self.signing.key()
    }

    /// Refuses a task whose latest import events have no commit record, unless they
    /// are `own` import's (module docs).
    pub(crate) async fn ensure_import_settled(
        &self,
        history: &TaskHistory,
        own: Option<Uuid>,
    ) -> Result<(), AppError> {
        let Some(mark) = &history.import else {
            return Ok(());
        };
        if Some(mark.import_id) == own || self.import_known_committed(&mark.import_id) {
            return Ok(());
        }
        if self
            .log
            .read_import_commit(&mark.import_id)
            .await?
            .is_some()
        {
            self.note_import_committed(mark.import_id);
            return Ok(());
        }
        let suffix = format!(":{}", history.task_id);
        Err(AppError::ImportUnfinished {
            task_id: history.task_id,
            plan_id: history.plan_id.clone(),
            import_id: mark.import_id,
            request_id: mark
                .request_id
                .strip_suffix(&suffix)
                .unwrap_or(&mark.request_id)
                .to_owned(),
        })
    }

    fn import_known_committed(&self, import_id: &Uuid) -> bool {
        self.committed_imports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(import_id)
    }

    pub(crate) fn note_import_committed(&self, import_id: Uuid) {
        self.committed_imports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(import_id);
    }

    /// Decides `command` on the task as the log has it at `decided_at`, for import
    /// `import_id`, without appending: the import writes every task's events together
    /// (`import/`), all stamped with the one instant it is decided at.
    pub(crate) async fn decide_for_import(
        &self,
        task_id: TaskId,
        plan_id: &PlanId,
        import_id: Uuid,
        command: &TaskCommand,
        decided_at: OffsetDateTime,
    ) -> Result<Decided, AppError> {
        let history = match self.load(task_id, Some(plan_id)).await? {
            Some(history) => history,
            None => Arc::new(TaskHistory::empty(task_id, plan_id.clone())),
        };
        self.ensure_import_settled(&history, Some(import_id))
            .await?;
        let events = decide(&history.state, command, decided_at).map_err(|error| match error {
            DomainError::NotAssigned => AppError::TaskNotFound(task_id),
            other => AppError::Domain(other),
        })?;
        Ok(Decided {
            history,
            events,
            decided_at,
        })
    }

    pub(crate) fn log(&self) -> &EventLog {
        &self.log
    }

    /// Runs the command `build` makes from the task's history on `task_id`. `plan_id` is
    /// required to create a task and optional otherwise (the task's own plan is used).
    pub(crate) async fn execute(
        &self,
        task_id: TaskId,
        plan_id: Option<&PlanId>,
        meta: &CommandMeta,
        build: impl Fn(&TaskHistory, OffsetDateTime) -> Result<TaskCommand, AppError>,
    ) -> Result<CommandOutcome, AppError> {
        // Held until the command is answered: the task's next command waits its turn.
        let _turn = self.queues.turn(task_id).await;
        // The first attempt decides on the cached history without asking the log (one
        // round trip fewer per command): its append states the history's last
        // sequence, so a cache behind the log only loses the race. What is answered
        // without an append (an error, a no-op) is trusted on a history just read from
        // the log only; a recorded request id is trusted on any (the cache is never
        // wrong, only behind).
        let mut unverified = self.histories.take(&task_id);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (history, verified) = match unverified.take() {
                Some(history) => (history, false),
                None => match self.load(task_id, plan_id).await? {
                    Some(history) => (history, true),
                    None => {
                        let plan_id = plan_id.ok_or(AppError::TaskNotFound(task_id))?;
                        (Arc::new(TaskHistory::empty(task_id, plan_id.clone())), true)
                    }
                },
            };
            let prepared = self.prepare(&history, meta, &build).await;
            let (events, now) = match prepared {
                Ok(Prepared::Append(events, now)) => (events, now),
                other => {
                    // Answered without an append: the history goes back as it was.
                    self.histories.put(history);
                    match other {
                        Ok(Prepared::Recorded(outcome)) => return Ok(outcome),
                        Ok(Prepared::Unchanged(outcome)) if verified => return Ok(outcome),
                        Err(error) if verified => return Err(error),
                        // Judged on a cached history: judge again on the log's.
                        _ => continue,
                    }
                }
            };
            let (plan_of_task, version_decided_on) =
                (history.plan_id.clone(), history.state.version);
            match self.append_all(history, events, meta, now, verified).await {
                Ok(outcome) => return Ok(outcome),
                Err(LogError::Conflict { .. }) if !verified => {
                    tracing::debug!(%task_id, "the cached history was behind the log; deciding again");
                }
                Err(LogError::Conflict { .. })
                    if meta.expected_version.is_none() && attempt < MAX_ATTEMPTS =>
                {
                    tracing::debug!(%task_id, attempt, "lost an append race; deciding again");
                }
                Err(LogError::Conflict { .. }) if meta.expected_version.is_some() => {
                    let actual = self
                        .load(task_id, Some(&plan_of_task))
                        .await?
                        .map_or(0, |fresh| fresh.state.version);
                    return Err(AppError::VersionConflict {
                        task_id,
                        expected: version_decided_on,
                        actual,
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Builds, authorizes and decides the command on `history` (module docs): what to
    /// append, or the answer without an append.
    async fn prepare(
        &self,
        history: &TaskHistory,
        meta: &CommandMeta,
        build: &impl Fn(&TaskHistory, OffsetDateTime) -> Result<TaskCommand, AppError>,
    ) -> Result<Prepared, AppError> {
        let task_id = history.task_id;
        self.ensure_import_settled(history, None).await?;
        let now = self.clock.now();
        let command = build(history, now)?;
        crate::access::authorize_command(
            &meta.caller,
            &command,
            &history.state,
            &history.plan_id,
            &self.agencies,
        )?;
        // A command whose outcome depends only on the state (assign, flag, overdue)
        // is decided again, so a retry completes one interrupted between its events;
        // any other command already in the history is answered from it.
        let answered = history
            .outcome_of(meta.request_id.as_str())
            .filter(|_| !command.converges());
        if let Some((version, stream_sequence)) = answered {
            // The payment-API rule: a key names one request. The same command again
            // gets its first outcome; another command under the key is refused.
            if !command.matches_recorded(&history.state, version) {
                return Err(AppError::RequestIdReused {
                    task_id,
                    request_id: meta.request_id.clone(),
                });
            }
            return Ok(Prepared::Recorded(CommandOutcome {
                task_id,
                version,
                stream_sequence,
                unchanged: true,
            }));
        }
        if let Some(expected) = meta.expected_version {
            if expected != history.state.version {
                return Err(AppError::VersionConflict {
                    task_id,
                    expected,
                    actual: history.state.version,
                });
            }
        }
        let events = decide(&history.state, &command, now).map_err(|error| match error {
            DomainError::NotAssigned => AppError::TaskNotFound(task_id),
            other => AppError::Domain(other),
        })?;
        if events.is_empty() {
            return Ok(Prepared::Unchanged(CommandOutcome {
                task_id,
                version: history.state.version,
                stream_sequence: history.last_sequence,
                unchanged: true,
            }));
        }
        Ok(Prepared::Append(events, now))
    }

    /// Appends `events` after `history`, each sealed to the one before, and keeps the
    /// history they make in the cache (what was appended of them, if an append fails).
    ///
    /// On a history not `verified` against the log, a duplicate (an earlier attempt's
    /// event under the message id) is a conflict: its outcome is read from the log's.
    async fn append_all(
        &self,
        history: Arc<TaskHistory>,
        events: Vec<dondoc_domain::TaskEvent>,
        meta: &CommandMeta,
        now: OffsetDateTime,
        verified: bool,
    ) -> Result<CommandOutcome, LogError> {
        // The only reference when it was taken from the cache: changed in place.
        let mut next = Arc::try_unwrap(history).unwrap_or_else(|shared| (*shared).clone());
        let appended = self
            .append_events(&mut next, events, meta, now, verified)
            .await;
        self.histories.put(Arc::new(next));
        appended
    }

    async fn append_events(
        &self,
        next: &mut TaskHistory,
        events: Vec<dondoc_domain::TaskEvent>,
        meta: &CommandMeta,
        now: OffsetDateTime,
        verified: bool,
    ) -> Result<CommandOutcome, LogError> {
        let mut all_duplicates = true;
        let count = events.len();
        for (index, event) in events.into_iter().enumerate() {
            let envelope = EventEnvelope::new(
                Uuid::new_v4(),
                next.task_id,
                next.plan_id.clone(),
                next.state.version + 1,
                now,
                meta.caller.subject.clone(),
                meta.request_id.clone(),
                event,
            )
            .signed(next.last_hash.clone(), self.signing.key());
            let appended = self.log.append(&envelope, next.last_sequence).await?;
            if appended.duplicate {
                // The log holds an earlier attempt's event under this message id, whose
                // hash is not ours: chaining the next event to ours would break the
                // chain, and caching ours would misstate the head. Decide again on the
                // task as the log has it.
                if index + 1 < count || !verified {
                    return Err(LogError::Conflict {
                        subject: dondoc_eventlog::task_subject(&next.plan_id, &next.task_id),
                        expected_last_sequence: next.last_sequence,
                    });
                }
                return Ok(CommandOutcome {
                    task_id: next.task_id,
                    version: envelope.version,
                    stream_sequence: appended.sequence,
                    unchanged: all_duplicates,
                });
            }
            all_duplicates = false;
            if next.record(appended.sequence, &envelope).is_err() {
                // Cannot happen (the envelope's version follows `next` by construction);
                // should it, the history is not trusted: cached as empty (behind the
                // log, read again whole), and decided again on the log's.
                *next = TaskHistory::empty(next.task_id, next.plan_id.clone());
                return Err(LogError::Conflict {
                    subject: dondoc_eventlog::task_subject(&next.plan_id, &next.task_id),
                    expected_last_sequence: appended.sequence,
                });
            }
        }
        Ok(CommandOutcome {
            task_id: next.task_id,
            version: next.state.version,
            stream_sequence: next.last_sequence,
            unchanged: false,
        })
    }

    /// The cached history of the task, if any, without asking the log: possibly behind
    /// it, never ahead.
    pub(crate) fn cached(&self, task_id: &TaskId) -> Option<Arc<TaskHistory>> {
        self.histories.get(task_id)
    }

    /// The task as the log has it now: the cached history brought up to date from the
    /// stream leader. `None` if the task has no events.
    pub(crate) async fn load(
        &self,
        task_id: TaskId,
        plan_id: Option<&PlanId>,
    ) -> Result<Option<Arc<TaskHistory>>, AppError> {
        let cached = self.histories.get(&task_id);
        let (plan_hint, after) = match &cached {
            Some(history) => (Some(&history.plan_id), history.last_sequence),
            None => (plan_id, 0),
        };
        let mut read = self.log.read_task(plan_hint, &task_id, after).await?;
        let trust = self.signing.trust();
        read.events.retain(|event| {
            match trust.admits_any_key(event.sequence, &event.payload) {
                Ok(()) => true,
                Err(reason) => {
                    // Forged or foreign: never applied (the projection quarantines it).
                    tracing::warn!(%task_id, sequence = event.sequence, %reason, "skipping an event on the task's subject");
                    false
                }
            }
        });
        for foreign in &read.foreign {
            // Not an event of this task (garbage, or written by something else): never
            // applied. The projection quarantines it; the task goes on with its events.
            tracing::warn!(%task_id, %foreign, "skipping a message on the task's subject");
        }
        if read.last_sequence == 0 {
            return Ok(cached);
        }
        let mut history = cached.unwrap_or_else(|| {
            let plan_id = read
                .events
                .first()
                .map(|event| event.envelope.plan_id.clone())
                .or_else(|| plan_id.cloned());
            Arc::new(TaskHistory::empty(
                task_id,
                // Only foreign messages and no plan named: the subject names it.
                plan_id.unwrap_or_else(|| plan_of_subject(&read)),
            ))
        });
        let updating = Arc::make_mut(&mut history);
        for recorded in &read.events {
            updating.record(recorded.sequence, &recorded.envelope)?;
        }
        // The next append states the subject's last message, event or not.
        updating.skip_to(read.last_sequence);
        self.histories.put(history.clone());
        Ok(Some(history))
    }
}
