//! `dondoc.v1.TaskService`: parses each request into domain values (`fields.rs`), calls
//! the named use case (`Commands`, `Imports`, `Queries` of dondoc-app), and shapes the
//! answer (`convert.rs`). No rule lives here.

use dondoc_app::{
    Commands, DeadlineExtension, ImportPlan, Imports, PageRequest, Queries, ReadScope,
    ReportRequestInput, TaskFilter, UpcomingQuery,
};
use dondoc_domain::{
    check_text, limits, rfc3339, Duty, InvalidInput, PlanId, ReportingPeriod, RequestId,
    RequestKey, TaskId,
};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::fields::{
    agency, command_meta, instant, invalid, optional, optional_agency, optional_target,
    request_kind, required_instant, scorecard_query, target, text,
};
use crate::pb;
use crate::status::to_status;

#[derive(Clone, Debug)]
pub struct TaskApi {
    commands: Commands,
    imports: Imports,
    queries: Queries,
}

impl TaskApi {
    /// What the authenticated caller of `request` may read.
    fn read_scope<T>(&self, request: &Request<T>) -> Result<ReadScope, Status> {
        let caller = crate::auth::caller(request)?;
        self.queries.read_scope(&caller).map_err(to_status)
    }

    pub fn new(commands: Commands, imports: Imports, queries: Queries) -> Self {
        Self {
            commands,
            imports,
            queries,
        }
    }
}

fn task_id(raw: &str) -> Result<TaskId, Status> {
    TaskId::parse(raw).map_err(invalid)
}

/// A deadline list's page: its size (0: the default) and the previous page's token.
fn page_request(page_size: u32, page_token: &str) -> PageRequest {
    PageRequest {
        page_size: usize::try_from(page_size).unwrap_or(usize::MAX),
        page_token: Some(page_token.to_owned()).filter(|token| !token.is_empty()),
    }
}

