//! Obligation statistics kept in the projection as events arrive
//! (`dondoc_projection::Derivation`): counters per plan, agency and period that answer
//! the scorecard without reading a task, and an index of open obligations by deadline
//! that finds what is overdue or due soon without reading the tasks that owe nothing.
//!
//! # What is derived, and why it is exact
//!
//! Each task's obligations are derived once per change at the *far future*
//! (`FAR_FUTURE`): every report, request and extension the view holds is then in
//! effect, and every obligation not reported is open. For any instant `t` at or after
//! the latest fact the projection holds (`ProjectionStore::latest_fact`), the status of
//! an obligation at `t` follows from that alone: reported on time or late as at the
//! far future (the report is at or before `t`); otherwise `Pending` (or `Extended`,
//! under an extension) while `t < due`, else `Overdue`: the rules of
//! `dondoc_domain::obligation` read at `t`, since nothing recorded is after `t`.
//! Queries for an earlier instant (an "as of" in the past, a clock behind the log)
//! derive from the views instead (`queries/obligations.rs`), as before.
//!
//! Periodic obligations of a task with an open-ended timeframe (`Annual`, `Ongoing`,
//! `Unparsed`) are listed through a *horizon*: the year after the task's latest fact
//! (capped at 2100). Such a task is indexed under `z` by its horizon; a query for a
//! year past a task's horizon derives that task's later periods from its view (a task
//! idle for over a year; the deadline worker's marks keep the others fresh).
//!
//! # Keys (without the store's `O`/`S` prefix)
//!
//! Counters, each counting the obligations with exactly that key (`TAIL` = period year
//! (u32 BE, year + 2^31), period order (u8: quarter 1–4, yearly 5), duty kind (u8:
//! 0 periodic, 1 requested), class (u8: 0 reported on time, 1 late, 2 open, 3 open
//! under an extension), due (16 bytes, `encode_due`; zeros for reported classes)):
//! - `P` plan \0 agency id \0 via-group id \0 TAIL spelling;
//! - `A` agency id \0 plan \0 via-group id \0 TAIL spelling;
//! - `G` via-group id \0 plan \0 agency id \0 TAIL spelling (only through a group).
//!
//! Index entries (list → member, `dondoc_projection`'s posting lists), one per task and
//! distinct open deadline (`MEMBER` = plan \0 position (u64 BE) task id (16); due ‖
//! member is the order of the deadline lists and a page token):
//! - `a` agency id \0 due (16) → MEMBER, for the agency that owes and the group it
//!   owes through;
//! - `p` plan \0 due (16) → MEMBER. (No family over every plan: a list over every plan
//!   is an administrator's, derived from every view.)
//! - `z` horizon (u32 BE, year + 2^31) → task id: tasks with an open-ended timeframe.
//!
//! The fingerprint covers this format, the deadline rules and the agency directory:
//! with other rules or another directory the store derives everything again at open.

use std::collections::HashMap;
use std::sync::Arc;

use dondoc_domain::{
    in_vietnam, AgencyId, AgencyName, Duty, EventEnvelope, Obligation, ObligationStatus, PlanId,
    ReportingPeriod, Schedule, TaskEvent, TaskId,
};
use dondoc_projection::{Derivation, Derived, TaskView};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::agencies::{Agencies, AgencyRef};
use crate::rules::{DeadlineRules, ObligationRules};
use crate::scorecard::scorecard_period;

/// Bumped whenever what is derived, or how it is keyed, changes.
const FORMAT: &str = "obligation-statistics-v1";
/// The instant obligations are derived at: after every fact.
pub(crate) const FAR_FUTURE: OffsetDateTime = time::macros::datetime!(9999-12-31 00:00 UTC);
/// The last year periods are listed for (as `ReportingPeriod` allows).
const LAST_YEAR: i32 = 2100;

pub(crate) const CLASS_ON_TIME: u8 = 0;
pub(crate) const CLASS_LATE: u8 = 1;
pub(crate) const CLASS_OPEN: u8 = 2;
pub(crate) const CLASS_OPEN_EXTENDED: u8 = 3;
const KIND_PERIODIC: u8 = 0;
const KIND_REQUESTED: u8 = 1;
/// Bytes of a counter key's TAIL (module docs).
const TAIL_LEN: usize = 4 + 1 + 1 + 1 + 16;

/// The derivation the projection runs on every change (module docs).
#[derive(Debug)]
pub struct ObligationStatistics {
    rules: ObligationRules,
}

