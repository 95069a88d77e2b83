//! The events' outbox. An event records the webhooks it is owed to in its
//! own row ([`super::events`]); [`fan_out`] turns those into one delivery
//! row per event and webhook, in batches and in the feed's order, exactly
//! once across every instance; each delivery is claimed once for each
//! attempt across every instance ([`claim_due`]) and stepped through its
//! small life cycle, declared here once ([`LIFE_CYCLE`]) and written only by
//! [`step`].

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use crate::db::condition::Condition;
use crate::db::schema::{events, outbox_position, webhook_deliveries, webhooks};
use crate::db::{write_tx, DbConn};
use crate::error::AppResult;
use crate::models::event::EventType;
use crate::models::integration::{Delivery, DeliveryStatus, Webhook};

/// What happens to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStep {
    /// The endpoint answered 2xx.
    Delivered,
    /// It did not; the schedule has another wait.
    Retry,
    /// It did not, and the schedule is spent.
    GiveUp,
    /// Its webhook was removed.
    Abandon,
    /// Sent again by hand, with the whole schedule ahead.
    Resend,
}

/// A delivery's life cycle: `(from, step, to)`.
pub const LIFE_CYCLE: &[(&[DeliveryStatus], DeliveryStep, DeliveryStatus)] = {
    use DeliveryStatus::{Delivered, Failed, Pending};
    &[
        (&[Pending], DeliveryStep::Delivered, Delivered),
        (&[Pending], DeliveryStep::Retry, Pending),
        (&[Pending], DeliveryStep::GiveUp, Failed),
        (&[Pending], DeliveryStep::Abandon, Failed),
        (&[Pending, Delivered, Failed], DeliveryStep::Resend, Pending),
    ]
};

fn row(step: DeliveryStep) -> (&'static [DeliveryStatus], DeliveryStatus) {
    LIFE_CYCLE
        .iter()
        .find(|(_, s, _)| *s == step)
        .map(|(from, _, to)| (*from, *to))
        .unwrap_or((&[], DeliveryStatus::Pending))
}

