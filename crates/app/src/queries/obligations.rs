//! Deadline queries: a task's obligations as of an instant, what an agency owes soon,
//! what is overdue. Pure reads of the projection: each task's obligations are derived
//! from its state, the deadline rules and an instant; nothing here is stored.
//!
//! # Semantics
//!
//! - **Agency.** The request's agency is resolved to an id (`Agencies::target`), and an
//!   obligation is the agency's when it owes it or, for a group, when one of its
//!   members owes it through that group (`via_group`), as the task's own province
//!   identifies them (`Agencies::owes`).
//! - **Which tasks an agency's obligations come from.** Tasks it leads, tasks led by a
//!   group of its province that the agency directory lists it in, and tasks it (or
//!   such a group) coordinates, for the coordination requests addressed to it.
//! - **Upcoming** `[from, to)`: open obligations (`Pending`, `Extended`) as of now
//!   whose deadline in force lies in the window, periodic ones listed through the year
//!   of `to` (so a window reaching into next year sees next year's periods).
//! - **Overdue**: `Overdue` obligations as of now; plan and agency filters are optional
//!   and combine with AND.
//! - **As of.** `task_obligations(…, as_of)` ignores reports, answers, requests and
//!   extensions recorded after `as_of`. The assignment (leads, coordinators, timeframe,
//!   policy) is read in its *current* form, even when it was created or amended after
//!   `as_of`: the plan is what agencies are held to, whenever the tracker learned of
//!   it. An exact past state (as the tracker saw it then) is the audit log's to rebuild
//!   (`Auditor::scorecard_as_of`).

use std::collections::HashSet;
use std::ops::Bound;

use dondoc_domain::{
    in_vietnam, rfc3339, task_status, InvalidInput, Obligation, ObligationStatus, PlanId, TaskId,
    TaskStatus,
};
use dondoc_projection::{TaskQuery, TaskView};
use time::OffsetDateTime;

use super::indexed::{page_of_sorted, DeadlinePage, DeadlineSelection, PageRequest};
use super::{Queries, TaskSnapshot};
use crate::access::ReadScope;
use crate::agencies::{Agencies, AgencyRef, AgencyTarget};
use crate::error::AppError;
use crate::scorecard::{scorecard_of, Scorecard, ScorecardQuery};

/// The window of upcoming deadlines when neither its end nor its length is given.
const DEFAULT_WITHIN_DAYS: u32 = 30;
/// The longest window of upcoming deadlines, in days (ten years).
const MAX_WITHIN_DAYS: u32 = 3660;

/// One obligation with the task it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskObligation {
    pub task_id: TaskId,
    pub plan_id: PlanId,
    pub row_number: String,
    pub title: String,
    /// The row's position in its appendix (for ordering).
    pub position: usize,
    pub obligation: Obligation,
    /// Who owes it and the group it was fanned out from, as the task identifies them.
    pub agency: AgencyRef,
    pub via_group: Option<AgencyRef>,
}

/// A task's obligations as of an instant.
#[derive(Clone, Debug)]
pub struct TaskObligations {
    pub task: TaskSnapshot,
    pub as_of: OffsetDateTime,
    pub status: TaskStatus,
    pub obligations: Vec<Obligation>,
}

/// Which upcoming deadlines to list: an agency's, in `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpcomingQuery {
    pub agency: AgencyTarget,
    /// `None`: now.
    pub from: Option<OffsetDateTime>,
    /// The window's end; or give its length in `within_days`, not both.
    pub to: Option<OffsetDateTime>,
    /// 0: 30 days (unless `to` is given); at most 3660.
    pub within_days: u32,
}

/// An agency's upcoming deadlines.
#[derive(Clone, Debug)]
pub struct Upcoming {
    /// The agency asked about.
    pub agency: AgencyTarget,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    /// Soonest first: one page.
    pub obligations: Vec<TaskObligation>,
    /// `None` on the last page.
    pub next_page_token: Option<String>,
}

pub(super) fn task_obligation(
    agencies: &Agencies,
    view: &TaskView,
    obligation: Obligation,
) -> TaskObligation {
    let (row_number, title, position) = match &view.state.assignment {
        Some(assignment) => (
            assignment.details.source.row_number.clone(),
            assignment.details.title.clone(),
            assignment.details.source.position,
        ),
        None => (String::new(), String::new(), 0),
    };
    let identify = |name| agencies.identify(&view.state, &view.plan_id, name);
    TaskObligation {
        task_id: view.task_id,
        plan_id: view.plan_id.clone(),
        row_number,
        title,
        position,
        agency: identify(&obligation.agency),
        via_group: obligation.via_group.as_ref().map(identify),
        obligation,
    }
}

