//! The write side's state of a task (`TaskHistory`) and the in-process cache of it
//! (`TaskHistories`).
//!
//! What deciding and appending need, and nothing the read model keeps: the state
//! `decide` runs on, where the task's last event sits in the stream (the expected
//! subject sequence of the next append), the hash of that event (the next event's
//! `prev_hash`), and every request id of the history with the version and stream
//! sequence its event got (so a retried command is answered with its own outcome, long
//! after JetStream's duplicate window).
//!
//! Invariants: a `TaskHistory` is exactly its task's events up to `last_sequence`,
//! applied in version order without gaps. The cache is an optimisation only: an entry
//! may be behind the log (another process appended since), never ahead of it and never
//! wrong, because every use first reads whatever the stream leader holds after
//! `last_sequence`, and every append states that sequence.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use dondoc_domain::{apply, EventEnvelope, PlanId, Succession, TaskId, TaskState};

use crate::error::AppError;

/// How many tasks' histories a process keeps in memory. Beyond it the least recently
/// used is dropped (and read from the stream again when next needed).
pub const HISTORY_CACHE_CAPACITY: usize = 10_000;

/// One task as the write side knows it (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskHistory {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub state: TaskState,
    /// Stream sequence of the task's last event; 0 before the first.
    pub last_sequence: u64,
    /// The hash of the task's last event (`None` for none, or an unsealed one).
    pub last_hash: Option<String>,
    /// The import of the task's latest events from an import, if any: whether that
    /// import took effect decides whether the task takes other commands.
    pub import: Option<ImportMark>,
    /// Request id → (the version its event produced, that event's stream sequence).
    requests: BTreeMap<String, (u64, u64)>,
}

/// The latest import a task's history has events of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportMark {
    pub import_id: uuid::Uuid,
    /// The task's version before that import's first event on it (0: it created the task).
    pub version_before: u64,
    /// The request id of its first event on the task (the import's, extended by row).
    pub request_id: String,
}

impl TaskHistory {
    pub fn empty(task_id: TaskId, plan_id: PlanId) -> Self {
        Self {
            task_id,
            plan_id,
            state: TaskState::default(),
            last_sequence: 0,
            last_hash: None,
            import: None,
            requests: BTreeMap::new(),
        }
    }

    /// Applies the event stored at `sequence`, unless the history already has it.
    pub fn record(&mut self, sequence: u64, envelope: &EventEnvelope) -> Result<(), AppError> {
        match self.state.succession(envelope) {
            Ok(Succession::AlreadyApplied) => Ok(()),
            Ok(Succession::Next) => {
                self.state = apply(std::mem::take(&mut self.state), envelope);
                self.last_sequence = sequence;
                self.last_hash = envelope.hash.clone();
                if let Some(import_id) = envelope.import_id {
                    if self.import.as_ref().map(|mark| mark.import_id) != Some(import_id) {
                        self.import = Some(ImportMark {
                            import_id,
                            version_before: envelope.version.saturating_sub(1),
                            request_id: envelope.request_id.as_str().to_owned(),
                        });
                    }
                }
                self.requests.insert(
                    envelope.request_id.as_str().to_owned(),
                    (envelope.version, sequence),
                );
                Ok(())
            }
            Err(gap) => Err(AppError::VersionGap { sequence, gap }),
        }
    }

    /// Moves the last sequence on to a message of the task's subject that is not one of
    /// its events (skipped): the next append must state it.
    pub fn skip_to(&mut self, sequence: u64) {
        self.last_sequence = self.last_sequence.max(sequence);
    }

    /// The version and stream sequence a request id's event got, if it is in the
    /// history (for a command of several events: the last one's).
    pub fn outcome_of(&self, request_id: &str) -> Option<(u64, u64)> {
        self.requests.get(request_id).copied()
    }
}

/// The cache of histories, shared by every use case of a process (module docs).
#[derive(Clone, Debug, Default)]
pub struct TaskHistories {
    inner: Arc<Mutex<Cache>>,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<TaskId, (Arc<TaskHistory>, u64)>,
    /// Counts uses; an entry's second field is the count at its last use.
    clock: u64,
}

impl TaskHistories {
    /// The cached history of `task_id`, if any.
    pub fn get(&self, task_id: &TaskId) -> Option<Arc<TaskHistory>> {
        let mut cache = self.lock();
        cache.clock += 1;
        let now = cache.clock;
        let (history, used) = cache.entries.get_mut(task_id)?;
        *used = now;
        Some(history.clone())
    }

