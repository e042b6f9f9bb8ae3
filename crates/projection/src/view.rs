//! `TaskView`: a task's state as the read model keeps it, with where it stands in the log.
//!
//! Invariant: `state` is exactly `replay` of the task's events up to stream sequence
//! `last_sequence`. Read side only: what the command loop needs to decide and append
//! (request ids, the chain head) is the application's, never read from here.

use dondoc_domain::{apply, EventEnvelope, PlanId, Succession, TaskId, TaskState, VersionGap};
use serde::{Deserialize, Serialize};

/// Views stored by earlier builds also carry `requests` and `last_hash` (write-side
/// state the read model no longer keeps); serde skips them when reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub state: TaskState,
    /// Stream sequence of the task's last applied event; 0 before the first.
    pub last_sequence: u64,
}

/// What recording an event did to a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Applied,
    /// The view already holds this version: replays after a crash land here.
    AlreadyApplied,
}

impl TaskView {
    pub fn empty(task_id: TaskId, plan_id: PlanId) -> Self {
        Self {
            task_id,
            plan_id,
            state: TaskState::default(),
            last_sequence: 0,
        }
    }

    /// Applies the event stored at `sequence`, unless the view already has it.
    pub fn record(
        &mut self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<Recorded, VersionGap> {
        match self.state.succession(envelope)? {
            Succession::AlreadyApplied => Ok(Recorded::AlreadyApplied),
            Succession::Next => {
                self.state = apply(std::mem::take(&mut self.state), envelope);
                self.last_sequence = sequence;
                Ok(Recorded::Applied)
            }
        }
    }
}
