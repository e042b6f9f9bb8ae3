//! Tests of province-aware resolution: `resolve_for`, `everywhere`, `province_of`.
use super::*;

fn shipped() -> AgencyDirectory {
    super::shipped().unwrap()
}

fn canonical(resolution: Resolution) -> Option<String> {
    match resolution {
        Resolution::Agency(agency) => Some(agency.name),
        Resolution::Group(group) => Some(group.name),
        Resolution::Unknown { .. } => None,
    }
}

#[test]
fn a_name_shared_by_provinces_resolves_when_they_agree_on_its_canonical_name() {
    let directory = shipped();
    assert!(matches!(
        directory.resolve("Sở TT&TT"),
        Resolution::Unknown { .. }
    ));
    assert_eq!(
        canonical(directory.resolve_for(None, "Sở TT&TT")).as_deref(),
        Some("Sở Thông tin và Truyền thông")
    );
}

#[test]
fn the_plan_province_decides_first() {
    let directory = shipped();
    let Resolution::Group(group) = directory.resolve_for(Some("Quảng Ngãi"), "UBND cấp huyện")
    else {
        panic!("UBND cấp huyện is a group");
    };
    assert_eq!(group.members.len(), 13);
    let Resolution::Group(group) = directory.resolve_for(Some("Quảng Trị"), "UBND cấp huyện")
    else {
        panic!("UBND cấp huyện is a group");
    };
    assert_eq!(group.members.len(), 10);
}

#[test]
fn a_shared_name_lists_each_province_and_ids_know_their_province() {
    let directory = shipped();
    let found = directory.everywhere("Sở TT&TT");
    let ids: Vec<(String, Option<String>)> = found
        .into_iter()
        .map(|(province, resolution)| match resolution {
            Resolution::Agency(agency) => (province, Some(agency.id)),
            _ => (province, None),
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (
                "Quảng Ngãi".to_owned(),
                Some("quang-ngai-so-tttt".to_owned())
            ),
            ("Quảng Trị".to_owned(), Some("quang-tri-so-tttt".to_owned())),
        ]
    );
    assert!(directory.everywhere("Công ty Giả Mạo").is_empty());
    assert_eq!(
        directory.province_of("quang-tri-so-tttt").as_deref(),
        Some("Quảng Trị")
    );
    assert_eq!(directory.province_of("nope"), None);
}

#[test]
fn unknown_names_stay_unknown_with_suggestions() {
    let directory = shipped();
    let Resolution::Unknown { suggestions } =
        directory.resolve_for(None, "Sở Thông tin và Truyền thong")
    else {
        panic!("a typo must not resolve");
    };
    assert!(!suggestions.is_empty());
}
