//! The sled store of task views, their indexes and the projection's checkpoint.
//!
//! Trees:
//! - `tasks`: task id (16 bytes) → `TaskView` JSON;
//! - `by_plan`: plan \0 position \0 task id → ();
//! - `by_lead`, `by_coordinator`: agency match key \0 plan \0 position \0 task id → ();
//! - `meta`: `checkpoint` → last applied stream sequence (u64, big-endian);
//! - `quarantine`: stream sequence (u64, big-endian) → JSON `{subject, reason}` of a
//!   message that is not an event dondoc can apply (garbage, or an event on another
//!   task's subject): never applied, kept here so that it is seen and reported;
//! - `pending`: import id (16 bytes) ‖ stream sequence (8, big-endian) → event JSON: an
//!   event of an import whose commit record has not been read yet (or a later event of
//!   a task that has one), held back, not applied;
//! - `pending_tasks`: task id → import id, for every task with held events;
//! - `imports`: import id → stream sequence of its commit record.
//!
//! Invariant: a task's view holds none of its events from an import until that
//! import's commit record; the commit applies all of them, and moves the checkpoint, in
//! one transaction, so readers see an import whole or not at all.
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
    pending: Tree,
    pending_tasks: Tree,
    imports: Tree,
}

/// A task's chain head: (plan, task, version, hash of its last event).
pub type ChainHead = (dondoc_domain::PlanId, TaskId, u64, Option<String>);

