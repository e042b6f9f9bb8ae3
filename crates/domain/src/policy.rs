//! A plan's reporting policy: which periodic reports it asks of the agencies it assigns
//! tasks to, by which day, and how that day is read. Pure data and its validation; the
//! instants themselves are computed in `calendar`.
//!
//! Invariants (enforced by `ReportingPolicy::new`, the only way to build one):
//! - `quarterly_day` is 1..=30, so every quarter's last month (March, June, September,
//!   December: 31, 30, 30 and 31 days) has that day;
//! - the yearly date exists in every year (no 29 February);
//! - `yearly_satisfies_q4` is only set when both quarterly and yearly reports are owed;
//! - the name is a lowercase key (`a-z`, `0-9`, `-`, `_`, 1-64 characters) and the
//!   recipient is non-empty.
//!
//! How a named day is read (`named_day_is_on_time`): plans write "trước ngày 25" ("before
//! the 25th"). Read literally (the default) the last day on time is the 24th and a report
//! filed on the 25th is late; the other reading keeps the whole named day on time. The
//! choice is per plan because the text does not settle it (DOMAIN.md, "Time").

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Month;

use crate::error::InvalidInput;

/// The names `ReportingPolicy::preset` knows, in the order `presets` lists them.
pub const PRESET_NAMES: [&str; 3] = ["quang-tri", "ba-to", "default"];

/// The fields of a reporting policy, as plain data: fill it in, then validate it with
/// `ReportingPolicy::new`. Kept separate so that a policy that exists is a valid one.
///
/// Its JSON is part of the event format (`task_assigned.reporting.policy`, EVENTS.md) and
/// of the CLI's `--policy-file`: the yearly date is written `"MM-DD"` ("12-20"). Stored
/// unvalidated, so that a rule tightened later never makes a recorded event unreadable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingPolicySpec {
    /// A key for the policy, e.g. "quang-tri".
    pub name: String,
    /// Quarterly reports are due before this day of the quarter's last month (March, June,
    /// September, December). `None`: the plan asks for no quarterly reports.
    #[serde(default)]
    pub quarterly_day: Option<u8>,
    /// The yearly report is due before this date. `None`: no yearly report.
    #[serde(default, with = "month_day")]
    pub yearly: Option<(Month, u8)>,
    /// `false`: "trước ngày 25" read literally, the deadline is 00:00 on the 25th and a
    /// report on the 25th is late. `true`: the whole named day is still on time (the
    /// deadline is 00:00 on the 26th). Applies to every date of the policy.
    #[serde(default)]
    pub named_day_is_on_time: bool,
    /// Whether the yearly report also counts as the Q4 quarterly report. When set, no
    /// separate Q4 deadline exists.
    #[serde(default)]
    pub yearly_satisfies_q4: bool,
    /// When the last day on time is a weekend day or a public holiday, the time limit ends
    /// at the end of the next working day (Civil Code 2015, art. 148(5)).
    pub working_day_rule: bool,
    /// The agency reports go to, as the plan writes it.
    pub recipient: String,
}

/// A validated reporting policy. Build one with `new` or take a preset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportingPolicy(ReportingPolicySpec);

/// The members of a policy's JSON (`ReportingPolicySpec`), for refusing unknown ones.
const SPEC_FIELDS: [&str; 7] = [
    "name",
    "quarterly_day",
    "yearly",
    "named_day_is_on_time",
    "yearly_satisfies_q4",
    "working_day_rule",
    "recipient",
];

