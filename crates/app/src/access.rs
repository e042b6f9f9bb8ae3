//! Who may do what: the authorization table, in one place, checked by the command loop
//! on the task as the log has it, before `decide` (`write/`), and by the use cases
//! that are not task commands (imports, the audit service).
//!
//! | command | who |
//! |---|---|
//! | import or re-import a plan | `plan_owner` (token covering the plan), `operator` |
//! | submit a report | `lead` whose agency leads the task (directly or through a group), reporting as itself; `operator` |
//! | record coordination | `coordinator` whose agency coordinates the task (directly or through a group), as itself; `operator` |
//! | extend a deadline | `plan_owner` covering the task's plan; `operator` |
//! | request an ad hoc report | `plan_owner` covering the task's plan; `operator` |
//! | ask the coordinators (coordination request) | `lead` of the task, as itself; `operator` |
//! | answer a request | `lead` or `coordinator` whose agency was asked, as itself; `operator` |
//! | overdue marks, reminders | the deadline worker only (no token can be it) |
//! | the audit service | `auditor`, `operator` |
//! | reads of the task service | every role |
//!
//! Invariants: an agency acts only as itself (the agency a command names must be the
//! caller's; the caller's agency is its token's subject, a directory id); a token
//! limited to plans covers those plans only; the actor recorded on an event is the
//! caller's subject, never a request field.

use dondoc_domain::{AgencyName, PlanId, RequestKind, TaskCommand, TaskState};
use serde::{Deserialize, Serialize};

use crate::agencies::{Agencies, AgencyRef};
use crate::error::AppError;

/// What a caller may be. A token carries one or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The agency that issued or follows up a plan: imports, extensions, ad hoc requests.
    PlanOwner,
    /// A lead agency: reports on its tasks, asks its coordinators for contributions.
    Lead,
    /// A coordinating agency: coordination notes, answers to requests addressed to it.
    Coordinator,
    /// The audit service and every read; no writes.
    Auditor,
    /// Reads only (a leader's dashboard).
    Viewer,
    /// Everything; each use logged.
    Operator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::PlanOwner,
        Role::Lead,
        Role::Coordinator,
        Role::Auditor,
        Role::Viewer,
        Role::Operator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::PlanOwner => "plan_owner",
            Role::Lead => "lead",
            Role::Coordinator => "coordinator",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.name() == raw.trim())
    }
}

/// Who is calling, as authenticated (a token's claims), or one of dondoc's own processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// An agency's directory id, or a person's (or process's) name.
    pub subject: String,
    pub roles: Vec<Role>,
    /// The plans the caller is limited to; empty: every plan.
    pub plans: Vec<String>,
    /// Only the deadline worker of this process: no token can make one.
    deadline_worker: bool,
}

impl Caller {
    pub fn new(subject: String, roles: Vec<Role>, plans: Vec<String>) -> Self {
        Self {
            subject,
            roles,
            plans,
            deadline_worker: false,
        }
    }

    /// An operator of this process (the samples `dondoc up` imports, tools, tests).
    pub fn operator(name: &str) -> Self {
        Self::new(name.to_owned(), vec![Role::Operator], Vec::new())
    }

