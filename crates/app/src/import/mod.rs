//! Plan import: appendix text → one `AssignTask` per row → events, all or nothing.
//!
//! Three steps. `preview_import` (`preview.rs`) reads the appendix and builds every
//! row's assignment, or fails listing every problem (validation is all or nothing, and
//! every size limit is checked here, before anything is written). `Imports::import_plan`
//! then decides every row on its task as the log has it, and writes all the events the
//! import makes, each tagged with the import's id, followed by the import's commit
//! record (`dondoc_eventlog::EventLog::append_import`). Nothing of an import takes
//! effect before that record is stored: the projection holds its events back, the
//! write side refuses other commands on its tasks (`write/`). So an import of any size
//! is seen whole or not at all, whatever fails in between (a crash of dondoc or of
//! nats-server, a client giving up, an event the server refuses).
//!
//! The import id is derived from the plan and the request id, so sending the same
//! import again after any failure completes it: rows already written are seen in
//! their tasks' histories (assignments are decided by content) and only the rest is
//! written, then the commit record. Once committed, the same request answers with the
//! outcome the commit record holds; the same request id with another appendix is
//! refused (ALREADY_EXISTS). The write phase runs as its own task, so a client that
//! disconnects does not interrupt it halfway either.
//!
//! Rows that disappeared from a revised appendix are flagged on their tasks, in the
//! same import, never deleted.

mod preview;

pub use preview::{
    preview_import, reporting_policy, ImportPlan, ImportPreview, ImportWarning, PreviewTask,
};

use std::sync::Arc;

use dondoc_domain::{
    import_content_digest, import_id_for, EventEnvelope, ImportCommitted, ImportOutcome, PlanId,
    RequestId, TaskCommand, TaskId, CURRENT_SCHEMA_VERSION,
};
use dondoc_eventlog::{
    import_subject, LogError, ReplayFilter, ReplayStart, TaskAppend, MAX_RECORD_BYTES,
};
use dondoc_projection::TaskQuery;
use futures::{StreamExt, TryStreamExt};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AppError;
use crate::tracker::Shared;
use crate::write::Decided;

/// Tasks decided at once during an import.
const IMPORT_CONCURRENCY: usize = 16;

