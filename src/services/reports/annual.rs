//! The annual summary (000 §1.4): each year, per branch, what owners said,
//! complained of and were visited for — the four indicators, deadline
//! compliance, satisfaction, repeats — and, for every project not brought
//! to the owner's satisfaction, the corrective actions and their state;
//! with the accountability recorded in the year. Composed from the other
//! reports' grouped queries over the same year and area.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text, Timestamp};
use diesel::QueryableByName;
use serde::Serialize;
use utoipa::ToSchema;

use super::satisfaction::local_year_month;
use super::sheet::{col, ratio, Cell, Chart, Column, Kind, Sheet};
use super::{area_sql, branch_cell, branch_names, load, ts_literal, Area, BranchRef, Period};
use super::{deadlines, kpis, repeats, satisfaction};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::kit::deadlines::calendar;

/// One branch's year.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct BranchYear {
    pub branch: Option<BranchRef>,
    /// Projects under warranty on a day of the year.
    pub projects_under_warranty: i64,
    /// Of them, in an approved branch plan of the year.
    pub covered_by_branch_plan: i64,
    /// `covered_by_branch_plan / projects_under_warranty`.
    pub plan_compilation_rate: Option<f64>,
    /// Plan items whose day came in the year.
    pub visit_items_due: i64,
    /// Of them, done on or before the day.
    pub visits_done_on_time: i64,
    /// `visits_done_on_time / visit_items_due`.
    pub visit_execution_rate: Option<f64>,
    /// Visits made in the year.
    pub visits: i64,
    /// Of them, the owner could not be reached.
    pub failed_visits: i64,
    /// Complaints received in the year.
    pub complaints: i64,
    /// Of them, about a matter complained of before.
    pub repeat_complaints: i64,
    /// Owners' evaluations of complaint handling recorded in the year.
    pub complaint_evaluations: i64,
    /// Of them, `basically_satisfied` or better.
    pub complaint_evaluations_satisfied: i64,
    /// `complaint_evaluations_satisfied / complaint_evaluations` (客户投诉反馈满意度).
    pub complaint_satisfaction_rate: Option<f64>,
    /// Every answer of the year: visit surveys, complaint evaluations, repair sign-offs.
    pub answers: i64,
    /// Of them, `basically_satisfied` or better.
    pub satisfied: i64,
    /// `satisfied / answers`.
    pub satisfaction_rate: Option<f64>,
    /// Repairs reported in the year.
    pub repairs: i64,
    /// Of them, the third or later at the same place.
    pub repeat_repairs: i64,
    /// Clocks started in the year that came due: `met + met_late + overdue`.
    pub clocks_due: i64,
    /// Of them, met in time.
    pub clocks_met: i64,
    /// `clocks_met / clocks_due`.
    pub clocks_on_time_rate: Option<f64>,
    /// Projects with an answer below `basically_satisfied` in the year.
    pub unsatisfied_projects: i64,
    /// Corrective actions of the year.
    pub corrective_actions: i64,
    /// Of them, verified.
    pub corrective_actions_verified: i64,
    /// Accountability records made in the year, withdrawn ones not counted.
    pub accountability_records: i64,
}

/// One branch's month: complaints and satisfaction (the chart's data).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BranchMonth {
    pub branch: Option<BranchRef>,
    pub month: i32,
    /// Complaints received in the month.
    pub complaints: i64,
    /// Answers of the month (all sources).
    pub answers: i64,
    pub satisfied: i64,
    /// `satisfied / answers`.
    pub satisfaction_rate: Option<f64>,
}

/// A project not brought to the owner's satisfaction in the year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnsatisfiedProject {
    pub project_id: i64,
    pub project_name: String,
    pub branch: Option<BranchRef>,
    pub answers: i64,
    /// Answers below `basically_satisfied`.
    pub dissatisfied: i64,
    /// Its corrective actions of the year.
    pub corrective_actions: i64,
    /// Of them, verified.
    pub corrective_actions_verified: i64,
}

/// A corrective action of the year and its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorrectiveItem {
    pub id: i64,
    pub branch: Option<BranchRef>,
    pub project_id: i64,
    pub project_name: String,
    pub complaint_id: Option<i64>,
    pub cause_analysis: String,
    pub measures: String,
    pub responsible: String,
    pub due_on: NaiveDate,
    pub status: crate::models::management::CorrectiveStatus,
    pub returns: i64,
}

