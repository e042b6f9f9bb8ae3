//! `dondoc-bench`: the benchmark suite. It starts its own nats-server and `dondoc up`,
//! measures the raw substrate's ceilings and dondoc's figures for the same work in the
//! same run, and writes `results.jsonl` (appended) and `latest.md` (the table the
//! README shows) under `bench/results/`.
//!
//! `--quick` runs every scenario at a size small enough for CI: it checks that the
//! suite works and asserts nothing about speed. Speed is never asserted anywhere: the
//! numbers are for people to read.
//!
//! Invariants: each ratio compares figures measured minutes apart on the same machine
//! and nats-server, with the same fsync setting on both sides; every dondoc figure
//! goes through gRPC over loopback TLS, as a client's call would.

mod measure;
mod raw;
mod report;
mod stack;
mod sweep;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use dondoc_api::pb;

use crate::report::{Kind, Row, RunInfo};
use crate::stack::Stack;

#[derive(Debug, Parser)]
#[command(about = "dondoc's benchmark suite: dondoc beside the raw substrate, in one run")]
struct Args {
    /// Every scenario at a tiny size (CI): checks the suite runs; the figures mean
    /// little.
    #[arg(long)]
    quick: bool,
    /// Where the results go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The dondoc binary to measure (default: the one beside this binary).
    #[arg(long)]
    dondoc: Option<PathBuf>,
    /// Only these scenario groups (a trial of one change; the README's table is a run of
    /// both).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "commands,size,sweep"
    )]
    only: Vec<Group>,
    /// Rows of the import the size scenarios run on (default: 10,000; 60 with --quick).
    #[arg(long)]
    import_rows: Option<usize>,
}

/// The scenario groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Group {
    /// Commands at 1, 16 and 256 clients, on one task, on a long task.
    Commands,
    /// An import, the reads, memory and disk, audit, a rebuild.
    Size,
    /// The deadline worker when a deadline falls due on 1% and on 100% of the tasks.
    Sweep,
}

/// The offered load of the read-your-write scenario (the measurement: 175/s).
const READ_YOUR_WRITE_RATE: f64 = 175.0;

/// How big each scenario is.
pub(crate) struct Sizes {
    tasks: usize,
    commands_one_client: usize,
    commands_per_client_16: usize,
    commands_per_client_256: usize,
    one_task_per_client: usize,
    /// Events on the long task before commands are timed on it.
    history: usize,
    reads: usize,
    /// Read-your-write pairs, at `READ_YOUR_WRITE_RATE`.
    read_your_write: usize,
    import_rows: usize,
    sled_events: usize,
    fsync_settings: &'static [bool],
}

const QUICK: Sizes = Sizes {
    tasks: 40,
    commands_one_client: 20,
    commands_per_client_16: 3,
    commands_per_client_256: 0,
    one_task_per_client: 3,
    history: 30,
    reads: 20,
    read_your_write: 20,
    import_rows: 60,
    sled_events: 2_000,
    fsync_settings: &[false],
};

const FULL: Sizes = Sizes {
    tasks: 512,
    commands_one_client: 2_000,
    commands_per_client_16: 250,
    commands_per_client_256: 16,
    one_task_per_client: 60,
    history: 2_000,
    reads: 500,
    read_your_write: 1_000,
    import_rows: 10_000,
    sled_events: 200_000,
    fsync_settings: &[true, false],
};

pub(crate) fn row(
    scenario: impl Into<String>,
    fsync: bool,
    kind: Kind,
    unit: &'static str,
    (dondoc, raw): (f64, Option<f64>),
    target: &'static str,
    detail: String,
) -> Row {
    Row {
        scenario: scenario.into(),
        fsync,
        kind,
        unit,
        dondoc,
        raw,
        target,
        detail,
    }
}

