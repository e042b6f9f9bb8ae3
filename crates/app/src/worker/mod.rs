//! The deadline worker: records every overdue obligation and sends every reminder at
//! its instant, exactly once, however many workers run and however often they restart
//! (`work.rs` says how).
//!
//! How it schedules: an in-memory agenda (`agenda.rs`) maps each task to the next
//! instant it has work (`dondoc_domain::next_instant`). It is built once at start from
//! the projection, and kept current from the projection feeder's change notifications
//! (a task changed by a report, an extension or a re-import is rescheduled; a lagging
//! receiver rebuilds it). The worker sleeps until the earliest entry, then works only on
//! the tasks due, so a wake-up's work grows with the obligations falling due, not with
//! the number of tasks. Naps are capped (`max_nap`) so that a clock that jumps, or a
//! test's fixed clock that is moved, is noticed.
//!
//! The agenda itself is disposable: nothing is lost with it, since a rebuilt agenda finds
//! every unrecorded mark and reminder due at once. Each time the worker has done all
//! the work due at an instant it says so (`settled`), for tests and health checks.

mod agenda;
mod work;

pub use work::{SweepReport, WORKER_ACTOR};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dondoc_domain::{TaskId, TaskState};
use dondoc_eventlog::ReminderChannel;
use dondoc_projection::TaskQuery;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use agenda::Agenda;

use crate::error::AppError;
use crate::tracker::Shared;

/// The longest the worker sleeps without looking at the clock again.
pub const DEFAULT_MAX_NAP: Duration = Duration::from_secs(30);
/// How long a task whose work failed (NATS unavailable) waits before the next attempt.
const RETRY_AFTER: time::Duration = time::Duration::seconds(5);

/// The worker had done every piece of work due at `clock` on the tasks the projection
/// held at stream sequence `applied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    pub clock: OffsetDateTime,
    pub applied: u64,
}

#[derive(Clone)]
pub struct DeadlineWorker {
    shared: Arc<Shared>,
    reminders: ReminderChannel,
    max_nap: Duration,
    settled: Arc<watch::Sender<Option<Settled>>>,
}

impl std::fmt::Debug for DeadlineWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineWorker")
            .field(
                "reminders",
                &self.shared.obligations.rules.reminders.to_string(),
            )
            .field("max_nap", &self.max_nap)
            .finish()
    }
}

impl DeadlineWorker {
    pub(crate) fn new(shared: Arc<Shared>, reminders: ReminderChannel) -> Self {
        Self {
            shared,
            reminders,
            max_nap: DEFAULT_MAX_NAP,
            settled: Arc::new(watch::channel(None).0),
        }
    }

    pub fn with_max_nap(mut self, max_nap: Duration) -> Self {
        self.max_nap = max_nap;
        self
    }

    /// Each time the running worker has done all the work due (module docs).
    pub fn settled(&self) -> watch::Receiver<Option<Settled>> {
        self.settled.subscribe()
    }

    /// One pass over every task as of the clock: records every overdue mark and sends
    /// every reminder due. What `dondoc sweep --as-of` runs.
    pub async fn sweep(&self) -> Result<SweepReport, AppError> {
        let now = self.shared.clock.now();
        // Decide on everything the log holds, not on a lagging projection.
        crate::queries::Queries::new(self.shared.clone())
            .catch_up()
            .await?;
        let mut report = SweepReport::default();
        for view in self.shared.projection.list_all(&TaskQuery::default())? {
            report += self.work_on(view.task_id, now).await?.0;
        }
        Ok(report)
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
        // Tasks changed since the last look, each once however often it changed: the
        // feeder announces every event, and a catch-up makes thousands on few tasks.
        let mut changed: HashSet<TaskId> = HashSet::new();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = self.shared.clock.now();
            // The feeder announces a change before it counts it as applied, so every
            // change up to `applied` is in `changes` by now: `settled` never claims one
            // the agenda has not seen.
            let applied = self.shared.progress.applied();
            loop {
                match changes.try_recv() {
                    Ok(task_id) => {
                        changed.insert(task_id);
                    }
                    Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                        self.lagged(missed, &mut needs_rebuild);
                    }
                    Err(_) => break,
                }
            }
            if needs_rebuild {
                changed.clear();
                match self.rebuild(&mut agenda, now) {
                    Ok(()) => needs_rebuild = false,
                    Err(error) => tracing::warn!(%error, "building the deadline agenda failed"),
                }
            }
            for task_id in changed.drain() {
                self.reschedule(&mut agenda, task_id, &mut needs_rebuild);
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
            if !needs_rebuild && agenda.next().is_none_or(|next| next > now) {
                self.settled.send_replace(Some(Settled {
                    clock: now,
                    applied,
                }));
            }
            let nap = agenda
                .next()
                .map_or(self.max_nap, |next| {
                    Duration::try_from(next - self.shared.clock.now()).unwrap_or_default()
                })
                .min(self.max_nap)
                .max(Duration::from_millis(1));
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                _ = tokio::time::sleep(nap) => {}
                change = changes.recv() => match change {
                    Ok(task_id) => {
                        changed.insert(task_id);
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        self.lagged(missed, &mut needs_rebuild);
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // The feeder is gone (shutdown); keep serving the agenda by the clock.
                        changes = broadcast::channel(1).1;
                    }
                },
            }
        }
    }

    /// Puts a changed task back on the agenda at its first instant, judged on the newest
    /// state this process has of it: the projection's, or the write side's when that is
    /// ahead. The projection applies the worker's own marks after the worker made them;
    /// judged on the projection alone, each of them would make the task look due again
    /// and be worked on for nothing.
    fn reschedule(&self, agenda: &mut Agenda, task_id: TaskId, needs_rebuild: &mut bool) {
        let now = self.shared.clock.now();
        let view = match self.shared.projection.task(&task_id) {
            Ok(view) => view,
            Err(error) => {
                tracing::warn!(%error, "reading a changed task failed");
                *needs_rebuild = true;
                return;
            }
        };
        let written = self.shared.writer.cached(&task_id);
        let state = match (&view, &written) {
            (Some(view), Some(written)) if written.last_sequence > view.last_sequence => {
                &written.state
            }
            (Some(view), _) => &view.state,
            (None, Some(written)) => &written.state,
            (None, None) => return,
        };
        agenda.schedule(task_id, self.first_instant(state, now));
    }

    fn lagged(&self, missed: u64, needs_rebuild: &mut bool) {
        tracing::info!(
            missed,
            "deadline worker fell behind the projection; rebuilding its agenda"
        );
        *needs_rebuild = true;
    }

    /// When the task next needs the worker: `now` if work is due already.
    fn first_instant(&self, task: &TaskState, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let (due, next) = self.shared.obligations.agenda(task, now);
        if due.is_empty() {
            next
        } else {
            Some(now)
        }
    }

    fn rebuild(&self, agenda: &mut Agenda, now: OffsetDateTime) -> Result<(), AppError> {
        let mut fresh = Agenda::default();
        for view in self.shared.projection.list_all(&TaskQuery::default())? {
            fresh.schedule(view.task_id, self.first_instant(&view.state, now));
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
