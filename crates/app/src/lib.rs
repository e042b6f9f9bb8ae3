//! The application layer: turns requests into commands, decides them against the task's
//! current state, appends the events, and feeds the projection.
//!
//! Owns: the command loop (load → decide → append with optimistic concurrency, retried
//! on conflict only when the client did not pin a version), request-id idempotency
//! beyond JetStream's duplicate window, plan import, read-your-writes waits, and the
//! projection feeder. It knows the event log and the projection through their crates'
//! types only; it knows nothing of gRPC.

mod clock;
mod error;
mod feeder;
mod import;
mod sweep;
mod tracker;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::AppError;
pub use feeder::{ProjectionFeeder, ProjectionProgress};
pub use import::{
    preview_import, ImportPlan, ImportPreview, ImportSummary, ImportWarning, PreviewTask,
};
pub use sweep::{DeadlineRules, PlanRules, SweepReport};
pub use tracker::{CommandMeta, CommandOutcome, Tracker};
