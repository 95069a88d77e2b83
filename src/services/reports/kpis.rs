//! The four key performance indicators of visit and complaint management
//! (the group's management standard, §4.2): visit plan compilation, visit
//! execution, the most complaints against one customer and one project,
//! and complaint feedback satisfaction. Each is counted per branch by one
//! grouped query.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::QueryableByName;
use serde::Serialize;
use utoipa::ToSchema;

use super::deadlines::{self, RuleFigures};
use super::sheet::{col, ratio, Cell, Column, Kind, Sheet};
use super::{area_sql, branch_cell, branch_names, date_literal, load, Area, BranchRef, Period};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::kit::deadlines::calendar;
use crate::models::deadline::Rule;

/// 回访计划编制完成率, for the year: of the projects under warranty on any
/// day of the period, those with an item in an approved branch plan of a
/// year of the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanCompilation {
    pub branch: Option<BranchRef>,
    /// Projects under warranty (any component) on a day of the period.
    pub projects_under_warranty: i64,
    /// Of them: in an approved branch plan of the period's year(s).
    pub covered_by_branch_plan: i64,
    /// `covered_by_branch_plan / projects_under_warranty`.
    pub rate: Option<f64>,
}

/// 回访计划编制完成率, month by month: of the projects under warranty on a
/// day of the month, those with an item in an approved project plan for
/// that month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthlyCompilation {
    pub branch: Option<BranchRef>,
    pub year: i32,
    pub month: i32,
    pub projects_under_warranty: i64,
    pub covered_by_project_plan: i64,
    /// `covered_by_project_plan / projects_under_warranty`.
    pub rate: Option<f64>,
}

/// 回访实施完成率: the items of approved visit plans planned on a day of
/// the period, by what became of them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitExecution {
    pub branch: Option<BranchRef>,
    /// Items planned on a day of the period.
    pub items: i64,
    /// Of `items`: visited on or before the planned day.
    pub done_on_time: i64,
    /// Of `items`: visited after the planned day.
    pub done_late: i64,
    /// Of `items`: the planned day has passed and no visit was made.
    pub not_done: i64,
    /// Of `items`: the owner could not be reached; an on-site item
    /// replaced it (counted apart; the replacement is an item itself).
    pub replanned: i64,
    /// Of `items`: the planned day has not come yet.
    pub upcoming: i64,
    /// `done_on_time + done_late + not_done`: the items whose day has come.
    pub due: i64,
    /// `done_on_time / due`.
    pub rate: Option<f64>,
}

/// One customer or project and its complaints received in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintRanking {
    pub id: i64,
    pub name: String,
    pub branch: Option<BranchRef>,
    pub complaints: i64,
    /// Of them: marked as a repeat of an earlier one.
    pub repeats: i64,
}

/// 客户投诉最高次数: the customers and projects complained about most.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MostComplaints {
    /// The most complaints received against one customer (0: none).
    pub max_per_customer: i64,
    /// The most complaints received against one project (0: none).
    pub max_per_project: i64,
    /// The ten customers with the most complaints, most first.
    pub by_customer: Vec<ComplaintRanking>,
    /// The ten projects with the most complaints, most first.
    pub by_project: Vec<ComplaintRanking>,
}

/// 客户投诉反馈满意度: the owners' evaluations of how their complaints were
/// handled, recorded in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintSatisfaction {
    pub branch: Option<BranchRef>,
    /// Evaluations recorded in the period.
    pub evaluations: i64,
    /// Of them: `basically_satisfied` or better.
    pub satisfied: i64,
    /// `satisfied / evaluations`.
    pub rate: Option<f64>,
    /// Evaluations of the first handling.
    pub first_round: i64,
    pub first_round_satisfied: i64,
    /// `first_round_satisfied / first_round`.
    pub first_round_rate: Option<f64>,
    /// Evaluations after the complaint was handled again (re-work).
    pub after_rework: i64,
    pub after_rework_satisfied: i64,
    /// `after_rework_satisfied / after_rework`.
    pub after_rework_rate: Option<f64>,
    /// Complaints closed in the period as not ours (no evaluation; counted
    /// apart).
    pub closed_not_ours: i64,
}

