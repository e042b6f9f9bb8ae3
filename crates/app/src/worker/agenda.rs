//! The worker's agenda: each task's next instant, ordered by instant (the mini-redis
//! shape: an ordered set of (instant, key) beside a map from key to instant).
//!
//! Invariant: a task has at most one entry; `by_time` and `by_task` hold the same pairs.

use std::collections::{BTreeSet, HashMap};

use dondoc_domain::TaskId;
use time::OffsetDateTime;

/// Each task's next instant, ordered by instant.
#[derive(Debug, Default)]
pub(super) struct Agenda {
    by_time: BTreeSet<(OffsetDateTime, TaskId)>,
    by_task: HashMap<TaskId, OffsetDateTime>,
}

impl Agenda {
    pub(super) fn schedule(&mut self, task_id: TaskId, at: Option<OffsetDateTime>) {
        if let Some(previous) = self.by_task.remove(&task_id) {
            self.by_time.remove(&(previous, task_id));
        }
        if let Some(at) = at {
            self.by_task.insert(task_id, at);
            self.by_time.insert((at, task_id));
        }
    }

    /// Removes and returns every task due at or before `now`, earliest first.
    pub(super) fn take_due(&mut self, now: OffsetDateTime) -> Vec<TaskId> {
        let mut due = Vec::new();
        while let Some(&(at, task_id)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            self.by_task.remove(&task_id);
            due.push(task_id);
        }
        due
    }

    pub(super) fn next(&self) -> Option<OffsetDateTime> {
        self.by_time.first().map(|(at, _)| *at)
    }

    pub(super) fn len(&self) -> usize {
        self.by_task.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn task(n: u128) -> TaskId {
        TaskId::parse(&uuid::Uuid::from_u128(n).to_string()).unwrap()
    }

    #[test]
    fn the_agenda_hands_out_due_tasks_in_order_and_reschedules() {
        let mut agenda = Agenda::default();
        agenda.schedule(task(1), Some(datetime!(2024-03-25 00:00 +07:00)));
        agenda.schedule(task(2), Some(datetime!(2024-03-18 00:00 +07:00)));
        agenda.schedule(task(3), None);
        assert_eq!(agenda.len(), 2);
        assert_eq!(agenda.next(), Some(datetime!(2024-03-18 00:00 +07:00)));
        assert!(agenda
            .take_due(datetime!(2024-03-17 23:59 +07:00))
            .is_empty());
        // Rescheduling moves a task rather than adding a second entry.
        agenda.schedule(task(1), Some(datetime!(2024-03-10 00:00 +07:00)));
        assert_eq!(agenda.len(), 2);
        assert_eq!(
            agenda.take_due(datetime!(2024-03-20 00:00 +07:00)),
            vec![task(1), task(2)]
        );
        assert_eq!(agenda.len(), 0);
        assert_eq!(agenda.next(), None);
    }
}