impl ObligationStatistics {
    pub fn new(directory: &dondoc_agencies::AgencyDirectory, rules: &DeadlineRules) -> Arc<Self> {
        Arc::new(Self::from_rules(ObligationRules {
            rules: Arc::new(rules.clone()),
            agencies: Agencies::new(directory.clone()),
        }))
    }

    pub(crate) fn from_rules(rules: ObligationRules) -> Self {
        Self { rules }
    }
}

impl Derivation for ObligationStatistics {
    fn fingerprint(&self) -> Vec<u8> {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT.as_bytes());
        // What obligations are derived from: the default policy and the holidays (the
        // reminder offsets change no obligation).
        let rules = &self.rules.rules;
        hasher.update(format!("{:?}", rules.default_policy).as_bytes());
        hasher.update(format!("{:?}", rules.holidays).as_bytes());
        hasher.update(self.rules.agencies.fingerprint().as_bytes());
        hex::encode(hasher.finalize()).into_bytes()
    }

    fn derive(&self, view: &TaskView) -> Derived {
        let mut derived = Derived::default();
        let Some(assignment) = &view.state.assignment else {
            return derived;
        };
        let horizon = horizon(view);
        let obligations =
            self.rules
                .obligations_through(&view.state, FAR_FUTURE, horizon.unwrap_or(LAST_YEAR));
        let agencies = &self.rules.agencies;
        let plan = view.plan_id.as_str();
        let position = assignment.details.source.position as u64;
        // A task names few agencies, each in many obligations: identified once each.
        let mut identified: HashMap<&AgencyName, AgencyRef> = HashMap::new();
        let mut identify = |name| {
            identified
                .entry(name)
                .or_insert_with(|| agencies.identify(&view.state, &view.plan_id, name))
                .clone()
        };
        for obligation in &obligations {
            let agency = identify(&obligation.agency);
            let via = obligation.via_group.as_ref().map(&mut identify);
            let class = class_at_far_future(obligation);
            let open = matches!(class, CLASS_OPEN | CLASS_OPEN_EXTENDED);
            let tail = counter_tail(obligation, class);
            let via_id = via.as_ref().map_or("", |via| via.id.as_str());
            let spelling = obligation.agency.as_str();
            derived.counters.push(counter_key(
                b'P',
                [plan, agency.id.as_str(), via_id],
                &tail,
                spelling,
            ));
            derived.counters.push(counter_key(
                b'A',
                [agency.id.as_str(), plan, via_id],
                &tail,
                spelling,
            ));
            if let Some(via) = &via {
                derived.counters.push(counter_key(
                    b'G',
                    [via.id.as_str(), plan, agency.id.as_str()],
                    &tail,
                    spelling,
                ));
            }
            if open {
                let due = encode_due(obligation.due);
                let member = open_member(&view.plan_id, position, &view.task_id);
                derived
                    .index
                    .push((open_list(b'a', agency.id.as_str(), &due), member.clone()));
                if let Some(via) = &via {
                    derived
                        .index
                        .push((open_list(b'a', via.id.as_str(), &due), member.clone()));
                }
                derived.index.push((open_list(b'p', plan, &due), member));
            }
        }
        if let Some(horizon) = horizon {
            derived.index.push((
                horizon_list(horizon),
                view.task_id.as_uuid().as_bytes().to_vec(),
            ));
        }
        derived.index.sort();
        derived.index.dedup();
        derived
    }

    /// Marks (overdue, reminders) and coordination notes feed no obligation: such an
    /// event changes nothing derived unless it moves the task's horizon.
    fn unchanged_by(&self, before: &TaskView, after: &TaskView, envelope: &EventEnvelope) -> bool {
        matches!(
            envelope.event,
            TaskEvent::TaskMarkedOverdue(_)
                | TaskEvent::RequestMarkedOverdue(_)
                | TaskEvent::ReminderSent(_)
                | TaskEvent::CoordinationRecorded(_)
        ) && horizon(before) == horizon(after)
    }
}

/// The last year a task's periodic obligations are derived for, for an open-ended
/// timeframe (module docs); `None` for a bounded one (derived whole).
pub(crate) fn horizon(view: &TaskView) -> Option<i32> {
    let assignment = view.state.assignment.as_ref()?;
    match assignment.details.timeframe.schedule {
        Schedule::Annual { .. } | Schedule::Ongoing { .. } | Schedule::Unparsed { .. } => {
            let latest = view.latest_at.unwrap_or(assignment.assigned_at);
            Some((in_vietnam(latest).year() + 1).min(LAST_YEAR))
        }
        Schedule::PlanYear { .. } | Schedule::Year { .. } | Schedule::Range { .. } => None,
    }
}

