//! Why a directory file, or a set of them, was refused.

/// Why [`AgencyDirectory::from_json`](crate::AgencyDirectory::from_json) or
/// [`AgencyDirectory::merged`](crate::AgencyDirectory::merged) refused its
/// input. Every variant names the province, the entry (`agency "id"`,
/// `group "id"`, or `agencies[3]` when the id itself is the problem) and the
/// field at fault, so an administrator can find the line to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Not JSON, or not the shape of a directory file (missing field, wrong
    /// type, unknown field).
    #[error("not a valid agency directory file (line {line}, column {column}): {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The `province` field is empty or blank.
    #[error("field \"province\" is empty")]
    EmptyProvince,
    /// An `id` that is not lowercase ASCII kebab-case.
    #[error(
        "province {province:?}: {entry}: field \"id\": {id:?} is not lowercase ASCII \
         kebab-case (a-z, 0-9, words joined by single hyphens)"
    )]
    InvalidId {
        province: String,
        entry: String,
        id: String,
    },
    /// Two entries (agencies and groups share one id space) with one id.
    #[error("province {province:?}: {entry}: field \"id\": {id:?} is already the id of {first}")]
    DuplicateId {
        province: String,
        entry: String,
        id: String,
        first: String,
    },
    /// A `name` that is empty, or nothing but punctuation, once normalised.
    #[error("province {province:?}: {entry}: field \"name\" is empty")]
    EmptyName { province: String, entry: String },
    /// An alias that is empty, or nothing but punctuation, once normalised.
    #[error("province {province:?}: {entry}: field \"aliases\": {alias:?} is empty")]
    EmptyAlias {
        province: String,
        entry: String,
        alias: String,
    },
    /// A name or alias that, once normalised, is already a name or alias of
    /// another entry of the same province: it could not be resolved.
    #[error(
        "province {province:?}: {entry}: field \"{field}\": {written:?} already names \
         {other} (both read as {:?})",
        crate::normalize::normalize(.written)
    )]
    NameClash {
        province: String,
        entry: String,
        /// `"name"` or `"aliases"`.
        field: &'static str,
        written: String,
        other: String,
    },
    /// A group member that is not the id of an agency of the same file.
    #[error(
        "province {province:?}: {entry}: field \"members\": {member:?} is not the id of an \
         agency in this file"
    )]
    UnknownMember {
        province: String,
        entry: String,
        member: String,
    },
    /// A group member that is the id of a group: members are agencies.
    #[error(
        "province {province:?}: {entry}: field \"members\": {member:?} is a group; members \
         must be agencies"
    )]
    GroupAsMember {
        province: String,
        entry: String,
        member: String,
    },
    /// The same member listed twice in one group.
    #[error("province {province:?}: {entry}: field \"members\": {member:?} is listed twice")]
    DuplicateMember {
        province: String,
        entry: String,
        member: String,
    },
    /// Two merged directories for one province (compared normalised).
    #[error("province {province:?}: given more than once")]
    DuplicateProvince { province: String },
    /// The same id in two provinces: ids must be unique across merged
    /// directories (the shipped files prefix every id with the province).
    #[error(
        "id {id:?} is used in province {first:?} and in province {second:?}; ids must be \
         unique across provinces"
    )]
    IdClash {
        id: String,
        first: String,
        second: String,
    },
}
