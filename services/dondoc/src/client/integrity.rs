//! `dondoc audit export | verify`: the auditors' evidence that nothing changed.
//!
//! - `export` writes a plan's (or the whole log's) stored events, exactly as stored, one
//!   per line (JSON Lines), through the audit API's replay.
//! - `verify FILE` checks such a file offline, with no server: every seal and every
//!   link of every task's chain (`dondoc_domain::ChainVerifier`). `verify` without a
//!   file asks the server to walk the whole log.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use dondoc_api::pb;
use dondoc_domain::{ChainSummary, ChainVerifier};

use super::status_error;
use crate::config::ServerArg;

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

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let mut client = super::audit_service(&args.server).await?;
    let mut events = client
        .replay(pb::ReplayRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
            ..Default::default()
        })
        .await
        .map_err(status_error("replaying the log"))?
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
        .map_err(status_error("replaying the log"))?
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
    let mut client = super::audit_service(&args.server).await?;
    let response = client
        .verify(pb::VerifyRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
        })
        .await
        .map_err(status_error("verifying the log"))?
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
