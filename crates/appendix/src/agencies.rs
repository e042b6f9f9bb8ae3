//! Splitting a lead/coordinator cell into agency names.
//!
//! Names are kept as written (no abbreviation expansion: that needs an
//! agency directory and happens elsewhere). The only text this module adds
//! is what an elliptical list leaves out: the shared head of
//! `UBND cấp huyện, cấp xã` and of `các Sở: GTVT, Y tế`.

use std::collections::HashSet;

use crate::text::{word_at, word_positions};

/// Group phrases whose commas do not separate agencies: "Các Sở, ban, ngành
/// tỉnh" is one group, not three names. Compared case-insensitively, with
/// flexible whitespace, on word boundaries.
const GROUP_PHRASES: &[&str] = &[
    "sở, ban, ngành",
    "ban, ngành",
    "bộ, ngành",
    "phòng, ban, trung tâm",
    "phòng, ban",
    "huyện, thị xã, thành phố",
    "cơ quan, đơn vị",
    "đại học, cao đẳng, giáo dục nghề nghiệp",
];

/// A comma followed by one of these words continues the same name:
/// "Ngân hàng Nhà nước Việt Nam, Chi nhánh Quảng Ngãi" is one agency.
const CONTINUATION_WORDS: &[&str] = &["chi nhánh"];

