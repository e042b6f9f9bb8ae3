//! Reporting periods: a year ("2023") or a quarter ("2023-Q4").
//!
//! Invariant: a quarter is 1..=4 and a year is 2000..=2100; the textual form round-trips
//! through `parse`/`Display` and is what the event JSON stores.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

use crate::error::InvalidInput;
use crate::vietnam_time::start_of_day;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReportingPeriod {
    Year(i32),
    Quarter { year: i32, quarter: u8 },
}

impl ReportingPeriod {
    /// A period a caller gives, exactly as the event format writes it: `YYYY` or
    /// `YYYY-Qn` (n in 1..=4), years 2000..=2100. Nothing else is read as a period: not
    /// "2023-q1", "+2023", " 2023" or "2023-Q01".
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "period",
                format!(
                    "{} must be a year (\"2023\") or a quarter (\"2023-Q1\" .. \"2023-Q4\")",
                    crate::text::quoted(raw)
                ),
            )
        };
        let bytes = raw.as_bytes();
        let year_digits = bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_digit);
        if !year_digits {
            return Err(invalid());
        }
        let year: i32 = raw[..4].parse().map_err(|_| invalid())?;
        if !(2000..=2100).contains(&year) {
            return Err(invalid());
        }
        match &bytes[4..] {
            [] => Ok(Self::Year(year)),
            [b'-', b'Q', quarter @ b'1'..=b'4'] => Ok(Self::Quarter {
                year,
                quarter: quarter - b'0',
            }),
            _ => Err(invalid()),
        }
    }

    pub fn year(&self) -> i32 {
        match *self {
            Self::Year(year) | Self::Quarter { year, .. } => year,
        }
    }

    /// The first instant of the period, in Vietnam time.
    pub fn starts_at(&self) -> OffsetDateTime {
        let (year, month) = match *self {
            Self::Year(year) => (year, Month::January),
            Self::Quarter { year, quarter } => (
                year,
                Month::try_from(quarter * 3 - 2).unwrap_or(Month::January),
            ),
        };
        // Years are bounded to 2000..=2100 by `parse`, so the date always exists.
        let first_day = Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN);
        start_of_day(first_day)
    }
}

impl fmt::Display for ReportingPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Year(year) => write!(f, "{year}"),
            Self::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
        }
    }
}

impl TryFrom<String> for ReportingPeriod {
    type Error = InvalidInput;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ReportingPeriod> for String {
    fn from(period: ReportingPeriod) -> Self {
        period.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn parses_years_and_quarters() {
        assert_eq!(
            ReportingPeriod::parse("2023").unwrap(),
            ReportingPeriod::Year(2023)
        );
        assert_eq!(
            ReportingPeriod::parse("2024-Q3").unwrap(),
            ReportingPeriod::Quarter {
                year: 2024,
                quarter: 3
            }
        );
        for bad in [
            "",
            "23",
            "2023-Q5",
            "2023-Q0",
            "2023-X1",
            "1999",
            "Q1",
            "2023-q1",
            "2023-Q1 ",
            " 2023",
            "+2023",
            "2023-Q01",
            "2023 Q1",
            "2023-Q",
            "２０２３",
            "2023-Q1\0",
        ] {
            assert!(ReportingPeriod::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn quarter_starts_on_first_day_of_its_first_month_in_vietnam() {
        let q3 = ReportingPeriod::Quarter {
            year: 2024,
            quarter: 3,
        };
        assert_eq!(q3.starts_at(), datetime!(2024-07-01 00:00 +07:00));
    }

    proptest! {
        #[test]
        fn display_round_trips(year in 2000i32..=2100, quarter in proptest::option::of(1u8..=4)) {
            let period = match quarter {
                Some(quarter) => ReportingPeriod::Quarter { year, quarter },
                None => ReportingPeriod::Year(year),
            };
            prop_assert_eq!(ReportingPeriod::parse(&period.to_string()).unwrap(), period);
        }
    }
}
