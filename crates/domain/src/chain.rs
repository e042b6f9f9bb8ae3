//! Tamper evidence: each task's events form a hash chain, checkable from the stored
//! bytes alone (no server, no projection, no re-encoding), and from the first key
//! record on every record is signed by the deployment's current key (`signing.rs`).
//!
//! Why this file is long: `ChainVerifier` is one walk whose rules (seals, links,
//! signatures, checkpoint coverage) are read in the order they apply to a record; the
//! findings it reports are defined beside it.
//!
//! The seal of a stored event (schema 2 and later) is its last JSON member,
//! `,"hash":"<64 lowercase hex>"}`; the hash is SHA-256 of the bytes before that member
//! with the closing brace put back. Verifying never re-encodes, so fields added by a
//! later build cannot make an old event look altered, while any change to a stored
//! byte does: the content is hashed, the hash is compared exactly, and the event's
//! `prev_hash` (inside the hashed bytes) must equal the hash of the task's previous
//! event, so removing, reordering or replacing an event breaks the next link.
//!
//! Invariants `ChainVerifier` checks, per task, in stream (or file) order: versions run
//! 1, 2, 3 … without gaps; every schema-2 and later event is sealed and its seal holds;
//! its `prev_hash` is the previous event's hash (`None` for version 1, or after an
//! unsealed schema-1 event, which cannot be checked and is counted as unsealed). Across
//! records: key records build the keyring; once a key is on record every record (task
//! event of any schema, checkpoint, import record) is signed by the current key; before
//! that, unsigned records are legacy and counted as such. What a chain cannot show is the
//! loss of a task's *last* events: the last checkpoint's per-plan digests show it, as
//! findings of `ChainVerifier::finish`.
//!
//! Memory: per task, its head and the heads still to be compared with a later
//! checkpoint (about 56 bytes per event pushed since the last checkpoint).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::event::EventEnvelope;
use crate::ids::{PlanId, TaskId};
use crate::signing::{
    classify, plan_entry, Checkpoint, KeyId, Keyring, PlanCheckpoint, RecordKind, SignatureError,
};

const SEAL_PREFIX: &[u8] = br#","hash":""#;
const HASH_HEX_LEN: usize = 64;
const SEAL_LEN: usize = SEAL_PREFIX.len() + HASH_HEX_LEN + 2;

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the seal of stored bytes says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seal {
    /// The bytes end with a hash member that matches them.
    Valid { hash: String },
    /// No hash member at the end: an unsealed (schema 1) event, if its schema says so.
    Absent,
    /// A hash member whose value does not match the bytes.
    Mismatch { stored: String, computed: String },
}

/// Splits stored bytes that end with a hash member into the bytes before that member
/// (no closing brace) and the stored hash; `None` when they do not end with one.
pub(crate) fn split_seal(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    if payload.len() < SEAL_LEN + 1 {
        return None;
    }
    let (body, seal) = payload.split_at(payload.len() - SEAL_LEN);
    let rest = seal.strip_prefix(SEAL_PREFIX)?;
    let (stored, closing) = rest.split_at(HASH_HEX_LEN);
    (closing == br#""}"#).then_some((body, stored))
}

/// Checks the seal of one stored event's bytes.
pub fn check_seal(payload: &[u8]) -> Seal {
    let Some((body, stored)) = split_seal(payload) else {
        return Seal::Absent;
    };
    let stored = String::from_utf8_lossy(stored).into_owned();
    let mut unsealed = Vec::with_capacity(body.len() + 1);
    unsealed.extend_from_slice(body);
    unsealed.push(b'}');
    let computed = sha256_hex(&unsealed);
    if computed == stored {
        Seal::Valid { hash: stored }
    } else {
        Seal::Mismatch { stored, computed }
    }
}

/// The first thing wrong in a sequence of stored events.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} (at {}{}{})", .reason, .position,
    .task_id.map(|task| format!(", task {task}")).unwrap_or_default(),
    .version.map(|version| format!(", version {version}")).unwrap_or_default())]
pub struct BrokenLink {
    /// Where the event was: its stream sequence, or its line in a file.
    pub position: String,
    pub task_id: Option<TaskId>,
    pub version: Option<u64>,
    pub reason: String,
}

/// What a verified sequence held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainSummary {
    pub events: u64,
    pub tasks: u64,
    pub sealed: u64,
    /// Schema-1 events, which predate sealing.
    pub unsealed: u64,
}

