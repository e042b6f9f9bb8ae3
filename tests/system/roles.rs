//! The authorization table (`crates/app/src/access.rs`, README "Access"), tried as a
//! matrix: every RPC of both services called with a token of each role, over TLS.
//! Allowed roles succeed; the others get PERMISSION_DENIED naming the role needed. An
//! agency acts only as itself, on tasks it takes part in.

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use tonic::{Code, Status};

use crate::support::{import_seed_004, issue_token, seed_004_text, spawn_dondoc, Dondoc, TestNats};

/// (role, the token's subject): the lead and the coordinator of seed 004's row 1.1.
const ROLES: [(&str, &str); 6] = [
    ("plan_owner", "quang-ngai-ubnd-tinh"),
    ("lead", "quang-ngai-so-tttt"),
    ("coordinator", "quang-ngai-so-noi-vu"),
    ("auditor", "kiem-toan-nha-nuoc"),
    ("viewer", "lanh-dao-tinh"),
    ("operator", "van-hanh"),
];

/// A token of `subject` as `role`; a plan owner's covers seed 004's plan `qng`.
fn token(dondoc: &Dondoc, role: &str, subject: &str) -> String {
    let plan = (role == "plan_owner").then_some("qng");
    issue_token(dondoc, subject, role, plan)
}

/// What one call answered: OK, or its code and message.
fn answer<T>(result: Result<tonic::Response<T>, Status>) -> Result<(), (Code, String)> {
    result
        .map(|_| ())
        .map_err(|status| (status.code(), status.message().to_owned()))
}

async fn first_of_stream<T>(
    result: Result<tonic::Response<tonic::Streaming<T>>, Status>,
) -> Result<(), (Code, String)> {
    match result {
        Err(status) => Err((status.code(), status.message().to_owned())),
        Ok(response) => {
            let mut stream = response.into_inner();
            match stream.message().await {
                Ok(_) => Ok(()),
                Err(status) => Err((status.code(), status.message().to_owned())),
            }
        }
    }
}

