//! Listing tasks: filters, index choice and page tokens.
//!
//! Order is by plan, then the row's position in its appendix. A page token is the last
//! index key returned, tagged with the index it belongs to; it is only valid with the
//! same filters (a token from another query is refused, never silently misread).

use dondoc_domain::{AgencyName, PlanId};

use crate::store::{decode_view, ProjectionStore};
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

/// One key a view contributes to one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IndexEntry {
    Plan(Vec<u8>),
    Lead(Vec<u8>),
    Coordinator(Vec<u8>),
}

impl IndexEntry {
    pub(crate) fn key(&self) -> &[u8] {
        match self {
            Self::Plan(key) | Self::Lead(key) | Self::Coordinator(key) => key,
        }
    }
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

pub(crate) fn index_entries(view: &TaskView) -> Vec<IndexEntry> {
    let Some(assignment) = &view.state.assignment else {
        return Vec::new();
    };
    let position = assignment.details.source.position as u64;
    let plan_key = plan_key(view, position);
    let mut entries = vec![IndexEntry::Plan(plan_key.clone())];
    let agency_key = |agency: &AgencyName| [agency_prefix(agency), plan_key.clone()].concat();
    let mut seen = Vec::new();
    for lead in &assignment.details.lead {
        let key = agency_key(lead);
        if !seen.contains(&key) {
            seen.push(key.clone());
            entries.push(IndexEntry::Lead(key));
        }
    }
    seen.clear();
    for coordinator in &assignment.details.coordinators {
        let key = agency_key(coordinator);
        if !seen.contains(&key) {
            seen.push(key.clone());
            entries.push(IndexEntry::Coordinator(key));
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
        let prefix = agency_prefix(agency);
        let mut plans = std::collections::BTreeSet::new();
        for tree in [&self.by_lead, &self.by_coordinator] {
            let mut from = prefix.clone();
            while let Some(entry) = tree.range(from.clone()..).next() {
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
        let (index_tag, tree, prefix) = match (&query.lead, &query.coordinator) {
            (Some(lead), _) => (
                b'L',
                &self.by_lead,
                [agency_prefix(lead), plan_part].concat(),
            ),
            (None, Some(coordinator)) => (
                b'C',
                &self.by_coordinator,
                [agency_prefix(coordinator), plan_part].concat(),
            ),
            (None, None) => (b'P', &self.by_plan, plan_part),
        };
        let start = match &query.page_token {
            None => None,
            Some(token) => Some(decode_token(token, index_tag, &prefix)?),
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
            let task_bytes = &key[key.len() - 16..];
            let Some(stored) =
                self.tasks
                    .get(task_bytes)
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
            (true, Some(key)) => Some(encode_token(index_tag, &key)),
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

fn encode_token(index_tag: u8, key: &[u8]) -> String {
    let mut raw = vec![index_tag];
    raw.extend_from_slice(key);
    hex::encode(raw)
}

fn decode_token(token: &str, index_tag: u8, prefix: &[u8]) -> Result<Vec<u8>, ProjectionError> {
    let invalid = || ProjectionError::InvalidPageToken;
    let raw = hex::decode(token).map_err(|_| invalid())?;
    match raw.split_first() {
        Some((tag, key)) if *tag == index_tag && key.starts_with(prefix) => Ok(key.to_vec()),
        _ => Err(invalid()),
    }
}
