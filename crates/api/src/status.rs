//! The one place where application errors become gRPC statuses.
//!
//! | error | code |
//! |---|---|
//! | invalid field, unreadable appendix, rejected rows, bad page token | INVALID_ARGUMENT |
//! | unknown task | NOT_FOUND |
//! | the task's state refuses the command (period outside the timeframe, …) | FAILED_PRECONDITION |
//! | expected_version no longer holds; lost a pinned append race | ABORTED |
//! | NATS unreachable or timed out; read model not caught up | UNAVAILABLE |
//! | unreadable stored event, projection storage failure | INTERNAL |

use dondoc_app::AppError;
use dondoc_domain::DomainError;
use dondoc_eventlog::LogError;
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
        },
        AppError::VersionConflict { .. } => Status::aborted(message),
        AppError::NotCaughtUp(_) => Status::unavailable(message),
        AppError::Log(log) => match log {
            LogError::Unavailable { .. } => Status::unavailable(message),
            LogError::Conflict { .. } => Status::aborted(message),
            LogError::Unreadable { .. } => Status::internal(message),
        },
        AppError::Projection(projection) => match projection {
            ProjectionError::InvalidPageToken => Status::invalid_argument(message),
            ProjectionError::Storage { .. }
            | ProjectionError::Corrupt(_)
            | ProjectionError::Gap(_) => Status::internal(message),
        },
    }
}