impl ReportingPolicy {
    /// Reads and validates a policy written as JSON (`ReportingPolicySpec`, as
    /// `--policy-file` and `ImportPlan.policy_json` take it). Errors name `field`, the
    /// document's own name for the caller ("policy_json"), or `field.<member>` for one of
    /// its members. A misspelt member is refused, not skipped: serde would otherwise
    /// drop an optional one silently, and with it a report the plan asks for.
    pub fn from_json(json: &str, field: &str) -> Result<Self, InvalidInput> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|error| InvalidInput::new(field, format!("not valid JSON: {error}")))?;
        let Some(object) = value.as_object() else {
            return Err(InvalidInput::new(
                field,
                "must be a JSON object with the fields of a reporting policy",
            ));
        };
        if let Some(unknown) = object
            .keys()
            .find(|key| !SPEC_FIELDS.contains(&key.as_str()))
        {
            return Err(InvalidInput::new(
                format!("{field}.{unknown}"),
                format!("unknown field; the fields are {}", SPEC_FIELDS.join(", ")),
            ));
        }
        let spec: ReportingPolicySpec = serde_json::from_value(value).map_err(|error| {
            InvalidInput::new(field, format!("not a reporting policy: {error}"))
        })?;
        Self::new(spec)
            .map_err(|error| InvalidInput::new(format!("{field}.{}", error.field), error.message))
    }

    /// Validates `spec`. Errors name the offending field.
    pub fn new(spec: ReportingPolicySpec) -> Result<Self, InvalidInput> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if spec.name.is_empty() || spec.name.len() > 64 || !spec.name.chars().all(valid_char) {
            return Err(InvalidInput::new(
                "name",
                format!(
                    "{:?} must be 1-64 characters of a-z, 0-9, '-' or '_'",
                    spec.name
                ),
            ));
        }
        if let Some(day) = spec.quarterly_day {
            // 30, not 28: only the quarters' last months matter, and the shortest of them
            // (June, September) have 30 days. 31 is refused rather than clamped to the
            // month's end: clamping would silently move some quarters' deadlines and not
            // others, which no plan means by one number.
            if !(1..=30).contains(&day) {
                return Err(InvalidInput::new(
                    "quarterly_day",
                    format!(
                        "{day} must be 1..=30 so that every quarter's last month (March, June, \
                         September, December) has it"
                    ),
                ));
            }
        }
        if let Some((month, day)) = spec.yearly {
            // 2023 is not a leap year: a date valid in it is valid in every year, and
            // 29 February is the only date that is not.
            let days = month.length(2023);
            if day == 0 || day > days {
                return Err(InvalidInput::new(
                    "yearly",
                    format!(
                        "{day} {month} must be a date that exists in every year (day 1..={days})"
                    ),
                ));
            }
        }
        if spec.yearly_satisfies_q4 && (spec.yearly.is_none() || spec.quarterly_day.is_none()) {
            return Err(InvalidInput::new(
                "yearly_satisfies_q4",
                "only meaningful when the policy has both quarterly and yearly reports",
            ));
        }
        if spec.recipient.trim().is_empty() {
            return Err(InvalidInput::new("recipient", "must not be empty"));
        }
        Ok(Self(spec))
    }

    /// The built-in policy called `name` (see `PRESET_NAMES`), or `None`.
    ///
    /// Flags shared by every preset, and why:
    /// - `named_day_is_on_time: false`: "trước ngày N" read as written; a plan that wants
    ///   the named day included can say "chậm nhất ngày N" or "đến hết ngày N".
    /// - `yearly_satisfies_q4: false`: the plans ask for quarterly *and* yearly reports
    ///   ("định kỳ hàng quý … và hàng năm", "theo quý, năm") and say nothing about one
    ///   standing in for the other, so both are owed.
    /// - `working_day_rule: true`: the Civil Code's way of counting time limits applies
    ///   unless agreed or legislated otherwise (art. 145, 148), is the usual one in
    ///   Vietnamese administration by analogy, and none of the plans sets another; it
    ///   also spares agencies a deadline whose last day the recipient's office is
    ///   closed. Only weekends and the days in the holiday calendar count as closed.
    pub fn preset(name: &str) -> Option<Self> {
        let spec = match name {
            // Seed 000 (Quảng Trị), section IV.1: "định kỳ hàng quý (trước ngày 25 tháng
            // cuối quý) và hàng năm (trước ngày 20/12) gửi đến Sở Thông tin và Truyền
            // thông". The Q4 deadline (before 25/12) falls after the yearly one (before
            // 20/12); both are owed, see `yearly_satisfies_q4` above.
            "quang-tri" => ReportingPolicySpec {
                name: name.to_owned(),
                quarterly_day: Some(25),
                yearly: Some((Month::December, 20)),
                recipient: "Sở Thông tin và Truyền thông".to_owned(),
                ..Self::preset_flags()
            },
            // Seed 001 (Ba Tơ district, 2023), section VI.1: "theo quý, năm (trước ngày 12
            // hàng tháng của tháng cuối quý và ngày 15 tháng 11 năm 2023 của năm)". The one
            // "trước" governs both dates: the parenthesis pairs "quý, năm" with "ngày 12 …
            // của tháng cuối quý" and "ngày 15 tháng 11 … của năm", so 15 November is read
            // like the 12th, as "before", and a single `named_day_is_on_time` serves both.
            // The plan names 2023 only; the preset repeats the pattern every year.
            "ba-to" => ReportingPolicySpec {
                name: name.to_owned(),
                quarterly_day: Some(12),
                yearly: Some((Month::November, 15)),
                recipient: "UBND huyện Ba Tơ (qua Phòng Văn hóa và Thông tin)".to_owned(),
                ..Self::preset_flags()
            },
            // For plans that state no rule (seed 004, Quảng Ngãi 189/KH-UBND): the
            // Quảng Trị pattern. It is the only provincial rule among the seeds (Ba Tơ's
            // earlier dates leave a district time to compile before reporting upward),
            // and of the known patterns it is the latest, so a plan that never set a
            // date does not have agencies marked overdue earlier than any plan does.
            // Seed 004 makes the Sở Thông tin và Truyền thông the plan's reporting hub
            // (section IV.2.c), hence the recipient.
            "default" => ReportingPolicySpec {
                name: name.to_owned(),
                quarterly_day: Some(25),
                yearly: Some((Month::December, 20)),
                recipient: "Sở Thông tin và Truyền thông".to_owned(),
                ..Self::preset_flags()
            },
            _ => return None,
        };
        // Every preset is valid (a test checks it); `ok()` keeps a mistake here from
        // being a panic.
        Self::new(spec).ok()
    }

    /// The preset for a plan of `province` that names no policy of its own: `quang-tri`
    /// for Quảng Trị (its plans state the rule), `default` for any other or none.
    /// Ba Tơ is a district of Quảng Ngãi: its plans name `ba-to` explicitly.
    pub fn for_province(province: Option<&str>) -> Self {
        let is_quang_tri = province.is_some_and(|province| {
            let folded = province.trim().to_lowercase();
            folded == "quảng trị" || folded == "quang tri" || folded == "quang-tri"
        });
        let name = if is_quang_tri { "quang-tri" } else { "default" };
        // Both presets exist (a test checks every preset).
        Self::preset(name).unwrap_or_else(|| Self::presets().remove(0))
    }

    /// Every preset, in the order of `PRESET_NAMES`.
    pub fn presets() -> Vec<Self> {
        PRESET_NAMES
            .iter()
            .filter_map(|name| Self::preset(name))
            .collect()
    }

    /// The flags every preset shares; the dates, name and recipient are overwritten.
    fn preset_flags() -> ReportingPolicySpec {
        ReportingPolicySpec {
            name: String::new(),
            quarterly_day: None,
            yearly: None,
            named_day_is_on_time: false,
            yearly_satisfies_q4: false,
            working_day_rule: true,
            recipient: String::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn quarterly_day(&self) -> Option<u8> {
        self.0.quarterly_day
    }

    pub fn yearly(&self) -> Option<(Month, u8)> {
        self.0.yearly
    }

    pub fn named_day_is_on_time(&self) -> bool {
        self.0.named_day_is_on_time
    }

    pub fn yearly_satisfies_q4(&self) -> bool {
        self.0.yearly_satisfies_q4
    }

    pub fn working_day_rule(&self) -> bool {
        self.0.working_day_rule
    }

    pub fn recipient(&self) -> &str {
        &self.0.recipient
    }

    /// The validated fields.
    pub fn spec(&self) -> &ReportingPolicySpec {
        &self.0
    }

    /// The fields, to change some and validate again (e.g. a preset with another reading).
    pub fn into_spec(self) -> ReportingPolicySpec {
        self.0
    }
}

impl fmt::Display for ReportingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// `Option<(Month, u8)>` as `"MM-DD"`, e.g. `"12-20"` for 20 December.
mod month_day {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use time::Month;

    pub fn serialize<S: Serializer>(
        value: &Option<(Month, u8)>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some((month, day)) => {
                serializer.serialize_str(&format!("{:02}-{day:02}", u8::from(*month)))
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<(Month, u8)>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        let invalid = || {
            D::Error::custom(format!(
                "yearly date {text:?} must be \"MM-DD\", e.g. \"12-20\""
            ))
        };
        let (month, day) = text.split_once('-').ok_or_else(invalid)?;
        let month: u8 = month.parse().map_err(|_| invalid())?;
        let day: u8 = day.parse().map_err(|_| invalid())?;
        let month = Month::try_from(month).map_err(|_| invalid())?;
        Ok(Some((month, day)))
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
