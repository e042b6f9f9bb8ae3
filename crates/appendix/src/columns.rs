//! Assigning undelimited text to columns (PDF text).
//!
//! A row of a PDF table, once extracted, is its cells' lines one after
//! another, in column order: the task text, then the lead agency, then the
//! coordinators, then the timeframe, with single-line cells often sharing a
//! line ("UBND cấp huyện UBND cấp xã Hằng năm"). This module splits one such
//! run of lines (one page's worth of a row) into the four cells.
//!
//! 1. The **timeframe** is the longest suffix (at most 10 words over at most
//!    two lines) that [`is_timeframe`] accepts, unless it follows a joining
//!    word or separator on its line ("trong năm 2023" stays text).
//! 2. The rest is cut in two places, title | lead | coordinators. Cuts can
//!    only fall where an agency name starts ([`NameMatcher::start_at`]): at
//!    the start of a line, or inside a line when the word before it is not a
//!    separator or joining word. Every pair of cuts is scored, and the best
//!    one wins. Evidence, strongest first:
//!    - a title is required, and a row with agency columns needs a lead;
//!    - a cell does not begin right after `,`, `-`, `&` or a joining word
//!      such as "trên" or "của" (the text before it is unfinished);
//!    - a name start inside an agency cell without `,`/`;` before it means
//!      a cut is missing there;
//!    - known agency names (from [`crate::ParseOptions`]) are better starts
//!      than typical ones, and agency cells should be made of them;
//!    - cells wrap like cells: every line but the last of a cell is nearly
//!      as wide as the cell's widest line (the next word would not have
//!      fitted), so a short line followed by more text of the same cell is
//!      suspect;
//!    - columns keep their width down the table: once the lead and
//!      coordinator widths are known (learnt by [`crate::pdf_text`] from the
//!      rows read without doubt), a line much wider than its column is
//!      suspect;
//!    - cuts inside a line are a little less likely than at line starts,
//!      between title and lead more so than between lead and coordinators;
//!      and they only happen after a one-line cell (extraction puts
//!      one-line cells that share a baseline on one line: "UBND cấp huyện
//!      UBND cấp xã Hằng năm"), so a cut inside a line after a cell of
//!      several lines is very unlikely.
//!
//! If the runner-up is within [`MARGIN`] of the best, the best is used and a
//! doubt is reported. Every word ends up in exactly one cell, in order, so
//! nothing is lost whatever the reading. Work per row is bounded: only the
//! last [`WINDOW_WORDS`] words can go to agency columns, and only the last
//! [`MAX_CUTS`] cut positions are tried.

use crate::names::{ending, is_function_word, Ending, NameMatcher, StartKind, Words};
use crate::timeframe::is_timeframe;

/// Only this many words at the end of a row (before the timeframe) can go to
/// the agency columns; earlier words are always task text.
const WINDOW_WORDS: usize = 200;
/// Only this many cut positions (the last ones) are tried.
const MAX_CUTS: usize = 16;
/// The longest timeframe, in words.
const MAX_TIMEFRAME_WORDS: usize = 10;
/// Scores closer than this to the best are a doubt.
const MARGIN: i32 = 10;

// Scores, in tenths.
const NO_TITLE: i32 = -200;
const NO_LEAD: i32 = -60;
const NO_LEAD_BUT_COORDINATORS: i32 = -80;
const NO_COORDINATORS: i32 = -5;
const KNOWN_START: i32 = 30;
const TYPICAL_START: i32 = 10;
const MID_LINE_LEAD: i32 = -15;
const MID_LINE_COORDINATORS: i32 = -3;
const MID_LINE_AFTER_LINES: i32 = -40;
const AFTER_OPEN: i32 = -40;
const AFTER_SEMICOLON: i32 = -15;
const MISSED_CUT: i32 = -20;
const BAD_WRAP: i32 = -15;
const UNKNOWN_WORD: i32 = -4;
const UNKNOWN_WORDS_CAP: i32 = -30;
const TOO_WIDE: i32 = -20;

