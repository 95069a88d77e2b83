//! The company's heating (采暖期) and cooling (供冷期) seasons: one setting
//! that warranty terms of heating/cooling systems count in, and that the
//! visit plans' heating-season visit (a month before heating starts) will use.

use chrono::{Datelike, NaiveDate};

/// A yearly season from `start` to `end` (month, day), inclusive; it may run
/// over the new year (heating: 10-15 .. 03-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Season {
    pub start: (u32, u32),
    pub end: (u32, u32),
}

impl Season {
    /// "MM-DD..MM-DD"
    pub fn parse(text: &str) -> Option<Season> {
        let (a, b) = text.split_once("..")?;
        let md = |s: &str| -> Option<(u32, u32)> {
            let (m, d) = s.trim().split_once('-')?;
            let (m, d) = (m.parse().ok()?, d.parse().ok()?);
            // 2000 is a leap year: 02-29 is accepted
            NaiveDate::from_ymd_opt(2000, m, d).map(|_| (m, d))
        };
        Some(Season {
            start: md(a)?,
            end: md(b)?,
        })
    }

    /// The season that starts in `year`: its first and last day.
    fn in_year(self, year: i32) -> Option<(NaiveDate, NaiveDate)> {
        let start = date_clamped(year, self.start)?;
        let end_year = if self.end < self.start {
            year + 1
        } else {
            year
        };
        Some((start, date_clamped(end_year, self.end)?))
    }

    /// Last day of the `n`-th whole season that starts on or after `from`.
    pub fn end_of_nth_from(self, from: NaiveDate, n: i32) -> Option<NaiveDate> {
        let mut count = 0;
        for year in from.year()..from.year() + n + 2 {
            let (start, end) = self.in_year(year)?;
            if start >= from {
                count += 1;
                if count == n {
                    return Some(end);
                }
            }
        }
        None
    }
}

/// A month-day in a year; 02-29 falls back to 02-28 in common years.
fn date_clamped(year: i32, (month, day): (u32, u32)) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::DEFAULT_HEATING;

    #[test]
    fn seasons_parse_and_refuse_nonsense() {
        assert_eq!(Season::parse("10-15..03-15"), Some(DEFAULT_HEATING));
        assert_eq!(Season::parse("13-01..03-15"), None);
        assert_eq!(Season::parse("11-15"), None);
    }
}
