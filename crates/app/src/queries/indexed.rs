//! The deadline queries answered from the statistics the projection derives as events
//! arrive (`statistics.rs`): the scorecard from counters, the overdue and upcoming
//! lists from the index of open obligations, with pages. Each reads what matches, not
//! every task: a counter per (plan, agency, period, status), a view per task that has
//! an open obligation in the window asked about.
//!
//! Invariant: the answers are those of the derivation from every view
//! (`obligations.rs`), item for item and in the same order. They are only used when
//! that holds (`Queries::statistics_answer_at`); otherwise the caller derives.
//! Candidates come from the index; what is listed is each candidate's obligations as
//! the domain derives them at the query's instant, so the index only decides which
//! views are read, never what an obligation's status is.
//!
//! Paging: a page holds whole deadline groups (one task's obligations at one due) until
//! it has `page_size` obligations; its token is the last group's key (due, plan,
//! appendix position, task), and the next page starts after it. The same token is
//! valid for the derivation from every view, which pages the same way.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::rc::Rc;

use dondoc_domain::{in_vietnam, Duty, Obligation, ObligationStatus, PlanId, TaskId};
use dondoc_projection::{ProjectionError, TaskView};
use time::OffsetDateTime;

use super::obligations::TaskObligation;
use super::Queries;
use crate::access::ReadScope;
use crate::agencies::AgencyTarget;
use crate::error::AppError;
use crate::scorecard::{scorecard_period, Scorecard, ScorecardQuery, StatusCounts, Tally};
use crate::statistics::{
    counter_prefix, encode_due, horizon_bound, open_family, open_key, open_list_due,
    parse_horizon_list, parse_open_key, Counter, CLASS_LATE, CLASS_ON_TIME, CLASS_OPEN,
    CLASS_OPEN_EXTENDED,
};

/// Obligations per page of the deadline lists when the request names no size.
pub const DEFAULT_DEADLINE_PAGE: usize = 500;
/// The most a page holds (whole groups may take it a little past).
pub const MAX_DEADLINE_PAGE: usize = 5000;

/// Which obligations a deadline list holds.
pub(super) struct DeadlineSelection<'a> {
    pub plan_id: Option<&'a PlanId>,
    pub agency: Option<&'a AgencyTarget>,
    /// Deadlines at or after this, if given.
    pub from: Option<OffsetDateTime>,
    /// And before (or at) this.
    pub to: Bound<OffsetDateTime>,
    /// The instant statuses are read at.
    pub now: OffsetDateTime,
    /// Periodic obligations are listed through this year.
    pub last_year: i32,
    pub wanted: fn(&ObligationStatus) -> bool,
}

impl DeadlineSelection<'_> {
    fn admits_due(&self, due: OffsetDateTime) -> bool {
        self.from.is_none_or(|from| from <= due)
            && match self.to {
                Bound::Included(to) => due <= to,
                Bound::Excluded(to) => due < to,
                Bound::Unbounded => true,
            }
    }

    fn past_window(&self, due: OffsetDateTime) -> bool {
        match self.to {
            Bound::Included(to) => due > to,
            Bound::Excluded(to) => due >= to,
            Bound::Unbounded => false,
        }
    }
}

/// A page of a deadline list.
#[derive(Clone, Debug, Default)]
pub struct DeadlinePage {
    pub obligations: Vec<TaskObligation>,
    /// `None` on the last page.
    pub next_page_token: Option<String>,
}

/// The size and start of a page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// 0: the default (500); at most 5000.
    pub page_size: usize,
    pub page_token: Option<String>,
}

impl PageRequest {
    fn size(&self) -> usize {
        match self.page_size {
            0 => DEFAULT_DEADLINE_PAGE,
            size => size.min(MAX_DEADLINE_PAGE),
        }
    }

    /// The key the page starts after.
    fn after(&self) -> Result<Option<Vec<u8>>, AppError> {
        let Some(token) = &self.page_token else {
            return Ok(None);
        };
        match hex::decode(token) {
            Ok(key) if parse_open_key(&key).is_some() => Ok(Some(key)),
            _ => Err(AppError::Projection(ProjectionError::InvalidPageToken)),
        }
    }
}

