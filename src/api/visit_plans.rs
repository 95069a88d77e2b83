//! `/visit-plans`: branch and project visit plans, their items, compliance
//! reports, submission and approval.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::PageQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::visit::{
    ApprovalStatus, PlanItem, PlanItemStatus, PlanLevel, VisitKind, VisitMethod, VisitPlan,
};
use crate::services::visit_plans::rules::PlanRule;
use crate::services::visit_plans::{
    self as service, ComplianceReport, NewVisitPlan, PlanItemInput, PlanItemPatch, PlanReviewInput,
    PlanSubmissionInput, VisitPlanDetail,
};
use crate::AppState;

/// A visit of the plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanItemView {
    pub id: i64,
    pub project_id: i64,
    pub kind: VisitKind,
    pub method: VisitMethod,
    pub planned_on: NaiveDate,
    pub visitor_id: i64,
    pub status: PlanItemStatus,
    /// The visit record that carried it out.
    pub visit_id: Option<i64>,
    pub done_on: Option<NaiveDate>,
    /// The item it replaces (an on-site visit after a failed contact).
    pub replaces_item_id: Option<i64>,
    /// The rules it serves, e.g. `half_year_onsite`, `key_during_rain`.
    pub serves: Vec<PlanRule>,
    /// Beside each of `serves`, which occurrence it meets, in words:
    /// `half_year_onsite H1`, `key_during_rain April–June`.
    pub serves_text: Vec<String>,
}

impl PlanItemView {
    fn of(i: PlanItem, serves: Vec<(PlanRule, String)>) -> AppResult<Self> {
        let serves_text = serves
            .iter()
            .map(|(rule, label)| {
                let code = serde_json::to_value(rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                format!("{code} {label}")
            })
            .collect();
        Ok(PlanItemView {
            serves: serves.into_iter().map(|(rule, _)| rule).collect(),
            serves_text,
            id: i.id,
            project_id: i.project_id,
            kind: VisitKind::from_db(&i.kind)?,
            method: VisitMethod::from_db(&i.method)?,
            planned_on: i.planned_on,
            visitor_id: i.visitor_id,
            status: PlanItemStatus::from_db(&i.status)?,
            visit_id: i.visit_id,
            done_on: i.done_on,
            replaces_item_id: i.replaces_item_id,
        })
    }
}

/// A visit plan with its items and its compliance report.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitPlanView {
    pub id: i64,
    pub level: PlanLevel,
    pub org_unit_id: i64,
    pub year: i32,
    /// The month of a project plan; `null` for a branch plan.
    pub month: Option<i32>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub status: ApprovalStatus,
    pub created_by: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<i64>,
    pub review_comment: Option<String>,
    pub items: Vec<PlanItemView>,
    pub compliance: ComplianceReport,
    /// Also sent as `ETag`; item changes and steps honour `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A plan as listed (without items and report).
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitPlanSummary {
    pub id: i64,
    pub level: PlanLevel,
    pub org_unit_id: i64,
    pub year: i32,
    pub month: Option<i32>,
    pub status: ApprovalStatus,
    pub version: i32,
}

impl TryFrom<VisitPlan> for VisitPlanSummary {
    type Error = AppError;
    fn try_from(p: VisitPlan) -> AppResult<Self> {
        Ok(VisitPlanSummary {
            id: p.id,
            level: PlanLevel::from_db(&p.level)?,
            org_unit_id: p.org_unit_id,
            year: p.year,
            month: (p.month > 0).then_some(p.month),
            status: ApprovalStatus::from_db(&p.status)?,
            version: p.version,
        })
    }
}

impl TryFrom<VisitPlanDetail> for VisitPlanView {
    type Error = AppError;
    fn try_from(d: VisitPlanDetail) -> AppResult<Self> {
        let p = d.plan;
        Ok(VisitPlanView {
            id: p.id,
            level: PlanLevel::from_db(&p.level)?,
            org_unit_id: p.org_unit_id,
            year: p.year,
            month: (p.month > 0).then_some(p.month),
            period_start: p.period_start,
            period_end: p.period_end,
            status: ApprovalStatus::from_db(&p.status)?,
            created_by: p.created_by,
            submitted_at: p.submitted_at.map(utc),
            reviewed_at: p.reviewed_at.map(utc),
            reviewed_by: p.reviewed_by,
            review_comment: p.review_comment,
            items: d
                .items
                .into_iter()
                .map(|i| {
                    let serves = d.serves.get(&i.id).cloned().unwrap_or_default();
                    PlanItemView::of(i, serves)
                })
                .collect::<AppResult<_>>()?,
            compliance: d.report,
            version: p.version,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        })
    }
}

fn answer_of(status: StatusCode, plan: VisitPlanDetail) -> AppResult<Answer> {
    let at = (plan.plan.id, plan.plan.version);
    super::record_answer(
        status,
        "/api/v1/visit-plans",
        at,
        VisitPlanView::try_from(plan)?,
    )
}

crate::create_handler! {
    /// Compile a visit plan
    ///
    /// A branch plan (`level: branch`, a branch, a year) by the branch
    /// engineering department; a project plan (`level: project`, a project
    /// department, a year and month) by the project manager. With
    /// `generate: true` the draft already holds the fewest visits that satisfy
    /// every frequency and season rule for every project under warranty in
    /// scope, each with a visitor of the rank the customer needs, spread evenly.
    #[utoipa::path(post, path = "/api/v1/visit-plans", tag = "visit plans", operation_id = "create_visit_plan", request_body = NewVisitPlan,
        responses(
            (status = 201, description = "Compiled", body = VisitPlanView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Not the role that compiles this level", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`org_unit_id` names no unit in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "The unit has its plan for the period (`plan_exists`)", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, or no visitor senior enough for a customer (`no_eligible_visitor`)", body = Problem, content_type = "application/problem+json"),
        ))]
    create(NewVisitPlan) => service::create, answer_of
}

