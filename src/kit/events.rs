//! The events table: one row per state change, written in the change's own
//! transaction. It is the audit trail and, later, the webhook outbox.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Actor;
use crate::db::schema::events;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::models::event::{Event, EventType, NewEvent};

use super::{Page, Paged};

pub fn record(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: Option<i64>,
    action: EventType,
    subject_type: &str,
    subject_id: i64,
    payload: Value,
) -> AppResult<()> {
    diesel::insert_into(events::table)
        .values(NewEvent {
            at,
            actor_user_id: actor,
            action: action.as_str(),
            subject_type,
            subject_id,
            payload: payload.to_string(),
        })
        .execute(conn)?;
    Ok(())
}

/// A change of `subject` from `before` to `after` made by `actor`.
pub fn record_change(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: &Actor,
    action: EventType,
    (subject_type, subject_id): (&str, i64),
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    let payload = serde_json::json!({ "before": before, "after": after });
    record(
        conn,
        at,
        Some(actor.id),
        action,
        subject_type,
        subject_id,
        payload,
    )
}

#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub subject_type: Option<String>,
    pub subject_id: Option<i64>,
    pub action: Option<String>,
    pub actor_user_id: Option<i64>,
}

/// The audit trail, oldest first; administrators only.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &EventFilter,
    page: Page,
) -> AppResult<Paged<Event>> {
    actor.require_admin()?;
    let mut query = events::table.into_boxed();
    if let Some(t) = &filter.subject_type {
        query = query.filter(events::subject_type.eq(t.clone()));
    }
    if let Some(id) = filter.subject_id {
        query = query.filter(events::subject_id.eq(id));
    }
    if let Some(a) = &filter.action {
        query = query.filter(events::action.eq(a.clone()));
    }
    if let Some(u) = filter.actor_user_id {
        query = query.filter(events::actor_user_id.eq(u));
    }
    if let Some(after) = page.after_id {
        query = query.filter(events::id.gt(after));
    }
    let rows = query
        .order(events::id.asc())
        .limit(page.limit + 1)
        .select(Event::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |e| e.id))
}
