//! `/api/v1/reports/…`: what management reads, as JSON, CSV or Excel.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::export::{self, Headings, ReportFormat};
use super::extract::ValidQuery;
use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::kit::deadlines::calendar;
use crate::services::reports::deadlines::{self, DeadlineReport};
use crate::services::reports::{self, AreaInput, Period, PeriodInput};
use crate::AppState;

/// A section of a report, for its CSV answer (each report names its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// deadlines: the figures per branch and rule, then the totals
    Rules,
    /// deadlines: the ten open clocks longest past due
    MostOverdue,
}

impl ReportSection {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportSection::Rules => "rules",
            ReportSection::MostOverdue => "most_overdue",
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
    #[param(inline)]
    pub format: Option<ReportFormat>,
    /// Headings of the CSV and workbook: `zh` (the forms' Chinese heading,
    /// the field name beneath; default) or `en` (the field name).
    #[param(inline)]
    pub lang: Option<Headings>,
    /// The CSV answer's section (default the report's first).
    #[param(inline)]
    pub section: Option<ReportSection>,
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
        (status = 422, description = "A period named twice or half (`from` without `to`), or ending before it begins; a unit of the wrong kind; a section this report has not", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deadline_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: ValidQuery<ReportQuery>,
) -> AppResult<HttpResponse> {
    let query = query.0;
    let format = export::negotiate(query.format, &req);
    let (tz, now) = (state.config.tz, state.clock.now_naive());
    let today = calendar::local_day(now, tz);
    let period = Period::resolve(&query.period(), today)?;
    let area_input = query.area();
    let report: DeadlineReport = state
        .db_as(caller, move |conn, actor| {
            let area = reports::area(conn, &actor, &area_input)?;
            deadlines::report(conn, &area, period, tz, now)
        })
        .await?;
    export::answer(
        format,
        query.lang.unwrap_or_default(),
        query.section.map(ReportSection::as_str),
        &format!("deadlines-{}-{}", period.from, period.to),
        &report,
        || report.sheets(tz),
    )
}
