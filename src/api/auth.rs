use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{ValidJson, ValidQuery};
use super::users::UserView;
use super::utc;
use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::services::auth::{self as service, LoginInput, RefreshInput, TokenGrant};
use crate::AppState;

/// An access token (for `Authorization: Bearer`) and the refresh token that
/// renews it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.signature",
    "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "q3V9b2x0c0t1b2tlbi1leGFtcGxlLXZhbHVlLW9ubHk",
    "refresh_expires_at": "2026-12-23T02:00:00Z",
    "user": {"id": 1, "username": "admin", "display_name": "Administrator", "phone": null,
        "role": "admin", "rank": null, "org_unit_id": null, "customer_id": null, "active": true,
        "version": 1, "created_at": "2026-11-23T02:00:00Z", "updated_at": "2026-11-23T02:00:00Z",
        "last_login_at": "2026-11-23T02:00:00Z"}
}))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: each refresh answers with a new one. Presenting a used one
    /// again ends the session.
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    pub user: UserView,
}

impl TryFrom<TokenGrant> for TokenResponse {
    type Error = crate::error::AppError;
    fn try_from(g: TokenGrant) -> AppResult<Self> {
        Ok(TokenResponse {
            access_token: g.access_token,
            token_type: "Bearer".to_string(),
            expires_in: g.expires_in,
            refresh_token: g.refresh_token,
            refresh_expires_at: utc(g.refresh_expires_at),
            user: UserView::try_from(g.user)?,
        })
    }
}

/// Log in
///
/// Exchanges username and password for tokens. After too many failures for a
/// username (default 5 in 15 minutes) or from one address, answers 429 until
/// the window passes, even for the right password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput, security(()),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Unknown user, wrong password or deactivated account (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<LoginInput>,
) -> AppResult<HttpResponse> {
    let addr = client_addr(&req, &state.config);
    let now = state.clock.now();
    let st = state.clone();
    // the pool, not a connection: the password is checked holding none
    let grant = state
        .blocking(move || service::login(&st.pool, &st.config, &st.jwt, now, &body.0, &addr))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse::try_from(grant)?))
}

/// The address the per-address login limit counts. Behind trusted proxies
/// (`AFTERCARE_TRUST_FORWARDED_FOR`) it is the entry of `X-Forwarded-For`
/// that the outermost trusted proxy added: counted from the right, one per
/// trusted hop. Entries further left were written by the client and could
/// be anything, so they are never used.
pub fn client_addr(req: &HttpRequest, config: &crate::config::Config) -> String {
    let peer = || {
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string())
    };
    if !config.trust_forwarded_for {
        return peer();
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    match hops.len().checked_sub(config.trusted_proxy_hops.max(1)) {
        Some(i) => hops[i].to_string(),
        // fewer entries than trusted proxies: all of them are the proxies' own
        None => hops.first().map_or_else(peer, |a| a.to_string()),
    }
}

/// Refresh the tokens
///
/// Spends the refresh token and answers with a new pair. A refresh token
/// used a second time (`refresh_token_reused`) ends its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshInput, security(()),
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ValidJson<RefreshInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let st = state.clone();
    let grant = state
        .db(move |conn| service::refresh(conn, &st.config, &st.jwt, now, &body.0.refresh_token))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse::try_from(grant)?))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogoutQuery {
    /// End every session of the caller, not only this one.
    pub all_sessions: Option<bool>,
}

/// Log out
///
/// Ends the session of the presented access token at once: its refresh
/// token stops working and so does the access token itself.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", params(LogoutQuery),
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<LogoutQuery>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let all = query.0.all_sessions.unwrap_or(false);
    state
        .db_as(caller, move |conn, actor| {
            service::logout(conn, &actor, now, all)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