/// One task's obligations at one due: the unit of a page.
type Group = (Vec<u8>, Vec<TaskObligation>);

/// Cuts `groups` (in key order) into the page after `page.after()`.
fn page_of(
    groups: impl Iterator<Item = Result<Group, AppError>>,
    page: &PageRequest,
) -> Result<DeadlinePage, AppError> {
    let after = page.after()?;
    let size = page.size();
    let mut obligations = Vec::new();
    let mut last_key: Option<Vec<u8>> = None;
    for group in groups {
        let (key, items) = group?;
        if items.is_empty() || after.as_ref().is_some_and(|after| key <= *after) {
            continue;
        }
        if obligations.len() >= size {
            return Ok(DeadlinePage {
                obligations,
                next_page_token: last_key.map(hex::encode),
            });
        }
        obligations.extend(items);
        last_key = Some(key);
    }
    Ok(DeadlinePage {
        obligations,
        next_page_token: None,
    })
}

/// Pages an already derived, sorted list (the derivation from every view) the way the
/// index pages.
pub(super) fn page_of_sorted(
    found: Vec<TaskObligation>,
    page: &PageRequest,
) -> Result<DeadlinePage, AppError> {
    let mut groups: Vec<Group> = Vec::new();
    for item in found {
        let key = group_key(&item);
        match groups.last_mut() {
            Some((last, items)) if *last == key => items.push(item),
            _ => groups.push((key, vec![item])),
        }
    }
    page_of(groups.into_iter().map(Ok), page)
}

fn group_key(item: &TaskObligation) -> Vec<u8> {
    open_key(
        item.obligation.due,
        &item.plan_id,
        item.position as u64,
        &item.task_id,
    )
}

impl Queries {
    /// Whether the derived statistics answer for instant `at`: the store keeps them
    /// under this tracker's rules and directory, and no fact it holds is after `at`.
    pub(super) fn statistics_answer_at(&self, at: OffsetDateTime) -> Result<bool, AppError> {
        if !self.shared.statistics_current {
            return Ok(false);
        }
        Ok(self
            .shared
            .projection
            .latest_fact()?
            .is_none_or(|latest| latest <= at))
    }

    /// Views of the tasks whose open-ended periods are derived only through a year
    /// before `year` (`statistics.rs`), with their horizon.
    fn stale_tasks(&self, year: i32) -> Result<Vec<(i32, TaskView)>, AppError> {
        let store = &self.shared.projection;
        let mut stale = Vec::new();
        for list in store.derived_lists(b"z", Bound::Excluded(&horizon_bound(year))) {
            let (list, members) = list?;
            let Some(horizon) = parse_horizon_list(&list) else {
                continue;
            };
            for member in members {
                let Ok(task_id) = uuid::Uuid::from_slice(&member) else {
                    continue;
                };
                if let Some(view) = store.task(&TaskId::from_uuid(task_id))? {
                    stale.push((horizon, view));
                }
            }
        }
        Ok(stale)
    }

