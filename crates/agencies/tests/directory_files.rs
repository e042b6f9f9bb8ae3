//! Directory files: what is accepted, what is refused and how errors name the
//! fault; matching rules; merging; robustness.

use dondoc_agencies::{Agency, AgencyDirectory, DirectoryError, Group, Resolution};
use proptest::prelude::*;

const SMALL: &str = r#"{
  "province": "Quảng Ngãi",
  "agencies": [
    { "id": "qng-so-tttt", "name": "Sở Thông tin và Truyền thông", "aliases": ["Sở TT&TT", "Sở TTTT"] },
    { "id": "qng-ubnd-huyen-ba-to", "name": "Ủy ban nhân dân huyện Ba Tơ", "aliases": ["UBND huyện Ba Tơ"] },
    { "id": "qng-ubnd-huyen-ly-son", "name": "Ủy ban nhân dân huyện Lý Sơn" }
  ],
  "groups": [
    { "id": "qng-ubnd-cap-huyen", "name": "UBND cấp huyện", "aliases": ["Ủy ban nhân dân cấp huyện"],
      "members": ["qng-ubnd-huyen-ba-to", "qng-ubnd-huyen-ly-son"] },
    { "id": "qng-ubnd-cap-xa", "name": "UBND cấp xã", "members": [] }
  ]
}"#;

fn small() -> AgencyDirectory {
    AgencyDirectory::from_json(SMALL).unwrap()
}

fn error(json: &str) -> DirectoryError {
    AgencyDirectory::from_json(json).unwrap_err()
}

fn agency(id: &str, name: &str) -> Agency {
    Agency {
        id: id.into(),
        name: name.into(),
    }
}

#[test]
fn resolves_names_aliases_and_groups() {
    let d = small();
    let tttt = Resolution::Agency(agency("qng-so-tttt", "Sở Thông tin và Truyền thông"));
    assert_eq!(d.resolve("Sở TT&TT"), tttt);
    assert_eq!(d.resolve("Sở TTTT"), tttt);
    assert_eq!(d.resolve("Sở Thông tin và Truyền thông"), tttt);
    assert_eq!(
        d.resolve("Các UBND cấp huyện;"),
        Resolution::Group(Group {
            id: "qng-ubnd-cap-huyen".into(),
            name: "UBND cấp huyện".into(),
            members: vec![
                agency("qng-ubnd-huyen-ba-to", "Ủy ban nhân dân huyện Ba Tơ"),
                agency("qng-ubnd-huyen-ly-son", "Ủy ban nhân dân huyện Lý Sơn"),
            ],
        })
    );
    assert_eq!(
        d.resolve("UBND cấp xã"),
        Resolution::Group(Group {
            id: "qng-ubnd-cap-xa".into(),
            name: "UBND cấp xã".into(),
            members: vec![],
        })
    );
    assert_eq!(d.provinces(), ["Quảng Ngãi"]);
    assert_eq!(
        d.known_names(),
        [
            "Sở Thông tin và Truyền thông",
            "Sở TT&TT",
            "Sở TTTT",
            "Ủy ban nhân dân huyện Ba Tơ",
            "UBND huyện Ba Tơ",
            "Ủy ban nhân dân huyện Lý Sơn",
            "UBND cấp huyện",
            "Ủy ban nhân dân cấp huyện",
            "UBND cấp xã",
        ]
    );
    assert_eq!(
        d.agency("qng-so-tttt"),
        Some(agency("qng-so-tttt", "Sở Thông tin và Truyền thông"))
    );
    assert_eq!(
        d.agency("qng-ubnd-cap-xa"),
        None,
        "a group is not an agency"
    );
    assert_eq!(d.group("qng-so-tttt"), None, "an agency is not a group");
    assert_eq!(d.agency("nope"), None);
}

