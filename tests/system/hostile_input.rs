//! Inputs that cannot hurt: every string and instant field of every RPC (task and audit
//! services) fed
//! extreme values answers with a documented code and never reaches a panic; limits are
//! refused naming the field and the limit, before anything is recorded; a request id
//! names one request; periods are strict; control characters are refused.

use std::time::Duration;

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::TaskServiceClient;
use tonic::{Code, Status};

use crate::support::{import_seed_004, spawn_dondoc, Dondoc, TestNats};

/// The codes the README documents for the task and audit services.
const DOCUMENTED: [Code; 8] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::NotFound,
    Code::AlreadyExists,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::Unavailable,
    Code::OutOfRange,
];

/// Values no field should choke on.
fn extremes() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "x".repeat(1 << 20),
        "Sở Y tế\u{0}".into(),
        "\u{1b}[31mSở Y tế".into(),
        "Sở \u{202e}Y tế".into(),
        "9999-12-31T23:59:59Z".into(),
        "0000-01-01T00:00:00Z".into(),
        "-1".into(),
        "2023-q1".into(),
        "ự".repeat(100_000),
    ]
}

struct Fixture {
    _nats: TestNats,
    _data: tempfile::TempDir,
    dondoc: Dondoc,
    client: TaskServiceClient<ApiChannel>,
    task_id: String,
    nats_events: u64,
}

async fn start() -> Fixture {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let imported = import_seed_004(&mut client, "qng").await;
    let nats_events = nats.event_count().await;
    Fixture {
        _nats: nats,
        _data: data,
        dondoc,
        client,
        task_id: imported.task_ids[0].clone(),
        nats_events,
    }
}

