//! Hostile input: arbitrary text and bytes, mutated seeds, and large inputs
//! built to make a careless parser quadratic. Nothing may panic or hang.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::golden_csv_tests::{QNG_189_CSV, VIETTEL_2025_CSV};
use crate::golden_pdf_tests::{known_agencies, QTRI_DTI_2023};
use crate::golden_tests::{QNG_189, VIETTEL_2025};
use crate::{
    decode_text, parse_appendix, parse_appendix_with, Appendix, AppendixError, ParseOptions,
    MAX_APPENDIX_BYTES,
};

/// The structural promises every successful parse keeps.
fn check_invariants(text: &str, appendix: &Appendix) -> Result<(), TestCaseError> {
    // Lines as the parser counts them: CR and CRLF end lines too.
    let lines = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .count()
        .max(1)
        + 1;
    prop_assert!(appendix.header_line >= 1 && appendix.header_line <= lines);
    for (i, r) in appendix.rows.iter().enumerate() {
        prop_assert_eq!(r.position, i);
        prop_assert!(
            r.line > appendix.header_line,
            "row line {} after header",
            r.line
        );
        prop_assert!(r.occurrence >= 1);
        prop_assert!(!r.row_number.is_empty());
    }
    for w in &appendix.warnings {
        prop_assert!(w.line >= 1 && w.line <= lines, "warning line {}", w.line);
    }
    Ok(())
}

fn parse_both(text: &str) -> Result<(), TestCaseError> {
    for options in [ParseOptions::default(), known_agencies()] {
        if let Ok(appendix) = parse_appendix_with(text, &options) {
            check_invariants(text, &appendix)?;
        }
    }
    Ok(())
}

/// Applies line edits and character edits to `seed`.
fn mutate(seed: &str, line_edits: &[(usize, u8, String)], char_edits: &[(usize, char)]) -> String {
    let mut lines: Vec<String> = seed.lines().map(str::to_owned).collect();
    for (at, kind, new) in line_edits {
        let at = at % (lines.len() + 1);
        match kind {
            0 => lines.insert(at, new.clone()),
            1 if at < lines.len() => lines[at] = new.clone(),
            2 if at < lines.len() => {
                lines.remove(at);
            }
            3 if at + 1 < lines.len() => lines.swap(at, at + 1),
            _ => lines.push(new.clone()),
        }
    }
    let mut text = lines.join("\n");
    for &(at, c) in char_edits {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert(at, c);
    }
    text
}

fn line_edits() -> impl Strategy<Value = Vec<(usize, u8, String)>> {
    proptest::collection::vec(
        (
            0usize..1200,
            0u8..5,
            prop_oneof![
                "[^\n]{0,40}",
                Just("TT Nội dung Cơ quan chủ trì Cơ quan phối hợp Thời gian thực hiện".to_owned()),
                Just("IX Mục mới".to_owned()),
                Just("7".to_owned()),
                Just("- 3 -".to_owned()),
                Just("Sở A Sở B UBND cấp xã Hằng năm".to_owned()),
                Just("\"".to_owned()),
                Just("Phụ lục 3".to_owned()),
            ],
        ),
        0..8,
    )
}

fn char_edits() -> impl Strategy<Value = Vec<(usize, char)>> {
    proptest::collection::vec(
        (
            0usize..40_000,
            prop_oneof![
                Just('"'),
                Just(','),
                Just(';'),
                Just('\t'),
                Just('\r'),
                Just('\n'),
                Just(' '),
                Just('\u{feff}'),
                any::<char>(),
            ],
        ),
        0..6,
    )
}

