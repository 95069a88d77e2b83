use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::org_units::OrgUnitView;
use super::users::UserView;
use crate::auth::Actor;
use crate::error::AppResult;
use crate::models::user::Role;

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
pub async fn get_me(actor: Actor) -> AppResult<HttpResponse> {
    // the extractor has just read the account and its unit: no second trip
    let unit = match actor.role {
        Role::Customer => None,
        _ => actor.org_unit,
    };
    Ok(HttpResponse::Ok().json(MeView {
        user: UserView::try_from(actor.user)?,
        org_unit: unit.map(OrgUnitView::try_from).transpose()?,
    }))
}
