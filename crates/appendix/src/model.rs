//! The parsed appendix: columns, sections, task rows, where they came
//! from, and what the reader was unsure about.

use std::fmt;

/// A parsed appendix table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appendix {
    /// The columns of the header row, in source order.
    pub columns: Vec<Column>,
    /// Task rows in source order. Section rows are not listed here; each task
    /// row carries the section it belongs to.
    pub rows: Vec<AppendixRow>,
    /// 1-based source line of the header row.
    pub header_line: usize,
    /// The kind of text the table was read from.
    pub format: SourceFormat,
    /// What the reader could not decide with confidence, in source order.
    /// Nothing was dropped because of a warning: the row holds the reader's
    /// best reading, and the warning says what to check.
    pub warnings: Vec<ParseWarning>,
}

/// The kind of text a table was read from, decided by its header line (see
/// [`parse_appendix_with`](crate::parse_appendix_with)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// Cells separated by tabs (a word processor's "save as text").
    TabSeparated,
    /// Comma- (or semicolon-) separated values with `"` quoting.
    Csv,
    /// Text extracted from a PDF: no cell delimiters, cells wrapped over
    /// several lines, the header repeated at page breaks.
    PdfText,
}

/// Something the reader could not decide with confidence. The affected row
/// is still returned, with all its text, in the reader's best reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// 1-based source line the warning is about.
    pub line: usize,
    /// The header of the column concerned, if one is.
    pub column: Option<String>,
    /// What is uncertain and what was chosen.
    pub message: String,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(
                f,
                "line {}, column \"{column}\": {}",
                self.line, self.message
            ),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// One column of the header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header cell as written (trimmed).
    pub header: String,
    /// What the column holds.
    pub role: ColumnRole,
}

/// What a column holds, recognised from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnRole {
    /// `TT`, `STT`.
    RowNumber,
    /// `Tên nhiệm vụ`, `Nội dung`, `Nhiệm vụ`, `Nhiệm vụ/Dự án`.
    Title,
    /// `Nội dung chính`.
    Content,
    /// `Cơ quan chủ trì`, `Đơn vị chủ trì`, `Chủ trì`.
    Lead,
    /// `Cơ quan phối hợp`, `Đơn vị phối hợp`, `Phối hợp`.
    Coordinators,
    /// `Thời gian thực hiện`, `Giai đoạn`, `Thời hạn`, `Thời gian`.
    Timeframe,
    /// Any other header (kept, see [`AppendixRow::extra`]). Also used for a
    /// second column whose header names a role already taken.
    Extra,
}

impl ColumnRole {
    /// A short English name, used in error messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RowNumber => "row number",
            Self::Title => "title",
            Self::Content => "content",
            Self::Lead => "lead",
            Self::Coordinators => "coordinators",
            Self::Timeframe => "timeframe",
            Self::Extra => "extra",
        }
    }
}

/// A section heading row (`1  Nhận thức số`, `II  CHÍNH QUYỀN SỐ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The row-number cell as written (trimmed), e.g. `"1"` or `"II"`.
    pub number: String,
    /// The heading text (continuation lines joined with a space).
    pub title: String,
}

/// One task row of the appendix.
///
/// Row numbers are not keys: the same `row_number` can appear twice in a
/// section and both rows are real tasks. Use `position` (or `line`) to tell
/// rows apart, and `occurrence` to tell repeats of a number apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendixRow {
    /// 0-based ordinal of the task row in the appendix.
    pub position: usize,
    /// 1-based source line where the row starts.
    pub line: usize,
    /// The row-number cell as written (trimmed), e.g. `"6.1"`.
    pub row_number: String,
    /// 1 for the first row with this (section number, row number), 2 for the
    /// first repeat, and so on.
    pub occurrence: usize,
    /// The section heading the row sits under, if any.
    pub section: Option<Section>,
    /// The task column; continuation text joined with a single space.
    pub title: String,
    /// A separate `Nội dung chính` column, if the table has one and the cell
    /// is non-empty.
    pub content: Option<String>,
    /// The lead cell as written (continuation lines joined with a space).
    pub lead_text: String,
    /// The coordinators cell as written (continuation lines joined with a
    /// space); empty if the table has no such column.
    pub coordinators_text: String,
    /// `split_agencies(&lead_text)`.
    pub lead: Vec<String>,
    /// `split_agencies(&coordinators_text)`.
    pub coordinators: Vec<String>,
    /// The timeframe cell, if the table has such a column and the cell is
    /// non-empty.
    pub timeframe: Option<String>,
    /// `(header, cell)` for every column with role [`ColumnRole::Extra`], in
    /// column order (cells may be empty).
    pub extra: Vec<(String, String)>,
}
