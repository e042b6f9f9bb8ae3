//! The agency directory as the use cases see it: the one place where a written agency
//! name or id is resolved (`dondoc_agencies::Resolution` is matched here and nowhere
//! else), and where an agency a task names gets its identity.
//!
//! Semantics:
//! - **Identity is the id.** An agency is its directory id (`quang-tri-so-tttt`),
//!   province-scoped: "Sở Thông tin và Truyền thông" of Quảng Trị and of Quảng Ngãi are
//!   two agencies, counted apart. Names are for display, and for matching within one
//!   task, whose province makes them unambiguous (the domain compares names there).
//! - **Who a task names** ([`Agencies::identify`]): the id its assignment recorded at
//!   import (`TaskAssigned::agency_ids`); for a task recorded before ids were (its
//!   assignment has none), the directory's entry for the name in the task's province,
//!   exactly as an import would record it today: that is the upcasting of name-only
//!   events, done on read, so old data keeps working and means what new data means. A
//!   name the directory does not know keeps its text and gets `unlisted-` and a hash of
//!   its plan and match key: stable, and scoped to its plan (two plans' "Công ty Giả
//!   Mạo" are not known to be one agency).
//! - **Who a request names** ([`Agencies::target`]): a directory id, an `unlisted-` id,
//!   or a name, resolved in the given province; without one, a name only one province
//!   knows (or that means the same entry everywhere) resolves, and a name several
//!   provinces know for different agencies is refused, listing the candidates. A name
//!   nobody knows matches that name wherever it is unlisted.
//! - **Groups.** A group's members are those the directory lists for it in the task's
//!   province; an agency's groups are those of its own province that list it.
//! - **Names in commands** ([`Agencies::in_task`]): commands name agencies under their
//!   directory name in the task's province, which is what tasks store; an id given for
//!   a name is replaced by its entry's name, and must be an agency of the task's
//!   province.
//!
//! Invariant: resolution is exact after normalisation (the directory crate's rule);
//! suggestions are only ever shown, never applied.

use std::collections::HashMap;
use std::sync::Arc;

use dondoc_agencies::{AgencyDirectory, Resolution};
use dondoc_domain::{
    AgencyId, AgencyIdentity, AgencyName, InvalidInput, Obligation, PlanId, TaskAssigned, TaskState,
};
use uuid::Uuid;

/// Namespace of the ids of agencies the directory does not know. Changing it re-keys
/// them (their scorecard rows and reminder subjects): never do.
const UNLISTED_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_d0c0_0ed0_4e1d_9b1a_2023_0000_0002);

/// The prefix of the ids of agencies the directory does not know.
const UNLISTED_PREFIX: &str = "unlisted-";

/// An agency as dondoc counts it: who it is, and its name for display.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyRef {
    pub id: AgencyId,
    pub name: AgencyName,
}

impl AgencyRef {
    /// Whether the directory does not know it.
    pub fn is_unlisted(&self) -> bool {
        self.id.as_str().starts_with(UNLISTED_PREFIX)
    }
}

/// A written name as the directory reads it, for a plan of a province.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A directory entry (an agency or a group): its canonical name and id.
    Known { name: AgencyName, id: AgencyId },
    /// Not in the directory: kept as written, with names a person might have meant.
    Unknown { suggestions: Vec<String> },
}

/// Whom a request names (module docs, "Who a request names").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyTarget {
    /// `None` for a name the directory does not know: it matches that name wherever the
    /// directory does not know it.
    pub id: Option<AgencyId>,
    /// Its canonical name (as written, for an unknown one); `None` for an `unlisted-`
    /// id given as such.
    pub name: Option<AgencyName>,
    /// The groups of its province that list it, for an agency.
    pub groups: Vec<AgencyRef>,
}

impl AgencyTarget {
    /// The name to show for it.
    pub fn display(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), _) => name.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => String::new(),
        }
    }

    /// Whether `agency` is this target itself.
    pub fn is(&self, agency: &AgencyRef) -> bool {
        match (&self.id, &self.name) {
            (Some(id), _) => *id == agency.id,
            (None, Some(name)) => {
                agency.is_unlisted() && agency.name.match_key() == name.match_key()
            }
            (None, None) => false,
        }
    }

    /// Whether `agency` is this target or one of its groups: a task naming it concerns
    /// the target.
    pub fn is_or_has(&self, agency: &AgencyRef) -> bool {
        self.is(agency) || self.groups.iter().any(|group| group.id == agency.id)
    }

    /// The names under which tasks may name it (itself, then its groups), for the
    /// projection's name indexes; `None` when only its id is known (every task is a
    /// candidate).
    pub fn index_names(&self) -> Option<Vec<AgencyName>> {
        let own = self.name.clone()?;
        let mut names = vec![own];
        names.extend(self.groups.iter().map(|group| group.name.clone()));
        Some(names)
    }
}

