//! The scorecard's arithmetic: how many obligations stand in each status, per agency and
//! period, and the on-time rate. Shared by the live scorecard (states from the
//! projection, `queries`) and the auditors' (states rebuilt from the log as they stood
//! at an instant, `audit`), so both count the same way.
//!
//! # Semantics
//!
//! - **Scorecard period.** A periodic obligation's own; a request's is the quarter (in
//!   Vietnam time) holding its original due. A period filter selects exactly that
//!   period ("2024" is the yearly report only), a year filter every period of that year.
//! - **On-time rate** `on_time / (on_time + late + overdue)`: of the reports that fell
//!   due or came, the share that came on time; none when that is 0.
//! - **Agency.** An agency is its id (`agencies.rs`): "Sở Thông tin và Truyền thông" of
//!   Quảng Trị and of Quảng Ngãi are two rows. With an agency asked for, obligations
//!   are kept when it owes them or, for a group, when a member owes them through it
//!   (`Agencies::owes`).

use std::collections::BTreeMap;

use dondoc_domain::{
    in_vietnam, AgencyId, AgencyName, Duty, Obligation, ObligationStatus, PlanId, ReportingPeriod,
    TaskState,
};
use time::OffsetDateTime;

use crate::agencies::{AgencyRef, AgencyTarget};
use crate::rules::ObligationRules;

/// How many obligations stand in each status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: usize,
    pub extended: usize,
    pub overdue: usize,
    pub reported_on_time: usize,
    pub reported_late: usize,
}

impl StatusCounts {
    pub fn count(&mut self, status: &ObligationStatus) {
        match status {
            ObligationStatus::Pending => self.pending += 1,
            ObligationStatus::Extended => self.extended += 1,
            ObligationStatus::Overdue => self.overdue += 1,
            ObligationStatus::ReportedOnTime { .. } => self.reported_on_time += 1,
            ObligationStatus::ReportedLate { .. } => self.reported_late += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pending + self.extended + self.overdue + self.reported_on_time + self.reported_late
    }

    /// `on_time / (on_time + late + overdue)`: of the reports that fell due or came,
    /// the share that came on time. `None` when there are none yet (still open
    /// obligations neither help nor hurt).
    pub fn on_time_rate(&self) -> Option<f64> {
        let settled = self.reported_on_time + self.reported_late + self.overdue;
        (settled > 0).then(|| self.reported_on_time as f64 / settled as f64)
    }

    pub(crate) fn add(&mut self, other: &Self) {
        self.pending += other.pending;
        self.extended += other.extended;
        self.overdue += other.overdue;
        self.reported_on_time += other.reported_on_time;
        self.reported_late += other.reported_late;
    }
}

/// Which scorecard periods to count. Both filters combine with AND; none: all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodFilter {
    /// Exactly this period ("2024" is the yearly report only).
    pub period: Option<ReportingPeriod>,
    /// Every period of this year.
    pub year: Option<i32>,
}

