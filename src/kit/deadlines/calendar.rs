//! The company calendar (holidays and make-up working days) and working-day
//! arithmetic in the company's time zone.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::db::schema::calendar_days;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::models::deadline::{CalendarDay, CalendarDayKind};

/// Marked days in a range, by date.
pub type Marks = HashMap<NaiveDate, CalendarDayKind>;

/// Whether a day is worked: marks first, else Monday to Friday.
pub fn is_working_day(day: NaiveDate, marks: &Marks) -> bool {
    match marks.get(&day) {
        Some(CalendarDayKind::Holiday) => false,
        Some(CalendarDayKind::Workday) => true,
        None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
    }
}

/// The first instant of a local day, in UTC.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    if let Some(t) = tz.from_local_datetime(&midnight).earliest() {
        return t.naive_utc();
    }
    // a midnight that does not exist (the clocks jump over it): the day
    // starts at the first instant after the gap, found by the minute (no
    // zone's gap lasts a day)
    (1..=24 * 60)
        .map(|m| midnight + chrono::Duration::minutes(m))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map_or(midnight, |t| t.naive_utc())
}

/// The local wall time of a UTC instant.
pub fn local_time(at: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    tz.from_utc_datetime(&at).naive_local()
}

/// The local date of a UTC instant.
pub fn local_day(at: NaiveDateTime, tz: Tz) -> NaiveDate {
    tz.from_utc_datetime(&at).date_naive()
}

/// Due time of `n` working days from `start`: the end of the n-th working
/// day after the start's own (local) day. Started on a Friday afternoon with
/// one working day, it is due at the end of Monday. A clock started at the
/// stroke of local midnight has that whole day ahead, so the day counts.
pub fn add_working_days(start: NaiveDateTime, n: u32, tz: Tz, marks: &Marks) -> NaiveDateTime {
    let local = tz.from_utc_datetime(&start);
    let mut day = local.date_naive();
    if local.time() == chrono::NaiveTime::MIN {
        day = day - Days::new(1);
    }
    let mut counted = 0;
    while counted < n {
        day = day + Days::new(1);
        if is_working_day(day, marks) {
            counted += 1;
        }
    }
    local_midnight(day + Days::new(1), tz)
}

/// Working time between two instants, in seconds: the part of `[from, to)`
/// that falls on working days (whole local days). A clock paused over a
/// weekend loses no working time, one paused on a Tuesday afternoon does.
pub fn working_secs_between(from: NaiveDateTime, to: NaiveDateTime, tz: Tz, marks: &Marks) -> i64 {
    let mut total = 0;
    let mut day = local_day(from, tz);
    while local_midnight(day, tz) < to {
        let next = local_midnight(day + Days::new(1), tz);
        if is_working_day(day, marks) {
            let start = from.max(local_midnight(day, tz));
            let end = to.min(next);
            if end > start {
                total += (end - start).num_seconds();
            }
        }
        day = day + Days::new(1);
    }
    total
}

/// `at` moved on by `secs` seconds of working time, skipping days off.
pub fn add_working_secs(at: NaiveDateTime, secs: i64, tz: Tz, marks: &Marks) -> NaiveDateTime {
    let mut left = secs;
    let mut t = at;
    let mut day = local_day(at, tz);
    while left > 0 {
        let next = local_midnight(day + Days::new(1), tz);
        if is_working_day(day, marks) {
            let room = (next - t).num_seconds();
            if left <= room {
                return t + chrono::Duration::seconds(left);
            }
            left -= room;
        }
        t = next;
        day = day + Days::new(1);
    }
    t
}

/// The marks needed to count `n` working days from `start`: generous, as a
/// holiday week and weekends stretch the span.
pub fn marks_for(conn: &mut DbConn, start: NaiveDate, n: u32) -> AppResult<Marks> {
    let end = start + Days::new(u64::from(n) * 3 + 60);
    let rows: Vec<(NaiveDate, String)> = calendar_days::table
        .filter(calendar_days::day.ge(start))
        .filter(calendar_days::day.le(end))
        .select((calendar_days::day, calendar_days::kind))
        .load(conn)?;
    rows.into_iter()
        .map(|(d, k)| Ok((d, CalendarDayKind::from_db(&k)?)))
        .collect()
}

