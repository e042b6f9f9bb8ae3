//! Signed records (schema 3): the deployment's Ed25519 keys, the signature member of
//! stored records, the key records and the `Keyring` they build, checkpoints, and what
//! kind of record a stored payload is.
//!
//! Why this file is long: it is one persisted format (EVENTS.md, "Signed records"): the
//! byte layout, the keys, and the two record families that use it (key records,
//! checkpoints) change together and are reviewed together; each part is short.
//!
//! Layout. A signed stored record is one JSON object whose last two members are `sig`
//! then `hash`: `{…content…,"sig":"<key_id>:<128 lowercase hex>","hash":"<64 hex>"}`.
//! - `hash` is the seal of `chain::check_seal`, unchanged, so it covers `sig` too;
//! - the signature is Ed25519 (strict verification) over the *content bytes*: the
//!   stored bytes without the hash member and without the `,"sig":"…"` member, with `}`
//!   put back, i.e. the record's JSON with `sig` and `hash` absent;
//! - `key_id` is the first 16 lowercase hex characters of SHA-256 of the 32-byte public
//!   key.
//!
//! Invariants: verification reads the stored bytes and never re-encodes them; this
//! module holds no randomness source and reads no clock: secret keys, record ids and
//! instants are given by an adapter. A `DeploymentKey` never prints its secret.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::chain::{check_seal, split_seal, Seal};
use crate::error::InvalidInput;
use crate::event::{TaskEvent, CURRENT_SCHEMA_VERSION};
use crate::ids::{PlanId, TaskId};
use crate::text::quoted;

/// Length of a key id: 16 lowercase hex characters (8 bytes of SHA-256).
pub const KEY_ID_HEX_LEN: usize = 16;
/// Length of a signature in the `sig` member: 128 lowercase hex characters (64 bytes).
pub const SIGNATURE_HEX_LEN: usize = 128;
/// The first schema version with signed records; key records and checkpoints have it.
pub const SIGNED_SCHEMA_VERSION: u32 = 3;

const SIG_PREFIX: &[u8] = br#","sig":""#;

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte))
}

