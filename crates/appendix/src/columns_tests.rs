//! Unit tests of the column segmenter on rows from the seeds' PDF text.

use super::*;

fn run_lines(text: &str) -> Vec<SourceLine<'_>> {
    text.lines()
        .enumerate()
        .map(|(i, t)| SourceLine {
            line: i + 1,
            text: t,
        })
        .collect()
}

fn assign(text: &str, known: &[&str]) -> Assigned {
    let names = NameMatcher::new(&known.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    Segmenter {
        names: &names,
        has_coordinators: true,
        has_timeframe: true,
        title_width: 55,
        lead_limit: None,
        coordinators_limit: None,
    }
    .assign(&run_lines(text), true)
}

fn cells(a: &Assigned) -> [&str; 4] {
    [&a.title, &a.lead, &a.coordinators, &a.timeframe]
}

#[test]
fn shared_line_of_lead_coordinators_and_timeframe() {
    let a = assign(
        "Chỉ đạo hệ thống truyền thanh cơ sở của địa phương\ntriển khai chuyên mục riêng về chuyển đổi số.\nUBND cấp huyện UBND cấp xã Hằng năm",
        &[],
    );
    assert_eq!(
        cells(&a),
        [
            "Chỉ đạo hệ thống truyền thanh cơ sở của địa phương triển khai chuyên mục riêng về chuyển đổi số.",
            "UBND cấp huyện",
            "UBND cấp xã",
            "Hằng năm"
        ]
    );
    assert!(a.doubts.is_empty(), "{:?}", a.doubts);
}

#[test]
fn a_cell_does_not_start_after_a_joining_word() {
    let a = assign(
        "Triển khai đầy đủ các nền tảng số dùng chung trên\nTrung tâm Tích hợp dữ liệu của tỉnh\nSở Thông tin và\nTruyền thông\nSở, ban, ngành cấp tỉnh;\nUBND cấp huyện\nHằng năm",
        &[],
    );
    assert_eq!(
        cells(&a),
        [
            "Triển khai đầy đủ các nền tảng số dùng chung trên Trung tâm Tích hợp dữ liệu của tỉnh",
            "Sở Thông tin và Truyền thông",
            "Sở, ban, ngành cấp tỉnh; UBND cấp huyện",
            "Hằng năm"
        ]
    );
}

#[test]
fn no_agency_at_all_keeps_everything_in_the_title_with_a_doubt() {
    let a = assign("Tham mưu ban hành chính sách\nthuê chuyên gia 2023", &[]);
    assert_eq!(
        cells(&a),
        [
            "Tham mưu ban hành chính sách thuê chuyên gia",
            "",
            "",
            "2023"
        ]
    );
    assert_eq!(a.doubts.len(), 1);
    assert_eq!(a.doubts[0].column, Col::Lead);
}

#[test]
fn timeframe_after_a_joining_word_is_text() {
    let a = assign("Làm việc A\nSở Tài chính của năm 2023", &[]);
    assert_eq!(a.timeframe, "");
    assert!(a.lead.starts_with("Sở Tài chính"));
}

#[test]
fn width_limits() {
    assert_eq!(
        width_limit(&[&[14, 4], &[15, 6], &[18, 14, 5], &[9]]),
        Some(21)
    );
    assert_eq!(width_limit(&[&[14, 4], &[9], &[]]), None);
}

#[test]
fn empty_run() {
    assert_eq!(cells(&assign("", &[])), ["", "", "", ""]);
}
