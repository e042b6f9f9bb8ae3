//! `dondoc worker` and `dondoc sweep`: the deadline worker as its own process, beside a
//! `dondoc up` or any number of API replicas, and one pass of it with a chosen clock.
//!
//! A worker process keeps its own projection (sled is single-process), built from the
//! stream: `<data-dir>/worker-projection` for `dondoc worker`, a temporary directory for
//! `dondoc sweep`. Both find the NATS server from `--nats`, or from the `nats.url` file a
//! `dondoc up` with an embedded server writes into its data directory.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use dondoc_app::{Clock, FixedClock};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::{
    parse_instant, ClockArg, DataDirArg, DeadlineArgs, DirectoryArg, NatsArgs, SettledArg,
};
use crate::stack::{shutdown_signal, Nats, Stack, StackConfig};

/// Where a worker process connects and what it works by.
#[derive(Debug, clap::Args)]
pub struct WorkerConnection {
    /// Without --nats: the server of the `dondoc up` running in --data-dir.
    #[command(flatten)]
    nats: NatsArgs,
    /// The data directory of the `dondoc up` to work beside, and of this worker's files.
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    directory: DirectoryArg,
    #[command(flatten)]
    deadlines: DeadlineArgs,
    /// The key of the log's deployment (that of the `dondoc up` in --data-dir).
    #[command(flatten)]
    signing: crate::keys::SigningKeyArg,
}

impl WorkerConnection {
    async fn open(&self, projection_dir: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Stack> {
        let nats = Nats::url_or_published(
            self.nats.nats.as_deref(),
            self.nats.nats_creds.as_deref(),
            &self.data.data_dir,
        )?;
        Stack::open(StackConfig {
            nats: &nats,
            stream_replicas: self.nats.stream_replicas,
            projection_dir,
            rebuild_projection: false,
            clock,
            directory: self.directory.load()?,
            rules: self.deadlines.rules()?,
            signing_key: self.signing.load(&self.data.data_dir)?,
            checkpoint_every: None,
            actor: "dondoc worker",
        })
        .await
    }
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    connection: WorkerConnection,
    #[command(flatten)]
    settled: SettledArg,
    #[command(flatten)]
    clock: ClockArg,
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

pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let data_dir = &args.connection.data.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut stack = args
        .connection
        .open(&data_dir.join("worker-projection"), args.clock.clock())
        .await?;
    let worker = stack
        .start_worker(&args.connection.deadlines, &args.settled)
        .await?;
    println!("dondoc worker running");
    shutdown_signal().await;
    worker.stop().await;
    stack.shutdown().await;
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
    let stack = args.connection.open(dir.path(), clock).await?;
    let report = stack
        .deadline_worker(&args.connection.deadlines)
        .await?
        .sweep()
        .await
        .context("sweeping the deadlines")?;
    stack.shutdown().await;
    let as_of = dondoc_domain::rfc3339(args.as_of);
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
