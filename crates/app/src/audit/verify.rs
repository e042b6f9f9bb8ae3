//! Verifying the log itself: every task's hash chain, walked in stream order over the
//! stored bytes (`dondoc_domain::chain`), stopping at the first broken link.

use dondoc_domain::{BrokenLink, ChainSummary, ChainVerifier, PlanId};
use dondoc_eventlog::{EventLog, LogError, ReplayFilter, ReplayStart};
use futures::StreamExt;

use crate::error::AppError;

/// What walking the log found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogVerification {
    /// What was verified before the walk ended.
    pub summary: ChainSummary,
    /// The first broken link, with the stream sequence of its event.
    pub broken: Option<(u64, BrokenLink)>,
}

/// Walks the chains of every task (or of one plan's tasks) up to the stream's last
/// sequence as of the call.
pub(super) async fn verify_log(
    log: &EventLog,
    plan: Option<PlanId>,
) -> Result<LogVerification, AppError> {
    let filter = plan.map_or(ReplayFilter::All, ReplayFilter::Plan);
    let mut events = std::pin::pin!(log.replay(&filter, ReplayStart::Sequence(1), None).await?);
    let mut verifier = ChainVerifier::new();
    while let Some(event) = events.next().await {
        let (sequence, outcome) = match event {
            Ok(raw) => (
                raw.sequence,
                verifier.push(&format!("stream sequence {}", raw.sequence), &raw.payload),
            ),
            Err(LogError::Unreadable {
                sequence, reason, ..
            }) => (
                sequence,
                Err(BrokenLink {
                    position: format!("stream sequence {sequence}"),
                    task_id: None,
                    version: None,
                    reason: format!("not a readable event: {reason}"),
                }),
            ),
            Err(other) => return Err(other.into()),
        };
        if let Err(broken) = outcome {
            return Ok(LogVerification {
                summary: verifier.summary(),
                broken: Some((sequence, broken)),
            });
        }
    }
    Ok(LogVerification {
        summary: verifier.summary(),
        broken: None,
    })
}
