//! Vietnam time: UTC+07:00 all year (Asia/Ho_Chi_Minh keeps no daylight saving).
//!
//! Invariant: every instant the domain stores or emits is expressed at this offset, so
//! that JSON and logs read as the agencies read their calendars. The domain never reads
//! the wall clock; "now" is always passed in.

use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{macros::offset, Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::InvalidInput;

pub const VIETNAM_OFFSET: UtcOffset = offset!(+07:00);

/// The first instant a caller may name: 2000-01-01 00:00 in Vietnam.
pub const EARLIEST_INSTANT: OffsetDateTime = datetime!(2000-01-01 00:00 +07:00);
/// The last instant a caller may name: the end of 2100 in Vietnam (the years reporting
/// periods cover).
pub const LATEST_INSTANT: OffsetDateTime = datetime!(2100-12-31 23:59:59.999_999_999 +07:00);

/// A caller's instant, in Vietnam time, if it lies in `EARLIEST_INSTANT ..=
/// LATEST_INSTANT`. Outside, it is refused before any arithmetic: an instant near the
/// end of year 9999 cannot even be expressed at +07:00.
pub fn check_instant(field: &str, instant: OffsetDateTime) -> Result<OffsetDateTime, InvalidInput> {
    if instant < EARLIEST_INSTANT || instant > LATEST_INSTANT {
        return Err(InvalidInput::new(
            field,
            format!(
                "{} is outside the instants dondoc takes, {} to {}",
                instant
                    .format(&Rfc3339)
                    .unwrap_or_else(|_| "the instant".to_owned()),
                rfc3339(EARLIEST_INSTANT),
                rfc3339(LATEST_INSTANT)
            ),
        ));
    }
    Ok(in_vietnam(instant))
}

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
    fn instants_outside_2000_to_2100_are_refused_without_panicking() {
        let last = datetime!(9999-12-31 23:59:59 UTC);
        assert_eq!(check_instant("as_of", last).unwrap_err().field, "as_of");
        assert!(check_instant("as_of", datetime!(1999-12-31 16:59:59 UTC)).is_err());
        let first = check_instant("as_of", datetime!(1999-12-31 17:00 UTC)).unwrap();
        assert_eq!(first, EARLIEST_INSTANT);
        assert!(check_instant("as_of", datetime!(2100-12-31 16:59:59 UTC)).is_ok());
        assert!(check_instant("as_of", datetime!(2100-12-31 17:00 UTC)).is_err());
    }

    #[test]
    fn rfc3339_writes_vietnam_time_to_the_second() {
        assert_eq!(
            rfc3339(datetime!(2024-03-24 17:00:00.75 UTC)),
            "2024-03-25T00:00:00+07:00"
        );
    }
}
