use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::org_units::OrgUnitView;
use super::users::UserView;
use crate::auth::Actor;
use crate::error::AppResult;
use crate::services::{org_units, users};
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
pub async fn get_me(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let (user, unit) = state
        .db(move |conn| {
            let user = users::get(conn, &actor, actor.id)?;
            let unit = match (actor.org_unit_id, actor.role) {
                (Some(id), role) if role != crate::models::user::Role::Customer => {
                    Some(org_units::get(conn, &actor, id)?)
                }
                _ => None,
            };
            Ok((user, unit))
        })
        .await?;
    Ok(HttpResponse::Ok().json(MeView {
        user: UserView::try_from(user)?,
        org_unit: unit.map(OrgUnitView::try_from).transpose()?,
    }))
}
