//! The agency directory as the use cases see it: the one place where a written agency
//! name is resolved (`dondoc_agencies::Resolution` is matched here and nowhere else).
//!
//! Semantics:
//! - **Canonical names.** Tasks and events store an agency under its directory name
//!   ("Sở TT&TT" → "Sở Thông tin và Truyền thông"); a name the directory does not know is
//!   kept as written.
//! - **Groups.** A group's members are those the directory lists for it in the task's
//!   province; `groups_containing` looks in every province, since a query names an
//!   agency without a plan.
//! - **Subject tokens.** An agency's token in NATS subjects is its directory id; a name
//!   the directory does not know gets `unlisted-` and a hash of its match key, so the
//!   same name always gets the same subject.
//!
//! Invariant: resolution is exact after normalisation (the directory crate's rule);
//! suggestions are only ever shown, never applied.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dondoc_agencies::{AgencyDirectory, Resolution};
use dondoc_domain::AgencyName;
use uuid::Uuid;

/// Namespace of the hashed tokens of agencies the directory does not know. Changing it
/// moves their reminder subjects: never do.
const UNLISTED_TOKEN_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2023_0000_0002);

/// A written name as the directory reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A directory entry (an agency or a group): its canonical name and id.
    Known { name: AgencyName, id: String },
    /// Not in the directory: kept as written, with names a person might have meant.
    Unknown { suggestions: Vec<String> },
}

/// The directory facade. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Agencies {
    directory: Arc<AgencyDirectory>,
    /// Match key of each agency a group lists → the canonical names of those groups, in
    /// province and file order (computed once: the directory never changes at run time).
    groups_by_member: Arc<HashMap<String, Vec<AgencyName>>>,
}

impl Agencies {
    pub fn new(directory: AgencyDirectory) -> Self {
        let groups_by_member = index_groups(&directory);
        Self {
            directory: Arc::new(directory),
            groups_by_member: Arc::new(groups_by_member),
        }
    }

    /// The canonical name of the agency (not a group) with directory id `id`: who a
    /// token's subject is.
    pub fn by_id(&self, id: &str) -> Option<AgencyName> {
        self.directory
            .agency(id)
            .and_then(|agency| AgencyName::parse(&agency.name).ok())
    }

    /// The directory itself, for readers that recognise names in text (the appendix
    /// parser's known names).
    pub fn directory(&self) -> &AgencyDirectory {
        &self.directory
    }

    /// What `written` means for a plan of `province` (or anywhere, module docs).
    pub fn resolve(&self, province: Option<&str>, written: &str) -> Resolved {
        let (name, id) = match self.directory.resolve_for(province, written) {
            Resolution::Agency(agency) => (agency.name, agency.id),
            Resolution::Group(group) => (group.name, group.id),
            Resolution::Unknown { suggestions } => return Resolved::Unknown { suggestions },
        };
        match AgencyName::parse(&name) {
            Ok(name) => Resolved::Known { name, id },
            // A directory name that is not a valid agency name cannot be stored; the
            // directory's tests keep this from happening.
            Err(_) => Resolved::Unknown {
                suggestions: Vec::new(),
            },
        }
    }

    /// The name tasks are stored under for an agency written any known way; unknown
    /// names stay as written.
    pub fn canonical(&self, written: &AgencyName) -> AgencyName {
        match self.resolve(None, written.as_str()) {
            Resolved::Known { name, .. } => name,
            Resolved::Unknown { .. } => written.clone(),
        }
    }

    /// The members of `group` in `province`'s directory, if it is a group with known
    /// members.
    pub fn group_members(
        &self,
        province: Option<&str>,
        group: &AgencyName,
    ) -> Option<Vec<AgencyName>> {
        match self.directory.resolve_for(province, group.as_str()) {
            Resolution::Group(group) => {
                let names: Vec<AgencyName> = group
                    .members
                    .iter()
                    .filter_map(|member| AgencyName::parse(&member.name).ok())
                    .collect();
                (!names.is_empty()).then_some(names)
            }
            _ => None,
        }
    }

