//! What the client subcommands print: plain-text lines and tables for people, stable
//! JSON for scripts. Presentation only: every value comes from the server's answer (or,
//! for a dry run, from the local preview), formatted and never recomputed.

use dondoc_api::pb;
use dondoc_app::ImportPreview;
use dondoc_appendix::SourceFormat;
use dondoc_domain::AgencyName;
use serde_json::{json, Value};

/// Prints a line for a person (`println!` arguments). Every control character and
/// bidirectional mark in it, which only the server's data can bring, is shown as an
/// escape (`\u{1b}`), so a name or a note can never move the cursor, recolour the
/// terminal or reverse the line it is on.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", $crate::client::render::terminal_safe(&format!($($arg)*)))
    };
}
pub(super) use say;

/// `text` with control characters and bidirectional marks escaped (`say!`).
pub(crate) fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = dondoc_domain::is_hidden_char;
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max_chars - 1).collect::<String>())
    }
}

pub(super) fn print_task(task: &pb::Task) {
    say!("task        {}", task.task_id);
    say!(
        "plan        {} (row {}, section {} {})",
        task.plan_id,
        task.row_number,
        task.section_number,
        task.section_title
    );
    say!(
        "version     {} (stream sequence {})",
        task.version,
        task.stream_sequence
    );
    say!("title       {}", task.title);
    if !task.content.is_empty() {
        say!("content     {}", task.content);
    }
    say!("lead        {}", task.lead_agencies.join("; "));
    say!("coordinate  {}", task.coordinating_agencies.join("; "));
    if task.missing_from_appendix {
        say!(
            "missing     from the plan's latest appendix since {}",
            task.missing_since
        );
    }
    for amendment in &task.amendments {
        say!(
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
        say!(
            "timeframe   {text} [{} from {}]",
            timeframe.kind,
            timeframe.from_year
        );
    }
    for column in &task.extra_columns {
        say!("{:<11} {}", column.header, column.value);
    }
    for report in &task.reports {
        say!(
            "report      {} by {} at {} (v{}): {}",
            report.period,
            report.agency,
            report.submitted_at,
            report.version,
            report.content
        );
    }
    for coordination in &task.coordinations {
        say!(
            "coordinated {} at {} (v{}): {}",
            coordination.agency,
            coordination.recorded_at,
            coordination.version,
            coordination.note
        );
    }
    for overdue in &task.overdue {
        let who = if overdue.agency.is_empty() {
            String::new()
        } else {
            format!(" by {}", overdue.agency)
        };
        say!(
            "overdue     {}{who} (deadline {})",
            overdue.period,
            overdue.deadline
        );
    }
}

pub(super) fn print_command(response: &pb::CommandResponse) {
    let note = if response.unchanged {
        " (already recorded)"
    } else {
        ""
    };
    say!(
        "task {} now at version {}{note}",
        response.task_id,
        response.version
    );
}

/// A scorecard as a table, or with `json` as JSON (`dondoc scorecard`, `dondoc audit
/// scorecard`).
pub(super) fn print_scorecard(
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
    say!("scorecard as of {}", response.as_of);
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
        writeln!(stdout, "{}", terminal_safe(&text.join("  "))).is_ok()
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

pub(super) fn print_obligations(obligations: &[pb::Obligation]) {
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

pub(super) fn obligation_json(obligation: &pb::Obligation) -> serde_json::Value {
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

/// A JSON Lines record: the stream sequence and the stored event, its bytes unchanged.
pub(super) fn json_line(event: &pb::AuditEvent) -> String {
    format!(
        "{{\"stream_sequence\":{},\"event\":{}}}",
        event.stream_sequence, event.json
    )
}

pub(super) fn text_line(event: &pb::AuditEvent) -> String {
    let line = format!(
        "{:>8}  {}  {}  {}  v{:<3} {:<26} {}",
        event.stream_sequence,
        event.occurred_at,
        event.plan_id,
        event.task_id,
        event.version,
        event.r#type,
        event.actor
    );
    terminal_safe(&line).into_owned()
}

/// One import warning, as both a dry run and an import print it.
pub(super) fn print_warning(line: usize, row: &str, field: &str, message: &str) {
    say!("warning: line {line} (row {row}): {field}: {message}");
}

/// A dry run as text: one line per task, then the warnings; the summary on stderr.
pub(super) fn print_preview(preview: &ImportPreview) {
    for task in &preview.tasks {
        let assignment = &task.assignment;
        let lead: Vec<&str> = assignment.lead.iter().map(AgencyName::as_str).collect();
        say!(
            "{:<6} {}  [{}]  {}",
            assignment.source.row_number,
            truncate(&assignment.title, 60),
            lead.join("; "),
            assignment.timeframe
        );
    }
    for warning in &preview.warnings {
        print_warning(
            warning.line,
            &warning.row_number,
            &warning.field,
            &warning.message,
        );
    }
    eprintln!(
        "{} tasks, {} warnings, reporting policy {} (dry run: nothing recorded)",
        preview.tasks.len(),
        preview.warnings.len(),
        preview.reporting.policy.name
    );
}

/// The documented dry-run JSON of an import (README, "Importing a plan").
pub(super) fn preview_json(preview: &ImportPreview) -> Value {
    let format = match preview.format {
        SourceFormat::TabSeparated => "tab_separated",
        SourceFormat::Csv => "csv",
        SourceFormat::PdfText => "pdf_text",
    };
    fn names(agencies: &[AgencyName]) -> Vec<&str> {
        agencies.iter().map(AgencyName::as_str).collect()
    }
    let tasks: Vec<Value> = preview
        .tasks
        .iter()
        .map(|task| {
            let assignment = &task.assignment;
            let source = &assignment.source;
            json!({
                "task_id": task.task_id.to_string(),
                "row": source.row_number,
                "occurrence": source.occurrence,
                "line": source.line,
                "section": source.section_number,
                "section_title": source.section_title,
                "title": assignment.title,
                "content": assignment.content,
                "lead": names(&assignment.lead),
                "coordinators": names(&assignment.coordinators),
                "lead_text": source.lead_text,
                "coordinators_text": source.coordinators_text,
                "timeframe": assignment.timeframe.text,
                "schedule": assignment.timeframe.schedule,
                "extra": assignment.extra.iter().map(|column| json!({
                    "header": column.header,
                    "value": column.value,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let warnings: Vec<Value> = preview
        .warnings
        .iter()
        .map(|warning| {
            json!({
                "line": warning.line,
                "row": warning.row_number,
                "field": warning.field,
                "message": warning.message,
            })
        })
        .collect();
    json!({
        "plan_id": preview.plan_id.as_str(),
        "plan_year": preview.plan_year,
        "source_name": preview.source_name,
        "format": format,
        "reporting": {
            "policy": preview.reporting.policy,
            "province": preview.reporting.province,
        },
        "tasks": tasks,
        "warnings": warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bidi_marks_print_as_escapes() {
        assert_eq!(terminal_safe("Sở Y tế"), "Sở Y tế");
        assert_eq!(terminal_safe("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("x\u{202e}y\0"), "x\\u{202e}y\\u{0}");
    }
}
