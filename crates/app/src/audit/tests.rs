//! Unit tests of the audit rules: agency selection, ranges, past states.

use serde_json::json;
use time::macros::datetime;

use super::as_of::Rebuilt;
use super::*;
use dondoc_domain::replay as replay_events;

const ASSIGNED: &str = include_str!("../../../domain/tests/fixtures/events/v1_task_assigned.json");

fn task(n: u128) -> TaskId {
    TaskId::parse(&uuid::Uuid::from_u128(n).to_string()).unwrap()
}

/// Whom a request naming `name` in Quảng Ngãi means.
fn target(name: &str) -> AgencyTarget {
    agencies()
        .target("agency", name, Some("Quảng Ngãi"))
        .unwrap()
}

fn agencies() -> Agencies {
    Agencies::new(dondoc_agencies::shipped().unwrap())
}

/// A stored event of `task_id` built from JSON, as the log would return it.
fn stored(
    sequence: u64,
    task_id: TaskId,
    version: u64,
    occurred_at: &str,
    kind: &str,
    data: serde_json::Value,
) -> StoredEvent {
    let value = json!({
        "schema_version": 1,
        "event_id": uuid::Uuid::from_u128(u128::from(sequence)).to_string(),
        "task_id": task_id.to_string(),
        "plan_id": "qng",
        "version": version,
        "occurred_at": occurred_at,
        "actor": "test",
        "request_id": format!("r{sequence}"),
        "type": kind,
        "data": data,
    });
    let payload = bytes::Bytes::from(serde_json::to_vec(&value).unwrap());
    RawRecordedEvent::decode(sequence, datetime!(2026-01-01 00:00 UTC), payload)
        .unwrap()
        .into()
}

/// `task_assigned` data with these leads and coordinators at appendix `position`.
fn assignment(lead: &[&str], coordinators: &[&str], position: usize) -> serde_json::Value {
    let mut data = serde_json::from_str::<serde_json::Value>(ASSIGNED).unwrap()["data"].take();
    data["lead"] = json!(lead);
    data["coordinators"] = json!(coordinators);
    data["source"]["position"] = json!(position);
    data["reporting"] = json!({"policy": {"name": "default", "quarterly_day": 25,
        "yearly": "12-20", "working_day_rule": true, "recipient": "UBND tỉnh"},
        "province": "Quảng Ngãi"});
    data
}

fn reporting_to(mut assignment: serde_json::Value, recipient: &str) -> serde_json::Value {
    assignment["reporting"] = json!({"policy": {"name": "default", "quarterly_day": 25,
        "yearly": "12-20", "working_day_rule": true, "recipient": recipient},
        "province": "Quảng Ngãi"});
    assignment
}

fn note(agency: &str) -> serde_json::Value {
    json!({"agency": agency, "note": "Đã phối hợp"})
}

fn report(by: &str) -> serde_json::Value {
    json!({"period": "2023-Q1", "reported_by": by, "content": "Đã báo cáo"})
}

const AT: &str = "2023-03-01T09:00:00+07:00";

#[test]
fn an_agencys_events_follow_its_assignments_and_the_events_naming_it() {
    let (a, b, c, d) = (task(1), task(2), task(3), task(4));
    let mut events = AgencyEvents::new(agencies(), target("Sở Y tế"));
    let mut kept = Vec::new();
    let log = [
        stored(
            1,
            a,
            1,
            AT,
            "task_assigned",
            assignment(&["sở y tế"], &[], 0),
        ),
        stored(
            2,
            b,
            1,
            AT,
            "task_assigned",
            assignment(&["Sở Tài chính"], &["Các Sở, ban, ngành tỉnh"], 1),
        ),
        stored(
            3,
            c,
            1,
            AT,
            "task_assigned",
            assignment(&["Sở Tài chính"], &[], 2),
        ),
        stored(4, c, 2, AT, "report_submitted", report("Sở Tài chính")),
        stored(5, b, 2, AT, "report_submitted", report("Sở Tài chính")),
        stored(6, c, 3, AT, "coordination_recorded", note("Sở  Y tế")),
        stored(
            7,
            a,
            2,
            AT,
            "task_amended",
            json!({"changed": ["lead"], "assignment": assignment(&["Sở Nội vụ"], &[], 0)}),
        ),
        stored(8, a, 3, AT, "report_submitted", report("Sở Nội vụ")),
        stored(
            9,
            d,
            1,
            AT,
            "task_assigned",
            reporting_to(assignment(&["Sở Tài chính"], &[], 3), "Sở Y tế"),
        ),
        stored(
            10,
            d,
            2,
            AT,
            "deadline_extended",
            json!({"duty": {"duty": "periodic", "period": "2023-Q1"}, "agency": "Sở Tài chính",
                "previous_due": "2023-03-25T00:00:00+07:00", "new_due": "2023-04-25T00:00:00+07:00",
                "reason": "Bão", "granted_by": "Sở Y tế"}),
        ),
    ];
    for event in &log {
        if events.observe(&event.envelope) {
            kept.push(event.sequence);
        }
    }
    // 1: leads it (case-insensitively); 2, 5: a group it belongs to coordinates;
    // 3, 4: not its task; 6: the note names it; 7: the amendment takes it off;
    // 8: no longer its task; 9: only the recipient of the plan's reports;
    // 10: it granted the extension.
    assert_eq!(kept, [1, 2, 5, 6, 7, 10]);
}

