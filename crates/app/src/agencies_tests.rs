//! Tests of the directory facade: ids per province, upcasting of name-only tasks,
//! request targets and their refusals, groups, unlisted ids.

use dondoc_domain::{
    AppendixRowRef, EventEnvelope, PlanReporting, ReportingPolicy, RequestId, TaskAssigned,
    TaskEvent, TaskId, Timeframe,
};
use time::macros::datetime;

use super::*;

fn agencies() -> Agencies {
    Agencies::new(dondoc_agencies::shipped().unwrap())
}

fn name(text: &str) -> AgencyName {
    AgencyName::parse(text).unwrap()
}

fn plan(id: &str) -> PlanId {
    PlanId::parse(id).unwrap()
}

/// A task of `province` leading with `lead`, assigned the way events before ids were:
/// names only.
fn name_only_task(province: Option<&str>, lead: &str) -> TaskState {
    let assigned = TaskAssigned {
        plan_year: 2023,
        title: "Nhiệm vụ".to_owned(),
        content: None,
        lead: vec![name(lead)],
        coordinators: vec![name("UBND cấp huyện")],
        timeframe: Timeframe::parse(Some("2023"), 2023),
        source: AppendixRowRef {
            source_name: "t.csv".to_owned(),
            line: 2,
            position: 0,
            row_number: "1".to_owned(),
            occurrence: 1,
            section_number: None,
            section_title: None,
            lead_text: lead.to_owned(),
            coordinators_text: "UBND cấp huyện".to_owned(),
        },
        extra: Vec::new(),
        reporting: Some(PlanReporting {
            policy: ReportingPolicy::preset("default").unwrap().into_spec(),
            province: province.map(str::to_owned),
        }),
        agency_ids: Vec::new(),
    };
    let envelope = EventEnvelope::new(
        uuid::Uuid::from_u128(1),
        TaskId::for_appendix_row(&plan("p"), None, "1", 1),
        plan("p"),
        1,
        datetime!(2023-01-02 08:00 +07:00),
        "test".to_owned(),
        RequestId::parse("req-1").unwrap(),
        TaskEvent::TaskAssigned(assigned),
    );
    dondoc_domain::replay([&envelope])
}

#[test]
fn one_name_two_provinces_two_agencies() {
    let agencies = agencies();
    let qt = name_only_task(Some("Quảng Trị"), "Sở TT&TT");
    let qn = name_only_task(Some("Quảng Ngãi"), "Sở TT&TT");
    let p = plan("p");
    assert_eq!(
        agencies.identify(&qt, &p, &name("Sở TT&TT")).id.as_str(),
        "quang-tri-so-tttt"
    );
    assert_eq!(
        agencies
            .identify(&qn, &p, &name("Sở Thông tin và Truyền thông"))
            .id
            .as_str(),
        "quang-ngai-so-tttt"
    );
}

#[test]
fn a_recorded_id_wins_over_the_directory() {
    let agencies = agencies();
    let mut task = name_only_task(Some("Quảng Trị"), "Sở TT&TT");
    let details = &mut task.assignment.as_mut().unwrap().details;
    details.agency_ids = vec![AgencyIdentity {
        name: name("Sở TT&TT"),
        id: AgencyId::parse("quang-tri-so-tttt-cu").unwrap(),
    }];
    assert_eq!(
        agencies
            .identify(&task, &plan("p"), &name("sở tt&tt"))
            .id
            .as_str(),
        "quang-tri-so-tttt-cu"
    );
}

#[test]
fn unknown_names_get_plan_scoped_stable_ids() {
    let agencies = agencies();
    let task = name_only_task(Some("Quảng Trị"), "Công ty Giả Mạo");
    let first = agencies.identify(&task, &plan("a"), &name("Công ty Giả Mạo"));
    assert!(first.is_unlisted(), "{first:?}");
    assert_eq!(
        first,
        AgencyRef {
            name: name("Công ty Giả Mạo"),
            ..agencies.identify(&task, &plan("a"), &name("công ty giả mạo"))
        },
        "the same name in the same plan, the same id"
    );
    assert_ne!(
        first.id,
        agencies
            .identify(&task, &plan("b"), &name("Công ty Giả Mạo"))
            .id,
        "another plan, another id"
    );
}

#[test]
fn a_task_without_a_province_resolves_only_unambiguous_names() {
    let agencies = agencies();
    let task = name_only_task(None, "Sở TT&TT");
    assert!(agencies
        .identify(&task, &plan("p"), &name("Sở TT&TT"))
        .is_unlisted());
    assert_eq!(
        agencies
            .identify(&task, &plan("p"), &name("Ủy ban nhân dân huyện Gio Linh"))
            .id
            .as_str(),
        "quang-tri-ubnd-huyen-gio-linh"
    );
}

#[test]
fn assignments_record_their_agencies_and_group_members() {
    let agencies = agencies();
    let names = [name("Sở Thông tin và Truyền thông"), name("UBND cấp huyện")];
    let identities = agencies.assignment_identities(Some("Quảng Trị"), &plan("p"), &names);
    let ids: Vec<&str> = identities
        .iter()
        .map(|identity| identity.id.as_str())
        .collect();
    assert_eq!(ids[0], "quang-tri-so-tttt");
    assert!(ids.contains(&"quang-tri-ubnd-huyen-gio-linh"), "{ids:?}");
    assert_eq!(ids.len(), 2 + 10, "the group and its 10 districts: {ids:?}");
}

