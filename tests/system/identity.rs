//! Who is who: agencies are counted, listed and authorized by directory id, so one
//! name in two provinces ("Sở Thông tin và Truyền thông" of Quảng Trị and of Quảng
//! Ngãi) is two agencies. With the three sample plans loaded (one of Quảng Ngãi, two
//! of Quảng Trị), over TLS.

use dondoc_api::client::ApiChannel;
use dondoc_api::pb;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use tonic::Code;

use crate::support::{issue_token as token, spawn_dondoc_with, Dondoc, TestNats};

const QT: &str = "quang-tri-so-tttt";
const QN: &str = "quang-ngai-so-tttt";
const NAME: &str = "Sở Thông tin và Truyền thông";

fn scorecard(
    agency: &str,
    province: &str,
    plan_id: &str,
    min_sequence: u64,
) -> pb::GetScorecardRequest {
    pb::GetScorecardRequest {
        agency: agency.into(),
        province: province.into(),
        plan_id: plan_id.into(),
        period: "2023-Q4".into(),
        min_sequence,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_in_two_provinces_is_two_agencies_counted_apart() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    // The three sample plans, no worker.
    let dondoc = spawn_dondoc_with(&nats.url(), data.path(), &["--no-worker"]);
    let mut client = dondoc.client().await;
    let last = nats.last_sequence().await;

    // By id: each province's own obligations.
    let mut totals = Vec::new();
    for id in [QT, QN] {
        let card = client
            .get_scorecard(scorecard(id, "", "", last))
            .await
            .unwrap_or_else(|status| panic!("scorecard of {id}: {status:?}"))
            .into_inner();
        assert_eq!(card.totals.len(), 1, "{id}: {:?}", card.totals);
        let total = &card.totals[0];
        assert_eq!(
            (total.agency_id.as_str(), total.agency.as_str()),
            (id, NAME)
        );
        totals.push(total.total);
    }
    println!(
        "2023-Q4 obligations: {QT} {}, {QN} {}",
        totals[0], totals[1]
    );
    assert_eq!(
        totals,
        [10, 59],
        "Quảng Trị's 10 and Quảng Ngãi's 59, never 69"
    );

    // By name: in a province, or in the province of the plan asked about, the same.
    let by_province = client
        .get_scorecard(scorecard("Sở TT&TT", "Quảng Trị", "", last))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_province.totals[0].agency_id, QT);
    assert_eq!(by_province.totals[0].total, 10);
    let by_plan = client
        .get_scorecard(scorecard(NAME, "", "qng-189-2022", last))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_plan.totals[0].agency_id, QN);
    assert_eq!(by_plan.totals[0].total, 59);

    // By name alone: ambiguous, refused with the candidates.
    let refused = client
        .get_scorecard(scorecard(NAME, "", "", last))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    for candidate in [
        "quang-ngai-so-tttt (Quảng Ngãi)",
        "quang-tri-so-tttt (Quảng Trị)",
    ] {
        assert!(
            refused.message().contains(candidate),
            "{}",
            refused.message()
        );
    }
    let wrong_province = client
        .get_scorecard(scorecard(QT, "Quảng Ngãi", "", last))
        .await
        .unwrap_err();
    assert_eq!(wrong_province.code(), Code::InvalidArgument);

    // The whole scorecard: two rows under one name, with two ids.
    let all = client
        .get_scorecard(scorecard("", "", "", last))
        .await
        .unwrap()
        .into_inner();
    let mut named: Vec<(String, u32)> = all
        .totals
        .iter()
        .filter(|row| row.agency == NAME)
        .map(|row| (row.agency_id.clone(), row.total))
        .collect();
    named.sort();
    assert_eq!(named, [(QN.to_owned(), 59), (QT.to_owned(), 10)]);

    // Lists: only the province's own tasks and obligations, each with its ids.
    let tasks = client
        .list_tasks(pb::ListTasksRequest {
            lead_agency: QT.into(),
            page_size: 500,
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert!(!tasks.is_empty());
    for task in &tasks {
        assert!(
            task.plan_id.starts_with("qti-"),
            "{}: {}",
            task.plan_id,
            task.title
        );
        // It leads by name, or through a group of Quảng Trị that lists it.
        let by_name = task
            .leads
            .iter()
            .any(|lead| lead.id == QT && lead.name == NAME);
        let through_group = !task.through_groups.is_empty()
            && task
                .leads
                .iter()
                .all(|lead| lead.id.starts_with("quang-tri-"));
        assert!(
            by_name || through_group,
            "{:?} {:?}",
            task.leads,
            task.through_groups
        );
    }
    let overdue = client
        .list_overdue(pb::ListOverdueRequest {
            agency: QN.into(),
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .obligations;
    assert!(!overdue.is_empty());
    assert!(overdue
        .iter()
        .all(|obligation| obligation.plan_id == "qng-189-2022" && obligation.agency_id == QN));

    // Acting: Quảng Ngãi's department cannot report on Quảng Trị's task, though the
    // names are the same.
    let issue = |subject: &str| token(&dondoc, subject, "lead", None);
    let qt_task = tasks
        .iter()
        .find(|task| task.plan_id == "qti-dti-2023" && task.through_groups.is_empty())
        .expect("Quảng Trị's department leads tasks of qti-dti-2023");
    let report = |request_id: &str| pb::SubmitReportRequest {
        task_id: qt_task.task_id.clone(),
        request_id: request_id.into(),
        agency: NAME.into(),
        period: "2023".into(),
        content: "Báo cáo năm 2023".into(),
        ..Default::default()
    };
    let foreign = dondoc
        .connector()
        .with_token(Some(&issue(QN)))
        .connect()
        .await;
    let denied = TaskServiceClient::new(foreign)
        .submit_report(report("foreign"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains(QN), "{}", denied.message());
    let own = dondoc
        .connector()
        .with_token(Some(&issue(QT)))
        .connect()
        .await;
    TaskServiceClient::new(own)
        .submit_report(pb::SubmitReportRequest {
            agency: QT.into(),
            ..report("own")
        })
        .await
        .expect("Quảng Trị's department reports on its own task, by its id");
    let task = client
        .get_task(pb::GetTaskRequest {
            task_id: qt_task.task_id.clone(),
            min_version: qt_task.version + 1,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    let report = task
        .reports
        .iter()
        .find(|report| report.period == "2023")
        .unwrap();
    assert_eq!(
        (report.agency.as_str(), report.agency_id.as_str()),
        (NAME, QT)
    );
}

async fn channel(dondoc: &Dondoc, token: &str) -> ApiChannel {
    dondoc.connector().with_token(Some(token)).connect().await
}

async fn plans_listed(tasks: &mut TaskServiceClient<ApiChannel>, last: u64) -> Vec<String> {
    let mut plans: Vec<String> = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = tasks
            .list_tasks(pb::ListTasksRequest {
                page_size: 500,
                page_token: page_token.clone(),
                min_sequence: last,
                ..Default::default()
            })
            .await
            .expect("list tasks")
            .into_inner();
        for task in page.tasks {
            if !plans.contains(&task.plan_id) {
                plans.push(task.plan_id);
            }
        }
        if page.next_page_token.is_empty() {
            return plans;
        }
        page_token = page.next_page_token;
    }
}

/// Reads are scoped: an agency reads the plans it takes part in, a viewer or an auditor
/// the plans its token names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_reads_the_plans_it_may() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc_with(&nats.url(), data.path(), &["--no-worker"]);
    let mut operator = dondoc.client().await;
    let last = nats.last_sequence().await;
    let all = plans_listed(&mut operator, last).await;
    assert_eq!(all, ["qng-189-2022", "qti-dti-2023", "qti-viettel-2025"]);
    let qng_task = operator
        .list_tasks(pb::ListTasksRequest {
            plan_id: "qng-189-2022".into(),
            page_size: 1,
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tasks
        .remove(0);

    // Quảng Trị's department: its province's plans, not Quảng Ngãi's.
    let mut lead =
        TaskServiceClient::new(channel(&dondoc, &token(&dondoc, QT, "lead", None)).await);
    let own = plans_listed(&mut lead, last).await;
    assert!(
        !own.is_empty() && own.iter().all(|plan| plan.starts_with("qti-")),
        "{own:?}"
    );
    let denied = lead
        .get_task(pb::GetTaskRequest {
            task_id: qng_task.task_id.clone(),
            min_version: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("qng-189-2022"),
        "{}",
        denied.message()
    );
    let card = lead
        .get_scorecard(pb::GetScorecardRequest {
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!card.totals.is_empty());
    assert!(
        card.totals
            .iter()
            .all(|row| !row.agency_id.starts_with("quang-ngai-")),
        "Quảng Ngãi's agencies are not in Quảng Trị's plans"
    );

    // A viewer whose token names one plan.
    let viewer = token(&dondoc, "lanh-dao-tinh", "viewer", Some("qng-189-2022"));
    let mut viewer = TaskServiceClient::new(channel(&dondoc, &viewer).await);
    assert_eq!(plans_listed(&mut viewer, last).await, ["qng-189-2022"]);
    let overdue = viewer
        .list_overdue(pb::ListOverdueRequest {
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .obligations;
    assert!(overdue
        .iter()
        .all(|obligation| obligation.plan_id == "qng-189-2022"));

    // An auditor whose token names one plan: its events only, its verification only.
    let auditor = token(&dondoc, "kiem-toan", "auditor", Some("qti-dti-2023"));
    let mut audit = AuditServiceClient::new(channel(&dondoc, &auditor).await);
    let mut stream = audit
        .replay(pb::ReplayRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut seen = 0;
    while let Some(event) = stream.message().await.unwrap() {
        assert_eq!(event.plan_id, "qti-dti-2023");
        seen += 1;
    }
    assert!(seen > 0);
    let whole_log = audit
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap_err();
    assert_eq!(whole_log.code(), Code::PermissionDenied, "{whole_log:?}");
    audit
        .verify(pb::VerifyRequest {
            plan_id: "qti-dti-2023".into(),
        })
        .await
        .expect("its own plan's verification");
}
