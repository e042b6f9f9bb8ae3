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

use anyhow::Context;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use tonic::transport::Channel;

use crate::config::ServerArg;

async fn task_service(server: &ServerArg) -> anyhow::Result<TaskServiceClient<Channel>> {
    TaskServiceClient::connect(server.server.clone())
        .await
        .with_context(|| format!("connecting to the dondoc server at {}", server.server))
}

async fn audit_service(server: &ServerArg) -> anyhow::Result<AuditServiceClient<Channel>> {
    AuditServiceClient::connect(server.server.clone())
        .await
        .with_context(|| format!("connecting to the dondoc server at {}", server.server))
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
