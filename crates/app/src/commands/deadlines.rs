//! Commands that move or add deadlines: extensions ("gia hạn"), ad hoc and coordination
//! report requests, and the answers to them.
//!
//! Extensions and answers depend on who owes a duty now, which only the task's
//! obligations say (the holiday calendar and group membership are not part of the
//! aggregate): the entry point derives the debtors from the task's state as loaded by
//! the command loop, on every attempt, and `decide` refuses on them. Because the facts
//! come from the very state the append is conditional on, an event slipping in between
//! makes the append conflict and the facts are derived again.

use std::collections::HashSet;

use dondoc_domain::{
    in_vietnam, AgencyName, Debtor, Duty, RequestId, RequestKey, RequestKind, TaskCommand, TaskId,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Commands;
use crate::access::acting_name;
use crate::error::AppError;
use crate::write::{CommandMeta, CommandOutcome};

/// Namespace of request keys derived from request ids that are not keys themselves.
/// Changing it changes derived keys: never do.
const REQUEST_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2024_0000_0004);

/// An extension to grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineExtension {
    pub duty: Duty,
    /// `None`: for every agency that owes the duty.
    pub agency: Option<AgencyName>,
    pub new_due: OffsetDateTime,
    pub reason: String,
    /// Who grants it: `None` is the caller itself; an agency caller may name only
    /// itself (`access::acting_name`).
    pub granted_by: Option<String>,
}

/// A report request to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRequestInput {
    /// `None`: derived from the command's request id (`request_key_for`).
    pub request_key: Option<RequestKey>,
    pub kind: RequestKind,
    /// Who asks: `None` is the caller itself; an agency caller may name only itself.
    pub requested_by: Option<AgencyName>,
    pub agencies: Vec<AgencyName>,
    pub due: OffsetDateTime,
    pub subject: String,
}

/// The request key a report request gets when the client names none: its request id
/// when that is a valid key, else `req-` and a hash of it (the same id, the same key).
pub fn request_key_for(request_id: &RequestId) -> RequestKey {
    RequestKey::parse(request_id.as_str()).unwrap_or_else(|_| {
        let hash = Uuid::new_v5(&REQUEST_KEY_NAMESPACE, request_id.as_str().as_bytes());
        RequestKey::parse(&format!("req-{}", hash.simple()))
            .expect("36 characters of a-z, 0-9 and '-'")
    })
}

/// The last year whose periodic obligations must be listed to see who owes `duty` now:
/// a period of a later year is listed too.
fn last_year_for(duty: &Duty, now: OffsetDateTime) -> i32 {
    let current_year = in_vietnam(now).year();
    match duty {
        Duty::Periodic { period } => period.year().max(current_year),
        Duty::Requested { .. } => current_year,
    }
}

impl Commands {
    /// Extends a deadline, for one agency or every agency that owes the duty (module
    /// docs). Refused (INVALID_ARGUMENT) when the task owes no such duty or the agency
    /// owes none of it; an unknown request key is NOT_FOUND.
    pub async fn extend_deadline(
        &self,
        task_id: TaskId,
        extension: &DeadlineExtension,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let agencies = self.shared.agencies();
        let obligations = &self.shared.obligations;
        self.shared
            .writer
            .execute(task_id, None, meta, |history, now| {
                let agency = extension
                    .agency
                    .as_ref()
                    .map(|agency| {
                        agencies.in_task(&history.state, &history.plan_id, "agency", agency)
                    })
                    .transpose()?;
                let granted_by = acting_name(
                    &meta.caller,
                    agencies,
                    &history.state,
                    &history.plan_id,
                    ("granted_by", "grant an extension"),
                    extension.granted_by.as_deref(),
                    false,
                )?;
                let last_year = last_year_for(&extension.duty, now);
                let owed = obligations.obligations_through(&history.state, now, last_year);
                Ok(TaskCommand::ExtendDeadline {
                    duty: extension.duty.clone(),
                    agency,
                    debtors: Debtor::of_duty(&owed, &extension.duty),
                    new_due: extension.new_due,
                    reason: extension.reason.clone(),
                    granted_by,
                })
            })
            .await
    }

    /// Records a report request; answers with the outcome and the request's key.
    /// Agencies are stored under their canonical names, each once.
    pub async fn request_report(
        &self,
        task_id: TaskId,
        request: &ReportRequestInput,
        meta: &CommandMeta,
    ) -> Result<(CommandOutcome, RequestKey), AppError> {
        let agencies = self.shared.agencies();
        let request_key = request
            .request_key
            .clone()
            .unwrap_or_else(|| request_key_for(&meta.request_id));
        let outcome = self
            .shared
            .writer
            .execute(task_id, None, meta, |history, _| {
                let in_task = |field, agency| {
                    agencies.in_task(&history.state, &history.plan_id, field, agency)
                };
                let mut seen = HashSet::new();
                let mut asked: Vec<AgencyName> = Vec::new();
                for agency in &request.agencies {
                    let agency = in_task("agencies", agency)?;
                    if seen.insert(agency.match_key()) {
                        asked.push(agency);
                    }
                }
                Ok(TaskCommand::RequestReport {
                    request_key: request_key.clone(),
                    kind: request.kind,
                    requested_by: AgencyName::parse(&acting_name(
                        &meta.caller,
                        agencies,
                        &history.state,
                        &history.plan_id,
                        ("requested_by", "ask for a report"),
                        request.requested_by.as_ref().map(AgencyName::as_str),
                        true,
                    )?)?,
                    agencies: asked,
                    due: request.due,
                    subject: request.subject.clone(),
                })
            })
            .await?;
        Ok((outcome, request_key))
    }

    /// Records `agency`'s answer to a report request. Refused (INVALID_ARGUMENT on
    /// `agency`) when the agency was not asked, nor is a member of a group that was:
    /// such an answer would cover nothing.
    pub async fn answer_request(
        &self,
        task_id: TaskId,
        request_key: &RequestKey,
        agency: &AgencyName,
        content: &str,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, AppError> {
        let agencies = self.shared.agencies();
        let duty = Duty::Requested {
            request_key: request_key.clone(),
        };
        let obligations = &self.shared.obligations;
        self.shared
            .writer
            .execute(task_id, None, meta, |history, now| {
                let owed =
                    obligations.obligations_through(&history.state, now, last_year_for(&duty, now));
                Ok(TaskCommand::AnswerRequest {
                    request_key: request_key.clone(),
                    answered_by: agencies.in_task(
                        &history.state,
                        &history.plan_id,
                        "agency",
                        agency,
                    )?,
                    debtors: Debtor::of_duty(&owed, &duty),
                    content: content.to_owned(),
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_derive_from_request_ids() {
        let id = RequestId::parse("dot-xuat-2024-03").unwrap();
        assert_eq!(request_key_for(&id).as_str(), "dot-xuat-2024-03");
        let id = RequestId::parse("ask/2024#1").unwrap();
        let key = request_key_for(&id);
        assert!(key.as_str().starts_with("req-"), "{key}");
        assert_eq!(key, request_key_for(&id), "the same id, the same key");
        assert_ne!(
            key,
            request_key_for(&RequestId::parse("ask/2024#2").unwrap())
        );
    }
}
