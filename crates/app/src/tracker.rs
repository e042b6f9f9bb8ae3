//! `Tracker`: the composition root of the use cases. It holds what they share (the event
//! log, the projection and the feeder's progress, the clock, the agency directory, the
//! deadline rules, the write side's history cache) and hands out one handle per use
//! case: `commands()`, `imports()`, `queries()`, `auditor()`, `deadline_worker(…)`.
//!
//! It has no use case of its own: each lives in its module, behind its handle, so a
//! reader looking for "how is a report submitted" opens `commands/`, not this file.

use std::sync::Arc;

use dondoc_agencies::AgencyDirectory;
use dondoc_eventlog::{EventLog, ReminderChannel};
use dondoc_projection::ProjectionStore;

use crate::agencies::Agencies;
use crate::audit::Auditor;
use crate::clock::Clock;
use crate::commands::Commands;
use crate::feeder::ProjectionProgress;
use crate::import::Imports;
use crate::queries::Queries;
use crate::rules::{DeadlineRules, ObligationRules};
use crate::signing::Signing;
use crate::statistics::ObligationStatistics;
use crate::worker::DeadlineWorker;
use crate::write::Writer;
use dondoc_projection::Derivation;

/// What a tracker is made of.
#[derive(Debug)]
pub struct TrackerParts {
    pub log: EventLog,
    pub projection: ProjectionStore,
    /// The progress of the feeder that keeps `projection` up to date.
    pub progress: ProjectionProgress,
    pub clock: Arc<dyn Clock>,
    pub directory: AgencyDirectory,
    pub rules: DeadlineRules,
    /// The deployment key, on record (`Signing::establish`).
    pub signing: Arc<Signing>,
}

/// What the use cases share (module docs).
#[derive(Debug)]
pub(crate) struct Shared {
    pub writer: Writer,
    pub projection: ProjectionStore,
    pub progress: ProjectionProgress,
    pub clock: Arc<dyn Clock>,
    pub obligations: ObligationRules,
    /// Whether the projection derives the obligation statistics under these rules
    /// and directory (`statistics.rs`), so that queries may read them.
    pub statistics_current: bool,
}

impl Shared {
    pub fn agencies(&self) -> &Agencies {
        &self.obligations.agencies
    }

    pub fn log(&self) -> &EventLog {
        self.writer.log()
    }
}

/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tracker {
    shared: Arc<Shared>,
}

impl Tracker {
    pub fn new(parts: TrackerParts) -> Self {
        let clock = parts.clock;
        let agencies = Agencies::new(parts.directory);
        let obligations = ObligationRules {
            rules: Arc::new(parts.rules),
            agencies: agencies.clone(),
        };
        let statistics = ObligationStatistics::from_rules(obligations.clone());
        let statistics_current =
            parts.projection.derivation_fingerprint() == Some(statistics.fingerprint());
        Self {
            shared: Arc::new(Shared {
                writer: Writer::new(parts.log, clock.clone(), parts.signing, agencies.clone()),
                projection: parts.projection,
                progress: parts.progress,
                clock,
                obligations,
                statistics_current,
            }),
        }
    }

    /// What agency systems ask of tasks: reports, coordination, extensions, requests.
    pub fn commands(&self) -> Commands {
        Commands::new(self.shared.clone())
    }

    /// Plan imports.
    pub fn imports(&self) -> Imports {
        Imports::new(self.shared.clone())
    }

    /// Reads of the projection: tasks, obligations, deadlines, scorecards.
    pub fn queries(&self) -> Queries {
        Queries::new(self.shared.clone())
    }

    /// The auditors' reads of the log of record. It gets the log, the directory, the
    /// clock and the rules, never the projection.
    pub fn auditor(&self) -> Auditor {
        Auditor::new(
            self.shared.log().clone(),
            self.shared.obligations.clone(),
            self.shared.clock.clone(),
        )
    }

    /// The deadline worker, publishing reminders on `reminders`.
    pub fn deadline_worker(&self, reminders: ReminderChannel) -> DeadlineWorker {
        DeadlineWorker::new(self.shared.clone(), reminders)
    }

    pub fn agencies(&self) -> &Agencies {
        self.shared.agencies()
    }

    pub fn clock(&self) -> &dyn Clock {
        self.shared.clock.as_ref()
    }

    pub fn rules(&self) -> &DeadlineRules {
        &self.shared.obligations.rules
    }
}