/// The four indicators over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "period": {"from": "2026-01-01", "to": "2026-12-31"}, "generated_at": "2026-12-03T08:00:00Z",
    "plan_compilation": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"},
        "projects_under_warranty": 40, "covered_by_branch_plan": 38, "rate": 0.95}],
    "plan_compilation_monthly": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "year": 2026, "month": 3,
        "projects_under_warranty": 40, "covered_by_project_plan": 12, "rate": 0.3}],
    "compile_clocks": [],
    "visit_execution": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "items": 120,
        "done_on_time": 100, "done_late": 8, "not_done": 4, "replanned": 3, "upcoming": 5, "due": 112,
        "rate": 0.8929}],
    "most_complaints": {"max_per_customer": 6, "max_per_project": 4,
        "by_customer": [{"id": 7, "name": "上海滨江置业有限公司", "branch": {"id": 2, "name": "华东分公司 East China Branch"}, "complaints": 6, "repeats": 1}],
        "by_project": [{"id": 31, "name": "滨江花园 Binjiang Garden", "branch": {"id": 2, "name": "华东分公司 East China Branch"}, "complaints": 4, "repeats": 1}]},
    "complaint_satisfaction": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "evaluations": 20, "satisfied": 18,
        "rate": 0.9, "first_round": 16, "first_round_satisfied": 15, "first_round_rate": 0.9375,
        "after_rework": 4, "after_rework_satisfied": 3, "after_rework_rate": 0.75, "closed_not_ours": 2}]
}))]
pub struct KpiReport {
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    /// Per branch.
    pub plan_compilation: Vec<PlanCompilation>,
    /// Per branch and month of the period.
    pub plan_compilation_monthly: Vec<MonthlyCompilation>,
    /// The plans' 3-day compile clocks started in the period
    /// (`visit_plan.compile`, `visit_plan.compile.project`): how many were
    /// submitted on time, late, or are overdue; per branch.
    pub compile_clocks: Vec<RuleFigures>,
    /// Per branch.
    pub visit_execution: Vec<VisitExecution>,
    pub most_complaints: MostComplaints,
    /// Per branch.
    pub complaint_satisfaction: Vec<ComplaintSatisfaction>,
}

#[derive(QueryableByName)]
struct CoverageRow {
    #[diesel(sql_type = BigInt)]
    branch_id: i64,
    #[diesel(sql_type = Integer)]
    year: i32,
    #[diesel(sql_type = Integer)]
    month: i32,
    #[diesel(sql_type = BigInt)]
    under: i64,
    #[diesel(sql_type = BigInt)]
    covered: i64,
}

#[derive(QueryableByName)]
struct ExecutionRow {
    #[diesel(sql_type = BigInt)]
    branch_id: i64,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    late: i64,
    #[diesel(sql_type = BigInt)]
    not_done: i64,
    #[diesel(sql_type = BigInt)]
    replanned: i64,
    #[diesel(sql_type = BigInt)]
    upcoming: i64,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    complaints: i64,
    #[diesel(sql_type = BigInt)]
    repeats: i64,
}

#[derive(QueryableByName)]
struct SatisfactionRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    evaluations: i64,
    #[diesel(sql_type = BigInt)]
    satisfied: i64,
    #[diesel(sql_type = BigInt)]
    first_round: i64,
    #[diesel(sql_type = BigInt)]
    first_round_satisfied: i64,
    #[diesel(sql_type = BigInt)]
    closed_not_ours: i64,
}

