//! API keys for systems: a call centre, an ERP, a property company's system.
//! Each key acts as its own service user — a role and an org unit (or a
//! customer), with the same scope rules as a person of that role — so every
//! check the services make for people holds for keys unchanged. The key is
//! shown once and stored as its SHA-256; a revoked or expired key is
//! refused from the next request on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Actor;
use crate::db::schema::{api_keys, org_units, users};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::kit::events;
use crate::models::event::EventType;
use crate::models::integration::ApiKey;
use crate::models::org_unit::OrgUnit;
use crate::models::user::{Role, User};

use super::{users as user_service, Page, Paged};

/// Every key starts so; a bearer token that does is looked up as a key.
pub const KEY_PREFIX: &str = "ak_";

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "呼叫中心 call centre", "role": "branch_engineer", "org_unit_id": 2,
    "read_only": false, "expires_at": "2027-12-31T16:00:00Z"
}))]
pub struct NewApiKey {
    /// What the key is for: shown in lists and on every change it makes.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The role the system acts as.
    pub role: Role,
    /// Its org unit, as for a person of the role.
    #[schema(minimum = 1)]
    pub org_unit_id: Option<i64>,
    /// The customer, for a key of role `customer` (an owner's property
    /// management system).
    #[schema(minimum = 1)]
    pub customer_id: Option<i64>,
    /// Reads only: every write answers 403.
    #[serde(default)]
    pub read_only: bool,
    /// When it stops working; none: until revoked.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A key and its service user.
#[derive(Debug)]
pub struct KeyRecord {
    pub key: ApiKey,
    pub user: User,
}

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The bucket name of a key for the rate limit (never the key itself).
pub fn fingerprint(key: &str) -> String {
    hash(key)
}

/// Creates a key; answers it with the key's text, which is never shown again.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    input: &NewApiKey,
) -> AppResult<(KeyRecord, String)> {
    actor.require_admin()?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    let expires_at = input.expires_at.map(|t| t.naive_utc());
    if expires_at.is_some_and(|t| t <= now) {
        return Err(AppError::invalid("expires_at", "must lie in the future"));
    }
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 43);
    let key = format!("{KEY_PREFIX}{secret}");
    write_tx(conn, |conn| {
        // the service user: never logs in (no password hash matches `!`)
        let user = user_service::create(
            conn,
            actor,
            now,
            &user_service::NewUserInput {
                username: format!("apikey.{}", secret[..12].to_lowercase()),
                display_name: name.to_string(),
                phone: None,
                role: input.role,
                rank: None,
                org_unit_id: input.org_unit_id,
                customer_id: input.customer_id,
                password: String::new(),
            },
            "!",
        )?;
        let id: i64 = diesel::insert_into(api_keys::table)
            .values((
                api_keys::name.eq(name),
                api_keys::prefix.eq(&key[..KEY_PREFIX.len() + 6]),
                api_keys::key_hash.eq(hash(&key)),
                api_keys::user_id.eq(user.id),
                api_keys::read_only.eq(input.read_only),
                api_keys::expires_at.eq(expires_at),
                api_keys::created_by.eq(actor.id),
                api_keys::created_at.eq(now),
            ))
            .returning(api_keys::id)
            .get_result(conn)?;
        let record = load(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ApiKeyCreated,
            ("api_key", id),
            None,
            Some(audit(&record)),
        )?;
        Ok((record, key))
    })
}

fn audit(record: &KeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.key.id, "name": record.key.name, "prefix": record.key.prefix,
        "user_id": record.key.user_id, "role": record.user.role,
        "org_unit_id": record.user.org_unit_id, "customer_id": record.user.customer_id,
        "read_only": record.key.read_only, "expires_at": record.key.expires_at,
        "revoked_at": record.key.revoked_at,
    })
}

fn load(conn: &mut DbConn, id: i64) -> AppResult<KeyRecord> {
    let (key, user) = api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
        .filter(api_keys::id.eq(id))
        .select((ApiKey::as_select(), User::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("API key {id} not found")))?;
    Ok(KeyRecord { key, user })
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<KeyRecord> {
    actor.require_admin()?;
    load(conn, id)
}

/// Every key, newest last, revoked ones too (they say when).
pub fn list(conn: &mut DbConn, actor: &Actor, page: Page) -> AppResult<Paged<KeyRecord>> {
    actor.require_admin()?;
    let mut query = api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
        .into_boxed();
    if let Some(after) = page.after_id {
        query = query.filter(api_keys::id.gt(after));
    }
    let rows: Vec<(ApiKey, User)> = query
        .order(api_keys::id.asc())
        .limit(page.limit + 1)
        .select((ApiKey::as_select(), User::as_select()))
        .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(key, user)| KeyRecord { key, user })
        .collect();
    Ok(Paged::from_rows(rows, page, |r| r.key.id))
}

/// Revokes a key: refused from the next request on. Revoking twice is the
/// same as once.
pub fn revoke(conn: &mut DbConn, actor: &Actor, now: NaiveDateTime, id: i64) -> AppResult<()> {
    actor.require_admin()?;
    write_tx(conn, |conn| {
        let before = load(conn, id)?;
        if before.key.revoked_at.is_some() {
            return Ok(());
        }
        diesel::update(api_keys::table.find(id))
            .set((
                api_keys::revoked_at.eq(now),
                api_keys::revoked_by.eq(actor.id),
            ))
            .execute(conn)?;
        let after = load(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ApiKeyRevoked,
            ("api_key", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )
    })
}

/// The actor of a request made with `key`: a live key of an active
/// service user. A read-only key may not `write`.
pub fn authenticate(
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
    write: bool,
) -> AppResult<Actor> {
    let refused = || {
        AppError::unauthorized(
            "invalid_api_key",
            "this API key is not valid: unknown, revoked or expired",
        )
    };
    let row: Option<(ApiKey, User, Option<OrgUnit>)> = api_keys::table
        .inner_join(users::table.on(users::id.eq(api_keys::user_id)))
        .left_join(org_units::table.on(users::org_unit_id.eq(org_units::id.nullable())))
        .filter(api_keys::key_hash.eq(hash(key)))
        .select((
            ApiKey::as_select(),
            User::as_select(),
            Option::<OrgUnit>::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((api_key, user, unit)) = row else {
        return Err(refused());
    };
    if api_key.revoked_at.is_some() || api_key.expires_at.is_some_and(|t| t <= now) || !user.active
    {
        return Err(refused());
    }
    if write && api_key.read_only {
        return Err(AppError::Forbidden(format!(
            "the API key {:?} is read-only",
            api_key.name
        )));
    }
    // when it was last used, to the minute: a read stays a read otherwise
    if api_key
        .last_used_at
        .is_none_or(|t| now - t >= chrono::Duration::minutes(1))
    {
        write_tx(conn, |conn| {
            diesel::update(api_keys::table.find(api_key.id))
                .set(api_keys::last_used_at.eq(now))
                .execute(conn)?;
            Ok(())
        })?;
    }
    let mut actor = super::auth::actor_of(user, unit, &format!("key:{}", api_key.id))?;
    actor.api_key_id = Some(api_key.id);
    Ok(actor)
}
