//! Which events are an agency's (`AgencyEvents`): those of the tasks whose assignment
//! named it (or a group the directory lists it in) as lead or coordinator at that point
//! of the log, and those that name it in a role. The rules are in `audit/mod.rs`,
//! "Agency replays".
//!
//! Invariant: it must see every event of the log from the first, in stream order,
//! whether or not the replay keeps them: it tracks each task's assignment as it stood.

use std::collections::HashMap;

use dondoc_domain::{AgencyName, EventEnvelope, PlanId, TaskAssigned, TaskEvent, TaskId};

use crate::agencies::{Agencies, AgencyTarget};

/// Selects the events of an agency (module docs). Feed it every event of the log from
/// the first, in order, whether or not the replay keeps them: it tracks assignments.
#[derive(Clone, Debug)]
pub struct AgencyEvents {
    agencies: Agencies,
    /// The agency (with its groups).
    target: AgencyTarget,
    /// Per task, its plan and current assignment: who its names are.
    assigned: HashMap<TaskId, (PlanId, TaskAssigned)>,
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
    pub fn new(agencies: Agencies, target: AgencyTarget) -> Self {
        Self {
            agencies,
            target,
            assigned: HashMap::new(),
        }
    }

    /// Whether `name`, as task `task_id` names it, is the agency or one of its groups.
    fn is_target(&self, task_id: &TaskId, plan: &PlanId, name: &AgencyName) -> bool {
        let assignment = self.assigned.get(task_id).map(|(_, assigned)| assigned);
        self.target
            .is_or_has(&self.agencies.identify_assigned(assignment, plan, name))
    }

    fn assigned_here(&self, task_id: &TaskId) -> bool {
        self.assigned.get(task_id).is_some_and(|(plan, assigned)| {
            assigned
                .lead
                .iter()
                .chain(&assigned.coordinators)
                .any(|name| self.is_target(task_id, plan, name))
        })
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
            self.assigned
                .insert(task_id, (envelope.plan_id.clone(), assignment.clone()));
        }
        before
            || self.assigned_here(&task_id)
            || agencies_named(&envelope.event).into_iter().any(|name| {
                AgencyName::parse(name)
                    .is_ok_and(|name| self.is_target(&task_id, &envelope.plan_id, &name))
            })
    }
}
