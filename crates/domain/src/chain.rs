//! Tamper evidence: each task's events form a hash chain, checkable from the stored
//! bytes alone (no server, no projection, no re-encoding).
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
//! 1, 2, 3 … without gaps; every schema-2 event is sealed and its seal holds; its
//! `prev_hash` is the previous event's hash (`None` for version 1, or after an unsealed
//! schema-1 event, which cannot be checked and is counted as unsealed). What a chain
//! cannot show is the loss of a task's *last* events; the stream's append-only settings
//! and an auditor's earlier export (compare the heads) cover that.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::event::EventEnvelope;
use crate::ids::TaskId;

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

/// Checks the seal of one stored event's bytes.
pub fn check_seal(payload: &[u8]) -> Seal {
    if payload.len() < SEAL_LEN + 1 {
        return Seal::Absent;
    }
    let seal_start = payload.len() - SEAL_LEN;
    let (body, seal) = payload.split_at(seal_start);
    let Some(rest) = seal.strip_prefix(SEAL_PREFIX) else {
        return Seal::Absent;
    };
    let (stored, closing) = rest.split_at(HASH_HEX_LEN);
    if closing != br#""}"# {
        return Seal::Absent;
    }
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

/// Walks stored events in order and stops at the first broken link.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    /// Per task: the last version seen and its hash.
    heads: HashMap<TaskId, (u64, Option<String>)>,
    summary: ChainSummary,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next stored event; `position` names it in errors ("line 12").
    pub fn push(&mut self, position: &str, payload: &[u8]) -> Result<(), BrokenLink> {
        let broken = |task_id, version, reason: String| BrokenLink {
            position: position.to_owned(),
            task_id,
            version,
            reason,
        };
        let envelope = EventEnvelope::decode(payload)
            .map_err(|err| broken(None, None, format!("not a readable event: {err}")))?;
        let (task_id, version) = (envelope.task_id, envelope.version);
        let seal = check_seal(payload);
        let hash = match (envelope.schema_version, seal) {
            (_, Seal::Mismatch { stored, computed }) => {
                return Err(broken(
                    Some(task_id),
                    Some(version),
                    format!(
                    "the event was altered: its hash is {stored}, its content hashes to {computed}"
                ),
                ))
            }
            (1, Seal::Absent) => None,
            (1, Seal::Valid { .. }) => {
                return Err(broken(
                    Some(task_id),
                    Some(version),
                    "a schema-1 event cannot carry a seal".to_owned(),
                ))
            }
            (_, Seal::Absent) => {
                return Err(broken(
                    Some(task_id),
                    Some(version),
                    "the event is not sealed (its hash is missing or not its last member)"
                        .to_owned(),
                ))
            }
            (_, Seal::Valid { hash }) => Some(hash),
        };
        let (last_version, last_hash) = self.heads.get(&task_id).cloned().unwrap_or((0, None));
        if version != last_version + 1 {
            return Err(broken(
                Some(task_id),
                Some(version),
                format!("the task's previous event here is version {last_version}, so this one should be {}", last_version + 1),
            ));
        }
        if hash.is_some() && envelope.prev_hash != last_hash {
            return Err(broken(
                Some(task_id),
                Some(version),
                format!(
                    "prev_hash {} does not match the hash of the task's previous event, {}",
                    envelope.prev_hash.as_deref().unwrap_or("(none)"),
                    last_hash.as_deref().unwrap_or("(none)")
                ),
            ));
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
        self.heads.insert(task_id, (version, hash));
        Ok(())
    }

    pub fn summary(&self) -> ChainSummary {
        self.summary
    }

    /// Each task's last version and hash: what a later verification must extend.
    pub fn heads(&self) -> impl Iterator<Item = (&TaskId, u64, Option<&str>)> {
        self.heads
            .iter()
            .map(|(task, (version, hash))| (task, *version, hash.as_deref()))
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
