//! Recognising the header row and its columns: from cells (tab-separated
//! or CSV), or from a line of labels separated by spaces (PDF text, see
//! [`spaced_labels`]). Labels are compared after [`normalize_label`]; each
//! role goes to the first column naming it, later ones are extras.

#[cfg(test)]
use crate::cells::CellSplitter;
#[cfg(test)]
use crate::error::AppendixError;
use crate::model::{Column, ColumnRole};
use crate::text::{normalize_label, word_at};

/// Header labels per role, already normalised (see [`normalize_label`]).
const LABELS: &[(ColumnRole, &[&str])] = &[
    (ColumnRole::RowNumber, &["tt", "stt"]),
    (
        ColumnRole::Title,
        &["tên nhiệm vụ", "nội dung", "nhiệm vụ", "nhiệm vụ/dự án"],
    ),
    (ColumnRole::Content, &["nội dung chính"]),
    (
        ColumnRole::Lead,
        &["cơ quan chủ trì", "đơn vị chủ trì", "chủ trì"],
    ),
    (
        ColumnRole::Coordinators,
        &["cơ quan phối hợp", "đơn vị phối hợp", "phối hợp"],
    ),
    (
        ColumnRole::Timeframe,
        &["thời gian thực hiện", "giai đoạn", "thời hạn", "thời gian"],
    ),
];

/// The role a header label names, or `Extra`.
pub(crate) fn role_of(label: &str) -> ColumnRole {
    let norm = normalize_label(label);
    LABELS
        .iter()
        .find(|(_, names)| names.contains(&norm.as_str()))
        .map_or(ColumnRole::Extra, |&(role, _)| role)
}

/// The header row: its columns and where each role sits.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) columns: Vec<Column>,
    /// `normalize_label` of each header cell, to spot repeated headers.
    normalized: Vec<String>,
    pub(crate) row_number: usize,
    pub(crate) title: usize,
    pub(crate) lead: usize,
    pub(crate) content: Option<usize>,
    pub(crate) coordinators: Option<usize>,
    pub(crate) timeframe: Option<usize>,
}

/// What a line is, seen as a possible header.
pub(crate) enum Candidate {
    /// Not a header at all.
    No,
    /// Has a TT/STT column and at least one other known column, but lacks a
    /// required one.
    Incomplete(&'static str),
    Complete(Header),
}

impl Header {
    pub(crate) fn from_cells(cells: &[&str]) -> Candidate {
        let cells = trim_trailing_empty(cells);
        let mut columns: Vec<Column> = Vec::with_capacity(cells.len());
        let (mut rn, mut title, mut lead) = (None, None, None);
        let (mut content, mut coordinators, mut timeframe) = (None, None, None);
        for (index, cell) in cells.iter().enumerate() {
            let role = match role_of(cell) {
                ColumnRole::RowNumber => claim(ColumnRole::RowNumber, &mut rn, index),
                ColumnRole::Title => claim(ColumnRole::Title, &mut title, index),
                ColumnRole::Content => claim(ColumnRole::Content, &mut content, index),
                ColumnRole::Lead => claim(ColumnRole::Lead, &mut lead, index),
                ColumnRole::Coordinators => {
                    claim(ColumnRole::Coordinators, &mut coordinators, index)
                }
                ColumnRole::Timeframe => claim(ColumnRole::Timeframe, &mut timeframe, index),
                ColumnRole::Extra => ColumnRole::Extra,
            };
            columns.push(Column {
                header: cell.trim().to_owned(),
                role,
            });
        }
        let Some(row_number) = rn else {
            return Candidate::No;
        };
        let known = columns
            .iter()
            .filter(|c| c.role != ColumnRole::Extra)
            .count();
        if known < 2 {
            return Candidate::No;
        }
        let Some(title) = title else {
            return Candidate::Incomplete(ColumnRole::Title.as_str());
        };
        let Some(lead) = lead else {
            return Candidate::Incomplete(ColumnRole::Lead.as_str());
        };
        let normalized = cells.iter().map(|c| normalize_label(c)).collect();
        Candidate::Complete(Header {
            columns,
            normalized,
            row_number,
            title,
            lead,
            content,
            coordinators,
            timeframe,
        })
    }

