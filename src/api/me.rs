use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ValidJson;
use super::org_units::OrgUnitView;
use super::users::UserView;
use crate::auth::{password, Caller};
use crate::error::AppResult;
use crate::models::user::Role;
use crate::services::auth::{self as service, PasswordChange};
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
    // the session check reads the account and its unit: nothing more to read
    let actor = state.db_as(caller, |_, actor| Ok(actor)).await?;
    let unit = match actor.role {
        Role::Customer => None,
        _ => actor.org_unit,
    };
    Ok(HttpResponse::Ok().json(MeView {
        user: UserView::try_from(actor.user)?,
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
