//! `dondoc.v1.TaskService`: parses each request into domain values (naming the field
//! that does not parse), calls the `Tracker`, and shapes the answer.

use std::sync::Arc;

use dondoc_app::{
    format_instant, AppError, CommandMeta, CommandOutcome, DeadlineExtension, DeadlineRules,
    ImportPlan, PeriodFilter, ReportRequestInput, Scorecard, ScorecardQuery, Tracker,
};
use dondoc_domain::vietnam_time::in_vietnam;
use dondoc_domain::{
    AgencyName, Duty, InvalidInput, PlanId, ReportingPeriod, RequestId, RequestKey, RequestKind,
    TaskCommand, TaskId,
};
use dondoc_projection::TaskQuery;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::pb;
use crate::status::to_status;

#[derive(Clone, Debug)]
pub struct TaskApi {
    tracker: Tracker,
    /// How obligations and deadlines are computed for the deadline queries.
    rules: Arc<DeadlineRules>,
}

impl TaskApi {
    pub fn new(tracker: Tracker, rules: Arc<DeadlineRules>) -> Self {
        Self { tracker, rules }
    }
}

pub(crate) fn invalid(error: InvalidInput) -> Status {
    to_status(AppError::Invalid(error))
}

/// An optional filter: empty means "not given".
pub(crate) fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, InvalidInput>,
) -> Result<Option<T>, Status> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some).map_err(invalid)
    }
}

fn named(
    field: &'static str,
    result: Result<AgencyName, InvalidInput>,
) -> Result<AgencyName, InvalidInput> {
    result.map_err(|error| InvalidInput::new(field, error.message))
}

/// The window of ListUpcomingDeadlines when neither `to` nor `within_days` is given.
const DEFAULT_WITHIN_DAYS: u32 = 30;
/// The longest window ListUpcomingDeadlines takes in days (ten years).
const MAX_WITHIN_DAYS: u32 = 3660;

const INSTANT_EXAMPLE: &str = "an RFC 3339 instant such as 2024-03-25T00:00:00+07:00";

/// An optional instant: empty means "not given".
pub(crate) fn instant(field: &'static str, raw: &str) -> Result<Option<OffsetDateTime>, Status> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(raw, &Rfc3339)
        .map(|instant| Some(in_vietnam(instant)))
        .map_err(|error| {
            invalid(InvalidInput::new(
                field,
                format!("{raw:?} is not {INSTANT_EXAMPLE} ({error})"),
            ))
        })
}

fn required_instant(field: &'static str, raw: &str) -> Result<OffsetDateTime, Status> {
    instant(field, raw)?.ok_or_else(|| {
        invalid(InvalidInput::new(
            field,
            format!("required: {INSTANT_EXAMPLE}"),
        ))
    })
}

fn agency_field(field: &'static str, raw: &str) -> Result<AgencyName, Status> {
    named(field, AgencyName::parse(raw)).map_err(invalid)
}

pub(crate) fn optional_agency(
    field: &'static str,
    raw: &str,
) -> Result<Option<AgencyName>, Status> {
    optional(raw, |raw| named(field, AgencyName::parse(raw)))
}

fn request_kind(raw: &str) -> Result<RequestKind, Status> {
    match raw.trim().to_lowercase().replace('-', "_").as_str() {
        "ad_hoc" | "adhoc" => Ok(RequestKind::AdHoc),
        "coordination" => Ok(RequestKind::Coordination),
        _ => Err(invalid(InvalidInput::new(
            "kind",
            format!("{raw:?} must be \"ad_hoc\" or \"coordination\""),
        ))),
    }
}

/// Who a command is recorded as coming from: the given name, else `fallback`.
fn actor(given: &str, fallback: &str) -> String {
    match given.trim() {
        "" => fallback.to_owned(),
        given => given.to_owned(),
    }
}

fn command_meta(
    request_id: &str,
    actor: String,
    expected_version: Option<u64>,
) -> Result<CommandMeta, Status> {
    Ok(CommandMeta {
        request_id: RequestId::parse(request_id).map_err(invalid)?,
        actor,
        expected_version,
    })
}

fn command_response(outcome: CommandOutcome) -> Response<pb::CommandResponse> {
    Response::new(pb::CommandResponse {
        task_id: outcome.task_id.to_string(),
        version: outcome.version,
        stream_sequence: outcome.stream_sequence,
        unchanged: outcome.unchanged,
    })
}