fn class_at_far_future(obligation: &Obligation) -> u8 {
    match obligation.status {
        ObligationStatus::ReportedOnTime { .. } => CLASS_ON_TIME,
        ObligationStatus::ReportedLate { .. } => CLASS_LATE,
        _ if obligation.extension.is_some() => CLASS_OPEN_EXTENDED,
        _ => CLASS_OPEN,
    }
}

/// An instant as 16 bytes that sort as the instants do: Unix nanoseconds, i128, sign
/// bit flipped, big-endian.
pub(crate) fn encode_due(due: OffsetDateTime) -> [u8; 16] {
    ((due.unix_timestamp_nanos() as u128) ^ (1 << 127)).to_be_bytes()
}

fn decode_due(bytes: &[u8]) -> Option<OffsetDateTime> {
    let raw = u128::from_be_bytes(bytes.try_into().ok()?) ^ (1 << 127);
    OffsetDateTime::from_unix_timestamp_nanos(raw as i128).ok()
}

fn encode_year(year: i32) -> [u8; 4] {
    ((year as u32) ^ (1 << 31)).to_be_bytes()
}

fn decode_year(bytes: &[u8]) -> Option<i32> {
    Some((u32::from_be_bytes(bytes.try_into().ok()?) ^ (1 << 31)) as i32)
}

fn counter_tail(obligation: &Obligation, class: u8) -> [u8; TAIL_LEN] {
    let period = scorecard_period(obligation);
    let (year, order) = crate::scorecard::period_order(&period);
    let kind = match obligation.duty {
        Duty::Periodic { .. } => KIND_PERIODIC,
        Duty::Requested { .. } => KIND_REQUESTED,
    };
    let due = match class {
        CLASS_OPEN | CLASS_OPEN_EXTENDED => encode_due(obligation.due),
        _ => [0; 16],
    };
    let mut tail = [0u8; TAIL_LEN];
    tail[..4].copy_from_slice(&encode_year(year));
    tail[4] = order;
    tail[5] = kind;
    tail[6] = class;
    tail[7..].copy_from_slice(&due);
    tail
}

fn counter_key(family: u8, parts: [&str; 3], tail: &[u8], spelling: &str) -> Vec<u8> {
    let mut key = vec![family];
    for part in parts {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    key.extend_from_slice(tail);
    key.extend_from_slice(spelling.as_bytes());
    key
}

/// The prefix of the counters of one family, first part and (optionally) second.
pub(crate) fn counter_prefix(family: u8, first: Option<&str>, second: Option<&str>) -> Vec<u8> {
    let mut key = vec![family];
    if let Some(first) = first {
        key.extend_from_slice(first.as_bytes());
        key.push(0);
        if let Some(second) = second {
            key.extend_from_slice(second.as_bytes());
            key.push(0);
        }
    }
    key
}

/// One counter, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Counter {
    pub plan_id: PlanId,
    pub agency: AgencyRef,
    pub period: ReportingPeriod,
    pub periodic: bool,
    pub class: u8,
    /// For the open classes.
    pub due: Option<OffsetDateTime>,
    pub count: u64,
}

impl Counter {
    /// Reads a counter key of any family; `None` for one this build did not write.
    pub fn parse(key: &[u8], count: u64) -> Option<Self> {
        let (&family, rest) = key.split_first()?;
        let mut parts = rest.splitn(4, |byte| *byte == 0);
        let first = std::str::from_utf8(parts.next()?).ok()?;
        let second = std::str::from_utf8(parts.next()?).ok()?;
        let third = std::str::from_utf8(parts.next()?).ok()?;
        let rest = parts.next()?;
        // The rest is the fixed-length tail (which may hold zero bytes) and the spelling.
        let consumed = key.len() - rest.len();
        let rest = &key[consumed..];
        if rest.len() < TAIL_LEN {
            return None;
        }
        let (tail, spelling) = rest.split_at(TAIL_LEN);
        let (plan, agency) = match family {
            b'P' => (first, second),
            b'A' => (second, first),
            b'G' => (second, third),
            _ => return None,
        };
        let year = decode_year(&tail[..4])?;
        let period = match tail[4] {
            order @ 1..=4 => ReportingPeriod::Quarter {
                year,
                quarter: order,
            },
            5 => ReportingPeriod::Year(year),
            _ => return None,
        };
        let class = tail[6];
        let due = match class {
            CLASS_OPEN | CLASS_OPEN_EXTENDED => Some(decode_due(&tail[7..])?),
            _ => None,
        };
        Some(Self {
            plan_id: PlanId::parse(plan).ok()?,
            agency: AgencyRef {
                id: AgencyId::parse(agency).ok()?,
                name: AgencyName::parse(std::str::from_utf8(spelling).ok()?).ok()?,
            },
            period,
            periodic: tail[5] == KIND_PERIODIC,
            class,
            due,
            count,
        })
    }
}