/// The months of the period as a SQL table `months(y, m, first_day,
/// last_day)`.
fn months_sql(conn: &DbConn, period: Period) -> String {
    let mut rows = vec![];
    let mut first =
        NaiveDate::from_ymd_opt(period.from.year(), period.from.month(), 1).unwrap_or(period.from);
    while first <= period.to {
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        let last = next.pred_opt().unwrap_or(first).min(period.to);
        let start = first.max(period.from);
        rows.push(format!(
            "({}, {}, {}, {})",
            first.year(),
            first.month(),
            date_literal(conn, start),
            date_literal(conn, last)
        ));
        if next == first {
            break;
        }
        first = next;
    }
    format!(
        "months(y, m, first_day, last_day) AS (VALUES {})",
        rows.join(", ")
    )
}

/// A project under warranty (any component) on some day of `[from, to]`,
/// two SQL date expressions; `warranty_terms_project_category` serves it.
fn under_warranty(from: &str, to: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM warranty_terms wt WHERE wt.project_id = p.id \
         AND wt.starts_on <= {to} AND wt.ends_on >= {from})"
    )
}

fn coverage(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
) -> AppResult<(Vec<CoverageRow>, Vec<CoverageRow>)> {
    let (from, to) = (
        date_literal(conn, period.from),
        date_literal(conn, period.to),
    );
    let area = area_sql(area, "p.scope_path", "p.id");
    // the year: an item in an approved branch plan of a year of the period
    let yearly = format!(
        "SELECT p.branch_id, CAST(0 AS INTEGER) AS year, CAST(0 AS INTEGER) AS month, \
           CAST(COUNT(*) AS BIGINT) AS under, \
           CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM visit_plan_items i \
             JOIN visit_plans vp ON vp.id = i.plan_id \
             WHERE i.project_id = p.id AND vp.level = 'branch' AND vp.status = 'approved' \
             AND vp.year >= {y0} AND vp.year <= {y1}) THEN 1 ELSE 0 END) AS BIGINT) AS covered \
         FROM projects p WHERE {under}{area} \
         GROUP BY p.branch_id ORDER BY p.branch_id",
        y0 = period.from.year(),
        y1 = period.to.year(),
        under = under_warranty(&from, &to),
    );
    let yearly: Vec<CoverageRow> = load(conn, yearly)?;
    // month by month: an item in the approved project plan of that month
    let monthly = format!(
        "WITH {months} \
         SELECT p.branch_id, CAST(mo.y AS INTEGER) AS year, CAST(mo.m AS INTEGER) AS month, \
           CAST(COUNT(*) AS BIGINT) AS under, \
           CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM visit_plan_items i \
             JOIN visit_plans vp ON vp.id = i.plan_id \
             WHERE i.project_id = p.id AND vp.level = 'project' AND vp.status = 'approved' \
             AND vp.year = mo.y AND vp.month = mo.m) THEN 1 ELSE 0 END) AS BIGINT) AS covered \
         FROM months mo JOIN projects p ON {under} \
         WHERE 1 = 1{area} \
         GROUP BY p.branch_id, mo.y, mo.m ORDER BY p.branch_id, mo.y, mo.m",
        months = months_sql(conn, period),
        under = under_warranty("mo.first_day", "mo.last_day"),
    );
    let monthly: Vec<CoverageRow> = load(conn, monthly)?;
    Ok((yearly, monthly))
}

fn execution(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    today: NaiveDate,
) -> AppResult<Vec<ExecutionRow>> {
    let (from, to, today) = (
        date_literal(conn, period.from),
        date_literal(conn, period.to),
        date_literal(conn, today),
    );
    let area = area_sql(area, "p.scope_path", "p.id");
    load(
        conn,
        format!(
            "SELECT p.branch_id, CAST(COUNT(*) AS BIGINT) AS items, \
               CAST(SUM(CASE WHEN i.status = 'done' AND i.done_on <= i.planned_on THEN 1 ELSE 0 END) AS BIGINT) AS on_time, \
               CAST(SUM(CASE WHEN i.status = 'done' AND i.done_on > i.planned_on THEN 1 ELSE 0 END) AS BIGINT) AS late, \
               CAST(SUM(CASE WHEN i.status = 'planned' AND i.planned_on < {today} THEN 1 ELSE 0 END) AS BIGINT) AS not_done, \
               CAST(SUM(CASE WHEN i.status = 'replanned' THEN 1 ELSE 0 END) AS BIGINT) AS replanned, \
               CAST(SUM(CASE WHEN i.status = 'planned' AND i.planned_on >= {today} THEN 1 ELSE 0 END) AS BIGINT) AS upcoming \
             FROM visit_plan_items i \
             JOIN visit_plans vp ON vp.id = i.plan_id AND vp.status = 'approved' \
             JOIN projects p ON p.id = i.project_id \
             WHERE i.planned_on >= {from} AND i.planned_on <= {to}{area} \
             GROUP BY p.branch_id ORDER BY p.branch_id"
        ),
    )
}

