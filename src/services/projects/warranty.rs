//! Warranty terms: the statutory minimums (Construction Quality Regulation
//! Art. 40; seeds 001, 002, 003 §3.1) and the date arithmetic of a term.

use chrono::{Days, Months, NaiveDate};

use crate::models::project::{WarrantyCategory, WarrantyTerm};
use crate::season::Season;

/// How long a term runs: years, or heating/cooling periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Years(i32),
    Periods(i32),
}

impl Length {
    pub fn value(self) -> i32 {
        match self {
            Length::Years(n) | Length::Periods(n) => n,
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Length::Years(_) => "years",
            Length::Periods(_) => "heating/cooling periods",
        }
    }
}

/// The statutory minimum of a category; `None` for `other` (as contracted).
pub fn statutory_minimum(
    category: WarrantyCategory,
    design_service_life_years: i32,
) -> Option<Length> {
    use WarrantyCategory::*;
    match category {
        FoundationStructure => Some(Length::Years(design_service_life_years)),
        Waterproofing => Some(Length::Years(5)),
        HeatingCooling => Some(Length::Periods(2)),
        ElectricalPlumbing | EquipmentInstallation | Decoration => Some(Length::Years(2)),
        Other => None,
    }
}

/// The warranty starts the day after completion acceptance.
pub fn starts_on(completion_accepted_on: NaiveDate) -> NaiveDate {
    completion_accepted_on + Days::new(1)
}

/// Whether one component category is under warranty on a day.
#[derive(Debug, Clone)]
pub struct TermStatus {
    pub term: WarrantyTerm,
    pub under_warranty: bool,
}

/// The answer to "is this under warranty on that day?".
#[derive(Debug, Clone)]
pub struct Status {
    pub terms: Vec<TermStatus>,
    /// The last day of the longest term in force; `None`: not under warranty.
    pub under_warranty_until: Option<NaiveDate>,
}

/// Which of a project's terms are in force on `on` (all, or one category's),
/// and until when the project is covered.
pub fn status(
    terms: Vec<WarrantyTerm>,
    on: NaiveDate,
    category: Option<WarrantyCategory>,
) -> Status {
    let terms: Vec<TermStatus> = terms
        .into_iter()
        .filter(|t| category.is_none_or(|c| t.category == c.as_str()))
        .map(|term| TermStatus {
            under_warranty: term.starts_on <= on && on <= term.ends_on,
            term,
        })
        .collect();
    let under_warranty_until = terms
        .iter()
        .filter(|t| t.under_warranty)
        .map(|t| t.term.ends_on)
        .max();
    Status {
        terms,
        under_warranty_until,
    }
}

/// The last day (inclusive) of a term that starts on `starts_on`. A term of
/// periods covers both systems: it ends with the later of the n-th whole
/// heating season and the n-th whole cooling season after the start.
pub fn ends_on(
    starts_on: NaiveDate,
    length: Length,
    heating: Season,
    cooling: Season,
) -> Option<NaiveDate> {
    match length {
        Length::Years(n) => starts_on
            .checked_add_months(Months::new(12 * u32::try_from(n).ok()?))?
            .checked_sub_days(Days::new(1)),
        Length::Periods(n) => {
            let h = heating.end_of_nth_from(starts_on, n)?;
            let c = cooling.end_of_nth_from(starts_on, n)?;
            Some(h.max(c))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{DEFAULT_COOLING, DEFAULT_HEATING};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn warranty_starts_the_day_after_completion_acceptance() {
        assert_eq!(starts_on(d(2026, 2, 28)), d(2026, 3, 1));
    }

    #[test]
    fn a_term_of_years_ends_the_day_before_the_anniversary() {
        let end = ends_on(
            d(2026, 3, 2),
            Length::Years(2),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2028, 3, 1)));
        // from 29 February: the anniversary falls back to 28 February
        let end = ends_on(
            d(2028, 2, 29),
            Length::Years(1),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2029, 2, 27)));
    }

    #[test]
    fn heating_cooling_counts_whole_seasons_after_the_start() {
        // start 2 March 2026: heating 2026/27 and 2027/28 → 15 March 2028;
        // cooling summers 2026 and 2027 → 31 August 2027; the later wins
        let end = ends_on(
            d(2026, 3, 2),
            Length::Periods(2),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2028, 3, 15)));
        // start 1 December 2026, inside a heating season that therefore does not count:
        // heating 2027/28, 2028/29 → 15 March 2029; cooling 2027, 2028 → 31 August 2028
        let end = ends_on(
            d(2026, 12, 1),
            Length::Periods(2),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2029, 3, 15)));
        // start 1 October: the second cooling season ends after the second heating season
        let end = ends_on(
            d(2026, 10, 1),
            Length::Periods(2),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2028, 8, 31)));
        // a season starting on the very first day counts
        let end = ends_on(
            d(2026, 10, 15),
            Length::Periods(1),
            DEFAULT_HEATING,
            DEFAULT_COOLING,
        );
        assert_eq!(end, Some(d(2027, 8, 31)));
    }

    #[test]
    fn statutory_minimums_match_the_regulation() {
        use WarrantyCategory::*;
        assert_eq!(
            statutory_minimum(FoundationStructure, 50),
            Some(Length::Years(50))
        );
        assert_eq!(statutory_minimum(Waterproofing, 50), Some(Length::Years(5)));
        assert_eq!(
            statutory_minimum(HeatingCooling, 50),
            Some(Length::Periods(2))
        );
        assert_eq!(
            statutory_minimum(ElectricalPlumbing, 50),
            Some(Length::Years(2))
        );
        assert_eq!(
            statutory_minimum(EquipmentInstallation, 50),
            Some(Length::Years(2))
        );
        assert_eq!(statutory_minimum(Decoration, 50), Some(Length::Years(2)));
        assert_eq!(statutory_minimum(Other, 50), None);
    }
}
