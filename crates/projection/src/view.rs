//! `TaskView`: a task's state as the read model keeps it, with where it stands in the log.
//!
//! Invariant: `state` is exactly `replay` of the task's events up to stream sequence
//! `last_sequence`. Read side only: what the command loop needs to decide and append
//! (request ids, the chain head) is the application's, never read from here.

use dondoc_domain::{apply, EventEnvelope, PlanId, Succession, TaskId, TaskState, VersionGap};
use serde::{Deserialize, Serialize};

/// Views stored by earlier builds also carry `requests` (write-side state the read model
/// no longer keeps); serde skips it when reading. Views of the build before this one
/// have no `last_hash`: their chain is checked again from their next event on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub state: TaskState,
    /// Stream sequence of the task's last applied event; 0 before the first.
    pub last_sequence: u64,
    /// The `hash` of the task's last applied event: the next one's `prev_hash` must be
    /// it. `None` before the first (or for a view stored without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
    /// The latest `occurred_at` of the task's applied events: how far the facts the
    /// view holds reach (what derived statistics are exact from, `Derivation`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub latest_at: Option<time::OffsetDateTime>,
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
            last_hash: None,
            latest_at: None,
        }
    }

    /// Why `envelope` does not chain onto this view, if it does not: its `prev_hash`
    /// must be the hash of the view's last event (unknown for a view stored without
    /// it, which is then not checked).
    pub fn chain_break(&self, envelope: &EventEnvelope) -> Option<String> {
        let known = self.state.version == 0 || self.last_hash.is_some();
        (known && envelope.prev_hash != self.last_hash).then(|| {
            format!(
                "event {} of task {} does not chain: its prev_hash is {}, the task's last event's hash is {}",
                envelope.version,
                envelope.task_id,
                envelope.prev_hash.as_deref().unwrap_or("(none)"),
                self.last_hash.as_deref().unwrap_or("(none)")
            )
        })
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
                self.last_hash = envelope.hash.clone();
                self.latest_at = Some(match self.latest_at {
                    Some(latest) => latest.max(envelope.occurred_at),
                    None => envelope.occurred_at,
                });
                Ok(Recorded::Applied)
            }
        }
    }
}
