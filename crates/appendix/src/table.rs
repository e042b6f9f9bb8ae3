//! Building the table from cells: sections, task rows, continuations.
//!
//! Every reader ends here. Delimited readers (tab-separated, CSV) hand over
//! one record of raw cells at a time ([`TableBuilder::feed`]); the PDF-text
//! reader, which assigns text to columns itself, hands over finished
//! sections and rows. Invariants: rows keep source order, numbers are not
//! keys (repeats get increasing [`AppendixRow::occurrence`]), and no
//! non-empty cell is dropped.

use std::collections::HashMap;

use crate::agencies::split_agencies;
use crate::cells::{CellSplitter, TabSeparated};
use crate::error::AppendixError;
use crate::header::Header;
use crate::model::{Appendix, AppendixRow, ColumnRole, ParseWarning, Section, SourceFormat};
use crate::names::NameMatcher;
use crate::text::word_at;

/// Reads a tab-separated table whose header is `lines[header_index]`.
pub(crate) fn parse_tab_separated(
    lines: &[&str],
    header_index: usize,
    header: &Header,
    names: &NameMatcher,
) -> Result<Appendix, AppendixError> {
    let mut table = TableBuilder::new(header, names);
    for (index, line) in lines.iter().enumerate().skip(header_index + 1) {
        if table.feed(index + 1, &TabSeparated.split(line))? == Flow::Stop {
            break;
        }
    }
    Ok(table.finish(header_index + 1, SourceFormat::TabSeparated))
}

/// Whether to go on reading after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// A new "Phụ lục" heading: the table ends.
    Stop,
}

/// A new "Phụ lục …" heading: one non-empty cell, the first, starting with
/// the words "Phụ lục" (any case, markdown emphasis allowed). It ends the
/// table.
fn is_appendix_heading(raw: &[&str]) -> bool {
    let mut non_empty = raw.iter().enumerate().filter(|(_, c)| !c.trim().is_empty());
    match (non_empty.next(), non_empty.next()) {
        (Some((0, cell)), None) => {
            let cell = cell.trim_start_matches(|c: char| c.is_whitespace() || "*_#".contains(c));
            word_at(cell, 0, "phụ lục").is_some()
        }
        _ => false,
    }
}

/// Trims every cell and pads or cuts the line to exactly `columns` cells.
/// Empty cells past the last column are dropped; non-empty ones are an error.
fn fit_to_columns<'a>(
    raw: &[&'a str],
    columns: usize,
    line: usize,
) -> Result<Vec<&'a str>, AppendixError> {
    let trimmed: Vec<&str> = raw.iter().map(|c| c.trim()).collect();
    if let Some(last) = trimmed.iter().rposition(|c| !c.is_empty()) {
        if last >= columns {
            let first_past = columns
                + trimmed[columns..]
                    .iter()
                    .position(|c| !c.is_empty())
                    .unwrap_or(0);
            return Err(AppendixError::TooManyCells {
                line,
                cells: last + 1,
                columns,
                column: format!("cell {}", first_past + 1),
            });
        }
    }
    let mut cells: Vec<&str> = trimmed.into_iter().take(columns).collect();
    cells.resize(columns, "");
    Ok(cells)
}

/// `I`, `IV`, `1`, `10` (optionally with a trailing dot).
fn is_section_number(cell: &str) -> bool {
    let s = cell.strip_suffix('.').unwrap_or(cell);
    !s.is_empty()
        && (s.chars().all(|c| c.is_ascii_digit())
            || (s.len() <= 8 && s.chars().all(|c| "IVXLCDM".contains(c))))
}

/// Appends `more` to `text` with one space between (none if `text` is empty).
pub(crate) fn join_into(text: &mut String, more: &str) {
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(more);
}

/// A task row being assembled: one cell per column.
struct Draft {
    line: usize,
    row_number: String,
    section: Option<Section>,
    cells: Vec<String>,
}

/// The last row seen, which a continuation line extends.
enum Last {
    Nothing,
    Section,
    Task,
}

pub(crate) struct TableBuilder<'h> {
    header: &'h Header,
    names: &'h NameMatcher,
    section: Option<Section>,
    last: Last,
    drafts: Vec<Draft>,
    warnings: Vec<ParseWarning>,
}