/// The one write of a delivery's state: `step` on the deliveries `ids`
/// that are in one of its `from` states (and, with `claim`, still held by
/// it), with the step's own columns. Answers the rows written.
fn step(
    conn: &mut DbConn,
    ids: &[i64],
    claim: Option<&str>,
    step: DeliveryStep,
    fields: StepFields,
) -> AppResult<usize> {
    let (from, to) = row(step);
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let mut target = diesel::update(webhook_deliveries::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .filter(webhook_deliveries::status.eq_any(from))
        .into_boxed();
    if let Some(claim) = claim {
        target = target.filter(webhook_deliveries::claim.eq(claim));
    }
    Ok(target
        .set((webhook_deliveries::status.eq(to.as_str()), fields))
        .execute(conn)?)
}

/// The columns a step writes beside the state.
#[derive(AsChangeset, Default)]
#[diesel(table_name = webhook_deliveries)]
struct StepFields {
    attempts: Option<i32>,
    schedule_step: Option<i32>,
    next_attempt_at: Option<NaiveDateTime>,
    #[diesel(treat_none_as_null = true)]
    claimed_until: Option<NaiveDateTime>,
    #[diesel(treat_none_as_null = true)]
    claim: Option<String>,
    delivered_at: Option<NaiveDateTime>,
    error: Option<String>,
}

/// The delivery rows of the events after the outbox's position that have
/// settled (at most `batch` events), written in one transaction that moves
/// the position past them: an event is fanned out once, by one instance
/// (on PostgreSQL the position's row is locked, and another instance that
/// finds it locked passes), and nothing is lost to a crash — the events
/// keep their webhooks until the position has moved past them. Webhooks
/// deleted meanwhile are passed over (their pending deliveries were failed
/// when they were deleted). Answers the deliveries written.
pub fn fan_out(conn: &mut DbConn, batch: i64) -> AppResult<usize> {
    // read first without a lock: with nothing new, no write is taken
    let Some(at) = position(conn, false)? else {
        return Ok(0);
    };
    if after(conn, at, 1, true)?.is_empty() {
        return Ok(0);
    }
    write_tx(conn, |conn| {
        let Some(at) = position(conn, true)? else {
            return Ok(0);
        };
        let owed = after(conn, at, batch, true)?;
        let Some(&(last_tx, last_id, ..)) = owed.last() else {
            return Ok(0);
        };
        let deleted: Vec<i64> = webhooks::table
            .filter(webhooks::deleted_at.is_not_null())
            .select(webhooks::id)
            .load(conn)?;
        let mut written = 0;
        // one statement a row (diesel's batch insert is not there for both
        // databases at once); the transaction is what costs, and it is one
        for (_, event, hooks, action, at) in &owed {
            for webhook in hooks
                .iter()
                .flat_map(|h| h.split(','))
                .filter_map(|h| h.parse::<i64>().ok())
                .filter(|h| !deleted.contains(h))
            {
                insert(conn, webhook, *event, action, *at)?;
                written += 1;
            }
        }
        diesel::update(outbox_position::table.find(1))
            .set((
                outbox_position::tx.eq(last_tx),
                outbox_position::event_id.eq(last_id),
            ))
            .execute(conn)?;
        Ok(written)
    })
}

/// The outbox's position, `(tx, event id)`; with `lock`, locked for this
/// transaction (on PostgreSQL none when another instance holds it).
fn position(conn: &mut DbConn, lock: bool) -> AppResult<Option<(i64, i64)>> {
    let query = outbox_position::table
        .find(1)
        .select((outbox_position::tx, outbox_position::event_id));
    Ok(match conn {
        DbConn::Pg(pg) if lock => query.for_update().skip_locked().first(pg).optional()?,
        _ => query.first(conn).optional()?,
    })
}

type Owed = (i64, i64, Option<String>, String, NaiveDateTime);

/// Whether every event committed so far is fanned out.
pub fn fanned_out(conn: &mut DbConn) -> AppResult<bool> {
    let at = position(conn, false)?.unwrap_or_default();
    Ok(after(conn, at, 1, false)?.is_empty())
}

/// At most `limit` events after `(tx, id)` (with `settled`, of settled
/// transactions only), in the feed's order.
fn after(
    conn: &mut DbConn,
    (tx, id): (i64, i64),
    limit: i64,
    settled: bool,
) -> AppResult<Vec<Owed>> {
    let mut query = events::table
        .filter(
            events::tx
                .gt(tx)
                .or(events::tx.eq(tx).and(events::id.gt(id))),
        )
        .into_boxed();
    if settled && matches!(conn, DbConn::Pg(_)) {
        query = query.filter(Condition(super::events::SETTLED));
    }
    Ok(query
        .order((events::tx.asc(), events::id.asc()))
        .limit(limit)
        .select((
            events::tx,
            events::id,
            events::webhook_ids,
            events::action,
            events::at,
        ))
        .load(conn)?)
}

/// A pending delivery of event `event` to `webhook`, due at once (a ping's:
/// other events are fanned out).
pub fn queue(
    conn: &mut DbConn,
    webhook: i64,
    event: i64,
    action: EventType,
    at: NaiveDateTime,
) -> AppResult<i64> {
    insert(conn, webhook, event, action.as_str(), at)
}

fn insert(
    conn: &mut DbConn,
    webhook: i64,
    event: i64,
    action: &str,
    at: NaiveDateTime,
) -> AppResult<i64> {
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(webhook),
            webhook_deliveries::event_id.eq(event),
            webhook_deliveries::event_type.eq(action),
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::schedule_step.eq(0),
            webhook_deliveries::next_attempt_at.eq(at),
            webhook_deliveries::created_at.eq(at),
        ))
        .returning(webhook_deliveries::id)
        .get_result(conn)?)
}

/// Sends a delivery again at `now`, its whole schedule ahead.
pub fn resend(conn: &mut DbConn, delivery: i64, now: NaiveDateTime) -> AppResult<()> {
    step(
        conn,
        &[delivery],
        None,
        DeliveryStep::Resend,
        StepFields {
            schedule_step: Some(0),
            next_attempt_at: Some(now),
            ..Default::default()
        },
    )
    .map(drop)
}

