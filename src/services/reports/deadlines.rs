//! Deadline compliance: per rule (and branch), how many clocks started in
//! the period, how many were met on time, late, are overdue now or were
//! cancelled, the time they were held, and how long the step took (median
//! and 90th percentile, nearest rank); the ten most overdue open ones.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::sheet::{col, ratio, Cell, Column, Kind, Sheet};
use super::{
    area_sql, branch_cell, branch_names, load, secs_between, ts_literal, Area, BranchRef, Branches,
    Period,
};
use crate::db::schema::deadline_escalations;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::kit::deadlines::calendar;
use crate::models::deadline::Rule;
use crate::models::user::Role;
use chrono_tz::Tz;

/// One rule's clocks in one branch (or, in `totals`, in the whole area).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleFigures {
    /// The branch whose clocks these are; `null` for the group's own
    /// clocks (and in `totals`).
    pub branch: Option<BranchRef>,
    pub rule: Rule,
    /// Clocks started in the period.
    pub started: i64,
    /// Of `started`: the step was done by its due time.
    pub met: i64,
    /// Of `started`: done after its due time (with a reason).
    pub met_late: i64,
    /// Of `started`: past due now and not done.
    pub overdue: i64,
    /// Of `started`: running and not yet due.
    pub open: i64,
    /// Of `started`: no longer needed (the record went another way).
    pub cancelled: i64,
    /// `met + met_late + overdue`: the steps whose time has come.
    pub due: i64,
    /// `met / due`; `null` when `due` is 0.
    pub on_time_rate: Option<f64>,
    /// Seconds the clocks were held (paused), including holds still on.
    pub time_on_hold_secs: i64,
    /// Of the steps done (`met + met_late`): the median time from start
    /// to done, in seconds (nearest rank); `null` when none was done.
    pub median_secs: Option<i64>,
    /// The 90th percentile of the same (nearest rank).
    pub p90_secs: Option<i64>,
}

/// An open clock past its due time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueItem {
    pub deadline_id: i64,
    pub rule: Rule,
    pub title: String,
    /// Where the record is in the API.
    pub link: String,
    pub branch: Option<BranchRef>,
    pub due_at: DateTime<Utc>,
    /// Seconds past due when the report was read.
    pub overdue_secs: i64,
    /// The person who holds it, if it is held by name.
    pub holder_user_id: Option<i64>,
    pub holder_name: Option<String>,
    /// The role that must act, if it is left to a role.
    pub holder_role: Option<Role>,
    /// The roles it was escalated to, in order.
    pub escalated_to: Vec<Role>,
}

/// Deadline compliance over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "period": {"from": "2026-01-01", "to": "2026-12-31"},
    "generated_at": "2026-12-03T08:00:00Z",
    "rows": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "rule": "complaint.judge",
        "started": 12, "met": 9, "met_late": 2, "overdue": 1, "open": 0, "cancelled": 0, "due": 12,
        "on_time_rate": 0.75, "time_on_hold_secs": 0, "median_secs": 86400, "p90_secs": 169200}],
    "totals": [{"branch": null, "rule": "complaint.judge",
        "started": 12, "met": 9, "met_late": 2, "overdue": 1, "open": 0, "cancelled": 0, "due": 12,
        "on_time_rate": 0.75, "time_on_hold_secs": 0, "median_secs": 86400, "p90_secs": 169200}],
    "most_overdue": [{"deadline_id": 88, "rule": "complaint.judge", "title": "Judge complaint 31",
        "link": "/api/v1/complaints/31", "branch": {"id": 2, "name": "华东分公司 East China Branch"},
        "due_at": "2026-11-30T08:00:00Z", "overdue_secs": 259200, "holder_user_id": null,
        "holder_name": null, "holder_role": "branch_engineer", "escalated_to": ["branch_leader"]}]
}))]
pub struct DeadlineReport {
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    /// One row per branch and rule with clocks started in the period.
    pub rows: Vec<RuleFigures>,
    /// One row per rule over the whole area read.
    pub totals: Vec<RuleFigures>,
    /// The ten open clocks longest past due, among those started in the
    /// period.
    pub most_overdue: Vec<OverdueItem>,
}

