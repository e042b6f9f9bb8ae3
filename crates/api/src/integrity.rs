//! The audit service's integrity answers: a verification's findings as a
//! `VerifyResponse` (with what the read model quarantined), and the export's stream of
//! stored records.
//!
//! Invariant: records go out exactly as stored (`json` is the stored payload), so what a
//! client verifies offline is what the log holds.

use dondoc_app::{AppError, LogVerification, QuarantinedMessage, StoredRecord};
use futures::{stream::BoxStream, StreamExt};
use tokio::sync::mpsc;
use tonic::Status;

use crate::audit::audit_status;
use crate::pb;

/// A verification and the quarantine, as the API answers them.
pub(crate) fn verify_response(
    verification: LogVerification,
    quarantined: Vec<QuarantinedMessage>,
) -> pb::VerifyResponse {
    let summary = verification.summary;
    let records = verification.records;
    pb::VerifyResponse {
        events: summary.events,
        tasks: summary.tasks,
        sealed: summary.sealed,
        unsealed: summary.unsealed,
        records: records.records,
        signed: records.signed,
        unsigned: records.unsigned,
        key_records: records.key_records,
        checkpoints: records.checkpoints,
        import_records: records.import_records,
        current_key: records
            .current_key
            .map(|key| key.to_string())
            .unwrap_or_default(),
        last_checkpoint: records.last_checkpoint.unwrap_or_default(),
        findings: verification
            .findings
            .iter()
            .map(ToString::to_string)
            .collect(),
        quarantined: quarantined
            .into_iter()
            .map(|message| pb::QuarantinedMessage {
                stream_sequence: message.sequence,
                subject: message.subject,
                reason: message.reason,
            })
            .collect(),
        broken: verification
            .broken
            .map(|(sequence, broken)| pb::BrokenLink {
                stream_sequence: sequence,
                task_id: broken
                    .task_id
                    .map(|task| task.to_string())
                    .unwrap_or_default(),
                version: broken.version.unwrap_or_default(),
                reason: broken.reason,
            }),
    }
}

/// Sends each stored record to the client, at its pace, until the end or a failure
/// (sent as the stream's last item).
pub(crate) async fn forward_records(
    mut records: BoxStream<'static, Result<StoredRecord, AppError>>,
    sender: mpsc::Sender<Result<pb::LogRecord, Status>>,
) {
    while let Some(record) = records.next().await {
        let item = record
            .map(|record| pb::LogRecord {
                stream_sequence: record.sequence,
                subject: record.subject,
                // Stored records are UTF-8 JSON; anything else is shown lossily (and
                // fails verification, as it should).
                json: String::from_utf8_lossy(&record.payload).into_owned(),
            })
            .map_err(audit_status);
        let failed = item.is_err();
        // Waits while the channel is full: the client's pace is the producer's.
        if sender.send(item).await.is_err() || failed {
            return;
        }
    }
}