/// An accountability record made in the year.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountabilityItem {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub branch: Option<BranchRef>,
    pub complaint_id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub project_department_id: i64,
    pub person: String,
    pub measure: crate::models::management::AccountabilityMeasure,
    /// Yuan, for a fine.
    pub fine_amount: Option<f64>,
    pub reason: String,
    pub status: crate::models::management::AccountabilityStatus,
}

/// The year's summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "year": 2026, "period": {"from": "2026-01-01", "to": "2026-12-31"}, "generated_at": "2027-01-05T02:00:00Z",
    "branches": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "projects_under_warranty": 40,
        "covered_by_branch_plan": 38, "plan_compilation_rate": 0.95, "visit_items_due": 112, "visits_done_on_time": 100,
        "visit_execution_rate": 0.8929, "visits": 130, "failed_visits": 3, "complaints": 17, "repeat_complaints": 2,
        "complaint_evaluations": 15, "complaint_evaluations_satisfied": 13, "complaint_satisfaction_rate": 0.8667,
        "answers": 160, "satisfied": 150, "satisfaction_rate": 0.9375, "repairs": 60, "repeat_repairs": 1,
        "clocks_due": 900, "clocks_met": 850, "clocks_on_time_rate": 0.9444, "unsatisfied_projects": 2,
        "corrective_actions": 2, "corrective_actions_verified": 1, "accountability_records": 1}],
    "by_month": [{"branch": {"id": 2, "name": "华东分公司 East China Branch"}, "month": 3, "complaints": 2,
        "answers": 14, "satisfied": 13, "satisfaction_rate": 0.9286}],
    "unsatisfied_projects": [{"project_id": 31, "project_name": "滨江花园 Binjiang Garden",
        "branch": {"id": 2, "name": "华东分公司 East China Branch"}, "answers": 6, "dissatisfied": 2,
        "corrective_actions": 1, "corrective_actions_verified": 1}],
    "corrective_actions": [], "accountability": []
}))]
pub struct AnnualSummary {
    pub year: i32,
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    /// Per branch.
    pub branches: Vec<BranchYear>,
    /// Per branch and month, every month of the year.
    pub by_month: Vec<BranchMonth>,
    /// The projects not brought to satisfaction, the most dissatisfied first.
    pub unsatisfied_projects: Vec<UnsatisfiedProject>,
    /// Every corrective action of the year, with its state.
    pub corrective_actions: Vec<CorrectiveItem>,
    /// Every accountability record made in the year.
    pub accountability: Vec<AccountabilityItem>,
}

#[derive(QueryableByName)]
struct MonthRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    branch_id: Option<i64>,
    #[diesel(sql_type = Integer)]
    month: i32,
    #[diesel(sql_type = BigInt)]
    complaints: i64,
}

#[derive(QueryableByName)]
struct CorrectiveRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    branch_id: i64,
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    project_name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    complaint_id: Option<i64>,
    #[diesel(sql_type = Text)]
    cause_analysis: String,
    #[diesel(sql_type = Text)]
    measures: String,
    #[diesel(sql_type = Text)]
    responsible: String,
    #[diesel(sql_type = Date)]
    due_on: NaiveDate,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    returns: i32,
}

#[derive(QueryableByName)]
struct AccountabilityRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    branch_id: i64,
    #[diesel(sql_type = BigInt)]
    complaint_id: i64,
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    project_name: String,
    #[diesel(sql_type = BigInt)]
    project_department_id: i64,
    #[diesel(sql_type = Text)]
    person: String,
    #[diesel(sql_type = Text)]
    measure: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    fine_fen: Option<i64>,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = Text)]
    status: String,
}