    /// The scorecard from the counters, if they answer (`statistics_answer_at`, and an
    /// agency known by id); `None` otherwise.
    pub(super) fn counted_scorecard(
        &self,
        scope: &ReadScope,
        query: &ScorecardQuery,
        at: OffsetDateTime,
    ) -> Result<Option<Scorecard>, AppError> {
        let agency_id = match &query.agency {
            Some(agency) => match &agency.id {
                Some(id) => Some(id.as_str()),
                None => return Ok(None),
            },
            None => None,
        };
        if !self.statistics_answer_at(at)? {
            return Ok(None);
        }
        let plan = query.plan_id.as_ref().map(PlanId::as_str);
        let prefixes = match agency_id {
            Some(id) => vec![
                counter_prefix(b'A', Some(id), plan),
                counter_prefix(b'G', Some(id), plan),
            ],
            None => vec![counter_prefix(b'P', plan, None)],
        };
        let year = in_vietnam(at).year();
        let mut tally = Tally::default();
        for prefix in prefixes {
            for (key, count) in self.shared.projection.counters(&prefix)? {
                let counter = Counter::parse(&key, count).ok_or_else(|| {
                    AppError::Projection(ProjectionError::Corrupt(format!(
                        "a derived counter key does not read: {}",
                        hex::encode(&key)
                    )))
                })?;
                if !scope.admits(&counter.plan_id)
                    || (counter.periodic && counter.period.year() > year)
                    || !query.periods.admits(&counter.period)
                {
                    continue;
                }
                let count = usize::try_from(counter.count).unwrap_or(usize::MAX);
                let mut counts = StatusCounts::default();
                let still_open = counter.due.is_some_and(|due| at < due);
                match counter.class {
                    CLASS_ON_TIME => counts.reported_on_time = count,
                    CLASS_LATE => counts.reported_late = count,
                    CLASS_OPEN if still_open => counts.pending = count,
                    CLASS_OPEN_EXTENDED if still_open => counts.extended = count,
                    _ => counts.overdue = count,
                }
                tally.add(counter.agency, counter.period, &counts);
            }
        }
        let rules = &self.shared.obligations;
        let agencies = &rules.agencies;
        for (horizon, view) in self.stale_tasks(year)? {
            if !scope.admits(&view.plan_id)
                || query
                    .plan_id
                    .as_ref()
                    .is_some_and(|plan| *plan != view.plan_id)
            {
                continue;
            }
            for obligation in rules.obligations(&view.state, at) {
                let later_period = matches!(
                    obligation.duty,
                    Duty::Periodic { period } if period.year() > horizon
                );
                let period = scorecard_period(&obligation);
                if !later_period
                    || !query.periods.admits(&period)
                    || query.agency.as_ref().is_some_and(|agency| {
                        !agencies.owes(agency, &view.state, &view.plan_id, &obligation)
                    })
                {
                    continue;
                }
                let mut counts = StatusCounts::default();
                counts.count(&obligation.status);
                let agency = agencies.identify(&view.state, &view.plan_id, &obligation.agency);
                tally.add(agency, period, &counts);
            }
        }
        let (rows, totals) = tally.rows();
        Ok(Some(Scorecard {
            as_of: in_vietnam(at),
            rows,
            totals,
        }))
    }

