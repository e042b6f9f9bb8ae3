//! Whole-table tests: the real seed documents, error cases, and properties.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::{parse_appendix, split_agencies, AppendixError, AppendixRow, ColumnRole, Section};

/// Quảng Ngãi plan 189/KH-UBND (seed 004): a whole document, appendix at the end.
pub(crate) const QNG_189: &str = include_str!("../../../deploy/samples/qng-189-kh-ubnd-2022.txt");
/// The appendix table of the Quảng Trị / Viettel 2025 plan (seed 002, lines 76–87).
pub(crate) const VIETTEL_2025: &str = include_str!("../testdata/viettel-2025-table.txt");

fn rows_numbered<'a>(rows: &'a [AppendixRow], number: &str) -> Vec<&'a AppendixRow> {
    rows.iter().filter(|r| r.row_number == number).collect()
}

fn row<'a>(rows: &'a [AppendixRow], number: &str) -> &'a AppendixRow {
    let found = rows_numbered(rows, number);
    assert_eq!(found.len(), 1, "expected exactly one row {number}");
    found[0]
}

#[test]
fn qng_189_columns_and_row_count() {
    let appendix = parse_appendix(QNG_189).unwrap();
    assert_eq!(appendix.header_line, 517);
    let columns: Vec<(&str, ColumnRole)> = appendix
        .columns
        .iter()
        .map(|c| (c.header.as_str(), c.role))
        .collect();
    assert_eq!(
        columns,
        [
            ("TT", ColumnRole::RowNumber),
            ("Tên nhiệm vụ", ColumnRole::Title),
            ("Cơ quan chủ trì", ColumnRole::Lead),
            ("Cơ quan phối hợp", ColumnRole::Coordinators),
        ]
    );
    assert_eq!(appendix.rows.len(), 76);
    let positions: Vec<usize> = appendix.rows.iter().map(|r| r.position).collect();
    assert_eq!(positions, (0..76).collect::<Vec<_>>());
    assert_eq!(appendix.rows.first().unwrap().row_number, "1.1");
    assert_eq!(appendix.rows.last().unwrap().row_number, "10.5");
    assert_eq!(appendix.rows.last().unwrap().line, 612);
    for r in &appendix.rows {
        assert!(r.content.is_none() && r.timeframe.is_none() && r.extra.is_empty());
        assert!(!r.title.is_empty(), "row {} has a title", r.row_number);
        assert!(!r.lead.is_empty(), "row {} has a lead", r.row_number);
        assert_eq!(r.lead, split_agencies(&r.lead_text));
        assert_eq!(r.coordinators, split_agencies(&r.coordinators_text));
    }
}

#[test]
fn qng_189_sections_and_rows_per_section() {
    let appendix = parse_appendix(QNG_189).unwrap();
    let mut per_section: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    for r in &appendix.rows {
        let section = r.section.as_ref().expect("every row is in a section");
        let n: usize = section.number.parse().unwrap();
        let prefix = r.row_number.split('.').next().unwrap();
        assert_eq!(
            prefix, section.number,
            "row {} under its section",
            r.row_number
        );
        per_section.entry(n).or_insert((section.title.clone(), 0)).1 += 1;
    }
    let got: Vec<(usize, &str, usize)> = per_section
        .iter()
        .map(|(n, (title, count))| (*n, title.as_str(), *count))
        .collect();
    assert_eq!(
        got,
        [
            (1, "Nhận thức số", 3),
            (2, "Thể chế số", 13),
            (3, "Hạ tầng số", 11),
            (4, "Dữ liệu số", 8),
            (5, "Nền tảng số", 3),
            (6, "Nhân lực số", 7),
            (7, "An toàn thông tin mạng", 12),
            (8, "Chính quyền số", 9),
            (9, "Kinh tế số", 5),
            (10, "Xã hội số", 5),
        ]
    );
}