#[derive(QueryableByName)]
struct FiguresRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = BigInt)]
    started: i64,
    #[diesel(sql_type = BigInt)]
    met: i64,
    #[diesel(sql_type = BigInt)]
    met_late: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
    #[diesel(sql_type = BigInt)]
    open: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    p50: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    p90: Option<i64>,
}

#[derive(QueryableByName)]
struct OverdueRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    link: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = Timestamp)]
    due_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<BigInt>)]
    assignee_user_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    assignee_role: Option<String>,
}

/// The clocks of the area started in the period, each with its branch:
/// the unit of kind `branch` whose path begins the clock's scope path (an
/// equal-path lookup per clock, not a range join).
fn clocks_sql(
    conn: &DbConn,
    area: &Area,
    start: NaiveDateTime,
    end: NaiveDateTime,
    rules: Option<&[Rule]>,
) -> String {
    let mut sql = format!(
        "SELECT d.*, b.id AS branch_id FROM deadlines d \
         LEFT JOIN org_units b ON b.path = {} AND b.kind = 'branch' \
         WHERE d.started_at >= {} AND d.started_at < {}",
        super::branch_path(conn, "d.scope_path"),
        ts_literal(conn, start),
        ts_literal(conn, end)
    );
    let org = Area {
        project_id: None,
        ..area.clone()
    };
    sql.push_str(&area_sql(&org, "d.scope_path", ""));
    if let Some(rules) = rules {
        let names: Vec<String> = rules.iter().map(|r| format!("'{}'", r.as_str())).collect();
        sql.push_str(&format!(" AND d.rule IN ({})", names.join(", ")));
    }
    if let Some(p) = area.project_id {
        // the clocks of the project's own records, by their subject
        sql.push_str(&format!(
            " AND ((d.subject_type = 'project' AND d.subject_id = {p}) \
             OR (d.subject_type = 'visit' AND d.subject_id IN (SELECT id FROM visits WHERE project_id = {p})) \
             OR (d.subject_type = 'visit_plan_item' AND d.subject_id IN (SELECT id FROM visit_plan_items WHERE project_id = {p})) \
             OR (d.subject_type = 'complaint' AND d.subject_id IN (SELECT id FROM complaints WHERE project_id = {p})) \
             OR (d.subject_type = 'rectification_plan' AND d.subject_id IN (SELECT rp.id FROM rectification_plans rp JOIN complaints c ON c.id = rp.complaint_id WHERE c.project_id = {p})) \
             OR (d.subject_type = 'rectification_milestone' AND d.subject_id IN (SELECT m.id FROM rectification_milestones m JOIN rectification_plans rp ON rp.id = m.plan_id JOIN complaints c ON c.id = rp.complaint_id WHERE c.project_id = {p})) \
             OR (d.subject_type = 'repair' AND d.subject_id IN (SELECT id FROM repairs WHERE project_id = {p})))"
        ));
    }
    sql
}

/// An open clock past its due time: overdue (swept), or pending, running
/// and past due (not yet swept). A held clock is not late: it has stopped.
fn past_due(now_sql: &str) -> String {
    format!(
        "(status = 'overdue' OR (status = 'pending' AND paused_at IS NULL AND due_at < {now_sql}))"
    )
}