/// The filters of a scorecard (GetScorecard, GetScorecardAsOf); errors name the field.
pub(crate) fn scorecard_query(
    agency: &str,
    plan_id: &str,
    period: &str,
    year: i32,
    as_of: &str,
) -> Result<ScorecardQuery, Status> {
    let year = match year {
        0 => None,
        year if (2000..=2100).contains(&year) => Some(year),
        year => {
            return Err(invalid(InvalidInput::new(
                "year",
                format!("{year} must be 2000..=2100 (or 0 for every year)"),
            )))
        }
    };
    Ok(ScorecardQuery {
        agency: optional_agency("agency", agency)?,
        plan_id: optional(plan_id, PlanId::parse)?,
        periods: PeriodFilter {
            period: optional(period, ReportingPeriod::parse)?,
            year,
        },
        as_of: instant("as_of", as_of)?,
    })
}

/// A scorecard as GetScorecard answers it.
pub(crate) fn scorecard_response(scorecard: &Scorecard) -> pb::GetScorecardResponse {
    pb::GetScorecardResponse {
        as_of: format_instant(scorecard.as_of),
        rows: scorecard.rows.iter().map(convert::scorecard_row).collect(),
        totals: scorecard
            .totals
            .iter()
            .map(convert::scorecard_row)
            .collect(),
    }
}

impl TaskApi {
    async fn run_command(
        &self,
        task_id: &str,
        request_id: &str,
        actor: String,
        expected_version: Option<u64>,
        command: TaskCommand,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let task_id = TaskId::parse(task_id).map_err(invalid)?;
        let meta = command_meta(request_id, actor, expected_version)?;
        let outcome = self
            .tracker
            .execute(task_id, None, &command, &meta)
            .await
            .map_err(to_status)?;
        Ok(command_response(outcome))
    }
}

