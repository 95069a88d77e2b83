use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::org_units::OrgUnitView;
use super::users::UserView;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::models::user::Role;
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