/// A key's identity: the first 16 lowercase hex characters of SHA-256 of its public key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.len() != KEY_ID_HEX_LEN || !is_lower_hex(raw.as_bytes()) {
            return Err(InvalidInput::new(
                "key_id",
                format!(
                    "{} must be {KEY_ID_HEX_LEN} lowercase hex characters",
                    quoted(raw)
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id of the key whose public key is `public_key`.
    pub fn of_public_key(public_key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(public_key);
        Self(hex::encode(&digest[..KEY_ID_HEX_LEN / 2]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<KeyId> for String {
    fn from(key_id: KeyId) -> Self {
        key_id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A public key on record: an Ed25519 verifying key (not a weak, small-order one) and its
/// id. In JSON, 64 lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: KeyId,
}

impl PublicKey {
    /// Reads 64 lowercase hex characters.
    pub fn from_hex(raw: &str) -> Result<Self, InvalidInput> {
        let mut bytes = [0u8; 32];
        if raw.len() != 64
            || !is_lower_hex(raw.as_bytes())
            || hex::decode_to_slice(raw, &mut bytes).is_err()
        {
            return Err(InvalidInput::new(
                "public_key",
                format!("{} must be 64 lowercase hex characters", quoted(raw)),
            ));
        }
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, InvalidInput> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| {
            InvalidInput::new("public_key", "not a point of Ed25519's curve".to_owned())
        })?;
        if key.is_weak() {
            return Err(InvalidInput::new(
                "public_key",
                "a weak (small-order) Ed25519 key".to_owned(),
            ));
        }
        Ok(Self::from_verifying_key(key))
    }

    fn from_verifying_key(key: VerifyingKey) -> Self {
        Self {
            key_id: KeyId::of_public_key(key.as_bytes()),
            key,
        }
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    fn verifies(&self, content: &[u8], signature: &Signature) -> bool {
        self.key.verify_strict(content, signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &self.key_id.as_str())
            .field("hex", &self.to_hex())
            .finish()
    }
}

impl TryFrom<String> for PublicKey {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::from_hex(&raw)
    }
}

impl From<PublicKey> for String {
    fn from(key: PublicKey) -> Self {
        key.to_hex()
    }
}

/// The deployment's signing key. Built from 32 secret bytes that an adapter generated
/// (from OS randomness) or loaded; Debug shows only the public half.
#[derive(Clone)]
pub struct DeploymentKey {
    key: SigningKey,
    public: PublicKey,
}

impl DeploymentKey {
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let public = PublicKey::from_verifying_key(key.verifying_key());
        Self { key, public }
    }

    /// The 32 secret bytes, for the adapter that stores the key.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn public_key_hex(&self) -> String {
        self.public.to_hex()
    }

    pub fn key_id(&self) -> &KeyId {
        &self.public.key_id
    }

    /// The value of the `sig` member for `content`: `<key_id>:<128 lowercase hex>`.
    pub fn signature_member(&self, content: &[u8]) -> String {
        let signature = self.key.sign(content);
        format!(
            "{}:{}",
            self.public.key_id,
            hex::encode(signature.to_bytes())
        )
    }
}

impl fmt::Debug for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentKey")
            .field("key_id", &self.public.key_id.as_str())
            .field("public_key", &self.public.to_hex())
            .finish_non_exhaustive()
    }
}

/// A stored record's signature member, split from the content bytes it signs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SignatureMember {
    key_id: KeyId,
    signature: [u8; 64],
    /// The record without its `sig` and `hash` members, `}` put back.
    content: Vec<u8>,
}

/// The stored bytes before the seal (or before the closing brace of an unsealed
/// record), without that brace.
fn body_of(payload: &[u8]) -> Option<&[u8]> {
    match split_seal(payload) {
        Some((body, _)) => Some(body),
        None => payload.strip_suffix(b"}"),
    }
}

/// Reads the signature member at the end of a stored record: `Ok(None)` when there is
/// none, `Err` with the reason when there is one that is not `<key_id>:<signature>`.
fn read_signature(payload: &[u8]) -> Result<Option<SignatureMember>, String> {
    let Some(body) = body_of(payload) else {
        return Ok(None);
    };
    let Some(start) = body
        .windows(SIG_PREFIX.len())
        .rposition(|window| window == SIG_PREFIX)
    else {
        return Ok(None);
    };
    // In JSON a quote inside a string is escaped, so `,"sig":"` followed by quote-free
    // bytes and one closing quote at the very end is the object's last member.
    let Some(value) = body[start + SIG_PREFIX.len()..].strip_suffix(b"\"") else {
        return Ok(None);
    };
    if value.contains(&b'"') {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(value);
    let Some((key_id, signature)) = text.split_once(':') else {
        return Err(format!(
            "its sig member {} is not <key id>:<signature>",
            quoted(&text)
        ));
    };
    let key_id = KeyId::parse(key_id).map_err(|err| format!("its sig member's {err}"))?;
    let mut bytes = [0u8; 64];
    if signature.len() != SIGNATURE_HEX_LEN
        || !is_lower_hex(signature.as_bytes())
        || hex::decode_to_slice(signature, &mut bytes).is_err()
    {
        return Err(format!(
            "its signature is not {SIGNATURE_HEX_LEN} lowercase hex characters"
        ));
    }
    let mut content = Vec::with_capacity(start + 1);
    content.extend_from_slice(&body[..start]);
    content.push(b'}');
    Ok(Some(SignatureMember {
        key_id,
        signature: bytes,
        content,
    }))
}

/// What a stored record's signature says, with the key it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Signed by `key_id`, and the signature holds over the content bytes.
    Valid { key_id: KeyId },
    /// No `sig` member just before the seal (or the closing brace).
    Absent,
    /// A `sig` member that is not `<16 lowercase hex>:<128 lowercase hex>`.
    Malformed { reason: String },
    /// Signed by a key the lookup does not know.
    UnknownKey { key_id: KeyId },
    /// Signed by a known key, but the signature does not match the content bytes.
    Invalid { key_id: KeyId },
}

/// Checks the signature of a stored record (its seal is `chain::check_seal`'s business):
/// `key_for` returns the public key with the id the record names, if it knows one.
pub fn check_signature<'k>(
    payload: &[u8],
    key_for: impl FnOnce(&KeyId) -> Option<&'k PublicKey>,
) -> SignatureCheck {
    let member = match read_signature(payload) {
        Ok(Some(member)) => member,
        Ok(None) => return SignatureCheck::Absent,
        Err(reason) => return SignatureCheck::Malformed { reason },
    };
    let key_id = member.key_id;
    match key_for(&key_id) {
        Some(key) if key.key_id == key_id => {
            if key.verifies(&member.content, &Signature::from_bytes(&member.signature)) {
                SignatureCheck::Valid { key_id }
            } else {
                SignatureCheck::Invalid { key_id }
            }
        }
        _ => SignatureCheck::UnknownKey { key_id },
    }
}

