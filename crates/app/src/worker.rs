//! The deadline worker: records every overdue obligation and sends every reminder at
//! its instant, exactly once, however many workers run and however often they restart.
//!
//! How it schedules: an in-memory agenda maps each task to the next instant it has work
//! (`dondoc_domain::next_instant`). It is built once at start from the projection, and
//! kept current from the projection feeder's change notifications (a task changed by a
//! report, an extension or a re-import is rescheduled; a lagging receiver rebuilds it).
//! The worker sleeps until the earliest entry, then works only on the tasks due, so a
//! wake-up's work grows with the obligations falling due, not with the number of tasks.
//! Naps are capped (`max_nap`) so that a clock that jumps, or a test's fixed clock that
//! is moved, is noticed.
//!
//! How it stays exactly once: see `deadlines.rs`. A reminder is published before it is
//! recorded, with the recording command's request id as its `Nats-Msg-Id`: a worker that
//! dies between the two publishes again on restart and the reminder stream drops the
//! copy (24-hour duplicate window), while a recorded reminder is never published again.
//! The agenda itself is disposable: nothing is lost with it, since a rebuilt agenda finds
//! every unrecorded mark and reminder due at once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dondoc_domain::{Duty, TaskCommand, TaskId};
use dondoc_eventlog::ReminderChannel;
use dondoc_projection::{TaskQuery, TaskView};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use crate::deadlines::{overdue_count, worker_meta, DeadlineRules, SweepReport};
use crate::error::AppError;
use crate::tracker::Tracker;

/// The longest the worker sleeps without looking at the clock again.
pub const DEFAULT_MAX_NAP: Duration = Duration::from_secs(30);
/// How long a task whose work failed (NATS unavailable) waits before the next attempt.
const RETRY_AFTER: time::Duration = time::Duration::seconds(5);

#[derive(Clone)]
pub struct DeadlineWorker {
    tracker: Tracker,
    rules: Arc<DeadlineRules>,
    reminders: ReminderChannel,
    max_nap: Duration,
}

impl std::fmt::Debug for DeadlineWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineWorker")
            .field("reminders", &self.rules.reminders.to_string())
            .field("max_nap", &self.max_nap)
            .finish()
    }
}

impl DeadlineWorker {
    pub fn new(tracker: Tracker, rules: Arc<DeadlineRules>, reminders: ReminderChannel) -> Self {
        Self {
            tracker,
            rules,
            reminders,
            max_nap: DEFAULT_MAX_NAP,
        }
    }

    pub fn with_max_nap(mut self, max_nap: Duration) -> Self {
        self.max_nap = max_nap;
        self
    }

    pub fn rules(&self) -> &DeadlineRules {
        &self.rules
    }

    /// One pass over every task as of the tracker's clock: records every overdue mark
    /// and sends every reminder due. What `dondoc sweep --as-of` runs.
    pub async fn sweep(&self) -> Result<SweepReport, AppError> {
        let now = self.tracker.clock().now();
        // Decide on everything the log holds, not on a lagging projection.
        self.tracker
            .catch_up(self.tracker.log_last_sequence().await?)
            .await?;
        let mut report = SweepReport::default();
        for view in self.tracker.all_views(TaskQuery::default())? {
            report += self.work_on(view.task_id, now).await?.0;
        }
        Ok(report)
    }

    /// Performs the work due on one task at `now`. Returns what was done and the next
    /// instant the task will have work.
    pub async fn work_on(
        &self,
        task_id: TaskId,
        now: OffsetDateTime,
    ) -> Result<(SweepReport, Option<OffsetDateTime>), AppError> {
        let Some(view) = self.tracker.load(task_id, None).await? else {
            return Ok((SweepReport::default(), None));
        };
        let obligations = self.tracker.obligations_of(&view.state, &self.rules, now);
        let mut report = SweepReport {
            tasks_examined: 1,
            overdue: overdue_count(&obligations),
            ..Default::default()
        };
        let (commands, next) = self.tracker.agenda_of(&view.state, &self.rules, now);
        if commands.is_empty() {
            return Ok((report, next));
        }
        for command in &commands {
            let meta = worker_meta(task_id, command);
            let is_reminder = matches!(command, TaskCommand::RecordReminder { .. });
            if is_reminder {
                self.publish_reminder(&view, command, meta.request_id.as_str())
                    .await?;
            }
            let outcome = self
                .tracker
                .execute(task_id, Some(&view.plan_id), command, &meta)
                .await?;
            if !outcome.unchanged {
                if is_reminder {
                    report.reminded += 1;
                } else {
                    report.marked += 1;
                }
            }
        }
        let next = match self.tracker.load(task_id, Some(&view.plan_id)).await? {
            Some(fresh) => self.tracker.agenda_of(&fresh.state, &self.rules, now).1,
            None => None,
        };
        Ok((report, next))
    }

