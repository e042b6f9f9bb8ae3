//! A task's timeframe: the text the plan wrote ("Hằng năm", "2023 - 2024", …) and its
//! parsed schedule.
//!
//! Invariants: the original text is always kept; text that does not parse becomes
//! `Schedule::Unparsed` (never an error, never dropped); an empty cell means the plan's year.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::period::ReportingPeriod;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeframe {
    /// The cell as written in the appendix; `None` when the table has no timeframe column
    /// or the cell is empty.
    pub text: Option<String>,
    pub schedule: Schedule,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// No timeframe given: the plan's own year applies.
    PlanYear { year: i32 },
    /// A single year ("2023").
    Year { year: i32 },
    /// An inclusive range of years ("2023 - 2024", "2025-2030").
    Range { from: i32, to: i32 },
    /// "Hằng năm": every year, starting with the plan's year.
    Annual { from: i32 },
    /// "Thường xuyên": ongoing, starting with the plan's year.
    Ongoing { from: i32 },
    /// Text that could not be read as any of the above; the plan's year is assumed as the
    /// start and nothing is closed off.
    Unparsed { from: i32 },
}

impl Timeframe {
    /// Reads a timeframe cell. `plan_year` fills in what the text leaves open.
    pub fn parse(text: Option<&str>, plan_year: i32) -> Self {
        let trimmed = text.map(str::trim).filter(|cell| !cell.is_empty());
        let schedule = match trimmed {
            None => Schedule::PlanYear { year: plan_year },
            Some(cell) => parse_schedule(cell, plan_year),
        };
        Self {
            text: trimmed.map(str::to_owned),
            schedule,
        }
    }

    /// Whether a report for `period` belongs to this timeframe.
    pub fn covers(&self, period: &ReportingPeriod) -> bool {
        let year = period.year();
        match self.schedule {
            Schedule::PlanYear { year: only } | Schedule::Year { year: only } => year == only,
            Schedule::Range { from, to } => (from..=to).contains(&year),
            Schedule::Annual { from }
            | Schedule::Ongoing { from }
            | Schedule::Unparsed { from } => year >= from,
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.text, self.schedule) {
            (Some(text), _) => f.write_str(text),
            (None, Schedule::PlanYear { year }) => write!(f, "plan year {year}"),
            (None, schedule) => write!(f, "{schedule:?}"),
        }
    }
}

fn parse_schedule(cell: &str, plan_year: i32) -> Schedule {
    let folded = cell.to_lowercase();
    let folded = folded.trim_end_matches('.');
    if folded == "hằng năm" || folded == "hàng năm" {
        return Schedule::Annual { from: plan_year };
    }
    if folded == "thường xuyên" {
        return Schedule::Ongoing { from: plan_year };
    }
    let year = |text: &str| -> Option<i32> {
        let text = text.trim();
        (text.len() == 4 && text.chars().all(|c| c.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
            .filter(|year| (2000..=2100).contains(year))
    };
    if let Some(single) = year(folded) {
        return Schedule::Year { year: single };
    }
    if let Some((from_text, to_text)) = folded.split_once(['-', '–', '—']) {
        if let (Some(from), Some(to)) = (year(from_text), year(to_text)) {
            if from <= to {
                return Schedule::Range { from, to };
            }
        }
    }
    Schedule::Unparsed { from: plan_year }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_the_plans_use() {
        let cases = [
            (None, Schedule::PlanYear { year: 2023 }),
            (Some(""), Schedule::PlanYear { year: 2023 }),
            (Some("Hằng năm"), Schedule::Annual { from: 2023 }),
            (Some("Thường xuyên"), Schedule::Ongoing { from: 2023 }),
            (Some("2024"), Schedule::Year { year: 2024 }),
            (
                Some("2023 - 2024"),
                Schedule::Range {
                    from: 2023,
                    to: 2024,
                },
            ),
            (
                Some("2025-2030"),
                Schedule::Range {
                    from: 2025,
                    to: 2030,
                },
            ),
            (Some("Quý II/2023"), Schedule::Unparsed { from: 2023 }),
        ];
        for (text, expected) in cases {
            assert_eq!(Timeframe::parse(text, 2023).schedule, expected, "{text:?}");
        }
    }

    #[test]
    fn keeps_unparsed_text() {
        let timeframe = Timeframe::parse(Some(" Quý II/2023 "), 2023);
        assert_eq!(timeframe.text.as_deref(), Some("Quý II/2023"));
    }

    #[test]
    fn covers_periods_by_year() {
        let range = Timeframe::parse(Some("2023 - 2024"), 2023);
        assert!(range.covers(&ReportingPeriod::Quarter {
            year: 2024,
            quarter: 4
        }));
        assert!(!range.covers(&ReportingPeriod::Year(2025)));
        let plan_year = Timeframe::parse(None, 2023);
        assert!(plan_year.covers(&ReportingPeriod::Year(2023)));
        assert!(!plan_year.covers(&ReportingPeriod::Year(2024)));
        let annual = Timeframe::parse(Some("Hằng năm"), 2023);
        assert!(annual.covers(&ReportingPeriod::Year(2030)));
        assert!(!annual.covers(&ReportingPeriod::Year(2022)));
    }
}
