//! Golden tests of the importer on the seeds' real appendices: `dondoc import --dry-run
//! --json` on each seed must print exactly the checked-in JSON in tests/golden/.
//!
//! The expected files were produced by the binary and then checked row by row against
//! the seed documents. After an intended change, regenerate them with
//! `DONDOC_BLESS=1 cargo test -p dondoc --test system golden` and review the diff.

use std::path::Path;

use crate::support::{cli, seed_path, workspace_root};

/// (seed file, shipped copy, plan id, plan year, golden file)
const SEEDS: [(&str, &str, &str, i32, &str, &str); 3] = [
    (
        "004_09303d0239868285.txt",
        "qng-189-kh-ubnd-2022.txt",
        "qng-189-2022",
        2023,
        "Quảng Ngãi",
        "004.dry-run.json",
    ),
    (
        "000_3f00891f279c1e57.txt",
        "qti-dti-2023.txt",
        "qti-dti-2023",
        2023,
        "Quảng Trị",
        "000.dry-run.json",
    ),
    (
        "002_069ffc44a699e7d5.txt",
        "qti-viettel-2025.txt",
        "qti-viettel-2025",
        2025,
        "Quảng Trị",
        "002.dry-run.json",
    ),
];

fn dry_run_json(path: &Path, plan_id: &str, year: i32, province: &str) -> serde_json::Value {
    let year = year.to_string();
    let output = cli().output(&[
        "import",
        "--dry-run",
        "--json",
        "--plan",
        plan_id,
        "--year",
        &year,
        "--province",
        province,
        path.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "dry run of {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    // The document's name depends on where it was read from; the rest must not.
    json["source_name"] = serde_json::Value::Null;
    json
}

#[test]
fn dry_run_json_of_each_seed_appendix_matches_the_golden_file() {
    for (seed, shipped, plan_id, year, province, golden) in SEEDS {
        let actual = dry_run_json(&seed_path((seed, shipped)), plan_id, year, province);
        let golden_path = workspace_root().join("tests/golden").join(golden);
        if std::env::var_os("DONDOC_BLESS").is_some() {
            let pretty = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(&golden_path, pretty).unwrap();
            continue;
        }
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&golden_path)
                .unwrap_or_else(|err| panic!("{}: {err}", golden_path.display())),
        )
        .unwrap();
        let (actual_tasks, expected_tasks) = (&actual["tasks"], &expected["tasks"]);
        assert_eq!(
            actual_tasks.as_array().map(Vec::len),
            expected_tasks.as_array().map(Vec::len),
            "{seed}: task count"
        );
        for (index, (actual_task, expected_task)) in actual_tasks
            .as_array()
            .unwrap()
            .iter()
            .zip(expected_tasks.as_array().unwrap())
            .enumerate()
        {
            assert_eq!(actual_task, expected_task, "{seed}: task {index} differs");
        }
        assert_eq!(actual, expected, "{seed}: warnings or plan fields differ");
    }
}

#[test]
fn the_golden_files_hold_the_seeds_task_counts_and_sections() {
    // Independent of the binary: what DOMAIN.md and the documents say.
    for (golden, tasks, sections) in [
        ("004.dry-run.json", 76, 10),
        ("000.dry-run.json", 36, 8),
        ("002.dry-run.json", 5, 3),
    ] {
        let path = workspace_root().join("tests/golden").join(golden);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let rows = json["tasks"].as_array().unwrap();
        assert_eq!(rows.len(), tasks, "{golden}");
        let distinct: std::collections::BTreeSet<&str> = rows
            .iter()
            .map(|row| row["section"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(distinct.len(), sections, "{golden}: {distinct:?}");
        for row in rows {
            for field in ["row", "title", "lead", "coordinators", "timeframe"] {
                assert!(
                    row.get(field).is_some(),
                    "{golden}: {field} missing in {row}"
                );
            }
            assert!(
                !row["lead"].as_array().unwrap().is_empty(),
                "{golden}: no lead in {row}"
            );
        }
    }
}

#[test]
fn dondoc_deadlines_prints_the_2024_deadlines_of_both_presets() {
    let expected = [
        (
            "quang-tri",
            vec![
                ("2024-Q1", "2024-03-26T00:00:00+07:00", true),
                ("2024-Q2", "2024-06-25T00:00:00+07:00", false),
                ("2024-Q3", "2024-09-25T00:00:00+07:00", false),
                ("2024", "2024-12-20T00:00:00+07:00", false),
                ("2024-Q4", "2024-12-25T00:00:00+07:00", false),
            ],
        ),
        (
            "ba-to",
            vec![
                ("2024-Q1", "2024-03-12T00:00:00+07:00", false),
                ("2024-Q2", "2024-06-12T00:00:00+07:00", false),
                ("2024-Q3", "2024-09-12T00:00:00+07:00", false),
                ("2024", "2024-11-15T00:00:00+07:00", false),
                ("2024-Q4", "2024-12-12T00:00:00+07:00", false),
            ],
        ),
    ];
    for (policy, rows) in expected {
        let json = cli().json(&["deadlines", "--policy", policy, "--year", "2024", "--json"]);
        let actual: Vec<(String, String, bool)> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["period"].as_str().unwrap().to_owned(),
                    row["due"].as_str().unwrap().to_owned(),
                    row["rolled"].as_bool().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, String, bool)> = rows
            .into_iter()
            .map(|(period, due, rolled)| (period.to_owned(), due.to_owned(), rolled))
            .collect();
        assert_eq!(actual, expected, "{policy}");
    }
}
