//! The sled store of task views, their indexes, the statistics derived from them and
//! the projection's checkpoint: one sled tree, `projection`, with a one-byte prefix
//! per kind of record (`keys`):
//! - `T` task id (16 bytes) → `TaskView` JSON;
//! - `P` plan \0 position (8 bytes, big-endian) task id → ();
//! - `L`, `C` agency match key \0 plan \0 position task id → (): leads, coordinators;
//! - `M` name → meta: `checkpoint` (last applied stream sequence, u64 big-endian),
//!   `latest` (the latest `occurred_at` of any applied event, Unix nanoseconds as i128
//!   big-endian), `derivation`
//!   (the fingerprint of the rules the `O` and `S` records were derived with);
//! - `Q` stream sequence → JSON `{subject, reason}` of a message that is not an event
//!   dondoc can apply (garbage, or an event on another task's subject): never applied,
//!   kept here so that it is seen and reported;
//! - `H` import id (16) ‖ stream sequence (8) → event JSON: an event of an import whose
//!   commit record has not been read yet (or a later event of a task that has one),
//!   held back, not applied;
//! - `W` task id → import id, for every task with held events;
//! - `I` import id → stream sequence of its commit record;
//! - `O` list bucket → members: the derived index (`Derivation::derive`'s `index`) as
//!   posting lists (`postings.rs`);
//! - `S` key → count (u64 big-endian, never 0): the derived counters.
//!
//! Invariant: a task's view holds none of its events from an import until that
//! import's commit record; the commit applies all of them, and moves the checkpoint, in
//! one batch, so readers see an import whole or not at all.
//!
//! Invariant: the store changes only by `ProjectionBatch::commit`, one
//! `Tree::apply_batch`, which sled applies atomically both for readers and for crash
//! recovery. A batch holds whole records (an event with its view, indexes, derived
//! records and the checkpoint), so the store is always at some checkpoint with exactly
//! the events up to it; the rest is re-read from the stream. Events at or below the
//! checkpoint are skipped, so redelivery doubles nothing. There is one writer (the
//! feeder, or a rebuild): a batch reads the store and its own staged writes, and
//! nothing else writes in between.
//!
//! Invariant: with a `Derivation`, the `O` and `S` records are exactly the union (the
//! sum, for counters) of `derive` over the stored views, and `M derivation` is its
//! fingerprint. A store opened with another fingerprint (other rules, another agency
//! directory) derives them again from the views. A write by a store opened without
//! one drops the fingerprint, so the next open with one derives again.
//!
//! Why one tree and batches, not a transaction over several trees: sled's multi-tree
//! transactions deadlocked in two of three rebuilds of 200k–300k events (the feeder
//! stuck in a commit waiting for a log segment, sled issue #1412), and a batch can hold
//! many events, so a rebuild commits once per few hundred events, not per event.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use dondoc_domain::{EventEnvelope, TaskId};
use sha2::{Digest, Sha256};
use sled::Tree;
use time::OffsetDateTime;

use crate::batch::ProjectionBatch;
use crate::postings::{self, IndexEntry};
use crate::view::TaskView;
use crate::ProjectionError;

/// The one-byte prefixes of the store's records (module docs).
pub(crate) mod keys {
    pub const TASK: u8 = b'T';
    pub const BY_PLAN: u8 = b'P';
    pub const BY_LEAD: u8 = b'L';
    pub const BY_COORDINATOR: u8 = b'C';
    pub const META: u8 = b'M';
    pub const QUARANTINE: u8 = b'Q';
    pub const HELD: u8 = b'H';
    pub const WAITING: u8 = b'W';
    pub const IMPORT: u8 = b'I';
    pub const DERIVED_INDEX: u8 = b'O';
    pub const COUNTER: u8 = b'S';

    pub fn with(prefix: u8, rest: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(rest.len() + 1);
        key.push(prefix);
        key.extend_from_slice(rest);
        key
    }
}

pub(crate) const CHECKPOINT: &[u8] = b"Mcheckpoint";
pub(crate) const LATEST: &[u8] = b"Mlatest";
pub(crate) const DERIVATION: &[u8] = b"Mderivation";
/// The trees of the builds before the single tree: dropped at open (the projection is
/// then rebuilt from the stream).
const LEGACY_TREES: [&str; 9] = [
    "tasks",
    "by_plan",
    "by_lead",
    "by_coordinator",
    "meta",
    "quarantine",
    "pending",
    "pending_tasks",
    "imports",
];
/// Views re-derived per batch when the rules changed.
const DERIVE_CHUNK: usize = 1000;