/// One line of a row's text: its 1-based source line and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceLine<'a> {
    pub(crate) line: usize,
    pub(crate) text: &'a str,
}

/// A column of the row, for doubts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Title,
    Lead,
    Coordinators,
}

/// Something the assignment is not sure about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Doubt {
    pub(crate) line: usize,
    pub(crate) column: Col,
    pub(crate) message: String,
}

/// One run of a row's lines, split into cells (words joined with single
/// spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Assigned {
    pub(crate) title: String,
    pub(crate) lead: String,
    pub(crate) coordinators: String,
    pub(crate) timeframe: String,
    pub(crate) doubts: Vec<Doubt>,
    /// Width in characters of each line of the lead cell.
    pub(crate) lead_widths: Vec<usize>,
    /// Width in characters of each line of the coordinators cell.
    pub(crate) coordinators_widths: Vec<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    /// Index of its line in the run.
    line: usize,
    /// First word on its line.
    first: bool,
    chars: usize,
}

#[derive(Debug, Clone, Copy)]
struct Cut {
    at: usize,
    kind: StartKind,
}

/// What the table has and knows, for [`Segmenter::assign`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segmenter<'a> {
    pub(crate) names: &'a NameMatcher,
    pub(crate) has_coordinators: bool,
    pub(crate) has_timeframe: bool,
    /// The widest first line of a row's task text in this table (in
    /// characters): about the width of the task column.
    pub(crate) title_width: usize,
    /// Lines of a lead cell wider than this (in characters) are suspect.
    pub(crate) lead_limit: Option<usize>,
    /// Lines of a coordinators cell wider than this are suspect.
    pub(crate) coordinators_limit: Option<usize>,
}

/// The words of one run, with what scoring needs.
struct Run<'a, 'l> {
    lines: &'l [SourceLine<'a>],
    words: Vec<Word<'a>>,
    texts: Vec<&'a str>,
    /// End of the text before the timeframe.
    body: usize,
    /// First word that may go to an agency column (a line start).
    window: usize,
    /// Widest line before `window`, in characters.
    max_before_window: usize,
    /// Words covered by a known agency name (inside the window).
    known: Vec<bool>,
    cuts: Vec<Cut>,
}