#[test]
fn ranges_are_inclusive_sequences_or_occurred_at_instants() {
    let event = stored(5, task(1), 1, AT, "report_submitted", report("Sở Y tế"));
    let at = datetime!(2023-03-01 09:00 +7);
    let range = |from, to| AuditRange { from, to };
    assert!(range(None, None).admits(&event));
    assert!(range(Some(AuditPoint::Sequence(5)), Some(AuditPoint::Sequence(5))).admits(&event));
    assert!(!range(Some(AuditPoint::Sequence(6)), None).admits(&event));
    assert!(!range(None, Some(AuditPoint::Sequence(4))).admits(&event));
    assert!(range(Some(AuditPoint::Instant(at)), Some(AuditPoint::Instant(at))).admits(&event));
    let second = time::Duration::seconds(1);
    assert!(!range(Some(AuditPoint::Instant(at + second)), None).admits(&event));
    assert!(!range(None, Some(AuditPoint::Instant(at - second))).admits(&event));
    // The same instant in another offset is the same instant.
    let utc = datetime!(2023-03-01 02:00 UTC);
    assert!(range(Some(AuditPoint::Instant(utc)), None).admits(&event));

    assert_eq!(
        range(Some(AuditPoint::Sequence(6)), Some(AuditPoint::Sequence(5)))
            .validate()
            .unwrap_err()
            .field,
        "to_sequence"
    );
    assert_eq!(
        range(
            Some(AuditPoint::Instant(at)),
            Some(AuditPoint::Instant(at - second))
        )
        .validate()
        .unwrap_err()
        .field,
        "to_time"
    );
    assert!(
        range(Some(AuditPoint::Sequence(6)), Some(AuditPoint::Instant(at)))
            .validate()
            .is_ok()
    );
}

#[test]
fn a_task_as_of_an_instant_stops_at_its_first_later_event() {
    let t = task(1);
    let as_of = datetime!(2023-03-02 00:00 +7);
    let mut rebuilt = Rebuilt::default();
    let log = [
        stored(
            1,
            t,
            1,
            "2023-01-05T08:30:00+07:00",
            "task_assigned",
            assignment(&["Sở Y tế"], &[], 0),
        ),
        stored(
            2,
            t,
            2,
            "2023-03-02T00:00:00+07:00",
            "report_submitted",
            report("Sở Y tế"),
        ),
        stored(
            3,
            t,
            3,
            "2023-03-02T00:00:01+07:00",
            "coordination_recorded",
            note("Sở Y tế"),
        ),
        // A clock that went back: not applied after a later event.
        stored(
            4,
            t,
            4,
            "2023-03-01T00:00:00+07:00",
            "coordination_recorded",
            note("Sở Y tế"),
        ),
    ];
    for event in &log {
        rebuilt.apply(event, as_of, true).unwrap();
    }
    assert_eq!(rebuilt.state.version, 2, "the instant itself is included");
    assert_eq!(rebuilt.state.reports.len(), 1);
    assert!(rebuilt.state.coordinations.is_empty());
    assert_eq!(
        rebuilt.state,
        replay_events(log[..2].iter().map(|event| &event.envelope))
    );
}

#[test]
fn a_gap_in_a_tasks_versions_is_refused() {
    let t = task(1);
    let mut rebuilt = Rebuilt::default();
    let as_of = datetime!(2024-01-01 00:00 +7);
    rebuilt
        .apply(
            &stored(
                1,
                t,
                1,
                AT,
                "task_assigned",
                assignment(&["Sở Y tế"], &[], 0),
            ),
            as_of,
            true,
        )
        .unwrap();
    let error = rebuilt
        .apply(
            &stored(2, t, 3, AT, "report_submitted", report("Sở Y tế")),
            as_of,
            true,
        )
        .unwrap_err();
    assert!(
        matches!(error, AppError::VersionGap { sequence: 2, .. }),
        "{error}"
    );
}
