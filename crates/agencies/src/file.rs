//! The province file format and its validation into a [`Province`].

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::DirectoryError;
use crate::normalize::normalize;

/// One province file, as written (see `deploy/agencies/README.md`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvinceFile {
    province: String,
    agencies: Vec<AgencyRecord>,
    #[serde(default)]
    groups: Vec<GroupRecord>,
    /// Free text for administrators; ignored.
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyRecord {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRecord {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    members: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

/// A validated province directory.
#[derive(Debug, Clone)]
pub(crate) struct Province {
    pub(crate) name: String,
    pub(crate) normalized: String,
    pub(crate) entries: Vec<Entry>,
    /// Normalised name or alias → index into `entries`.
    pub(crate) index: HashMap<String, usize>,
}

/// An agency or a group of one province.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The canonical name first, then the aliases, as written, duplicates
    /// removed.
    pub(crate) written: Vec<String>,
    /// The normalised forms of `written`, duplicates removed.
    pub(crate) normalized: Vec<String>,
    /// `None` for an agency; for a group, its members (indices into the
    /// province's entries, all agencies).
    pub(crate) members: Option<Vec<usize>>,
}

impl Entry {
    fn label(&self) -> String {
        let kind = if self.members.is_some() {
            "group"
        } else {
            "agency"
        };
        format!("{kind} {:?}", self.id)
    }
}

/// `true` for lowercase ASCII kebab-case: `a-z0-9` words joined by single
/// hyphens.
fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Parses and validates one province file.
pub(crate) fn parse_province(json: &str) -> Result<Province, DirectoryError> {
    let file: ProvinceFile = serde_json::from_str(json).map_err(|e| DirectoryError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let province = file.province.trim().to_owned();
    let province_normalized = normalize(&province);
    if province_normalized.is_empty() {
        return Err(DirectoryError::EmptyProvince);
    }

    let mut builder = Builder {
        province: province.clone(),
        entries: Vec::new(),
        ids: HashMap::new(),
        index: HashMap::new(),
    };
    for (i, record) in file.agencies.into_iter().enumerate() {
        builder.add(
            format!("agencies[{i}]"),
            record.id,
            record.name,
            record.aliases,
            None,
        )?;
    }
    let mut group_members = Vec::new();
    for (i, record) in file.groups.into_iter().enumerate() {
        let at = builder.add(
            format!("groups[{i}]"),
            record.id,
            record.name,
            record.aliases,
            Some(Vec::new()),
        )?;
        group_members.push((at, record.members));
    }
    for (at, members) in group_members {
        let resolved = builder.members(at, members)?;
        builder.entries[at].members = Some(resolved);
    }

    Ok(Province {
        name: province,
        normalized: province_normalized,
        entries: builder.entries,
        index: builder.index,
    })
}

struct Builder {
    province: String,
    entries: Vec<Entry>,
    /// id → index into `entries`.
    ids: HashMap<String, usize>,
    /// normalised name or alias → index into `entries`.
    index: HashMap<String, usize>,
}

impl Builder {
    /// Validates and adds one entry; returns its index.
    fn add(
        &mut self,
        position: String,
        id: String,
        name: String,
        aliases: Vec<String>,
        members: Option<Vec<usize>>,
    ) -> Result<usize, DirectoryError> {
        if !is_kebab(&id) {
            return Err(DirectoryError::InvalidId {
                province: self.province.clone(),
                entry: position,
                id,
            });
        }
        let at = self.entries.len();
        let mut entry = Entry {
            id,
            name: name.trim().to_owned(),
            written: Vec::new(),
            normalized: Vec::new(),
            members,
        };
        let label = entry.label();
        if let Some(&first) = self.ids.get(&entry.id) {
            return Err(DirectoryError::DuplicateId {
                province: self.province.clone(),
                entry: position,
                id: entry.id.clone(),
                first: self.entries[first].label(),
            });
        }

        let names =
            std::iter::once(("name", name)).chain(aliases.into_iter().map(|a| ("aliases", a)));
        for (field, written) in names {
            let normalized = normalize(&written);
            if normalized.is_empty() {
                return Err(if field == "name" {
                    DirectoryError::EmptyName {
                        province: self.province.clone(),
                        entry: label,
                    }
                } else {
                    DirectoryError::EmptyAlias {
                        province: self.province.clone(),
                        entry: label,
                        alias: written,
                    }
                });
            }
            match self.index.get(&normalized) {
                Some(&other) => {
                    return Err(DirectoryError::NameClash {
                        province: self.province.clone(),
                        entry: label,
                        field,
                        written,
                        other: self.entries[other].label(),
                    })
                }
                // Repeats within the entry itself are harmless.
                None if entry.normalized.contains(&normalized) => {}
                None => entry.normalized.push(normalized),
            }
            let written = written.trim().to_owned();
            if !entry.written.contains(&written) {
                entry.written.push(written);
            }
        }

        for normalized in &entry.normalized {
            self.index.insert(normalized.clone(), at);
        }
        self.ids.insert(entry.id.clone(), at);
        self.entries.push(entry);
        Ok(at)
    }

    /// Resolves the member ids of the group at `at`.
    fn members(&self, at: usize, members: Vec<String>) -> Result<Vec<usize>, DirectoryError> {
        let label = self.entries[at].label();
        let mut resolved = Vec::with_capacity(members.len());
        for member in members {
            let error = |make: fn(String, String, String) -> DirectoryError| {
                Err(make(self.province.clone(), label.clone(), member.clone()))
            };
            match self.ids.get(&member) {
                None => {
                    return error(|province, entry, member| DirectoryError::UnknownMember {
                        province,
                        entry,
                        member,
                    })
                }
                Some(&m) if self.entries[m].members.is_some() => {
                    return error(|province, entry, member| DirectoryError::GroupAsMember {
                        province,
                        entry,
                        member,
                    })
                }
                Some(m) if resolved.contains(m) => {
                    return error(|province, entry, member| DirectoryError::DuplicateMember {
                        province,
                        entry,
                        member,
                    })
                }
                Some(&m) => resolved.push(m),
            }
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::is_kebab;

    #[test]
    fn kebab_ids() {
        for ok in ["a", "so-tttt", "quang-ngai-ubnd-huyen-ba-to", "x1-2y"] {
            assert!(is_kebab(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "so_tttt", "sở", "a b", "a.b"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }
}
