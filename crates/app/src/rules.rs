//! Deadline rules and the obligations they give each task, as the application sees
//! them: the task's recorded policy (or the default), the holiday calendar, the agency
//! directory's group members in the task's province, and the reminder offsets.
//!
//! The domain derives obligations (`dondoc_domain::obligations`); this module only
//! assembles what it needs (`ObligationContext`) from the process's configuration.

use dondoc_domain::{
    due_commands, next_instant, obligations_through, AgencyName, HolidayCalendar, Obligation,
    ObligationContext, ReminderOffsets, ReportingPolicy, TaskCommand, TaskState,
};
use time::OffsetDateTime;

use crate::agencies::Agencies;

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

/// The rules and the directory together: what every obligation of a task is computed
/// from besides the task and an instant. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ObligationRules {
    pub rules: std::sync::Arc<DeadlineRules>,
    pub agencies: Agencies,
}

impl ObligationRules {
    fn with_context<T>(&self, task: &TaskState, f: impl FnOnce(&ObligationContext) -> T) -> T {
        let province = task.province();
        let members = |group: &AgencyName| self.agencies.group_members(province, group);
        let context = ObligationContext {
            policy: &self.rules.default_policy,
            holidays: &self.rules.holidays,
            group_members: &members,
        };
        f(&context)
    }

    /// The task's obligations as of `now`.
    pub fn obligations(&self, task: &TaskState, now: OffsetDateTime) -> Vec<Obligation> {
        let year = dondoc_domain::in_vietnam(now).year();
        self.obligations_through(task, now, year)
    }

    /// The task's obligations as of `now`, periodic ones listed through `last_year`.
    pub fn obligations_through(
        &self,
        task: &TaskState,
        now: OffsetDateTime,
        last_year: i32,
    ) -> Vec<Obligation> {
        self.with_context(task, |context| {
            obligations_through(task, context, now, last_year)
        })
    }

    /// The work due on `task` at `now`, and the next instant it will have some.
    pub fn agenda(
        &self,
        task: &TaskState,
        now: OffsetDateTime,
    ) -> (Vec<TaskCommand>, Option<OffsetDateTime>) {
        let reminders = &self.rules.reminders;
        self.with_context(task, |context| {
            (
                due_commands(task, context, reminders, now),
                next_instant(task, context, reminders, now),
            )
        })
    }
}
