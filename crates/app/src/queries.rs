//! Deadline queries and commands: what an agency owes soon, what is overdue, how
//! agencies stand per period (the scorecard), a task's obligations as of an instant, and
//! the commands that change deadlines (extensions, report requests and their answers).
//!
//! Queries are pure reads of the projection: each task's obligations are derived by
//! `Tracker::obligations_of` / `obligations_through` from its state, the deadline rules
//! and an instant; nothing here is stored. Commands go through `Tracker::execute`.
//!
//! # Semantics
//!
//! - **Agency.** A name is resolved to its canonical form (`Tracker::canonical_agency`),
//!   and an obligation is the agency's when the agency owes it by name or, for a group
//!   name, when one of its members owes it through that group (`via_group`).
//! - **Which tasks an agency's obligations come from.** Tasks it leads, tasks led by a
//!   group the agency directory lists it in (in any province: obligations themselves
//!   fan out with the task's own province), and tasks it (or such a group) coordinates,
//!   for the coordination requests addressed to it.
//! - **Upcoming** `[from, to)`: open obligations (`Pending`, `Extended`) as of now
//!   whose deadline in force lies in the window, periodic ones listed through the year
//!   of `to` (so a window reaching into next year sees next year's periods).
//! - **Overdue**: `Overdue` obligations as of now; plan and agency filters are optional
//!   and combine with AND.
//! - **Scorecard** as of an instant: counts per agency and *scorecard period* of each
//!   status, and the on-time rate `on_time / (on_time + late + overdue)` (none when that
//!   is 0). A periodic obligation's scorecard period is its own; a request's is the
//!   quarter (Vietnam time) holding its original due. A period filter selects exactly
//!   that period ("2024" is the yearly report only), a year filter every period of that
//!   year.
//! - **As of.** `obligations(…, as_of)` ignores reports, answers, requests and
//!   extensions recorded after `as_of`. The assignment (leads, coordinators, timeframe,
//!   policy) is read in its *current* form, even when it was created or amended after
//!   `as_of`: the plan is what agencies are held to, whenever the tracker learned of
//!   it. An exact past state (as the tracker saw it then) is the audit log's to rebuild
//!   (`Auditor::scorecard_as_of`, which counts with the same `scorecard_of`).

use std::collections::{BTreeMap, HashSet};

use dondoc_agencies::Resolution;
use dondoc_domain::vietnam_time::in_vietnam;
use dondoc_domain::{
    obligations_through, task_status, AgencyName, DomainError, Duty, InvalidInput, Obligation,
    ObligationStatus, PlanId, ReportingPeriod, ReportingPolicy, ReportingPolicySpec, RequestId,
    RequestKey, RequestKind, TaskCommand, TaskId, TaskState, TaskStatus, PRESET_NAMES,
};
use dondoc_projection::{TaskQuery, TaskView, MAX_PAGE_SIZE};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::deadlines::DeadlineRules;
use crate::error::AppError;
use crate::tracker::{CommandMeta, CommandOutcome, Tracker};

/// How often an extension is decided again after another event slipped in between
/// reading the deadline in force and appending.
const EXTEND_ATTEMPTS: usize = 5;

/// Namespace of request keys derived from request ids that are not keys themselves.
/// Changing it changes derived keys: never do.
const REQUEST_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2024_0000_0004);

/// The fields of a reporting policy's JSON (`ReportingPolicySpec`).
const POLICY_FIELDS: [&str; 7] = [
    "name",
    "quarterly_day",
    "yearly",
    "named_day_is_on_time",
    "yearly_satisfies_q4",
    "working_day_rule",
    "recipient",
];

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
}

/// A task's obligations as of an instant.
#[derive(Clone, Debug)]
pub struct TaskObligations {
    pub view: TaskView,
    pub as_of: OffsetDateTime,
    pub status: TaskStatus,
    pub obligations: Vec<Obligation>,
}

/// How many obligations stand in each status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: usize,
    pub extended: usize,
    pub overdue: usize,
    pub reported_on_time: usize,
    pub reported_late: usize,
}