impl PeriodFilter {
    pub fn admits(&self, period: &ReportingPeriod) -> bool {
        self.period.is_none_or(|wanted| wanted == *period)
            && self.year.is_none_or(|year| year == period.year())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScorecardQuery {
    pub agency: Option<AgencyTarget>,
    pub plan_id: Option<PlanId>,
    pub periods: PeriodFilter,
    /// `None`: now.
    pub as_of: Option<OffsetDateTime>,
}

/// One agency's counts in one period (`period: None`: over every selected period).
#[derive(Clone, Debug, PartialEq)]
pub struct ScorecardRow {
    pub agency: AgencyName,
    pub agency_id: AgencyId,
    pub period: Option<ReportingPeriod>,
    pub counts: StatusCounts,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scorecard {
    pub as_of: OffsetDateTime,
    /// By agency (name case-insensitively, then id), then period in time order (a year's quarters,
    /// then its yearly report).
    pub rows: Vec<ScorecardRow>,
    /// One per agency, in the same order.
    pub totals: Vec<ScorecardRow>,
}

/// The period an obligation counts under in a scorecard: a periodic report's own; for
/// a request, the quarter (in Vietnam time) that holds its original due.
pub fn scorecard_period(obligation: &Obligation) -> ReportingPeriod {
    match &obligation.duty {
        Duty::Periodic { period } => *period,
        Duty::Requested { .. } => {
            let local = in_vietnam(obligation.original_due);
            ReportingPeriod::Quarter {
                year: local.year(),
                quarter: (u8::from(local.month()) - 1) / 3 + 1,
            }
        }
    }
}

/// Time order of periods: a year's quarters, then its yearly report.
pub(crate) fn period_order(period: &ReportingPeriod) -> (i32, u8) {
    match *period {
        ReportingPeriod::Quarter { year, quarter } => (year, quarter),
        ReportingPeriod::Year(year) => (year, 5),
    }
}

/// Counts `obligations` (each with the agency that owes it) per agency and scorecard
/// period, keeping those `filter` admits (`Tally`). Pure: the scorecard's arithmetic,
/// apart from reading tasks.
pub fn tally<'a>(
    obligations: impl IntoIterator<Item = (AgencyRef, &'a Obligation)>,
    filter: &PeriodFilter,
) -> (Vec<ScorecardRow>, Vec<ScorecardRow>) {
    let mut tally = Tally::default();
    for (agency, obligation) in obligations {
        let period = scorecard_period(obligation);
        if filter.admits(&period) {
            let mut counts = StatusCounts::default();
            counts.count(&obligation.status);
            tally.add(agency, period, &counts);
        }
    }
    tally.rows()
}

/// Counts per agency and period, added in any order and any grouping (one obligation
/// at a time, or a stored counter at once). Agencies are told apart by id and shown
/// under the least of their spellings (so capitals beat lower case), ordered by that
/// name case-insensitively, then id: the rows do not depend on the order the counts
/// come in, and a scorecard rebuilt from the log in another order is the same.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    names: BTreeMap<AgencyId, AgencyName>,
    cells: BTreeMap<(AgencyId, (i32, u8)), (ReportingPeriod, StatusCounts)>,
}

impl Tally {
    pub fn add(&mut self, agency: AgencyRef, period: ReportingPeriod, counts: &StatusCounts) {
        self.names
            .entry(agency.id.clone())
            .and_modify(|shown| {
                if agency.name < *shown {
                    *shown = agency.name.clone();
                }
            })
            .or_insert_with(|| agency.name.clone());
        self.cells
            .entry((agency.id, period_order(&period)))
            .or_insert_with(|| (period, StatusCounts::default()))
            .1
            .add(counts);
    }

    /// (one row per agency and period, one total per agency).
    pub fn rows(self) -> (Vec<ScorecardRow>, Vec<ScorecardRow>) {
        let names = self.names;
        let order = |id: &AgencyId| (names[id].match_key(), id.clone());
        let mut cells: Vec<_> = self.cells.into_iter().collect();
        cells.sort_by_cached_key(|((id, period), _)| (order(id), *period));
        let mut rows = Vec::with_capacity(cells.len());
        let mut totals: Vec<ScorecardRow> = Vec::with_capacity(names.len());
        for ((id, _), (period, counts)) in cells {
            let agency = names[&id].clone();
            match totals.last_mut() {
                Some(total) if total.agency_id == id => total.counts.add(&counts),
                _ => totals.push(ScorecardRow {
                    agency: agency.clone(),
                    agency_id: id.clone(),
                    period: None,
                    counts,
                }),
            }
            rows.push(ScorecardRow {
                agency,
                agency_id: id,
                period: Some(period),
                counts,
            });
        }
        (rows, totals)
    }
}

/// The scorecard of `tasks` (each with its plan) as of `as_of`: each task's obligations
/// then, those `agency` owes when given, tallied per agency and period.
pub(crate) fn scorecard_of<'a>(
    rules: &ObligationRules,
    tasks: impl IntoIterator<Item = (&'a PlanId, &'a TaskState)>,
    agency: Option<&AgencyTarget>,
    periods: &PeriodFilter,
    as_of: OffsetDateTime,
) -> Scorecard {
    let agencies = &rules.agencies;
    let mut owed = Vec::new();
    for (plan, task) in tasks {
        for obligation in rules.obligations(task, as_of) {
            if agency.is_none_or(|agency| agencies.owes(agency, task, plan, &obligation)) {
                owed.push((
                    agencies.identify(task, plan, &obligation.agency),
                    obligation,
                ));
            }
        }
    }
    let (rows, totals) = tally(
        owed.iter()
            .map(|(agency, obligation)| (agency.clone(), obligation)),
        periods,
    );
    Scorecard {
        as_of,
        rows,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use dondoc_domain::{
        deadline_for, HolidayCalendar, ObligationSource, ReportingPolicy, RequestKey, RequestKind,
    };
    use time::macros::datetime;

    use super::*;

    fn agency(name: &str) -> AgencyName {
        AgencyName::parse(name).unwrap()
    }

    /// Each obligation with an id made from its agency's name (one id per name, as
    /// within one province).
    fn owed(obligations: &[Obligation]) -> Vec<(AgencyRef, &Obligation)> {
        obligations
            .iter()
            .map(|obligation| (by_name(&obligation.agency), obligation))
            .collect()
    }

    fn by_name(name: &AgencyName) -> AgencyRef {
        let hash = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.match_key().as_bytes());
        AgencyRef {
            id: AgencyId::parse(&format!("t-{}", hash.simple())).unwrap(),
            name: name.clone(),
        }
    }

    fn periodic(who: &str, period: &str, status: ObligationStatus) -> Obligation {
        let period = ReportingPeriod::parse(period).unwrap();
        let policy = ReportingPolicy::preset("default").unwrap();
        let deadline = deadline_for(&policy, period, &HolidayCalendar::default())
            .expect("the default policy has every period");
        Obligation {
            agency: agency(who),
            via_group: None,
            duty: Duty::Periodic { period },
            source: ObligationSource::Periodic(deadline),
            original_due: deadline.due,
            due: deadline.due,
            extension: None,
            status,
        }
    }

    fn requested(who: &str, original_due: OffsetDateTime, status: ObligationStatus) -> Obligation {
        Obligation {
            agency: agency(who),
            via_group: None,
            duty: Duty::Requested {
                request_key: RequestKey::parse("dot-xuat-1").unwrap(),
            },
            source: ObligationSource::Requested {
                kind: RequestKind::AdHoc,
                requested_by: agency("UBND tỉnh"),
                subject: "Báo cáo đột xuất".to_owned(),
            },
            original_due,
            due: original_due,
            extension: None,
            status,
        }
    }

    const ON_TIME: ObligationStatus = ObligationStatus::ReportedOnTime {
        at: datetime!(2024-03-01 09:00 +7),
    };
    const LATE: ObligationStatus = ObligationStatus::ReportedLate {
        at: datetime!(2024-04-01 09:00 +7),
    };

    #[test]
    fn the_least_spelling_is_shown_whatever_the_order() {
        let obligations = [
            periodic("sở y tế", "2024-Q1", ObligationStatus::Pending),
            periodic("Sở Y tế", "2024-Q1", ObligationStatus::Pending),
        ];
        let shown = |obligations: &[Obligation]| {
            tally(owed(obligations), &PeriodFilter::default()).0[0]
                .agency
                .to_string()
        };
        assert_eq!(shown(&obligations), "Sở Y tế");
        let reversed = [obligations[1].clone(), obligations[0].clone()];
        assert_eq!(shown(&reversed), "Sở Y tế");
    }

    #[test]
    fn one_name_in_two_provinces_is_two_rows() {
        let obligations = [
            periodic("Sở Thông tin và Truyền thông", "2024-Q1", ON_TIME),
            periodic(
                "Sở Thông tin và Truyền thông",
                "2024-Q1",
                ObligationStatus::Overdue,
            ),
        ];
        let name = agency("Sở Thông tin và Truyền thông");
        let as_id = |id: &str| AgencyRef {
            id: AgencyId::parse(id).unwrap(),
            name: name.clone(),
        };
        let (rows, totals) = tally(
            [
                (as_id("quang-tri-so-tttt"), &obligations[0]),
                (as_id("quang-ngai-so-tttt"), &obligations[1]),
            ],
            &PeriodFilter::default(),
        );
        let ids: Vec<&str> = totals.iter().map(|row| row.agency_id.as_str()).collect();
        assert_eq!(ids, ["quang-ngai-so-tttt", "quang-tri-so-tttt"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(totals[0].counts.overdue, 1);
        assert_eq!(totals[1].counts.reported_on_time, 1);
    }

    #[test]
    fn the_on_time_rate_counts_settled_obligations_only() {
        let mut counts = StatusCounts::default();
        assert_eq!(counts.on_time_rate(), None, "nothing at all");
        counts.count(&ObligationStatus::Pending);
        counts.count(&ObligationStatus::Extended);
        assert_eq!(counts.on_time_rate(), None, "open obligations only");
        counts.count(&ON_TIME);
        assert_eq!(counts.on_time_rate(), Some(1.0));
        counts.count(&LATE);
        counts.count(&ObligationStatus::Overdue);
        counts.count(&ON_TIME);
        assert_eq!(counts.on_time_rate(), Some(0.5));
        assert_eq!(counts.total(), 6);
        assert_eq!(
            counts,
            StatusCounts {
                pending: 1,
                extended: 1,
                overdue: 1,
                reported_on_time: 2,
                reported_late: 1,
            }
        );
    }

    #[test]
    fn tally_counts_per_agency_and_period_in_time_order() {
        let obligations = vec![
            periodic("Sở Y tế", "2024", ObligationStatus::Pending),
            periodic("Sở Thông tin và Truyền thông", "2024-Q1", ON_TIME),
            periodic(
                "Sở Thông tin và Truyền thông",
                "2023",
                ObligationStatus::Overdue,
            ),
            periodic("sở thông tin và truyền thông", "2024-Q1", LATE),
            periodic(
                "Sở Thông tin và Truyền thông",
                "2023-Q4",
                ObligationStatus::Overdue,
            ),
            periodic("Sở Y tế", "2024-Q1", ObligationStatus::Overdue),
        ];
        let (rows, totals) = tally(owed(&obligations), &PeriodFilter::default());
        let shown: Vec<(String, String, StatusCounts)> = rows
            .iter()
            .map(|row| {
                (
                    row.agency.to_string(),
                    row.period.unwrap().to_string(),
                    row.counts,
                )
            })
            .collect();
        let counts = |overdue, on_time, late, pending| StatusCounts {
            pending,
            extended: 0,
            overdue,
            reported_on_time: on_time,
            reported_late: late,
        };
        assert_eq!(
            shown,
            vec![
                // Grouped case-insensitively under the least spelling; Q4 before the year.
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2023-Q4".into(),
                    counts(1, 0, 0, 0)
                ),
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2023".into(),
                    counts(1, 0, 0, 0)
                ),
                (
                    "Sở Thông tin và Truyền thông".into(),
                    "2024-Q1".into(),
                    counts(0, 1, 1, 0)
                ),
                ("Sở Y tế".into(), "2024-Q1".into(), counts(1, 0, 0, 0)),
                ("Sở Y tế".into(), "2024".into(), counts(0, 0, 0, 1)),
            ]
        );
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].agency.as_str(), "Sở Thông tin và Truyền thông");
        assert_eq!(totals[0].period, None);
        assert_eq!(totals[0].counts, counts(2, 1, 1, 0));
        assert_eq!(totals[0].counts.on_time_rate(), Some(0.25));
        assert_eq!(totals[1].counts, counts(1, 0, 0, 1));
        assert_eq!(totals[1].counts.on_time_rate(), Some(0.0));
    }

    #[test]
    fn period_and_year_filters_select_scorecard_periods() {
        let obligations = vec![
            periodic("Sở Y tế", "2023-Q4", ObligationStatus::Overdue),
            periodic("Sở Y tế", "2024", ObligationStatus::Pending),
            periodic("Sở Y tế", "2024-Q1", ON_TIME),
            periodic("Sở Y tế", "2024-Q2", ObligationStatus::Pending),
            // A request counts under the quarter holding its original due, even when
            // extended into the next one.
            Obligation {
                due: datetime!(2024-04-10 00:00 +7),
                ..requested(
                    "Sở Y tế",
                    datetime!(2024-03-28 00:00 +7),
                    ObligationStatus::Extended,
                )
            },
        ];
        let periods = |filter: PeriodFilter| -> Vec<String> {
            tally(owed(&obligations), &filter)
                .0
                .iter()
                .map(|row| row.period.unwrap().to_string())
                .collect()
        };
        assert_eq!(
            periods(PeriodFilter::default()),
            ["2023-Q4", "2024-Q1", "2024-Q2", "2024"]
        );
        let exactly = |text| PeriodFilter {
            period: Some(ReportingPeriod::parse(text).unwrap()),
            year: None,
        };
        assert_eq!(periods(exactly("2024")), ["2024"], "the yearly report only");
        let q1 = tally(owed(&obligations), &exactly("2024-Q1")).0;
        assert_eq!(q1.len(), 1);
        assert_eq!(q1[0].counts.reported_on_time, 1);
        assert_eq!(q1[0].counts.extended, 1, "the request, by its original due");
        let year = PeriodFilter {
            period: None,
            year: Some(2024),
        };
        assert_eq!(periods(year), ["2024-Q1", "2024-Q2", "2024"]);
        let none = PeriodFilter {
            period: Some(ReportingPeriod::parse("2023-Q4").unwrap()),
            year: Some(2024),
        };
        assert!(periods(none).is_empty(), "filters combine with AND");
    }

    #[test]
    fn a_requests_scorecard_period_is_the_quarter_of_its_original_due_in_vietnam() {
        // 17:00 UTC on 31 March is 00:00 on 1 April in Vietnam: the second quarter.
        let obligation = requested(
            "Sở Y tế",
            datetime!(2024-03-31 17:00 UTC),
            ObligationStatus::Pending,
        );
        assert_eq!(
            scorecard_period(&obligation),
            ReportingPeriod::parse("2024-Q2").unwrap()
        );
        let obligation = requested(
            "Sở Y tế",
            datetime!(2024-12-31 23:59 +7),
            ObligationStatus::Pending,
        );
        assert_eq!(scorecard_period(&obligation).to_string(), "2024-Q4");
    }
}
