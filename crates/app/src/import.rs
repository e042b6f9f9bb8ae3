//! Plan import: appendix text → one `AssignTask` per row → events.
//!
//! Two steps. `preview_import` is pure: it reads the appendix, resolves every agency
//! name through the directory and builds each row's assignment, or fails listing every
//! problem with its line. `Tracker::import_plan` then appends, and only if the preview
//! succeeded: an import is all or nothing at validation. The appends are idempotent per
//! task (deterministic task ids, one request id per row, content compared field by
//! field), so re-importing the same appendix records nothing, a revised appendix records
//! one amendment per changed row, and an import interrupted by a NATS failure is
//! completed, not doubled, by sending it again. Rows that disappeared from a revised
//! appendix are flagged on their tasks, never deleted.

use dondoc_agencies::{AgencyDirectory, Resolution};
use dondoc_appendix::{parse_appendix_with, AppendixRow, ParseOptions, SourceFormat};
use dondoc_domain::{
    AgencyName, AppendixRowRef, ExtraColumn, InvalidInput, PlanId, PlanReporting, ReportingPolicy,
    RequestId, Schedule, TaskAssigned, TaskCommand, TaskId, Timeframe,
};
use dondoc_projection::TaskQuery;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::tracker::{CommandMeta, CommandOutcome, Tracker};

/// Appends in flight at once during an import.
const IMPORT_CONCURRENCY: usize = 16;

#[derive(Clone, Debug)]
pub struct ImportPlan {
    pub plan_id: PlanId,
    /// The year the plan covers; rows without a timeframe take it.
    pub plan_year: i32,
    /// A name for the document, recorded on every task (a file name, usually).
    pub source_name: String,
    /// The whole document or just its appendix table (tab-separated, CSV or PDF text).
    pub content: String,
    pub actor: String,
    /// Idempotency key of the import; each row's command derives its own from it.
    pub request_id: RequestId,
    /// The plan's province in the agency directory ("Quảng Ngãi"): its entries decide
    /// what a name means. Without it, a name resolves only where all provinces agree.
    pub province: Option<String>,
    /// The plan's reporting policy, recorded on each of its tasks. `None`: the preset
    /// for the province (`ReportingPolicy::for_province`).
    pub policy: Option<ReportingPolicy>,
}

impl ImportPlan {
    /// The reporting rules the import records on each task.
    pub fn reporting(&self) -> PlanReporting {
        let policy = self
            .policy
            .clone()
            .unwrap_or_else(|| ReportingPolicy::for_province(self.province.as_deref()));
        PlanReporting {
            policy: policy.into_spec(),
            province: self.province.clone(),
        }
    }
}

/// Something worth a reader's attention that does not block the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    pub line: usize,
    /// Empty for warnings about the table rather than a row.
    pub row_number: String,
    pub field: String,
    pub message: String,
}

/// The appendix as it would be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPreview {
    pub plan_id: PlanId,
    pub plan_year: i32,
    pub source_name: String,
    pub format: SourceFormat,
    pub reporting: PlanReporting,
    pub tasks: Vec<PreviewTask>,
    pub warnings: Vec<ImportWarning>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewTask {
    pub task_id: TaskId,
    pub assignment: TaskAssigned,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Every task of the appendix, in appendix order.
    pub task_ids: Vec<TaskId>,
    pub created: usize,
    /// Existing tasks whose row changed (or came back after going missing).
    pub amended: usize,
    pub unchanged: usize,
    /// Tasks of the plan whose rows this appendix no longer has (flagged, not deleted).
    pub missing: Vec<TaskId>,
    pub warnings: Vec<ImportWarning>,
    /// The highest stream sequence the import touched: a `min_sequence` for reads.
    pub stream_sequence: u64,
}

