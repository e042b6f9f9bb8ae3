//! Reporting obligations: who owes which periodic report of a task, by when, and whether
//! it came. Derived, never stored: a pure function of the task's state, its plan's
//! `ReportingPolicy`, the holiday calendar, the membership of group agencies and `now`.
//!
//! # Rules
//!
//! - **Who owes.** Every lead agency of the task's *current* assignment (an amended row
//!   applies to all periods, since the revised row is what the agencies are held to).
//!   A lead for which `ObligationContext::group_members` returns members fans out: each
//!   member owes its own report (`via_group` = the lead). A lead it returns `None` or an
//!   empty list for owes one report itself (an empty list is read as "members unknown",
//!   so that a gap in the agency directory never makes an obligation disappear). Groups
//!   are expanded one level only: a member is not asked for members of its own.
//!   Coordinating agencies owe no periodic report: they report "khi có yêu cầu từ đơn vị
//!   chủ trì", on the lead's request, which is not a date this crate can know.
//! - **Same agency twice.** Agencies are compared by `AgencyName::match_key` (case
//!   folded, as `decide` does for `MarkOverdue`). An agency owes at most one report per
//!   period however often it is reached: a lead named directly wins over the same agency
//!   reached through a group (it was assigned by name), otherwise the first group in the
//!   lead list wins; the first spelling met is kept.
//! - **Which periods.** Every period for which `deadlines_for_year` gives a deadline
//!   (quarterly and yearly, as the policy asks) in every year of the task's *active
//!   window*: `PlanYear`/`Year`: that year; `Range`: `from..=to`; `Annual`, `Ongoing`,
//!   `Unparsed`: every year from `from`, since the task is open (no event closes one yet).
//!   In every case the window stops at the year of `now` in Vietnam time: no future
//!   year is generated, while the current year's periods are listed whole, including
//!   those whose deadline is still ahead (they are `Pending`). Years are clamped to
//!   2000..=2100, the range a `ReportingPeriod` allows.
//! - **Status** of (agency, period), from the reports submitted at or before `now` (a
//!   later one did not exist yet at `now`, which makes the function an "as of" view of
//!   any history): the earliest report that covers the obligation decides it: strictly
//!   before `deadline.due` → `ReportedOnTime`, otherwise `ReportedLate` (`is_on_time`).
//!   With no such report: `now < due` → `Pending`, else `Overdue`.
//! - **Which reports cover an obligation.** Those for its period under the agency's own
//!   name and, for a fanned-out obligation, those under the group's name: a group's
//!   coordinator may report for all its members at once. Deviation from "only for members
//!   without a report of their own": the *earliest* of the two counts, so that adding a
//!   report never worsens a status (a member's late addendum after its group's report in
//!   time stays on time). A report under a member's name never covers the group's other
//!   members, and one under a name that owes nothing here is ignored.
//! - **Overdue marks** (`TaskState::overdue`) do not feed the status: they record what a
//!   worker once saw, and the status is recomputed from the reports. `Obligation::
//!   overdue_command` gives the `MarkOverdue` to record an `Overdue` obligation.
//! - **Order.** By `deadline.due`, then period, then agency: deterministic, and the order
//!   in which deadlines pass. `roll_ups` follows the same order (due, period, group).
//!
//! Monotonic in `now` for a fixed history: an obligation, once listed, stays listed;
//! `Pending` can become `Overdue`, `ReportedOnTime` or `ReportedLate`, `Overdue` can only
//! become `ReportedLate`, and a reported status never changes.

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use crate::calendar::{deadlines_for_year, is_on_time, Deadline, HolidayCalendar};
use crate::ids::AgencyName;
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;
use crate::task::{TaskCommand, TaskState};
use crate::timeframe::Schedule;
use crate::vietnam_time::in_vietnam;

/// What deriving obligations needs besides the task and `now`.
#[derive(Clone, Copy)]
pub struct ObligationContext<'a> {
    pub policy: &'a ReportingPolicy,
    pub holidays: &'a HolidayCalendar,
    /// Members of a group agency ("Ủy ban nhân dân cấp huyện" → its 13 district committees);
    /// None when the name is not a group or its members are unknown.
    pub group_members: &'a dyn Fn(&AgencyName) -> Option<Vec<AgencyName>>,
}