/// Signs and seals a record's content: `content` is its JSON with no `sig` or `hash`
/// member (a JSON object of at least one member, nothing around its braces); the result
/// is the stored bytes, `{…content…,"sig":"…","hash":"…"}`.
pub fn sign_record(content: &[u8], key: &DeploymentKey) -> Result<Vec<u8>, InvalidInput> {
    let refuse = |message: &str| Err(InvalidInput::new("record", message.to_owned()));
    let Ok(object) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(content)
    else {
        return refuse("the content to sign is not a JSON object");
    };
    if object.is_empty() || content.first() != Some(&b'{') || content.last() != Some(&b'}') {
        return refuse("the content to sign must be a non-empty object with nothing around it");
    }
    if object.contains_key("sig") || object.contains_key("hash") {
        return refuse("the content to sign already has a sig or hash member");
    }
    Ok(sign_content(content, key))
}

/// `sign_record` for content this crate encoded itself (a non-empty object).
pub(crate) fn sign_content(content: &[u8], key: &DeploymentKey) -> Vec<u8> {
    let member = key.signature_member(content);
    let mut stored = Vec::with_capacity(content.len() + 240);
    stored.extend_from_slice(&content[..content.len().saturating_sub(1)]);
    stored.extend_from_slice(SIG_PREFIX);
    stored.extend_from_slice(member.as_bytes());
    stored.extend_from_slice(b"\"}");
    let hash = crate::chain::sha256_hex(&stored);
    stored.pop();
    stored.extend_from_slice(br#","hash":""#);
    stored.extend_from_slice(hash.as_bytes());
    stored.extend_from_slice(b"\"}");
    stored
}

/// Why a record's signature is not acceptable where it stands in the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("not signed by a key on record: it has no signature")]
    Unsigned,
    #[error("not signed by a key on record: {reason}")]
    Malformed { reason: String },
    #[error("not signed by a key on record: key {key_id} is not on record")]
    UnknownKey { key_id: KeyId },
    #[error("signed by retired key {key_id} (the current key is {current})")]
    RetiredKey { key_id: KeyId, current: KeyId },
    #[error("signature does not verify (it names key {key_id})")]
    Invalid { key_id: KeyId },
}

/// `key_established`: the first key of a log, signed by itself (proof of possession).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEstablished {
    pub schema_version: u32,
    pub record_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    pub key_id: KeyId,
    pub public_key: PublicKey,
}

/// `key_rotated`: `key_id` replaces `previous_key_id`, signed by the previous key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotated {
    pub schema_version: u32,
    pub record_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    pub key_id: KeyId,
    pub public_key: PublicKey,
    pub previous_key_id: KeyId,
}

/// A record of the key log (`dondoc.events.keys`), tagged by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeyRecord {
    KeyEstablished(KeyEstablished),
    KeyRotated(KeyRotated),
}

