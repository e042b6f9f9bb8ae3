//! `dondoc audit …`: the auditors' commands, clients of `dondoc.v1.AuditService`. All of
//! them read the log of record (JetStream) through the server, never its projection.
//!
//! - `replay`: stored events of the log, a plan, a task or an agency, within a range of
//!   stream sequences or instants (`occurred_at`); `--json` prints JSON Lines, one per
//!   event: `{"stream_sequence":N,"event":<the stored event, byte for byte>}`.
//! - `watch`: the same lines, live. When the connection drops it resumes after the last
//!   sequence it printed, so every event is printed once, with a bounded number of
//!   retries and an exponential backoff.
//! - `task`: a task's state as of an instant, as JSON.
//! - `scorecard`: the scorecard as of an instant, rebuilt from the log.
//! - `export`, `verify` (`integrity.rs`) and `compare` (a local rebuild, `compare.rs`).

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use dondoc_api::pb;
use tonic::Code;

use super::integrity::{ExportArgs, VerifyArgs};
use super::{audit_service, render, status_error};
use crate::compare::CompareArgs;
use crate::config::{instant_arg, ScorecardArgs, ServerArg};

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Replay stored events, oldest first: the whole log, a plan, a task or an agency.
    Replay(ReplayArgs),
    /// Print every new event as it is stored (JSON Lines), from a stream sequence on;
    /// resumes by itself after a dropped connection.
    Watch(WatchArgs),
    /// A task's state as of an instant, rebuilt from its events (JSON).
    Task(TaskArgs),
    /// The scorecard as of an instant, rebuilt from the log as it stood then.
    Scorecard(ScorecardArgs),
    /// Write a plan's (or the whole log's) stored events, byte for byte, one per line.
    Export(ExportArgs),
    /// Verify every hash chain: of an exported file, offline; or of the server's log.
    Verify(VerifyArgs),
    /// Rebuild the projection from the stream and compare it with a stopped server's.
    Compare(CompareArgs),
}

/// One end of a replay: a stream sequence or an RFC 3339 instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Point {
    Sequence(u64),
    Instant(String),
}

/// `123` is a stream sequence (from 1), anything else an RFC 3339 instant.
fn point_arg(text: &str) -> Result<Point, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return match text.parse::<u64>() {
            Ok(0) => Err("stream sequences start at 1".to_owned()),
            Ok(sequence) => Ok(Point::Sequence(sequence)),
            Err(error) => Err(format!("{text:?} is not a stream sequence: {error}")),
        };
    }
    instant_arg(text)
        .map(Point::Instant)
        .map_err(|error| format!("neither a stream sequence nor an instant: {error}"))
}

