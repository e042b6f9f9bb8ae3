//! `dondoc worker` and `dondoc sweep`: the deadline worker as its own process, beside a
//! `dondoc up` or any number of API replicas, and one pass of it with a chosen clock.
//!
//! A worker process keeps its own projection (sled is single-process), built from the
//! stream: `<data-dir>/worker-projection` for `dondoc worker`, a temporary directory for
//! `dondoc sweep`. Both find the NATS server from `--nats`, or from the `nats.url` file a
//! `dondoc up` with an embedded server writes into its data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dondoc_app::{
    Clock, DeadlineRules, DeadlineWorker, FixedClock, ProjectionFeeder, ShiftedClock, SystemClock,
    Tracker,
};
use dondoc_domain::ReminderOffsets;
use dondoc_eventlog::{EventLog, EventLogOptions, ReminderChannelOptions};
use dondoc_projection::ProjectionStore;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How deadlines are computed and reminded; shared by `up`, `worker` and `sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeadlineArgs {
    /// The holiday calendar for the working-day rule (default: the shipped
    /// deploy/holidays/vn.json).
    #[arg(long, env = "DONDOC_HOLIDAYS")]
    holidays: Option<PathBuf>,
    /// When reminders go out before each deadline: days (d) or hours (h), comma
    /// separated; "none" sends none.
    #[arg(long, env = "DONDOC_REMINDERS", default_value = "7d,3d,1d")]
    reminders: String,
    /// How many days reminders stay in the DONDOC_REMINDERS stream (0: forever).
    #[arg(long, env = "DONDOC_REMINDER_RETENTION_DAYS", default_value_t = 90)]
    reminder_retention_days: u64,
}

impl DeadlineArgs {
    pub fn rules(&self) -> anyhow::Result<DeadlineRules> {
        let holidays = crate::deadlines::load_holidays(self.holidays.as_deref())?;
        let reminders = ReminderOffsets::parse(&self.reminders)
            .with_context(|| format!("--reminders {:?}", self.reminders))?;
        Ok(DeadlineRules::new(holidays).with_reminders(reminders))
    }

    pub fn reminder_channel_options(&self, replicas: usize) -> ReminderChannelOptions {
        ReminderChannelOptions {
            replicas,
            max_age: std::time::Duration::from_secs(self.reminder_retention_days * 24 * 60 * 60),
        }
    }
}

/// Parses an RFC 3339 instant ("2024-03-25T00:00:00+07:00").
pub fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
        format!("{text:?} is not an RFC 3339 instant like 2024-03-25T00:00:00+07:00: {err}")
    })
}

/// Where the worker process connects and keeps its projection.
#[derive(Debug, clap::Args)]
pub struct WorkerConnection {
    /// The NATS server (default: the one a `dondoc up` in --data-dir runs).
    #[arg(long, env = "DONDOC_NATS_URL")]
    nats: Option<String>,
    /// The data directory of the `dondoc up` to work beside, and of this worker's files.
    #[arg(long, env = "DONDOC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Replace the shipped agency directory with every *.json in this folder.
    #[arg(long, env = "DONDOC_AGENCIES")]
    agencies: Option<PathBuf>,
    /// Replicas of the streams when this process creates them.
    #[arg(long, env = "DONDOC_STREAM_REPLICAS", default_value_t = 1)]
    stream_replicas: usize,
    #[command(flatten)]
    deadlines: DeadlineArgs,
}

impl WorkerConnection {
    fn nats_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.nats {
            return Ok(url.clone());
        }
        let file = self.data_dir.join(crate::up::NATS_URL_FILE);
        let url = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "no --nats given and {} is missing: is `dondoc up --data-dir {}` running?",
                file.display(),
                self.data_dir.display()
            )
        })?;
        Ok(url.trim().to_owned())
    }
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    connection: WorkerConnection,
    /// Run the clock from this instant (RFC 3339) instead of the real time.
    #[arg(long, value_parser = parse_instant)]
    pretend_now: Option<OffsetDateTime>,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    connection: WorkerConnection,
    /// The instant the pass runs as of (RFC 3339). Its events are stamped with it.
    #[arg(long, value_parser = parse_instant)]
    as_of: OffsetDateTime,
    /// Allow an --as-of in the future: it would mark obligations overdue that are not yet.
    #[arg(long)]
    allow_future: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// A tracker over its own projection in `projection_dir`, with its feeder running.
struct WorkerProcess {
    worker: DeadlineWorker,
    changes: tokio::sync::broadcast::Receiver<dondoc_domain::TaskId>,
    stop_feeder: watch::Sender<bool>,
    feeder_task: tokio::task::JoinHandle<()>,
}

async fn start(
    connection: &WorkerConnection,
    projection_dir: &Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<WorkerProcess> {
    let nats_url = connection.nats_url()?;
    let log = EventLog::connect(
        &nats_url,
        &EventLogOptions {
            replicas: connection.stream_replicas,
        },
    )
    .await
    .with_context(|| format!("opening the event log at {nats_url}"))?;
    let store = ProjectionStore::open(projection_dir)
        .with_context(|| format!("opening the projection at {}", projection_dir.display()))?;
    let (feeder, progress) =
        ProjectionFeeder::new(log.clone(), store.clone()).context("starting the projection")?;
    let changes = feeder.subscribe_changes();
    let (stop_feeder, feeder_stopped) = watch::channel(false);
    let feeder_task = tokio::spawn(feeder.run(feeder_stopped));
    let directory = crate::directory::load(connection.agencies.as_deref())?;
    let tracker = Tracker::new(log.clone(), store, progress, clock, Arc::new(directory));
    let rules = Arc::new(connection.deadlines.rules()?);
    let reminders = log
        .reminder_channel(
            &connection
                .deadlines
                .reminder_channel_options(connection.stream_replicas),
        )
        .await
        .context("opening the reminder stream")?;
    Ok(WorkerProcess {
        worker: DeadlineWorker::new(tracker, rules, reminders),
        changes,
        stop_feeder,
        feeder_task,
    })
}

pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = match args.pretend_now {
        Some(start) => Arc::new(ShiftedClock::starting_at(start)),
        None => Arc::new(SystemClock),
    };
    let dir = args.connection.data_dir.join("worker-projection");
    std::fs::create_dir_all(&args.connection.data_dir)
        .with_context(|| format!("creating {}", args.connection.data_dir.display()))?;
    let process = start(&args.connection, &dir, clock).await?;
    let (stop_worker, worker_stopped) = watch::channel(false);
    tracing::info!(reminders = %process.worker.rules().reminders, "deadline worker running");
    println!("dondoc worker running");
    let worker_task = tokio::spawn(process.worker.run(process.changes, worker_stopped));
    crate::up::shutdown_signal().await;
    let _ = stop_worker.send(true);
    let _ = worker_task.await;
    let _ = process.stop_feeder.send(true);
    let _ = process.feeder_task.await;
    Ok(())
}

pub async fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    let real_now = OffsetDateTime::now_utc();
    anyhow::ensure!(
        args.allow_future || args.as_of <= real_now,
        "--as-of {} is in the future: it would mark obligations overdue that are not yet \
         (add --allow-future for a test environment)",
        args.as_of.format(&Rfc3339).unwrap_or_default()
    );
    let dir = tempfile::tempdir().context("creating a temporary projection directory")?;
    let clock = Arc::new(FixedClock::new(args.as_of));
    let process = start(&args.connection, dir.path(), clock).await?;
    let report = process
        .worker
        .sweep()
        .await
        .context("sweeping the deadlines")?;
    let _ = process.stop_feeder.send(true);
    let _ = process.feeder_task.await;
    let as_of = dondoc_app::format_instant(args.as_of);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "as_of": as_of,
                "tasks_examined": report.tasks_examined,
                "overdue": report.overdue,
                "marked": report.marked,
                "reminded": report.reminded,
            })
        );
    } else {
        println!(
            "swept {} tasks as of {as_of}: {} obligations overdue, {} newly marked, {} reminders sent",
            report.tasks_examined, report.overdue, report.marked, report.reminded
        );
    }
    Ok(())
}