fn most(
    conn: &mut DbConn,
    area: &Area,
    start: NaiveDateTime,
    end: NaiveDateTime,
    by_customer: bool,
) -> AppResult<Vec<CountRow>> {
    let (start, end) = (super::ts_literal(conn, start), super::ts_literal(conn, end));
    let area = area_sql(area, "c.scope_path", "c.project_id");
    let (key, table) = if by_customer {
        ("c.customer_id", "customers")
    } else {
        ("c.project_id", "projects")
    };
    load(
        conn,
        format!(
            "SELECT t.id, t.name, t.branch_id, n.complaints, n.repeats FROM \
               (SELECT {key} AS id, CAST(COUNT(*) AS BIGINT) AS complaints, \
                  CAST(SUM(CASE WHEN c.is_repeat THEN 1 ELSE 0 END) AS BIGINT) AS repeats \
                FROM complaints c WHERE c.received_at >= {start} AND c.received_at < {end}{area} \
                GROUP BY {key}) n \
             JOIN {table} t ON t.id = n.id \
             ORDER BY n.complaints DESC, t.id LIMIT 10"
        ),
    )
}

fn satisfaction(
    conn: &mut DbConn,
    area: &Area,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Vec<SatisfactionRow>> {
    let (start, end) = (super::ts_literal(conn, start), super::ts_literal(conn, end));
    let area = area_sql(area, "c.scope_path", "c.project_id");
    load(
        conn,
        format!(
            "SELECT branch_id, CAST(SUM(evaluations) AS BIGINT) AS evaluations, \
               CAST(SUM(satisfied) AS BIGINT) AS satisfied, \
               CAST(SUM(first_round) AS BIGINT) AS first_round, \
               CAST(SUM(first_round_satisfied) AS BIGINT) AS first_round_satisfied, \
               CAST(SUM(closed_not_ours) AS BIGINT) AS closed_not_ours FROM ( \
             SELECT c.branch_id, 1 AS evaluations, CASE WHEN e.satisfied THEN 1 ELSE 0 END AS satisfied, \
               CASE WHEN e.round = 1 THEN 1 ELSE 0 END AS first_round, \
               CASE WHEN e.round = 1 AND e.satisfied THEN 1 ELSE 0 END AS first_round_satisfied, \
               0 AS closed_not_ours \
             FROM complaint_evaluations e JOIN complaints c ON c.id = e.complaint_id \
             WHERE e.evaluated_at >= {start} AND e.evaluated_at < {end}{area} \
             UNION ALL \
             SELECT c.branch_id, 0, 0, 0, 0, 1 FROM complaints c \
             WHERE c.status = 'closed_not_ours' AND c.closed_at >= {start} AND c.closed_at < {end}{area}) x \
             GROUP BY branch_id ORDER BY branch_id"
        ),
    )
}

pub fn report(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<KpiReport> {
    let (start, end) = period.bounds(tz);
    let today = calendar::local_day(now, tz);
    let (yearly, monthly) = coverage(conn, area, period)?;
    let executed = execution(conn, area, period, today)?;
    let customers = most(conn, area, start, end, true)?;
    let projects = most(conn, area, start, end, false)?;
    let satisfied = satisfaction(conn, area, start, end)?;
    let compile_clocks = deadlines::by_rule(
        conn,
        area,
        period,
        tz,
        now,
        &[Rule::VisitPlanCompile, Rule::VisitPlanCompileProject],
    )?;
    let names = branch_names(
        conn,
        yearly
            .iter()
            .chain(&monthly)
            .map(|r| r.branch_id)
            .chain(executed.iter().map(|r| r.branch_id))
            .chain(
                customers
                    .iter()
                    .chain(&projects)
                    .filter_map(|r| r.branch_id),
            )
            .chain(satisfied.iter().filter_map(|r| r.branch_id)),
    )?;
    let branch = |id: Option<i64>| names.of(id);
    let counts = |rows: Vec<CountRow>| -> Vec<ComplaintRanking> {
        rows.into_iter()
            .map(|r| ComplaintRanking {
                id: r.id,
                name: r.name,
                branch: branch(r.branch_id),
                complaints: r.complaints,
                repeats: r.repeats,
            })
            .collect()
    };
    let by_customer = counts(customers);
    let by_project = counts(projects);
    Ok(KpiReport {
        period,
        generated_at: Utc.from_utc_datetime(&now),
        plan_compilation: yearly
            .into_iter()
            .map(|r| PlanCompilation {
                branch: branch(Some(r.branch_id)),
                projects_under_warranty: r.under,
                covered_by_branch_plan: r.covered,
                rate: ratio(r.covered, r.under),
            })
            .collect(),
        plan_compilation_monthly: monthly
            .into_iter()
            .map(|r| MonthlyCompilation {
                branch: branch(Some(r.branch_id)),
                year: r.year,
                month: r.month,
                projects_under_warranty: r.under,
                covered_by_project_plan: r.covered,
                rate: ratio(r.covered, r.under),
            })
            .collect(),
        compile_clocks,
        visit_execution: executed
            .into_iter()
            .map(|r| {
                let due = r.on_time + r.late + r.not_done;
                VisitExecution {
                    branch: branch(Some(r.branch_id)),
                    items: r.items,
                    done_on_time: r.on_time,
                    done_late: r.late,
                    not_done: r.not_done,
                    replanned: r.replanned,
                    upcoming: r.upcoming,
                    due,
                    rate: ratio(r.on_time, due),
                }
            })
            .collect(),
        most_complaints: MostComplaints {
            max_per_customer: by_customer.first().map_or(0, |c| c.complaints),
            max_per_project: by_project.first().map_or(0, |c| c.complaints),
            by_customer,
            by_project,
        },
        complaint_satisfaction: satisfied
            .into_iter()
            .map(|r| {
                let after = r.evaluations - r.first_round;
                let after_ok = r.satisfied - r.first_round_satisfied;
                ComplaintSatisfaction {
                    branch: branch(r.branch_id),
                    evaluations: r.evaluations,
                    satisfied: r.satisfied,
                    rate: ratio(r.satisfied, r.evaluations),
                    first_round: r.first_round,
                    first_round_satisfied: r.first_round_satisfied,
                    first_round_rate: ratio(r.first_round_satisfied, r.first_round),
                    after_rework: after,
                    after_rework_satisfied: after_ok,
                    after_rework_rate: ratio(after_ok, after),
                    closed_not_ours: r.closed_not_ours,
                }
            })
            .collect(),
    })
}

const COMPILATION: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col(
        "projects_under_warranty",
        "projects_under_warranty",
        Kind::Integer,
    ),
    col(
        "covered_by_branch_plan",
        "covered_by_branch_plan.2",
        Kind::Integer,
    ),
    col("rate", "rate.1", Kind::Ratio),
];

const MONTHLY: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("year", "year", Kind::Integer),
    col("month", "month.2", Kind::Integer),
    col(
        "projects_under_warranty",
        "projects_under_warranty",
        Kind::Integer,
    ),
    col(
        "covered_by_project_plan",
        "covered_by_project_plan",
        Kind::Integer,
    ),
    col("rate", "rate.2", Kind::Ratio),
];

