//! `dondoc up`: the whole stack in one process.
//!
//! Start order: embedded nats-server (unless --nats) → event log → projection store →
//! projection feeder → deadline worker (unless --no-worker) → sample plans (first start
//! only) → gRPC. Shutdown (Ctrl-C or SIGTERM) runs it backwards: gRPC drains, the worker
//! and the feeder stop and sled is flushed, and the embedded nats-server gets SIGTERM
//! and is waited for, so nothing is left running.
//!
//! The embedded server's client URL is written to `<data-dir>/nats.url` while it runs,
//! so that `dondoc sweep` and `dondoc worker` beside it find it without flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dondoc_app::{
    Auditor, Clock, DeadlineRules, DeadlineWorker, ImportPlan, ProjectionFeeder, ShiftedClock,
    SystemClock, Tracker,
};

use crate::samples::SAMPLE_PLANS;
use dondoc_domain::{PlanId, ReportingPolicy, RequestId};
use dondoc_eventlog::{EventLog, EventLogOptions};
use dondoc_nats_embed::{locate_nats_server, NatsServer, NatsServerOptions};
use dondoc_projection::ProjectionStore;
use tokio::net::TcpListener;
use tokio::sync::watch;

const SAMPLE_MARKER: &str = "samples-imported";

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Where the embedded JetStream store, the sled projection and run files live.
    #[arg(long, env = "DONDOC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// gRPC listen address (port 0 picks a free port; the address is printed).
    #[arg(long, env = "DONDOC_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Use the NATS server at this URL instead of starting one.
    #[arg(long, env = "DONDOC_NATS_URL")]
    nats: Option<String>,
    /// The nats-server binary for the embedded server (default: found by
    /// DONDOC_NATS_SERVER, .tools/nats-server/bin/nats-server, or PATH).
    #[arg(long)]
    nats_server_bin: Option<PathBuf>,
    /// Let the embedded JetStream acknowledge writes before fsync (faster; an
    /// acknowledged event can be lost on power failure).
    #[arg(long, env = "DONDOC_NO_FSYNC")]
    no_fsync: bool,
    /// Replicas of the event stream when it is created (3 on a 3-node cluster).
    #[arg(long, env = "DONDOC_STREAM_REPLICAS", default_value_t = 1)]
    stream_replicas: usize,
    /// Replace the shipped agency directory with every *.json in this folder
    /// (format: deploy/agencies/README.md).
    #[arg(long, env = "DONDOC_AGENCIES")]
    agencies: Option<PathBuf>,
    /// Do not import the sample plans on first start.
    #[arg(long)]
    no_sample: bool,
    /// Wipe the sled projection and rebuild it from the stream before serving.
    #[arg(long)]
    rebuild_projection: bool,
    #[command(flatten)]
    deadlines: crate::worker::DeadlineArgs,
    /// Do not run the deadline worker in this process (run `dondoc worker` elsewhere, or
    /// none: then no overdue mark or reminder is recorded).
    #[arg(long, env = "DONDOC_NO_WORKER")]
    no_worker: bool,
    /// Run the clock from this instant (RFC 3339) instead of the real time: for drills and
    /// tests that need deadlines to pass on cue. Events are stamped with this clock.
    #[arg(long, value_parser = crate::worker::parse_instant)]
    pretend_now: Option<time::OffsetDateTime>,
}

/// The file where a running `dondoc up` publishes its embedded nats-server's URL.
pub const NATS_URL_FILE: &str = "nats.url";

pub fn run(args: UpArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let embedded = match &args.nats {
        Some(_) => None,
        None => Some(start_embedded_nats(&args)?),
    };
    let nats_url = match (&args.nats, &embedded) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.client_url().to_owned(),
        (None, None) => unreachable!("an embedded server is started when no URL is given"),
    };
    let url_file = args.data_dir.join(NATS_URL_FILE);
    if embedded.is_some() {
        std::fs::write(&url_file, format!("{nats_url}\n"))
            .with_context(|| format!("writing {}", url_file.display()))?;
    }
    let served = runtime.block_on(serve(&args, &nats_url));
    if let Some(server) = embedded {
        let _ = std::fs::remove_file(&url_file);
        tracing::info!(pid = server.pid(), "stopping the embedded nats-server");
        server.stop().context("stopping the embedded nats-server")?;
    }
    served
}

fn start_embedded_nats(args: &UpArgs) -> anyhow::Result<NatsServer> {
    let binary = match &args.nats_server_bin {
        Some(binary) => binary.clone(),
        None => locate_nats_server()?,
    };
    let mut options = NatsServerOptions::in_data_dir(binary, &args.data_dir.join("nats"));
    options.sync_always = !args.no_fsync;
    if args.no_fsync {
        tracing::warn!(
            "JetStream fsync per write is off: acknowledged events can be lost on power failure"
        );
    }
    let server = NatsServer::start(&options).context("starting the embedded nats-server")?;
    tracing::info!(url = server.client_url(), pid = server.pid(), store = %options.store_dir.display(), "embedded nats-server running");
    Ok(server)
}

