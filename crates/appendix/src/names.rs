//! Where an agency name starts, in a run of words.
//!
//! Used where cells have no delimiters (PDF text) to find where the lead
//! and coordinator columns begin, and by the delimited readers to notice two
//! agency names joined by a line break without "," or ";".
//!
//! Two sources, in order of trust:
//!
//! - **Known names** ([`crate::ParseOptions::known_agencies`]): matched
//!   word by word, case-insensitively, longest first; trailing `,;:.` on the
//!   last word is ignored.
//! - **Typical starts** (always on): "Sở", "UBND", "Văn phòng", "Công an",
//!   "Các sở", "Ngân hàng", "Trường", … Words that are also common nouns in
//!   task text ("Ban hành", "Báo cáo", "Trường hợp", "Hội nghị", "Trung tâm
//!   dữ liệu") only count when the next word is capitalised, as in "Ban Quản
//!   lý", "Báo Quảng Trị", "Trường Cao đẳng"; that next word belongs to the
//!   same name ("Văn phòng UBND" is one name, not "Văn phòng" + "UBND").
//!
//! A start needs a capitalised first word: inside a cell, names after "," or
//! ";" may be lower-case ("các đơn vị liên quan"), but a cell never begins
//! that way. All matching is linear in the words looked at.

use std::collections::HashMap;

/// Typical first words of an agency name: `(phrase, needs a capitalised
/// next word)`. Phrases are lower-case; the first word is compared
/// case-insensitively but must be capitalised in the text.
const TYPICAL_STARTS: &[(&str, bool)] = &[
    ("ủy ban nhân dân", false),
    ("uỷ ban nhân dân", false),
    ("ủy ban", true),
    ("uỷ ban", true),
    ("ubnd", false),
    ("hđnd", false),
    ("văn phòng", true),
    ("sở, ban, ngành", false),
    ("sở", true),
    ("các sở", false),
    ("các bộ", false),
    ("các cơ quan", false),
    ("các đơn vị", false),
    ("các doanh nghiệp", false),
    ("các địa phương", false),
    ("các trường", false),
    ("các tổ chức", false),
    ("các hội", false),
    ("công an", false),
    ("báo", true),
    ("đài", true),
    ("ban", true),
    ("bưu điện", false),
    ("viettel", false),
    ("vnpt", false),
    ("mobifone", false),
    ("fpt", false),
    ("ngân hàng", false),
    ("kho bạc", true),
    ("bảo hiểm xã hội", false),
    ("bhxh", false),
    ("trường", true),
    ("tỉnh đoàn", false),
    ("tỉnh ủy", false),
    ("tỉnh uỷ", false),
    ("huyện ủy", false),
    ("huyện uỷ", false),
    ("hiệp hội", false),
    ("hội", true),
    ("liên đoàn", true),
    ("liên minh", true),
    ("mặt trận", true),
    ("cục", true),
    ("chi cục", true),
    ("chi nhánh", true),
    ("bộ", true),
    ("trung tâm", true),
    ("phòng", true),
    ("viện", true),
    ("học viện", true),
    ("đại học", true),
    ("bệnh viện", true),
    ("công ty", true),
    ("tổng công ty", true),
    ("tập đoàn", true),
    ("đoàn", true),
];

/// Short words that join the parts of a phrase; a name does not start right
/// after one ("thuộc Sở TT&TT", "trên Đài Phát thanh"), and a cell does not
/// end with one.
const FUNCTION_WORDS: &[&str] = &[
    "của", "và", "các", "cho", "với", "tại", "về", "đến", "từ", "trong", "trên", "theo", "được",
    "là", "những", "nhằm", "để", "hoặc", "hay", "bằng", "thuộc", "do", "qua", "vào", "mọi", "có",
    "khi", "như", "giữa", "sau", "trước", "dưới", "ngoài", "cùng", "gồm", "tới",
];

/// Lower-case, with trailing `,;:.` removed (for comparing a name's last
/// word, which may carry the list separator that follows it).
fn key(word: &str) -> String {
    word.trim_end_matches([',', ';', ':', '.']).to_lowercase()
}

/// True if the first character is an upper-case letter.
pub(crate) fn capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