/// Splits a lead or coordinator cell into agency names: trimmed, no empty
/// entries, in order of appearance, duplicates removed.
///
/// - `;` always separates; `,` separates too, except inside a group phrase
///   such as "Sở, ban, ngành" and before "Chi nhánh".
/// - Trailing separators are ignored: `"Sở TT&TT,"` gives `["Sở TT&TT"]`.
/// - A name starting with "cấp" takes the head of the name before it:
///   `"UBND cấp huyện, cấp xã"` gives `["UBND cấp huyện", "UBND cấp xã"]`.
/// - A colon list prefixes each item with the head before the colon (without
///   "các"), up to the next `;`: `"các Sở: GTVT, Y tế"` gives
///   `["Sở GTVT", "Sở Y tế"]`.
///
/// ```
/// use dondoc_appendix::split_agencies;
/// assert_eq!(
///     split_agencies("Công an tỉnh, các Sở: GTVT, Y tế, GD và ĐT, VH-TT&DL; Sở Xây dựng"),
///     ["Công an tỉnh", "Sở GTVT", "Sở Y tế", "Sở GD và ĐT", "Sở VH-TT&DL", "Sở Xây dựng"],
/// );
/// assert_eq!(
///     split_agencies("Các Sở, ban, ngành tỉnh; UBND cấp huyện; cấp xã"),
///     ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện", "UBND cấp xã"],
/// );
/// ```
#[must_use]
pub fn split_agencies(cell: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut previous: Option<String> = None;
    for segment in cell.split(';') {
        for name in segment_names(segment) {
            let name = match previous.as_deref() {
                Some(prev) => complete_level(prev, name),
                None => name,
            };
            previous = Some(name.clone());
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
    }
    names
}

/// Names in one `;`-separated segment, expanding a colon list.
fn segment_names(segment: &str) -> Vec<String> {
    let Some((before, after)) = segment.split_once(':') else {
        return split_commas(segment)
            .into_iter()
            .map(str::to_owned)
            .collect();
    };
    let mut names: Vec<String> = split_commas(before)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let items = split_commas(after);
    match names.pop() {
        None => names.extend(items.into_iter().map(str::to_owned)),
        // "Các đơn vị sau:" with nothing after it: keep the head as written.
        Some(head) if items.is_empty() => names.push(head),
        Some(head) => {
            let prefix = without_cac(&head);
            for item in items {
                names.push(if prefix.is_empty() {
                    item.to_owned()
                } else {
                    format!("{prefix} {item}")
                });
            }
        }
    }
    names
}

/// "các Sở" → "Sở"; "Sở" → "Sở".
fn without_cac(head: &str) -> &str {
    match word_at(head, 0, "các") {
        Some(end) => head[end..].trim_start(),
        None => head,
    }
}

/// `name` = "cấp xã" after `previous` = "UBND cấp huyện" becomes
/// "UBND cấp xã". Anything else is returned unchanged.
fn complete_level(previous: &str, name: String) -> String {
    if word_at(&name, 0, "cấp").is_none() {
        return name;
    }
    let Some(pos) = word_positions(previous, "cấp").last() else {
        return name;
    };
    let head = previous[..pos].trim_end();
    if head.is_empty() {
        name
    } else {
        format!("{head} {name}")
    }
}

/// Splits on the commas that separate names; pieces trimmed, empty ones
/// dropped. Linear: group phrases are found in one pass, in order of their
/// start, and commas are checked against them in the same order.
fn split_commas(s: &str) -> Vec<&str> {
    // Only commas can be protected, and group phrases start at a letter.
    let protected: Vec<(usize, usize)> = s
        .char_indices()
        .filter(|(_, c)| c.is_alphabetic())
        .flat_map(|(i, _)| {
            GROUP_PHRASES
                .iter()
                .filter_map(move |phrase| word_at(s, i, phrase).map(|end| (i, end)))
        })
        .collect();
    let mut next_range = 0;
    // The furthest end of the phrases that start before the current comma.
    let mut covered_to = 0;
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c != ',' {
            continue;
        }
        while let Some(&(range_start, range_end)) = protected.get(next_range) {
            if range_start >= i {
                break;
            }
            covered_to = covered_to.max(range_end);
            next_range += 1;
        }
        let after = &s[i + 1..];
        let next = i + 1 + (after.len() - after.trim_start().len());
        let continues = CONTINUATION_WORDS
            .iter()
            .any(|word| word_at(s, next, word).is_some());
        if covered_to <= i && !continues {
            pieces.push(&s[start..i]);
            start = i + 1;
        }
    }
    pieces.push(&s[start..]);
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(cell: &str) -> Vec<String> {
        split_agencies(cell)
    }

    #[test]
    fn semicolons_and_trailing_separators() {
        assert_eq!(split("Sở TT&TT"), ["Sở TT&TT"]);
        assert_eq!(split("Sở TT&TT,"), ["Sở TT&TT"]);
        assert_eq!(split("UBND cấp huyện;"), ["UBND cấp huyện"]);
        assert_eq!(split(" ; , ;"), Vec::<String>::new());
        assert_eq!(split(""), Vec::<String>::new());
    }

    #[test]
    fn group_phrase_sở_ban_ngành_stays_whole() {
        assert_eq!(
            split("Các Sở, ban, ngành tỉnh; UBND cấp huyện;"),
            ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện"]
        );
        assert_eq!(
            split("Các Sở, ban, ngành tỉnh, UBND cấp huyện"),
            ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện"]
        );
        assert_eq!(split("CÁC SỞ, BAN, NGÀNH"), ["CÁC SỞ, BAN, NGÀNH"]);
        assert_eq!(
            split("Các sở, ban, ngành, địa phương"),
            ["Các sở, ban, ngành", "địa phương"]
        );
    }

    #[test]
    fn elliptical_levels() {
        assert_eq!(
            split("UBND cấp huyện, cấp xã"),
            ["UBND cấp huyện", "UBND cấp xã"]
        );
        assert_eq!(
            split("UBND cấp huyện; cấp xã"),
            ["UBND cấp huyện", "UBND cấp xã"]
        );
        assert_eq!(
            split("Các Sở, ban, ngành tỉnh; UBND cấp huyện; cấp xã"),
            ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện", "UBND cấp xã"]
        );
        // Nothing to borrow from: kept as written.
        assert_eq!(split("Sở TT&TT, cấp xã"), ["Sở TT&TT", "cấp xã"]);
        // "cấp" inside a name is not an ellipsis.
        assert_eq!(
            split("UBND các cấp; doanh nghiệp cung cấp dịch vụ chữ ký số"),
            ["UBND các cấp", "doanh nghiệp cung cấp dịch vụ chữ ký số"]
        );
    }

    #[test]
    fn colon_lists() {
        assert_eq!(
            split("Công an tỉnh, các Sở: GTVT, Y tế, GD và ĐT, VH-TT&DL; Sở Xây dựng"),
            [
                "Công an tỉnh",
                "Sở GTVT",
                "Sở Y tế",
                "Sở GD và ĐT",
                "Sở VH-TT&DL",
                "Sở Xây dựng"
            ]
        );
        assert_eq!(
            split("Các Sở: Tài chính, Nội vụ"),
            ["Sở Tài chính", "Sở Nội vụ"]
        );
        assert_eq!(split("Các đơn vị sau:"), ["Các đơn vị sau"]);
        assert_eq!(split(": A, B"), ["A", "B"]);
    }

    #[test]
    fn cells_from_the_quang_ngai_plan() {
        assert_eq!(
            split("Sở TT&TT, các DN viễn thông"),
            ["Sở TT&TT", "các DN viễn thông"]
        );
        assert_eq!(
            split("Sở TT&TT, UBND cấp huyện, Tỉnh đoàn"),
            ["Sở TT&TT", "UBND cấp huyện", "Tỉnh đoàn"]
        );
        assert_eq!(
            split("Các Sở, ban, ngành tỉnh, UBND các cấp; doanh nghiệp cung cấp dịch vụ chữ ký số"),
            [
                "Các Sở, ban, ngành tỉnh",
                "UBND các cấp",
                "doanh nghiệp cung cấp dịch vụ chữ ký số"
            ]
        );
        assert_eq!(
            split("Các Sở, ban, ngành tỉnh; UBND cấp huyện; Sở TT&TT"),
            ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện", "Sở TT&TT"]
        );
        assert_eq!(
            split("Sở Công Thương, Sở Nông nghiệp và Phát triển nông thôn, UBND các huyện, thị xã, thành phố"),
            [
                "Sở Công Thương",
                "Sở Nông nghiệp và Phát triển nông thôn",
                "UBND các huyện, thị xã, thành phố"
            ]
        );
        assert_eq!(
            split("Ngân hàng Nhà nước Việt Nam, Chi nhánh Quảng Ngãi"),
            ["Ngân hàng Nhà nước Việt Nam, Chi nhánh Quảng Ngãi"]
        );
        assert_eq!(
            split("Các cơ sở đào tạo đại học, cao đẳng, giáo dục nghề nghiệp trên địa bàn tỉnh"),
            ["Các cơ sở đào tạo đại học, cao đẳng, giáo dục nghề nghiệp trên địa bàn tỉnh"]
        );
        assert_eq!(
            split("Sở TT&TT, Văn phòng UBND tỉnh"),
            ["Sở TT&TT", "Văn phòng UBND tỉnh"]
        );
    }

    #[test]
    fn cells_from_the_viettel_plan() {
        // Known limitation: a comma inside a proper name ("Trung tâm Xúc tiến
        // Đầu tư, Thương mại và Du lịch") splits it; the agency directory
        // that comes later is the place to rejoin such names.
        assert_eq!(
            split("Trung tâm Phục vụ hành chính công tỉnh; Ban Tiếp công dân; Trung tâm XTĐT, Thương mại và Du lịch tỉnh"),
            [
                "Trung tâm Phục vụ hành chính công tỉnh",
                "Ban Tiếp công dân",
                "Trung tâm XTĐT",
                "Thương mại và Du lịch tỉnh"
            ]
        );
        assert_eq!(
            split("Các Phòng, Ban, Trung tâm trực thuộc"),
            ["Các Phòng, Ban, Trung tâm trực thuộc"]
        );
        assert_eq!(
            split("Các cơ quan, đơn vị liên quan"),
            ["Các cơ quan, đơn vị liên quan"]
        );
    }

    #[test]
    fn duplicates_removed_order_kept() {
        assert_eq!(
            split("Sở TT&TT; UBND cấp huyện, Sở TT&TT;UBND cấp huyện"),
            ["Sở TT&TT", "UBND cấp huyện"]
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_names_are_trimmed_and_non_empty(cell in ".{0,80}") {
            for name in split_agencies(&cell) {
                prop_assert!(!name.trim().is_empty());
                prop_assert_eq!(name.trim(), name.as_str());
            }
        }

        #[test]
        fn names_from_agency_like_text_are_unique_and_non_empty(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("Sở TT&TT"), Just("UBND cấp huyện"), Just("cấp xã"), Just("cấp"),
                    Just("Các Sở, ban, ngành tỉnh"), Just("các Sở:"), Just("GTVT"), Just(":"),
                    Just("Chi nhánh"), Just(" "), Just(","), Just(";"), Just("Y tế"), Just("các"),
                    Just("\u{a0}"), Just("İ"), Just("ẞ"),
                ],
                0..12,
            )
        ) {
            let cell: String = parts.concat();
            let names = split_agencies(&cell);
            for (i, name) in names.iter().enumerate() {
                prop_assert!(!name.trim().is_empty());
                prop_assert!(!names[..i].contains(name), "duplicate {:?} in {:?}", name, names);
            }
        }
    }
}
