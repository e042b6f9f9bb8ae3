//! The auditors' use cases, all read from the log of record (JetStream), never from the
//! projection: replays of the whole log, a plan, a task or an agency over a range of
//! sequences or instants; a task's exact state as of an instant; the scorecard as of an
//! instant as the tracker would have computed it then; and a live, resumable watch.
//!
//! # Semantics
//!
//! - **Order.** Stream order (stream sequence), always; instants select, never reorder.
//! - **Instants are `occurred_at`**, the envelope's time (when the command was decided,
//!   by the application's clock), not the server's store time. Store time can be far
//!   from `occurred_at` (a server run with `--pretend-now`, a log migrated from elsewhere)
//!   and `occurred_at` is not guaranteed to grow with the sequence across tasks
//!   (concurrent commands), so a replay bounded by an instant reads the whole sequence
//!   range (up to the stream's last sequence when it started, or `to_sequence`) and
//!   keeps the events whose `occurred_at` lies within the bounds: from (inclusive) and
//!   to (inclusive).
//! - **Sequences** are inclusive on both ends. A replay never waits for new events: it
//!   ends at the stream's last sequence when it started (a later `to_sequence` is
//!   capped). `watch` is the live tail.
//! - **A task as of an instant** is the replay of its events (in version order) up to,
//!   not including, its first event stamped after the instant. With a clock that does
//!   not go back, that is exactly its events with `occurred_at <= instant`; should a
//!   clock have gone back, a later version is never applied without the earlier ones.
//!   A task whose first event came after the instant did not exist then.
//! - **The scorecard as of an instant** rebuilds every task so, then selects and counts
//!   exactly as the live scorecard (`queries.rs`) does now: a plan's tasks, or the tasks
//!   that name the agency (or a group the directory lists it in) as lead or coordinator
//!   in their assignment *as it stood then*, their obligations as of the instant, kept
//!   when the agency owes them, tallied. Unlike the live "as of", nothing recorded after
//!   the instant counts, the assignment included: it is the scorecard the tracker would
//!   have shown at that instant.
//! - **Agency replays** keep an event when the agency (canonical name, or a group the
//!   directory lists it in, in any province) is named
//!   - as a lead or coordinator by its task's assignment as it stood just before or
//!     just after the event (so the amendment that adds or removes the agency is kept,
//!     and a task's events stop being the agency's once an amendment takes it off), or
//!   - by the event in a role (`agencies_named`): it reported, coordinated, asked or
//!     was asked, answered, was marked overdue or reminded, was granted or granted an
//!     extension. (Not as the recipient of a plan's reports, which every task of the
//!     plan names.)
//!
//!   Assignments are tracked from the start of the log whatever the replay's start, so
//!   "as it stood" is exact.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dondoc_domain::vietnam_time::in_vietnam;
use dondoc_domain::{
    apply, replay as replay_events, AgencyName, EventEnvelope, InvalidInput, PlanId, TaskAssigned,
    TaskEvent, TaskId, TaskState,
};
use dondoc_eventlog::{EventLog, RawRecordedEvent, ReplayEnd, ReplayFilter, ReplayStart};
use dondoc_projection::{ProjectionError, VersionGap};
use futures::{Stream, TryStreamExt};
use time::OffsetDateTime;

use crate::deadlines::DeadlineRules;
use crate::error::AppError;
use crate::queries::{Scorecard, ScorecardQuery};
use crate::tracker::Tracker;

/// Whose events a replay reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AuditScope {
    #[default]
    All,
    Plan(PlanId),
    Task(TaskId),
    /// Module docs: tasks the agency was assigned to at the time, and events naming it.
    Agency(AgencyName),
}

/// One end of a replay's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditPoint {
    /// A stream sequence (inclusive).
    Sequence(u64),
    /// An `occurred_at` instant (inclusive).
    Instant(OffsetDateTime),
}

/// A replay's range; `None`: from the first event, to the stream's last when it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditRange {
    pub from: Option<AuditPoint>,
    pub to: Option<AuditPoint>,
}

