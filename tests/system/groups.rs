//! Groups everywhere: an agency lists the tasks it has through a group ("Ủy ban nhân
//! dân cấp huyện" for a district's People's Committee) as well as those that name it,
//! each marked with the group, in plan and appendix order, paged.

use dondoc_api::pb;

use crate::support::{list_all, spawn_dondoc_with, TestNats};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_lists_the_tasks_its_group_leads_marked_with_the_group() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    // The three sample plans, no worker.
    let dondoc = spawn_dondoc_with(&nats.url(), data.path(), &["--no-worker"]);
    let mut client = dondoc.client().await;
    let last = nats.last_sequence().await;
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tasks(pb::ListTasksRequest {
                plan_id: "qti-dti-2023".into(),
                lead_agency: "Ủy ban nhân dân huyện Gio Linh".into(),
                page_size: 2,
                page_token: page_token.clone(),
                min_sequence: last,
                ..Default::default()
            })
            .await
            .expect("list by a group member")
            .into_inner();
        listed.extend(page.tasks);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        listed.len(),
        5,
        "Gio Linh leads 5 tasks of qti-dti-2023 through its group"
    );
    for task in &listed {
        assert_eq!(
            task.through_groups,
            ["Ủy ban nhân dân cấp huyện"],
            "{}",
            task.title
        );
    }
    // The same as the group's own list, in the same order.
    let group: Vec<String> = list_all(&mut client, "qti-dti-2023", last)
        .await
        .into_iter()
        .filter(|task| {
            task.lead_agencies
                .iter()
                .any(|lead| lead == "Ủy ban nhân dân cấp huyện")
        })
        .map(|task| task.task_id)
        .collect();
    let ids: Vec<String> = listed.iter().map(|task| task.task_id.clone()).collect();
    assert_eq!(ids, group);

    // An agency named directly is listed unmarked.
    let direct = client
        .list_tasks(pb::ListTasksRequest {
            plan_id: "qng-189-2022".into(),
            lead_agency: "Sở TT&TT".into(),
            min_sequence: last,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!direct.tasks.is_empty());
    assert!(direct
        .tasks
        .iter()
        .filter(|task| task
            .lead_agencies
            .iter()
            .any(|lead| lead == "Sở Thông tin và Truyền thông"))
        .all(|task| task.through_groups.is_empty()));

    // A page token of this list is refused by another kind of query.
    let status = client
        .list_tasks(pb::ListTasksRequest {
            plan_id: "qti-dti-2023".into(),
            page_token: "g:not-a-number".into(),
            lead_agency: "Ủy ban nhân dân huyện Gio Linh".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status}");
}
