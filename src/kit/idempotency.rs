//! Idempotent writes. Apps on site retry on bad networks, and a complaint or
//! a repair report must never be created twice (004 risk control C01/C02).
//!
//! A request with an `Idempotency-Key` claims the key for its user **in the
//! transaction of the write itself**, and the answer is stored in that same
//! transaction before it commits: a crash can never leave a write without
//! its key or a key without its answer. A second request with the key
//! meets the claim on the unique index: on PostgreSQL it waits there until
//! the first commits (or rolls back), on SQLite the write lock queues it;
//! then it replays the stored answer. A failed request rolls its claim back
//! with everything else, so a refused request does not burn the key.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use sha2::{Digest, Sha256};

use crate::db::schema::idempotency_keys;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};

/// An answer as it was first given, to give again on a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub location: Option<String>,
    pub etag: Option<String>,
}

/// A request's claim on a key.
#[derive(Debug, Clone)]
pub struct Claim {
    pub user_id: i64,
    pub key: String,
    /// Hash of method, path and body: the same key with another request is refused.
    pub request_hash: String,
}

/// The request hash of [`Claim`]: method, path and the body's own digest.
pub fn request_hash(method: &str, path: &str, body_digest: &str) -> String {
    let mut h = Sha256::new();
    for part in [method, path, body_digest] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Checks a key as sent: 1–255 printable ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Runs `write` once per claimed key: the first time in one transaction
/// with the claim, afterwards answering what it answered then. Returns the
/// answer and whether it is a replay.
pub fn once(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ttl: Duration,
    claim: Option<Claim>,
    write: impl FnOnce(&mut DbConn) -> AppResult<Answer>,
) -> AppResult<(Answer, bool)> {
    let Some(claim) = claim else {
        return Ok((write_tx(conn, write)?, false));
    };
    write_tx(conn, |conn| {
        let id = match insert_claim(conn, now, ttl, &claim)? {
            Some(id) => id,
            None => match stored(conn, now, &claim)? {
                Some(answer) => return Ok((answer, true)),
                // the earlier claim had expired and is gone: claim afresh
                None => insert_claim(conn, now, ttl, &claim)?.ok_or_else(|| {
                    AppError::internal("idempotency key still taken after removing it")
                })?,
            },
        };
        let answer = write(conn)?;
        diesel::update(idempotency_keys::table.find(id))
            .set((
                idempotency_keys::response_status.eq(i32::from(answer.status)),
                idempotency_keys::response_body.eq(answer.body.to_string()),
                idempotency_keys::response_location.eq(&answer.location),
                idempotency_keys::response_etag.eq(&answer.etag),
            ))
            .execute(conn)?;
        Ok((answer, false))
    })
}

/// Inserts the claim in a savepoint (on PostgreSQL a unique violation would
/// otherwise abort the whole transaction). `None` when the key is taken.
fn insert_claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ttl: Duration,
    claim: &Claim,
) -> AppResult<Option<i64>> {
    let inserted = conn.transaction::<i64, DieselError, _>(|conn| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::user_id.eq(claim.user_id),
                idempotency_keys::idem_key.eq(&claim.key),
                idempotency_keys::request_hash.eq(&claim.request_hash),
                idempotency_keys::response_status.eq(0),
                idempotency_keys::response_body.eq(""),
                idempotency_keys::created_at.eq(now),
                idempotency_keys::expires_at.eq(now + ttl),
            ))
            .returning(idempotency_keys::id)
            .get_result(conn)
    });
    match inserted {
        Ok(id) => Ok(Some(id)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The answer stored under a taken key; `None` (after removing it) when the
/// key has expired.
fn stored(conn: &mut DbConn, now: NaiveDateTime, claim: &Claim) -> AppResult<Option<Answer>> {
    type Row = (
        i64,
        String,
        i32,
        String,
        Option<String>,
        Option<String>,
        NaiveDateTime,
    );
    let row: Row = idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(claim.user_id))
        .filter(idempotency_keys::idem_key.eq(&claim.key))
        .select((
            idempotency_keys::id,
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::response_location,
            idempotency_keys::response_etag,
            idempotency_keys::expires_at,
        ))
        .first(conn)?;
    let (id, hash, status, body, location, etag, expires_at) = row;
    if expires_at <= now {
        diesel::delete(idempotency_keys::table.find(id)).execute(conn)?;
        return Ok(None);
    }
    if hash != claim.request_hash {
        return Err(AppError::rule(
            "idempotency_key_reused",
            "Idempotency-Key",
            "this Idempotency-Key was already used for another request; use a new key for a new request",
        ));
    }
    Ok(Some(Answer {
        status: u16::try_from(status).map_err(AppError::internal)?,
        body: serde_json::from_str(&body).map_err(AppError::internal)?,
        location,
        etag,
    }))
}

/// Removes expired keys (run with the deadline sweep). Returns how many.
pub fn sweep(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.le(now)))
            .execute(conn)?,
    )
}