    /// True if `cells` (trimmed, one per column) repeat this header, fully
    /// or partly: the row-number cell is a TT/STT label and every non-empty
    /// cell equals the header label of its column. Page breaks repeat the
    /// header.
    pub(crate) fn is_repeated_by(&self, cells: &[&str]) -> bool {
        cells.get(self.row_number).copied().map(role_of) == Some(ColumnRole::RowNumber)
            && cells.iter().enumerate().all(|(i, cell)| {
                cell.is_empty()
                    || self
                        .normalized
                        .get(i)
                        .is_some_and(|h| *h == normalize_label(cell))
            })
    }
}

/// Gives `role` to column `index` unless an earlier column has it; a second
/// column naming a role already taken is kept as `Extra`.
fn claim(role: ColumnRole, taken: &mut Option<usize>, index: usize) -> ColumnRole {
    if taken.is_none() {
        *taken = Some(index);
        role
    } else {
        ColumnRole::Extra
    }
}

fn trim_trailing_empty<'a, 'b>(cells: &'b [&'a str]) -> &'b [&'a str] {
    let len = cells
        .iter()
        .rposition(|c| !c.trim().is_empty())
        .map_or(0, |i| i + 1);
    &cells[..len]
}

/// Splits a header written without cell delimiters ("TT Nội dung Cơ quan
/// chủ trì Cơ quan phối hợp Thời gian thực hiện", as PDF text gives it)
/// into its labels, as written. Every word must belong to a known label
/// (longest label first, so "Nội dung chính" is not "Nội dung" + "chính"),
/// except up to three page-furniture tokens (page numbers, "Trang", dashes)
/// before the first label and after the last. At least two labels.
pub(crate) fn spaced_labels(line: &str) -> Option<Vec<&str>> {
    const MAX_FURNITURE: usize = 3;
    let mut labels = Vec::new();
    let (mut before, mut after) = (0, 0);
    let mut pos = 0;
    loop {
        let rest = &line[pos..];
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        pos += rest.len() - trimmed.len();
        let label_end = if after == 0 {
            LABELS
                .iter()
                .flat_map(|(_, names)| names.iter())
                .filter_map(|label| word_at(line, pos, label))
                .max()
        } else {
            None
        };
        if let Some(end) = label_end {
            labels.push(line[pos..end].trim());
            pos = end;
            continue;
        }
        let word_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        if !is_furniture_token(&trimmed[..word_len]) {
            return None;
        }
        let count = if labels.is_empty() {
            &mut before
        } else {
            &mut after
        };
        *count += 1;
        if *count > MAX_FURNITURE {
            return None;
        }
        pos += word_len;
    }
    (labels.len() >= 2).then_some(labels)
}