/// The summary of `period` (a calendar year) for the area.
pub fn report(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    tz: Tz,
    now: NaiveDateTime,
) -> AppResult<AnnualSummary> {
    use chrono::Datelike;
    let year = period.from.year();
    let kpis = kpis::report(conn, area, period, tz, now)?;
    let satisfaction = satisfaction::report(conn, area, period, tz, now)?;
    let repeats = repeats::report(conn, area, period, tz, now)?;
    let clocks = deadlines::report(conn, area, period, tz, now)?;
    let (start, end) = period.bounds(tz);
    let (s, e) = (ts_literal(conn, start), ts_literal(conn, end));
    let (y, m) = local_year_month(conn, "c.received_at", tz, start);
    let months: Vec<MonthRow> = load(
        conn,
        format!(
            "SELECT branch_id, CAST(mo AS INTEGER) AS month, CAST(COUNT(*) AS BIGINT) AS complaints \
             FROM (SELECT c.branch_id, {y} AS y, {m} AS mo FROM complaints c \
                   WHERE c.received_at >= {s} AND c.received_at < {e}{}) x \
             GROUP BY branch_id, y, mo ORDER BY branch_id, mo",
            area_sql(area, "c.scope_path", "c.project_id"),
        ),
    )?;
    let actions: Vec<CorrectiveRow> = load(
        conn,
        format!(
            "SELECT a.id, a.branch_id, a.project_id, p.name AS project_name, a.complaint_id, a.cause_analysis, \
               a.measures, a.responsible, a.due_on, a.status, a.returns \
             FROM corrective_actions a JOIN projects p ON p.id = a.project_id \
             WHERE a.year = {year}{} ORDER BY a.branch_id, a.project_id, a.id",
            area_sql(area, "a.scope_path", "a.project_id"),
        ),
    )?;
    let held: Vec<AccountabilityRow> = load(
        conn,
        format!(
            "SELECT r.id, r.created_at, r.branch_id, r.complaint_id, r.project_id, p.name AS project_name, \
               r.project_department_id, r.person, r.measure, r.fine_fen, r.reason, r.status \
             FROM accountability_records r JOIN projects p ON p.id = r.project_id \
             WHERE r.created_at >= {s} AND r.created_at < {e}{} ORDER BY r.created_at, r.id",
            area_sql(area, "r.scope_path", "r.project_id"),
        ),
    )?;
    let names = branch_names(
        conn,
        actions
            .iter()
            .map(|a| a.branch_id)
            .chain(held.iter().map(|h| h.branch_id))
            .chain(months.iter().filter_map(|m| m.branch_id)),
    )?;

    // every branch named by any part, in id order (the group's own first)
    let mut rows: BTreeMap<Option<i64>, BranchYear> = BTreeMap::new();
    fn row<'a>(
        rows: &'a mut BTreeMap<Option<i64>, BranchYear>,
        b: &Option<BranchRef>,
    ) -> &'a mut BranchYear {
        rows.entry(b.as_ref().map(|b| b.id))
            .or_insert_with(|| BranchYear {
                branch: b.clone(),
                ..BranchYear::default()
            })
    }
    for p in &kpis.plan_compilation {
        let r = row(&mut rows, &p.branch);
        r.projects_under_warranty = p.projects_under_warranty;
        r.covered_by_branch_plan = p.covered_by_branch_plan;
    }
    for v in &kpis.visit_execution {
        let r = row(&mut rows, &v.branch);
        r.visit_items_due = v.due;
        r.visits_done_on_time = v.done_on_time;
    }
    for c in &kpis.complaint_satisfaction {
        let r = row(&mut rows, &c.branch);
        r.complaint_evaluations = c.evaluations;
        r.complaint_evaluations_satisfied = c.satisfied;
    }
    for s in &satisfaction.by_source {
        let r = row(&mut rows, &s.branch);
        r.answers += s.levels.answers;
        r.satisfied += s.levels.satisfied;
    }
    for c in &repeats.counts {
        let r = row(&mut rows, &c.branch);
        r.visits = c.visits;
        r.failed_visits = c.failed_visits;
        r.complaints = c.complaints;
        r.repeat_complaints = c.repeat_complaints;
        r.repairs = c.repairs;
        r.repeat_repairs = c.repeat_repairs;
    }
    for f in &clocks.rows {
        let r = row(&mut rows, &f.branch);
        r.clocks_due += f.due;
        r.clocks_met += f.met;
    }
    let unsatisfied: Vec<&satisfaction::ProjectLevels> = satisfaction
        .by_project
        .iter()
        .filter(|p| p.levels.satisfied < p.levels.answers)
        .collect();
    for p in &unsatisfied {
        row(&mut rows, &p.branch).unsatisfied_projects += 1;
    }
    let verified = crate::models::management::CorrectiveStatus::Verified.as_str();
    for a in &actions {
        let r = row(&mut rows, &names.of(Some(a.branch_id)));
        r.corrective_actions += 1;
        r.corrective_actions_verified += i64::from(a.status == verified);
    }
    let withdrawn = crate::models::management::AccountabilityStatus::Withdrawn.as_str();
    for h in held.iter().filter(|h| h.status != withdrawn) {
        row(&mut rows, &names.of(Some(h.branch_id))).accountability_records += 1;
    }
    let mut branches: Vec<BranchYear> = rows.into_values().collect();
    for b in &mut branches {
        b.plan_compilation_rate = ratio(b.covered_by_branch_plan, b.projects_under_warranty);
        b.visit_execution_rate = ratio(b.visits_done_on_time, b.visit_items_due);
        b.complaint_satisfaction_rate =
            ratio(b.complaint_evaluations_satisfied, b.complaint_evaluations);
        b.satisfaction_rate = ratio(b.satisfied, b.answers);
        b.clocks_on_time_rate = ratio(b.clocks_met, b.clocks_due);
    }

    // twelve months a branch, so that every chart has its whole year
    let mut by_month = vec![];
    for b in &branches {
        let id = b.branch.as_ref().map(|b| b.id);
        for month in 1..=12 {
            let complaints = months
                .iter()
                .find(|r| r.branch_id == id && r.month == month)
                .map_or(0, |r| r.complaints);
            let (answers, satisfied) = satisfaction
                .by_month
                .iter()
                .find(|r| r.branch.as_ref().map(|b| b.id) == id && r.month == month)
                .map_or((0, 0), |r| (r.levels.answers, r.levels.satisfied));
            by_month.push(BranchMonth {
                branch: b.branch.clone(),
                month,
                complaints,
                answers,
                satisfied,
                satisfaction_rate: ratio(satisfied, answers),
            });
        }
    }
    let mut unsatisfied_projects: Vec<UnsatisfiedProject> = unsatisfied
        .iter()
        .map(|p| {
            let mine = actions.iter().filter(|a| a.project_id == p.project_id);
            UnsatisfiedProject {
                project_id: p.project_id,
                project_name: p.project_name.clone(),
                branch: p.branch.clone(),
                answers: p.levels.answers,
                dissatisfied: p.levels.answers - p.levels.satisfied,
                corrective_actions: mine.clone().count() as i64,
                corrective_actions_verified: mine.filter(|a| a.status == verified).count() as i64,
            }
        })
        .collect();
    unsatisfied_projects.sort_by_key(|p| (-p.dissatisfied, p.project_id));
    Ok(AnnualSummary {
        year,
        period,
        generated_at: Utc.from_utc_datetime(&now),
        branches,
        by_month,
        unsatisfied_projects,
        corrective_actions: actions
            .into_iter()
            .map(|a| CorrectiveItem {
                id: a.id,
                branch: names.of(Some(a.branch_id)),
                project_id: a.project_id,
                project_name: a.project_name,
                complaint_id: a.complaint_id,
                cause_analysis: a.cause_analysis,
                measures: a.measures,
                responsible: a.responsible,
                due_on: a.due_on,
                status: a
                    .status
                    .parse()
                    .unwrap_or(crate::models::management::CorrectiveStatus::Open),
                returns: i64::from(a.returns),
            })
            .collect(),
        accountability: held
            .into_iter()
            .map(|h| AccountabilityItem {
                id: h.id,
                at: Utc.from_utc_datetime(&h.created_at),
                branch: names.of(Some(h.branch_id)),
                complaint_id: h.complaint_id,
                project_id: h.project_id,
                project_name: h.project_name,
                project_department_id: h.project_department_id,
                person: h.person,
                measure: h
                    .measure
                    .parse()
                    .unwrap_or(crate::models::management::AccountabilityMeasure::Other),
                fine_amount: h.fine_fen.map(|f| f as f64 / 100.0),
                reason: h.reason,
                status: h
                    .status
                    .parse()
                    .unwrap_or(crate::models::management::AccountabilityStatus::Recorded),
            })
            .collect(),
    })
}

