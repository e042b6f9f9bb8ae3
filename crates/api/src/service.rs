//! `dondoc.v1.TaskService`: parses each request into domain values (naming the field
//! that does not parse), calls the `Tracker`, and shapes the answer.

use dondoc_app::{AppError, CommandMeta, CommandOutcome, ImportPlan, Tracker};
use dondoc_domain::{
    AgencyName, InvalidInput, PlanId, ReportingPeriod, RequestId, TaskCommand, TaskId,
};
use dondoc_projection::TaskQuery;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::pb;
use crate::status::to_status;

#[derive(Clone, Debug)]
pub struct TaskApi {
    tracker: Tracker,
}

impl TaskApi {
    pub fn new(tracker: Tracker) -> Self {
        Self { tracker }
    }
}

fn invalid(error: InvalidInput) -> Status {
    to_status(AppError::Invalid(error))
}

/// An optional filter: empty means "not given".
fn optional<T>(
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

fn command_response(outcome: CommandOutcome) -> Response<pb::CommandResponse> {
    Response::new(pb::CommandResponse {
        task_id: outcome.task_id.to_string(),
        version: outcome.version,
        stream_sequence: outcome.stream_sequence,
        unchanged: outcome.unchanged,
    })
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
        let meta = CommandMeta {
            request_id: RequestId::parse(request_id).map_err(invalid)?,
            actor,
            expected_version,
        };
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
        };
        let summary = self.tracker.import_plan(&import).await.map_err(to_status)?;
        Ok(Response::new(pb::ImportPlanResponse {
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
}