impl Segmenter<'_> {
    /// Splits `lines` into cells. `first_run` is false for text that
    /// continues a row after a page break: it may lack a title or a lead.
    pub(crate) fn assign(&self, lines: &[SourceLine<'_>], first_run: bool) -> Assigned {
        let run = self.prepare(lines);
        let m = run.body;
        let options = self.options(&run);
        let scored: Vec<(i32, usize, usize)> = options
            .iter()
            .map(|&(c1, c2)| (self.score(&run, c1, c2, first_run), c1, c2))
            .collect();
        // Best score; on a tie, the earlier title end, then the earlier
        // coordinators start (leads are usually the shorter list).
        let best = scored
            .iter()
            .copied()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)))
            .unwrap_or((0, m, m));
        let runner_up = scored
            .iter()
            .copied()
            .filter(|&(_, c1, c2)| (c1, c2) != (best.1, best.2))
            .max_by_key(|s| s.0);
        let (_, c1, c2) = best;
        let join = |range: std::ops::Range<usize>| run.texts[range].join(" ");
        let mut assigned = Assigned {
            title: join(0..c1),
            lead: join(c1..c2),
            coordinators: join(c2..m),
            timeframe: join(m..run.words.len()),
            doubts: Vec::new(),
            lead_widths: line_lengths(&run.words[c1..c2]),
            coordinators_widths: line_lengths(&run.words[c2..m]),
        };
        if let Some((score, r1, r2)) = runner_up {
            if best.0 - score < MARGIN {
                assigned
                    .doubts
                    .push(self.ambiguity(&run, (c1, c2), (r1, r2)));
            }
        }
        if first_run && c1 == 0 {
            assigned.doubts.push(Doubt {
                line: lines.first().map_or(0, |l| l.line),
                column: Col::Title,
                message: "no task text found before the agency and timeframe text".to_owned(),
            });
        }
        if first_run && c1 == c2 && m > 0 && c1 == m {
            assigned.doubts.push(Doubt {
                line: lines.first().map_or(0, |l| l.line),
                column: Col::Lead,
                message: "no agency name found (no known name and no typical start such as \
                          \"Sở\", \"UBND\", \"Văn phòng\"); all text kept in the task column"
                    .to_owned(),
            });
        }
        if !first_run && c1 == m && m > 0 && self.short_lines_only(&run) {
            assigned.doubts.push(Doubt {
                line: lines.first().map_or(0, |l| l.line),
                column: Col::Title,
                message: format!(
                    "text after a page break, \"{}\", was read as more task text; being short, \
                     it may continue another column",
                    assigned.title
                ),
            });
        }
        if run.window > 0 {
            assigned.doubts.push(Doubt {
                line: lines.first().map_or(0, |l| l.line),
                column: Col::Title,
                message: format!(
                    "unusually long row: only its last {WINDOW_WORDS} words were considered \
                     for the agency columns"
                ),
            });
        }
        assigned
    }

    fn prepare<'a, 'l>(&self, lines: &'l [SourceLine<'a>]) -> Run<'a, 'l> {
        let mut words = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            for (k, text) in line.text.split_whitespace().enumerate() {
                words.push(Word {
                    text,
                    line: index,
                    first: k == 0,
                    chars: text.chars().count(),
                });
            }
        }
        let texts: Vec<&str> = words.iter().map(|w| w.text).collect();
        let body = if self.has_timeframe {
            timeframe_start(&words)
        } else {
            words.len()
        };
        // The window starts at a line start, unless that line is very long.
        let mut window = body.saturating_sub(WINDOW_WORDS);
        let floor = window.saturating_sub(WINDOW_WORDS);
        while window > floor && !words[window].first {
            window -= 1;
        }
        let max_before_window = line_lengths(&words[..window])
            .into_iter()
            .max()
            .unwrap_or(0);
        // Only the window's words are ever matched against names.
        let body_words = Words::new(texts[window..body].to_vec());
        let mut known = vec![false; body];
        if self.names.has_known() {
            for i in window..body {
                if let Some(n) = self.names.known_at(&body_words, i - window) {
                    known[i..i + n].iter_mut().for_each(|k| *k = true);
                }
            }
        }
        let mut cuts = Vec::new();
        let mut i = window;
        while i < body {
            match self.names.start_at(&body_words, i - window) {
                Some(start) => {
                    let eligible =
                        words[i].first || (i > 0 && ending(texts[i - 1]) == Ending::Plain);
                    if eligible {
                        cuts.push(Cut {
                            at: i,
                            kind: start.kind,
                        });
                    }
                    i += start.words.max(1);
                }
                None => i += 1,
            }
        }
        if cuts.len() > MAX_CUTS {
            cuts.drain(..cuts.len() - MAX_CUTS);
        }
        Run {
            lines,
            words,
            texts,
            body,
            window,
            max_before_window,
            known,
            cuts,
        }
    }

    /// Every `(title end, coordinators start)` pair to try.
    fn options(&self, run: &Run<'_, '_>) -> Vec<(usize, usize)> {
        let mut ends: Vec<usize> = run.cuts.iter().map(|c| c.at).collect();
        ends.push(run.body);
        let mut options = Vec::new();
        for (a, &c1) in ends.iter().enumerate() {
            if self.has_coordinators {
                options.extend(ends[a..].iter().map(|&c2| (c1, c2)));
            } else {
                options.push((c1, run.body));
            }
        }
        options
    }

    fn score(&self, run: &Run<'_, '_>, c1: usize, c2: usize, first_run: bool) -> i32 {
        let m = run.body;
        let (has_lead, has_coordinators) = (c1 < c2, c2 < m);
        let mut score = 0;
        if first_run {
            if c1 == 0 {
                score += NO_TITLE;
            }
            if !has_lead {
                score += if has_coordinators {
                    NO_LEAD_BUT_COORDINATORS
                } else {
                    NO_LEAD
                };
            } else if !has_coordinators && self.has_coordinators {
                score += NO_COORDINATORS;
            }
        }
        if has_lead {
            score += self.cut_score(run, 0, c1, MID_LINE_LEAD);
        }
        if has_coordinators {
            score += self.cut_score(run, c1, c2, MID_LINE_COORDINATORS);
        }
        for cut in &run.cuts {
            let inside = (c1 < cut.at && cut.at < c2) || (c2 < cut.at && cut.at < m);
            if inside && ending(run.texts[cut.at - 1]) == Ending::Plain {
                score += MISSED_CUT;
            }
        }
        let title_from = run.window.min(c1);
        score += BAD_WRAP
            * (bad_wraps(&run.words[title_from..c1], run.max_before_window)
                + bad_wraps(&run.words[c1..c2], 0)
                + bad_wraps(&run.words[c2..m], 0));
        if self.names.has_known() {
            score += unknown_words(run, c1..c2) + unknown_words(run, c2..m);
        }
        score += TOO_WIDE
            * (too_wide(&run.words[c1..c2], self.lead_limit)
                + too_wide(&run.words[c2..m], self.coordinators_limit));
        score
    }

    /// The score of a cell starting at `at` (a cut position), after the
    /// cell that starts at `from`.
    fn cut_score(&self, run: &Run<'_, '_>, from: usize, at: usize, mid_line: i32) -> i32 {
        let mut score = match run.cuts.iter().find(|c| c.at == at).map(|c| c.kind) {
            Some(StartKind::Known) => KNOWN_START,
            Some(StartKind::Typical) => TYPICAL_START,
            None => 0,
        };
        if !run.words[at].first {
            score += mid_line;
            if from < at && run.words[from].line != run.words[at].line {
                score += MID_LINE_AFTER_LINES;
            }
        }
        if at > 0 {
            score += match ending(run.texts[at - 1]) {
                Ending::Plain => 0,
                Ending::Semicolon => AFTER_SEMICOLON,
                Ending::Open => AFTER_OPEN,
            };
        }
        score
    }

    fn ambiguity(&self, run: &Run<'_, '_>, best: (usize, usize), other: (usize, usize)) -> Doubt {
        let m = run.body;
        let join = |range: std::ops::Range<usize>| run.texts[range].join(" ");
        let line_of = |at: usize| {
            let index = run
                .words
                .get(at)
                .map_or(run.lines.len().saturating_sub(1), |w| w.line);
            run.lines.get(index).map_or(0, |l| l.line)
        };
        let (c1, c2) = best;
        let (r1, r2) = other;
        if c1 != r1 {
            let tail = |end: usize| {
                let start = end.saturating_sub(4);
                join(start..end)
            };
            Doubt {
                line: line_of(c1.min(r1)),
                column: Col::Lead,
                message: format!(
                    "unsure where the task text ends: read it as ending \"…{}\", lead \"{}\", \
                     coordinators \"{}\"; nearly as likely: ending \"…{}\", lead \"{}\", \
                     coordinators \"{}\"",
                    tail(c1),
                    join(c1..c2),
                    join(c2..m),
                    tail(r1),
                    join(r1..r2),
                    join(r2..m)
                ),
            }
        } else {
            Doubt {
                line: line_of(c2.min(r2)),
                column: Col::Coordinators,
                message: format!(
                    "unsure where the lead ends: read lead \"{}\", coordinators \"{}\"; nearly \
                     as likely: lead \"{}\", coordinators \"{}\"",
                    join(c1..c2),
                    join(c2..m),
                    join(r1..r2),
                    join(r2..m)
                ),
            }
        }
    }

    /// True if no line of the run is as wide as most task-text lines.
    fn short_lines_only(&self, run: &Run<'_, '_>) -> bool {
        line_lengths(&run.words)
            .into_iter()
            .all(|len| len * 10 < self.title_width * 7)
    }
}

