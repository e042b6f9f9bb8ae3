//! The worker's work on one task at an instant: the overdue marks and reminders due
//! (`dondoc_domain::due_commands`), each a command with a request id derived from what it
//! records, and each reminder published on its agency's subject before it is recorded.
//!
//! Exactly once, by construction rather than by coordination: each mark and reminder is
//! a convergent command (`decide` records it at most once), its request id is derived
//! from what it records, and appends state the task's last sequence. So any number of
//! sweeps and workers, concurrent or repeated after a crash, record each once; a pass
//! after downtime catches up every deadline it missed, with the deadline on the event.
//! A reminder is published with the recording command's request id as its
//! `Nats-Msg-Id`: a worker that dies between the two publishes again on restart and the
//! reminder stream drops the copy (24-hour duplicate window), while a recorded reminder
//! is never published again. A task whose latest events belong to an import not in
//! effect yet has no work until its import's commit record.

use bytes::Bytes;
use dondoc_domain::{rfc3339, AgencyName, Duty, ObligationStatus, RequestId, TaskCommand, TaskId};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::DeadlineWorker;
use crate::error::AppError;
use crate::write::{CommandMeta, TaskHistory};

/// Namespace of the hashed parts of worker request ids. Changing it would let a worker
/// re-record marks the stream already holds under other ids: never do.
const WORKER_REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2023_0000_0002);

/// The actor recorded on the worker's events.
pub const WORKER_ACTOR: &str = "deadline-worker";

/// What a pass, or the work on one task, did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub tasks_examined: usize,
    /// Obligations overdue as of the pass's clock.
    pub overdue: usize,
    /// Overdue marks this pass recorded.
    pub marked: usize,
    /// Reminders this pass sent and recorded.
    pub reminded: usize,
}

impl std::ops::AddAssign for SweepReport {
    fn add_assign(&mut self, other: Self) {
        self.tasks_examined += other.tasks_examined;
        self.overdue += other.overdue;
        self.marked += other.marked;
        self.reminded += other.reminded;
    }
}

impl DeadlineWorker {
    /// Performs the work due on one task at `now`. Returns what was done and the next
    /// instant the task will have work.
    pub async fn work_on(
        &self,
        task_id: TaskId,
        now: OffsetDateTime,
    ) -> Result<(SweepReport, Option<OffsetDateTime>), AppError> {
        let writer = &self.shared.writer;
        let rules = &self.shared.obligations;
        let Some(history) = writer.load(task_id, None).await? else {
            return Ok((SweepReport::default(), None));
        };
        match writer.ensure_import_settled(&history, None).await {
            // Part of an import not in effect yet: nothing is due on it until it is, and
            // its commit reaches the worker as a change of the task.
            Err(AppError::ImportUnfinished { .. }) => return Ok((SweepReport::default(), None)),
            other => other?,
        }
        let mut report = SweepReport {
            tasks_examined: 1,
            overdue: rules
                .obligations(&history.state, now)
                .iter()
                .filter(|obligation| obligation.status == ObligationStatus::Overdue)
                .count(),
            ..Default::default()
        };
        let (commands, next) = rules.agenda(&history.state, now);
        if commands.is_empty() {
            return Ok((report, next));
        }
        for command in &commands {
            let meta = worker_meta(task_id, command);
            let is_reminder = matches!(command, TaskCommand::RecordReminder { .. });
            if is_reminder {
                self.publish_reminder(&history, command, meta.request_id.as_str())
                    .await?;
            }
            let outcome = writer
                .execute(task_id, Some(&history.plan_id), &meta, |_, _| {
                    Ok(command.clone())
                })
                .await?;
            if !outcome.unchanged {
                if is_reminder {
                    report.reminded += 1;
                } else {
                    report.marked += 1;
                }
            }
        }
        let next = match writer.load(task_id, Some(&history.plan_id)).await? {
            Some(fresh) => rules.agenda(&fresh.state, now).1,
            None => None,
        };
        Ok((report, next))
    }

    async fn publish_reminder(
        &self,
        history: &TaskHistory,
        command: &TaskCommand,
        reminder_id: &str,
    ) -> Result<(), AppError> {
        let TaskCommand::RecordReminder {
            duty,
            agency,
            due,
            seconds_before_due,
        } = command
        else {
            return Ok(());
        };
        let state = &history.state;
        let token = self
            .shared
            .agencies()
            .subject_token(state, &history.plan_id, agency);
        let title = state
            .assignment
            .as_ref()
            .map_or("", |assignment| assignment.details.title.as_str());
        let (period, request_key) = match duty {
            Duty::Periodic { period } => (Some(period.to_string()), None),
            Duty::Requested { request_key } => (None, Some(request_key.to_string())),
        };
        // The reminder message format (README, "The deadline worker and reminders").
        let payload = json!({
            "reminder_id": reminder_id,
            "task_id": history.task_id.to_string(),
            "plan_id": history.plan_id.as_str(),
            "title": title,
            "agency": agency.as_str(),
            "period": period,
            "request_key": request_key,
            "due": rfc3339(*due),
            "seconds_before_due": seconds_before_due,
        });
        let task_id = history.task_id.to_string();
        self.reminders
            .publish(
                &token,
                reminder_id,
                Bytes::from(payload.to_string()),
                &[("Dondoc-Task-Id", task_id.as_str())],
            )
            .await?;
        Ok(())
    }
}

/// The request id of a worker command: the same mark or reminder always has the same
/// id, whichever worker records it.
pub(crate) fn worker_meta(task_id: TaskId, command: &TaskCommand) -> CommandMeta {
    let identity = match command {
        TaskCommand::MarkOverdue {
            period,
            deadline,
            agency,
        } => format!(
            "overdue:{period}:{}:{}",
            agency
                .as_ref()
                .map_or_else(String::new, AgencyName::match_key),
            deadline.unix_timestamp()
        ),
        TaskCommand::MarkRequestOverdue {
            request_key,
            agency,
            due,
        } => format!(
            "request-overdue:{request_key}:{}:{}",
            agency.match_key(),
            due.unix_timestamp()
        ),
        TaskCommand::RecordReminder {
            duty,
            agency,
            due,
            seconds_before_due,
        } => format!(
            "reminder:{}:{}:{}:{seconds_before_due}",
            duty_key(duty),
            agency.match_key(),
            due.unix_timestamp()
        ),
        other => format!("{other:?}"),
    };
    let kind = match command {
        TaskCommand::RecordReminder { .. } => "reminder",
        _ => "overdue",
    };
    let hash = Uuid::new_v5(&WORKER_REQUEST_NAMESPACE, identity.as_bytes());
    CommandMeta {
        // At most 8 + 1 + 36 + 1 + 36 characters: well within a request id's 128.
        request_id: RequestId::parse(&format!("{kind}:{task_id}:{hash}"))
            .expect("printable ASCII without spaces, under 128 characters"),
        caller: crate::access::Caller::deadline_worker(WORKER_ACTOR),
        expected_version: None,
    }
}

fn duty_key(duty: &Duty) -> String {
    match duty {
        Duty::Periodic { period } => format!("period={period}"),
        Duty::Requested { request_key } => format!("request={request_key}"),
    }
}
