//! `dondoc deadlines`: a reporting policy's deadlines for a year, from the shipped (or a
//! given) holiday calendar. Local, no server.

use anyhow::Context;
use dondoc_domain::{deadlines_for_year, DeadlineKind, ReportingPolicy, PRESET_NAMES};
use time::format_description::well_known::Rfc3339;

use crate::config::HolidaysArg;

#[derive(Debug, clap::Args)]
pub struct DeadlinesArgs {
    /// A preset policy: quang-tri, ba-to or default.
    #[arg(long)]
    policy: String,
    #[arg(long)]
    year: i32,
    /// Print JSON: an array of {period, kind, due, nominal, rolled, last_day_on_time}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    holidays: HolidaysArg,
}

pub fn run(args: DeadlinesArgs) -> anyhow::Result<()> {
    let policy = ReportingPolicy::preset(&args.policy).with_context(|| {
        format!(
            "unknown policy {:?}; the presets are {}",
            args.policy,
            PRESET_NAMES.join(", ")
        )
    })?;
    let holidays = args.holidays.load()?;
    if !holidays.knows_year(args.year) {
        eprintln!(
            "warning: the holiday calendar does not list {}; only weekends count as non-working days",
            args.year
        );
    }
    let deadlines = deadlines_for_year(&policy, args.year, &holidays);
    let format = |instant: time::OffsetDateTime| instant.format(&Rfc3339).unwrap_or_default();
    let kind = |kind: DeadlineKind| match kind {
        DeadlineKind::Quarterly => "quarterly",
        DeadlineKind::Yearly => "yearly",
    };
    if args.json {
        let rows: Vec<serde_json::Value> = deadlines
            .iter()
            .map(|deadline| {
                serde_json::json!({
                    "period": deadline.period.to_string(),
                    "kind": kind(deadline.kind),
                    "due": format(deadline.due),
                    "nominal": format(deadline.nominal),
                    "rolled": deadline.rolled,
                    "last_day_on_time": deadline.last_day_on_time.to_string(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "policy {} (reports to {}), {}",
            policy.name(),
            policy.recipient(),
            args.year
        );
        for deadline in &deadlines {
            let rolled = if deadline.rolled {
                "  (moved: weekend or holiday)"
            } else {
                ""
            };
            println!(
                "{:<8} {:<9} last day {}  late from {}{rolled}",
                deadline.period.to_string(),
                kind(deadline.kind),
                deadline.last_day_on_time,
                format(deadline.due)
            );
        }
    }
    Ok(())
}
