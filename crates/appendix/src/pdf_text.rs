//! Reading a table from text extracted from a PDF: no cell delimiters, cells
//! wrapped over several lines, blank lines anywhere, the header repeated at
//! each page break.
//!
//! The reader works in two steps.
//!
//! **Grouping lines into sections and rows.** After the header, each
//! non-blank line is one of:
//!
//! - a repeat of the header (all of its labels, or some of them, possibly
//!   with a page number around them): a page break, skipped;
//! - a page number ("3", "- 3 -", "Trang 3", "3/12") right before a repeated
//!   header: page furniture, skipped (a page number at the very end of the
//!   table is skipped with a warning);
//! - a "Phụ lục …" heading: the table ends;
//! - a section heading: a Roman numeral ("I", "VI.") followed by a
//!   capitalised title, numbered after the previous section (at most one
//!   skipped); in a table whose rows are numbered "n.m", a bare integer
//!   works the same way;
//! - a row number ("1", "2.", "3.1"), alone or followed by a capitalised
//!   first line of the task text, numbered after the previous row of its
//!   section (at most two skipped, or a repeat, or 1 again);
//! - anything else: text of the current row (or of the section heading if
//!   no row has started under it yet).
//!
//! A row's text is split at page breaks into runs: after a break, the cells
//! start again in column order (seed 000, row II.3: its task text goes on
//! under the repeated header after its lead, coordinators and timeframe).
//!
//! **Assigning text to columns**, run by run, is [`crate::columns`]'s job;
//! the runs' cells are then joined cell by cell, as continuation rows are
//! in delimited tables. Rows are identified by section and number; the
//! numbers are kept as written ("VI.").
//!
//! Invariants: every word of a row's lines lands in exactly one of its
//! fields (row number, title, lead, coordinators, timeframe); only repeated
//! headers and page numbers are skipped; whatever the reader is unsure of is
//! a [`crate::ParseWarning`], never a silent guess. Linear in the input.

use crate::columns::{width_limit, Assigned, Col, Segmenter, SourceLine};
use crate::error::AppendixError;
use crate::header::{is_furniture_token, role_of, spaced_labels, Header};
use crate::model::{Appendix, ColumnRole, SourceFormat};
use crate::names::{capitalised, NameMatcher};
use crate::table::{join_into, TableBuilder};
use crate::text::{normalize_label, word_at};

/// A section heading or a task row, with its lines.
#[derive(Debug)]
enum Entry<'a> {
    Section {
        number: &'a str,
        title: Vec<&'a str>,
    },
    Row {
        line: usize,
        number: &'a str,
        /// The row's text split at page breaks.
        runs: Vec<Vec<SourceLine<'a>>>,
    },
}

/// Reads the table whose header is `lines[header_index]`.
pub(crate) fn parse(
    lines: &[&str],
    header_index: usize,
    header: &Header,
    names: &NameMatcher,
) -> Result<Appendix, AppendixError> {
    let mut table = TableBuilder::new(header, names);
    let mut grouper = Grouper::new(header, uses_dotted_numbers(lines, header_index));
    grouper.read(lines, header_index, &mut table)?;
    let title_width = grouper
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Row { runs, .. } => runs.first()?.first().map(|l| l.text.chars().count()),
            Entry::Section { .. } => None,
        })
        .max()
        .unwrap_or(0);
    let mut segmenter = Segmenter {
        names,
        has_coordinators: header.coordinators.is_some(),
        has_timeframe: header.timeframe.is_some(),
        title_width,
        lead_limit: None,
        coordinators_limit: None,
    };
    // First pass: learn the agency columns' widths from the rows read
    // without doubt; the second pass uses them.
    let first_pass: Vec<Assigned> = grouper
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Row { runs, .. } => runs.iter().find(|r| !r.is_empty()),
            Entry::Section { .. } => None,
        })
        .map(|run| segmenter.assign(run, true))
        .filter(|a| a.doubts.is_empty())
        .collect();
    let widths =
        |f: fn(&Assigned) -> &[usize]| -> Vec<&[usize]> { first_pass.iter().map(f).collect() };
    segmenter.lead_limit = width_limit(&widths(|a| &a.lead_widths));
    segmenter.coordinators_limit = width_limit(&widths(|a| &a.coordinators_widths));
    let header_of = |col: Col| {
        let index = match col {
            Col::Title => Some(header.title),
            Col::Lead => Some(header.lead),
            Col::Coordinators => header.coordinators,
        };
        index.map(|i| header.columns[i].header.as_str())
    };
    for entry in grouper.entries {
        match entry {
            Entry::Section { number, title } => {
                table.push_section(number.to_owned(), title.join(" "));
            }
            Entry::Row { line, number, runs } => {
                let cells = assign_row(
                    &segmenter, header, line, number, &runs, &mut table, header_of,
                );
                table.push_task(line, number.to_owned(), cells);
            }
        }
    }
    Ok(table.finish(header_index + 1, SourceFormat::PdfText))
}

