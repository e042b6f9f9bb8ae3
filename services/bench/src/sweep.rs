//! The sweep scenario: the deadline worker of a running `dondoc up`, on its live
//! projection, when a deadline falls due on 1% of the tasks and then on all of them.
//!
//! How: `dondoc up` runs with its worker, no reminders (the figure is the overdue marks)
//! and a pretended clock. The tasks are imported at 1 January 2023 (nothing due). 1% of
//! them run over 2023–2025 and the others over 2024–2025, so the first quarterly
//! deadline of 2023 falls on the 1% alone, and the first of 2024 on every task. For each
//! deadline, dondoc is restarted on its projection with its clock a little before it;
//! the worker reports the work of each wake-up (`--print-settled`: "worked on N tasks:
//! M marked, … in X ms"), timed inside the process from the first due task taken to the
//! last one done, so neither the restart nor the nap before the deadline counts.
//!
//! Invariant: the 1% and 100% figures come from the same store, the same process build
//! and the same deadline rules, so their ratio is what the number due changes.

use std::time::Duration;

use anyhow::Context;
use dondoc_domain::{deadlines_for_year, HolidayCalendar, ReportingPolicy};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::report::{Kind, Row};
use crate::stack::{Stack, PLAN_ROWS};
use crate::{raw, row, Sizes};

/// The holiday calendar `dondoc up` uses by default.
const SHIPPED_HOLIDAYS: &str = include_str!("../../../deploy/holidays/vn.json");
/// The province of the synthetic plans, whose reporting rules set the deadlines.
const PROVINCE: &str = "Quảng Ngãi";
/// How many due tasks the worker works on at once (`dondoc_app`'s `TASKS_AT_ONCE`):
/// the raw column publishes at the same concurrency.
const WORKER_CONCURRENCY: usize = 32;

/// One wake-up's work, as the worker printed it.
#[derive(Debug, Clone, Copy, Default)]
struct Pass {
    tasks: usize,
    marked: usize,
    took: Duration,
}

pub async fn sweep(
    sizes: &Sizes,
    rows: &mut Vec<Row>,
    binary: &std::path::Path,
) -> anyhow::Result<()> {
    let fsync = sizes.fsync_settings[0];
    let total = sizes.import_rows.max(100);
    let few = total / 100;
    let (first_2023, first_2024) = (first_deadline(2023)?, first_deadline(2024)?);
    let imported_at = time::macros::datetime!(2023-01-01 00:00 +07:00);
    let mut stack = Stack::start_with(binary, fsync, worker_args(imported_at)).await?;
    stack.import("sweep-few", few, "2023-2025").await?;
    stack
        .import_in_plans("sweep-rest", total - few, "2024-2025")
        .await?;
    // A restart's catch-up takes longer on a bigger store: the clock starts this far
    // before the deadline, so that the pass at the deadline is a wake-up of its own.
    let lead = Duration::from_secs(15 + (total / 5_000) as u64);
    let one_percent = pass_at(&mut stack, first_2023, lead).await?;
    let all = pass_at(&mut stack, first_2024, lead).await?;
    let js = stack.nats.jetstream().await;
    let per_client = (all.marked / WORKER_CONCURRENCY).clamp(1, PLAN_ROWS / WORKER_CONCURRENCY);
    let raw_publish = raw::occ_publish(
        &js,
        "sweep-raw",
        WORKER_CONCURRENCY,
        per_client,
        per_client,
        None,
    )
    .await?;
    let describe = |pass: &Pass| {
        format!(
            "{} tasks worked on, {} overdue marks; timed in the worker",
            pass.tasks, pass.marked
        )
    };
    rows.push(row(
        format!("sweep, 1% of {total} tasks due"),
        fsync,
        Kind::Latency,
        "ms",
        (ms(one_percent.took), None),
        "–",
        describe(&one_percent),
    ));
    rows.push(row(
        format!("sweep, 100% of {total} tasks due"),
        fsync,
        Kind::Latency,
        "ms",
        (ms(all.took), None),
        "–",
        describe(&all),
    ));
    rows.push(row(
        "sweep: how much faster with 100× fewer due",
        fsync,
        Kind::Rate,
        "×",
        (
            all.took.as_secs_f64() / one_percent.took.as_secs_f64().max(1e-6),
            Some(all.marked as f64 / one_percent.marked.max(1) as f64),
        ),
        "≥ 0.5 (≥ 50× faster)",
        "raw column: how many times more marks the 100% sweep made".to_owned(),
    ));
    rows.push(row(
        "sweep catch-up, marks/s",
        fsync,
        Kind::Rate,
        "marks/s",
        (
            all.marked as f64 / all.took.as_secs_f64().max(1e-6),
            Some(raw_publish.per_second()),
        ),
        "≥ 3,000/s",
        format!(
            "the 100% sweep; raw: OCC publishes, {WORKER_CONCURRENCY} clients (the worker's \
             concurrency)"
        ),
    ));
    Ok(())
}

