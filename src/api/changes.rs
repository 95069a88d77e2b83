use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::ValidQuery;
use super::{page_limit, utc};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::models::event::{EventSubject, EventType};
use crate::services::changes::{self as service, ChangeFilter, ChangeKind, Cursor};
use crate::AppState;

/// One change to a record the caller may see.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "cursor": "0-4211", "event_id": 4211, "at": "2026-03-02T01:00:00Z",
    "change": "state_changed", "event_type": "complaint.judged",
    "subject_type": "complaint", "subject_id": 87
}))]
pub struct ChangeView {
    /// Where this change stands in the feed: pass as `cursor` to read on
    /// after it.
    #[schema(pattern = "^[0-9]{1,19}-[0-9]{1,19}$", max_length = 39)]
    pub cursor: String,
    /// The event in the audit trail (and the `webhook-id` of its webhook
    /// deliveries).
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub change: ChangeKind,
    /// The step that made it.
    pub event_type: EventType,
    pub subject_type: EventSubject,
    pub subject_id: i64,
}

/// A page of the feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub items: Vec<ChangeView>,
    /// Pass as `cursor` on the next call, also when `items` is empty.
    #[schema(pattern = "^[0-9]{1,19}-[0-9]{1,19}$", max_length = 39)]
    pub next_cursor: String,
    /// More changes are waiting: call again at once.
    pub has_more: bool,
}

/// Where the feed stands now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangesHead {
    #[schema(pattern = "^[0-9]{1,19}-[0-9]{1,19}$", max_length = 39)]
    pub cursor: String,
}

/// The most kinds of record and steps one read filters on.
const MAX_TYPES: usize = 50;
const MAX_EVENT_TYPES: usize = 200;

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// `next_cursor` of the previous call (or `/changes/head`); absent or
    /// empty: from the first change.
    #[param(pattern = "^([0-9]{1,19}-[0-9]{1,19})?$", max_length = 39)]
    pub cursor: Option<String>,
    /// Changes per answer, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only these kinds of record, comma-separated (`complaint,repair`).
    #[param(value_type = Option<Vec<EventSubject>>, style = Form, explode = false, min_items = 1, max_items = 50)]
    pub types: Option<String>,
    /// Only these steps, comma-separated (`complaint.judged,repair.accepted`).
    #[param(value_type = Option<Vec<EventType>>, style = Form, explode = false, min_items = 1, max_items = 200)]
    pub event_types: Option<String>,
    /// Seconds to wait for a change when there is none yet (long poll), 0–30
    /// (the server may hold it shorter: `AFTERCARE_CHANGES_MAX_WAIT_SECS`).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u32>,
}

/// A comma list of 1 to `max` enum values (as the spec's `minItems` and
/// `maxItems` say); the field is named when one is unknown or there are
/// too many.
fn listed<T: std::str::FromStr>(field: &str, text: Option<&str>, max: usize) -> AppResult<Vec<T>> {
    let Some(text) = text else {
        return Ok(vec![]);
    };
    let values: Vec<&str> = text.split(',').map(str::trim).collect();
    if values.len() > max {
        return Err(AppError::bad_request(
            "invalid_query_parameter",
            field,
            format!("at most {max} values"),
        ));
    }
    // present but empty names no value: refused like any unknown one
    values
        .into_iter()
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                AppError::bad_request(
                    "invalid_query_parameter",
                    field,
                    format!("unknown value {v:?}"),
                )
            })
        })
        .collect()
}

/// Change feed
///
/// Every change to a record the caller may see, in the order their
/// transactions settled: created, changed, a step of its life cycle, an
/// attachment added, changed or hidden, and `removed` when the record
/// leaves the caller's sight (its project moved to another branch or
/// customer). Never skips: a change is handed out only once every earlier
/// transaction has settled. With `wait`, an empty answer waits up to that
/// many seconds for the first change.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", operation_id = "list_changes", params(ChangesQuery),
    responses((status = 200, description = "Changes after the cursor", body = ChangesPage)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<ChangesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Cursor::parse(c)?,
        None => Cursor::default(),
    };
    let wait = q.wait.unwrap_or(0);
    if wait > 30 {
        return Err(AppError::invalid(
            "wait",
            "must be between 0 and 30 seconds",
        ));
    }
    // the operator may hold reads shorter (a proxy's idle timeout)
    let wait = wait.min(state.config.changes_max_wait_secs);
    let filter = ChangeFilter {
        subject_types: listed("types", q.types.as_deref(), MAX_TYPES)?,
        event_types: listed("event_types", q.event_types.as_deref(), MAX_EVENT_TYPES)?,
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(wait.into());
    loop {
        let f = filter.clone();
        let (changes, next, more) = state
            .db_as(caller.clone(), move |conn, actor| {
                service::read(conn, &actor, after, &f, limit)
            })
            .await?;
        if !changes.is_empty() || std::time::Instant::now() >= until {
            let items = changes
                .into_iter()
                .map(|c| {
                    Ok(ChangeView {
                        cursor: c.cursor.to_string(),
                        event_id: c.event_id,
                        at: utc(c.at),
                        change: c.change,
                        event_type: c.event_type,
                        subject_type: EventSubject::from_db(&c.subject_type)?,
                        subject_id: c.subject_id,
                    })
                })
                .collect::<AppResult<_>>()?;
            return Ok(HttpResponse::Ok().json(ChangesPage {
                items,
                next_cursor: next.to_string(),
                has_more: more,
            }));
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Where the change feed stands
///
/// The cursor of the newest settled change: an app that has just copied
/// the records it needs reads the feed on from here (ask for it before
/// copying, so that nothing changed meanwhile is missed).
#[utoipa::path(get, path = "/api/v1/changes/head", tag = "changes", operation_id = "get_changes_head",
    responses((status = 200, description = "The newest cursor", body = ChangesHead)))]
pub async fn head(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let cursor = state.db_as(caller, |conn, _| service::head(conn)).await?;
    Ok(HttpResponse::Ok().json(ChangesHead {
        cursor: cursor.to_string(),
    }))
}