impl<'a> ObligationContext<'a> {
    /// A context in which no lead is a group with known members.
    pub fn without_groups(policy: &'a ReportingPolicy, holidays: &'a HolidayCalendar) -> Self {
        Self {
            policy,
            holidays,
            group_members: &no_group_members,
        }
    }
}

fn no_group_members(_: &AgencyName) -> Option<Vec<AgencyName>> {
    None
}

/// One periodic report one agency owes for a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obligation {
    /// Who owes the report.
    pub agency: AgencyName,
    /// The lead group it came from, if fanned out.
    pub via_group: Option<AgencyName>,
    pub period: ReportingPeriod,
    pub deadline: Deadline,
    pub status: ObligationStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObligationStatus {
    /// No report yet, and `deadline.due` is still ahead.
    Pending,
    /// No report, and `deadline.due` has passed.
    Overdue,
    /// The first covering report came strictly before `deadline.due`.
    ReportedOnTime { at: OffsetDateTime },
    /// The first covering report came at or after `deadline.due`.
    ReportedLate { at: OffsetDateTime },
}

impl Obligation {
    /// The command that records this obligation as overdue, when it is `Overdue`.
    pub fn overdue_command(&self) -> Option<TaskCommand> {
        (self.status == ObligationStatus::Overdue).then(|| TaskCommand::MarkOverdue {
            period: self.period,
            deadline: self.deadline.due,
            agency: Some(self.agency.clone()),
        })
    }
}

/// How the members of one fanned-out lead group stand for one period.
/// Invariant: `members == reported_on_time + reported_late + overdue + pending`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRollUp {
    pub group: AgencyName,
    pub period: ReportingPeriod,
    pub members: usize,
    pub reported_on_time: usize,
    pub reported_late: usize,
    pub overdue: usize,
    pub pending: usize,
}

/// A task's standing as a whole, from its obligations. Ordered from least to most
/// severe, so that `max` over a set of tasks gives the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    /// No obligation at all: the task is not assigned, its window starts after the year
    /// of `now`, or the policy asks for no periodic report. (Named for what the
    /// obligations show: an empty list cannot tell these cases apart.)
    NoObligations,
    /// Nothing overdue, and every report that came, came on time.
    OnTrack,
    /// Nothing overdue now, but at least one report came late.
    ReportedLate,
    /// At least one obligation is overdue.
    Overdue,
}

/// Someone who owes reports, with the keys used to match report names.
struct Debtor {
    agency: AgencyName,
    key: String,
    via_group: Option<(AgencyName, String)>,
}

/// Every obligation of `task` as of `now`, in the order of the module docs.
pub fn obligations(
    task: &TaskState,
    context: &ObligationContext,
    now: OffsetDateTime,
) -> Vec<Obligation> {
    let Some(assignment) = &task.assignment else {
        return Vec::new();
    };
    let details = &assignment.details;
    let debtors = debtors(&details.lead, context.group_members);
    let mut result = Vec::new();
    for year in active_years(details.timeframe.schedule, in_vietnam(now).year()) {
        for deadline in deadlines_for_year(context.policy, year, context.holidays) {
            for debtor in &debtors {
                result.push(Obligation {
                    agency: debtor.agency.clone(),
                    via_group: debtor.via_group.as_ref().map(|(group, _)| group.clone()),
                    period: deadline.period,
                    deadline,
                    status: status(task, debtor, &deadline, now),
                });
            }
        }
    }
    result.sort_by(|a, b| {
        (a.deadline.due, a.period, &a.agency).cmp(&(b.deadline.due, b.period, &b.agency))
    });
    result
}

