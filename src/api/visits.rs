//! `/visits`: return-visit records, their survey and the owner's confirmation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ValidQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::complaint::Rating;
use crate::models::project::WarrantyCategory;
use crate::models::visit::{
    ConfirmationMethod, IssueLiability, VisitKind, VisitMethod, VisitOutcome, VisitStatus,
};
use crate::services::visits::{
    self as service, ConfirmationInput, NewVisit, PersonMet, SurveyScores, VisitDetail, VisitFilter,
};
use crate::AppState;

/// An issue found at a visit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssueView {
    pub id: i64,
    pub description: String,
    pub component: WarrantyCategory,
    pub location: String,
    pub liability: IssueLiability,
    pub explanation: Option<String>,
    pub advice: Option<String>,
    /// Ours, and the component was under warranty on the visit day.
    pub repair_needed: bool,
    /// The repair made of it, once there is one.
    pub repair_id: Option<i64>,
}

/// The satisfaction survey of a visit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SurveyView {
    pub scores: SurveyScores,
    /// The weighted total, 0–100 (exact to the tenth).
    pub weighted_score: f64,
    pub rating: Rating,
}

/// The owner's confirmation of the record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConfirmationView {
    /// `app` (the owner's account) or `paper` (a signature recorded by staff).
    pub method: ConfirmationMethod,
    pub confirmed_at: DateTime<Utc>,
    pub confirmed_by: Option<i64>,
    pub signer_name: Option<String>,
    pub signed_on: Option<NaiveDate>,
}

/// A return-visit record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitView {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub status: VisitStatus,
    pub kind: VisitKind,
    pub method: VisitMethod,
    pub visited_at: DateTime<Utc>,
    pub outcome: VisitOutcome,
    pub contact_failed_reason: Option<String>,
    pub visitor_ids: Vec<i64>,
    pub people_met: Vec<PersonMet>,
    pub findings: String,
    pub owner_opinion: Option<String>,
    pub owner_phone: Option<String>,
    /// The complaint a `complaint` visit revisits.
    pub complaint_id: Option<i64>,
    /// The complaint its dissatisfied survey opened.
    pub opened_complaint_id: Option<i64>,
    /// The repair a `repair_followup` visit follows up (and closed).
    pub repair_id: Option<i64>,
    /// The plan item it carried out.
    pub plan_item_id: Option<i64>,
    pub issues: Vec<IssueView>,
    pub survey: Option<SurveyView>,
    pub recorded_by: i64,
    /// Recorded more than 24 hours after the visit (the reason is on its clock).
    pub recorded_late: bool,
    /// `null` until the owner confirms it.
    pub confirmation: Option<ConfirmationView>,
    /// Also sent as `ETag`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<VisitDetail> for VisitView {
    type Error = AppError;
    fn try_from(d: VisitDetail) -> AppResult<Self> {
        let v = d.visit;
        let confirmation = match (v.confirmation, v.confirmed_at) {
            (Some(method), Some(at)) => Some(ConfirmationView {
                method: ConfirmationMethod::from_db(&method)?,
                confirmed_at: utc(at),
                confirmed_by: v.confirmed_by,
                signer_name: v.signer_name,
                signed_on: v.signed_on,
            }),
            _ => None,
        };
        Ok(VisitView {
            id: v.id,
            project_id: v.project_id,
            customer_id: v.customer_id,
            status: VisitStatus::from_db(&v.status)?,
            kind: VisitKind::from_db(&v.kind)?,
            method: VisitMethod::from_db(&v.method)?,
            visited_at: utc(v.visited_at),
            outcome: VisitOutcome::from_db(&v.outcome)?,
            contact_failed_reason: v.contact_failed_reason,
            visitor_ids: d.visitor_ids,
            people_met: serde_json::from_str(&v.people_met).map_err(AppError::internal)?,
            findings: v.findings,
            owner_opinion: v.owner_opinion,
            owner_phone: v.owner_phone,
            complaint_id: v.complaint_id,
            opened_complaint_id: v.opened_complaint_id,
            repair_id: v.repair_id,
            plan_item_id: v.plan_item_id,
            issues: d
                .issues
                .into_iter()
                .map(|i| {
                    Ok(IssueView {
                        id: i.id,
                        description: i.description,
                        component: WarrantyCategory::from_db(&i.component)?,
                        location: i.location,
                        liability: IssueLiability::from_db(&i.liability)?,
                        explanation: i.explanation,
                        advice: i.advice,
                        repair_needed: i.repair_needed,
                        repair_id: i.repair_id,
                    })
                })
                .collect::<AppResult<_>>()?,
            survey: d
                .survey
                .map(|s| {
                    Ok::<_, AppError>(SurveyView {
                        scores: serde_json::from_str(&s.scores).map_err(AppError::internal)?,
                        weighted_score: f64::from(s.weighted_score_tenths) / 10.0,
                        rating: Rating::from_db(&s.rating)?,
                    })
                })
                .transpose()?,
            recorded_by: v.recorded_by,
            recorded_late: v.recorded_late,
            confirmation,
            version: v.version,
            created_at: utc(v.created_at),
            updated_at: utc(v.updated_at),
        })
    }
}

