//! Input hygiene: the size limit, UTF-8 decoding, the byte-order mark and
//! line endings.
//!
//! Invariants: nothing here allocates more than a copy of the input, every
//! step is linear, and line/column numbers count lines the way the parsers
//! do after [`normalize`] (CRLF, CR and LF each end one line; columns are
//! 1-based and count characters, not bytes).

use std::borrow::Cow;

use crate::error::AppendixError;

/// The largest input accepted, in bytes (4 MiB). A plan's appendix is a few
/// tens of kilobytes; anything this large is not one.
pub const MAX_APPENDIX_BYTES: usize = 4 * 1024 * 1024;

/// Fails with [`AppendixError::TooLarge`] if `bytes` exceeds
/// [`MAX_APPENDIX_BYTES`].
pub(crate) fn check_size(bytes: usize) -> Result<(), AppendixError> {
    if bytes > MAX_APPENDIX_BYTES {
        Err(AppendixError::TooLarge {
            bytes,
            limit: MAX_APPENDIX_BYTES,
        })
    } else {
        Ok(())
    }
}

/// Turns the bytes of an uploaded file into text for
/// [`parse_appendix`](crate::parse_appendix): checks the size, decodes
/// UTF-8, strips a leading byte-order mark and turns CRLF and lone CR line
/// endings into LF.
///
/// # Errors
///
/// [`AppendixError::TooLarge`] for more than [`MAX_APPENDIX_BYTES`] bytes
/// (checked first, before looking at the content), and
/// [`AppendixError::InvalidUtf8`] naming the line and column (in characters,
/// after the byte-order mark) of the first byte that is not UTF-8.
///
/// ```
/// use dondoc_appendix::{decode_text, AppendixError};
/// assert_eq!(decode_text(b"\xEF\xBB\xBFTT\r\n1\r").unwrap(), "TT\n1\n");
/// assert_eq!(
///     decode_text(b"TT\nS\xE1\xBB\x9F \xFF").unwrap_err(),
///     AppendixError::InvalidUtf8 { line: 2, column: 4 }
/// );
/// ```
pub fn decode_text(bytes: &[u8]) -> Result<String, AppendixError> {
    check_size(bytes.len())?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(normalize(text).into_owned()),
        Err(error) => {
            let (line, column) = position_after(&bytes[..error.valid_up_to()]);
            Err(AppendixError::InvalidUtf8 { line, column })
        }
    }
}

/// The 1-based line and character column of the position just after
/// `valid` (which is valid UTF-8).
fn position_after(valid: &[u8]) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    let mut bytes = valid.iter().peekable();
    while let Some(&b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if(|&&next| next == b'\n');
                line += 1;
                column = 1;
            }
            b'\n' => {
                line += 1;
                column = 1;
            }
            // UTF-8 continuation bytes do not start a character.
            _ if b & 0xC0 == 0x80 => {}
            _ => column += 1,
        }
    }
    (line, column)
}

/// Strips a leading byte-order mark and turns CRLF and lone CR into LF.
/// Borrows when there is nothing to change.
pub(crate) fn normalize(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut pieces = text.split('\r').peekable();
    while let Some(piece) = pieces.next() {
        if pieces.peek().is_none() {
            out.push_str(piece);
        } else {
            out.push_str(piece);
            // The '\r' is replaced by '\n'; a '\n' right after it is dropped
            // by trimming it off the next piece.
            out.push('\n');
            if let Some(next) = pieces.peek_mut() {
                *next = next.strip_prefix('\n').unwrap_or(next);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn strips_bom_and_normalises_line_endings() {
        assert_eq!(
            decode_text(b"\xEF\xBB\xBFa\r\nb\rc\n\r\n").unwrap(),
            "a\nb\nc\n\n"
        );
        assert_eq!(decode_text(b"").unwrap(), "");
        assert_eq!(decode_text(b"\r\r\n\n").unwrap(), "\n\n\n");
        assert_eq!(normalize("\u{feff}x"), Cow::Borrowed("x"));
        // Only a leading BOM is stripped.
        assert_eq!(decode_text("a\u{feff}".as_bytes()).unwrap(), "a\u{feff}");
    }

    #[test]
    fn invalid_utf8_names_line_and_character_column() {
        let err = |bytes: &[u8]| decode_text(bytes).unwrap_err();
        assert_eq!(
            err(b"\xFF"),
            AppendixError::InvalidUtf8 { line: 1, column: 1 }
        );
        // "Sở" is two characters but four bytes; CRLF is one line break.
        assert_eq!(
            err("TT\r\nSở A\r\nSở \u{1ea1}"
                .as_bytes()
                .iter()
                .copied()
                .chain([0xC3, b'x'])
                .collect::<Vec<u8>>()
                .as_slice()),
            AppendixError::InvalidUtf8 { line: 3, column: 5 }
        );
        // A lone CR ends a line too; the BOM is not a column.
        assert_eq!(
            err(b"\xEF\xBB\xBFab\rc\xE1\xBB"),
            AppendixError::InvalidUtf8 { line: 2, column: 2 }
        );
        let message = err(b"a\nbc\xFF").to_string();
        assert!(message.starts_with("line 2:"), "{message}");
        assert!(message.contains("column 3"), "{message}");
    }

    #[test]
    fn too_large_is_rejected_quickly() {
        let big = vec![b'a'; 50 * 1024 * 1024];
        let start = Instant::now();
        assert_eq!(
            decode_text(&big),
            Err(AppendixError::TooLarge {
                bytes: big.len(),
                limit: MAX_APPENDIX_BYTES
            })
        );
        assert!(start.elapsed() < Duration::from_millis(100));
        let exactly = vec![b'a'; MAX_APPENDIX_BYTES];
        assert_eq!(decode_text(&exactly).unwrap().len(), MAX_APPENDIX_BYTES);
    }
}