/// One roll-up per fanned-out group and period, ordered by due, period, group.
/// Obligations a group owes itself (members unknown) are not rolled up.
pub fn roll_ups(obligations: &[Obligation]) -> Vec<GroupRollUp> {
    let mut groups: BTreeMap<(OffsetDateTime, ReportingPeriod, &AgencyName), GroupRollUp> =
        BTreeMap::new();
    for obligation in obligations {
        let Some(group) = &obligation.via_group else {
            continue;
        };
        let roll_up = groups
            .entry((obligation.deadline.due, obligation.period, group))
            .or_insert_with(|| GroupRollUp {
                group: group.clone(),
                period: obligation.period,
                members: 0,
                reported_on_time: 0,
                reported_late: 0,
                overdue: 0,
                pending: 0,
            });
        roll_up.members += 1;
        match obligation.status {
            ObligationStatus::Pending => roll_up.pending += 1,
            ObligationStatus::Overdue => roll_up.overdue += 1,
            ObligationStatus::ReportedOnTime { .. } => roll_up.reported_on_time += 1,
            ObligationStatus::ReportedLate { .. } => roll_up.reported_late += 1,
        }
    }
    groups.into_values().collect()
}

/// The task's standing, from its obligations (see `TaskStatus`).
pub fn task_status(obligations: &[Obligation]) -> TaskStatus {
    obligations
        .iter()
        .map(|obligation| match obligation.status {
            ObligationStatus::Pending | ObligationStatus::ReportedOnTime { .. } => {
                TaskStatus::OnTrack
            }
            ObligationStatus::ReportedLate { .. } => TaskStatus::ReportedLate,
            ObligationStatus::Overdue => TaskStatus::Overdue,
        })
        .max()
        .unwrap_or(TaskStatus::NoObligations)
}

/// The years of the active window, up to and including `now_year`.
fn active_years(schedule: Schedule, now_year: i32) -> std::ops::RangeInclusive<i32> {
    let (from, to) = match schedule {
        Schedule::PlanYear { year } | Schedule::Year { year } => (year, year),
        Schedule::Range { from, to } => (from, to),
        Schedule::Annual { from } | Schedule::Ongoing { from } | Schedule::Unparsed { from } => {
            (from, now_year)
        }
    };
    from.max(2000)..=to.min(now_year).min(2100)
}

/// The agencies that owe reports, deduplicated by match key (module docs).
fn debtors(
    leads: &[AgencyName],
    group_members: &dyn Fn(&AgencyName) -> Option<Vec<AgencyName>>,
) -> Vec<Debtor> {
    let expanded: Vec<(&AgencyName, Option<Vec<AgencyName>>)> = leads
        .iter()
        .map(|lead| {
            let members = group_members(lead).filter(|members| !members.is_empty());
            (lead, members)
        })
        .collect();
    let mut seen = HashSet::new();
    let mut debtors = Vec::new();
    // Leads that owe in their own name first, so that they win over a group's member.
    for (lead, members) in &expanded {
        if members.is_none() && seen.insert(lead.match_key()) {
            debtors.push(Debtor {
                agency: (*lead).clone(),
                key: lead.match_key(),
                via_group: None,
            });
        }
    }
    for (group, members) in &expanded {
        for member in members.iter().flatten() {
            if seen.insert(member.match_key()) {
                debtors.push(Debtor {
                    agency: member.clone(),
                    key: member.match_key(),
                    via_group: Some(((*group).clone(), group.match_key())),
                });
            }
        }
    }
    debtors
}

fn status(
    task: &TaskState,
    debtor: &Debtor,
    deadline: &Deadline,
    now: OffsetDateTime,
) -> ObligationStatus {
    let covers = |name: &AgencyName| {
        let key = name.match_key();
        key == debtor.key
            || debtor
                .via_group
                .as_ref()
                .is_some_and(|(_, group_key)| key == *group_key)
    };
    let first = task
        .reports
        .iter()
        .filter(|report| {
            report.period == deadline.period
                && report.submitted_at <= now
                && covers(&report.reported_by)
        })
        .map(|report| report.submitted_at)
        .min();
    match first {
        Some(at) if is_on_time(deadline, at) => ObligationStatus::ReportedOnTime { at },
        Some(at) => ObligationStatus::ReportedLate { at },
        None if now < deadline.due => ObligationStatus::Pending,
        None => ObligationStatus::Overdue,
    }
}

#[cfg(test)]
#[path = "obligation_tests.rs"]
mod tests;
