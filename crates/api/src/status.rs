//! The one place where application errors become gRPC statuses: each `ErrorKind` is one
//! code. The message is the error's own text, which names the field or the task.
//!
//! | kind | code | when |
//! |---|---|---|
//! | Invalid | INVALID_ARGUMENT | a field that does not parse, a report the task or agency does not owe, an unreadable appendix, rejected rows, a page token from another query |
//! | NotFound | NOT_FOUND | unknown task, unknown report request |
//! | AlreadyExists | ALREADY_EXISTS | a request key used by another request |
//! | Refused | FAILED_PRECONDITION | the task's state refuses the command (period outside the timeframe, deadline not passed, …) |
//! | Conflict | ABORTED | `expected_version` no longer holds |
//! | Unavailable | UNAVAILABLE | NATS unreachable or timed out; read model not caught up |
//! | Internal | INTERNAL | unreadable stored event, a gap in a task's versions, projection storage failure |

use dondoc_app::{AppError, ErrorKind};
use tonic::Status;

pub fn to_status(error: AppError) -> Status {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::Invalid => Status::invalid_argument(message),
        ErrorKind::NotFound => Status::not_found(message),
        ErrorKind::AlreadyExists => Status::already_exists(message),
        ErrorKind::Refused => Status::failed_precondition(message),
        ErrorKind::Forbidden => Status::permission_denied(message),
        ErrorKind::Conflict => Status::aborted(message),
        ErrorKind::Unavailable => Status::unavailable(message),
        ErrorKind::Internal => Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::{DomainError, InvalidInput};
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
