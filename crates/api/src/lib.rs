//! The gRPC API, package `dondoc.v1`: the task service, the audit service (reads of
//! the log of record), the standard health service and server reflection (so grpcurl
//! and other reflection clients need no .proto).
//!
//! Architecture invariant: this is the only crate that knows prost and tonic, and it
//! sees only the application's and the domain's types (never the event log's or the
//! projection's). It parses requests into domain values (`fields.rs`), calls the named
//! use cases of dondoc-app, converts their answers to messages (`convert.rs`), and maps
//! every `AppError` to a status in one place (`status.rs`).

mod audit;
pub mod auth;
pub mod client;
mod convert;
mod fields;
mod integrity;
mod service;
mod status;

use std::future::Future;

use dondoc_app::Tracker;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use audit::{audit_status, AuditApi, STREAM_BUFFER};
pub use service::TaskApi;

pub use status::to_status;

/// Generated dondoc.v1 messages, server and client.
pub mod pb {
    #![allow(clippy::all, missing_docs)] // reason: generated code
    tonic::include_proto!("dondoc.v1");

    /// Encoded descriptors of dondoc.v1, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("dondoc_v1_descriptor");
}

pub use pb::audit_service_client::AuditServiceClient;
pub use pb::task_service_client::TaskServiceClient;

/// The largest request either service reads: an appendix of 4 MiB (the reader's limit)
/// and the rest of its request. A larger one is refused by tonic with OUT_OF_RANGE
/// before it is decoded.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;

/// The fully qualified name the task service answers to (for health checks).
pub const TASK_SERVICE_NAME: &str = "dondoc.v1.TaskService";

/// The fully qualified name the audit service answers to (for health checks).
pub const AUDIT_SERVICE_NAME: &str = "dondoc.v1.AuditService";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// How the API is served: TLS (or plain text, only where the caller allows it) and the
/// tokens callers must present.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The server's certificate chain and private key, PEM. `None`: plain text (the
    /// binary allows it only on loopback with `--insecure`).
    pub tls: Option<TlsIdentity>,
    /// Checks every call's bearer token (`auth.rs`).
    pub verifier: auth::TokenVerifier,
}

#[derive(Clone, Debug)]
pub struct TlsIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The CA that issues client certificates (PEM): callers may present one instead
    /// of a token (`auth.rs`). `None`: tokens only.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Serves the API on an already bound listener until `shutdown` completes.
///
/// Binding is the caller's so that it can bind port 0 and learn the address first.
/// The task service runs on `tracker`'s commands, imports and queries; the audit
/// service on its auditor, which reads the event log only. Both take only calls with
/// a valid bearer token; health and reflection take any (they say nothing of the
/// data). `log_serving` says whether the log of record can be reached; the health
/// service follows it.
pub async fn serve(
    listener: TcpListener,
    tracker: Tracker,
    options: ServeOptions,
    mut log_serving: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // Health follows the log of record: NOT_SERVING while it cannot be reached (an
    // embedded nats-server being restarted), SERVING again once it is back.
    let reporter = health_reporter.clone();
    tokio::spawn(async move {
        loop {
            let serving = *log_serving.borrow_and_update();
            for service in [TASK_SERVICE_NAME, AUDIT_SERVICE_NAME] {
                let status = if serving {
                    tonic_health::ServingStatus::Serving
                } else {
                    tonic_health::ServingStatus::NotServing
                };
                reporter.set_service_status(service, status).await;
            }
            if log_serving.changed().await.is_err() {
                return;
            }
        }
    });
    // Watches never end by themselves: they are told to when shutdown begins, so that
    // the graceful shutdown does not wait for them.
    let (stop_streams, streams_stopping) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_streams.send(true);
    };
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = &options.tls {
        let mut config = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem),
        );
        if let Some(client_ca) = &tls.client_ca_pem {
            // Optional: a caller with a token needs no certificate.
            config = config
                .client_ca_root(tonic::transport::Certificate::from_pem(client_ca))
                .client_auth_optional(true);
        }
        server = server.tls_config(config)?;
    }
    let task_service = pb::task_service_server::TaskServiceServer::new(TaskApi::new(
        tracker.commands(),
        tracker.imports(),
        tracker.queries(),
    ))
    .max_decoding_message_size(MAX_REQUEST_BYTES);
    let audit_service = pb::audit_service_server::AuditServiceServer::new(AuditApi::new(
        tracker.auditor(),
        tracker.queries(),
        streams_stopping,
    ))
    .max_decoding_message_size(MAX_REQUEST_BYTES);
    server
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(tonic::service::interceptor::InterceptedService::new(
            task_service,
            options.verifier.interceptor(),
        ))
        .add_service(tonic::service::interceptor::InterceptedService::new(
            audit_service,
            options.verifier.interceptor(),
        ))
        // TCP_NODELAY on every accepted socket: without it a small answer's trailers
        // wait for the client's delayed ACK (about 40 ms per call).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await?;
    Ok(())
}