/// List visit plans
#[utoipa::path(get, path = "/api/v1/visit-plans", tag = "visit plans", operation_id = "list_visit_plans", params(PageQuery),
    responses(
        (status = 200, description = "A page of plans, newest first", body = ListResponse<VisitPlanSummary>),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = page(query.0.limit, query.0.cursor.as_deref())?;
    let paged = state
        .db_as(caller, move |conn, actor| service::list(conn, &actor, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, VisitPlanSummary::try_from)?))
}

crate::read_handler! {
    /// A visit plan
    #[utoipa::path(get, path = "/api/v1/visit-plans/{id}", tag = "visit plans", operation_id = "get_visit_plan",
        params(("id" = i64, Path, description = "Plan id")),
        responses(
            (status = 200, description = "The plan, its items and its compliance report", body = VisitPlanView, headers(("ETag" = String))),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => service::get, answer_of
}

crate::read_handler! {
    /// A plan's compliance report
    ///
    /// For each project under warranty in scope, each rule: required, planned,
    /// and whether it is met.
    #[utoipa::path(get, path = "/api/v1/visit-plans/{id}/compliance", tag = "visit plans", operation_id = "visit_plan_compliance",
        params(("id" = i64, Path, description = "Plan id")),
        responses(
            (status = 200, description = "The report", body = ComplianceReport),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    compliance => service::compliance, |status, report| super::answer(status, None, None, report)
}

crate::step_handler! {
    /// Add a visit to a plan
    ///
    /// While the plan is `draft` or `returned`, by its compiler. The visitor
    /// must be of the plan's unit and of the rank the customer needs (`422
    /// visitor_rank_too_low` names the tier and the rank).
    #[utoipa::path(post, path = "/api/v1/visit-plans/{id}/items", tag = "visit plans", operation_id = "add_visit_plan_item", request_body = PlanItemInput,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The plan's `ETag` (version) last read")),
        responses(
            (status = 200, description = "The plan with the item", body = VisitPlanView, headers(("ETag" = String))),
            (status = 403, description = "Not the plan's compiler", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan, or a project not under warranty in it", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not draft or returned (`plan_not_editable`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A day outside the period or an ineligible visitor", body = Problem, content_type = "application/problem+json"),
        ))]
    add_item(PlanItemInput) => service::add_item, answer_of
}