/// Reads the appendix and builds every task it would import, or lists every problem.
pub fn preview_import(
    import: &ImportPlan,
    directory: &AgencyDirectory,
) -> Result<ImportPreview, AppError> {
    if !(2000..=2100).contains(&import.plan_year) {
        return Err(InvalidInput::new(
            "plan_year",
            format!("{} is not a year between 2000 and 2100", import.plan_year),
        )
        .into());
    }
    let options = ParseOptions {
        known_agencies: directory.known_names(),
    };
    let appendix =
        parse_appendix_with(&import.content, &options).map_err(|error| AppError::Appendix {
            source_name: import.source_name.clone(),
            error,
        })?;
    let mut warnings: Vec<ImportWarning> = appendix
        .warnings
        .iter()
        .map(|warning| ImportWarning {
            line: warning.line,
            row_number: String::new(),
            field: warning.column.clone().unwrap_or_else(|| "table".to_owned()),
            message: warning.message.clone(),
        })
        .collect();
    let mut tasks = Vec::with_capacity(appendix.rows.len());
    let mut problems = Vec::new();
    for row in &appendix.rows {
        match prepare_row(import, directory, row, &mut warnings) {
            Ok(task) => tasks.push(task),
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
    Ok(ImportPreview {
        plan_id: import.plan_id.clone(),
        plan_year: import.plan_year,
        source_name: import.source_name.clone(),
        format: appendix.format,
        reporting: import.reporting(),
        tasks,
        warnings,
    })
}

impl Tracker {
    pub async fn import_plan(&self, import: &ImportPlan) -> Result<ImportSummary, AppError> {
        let preview = preview_import(import, self.directory())?;
        let task_ids: Vec<TaskId> = preview.tasks.iter().map(|task| task.task_id).collect();
        let commands = preview
            .tasks
            .into_iter()
            .map(|task| (task.task_id, TaskCommand::AssignTask(task.assignment)));
        let outcomes = self.execute_all(import, commands.collect()).await?;
        let created = outcomes
            .iter()
            .filter(|outcome| !outcome.unchanged && outcome.version == 1)
            .count();
        let amended = outcomes
            .iter()
            .filter(|outcome| !outcome.unchanged && outcome.version > 1)
            .count();
        let mut stream_sequence = outcomes
            .iter()
            .map(|outcome| outcome.stream_sequence)
            .max()
            .unwrap_or(0);

        let missing = self.tasks_missing_from(&import.plan_id, &task_ids).await?;
        let flags = missing
            .iter()
            .map(|task_id| {
                let command = TaskCommand::FlagMissingFromAppendix {
                    source_name: import.source_name.clone(),
                };
                (*task_id, command)
            })
            .collect();
        let flagged = self.execute_all(import, flags).await?;
        stream_sequence = stream_sequence.max(
            flagged
                .iter()
                .map(|outcome| outcome.stream_sequence)
                .max()
                .unwrap_or(0),
        );

        Ok(ImportSummary {
            unchanged: outcomes.len() - created - amended,
            task_ids,
            created,
            amended,
            missing,
            warnings: preview.warnings,
            stream_sequence,
        })
    }

    /// Runs one command per task, a bounded number at a time, stopping at the first error.
    async fn execute_all(
        &self,
        import: &ImportPlan,
        commands: Vec<(TaskId, TaskCommand)>,
    ) -> Result<Vec<CommandOutcome>, AppError> {
        // Owned futures: borrowing across `buffered` trips the Send checks of
        // async-trait callers (rust-lang/rust#102211).
        let futures = commands.into_iter().map(|(task_id, command)| {
            let tracker = self.clone();
            let plan_id = import.plan_id.clone();
            let meta = CommandMeta {
                request_id: row_request_id(&import.request_id, task_id),
                actor: import.actor.clone(),
                expected_version: None,
            };
            async move {
                tracker
                    .execute(task_id, Some(&plan_id), &command, &meta)
                    .await
            }
        });
        futures::stream::iter(futures)
            .buffered(IMPORT_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Tasks of the plan, not in `present` and not flagged yet, once the projection has
    /// caught up with the log.
    async fn tasks_missing_from(
        &self,
        plan_id: &PlanId,
        present: &[TaskId],
    ) -> Result<Vec<TaskId>, AppError> {
        self.wait_for_sequence(self.log_last_sequence().await?)
            .await?;
        let mut missing = Vec::new();
        let mut query = TaskQuery {
            plan_id: Some(plan_id.clone()),
            page_size: dondoc_projection::MAX_PAGE_SIZE,
            ..Default::default()
        };
        loop {
            let page = self.projection().list(&query)?;
            missing.extend(
                page.tasks
                    .iter()
                    .filter(|view| view.state.missing_from_appendix.is_none())
                    .map(|view| view.task_id)
                    .filter(|task_id| !present.contains(task_id)),
            );
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return Ok(missing),
            }
        }
    }
}

/// Each row's command has its own request id, derived from the import's.
fn row_request_id(import_request: &RequestId, task_id: TaskId) -> RequestId {
    RequestId::parse(&format!("{import_request}:{task_id}"))
        // An import request id too long to extend: the task id alone still identifies
        // the row, and assignment commands are deduplicated by content anyway.
        .or_else(|_| RequestId::parse(&format!("import:{task_id}")))
        .unwrap_or_else(|_| import_request.clone())
}

fn prepare_row(
    import: &ImportPlan,
    directory: &AgencyDirectory,
    row: &AppendixRow,
    warnings: &mut Vec<ImportWarning>,
) -> Result<PreviewTask, String> {
    let mut resolve = |field: &'static str, names: &[String]| -> Result<Vec<AgencyName>, String> {
        let mut agencies: Vec<AgencyName> = Vec::new();
        for written in names {
            let canonical = match directory.resolve_for(import.province.as_deref(), written) {
                Resolution::Agency(agency) => agency.name,
                Resolution::Group(group) => group.name,
                Resolution::Unknown { suggestions } => {
                    let closest = if suggestions.is_empty() {
                        "no close match".to_owned()
                    } else {
                        format!("closest known: {}", suggestions.join("; "))
                    };
                    warnings.push(ImportWarning {
                        line: row.line,
                        row_number: row.row_number.clone(),
                        field: field.to_owned(),
                        message: format!("{written:?} is not in the agency directory; kept as written ({closest})"),
                    });
                    written.clone()
                }
            };
            let agency =
                AgencyName::parse(&canonical).map_err(|err| format!("{field}: {}", err.message))?;
            if !agencies.contains(&agency) {
                agencies.push(agency);
            }
        }
        Ok(agencies)
    };
    let lead = resolve("lead", &row.lead)?;
    if lead.is_empty() {
        return Err("lead: the row names no lead agency".to_owned());
    }
    let coordinators = resolve("coordinators", &row.coordinators)?;
    if row.title.trim().is_empty() {
        return Err("title: the row has no task text".to_owned());
    }
    let timeframe = Timeframe::parse(row.timeframe.as_deref(), import.plan_year);
    if let Schedule::Unparsed { from } = timeframe.schedule {
        warnings.push(ImportWarning {
            line: row.line,
            row_number: row.row_number.clone(),
            field: "timeframe".to_owned(),
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
    Ok(PreviewTask {
        task_id,
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
            reporting: Some(import.reporting()),
        },
    })
}

impl ImportPreview {
    /// The documented dry-run JSON (README, "Importing a plan").
    pub fn to_json(&self) -> Value {
        let format = match self.format {
            SourceFormat::TabSeparated => "tab_separated",
            SourceFormat::Csv => "csv",
            SourceFormat::PdfText => "pdf_text",
        };
        fn names(agencies: &[AgencyName]) -> Vec<&str> {
            agencies.iter().map(AgencyName::as_str).collect()
        }
        let tasks: Vec<Value> = self
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
        let warnings: Vec<Value> = self
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
            "plan_id": self.plan_id.as_str(),
            "plan_year": self.plan_year,
            "source_name": self.source_name,
            "format": format,
            "reporting": {
                "policy": self.reporting.policy,
                "province": self.reporting.province,
            },
            "tasks": tasks,
            "warnings": warnings,
        })
    }
}
