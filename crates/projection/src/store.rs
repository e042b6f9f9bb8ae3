//! The sled store of task views, their indexes and the projection's checkpoint.
//!
//! Trees:
//! - `tasks`: task id (16 bytes) → `TaskView` JSON;
//! - `by_plan`: plan \0 position \0 task id → ();
//! - `by_lead`, `by_coordinator`: agency match key \0 plan \0 position \0 task id → ();
//! - `meta`: `checkpoint` → last applied stream sequence (u64, big-endian);
//! - `quarantine`: stream sequence (u64, big-endian) → JSON `{subject, reason}` of a
//!   message that is not an event dondoc can apply (garbage, or an event on another
//!   task's subject): never applied, kept here so that it is seen and reported.
//!
//! Invariant: one event changes its view, the indexes and the checkpoint in one sled
//! transaction. sled recovers transactions atomically, so after a crash the store is at
//! some checkpoint with exactly the events up to it; the rest is re-read from the stream.
//! Events at or below the checkpoint are skipped, so redelivery doubles nothing.

use std::path::Path;

use dondoc_domain::{EventEnvelope, TaskId};
use sha2::{Digest, Sha256};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use sled::Tree;

use crate::query::{index_entries, IndexEntry};
use crate::view::{Recorded, TaskView};
use crate::ProjectionError;

const CHECKPOINT_KEY: &[u8] = b"checkpoint";

#[derive(Clone, Debug)]
pub struct ProjectionStore {
    db: sled::Db,
    pub(crate) tasks: Tree,
    pub(crate) by_plan: Tree,
    pub(crate) by_lead: Tree,
    pub(crate) by_coordinator: Tree,
    meta: Tree,
    quarantine: Tree,
}

/// A message of the stream the projection did not apply.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quarantined {
    pub sequence: u64,
    pub subject: String,
    pub reason: String,
}

/// A digest of one tree: what `dondoc audit compare` sets side by side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeDigest {
    pub tree: &'static str,
    pub entries: u64,
    /// SHA-256 (hex) over every (key length, key, value length, value) in key order.
    pub sha256: String,
}

/// What applying one stored event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Applied,
    /// At or below the checkpoint, or already in the task's view.
    Skipped,
}

impl ProjectionStore {
    pub fn open(path: &Path) -> Result<Self, ProjectionError> {
        let db =
            sled::Config::new()
                .path(path)
                .open()
                .map_err(|source| ProjectionError::Storage {
                    action: "opening the projection store",
                    source,
                })?;
        let open_tree = |name: &str| {
            db.open_tree(name)
                .map_err(|source| ProjectionError::Storage {
                    action: "opening a projection tree",
                    source,
                })
        };
        Ok(Self {
            tasks: open_tree("tasks")?,
            by_plan: open_tree("by_plan")?,
            by_lead: open_tree("by_lead")?,
            by_coordinator: open_tree("by_coordinator")?,
            meta: open_tree("meta")?,
            quarantine: open_tree("quarantine")?,
            db,
        })
    }

