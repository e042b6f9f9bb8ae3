//! Client subcommands: talk to a running server over gRPC and print plain text (tables
//! for the deadline queries), or, with --json, stable JSON.

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
    pub(crate) server: String,
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

pub(crate) fn status_error(action: &str) -> impl FnOnce(tonic::Status) -> anyhow::Error + '_ {
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
        let directory = crate::directory::load(args.agencies.as_deref())?;
        let import = dondoc_app::ImportPlan {
            plan_id: dondoc_domain::PlanId::parse(&args.plan)?,
            plan_year: args.year,
            source_name,
            content,
            actor: "dondoc-cli".to_owned(),
            request_id: dondoc_domain::RequestId::parse(&request_id)?,
            province: args.province.clone(),
            policy,
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
                "{} tasks, {} warnings, reporting policy {} (dry run: nothing recorded)",
                preview.tasks.len(),
                preview.warnings.len(),
                preview.reporting.policy.name
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
            policy: args.policy.unwrap_or_default(),
            policy_json: policy_json.unwrap_or_default(),
        })
        .await
        .map_err(status_error("import"))?
        .into_inner();
    println!(
        "{} tasks: {} created, {} amended, {} unchanged, {} missing from this appendix (flagged); reporting policy {}",
        response.task_ids.len(),
        response.tasks_created,
        response.tasks_amended,
        response.tasks_unchanged,
        response.missing_task_ids.len(),
        response.policy
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

/// Checks an RFC 3339 instant on the command line, keeping the text as written.
pub(crate) fn instant_arg(text: &str) -> Result<String, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|_| text.to_owned())
        .map_err(|error| {
            format!("{text:?} is not an RFC 3339 instant like 2024-03-25T00:00:00+07:00: {error}")
        })
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("duty").required(true).args(["period", "request"])))]
pub struct ExtendArgs {
    /// The task's id.
    task: String,
    /// The period of a periodic report: "2024" (yearly) or "2024-Q1".
    #[arg(long)]
    period: Option<String>,
    /// The key of a report request.
    #[arg(long)]
    request: Option<String>,
    /// Only for this agency (a group: for its members). Default: every agency that owes it.
    #[arg(long)]
    agency: Option<String>,
    /// The new deadline (RFC 3339): the first instant at which a report is late.
    #[arg(long, value_parser = instant_arg)]
    until: String,
    #[arg(long)]
    reason: String,
    /// Who grants the extension (the plan's owner).
    #[arg(long)]
    by: String,
    /// Idempotency key (default: a new UUID).
    #[arg(long)]
    request_id: Option<String>,
    #[arg(long)]
    expected_version: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// The task's id.
    task: String,
    /// ad-hoc: the plan's owner asks lead agencies; coordination: a lead agency asks
    /// coordinating agencies.
    #[arg(long, value_parser = ["ad-hoc", "coordination"])]
    kind: String,
    /// Who asks.
    #[arg(long)]
    from: String,
    /// Who must answer (one or more; quote names with spaces).
    #[arg(long, required = true, num_args = 1..)]
    to: Vec<String>,
    /// The deadline (RFC 3339): the first instant at which an answer is late.
    #[arg(long, value_parser = instant_arg)]
    due: String,
    #[arg(long)]
    subject: String,
    /// The request's key (default: derived from the request id).
    #[arg(long)]
    key: Option<String>,
    /// Idempotency key (default: "request-KEY" with --key, else a new UUID).
    #[arg(long)]
    request_id: Option<String>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// The task's id.
    task: String,
    /// The request's key.
    #[arg(long)]
    request: String,
    /// The answering agency.
    #[arg(long)]
    agency: String,
    #[arg(long)]
    content: String,
    /// Idempotency key (default: a new UUID).
    #[arg(long)]
    request_id: Option<String>,
    #[arg(long)]
    expected_version: Option<u64>,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct UpcomingArgs {
    /// The agency, full or abbreviated ("Sở TT&TT"); a group also lists its members'.
    #[arg(long)]
    agency: String,
    /// How many days ahead to look.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct OverdueArgs {
    #[arg(long)]
    plan: Option<String>,
    /// Only what this agency owes.
    #[arg(long)]
    agency: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(Debug, clap::Args)]
pub struct ScorecardArgs {
    /// One agency (default: every agency that owes something).
    #[arg(long)]
    agency: Option<String>,
    #[arg(long)]
    plan: Option<String>,
    /// Exactly this period: "2024" (the yearly report only) or "2024-Q1".
    #[arg(long)]
    period: Option<String>,
    /// Every period of this year (its quarters and yearly report).
    #[arg(long)]
    year: Option<i32>,
    /// As of this instant (RFC 3339; default: now).
    #[arg(long, value_parser = instant_arg)]
    as_of: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArg,
}

pub async fn extend(args: ExtendArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .extend_deadline(pb::ExtendDeadlineRequest {
            task_id: args.task,
            request_id: new_request_id(args.request_id),
            period: args.period.unwrap_or_default(),
            request_key: args.request.unwrap_or_default(),
            agency: args.agency.unwrap_or_default(),
            new_due: args.until,
            reason: args.reason,
            granted_by: args.by,
            expected_version: args.expected_version,
        })
        .await
        .map_err(status_error("extending the deadline"))?
        .into_inner();
    print_command(&response);
    Ok(())
}

pub async fn request(args: RequestArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let request_id = match (args.request_id, &args.key) {
        (Some(id), _) => id,
        (None, Some(key)) => format!("request-{key}"),
        (None, None) => new_request_id(None),
    };
    let response = client
        .request_report(pb::RequestReportRequest {
            task_id: args.task,
            request_id,
            kind: args.kind.replace('-', "_"),
            requested_by: args.from,
            agencies: args.to,
            due: args.due,
            subject: args.subject,
            request_key: args.key.unwrap_or_default(),
            expected_version: None,
        })
        .await
        .map_err(status_error("requesting the report"))?
        .into_inner();
    let note = if response.unchanged {
        " (already recorded)"
    } else {
        ""
    };
    println!(
        "request {} on task {} now at version {}{note}",
        response.request_key, response.task_id, response.version
    );
    Ok(())
}

pub async fn answer(args: AnswerArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .answer_request(pb::AnswerRequestRequest {
            task_id: args.task,
            request_id: new_request_id(args.request_id),
            request_key: args.request,
            agency: args.agency,
            content: args.content,
            expected_version: args.expected_version,
        })
        .await
        .map_err(status_error("answering the request"))?
        .into_inner();
    print_command(&response);
    Ok(())
}

pub async fn upcoming(args: UpcomingArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .list_upcoming_deadlines(pb::ListUpcomingDeadlinesRequest {
            agency: args.agency,
            within_days: args.days,
            ..Default::default()
        })
        .await
        .map_err(status_error("listing upcoming deadlines"))?
        .into_inner();
    if args.json {
        let json = serde_json::json!({
            "agency": response.agency,
            "from": response.from,
            "to": response.to,
            "obligations": response.obligations.iter().map(obligation_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!(
        "{}: deadlines from {} to {}",
        response.agency, response.from, response.to
    );
    print_obligations(&response.obligations);
    eprintln!("{} open obligation(s)", response.obligations.len());
    Ok(())
}

pub async fn overdue(args: OverdueArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .list_overdue(pb::ListOverdueRequest {
            plan_id: args.plan.unwrap_or_default(),
            agency: args.agency.unwrap_or_default(),
            min_sequence: 0,
        })
        .await
        .map_err(status_error("listing overdue obligations"))?
        .into_inner();
    if args.json {
        let json = serde_json::json!({
            "as_of": response.as_of,
            "obligations": response.obligations.iter().map(obligation_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("overdue as of {}", response.as_of);
    print_obligations(&response.obligations);
    eprintln!("{} overdue obligation(s)", response.obligations.len());
    Ok(())
}

pub async fn scorecard(args: ScorecardArgs) -> anyhow::Result<()> {
    let mut client = connect(&args.server).await?;
    let response = client
        .get_scorecard(pb::GetScorecardRequest {
            agency: args.agency.unwrap_or_default(),
            plan_id: args.plan.unwrap_or_default(),
            period: args.period.unwrap_or_default(),
            as_of: args.as_of.unwrap_or_default(),
            year: args.year.unwrap_or(0),
            min_sequence: 0,
        })
        .await
        .map_err(status_error("reading the scorecard"))?
        .into_inner();
    print_scorecard(&response, args.json)
}

/// A scorecard as a table, or with `json` as JSON (`dondoc scorecard`, `dondoc audit
/// scorecard`).
pub(crate) fn print_scorecard(
    response: &pb::GetScorecardResponse,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let json = serde_json::json!({
            "as_of": response.as_of,
            "rows": response.rows.iter().map(scorecard_row_json).collect::<Vec<_>>(),
            "totals": response.totals.iter().map(scorecard_row_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!("scorecard as of {}", response.as_of);
    let rows: Vec<Vec<String>> = response
        .rows
        .iter()
        .chain(&response.totals)
        .map(|row| {
            vec![
                truncate(&row.agency, 50),
                if row.period.is_empty() {
                    "all".to_owned()
                } else {
                    row.period.clone()
                },
                row.pending.to_string(),
                row.extended.to_string(),
                row.overdue.to_string(),
                row.reported_on_time.to_string(),
                row.reported_late.to_string(),
                row.total.to_string(),
                row.on_time_rate
                    .map_or_else(|| "-".to_owned(), |rate| format!("{:.0}%", rate * 100.0)),
            ]
        })
        .collect();
    print_table(
        &[
            "AGENCY",
            "PERIOD",
            "PENDING",
            "EXTENDED",
            "OVERDUE",
            "ON TIME",
            "LATE",
            "TOTAL",
            "ON-TIME RATE",
        ],
        &rows,
    );
    Ok(())
}

/// Columns padded to their widest cell (in characters); the last is not padded. Stops
/// quietly when stdout is closed (`dondoc overdue | head`).
fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    use std::io::Write;
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut stdout = std::io::stdout().lock();
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(column, cell)| {
                if column == last {
                    (*cell).to_owned()
                } else {
                    let padding = widths[column].saturating_sub(cell.chars().count());
                    format!("{cell}{}", " ".repeat(padding))
                }
            })
            .collect();
        writeln!(stdout, "{}", text.join("  ")).is_ok()
    };
    if !line(headers.to_vec()) {
        return;
    }
    for row in rows {
        if !line(row.iter().map(String::as_str).collect()) {
            return;
        }
    }
}

fn duty_text(obligation: &pb::Obligation) -> String {
    if obligation.request_key.is_empty() {
        obligation.period.clone()
    } else {
        format!("request {}", obligation.request_key)
    }
}

fn print_obligations(obligations: &[pb::Obligation]) {
    let rows: Vec<Vec<String>> = obligations
        .iter()
        .map(|obligation| {
            let agency = if obligation.via_group.is_empty() {
                obligation.agency.clone()
            } else {
                format!("{} (via {})", obligation.agency, obligation.via_group)
            };
            let status = if obligation.original_due == obligation.due {
                obligation.status.clone()
            } else {
                format!(
                    "{} (was due {})",
                    obligation.status, obligation.original_due
                )
            };
            vec![
                obligation.due.clone(),
                duty_text(obligation),
                truncate(&agency, 60),
                status,
                obligation.plan_id.clone(),
                obligation.row_number.clone(),
                obligation.task_id.clone(),
                truncate(&obligation.task_title, 50),
            ]
        })
        .collect();
    print_table(
        &[
            "DUE", "REPORT", "AGENCY", "STATUS", "PLAN", "ROW", "TASK", "TITLE",
        ],
        &rows,
    );
}

/// `null` for an empty string.
fn text_or_null(text: &str) -> serde_json::Value {
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::String(text.to_owned())
    }
}

fn obligation_json(obligation: &pb::Obligation) -> serde_json::Value {
    serde_json::json!({
        "task_id": obligation.task_id,
        "plan_id": obligation.plan_id,
        "row_number": obligation.row_number,
        "task_title": obligation.task_title,
        "agency": obligation.agency,
        "via_group": text_or_null(&obligation.via_group),
        "period": text_or_null(&obligation.period),
        "request_key": text_or_null(&obligation.request_key),
        "request_kind": text_or_null(&obligation.request_kind),
        "requested_by": text_or_null(&obligation.requested_by),
        "subject": text_or_null(&obligation.subject),
        "original_due": obligation.original_due,
        "due": obligation.due,
        "last_day_on_time": text_or_null(&obligation.last_day_on_time),
        "status": obligation.status,
        "reported_at": text_or_null(&obligation.reported_at),
        "extension": obligation.extension.as_ref().map(|extension| serde_json::json!({
            "reason": extension.reason,
            "granted_by": extension.granted_by,
            "granted_at": extension.granted_at,
        })),
    })
}

fn scorecard_row_json(row: &pb::ScorecardRow) -> serde_json::Value {
    serde_json::json!({
        "agency": row.agency,
        "period": text_or_null(&row.period),
        "pending": row.pending,
        "extended": row.extended,
        "overdue": row.overdue,
        "reported_on_time": row.reported_on_time,
        "reported_late": row.reported_late,
        "total": row.total,
        "on_time_rate": row.on_time_rate,
    })
}
