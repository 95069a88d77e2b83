use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::PageQuery;
use super::{answer, once, page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::customer::{CustomerKind, Grade, Grading, Tier};
use crate::models::user::Rank;
use crate::services::customers::{
    self as service, CustomerFilter, CustomerPatch, CustomerProfile, GradingInput, NewCustomerInput,
};
use crate::AppState;

/// A customer: an owner organisation, a property company or an individual owner.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "name": "上海滨江置业有限公司 Binjiang Property Co.", "kind": "owner_organisation", "branch_id": 2,
    "contact_name": "王经理", "contact_phone": "021-5888 0000", "address": "上海市浦东新区滨江大道 100 号",
    "grade": "AA", "tier": "A", "graded_at": "2026-03-02T01:00:00Z", "serious_problems": false,
    "complaints_last_12_months": 0, "required_visitor_rank": "manager",
    "required_visitor_rank_reason": "grade AA (tier A): manager or above",
    "active": true, "version": 2, "created_at": "2026-03-01T01:00:00Z", "updated_at": "2026-03-02T01:00:00Z"
}))]
pub struct CustomerView {
    pub id: i64,
    pub name: String,
    pub kind: CustomerKind,
    /// The branch that serves the customer.
    pub branch_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub address: Option<String>,
    /// The current grade; `null` until first graded.
    pub grade: Option<Grade>,
    pub tier: Option<Tier>,
    pub graded_at: Option<DateTime<Utc>>,
    /// The contractor's mark that this customer has serious problems;
    /// `null` when the customer's own account reads it.
    pub serious_problems: Option<bool>,
    /// Complaints received in the last 12 months.
    pub complaints_last_12_months: i64,
    /// The least rank that may visit this customer: the one source of truth
    /// for visit assignment.
    pub required_visitor_rank: Rank,
    /// Why that rank; `null` when the customer's own account reads it.
    pub required_visitor_rank_reason: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<CustomerProfile> for CustomerView {
    type Error = AppError;
    fn try_from(p: CustomerProfile) -> AppResult<Self> {
        let c = p.customer;
        let grade = c.grade.as_deref().map(Grade::from_db).transpose()?;
        Ok(CustomerView {
            kind: CustomerKind::from_db(&c.kind)?,
            tier: grade.map(Grade::tier),
            grade,
            id: c.id,
            name: c.name,
            branch_id: c.branch_id,
            contact_name: c.contact_name,
            contact_phone: c.contact_phone,
            address: c.address,
            graded_at: c.graded_at.map(utc),
            serious_problems: (!p.for_customer).then_some(c.serious_problems),
            complaints_last_12_months: p.complaints_last_12_months,
            required_visitor_rank: p.required_visitor_rank,
            required_visitor_rank_reason: (!p.for_customer)
                .then_some(p.required_visitor_rank_reason),
            active: c.active,
            version: c.version,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        })
    }
}

/// One grading of a customer, as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GradingView {
    pub id: i64,
    pub customer_id: i64,
    pub operating_score: i32,
    pub payment_score: i32,
    pub cooperation_score: i32,
    /// The mean of the three scores, compared with the thresholds.
    pub average_score: f64,
    /// The grade the scores propose.
    pub proposed_grade: Grade,
    /// The grade given.
    pub grade: Grade,
    pub tier: Tier,
    /// The grader gave another grade than the proposed one.
    pub overridden: bool,
    pub override_reason: Option<String>,
    pub graded_by: i64,
    pub graded_at: DateTime<Utc>,
}

impl TryFrom<Grading> for GradingView {
    type Error = AppError;
    fn try_from(g: Grading) -> AppResult<Self> {
        let grade = Grade::from_db(&g.grade)?;
        let proposed = Grade::from_db(&g.proposed_grade)?;
        Ok(GradingView {
            average_score: f64::from(g.operating_score + g.payment_score + g.cooperation_score)
                / 3.0,
            proposed_grade: proposed,
            grade,
            tier: grade.tier(),
            overridden: grade != proposed,
            id: g.id,
            customer_id: g.customer_id,
            operating_score: g.operating_score,
            payment_score: g.payment_score,
            cooperation_score: g.cooperation_score,
            override_reason: g.override_reason,
            graded_by: g.graded_by,
            graded_at: utc(g.graded_at),
        })
    }
}

