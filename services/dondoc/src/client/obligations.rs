//! Client subcommands about deadlines: extensions ("gia hạn"), ad hoc and coordination
//! report requests and their answers, an agency's upcoming deadlines, what is overdue,
//! and the scorecard.

use dondoc_api::pb;

use super::render::say;
use super::{new_request_id, render, run_command, status_error, task_service, CommandArgs};
use crate::config::{instant_arg, ScorecardArgs, ServerArg};

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
    #[command(flatten)]
    command: CommandArgs,
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
    #[command(flatten)]
    command: CommandArgs,
}

#[derive(Debug, clap::Args)]
pub struct UpcomingArgs {
    /// The agency, by id ("quang-tri-so-tttt") or name, full or abbreviated ("Sở
    /// TT&TT"); a group also lists its members'.
    #[arg(long)]
    agency: String,
    /// The province the agency's name is read in ("Quảng Trị"), for a name several
    /// provinces know; an agency id needs none.
    #[arg(long)]
    province: Option<String>,
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
    /// Only what this agency owes (an id or a name).
    #[arg(long)]
    agency: Option<String>,
    /// The province the agency's name is read in ("Quảng Trị"), for a name several
    /// provinces know; an agency id needs none.
    #[arg(long)]
    province: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArg,
}

pub async fn extend(args: ExtendArgs) -> anyhow::Result<()> {
    run_command(
        &args.command,
        "extending the deadline",
        |mut client, request_id, expected_version| async move {
            client
                .extend_deadline(pb::ExtendDeadlineRequest {
                    task_id: args.task,
                    request_id,
                    period: args.period.unwrap_or_default(),
                    request_key: args.request.unwrap_or_default(),
                    agency: args.agency.unwrap_or_default(),
                    new_due: args.until,
                    reason: args.reason,
                    granted_by: args.by,
                    expected_version,
                })
                .await
        },
    )
    .await
}

pub async fn request(args: RequestArgs) -> anyhow::Result<()> {
    let mut client = task_service(&args.server).await?;
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
    say!(
        "request {} on task {} now at version {}{note}",
        response.request_key,
        response.task_id,
        response.version
    );
    Ok(())
}

pub async fn answer(args: AnswerArgs) -> anyhow::Result<()> {
    run_command(
        &args.command,
        "answering the request",
        |mut client, request_id, expected_version| async move {
            client
                .answer_request(pb::AnswerRequestRequest {
                    task_id: args.task,
                    request_id,
                    request_key: args.request,
                    agency: args.agency,
                    content: args.content,
                    expected_version,
                })
                .await
        },
    )
    .await
}

pub async fn upcoming(args: UpcomingArgs) -> anyhow::Result<()> {
    let mut client = task_service(&args.server).await?;
    // Every page, in order: the CLI shows the whole list.
    let mut request = pb::ListUpcomingDeadlinesRequest {
        agency: args.agency,
        province: args.province.unwrap_or_default(),
        within_days: args.days,
        ..Default::default()
    };
    let mut response = client
        .list_upcoming_deadlines(request.clone())
        .await
        .map_err(status_error("listing upcoming deadlines"))?
        .into_inner();
    while !response.next_page_token.is_empty() {
        // The same window on every page: the first answer fixed it.
        request.from = response.from.clone();
        request.to = response.to.clone();
        request.within_days = 0;
        request.page_token = std::mem::take(&mut response.next_page_token);
        let next = client
            .list_upcoming_deadlines(request.clone())
            .await
            .map_err(status_error("listing upcoming deadlines"))?
            .into_inner();
        response.obligations.extend(next.obligations);
        response.next_page_token = next.next_page_token;
    }
    if args.json {
        let json = serde_json::json!({
            "agency": response.agency,
            "from": response.from,
            "to": response.to,
            "obligations": response.obligations.iter().map(render::obligation_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    say!(
        "{}: deadlines from {} to {}",
        response.agency,
        response.from,
        response.to
    );
    render::print_obligations(&response.obligations);
    eprintln!("{} open obligation(s)", response.obligations.len());
    Ok(())
}

pub async fn overdue(args: OverdueArgs) -> anyhow::Result<()> {
    let mut client = task_service(&args.server).await?;
    let mut request = pb::ListOverdueRequest {
        plan_id: args.plan.unwrap_or_default(),
        agency: args.agency.unwrap_or_default(),
        province: args.province.unwrap_or_default(),
        ..Default::default()
    };
    let mut response = client
        .list_overdue(request.clone())
        .await
        .map_err(status_error("listing overdue obligations"))?
        .into_inner();
    // Every page, in order: the CLI shows the whole list.
    while !response.next_page_token.is_empty() {
        request.page_token = std::mem::take(&mut response.next_page_token);
        let next = client
            .list_overdue(request.clone())
            .await
            .map_err(status_error("listing overdue obligations"))?
            .into_inner();
        response.obligations.extend(next.obligations);
        response.next_page_token = next.next_page_token;
    }
    if args.json {
        let json = serde_json::json!({
            "as_of": response.as_of,
            "obligations": response.obligations.iter().map(render::obligation_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    say!("overdue as of {}", response.as_of);
    render::print_obligations(&response.obligations);
    eprintln!("{} overdue obligation(s)", response.obligations.len());
    Ok(())
}

pub async fn scorecard(args: ScorecardArgs) -> anyhow::Result<()> {
    let mut client = task_service(&args.server).await?;
    let response = client
        .get_scorecard(pb::GetScorecardRequest {
            agency: args.agency.unwrap_or_default(),
            province: args.province.unwrap_or_default(),
            plan_id: args.plan.unwrap_or_default(),
            period: args.period.unwrap_or_default(),
            as_of: args.as_of.unwrap_or_default(),
            year: args.year.unwrap_or(0),
            min_sequence: 0,
        })
        .await
        .map_err(status_error("reading the scorecard"))?
        .into_inner();
    render::print_scorecard(&response, args.json)
}
