//! Posting lists: how the derived index (`Derived::index`) is stored. An index entry is
//! a (list, member) pair; the members of one list are kept together in a few sled
//! records instead of one record each, because sled's cost per record (memory, a log
//! write, a larger import batch) dominated when every (task, deadline, scope) was a key
//! of its own (10k tasks: 1.2 GB resident, rebuild at a fifth of the speed).
//!
//! A list is split into `BUCKETS` records by a hash of the member, so that changing one
//! member of a list of 10,000 rewrites a record of about 150 of them, not all.
//! Record: key `O` list bucket (one byte), value the bucket's members in order, each as
//! its length (u16 big-endian) and its bytes; a bucket with no member has no record.
//!
//! Invariant: list keys are prefix-free (none is a prefix of another, as with a fixed
//! length after a terminated scope). Then a list's buckets are adjacent records, the
//! key order of lists is the order of their records, and (list ‖ member) for every entry
//! sorts as (list, member).

use std::collections::BTreeSet;
use std::ops::Bound;

use crate::store::{keys, storage, ProjectionStore};
use crate::ProjectionError;

/// Records per list.
pub(crate) const BUCKETS: u8 = 64;

/// One entry of the derived index: (list key, member).
pub type IndexEntry = (Vec<u8>, Vec<u8>);

/// The record key of the bucket of `list` that holds `member`.
pub(crate) fn record_key(list: &[u8], member: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(list.len() + 2);
    key.push(keys::DERIVED_INDEX);
    key.extend_from_slice(list);
    key.push(bucket(member));
    key
}

/// The list a record key belongs to (without the store's prefix and the bucket).
pub(crate) fn list_of(record_key: &[u8]) -> &[u8] {
    record_key
        .len()
        .checked_sub(1)
        .and_then(|end| record_key.get(1..end))
        .unwrap_or_default()
}

/// FNV-1a over the member: stable across builds and machines, unlike `DefaultHasher`.
fn bucket(member: &[u8]) -> u8 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in member {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(BUCKETS)) as u8
}

pub(crate) fn encode(members: &BTreeSet<Vec<u8>>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(members.iter().map(|member| member.len() + 2).sum());
    for member in members {
        // Members are checked at staging (`check_member`).
        bytes.extend_from_slice(&(member.len() as u16).to_be_bytes());
        bytes.extend_from_slice(member);
    }
    bytes
}

pub(crate) fn decode(bytes: &[u8]) -> Result<BTreeSet<Vec<u8>>, ProjectionError> {
    let mut members = BTreeSet::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let corrupt = || ProjectionError::Corrupt("a derived index record does not read".into());
        let (len, tail) = rest.split_first_chunk::<2>().ok_or_else(corrupt)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(corrupt());
        }
        let (member, tail) = tail.split_at(len);
        members.insert(member.to_vec());
        rest = tail;
    }
    Ok(members)
}

/// Refuses a member too long for its length prefix.
pub(crate) fn check_member(member: &[u8]) -> Result<(), ProjectionError> {
    if member.len() > usize::from(u16::MAX) {
        return Err(ProjectionError::Corrupt(format!(
            "a derived index member of {} bytes (at most {})",
            member.len(),
            u16::MAX
        )));
    }
    Ok(())
}

impl ProjectionStore {
    /// The lists of the derived index from `start` on, while within `end`, in key
    /// order, each with its members in order (its buckets merged, `postings.rs`).
    pub fn derived_lists<'a>(
        &'a self,
        start: &[u8],
        end: Bound<&[u8]>,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<Vec<u8>>), ProjectionError>> + 'a {
        let start_list = start.to_vec();
        let end = end.map(<[u8]>::to_vec);
        let mut records = self
            .tree()
            .range::<Vec<u8>, _>(
                keys::with(keys::DERIVED_INDEX, start)..vec![keys::DERIVED_INDEX + 1],
            )
            .peekable();
        std::iter::from_fn(move || loop {
            let (key, value) = match records.next()? {
                Ok(record) => record,
                Err(err) => return Some(Err(storage("reading the derived index")(err))),
            };
            let list = list_of(&key).to_vec();
            let mut members = match decode(&value) {
                Ok(members) => members,
                Err(err) => return Some(Err(err)),
            };
            while let Some(Ok((next, _))) = records.peek() {
                if list_of(next) != list.as_slice() {
                    break;
                }
                let Some(Ok((_, value))) = records.next() else {
                    break;
                };
                match decode(&value) {
                    Ok(more) => members.extend(more),
                    Err(err) => return Some(Err(err)),
                }
            }
            let within = match &end {
                Bound::Included(end) => list <= *end,
                Bound::Excluded(end) => list < *end,
                Bound::Unbounded => true,
            };
            if !within {
                return None;
            }
            // A list that is a prefix of `start` sorts before it, though its records
            // may not.
            if list < start_list {
                continue;
            }
            return Some(Ok((list, members.into_iter().collect())));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_read_back_and_lists_group_their_buckets() {
        let members: BTreeSet<Vec<u8>> = [b"".to_vec(), b"a".to_vec(), vec![0; 300]]
            .into_iter()
            .collect();
        assert_eq!(decode(&encode(&members)).unwrap(), members);
        assert!(decode(&[0, 5, 1]).is_err(), "a truncated member");
        let key = record_key(b"list", b"member");
        assert_eq!(list_of(&key), b"list");
        assert!(key[key.len() - 1] < BUCKETS);
        assert!(check_member(&vec![0; 70_000]).is_err());
    }
}
