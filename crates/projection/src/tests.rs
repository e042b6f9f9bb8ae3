//! Store tests on a real sled database in a temporary directory.

use dondoc_domain::{
    AgencyName, AppendixRowRef, EventEnvelope, PlanId, ReportSubmitted, ReportingPeriod, RequestId,
    TaskAssigned, TaskEvent, TaskId, Timeframe,
};
use std::sync::Arc;
use time::macros::datetime;

use uuid::Uuid;

use super::*;

fn agencies(names: &[&str]) -> Vec<AgencyName> {
    names
        .iter()
        .map(|name| AgencyName::parse(name).unwrap())
        .collect()
}

fn assigned_envelope(
    plan: &str,
    position: usize,
    lead: &[&str],
    coordinators: &[&str],
) -> EventEnvelope {
    let plan_id = PlanId::parse(plan).unwrap();
    let row_number = format!("1.{position}");
    let task_id = TaskId::for_appendix_row(&plan_id, Some("1"), &row_number, 1);
    EventEnvelope::new(
        Uuid::new_v4(),
        task_id,
        plan_id,
        1,
        datetime!(2023-01-05 08:00 +07:00),
        "import".into(),
        RequestId::parse(&format!("import-{position}")).unwrap(),
        TaskEvent::TaskAssigned(TaskAssigned {
            plan_year: 2023,
            title: format!("task {position}"),
            content: None,
            lead: agencies(lead),
            coordinators: agencies(coordinators),
            timeframe: Timeframe::parse(None, 2023),
            source: AppendixRowRef {
                source_name: "test".into(),
                line: position + 10,
                position,
                row_number,
                occurrence: 1,
                section_number: Some("1".into()),
                section_title: None,
                lead_text: lead.join("; "),
                coordinators_text: coordinators.join("; "),
            },
            extra: Vec::new(),
            agency_ids: Vec::new(),
            reporting: None,
        }),
    )
}

fn report_envelope(assigned: &EventEnvelope, version: u64, request: &str) -> EventEnvelope {
    EventEnvelope::new(
        Uuid::new_v4(),
        assigned.task_id,
        assigned.plan_id.clone(),
        version,
        datetime!(2023-03-20 08:00 +07:00),
        "Sở TT&TT".into(),
        RequestId::parse(request).unwrap(),
        TaskEvent::ReportSubmitted(ReportSubmitted {
            period: ReportingPeriod::parse("2023-Q1").unwrap(),
            reported_by: AgencyName::parse("Sở TT&TT").unwrap(),
            content: "ok".into(),
        }),
    )
}

