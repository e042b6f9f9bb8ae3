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
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "period",
                format!(
                    "{raw:?} must be a year (\"2023\") or a quarter (\"2023-Q1\" .. \"2023-Q4\")"
                ),
            )
        };
        let raw_trimmed = raw.trim();
        let (year_text, quarter_text) = match raw_trimmed.split_once(['-', ' ']) {
            Some((year_text, quarter_text)) => (year_text, Some(quarter_text)),
            None => (raw_trimmed, None),
        };
        let year: i32 = year_text.parse().map_err(|_| invalid())?;
        if !(2000..=2100).contains(&year) {
            return Err(invalid());
        }
        match quarter_text {
            None => Ok(Self::Year(year)),
            Some(quarter_text) => {
                let digits = quarter_text.strip_prefix(['Q', 'q']).ok_or_else(invalid)?;
                let quarter: u8 = digits.parse().map_err(|_| invalid())?;
                if !(1..=4).contains(&quarter) {
                    return Err(invalid());
                }
                Ok(Self::Quarter { year, quarter })
            }
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
            ReportingPeriod::parse("2024-q3").unwrap(),
            ReportingPeriod::Quarter {
                year: 2024,
                quarter: 3
            }
        );
        for bad in ["", "23", "2023-Q5", "2023-Q0", "2023-X1", "1999", "Q1"] {
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