impl<'h> TableBuilder<'h> {
    pub(crate) fn new(header: &'h Header, names: &'h NameMatcher) -> Self {
        Self {
            header,
            names,
            section: None,
            last: Last::Nothing,
            drafts: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Takes one record of raw (untrimmed) cells from a delimited source.
    /// Blank records and repeats of the header are skipped; a "Phụ lục"
    /// heading stops the table.
    pub(crate) fn feed(&mut self, line: usize, raw: &[&str]) -> Result<Flow, AppendixError> {
        if is_appendix_heading(raw) {
            return Ok(Flow::Stop);
        }
        let cells = fit_to_columns(raw, self.header.columns.len(), line)?;
        if cells.iter().all(|c| c.is_empty()) || self.header.is_repeated_by(&cells) {
            return Ok(Flow::Continue);
        }
        self.push(line, &cells)?;
        Ok(Flow::Continue)
    }

    pub(crate) fn warn(&mut self, line: usize, column: Option<&str>, message: String) {
        self.warnings.push(ParseWarning {
            line,
            column: column.map(str::to_owned),
            message,
        });
    }

    /// Starts a section (PDF text: the reader found the heading itself).
    pub(crate) fn push_section(&mut self, number: String, title: String) {
        self.section = Some(Section { number, title });
        self.last = Last::Section;
    }

    /// Adds a task row with one finished cell per column (PDF text).
    pub(crate) fn push_task(&mut self, line: usize, row_number: String, cells: Vec<String>) {
        self.drafts.push(Draft {
            line,
            row_number,
            section: self.section.clone(),
            cells,
        });
        self.last = Last::Task;
    }

    /// Takes one non-blank, non-header line (`cells` has one trimmed cell per
    /// column).
    fn push(&mut self, line: usize, cells: &[&str]) -> Result<(), AppendixError> {
        let h = self.header;
        let row_number = cells[h.row_number];
        if row_number.is_empty() {
            return self.continue_last(line, cells);
        }
        if self.is_section(cells) {
            self.section = Some(Section {
                number: row_number.to_owned(),
                title: cells[h.title].to_owned(),
            });
            self.last = Last::Section;
        } else {
            self.drafts.push(Draft {
                line,
                row_number: row_number.to_owned(),
                section: self.section.clone(),
                cells: cells.iter().map(|c| (*c).to_owned()).collect(),
            });
            self.last = Last::Task;
        }
        Ok(())
    }

    /// A section row has a Roman or integer number and no text outside the
    /// number and title cells (so nothing is lost by keeping only those).
    fn is_section(&self, cells: &[&str]) -> bool {
        let h = self.header;
        is_section_number(cells[h.row_number])
            && cells
                .iter()
                .enumerate()
                .all(|(i, c)| i == h.row_number || i == h.title || c.is_empty())
    }

    /// Joins a continuation line (empty row-number cell) to the last row,
    /// cell by cell.
    fn continue_last(&mut self, line: usize, cells: &[&str]) -> Result<(), AppendixError> {
        let h = self.header;
        match self.last {
            Last::Task => {
                let draft = self
                    .drafts
                    .last_mut()
                    .ok_or(AppendixError::OrphanContinuation { line })?;
                let mut glued = Vec::new();
                for (i, (text, more)) in draft.cells.iter_mut().zip(cells).enumerate() {
                    if more.is_empty() {
                        continue;
                    }
                    let role = h.columns[i].role;
                    if matches!(role, ColumnRole::Lead | ColumnRole::Coordinators)
                        && self.names.looks_like_two_names(text, more)
                    {
                        glued.push((i, two_names_message(text, more)));
                    }
                    join_into(text, more);
                }
                for (i, message) in glued {
                    let column = h.columns[i].header.clone();
                    self.warn(line, Some(&column), message);
                }
                Ok(())
            }
            Last::Section => {
                if let Some(i) = cells
                    .iter()
                    .enumerate()
                    .position(|(i, c)| i != h.title && !c.is_empty())
                {
                    return Err(AppendixError::ContinuationAfterSection {
                        line,
                        column: h.columns[i].header.clone(),
                    });
                }
                if let Some(section) = self.section.as_mut() {
                    join_into(&mut section.title, cells[h.title]);
                }
                Ok(())
            }
            Last::Nothing => Err(AppendixError::OrphanContinuation { line }),
        }
    }

    pub(crate) fn finish(self, header_line: usize, format: SourceFormat) -> Appendix {
        let h = self.header;
        let mut seen: HashMap<(Option<String>, String), usize> = HashMap::new();
        let rows = self
            .drafts
            .into_iter()
            .enumerate()
            .map(|(position, draft)| {
                let key = (
                    draft.section.as_ref().map(|s| s.number.clone()),
                    draft.row_number.clone(),
                );
                let occurrence = seen.entry(key).or_insert(0);
                *occurrence += 1;
                build_row(h, position, *occurrence, draft)
            })
            .collect();
        let mut warnings = self.warnings;
        warnings.sort_by_key(|w| w.line);
        Appendix {
            columns: h.columns.clone(),
            rows,
            header_line,
            format,
            warnings,
        }
    }
}

/// The warning for a line break that joined what looks like two agency
/// names without a separator: quotes a few words on each side of the
/// break (not the whole cell, which may be long).
pub(crate) fn two_names_message(before: &str, after: &str) -> String {
    const CONTEXT: usize = 6;
    let tail: Vec<&str> = before.split_whitespace().rev().take(CONTEXT).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let head: Vec<&str> = after.split_whitespace().take(CONTEXT).collect();
    format!(
        "a line break joins what looks like two agency names without \",\" or \";\" \
         (\"{} ⏎ {}\"); kept as written, so they read as one name",
        tail.join(" "),
        head.join(" ")
    )
}

fn build_row(h: &Header, position: usize, occurrence: usize, draft: Draft) -> AppendixRow {
    let cell = |i: usize| draft.cells[i].clone();
    let optional = |i: Option<usize>| i.map(cell).filter(|c| !c.is_empty());
    let lead_text = cell(h.lead);
    let coordinators_text = h.coordinators.map(cell).unwrap_or_default();
    let extra = h
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role == ColumnRole::Extra)
        .map(|(i, c)| (c.header.clone(), cell(i)))
        .collect();
    AppendixRow {
        position,
        line: draft.line,
        occurrence,
        title: cell(h.title),
        content: optional(h.content),
        lead: split_agencies(&lead_text),
        coordinators: split_agencies(&coordinators_text),
        lead_text,
        coordinators_text,
        timeframe: optional(h.timeframe),
        extra,
        row_number: draft.row_number,
        section: draft.section,
    }
}