#[tonic::async_trait]
impl pb::task_service_server::TaskService for TaskApi {
    async fn import_plan(
        &self,
        request: Request<pb::ImportPlanRequest>,
    ) -> Result<Response<pb::ImportPlanResponse>, Status> {
        let request = request.into_inner();
        let source_name = match request.source_name.trim() {
            "" => "appendix".to_owned(),
            name => name.to_owned(),
        };
        let actor = match request.actor.trim() {
            "" => "import".to_owned(),
            actor => actor.to_owned(),
        };
        let import = ImportPlan {
            plan_id: PlanId::parse(&request.plan_id).map_err(invalid)?,
            plan_year: request.plan_year,
            source_name,
            content: request.content,
            actor,
            request_id: RequestId::parse(&request.request_id).map_err(invalid)?,
            province: Some(request.province.trim().to_owned())
                .filter(|province| !province.is_empty()),
            policy: dondoc_app::reporting_policy(Some(&request.policy), Some(&request.policy_json))
                .map_err(invalid)?,
        };
        let policy = import.reporting().policy.name;
        let summary = self.tracker.import_plan(&import).await.map_err(to_status)?;
        Ok(Response::new(pb::ImportPlanResponse {
            policy,
            task_ids: summary.task_ids.iter().map(ToString::to_string).collect(),
            tasks_created: summary.created as u32,
            tasks_amended: summary.amended as u32,
            tasks_unchanged: summary.unchanged as u32,
            missing_task_ids: summary.missing.iter().map(ToString::to_string).collect(),
            warnings: summary
                .warnings
                .into_iter()
                .map(|warning| pb::ImportWarning {
                    line: warning.line as u32,
                    row_number: warning.row_number,
                    field: warning.field,
                    message: warning.message,
                })
                .collect(),
            stream_sequence: summary.stream_sequence,
        }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let view = self
            .tracker
            .get_task(task_id, request.min_version)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(convert::task(&view)),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let request = request.into_inner();
        let query = TaskQuery {
            plan_id: optional(&request.plan_id, PlanId::parse)?,
            lead: optional(&request.lead_agency, |raw| {
                named("lead_agency", AgencyName::parse(raw))
            })?
            .map(|agency| self.tracker.canonical_agency(&agency)),
            coordinator: optional(&request.coordinating_agency, |raw| {
                named("coordinating_agency", AgencyName::parse(raw))
            })?
            .map(|agency| self.tracker.canonical_agency(&agency)),
            page_size: request.page_size as usize,
            page_token: Some(request.page_token).filter(|token| !token.is_empty()),
        };
        let page = self
            .tracker
            .list_tasks(&query, request.min_sequence)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListTasksResponse {
            tasks: page.tasks.iter().map(convert::task).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let request = request.into_inner();
        let agency = named("agency", AgencyName::parse(&request.agency)).map_err(invalid)?;
        let agency = self.tracker.canonical_agency(&agency);
        let command = TaskCommand::SubmitReport {
            period: ReportingPeriod::parse(&request.period).map_err(invalid)?,
            reported_by: agency.clone(),
            content: request.content,
        };
        self.run_command(
            &request.task_id,
            &request.request_id,
            agency.to_string(),
            request.expected_version,
            command,
        )
        .await
    }

    async fn record_coordination(
        &self,
        request: Request<pb::RecordCoordinationRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let request = request.into_inner();
        let agency = named("agency", AgencyName::parse(&request.agency)).map_err(invalid)?;
        let agency = self.tracker.canonical_agency(&agency);
        let command = TaskCommand::RecordCoordination {
            agency: agency.clone(),
            note: request.note,
        };
        self.run_command(
            &request.task_id,
            &request.request_id,
            agency.to_string(),
            request.expected_version,
            command,
        )
        .await
    }
    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let period = optional(&request.period, ReportingPeriod::parse)?;
        let request_key = optional(&request.request_key, RequestKey::parse)?;
        let duty = match (period, request_key) {
            (Some(period), None) => Duty::Periodic { period },
            (None, Some(request_key)) => Duty::Requested { request_key },
            (Some(_), Some(_)) => {
                return Err(invalid(InvalidInput::new(
                    "request_key",
                    "give the period of a periodic report or the request_key of a report \
                     request, not both",
                )))
            }
            (None, None) => {
                return Err(invalid(InvalidInput::new(
                    "period",
                    "required: the period of a periodic report (\"2024-Q1\"), or a request_key",
                )))
            }
        };
        let extension = DeadlineExtension {
            duty,
            agency: optional_agency("agency", &request.agency)?,
            new_due: required_instant("new_due", &request.new_due)?,
            reason: request.reason,
            granted_by: request.granted_by.clone(),
        };
        let meta = command_meta(
            &request.request_id,
            actor(&request.granted_by, "api"),
            request.expected_version,
        )?;
        let outcome = self
            .tracker
            .extend_deadline(&self.rules, task_id, &extension, &meta)
            .await
            .map_err(to_status)?;
        Ok(command_response(outcome))
    }

    async fn request_report(
        &self,
        request: Request<pb::RequestReportRequest>,
    ) -> Result<Response<pb::RequestReportResponse>, Status> {
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let requested_by = agency_field("requested_by", &request.requested_by)?;
        let input = ReportRequestInput {
            request_key: optional(&request.request_key, RequestKey::parse)?,
            kind: request_kind(&request.kind)?,
            agencies: request
                .agencies
                .iter()
                .map(|raw| agency_field("agencies", raw))
                .collect::<Result<_, _>>()?,
            due: required_instant("due", &request.due)?,
            subject: request.subject,
            requested_by,
        };
        let meta = command_meta(
            &request.request_id,
            input.requested_by.to_string(),
            request.expected_version,
        )?;
        let (outcome, request_key) = self
            .tracker
            .request_report(task_id, &input, &meta)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::RequestReportResponse {
            task_id: outcome.task_id.to_string(),
            version: outcome.version,
            stream_sequence: outcome.stream_sequence,
            unchanged: outcome.unchanged,
            request_key: request_key.to_string(),
        }))
    }

    async fn answer_request(
        &self,
        request: Request<pb::AnswerRequestRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let request_key = RequestKey::parse(&request.request_key).map_err(invalid)?;
        let agency = agency_field("agency", &request.agency)?;
        let meta = command_meta(
            &request.request_id,
            agency.to_string(),
            request.expected_version,
        )?;
        let outcome = self
            .tracker
            .answer_request(
                &self.rules,
                task_id,
                &request_key,
                &agency,
                &request.content,
                &meta,
            )
            .await
            .map_err(to_status)?;
        Ok(command_response(outcome))
    }

