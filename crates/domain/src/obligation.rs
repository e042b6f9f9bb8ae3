//! Reporting obligations: who owes which report of a task, by when, and whether it came.
//! Derived, never stored: a pure function of the task's state (which records its plan's
//! `ReportingPolicy`, its report requests and its extensions), the holiday calendar, the
//! membership of group agencies and `now`.
//!
//! # Rules
//!
//! - **Duties.** Periodic reports under the policy the task's assignment records (the
//!   context's policy for tasks that record none), and the answers to report requests
//!   recorded on the task: ad hoc ("đột xuất") requests to leads and coordination
//!   requests from a lead to coordinating agencies, each with its own `due`. A request
//!   fans out over groups like a lead does; it exists from the instant it was recorded.
//! - **Extensions** ("gia hạn"). The latest extension granted at or before `now` for the
//!   duty and the agency (by its name, its group's, or for all agencies) replaces `due`;
//!   `original_due` keeps the deadline before any extension. Unreported and still within
//!   the extended deadline is `Extended`; past it, `Overdue` against the new `due`.
//! - **Who owes.** Every lead agency of the task's *current* assignment (an amended row
//!   applies to all periods, since the revised row is what the agencies are held to).
//!   A lead for which `ObligationContext::group_members` returns members fans out: each
//!   member owes its own report (`via_group` = the lead). A lead it returns `None` or an
//!   empty list for owes one report itself (an empty list is read as "members unknown",
//!   so that a gap in the agency directory never makes an obligation disappear). Groups
//!   are expanded one level only: a member is not asked for members of its own.
//!   Coordinating agencies owe no periodic report: they report "khi có yêu cầu từ đơn vị
//!   chủ trì", on the lead's request, which becomes a coordination request duty.
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
//!   before `due` → `ReportedOnTime`, otherwise `ReportedLate` (as `is_on_time`).
//!   With no such report: `now < due` → `Pending` (`Extended` under an extension), else
//!   `Overdue`. Facts recorded after `now` (requests, extensions, reports) are ignored.
//! - **Which reports cover an obligation.** Those for its period under the agency's own
//!   name and, for a fanned-out obligation, those under the group's name: a group's
//!   coordinator may report for all its members at once. Deviation from "only for members
//!   without a report of their own": the *earliest* of the two counts, so that adding a
//!   report never worsens a status (a member's late addendum after its group's report in
//!   time stays on time). A report under a member's name never covers the group's other
//!   members, and one under a name that owes nothing here is ignored.
//! - **Overdue marks** (`TaskState::overdue`) do not feed the status: they record what a
//!   worker once saw, and the status is recomputed from the reports. `Obligation::
//!   overdue_command` gives the command that records an `Overdue` obligation.
//! - **Order.** By `due`, then duty (periodic before requested, periods in order), then
//!   agency: deterministic, and the order in which deadlines pass. `roll_ups` follows the
//!   same order (due, duty, group).
//!
//! Monotonic in `now` for a fixed history without extensions (an extension granted
//! later can turn `Overdue` into `Extended`): an obligation, once listed, stays listed;
//! `Pending` can become `Overdue`, `ReportedOnTime` or `ReportedLate`, `Overdue` can only
//! become `ReportedLate`, and a reported status never changes.

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use crate::calendar::{deadlines_for_year, Deadline, HolidayCalendar};
use crate::command::TaskCommand;
use crate::event::{Duty, RequestKind};
use crate::ids::AgencyName;
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;
use crate::task::{Extension, TaskState};
use crate::timeframe::Schedule;
use crate::vietnam_time::in_vietnam;

/// What deriving obligations needs besides the task and `now`.
#[derive(Clone, Copy)]
pub struct ObligationContext<'a> {
    /// The policy of tasks whose assignment records none (events written before plans
    /// carried a policy). A task's own recorded policy always wins.
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

/// Where an obligation comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObligationSource {
    /// A periodic report under the plan's policy, with its calendar deadline.
    Periodic(Deadline),
    /// A report request recorded on the task.
    Requested {
        kind: RequestKind,
        requested_by: AgencyName,
        subject: String,
    },
}

