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
//! | reads of the task service | every role, of the plans its scope admits |
//!
//! Reads ([`ReadScope`]): an operator reads every plan; a viewer, an auditor or a plan
//! owner the plans its token names (every plan when it names none); an agency (a lead
//! or coordinator token whose subject is a directory agency) the plans it takes part in,
//! directly or through a group of its province (and, when its token names plans, only
//! those). Roles add up: a token with several reads what any of them may.
//!
//! Invariants: an agency acts only as itself (the agency a command names must be the
//! caller's; the caller's agency is its token's subject, a directory id); a token
//! limited to plans covers those plans only; the actor recorded on an event is the
//! caller's subject, never a request field.

use std::collections::BTreeSet;

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

/// Which plans a caller may read (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadScope {
    /// Who it is for (named when a read is refused).
    subject: String,
    /// `None`: every plan.
    plans: Option<BTreeSet<PlanId>>,
}

impl ReadScope {
    /// Every plan: dondoc's own processes, tools and tests.
    pub fn all(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            plans: None,
        }
    }

    /// The plans it admits, when not all.
    pub fn only(&self) -> Option<&BTreeSet<PlanId>> {
        self.plans.as_ref()
    }

    pub fn admits(&self, plan: &PlanId) -> bool {
        self.plans.as_ref().is_none_or(|plans| plans.contains(plan))
    }

    /// `Ok` when `plan` (`None`: every plan) is readable, else PERMISSION_DENIED naming
    /// what the caller may read.
    pub fn require(&self, plan: Option<&PlanId>) -> Result<(), AppError> {
        let admitted = match plan {
            Some(plan) => self.admits(plan),
            None => self.plans.is_none(),
        };
        if admitted {
            return Ok(());
        }
        let what = plan.map_or_else(|| "every plan".to_owned(), |plan| format!("plan {plan}"));
        let may = match &self.plans {
            Some(plans) if !plans.is_empty() => plans
                .iter()
                .map(PlanId::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => "no plan".to_owned(),
        };
        Err(AppError::PermissionDenied {
            subject: self.subject.clone(),
            action: "read this",
            needed: "viewer or auditor",
            why: format!("it reads {may} only, not {what}"),
        })
    }

    fn union(mut self, other: Option<BTreeSet<PlanId>>) -> Self {
        self.plans = match (self.plans, other) {
            (Some(mut mine), Some(theirs)) => {
                mine.extend(theirs);
                Some(mine)
            }
            _ => None,
        };
        self
    }
}

impl Caller {
    /// The token's plans (`None`: every plan, when it names none).
    fn token_plans(&self) -> Option<BTreeSet<PlanId>> {
        (!self.plans.is_empty()).then(|| {
            self.plans
                .iter()
                .filter_map(|plan| PlanId::parse(plan).ok())
                .collect()
        })
    }
}

/// What `caller` may read (module docs); `taking_part` lists the plans an agency takes
/// part in (asked only for agency tokens).
pub(crate) fn read_scope(
    caller: &Caller,
    agencies: &Agencies,
    taking_part: impl FnOnce(&AgencyRef) -> Result<BTreeSet<PlanId>, AppError>,
) -> Result<ReadScope, AppError> {
    if caller.deadline_worker || caller.has(Role::Operator) {
        return Ok(ReadScope::all(&caller.subject));
    }
    let mut scope = ReadScope {
        subject: caller.subject.clone(),
        plans: Some(BTreeSet::new()),
    };
    if caller.has(Role::Viewer) || caller.has(Role::Auditor) || caller.has(Role::PlanOwner) {
        scope = scope.union(caller.token_plans());
    }
    if caller.has(Role::Lead) || caller.has(Role::Coordinator) {
        if let Some(agency) = caller.agency(agencies) {
            let mut plans = taking_part(&agency)?;
            if let Some(covered) = caller.token_plans() {
                plans.retain(|plan| covered.contains(plan));
            }
            scope = scope.union(Some(plans));
        }
    }
    Ok(scope)
}

