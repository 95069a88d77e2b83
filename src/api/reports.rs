//! `/api/v1/reports/…`: what management reads, as JSON, CSV or Excel.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::export::{self, Headings, ReportFormat};
use super::extract::ValidQuery;
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{AppResult, Problem};
use crate::kit::deadlines::calendar;
use crate::services::reports::annual::{self, AnnualSummary};
use crate::services::reports::deadlines::{self, DeadlineReport};
use crate::services::reports::kpis::{self, KpiReport};
use crate::services::reports::repeats::{self, RepeatReport};
use crate::services::reports::satisfaction::{self, SatisfactionReport};
use crate::services::reports::sheet::Sheet;
use crate::services::reports::{self, Area, AreaInput, Period, PeriodInput};
use crate::AppState;

/// A section of a report, for its CSV answer (each report names its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// deadlines: the figures per branch and rule, then the totals
    Rules,
    /// deadlines: the ten open clocks longest past due
    MostOverdue,
    /// kpis: the yearly plan compilation rate per branch
    PlanCompilation,
    /// kpis: the monthly plan compilation rate per branch and month
    PlanCompilationMonthly,
    /// kpis: the visit execution rate per branch
    VisitExecution,
    /// kpis: the ten customers complained about most
    ComplaintsByCustomer,
    /// kpis: the ten projects complained about most
    ComplaintsByProject,
    /// kpis: complaint feedback satisfaction per branch
    ComplaintSatisfaction,
    /// repeats: the counts per branch
    Counts,
    /// repeats: visits whose owner could not be reached
    FailedVisits,
    /// repeats: complaints about the same matter again
    RepeatComplaints,
    /// repeats: the third repair or later at the same place
    RepeatRepairs,
    /// satisfaction: the five levels per branch and source
    BySource,
    /// satisfaction: the survey factors' averages per branch
    Factors,
    /// satisfaction: the five levels per project
    ByProject,
    /// satisfaction: the five levels per branch and month; annual summary:
    /// complaints and satisfaction per branch and month
    ByMonth,
    /// annual summary: the year per branch
    Branches,
    /// annual summary: the projects not brought to satisfaction
    UnsatisfiedProjects,
    /// annual summary: the corrective actions of the year
    CorrectiveActions,
    /// annual summary: the accountability records of the year
    Accountability,
}

impl ReportSection {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportSection::Rules => "rules",
            ReportSection::MostOverdue => "most_overdue",
            ReportSection::PlanCompilation => "plan_compilation",
            ReportSection::PlanCompilationMonthly => "plan_compilation_monthly",
            ReportSection::VisitExecution => "visit_execution",
            ReportSection::ComplaintsByCustomer => "complaints_by_customer",
            ReportSection::ComplaintsByProject => "complaints_by_project",
            ReportSection::ComplaintSatisfaction => "complaint_satisfaction",
            ReportSection::Counts => "counts",
            ReportSection::FailedVisits => "failed_visits",
            ReportSection::RepeatComplaints => "repeat_complaints",
            ReportSection::RepeatRepairs => "repeat_repairs",
            ReportSection::BySource => "by_source",
            ReportSection::Factors => "factors",
            ReportSection::ByProject => "by_project",
            ReportSection::ByMonth => "by_month",
            ReportSection::Branches => "branches",
            ReportSection::UnsatisfiedProjects => "unsatisfied_projects",
            ReportSection::CorrectiveActions => "corrective_actions",
            ReportSection::Accountability => "accountability",
        }
    }
}

/// The period, the part of the company and the format of a report.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day of the period, company time (with `to`).
    #[validate(custom(function = "crate::kit::plausible_date"))]
    pub from: Option<NaiveDate>,
    /// Last day of the period, included (with `from`).
    #[validate(custom(function = "crate::kit::plausible_date"))]
    pub to: Option<NaiveDate>,
    /// A calendar year instead of `from`/`to` (alone, or with `quarter` or
    /// `month`). Nothing given: this year.
    #[validate(range(min = 1, max = 9998))]
    #[param(minimum = 1, maximum = 9998)]
    pub year: Option<i32>,
    /// A quarter of `year`.
    #[validate(range(min = 1, max = 4))]
    #[param(minimum = 1, maximum = 4)]
    pub quarter: Option<u32>,
    /// A month of `year`.
    #[validate(range(min = 1, max = 12))]
    #[param(minimum = 1, maximum = 12)]
    pub month: Option<u32>,
    /// Only this branch (in your scope).
    pub branch_id: Option<i64>,
    /// Only this project department (in your scope).
    pub project_department_id: Option<i64>,
    /// Only this project (in your scope).
    pub project_id: Option<i64>,
    /// `json` (default), `csv` or `xlsx`; wins over `Accept`.
    pub format: Option<ReportFormat>,
    /// Headings of the CSV and workbook: `zh` (the forms' Chinese heading,
    /// the field name beneath; default) or `en` (the field name).
    pub lang: Option<Headings>,
    /// The CSV answer's section (default the report's first).
    pub section: Option<ReportSection>,
}

