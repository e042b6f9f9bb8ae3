//! Parses the task appendix ("Phụ lục") of a Vietnamese plan document into
//! task rows: row number, section, task title, lead and coordinating
//! agencies, timeframe and any other columns.
//!
//! This crate owns the reading of the table, nothing more: it does not know
//! agencies by name (abbreviations such as "Sở TT&TT" stay as written), does
//! not interpret timeframes and does not decide which rows become tasks.
//!
//! Invariants:
//!
//! - **Pure.** No I/O, no clock, no global state: input is a `&str`, output
//!   is data or an [`AppendixError`] naming the offending line.
//! - **Nothing in a row is lost.** Every non-empty cell of every task row
//!   ends up in some field of [`AppendixRow`]: known columns in their fields,
//!   other columns in [`AppendixRow::extra`], continuation lines joined to the
//!   row they continue. A line whose text has no column to go to is an error
//!   ([`AppendixError::TooManyCells`]), never silently dropped. Section rows
//!   are recognised only when they carry nothing but a number and a title.
//! - **Row numbers are not keys.** Plans repeat numbers (Quảng Ngãi plan
//!   189/KH-UBND has two rows "6.1" and two rows "8.4", all real tasks). Rows
//!   are never merged or dropped; tell them apart by
//!   [`AppendixRow::position`] or [`AppendixRow::line`], and repeats of a
//!   number by [`AppendixRow::occurrence`].
//!
//! Only tab-separated tables are read today (what a word processor's "save
//! as text" gives). Header labels are matched case-insensitively but not
//! Unicode-normalised: the input is expected in NFC, as Vietnamese office
//! documents usually are.

mod agencies;
mod cells;
mod error;
mod header;
mod model;
mod table;
mod text;

#[cfg(test)]
mod golden_tests;

pub use agencies::split_agencies;
pub use error::AppendixError;
pub use model::{Appendix, AppendixRow, Column, ColumnRole, Section};

/// Parses the first appendix table in `text`, which may be a whole document
/// or just the table.
///
/// The header is the first tab-separated line with a row-number column
/// (`TT`/`STT`), a task column and a lead column (see [`ColumnRole`] for the
/// recognised labels). After it, blank lines and repeated header rows are
/// skipped; a row whose number is a Roman numeral or a bare integer and
/// which has text only in the title cell is a section heading; a line with an
/// empty row-number cell continues the previous row cell by cell; any other
/// line is a task row. The table ends at the end of the input or at a new
/// "Phụ lục" heading.
///
/// # Errors
///
/// See [`AppendixError`]: no header ([`AppendixError::NoTable`]), a header
/// lacking the title or lead column, a line with text past the last column,
/// or a continuation line with no row to continue.
pub fn parse_appendix(text: &str) -> Result<Appendix, AppendixError> {
    table::parse(text, &cells::TabSeparated)
}