#[test]
fn qng_189_first_row() {
    let appendix = parse_appendix(QNG_189).unwrap();
    let first = &appendix.rows[0];
    assert_eq!(first.row_number, "1.1");
    assert_eq!(first.line, 519);
    assert_eq!(first.occurrence, 1);
    assert_eq!(
        first.section,
        Some(Section {
            number: "1".into(),
            title: "Nhận thức số".into()
        })
    );
    assert_eq!(
        first.title,
        "Tổ chức triển khai Tuần lễ Chuyển đổi số năm 2023"
    );
    assert_eq!(first.lead_text, "Sở TT&TT");
    assert_eq!(first.lead, ["Sở TT&TT"]);
    assert_eq!(
        first.coordinators_text,
        "Các Sở, ban, ngành tỉnh; UBND cấp huyện;"
    );
    assert_eq!(
        first.coordinators,
        ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện"]
    );
}

#[test]
fn qng_189_continuation_lines_after_page_breaks() {
    let appendix = parse_appendix(QNG_189).unwrap();
    let r26 = row(&appendix.rows, "2.6");
    assert_eq!(r26.line, 528);
    assert!(r26
        .title
        .contains("cơ sở dữ liệu cấp tỉnh; rà soát, cập nhật các quy chế"));
    assert!(r26.title.ends_with("ngành, cơ quan."));
    assert_eq!(r26.lead_text, "Các Sở, ban, ngành tỉnh; UBND cấp huyện;");
    assert_eq!(r26.coordinators, ["Sở TT&TT"]);

    let r32 = row(&appendix.rows, "3.2");
    assert_eq!(r32.line, 540);
    assert_eq!(
        r32.title,
        "Phát triển hạ tầng số tới cấp xã, đơn vị trực thuộc các sở, ban, ngành"
    );
    assert_eq!(r32.lead_text, "Các Sở, ban, ngành tỉnh; UBND cấp huyện;");
    assert_eq!(r32.lead, ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện"]);
    assert_eq!(r32.coordinators_text, "");
    assert!(r32.coordinators.is_empty());
}

#[test]
fn qng_189_repeated_row_numbers_are_distinct_tasks() {
    let appendix = parse_appendix(QNG_189).unwrap();
    for (number, lines) in [("6.1", [568, 569]), ("8.4", [594, 595])] {
        let rows = rows_numbered(&appendix.rows, number);
        assert_eq!(rows.len(), 2, "two rows {number}");
        assert_eq!([rows[0].occurrence, rows[1].occurrence], [1, 2]);
        assert_eq!([rows[0].line, rows[1].line], lines);
        assert_ne!(rows[0].title, rows[1].title);
        assert_eq!(rows[1].position, rows[0].position + 1);
    }
    let r61 = rows_numbered(&appendix.rows, "6.1");
    assert_eq!(r61[1].lead, ["Sở TT&TT", "UBND cấp huyện", "Tỉnh đoàn"]);
    // Every other number is unique within its section.
    let repeats = appendix.rows.iter().filter(|r| r.occurrence > 1).count();
    assert_eq!(repeats, 2);
}

#[test]
fn qng_189_agency_cells() {
    let appendix = parse_appendix(QNG_189).unwrap();
    assert_eq!(
        row(&appendix.rows, "3.11").coordinators,
        [
            "Công an tỉnh",
            "Sở GTVT",
            "Sở Y tế",
            "Sở GD và ĐT",
            "Sở VH-TT&DL",
            "Sở Xây dựng"
        ]
    );
    assert_eq!(
        row(&appendix.rows, "3.5").lead,
        ["UBND cấp huyện", "UBND cấp xã"]
    );
    assert_eq!(
        row(&appendix.rows, "3.10").coordinators,
        ["UBND cấp huyện", "UBND cấp xã"]
    );
    assert_eq!(
        row(&appendix.rows, "4.8").lead,
        ["Các Sở, ban, ngành tỉnh", "UBND cấp huyện", "UBND cấp xã"]
    );
    assert_eq!(row(&appendix.rows, "6.6").lead_text, "Sở TT&TT,");
    assert_eq!(row(&appendix.rows, "6.6").lead, ["Sở TT&TT"]);
    assert_eq!(
        row(&appendix.rows, "10.2").lead,
        ["Ngân hàng Nhà nước Việt Nam, Chi nhánh Quảng Ngãi"]
    );
}

#[test]
fn qng_189_rows_start_on_their_source_lines() {
    let appendix = parse_appendix(QNG_189).unwrap();
    let lines: Vec<&str> = QNG_189.lines().collect();
    for r in &appendix.rows {
        let source = lines[r.line - 1];
        let first_cell = source.split('\t').next().unwrap().trim();
        assert_eq!(first_cell, r.row_number, "line {}", r.line);
        assert!(source.contains(r.title.split(' ').next().unwrap()));
    }
}

/// Every non-empty cell after the header appears in some row, section or the
/// header itself.
fn assert_nothing_lost(text: &str, appendix: &crate::Appendix) {
    let mut kept: Vec<&str> = Vec::new();
    for c in &appendix.columns {
        kept.push(&c.header);
    }
    for r in &appendix.rows {
        kept.extend([
            r.row_number.as_str(),
            &r.title,
            &r.lead_text,
            &r.coordinators_text,
        ]);
        kept.extend(r.content.as_deref());
        kept.extend(r.timeframe.as_deref());
        kept.extend(r.extra.iter().map(|(_, v)| v.as_str()));
        if let Some(s) = &r.section {
            kept.extend([s.number.as_str(), &s.title]);
        }
    }
    for (index, line) in text.lines().enumerate().skip(appendix.header_line) {
        for cell in line.split('\t').map(str::trim).filter(|c| !c.is_empty()) {
            assert!(
                kept.iter().any(|k| k.contains(cell)),
                "line {}: cell {cell:?} lost",
                index + 1
            );
        }
    }
}

#[test]
fn qng_189_nothing_lost() {
    assert_nothing_lost(QNG_189, &parse_appendix(QNG_189).unwrap());
}

#[test]
fn qng_189_table_alone_parses_the_same() {
    let whole = parse_appendix(QNG_189).unwrap();
    let table: String = QNG_189
        .lines()
        .skip(516)
        .map(|l| format!("{l}\n"))
        .collect();
    let alone = parse_appendix(&table).unwrap();
    assert_eq!(alone.header_line, 1);
    assert_eq!(alone.rows.len(), whole.rows.len());
    for (a, w) in alone.rows.iter().zip(&whole.rows) {
        assert_eq!(a.line + 516, w.line);
        assert_eq!(
            AppendixRow {
                line: w.line,
                ..a.clone()
            },
            *w
        );
    }
    // Windows line endings and a byte-order mark change nothing either.
    let crlf = format!("\u{feff}{}", table.replace('\n', "\r\n"));
    assert_eq!(parse_appendix(&crlf).unwrap(), alone);
}

#[test]
fn viettel_2025_wide_table_with_repeated_header() {
    let appendix = parse_appendix(VIETTEL_2025).unwrap();
    let roles: Vec<ColumnRole> = appendix.columns.iter().map(|c| c.role).collect();
    assert_eq!(
        roles,
        [
            ColumnRole::RowNumber,
            ColumnRole::Title,
            ColumnRole::Content,
            ColumnRole::Lead,
            ColumnRole::Coordinators,
            ColumnRole::Extra,
            ColumnRole::Timeframe,
        ]
    );
    let keys: Vec<(&str, &str, usize)> = appendix
        .rows
        .iter()
        .map(|r| {
            (
                r.section.as_ref().unwrap().number.as_str(),
                r.row_number.as_str(),
                r.line,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("I", "1.", 3),
            ("II", "1", 5),
            ("II", "2", 6),
            ("II", "3", 10),
            ("III", "1", 12)
        ]
    );
    let r = &appendix.rows[2];
    assert!(r
        .content
        .as_deref()
        .unwrap()
        .ends_with("Kiosk tự phục vụ, trạm số hóa)."));
    assert_eq!(r.timeframe.as_deref(), Some("2025-2030"));
    assert_eq!(
        r.extra,
        [(
            "Vai trò hợp tác của Viettel".to_owned(),
            "Tư vấn, cung cấp các giải pháp triển khai thực hiện".to_owned()
        )]
    );
    assert_eq!(r.coordinators, ["Các sở, ban, ngành", "địa phương"]);
    assert_eq!(
        appendix.rows[4].lead,
        [
            "Trung tâm Phục vụ hành chính công tỉnh",
            "Trung tâm Điều hành thông tin tỉnh theo từng nội dung do đơn vị phụ trách"
        ]
    );
    assert_eq!(appendix.rows[4].timeframe.as_deref(), Some("Thường xuyên"));
    assert_eq!(
        appendix.rows[4].section.as_ref().unwrap().title,
        "HOÀN THIỆN THỂ CHẾ VÀ PHÁT TRIỂN NGUỒN NHÂN LỰC SỐ"
    );
    assert_nothing_lost(VIETTEL_2025, &appendix);
}

const HEADER: &str = "TT\tNội dung\tChủ trì\n";

#[test]
fn errors() {
    assert_eq!(parse_appendix(""), Err(AppendixError::NoTable));
    assert_eq!(
        parse_appendix("KẾ HOẠCH\nChuyển đổi số năm 2023\n\tthụt lề\n"),
        Err(AppendixError::NoTable)
    );
    assert_eq!(
        parse_appendix("STT\tNội dung\tPhối hợp\n1\ta\tb\n"),
        Err(AppendixError::MissingColumn {
            line: 1,
            role: "lead"
        })
    );
    assert_eq!(
        parse_appendix(&format!("{HEADER}1.1\ta\tb\n1.2\ta\tb\tc\n")),
        Err(AppendixError::TooManyCells {
            line: 3,
            cells: 4,
            columns: 3,
            column: "cell 4".into()
        })
    );
    // Text past the last column is an error even when the line has empty
    // cells elsewhere (it would otherwise be lost).
    assert_eq!(
        parse_appendix(&format!("{HEADER}1.1\t\t\t\tlate\n")),
        Err(AppendixError::TooManyCells {
            line: 2,
            cells: 5,
            columns: 3,
            column: "cell 5".into()
        })
    );
    assert_eq!(
        parse_appendix(&format!("{HEADER}\n\tmore text\t\n")),
        Err(AppendixError::OrphanContinuation { line: 3 })
    );
    assert_eq!(
        parse_appendix(&format!("{HEADER}I\tMục\t\n\t\tSở A\n")),
        Err(AppendixError::ContinuationAfterSection {
            line: 3,
            column: "Chủ trì".into()
        })
    );
}

#[test]
fn error_messages_name_the_line_and_column() {
    let messages = [
        AppendixError::MissingColumn {
            line: 4,
            role: "lead",
        },
        AppendixError::TooManyCells {
            line: 9,
            cells: 5,
            columns: 4,
            column: "cell 5".into(),
        },
        AppendixError::OrphanContinuation { line: 12 },
        AppendixError::ContinuationAfterSection {
            line: 7,
            column: "Cơ quan chủ trì".into(),
        },
    ]
    .map(|e| e.to_string());
    assert!(messages[0].starts_with("line 4:") && messages[0].contains("lead"));
    assert!(messages[1].starts_with("line 9:") && messages[1].contains("4 columns"));
    assert!(messages[2].starts_with("line 12:"));
    assert!(messages[3].starts_with("line 7:") && messages[3].contains("Cơ quan chủ trì"));
    assert!(AppendixError::NoTable.to_string().contains("TT/STT"));
}

#[test]
fn trailing_cells_blank_lines_and_rows_outside_sections() {
    let text = format!("{HEADER}1.1\ta\n\n\t\t\n1.2\tb\tSở A\t\t\t\nII.\tMục hai\t\n1\tc\tSở B\n");
    let appendix = parse_appendix(&text).unwrap();
    let summary: Vec<(Option<&str>, &str, &str, &str)> = appendix
        .rows
        .iter()
        .map(|r| {
            (
                r.section.as_ref().map(|s| s.number.as_str()),
                r.row_number.as_str(),
                r.title.as_str(),
                r.lead_text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (None, "1.1", "a", ""),
            (None, "1.2", "b", "Sở A"),
            (Some("II."), "1", "c", "Sở B")
        ]
    );
}

#[test]
fn section_heading_may_continue_on_the_next_line() {
    let text = format!("{HEADER}I\tPHÁT TRIỂN\t\n\tHẠ TẦNG SỐ\t\n1\tTask\tSở A\n");
    let appendix = parse_appendix(&text).unwrap();
    assert_eq!(
        appendix.rows[0].section.as_ref().unwrap().title,
        "PHÁT TRIỂN HẠ TẦNG SỐ"
    );
}

#[test]
fn integer_row_with_more_than_a_title_is_a_task() {
    // Only lead/coordinators are named by the rule, but a timeframe or extra
    // cell would be lost on a section, so such a row is a task.
    let text = "STT\tNội dung\tChủ trì\tThời gian\tGhi chú\n1\tTask\t\t2023\t\n2\tTask\t\t\tx\n";
    let appendix = parse_appendix(text).unwrap();
    assert_eq!(appendix.rows.len(), 2);
    assert_eq!(appendix.rows[0].timeframe.as_deref(), Some("2023"));
    assert_eq!(
        appendix.rows[1].extra,
        [("Ghi chú".to_owned(), "x".to_owned())]
    );
}

#[test]
fn repeated_header_mid_table_is_skipped_and_continuation_still_joins() {
    let text = format!(
        "{HEADER}1.1\tabc\tSở A;\n\n{HEADER}\tdef\tSở B\n**PHỤ LỤC 3**\n1.2\tnot here\tSở C\n"
    );
    let appendix = parse_appendix(&text).unwrap();
    assert_eq!(appendix.rows.len(), 1);
    assert_eq!(appendix.rows[0].title, "abc def");
    assert_eq!(appendix.rows[0].lead, ["Sở A", "Sở B"]);
}

#[test]
fn stops_at_a_new_appendix_heading() {
    let mut text = QNG_189.to_owned();
    text.push_str("\n\nPhụ lục 3\n\nTT\tTên nhiệm vụ\tCơ quan chủ trì\n1.1\tX\tY\n");
    let appendix = parse_appendix(&text).unwrap();
    assert_eq!(appendix.rows.len(), 76);
    assert_eq!(appendix.rows.last().unwrap().row_number, "10.5");
}

/// A generated task row: section index and cell texts.
#[derive(Debug, Clone)]
struct GenRow {
    title: Vec<String>,
    lead: String,
    coordinators: String,
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-ZàáạảãđêếệưởờốộĐÁ&\\-\\.,;:/()]{1,10}",
        Just("Sở TT&TT".to_owned()),
        Just("UBND cấp huyện;".to_owned()),
        Just("Các Sở, ban, ngành tỉnh".to_owned()),
        Just("cấp xã".to_owned()),
    ]
}

fn gen_row() -> impl Strategy<Value = GenRow> {
    (
        proptest::collection::vec(proptest::collection::vec(word(), 1..5), 1..3),
        proptest::collection::vec(word(), 0..4),
        proptest::collection::vec(word(), 0..4),
    )
        .prop_map(|(title_lines, lead, coordinators)| GenRow {
            title: title_lines.into_iter().map(|w| w.join(" ")).collect(),
            lead: lead.join(" "),
            coordinators: coordinators.join(" "),
        })
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let _ = parse_appendix(&text);
    }

    #[test]
    fn parse_never_panics_on_table_like_text(
        lines in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    Just(""), Just("TT"), Just("STT"), Just("Nội dung"), Just("Chủ trì"),
                    Just("Phối hợp"), Just("Thời gian"), Just("Ghi chú"), Just("1"), Just("II"),
                    Just("1.1"), Just("Sở A; cấp xã"), Just("Phụ lục 2"), Just(" "), Just("\r"),
                ],
                0..7,
            ),
            0..20,
        )
    ) {
        let text: String = lines.iter().map(|cells| cells.join("\t") + "\n").collect();
        if let Ok(appendix) = parse_appendix(&text) {
            for (i, r) in appendix.rows.iter().enumerate() {
                prop_assert_eq!(r.position, i);
                prop_assert!(r.line > appendix.header_line);
                prop_assert!(!r.row_number.is_empty());
            }
        }
    }

    #[test]
    fn parse_never_panics_on_a_mutated_seed(
        edits in proptest::collection::vec((0usize..700, 0u8..3, "[^\n]{0,40}"), 1..8)
    ) {
        let mut lines: Vec<String> = QNG_189.lines().map(str::to_owned).collect();
        for (at, kind, new) in edits {
            let at = at % (lines.len() + 1);
            match kind {
                0 => lines.insert(at, new),
                1 if at < lines.len() => lines[at] = new,
                _ if at < lines.len() => { lines.remove(at); }
                _ => lines.push(new),
            }
        }
        let _ = parse_appendix(&lines.join("\n"));
    }

    #[test]
    fn blank_lines_in_the_seed_change_only_line_numbers(
        at in proptest::collection::btree_set(517usize..612, 1..6)
    ) {
        let original = parse_appendix(QNG_189).unwrap();
        let mut text = String::new();
        for (index, line) in QNG_189.lines().enumerate() {
            if at.contains(&index) {
                text.push_str(" \t\t\n");
            }
            text.push_str(line);
            text.push('\n');
        }
        let shifted = parse_appendix(&text).unwrap();
        prop_assert_eq!(shifted.rows.len(), original.rows.len());
        for (s, o) in shifted.rows.iter().zip(&original.rows) {
            prop_assert!(s.line >= o.line);
            prop_assert_eq!(&AppendixRow { line: o.line, ..s.clone() }, o);
        }
    }

    #[test]
    fn generated_tables_round_trip(
        sections in proptest::collection::vec(proptest::collection::vec(gen_row(), 0..5), 1..4)
    ) {
        let mut text = String::from("Some preamble\n\nSTT\tTên nhiệm vụ\tĐơn vị chủ trì\tĐơn vị phối hợp\n");
        let mut expected = Vec::new();
        for (s, rows) in sections.iter().enumerate() {
            let number = ["I", "II", "III", "IV"][s];
            text.push_str(&format!("{number}\tSection {number}\t\t\n"));
            for (r, row) in rows.iter().enumerate() {
                // Every row number is written twice to check that repeats are kept.
                let row_number = format!("{}.{}", s + 1, r / 2 + 1);
                text.push_str(&format!("{row_number}\t{}\t{}\t{}\n", row.title[0], row.lead, row.coordinators));
                for more in &row.title[1..] {
                    text.push_str(&format!("\n\t{more}\t\t\n"));
                }
                expected.push((number, row_number, r, row.title.join(" "), row));
            }
        }
        let appendix = parse_appendix(&text).unwrap();
        prop_assert_eq!(appendix.rows.len(), expected.len());
        for (got, (section, row_number, r, title, row)) in appendix.rows.iter().zip(&expected) {
            prop_assert_eq!(got.section.as_ref().unwrap().number.as_str(), *section);
            prop_assert_eq!(&got.row_number, row_number);
            prop_assert_eq!(&got.title, title.trim());
            prop_assert_eq!(&got.lead_text, row.lead.trim());
            prop_assert_eq!(&got.coordinators_text, row.coordinators.trim());
            prop_assert_eq!(got.occurrence, r % 2 + 1);
        }
    }
}
