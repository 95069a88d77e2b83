use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ValidQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::kit::events::{self as service, EventFilter};
use crate::models::event::{Event, EventSubject, EventType};
use crate::AppState;

/// One recorded change: who did what to which record, with the state before
/// and after.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "at": "2026-11-23T02:00:00Z", "actor_user_id": 1, "action": "user.created",
    "subject_type": "user", "subject_id": 7,
    "payload": {"before": null, "after": {"id": 7, "username": "zhang.wei"}}, "api_key_id": null
}))]
pub struct EventView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `null` for changes made by the system itself.
    pub actor_user_id: Option<i64>,
    /// `{subject}.{verb}`, e.g. `user.created`, `org_unit.deactivated`.
    pub action: EventType,
    pub subject_type: String,
    pub subject_id: i64,
    #[schema(value_type = super::JsonObject)]
    pub payload: serde_json::Value,
    /// The API key the change came through (its service user is
    /// `actor_user_id`), when one did.
    pub api_key_id: Option<i64>,
}

impl TryFrom<Event> for EventView {
    type Error = AppError;
    fn try_from(e: Event) -> AppResult<Self> {
        Ok(EventView {
            payload: serde_json::from_str(&e.payload)
                .map(instants_in_one_shape)
                .unwrap_or(serde_json::Value::Null),
            id: e.id,
            at: utc(e.at),
            actor_user_id: e.actor_user_id,
            action: EventType::from_db(&e.action)?,
            subject_type: e.subject_type,
            subject_id: e.subject_id,
            api_key_id: e.api_key_id,
        })
    }
}

crate::list_query! {
    EventListQuery {
        /// What the events are about.
        pub subject_type: Option<EventSubject>,
        pub subject_id: Option<i64>,
        /// What happened.
        pub action: Option<EventType>,
        pub actor_user_id: Option<i64>,
    }
}

/// Audit trail (admin)
///
/// Every state change, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventListQuery),
    responses((status = 200, description = "A page of events", body = ListResponse<EventView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<EventListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = EventFilter {
        subject_type: q.subject_type.map(|t| t.as_str().to_string()),
        subject_id: q.subject_id,
        action: q.action.map(|a| a.as_str().to_string()),
        actor_user_id: q.actor_user_id,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, EventView::try_from)?))
}

/// The instants inside a payload (rows as they were stored, in naive UTC
/// with microseconds) in the shape of every other instant the API sends:
/// `2026-11-23T08:00:00Z`.
fn instants_in_one_shape(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
                    *s = utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}
