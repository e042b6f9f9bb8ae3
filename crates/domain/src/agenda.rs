//! The deadline worker's agenda for one task: what is due now (reminders to send,
//! overdue marks to record) and the next instant at which something will be. Pure, so
//! that the worker's scheduling is tested without a clock or a server.
//!
//! # Rules
//!
//! - **Reminders.** For each obligation still open (`Pending` or `Extended`) and each
//!   configured offset, the reminder instant is `due - offset`. Once one or more of them
//!   have passed, the reminder of the *smallest* passed offset is due, unless recorded
//!   (`TaskState::reminders`, keyed by duty, agency, due and offset). Larger offsets that
//!   passed unsent (the worker was down) are skipped rather than sent late: a "7 days
//!   left" notice two days before the deadline would be wrong. An extension changes `due`
//!   and so starts a fresh series for the new deadline.
//! - **Overdue.** Every `Overdue` obligation not yet marked at its current `due`
//!   (`Obligation::is_marked_overdue`) is due for its mark.
//! - **Horizon.** Both functions look through the year after `now`, so that a reminder of
//!   next year's first deadline is found before the year turns.
//! - **Next instant.** The earliest instant strictly after `now` at which either rule
//!   will produce work: a reminder instant or a deadline of an open obligation, looking
//!   through the year after `now` (so that recurring tasks always have one).
//!
//! `due_commands` after its commands are applied returns nothing more for the same
//! `now`: the worker's loop converges.

use time::{Duration, OffsetDateTime};

use crate::command::TaskCommand;
use crate::error::InvalidInput;
use crate::obligation::{obligations_through, Obligation, ObligationContext};
use crate::task::TaskState;
use crate::vietnam_time::in_vietnam;

/// How long before a deadline reminders go out. Invariant: non-empty offsets are
/// positive, distinct and sorted from largest to smallest; an empty list sends none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderOffsets(Vec<Duration>);

impl ReminderOffsets {
    pub fn new(offsets: impl IntoIterator<Item = Duration>) -> Result<Self, InvalidInput> {
        let mut offsets: Vec<Duration> = offsets.into_iter().collect();
        if let Some(bad) = offsets.iter().find(|offset| !offset.is_positive()) {
            return Err(InvalidInput::new(
                "reminder_offsets",
                format!("{bad} is not a positive offset before a deadline"),
            ));
        }
        offsets.sort_by(|a, b| b.cmp(a));
        offsets.dedup();
        Ok(Self(offsets))
    }

    /// Parses "7d,3d,1d" (days `d` or hours `h`); "" or "none" sends no reminders.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let text = text.trim();
        if text.is_empty() || text == "none" {
            return Ok(Self(Vec::new()));
        }
        let offsets = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                let invalid = || {
                    InvalidInput::new(
                        "reminder_offsets",
                        format!(
                            "{part:?} must be a number of days or hours, e.g. \"7d\" or \"12h\""
                        ),
                    )
                };
                let mut chars = part.chars();
                let unit = chars.next_back().ok_or_else(invalid)?;
                let number: i64 = chars.as_str().parse().map_err(|_| invalid())?;
                if number <= 0 {
                    return Err(InvalidInput::new(
                        "reminder_offsets",
                        format!("{part:?} is not a positive offset before a deadline"),
                    ));
                }
                let seconds_per_unit: i64 = match unit {
                    'd' => 24 * 3600,
                    'h' => 3600,
                    _ => return Err(invalid()),
                };
                // A year is far beyond any sensible reminder; it also keeps the arithmetic
                // on instants (due - offset) from overflowing.
                number
                    .checked_mul(seconds_per_unit)
                    .filter(|seconds| *seconds <= 366 * 24 * 3600)
                    .map(Duration::seconds)
                    .ok_or_else(|| {
                        InvalidInput::new(
                            "reminder_offsets",
                            format!("{part:?} is longer than a year before the deadline"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(offsets)
    }

    /// Seven, three and one day before each deadline.
    pub fn standard() -> Self {
        Self(vec![
            Duration::days(7),
            Duration::days(3),
            Duration::days(1),
        ])
    }

    pub fn offsets(&self) -> &[Duration] {
        &self.0
    }
}

impl std::fmt::Display for ReminderOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|offset| {
                if offset.whole_hours() % 24 == 0 {
                    format!("{}d", offset.whole_days())
                } else {
                    format!("{}h", offset.whole_hours())
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// The commands due for `task` at `now`: overdue marks and reminders, in obligation order.
pub fn due_commands(
    task: &TaskState,
    context: &ObligationContext,
    reminders: &ReminderOffsets,
    now: OffsetDateTime,
) -> Vec<TaskCommand> {
    let mut commands = Vec::new();
    // Through next year, like `next_instant`: a long offset can make a reminder of next
    // year's first deadline due before the year turns.
    let next_year = in_vietnam(now).year() + 1;
    for obligation in obligations_through(task, context, now, next_year) {
        if let Some(mark) = obligation
            .overdue_command()
            .filter(|_| !obligation.is_marked_overdue(task))
        {
            commands.push(mark);
        } else if let Some(reminder) = reminder_due(task, &obligation, reminders, now) {
            commands.push(reminder);
        }
    }
    commands
}

/// The earliest instant after `now` at which `due_commands` will have work for `task`.
pub fn next_instant(
    task: &TaskState,
    context: &ObligationContext,
    reminders: &ReminderOffsets,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let next_year = in_vietnam(now).year() + 1;
    obligations_through(task, context, now, next_year)
        .iter()
        .filter(|obligation| obligation.status.is_open())
        .flat_map(|obligation| {
            let due = obligation.due;
            reminders
                .offsets()
                .iter()
                .map(move |offset| due - *offset)
                .chain(std::iter::once(due))
        })
        .filter(|instant| *instant > now)
        .min()
}

fn reminder_due(
    task: &TaskState,
    obligation: &Obligation,
    reminders: &ReminderOffsets,
    now: OffsetDateTime,
) -> Option<TaskCommand> {
    if !obligation.status.is_open() {
        return None;
    }
    // Offsets run largest first, so the last one that has passed is the smallest.
    let offset = reminders
        .offsets()
        .iter()
        .rev()
        .find(|offset| obligation.due - **offset <= now)?;
    let seconds_before_due = offset.whole_seconds();
    let key = obligation.agency.match_key();
    let already_sent = task.reminders.iter().any(|mark| {
        mark.duty == obligation.duty
            && mark.due == obligation.due
            && mark.seconds_before_due == seconds_before_due
            && mark.agency.match_key() == key
    });
    (!already_sent).then(|| TaskCommand::RecordReminder {
        duty: obligation.duty.clone(),
        agency: obligation.agency.clone(),
        due: obligation.due,
        seconds_before_due,
    })
}

#[cfg(test)]
#[path = "agenda_tests.rs"]
mod tests;