impl KeyRecord {
    /// The stored bytes of the record that establishes `key`, signed by it.
    pub fn established(
        record_id: Uuid,
        occurred_at: OffsetDateTime,
        actor: &str,
        key: &DeploymentKey,
    ) -> Vec<u8> {
        Self::KeyEstablished(KeyEstablished {
            schema_version: SIGNED_SCHEMA_VERSION,
            record_id,
            occurred_at: crate::vietnam_time::in_vietnam(occurred_at),
            actor: actor.to_owned(),
            key_id: key.key_id().clone(),
            public_key: key.public_key().clone(),
        })
        .encode_signed(key)
    }

    /// The stored bytes of the rotation from `previous` to `next`, signed by `previous`.
    pub fn rotated(
        record_id: Uuid,
        occurred_at: OffsetDateTime,
        actor: &str,
        previous: &DeploymentKey,
        next: &DeploymentKey,
    ) -> Vec<u8> {
        Self::KeyRotated(KeyRotated {
            schema_version: SIGNED_SCHEMA_VERSION,
            record_id,
            occurred_at: crate::vietnam_time::in_vietnam(occurred_at),
            actor: actor.to_owned(),
            key_id: next.key_id().clone(),
            public_key: next.public_key().clone(),
            previous_key_id: previous.key_id().clone(),
        })
        .encode_signed(previous)
    }

    /// The record's JSON without `sig` and `hash`: the bytes its signature covers.
    pub fn encode_content(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The stored bytes, signed by `key` (the right key is the constructors' business).
    pub fn encode_signed(&self, key: &DeploymentKey) -> Vec<u8> {
        sign_content(&self.encode_content(), key)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidInput> {
        let record: Self = serde_json::from_slice(bytes)
            .map_err(|err| InvalidInput::new("key_record", format!("not a key record: {err}")))?;
        check_record_schema("key_record", record.schema_version())?;
        Ok(record)
    }

    pub fn schema_version(&self) -> u32 {
        match self {
            Self::KeyEstablished(record) => record.schema_version,
            Self::KeyRotated(record) => record.schema_version,
        }
    }

    /// The key the record puts on record.
    pub fn key_id(&self) -> &KeyId {
        match self {
            Self::KeyEstablished(record) => &record.key_id,
            Self::KeyRotated(record) => &record.key_id,
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        match self {
            Self::KeyEstablished(record) => &record.public_key,
            Self::KeyRotated(record) => &record.public_key,
        }
    }
}

fn check_record_schema(field: &str, schema_version: u32) -> Result<(), InvalidInput> {
    if (SIGNED_SCHEMA_VERSION..=CURRENT_SCHEMA_VERSION).contains(&schema_version) {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!(
            "schema version {schema_version}; this build reads \
             {SIGNED_SCHEMA_VERSION}..={CURRENT_SCHEMA_VERSION} for this record type"
        ),
    ))
}

/// Why the keyring refuses a key record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("not a readable key record: {0}")]
    Unreadable(InvalidInput),
    #[error("the key record is not sealed (its hash is missing or not its last member)")]
    Unsealed,
    #[error("the key record was altered: its hash is {stored}, its content hashes to {computed}")]
    Altered { stored: String, computed: String },
    #[error("the key record names key id {stated}, but its public key's id is {computed}")]
    KeyIdMismatch { stated: KeyId, computed: KeyId },
    #[error("key_established of key {key_id}, but key {current} is already established: a new key comes only by key_rotated")]
    AlreadyEstablished { key_id: KeyId, current: KeyId },
    #[error("key_rotated to key {key_id} before any key_established")]
    RotatedBeforeEstablished { key_id: KeyId },
    #[error("key_rotated names previous key {stated}, but the current key is {current}")]
    WrongPreviousKey { stated: KeyId, current: KeyId },
    #[error(
        "key_rotated to key {key_id}, which is already on record: a rotation brings a new key"
    )]
    KeyReused { key_id: KeyId },
    #[error("key_established of key {key_id} is not signed by that key: {reason}")]
    NotSelfSigned {
        key_id: KeyId,
        reason: SignatureError,
    },
    #[error("key_rotated to key {key_id} is not signed by the previous key {previous}: {reason}")]
    NotSignedByPrevious {
        key_id: KeyId,
        previous: KeyId,
        reason: SignatureError,
    },
}