    /// The canonical names of the groups that list `agency` as a member, in any province.
    pub fn groups_containing(&self, agency: &AgencyName) -> Vec<AgencyName> {
        self.groups_by_member
            .get(&agency.match_key())
            .cloned()
            .unwrap_or_default()
    }

    /// The names under which tasks may hold `agency`'s obligations: its own, then the
    /// groups that list it.
    pub fn agency_and_groups(&self, agency: &AgencyName) -> Vec<AgencyName> {
        let mut names = vec![agency.clone()];
        names.extend(self.groups_containing(agency));
        names
    }

    /// The agency's token in NATS subjects (module docs).
    pub fn subject_token(&self, province: Option<&str>, agency: &AgencyName) -> String {
        match self.resolve(province, agency.as_str()) {
            Resolved::Known { id, .. } => id,
            Resolved::Unknown { .. } => {
                let hash = Uuid::new_v5(&UNLISTED_TOKEN_NAMESPACE, agency.match_key().as_bytes());
                format!("unlisted-{}", &hash.simple().to_string()[..16])
            }
        }
    }
}

fn index_groups(directory: &AgencyDirectory) -> HashMap<String, Vec<AgencyName>> {
    let mut groups_by_member: HashMap<String, Vec<AgencyName>> = HashMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let names = directory.known_names();
    for province in directory.provinces() {
        for name in &names {
            let Some(Resolution::Group(group)) = directory.resolve_in(&province, name) else {
                continue;
            };
            let Ok(group_name) = AgencyName::parse(&group.name) else {
                continue;
            };
            for member in &group.members {
                let Ok(member) = AgencyName::parse(&member.name) else {
                    continue;
                };
                let key = member.match_key();
                if seen.insert((key.clone(), group_name.match_key())) {
                    groups_by_member
                        .entry(key)
                        .or_default()
                        .push(group_name.clone());
                }
            }
        }
    }
    groups_by_member
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agencies() -> Agencies {
        Agencies::new(dondoc_agencies::shipped().unwrap())
    }

    fn name(text: &str) -> AgencyName {
        AgencyName::parse(text).unwrap()
    }

    #[test]
    fn names_resolve_to_their_canonical_form_and_unknown_ones_stay() {
        let agencies = agencies();
        assert_eq!(
            agencies.canonical(&name("Sở TT&TT")).as_str(),
            "Sở Thông tin và Truyền thông"
        );
        assert_eq!(
            agencies.canonical(&name("Công ty Giả Mạo")).as_str(),
            "Công ty Giả Mạo"
        );
    }

    #[test]
    fn a_member_finds_its_groups_and_a_group_its_members() {
        let agencies = agencies();
        let district = name("Ủy ban nhân dân huyện Gio Linh");
        let groups = agencies.groups_containing(&district);
        assert!(
            groups
                .iter()
                .any(|group| group.as_str() == "Ủy ban nhân dân cấp huyện"),
            "{groups:?}"
        );
        let members = agencies
            .group_members(Some("Quảng Trị"), &name("UBND cấp huyện"))
            .unwrap();
        assert!(members.contains(&district), "{members:?}");
        assert_eq!(agencies.agency_and_groups(&district)[0], district);
    }

    #[test]
    fn subject_tokens_are_directory_ids_or_stable_hashes() {
        let agencies = agencies();
        assert_eq!(
            agencies.subject_token(Some("Quảng Trị"), &name("Sở TT&TT")),
            "quang-tri-so-tttt"
        );
        let unlisted = agencies.subject_token(None, &name("Công ty Giả Mạo"));
        assert!(unlisted.starts_with("unlisted-"), "{unlisted}");
        assert_eq!(
            unlisted,
            agencies.subject_token(None, &name("công ty giả mạo")),
            "the same name, the same subject"
        );
    }
}
