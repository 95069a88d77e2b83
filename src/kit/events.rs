//! The events table: one row per state change, written in the change's own
//! transaction. It is the audit trail, the change feed's source and the
//! webhooks' outbox: each event is stamped with whose its subject is (its
//! scope and customer, and before a move the old ones), who may read it,
//! and the webhooks subscribed to it — part of its own row, so that nothing
//! committed is ever lost to a crash and a write pays no other row or index
//! for its subscribers; the dispatcher turns them into deliveries in
//! batches ([`super::outbox::fan_out`]).
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Actor;
use crate::db::schema::{
    accountability_records, complaints, corrective_actions, customers, deadlines, events,
    org_units, projects, rectification_plans, repairs, visit_plans, visits, webhooks,
};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::models::event::{Event, EventType, NewEvent};

use super::{Page, Paged};

/// Who may read an event in the change feed, decided once here from the
/// kind of record and the step: a customer reads the steps of their own
/// projects, complaints, visits and repairs (and their own customer
/// record), never the contractor's assessments of them (gradings, the
/// ledger's review) nor internal attachments; the contractor's internal
/// records (plans, clocks, corrective actions, accountability) are its
/// staff's in scope; accounts, policies, the calendar and the integrations
/// are the administrators'; sign-ins are nobody's feed.
pub fn audience(subject_type: &str, action: EventType, payload: &Value) -> &'static str {
    use EventType as E;
    let action_text = action.as_str();
    if action_text.starts_with("auth.") {
        return "none";
    }
    if matches!(
        action,
        E::CustomerGraded
            | E::ProjectLedgerSubmitted
            | E::ProjectLedgerApproved
            | E::ProjectLedgerReturned
    ) {
        return "staff";
    }
    if action_text.starts_with("attachment.")
        && payload["after"]["internal"].as_bool() == Some(true)
    {
        return "staff";
    }
    match subject_type {
        "customer" | "project" | "complaint" | "visit" | "repair" => "customer",
        "rectification_plan"
        | "visit_plan"
        | "deadline"
        | "corrective_action"
        | "accountability_record"
        | "org_unit" => "staff",
        _ => "admin",
    }
}

/// Whose record `(subject_type, id)` is now: its scope path and customer.
fn owner(
    conn: &mut DbConn,
    subject_type: &str,
    id: i64,
) -> AppResult<(Option<String>, Option<i64>)> {
    macro_rules! owned {
        ($table:ident) => {
            $table::table
                .find(id)
                .select(($table::scope_path, $table::customer_id))
                .first::<(String, i64)>(conn)
                .optional()?
                .map_or((None, None), |(s, c)| (Some(s), Some(c)))
        };
    }
    macro_rules! scoped {
        ($table:ident, $column:ident) => {
            (
                $table::table
                    .find(id)
                    .select($table::$column)
                    .first::<String>(conn)
                    .optional()?,
                None,
            )
        };
    }
    Ok(match subject_type {
        "customer" => {
            let path = customers::table
                .find(id)
                .select(customers::scope_path)
                .first::<String>(conn)
                .optional()?;
            (path, Some(id))
        }
        "project" => owned!(projects),
        "complaint" => owned!(complaints),
        "visit" => owned!(visits),
        "repair" => owned!(repairs),
        "corrective_action" => owned!(corrective_actions),
        "accountability_record" => owned!(accountability_records),
        "rectification_plan" => scoped!(rectification_plans, scope_path),
        "visit_plan" => scoped!(visit_plans, scope_path),
        "deadline" => scoped!(deadlines, scope_path),
        "org_unit" => scoped!(org_units, path),
        _ => (None, None),
    })
}

/// One event to write.
struct Written<'a> {
    at: NaiveDateTime,
    actor: Option<i64>,
    api_key: Option<i64>,
    action: EventType,
    subject: (&'a str, i64),
    payload: Value,
    /// Written for the webhooks subscribed to it (a ping is for one only).
    fan_out: bool,
}

