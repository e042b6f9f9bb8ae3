//! What agency systems ask of tasks, one named entry point each: reports and
//! coordination (`reports.rs`), extensions, report requests and their answers
//! (`deadlines.rs`).
//!
//! Each entry point resolves agency names through the directory (tasks store canonical
//! names), looks up the facts its command needs (who owes a duty now), puts them into
//! the command and runs it through the command loop (`write`), where `decide` is the one
//! place that refuses. The worker's commands (overdue marks, reminders) are not here:
//! only the deadline worker issues them.

mod deadlines;
mod reports;

pub use deadlines::{request_key_for, DeadlineExtension, ReportRequestInput};

use std::sync::Arc;

use crate::tracker::Shared;

/// The commands of agency systems. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Commands {
    shared: Arc<Shared>,
}

impl Commands {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}