/// Assigns a row's runs to columns and joins them cell by cell; doubts
/// become warnings.
fn assign_row<'h>(
    segmenter: &Segmenter<'_>,
    header: &'h Header,
    line: usize,
    number: &str,
    runs: &[Vec<SourceLine<'_>>],
    table: &mut TableBuilder<'_>,
    header_of: impl Fn(Col) -> Option<&'h str>,
) -> Vec<String> {
    let mut cells = vec![String::new(); header.columns.len()];
    cells[header.row_number] = number.to_owned();
    let mut started = false;
    for run in runs.iter().filter(|r| !r.is_empty()) {
        let assigned = segmenter.assign(run, !started);
        started = true;
        let targets = [
            (Some(header.title), &assigned.title),
            (Some(header.lead), &assigned.lead),
            (header.coordinators, &assigned.coordinators),
            (header.timeframe, &assigned.timeframe),
        ];
        for (index, text) in targets {
            if let Some(i) = index.filter(|_| !text.is_empty()) {
                join_into(&mut cells[i], text);
            }
        }
        for doubt in assigned.doubts {
            table.warn(doubt.line, header_of(doubt.column), doubt.message);
        }
    }
    if !started {
        table.warn(line, None, format!("row {number} has no text"));
    } else if let Some(i) = header.timeframe.filter(|&i| cells[i].is_empty()) {
        table.warn(
            line,
            Some(&header.columns[i].header),
            "no timeframe recognised at the end of the row; if the row has one, it was read \
             into another column"
                .to_owned(),
        );
    }
    cells
}

/// Splits off the first word.
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim_start()),
        None => (text, ""),
    }
}

