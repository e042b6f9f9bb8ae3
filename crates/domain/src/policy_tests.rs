//! Validation of reporting policies and the presets' contents.

use time::Month;

use super::*;

fn spec() -> ReportingPolicySpec {
    ReportingPolicySpec {
        name: "test".into(),
        quarterly_day: Some(25),
        yearly: Some((Month::December, 20)),
        named_day_is_on_time: false,
        yearly_satisfies_q4: false,
        working_day_rule: true,
        recipient: "Sở Thông tin và Truyền thông".into(),
    }
}

fn refused_field(spec: ReportingPolicySpec) -> String {
    ReportingPolicy::new(spec).unwrap_err().field
}

#[test]
fn every_preset_is_valid_and_listed() {
    let presets = ReportingPolicy::presets();
    let names: Vec<&str> = presets.iter().map(ReportingPolicy::name).collect();
    assert_eq!(names, PRESET_NAMES);
    for preset in &presets {
        assert_eq!(
            ReportingPolicy::new(preset.spec().clone()).as_ref(),
            Ok(preset)
        );
    }
    assert_eq!(ReportingPolicy::preset("ha-noi"), None);
}

#[test]
fn quang_tri_is_seed_000_section_iv_1() {
    let policy = ReportingPolicy::preset("quang-tri").unwrap();
    assert_eq!(policy.quarterly_day(), Some(25));
    assert_eq!(policy.yearly(), Some((Month::December, 20)));
    assert_eq!(policy.recipient(), "Sở Thông tin và Truyền thông");
    assert!(!policy.named_day_is_on_time());
    assert!(!policy.yearly_satisfies_q4());
    assert!(policy.working_day_rule());
}

#[test]
fn ba_to_is_seed_001_section_vi_1() {
    let policy = ReportingPolicy::preset("ba-to").unwrap();
    assert_eq!(policy.quarterly_day(), Some(12));
    assert_eq!(policy.yearly(), Some((Month::November, 15)));
    assert_eq!(
        policy.recipient(),
        "UBND huyện Ba Tơ (qua Phòng Văn hóa và Thông tin)"
    );
    assert!(!policy.named_day_is_on_time());
    assert!(!policy.yearly_satisfies_q4());
    assert!(policy.working_day_rule());
}

#[test]
fn default_follows_the_quang_tri_dates() {
    let default = ReportingPolicy::preset("default").unwrap();
    let quang_tri = ReportingPolicy::preset("quang-tri").unwrap();
    assert_eq!(default.quarterly_day(), quang_tri.quarterly_day());
    assert_eq!(default.yearly(), quang_tri.yearly());
    assert_eq!(default.to_string(), "default");
}

#[test]
fn quarterly_day_must_exist_in_every_quarters_last_month() {
    for day in [1, 28, 29, 30] {
        let policy = ReportingPolicy::new(ReportingPolicySpec {
            quarterly_day: Some(day),
            ..spec()
        });
        assert!(policy.is_ok(), "{day} refused");
    }
    for day in [0, 31, 255] {
        let field = refused_field(ReportingPolicySpec {
            quarterly_day: Some(day),
            ..spec()
        });
        assert_eq!(field, "quarterly_day", "{day}");
    }
}

#[test]
fn yearly_date_must_exist_in_every_year() {
    for (month, day) in [
        (Month::January, 1),
        (Month::February, 28),
        (Month::April, 30),
        (Month::December, 31),
    ] {
        let policy = ReportingPolicy::new(ReportingPolicySpec {
            yearly: Some((month, day)),
            ..spec()
        });
        assert!(policy.is_ok(), "{day} {month} refused");
    }
    for (month, day) in [
        (Month::February, 29),
        (Month::February, 30),
        (Month::April, 31),
        (Month::January, 0),
        (Month::January, 32),
    ] {
        let field = refused_field(ReportingPolicySpec {
            yearly: Some((month, day)),
            ..spec()
        });
        assert_eq!(field, "yearly", "{day} {month}");
    }
}

#[test]
fn yearly_can_stand_in_for_q4_only_when_both_are_owed() {
    assert!(ReportingPolicy::new(ReportingPolicySpec {
        yearly_satisfies_q4: true,
        ..spec()
    })
    .is_ok());
    for spec in [
        ReportingPolicySpec {
            yearly_satisfies_q4: true,
            yearly: None,
            ..spec()
        },
        ReportingPolicySpec {
            yearly_satisfies_q4: true,
            quarterly_day: None,
            ..spec()
        },
    ] {
        assert_eq!(refused_field(spec), "yearly_satisfies_q4");
    }
}

#[test]
fn a_policy_may_ask_for_only_one_kind_of_report_or_none() {
    for (quarterly_day, yearly) in [
        (None, Some((Month::June, 30))),
        (Some(10), None),
        (None, None),
    ] {
        assert!(ReportingPolicy::new(ReportingPolicySpec {
            quarterly_day,
            yearly,
            ..spec()
        })
        .is_ok());
    }
}

#[test]
fn name_and_recipient_are_checked() {
    for name in ["", "Quảng Trị", "quang tri", "a.b", &"x".repeat(65)] {
        let field = refused_field(ReportingPolicySpec {
            name: name.into(),
            ..spec()
        });
        assert_eq!(field, "name", "{name:?}");
    }
    for recipient in ["", "   "] {
        let field = refused_field(ReportingPolicySpec {
            recipient: recipient.into(),
            ..spec()
        });
        assert_eq!(field, "recipient");
    }
}

#[test]
fn a_preset_can_be_changed_and_revalidated() {
    let mut changed = ReportingPolicy::preset("quang-tri").unwrap().into_spec();
    changed.named_day_is_on_time = true;
    changed.working_day_rule = false;
    let policy = ReportingPolicy::new(changed).unwrap();
    assert!(policy.named_day_is_on_time());
    assert!(!policy.working_day_rule());
    assert_eq!(policy.name(), "quang-tri");
}

#[test]
fn a_policy_from_json_is_validated_and_errors_name_the_member() {
    let json = r#"{"name": "qti-literal", "quarterly_day": 25, "yearly": "12-20",
        "working_day_rule": false, "recipient": "Sở Thông tin và Truyền thông"}"#;
    let policy = ReportingPolicy::from_json(json, "policy_json").unwrap();
    assert_eq!(policy.name(), "qti-literal");
    assert_eq!(policy.quarterly_day(), Some(25));
    assert!(!policy.working_day_rule());
    assert!(!policy.named_day_is_on_time(), "defaults apply");
    let field = |json: &str| {
        ReportingPolicy::from_json(json, "policy_json")
            .unwrap_err()
            .field
    };
    assert_eq!(field("{"), "policy_json");
    assert_eq!(field("[1]"), "policy_json");
    assert_eq!(
        field(&json.replace("quarterly_day", "quartely_day")),
        "policy_json.quartely_day"
    );
    assert_eq!(
        field(&json.replace("25", "31")),
        "policy_json.quarterly_day"
    );
    assert_eq!(field(&json.replace("12-20", "02-29")), "policy_json.yearly");
    assert_eq!(field(&json.replace("12-20", "Dec 20")), "policy_json");
}