const SEEDS: [&str; 7] = [
    QTRI_DTI_2023,
    VIETTEL_2025,
    QNG_189,
    QNG_189_CSV,
    VIETTEL_2025_CSV,
    // The appendices alone, without the prose before them.
    include_str!("../testdata/viettel-2025-table.txt"),
    "TT Nội dung Cơ quan chủ trì Cơ quan phối hợp Thời gian thực hiện\nI Mục\n1\nViệc\nSở A\nUBND cấp xã Hằng năm\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        parse_both(&text)?;
    }

    #[test]
    fn table_like_text_never_panics(
        lines in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    Just("TT"), Just("STT"), Just("Nội dung"), Just("Cơ quan chủ trì"),
                    Just("Cơ quan phối hợp"), Just("Thời gian thực hiện"), Just("Chủ trì"),
                    Just("I"), Just("II."), Just("1"), Just("2"), Just("1.1"), Just("Sở TT&TT"),
                    Just("UBND cấp huyện"), Just("Văn phòng"), Just("Hằng năm"), Just("2023 - 2024"),
                    Just("trên"), Just(","), Just(";"), Just("\""), Just("\t"), Just("- 3 -"),
                    Just("Phụ lục"), Just("Trung tâm"), Just(""), Just("\r"),
                ],
                0..8,
            ),
            0..25,
        ),
        separator in prop_oneof![Just(" "), Just(","), Just("\t"), Just(";")],
    ) {
        let text: String = lines.iter().map(|words| words.join(separator) + "\n").collect();
        parse_both(&text)?;
    }

    #[test]
    fn arbitrary_bytes_through_decode_and_parse(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        match decode_text(&bytes) {
            Ok(text) => {
                let bom = '\u{feff}';
                prop_assert!(!text.contains('\r') && !text.starts_with(bom));
                parse_both(&text)?;
            }
            Err(AppendixError::InvalidUtf8 { line, column }) => {
                prop_assert!(line >= 1 && column >= 1);
                prop_assert!(std::str::from_utf8(&bytes).is_err());
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn mutated_seeds_never_panic(
        seed in 0usize..SEEDS.len(),
        lines in line_edits(),
        chars in char_edits(),
    ) {
        let text = mutate(SEEDS[seed], &lines, &chars);
        parse_both(&text)?;
        // And as bytes, possibly cut in the middle of a character.
        let bytes = text.as_bytes();
        let cut = &bytes[..bytes.len() - bytes.len() / 7];
        if let Ok(decoded) = decode_text(cut) {
            parse_both(&decoded)?;
        }
    }

}

proptest! {
    // Each case parses the whole of seed 000 twice.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn blank_lines_in_the_pdf_seed_change_nothing_but_lines(
        at in proptest::collection::btree_set(470usize..1109, 1..8)
    ) {
        let original = parse_appendix(QTRI_DTI_2023).unwrap();
        let mut text = String::new();
        for (index, line) in QTRI_DTI_2023.lines().enumerate() {
            if at.contains(&index) {
                text.push_str("  \n");
            }
            text.push_str(line);
            text.push('\n');
        }
        let shifted = parse_appendix(&text).unwrap();
        prop_assert_eq!(shifted.rows.len(), original.rows.len());
        for (s, o) in shifted.rows.iter().zip(&original.rows) {
            prop_assert_eq!(&crate::AppendixRow { line: o.line, ..s.clone() }, o);
        }
        prop_assert_eq!(shifted.warnings.len(), original.warnings.len());
    }
}

/// Runs `f` and fails if it takes longer than `limit` (generous: tests run
/// unoptimised and in parallel).
fn within<T>(limit: Duration, what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < limit, "{what} took {took:?}");
    out
}

/// About `bytes` bytes of `unit` repeated.
fn repeat_to(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len())
}

/// Big enough that anything quadratic would take hours, small enough for
/// unoptimised test builds.
const BIG: usize = MAX_APPENDIX_BYTES / 4;

#[test]
fn too_large_input_fails_fast() {
    let huge = "a".repeat(50 * 1024 * 1024);
    let result = within(Duration::from_millis(50), "50 MB", || parse_appendix(&huge));
    assert_eq!(
        result,
        Err(AppendixError::TooLarge {
            bytes: huge.len(),
            limit: MAX_APPENDIX_BYTES
        })
    );
    let just_over = "a".repeat(MAX_APPENDIX_BYTES + 1);
    assert!(matches!(
        parse_appendix(&just_over),
        Err(AppendixError::TooLarge { .. })
    ));
    assert!(AppendixError::TooLarge { bytes: 5, limit: 4 }
        .to_string()
        .contains("limit"));
}

