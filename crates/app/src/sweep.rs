//! The overdue sweep: one pass that records, for every obligation whose deadline has
//! passed unreported as of the tracker's clock, one `task_overdue` event naming the
//! agency and the original deadline.
//!
//! Exactly once, by construction rather than by coordination: the mark for (task,
//! period, agency) is a convergent command (`decide` records it at most once), its
//! request id is derived from what it marks, and appends state the task's last sequence.
//! So any number of sweeps, concurrent or repeated after a crash, record each mark
//! once; a sweep after downtime catches up every deadline it missed, with the deadline
//! on the event.
//!
//! This pass visits every task of the projection. The scheduled worker that sleeps until
//! the next deadline and visits only the obligations falling due is built on it.

use std::collections::BTreeMap;

use dondoc_agencies::Resolution;
use dondoc_domain::calendar::HolidayCalendar;
use dondoc_domain::{
    obligations, AgencyName, ObligationContext, ObligationStatus, PlanId, ReportingPolicy,
    RequestId, TaskCommand, TaskId,
};
use dondoc_projection::{TaskQuery, TaskView};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::AppError;
use crate::tracker::{CommandMeta, Tracker};

/// Namespace of the agency part of overdue request ids. Changing it would let a sweep
/// re-record marks the stream already holds under other ids: never do.
const OVERDUE_REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2023_0000_0002);

/// How each plan's deadlines are computed.
#[derive(Clone, Debug)]
pub struct DeadlineRules {
    default: PlanRules,
    plans: BTreeMap<PlanId, PlanRules>,
    holidays: HolidayCalendar,
}

/// A plan's reporting policy and its province in the agency directory (which decides
/// the members of groups such as "Ủy ban nhân dân cấp huyện").
#[derive(Clone, Debug)]
pub struct PlanRules {
    pub policy: ReportingPolicy,
    pub province: Option<String>,
}

impl DeadlineRules {
    pub fn new(default: PlanRules, holidays: HolidayCalendar) -> Self {
        Self {
            default,
            plans: BTreeMap::new(),
            holidays,
        }
    }

    pub fn with_plan(mut self, plan_id: PlanId, rules: PlanRules) -> Self {
        self.plans.insert(plan_id, rules);
        self
    }

    pub fn for_plan(&self, plan_id: &PlanId) -> &PlanRules {
        self.plans.get(plan_id).unwrap_or(&self.default)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub tasks_examined: usize,
    /// Obligations overdue as of the sweep's clock.
    pub overdue: usize,
    /// Marks this sweep recorded.
    pub marked: usize,
}

impl Tracker {
    /// One pass over every task, as of the tracker's clock.
    pub async fn sweep_overdue(&self, rules: &DeadlineRules) -> Result<SweepReport, AppError> {
        let as_of = self.clock().now();
        // Decide on everything the log holds, not on a lagging projection.
        self.wait_for_sequence(self.log_last_sequence().await?)
            .await?;
        let mut report = SweepReport::default();
        let mut query = TaskQuery {
            page_size: dondoc_projection::MAX_PAGE_SIZE,
            ..Default::default()
        };
        loop {
            let page = self.projection().list(&query)?;
            for view in &page.tasks {
                report.tasks_examined += 1;
                let (overdue, marked) = self.mark_overdue(view, rules, as_of).await?;
                report.overdue += overdue;
                report.marked += marked;
            }
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return Ok(report),
            }
        }
    }

    /// Marks the task's overdue obligations; returns (overdue, newly marked).
    async fn mark_overdue(
        &self,
        view: &TaskView,
        rules: &DeadlineRules,
        as_of: OffsetDateTime,
    ) -> Result<(usize, usize), AppError> {
        let plan_rules = rules.for_plan(&view.plan_id);
        let members = |group: &AgencyName| -> Option<Vec<AgencyName>> {
            match self
                .directory()
                .resolve_for(plan_rules.province.as_deref(), group.as_str())
            {
                Resolution::Group(group) => {
                    let names: Vec<AgencyName> = group
                        .members
                        .iter()
                        .filter_map(|member| AgencyName::parse(&member.name).ok())
                        .collect();
                    (!names.is_empty()).then_some(names)
                }
                _ => None,
            }
        };
        let context = ObligationContext {
            policy: &plan_rules.policy,
            holidays: &rules.holidays,
            group_members: &members,
        };
        let mut overdue = 0;
        let mut marked = 0;
        for obligation in obligations(&view.state, &context, as_of) {
            if obligation.status != ObligationStatus::Overdue {
                continue;
            }
            overdue += 1;
            let already_marked = view.state.overdue.iter().any(|mark| {
                mark.period == obligation.period
                    && mark
                        .agency
                        .as_ref()
                        .is_some_and(|agency| agency.match_key() == obligation.agency.match_key())
            });
            let Some(command) = obligation.overdue_command().filter(|_| !already_marked) else {
                continue;
            };
            let outcome = self
                .execute(
                    view.task_id,
                    Some(&view.plan_id),
                    &command,
                    &overdue_meta(view.task_id, &command),
                )
                .await?;
            if !outcome.unchanged {
                marked += 1;
            }
        }
        Ok((overdue, marked))
    }
}

/// The same mark always has the same request id, whichever worker records it.
fn overdue_meta(task_id: TaskId, command: &TaskCommand) -> CommandMeta {
    let (period, agency) = match command {
        TaskCommand::MarkOverdue { period, agency, .. } => (period.to_string(), agency.as_ref()),
        _ => (String::new(), None),
    };
    let agency_key = agency.map_or_else(
        || "task".to_owned(),
        |agency| {
            Uuid::new_v5(&OVERDUE_REQUEST_NAMESPACE, agency.match_key().as_bytes()).to_string()
        },
    );
    CommandMeta {
        // 8 + 36 + 1 + at most 7 + 1 + 36 characters: well within a request id's 128.
        request_id: RequestId::parse(&format!("overdue:{task_id}:{period}:{agency_key}"))
            .expect("printable ASCII without spaces, under 128 characters"),
        actor: "deadline-worker".to_owned(),
        expected_version: None,
    }
}