/// The keys on record, built from the key log in log order: at most one is current, every
/// other one is retired.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    /// Every key on record, retired ones included.
    keys: HashMap<KeyId, PublicKey>,
    current: Option<KeyId>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next stored key record of the log (seal, signature, and its place in the
    /// log checked), or refuses it and stays as it was.
    pub fn push(&mut self, payload: &[u8]) -> Result<KeyRecord, KeyringError> {
        match check_seal(payload) {
            Seal::Valid { .. } => {}
            Seal::Absent => return Err(KeyringError::Unsealed),
            Seal::Mismatch { stored, computed } => {
                return Err(KeyringError::Altered { stored, computed })
            }
        }
        let record = KeyRecord::decode(payload).map_err(KeyringError::Unreadable)?;
        let (key_id, public_key) = (record.key_id().clone(), record.public_key().clone());
        if public_key.key_id != key_id {
            return Err(KeyringError::KeyIdMismatch {
                stated: key_id,
                computed: public_key.key_id,
            });
        }
        match (&record, &self.current) {
            (KeyRecord::KeyEstablished(_), Some(current)) => {
                return Err(KeyringError::AlreadyEstablished {
                    key_id,
                    current: current.clone(),
                })
            }
            (KeyRecord::KeyEstablished(_), None) => {
                let check = check_signature(payload, |_| Some(&public_key));
                into_result(check, Some(&key_id)).map_err(|reason| {
                    KeyringError::NotSelfSigned {
                        key_id: key_id.clone(),
                        reason,
                    }
                })?;
            }
            (KeyRecord::KeyRotated(_), None) => {
                return Err(KeyringError::RotatedBeforeEstablished { key_id })
            }
            (KeyRecord::KeyRotated(rotated), Some(current)) => {
                if &rotated.previous_key_id != current {
                    return Err(KeyringError::WrongPreviousKey {
                        stated: rotated.previous_key_id.clone(),
                        current: current.clone(),
                    });
                }
                if self.keys.contains_key(&key_id) {
                    return Err(KeyringError::KeyReused { key_id });
                }
                self.verify(payload)
                    .map_err(|reason| KeyringError::NotSignedByPrevious {
                        key_id: key_id.clone(),
                        previous: current.clone(),
                        reason,
                    })?;
            }
        }
        self.keys.insert(key_id.clone(), public_key);
        self.current = Some(key_id);
        Ok(record)
    }

    /// The key records must be signed by from here on.
    pub fn current(&self) -> Option<&PublicKey> {
        self.current
            .as_ref()
            .and_then(|key_id| self.keys.get(key_id))
    }

    pub fn current_key_id(&self) -> Option<&KeyId> {
        self.current.as_ref()
    }

    /// Whether the key was ever on record (current or retired).
    pub fn is_on_record(&self, key_id: &KeyId) -> bool {
        self.keys.contains_key(key_id)
    }

    pub fn is_retired(&self, key_id: &KeyId) -> bool {
        self.is_on_record(key_id) && self.current.as_ref() != Some(key_id)
    }

    /// Whether no key is on record yet (the log's legacy part).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys on record, retired ones included.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn key(&self, key_id: &KeyId) -> Option<&PublicKey> {
        self.keys.get(key_id)
    }

    /// The record's signature against every key on record, retired ones included.
    pub fn check(&self, payload: &[u8]) -> SignatureCheck {
        check_signature(payload, |key_id| self.keys.get(key_id))
    }

    /// Whether a record stored now is acceptable: signed by the current key, and the
    /// signature holds. Answers with the key.
    pub fn verify(&self, payload: &[u8]) -> Result<KeyId, SignatureError> {
        into_result(self.check(payload), self.current.as_ref())
    }
}