/// Fails every pending delivery of `webhook`, saying why.
pub fn abandon(conn: &mut DbConn, webhook: i64, why: &str) -> AppResult<()> {
    let pending: Vec<i64> = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .select(webhook_deliveries::id)
        .load(conn)?;
    step(
        conn,
        &pending,
        None,
        DeliveryStep::Abandon,
        StepFields {
            error: Some(why.to_string()),
            ..Default::default()
        },
    )
    .map(drop)
}

/// Records an attempt under its claim (a claim that ran out and was taken
/// again by another instance records nothing): delivered, or the next
/// attempt after the schedule's wait (with a fifth of jitter either way),
/// or failed when the schedule is spent. Answers whether it was recorded.
pub fn record_attempt(
    conn: &mut DbConn,
    now: NaiveDateTime,
    claimed: &Claimed,
    claim: &str,
    attempt: &Attempt,
    schedule: &[u64],
) -> AppResult<bool> {
    let d = &claimed.delivery;
    let written = diesel::update(
        webhook_deliveries::table
            .find(d.id)
            .filter(webhook_deliveries::claim.eq(claim)),
    )
    .set((
        webhook_deliveries::last_attempt_at.eq(now),
        webhook_deliveries::response_status.eq(attempt.status.map(i32::from)),
        webhook_deliveries::response_ms.eq(attempt.elapsed_ms),
        webhook_deliveries::response_body.eq(attempt.body.clone()),
        webhook_deliveries::error.eq(attempt.error.clone()),
    ))
    .execute(conn)?;
    if written == 0 {
        return Ok(false);
    }
    let released = StepFields {
        attempts: Some(d.attempts + 1),
        ..Default::default()
    };
    let position = usize::try_from(d.schedule_step).unwrap_or(usize::MAX);
    let (next, fields) = if attempt.succeeded() {
        (
            DeliveryStep::Delivered,
            StepFields {
                delivered_at: Some(now),
                ..released
            },
        )
    } else if let Some(&wait) = schedule.get(position) {
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        let wait = Duration::milliseconds((wait as f64 * 1000.0 * jitter) as i64);
        (
            DeliveryStep::Retry,
            StepFields {
                schedule_step: Some(d.schedule_step + 1),
                next_attempt_at: Some(now + wait),
                ..released
            },
        )
    } else {
        (DeliveryStep::GiveUp, released)
    };
    Ok(step(conn, &[d.id], Some(claim), next, fields)? == 1)
}

/// A delivery claimed for one attempt, with its endpoint.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: Delivery,
    pub webhook: Webhook,
    /// The event's subject, for the body.
    pub subject: (String, i64),
    pub event_at: NaiveDateTime,
    pub event_payload: String,
}

/// Claims due deliveries for one attempt each, at most `max_in_flight` at
/// once per endpoint across every instance. Which endpoints have work and
/// room is read first, without a lock (a queue of thousands behind an
/// endpoint that hangs costs two index probes, and SQLite's writer lock is
/// not taken at all); then an endpoint's row is locked while its claims
/// are counted and taken (on PostgreSQL `FOR UPDATE SKIP LOCKED`: another
/// instance passes over it; on SQLite the write lock is one). A claim lasts
/// `hold`; an instance that dies leaves it to run out.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    claim: &str,
    hold: Duration,
    max_in_flight: i64,
    batch: i64,
) -> AppResult<Vec<Claimed>> {
    let hooks: Vec<i64> = webhooks::table
        .filter(webhooks::active.eq(true))
        .filter(webhooks::deleted_at.is_null())
        .order(webhooks::id.asc())
        .select(webhooks::id)
        .load(conn)?;
    let mut claimed = vec![];
    for hook_id in hooks {
        if claimed.len() as i64 >= batch {
            break;
        }
        if in_flight(conn, hook_id, now)? >= max_in_flight
            || first_due(conn, hook_id, now)?.is_none()
        {
            continue;
        }
        claimed.extend(claim_for(conn, hook_id, now, claim, hold, max_in_flight)?);
    }
    Ok(claimed)
}