/// Move, reassign or change a visit of a plan
#[utoipa::path(patch, path = "/api/v1/visit-plans/{id}/items/{item_id}", tag = "visit plans", operation_id = "update_visit_plan_item", request_body = PlanItemPatch,
    params(("id" = i64, Path, description = "Plan id"), ("item_id" = i64, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "The plan's `ETag` (version) last read")),
    responses(
        (status = 200, description = "The plan", body = VisitPlanView, headers(("ETag" = String))),
        (status = 403, description = "Not the plan's compiler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not draft or returned (`plan_not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A day outside the period or an ineligible visitor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_item(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: ValidJson<PlanItemPatch>,
) -> AppResult<HttpResponse> {
    let (id, item_id) = path.into_inner();
    super::step(
        state,
        req,
        caller,
        id,
        (item_id, body.0),
        |conn, ctx, id, expected, (item, patch)| {
            service::update_item(conn, ctx, (id, *item), expected, patch)
        },
        answer_of,
    )
    .await
}

/// Remove a visit from a plan
#[utoipa::path(delete, path = "/api/v1/visit-plans/{id}/items/{item_id}", tag = "visit plans", operation_id = "remove_visit_plan_item",
    params(("id" = i64, Path, description = "Plan id"), ("item_id" = i64, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "The plan's `ETag` (version) last read")),
    responses(
        (status = 200, description = "The plan without it", body = VisitPlanView, headers(("ETag" = String))),
        (status = 403, description = "Not the plan's compiler", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan or item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not draft or returned (`plan_not_editable`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_item(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, item_id) = path.into_inner();
    super::step(
        state,
        req,
        caller,
        id,
        item_id,
        |conn, ctx, id, expected, item| service::remove_item(conn, ctx, (id, *item), expected),
        answer_of,
    )
    .await
}

crate::step_handler! {
    /// Submit a plan for approval
    ///
    /// By its compiler. Refused (`422 plan_not_compliant`, every gap named)
    /// while a project under warranty misses a rule.
    #[utoipa::path(post, path = "/api/v1/visit-plans/{id}/submission", tag = "visit plans", operation_id = "submit_visit_plan", request_body = PlanSubmissionInput,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Submitted; the report", body = VisitPlanView, headers(("ETag" = String))),
            (status = 403, description = "Not the role that compiles this level", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not draft or returned (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A rule or a project is missed (`plan_not_compliant`)", body = Problem, content_type = "application/problem+json"),
        ))]
    submit(PlanSubmissionInput) => service::submit, answer_of
}

crate::step_handler! {
    /// Approve or return a plan
    ///
    /// A branch plan by the group engineering department, a project plan by
    /// the branch engineering department. Approval checks the rules again
    /// (`422 plan_not_compliant`) and makes each item its visitor's task, due
    /// when its day ends.
    #[utoipa::path(post, path = "/api/v1/visit-plans/{id}/review", tag = "visit plans", operation_id = "review_visit_plan", request_body = PlanReviewInput,
        params(("id" = i64, Path, description = "Plan id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Decided; the report", body = VisitPlanView, headers(("ETag" = String))),
            (status = 403, description = "Not the approving level", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such plan in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not submitted (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A rule is missed (`plan_not_compliant`), or a return without a comment", body = Problem, content_type = "application/problem+json"),
        ))]
    review(PlanReviewInput) => service::review, answer_of
}
