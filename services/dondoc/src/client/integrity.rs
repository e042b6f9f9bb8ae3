//! `dondoc audit export | verify`: the auditors' evidence that nothing changed.
//!
//! - `export` writes a plan's (or the whole log's) records, one per line (JSON Lines:
//!   `{"stream_sequence":N,"subject":S,"record":<the stored bytes, verbatim>}`), through
//!   the audit API's `Export`: the plan's events and every record that is not a task
//!   event (key records, signed checkpoints, import commit records).
//! - `verify FILE` checks such a file offline, with no server
//!   (`dondoc_domain::ChainVerifier`): every signature against the keys on record in the
//!   file, every seal and every link of every task's chain, and the last checkpoint's
//!   heads against the events the file holds up to it (events missing after it fail).
//!   `verify` without a file asks the server to walk the whole log.

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
    let mut records = client
        .export(pb::ExportRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
        })
        .await
        .map_err(status_error("exporting the log"))?
        .into_inner();
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let mut count = 0u64;
    while let Some(record) = records
        .message()
        .await
        .map_err(status_error("exporting the log"))?
    {
        // The stored bytes go in verbatim as the `record` member: what verification
        // checks is exactly what the log holds.
        write!(
            out,
            "{{\"stream_sequence\":{},\"subject\":{},\"record\":",
            record.stream_sequence,
            serde_json::Value::String(record.subject)
        )?;
        out.write_all(record.json.as_bytes())?;
        out.write_all(b"}\n")?;
        count += 1;
    }
    out.flush()?;
    if let Some(path) = &args.out {
        eprintln!("{count} records written to {}", path.display());
    }
    Ok(())
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let report = match &args.file {
        Some(file) => verify_file(file)?,
        None => verify_on_server(&args).await?,
    };
    let chain = report.chain;
    println!(
        "verified: {} events of {} tasks, every chain intact ({} sealed, {} unsealed from before sealing)",
        chain.events, chain.tasks, chain.sealed, chain.unsealed
    );
    println!(
        "records: {} ({} signed by the key on record, {} unsigned from before signing); key records: {}, current key: {}; checkpoints: {}{}",
        report.records,
        report.signed,
        report.unsigned,
        report.key_records,
        report.current_key.as_deref().unwrap_or("none"),
        report.checkpoints,
        report
            .last_checkpoint
            .map(|at| format!(", the last covering stream sequence {at}: its heads match"))
            .unwrap_or_default()
    );
    for message in &report.quarantined {
        println!("quarantined (never applied): {message}");
    }
    Ok(())
}

/// What a verification found, from a file or from the server.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub chain: ChainSummary,
    pub records: u64,
    pub signed: u64,
    pub unsigned: u64,
    pub key_records: u64,
    pub checkpoints: u64,
    pub current_key: Option<String>,
    pub last_checkpoint: Option<u64>,
    pub quarantined: Vec<String>,
}

/// One line of an export: `{"stream_sequence":N,"subject":S,"record":<stored bytes>}`
/// (or, from exports before records were wrapped, the stored bytes alone).
#[derive(serde::Deserialize)]
struct ExportLine<'a> {
    stream_sequence: u64,
    #[serde(borrow)]
    record: &'a serde_json::value::RawValue,
}

/// Verifies an exported file line by line: the first broken line is an error, and so
/// is any finding of the last checkpoint (events missing after it, heads that differ).
pub fn verify_file(file: &PathBuf) -> anyhow::Result<VerifyReport> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let mut verifier = ChainVerifier::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.is_empty() {
            continue;
        }
        let position = format!("{} line {}", file.display(), index + 1);
        let pushed = match serde_json::from_slice::<ExportLine>(&line) {
            Ok(wrapped) => verifier.push_at(
                &position,
                Some(wrapped.stream_sequence),
                wrapped.record.get().as_bytes(),
            ),
            Err(_) => verifier.push_at(&position, None, &line),
        };
        pushed.map_err(|broken| anyhow::anyhow!("verification failed: {broken}"))?;
    }
    let verification = verifier
        .finish()
        .map_err(|broken| anyhow::anyhow!("verification failed: {broken}"))?;
    if !verification.findings.is_empty() {
        let findings: Vec<String> = verification
            .findings
            .iter()
            .map(ToString::to_string)
            .collect();
        anyhow::bail!("verification failed: {}", findings.join("; "));
    }
    let summary = verification.summary;
    Ok(VerifyReport {
        chain: summary.chain,
        records: summary.records,
        signed: summary.signed,
        unsigned: summary.unsigned,
        key_records: summary.key_records,
        checkpoints: summary.checkpoints,
        current_key: summary.current_key.map(|key| key.to_string()),
        last_checkpoint: summary.last_checkpoint,
        quarantined: Vec::new(),
    })
}

async fn verify_on_server(args: &VerifyArgs) -> anyhow::Result<VerifyReport> {
    let mut client = super::audit_service(&args.server).await?;
    let response = client
        .verify(pb::VerifyRequest {
            plan_id: args.plan.clone().unwrap_or_default(),
        })
        .await
        .map_err(status_error("verifying the log"))?
        .into_inner();
    let quarantined: Vec<String> = response
        .quarantined
        .iter()
        .map(|message| {
            format!(
                "stream sequence {} on {}: {}",
                message.stream_sequence,
                crate::client::render::terminal_safe(&message.subject),
                crate::client::render::terminal_safe(&message.reason)
            )
        })
        .collect();
    if let Some(broken) = response.broken {
        anyhow::bail!(
            "verification failed at stream sequence {} (task {}, version {}): {}",
            broken.stream_sequence,
            broken.task_id,
            broken.version,
            crate::client::render::terminal_safe(&broken.reason)
        );
    }
    if !response.findings.is_empty() {
        anyhow::bail!("verification failed: {}", response.findings.join("; "));
    }
    Ok(VerifyReport {
        chain: ChainSummary {
            events: response.events,
            tasks: response.tasks,
            sealed: response.sealed,
            unsealed: response.unsealed,
        },
        records: response.records,
        signed: response.signed,
        unsigned: response.unsigned,
        key_records: response.key_records,
        checkpoints: response.checkpoints,
        current_key: (!response.current_key.is_empty()).then_some(response.current_key),
        last_checkpoint: (response.last_checkpoint > 0).then_some(response.last_checkpoint),
        quarantined,
    })
}
