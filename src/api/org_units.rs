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
use crate::models::org_unit::{OrgUnit, OrgUnitKind};
use crate::services::org_units::{self as service, NewOrgUnitInput, OrgUnitFilter, OrgUnitPatch};
use crate::AppState;

/// A unit of the organisation: the group, a branch or a project department.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "name": "华东分公司 East China Branch", "kind": "branch", "parent_id": 1,
    "active": true, "version": 1,
    "created_at": "2026-11-23T02:00:00Z", "updated_at": "2026-11-23T02:00:00Z"
}))]
pub struct OrgUnitView {
    pub id: i64,
    pub name: String,
    pub kind: OrgUnitKind,
    pub parent_id: Option<i64>,
    pub active: bool,
    /// Increases with every change; send it back in `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<OrgUnit> for OrgUnitView {
    type Error = AppError;
    fn try_from(u: OrgUnit) -> AppResult<Self> {
        Ok(OrgUnitView {
            kind: OrgUnitKind::from_db(&u.kind)?,
            id: u.id,
            name: u.name,
            parent_id: u.parent_id,
            active: u.active,
            version: u.version,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        })
    }
}

crate::list_query! {
    OrgUnitListQuery {
        pub kind: Option<OrgUnitKind>,
        /// Direct children of this unit.
        pub parent_id: Option<i64>,
        pub active: Option<bool>,
        /// Part of the name.
        #[validate(length(max = 100))]
        #[param(max_length = 100)]
        pub q: Option<String>,
    }
}

fn answer_of(status: StatusCode, unit: OrgUnit) -> AppResult<Answer> {
    let at = (unit.id, unit.version);
    super::record_answer(
        status,
        "/api/v1/org-units",
        at,
        OrgUnitView::try_from(unit)?,
    )
}

/// List org units
///
/// Admins see all units; staff see their own unit and everything under it.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org-units", params(OrgUnitListQuery),
    responses((status = 200, description = "A page of org units", body = ListResponse<OrgUnitView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<OrgUnitListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = OrgUnitFilter {
        kind: q.kind,
        parent_id: q.parent_id,
        active: q.active,
        q: q.q,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, OrgUnitView::try_from)?))
}

crate::create_handler! {
    /// Create an org unit (admin)
    ///
    /// The group first (no parent), then branches under it, then project
    /// departments under a branch.
    #[utoipa::path(post, path = "/api/v1/org-units", tag = "org-units", request_body = NewOrgUnitInput,
        responses(
            (status = 201, description = "Created", body = OrgUnitView,
                headers(("Location" = String, description = "URL of the new unit"), ("ETag" = String))),
            (status = 409, description = "The group exists already, or the name is taken under this parent", body = Problem, content_type = "application/problem+json"),
        ))]
    create(NewOrgUnitInput) => |conn, ctx, body| service::create(conn, ctx.actor, ctx.now, body), answer_of
}

crate::read_handler! {
    /// Get an org unit
    #[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "org-units",
        params(("id" = i64, Path, description = "Org unit id")),
        responses((status = 200, description = "The org unit", body = OrgUnitView, headers(("ETag" = String)))))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Rename an org unit (admin)
    #[utoipa::path(patch, path = "/api/v1/org-units/{id}", tag = "org-units", request_body = OrgUnitPatch,
        params(("id" = i64, Path, description = "Org unit id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The changed unit", body = OrgUnitView, headers(("ETag" = String))),
            (status = 409, description = "Name taken, or a concurrent change", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    update(OrgUnitPatch) => |conn, ctx, id, expected, patch| {
        service::update(conn, ctx.actor, ctx.now, id, expected, patch)
    }, answer_of
}

crate::step_handler! {
    /// Deactivate an org unit (admin)
    ///
    /// Refused while active sub-units or active users remain. Repeating it is harmless.
    #[utoipa::path(post, path = "/api/v1/org-units/{id}/deactivation", tag = "org-units",
        params(("id" = i64, Path, description = "Org unit id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The deactivated unit", body = OrgUnitView, headers(("ETag" = String))),
            (status = 409, description = "The unit still has active sub-units or users", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    deactivate => |conn, ctx, id, expected, _| {
        service::set_active(conn, ctx.actor, ctx.now, id, expected, false)
    }, answer_of
}

crate::step_handler! {
    /// Reactivate an org unit (admin)
    #[utoipa::path(post, path = "/api/v1/org-units/{id}/activation", tag = "org-units",
        params(("id" = i64, Path, description = "Org unit id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The active unit", body = OrgUnitView, headers(("ETag" = String))),
            (status = 409, description = "The parent unit is deactivated", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    activate => |conn, ctx, id, expected, _| {
        service::set_active(conn, ctx.actor, ctx.now, id, expected, true)
    }, answer_of
}
