//! Reporting deadlines as exact instants, and the working-day calendar they depend on.
//!
//! Owns: turning a `ReportingPolicy` and a period into `Deadline::due`, the instant from
//! which a report is late; the working-day rule; reading the holiday calendar's JSON
//! (`deploy/holidays/vn.json`, whose text the caller passes in: this crate reads no file).
//!
//! Invariants:
//! - A day ends at 24:00, i.e. at 00:00 of the next day in Vietnam (+07:00) (Civil Code
//!   2015, art. 148(6)). Every `nominal` and `due` is such a midnight, in +07:00.
//! - A report is on time iff it was submitted strictly before `due` (`is_on_time`).
//! - `due >= nominal`, and `due == nominal` unless `rolled`.
//! - `deadlines_for_year` lists each (period, kind) at most once, sorted by `due`.
//!
//! The day the working-day rule applies to is the *last day on time*, the day art. 148
//! calls "ngày cuối cùng của thời hạn", not the day the plan names. Read literally,
//! "trước ngày 25" makes the 24th the last day on time; only if the 24th is a weekend day
//! or holiday does the limit move, to the end of the next working day. Example, Q1 2023
//! of "trước ngày 25": 25 March is a Saturday but Friday 24 March is a working day, so
//! the report is due by the end of the 24th (`due` = 2023-03-25T00:00+07:00, not rolled).
//! With `named_day_is_on_time` the 25th itself is the last day; it is a Saturday, so the
//! limit moves to the end of Monday 27 March (`due` = 2023-03-28T00:00+07:00, rolled).
//! Saturdays and Sundays are non-working except the Saturdays the government declared
//! make-up working days ("làm bù"); public holidays come from the `HolidayCalendar`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use time::{macros::format_description, Date, Month, OffsetDateTime, Weekday};

use crate::error::InvalidInput;
use crate::period::ReportingPeriod;
use crate::policy::ReportingPolicy;
use crate::vietnam_time::start_of_day;

/// Which periodic report a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeadlineKind {
    Quarterly,
    Yearly,
}

/// When a period's report is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub period: ReportingPeriod,
    pub kind: DeadlineKind,
    /// The date the plan names: for "trước ngày 25" in Q1 2023, 2023-03-25.
    pub named_day: Date,
    /// The last day a report is on time, after the working-day rule.
    pub last_day_on_time: Date,
    /// The instant from which a report is late, before the working-day rule.
    pub nominal: OffsetDateTime,
    /// The instant from which a report is late: the end of `last_day_on_time`, i.e. 00:00
    /// of the following day, +07:00.
    pub due: OffsetDateTime,
    /// Whether the working-day rule moved the deadline (`due > nominal`).
    pub rolled: bool,
}

/// Whether a report submitted at `submitted_at` meets `deadline`: strictly before `due`.
/// A report at exactly `due` (00:00 of the day after the last day on time) is late.
pub fn is_on_time(deadline: &Deadline, submitted_at: OffsetDateTime) -> bool {
    submitted_at < deadline.due
}

/// The deadline of `period` under `policy`, or `None` when the policy asks for no such
/// report: no quarterly (or yearly) reports, Q4 when the yearly report stands in for it,
/// or a `Quarter` outside 1..=4.
///
/// With the working-day rule on, a year `holidays` does not know (`knows_year`) is
/// computed with weekends only; callers should check `knows_year` and warn.
pub fn deadline_for(
    policy: &ReportingPolicy,
    period: ReportingPeriod,
    holidays: &HolidayCalendar,
) -> Option<Deadline> {
    let (kind, named_day) = match period {
        ReportingPeriod::Quarter { year, quarter } => {
            let day = policy.quarterly_day()?;
            if !(1..=4).contains(&quarter) || (quarter == 4 && policy.yearly_satisfies_q4()) {
                return None;
            }
            let last_month = Month::try_from(quarter * 3).ok()?;
            let named_day = Date::from_calendar_date(year, last_month, day).ok()?;
            (DeadlineKind::Quarterly, named_day)
        }
        ReportingPeriod::Year(year) => {
            let (month, day) = policy.yearly()?;
            let named_day = Date::from_calendar_date(year, month, day).ok()?;
            (DeadlineKind::Yearly, named_day)
        }
    };
    let nominal_last_day = if policy.named_day_is_on_time() {
        named_day
    } else {
        named_day.previous_day()?
    };
    let last_day_on_time = if policy.working_day_rule() {
        holidays.first_working_day_from(nominal_last_day)?
    } else {
        nominal_last_day
    };
    Some(Deadline {
        period,
        kind,
        named_day,
        last_day_on_time,
        nominal: end_of_day(nominal_last_day)?,
        due: end_of_day(last_day_on_time)?,
        rolled: last_day_on_time != nominal_last_day,
    })
}