const BRANCHES: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col(
        "projects_under_warranty",
        "projects_under_warranty",
        Kind::Integer,
    ),
    col(
        "covered_by_branch_plan",
        "covered_by_branch_plan.1",
        Kind::Integer,
    ),
    col(
        "plan_compilation_rate",
        "plan_compilation_rate",
        Kind::Ratio,
    ),
    col("visit_items_due", "visit_items_due", Kind::Integer),
    col("visits_done_on_time", "visits_done_on_time", Kind::Integer),
    col("visit_execution_rate", "visit_execution_rate", Kind::Ratio),
    col("visits", "visits", Kind::Integer),
    col("failed_visits", "failed_visits.1", Kind::Integer),
    col("complaints", "complaints.1", Kind::Integer),
    col("repeat_complaints", "repeat_complaints.1", Kind::Integer),
    col(
        "complaint_evaluations",
        "complaint_evaluations",
        Kind::Integer,
    ),
    col(
        "complaint_evaluations_satisfied",
        "complaint_evaluations_satisfied",
        Kind::Integer,
    ),
    col(
        "complaint_satisfaction_rate",
        "complaint_satisfaction_rate",
        Kind::Ratio,
    ),
    col("answers", "answers.1", Kind::Integer),
    col("satisfied", "satisfied.1", Kind::Integer),
    col("satisfaction_rate", "satisfaction_rate", Kind::Ratio),
    col("repairs", "repairs.1", Kind::Integer),
    col("repeat_repairs", "repeat_repairs.1", Kind::Integer),
    col("clocks_due", "clocks_due", Kind::Integer),
    col("clocks_met", "clocks_met", Kind::Integer),
    col("clocks_on_time_rate", "clocks_on_time_rate", Kind::Ratio),
    col(
        "unsatisfied_projects",
        "unsatisfied_projects",
        Kind::Integer,
    ),
    col("corrective_actions", "corrective_actions", Kind::Integer),
    col(
        "corrective_actions_verified",
        "corrective_actions_verified.1",
        Kind::Integer,
    ),
    col(
        "accountability_records",
        "accountability_records",
        Kind::Integer,
    ),
];