const EXECUTION: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("items", "items", Kind::Integer),
    col("done_on_time", "done_on_time", Kind::Integer),
    col("done_late", "done_late", Kind::Integer),
    col("not_done", "not_done", Kind::Integer),
    col("replanned", "replanned", Kind::Integer),
    col("upcoming", "upcoming", Kind::Integer),
    col("due", "due.2", Kind::Integer),
    col("rate", "rate.3", Kind::Ratio),
];

const COUNTS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("name", "name.2", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("complaints", "complaints.2", Kind::Integer),
    col("repeats", "repeats", Kind::Integer),
];

const SATISFACTION: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("evaluations", "evaluations", Kind::Integer),
    col("satisfied", "satisfied.2", Kind::Integer),
    col("rate", "rate.4", Kind::Ratio),
    col("first_round", "first_round", Kind::Integer),
    col(
        "first_round_satisfied",
        "first_round_satisfied",
        Kind::Integer,
    ),
    col("first_round_rate", "first_round_rate", Kind::Ratio),
    col("after_rework", "after_rework", Kind::Integer),
    col(
        "after_rework_satisfied",
        "after_rework_satisfied",
        Kind::Integer,
    ),
    col("after_rework_rate", "after_rework_rate", Kind::Ratio),
    col("closed_not_ours", "closed_not_ours", Kind::Integer),
];

