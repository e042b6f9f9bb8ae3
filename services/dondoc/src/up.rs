//! `dondoc up`: the whole stack in one process.
//!
//! Start order: embedded nats-server (unless --nats) → the stack (event log, projection
//! and feeder, tracker; `stack.rs`) → deadline worker (unless --no-worker) → the
//! projection caught up with the log as it stood at start → sample plans (only into a
//! log that holds nothing else) → gRPC. Shutdown (Ctrl-C or SIGTERM) runs it backwards.
//!
//! The embedded server's client URL is written to `<data-dir>/nats.url` while it runs,
//! so that `dondoc sweep` and `dondoc worker` beside it find it without flags.

use std::net::SocketAddr;

use anyhow::Context;
use dondoc_app::{ImportPlan, Imports};
use dondoc_domain::{PlanId, ReportingPolicy, RequestId};
use tokio::net::TcpListener;

use crate::config::{
    ClockArg, DataDirArg, DeadlineArgs, DirectoryArg, EmbeddedNatsArgs, NatsArgs, SettledArg,
};
use crate::keys::SigningKeyArg;
use crate::samples::SAMPLE_PLANS;
use crate::stack::{shutdown_signal, Nats, Stack, StackConfig};

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
    #[command(flatten)]
    signing: SigningKeyArg,
    #[command(flatten)]
    tls: crate::access::TlsArgs,
    /// Seconds between the signed checkpoints of the chain heads appended while the log
    /// grows (one is also appended at shutdown).
    #[arg(
        long,
        env = "DONDOC_CHECKPOINT_EVERY",
        default_value_t = 600,
        value_name = "SECONDS"
    )]
    checkpoint_every: u64,
}

pub fn run(args: UpArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    // Refused before anything starts.
    args.tls.check(args.listen)?;
    let data_dir = &args.data.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    // Created 0700 under dondoc's umask; one made before keeps its mode, so set it.
    std::fs::set_permissions(
        data_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .with_context(|| format!("making {} private", data_dir.display()))?;
    let directory = args.directory.load()?;
    let nats = Nats::url_or_embedded(
        args.nats.nats.as_deref(),
        args.nats.nats_creds.as_deref(),
        data_dir,
        &args.embedded,
        &directory.ids(),
        true,
    )?;
    let served = runtime.block_on(serve(&args, &nats, directory));
    nats.stop()?;
    served
}

async fn serve(
    args: &UpArgs,
    nats: &Nats,
    directory: dondoc_agencies::AgencyDirectory,
) -> anyhow::Result<()> {
    let data_dir = &args.data.data_dir;
    let mut stack = Stack::open(StackConfig {
        nats,
        stream_replicas: args.nats.stream_replicas,
        projection_dir: &data_dir.join("projection"),
        rebuild_projection: args.rebuild_projection,
        clock: args.clock.clock(),
        directory,
        rules: args.deadlines.rules()?,
        signing_key: args.signing.load_or_create(data_dir)?,
        checkpoint_every: Some(std::time::Duration::from_secs(args.checkpoint_every.max(1))),
        actor: "dondoc up",
    })
    .await?;
    let worker = if args.no_worker {
        None
    } else {
        Some(stack.start_worker(&args.deadlines, &args.settled).await?)
    };
    // Serve only a projection that has caught up with the log as it stood at start (a
    // rebuilt one, above all).
    stack
        .tracker
        .queries()
        .catch_up()
        .await
        .context("bringing the projection up to the log")?;
    if !args.no_sample {
        import_samples(&stack.tracker.imports()).await?;
    }

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the gRPC address {}", args.listen))?;
    let address = listener.local_addr()?;
    // Before the ready line: a client that reads it finds the certificate and token.
    crate::access::ensure_operator_token(data_dir)?;
    let options = dondoc_api::ServeOptions {
        tls: args.tls.identity(data_dir, address)?,
        verifier: crate::access::verifier(data_dir)?,
    };
    tracing::info!(%address, tls = options.tls.is_some(), "dondoc gRPC API listening (reflection and health on)");
    // A line on stdout that scripts and tests can wait for.
    println!("dondoc listening on {address}");
    dondoc_api::serve(
        listener,
        stack.tracker.clone(),
        options,
        nats.serving(),
        shutdown_signal(),
    )
    .await
    .context("serving gRPC")?;
    tracing::info!("gRPC stopped; stopping the deadline worker and the projection feeder");
    if let Some(worker) = worker {
        worker.stop().await;
    }
    stack.shutdown().await;
    Ok(())
}

/// Imports the sample plans when the log holds nothing else: on a first start, or to
/// complete one that was interrupted. Never into a log holding any other plan's events
/// (a store created with `--no-sample`, a production log). Imports are idempotent, so
/// samples imported before record nothing again.
async fn import_samples(imports: &Imports) -> anyhow::Result<()> {
    let plans = SAMPLE_PLANS
        .iter()
        .map(|sample| PlanId::parse(sample.plan_id))
        .collect::<Result<Vec<_>, _>>()?;
    if !imports
        .log_holds_only(&plans)
        .await
        .context("reading the log before importing the sample plans")?
    {
        tracing::info!("the log holds other plans: no sample plan is imported");
        return Ok(());
    }
    for (sample, plan_id) in SAMPLE_PLANS.iter().zip(plans) {
        let import = ImportPlan {
            plan_id,
            plan_year: sample.plan_year,
            source_name: sample.source_name.to_owned(),
            content: sample.text.to_owned(),
            caller: dondoc_app::Caller::operator("dondoc-up"),
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
    }
    Ok(())
}
