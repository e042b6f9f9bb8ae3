//! An in-process replica of the stack for the use-case tests: an event log on a real
//! nats-server, a sled projection of its own with its feeder running, a tracker with a
//! controlled clock, and its deadline worker. Stopped (the feeder flushes) by `stop`.

use std::path::Path;
use std::sync::Arc;

use dondoc_app::{
    DeadlineRules, DeadlineWorker, FixedClock, ProjectionFeeder, Tracker, TrackerParts,
};
use dondoc_domain::{HolidayCalendar, ReminderOffsets, TaskId};
use dondoc_eventlog::{EventLog, EventLogOptions, ReminderChannelOptions};
use dondoc_projection::ProjectionStore;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub fn holidays() -> HolidayCalendar {
    HolidayCalendar::from_json(include_str!("../../../../deploy/holidays/vn.json")).unwrap()
}

/// The default rules with the given reminder offsets ("none": the overdue marks are
/// then the only events a sweep records).
pub fn rules(reminders: &str) -> DeadlineRules {
    DeadlineRules::new(holidays()).with_reminders(ReminderOffsets::parse(reminders).unwrap())
}

/// One replica: what one dondoc process would hold.
pub struct Replica {
    pub log: EventLog,
    pub projection: ProjectionStore,
    pub tracker: Tracker,
    pub worker: DeadlineWorker,
    /// The feeder's changes, subscribed before it started (for `worker.run`).
    pub changes: Option<broadcast::Receiver<TaskId>>,
    stop_feeder: watch::Sender<bool>,
    feeder: JoinHandle<()>,
}

impl Replica {
    pub async fn start(
        nats_url: &str,
        projection_dir: &Path,
        clock: Arc<FixedClock>,
        rules: DeadlineRules,
    ) -> Self {
        Self::start_with(nats_url, projection_dir, clock, rules, true).await
    }

    /// A replica whose projection keeps no derived statistics: its queries derive
    /// everything from the views (what the statistics must agree with).
    pub async fn start_underived(
        nats_url: &str,
        projection_dir: &Path,
        clock: Arc<FixedClock>,
        rules: DeadlineRules,
    ) -> Self {
        Self::start_with(nats_url, projection_dir, clock, rules, false).await
    }

    async fn start_with(
        nats_url: &str,
        projection_dir: &Path,
        clock: Arc<FixedClock>,
        rules: DeadlineRules,
        derive: bool,
    ) -> Self {
        let log = EventLog::connect(nats_url, &EventLogOptions::default())
            .await
            .unwrap();
        let directory = dondoc_agencies::shipped().unwrap();
        let statistics: Option<Arc<dyn dondoc_projection::Derivation>> = if derive {
            Some(dondoc_app::ObligationStatistics::new(&directory, &rules))
        } else {
            None
        };
        let projection = ProjectionStore::open_with(projection_dir, statistics).unwrap();
        // Every replica of a deployment signs with the deployment's key.
        let key = dondoc_domain::DeploymentKey::from_secret_bytes(&[9; 32]);
        let signing =
            dondoc_app::Signing::establish(&log, key, "test", dondoc_app::Clock::now(&*clock))
                .await
                .unwrap();
        let (feeder, progress) = ProjectionFeeder::new(log.clone(), projection.clone()).unwrap();
        let changes = feeder.subscribe_changes();
        let (stop_feeder, stopped) = watch::channel(false);
        let feeder = tokio::spawn(feeder.run(stopped));
        let tracker = Tracker::new(TrackerParts {
            log: log.clone(),
            projection: projection.clone(),
            progress,
            clock,
            directory,
            rules,
            signing,
        });
        let reminders = log
            .reminder_channel(&ReminderChannelOptions::default())
            .await
            .unwrap();
        Self {
            worker: tracker.deadline_worker(reminders),
            log,
            projection,
            tracker,
            changes: Some(changes),
            stop_feeder,
            feeder,
        }
    }

    /// Two replicas on one clock and the same rules, each with a projection of its own
    /// under `dir`: two processes deciding side by side.
    pub async fn pair(
        nats_url: &str,
        dir: &Path,
        clock: &Arc<FixedClock>,
        reminders: &str,
    ) -> (Self, Self) {
        (
            Self::start(
                nats_url,
                &dir.join("first"),
                clock.clone(),
                rules(reminders),
            )
            .await,
            Self::start(
                nats_url,
                &dir.join("second"),
                clock.clone(),
                rules(reminders),
            )
            .await,
        )
    }

    /// Stops the feeder and waits for it (it flushes the projection).
    pub async fn stop(self) -> ProjectionStore {
        let _ = self.stop_feeder.send(true);
        self.feeder.await.unwrap();
        self.projection
    }
}
