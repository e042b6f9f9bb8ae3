//! Identities and validated names: `PlanId`, `TaskId`, `RequestId`, `RequestKey`,
//! `AgencyName`, `AgencyId`.
//!
//! Invariants: every value here was built through `parse`/`new` and is therefore valid.
//! A `PlanId` is a safe NATS subject token (it becomes part of a subject), a `TaskId` is
//! derived deterministically from the plan and the row's identity so that importing the
//! same appendix twice addresses the same aggregates.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::InvalidInput;
use crate::text::{check_text, limits, quoted};

/// Namespace of the UUIDv5 task ids. Changing it would re-key every task: never do.
const TASK_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_7a5c_4e1d_9b1a_2023_0000_0001);

/// A plan's identifier, chosen by whoever imports it, e.g. `qng-189-2022`.
///
/// Lowercase ASCII letters, digits, `-` and `_`, 1 to 64 characters: it is used as a
/// NATS subject token and in sled keys, so dots, spaces, `*` and `>` are excluded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanId(String);

impl PlanId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(valid_char) {
            return Err(InvalidInput::new(
                "plan_id",
                format!(
                    "{} must be 1-64 characters of a-z, 0-9, '-' or '_'",
                    quoted(raw)
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PlanId {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<PlanId> for String {
    fn from(plan_id: PlanId) -> Self {
        plan_id.0
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A task aggregate's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Uuid);

impl TaskId {
    /// The id of the task that an appendix row becomes.
    ///
    /// Keyed by plan, section, row number and occurrence (not by the row's absolute
    /// position) so that a revised appendix with an inserted row elsewhere keeps the
    /// other tasks' ids. Row numbers alone are not unique: 004 repeats 6.1 and 8.4.
    pub fn for_appendix_row(
        plan_id: &PlanId,
        section_number: Option<&str>,
        row_number: &str,
        occurrence: usize,
    ) -> Self {
        let key = format!(
            "{}/{}/{}#{}",
            plan_id,
            section_number.unwrap_or(""),
            row_number,
            occurrence
        );
        Self(Uuid::new_v5(&TASK_ID_NAMESPACE, key.as_bytes()))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| InvalidInput::new("task_id", format!("{} is not a UUID", quoted(raw))))
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The task id that is `uuid` (as stored in an index key).
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The client's id for one command, used to make retries idempotent.
///
/// 1 to 128 printable ASCII characters without spaces (it travels in a NATS header).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > 128 || !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "request_id",
                format!(
                    "{} must be 1-128 printable ASCII characters without spaces",
                    quoted(raw)
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestId {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<RequestId> for String {
    fn from(request_id: RequestId) -> Self {
        request_id.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of a report request (ad hoc or coordination) within its task, chosen by the
/// requester or derived from its request id, e.g. `dot-xuat-2024-06`.
///
/// 1 to 64 ASCII letters, digits, `-`, `_`, `.` or `:`: it appears in request ids and
/// log lines, and must stay short and unambiguous.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestKey(String);

impl RequestKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(valid_char) {
            return Err(InvalidInput::new(
                "request_key",
                format!(
                    "{} must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.' or ':'",
                    quoted(raw)
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestKey {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<RequestKey> for String {
    fn from(key: RequestKey) -> Self {
        key.0
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agency's identity: its directory id (`quang-tri-so-tttt`), or `unlisted-…` for a
/// name the directory does not know (scoped to its plan; see dondoc-app's agencies.rs).
///
/// Names are for display and for matching within one task (whose province makes them
/// unambiguous); across tasks, plans and provinces an agency is its id: "Sở Thông tin và
/// Truyền thông" is `quang-tri-so-tttt` in one province and `quang-ngai-so-tttt` in
/// another. Lowercase ASCII letters, digits and `-`, 1 to 100 characters: it is a NATS
/// subject token (reminders) and a sled key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyId(String);

impl AgencyId {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.chars().all(valid_char) {
            return Err(InvalidInput::new(
                "agency_id",
                format!(
                    "{} must be 1-{} characters of a-z, 0-9 or '-'",
                    quoted(raw),
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Whether `raw` has an id's shape (an API field may hold an id or a name).
    pub fn looks_like(raw: &str) -> bool {
        Self::parse(raw.trim()).is_ok() && raw.trim().contains('-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AgencyId {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<AgencyId> for String {
    fn from(id: AgencyId) -> Self {
        id.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agency's name as written in a plan ("Sở TT&TT", "UBND cấp huyện").
///
/// Whitespace is collapsed and trimmed; otherwise the name is kept exactly as written.
/// Resolving abbreviations and groups against an agency directory is a separate step.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyName(String);

impl AgencyName {
    /// A name a caller gives: at most 300 characters on one line, no control character
    /// or bidirectional mark (`text.rs`).
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        check_text("agency", raw.trim(), limits::AGENCY_NAME, false)?;
        Self::from_stored(raw)
    }

    /// A name as events store it: only non-empty once whitespace is collapsed, as every
    /// build has checked. Stricter rules for new input never make a stored event
    /// unreadable.
    fn from_stored(raw: &str) -> Result<Self, InvalidInput> {
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() || collapsed.chars().count() > limits::AGENCY_NAME {
            return Err(InvalidInput::new(
                "agency",
                format!(
                    "{} must be a non-empty name of at most {} characters",
                    quoted(raw),
                    limits::AGENCY_NAME
                ),
            ));
        }
        Ok(Self(collapsed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to compare and index names: lowercase, single spaces.
    pub fn match_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for AgencyName {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::from_stored(&raw)
    }
}

impl From<AgencyName> for String {
    fn from(agency: AgencyName) -> Self {
        agency.0
    }
}

impl fmt::Display for AgencyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_id_rejects_subject_metacharacters() {
        for bad in ["", "a.b", "a b", "a*", "a>", "A", "189/KH-UBND"] {
            assert!(PlanId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            PlanId::parse("qng-189_2022").unwrap().as_str(),
            "qng-189_2022"
        );
    }

    #[test]
    fn task_ids_are_deterministic_and_distinguish_repeated_row_numbers() {
        let plan = PlanId::parse("qng-189-2022").unwrap();
        let first = TaskId::for_appendix_row(&plan, Some("6"), "6.1", 1);
        assert_eq!(first, TaskId::for_appendix_row(&plan, Some("6"), "6.1", 1));
        assert_ne!(first, TaskId::for_appendix_row(&plan, Some("6"), "6.1", 2));
        let other_plan = PlanId::parse("other").unwrap();
        assert_ne!(
            first,
            TaskId::for_appendix_row(&other_plan, Some("6"), "6.1", 1)
        );
    }

    #[test]
    fn agency_ids_are_subject_tokens() {
        for bad in ["", "a.b", "a b", "A-b", "a_b", "a>", "Sở-tt"] {
            assert!(AgencyId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(AgencyId::parse(&"a".repeat(101)).is_err());
        assert_eq!(
            AgencyId::parse("quang-tri-so-tttt").unwrap().as_str(),
            "quang-tri-so-tttt"
        );
        assert!(AgencyId::looks_like("quang-tri-so-tttt"));
        assert!(!AgencyId::looks_like("Sở TT&TT"));
        assert!(!AgencyId::looks_like("operator"), "one word is a name");
    }

    #[test]
    fn agency_names_collapse_whitespace_and_keep_spelling() {
        let agency = AgencyName::parse("  Sở   TT&TT ").unwrap();
        assert_eq!(agency.as_str(), "Sở TT&TT");
        assert_eq!(agency.match_key(), "sở tt&tt");
        assert!(AgencyName::parse(" \t").is_err());
    }

    #[test]
    fn request_id_rejects_spaces_and_empty() {
        assert!(RequestId::parse("").is_err());
        assert!(RequestId::parse("a b").is_err());
        assert!(RequestId::parse("import-1/row:2").is_ok());
    }
}