#[test]
fn adversarial_pdf_text_stays_linear() {
    let limit = Duration::from_secs(30);
    let header = "TT Nội dung Cơ quan chủ trì Cơ quan phối hợp Thời gian thực hiện\n";
    // One row whose every word starts an agency name.
    let one_row = format!(
        "{header}1\n{}",
        repeat_to("UBND cấp huyện UBND Sở A Trung tâm B\n", BIG - 100)
    );
    let a = within(limit, "one huge row", || parse_appendix(&one_row)).unwrap();
    assert_eq!(a.rows.len(), 1);
    // Very many small rows and sections; page breaks everywhere.
    let mut many = String::from(header);
    let mut section = 0;
    while many.len() < BIG - 400 {
        section += 1;
        let roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"][section % 10];
        many.push_str(&format!("{roman} Mục\n"));
        for n in 1..=3 {
            many.push_str(&format!(
                "{n}\nViệc cần làm trên\nVăn phòng UBND\ntỉnh Sở A Sở B\nHằng năm\n{header}"
            ));
        }
    }
    within(limit, "many rows", || {
        parse_appendix_with(&many, &known_agencies())
    })
    .unwrap();
    // A single line of labels and words.
    let line = format!("{header}1 Việc {}", repeat_to("TT Nội dung Sở ", BIG - 100));
    within(limit, "one long line", || parse_appendix(&line)).unwrap();
    // Many known names.
    let options = ParseOptions {
        known_agencies: (0..5000).map(|i| format!("Sở Số {i}")).collect(),
    };
    let quarter: String = many
        .lines()
        .take(many.lines().count() / 4)
        .map(|l| format!("{l}\n"))
        .collect();
    within(limit, "many known names", || {
        parse_appendix_with(&quarter, &options)
    })
    .unwrap();
}

#[test]
fn adversarial_delimited_text_stays_linear() {
    let limit = Duration::from_secs(30);
    // A lead cell of group phrases and commas (split_agencies).
    let cell = repeat_to(
        "Các Sở, ban, ngành tỉnh, UBND cấp huyện, cấp xã, ",
        BIG - 100,
    );
    let tsv = format!("TT\tNội dung\tChủ trì\n1\tViệc\t{cell}\n");
    let a = within(limit, "huge TSV cell", || parse_appendix(&tsv)).unwrap();
    assert!(a.rows[0].lead.len() >= 3);
    // Very many continuation lines into one cell.
    let continuation = format!(
        "TT\tNội dung\tChủ trì\n1\tViệc\tSở A\n{}",
        repeat_to("\t\tUBND cấp xã\n", BIG - 100)
    );
    within(limit, "many continuations", || {
        parse_appendix(&continuation)
    })
    .unwrap();
    // One quoted CSV field with very many lines.
    let field = repeat_to("Sở A\nUBND cấp xã\n", BIG - 100);
    let csv = format!("TT,Nội dung,Chủ trì\n1,Việc,\"{field}\"\n");
    within(limit, "huge CSV field", || parse_appendix(&csv)).unwrap();
    // An unterminated quote at the start of the table.
    let open = format!("TT,Nội dung,Chủ trì\n1,\"{}", repeat_to("a,b\n", BIG - 100));
    assert_eq!(
        within(limit, "open quote", || parse_appendix(&open)),
        Err(AppendixError::UnterminatedQuote { line: 2 })
    );
    // Lines that all look a little like headers.
    let headers = repeat_to("TT, Nội dung, x\tTT Nội dung y \"\n", BIG - 100);
    within(limit, "header-like lines", || parse_appendix(&headers)).unwrap_err();
    // Bytes: decode a near-limit input with the bad byte at the end.
    let mut bytes = repeat_to("Sở\r\n", BIG).into_bytes();
    bytes.push(0xFF);
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        within(limit, "decode", || decode_text(&bytes)),
        Err(AppendixError::InvalidUtf8 {
            line: lines + 1,
            column: 1
        })
    );
}

#[test]
fn a_row_above_the_header_is_reported_not_lost() {
    let text = "Kế hoạch năm 2023\n\
                1.1\tViệc một\tSở Y tế\tSở Nội vụ\n\
                TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n\
                1.2\tViệc hai\tSở Y tế\t\n";
    let appendix = parse_appendix(text).unwrap();
    assert_eq!(appendix.rows.len(), 1);
    let warning = appendix
        .warnings
        .iter()
        .find(|warning| warning.line == 2)
        .expect("a warning names line 2");
    assert!(
        warning.message.contains("before its header (line 3)"),
        "{}",
        warning.message
    );
    assert!(
        !appendix.warnings.iter().any(|warning| warning.line == 1),
        "prose before the table is the document's"
    );
}