/// A signature check where `current` is the only key accepted.
fn into_result(check: SignatureCheck, current: Option<&KeyId>) -> Result<KeyId, SignatureError> {
    match check {
        SignatureCheck::Valid { key_id } => match current {
            Some(current) if *current == key_id => Ok(key_id),
            Some(current) => Err(SignatureError::RetiredKey {
                key_id,
                current: current.clone(),
            }),
            None => Err(SignatureError::UnknownKey { key_id }),
        },
        SignatureCheck::Absent => Err(SignatureError::Unsigned),
        SignatureCheck::Malformed { reason } => Err(SignatureError::Malformed { reason }),
        SignatureCheck::UnknownKey { key_id } => Err(SignatureError::UnknownKey { key_id }),
        SignatureCheck::Invalid { key_id } => Err(SignatureError::Invalid { key_id }),
    }
}

/// One plan's state in a checkpoint: how many tasks and events it had, and a digest of
/// its tasks' heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCheckpoint {
    pub plan_id: PlanId,
    pub tasks: u64,
    /// Events of the plan's tasks: the sum of their versions.
    pub events: u64,
    /// `heads_digest` of the plan's tasks.
    pub heads_digest: String,
}

/// `checkpoint` (`dondoc.events.checkpoint`): the log's state up to stream sequence
/// `at_sequence`, per plan. Per-plan digests rather than per-task heads keep it far below
/// NATS's 1 MiB payload limit even for plans of tens of thousands of tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub schema_version: u32,
    pub record_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor: String,
    /// The last stream sequence the checkpoint covers.
    pub at_sequence: u64,
    pub plans: Vec<PlanCheckpoint>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CheckpointRecord {
    Checkpoint(Checkpoint),
}

impl Checkpoint {
    pub fn new(
        record_id: Uuid,
        occurred_at: OffsetDateTime,
        actor: &str,
        at_sequence: u64,
        plans: Vec<PlanCheckpoint>,
    ) -> Self {
        Self {
            schema_version: SIGNED_SCHEMA_VERSION,
            record_id,
            occurred_at: crate::vietnam_time::in_vietnam(occurred_at),
            actor: actor.to_owned(),
            at_sequence,
            plans,
        }
    }

    /// The record's JSON without `sig` and `hash`, `"type":"checkpoint"` first.
    pub fn encode_content(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(&CheckpointRecord::Checkpoint(self.clone())).unwrap_or_default()
    }

    /// The stored bytes, signed by `key` and sealed.
    pub fn encode_signed(&self, key: &DeploymentKey) -> Vec<u8> {
        sign_content(&self.encode_content(), key)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, InvalidInput> {
        let CheckpointRecord::Checkpoint(checkpoint) = serde_json::from_slice(bytes)
            .map_err(|err| InvalidInput::new("checkpoint", format!("not a checkpoint: {err}")))?;
        check_record_schema("checkpoint", checkpoint.schema_version)?;
        Ok(checkpoint)
    }
}

/// SHA-256 (lowercase hex) over the lines `<task_id>:<version>:<hash>\n` of the heads
/// sorted by task id (the hash empty for an unsealed head). A task given twice counts
/// with its higher version.
pub fn heads_digest(heads: impl IntoIterator<Item = (TaskId, u64, Option<String>)>) -> String {
    let mut sorted = BTreeMap::new();
    for (task_id, version, hash) in heads {
        keep_latest(&mut sorted, task_id, version, hash);
    }
    digest_of(&sorted).1
}

fn keep_latest(
    heads: &mut BTreeMap<TaskId, (u64, Option<String>)>,
    task_id: TaskId,
    version: u64,
    hash: Option<String>,
) {
    if version == 0 {
        return;
    }
    let entry = heads.entry(task_id).or_insert((0, None));
    if version >= entry.0 {
        *entry = (version, hash);
    }
}

/// The checkpoint entry of one plan from its heads, sorted by task id (a `BTreeMap`'s
/// order: `TaskId` orders as its lowercase hyphenated text does).
fn plan_entry_of(
    plan_id: PlanId,
    heads: &BTreeMap<TaskId, (u64, Option<String>)>,
) -> PlanCheckpoint {
    let (events, heads_digest) = digest_of(heads);
    PlanCheckpoint {
        plan_id,
        tasks: heads.len() as u64,
        events,
        heads_digest,
    }
}

/// The events the heads count (the sum of their versions) and their digest.
fn digest_of(heads: &BTreeMap<TaskId, (u64, Option<String>)>) -> (u64, String) {
    let mut hasher = Sha256::new();
    let mut events = 0u64;
    for (task_id, (version, hash)) in heads {
        hasher.update(format!(
            "{task_id}:{version}:{}\n",
            hash.as_deref().unwrap_or("")
        ));
        events = events.saturating_add(*version);
    }
    (events, hex::encode(hasher.finalize()))
}

/// `plan_entry_of` for heads in any order (the verifier's).
pub(crate) fn plan_entry(
    plan_id: PlanId,
    heads: impl IntoIterator<Item = (TaskId, u64, Option<String>)>,
) -> PlanCheckpoint {
    let mut sorted = BTreeMap::new();
    for (task_id, version, hash) in heads {
        keep_latest(&mut sorted, task_id, version, hash);
    }
    plan_entry_of(plan_id, &sorted)
}

/// Collects task heads, plan by plan, into a checkpoint's `plans`.
#[derive(Clone, Debug, Default)]
pub struct CheckpointBuilder {
    plans: BTreeMap<PlanId, BTreeMap<TaskId, (u64, Option<String>)>>,
}

impl CheckpointBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// One task's head: its last version and that event's hash (`None`: unsealed). A task
    /// given twice keeps its higher version; version 0 (no events) is no head.
    pub fn add(&mut self, plan_id: PlanId, task_id: TaskId, version: u64, hash: Option<String>) {
        keep_latest(
            self.plans.entry(plan_id).or_default(),
            task_id,
            version,
            hash,
        );
    }

