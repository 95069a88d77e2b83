//! Webhook subscriptions (an administrator, or a branch engineer for their
//! own branch) and their deliveries.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ValidJson, ValidQuery};
use super::{if_match, once, page, utc, versioned, ListResponse, PageQuery};
use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::event::EventType;
use crate::models::integration::{Delivery, DeliveryStatus, Webhook};
use crate::services::webhooks::{self as service, NewWebhook, WebhookPatch};
use crate::AppState;

/// A subscription: where which events go. Never its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 4, "url": "https://erp.example.com/aftercare/webhooks",
    "description": "集团ERP group ERP: billable repairs",
    "event_types": ["repair.accepted", "repair.closed"], "branch_id": 2, "active": true,
    "failing_since": null, "disabled_at": null, "disabled_reason": null,
    "previous_secret_expires_at": null, "created_by": 1, "version": 1,
    "created_at": "2026-11-23T02:00:00Z", "updated_at": "2026-11-23T02:00:00Z"
}))]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<EventType>,
    /// Only this branch's events; `null`: every event.
    pub branch_id: Option<i64>,
    /// `false` when turned off, by its keeper or after failing for five days.
    pub active: bool,
    /// The first failed attempt since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// Until then the secret before the last rotation signs too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_by: i64,
    /// Increases with every change; send it back in `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription with its signing secret: answered when it is made and
/// when the secret is rotated, never again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    pub webhook: WebhookView,
    /// `whsec_` and the base64 of 32 random bytes: give it to the
    /// receiver's Standard Webhooks library.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]{43}=$", max_length = 50)]
    pub secret: String,
}

/// One event's delivery to the endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 91, "webhook_id": 4, "event_id": 4211, "event_type": "repair.accepted",
    "status": "delivered", "attempts": 2, "next_attempt_at": null,
    "last_attempt_at": "2026-11-23T02:00:05Z", "response_status": 200, "response_ms": 84,
    "response_body": "ok", "error": null, "delivered_at": "2026-11-23T02:00:05Z",
    "created_at": "2026-11-23T02:00:00Z"
}))]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    /// Also the `webhook-id` header: the same on every attempt.
    pub event_id: i64,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When it is tried next, while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status at the last attempt.
    pub response_status: Option<i32>,
    /// How long the last attempt took.
    pub response_ms: Option<i64>,
    /// The first KiB of the last answer.
    #[schema(max_length = 4096)]
    pub response_body: Option<String>,
    /// Why the last attempt got no answer (timeout, refused connection,
    /// address not allowed).
    pub error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn view(hook: Webhook) -> AppResult<WebhookView> {
    Ok(WebhookView {
        event_types: hook
            .types()
            .into_iter()
            .map(EventType::from_db)
            .collect::<AppResult<_>>()?,
        id: hook.id,
        url: hook.url,
        description: hook.description,
        branch_id: hook.branch_id,
        active: hook.active,
        failing_since: hook.failing_since.map(utc),
        disabled_at: hook.disabled_at.map(utc),
        disabled_reason: hook.disabled_reason,
        previous_secret_expires_at: hook.previous_secret_until.map(utc),
        created_by: hook.created_by,
        version: hook.version,
        created_at: utc(hook.created_at),
        updated_at: utc(hook.updated_at),
    })
}

fn delivery_view(d: Delivery) -> AppResult<DeliveryView> {
    let status = DeliveryStatus::from_db(&d.status)?;
    Ok(DeliveryView {
        id: d.id,
        webhook_id: d.webhook_id,
        event_id: d.event_id,
        event_type: EventType::from_db(&d.event_type)?,
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| utc(d.next_attempt_at)),
        status,
        attempts: d.attempts,
        last_attempt_at: d.last_attempt_at.map(utc),
        response_status: d.response_status,
        response_ms: d.response_ms,
        response_body: d.response_body,
        error: d.error,
        delivered_at: d.delivered_at.map(utc),
        created_at: utc(d.created_at),
    })
}

fn with_secret(status: StatusCode, hook: Webhook) -> AppResult<Answer> {
    let (id, version, secret) = (hook.id, hook.version, hook.secret.clone());
    let location = (status == StatusCode::CREATED).then(|| format!("/api/v1/webhooks/{id}"));
    super::answer(
        status,
        Some(version),
        location,
        WebhookWithSecret {
            webhook: view(hook)?,
            secret,
        },
    )
}

/// Checks the URL (resolving its host) on a blocking thread, holding no
/// connection.
async fn checked_url(state: &web::Data<AppState>, url: Option<String>) -> AppResult<()> {
    if let Some(url) = url {
        let config = state.config.webhooks.clone();
        state
            .blocking(move || crate::webhooks::check_url(&url, &config).map(drop))
            .await?;
    }
    Ok(())
}