/// The directory facade. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Agencies {
    directory: Arc<AgencyDirectory>,
    /// Agency id → the groups of its province that list it, in file order (computed
    /// once: the directory never changes at run time).
    groups_by_member: Arc<HashMap<String, Vec<AgencyRef>>>,
}

impl Agencies {
    /// Differs whenever the directory does (`AgencyDirectory::fingerprint`).
    pub fn fingerprint(&self) -> String {
        self.directory.fingerprint()
    }

    pub fn new(directory: AgencyDirectory) -> Self {
        let groups_by_member = index_groups(&directory);
        Self {
            directory: Arc::new(directory),
            groups_by_member: Arc::new(groups_by_member),
        }
    }

    /// The directory entry (agency or group) with id `id`.
    pub fn by_id(&self, id: &str) -> Option<AgencyRef> {
        let name = match (self.directory.agency(id), self.directory.group(id)) {
            (Some(agency), _) => agency.name,
            (None, Some(group)) => group.name,
            (None, None) => return None,
        };
        Some(AgencyRef {
            id: AgencyId::parse(id).ok()?,
            name: AgencyName::parse(&name).ok()?,
        })
    }

    /// The directory itself, for readers that recognise names in text (the appendix
    /// parser's known names).
    pub fn directory(&self) -> &AgencyDirectory {
        &self.directory
    }

    /// Who `written` is for a plan of `province`: with a province, that province's
    /// entry; without, the entry if only one province knows the name (a name several
    /// provinces know is no one's in particular, and stays unknown).
    pub fn resolve(&self, province: Option<&str>, written: &str) -> Resolved {
        known(self.entry(province, written))
    }

    /// The directory's answer for `written` in `province` (strict without one).
    fn entry(&self, province: Option<&str>, written: &str) -> Resolution {
        match province {
            Some(province) => self.directory.resolve_for(Some(province), written),
            None => self.directory.resolve(written),
        }
    }

    /// The name tasks store for `written` in a plan of `province`: the directory's name
    /// for it, which without a province may be the name several provinces agree on
    /// ("Sở TT&TT" is "Sở Thông tin và Truyền thông" everywhere); unknown names stay
    /// as written.
    pub fn stored_name(&self, province: Option<&str>, written: &str) -> Resolved {
        known(self.directory.resolve_for(province, written))
    }

