//! `dondoc`: glue. Parses the command line, wires the crates together and runs them.
//! `dondoc up` runs the whole stack in one process; the other subcommands are clients
//! of a running server's gRPC API. No business logic lives here.

mod audit;
mod client;
mod deadlines;
mod directory;
mod integrity;
mod samples;
mod up;
mod worker;

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
    Import(client::ImportArgs),
    /// List or read tasks.
    #[command(subcommand)]
    Tasks(client::TasksCommand),
    /// Submit a lead agency's report on a task for a period.
    Report(client::ReportArgs),
    /// Record what a coordinating agency did for a task.
    Coordinate(client::CoordinateArgs),
    /// Extend a report's deadline ("gia hạn"), for one agency or every agency that owes it.
    Extend(client::ExtendArgs),
    /// Ask for a report outside the schedule: ad hoc (to lead agencies) or coordination
    /// (a lead agency asks coordinating agencies).
    Request(client::RequestArgs),
    /// Answer a report request.
    Answer(client::AnswerArgs),
    /// An agency's open deadlines in the coming days.
    Upcoming(client::UpcomingArgs),
    /// Reports overdue now, by plan and/or agency.
    Overdue(client::OverdueArgs),
    /// Per agency and period: reports by status and the on-time rate, now or as of an instant.
    Scorecard(client::ScorecardArgs),
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
        Command::Import(args) => runtime.block_on(client::import(args)),
        Command::Tasks(command) => runtime.block_on(client::tasks(command)),
        Command::Report(args) => runtime.block_on(client::report(args)),
        Command::Coordinate(args) => runtime.block_on(client::coordinate(args)),
        Command::Extend(args) => runtime.block_on(client::extend(args)),
        Command::Request(args) => runtime.block_on(client::request(args)),
        Command::Answer(args) => runtime.block_on(client::answer(args)),
        Command::Upcoming(args) => runtime.block_on(client::upcoming(args)),
        Command::Overdue(args) => runtime.block_on(client::overdue(args)),
        Command::Scorecard(args) => runtime.block_on(client::scorecard(args)),
        Command::Deadlines(args) => deadlines::run(args),
        Command::Worker(args) => runtime.block_on(worker::worker(args)),
        Command::Sweep(args) => runtime.block_on(worker::sweep(args)),
        Command::Audit(command) => runtime.block_on(audit::run(command)),
    }
}
