//! Tests of the hash chain: seals over the stored bytes, links between a task's events,
//! and what verification reports when either is broken.

use proptest::prelude::*;
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::event::{ReportSubmitted, TaskEvent};
use crate::ids::{AgencyName, PlanId, RequestId};
use crate::period::ReportingPeriod;
use crate::signing::tests::{established, key, rotated};
use crate::signing::{sign_record, CheckpointBuilder, DeploymentKey, KeyRecord};

fn task() -> TaskId {
    TaskId::parse("6f1f8d9a-3c2b-5e4d-8f7a-112233445566").unwrap()
}

fn other_task() -> TaskId {
    TaskId::parse("0b7c4f0e-6c1e-4a53-9d59-0b1c2d3e4f03").unwrap()
}

fn report(version: u64, content: &str) -> EventEnvelope {
    report_of(task(), version, content)
}

fn report_of(task: TaskId, version: u64, content: &str) -> EventEnvelope {
    EventEnvelope::new(
        Uuid::from_u128(version as u128),
        task,
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
    // (Sealed and unsigned: schema 2.)
    let mut event = report(1, "Đã tổ chức");
    event.schema_version = 2;
    let unsealed = String::from_utf8(event.encode()).unwrap();
    let with_new_field = format!("{},\"added_later\":true}}", &unsealed[..unsealed.len() - 1]);
    let hash = sha256_hex(with_new_field.as_bytes());
    let stored = format!(
        "{},\"hash\":\"{hash}\"}}",
        &with_new_field[..with_new_field.len() - 1]
    );
    assert_eq!(check_seal(stored.as_bytes()), Seal::Valid { hash });
    assert!(verify(&[stored.into_bytes()]).is_ok());

    // Signed, the same: the signature covers the content as stored.
    let content = String::from_utf8(report(1, "Đã tổ chức").encode()).unwrap();
    let with_new_field = format!("{},\"added_later\":true}}", &content[..content.len() - 1]);
    let signed = crate::signing::sign_record(with_new_field.as_bytes(), &key(7)).unwrap();
    let summary = verify_log(&[established(&key(7)), signed]).unwrap().summary;
    assert_eq!((summary.signed, summary.chain.sealed), (2, 1));
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

// Signed logs (schema 3): key records, signatures, checkpoints.

/// A task's events `first..=last` signed by `key`, chained after `previous` (the hash of
/// event `first - 1`), with the last hash.
fn signed_events(
    task: TaskId,
    first: u64,
    last: u64,
    previous: Option<String>,
    key: &DeploymentKey,
) -> (Vec<Vec<u8>>, Option<String>) {
    let mut previous = previous;
    let events = (first..=last)
        .map(|version| {
            let signed = report_of(task, version, &format!("Báo cáo lần {version}"))
                .signed(previous.take(), key);
            previous = signed.hash.clone();
            signed.encode()
        })
        .collect();
    (events, previous)
}

fn hash_of(stored: &[u8]) -> Option<String> {
    EventEnvelope::decode(stored).unwrap().hash
}

/// A signed checkpoint at `at_sequence` of the given task heads (all of plan `qng-189-2022`).
fn checkpoint(at_sequence: u64, heads: &[(TaskId, &[u8])], key: &DeploymentKey) -> Vec<u8> {
    let mut builder = CheckpointBuilder::new();
    for (task, stored) in heads {
        let envelope = EventEnvelope::decode(stored).unwrap();
        builder.add(envelope.plan_id, *task, envelope.version, envelope.hash);
    }
    builder
        .build(
            Uuid::from_u128(0xc1),
            datetime!(2026-03-01 00:00 +07:00),
            "checkpoint-worker",
            at_sequence,
        )
        .encode_signed(key)
}

/// Verifies records at the given stream sequences and finishes.
fn verify_at(records: &[(u64, Vec<u8>)]) -> Result<Verification, BrokenLink> {
    let mut verifier = ChainVerifier::new();
    for (sequence, payload) in records {
        verifier.push_at(&format!("sequence {sequence}"), Some(*sequence), payload)?;
    }
    verifier.finish()
}

/// Verifies records at stream sequences 1, 2, 3 … and finishes.
fn verify_log(records: &[Vec<u8>]) -> Result<Verification, BrokenLink> {
    let numbered: Vec<(u64, Vec<u8>)> = records
        .iter()
        .enumerate()
        .map(|(index, record)| (index as u64 + 1, record.clone()))
        .collect();
    verify_at(&numbered)
}

#[test]
fn a_signed_log_verifies_and_counts_its_signatures() {
    let (events, _) = signed_events(task(), 1, 3, None, &key(7));
    let mut log = vec![established(&key(7))];
    log.extend(events);
    let verification = verify_log(&log).unwrap();
    let summary = verification.summary;
    assert_eq!(
        (
            summary.records,
            summary.signed,
            summary.unsigned,
            summary.key_records
        ),
        (4, 4, 0, 1)
    );
    assert_eq!((summary.chain.events, summary.chain.sealed), (3, 3));
    assert_eq!(summary.current_key.as_ref(), Some(key(7).key_id()));
    assert!(verification.findings.is_empty());
}

#[test]
fn a_legacy_log_without_key_records_verifies_as_before() {
    let mut verifier = ChainVerifier::new();
    for (line, payload) in chain(5).iter().enumerate() {
        verifier
            .push(&format!("line {}", line + 1), payload)
            .unwrap();
    }
    let verification = verifier.finish().unwrap();
    assert_eq!(verification.summary.chain, verifier.summary());
    assert_eq!(
        (verification.summary.signed, verification.summary.unsigned),
        (0, 5)
    );
    assert_eq!(verification.summary.current_key, None);
    assert!(verification.findings.is_empty());
}

#[test]
fn legacy_events_then_a_key_record_then_signed_events_continue_one_chain() {
    let legacy = chain(2);
    let (signed, _) = signed_events(task(), 3, 4, hash_of(&legacy[1]), &key(7));
    let mut log = legacy.clone();
    log.push(established(&key(7)));
    log.extend(signed);
    let summary = verify_log(&log).unwrap().summary;
    assert_eq!((summary.signed, summary.unsigned), (3, 2));
    assert_eq!(summary.chain.events, 4);
}

#[test]
fn a_correctly_chained_event_signed_by_another_key_is_refused_by_name() {
    let (mut events, last) = signed_events(task(), 1, 1, None, &key(7));
    let (forged, _) = signed_events(task(), 2, 2, last, &key(8));
    events.extend(forged);
    let mut log = vec![established(&key(7))];
    log.extend(events);
    let broken = verify_log(&log).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.task_id, broken.version),
        ("sequence 3", Some(task()), Some(2))
    );
    assert!(
        broken.reason.starts_with("not signed by a key on record"),
        "{broken}"
    );
}