/// What the application derives from each view and keeps beside it: index keys and
/// counters that answer statistics without reading every view. Pure, deterministic
/// functions of the view and the rules the fingerprint names.
pub trait Derivation: Send + Sync + std::fmt::Debug {
    /// Identifies the rules: records derived under another fingerprint are derived again.
    fn fingerprint(&self) -> Vec<u8>;
    /// The records `view` contributes. Index entries form a set (an entry two views
    /// give is one, so members should name their task), and list keys must be
    /// prefix-free (`postings.rs`); each counter key adds one.
    fn derive(&self, view: &TaskView) -> Derived;
    /// Whether `derive(after)` is certainly `derive(before)`, `after` being `before`
    /// with `envelope` applied: then neither is derived (a shortcut; `false` is always
    /// correct).
    fn unchanged_by(&self, before: &TaskView, after: &TaskView, envelope: &EventEnvelope) -> bool {
        let _ = (before, after, envelope);
        false
    }
}

/// One view's derived records (`Derivation`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derived {
    pub index: Vec<IndexEntry>,
    pub counters: Vec<Vec<u8>>,
}

#[derive(Clone)]
pub struct ProjectionStore {
    db: sled::Db,
    tree: Tree,
    pub(crate) derivation: Option<Arc<dyn Derivation>>,
}

impl std::fmt::Debug for ProjectionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionStore")
            .field("derivation", &self.derivation)
            .finish_non_exhaustive()
    }
}

/// A task's chain head: (plan, task, version, hash of its last event).
pub type ChainHead = (dondoc_domain::PlanId, TaskId, u64, Option<String>);

/// A message of the stream the projection did not apply.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quarantined {
    pub sequence: u64,
    pub subject: String,
    pub reason: String,
}

/// A digest of one kind of record: what `dondoc audit compare` sets side by side.
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
    /// until the import's commit record.
    Held,
    /// At or below the checkpoint, or already in the task's view.
    Skipped,
}

pub(crate) fn storage(action: &'static str) -> impl FnOnce(sled::Error) -> ProjectionError {
    move |source| ProjectionError::Storage { action, source }
}

impl ProjectionStore {
    /// Opens the store without derived records (reading, comparing, tests).
    pub fn open(path: &Path) -> Result<Self, ProjectionError> {
        Self::open_with(path, None)
    }

    /// Opens the store; with `derivation`, its records are kept (and derived again
    /// first if they were derived under other rules).
    pub fn open_with(
        path: &Path,
        derivation: Option<Arc<dyn Derivation>>,
    ) -> Result<Self, ProjectionError> {
        let db = sled::Config::new()
            .path(path)
            // sled's page cache (default 1 GB): what the store keeps in memory at any
            // size. 64 MB holds the views and lists a query touches at 10k tasks.
            .cache_capacity(64 << 20)
            .open()
            .map_err(storage("opening the projection store"))?;
        let existing = db.tree_names();
        for legacy in LEGACY_TREES {
            if existing
                .iter()
                .any(|name| name.as_ref() == legacy.as_bytes())
            {
                db.drop_tree(legacy)
                    .map_err(storage("dropping a tree of an older build"))?;
            }
        }
        let tree = db
            .open_tree("projection")
            .map_err(storage("opening the projection tree"))?;
        let store = Self {
            db,
            tree,
            derivation,
        };
        store.ensure_derived()?;
        Ok(store)
    }

    /// The fingerprint the stored derived records were derived under, if any.
    pub fn recorded_fingerprint(&self) -> Result<Option<Vec<u8>>, ProjectionError> {
        self.get(DERIVATION)
    }

    /// The fingerprint of the derivation the store keeps its derived records with,
    /// if it was opened with one.
    pub fn derivation_fingerprint(&self) -> Option<Vec<u8>> {
        self.derivation
            .as_ref()
            .map(|derivation| derivation.fingerprint())
    }

    pub(crate) fn tree(&self) -> &Tree {
        &self.tree
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ProjectionError> {
        Ok(self
            .tree
            .get(key)
            .map_err(storage("reading the projection"))?
            .map(|value| value.to_vec()))
    }

    pub(crate) fn scan_prefix(
        &self,
        prefix: Vec<u8>,
        action: &'static str,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), ProjectionError>> + '_ {
        self.tree
            .scan_prefix(prefix)
            .map(move |item| item.map_err(storage(action)))
    }

    /// A batch of changes, applied at once by `commit`.
    pub fn batch(&self) -> ProjectionBatch<'_> {
        ProjectionBatch::new(self)
    }

    /// The stream sequence of the last event applied (0 for a fresh store).
    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        Ok(self.get(CHECKPOINT)?.map_or(0, |bytes| decode_u64(&bytes)))
    }

