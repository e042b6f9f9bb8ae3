//! Reads of the projection: tasks (`Queries::task`, `list_tasks`), and the deadline
//! queries (`obligations.rs`: a task's obligations, what an agency owes soon, what is
//! overdue, how agencies stand in the scorecard).
//!
//! Reads wait, bounded, for the projection to reach what the client wrote
//! (`min_version`, `min_sequence`): read your own writes. A task the projection has not
//! seen yet is read from the stream, so a task is never "not found" only because the
//! projection lags.

mod indexed;
mod obligations;

pub use indexed::{DeadlinePage, PageRequest, DEFAULT_DEADLINE_PAGE, MAX_DEADLINE_PAGE};
pub use obligations::{TaskObligation, TaskObligations, Upcoming, UpcomingQuery};

use std::sync::Arc;
use std::time::Duration;

use dondoc_domain::{AgencyName, PlanId, TaskId, TaskState};
use dondoc_projection::{TaskQuery, TaskView};

use crate::access::{read_scope, Caller, ReadScope};
use crate::agencies::{AgencyRef, AgencyTarget};
use crate::error::AppError;
use crate::feeder::ProjectionProgress;
use crate::tracker::Shared;

/// How long a read waits for the projection to reach the version or sequence asked for.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);
/// How long catching up waits without progress before it gives up.
const CATCH_UP_STALL: Duration = Duration::from_secs(120);

/// A task as the read side shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSnapshot {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub state: TaskState,
    /// Stream sequence of the task's last event reflected in `state`.
    pub stream_sequence: u64,
    /// In a list by agency: the groups through which the agency asked about leads or
    /// coordinates the task (empty when the task names it directly).
    pub through_groups: Vec<AgencyName>,
}

impl From<TaskView> for TaskSnapshot {
    fn from(view: TaskView) -> Self {
        Self {
            task_id: view.task_id,
            plan_id: view.plan_id,
            state: view.state,
            stream_sequence: view.last_sequence,
            through_groups: Vec::new(),
        }
    }
}

/// Which tasks to list. Filters combine with AND; agencies are matched by id, directly
/// or through the groups of their province that list them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub plan_id: Option<PlanId>,
    pub lead: Option<AgencyTarget>,
    pub coordinator: Option<AgencyTarget>,
    /// 0 means the default (50); at most 500.
    pub page_size: usize,
    /// From the previous page of the same filter.
    pub page_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPage {
    /// By plan, then appendix order.
    pub tasks: Vec<TaskSnapshot>,
    /// `None` on the last page.
    pub next_page_token: Option<String>,
}

/// Reads of the projection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Queries {
    shared: Arc<Shared>,
}

/// A message of the stream the read model did not apply, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedMessage {
    pub sequence: u64,
    pub subject: String,
    pub reason: String,
}

impl Queries {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The agency directory, for resolving whom a request names.
    pub fn agencies(&self) -> &crate::agencies::Agencies {
        self.shared.agencies()
    }

    /// What `caller` may read (`access.rs`): an agency's plans are those whose tasks
    /// name it or a group of its province that lists it. Read from the agency indexes'
    /// keys, and one view per plan for its province: this runs on every read.
    pub fn read_scope(&self, caller: &Caller) -> Result<ReadScope, AppError> {
        let agencies = self.shared.agencies();
        read_scope(caller, agencies, |agency| {
            let target = agencies.target_of(agency.clone());
            let mut plans = std::collections::BTreeSet::new();
            for name in target.index_names().unwrap_or_default() {
                for plan in self.shared.projection.plans_naming(&name)? {
                    let province = self.province_for("", Some(&plan))?;
                    if target.is_or_has(&agencies.identify_in(province.as_deref(), &plan, &name)) {
                        plans.insert(plan);
                    }
                }
            }
            Ok(plans)
        })
    }

    /// The province a request's agency names are read in: the one it gives, else that
    /// of the plan it names (as its tasks record it), else none.
    pub fn province_for(
        &self,
        given: &str,
        plan_id: Option<&PlanId>,
    ) -> Result<Option<String>, AppError> {
        if !given.trim().is_empty() {
            return Ok(Some(given.trim().to_owned()));
        }
        let Some(plan_id) = plan_id else {
            return Ok(None);
        };
        let page = self.shared.projection.list(&TaskQuery {
            plan_id: Some(plan_id.clone()),
            page_size: 1,
            ..Default::default()
        })?;
        Ok(page
            .tasks
            .first()
            .and_then(|view| view.state.province().map(str::to_owned)))
    }

