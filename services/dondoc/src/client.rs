//! Client subcommands: talk to a running server over gRPC and print plain text.

use std::path::PathBuf;

use anyhow::Context;
use dondoc_api::pb;
use dondoc_api::TaskServiceClient;
use tonic::transport::Channel;

#[derive(Debug, clap::Args)]
pub struct ServerArg {
    /// The server's gRPC address.
    #[arg(
        long,
        env = "DONDOC_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    server: String,
}

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
    /// With --dry-run: the agency directory folder (default: the shipped one).
    #[arg(long, env = "DONDOC_AGENCIES")]
    agencies: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Subcommand)]
pub enum TasksCommand {
    /// List tasks, in appendix order.
    List {
        #[arg(long)]
        plan: Option<String>,
        /// Lead agency, as written in the plan ("Sở TT&TT").
        #[arg(long)]
        lead: Option<String>,
        #[arg(long)]
        coordinator: Option<String>,
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
    /// Idempotency key (default: a new UUID; pass your own to make retries safe).
    #[arg(long)]
    request_id: Option<String>,
    /// Refuse unless the task is at this version.
    #[arg(long)]
    expected_version: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
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
    #[arg(long)]
    request_id: Option<String>,
    #[arg(long)]
    expected_version: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
}

async fn connect(server: &ServerArg) -> anyhow::Result<TaskServiceClient<Channel>> {
    TaskServiceClient::connect(server.server.clone())
        .await
        .with_context(|| format!("connecting to the dondoc server at {}", server.server))
}

fn status_error(action: &str) -> impl FnOnce(tonic::Status) -> anyhow::Error + '_ {
    move |status| anyhow::anyhow!("{action} failed: {:?}: {}", status.code(), status.message())
}

fn new_request_id(given: Option<String>) -> String {
    given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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
    if args.dry_run {
        let directory = crate::directory::load(args.agencies.as_deref())?;
        let import = dondoc_app::ImportPlan {
            plan_id: dondoc_domain::PlanId::parse(&args.plan)?,
            plan_year: args.year,
            source_name,
            content,
            actor: "dondoc-cli".to_owned(),
            request_id: dondoc_domain::RequestId::parse(&request_id)?,
            province: args.province.clone(),
        };
        let preview = dondoc_app::preview_import(&import, &directory)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&preview.to_json())?);
        } else {
            for task in &preview.tasks {
                let assignment = &task.assignment;
                let lead: Vec<&str> = assignment
                    .lead
                    .iter()
                    .map(|agency| agency.as_str())
                    .collect();
                println!(
                    "{:<6} {}  [{}]  {}",
                    assignment.source.row_number,
                    truncate(&assignment.title, 60),
                    lead.join("; "),
                    assignment.timeframe
                );
            }
            for warning in &preview.warnings {
                println!(
                    "warning: line {} (row {}): {}: {}",
                    warning.line, warning.row_number, warning.field, warning.message
                );
            }
            eprintln!(
                "{} tasks, {} warnings (dry run: nothing recorded)",
                preview.tasks.len(),
                preview.warnings.len()
            );
        }
        return Ok(());
    }
    let mut client = connect(&args.server).await?;
    let response = client
        .import_plan(pb::ImportPlanRequest {
            plan_id: args.plan,
            plan_year: args.year,
            source_name,
            content,
            request_id,
            actor: "dondoc-cli".to_owned(),
            province: args.province.unwrap_or_default(),
        })
        .await
        .map_err(status_error("import"))?
        .into_inner();
    println!(
        "{} tasks: {} created, {} amended, {} unchanged, {} missing from this appendix (flagged)",
        response.task_ids.len(),
        response.tasks_created,
        response.tasks_amended,
        response.tasks_unchanged,
        response.missing_task_ids.len()
    );
    for warning in &response.warnings {
        println!(
            "warning: line {} (row {}): {}: {}",
            warning.line, warning.row_number, warning.field, warning.message
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
            limit,
            server,
        } => {
            let mut client = connect(&server).await?;
            let mut page_token = String::new();
            let mut shown = 0usize;
            loop {
                let page = client
                    .list_tasks(pb::ListTasksRequest {
                        plan_id: plan.clone().unwrap_or_default(),
                        lead_agency: lead.clone().unwrap_or_default(),
                        coordinating_agency: coordinator.clone().unwrap_or_default(),
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
                    println!(
                        "{}  {:<6} v{:<3} {}  [{}]",
                        task.task_id,
                        task.row_number,
                        task.version,
                        truncate(&task.title, 70),
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
            let mut client = connect(&server).await?;
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
            print_task(&task);
            Ok(())
        }
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max_chars - 1).collect::<String>())
    }
}

fn print_task(task: &pb::Task) {
    println!("task        {}", task.task_id);
    println!(
        "plan        {} (row {}, section {} {})",
        task.plan_id, task.row_number, task.section_number, task.section_title
    );
    println!(
        "version     {} (stream sequence {})",
        task.version, task.stream_sequence
    );
    println!("title       {}", task.title);
    if !task.content.is_empty() {
        println!("content     {}", task.content);
    }
    println!("lead        {}", task.lead_agencies.join("; "));
    println!("coordinate  {}", task.coordinating_agencies.join("; "));
    if task.missing_from_appendix {
        println!(
            "missing     from the plan's latest appendix since {}",
            task.missing_since
        );
    }
    for amendment in &task.amendments {
        println!(
            "amended     {} at {} (v{})",
            amendment.changed.join(", "),
            amendment.amended_at,
            amendment.version
        );
    }
    if let Some(timeframe) = &task.timeframe {
        let text = if timeframe.text.is_empty() {
            "(none given)"
        } else {
            &timeframe.text
        };
        println!(
            "timeframe   {text} [{} from {}]",
            timeframe.kind, timeframe.from_year
        );
    }
    for column in &task.extra_columns {
        println!("{:<11} {}", column.header, column.value);
    }
    for report in &task.reports {
        println!(
            "report      {} by {} at {} (v{}): {}",
            report.period, report.agency, report.submitted_at, report.version, report.content
        );
    }
    for coordination in &task.coordinations {
        println!(
            "coordinated {} at {} (v{}): {}",
            coordination.agency, coordination.recorded_at, coordination.version, coordination.note
        );
    }
    for overdue in &task.overdue {
        let who = if overdue.agency.is_empty() {
            String::new()
        } else {
            format!(" by {}", overdue.agency)
        };
        println!(
            "overdue     {}{who} (deadline {})",
            overdue.period, overdue.deadline
        );
    }
}

fn print_command(response: &pb::CommandResponse) {
    let note = if response.unchanged {
        " (already recorded)"
    } else {
        ""
    };
    println!(
        "task {} now at version {}{note}",
        response.task_id, response.version
    );
}

pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .submit_report(pb::SubmitReportRequest {
            task_id: args.task,
            request_id: new_request_id(args.request_id),
            agency: args.agency,
            period: args.period,
            content: args.content,
            expected_version: args.expected_version,
        })
        .await
        .map_err(status_error("submitting the report"))?
        .into_inner();
    print_command(&response);
    Ok(())
}

pub async fn coordinate(args: CoordinateArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .record_coordination(pb::RecordCoordinationRequest {
            task_id: args.task,
            request_id: new_request_id(args.request_id),
            agency: args.agency,
            note: args.note,
            expected_version: args.expected_version,
        })
        .await
        .map_err(status_error("recording coordination"))?
        .into_inner();
    print_command(&response);
    Ok(())
}
