//! The one place where application errors become gRPC statuses.
//!
//! | error | code |
//! |---|---|
//! | invalid field (bad instant, unknown policy, a report the task or agency does not owe), unreadable appendix, rejected rows, bad page token | INVALID_ARGUMENT |
//! | unknown task, unknown report request | NOT_FOUND |
//! | request key already used by another request | ALREADY_EXISTS |
//! | the task's state refuses the command (period outside the timeframe, deadline not passed, …) | FAILED_PRECONDITION |
//! | expected_version no longer holds; lost a pinned append race | ABORTED |
//! | NATS unreachable or timed out; read model not caught up | UNAVAILABLE |
//! | unreadable stored event, projection storage failure | INTERNAL |

use dondoc_app::AppError;
use dondoc_domain::DomainError;
use dondoc_eventlog::{LogError, ReminderError};
use dondoc_projection::ProjectionError;
use tonic::Status;

pub fn to_status(error: AppError) -> Status {
    let message = error.to_string();
    match error {
        AppError::Invalid(_) | AppError::Appendix { .. } | AppError::RejectedRows { .. } => {
            Status::invalid_argument(message)
        }
        AppError::TaskNotFound(_) => Status::not_found(message),
        AppError::Domain(domain) => match domain {
            DomainError::NotAssigned => Status::not_found(message),
            DomainError::Invalid(_) => Status::invalid_argument(message),
            DomainError::PeriodOutsideTimeframe { .. }
            | DomainError::PeriodNotStarted { .. }
            | DomainError::DeadlineNotPassed { .. } => Status::failed_precondition(message),
            DomainError::UnknownRequest { .. } => Status::not_found(message),
            DomainError::RequestKeyTaken { .. } => Status::already_exists(message),
        },
        AppError::VersionConflict { .. } => Status::aborted(message),
        AppError::NotCaughtUp(_) => Status::unavailable(message),
        AppError::Log(log) | AppError::Reminder(ReminderError::Log(log)) => match log {
            LogError::Unavailable { .. } => Status::unavailable(message),
            LogError::Conflict { .. } => Status::aborted(message),
            LogError::Unreadable { .. } => Status::internal(message),
        },
        AppError::Reminder(_) => Status::internal(message),
        AppError::Projection(projection) => match projection {
            ProjectionError::InvalidPageToken => Status::invalid_argument(message),
            ProjectionError::Storage { .. }
            | ProjectionError::Corrupt(_)
            | ProjectionError::Gap(_) => Status::internal(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::InvalidInput;
    use tonic::Code;

    use super::*;

    #[test]
    fn request_errors_map_to_their_codes() {
        let code = |error: AppError| to_status(error).code();
        assert_eq!(
            code(AppError::Domain(DomainError::UnknownRequest {
                request_key: "dot-xuat-1".into()
            })),
            Code::NotFound
        );
        assert_eq!(
            code(AppError::Domain(DomainError::RequestKeyTaken {
                request_key: "dot-xuat-1".into()
            })),
            Code::AlreadyExists
        );
        assert_eq!(
            code(AppError::Domain(DomainError::DeadlineNotPassed {
                what: "report 2024-Q1".into(),
                deadline: "2024-03-25T00:00:00+07:00".into()
            })),
            Code::FailedPrecondition
        );
        let status = to_status(AppError::Domain(DomainError::Invalid(InvalidInput::new(
            "requested_by",
            "not a lead agency of the task",
        ))));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("requested_by"),
            "{}",
            status.message()
        );
    }
}