    /// The `plans` entries, by plan id.
    pub fn plans(&self) -> Vec<PlanCheckpoint> {
        self.plans
            .iter()
            .filter(|(_, heads)| !heads.is_empty())
            .map(|(plan_id, heads)| plan_entry_of(plan_id.clone(), heads))
            .collect()
    }

    pub fn build(
        &self,
        record_id: Uuid,
        occurred_at: OffsetDateTime,
        actor: &str,
        at_sequence: u64,
    ) -> Checkpoint {
        Checkpoint::new(record_id, occurred_at, actor, at_sequence, self.plans())
    }
}

/// A checkpoint's `plans` from task heads `(plan_id, task_id, version, hash)`.
pub fn checkpoint_plans(
    heads: impl IntoIterator<Item = (PlanId, TaskId, u64, Option<String>)>,
) -> Vec<PlanCheckpoint> {
    let mut builder = CheckpointBuilder::new();
    for (plan_id, task_id, version, hash) in heads {
        builder.add(plan_id, task_id, version, hash);
    }
    builder.plans()
}

/// What a stored record of the log is, by its `type` member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A task event (`TaskEvent::TYPE_NAMES`).
    TaskEvent,
    KeyEstablished,
    KeyRotated,
    Checkpoint,
    /// An import's commit record (`ImportCommitted`).
    ImportCommitted,
    /// Any other `type`; empty when the payload is no JSON object with a string `type`.
    Unknown(String),
}

/// Reads the `type` member of a stored record.
pub fn classify(payload: &[u8]) -> RecordKind {
    #[derive(Deserialize)]
    struct Tag {
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let Ok(Tag { kind: Some(kind) }) = serde_json::from_slice::<Tag>(payload) else {
        return RecordKind::Unknown(String::new());
    };
    match kind.as_str() {
        "key_established" => RecordKind::KeyEstablished,
        "key_rotated" => RecordKind::KeyRotated,
        "checkpoint" => RecordKind::Checkpoint,
        "import_committed" => RecordKind::ImportCommitted,
        name if TaskEvent::TYPE_NAMES.contains(&name) => RecordKind::TaskEvent,
        _ => RecordKind::Unknown(kind),
    }
}

#[cfg(test)]
#[path = "signing_tests.rs"]
pub(crate) mod tests;
