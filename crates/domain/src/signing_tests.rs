//! Tests of signed records: keys and key ids, the `sig` member over the content bytes,
//! key records and the keyring's rules, checkpoints and their digests, record kinds, and
//! the signed fixtures (which must keep verifying byte for byte).

use proptest::prelude::*;
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::chain::sha256_hex;
use crate::event::{EventEnvelope, ReportSubmitted};
use crate::ids::{AgencyName, RequestId};
use crate::period::ReportingPeriod;

/// Test keys: fixed secrets, so that fixtures are reproducible (Ed25519 signing is
/// deterministic).
pub(crate) fn key(n: u8) -> DeploymentKey {
    DeploymentKey::from_secret_bytes(&[n; 32])
}

fn task() -> TaskId {
    TaskId::parse("6f1f8d9a-3c2b-5e4d-8f7a-112233445566").unwrap()
}

fn plan() -> PlanId {
    PlanId::parse("qng-189-2022").unwrap()
}

fn report(version: u64, content: &str) -> EventEnvelope {
    EventEnvelope::new(
        Uuid::from_u128(version as u128),
        task(),
        plan(),
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

pub(crate) fn established(key: &DeploymentKey) -> Vec<u8> {
    KeyRecord::established(
        Uuid::from_u128(0x4b1),
        datetime!(2026-01-05 08:00 +07:00),
        "dondoc keys init",
        key,
    )
}

pub(crate) fn rotated(previous: &DeploymentKey, next: &DeploymentKey) -> Vec<u8> {
    KeyRecord::rotated(
        Uuid::from_u128(0x4b2),
        datetime!(2026-06-01 08:00 +07:00),
        "dondoc keys rotate",
        previous,
        next,
    )
}

fn checkpoint(plans: Vec<PlanCheckpoint>) -> Checkpoint {
    Checkpoint::new(
        Uuid::from_u128(0xc1),
        datetime!(2026-01-06 00:00 +07:00),
        "checkpoint-worker",
        42,
        plans,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn strip_newline(fixture: &[u8]) -> &[u8] {
    fixture.strip_suffix(b"\n").unwrap_or(fixture)
}

#[test]
fn a_key_id_is_the_start_of_the_public_keys_sha256_and_debug_hides_the_secret() {
    let key = key(7);
    let public = key.public_key().to_bytes();
    assert_eq!(
        key.key_id().as_str(),
        &sha256_hex(&public)[..KEY_ID_HEX_LEN]
    );
    assert_eq!(key.public_key_hex(), hex::encode(public));
    assert_eq!(
        DeploymentKey::from_secret_bytes(&key.secret_bytes()).key_id(),
        key.key_id()
    );
    let debug = format!("{key:?}");
    assert!(debug.contains(key.key_id().as_str()), "{debug}");
    assert!(!debug.contains(&hex::encode(key.secret_bytes())), "{debug}");
    assert!(!debug.contains("[7, 7"), "{debug}");
}

#[test]
fn public_keys_are_read_from_lowercase_hex_only_and_weak_ones_are_refused() {
    let hex = key(7).public_key_hex();
    let public = PublicKey::from_hex(&hex).unwrap();
    assert_eq!(public.key_id(), key(7).key_id());
    assert_eq!(public.to_hex(), hex);
    assert!(PublicKey::from_hex(&hex.to_uppercase()).is_err());
    assert!(PublicKey::from_hex(&hex[..62]).is_err());
    assert!(PublicKey::from_hex("zz").is_err());
    // The identity point (y = 1) has small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let error = PublicKey::from_bytes(&identity).unwrap_err();
    assert!(error.message.contains("weak"), "{error}");
    assert!(KeyId::parse("0123456789abcdef").is_ok());
    assert!(KeyId::parse("0123456789ABCDEF").is_err());
    assert!(KeyId::parse("0123").is_err());
}

#[test]
fn a_signed_record_ends_with_sig_then_hash_and_signs_its_content_bytes() {
    let content = br#"{"type":"import_committed","schema_version":3,"n":1}"#;
    let key = key(7);
    let stored = sign_record(content, &key).unwrap();
    let stored_text = text(&stored);
    let (before_hash, hash) = stored_text.rsplit_once(r#","hash":""#).unwrap();
    assert_eq!(hash.len(), 64 + 2, "{stored_text}");
    let (content_part, sig) = before_hash.rsplit_once(r#","sig":""#).unwrap();
    assert_eq!(format!("{content_part}}}"), text(content));
    let (key_id, signature) = sig.trim_end_matches('"').split_once(':').unwrap();
    assert_eq!(key_id, key.key_id().as_str());
    assert_eq!(signature.len(), SIGNATURE_HEX_LEN);
    assert!(is_lower_hex(signature.as_bytes()));

    assert!(matches!(check_seal(&stored), Seal::Valid { .. }));
    assert_eq!(
        check_signature(&stored, |_| Some(key.public_key())),
        SignatureCheck::Valid {
            key_id: key.key_id().clone()
        }
    );
    let member = read_signature(&stored).unwrap().unwrap();
    assert_eq!(member.content, content);
}

#[test]
fn only_a_plain_non_empty_object_without_sig_or_hash_is_signed() {
    let key = key(7);
    for content in [
        &b"[1]"[..],
        b"{}",
        b" {\"a\":1}",
        b"{\"a\":1} ",
        b"{\"a\":1,\"sig\":\"x\"}",
        b"{\"hash\":\"x\"}",
        b"{\"a\":",
    ] {
        assert!(sign_record(content, &key).is_err(), "{}", text(content));
    }
}

#[test]
fn a_signature_check_tells_absent_malformed_unknown_and_invalid_apart() {
    let other = key(8);
    let key = key(7);
    let lookup = |id: &KeyId| (id == key.key_id()).then_some(key.public_key());
    let unsigned = report(1, "Đã tổ chức").sealed(None).encode();
    assert_eq!(check_signature(&unsigned, lookup), SignatureCheck::Absent);
    assert_eq!(check_signature(b"not json", lookup), SignatureCheck::Absent);

    let signed = report(1, "Đã tổ chức").signed(None, &key).encode();
    let signed_text = text(&signed);
    let sig = EventEnvelope::decode(&signed).unwrap().sig.unwrap();
    let reseal = |text: &str| {
        let unsealed = text.rsplit_once(r#","hash":""#).unwrap().0;
        let hash = sha256_hex(format!("{unsealed}}}").as_bytes());
        format!("{unsealed},\"hash\":\"{hash}\"}}").into_bytes()
    };
    let malformed = reseal(&signed_text.replace(&sig, "abc"));
    assert!(matches!(
        check_signature(&malformed, lookup),
        SignatureCheck::Malformed { .. }
    ));
    let uppercase = reseal(&signed_text.replace(&sig, &sig.to_uppercase()));
    assert!(matches!(
        check_signature(&uppercase, lookup),
        SignatureCheck::Malformed { .. }
    ));

    let by_other = report(1, "Đã tổ chức").signed(None, &other).encode();
    assert_eq!(
        check_signature(&by_other, lookup),
        SignatureCheck::UnknownKey {
            key_id: other.key_id().clone()
        }
    );

    let altered = reseal(&signed_text.replace("Đã tổ chức", "Đã tổ chửc"));
    assert!(matches!(check_seal(&altered), Seal::Valid { .. }));
    assert_eq!(
        check_signature(&altered, lookup),
        SignatureCheck::Invalid {
            key_id: key.key_id().clone()
        }
    );
}

#[test]
fn a_signed_envelope_is_schema_3_and_its_sig_covers_the_chain_link() {
    let key = key(7);
    let previous = Some("ab".repeat(32));
    let signed = report(2, "Báo cáo").signed(previous.clone(), &key);
    assert_eq!(signed.schema_version, 3);
    assert_eq!(signed.prev_hash, previous);
    let bytes = signed.encode();
    assert_eq!(EventEnvelope::decode(&bytes).unwrap(), signed);

    // The signature is over exactly the JSON without sig and hash, prev_hash included.
    let mut content = signed.clone();
    content.sig = None;
    content.hash = None;
    let content = content.encode();
    assert!(text(&content).contains("\"prev_hash\""));
    assert_eq!(bytes, sign_record(&content, &key).unwrap());
    assert!(text(&bytes).contains(&format!(
        "\"sig\":\"{}\",\"hash\":\"",
        signed.sig.as_deref().unwrap()
    )));

    // Sealing drops back to an unsigned schema-2 envelope, as sealing always wrote.
    let sealed = signed.sealed(None);
    assert_eq!((sealed.schema_version, sealed.sig.as_deref()), (2, None));
}

#[test]
fn the_signed_fixture_still_verifies_byte_for_byte() {
    let fixture = strip_newline(include_bytes!(
        "../tests/fixtures/events/v3_report_submitted_signed.json"
    ));
    assert!(matches!(check_seal(fixture), Seal::Valid { .. }));
    let key = key(7);
    assert_eq!(
        check_signature(fixture, |_| Some(key.public_key())),
        SignatureCheck::Valid {
            key_id: key.key_id().clone()
        }
    );
    let envelope = EventEnvelope::decode(fixture).unwrap();
    assert_eq!(envelope.schema_version, 3);
    // Generated from the fixed test key: signing again gives the same bytes.
    assert_eq!(
        report(1, "Báo cáo lần 1").signed(None, &key).encode(),
        fixture
    );
}

#[test]
fn the_record_fixtures_still_load_and_verify() {
    let established = strip_newline(include_bytes!(
        "../tests/fixtures/records/v3_key_established.json"
    ));
    let rotated = strip_newline(include_bytes!(
        "../tests/fixtures/records/v3_key_rotated.json"
    ));
    let checkpoint = strip_newline(include_bytes!(
        "../tests/fixtures/records/v3_checkpoint.json"
    ));
    let mut keyring = Keyring::new();
    keyring.push(established).unwrap();
    assert_eq!(keyring.current_key_id(), Some(key(7).key_id()));
    keyring.push(rotated).unwrap();
    assert_eq!(keyring.current_key_id(), Some(key(8).key_id()));
    assert_eq!(keyring.verify(checkpoint), Ok(key(8).key_id().clone()));
    let decoded = Checkpoint::decode(checkpoint).unwrap();
    assert_eq!(decoded.plans.len(), 1);
    assert_eq!(classify(established), RecordKind::KeyEstablished);
    assert_eq!(classify(rotated), RecordKind::KeyRotated);
    assert_eq!(classify(checkpoint), RecordKind::Checkpoint);
}

fn fixture_checkpoint() -> Checkpoint {
    let mut builder = CheckpointBuilder::new();
    // The head of the signed event fixture, so that the fixtures make a complete log.
    let head = report(1, "Báo cáo lần 1").signed(None, &key(7));
    builder.add(plan(), task(), 1, head.hash);
    builder.build(
        Uuid::from_u128(0xc1),
        datetime!(2026-06-02 00:00 +07:00),
        "checkpoint-worker",
        3,
    )
}

/// Prints the signed fixtures: `cargo test -p dondoc-domain print_signed_fixtures --
/// --ignored --nocapture`.
#[test]
#[ignore = "a generator, not a test"]
fn print_signed_fixtures() {
    println!(
        "{}",
        text(&report(1, "Báo cáo lần 1").signed(None, &key(7)).encode())
    );
    println!("{}", text(&established(&key(7))));
    println!("{}", text(&rotated(&key(7), &key(8))));
    println!("{}", text(&fixture_checkpoint().encode_signed(&key(8))));
}

proptest! {
    #[test]
    fn flipping_any_byte_of_a_signed_record_fails_its_seal_or_its_signature(
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = key(7);
        let mut stored = report(3, "Báo cáo quý").signed(Some("cd".repeat(32)), &key).encode();
        let at = position.index(stored.len());
        stored[at] ^= flip;
        let sealed = matches!(check_seal(&stored), Seal::Valid { .. });
        let signed = matches!(
            check_signature(&stored, |_| Some(key.public_key())),
            SignatureCheck::Valid { .. }
        );
        prop_assert!(!(sealed && signed), "a flip at {} went unnoticed", at);
    }

    #[test]
    fn resealing_after_changing_any_content_byte_still_fails_the_signature(
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = key(7);
        let stored = report(3, "Báo cáo quý").signed(Some("cd".repeat(32)), &key).encode();
        let stored_text = text(&stored);
        let seal_start = stored_text.rfind(r#","hash":""#).unwrap();
        let sig_start = stored_text[..seal_start].rfind(r#","sig":""#).unwrap();
        // Change a content byte, keep the signature, and seal again.
        let mut forged = stored[..sig_start].to_vec();
        let at = position.index(forged.len());
        forged[at] ^= flip;
        forged.extend_from_slice(&stored[sig_start..seal_start]);
        forged.push(b'}');
        let hash = sha256_hex(&forged);
        forged.pop();
        forged.extend_from_slice(format!(",\"hash\":\"{hash}\"}}").as_bytes());
        let resealed = matches!(check_seal(&forged), Seal::Valid { .. });
        prop_assert!(resealed);
        let check = check_signature(&forged, |_| Some(key.public_key()));
        prop_assert!(!matches!(check, SignatureCheck::Valid { .. }), "{:?}", check);
    }
}

#[test]
fn key_records_round_trip_and_the_keyring_takes_an_establishment_then_rotations() {
    let (first, second, third) = (key(7), key(8), key(9));
    let stored = established(&first);
    let record = KeyRecord::decode(&stored).unwrap();
    assert!(text(&stored).starts_with(r#"{"type":"key_established","schema_version":3,"#));
    assert_eq!(record.key_id(), first.key_id());
    assert_eq!(record.public_key(), first.public_key());
    assert!(matches!(check_seal(&stored), Seal::Valid { .. }));

    let mut keyring = Keyring::new();
    assert!(keyring.is_empty());
    assert_eq!(keyring.push(&stored).unwrap(), record);
    assert_eq!(keyring.current(), Some(first.public_key()));

    let rotation = rotated(&first, &second);
    let KeyRecord::KeyRotated(decoded) = KeyRecord::decode(&rotation).unwrap() else {
        panic!("a rotation decodes as one");
    };
    assert_eq!(&decoded.previous_key_id, first.key_id());
    assert!(text(&rotation).contains(&format!(
        "\"previous_key_id\":\"{}\",\"sig\":\"{}:",
        first.key_id(),
        first.key_id()
    )));
    keyring.push(&rotation).unwrap();
    assert_eq!(keyring.current_key_id(), Some(second.key_id()));
    assert!(keyring.is_on_record(first.key_id()) && keyring.is_retired(first.key_id()));
    assert!(!keyring.is_retired(second.key_id()));
    assert_eq!(keyring.len(), 2);

    let by_new = sign_record(br#"{"type":"import_committed","n":1}"#, &second).unwrap();
    let by_old = sign_record(br#"{"type":"import_committed","n":1}"#, &first).unwrap();
    let by_stranger = sign_record(br#"{"type":"import_committed","n":1}"#, &third).unwrap();
    assert_eq!(keyring.verify(&by_new), Ok(second.key_id().clone()));
    let retired = keyring.verify(&by_old).unwrap_err();
    assert!(
        retired.to_string().starts_with("signed by retired key"),
        "{retired}"
    );
    let unknown = keyring.verify(&by_stranger).unwrap_err();
    assert!(
        unknown
            .to_string()
            .starts_with("not signed by a key on record"),
        "{unknown}"
    );
    assert_eq!(
        keyring.check(&by_old),
        SignatureCheck::Valid {
            key_id: first.key_id().clone()
        }
    );

    keyring.push(&rotated(&second, &third)).unwrap();
    assert_eq!(keyring.current_key_id(), Some(third.key_id()));
}

#[test]
fn the_keyring_refuses_records_out_of_place_or_wrongly_signed() {
    let (first, second, third) = (key(7), key(8), key(9));
    let mut keyring = Keyring::new();
    assert!(matches!(
        keyring.push(&rotated(&first, &second)),
        Err(KeyringError::RotatedBeforeEstablished { .. })
    ));
    // An establishment signed by another key than its own.
    let KeyRecord::KeyEstablished(claim) = KeyRecord::decode(&established(&first)).unwrap() else {
        panic!("an establishment");
    };
    let forged = KeyRecord::KeyEstablished(claim).encode_signed(&second);
    assert!(matches!(
        keyring.push(&forged),
        Err(KeyringError::NotSelfSigned { .. })
    ));
    assert!(keyring.is_empty());

    keyring.push(&established(&first)).unwrap();
    let error = keyring.push(&established(&second)).unwrap_err();
    assert!(
        matches!(error, KeyringError::AlreadyEstablished { .. }),
        "{error}"
    );
    let again = keyring.push(&established(&first)).unwrap_err();
    assert!(matches!(again, KeyringError::AlreadyEstablished { .. }));

    // A rotation signed by the new key rather than the previous one.
    let KeyRecord::KeyRotated(rotation) = KeyRecord::decode(&rotated(&first, &second)).unwrap()
    else {
        panic!("a rotation");
    };
    let by_new = KeyRecord::KeyRotated(rotation.clone()).encode_signed(&second);
    let error = keyring.push(&by_new).unwrap_err();
    assert!(
        matches!(error, KeyringError::NotSignedByPrevious { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("not signed by the previous key"));
    // One naming another previous key.
    let mut wrong_previous = rotation.clone();
    wrong_previous.previous_key_id = third.key_id().clone();
    let error = keyring
        .push(&KeyRecord::KeyRotated(wrong_previous).encode_signed(&first))
        .unwrap_err();
    assert!(matches!(error, KeyringError::WrongPreviousKey { .. }));
    // One whose key id is not its public key's.
    let mut mismatched = rotation.clone();
    mismatched.key_id = third.key_id().clone();
    let error = keyring
        .push(&KeyRecord::KeyRotated(mismatched).encode_signed(&first))
        .unwrap_err();
    assert!(matches!(error, KeyringError::KeyIdMismatch { .. }));
    assert_eq!(keyring.current_key_id(), Some(first.key_id()));

    // Back to a retired key.
    keyring.push(&rotated(&first, &second)).unwrap();
    let error = keyring.push(&rotated(&second, &first)).unwrap_err();
    assert!(matches!(error, KeyringError::KeyReused { .. }));

    // Unsealed or altered records.
    let stored = rotated(&second, &third);
    let unsealed = {
        let text = text(&stored);
        format!("{}}}", text.rsplit_once(r#","hash":""#).unwrap().0).into_bytes()
    };
    assert!(matches!(
        keyring.push(&unsealed),
        Err(KeyringError::Unsealed)
    ));
    let mut altered = stored.clone();
    altered[20] ^= 1;
    assert!(matches!(
        keyring.push(&altered),
        Err(KeyringError::Altered { .. })
    ));
    assert_eq!(keyring.current_key_id(), Some(second.key_id()));
}

#[test]
fn a_checkpoint_round_trips_signed_and_sealed() {
    let plans = checkpoint_plans([
        (plan(), task(), 3, Some("ab".repeat(32))),
        (
            PlanId::parse("qti-dti-2023").unwrap(),
            TaskId::parse("00000000-0000-0000-0000-000000000001").unwrap(),
            1,
            None,
        ),
    ]);
    let checkpoint = checkpoint(plans);
    let signer = key(7);
    let stored = checkpoint.encode_signed(&signer);
    assert!(text(&stored).starts_with(r#"{"type":"checkpoint","schema_version":3,"#));
    assert!(matches!(check_seal(&stored), Seal::Valid { .. }));
    assert!(matches!(
        check_signature(&stored, |_| Some(signer.public_key())),
        SignatureCheck::Valid { .. }
    ));
    assert_eq!(Checkpoint::decode(&stored).unwrap(), checkpoint);
    assert_eq!(checkpoint.plans[0].plan_id.as_str(), "qng-189-2022");
    assert_eq!(
        (checkpoint.plans[0].tasks, checkpoint.plans[0].events),
        (1, 3)
    );
    assert!(Checkpoint::decode(&established(&key(7))).is_err());
}

#[test]
fn the_heads_digest_hashes_sorted_task_lines() {
    let tasks: Vec<TaskId> = [
        "f0000000-0000-0000-0000-000000000000",
        "0a000000-0000-0000-0000-000000000000",
        "a0000000-0000-0000-0000-000000000000",
    ]
    .iter()
    .map(|raw| TaskId::parse(raw).unwrap())
    .collect();
    let heads = vec![
        (tasks[0], 2, Some("11".repeat(32))),
        (tasks[1], 5, None),
        (tasks[2], 1, Some("22".repeat(32))),
    ];
    let mut lines: Vec<String> = heads
        .iter()
        .map(|(task, version, hash)| {
            format!("{task}:{version}:{}\n", hash.as_deref().unwrap_or(""))
        })
        .collect();
    lines.sort();
    assert_eq!(
        heads_digest(heads.clone()),
        sha256_hex(lines.concat().as_bytes())
    );
    let entry = &checkpoint_plans(heads.into_iter().map(|(t, v, h)| (plan(), t, v, h)))[0];
    assert_eq!((entry.tasks, entry.events), (3, 8));
    assert_eq!(entry.heads_digest, sha256_hex(lines.concat().as_bytes()));

    // A task given twice counts with its higher version; version 0 is no head.
    let mut builder = CheckpointBuilder::new();
    builder.add(plan(), tasks[0], 3, None);
    builder.add(plan(), tasks[0], 2, None);
    builder.add(plan(), tasks[1], 0, None);
    assert_eq!(builder.plans()[0].tasks, 1);
    assert_eq!(builder.plans()[0].events, 3);
}

#[test]
fn a_checkpoint_of_20000_tasks_fits_a_nats_message() {
    let plans = [
        "qng-189-2022",
        "qti-dti-2023",
        "qti-viettel-2025",
        "big-plan",
    ];
    let heads = (0..20_000u128).map(|n| {
        let plan = PlanId::parse(plans[(n % 4) as usize]).unwrap();
        let hash = sha256_hex(&n.to_be_bytes());
        (
            plan,
            TaskId::parse(&Uuid::from_u128(n).to_string()).unwrap(),
            40,
            Some(hash),
        )
    });
    let stored = checkpoint(checkpoint_plans(heads)).encode_signed(&key(7));
    assert!(stored.len() < 1024 * 1024, "{} bytes", stored.len());
    let decoded = Checkpoint::decode(&stored).unwrap();
    assert_eq!(decoded.plans.iter().map(|p| p.tasks).sum::<u64>(), 20_000);

    let one_plan = (0..20_000u128).map(|n| {
        (
            plan(),
            TaskId::parse(&Uuid::from_u128(n).to_string()).unwrap(),
            7,
            None,
        )
    });
    let stored = checkpoint(checkpoint_plans(one_plan)).encode_signed(&key(7));
    assert!(stored.len() < 4096, "{} bytes", stored.len());
}

#[test]
fn records_are_classified_by_their_type_member() {
    let fixtures = [
        &include_bytes!("../tests/fixtures/events/v1_task_assigned.json")[..],
        include_bytes!("../tests/fixtures/events/v1_coordination_recorded.json"),
        include_bytes!("../tests/fixtures/events/v1_report_submitted.json"),
        include_bytes!("../tests/fixtures/events/v1_task_overdue.json"),
        include_bytes!("../tests/fixtures/events/v1_task_amended.json"),
        include_bytes!("../tests/fixtures/events/v1_task_missing_from_appendix.json"),
        include_bytes!("../tests/fixtures/events/v1_task_back_in_appendix.json"),
        include_bytes!("../tests/fixtures/events/v1_deadline_extended.json"),
        include_bytes!("../tests/fixtures/events/v1_report_requested.json"),
        include_bytes!("../tests/fixtures/events/v1_request_answered.json"),
        include_bytes!("../tests/fixtures/events/v1_reminder_sent.json"),
        include_bytes!("../tests/fixtures/events/v1_request_overdue.json"),
        include_bytes!("../tests/fixtures/events/v2_report_submitted_sealed.json"),
    ];
    let mut names = std::collections::BTreeSet::new();
    for fixture in fixtures {
        assert_eq!(classify(fixture), RecordKind::TaskEvent);
        names.insert(EventEnvelope::decode(fixture).unwrap().event.type_name());
    }
    // Every event type has a fixture, and every type name is listed.
    assert_eq!(names.len(), TaskEvent::TYPE_NAMES.len());
    assert!(names
        .iter()
        .all(|name| TaskEvent::TYPE_NAMES.contains(name)));

    assert_eq!(classify(&established(&key(7))), RecordKind::KeyEstablished);
    assert_eq!(classify(&rotated(&key(7), &key(8))), RecordKind::KeyRotated);
    assert_eq!(
        classify(&checkpoint(Vec::new()).encode_signed(&key(7))),
        RecordKind::Checkpoint
    );
    assert_eq!(
        classify(br#"{"type":"import_committed","import_id":"x"}"#),
        RecordKind::ImportCommitted
    );
    assert_eq!(
        classify(br#"{"type":"plan_archived"}"#),
        RecordKind::Unknown("plan_archived".to_owned())
    );
    assert_eq!(
        classify(b"not an event"),
        RecordKind::Unknown(String::new())
    );
    assert_eq!(
        classify(br#"{"type":3}"#),
        RecordKind::Unknown(String::new())
    );
    assert_eq!(
        classify(br#"{"data":{}}"#),
        RecordKind::Unknown(String::new())
    );
}