pub fn list(conn: &mut DbConn, from: NaiveDate, to: NaiveDate) -> AppResult<Vec<CalendarDay>> {
    if to < from {
        return Err(AppError::invalid("to", "must not be before `from`"));
    }
    if (to - from).num_days() > 3 * 366 {
        return Err(AppError::invalid(
            "to",
            "ask for at most three years at a time",
        ));
    }
    Ok(calendar_days::table
        .filter(calendar_days::day.ge(from))
        .filter(calendar_days::day.le(to))
        .order(calendar_days::day.asc())
        .select(CalendarDay::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConn, day: NaiveDate) -> AppResult<Option<CalendarDay>> {
    Ok(calendar_days::table
        .find(day)
        .select(CalendarDay::as_select())
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn at(y: i32, m: u32, day: u32, h: u32) -> NaiveDateTime {
        d(y, m, day).and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn a_midnight_in_a_dst_gap_is_the_first_instant_after_the_gap() {
        // São Paulo sprang from 00:00 to 01:00 (UTC-3 to UTC-2) on 4 Nov 2018
        let tz = chrono_tz::America::Sao_Paulo;
        assert_eq!(local_midnight(d(2018, 11, 4), tz), at(2018, 11, 4, 3));
        // the day before has its midnight: 00:00 UTC-3
        assert_eq!(local_midnight(d(2018, 11, 3), tz), at(2018, 11, 3, 3));
        assert_eq!(local_midnight(d(2018, 11, 5), tz), at(2018, 11, 5, 2));
    }

    #[test]
    fn working_days_skip_the_weekend() {
        let tz = chrono_tz::Asia::Shanghai;
        // Friday 2026-03-06 15:00 Shanghai (07:00 UTC), one working day → end of Monday 9 March
        let due = add_working_days(at(2026, 3, 6, 7), 1, tz, &Marks::new());
        assert_eq!(due, at(2026, 3, 9, 16)); // 2026-03-10 00:00 Shanghai
    }

    #[test]
    fn working_days_skip_a_holiday_week_and_count_a_make_up_saturday() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut marks = Marks::new();
        for day in 1..=7 {
            marks.insert(d(2026, 10, day), CalendarDayKind::Holiday);
        }
        // a Saturday worked
        marks.insert(d(2026, 10, 10), CalendarDayKind::Workday);
        // Wednesday 30 September, 2 working days: 1 Oct–7 Oct off, Thu 8, Fri 9 → end of 9 October
        let due = add_working_days(at(2026, 9, 30, 2), 2, tz, &marks);
        assert_eq!(due, at(2026, 10, 9, 16));
        // 3 working days: the make-up Saturday 10 October counts
        let due = add_working_days(at(2026, 9, 30, 2), 3, tz, &marks);
        assert_eq!(due, at(2026, 10, 10, 16));
    }

    #[test]
    fn working_time_leaves_out_days_off() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut marks = Marks::new();
        marks.insert(d(2026, 3, 10), CalendarDayKind::Holiday);
        // Friday 6 March 12:00 → Monday 9 March 12:00 Shanghai: 12 h of Friday, 12 h of Monday
        let from = at(2026, 3, 6, 4);
        let to = at(2026, 3, 9, 4);
        assert_eq!(working_secs_between(from, to, tz, &marks), 24 * 3600);
        // and back: 24 working hours from Friday noon end on Monday noon
        assert_eq!(add_working_secs(from, 24 * 3600, tz, &marks), to);
        // a holiday Tuesday is skipped: Monday noon + 24 h → Wednesday noon
        assert_eq!(
            add_working_secs(to, 24 * 3600, tz, &marks),
            at(2026, 3, 11, 4)
        );
        // from the end of a Friday, 1 h more is Monday 01:00
        let friday_end = at(2026, 3, 6, 16);
        assert_eq!(
            add_working_secs(friday_end, 3600, tz, &marks),
            at(2026, 3, 8, 17)
        );
        assert_eq!(
            working_secs_between(friday_end, at(2026, 3, 8, 16), tz, &marks),
            0
        );
    }

    #[test]
    fn a_clock_started_at_local_midnight_counts_that_day() {
        let tz = chrono_tz::Asia::Shanghai;
        // 00:00 Shanghai on Tuesday 3 March (16:00 UTC on the 2nd): Tuesday is the first day
        let due = add_working_days(at(2026, 3, 2, 16), 1, tz, &Marks::new());
        assert_eq!(due, at(2026, 3, 3, 16));
        // one second later, Wednesday is
        let start = at(2026, 3, 2, 16) + chrono::Duration::seconds(1);
        assert_eq!(
            add_working_days(start, 1, tz, &Marks::new()),
            at(2026, 3, 4, 16)
        );
    }
}
