//! Which events are an agency's (`AgencyEvents`): those of the tasks whose assignment
//! named it (or a group the directory lists it in) as lead or coordinator at that point
//! of the log, and those that name it in a role. The rules are in `audit/mod.rs`,
//! "Agency replays".
//!
//! Invariant: it must see every event of the log from the first, in stream order,
//! whether or not the replay keeps them: it tracks each task's assignment as it stood.

use std::collections::{HashMap, HashSet};

use dondoc_domain::{AgencyName, EventEnvelope, TaskAssigned, TaskEvent, TaskId};

/// Selects the events of an agency (module docs). Feed it every event of the log from
/// the first, in order, whether or not the replay keeps them: it tracks assignments.
#[derive(Clone, Debug)]
pub struct AgencyEvents {
    /// Match keys of the agency and the groups that list it.
    names: HashSet<String>,
    /// Per task, the match keys of its current leads and coordinators.
    assigned: HashMap<TaskId, Vec<String>>,
}

fn assignment_keys(assignment: &TaskAssigned) -> Vec<String> {
    assignment
        .lead
        .iter()
        .chain(&assignment.coordinators)
        .map(AgencyName::match_key)
        .collect()
}

/// The agencies an event's data names in a role: who reported, coordinated, asked,
/// was asked, answered, was marked overdue or reminded, was granted or granted an
/// extension, and an assignment's leads and coordinators. Not the recipient of a plan's
/// reports (`reporting.policy.recipient`): every task of a plan names it, so it would
/// make every assignment that agency's.
fn agencies_named(event: &TaskEvent) -> Vec<&str> {
    match event {
        TaskEvent::TaskAssigned(assigned) => assignment_names(assigned),
        TaskEvent::TaskAmended(amended) => assignment_names(&amended.assignment),
        TaskEvent::CoordinationRecorded(recorded) => vec![recorded.agency.as_str()],
        TaskEvent::ReportSubmitted(submitted) => vec![submitted.reported_by.as_str()],
        TaskEvent::TaskMarkedOverdue(overdue) => {
            overdue.agency.iter().map(AgencyName::as_str).collect()
        }
        TaskEvent::DeadlineExtended(extended) => extended
            .agency
            .iter()
            .map(AgencyName::as_str)
            .chain([extended.granted_by.as_str()])
            .collect(),
        TaskEvent::ReportRequested(requested) => requested
            .agencies
            .iter()
            .chain([&requested.requested_by])
            .map(AgencyName::as_str)
            .collect(),
        TaskEvent::RequestAnswered(answered) => vec![answered.answered_by.as_str()],
        TaskEvent::RequestMarkedOverdue(overdue) => vec![overdue.agency.as_str()],
        TaskEvent::ReminderSent(reminder) => vec![reminder.agency.as_str()],
        TaskEvent::TaskFlaggedMissing(_) | TaskEvent::TaskReturnedToAppendix(_) => Vec::new(),
    }
}

fn assignment_names(assignment: &TaskAssigned) -> Vec<&str> {
    assignment
        .lead
        .iter()
        .chain(&assignment.coordinators)
        .map(AgencyName::as_str)
        .collect()
}

impl AgencyEvents {
    /// `names`: the agency's canonical name and the groups that list it.
    pub fn new(names: &[AgencyName]) -> Self {
        Self {
            names: names.iter().map(AgencyName::match_key).collect(),
            assigned: HashMap::new(),
        }
    }

    fn assigned_here(&self, task_id: &TaskId) -> bool {
        self.assigned
            .get(task_id)
            .is_some_and(|keys| keys.iter().any(|key| self.names.contains(key)))
    }

    /// Records `envelope` and answers whether it is the agency's.
    pub fn observe(&mut self, envelope: &EventEnvelope) -> bool {
        let task_id = envelope.task_id;
        let before = self.assigned_here(&task_id);
        let assignment = match &envelope.event {
            TaskEvent::TaskAssigned(assigned) => Some(assigned),
            TaskEvent::TaskAmended(amended) => Some(&amended.assignment),
            _ => None,
        };
        if let Some(assignment) = assignment {
            self.assigned.insert(task_id, assignment_keys(assignment));
        }
        before
            || self.assigned_here(&task_id)
            || agencies_named(&envelope.event).into_iter().any(|name| {
                AgencyName::parse(name).is_ok_and(|name| self.names.contains(&name.match_key()))
            })
    }
}
