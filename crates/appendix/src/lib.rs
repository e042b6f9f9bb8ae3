//! Parses the task appendix ("Phụ lục") of a Vietnamese plan document into
//! task rows: row number, section, task title, lead and coordinating
//! agencies, timeframe and any other columns.
//!
//! This crate owns the reading of the table, nothing more: it does not know
//! agencies by name (abbreviations such as "Sở TT&TT" stay as written; a
//! caller may pass known names to help read undelimited text), does not
//! interpret timeframes and does not decide which rows become tasks.
//!
//! Three kinds of text are read, told apart by the header line (see
//! [`parse_appendix_with`]): tab-separated ([`SourceFormat::TabSeparated`],
//! a word processor's "save as text"), CSV ([`SourceFormat::Csv`]) and text
//! extracted from a PDF ([`SourceFormat::PdfText`]). Bytes from a file go
//! through [`decode_text`] first.
//!
//! Invariants:
//!
//! - **Pure.** No I/O, no clock, no global state: input is a `&str`, output
//!   is data or an [`AppendixError`] naming the offending line (and column
//!   where one cell is at fault).
//! - **Bounded.** Inputs over [`MAX_APPENDIX_BYTES`] are refused before any
//!   work; the rest is linear in the input (each row of PDF text does a
//!   bounded amount of work on its last words).
//! - **Nothing in a row is lost.** Every non-empty cell of every task row
//!   ends up in some field of [`AppendixRow`]: known columns in their fields,
//!   other columns in [`AppendixRow::extra`], continuation lines joined to the
//!   row they continue. A line whose text has no column to go to is an error
//!   ([`AppendixError::TooManyCells`]), never silently dropped. Section rows
//!   are recognised only when they carry nothing but a number and a title.
//!   In PDF text every word of a row lands in exactly one field; only
//!   repeated headers and page numbers are skipped.
//! - **No silent guesses.** Where the reader cannot decide with confidence
//!   (which column a piece of PDF text belongs to, two agency names joined
//!   by a line break), it keeps its best reading and says so in
//!   [`Appendix::warnings`].
//! - **Row numbers are not keys.** Plans repeat numbers (Quảng Ngãi plan
//!   189/KH-UBND has two rows "6.1" and two rows "8.4", all real tasks). Rows
//!   are never merged or dropped; tell them apart by
//!   [`AppendixRow::position`] or [`AppendixRow::line`], and repeats of a
//!   number by [`AppendixRow::occurrence`].
//!
//! Header labels are matched case-insensitively but not Unicode-normalised:
//! the input is expected in NFC, as Vietnamese office documents usually are.
//!
//! Module map: `decode` (bytes → text, limits), `detect` (header line and
//! format), `header` (labels and columns), `table` (sections, rows,
//! continuations; shared by every format), `cells` (tab splitting),
//! `csv_table` (CSV records), `pdf_text` (PDF text: rows, sections, page
//! breaks), `columns` (assigning undelimited text to columns), `names`
//! (where an agency name starts), `timeframe` (recognising timeframes),
//! `agencies` (splitting an agency cell into names).

mod agencies;
mod cells;
mod columns;
mod csv_table;
mod decode;
mod detect;
mod error;
mod header;
mod model;
mod names;
mod options;
mod pdf_text;
mod table;
mod text;
mod timeframe;

#[cfg(test)]
mod golden_csv_tests;
#[cfg(test)]
mod golden_pdf_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod robustness_tests;

pub use agencies::split_agencies;
pub use decode::{decode_text, MAX_APPENDIX_BYTES};
pub use error::AppendixError;
pub use model::{Appendix, AppendixRow, Column, ColumnRole, ParseWarning, Section, SourceFormat};
pub use options::ParseOptions;

use detect::Found;
use names::NameMatcher;

/// Parses the first appendix table in `text`, which may be a whole document
/// or just the table: `parse_appendix_with(text, &ParseOptions::default())`.
///
/// # Errors
///
/// See [`parse_appendix_with`].
pub fn parse_appendix(text: &str) -> Result<Appendix, AppendixError> {
    parse_appendix_with(text, &ParseOptions::default())
}

