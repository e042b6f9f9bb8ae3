//! Verifying the log itself: every record of the stream, walked in stream order over the
//! stored bytes (`dondoc_domain::ChainVerifier`): key records build the keys on record,
//! every later record must be signed by the current key, every task's hash chain must
//! hold, and the last signed checkpoint's heads must match what the log holds up to it.
//! The walk stops at the first broken link; checkpoint findings are all reported.

use dondoc_domain::ImportCommitted;
use dondoc_domain::{
    BrokenLink, ChainSummary, ChainVerifier, CheckpointFinding, PlanId, VerifySummary,
};
use dondoc_eventlog::{EventLog, RawRecord, IMPORT_SUBJECT_PREFIX, TASK_SUBJECT_PREFIX};
use futures::StreamExt;

use crate::error::AppError;

/// What walking the log found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogVerification {
    /// The task events verified (up to the broken link, if any).
    pub summary: ChainSummary,
    /// Every record verified: signed and unsigned ones, key records, checkpoints.
    pub records: VerifySummary,
    /// The first broken link, with the stream sequence of its record.
    pub broken: Option<(u64, BrokenLink)>,
    /// What comparing the heads with the last checkpoint found (empty: they match, or
    /// there is no checkpoint yet).
    pub findings: Vec<CheckpointFinding>,
}

/// Whether a plan's verification reads `record`: the plan's task events and import
/// commit records, and every other record that is not a task event (key records,
/// checkpoints, anything foreign), since those say what the plan's events must satisfy.
pub(super) fn concerns(record: &RawRecord, plan: &PlanId) -> bool {
    if let Some(rest) = record.subject.strip_prefix(TASK_SUBJECT_PREFIX) {
        return rest
            .strip_prefix('.')
            .and_then(|rest| rest.strip_prefix(plan.as_str()))
            .is_some_and(|rest| rest.starts_with('.'));
    }
    if record.subject.starts_with(IMPORT_SUBJECT_PREFIX) {
        // One that does not read is kept: verification names it.
        return ImportCommitted::decode(&record.payload)
            .map_or(true, |commit| commit.plan_id == *plan);
    }
    true
}

/// Walks every record of the log (or what concerns one plan) up to the stream's last
/// sequence as of the call.
pub(super) async fn verify_log(
    log: &EventLog,
    plan: Option<PlanId>,
) -> Result<LogVerification, AppError> {
    let mut records = log.records().await?;
    let mut verifier = ChainVerifier::new();
    let mut broken = None;
    while let Some(record) = records.next().await {
        let record = record?;
        if plan.as_ref().is_some_and(|plan| !concerns(&record, plan)) {
            continue;
        }
        let position = format!("stream sequence {}", record.sequence);
        if let Err(link) = verifier.push_at(&position, Some(record.sequence), &record.payload) {
            broken = Some((record.sequence, link));
            break;
        }
    }
    let findings = match (&broken, verifier.finish()) {
        (None, Ok(verification)) => verification.findings,
        _ => Vec::new(),
    };
    Ok(LogVerification {
        summary: verifier.summary(),
        records: verifier.verify_summary(),
        broken,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(subject: &str) -> RawRecord {
        RawRecord {
            sequence: 1,
            subject: subject.to_owned(),
            payload: Bytes::new(),
        }
    }

    #[test]
    fn a_plans_verification_reads_its_events_and_every_record_that_is_not_an_event() {
        let plan = PlanId::parse("qng").unwrap();
        assert!(concerns(&record("dondoc.events.task.qng.t1"), &plan));
        assert!(!concerns(&record("dondoc.events.task.qng-2.t1"), &plan));
        assert!(!concerns(&record("dondoc.events.task.other.t1"), &plan));
        assert!(concerns(&record("dondoc.events.keys"), &plan));
        assert!(concerns(&record("dondoc.events.checkpoint"), &plan));
        // An import record that does not read is kept (verification names it).
        assert!(concerns(
            &record(&format!("{IMPORT_SUBJECT_PREFIX}.x")),
            &plan
        ));
        assert!(concerns(&record("dondoc.events.garbage"), &plan));
    }
}
