//! Client subcommands about tasks: importing a plan (or checking it locally with
//! --dry-run), listing and reading tasks, a lead's report, a coordinating agency's note.

use std::path::PathBuf;

use anyhow::Context;
use dondoc_api::pb;

use super::render::say;
use super::{render, run_command, status_error, task_service, CommandArgs};
use crate::config::{DirectoryArg, ServerArg};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The document, whole or just its appendix table: tab-separated, CSV, or text
    /// extracted from a PDF; UTF-8.
    file: PathBuf,
    /// The plan's id: a-z, 0-9, '-' and '_' (e.g. qng-189-2022).
    #[arg(long)]
    plan: String,
    /// The year the plan covers; rows without a timeframe take it.
    #[arg(long)]
    year: i32,
    /// The plan's province in the agency directory ("Quảng Ngãi", "Quảng Trị").
    #[arg(long)]
    province: Option<String>,
    /// Idempotency key (default: derived from the plan id and the file's content).
    #[arg(long)]
    request_id: Option<String>,
    /// Read and check the appendix here, without a server, and print what would be
    /// imported; nothing is recorded.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print the parsed plan as JSON (format in the README).
    #[arg(long, requires = "dry_run")]
    json: bool,
    /// With --dry-run: the agency directory (default: the shipped one).
    #[command(flatten)]
    agencies: DirectoryArg,
    /// The plan's reporting policy, a preset: quang-tri, ba-to or default (default: the
    /// province's preset, quang-tri for Quảng Trị and default otherwise).
    #[arg(long, conflicts_with = "policy_file")]
    policy: Option<String>,
    /// A reporting policy of the plan's own, as JSON: {"name": "…", "quarterly_day": 25,
    /// "yearly": "12-20", "named_day_is_on_time": false, "yearly_satisfies_q4": false,
    /// "working_day_rule": true, "recipient": "…"}.
    #[arg(long)]
    policy_file: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// List tasks, in appendix order.
    List {
        #[arg(long)]
        plan: Option<String>,
        /// Lead agency: its id ("quang-tri-so-tttt") or name ("Sở TT&TT").
        #[arg(long)]
        lead: Option<String>,
        /// Coordinating agency: its id or name.
        #[arg(long)]
        coordinator: Option<String>,
        /// The province agency names are read in ("Quảng Trị").
        #[arg(long)]
        province: Option<String>,
        /// Stop after this many tasks (default: all).
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        server: ServerArg,
    },
    /// Show one task with its reports and coordination.
    Get {
        task_id: String,
        #[command(flatten)]
        server: ServerArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[arg(long)]
    task: String,
    /// The reporting (lead) agency.
    #[arg(long)]
    agency: String,
    /// "2023" or "2023-Q1" .. "2023-Q4".
    #[arg(long)]
    period: String,
    #[arg(long)]
    content: String,
    #[command(flatten)]
    command: CommandArgs,
}