/// Parses the first appendix table in `text`, which may be a whole document
/// or just the table, using what `options` tells about agencies.
///
/// A leading byte-order mark is ignored and CRLF or lone CR count as line
/// ends, so line numbers agree with [`decode_text`]'s output.
///
/// **The header** is the first line with a row-number column (`TT`/`STT`),
/// a task column and a lead column (see [`ColumnRole`] for the recognised
/// labels, in any order and case). Its format decides how the table is
/// read ([`Appendix::format`]):
///
/// - a line with tabs whose cells are a header → tab-separated;
/// - else a CSV record (`,`, then `;` as delimiter, `"` quoting) whose
///   fields are a header → CSV, read from that line on, so prose may come
///   before it;
/// - else a line made only of header labels separated by spaces (a page
///   number around them allowed) → PDF text.
///
/// When one line could be read several ways, tabs win over CSV and CSV
/// over spaces; across lines, the earliest header wins.
///
/// **Tab-separated and CSV tables:** after the header, blank records and
/// repeated header rows are skipped; a row whose number is a Roman numeral
/// or a bare integer and which has text only in the title cell is a section
/// heading; a record with an empty row-number cell continues the previous
/// row cell by cell (joined with a space, as is a line break inside a
/// quoted CSV cell); any other record is a task row; columns with other
/// headers are kept in [`AppendixRow::extra`]. The table ends at the end of
/// the input or at a new "Phụ lục" heading.
///
/// **PDF text** has no cell delimiters: the reader finds sections (Roman
/// numerals) and rows (numbers restarting in each section) line by line,
/// skips repeated headers and page numbers, joins a row's text across page
/// breaks, and assigns each row's words to the title, lead, coordinators
/// and timeframe columns using timeframe patterns, agency names from
/// [`ParseOptions::known_agencies`] and, failing those, typical starts of
/// agency names ("Sở", "UBND", "Văn phòng", …). Only the columns row number,
/// task, lead, coordinators and timeframe (in that order) can be read this
/// way. Doubtful assignments are kept and reported in
/// [`Appendix::warnings`].
///
/// # Errors
///
/// See [`AppendixError`]: input over [`MAX_APPENDIX_BYTES`] (checked first),
/// no header ([`AppendixError::NoTable`]), a header lacking the title or
/// lead column, a line with text past the last column, a continuation line
/// with no row to continue, an unterminated CSV quote.
pub fn parse_appendix_with(text: &str, options: &ParseOptions) -> Result<Appendix, AppendixError> {
    decode::check_size(text.len())?;
    let text = decode::normalize(text);
    let lines: Vec<&str> = text.lines().collect();
    let names = NameMatcher::new(&options.known_agencies);
    let found = detect::find_table(&lines)?;
    let mut appendix = match found {
        Found::TabSeparated { index, header } => {
            table::parse_tab_separated(&lines, index, &header, &names)
        }
        Found::Csv {
            index,
            header,
            delimiter,
        } => {
            // `lines` borrow from `text`: the header line's byte offset.
            let offset = lines[index].as_ptr() as usize - text.as_ptr() as usize;
            csv_table::parse(&text, offset, index, &header, delimiter, &names)
        }
        Found::PdfText { index, header } => pdf_text::parse(&lines, index, &header, &names),
    }?;
    if appendix.format == SourceFormat::TabSeparated {
        let before = rows_before_header(&lines, appendix.header_line - 1);
        appendix.warnings.splice(0..0, before);
    }
    Ok(appendix)
}

/// Lines above a tab-separated table's header that look like rows of it (a row number,
/// then two or more cells): text before the header is the document's, not the
/// table's, so they are not read as tasks, and a warning names each one rather than
/// letting it vanish (a header moved below the first row, say).
fn rows_before_header(lines: &[&str], header_index: usize) -> Vec<ParseWarning> {
    lines[..header_index]
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            let numbered = cells.first().is_some_and(|first| {
                !first.is_empty() && first.chars().all(|c| c.is_ascii_digit() || c == '.')
            });
            numbered && cells.iter().filter(|cell| !cell.is_empty()).count() >= 3
        })
        .map(|(index, _)| ParseWarning {
            line: index + 1,
            column: None,
            message: format!(
                "line {} looks like a row of the table, but comes before its header (line \
                 {}): it is not imported; move the header above it",
                index + 1,
                header_index + 1
            ),
        })
        .collect()
}
