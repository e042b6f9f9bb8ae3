//! Reading a CSV table (comma- or semicolon-separated, `"` quoting, fields
//! may hold delimiters, doubled quotes and line breaks), with the `csv`
//! crate.
//!
//! Semantics are the tab-separated reader's (see [`crate::table`]): each
//! record is one line of cells. Inside a quoted cell, a line break reads as
//! a space (each line trimmed, blank lines dropped), exactly as a
//! continuation row would join; so a cell may be written either way. A
//! record's line is the 1-based line where it starts. A field opened with a
//! quote and never closed is an error rather than the rest of the file read
//! as one cell.

use csv::{ReaderBuilder, StringRecord};

use crate::error::AppendixError;
use crate::header::Header;
use crate::model::{Appendix, ColumnRole, SourceFormat};
use crate::names::NameMatcher;
use crate::table::{two_names_message, Flow, TableBuilder};

fn reader(source: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        // The source is in memory: a buffer larger than it is wasted.
        .buffer_capacity(source.len().clamp(64, 64 * 1024))
        .from_reader(source.as_bytes())
}

/// The fields of the first record of `source` (for recognising a header),
/// each cleaned with [`clean_cell`]. Follows the `csv` crate's reading of
/// well-formed input (a quote opens a field only as its first character,
/// `""` inside quotes is a quote, a line break ends the record outside
/// quotes) without building a reader for every line examined.
pub(crate) fn first_record(source: &str, delimiter: u8) -> Vec<String> {
    let delimiter = char::from(delimiter);
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut in_quotes, mut at_start) = (false, true);
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.next_if_eq(&'"').is_some() {
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            in_quotes = true;
            at_start = false;
        } else if c == delimiter {
            fields.push(clean_cell(&std::mem::take(&mut field)).0);
            at_start = true;
        } else if c == '\n' {
            break;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if !fields.is_empty() || !field.is_empty() {
        fields.push(clean_cell(&field).0);
    }
    fields
}

/// A cell's text with each of its lines trimmed, blank lines dropped, and
/// the rest joined with single spaces; plus the line breaks that were
/// joined, as `(line before, line after)`.
fn clean_cell(field: &str) -> (String, Vec<(&str, &str)>) {
    let mut text = String::new();
    let mut breaks = Vec::new();
    let mut previous: Option<&str> = None;
    for line in field.split('\n').map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(before) = previous {
            breaks.push((before, line));
            text.push(' ');
        }
        text.push_str(line);
        previous = Some(line);
    }
    (text, breaks)
}

/// Reads the table whose header record starts at byte `header_offset` of
/// `text`, on 0-based line `header_index`.
pub(crate) fn parse(
    text: &str,
    header_offset: usize,
    header_index: usize,
    header: &Header,
    delimiter: u8,
    names: &NameMatcher,
) -> Result<Appendix, AppendixError> {
    let source = text.get(header_offset..).unwrap_or_default();
    let mut reader = reader(source, delimiter);
    let mut record = StringRecord::new();
    let mut table = TableBuilder::new(header, names);
    // (line, byte offset in `source`) of the last record read.
    let mut last_start = (header_index + 1, 0);
    let mut stopped = false;
    let mut is_header = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let line = error
                    .position()
                    .map_or(last_start.0, |p| header_index + to_usize(p.line()));
                return Err(AppendixError::Csv {
                    line,
                    message: error.to_string(),
                });
            }
        }
        if let Some(p) = record.position() {
            last_start = (header_index + to_usize(p.line()), to_usize(p.byte()));
        }
        if std::mem::take(&mut is_header) {
            continue;
        }
        let line = last_start.0;
        let mut cells = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let (cell, breaks) = clean_cell(field);
            let agency_column = header
                .columns
                .get(i)
                .filter(|c| matches!(c.role, ColumnRole::Lead | ColumnRole::Coordinators));
            if let Some(column) = agency_column {
                let glued = breaks
                    .iter()
                    .find(|(before, after)| names.looks_like_two_names(before, after));
                if let Some((before, after)) = glued {
                    table.warn(line, Some(&column.header), two_names_message(before, after));
                }
            }
            cells.push(cell);
        }
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        if table.feed(line, &refs)? == Flow::Stop {
            stopped = true;
            break;
        }
    }
    if !stopped && quote_open_at_end(source.get(last_start.1..).unwrap_or_default(), delimiter) {
        return Err(AppendixError::UnterminatedQuote { line: last_start.0 });
    }
    Ok(table.finish(header_index + 1, SourceFormat::Csv))
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// True if `span` (the last record and whatever follows it) ends inside a
/// quoted field, following the reader's rules: a quote opens a field only
/// as its first character, and `""` inside quotes is a literal quote.
fn quote_open_at_end(span: &str, delimiter: u8) -> bool {
    let bytes = span.as_bytes();
    let (mut in_quotes, mut field_start) = (false, true);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b'"' && field_start {
            in_quotes = true;
            field_start = false;
        } else {
            field_start = b == delimiter || b == b'\n' || b == b'\r';
        }
        i += 1;
    }
    in_quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_join_their_lines_with_spaces() {
        assert_eq!(clean_cell("  a \n\n b\n").0, "a b");
        assert_eq!(clean_cell("").0, "");
        let (text, breaks) = clean_cell("Sở TT&TT\nUBND cấp huyện");
        assert_eq!(text, "Sở TT&TT UBND cấp huyện");
        assert_eq!(breaks, [("Sở TT&TT", "UBND cấp huyện")]);
    }

    #[test]
    fn first_record_reads_quoted_fields() {
        assert_eq!(
            first_record(
                "STT,\"Nhiệm vụ, dự án\",\"Thời gian\nthực hiện\"\n1,a,b",
                b','
            ),
            ["STT", "Nhiệm vụ, dự án", "Thời gian thực hiện"]
        );
        assert_eq!(
            first_record("TT;Nội dung;Chủ trì", b';'),
            ["TT", "Nội dung", "Chủ trì"]
        );
        assert!(first_record("", b',').is_empty());
    }

    #[test]
    fn open_quotes() {
        assert!(quote_open_at_end("1,\"abc\n", b','));
        assert!(!quote_open_at_end("1,\"a\"\"b\",c\n", b','));
        assert!(!quote_open_at_end("1,a\"b,c\n", b','));
        assert!(quote_open_at_end("1,\"a\"\"", b','));
        assert!(!quote_open_at_end("", b','));
    }
}
