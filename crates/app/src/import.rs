//! Plan import: appendix text → one `AssignTask` per row → events.
//!
//! Validation is all or nothing: every row is checked before the first event is
//! appended, and any problem rejects the whole import, naming each row. The appends
//! themselves are idempotent per task (deterministic task ids, one request id per row,
//! identical content decides no event), so an import interrupted by a NATS failure is
//! completed, not doubled, by sending it again.

use dondoc_appendix::{parse_appendix, AppendixRow};
use dondoc_domain::{
    AgencyName, AppendixRowRef, ExtraColumn, PlanId, RequestId, Schedule, TaskAssigned,
    TaskCommand, TaskId, Timeframe,
};
use futures::{StreamExt, TryStreamExt};

use crate::error::AppError;
use crate::tracker::{CommandMeta, Tracker};

/// Appends in flight at once during an import.
const IMPORT_CONCURRENCY: usize = 16;

#[derive(Clone, Debug)]
pub struct ImportPlan {
    pub plan_id: PlanId,
    /// The year the plan covers; rows without a timeframe take it.
    pub plan_year: i32,
    /// A name for the document, recorded on every task (a file name, usually).
    pub source_name: String,
    /// The whole document or just its appendix table.
    pub content: String,
    pub actor: String,
    /// Idempotency key of the import; each row's command derives its own from it.
    pub request_id: RequestId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    pub line: usize,
    pub row_number: String,
    pub field: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Every task of the appendix, in appendix order.
    pub task_ids: Vec<TaskId>,
    pub created: usize,
    pub unchanged: usize,
    pub warnings: Vec<ImportWarning>,
    /// The highest stream sequence among the import's tasks: a `min_sequence` for reads.
    pub stream_sequence: u64,
}

/// One validated row, ready to be assigned.
struct PreparedRow {
    task_id: TaskId,
    request_id: RequestId,
    assignment: TaskAssigned,
}

impl Tracker {
    pub async fn import_plan(&self, import: &ImportPlan) -> Result<ImportSummary, AppError> {
        let (rows, warnings) = prepare(import)?;
        let task_ids: Vec<TaskId> = rows.iter().map(|row| row.task_id).collect();
        // Owned futures: borrowing rows across `buffered` trips the Send checks of
        // async-trait callers (rust-lang/rust#102211).
        let commands = rows.into_iter().map(|row| {
            let tracker = self.clone();
            let plan_id = import.plan_id.clone();
            let meta = CommandMeta {
                request_id: row.request_id,
                actor: import.actor.clone(),
                expected_version: None,
            };
            async move {
                let command = TaskCommand::AssignTask(row.assignment);
                tracker
                    .execute(row.task_id, Some(&plan_id), &command, &meta)
                    .await
            }
        });
        let outcomes: Vec<_> = futures::stream::iter(commands)
            .buffered(IMPORT_CONCURRENCY)
            .try_collect()
            .await?;
        let created = outcomes.iter().filter(|outcome| !outcome.unchanged).count();
        Ok(ImportSummary {
            task_ids,
            created,
            unchanged: outcomes.len() - created,
            warnings,
            stream_sequence: outcomes
                .iter()
                .map(|outcome| outcome.stream_sequence)
                .max()
                .unwrap_or(0),
        })
    }
}

/// Parses and checks every row; fails with every problem found, or returns all rows.
fn prepare(import: &ImportPlan) -> Result<(Vec<PreparedRow>, Vec<ImportWarning>), AppError> {
    if !(2000..=2100).contains(&import.plan_year) {
        return Err(dondoc_domain::InvalidInput::new(
            "plan_year",
            format!("{} is not a year between 2000 and 2100", import.plan_year),
        )
        .into());
    }
    let appendix = parse_appendix(&import.content).map_err(|error| AppError::Appendix {
        source_name: import.source_name.clone(),
        error,
    })?;
    let mut prepared = Vec::with_capacity(appendix.rows.len());
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for row in &appendix.rows {
        match prepare_row(import, row, &mut warnings) {
            Ok(prepared_row) => prepared.push(prepared_row),
            Err(problem) => problems.push(format!(
                "line {} (row {}): {problem}",
                row.line, row.row_number
            )),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::RejectedRows {
            source_name: import.source_name.clone(),
            problems,
        });
    }
    Ok((prepared, warnings))
}

fn prepare_row(
    import: &ImportPlan,
    row: &AppendixRow,
    warnings: &mut Vec<ImportWarning>,
) -> Result<PreparedRow, String> {
    let parse_agencies = |field: &str, names: &[String]| -> Result<Vec<AgencyName>, String> {
        names
            .iter()
            .map(|name| AgencyName::parse(name).map_err(|err| format!("{field}: {}", err.message)))
            .collect()
    };
    let lead = parse_agencies("lead", &row.lead)?;
    if lead.is_empty() {
        return Err("lead: the row names no lead agency".to_owned());
    }
    let coordinators = parse_agencies("coordinators", &row.coordinators)?;
    if row.title.trim().is_empty() {
        return Err("title: the row has no task text".to_owned());
    }
    let timeframe = Timeframe::parse(row.timeframe.as_deref(), import.plan_year);
    if let Schedule::Unparsed { from } = timeframe.schedule {
        warnings.push(ImportWarning {
            line: row.line,
            row_number: row.row_number.clone(),
            field: "timeframe",
            message: format!(
                "{:?} is not a year, a range, \"Hằng năm\" or \"Thường xuyên\"; kept as written, \
                 reports accepted from {from}",
                row.timeframe.as_deref().unwrap_or_default()
            ),
        });
    }
    let section_number = row.section.as_ref().map(|section| section.number.clone());
    let task_id = TaskId::for_appendix_row(
        &import.plan_id,
        section_number.as_deref(),
        &row.row_number,
        row.occurrence,
    );
    let request_id = RequestId::parse(&format!("{}:{}", import.request_id, task_id))
        .or_else(|_| RequestId::parse(&format!("import:{task_id}")))
        .map_err(|err| err.to_string())?;
    Ok(PreparedRow {
        task_id,
        request_id,
        assignment: TaskAssigned {
            plan_year: import.plan_year,
            title: row.title.trim().to_owned(),
            content: row.content.clone(),
            lead,
            coordinators,
            timeframe,
            source: AppendixRowRef {
                source_name: import.source_name.clone(),
                line: row.line,
                position: row.position,
                row_number: row.row_number.clone(),
                occurrence: row.occurrence,
                section_number,
                section_title: row.section.as_ref().map(|section| section.title.clone()),
                lead_text: row.lead_text.clone(),
                coordinators_text: row.coordinators_text.clone(),
            },
            extra: row
                .extra
                .iter()
                .map(|(header, value)| ExtraColumn {
                    header: header.clone(),
                    value: value.clone(),
                })
                .collect(),
        },
    })
}
