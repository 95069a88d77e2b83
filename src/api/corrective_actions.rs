//! `/corrective-actions`: the cause analyses and measures for projects not
//! brought to the owner's satisfaction (000 §1.4), carried out by a date
//! and verified by the branch.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deadlines::{deadline_view, DeadlineView};
use super::extract::ValidQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::management::{CorrectiveRecord, CorrectiveStatus};
use crate::services::corrective_actions::{
    self as service, CorrectiveCompletion, CorrectiveDetail, CorrectiveFilter,
    CorrectiveVerification, NewCorrectiveAction,
};
use crate::AppState;

/// A corrective action.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectiveActionView {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub project_department_id: i64,
    /// The complaint whose outcome it answers, if one does.
    pub complaint_id: Option<i64>,
    /// The year of the annual summary it belongs to.
    pub year: i32,
    pub status: CorrectiveStatus,
    pub cause_analysis: String,
    pub measures: String,
    /// Who carries the measures out.
    pub responsible: String,
    /// By when (company time zone).
    pub due_on: NaiveDate,
    /// What was done, as reported.
    pub result: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_by: Option<i64>,
    pub verification_note: Option<String>,
    /// Why it was last sent back.
    pub return_reason: Option<String>,
    /// How many times it was sent back.
    pub returns: i32,
    pub created_by: i64,
    /// Also sent as `ETag`; steps honour `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<CorrectiveRecord> for CorrectiveActionView {
    type Error = AppError;
    fn try_from(a: CorrectiveRecord) -> AppResult<Self> {
        Ok(CorrectiveActionView {
            id: a.id,
            project_id: a.project_id,
            customer_id: a.customer_id,
            branch_id: a.branch_id,
            project_department_id: a.project_department_id,
            complaint_id: a.complaint_id,
            year: a.year,
            status: CorrectiveStatus::from_db(&a.status)?,
            cause_analysis: a.cause_analysis,
            measures: a.measures,
            responsible: a.responsible,
            due_on: a.due_on,
            result: a.result,
            done_at: a.done_at.map(utc),
            done_by: a.done_by,
            verified_at: a.verified_at.map(utc),
            verified_by: a.verified_by,
            verification_note: a.verification_note,
            return_reason: a.return_reason,
            returns: a.returns,
            created_by: a.created_by,
            version: a.version,
            created_at: utc(a.created_at),
            updated_at: utc(a.updated_at),
        })
    }
}

/// A corrective action and its clocks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CorrectiveActionDetailView {
    #[serde(flatten)]
    pub action: CorrectiveActionView,
    /// `corrective_action.complete`: due, met, late and why.
    pub deadlines: Vec<DeadlineView>,
}

fn answer_of(status: StatusCode, d: CorrectiveDetail) -> AppResult<Answer> {
    let at = (d.action.id, d.action.version);
    let versions = d.policy_versions;
    let view = CorrectiveActionDetailView {
        action: CorrectiveActionView::try_from(d.action)?,
        deadlines: d
            .clocks
            .into_iter()
            .map(|c| {
                let v = versions.get(&c.policy_id).copied().unwrap_or(1);
                deadline_view(c, v)
            })
            .collect::<AppResult<_>>()?,
    };
    super::record_answer(status, "/api/v1/corrective-actions", at, view)
}

crate::list_query! {
    CorrectiveListQuery {
        pub project_id: Option<i64>,
        pub complaint_id: Option<i64>,
        pub branch_id: Option<i64>,
        pub project_department_id: Option<i64>,
        /// The year of the annual summary.
        #[validate(range(min = 2000, max = 9999))]
        #[param(minimum = 2000, maximum = 9999)]
        pub year: Option<i32>,
        pub status: Option<CorrectiveStatus>,
    }
}

crate::create_handler! {
    /// Record a corrective action
    ///
    /// By the responsible project department (its project manager or staff),
    /// for a project in its scope not brought to the owner's satisfaction: the
    /// cause analysis, the measures, who carries them out and by when. Starts
    /// `corrective_action.complete`, due when `due_on` ends (company time
    /// zone); overdue, the branch engineering department hears of it. Send an
    /// `Idempotency-Key`: a retried request never records twice.
    #[utoipa::path(post, path = "/api/v1/corrective-actions", tag = "corrective actions", operation_id = "record_corrective_action", request_body = NewCorrectiveAction,
        responses(
            (status = 201, description = "Recorded", body = CorrectiveActionDetailView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`project_id` or `complaint_id` names nothing in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields: blank text, `due_on` before today, a complaint of another project", body = Problem, content_type = "application/problem+json"),
        ))]
    record(NewCorrectiveAction) => service::record, answer_of
}

/// List corrective actions
///
/// Those of your scope, newest first; staff only (customer accounts 403).
#[utoipa::path(get, path = "/api/v1/corrective-actions", tag = "corrective actions", operation_id = "list_corrective_actions", params(CorrectiveListQuery),
    responses(
        (status = 200, description = "A page of corrective actions", body = ListResponse<CorrectiveActionView>),
        (status = 403, description = "Customer accounts do not read them", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<CorrectiveListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = CorrectiveFilter {
        project_id: q.project_id,
        complaint_id: q.complaint_id,
        branch_id: q.branch_id,
        project_department_id: q.project_department_id,
        year: q.year,
        status: q.status,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(
        paged,
        CorrectiveActionView::try_from,
    )?))
}

crate::read_handler! {
    /// A corrective action and its clock
    #[utoipa::path(get, path = "/api/v1/corrective-actions/{id}", tag = "corrective actions", operation_id = "get_corrective_action",
        params(("id" = i64, Path, description = "Corrective action id")),
        responses(
            (status = 200, description = "The corrective action", body = CorrectiveActionDetailView, headers(("ETag" = String))),
            (status = 404, description = "No such corrective action in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Report the measures carried out
    ///
    /// By the responsible project department: settles
    /// `corrective_action.complete` (after its date only with a
    /// `late_reason`); the branch engineering department verifies next.
    #[utoipa::path(post, path = "/api/v1/corrective-actions/{id}/completion", tag = "corrective actions", operation_id = "complete_corrective_action", request_body = CorrectiveCompletion,
        params(("id" = i64, Path, description = "Corrective action id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Reported done", body = CorrectiveActionDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such corrective action in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `open` (`invalid_transition`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A blank `result`, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    complete(CorrectiveCompletion) => service::complete, answer_of
}

crate::step_handler! {
    /// Verify the measures, or return them
    ///
    /// By the branch engineering department: `verified` is final;
    /// `returned` (with the `comment` saying why) sends it back to the
    /// department, `corrective_action.complete` running again for 30 days.
    #[utoipa::path(post, path = "/api/v1/corrective-actions/{id}/verification", tag = "corrective actions", operation_id = "verify_corrective_action", request_body = CorrectiveVerification,
        params(("id" = i64, Path, description = "Corrective action id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Verified or returned", body = CorrectiveActionDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such corrective action in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `done` (`invalid_transition`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Returned without a `comment`", body = Problem, content_type = "application/problem+json"),
        ))]
    verify(CorrectiveVerification) => service::verify, answer_of
}
