//! Finding the table's header line, and from it the source format.
//!
//! Lines are examined in order; the first that is a complete header wins,
//! whatever its format. On that line, tabs win over CSV and CSV over
//! spaces:
//!
//! 1. a line with a tab is read as tab-separated cells;
//! 2. otherwise (or if its tab-separated cells are not a header), a line
//!    with `,` (then `;`) is read as a CSV record (which may run over a few
//!    lines if a quoted header cell holds a line break);
//! 3. otherwise, a line made only of known header labels separated by
//!    spaces, possibly with a page number around them, is a PDF-text
//!    header.
//!
//! A line that has a row-number label and another known label but lacks a
//! required column (or, for PDF text, has a column the reader cannot
//! delimit) is remembered and reported only if no complete header follows.
//! Only lines that mention "TT" (every row-number label does) are examined
//! closely, so the scan stays linear.

use crate::cells::{CellSplitter, TabSeparated};
use crate::csv_table;
use crate::error::AppendixError;
use crate::header::{spaced_labels, Candidate, Header};

/// A header line and how to read the table under it.
#[derive(Debug)]
pub(crate) enum Found {
    TabSeparated {
        index: usize,
        header: Header,
    },
    Csv {
        index: usize,
        header: Header,
        delimiter: u8,
    },
    PdfText {
        index: usize,
        header: Header,
    },
}

enum Verdict {
    No,
    Problem(AppendixError),
    Table(Found),
}

/// Finds the first header line in `lines`.
pub(crate) fn find_table(lines: &[&str]) -> Result<Found, AppendixError> {
    let mut problem: Option<AppendixError> = None;
    for index in 0..lines.len() {
        if !mentions_tt(lines[index]) {
            continue;
        }
        match classify(lines, index) {
            Verdict::No => {}
            Verdict::Problem(error) => {
                problem.get_or_insert(error);
            }
            Verdict::Table(found) => return Ok(found),
        }
    }
    Err(problem.unwrap_or(AppendixError::NoTable))
}

fn mentions_tt(line: &str) -> bool {
    line.as_bytes()
        .windows(2)
        .any(|w| w.eq_ignore_ascii_case(b"tt"))
}

fn classify(lines: &[&str], index: usize) -> Verdict {
    let line = lines[index];
    let missing = |role| {
        Verdict::Problem(AppendixError::MissingColumn {
            line: index + 1,
            role,
        })
    };
    if line.contains('\t') {
        match Header::from_cells(&TabSeparated.split(line)) {
            Candidate::Complete(header) => {
                return Verdict::Table(Found::TabSeparated { index, header })
            }
            Candidate::Incomplete(role) => return missing(role),
            Candidate::No => {}
        }
    }
    for delimiter in [b',', b';'] {
        if !line.contains(char::from(delimiter)) {
            continue;
        }
        let fields = csv_table::first_record(&record_snippet(lines, index), delimiter);
        let cells: Vec<&str> = fields.iter().map(String::as_str).collect();
        match Header::from_cells(&cells) {
            Candidate::Complete(header) => {
                return Verdict::Table(Found::Csv {
                    index,
                    header,
                    delimiter,
                })
            }
            Candidate::Incomplete(role) => return missing(role),
            Candidate::No => {}
        }
    }
    if let Some(labels) = spaced_labels(line) {
        match Header::from_cells(&labels) {
            Candidate::Complete(header) => {
                return match header.pdf_layout_problem() {
                    None => Verdict::Table(Found::PdfText { index, header }),
                    Some(column) => Verdict::Problem(AppendixError::UnsupportedPdfColumn {
                        line: index + 1,
                        column,
                    }),
                }
            }
            Candidate::Incomplete(role) => return missing(role),
            Candidate::No => {}
        }
    }
    Verdict::No
}

/// The line at `index`, extended by up to four following lines while it has
/// an odd number of quotes (a quoted header cell with a line break).
fn record_snippet(lines: &[&str], index: usize) -> String {
    let mut snippet = String::new();
    for line in lines.iter().skip(index).take(5) {
        if !snippet.is_empty() {
            snippet.push('\n');
        }
        snippet.push_str(line);
        if snippet.matches('"').count() % 2 == 0 {
            break;
        }
    }
    snippet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(text: &str) -> Result<(&'static str, usize), AppendixError> {
        let lines: Vec<&str> = text.lines().collect();
        find_table(&lines).map(|found| match found {
            Found::TabSeparated { index, .. } => ("tsv", index),
            Found::Csv { index, .. } => ("csv", index),
            Found::PdfText { index, .. } => ("pdf", index),
        })
    }

    #[test]
    fn first_header_line_wins_and_tabs_beat_commas_beat_spaces() {
        assert_eq!(format_of("x\nTT\tNội dung\tChủ trì\n"), Ok(("tsv", 1)));
        assert_eq!(format_of("TT,Nội dung,Chủ trì\n"), Ok(("csv", 0)));
        assert_eq!(format_of("TT;Nội dung;Chủ trì\n"), Ok(("csv", 0)));
        assert_eq!(
            format_of("\"TT\",\"Nội dung\",\"Cơ quan\nchủ trì\"\n"),
            Ok(("csv", 0))
        );
        assert_eq!(format_of("TT Nội dung Chủ trì\n"), Ok(("pdf", 0)));
        // Tab-separated cells that happen to hold commas: still TSV.
        assert_eq!(
            format_of("TT\tNội dung\tChủ trì, Phối hợp\tCơ quan chủ trì\n"),
            Ok(("tsv", 0))
        );
        // A PDF-text header before a CSV one: the earlier line wins.
        assert_eq!(
            format_of("TT Nội dung Chủ trì\nTT,Nội dung,Chủ trì\n"),
            Ok(("pdf", 0))
        );
        // Commas that do not make a header leave the line to the PDF check.
        assert_eq!(
            format_of("TT Nội dung Chủ trì, x\n"),
            Err(AppendixError::NoTable)
        );
    }

    #[test]
    fn incomplete_headers_are_reported_if_nothing_better_follows() {
        assert_eq!(
            format_of("TT,Nội dung,Phối hợp\n"),
            Err(AppendixError::MissingColumn {
                line: 1,
                role: "lead"
            })
        );
        assert_eq!(
            format_of("\nTT Nội dung Phối hợp\n"),
            Err(AppendixError::MissingColumn {
                line: 2,
                role: "lead"
            })
        );
        assert_eq!(
            format_of("TT Nội dung Nội dung chính Chủ trì\n"),
            Err(AppendixError::UnsupportedPdfColumn {
                line: 1,
                column: "Nội dung chính".into()
            })
        );
        assert_eq!(
            format_of("TT Nội dung Nội dung chính Chủ trì\nTT\tNội dung\tNội dung chính\tChủ trì"),
            Ok(("tsv", 1))
        );
    }
}
