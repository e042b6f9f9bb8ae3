//! `dondoc audit compare`: builds a fresh projection from the stream and compares it,
//! tree by tree, with a stopped server's live one. Local: it opens the data directory's
//! projection (sled allows one process per store) and its NATS server (the embedded one
//! started for the comparison, or --nats).

use std::path::PathBuf;

use anyhow::Context;
use dondoc_eventlog::{EventLog, EventLogOptions};
use dondoc_projection::ProjectionStore;

use crate::config::{DirectoryArg, EmbeddedNatsArgs, HolidaysArg};
use crate::stack::Nats;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The data directory of a stopped `dondoc up`: its projection is the live one.
    #[arg(long, env = "DONDOC_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The NATS server holding the stream (default: the data directory's embedded one,
    /// started for the comparison).
    #[arg(long, env = "DONDOC_NATS_URL")]
    nats: Option<String>,
    /// With --nats: connect with these credentials.
    #[arg(long, env = "DONDOC_NATS_CREDS")]
    nats_creds: Option<PathBuf>,
    /// The directory and holidays the server ran with: its obligation statistics were
    /// derived under them, and the rebuilt ones must be too.
    #[command(flatten)]
    directory: DirectoryArg,
    #[command(flatten)]
    holidays: HolidaysArg,
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
    let statistics = dondoc_app::ObligationStatistics::new(
        &args.directory.load()?,
        &dondoc_app::DeadlineRules::new(args.holidays.load()?),
    );
    let recorded = live
        .recorded_fingerprint()
        .context("reading the live projection's statistics fingerprint")?;
    let ours = dondoc_projection::Derivation::fingerprint(&*statistics);
    anyhow::ensure!(
        recorded.is_none() || recorded.as_deref() == Some(ours.as_slice()),
        "the live projection's statistics were derived under another agency directory or \
         holiday calendar: run compare with the --agencies and --holidays the server ran with"
    );
    let statistics = recorded
        .is_some()
        .then_some(statistics as std::sync::Arc<dyn dondoc_projection::Derivation>);
    let nats = Nats::url_or_embedded(
        args.nats.as_deref(),
        args.nats_creds.as_deref(),
        &args.data_dir,
        &EmbeddedNatsArgs::default(),
        &[],
        false,
    )?;
    let url = nats.url().to_owned();
    let options = EventLogOptions {
        auth: nats.service_auth.clone(),
        ..EventLogOptions::default()
    };
    let result = async {
        let log = EventLog::connect(&url, &options)
            .await
            .with_context(|| format!("opening the event log at {url}"))?;
        let scratch = tempfile::tempdir().context("creating a scratch directory")?;
        dondoc_app::rebuild_and_compare(&log, &live, scratch.path(), statistics)
            .await
            .context("rebuilding the projection")
    }
    .await;
    nats.stop()?;
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