const MONTHS: &[Column] = &[
    col("branch", "branch", Kind::Text),
    col("month", "month.1", Kind::Integer),
    col("complaints", "complaints.1", Kind::Integer),
    col("answers", "answers.2", Kind::Integer),
    col("satisfied", "satisfied.1", Kind::Integer),
    col("satisfaction_rate", "satisfaction_rate", Kind::Ratio),
];

const UNSATISFIED: &[Column] = &[
    col("project_id", "project_id", Kind::Integer),
    col("project_name", "project_name", Kind::Text),
    col("branch", "branch", Kind::Text),
    col("answers", "answers.2", Kind::Integer),
    col("dissatisfied", "dissatisfied.1", Kind::Integer),
    col("corrective_actions", "corrective_actions", Kind::Integer),
    col(
        "corrective_actions_verified",
        "corrective_actions_verified.2",
        Kind::Integer,
    ),
];

const ACTIONS: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("branch", "branch", Kind::Text),
    col("project_id", "project_id", Kind::Integer),
    col("project_name", "project_name", Kind::Text),
    col("complaint_id", "complaint_id", Kind::Integer),
    col("cause_analysis", "cause_analysis", Kind::Text),
    col("measures", "measures", Kind::Text),
    col("responsible", "responsible", Kind::Text),
    col("due_on", "due_on", Kind::Date),
    col("status", "status.2", Kind::Text),
    col("returns", "returns", Kind::Integer),
];

const HELD: &[Column] = &[
    col("id", "id", Kind::Integer),
    col("at", "at.1", Kind::DateTime),
    col("branch", "branch", Kind::Text),
    col("complaint_id", "complaint_id", Kind::Integer),
    col("project_id", "project_id", Kind::Integer),
    col("project_name", "project_name", Kind::Text),
    col(
        "project_department_id",
        "project_department_id",
        Kind::Integer,
    ),
    col("person", "person", Kind::Text),
    col("measure", "measure", Kind::Text),
    col("fine_amount", "fine_amount", Kind::Number),
    col("reason", "reason", Kind::Text),
    col("status", "status.2", Kind::Text),
];

