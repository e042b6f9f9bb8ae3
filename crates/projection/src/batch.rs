//! `ProjectionBatch`: changes to the projection staged in memory and applied with one
//! `Tree::apply_batch` (the store's write path; its invariants are in `store.rs`).
//!
//! Invariant: each operation (an event, an import's commit, a noted record, a
//! quarantined message) is whole in the batch or absent: one that fails is undone, so
//! the records staged before it can still be committed. Reads inside the batch see the
//! store as changed by what is staged.

use std::collections::{BTreeMap, BTreeSet};

use dondoc_domain::{EventEnvelope, TaskId};

use crate::postings::{self, IndexEntry};
use crate::query::index_entries;
use crate::store::{
    decode_envelope, decode_instant, decode_u64, decode_view, encode_instant, encode_view, keys,
    storage, task_key, ApplyOutcome, ProjectionStore, Quarantined, CHECKPOINT, DERIVATION, LATEST,
};
use crate::view::{Recorded, TaskView};
use crate::ProjectionError;

/// A staged write: the new value, or `None` for a removal.
type Staged = Option<Vec<u8>>;
/// A stored record: (key, value).
type Record = (Vec<u8>, Vec<u8>);

/// Changes staged for one `Tree::apply_batch`. Reads see the store as changed by what
/// is staged. Each operation is whole or absent: one that fails leaves the batch as it
/// was before it, so the records staged before it can still be committed.
pub struct ProjectionBatch<'a> {
    store: &'a ProjectionStore,
    staged: BTreeMap<Vec<u8>, Staged>,
    /// The derived index's records touched so far (`postings.rs`), by record key, as
    /// they will be written: members are added and removed here, encoded at commit.
    lists: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    /// The current operation's changes, undone in reverse if the operation fails.
    undo: Vec<Undo>,
    /// Whether the current operation keeps `undo`: not when it is the batch's first
    /// (a failure then empties the batch), which spares an import's commit, one
    /// operation over every task of the import, a log as large as its writes.
    recording: bool,
}

/// One change of the current operation, with what it takes to undo it.
enum Undo {
    /// A record staged: what was staged under its key before.
    Record(Vec<u8>, Option<Staged>),
    /// A member added to (`true`) or removed from the list record.
    Member {
        record: Vec<u8>,
        member: Vec<u8>,
        added: bool,
    },
}

impl<'a> ProjectionBatch<'a> {
    pub(crate) fn new(store: &'a ProjectionStore) -> Self {
        Self {
            store,
            staged: BTreeMap::new(),
            lists: BTreeMap::new(),
            undo: Vec::new(),
            recording: true,
        }
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty() && self.lists.is_empty()
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ProjectionError> {
        match self.staged.get(key) {
            Some(staged) => Ok(staged.clone()),
            None => self.store.get(key),
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if self.recording {
            let before = self.staged.insert(key.clone(), Some(value));
            self.undo.push(Undo::Record(key, before));
        } else {
            self.staged.insert(key, Some(value));
        }
    }

    fn remove(&mut self, key: Vec<u8>) {
        if self.recording {
            let before = self.staged.insert(key.clone(), None);
            self.undo.push(Undo::Record(key, before));
        } else {
            self.staged.insert(key, None);
        }
    }

    /// Adds (`add`) or removes an index entry; the record it is in is loaded on first
    /// touch and stays staged (decoded) until the commit.
    fn change_member(
        &mut self,
        (list, member): IndexEntry,
        add: bool,
    ) -> Result<(), ProjectionError> {
        postings::check_member(&member)?;
        let record = postings::record_key(&list, &member);
        let members = match self.lists.entry(record.clone()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let members = match self.store.get(entry.key())? {
                    Some(bytes) => postings::decode(&bytes)?,
                    None => BTreeSet::new(),
                };
                entry.insert(members)
            }
        };
        let changed = if add {
            members.insert(member.clone())
        } else {
            members.remove(&member)
        };
        if changed && self.recording {
            self.undo.push(Undo::Member {
                record,
                member,
                added: add,
            });
        }
        Ok(())
    }

    /// Runs one operation: kept whole if it succeeds, undone if it fails.
    fn operation<T>(
        &mut self,
        run: impl FnOnce(&mut Self) -> Result<T, ProjectionError>,
    ) -> Result<T, ProjectionError> {
        self.undo.clear();
        self.recording = !self.is_empty();
        let result = run(self);
        if result.is_err() && !self.recording {
            // The batch's first operation: undone by emptying the batch.
            self.staged.clear();
            self.lists.clear();
        } else if result.is_err() {
            for undo in std::mem::take(&mut self.undo).into_iter().rev() {
                match undo {
                    Undo::Record(key, Some(before)) => {
                        self.staged.insert(key, before);
                    }
                    Undo::Record(key, None) => {
                        self.staged.remove(&key);
                    }
                    Undo::Member {
                        record,
                        member,
                        added,
                    } => {
                        if let Some(members) = self.lists.get_mut(&record) {
                            if added {
                                members.remove(&member);
                            } else {
                                members.insert(member);
                            }
                        }
                    }
                }
            }
        }
        self.undo.clear();
        result
    }

    /// The records under `prefix`, as the store holds them with what is staged.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Record>, ProjectionError> {
        let mut found = BTreeMap::new();
        for item in self
            .store
            .scan_prefix(prefix.to_vec(), "reading the projection")
        {
            let (key, value) = item?;
            found.insert(key.to_vec(), value.to_vec());
        }
        for (key, staged) in self
            .staged
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
        {
            match staged {
                Some(value) => found.insert(key.clone(), value.clone()),
                None => found.remove(key),
            };
        }
        Ok(found.into_iter().collect())
    }