#[test]
fn an_unsigned_event_after_a_key_record_is_refused_by_name() {
    let legacy = chain(2);
    let log = vec![legacy[0].clone(), established(&key(7)), legacy[1].clone()];
    let broken = verify_log(&log).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.version),
        ("sequence 3", Some(2))
    );
    assert!(
        broken.reason.starts_with("not signed by a key on record"),
        "{broken}"
    );
    assert!(broken.reason.contains("schema-2"), "{broken}");
}

#[test]
fn a_signed_event_before_any_key_record_or_a_signed_schema_2_event_is_refused() {
    let (events, _) = signed_events(task(), 1, 1, None, &key(7));
    let broken = verify_log(&events).unwrap_err();
    assert!(
        broken.reason.starts_with("not signed by a key on record"),
        "{broken}"
    );

    let mut old = report(1, "cũ");
    old.schema_version = 2;
    let signed_v2 = sign_record(&old.encode(), &key(7)).unwrap();
    let broken = verify_log(&[established(&key(7)), signed_v2]).unwrap_err();
    assert!(
        broken.reason.contains("cannot carry a signature"),
        "{broken}"
    );
}

#[test]
fn after_a_rotation_the_new_key_signs_and_the_old_one_is_refused() {
    let (first, last) = signed_events(task(), 1, 1, None, &key(7));
    let (second, last) = signed_events(task(), 2, 2, last, &key(8));
    let (by_old, _) = signed_events(task(), 3, 3, last, &key(7));
    let mut log = vec![established(&key(7))];
    log.extend(first);
    log.push(rotated(&key(7), &key(8)));
    log.extend(second);
    let summary = verify_log(&log).unwrap().summary;
    assert_eq!((summary.key_records, summary.signed), (2, 4));
    assert_eq!(summary.current_key.as_ref(), Some(key(8).key_id()));

    log.extend(by_old);
    let broken = verify_log(&log).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.version),
        ("sequence 5", Some(3))
    );
    assert!(
        broken.reason.starts_with("signed by retired key"),
        "{broken}"
    );
}

