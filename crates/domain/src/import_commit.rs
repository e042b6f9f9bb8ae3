//! The commit record of a plan import: the one log record that makes an import's events
//! take effect, so an import of any size is seen whole or not at all.
//!
//! An import writes its task events first, each tagged with the import's id
//! (`EventEnvelope::import_id`), then this record on `dondoc.events.import.<import_id>`.
//! Invariants every reader keeps (projection, write side, as-of replays):
//! - a tagged event takes effect only once its import's commit record is in the log;
//!   before that it is *pending*, and so is every later event of the same task;
//! - an import id names one request: `import_id_for(plan, request id)`, so a retry of
//!   the same request finds the same (possibly half-written) import and completes it,
//!   or finds its commit record and answers with the outcome recorded there;
//! - at most one commit record per import id (its subject is written with an expected
//!   last sequence of 0);
//! - `content_digest` says what was imported, so the same request id with another
//!   appendix is told apart from a retry.
//!
//! The record is sealed like an event (its last member is `hash`, see `chain.rs`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::InvalidInput;
use crate::ids::{PlanId, RequestId, TaskId};

/// Namespace of import ids (UUIDv5 of plan and request id).
const IMPORT_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_7a5c_4e1d_9b1a_2026_0000_0002);

/// The id of the import that request `request_id` makes of `plan_id`.
pub fn import_id_for(plan_id: &PlanId, request_id: &RequestId) -> Uuid {
    Uuid::new_v5(
        &IMPORT_ID_NAMESPACE,
        format!("{plan_id}\n{request_id}").as_bytes(),
    )
}

/// What an import did, as its first attempt decided it: what a retry answers with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// Rows of the appendix (tasks it names).
    pub rows: u64,
    pub created: u64,
    pub amended: u64,
    pub unchanged: u64,
    /// Tasks of the plan the appendix no longer has, flagged by this import.
    pub missing: u64,
    /// Task events the import wrote.
    pub events: u64,
}

/// The commit record (module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "import_committed")]
pub struct ImportCommitted {
    pub schema_version: u32,
    pub record_id: Uuid,
    pub import_id: Uuid,
    pub plan_id: PlanId,
    pub request_id: RequestId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    /// `import_content_digest` of what was imported.
    pub content_digest: String,
    pub outcome: ImportOutcome,
    /// Signature, when the deployment signs its records (before `hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    /// The seal: SHA-256 of the record's JSON without this member, always last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl ImportCommitted {
    /// The stored form (`hash` last, like an event's).
    pub fn encode(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Seals the record: `hash` over its JSON without `hash`.
    pub fn sealed(mut self) -> Self {
        self.hash = None;
        self.hash = Some(crate::chain::sha256_hex(&self.encode()));
        self
    }

    /// Signs and seals the record: `sig` over its JSON without `sig` and `hash`, then
    /// `hash` over its JSON without `hash` (the layout of `signing.rs`).
    pub fn signed(mut self, key: &crate::signing::DeploymentKey) -> Self {
        self.schema_version = self
            .schema_version
            .max(crate::signing::SIGNED_SCHEMA_VERSION);
        self.sig = None;
        self.hash = None;
        self.sig = Some(key.signature_member(&self.encode()));
        self.hash = Some(crate::chain::sha256_hex(&self.encode()));
        self
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidInput> {
        serde_json::from_slice(bytes).map_err(|err| {
            InvalidInput::new(
                "import_committed",
                format!("not an import commit record: {err}"),
            )
        })
    }
}

/// A digest of what an import records: each task id with its assignment's JSON, in
/// appendix order. Two imports with the same digest record the same tasks the same way.
pub fn import_content_digest<'a>(
    tasks: impl IntoIterator<Item = (TaskId, &'a crate::event::TaskAssigned)>,
) -> String {
    let mut hasher = Sha256::new();
    for (task_id, assignment) in tasks {
        hasher.update(task_id.as_uuid().as_bytes());
        // Plain data with string keys: serialising cannot fail.
        let json = serde_json::to_vec(assignment).unwrap_or_default();
        hasher.update((json.len() as u64).to_be_bytes());
        hasher.update(&json);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ImportCommitted {
        ImportCommitted {
            schema_version: crate::event::CURRENT_SCHEMA_VERSION,
            record_id: Uuid::from_u128(7),
            import_id: import_id_for(
                &PlanId::parse("qng-189-2022").unwrap(),
                &RequestId::parse("import-1").unwrap(),
            ),
            plan_id: PlanId::parse("qng-189-2022").unwrap(),
            request_id: RequestId::parse("import-1").unwrap(),
            occurred_at: time::macros::datetime!(2026-03-02 09:00 +07:00),
            actor: "import".to_owned(),
            content_digest: "ab".repeat(32),
            outcome: ImportOutcome {
                rows: 3,
                created: 2,
                amended: 1,
                ..Default::default()
            },
            sig: None,
            hash: None,
        }
    }

    #[test]
    fn a_sealed_record_round_trips_with_its_hash_last_and_valid() {
        let sealed = record().sealed();
        let bytes = sealed.encode();
        assert!(bytes.starts_with(br#"{"type":"import_committed","#));
        assert!(matches!(
            crate::chain::check_seal(&bytes),
            crate::chain::Seal::Valid { .. }
        ));
        assert_eq!(ImportCommitted::decode(&bytes).unwrap(), sealed);
    }

    #[test]
    fn a_signed_record_verifies_under_its_key_and_no_other() {
        let key = crate::signing::DeploymentKey::from_secret_bytes(&[3; 32]);
        let other = crate::signing::DeploymentKey::from_secret_bytes(&[4; 32]);
        let bytes = record().signed(&key).encode();
        assert!(matches!(
            crate::chain::check_seal(&bytes),
            crate::chain::Seal::Valid { .. }
        ));
        let check = |key: &crate::signing::DeploymentKey| {
            crate::signing::check_signature(&bytes, |id| {
                (id == key.key_id()).then(|| key.public_key())
            })
        };
        assert!(matches!(
            check(&key),
            crate::signing::SignatureCheck::Valid { .. }
        ));
        assert!(!matches!(
            check(&other),
            crate::signing::SignatureCheck::Valid { .. }
        ));
    }

    #[test]
    fn import_ids_name_one_plan_and_request() {
        let plan = PlanId::parse("p").unwrap();
        let other_plan = PlanId::parse("q").unwrap();
        let request = RequestId::parse("r").unwrap();
        let other_request = RequestId::parse("s").unwrap();
        let id = import_id_for(&plan, &request);
        assert_eq!(id, import_id_for(&plan, &request));
        assert_ne!(id, import_id_for(&other_plan, &request));
        assert_ne!(id, import_id_for(&plan, &other_request));
    }

    #[test]
    fn an_event_record_does_not_decode_as_a_commit() {
        assert!(ImportCommitted::decode(br#"{"type":"report_submitted"}"#).is_err());
    }
}
