//! The kit every record is built with, a floor below the workflows and
//! importing none of them: the transition runner ([`workflow`]), the
//! attachments of any record ([`attachments`], [`previews`]), the audit
//! trail ([`events`]), retried writes ([`idempotency`]) and the deadline
//! engine with the company calendar ([`deadlines`]). A record kind declares
//! itself on it (`workflow!`, `transitions!`, `creations!`, its attachment
//! policy); the kit runs the declaration.

/// An optimistic write of row `(id, version)` of `table`: the given columns,
/// the next version and `updated_at`, written only while the version is
/// still the one read (`409 concurrent_change` otherwise).
macro_rules! update_version {
    ($conn:expr, $table:ident, ($id:expr, $version:expr), $now:expr, ($($set:expr,)*)) => {
        $crate::kit::one_written(
            diesel::update(
                $table::table
                    .filter($table::id.eq($id))
                    .filter($table::version.eq($version)),
            )
            .set(($($set,)* $table::version.eq($version + 1), $table::updated_at.eq($now)))
            .execute($conn)?,
        )?
    };
}

pub mod attachments;
pub mod deadlines;
pub mod events;
pub mod idempotency;
pub mod outbox;
pub mod previews;
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

/// Text a person typed, without its outer white space; blank is none.
pub fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
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
pub fn check_version(expected: Option<IfMatch>, current: i32) -> crate::error::AppResult<()> {
    match expected {
        Some(m) if !m.matches(current) => Err(crate::error::AppError::PreconditionFailed {
            expected: m.to_string(),
            current,
        }),
        _ => Ok(()),
    }
}

/// An `If-Match` precondition: the versions (ETags) the client last read.
/// A list (`"7", "1"`) holds when any of them is current; an entry that
/// names no version of ours holds for none. It is checked where the service
/// checks versions, after scope and role (RFC 9110 §13.2.2: a request that
/// would fail anyway is not answered 412).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch {
    /// The first versions of the list; more than eight are not looked at.
    versions: [i32; 8],
    len: usize,
}

impl IfMatch {
    /// One version.
    pub fn version(v: i32) -> IfMatch {
        IfMatch {
            versions: [v; 8],
            len: 1,
        }
    }

    /// The header's value; `None` for `*` (any current version will do).
    pub fn parse(header: &str) -> Option<IfMatch> {
        let header = header.trim();
        if header == "*" {
            return None;
        }
        let mut m = IfMatch {
            versions: [0; 8],
            len: 0,
        };
        let parsed = header.split(',').filter_map(|tag| {
            let tag = tag.trim();
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag.trim_matches('"').parse::<i32>().ok()
        });
        for v in parsed.take(8) {
            m.versions[m.len] = v;
            m.len += 1;
        }
        Some(m)
    }

    pub fn matches(&self, current: i32) -> bool {
        self.versions[..self.len].contains(&current)
    }
}

impl std::fmt::Display for IfMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tags: Vec<String> = self.versions[..self.len]
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect();
        if tags.is_empty() {
            f.write_str("no version")
        } else {
            f.write_str(&tags.join(", "))
        }
    }
}

/// The optimistic write lost a race: someone changed the row in between.
pub fn concurrent_change() -> crate::error::AppError {
    crate::error::AppError::conflict(
        "concurrent_change",
        "the record was changed by someone else at the same time; read it again and retry",
    )
}

/// An optimistic write's row count: none means another change came first
/// (`409 concurrent_change`).
pub fn one_written(written: usize) -> crate::error::AppResult<()> {
    if written == 0 {
        return Err(concurrent_change());
    }
    Ok(())
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
