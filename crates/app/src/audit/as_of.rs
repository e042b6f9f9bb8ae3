//! Past states rebuilt from the log: a task as it stood at an instant, and the scorecard
//! the tracker would have shown then (rules in `audit/mod.rs`).
//!
//! Invariant: a task's events are applied in version order without gaps or repeats; a
//! log that breaks this cannot be audited (INTERNAL), never silently rebuilt. An
//! event of a plan import counts from its import's commit record on, as it does for
//! the live read model: at an instant before that record (or with none), the event
//! and the task's later ones are not part of the state.

use std::collections::HashMap;

use uuid::Uuid;

use dondoc_domain::{apply, in_vietnam, PlanId, Succession, TaskId, TaskState, VersionGap};
use dondoc_eventlog::{ReplayFilter, ReplayStart};
use futures::TryStreamExt;
use time::OffsetDateTime;

use super::{Auditor, StoredEvent};
use crate::access::ReadScope;
use crate::error::AppError;
use crate::scorecard::{scorecard_of, Scorecard, ScorecardQuery};

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
#[derive(Clone, Debug, Default)]
pub(super) struct Rebuilt {
    /// `None` until its first event.
    pub plan_id: Option<PlanId>,
    pub state: TaskState,
    /// An event stamped after the instant came: the task's later events are not applied
    /// (module docs).
    pub closed: bool,
}

/// When each import took effect (its commit record's `occurred_at`), looked up in the
/// log once per import.
#[derive(Debug, Default)]
pub(super) struct ImportCommits(HashMap<Uuid, Option<OffsetDateTime>>);

impl ImportCommits {
    /// Whether `event` had taken effect at `as_of`: not an import's, or its import was
    /// committed by then.
    pub async fn in_effect(
        &mut self,
        log: &dondoc_eventlog::EventLog,
        event: &StoredEvent,
        as_of: OffsetDateTime,
    ) -> Result<bool, AppError> {
        let Some(import_id) = event.envelope.import_id else {
            return Ok(true);
        };
        let committed_at = match self.0.get(&import_id) {
            Some(known) => *known,
            None => {
                let committed_at = log
                    .read_import_commit(&import_id)
                    .await?
                    .map(|(_, record)| record.occurred_at);
                self.0.insert(import_id, committed_at);
                committed_at
            }
        };
        Ok(committed_at.is_some_and(|at| at <= as_of))
    }
}

impl Rebuilt {
    /// Applies `event` unless it (or an earlier one of the task) is after `as_of`, or
    /// had not taken effect by then (`in_effect`).
    pub fn apply(
        &mut self,
        event: &StoredEvent,
        as_of: OffsetDateTime,
        in_effect: bool,
    ) -> Result<(), AppError> {
        self.plan_id
            .get_or_insert_with(|| event.envelope.plan_id.clone());
        if self.closed || event.envelope.occurred_at > as_of || !in_effect {
            self.closed = true;
            return Ok(());
        }
        next_in_order(&self.state, event)?;
        self.state = apply(std::mem::take(&mut self.state), &event.envelope);
        Ok(())
    }
}

/// Whether `event` is exactly the next of the task whose state is `state`.
fn next_in_order(state: &TaskState, event: &StoredEvent) -> Result<(), AppError> {
    match state.succession(&event.envelope) {
        Ok(Succession::Next) => Ok(()),
        Ok(Succession::AlreadyApplied) => Err(AppError::VersionGap {
            sequence: event.sequence,
            gap: VersionGap {
                task_id: event.envelope.task_id,
                event_version: event.envelope.version,
                expected_version: state.version + 1,
            },
        }),
        Err(gap) => Err(AppError::VersionGap {
            sequence: event.sequence,
            gap,
        }),
    }
}

impl Auditor {
    /// `task_id` as it stood at `as_of` (`None`: now), from its events in the log
    /// (module docs). `TaskNotFound` when the log has no event of it at all.
    pub async fn task_state_as_of(
        &self,
        task_id: TaskId,
        as_of: Option<OffsetDateTime>,
    ) -> Result<TaskAsOf, AppError> {
        let as_of = in_vietnam(as_of.unwrap_or_else(|| self.clock.now()));
        let mut events = self
            .log
            .replay(&ReplayFilter::Task(task_id), ReplayStart::default(), None)
            .await?
            .map_ok(StoredEvent::from);
        let mut state = TaskState::default();
        let mut applied: Vec<StoredEvent> = Vec::new();
        let mut first: Option<(PlanId, OffsetDateTime)> = None;
        let mut imports = ImportCommits::default();
        while let Some(event) = events.try_next().await? {
            first.get_or_insert_with(|| {
                (event.envelope.plan_id.clone(), event.envelope.occurred_at)
            });
            if event.envelope.occurred_at > as_of
                || !imports.in_effect(&self.log, &event, as_of).await?
            {
                // Later events are not part of the task as of then; stop reading.
                break;
            }
            next_in_order(&state, &event)?;
            state = apply(state, &event.envelope);
            applied.push(event);
        }
        let (plan_id, first_occurred_at) = first.ok_or(AppError::TaskNotFound(task_id))?;
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
    pub async fn scorecard_as_of(
        &self,
        scope: &ReadScope,
        query: &ScorecardQuery,
    ) -> Result<Scorecard, AppError> {
        let as_of = in_vietnam(query.as_of.unwrap_or_else(|| self.clock.now()));
        let filter = match &query.plan_id {
            Some(plan_id) => ReplayFilter::Plan(plan_id.clone()),
            None => ReplayFilter::All,
        };
        let mut events = self
            .log
            .replay(&filter, ReplayStart::default(), None)
            .await?
            .map_ok(StoredEvent::from);
        let mut tasks: HashMap<TaskId, Rebuilt> = HashMap::new();
        let mut imports = ImportCommits::default();
        while let Some(event) = events.try_next().await? {
            let in_effect = imports.in_effect(&self.log, &event, as_of).await?;
            tasks
                .entry(event.envelope.task_id)
                .or_default()
                .apply(&event, as_of, in_effect)?;
        }

        // The tally does not depend on the order of the tasks (`scorecard::tally`), and an
        // agency's obligations are only ever on tasks that name it or its groups, so
        // counting every task's obligations owed by it is what the live query's indexes
        // select.
        Ok(scorecard_of(
            &self.rules,
            tasks.values().filter_map(|rebuilt| {
                rebuilt
                    .plan_id
                    .as_ref()
                    .filter(|plan_id| scope.admits(plan_id))
                    .map(|plan_id| (plan_id, &rebuilt.state))
            }),
            query.agency.as_ref(),
            &query.periods,
            as_of,
        ))
    }
}
