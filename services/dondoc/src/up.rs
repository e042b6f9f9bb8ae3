//! `dondoc up`: the whole stack in one process.
//!
//! Start order: embedded nats-server (unless --nats) → the stack (event log, projection
//! and feeder, tracker; `stack.rs`) → deadline worker (unless --no-worker) → sample
//! plans (first start only) → gRPC. Shutdown (Ctrl-C or SIGTERM) runs it backwards.
//!
//! The embedded server's client URL is written to `<data-dir>/nats.url` while it runs,
//! so that `dondoc sweep` and `dondoc worker` beside it find it without flags.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use dondoc_app::{ImportPlan, Imports};
use dondoc_domain::{PlanId, ReportingPolicy, RequestId};
use tokio::net::TcpListener;

use crate::config::{
    ClockArg, DataDirArg, DeadlineArgs, DirectoryArg, EmbeddedNatsArgs, NatsArgs, SettledArg,
};
use crate::samples::SAMPLE_PLANS;
use crate::stack::{shutdown_signal, Nats, Stack, StackConfig};

const SAMPLE_MARKER: &str = "samples-imported";

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    data: DataDirArg,
    /// gRPC listen address (port 0 picks a free port; the address is printed).
    #[arg(long, env = "DONDOC_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Without --nats, an embedded nats-server runs with its store in the data directory.
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    embedded: EmbeddedNatsArgs,
    #[command(flatten)]
    directory: DirectoryArg,
    /// Do not import the sample plans on first start.
    #[arg(long)]
    no_sample: bool,
    /// Wipe the sled projection and rebuild it from the stream before serving.
    #[arg(long)]
    rebuild_projection: bool,
    #[command(flatten)]
    deadlines: DeadlineArgs,
    /// Do not run the deadline worker in this process (run `dondoc worker` elsewhere, or
    /// none: then no overdue mark or reminder is recorded).
    #[arg(long, env = "DONDOC_NO_WORKER")]
    no_worker: bool,
    #[command(flatten)]
    settled: SettledArg,
    #[command(flatten)]
    clock: ClockArg,
}

pub fn run(args: UpArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let data_dir = &args.data.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    // Started from this (the main) thread: the child's parent-death signal is tied to
    // the thread that forked it.
    let nats = Nats::url_or_embedded(args.nats.nats.as_deref(), data_dir, &args.embedded, true)?;
    let served = runtime.block_on(serve(&args, nats.url()));
    nats.stop()?;
    served
}

async fn serve(args: &UpArgs, nats_url: &str) -> anyhow::Result<()> {
    let data_dir = &args.data.data_dir;
    let mut stack = Stack::open(StackConfig {
        nats_url,
        stream_replicas: args.nats.stream_replicas,
        projection_dir: &data_dir.join("projection"),
        rebuild_projection: args.rebuild_projection,
        clock: args.clock.clock(),
        directory: args.directory.load()?,
        rules: args.deadlines.rules()?,
    })
    .await?;
    let worker = if args.no_worker {
        None
    } else {
        Some(stack.start_worker(&args.deadlines, &args.settled).await?)
    };
    if !args.no_sample {
        import_samples_once(&stack.tracker.imports(), data_dir).await?;
    }

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the gRPC address {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "dondoc gRPC API listening (reflection and health on)");
    // A line on stdout that scripts and tests can wait for.
    println!("dondoc listening on {address}");

    dondoc_api::serve(listener, stack.tracker.clone(), shutdown_signal())
        .await
        .context("serving gRPC")?;
    tracing::info!("gRPC stopped; stopping the deadline worker and the projection feeder");
    if let Some(worker) = worker {
        worker.stop().await;
    }
    stack.shutdown().await;
    Ok(())
}

/// Imports each sample plan that no earlier start imported. Imports are idempotent, so
/// a lost marker file only costs a pass that records nothing.
async fn import_samples_once(imports: &Imports, data_dir: &Path) -> anyhow::Result<()> {
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
        let summary = imports
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