async fn serve(args: &UpArgs, nats_url: &str) -> anyhow::Result<()> {
    let log = EventLog::connect(
        nats_url,
        &EventLogOptions {
            replicas: args.stream_replicas,
        },
    )
    .await
    .with_context(|| format!("opening the event log at {nats_url}"))?;
    let projection_dir = args.data_dir.join("projection");
    let store = ProjectionStore::open(&projection_dir)
        .with_context(|| format!("opening the projection at {}", projection_dir.display()))?;
    if args.rebuild_projection {
        tracing::info!("wiping the projection; it is rebuilt from the stream");
        store.wipe().context("wiping the projection")?;
    }
    let (feeder, progress) =
        ProjectionFeeder::new(log.clone(), store.clone()).context("starting the projection")?;
    let changes = feeder.subscribe_changes();
    let (stop_feeder, feeder_stopped) = watch::channel(false);
    let feeder_task = tokio::spawn(feeder.run(feeder_stopped));
    let directory = crate::directory::load(args.agencies.as_deref())?;
    let clock: Arc<dyn Clock> = match args.pretend_now {
        Some(start) => {
            tracing::warn!(%start, "the clock runs from a pretended instant, not the real time");
            Arc::new(ShiftedClock::starting_at(start))
        }
        None => Arc::new(SystemClock),
    };
    let rules: Arc<DeadlineRules> = Arc::new(args.deadlines.rules()?);
    let tracker = Tracker::new(log.clone(), store, progress, clock, Arc::new(directory));

    let (stop_worker, worker_stopped) = watch::channel(false);
    let worker_task = if args.no_worker {
        None
    } else {
        let reminders = log
            .reminder_channel(
                &args
                    .deadlines
                    .reminder_channel_options(args.stream_replicas),
            )
            .await
            .context("opening the reminder stream")?;
        let worker = DeadlineWorker::new(tracker.clone(), rules.clone(), reminders);
        tracing::info!(reminders = %rules.reminders, "deadline worker running");
        Some(tokio::spawn(worker.run(changes, worker_stopped)))
    };

    if !args.no_sample {
        import_samples_once(&tracker, &args.data_dir).await?;
    }

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the gRPC address {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "dondoc gRPC API listening (reflection and health on)");
    // A line on stdout that scripts and tests can wait for.
    println!("dondoc listening on {address}");

    let auditor = Auditor::new(log.clone(), tracker.clone(), rules.clone());
    dondoc_api::serve(listener, tracker, auditor, rules, shutdown_signal())
        .await
        .context("serving gRPC")?;
    tracing::info!("gRPC stopped; stopping the deadline worker and the projection feeder");
    let _ = stop_worker.send(true);
    if let Some(worker_task) = worker_task {
        let _ = worker_task.await;
    }
    let _ = stop_feeder.send(true);
    let _ = feeder_task.await;
    Ok(())
}

/// Imports each sample plan that no earlier start imported. Imports are idempotent, so
/// a lost marker file only costs a pass that records nothing.
async fn import_samples_once(tracker: &Tracker, data_dir: &Path) -> anyhow::Result<()> {
    let marker = data_dir.join(SAMPLE_MARKER);
    let mut imported: Vec<String> = std::fs::read_to_string(&marker)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    for sample in &SAMPLE_PLANS {
        if imported.iter().any(|done| done == sample.plan_id) {
            continue;
        }
        let import = ImportPlan {
            plan_id: PlanId::parse(sample.plan_id)?,
            plan_year: sample.plan_year,
            source_name: sample.source_name.to_owned(),
            content: sample.text.to_owned(),
            actor: "dondoc-up".to_owned(),
            request_id: RequestId::parse(&format!("sample-import-{}", sample.plan_id))?,
            province: Some(sample.province.to_owned()),
            policy: Some(
                ReportingPolicy::preset(sample.policy)
                    .with_context(|| format!("unknown policy preset {}", sample.policy))?,
            ),
        };
        let summary = tracker
            .import_plan(&import)
            .await
            .with_context(|| format!("importing the sample plan {}", sample.plan_id))?;
        tracing::info!(
            plan = sample.plan_id,
            tasks = summary.task_ids.len(),
            created = summary.created,
            warnings = summary.warnings.len(),
            "sample plan imported"
        );
        imported.push(sample.plan_id.to_owned());
        std::fs::write(&marker, imported.join("\n") + "\n")
            .with_context(|| format!("writing {}", marker.display()))?;
    }
    Ok(())
}

pub async fn shutdown_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}