/// The extension in force for an obligation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedExtension {
    pub reason: String,
    pub granted_by: String,
    pub granted_at: OffsetDateTime,
}

/// One report one agency owes for a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obligation {
    /// Who owes the report.
    pub agency: AgencyName,
    /// The lead (or requested) group it came from, if fanned out.
    pub via_group: Option<AgencyName>,
    pub duty: Duty,
    pub source: ObligationSource,
    /// The deadline before any extension: the calendar's, or the request's.
    pub original_due: OffsetDateTime,
    /// The deadline in force: `original_due`, or the latest extension's.
    pub due: OffsetDateTime,
    pub extension: Option<AppliedExtension>,
    pub status: ObligationStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObligationStatus {
    /// No report yet, and the original deadline is still ahead.
    Pending,
    /// No report yet, the deadline was extended and the extended deadline is still ahead.
    Extended,
    /// No report, and `due` has passed.
    Overdue,
    /// The first covering report came strictly before `due`.
    ReportedOnTime { at: OffsetDateTime },
    /// The first covering report came at or after `due`.
    ReportedLate { at: OffsetDateTime },
}

impl ObligationStatus {
    /// Whether a report is still awaited before the deadline.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Pending | Self::Extended)
    }

    /// The status's name as the API and CLI print it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Extended => "extended",
            Self::Overdue => "overdue",
            Self::ReportedOnTime { .. } => "reported_on_time",
            Self::ReportedLate { .. } => "reported_late",
        }
    }
}

impl Obligation {
    /// Whether `agency` owes it: in its own name or, for a group, by a member through it.
    pub fn is_owed_by(&self, agency: &AgencyName) -> bool {
        crate::debtor::owed_by(&self.agency, self.via_group.as_ref(), agency)
    }

    /// The reporting period of a periodic obligation.
    pub fn period(&self) -> Option<ReportingPeriod> {
        match &self.duty {
            Duty::Periodic { period } => Some(*period),
            Duty::Requested { .. } => None,
        }
    }

    /// The calendar deadline of a periodic obligation.
    pub fn deadline(&self) -> Option<&Deadline> {
        match &self.source {
            ObligationSource::Periodic(deadline) => Some(deadline),
            ObligationSource::Requested { .. } => None,
        }
    }

    /// The command that records this obligation as overdue, when it is `Overdue`.
    pub fn overdue_command(&self) -> Option<TaskCommand> {
        if self.status != ObligationStatus::Overdue {
            return None;
        }
        Some(match &self.duty {
            Duty::Periodic { period } => TaskCommand::MarkOverdue {
                period: *period,
                deadline: self.due,
                agency: Some(self.agency.clone()),
            },
            Duty::Requested { request_key } => TaskCommand::MarkRequestOverdue {
                request_key: request_key.clone(),
                agency: self.agency.clone(),
                due: self.due,
            },
        })
    }

    /// Whether `task` already records this obligation as overdue at its current `due`.
    pub fn is_marked_overdue(&self, task: &TaskState) -> bool {
        let key = self.agency.match_key();
        match &self.duty {
            Duty::Periodic { period } => task.overdue.iter().any(|mark| {
                mark.period == *period
                    && mark.deadline >= self.due
                    && mark
                        .agency
                        .as_ref()
                        .is_some_and(|agency| agency.match_key() == key)
            }),
            Duty::Requested { request_key } => task.request_overdue.iter().any(|mark| {
                mark.request_key == *request_key
                    && mark.due >= self.due
                    && mark.agency.match_key() == key
            }),
        }
    }
}

/// How the members of one fanned-out group stand for one duty.
/// Invariant: `members == reported_on_time + reported_late + overdue + pending + extended`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRollUp {
    pub group: AgencyName,
    pub duty: Duty,
    pub members: usize,
    pub reported_on_time: usize,
    pub reported_late: usize,
    pub overdue: usize,
    pub pending: usize,
    pub extended: usize,
}

impl GroupRollUp {
    /// The reporting period of a periodic duty.
    pub fn period(&self) -> Option<ReportingPeriod> {
        match &self.duty {
            Duty::Periodic { period } => Some(*period),
            Duty::Requested { .. } => None,
        }
    }
}

