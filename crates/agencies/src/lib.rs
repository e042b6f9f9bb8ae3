//! The agency directory: which agencies and groups of agencies a province
//! has, under which names plans write them, and what a name written in a plan
//! refers to.
//!
//! This crate owns the reading and validation of the province directory
//! files (`deploy/agencies/*.json`, format in `deploy/agencies/README.md`)
//! and the resolution of written names ("Sở TT&TT", "UBND cấp huyện") to
//! directory entries. It does not split table cells into names (that is
//! `dondoc-appendix`) and does not decide what a task does with an unknown
//! name.
//!
//! Invariants:
//!
//! - **Pure.** No I/O, no clock, no global state: input is a `&str`, output
//!   is data or a [`DirectoryError`] naming the province, entry and field at
//!   fault.
//! - **Resolution is exact, never fuzzy.** A written name resolves only when
//!   its normalised form (case, whitespace, trailing punctuation, a leading
//!   "các", spaces around `&` and `-`, tone placement; see [`resolve`]) is
//!   equal to the normalised form of a canonical name or alias. Fuzzy
//!   matching only ranks the suggestions of [`Resolution::Unknown`]: a wrong
//!   guess would silently give a task to the wrong agency.
//! - **Unknown names are the caller's.** [`Resolution::Unknown`] means "keep
//!   the name as written and warn"; nothing is ever dropped or replaced here.
//! - **One name, one entry, per province.** A file in which two entries share
//!   a normalised name or alias is refused, so resolution within a province
//!   never has to choose.
//! - **Ids are unique across everything merged.** An id names one entry of
//!   one province (the shipped files prefix every id with the province slug);
//!   [`AgencyDirectory::merged`] refuses a clash instead of renaming.
//! - **A name that means different entries in different provinces is not
//!   resolved by an unqualified lookup** ([`AgencyDirectory::resolve`] on a
//!   merged directory): it comes back [`Resolution::Unknown`], with the
//!   candidates as suggestions. Callers that know the plan's province use
//!   [`AgencyDirectory::resolve_in`].
//!
//! ```
//! use dondoc_agencies::{AgencyDirectory, Resolution};
//!
//! let directory = AgencyDirectory::from_json(r#"{
//!   "province": "Quảng Ngãi",
//!   "agencies": [
//!     { "id": "quang-ngai-so-tttt", "name": "Sở Thông tin và Truyền thông",
//!       "aliases": ["Sở TT&TT"] },
//!     { "id": "quang-ngai-ubnd-huyen-ba-to", "name": "Ủy ban nhân dân huyện Ba Tơ" }
//!   ],
//!   "groups": [
//!     { "id": "quang-ngai-ubnd-cap-huyen", "name": "Ủy ban nhân dân cấp huyện",
//!       "aliases": ["UBND cấp huyện"], "members": ["quang-ngai-ubnd-huyen-ba-to"] }
//!   ]
//! }"#)?;
//!
//! let Resolution::Agency(agency) = directory.resolve("Sở TT & TT;") else { panic!() };
//! assert_eq!(agency.name, "Sở Thông tin và Truyền thông");
//!
//! let Resolution::Group(group) = directory.resolve("Các UBND cấp huyện") else { panic!() };
//! assert_eq!(group.members[0].id, "quang-ngai-ubnd-huyen-ba-to");
//!
//! assert_eq!(
//!     directory.resolve("Sở Thông tin và Truyền thong"),
//!     Resolution::Unknown { suggestions: vec!["Sở Thông tin và Truyền thông".to_owned()] },
//! );
//! # Ok::<(), dondoc_agencies::DirectoryError>(())
//! ```
//!
//! [`resolve`]: AgencyDirectory::resolve

mod error;
mod file;
mod normalize;

use std::collections::HashMap;

pub use error::DirectoryError;

use file::{parse_province, Entry, Province};
use normalize::normalize;

/// One agency of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agency {
    /// Stable id from the directory file (lowercase ASCII kebab-case, unique
    /// across every merged province).
    pub id: String,
    /// The canonical name.
    pub name: String,
}

