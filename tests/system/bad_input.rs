//! Bad input to the importer: each case gives a clear error naming the file and what is
//! wrong, and records nothing.

use tonic::Code;

use crate::support::{cli, import_seed_004, spawn_dondoc, TestNats};

const HEADER: &str = "TT\tTên nhiệm vụ\tCơ quan chủ trì\tCơ quan phối hợp\n";

/// (file name, content, what the error must mention)
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut invalid_utf8 = format!("{HEADER}1\tNhóm\t\t\n1.1\tViệc ").into_bytes();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
    invalid_utf8.extend_from_slice("\tSở A\t\n".as_bytes());
    let mut huge = String::with_capacity(50 * 1024 * 1024 + 100);
    huge.push_str(HEADER);
    while huge.len() < 50 * 1024 * 1024 {
        huge.push_str("1.1\tMột nhiệm vụ lặp lại rất nhiều lần để làm tệp lớn\tSở A\tSở B\n");
    }
    vec![
        ("empty.txt", Vec::new(), "no appendix table"),
        (
            "prose.txt",
            "Kế hoạch này không có bảng phụ lục.\nChỉ có văn bản.\n".into(),
            "no appendix table",
        ),
        ("invalid.txt", invalid_utf8, "line 3"),
        ("huge.txt", huge.into_bytes(), "larger than"),
        (
            "wide.txt",
            format!("{HEADER}1.1\tViệc\tSở A\tSở B\tthừa\n").into_bytes(),
            "line 2",
        ),
    ]
}

#[test]
fn the_cli_dry_run_names_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content, mention) in cases() {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let output = cli().output(&[
            "import",
            "--dry-run",
            "--plan",
            "bad",
            "--year",
            "2023",
            path.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(!output.status.success(), "{name} was accepted");
        assert!(
            stderr.contains(name),
            "{name}: the error names the file: {stderr}"
        );
        assert!(
            stderr.contains(&mention.to_lowercase()),
            "{name}: the error says {mention:?}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{name}: nothing printed as imported"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_bad_appendices_and_records_nothing() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    import_seed_004(&mut client, "qng").await;
    for (name, content, mention) in cases() {
        // gRPC strings are UTF-8: invalid bytes are refused by the client library itself.
        let Ok(text) = String::from_utf8(content) else {
            continue;
        };
        let status = client
            .import_plan(dondoc_api::pb::ImportPlanRequest {
                plan_id: "bad".into(),
                plan_year: 2023,
                source_name: name.into(),
                content: text,
                request_id: format!("bad-{name}"),
                actor: "test".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        if name == "huge.txt" {
            // Over the server's message limit: refused before it is read.
            assert_ne!(status.code(), Code::Ok);
            continue;
        }
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        let message = status.message().to_lowercase();
        assert!(message.contains(name), "{name}: {message}");
        assert!(
            message.contains(&mention.to_lowercase()),
            "{name}: {message}"
        );
    }
    assert_eq!(nats.event_count().await, 76, "nothing was recorded");
}
