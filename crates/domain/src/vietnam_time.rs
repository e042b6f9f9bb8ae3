//! Vietnam time: UTC+07:00 all year (Asia/Ho_Chi_Minh keeps no daylight saving).
//!
//! Invariant: every instant the domain stores or emits is expressed at this offset, so
//! that JSON and logs read as the agencies read their calendars. The domain never reads
//! the wall clock; "now" is always passed in.

use time::format_description::well_known::Rfc3339;
use time::{macros::offset, Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub const VIETNAM_OFFSET: UtcOffset = offset!(+07:00);

/// The same instant, expressed in Vietnam time.
pub fn in_vietnam(instant: OffsetDateTime) -> OffsetDateTime {
    instant.to_offset(VIETNAM_OFFSET)
}

/// RFC 3339 in Vietnam time, to the second ("2024-03-25T00:00:00+07:00"): how instants
/// are written wherever people read them (API answers, reminders, the CLI). Deadlines are
/// whole seconds, and "now" need not be finer.
pub fn rfc3339(instant: OffsetDateTime) -> String {
    let seconds = instant.replace_nanosecond(0).unwrap_or(instant);
    // Formatting a valid OffsetDateTime as RFC 3339 fails only for years outside
    // 0..=9999, which `in_vietnam` of a parsed instant never produces.
    in_vietnam(seconds).format(&Rfc3339).unwrap_or_default()
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

    #[test]
    fn rfc3339_writes_vietnam_time_to_the_second() {
        assert_eq!(
            rfc3339(datetime!(2024-03-24 17:00:00.75 UTC)),
            "2024-03-25T00:00:00+07:00"
        );
    }
}