    /// The latest `occurred_at` of any applied event: derived statistics are exact for
    /// instants from it on.
    pub fn latest_fact(&self) -> Result<Option<OffsetDateTime>, ProjectionError> {
        Ok(self.get(LATEST)?.as_deref().and_then(decode_instant))
    }

    /// Applies the event stored at `sequence`, together with the checkpoint, or holds
    /// it back if it belongs to an import not committed yet (module docs).
    pub fn apply(
        &self,
        sequence: u64,
        envelope: &EventEnvelope,
    ) -> Result<ApplyOutcome, ProjectionError> {
        let mut batch = self.batch();
        let outcome = batch.apply(sequence, envelope)?;
        batch.commit()?;
        Ok(outcome)
    }

    /// Applies every event held for import `import_id` and records the commit at
    /// `sequence` (`ProjectionBatch::commit_import`).
    pub fn commit_import(
        &self,
        sequence: u64,
        import_id: &uuid::Uuid,
    ) -> Result<Vec<TaskId>, ProjectionError> {
        let mut batch = self.batch();
        let changed = batch.commit_import(sequence, import_id)?;
        batch.commit()?;
        Ok(changed)
    }

    /// Moves the checkpoint past a record that changes no view.
    pub fn note_record(&self, sequence: u64) -> Result<(), ProjectionError> {
        let mut batch = self.batch();
        batch.note_record(sequence)?;
        batch.commit()
    }

    /// Records that a message is not applied (`ProjectionBatch::quarantine`).
    pub fn quarantine(&self, quarantined: &Quarantined) -> Result<ApplyOutcome, ProjectionError> {
        let mut batch = self.batch();
        let outcome = batch.quarantine(quarantined)?;
        batch.commit()?;
        Ok(outcome)
    }

    /// Every task's chain head as the log has it up to the checkpoint: (plan, task,
    /// version, hash) of its last event, held events of imports not committed yet
    /// included. What a signed checkpoint records. The caller must not apply anything
    /// meanwhile (the feeder calls it between two batches).
    pub fn chain_heads(&self) -> Result<Vec<ChainHead>, ProjectionError> {
        let mut heads = HashMap::new();
        for item in self.scan_prefix(vec![keys::TASK], "reading the views for a checkpoint") {
            let (_, value) = item?;
            let view = decode_view(&value)?;
            heads.insert(
                view.task_id,
                (view.plan_id, view.state.version, view.last_hash),
            );
        }
        for item in self.scan_prefix(vec![keys::HELD], "reading held events for a checkpoint") {
            let (_, value) = item?;
            let envelope = decode_envelope(&value)?;
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
        for item in self.scan_prefix(vec![keys::HELD], "reading held events") {
            let (key, _) = item?;
            let import = uuid::Uuid::from_slice(&key[1..17])
                .map_err(|err| ProjectionError::Corrupt(err.to_string()))?;
            match imports.last_mut() {
                Some((last, count)) if *last == import => *count += 1,
                _ => imports.push((import, 1)),
            }
        }
        Ok(imports)
    }

    /// Every quarantined message, in stream order.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, ProjectionError> {
        self.scan_prefix(vec![keys::QUARANTINE], "reading the quarantine")
            .map(|item| {
                let (_, value) = item?;
                serde_json::from_slice(&value)
                    .map_err(|err| ProjectionError::Corrupt(err.to_string()))
            })
            .collect()
    }

    /// One task's view, if the projection has seen it.
    pub fn task(&self, task_id: &TaskId) -> Result<Option<TaskView>, ProjectionError> {
        self.get(&task_key(task_id))?
            .map(|bytes| decode_view(&bytes))
            .transpose()
    }

