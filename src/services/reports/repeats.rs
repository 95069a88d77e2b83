//! The quarterly statistics of the return-visit regulation: visits that
//! failed (the owner could not be reached), complaints about the same
//! matter again, and the same repair three times or more — counted per
//! branch, and listed with their project and customer.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::QueryableByName;
use serde::Serialize;
use utoipa::ToSchema;

use super::sheet::{col, Cell, Column, Kind, Sheet};
use super::{area_sql, branch_cell, branch_names, load, ts_literal, Area, BranchRef, Period};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::kit::deadlines::calendar;

/// At most this many records are listed per kind; the counts are whole.
pub const LISTED: i64 = 500;

/// The counts of one branch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepeatCounts {
    pub branch: Option<BranchRef>,
    /// Visits made in the period whose owner could not be reached.
    pub failed_visits: i64,
    /// Of all visits made in the period.
    pub visits: i64,
    /// Complaints received in the period about the same matter as an
    /// earlier one (`is_repeat`).
    pub repeat_complaints: i64,
    /// Of all complaints received in the period.
    pub complaints: i64,
    /// Repairs reported in the period that are the third or later at the
    /// same project, category and place (`is_repeat`).
    pub repeat_repairs: i64,
    /// Of all repairs reported in the period.
    pub repairs: i64,
}

/// One record of a list, with where it belongs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepeatItem {
    pub id: i64,
    /// When: the visit made, the complaint received, the repair reported.
    pub at: DateTime<Utc>,
    pub branch: Option<BranchRef>,
    pub project_id: i64,
    pub project_name: String,
    pub customer_id: i64,
    pub customer_name: String,
    /// The complaint or repair it repeats (none for a visit).
    pub repeat_of: Option<i64>,
    /// Why the owner was not reached; what the complaint is about; the
    /// repair's category and place.
    pub detail: String,
}

/// The quarterly repeat statistics over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "period": {"from": "2026-07-01", "to": "2026-09-30"}, "generated_at": "2026-10-01T01:00:00Z",
    "counts": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "failed_visits": 3, "visits": 41,
        "repeat_complaints": 2, "complaints": 17, "repeat_repairs": 1, "repairs": 60}],
    "failed_visits": [{"id": 301, "at": "2026-08-12T06:00:00Z", "branch": {"id": 2, "name": "华东分公司 East China Branch"},
        "project_id": 31, "project_name": "滨江花园 Binjiang Garden", "customer_id": 7, "customer_name": "上海滨江置业有限公司",
        "repeat_of": null, "detail": "电话无人接听 no answer"}],
    "repeat_complaints": [], "repeat_repairs": []
}))]
pub struct RepeatReport {
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    /// Per branch.
    pub counts: Vec<RepeatCounts>,
    /// Newest first, at most 500.
    pub failed_visits: Vec<RepeatItem>,
    /// Newest first, at most 500.
    pub repeat_complaints: Vec<RepeatItem>,
    /// Newest first, at most 500.
    pub repeat_repairs: Vec<RepeatItem>,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    failed_visits: i64,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    repeat_complaints: i64,
    #[diesel(sql_type = BigInt)]
    complaints: i64,
    #[diesel(sql_type = BigInt)]
    repeat_repairs: i64,
    #[diesel(sql_type = BigInt)]
    repairs: i64,
}

#[derive(QueryableByName)]
struct ItemRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    project_name: String,
    #[diesel(sql_type = BigInt)]
    customer_id: i64,
    #[diesel(sql_type = Text)]
    customer_name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    repeat_of: Option<i64>,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// One kind of record: its table, the instant it is counted by, what marks
/// it and what the list says of it.
struct Source {
    table: &'static str,
    at: &'static str,
    marked: &'static str,
    repeat_of: &'static str,
    detail: &'static str,
}

const VISITS: Source = Source {
    table: "visits",
    at: "visited_at",
    marked: "r.outcome = 'contact_failed'",
    repeat_of: "CAST(NULL AS BIGINT)",
    detail: "COALESCE(r.contact_failed_reason, '')",
};

const COMPLAINTS: Source = Source {
    table: "complaints",
    at: "received_at",
    marked: "r.is_repeat",
    repeat_of: "r.repeat_of",
    detail: "r.description",
};

const REPAIRS: Source = Source {
    table: "repairs",
    at: "reported_at",
    marked: "r.is_repeat",
    repeat_of: "r.repeat_of",
    detail: "r.category || ' · ' || r.location",
};