crate::list_query! {
    CustomerListQuery {
        pub branch_id: Option<i64>,
        pub kind: Option<CustomerKind>,
        pub grade: Option<Grade>,
        pub active: Option<bool>,
        /// Part of the name.
        #[validate(length(max = 100))]
        #[param(max_length = 100)]
        pub q: Option<String>,
    }
}

fn answer_of(status: StatusCode, profile: CustomerProfile) -> AppResult<Answer> {
    let at = (profile.customer.id, profile.customer.version);
    super::record_answer(
        status,
        "/api/v1/customers",
        at,
        CustomerView::try_from(profile)?,
    )
}

/// List customers
///
/// Admins and the group see all; a branch sees the customers it serves; a
/// project department the customers of its projects; a customer user itself.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerListQuery),
    responses((status = 200, description = "A page of customers", body = ListResponse<CustomerView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<CustomerListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = CustomerFilter {
        branch_id: q.branch_id,
        kind: q.kind,
        grade: q.grade,
        active: q.active,
        q: q.q,
    };
    let now = state.clock.now_naive();
    let st = state.clone();
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &st.config, now, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, CustomerView::try_from)?))
}

crate::create_handler! {
    /// Register a customer
    ///
    /// By the branch engineering department (or leader), the group, or an admin.
    #[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomerInput,
        responses((status = 201, description = "Created", body = CustomerView,
            headers(("Location" = String), ("ETag" = String))),
            (status = 404, description = "A record named in the body (`branch_id`) does not exist or is outside your scope; the field is named", body = Problem, content_type = "application/problem+json"),
        ))]
    create(NewCustomerInput) => |conn, ctx, body| service::create(conn, ctx.actor, ctx.config, ctx.now, body), answer_of
}

crate::read_handler! {
    /// Get a customer
    #[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
        params(("id" = i64, Path, description = "Customer id")),
        responses((status = 200, description = "The customer", body = CustomerView, headers(("ETag" = String)))))]
    get as public_view => |conn, ctx, id| {
        service::get(conn, ctx.actor, ctx.config, ctx.now, id)
    }, answer_of
}

crate::step_handler! {
    /// Change a customer
    #[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerPatch,
        params(("id" = i64, Path, description = "Customer id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The changed customer", body = CustomerView, headers(("ETag" = String))),
            (status = 409, description = "Concurrent change", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    update(CustomerPatch) => |conn, ctx, id, expected, patch| {
        service::update(conn, ctx.actor, ctx.config, ctx.now, id, expected, patch)
    }, answer_of
}

/// Grade a customer
///
/// Records the three scores (operating condition, payment timeliness,
/// cooperation, 0–100 each). The system proposes a grade from their average:
/// AAA ≥ 90, AA ≥ 85, A ≥ 80, BBB ≥ 75, BB ≥ 70, B ≥ 60, else C (configurable
/// with `AFTERCARE_GRADE_THRESHOLDS`). Send `grade` to give another one,
/// with an `override_reason`. The customer's grade becomes the one given;
/// the history is kept.
#[utoipa::path(post, path = "/api/v1/customers/{id}/gradings", tag = "customers", request_body = GradingInput,
    params(("id" = i64, Path, description = "Customer id")),
    responses((status = 201, description = "The grading recorded", body = GradingView)))]
pub async fn grade(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<GradingInput>,
) -> AppResult<HttpResponse> {
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    once(&state, &req, caller, move |conn, actor| {
        let grading = service::grade(conn, &actor, &st.config, now, id, &body.0)?;
        answer(
            StatusCode::CREATED,
            None,
            None,
            GradingView::try_from(grading)?,
        )
    })
    .await
}

/// Grading history
///
/// Every grading of the customer, oldest first. The contractor's own
/// assessment: customer accounts get 403.
#[utoipa::path(get, path = "/api/v1/customers/{id}/gradings", tag = "customers",
    params(("id" = i64, Path, description = "Customer id"), PageQuery),
    responses((status = 200, description = "A page of gradings", body = ListResponse<GradingView>)))]
pub async fn gradings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let page = page(query.0.limit, query.0.cursor.as_deref())?;
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::gradings(conn, &actor, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, GradingView::try_from)?))
}