impl StatusCounts {
    pub fn count(&mut self, status: &ObligationStatus) {
        match status {
            ObligationStatus::Pending => self.pending += 1,
            ObligationStatus::Extended => self.extended += 1,
            ObligationStatus::Overdue => self.overdue += 1,
            ObligationStatus::ReportedOnTime { .. } => self.reported_on_time += 1,
            ObligationStatus::ReportedLate { .. } => self.reported_late += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pending + self.extended + self.overdue + self.reported_on_time + self.reported_late
    }

    /// `on_time / (on_time + late + overdue)`: of the reports that fell due or came,
    /// the share that came on time. `None` when there are none yet (still open
    /// obligations neither help nor hurt).
    pub fn on_time_rate(&self) -> Option<f64> {
        let settled = self.reported_on_time + self.reported_late + self.overdue;
        (settled > 0).then(|| self.reported_on_time as f64 / settled as f64)
    }

    fn add(&mut self, other: &Self) {
        self.pending += other.pending;
        self.extended += other.extended;
        self.overdue += other.overdue;
        self.reported_on_time += other.reported_on_time;
        self.reported_late += other.reported_late;
    }
}

/// Which scorecard periods to count. Both filters combine with AND; none: all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodFilter {
    /// Exactly this period ("2024" is the yearly report only).
    pub period: Option<ReportingPeriod>,
    /// Every period of this year.
    pub year: Option<i32>,
}

impl PeriodFilter {
    pub fn admits(&self, period: &ReportingPeriod) -> bool {
        self.period.is_none_or(|wanted| wanted == *period)
            && self.year.is_none_or(|year| year == period.year())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScorecardQuery {
    pub agency: Option<AgencyName>,
    pub plan_id: Option<PlanId>,
    pub periods: PeriodFilter,
    /// `None`: now.
    pub as_of: Option<OffsetDateTime>,
}

/// One agency's counts in one period (`period: None`: over every selected period).
#[derive(Clone, Debug, PartialEq)]
pub struct ScorecardRow {
    pub agency: AgencyName,
    pub period: Option<ReportingPeriod>,
    pub counts: StatusCounts,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scorecard {
    pub as_of: OffsetDateTime,
    /// By agency (case-insensitively), then period in time order (a year's quarters,
    /// then its yearly report).
    pub rows: Vec<ScorecardRow>,
    /// One per agency, in the same order.
    pub totals: Vec<ScorecardRow>,
}

/// The period an obligation counts under in a scorecard: a periodic report's own; for
/// a request, the quarter (in Vietnam time) that holds its original due.
pub fn scorecard_period(obligation: &Obligation) -> ReportingPeriod {
    match &obligation.duty {
        Duty::Periodic { period } => *period,
        Duty::Requested { .. } => {
            let local = in_vietnam(obligation.original_due);
            ReportingPeriod::Quarter {
                year: local.year(),
                quarter: (u8::from(local.month()) - 1) / 3 + 1,
            }
        }
    }
}

/// Time order of periods: a year's quarters, then its yearly report.
fn period_order(period: &ReportingPeriod) -> (i32, u8) {
    match *period {
        ReportingPeriod::Quarter { year, quarter } => (year, quarter),
        ReportingPeriod::Year(year) => (year, 5),
    }
}

/// Counts `obligations` per agency and scorecard period, keeping those `filter`
/// admits. Agencies are grouped by `AgencyName::match_key`; the first spelling met is
/// shown. Pure: the scorecard's arithmetic, apart from reading tasks.
pub fn tally<'a>(
    obligations: impl IntoIterator<Item = &'a Obligation>,
    filter: &PeriodFilter,
) -> (Vec<ScorecardRow>, Vec<ScorecardRow>) {
    let mut names: BTreeMap<String, AgencyName> = BTreeMap::new();
    let mut cells: BTreeMap<(String, (i32, u8)), (ReportingPeriod, StatusCounts)> = BTreeMap::new();
    for obligation in obligations {
        let period = scorecard_period(obligation);
        if !filter.admits(&period) {
            continue;
        }
        let key = obligation.agency.match_key();
        names
            .entry(key.clone())
            .or_insert_with(|| obligation.agency.clone());
        cells
            .entry((key, period_order(&period)))
            .or_insert_with(|| (period, StatusCounts::default()))
            .1
            .count(&obligation.status);
    }
    let mut rows = Vec::with_capacity(cells.len());
    let mut totals: Vec<ScorecardRow> = Vec::with_capacity(names.len());
    for ((key, _), (period, counts)) in cells {
        let agency = names[&key].clone();
        match totals.last_mut() {
            Some(total) if total.agency.match_key() == key => total.counts.add(&counts),
            _ => totals.push(ScorecardRow {
                agency: agency.clone(),
                period: None,
                counts,
            }),
        }
        rows.push(ScorecardRow {
            agency,
            period: Some(period),
            counts,
        });
    }
    (rows, totals)
}

/// Whether `obligation` is owed by the agency whose match key is `key`: in its own
/// name, or (for a group) by a member through it.
fn owed_by(obligation: &Obligation, key: &str) -> bool {
    obligation.agency.match_key() == key
        || obligation
            .via_group
            .as_ref()
            .is_some_and(|group| group.match_key() == key)
}

/// The reporting policy of an import: a preset by name, or a policy given as JSON
/// (`ReportingPolicySpec`); `None` when neither is given (the import then takes the
/// province's preset). Errors name the field: `policy`, `policy_json` or
/// `policy_json.<field>`.
pub fn reporting_policy(
    preset: Option<&str>,
    json: Option<&str>,
) -> Result<Option<ReportingPolicy>, InvalidInput> {
    let preset = preset.map(str::trim).filter(|name| !name.is_empty());
    let json = json.map(str::trim).filter(|json| !json.is_empty());
    match (preset, json) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(InvalidInput::new(
            "policy_json",
            "give a preset name (policy) or a policy of the plan's own (policy_json), not both",
        )),
        (Some(name), None) => ReportingPolicy::preset(name).map(Some).ok_or_else(|| {
            InvalidInput::new(
                "policy",
                format!(
                    "{name:?} is not a preset policy; the presets are {}",
                    PRESET_NAMES.join(", ")
                ),
            )
        }),
        (None, Some(json)) => {
            let value: serde_json::Value = serde_json::from_str(json).map_err(|error| {
                InvalidInput::new("policy_json", format!("not valid JSON: {error}"))
            })?;
            let Some(object) = value.as_object() else {
                return Err(InvalidInput::new(
                    "policy_json",
                    "must be a JSON object with the fields of a reporting policy",
                ));
            };
            // serde would skip a misspelt optional field and silently drop a report.
            if let Some(unknown) = object
                .keys()
                .find(|key| !POLICY_FIELDS.contains(&key.as_str()))
            {
                return Err(InvalidInput::new(
                    format!("policy_json.{unknown}"),
                    format!("unknown field; the fields are {}", POLICY_FIELDS.join(", ")),
                ));
            }
            let spec: ReportingPolicySpec = serde_json::from_value(value).map_err(|error| {
                InvalidInput::new("policy_json", format!("not a reporting policy: {error}"))
            })?;
            ReportingPolicy::new(spec).map(Some).map_err(|error| {
                InvalidInput::new(format!("policy_json.{}", error.field), error.message)
            })
        }
    }
}

/// The request key a report request gets when the client names none: its request id
/// when that is a valid key, else `req-` and a hash of it (the same id, the same key).
pub fn request_key_for(request_id: &RequestId) -> RequestKey {
    RequestKey::parse(request_id.as_str()).unwrap_or_else(|_| {
        let hash = Uuid::new_v5(&REQUEST_KEY_NAMESPACE, request_id.as_str().as_bytes());
        RequestKey::parse(&format!("req-{}", hash.simple()))
            .expect("36 characters of a-z, 0-9 and '-'")
    })
}

/// An extension to grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineExtension {
    pub duty: Duty,
    /// `None`: for every agency that owes the duty.
    pub agency: Option<AgencyName>,
    pub new_due: OffsetDateTime,
    pub reason: String,
    pub granted_by: String,
}

