//! Where "now" comes from. The domain never reads a clock; the application asks a
//! `Clock`, so tests and one-off runs (`--as-of`) can fix it.

use std::sync::Mutex;

use dondoc_domain::in_vietnam;
use time::OffsetDateTime;

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, in Vietnam time.
    fn now(&self) -> OffsetDateTime;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        in_vietnam(OffsetDateTime::now_utc())
    }
}

/// A clock that says what it was last told.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(instant: OffsetDateTime) -> Self {
        Self(Mutex::new(in_vietnam(instant)))
    }

    pub fn set(&self, instant: OffsetDateTime) {
        // A poisoned lock only means another test thread panicked; the value is still good.
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = in_vietnam(instant);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A clock that runs in real time from a chosen instant: `dondoc up --pretend-now`, for
/// drills and cross-process tests that need deadlines to pass on cue.
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock {
    offset: time::Duration,
}

impl ShiftedClock {
    /// A clock that reads `start` now and advances with the system clock.
    pub fn starting_at(start: OffsetDateTime) -> Self {
        Self {
            offset: start - OffsetDateTime::now_utc(),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        in_vietnam(OffsetDateTime::now_utc() + self.offset)
    }
}
