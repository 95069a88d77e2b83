//! What management reads: figures over a period and a part of the
//! organisation, counted by the database (grouped queries on indexes, never
//! rows loaded and counted here), each with its numerator and denominator.

pub mod annual;
pub mod deadlines;
pub mod kpis;
pub mod repeats;
pub mod satisfaction;
pub mod sheet;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Actor, Scope};
use crate::db::schema::{org_units, projects};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::kit::deadlines::calendar;
use crate::models::org_unit::OrgUnitKind;

/// The days a report covers, both included, in the company's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// How the caller named the period: `from` and `to`, or `year` with at most
/// one of `quarter` and `month`; nothing is this calendar year.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeriodInput {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub year: Option<i32>,
    pub quarter: Option<u32>,
    pub month: Option<u32>,
}

impl Period {
    pub fn resolve(input: &PeriodInput, today: NaiveDate) -> AppResult<Period> {
        let PeriodInput {
            from,
            to,
            year,
            quarter,
            month,
        } = *input;
        if (from.is_some() || to.is_some())
            && (year.is_some() || quarter.is_some() || month.is_some())
        {
            let field = if year.is_some() {
                "year"
            } else if quarter.is_some() {
                "quarter"
            } else {
                "month"
            };
            return Err(AppError::invalid(
                field,
                "name the period by `from` and `to`, or by `year` (with `quarter` or `month`), not both",
            ));
        }
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                return Err(AppError::invalid("to", "the period ends before it begins"));
            }
            // a report covers at most ten years: its month rows stay few
            if from
                .checked_add_months(chrono::Months::new(120))
                .is_none_or(|limit| to >= limit)
            {
                return Err(AppError::invalid("to", "a period of at most 10 years"));
            }
            return Ok(Period { from, to });
        }
        if from.is_some() {
            return Err(AppError::invalid(
                "to",
                "the last day of the period, with `from`",
            ));
        }
        if to.is_some() {
            return Err(AppError::invalid(
                "from",
                "the first day of the period, with `to`",
            ));
        }
        if year.is_none() && (quarter.is_some() || month.is_some()) {
            return Err(AppError::invalid(
                "year",
                "the year of the quarter or month",
            ));
        }
        if quarter.is_some() && month.is_some() {
            return Err(AppError::invalid("month", "a quarter or a month, not both"));
        }
        let year = year.unwrap_or(today.year());
        let day = |y: i32, m: u32| {
            NaiveDate::from_ymd_opt(y, m, 1)
                .ok_or_else(|| AppError::invalid("year", "must be from 1 to 9998"))
        };
        let (first, months) = match (quarter, month) {
            (Some(q), _) => (3 * (q - 1) + 1, 3),
            (_, Some(m)) => (m, 1),
            _ => (1, 12),
        };
        let from = day(year, first)?;
        let next = if first + months > 12 {
            day(year + 1, 1)?
        } else {
            day(year, first + months)?
        };
        Ok(Period {
            from,
            to: next.pred_opt().unwrap_or(next),
        })
    }

    /// The instants `[start, end)` the period covers, as stored (UTC).
    pub fn bounds(&self, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
        let end = self.to.succ_opt().unwrap_or(self.to);
        (
            calendar::local_midnight(self.from, tz),
            calendar::local_midnight(end, tz),
        )
    }
}

/// The part of the organisation a report reads, as the caller narrowed it.
#[derive(Debug, Clone, Default)]
pub struct AreaInput {
    pub branch_id: Option<i64>,
    pub project_department_id: Option<i64>,
    pub project_id: Option<i64>,
}

/// Where a report reads: an org subtree (none: the whole company) and
/// perhaps one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// The ancestry path of the unit read, with its subtree.
    pub path: Option<String>,
    pub project_id: Option<i64>,
}

impl Area {
    /// The half-open range of scope paths inside the area, if narrowed.
    pub fn path_range(&self) -> Option<(String, String)> {
        self.path.as_deref().map(Scope::path_range)
    }
}

/// The area a caller may read, narrowed by the filters: staff of the
/// company read their own subtree (a branch its own; the group all), a
/// unit or project outside it is 404, customer accounts are 403.
pub fn area(conn: &mut DbConn, actor: &Actor, input: &AreaInput) -> AppResult<Area> {
    actor.require_staff_side()?;
    let own = match actor.scope() {
        Scope::All => None,
        Scope::OrgSubtree(path) => Some(path),
        Scope::Customer(_) | Scope::Nothing => {
            return Err(AppError::Forbidden(
                "reports are read by the company's staff".to_string(),
            ))
        }
    };
    let inside =
        |path: &str, within: &Option<String>| within.as_deref().is_none_or(|w| path.starts_with(w));
    let mut path = own.clone();
    for (field, id, kind) in [
        ("branch_id", input.branch_id, OrgUnitKind::Branch),
        (
            "project_department_id",
            input.project_department_id,
            OrgUnitKind::ProjectDepartment,
        ),
    ] {
        let Some(id) = id else { continue };
        let unit: Option<(String, String)> = org_units::table
            .find(id)
            .select((org_units::path, org_units::kind))
            .first(conn)
            .optional()?;
        let Some((unit_path, unit_kind)) = unit.filter(|(p, _)| inside(p, &own)) else {
            return Err(AppError::NotFound(format!("org unit {id} not found")));
        };
        if unit_kind != kind.as_str() {
            return Err(AppError::invalid(
                field,
                format!("org unit {id} is a {unit_kind}, not a {}", kind.as_str()),
            ));
        }
        if !inside(&unit_path, &path) {
            return Err(AppError::invalid(
                field,
                "lies outside the branch named in `branch_id`",
            ));
        }
        path = Some(unit_path);
    }
    if let Some(id) = input.project_id {
        let project: Option<String> = projects::table
            .find(id)
            .select(projects::scope_path)
            .first(conn)
            .optional()?;
        let Some(project_path) = project.filter(|p| inside(p, &own)) else {
            return Err(AppError::NotFound(format!("project {id} not found")));
        };
        if !inside(&project_path, &path) {
            return Err(AppError::invalid(
                "project_id",
                "lies outside the unit named in `branch_id` or `project_department_id`",
            ));
        }
        path = Some(project_path);
    }
    Ok(Area {
        path,
        project_id: input.project_id,
    })
}

