//! Recognising a timeframe cell ("Hằng năm", "2023", "2023 - 2024",
//! "Quý IV/2023", "Thường xuyên") in undelimited text.
//!
//! Only recognition: the text is kept as written, interpreting it is the
//! domain's job. The grammar is small and matched left to right without
//! backtracking:
//!
//! ```text
//! timeframe := prefix* item (joiner prefix* item)* suffix?
//! prefix    := giai đoạn | từ | đến | trước | sau | trong | ngày | năm | cuối | đầu | giữa | cả
//! item      := periodic | year | date | quarter | month
//! periodic  := (hằng|hàng) (năm|quý|tháng|tuần|ngày) | thường xuyên | liên tục | định kỳ
//! date      := d/m/yyyy | m/yyyy
//! quarter   := quý (I..IV | 1..4) [(/ | năm) yyyy]
//! month     := tháng 1..12 [(/ | năm) yyyy]
//! joiner    := - | – | — | , | ; | và | đến
//! suffix    := và các năm tiếp theo | trở đi
//! ```

/// Splits into lower-case tokens: runs of letters/digits, and single
/// punctuation characters.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

struct Cursor<'a> {
    tokens: &'a [String],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self, ahead: usize) -> Option<&str> {
        self.tokens.get(self.at + ahead).map(String::as_str)
    }

    /// Consumes `words` if they come next.
    fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words
            .iter()
            .enumerate()
            .all(|(i, w)| self.peek(i) == Some(*w));
        if matches {
            self.at += words.len();
        }
        matches
    }

    fn number(&mut self, range: std::ops::RangeInclusive<u32>) -> bool {
        let ok = self.peek(0).is_some_and(|t| {
            t.len() <= 4
                && t.chars().all(|c| c.is_ascii_digit())
                && t.parse().is_ok_and(|n| range.contains(&n))
        });
        if ok {
            self.at += 1;
        }
        ok
    }

    fn year(&mut self) -> bool {
        self.peek(0).is_some_and(|t| t.len() == 4) && self.number(1900..=2100)
    }

    /// `/ yyyy` or `năm yyyy`, optional.
    fn of_year(&mut self) -> bool {
        let save = self.at;
        if (self.eat(&["/"]) || self.eat(&["năm"])) && self.year() {
            return true;
        }
        self.at = save;
        false
    }

    fn item(&mut self) -> bool {
        let save = self.at;
        for periodic in [
            &["hằng", "năm"][..],
            &["hàng", "năm"],
            &["hằng", "quý"],
            &["hàng", "quý"],
            &["hằng", "tháng"],
            &["hàng", "tháng"],
            &["hằng", "tuần"],
            &["hàng", "tuần"],
            &["hằng", "ngày"],
            &["hàng", "ngày"],
            &["thường", "xuyên"],
            &["liên", "tục"],
            &["định", "kỳ"],
        ] {
            if self.eat(periodic) {
                return true;
            }
        }
        if self.eat(&["quý"]) {
            let roman = ["iv", "iii", "ii", "i"].iter().any(|r| self.eat(&[r]));
            if roman || self.number(1..=4) {
                self.of_year();
                return true;
            }
            self.at = save;
            return false;
        }
        if self.eat(&["tháng"]) {
            if self.number(1..=12) {
                self.of_year();
                return true;
            }
            self.at = save;
            return false;
        }
        if self.year() {
            return true;
        }
        // d/m/yyyy or m/yyyy
        if self.number(1..=31) && self.eat(&["/"]) {
            if self.year() {
                return true;
            }
            if self.number(1..=12) && self.eat(&["/"]) && self.year() {
                return true;
            }
        }
        self.at = save;
        false
    }

    fn prefixes(&mut self) {
        loop {
            let eaten = self.eat(&["giai", "đoạn"])
                || [
                    "từ", "đến", "trước", "sau", "trong", "ngày", "năm", "cuối", "đầu", "giữa",
                    "cả",
                ]
                .iter()
                .any(|w| {
                    // A prefix must be followed by something; "năm"
                    // alone is not a timeframe.
                    self.peek(1).is_some() && self.eat(&[w])
                });
            if !eaten {
                return;
            }
        }
    }
}

/// True if the whole of `text` is a timeframe.
pub(crate) fn is_timeframe(text: &str) -> bool {
    let tokens = tokens(text.trim_end_matches(['.', ';', ',']));
    if tokens.is_empty() || tokens.len() > 16 {
        return false;
    }
    let mut c = Cursor {
        tokens: &tokens,
        at: 0,
    };
    c.prefixes();
    if !c.item() {
        return false;
    }
    loop {
        let save = c.at;
        let joined = ["-", "–", "—", ",", ";", "và", "đến"]
            .iter()
            .any(|j| c.eat(&[j]));
        if !joined {
            break;
        }
        c.prefixes();
        if !c.item() {
            c.at = save;
            break;
        }
    }
    let _ = c.eat(&["và", "các", "năm", "tiếp", "theo"]) || c.eat(&["trở", "đi"]);
    c.at == tokens.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_usual_timeframes() {
        for tf in [
            "Hằng năm",
            "hàng năm",
            "Thường xuyên",
            "2023",
            "2023 - 2024",
            "2025-2030",
            "2023 – 2025",
            "Năm 2023",
            "Giai đoạn 2023 - 2025",
            "Quý IV/2023",
            "Quý 2 năm 2024",
            "Tháng 6/2023",
            "31/12/2025",
            "Trước 31/12/2025",
            "Trước ngày 20/12/2023",
            "Hằng năm, thường xuyên",
            "2023 và các năm tiếp theo",
            "Từ năm 2024 trở đi",
            "Cuối năm 2023",
            "Thường xuyên.",
        ] {
            assert!(is_timeframe(tf), "{tf}");
        }
    }

    #[test]
    fn rejects_other_text() {
        for text in [
            "",
            "năm",
            "tỉnh",
            "Sở Tài chính",
            "Đầu tư Hằng năm",
            "Quý",
            "Quý V",
            "tháng 13",
            "99",
            "2023 Sở",
            "tối thiểu 10% GRDP",
            "3000",
            "UBND cấp xã Hằng năm",
        ] {
            assert!(!is_timeframe(text), "{text}");
        }
    }
}
