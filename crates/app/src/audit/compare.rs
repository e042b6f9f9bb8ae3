//! Rebuild and compare: a fresh projection built from the stream, set beside the live
//! one tree by tree. Since every projection is a function of the stream, the two must
//! match at the same checkpoint; a difference means the live one missed, doubled or
//! misapplied an event (or was edited by hand).

use std::path::Path;
use std::sync::Arc;

use dondoc_eventlog::{EventLog, LogError};
use dondoc_projection::{Derivation, ProjectionStore, TreeDigest};
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
/// change meanwhile: run it on a stopped server's data directory. `statistics`: the
/// derivation the live one keeps (`ObligationStatistics` under its directory and
/// rules), so that its derived records are compared too.
pub async fn rebuild_and_compare(
    log: &EventLog,
    live: &ProjectionStore,
    scratch: &Path,
    statistics: Option<Arc<dyn Derivation>>,
) -> Result<Comparison, AppError> {
    let checkpoint = live.checkpoint()?;
    let rebuilt = ProjectionStore::open_with(scratch, statistics)?;
    if checkpoint > 0 {
        let mut events = log.follow(1).await?;
        let mut trust = crate::signing::Trust::default();
        // Batches as the feeder's, so that the rebuild is as fast as a live catch-up.
        let mut batch = rebuilt.batch();
        let mut in_batch = 0;
        while let Some(item) = events.next().await {
            // Exactly as the feeder applies it, up to the live checkpoint.
            let sequence = match &item {
                Ok(record) => record.sequence(),
                Err(LogError::Unreadable { sequence, .. }) => *sequence,
                Err(_) => 0,
            };
            if sequence > checkpoint {
                break;
            }
            crate::feeder::apply_record(&mut batch, &mut trust, item).map_err(|err| match err {
                crate::feeder::FeedError::Log(log) => AppError::from(log),
                crate::feeder::FeedError::Projection(projection) => AppError::from(projection),
            })?;
            in_batch += 1;
            if in_batch == 512 {
                std::mem::replace(&mut batch, rebuilt.batch()).commit()?;
                in_batch = 0;
            }
            if sequence == checkpoint {
                break;
            }
        }
        batch.commit()?;
    }
    let comparison = Comparison {
        checkpoint,
        live: live.digests()?,
        rebuilt: rebuilt.digests()?,
    };
    Ok(comparison)
}