/// A group of agencies ("UBND cấp huyện", "Sở, ban, ngành cấp tỉnh").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// Stable id from the directory file, in the same id space as agencies.
    pub id: String,
    /// The canonical name.
    pub name: String,
    /// The member agencies, in file order. Empty when the directory does not
    /// enumerate them ("UBND cấp xã", "Các cơ quan, đơn vị liên quan").
    pub members: Vec<Agency>,
}

/// What a written name refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// One agency.
    Agency(Agency),
    /// A group of agencies.
    Group(Group),
    /// Not in the directory (or, in an unqualified lookup on a merged
    /// directory, in more than one province): the caller keeps the name as
    /// written and warns.
    Unknown {
        /// Hints for a person, never applied automatically. Up to
        /// [`MAX_SUGGESTIONS`] canonical names, best first, empty if nothing
        /// is close. An entry is close when one of its names or aliases,
        /// normalised, either has a normalised Levenshtein similarity to the
        /// normalised written name of at least [`SUGGESTION_THRESHOLD`]
        /// (typos), or holds it or is held by it on word boundaries with at
        /// least two words on the shorter side (a name cut short, or with
        /// words added). Edit matches rank first, by similarity; then
        /// containment, by length ratio; ties by name.
        ///
        /// For a name that several provinces know (unqualified lookup in a
        /// merged directory), the candidates instead, in province order:
        /// each as the first of its names that resolves to it alone (e.g.
        /// "Sở Thông tin và Truyền thông tỉnh Quảng Ngãi"), or as
        /// "name (province)" if it has none.
        suggestions: Vec<String>,
    },
}

/// At most this many suggestions come with [`Resolution::Unknown`].
pub const MAX_SUGGESTIONS: usize = 3;

/// The least normalised Levenshtein similarity (0 to 1) between the
/// normalised written name and one of an entry's normalised names for the
/// entry to be suggested as a typo fix (see [`Resolution::Unknown`]). At 0.75
/// "Sở Thông tin và Truyền thong" or "Sở Thông tin Truyền thông" find
/// "Sở Thông tin và Truyền thông", while "Sở Tư pháp" does not find
/// "Sở Y tế".
pub const SUGGESTION_THRESHOLD: f64 = 0.75;

/// The agency directory of one or more provinces. Build it with
/// [`AgencyDirectory::from_json`] and [`AgencyDirectory::merged`].
#[derive(Debug, Clone, Default)]
pub struct AgencyDirectory {
    provinces: Vec<Province>,
    /// Normalised name or alias → (province, entry) for every province that
    /// has it, in province order.
    index: HashMap<String, Vec<(usize, usize)>>,
}

impl AgencyDirectory {
    /// A text that differs whenever the directory's content does (every province, in
    /// order, as parsed): what derived statistics record, so that they are derived
    /// again under another directory.
    pub fn fingerprint(&self) -> String {
        // The entries, not the lookup maps (a HashMap's order differs between runs).
        self.provinces
            .iter()
            .map(|province| format!("{}: {:?}\n", province.name, province.entries))
            .collect()
    }

    /// Parses one province file (format: `deploy/agencies/README.md`).
    ///
    /// # Errors
    ///
    /// [`DirectoryError::Json`] for malformed JSON, a missing field, a field
    /// of the wrong type or an unknown field; otherwise the variant naming
    /// the entry and field at fault: an empty province, an id that is not
    /// kebab-case or is used twice, an empty name or alias, a name or alias
    /// that (normalised) already names another entry, a group member that is
    /// not an agency id of the file or is listed twice.
    pub fn from_json(json: &str) -> Result<Self, DirectoryError> {
        Self::from_provinces(vec![parse_province(json)?])
    }

