//! A lead agency's report on a period, and a coordinating agency's note: commands whose
//! rules the aggregate checks alone (the period lies in the task's timeframe and has
//! started; the text is not empty).

use dondoc_domain::{AgencyName, ReportingPeriod, TaskCommand, TaskId};

use super::Commands;
use crate::error::AppError;
use crate::write::{CommandMeta, CommandOutcome};

impl Commands {
    /// Records `agency`'s report for `period`.
    pub async fn submit_report(
        &self,
        task_id: TaskId,
        period: ReportingPeriod,
        agency: &AgencyName,
        content: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = TaskCommand::SubmitReport {
            period,
            reported_by: self.shared.agencies().canonical(agency),
            content: content.to_owned(),
        };
        self.shared
            .writer
            .execute(task_id, None, meta, |_, _| command.clone())
            .await
    }

    /// Records what `agency` did for the task.
    pub async fn record_coordination(
        &self,
        task_id: TaskId,
        agency: &AgencyName,
        note: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let command = TaskCommand::RecordCoordination {
            agency: self.shared.agencies().canonical(agency),
            note: note.to_owned(),
        };
        self.shared
            .writer
            .execute(task_id, None, meta, |_, _| command.clone())
            .await
    }
}
