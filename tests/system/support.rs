//! The system tests' side of the shared harness (dondoc-test-support): the `dondoc`
//! binary cargo built for this run, and the few helpers the feature modules share.
//!
//! Invariants (the harness's): nothing listens on a fixed port; every process started
//! here is stopped by PID when its handle drops, and temporary directories go with it.

use std::path::Path;

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::TaskServiceClient;
pub use dondoc_test_support::{
    eventually, seed_path, seed_text, workspace_root, Cli, DondocProcess as Dondoc, TestNats,
    SEED_004,
};

/// The `dondoc` binary cargo built for this test run.
pub fn dondoc_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_dondoc"))
}

/// The CLI of that binary.
pub fn cli() -> Cli {
    Cli::new(dondoc_binary())
}

/// `dondoc up --nats URL` in `data_dir`, with no sample plan and no deadline worker (the
/// tests count events), once it listens.
pub fn spawn_dondoc(nats_url: &str, data_dir: &Path) -> Dondoc {
    spawn_dondoc_with(nats_url, data_dir, &["--no-sample", "--no-worker"])
}

/// `dondoc up --nats URL` in `data_dir` with `args`, once it listens.
pub fn spawn_dondoc_with(nats_url: &str, data_dir: &Path, args: &[&str]) -> Dondoc {
    Dondoc::up(dondoc_binary(), nats_url, data_dir, args)
}

/// `dondoc up` on `listen` (the address of one stopped before, to bring the server back
/// where its clients expect it).
pub fn spawn_dondoc_listening(
    nats_url: &str,
    data_dir: &Path,
    listen: &str,
    args: &[&str],
) -> Dondoc {
    Dondoc::up_listening(dondoc_binary(), nats_url, data_dir, listen, args)
}

/// Seed 004's text (Quảng Ngãi 189/KH-UBND).
pub fn seed_004_text() -> String {
    seed_text(SEED_004)
}

/// Imports seed 004's appendix as plan `plan_id`.
pub async fn import_seed_004(
    client: &mut TaskServiceClient<ApiChannel>,
    plan_id: &str,
) -> pb::ImportPlanResponse {
    client
        .import_plan(pb::ImportPlanRequest {
            plan_id: plan_id.to_owned(),
            plan_year: 2023,
            source_name: "004_09303d0239868285.txt".to_owned(),
            content: seed_004_text(),
            request_id: format!("import-{plan_id}"),
            actor: "test".to_owned(),
            province: "Quảng Ngãi".to_owned(),
            ..Default::default()
        })
        .await
        .expect("import succeeds")
        .into_inner()
}

/// Every task of a plan, following page tokens.
pub async fn list_all(
    client: &mut TaskServiceClient<ApiChannel>,
    plan_id: &str,
    min_sequence: u64,
) -> Vec<pb::Task> {
    let mut tasks = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tasks(pb::ListTasksRequest {
                plan_id: plan_id.to_owned(),
                page_size: 20,
                page_token: page_token.clone(),
                min_sequence,
                ..Default::default()
            })
            .await
            .expect("list tasks")
            .into_inner();
        tasks.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return tasks;
        }
        page_token = page.next_page_token;
    }
}

/// A report request for a 2023 quarter.
pub fn report(
    task_id: &str,
    request_id: &str,
    quarter: u8,
    expected_version: Option<u64>,
) -> pb::SubmitReportRequest {
    pb::SubmitReportRequest {
        task_id: task_id.to_owned(),
        request_id: request_id.to_owned(),
        agency: "Sở TT&TT".to_owned(),
        period: format!("2023-Q{quarter}"),
        content: format!("Báo cáo quý {quarter}"),
        expected_version,
    }
}

/// A token of `subject` with `role` (limited to `plan` when given).
pub fn issue_token(dondoc: &Dondoc, subject: &str, role: &str, plan: Option<&str>) -> String {
    let data_dir = dondoc.data_dir();
    let mut args = vec![
        "auth",
        "issue",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--agency",
        subject,
        "--role",
        role,
    ];
    if let Some(plan) = plan {
        args.extend(["--plan", plan]);
    }
    cli().stdout(&args).trim().to_owned()
}