/// The request fields of a point: (sequence, time).
fn point_fields(point: Option<Point>) -> (u64, String) {
    match point {
        None => (0, String::new()),
        Some(Point::Sequence(sequence)) => (sequence, String::new()),
        Some(Point::Instant(instant)) => (0, instant),
    }
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").args(["plan", "task", "agency"])))]
pub struct ReplayArgs {
    /// Only this plan's events.
    #[arg(long)]
    plan: Option<String>,
    /// Only this task's events.
    #[arg(long)]
    task: Option<String>,
    /// Only this agency's: events of the tasks it was lead or coordinator of at the time
    /// (directly or through a group), and events that name it. An id or a name.
    #[arg(long)]
    agency: Option<String>,
    /// The province the agency's name is read in ("Quảng Trị"), for a name several
    /// provinces know; an agency id needs none.
    #[arg(long)]
    province: Option<String>,
    /// Start here (inclusive): a stream sequence, or an RFC 3339 instant (occurred_at).
    #[arg(long, value_parser = point_arg)]
    from: Option<Point>,
    /// End here (inclusive): a stream sequence, or an RFC 3339 instant (occurred_at).
    /// Default: the stream's last event when the replay starts.
    #[arg(long, value_parser = point_arg)]
    to: Option<Point>,
    /// Print JSON Lines: {"stream_sequence":N,"event":<the stored event>}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").args(["plan", "task"])))]
pub struct WatchArgs {
    /// Print the events after this stream sequence (default 0: from the first).
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// Only this plan's events.
    #[arg(long)]
    plan: Option<String>,
    /// Only this task's events.
    #[arg(long)]
    task: Option<String>,
    /// Give up after this many failed attempts in a row to reach the server (each
    /// waits twice as long as the one before, up to 5 s).
    #[arg(long, default_value_t = 10)]
    retries: u32,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// The task's id.
    task_id: String,
    /// The instant (RFC 3339).
    #[arg(long, value_parser = instant_arg)]
    as_of: String,
    #[command(flatten)]
    server: ServerArg,
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Replay(args) => replay(args).await,
        AuditCommand::Watch(args) => watch(args).await,
        AuditCommand::Task(args) => task(args).await,
        AuditCommand::Scorecard(args) => scorecard(args).await,
        AuditCommand::Export(args) => super::integrity::export(args).await,
        AuditCommand::Verify(args) => super::integrity::verify(args).await,
        AuditCommand::Compare(args) => crate::compare::compare(args).await,
    }
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let mut client = audit_service(&args.server).await?;
    let (from_sequence, from_time) = point_fields(args.from);
    let (to_sequence, to_time) = point_fields(args.to);
    let mut events = client
        .replay(pb::ReplayRequest {
            plan_id: args.plan.unwrap_or_default(),
            task_id: args.task.unwrap_or_default(),
            agency: args.agency.unwrap_or_default(),
            province: args.province.unwrap_or_default(),
            from_sequence,
            from_time,
            to_sequence,
            to_time,
        })
        .await
        .map_err(status_error("replaying the log"))?
        .into_inner();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut count = 0u64;
    while let Some(event) = events
        .message()
        .await
        .map_err(status_error("replaying the log"))?
    {
        let line = if args.json {
            render::json_line(&event)
        } else {
            render::text_line(&event)
        };
        if writeln!(stdout, "{line}").is_err() {
            // stdout closed (`| head`): stop quietly.
            return Ok(());
        }
        count += 1;
    }
    if stdout.flush().is_ok() {
        eprintln!("{count} event(s)");
    }
    Ok(())
}

/// Whether a failed watch is worth resuming: the server or the network went away, not
/// a request the server refuses.
fn retryable(status: &tonic::Status) -> bool {
    !matches!(
        status.code(),
        Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
    )
}

/// The wait before attempt `failures + 1`: 200 ms, doubling, at most 5 s.
pub fn backoff(failures: u32) -> Duration {
    let millis = 200u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_millis(millis.min(5_000))
}

async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let mut last = args.after;
    let mut failures = 0u32;
    let mut stdout = std::io::stdout().lock();
    loop {
        let problem = match audit_service(&args.server).await {
            Err(error) => format!("{error:#}"),
            Ok(mut client) => {
                let request = pb::WatchRequest {
                    after_sequence: last,
                    plan_id: args.plan.clone().unwrap_or_default(),
                    task_id: args.task.clone().unwrap_or_default(),
                };
                match client.watch(request).await {
                    Err(status) if !retryable(&status) => {
                        return Err(status_error("watching the log")(status));
                    }
                    Err(status) => format!("{:?}: {}", status.code(), status.message()),
                    Ok(response) => {
                        let mut events = response.into_inner();
                        loop {
                            match events.message().await {
                                Ok(Some(event)) => {
                                    // Sequences only grow; a resumed watch starts after
                                    // `last`, so nothing is printed twice.
                                    if event.stream_sequence <= last {
                                        continue;
                                    }
                                    if writeln!(stdout, "{}", render::json_line(&event))
                                        .and_then(|()| stdout.flush())
                                        .is_err()
                                    {
                                        return Ok(());
                                    }
                                    last = event.stream_sequence;
                                    failures = 0;
                                }
                                Ok(None) => break "the server ended the watch".to_owned(),
                                Err(status) if !retryable(&status) => {
                                    return Err(status_error("watching the log")(status));
                                }
                                Err(status) => {
                                    break format!("{:?}: {}", status.code(), status.message())
                                }
                            }
                        }
                    }
                }
            }
        };
        failures += 1;
        if failures > args.retries {
            anyhow::bail!(
                "gave up after {} failed attempts ({problem}); resume with --after {last}",
                failures
            );
        }
        let wait = backoff(failures);
        eprintln!(
            "watch interrupted ({problem}); resuming after sequence {last} in {} ms",
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
    }
}

async fn task(args: TaskArgs) -> anyhow::Result<()> {
    let mut client = audit_service(&args.server).await?;
    let response = client
        .get_task_as_of(pb::GetTaskAsOfRequest {
            task_id: args.task_id,
            as_of: args.as_of,
        })
        .await
        .map_err(status_error("rebuilding the task"))?
        .into_inner();
    let state: serde_json::Value =
        serde_json::from_str(&response.state_json).context("the server's state JSON")?;
    let json = serde_json::json!({
        "task_id": response.task_id,
        "plan_id": response.plan_id,
        "as_of": response.as_of,
        "version": response.version,
        "stream_sequence": response.stream_sequence,
        "occurred_at": response.occurred_at,
        "state": state,
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

async fn scorecard(args: ScorecardArgs) -> anyhow::Result<()> {
    let mut client = audit_service(&args.server).await?;
    let response = client
        .get_scorecard_as_of(pb::GetScorecardAsOfRequest {
            agency: args.agency.unwrap_or_default(),
            province: args.province.unwrap_or_default(),
            plan_id: args.plan.unwrap_or_default(),
            period: args.period.unwrap_or_default(),
            year: args.year.unwrap_or(0),
            as_of: args.as_of.unwrap_or_default(),
        })
        .await
        .map_err(status_error("rebuilding the scorecard"))?
        .into_inner();
    render::print_scorecard(&response, args.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_sequences_or_instants() {
        assert_eq!(point_arg("42").unwrap(), Point::Sequence(42));
        assert_eq!(
            point_arg("2024-03-25T00:00:00+07:00").unwrap(),
            Point::Instant("2024-03-25T00:00:00+07:00".into())
        );
        assert!(point_arg("0").unwrap_err().contains("start at 1"));
        assert!(point_arg("99999999999999999999999").is_err());
        assert!(point_arg("2024-03-25").is_err());
        assert!(point_arg("").is_err());
        assert_eq!(point_fields(Some(Point::Sequence(5))), (5, String::new()));
        assert_eq!(
            point_fields(Some(Point::Instant("x".into()))),
            (0, "x".into())
        );
    }

    #[test]
    fn json_lines_carry_the_stored_bytes_unchanged() {
        let stored = r#"{"schema_version":1,"data":{"note":"Đã  phối hợp","n":1.50}}"#;
        let event = pb::AuditEvent {
            stream_sequence: 7,
            json: stored.into(),
            ..Default::default()
        };
        let line = render::json_line(&event);
        assert_eq!(
            line,
            format!("{{\"stream_sequence\":7,\"event\":{stored}}}")
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["stream_sequence"], 7);
    }

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(6), Duration::from_millis(5_000));
        assert_eq!(backoff(60), Duration::from_millis(5_000));
    }

    #[test]
    fn refusals_are_not_retried() {
        assert!(!retryable(&tonic::Status::invalid_argument("bad")));
        assert!(!retryable(&tonic::Status::not_found("no")));
        assert!(retryable(&tonic::Status::unavailable("down")));
        assert!(retryable(&tonic::Status::unknown("h2 protocol error")));
        assert!(retryable(&tonic::Status::internal("transport")));
    }
}