#[test]
fn a_rotation_signed_by_the_wrong_key_or_a_second_establishment_is_refused() {
    let KeyRecord::KeyRotated(rotation) = KeyRecord::decode(&rotated(&key(7), &key(8))).unwrap()
    else {
        panic!("a rotation");
    };
    for signer in [key(8), key(9)] {
        let wrongly_signed = KeyRecord::KeyRotated(rotation.clone()).encode_signed(&signer);
        let broken = verify_log(&[established(&key(7)), wrongly_signed]).unwrap_err();
        assert_eq!(broken.position, "sequence 2");
        assert!(
            broken.reason.contains("not signed by the previous key"),
            "{broken}"
        );
    }
    for second in [key(8), key(7)] {
        let broken = verify_log(&[established(&key(7)), established(&second)]).unwrap_err();
        assert_eq!(broken.position, "sequence 2");
        assert!(broken.reason.contains("already established"), "{broken}");
    }
}

/// Key record at 1; task A at 2, 3, 4; task B at 5, 6; a checkpoint of both at 7.
fn checkpointed_log() -> Vec<(u64, Vec<u8>)> {
    let (a, _) = signed_events(task(), 1, 3, None, &key(7));
    let (b, _) = signed_events(other_task(), 1, 2, None, &key(7));
    let checkpoint = checkpoint(6, &[(task(), &a[2]), (other_task(), &b[1])], &key(7));
    let mut log = vec![(1, established(&key(7)))];
    log.extend(
        a.into_iter()
            .zip(2..)
            .map(|(event, sequence)| (sequence, event)),
    );
    log.extend(
        b.into_iter()
            .zip(5..)
            .map(|(event, sequence)| (sequence, event)),
    );
    log.push((7, checkpoint));
    log
}

#[test]
fn a_complete_log_matches_its_last_checkpoint() {
    let verification = verify_at(&checkpointed_log()).unwrap();
    assert_eq!(verification.findings, []);
    assert_eq!(verification.summary.checkpoints, 1);
    assert_eq!(verification.summary.last_checkpoint, Some(6));
}

#[test]
fn a_tasks_dropped_last_events_are_reported_against_the_checkpoint() {
    let mut log = checkpointed_log();
    log.retain(|(sequence, _)| *sequence != 6); // task B's last event
    let verification = verify_at(&log).unwrap();
    assert_eq!(
        verification.findings.len(),
        1,
        "{:?}",
        verification.findings
    );
    assert_eq!(
        verification.findings[0].to_string(),
        "plan qng-189-2022: 1 events missing after the checkpoint at sequence 6 \
         (it records 5 events over 2 tasks; found 4)"
    );
    assert!(matches!(
        verification.findings[0],
        CheckpointFinding::EventsMissing { .. }
    ));

    // A whole task gone: missing too.
    let mut log = checkpointed_log();
    log.retain(|(sequence, _)| !(5..=6).contains(sequence));
    let findings = verify_at(&log).unwrap().findings;
    assert!(
        findings[0].to_string().contains("2 events missing"),
        "{findings:?}"
    );
}

#[test]
fn events_after_the_checkpoints_sequence_are_not_compared() {
    // Task B's events at 5 and 6 were appended while the checkpoint of sequence 4 was
    // being written (it lands at 7); a later event of A too.
    let (a, last_a) = signed_events(task(), 1, 3, None, &key(7));
    let (b, _) = signed_events(other_task(), 1, 2, None, &key(7));
    let (a4, _) = signed_events(task(), 4, 4, last_a, &key(7));
    let checkpoint = checkpoint(4, &[(task(), &a[2])], &key(7));
    let log = vec![
        (1, established(&key(7))),
        (2, a[0].clone()),
        (3, a[1].clone()),
        (4, a[2].clone()),
        (5, b[0].clone()),
        (6, b[1].clone()),
        (7, checkpoint.clone()),
        (8, a4[0].clone()),
    ];
    assert_eq!(verify_at(&log).unwrap().findings, []);

    // Dropping A's fourth event (after the checkpoint's sequence) is not the
    // checkpoint's to see; dropping B's last (also after it) neither.
    assert_eq!(verify_at(&log[..7]).unwrap().findings, []);
    let without_b2: Vec<_> = log
        .iter()
        .filter(|(sequence, _)| *sequence != 6)
        .cloned()
        .collect();
    assert_eq!(verify_at(&without_b2).unwrap().findings, []);
    // Dropping A's third (covered) breaks A's chain at its fourth.
    let without_a3: Vec<_> = log
        .iter()
        .filter(|(sequence, _)| *sequence != 4)
        .cloned()
        .collect();
    assert_eq!(verify_at(&without_a3).unwrap_err().position, "sequence 8");
}

