//! Webhook subscriptions and their deliveries, as records: who may keep
//! them (an administrator, or a branch engineer for their own branch),
//! their secrets, and the delivery queue's claims and outcomes. Sending is
//! [`crate::webhooks`]'s: this module never waits on a partner.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{org_units, webhook_deliveries, webhooks};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::kit::events as event_log;
use crate::kit::outbox;
pub use crate::kit::outbox::{Attempt, Claimed};
use crate::models::event::EventType;
use crate::models::integration::{Delivery, DeliveryStatus, Webhook};
use crate::models::org_unit::OrgUnitKind;
use crate::models::user::Role;

use super::{check_version, double_option, IfMatch, Page, Paged};

/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// The most event types one subscription names (there are fewer).
pub const MAX_EVENT_TYPES: usize = 200;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://erp.example.com/aftercare/webhooks",
    "description": "集团ERP group ERP: billable repairs",
    "event_types": ["repair.accepted", "repair.closed"],
    "branch_id": 2
}))]
pub struct NewWebhook {
    /// Where to POST: `https://` (plain `http://` only where the operator
    /// allows it). Its host must not resolve to a loopback, private,
    /// link-local, multicast or unspecified address.
    #[validate(length(min = 8, max = 2000))]
    #[schema(min_length = 8, max_length = 2000, format = "uri")]
    pub url: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The events to send; at least one.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_items = 1, max_items = 200)]
    pub event_types: Vec<EventType>,
    /// Only events of records in this branch. Required for a branch
    /// engineer (their own branch); none for an administrator: every event.
    #[schema(minimum = 1)]
    pub branch_id: Option<i64>,
    /// Default `true`.
    pub active: Option<bool>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true, "event_types": ["repair.accepted"]}))]
pub struct WebhookPatch {
    #[validate(length(min = 8, max = 2000))]
    #[schema(min_length = 8, max_length = 2000, format = "uri")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<Option<String>>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_items = 1, max_items = 200)]
    pub event_types: Option<Vec<EventType>>,
    /// `true` turns a disabled endpoint on again: its pending deliveries go
    /// out, and its failure window starts afresh.
    pub active: Option<bool>,
}

fn may_keep(actor: &Actor) -> AppResult<()> {
    actor.require(&[Role::Admin, Role::BranchEngineer])
}

/// A subscription's branch and its subtree as a path range.
type BranchRange = (Option<i64>, Option<(String, String)>);

/// The branch a subscription filters on, checked: a branch engineer's
/// must be their own branch; an administrator's any branch.
fn branch_scope(
    conn: &mut DbConn,
    actor: &Actor,
    branch_id: Option<i64>,
) -> AppResult<BranchRange> {
    let branch_id = match (actor.role, branch_id) {
        (Role::Admin, None) => return Ok((None, None)),
        (Role::Admin, Some(b)) => b,
        (_, Some(b)) => b,
        (_, None) => actor
            .org_unit_id
            .ok_or_else(|| AppError::invalid("branch_id", "name the branch"))?,
    };
    let unit: Option<(String, String)> = org_units::table
        .find(branch_id)
        .select((org_units::kind, org_units::path))
        .first(conn)
        .optional()?;
    let scope = actor.scope();
    match unit {
        Some((kind, path)) if scope.covers_path(&path) => {
            if kind != OrgUnitKind::Branch.as_str() {
                return Err(AppError::rule(
                    "not_a_branch",
                    "branch_id",
                    format!("org unit {branch_id} is not a branch"),
                ));
            }
            Ok((Some(branch_id), Some(Scope::path_range(&path))))
        }
        _ => Err(AppError::missing_reference(
            "branch_id",
            format!("branch {branch_id} not found"),
        )),
    }
}

/// `,a,b,`: the stored form, matched with LIKE when an event is written.
fn stored_types(types: &[EventType]) -> String {
    let mut names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    format!(",{},", names.join(","))
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::thread_rng().gen();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The webhook as its keeper may see it; 404 otherwise.
pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Webhook> {
    may_keep(actor)?;
    let hook: Option<Webhook> = webhooks::table
        .find(id)
        .filter(webhooks::deleted_at.is_null())
        .select(Webhook::as_select())
        .first(conn)
        .optional()?;
    let visible = hook.filter(|h| match actor.scope() {
        Scope::All => true,
        // a branch engineer keeps their branch's subscriptions only
        scope => h
            .scope_low
            .as_deref()
            .is_some_and(|low| scope.covers_path(low)),
    });
    visible.ok_or_else(|| AppError::NotFound(format!("webhook {id} not found")))
}

pub fn list(conn: &mut DbConn, actor: &Actor, page: Page) -> AppResult<Paged<Webhook>> {
    may_keep(actor)?;
    let mut query = webhooks::table
        .filter(webhooks::deleted_at.is_null())
        .into_boxed();
    if let Scope::OrgSubtree(root) = actor.scope() {
        query = query.filter(crate::in_subtree!(webhooks::scope_low, &root));
    }
    if let Some(after) = page.after_id {
        query = query.filter(webhooks::id.gt(after));
    }
    let rows = query
        .order(webhooks::id.asc())
        .limit(page.limit + 1)
        .select(Webhook::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |w| w.id))
}