    /// Several directories as one; provinces keep their order (the order of
    /// [`provinces`](Self::provinces) and [`known_names`](Self::known_names)).
    /// Ids stay as written and must not clash across provinces. A name that
    /// two provinces both know is answered by
    /// [`resolve_in`](Self::resolve_in) for each province, but not by an
    /// unqualified [`resolve`](Self::resolve), which cannot tell which
    /// province the writer meant. An empty list gives an empty directory.
    ///
    /// # Errors
    ///
    /// [`DirectoryError::DuplicateProvince`] if a province (compared
    /// normalised) comes twice, [`DirectoryError::IdClash`] if an id is used
    /// in two provinces.
    pub fn merged(directories: Vec<AgencyDirectory>) -> Result<Self, DirectoryError> {
        Self::from_provinces(directories.into_iter().flat_map(|d| d.provinces).collect())
    }

    fn from_provinces(provinces: Vec<Province>) -> Result<Self, DirectoryError> {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (p, province) in provinces.iter().enumerate() {
            if let Some(first) = provinces[..p]
                .iter()
                .find(|q| q.normalized == province.normalized)
            {
                return Err(DirectoryError::DuplicateProvince {
                    province: first.name.clone(),
                });
            }
            for entry in &province.entries {
                if let Some(&q) = ids.get(entry.id.as_str()) {
                    return Err(DirectoryError::IdClash {
                        id: entry.id.clone(),
                        first: provinces[q].name.clone(),
                        second: province.name.clone(),
                    });
                }
                ids.insert(&entry.id, p);
            }
        }
        let mut index: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (p, province) in provinces.iter().enumerate() {
            for (normalized, &e) in &province.index {
                index.entry(normalized.clone()).or_default().push((p, e));
            }
        }
        for hits in index.values_mut() {
            hits.sort_unstable();
        }
        Ok(Self { provinces, index })
    }

    /// What `written` refers to, in any province of the directory.
    ///
    /// Names are compared after normalisation: case-insensitive; whitespace
    /// runs (line breaks, no-break spaces) as one space; trailing `;` `,` `.`
    /// `:` ignored; a leading "các " ignored; `&` and `-` equal with or
    /// without spaces around them (`–`/`—` read as `-`); "hoá" = "hóa" and
    /// "Uỷ" = "Ủy" (tone on the first vowel of a final oa/oe/uy). Text is
    /// assumed to be NFC. Only an exact match of normalised forms resolves;
    /// a name that several provinces know resolves to none of them.
    #[must_use]
    pub fn resolve(&self, written: &str) -> Resolution {
        let normalized = normalize(written);
        match self.index.get(&normalized).map(Vec::as_slice) {
            Some(&[(p, e)]) => self.resolution(p, e),
            Some(hits) if !hits.is_empty() => Resolution::Unknown {
                suggestions: self.disambiguations(hits),
            },
            _ => Resolution::Unknown {
                suggestions: self.suggestions(&normalized, None),
            },
        }
    }

    /// What `written` refers to in `province` (compared normalised, e.g.
    /// "Quảng Ngãi" = "quảng ngãi"), with the same matching as
    /// [`resolve`](Self::resolve); suggestions come from that province only.
    /// `None` if the directory has no such province.
    #[must_use]
    pub fn resolve_in(&self, province: &str, written: &str) -> Option<Resolution> {
        let wanted = normalize(province);
        let p = self.provinces.iter().position(|q| q.normalized == wanted)?;
        let normalized = normalize(written);
        Some(match self.provinces[p].index.get(&normalized) {
            Some(&e) => self.resolution(p, e),
            None => Resolution::Unknown {
                suggestions: self.suggestions(&normalized, Some(p)),
            },
        })
    }