#[derive(Debug, clap::Args)]
pub struct CoordinateArgs {
    #[arg(long)]
    task: String,
    /// The coordinating agency.
    #[arg(long)]
    agency: String,
    #[arg(long)]
    note: String,
    #[command(flatten)]
    command: CommandArgs,
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let content = dondoc_appendix::decode_text(&bytes)
        .map_err(|error| anyhow::anyhow!("{}: {error}", args.file.display()))?;
    let request_id = args.request_id.unwrap_or_else(|| {
        let digest = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, content.as_bytes());
        format!("import-{}-{digest}", args.plan)
    });
    let source_name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let policy_json = match &args.policy_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the policy file {}", path.display()))?,
        ),
        None => None,
    };
    // Checked here too, so that a bad policy file is reported by its name.
    let policy = dondoc_app::reporting_policy(args.policy.as_deref(), policy_json.as_deref())
        .with_context(|| match &args.policy_file {
            Some(path) => format!("the policy file {}", path.display()),
            None => "--policy".to_owned(),
        })?;
    if args.dry_run {
        let import = dondoc_app::ImportPlan {
            plan_id: dondoc_domain::PlanId::parse(&args.plan)?,
            plan_year: args.year,
            source_name,
            content,
            caller: dondoc_app::Caller::operator("dondoc-cli"),
            request_id: dondoc_domain::RequestId::parse(&request_id)?,
            province: args.province.clone(),
            policy,
        };
        let agencies = dondoc_app::Agencies::new(args.agencies.load()?);
        let preview = dondoc_app::preview_import(&import, &agencies)?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&render::preview_json(&preview))?
            );
        } else {
            render::print_preview(&preview);
        }
        return Ok(());
    }
    let mut client = task_service(&args.server).await?;
    let response = client
        .import_plan(pb::ImportPlanRequest {
            plan_id: args.plan,
            plan_year: args.year,
            source_name,
            content,
            request_id,
            actor: "dondoc-cli".to_owned(),
            province: args.province.unwrap_or_default(),
            policy: args.policy.unwrap_or_default(),
            policy_json: policy_json.unwrap_or_default(),
        })
        .await
        .map_err(status_error("import"))?
        .into_inner();
    say!(
        "{} tasks: {} created, {} amended, {} unchanged, {} missing from this appendix (flagged); reporting policy {}",
        response.task_ids.len(),
        response.tasks_created,
        response.tasks_amended,
        response.tasks_unchanged,
        response.missing_task_ids.len(),
        response.policy
    );
    for warning in &response.warnings {
        render::print_warning(
            warning.line as usize,
            &warning.row_number,
            &warning.field,
            &warning.message,
        );
    }
    Ok(())
}

pub async fn tasks(command: TasksCommand) -> anyhow::Result<()> {
    match command {
        TasksCommand::List {
            plan,
            lead,
            coordinator,
            province,
            limit,
            server,
        } => {
            let mut client = task_service(&server).await?;
            let mut page_token = String::new();
            let mut shown = 0usize;
            loop {
                let page = client
                    .list_tasks(pb::ListTasksRequest {
                        plan_id: plan.clone().unwrap_or_default(),
                        lead_agency: lead.clone().unwrap_or_default(),
                        coordinating_agency: coordinator.clone().unwrap_or_default(),
                        province: province.clone().unwrap_or_default(),
                        page_size: 100,
                        page_token: page_token.clone(),
                        min_sequence: 0,
                    })
                    .await
                    .map_err(status_error("listing tasks"))?
                    .into_inner();
                for task in &page.tasks {
                    if limit.is_some_and(|limit| shown >= limit) {
                        return Ok(());
                    }
                    say!(
                        "{}  {:<6} v{:<3} {}  [{}]",
                        task.task_id,
                        task.row_number,
                        task.version,
                        render::truncate(&task.title, 70),
                        task.lead_agencies.join("; ")
                    );
                    shown += 1;
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            eprintln!("{shown} task(s)");
            Ok(())
        }
        TasksCommand::Get { task_id, server } => {
            let mut client = task_service(&server).await?;
            let task = client
                .get_task(pb::GetTaskRequest {
                    task_id,
                    min_version: 0,
                })
                .await
                .map_err(status_error("reading the task"))?
                .into_inner()
                .task
                .context("the server answered without a task")?;
            render::print_task(&task);
            Ok(())
        }
    }
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    run_command(
        &args.command,
        "submitting the report",
        |mut client, request_id, expected_version| async move {
            client
                .submit_report(pb::SubmitReportRequest {
                    task_id: args.task,
                    request_id,
                    agency: args.agency,
                    period: args.period,
                    content: args.content,
                    expected_version,
                })
                .await
        },
    )
    .await
}

pub async fn coordinate(args: CoordinateArgs) -> anyhow::Result<()> {
    run_command(
        &args.command,
        "recording coordination",
        |mut client, request_id, expected_version| async move {
            client
                .record_coordination(pb::RecordCoordinationRequest {
                    task_id: args.task,
                    request_id,
                    agency: args.agency,
                    note: args.note,
                    expected_version,
                })
                .await
        },
    )
    .await
}