/// A task's standing as a whole, from its obligations. Ordered from least to most
/// severe, so that `max` over a set of tasks gives the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    /// No obligation at all: the task is not assigned, its window starts after the year
    /// of `now`, or the policy asks for no periodic report. (Named for what the
    /// obligations show: an empty list cannot tell these cases apart.)
    NoObligations,
    /// Nothing overdue, nothing extended, and every report that came, came on time.
    OnTrack,
    /// Nothing overdue or late, but at least one report is awaited under an extension.
    Extended,
    /// Nothing overdue now, but at least one report came late.
    ReportedLate,
    /// At least one obligation is overdue.
    Overdue,
}

impl TaskStatus {
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoObligations => "no_obligations",
            Self::OnTrack => "on_track",
            Self::Extended => "extended",
            Self::ReportedLate => "reported_late",
            Self::Overdue => "overdue",
        }
    }
}

/// Someone who owes reports, with the keys used to match report names.
struct Owner {
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
    obligations_through(task, context, now, in_vietnam(now).year())
}

/// Like `obligations`, with periodic obligations listed through `last_year` (which may
/// lie after the year of `now`: the worker looks one year ahead for its next wake-up).
pub fn obligations_through(
    task: &TaskState,
    context: &ObligationContext,
    now: OffsetDateTime,
    last_year: i32,
) -> Vec<Obligation> {
    let Some(assignment) = &task.assignment else {
        return Vec::new();
    };
    let details = &assignment.details;
    let own_policy = task.reporting_policy();
    let policy = own_policy.as_ref().unwrap_or(context.policy);
    let mut result = Vec::new();
    let lead_debtors = debtors(&details.lead, context.group_members);
    for year in active_years(details.timeframe.schedule, last_year) {
        for deadline in deadlines_for_year(policy, year, context.holidays) {
            let duty = Duty::Periodic {
                period: deadline.period,
            };
            for debtor in &lead_debtors {
                result.push(obligation(
                    task,
                    debtor,
                    duty.clone(),
                    ObligationSource::Periodic(deadline),
                    deadline.due,
                    now,
                ));
            }
        }
    }
    for request in &task.report_requests {
        if request.requested_at > now {
            continue;
        }
        let duty = Duty::Requested {
            request_key: request.request_key.clone(),
        };
        let source = ObligationSource::Requested {
            kind: request.kind,
            requested_by: request.requested_by.clone(),
            subject: request.subject.clone(),
        };
        for debtor in &debtors(&request.agencies, context.group_members) {
            result.push(obligation(
                task,
                debtor,
                duty.clone(),
                source.clone(),
                request.due,
                now,
            ));
        }
    }
    result.sort_by(|a, b| (a.due, &a.duty, &a.agency).cmp(&(b.due, &b.duty, &b.agency)));
    result
}

fn obligation(
    task: &TaskState,
    debtor: &Owner,
    duty: Duty,
    source: ObligationSource,
    original_due: OffsetDateTime,
    now: OffsetDateTime,
) -> Obligation {
    let extension = extension_in_force(task, &duty, debtor, now);
    let due = extension.map_or(original_due, |extension| extension.new_due);
    let first_report = first_covering_report(task, &duty, debtor, now);
    let status = match first_report {
        Some(at) if at < due => ObligationStatus::ReportedOnTime { at },
        Some(at) => ObligationStatus::ReportedLate { at },
        None if now >= due => ObligationStatus::Overdue,
        None if extension.is_some() => ObligationStatus::Extended,
        None => ObligationStatus::Pending,
    };
    Obligation {
        agency: debtor.agency.clone(),
        via_group: debtor.via_group.as_ref().map(|(group, _)| group.clone()),
        duty,
        source,
        original_due,
        due,
        extension: extension.map(|extension| AppliedExtension {
            reason: extension.reason.clone(),
            granted_by: extension.granted_by.clone(),
            granted_at: extension.granted_at,
        }),
        status,
    }
}