    /// Takes the cached history of `task_id` out of the cache: the caller (a command,
    /// holding the task's turn) then holds the only reference and changes it in place,
    /// instead of copying a history that may hold thousands of events. It puts it (or
    /// its successor) back.
    pub fn take(&self, task_id: &TaskId) -> Option<Arc<TaskHistory>> {
        self.lock()
            .entries
            .remove(task_id)
            .map(|(history, _)| history)
    }

    /// Keeps `history` unless the cache already holds a later one of the task.
    pub fn put(&self, history: Arc<TaskHistory>) {
        let mut cache = self.lock();
        cache.clock += 1;
        let now = cache.clock;
        let newer_held = cache
            .entries
            .get(&history.task_id)
            .is_some_and(|(held, _)| held.last_sequence > history.last_sequence);
        if newer_held {
            return;
        }
        cache.entries.insert(history.task_id, (history, now));
        if cache.entries.len() > HISTORY_CACHE_CAPACITY {
            // An O(n) scan, once per insertion beyond capacity: a few microseconds at
            // this size, and no second structure to keep in step.
            let oldest = cache
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(task_id, _)| *task_id);
            if let Some(oldest) = oldest {
                cache.entries.remove(&oldest);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A poisoned lock means a panic elsewhere mid-update of plain data; the map is
        // still a valid cache (every entry is checked against the log before use).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::{AgencyName, CoordinationRecorded, RequestId, TaskEvent, VersionGap};
    use time::macros::datetime;

    use super::*;

    fn note(task_id: TaskId, plan_id: &PlanId, version: u64, request: &str) -> EventEnvelope {
        EventEnvelope::new(
            uuid::Uuid::from_u128(u128::from(version)),
            task_id,
            plan_id.clone(),
            version,
            datetime!(2024-03-20 09:00 +07:00),
            "Sở Y tế".into(),
            RequestId::parse(request).unwrap(),
            TaskEvent::CoordinationRecorded(CoordinationRecorded {
                agency: AgencyName::parse("Sở Y tế").unwrap(),
                note: "Đã phối hợp".into(),
            }),
        )
        .sealed(None)
    }

    #[test]
    fn a_history_answers_request_ids_with_their_own_event() {
        let plan_id = PlanId::parse("qng").unwrap();
        let task_id = TaskId::for_appendix_row(&plan_id, None, "1.1", 1);
        let mut history = TaskHistory::empty(task_id, plan_id.clone());
        history.record(4, &note(task_id, &plan_id, 1, "a")).unwrap();
        history.record(9, &note(task_id, &plan_id, 2, "b")).unwrap();
        history.record(9, &note(task_id, &plan_id, 2, "b")).unwrap();
        assert_eq!(history.state.version, 2);
        assert_eq!(history.outcome_of("a"), Some((1, 4)), "its own sequence");
        assert_eq!(history.outcome_of("c"), None);
        assert_eq!(history.last_sequence, 9);
        assert!(history.last_hash.is_some());
        let error = history
            .record(12, &note(task_id, &plan_id, 4, "d"))
            .unwrap_err();
        assert!(
            matches!(
                error,
                AppError::VersionGap {
                    sequence: 12,
                    gap: VersionGap {
                        expected_version: 3,
                        ..
                    }
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn the_cache_never_goes_back_and_drops_the_least_recently_used() {
        let plan_id = PlanId::parse("qng").unwrap();
        let histories = TaskHistories::default();
        let task = |n: usize| TaskId::for_appendix_row(&plan_id, None, &n.to_string(), 1);
        let mut later = TaskHistory::empty(task(0), plan_id.clone());
        later.last_sequence = 10;
        histories.put(Arc::new(later));
        let mut earlier = TaskHistory::empty(task(0), plan_id.clone());
        earlier.last_sequence = 5;
        histories.put(Arc::new(earlier));
        assert_eq!(histories.get(&task(0)).unwrap().last_sequence, 10);
        for n in 1..=HISTORY_CACHE_CAPACITY {
            histories.put(Arc::new(TaskHistory::empty(task(n), plan_id.clone())));
            // Task 0 stays in use.
            histories.get(&task(0));
        }
        assert!(histories.get(&task(0)).is_some(), "recently used");
        assert!(histories.get(&task(1)).is_none(), "the least recently used");
    }
}