/// By due, then plan and appendix order, then duty and agency.
fn sort_by_due(found: &mut [TaskObligation]) {
    found.sort_by(|a, b| {
        (
            a.obligation.due,
            a.plan_id.as_str(),
            a.position,
            a.task_id,
            &a.obligation.duty,
            &a.obligation.agency,
        )
            .cmp(&(
                b.obligation.due,
                b.plan_id.as_str(),
                b.position,
                b.task_id,
                &b.obligation.duty,
                &b.obligation.agency,
            ))
    });
}

impl Queries {
    /// The tasks an agency may owe something on (module docs), in `plan_id` if given.
    pub(super) fn tasks_of_agency(
        &self,
        agency: &AgencyTarget,
        plan_id: Option<&PlanId>,
    ) -> Result<Vec<TaskView>, AppError> {
        let agencies = self.shared.agencies();
        let mut candidates = Vec::new();
        match agency.index_names() {
            Some(names) => {
                let mut seen = HashSet::new();
                for name in names {
                    for query in [
                        TaskQuery {
                            plan_id: plan_id.cloned(),
                            lead: Some(name.clone()),
                            ..Default::default()
                        },
                        TaskQuery {
                            plan_id: plan_id.cloned(),
                            coordinator: Some(name.clone()),
                            ..Default::default()
                        },
                    ] {
                        for view in self.shared.projection.list_all(&query)? {
                            if seen.insert(view.task_id) {
                                candidates.push(view);
                            }
                        }
                    }
                }
            }
            None => {
                candidates = self.shared.projection.list_all(&TaskQuery {
                    plan_id: plan_id.cloned(),
                    ..Default::default()
                })?
            }
        }
        // The name indexes do not know provinces: keep the tasks that name this agency.
        candidates.retain(|view| {
            view.state.assignment.as_ref().is_some_and(|assignment| {
                let details = &assignment.details;
                details
                    .lead
                    .iter()
                    .chain(&details.coordinators)
                    .any(|name| agencies.names_target(agency, &view.state, &view.plan_id, name))
            })
        });
        Ok(candidates)
    }

    /// The tasks `agency` may owe something on, or (without one) those of `plan_id`, or
    /// every task; of the plans `scope` admits.
    fn tasks_of(
        &self,
        scope: &ReadScope,
        agency: Option<&AgencyTarget>,
        plan_id: Option<&PlanId>,
    ) -> Result<Vec<TaskView>, AppError> {
        let mut views = match agency {
            Some(agency) => self.tasks_of_agency(agency, plan_id)?,
            None => self.shared.projection.list_all(&TaskQuery {
                plan_id: plan_id.cloned(),
                ..Default::default()
            })?,
        };
        views.retain(|view| scope.admits(&view.plan_id));
        Ok(views)
    }

    /// One task's obligations as of `as_of` (`None`: now), once the projection has
    /// reached `min_version`.
    pub async fn task_obligations(
        &self,
        scope: &ReadScope,
        task_id: TaskId,
        as_of: Option<OffsetDateTime>,
        min_version: u64,
    ) -> Result<TaskObligations, AppError> {
        let task = self.task(scope, task_id, min_version).await?;
        if task.state.assignment.is_none() {
            return Err(AppError::TaskNotFound(task_id));
        }
        let as_of = in_vietnam(as_of.unwrap_or_else(|| self.shared.clock.now()));
        let obligations = self.shared.obligations.obligations(&task.state, as_of);
        Ok(TaskObligations {
            status: task_status(&obligations),
            task,
            as_of,
            obligations,
        })
    }

