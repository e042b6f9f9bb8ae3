//! What a text field may hold, and how an error quotes what it got.
//!
//! Invariants:
//! - no text accepted from a caller holds a control character (C0, DEL, C1) other than
//!   a line break or a tab in long text, nor a bidirectional formatting mark (they make
//!   a terminal or a page show something else than what is stored);
//! - every text field has a length limit, checked before any work (`limits`), so no
//!   event can outgrow a NATS message;
//! - an error quotes at most a short prefix of the input (`quoted`), so a megabyte of
//!   input never becomes a megabyte of error.
//!
//! Stored events are read without these checks (`AgencyName`'s serde path): a rule made
//! stricter later must never make a recorded event unreadable.

use crate::error::InvalidInput;

/// The limits of the text fields, in characters (Unicode scalar values).
pub mod limits {
    /// An agency's name.
    pub const AGENCY_NAME: usize = 300;
    /// A report's content, an answer.
    pub const REPORT_CONTENT: usize = 20_000;
    /// A coordination note.
    pub const NOTE: usize = 20_000;
    /// An extension's reason, a request's subject, who granted an extension.
    pub const SHORT_TEXT: usize = 2_000;
}

/// How much of a refused input an error quotes.
const QUOTED_CHARS: usize = 40;

/// The input as an error shows it: Debug-quoted, cut after 40 characters with the
/// length said ("\"Sở Y tế…\" (1048576 characters)").
pub fn quoted(raw: &str) -> String {
    let count = raw.chars().count();
    if count <= QUOTED_CHARS {
        return format!("{raw:?}");
    }
    let prefix: String = raw.chars().take(QUOTED_CHARS).collect();
    format!("{:?}… ({count} characters)", prefix)
}

/// Whether `c` changes how text shows without being seen: a control character (C0, DEL,
/// C1) or a bidirectional formatting mark. What a caller's text may not hold (but line
/// breaks and tabs in long text), and what a terminal must be shown escaped.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` may appear in a caller's text (module docs).
fn allowed(c: char, multiline: bool) -> bool {
    !is_hidden_char(c) || (multiline && matches!(c, '\n' | '\t' | '\r'))
}

/// Checks a caller's text: not longer than `limit` characters, no forbidden character
/// (module docs). `multiline` allows line breaks and tabs (long text: notes, contents).
pub fn check_text(
    field: &str,
    text: &str,
    limit: usize,
    multiline: bool,
) -> Result<(), InvalidInput> {
    let count = text.chars().count();
    if count > limit {
        return Err(InvalidInput::new(
            field,
            format!("{count} characters is more than the limit of {limit}"),
        ));
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !allowed(*c, multiline))
    {
        return Err(InvalidInput::new(
            field,
            format!(
                "character {} is {:?} (U+{:04X}), which text may not hold: control \
                 characters{} and bidirectional marks are refused",
                at + 1,
                c,
                u32::from(c),
                if multiline {
                    " other than line breaks and tabs"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_quote_a_short_prefix() {
        assert_eq!(quoted("Sở Y tế"), "\"Sở Y tế\"");
        let long = "x".repeat(1_048_576);
        let shown = quoted(&long);
        assert!(shown.len() < 80, "{shown}");
        assert!(shown.ends_with("(1048576 characters)"), "{shown}");
    }

    #[test]
    fn control_characters_and_bidi_marks_are_refused() {
        assert!(check_text("note", "Đã phối hợp\nvới Sở\tY tế", 100, true).is_ok());
        for bad in [
            "a\u{0}b",
            "a\u{1b}[31mb",
            "a\u{202E}b",
            "a\u{7f}b",
            "a\u{85}b",
        ] {
            let error = check_text("note", bad, 100, true).unwrap_err();
            assert_eq!(error.field, "note");
            assert!(error.message.contains("character 2"), "{}", error.message);
        }
        assert!(check_text("agency", "Sở\nY tế", 100, false).is_err());
        let error = check_text("content", &"x".repeat(101), 100, true).unwrap_err();
        assert!(error.message.contains("limit of 100"), "{}", error.message);
    }
}