/// Every deadline `policy` sets for reports about `year` (Q1-Q4 and the year), sorted by
/// `due` (then quarterly before yearly, then by period), each at most once. A deadline
/// can fall in the next year only if the policy names a day at the very end of December.
pub fn deadlines_for_year(
    policy: &ReportingPolicy,
    year: i32,
    holidays: &HolidayCalendar,
) -> Vec<Deadline> {
    let periods = (1..=4)
        .map(|quarter| ReportingPeriod::Quarter { year, quarter })
        .chain([ReportingPeriod::Year(year)]);
    let mut deadlines: Vec<Deadline> = periods
        .filter_map(|period| deadline_for(policy, period, holidays))
        .collect();
    deadlines.sort_by_key(|deadline| (deadline.due, deadline.kind, deadline.period));
    deadlines
}

/// The end of `date` in Vietnam: 00:00 of the next day.
fn end_of_day(date: Date) -> Option<OffsetDateTime> {
    Some(start_of_day(date.next_day()?))
}

/// Public holidays and declared days off in Vietnam, and the weekend days declared
/// working days, for the years the data covers.
///
/// For a year it does not know (`knows_year` is false) only Saturdays and Sundays are
/// non-working: callers should warn, because a holiday on a deadline's last day would
/// then go unnoticed. `default()` knows no year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeSet<i32>,
    /// Weekdays (and statutory holidays on weekends) with no work, and what they are.
    days_off: BTreeMap<Date, String>,
    /// Saturdays and Sundays worked to make up a bridge day ("làm bù").
    make_up_days: BTreeMap<Date, String>,
}

/// The JSON shape of `deploy/holidays/vn.json`; see the README beside it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    format: u32,
    #[serde(default)]
    #[allow(dead_code)] // reason: human-facing notes, read only by people
    about: Vec<String>,
    years: Vec<i32>,
    /// Kept as raw values so that an error can name the entry it is in.
    days: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEntry {
    date: String,
    kind: String,
    name: String,
}

/// What a listed day is. Only `MakeUp` is a working day.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DayKind {
    /// A statutory holiday (Labour Code 2019, art. 112), on whatever day it falls.
    Holiday,
    /// A weekday off because a holiday fell on a weekend ("nghỉ bù").
    Substitute,
    /// A weekday off in exchange for a make-up day ("hoán đổi ngày làm việc").
    Bridge,
    /// A Saturday or Sunday worked in exchange for a bridge day ("làm bù").
    MakeUp,
}

const FORMAT_VERSION: u32 = 1;

