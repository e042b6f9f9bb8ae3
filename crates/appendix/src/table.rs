//! Walking the lines after the header: sections, task rows, continuations.

use std::collections::HashMap;

use crate::agencies::split_agencies;
use crate::cells::CellSplitter;
use crate::error::AppendixError;
use crate::header::{find_header, Header};
use crate::model::{Appendix, AppendixRow, ColumnRole, Section};
use crate::text::word_at;

/// Parses the first appendix table found in `text`, splitting lines into
/// cells with `splitter`.
pub(crate) fn parse(text: &str, splitter: &dyn CellSplitter) -> Result<Appendix, AppendixError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let (header_index, header) = find_header(&lines, splitter)?;
    let mut table = TableBuilder::new(&header);
    for (index, line) in lines.iter().enumerate().skip(header_index + 1) {
        let line_no = index + 1;
        let raw = splitter.split(line);
        if is_appendix_heading(&raw) {
            break;
        }
        let cells = fit_to_columns(&raw, header.columns.len(), line_no)?;
        if cells.iter().all(|c| c.is_empty()) || header.is_repeated_by(&cells) {
            continue;
        }
        table.push(line_no, &cells)?;
    }
    Ok(table.finish(header_index + 1))
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
            return Err(AppendixError::TooManyCells {
                line,
                cells: last + 1,
                columns,
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
fn join_into(text: &mut String, more: &str) {
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

struct TableBuilder<'h> {
    header: &'h Header,
    section: Option<Section>,
    last: Last,
    drafts: Vec<Draft>,
}

impl<'h> TableBuilder<'h> {
    fn new(header: &'h Header) -> Self {
        Self {
            header,
            section: None,
            last: Last::Nothing,
            drafts: Vec::new(),
        }
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
                for (text, more) in draft.cells.iter_mut().zip(cells) {
                    if !more.is_empty() {
                        join_into(text, more);
                    }
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

    fn finish(self, header_line: usize) -> Appendix {
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
        Appendix {
            columns: h.columns.clone(),
            rows,
            header_line,
        }
    }
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