/// Restarts dondoc on its projection with its clock `lead` before `deadline`, and
/// returns the worker's pass at the deadline.
async fn pass_at(
    stack: &mut Stack,
    deadline: OffsetDateTime,
    lead: Duration,
) -> anyhow::Result<Pass> {
    stack.restart_with(worker_args(deadline - lead)).await?;
    let bound = lead + Duration::from_secs(600);
    let mut last_pass = None;
    loop {
        let line = stack
            .dondoc
            .wait_for_line("the deadline worker's pass", bound, |line| {
                line.starts_with("dondoc worker ")
            })
            .await;
        if let Some(pass) = parse_pass(&line) {
            last_pass = Some(pass);
            continue;
        }
        let Some(clock) = settled_clock(&line) else {
            continue;
        };
        if clock >= deadline {
            return last_pass.with_context(|| {
                format!("the worker settled at {clock} without working on the tasks due")
            });
        }
        // Settled before the deadline: what came before it was the catch-up.
        last_pass = None;
    }
}

fn worker_args(pretend_now: OffsetDateTime) -> Vec<String> {
    [
        "--no-sample",
        "--print-settled",
        "--reminders",
        "none",
        "--pretend-now",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .chain([pretend_now.format(&Rfc3339).unwrap_or_default()])
    .collect()
}

/// The first reporting deadline of `year` under the synthetic plans' rules.
fn first_deadline(year: i32) -> anyhow::Result<OffsetDateTime> {
    let holidays = HolidayCalendar::from_json(SHIPPED_HOLIDAYS).context("the holiday calendar")?;
    let policy = ReportingPolicy::for_province(Some(PROVINCE));
    deadlines_for_year(&policy, year, &holidays)
        .first()
        .map(|deadline| deadline.due)
        .with_context(|| format!("{PROVINCE}'s rules set no deadline in {year}"))
}

/// "dondoc worker worked on N tasks: M marked, R reminded, in X ms".
fn parse_pass(line: &str) -> Option<Pass> {
    let rest = line.strip_prefix("dondoc worker worked on ")?;
    let (tasks, rest) = rest.split_once(" tasks: ")?;
    let (marked, rest) = rest.split_once(" marked, ")?;
    let (_, millis) = rest.split_once(" reminded, in ")?;
    let millis: f64 = millis.strip_suffix(" ms")?.parse().ok()?;
    Some(Pass {
        tasks: tasks.parse().ok()?,
        marked: marked.parse().ok()?,
        took: Duration::from_secs_f64(millis / 1e3),
    })
}

/// The clock of "dondoc worker settled at <instant> through sequence <n>".
fn settled_clock(line: &str) -> Option<OffsetDateTime> {
    let rest = line.strip_prefix("dondoc worker settled at ")?;
    let (instant, _) = rest.split_once(' ')?;
    OffsetDateTime::parse(instant, &Rfc3339).ok()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
