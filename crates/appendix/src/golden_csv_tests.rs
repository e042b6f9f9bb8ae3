//! CSV: the seed tables written as CSV read exactly as their tab-separated
//! originals, plus the CSV-specific cases (quoting, BOM, CRLF, records that
//! span lines).

use crate::golden_tests::{QNG_189, VIETTEL_2025};
use crate::{
    parse_appendix, parse_appendix_with, Appendix, AppendixError, AppendixRow, ParseOptions,
    SourceFormat,
};

/// Seed 004's appendix as CSV, after a few lines of prose (one with commas
/// and "TT" that is not a header). Rows 2.6 and 3.2, which continue on a
/// second line in the tab-separated original, are single records with
/// quoted line breaks here.
pub(crate) const QNG_189_CSV: &str = include_str!("../testdata/qng-189-table.csv");
/// Seed 002's table as CSV, record for record: the repeated header and the
/// continuation record of row II.2 (empty STT cell) are kept.
pub(crate) const VIETTEL_2025_CSV: &str = include_str!("../testdata/viettel-2025-table.csv");

fn assert_same_table(csv: &Appendix, tsv: &Appendix) {
    assert_eq!(csv.format, SourceFormat::Csv);
    assert_eq!(tsv.format, SourceFormat::TabSeparated);
    assert_eq!(csv.columns, tsv.columns);
    assert_eq!(csv.rows.len(), tsv.rows.len());
    for (c, t) in csv.rows.iter().zip(&tsv.rows) {
        assert_eq!(
            AppendixRow {
                line: t.line,
                ..c.clone()
            },
            *t,
            "row {} (CSV line {})",
            t.row_number,
            c.line
        );
    }
    assert_eq!(csv.warnings, tsv.warnings);
}

#[test]
fn qng_189_csv_reads_as_the_tab_separated_table() {
    let csv = parse_appendix(QNG_189_CSV).unwrap();
    let tsv = parse_appendix(QNG_189).unwrap();
    assert_eq!(csv.header_line, 8);
    assert_eq!(csv.rows.len(), 76);
    assert_same_table(&csv, &tsv);
    assert!(csv.warnings.is_empty());
    // Lines are where each record starts; the quoted line breaks of rows 2.6
    // and 3.2 push the records after them down.
    let line_of = |number: &str| {
        csv.rows
            .iter()
            .find(|r| r.row_number == number)
            .map(|r| r.line)
            .unwrap()
    };
    assert_eq!(line_of("1.1"), 10);
    assert_eq!(line_of("2.6"), 19);
    assert_eq!(line_of("2.7"), 21);
    assert_eq!(line_of("3.2"), 30);
    assert_eq!(line_of("3.3"), 33);
    assert_eq!(csv.rows.last().unwrap().line, 97);
    let r26 = &csv.rows.iter().find(|r| r.row_number == "2.6").unwrap();
    assert!(r26
        .title
        .contains("cơ sở dữ liệu cấp tỉnh; rà soát, cập nhật các quy chế"));
}