/// `3`, `3.`, `3.1`, `3.1.` → the numbers; each part 1 to 3 digits.
fn row_number_parts(token: &str) -> Option<Vec<u32>> {
    let token = token.strip_suffix('.').unwrap_or(token);
    token
        .split('.')
        .map(|part| {
            if (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        })
        .collect()
}

/// `I` … `XXXIX`, optionally with a trailing dot → its value.
fn roman_value(token: &str) -> Option<u32> {
    let token = token.strip_suffix('.').unwrap_or(token);
    if token.is_empty() || token.len() > 8 {
        return None;
    }
    let digit = |c: char| match c {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        _ => None,
    };
    let values: Vec<u32> = token.chars().map(digit).collect::<Option<_>>()?;
    let mut total = 0;
    for (i, &v) in values.iter().enumerate() {
        if values.get(i + 1).is_some_and(|&next| next > v) {
            total -= i64::from(v);
        } else {
            total += i64::from(v);
        }
    }
    let value = u32::try_from(total).ok().filter(|v| (1..40).contains(v))?;
    (to_roman(value) == token).then_some(value)
}

fn to_roman(mut value: u32) -> String {
    let mut out = String::new();
    for (v, s) in [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")] {
        while value >= v {
            out.push_str(s);
            value -= v;
        }
    }
    out
}

/// What may follow a number on its line to make it a row or section
/// number: nothing, or a capitalised word (or an opening bracket or quote).
fn starts_like_a_title(rest: &str) -> bool {
    rest.is_empty() || capitalised(rest) || rest.starts_with(['(', '"', '“', '\''])
}

/// True if rows are numbered like "1.1": at least two lines after the
/// header start with such a number (alone or before capitalised text), and
/// at least half as many as start with a bare integer. Then bare integers
/// are section numbers. (One stray "2.1 Triệu …" in task text must not
/// change how a table numbered 1, 2, 3 is read.)
fn uses_dotted_numbers(lines: &[&str], header_index: usize) -> bool {
    let (mut dotted, mut plain) = (0usize, 0usize);
    for line in lines.iter().skip(header_index + 1) {
        let (first, rest) = first_word(line);
        if let Some(parts) = row_number_parts(first).filter(|_| starts_like_a_title(rest)) {
            if parts.len() > 1 {
                dotted += 1;
            } else {
                plain += 1;
            }
        }
    }
    dotted >= 2 && dotted * 2 >= plain
}

/// A page number and what surrounds it: "3", "- 3 -", "Trang 3", "3/12".
/// Years are not page numbers.
fn is_page_number(text: &str) -> bool {
    let mut number = false;
    for token in text.split_whitespace() {
        let digits = token.trim_matches(['-', '–', '—']);
        if digits.is_empty()
            || digits.eq_ignore_ascii_case("trang")
            || digits.eq_ignore_ascii_case("page")
        {
            continue;
        }
        if number || !is_furniture_token(digits) {
            return false;
        }
        let first: Option<u32> = digits.split('/').next().and_then(|n| n.parse().ok());
        if !first.is_some_and(|n| (1..1000).contains(&n)) {
            return false;
        }
        number = true;
    }
    number
}

/// A "Phụ lục 3" heading (a few words at most) ends the table.
fn is_appendix_heading(text: &str) -> bool {
    let cleaned = text.trim_start_matches(|c: char| c.is_whitespace() || "*_#".contains(c));
    word_at(cleaned, 0, "phụ lục").is_some_and(|end| cleaned[end..].split_whitespace().count() <= 3)
}

struct Grouper<'h, 'a> {
    header: &'h Header,
    dotted: bool,
    entries: Vec<Entry<'a>>,
    section: u32,
    last_row: Option<Vec<u32>>,
    page_break: bool,
    /// The last non-blank line was (part of) a repeated header.
    after_header: bool,
}

impl<'h, 'a> Grouper<'h, 'a> {
    fn new(header: &'h Header, dotted: bool) -> Self {
        Self {
            header,
            dotted,
            entries: Vec::new(),
            section: 0,
            last_row: None,
            page_break: false,
            after_header: false,
        }
    }

    fn read(
        &mut self,
        lines: &[&'a str],
        header_index: usize,
        table: &mut TableBuilder<'_>,
    ) -> Result<(), AppendixError> {
        // Page-number-like lines wait until we know whether a repeated
        // header follows them.
        let mut waiting: Vec<(usize, &'a str)> = Vec::new();
        for (index, raw) in lines.iter().enumerate().skip(header_index + 1) {
            let line = index + 1;
            let text = raw.trim();
            if text.is_empty() {
                continue;
            }
            if self.is_repeated_header(text) {
                waiting.clear();
                self.page_break = true;
                self.after_header = true;
                continue;
            }
            self.after_header = false;
            if is_page_number(text) {
                waiting.push((line, text));
                continue;
            }
            if is_appendix_heading(text) {
                skip_at_end(&waiting, table);
                return Ok(());
            }
            for (l, t) in std::mem::take(&mut waiting) {
                self.line(l, t, table)?;
            }
            self.line(line, text, table)?;
        }
        skip_at_end(&waiting, table);
        Ok(())
    }

    /// The header's labels again, all of them or (if the header wrapped)
    /// some: a part with the TT/STT label, or, right after such a part, two
    /// or more of its other labels. Task text that happens to read "phối
    /// hợp thời gian" elsewhere is not taken for a header.
    fn is_repeated_header(&self, text: &str) -> bool {
        let Some(labels) = spaced_labels(text) else {
            return false;
        };
        let has_row_number = labels
            .iter()
            .any(|label| role_of(label) == ColumnRole::RowNumber);
        (has_row_number || self.after_header) && self.all_known(&labels)
    }

    fn all_known(&self, labels: &[&str]) -> bool {
        labels.iter().all(|label| {
            let norm = normalize_label(label);
            self.header
                .columns
                .iter()
                .any(|c| normalize_label(&c.header) == norm)
        })
    }

    fn line(
        &mut self,
        line: usize,
        text: &'a str,
        table: &mut TableBuilder<'_>,
    ) -> Result<(), AppendixError> {
        let (first, rest) = first_word(text);
        if let Some(value) = self.section_number(first, rest) {
            self.entries.push(Entry::Section {
                number: first,
                title: if rest.is_empty() { vec![] } else { vec![rest] },
            });
            self.section = value;
            self.last_row = None;
            self.page_break = false;
            return Ok(());
        }
        if let Some(parts) = self.row_number(first, rest) {
            let restart = parts.last() == Some(&1)
                && self
                    .last_row
                    .as_ref()
                    .is_some_and(|p| p.len() == 1 && p[0] > 1);
            if restart {
                table.warn(
                    line,
                    None,
                    format!("row numbering restarts at {first} without a section heading"),
                );
            }
            let first_line = if rest.is_empty() {
                vec![]
            } else {
                vec![SourceLine { line, text: rest }]
            };
            self.entries.push(Entry::Row {
                line,
                number: first,
                runs: vec![first_line],
            });
            self.last_row = Some(parts);
            self.page_break = false;
            return Ok(());
        }
        match self.entries.last_mut() {
            Some(Entry::Row { runs, .. }) => {
                if std::mem::take(&mut self.page_break)
                    && runs.last().is_some_and(|r| !r.is_empty())
                {
                    runs.push(Vec::new());
                }
                if let Some(run) = runs.last_mut() {
                    run.push(SourceLine { line, text });
                }
            }
            Some(Entry::Section { title, .. }) => title.push(text),
            None => return Err(AppendixError::OrphanContinuation { line }),
        }
        Ok(())
    }

    fn section_number(&self, first: &str, rest: &str) -> Option<u32> {
        if !starts_like_a_title(rest) {
            return None;
        }
        let value = roman_value(first).or_else(|| {
            let parts = row_number_parts(first).filter(|_| self.dotted)?;
            match parts[..] {
                [n] => Some(n),
                _ => None,
            }
        })?;
        (self.section < value && value <= self.section + 2).then_some(value)
    }

    fn row_number(&self, first: &str, rest: &str) -> Option<Vec<u32>> {
        let parts = row_number_parts(first)?;
        if !starts_like_a_title(rest) || self.dotted != (parts.len() > 1) {
            return None;
        }
        let last = *parts.last()?;
        let follows = match &self.last_row {
            Some(prev) if prev[..prev.len() - 1] == parts[..parts.len() - 1] => {
                let prev_last = prev[prev.len() - 1];
                last == 1 || (prev_last..=prev_last + 3).contains(&last)
            }
            _ => (1..=3).contains(&last),
        };
        follows.then_some(parts)
    }
}

/// Page numbers left at the end of the table: skipped, with a warning.
fn skip_at_end(waiting: &[(usize, &str)], table: &mut TableBuilder<'_>) {
    for &(line, text) in waiting {
        table.warn(
            line,
            None,
            format!("\"{text}\" at the end of the table was taken for a page number and skipped"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(row_number_parts("3"), Some(vec![3]));
        assert_eq!(row_number_parts("3."), Some(vec![3]));
        assert_eq!(row_number_parts("6.1"), Some(vec![6, 1]));
        assert_eq!(row_number_parts("2023"), None);
        assert_eq!(row_number_parts("5%,"), None);
        assert_eq!(row_number_parts("."), None);
        assert_eq!(roman_value("VI."), Some(6));
        assert_eq!(roman_value("VIII"), Some(8));
        assert_eq!(roman_value("IIII"), None);
        assert_eq!(roman_value("IL"), None);
        assert_eq!(roman_value("V"), Some(5));
        assert_eq!(roman_value(""), None);
    }

    #[test]
    fn page_numbers() {
        for text in ["3", "- 3 -", "Trang 3", "3/12", "-3-", "Page 12"] {
            assert!(is_page_number(text), "{text}");
        }
        for text in ["2023", "3 4", "Trang", "Sở", "0", "2023 - 2024"] {
            assert!(!is_page_number(text), "{text}");
        }
    }

    #[test]
    fn appendix_headings() {
        assert!(is_appendix_heading("Phụ lục 3"));
        assert!(is_appendix_heading("**PHỤ LỤC II**"));
        assert!(!is_appendix_heading(
            "Phụ lục kèm theo Kế hoạch số 12 của UBND"
        ));
    }
}