/// True if `word` is a short joining word such as "của", "và", "trên".
pub(crate) fn is_function_word(word: &str) -> bool {
    let k = key(word);
    FUNCTION_WORDS.contains(&k.as_str())
}

/// How strongly the end of `word` says "the list goes on".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Nothing special.
    Plain,
    /// `;`: usually between names, but cells also end with it.
    Semicolon,
    /// `,`, `:`, `-`, `&`, `/`, `(` or a function word: the text goes on.
    Open,
}

pub(crate) fn ending(word: &str) -> Ending {
    match word.chars().next_back() {
        Some(';') => Ending::Semicolon,
        Some(',' | ':' | '-' | '–' | '—' | '&' | '/' | '(') => Ending::Open,
        _ if is_function_word(word) => Ending::Open,
        _ => Ending::Plain,
    }
}

/// Which list recognised a name start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StartKind {
    Typical,
    Known,
}

/// A name start: its kind and how many words it certainly covers (the
/// whole name for a known one, the start phrase for a typical one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start {
    pub(crate) kind: StartKind,
    pub(crate) words: usize,
}

/// A run of words with the forms matching needs, computed once: as
/// written, in lower case, and as a key (lower case, trailing `,;:.`
/// removed).
#[derive(Debug, Clone, Default)]
pub(crate) struct Words<'a> {
    pub(crate) text: Vec<&'a str>,
    lower: Vec<String>,
    keys: Vec<String>,
}

impl<'a> Words<'a> {
    pub(crate) fn new(text: Vec<&'a str>) -> Self {
        let lower = text.iter().map(|w| w.to_lowercase()).collect();
        let keys = text.iter().map(|w| key(w)).collect();
        Self { text, lower, keys }
    }

    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }
}

/// Names as a trie over words: inner words compared in lower case, the
/// last word by its key.
#[derive(Debug, Clone, Default)]
struct Trie {
    root: Node,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Keys of the words that end a name here, with a payload (for typical
    /// starts: whether a capitalised word must follow).
    ends: HashMap<String, bool>,
    next: HashMap<String, Node>,
}

impl Trie {
    fn insert(&mut self, words: &[String], payload: bool) {
        let Some((last, inner)) = words.split_last() else {
            return;
        };
        let mut node = &mut self.root;
        for word in inner {
            node = node.next.entry(word.to_lowercase()).or_default();
        }
        // A longer phrase with the same words keeps its payload.
        node.ends.entry(key(last)).or_insert(payload);
    }

    fn is_empty(&self) -> bool {
        self.root.ends.is_empty() && self.root.next.is_empty()
    }

    /// The longest name at `words[i..]`: its length in words and payload.
    fn longest_at(&self, words: &Words<'_>, i: usize) -> Option<(usize, bool)> {
        let mut node = &self.root;
        let mut best = None;
        for j in i..words.len() {
            if let Some(&payload) = node.ends.get(&words.keys[j]) {
                best = Some((j - i + 1, payload));
            }
            match node.next.get(&words.lower[j]) {
                Some(next) => node = next,
                None => break,
            }
        }
        best
    }
}

/// Finds agency names in runs of words.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameMatcher {
    known: Trie,
    typical: Trie,
}

impl NameMatcher {
    pub(crate) fn new(known_agencies: &[String]) -> Self {
        let mut known = Trie::default();
        for name in known_agencies {
            let words: Vec<String> = name.split_whitespace().map(str::to_owned).collect();
            let too_short = words.len() == 1 && key(&words[0]).chars().count() < 2;
            if !words.is_empty() && !too_short {
                known.insert(&words, false);
            }
        }
        let mut typical = Trie::default();
        for &(phrase, needs_capital) in TYPICAL_STARTS {
            let words: Vec<String> = phrase.split_whitespace().map(str::to_owned).collect();
            typical.insert(&words, needs_capital);
        }
        Self { known, typical }
    }

    /// True if the caller supplied known agency names.
    pub(crate) fn has_known(&self) -> bool {
        !self.known.is_empty()
    }

    /// The number of words of the longest known name at `words[i..]`, in
    /// any case.
    pub(crate) fn known_at(&self, words: &Words<'_>, i: usize) -> Option<usize> {
        self.known.longest_at(words, i).map(|(n, _)| n)
    }

