//! The change feed: every change to a record the caller may see, in the
//! order of the transactions that wrote them, from a cursor — for apps that
//! keep a local copy and partners that pull.
//!
//! Ids from a sequence are not commit order: a transaction that took event
//! id 41 may commit after one that took 42, and a reader already past 42
//! would never see 41. So the feed is ordered by `(tx, id)`, the writing
//! transaction's id first, and on PostgreSQL hands out only events of
//! transactions older than every one still running (`tx` below the
//! snapshot's `xmin`): a transaction that has not settled holds the feed
//! back, never makes it skip. On SQLite one writer commits at a time, in id
//! order, and `tx` is 0.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{Actor, Scope};
use crate::db::condition::Condition;
use crate::db::schema::events;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::in_subtree;
use crate::models::event::{EventSubject, EventType};

/// Where a reader stands: after the event `(tx, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub tx: i64,
    pub id: i64,
}

/// What a cursor looks like in the API: `{tx}-{id}`.
pub const CURSOR_PATTERN: &str = "^[0-9]{1,19}-[0-9]{1,19}$";

impl Cursor {
    pub fn parse(text: &str) -> AppResult<Cursor> {
        let bad = || {
            AppError::bad_request(
                "invalid_query_parameter",
                "cursor",
                "not a cursor the change feed gave",
            )
        };
        let (tx, id) = text.split_once('-').ok_or_else(bad)?;
        Ok(Cursor {
            tx: tx.parse().ok().filter(|v: &i64| *v >= 0).ok_or_else(bad)?,
            id: id.parse().ok().filter(|v: &i64| *v >= 0).ok_or_else(bad)?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.tx, self.id)
    }
}

crate::models::text_enum! {
    /// What happened to the record, as a local copy applies it.
    ChangeKind {
        /// It came to be: fetch it.
        Created => "created",
        /// Its fields changed: fetch it again.
        Changed => "changed",
        /// It took a step of its life cycle (`event_type` says which).
        StateChanged => "state_changed",
        AttachmentAdded => "attachment_added",
        AttachmentChanged => "attachment_changed",
        AttachmentHidden => "attachment_hidden",
        /// It left what the caller may see (moved to another branch or
        /// customer): drop the local copy.
        Removed => "removed",
    }
}

/// One change in the feed.
#[derive(Debug)]
pub struct Change {
    pub cursor: Cursor,
    pub event_id: i64,
    pub at: NaiveDateTime,
    pub change: ChangeKind,
    pub event_type: EventType,
    pub subject_type: String,
    pub subject_id: i64,
}

#[derive(Debug, Default, Clone)]
pub struct ChangeFilter {
    pub subject_types: Vec<EventSubject>,
    pub event_types: Vec<EventType>,
}

/// At most `limit` changes after `after` that the caller may see, and the
/// cursor to go on from (the last one read, or `after` when none came).
pub fn read(
    conn: &mut DbConn,
    actor: &Actor,
    after: Cursor,
    filter: &ChangeFilter,
    limit: i64,
) -> AppResult<(Vec<Change>, Cursor, bool)> {
    let scope = actor.scope();
    let mut query = events::table
        .filter(events::audience.ne("none"))
        .filter(
            events::tx
                .gt(after.tx)
                .or(events::tx.eq(after.tx).and(events::id.gt(after.id))),
        )
        .into_boxed();
    if matches!(conn, DbConn::Pg(_)) {
        query = query.filter(Condition(crate::kit::events::SETTLED));
    }
    query = match &scope {
        Scope::All => query,
        Scope::OrgSubtree(root) => query
            .filter(events::audience.eq_any(["customer", "staff"]))
            .filter(
                in_subtree!(events::scope_path, root)
                    .or(in_subtree!(events::prior_scope_path, root)),
            ),
        Scope::Customer(customer) => query.filter(events::audience.eq("customer")).filter(
            events::customer_id
                .eq(*customer)
                .or(events::prior_customer_id.eq(*customer)),
        ),
        Scope::Nothing => return Ok((vec![], after, false)),
    };
    if !filter.subject_types.is_empty() {
        let kinds: Vec<&str> = filter.subject_types.iter().map(|t| t.as_str()).collect();
        query = query.filter(events::subject_type.eq_any(kinds));
    }
    if !filter.event_types.is_empty() {
        let kinds: Vec<&str> = filter.event_types.iter().map(|t| t.as_str()).collect();
        query = query.filter(events::action.eq_any(kinds));
    }
    type Row = (
        i64,
        i64,
        NaiveDateTime,
        String,
        String,
        i64,
        String,
        Option<String>,
        Option<i64>,
    );
    let mut rows: Vec<Row> = query
        .order((events::tx.asc(), events::id.asc()))
        .limit(limit + 1)
        .select((
            events::tx,
            events::id,
            events::at,
            events::action,
            events::subject_type,
            events::subject_id,
            events::payload,
            events::scope_path,
            events::customer_id,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let mut next = after;
    let mut changes = Vec::with_capacity(rows.len());
    for (tx, id, at, action, subject_type, subject_id, payload, scope_path, customer_id) in rows {
        next = Cursor { tx, id };
        let event_type = EventType::from_db(&action)?;
        let still_theirs = match &scope {
            Scope::All => true,
            Scope::OrgSubtree(_) => scope_path.as_deref().is_some_and(|p| scope.covers_path(p)),
            Scope::Customer(c) => customer_id == Some(*c),
            Scope::Nothing => false,
        };
        let change = if still_theirs {
            kind_of(event_type, &payload)
        } else {
            ChangeKind::Removed
        };
        changes.push(Change {
            cursor: next,
            event_id: id,
            at,
            change,
            event_type,
            subject_type,
            subject_id,
        });
    }
    Ok((changes, next, more))
}

/// The kind of change an event is, from its step and what it recorded.
fn kind_of(event_type: EventType, payload: &str) -> ChangeKind {
    use EventType as E;
    match event_type {
        E::AttachmentAdded => return ChangeKind::AttachmentAdded,
        E::AttachmentChanged => return ChangeKind::AttachmentChanged,
        E::AttachmentHidden => return ChangeKind::AttachmentHidden,
        E::DeadlineStarted => return ChangeKind::Created,
        _ => {}
    }
    let payload: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    let (Some(before), Some(after)) = (payload.get("before"), payload.get("after")) else {
        // the clocks' own steps (met, overdue, escalated) write no before/after
        return ChangeKind::StateChanged;
    };
    if before.is_null() {
        return ChangeKind::Created;
    }
    let state = |v: &serde_json::Value| {
        ["status", "ledger_status", "state"]
            .iter()
            .find_map(|k| v.get(*k).cloned())
    };
    if state(before) != state(after) {
        ChangeKind::StateChanged
    } else {
        ChangeKind::Changed
    }
}

/// The newest cursor the caller's feed has now: where a reader that has
/// just copied everything starts, so as not to read history again.
pub fn head(conn: &mut DbConn) -> AppResult<Cursor> {
    let mut query = events::table.into_boxed();
    if matches!(conn, DbConn::Pg(_)) {
        query = query.filter(Condition(crate::kit::events::SETTLED));
    }
    let last: Option<(i64, i64)> = query
        .order((events::tx.desc(), events::id.desc()))
        .select((events::tx, events::id))
        .first(conn)
        .optional()?;
    Ok(last.map_or(Cursor::default(), |(tx, id)| Cursor { tx, id }))
}