    fn checkpoint(&self) -> Result<u64, ProjectionError> {
        Ok(self.get(CHECKPOINT)?.map_or(0, |bytes| decode_u64(&bytes)))
    }

    /// Applies the event stored at `sequence`, together with the checkpoint, or holds
    /// it back if it belongs to an import not committed yet (module docs).
    pub fn apply(
        &mut self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<ApplyOutcome, ProjectionError> {
        self.operation(|batch| {
            if sequence <= batch.checkpoint()? {
                return Ok(ApplyOutcome::Skipped);
            }
            batch.put(CHECKPOINT.to_vec(), sequence.to_be_bytes().to_vec());
            let waiting_key = keys::with(keys::WAITING, envelope.task_id.as_uuid().as_bytes());
            let held_by = match batch.get(&waiting_key)? {
                Some(import) => Some(import),
                None => match envelope.import_id {
                    Some(import_id)
                        if batch
                            .get(&keys::with(keys::IMPORT, import_id.as_bytes()))?
                            .is_none() =>
                    {
                        Some(import_id.as_bytes().to_vec())
                    }
                    _ => None,
                },
            };
            if let Some(import) = held_by {
                let mut key = keys::with(keys::HELD, &import);
                key.extend_from_slice(&sequence.to_be_bytes());
                batch.put(key, envelope.encode());
                batch.put(waiting_key, import);
                return Ok(ApplyOutcome::Held);
            }
            batch.apply_to_view(sequence, envelope, true)
        })
    }

    /// Applies every event held for import `import_id`, in stream order, records the
    /// import as committed at `sequence` and moves the checkpoint there. Returns the
    /// tasks it changed (none if already applied).
    pub fn commit_import(
        &mut self,
        sequence: u64,
        import_id: &uuid::Uuid,
    ) -> Result<Vec<TaskId>, ProjectionError> {
        self.operation(|batch| {
            if sequence <= batch.checkpoint()? {
                return Ok(Vec::new());
            }
            batch.put(CHECKPOINT.to_vec(), sequence.to_be_bytes().to_vec());
            batch.put(
                keys::with(keys::IMPORT, import_id.as_bytes()),
                sequence.to_be_bytes().to_vec(),
            );
            let mut changed = Vec::new();
            for (key, value) in batch.scan_prefix(&keys::with(keys::HELD, import_id.as_bytes()))? {
                let event_sequence = decode_u64(&key[17..]);
                let envelope = decode_envelope(&value)?;
                // Held events were checked when they arrived (signature); the write
                // side chains an import's events onto the task as the log had it, so
                // they are applied as they come.
                batch.apply_to_view(event_sequence, &envelope, false)?;
                batch.remove(key);
                batch.remove(keys::with(
                    keys::WAITING,
                    envelope.task_id.as_uuid().as_bytes(),
                ));
                if changed.last() != Some(&envelope.task_id) {
                    changed.push(envelope.task_id);
                }
            }
            Ok(changed)
        })
    }

    /// Moves the checkpoint past a record that changes no view (a key record, a
    /// checkpoint).
    pub fn note_record(&mut self, sequence: u64) -> Result<(), ProjectionError> {
        self.operation(|batch| {
            if sequence > batch.checkpoint()? {
                batch.put(CHECKPOINT.to_vec(), sequence.to_be_bytes().to_vec());
            }
            Ok(())
        })
    }

    /// Records that the message at `sequence` is not applied, with the checkpoint: the
    /// projection goes on with everything else, and the message stays on record here.
    pub fn quarantine(
        &mut self,
        quarantined: &Quarantined,
    ) -> Result<ApplyOutcome, ProjectionError> {
        self.operation(|batch| {
            let sequence = quarantined.sequence;
            if sequence <= batch.checkpoint()? {
                return Ok(ApplyOutcome::Skipped);
            }
            let value = serde_json::to_vec(quarantined)
                .map_err(|err| ProjectionError::Corrupt(err.to_string()))?;
            batch.put(keys::with(keys::QUARANTINE, &sequence.to_be_bytes()), value);
            batch.put(CHECKPOINT.to_vec(), sequence.to_be_bytes().to_vec());
            Ok(ApplyOutcome::Applied)
        })
    }

    /// Applies everything staged at once (module docs). A store without a derivation
    /// drops the derivation fingerprint with its first write.
    pub fn commit(self) -> Result<(), ProjectionError> {
        if self.staged.is_empty() && self.lists.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (key, value) in self.staged {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        for (record, members) in self.lists {
            if members.is_empty() {
                batch.remove(record);
            } else {
                batch.insert(record, postings::encode(&members));
            }
        }
        if self.store.derivation.is_none() {
            batch.remove(DERIVATION);
        }
        self.store
            .tree()
            .apply_batch(batch)
            .map_err(storage("applying a batch to the projection"))
    }

    /// Applies one event to its task's view, indexes and derived records.
    fn apply_to_view(
        &mut self,
        sequence: u64,
        envelope: &EventEnvelope,
        check_chain: bool,
    ) -> Result<ApplyOutcome, ProjectionError> {
        let key = task_key(&envelope.task_id);
        let previous = self
            .get(&key)?
            .map(|bytes| decode_view(&bytes))
            .transpose()?;
        let mut view = previous
            .clone()
            .unwrap_or_else(|| TaskView::empty(envelope.task_id, envelope.plan_id.clone()));
        if check_chain && envelope.version == view.state.version + 1 {
            if let Some(reason) = view.chain_break(envelope) {
                return Err(ProjectionError::Unchained { sequence, reason });
            }
        }
        let recorded = view
            .record(sequence, envelope)
            .map_err(|gap| ProjectionError::Gap { sequence, gap })?;
        if recorded == Recorded::AlreadyApplied {
            return Ok(ApplyOutcome::Skipped);
        }
        let old_entries = previous.as_ref().map(index_entries).unwrap_or_default();
        let new_entries = index_entries(&view);
        self.replace_set(old_entries, new_entries);
        let derivation = self.store.derivation.clone().filter(|derivation| {
            previous
                .as_ref()
                .is_none_or(|before| !derivation.unchanged_by(before, &view, envelope))
        });
        if let Some(derivation) = derivation {
            let old = previous
                .as_ref()
                .map(|view| derivation.derive(view))
                .unwrap_or_default();
            let new = derivation.derive(&view);
            self.replace_entries(old.index, new.index)?;
            self.add_counters(&old.counters, &new.counters)?;
        }
        let latest = self.get(LATEST)?.as_deref().and_then(decode_instant);
        if latest.is_none_or(|latest| latest < envelope.occurred_at) {
            self.put(LATEST.to_vec(), encode_instant(envelope.occurred_at));
        }
        self.put(key, encode_view(&view));
        Ok(ApplyOutcome::Applied)
    }

    /// Removes the keys of `old` that `new` lacks and adds those it lacks (keys with
    /// empty values).
    fn replace_set(&mut self, old: Vec<Vec<u8>>, new: Vec<Vec<u8>>) {
        let old: BTreeSet<Vec<u8>> = old.into_iter().collect();
        let new: BTreeSet<Vec<u8>> = new.into_iter().collect();
        for key in old.difference(&new) {
            self.remove(key.clone());
        }
        for key in new.difference(&old) {
            self.put(key.clone(), Vec::new());
        }
    }

    /// Removes the index entries of `old` that `new` lacks and adds those it lacks.
    fn replace_entries(
        &mut self,
        old: Vec<IndexEntry>,
        new: Vec<IndexEntry>,
    ) -> Result<(), ProjectionError> {
        let old: BTreeSet<IndexEntry> = old.into_iter().collect();
        let new: BTreeSet<IndexEntry> = new.into_iter().collect();
        let removed: Vec<IndexEntry> = old.difference(&new).cloned().collect();
        let added: Vec<IndexEntry> = if old.is_empty() {
            // A new task: every entry is added, without a copy.
            new.into_iter().collect()
        } else {
            new.difference(&old).cloned().collect()
        };
        for entry in removed {
            self.change_member(entry, false)?;
        }
        for entry in added {
            self.change_member(entry, true)?;
        }
        Ok(())
    }

    /// Takes one off each counter in `old` and adds one to each in `new`.
    fn add_counters(&mut self, old: &[Vec<u8>], new: &[Vec<u8>]) -> Result<(), ProjectionError> {
        let mut deltas: BTreeMap<&[u8], i64> = BTreeMap::new();
        for key in old {
            *deltas.entry(key).or_default() -= 1;
        }
        for key in new {
            *deltas.entry(key).or_default() += 1;
        }
        for (key, delta) in deltas {
            if delta == 0 {
                continue;
            }
            let key = keys::with(keys::COUNTER, key);
            let current = self.get(&key)?.map_or(0, |bytes| decode_u64(&bytes));
            let Some(count) = current.checked_add_signed(delta) else {
                return Err(ProjectionError::Corrupt(format!(
                    "a derived counter would go below zero ({current} {delta:+}); rebuild the projection"
                )));
            };
            if count == 0 {
                self.remove(key);
            } else {
                self.put(key, count.to_be_bytes().to_vec());
            }
        }
        Ok(())
    }
}
