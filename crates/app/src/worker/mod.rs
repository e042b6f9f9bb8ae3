//! The deadline worker: records every overdue obligation and sends every reminder at
//! its instant, exactly once, however many workers run and however often they restart
//! (`work.rs` says how).
//!
//! How it schedules: an in-memory agenda (`agenda.rs`) maps each task to the next
//! instant it has work (`dondoc_domain::next_instant`). It is built once at start from
//! the projection, and kept current from the projection feeder's change notifications
//! (a task changed by a report, an extension or a re-import is rescheduled; a lagging
//! receiver rebuilds it). The worker sleeps until the earliest entry, then works only on
//! the tasks due, `TASKS_AT_ONCE` at a time, so a wake-up's work grows with the
//! obligations falling due, not with the number of tasks. Naps are capped (`max_nap`) so
//! that a clock that jumps, or a test's fixed clock that is moved, is noticed.
//!
//! The agenda itself is disposable: nothing is lost with it, since a rebuilt agenda finds
//! every unrecorded mark and reminder due at once. Each time the worker has done all
//! the work due at an instant it says so (`settled`), with what that work was and how
//! long it took (`Pass`), for tests, health checks and the benchmark.

mod agenda;
mod work;

pub use work::{SweepReport, WORKER_ACTOR};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use dondoc_domain::{TaskId, TaskState};
use dondoc_eventlog::ReminderChannel;
use dondoc_projection::TaskQuery;
use futures::StreamExt;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use agenda::Agenda;

use crate::error::AppError;
use crate::tracker::Shared;

/// The longest the worker sleeps without looking at the clock again.
pub const DEFAULT_MAX_NAP: Duration = Duration::from_secs(30);
/// How long a task whose work failed (NATS unavailable) waits before the next attempt.
const RETRY_AFTER: time::Duration = time::Duration::seconds(5);
/// How many due tasks are worked on at once. Each task's work is a few appends in a
/// row, each waiting for the server's ack (an fsync); tasks are independent, so a
/// deadline that falls due on thousands of tasks is worked on this many at a time,
/// and the marks go out at the rate of concurrent appends, not of one round trip.
const TASKS_AT_ONCE: usize = 32;

/// The worker had done every piece of work due at `clock` on the tasks the projection
/// held at stream sequence `applied`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    pub clock: OffsetDateTime,
    pub applied: u64,
    /// All the work done since the worker started. A running total, so that a reader
    /// of the watch channel, which sees only the latest value, misses none of it: the
    /// difference between two values it saw is the work done in between.
    pub worked: Pass,
}

/// Work of the worker's wake-ups: what it did and how long the work itself took (from
/// the first due task taken to the last one finished; the naps in between are not
/// counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub tasks: usize,
    pub marked: usize,
    pub reminded: usize,
    pub took: Duration,
}

impl std::ops::AddAssign for Pass {
    fn add_assign(&mut self, other: Self) {
        self.tasks += other.tasks;
        self.marked += other.marked;
        self.reminded += other.reminded;
        self.took += other.took;
    }
}

impl Pass {
    /// The work done since `earlier`, a total this one includes.
    pub fn since(&self, earlier: &Pass) -> Pass {
        Pass {
            tasks: self.tasks.saturating_sub(earlier.tasks),
            marked: self.marked.saturating_sub(earlier.marked),
            reminded: self.reminded.saturating_sub(earlier.reminded),
            took: self.took.saturating_sub(earlier.took),
        }
    }
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
        let tasks: Vec<TaskId> = self
            .shared
            .projection
            .list_all(&TaskQuery::default())?
            .into_iter()
            .map(|view| view.task_id)
            .collect();
        let mut worked = futures::stream::iter(tasks)
            .map(|task_id| self.work_on(task_id, now))
            .buffer_unordered(TASKS_AT_ONCE);
        let mut report = SweepReport::default();
        while let Some(done) = worked.next().await {
            report += done?.0;
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
        // The work since the worker last settled, and all of it before.
        let (mut pass, mut total) = (Pass::default(), Pass::default());
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
            let due = agenda.take_due(now);
            if !due.is_empty() {
                let started = std::time::Instant::now();
                // Stop taking tasks once shutdown is asked; those begun are finished.
                let still_running = shutdown.clone();
                let worker = &self;
                let mut worked = futures::stream::iter(due)
                    .take_while(|_| futures::future::ready(!*still_running.borrow()))
                    .map(|task_id| async move { (task_id, worker.work_on(task_id, now).await) })
                    .buffer_unordered(TASKS_AT_ONCE);
                while let Some((task_id, done)) = worked.next().await {
                    match done {
                        Ok((report, next)) => {
                            pass.tasks += 1;
                            pass.marked += report.marked;
                            pass.reminded += report.reminded;
                            agenda.schedule(task_id, next);
                        }
                        Err(error) => {
                            tracing::warn!(%task_id, %error, "deadline work failed; retrying soon");
                            agenda.schedule(task_id, Some(now + RETRY_AFTER));
                        }
                    }
                }
                pass.took += started.elapsed();
                if *shutdown.borrow() {
                    return;
                }
            }
            if !needs_rebuild && agenda.next().is_none_or(|next| next > now) {
                if pass.tasks > 0 {
                    tracing::info!(
                        tasks = pass.tasks,
                        marked = pass.marked,
                        reminded = pass.reminded,
                        took_ms = pass.took.as_secs_f64() * 1e3,
                        "deadline work done"
                    );
                }
                total += std::mem::take(&mut pass);
                self.settled.send_replace(Some(Settled {
                    clock: now,
                    applied,
                    worked: total,
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