/// Reads a report for the caller's area and answers it in the format
/// asked for: every report is read the same way.
async fn read<R, B, S>(
    state: web::Data<AppState>,
    caller: Caller,
    req: &HttpRequest,
    query: ReportQuery,
    name: &str,
    build: B,
    sheets: S,
) -> AppResult<HttpResponse>
where
    R: Serialize + Send + 'static,
    B: FnOnce(&mut DbConn, &Area, Period, Tz, NaiveDateTime) -> AppResult<R> + Send + 'static,
    S: FnOnce(&R, Tz) -> Vec<Sheet>,
{
    let format = export::negotiate(query.format, req);
    let (tz, now) = (state.config.tz, state.clock.now_naive());
    let period = Period::resolve(&query.period(), calendar::local_day(now, tz))?;
    let area_input = query.area();
    let report = state
        .db_as(caller, move |conn, actor| {
            let area = reports::area(conn, &actor, &area_input)?;
            build(conn, &area, period, tz, now)
        })
        .await?;
    export::answer(
        format,
        query.lang.unwrap_or_default(),
        query.section.map(ReportSection::as_str),
        &format!("{name}-{}-{}", period.from, period.to),
        &report,
        || sheets(&report, tz),
    )
}

impl ReportQuery {
    fn period(&self) -> PeriodInput {
        PeriodInput {
            from: self.from,
            to: self.to,
            year: self.year,
            quarter: self.quarter,
            month: self.month,
        }
    }

    fn area(&self) -> AreaInput {
        AreaInput {
            branch_id: self.branch_id,
            project_department_id: self.project_department_id,
            project_id: self.project_id,
        }
    }
}

/// Deadline compliance
///
/// Per rule and branch, of the clocks **started** in the period: `started`;
/// `met` (done by the due time), `met_late`, `overdue` (open and past due
/// now; a held clock is not late), `open` (running, not yet due) and
/// `cancelled`, which together make `started`; `due = met + met_late +
/// overdue` and `on_time_rate = met / due`; `time_on_hold_secs`, the time
/// the clocks were held; `median_secs` and `p90_secs`, the time from start
/// to done of the steps done (nearest rank). `totals` has the same per rule
/// over the whole area; `most_overdue` the ten open clocks longest past
/// due, who holds each and whom it was escalated to. A branch reads its
/// own clocks, the group all; customer accounts 403. CSV sections:
/// `rules`, `most_overdue`.
#[utoipa::path(get, path = "/api/v1/reports/deadlines", tag = "reports", operation_id = "report_deadlines",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report, as asked for",
            content((DeadlineReport = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 403, description = "Customer accounts read no reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period named twice or half (`from` without `to`), ending before it begins or longer than 10 years; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deadline_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    read(
        state,
        caller,
        &req,
        query.0,
        "deadlines",
        deadlines::report,
        |r: &DeadlineReport, tz| r.sheets(tz),
    )
    .await
}

/// The four indicators
///
/// The key performance indicators of visit and complaint management, per
/// branch, each with its numerator and denominator:
/// - **visit plan compilation rate** (回访计划编制完成率): of the projects
///   under warranty (any component) on a day of the period, those with an
///   item in an approved branch plan of the period's year
///   (`plan_compilation`), and month by month in an approved project plan
///   of that month (`plan_compilation_monthly`); `compile_clocks`: the
///   plans' 3-day compile clocks started in the period, met on time or not;
/// - **visit execution rate** (回访实施完成率): of the items of approved
///   plans planned on a day of the period, `done_on_time` (visited on or
///   before the day), `done_late`, `not_done` (the day has passed),
///   `replanned` (the owner could not be reached; counted apart) and
///   `upcoming`; `rate = done_on_time / (done_on_time + done_late +
///   not_done)`;
/// - **most complaints against one customer and one project**
///   (客户投诉最高次数): complaints received in the period, the maximum and
///   the top ten of each;
/// - **complaint feedback satisfaction** (客户投诉反馈满意度): of the owners'
///   evaluations recorded in the period, those `basically_satisfied` or
///   better, overall, of the first handling and after re-work; complaints
///   closed as not ours are counted apart.
///
/// CSV sections: `plan_compilation`, `plan_compilation_monthly`,
/// `visit_execution`, `complaints_by_customer`, `complaints_by_project`,
/// `complaint_satisfaction`.
#[utoipa::path(get, path = "/api/v1/reports/kpis", tag = "reports", operation_id = "report_kpis",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report, as asked for",
            content((KpiReport = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 403, description = "Customer accounts read no reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period named twice or half (`from` without `to`), ending before it begins or longer than 10 years; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn kpi_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    read(
        state,
        caller,
        &req,
        query.0,
        "kpis",
        kpis::report,
        |r: &KpiReport, _| r.sheets(),
    )
    .await
}