    /// What `written` means for a plan of `province` (when known), else anywhere.
    ///
    /// With a province, its entries decide. Without one, a name several provinces know
    /// still resolves when every province means the same canonical name by it ("Sở
    /// TT&TT" is "Sở Thông tin và Truyền thông" everywhere): tasks store canonical
    /// names, so which province's entry answers does not change what is stored. A name
    /// that means different things in different provinces stays unknown.
    #[must_use]
    pub fn resolve_for(&self, province: Option<&str>, written: &str) -> Resolution {
        if let Some(resolution) = province.and_then(|province| self.resolve_in(province, written)) {
            return resolution;
        }
        let anywhere = self.resolve(written);
        if !matches!(anywhere, Resolution::Unknown { .. }) {
            return anywhere;
        }
        let known: Vec<Resolution> = self
            .provinces
            .iter()
            .filter_map(|province| self.resolve_in(&province.name, written))
            .filter(|resolution| !matches!(resolution, Resolution::Unknown { .. }))
            .collect();
        let canonical = |resolution: &Resolution| match resolution {
            Resolution::Agency(agency) => Some(agency.name.clone()),
            Resolution::Group(group) => Some(group.name.clone()),
            Resolution::Unknown { .. } => None,
        };
        match known.first() {
            Some(first)
                if known
                    .iter()
                    .all(|other| canonical(other) == canonical(first)) =>
            {
                first.clone()
            }
            _ => anywhere,
        }
    }