    /// The stream sequence of the last event applied (0 for a fresh store).
    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        let stored = self
            .meta
            .get(CHECKPOINT_KEY)
            .map_err(|source| ProjectionError::Storage {
                action: "reading the checkpoint",
                source,
            })?;
        Ok(stored.map_or(0, |bytes| decode_u64(&bytes)))
    }

    /// Applies the event stored at `sequence`, together with the checkpoint.
    pub fn apply(
        &self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<ApplyOutcome, ProjectionError> {
        let trees = (
            &self.tasks,
            &self.by_plan,
            &self.by_lead,
            &self.by_coordinator,
            &self.meta,
        );
        let result = trees.transaction(|(tasks, by_plan, by_lead, by_coordinator, meta)| {
            let checkpoint = meta
                .get(CHECKPOINT_KEY)?
                .map_or(0, |bytes| decode_u64(&bytes));
            if sequence <= checkpoint {
                return Ok(ApplyOutcome::Skipped);
            }
            let key = envelope.task_id.as_uuid().into_bytes();
            let previous = match tasks.get(key)? {
                Some(bytes) => {
                    Some(decode_view(&bytes).map_err(ConflictableTransactionError::Abort)?)
                }
                None => None,
            };
            let mut view = previous
                .clone()
                .unwrap_or_else(|| TaskView::empty(envelope.task_id, envelope.plan_id.clone()));
            let recorded = view.record(sequence, envelope).map_err(|gap| {
                ConflictableTransactionError::Abort(ProjectionError::Gap { sequence, gap })
            })?;
            meta.insert(CHECKPOINT_KEY, &sequence.to_be_bytes())?;
            if recorded == Recorded::AlreadyApplied {
                return Ok(ApplyOutcome::Skipped);
            }
            let old_entries = previous.as_ref().map(index_entries).unwrap_or_default();
            let new_entries = index_entries(&view);
            for entry in old_entries
                .iter()
                .filter(|entry| !new_entries.contains(entry))
            {
                index_tree(entry, by_plan, by_lead, by_coordinator).remove(entry.key())?;
            }
            for entry in new_entries
                .iter()
                .filter(|entry| !old_entries.contains(entry))
            {
                index_tree(entry, by_plan, by_lead, by_coordinator).insert(entry.key(), &[])?;
            }
            tasks.insert(&key, encode_view(&view))?;
            Ok(ApplyOutcome::Applied)
        });
        result.map_err(|err| match err {
            TransactionError::Abort(projection_error) => projection_error,
            TransactionError::Storage(source) => ProjectionError::Storage {
                action: "applying an event",
                source,
            },
        })
    }

    /// Records that the message at `sequence` is not applied, with the checkpoint: the
    /// projection goes on with everything else, and the message stays on record here.
    pub fn quarantine(&self, quarantined: &Quarantined) -> Result<ApplyOutcome, ProjectionError> {
        let sequence = quarantined.sequence;
        let value = serde_json::to_vec(quarantined).unwrap_or_default();
        let result = (&self.quarantine, &self.meta).transaction(|(quarantine, meta)| {
            let checkpoint = meta
                .get(CHECKPOINT_KEY)?
                .map_or(0, |bytes| decode_u64(&bytes));
            if sequence <= checkpoint {
                return Ok(ApplyOutcome::Skipped);
            }
            quarantine.insert(&sequence.to_be_bytes(), value.as_slice())?;
            meta.insert(CHECKPOINT_KEY, &sequence.to_be_bytes())?;
            Ok(ApplyOutcome::Applied)
        });
        result.map_err(|err: TransactionError<ProjectionError>| match err {
            TransactionError::Abort(projection_error) => projection_error,
            TransactionError::Storage(source) => ProjectionError::Storage {
                action: "quarantining a message",
                source,
            },
        })
    }

    /// Every quarantined message, in stream order.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, ProjectionError> {
        self.quarantine
            .iter()
            .map(|item| {
                let (_, value) = item.map_err(|source| ProjectionError::Storage {
                    action: "reading the quarantine",
                    source,
                })?;
                serde_json::from_slice(&value)
                    .map_err(|err| ProjectionError::Corrupt(err.to_string()))
            })
            .collect()
    }

    /// One task's view, if the projection has seen it.
    pub fn task(&self, task_id: &TaskId) -> Result<Option<TaskView>, ProjectionError> {
        let stored = self
            .tasks
            .get(task_id.as_uuid().into_bytes())
            .map_err(|source| ProjectionError::Storage {
                action: "reading a task",
                source,
            })?;
        stored.map(|bytes| decode_view(&bytes)).transpose()
    }

    /// A digest per tree. Views are digested in the form this build writes them
    /// (decoded and encoded again), so a view written by an older build with the same
    /// content digests the same; any difference in content does not.
    pub fn digests(&self) -> Result<Vec<TreeDigest>, ProjectionError> {
        let trees: [(&'static str, &Tree); 6] = [
            ("tasks", &self.tasks),
            ("by_plan", &self.by_plan),
            ("by_lead", &self.by_lead),
            ("by_coordinator", &self.by_coordinator),
            ("meta", &self.meta),
            ("quarantine", &self.quarantine),
        ];
        let mut digests = Vec::with_capacity(trees.len());
        for (name, tree) in trees {
            let mut hasher = Sha256::new();
            let mut entries = 0;
            for item in tree.iter() {
                let (key, value) = item.map_err(|source| ProjectionError::Storage {
                    action: "reading the projection for a digest",
                    source,
                })?;
                let value = if name == "tasks" {
                    encode_view(&decode_view(&value)?)
                } else {
                    value.to_vec()
                };
                for part in [key.as_ref(), value.as_slice()] {
                    hasher.update((part.len() as u64).to_be_bytes());
                    hasher.update(part);
                }
                entries += 1;
            }
            digests.push(TreeDigest {
                tree: name,
                entries,
                sha256: hex::encode(hasher.finalize()),
            });
        }
        Ok(digests)
    }

    /// Number of task views held.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Drops every view, index and the checkpoint, so the projection is rebuilt from
    /// the start of the stream.
    pub fn wipe(&self) -> Result<(), ProjectionError> {
        for tree in [
            &self.tasks,
            &self.by_plan,
            &self.by_lead,
            &self.by_coordinator,
            &self.meta,
            &self.quarantine,
        ] {
            tree.clear().map_err(|source| ProjectionError::Storage {
                action: "wiping the projection",
                source,
            })?;
        }
        self.flush()
    }

    /// Forces everything applied so far to disk (sled otherwise flushes periodically;
    /// a crash before that only loses work the stream gives back).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|source| ProjectionError::Storage {
                action: "flushing the projection",
                source,
            })
    }
}

fn index_tree<'a>(
    entry: &IndexEntry,
    by_plan: &'a TransactionalTree,
    by_lead: &'a TransactionalTree,
    by_coordinator: &'a TransactionalTree,
) -> &'a TransactionalTree {
    match entry {
        IndexEntry::Plan(_) => by_plan,
        IndexEntry::Lead(_) => by_lead,
        IndexEntry::Coordinator(_) => by_coordinator,
    }
}

pub(crate) fn decode_view(bytes: &[u8]) -> Result<TaskView, ProjectionError> {
    serde_json::from_slice(bytes).map_err(|err| ProjectionError::Corrupt(err.to_string()))
}

fn encode_view(view: &TaskView) -> Vec<u8> {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_vec(view).unwrap_or_default()
}

fn decode_u64(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    let len = bytes.len().min(8);
    buffer[8 - len..].copy_from_slice(&bytes[..len]);
    u64::from_be_bytes(buffer)
}