impl AuditRange {
    /// Refuses a range that ends before it starts (comparable ends only). Errors name
    /// the API's fields: `to_sequence` / `to_time`.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        match (self.from, self.to) {
            (Some(AuditPoint::Sequence(from)), Some(AuditPoint::Sequence(to))) if to < from => {
                Err(InvalidInput::new(
                    "to_sequence",
                    format!("{to} is before from_sequence {from}"),
                ))
            }
            (Some(AuditPoint::Instant(from)), Some(AuditPoint::Instant(to))) if to < from => {
                Err(InvalidInput::new(
                    "to_time",
                    format!(
                        "{} is before from_time {}",
                        crate::format_instant(to),
                        crate::format_instant(from)
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether an event lies within the range (the log's own bounds aside).
    fn admits(&self, event: &RawRecordedEvent) -> bool {
        let after_start = match self.from {
            None => true,
            Some(AuditPoint::Sequence(from)) => event.sequence >= from,
            Some(AuditPoint::Instant(from)) => event.envelope.occurred_at >= from,
        };
        let before_end = match self.to {
            None => true,
            Some(AuditPoint::Sequence(to)) => event.sequence <= to,
            Some(AuditPoint::Instant(to)) => event.envelope.occurred_at <= to,
        };
        after_start && before_end
    }
}

/// Selects the events of an agency (module docs). Feed it every event of the log from
/// the first, in order, whether or not the replay keeps them: it tracks assignments.
#[derive(Clone, Debug)]
pub struct AgencyEvents {
    /// Match keys of the agency and the groups that list it.
    names: HashSet<String>,
    /// Per task, the match keys of its current leads and coordinators.
    assigned: HashMap<TaskId, Vec<String>>,
}

fn assignment_keys(assignment: &TaskAssigned) -> Vec<String> {
    assignment
        .lead
        .iter()
        .chain(&assignment.coordinators)
        .map(AgencyName::match_key)
        .collect()
}

/// The agencies an event's data names in a role: who reported, coordinated, asked,
/// was asked, answered, was marked overdue or reminded, was granted or granted an
/// extension, and an assignment's leads and coordinators. Not the recipient of a plan's
/// reports (`reporting.policy.recipient`): every task of a plan names it, so it would
/// make every assignment that agency's.
fn agencies_named(event: &TaskEvent) -> Vec<&str> {
    match event {
        TaskEvent::TaskAssigned(assigned) => assignment_names(assigned),
        TaskEvent::TaskAmended(amended) => assignment_names(&amended.assignment),
        TaskEvent::CoordinationRecorded(recorded) => vec![recorded.agency.as_str()],
        TaskEvent::ReportSubmitted(submitted) => vec![submitted.reported_by.as_str()],
        TaskEvent::TaskOverdue(overdue) => overdue.agency.iter().map(AgencyName::as_str).collect(),
        TaskEvent::DeadlineExtended(extended) => extended
            .agency
            .iter()
            .map(AgencyName::as_str)
            .chain([extended.granted_by.as_str()])
            .collect(),
        TaskEvent::ReportRequested(requested) => requested
            .agencies
            .iter()
            .chain([&requested.requested_by])
            .map(AgencyName::as_str)
            .collect(),
        TaskEvent::RequestAnswered(answered) => vec![answered.answered_by.as_str()],
        TaskEvent::RequestOverdue(overdue) => vec![overdue.agency.as_str()],
        TaskEvent::ReminderSent(reminder) => vec![reminder.agency.as_str()],
        TaskEvent::TaskMissingFromAppendix(_) | TaskEvent::TaskBackInAppendix(_) => Vec::new(),
    }
}

fn assignment_names(assignment: &TaskAssigned) -> Vec<&str> {
    assignment
        .lead
        .iter()
        .chain(&assignment.coordinators)
        .map(AgencyName::as_str)
        .collect()
}

impl AgencyEvents {
    /// `names`: the agency's canonical name and the groups that list it.
    pub fn new(names: &[AgencyName]) -> Self {
        Self {
            names: names.iter().map(AgencyName::match_key).collect(),
            assigned: HashMap::new(),
        }
    }

    fn assigned_here(&self, task_id: &TaskId) -> bool {
        self.assigned
            .get(task_id)
            .is_some_and(|keys| keys.iter().any(|key| self.names.contains(key)))
    }

    /// Records `envelope` and answers whether it is the agency's.
    pub fn observe(&mut self, envelope: &EventEnvelope) -> bool {
        let task_id = envelope.task_id;
        let before = self.assigned_here(&task_id);
        let assignment = match &envelope.event {
            TaskEvent::TaskAssigned(assigned) => Some(assigned),
            TaskEvent::TaskAmended(amended) => Some(&amended.assignment),
            _ => None,
        };
        if let Some(assignment) = assignment {
            self.assigned.insert(task_id, assignment_keys(assignment));
        }
        before
            || self.assigned_here(&task_id)
            || agencies_named(&envelope.event).into_iter().any(|name| {
                AgencyName::parse(name).is_ok_and(|name| self.names.contains(&name.match_key()))
            })
    }
}

/// A task as it stood at an instant, rebuilt from the log.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskAsOf {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub as_of: OffsetDateTime,
    /// `version` 0 when the task had no event yet at `as_of`.
    pub state: TaskState,
    /// Stream sequence of the last event applied; 0 for none.
    pub last_sequence: u64,
    /// `occurred_at` of the last event applied.
    pub last_occurred_at: Option<OffsetDateTime>,
    /// `occurred_at` of the task's first event (after `as_of` when it had none then).
    pub first_occurred_at: OffsetDateTime,
}

/// A task rebuilt while replaying the log up to an instant.
#[derive(Clone, Debug)]
struct Rebuilt {
    plan_id: PlanId,
    state: TaskState,
    /// An event stamped after the instant came: the task's later events are not applied
    /// (module docs).
    closed: bool,
}

impl Rebuilt {
    /// Applies `event` unless it (or an earlier one of the task) is after `as_of`.
    fn apply(&mut self, event: &RawRecordedEvent, as_of: OffsetDateTime) -> Result<(), AppError> {
        if self.closed || event.envelope.occurred_at > as_of {
            self.closed = true;
            return Ok(());
        }
        check_version(self.state.version, event)?;
        self.state = apply(std::mem::take(&mut self.state), &event.envelope);
        Ok(())
    }
}

/// A task's events must follow each other without gaps; a log that skips one cannot be
/// audited (INTERNAL), never silently rebuilt.
fn check_version(previous: u64, event: &RawRecordedEvent) -> Result<(), AppError> {
    let expected = previous + 1;
    if event.envelope.version == expected {
        Ok(())
    } else {
        Err(ProjectionError::Gap(VersionGap {
            task_id: event.envelope.task_id,
            sequence: event.sequence,
            event_version: event.envelope.version,
            expected_version: expected,
        })
        .into())
    }
}

/// Reads the log for auditors. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auditor {
    log: EventLog,
    tracker: Tracker,
    rules: Arc<DeadlineRules>,
}

impl Auditor {
    /// `tracker` lends its agency directory and clock (never its projection); `rules`
    /// compute obligations as the live queries do.
    pub fn new(log: EventLog, tracker: Tracker, rules: Arc<DeadlineRules>) -> Self {
        Self {
            log,
            tracker,
            rules,
        }
    }

    /// The agency's canonical name (as the live queries resolve it).
    /// Walks the hash chains of every task (or of one plan's tasks) in the log.
    pub async fn verify(
        &self,
        plan: Option<dondoc_domain::PlanId>,
    ) -> Result<crate::verify::LogVerification, AppError> {
        crate::verify::verify_log(&self.log, plan).await
    }

    pub fn canonical_agency(&self, agency: &AgencyName) -> AgencyName {
        self.tracker.canonical_agency(agency)
    }

    /// The events of `scope` within `range`, in stream order, each with its stored bytes
    /// (module docs). Ends at the stream's last sequence as of this call. `TaskNotFound`
    /// for a task the log has no event of (a range may still select none of a known
    /// task's events).
    pub async fn replay(
        &self,
        scope: &AuditScope,
        range: AuditRange,
    ) -> Result<
        impl Stream<Item = Result<RawRecordedEvent, AppError>> + Send + Unpin + 'static,
        AppError,
    > {
        range.validate()?;
        if let AuditScope::Task(task_id) = scope {
            // An unknown task is an error, not an empty history.
            let filter = ReplayFilter::Task(*task_id);
            if self.log.first_sequence(&filter).await?.is_none() {
                return Err(AppError::TaskNotFound(*task_id));
            }
        }
        let (filter, mut agency) = match scope {
            AuditScope::All => (ReplayFilter::All, None),
            AuditScope::Plan(plan_id) => (ReplayFilter::Plan(plan_id.clone()), None),
            AuditScope::Task(task_id) => (ReplayFilter::Task(*task_id), None),
            AuditScope::Agency(agency) => {
                let agency = self.canonical_agency(agency);
                let names = self.tracker.agency_and_groups(&agency);
                (ReplayFilter::All, Some(AgencyEvents::new(&names)))
            }
        };
        // Agency replays read from the first event to track assignments; instants are
        // selected on occurred_at (module docs).
        let start = match range.from {
            Some(AuditPoint::Sequence(sequence)) if agency.is_none() => {
                ReplayStart::Sequence(sequence)
            }
            _ => ReplayStart::Sequence(1),
        };
        let end = match range.to {
            Some(AuditPoint::Sequence(sequence)) => Some(ReplayEnd::Sequence(sequence)),
            _ => None,
        };
        let events = self.log.replay(&filter, start, end).await?;
        Ok(events.map_err(AppError::from).try_filter(move |event| {
            let mine = agency
                .as_mut()
                .is_none_or(|agency| agency.observe(&event.envelope));
            futures::future::ready(mine && range.admits(event))
        }))
    }

    /// The events `filter` selects after stream sequence `after_sequence`, then each new
    /// one as it is stored. Does not end, except with an error: resume from the last
    /// sequence handled.
    pub async fn watch(
        &self,
        after_sequence: u64,
        filter: &ReplayFilter,
    ) -> Result<
        impl Stream<Item = Result<RawRecordedEvent, AppError>> + Send + Unpin + 'static,
        AppError,
    > {
        let events = self
            .log
            .watch(after_sequence.saturating_add(1), filter)
            .await?;
        Ok(events.map_err(AppError::from))
    }

    /// `task_id` as it stood at `as_of` (`None`: now), from its events in the log
    /// (module docs). `TaskNotFound` when the log has no event of it at all.
    pub async fn task_state_as_of(
        &self,
        task_id: TaskId,
        as_of: Option<OffsetDateTime>,
    ) -> Result<TaskAsOf, AppError> {
        let as_of = in_vietnam(as_of.unwrap_or_else(|| self.tracker.clock().now()));
        let mut events = self
            .log
            .replay(&ReplayFilter::Task(task_id), ReplayStart::default(), None)
            .await?;
        let mut applied: Vec<RawRecordedEvent> = Vec::new();
        let mut first: Option<(PlanId, OffsetDateTime)> = None;
        while let Some(event) = events.try_next().await? {
            first.get_or_insert_with(|| {
                (event.envelope.plan_id.clone(), event.envelope.occurred_at)
            });
            if event.envelope.occurred_at > as_of {
                // Later events are not part of the task as of then; stop reading.
                break;
            }
            check_version(
                applied.last().map_or(0, |last| last.envelope.version),
                &event,
            )?;
            applied.push(event);
        }
        let (plan_id, first_occurred_at) = first.ok_or(AppError::TaskNotFound(task_id))?;
        let state = replay_events(applied.iter().map(|event| &event.envelope));
        Ok(TaskAsOf {
            task_id,
            plan_id,
            as_of,
            state,
            last_sequence: applied.last().map_or(0, |event| event.sequence),
            last_occurred_at: applied.last().map(|event| event.envelope.occurred_at),
            first_occurred_at,
        })
    }

    /// The scorecard as the tracker would have shown it at `query.as_of` (`None`: now),
    /// from the log (module docs).
    pub async fn scorecard_as_of(&self, query: &ScorecardQuery) -> Result<Scorecard, AppError> {
        let as_of = in_vietnam(query.as_of.unwrap_or_else(|| self.tracker.clock().now()));
        let filter = match &query.plan_id {
            Some(plan_id) => ReplayFilter::Plan(plan_id.clone()),
            None => ReplayFilter::All,
        };
        let mut events = self
            .log
            .replay(&filter, ReplayStart::default(), None)
            .await?;
        let mut tasks: HashMap<TaskId, Rebuilt> = HashMap::new();
        while let Some(event) = events.try_next().await? {
            tasks
                .entry(event.envelope.task_id)
                .or_insert_with(|| Rebuilt {
                    plan_id: event.envelope.plan_id.clone(),
                    state: TaskState::default(),
                    closed: false,
                })
                .apply(&event, as_of)?;
        }
        let agency = query
            .agency
            .as_ref()
            .map(|agency| self.canonical_agency(agency));
        let states: Vec<(TaskId, PlanId, TaskState)> = tasks
            .into_iter()
            .map(|(task_id, rebuilt)| (task_id, rebuilt.plan_id, rebuilt.state))
            .collect();
        let names = agency
            .as_ref()
            .map(|agency| self.tracker.agency_and_groups(agency));
        let selected = listing_order(&states, names.as_deref());
        Ok(self.tracker.scorecard_of(
            &self.rules,
            selected,
            agency.as_ref(),
            &query.periods,
            as_of,
        ))
    }
}

/// The tasks the live scorecard would read, in the order it reads them: tasks with an
/// assignment, by plan, appendix position and id; with agency `names`, for each name in
/// turn the tasks it leads, then those it coordinates, each task once (as the
/// projection's indexes list them).
fn listing_order<'a>(
    tasks: &'a [(TaskId, PlanId, TaskState)],
    names: Option<&[AgencyName]>,
) -> Vec<&'a TaskState> {
    let mut listed: Vec<(&str, usize, TaskId, &TaskAssigned, &TaskState)> = tasks
        .iter()
        .filter_map(|(task_id, plan_id, state)| {
            let details = &state.assignment.as_ref()?.details;
            Some((
                plan_id.as_str(),
                details.source.position,
                *task_id,
                details,
                state,
            ))
        })
        .collect();
    listed.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let Some(names) = names else {
        return listed.into_iter().map(|entry| entry.4).collect();
    };
    let mut seen = HashSet::new();
    let mut selected = Vec::new();
    for name in names {
        let key = name.match_key();
        for coordinating in [false, true] {
            for (_, _, task_id, details, state) in &listed {
                let named = if coordinating {
                    &details.coordinators
                } else {
                    &details.lead
                };
                if named.iter().any(|agency| agency.match_key() == key) && seen.insert(*task_id) {
                    selected.push(*state);
                }
            }
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const ASSIGNED: &str = include_str!("../../domain/tests/fixtures/events/v1_task_assigned.json");

    fn task(n: u128) -> TaskId {
        TaskId::parse(&uuid::Uuid::from_u128(n).to_string()).unwrap()
    }

    fn agency(name: &str) -> AgencyName {
        AgencyName::parse(name).unwrap()
    }

    /// A stored event of `task_id` built from JSON, as the log would return it.
    fn stored(
        sequence: u64,
        task_id: TaskId,
        version: u64,
        occurred_at: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> RawRecordedEvent {
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
        RawRecordedEvent::decode(sequence, datetime!(2026-01-01 00:00 UTC), payload).unwrap()
    }

    /// `task_assigned` data with these leads and coordinators at appendix `position`.
    fn assignment(lead: &[&str], coordinators: &[&str], position: usize) -> serde_json::Value {
        let mut data = serde_json::from_str::<serde_json::Value>(ASSIGNED).unwrap()["data"].take();
        data["lead"] = json!(lead);
        data["coordinators"] = json!(coordinators);
        data["source"]["position"] = json!(position);
        data
    }

    fn reporting_to(mut assignment: serde_json::Value, recipient: &str) -> serde_json::Value {
        assignment["reporting"] = json!({"policy": {"name": "default", "quarterly_day": 25,
            "yearly": "12-20", "working_day_rule": true, "recipient": recipient}});
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
        let names = [agency("Sở Y tế"), agency("Các Sở, ban, ngành tỉnh")];
        let mut events = AgencyEvents::new(&names);
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
        let mut rebuilt = Rebuilt {
            plan_id: PlanId::parse("qng").unwrap(),
            state: TaskState::default(),
            closed: false,
        };
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
            rebuilt.apply(event, as_of).unwrap();
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
        let mut rebuilt = Rebuilt {
            plan_id: PlanId::parse("qng").unwrap(),
            state: TaskState::default(),
            closed: false,
        };
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
            )
            .unwrap();
        let error = rebuilt
            .apply(
                &stored(2, t, 3, AT, "report_submitted", report("Sở Y tế")),
                as_of,
            )
            .unwrap_err();
        assert!(
            matches!(error, AppError::Projection(ProjectionError::Gap(_))),
            "{error}"
        );
    }

    #[test]
    fn the_listing_order_is_the_live_scorecards() {
        let plan = |id: &str| PlanId::parse(id).unwrap();
        let state = |lead: &[&str], coordinators: &[&str], position: usize| {
            let event = stored(
                1,
                task(9),
                1,
                AT,
                "task_assigned",
                assignment(lead, coordinators, position),
            );
            replay_events([&event.envelope])
        };
        let tasks = vec![
            (task(1), plan("qti"), state(&["Sở Y tế"], &[], 0)),
            (
                task(2),
                plan("qng"),
                state(&["Sở Tài chính"], &["Sở Y tế"], 5),
            ),
            (task(3), plan("qng"), state(&["UBND cấp huyện"], &[], 1)),
            (task(4), plan("qng"), TaskState::default()),
            (
                task(5),
                plan("qng"),
                state(&["Sở Y tế"], &["UBND cấp huyện"], 9),
            ),
        ];
        let order = |names: Option<&[AgencyName]>| -> Vec<usize> {
            listing_order(&tasks, names)
                .into_iter()
                .map(|listed| {
                    tasks
                        .iter()
                        .position(|(_, _, state)| std::ptr::eq(state, listed))
                        .unwrap()
                        + 1
                })
                .collect()
        };
        assert_eq!(
            order(None),
            [3, 2, 5, 1],
            "by plan, then position; unassigned left out"
        );
        let names = [agency("sở y tế"), agency("UBND cấp huyện")];
        // Led by it (5, 1), coordinated by it (2), then the group's: led (3); 5 once.
        assert_eq!(order(Some(&names)), [5, 1, 2, 3]);
    }
}
