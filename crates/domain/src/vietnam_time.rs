//! Vietnam time: UTC+07:00 all year (Asia/Ho_Chi_Minh keeps no daylight saving).
//!
//! Invariant: every instant the domain stores or emits is expressed at this offset, so
//! that JSON and logs read as the agencies read their calendars. The domain never reads
//! the wall clock; "now" is always passed in.

use time::{macros::offset, Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub const VIETNAM_OFFSET: UtcOffset = offset!(+07:00);

/// The same instant, expressed in Vietnam time.
pub fn in_vietnam(instant: OffsetDateTime) -> OffsetDateTime {
    instant.to_offset(VIETNAM_OFFSET)
}

/// Midnight at the start of `date` in Vietnam.
pub fn start_of_day(date: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(VIETNAM_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn converts_utc_to_vietnam_without_changing_the_instant() {
        let utc = datetime!(2023-12-24 17:00 UTC);
        let local = in_vietnam(utc);
        assert_eq!(local, utc);
        assert_eq!(local.offset(), VIETNAM_OFFSET);
        assert_eq!(local.day(), 25);
        assert_eq!(local.hour(), 0);
    }
}