/// The latest extension granted at or before `now` for this duty and agency: one naming
/// the agency, its group, or no agency (all of them).
fn extension_in_force<'t>(
    task: &'t TaskState,
    duty: &Duty,
    debtor: &Owner,
    now: OffsetDateTime,
) -> Option<&'t Extension> {
    task.extensions
        .iter()
        .filter(|extension| {
            extension.duty == *duty
                && extension.granted_at <= now
                && extension
                    .agency
                    .as_ref()
                    .is_none_or(|agency| debtor.answers_for(agency))
        })
        .max_by_key(|extension| extension.version)
}

impl Owner {
    /// Whether something under `name` is this debtor's: its own name, or its group's.
    fn answers_for(&self, name: &AgencyName) -> bool {
        let key = name.match_key();
        key == self.key
            || self
                .via_group
                .as_ref()
                .is_some_and(|(_, group_key)| key == *group_key)
    }
}

/// One roll-up per fanned-out group and duty, ordered by original due, duty, group (an
/// extension for one member does not split its group's roll-up).
/// Obligations a group owes itself (members unknown) are not rolled up.
pub fn roll_ups(obligations: &[Obligation]) -> Vec<GroupRollUp> {
    let mut groups: BTreeMap<(OffsetDateTime, &Duty, &AgencyName), GroupRollUp> = BTreeMap::new();
    for obligation in obligations {
        let Some(group) = &obligation.via_group else {
            continue;
        };
        let roll_up = groups
            .entry((obligation.original_due, &obligation.duty, group))
            .or_insert_with(|| GroupRollUp {
                group: group.clone(),
                duty: obligation.duty.clone(),
                members: 0,
                reported_on_time: 0,
                reported_late: 0,
                overdue: 0,
                pending: 0,
                extended: 0,
            });
        roll_up.members += 1;
        match obligation.status {
            ObligationStatus::Pending => roll_up.pending += 1,
            ObligationStatus::Extended => roll_up.extended += 1,
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
            ObligationStatus::Extended => TaskStatus::Extended,
            ObligationStatus::ReportedLate { .. } => TaskStatus::ReportedLate,
            ObligationStatus::Overdue => TaskStatus::Overdue,
        })
        .max()
        .unwrap_or(TaskStatus::NoObligations)
}

/// The years of the active window, up to and including `last_year`.
fn active_years(schedule: Schedule, last_year: i32) -> std::ops::RangeInclusive<i32> {
    let (from, to) = match schedule {
        Schedule::PlanYear { year } | Schedule::Year { year } => (year, year),
        Schedule::Range { from, to } => (from, to),
        Schedule::Annual { from } | Schedule::Ongoing { from } | Schedule::Unparsed { from } => {
            (from, last_year)
        }
    };
    from.max(2000)..=to.min(last_year).min(2100)
}

/// The agencies that owe, deduplicated by match key (module docs).
fn debtors(
    leads: &[AgencyName],
    group_members: &dyn Fn(&AgencyName) -> Option<Vec<AgencyName>>,
) -> Vec<Owner> {
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
            debtors.push(Owner {
                agency: (*lead).clone(),
                key: lead.match_key(),
                via_group: None,
            });
        }
    }
    for (group, members) in &expanded {
        for member in members.iter().flatten() {
            if seen.insert(member.match_key()) {
                debtors.push(Owner {
                    agency: member.clone(),
                    key: member.match_key(),
                    via_group: Some(((*group).clone(), group.match_key())),
                });
            }
        }
    }
    debtors
}

/// When the first report (periodic) or answer (requested) covering the obligation came,
/// among those recorded at or before `now`.
fn first_covering_report(
    task: &TaskState,
    duty: &Duty,
    debtor: &Owner,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match duty {
        Duty::Periodic { period } => task
            .reports
            .iter()
            .filter(|report| {
                report.period == *period
                    && report.submitted_at <= now
                    && debtor.answers_for(&report.reported_by)
            })
            .map(|report| report.submitted_at)
            .min(),
        Duty::Requested { request_key } => task
            .answers
            .iter()
            .filter(|answer| {
                answer.request_key == *request_key
                    && answer.answered_at <= now
                    && debtor.answers_for(&answer.answered_by)
            })
            .map(|answer| answer.answered_at)
            .min(),
    }
}

#[cfg(test)]
#[path = "obligation_tests.rs"]
mod tests;
