//! `/accountability-records`: who was held accountable for a complaint
//! handled wrongly (004 §5.8, appendices E and H). Staff only; never deleted.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ValidQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::management::{
    AccountabilityBasis, AccountabilityMeasure, AccountabilityRecord, AccountabilityStatus,
};
use crate::services::accountability::{
    self as service, AccountabilityFilter, AccountabilityWithdrawal, NewAccountability,
};
use crate::AppState;

/// An accountability record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountabilityView {
    pub id: i64,
    pub complaint_id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    /// The project department the complaint was about.
    pub project_department_id: i64,
    /// Recorded by the group, for a complaint sent to it.
    pub sent_to_group: bool,
    pub status: AccountabilityStatus,
    pub basis: AccountabilityBasis,
    /// Who is held accountable.
    pub person: String,
    pub person_user_id: Option<i64>,
    pub measure: AccountabilityMeasure,
    /// Yuan, for a fine.
    pub fine_amount: Option<f64>,
    /// What the measure is, for `other`.
    pub measure_detail: Option<String>,
    pub reason: String,
    pub recorded_by: i64,
    pub withdrawn_reason: Option<String>,
    /// Who decided the withdrawal, when not the one who recorded it.
    pub withdrawn_decided_by: Option<String>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_by: Option<i64>,
    /// Also sent as `ETag`; the withdrawal honours `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[allow(clippy::cast_precision_loss)]
impl TryFrom<AccountabilityRecord> for AccountabilityView {
    type Error = AppError;
    fn try_from(r: AccountabilityRecord) -> AppResult<Self> {
        Ok(AccountabilityView {
            id: r.id,
            complaint_id: r.complaint_id,
            project_id: r.project_id,
            customer_id: r.customer_id,
            branch_id: r.branch_id,
            project_department_id: r.project_department_id,
            sent_to_group: r.sent_to_group,
            status: AccountabilityStatus::from_db(&r.status)?,
            basis: AccountabilityBasis::from_db(&r.basis)?,
            person: r.person,
            person_user_id: r.person_user_id,
            measure: AccountabilityMeasure::from_db(&r.measure)?,
            fine_amount: r.fine_fen.map(|f| f as f64 / 100.0),
            measure_detail: r.measure_detail,
            reason: r.reason,
            recorded_by: r.recorded_by,
            withdrawn_reason: r.withdrawn_reason,
            withdrawn_decided_by: r.withdrawn_decided_by,
            withdrawn_at: r.withdrawn_at.map(utc),
            withdrawn_by: r.withdrawn_by,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

fn answer_of(status: StatusCode, r: AccountabilityRecord) -> AppResult<Answer> {
    let at = (r.id, r.version);
    super::record_answer(
        status,
        "/api/v1/accountability-records",
        at,
        AccountabilityView::try_from(r)?,
    )
}

crate::list_query! {
    AccountabilityListQuery {
        pub complaint_id: Option<i64>,
        pub project_id: Option<i64>,
        pub project_department_id: Option<i64>,
        pub branch_id: Option<i64>,
        pub status: Option<AccountabilityStatus>,
    }
}

crate::create_handler! {
    /// Record accountability for a complaint
    ///
    /// For a schedule complaint judged ours, or a warranty complaint the owner
    /// complained of again (a repeat): by the branch engineering department, or
    /// by the group engineering department for a complaint sent to the group.
    /// A `fine` carries its `fine_amount` (yuan), `other` its `measure_detail`.
    /// Never deleted. Send an `Idempotency-Key`: a retried request never
    /// records twice.
    #[utoipa::path(post, path = "/api/v1/accountability-records", tag = "accountability", operation_id = "record_accountability", request_body = NewAccountability,
        responses(
            (status = 201, description = "Recorded", body = AccountabilityView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Not the branch engineering department (the group's, for a complaint sent to it)", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`complaint_id` or `person_user_id` names nothing in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, or a complaint that calls for no accountability (`accountability_not_applicable`)", body = Problem, content_type = "application/problem+json"),
        ))]
    record(NewAccountability) => service::record, answer_of
}

/// List accountability records
///
/// Per complaint, project or project department; those of your scope,
/// newest first, withdrawn ones included. Staff only (customer accounts 403).
#[utoipa::path(get, path = "/api/v1/accountability-records", tag = "accountability", operation_id = "list_accountability_records", params(AccountabilityListQuery),
    responses(
        (status = 200, description = "A page of accountability records", body = ListResponse<AccountabilityView>),
        (status = 403, description = "Customer accounts do not read them", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<AccountabilityListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = AccountabilityFilter {
        complaint_id: q.complaint_id,
        project_id: q.project_id,
        project_department_id: q.project_department_id,
        branch_id: q.branch_id,
        status: q.status,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(
        paged,
        AccountabilityView::try_from,
    )?))
}

crate::read_handler! {
    /// An accountability record
    #[utoipa::path(get, path = "/api/v1/accountability-records/{id}", tag = "accountability", operation_id = "get_accountability_record",
        params(("id" = i64, Path, description = "Accountability record id")),
        responses(
            (status = 200, description = "The record", body = AccountabilityView, headers(("ETag" = String))),
            (status = 404, description = "No such record in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => |conn, ctx, id| service::load(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Withdraw an accountability record
    ///
    /// By whoever records them for the complaint (the branch engineering
    /// department, or the group's for a complaint sent to it), with the
    /// `reason`: the record stays, marked `withdrawn`.
    #[utoipa::path(post, path = "/api/v1/accountability-records/{id}/withdrawal", tag = "accountability", operation_id = "withdraw_accountability", request_body = AccountabilityWithdrawal,
        params(("id" = i64, Path, description = "Accountability record id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Withdrawn", body = AccountabilityView, headers(("ETag" = String))),
            (status = 403, description = "Not the department that records it", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such record in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Withdrawn already (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A blank `reason`", body = Problem, content_type = "application/problem+json"),
        ))]
    withdraw(AccountabilityWithdrawal) => service::withdraw, answer_of
}