/// The code of a call's answer.
fn code<T>(result: Result<tonic::Response<T>, Status>) -> (Code, String) {
    match result {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_values_in_every_field_get_documented_codes_and_no_panic() {
    let mut fixture = start().await;
    let task = fixture.task_id.clone();
    let mut answers: Vec<(String, Code, String)> = Vec::new();
    for (index, value) in extremes().into_iter().enumerate() {
        let v = || value.clone();
        let c = &mut fixture.client;
        let id = |rpc: &str, field: &str| format!("x-{rpc}-{field}-{index}");
        let mut seen = |rpc: &str, field: &str, (code, message): (Code, String)| {
            answers.push((format!("{rpc}.{field}"), code, message));
        };
        for field in [
            "plan_id",
            "source_name",
            "content",
            "province",
            "policy",
            "policy_json",
        ] {
            let mut request = pb::ImportPlanRequest {
                plan_id: "hostile".into(),
                plan_year: 2023,
                source_name: "x.txt".into(),
                content:
                    "TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n1\tViệc\tSở Y tế\t\n"
                        .into(),
                request_id: id("import", field),
                actor: "test".into(),
                ..Default::default()
            };
            match field {
                "plan_id" => request.plan_id = v(),
                "source_name" => request.source_name = v(),
                "content" => request.content = v(),
                "province" => request.province = v(),
                "policy" => request.policy = v(),
                _ => request.policy_json = v(),
            }
            seen("ImportPlan", field, code(c.import_plan(request).await));
        }
        seen(
            "GetTask",
            "task_id",
            code(
                c.get_task(pb::GetTaskRequest {
                    task_id: v(),
                    min_version: 0,
                })
                .await,
            ),
        );
        for field in [
            "plan_id",
            "lead_agency",
            "coordinating_agency",
            "page_token",
        ] {
            let mut request = pb::ListTasksRequest::default();
            match field {
                "plan_id" => request.plan_id = v(),
                "lead_agency" => request.lead_agency = v(),
                "coordinating_agency" => request.coordinating_agency = v(),
                _ => request.page_token = v(),
            }
            seen("ListTasks", field, code(c.list_tasks(request).await));
        }
        for field in ["task_id", "request_id", "agency", "period", "content"] {
            let mut request = pb::SubmitReportRequest {
                task_id: task.clone(),
                request_id: id("report", field),
                agency: "Sở TT&TT".into(),
                period: "2023-Q1".into(),
                content: "Báo cáo".into(),
                expected_version: None,
            };
            match field {
                "task_id" => request.task_id = v(),
                "request_id" => request.request_id = v(),
                "agency" => request.agency = v(),
                "period" => request.period = v(),
                _ => request.content = v(),
            }
            seen("SubmitReport", field, code(c.submit_report(request).await));
        }
        for field in ["agency", "note"] {
            let mut request = pb::RecordCoordinationRequest {
                task_id: task.clone(),
                request_id: id("coordinate", field),
                agency: "UBND cấp huyện".into(),
                note: "Đã phối hợp".into(),
                expected_version: None,
            };
            match field {
                "agency" => request.agency = v(),
                _ => request.note = v(),
            }
            seen(
                "RecordCoordination",
                field,
                code(c.record_coordination(request).await),
            );
        }
        for field in [
            "period",
            "request_key",
            "agency",
            "new_due",
            "reason",
            "granted_by",
        ] {
            let mut request = pb::ExtendDeadlineRequest {
                task_id: task.clone(),
                request_id: id("extend", field),
                period: "2023-Q2".into(),
                new_due: "2099-01-01T00:00:00+07:00".into(),
                reason: "Bão".into(),
                granted_by: "UBND tỉnh".into(),
                ..Default::default()
            };
            match field {
                "period" => request.period = v(),
                "request_key" => {
                    request.period = String::new();
                    request.request_key = v();
                }
                "agency" => request.agency = v(),
                "new_due" => request.new_due = v(),
                "reason" => request.reason = v(),
                _ => request.granted_by = v(),
            }
            seen(
                "ExtendDeadline",
                field,
                code(c.extend_deadline(request).await),
            );
        }
        for field in [
            "kind",
            "requested_by",
            "agencies",
            "due",
            "subject",
            "request_key",
        ] {
            let mut request = pb::RequestReportRequest {
                task_id: task.clone(),
                request_id: id("request", field),
                kind: "ad_hoc".into(),
                requested_by: "UBND tỉnh".into(),
                agencies: vec!["Sở TT&TT".into()],
                due: "2099-01-01T00:00:00+07:00".into(),
                subject: "Báo cáo nhanh".into(),
                ..Default::default()
            };
            match field {
                "kind" => request.kind = v(),
                "requested_by" => request.requested_by = v(),
                "agencies" => request.agencies = vec![v()],
                "due" => request.due = v(),
                "subject" => request.subject = v(),
                _ => request.request_key = v(),
            }
            seen(
                "RequestReport",
                field,
                code(c.request_report(request).await),
            );
        }
        for field in ["request_key", "agency", "content"] {
            let mut request = pb::AnswerRequestRequest {
                task_id: task.clone(),
                request_id: id("answer", field),
                request_key: "nhanh".into(),
                agency: "Sở TT&TT".into(),
                content: "Đã báo cáo".into(),
                expected_version: None,
            };
            match field {
                "request_key" => request.request_key = v(),
                "agency" => request.agency = v(),
                _ => request.content = v(),
            }
            seen(
                "AnswerRequest",
                field,
                code(c.answer_request(request).await),
            );
        }
        seen(
            "ListObligations",
            "as_of",
            code(
                c.list_obligations(pb::ListObligationsRequest {
                    task_id: task.clone(),
                    as_of: v(),
                    min_version: 0,
                })
                .await,
            ),
        );
        for field in ["agency", "from", "to"] {
            let mut request = pb::ListUpcomingDeadlinesRequest {
                agency: "Sở TT&TT".into(),
                ..Default::default()
            };
            match field {
                "agency" => request.agency = v(),
                "from" => request.from = v(),
                _ => request.to = v(),
            }
            seen(
                "ListUpcomingDeadlines",
                field,
                code(c.list_upcoming_deadlines(request).await),
            );
        }
        for field in ["plan_id", "agency"] {
            let mut request = pb::ListOverdueRequest::default();
            match field {
                "plan_id" => request.plan_id = v(),
                _ => request.agency = v(),
            }
            seen("ListOverdue", field, code(c.list_overdue(request).await));
        }
        for field in ["agency", "plan_id", "period", "as_of"] {
            let mut request = pb::GetScorecardRequest::default();
            match field {
                "agency" => request.agency = v(),
                "plan_id" => request.plan_id = v(),
                "period" => request.period = v(),
                _ => request.as_of = v(),
            }
            seen("GetScorecard", field, code(c.get_scorecard(request).await));
        }
    }
    // The audit service, with the same values.
    let mut audit = fixture.dondoc.audit_client().await;
    for (index, value) in extremes().into_iter().enumerate() {
        let v = || value.clone();
        for field in ["plan_id", "task_id", "agency", "from_time", "to_time"] {
            let mut request = pb::ReplayRequest::default();
            match field {
                "plan_id" => request.plan_id = v(),
                "task_id" => request.task_id = v(),
                "agency" => request.agency = v(),
                "from_time" => request.from_time = v(),
                _ => request.to_time = v(),
            }
            // A stream: its first item (or its refusal) is the answer.
            let answer = match audit.replay(request).await {
                Err(status) => (status.code(), status.message().to_owned()),
                Ok(response) => {
                    let mut events = response.into_inner();
                    match tokio::time::timeout(Duration::from_secs(30), events.message()).await {
                        Ok(Ok(_)) => (Code::Ok, String::new()),
                        Ok(Err(status)) => (status.code(), status.message().to_owned()),
                        Err(_) => panic!("Replay.{field} #{index}: no answer"),
                    }
                }
            };
            answers.push((format!("Replay.{field}"), answer.0, answer.1));
        }
        for field in ["plan_id", "task_id"] {
            let mut request = pb::WatchRequest::default();
            match field {
                "plan_id" => request.plan_id = v(),
                _ => request.task_id = v(),
            }
            // A watch never ends: the answer to the call itself is what counts.
            let (code, message) = match audit.watch(request).await {
                Ok(_) => (Code::Ok, String::new()),
                Err(status) => (status.code(), status.message().to_owned()),
            };
            answers.push((format!("Watch.{field}"), code, message));
        }
        for field in ["task_id", "as_of"] {
            let mut request = pb::GetTaskAsOfRequest {
                task_id: task.clone(),
                as_of: String::new(),
            };
            match field {
                "task_id" => request.task_id = v(),
                _ => request.as_of = v(),
            }
            let (code, message) = code(audit.get_task_as_of(request).await);
            answers.push((format!("GetTaskAsOf.{field}"), code, message));
        }
        for field in ["agency", "plan_id", "period", "as_of"] {
            let mut request = pb::GetScorecardAsOfRequest::default();
            match field {
                "agency" => request.agency = v(),
                "plan_id" => request.plan_id = v(),
                "period" => request.period = v(),
                _ => request.as_of = v(),
            }
            let (code, message) = code(audit.get_scorecard_as_of(request).await);
            answers.push((format!("GetScorecardAsOf.{field}"), code, message));
        }
        let (code, message) = code(audit.verify(pb::VerifyRequest { plan_id: v() }).await);
        answers.push(("Verify.plan_id".to_owned(), code, message));
        // A stream: its first record (or its refusal) is the answer.
        let answer = match audit.export(pb::ExportRequest { plan_id: v() }).await {
            Err(status) => (status.code(), status.message().to_owned()),
            Ok(response) => {
                let mut records = response.into_inner();
                match tokio::time::timeout(Duration::from_secs(30), records.message()).await {
                    Ok(Ok(_)) => (Code::Ok, String::new()),
                    Ok(Err(status)) => (status.code(), status.message().to_owned()),
                    Err(_) => panic!("Export.plan_id #{index}: no answer"),
                }
            }
        };
        answers.push(("Export.plan_id".to_owned(), answer.0, answer.1));
    }
    let undocumented: Vec<&(String, Code, String)> = answers
        .iter()
        .filter(|(_, code, _)| !DOCUMENTED.contains(code))
        .collect();
    assert!(
        undocumented.is_empty(),
        "undocumented codes: {undocumented:?}"
    );
    let long: Vec<(&str, usize)> = answers
        .iter()
        .filter(|(_, _, message)| message.len() > 1000)
        .map(|(field, _, message)| (field.as_str(), message.len()))
        .collect();
    assert!(long.is_empty(), "errors repeating their input: {long:?}");
    // Every refusal of a value that cannot be right names its field.
    for (field, code, message) in &answers {
        if *code == Code::InvalidArgument && field.ends_with(".period") {
            assert!(message.contains("period"), "{field}: {message}");
        }
    }
    assert!(
        answers.len() > 400,
        "{} calls: the table above covers every field",
        answers.len()
    );
    // Still serving, and nothing but the one task's accepted commands was recorded.
    let task = fixture
        .client
        .get_task(pb::GetTaskRequest {
            task_id: fixture.task_id.clone(),
            min_version: 0,
        })
        .await
        .expect("the server still answers")
        .into_inner()
        .task
        .unwrap();
    assert!(task.version >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_periods_and_control_characters_are_refused_naming_the_field() {
    let mut fixture = start().await;
    let task = fixture.task_id.clone();
    let report =
        |request_id: &str, period: &str, agency: &str, content: &str| pb::SubmitReportRequest {
            task_id: task.clone(),
            request_id: request_id.into(),
            agency: agency.into(),
            period: period.into(),
            content: content.into(),
            expected_version: None,
        };
    let refused = |result: Result<tonic::Response<pb::CommandResponse>, Status>| {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        status.message().to_owned()
    };
    for period in ["2023-q1", "2023-Q1 ", " 2023", "+2023", "2023-Q01"] {
        let message = refused(
            fixture
                .client
                .submit_report(report("p", period, "Sở TT&TT", "Báo cáo"))
                .await,
        );
        assert!(message.contains("invalid period"), "{period:?}: {message}");
    }
    for (agency, content, field) in [
        ("Sở TT&TT\u{0}", "Báo cáo", "agency"),
        ("Sở \u{1b}[2JTT&TT", "Báo cáo", "agency"),
        ("Sở TT&TT", "Báo \u{202e}cáo", "content"),
        ("Sở TT&TT", "Báo cáo\u{7}", "content"),
    ] {
        let message = refused(
            fixture
                .client
                .submit_report(report("c", "2023-Q1", agency, content))
                .await,
        );
        assert!(message.contains(&format!("invalid {field}")), "{message}");
    }
    let message = refused(
        fixture
            .client
            .record_coordination(pb::RecordCoordinationRequest {
                task_id: task.clone(),
                request_id: "big-note".into(),
                agency: "UBND cấp huyện".into(),
                note: "x".repeat(1_000_000),
                expected_version: None,
            })
            .await,
    );
    assert!(
        message.contains("invalid note") && message.contains("limit of 20000"),
        "{message}"
    );
    // Larger than any request the server reads: refused before it is decoded.
    let status = fixture
        .client
        .record_coordination(pb::RecordCoordinationRequest {
            task_id: task.clone(),
            request_id: "huge".into(),
            agency: "UBND cấp huyện".into(),
            note: "x".repeat(6 << 20),
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(
        fixture._nats.event_count().await,
        fixture.nats_events,
        "nothing refused was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_names_one_request() {
    let mut fixture = start().await;
    let submit = |content: &str| pb::SubmitReportRequest {
        task_id: fixture.task_id.clone(),
        request_id: "sotttt-2023-q1".into(),
        agency: "Sở TT&TT".into(),
        period: "2023-Q1".into(),
        content: content.into(),
        expected_version: None,
    };
    let first = fixture
        .client
        .submit_report(submit("Đã tổ chức"))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.unchanged);
    // Another command in between moves the task's last sequence on.
    fixture
        .client
        .record_coordination(pb::RecordCoordinationRequest {
            task_id: fixture.task_id.clone(),
            request_id: "note-1".into(),
            agency: "UBND cấp huyện".into(),
            note: "Đã phối hợp".into(),
            expected_version: None,
        })
        .await
        .unwrap();
    let again = fixture
        .client
        .submit_report(submit("Đã tổ chức"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.unchanged);
    assert_eq!(
        (again.version, again.stream_sequence),
        (first.version, first.stream_sequence),
        "the first outcome, with its own event's sequence"
    );
    let status = fixture
        .client
        .submit_report(submit("Nội dung khác"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains("request_id"), "{status:?}");
    let task = tokio::time::timeout(
        Duration::from_secs(10),
        fixture.client.get_task(pb::GetTaskRequest {
            task_id: fixture.task_id.clone(),
            min_version: first.version + 1,
        }),
    )
    .await
    .unwrap()
    .unwrap()
    .into_inner()
    .task
    .unwrap();
    assert_eq!(task.reports.len(), 1);
    assert_eq!(
        task.reports[0].content, "Đã tổ chức",
        "the new content was not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_message_on_the_log_is_quarantined_and_everything_goes_on() {
    let mut fixture = start().await;
    let (a, b) = {
        // Once the import has taken effect (its commit record applied).
        let imported = fixture._nats.last_sequence().await;
        let tasks = crate::support::list_all(&mut fixture.client, "qng", imported).await;
        (tasks[0].task_id.clone(), tasks[1].task_id.clone())
    };
    // Garbage on A's subject, and A's first event copied onto B's subject, published
    // straight to the stream as another local process could.
    let jetstream = fixture._nats.jetstream().await;
    let first_of_a = {
        let stream = jetstream.get_stream("DONDOC_EVENTS").await.unwrap();
        stream
            .get_last_raw_message_by_subject(&format!("dondoc.events.task.qng.{a}"))
            .await
            .unwrap()
            .payload
    };
    for (subject, payload) in [
        (format!("dondoc.events.task.qng.{a}"), "not an event".into()),
        (format!("dondoc.events.task.qng.{b}"), first_of_a),
    ] {
        jetstream
            .publish(subject, payload)
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // Both tasks stay usable, and the projection goes on past the foreign messages.
    let mut versions = Vec::new();
    for task_id in [&a, &b] {
        let done = fixture
            .client
            .submit_report(pb::SubmitReportRequest {
                task_id: task_id.clone(),
                request_id: format!("after-{task_id}"),
                agency: "Sở TT&TT".into(),
                period: "2023-Q1".into(),
                content: "Đã báo cáo".into(),
                expected_version: None,
            })
            .await
            .expect("a command on a task with a foreign message succeeds")
            .into_inner();
        assert_eq!(
            done.version, 2,
            "the foreign message is not one of its events"
        );
        versions.push(done);
    }
    let last = fixture._nats.last_sequence().await;
    let listed = tokio::time::timeout(
        Duration::from_secs(10),
        crate::support::list_all(&mut fixture.client, "qng", last),
    )
    .await
    .expect("the projection reaches the end of the log");
    assert_eq!(listed.len(), 76);
    for task in listed
        .iter()
        .filter(|task| task.task_id == a || task.task_id == b)
    {
        assert_eq!(task.version, 2);
        assert_eq!(task.reports.len(), 1);
    }
    // The auditors' verification names the first foreign message.
    let output = crate::support::cli()
        .with_server(&fixture.dondoc)
        .output(&["audit", "verify"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a readable event"), "{stderr}");
    // A projection rebuilt from the stream quarantines the same messages.
    assert!(fixture.dondoc.terminate());
    let compared = crate::support::cli().output(&[
        "audit",
        "compare",
        "--data-dir",
        fixture._data.path().to_str().unwrap(),
        "--nats",
        &fixture._nats.url(),
    ]);
    assert!(
        compared.status.success(),
        "{}",
        String::from_utf8_lossy(&compared.stderr)
    );
    let table = String::from_utf8_lossy(&compared.stdout);
    assert!(table.contains("quarantine"), "{table}");
}