#[tonic::async_trait]
impl pb::task_service_server::TaskService for TaskApi {
    async fn import_plan(
        &self,
        request: Request<pb::ImportPlanRequest>,
    ) -> Result<Response<pb::ImportPlanResponse>, Status> {
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let source_name = match text("source_name", &request.source_name, 255, false)?.trim() {
            "" => "appendix".to_owned(),
            name => name.to_owned(),
        };
        text("actor", &request.actor, limits::SHORT_TEXT, false)?;
        text("province", &request.province, 100, false)?;
        let import = ImportPlan {
            plan_id: PlanId::parse(&request.plan_id).map_err(invalid)?,
            plan_year: request.plan_year,
            source_name,
            content: request.content,
            caller,
            request_id: RequestId::parse(&request.request_id).map_err(invalid)?,
            province: Some(request.province.trim().to_owned())
                .filter(|province| !province.is_empty()),
            policy: dondoc_app::reporting_policy(Some(&request.policy), Some(&request.policy_json))
                .map_err(invalid)?,
        };
        let policy = import.reporting().policy.name;
        let summary = self.imports.import_plan(&import).await.map_err(to_status)?;
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
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let snapshot = self
            .queries
            .task(&scope, task_id(&request.task_id)?, request.min_version)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(convert::task(self.queries.agencies(), &snapshot)),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let plan_id = optional(&request.plan_id, PlanId::parse)?;
        let province = self
            .queries
            .province_for(&request.province, plan_id.as_ref())
            .map_err(to_status)?;
        let filter = TaskFilter {
            lead: optional_target(
                self.queries.agencies(),
                "lead_agency",
                &request.lead_agency,
                province.as_deref(),
            )?,
            coordinator: optional_target(
                self.queries.agencies(),
                "coordinating_agency",
                &request.coordinating_agency,
                province.as_deref(),
            )?,
            plan_id,
            page_size: request.page_size as usize,
            page_token: Some(request.page_token).filter(|token| !token.is_empty()),
        };
        let page = self
            .queries
            .list_tasks(&scope, &filter, request.min_sequence)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListTasksResponse {
            tasks: page
                .tasks
                .iter()
                .map(|task| convert::task(self.queries.agencies(), task))
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn submit_report(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let reporter = agency("agency", &request.agency)?;
        let period = ReportingPeriod::parse(&request.period).map_err(invalid)?;
        let meta = command_meta(&request.request_id, caller, request.expected_version)?;
        let outcome = self
            .commands
            .submit_report(
                task_id(&request.task_id)?,
                period,
                &reporter,
                text("content", &request.content, limits::REPORT_CONTENT, true)?,
                &meta,
            )
            .await
            .map_err(to_status)?;
        Ok(convert::command_response(outcome))
    }

    async fn record_coordination(
        &self,
        request: Request<pb::RecordCoordinationRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let coordinator = agency("agency", &request.agency)?;
        let meta = command_meta(&request.request_id, caller, request.expected_version)?;
        let outcome = self
            .commands
            .record_coordination(
                task_id(&request.task_id)?,
                &coordinator,
                text("note", &request.note, limits::NOTE, true)?,
                &meta,
            )
            .await
            .map_err(to_status)?;
        Ok(convert::command_response(outcome))
    }

    async fn extend_deadline(
        &self,
        request: Request<pb::ExtendDeadlineRequest>,
    ) -> Result<Response<pb::CommandResponse>, Status> {
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let task_id = task_id(&request.task_id)?;
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
            reason: text("reason", &request.reason, limits::SHORT_TEXT, true)?.to_owned(),
            granted_by: optional(&request.granted_by, |raw| {
                check_text("granted_by", raw.trim(), limits::SHORT_TEXT, false)
                    .map(|()| raw.trim().to_owned())
            })?,
        };
        let meta = command_meta(&request.request_id, caller, request.expected_version)?;
        let outcome = self
            .commands
            .extend_deadline(task_id, &extension, &meta)
            .await
            .map_err(to_status)?;
        Ok(convert::command_response(outcome))
    }

    async fn request_report(
        &self,
        request: Request<pb::RequestReportRequest>,
    ) -> Result<Response<pb::RequestReportResponse>, Status> {
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let task_id = task_id(&request.task_id)?;
        let input = ReportRequestInput {
            request_key: optional(&request.request_key, RequestKey::parse)?,
            kind: request_kind(&request.kind)?,
            agencies: request
                .agencies
                .iter()
                .map(|raw| agency("agencies", raw))
                .collect::<Result<_, _>>()?,
            due: required_instant("due", &request.due)?,
            subject: text("subject", &request.subject, limits::SHORT_TEXT, false)?.to_owned(),
            requested_by: optional_agency("requested_by", &request.requested_by)?,
        };
        let meta = command_meta(&request.request_id, caller, request.expected_version)?;
        let (outcome, request_key) = self
            .commands
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
        let caller = crate::auth::caller(&request)?;
        let request = request.into_inner();
        let task_id = task_id(&request.task_id)?;
        let request_key = RequestKey::parse(&request.request_key).map_err(invalid)?;
        let answerer = agency("agency", &request.agency)?;
        let meta = command_meta(&request.request_id, caller, request.expected_version)?;
        let outcome = self
            .commands
            .answer_request(
                task_id,
                &request_key,
                &answerer,
                text("content", &request.content, limits::REPORT_CONTENT, true)?,
                &meta,
            )
            .await
            .map_err(to_status)?;
        Ok(convert::command_response(outcome))
    }

    async fn list_obligations(
        &self,
        request: Request<pb::ListObligationsRequest>,
    ) -> Result<Response<pb::ListObligationsResponse>, Status> {
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let task_id = task_id(&request.task_id)?;
        let as_of = instant("as_of", &request.as_of)?;
        let found = self
            .queries
            .task_obligations(&scope, task_id, as_of, request.min_version)
            .await
            .map_err(to_status)?;
        let task = convert::TaskRef::of_task(&found.task);
        let agencies = self.queries.agencies();
        Ok(Response::new(pb::ListObligationsResponse {
            task_id: task_id.to_string(),
            as_of: rfc3339(found.as_of),
            task_status: found.status.name().to_owned(),
            obligations: found
                .obligations
                .iter()
                .map(|obligation| {
                    let identify =
                        |name| agencies.identify(&found.task.state, &found.task.plan_id, name);
                    let owed_by = identify(&obligation.agency);
                    let via_group = obligation.via_group.as_ref().map(identify);
                    convert::obligation(&task, obligation, &owed_by, via_group.as_ref())
                })
                .collect(),
            version: found.task.state.version,
        }))
    }

    async fn list_upcoming_deadlines(
        &self,
        request: Request<pb::ListUpcomingDeadlinesRequest>,
    ) -> Result<Response<pb::ListUpcomingDeadlinesResponse>, Status> {
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let query = UpcomingQuery {
            agency: target(
                self.queries.agencies(),
                "agency",
                &request.agency,
                Some(&request.province),
            )?,
            from: instant("from", &request.from)?,
            to: instant("to", &request.to)?,
            within_days: request.within_days,
        };
        let upcoming = self
            .queries
            .upcoming_deadlines(
                &scope,
                &query,
                &page_request(request.page_size, &request.page_token),
                request.min_sequence,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListUpcomingDeadlinesResponse {
            agency: upcoming.agency.display(),
            agency_id: upcoming
                .agency
                .id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            from: rfc3339(upcoming.from),
            to: rfc3339(upcoming.to),
            obligations: upcoming
                .obligations
                .iter()
                .map(convert::task_obligation)
                .collect(),
            next_page_token: upcoming.next_page_token.unwrap_or_default(),
        }))
    }

    async fn list_overdue(
        &self,
        request: Request<pb::ListOverdueRequest>,
    ) -> Result<Response<pb::ListOverdueResponse>, Status> {
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let plan_id = optional(&request.plan_id, PlanId::parse)?;
        let province = self
            .queries
            .province_for(&request.province, plan_id.as_ref())
            .map_err(to_status)?;
        let agency = optional_target(
            self.queries.agencies(),
            "agency",
            &request.agency,
            province.as_deref(),
        )?;
        let (as_of, found) = self
            .queries
            .overdue_obligations(
                &scope,
                plan_id.as_ref(),
                agency.as_ref(),
                &page_request(request.page_size, &request.page_token),
                request.min_sequence,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListOverdueResponse {
            as_of: rfc3339(as_of),
            obligations: found
                .obligations
                .iter()
                .map(convert::task_obligation)
                .collect(),
            next_page_token: found.next_page_token.unwrap_or_default(),
        }))
    }

    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        // Reads: every role, of the plans it may read (`dondoc_app` access.rs).
        let scope = self.read_scope(&request)?;
        let request = request.into_inner();
        let plan_id = optional(&request.plan_id, PlanId::parse)?;
        let province = self
            .queries
            .province_for(&request.province, plan_id.as_ref())
            .map_err(to_status)?;
        let query = scorecard_query(
            self.queries.agencies(),
            (&request.agency, province.as_deref()),
            &request.plan_id,
            &request.period,
            request.year,
            &request.as_of,
        )?;
        let scorecard = self
            .queries
            .scorecard(&scope, &query, request.min_sequence)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::scorecard(&scorecard)))
    }
}
