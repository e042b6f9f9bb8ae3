//! `AppError`: everything a use case can fail with, domain rejections kept apart from
//! infrastructure failures, and `ErrorKind`: what a caller can do about it.
//!
//! Adapters (the gRPC API) map `ErrorKind`, never the variants or the errors of the
//! event log and the projection inside them: the kind of each variant is decided here,
//! once, and documented on it ("Kind:").

use dondoc_appendix::AppendixError;
use dondoc_domain::{DomainError, InvalidInput, TaskId, VersionGap};
use dondoc_eventlog::{LogError, ReminderError};
use dondoc_projection::ProjectionError;

/// What a failed request means for its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong as sent (a field, the appendix, a page token): do not retry
    /// it unchanged.
    Invalid,
    /// No such task, or no such request on it.
    NotFound,
    /// A key already used for something else.
    AlreadyExists,
    /// The task's state refuses the command (a period outside its timeframe, a deadline
    /// not passed yet).
    Refused,
    /// The version the client pinned no longer holds: re-read and retry.
    Conflict,
    /// The caller's token does not allow it: another token (another role) is needed.
    Forbidden,
    /// NATS unreachable or slow, or the read model behind: retry with the same request id.
    Unavailable,
    /// Stored data this build cannot read, or storage failing: retrying will not help.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request field that does not parse. Kind: Invalid.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),

    /// The appendix could not be read; nothing was imported. Kind: Invalid.
    #[error("{source_name}: {error}")]
    Appendix {
        source_name: String,
        error: AppendixError,
    },

    /// Rows that cannot become tasks; nothing was imported. Kind: Invalid.
    #[error("{source_name}: {} row(s) rejected: {}", .problems.len(), first_problems(.problems))]
    RejectedRows {
        source_name: String,
        problems: Vec<String>,
    },

    /// No task with this id. Kind: NotFound.
    #[error("task {0} not found")]
    TaskNotFound(TaskId),

    /// The aggregate refused the command. Kind: per variant (`DomainError`'s "Handling").
    #[error(transparent)]
    Domain(#[from] DomainError),

    /// A request id the task's history holds for a different command: a request id names
    /// one request. Kind: AlreadyExists.
    #[error(
        "request_id {request_id} was already used on task {task_id} for a different command; \
         send a new command under a new request_id (the same command again answers with \
         its first outcome)"
    )]
    RequestIdReused {
        task_id: TaskId,
        request_id: dondoc_domain::RequestId,
    },

    /// An import's request id used again with another appendix (its content differs
    /// from what the committed import recorded). Kind: AlreadyExists.
    #[error(
        "request_id {request_id} was already used for an import of plan {plan_id} with other \
         content; import the new appendix under a new request_id (the same appendix again \
         answers with the first outcome)"
    )]
    ImportRequestReused {
        plan_id: dondoc_domain::PlanId,
        request_id: dondoc_domain::RequestId,
    },

    /// The task has events of an import that was interrupted before its commit record:
    /// they take effect (and the task accepts other commands) once that import is sent
    /// again and completes. Kind: Refused.
    #[error(
        "task {task_id} is part of import {import_id} of plan {plan_id}, which was \
         interrupted before it took effect; send that import again with its request_id \
         ({request_id}) to complete it"
    )]
    ImportUnfinished {
        task_id: TaskId,
        plan_id: dondoc_domain::PlanId,
        import_id: uuid::Uuid,
        /// The import's request id, as far as the task's events tell it.
        request_id: String,
    },

    /// A task of the process itself ended without an answer (it panicked or the
    /// runtime is shutting down). Kind: Unavailable: the work is idempotent, so a retry
    /// with the same request id completes it.
    #[error("{0}")]
    Interrupted(String),

    /// The deployment key is not the key on record (or the key records are not valid):
    /// the service does not start. Kind: Internal.
    #[error("{0}")]
    KeyNotOnRecord(String),

    /// The caller's token does not allow this. Kind: Forbidden.
    #[error("{subject} may not {action}: {why} (it takes the {needed} role)")]
    PermissionDenied {
        subject: String,
        action: &'static str,
        needed: &'static str,
        why: String,
    },

    /// The client pinned a version the task no longer has. Kind: Conflict.
    #[error("task {task_id} is at version {actual}, not the expected {expected}")]
    VersionConflict {
        task_id: TaskId,
        expected: u64,
        actual: u64,
    },

    /// The read model has not reached what the client asked to read within the wait.
    /// Kind: Unavailable.
    #[error("the projection has not caught up yet: {0}")]
    NotCaughtUp(String),

    /// A task's events in the log skip a version: the log cannot be read as a history.
    /// Kind: Internal.
    #[error("at stream sequence {sequence}: {gap}")]
    VersionGap { sequence: u64, gap: VersionGap },

    /// Kind: Unavailable (NATS down or slow), Conflict (a lost append race), Internal (a
    /// stored message this build cannot read).
    #[error(transparent)]
    Log(#[from] LogError),

    /// A reminder could not be published. Kind: as its `LogError` when NATS failed;
    /// Internal otherwise (a subject or header NATS refuses).
    #[error(transparent)]
    Reminder(#[from] ReminderError),

    /// Kind: Invalid for a page token from another query; Internal otherwise (sled
    /// failing, a corrupt view, a gap while projecting).
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

/// The first problems of a rejected import, so that a table of errors stays a message.
fn first_problems(problems: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut shown = problems[..problems.len().min(SHOWN)].join("; ");
    if problems.len() > SHOWN {
        shown.push_str(&format!("; … and {} more", problems.len() - SHOWN));
    }
    shown
}

impl AppError {
    /// What the failure means for the caller (module docs).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) | Self::Appendix { .. } | Self::RejectedRows { .. } => {
                ErrorKind::Invalid
            }
            Self::TaskNotFound(_) => ErrorKind::NotFound,
            Self::Domain(domain) => match domain {
                DomainError::NotAssigned | DomainError::UnknownRequest { .. } => {
                    ErrorKind::NotFound
                }
                DomainError::Invalid(_) => ErrorKind::Invalid,
                DomainError::PeriodOutsideTimeframe { .. }
                | DomainError::PeriodNotStarted { .. }
                | DomainError::DeadlineNotPassed { .. } => ErrorKind::Refused,
                DomainError::RequestKeyTaken { .. } => ErrorKind::AlreadyExists,
            },
            Self::RequestIdReused { .. } | Self::ImportRequestReused { .. } => {
                ErrorKind::AlreadyExists
            }
            Self::ImportUnfinished { .. } => ErrorKind::Refused,
            Self::Interrupted(_) => ErrorKind::Unavailable,
            Self::KeyNotOnRecord(_) => ErrorKind::Internal,
            Self::PermissionDenied { .. } => ErrorKind::Forbidden,
            Self::VersionConflict { .. } => ErrorKind::Conflict,
            Self::NotCaughtUp(_) => ErrorKind::Unavailable,
            Self::VersionGap { .. } => ErrorKind::Internal,
            Self::Log(log) | Self::Reminder(ReminderError::Log(log)) => log_kind(log),
            Self::Reminder(_) => ErrorKind::Internal,
            Self::Projection(ProjectionError::InvalidPageToken) => ErrorKind::Invalid,
            Self::Projection(_) => ErrorKind::Internal,
        }
    }
}