/// Subscribe to events
///
/// An administrator subscribes to every event or to one branch's; a branch
/// engineer to their own branch's (`branch_id` defaults to it). The answer
/// holds the signing `secret`, shown this once. Deliveries follow Standard
/// Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature`
/// headers, a body `{"type", "timestamp", "data"}`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "create_webhook", request_body = NewWebhook,
    responses(
        (status = 201, description = "Subscribed, with the secret", body = WebhookWithSecret,
            headers(("Location" = String, description = "URL of the subscription"), ("ETag" = String))),
        (status = 404, description = "`branch_id` is not a branch in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL is not https, or its host resolves to an internal address (`webhook_url_refused`) or to none (`webhook_url_unresolvable`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: ValidJson<NewWebhook>,
) -> AppResult<HttpResponse> {
    checked_url(&state, Some(body.0.url.clone())).await?;
    let now = state.clock.now_naive();
    once(&state, &req, caller, move |conn, actor| {
        with_secret(
            StatusCode::CREATED,
            service::create(conn, &actor, now, &body.0)?,
        )
    })
    .await
}

/// List subscriptions
///
/// An administrator's: all; a branch engineer's: their branch's.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks", params(PageQuery),
    responses((status = 200, description = "A page of subscriptions", body = ListResponse<WebhookView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = page(query.0.limit, query.0.cursor.as_deref())?;
    let paged = state
        .db_as(caller, move |conn, actor| service::list(conn, &actor, page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, view)?))
}

/// Get a subscription
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook",
    params(("id" = i64, Path, description = "Webhook id", minimum = 1)),
    responses((status = 200, description = "The subscription", body = WebhookView, headers(("ETag" = String)))))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let hook = state
        .db_as(caller, move |conn, actor| service::get(conn, &actor, id))
        .await?;
    Ok(versioned(StatusCode::OK, hook.version, view(hook)?))
}

/// Change a subscription
///
/// `active: true` turns an endpoint disabled after failing on again.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "update_webhook", request_body = WebhookPatch,
    params(("id" = i64, Path, description = "Webhook id", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read", max_length = 200)),
    responses(
        (status = 200, description = "Changed", body = WebhookView, headers(("ETag" = String))),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new URL is refused", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<WebhookPatch>,
) -> AppResult<HttpResponse> {
    checked_url(&state, body.0.url.clone()).await?;
    let (id, expected, now) = (id.into_inner(), if_match(&req)?, state.clock.now_naive());
    let hook = state
        .db_as(caller, move |conn, actor| {
            service::update(conn, &actor, now, id, expected, &body.0)
        })
        .await?;
    Ok(versioned(StatusCode::OK, hook.version, view(hook)?))
}

/// Remove a subscription
///
/// Nothing more is sent; its pending deliveries fail.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    params(("id" = i64, Path, description = "Webhook id", minimum = 1)),
    responses((status = 204, description = "Removed")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    state
        .db_as(caller, move |conn, actor| {
            service::delete(conn, &actor, now, id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

crate::step_handler! {
    /// Rotate the signing secret
    ///
    /// Answers the new secret. For 24 hours deliveries are signed with both
    /// (two signatures in `webhook-signature`), so the receiver can switch
    /// without missing one.
    #[utoipa::path(post, path = "/api/v1/webhooks/{id}/secret-rotation", tag = "webhooks", operation_id = "rotate_webhook_secret",
        params(("id" = i64, Path, description = "Webhook id", minimum = 1),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read", max_length = 200)),
        responses(
            (status = 200, description = "The new secret", body = WebhookWithSecret, headers(("ETag" = String))),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    rotate_secret => |conn, ctx, id, expected, _| {
        service::rotate_secret(conn, ctx.actor, ctx.now, id, expected)
    }, with_secret
}

fn delivery_answer(status: StatusCode, d: Delivery) -> AppResult<Answer> {
    super::answer(status, None, None, delivery_view(d)?)
}

crate::step_handler! {
    /// Send a test event
    ///
    /// Queues a `webhook.ping` for this endpoint alone; its delivery shows
    /// in `…/deliveries` within a second or two.
    #[utoipa::path(post, path = "/api/v1/webhooks/{id}/ping", tag = "webhooks", operation_id = "ping_webhook",
        params(("id" = i64, Path, description = "Webhook id", minimum = 1)),
        responses((status = 202, description = "Queued", body = DeliveryView)))]
    ping => |conn, ctx, id, _, _| service::ping(conn, ctx.actor, ctx.now, id), accepted
}

fn accepted(_: StatusCode, d: Delivery) -> AppResult<Answer> {
    delivery_answer(StatusCode::ACCEPTED, d)
}

crate::list_query! {
    DeliveryListQuery {
        pub status: Option<DeliveryStatus>,
    }
}

/// A subscription's deliveries
///
/// Newest first: status, attempts, the last answer's status, time and first
/// KiB.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries",
    params(("id" = i64, Path, description = "Webhook id", minimum = 1), DeliveryListQuery),
    responses((status = 200, description = "A page of deliveries", body = ListResponse<DeliveryView>)))]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: ValidQuery<DeliveryListQuery>,
) -> AppResult<HttpResponse> {
    let (id, q) = (id.into_inner(), query.0);
    let page = page(q.limit, q.cursor.as_deref())?;
    let status = q.status;
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::deliveries(conn, &actor, id, status, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, delivery_view)?))
}

/// One delivery
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks", operation_id = "get_webhook_delivery",
    params(("id" = i64, Path, description = "Webhook id", minimum = 1),
        ("delivery_id" = i64, Path, description = "Delivery id", minimum = 1)),
    responses((status = 200, description = "The delivery", body = DeliveryView)))]
pub async fn delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let d = state
        .db_as(caller, move |conn, actor| {
            service::delivery(conn, &actor, id, delivery)
        })
        .await?;
    Ok(HttpResponse::Ok().json(delivery_view(d)?))
}

/// Send a delivery again
///
/// Now, with the whole retry schedule ahead of it; also one already
/// delivered or failed.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks", operation_id = "retry_webhook_delivery",
    params(("id" = i64, Path, description = "Webhook id", minimum = 1),
        ("delivery_id" = i64, Path, description = "Delivery id", minimum = 1)),
    responses((status = 202, description = "Queued again", body = DeliveryView)))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let now = state.clock.now_naive();
    once(&state, &req, caller, move |conn, actor| {
        delivery_answer(
            StatusCode::ACCEPTED,
            service::retry(conn, &actor, now, id, delivery)?,
        )
    })
    .await
}
