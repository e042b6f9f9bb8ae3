//! Tests of the hash chain: seals over the stored bytes, links between a task's events,
//! and what verification reports when either is broken.

use proptest::prelude::*;
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::event::{ReportSubmitted, TaskEvent};
use crate::ids::{AgencyName, PlanId, RequestId};
use crate::period::ReportingPeriod;

fn task() -> TaskId {
    TaskId::parse("6f1f8d9a-3c2b-5e4d-8f7a-112233445566").unwrap()
}

fn report(version: u64, content: &str) -> EventEnvelope {
    EventEnvelope::new(
        Uuid::from_u128(version as u128),
        task(),
        PlanId::parse("qng-189-2022").unwrap(),
        version,
        datetime!(2024-03-20 09:00 +07:00),
        "agency-system".to_owned(),
        RequestId::parse(&format!("r-{version}")).unwrap(),
        TaskEvent::ReportSubmitted(ReportSubmitted {
            period: ReportingPeriod::parse("2024-Q1").unwrap(),
            reported_by: AgencyName::parse("Sở Thông tin và Truyền thông").unwrap(),
            content: content.to_owned(),
        }),
    )
}

/// A task's chain of `n` sealed events, as stored bytes.
fn chain(n: u64) -> Vec<Vec<u8>> {
    let mut previous = None;
    (1..=n)
        .map(|version| {
            let sealed = report(version, &format!("Báo cáo lần {version}")).sealed(previous.take());
            previous = sealed.hash.clone();
            sealed.encode()
        })
        .collect()
}

fn verify(events: &[Vec<u8>]) -> Result<ChainSummary, BrokenLink> {
    let mut verifier = ChainVerifier::new();
    for (line, payload) in events.iter().enumerate() {
        verifier.push(&format!("line {}", line + 1), payload)?;
    }
    Ok(verifier.summary())
}

#[test]
fn a_sealed_event_ends_with_its_hash_and_round_trips() {
    let sealed = report(1, "Đã tổ chức").sealed(None);
    let bytes = sealed.encode();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let hash = sealed.hash.clone().unwrap();
    assert!(text.ends_with(&format!(",\"hash\":\"{hash}\"}}")), "{text}");
    assert_eq!(check_seal(&bytes), Seal::Valid { hash });
    assert_eq!(EventEnvelope::decode(&bytes).unwrap(), sealed);
    assert_eq!(sealed.schema_version, 2);
}

#[test]
fn a_chain_verifies_and_counts() {
    let summary = verify(&chain(5)).unwrap();
    assert_eq!(
        summary,
        ChainSummary {
            events: 5,
            tasks: 1,
            sealed: 5,
            unsealed: 0
        }
    );
}

#[test]
fn removing_reordering_or_resealing_an_event_breaks_the_next_link() {
    let events = chain(4);
    let mut removed = events.clone();
    removed.remove(1);
    let broken = verify(&removed).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.version),
        ("line 2", Some(3))
    );

    let mut swapped = events.clone();
    swapped.swap(1, 2);
    assert_eq!(verify(&swapped).unwrap_err().position, "line 2");

    // Rewriting event 2 and sealing it again passes its own seal, not event 3's link.
    let mut resealed = events.clone();
    let previous = EventEnvelope::decode(&events[0]).unwrap().hash;
    resealed[1] = report(2, "Nội dung đã sửa").sealed(previous).encode();
    let broken = verify(&resealed).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.version),
        ("line 3", Some(3))
    );
    assert!(broken.reason.contains("prev_hash"), "{broken}");
}

#[test]
fn verification_reads_the_stored_bytes_and_never_re_encodes() {
    // A field a later build adds (unknown to this one) is covered by the hash as stored.
    let unsealed = String::from_utf8(report(1, "Đã tổ chức").encode()).unwrap();
    let with_new_field = format!("{},\"added_later\":true}}", &unsealed[..unsealed.len() - 1]);
    let hash = sha256_hex(with_new_field.as_bytes());
    let stored = format!(
        "{},\"hash\":\"{hash}\"}}",
        &with_new_field[..with_new_field.len() - 1]
    );
    assert_eq!(check_seal(stored.as_bytes()), Seal::Valid { hash });
    assert!(verify(&[stored.into_bytes()]).is_ok());
}

#[test]
fn schema_1_events_are_unsealed_and_a_schema_2_event_must_be_sealed() {
    let fixture = include_bytes!("../tests/fixtures/events/v1_report_submitted.json");
    assert_eq!(check_seal(fixture), Seal::Absent);
    // Alone it is not a whole history: its task's earlier versions are missing.
    let broken = verify(&[fixture.to_vec()]).unwrap_err();
    assert!(broken.reason.contains("should be 1"), "{broken}");

    let unsealed_v2 = report(1, "Chưa niêm phong").encode();
    let broken = verify(&[unsealed_v2]).unwrap_err();
    assert!(broken.reason.contains("not sealed"), "{broken}");

    // v1 events then sealed ones: the first sealed event follows an unsealed one.
    let mut v1 = report(1, "cũ");
    v1.schema_version = 1;
    let sealed = report(2, "mới").sealed(None);
    let summary = verify(&[v1.encode(), sealed.encode()]).unwrap();
    assert_eq!((summary.sealed, summary.unsealed), (1, 1));
}

#[test]
fn the_sealed_fixture_still_verifies() {
    let fixture = include_bytes!("../tests/fixtures/events/v2_report_submitted_sealed.json");
    let payload = fixture.strip_suffix(b"\n").unwrap_or(fixture);
    assert!(matches!(check_seal(payload), Seal::Valid { .. }));
    let mut verifier = ChainVerifier::new();
    verifier.push("fixture", payload).unwrap();
}

proptest! {
    #[test]
    fn flipping_any_byte_of_a_chain_fails_verification_at_that_event(
        event in 0usize..3,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut events = chain(3);
        let target = &mut events[event];
        let at = position.index(target.len());
        target[at] ^= flip;
        let broken = verify(&events).unwrap_err();
        prop_assert_eq!(broken.position, format!("line {}", event + 1));
    }
}

/// Prints a sealed fixture: `cargo test -p dondoc-domain print_sealed_fixture -- --ignored --nocapture`.
#[test]
#[ignore = "a generator, not a test"]
fn print_sealed_fixture() {
    println!("{}", String::from_utf8(chain(1).remove(0)).unwrap());
}
