//! `/rectification-plans`: a serious complaint's plan, written, reviewed,
//! approved, revised and reported on.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ValidJson;
use super::utc;
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::complaint::{Milestone, PlanStatus, PlanVersion, Progress};
use crate::services::rectification::{
    self as service, MilestoneInput, NewPlan, PlanDetail, PlanPatch, PlanReview, PlanRevision,
    PlanSubmission, ProgressInput, Resources,
};
use crate::services::Approval;
use crate::AppState;

/// A dated milestone of the plan; its deadline ends with the date.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MilestoneView {
    pub id: i64,
    /// 0 is the start.
    pub position: i32,
    pub due_on: NaiveDate,
    pub description: String,
    /// The day it was reported done; `null` while open.
    pub done_on: Option<NaiveDate>,
    /// The plan's revision it belongs to.
    pub revision: i32,
}

impl From<Milestone> for MilestoneView {
    fn from(m: Milestone) -> Self {
        MilestoneView {
            id: m.id,
            position: m.position,
            due_on: m.due_on,
            description: m.description,
            done_on: m.done_on,
            revision: m.revision,
        }
    }
}

/// A progress report against the plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProgressView {
    pub id: i64,
    pub reported_on: NaiveDate,
    pub percent: i32,
    pub note: String,
    pub resources_in_place: bool,
    /// The milestones it reported done.
    pub milestones_done: Vec<i64>,
    pub reported_by: i64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<Progress> for ProgressView {
    type Error = AppError;
    fn try_from(p: Progress) -> AppResult<Self> {
        Ok(ProgressView {
            id: p.id,
            reported_on: p.reported_on,
            percent: p.percent,
            note: p.note,
            resources_in_place: p.resources_in_place,
            milestones_done: serde_json::from_str(&p.milestones_done)
                .map_err(AppError::internal)?,
            reported_by: p.reported_by,
            created_at: utc(p.created_at),
        })
    }
}

/// A rectification plan (专项整改方案).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub complaint_id: i64,
    pub status: PlanStatus,
    /// The content's version: one more for every change of it.
    pub revision: i32,
    /// The current milestones, start first.
    pub milestones: Vec<MilestoneView>,
    pub resources: Resources,
    pub expected_result: String,
    pub created_by: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<i64>,
    pub review_comment: Option<String>,
    /// The review's statement that the plan answers every point of the complaint.
    pub covers_all_points: Option<bool>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<i64>,
    pub approval_comment: Option<String>,
    /// The last progress report's figure.
    pub progress_percent: i32,
    pub progress: Vec<ProgressView>,
    /// Also sent as `ETag`; changes and steps honour `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<PlanDetail> for PlanView {
    type Error = AppError;
    fn try_from(d: PlanDetail) -> AppResult<Self> {
        let p = d.plan;
        Ok(PlanView {
            id: p.id,
            complaint_id: p.complaint_id,
            status: PlanStatus::from_db(&p.status)?,
            revision: p.revision,
            milestones: d.milestones.into_iter().map(MilestoneView::from).collect(),
            resources: d.resources,
            expected_result: p.expected_result,
            created_by: p.created_by,
            submitted_at: p.submitted_at.map(utc),
            reviewed_at: p.reviewed_at.map(utc),
            reviewed_by: p.reviewed_by,
            review_comment: p.review_comment,
            covers_all_points: p.covers_all_points,
            approved_at: p.approved_at.map(utc),
            approved_by: p.approved_by,
            approval_comment: p.approval_comment,
            progress_percent: p.progress_percent,
            progress: d
                .progress
                .into_iter()
                .map(ProgressView::try_from)
                .collect::<AppResult<_>>()?,
            version: p.version,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        })
    }
}

/// One version of a plan's content.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanVersionView {
    pub revision: i32,
    pub milestones: Vec<MilestoneInput>,
    pub resources: Resources,
    pub expected_result: String,
    /// Why the milestones changed after approval; `null` for drafts.
    pub reason: Option<String>,
    pub changed_by: i64,
    pub changed_at: DateTime<Utc>,
}

impl TryFrom<PlanVersion> for PlanVersionView {
    type Error = AppError;
    fn try_from(v: PlanVersion) -> AppResult<Self> {
        Ok(PlanVersionView {
            revision: v.revision,
            milestones: serde_json::from_str(&v.milestones).map_err(AppError::internal)?,
            resources: serde_json::from_str(&v.resources).map_err(AppError::internal)?,
            expected_result: v.expected_result,
            reason: v.reason,
            changed_by: v.changed_by,
            changed_at: utc(v.changed_at),
        })
    }
}

/// Every version of a plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanVersionsView {
    pub items: Vec<PlanVersionView>,
}

fn answer_of(status: StatusCode, plan: PlanDetail) -> AppResult<Answer> {
    let at = (plan.plan.id, plan.plan.version);
    super::record_answer(
        status,
        "/api/v1/rectification-plans",
        at,
        PlanView::try_from(plan)?,
    )
}