impl KpiReport {
    /// The sections: `plan_compilation`, `plan_compilation_monthly`,
    /// `visit_execution`, `complaints_by_customer`, `complaints_by_project`,
    /// `complaint_satisfaction` (the compile clocks are in the deadline
    /// report).
    pub fn sheets(&self) -> Vec<Sheet> {
        let mut yearly = Sheet::new("plan_compilation", "回访计划编制", COMPILATION);
        for r in &self.plan_compilation {
            yearly.push(vec![
                branch_cell(&r.branch),
                r.projects_under_warranty.into(),
                r.covered_by_branch_plan.into(),
                r.rate.into(),
            ]);
        }
        let mut monthly = Sheet::new("plan_compilation_monthly", "月度计划编制", MONTHLY);
        for r in &self.plan_compilation_monthly {
            monthly.push(vec![
                branch_cell(&r.branch),
                i64::from(r.year).into(),
                i64::from(r.month).into(),
                r.projects_under_warranty.into(),
                r.covered_by_project_plan.into(),
                r.rate.into(),
            ]);
        }
        let mut executed = Sheet::new("visit_execution", "回访实施", EXECUTION);
        for r in &self.visit_execution {
            executed.push(vec![
                branch_cell(&r.branch),
                r.items.into(),
                r.done_on_time.into(),
                r.done_late.into(),
                r.not_done.into(),
                r.replanned.into(),
                r.upcoming.into(),
                r.due.into(),
                r.rate.into(),
            ]);
        }
        let counts = |name, title, rows: &[ComplaintRanking]| {
            let mut sheet = Sheet::new(name, title, COUNTS);
            for r in rows {
                sheet.push(vec![
                    r.id.into(),
                    Cell::from(r.name.as_str()),
                    branch_cell(&r.branch),
                    r.complaints.into(),
                    r.repeats.into(),
                ]);
            }
            sheet
        };
        let mut satisfied = Sheet::new("complaint_satisfaction", "投诉反馈满意度", SATISFACTION);
        for r in &self.complaint_satisfaction {
            satisfied.push(vec![
                branch_cell(&r.branch),
                r.evaluations.into(),
                r.satisfied.into(),
                r.rate.into(),
                r.first_round.into(),
                r.first_round_satisfied.into(),
                r.first_round_rate.into(),
                r.after_rework.into(),
                r.after_rework_satisfied.into(),
                r.after_rework_rate.into(),
                r.closed_not_ours.into(),
            ]);
        }
        vec![
            yearly,
            monthly,
            executed,
            counts(
                "complaints_by_customer",
                "客户投诉次数",
                &self.most_complaints.by_customer,
            ),
            counts(
                "complaints_by_project",
                "工程投诉次数",
                &self.most_complaints.by_project,
            ),
            satisfied,
        ]
    }
}