    /// Every province that knows `written` (exactly, as [`resolve`](Self::resolve)
    /// matches), with what it means there, in province order: the candidates of a
    /// name that several provinces use for different entries.
    #[must_use]
    pub fn everywhere(&self, written: &str) -> Vec<(String, Resolution)> {
        self.index
            .get(&normalize(written))
            .map(|hits| {
                hits.iter()
                    .map(|&(p, e)| (self.provinces[p].name.clone(), self.resolution(p, e)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The province of the agency or group with this id, if any.
    #[must_use]
    pub fn province_of(&self, id: &str) -> Option<String> {
        self.find_id(id)
            .map(|(p, _)| self.provinces[p].name.clone())
    }

    /// The agency with this id, if any.
    #[must_use]
    pub fn agency(&self, id: &str) -> Option<Agency> {
        self.find_id(id)
            .filter(|(p, e)| self.entry(*p, *e).members.is_none())
            .map(|(p, e)| self.agency_at(p, e))
    }

    /// The group with this id, if any.
    #[must_use]
    pub fn group(&self, id: &str) -> Option<Group> {
        let (p, e) = self.find_id(id)?;
        match self.resolution(p, e) {
            Resolution::Group(group) => Some(group),
            _ => None,
        }
    }

    /// The id of every agency and group, province by province, in file order: the
    /// tokens of their reminder subjects.
    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        self.provinces
            .iter()
            .flat_map(|province| province.entries.iter().map(|entry| entry.id.clone()))
            .collect()
    }

    /// Every canonical name and alias as written in the files (agencies, then
    /// groups, province by province, in file order; exact duplicates
    /// removed), e.g. for parsers that must recognise agency names in text.
    #[must_use]
    pub fn known_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for province in &self.provinces {
            for entry in &province.entries {
                for written in &entry.written {
                    if seen.insert(written.as_str()) {
                        names.push(written.clone());
                    }
                }
            }
        }
        names
    }

    /// The province names, in the order the directories were given.
    #[must_use]
    pub fn provinces(&self) -> Vec<String> {
        self.provinces.iter().map(|p| p.name.clone()).collect()
    }

    fn entry(&self, p: usize, e: usize) -> &Entry {
        &self.provinces[p].entries[e]
    }

    fn find_id(&self, id: &str) -> Option<(usize, usize)> {
        self.provinces.iter().enumerate().find_map(|(p, province)| {
            province
                .entries
                .iter()
                .position(|entry| entry.id == id)
                .map(|e| (p, e))
        })
    }

    fn agency_at(&self, p: usize, e: usize) -> Agency {
        let entry = self.entry(p, e);
        Agency {
            id: entry.id.clone(),
            name: entry.name.clone(),
        }
    }

    fn resolution(&self, p: usize, e: usize) -> Resolution {
        let entry = self.entry(p, e);
        match &entry.members {
            None => Resolution::Agency(self.agency_at(p, e)),
            Some(members) => Resolution::Group(Group {
                id: entry.id.clone(),
                name: entry.name.clone(),
                members: members.iter().map(|&m| self.agency_at(p, m)).collect(),
            }),
        }
    }

    /// For a name several provinces know: each candidate as the first of its
    /// names that resolves to it alone, else as "name (province)".
    fn disambiguations(&self, hits: &[(usize, usize)]) -> Vec<String> {
        hits.iter()
            .take(MAX_SUGGESTIONS)
            .map(|&(p, e)| {
                let entry = self.entry(p, e);
                entry
                    .written
                    .iter()
                    .zip(&entry.normalized)
                    .find(|(_, n)| self.index.get(*n).is_some_and(|h| h.len() == 1))
                    .map_or_else(
                        || format!("{} ({})", entry.name, self.provinces[p].name),
                        |(w, _)| w.clone(),
                    )
            })
            .collect()
    }

    /// Canonical names close to `normalized`, best first (see
    /// [`Resolution::Unknown`]); in one province or in all.
    fn suggestions(&self, normalized: &str, only: Option<usize>) -> Vec<String> {
        if normalized.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(Closeness, &str)> = Vec::new();
        for (p, province) in self.provinces.iter().enumerate() {
            if only.is_some_and(|o| o != p) {
                continue;
            }
            for entry in &province.entries {
                let best = entry
                    .normalized
                    .iter()
                    .filter_map(|n| Closeness::of(normalized, n))
                    .max_by(Closeness::cmp);
                if let Some(best) = best {
                    scored.push((best, &entry.name));
                }
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut names: Vec<String> = Vec::new();
        for (_, name) in scored {
            if names.len() == MAX_SUGGESTIONS {
                break;
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        names
    }
}

/// How close a written name is to a known one, for suggestions only. Better
/// closeness compares greater: any edit-distance match beats any containment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Closeness {
    /// One name holds the other, on word boundaries, and the shorter has at
    /// least two words ("Sở Thông tin" in "Sở Thông tin và Truyền thông");
    /// the value is the shorter length over the longer.
    Contains(f64),
    /// Normalised Levenshtein similarity at least [`SUGGESTION_THRESHOLD`].
    Edit(f64),
}

impl Closeness {
    fn of(written: &str, known: &str) -> Option<Self> {
        let edit = strsim::normalized_levenshtein(written, known);
        if edit >= SUGGESTION_THRESHOLD {
            return Some(Self::Edit(edit));
        }
        let (short, long) = if written.len() <= known.len() {
            (written, known)
        } else {
            (known, written)
        };
        (short.contains(' ') && contains_words(long, short))
            .then(|| Self::Contains(short.chars().count() as f64 / long.chars().count() as f64))
    }

    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Edit(a), Self::Edit(b)) | (Self::Contains(a), Self::Contains(b)) => {
                a.total_cmp(b)
            }
            (Self::Edit(_), Self::Contains(_)) => std::cmp::Ordering::Greater,
            (Self::Contains(_), Self::Edit(_)) => std::cmp::Ordering::Less,
        }
    }
}

/// `true` if `part` occurs in `whole` starting and ending at word boundaries.
fn contains_words(whole: &str, part: &str) -> bool {
    whole.match_indices(part).any(|(i, _)| {
        let end = i + part.len();
        let before = whole[..i].chars().next_back();
        let after = whole[end..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The province files shipped in deploy/agencies/, as (file name, JSON). Compiled in
/// so a binary needs no path to them; an administrator replaces them at run time with
/// files of the same format.
pub const SHIPPED_FILES: [(&str, &str); 2] = [
    (
        "quang-ngai.json",
        include_str!("../../../deploy/agencies/quang-ngai.json"),
    ),
    (
        "quang-tri.json",
        include_str!("../../../deploy/agencies/quang-tri.json"),
    ),
];

/// The shipped province files, merged.
pub fn shipped() -> Result<AgencyDirectory, DirectoryError> {
    let provinces = SHIPPED_FILES
        .iter()
        .map(|(_, json)| AgencyDirectory::from_json(json))
        .collect::<Result<Vec<_>, _>>()?;
    AgencyDirectory::merged(provinces)
}

#[cfg(test)]
#[path = "resolve_for_tests.rs"]
mod resolve_for_tests;
