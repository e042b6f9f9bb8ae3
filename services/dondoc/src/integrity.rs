//! `dondoc audit export | verify | compare`: the auditors' evidence that nothing changed.
//!
//! - `export` writes a plan's (or the whole log's) stored events, exactly as stored, one
//!   per line (JSON Lines), through the audit API's replay.
//! - `verify FILE` checks such a file offline, with no server: every seal and every
//!   link of every task's chain (`dondoc_domain::chain`). `verify` without a file asks
//!   the server to walk the whole log.
//! - `compare` builds a fresh projection from the stream and compares it, tree by tree,
//!   with a stopped server's live one.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use dondoc_api::pb;
use dondoc_domain::chain::{ChainSummary, ChainVerifier};
use dondoc_eventlog::{EventLog, EventLogOptions};
use dondoc_projection::ProjectionStore;

use crate::client::ServerArg;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The plan whose events to export (default: the whole log).
    #[arg(long)]
    plan: Option<String>,
    /// Where to write the JSON Lines (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// An exported JSON Lines file to verify offline; without it, the server verifies
    /// the whole log.
    file: Option<PathBuf>,
    /// With the server: only this plan's tasks.
    #[arg(long)]
    plan: Option<String>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The data directory of a stopped `dondoc up`: its projection is the live one.
    #[arg(long, env = "DONDOC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The NATS server holding the stream (default: the data directory's embedded one,
    /// started for the comparison).
    #[arg(long, env = "DONDOC_NATS_URL")]
    nats: Option<String>,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let mut client = crate::audit::connect(&args.server).await?;
    let mut events = client
        .replay(pb::ReplayRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(crate::client::status_error("replaying the log"))?
        .into_inner();
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let mut count = 0u64;
    while let Some(event) = events
        .message()
        .await
        .map_err(crate::client::status_error("replaying the log"))?
    {
        out.write_all(event.json.as_bytes())?;
        out.write_all(b"\n")?;
        count += 1;
    }
    out.flush()?;
    if let Some(path) = &args.out {
        eprintln!("{count} events written to {}", path.display());
    }
    Ok(())
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let summary = match &args.file {
        Some(file) => verify_file(file)?,
        None => verify_on_server(&args).await?,
    };
    println!(
        "verified: {} events of {} tasks, every chain intact ({} sealed, {} unsealed from before sealing)",
        summary.events, summary.tasks, summary.sealed, summary.unsealed
    );
    Ok(())
}

/// Verifies an exported file line by line; the error names the first broken line.
pub fn verify_file(file: &PathBuf) -> anyhow::Result<ChainSummary> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut verifier = ChainVerifier::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.is_empty() {
            continue;
        }
        verifier
            .push(&format!("{} line {}", file.display(), index + 1), &line)
            .map_err(|broken| anyhow::anyhow!("verification failed: {broken}"))?;
    }
    Ok(verifier.summary())
}

async fn verify_on_server(args: &VerifyArgs) -> anyhow::Result<ChainSummary> {
    let mut client = crate::audit::connect(&args.server).await?;
    let response = client
        .verify(pb::VerifyRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
        })
        .await
        .map_err(crate::client::status_error("verifying the log"))?
        .into_inner();
    if let Some(broken) = response.broken {
        anyhow::bail!(
            "verification failed at stream sequence {} (task {}, version {}): {}",
            broken.stream_sequence,
            broken.task_id,
            broken.version,
            broken.reason
        );
    }
    Ok(ChainSummary {
        events: response.events,
        tasks: response.tasks,
        sealed: response.sealed,
        unsealed: response.unsealed,
    })
}

pub async fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let projection_dir = args.data_dir.join("projection");
    anyhow::ensure!(
        projection_dir.exists(),
        "{} has no projection: is it a dondoc data directory?",
        args.data_dir.display()
    );
    let live = ProjectionStore::open(&projection_dir).with_context(|| {
        format!(
            "opening the live projection {} (stop the `dondoc up` using it first)",
            projection_dir.display()
        )
    })?;
    let embedded = match &args.nats {
        Some(_) => None,
        None => {
            let binary = dondoc_nats_embed::locate_nats_server()?;
            let options = dondoc_nats_embed::NatsServerOptions::in_data_dir(
                binary,
                &args.data_dir.join("nats"),
            );
            Some(
                dondoc_nats_embed::NatsServer::start(&options)
                    .context("starting the data directory's nats-server")?,
            )
        }
    };
    let url = match (&args.nats, &embedded) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.client_url().to_owned(),
        (None, None) => unreachable!("a server is started when no URL is given"),
    };
    let result = async {
        let log = EventLog::connect(&url, &EventLogOptions::default())
            .await
            .with_context(|| format!("opening the event log at {url}"))?;
        let scratch = tempfile::tempdir().context("creating a scratch directory")?;
        dondoc_app::rebuild_and_compare(&log, &live, scratch.path())
            .await
            .context("rebuilding the projection")
    }
    .await;
    if let Some(server) = embedded {
        server.stop().context("stopping the nats-server")?;
    }
    let comparison = result?;
    println!("at stream sequence {}:", comparison.checkpoint);
    println!(
        "{:<16} {:>8} {:<64} {:>8} {:<64}",
        "TREE", "LIVE", "LIVE SHA-256", "REBUILT", "REBUILT SHA-256"
    );
    for (live, rebuilt) in comparison.live.iter().zip(&comparison.rebuilt) {
        println!(
            "{:<16} {:>8} {:<64} {:>8} {:<64}",
            live.tree, live.entries, live.sha256, rebuilt.entries, rebuilt.sha256
        );
    }
    anyhow::ensure!(
        comparison.matches(),
        "the live projection differs from the rebuilt one in: {}",
        comparison.differing_trees().join(", ")
    );
    println!("the live projection matches one rebuilt from the stream");
    Ok(())
}
