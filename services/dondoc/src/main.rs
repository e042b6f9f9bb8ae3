//! `dondoc`: glue. Parses the command line, wires the crates together and runs them.
//! No business logic lives here.
//!
//! - `up.rs`: the whole stack in one process; `worker.rs`: the deadline worker alone
//!   (`worker`, `sweep`); both open the stack through `stack.rs`;
//! - `client/`: the subcommands that are clients of a running server's gRPC API;
//! - `deadlines.rs`, `compare.rs`: local commands (a policy's deadlines; a rebuilt
//!   projection beside a stopped server's);
//! - `config.rs`: the argument groups the subcommands share; `credentials.rs`: the
//!   embedded nats-server's identities and their passwords; `samples.rs`: the sample
//!   plans of a first start.

mod access;
mod client;
mod client_certs;
mod compare;
mod config;
mod credentials;
mod deadlines;
mod keys;
mod samples;
mod stack;
mod up;
mod worker;

use client::{audit, obligations, tasks};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dondoc",
    version,
    about = "Task-assignment and deadline tracker for public agencies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole stack: gRPC API, command handling and projection (and, unless
    /// --nats is given, an embedded nats-server with JetStream in the data directory).
    Up(up::UpArgs),
    /// Import a plan's appendix into a running server, or check it locally (--dry-run).
    Import(tasks::ImportArgs),
    /// List or read tasks.
    #[command(subcommand)]
    Tasks(tasks::TasksCommand),
    /// Submit a lead agency's report on a task for a period.
    Report(tasks::ReportArgs),
    /// Record what a coordinating agency did for a task.
    Coordinate(tasks::CoordinateArgs),
    /// Extend a report's deadline ("gia hạn"), for one agency or every agency that owes it.
    Extend(obligations::ExtendArgs),
    /// Ask for a report outside the schedule: ad hoc (to lead agencies) or coordination
    /// (a lead agency asks coordinating agencies).
    Request(obligations::RequestArgs),
    /// Answer a report request.
    Answer(obligations::AnswerArgs),
    /// An agency's open deadlines in the coming days.
    Upcoming(obligations::UpcomingArgs),
    /// Reports overdue now, by plan and/or agency.
    Overdue(obligations::OverdueArgs),
    /// Per agency and period: reports by status and the on-time rate, now or as of an instant.
    Scorecard(config::ScorecardArgs),
    /// A reporting policy's deadlines for a year (local, no server).
    Deadlines(deadlines::DeadlinesArgs),
    /// Run the deadline worker on its own (beside `dondoc up --no-worker`, or as an extra
    /// replica): overdue marks and reminders, each recorded once.
    Worker(worker::WorkerArgs),
    /// One pass of the deadline worker as of a given instant.
    Sweep(worker::SweepArgs),
    /// For auditors, from the log of record: replay stored events, watch new ones,
    /// rebuild a task or the scorecard as of an instant.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The deployment's signing key: show it, rotate it.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Tokens for the API's callers: issue one, revoke one.
    #[command(subcommand)]
    Auth(access::AuthCommand),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the context chain on one line, without a backtrace.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    // Whatever dondoc writes (the projection, credentials, the embedded server's store
    // and config, run files) is its owner's alone: no other local user may read it.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DONDOC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,async_nats=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        // The embedded nats-server is started from this (the main) thread: its
        // parent-death signal is tied to the thread that forked it.
        Command::Up(args) => up::run(args, &runtime),
        Command::Import(args) => runtime.block_on(tasks::import(args)),
        Command::Tasks(command) => runtime.block_on(tasks::tasks(command)),
        Command::Report(args) => runtime.block_on(tasks::report(args)),
        Command::Coordinate(args) => runtime.block_on(tasks::coordinate(args)),
        Command::Extend(args) => runtime.block_on(obligations::extend(args)),
        Command::Request(args) => runtime.block_on(obligations::request(args)),
        Command::Answer(args) => runtime.block_on(obligations::answer(args)),
        Command::Upcoming(args) => runtime.block_on(obligations::upcoming(args)),
        Command::Overdue(args) => runtime.block_on(obligations::overdue(args)),
        Command::Scorecard(args) => runtime.block_on(obligations::scorecard(args)),
        Command::Deadlines(args) => deadlines::run(args),
        Command::Worker(args) => runtime.block_on(worker::worker(args)),
        Command::Sweep(args) => runtime.block_on(worker::sweep(args)),
        Command::Audit(command) => runtime.block_on(audit::run(command)),
        Command::Key(command) => runtime.block_on(keys::run_key(command)),
        Command::Auth(command) => access::run_auth(command),
    }
}
