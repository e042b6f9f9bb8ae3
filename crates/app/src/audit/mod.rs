//! The auditors' use cases (`Auditor`), all read from the log of record (JetStream), never from the
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
//! - **The scorecard as of an instant** rebuilds every task so, then counts exactly as
//!   the live scorecard does now (`scorecard.rs`): every task's obligations as of the
//!   instant under its assignment *as it stood then*, kept when the agency owes them,
//!   tallied. Unlike the live "as of", nothing recorded after
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
//!
//! Files: `agency_events.rs` (which events are an agency's), `as_of.rs` (past states
//! and scorecards), `verify.rs` (the hash chains), `compare.rs` (a rebuilt projection
//! beside the live one).

mod agency_events;
mod as_of;
mod compare;
mod verify;

pub use agency_events::AgencyEvents;
pub use as_of::TaskAsOf;
pub use compare::{rebuild_and_compare, Comparison};
pub use verify::LogVerification;

use std::sync::Arc;

use bytes::Bytes;
use dondoc_domain::{rfc3339, EventEnvelope, InvalidInput, PlanId, TaskId};
use dondoc_eventlog::{EventLog, RawRecordedEvent, ReplayEnd, ReplayFilter, ReplayStart};
use futures::{StreamExt, TryStreamExt};
use time::OffsetDateTime;

use crate::agencies::{Agencies, AgencyTarget};
use crate::clock::Clock;
use crate::error::AppError;
use crate::rules::ObligationRules;

/// Whose events a replay or a watch reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AuditScope {
    #[default]
    All,
    Plan(PlanId),
    Task(TaskId),
    /// Module docs: tasks the agency was assigned to at the time, and events naming it.
    /// Replays only: a watch cannot know a live event's agencies without the history.
    Agency(AgencyTarget),
}

impl AuditScope {
    /// The log's filter for a scope that names a plan or a task (else every event).
    fn filter(&self) -> ReplayFilter {
        match self {
            Self::Plan(plan_id) => ReplayFilter::Plan(plan_id.clone()),
            Self::Task(task_id) => ReplayFilter::Task(*task_id),
            Self::All | Self::Agency(_) => ReplayFilter::All,
        }
    }
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
                    format!("{} is before from_time {}", rfc3339(to), rfc3339(from)),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether an event lies within the range (the log's own bounds aside).
    fn admits(&self, event: &StoredEvent) -> bool {
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

/// An event as the log stores it: auditors verify hashes over `payload`, never over a
/// re-encoding of `envelope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub sequence: u64,
    /// When the server stored it (JetStream's time, not the envelope's `occurred_at`).
    pub stored_at: OffsetDateTime,
    pub envelope: EventEnvelope,
    /// The message payload exactly as stored.
    pub payload: Bytes,
}

impl StoredEvent {
    /// The payload as text (events are UTF-8 JSON; anything else could not have been
    /// decoded).
    pub fn payload_text(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap_or_default()
    }
}

impl From<RawRecordedEvent> for StoredEvent {
    fn from(raw: RawRecordedEvent) -> Self {
        Self {
            sequence: raw.sequence,
            stored_at: raw.stored_at,
            envelope: raw.envelope,
            payload: raw.payload,
        }
    }
}

/// A record of the log as stored (an event, an import's commit record, a key record, a
/// checkpoint, or something foreign): what an export holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub sequence: u64,
    pub subject: String,
    /// The payload exactly as stored.
    pub payload: Bytes,
}

/// A stream of stored events; it ends (replays) or fails (both) with an `AppError`.
pub type StoredEvents = futures::stream::BoxStream<'static, Result<StoredEvent, AppError>>;

/// Reads the log for auditors. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auditor {
    log: EventLog,
    /// The directory and deadline rules, to compute obligations as the live queries do.
    rules: ObligationRules,
    clock: Arc<dyn Clock>,
}

impl Auditor {
    pub(crate) fn new(log: EventLog, rules: ObligationRules, clock: Arc<dyn Clock>) -> Self {
        Self { log, rules, clock }
    }

    /// The agency directory, for resolving whom a request names.
    pub fn agencies(&self) -> &Agencies {
        &self.rules.agencies
    }

    /// Walks every record of the log (or what concerns one plan): keys, signatures,
    /// chains, the last checkpoint (`verify.rs`).
    pub async fn verify(&self, plan: Option<PlanId>) -> Result<LogVerification, AppError> {
        verify::verify_log(&self.log, plan).await
    }

    /// Every record of the log (or what concerns one plan: its task events and every
    /// record that is not a task event), exactly as stored, in stream order, up to the
    /// stream's last sequence as of the call: what an export holds.
    pub async fn records(
        &self,
        plan: Option<PlanId>,
    ) -> Result<futures::stream::BoxStream<'static, Result<StoredRecord, AppError>>, AppError> {
        let records = self.log.records().await?;
        Ok(records
            .filter_map(move |record| {
                let keep = match (&record, &plan) {
                    (Ok(record), Some(plan)) => verify::concerns(record, plan),
                    _ => true,
                };
                futures::future::ready(keep.then(|| {
                    record
                        .map(|raw| StoredRecord {
                            sequence: raw.sequence,
                            subject: raw.subject,
                            payload: raw.payload,
                        })
                        .map_err(AppError::from)
                }))
            })
            .boxed())
    }

    /// The events of `scope` within `range`, in stream order, each with its stored bytes
    /// (module docs). Ends at the stream's last sequence as of this call. `TaskNotFound`
    /// for a task the log has no event of (a range may still select none of a known
    /// task's events).
    pub async fn replay(
        &self,
        scope: &AuditScope,
        range: AuditRange,
    ) -> Result<StoredEvents, AppError> {
        range.validate()?;
        if let AuditScope::Task(task_id) = scope {
            // An unknown task is an error, not an empty history.
            if self.log.first_sequence(&scope.filter()).await?.is_none() {
                return Err(AppError::TaskNotFound(*task_id));
            }
        }
        let mut agency = match scope {
            AuditScope::Agency(target) => Some(AgencyEvents::new(
                self.rules.agencies.clone(),
                target.clone(),
            )),
            _ => None,
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
        let events = self.log.replay(&scope.filter(), start, end).await?;
        Ok(events
            .map_ok(StoredEvent::from)
            .map_err(AppError::from)
            .try_filter(move |event| {
                let mine = agency
                    .as_mut()
                    .is_none_or(|agency| agency.observe(&event.envelope));
                futures::future::ready(mine && range.admits(event))
            })
            .boxed())
    }

    /// The events of `scope` (the whole log, a plan or a task) after stream sequence
    /// `after_sequence`, then each new one as it is stored. Does not end, except with an
    /// error: resume from the last sequence handled.
    pub async fn watch(
        &self,
        after_sequence: u64,
        scope: &AuditScope,
    ) -> Result<StoredEvents, AppError> {
        if let AuditScope::Agency(_) = scope {
            return Err(InvalidInput::new(
                "agency",
                "a watch follows the whole log, a plan or a task; replay an agency's events",
            )
            .into());
        }
        let events = self
            .log
            .watch(after_sequence.saturating_add(1), &scope.filter())
            .await?;
        Ok(events
            .map_ok(StoredEvent::from)
            .map_err(AppError::from)
            .boxed())
    }
}

#[cfg(test)]
mod tests;