fn in_flight(conn: &mut DbConn, hook_id: i64, now: NaiveDateTime) -> AppResult<i64> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(hook_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::claimed_until.ge(now))
        .count()
        .get_result(conn)?)
}

fn first_due(conn: &mut DbConn, hook_id: i64, now: NaiveDateTime) -> AppResult<Option<i64>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(hook_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::claimed_until
                .is_null()
                .or(webhook_deliveries::claimed_until.lt(now)),
        )
        .order((
            webhook_deliveries::next_attempt_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .select(webhook_deliveries::id)
        .first(conn)
        .optional()?)
}

/// The claims on one endpoint's due deliveries, under its row's lock.
fn claim_for(
    conn: &mut DbConn,
    hook_id: i64,
    now: NaiveDateTime,
    claim: &str,
    hold: Duration,
    max_in_flight: i64,
) -> AppResult<Vec<Claimed>> {
    write_tx(conn, |conn| {
        let hook: Option<Webhook> = match conn {
            DbConn::Pg(pg) => webhooks::table
                .find(hook_id)
                .filter(webhooks::active.eq(true))
                .select(Webhook::as_select())
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?,
            DbConn::Sqlite(_) => webhooks::table
                .find(hook_id)
                .filter(webhooks::active.eq(true))
                .select(Webhook::as_select())
                .first(conn)
                .optional()?,
        };
        let Some(hook) = hook else {
            return Ok(vec![]);
        };
        let room = max_in_flight - in_flight(conn, hook_id, now)?;
        if room <= 0 {
            return Ok(vec![]);
        }
        let rows: Vec<(Delivery, String, i64, NaiveDateTime, String)> = webhook_deliveries::table
            .inner_join(events::table.on(events::id.eq(webhook_deliveries::event_id)))
            .filter(webhook_deliveries::webhook_id.eq(hook_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::claimed_until
                    .is_null()
                    .or(webhook_deliveries::claimed_until.lt(now)),
            )
            .order((
                webhook_deliveries::next_attempt_at.asc(),
                webhook_deliveries::id.asc(),
            ))
            .limit(room)
            .select((
                Delivery::as_select(),
                events::subject_type,
                events::subject_id,
                events::at,
                events::payload,
            ))
            .load(conn)?;
        let ids: Vec<i64> = rows.iter().map(|(d, ..)| d.id).collect();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::claimed_until.eq(now + hold),
                webhook_deliveries::claim.eq(claim),
            ))
            .execute(conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(delivery, subject_type, subject_id, event_at, event_payload)| Claimed {
                    delivery,
                    webhook: hook.clone(),
                    subject: (subject_type, subject_id),
                    event_at,
                    event_payload,
                },
            )
            .collect())
    })
}

/// Fixes the body of a delivery at its first attempt, so every retry sends
/// the same bytes. Answers the body that is fixed (another's, if it came
/// first).
pub fn fix_body(conn: &mut DbConn, delivery: i64, body: &str) -> AppResult<String> {
    write_tx(conn, |conn| {
        diesel::update(
            webhook_deliveries::table
                .find(delivery)
                .filter(webhook_deliveries::body.is_null()),
        )
        .set(webhook_deliveries::body.eq(body))
        .execute(conn)?;
        let fixed: Option<String> = webhook_deliveries::table
            .find(delivery)
            .select(webhook_deliveries::body)
            .first(conn)?;
        Ok(fixed.unwrap_or_else(|| body.to_string()))
    })
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The HTTP status, when the endpoint answered.
    pub status: Option<u16>,
    pub elapsed_ms: i64,
    /// The first KiB of the answer.
    pub body: Option<String>,
    /// Why it failed without an answer (timeout, refused, address not allowed).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Deliveries waiting to be sent, for the operator (and the bench).
pub fn queue_depth(conn: &mut DbConn) -> AppResult<i64> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .count()
        .get_result(conn)?)
}
