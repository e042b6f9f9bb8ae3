//! Why an appendix could not be read.

/// Why [`parse_appendix`](crate::parse_appendix) or
/// [`decode_text`](crate::decode_text) failed.
///
/// Every variant that concerns a place in the input names its 1-based line,
/// and its column where one cell is at fault; the `Display` text starts with
/// `line N:`. The size limit is checked before anything else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendixError {
    /// No line looks like the header of a task table.
    #[error(
        "no appendix table found: no line is a header with a row-number (TT/STT), a task and \
         a lead-agency column, separated by tabs, by commas (CSV) or by spaces (PDF text)"
    )]
    NoTable,

    /// A header row was found (it has a TT/STT column) but lacks a required
    /// column, and no complete header follows.
    #[error("line {line}: the table header has no {role} column")]
    MissingColumn { line: usize, role: &'static str },

    /// A line has non-empty text beyond the last column of the header; that
    /// text would have no column to go to. `cells` counts the line's cells up
    /// to and including its last non-empty one; `column` names the first
    /// non-empty cell past the last column by its 1-based position
    /// (`"cell 5"`).
    #[error(
        "line {line}: {cells} cells, but the table has only {columns} columns; {column} has \
         no column to go to (text after the last column would be lost)"
    )]
    TooManyCells {
        line: usize,
        cells: usize,
        columns: usize,
        column: String,
    },

    /// A continuation line (empty row-number cell, or in PDF text a line
    /// that is not a row or section number) comes before any task or section
    /// row.
    #[error("line {line}: continuation line (empty row-number cell) before any task row")]
    OrphanContinuation { line: usize },

    /// A continuation line right after a section heading carries text in a
    /// column other than the title; a section heading has nowhere to keep it.
    #[error(
        "line {line}: continuation line after a section heading has text in column \
         \"{column}\", which a section heading cannot hold"
    )]
    ContinuationAfterSection { line: usize, column: String },

    /// The input is larger than [`MAX_APPENDIX_BYTES`](crate::MAX_APPENDIX_BYTES).
    #[error("input of {bytes} bytes is larger than the {limit}-byte limit for an appendix")]
    TooLarge { bytes: usize, limit: usize },

    /// The bytes are not UTF-8. `column` counts characters from 1 on that
    /// line, up to the first bad byte.
    #[error("line {line}: column {column}: the text is not valid UTF-8 (save the file as UTF-8)")]
    InvalidUtf8 { line: usize, column: usize },

    /// A CSV field opened with `"` is never closed: the rest of the input
    /// would be read as one cell.
    #[error("line {line}: a quoted CSV field that starts in this record is never closed")]
    UnterminatedQuote { line: usize },

    /// The CSV reader failed (not expected for text input; kept so that a
    /// failure is reported, never swallowed).
    #[error("line {line}: unreadable CSV record: {message}")]
    Csv { line: usize, message: String },

    /// A space-separated (PDF text) header has a column that cannot be told
    /// apart without cell delimiters. Such a header must read: row number,
    /// task, lead, then optionally coordinators, then optionally timeframe.
    #[error(
        "line {line}: column \"{column}\" cannot be read from text without cell delimiters \
         (PDF text): the header must be TT, task, lead, then optionally coordinators and \
         timeframe, in that order"
    )]
    UnsupportedPdfColumn { line: usize, column: String },
}