/// A report request to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRequestInput {
    /// `None`: derived from the command's request id (`request_key_for`).
    pub request_key: Option<RequestKey>,
    pub kind: RequestKind,
    pub requested_by: AgencyName,
    pub agencies: Vec<AgencyName>,
    pub due: OffsetDateTime,
    pub subject: String,
}

fn task_obligation(view: &TaskView, obligation: Obligation) -> TaskObligation {
    let (row_number, title, position) = match &view.state.assignment {
        Some(assignment) => (
            assignment.details.source.row_number.clone(),
            assignment.details.title.clone(),
            assignment.details.source.position,
        ),
        None => (String::new(), String::new(), 0),
    };
    TaskObligation {
        task_id: view.task_id,
        plan_id: view.plan_id.clone(),
        row_number,
        title,
        position,
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

impl Tracker {
    /// Every task matching `query` (its page fields are ignored), page by page.
    pub(crate) fn all_views(&self, mut query: TaskQuery) -> Result<Vec<TaskView>, AppError> {
        query.page_size = MAX_PAGE_SIZE;
        query.page_token = None;
        let mut views = Vec::new();
        loop {
            let page = self.projection().list(&query)?;
            views.extend(page.tasks);
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return Ok(views),
            }
        }
    }

    /// The canonical names of the directory's groups that list `agency` as a member,
    /// in any province.
    pub fn groups_containing(&self, agency: &AgencyName) -> Vec<AgencyName> {
        let key = agency.match_key();
        let directory = self.directory();
        let names = directory.known_names();
        let mut seen = HashSet::new();
        let mut groups = Vec::new();
        for province in directory.provinces() {
            for name in &names {
                let Some(Resolution::Group(group)) = directory.resolve_in(&province, name) else {
                    continue;
                };
                let is_member = group.members.iter().any(|member| {
                    AgencyName::parse(&member.name).is_ok_and(|member| member.match_key() == key)
                });
                if !is_member {
                    continue;
                }
                if let Ok(group) = AgencyName::parse(&group.name) {
                    if seen.insert(group.match_key()) {
                        groups.push(group);
                    }
                }
            }
        }
        groups
    }

    /// The names under which tasks may hold `agency`'s obligations: its own, then the
    /// groups that list it (module docs).
    pub fn agency_and_groups(&self, agency: &AgencyName) -> Vec<AgencyName> {
        let mut names = vec![agency.clone()];
        names.extend(self.groups_containing(agency));
        names
    }

    /// The tasks an agency may owe something on (module docs), in `plan_id` if given.
    fn tasks_of_agency(
        &self,
        agency: &AgencyName,
        plan_id: Option<&PlanId>,
    ) -> Result<Vec<TaskView>, AppError> {
        let mut seen = HashSet::new();
        let mut views = Vec::new();
        for name in self.agency_and_groups(agency) {
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
                for view in self.all_views(query)? {
                    if seen.insert(view.task_id) {
                        views.push(view);
                    }
                }
            }
        }
        Ok(views)
    }

    /// The tasks of `plan_id`, or every task.
    fn tasks_of_plan(&self, plan_id: Option<&PlanId>) -> Result<Vec<TaskView>, AppError> {
        self.all_views(TaskQuery {
            plan_id: plan_id.cloned(),
            ..Default::default()
        })
    }

    /// The open obligations `agency` owes with a deadline in `[from, to)`, soonest first
    /// (module docs). `to` must be after `from`.
    pub async fn upcoming_deadlines(
        &self,
        rules: &DeadlineRules,
        agency: &AgencyName,
        from: OffsetDateTime,
        to: OffsetDateTime,
        min_sequence: u64,
    ) -> Result<Vec<TaskObligation>, AppError> {
        if to <= from {
            return Err(InvalidInput::new(
                "to",
                format!(
                    "the window's end {} must be after its start {}",
                    in_vietnam(to),
                    in_vietnam(from)
                ),
            )
            .into());
        }
        self.wait_for_sequence(min_sequence).await?;
        let now = self.clock().now();
        let agency = self.canonical_agency(agency);
        let key = agency.match_key();
        let last_year = in_vietnam(to).year().max(in_vietnam(now).year());
        let mut found = Vec::new();
        for view in self.tasks_of_agency(&agency, None)? {
            let obligations = self.with_obligation_context(&view.state, rules, |context| {
                obligations_through(&view.state, context, now, last_year)
            });
            found.extend(
                obligations
                    .into_iter()
                    .filter(|obligation| {
                        obligation.status.is_open()
                            && from <= obligation.due
                            && obligation.due < to
                            && owed_by(obligation, &key)
                    })
                    .map(|obligation| task_obligation(&view, obligation)),
            );
        }
        sort_by_due(&mut found);
        Ok(found)
    }

    /// The obligations overdue now, in `plan_id` and owed by `agency` when given,
    /// oldest deadline first.
    pub async fn overdue_obligations(
        &self,
        rules: &DeadlineRules,
        plan_id: Option<&PlanId>,
        agency: Option<&AgencyName>,
        min_sequence: u64,
    ) -> Result<(OffsetDateTime, Vec<TaskObligation>), AppError> {
        self.wait_for_sequence(min_sequence).await?;
        let now = self.clock().now();
        let agency = agency.map(|agency| self.canonical_agency(agency));
        let key = agency.as_ref().map(AgencyName::match_key);
        let views = match &agency {
            Some(agency) => self.tasks_of_agency(agency, plan_id)?,
            None => self.tasks_of_plan(plan_id)?,
        };
        let mut found = Vec::new();
        for view in &views {
            found.extend(
                self.obligations_of(&view.state, rules, now)
                    .into_iter()
                    .filter(|obligation| {
                        obligation.status == ObligationStatus::Overdue
                            && key.as_deref().is_none_or(|key| owed_by(obligation, key))
                    })
                    .map(|obligation| task_obligation(view, obligation)),
            );
        }
        sort_by_due(&mut found);
        Ok((now, found))
    }

    /// Counts per agency and period as of `query.as_of` (module docs).
    pub async fn scorecard(
        &self,
        rules: &DeadlineRules,
        query: &ScorecardQuery,
        min_sequence: u64,
    ) -> Result<Scorecard, AppError> {
        self.wait_for_sequence(min_sequence).await?;
        let as_of = in_vietnam(query.as_of.unwrap_or_else(|| self.clock().now()));
        let agency = query
            .agency
            .as_ref()
            .map(|agency| self.canonical_agency(agency));
        let views = match &agency {
            Some(agency) => self.tasks_of_agency(agency, query.plan_id.as_ref())?,
            None => self.tasks_of_plan(query.plan_id.as_ref())?,
        };
        Ok(self.scorecard_of(
            rules,
            views.iter().map(|view| &view.state),
            agency.as_ref(),
            &query.periods,
            as_of,
        ))
    }

    /// The scorecard of `tasks` as of `as_of`: each task's obligations then, those
    /// `agency` (canonical) owes when given, tallied per agency and period. `tasks` come
    /// in listing order (the first spelling of an agency met is the one shown). Shared by
    /// the live scorecard (states from the projection) and the audit's (states rebuilt
    /// from the log as they stood then).
    pub fn scorecard_of<'a>(
        &self,
        rules: &DeadlineRules,
        tasks: impl IntoIterator<Item = &'a TaskState>,
        agency: Option<&AgencyName>,
        periods: &PeriodFilter,
        as_of: OffsetDateTime,
    ) -> Scorecard {
        let key = agency.map(AgencyName::match_key);
        let mut obligations = Vec::new();
        for task in tasks {
            obligations.extend(
                self.obligations_of(task, rules, as_of)
                    .into_iter()
                    .filter(|obligation| key.as_deref().is_none_or(|key| owed_by(obligation, key))),
            );
        }
        let (rows, totals) = tally(&obligations, periods);
        Scorecard {
            as_of,
            rows,
            totals,
        }
    }

    /// One task's obligations as of `as_of` (`None`: now), once the projection has
    /// reached `min_version`.
    pub async fn task_obligations(
        &self,
        rules: &DeadlineRules,
        task_id: TaskId,
        as_of: Option<OffsetDateTime>,
        min_version: u64,
    ) -> Result<TaskObligations, AppError> {
        let view = self.get_task(task_id, min_version).await?;
        if view.state.assignment.is_none() {
            return Err(AppError::TaskNotFound(task_id));
        }
        let as_of = in_vietnam(as_of.unwrap_or_else(|| self.clock().now()));
        let obligations = self.obligations_of(&view.state, rules, as_of);
        Ok(TaskObligations {
            status: task_status(&obligations),
            view,
            as_of,
            obligations,
        })
    }

    /// Extends a deadline: the deadline in force is read from the task's obligations
    /// now (for every agency: the latest of theirs), and the extension is appended
    /// stating the version it was read at, so that it is decided again if another
    /// event came in between (unless the client pinned a version: then ABORTED).
    /// Refused (`InvalidInput`) when the task owes no such duty, or the agency owes
    /// none of it; an unknown request key is `UnknownRequest`.
    pub async fn extend_deadline(
        &self,
        rules: &DeadlineRules,
        task_id: TaskId,
        extension: &DeadlineExtension,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let agency = extension
            .agency
            .as_ref()
            .map(|agency| self.canonical_agency(agency));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let view = self
                .load(task_id, None)
                .await?
                .filter(|view| view.state.assignment.is_some())
                .ok_or(AppError::TaskNotFound(task_id))?;
            if let Some(version) = view.version_for_request(meta.request_id.as_str()) {
                // A retry: answered from the history, as `execute` does.
                return Ok(CommandOutcome {
                    task_id,
                    version,
                    stream_sequence: view.last_sequence,
                    unchanged: true,
                });
            }
            let now = self.clock().now();
            let owed = self.owed(rules, &view.state, &extension.duty, agency.as_ref(), now)?;
            let current_due = owed
                .iter()
                .map(|obligation| obligation.due)
                .max()
                .expect("owed is never empty");
            let command = TaskCommand::ExtendDeadline {
                duty: extension.duty.clone(),
                agency: agency.clone(),
                current_due,
                new_due: extension.new_due,
                reason: extension.reason.clone(),
                granted_by: extension.granted_by.clone(),
            };
            let pinned = CommandMeta {
                expected_version: Some(meta.expected_version.unwrap_or(view.state.version)),
                ..meta.clone()
            };
            match self
                .execute(task_id, Some(&view.plan_id), &command, &pinned)
                .await
            {
                Err(AppError::VersionConflict { .. })
                    if meta.expected_version.is_none() && attempt < EXTEND_ATTEMPTS =>
                {
                    tracing::debug!(%task_id, attempt, "the task changed while extending; again");
                }
                other => return other,
            }
        }
    }

    /// The obligations of `duty` on `task` now that `agency` owes (all of them for
    /// `None`); never empty. For a periodic duty of a later year, that year's periods
    /// are listed too.
    fn owed(
        &self,
        rules: &DeadlineRules,
        task: &TaskState,
        duty: &Duty,
        agency: Option<&AgencyName>,
        now: OffsetDateTime,
    ) -> Result<Vec<Obligation>, AppError> {
        let current_year = in_vietnam(now).year();
        let (field, last_year) = match duty {
            Duty::Periodic { period } => ("period", period.year().max(current_year)),
            Duty::Requested { request_key } => {
                if task.report_request(request_key).is_none() {
                    return Err(DomainError::UnknownRequest {
                        request_key: request_key.to_string(),
                    }
                    .into());
                }
                ("request_key", current_year)
            }
        };
        let of_duty: Vec<Obligation> = self
            .with_obligation_context(task, rules, |context| {
                obligations_through(task, context, now, last_year)
            })
            .into_iter()
            .filter(|obligation| obligation.duty == *duty)
            .collect();
        if of_duty.is_empty() {
            return Err(InvalidInput::new(
                field,
                format!(
                    "the task owes no {duty}: outside its timeframe, or not a report its \
                     plan's policy asks for"
                ),
            )
            .into());
        }
        let Some(agency) = agency else {
            return Ok(of_duty);
        };
        let key = agency.match_key();
        let (owed, others): (Vec<Obligation>, Vec<Obligation>) = of_duty
            .into_iter()
            .partition(|obligation| owed_by(obligation, &key));
        if owed.is_empty() {
            let mut debtors: Vec<&str> = others
                .iter()
                .map(|obligation| obligation.agency.as_str())
                .collect();
            debtors.dedup();
            return Err(InvalidInput::new(
                "agency",
                format!(
                    "{agency} owes no {duty} on this task; it is owed by {}",
                    debtors.join("; ")
                ),
            )
            .into());
        }
        Ok(owed)
    }

    /// Records a report request; answers with the outcome and the request's key.
    /// Agencies are stored under their canonical names.
    pub async fn request_report(
        &self,
        task_id: TaskId,
        request: &ReportRequestInput,
        meta: &CommandMeta,
    ) -> Result<(CommandOutcome, RequestKey), AppError> {
        let request_key = request
            .request_key
            .clone()
            .unwrap_or_else(|| request_key_for(&meta.request_id));
        let mut seen = HashSet::new();
        let agencies: Vec<AgencyName> = request
            .agencies
            .iter()
            .map(|agency| self.canonical_agency(agency))
            .filter(|agency| seen.insert(agency.match_key()))
            .collect();
        let command = TaskCommand::RequestReport {
            request_key: request_key.clone(),
            kind: request.kind,
            requested_by: self.canonical_agency(&request.requested_by),
            agencies,
            due: request.due,
            subject: request.subject.clone(),
        };
        let outcome = self.execute(task_id, None, &command, meta).await?;
        Ok((outcome, request_key))
    }

    /// Records `agency`'s answer to a report request. Refused (`InvalidInput` on
    /// `agency`) when the agency was not asked (nor is a member of a group that was):
    /// such an answer would cover nothing.
    pub async fn answer_request(
        &self,
        rules: &DeadlineRules,
        task_id: TaskId,
        request_key: &RequestKey,
        agency: &AgencyName,
        content: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let agency = self.canonical_agency(agency);
        let view = self
            .load(task_id, None)
            .await?
            .filter(|view| view.state.assignment.is_some())
            .ok_or(AppError::TaskNotFound(task_id))?;
        if view.version_for_request(meta.request_id.as_str()).is_none() {
            let duty = Duty::Requested {
                request_key: request_key.clone(),
            };
            self.owed(rules, &view.state, &duty, Some(&agency), self.clock().now())?;
        }
        let command = TaskCommand::AnswerRequest {
            request_key: request_key.clone(),
            answered_by: agency,
            content: content.to_owned(),
        };
        self.execute(task_id, Some(&view.plan_id), &command, meta)
            .await
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::calendar::{deadline_for, HolidayCalendar};
    use dondoc_domain::{ObligationSource, RequestKind};
    use time::macros::datetime;

    use super::*;

    fn agency(name: &str) -> AgencyName {
        AgencyName::parse(name).unwrap()
    }

    fn periodic(who: &str, period: &str, status: ObligationStatus) -> Obligation {
        let period = ReportingPeriod::parse(period).unwrap();
        let policy = ReportingPolicy::preset("default").unwrap();
        let deadline = deadline_for(&policy, period, &HolidayCalendar::default())
            .expect("the default policy has every period");
        Obligation {
            agency: agency(who),
            via_group: None,
            duty: Duty::Periodic { period },
            source: ObligationSource::Periodic(deadline),
            original_due: deadline.due,
            due: deadline.due,
            extension: None,
            status,
        }
    }

    fn requested(who: &str, original_due: OffsetDateTime, status: ObligationStatus) -> Obligation {
        Obligation {
            agency: agency(who),
            via_group: None,
            duty: Duty::Requested {
                request_key: RequestKey::parse("dot-xuat-1").unwrap(),
            },
            source: ObligationSource::Requested {
                kind: RequestKind::AdHoc,
                requested_by: agency("UBND tỉnh"),
                subject: "Báo cáo đột xuất".to_owned(),
            },
            original_due,
            due: original_due,
            extension: None,
            status,
        }
    }

    const ON_TIME: ObligationStatus = ObligationStatus::ReportedOnTime {
        at: datetime!(2024-03-01 09:00 +7),
    };
    const LATE: ObligationStatus = ObligationStatus::ReportedLate {
        at: datetime!(2024-04-01 09:00 +7),
    };

    #[test]
    fn the_on_time_rate_counts_settled_obligations_only() {
        let mut counts = StatusCounts::default();
        assert_eq!(counts.on_time_rate(), None, "nothing at all");
        counts.count(&ObligationStatus::Pending);
        counts.count(&ObligationStatus::Extended);
        assert_eq!(counts.on_time_rate(), None, "open obligations only");
        counts.count(&ON_TIME);
        assert_eq!(counts.on_time_rate(), Some(1.0));
        counts.count(&LATE);
        counts.count(&ObligationStatus::Overdue);
        counts.count(&ON_TIME);
        assert_eq!(counts.on_time_rate(), Some(0.5));
        assert_eq!(counts.total(), 6);
        assert_eq!(
            counts,
            StatusCounts {
                pending: 1,
                extended: 1,
                overdue: 1,
                reported_on_time: 2,
                reported_late: 1,
            }
        );
    }

    #[test]
    fn tally_counts_per_agency_and_period_in_time_order() {
        let obligations = vec![
            periodic("Sở Y tế", "2024", ObligationStatus::Pending),
            periodic("Sở Thông tin và Truyền thông", "2024-Q1", ON_TIME),
            periodic(
                "Sở Thông tin và Truyền thông",
                "2023",
                ObligationStatus::Overdue,
            ),
            periodic("sở thông tin và truyền thông", "2024-Q1", LATE),
            periodic(
                "Sở Thông tin và Truyền thông",
                "2023-Q4",
                ObligationStatus::Overdue,
            ),
            periodic("Sở Y tế", "2024-Q1", ObligationStatus::Overdue),
        ];
        let (rows, totals) = tally(&obligations, &PeriodFilter::default());
        let shown: Vec<(String, String, StatusCounts)> = rows
            .iter()
            .map(|row| {
                (
                    row.agency.to_string(),
                    row.period.unwrap().to_string(),
                    row.counts,
                )
            })
            .collect();
        let counts = |overdue, on_time, late, pending| StatusCounts {
            pending,
            extended: 0,
            overdue,
            reported_on_time: on_time,
            reported_late: late,
        };
        assert_eq!(
            shown,
            vec![
                // Grouped case-insensitively under the first spelling; Q4 before the year.
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2023-Q4".into(),
                    counts(1, 0, 0, 0)
                ),
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2023".into(),
                    counts(1, 0, 0, 0)
                ),
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2024-Q1".into(),
                    counts(0, 1, 1, 0)
                ),
                ("Sở Y tế".into(), "2024-Q1".into(), counts(1, 0, 0, 0)),
                ("Sở Y tế".into(), "2024".into(), counts(0, 0, 0, 1)),
            ]
        );
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].agency.as_str(), "Sở Thông tin và Truyền thông");
        assert_eq!(totals[0].period, None);
        assert_eq!(totals[0].counts, counts(2, 1, 1, 0));
        assert_eq!(totals[0].counts.on_time_rate(), Some(0.25));
        assert_eq!(totals[1].counts, counts(1, 0, 0, 1));
        assert_eq!(totals[1].counts.on_time_rate(), Some(0.0));
    }

    #[test]
    fn period_and_year_filters_select_scorecard_periods() {
        let obligations = vec![
            periodic("Sở Y tế", "2023-Q4", ObligationStatus::Overdue),
            periodic("Sở Y tế", "2024", ObligationStatus::Pending),
            periodic("Sở Y tế", "2024-Q1", ON_TIME),
            periodic("Sở Y tế", "2024-Q2", ObligationStatus::Pending),
            // A request counts under the quarter holding its original due, even when
            // extended into the next one.
            Obligation {
                due: datetime!(2024-04-10 00:00 +7),
                ..requested(
                    "Sở Y tế",
                    datetime!(2024-03-28 00:00 +7),
                    ObligationStatus::Extended,
                )
            },
        ];
        let periods = |filter: PeriodFilter| -> Vec<String> {
            tally(&obligations, &filter)
                .0
                .iter()
                .map(|row| row.period.unwrap().to_string())
                .collect()
        };
        assert_eq!(
            periods(PeriodFilter::default()),
            ["2023-Q4", "2024-Q1", "2024-Q2", "2024"]
        );
        let exactly = |text| PeriodFilter {
            period: Some(ReportingPeriod::parse(text).unwrap()),
            year: None,
        };
        assert_eq!(periods(exactly("2024")), ["2024"], "the yearly report only");
        let q1 = tally(&obligations, &exactly("2024-Q1")).0;
        assert_eq!(q1.len(), 1);
        assert_eq!(q1[0].counts.reported_on_time, 1);
        assert_eq!(q1[0].counts.extended, 1, "the request, by its original due");
        let year = PeriodFilter {
            period: None,
            year: Some(2024),
        };
        assert_eq!(periods(year), ["2024-Q1", "2024-Q2", "2024"]);
        let none = PeriodFilter {
            period: Some(ReportingPeriod::parse("2023-Q4").unwrap()),
            year: Some(2024),
        };
        assert!(periods(none).is_empty(), "filters combine with AND");
    }

    #[test]
    fn a_requests_scorecard_period_is_the_quarter_of_its_original_due_in_vietnam() {
        // 17:00 UTC on 31 March is 00:00 on 1 April in Vietnam: the second quarter.
        let obligation = requested(
            "Sở Y tế",
            datetime!(2024-03-31 17:00 UTC),
            ObligationStatus::Pending,
        );
        assert_eq!(
            scorecard_period(&obligation),
            ReportingPeriod::parse("2024-Q2").unwrap()
        );
        let obligation = requested(
            "Sở Y tế",
            datetime!(2024-12-31 23:59 +7),
            ObligationStatus::Pending,
        );
        assert_eq!(scorecard_period(&obligation).to_string(), "2024-Q4");
    }

    #[test]
    fn owed_by_matches_the_agency_or_its_group() {
        let mut obligation = periodic("Ủy ban nhân dân huyện Ba Tơ", "2024-Q1", ON_TIME);
        obligation.via_group = Some(agency("Ủy ban nhân dân cấp huyện"));
        assert!(owed_by(&obligation, "ủy ban nhân dân huyện ba tơ"));
        assert!(owed_by(&obligation, "ủy ban nhân dân cấp huyện"));
        assert!(!owed_by(&obligation, "sở y tế"));
    }

    #[test]
    fn a_policy_is_a_preset_or_json_and_errors_name_the_field() {
        assert_eq!(reporting_policy(None, None).unwrap(), None);
        assert_eq!(reporting_policy(Some(" "), Some("")).unwrap(), None);
        assert_eq!(
            reporting_policy(Some("ba-to"), None)
                .unwrap()
                .unwrap()
                .name(),
            "ba-to"
        );
        assert_eq!(
            reporting_policy(Some("nope"), None).unwrap_err().field,
            "policy"
        );
        let json = r#"{"name": "qti-literal", "quarterly_day": 25, "yearly": "12-20",
            "working_day_rule": false, "recipient": "Sở Thông tin và Truyền thông"}"#;
        let policy = reporting_policy(None, Some(json)).unwrap().unwrap();
        assert_eq!(policy.name(), "qti-literal");
        assert_eq!(policy.quarterly_day(), Some(25));
        assert!(!policy.working_day_rule());
        assert!(!policy.named_day_is_on_time(), "defaults apply");
        let field = |json: &str| reporting_policy(None, Some(json)).unwrap_err().field;
        assert_eq!(field("{"), "policy_json");
        assert_eq!(field("[1]"), "policy_json");
        assert_eq!(
            field(&json.replace("quarterly_day", "quartely_day")),
            "policy_json.quartely_day"
        );
        assert_eq!(
            field(&json.replace("25", "31")),
            "policy_json.quarterly_day"
        );
        assert_eq!(field(&json.replace("12-20", "02-29")), "policy_json.yearly");
        assert_eq!(field(&json.replace("12-20", "Dec 20")), "policy_json");
        assert_eq!(
            reporting_policy(Some("default"), Some(json))
                .unwrap_err()
                .field,
            "policy_json"
        );
    }

    #[test]
    fn request_keys_derive_from_request_ids() {
        let id = RequestId::parse("dot-xuat-2024-03").unwrap();
        assert_eq!(request_key_for(&id).as_str(), "dot-xuat-2024-03");
        let id = RequestId::parse("ask/2024#1").unwrap();
        let key = request_key_for(&id);
        assert!(key.as_str().starts_with("req-"), "{key}");
        assert_eq!(key, request_key_for(&id), "the same id, the same key");
        assert_ne!(
            key,
            request_key_for(&RequestId::parse("ask/2024#2").unwrap())
        );
    }
}