/// What a verified sequence held, every record kind and signatures included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// The task events (`ChainVerifier::summary`).
    pub chain: ChainSummary,
    /// Records of every kind.
    pub records: u64,
    /// Records whose signature holds, by the key current at their place in the log (key
    /// records by their own or the previous key).
    pub signed: u64,
    /// Records without a signature: all of them before the first key record (legacy).
    pub unsigned: u64,
    pub key_records: u64,
    pub checkpoints: u64,
    pub import_records: u64,
    /// The key current at the end of the walk.
    pub current_key: Option<KeyId>,
    /// `at_sequence` of the last checkpoint compared at `finish`.
    pub last_checkpoint: Option<u64>,
}

/// What comparing the heads with the last checkpoint found (`ChainVerifier::finish`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointFinding {
    /// The plan has fewer events as of `at_sequence` than the checkpoint records: events
    /// it covered are gone (or left out of the walk).
    EventsMissing {
        plan_id: PlanId,
        at_sequence: u64,
        recorded: PlanCheckpoint,
        found: PlanCheckpoint,
    },
    /// More events as of `at_sequence` than the checkpoint records.
    EventsUnrecorded {
        plan_id: PlanId,
        at_sequence: u64,
        recorded: PlanCheckpoint,
        found: PlanCheckpoint,
    },
    /// As many events, but other heads.
    HeadsDiffer {
        plan_id: PlanId,
        at_sequence: u64,
        recorded: PlanCheckpoint,
        found: PlanCheckpoint,
    },
    /// A checkpoint covering less of the log than an earlier one: not compared.
    OutOfOrder {
        position: String,
        at_sequence: u64,
        previous: u64,
    },
}

impl std::fmt::Display for CheckpointFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EventsMissing {
                plan_id,
                at_sequence,
                recorded,
                found,
            } => write!(
                f,
                "plan {plan_id}: {} events missing after the checkpoint at sequence \
                 {at_sequence} (it records {} events over {} tasks; found {})",
                recorded.events.saturating_sub(found.events),
                recorded.events,
                recorded.tasks,
                found.events
            ),
            Self::EventsUnrecorded {
                plan_id,
                at_sequence,
                recorded,
                found,
            } => write!(
                f,
                "plan {plan_id}: {} events up to sequence {at_sequence} that the checkpoint \
                 there does not record (it records {} events over {} tasks; found {})",
                found.events.saturating_sub(recorded.events),
                recorded.events,
                recorded.tasks,
                found.events
            ),
            Self::HeadsDiffer {
                plan_id,
                at_sequence,
                recorded,
                found,
            } => write!(
                f,
                "plan {plan_id}: the heads as of sequence {at_sequence} differ from the \
                 checkpoint's ({} events over {} tasks, digest {}; found {} over {}, \
                 digest {})",
                recorded.events,
                recorded.tasks,
                recorded.heads_digest,
                found.events,
                found.tasks,
                found.heads_digest
            ),
            Self::OutOfOrder {
                position,
                at_sequence,
                previous,
            } => write!(
                f,
                "the checkpoint at {position} covers up to sequence {at_sequence}, less than \
                 an earlier one (sequence {previous}): not compared"
            ),
        }
    }
}

/// What `ChainVerifier::finish` answers when no link is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub summary: VerifySummary,
    /// Checkpoint comparisons that failed; empty when the walk is complete.
    pub findings: Vec<CheckpointFinding>,
}

/// A task event not yet covered by a checkpoint.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Its stream sequence; 0 when pushed without one (covered by the next checkpoint).
    sequence: u64,
    version: u64,
    hash: Option<[u8; 32]>,
}

/// What the verifier keeps per task.
#[derive(Clone, Debug)]
struct TaskTrack {
    /// Index into `ChainVerifier::plans`.
    plan: usize,
    /// The last version seen and its hash.
    version: u64,
    hash: Option<String>,
    /// The head as of the last checkpoint's `at_sequence`.
    covered: (u64, Option<[u8; 32]>),
    /// Later events, in order.
    pending: Vec<Pending>,
}

/// The last checkpoint seen.
#[derive(Clone, Debug)]
struct SeenCheckpoint {
    at_sequence: u64,
    plans: Vec<PlanCheckpoint>,
}

