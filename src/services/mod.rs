//! Business rules. One file per workflow; every command runs in one
//! transaction that writes the new state and its event together.
//! Services know nothing of HTTP.

pub mod auth;
pub mod calendar;
pub mod customers;
pub mod deadlines;
pub mod events;
pub mod idempotency;
pub mod ledger;
pub mod org_units;
pub mod projects;
pub mod users;
pub mod warranty;
pub mod workflow;

use serde::{Deserialize, Deserializer};

/// One page of a list: at most `limit` rows with ids above `after_id`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub after_id: Option<i64>,
}

/// A page of rows and the id to continue after, when there are more.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Paged<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says
    /// that another page exists.
    pub fn from_rows(mut rows: Vec<T>, page: Page, id: impl Fn(&T) -> i64) -> Paged<T> {
        let limit = usize::try_from(page.limit).unwrap_or(0);
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(id)
        } else {
            None
        };
        Paged {
            items: rows,
            next_after,
        }
    }
}

/// For PATCH bodies: tells "absent" (`None`) from "set to null" (`Some(None)`).
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Checks an `If-Match` version against the current one (412 on mismatch).
pub fn check_version(expected: Option<i32>, current: i32) -> crate::error::AppResult<()> {
    match expected {
        Some(v) if v != current => Err(crate::error::AppError::PreconditionFailed {
            expected: v.to_string(),
            current,
        }),
        _ => Ok(()),
    }
}

/// The optimistic write lost a race: someone changed the row in between.
pub fn concurrent_change() -> crate::error::AppError {
    crate::error::AppError::conflict(
        "concurrent_change",
        "the record was changed by someone else at the same time; read it again and retry",
    )
}

/// Text to match with `LIKE`, with its wildcards escaped (escape char `\`).
pub fn like_contains(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Calendar dates a person can mean: years 1 to 9999. Beyond them the date
/// parser still reads (`+200000-01-01`), but PostgreSQL cannot store or
/// compare them, so they are refused at the edge with the field named.
pub fn plausible_date(day: &chrono::NaiveDate) -> Result<(), validator::ValidationError> {
    use chrono::Datelike;
    if (1..=9999).contains(&day.year()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("date_range")
            .with_message("must be a date from 0001-01-01 to 9999-12-31".into()))
    }
}
