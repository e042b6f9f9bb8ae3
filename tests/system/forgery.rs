//! Attacks on the log of record by someone who can publish on it (the service's NATS
//! credentials, or an open server) but does not hold the deployment's signing key: a
//! forged event sealed with the public SHA-256 chain rule, and an export cut short.
//! Neither does harm: the forgery is never applied (quarantined, the task goes on) and
//! verification names it; the cut export fails against the last signed checkpoint.

use std::time::Duration;

use crate::support::{
    cli, eventually, import_seed_004, report, spawn_dondoc, spawn_dondoc_with, TestNats,
};
use dondoc_api::pb;
use dondoc_domain::{AgencyName, CoordinationRecorded, EventEnvelope, RequestId, TaskEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_event_with_a_correct_chain_but_no_signature_is_quarantined_and_named() {
    let nats = TestNats::start();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let imported = import_seed_004(&mut client, "qng").await;
    let task_id = imported.task_ids[0].clone();

    // The task's last event, as stored, and a forged successor: the next version,
    // chained to its hash and sealed exactly as the public rule says, but unsigned.
    let subject_filter = format!("dondoc.events.task.qng.{task_id}");
    let js = nats.jetstream().await;
    let stream = js.get_stream("DONDOC_EVENTS").await.unwrap();
    let last = stream
        .get_last_raw_message_by_subject(&subject_filter)
        .await
        .unwrap();
    let head = EventEnvelope::decode(&last.payload).unwrap();
    let forged = EventEnvelope::new(
        uuid::Uuid::new_v4(),
        head.task_id,
        head.plan_id.clone(),
        head.version + 1,
        head.occurred_at,
        "Sở TT&TT".to_owned(),
        RequestId::parse("forged-1").unwrap(),
        TaskEvent::CoordinationRecorded(CoordinationRecorded {
            agency: AgencyName::parse("Sở Y tế").unwrap(),
            note: "Ghi chú giả mạo".to_owned(),
        }),
    )
    .sealed(head.hash.clone());
    let published = js
        .publish(subject_filter.clone(), forged.encode().into())
        .await
        .unwrap()
        .await
        .unwrap();

    // The server's verification fails, naming the forged event.
    let verify = cli().with_server(&dondoc).output(&["audit", "verify"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(!verify.status.success(), "{said}");
    assert!(
        said.contains(&format!("stream sequence {}", published.sequence)),
        "{said}"
    );
    assert!(said.contains("not signed by a key on record"), "{said}");

    // The read model never applied it and says so; the task goes on with its events.
    let audit = dondoc.audit_client().await;
    let quarantined = eventually("the forgery quarantined", Duration::from_secs(10), || {
        let mut audit = audit.clone();
        async move {
            let response = audit
                .verify(pb::VerifyRequest::default())
                .await
                .map_err(|status| status.to_string())?
                .into_inner();
            response
                .quarantined
                .into_iter()
                .next()
                .ok_or_else(|| "nothing quarantined yet".to_owned())
        }
    })
    .await;
    assert_eq!(quarantined.stream_sequence, published.sequence);
    assert!(quarantined.reason.contains("not signed"), "{quarantined:?}");
    let task = client
        .get_task(pb::GetTaskRequest {
            task_id: task_id.clone(),
            min_version: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(task.version, head.version, "the forgery is not applied");
    let done = client
        .submit_report(report(&task_id, "after-the-forgery", 1, None))
        .await
        .expect("the task still takes commands")
        .into_inner();
    assert_eq!(done.version, head.version + 1);
    let task = client
        .get_task(pb::GetTaskRequest {
            task_id,
            min_version: done.version,
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .unwrap();
    assert_eq!(task.version, done.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_cut_short_fails_against_the_last_signed_checkpoint() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let flags = ["--no-sample", "--no-worker", "--checkpoint-every", "3600"];
    let mut dondoc = spawn_dondoc_with(&nats.url(), data.path(), &flags);
    let mut client = dondoc.client().await;
    let imported = import_seed_004(&mut client, "qng").await;
    for (index, task_id) in imported.task_ids.iter().enumerate().take(5) {
        client
            .submit_report(report(task_id, &format!("r-{index}"), 1, None))
            .await
            .unwrap();
    }
    // Stopping appends a signed checkpoint of every head; a new process serves the log.
    let last_event = nats.last_sequence().await;
    let mut client_wait = dondoc.client().await;
    crate::support::list_all(&mut client_wait, "qng", last_event).await;
    assert!(dondoc.terminate());
    let checkpoints = nats.record_count("dondoc.events.checkpoint").await;
    assert_eq!(checkpoints, 1, "one checkpoint, written at shutdown");
    dondoc = spawn_dondoc_with(&nats.url(), data.path(), &flags);

    let file = data.path().join("qng.jsonl");
    let exported = cli().with_server(&dondoc).output(&[
        "audit",
        "export",
        "--plan",
        "qng",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(exported.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.last().unwrap().contains("\"type\":\"checkpoint\""),
        "the export carries the checkpoint: {}",
        lines.last().unwrap()
    );
    let verified = cli().output(&["audit", "verify", file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{said}");
    assert!(said.contains("checkpoints: 1"), "{said}");
    assert!(said.contains("its heads match"), "{said}");

    // The last report dropped from the file, as a truncated log would lose it.
    let last_report = lines
        .iter()
        .rposition(|line| line.contains("report_submitted"))
        .unwrap();
    let cut: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != last_report)
        .map(|(_, line)| *line)
        .collect();
    let cut_file = data.path().join("cut.jsonl");
    std::fs::write(&cut_file, cut.join("\n") + "\n").unwrap();
    let refused = cli().output(&["audit", "verify", cut_file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "a cut export went unnoticed");
    assert!(said.contains("missing after the checkpoint"), "{said}");
    assert!(said.contains("plan qng"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_signs_from_its_rotation_on_and_a_key_not_on_record_is_refused() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let mut dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    let imported = import_seed_004(&mut client, "qng").await;
    assert!(dondoc.terminate());

    // Another deployment's key is not the key on record: the service does not start.
    let stranger = tempfile::tempdir().unwrap();
    let refused = cli().output(&[
        "up",
        "--nats",
        &nats.url(),
        "--data-dir",
        stranger.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--no-sample",
        "--no-worker",
    ]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("is not the key on record"), "{said}");

    // A rotation, signed by the current key; the old one is kept, retired.
    let shown = cli().stdout(&["key", "show", "--data-dir", data.path().to_str().unwrap()]);
    let old_id = shown.split_whitespace().nth(2).unwrap().to_owned();
    let rotated = cli().stdout(&[
        "key",
        "rotate",
        "--nats",
        &nats.url(),
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    assert!(
        rotated.contains(&format!("rotated from {old_id}")),
        "{rotated}"
    );
    assert!(data
        .path()
        .join(format!("keys/signing.key.retired-{old_id}"))
        .exists());

    // The service starts with the new key, and everything verifies: the old key's
    // records before the rotation, the new key's after it.
    dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut client = dondoc.client().await;
    client
        .submit_report(report(&imported.task_ids[0], "after-rotation", 1, None))
        .await
        .unwrap();
    let mut audit = dondoc.audit_client().await;
    let verified = audit
        .verify(pb::VerifyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.broken.is_none(), "{verified:?}");
    assert_eq!(verified.key_records, 2);
    assert_ne!(verified.current_key, old_id);
    assert_eq!(verified.unsigned, 0);
}