/// Calls every RPC as `role`, with request ids of its own.
async fn calls(
    role: &str,
    tasks: &mut TaskServiceClient<ApiChannel>,
    audit: &mut AuditServiceClient<ApiChannel>,
    task_id: &str,
    request_key: &str,
    extension_day: u32,
) -> Vec<(&'static str, Result<(), (Code, String)>)> {
    let id = |what: &str| format!("{role}-{what}");
    let mut answers = Vec::new();
    answers.push((
        "ImportPlan",
        answer(
            tasks
                .import_plan(pb::ImportPlanRequest {
                    plan_id: "qng".into(),
                    plan_year: 2023,
                    source_name: "004_09303d0239868285.txt".into(),
                    content: seed_004_text(),
                    request_id: "import-qng".into(),
                    province: "Quảng Ngãi".into(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    answers.push((
        "SubmitReport",
        answer(
            tasks
                .submit_report(pb::SubmitReportRequest {
                    task_id: task_id.into(),
                    request_id: id("report"),
                    agency: "Sở TT&TT".into(),
                    period: if role == "operator" {
                        "2023-Q2"
                    } else {
                        "2023-Q1"
                    }
                    .into(),
                    content: "Báo cáo".into(),
                    expected_version: None,
                })
                .await,
        ),
    ));
    answers.push((
        "RecordCoordination",
        answer(
            tasks
                .record_coordination(pb::RecordCoordinationRequest {
                    task_id: task_id.into(),
                    request_id: id("note"),
                    agency: "Sở Nội vụ".into(),
                    note: "Đã phối hợp".into(),
                    expected_version: None,
                })
                .await,
        ),
    ));
    answers.push((
        "ExtendDeadline",
        answer(
            tasks
                .extend_deadline(pb::ExtendDeadlineRequest {
                    task_id: task_id.into(),
                    request_id: id("extend"),
                    period: "2023-Q3".into(),
                    new_due: format!("2027-01-{extension_day:02}T00:00:00+07:00"),
                    reason: "Chờ số liệu".into(),
                    granted_by: "UBND tỉnh Quảng Ngãi".into(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    answers.push((
        "RequestReport",
        answer(
            tasks
                .request_report(pb::RequestReportRequest {
                    task_id: task_id.into(),
                    request_id: id("request"),
                    kind: "ad_hoc".into(),
                    agencies: vec!["Sở TT&TT".into()],
                    due: "2027-02-01T00:00:00+07:00".into(),
                    subject: "Báo cáo đột xuất".into(),
                    requested_by: "UBND tỉnh Quảng Ngãi".into(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    answers.push((
        "AnswerRequest",
        answer(
            tasks
                .answer_request(pb::AnswerRequestRequest {
                    task_id: task_id.into(),
                    request_id: id("answer"),
                    request_key: request_key.into(),
                    agency: "Sở TT&TT".into(),
                    content: "Trả lời".into(),
                    expected_version: None,
                })
                .await,
        ),
    ));
    answers.push((
        "GetTask",
        answer(
            tasks
                .get_task(pb::GetTaskRequest {
                    task_id: task_id.into(),
                    min_version: 0,
                })
                .await,
        ),
    ));
    answers.push((
        "ListTasks",
        answer(tasks.list_tasks(pb::ListTasksRequest::default()).await),
    ));
    answers.push((
        "ListObligations",
        answer(
            tasks
                .list_obligations(pb::ListObligationsRequest {
                    task_id: task_id.into(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    answers.push((
        "ListUpcomingDeadlines",
        answer(
            tasks
                .list_upcoming_deadlines(pb::ListUpcomingDeadlinesRequest {
                    agency: "Sở TT&TT".into(),
                    province: "Quảng Ngãi".into(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    answers.push((
        "ListOverdue",
        answer(tasks.list_overdue(pb::ListOverdueRequest::default()).await),
    ));
    answers.push((
        "GetScorecard",
        answer(
            tasks
                .get_scorecard(pb::GetScorecardRequest::default())
                .await,
        ),
    ));
    answers.push((
        "Replay",
        first_of_stream(audit.replay(pb::ReplayRequest::default()).await).await,
    ));
    answers.push((
        "Export",
        first_of_stream(audit.export(pb::ExportRequest::default()).await).await,
    ));
    answers.push((
        "Verify",
        answer(audit.verify(pb::VerifyRequest::default()).await),
    ));
    answers.push((
        "GetTaskAsOf",
        answer(
            audit
                .get_task_as_of(pb::GetTaskAsOfRequest {
                    task_id: task_id.into(),
                    as_of: String::new(),
                })
                .await,
        ),
    ));
    answers.push((
        "GetScorecardAsOf",
        answer(
            audit
                .get_scorecard_as_of(pb::GetScorecardAsOfRequest::default())
                .await,
        ),
    ));
    answers.push((
        "Watch",
        answer(audit.watch(pb::WatchRequest::default()).await),
    ));
    answers
}

/// The roles the table allows for `rpc`.
fn allowed(rpc: &str) -> &'static [&'static str] {
    match rpc {
        "ImportPlan" | "ExtendDeadline" | "RequestReport" => &["plan_owner", "operator"],
        "SubmitReport" => &["lead", "operator"],
        "RecordCoordination" => &["coordinator", "operator"],
        "AnswerRequest" => &["lead", "operator"],
        "Replay" | "Export" | "Verify" | "GetTaskAsOf" | "GetScorecardAsOf" | "Watch" => {
            &["auditor", "operator"]
        }
        _ => &[
            "plan_owner",
            "lead",
            "coordinator",
            "auditor",
            "viewer",
            "operator",
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_each_role_as_the_table_says() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut operator = dondoc.client().await;
    let imported = import_seed_004(&mut operator, "qng").await;
    let task_id = imported.task_ids[0].clone();
    // A request the lead is asked to answer (recorded by the operator).
    let request_key = operator
        .request_report(pb::RequestReportRequest {
            task_id: task_id.clone(),
            request_id: "setup-request".into(),
            kind: "ad_hoc".into(),
            agencies: vec!["Sở TT&TT".into()],
            due: "2027-02-01T00:00:00+07:00".into(),
            subject: "Báo cáo đột xuất".into(),
            requested_by: "UBND tỉnh Quảng Ngãi".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .request_key;

    let mut wrong = Vec::new();
    let (mut allowed_calls, mut denied_calls) = (0, 0);
    for (index, (role, subject)) in ROLES.into_iter().enumerate() {
        let connector = dondoc
            .connector()
            .with_token(Some(&token(&dondoc, role, subject)));
        let channel = connector.connect().await;
        let mut tasks = TaskServiceClient::new(channel.clone());
        let mut audit = AuditServiceClient::new(channel);
        let day = 10 + index as u32;
        for (rpc, got) in calls(role, &mut tasks, &mut audit, &task_id, &request_key, day).await {
            let may = allowed(rpc).contains(&role);
            match (&got, may) {
                (Ok(()), true) => allowed_calls += 1,
                (Err((Code::PermissionDenied, message)), false) => {
                    denied_calls += 1;
                    if !message.contains("role") {
                        wrong.push(format!("{rpc} as {role}: {message}"));
                    }
                }
                _ => wrong.push(format!("{rpc} as {role}: {got:?} (allowed: {may})")),
            }
        }
    }
    println!(
        "role matrix: {} calls, {allowed_calls} allowed, {denied_calls} denied",
        allowed_calls + denied_calls + wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "not as the table says:\n{}",
        wrong.join("\n")
    );

    // An agency acts only as itself, and only on tasks it takes part in.
    let lead = token(&dondoc, "lead", "quang-ngai-so-tttt");
    let mut as_lead =
        TaskServiceClient::new(dondoc.connector().with_token(Some(&lead)).connect().await);
    let status = as_lead
        .submit_report(pb::SubmitReportRequest {
            task_id: task_id.clone(),
            request_id: "as-someone-else".into(),
            agency: "Sở Y tế".into(),
            period: "2023-Q3".into(),
            content: "Báo cáo".into(),
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(status.message().contains("only as itself"), "{status}");
    // A task the Sở TT&TT does not lead, directly or through a group.
    let led: Vec<String> = operator
        .list_tasks(pb::ListTasksRequest {
            plan_id: "qng".into(),
            lead_agency: "Sở TT&TT".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tasks
        .into_iter()
        .map(|task| task.task_id)
        .collect();
    let not_its_task = imported
        .task_ids
        .iter()
        .find(|other| !led.contains(other))
        .expect("seed 004 has tasks the Sở TT&TT does not lead");
    let status = as_lead
        .submit_report(pb::SubmitReportRequest {
            task_id: not_its_task.clone(),
            request_id: "not-its-task".into(),
            agency: "Sở TT&TT".into(),
            period: "2023-Q3".into(),
            content: "Báo cáo".into(),
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(status.message().contains("not a lead"), "{status}");
    // The actor recorded is the token's subject, never a request field.
    let events = nats.event_json().await;
    let report = events
        .iter()
        .find(|event| event["request_id"] == "lead-report")
        .expect("the lead's report");
    assert_eq!(report["actor"], "quang-ngai-so-tttt");

    // Who grants an extension is the token's agency: named otherwise, refused; not
    // named, filled in.
    let owner = token(&dondoc, "plan_owner", "quang-ngai-ubnd-tinh");
    let mut as_owner =
        TaskServiceClient::new(dondoc.connector().with_token(Some(&owner)).connect().await);
    let extend = |request_id: &str, granted_by: &str| pb::ExtendDeadlineRequest {
        task_id: task_id.clone(),
        request_id: request_id.into(),
        period: "2023-Q4".into(),
        new_due: "2027-03-01T00:00:00+07:00".into(),
        reason: "Chờ số liệu".into(),
        granted_by: granted_by.into(),
        ..Default::default()
    };
    let status = as_owner
        .extend_deadline(extend("granted-by-another", "Sở Y tế"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(status.message().contains("only as itself"), "{status}");
    as_owner
        .extend_deadline(extend("granted-by-itself", ""))
        .await
        .expect("the owner extends in its own name");
    let events = nats.event_json().await;
    let granted = events
        .iter()
        .find(|event| event["request_id"] == "granted-by-itself")
        .expect("the extension");
    assert_eq!(granted["data"]["granted_by"], "Ủy ban nhân dân tỉnh");
    assert_eq!(granted["actor"], "quang-ngai-ubnd-tinh");
}