    /// The number of words of the typical start at `words[i..]`, including
    /// the capitalised word a head noun needs ("Sở Tài", "Văn phòng UBND").
    fn typical_at(&self, words: &Words<'_>, i: usize) -> Option<usize> {
        let (n, needs_capital) = self.typical.longest_at(words, i)?;
        if !needs_capital {
            return Some(n);
        }
        // The head noun must be followed, without a separator, by a
        // capitalised word or an abbreviation.
        let last = words.text[i + n - 1];
        let next = words.text.get(i + n)?;
        (ending(last) == Ending::Plain && !last.ends_with('.') && capitalised(next))
            .then_some(n + 1)
    }

    /// A name start at `words[i]`: the word must be capitalised; known
    /// names win over typical starts.
    pub(crate) fn start_at(&self, words: &Words<'_>, i: usize) -> Option<Start> {
        if !capitalised(words.text.get(i)?) {
            return None;
        }
        if let Some(n) = self.known_at(words, i) {
            return Some(Start {
                kind: StartKind::Known,
                words: n,
            });
        }
        self.typical_at(words, i).map(|n| Start {
            kind: StartKind::Typical,
            words: n,
        })
    }

    /// True if `text` begins with an agency name start.
    pub(crate) fn starts_with_name(&self, text: &str) -> bool {
        let words = Words::new(text.split_whitespace().take(12).collect());
        self.start_at(&words, 0).is_some()
    }

    /// True if joining `before` and `after` with a space probably glues two
    /// agency names together: `before` does not end with a separator or a
    /// joining word, and `after` starts a name.
    pub(crate) fn looks_like_two_names(&self, before: &str, after: &str) -> bool {
        let Some(last) = before.split_whitespace().next_back() else {
            return false;
        };
        ending(last) == Ending::Plain && self.starts_with_name(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Words<'_> {
        Words::new(s.split_whitespace().collect())
    }

    #[test]
    fn typical_starts_need_a_capital_and_sometimes_a_capitalised_next_word() {
        let m = NameMatcher::new(&[]);
        let at = |s: &str| m.start_at(&words(s), 0).map(|s| s.words);
        assert_eq!(at("Sở Tài chính"), Some(2));
        assert_eq!(at("Sở, ban, ngành cấp tỉnh;"), Some(3));
        assert_eq!(at("Văn phòng UBND tỉnh"), Some(3));
        assert_eq!(at("UBND cấp huyện"), Some(1));
        assert_eq!(at("Các đơn vị liên quan"), Some(3));
        assert_eq!(at("Trường Cao đẳng"), Some(2));
        assert_eq!(at("Ngân hàng nhà nước"), Some(2));
        assert_eq!(at("Ban hành văn bản"), None);
        assert_eq!(at("Báo cáo định kỳ"), None);
        assert_eq!(at("Trường hợp"), None);
        assert_eq!(at("sở Tài chính"), None);
        assert_eq!(at("Sở"), None);
        assert_eq!(at("Thông tin điện tử"), None);
    }

    #[test]
    fn known_names_win_and_ignore_case_and_trailing_separators() {
        let m = NameMatcher::new(&[
            "Ngân hàng Nhà nước chi nhánh tỉnh".to_owned(),
            "Sở Thông tin và Truyền thông".to_owned(),
            " ".to_owned(),
        ]);
        let w = words("Ngân hàng nhà nước chi nhánh tỉnh, Sở Thông tin và Truyền thông;");
        assert_eq!(
            m.start_at(&w, 0),
            Some(Start {
                kind: StartKind::Known,
                words: 7
            })
        );
        assert_eq!(m.known_at(&w, 7), Some(6));
        assert!(m.has_known());
        assert!(!NameMatcher::new(&[]).has_known());
    }

    #[test]
    fn two_names_without_a_separator() {
        let m = NameMatcher::new(&[]);
        assert!(m.looks_like_two_names("Sở TT&TT", "UBND cấp huyện"));
        assert!(!m.looks_like_two_names("Sở TT&TT;", "UBND cấp huyện"));
        assert!(!m.looks_like_two_names("Sở Thông tin và", "Truyền thông"));
        assert!(!m.looks_like_two_names("", "UBND"));
    }
}