fn log_kind(error: &LogError) -> ErrorKind {
    match error {
        LogError::Unavailable { .. } => ErrorKind::Unavailable,
        LogError::Conflict { .. } => ErrorKind::Conflict,
        LogError::Unreadable { .. } => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_refusals_keep_their_kinds() {
        let kind = |error: DomainError| AppError::Domain(error).kind();
        assert_eq!(
            kind(DomainError::UnknownRequest {
                request_key: "dot-xuat-1".into()
            }),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(DomainError::RequestKeyTaken {
                request_key: "dot-xuat-1".into()
            }),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(DomainError::DeadlineNotPassed {
                what: "report 2024-Q1".into(),
                deadline: "2024-03-25T00:00:00+07:00".into()
            }),
            ErrorKind::Refused
        );
        assert_eq!(
            kind(DomainError::Invalid(InvalidInput::new(
                "agency",
                "owes none"
            ))),
            ErrorKind::Invalid
        );
    }

    #[test]
    fn infrastructure_failures_say_whether_a_retry_helps() {
        let unavailable = AppError::Log(LogError::Unavailable {
            action: "sending an event",
            detail: "timed out".into(),
        });
        assert_eq!(unavailable.kind(), ErrorKind::Unavailable);
        let unreadable = AppError::Log(LogError::Unreadable {
            sequence: 7,
            subject: "dondoc.events.task.p.t".into(),
            reason: "not JSON".into(),
        });
        assert_eq!(unreadable.kind(), ErrorKind::Internal);
        assert_eq!(
            AppError::Projection(ProjectionError::InvalidPageToken).kind(),
            ErrorKind::Invalid
        );
    }
}
