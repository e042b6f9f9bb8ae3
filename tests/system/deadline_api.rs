//! The deadline API end to end: a real nats-server, a real `dondoc up` whose clock runs
//! from 2024-03-20 09:00 (Vietnam time), the Quảng Trị DTI plan (tasks recurring yearly
//! from 2023) and seed 004 (Quảng Ngãi, 2023 only) imported, and queries over gRPC.
//!
//! The Quảng Trị plan is imported with its rule read literally and without the
//! working-day rule (`LITERAL_POLICY`), so that its 2024-Q1 deadline is 00:00 on 25 March
//! 2024 (the presets' working-day rule moves it to the 26th: the 24th is a Sunday).

use std::time::Duration;

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::TaskServiceClient;
use tonic::Code;

use crate::support::{
    self, eventually, list_all, seed_004_text, spawn_dondoc_with, workspace_root, Dondoc, TestNats,
};

const PRETEND_NOW: &str = "2024-03-20T09:00:00+07:00";
const TTTT: &str = "Sở Thông tin và Truyền thông";
const QTI: &str = "qti-dti-2023";
const QNG: &str = "qng";
const Q1_DUE: &str = "2024-03-25T00:00:00+07:00";
const LITERAL_POLICY: &str = r#"{"name": "qti-literal", "quarterly_day": 25, "yearly": "12-20",
    "working_day_rule": false, "recipient": "Sở Thông tin và Truyền thông"}"#;

/// A running stack with both plans imported. Fields drop in order: dondoc first.
struct Stack {
    dondoc: Dondoc,
    client: TaskServiceClient<ApiChannel>,
    /// Stream sequence after the imports (for `min_sequence`).
    sequence: u64,
    _nats: TestNats,
    _data: tempfile::TempDir,
}

