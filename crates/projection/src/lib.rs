//! The read model: task views in sled, fed event by event from the log, queried by the API.
//!
//! Architecture invariant: this is the only crate that knows sled. It holds projections
//! only: everything in it can be wiped and rebuilt from the event stream, and it never
//! decides anything (it applies events with the domain's `apply`).

mod batch;
mod postings;
mod query;
mod store;
mod view;

pub use batch::ProjectionBatch;
pub use postings::IndexEntry;
pub use query::{TaskPage, TaskQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use store::{
    ApplyOutcome, ChainHead, Derivation, Derived, ProjectionStore, Quarantined, TreeDigest,
};
pub use view::{Recorded, TaskView};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// sled failed. Handling: INTERNAL (UNAVAILABLE would invite a retry that cannot help).
    #[error("projection storage failed while {action}: {source}")]
    Storage {
        action: &'static str,
        source: sled::Error,
    },
    /// A stored view does not parse: the store must be rebuilt. Handling: INTERNAL.
    #[error("projection data is corrupt ({0}); rebuild the projection")]
    Corrupt(String),
    /// The log delivered an event out of order for its task. Handling: INTERNAL; the
    /// event is not applied and the checkpoint does not move.
    #[error("at stream sequence {sequence}: {gap}")]
    Gap {
        sequence: u64,
        gap: dondoc_domain::VersionGap,
    },
    /// A signed event whose `prev_hash` is not its task's last event's hash. Handling:
    /// the feeder quarantines it (never applied) and goes on.
    #[error("at stream sequence {sequence}: {reason}")]
    Unchained { sequence: u64, reason: String },
    /// A page token that this query did not issue. Handling: INVALID_ARGUMENT.
    #[error("page_token is not valid for this query")]
    InvalidPageToken,
}

#[cfg(test)]
mod tests;