fn within(
    conn: &DbConn,
    s: &Source,
    area: &Area,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> String {
    format!(
        "r.{at} >= {start} AND r.{at} < {end}{area}",
        at = s.at,
        start = ts_literal(conn, start),
        end = ts_literal(conn, end),
        area = area_sql(area, "r.scope_path", "r.project_id"),
    )
}

fn listed(
    conn: &mut DbConn,
    s: &Source,
    area: &Area,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Vec<ItemRow>> {
    let within = within(conn, s, area, start, end);
    load(
        conn,
        format!(
            "SELECT r.id, r.{at} AS at, r.branch_id, r.project_id, p.name AS project_name, \
               r.customer_id, cu.name AS customer_name, {repeat_of} AS repeat_of, {detail} AS detail \
             FROM {table} r JOIN projects p ON p.id = r.project_id \
             JOIN customers cu ON cu.id = r.customer_id \
             WHERE {within} AND {marked} \
             ORDER BY r.{at} DESC, r.id DESC LIMIT {LISTED}",
            at = s.at,
            repeat_of = s.repeat_of,
            detail = s.detail,
            table = s.table,
            marked = s.marked,
        ),
    )
}

pub fn report(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<RepeatReport> {
    let (start, end) = period.bounds(tz);
    // one row per record counted, summed per branch: each kind fills its
    // pair of columns (marked, all) and reads its table on the index of
    // its instant
    let part = |conn: &DbConn, s: &Source, slot: usize| {
        let columns: Vec<String> = [("a", "b"), ("c", "d"), ("e", "f")]
            .iter()
            .enumerate()
            .map(|(k, (marked, all))| {
                if k == slot {
                    format!(
                        "CASE WHEN {} THEN 1 ELSE 0 END AS {marked}, 1 AS {all}",
                        s.marked
                    )
                } else {
                    format!("0 AS {marked}, 0 AS {all}")
                }
            })
            .collect();
        format!(
            "SELECT r.branch_id AS branch_id, {} FROM {} r WHERE {}",
            columns.join(", "),
            s.table,
            within(conn, s, area, start, end)
        )
    };
    let counts: Vec<CountRow> = load(
        conn,
        format!(
            "SELECT branch_id, CAST(SUM(a) AS BIGINT) AS failed_visits, CAST(SUM(b) AS BIGINT) AS visits, \
               CAST(SUM(c) AS BIGINT) AS repeat_complaints, CAST(SUM(d) AS BIGINT) AS complaints, \
               CAST(SUM(e) AS BIGINT) AS repeat_repairs, CAST(SUM(f) AS BIGINT) AS repairs \
             FROM ({} UNION ALL {} UNION ALL {}) x \
             GROUP BY branch_id ORDER BY branch_id",
            part(conn, &VISITS, 0),
            part(conn, &COMPLAINTS, 1),
            part(conn, &REPAIRS, 2),
        ),
    )?;
    let visits = listed(conn, &VISITS, area, start, end)?;
    let complaints = listed(conn, &COMPLAINTS, area, start, end)?;
    let repairs = listed(conn, &REPAIRS, area, start, end)?;
    let names = branch_names(
        conn,
        counts
            .iter()
            .map(|r| r.branch_id)
            .chain(
                visits
                    .iter()
                    .chain(&complaints)
                    .chain(&repairs)
                    .map(|r| r.branch_id),
            )
            .flatten(),
    )?;
    let branch = |id: Option<i64>| names.of(id);
    let items = |rows: Vec<ItemRow>| -> Vec<RepeatItem> {
        rows.into_iter()
            .map(|r| RepeatItem {
                id: r.id,
                at: Utc.from_utc_datetime(&r.at),
                branch: branch(r.branch_id),
                project_id: r.project_id,
                project_name: r.project_name,
                customer_id: r.customer_id,
                customer_name: r.customer_name,
                repeat_of: r.repeat_of,
                detail: r.detail,
            })
            .collect()
    };
    Ok(RepeatReport {
        period,
        generated_at: Utc.from_utc_datetime(&now),
        counts: counts
            .iter()
            .map(|r| RepeatCounts {
                branch: branch(r.branch_id),
                failed_visits: r.failed_visits,
                visits: r.visits,
                repeat_complaints: r.repeat_complaints,
                complaints: r.complaints,
                repeat_repairs: r.repeat_repairs,
                repairs: r.repairs,
            })
            .collect(),
        failed_visits: items(visits),
        repeat_complaints: items(complaints),
        repeat_repairs: items(repairs),
    })
}

const COUNTS: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("failed_visits", "failed_visits.2", Kind::Integer),
    col("visits", "visits", Kind::Integer),
    col("repeat_complaints", "repeat_complaints.2", Kind::Integer),
    col("complaints", "complaints.2", Kind::Integer),
    col("repeat_repairs", "repeat_repairs.2", Kind::Integer),
    col("repairs", "repairs.2", Kind::Integer),
];

const ITEMS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("at", "at.2", Kind::DateTime),
    col("branch", "branch", Kind::Text),
    col("project_id", "project_id", Kind::Integer),
    col("project_name", "project_name", Kind::Text),
    col("customer_id", "customer_id", Kind::Integer),
    col("customer_name", "customer_name", Kind::Text),
    col("repeat_of", "repeat_of.3", Kind::Integer),
    col("detail", "detail", Kind::Text),
];

impl RepeatReport {
    /// The sections: `counts`, `failed_visits`, `repeat_complaints`,
    /// `repeat_repairs`.
    pub fn sheets(&self, tz: Tz) -> Vec<Sheet> {
        let branch = branch_cell;
        let mut counts = Sheet::new("counts", "季度统计", COUNTS);
        for r in &self.counts {
            counts.push(vec![
                branch(&r.branch),
                r.failed_visits.into(),
                r.visits.into(),
                r.repeat_complaints.into(),
                r.complaints.into(),
                r.repeat_repairs.into(),
                r.repairs.into(),
            ]);
        }
        let list = |name, title, rows: &[RepeatItem]| {
            let mut sheet = Sheet::new(name, title, ITEMS);
            for r in rows {
                sheet.push(vec![
                    r.id.into(),
                    Cell::DateTime(calendar::local_time(r.at.naive_utc(), tz)),
                    branch(&r.branch),
                    r.project_id.into(),
                    Cell::from(r.project_name.as_str()),
                    r.customer_id.into(),
                    Cell::from(r.customer_name.as_str()),
                    r.repeat_of.into(),
                    Cell::from(r.detail.as_str()),
                ]);
            }
            sheet
        };
        vec![
            counts,
            list("failed_visits", "回访失败", &self.failed_visits),
            list("repeat_complaints", "重复投诉", &self.repeat_complaints),
            list("repeat_repairs", "重复维修", &self.repeat_repairs),
        ]
    }
}
