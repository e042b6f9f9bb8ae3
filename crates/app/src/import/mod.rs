//! Plan import: appendix text → one `AssignTask` per row → events.
//!
//! Two steps. `preview_import` (`preview.rs`) reads the appendix and builds every row's
//! assignment, or fails listing every problem: an import is all or nothing at
//! validation. `Imports::import_plan` then appends, and only if the preview succeeded.
//! The appends are idempotent per task (deterministic task ids, one request id per row,
//! content compared field by field), so re-importing the same appendix records
//! nothing, a revised appendix records one amendment per changed row, and an import
//! interrupted by a NATS failure is completed, not doubled, by sending it again. Rows
//! that disappeared from a revised appendix are flagged on their tasks, never deleted.

mod preview;

pub use preview::{
    preview_import, reporting_policy, ImportPlan, ImportPreview, ImportWarning, PreviewTask,
};

use std::sync::Arc;

use dondoc_domain::{PlanId, RequestId, TaskCommand, TaskId};
use dondoc_eventlog::{ReplayFilter, ReplayStart};
use dondoc_projection::TaskQuery;
use futures::{StreamExt, TryStreamExt};

use crate::error::AppError;
use crate::tracker::Shared;
use crate::write::{CommandMeta, CommandOutcome};

/// Appends in flight at once during an import.
const IMPORT_CONCURRENCY: usize = 16;

/// What an import did.
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

/// Plan imports. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Imports {
    shared: Arc<Shared>,
}

impl Imports {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Whether every event of the log belongs to one of `plans` (so for an empty log):
    /// read from the first event, stopping at the first of another plan. What decides
    /// whether a start may import the sample plans: into an empty log, or to complete an
    /// interrupted first start, never into a log of record holding anything else.
    pub async fn log_holds_only(&self, plans: &[PlanId]) -> Result<bool, AppError> {
        let mut events = self
            .shared
            .log()
            .replay(&ReplayFilter::All, ReplayStart::Sequence(1), None)
            .await?;
        while let Some(event) = events.try_next().await? {
            if !plans.contains(&event.envelope.plan_id) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// What `import` would record, without recording anything.
    pub fn preview(&self, import: &ImportPlan) -> Result<ImportPreview, AppError> {
        preview_import(import, self.shared.agencies())
    }

    /// Imports the plan's appendix (module docs).
    pub async fn import_plan(&self, import: &ImportPlan) -> Result<ImportSummary, AppError> {
        let preview = self.preview(import)?;
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
        let stream_sequence = outcomes
            .iter()
            .chain(&flagged)
            .map(|outcome| outcome.stream_sequence)
            .max()
            .unwrap_or(0);

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
            let writer = self.shared.writer.clone();
            let plan_id = import.plan_id.clone();
            let meta = CommandMeta {
                request_id: row_request_id(&import.request_id, task_id),
                actor: import.actor.clone(),
                expected_version: None,
            };
            async move {
                writer
                    .execute(task_id, Some(&plan_id), &meta, |_, _| command.clone())
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
        let last_sequence = self.shared.log().last_sequence().await?;
        crate::queries::wait_for_sequence(&self.shared.progress, last_sequence).await?;
        let query = TaskQuery {
            plan_id: Some(plan_id.clone()),
            ..Default::default()
        };
        Ok(self
            .shared
            .projection
            .list_all(&query)?
            .into_iter()
            .filter(|view| view.state.missing_from_appendix.is_none())
            .map(|view| view.task_id)
            .filter(|task_id| !present.contains(task_id))
            .collect())
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