/// Commands at 1, 16 and 256 clients across many tasks, and 16 clients on one task,
/// beside raw OCC publishes at the same concurrency.
async fn commands(
    sizes: &Sizes,
    fsync: bool,
    rows: &mut Vec<Row>,
    binary: &Path,
) -> anyhow::Result<()> {
    let stack = Stack::start(binary, fsync).await?;
    let (tasks, _) = stack
        .import("bench-commands", sizes.tasks, stack::TIMEFRAME)
        .await?;
    let js = stack.nats.jetstream().await;
    let runs = [
        (1, sizes.commands_one_client),
        (16, sizes.commands_per_client_16),
        (256, sizes.commands_per_client_256),
    ];
    for (clients, per_client) in runs {
        if per_client == 0 {
            continue;
        }
        let label = format!("c{clients}-{}", u8::from(fsync));
        let ours = stack.commands(&tasks, clients, per_client, &label).await;
        let subjects = (tasks.len() / clients).max(1);
        let theirs = raw::occ_publish(&js, &label, clients, per_client, subjects, None).await?;
        rows.push(row(
            format!("commands, {clients} client(s)"),
            fsync,
            Kind::Rate,
            "/s",
            (ours.per_second(), Some(theirs.per_second())),
            "≥ 0.5",
            format!(
                "p50 {:.2} ms (raw {:.2} ms), {} failed",
                ours.latency_ms(0.5),
                theirs.latency_ms(0.5),
                ours.failures
            ),
        ));
        if clients == 1 {
            rows.push(row(
                "command latency, 1 client, p50",
                fsync,
                Kind::Latency,
                "ms",
                (ours.latency_ms(0.5), Some(theirs.latency_ms(0.5))),
                "≥ 0.5",
                format!("p99 {:.2} ms", ours.latency_ms(0.99)),
            ));
        }
    }
    let one_task = std::slice::from_ref(&tasks[0]);
    let label = format!("one-{}", u8::from(fsync));
    let ours = stack
        .commands(one_task, 16, sizes.one_task_per_client, &label)
        .await;
    let theirs = raw::occ_publish(
        &js,
        &label,
        16,
        sizes.one_task_per_client,
        1,
        Some("bench.raw.one-task"),
    )
    .await?;
    rows.push(row(
        "16 clients on one task",
        fsync,
        Kind::Rate,
        "ok/s",
        (ours.per_second(), Some(theirs.per_second())),
        "≥ 0.5, no ABORTED",
        format!(
            "{} of {} refused{}",
            ours.failures,
            ours.operations,
            ours.first_failure
                .as_deref()
                .map_or_else(String::new, |why| format!(", e.g. {}", shorten(why)))
        ),
    ));
    // Cost per command against the task's history: a fresh task and one with
    // `history` events, the same commands on each.
    if fsync == sizes.fsync_settings[0] {
        let (fresh, long) = (&tasks[1], &tasks[2]);
        let label = format!("history-{}", u8::from(fsync));
        stack
            .commands(std::slice::from_ref(long), 1, sizes.history, &label)
            .await;
        let timed = sizes.commands_one_client.min(200);
        let on_fresh = stack
            .commands(
                std::slice::from_ref(fresh),
                1,
                timed,
                &format!("{label}-fresh"),
            )
            .await;
        let on_long = stack
            .commands(
                std::slice::from_ref(long),
                1,
                timed,
                &format!("{label}-long"),
            )
            .await;
        rows.push(row(
            format!("command p50 on a task with {} events", sizes.history),
            fsync,
            Kind::Latency,
            "ms",
            (on_long.latency_ms(0.5), Some(on_fresh.latency_ms(0.5))),
            "≥ 0.8 (within 20%)",
            format!("raw column: the same {timed} commands timed on a fresh task"),
        ));
    }
    // Read-your-write at a fixed load, beside the raw publish → applied lag.
    let label = format!("ryw-{}", u8::from(fsync));
    let ours = stack
        .read_your_write(&tasks, sizes.read_your_write, READ_YOUR_WRITE_RATE, &label)
        .await;
    let theirs = raw::publish_to_applied(&js, sizes.read_your_write, READ_YOUR_WRITE_RATE).await?;
    rows.push(row(
        format!("read-your-write p50 at {READ_YOUR_WRITE_RATE}/s"),
        fsync,
        Kind::Latency,
        "ms",
        (ours.latency_ms(0.5), Some(theirs.latency_ms(0.5))),
        "≥ 0.5 (within 2×)",
        format!(
            "GetTask with min_version after each command; p99 {:.2} ms (raw {:.2} ms); raw: \
             publish ack → applied by an ordered consumer into sled; {} failed",
            ours.latency_ms(0.99),
            theirs.latency_ms(0.99),
            ours.failures
        ),
    ));
    Ok(())
}

