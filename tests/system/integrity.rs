//! The auditors' evidence, end to end: a plan exported as JSON Lines verifies offline,
//! and flipping one byte of any event in the file makes verification fail at that
//! event; the server verifies its whole log; after a long scripted history, a projection
//! rebuilt from the stream matches the live one tree by tree.

use std::path::Path;
use std::process::Output;

use crate::support::{cli, import_seed_004, report, spawn_dondoc, Dondoc, TestNats};

fn run_cli(args: &[&str]) -> Output {
    cli().output(args)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn verify_file(path: &Path) -> Output {
    run_cli(&["audit", "verify", path.to_str().unwrap()])
}

/// Imports seed 004 and files reports on a dozen tasks; returns the task ids.
async fn scripted_history(dondoc: &Dondoc, plan: &str) -> Vec<String> {
    let mut client = dondoc.client().await;
    let imported = import_seed_004(&mut client, plan).await;
    for (index, task_id) in imported.task_ids.iter().enumerate().take(12) {
        for quarter in 1..=2 {
            // Not every row's timeframe covers every quarter: refusals are part of life.
            let _ = client
                .submit_report(report(
                    task_id,
                    &format!("{plan}-{index}-{quarter}"),
                    quarter,
                    None,
                ))
                .await;
        }
    }
    imported.task_ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_plan_verifies_offline_and_any_flipped_byte_fails_at_its_event() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let server = spawn_dondoc(&nats.url(), data.path());
    scripted_history(&server, "qng").await;
    scripted_history(&server, "other").await;

    let file = data.path().join("qng.jsonl");
    let exported = cli().with_server(&server).output(&[
        "audit",
        "export",
        "--plan",
        "qng",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", text(&exported));
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        lines.len() > 76,
        "the plan's assignments and reports: {}",
        lines.len()
    );
    // The plan's events, and the records they are checked against: the key record
    // first, the plan's import commit record (nothing of the other plan).
    let events: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("\"subject\":\"dondoc.events.task."))
        .collect();
    assert!(lines.iter().all(|line| line.contains("\"plan_id\":\"qng\"")
        || line.contains("\"subject\":\"dondoc.events.keys\"")));
    assert!(lines[0].contains("key_established"), "{}", lines[0]);
    assert_eq!(lines.len(), events.len() + 2);

    let verified = verify_file(&file);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains(&format!("verified: {} events of 76 tasks", events.len())),
        "{}",
        text(&verified)
    );

    // One byte flipped: in a report's content, in a seal, in a chain link, in a key.
    let original = std::fs::read(&file).unwrap();
    let report_line = lines
        .iter()
        .position(|line| line.contains("report_submitted"))
        .unwrap();
    let chained_line = lines
        .iter()
        .position(|line| line.contains("\"prev_hash\""))
        .unwrap();
    let targets = [
        (report_line, "Báo cáo quý"),
        (report_line, "\"hash\":\""),
        (chained_line, "\"prev_hash\":\""),
        (lines.len() / 2, "\"actor\""),
    ];
    for (line, marker) in targets {
        let line_start: usize = lines[..line].iter().map(|l| l.len() + 1).sum();
        let offset = lines[line].find(marker).unwrap() + marker.len() - 1;
        let mut tampered = original.clone();
        tampered[line_start + offset] ^= 0x01;
        let tampered_file = data.path().join("tampered.jsonl");
        std::fs::write(&tampered_file, &tampered).unwrap();
        let refused = verify_file(&tampered_file);
        assert!(
            !refused.status.success(),
            "a flip at {marker:?} went unnoticed"
        );
        assert!(
            text(&refused).contains(&format!("line {})", line + 1))
                || text(&refused).contains(&format!("line {},", line + 1)),
            "the failure names line {}: {}",
            line + 1,
            text(&refused)
        );
    }

    // The server walks its whole log.
    let on_server = cli().with_server(&server).output(&["audit", "verify"]);
    assert!(on_server.status.success(), "{}", text(&on_server));
    assert!(
        text(&on_server).contains("of 152 tasks"),
        "{}",
        text(&on_server)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_rebuilt_from_the_stream_matches_the_live_one_after_a_long_history() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let mut server = spawn_dondoc(&nats.url(), data.path());
    scripted_history(&server, "qng").await;
    // The deadline worker's catch-up of 2023 adds hundreds of overdue marks.
    let swept = run_cli(&[
        "sweep",
        "--nats",
        &nats.url(),
        "--as-of",
        "2024-01-15T00:00:00+07:00",
        "--reminders",
        "none",
        "--data-dir",
        data.path().join("sweeper").to_str().unwrap(),
        // Beside the server's log, with the deployment's key.
        "--signing-key",
        data.path().join("keys/signing.key").to_str().unwrap(),
    ]);
    assert!(swept.status.success(), "{}", text(&swept));
    let events = nats.event_count().await;
    assert!(events > 500, "a long history: {events} events");
    // Let the live projection apply everything, then stop the server.
    let mut client = server.client().await;
    let last = nats.last_sequence().await;
    crate::support::list_all(&mut client, "qng", last).await;
    // Stopping appends a checkpoint, which the stopped projection never applies.
    assert!(server.terminate());

    let compared = run_cli(&[
        "audit",
        "compare",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--nats",
        &nats.url(),
    ]);
    assert!(compared.status.success(), "{}", text(&compared));
    let output = text(&compared);
    assert!(
        output.contains(&format!("at stream sequence {last}")),
        "{output}"
    );
    assert!(
        output.contains("matches one rebuilt from the stream"),
        "{output}"
    );
}