/// Write the rectification plan of a complaint
///
/// By the project department, for a complaint judged ours and serious
/// (`awaiting_plan`): at least a start and a finish milestone in date
/// order, the people (at least one), equipment and materials, the expected
/// result. The plan starts as `draft`.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/rectification-plans", tag = "rectification plans", operation_id = "create_rectification_plan", request_body = NewPlan,
    params(("id" = i64, Path, description = "Complaint id")),
    responses(
        (status = 201, description = "Written", body = PlanView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, description = "Only the project department writes plans", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The complaint does not await a plan (`complaint_not_awaiting_plan`), or has one (`plan_exists`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid milestones, resources or result, or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<NewPlan>,
) -> AppResult<HttpResponse> {
    let under = (id.into_inner(), body.0);
    super::create(
        state,
        req,
        caller,
        under,
        |conn, ctx, (id, plan)| service::create(conn, ctx, *id, plan),
        answer_of,
    )
    .await
}

crate::read_handler! {
    /// A rectification plan
    #[utoipa::path(get, path = "/api/v1/rectification-plans/{id}", tag = "rectification plans", operation_id = "get_rectification_plan",
        params(("id" = i64, Path, description = "Plan id")),
        responses(
            (status = 200, description = "The plan with its milestones and progress", body = PlanView, headers(("ETag" = String))),
            (status = 404, description = "No such plan in your scope (customer accounts see none)", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Change a plan being written or returned
    ///
    /// Every change is a new version of the content (`GET …/versions`).
    #[utoipa::path(patch, path = "/api/v1/rectification-plans/{id}", tag = "rectification plans", operation_id = "update_rectification_plan", request_body = PlanPatch,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Changed", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department changes plans", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not draft or returned (`plan_not_editable`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    update(PlanPatch) => service::update, answer_of
}

crate::step_handler! {
    /// Submit the plan for review
    ///
    /// By the project department: `submitted`, and the branch engineering
    /// department reviews within 1 day (`rectification.review`).
    #[utoipa::path(post, path = "/api/v1/rectification-plans/{id}/submission", tag = "rectification plans", operation_id = "submit_rectification_plan", request_body = PlanSubmission,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Submitted", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department submits", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not draft or returned (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "An upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    submit(PlanSubmission) => service::submit, answer_of
}

crate::step_handler! {
    /// Review the plan
    ///
    /// By the branch engineering department within 1 day of submission:
    /// `pass` (only with `covers_all_points: true`) → `reviewed`, and the branch
    /// leader's 1-day approval clock starts now; `return` with a comment.
    #[utoipa::path(post, path = "/api/v1/rectification-plans/{id}/review", tag = "rectification plans", operation_id = "review_rectification_plan", request_body = PlanReview,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Reviewed", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department reviews", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not submitted (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A pass of a plan that misses points (`plan_incomplete`), a return without a comment, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    review(PlanReview) => service::review, answer_of
}

crate::step_handler! {
    /// Approve the plan
    ///
    /// By the branch leader within 1 day of the review: `approve` → `approved`,
    /// each open milestone becomes a deadline and the complaint `rectifying`;
    /// `return` with a comment.
    #[utoipa::path(post, path = "/api/v1/rectification-plans/{id}/approval", tag = "rectification plans", operation_id = "approve_rectification_plan", request_body = Approval,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Decided", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch leader approves", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not reviewed (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A return without a comment, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    approve(Approval) => service::approve, answer_of
}

crate::step_handler! {
    /// Change the milestones of an approved plan
    ///
    /// By the project department, with the reason. For a complaint sent to the
    /// group the plan goes back to `submitted` and is reviewed and approved
    /// again; otherwise the revision is recorded, the plan stays `approved` and
    /// the new milestones' clocks start at once. Every version is kept.
    #[utoipa::path(post, path = "/api/v1/rectification-plans/{id}/revision", tag = "rectification plans", operation_id = "revise_rectification_plan", request_body = PlanRevision,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Revised", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department revises", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not approved (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    revise(PlanRevision) => service::revise, answer_of
}

crate::step_handler! {
    /// Report progress
    ///
    /// By the project department, against an approved plan: per cent done,
    /// what happened, whether the resources are in place, and the milestones
    /// done now (each settles its deadline; after its date only with a
    /// `late_reason`).
    #[utoipa::path(post, path = "/api/v1/rectification-plans/{id}/progress", tag = "rectification plans", operation_id = "report_rectification_progress", request_body = ProgressInput,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Recorded", body = PlanView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department reports", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "The plan is not approved now (`invalid_transition`: never approved, or under re-review after a revision) or its complaint is closed (`complaint_closed`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Unknown or done milestones, a future date, or a late milestone without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    progress(ProgressInput) => service::report_progress, answer_of
}

/// Every version of a plan
///
/// The content as first written and after every change, oldest first.
#[utoipa::path(get, path = "/api/v1/rectification-plans/{id}/versions", tag = "rectification plans", operation_id = "list_rectification_plan_versions",
    params(("id" = i64, Path, description = "Plan id")),
    responses(
        (status = 200, description = "The versions", body = PlanVersionsView),
        (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn versions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let rows = state
        .db_as(caller, move |conn, actor| {
            service::versions(conn, &actor, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlanVersionsView {
        items: rows
            .into_iter()
            .map(PlanVersionView::try_from)
            .collect::<AppResult<_>>()?,
    }))
}