    /// The task from the projection, once it has reached `min_version` (0: as it is; a
    /// task the projection has not seen yet is read from the stream).
    pub async fn task(
        &self,
        scope: &ReadScope,
        task_id: TaskId,
        min_version: u64,
    ) -> Result<TaskSnapshot, AppError> {
        let snapshot = self.task_unscoped(task_id, min_version).await?;
        scope.require(Some(&snapshot.plan_id))?;
        Ok(snapshot)
    }

    async fn task_unscoped(
        &self,
        task_id: TaskId,
        min_version: u64,
    ) -> Result<TaskSnapshot, AppError> {
        let deadline = tokio::time::Instant::now() + READ_YOUR_WRITES_WAIT;
        let mut progress = self.shared.progress.clone();
        loop {
            match self.shared.projection.task(&task_id)? {
                Some(view) if view.state.version >= min_version => return Ok(view.into()),
                None if min_version == 0 => {
                    let history = self
                        .shared
                        .writer
                        .load(task_id, None)
                        .await?
                        .filter(|history| history.state.version > 0)
                        .ok_or(AppError::TaskNotFound(task_id))?;
                    return Ok(TaskSnapshot {
                        task_id,
                        plan_id: history.plan_id.clone(),
                        state: history.state.clone(),
                        stream_sequence: history.last_sequence,
                        through_groups: Vec::new(),
                    });
                }
                _ => {}
            }
            if !progress.wait_for_change_until(deadline).await {
                return match self.shared.projection.task(&task_id)? {
                    Some(view) if view.state.version >= min_version => Ok(view.into()),
                    _ => Err(AppError::NotCaughtUp(format!(
                        "task {task_id} has not reached version {min_version}"
                    ))),
                };
            }
        }
    }

    /// A page of tasks, once the projection has applied stream sequence `min_sequence`.
    pub async fn list_tasks(
        &self,
        scope: &ReadScope,
        filter: &TaskFilter,
        min_sequence: u64,
    ) -> Result<TaskPage, AppError> {
        self.wait_for_sequence(min_sequence).await?;
        if let Some(plan_id) = &filter.plan_id {
            if !scope.admits(plan_id) {
                return Ok(TaskPage {
                    tasks: Vec::new(),
                    next_page_token: None,
                });
            }
        }
        match (&filter.lead, &filter.coordinator) {
            (Some(lead), _) => return self.list_by_agency(scope, filter, lead, true),
            (None, Some(coordinator)) => {
                return self.list_by_agency(scope, filter, coordinator, false)
            }
            (None, None) => {}
        }
        if let (Some(plans), None) = (scope.only(), &filter.plan_id) {
            // Only some plans: theirs, one after the other, paged by offset.
            let mut found = Vec::new();
            for plan_id in plans {
                found.extend(
                    self.shared
                        .projection
                        .list_all(&TaskQuery {
                            plan_id: Some(plan_id.clone()),
                            ..Default::default()
                        })?
                        .into_iter()
                        .map(TaskSnapshot::from),
                );
            }
            return offset_page(found, filter);
        }
        let query = TaskQuery {
            plan_id: filter.plan_id.clone(),
            page_size: filter.page_size,
            page_token: filter.page_token.clone(),
            ..Default::default()
        };
        let page = self.shared.projection.list(&query)?;
        Ok(TaskPage {
            tasks: page.tasks.into_iter().map(TaskSnapshot::from).collect(),
            next_page_token: page.next_page_token,
        })
    }

