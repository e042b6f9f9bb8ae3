//! The normalised form under which names are compared.
//!
//! Two written names denote the same directory entry exactly when their
//! normalised forms are equal. The rules (each one only removes differences
//! of presentation, never of meaning):
//!
//! 1. Every run of whitespace (including no-break spaces and line breaks left
//!    by PDF extraction) becomes one space; leading and trailing whitespace
//!    goes.
//! 2. Letters are lowercased (Unicode lowercase, so "SỞ" = "sở", "Đ" = "đ").
//! 3. Dashes (`‐ ‑ ‒ – — ―`, minus sign) are read as `-`.
//! 4. Spaces around `&` and `-` are dropped: "TT & TT" = "TT&TT",
//!    "Lao động - Thương binh" = "Lao động-Thương binh".
//! 5. Old- and new-style tone placement are equal: in a word ending in `oa`,
//!    `oe` or `uy` (not `quy`) the tone mark is read on the first vowel, so
//!    "hoá" = "hóa", "Uỷ" = "Ủy", "khoẻ" = "khỏe".
//! 6. Trailing `;` `,` `.` `:` (and spaces between them) are dropped.
//! 7. A leading "các " is dropped (repeatedly, so "các các X" = "X"): "Các Sở, ban, ngành" = "Sở, ban, ngành".
//!
//! Text is assumed to be in NFC (precomposed letters), as Vietnamese office
//! documents are; decomposed input is compared as written, so it may fail to
//! match, but never matches the wrong entry.

/// The normalised form of `written` (see the module documentation). Empty
/// if `written` holds nothing but whitespace, trailing punctuation or "các ".
pub(crate) fn normalize(written: &str) -> String {
    let lowered = lowercase_collapsed(written);
    let tight = tighten(&lowered);
    let toned = canonical_tones(&tight);
    strip_ends(&toned).to_owned()
}

/// Rules 1–3: whitespace collapsed and trimmed, lowercased, dashes unified.
fn lowercase_collapsed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Rule 4: no space next to `&` or `-`. Input has single spaces only.
fn tighten(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            if matches!(before, Some('&' | '-')) || matches!(after, Some('&' | '-')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Rules 6 and 7. Input is collapsed, so a "các " prefix is followed by a
/// non-space.
fn strip_ends(s: &str) -> &str {
    let mut s = s.trim_end_matches([';', ',', '.', ':', ' ']);
    while let Some(rest) = s.strip_prefix("các ") {
        s = rest;
    }
    s
}

/// The five tone marks, in the order of the rows of [`TONED`].
const TONED: [(char, [char; 5]); 5] = [
    ('a', ['á', 'à', 'ả', 'ã', 'ạ']),
    ('e', ['é', 'è', 'ẻ', 'ẽ', 'ẹ']),
    ('o', ['ó', 'ò', 'ỏ', 'õ', 'ọ']),
    ('u', ['ú', 'ù', 'ủ', 'ũ', 'ụ']),
    ('y', ['ý', 'ỳ', 'ỷ', 'ỹ', 'ỵ']),
];

/// `'à'` → `Some(('a', 1))`: the base vowel and the tone's index in [`TONED`].
fn split_tone(c: char) -> Option<(char, usize)> {
    TONED
        .iter()
        .find_map(|(base, toned)| toned.iter().position(|&t| t == c).map(|tone| (*base, tone)))
}

/// `('o', 1)` → `'ò'`.
fn with_tone(base: char, tone: usize) -> char {
    TONED
        .iter()
        .find(|(b, _)| *b == base)
        .map_or(base, |(_, toned)| toned[tone])
}

/// Rule 5, on lowercase text: in each word (a maximal run of letters) ending
/// in o+toned a/e or u+toned y (not after q), the tone moves to the o/u.
fn canonical_tones(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphabetic() {
            i += 1;
        }
        // chars[start..i] is one word.
        if i - start < 2 {
            continue;
        }
        let (first, last) = (i - 2, i - 1);
        let Some((base, tone)) = split_tone(chars[last]) else {
            continue;
        };
        let moves = match (chars[first], base) {
            ('o', 'a' | 'e') => true,
            ('u', 'y') => first == start || chars[first - 1] != 'q',
            _ => false,
        };
        if moves {
            chars[first] = with_tone(chars[first], tone);
            chars[last] = base;
        }
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use proptest::prelude::*;

    #[test]
    fn case_whitespace_and_trailing_punctuation() {
        assert_eq!(normalize("  Sở   TT&TT ;"), "sở tt&tt");
        assert_eq!(normalize("Văn phòng UBND \ntỉnh"), "văn phòng ubnd tỉnh");
        assert_eq!(normalize("SỞ Y TẾ"), "sở y tế");
        assert_eq!(normalize("Sở Y tế.,: ;"), "sở y tế");
        assert_eq!(normalize("Đài\u{a0}Phát thanh"), "đài phát thanh");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" ;,.: "), "");
    }

    #[test]
    fn leading_các() {
        assert_eq!(normalize("Các Sở, ban, ngành tỉnh"), "sở, ban, ngành tỉnh");
        assert_eq!(normalize("các  DN viễn thông"), "dn viễn thông");
        assert_eq!(normalize("CÁC đơn vị"), "đơn vị");
        // Only as a separate word, only at the start.
        assert_eq!(normalize("Cácx"), "cácx");
        assert_eq!(normalize("UBND các cấp"), "ubnd các cấp");
        assert_eq!(normalize("Các"), "các");
        assert_eq!(normalize("các các Sở"), "sở");
    }

    #[test]
    fn ampersand_and_dashes() {
        assert_eq!(normalize("Sở TT & TT"), normalize("Sở TT&TT"));
        assert_eq!(normalize("Sở VH - TT & DL"), normalize("Sở VH-TT&DL"));
        assert_eq!(
            normalize("Phòng Tài chính – Kế hoạch"),
            normalize("Phòng Tài chính - Kế hoạch")
        );
        assert_eq!(
            normalize("Đài Phát thanh - Truyền hình"),
            "đài phát thanh-truyền hình"
        );
    }

    #[test]
    fn tone_placement() {
        assert_eq!(normalize("Văn hoá"), normalize("Văn hóa"));
        assert_eq!(normalize("Uỷ ban"), normalize("Ủy ban"));
        assert_eq!(normalize("UỶ BAN"), normalize("Ủy ban"));
        assert_eq!(normalize("khoẻ"), normalize("khỏe"));
        assert_eq!(normalize("Hướng Hoá"), "hướng hóa");
        // Not word-final: both styles agree already, nothing moves.
        assert_eq!(normalize("Hoàng"), "hoàng");
        // "qu" is a consonant: the mark stays on y.
        assert_eq!(normalize("Quý"), "quý");
        // Different tones stay different.
        assert_ne!(normalize("hoà"), normalize("hoá"));
    }

    proptest! {
        #[test]
        fn idempotent_and_never_panics(s in "\\PC{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn idempotent_on_vietnamese_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("Các "), Just("các"), Just(" "), Just("\t"), Just("&"), Just(" & "),
                    Just("-"), Just(" – "), Just(";"), Just(","), Just("."), Just(":"),
                    Just("hoà"), Just("Uỷ"), Just("quỳ"), Just("oá"), Just("uỵ"), Just("Sở"),
                    Just("TT"), Just("İ"), Just("ẞ"), Just("\u{a0}"),
                ],
                0..10,
            )
        ) {
            let s: String = parts.concat();
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }
    }
}