/// Repeats: the quarterly statistics
///
/// What the return-visit regulation asks each quarter, per branch (use
/// `year` and `quarter`, or any period): `failed_visits` of `visits` (made
/// in the period, the owner not reached), `repeat_complaints` of
/// `complaints` (received in the period about the same matter as an
/// earlier one), `repeat_repairs` of `repairs` (reported in the period, the
/// third or later at the same project, category and place). Each kind is
/// listed too, newest first (at most 500 each; the counts are whole), with
/// its project, customer and the record it repeats. CSV sections: `counts`,
/// `failed_visits`, `repeat_complaints`, `repeat_repairs`.
#[utoipa::path(get, path = "/api/v1/reports/repeats", tag = "reports", operation_id = "report_repeats",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report, as asked for",
            content((RepeatReport = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 403, description = "Customer accounts read no reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period named twice or half (`from` without `to`), ending before it begins or longer than 10 years; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn repeat_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    read(
        state,
        caller,
        &req,
        query.0,
        "repeats",
        repeats::report,
        |r: &RepeatReport, tz| r.sheets(tz),
    )
    .await
}

/// Satisfaction
///
/// What owners said in the period, on the five levels (很满意 … 不满意),
/// from three sources: the overall rating of visit surveys, the owners'
/// evaluations of complaint handling and their sign-offs of repairs. Each
/// group counts every level, `answers`, `satisfied`
/// (`basically_satisfied` and above) and `rate = satisfied / answers`:
/// `by_source` per branch and source; `by_project` (all sources, the
/// lowest rate first); `by_month` per branch and month (company time).
/// `factors`: per branch, the visit surveys' average mark of each of the
/// ten factors and of the weighted score. CSV sections: `by_source`,
/// `factors`, `by_project`, `by_month`.
#[utoipa::path(get, path = "/api/v1/reports/satisfaction", tag = "reports", operation_id = "report_satisfaction",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report, as asked for",
            content((SatisfactionReport = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 403, description = "Customer accounts read no reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period named twice or half (`from` without `to`), ending before it begins or longer than 10 years; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn satisfaction_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    read(
        state,
        caller,
        &req,
        query.0,
        "satisfaction",
        satisfaction::report,
        |r: &SatisfactionReport, _| r.sheets(),
    )
    .await
}

/// The year, the part of the company and the format of the annual summary.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnnualQuery {
    /// The calendar year (company time).
    #[validate(range(min = 2000, max = 9998))]
    #[param(minimum = 2000, maximum = 9998)]
    pub year: i32,
    /// Only this branch (in your scope).
    pub branch_id: Option<i64>,
    /// Only this project department (in your scope).
    pub project_department_id: Option<i64>,
    /// Only this project (in your scope).
    pub project_id: Option<i64>,
    /// `json` (default), `csv` or `xlsx`; wins over `Accept`.
    pub format: Option<ReportFormat>,
    /// Headings of the CSV and workbook: `zh` (default) or `en`.
    pub lang: Option<Headings>,
    /// The CSV answer's section (default `branches`).
    pub section: Option<ReportSection>,
}

/// The annual summary
///
/// What the quality management standard asks each year (§1.4), per branch
/// of your area: the four indicators (plan compilation, visit execution,
/// complaint feedback satisfaction; complaints and repeats), what owners
/// said (`answers`, `satisfied`, `satisfaction_rate` of visit surveys,
/// complaint evaluations and repair sign-offs), deadline compliance
/// (`clocks_met` of `clocks_due`, the clocks started in the year), failed
/// visits and third repairs, as the other reports count them over the same
/// year; `by_month`: complaints received and the satisfaction rate of every
/// month, per branch (the workbook draws them, a chart per branch);
/// `unsatisfied_projects`: the projects with an answer below
/// `basically_satisfied` in the year, the most dissatisfied first, with
/// their corrective actions; `corrective_actions`: every one of the year
/// with its state; `accountability`: the records made in the year
/// (withdrawn ones listed, not counted). CSV sections: `branches`,
/// `by_month`, `unsatisfied_projects`, `corrective_actions`,
/// `accountability`.
#[utoipa::path(get, path = "/api/v1/reports/annual-summary", tag = "reports", operation_id = "report_annual_summary",
    params(AnnualQuery),
    responses(
        (status = 200, description = "The summary, as asked for",
            content((AnnualSummary = "application/json"), (String = "text/csv"),
                (export::WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String, description = "For CSV and the workbook: the file name"))),
        (status = 400, description = "No `year`, or a parameter this report does not take", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Customer accounts read no reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A unit or project outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A year outside 2000–9998; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn annual_summary(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<AnnualQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let query = ReportQuery {
        from: None,
        to: None,
        year: Some(q.year),
        quarter: None,
        month: None,
        branch_id: q.branch_id,
        project_department_id: q.project_department_id,
        project_id: q.project_id,
        format: q.format,
        lang: q.lang,
        section: q.section,
    };
    read(
        state,
        caller,
        &req,
        query,
        "annual-summary",
        annual::report,
        |r: &AnnualSummary, tz| r.sheets(tz),
    )
    .await
}