/// An import, reads and statistics at its size, memory and disk, a projection
/// rebuild, and the raw sled apply.
async fn at_size(sizes: &Sizes, rows: &mut Vec<Row>, binary: &Path) -> anyhow::Result<()> {
    let fsync = sizes.fsync_settings[0];
    let mut stack = Stack::start(binary, fsync).await?;
    let js = stack.nats.jetstream().await;
    let (rss_before, disk_before) = (stack.rss_bytes(), stack.projection_bytes());
    let (tasks, took) = stack
        .import_in_plans("bench-size", sizes.import_rows, stack::TIMEFRAME)
        .await?;
    let (rss_after, disk_after) = (stack.rss_bytes(), stack.projection_bytes());
    let raw_serial =
        raw::occ_publish(&js, "import-raw", 1, sizes.import_rows.min(2_000), 64, None).await?;
    let rows_per_second = tasks.len() as f64 / took.as_secs_f64();
    rows.push(row(
        format!("import, {} rows", sizes.import_rows),
        fsync,
        Kind::Rate,
        "rows/s",
        (rows_per_second, Some(raw_serial.per_second())),
        "–",
        "raw: OCC publishes, 1 client".to_owned(),
    ));
    let get = stack.get_task(&tasks, sizes.reads).await;
    rows.push(row(
        format!("GetTask p50, {} tasks", tasks.len()),
        fsync,
        Kind::Latency,
        "ms",
        (get.latency_ms(0.5), None),
        "< 2 ms at 100k",
        format!("p99 {:.2} ms", get.latency_ms(0.99)),
    ));
    let reads: [(&str, &'static str); 4] = [
        ("ListTasks p50 (page of 50)", "< 2 ms at 100k"),
        ("GetScorecard p50 (the plan)", "< 20 ms at 100k"),
        ("ListOverdue p50 (an agency)", "< 20 ms at 100k"),
        (
            "ListUpcomingDeadlines p50 (an agency, 30 days)",
            "< 20 ms at 100k",
        ),
    ];
    for (which, (name, target)) in reads.into_iter().enumerate() {
        let measured = stack
            .read(sizes.reads.min(100), move |mut client| async move {
                let answered = match which {
                    0 => client
                        .list_tasks(pb::ListTasksRequest {
                            plan_id: "bench-size".into(),
                            page_size: 50,
                            ..Default::default()
                        })
                        .await
                        .map(drop),
                    1 => client
                        .get_scorecard(pb::GetScorecardRequest {
                            plan_id: "bench-size".into(),
                            ..Default::default()
                        })
                        .await
                        .map(drop),
                    2 => client
                        .list_overdue(pb::ListOverdueRequest {
                            agency: "quang-ngai-so-tttt".into(),
                            ..Default::default()
                        })
                        .await
                        .map(drop),
                    _ => client
                        .list_upcoming_deadlines(pb::ListUpcomingDeadlinesRequest {
                            agency: "quang-ngai-so-tttt".into(),
                            ..Default::default()
                        })
                        .await
                        .map(drop),
                };
                answered.map_err(|status| measure::describe(&status))
            })
            .await;
        rows.push(row(
            format!("{name}, {} tasks", tasks.len()),
            fsync,
            Kind::Latency,
            "ms",
            (measured.latency_ms(0.5), None),
            target,
            match &measured.first_failure {
                None => format!("p99 {:.2} ms", measured.latency_ms(0.99)),
                Some(why) => format!("{} failed: {}", measured.failures, shorten(why)),
            },
        ));
    }
    // The slope: what the import added, per task and per event (its events are one
    // assignment per task).
    let imported = tasks.len().max(1) as f64;
    rows.push(row(
        "RSS added per 10k tasks",
        fsync,
        Kind::Size,
        "MB",
        (
            rss_after.saturating_sub(rss_before) as f64 / imported * 1e4 / 1e6,
            None,
        ),
        "< 6 MB (600 MB at 1M)",
        format!(
            "{:.0} MB before, {:.0} MB after {} tasks",
            rss_before as f64 / 1e6,
            rss_after as f64 / 1e6,
            tasks.len()
        ),
    ));
    rows.push(row(
        "sled bytes added per event",
        fsync,
        Kind::Size,
        "B",
        (
            disk_after.saturating_sub(disk_before) as f64 / imported,
            None,
        ),
        "< 1.5 KB",
        format!("{} assignment events", tasks.len()),
    ));
    let events = stack.nats.event_count().await.max(1);
    let (replay_took, replayed) = stack.replay().await?;
    let verify_took = stack.verify().await?;
    let (consumed_per_second, _) = raw::consume(&js).await?;
    rows.push(row(
        "audit replay",
        fsync,
        Kind::Rate,
        "events/s",
        (
            replayed as f64 / replay_took.as_secs_f64(),
            Some(consumed_per_second),
        ),
        "–",
        format!("{replayed} events; raw: an ordered consumer over the raw stream"),
    ));
    rows.push(row(
        "audit verify",
        fsync,
        Kind::Rate,
        "records/s",
        (
            events as f64 / verify_took.as_secs_f64(),
            Some(consumed_per_second),
        ),
        "–",
        format!("{:.2} s for the whole log", verify_took.as_secs_f64()),
    ));
    // Resident memory per 10k tasks of a fresh process that has served one read: on the
    // projection it kept (what the tasks cost at rest), then after rebuilding it.
    let rss_row = |stack: &Stack, name: &str, how: &str| {
        row(
            name,
            fsync,
            Kind::Size,
            "MB",
            (stack.rss_bytes() as f64 / imported * 1e4 / 1e6, None),
            "< 6 MB (600 MB at 1M)",
            format!(
                "{:.0} MB in all, {} tasks, {how}",
                stack.rss_bytes() as f64 / 1e6,
                tasks.len()
            ),
        )
    };
    let restart_took = stack.restart_kept().await?;
    rows.push(rss_row(
        &stack,
        "RSS per 10k tasks after a restart (projection kept)",
        "after one read",
    ));
    let (took, applied) = stack.rebuild().await?;
    rows.push(rss_row(
        &stack,
        "RSS per 10k tasks after a rebuild",
        "projection rebuilt from the stream",
    ));
    let raw_apply = tokio::task::spawn_blocking({
        let events = sizes.sled_events;
        move || raw::sled_apply(events, events / 10)
    })
    .await
    .context("the raw sled apply")??;
    rows.push(row(
        "projection rebuild",
        fsync,
        Kind::Rate,
        "events/s",
        (applied as f64 / took.as_secs_f64(), Some(raw_apply)),
        "≥ 0.7",
        format!(
            "{applied} stream messages in {:.2} s from the process's start (a restart that \
             keeps the projection: {:.2} s); raw: {} events, sled batches of 256",
            took.as_secs_f64(),
            restart_took.as_secs_f64(),
            sizes.sled_events
        ),
    ));
    Ok(())
}

/// At most 80 characters of an error, for a table cell.
fn shorten(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    cut.replace('|', "/")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = match args.dondoc {
        Some(binary) => binary,
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary's folder")?
            .join("dondoc"),
    };
    anyhow::ensure!(
        binary.exists(),
        "{} not found: build it first (cargo build --release -p dondoc), or give --dondoc",
        binary.display()
    );
    let (mut sizes, mode) = if args.quick {
        (QUICK, "quick")
    } else {
        (FULL, "full")
    };
    if let Some(import_rows) = args.import_rows {
        sizes.import_rows = import_rows;
    }
    let info = RunInfo::now(mode);
    let mut rows = Vec::new();
    if args.only.contains(&Group::Commands) {
        for &fsync in sizes.fsync_settings {
            commands(&sizes, fsync, &mut rows, &binary).await?;
        }
    }
    if args.only.contains(&Group::Size) {
        at_size(&sizes, &mut rows, &binary).await?;
    }
    if args.only.contains(&Group::Sweep) {
        sweep::sweep(&sizes, &mut rows, &binary).await?;
    }
    report::write(&args.out, &info, &rows)?;
    println!("{}", report::markdown(&info, &rows));
    Ok(())
}