#[test]
fn viettel_2025_csv_reads_as_the_tab_separated_table() {
    let csv = parse_appendix(VIETTEL_2025_CSV).unwrap();
    let tsv = parse_appendix(VIETTEL_2025).unwrap();
    assert_same_table(&csv, &tsv);
    // Same structure record for record: the lines agree too.
    assert_eq!(csv.rows, tsv.rows);
    let keys: Vec<(&str, &str)> = csv
        .rows
        .iter()
        .map(|r| {
            (
                r.section.as_ref().unwrap().number.as_str(),
                r.row_number.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("I", "1."),
            ("II", "1"),
            ("II", "2"),
            ("II", "3"),
            ("III", "1")
        ]
    );
    // II.2 continues after the repeated header; the Viettel role is kept.
    let r = &csv.rows[2];
    assert!(r
        .content
        .as_deref()
        .unwrap()
        .ends_with("Kiosk tự phục vụ, trạm số hóa)."));
    assert_eq!(r.extra[0].0, "Vai trò hợp tác của Viettel");
}

#[test]
fn bom_and_crlf_change_nothing_but_nothing() {
    for (csv, tsv) in [(QNG_189_CSV, QNG_189), (VIETTEL_2025_CSV, VIETTEL_2025)] {
        let plain = parse_appendix(csv).unwrap();
        let windows = format!("\u{feff}{}", csv.replace('\n', "\r\n"));
        assert_eq!(parse_appendix(&windows).unwrap(), plain);
        assert_same_table(
            &parse_appendix(&windows).unwrap(),
            &parse_appendix(tsv).unwrap(),
        );
        // Old Mac line ends too.
        assert_eq!(parse_appendix(&csv.replace('\n', "\r")).unwrap(), plain);
    }
}

#[test]
fn quoting_doubled_quotes_delimiters_and_line_breaks_in_cells() {
    let text = "Ghi chú: bảng sau\n\
        STT,\"Nội dung\",\"Cơ quan\nchủ trì\",Phối hợp,Thời gian\n\
        I,\"Hạ tầng \"\"số\"\"\",,,\n\
        1,\"Triển khai nền tảng \"\"Công dân số\"\",\n  kết nối, chia sẻ\",\"Sở TT&TT, Sở Tài chính\",\"UBND cấp huyện;\nUBND cấp xã\",\"2023 - 2024\"\n\
        ,\"(tiếp theo)\",,\"Các cơ quan, đơn vị liên quan\",\n\
        2,Nhiệm vụ hai,Công an tỉnh,,Hằng năm\n";
    let a = parse_appendix(text).unwrap();
    assert_eq!(a.format, SourceFormat::Csv);
    assert_eq!(a.header_line, 2);
    assert_eq!(a.columns[2].header, "Cơ quan chủ trì");
    assert_eq!(a.rows.len(), 2);
    let r = &a.rows[0];
    assert_eq!(r.line, 5);
    assert_eq!(r.section.as_ref().unwrap().title, "Hạ tầng \"số\"");
    assert_eq!(
        r.title,
        "Triển khai nền tảng \"Công dân số\", kết nối, chia sẻ (tiếp theo)"
    );
    assert_eq!(r.lead, ["Sở TT&TT", "Sở Tài chính"]);
    assert_eq!(
        r.coordinators_text,
        "UBND cấp huyện; UBND cấp xã Các cơ quan, đơn vị liên quan"
    );
    assert_eq!(r.timeframe.as_deref(), Some("2023 - 2024"));
    // The continuation record glued "… cấp xã" and "Các cơ quan …" without
    // a separator: kept as written, but flagged.
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert_eq!(a.warnings[0].line, 8);
    assert_eq!(a.warnings[0].column.as_deref(), Some("Phối hợp"));
    assert_eq!(a.rows[1].line, 9);
    assert_eq!(a.rows[1].lead, ["Công an tỉnh"]);
}

#[test]
fn a_line_break_between_two_names_in_a_quoted_cell_is_flagged() {
    let text =
        "TT,Nội dung,Chủ trì,Phối hợp\n1,Việc,\"Sở TT&TT\nUBND cấp huyện\",\"Sở A;\nSở B\"\n";
    let a = parse_appendix(text).unwrap();
    assert_eq!(a.rows[0].lead_text, "Sở TT&TT UBND cấp huyện");
    assert_eq!(a.rows[0].coordinators, ["Sở A", "Sở B"]);
    assert_eq!(a.warnings.len(), 1);
    assert_eq!(a.warnings[0].line, 2);
    assert_eq!(a.warnings[0].column.as_deref(), Some("Chủ trì"));
    assert!(a.warnings[0]
        .to_string()
        .starts_with("line 2, column \"Chủ trì\":"));
    // A known name is a name start too.
    let options = ParseOptions {
        known_agencies: vec!["Hội đồng nhân dân huyện".into()],
    };
    let text = "TT,Nội dung,Chủ trì\n1,Việc,\"UBND huyện\nHội đồng nhân dân huyện\"\n";
    assert!(parse_appendix(text).unwrap().warnings.is_empty());
    assert_eq!(
        parse_appendix_with(text, &options).unwrap().warnings.len(),
        1
    );
}

#[test]
fn semicolon_separated() {
    let text = "TT;Nội dung;Chủ trì;Phối hợp\n1;Việc một;Sở TT&TT;\"UBND cấp huyện; cấp xã\"\n";
    let a = parse_appendix(text).unwrap();
    assert_eq!(a.format, SourceFormat::Csv);
    assert_eq!(a.rows[0].coordinators, ["UBND cấp huyện", "UBND cấp xã"]);
}

#[test]
fn csv_errors_name_line_and_column() {
    assert_eq!(
        parse_appendix("TT,Nội dung,Chủ trì\n1,a,b\n2,a,b,,late\n"),
        Err(AppendixError::TooManyCells {
            line: 3,
            cells: 5,
            columns: 3,
            column: "cell 5".into()
        })
    );
    // The third record starts on line 3 and its quote is never closed.
    assert_eq!(
        parse_appendix("TT,Nội dung,Chủ trì\n1,a,b\n2,\"a,b\n3,c,d\n"),
        Err(AppendixError::UnterminatedQuote { line: 3 })
    );
    assert_eq!(
        parse_appendix("TT,Nội dung,Chủ trì\n,more,\n"),
        Err(AppendixError::OrphanContinuation { line: 2 })
    );
    assert_eq!(
        parse_appendix("TT,Nội dung,Chủ trì\nI,Mục,\n,,Sở A\n"),
        Err(AppendixError::ContinuationAfterSection {
            line: 3,
            column: "Chủ trì".into()
        })
    );
    let message = AppendixError::UnterminatedQuote { line: 3 }.to_string();
    assert!(message.starts_with("line 3:"));
}

#[test]
fn csv_table_ends_at_a_new_appendix_heading() {
    let mut text = QNG_189_CSV.to_owned();
    text.push_str("\nPhụ lục 3\nTT,Tên nhiệm vụ,Cơ quan chủ trì\n1.1,X,\"Y\n");
    let a = parse_appendix(&text).unwrap();
    assert_eq!(a.rows.len(), 76);
}