/// The figures grouped by rule, and by branch when `by_branch`.
fn figures(
    conn: &mut DbConn,
    clocks: &str,
    now: NaiveDateTime,
    by_branch: bool,
) -> AppResult<Vec<FiguresRow>> {
    let now_sql = ts_literal(conn, now);
    let took = secs_between(conn, "met_at", "started_at");
    let held_now = secs_between(conn, &now_sql, "paused_at");
    let branch = if by_branch {
        "branch_id"
    } else {
        "CAST(NULL AS BIGINT)"
    };
    let late = past_due(&now_sql);
    let query = format!(
        "WITH c AS ({clocks}), \
         t AS (SELECT {branch} AS branch_id, rule, status, due_at, paused_secs, paused_at, \
                 CASE WHEN status IN ('met', 'met_late') THEN {took} END AS took FROM c), \
         r AS (SELECT t.*, \
                 ROW_NUMBER() OVER (PARTITION BY branch_id, rule, took IS NULL ORDER BY took) AS rn, \
                 COUNT(took) OVER (PARTITION BY branch_id, rule) AS done FROM t) \
         SELECT branch_id, rule, \
           CAST(COUNT(*) AS BIGINT) AS started, \
           CAST(SUM(CASE WHEN status = 'met' THEN 1 ELSE 0 END) AS BIGINT) AS met, \
           CAST(SUM(CASE WHEN status = 'met_late' THEN 1 ELSE 0 END) AS BIGINT) AS met_late, \
           CAST(SUM(CASE WHEN {late} THEN 1 ELSE 0 END) AS BIGINT) AS overdue, \
           CAST(SUM(CASE WHEN status = 'pending' AND NOT ({late}) THEN 1 ELSE 0 END) AS BIGINT) AS open, \
           CAST(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS BIGINT) AS cancelled, \
           CAST(SUM(paused_secs + CASE WHEN paused_at IS NOT NULL AND status IN ('pending', 'overdue') \
             THEN {held_now} ELSE 0 END) AS BIGINT) AS held, \
           CAST(MIN(CASE WHEN took IS NOT NULL AND rn * 2 >= done THEN took END) AS BIGINT) AS p50, \
           CAST(MIN(CASE WHEN took IS NOT NULL AND rn * 10 >= done * 9 THEN took END) AS BIGINT) AS p90 \
         FROM r GROUP BY branch_id, rule ORDER BY branch_id, rule"
    );
    load(conn, query)
}

impl FiguresRow {
    fn into_figures(self, names: &Branches) -> AppResult<RuleFigures> {
        let due = self.met + self.met_late + self.overdue;
        Ok(RuleFigures {
            branch: names.of(self.branch_id),
            rule: Rule::from_db(&self.rule)?,
            started: self.started,
            met: self.met,
            met_late: self.met_late,
            overdue: self.overdue,
            open: self.open,
            cancelled: self.cancelled,
            due,
            on_time_rate: ratio(self.met, due),
            time_on_hold_secs: self.held,
            median_secs: self.p50,
            p90_secs: self.p90,
        })
    }
}

/// The figures of some rules' clocks started in the period, per branch.
pub fn by_rule(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
    rules: &[Rule],
) -> AppResult<Vec<RuleFigures>> {
    let (start, end) = period.bounds(tz);
    let clocks = clocks_sql(conn, area, start, end, Some(rules));
    let rows = figures(conn, &clocks, now, true)?;
    let names = branch_names(conn, rows.iter().filter_map(|r| r.branch_id))?;
    rows.into_iter().map(|r| r.into_figures(&names)).collect()
}

