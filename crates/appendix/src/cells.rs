//! Splitting one physical line into cells: tab-separated text.
//!
//! CSV records come from [`crate::csv_table`] and PDF text has no cell
//! delimiters at all ([`crate::pdf_text`]); the table logic in
//! [`crate::table`] does not care where the cells came from.

/// Splits one line of the source into raw (untrimmed) cells.
pub(crate) trait CellSplitter {
    fn split<'a>(&self, line: &'a str) -> Vec<&'a str>;
}

/// Cells separated by `\t` (what a word processor's "save as text" gives).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TabSeparated;

impl CellSplitter for TabSeparated {
    fn split<'a>(&self, line: &'a str) -> Vec<&'a str> {
        line.split('\t').collect()
    }
}