/// Walks stored records in order: `push_at` stops at the first broken link, `finish`
/// compares with the last checkpoint.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    tasks: HashMap<TaskId, TaskTrack>,
    plans: Vec<PlanId>,
    plan_index: HashMap<PlanId, usize>,
    keyring: Keyring,
    summary: ChainSummary,
    counts: VerifySummary,
    last_checkpoint: Option<SeenCheckpoint>,
    /// Tasks with pending events.
    uncovered: Vec<TaskId>,
    findings: Vec<CheckpointFinding>,
    broken: Option<BrokenLink>,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next stored record; `position` names it in errors ("line 12").
    pub fn push(&mut self, position: &str, payload: &[u8]) -> Result<(), BrokenLink> {
        self.push_at(position, None, payload).map(|_| ())
    }

    /// Checks the next stored record of any kind, at stream `sequence` when known (what
    /// a checkpoint's `at_sequence` is compared with; without one, a checkpoint covers
    /// every event pushed before it). The first broken link is also what `finish`
    /// answers.
    pub fn push_at(
        &mut self,
        position: &str,
        sequence: Option<u64>,
        payload: &[u8],
    ) -> Result<RecordKind, BrokenLink> {
        let outcome = self.check_record(position, sequence, payload);
        if let Err(broken) = &outcome {
            if self.broken.is_none() {
                self.broken = Some(broken.clone());
            }
        } else {
            self.counts.records += 1;
        }
        outcome
    }

    fn check_record(
        &mut self,
        position: &str,
        sequence: Option<u64>,
        payload: &[u8],
    ) -> Result<RecordKind, BrokenLink> {
        let kind = classify(payload);
        let broken = |reason: String| broken_at(position, None, None, reason);
        match &kind {
            RecordKind::TaskEvent => self.push_event(position, sequence, payload)?,
            RecordKind::KeyEstablished | RecordKind::KeyRotated => {
                self.keyring
                    .push(payload)
                    .map_err(|err| broken(format!("key record refused: {err}")))?;
                self.counts.key_records += 1;
                self.counts.signed += 1;
            }
            RecordKind::Checkpoint => {
                let signed = self
                    .check_sealed_and_signed(payload, "checkpoint")
                    .map_err(broken)?;
                let checkpoint = Checkpoint::decode(payload)
                    .map_err(|err| broken(format!("not a readable checkpoint: {err}")))?;
                self.count_signature(signed);
                self.counts.checkpoints += 1;
                self.take_checkpoint(position, checkpoint);
            }
            RecordKind::ImportCommitted => {
                let signed = self
                    .check_sealed_and_signed(payload, "import record")
                    .map_err(broken)?;
                self.count_signature(signed);
                self.counts.import_records += 1;
            }
            RecordKind::Unknown(name) if name.is_empty() => {
                let reason = match EventEnvelope::decode(payload) {
                    Err(err) => format!("not a readable event: {err}"),
                    Ok(_) => "not a readable event: no record type".to_owned(),
                };
                return Err(broken(reason));
            }
            RecordKind::Unknown(name) => {
                return Err(broken(format!(
                    "not a readable event: a record of unknown type {}",
                    crate::text::quoted(name)
                )))
            }
        }
        Ok(kind)
    }

    /// Whether the record is signed as its place in the log requires: `Ok(true)` signed
    /// by the current key, `Ok(false)` unsigned before any key record.
    fn signature_state(&self, payload: &[u8]) -> Result<bool, String> {
        match self.keyring.verify(payload) {
            Ok(_) => Ok(true),
            Err(SignatureError::Unsigned) if self.keyring.is_empty() => Ok(false),
            Err(err) => Err(err.to_string()),
        }
    }

    fn count_signature(&mut self, signed: bool) {
        if signed {
            self.counts.signed += 1;
        } else {
            self.counts.unsigned += 1;
        }
    }

    /// A record other than a task event or key record: sealed, and signed once a key is
    /// on record.
    fn check_sealed_and_signed(&self, payload: &[u8], what: &str) -> Result<bool, String> {
        match check_seal(payload) {
            Seal::Valid { .. } => {}
            Seal::Absent => {
                return Err(format!(
                    "the {what} is not sealed (its hash is missing or not its last member)"
                ))
            }
            Seal::Mismatch { stored, computed } => {
                return Err(format!(
                    "the {what} was altered: its hash is {stored}, its content hashes to {computed}"
                ))
            }
        }
        self.signature_state(payload)
            .map_err(|reason| format!("{what}: {reason}"))
    }

    fn push_event(
        &mut self,
        position: &str,
        sequence: Option<u64>,
        payload: &[u8],
    ) -> Result<(), BrokenLink> {
        let envelope = EventEnvelope::decode(payload).map_err(|err| {
            broken_at(position, None, None, format!("not a readable event: {err}"))
        })?;
        let (task_id, version) = (envelope.task_id, envelope.version);
        let broken = |reason: String| broken_at(position, Some(task_id), Some(version), reason);
        let seal = check_seal(payload);
        let hash = match (envelope.schema_version, seal) {
            (_, Seal::Mismatch { stored, computed }) => {
                return Err(broken(format!(
                    "the event was altered: its hash is {stored}, its content hashes to {computed}"
                )))
            }
            (1, Seal::Absent) => None,
            (1, Seal::Valid { .. }) => {
                return Err(broken("a schema-1 event cannot carry a seal".to_owned()))
            }
            (_, Seal::Absent) => {
                return Err(broken(
                    "the event is not sealed (its hash is missing or not its last member)"
                        .to_owned(),
                ))
            }
            (_, Seal::Valid { hash }) => Some(hash),
        };
        let (last_version, last_hash) = self
            .tasks
            .get(&task_id)
            .map_or((0, None), |track| (track.version, track.hash.clone()));
        // Signature before links: a forged event is named as such, not as a bad link.
        let signed = match self.signature_state(payload) {
            Ok(signed) => signed,
            Err(reason) => {
                let schema = envelope.schema_version;
                return Err(broken(if schema < 3 {
                    format!("{reason} (a schema-{schema} event after the first key record)")
                } else {
                    reason
                }));
            }
        };
        if signed && envelope.schema_version < 3 {
            return Err(broken(format!(
                "a schema-{} event cannot carry a signature",
                envelope.schema_version
            )));
        }
        if !signed && envelope.schema_version >= 3 {
            return Err(broken(
                "not signed by a key on record: a schema-3 event must be signed, and no key \
                 record precedes it"
                    .to_owned(),
            ));
        }
        if !signed && envelope.sig.is_some() {
            return Err(broken(
                "its sig member is not where the layout puts it (just before hash)".to_owned(),
            ));
        }
        if version != last_version + 1 {
            return Err(broken(format!(
                "the task's previous event here is version {last_version}, so this one should be {}",
                last_version + 1
            )));
        }
        if hash.is_some() && envelope.prev_hash != last_hash {
            return Err(broken(format!(
                "prev_hash {} does not match the hash of the task's previous event, {}",
                envelope.prev_hash.as_deref().unwrap_or("(none)"),
                last_hash.as_deref().unwrap_or("(none)")
            )));
        }
        if last_version == 0 {
            self.summary.tasks += 1;
        }
        self.summary.events += 1;
        if hash.is_some() {
            self.summary.sealed += 1;
        } else {
            self.summary.unsealed += 1;
        }
        self.count_signature(signed);
        self.track(task_id, &envelope.plan_id, sequence, version, hash);
        Ok(())
    }

    fn track(
        &mut self,
        task_id: TaskId,
        plan_id: &PlanId,
        sequence: Option<u64>,
        version: u64,
        hash: Option<String>,
    ) {
        let plan = match self.plan_index.get(plan_id) {
            Some(index) => *index,
            None => {
                self.plans.push(plan_id.clone());
                self.plan_index
                    .insert(plan_id.clone(), self.plans.len() - 1);
                self.plans.len() - 1
            }
        };
        let covered_through = self.last_checkpoint.as_ref().map(|seen| seen.at_sequence);
        let track = self.tasks.entry(task_id).or_insert_with(|| TaskTrack {
            plan,
            version: 0,
            hash: None,
            covered: (0, None),
            pending: Vec::new(),
        });
        let hash_bytes = hash.as_deref().and_then(hash_bytes);
        track.version = version;
        track.hash = hash;
        match (sequence, covered_through) {
            // Pushed after a checkpoint that covers it (its at_sequence lies ahead).
            (Some(sequence), Some(through)) if sequence <= through && track.pending.is_empty() => {
                track.covered = (version, hash_bytes);
            }
            _ => {
                if track.pending.is_empty() {
                    self.uncovered.push(task_id);
                }
                track.pending.push(Pending {
                    sequence: sequence.unwrap_or(0),
                    version,
                    hash: hash_bytes,
                });
            }
        }
    }

    /// Moves every task's head as of the checkpoint's `at_sequence` into `covered`, and
    /// remembers the checkpoint as the last one.
    fn take_checkpoint(&mut self, position: &str, checkpoint: Checkpoint) {
        let at_sequence = checkpoint.at_sequence;
        if let Some(previous) = &self.last_checkpoint {
            if at_sequence < previous.at_sequence {
                self.findings.push(CheckpointFinding::OutOfOrder {
                    position: position.to_owned(),
                    at_sequence,
                    previous: previous.at_sequence,
                });
                return;
            }
        }
        let mut still_uncovered = Vec::new();
        for task_id in std::mem::take(&mut self.uncovered) {
            let Some(TaskTrack {
                covered, pending, ..
            }) = self.tasks.get_mut(&task_id)
            else {
                continue;
            };
            pending.retain(|entry| {
                if entry.sequence <= at_sequence {
                    *covered = (entry.version, entry.hash);
                    false
                } else {
                    true
                }
            });
            if pending.is_empty() {
                pending.shrink_to_fit();
            } else {
                still_uncovered.push(task_id);
            }
        }
        self.uncovered = still_uncovered;
        self.last_checkpoint = Some(SeenCheckpoint {
            at_sequence,
            plans: checkpoint.plans,
        });
    }

    pub fn summary(&self) -> ChainSummary {
        self.summary
    }

    /// Every count so far, signatures and record kinds included.
    pub fn verify_summary(&self) -> VerifySummary {
        VerifySummary {
            chain: self.summary,
            current_key: self.keyring.current_key_id().cloned(),
            last_checkpoint: self.last_checkpoint.as_ref().map(|seen| seen.at_sequence),
            ..self.counts.clone()
        }
    }

    /// The keys on record so far.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Each task's last version and hash: what a later verification must extend.
    pub fn heads(&self) -> impl Iterator<Item = (&TaskId, u64, Option<&str>)> {
        self.tasks
            .iter()
            .map(|(task, track)| (task, track.version, track.hash.as_deref()))
    }

    /// Ends the walk: the first broken link if any push found one; else the summary and
    /// what comparing with the last checkpoint found, for each of its plans the walk has
    /// events of (an export may hold only one plan).
    pub fn finish(&self) -> Result<Verification, BrokenLink> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let mut findings = self.findings.clone();
        if let Some(checkpoint) = &self.last_checkpoint {
            findings.extend(self.compare(checkpoint));
        }
        Ok(Verification {
            summary: self.verify_summary(),
            findings,
        })
    }

    fn compare(&self, checkpoint: &SeenCheckpoint) -> Vec<CheckpointFinding> {
        let compared: HashMap<usize, &PlanCheckpoint> = checkpoint
            .plans
            .iter()
            .filter_map(|recorded| {
                let index = self.plan_index.get(&recorded.plan_id)?;
                Some((*index, recorded))
            })
            .collect();
        let mut heads: HashMap<usize, Vec<(TaskId, u64, Option<String>)>> = HashMap::new();
        for (task_id, track) in &self.tasks {
            let (version, hash) = track.covered;
            if version > 0 && compared.contains_key(&track.plan) {
                heads.entry(track.plan).or_default().push((
                    *task_id,
                    version,
                    hash.map(hex::encode),
                ));
            }
        }
        let at_sequence = checkpoint.at_sequence;
        let mut findings = Vec::new();
        for recorded in &checkpoint.plans {
            let Some(index) = self.plan_index.get(&recorded.plan_id) else {
                continue;
            };
            let found = plan_entry(
                recorded.plan_id.clone(),
                heads.remove(index).unwrap_or_default(),
            );
            let (plan_id, recorded) = (recorded.plan_id.clone(), recorded.clone());
            if found.events < recorded.events {
                findings.push(CheckpointFinding::EventsMissing {
                    plan_id,
                    at_sequence,
                    recorded,
                    found,
                });
            } else if found.events > recorded.events {
                findings.push(CheckpointFinding::EventsUnrecorded {
                    plan_id,
                    at_sequence,
                    recorded,
                    found,
                });
            } else if found.tasks != recorded.tasks || found.heads_digest != recorded.heads_digest {
                findings.push(CheckpointFinding::HeadsDiffer {
                    plan_id,
                    at_sequence,
                    recorded,
                    found,
                });
            }
        }
        findings
    }
}

fn broken_at(
    position: &str,
    task_id: Option<TaskId>,
    version: Option<u64>,
    reason: String,
) -> BrokenLink {
    BrokenLink {
        position: position.to_owned(),
        task_id,
        version,
        reason,
    }
}

/// A seal's hash as bytes (it is 64 lowercase hex characters once the seal holds).
fn hash_bytes(hash: &str) -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hash, &mut bytes).ok().map(|()| bytes)
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