    /// The deadline worker.
    pub(crate) fn deadline_worker(name: &str) -> Self {
        Self {
            subject: name.to_owned(),
            roles: Vec::new(),
            plans: Vec::new(),
            deadline_worker: true,
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    fn covers(&self, plan: &PlanId) -> bool {
        self.plans.is_empty() || self.plans.iter().any(|given| given == plan.as_str())
    }

    /// The caller's agency, when its subject is an agency id.
    fn agency(&self, agencies: &Agencies) -> Option<AgencyRef> {
        agencies.by_id(&self.subject)
    }
}

fn denied(caller: &Caller, action: &'static str, needed: &'static str, why: String) -> AppError {
    AppError::PermissionDenied {
        subject: caller.subject.clone(),
        action,
        needed,
        why,
    }
}

/// The audit service's rule: auditors and operators.
pub fn require_auditor(caller: &Caller) -> Result<(), AppError> {
    if caller.has(Role::Auditor) || caller.has(Role::Operator) {
        Ok(())
    } else {
        Err(denied(
            caller,
            "read the log of record",
            "auditor",
            "the audit service is for auditors".to_owned(),
        ))
    }
}

/// May `caller` import (or re-import) `plan`?
pub(crate) fn authorize_import(caller: &Caller, plan: &PlanId) -> Result<(), AppError> {
    if caller.has(Role::Operator) || (caller.has(Role::PlanOwner) && caller.covers(plan)) {
        Ok(())
    } else {
        Err(denied(
            caller,
            "import a plan",
            "plan_owner",
            format!("imports of plan {plan} are its owner's"),
        ))
    }
}

/// Whether `agency` (or a group of its province that lists it) is among `named`, as
/// task `state` of `plan` names them.
fn named_among(
    agencies: &Agencies,
    agency: &AgencyRef,
    state: &TaskState,
    plan: &PlanId,
    named: &[AgencyName],
) -> bool {
    let groups = agencies.groups_of(&agency.id);
    named.iter().any(|name| {
        let named = agencies.identify(state, plan, name);
        named.id == agency.id || groups.iter().any(|group| group.id == named.id)
    })
}

/// May `caller` have `command` run on the task whose state is `state` (of `plan`)?
/// The command names agencies under their canonical names.
pub(crate) fn authorize_command(
    caller: &Caller,
    command: &TaskCommand,
    state: &TaskState,
    plan: &PlanId,
    agencies: &Agencies,
) -> Result<(), AppError> {
    let worker_only = matches!(
        command,
        TaskCommand::MarkOverdue { .. }
            | TaskCommand::RecordReminder { .. }
            | TaskCommand::MarkRequestOverdue { .. }
    );
    if worker_only {
        return if caller.deadline_worker {
            Ok(())
        } else {
            Err(denied(
                caller,
                "record an overdue mark or a reminder",
                "the deadline worker",
                "only the deadline worker records these".to_owned(),
            ))
        };
    }
    if caller.has(Role::Operator) {
        return Ok(());
    }
    let (leads, coordinators) = state.assignment.as_ref().map_or((&[][..], &[][..]), |a| {
        (a.details.lead.as_slice(), a.details.coordinators.as_slice())
    });
    // An agency acts as itself, on a task of a plan its token covers.
    let acting_as = |role: Role,
                     action: &'static str,
                     named: &AgencyName,
                     among: &[AgencyName],
                     which: &str|
     -> Result<(), AppError> {
        let Some(own) = caller.agency(agencies).filter(|_| caller.has(role)) else {
            return Err(denied(
                caller,
                action,
                role.name(),
                format!("it takes a {} agency's token", role.name()),
            ));
        };
        if !caller.covers(plan) {
            return Err(denied(
                caller,
                action,
                role.name(),
                format!("the token does not cover plan {plan}"),
            ));
        }
        if agencies.identify(state, plan, named).id != own.id {
            return Err(denied(
                caller,
                action,
                role.name(),
                format!(
                    "{} ({}) may act only as itself, not as {}",
                    own.name,
                    own.id,
                    dondoc_domain::quoted(named.as_str())
                ),
            ));
        }
        if !named_among(agencies, &own, state, plan, among) {
            return Err(denied(
                caller,
                action,
                role.name(),
                format!("{} ({}) is not {which} of this task", own.name, own.id),
            ));
        }
        Ok(())
    };
    let owner = |action: &'static str| -> Result<(), AppError> {
        if caller.has(Role::PlanOwner) && caller.covers(plan) {
            Ok(())
        } else {
            Err(denied(
                caller,
                action,
                "plan_owner",
                format!("it is plan {plan}'s owner's to do"),
            ))
        }
    };
    match command {
        TaskCommand::SubmitReport { reported_by, .. } => {
            acting_as(Role::Lead, "submit a report", reported_by, leads, "a lead")
        }
        TaskCommand::RecordCoordination { agency, .. } => acting_as(
            Role::Coordinator,
            "record coordination",
            agency,
            coordinators,
            "a coordinator",
        ),
        TaskCommand::ExtendDeadline { .. } => owner("extend a deadline"),
        TaskCommand::RequestReport {
            kind: RequestKind::AdHoc,
            ..
        } => owner("request an ad hoc report"),
        TaskCommand::RequestReport { requested_by, .. } => acting_as(
            Role::Lead,
            "ask the coordinators for a report",
            requested_by,
            leads,
            "a lead",
        ),
        TaskCommand::AnswerRequest { answered_by, .. } => {
            let role = if caller.has(Role::Lead) {
                Role::Lead
            } else {
                Role::Coordinator
            };
            // Whether it was asked is the aggregate's to say (the request's debtors);
            // here: it answers as itself, on a task it takes part in.
            let taking_part: Vec<AgencyName> = leads.iter().chain(coordinators).cloned().collect();
            acting_as(
                role,
                "answer a request",
                answered_by,
                &taking_part,
                "a lead or coordinator",
            )
        }
        TaskCommand::AssignTask(_) | TaskCommand::FlagMissingFromAppendix { .. } => {
            authorize_import(caller, plan)
        }
        _ => Err(denied(
            caller,
            "run this command",
            "operator",
            "no role but the operator's may".to_owned(),
        )),
    }
}