    async fn publish_reminder(
        &self,
        view: &TaskView,
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
        let province = view.state.province();
        let token = self.tracker.agency_token(province, agency);
        let title = view
            .state
            .assignment
            .as_ref()
            .map_or("", |assignment| assignment.details.title.as_str());
        let (period, request_key) = match duty {
            Duty::Periodic { period } => (Some(period.to_string()), None),
            Duty::Requested { request_key } => (None, Some(request_key.to_string())),
        };
        let payload = json!({
            "reminder_id": reminder_id,
            "task_id": view.task_id.to_string(),
            "plan_id": view.plan_id.as_str(),
            "title": title,
            "agency": agency.as_str(),
            "period": period,
            "request_key": request_key,
            "due": crate::format_instant(*due),
            "seconds_before_due": seconds_before_due,
        });
        let task_id = view.task_id.to_string();
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

    /// Runs until `shutdown` turns true. `changes` must have been subscribed before the
    /// projection feeder started, so that no change falls between it and the agenda.
    pub async fn run(
        self,
        mut changes: broadcast::Receiver<TaskId>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut agenda = Agenda::default();
        let mut needs_rebuild = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = self.tracker.clock().now();
            if needs_rebuild {
                match self.rebuild(&mut agenda, now) {
                    Ok(()) => needs_rebuild = false,
                    Err(error) => tracing::warn!(%error, "building the deadline agenda failed"),
                }
            }
            for task_id in agenda.take_due(now) {
                match self.work_on(task_id, now).await {
                    Ok((report, next)) => {
                        if report.marked + report.reminded > 0 {
                            tracing::info!(%task_id, marked = report.marked, reminded = report.reminded, "deadline work done");
                        }
                        agenda.schedule(task_id, next);
                    }
                    Err(error) => {
                        tracing::warn!(%task_id, %error, "deadline work failed; retrying soon");
                        agenda.schedule(task_id, Some(now + RETRY_AFTER));
                    }
                }
                if *shutdown.borrow() {
                    return;
                }
            }
            let nap = agenda
                .next()
                .map_or(self.max_nap, |next| {
                    Duration::try_from(next - self.tracker.clock().now()).unwrap_or_default()
                })
                .min(self.max_nap)
                .max(Duration::from_millis(1));
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = tokio::time::sleep(nap) => {}
                change = changes.recv() => match change {
                    Ok(task_id) => {
                        let now = self.tracker.clock().now();
                        match self.tracker.projection().task(&task_id) {
                            Ok(Some(view)) => agenda.schedule(task_id, self.first_instant(&view, now)),
                            Ok(None) => {}
                            Err(error) => {
                                tracing::warn!(%error, "reading a changed task failed");
                                needs_rebuild = true;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "deadline worker fell behind the projection; rebuilding its agenda");
                        needs_rebuild = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // The feeder is gone (shutdown); keep serving the agenda by the clock.
                        changes = broadcast::channel(1).1;
                    }
                },
            }
        }
    }

    /// When the task next needs the worker: `now` if work is due already.
    fn first_instant(&self, view: &TaskView, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let (due, next) = self.tracker.agenda_of(&view.state, &self.rules, now);
        if due.is_empty() {
            next
        } else {
            Some(now)
        }
    }

    fn rebuild(&self, agenda: &mut Agenda, now: OffsetDateTime) -> Result<(), AppError> {
        let mut fresh = Agenda::default();
        for view in self.tracker.all_views(TaskQuery::default())? {
            fresh.schedule(view.task_id, self.first_instant(&view, now));
        }
        tracing::info!(
            tasks = fresh.len(),
            next = ?fresh.next(),
            "deadline agenda built"
        );
        *agenda = fresh;
        Ok(())
    }
}

/// Each task's next instant, ordered by instant.
#[derive(Debug, Default)]
struct Agenda {
    by_time: BTreeSet<(OffsetDateTime, TaskId)>,
    by_task: HashMap<TaskId, OffsetDateTime>,
}

impl Agenda {
    fn schedule(&mut self, task_id: TaskId, at: Option<OffsetDateTime>) {
        if let Some(previous) = self.by_task.remove(&task_id) {
            self.by_time.remove(&(previous, task_id));
        }
        if let Some(at) = at {
            self.by_task.insert(task_id, at);
            self.by_time.insert((at, task_id));
        }
    }

    /// Removes and returns every task due at or before `now`, earliest first.
    fn take_due(&mut self, now: OffsetDateTime) -> Vec<TaskId> {
        let mut due = Vec::new();
        while let Some(&(at, task_id)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            self.by_task.remove(&task_id);
            due.push(task_id);
        }
        due
    }

    fn next(&self) -> Option<OffsetDateTime> {
        self.by_time.first().map(|(at, _)| *at)
    }

    fn len(&self) -> usize {
        self.by_task.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn task(n: u128) -> TaskId {
        TaskId::parse(&uuid::Uuid::from_u128(n).to_string()).unwrap()
    }

    #[test]
    fn the_agenda_hands_out_due_tasks_in_order_and_reschedules() {
        let mut agenda = Agenda::default();
        agenda.schedule(task(1), Some(datetime!(2024-03-25 00:00 +07:00)));
        agenda.schedule(task(2), Some(datetime!(2024-03-18 00:00 +07:00)));
        agenda.schedule(task(3), None);
        assert_eq!(agenda.len(), 2);
        assert_eq!(agenda.next(), Some(datetime!(2024-03-18 00:00 +07:00)));
        assert!(agenda
            .take_due(datetime!(2024-03-17 23:59 +07:00))
            .is_empty());
        // Rescheduling moves a task rather than adding a second entry.
        agenda.schedule(task(1), Some(datetime!(2024-03-10 00:00 +07:00)));
        assert_eq!(agenda.len(), 2);
        assert_eq!(
            agenda.take_due(datetime!(2024-03-20 00:00 +07:00)),
            vec![task(1), task(2)]
        );
        assert_eq!(agenda.len(), 0);
        assert_eq!(agenda.next(), None);
    }
}
