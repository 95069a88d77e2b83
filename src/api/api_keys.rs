//! API keys for systems (admin).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::{once, page, utc, ListResponse, PageQuery};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::user::Role;
use crate::services::api_keys::{self as service, KeyRecord, NewApiKey};
use crate::AppState;

/// An API key as listed: never the key itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "name": "呼叫中心 call centre", "prefix": "ak_7Hq2xP", "user_id": 41,
    "role": "branch_engineer", "org_unit_id": 2, "customer_id": null, "read_only": false,
    "created_by": 1, "created_at": "2026-11-23T02:00:00Z", "last_used_at": null,
    "expires_at": "2027-12-31T16:00:00Z", "revoked_at": null
}))]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    #[schema(max_length = 9)]
    pub prefix: String,
    /// The key's service user: the `actor_user_id` of every change it makes.
    pub user_id: i64,
    pub role: Role,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub read_only: bool,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    /// To the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just made, with its text: shown this once, store it now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyView,
    /// `ak_` and 43 random characters: send as `Authorization: Bearer ak_…`.
    #[schema(pattern = "^ak_[0-9A-Za-z]{43}$", max_length = 46)]
    pub key: String,
}

impl TryFrom<KeyRecord> for ApiKeyView {
    type Error = AppError;
    fn try_from(r: KeyRecord) -> AppResult<Self> {
        Ok(ApiKeyView {
            id: r.key.id,
            name: r.key.name,
            prefix: r.key.prefix,
            user_id: r.key.user_id,
            role: Role::from_db(&r.user.role)?,
            org_unit_id: r.user.org_unit_id,
            customer_id: r.user.customer_id,
            read_only: r.key.read_only,
            created_by: r.key.created_by,
            created_at: utc(r.key.created_at),
            last_used_at: r.key.last_used_at.map(utc),
            expires_at: r.key.expires_at.map(utc),
            revoked_at: r.key.revoked_at.map(utc),
        })
    }
}

fn created(record: KeyRecord, key: String) -> AppResult<Answer> {
    let id = record.key.id;
    super::answer(
        StatusCode::CREATED,
        None,
        Some(format!("/api/v1/api-keys/{id}")),
        CreatedApiKey {
            api_key: ApiKeyView::try_from(record)?,
            key,
        },
    )
}

/// Create an API key (admin)
///
/// For a system that calls the API: it acts as a service user of the
/// `role` and unit given, with the same scope as a person of that role.
/// The `key` is in this answer only; it is stored as a hash.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "create_api_key", request_body = NewApiKey,
    responses(
        (status = 201, description = "Created, with the key", body = CreatedApiKey,
            headers(("Location" = String, description = "URL of the new key"))),
        (status = 404, description = "`org_unit_id` or `customer_id` does not exist; the field is named", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: ValidJson<NewApiKey>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now_naive();
    once(&state, &req, caller, move |conn, actor| {
        let (record, key) = service::create(conn, &actor, now, &body.0)?;
        created(record, key)
    })
    .await
}

/// List API keys (admin)
///
/// Every key, oldest first, revoked ones too.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", operation_id = "list_api_keys", params(PageQuery),
    responses((status = 200, description = "A page of keys", body = ListResponse<ApiKeyView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = page(query.0.limit, query.0.cursor.as_deref())?;
    let paged = state
        .db_as(caller, move |conn, actor| service::list(conn, &actor, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, ApiKeyView::try_from)?))
}

/// Get an API key (admin)
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api-keys", operation_id = "get_api_key",
    params(("id" = i64, Path, description = "API key id", minimum = 1)),
    responses((status = 200, description = "The key", body = ApiKeyView)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let record = state
        .db_as(caller, move |conn, actor| service::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(ApiKeyView::try_from(record)?))
}

/// Revoke an API key (admin)
///
/// Refused (401) from the next request on. Revoking again is harmless.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", operation_id = "revoke_api_key",
    params(("id" = i64, Path, description = "API key id", minimum = 1)),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    state
        .db_as(caller, move |conn, actor| {
            service::revoke(conn, &actor, now, id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
