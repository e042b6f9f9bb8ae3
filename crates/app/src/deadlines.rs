//! Deadline rules and the obligations they give each task, as the application sees
//! them: the task's recorded policy (or the default), the holiday calendar, the agency
//! directory's group members in the task's province, and the reminder offsets.
//!
//! Owns: building the `ObligationContext` for a task, and the one-pass sweep (`sweep`),
//! which performs every overdue mark and reminder due as of the tracker's clock over
//! every task. The scheduled worker (`worker.rs`) performs the same work task by task,
//! when each falls due.
//!
//! Exactly once, by construction rather than by coordination: each mark and reminder is
//! a convergent command (`decide` records it at most once), its request id is derived
//! from what it records, and appends state the task's last sequence. So any number of
//! sweeps and workers, concurrent or repeated after a crash, record each once; a pass
//! after downtime catches up every deadline it missed, with the deadline on the event.

use dondoc_agencies::Resolution;
use dondoc_domain::calendar::HolidayCalendar;
use dondoc_domain::{
    due_commands, next_instant, obligations, AgencyName, Duty, Obligation, ObligationContext,
    ObligationStatus, ReminderOffsets, ReportingPolicy, RequestId, TaskCommand, TaskId, TaskState,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::tracker::{CommandMeta, Tracker};

/// Namespace of the hashed parts of worker request ids. Changing it would let a worker
/// re-record marks the stream already holds under other ids: never do.
const WORKER_REQUEST_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2023_0000_0002);

/// The actor recorded on the worker's events.
pub const WORKER_ACTOR: &str = "deadline-worker";

/// How deadlines are computed and reminded.
#[derive(Clone, Debug)]
pub struct DeadlineRules {
    /// For tasks whose assignment records no policy (imported before plans carried one).
    pub default_policy: ReportingPolicy,
    pub holidays: HolidayCalendar,
    pub reminders: ReminderOffsets,
}

impl DeadlineRules {
    /// The `default` preset, the given holidays, reminders 7, 3 and 1 days ahead.
    pub fn new(holidays: HolidayCalendar) -> Self {
        Self {
            default_policy: ReportingPolicy::for_province(None),
            holidays,
            reminders: ReminderOffsets::standard(),
        }
    }

    pub fn with_reminders(mut self, reminders: ReminderOffsets) -> Self {
        self.reminders = reminders;
        self
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub tasks_examined: usize,
    /// Obligations overdue as of the sweep's clock.
    pub overdue: usize,
    /// Overdue marks this pass recorded.
    pub marked: usize,
    /// Reminders this pass sent and recorded.
    pub reminded: usize,
}

impl std::ops::AddAssign for SweepReport {
    fn add_assign(&mut self, other: Self) {
        self.tasks_examined += other.tasks_examined;
        self.overdue += other.overdue;
        self.marked += other.marked;
        self.reminded += other.reminded;
    }
}

impl Tracker {
    /// The members of `group` in `province`'s directory, if it is a group with known members.
    pub fn group_members(
        &self,
        province: Option<&str>,
        group: &AgencyName,
    ) -> Option<Vec<AgencyName>> {
        match self.directory().resolve_for(province, group.as_str()) {
            Resolution::Group(group) => {
                let names: Vec<AgencyName> = group
                    .members
                    .iter()
                    .filter_map(|member| AgencyName::parse(&member.name).ok())
                    .collect();
                (!names.is_empty()).then_some(names)
            }
            _ => None,
        }
    }

    /// Runs `f` with the obligation context of `task`.
    pub fn with_obligation_context<T>(
        &self,
        task: &TaskState,
        rules: &DeadlineRules,
        f: impl FnOnce(&ObligationContext) -> T,
    ) -> T {
        let province = task.province();
        let members = |group: &AgencyName| self.group_members(province, group);
        let context = ObligationContext {
            policy: &rules.default_policy,
            holidays: &rules.holidays,
            group_members: &members,
        };
        f(&context)
    }

    /// The task's obligations as of `now`.
    pub fn obligations_of(
        &self,
        task: &TaskState,
        rules: &DeadlineRules,
        now: OffsetDateTime,
    ) -> Vec<Obligation> {
        self.with_obligation_context(task, rules, |context| obligations(task, context, now))
    }

    /// The work due on `task` at `now`, and the next instant it will have some.
    pub fn agenda_of(
        &self,
        task: &TaskState,
        rules: &DeadlineRules,
        now: OffsetDateTime,
    ) -> (Vec<TaskCommand>, Option<OffsetDateTime>) {
        self.with_obligation_context(task, rules, |context| {
            (
                due_commands(task, context, &rules.reminders, now),
                next_instant(task, context, &rules.reminders, now),
            )
        })
    }

    /// The stable token of an agency in NATS subjects: its directory id in the task's
    /// province, or, for a name the directory does not know, `unlisted-` and a hash of
    /// its match key (the same name always gets the same subject).
    pub fn agency_token(&self, province: Option<&str>, agency: &AgencyName) -> String {
        match self.directory().resolve_for(province, agency.as_str()) {
            Resolution::Agency(agency) => agency.id,
            Resolution::Group(group) => group.id,
            Resolution::Unknown { .. } => {
                let hash = Uuid::new_v5(&WORKER_REQUEST_NAMESPACE, agency.match_key().as_bytes());
                format!("unlisted-{}", &hash.simple().to_string()[..16])
            }
        }
    }
}

/// Counts the overdue obligations of `task` at `now` (for reports).
pub(crate) fn overdue_count(obligations: &[Obligation]) -> usize {
    obligations
        .iter()
        .filter(|obligation| obligation.status == ObligationStatus::Overdue)
        .count()
}

/// The request id of a worker command: the same mark or reminder always has the same
/// id, whichever worker records it.
pub(crate) fn worker_meta(task_id: TaskId, command: &TaskCommand) -> CommandMeta {
    let identity = match command {
        TaskCommand::MarkOverdue {
            period,
            deadline,
            agency,
        } => format!(
            "overdue:{period}:{}:{}",
            agency
                .as_ref()
                .map_or_else(String::new, AgencyName::match_key),
            deadline.unix_timestamp()
        ),
        TaskCommand::MarkRequestOverdue {
            request_key,
            agency,
            due,
        } => format!(
            "request-overdue:{request_key}:{}:{}",
            agency.match_key(),
            due.unix_timestamp()
        ),
        TaskCommand::RecordReminder {
            duty,
            agency,
            due,
            seconds_before_due,
        } => format!(
            "reminder:{}:{}:{}:{seconds_before_due}",
            duty_key(duty),
            agency.match_key(),
            due.unix_timestamp()
        ),
        other => format!("{other:?}"),
    };
    let kind = match command {
        TaskCommand::RecordReminder { .. } => "reminder",
        _ => "overdue",
    };
    let hash = Uuid::new_v5(&WORKER_REQUEST_NAMESPACE, identity.as_bytes());
    CommandMeta {
        // At most 8 + 1 + 36 + 1 + 36 characters: well within a request id's 128.
        request_id: RequestId::parse(&format!("{kind}:{task_id}:{hash}"))
            .expect("printable ASCII without spaces, under 128 characters"),
        actor: WORKER_ACTOR.to_owned(),
        expected_version: None,
    }
}

fn duty_key(duty: &Duty) -> String {
    match duty {
        Duty::Periodic { period } => format!("period={period}"),
        Duty::Requested { request_key } => format!("request={request_key}"),
    }
}
