//! The deployment's signature on the log: its Ed25519 key, the keys on record
//! (`dondoc.events.keys`), and the rule every reader applies to what it reads.
//!
//! Invariants:
//! - this process signs every record it appends (task events, import commit records,
//!   checkpoints) with the deployment key, and starts only if that key is the current
//!   key on record (`Signing::establish` puts it there on a log that has none);
//! - from the first key record on, a record counts only if a key on record signed it
//!   (`Trust::admits`); records before it are a legacy log's, written before signing,
//!   and count as they did (sealed, unsigned). A forged event, however well chained,
//!   is never applied: the write side skips it, the projection quarantines it, and
//!   `verify` names it.

use std::sync::Arc;

use dondoc_domain::{DeploymentKey, KeyRecord, Keyring, SignatureCheck, SignatureError};
use dondoc_eventlog::{EventLog, LogError, RawRecord};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AppError;

/// The keys on record as of some point of the log, and where signing began.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    keyring: Keyring,
    /// Stream sequence of the first key record: records after it must be signed.
    signed_from: Option<u64>,
}

impl Trust {
    /// The trust a walk of the log has once it has read `records` (key records, in
    /// stream order). A record the keyring refuses is reported, not trusted.
    pub fn from_key_records<'a>(
        records: impl IntoIterator<Item = &'a RawRecord>,
    ) -> (Self, Vec<(u64, String)>) {
        let mut trust = Self::default();
        let mut refused = Vec::new();
        for record in records {
            if let Err(reason) = trust.push_key_record(record.sequence, &record.payload) {
                refused.push((record.sequence, reason));
            }
        }
        (trust, refused)
    }

    /// Reads the key record stored at `sequence` (next in stream order).
    pub fn push_key_record(&mut self, sequence: u64, payload: &[u8]) -> Result<(), String> {
        self.keyring
            .push(payload)
            .map_err(|error| error.to_string())?;
        self.signed_from.get_or_insert(sequence);
        Ok(())
    }

    /// Whether the record stored at `sequence` counts: before signing began, always;
    /// after, only if signed by the key current at this point of the log.
    pub fn admits(&self, sequence: u64, payload: &[u8]) -> Result<(), SignatureError> {
        match self.signed_from {
            Some(from) if sequence > from => self.keyring.verify(payload).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Like `admits`, for a record read out of stream order (the write side reads one
    /// task's events): any key on record will do.
    pub fn admits_any_key(&self, sequence: u64, payload: &[u8]) -> Result<(), String> {
        match self.signed_from {
            Some(from) if sequence > from => match self.keyring.check(payload) {
                SignatureCheck::Valid { .. } => Ok(()),
                other => Err(format!("not signed by a key on record ({other:?})")),
            },
            _ => Ok(()),
        }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}

/// The deployment key and the trust the write side reads with. Shared by every use
/// case of a process.
#[derive(Debug)]
pub struct Signing {
    key: DeploymentKey,
    /// The keys on record at start (a rotation needs the writers restarted).
    trust: Trust,
}

impl Signing {
    /// Puts `key` on record if the log has no key yet, and checks that it is the
    /// current key otherwise. `actor` names who established it.
    pub async fn establish(
        log: &EventLog,
        key: DeploymentKey,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Self>, AppError> {
        loop {
            let records = log.key_records().await?;
            let (trust, refused) = Trust::from_key_records(&records);
            if let Some((sequence, reason)) = refused.first() {
                return Err(AppError::KeyNotOnRecord(format!(
                    "the key record at stream sequence {sequence} is not valid: {reason}"
                )));
            }
            match trust.keyring.current_key_id() {
                Some(current) if current == key.key_id() => {
                    return Ok(Arc::new(Self {
                        key,
                        trust,
                    }))
                }
                Some(current) => {
                    return Err(AppError::KeyNotOnRecord(format!(
                        "this deployment's signing key {} is not the key on record ({current}); \
                         start with the key on record, or rotate to this one with `dondoc key rotate`",
                        key.key_id()
                    )))
                }
                None => {
                    let record = KeyRecord::established(Uuid::new_v4(), now, actor, &key);
                    let expected = records.last().map_or(0, |record| record.sequence);
                    match log.append_key_record(record, expected).await {
                        Ok(_) => {
                            tracing::info!(key = %key.key_id(), "the deployment key is on record");
                        }
                        // Another process put a key on record first: read it again.
                        Err(LogError::Conflict { .. }) => {}
                        Err(other) => return Err(other.into()),
                    }
                }
            }
        }
    }

    /// Rotates the log to `next`: appends a rotation signed by the current key
    /// (`previous`, which must be the key on record). What `dondoc key rotate` runs.
    pub async fn rotate(
        log: &EventLog,
        previous: &DeploymentKey,
        next: &DeploymentKey,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<u64, AppError> {
        let records = log.key_records().await?;
        let (trust, _) = Trust::from_key_records(&records);
        match trust.keyring.current_key_id() {
            Some(current) if current == previous.key_id() => {}
            Some(current) => {
                return Err(AppError::KeyNotOnRecord(format!(
                    "the key to rotate from ({}) is not the key on record ({current})",
                    previous.key_id()
                )))
            }
            None => {
                return Err(AppError::KeyNotOnRecord(
                    "the log has no key on record yet: start the service once to put one there"
                        .to_owned(),
                ))
            }
        }
        let record = KeyRecord::rotated(Uuid::new_v4(), now, actor, previous, next);
        let expected = records.last().map_or(0, |record| record.sequence);
        Ok(log.append_key_record(record, expected).await?.sequence)
    }

    pub fn key(&self) -> &DeploymentKey {
        &self.key
    }

    /// The trust the write side reads with (the keys on record at start).
    pub fn trust(&self) -> &Trust {
        &self.trust
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-03-01 09:00 +07:00);

    fn key(byte: u8) -> DeploymentKey {
        DeploymentKey::from_secret_bytes(&[byte; 32])
    }

    fn raw(sequence: u64, payload: Vec<u8>) -> RawRecord {
        RawRecord {
            sequence,
            subject: dondoc_eventlog::KEYS_SUBJECT.to_owned(),
            payload: Bytes::from(payload),
        }
    }

    fn signed_checkpoint(key: &DeploymentKey) -> Vec<u8> {
        dondoc_domain::CheckpointBuilder::new()
            .build(Uuid::from_u128(1), AT, "test", 1)
            .encode_signed(key)
    }

    #[test]
    fn before_the_first_key_record_everything_counts_and_after_it_only_the_current_key() {
        let first = key(1);
        let stranger = key(2);
        let established = raw(
            5,
            KeyRecord::established(Uuid::from_u128(1), AT, "t", &first),
        );
        let (trust, refused) = Trust::from_key_records([&established]);
        assert!(refused.is_empty());
        // A legacy log's records, before signing began, count unsigned.
        assert!(trust.admits(3, b"{\"type\":\"anything\"}").is_ok());
        // After it: the current key's signature, and nothing else.
        assert!(trust.admits(6, &signed_checkpoint(&first)).is_ok());
        assert!(trust.admits(6, &signed_checkpoint(&stranger)).is_err());
        assert!(trust.admits(6, b"{\"type\":\"checkpoint\"}").is_err());
        assert!(trust
            .admits_any_key(6, &signed_checkpoint(&stranger))
            .is_err());
    }

    #[test]
    fn after_a_rotation_the_retired_key_no_longer_signs_in_order_but_is_still_on_record() {
        let (first, second) = (key(1), key(2));
        let records = [
            raw(
                1,
                KeyRecord::established(Uuid::from_u128(1), AT, "t", &first),
            ),
            raw(
                9,
                KeyRecord::rotated(Uuid::from_u128(2), AT, "t", &first, &second),
            ),
        ];
        let (trust, refused) = Trust::from_key_records(&records);
        assert!(refused.is_empty());
        assert!(trust.admits(10, &signed_checkpoint(&second)).is_ok());
        assert!(trust.admits(10, &signed_checkpoint(&first)).is_err());
        // Read out of order (one task's events), an event the first key signed before
        // the rotation still counts.
        assert!(trust.admits_any_key(4, &signed_checkpoint(&first)).is_ok());
    }

    #[test]
    fn a_second_key_established_is_refused_and_reported() {
        let records = [
            raw(
                1,
                KeyRecord::established(Uuid::from_u128(1), AT, "t", &key(1)),
            ),
            raw(
                2,
                KeyRecord::established(Uuid::from_u128(2), AT, "t", &key(2)),
            ),
        ];
        let (trust, refused) = Trust::from_key_records(&records);
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, 2);
        assert_eq!(
            trust.keyring().current_key_id(),
            Some(key(1).key_id()),
            "the first key stays current"
        );
    }
}
