//! Listing tasks: filters, index choice and page tokens.
//!
//! Order is by plan, then the row's position in its appendix. A page token is the last
//! index key returned, tagged with the index it belongs to; it is only valid with the
//! same filters (a token from another query is refused, never silently misread).

use dondoc_domain::{AgencyName, PlanId};

use crate::store::{decode_view, keys, ProjectionStore};
use crate::view::TaskView;
use crate::ProjectionError;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskQuery {
    pub plan_id: Option<PlanId>,
    pub lead: Option<AgencyName>,
    pub coordinator: Option<AgencyName>,
    /// 0 means the default.
    pub page_size: usize,
    pub page_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPage {
    pub tasks: Vec<TaskView>,
    /// `None` on the last page.
    pub next_page_token: Option<String>,
}

/// `plan \0 position(8 bytes BE) task(16 bytes)`: sorts by plan, then appendix order.
fn plan_key(view: &TaskView, position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.extend_from_slice(view.plan_id.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(&position.to_be_bytes());
    key.extend_from_slice(view.task_id.as_uuid().as_bytes());
    key
}

fn agency_prefix(agency: &AgencyName) -> Vec<u8> {
    let mut key = agency.match_key().into_bytes();
    key.push(0);
    key
}

fn plan_prefix(plan_id: &PlanId) -> Vec<u8> {
    let mut key = plan_id.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

/// The index records (whole keys, prefix included) a view contributes: one under its
/// plan, one per distinct lead and coordinator.
pub(crate) fn index_entries(view: &TaskView) -> Vec<Vec<u8>> {
    let Some(assignment) = &view.state.assignment else {
        return Vec::new();
    };
    let position = assignment.details.source.position as u64;
    let plan_key = plan_key(view, position);
    let mut entries = vec![keys::with(keys::BY_PLAN, &plan_key)];
    let agency_key = |prefix: u8, agency: &AgencyName| {
        keys::with(prefix, &[agency_prefix(agency), plan_key.clone()].concat())
    };
    for (prefix, names) in [
        (keys::BY_LEAD, &assignment.details.lead),
        (keys::BY_COORDINATOR, &assignment.details.coordinators),
    ] {
        for name in names {
            let key = agency_key(prefix, name);
            if !entries.contains(&key) {
                entries.push(key);
            }
        }
    }
    entries
}

impl ProjectionStore {
    /// Every task matching `query` (its page fields are ignored), read page by page.
    pub fn list_all(&self, query: &TaskQuery) -> Result<Vec<TaskView>, ProjectionError> {
        let mut query = TaskQuery {
            page_size: MAX_PAGE_SIZE,
            page_token: None,
            ..query.clone()
        };
        let mut views = Vec::new();
        loop {
            let page = self.list(&query)?;
            views.extend(page.tasks);
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return Ok(views),
            }
        }
    }

    /// The plans in which some task names `agency` as lead or coordinator, read from the
    /// index keys alone (no view is decoded): one seek per plan.
    pub fn plans_naming(
        &self,
        agency: &AgencyName,
    ) -> Result<std::collections::BTreeSet<PlanId>, ProjectionError> {
        let mut plans = std::collections::BTreeSet::new();
        for index in [keys::BY_LEAD, keys::BY_COORDINATOR] {
            let prefix = keys::with(index, &agency_prefix(agency));
            let mut from = prefix.clone();
            while let Some(entry) = self.tree().range(from.clone()..).next() {
                let (key, _) = entry.map_err(|source| ProjectionError::Storage {
                    action: "reading an agency index",
                    source,
                })?;
                let Some(rest) = key.strip_prefix(prefix.as_slice()) else {
                    break;
                };
                let plan = rest.split(|byte| *byte == 0).next().unwrap_or_default();
                if let Ok(plan_id) = std::str::from_utf8(plan).map(PlanId::parse) {
                    plans.extend(plan_id.ok());
                }
                // The next plan: past every key of this one (`plan \0 …` < `plan \x01`).
                from = [prefix.as_slice(), plan, &[1]].concat();
            }
        }
        Ok(plans)
    }

    /// One page of tasks matching `query`.
    pub fn list(&self, query: &TaskQuery) -> Result<TaskPage, ProjectionError> {
        let page_size = match query.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        // The most selective index serves the scan; other filters are checked per view.
        let plan_part = query.plan_id.as_ref().map(plan_prefix).unwrap_or_default();
        let prefix = match (&query.lead, &query.coordinator) {
            (Some(lead), _) => {
                keys::with(keys::BY_LEAD, &[agency_prefix(lead), plan_part].concat())
            }
            (None, Some(coordinator)) => keys::with(
                keys::BY_COORDINATOR,
                &[agency_prefix(coordinator), plan_part].concat(),
            ),
            (None, None) => keys::with(keys::BY_PLAN, &plan_part),
        };
        let tree = self.tree();
        let start = match &query.page_token {
            None => None,
            Some(token) => Some(decode_token(token, &prefix)?),
        };
        let scan = match &start {
            Some(after) => tree.range::<&[u8], _>((
                std::ops::Bound::Excluded(after.as_slice()),
                std::ops::Bound::Unbounded,
            )),
            None => tree.range::<&[u8], _>(prefix.as_slice()..),
        };
        let mut tasks = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for item in scan {
            let (key, _) = item.map_err(|source| ProjectionError::Storage {
                action: "scanning an index",
                source,
            })?;
            if !key.starts_with(&prefix) {
                break;
            }
            if tasks.len() == page_size {
                more = true;
                break;
            }
            let task_key = keys::with(keys::TASK, &key[key.len() - 16..]);
            let Some(stored) = tree
                .get(task_key)
                .map_err(|source| ProjectionError::Storage {
                    action: "reading a listed task",
                    source,
                })?
            else {
                continue;
            };
            let view = decode_view(&stored)?;
            last_key = Some(key.to_vec());
            if matches_filters(&view, query) {
                tasks.push(view);
            }
        }
        let next_page_token = match (more, last_key) {
            (true, Some(key)) => Some(hex::encode(key)),
            _ => None,
        };
        Ok(TaskPage {
            tasks,
            next_page_token,
        })
    }
}

fn matches_filters(view: &TaskView, query: &TaskQuery) -> bool {
    let Some(assignment) = &view.state.assignment else {
        return false;
    };
    let names = |agencies: &[AgencyName], wanted: &AgencyName| {
        agencies
            .iter()
            .any(|agency| agency.match_key() == wanted.match_key())
    };
    query
        .plan_id
        .as_ref()
        .is_none_or(|plan| *plan == view.plan_id)
        && query
            .lead
            .as_ref()
            .is_none_or(|lead| names(&assignment.details.lead, lead))
        && query
            .coordinator
            .as_ref()
            .is_none_or(|coordinator| names(&assignment.details.coordinators, coordinator))
}

/// A page token is the last index key returned (its first byte names the index): it
/// must lie under this query's prefix.
fn decode_token(token: &str, prefix: &[u8]) -> Result<Vec<u8>, ProjectionError> {
    match hex::decode(token) {
        Ok(key) if key.starts_with(prefix) => Ok(key),
        _ => Err(ProjectionError::InvalidPageToken),
    }
}
