//! `TaskView`: a task's state as the read model keeps it, with where it stands in the log.
//!
//! Invariants: `state` is exactly `replay` of the task's events up to stream sequence
//! `last_sequence`; `requests` maps every request id in that history to the version its
//! event produced, so a retried command can be answered without a second event;
//! `last_hash` is the hash of the event at `last_sequence`.

use std::collections::BTreeMap;

use dondoc_domain::{apply, EventEnvelope, PlanId, TaskId, TaskState};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub state: TaskState,
    /// Stream sequence of the task's last applied event; 0 before the first.
    pub last_sequence: u64,
    /// Request id → the task version its event produced.
    pub requests: BTreeMap<String, u64>,
    /// The hash of the task's last event (`None` if it is unsealed): the `prev_hash` of
    /// the next one.
    #[serde(default)]
    pub last_hash: Option<String>,
}

/// What recording an event did to a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Applied,
    /// The view already holds this version: replays after a crash land here.
    AlreadyApplied,
}

/// An event whose version does not follow the view's: the log skipped one, or events
/// of two tasks were crossed. Never applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("task {task_id}: event at stream sequence {sequence} has version {event_version}, expected {expected_version}")]
pub struct VersionGap {
    pub task_id: TaskId,
    pub sequence: u64,
    pub event_version: u64,
    pub expected_version: u64,
}

impl TaskView {
    pub fn empty(task_id: TaskId, plan_id: PlanId) -> Self {
        Self {
            task_id,
            plan_id,
            state: TaskState::default(),
            last_sequence: 0,
            requests: BTreeMap::new(),
            last_hash: None,
        }
    }

    /// Applies the event stored at `sequence`, unless the view already has it.
    pub fn record(
        &mut self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<Recorded, VersionGap> {
        if envelope.version <= self.state.version {
            return Ok(Recorded::AlreadyApplied);
        }
        if envelope.version != self.state.version + 1 {
            return Err(VersionGap {
                task_id: self.task_id,
                sequence,
                event_version: envelope.version,
                expected_version: self.state.version + 1,
            });
        }
        self.state = apply(std::mem::take(&mut self.state), envelope);
        self.last_sequence = sequence;
        self.last_hash = envelope.hash.clone();
        self.requests
            .insert(envelope.request_id.as_str().to_owned(), envelope.version);
        Ok(Recorded::Applied)
    }

    /// The version a request id produced, if it is in this task's history.
    pub fn version_for_request(&self, request_id: &str) -> Option<u64> {
        self.requests.get(request_id).copied()
    }
}
