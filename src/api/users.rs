use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::{if_match, once, page, reply, utc, ListResponse};
use crate::auth::{password, Caller};
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::user::{Rank, Role, User};
use crate::services::users::{self as service, NewUserInput, UserFilter, UserPatch};
use crate::AppState;

/// A user account (never its password).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "username": "zhang.wei", "display_name": "张伟 Zhang Wei", "phone": "13800138000",
    "role": "project_manager", "rank": "manager", "org_unit_id": 3, "customer_id": null,
    "active": true, "version": 1, "created_at": "2026-11-23T02:00:00Z",
    "updated_at": "2026-11-23T02:00:00Z", "last_login_at": null
}))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub rank: Option<Rank>,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub active: bool,
    /// Increases with every change; send it back in `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl TryFrom<User> for UserView {
    type Error = AppError;
    fn try_from(u: User) -> AppResult<Self> {
        Ok(UserView {
            role: Role::from_db(&u.role)?,
            rank: u.rank.as_deref().map(Rank::from_db).transpose()?,
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            phone: u.phone,
            org_unit_id: u.org_unit_id,
            customer_id: u.customer_id,
            active: u.active,
            version: u.version,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
            last_login_at: u.last_login_at.map(utc),
        })
    }
}

crate::list_query! {
    UserListQuery {
        pub role: Option<Role>,
        /// Users of exactly this org unit.
        pub org_unit_id: Option<i64>,
        pub customer_id: Option<i64>,
        pub active: Option<bool>,
        /// Part of the username or display name.
        #[validate(length(max = 100))]
        #[param(max_length = 100)]
        pub q: Option<String>,
    }
}

fn respond(status: StatusCode, user: User) -> AppResult<HttpResponse> {
    Ok(reply(answer_of(status, user)?, false))
}

fn answer_of(status: StatusCode, user: User) -> AppResult<Answer> {
    let at = (user.id, user.version);
    super::record_answer(status, "/api/v1/users", at, UserView::try_from(user)?)
}

/// List users
///
/// The users in the caller's scope: all for admins, the caller's org subtree
/// for staff, the caller's own customer for customer users. Oldest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListQuery),
    responses((status = 200, description = "A page of users", body = ListResponse<UserView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<UserListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = UserFilter {
        role: q.role,
        org_unit_id: q.org_unit_id,
        customer_id: q.customer_id,
        active: q.active,
        q: q.q,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, UserView::try_from)?))
}

/// Create a user (admin)
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserInput,
    responses(
        (status = 201, description = "Created", body = UserView,
            headers(("Location" = String, description = "URL of the new user"), ("ETag" = String))),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A record named in the body (`org_unit_id`, `customer_id`) does not exist or is outside your scope; the field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: ValidJson<NewUserInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    let password = body.0.password.clone();
    let hash = state.blocking(move || password::hash(&password)).await?;
    once(&state, &req, caller, move |conn, actor| {
        answer_of(
            StatusCode::CREATED,
            service::create(conn, &actor, now, &body.0, &hash)?,
        )
    })
    .await
}

crate::read_handler! {
    /// Get a user
    #[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
        params(("id" = i64, Path, description = "User id")),
        responses((status = 200, description = "The user", body = UserView, headers(("ETag" = String)))))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

/// Change a user (admin)
///
/// Only the fields sent change. A new `password` ends all the user's
/// sessions. Send `If-Match` with the version read to avoid overwriting
/// someone else's change.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = i64, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
    responses(
        (status = 200, description = "The changed user", body = UserView, headers(("ETag" = String))),
        (status = 409, description = "Concurrent change, or an admin demoting themselves (`cannot_demote_self`) or resetting their own password here (`cannot_reset_own_password`: use `POST /api/v1/me/password`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<UserPatch>,
) -> AppResult<HttpResponse> {
    let (id, expected, now) = (id.into_inner(), if_match(&req)?, state.clock.now_naive());
    let password = body.0.password.clone();
    let hash = state
        .blocking(move || password.as_deref().map(password::hash).transpose())
        .await?;
    let user = state
        .db_as(caller, move |conn, actor| {
            service::update(conn, &actor, now, id, expected, &body.0, hash)
        })
        .await?;
    respond(StatusCode::OK, user)
}

crate::step_handler! {
    /// Deactivate a user (admin)
    ///
    /// The account can no longer log in and its sessions end at once. Users are
    /// never deleted: their records and history stay. Repeating it is harmless.
    #[utoipa::path(post, path = "/api/v1/users/{id}/deactivation", tag = "users",
        params(("id" = i64, Path, description = "User id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The deactivated user", body = UserView, headers(("ETag" = String))),
            (status = 409, description = "Admins cannot deactivate themselves", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    deactivate => |conn, ctx, id, expected, _| {
        service::set_active(conn, ctx.actor, ctx.now, id, expected, false)
    }, answer_of
}

crate::step_handler! {
    /// Reactivate a user (admin)
    #[utoipa::path(post, path = "/api/v1/users/{id}/activation", tag = "users",
        params(("id" = i64, Path, description = "User id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The active user", body = UserView, headers(("ETag" = String))),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    activate => |conn, ctx, id, expected, _| {
        service::set_active(conn, ctx.actor, ctx.now, id, expected, true)
    }, answer_of
}