fn write(conn: &mut DbConn, e: Written<'_>) -> AppResult<i64> {
    let (subject_type, subject_id) = e.subject;
    let (scope_path, customer_id) = owner(conn, subject_type, subject_id)?;
    // a step that moved the record leaves the old owners — those of its
    // last event — a trace: their feed says `removed`
    let last: Option<(Option<String>, Option<i64>)> = events::table
        .filter(events::subject_type.eq(subject_type))
        .filter(events::subject_id.eq(subject_id))
        .order(events::id.desc())
        .select((events::scope_path, events::customer_id))
        .first(conn)
        .optional()?;
    let (was_scope, was_customer) = last.unwrap_or((None, None));
    let prior_scope_path = was_scope.filter(|p| Some(p) != scope_path.as_ref());
    let prior_customer_id = was_customer.filter(|c| Some(*c) != customer_id);
    let audience = audience(subject_type, e.action, &e.payload);
    let webhook_ids = if e.fan_out && audience != "none" {
        subscribers(conn, e.action, scope_path.as_deref())?
    } else {
        None
    };
    let id: i64 = diesel::insert_into(events::table)
        .values(NewEvent {
            at: e.at,
            actor_user_id: e.actor,
            action: e.action.as_str(),
            subject_type,
            subject_id,
            payload: e.payload.to_string(),
            scope_path: scope_path.clone(),
            customer_id,
            prior_scope_path,
            prior_customer_id,
            audience,
            api_key_id: e.api_key,
            webhook_ids,
        })
        .returning(events::id)
        .get_result(conn)?;
    Ok(id)
}

/// The active webhooks that take events of type `action` and, for a
/// branch's webhook, whose subject lies in the branch: their ids as the
/// event records them (`3,7`), or none.
fn subscribers(
    conn: &mut DbConn,
    action: EventType,
    scope_path: Option<&str>,
) -> AppResult<Option<String>> {
    let pattern = format!("%,{},%", action.as_str());
    let mut query = webhooks::table
        .filter(webhooks::active.eq(true))
        .filter(webhooks::deleted_at.is_null())
        .filter(webhooks::event_types.like(pattern))
        .into_boxed();
    query = match scope_path {
        Some(path) => query.filter(
            webhooks::scope_low.is_null().or(webhooks::scope_low
                .le(path.to_string())
                .and(webhooks::scope_high.gt(path.to_string()))),
        ),
        None => query.filter(webhooks::scope_low.is_null()),
    };
    let subscribed: Vec<i64> = query.select(webhooks::id).load(conn)?;
    Ok((!subscribed.is_empty()).then(|| {
        subscribed
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }))
}

/// Only events of transactions that have settled: on PostgreSQL those
/// older than every transaction still running (ids from a sequence are not
/// commit order); on SQLite one writer commits at a time, in id order.
pub const SETTLED: &str = "events.tx < txid_snapshot_xmin(txid_current_snapshot())";

pub fn record(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: Option<i64>,
    action: EventType,
    subject_type: &str,
    subject_id: i64,
    payload: Value,
) -> AppResult<()> {
    write(
        conn,
        Written {
            at,
            actor,
            api_key: None,
            action,
            subject: (subject_type, subject_id),
            payload,
            fan_out: true,
        },
    )
    .map(drop)
}

/// A change of `subject` from `before` to `after` made by `actor`.
pub fn record_change(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: &Actor,
    action: EventType,
    subject: (&str, i64),
    before: Option<Value>,
    after: Option<Value>,
) -> AppResult<()> {
    record_by(conn, at, actor, action, subject, before, after, true).map(drop)
}

/// [`record_change`] answering the event's id; without `fan_out` no
/// webhook is sent it (a ping goes to one endpoint only).
#[allow(clippy::too_many_arguments)]
pub fn record_by(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: &Actor,
    action: EventType,
    subject: (&str, i64),
    before: Option<Value>,
    after: Option<Value>,
    fan_out: bool,
) -> AppResult<i64> {
    write(
        conn,
        Written {
            at,
            actor: Some(actor.id),
            api_key: actor.api_key_id,
            action,
            subject,
            payload: match actor.import_id {
                Some(import_id) => {
                    serde_json::json!({ "before": before, "after": after, "import_id": import_id })
                }
                None => serde_json::json!({ "before": before, "after": after }),
            },
            fan_out,
        },
    )
}

/// Records of `subject_type` carried to other owners by a step (a
/// project's complaints moved with it): one `action` event each, naming
/// the owners before and after, so the old owners' feeds say `removed`.
#[allow(clippy::too_many_arguments)]
pub fn record_moves(
    conn: &mut DbConn,
    at: NaiveDateTime,
    actor: Option<&Actor>,
    action: EventType,
    subject_type: &str,
    ids: &[i64],
    before: (Option<&str>, Option<i64>),
) -> AppResult<()> {
    for &id in ids {
        let (scope_path, customer_id) = owner(conn, subject_type, id)?;
        let payload = serde_json::json!({
            "before": {"scope_path": before.0, "customer_id": before.1},
            "after": {"scope_path": scope_path, "customer_id": customer_id},
        });
        write(
            conn,
            Written {
                at,
                actor: actor.map(|a| a.id),
                api_key: actor.and_then(|a| a.api_key_id),
                action,
                subject: (subject_type, id),
                payload,
                fan_out: true,
            },
        )?;
    }
    Ok(())
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