fn qti_text() -> String {
    let path = workspace_root().join("deploy/samples/qti-dti-2023.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

async fn start() -> Stack {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc_with(
        &nats.url(),
        data.path(),
        &["--no-sample", "--no-worker", "--pretend-now", PRETEND_NOW],
    );
    let mut client = dondoc.client().await;
    let qti = client
        .import_plan(pb::ImportPlanRequest {
            plan_id: QTI.into(),
            plan_year: 2023,
            source_name: "qti-dti-2023.txt".into(),
            content: qti_text(),
            request_id: "import-qti".into(),
            actor: "test".into(),
            province: "Quảng Trị".into(),
            policy_json: LITERAL_POLICY.into(),
            ..Default::default()
        })
        .await
        .expect("import the Quảng Trị plan")
        .into_inner();
    assert_eq!(qti.policy, "qti-literal");
    let qng = client
        .import_plan(pb::ImportPlanRequest {
            plan_id: QNG.into(),
            plan_year: 2023,
            source_name: "004.txt".into(),
            content: seed_004_text(),
            request_id: "import-qng".into(),
            actor: "test".into(),
            province: "Quảng Ngãi".into(),
            ..Default::default()
        })
        .await
        .expect("import seed 004")
        .into_inner();
    assert_eq!(qng.policy, "default", "Quảng Ngãi's preset");
    Stack {
        dondoc,
        client,
        sequence: qti.stream_sequence.max(qng.stream_sequence),
        _nats: nats,
        _data: data,
    }
}

impl Stack {
    /// Ids of the Quảng Trị tasks the Sở TT&TT leads by name, in appendix order.
    async fn tttt_tasks(&mut self) -> Vec<String> {
        list_all(&mut self.client, QTI, self.sequence)
            .await
            .into_iter()
            .filter(|task| task.lead_agencies.iter().any(|lead| lead == TTTT))
            .map(|task| task.task_id)
            .collect()
    }

    async fn upcoming(
        &mut self,
        agency: &str,
        within_days: u32,
    ) -> pb::ListUpcomingDeadlinesResponse {
        self.client
            .list_upcoming_deadlines(pb::ListUpcomingDeadlinesRequest {
                agency: agency.into(),
                // The tests follow Quảng Trị's department; Quảng Ngãi has one too.
                province: "Quảng Trị".into(),
                within_days,
                min_sequence: self.sequence,
                ..Default::default()
            })
            .await
            .expect("upcoming deadlines")
            .into_inner()
    }

    async fn obligations(&mut self, task_id: &str, as_of: &str) -> pb::ListObligationsResponse {
        self.client
            .list_obligations(pb::ListObligationsRequest {
                task_id: task_id.into(),
                as_of: as_of.into(),
                min_version: 0,
            })
            .await
            .expect("list obligations")
            .into_inner()
    }

    async fn scorecard(&mut self, request: pb::GetScorecardRequest) -> pb::GetScorecardResponse {
        self.client
            .get_scorecard(pb::GetScorecardRequest {
                min_sequence: self.sequence,
                ..request
            })
            .await
            .expect("scorecard")
            .into_inner()
    }

    /// The Sở TT&TT's scorecard row for `period` in the Quảng Trị plan as of `as_of`.
    async fn tttt_row(&mut self, period: &str, as_of: &str) -> pb::ScorecardRow {
        let card = self
            .scorecard(pb::GetScorecardRequest {
                agency: "Sở TT&TT".into(),
                plan_id: QTI.into(),
                period: period.into(),
                as_of: as_of.into(),
                ..Default::default()
            })
            .await;
        assert_eq!(card.rows.len(), 1, "{card:?}");
        assert_eq!(card.rows[0].agency, TTTT);
        assert_eq!(card.rows[0].period, period);
        card.rows[0].clone()
    }
}

fn assert_invalid(status: tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(&format!("invalid {field}")),
        "the message names {field}: {}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upcoming_deadlines_list_an_agencys_open_obligations_within_the_window() {
    let mut stack = start().await;
    let led = stack.tttt_tasks().await;
    assert!(led.len() >= 5, "the Sở TT&TT leads several tasks: {led:?}");

    let upcoming = stack.upcoming(TTTT, 10).await;
    assert_eq!(upcoming.agency, TTTT);
    assert!(
        upcoming.from.starts_with("2024-03-20T09:0"),
        "{}",
        upcoming.from
    );
    assert!(
        upcoming.to.starts_with("2024-03-30T09:0"),
        "{}",
        upcoming.to
    );
    for obligation in &upcoming.obligations {
        assert_eq!(obligation.agency, TTTT);
        assert_eq!(obligation.period, "2024-Q1", "{obligation:?}");
        assert_eq!(obligation.due, Q1_DUE);
        assert_eq!(obligation.original_due, Q1_DUE);
        assert_eq!(obligation.last_day_on_time, "2024-03-24");
        assert_eq!(obligation.status, "pending");
        assert_eq!(obligation.plan_id, QTI, "seed 004's tasks cover 2023 only");
    }
    let listed: Vec<&str> = upcoming
        .obligations
        .iter()
        .map(|obligation| obligation.task_id.as_str())
        .collect();
    for task_id in &led {
        assert!(
            listed.contains(&task_id.as_str()),
            "task {task_id} it leads"
        );
    }
    // Tasks led by "Sở, ban, ngành cấp tỉnh" reach it as a member of that group.
    let via_group: Vec<&pb::Obligation> = upcoming
        .obligations
        .iter()
        .filter(|obligation| obligation.via_group == "Sở, ban, ngành cấp tỉnh")
        .collect();
    assert!(!via_group.is_empty(), "{upcoming:?}");
    assert_eq!(upcoming.obligations.len(), led.len() + via_group.len());

    // The abbreviation finds the same; a shorter window finds nothing yet.
    let by_alias = stack.upcoming("Sở TT&TT", 10).await;
    assert_eq!(by_alias.obligations, upcoming.obligations);
    assert!(stack.upcoming(TTTT, 4).await.obligations.is_empty());
    // A group name lists its members' obligations too.
    let group = stack.upcoming("Sở, ban, ngành cấp tỉnh", 10).await;
    assert!(group
        .obligations
        .iter()
        .any(|obligation| obligation.agency == TTTT && !obligation.via_group.is_empty()));
    assert!(group
        .obligations
        .iter()
        .any(|obligation| obligation.agency == "Sở Y tế"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_by_plan_lists_the_past_periods() {
    let mut stack = start().await;
    let overdue = |plan_id: &str, agency: &str| pb::ListOverdueRequest {
        plan_id: plan_id.into(),
        agency: agency.into(),
        ..Default::default()
    };
    // Every page of a list, `page_size` obligations at a time (0: the default).
    async fn all_pages(
        client: &mut TaskServiceClient<ApiChannel>,
        mut request: pb::ListOverdueRequest,
        page_size: u32,
    ) -> pb::ListOverdueResponse {
        request.page_size = page_size;
        let mut all = client
            .list_overdue(request.clone())
            .await
            .unwrap()
            .into_inner();
        let mut pages = 1;
        while !all.next_page_token.is_empty() {
            assert!(
                all.obligations.len() >= page_size as usize * pages,
                "only the last page is short"
            );
            request.page_token = std::mem::take(&mut all.next_page_token);
            let next = client
                .list_overdue(request.clone())
                .await
                .unwrap()
                .into_inner();
            all.obligations.extend(next.obligations);
            all.next_page_token = next.next_page_token;
            pages += 1;
        }
        all
    }
    let client = &mut stack.client;
    let qti = all_pages(client, overdue(QTI, ""), 0).await;
    // Pages of 17 list the same, in the same order.
    let paged = all_pages(client, overdue(QTI, ""), 17).await;
    assert_eq!(paged.obligations, qti.obligations);
    assert!(qti.obligations.len() > 500, "more than one default page");
    assert!(qti.as_of.starts_with("2024-03-20T09:0"), "{}", qti.as_of);
    let mut periods: Vec<&str> = qti
        .obligations
        .iter()
        .map(|obligation| obligation.period.as_str())
        .collect();
    assert!(
        qti.obligations
            .windows(2)
            .all(|pair| pair[0].due <= pair[1].due),
        "oldest deadline first"
    );
    periods.dedup();
    assert_eq!(
        periods,
        ["2023-Q1", "2023-Q2", "2023-Q3", "2023", "2023-Q4"]
    );
    assert!(qti
        .obligations
        .iter()
        .all(|obligation| obligation.status == "overdue" && obligation.plan_id == QTI));

    // Seed 004's plan under the default preset: its 2023 periods, its own deadlines.
    let qng = all_pages(client, overdue(QNG, ""), 0).await;
    assert!(qng
        .obligations
        .iter()
        .all(|obligation| obligation.plan_id == QNG));
    let q2 = qng
        .obligations
        .iter()
        .find(|obligation| obligation.period == "2023-Q2")
        .expect("2023-Q2 is overdue");
    assert_eq!(q2.due, "2023-06-27T00:00:00+07:00", "moved past a weekend");

    // Without a plan: both; with an agency: only what it owes.
    let all = all_pages(client, overdue("", ""), 0).await;
    assert_eq!(
        all.obligations.len(),
        qti.obligations.len() + qng.obligations.len()
    );
    let tttt = all_pages(client, overdue(QTI, "Sở TT&TT"), 0).await;
    assert!(!tttt.obligations.is_empty());
    assert!(tttt.obligations.len() < qti.obligations.len());
    assert!(tttt
        .obligations
        .iter()
        .all(|obligation| obligation.agency == TTTT && obligation.plan_id == QTI));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_changes_the_scorecard_and_a_past_scorecard_differs() {
    let mut stack = start().await;
    let led = stack.tttt_tasks().await;
    let before = stack.tttt_row("2024-Q1", "").await;
    assert_eq!(before.reported_on_time, 0);
    assert!(before.pending > 0);
    assert_eq!(before.on_time_rate, None, "nothing settled yet");

    let report = stack
        .client
        .submit_report(pb::SubmitReportRequest {
            task_id: led[0].clone(),
            request_id: "report-q1".into(),
            agency: "Sở TT&TT".into(),
            period: "2024-Q1".into(),
            content: "Báo cáo quý I/2024".into(),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    stack.sequence = report.stream_sequence;
    let after = stack.tttt_row("2024-Q1", "").await;
    assert_eq!(after.reported_on_time, before.reported_on_time + 1);
    assert_eq!(after.pending, before.pending - 1);
    assert_eq!(after.total, before.total);
    assert_eq!(after.on_time_rate, Some(1.0));

    // As of an instant before the report, the report is not there yet.
    let earlier = stack.tttt_row("2024-Q1", "2024-03-20T08:00:00+07:00").await;
    assert_eq!(earlier.reported_on_time, 0);
    assert_eq!(earlier.pending, before.pending);
    // As of 1 December 2023, the fourth quarter and the year were still ahead.
    for period in ["2023-Q4", "2023"] {
        let then = stack.tttt_row(period, "2023-12-01T00:00:00+07:00").await;
        let now = stack.tttt_row(period, "").await;
        assert_eq!(then.overdue, 0, "{period}");
        assert_eq!(then.pending, now.overdue, "{period}");
        assert_eq!(now.pending, 0, "{period}");
        assert_eq!(now.on_time_rate, Some(0.0));
    }
    let year = stack
        .scorecard(pb::GetScorecardRequest {
            agency: TTTT.into(),
            plan_id: QTI.into(),
            year: 2024,
            ..Default::default()
        })
        .await;
    let periods: Vec<&str> = year.rows.iter().map(|row| row.period.as_str()).collect();
    assert_eq!(
        periods,
        ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2024"]
    );
    assert_eq!(year.totals.len(), 1);
    assert_eq!(year.totals[0].period, "");
    assert_eq!(year.totals[0].reported_on_time, 1);

    // Without an agency: every agency that owes something in the plan.
    let everyone = stack
        .scorecard(pb::GetScorecardRequest {
            plan_id: QTI.into(),
            period: "2024-Q1".into(),
            ..Default::default()
        })
        .await;
    assert!(everyone.rows.len() > 10, "{}", everyone.rows.len());
    assert!(everyone.rows.iter().any(|row| row.agency == "Sở Y tế"));
    assert!(everyone
        .rows
        .iter()
        .any(|row| row.agency == TTTT && row.reported_on_time == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extended_deadline_keeps_its_original_due() {
    let mut stack = start().await;
    let task_id = stack.tttt_tasks().await[0].clone();
    let extend = |request_id: &str, agency: &str, new_due: &str| pb::ExtendDeadlineRequest {
        task_id: task_id.clone(),
        request_id: request_id.into(),
        period: "2024-Q1".into(),
        agency: agency.into(),
        new_due: new_due.into(),
        reason: "Chờ số liệu của các huyện".into(),
        granted_by: "Ủy ban nhân dân tỉnh Quảng Trị".into(),
        ..Default::default()
    };
    let extended = stack
        .client
        .extend_deadline(extend("extend-1", "Sở TT&TT", "2024-04-10T00:00:00+07:00"))
        .await
        .unwrap()
        .into_inner();
    assert!(!extended.unchanged);
    let again = stack
        .client
        .extend_deadline(extend("extend-1", "Sở TT&TT", "2024-04-10T00:00:00+07:00"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.unchanged, "a retried request records nothing");
    assert_eq!(again.version, extended.version);

    let listed = stack
        .client
        .list_obligations(pb::ListObligationsRequest {
            task_id: task_id.clone(),
            as_of: String::new(),
            min_version: extended.version,
        })
        .await
        .unwrap()
        .into_inner();
    let q1 = listed
        .obligations
        .iter()
        .find(|obligation| obligation.period == "2024-Q1")
        .unwrap();
    assert_eq!(q1.status, "extended");
    assert_eq!(q1.original_due, Q1_DUE);
    assert_eq!(q1.due, "2024-04-10T00:00:00+07:00");
    let extension = q1.extension.as_ref().expect("the extension in force");
    assert_eq!(extension.reason, "Chờ số liệu của các huyện");
    assert_eq!(extension.granted_by, "Ủy ban nhân dân tỉnh Quảng Trị");
    assert_eq!(listed.task_status, "overdue", "the 2023 reports never came");
    // Before the extension was granted, the original deadline was in force.
    let before = stack
        .obligations(&task_id, "2024-03-20T08:00:00+07:00")
        .await;
    let q1_before = before
        .obligations
        .iter()
        .find(|obligation| obligation.period == "2024-Q1")
        .unwrap();
    assert_eq!(
        (q1_before.status.as_str(), q1_before.due.as_str()),
        ("pending", Q1_DUE)
    );

    // It leaves the 10-day window and shows further out, as extended.
    stack.sequence = extended.stream_sequence;
    let soon = stack.upcoming(TTTT, 10).await;
    assert!(!soon
        .obligations
        .iter()
        .any(|obligation| obligation.task_id == task_id));
    let later = stack.upcoming(TTTT, 30).await;
    let moved = later
        .obligations
        .iter()
        .find(|obligation| obligation.task_id == task_id && obligation.period == "2024-Q1")
        .unwrap();
    assert_eq!(moved.status, "extended");
    assert_eq!(moved.original_due, Q1_DUE);

    // Refusals: an agency that owes nothing, a period the task does not have, a new
    // deadline not later than the one in force, an unknown request.
    let status = stack
        .client
        .extend_deadline(extend("extend-2", "Sở Y tế", "2024-04-20T00:00:00+07:00"))
        .await
        .unwrap_err();
    assert_invalid(status, "agency");
    let status = stack
        .client
        .extend_deadline(pb::ExtendDeadlineRequest {
            period: "2022-Q1".into(),
            ..extend("extend-3", "", "2024-04-20T00:00:00+07:00")
        })
        .await
        .unwrap_err();
    assert_invalid(status, "period");
    let status = stack
        .client
        .extend_deadline(extend("extend-4", "Sở TT&TT", "2024-04-01T00:00:00+07:00"))
        .await
        .unwrap_err();
    assert_invalid(status, "new_due");
    let status = stack
        .client
        .extend_deadline(pb::ExtendDeadlineRequest {
            period: String::new(),
            request_key: "no-such-request".into(),
            ..extend("extend-5", "", "2024-04-20T00:00:00+07:00")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_requests_are_owed_answered_and_refused_when_misdirected() {
    let mut stack = start().await;
    let tasks = list_all(&mut stack.client, QTI, stack.sequence).await;
    // A task the Sở TT&TT leads with coordinating agencies listed by name.
    let task = tasks
        .iter()
        .find(|task| {
            task.lead_agencies.iter().any(|lead| lead == TTTT)
                && !task.coordinating_agencies.is_empty()
        })
        .expect("a task with coordinators")
        .clone();
    let request = |request_id: &str, kind: &str, from: &str, to: &str| pb::RequestReportRequest {
        task_id: task.task_id.clone(),
        request_id: request_id.into(),
        kind: kind.into(),
        requested_by: from.into(),
        agencies: vec![to.into()],
        due: "2024-03-28T00:00:00+07:00".into(),
        subject: "Báo cáo nhanh tình hình triển khai".into(),
        ..Default::default()
    };

    // Ad hoc, to the lead: the key is the request id.
    let asked = stack
        .client
        .request_report(request(
            "dot-xuat-1",
            "ad_hoc",
            "UBND tỉnh Quảng Trị",
            "Sở TT&TT",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(asked.request_key, "dot-xuat-1");
    assert!(!asked.unchanged);
    let again = stack
        .client
        .request_report(request(
            "dot-xuat-1",
            "ad_hoc",
            "UBND tỉnh Quảng Trị",
            "Sở TT&TT",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(again.unchanged);
    let status = stack
        .client
        .request_report(pb::RequestReportRequest {
            subject: "Another subject".into(),
            request_key: "dot-xuat-1".into(),
            ..request("dot-xuat-1b", "ad_hoc", "UBND tỉnh Quảng Trị", "Sở TT&TT")
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let listed = stack.obligations(&task.task_id, "").await;
    let owed = listed
        .obligations
        .iter()
        .find(|obligation| obligation.request_key == "dot-xuat-1")
        .expect("the request is owed");
    assert_eq!(owed.agency, TTTT);
    assert_eq!(owed.status, "pending");
    assert_eq!(owed.request_kind, "ad_hoc");
    assert_eq!(owed.due, "2024-03-28T00:00:00+07:00");
    stack.sequence = asked.stream_sequence;
    let upcoming = stack.upcoming(TTTT, 10).await;
    assert!(upcoming
        .obligations
        .iter()
        .any(|obligation| obligation.request_key == "dot-xuat-1"));

    // Answered on time.
    let answered = stack
        .client
        .answer_request(pb::AnswerRequestRequest {
            task_id: task.task_id.clone(),
            request_id: "answer-1".into(),
            request_key: "dot-xuat-1".into(),
            agency: "Sở TT&TT".into(),
            content: "Đã triển khai".into(),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    let listed = stack
        .client
        .list_obligations(pb::ListObligationsRequest {
            task_id: task.task_id.clone(),
            as_of: String::new(),
            min_version: answered.version,
        })
        .await
        .unwrap()
        .into_inner();
    let owed = listed
        .obligations
        .iter()
        .find(|obligation| obligation.request_key == "dot-xuat-1")
        .unwrap();
    assert_eq!(owed.status, "reported_on_time");
    assert!(!owed.reported_at.is_empty());

    // Coordination: from a lead to a coordinator works; from anyone else it does not.
    let coordinator = task.coordinating_agencies[0].clone();
    let coordination = stack
        .client
        .request_report(pb::RequestReportRequest {
            request_key: "phoi-hop-1".into(),
            ..request("phoi-hop-1-id", "coordination", "Sở TT&TT", &coordinator)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(coordination.request_key, "phoi-hop-1");
    stack.sequence = coordination.stream_sequence;
    let theirs = stack.upcoming(&coordinator, 10).await;
    assert!(
        theirs
            .obligations
            .iter()
            .any(|obligation| obligation.request_key == "phoi-hop-1"
                && obligation.request_kind == "coordination"),
        "{coordinator}: {theirs:?}"
    );
    let status = stack
        .client
        .request_report(request(
            "phoi-hop-2",
            "coordination",
            "Sở Y tế",
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_invalid(status, "requested_by");

    // Unknown request keys, and answers from agencies that were not asked.
    let answer = |request_key: &str, agency: &str| pb::AnswerRequestRequest {
        task_id: task.task_id.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        request_key: request_key.into(),
        agency: agency.into(),
        content: "Nội dung".into(),
        expected_version: None,
    };
    let status = stack
        .client
        .answer_request(answer("no-such-request", "Sở TT&TT"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = stack
        .client
        .answer_request(answer("dot-xuat-1", "Sở Y tế"))
        .await
        .unwrap_err();
    assert_invalid(status, "agency");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_instants_and_fields_are_invalid_arguments_naming_the_field() {
    let mut stack = start().await;
    let task_id = stack.tttt_tasks().await[0].clone();
    let upcoming = |from: &str, to: &str, within_days: u32| pb::ListUpcomingDeadlinesRequest {
        agency: TTTT.into(),
        from: from.into(),
        to: to.into(),
        within_days,
        province: "Quảng Trị".into(),
        ..Default::default()
    };
    let client = &mut stack.client;
    for (request, field) in [
        (upcoming("next week", "", 0), "from"),
        (upcoming("", "2024-13-01T00:00:00+07:00", 0), "to"),
        (
            upcoming("2024-03-20T00:00:00+07:00", "2024-03-19T00:00:00+07:00", 0),
            "to",
        ),
        (upcoming("", "2024-04-01T00:00:00+07:00", 5), "within_days"),
        (upcoming("", "", 100_000), "within_days"),
        (
            pb::ListUpcomingDeadlinesRequest {
                agency: String::new(),
                ..upcoming("", "", 0)
            },
            "agency",
        ),
    ] {
        assert_invalid(
            client.list_upcoming_deadlines(request).await.unwrap_err(),
            field,
        );
    }
    for (request, field) in [
        (
            pb::GetScorecardRequest {
                as_of: "yesterday".into(),
                ..Default::default()
            },
            "as_of",
        ),
        (
            pb::GetScorecardRequest {
                period: "2024-Q5".into(),
                ..Default::default()
            },
            "period",
        ),
        (
            pb::GetScorecardRequest {
                year: 1999,
                ..Default::default()
            },
            "year",
        ),
        (
            pb::GetScorecardRequest {
                plan_id: "Not A Plan".into(),
                ..Default::default()
            },
            "plan_id",
        ),
    ] {
        assert_invalid(client.get_scorecard(request).await.unwrap_err(), field);
    }
    let status = client
        .list_obligations(pb::ListObligationsRequest {
            task_id: task_id.clone(),
            as_of: "2024-03-20".into(),
            min_version: 0,
        })
        .await
        .unwrap_err();
    assert_invalid(status, "as_of");
    let status = client
        .list_obligations(pb::ListObligationsRequest {
            task_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let extend = pb::ExtendDeadlineRequest {
        task_id: task_id.clone(),
        request_id: "extend".into(),
        period: "2024-Q1".into(),
        new_due: "soon".into(),
        reason: "r".into(),
        granted_by: "g".into(),
        ..Default::default()
    };
    assert_invalid(
        client.extend_deadline(extend.clone()).await.unwrap_err(),
        "new_due",
    );
    assert_invalid(
        client
            .extend_deadline(pb::ExtendDeadlineRequest {
                period: String::new(),
                new_due: "2024-04-10T00:00:00+07:00".into(),
                ..extend
            })
            .await
            .unwrap_err(),
        "period",
    );
    let ask = pb::RequestReportRequest {
        task_id: task_id.clone(),
        request_id: "ask".into(),
        kind: "ad_hoc".into(),
        requested_by: "UBND tỉnh Quảng Trị".into(),
        agencies: vec![TTTT.into()],
        due: "tomorrow".into(),
        subject: "s".into(),
        ..Default::default()
    };
    assert_invalid(client.request_report(ask.clone()).await.unwrap_err(), "due");
    assert_invalid(
        client
            .request_report(pb::RequestReportRequest {
                kind: "urgent".into(),
                due: "2024-03-28T00:00:00+07:00".into(),
                ..ask.clone()
            })
            .await
            .unwrap_err(),
        "kind",
    );
    assert_invalid(
        client
            .request_report(pb::RequestReportRequest {
                due: "2024-03-01T00:00:00+07:00".into(),
                ..ask
            })
            .await
            .unwrap_err(),
        "due",
    );

    // Import policies: unknown presets and invalid policies record nothing.
    let import = |policy: &str, policy_json: &str| pb::ImportPlanRequest {
        plan_id: "policy-check".into(),
        plan_year: 2023,
        content: qti_text(),
        request_id: format!("import-{policy}-{}", policy_json.len()),
        province: "Quảng Trị".into(),
        policy: policy.into(),
        policy_json: policy_json.into(),
        ..Default::default()
    };
    for (request, field) in [
        (import("nope", ""), "policy"),
        (import("", "{"), "policy_json"),
        (import("default", LITERAL_POLICY), "policy_json"),
        (
            import("", &LITERAL_POLICY.replace("25", "31")),
            "policy_json.quarterly_day",
        ),
        (
            import("", &LITERAL_POLICY.replace("yearly", "yearIy")),
            "policy_json.yearIy",
        ),
    ] {
        assert_invalid(client.import_plan(request).await.unwrap_err(), field);
    }
    let ba_to = client
        .import_plan(import("ba-to", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ba_to.policy, "ba-to");
    let listed = stack.obligations(&ba_to.task_ids[0], "").await;
    let q1 = listed
        .obligations
        .iter()
        .find(|obligation| obligation.period == "2024-Q1")
        .unwrap();
    assert_eq!(
        q1.due, "2024-03-12T00:00:00+07:00",
        "before the 12th: Ba Tơ's rule"
    );
}

/// Runs the `dondoc` CLI against the stack; returns stdout, or panics with stderr.
fn cli(stack: &Stack, args: &[&str]) -> String {
    support::cli().with_server(&stack.dondoc).stdout(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_queries_and_commands_deadlines() {
    let mut stack = start().await;
    let task_id = stack.tttt_tasks().await[0].clone();

    let upcoming: serde_json::Value = serde_json::from_str(&cli(
        &stack,
        &[
            "upcoming",
            "--agency",
            "Sở TT&TT",
            "--province",
            "Quảng Trị",
            "--days",
            "10",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(upcoming["agency"], TTTT);
    let obligations = upcoming["obligations"].as_array().unwrap();
    assert!(!obligations.is_empty());
    assert!(obligations
        .iter()
        .all(|obligation| obligation["due"] == Q1_DUE && obligation["request_key"].is_null()));

    let table = cli(&stack, &["overdue", "--plan", QTI, "--agency", "Sở TT&TT"]);
    let header = table.lines().nth(1).unwrap();
    assert!(header.starts_with("DUE "), "{table}");
    assert!(table.contains("2023-Q1"), "{table}");

    cli(
        &stack,
        &[
            "extend",
            &task_id,
            "--period",
            "2024-Q1",
            "--agency",
            "Sở TT&TT",
            "--until",
            "2024-04-10T00:00:00+07:00",
            "--reason",
            "Chờ số liệu",
            "--by",
            "UBND tỉnh Quảng Trị",
        ],
    );
    let requested = cli(
        &stack,
        &[
            "request",
            &task_id,
            "--kind",
            "ad-hoc",
            "--from",
            "UBND tỉnh Quảng Trị",
            "--to",
            "Sở TT&TT",
            "--due",
            "2024-03-28T00:00:00+07:00",
            "--subject",
            "Báo cáo nhanh",
            "--key",
            "nhanh-1",
        ],
    );
    assert!(
        requested.starts_with("request nhanh-1 on task"),
        "{requested}"
    );
    cli(
        &stack,
        &[
            "answer",
            &task_id,
            "--request",
            "nhanh-1",
            "--agency",
            "Sở TT&TT",
            "--content",
            "Đã báo cáo",
        ],
    );
    // Commands answer once appended; the projection may take a moment to show them.
    let scorecard = eventually("the answer counted", Duration::from_secs(5), || async {
        let scorecard: serde_json::Value = serde_json::from_str(&cli(
            &stack,
            &[
                "scorecard",
                "--agency",
                "Sở TT&TT",
                "--plan",
                QTI,
                "--period",
                "2024-Q1",
                "--json",
            ],
        ))
        .unwrap();
        if scorecard["rows"][0]["reported_on_time"] == 1 {
            Ok(scorecard)
        } else {
            Err(scorecard.to_string())
        }
    })
    .await;
    let row = &scorecard["rows"][0];
    assert_eq!(row["period"], "2024-Q1");
    assert_eq!(
        row["reported_on_time"], 1,
        "the answer, counted under 2024-Q1"
    );
    assert_eq!(row["extended"], 1, "{scorecard}");
    assert_eq!(row["on_time_rate"], 1.0);
    assert_eq!(scorecard["totals"][0]["period"], serde_json::Value::Null);

    let past = cli(
        &stack,
        &[
            "scorecard",
            "--agency",
            "Sở TT&TT",
            "--plan",
            QTI,
            "--as-of",
            "2023-12-01T00:00:00+07:00",
        ],
    );
    assert!(
        past.starts_with("scorecard as of 2023-12-01T00:00:00+07:00"),
        "{past}"
    );
    assert!(past.contains("ON-TIME RATE"), "{past}");
}

#[test]
fn import_dry_run_honours_the_policy_flags() {
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.json");
    std::fs::write(&policy_file, LITERAL_POLICY).unwrap();
    let file = workspace_root().join("deploy/samples/qti-dti-2023.txt");
    let run = |extra: &[&str]| {
        let output = support::cli()
            .command(&["import", file.to_str().unwrap()])
            .args(["--plan", "qti", "--year", "2023", "--province", "Quảng Trị"])
            .args(["--dry-run", "--json"])
            .args(extra)
            .output()
            .expect("dondoc runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let policy_of = |stdout: &str| -> serde_json::Value {
        let preview: serde_json::Value = serde_json::from_str(stdout).unwrap();
        preview["reporting"]["policy"]["name"].clone()
    };
    let (ok, stdout, _) = run(&[]);
    assert!(ok);
    assert_eq!(policy_of(&stdout), "quang-tri", "the province's preset");
    let (ok, stdout, _) = run(&["--policy", "ba-to"]);
    assert!(ok);
    assert_eq!(policy_of(&stdout), "ba-to");
    let (ok, stdout, _) = run(&["--policy-file", policy_file.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(policy_of(&stdout), "qti-literal");
    let (ok, _, stderr) = run(&["--policy", "nope"]);
    assert!(!ok);
    assert!(stderr.contains("invalid policy"), "{stderr}");
    std::fs::write(&policy_file, LITERAL_POLICY.replace("25", "31")).unwrap();
    let (ok, _, stderr) = run(&["--policy-file", policy_file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("policy.json"), "{stderr}");
    assert!(stderr.contains("quarterly_day"), "{stderr}");
}