/// How often an import is decided again after a task changed under it.
const MAX_IMPORT_ATTEMPTS: usize = 5;

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
        crate::access::authorize_import(&import.caller, &import.plan_id)?;
        let preview = self.preview(import)?;
        let this = self.clone();
        let import = import.clone();
        // Its own task: a caller that goes away (a client deadline) does not stop an
        // import halfway; the next attempt would complete it, but need not.
        tokio::spawn(async move { this.write_import(&import, preview).await })
            .await
            .map_err(|err| {
                AppError::Interrupted(format!(
                    "the import was interrupted ({err}); send it again with the same request_id"
                ))
            })?
    }

    async fn write_import(
        &self,
        import: &ImportPlan,
        preview: ImportPreview,
    ) -> Result<ImportSummary, AppError> {
        let import_id = import_id_for(&import.plan_id, &import.request_id);
        let content_digest = import_content_digest(
            preview
                .tasks
                .iter()
                .map(|task| (task.task_id, &task.assignment)),
        );
        let task_ids: Vec<TaskId> = preview.tasks.iter().map(|task| task.task_id).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some((sequence, record)) =
                self.shared.log().read_import_commit(&import_id).await?
            {
                return self
                    .committed_outcome(import, &content_digest, task_ids, preview, sequence, record)
                    .await;
            }
            // One instant for the whole import: its events and its commit record are
            // stamped with it, so "as of" an instant sees all of it or none.
            let decided_at = dondoc_domain::in_vietnam(self.shared.writer.clock().now());
            let plan = self
                .decide_import(import, import_id, &preview, decided_at)
                .await?;
            if plan.events == 0 && !plan.resumed {
                // Nothing to record (the plan already is as this appendix has it): no
                // commit record either, so nothing is on record under this request.
                let stream_sequence = plan
                    .rows
                    .iter()
                    .chain(&plan.flags)
                    .map(|decided| decided.history.last_sequence)
                    .max()
                    .unwrap_or(0);
                return Ok(ImportSummary {
                    unchanged: task_ids.len(),
                    task_ids,
                    warnings: preview.warnings,
                    stream_sequence,
                    ..Default::default()
                });
            }
            let outcome = plan.outcome(import_id);
            let commit = ImportCommitted {
                schema_version: CURRENT_SCHEMA_VERSION,
                record_id: Uuid::new_v4(),
                import_id,
                plan_id: import.plan_id.clone(),
                request_id: import.request_id.clone(),
                occurred_at: decided_at,
                actor: import.caller.subject.clone(),
                content_digest: content_digest.clone(),
                outcome,
                sig: None,
                hash: None,
            }
            .signed(self.shared.writer.key());
            let appends = plan.appends(import, import_id, &preview, self.shared.writer.key())?;
            match self.shared.log().append_import(&appends, &commit).await {
                Ok(appended) => {
                    self.shared.writer.note_import_committed(import_id);
                    // Read-your-writes for the importer: answer once this process's read
                    // model shows the import (bounded; the import is committed either way,
                    // and `stream_sequence` lets a reader wait for it).
                    let _ =
                        crate::queries::wait_for_sequence(&self.shared.progress, appended.sequence)
                            .await;
                    tracing::info!(
                        import = %import_id,
                        plan = %import.plan_id,
                        events = outcome.events,
                        "import committed"
                    );
                    return Ok(ImportSummary {
                        task_ids,
                        created: outcome.created as usize,
                        amended: outcome.amended as usize,
                        unchanged: outcome.unchanged as usize,
                        missing: plan.missing(import_id),
                        warnings: preview.warnings,
                        stream_sequence: appended.sequence,
                    });
                }
                // A concurrent attempt of the same import committed it first, or a task
                // changed since it was read: decide again on the log as it is.
                Err(LogError::Conflict { subject, .. }) if attempt < MAX_IMPORT_ATTEMPTS => {
                    tracing::debug!(%subject, attempt, "an import lost a race; deciding again");
                    if subject == import_subject(&import_id) {
                        continue;
                    }
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// The answer to an import whose commit record is stored: its first outcome, or
    /// a refusal if this request id now comes with other content.
    async fn committed_outcome(
        &self,
        import: &ImportPlan,
        content_digest: &str,
        task_ids: Vec<TaskId>,
        preview: ImportPreview,
        sequence: u64,
        record: ImportCommitted,
    ) -> Result<ImportSummary, AppError> {
        if record.content_digest != content_digest {
            return Err(AppError::ImportRequestReused {
                plan_id: import.plan_id.clone(),
                request_id: import.request_id.clone(),
            });
        }
        self.shared.writer.note_import_committed(record.import_id);
        crate::queries::wait_for_sequence(&self.shared.progress, sequence).await?;
        let query = TaskQuery {
            plan_id: Some(import.plan_id.clone()),
            ..Default::default()
        };
        let missing = self
            .shared
            .projection
            .list_all(&query)?
            .into_iter()
            .filter(|view| view.state.missing_from_appendix.is_some())
            .map(|view| view.task_id)
            .filter(|task_id| !task_ids.contains(task_id))
            .collect();
        Ok(ImportSummary {
            task_ids,
            created: record.outcome.created as usize,
            amended: record.outcome.amended as usize,
            unchanged: record.outcome.unchanged as usize,
            missing,
            warnings: preview.warnings,
            stream_sequence: sequence,
        })
    }

    /// Decides every row, and the flags of the plan's tasks the appendix lost.
    async fn decide_import(
        &self,
        import: &ImportPlan,
        import_id: Uuid,
        preview: &ImportPreview,
        decided_at: OffsetDateTime,
    ) -> Result<ImportDecisions, AppError> {
        let rows = preview
            .tasks
            .iter()
            .map(|task| {
                (
                    task.task_id,
                    TaskCommand::AssignTask(task.assignment.clone()),
                )
            })
            .collect();
        let rows = self.decide_all(import, import_id, rows, decided_at).await?;
        let present: Vec<TaskId> = preview.tasks.iter().map(|task| task.task_id).collect();
        let missing = self.tasks_missing_from(&import.plan_id, &present).await?;
        let flags = missing
            .into_iter()
            .map(|task_id| {
                let command = TaskCommand::FlagMissingFromAppendix {
                    source_name: import.source_name.clone(),
                };
                (task_id, command)
            })
            .collect();
        let flags = self
            .decide_all(import, import_id, flags, decided_at)
            .await?;
        let resumed = rows
            .iter()
            .chain(&flags)
            .any(|decided| in_import(decided, import_id));
        let events = rows
            .iter()
            .chain(&flags)
            .map(|decided| decided.events.len())
            .sum();
        Ok(ImportDecisions {
            rows,
            flags,
            resumed,
            events,
        })
    }

    /// Decides one command per task, a bounded number at a time, stopping at the first
    /// error; results in the commands' order.
    async fn decide_all(
        &self,
        import: &ImportPlan,
        import_id: Uuid,
        commands: Vec<(TaskId, TaskCommand)>,
        decided_at: OffsetDateTime,
    ) -> Result<Vec<Decided>, AppError> {
        // Owned futures: borrowing across `buffered` trips the Send checks of
        // async-trait callers (rust-lang/rust#102211).
        let futures = commands.into_iter().map(|(task_id, command)| {
            let writer = self.shared.writer.clone();
            let plan_id = import.plan_id.clone();
            async move {
                writer
                    .decide_for_import(task_id, &plan_id, import_id, &command, decided_at)
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

/// Every row and flag of an import, decided.
struct ImportDecisions {
    rows: Vec<Decided>,
    flags: Vec<Decided>,
    /// Some task already has events of this import (an earlier attempt wrote them).
    resumed: bool,
    /// Events still to write.
    events: usize,
}

/// Whether the task has events of import `import_id` (written by an earlier attempt).
fn in_import(decided: &Decided, import_id: Uuid) -> bool {
    decided
        .history
        .import
        .as_ref()
        .is_some_and(|mark| mark.import_id == import_id)
}

impl ImportDecisions {
    /// What the import does, counting what earlier attempts of it already wrote.
    fn outcome(&self, import_id: Uuid) -> ImportOutcome {
        let mut outcome = ImportOutcome {
            rows: self.rows.len() as u64,
            ..Default::default()
        };
        for decided in &self.rows {
            let version_before = match &decided.history.import {
                Some(mark) if mark.import_id == import_id => Some(mark.version_before),
                _ if !decided.events.is_empty() => Some(decided.history.state.version),
                _ => None,
            };
            match version_before {
                Some(0) => outcome.created += 1,
                Some(_) => outcome.amended += 1,
                None => outcome.unchanged += 1,
            }
        }
        outcome.missing = self.missing(import_id).len() as u64;
        outcome.events = self
            .rows
            .iter()
            .chain(&self.flags)
            .map(|decided| {
                let written = match &decided.history.import {
                    Some(mark) if mark.import_id == import_id => {
                        decided.history.state.version - mark.version_before
                    }
                    _ => 0,
                };
                written + decided.events.len() as u64
            })
            .sum();
        outcome
    }

    /// The tasks this import flags as missing from the appendix.
    fn missing(&self, import_id: Uuid) -> Vec<TaskId> {
        self.flags
            .iter()
            .filter(|decided| !decided.events.is_empty() || in_import(decided, import_id))
            .map(|decided| decided.history.task_id)
            .collect()
    }

    /// The events to write, per task, sealed onto each task's chain and tagged with
    /// the import; refused before anything is written if one would be over the size
    /// NATS takes.
    fn appends(
        &self,
        import: &ImportPlan,
        import_id: Uuid,
        preview: &ImportPreview,
        key: &dondoc_domain::DeploymentKey,
    ) -> Result<Vec<TaskAppend>, AppError> {
        let mut appends = Vec::new();
        for (index, decided) in self.rows.iter().chain(&self.flags).enumerate() {
            if decided.events.is_empty() {
                continue;
            }
            let history = &decided.history;
            let request_id = row_request_id(&import.request_id, history.task_id);
            let mut prev_hash = history.last_hash.clone();
            let mut envelopes = Vec::with_capacity(decided.events.len());
            for (offset, event) in decided.events.iter().enumerate() {
                let mut envelope = EventEnvelope::new(
                    Uuid::new_v4(),
                    history.task_id,
                    history.plan_id.clone(),
                    history.state.version + 1 + offset as u64,
                    decided.decided_at,
                    import.caller.subject.clone(),
                    request_id.clone(),
                    event.clone(),
                );
                envelope.import_id = Some(import_id);
                let envelope = envelope.signed(prev_hash.take(), key);
                let size = envelope.encode().len();
                if size > MAX_RECORD_BYTES {
                    let row = preview
                        .tasks
                        .get(index)
                        .map(|task| {
                            format!(
                                "row {} (line {})",
                                task.assignment.source.row_number, task.assignment.source.line
                            )
                        })
                        .unwrap_or_else(|| format!("task {}", history.task_id));
                    return Err(dondoc_domain::InvalidInput::new(
                        "content",
                        format!(
                            "{row} makes an event of {size} bytes; the limit is {MAX_RECORD_BYTES} bytes"
                        ),
                    )
                    .into());
                }
                prev_hash = envelope.hash.clone();
                envelopes.push(envelope);
            }
            appends.push(TaskAppend {
                envelopes,
                expected_last_sequence: history.last_sequence,
            });
        }
        Ok(appends)
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