/// A page number or what surrounds one: `3`, `-`, `Trang`, `3/12`.
pub(crate) fn is_furniture_token(token: &str) -> bool {
    let lower = token.to_lowercase();
    matches!(lower.as_str(), "-" | "–" | "—" | "trang" | "page")
        || lower
            .split('/')
            .all(|n| (1..=4).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Header {
    /// For a header read from PDF text: the header text of the first column
    /// that breaks the only supported layout, row number, title, lead,
    /// then optionally coordinators and timeframe in that order.
    pub(crate) fn pdf_layout_problem(&self) -> Option<String> {
        let mandatory = [ColumnRole::RowNumber, ColumnRole::Title, ColumnRole::Lead];
        let optional = [ColumnRole::Coordinators, ColumnRole::Timeframe];
        let mut next_optional = 0;
        for (i, column) in self.columns.iter().enumerate() {
            let ok = match mandatory.get(i) {
                Some(&role) => column.role == role,
                None => match optional[next_optional.min(optional.len())..]
                    .iter()
                    .position(|&role| role == column.role)
                {
                    Some(offset) => {
                        next_optional += offset + 1;
                        true
                    }
                    None => false,
                },
            };
            if !ok {
                return Some(column.header.clone());
            }
        }
        None
    }
}

/// Finds the first complete header row. Returns its 0-based line index.
///
/// A line with a TT/STT column and another known column but no title or lead
/// column is remembered; if no complete header follows, it is reported as
/// [`AppendixError::MissingColumn`]. Otherwise there is no table.
#[cfg(test)]
pub(crate) fn find_header(
    lines: &[&str],
    splitter: &dyn CellSplitter,
) -> Result<(usize, Header), AppendixError> {
    let mut incomplete: Option<AppendixError> = None;
    for (index, line) in lines.iter().enumerate() {
        match Header::from_cells(&splitter.split(line)) {
            Candidate::No => {}
            Candidate::Complete(header) => return Ok((index, header)),
            Candidate::Incomplete(role) => {
                incomplete.get_or_insert(AppendixError::MissingColumn {
                    line: index + 1,
                    role,
                });
            }
        }
    }
    Err(incomplete.unwrap_or(AppendixError::NoTable))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::TabSeparated;

    fn header(line: &str) -> Header {
        match find_header(&[line], &TabSeparated) {
            Ok((0, h)) => h,
            other => panic!("no header in {line:?}: {other:?}"),
        }
    }

    #[test]
    fn recognises_labels_in_any_case_and_order() {
        let h = header(
            " Cơ quan phối hợp \tĐƠN VỊ CHỦ TRÌ\tNhiệm vụ / Dự án\tstt\tGhi chú\tGiai đoạn\t\t",
        );
        let roles: Vec<ColumnRole> = h.columns.iter().map(|c| c.role).collect();
        assert_eq!(
            roles,
            [
                ColumnRole::Coordinators,
                ColumnRole::Lead,
                ColumnRole::Title,
                ColumnRole::RowNumber,
                ColumnRole::Extra,
                ColumnRole::Timeframe,
            ]
        );
        assert_eq!(h.columns[0].header, "Cơ quan phối hợp");
        assert_eq!((h.row_number, h.title, h.lead), (3, 2, 1));
        assert_eq!(
            (h.coordinators, h.timeframe, h.content),
            (Some(0), Some(5), None)
        );
    }

    #[test]
    fn second_column_with_a_taken_role_is_extra() {
        let h = header("TT\tNội dung\tNội dung chính\tChủ trì\tThời gian\tThời hạn");
        assert_eq!(h.columns[2].role, ColumnRole::Content);
        assert_eq!(h.columns[4].role, ColumnRole::Timeframe);
        assert_eq!(h.columns[5].role, ColumnRole::Extra);
    }

    #[test]
    fn incomplete_header_is_reported_only_if_nothing_better_follows() {
        let lines = ["x", "TT\tNội dung\tGhi chú", "TT\tNội dung\tChủ trì"];
        assert_eq!(find_header(&lines, &TabSeparated).unwrap().0, 2);
        assert_eq!(
            find_header(&lines[..2], &TabSeparated).unwrap_err(),
            AppendixError::MissingColumn {
                line: 2,
                role: "lead"
            }
        );
        assert_eq!(
            find_header(&["STT\tChủ trì"], &TabSeparated).unwrap_err(),
            AppendixError::MissingColumn {
                line: 1,
                role: "title"
            }
        );
        assert_eq!(
            find_header(&["TT\tGhi chú", "a\tb"], &TabSeparated).unwrap_err(),
            AppendixError::NoTable
        );
    }

    #[test]
    fn spaced_headers_split_into_labels() {
        let line = "TT Nội dung Cơ quan chủ trì Cơ quan phối hợp Thời gian thực hiện ";
        assert_eq!(
            spaced_labels(line).unwrap(),
            [
                "TT",
                "Nội dung",
                "Cơ quan chủ trì",
                "Cơ quan phối hợp",
                "Thời gian thực hiện"
            ]
        );
        assert_eq!(
            spaced_labels("- 3 - STT Nhiệm vụ / Dự án Nội dung chính Chủ trì Trang 3").unwrap(),
            ["STT", "Nhiệm vụ / Dự án", "Nội dung chính", "Chủ trì"]
        );
        assert_eq!(spaced_labels("TT Nội dung Sở TT&TT"), None);
        assert_eq!(spaced_labels("Nội dung"), None);
        assert_eq!(spaced_labels("1 2 3 4 TT Nội dung"), None);
        assert_eq!(spaced_labels("TT Nội dung 3 Chủ trì"), None);
    }

    #[test]
    fn pdf_layout() {
        let layout = |line: &str| {
            let labels = spaced_labels(line).unwrap();
            match Header::from_cells(&labels) {
                Candidate::Complete(h) => h.pdf_layout_problem(),
                _ => panic!("no header in {line:?}"),
            }
        };
        assert_eq!(layout("TT Nội dung Chủ trì Phối hợp Thời gian"), None);
        assert_eq!(layout("TT Nội dung Chủ trì Thời gian"), None);
        assert_eq!(layout("TT Nội dung Chủ trì"), None);
        assert_eq!(
            layout("TT Nội dung Chủ trì Thời gian Phối hợp"),
            Some("Phối hợp".to_owned())
        );
        assert_eq!(
            layout("TT Nội dung Nội dung chính Chủ trì"),
            Some("Nội dung chính".to_owned())
        );
        assert_eq!(layout("Nội dung TT Chủ trì"), Some("Nội dung".to_owned()));
    }

    #[test]
    fn repeated_header_detection() {
        let h = header("STT\tNhiệm vụ/Dự án\tĐơn vị chủ trì");
        assert!(h.is_repeated_by(&["STT", "Nhiệm vụ/Dự án", "Đơn vị chủ trì"]));
        assert!(h.is_repeated_by(&["stt", "", "ĐƠN VỊ CHỦ TRÌ"]));
        assert!(!h.is_repeated_by(&["1", "Nhiệm vụ/Dự án", "Đơn vị chủ trì"]));
        assert!(!h.is_repeated_by(&["STT", "Something else", ""]));
    }
}