#[test]
fn normalisation_rules() {
    let d = small();
    let id = |written: &str| match d.resolve(written) {
        Resolution::Agency(a) => Some(a.id),
        Resolution::Group(g) => Some(g.id),
        Resolution::Unknown { .. } => None,
    };
    let tttt = Some("qng-so-tttt".to_owned());
    // Case, whitespace (line breaks, tabs, no-break spaces).
    assert_eq!(id("sở tt&tt"), tttt);
    assert_eq!(id("  SỞ\tTT&TT \n"), tttt);
    assert_eq!(id("Sở Thông tin và\nTruyền\u{a0}thông"), tttt);
    // Trailing punctuation.
    for tail in [";", ",", ".", ":", " ;", "; ", ".;", " , ; "] {
        assert_eq!(id(&format!("Sở TT&TT{tail}")), tttt, "{tail:?}");
    }
    // Leading "các".
    assert_eq!(id("Các Sở TT&TT"), tttt);
    assert_eq!(id("các  Sở TT&TT"), tttt);
    // "&" with or without spaces.
    assert_eq!(id("Sở TT & TT"), tttt);
    assert_eq!(id("Sở TT &TT"), tttt);
    // Tone placement.
    assert_eq!(
        id("Uỷ ban nhân dân huyện Ba Tơ"),
        id("Ủy ban nhân dân huyện Ba Tơ")
    );
    assert!(id("Uỷ ban nhân dân huyện Ba Tơ").is_some());
    // What is not ignored: inner punctuation, missing words, diacritics.
    assert_eq!(id("Sở TT;TT"), None);
    assert_eq!(id("Sở TT"), None);
    assert_eq!(id("So TT&TT"), None);
    assert_eq!(id("Sở TT&TT huyện"), None);
    // Leading punctuation is not trailing punctuation.
    assert_eq!(id("; Sở TT&TT"), None);
}

#[test]
fn fuzzy_is_only_for_suggestions() {
    let d = small();
    assert_eq!(
        d.resolve("Sở Thông tin và Truyền thong"),
        Resolution::Unknown {
            suggestions: vec!["Sở Thông tin và Truyền thông".into()]
        }
    );
    assert_eq!(
        d.resolve("Sở TT&T"),
        Resolution::Unknown {
            suggestions: vec!["Sở Thông tin và Truyền thông".into()]
        }
    );
    assert_eq!(
        d.resolve("hoàn toàn khác"),
        Resolution::Unknown {
            suggestions: vec![]
        }
    );
}

#[test]
fn suggestions_are_at_most_three_best_first() {
    let d = small();
    let Resolution::Unknown { suggestions } = d.resolve("Ủy ban nhân dân huyện Ba") else {
        panic!("resolved")
    };
    assert!(suggestions.len() <= 3);
    assert_eq!(suggestions[0], "Ủy ban nhân dân huyện Ba Tơ");
}