impl HolidayCalendar {
    /// Reads the calendar's JSON. Errors name the entry (`holidays.days[3]`) and what is
    /// wrong with it; the whole file is refused, never partly loaded.
    pub fn from_json(json: &str) -> Result<Self, InvalidInput> {
        let file: CalendarFile = serde_json::from_str(json)
            .map_err(|error| InvalidInput::new("holidays", error.to_string()))?;
        if file.format != FORMAT_VERSION {
            return Err(InvalidInput::new(
                "holidays.format",
                format!(
                    "{} is not a known format (expected {FORMAT_VERSION})",
                    file.format
                ),
            ));
        }
        let mut years = BTreeSet::new();
        for (index, &year) in file.years.iter().enumerate() {
            let field = || format!("holidays.years[{index}]");
            // The range `ReportingPeriod` accepts; anything else is a typo.
            if !(2000..=2100).contains(&year) {
                return Err(InvalidInput::new(
                    field(),
                    format!("{year} is not 2000..=2100"),
                ));
            }
            if !years.insert(year) {
                return Err(InvalidInput::new(
                    field(),
                    format!("{year} is listed twice"),
                ));
            }
        }
        let mut calendar = Self {
            years,
            ..Self::default()
        };
        // Where each date was first listed, to name both entries of a duplicate.
        let mut seen: BTreeMap<Date, usize> = BTreeMap::new();
        for (index, raw) in file.days.into_iter().enumerate() {
            let field = format!("holidays.days[{index}]");
            let entry: DayEntry = serde_json::from_value(raw)
                .map_err(|error| InvalidInput::new(&field, error.to_string()))?;
            let invalid =
                |message: String| InvalidInput::new(&field, format!("{:?}: {message}", entry.date));
            let date = Date::parse(&entry.date, format_description!("[year]-[month]-[day]"))
                .map_err(|error| invalid(format!("not a YYYY-MM-DD calendar date ({error})")))?;
            if entry.name.trim().is_empty() {
                return Err(invalid("needs a name saying what the day is".into()));
            }
            if !calendar.years.contains(&date.year()) {
                return Err(invalid(format!(
                    "year {} is not in \"years\"; list a year there once all its days are entered",
                    date.year()
                )));
            }
            if let Some(first) = seen.insert(date, index) {
                return Err(invalid(format!("already listed at days[{first}]")));
            }
            let kind = match entry.kind.as_str() {
                "holiday" => DayKind::Holiday,
                "substitute" => DayKind::Substitute,
                "bridge" => DayKind::Bridge,
                "make_up" => DayKind::MakeUp,
                other => {
                    return Err(invalid(format!(
                        "kind {other:?} is not one of \"holiday\", \"substitute\", \"bridge\", \"make_up\""
                    )))
                }
            };
            // A substitute or bridge day on a weekend, or a make-up day on a weekday, changes
            // nothing: it is a mistyped date, and refusing it catches the typo.
            match (kind, is_weekend(date)) {
                (DayKind::Substitute | DayKind::Bridge, true) => {
                    return Err(invalid(format!(
                        "a {} day falls on a weekday, not a {}",
                        entry.kind,
                        date.weekday()
                    )))
                }
                (DayKind::MakeUp, false) => {
                    return Err(invalid(format!(
                        "a make-up working day falls on a Saturday or Sunday, not a {}",
                        date.weekday()
                    )))
                }
                _ => {}
            }
            let days = if kind == DayKind::MakeUp {
                &mut calendar.make_up_days
            } else {
                &mut calendar.days_off
            };
            days.insert(date, entry.name);
        }
        Ok(calendar)
    }

    /// Whether government offices work on `date`: a weekday that is no holiday or day
    /// off, or a declared make-up Saturday/Sunday. For a year the calendar does not know,
    /// just "not a Saturday or Sunday".
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.make_up_days.contains_key(&date) {
            return true;
        }
        !is_weekend(date) && !self.days_off.contains_key(&date)
    }

    /// Whether the data covers `year` completely. When it does not, `is_working_day`
    /// knows only weekends: warn, and update `deploy/holidays/vn.json`.
    pub fn knows_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years the data covers, ascending.
    pub fn known_years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    /// What the calendar says about `date`, if it lists it: the holiday's name, or why a
    /// weekend day is worked.
    pub fn note_for(&self, date: Date) -> Option<&str> {
        self.days_off
            .get(&date)
            .or_else(|| self.make_up_days.get(&date))
            .map(String::as_str)
    }

    /// `date` if it is a working day, else the next one. Terminates: only finitely many
    /// weekdays are listed as days off.
    fn first_working_day_from(&self, mut date: Date) -> Option<Date> {
        while !self.is_working_day(date) {
            date = date.next_day()?;
        }
        Some(date)
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