    /// The open obligations an agency owes with a deadline in the window, soonest first
    /// (module docs).
    pub async fn upcoming_deadlines(
        &self,
        scope: &ReadScope,
        query: &UpcomingQuery,
        page: &PageRequest,
        min_sequence: u64,
    ) -> Result<Upcoming, AppError> {
        if query.to.is_some() && query.within_days != 0 {
            return Err(InvalidInput::new(
                "within_days",
                "give the window's end (to) or its length (within_days), not both",
            )
            .into());
        }
        if query.within_days > MAX_WITHIN_DAYS {
            return Err(InvalidInput::new(
                "within_days",
                format!("{} is more than {MAX_WITHIN_DAYS} days", query.within_days),
            )
            .into());
        }
        let now = self.shared.clock.now();
        let from = query.from.unwrap_or(now);
        let to = query.to.unwrap_or_else(|| {
            let days = match query.within_days {
                0 => DEFAULT_WITHIN_DAYS,
                days => days,
            };
            from + time::Duration::days(i64::from(days))
        });
        if to <= from {
            return Err(InvalidInput::new(
                "to",
                format!(
                    "the window's end {} must be after its start {}",
                    rfc3339(to),
                    rfc3339(from)
                ),
            )
            .into());
        }
        self.wait_for_sequence(min_sequence).await?;
        let agency = &query.agency;
        let last_year = in_vietnam(to).year().max(in_vietnam(now).year());
        let selection = DeadlineSelection {
            plan_id: None,
            agency: Some(agency),
            from: Some(from),
            to: Bound::Excluded(to),
            now,
            last_year,
            wanted: ObligationStatus::is_open,
        };
        let page = if agency.id.is_some() && self.statistics_answer_at(now)? {
            self.indexed_deadlines(scope, &selection, page)?
        } else {
            let agencies = self.shared.agencies();
            let mut found = Vec::new();
            for view in self.tasks_of_agency(agency, None)? {
                if !scope.admits(&view.plan_id) {
                    continue;
                }
                let obligations =
                    self.shared
                        .obligations
                        .obligations_through(&view.state, now, last_year);
                found.extend(
                    obligations
                        .into_iter()
                        .filter(|obligation| {
                            obligation.status.is_open()
                                && from <= obligation.due
                                && obligation.due < to
                                && agencies.owes(agency, &view.state, &view.plan_id, obligation)
                        })
                        .map(|obligation| task_obligation(agencies, &view, obligation)),
                );
            }
            sort_by_due(&mut found);
            page_of_sorted(found, page)?
        };
        Ok(Upcoming {
            agency: agency.clone(),
            from: in_vietnam(from),
            to: in_vietnam(to),
            obligations: page.obligations,
            next_page_token: page.next_page_token,
        })
    }

    /// A page of the obligations overdue now, in `plan_id` and owed by `agency` when
    /// given, oldest deadline first.
    pub async fn overdue_obligations(
        &self,
        scope: &ReadScope,
        plan_id: Option<&PlanId>,
        agency: Option<&AgencyTarget>,
        page: &PageRequest,
        min_sequence: u64,
    ) -> Result<(OffsetDateTime, DeadlinePage), AppError> {
        self.wait_for_sequence(min_sequence).await?;
        let now = self.shared.clock.now();
        let selection = DeadlineSelection {
            plan_id,
            agency,
            from: None,
            to: Bound::Included(now),
            now,
            last_year: in_vietnam(now).year(),
            wanted: |status| *status == ObligationStatus::Overdue,
        };
        // Indexed per agency (known by id) and per plan; over every plan, derived.
        let indexed = match (agency, plan_id) {
            (Some(agency), _) => agency.id.is_some(),
            (None, plan) => plan.is_some(),
        };
        if indexed && self.statistics_answer_at(now)? {
            return Ok((now, self.indexed_deadlines(scope, &selection, page)?));
        }
        let agencies = self.shared.agencies();
        let mut found = Vec::new();
        for view in &self.tasks_of(scope, agency, plan_id)? {
            found.extend(
                self.shared
                    .obligations
                    .obligations(&view.state, now)
                    .into_iter()
                    .filter(|obligation| {
                        obligation.status == ObligationStatus::Overdue
                            && agency.is_none_or(|agency| {
                                agencies.owes(agency, &view.state, &view.plan_id, obligation)
                            })
                    })
                    .map(|obligation| task_obligation(agencies, view, obligation)),
            );
        }
        sort_by_due(&mut found);
        Ok((now, page_of_sorted(found, page)?))
    }

    /// Counts per agency and period as of `query.as_of` (`scorecard.rs`).
    pub async fn scorecard(
        &self,
        scope: &ReadScope,
        query: &ScorecardQuery,
        min_sequence: u64,
    ) -> Result<Scorecard, AppError> {
        self.wait_for_sequence(min_sequence).await?;
        let as_of = in_vietnam(query.as_of.unwrap_or_else(|| self.shared.clock.now()));
        if let Some(scorecard) = self.counted_scorecard(scope, query, as_of)? {
            return Ok(scorecard);
        }
        let views = self.tasks_of(scope, query.agency.as_ref(), query.plan_id.as_ref())?;
        Ok(scorecard_of(
            &self.shared.obligations,
            views.iter().map(|view| (&view.plan_id, &view.state)),
            query.agency.as_ref(),
            &query.periods,
            as_of,
        ))
    }
}
