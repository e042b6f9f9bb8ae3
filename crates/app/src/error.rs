//! `AppError`: everything a use case can fail with, domain rejections kept apart from
//! infrastructure failures. The gRPC crate maps each variant to one status code.

use dondoc_appendix::AppendixError;
use dondoc_domain::{DomainError, InvalidInput, TaskId};
use dondoc_eventlog::LogError;
use dondoc_projection::ProjectionError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request field that does not parse. Handling: INVALID_ARGUMENT.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),

    /// The appendix could not be read; nothing was imported. Handling: INVALID_ARGUMENT.
    #[error("{source_name}: {error}")]
    Appendix {
        source_name: String,
        error: AppendixError,
    },

    /// Rows that cannot become tasks; nothing was imported. Handling: INVALID_ARGUMENT.
    #[error("{source_name}: {} row(s) rejected: {}", .problems.len(), .problems.join("; "))]
    RejectedRows {
        source_name: String,
        problems: Vec<String>,
    },

    /// No task with this id. Handling: NOT_FOUND.
    #[error("task {0} not found")]
    TaskNotFound(TaskId),

    /// The aggregate refused the command. Handling: per variant (see `DomainError`).
    #[error(transparent)]
    Domain(#[from] DomainError),

    /// The client pinned a version the task no longer has. Handling: ABORTED.
    #[error("task {task_id} is at version {actual}, not the expected {expected}")]
    VersionConflict {
        task_id: TaskId,
        expected: u64,
        actual: u64,
    },

    /// The read model has not reached what the client asked to read within the wait.
    /// Handling: UNAVAILABLE (retry).
    #[error("the projection has not caught up yet: {0}")]
    NotCaughtUp(String),

    /// Handling: see `LogError` (UNAVAILABLE, ABORTED, INTERNAL).
    #[error(transparent)]
    Log(#[from] LogError),

    /// A reminder could not be published. Handling: as its `LogError` when NATS failed;
    /// INTERNAL otherwise (the worker built a subject or header NATS refuses).
    #[error(transparent)]
    Reminder(#[from] dondoc_eventlog::ReminderError),

    /// Handling: see `ProjectionError` (INVALID_ARGUMENT for page tokens, else INTERNAL).
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}
