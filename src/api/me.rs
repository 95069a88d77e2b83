use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::org_units::OrgUnitView;
use super::users::UserView;
use super::ListResponse;
use super::PageQuery;
use crate::auth::{password, Caller};
use crate::error::{AppError, AppResult};
use crate::models::user::Role;
use crate::services::auth::{self as service, PasswordChange};
use crate::services::owner_view::{self, OwnComplaint, OwnProject};
use crate::AppState;

/// The caller: their account and the org unit they belong to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    /// The caller's org unit; what they see lies at or under it. `null` for
    /// administrators (who see everything) and customer users.
    pub org_unit: Option<OrgUnitView>,
}

/// Who am I
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The caller", body = MeView)))]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let (user, unit) = match caller.api_key {
        Some(_) => {
            state
                .db_as(caller, |conn, actor| service::me(conn, &actor))
                .await?
        }
        None => {
            state
                .db(move |conn| service::me_of_session(conn, caller.user_id, &caller.session))
                .await?
        }
    };
    let unit = match Role::from_db(&user.role)? {
        Role::Customer => None,
        _ => unit,
    };
    Ok(HttpResponse::Ok().json(MeView {
        user: UserView::try_from(user)?,
        org_unit: unit.map(OrgUnitView::try_from).transpose()?,
    }))
}

/// Change my password
///
/// With the current password. Every other session of the caller ends (other
/// phones must log in again); this one goes on. A wrong current password
/// counts as a failed login (`422` naming `current_password`, then `429`).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "Wrong current password, or a new one too short", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords from this address", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: ValidJson<PasswordChange>,
) -> AppResult<HttpResponse> {
    let addr = super::auth::client_addr(&req, &state.config);
    let (now, st) = (state.clock.now_naive(), state.clone());
    let a = addr.clone();
    let (actor, stored) = state
        .db_as(caller, move |conn, actor| {
            let stored = service::password_check(conn, &st.config, now, &actor, &a)?;
            Ok((actor, stored))
        })
        .await?;
    let ValidJson(PasswordChange {
        current_password,
        new_password,
    }) = body;
    // Argon2 runs holding no connection
    let checked = stored.clone();
    let new_hash = state
        .blocking(move || {
            if password::verify(&current_password, &checked) {
                password::hash(&new_password).map(Some)
            } else {
                Ok(None)
            }
        })
        .await?;
    state
        .db(move |conn| match new_hash {
            Some(hash) => service::change_password(conn, &actor, now, &stored, &hash),
            None => Err(service::wrong_current_password(conn, now, &actor, &addr)),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The owner's projects, for the app's home screen.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnProjectView {
    pub project: super::projects::ProjectView,
    /// The day the warranty is shown for: today, in the company's time zone.
    pub on: chrono::NaiveDate,
    /// Each component's warranty that day.
    pub warranty: Vec<super::projects::TermStatusView>,
    /// Complaints about the project not closed yet, newest first
    /// (`GET /api/v1/me/complaints` says where each stands).
    pub open_complaint_ids: Vec<i64>,
    /// Visit records waiting for your confirmation, newest first (confirm at
    /// `POST /api/v1/visits/{id}/confirmation`).
    pub visits_awaiting_confirmation: Vec<i64>,
}

impl TryFrom<OwnProject> for OwnProjectView {
    type Error = AppError;
    fn try_from(p: OwnProject) -> AppResult<Self> {
        Ok(OwnProjectView {
            project: super::projects::ProjectView::try_from(p.project)?,
            on: p.today,
            warranty: p
                .components
                .into_iter()
                .map(|c| super::projects::TermStatusView {
                    category: c.category,
                    under_warranty: c.under_warranty,
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                })
                .collect(),
            open_complaint_ids: p.open_complaint_ids,
            visits_awaiting_confirmation: p.visits_awaiting_confirmation,
        })
    }
}

/// One of the owner's complaints and who has it in hand.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnComplaintView {
    pub complaint: super::complaints::ComplaintView,
    /// Who has it now: `branch_engineer` (judging it, or revisiting after
    /// the work), `project_manager` (the project department writing the
    /// plan or doing the work); `null` once closed.
    pub handled_by_role: Option<Role>,
    /// The branch or project department of that role.
    pub handled_by_unit_id: Option<i64>,
    pub handled_by_unit_name: Option<String>,
    /// The work is reported done: give your evaluation at
    /// `POST /api/v1/complaints/{id}/evaluation`.
    pub evaluation_awaited: bool,
}

impl TryFrom<OwnComplaint> for OwnComplaintView {
    type Error = AppError;
    fn try_from(c: OwnComplaint) -> AppResult<Self> {
        Ok(OwnComplaintView {
            complaint: super::complaints::ComplaintView::try_from(c.complaint)?,
            handled_by_role: c.handled_by_role,
            handled_by_unit_id: c.handled_by_unit_id,
            handled_by_unit_name: c.handled_by_unit_name,
            evaluation_awaited: c.evaluation_awaited,
        })
    }
}

crate::list_query! {
    OwnComplaintsQuery {
        /// Only those not closed (default true).
        pub open: Option<bool>,
    }
}

/// My projects (owner accounts)
///
/// The owner's own projects with each component's warranty today, the
/// complaints still open and the visit records waiting for their
/// confirmation. Staff accounts get 403 (they use `/projects`).
#[utoipa::path(get, path = "/api/v1/me/projects", tag = "auth", operation_id = "list_my_projects",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the owner's projects", body = ListResponse<OwnProjectView>),
        (status = 403, description = "Not an owner's account", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn my_projects(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = super::page(query.0.limit, query.0.cursor.as_deref())?;
    let (now, st) = (state.clock.now_naive(), state.clone());
    let paged = state
        .db_as(caller, move |conn, actor| {
            owner_view::projects(conn, &actor, &st.config, now, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, OwnProjectView::try_from)?))
}

/// My complaints (owner accounts)
///
/// The owner's own complaints, newest first — by default those not closed
/// — each with its step and who has it in hand: the branch engineering
/// department judging it (2 days) or revisiting after the work, the project
/// department writing the plan or doing the work; and whether the owner's
/// evaluation is awaited. Staff accounts get 403 (they use `/complaints`).
#[utoipa::path(get, path = "/api/v1/me/complaints", tag = "auth", operation_id = "list_my_complaints",
    params(OwnComplaintsQuery),
    responses(
        (status = 200, description = "A page of the owner's complaints", body = ListResponse<OwnComplaintView>),
        (status = 403, description = "Not an owner's account", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn my_complaints(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<OwnComplaintsQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let open = q.open.unwrap_or(true);
    let paged = state
        .db_as(caller, move |conn, actor| {
            owner_view::complaints(conn, &actor, open, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, OwnComplaintView::try_from)?))
}
