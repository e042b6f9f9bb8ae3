//! Why an appendix could not be parsed.

/// Why [`parse_appendix`](crate::parse_appendix) failed. Every variant that
/// concerns a line names it (1-based) and, where relevant, the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendixError {
    /// No line looks like the header of a task table.
    #[error(
        "no appendix table found: no tab-separated line has a row-number (TT/STT), \
         a task and a lead-agency header"
    )]
    NoTable,

    /// A header row was found (it has a TT/STT column) but lacks a required
    /// column, and no complete header follows.
    #[error("line {line}: the table header has no {role} column")]
    MissingColumn { line: usize, role: &'static str },

    /// A line has non-empty text beyond the last column of the header; that
    /// text would have no column to go to. `cells` counts the line's cells up
    /// to and including its last non-empty one.
    #[error(
        "line {line}: {cells} cells, but the table has only {columns} columns \
         (text after the last column would be lost)"
    )]
    TooManyCells {
        line: usize,
        cells: usize,
        columns: usize,
    },

    /// A continuation line (empty row-number cell) comes before any task or
    /// section row.
    #[error("line {line}: continuation line (empty row-number cell) before any task row")]
    OrphanContinuation { line: usize },

    /// A continuation line right after a section heading carries text in a
    /// column other than the title; a section heading has nowhere to keep it.
    #[error(
        "line {line}: continuation line after a section heading has text in column \
         \"{column}\", which a section heading cannot hold"
    )]
    ContinuationAfterSection { line: usize, column: String },
}