    /// `list_tasks` by lead or coordinator: every task that names the agency, or one of
    /// its groups, in the role asked about (and matches the other filters), by plan and
    /// appendix order, paged by offset (`g:<offset>` tokens). The agency asked about
    /// first (the lead, else the coordinator) gets `through_groups` marked.
    fn list_by_agency(
        &self,
        scope: &ReadScope,
        filter: &TaskFilter,
        primary: &AgencyTarget,
        as_lead: bool,
    ) -> Result<TaskPage, AppError> {
        let agencies = self.shared.agencies();
        let mut found: Vec<TaskSnapshot> = Vec::new();
        for view in self.tasks_of_agency(primary, filter.plan_id.as_ref())? {
            if !scope.admits(&view.plan_id) {
                continue;
            }
            let Some(assignment) = view.state.assignment.as_ref() else {
                continue;
            };
            let details = &assignment.details;
            let naming = |target: &AgencyTarget, named: &[AgencyName]| -> Vec<AgencyRef> {
                named
                    .iter()
                    .map(|name| agencies.identify(&view.state, &view.plan_id, name))
                    .filter(|agency| target.is_or_has(agency))
                    .collect()
            };
            let lead_hits = filter.lead.as_ref().map(|lead| naming(lead, &details.lead));
            let coordinator_hits = filter
                .coordinator
                .as_ref()
                .map(|coordinator| naming(coordinator, &details.coordinators));
            if lead_hits.as_ref().is_some_and(Vec::is_empty)
                || coordinator_hits.as_ref().is_some_and(Vec::is_empty)
            {
                continue;
            }
            let hits = if as_lead { lead_hits } else { coordinator_hits }.unwrap_or_default();
            // A task naming the agency itself is not "through" anything.
            let through_groups = if hits.iter().any(|agency| primary.is(agency)) {
                Vec::new()
            } else {
                hits.into_iter().map(|group| group.name).collect()
            };
            let mut snapshot = TaskSnapshot::from(view);
            snapshot.through_groups = through_groups;
            found.push(snapshot);
        }
        found.sort_by_key(|snapshot| {
            let position = snapshot
                .state
                .assignment
                .as_ref()
                .map_or(0, |assignment| assignment.details.source.position);
            (snapshot.plan_id.as_str().to_owned(), position)
        });
        offset_page(found, filter)
    }

    /// Waits until the projection has applied `min_sequence`.
    pub async fn wait_for_sequence(&self, min_sequence: u64) -> Result<(), AppError> {
        wait_for_sequence(&self.shared.progress, min_sequence).await
    }

    /// The messages of the stream the read model did not apply (unreadable, not signed
    /// by the key on record, not chaining), in stream order.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedMessage>, AppError> {
        Ok(self
            .shared
            .projection
            .quarantined()?
            .into_iter()
            .map(|message| QuarantinedMessage {
                sequence: message.sequence,
                subject: message.subject,
                reason: message.reason,
            })
            .collect())
    }

    /// Waits until the projection has applied everything the log held when called,
    /// however long that takes, as long as it keeps moving: for a fresh projection
    /// catching up on the whole log (a worker process, `dondoc sweep`). Fails only if it
    /// stops advancing.
    pub async fn catch_up(&self) -> Result<(), AppError> {
        let target = self.shared.log().last_sequence().await?;
        let progress = &self.shared.progress;
        loop {
            let before = progress.applied();
            // One batch can take long (a large import's commit is applied at once).
            match wait_for_sequence_within(progress, target, CATCH_UP_STALL).await {
                Err(AppError::NotCaughtUp(_)) if progress.applied() > before => {
                    tracing::info!(
                        applied = progress.applied(),
                        target,
                        "projection catching up"
                    );
                }
                other => return other,
            }
        }
    }
}

/// The page of `found` (in order) that `filter`'s offset token (`g:<offset>`) and page
/// size ask for.
fn offset_page(found: Vec<TaskSnapshot>, filter: &TaskFilter) -> Result<TaskPage, AppError> {
    let offset = match &filter.page_token {
        None => 0,
        Some(token) => token
            .strip_prefix("g:")
            .and_then(|offset| offset.parse::<usize>().ok())
            .ok_or(AppError::Projection(
                dondoc_projection::ProjectionError::InvalidPageToken,
            ))?,
    };
    let page_size = match filter.page_size {
        0 => dondoc_projection::DEFAULT_PAGE_SIZE,
        size => size.min(dondoc_projection::MAX_PAGE_SIZE),
    };
    let next = offset + page_size;
    let next_page_token = (next < found.len()).then(|| format!("g:{next}"));
    Ok(TaskPage {
        tasks: found.into_iter().skip(offset).take(page_size).collect(),
        next_page_token,
    })
}

/// Waits (bounded) until the projection has applied `min_sequence`.
pub(crate) async fn wait_for_sequence(
    progress: &ProjectionProgress,
    min_sequence: u64,
) -> Result<(), AppError> {
    wait_for_sequence_within(progress, min_sequence, READ_YOUR_WRITES_WAIT).await
}

/// Waits at most `wait` until the projection has applied `min_sequence`.
async fn wait_for_sequence_within(
    progress: &ProjectionProgress,
    min_sequence: u64,
    wait: Duration,
) -> Result<(), AppError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut progress = progress.clone();
    while progress.applied() < min_sequence {
        if !progress.wait_for_change_until(deadline).await {
            return Err(AppError::NotCaughtUp(format!(
                "stream sequence {min_sequence} not applied yet (at {})",
                progress.applied()
            )));
        }
    }
    Ok(())
}
