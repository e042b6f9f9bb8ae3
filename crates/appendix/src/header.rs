//! Recognising the header row and its columns.

use crate::cells::CellSplitter;
use crate::error::AppendixError;
use crate::model::{Column, ColumnRole};
use crate::text::normalize_label;

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
enum Candidate {
    /// Not a header at all.
    No,
    /// Has a TT/STT column and at least one other known column, but lacks a
    /// required one.
    Incomplete(&'static str),
    Complete(Header),
}

impl Header {
    fn from_cells(cells: &[&str]) -> Candidate {
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

/// Finds the first complete header row. Returns its 0-based line index.
///
/// A line with a TT/STT column and another known column but no title or lead
/// column is remembered; if no complete header follows, it is reported as
/// [`AppendixError::MissingColumn`]. Otherwise there is no table.
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
    fn repeated_header_detection() {
        let h = header("STT\tNhiệm vụ/Dự án\tĐơn vị chủ trì");
        assert!(h.is_repeated_by(&["STT", "Nhiệm vụ/Dự án", "Đơn vị chủ trì"]));
        assert!(h.is_repeated_by(&["stt", "", "ĐƠN VỊ CHỦ TRÌ"]));
        assert!(!h.is_repeated_by(&["1", "Nhiệm vụ/Dự án", "Đơn vị chủ trì"]));
        assert!(!h.is_repeated_by(&["STT", "Something else", ""]));
    }
}
