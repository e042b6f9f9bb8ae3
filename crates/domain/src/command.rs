//! `TaskCommand`: what a client or the deadline worker asks of a task, in the imperative
//! (the events that record the outcome are past tense). Plain data: the rules that
//! accept or refuse a command are `decide`'s (`decide.rs`).
//!
//! Invariant: everything a decision needs from outside the aggregate (the assignment
//! built from an appendix row, who owes a duty now, the deadline of a period) is in the
//! command itself; only "now" comes separately.

use time::OffsetDateTime;

use crate::debtor::Debtor;
use crate::event::{Duty, RequestKind, TaskAssigned};
use crate::ids::{AgencyName, RequestKey};
use crate::period::ReportingPeriod;
use crate::task::TaskState;

/// What a client or worker asks of a task. Imperative names; the events are past tense.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // reason: commands are short-lived; boxing buys nothing measurable
pub enum TaskCommand {
    /// Create the task from an appendix row, or bring it in line with a re-imported
    /// (possibly revised) row. Identical content decides nothing.
    AssignTask(TaskAssigned),
    /// A re-imported appendix of the plan no longer has this task's row.
    FlagMissingFromAppendix {
        source_name: String,
    },
    RecordCoordination {
        agency: AgencyName,
        note: String,
    },
    SubmitReport {
        period: ReportingPeriod,
        reported_by: AgencyName,
        content: String,
    },
    /// Record that `period`'s deadline passed unreported. `deadline` is the first instant
    /// at which a report is late. `agency`: the agency that owes the report, or `None`
    /// for the task as a whole. Idempotent: a (period, agency) pair is marked at most
    /// once, and never when a report arrived before the deadline: one by that agency, or,
    /// for `None`, any report of the period.
    ///
    /// Agencies are compared by `AgencyName::match_key` (case-insensitive). Whether
    /// `agency` owes anything is not checked here: a member of a lead group is not named
    /// in the task, and group membership is not part of the aggregate. Nor does a report
    /// under a group's name protect its members here; the caller that knows the groups
    /// (`obligation::obligations`) only asks to mark obligations it found `Overdue`.
    ///
    /// A mark whose deadline is at or after `deadline` already covers it; a later
    /// deadline (after an extension) can be marked again.
    MarkOverdue {
        period: ReportingPeriod,
        deadline: OffsetDateTime,
        agency: Option<AgencyName>,
    },
    /// Extend a deadline ("gia hạn") for `agency`, or for every agency that owes the duty
    /// (`None`). `debtors` are who owes the duty now and by when, as the caller derived
    /// them from the task's obligations (periodic deadlines depend on the holiday
    /// calendar and groups on the agency directory, neither part of the aggregate):
    /// refused when nobody, or not `agency`, owes it. The deadline in force is the latest
    /// of the debtors'; `new_due` must be later.
    ExtendDeadline {
        duty: Duty,
        agency: Option<AgencyName>,
        debtors: Vec<Debtor>,
        new_due: OffsetDateTime,
        reason: String,
        granted_by: String,
    },
    /// Ask for a report outside the periodic schedule. Ad hoc requests go to lead
    /// agencies, coordination requests from a lead to coordinating agencies. The same
    /// request again decides nothing; another request under the same key is refused.
    RequestReport {
        request_key: RequestKey,
        kind: RequestKind,
        requested_by: AgencyName,
        agencies: Vec<AgencyName>,
        due: OffsetDateTime,
        subject: String,
    },
    /// Answer a report request. `debtors` are who owes the answer now (the asked
    /// agencies, a group fanned out to its members), as the caller derived them: refused
    /// when `answered_by` is not among them, since its answer would cover nothing.
    AnswerRequest {
        request_key: RequestKey,
        answered_by: AgencyName,
        debtors: Vec<Debtor>,
        content: String,
    },
    /// Record that a request's deadline passed without `agency`'s answer. Idempotent like
    /// `MarkOverdue`.
    MarkRequestOverdue {
        request_key: RequestKey,
        agency: AgencyName,
        due: OffsetDateTime,
    },
    /// Record that a reminder went out. Idempotent: one per (duty, agency, due, offset).
    RecordReminder {
        duty: Duty,
        agency: AgencyName,
        due: OffsetDateTime,
        seconds_before_due: i64,
    },
}

impl TaskCommand {
    /// Whether the fact recorded at `version` of `state` is what this command asks for,
    /// i.e. this is the same request sent again. Compared on what the caller gives (texts
    /// trimmed, as `decide` records them), not on facts the command carries from
    /// elsewhere (`debtors`). Convergent commands are decided again, not answered from the
    /// history (`converges`): for them it is always true.
    pub fn matches_recorded(&self, state: &TaskState, version: u64) -> bool {
        match self {
            Self::SubmitReport {
                period,
                reported_by,
                content,
            } => state.reports.iter().any(|report| {
                report.version == version
                    && report.period == *period
                    && report.reported_by == *reported_by
                    && report.content == content.trim()
            }),
            Self::RecordCoordination { agency, note } => {
                state.coordinations.iter().any(|coordination| {
                    coordination.version == version
                        && coordination.agency == *agency
                        && coordination.note == note.trim()
                })
            }
            Self::ExtendDeadline {
                duty,
                agency,
                new_due,
                reason,
                granted_by,
                debtors: _,
            } => state.extensions.iter().any(|extension| {
                extension.version == version
                    && extension.duty == *duty
                    && extension.agency == *agency
                    && extension.new_due == *new_due
                    && extension.reason == reason.trim()
                    && extension.granted_by == granted_by.trim()
            }),
            Self::AnswerRequest {
                request_key,
                answered_by,
                content,
                debtors: _,
            } => state.answers.iter().any(|answer| {
                answer.version == version
                    && answer.request_key == *request_key
                    && answer.answered_by == *answered_by
                    && answer.content == content.trim()
            }),
            Self::AssignTask(_)
            | Self::FlagMissingFromAppendix { .. }
            | Self::MarkOverdue { .. }
            | Self::RequestReport { .. }
            | Self::MarkRequestOverdue { .. }
            | Self::RecordReminder { .. } => true,
        }
    }

    /// Whether deciding this command again after it was applied decides nothing: its
    /// events bring the state to a fixed point (assignment, flags, overdue marks). Such a
    /// command can be retried by re-deciding; any other must be deduplicated by its
    /// request id.
    pub fn converges(&self) -> bool {
        matches!(
            self,
            Self::AssignTask(_)
                | Self::FlagMissingFromAppendix { .. }
                | Self::MarkOverdue { .. }
                | Self::RequestReport { .. }
                | Self::MarkRequestOverdue { .. }
                | Self::RecordReminder { .. }
        )
    }
}