/// The audit service's rule (auditors and operators) and what they may read there: the
/// plans an auditor's token names, or all.
pub fn audit_scope(caller: &Caller) -> Result<ReadScope, AppError> {
    require_auditor(caller)?;
    Ok(ReadScope {
        subject: caller.subject.clone(),
        plans: if caller.has(Role::Operator) {
            None
        } else {
            caller.token_plans()
        },
    })
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

/// Who a command says acts, in a field the caller may leave empty (`granted_by`,
/// `requested_by`): for an agency caller, itself (empty, or naming it by id or name in
/// the task's province; naming another agency is PERMISSION_DENIED); for anyone else,
/// the text given (as the task's province names that agency, when `named_as_agency`:
/// the aggregate compares it with the task's agencies), or its subject.
pub(crate) fn acting_name(
    caller: &Caller,
    agencies: &Agencies,
    state: &TaskState,
    plan: &PlanId,
    (field, action): (&str, &'static str),
    written: Option<&str>,
    named_as_agency: bool,
) -> Result<String, AppError> {
    let Some(own) = caller.agency(agencies) else {
        return match written.map(AgencyName::parse) {
            None => Ok(caller.subject.clone()),
            Some(Ok(name)) if named_as_agency => {
                Ok(agencies.in_task(state, plan, field, &name)?.to_string())
            }
            Some(_) => Ok(written.unwrap_or_default().to_owned()),
        };
    };
    let Some(written) = written else {
        return Ok(own.name.to_string());
    };
    let named = AgencyName::parse(written)
        .ok()
        .and_then(|name| agencies.in_task(state, plan, field, &name).ok())
        .map(|name| agencies.identify(state, plan, &name));
    if named.is_some_and(|named| named.id == own.id) {
        return Ok(own.name.to_string());
    }
    Err(denied(
        caller,
        action,
        "operator",
        format!(
            "{} ({}) may act only as itself, not as {}",
            own.name,
            own.id,
            dondoc_domain::quoted(written)
        ),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(ids: &[&str]) -> BTreeSet<PlanId> {
        ids.iter().map(|id| PlanId::parse(id).unwrap()).collect()
    }

    fn scope_of(caller: &Caller) -> ReadScope {
        let agencies = Agencies::new(dondoc_agencies::shipped().unwrap());
        read_scope(caller, &agencies, |agency| {
            assert_eq!(agency.id.as_str(), "quang-tri-so-tttt");
            Ok(plans(&["qti-a", "qti-b"]))
        })
        .unwrap()
    }

    fn caller(subject: &str, roles: &[Role], token_plans: &[&str]) -> Caller {
        Caller::new(
            subject.to_owned(),
            roles.to_vec(),
            token_plans.iter().map(|plan| (*plan).to_owned()).collect(),
        )
    }

    #[test]
    fn each_role_reads_its_plans_and_roles_add_up() {
        let qt = "quang-tri-so-tttt";
        assert_eq!(scope_of(&Caller::operator("ops")).only(), None);
        assert_eq!(scope_of(&caller("x", &[Role::Viewer], &[])).only(), None);
        assert_eq!(
            scope_of(&caller("x", &[Role::Auditor], &["p"])).only(),
            Some(&plans(&["p"]))
        );
        assert_eq!(
            scope_of(&caller(qt, &[Role::Lead], &[])).only(),
            Some(&plans(&["qti-a", "qti-b"])),
            "an agency: the plans it takes part in"
        );
        assert_eq!(
            scope_of(&caller(qt, &[Role::Lead], &["qti-b", "other"])).only(),
            Some(&plans(&["qti-b"])),
            "and only those its token names"
        );
        assert_eq!(
            scope_of(&caller(qt, &[Role::Lead, Role::Viewer], &["other"])).only(),
            Some(&plans(&["other"])),
            "a viewer's plans added to an agency's, within the token"
        );
        assert_eq!(
            scope_of(&caller("a-person", &[Role::Lead], &[])).only(),
            Some(&plans(&[])),
            "a lead that is no agency reads nothing"
        );
        let refused = scope_of(&caller(qt, &[Role::Lead], &[]))
            .require(Some(&PlanId::parse("qng").unwrap()))
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("qti-a, qti-b only, not plan qng"),
            "{refused}"
        );
    }
}
