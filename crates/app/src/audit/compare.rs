//! Rebuild and compare: a fresh projection built from the stream, set beside the live
//! one tree by tree. Since every projection is a function of the stream, the two must
//! match at the same checkpoint; a difference means the live one missed, doubled or
//! misapplied an event (or was edited by hand).

use std::path::Path;

use dondoc_eventlog::{EventLog, LogError};
use dondoc_projection::{ProjectionStore, Quarantined, TreeDigest};
use futures::StreamExt;

use crate::error::AppError;

/// The two projections' digests at one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub checkpoint: u64,
    pub live: Vec<TreeDigest>,
    pub rebuilt: Vec<TreeDigest>,
}

impl Comparison {
    pub fn matches(&self) -> bool {
        self.live == self.rebuilt
    }

    /// The trees whose digests differ.
    pub fn differing_trees(&self) -> Vec<&'static str> {
        self.live
            .iter()
            .zip(&self.rebuilt)
            .filter(|(live, rebuilt)| live != rebuilt)
            .map(|(live, _)| live.tree)
            .collect()
    }
}

/// Builds a projection in `scratch` (an empty directory) from the stream up to the
/// `live` projection's checkpoint, and digests both. The live projection must not
/// change meanwhile: run it on a stopped server's data directory.
pub async fn rebuild_and_compare(
    log: &EventLog,
    live: &ProjectionStore,
    scratch: &Path,
) -> Result<Comparison, AppError> {
    let checkpoint = live.checkpoint()?;
    let rebuilt = ProjectionStore::open(scratch)?;
    if checkpoint > 0 {
        let mut events = log.follow(1).await?;
        while let Some(recorded) = events.next().await {
            // As the feeder does: a foreign message is quarantined, not applied.
            let sequence = match recorded {
                Ok(recorded) if recorded.sequence <= checkpoint => {
                    rebuilt.apply(recorded.sequence, &recorded.envelope)?;
                    recorded.sequence
                }
                Ok(_) => break,
                Err(LogError::Unreadable {
                    sequence,
                    subject,
                    reason,
                }) if sequence <= checkpoint => {
                    rebuilt.quarantine(&Quarantined {
                        sequence,
                        subject,
                        reason,
                    })?;
                    sequence
                }
                Err(LogError::Unreadable { .. }) => break,
                Err(other) => return Err(other.into()),
            };
            if sequence == checkpoint {
                break;
            }
        }
    }
    let comparison = Comparison {
        checkpoint,
        live: live.digests()?,
        rebuilt: rebuilt.digests()?,
    };
    Ok(comparison)
}