    /// A page of a deadline list from the index of open obligations (module docs). The
    /// caller has checked `statistics_answer_at(selection.now)`, and that the list
    /// names an agency known by id or a plan.
    pub(super) fn indexed_deadlines(
        &self,
        scope: &ReadScope,
        selection: &DeadlineSelection<'_>,
        page: &PageRequest,
    ) -> Result<DeadlinePage, AppError> {
        let store = &self.shared.projection;
        let family = match (selection.agency, selection.plan_id) {
            (Some(agency), _) => {
                let id = agency.id.as_ref().map(|id| id.as_str()).unwrap_or_default();
                open_family(b'a', id)
            }
            (None, Some(plan)) => open_family(b'p', plan.as_str()),
            // No index over every plan (`statistics.rs`): the caller derives.
            (None, None) => {
                return Err(AppError::Projection(ProjectionError::Corrupt(
                    "a deadline list over every plan has no index".to_owned(),
                )))
            }
        };
        // Tasks idle past their horizon are derived whole, beside the index.
        let mut stale_ids = BTreeSet::new();
        let mut stale_groups: Vec<Group> = Vec::new();
        for (_, view) in self.stale_tasks(selection.last_year)? {
            stale_ids.insert(view.task_id);
            if !self.task_admitted(scope, selection, &view.plan_id) {
                continue;
            }
            let derived = self.derived_obligations(&view, selection);
            let mut items: Vec<TaskObligation> = derived
                .iter()
                .filter(|obligation| self.selects(selection, &view, obligation))
                .map(|obligation| {
                    super::obligations::task_obligation(
                        self.shared.agencies(),
                        &view,
                        obligation.clone(),
                    )
                })
                .collect();
            items.sort_by_key(group_key);
            for item in items {
                let key = group_key(&item);
                match stale_groups.last_mut() {
                    Some((last, group)) if *last == key => group.push(item),
                    _ => stale_groups.push((key, vec![item])),
                }
            }
        }
        stale_groups.sort_by(|a, b| a.0.cmp(&b.0));
        let after = page.after()?;
        // The lists from the token's due (or the window's start) on.
        let start = match (&after, selection.from) {
            (Some(after), _) => [family.as_slice(), &after[..16]].concat(),
            (None, Some(from)) => [family.as_slice(), &encode_due(from)].concat(),
            (None, None) => family.clone(),
        };
        let mut family_end = family.clone();
        if let Some(last) = family_end.last_mut() {
            *last += 1;
        }
        let open_keys = store
            .derived_lists(&start, Bound::Excluded(&family_end))
            .flat_map(|list| -> Vec<Result<Vec<u8>, AppError>> {
                match list {
                    Ok((list, members)) => match open_list_due(&list, family.len()) {
                        Some(due) => members
                            .into_iter()
                            .map(|member| Ok([&due[..], &member].concat()))
                            .collect(),
                        None => Vec::new(),
                    },
                    Err(err) => vec![Err(err.into())],
                }
            });
        let mut cache: HashMap<TaskId, Rc<(TaskView, Vec<Obligation>)>> = HashMap::new();
        let indexed = open_keys
            .map(|open| -> Result<Option<Group>, AppError> {
                let open = open?;
                if after.as_ref().is_some_and(|after| open <= *after) {
                    return Ok(Some((open, Vec::new())));
                }
                let Some((due, plan_id, task_id)) = parse_open_key(&open) else {
                    return Ok(Some((open, Vec::new())));
                };
                if selection.past_window(due) {
                    return Ok(None);
                }
                if stale_ids.contains(&task_id)
                    || !selection.admits_due(due)
                    || !self.task_admitted(scope, selection, &plan_id)
                {
                    return Ok(Some((open, Vec::new())));
                }
                let entry = match cache.get(&task_id) {
                    Some(entry) => entry.clone(),
                    None => {
                        let Some(view) = store.task(&task_id)? else {
                            return Ok(Some((open, Vec::new())));
                        };
                        let derived = self.derived_obligations(&view, selection);
                        let entry = Rc::new((view, derived));
                        cache.insert(task_id, entry.clone());
                        entry
                    }
                };
                let (view, derived) = &*entry;
                let items = derived
                    .iter()
                    .filter(|obligation| {
                        obligation.due == due && self.selects(selection, view, obligation)
                    })
                    .map(|obligation| {
                        super::obligations::task_obligation(
                            self.shared.agencies(),
                            view,
                            obligation.clone(),
                        )
                    })
                    .collect();
                Ok(Some((open, items)))
            })
            .map_while(|group| group.transpose());
        page_of(merge_groups(indexed, stale_groups), page)
    }

    fn task_admitted(
        &self,
        scope: &ReadScope,
        selection: &DeadlineSelection<'_>,
        plan_id: &PlanId,
    ) -> bool {
        scope.admits(plan_id) && selection.plan_id.is_none_or(|plan| plan == plan_id)
    }

    fn derived_obligations(
        &self,
        view: &TaskView,
        selection: &DeadlineSelection<'_>,
    ) -> Vec<Obligation> {
        self.shared
            .obligations
            .obligations_through(&view.state, selection.now, selection.last_year)
    }

    fn selects(
        &self,
        selection: &DeadlineSelection<'_>,
        view: &TaskView,
        obligation: &Obligation,
    ) -> bool {
        (selection.wanted)(&obligation.status)
            && selection.admits_due(obligation.due)
            && selection.agency.is_none_or(|agency| {
                self.shared
                    .agencies()
                    .owes(agency, &view.state, &view.plan_id, obligation)
            })
    }
}

/// The groups of both sources in key order (the index's come lazily).
fn merge_groups(
    indexed: impl Iterator<Item = Result<Group, AppError>>,
    stale: Vec<Group>,
) -> impl Iterator<Item = Result<Group, AppError>> {
    let mut indexed = indexed.peekable();
    let mut stale = stale.into_iter().peekable();
    std::iter::from_fn(move || {
        let take_stale = match (indexed.peek(), stale.peek()) {
            (None, None) => return None,
            (None, Some(_)) => true,
            (Some(Err(_)), _) | (Some(_), None) => false,
            (Some(Ok((index_key, _))), Some((stale_key, _))) => stale_key < index_key,
        };
        if take_stale {
            stale.next().map(Ok)
        } else {
            indexed.next()
        }
    })
}