pub fn report(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<DeadlineReport> {
    let (start, end) = period.bounds(tz);
    let clocks = clocks_sql(conn, area, start, end, None);
    let rows = figures(conn, &clocks, now, true)?;
    let totals = figures(conn, &clocks, now, false)?;
    let now_sql = ts_literal(conn, now);
    let overdue: Vec<OverdueRow> = load(
        conn,
        format!(
            "WITH c AS ({clocks}) \
             SELECT c.id, c.rule, c.title, c.link, c.branch_id, c.due_at, c.assignee_user_id, \
               u.display_name, c.assignee_role \
             FROM (SELECT * FROM c WHERE {}) c LEFT JOIN users u ON u.id = c.assignee_user_id \
             ORDER BY c.due_at, c.id LIMIT 10",
            past_due(&now_sql)
        ),
    )?;
    let ids: Vec<i64> = overdue.iter().map(|o| o.id).collect();
    let escalations: Vec<(i64, String)> = deadline_escalations::table
        .filter(deadline_escalations::deadline_id.eq_any(&ids))
        .order((
            deadline_escalations::deadline_id,
            deadline_escalations::level,
        ))
        .select((
            deadline_escalations::deadline_id,
            deadline_escalations::role,
        ))
        .load(conn)?;
    let names = branch_names(
        conn,
        rows.iter()
            .filter_map(|r| r.branch_id)
            .chain(overdue.iter().filter_map(|o| o.branch_id)),
    )?;
    let branch = |id: Option<i64>| names.of(id);
    let figures = |r: FiguresRow| r.into_figures(&names);
    let most_overdue = overdue
        .into_iter()
        .map(|o| {
            Ok(OverdueItem {
                deadline_id: o.id,
                rule: Rule::from_db(&o.rule)?,
                title: o.title,
                link: o.link,
                branch: branch(o.branch_id),
                due_at: Utc.from_utc_datetime(&o.due_at),
                overdue_secs: (now - o.due_at).num_seconds(),
                holder_user_id: o.assignee_user_id,
                holder_name: o.display_name,
                holder_role: o.assignee_role.as_deref().map(Role::from_db).transpose()?,
                escalated_to: escalations
                    .iter()
                    .filter(|(id, _)| *id == o.id)
                    .map(|(_, role)| Role::from_db(role))
                    .collect::<AppResult<_>>()?,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(DeadlineReport {
        period,
        generated_at: Utc.from_utc_datetime(&now),
        rows: rows.into_iter().map(figures).collect::<AppResult<_>>()?,
        totals: totals.into_iter().map(figures).collect::<AppResult<_>>()?,
        most_overdue,
    })
}

const FIGURES: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("rule", "rule", Kind::Text),
    col("started", "started", Kind::Integer),
    col("met", "met", Kind::Integer),
    col("met_late", "met_late", Kind::Integer),
    col("overdue", "overdue", Kind::Integer),
    col("open", "open", Kind::Integer),
    col("cancelled", "cancelled", Kind::Integer),
    col("due", "due.1", Kind::Integer),
    col("on_time_rate", "on_time_rate", Kind::Ratio),
    col("time_on_hold_secs", "time_on_hold_secs", Kind::Seconds),
    col("median_secs", "median_secs", Kind::Seconds),
    col("p90_secs", "p90_secs", Kind::Seconds),
];

const OVERDUE: &[Column] = &[
    col("deadline_id", "deadline_id", Kind::Integer),
    col("rule", "rule", Kind::Text),
    col("title", "title", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("due_at", "due_at", Kind::DateTime),
    col("overdue_secs", "overdue_secs", Kind::Seconds),
    col("holder_name", "holder_name", Kind::Text),
    col("holder_role", "holder_role", Kind::Text),
    col("escalated_to", "escalated_to", Kind::Text),
    col("link", "link", Kind::Text),
];

fn figures_row(f: &RuleFigures, total: bool) -> Vec<Cell> {
    vec![
        if total {
            Cell::from("合计 total")
        } else {
            branch_cell(&f.branch)
        },
        Cell::from(f.rule.as_str()),
        f.started.into(),
        f.met.into(),
        f.met_late.into(),
        f.overdue.into(),
        f.open.into(),
        f.cancelled.into(),
        f.due.into(),
        f.on_time_rate.into(),
        Cell::Seconds(f.time_on_hold_secs),
        f.median_secs.map_or(Cell::Empty, Cell::Seconds),
        f.p90_secs.map_or(Cell::Empty, Cell::Seconds),
    ]
}

impl DeadlineReport {
    /// The report's sections as tables: `rules` (each branch's rows, then
    /// the totals) and `most_overdue`.
    pub fn sheets(&self, tz: Tz) -> Vec<Sheet> {
        let mut rules = Sheet::new("rules", "时限执行", FIGURES);
        for f in &self.rows {
            rules.push(figures_row(f, false));
        }
        for f in &self.totals {
            rules.push(figures_row(f, true));
        }
        let mut overdue = Sheet::new("most_overdue", "逾期最久", OVERDUE);
        for o in &self.most_overdue {
            overdue.push(vec![
                o.deadline_id.into(),
                Cell::from(o.rule.as_str()),
                Cell::from(o.title.as_str()),
                o.branch.as_ref().map(|b| b.name.clone()).into(),
                Cell::DateTime(calendar::local_time(o.due_at.naive_utc(), tz)),
                Cell::Seconds(o.overdue_secs),
                o.holder_name.clone().into(),
                o.holder_role.map(|r| r.as_str().to_string()).into(),
                Cell::from(
                    o.escalated_to
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Cell::from(o.link.as_str()),
            ]);
        }
        vec![rules, overdue]
    }
}