#[test]
fn without_sequences_a_checkpoint_covers_what_was_pushed_before_it() {
    let (a, _) = signed_events(task(), 1, 2, None, &key(7));
    let (b, _) = signed_events(other_task(), 1, 2, None, &key(7));
    let checkpoint = checkpoint(0, &[(task(), &a[1]), (other_task(), &b[1])], &key(7));
    let run = |log: &[&Vec<u8>]| {
        let mut verifier = ChainVerifier::new();
        for (line, payload) in log.iter().enumerate() {
            verifier
                .push(&format!("line {}", line + 1), payload)
                .unwrap();
        }
        verifier.finish().unwrap().findings
    };
    let est = established(&key(7));
    assert_eq!(run(&[&est, &a[0], &a[1], &b[0], &b[1], &checkpoint]), []);
    let findings = run(&[&est, &a[0], &a[1], &b[0], &checkpoint]);
    assert!(matches!(
        findings[..],
        [CheckpointFinding::EventsMissing { .. }]
    ));
}

#[test]
fn same_counts_with_other_heads_are_reported_as_differing_heads() {
    let (a, _) = signed_events(task(), 1, 2, None, &key(7));
    let mut builder = CheckpointBuilder::new();
    builder.add(
        PlanId::parse("qng-189-2022").unwrap(),
        task(),
        2,
        Some("00".repeat(32)),
    );
    let checkpoint = builder
        .build(
            Uuid::from_u128(1),
            datetime!(2026-03-01 00:00 +07:00),
            "w",
            3,
        )
        .encode_signed(&key(7));
    let log = vec![established(&key(7)), a[0].clone(), a[1].clone(), checkpoint];
    let findings = verify_log(&log).unwrap().findings;
    assert!(
        matches!(findings[..], [CheckpointFinding::HeadsDiffer { .. }]),
        "{findings:?}"
    );
    assert!(findings[0]
        .to_string()
        .contains("the heads as of sequence 3 differ"));
}

#[test]
fn only_plans_the_walk_has_events_of_are_compared() {
    let (a, _) = signed_events(task(), 1, 1, None, &key(7));
    let mut builder = CheckpointBuilder::new();
    let envelope = EventEnvelope::decode(&a[0]).unwrap();
    builder.add(envelope.plan_id, task(), 1, envelope.hash);
    builder.add(
        PlanId::parse("qti-dti-2023").unwrap(),
        other_task(),
        9,
        None,
    );
    let checkpoint = builder
        .build(
            Uuid::from_u128(1),
            datetime!(2026-03-01 00:00 +07:00),
            "w",
            2,
        )
        .encode_signed(&key(7));
    let log = vec![established(&key(7)), a[0].clone(), checkpoint];
    assert_eq!(verify_log(&log).unwrap().findings, []);
}

#[test]
fn the_last_checkpoint_is_compared_and_one_going_backwards_is_reported() {
    let log = checkpointed_log();
    let mut with_older = log.clone();
    let (a, _) = signed_events(task(), 1, 1, None, &key(7));
    with_older.push((8, checkpoint(2, &[(task(), &a[0])], &key(7))));
    let findings = verify_at(&with_older).unwrap().findings;
    assert!(
        matches!(
            findings[..],
            [CheckpointFinding::OutOfOrder {
                at_sequence: 2,
                previous: 6,
                ..
            }]
        ),
        "{findings:?}"
    );
}