    /// The derived counters whose keys start with `prefix` (without the store's
    /// prefix), in key order.
    pub fn counters(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, ProjectionError> {
        self.scan_prefix(
            keys::with(keys::COUNTER, prefix),
            "reading derived counters",
        )
        .map(|item| item.map(|(key, value)| (key[1..].to_vec(), decode_u64(&value))))
        .collect()
    }

    /// A digest per kind of record. Views are digested in the form this build writes
    /// them (decoded and encoded again), so a view written by an older build with the
    /// same content digests the same; any difference in content does not.
    pub fn digests(&self) -> Result<Vec<TreeDigest>, ProjectionError> {
        let kinds: [(&'static str, u8); 11] = [
            ("tasks", keys::TASK),
            ("by_plan", keys::BY_PLAN),
            ("by_lead", keys::BY_LEAD),
            ("by_coordinator", keys::BY_COORDINATOR),
            ("meta", keys::META),
            ("quarantine", keys::QUARANTINE),
            ("pending", keys::HELD),
            ("pending_tasks", keys::WAITING),
            ("imports", keys::IMPORT),
            ("derived_index", keys::DERIVED_INDEX),
            ("counters", keys::COUNTER),
        ];
        let mut digests = Vec::with_capacity(kinds.len());
        for (name, prefix) in kinds {
            let mut hasher = Sha256::new();
            let mut entries = 0;
            for item in self.scan_prefix(vec![prefix], "reading the projection for a digest") {
                let (key, value) = item?;
                let value = if prefix == keys::TASK {
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
        self.tree.scan_prefix([keys::TASK]).keys().count()
    }

    /// Drops every view, index, derived record and the checkpoint, so the projection
    /// is rebuilt from the start of the stream.
    pub fn wipe(&self) -> Result<(), ProjectionError> {
        self.tree
            .clear()
            .map_err(storage("wiping the projection"))?;
        self.ensure_derived()?;
        self.flush()
    }

    /// Forces everything applied so far to disk (sled otherwise flushes periodically;
    /// a crash before that only loses work the stream gives back).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(storage("flushing the projection"))
    }

    /// Derives the `O` and `S` records again from every view unless they were derived
    /// with this store's derivation (module docs). The fingerprint goes in last, so an
    /// interrupted run starts over at the next open.
    fn ensure_derived(&self) -> Result<(), ProjectionError> {
        let Some(derivation) = &self.derivation else {
            return Ok(());
        };
        let fingerprint = derivation.fingerprint();
        if self.get(DERIVATION)?.as_deref() == Some(fingerprint.as_slice()) {
            return Ok(());
        }
        for prefix in [keys::DERIVED_INDEX, keys::COUNTER] {
            let mut batch = sled::Batch::default();
            for key in self.tree.scan_prefix([prefix]).keys() {
                batch.remove(key.map_err(storage("clearing derived records"))?);
            }
            self.tree
                .apply_batch(batch)
                .map_err(storage("clearing derived records"))?;
        }
        let mut counters: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut lists: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
        let mut in_chunk = 0;
        for item in self.scan_prefix(vec![keys::TASK], "reading views to derive") {
            let (_, value) = item?;
            let derived = derivation.derive(&decode_view(&value)?);
            for (list, member) in derived.index {
                postings::check_member(&member)?;
                lists
                    .entry(postings::record_key(&list, &member))
                    .or_default()
                    .insert(member);
            }
            for key in derived.counters {
                *counters.entry(key).or_default() += 1;
            }
            in_chunk += 1;
            if in_chunk == DERIVE_CHUNK {
                self.merge_lists(std::mem::take(&mut lists))?;
                in_chunk = 0;
            }
        }
        self.merge_lists(lists)?;
        let mut batch = sled::Batch::default();
        for (key, count) in counters {
            batch.insert(keys::with(keys::COUNTER, &key), &count.to_be_bytes());
        }
        batch.insert(DERIVATION, fingerprint);
        self.tree
            .apply_batch(batch)
            .map_err(storage("writing derived records"))
    }

    /// Adds members to the derived index's records (a re-derivation's chunk).
    fn merge_lists(
        &self,
        lists: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    ) -> Result<(), ProjectionError> {
        let mut batch = sled::Batch::default();
        for (record, mut members) in lists {
            if let Some(stored) = self.get(&record)? {
                members.extend(postings::decode(&stored)?);
            }
            batch.insert(record, postings::encode(&members));
        }
        self.tree
            .apply_batch(batch)
            .map_err(storage("writing derived records"))
    }
}

pub(crate) fn task_key(task_id: &TaskId) -> Vec<u8> {
    keys::with(keys::TASK, task_id.as_uuid().as_bytes())
}

pub(crate) fn decode_view(bytes: &[u8]) -> Result<TaskView, ProjectionError> {
    serde_json::from_slice(bytes).map_err(|err| ProjectionError::Corrupt(err.to_string()))
}

pub(crate) fn decode_envelope(bytes: &[u8]) -> Result<EventEnvelope, ProjectionError> {
    EventEnvelope::decode(bytes).map_err(|err| ProjectionError::Corrupt(err.to_string()))
}

pub(crate) fn encode_view(view: &TaskView) -> Vec<u8> {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_vec(view).unwrap_or_default()
}

/// Unix nanoseconds, i128 big-endian: exact, unlike a formatted instant.
pub(crate) fn encode_instant(instant: OffsetDateTime) -> Vec<u8> {
    instant.unix_timestamp_nanos().to_be_bytes().to_vec()
}

pub(crate) fn decode_instant(bytes: &[u8]) -> Option<OffsetDateTime> {
    let nanos = i128::from_be_bytes(bytes.try_into().ok()?);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

pub(crate) fn decode_u64(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    let len = bytes.len().min(8);
    buffer[8 - len..].copy_from_slice(&bytes[..len]);
    u64::from_be_bytes(buffer)
}