impl AnnualSummary {
    /// The sections as sheets; the monthly sheet carries a chart per
    /// branch: complaints (columns) and the satisfaction rate (a line).
    pub fn sheets(&self, tz: Tz) -> Vec<Sheet> {
        let mut branches = Sheet::new("branches", "分公司汇总", BRANCHES);
        for b in &self.branches {
            branches.push(vec![
                branch_cell(&b.branch),
                b.projects_under_warranty.into(),
                b.covered_by_branch_plan.into(),
                b.plan_compilation_rate.into(),
                b.visit_items_due.into(),
                b.visits_done_on_time.into(),
                b.visit_execution_rate.into(),
                b.visits.into(),
                b.failed_visits.into(),
                b.complaints.into(),
                b.repeat_complaints.into(),
                b.complaint_evaluations.into(),
                b.complaint_evaluations_satisfied.into(),
                b.complaint_satisfaction_rate.into(),
                b.answers.into(),
                b.satisfied.into(),
                b.satisfaction_rate.into(),
                b.repairs.into(),
                b.repeat_repairs.into(),
                b.clocks_due.into(),
                b.clocks_met.into(),
                b.clocks_on_time_rate.into(),
                b.unsatisfied_projects.into(),
                b.corrective_actions.into(),
                b.corrective_actions_verified.into(),
                b.accountability_records.into(),
            ]);
        }
        let mut months = Sheet::new("by_month", "月度投诉与满意率", MONTHS);
        for (i, m) in self.by_month.iter().enumerate() {
            months.push(vec![
                branch_cell(&m.branch),
                i64::from(m.month).into(),
                m.complaints.into(),
                m.answers.into(),
                m.satisfied.into(),
                m.satisfaction_rate.into(),
            ]);
            if m.month == 12 {
                let name = match &branch_cell(&m.branch) {
                    Cell::Text(t) => t.clone(),
                    _ => String::new(),
                };
                months.charts.push(Chart {
                    title: format!(
                        "{name} {} 投诉数与满意率 complaints and satisfaction",
                        self.year
                    ),
                    first_row: i + 1 - 12,
                    last_row: i,
                    categories: 1,
                    columns: 2,
                    line: 5,
                });
            }
        }
        let mut unsatisfied = Sheet::new("unsatisfied_projects", "未达满意工程", UNSATISFIED);
        for p in &self.unsatisfied_projects {
            unsatisfied.push(vec![
                p.project_id.into(),
                Cell::from(p.project_name.as_str()),
                branch_cell(&p.branch),
                p.answers.into(),
                p.dissatisfied.into(),
                p.corrective_actions.into(),
                p.corrective_actions_verified.into(),
            ]);
        }
        let mut actions = Sheet::new("corrective_actions", "纠正措施", ACTIONS);
        for a in &self.corrective_actions {
            actions.push(vec![
                a.id.into(),
                branch_cell(&a.branch),
                a.project_id.into(),
                Cell::from(a.project_name.as_str()),
                a.complaint_id.into(),
                Cell::from(a.cause_analysis.as_str()),
                Cell::from(a.measures.as_str()),
                Cell::from(a.responsible.as_str()),
                Cell::Date(a.due_on),
                Cell::from(a.status.as_str()),
                a.returns.into(),
            ]);
        }
        let mut held = Sheet::new("accountability", "责任追究", HELD);
        for h in &self.accountability {
            held.push(vec![
                h.id.into(),
                Cell::DateTime(calendar::local_time(h.at.naive_utc(), tz)),
                branch_cell(&h.branch),
                h.complaint_id.into(),
                h.project_id.into(),
                Cell::from(h.project_name.as_str()),
                h.project_department_id.into(),
                Cell::from(h.person.as_str()),
                Cell::from(h.measure.as_str()),
                h.fine_amount.map_or(Cell::Empty, Cell::Number),
                Cell::from(h.reason.as_str()),
                Cell::from(h.status.as_str()),
            ]);
        }
        vec![branches, months, unsatisfied, actions, held]
    }
}