/// The trees one event's application touches, inside a transaction.
struct ViewTrees<'a> {
    tasks: &'a TransactionalTree,
    by_plan: &'a TransactionalTree,
    by_lead: &'a TransactionalTree,
    by_coordinator: &'a TransactionalTree,
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
    /// Part of an import not committed yet (or behind such an event of its task): held
    /// in `pending` until the import's commit record.
    Held,
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
            pending: open_tree("pending")?,
            pending_tasks: open_tree("pending_tasks")?,
            imports: open_tree("imports")?,
            db,
        })
    }

    /// Every tree an event's application (or an import's commit) touches, for one
    /// transaction over them.
    #[allow(clippy::type_complexity)] // reason: sled's tuple-of-trees transaction API
    fn applying_trees(&self) -> (&Tree, &Tree, &Tree, &Tree, &Tree, &Tree, &Tree, &Tree) {
        (
            &self.tasks,
            &self.by_plan,
            &self.by_lead,
            &self.by_coordinator,
            &self.meta,
            &self.pending,
            &self.pending_tasks,
            &self.imports,
        )
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

    /// Applies the event stored at `sequence`, together with the checkpoint, or holds
    /// it back if it belongs to an import not committed yet (module docs).
    pub fn apply(
        &self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<ApplyOutcome, ProjectionError> {
        let result = self.applying_trees().transaction(
            |(tasks, by_plan, by_lead, by_coordinator, meta, pending, pending_tasks, imports)| {
                let checkpoint = meta
                    .get(CHECKPOINT_KEY)?
                    .map_or(0, |bytes| decode_u64(&bytes));
                if sequence <= checkpoint {
                    return Ok(ApplyOutcome::Skipped);
                }
                meta.insert(CHECKPOINT_KEY, &sequence.to_be_bytes())?;
                let task_key = envelope.task_id.as_uuid().into_bytes();
                let held_by = match pending_tasks.get(task_key)? {
                    Some(import) => Some(import.to_vec()),
                    None => match envelope.import_id {
                        Some(import_id) if imports.get(import_id.as_bytes())?.is_none() => {
                            Some(import_id.as_bytes().to_vec())
                        }
                        _ => None,
                    },
                };
                if let Some(import) = held_by {
                    let mut key = import.clone();
                    key.extend_from_slice(&sequence.to_be_bytes());
                    pending.insert(key, envelope.encode())?;
                    pending_tasks.insert(&task_key, import)?;
                    return Ok(ApplyOutcome::Held);
                }
                let views = ViewTrees {
                    tasks,
                    by_plan,
                    by_lead,
                    by_coordinator,
                };
                apply_to_view(&views, sequence, envelope, true)
            },
        );
        result.map_err(transaction_error("applying an event"))
    }

    /// Applies every event held for import `import_id`, in stream order, records the
    /// import as committed at `sequence` and moves the checkpoint there: one
    /// transaction. Returns the tasks it changed (none if already applied).
    pub fn commit_import(
        &self,
        sequence: u64,
        import_id: &uuid::Uuid,
    ) -> Result<Vec<TaskId>, ProjectionError> {
        // Only the feeder writes `pending`, so what is read here stays as it is until
        // the transaction below.
        let mut held = Vec::new();
        for item in self.pending.scan_prefix(import_id.as_bytes()) {
            let (key, value) = item.map_err(|source| ProjectionError::Storage {
                action: "reading an import's held events",
                source,
            })?;
            let event_sequence = decode_u64(&key[16..]);
            let envelope = EventEnvelope::decode(&value)
                .map_err(|err| ProjectionError::Corrupt(err.to_string()))?;
            held.push((key, event_sequence, envelope));
        }
        let result = self.applying_trees().transaction(
            |(tasks, by_plan, by_lead, by_coordinator, meta, pending, pending_tasks, imports)| {
                let checkpoint = meta
                    .get(CHECKPOINT_KEY)?
                    .map_or(0, |bytes| decode_u64(&bytes));
                if sequence <= checkpoint {
                    return Ok(Vec::new());
                }
                meta.insert(CHECKPOINT_KEY, &sequence.to_be_bytes())?;
                imports.insert(import_id.as_bytes(), &sequence.to_be_bytes())?;
                let views = ViewTrees {
                    tasks,
                    by_plan,
                    by_lead,
                    by_coordinator,
                };
                let mut changed = Vec::new();
                for (key, event_sequence, envelope) in &held {
                    // Held events were checked when they arrived (signature); the
                    // write side chains an import's events onto the task as the log
                    // had it, so they are applied as they come.
                    apply_to_view(&views, *event_sequence, envelope, false)?;
                    pending.remove(key)?;
                    pending_tasks.remove(&envelope.task_id.as_uuid().into_bytes())?;
                    if changed.last() != Some(&envelope.task_id) {
                        changed.push(envelope.task_id);
                    }
                }
                Ok(changed)
            },
        );
        result.map_err(transaction_error("committing an import"))
    }

    /// Moves the checkpoint past a record that changes no view (a key record, a
    /// checkpoint).
    pub fn note_record(&self, sequence: u64) -> Result<(), ProjectionError> {
        let result = self.meta.transaction(|meta| {
            let checkpoint = meta
                .get(CHECKPOINT_KEY)?
                .map_or(0, |bytes| decode_u64(&bytes));
            if sequence > checkpoint {
                meta.insert(CHECKPOINT_KEY, &sequence.to_be_bytes())?;
            }
            Ok(())
        });
        result.map_err(transaction_error("noting a record"))
    }

    /// Every task's chain head as the log has it up to the checkpoint: (plan, task,
    /// version, hash) of its last event, held events of imports not committed yet
    /// included. What a signed checkpoint records. The caller must not apply anything
    /// meanwhile (the feeder calls it between two records).
    pub fn chain_heads(&self) -> Result<Vec<ChainHead>, ProjectionError> {
        let mut heads = std::collections::HashMap::new();
        for item in self.tasks.iter() {
            let (_, value) = item.map_err(|source| ProjectionError::Storage {
                action: "reading the views for a checkpoint",
                source,
            })?;
            let view = decode_view(&value)?;
            heads.insert(
                view.task_id,
                (view.plan_id, view.state.version, view.last_hash),
            );
        }
        for item in self.pending.iter() {
            let (_, value) = item.map_err(|source| ProjectionError::Storage {
                action: "reading held events for a checkpoint",
                source,
            })?;
            let envelope = EventEnvelope::decode(&value)
                .map_err(|err| ProjectionError::Corrupt(err.to_string()))?;
            let newer = heads
                .get(&envelope.task_id)
                .is_none_or(|(_, version, _)| *version < envelope.version);
            if newer {
                heads.insert(
                    envelope.task_id,
                    (envelope.plan_id, envelope.version, envelope.hash),
                );
            }
        }
        Ok(heads
            .into_iter()
            .map(|(task_id, (plan_id, version, hash))| (plan_id, task_id, version, hash))
            .collect())
    }

    /// Events held for imports not committed yet: (import id, how many).
    pub fn pending_imports(&self) -> Result<Vec<(uuid::Uuid, u64)>, ProjectionError> {
        let mut imports: Vec<(uuid::Uuid, u64)> = Vec::new();
        for item in self.pending.iter() {
            let (key, _) = item.map_err(|source| ProjectionError::Storage {
                action: "reading held events",
                source,
            })?;
            let import = uuid::Uuid::from_slice(&key[..16])
                .map_err(|err| ProjectionError::Corrupt(err.to_string()))?;
            match imports.last_mut() {
                Some((last, count)) if *last == import => *count += 1,
                _ => imports.push((import, 1)),
            }
        }
        Ok(imports)
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
        result.map_err(transaction_error("quarantining a message"))
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
        let trees: [(&'static str, &Tree); 9] = [
            ("tasks", &self.tasks),
            ("by_plan", &self.by_plan),
            ("by_lead", &self.by_lead),
            ("by_coordinator", &self.by_coordinator),
            ("meta", &self.meta),
            ("quarantine", &self.quarantine),
            ("pending", &self.pending),
            ("pending_tasks", &self.pending_tasks),
            ("imports", &self.imports),
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
            &self.pending,
            &self.pending_tasks,
            &self.imports,
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

/// A transaction's failure: its own abort as it is, sled's failing while `action`.
fn transaction_error(
    action: &'static str,
) -> impl FnOnce(TransactionError<ProjectionError>) -> ProjectionError {
    move |err| match err {
        TransactionError::Abort(projection_error) => projection_error,
        TransactionError::Storage(source) => ProjectionError::Storage { action, source },
    }
}

/// Applies one event to its task's view and indexes (inside a transaction).
fn apply_to_view(
    trees: &ViewTrees<'_>,
    sequence: u64,
    envelope: &EventEnvelope,
    check_chain: bool,
) -> Result<ApplyOutcome, ConflictableTransactionError<ProjectionError>> {
    let key = envelope.task_id.as_uuid().into_bytes();
    let previous = match trees.tasks.get(key)? {
        Some(bytes) => Some(decode_view(&bytes).map_err(ConflictableTransactionError::Abort)?),
        None => None,
    };
    let mut view = previous
        .clone()
        .unwrap_or_else(|| TaskView::empty(envelope.task_id, envelope.plan_id.clone()));
    if check_chain && envelope.version == view.state.version + 1 {
        if let Some(reason) = view.chain_break(envelope) {
            return Err(ConflictableTransactionError::Abort(
                ProjectionError::Unchained { sequence, reason },
            ));
        }
    }
    let recorded = view.record(sequence, envelope).map_err(|gap| {
        ConflictableTransactionError::Abort(ProjectionError::Gap { sequence, gap })
    })?;
    if recorded == Recorded::AlreadyApplied {
        return Ok(ApplyOutcome::Skipped);
    }
    let old_entries = previous.as_ref().map(index_entries).unwrap_or_default();
    let new_entries = index_entries(&view);
    for entry in old_entries
        .iter()
        .filter(|entry| !new_entries.contains(entry))
    {
        index_tree(entry, trees.by_plan, trees.by_lead, trees.by_coordinator)
            .remove(entry.key())?;
    }
    for entry in new_entries
        .iter()
        .filter(|entry| !old_entries.contains(entry))
    {
        index_tree(entry, trees.by_plan, trees.by_lead, trees.by_coordinator)
            .insert(entry.key(), &[])?;
    }
    trees.tasks.insert(&key, encode_view(&view))?;
    Ok(ApplyOutcome::Applied)
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
