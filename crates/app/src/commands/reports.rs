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
        let agencies = self.shared.agencies();
        self.shared
            .writer
            .execute(task_id, None, meta, |history, _| {
                Ok(TaskCommand::SubmitReport {
                    period,
                    reported_by: agencies.in_task(
                        &history.state,
                        &history.plan_id,
                        "agency",
                        agency,
                    )?,
                    content: content.to_owned(),
                })
            })
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
        let agencies = self.shared.agencies();
        self.shared
            .writer
            .execute(task_id, None, meta, |history, _| {
                Ok(TaskCommand::RecordCoordination {
                    agency: agencies.in_task(&history.state, &history.plan_id, "agency", agency)?,
                    note: note.to_owned(),
                })
            })
            .await
    }
}