    async fn list_obligations(
        &self,
        request: Request<pb::ListObligationsRequest>,
    ) -> Result<Response<pb::ListObligationsResponse>, Status> {
        let request = request.into_inner();
        let task_id = TaskId::parse(&request.task_id).map_err(invalid)?;
        let as_of = instant("as_of", &request.as_of)?;
        let found = self
            .tracker
            .task_obligations(&self.rules, task_id, as_of, request.min_version)
            .await
            .map_err(to_status)?;
        let task = convert::TaskRef::of_view(&found.view);
        Ok(Response::new(pb::ListObligationsResponse {
            task_id: task_id.to_string(),
            as_of: format_instant(found.as_of),
            task_status: found.status.name().to_owned(),
            obligations: found
                .obligations
                .iter()
                .map(|obligation| convert::obligation(&task, obligation))
                .collect(),
            version: found.view.state.version,
        }))
    }

    async fn list_upcoming_deadlines(
        &self,
        request: Request<pb::ListUpcomingDeadlinesRequest>,
    ) -> Result<Response<pb::ListUpcomingDeadlinesResponse>, Status> {
        let request = request.into_inner();
        let agency = agency_field("agency", &request.agency)?;
        let from = instant("from", &request.from)?;
        let to = instant("to", &request.to)?;
        if to.is_some() && request.within_days != 0 {
            return Err(invalid(InvalidInput::new(
                "within_days",
                "give the window's end (to) or its length (within_days), not both",
            )));
        }
        if request.within_days > MAX_WITHIN_DAYS {
            return Err(invalid(InvalidInput::new(
                "within_days",
                format!(
                    "{} is more than {MAX_WITHIN_DAYS} days",
                    request.within_days
                ),
            )));
        }
        let from = from.unwrap_or_else(|| self.tracker.clock().now());
        let to = to.unwrap_or_else(|| {
            let days = match request.within_days {
                0 => DEFAULT_WITHIN_DAYS,
                days => days,
            };
            from + time::Duration::days(i64::from(days))
        });
        let found = self
            .tracker
            .upcoming_deadlines(&self.rules, &agency, from, to, request.min_sequence)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListUpcomingDeadlinesResponse {
            agency: self.tracker.canonical_agency(&agency).to_string(),
            from: format_instant(from),
            to: format_instant(to),
            obligations: found.iter().map(convert::task_obligation).collect(),
        }))
    }

    async fn list_overdue(
        &self,
        request: Request<pb::ListOverdueRequest>,
    ) -> Result<Response<pb::ListOverdueResponse>, Status> {
        let request = request.into_inner();
        let plan_id = optional(&request.plan_id, PlanId::parse)?;
        let agency = optional_agency("agency", &request.agency)?;
        let (as_of, found) = self
            .tracker
            .overdue_obligations(
                &self.rules,
                plan_id.as_ref(),
                agency.as_ref(),
                request.min_sequence,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListOverdueResponse {
            as_of: format_instant(as_of),
            obligations: found.iter().map(convert::task_obligation).collect(),
        }))
    }

    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        let request = request.into_inner();
        let query = scorecard_query(
            &request.agency,
            &request.plan_id,
            &request.period,
            request.year,
            &request.as_of,
        )?;
        let scorecard = self
            .tracker
            .scorecard(&self.rules, &query, request.min_sequence)
            .await
            .map_err(to_status)?;
        Ok(Response::new(scorecard_response(&scorecard)))
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn instants_are_rfc_3339_in_vietnam_time_and_errors_name_the_field() {
        assert_eq!(instant("as_of", " ").unwrap(), None);
        let parsed = instant("as_of", "2024-03-24T17:00:00Z").unwrap().unwrap();
        assert_eq!(format_instant(parsed), "2024-03-25T00:00:00+07:00");
        assert_eq!(parsed.offset().whole_hours(), 7);
        for bad in ["yesterday", "2024-03-25", "2024-03-25 00:00"] {
            let status = instant("from", bad).unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert!(
                status.message().contains("invalid from"),
                "{}",
                status.message()
            );
        }
        let status = required_instant("new_due", "").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("new_due"), "{}", status.message());
    }

    #[test]
    fn request_kinds_are_ad_hoc_or_coordination() {
        assert_eq!(request_kind("ad_hoc").unwrap(), RequestKind::AdHoc);
        assert_eq!(request_kind("ad-hoc").unwrap(), RequestKind::AdHoc);
        assert_eq!(
            request_kind(" Coordination ").unwrap(),
            RequestKind::Coordination
        );
        let status = request_kind("urgent").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("invalid kind"),
            "{}",
            status.message()
        );
    }
}
