//! The company calendar's marked days (holidays, worked weekend days), set
//! by an admin: each change plans the working-day deadlines it touches again.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::calendar_days;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::kit::events;
use crate::models::deadline::{CalendarDay, CalendarDayKind};
use crate::models::event::EventType;

use super::calendar::get;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "holiday", "name": "国庆节 National Day"}))]
pub struct CalendarDayInput {
    pub kind: CalendarDayKind,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// Marks a day (admin). Open working-day deadlines whose span covers the
/// day are planned again (`deadline.rescheduled`); hour-based ones stay.
pub fn put(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    day: NaiveDate,
    input: &CalendarDayInput,
) -> AppResult<CalendarDay> {
    actor.require_admin()?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    // a mark that changes nothing is a mistake (a holiday notice's weekend
    // days are not worked anyway): say so rather than store it
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    match (input.kind, weekend) {
        (CalendarDayKind::Holiday, true) => {
            return Err(AppError::invalid(
                "kind",
                format!(
                    "{day} is a {:?}, not worked anyway: `holiday` marks a weekday off",
                    day.weekday()
                ),
            ))
        }
        (CalendarDayKind::Workday, false) => {
            return Err(AppError::invalid(
                "kind",
                format!(
                    "{day} is a {:?}, worked anyway: `workday` marks a weekend day worked",
                    day.weekday()
                ),
            ))
        }
        _ => {}
    }
    write_tx(conn, |conn| {
        let before = get(conn, day)?;
        match &before {
            Some(b) => {
                diesel::update(calendar_days::table.find(day))
                    .set((
                        calendar_days::kind.eq(input.kind.as_str()),
                        calendar_days::name.eq(name),
                        calendar_days::version.eq(b.version + 1),
                        calendar_days::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(calendar_days::table)
                    .values((
                        calendar_days::day.eq(day),
                        calendar_days::kind.eq(input.kind.as_str()),
                        calendar_days::name.eq(name),
                        calendar_days::version.eq(1),
                        calendar_days::created_at.eq(now),
                        calendar_days::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        let after = get(conn, day)?.ok_or_else(|| AppError::internal("calendar day vanished"))?;
        super::replan_for_day(conn, config, now, day)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::CalendarDaySet,
            ("calendar_day", i64::from(day.num_days_from_ce())),
            before
                .as_ref()
                .map(|b| serde_json::to_value(b).unwrap_or_default()),
            Some(serde_json::to_value(&after).unwrap_or_default()),
        )?;
        Ok(after)
    })
}

/// Removes a mark: the day is a plain weekday or weekend day again, and
/// the working-day deadlines it touched are planned again.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    day: NaiveDate,
) -> AppResult<()> {
    actor.require_admin()?;
    write_tx(conn, |conn| {
        let before =
            get(conn, day)?.ok_or_else(|| AppError::NotFound(format!("{day} is not marked")))?;
        diesel::delete(calendar_days::table.find(day)).execute(conn)?;
        super::replan_for_day(conn, config, now, day)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::CalendarDayRemoved,
            ("calendar_day", i64::from(day.num_days_from_ce())),
            Some(serde_json::to_value(&before).unwrap_or_default()),
            None,
        )
    })
}