/// Where the timeframe starts (`words.len()` if there is none).
fn timeframe_start(words: &[Word<'_>]) -> usize {
    let n = words.len();
    for k in (1..=n.min(MAX_TIMEFRAME_WORDS)).rev() {
        let start = n - k;
        if words[n - 1].line - words[start].line > 1 {
            continue;
        }
        let text: Vec<&str> = words[start..].iter().map(|w| w.text).collect();
        if !is_timeframe(&text.join(" ")) {
            continue;
        }
        if start > 0 && !words[start].first {
            let before = words[start - 1].text;
            if ending(before) != Ending::Plain || is_timeframe_word(before) {
                continue;
            }
        }
        return start;
    }
    n
}

/// Words that belong to a timeframe phrase when they come before one ("năm
/// 2023", "giai đoạn 2023-2025"): a timeframe does not start after them.
fn is_timeframe_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    [
        "năm", "quý", "tháng", "ngày", "đoạn", "từ", "đến", "trước", "sau", "trong", "cuối", "đầu",
        "giữa", "hằng", "hàng",
    ]
    .contains(&lower.as_str())
}

/// The width in characters of each line's part of `words`.
fn line_lengths(words: &[Word<'_>]) -> Vec<usize> {
    let mut lengths: Vec<usize> = Vec::new();
    let mut previous_line = None;
    for w in words {
        if previous_line == Some(w.line) {
            if let Some(last) = lengths.last_mut() {
                *last += 1 + w.chars;
            }
        } else {
            lengths.push(w.chars);
            previous_line = Some(w.line);
        }
    }
    lengths
}

/// Lines of a cell that end well short of the cell's width although more
/// of the cell follows: the next word would have fitted. `wider` is the
/// width of lines of the same cell not in `words`.
fn bad_wraps(words: &[Word<'_>], wider: usize) -> i32 {
    let lengths = line_lengths(words);
    let width = lengths.iter().copied().max().unwrap_or(0).max(wider);
    let mut next_first = Vec::with_capacity(lengths.len());
    let mut previous_line = None;
    for w in words {
        if previous_line != Some(w.line) {
            next_first.push(w.chars);
            previous_line = Some(w.line);
        }
    }
    let bad = lengths
        .iter()
        .zip(next_first.iter().skip(1))
        .filter(|&(&len, &next)| (len + 1 + next) * 100 + 100 < width * 85)
        .count();
    i32::try_from(bad).unwrap_or(i32::MAX / 100)
}

/// The number of lines of `words` wider than `limit`.
fn too_wide(words: &[Word<'_>], limit: Option<usize>) -> i32 {
    let Some(limit) = limit else {
        return 0;
    };
    let wide = line_lengths(words)
        .into_iter()
        .filter(|&w| w > limit)
        .count();
    i32::try_from(wide).unwrap_or(i32::MAX / 100)
}

/// A column's width limit learnt from the cells of rows read without doubt:
/// for each cell of two lines or more, its widest line but the last (which
/// is nearly the column's width, or the next word would have fitted); the
/// median of those, plus 30 % and two characters. `None` with fewer than
/// three such cells.
pub(crate) fn width_limit(cells: &[&[usize]]) -> Option<usize> {
    let mut widest: Vec<usize> = cells
        .iter()
        .filter_map(|widths| widths.split_last()?.1.iter().copied().max())
        .collect();
    if widest.len() < 3 {
        return None;
    }
    widest.sort_unstable();
    let median = widest[widest.len() / 2];
    Some(median * 13 / 10 + 2)
}

/// Penalty for words of an agency cell that no known name covers (joining
/// words and lone separators excepted).
fn unknown_words(run: &Run<'_, '_>, range: std::ops::Range<usize>) -> i32 {
    let unknown = range
        .filter(|&i| {
            let text = run.texts[i];
            !run.known[i] && !is_function_word(text) && text.chars().any(char::is_alphanumeric)
        })
        .count();
    (i32::try_from(unknown).unwrap_or(i32::MAX / 10) * UNKNOWN_WORD).max(UNKNOWN_WORDS_CAP)
}

#[cfg(test)]
#[path = "columns_tests.rs"]
mod tests;
