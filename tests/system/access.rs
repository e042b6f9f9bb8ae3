//! Who may call: the API speaks TLS only (plain text needs `--insecure`, on loopback),
//! and every call of both services needs a bearer token signed by the deployment's
//! auth key, or a client certificate of its client CA. No token, a malformed one, another deployment's, an expired or a revoked
//! one: UNAUTHENTICATED, saying which. Health needs none.

use dondoc_api::pb;
use dondoc_api::{AuditServiceClient, TaskServiceClient};
use tonic::Code;

use crate::support::{cli, spawn_dondoc, spawn_dondoc_with, TestNats};

fn list_request() -> pb::ListTasksRequest {
    pb::ListTasksRequest::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_needs_a_token_of_this_deployment_and_a_revoked_one_stops_working() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let operator = dondoc.connector();

    // The operator token `dondoc up` left for the CLI works.
    let mut client = TaskServiceClient::new(operator.connect().await);
    client
        .list_tasks(list_request())
        .await
        .expect("the operator token works");

    // No token, garbage, and another deployment's token: UNAUTHENTICATED, saying why.
    let other = tempfile::tempdir().unwrap();
    let foreign = cli().stdout(&[
        "auth",
        "issue",
        "--data-dir",
        other.path().to_str().unwrap(),
        "--agency",
        "operator",
        "--role",
        "operator",
    ]);
    let cases = [
        (None, "no bearer token"),
        (Some("not-a-token"), "malformed"),
        (Some(foreign.trim()), "not signed by this deployment"),
    ];
    for (token, says) in cases {
        let channel = operator.with_token(token).connect().await;
        let status = TaskServiceClient::new(channel.clone())
            .list_tasks(list_request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}: {status}");
        assert!(status.message().contains(says), "{token:?}: {status}");
        let status = AuditServiceClient::new(channel)
            .verify(pb::VerifyRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "audit, {token:?}");
    }

    // A token issued for an agency works until it is revoked, then at once no more.
    let issued = cli().output(&[
        "auth",
        "issue",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--agency",
        "quang-ngai-so-thong-tin-truyen-thong",
        "--role",
        "lead",
        "--expires",
        "1h",
    ]);
    assert!(issued.status.success());
    let token = String::from_utf8(issued.stdout).unwrap();
    let said = String::from_utf8(issued.stderr).unwrap();
    let token_id = said.split_whitespace().nth(2).unwrap().to_owned();
    let channel = operator.with_token(Some(token.trim())).connect().await;
    let mut agency = TaskServiceClient::new(channel);
    agency
        .list_tasks(list_request())
        .await
        .expect("an issued token works");
    let revoked = cli().stdout(&[
        "auth",
        "revoke",
        "--data-dir",
        data.path().to_str().unwrap(),
        &token_id,
    ]);
    assert!(revoked.contains(&token_id), "{revoked}");
    let status = agency.list_tasks(list_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");
    assert!(status.message().contains("revoked"), "{status}");

    // Health says nothing of the data: no token needed.
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        operator.with_token(None).connect().await,
    );
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: dondoc_api::TASK_SERVICE_NAME.to_owned(),
        })
        .await
        .expect("health answers anyone")
        .into_inner();
    assert_eq!(
        answer.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_speaks_tls_and_plain_text_only_when_asked_on_loopback() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    // A plain-text client cannot talk to the TLS server.
    let plain = dondoc
        .connector()
        .endpoint
        .replacen("https://", "http://", 1);
    let attempt = dondoc_api::client::connect(&plain, None, None).await;
    let failed = match attempt {
        Err(_) => true,
        Ok(channel) => TaskServiceClient::new(channel)
            .list_tasks(list_request())
            .await
            .is_err(),
    };
    assert!(failed, "a plain-text call to the TLS server went through");
    // The private halves are their owner's alone.
    for private in ["tls/server.key", "keys/auth.key", "auth/operator.token"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(data.path().join(private))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0, "{private} is {mode:o}");
    }

    // --insecure on a non-loopback address is refused before anything is served.
    let other = tempfile::tempdir().unwrap();
    let refused = cli().output(&[
        "up",
        "--nats",
        &nats.url(),
        "--data-dir",
        other.path().to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
        "--insecure",
        "--no-sample",
        "--no-worker",
    ]);
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("only on a loopback address"), "{said}");

    // On loopback it serves plain text, and still wants a token.
    drop(dondoc);
    let insecure = spawn_dondoc_with(
        &nats.url(),
        data.path(),
        &["--no-sample", "--no-worker", "--insecure"],
    );
    let connector = insecure.connector();
    let plain = connector.endpoint.replacen("https://", "http://", 1);
    let token = connector.token.as_deref();
    let channel = dondoc_api::client::connect(&plain, None, token)
        .await
        .unwrap();
    TaskServiceClient::new(channel)
        .list_tasks(list_request())
        .await
        .expect("plain text with a token");
    let channel = dondoc_api::client::connect(&plain, None, None)
        .await
        .unwrap();
    let status = TaskServiceClient::new(channel)
        .list_tasks(list_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

/// `dondoc auth cert`'s certificate for `agency` (lead), issued from `data_dir`'s client
/// CA: its PEM pair and its id.
fn client_certificate(
    data_dir: &std::path::Path,
    out: &std::path::Path,
    agency: &str,
) -> (dondoc_api::client::ClientCertificate, String) {
    let output = cli().output(&[
        "auth",
        "cert",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--agency",
        agency,
        "--role",
        "lead",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let id = stderr
        .split_whitespace()
        .nth(2)
        .expect("certificate id <serial> …")
        .to_owned();
    let key_path = out.join(format!("{agency}.key"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_path).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the key is its owner's alone");
    let certificate = dondoc_api::client::ClientCertificate {
        cert_pem: std::fs::read(out.join(format!("{agency}.crt"))).unwrap(),
        key_pem: std::fs::read(key_path).unwrap(),
    };
    (certificate, id)
}

/// A client certificate stands in for a token: it names the agency and its roles; a
/// revoked one, or one of another deployment's CA, does not get in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_names_its_caller_instead_of_a_token() {
    let nats = TestNats::start_without_fsync();
    let data = tempfile::tempdir().unwrap();
    let dondoc = spawn_dondoc(&nats.url(), data.path());
    let mut operator = dondoc.client().await;
    let imported = crate::support::import_seed_004(&mut operator, "qng").await;
    let certs = tempfile::tempdir().unwrap();
    let (certificate, id) = client_certificate(
        data.path(),
        &certs.path().join("mine"),
        "quang-ngai-so-tttt",
    );
    let server = dondoc.connector();
    let connect = |certificate: dondoc_api::client::ClientCertificate| {
        let server = server.clone();
        async move {
            dondoc_api::client::connect_with(
                &server.endpoint,
                server.ca_pem.as_deref(),
                None,
                Some(&certificate),
            )
            .await
        }
    };
    let mut lead = TaskServiceClient::new(connect(certificate.clone()).await.unwrap());
    let listed = lead
        .list_tasks(pb::ListTasksRequest {
            plan_id: "qng".into(),
            lead_agency: "quang-ngai-so-tttt".into(),
            min_sequence: imported.stream_sequence,
            ..Default::default()
        })
        .await
        .expect("a certificate without a token gets in")
        .into_inner()
        .tasks;
    assert!(!listed.is_empty());
    let reported = lead
        .submit_report(pb::SubmitReportRequest {
            task_id: listed[0].task_id.clone(),
            request_id: "by-certificate".into(),
            agency: "Sở TT&TT".into(),
            period: "2023-Q3".into(),
            content: "Báo cáo".into(),
            expected_version: None,
        })
        .await
        .expect("the lead reports with its certificate");
    assert!(!reported.into_inner().unchanged);
    let events = nats.event_json().await;
    let report = events
        .iter()
        .find(|event| event["request_id"] == "by-certificate")
        .unwrap();
    assert_eq!(report["actor"], "quang-ngai-so-tttt");
    // Its roles are the certificate's: a lead does not extend deadlines.
    let denied = lead
        .extend_deadline(pb::ExtendDeadlineRequest {
            task_id: listed[0].task_id.clone(),
            request_id: "extend-by-certificate".into(),
            period: "2023-Q4".into(),
            new_due: "2027-03-01T00:00:00+07:00".into(),
            reason: "Chờ số liệu".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(
        denied.message().contains("plan_owner"),
        "{}",
        denied.message()
    );

    // Revoked: refused from the next call on.
    cli().stdout(&[
        "auth",
        "revoke",
        "--data-dir",
        data.path().to_str().unwrap(),
        &id,
    ]);
    let revoked = lead
        .list_tasks(pb::ListTasksRequest::default())
        .await
        .unwrap_err();
    assert_eq!(revoked.code(), Code::Unauthenticated, "{revoked:?}");
    assert!(
        revoked.message().contains("revoked"),
        "{}",
        revoked.message()
    );

    // Another deployment's CA: the TLS handshake refuses it.
    let other = tempfile::tempdir().unwrap();
    let (foreign, _) = client_certificate(
        other.path(),
        &certs.path().join("foreign"),
        "quang-ngai-so-tttt",
    );
    let refused = match connect(foreign).await {
        Err(error) => error.to_string(),
        Ok(channel) => TaskServiceClient::new(channel)
            .list_tasks(pb::ListTasksRequest::default())
            .await
            .expect_err("another CA's certificate")
            .to_string(),
    };
    assert!(!refused.is_empty());
}
