//! Small, panic-free text helpers: case-insensitive matching on Vietnamese
//! text without slicing inside a character.

/// Case-insensitive equality of two chars (full Unicode lower-case mapping).
fn eq_ci(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// If `phrase` occurs in `hay` starting exactly at byte `at`, compared
/// case-insensitively and ignoring whitespace after the first character (in
/// both strings), returns the byte index just past the match.
///
/// `at` must be a char boundary of `hay` (or `hay.len()`); otherwise `None`.
pub(crate) fn match_ci_at(hay: &str, at: usize, phrase: &str) -> Option<usize> {
    let rest = hay.get(at..)?;
    let mut hay_chars = rest.char_indices().peekable();
    let mut first = true;
    for p in phrase.chars().filter(|c| !c.is_whitespace()) {
        if !first {
            while hay_chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        }
        first = false;
        let (_, c) = hay_chars.next()?;
        if !eq_ci(c, p) {
            return None;
        }
    }
    Some(hay_chars.peek().map_or(hay.len(), |&(i, _)| at + i))
}

/// True if no letter or digit comes right before byte `at`.
pub(crate) fn boundary_before(hay: &str, at: usize) -> bool {
    hay.get(..at)
        .and_then(|s| s.chars().next_back())
        .is_none_or(|c| !c.is_alphanumeric())
}

/// True if no letter or digit comes right after byte `end`.
pub(crate) fn boundary_after(hay: &str, end: usize) -> bool {
    hay.get(end..)
        .and_then(|s| s.chars().next())
        .is_none_or(|c| !c.is_alphanumeric())
}

/// If the whole word or phrase `word` occurs at byte `at` (case-insensitive,
/// word boundaries on both sides), returns the byte index just past it.
pub(crate) fn word_at(hay: &str, at: usize, word: &str) -> Option<usize> {
    if !boundary_before(hay, at) {
        return None;
    }
    let end = match_ci_at(hay, at, word)?;
    boundary_after(hay, end).then_some(end)
}

/// Byte offsets where the whole word `word` starts in `hay`.
pub(crate) fn word_positions<'a>(hay: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    hay.char_indices()
        .map(|(i, _)| i)
        .filter(move |&i| word_at(hay, i, word).is_some())
}

/// A header label reduced for comparison: trimmed, markdown emphasis
/// stripped, whitespace runs collapsed, spaces around `/` removed,
/// lower-cased.
pub(crate) fn normalize_label(cell: &str) -> String {
    let stripped = cell.trim_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    let collapsed = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace(" /", "/")
        .replace("/ ", "/")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_case_insensitively_and_ignores_inner_whitespace() {
        let hay = "Các SỞ,  Ban, ngành tỉnh";
        assert_eq!(
            match_ci_at(hay, "Các ".len(), "sở, ban, ngành"),
            Some(hay.len() - " tỉnh".len())
        );
        assert_eq!(match_ci_at(hay, 0, "sở, ban"), None);
        assert_eq!(match_ci_at(hay, 1, "x"), None, "not a char boundary");
        assert_eq!(match_ci_at(hay, 999, "x"), None);
    }

    #[test]
    fn words_need_boundaries() {
        let hay = "UBND cấp huyện, cung cấp dịch vụ, cấpx";
        let positions: Vec<usize> = word_positions(hay, "cấp").collect();
        assert_eq!(positions.len(), 2);
        assert_eq!(&hay[positions[0]..positions[0] + "cấp".len()], "cấp");
    }

    #[test]
    fn labels_normalise() {
        assert_eq!(normalize_label("  **Nhiệm vụ / Dự án** "), "nhiệm vụ/dự án");
        assert_eq!(normalize_label("CƠ QUAN\u{a0} CHỦ TRÌ"), "cơ quan chủ trì");
    }
}