#[test]
fn targets_take_ids_names_and_provinces_and_refuse_ambiguity() {
    let agencies = agencies();
    let by_id = agencies
        .target("agency", "quang-tri-so-tttt", None)
        .unwrap();
    assert_eq!(by_id.id.as_ref().unwrap().as_str(), "quang-tri-so-tttt");
    assert_eq!(by_id.display(), "Sở Thông tin và Truyền thông");
    let by_name = agencies
        .target("agency", "Sở TT&TT", Some("Quảng Ngãi"))
        .unwrap();
    assert_eq!(by_name.id.unwrap().as_str(), "quang-ngai-so-tttt");
    let ambiguous = agencies.target("agency", "Sở TT&TT", None).unwrap_err();
    assert_eq!(ambiguous.field, "agency");
    assert!(
        ambiguous
            .message
            .contains("quang-ngai-so-tttt (Quảng Ngãi)")
            && ambiguous.message.contains("quang-tri-so-tttt (Quảng Trị)"),
        "{}",
        ambiguous.message
    );
    let wrong_province = agencies
        .target("agency", "quang-tri-so-tttt", Some("Quảng Ngãi"))
        .unwrap_err();
    assert!(
        wrong_province.message.contains("Quảng Trị"),
        "{wrong_province:?}"
    );
    let no_province = agencies
        .target("agency", "Sở TT&TT", Some("Hà Nội"))
        .unwrap_err();
    assert_eq!(no_province.field, "province");
    let unknown = agencies.target("agency", "Công ty Giả Mạo", None).unwrap();
    assert_eq!(unknown.id, None);
    assert_eq!(unknown.display(), "Công ty Giả Mạo");
}

#[test]
fn a_district_belongs_to_its_provinces_groups_only() {
    let agencies = agencies();
    let gio_linh = agencies
        .target("agency", "Ủy ban nhân dân huyện Gio Linh", None)
        .unwrap();
    let groups: Vec<&str> = gio_linh
        .groups
        .iter()
        .map(|group| group.id.as_str())
        .collect();
    assert!(!groups.is_empty());
    assert!(
        groups.iter().all(|id| id.starts_with("quang-tri-")),
        "{groups:?}"
    );
    let qt = name_only_task(Some("Quảng Trị"), "UBND cấp huyện");
    let qn = name_only_task(Some("Quảng Ngãi"), "UBND cấp huyện");
    assert!(agencies.names_target(&gio_linh, &qt, &plan("p"), &name("UBND cấp huyện")));
    assert!(!agencies.names_target(&gio_linh, &qn, &plan("p"), &name("UBND cấp huyện")));
}

#[test]
fn commands_name_agencies_as_the_tasks_province_does() {
    let agencies = agencies();
    let task = name_only_task(Some("Quảng Trị"), "Sở TT&TT");
    let p = plan("p");
    let in_task = |written: &str| agencies.in_task(&task, &p, "agency", &name(written));
    assert_eq!(
        in_task("Sở TT&TT").unwrap().as_str(),
        "Sở Thông tin và Truyền thông"
    );
    assert_eq!(
        in_task("quang-tri-so-tttt").unwrap().as_str(),
        "Sở Thông tin và Truyền thông"
    );
    let foreign = in_task("quang-ngai-so-tttt").unwrap_err();
    assert_eq!(foreign.field, "agency");
    assert!(
        foreign.message.contains("Quảng Ngãi"),
        "{}",
        foreign.message
    );
    assert_eq!(
        in_task("Công ty Giả Mạo").unwrap().as_str(),
        "Công ty Giả Mạo"
    );
    let members = agencies
        .group_members(Some("Quảng Trị"), &name("UBND cấp huyện"))
        .unwrap();
    assert!(members.contains(&name("Ủy ban nhân dân huyện Gio Linh")));
}

/// Stored events that carry names only (fixtures written before agencies had ids) are
/// read with the ids an import records today; an assignment that records ids is read
/// by them.
#[test]
fn name_only_fixtures_load_and_map_to_ids() {
    let agencies = agencies();
    let fixture = |bytes: &[u8]| {
        let envelope = EventEnvelope::decode(bytes).unwrap();
        (envelope.plan_id.clone(), dondoc_domain::replay([&envelope]))
    };
    let (plan, state) = fixture(include_bytes!(
        "../../domain/tests/fixtures/events/v1_task_assigned_reporting.json"
    ));
    let details = &state.assignment.as_ref().unwrap().details;
    assert!(details.agency_ids.is_empty(), "a name-only fixture");
    let ids: Vec<String> = details
        .lead
        .iter()
        .chain(&details.coordinators)
        .map(|name| agencies.identify(&state, &plan, name).id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "quang-tri-so-tttt",
            "quang-tri-so-ban-nganh",
            "quang-tri-ubnd-cap-huyen"
        ]
    );
    // Upcast on read = recorded at import: the same ids.
    let recorded = agencies.assignment_identities(
        state.province(),
        &plan,
        details.lead.iter().chain(&details.coordinators),
    );
    for (name, id) in details.lead.iter().chain(&details.coordinators).zip(&ids) {
        let at_import = recorded
            .iter()
            .find(|identity| identity.name == *name)
            .map(|identity| identity.id.to_string());
        assert_eq!(at_import.as_ref(), Some(id), "{name}");
    }
    let (plan, state) = fixture(include_bytes!(
        "../../domain/tests/fixtures/events/v1_task_assigned_agency_ids.json"
    ));
    assert_eq!(
        agencies
            .identify(&state, &plan, &name("Ủy ban nhân dân huyện Gio Linh"))
            .id
            .as_str(),
        "quang-tri-ubnd-huyen-gio-linh"
    );
}