    /// The name a command on task `state` of `plan` records for the agency it names as
    /// `written` (`field` in errors): an id's entry name, when the task's province means
    /// that entry by it (another province's id is refused); a name's directory name in
    /// the task's province; an unknown name as written.
    pub fn in_task(
        &self,
        state: &TaskState,
        plan: &PlanId,
        field: &str,
        written: &AgencyName,
    ) -> Result<AgencyName, InvalidInput> {
        if let Some(entry) = self.by_id(written.as_str().trim()) {
            let here = self.identify(state, plan, &entry.name);
            if here.id != entry.id {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "{} is an agency of {}; in this task of plan {plan} {} is {}",
                        entry.id,
                        self.directory
                            .province_of(entry.id.as_str())
                            .unwrap_or_default(),
                        entry.name,
                        here.id
                    ),
                ));
            }
            return Ok(entry.name);
        }
        Ok(match self.stored_name(state.province(), written.as_str()) {
            Resolved::Known { name, .. } => name,
            Resolved::Unknown { .. } => written.clone(),
        })
    }

    /// Who `name`, as task `state` of `plan` names it, is (module docs).
    pub fn identify(&self, state: &TaskState, plan: &PlanId, name: &AgencyName) -> AgencyRef {
        let assignment = state
            .assignment
            .as_ref()
            .map(|assignment| &assignment.details);
        self.identify_assigned(assignment, plan, name)
    }

    /// [`identify`](Self::identify) for a task whose current assignment is `assignment`.
    pub fn identify_assigned(
        &self,
        assignment: Option<&TaskAssigned>,
        plan: &PlanId,
        name: &AgencyName,
    ) -> AgencyRef {
        if let Some(id) = assignment.and_then(|assignment| assignment.recorded_id(name)) {
            return AgencyRef {
                id: id.clone(),
                name: name.clone(),
            };
        }
        let province = assignment
            .and_then(|assignment| assignment.reporting.as_ref())
            .and_then(|reporting| reporting.province.as_deref());
        self.identify_in(province, plan, name)
    }

    /// Who `name` is in a plan of `province`, by the directory alone: what an import
    /// records, and how a task without recorded ids is read.
    pub fn identify_in(
        &self,
        province: Option<&str>,
        plan: &PlanId,
        name: &AgencyName,
    ) -> AgencyRef {
        match self.resolve(province, name.as_str()) {
            Resolved::Known { id, .. } => AgencyRef {
                id,
                name: name.clone(),
            },
            Resolved::Unknown { .. } => AgencyRef {
                id: unlisted_id(plan, name),
                name: name.clone(),
            },
        }
    }

    /// The identities an import records for an assignment naming `names` in a plan of
    /// `province`: each name's, and those of the members of the groups among them.
    pub fn assignment_identities<'a>(
        &self,
        province: Option<&str>,
        plan: &PlanId,
        names: impl IntoIterator<Item = &'a AgencyName>,
    ) -> Vec<AgencyIdentity> {
        let mut identities: Vec<AgencyIdentity> = Vec::new();
        let mut push = |identity: AgencyIdentity| {
            if !identities
                .iter()
                .any(|known| known.name.match_key() == identity.name.match_key())
            {
                identities.push(identity);
            }
        };
        for name in names {
            let agency = self.identify_in(province, plan, name);
            push(AgencyIdentity {
                name: agency.name,
                id: agency.id,
            });
            for member in self.group_member_refs(province, name) {
                push(AgencyIdentity {
                    name: member.name,
                    id: member.id,
                });
            }
        }
        identities
    }

    /// Whom `written` names in a request (module docs); `field` names the request field
    /// in errors. `province` must be a province of the directory when given.
    pub fn target(
        &self,
        field: &str,
        written: &str,
        province: Option<&str>,
    ) -> Result<AgencyTarget, InvalidInput> {
        let written = written.trim();
        if let Some(province) = province {
            if self.directory.resolve_in(province, "").is_none() {
                return Err(InvalidInput::new(
                    "province",
                    format!(
                        "{} is not a province of the agency directory (it has: {})",
                        dondoc_domain::quoted(province),
                        self.directory.provinces().join(", ")
                    ),
                ));
            }
        }
        if let Some(entry) = self.by_id(written) {
            if let Some(asked) = province {
                // Its own name resolves to it in its own province only.
                let same = matches!(
                    self.resolve(Some(asked), entry.name.as_str()),
                    Resolved::Known { ref id, .. } if *id == entry.id
                );
                if !same {
                    let own = self.directory.province_of(written).unwrap_or_default();
                    return Err(InvalidInput::new(
                        field,
                        format!("{written} is an agency of {own}, not of {asked}"),
                    ));
                }
            }
            return Ok(self.target_of(entry));
        }
        if written.starts_with(UNLISTED_PREFIX) {
            let id = AgencyId::parse(written)
                .map_err(|error| InvalidInput::new(field, error.message))?;
            return Ok(AgencyTarget {
                id: Some(id),
                name: None,
                groups: Vec::new(),
            });
        }
        let name =
            AgencyName::parse(written).map_err(|error| InvalidInput::new(field, error.message))?;
        match self.resolve(province, written) {
            Resolved::Known { id, name } => Ok(self.target_of(AgencyRef { id, name })),
            Resolved::Unknown { .. } => {
                let candidates: Vec<String> = self
                    .directory
                    .everywhere(written)
                    .into_iter()
                    .filter_map(|(province, resolution)| match resolution {
                        Resolution::Agency(agency) => Some((province, agency.id)),
                        Resolution::Group(group) => Some((province, group.id)),
                        Resolution::Unknown { .. } => None,
                    })
                    .map(|(province, id)| format!("{id} ({province})"))
                    .collect();
                if candidates.len() > 1 {
                    return Err(InvalidInput::new(
                        field,
                        format!(
                            "{} names agencies of several provinces: {}; give its id or \
                             the province",
                            dondoc_domain::quoted(written),
                            candidates.join(", ")
                        ),
                    ));
                }
                Ok(AgencyTarget {
                    id: None,
                    name: Some(name),
                    groups: Vec::new(),
                })
            }
        }
    }

    /// The target that is `entry` (with its groups).
    pub(crate) fn target_of(&self, entry: AgencyRef) -> AgencyTarget {
        let groups = self.groups_of(&entry.id);
        AgencyTarget {
            id: Some(entry.id),
            name: Some(entry.name),
            groups,
        }
    }

    /// Whether `name`, as task `state` of `plan` names it, is `target` or one of its
    /// groups.
    pub fn names_target(
        &self,
        target: &AgencyTarget,
        state: &TaskState,
        plan: &PlanId,
        name: &AgencyName,
    ) -> bool {
        target.is_or_has(&self.identify(state, plan, name))
    }

    /// Whether `obligation` of task `state` is `target`'s: owed by it, or (for a group)
    /// by a member through it.
    pub fn owes(
        &self,
        target: &AgencyTarget,
        state: &TaskState,
        plan: &PlanId,
        obligation: &Obligation,
    ) -> bool {
        target.is(&self.identify(state, plan, &obligation.agency))
            || obligation
                .via_group
                .as_ref()
                .is_some_and(|group| target.is(&self.identify(state, plan, group)))
    }

    /// The members of `group` in `province`'s directory, if it is a group with known
    /// members.
    pub fn group_members(
        &self,
        province: Option<&str>,
        group: &AgencyName,
    ) -> Option<Vec<AgencyName>> {
        let names: Vec<AgencyName> = self
            .group_member_refs(province, group)
            .into_iter()
            .map(|member| member.name)
            .collect();
        (!names.is_empty()).then_some(names)
    }

    fn group_member_refs(&self, province: Option<&str>, group: &AgencyName) -> Vec<AgencyRef> {
        match self.entry(province, group.as_str()) {
            Resolution::Group(group) => group
                .members
                .iter()
                .filter_map(|member| self.by_id(&member.id))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The groups of agency `id`'s province that list it, in file order.
    pub fn groups_of(&self, id: &AgencyId) -> Vec<AgencyRef> {
        self.groups_by_member
            .get(id.as_str())
            .cloned()
            .unwrap_or_default()
    }

    /// The agency's token in NATS subjects: its id.
    pub fn subject_token(&self, state: &TaskState, plan: &PlanId, agency: &AgencyName) -> String {
        self.identify(state, plan, agency).id.to_string()
    }
}

fn known(resolution: Resolution) -> Resolved {
    let (name, id) = match resolution {
        Resolution::Agency(agency) => (agency.name, agency.id),
        Resolution::Group(group) => (group.name, group.id),
        Resolution::Unknown { suggestions } => return Resolved::Unknown { suggestions },
    };
    match (AgencyName::parse(&name), AgencyId::parse(&id)) {
        (Ok(name), Ok(id)) => Resolved::Known { name, id },
        // A directory entry that cannot be stored; the directory's tests keep this from
        // happening.
        _ => Resolved::Unknown {
            suggestions: Vec::new(),
        },
    }
}

/// `unlisted-` and 16 hex digits of a hash of the plan and the name's match key.
fn unlisted_id(plan: &PlanId, name: &AgencyName) -> AgencyId {
    let key = format!("{}\0{}", plan.as_str(), name.match_key());
    let hash = Uuid::new_v5(&UNLISTED_ID_NAMESPACE, key.as_bytes());
    AgencyId::parse(&format!(
        "{UNLISTED_PREFIX}{}",
        &hash.simple().to_string()[..16]
    ))
    .expect("a prefix and hex digits are an id")
}

fn index_groups(directory: &AgencyDirectory) -> HashMap<String, Vec<AgencyRef>> {
    let mut groups_by_member: HashMap<String, Vec<AgencyRef>> = HashMap::new();
    for id in directory.ids() {
        let Some(group) = directory.group(&id) else {
            continue;
        };
        let (Ok(group_id), Ok(group_name)) =
            (AgencyId::parse(&group.id), AgencyName::parse(&group.name))
        else {
            continue;
        };
        for member in &group.members {
            let listed = groups_by_member.entry(member.id.clone()).or_default();
            if !listed.iter().any(|known| known.id == group_id) {
                listed.push(AgencyRef {
                    id: group_id.clone(),
                    name: group_name.clone(),
                });
            }
        }
    }
    groups_by_member
}

#[cfg(test)]
#[path = "agencies_tests.rs"]
mod tests;