/// A branch of the company, as reports name their rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BranchRef {
    pub id: i64,
    pub name: String,
}

/// The branches a report names, read once for all its rows.
pub struct Branches(std::collections::HashMap<i64, String>);

impl Branches {
    /// The branch of a row (none: the group's own).
    pub fn of(&self, id: Option<i64>) -> Option<BranchRef> {
        id.map(|id| BranchRef {
            id,
            name: self.0.get(&id).cloned().unwrap_or_default(),
        })
    }
}

/// A row's branch as a sheet cell: its name, or the group.
pub fn branch_cell(branch: &Option<BranchRef>) -> sheet::Cell {
    match branch {
        Some(b) => sheet::Cell::from(b.name.as_str()),
        None => sheet::Cell::from("集团 group"),
    }
}

/// The names of the branches among `ids`, one query.
pub fn branch_names(conn: &mut DbConn, ids: impl IntoIterator<Item = i64>) -> AppResult<Branches> {
    let ids: Vec<i64> = ids.into_iter().collect();
    Ok(Branches(
        org_units::table
            .filter(org_units::id.eq_any(ids))
            .select((org_units::id, org_units::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect(),
    ))
}

/// A timestamp as a SQL literal: reports write their fixed bounds into the
/// statement (values we made, never a caller's text), in the text form
/// diesel stores on SQLite (`%.f`: no fraction when whole), which compares
/// as the instant it names.
pub(crate) fn ts_literal(conn: &DbConn, at: NaiveDateTime) -> String {
    let text = at.format("%Y-%m-%d %H:%M:%S%.f");
    match conn {
        DbConn::Pg(_) => format!("TIMESTAMP '{text}'"),
        DbConn::Sqlite(_) => format!("'{text}'"),
    }
}

/// Whole seconds from `earlier` to `later`, both SQL timestamp expressions.
pub(crate) fn secs_between(conn: &DbConn, later: &str, earlier: &str) -> String {
    match conn {
        DbConn::Pg(_) => format!("CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS BIGINT)"),
        DbConn::Sqlite(_) => {
            format!("CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)")
        }
    }
}

/// The path of the branch a scope path lies in — its first two segments
/// (`/1/2/4/` → `/1/2/`) — as SQL, so that a record finds its branch by
/// an equal path on `org_units_path` (a group-level path names no branch).
pub(crate) fn branch_path(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Pg(_) => format!(
            "('/' || split_part({column}, '/', 2) || '/' || split_part({column}, '/', 3) || '/')"
        ),
        DbConn::Sqlite(_) => format!(
            "substr({column}, 1, instr(substr({column}, 2), '/') + 1 \
             + instr(substr({column}, instr(substr({column}, 2), '/') + 2), '/'))"
        ),
    }
}

/// A date as a SQL literal (see [`ts_literal`]).
pub(crate) fn date_literal(conn: &DbConn, day: NaiveDate) -> String {
    match conn {
        DbConn::Pg(_) => format!("DATE '{day}'"),
        DbConn::Sqlite(_) => format!("'{day}'"),
    }
}

/// The area as SQL conditions on a record's scope path and project columns
/// (` AND …`, or nothing for the whole company). Paths are digits and
/// slashes, ids integers: values we made, written into the statement.
pub(crate) fn area_sql(area: &Area, path_column: &str, project_column: &str) -> String {
    let mut sql = String::new();
    if let Some((lo, hi)) = area.path_range() {
        sql.push_str(&format!(
            " AND {path_column} >= '{lo}' AND {path_column} < '{hi}'"
        ));
    }
    if let Some(p) = area.project_id {
        sql.push_str(&format!(" AND {project_column} = {p}"));
    }
    sql
}

/// Runs a statement a report wrote, on the connection's own backend.
pub(crate) fn load<R>(conn: &mut DbConn, query: String) -> AppResult<Vec<R>>
where
    R: diesel::deserialize::QueryableByName<diesel::pg::Pg>
        + diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    Ok(match conn {
        DbConn::Pg(c) => diesel::sql_query(query).load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(query).load(c)?,
    })
}