crate::list_query! {
    VisitListQuery {
        pub project_id: Option<i64>,
        pub customer_id: Option<i64>,
        pub kind: Option<VisitKind>,
        pub method: Option<VisitMethod>,
        pub outcome: Option<VisitOutcome>,
        pub status: Option<VisitStatus>,
        /// Only visits this user made.
        pub visitor_id: Option<i64>,
        /// Visited on or after this instant.
        pub visited_from: Option<DateTime<Utc>>,
        /// Visited before this instant.
        pub visited_to: Option<DateTime<Utc>>,
    }
}

fn answer_of(status: StatusCode, visit: VisitDetail) -> AppResult<Answer> {
    let at = (visit.visit.id, visit.visit.version);
    super::record_answer(status, "/api/v1/visits", at, VisitView::try_from(visit)?)
}

crate::create_handler! {
    /// Record a visit
    ///
    /// By the staff who visited (the branch engineering department, the project
    /// department). Due 24 hours after `visited_at` (`visit.record`): later only
    /// with a `late_reason` (`422 deadline_passed` without), kept and flagged
    /// `recorded_late`. `contact_failed` needs the reason; a completed phone
    /// visit the owner's number. Issues that are ours and under warranty on the
    /// visit day are marked `repair_needed`; a not-ours issue needs the
    /// explanation and advice. The survey's weighted score is computed; a
    /// `dissatisfied` rating opens a complaint linked to the visit. A
    /// `complaint` visit settles that complaint's revisit clock.
    #[utoipa::path(post, path = "/api/v1/visits", tag = "visits", operation_id = "record_visit", request_body = NewVisit,
        responses(
            (status = 201, description = "Recorded", body = VisitView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Your role does not visit", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`project_id` or `complaint_id` names nothing in your scope (the field is named)", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields (each named), late without a reason (`deadline_passed`), or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    record(NewVisit) => service::record, answer_of
}

/// List visits
///
/// Those of projects in your scope (a customer account: its own), newest
/// recorded first.
#[utoipa::path(get, path = "/api/v1/visits", tag = "visits", operation_id = "list_visits", params(VisitListQuery),
    responses((status = 200, description = "A page of visits", body = ListResponse<VisitView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<VisitListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = VisitFilter {
        project_id: q.project_id,
        customer_id: q.customer_id,
        kind: q.kind,
        method: q.method,
        outcome: q.outcome,
        status: q.status,
        visitor_id: q.visitor_id,
        visited_from: q.visited_from.map(|t| t.naive_utc()),
        visited_to: q.visited_to.map(|t| t.naive_utc()),
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, VisitView::try_from)?))
}

crate::read_handler! {
    /// A visit
    #[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits", operation_id = "get_visit",
        params(("id" = i64, Path, description = "Visit id")),
        responses(
            (status = 200, description = "The visit", body = VisitView, headers(("ETag" = String))),
            (status = 404, description = "No such visit in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Confirm the record (业主签字确认)
    ///
    /// By the project's own customer account (an empty body), or by staff
    /// recording the owner's paper signature (`signer_name`, `signed_on`).
    #[utoipa::path(post, path = "/api/v1/visits/{id}/confirmation", tag = "visits", operation_id = "confirm_visit", request_body = ConfirmationInput,
        params(("id" = i64, Path, description = "Visit id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Confirmed", body = VisitView, headers(("ETag" = String))),
            (status = 403, description = "An administrator", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such visit in your scope (another customer's)", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Confirmed already (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Staff without the signer and date", body = Problem, content_type = "application/problem+json"),
        ))]
    confirm(ConfirmationInput) => service::confirm, answer_of
}