/// Opens the store at `path` again after it was dropped in this process. sled lets go
/// of its file lock when its background threads drop their handles, a moment after the
/// `Db`: opening is retried (bounded) until the lock is free.
fn reopen(path: &std::path::Path, derivation: Option<Arc<dyn Derivation>>) -> ProjectionStore {
    let mut attempts = 0;
    loop {
        match ProjectionStore::open_with(path, derivation.clone()) {
            Ok(store) => return store,
            Err(ProjectionError::Storage { .. }) if attempts < 500 => {
                attempts += 1;
                // Paces the retries while sled's threads release the lock.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(error) => panic!("the store did not open again: {error}"),
        }
    }
}

fn open_store() -> (tempfile::TempDir, ProjectionStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ProjectionStore::open(&dir.path().join("projection")).unwrap();
    (dir, store)
}

#[test]
fn applies_events_and_moves_the_checkpoint_with_them() {
    let (_dir, store) = open_store();
    let assigned = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    assert_eq!(store.apply(1, &assigned).unwrap(), ApplyOutcome::Applied);
    assert_eq!(
        store
            .apply(2, &report_envelope(&assigned, 2, "r1"))
            .unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(store.checkpoint().unwrap(), 2);
    let view = store.task(&assigned.task_id).unwrap().unwrap();
    assert_eq!(view.state.version, 2);
    assert_eq!(view.last_sequence, 2);
    assert_eq!(view.state.reports.len(), 1);
}

#[test]
fn views_written_with_write_side_fields_still_read() {
    // Builds before the write side kept its own state stored request ids and the chain
    // head in each view; such a store keeps working.
    let (_dir, store) = open_store();
    let assigned = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    store.apply(1, &assigned).unwrap();
    let view = store.task(&assigned.task_id).unwrap().unwrap();
    let mut old = serde_json::to_value(&view).unwrap();
    old["requests"] = serde_json::json!({"r0": 1});
    let read: TaskView = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(read, view);
    // The build in between stored no chain head: its views read, and their next event
    // is applied without a chain check (there is nothing to check it against).
    old.as_object_mut().unwrap().remove("last_hash");
    let headless: TaskView = serde_json::from_value(old).unwrap();
    assert_eq!(headless.last_hash, None);
    let next = report_envelope(&assigned, 2, "r1").sealed(Some("ab".repeat(32)));
    assert_eq!(headless.chain_break(&next), None);
}

#[test]
fn an_event_that_does_not_chain_onto_its_task_is_refused_and_changes_nothing() {
    let (_dir, store) = open_store();
    let assigned = assigned_envelope("p", 0, &["Sở TT&TT"], &[]).sealed(None);
    store.apply(1, &assigned).unwrap();
    let forged = report_envelope(&assigned, 2, "r1").sealed(Some("00".repeat(32)));
    let error = store.apply(2, &forged).unwrap_err();
    assert!(
        matches!(error, crate::ProjectionError::Unchained { sequence: 2, .. }),
        "{error}"
    );
    assert_eq!(store.checkpoint().unwrap(), 1, "nothing moved");
    assert_eq!(
        store
            .task(&assigned.task_id)
            .unwrap()
            .unwrap()
            .state
            .version,
        1
    );
    // Its genuine successor, chained to the task's last hash, applies.
    let genuine = report_envelope(&assigned, 2, "r2").sealed(assigned.hash.clone());
    assert_eq!(store.apply(3, &genuine).unwrap(), ApplyOutcome::Applied);
}

#[test]
fn redelivered_events_are_skipped_not_doubled() {
    let (_dir, store) = open_store();
    let assigned = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    let report = report_envelope(&assigned, 2, "r1");
    store.apply(1, &assigned).unwrap();
    store.apply(2, &report).unwrap();
    assert_eq!(store.apply(2, &report).unwrap(), ApplyOutcome::Skipped);
    assert_eq!(store.apply(1, &assigned).unwrap(), ApplyOutcome::Skipped);
    assert_eq!(
        store
            .task(&assigned.task_id)
            .unwrap()
            .unwrap()
            .state
            .reports
            .len(),
        1
    );
}

#[test]
fn a_version_gap_is_refused_and_leaves_the_checkpoint() {
    let (_dir, store) = open_store();
    let assigned = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    store.apply(1, &assigned).unwrap();
    let error = store
        .apply(2, &report_envelope(&assigned, 3, "r1"))
        .unwrap_err();
    assert!(matches!(error, ProjectionError::Gap { .. }), "{error}");
    assert_eq!(store.checkpoint().unwrap(), 1);
}

#[test]
fn lists_by_plan_in_appendix_order_with_page_tokens() {
    let (_dir, store) = open_store();
    let mut sequence = 0;
    for position in [3, 0, 2, 1, 4] {
        sequence += 1;
        store
            .apply(
                sequence,
                &assigned_envelope("alpha", position, &["Sở TT&TT"], &[]),
            )
            .unwrap();
        sequence += 1;
        store
            .apply(
                sequence,
                &assigned_envelope("beta", position, &["Sở Nội vụ"], &[]),
            )
            .unwrap();
    }
    let mut query = TaskQuery {
        plan_id: Some(PlanId::parse("alpha").unwrap()),
        page_size: 2,
        ..Default::default()
    };
    let mut titles = Vec::new();
    loop {
        let page = store.list(&query).unwrap();
        assert!(page.tasks.len() <= 2);
        titles.extend(page.tasks.iter().map(|view| {
            view.state
                .assignment
                .as_ref()
                .unwrap()
                .details
                .title
                .clone()
        }));
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    assert_eq!(titles, ["task 0", "task 1", "task 2", "task 3", "task 4"]);
    let everything = store
        .list(&TaskQuery {
            page_size: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(everything.tasks.len(), 10);
}

#[test]
fn the_plans_naming_an_agency_come_from_the_index_keys() {
    let (_dir, store) = open_store();
    for (sequence, envelope) in [
        assigned_envelope("p", 0, &["Sở TT&TT"], &[]),
        assigned_envelope("p", 1, &["Sở TT&TT"], &[]),
        assigned_envelope("p-2", 0, &["Sở Y tế"], &["sở tt&tt"]),
        assigned_envelope("q", 0, &["Sở Y tế"], &[]),
    ]
    .iter()
    .enumerate()
    {
        store.apply(sequence as u64 + 1, envelope).unwrap();
    }
    let plans = |name: &str| -> Vec<String> {
        store
            .plans_naming(&AgencyName::parse(name).unwrap())
            .unwrap()
            .into_iter()
            .map(|plan| plan.to_string())
            .collect()
    };
    assert_eq!(
        plans("Sở TT&TT"),
        ["p", "p-2"],
        "as lead, then as coordinator"
    );
    assert_eq!(plans("Sở Y tế"), ["p-2", "q"]);
    assert!(plans("Sở Nội vụ").is_empty());
}

#[test]
fn filters_by_lead_and_coordinator_case_insensitively() {
    let (_dir, store) = open_store();
    store
        .apply(
            1,
            &assigned_envelope("p", 0, &["Sở TT&TT"], &["UBND cấp huyện"]),
        )
        .unwrap();
    store
        .apply(
            2,
            &assigned_envelope("p", 1, &["UBND cấp huyện"], &["Sở TT&TT"]),
        )
        .unwrap();
    store
        .apply(3, &assigned_envelope("q", 0, &["Sở TT&TT"], &[]))
        .unwrap();
    let lead = |name: &str, plan: Option<&str>| TaskQuery {
        lead: Some(AgencyName::parse(name).unwrap()),
        plan_id: plan.map(|plan| PlanId::parse(plan).unwrap()),
        ..Default::default()
    };
    assert_eq!(store.list(&lead("sở tt&tt", None)).unwrap().tasks.len(), 2);
    assert_eq!(
        store
            .list(&lead("Sở TT&TT", Some("p")))
            .unwrap()
            .tasks
            .len(),
        1
    );
    let coordinator = TaskQuery {
        coordinator: Some(AgencyName::parse("UBND cấp huyện").unwrap()),
        ..Default::default()
    };
    let page = store.list(&coordinator).unwrap();
    assert_eq!(page.tasks.len(), 1);
    assert_eq!(
        page.tasks[0]
            .state
            .assignment
            .as_ref()
            .unwrap()
            .details
            .source
            .position,
        0
    );
}

#[test]
fn a_page_token_from_another_query_is_refused() {
    let (_dir, store) = open_store();
    for position in 0..3 {
        store
            .apply(
                position as u64 + 1,
                &assigned_envelope("p", position, &["Sở TT&TT"], &[]),
            )
            .unwrap();
    }
    let first = store
        .list(&TaskQuery {
            page_size: 1,
            ..Default::default()
        })
        .unwrap();
    let token = first.next_page_token.unwrap();
    let by_lead = TaskQuery {
        lead: Some(AgencyName::parse("Sở TT&TT").unwrap()),
        page_token: Some(token),
        ..Default::default()
    };
    assert!(matches!(
        store.list(&by_lead),
        Err(ProjectionError::InvalidPageToken)
    ));
    let garbage = TaskQuery {
        page_token: Some("zz".into()),
        ..Default::default()
    };
    assert!(matches!(
        store.list(&garbage),
        Err(ProjectionError::InvalidPageToken)
    ));
}

#[test]
fn wipe_empties_everything_for_a_rebuild() {
    let (_dir, store) = open_store();
    store
        .apply(1, &assigned_envelope("p", 0, &["Sở TT&TT"], &[]))
        .unwrap();
    store.wipe().unwrap();
    assert_eq!(store.checkpoint().unwrap(), 0);
    assert_eq!(store.task_count(), 0);
    assert!(store.list(&TaskQuery::default()).unwrap().tasks.is_empty());
}

#[test]
fn two_stores_fed_the_same_events_digest_the_same_and_one_more_event_differs() {
    let (_first_dir, first) = open_store();
    let (_second_dir, second) = open_store();
    let a = assigned_envelope("p", 0, &["Sở TT&TT"], &["UBND cấp huyện"]);
    let b = assigned_envelope("p", 1, &["Sở Nội vụ"], &[]);
    for store in [&first, &second] {
        store.apply(1, &a).unwrap();
        store.apply(2, &b).unwrap();
    }
    let digests = first.digests().unwrap();
    assert_eq!(digests, second.digests().unwrap());
    let names: Vec<&str> = digests.iter().map(|digest| digest.tree).collect();
    assert_eq!(
        names,
        [
            "tasks",
            "by_plan",
            "by_lead",
            "by_coordinator",
            "meta",
            "quarantine",
            "pending",
            "pending_tasks",
            "imports",
            "derived_index",
            "counters"
        ]
    );
    assert_eq!(digests[0].entries, 2);

    second.apply(3, &report_envelope(&a, 2, "r1")).unwrap();
    let after = second.digests().unwrap();
    assert_ne!(after[0], digests[0], "the changed view");
    assert_eq!(after[1], digests[1], "the plan index did not change");
    assert_ne!(after[4], digests[4], "the checkpoint");
}

#[test]
fn a_quarantined_message_moves_the_checkpoint_once_and_stays_on_record() {
    let (_dir, store) = open_store();
    let a = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    store.apply(1, &a).unwrap();
    let foreign = Quarantined {
        sequence: 2,
        subject: "dondoc.events.task.p.x".into(),
        reason: "not an event".into(),
    };
    assert_eq!(store.quarantine(&foreign).unwrap(), ApplyOutcome::Applied);
    assert_eq!(store.quarantine(&foreign).unwrap(), ApplyOutcome::Skipped);
    assert_eq!(store.checkpoint().unwrap(), 2);
    assert_eq!(store.quarantined().unwrap(), vec![foreign]);
    // The projection goes on after it.
    store.apply(3, &report_envelope(&a, 2, "r1")).unwrap();
    assert_eq!(store.checkpoint().unwrap(), 3);
    store.wipe().unwrap();
    assert!(store.quarantined().unwrap().is_empty());
}

fn in_import(mut envelope: EventEnvelope, import: u128) -> EventEnvelope {
    envelope.import_id = Some(Uuid::from_u128(import));
    envelope
}

#[test]
fn an_imports_events_are_held_until_its_commit_and_then_applied_at_once() {
    let (_dir, store) = open_store();
    let a = in_import(assigned_envelope("p", 0, &["Sở TT&TT"], &[]), 7);
    let b = in_import(assigned_envelope("p", 1, &["Sở Nội vụ"], &[]), 7);
    assert_eq!(store.apply(1, &a).unwrap(), ApplyOutcome::Held);
    assert_eq!(store.apply(2, &b).unwrap(), ApplyOutcome::Held);
    // Held: not visible, yet the checkpoint moved (the stream need not be re-read).
    assert_eq!(store.task_count(), 0);
    assert_eq!(store.checkpoint().unwrap(), 2);
    assert_eq!(
        store.pending_imports().unwrap(),
        vec![(Uuid::from_u128(7), 2)]
    );
    // A later event of a held task waits behind it, whatever it is.
    let report = report_envelope(&a, 2, "r1");
    assert_eq!(store.apply(3, &report).unwrap(), ApplyOutcome::Held);

    let changed = store.commit_import(4, &Uuid::from_u128(7)).unwrap();
    assert_eq!(changed, vec![a.task_id, b.task_id, a.task_id]);
    assert_eq!(store.task_count(), 2);
    assert_eq!(store.task(&a.task_id).unwrap().unwrap().state.version, 2);
    assert_eq!(store.checkpoint().unwrap(), 4);
    assert!(store.pending_imports().unwrap().is_empty());
    // Redelivered after a crash: nothing is applied twice.
    assert!(store
        .commit_import(4, &Uuid::from_u128(7))
        .unwrap()
        .is_empty());
    // Events of a committed import apply at once.
    let c = in_import(assigned_envelope("p", 2, &["Sở Y tế"], &[]), 7);
    assert_eq!(store.apply(5, &c).unwrap(), ApplyOutcome::Applied);
}

#[test]
fn an_import_never_committed_stays_invisible_and_other_tasks_go_on() {
    let (_dir, store) = open_store();
    let held = in_import(assigned_envelope("p", 0, &["Sở TT&TT"], &[]), 8);
    let plain = assigned_envelope("p", 1, &["Sở Nội vụ"], &[]);
    store.apply(1, &held).unwrap();
    assert_eq!(store.apply(2, &plain).unwrap(), ApplyOutcome::Applied);
    assert!(store.task(&held.task_id).unwrap().is_none());
    assert!(store.task(&plain.task_id).unwrap().is_some());
    // Another import's commit does not release it.
    store.commit_import(3, &Uuid::from_u128(9)).unwrap();
    assert!(store.task(&held.task_id).unwrap().is_none());
}

#[test]
fn one_batch_holds_many_records_and_readers_see_none_of_them_before_its_commit() {
    let (_dir, store) = open_store();
    let a = in_import(assigned_envelope("p", 0, &["Sở TT&TT"], &[]), 5);
    let b = assigned_envelope("p", 1, &["Sở Nội vụ"], &[]);
    let mut batch = store.batch();
    assert_eq!(batch.apply(1, &a).unwrap(), ApplyOutcome::Held);
    assert_eq!(batch.apply(2, &b).unwrap(), ApplyOutcome::Applied);
    // The import's commit in the same batch finds the event the batch holds.
    assert_eq!(
        batch.commit_import(3, &Uuid::from_u128(5)).unwrap(),
        vec![a.task_id]
    );
    assert_eq!(
        batch.apply(4, &report_envelope(&a, 2, "r1")).unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(store.checkpoint().unwrap(), 0, "nothing before the commit");
    assert_eq!(store.task_count(), 0);
    batch.commit().unwrap();
    assert_eq!(store.checkpoint().unwrap(), 4);
    assert_eq!(store.task(&a.task_id).unwrap().unwrap().state.version, 2);
    assert!(store.pending_imports().unwrap().is_empty());
}

#[test]
fn a_record_that_fails_leaves_the_batch_as_it_was_before_it() {
    let (_dir, store) = open_store();
    let a = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    let mut batch = store.batch();
    batch.apply(1, &a).unwrap();
    // Version 3 after version 1: a gap, refused whole.
    let error = batch.apply(2, &report_envelope(&a, 3, "r1")).unwrap_err();
    assert!(
        matches!(error, ProjectionError::Gap { sequence: 2, .. }),
        "{error}"
    );
    batch.commit().unwrap();
    assert_eq!(store.checkpoint().unwrap(), 1);
    assert_eq!(store.task(&a.task_id).unwrap().unwrap().state.version, 1);
}

#[test]
fn a_first_record_that_fails_leaves_the_batch_empty_and_the_next_ones_apply() {
    let (_dir, store) = open_store();
    let a = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    store.apply(1, &a).unwrap();
    let mut batch = store.batch();
    // Version 3 after version 1: a gap, refused whole, and nothing else was staged.
    assert!(batch.apply(2, &report_envelope(&a, 3, "r1")).is_err());
    assert!(batch.is_empty());
    batch.apply(2, &report_envelope(&a, 2, "r1")).unwrap();
    batch.commit().unwrap();
    assert_eq!(store.checkpoint().unwrap(), 2);
    assert_eq!(store.task(&a.task_id).unwrap().unwrap().state.version, 2);
}

/// Counts tasks per lead and indexes each task under its plan: enough to see the
/// derived records follow every change.
#[derive(Debug)]
struct LeadCounts(&'static str);

impl Derivation for LeadCounts {
    fn fingerprint(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }

    fn derive(&self, view: &TaskView) -> Derived {
        let Some(assignment) = &view.state.assignment else {
            return Derived::default();
        };
        Derived {
            index: vec![(
                view.plan_id.as_str().as_bytes().to_vec(),
                view.task_id.as_uuid().as_bytes().to_vec(),
            )],
            counters: assignment
                .details
                .lead
                .iter()
                .map(|lead| lead.match_key().into_bytes())
                .chain(std::iter::once(b"reports".repeat(view.state.reports.len())))
                .collect(),
        }
    }
}

#[test]
fn derived_records_follow_every_change_and_are_derived_again_under_other_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projection");
    let store = ProjectionStore::open_with(&path, Some(Arc::new(LeadCounts("v1")))).unwrap();
    let a = assigned_envelope("p", 0, &["Sở TT&TT"], &[]);
    let b = assigned_envelope("p", 1, &["Sở TT&TT", "Sở Nội vụ"], &[]);
    store.apply(1, &a).unwrap();
    store.apply(2, &b).unwrap();
    store.apply(3, &report_envelope(&a, 2, "r1")).unwrap();
    let count = |store: &ProjectionStore, key: &str| {
        store
            .counters(key.as_bytes())
            .unwrap()
            .into_iter()
            .find(|(found, _)| found == key.as_bytes())
            .map_or(0, |(_, count)| count)
    };
    assert_eq!(count(&store, "sở tt&tt"), 2);
    assert_eq!(count(&store, "sở nội vụ"), 1);
    assert_eq!(count(&store, "reports"), 1);
    // One index entry per task, both in the plan's list.
    let lists: Vec<_> = store
        .derived_lists(b"", std::ops::Bound::Unbounded)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].0, b"p");
    assert_eq!(lists[0].1.len(), 2);
    let kept = store.digests().unwrap();
    drop(store);

    // Other rules: derived again from the views, to the same records.
    let again = reopen(&path, Some(Arc::new(LeadCounts("v2"))));
    let rederived = again.digests().unwrap();
    for name in ["derived_index", "counters"] {
        let digest = |digests: &[TreeDigest]| {
            digests
                .iter()
                .find(|digest| digest.tree == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(digest(&rederived), digest(&kept), "{name}");
    }
    assert_eq!(again.recorded_fingerprint().unwrap().unwrap(), b"v2");
    drop(again);

    // A write without the derivation drops the fingerprint: the next open derives again.
    let plain = reopen(&path, None);
    plain.apply(4, &report_envelope(&a, 3, "r2")).unwrap();
    assert_eq!(plain.recorded_fingerprint().unwrap(), None);
    drop(plain);
    let healed = reopen(&path, Some(Arc::new(LeadCounts("v2"))));
    assert_eq!(count(&healed, "reports"), 0);
    assert_eq!(count(&healed, "reportsreports"), 1);
}

#[test]
fn the_trees_of_an_older_build_are_dropped_so_the_projection_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projection");
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("tasks").unwrap().insert(b"x", b"y").unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert(b"checkpoint", &9u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let store = reopen(&path, None);
    assert_eq!(
        store.checkpoint().unwrap(),
        0,
        "rebuilt from the stream's start"
    );
    assert_eq!(store.task_count(), 0);
}

/// Indexes each task in the list of its report count: many members, moving between
/// lists as reports arrive.
#[derive(Debug)]
struct ByReports(&'static str);

impl Derivation for ByReports {
    fn fingerprint(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }

    fn derive(&self, view: &TaskView) -> Derived {
        Derived {
            index: vec![(
                vec![b'r', view.state.reports.len() as u8],
                view.task_id.as_uuid().as_bytes().to_vec(),
            )],
            counters: Vec::new(),
        }
    }
}

fn lists_of(store: &ProjectionStore, start: &[u8], end: std::ops::Bound<&[u8]>) -> Vec<IndexEntry> {
    store
        .derived_lists(start, end)
        .flat_map(|list| {
            let (list, members) = list.unwrap();
            members
                .into_iter()
                .map(move |member| (list.clone(), member))
        })
        .collect()
}

#[test]
fn index_lists_keep_their_members_in_order_across_buckets_and_follow_each_change() {
    use std::ops::Bound;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projection");
    let store = ProjectionStore::open_with(&path, Some(Arc::new(ByReports("v1")))).unwrap();
    let tasks: Vec<EventEnvelope> = (0..300)
        .map(|position| assigned_envelope("p", position, &["Sở TT&TT"], &[]))
        .collect();
    let mut batch = store.batch();
    for (sequence, task) in (1..).zip(&tasks) {
        batch.apply(sequence, task).unwrap();
    }
    batch.commit().unwrap();
    let mut ids: Vec<Vec<u8>> = tasks
        .iter()
        .map(|task| task.task_id.as_uuid().as_bytes().to_vec())
        .collect();
    ids.sort();
    let none: Vec<IndexEntry> = ids.iter().map(|id| (b"r\0".to_vec(), id.clone())).collect();
    assert_eq!(lists_of(&store, b"", Bound::Unbounded), none);

    // A report moves its task from list r0 to r1; each list stays whole and in order.
    let mut batch = store.batch();
    for (sequence, task) in (301..).zip(&tasks[..100]) {
        batch
            .apply(sequence, &report_envelope(task, 2, &format!("r{sequence}")))
            .unwrap();
    }
    batch.commit().unwrap();
    let mut reported: Vec<Vec<u8>> = tasks[..100]
        .iter()
        .map(|task| task.task_id.as_uuid().as_bytes().to_vec())
        .collect();
    reported.sort();
    let first: Vec<IndexEntry> = reported
        .iter()
        .map(|id| (b"r\x01".to_vec(), id.clone()))
        .collect();
    assert_eq!(lists_of(&store, b"r\x01", Bound::Unbounded), first);
    let rest = lists_of(&store, b"", Bound::Excluded(b"r\x01"));
    assert_eq!(rest.len(), 200);
    assert!(rest.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(rest.iter().all(|(_, id)| !reported.contains(id)));
    // A start inside the lists' key (a prefix of none) starts at the next list.
    assert_eq!(lists_of(&store, b"r\0\0", Bound::Unbounded), first);

    // Derived again from the views under another fingerprint: the same records.
    let kept = store.digests().unwrap();
    drop(store);
    let again = reopen(&path, Some(Arc::new(ByReports("v2"))));
    let index = |digests: &[TreeDigest]| {
        digests
            .iter()
            .find(|digest| digest.tree == "derived_index")
            .cloned()
            .unwrap()
    };
    assert_eq!(index(&again.digests().unwrap()), index(&kept));
    assert!(index(&kept).entries > 1, "the lists are split in buckets");
}