#[test]
fn bad_json_is_refused_with_its_position() {
    let DirectoryError::Json { line, .. } =
        error("{\n  \"province\": \"X\",\n  \"agencies\": [\n}")
    else {
        panic!("not a JSON error")
    };
    assert_eq!(line, 4);
    assert!(matches!(error(""), DirectoryError::Json { .. }));
    assert!(matches!(error("[]"), DirectoryError::Json { .. }));
    // Missing field, unknown field (a typo must not silently drop aliases).
    let missing = error(r#"{ "province": "X" }"#);
    assert!(missing.to_string().contains("agencies"), "{missing}");
    let typo =
        error(r#"{ "province": "X", "agencies": [ { "id": "a", "name": "A", "alias": ["B"] } ] }"#);
    assert!(typo.to_string().contains("alias"), "{typo}");
    // Notes are allowed everywhere.
    AgencyDirectory::from_json(
        r#"{ "province": "X", "note": "n", "agencies": [ { "id": "a", "name": "A", "note": "n" } ],
             "groups": [ { "id": "g", "name": "G", "members": ["a"], "note": "n" } ] }"#,
    )
    .unwrap();
}

#[test]
fn errors_name_the_entry_and_field() {
    let file = |agencies: &str, groups: &str| {
        format!(r#"{{ "province": "Quảng Ngãi", "agencies": [{agencies}], "groups": [{groups}] }}"#)
    };
    let a = r#"{ "id": "so-a", "name": "Sở A", "aliases": ["SA"] }"#;

    let e = error(&file(
        &format!(r#"{a}, {{ "id": "so-a", "name": "Sở B" }}"#),
        "",
    ));
    assert_eq!(
        e,
        DirectoryError::DuplicateId {
            province: "Quảng Ngãi".into(),
            entry: "agencies[1]".into(),
            id: "so-a".into(),
            first: "agency \"so-a\"".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "province \"Quảng Ngãi\": agencies[1]: field \"id\": \"so-a\" is already the id of agency \"so-a\""
    );

    // Groups share the id space.
    let e = error(&file(a, r#"{ "id": "so-a", "name": "G", "members": [] }"#));
    assert!(matches!(e, DirectoryError::DuplicateId { ref entry, .. } if entry == "groups[0]"));

    let e = error(&file(r#"{ "id": "So A", "name": "Sở A" }"#, ""));
    assert_eq!(
        e,
        DirectoryError::InvalidId {
            province: "Quảng Ngãi".into(),
            entry: "agencies[0]".into(),
            id: "So A".into(),
        }
    );

    let e = error(&file(r#"{ "id": "so-a", "name": " ; " }"#, ""));
    assert_eq!(
        e,
        DirectoryError::EmptyName {
            province: "Quảng Ngãi".into(),
            entry: "agency \"so-a\"".into(),
        }
    );
    assert!(e.to_string().contains("field \"name\""), "{e}");

    let e = error(&file(
        r#"{ "id": "so-a", "name": "Sở A", "aliases": [""] }"#,
        "",
    ));
    assert!(matches!(e, DirectoryError::EmptyAlias { .. }), "{e}");

    // An alias that means another entry: refused, both named.
    let e = error(&file(
        &format!(r#"{a}, {{ "id": "so-b", "name": "Sở B", "aliases": ["sa;"] }}"#),
        "",
    ));
    assert_eq!(
        e,
        DirectoryError::NameClash {
            province: "Quảng Ngãi".into(),
            entry: "agency \"so-b\"".into(),
            field: "aliases",
            written: "sa;".into(),
            other: "agency \"so-a\"".into(),
        }
    );
    assert!(
        e.to_string().contains("already names agency \"so-a\""),
        "{e}"
    );
    // A group named like an agency is a clash too.
    let e = error(&file(
        a,
        r#"{ "id": "g", "name": "Các Sở A", "members": [] }"#,
    ));
    assert!(
        matches!(e, DirectoryError::NameClash { field: "name", ref entry, .. } if entry == "group \"g\""),
        "{e}"
    );
    // Repeats within one entry are harmless.
    AgencyDirectory::from_json(&file(
        r#"{ "id": "so-a", "name": "Sở A", "aliases": ["Sở A", "sở a;", "SA", "SA"] }"#,
        "",
    ))
    .unwrap();

    let e = error(&file(
        a,
        r#"{ "id": "g", "name": "G", "members": ["so-a", "so-z"] }"#,
    ));
    assert_eq!(
        e,
        DirectoryError::UnknownMember {
            province: "Quảng Ngãi".into(),
            entry: "group \"g\"".into(),
            member: "so-z".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "province \"Quảng Ngãi\": group \"g\": field \"members\": \"so-z\" is not the id of an agency in this file"
    );
    let e = error(&file(
        a,
        r#"{ "id": "g", "name": "G", "members": ["h"] }, { "id": "h", "name": "H", "members": [] }"#,
    ));
    assert!(matches!(e, DirectoryError::GroupAsMember { .. }), "{e}");
    let e = error(&file(
        a,
        r#"{ "id": "g", "name": "G", "members": ["so-a", "so-a"] }"#,
    ));
    assert!(matches!(e, DirectoryError::DuplicateMember { .. }), "{e}");

    assert_eq!(
        error(r#"{ "province": " ", "agencies": [] }"#),
        DirectoryError::EmptyProvince
    );
}

#[test]
fn merge_refuses_id_clashes_and_repeated_provinces() {
    let other = |province: &str, id: &str| {
        AgencyDirectory::from_json(&format!(
            r#"{{ "province": "{province}", "agencies": [ {{ "id": "{id}", "name": "Sở TT&TT" }} ] }}"#
        ))
        .unwrap()
    };
    assert_eq!(
        AgencyDirectory::merged(vec![small(), other("Quảng Trị", "qng-so-tttt")]).unwrap_err(),
        DirectoryError::IdClash {
            id: "qng-so-tttt".into(),
            first: "Quảng Ngãi".into(),
            second: "Quảng Trị".into(),
        }
    );
    assert_eq!(
        AgencyDirectory::merged(vec![small(), other("quảng ngãi", "x")]).unwrap_err(),
        DirectoryError::DuplicateProvince {
            province: "Quảng Ngãi".into()
        }
    );

    let merged = AgencyDirectory::merged(vec![small(), other("Quảng Trị", "qtr-so-tttt")]).unwrap();
    assert_eq!(merged.provinces(), ["Quảng Ngãi", "Quảng Trị"]);
    // Known in both: no guess. Each candidate by its first name that only it
    // has, else as "name (province)".
    assert_eq!(
        merged.resolve("Sở TT&TT"),
        Resolution::Unknown {
            suggestions: vec![
                "Sở Thông tin và Truyền thông".into(),
                "Sở TT&TT (Quảng Trị)".into()
            ]
        }
    );
    assert_eq!(
        merged.resolve_in("Quảng Trị", "sở tt&tt"),
        Some(Resolution::Agency(agency("qtr-so-tttt", "Sở TT&TT")))
    );
    assert_eq!(
        merged.resolve_in("Quảng Ngãi", "Sở TT&TT"),
        Some(Resolution::Agency(agency(
            "qng-so-tttt",
            "Sở Thông tin và Truyền thông"
        )))
    );
    // Known in one: resolves unqualified.
    assert!(matches!(
        merged.resolve("UBND huyện Ba Tơ"),
        Resolution::Agency(_)
    ));

    // Merging merged directories flattens them; an empty merge is empty.
    let again =
        AgencyDirectory::merged(vec![merged, AgencyDirectory::merged(vec![]).unwrap()]).unwrap();
    assert_eq!(again.provinces(), ["Quảng Ngãi", "Quảng Trị"]);
    let empty = AgencyDirectory::merged(vec![]).unwrap();
    assert!(empty.provinces().is_empty());
    assert!(empty.known_names().is_empty());
    assert_eq!(
        empty.resolve("Sở TT&TT"),
        Resolution::Unknown {
            suggestions: vec![]
        }
    );
}

proptest! {
    #[test]
    fn resolve_never_panics(written in "\\PC{0,60}") {
        let d = small();
        let _ = d.resolve(&written);
        let _ = d.resolve_in("Quảng Ngãi", &written);
        let _ = d.resolve_in(&written, "Sở TT&TT");
    }

    #[test]
    fn resolve_never_panics_on_any_chars(written in any::<String>()) {
        let _ = small().resolve(&written);
    }

    #[test]
    fn resolution_ignores_presentation(
        upper in any::<bool>(),
        cac in any::<bool>(),
        tail in "[;,.: ]{0,4}",
        spaces in "[ \t\n]{1,3}",
    ) {
        let d = small();
        let mut written = format!("Sở{spaces}TT &TT{tail}");
        if cac {
            written = format!("Các {written}");
        }
        if upper {
            written = written.to_uppercase();
        }
        prop_assert_eq!(
            d.resolve(&written),
            Resolution::Agency(agency("qng-so-tttt", "Sở Thông tin và Truyền thông"))
        );
    }

    #[test]
    fn unknown_suggestions_are_canonical_names(written in "[A-Za-zỞởếềĐđ&;, ]{0,30}") {
        let d = small();
        if let Resolution::Unknown { suggestions } = d.resolve(&written) {
            prop_assert!(suggestions.len() <= 3);
            for s in &suggestions {
                prop_assert!(!matches!(d.resolve(s), Resolution::Unknown { .. }), "{}", s);
            }
        }
    }

    #[test]
    fn from_json_never_panics(json in "\\PC{0,200}") {
        let _ = AgencyDirectory::from_json(&json);
    }
}
