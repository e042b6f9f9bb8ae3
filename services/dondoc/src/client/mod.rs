//! Client subcommands: talk to a running server over gRPC and print plain text (tables
//! for the deadline queries), or, with --json, stable JSON. By subject: `tasks.rs`
//! (import, tasks, reports, coordination), `obligations.rs` (extensions, requests,
//! answers, upcoming and overdue deadlines, the scorecard), `audit.rs` (replays,
//! watches, past states), `integrity.rs` (exports and chain verification);
//! `render.rs` prints what they get.

pub mod audit;
pub mod integrity;
pub mod obligations;
mod render;
pub mod tasks;

use std::future::Future;

use anyhow::Context;
use dondoc_api::client::ApiChannel;
use dondoc_api::{pb, AuditServiceClient, TaskServiceClient};

use crate::config::ServerArg;

/// What every task command takes besides its own fields.
#[derive(Debug, clap::Args)]
pub struct CommandArgs {
    /// Idempotency key (default: a new UUID; pass your own to make retries safe).
    #[arg(long)]
    request_id: Option<String>,
    /// Refuse unless the task is at this version.
    #[arg(long)]
    expected_version: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
}

/// Connects, sends the command `call` builds from a client, the request id and the
/// expected version, and prints the outcome; `action` says what failed, if it does.
async fn run_command<Fut>(
    args: &CommandArgs,
    action: &str,
    call: impl FnOnce(TaskServiceClient<ApiChannel>, String, Option<u64>) -> Fut,
) -> anyhow::Result<()>
where
    Fut: Future<Output = Result<tonic::Response<pb::CommandResponse>, tonic::Status>>,
{
    let client = task_service(&args.server).await?;
    let request_id = new_request_id(args.request_id.clone());
    let response = call(client, request_id, args.expected_version)
        .await
        .map_err(status_error(action))?
        .into_inner();
    render::print_command(&response);
    Ok(())
}

async fn task_service(server: &ServerArg) -> anyhow::Result<TaskServiceClient<ApiChannel>> {
    let channel = server
        .connect()
        .await
        .with_context(|| format!("connecting to the dondoc server at {}", server.server))?;
    Ok(TaskServiceClient::new(channel))
}

async fn audit_service(server: &ServerArg) -> anyhow::Result<AuditServiceClient<ApiChannel>> {
    let channel = server
        .connect()
        .await
        .with_context(|| format!("connecting to the dondoc server at {}", server.server))?;
    Ok(AuditServiceClient::new(channel))
}

/// What a refused or failed call says, with the action that failed.
fn status_error(action: &str) -> impl FnOnce(tonic::Status) -> anyhow::Error + '_ {
    move |status| anyhow::anyhow!("{action} failed: {:?}: {}", status.code(), status.message())
}

/// The request id to send: the one given, else a new UUID (a retry of the same command
/// must pass the first one again to be safe).
fn new_request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