/// Creates a subscription whose URL the caller has checked
/// ([`crate::webhooks::check_url`]); answers it with its secret.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    input: &NewWebhook,
) -> AppResult<Webhook> {
    may_keep(actor)?;
    write_tx(conn, |conn| {
        let (branch_id, range) = branch_scope(conn, actor, input.branch_id)?;
        let (low, high) = range.unzip();
        let id: i64 = diesel::insert_into(webhooks::table)
            .values((
                webhooks::url.eq(input.url.trim()),
                webhooks::description.eq(super::trimmed(input.description.as_deref())),
                webhooks::event_types.eq(stored_types(&input.event_types)),
                webhooks::branch_id.eq(branch_id),
                webhooks::scope_low.eq(low),
                webhooks::scope_high.eq(high),
                webhooks::active.eq(input.active.unwrap_or(true)),
                webhooks::secret.eq(new_secret()),
                webhooks::created_by.eq(actor.id),
                webhooks::version.eq(1),
                webhooks::created_at.eq(now),
                webhooks::updated_at.eq(now),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        let hook = find(conn, id)?;
        event_log::record_change(
            conn,
            now,
            actor,
            EventType::WebhookCreated,
            ("webhook", id),
            None,
            Some(audit(&hook)),
        )?;
        Ok(hook)
    })
}

fn find(conn: &mut DbConn, id: i64) -> AppResult<Webhook> {
    Ok(webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)?)
}

/// What the audit trail keeps of a subscription: never its secrets.
fn audit(hook: &Webhook) -> serde_json::Value {
    serde_json::to_value(hook).unwrap_or_default()
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected: Option<IfMatch>,
    patch: &WebhookPatch,
) -> AppResult<Webhook> {
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        check_version(expected, before.version)?;
        let url = patch.url.as_deref().map(str::trim).unwrap_or(&before.url);
        let description = match &patch.description {
            Some(d) => super::trimmed(d.as_deref()),
            None => before.description.clone(),
        };
        let types = match &patch.event_types {
            Some(t) => stored_types(t),
            None => before.event_types.clone(),
        };
        let active = patch.active.unwrap_or(before.active);
        // turned on again: the failure window starts afresh
        let reenabled = active && !before.active;
        update_version!(
            conn,
            webhooks,
            (id, before.version),
            now,
            (
                webhooks::url.eq(url),
                webhooks::description.eq(description),
                webhooks::event_types.eq(types),
                webhooks::active.eq(active),
                webhooks::failing_since.eq(if reenabled {
                    None
                } else {
                    before.failing_since
                }),
                webhooks::disabled_at.eq(if active { None } else { before.disabled_at }),
                webhooks::disabled_reason.eq(if active {
                    None
                } else {
                    before.disabled_reason.clone()
                }),
            )
        );
        let after = find(conn, id)?;
        event_log::record_change(
            conn,
            now,
            actor,
            EventType::WebhookUpdated,
            ("webhook", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// Removes a subscription: nothing more is sent to it, its pending
/// deliveries fail.
pub fn delete(conn: &mut DbConn, actor: &Actor, now: NaiveDateTime, id: i64) -> AppResult<()> {
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        diesel::update(webhooks::table.find(id))
            .set((
                webhooks::deleted_at.eq(now),
                webhooks::active.eq(false),
                webhooks::version.eq(before.version + 1),
                webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
        outbox::abandon(conn, id, "the webhook was deleted")?;
        event_log::record_change(
            conn,
            now,
            actor,
            EventType::WebhookDeleted,
            ("webhook", id),
            Some(audit(&before)),
            None,
        )
    })
}

/// A new secret; the old one signs beside it for 24 hours, so that the
/// receiver can switch without losing a delivery. Answers the webhook and
/// its new secret.
pub fn rotate_secret(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected: Option<IfMatch>,
) -> AppResult<Webhook> {
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        check_version(expected, before.version)?;
        update_version!(
            conn,
            webhooks,
            (id, before.version),
            now,
            (
                webhooks::previous_secret.eq(Some(before.secret.clone())),
                webhooks::previous_secret_until
                    .eq(Some(now + Duration::hours(ROTATION_OVERLAP_HOURS))),
                webhooks::secret.eq(new_secret()),
            )
        );
        let after = find(conn, id)?;
        event_log::record_change(
            conn,
            now,
            actor,
            EventType::WebhookSecretRotated,
            ("webhook", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// The secrets that sign a delivery now: the current one, and the previous
/// one while its overlap lasts.
pub fn signing_secrets(hook: &Webhook, now: NaiveDateTime) -> Vec<&str> {
    let mut secrets = vec![hook.secret.as_str()];
    if let (Some(previous), Some(until)) = (&hook.previous_secret, hook.previous_secret_until) {
        if until > now {
            secrets.push(previous);
        }
    }
    secrets
}

/// Queues a `webhook.ping` for this endpoint alone.
pub fn ping(conn: &mut DbConn, actor: &Actor, now: NaiveDateTime, id: i64) -> AppResult<Delivery> {
    write_tx(conn, |conn| {
        let hook = get(conn, actor, id)?;
        let event = event_log::record_by(
            conn,
            now,
            actor,
            EventType::WebhookPing,
            ("webhook", id),
            None,
            Some(audit(&hook)),
            false,
        )?;
        let delivery = outbox::queue(conn, id, event, EventType::WebhookPing, now)?;
        delivery_of(conn, id, delivery)
    })
}

fn delivery_of(conn: &mut DbConn, webhook: i64, id: i64) -> AppResult<Delivery> {
    webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("delivery {id} not found")))
}

pub fn deliveries(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    status: Option<DeliveryStatus>,
    page: Page,
) -> AppResult<Paged<Delivery>> {
    get(conn, actor, id)?;
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .into_boxed();
    if let Some(s) = status {
        query = query.filter(webhook_deliveries::status.eq(s.as_str()));
    }
    // newest first: what a partner debugging an endpoint looks at
    if let Some(before) = page.after_id {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    let rows = query
        .order(webhook_deliveries::id.desc())
        .limit(page.limit + 1)
        .select(Delivery::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |d| d.id))
}

pub fn delivery(conn: &mut DbConn, actor: &Actor, id: i64, delivery: i64) -> AppResult<Delivery> {
    get(conn, actor, id)?;
    delivery_of(conn, id, delivery)
}

/// Sends a delivery again now, with the whole retry schedule ahead of it
/// (a delivered one too: the receiver asked for it again).
pub fn retry(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    delivery: i64,
) -> AppResult<Delivery> {
    write_tx(conn, |conn| {
        get(conn, actor, id)?;
        delivery_of(conn, id, delivery)?;
        outbox::resend(conn, delivery, now)?;
        delivery_of(conn, id, delivery)
    })
}

/// What the dispatcher does with an attempt's outcome, in the queue's own
/// transaction: the delivery's step ([`outbox::record_attempt`]) and, for
/// an endpoint failing for `disable_after`, turning it off with a
/// `webhook.disabled` event. Answers false when the claim was no longer
/// ours (it ran out and another instance took it).
pub fn record_attempt(
    conn: &mut DbConn,
    now: NaiveDateTime,
    claimed: &Claimed,
    claim: &str,
    attempt: &Attempt,
    schedule: &[u64],
    disable_after: Duration,
) -> AppResult<bool> {
    write_tx(conn, |conn| {
        if !outbox::record_attempt(conn, now, claimed, claim, attempt, schedule)? {
            return Ok(false);
        }
        let hook = find(conn, claimed.delivery.webhook_id)?;
        if attempt.succeeded() {
            if hook.failing_since.is_some() {
                diesel::update(webhooks::table.find(hook.id))
                    .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
            return Ok(true);
        }
        let Some(since) = hook.failing_since else {
            diesel::update(webhooks::table.find(hook.id))
                .set(webhooks::failing_since.eq(now))
                .execute(conn)?;
            return Ok(true);
        };
        if hook.active && now - since >= disable_after {
            let reason = format!(
                "every delivery failed since {} UTC",
                since.format("%Y-%m-%d %H:%M")
            );
            diesel::update(webhooks::table.find(hook.id))
                .set((
                    webhooks::active.eq(false),
                    webhooks::disabled_at.eq(now),
                    webhooks::disabled_reason.eq(&reason),
                    webhooks::version.eq(hook.version + 1),
                    webhooks::updated_at.eq(now),
                ))
                .execute(conn)?;
            let after = find(conn, hook.id)?;
            event_log::record(
                conn,
                now,
                None,
                EventType::WebhookDisabled,
                "webhook",
                hook.id,
                serde_json::json!({"before": audit(&hook), "after": audit(&after)}),
            )?;
        }
        Ok(true)
    })
}