/// `due plan \0 position task`: the order of the deadline lists (by due, then plan and
/// appendix order), and a page token.
pub(crate) fn open_key(
    due: OffsetDateTime,
    plan: &PlanId,
    position: u64,
    task: &TaskId,
) -> Vec<u8> {
    [&encode_due(due)[..], &open_member(plan, position, task)].concat()
}

/// A member of an open list: `plan \0 position task`.
fn open_member(plan: &PlanId, position: u64, task: &TaskId) -> Vec<u8> {
    let mut member = Vec::with_capacity(plan.as_str().len() + 1 + 8 + 16);
    member.extend_from_slice(plan.as_str().as_bytes());
    member.push(0);
    member.extend_from_slice(&position.to_be_bytes());
    member.extend_from_slice(task.as_uuid().as_bytes());
    member
}

/// An open key, read back: (due, plan, task).
pub(crate) fn parse_open_key(key: &[u8]) -> Option<(OffsetDateTime, PlanId, TaskId)> {
    if key.len() < 16 + 1 + 8 + 16 {
        return None;
    }
    let due = decode_due(&key[..16])?;
    let (plan, rest) = key[16..].split_at(key.len() - 16 - 25);
    if rest.first() != Some(&0) {
        return None;
    }
    let plan = PlanId::parse(std::str::from_utf8(plan).ok()?).ok()?;
    let task = uuid::Uuid::from_slice(&rest[9..]).ok()?;
    Some((due, plan, TaskId::from_uuid(task)))
}

/// `family scope \0`: the start of a scope's open lists.
pub(crate) fn open_family(family: u8, scope: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + scope.len() + 1);
    key.push(family);
    key.extend_from_slice(scope.as_bytes());
    key.push(0);
    key
}

/// `family scope \0 due`: the list of one scope's open obligations at one due.
/// Prefix-free: a scope holds no zero byte, and the due is 16 bytes.
fn open_list(family: u8, scope: &str, due: &[u8; 16]) -> Vec<u8> {
    [&open_family(family, scope)[..], due].concat()
}

/// The due of an open list, after its family's prefix.
pub(crate) fn open_list_due(list: &[u8], family_len: usize) -> Option<[u8; 16]> {
    list.get(family_len..)?.try_into().ok()
}

fn horizon_list(horizon: i32) -> Vec<u8> {
    [&[b'z'][..], &encode_year(horizon)].concat()
}

/// A horizon list's year.
pub(crate) fn parse_horizon_list(list: &[u8]) -> Option<i32> {
    decode_year(list.strip_prefix(b"z")?)
}

/// The first horizon list of tasks whose horizon is `year` or later.
pub(crate) fn horizon_bound(year: i32) -> Vec<u8> {
    horizon_list(year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dues_and_years_sort_as_their_values() {
        let early = time::macros::datetime!(1969-12-31 23:59 UTC);
        let late = time::macros::datetime!(2024-03-14 17:00 UTC);
        assert!(encode_due(early) < encode_due(late));
        assert_eq!(decode_due(&encode_due(early)), Some(early));
        assert!(encode_year(-1) < encode_year(2024));
        assert_eq!(decode_year(&encode_year(2024)), Some(2024));
    }

    #[test]
    fn open_keys_and_lists_read_back() {
        let plan = PlanId::parse("qti-dti-2023").unwrap();
        let task = TaskId::from_uuid(uuid::Uuid::from_u128(42));
        let due = time::macros::datetime!(2023-03-24 23:59:59 +7);
        let key = open_key(due, &plan, 7, &task);
        assert_eq!(parse_open_key(&key), Some((due, plan.clone(), task)));
        let family = open_family(b'p', plan.as_str());
        let list = open_list(b'p', plan.as_str(), &encode_due(due));
        assert_eq!(open_list_due(&list, family.len()), Some(encode_due(due)));
        let horizon = horizon_list(2027);
        assert_eq!(parse_horizon_list(&horizon), Some(2027));
        assert!(horizon < horizon_bound(2028) && horizon >= horizon_bound(2027));
    }
}