#[test]
fn checkpoints_and_import_records_must_be_sealed_and_signed_by_the_current_key() {
    let (a, _) = signed_events(task(), 1, 1, None, &key(7));
    let good = checkpoint(2, &[(task(), &a[0])], &key(7));
    let by_other = checkpoint(2, &[(task(), &a[0])], &key(8));
    let base = vec![established(&key(7)), a[0].clone()];
    let with = |record: Vec<u8>| {
        let mut log = base.clone();
        log.push(record);
        verify_log(&log)
    };
    assert!(with(good.clone()).is_ok());
    let broken = with(by_other).unwrap_err();
    assert_eq!(
        (broken.position.as_str(), broken.task_id),
        ("sequence 3", None)
    );
    assert!(
        broken
            .reason
            .starts_with("checkpoint: not signed by a key on record"),
        "{broken}"
    );
    let mut altered = good.clone();
    altered[30] ^= 1;
    assert!(with(altered).unwrap_err().reason.contains("altered"));

    let import = br#"{"type":"import_committed","schema_version":3,"import_id":"x","outcome":{}}"#;
    let signed_import = sign_record(import, &key(7)).unwrap();
    let summary = with(signed_import).unwrap().summary;
    assert_eq!((summary.import_records, summary.signed), (1, 3));
    let sealed_only = {
        let hash = sha256_hex(import);
        let text = std::str::from_utf8(import).unwrap();
        format!("{},\"hash\":\"{hash}\"}}", &text[..text.len() - 1]).into_bytes()
    };
    let broken = with(sealed_only.clone()).unwrap_err();
    assert!(
        broken
            .reason
            .starts_with("import record: not signed by a key on record"),
        "{broken}"
    );
    // Before any key record, a sealed unsigned import record is legacy; an unsealed one
    // is refused.
    let summary = verify_log(&[sealed_only]).unwrap().summary;
    assert_eq!((summary.import_records, summary.unsigned), (1, 1));
    let broken = verify_log(&[import.to_vec()]).unwrap_err();
    assert!(broken.reason.contains("not sealed"), "{broken}");
}

#[test]
fn unknown_or_unreadable_records_are_broken_links() {
    let broken = verify_log(&[br#"{"type":"plan_archived","hash":"x"}"#.to_vec()]).unwrap_err();
    assert!(broken.reason.contains("unknown type"), "{broken}");
    let broken = verify_log(&[b"not an event".to_vec()]).unwrap_err();
    assert!(
        broken.reason.starts_with("not a readable event"),
        "{broken}"
    );
}

#[test]
fn finish_answers_the_first_broken_link() {
    let events = chain(3);
    let mut verifier = ChainVerifier::new();
    verifier.push("line 1", &events[0]).unwrap();
    assert!(verifier.push("line 2", &events[2]).is_err());
    verifier.push("line 3", &events[1]).unwrap();
    assert!(verifier.push("line 4", &events[0]).is_err());
    assert_eq!(verifier.finish().unwrap_err().position, "line 2");
}

#[test]
fn the_signed_fixtures_make_a_complete_log() {
    let strip = |fixture: &'static [u8]| fixture.strip_suffix(b"\n").unwrap_or(fixture).to_vec();
    let log = [
        strip(include_bytes!(
            "../tests/fixtures/records/v3_key_established.json"
        )),
        strip(include_bytes!(
            "../tests/fixtures/events/v3_report_submitted_signed.json"
        )),
        strip(include_bytes!(
            "../tests/fixtures/records/v3_key_rotated.json"
        )),
        strip(include_bytes!(
            "../tests/fixtures/records/v3_checkpoint.json"
        )),
    ];
    let verification = verify_log(&log).unwrap();
    assert_eq!(verification.findings, []);
    assert_eq!(verification.summary.signed, 4);
}

proptest! {
    #[test]
    fn flipping_any_byte_of_a_signed_log_fails_verification_at_that_record(
        record in 0usize..4,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let (events, _) = signed_events(task(), 1, 2, None, &key(7));
        let mut log = vec![established(&key(7))];
        log.extend(events);
        log.push(checkpoint(3, &[(task(), &log[2])], &key(7)));
        let target = &mut log[record];
        let at = position.index(target.len());
        target[at] ^= flip;
        let broken = verify_log(&log).unwrap_err();
        prop_assert_eq!(broken.position, format!("sequence {}", record + 1));
    }
}
