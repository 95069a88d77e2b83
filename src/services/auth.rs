//! Login, rotating refresh tokens, logout, and the first administrator.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::jwt::{random_token, JwtKeys};
use crate::auth::{password, Actor};
use crate::config::Config;
use crate::db::schema::{login_attempts, org_units, refresh_tokens, sessions, users};
use crate::db::{with_conn, write_tx, DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::models::event::EventType;
use crate::models::org_unit::OrgUnit;
use crate::models::user::{NewUser, Rank, Role, User};

use crate::kit::events;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "admin", "password": "change-me-now"}))]
pub struct LoginInput {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "q3V9b2x0c0t1b2tlbi1leGFtcGxlLXZhbHVlLW9ubHk"}))]
pub struct RefreshInput {
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_at: NaiveDateTime,
    pub user: User,
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What the check of a request reads: the session's row ([`sessions`]),
/// kept in step with the account by every transaction that changes either.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    user_id: i64,
    username: String,
    role: String,
    rank: Option<String>,
    org_unit_id: Option<i64>,
    org_path: Option<String>,
    org_kind: Option<String>,
    customer_id: Option<i64>,
    active: bool,
    ended_at: Option<NaiveDateTime>,
}

/// Loads the caller of an access token: the user must still be active and
/// the session (refresh-token family) not ended by logout or revocation.
/// One primary-key read, so a logout, a deactivation or a role change takes
/// effect on the very next request on every instance, with nothing cached.
pub fn session_user(conn: &mut DbConn, user_id: i64, session: &str) -> AppResult<Actor> {
    let row: Option<SessionRow> = sessions::table
        .find(session)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    checked(row, user_id, session)
}

/// The session check's verdict on the row read for `session`.
fn checked(row: Option<SessionRow>, user_id: i64, session: &str) -> AppResult<Actor> {
    match row {
        Some(s) if s.user_id == user_id && !s.active => Err(account_inactive()),
        Some(s) if s.user_id == user_id && s.ended_at.is_none() => Ok(Actor {
            id: s.user_id,
            role: Role::from_db(&s.role)?,
            rank: s.rank.as_deref().map(Rank::from_db).transpose()?,
            username: s.username,
            org_unit_id: s.org_unit_id,
            org_path: s.org_path,
            org_kind: s.org_kind,
            customer_id: s.customer_id,
            session: session.to_string(),
            api_key_id: None,
            import_id: None,
        }),
        _ => Err(AppError::unauthorized(
            "session_ended",
            "this session has ended (logged out or revoked); log in again",
        )),
    }
}

fn account_inactive() -> AppError {
    AppError::unauthorized(
        "account_inactive",
        "this account no longer exists or has been deactivated",
    )
}

/// The actor of a user row and its unit (an API key's service user).
pub(crate) fn actor_of(user: User, org_unit: Option<OrgUnit>, session: &str) -> AppResult<Actor> {
    Ok(Actor {
        id: user.id,
        role: Role::from_db(&user.role)?,
        rank: user.rank.as_deref().map(Rank::from_db).transpose()?,
        username: user.username,
        org_unit_id: user.org_unit_id,
        org_kind: org_unit.as_ref().map(|u| u.kind.clone()),
        org_path: org_unit.map(|u| u.path),
        customer_id: user.customer_id,
        session: session.to_string(),
        api_key_id: None,
        import_id: None,
    })
}

/// The caller's account and their unit, as `/me` answers them.
pub fn me(conn: &mut DbConn, actor: &Actor) -> AppResult<(User, Option<OrgUnit>)> {
    Ok(users::table
        .left_join(org_units::table)
        .filter(users::id.eq(actor.id))
        .select((User::as_select(), Option::<OrgUnit>::as_select()))
        .first(conn)?)
}

/// `/me` for a session's token in one read: the session's row, checked as
/// [`session_user`] checks it, with the account and unit it answers (on
/// PostgreSQL one round trip instead of two).
pub fn me_of_session(
    conn: &mut DbConn,
    user_id: i64,
    session: &str,
) -> AppResult<(User, Option<OrgUnit>)> {
    let row: Option<(SessionRow, User, Option<OrgUnit>)> = sessions::table
        .inner_join(users::table.on(users::id.eq(sessions::user_id)))
        .left_join(org_units::table.on(org_units::id.nullable().eq(users::org_unit_id)))
        .filter(sessions::id.eq(session))
        .select((
            SessionRow::as_select(),
            User::as_select(),
            Option::<OrgUnit>::as_select(),
        ))
        .first(conn)
        .optional()?;
    let (row, account) = match row {
        Some((s, user, unit)) => (Some(s), Some((user, unit))),
        None => (None, None),
    };
    checked(row, user_id, session)?;
    account.ok_or_else(account_inactive)
}

/// The scope path and kind of `user`'s unit, which their sessions copy.
fn unit_of(conn: &mut DbConn, user: &User) -> AppResult<(Option<String>, Option<String>)> {
    let unit: Option<(String, String)> = match user.org_unit_id {
        Some(id) => Some(
            org_units::table
                .find(id)
                .select((org_units::path, org_units::kind))
                .first(conn)?,
        ),
        None => None,
    };
    Ok(unit.unzip())
}

/// Writes what the session check reads of `user` into every session of
/// theirs, in the transaction that changed the account (role, rank, unit,
/// customer, active). Ended sessions are rewritten too, so that one of a
/// deactivated account says so.
pub fn sync_sessions(conn: &mut DbConn, user: &User) -> AppResult<()> {
    let (path, kind) = unit_of(conn, user)?;
    diesel::update(sessions::table.filter(sessions::user_id.eq(user.id)))
        .set((
            sessions::role.eq(&user.role),
            sessions::rank.eq(&user.rank),
            sessions::org_unit_id.eq(user.org_unit_id),
            sessions::org_path.eq(path),
            sessions::org_kind.eq(kind),
            sessions::customer_id.eq(user.customer_id),
            sessions::active.eq(user.active),
        ))
        .execute(conn)?;
    Ok(())
}

/// Opens the session `family` of `user`: its row copies the account as it
/// is now.
fn start_session(
    conn: &mut DbConn,
    user: &User,
    family: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let (path, kind) = unit_of(conn, user)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(family),
            sessions::user_id.eq(user.id),
            sessions::username.eq(&user.username),
            sessions::role.eq(&user.role),
            sessions::rank.eq(&user.rank),
            sessions::org_unit_id.eq(user.org_unit_id),
            sessions::org_path.eq(path),
            sessions::org_kind.eq(kind),
            sessions::customer_id.eq(user.customer_id),
            sessions::active.eq(user.active),
            sessions::started_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Checks the password and opens a session. Failed attempts are counted per
/// username (since its last success) and per address, across all instances;
/// past the limit even a right password is refused until the window passes.
/// Takes the pool, not a connection: the password is verified between two
/// short uses of a connection, never while holding one.
pub fn login(
    pool: &DbPool,
    config: &Config,
    jwt: &JwtKeys,
    now: DateTime<Utc>,
    input: &LoginInput,
    remote_addr: &str,
) -> AppResult<TokenGrant> {
    let username = input.username.trim().to_lowercase();
    let now_naive = now.naive_utc();
    let user = with_conn(pool, |conn| {
        check_login_rate(conn, config, now_naive, &username, remote_addr)?;
        Ok(users::table
            .filter(users::username.eq(&username))
            .select(User::as_select())
            .first(conn)
            .optional()?)
    })?;
    let verified = match &user {
        Some(u) => password::verify(&input.password, &u.password_hash) && u.active,
        None => {
            password::verify_dummy(&input.password);
            false
        }
    };
    with_conn(pool, |conn| match (user, verified) {
        (Some(user), true) => open_session(conn, config, jwt, now, user, remote_addr),
        _ => {
            record_failure(conn, now_naive, &username, remote_addr)?;
            Err(AppError::unauthorized(
                "invalid_credentials",
                "unknown username, wrong password, or deactivated account",
            ))
        }
    })
}

/// 429 once logins have failed too often in the window: for a username from
/// one address (5 by default, counted since its last success), for a
/// username from every address (100, so that whoever knows a username cannot
/// lock its owner out from their own phone), or from one address (50: password
/// spraying).
fn check_login_rate(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    username: &str,
    remote_addr: &str,
) -> AppResult<()> {
    let window_start = now - Duration::seconds(config.login_window_secs);
    let last_success: Option<NaiveDateTime> = login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::succeeded.eq(true))
        .filter(login_attempts::at.gt(window_start))
        .select(diesel::dsl::max(login_attempts::at))
        .first(conn)?;
    let since = last_success.map_or(window_start, |t| t.max(window_start));
    let failures_since = |conn: &mut DbConn, from: Option<&str>| -> AppResult<i64> {
        let mut q = login_attempts::table
            .filter(login_attempts::username.eq(username))
            .filter(login_attempts::succeeded.eq(false))
            .filter(login_attempts::at.gt(since))
            .into_boxed();
        if let Some(addr) = from {
            q = q.filter(login_attempts::remote_addr.eq(addr));
        }
        Ok(q.count().get_result(conn)?)
    };
    let pair_failures = failures_since(conn, Some(remote_addr))?;
    let user_failures = failures_since(conn, None)?;
    let addr_failures: i64 = login_attempts::table
        .filter(login_attempts::remote_addr.eq(remote_addr))
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::at.gt(window_start))
        .count()
        .get_result(conn)?;
    if pair_failures >= config.login_max_failures
        || user_failures >= config.login_max_failures_per_user
        || addr_failures >= config.login_max_failures_per_addr
    {
        return Err(AppError::TooManyRequests {
            retry_after_secs: config.login_window_secs.max(1) as u64,
        });
    }
    Ok(())
}

fn record_failure(
    conn: &mut DbConn,
    now: NaiveDateTime,
    username: &str,
    remote_addr: &str,
) -> AppResult<()> {
    write_tx(conn, |conn| {
        diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::username.eq(username),
                login_attempts::remote_addr.eq(remote_addr),
                login_attempts::succeeded.eq(false),
                login_attempts::at.eq(now),
            ))
            .execute(conn)?;
        // keep the table small: attempts older than a day say nothing
        diesel::delete(
            login_attempts::table.filter(login_attempts::at.lt(now - Duration::days(1))),
        )
        .execute(conn)?;
        Ok(())
    })
}

fn open_session(
    conn: &mut DbConn,
    config: &Config,
    jwt: &JwtKeys,
    now: DateTime<Utc>,
    user: User,
    remote_addr: &str,
) -> AppResult<TokenGrant> {
    let now_naive = now.naive_utc();
    write_tx(conn, |conn| {
        diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::username.eq(&user.username),
                login_attempts::remote_addr.eq(remote_addr),
                login_attempts::succeeded.eq(true),
                login_attempts::at.eq(now_naive),
            ))
            .execute(conn)?;
        diesel::update(users::table.find(user.id))
            .set(users::last_login_at.eq(Some(now_naive)))
            .execute(conn)?;
        let family = random_token(16);
        start_session(conn, &user, &family, now_naive)?;
        let grant = issue(conn, config, jwt, now, user.clone(), &family)?;
        events::record(
            conn,
            now_naive,
            Some(user.id),
            EventType::AuthLoggedIn,
            "user",
            user.id,
            serde_json::json!({ "remote_addr": remote_addr, "session": family }),
        )?;
        Ok(grant)
    })
}

/// Stores a new refresh token of `family` and signs an access token.
fn issue(
    conn: &mut DbConn,
    config: &Config,
    jwt: &JwtKeys,
    now: DateTime<Utc>,
    user: User,
    family: &str,
) -> AppResult<TokenGrant> {
    let refresh_token = random_token(32);
    let refresh_expires_at = now.naive_utc() + Duration::days(config.refresh_token_ttl_days);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::user_id.eq(user.id),
            refresh_tokens::family.eq(family),
            refresh_tokens::token_hash.eq(hash_token(&refresh_token)),
            refresh_tokens::issued_at.eq(now.naive_utc()),
            refresh_tokens::expires_at.eq(refresh_expires_at),
        ))
        .execute(conn)?;
    let access_token = jwt.issue(
        user.id,
        &user.role,
        user.org_unit_id,
        user.customer_id,
        family,
        now,
        config.access_token_ttl_secs,
    )?;
    Ok(TokenGrant {
        access_token,
        expires_in: config.access_token_ttl_secs,
        refresh_token,
        refresh_expires_at,
        user,
    })
}

/// Exchanges a refresh token for a new pair. Each token works once: the
/// claim is one atomic UPDATE, so two instances cannot both spend it. A
/// token presented again (spent, so probably stolen) ends its whole family.
pub fn refresh(
    conn: &mut DbConn,
    config: &Config,
    jwt: &JwtKeys,
    now: DateTime<Utc>,
    token: &str,
) -> AppResult<TokenGrant> {
    let hash = hash_token(token.trim());
    let now_naive = now.naive_utc();
    write_tx(conn, |conn| {
        let claimed = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&hash))
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null())
                .filter(refresh_tokens::expires_at.gt(now_naive)),
        )
        .set(refresh_tokens::used_at.eq(Some(now_naive)))
        .execute(conn)?;
        let row: Option<(i64, String, Option<NaiveDateTime>, NaiveDateTime)> =
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&hash))
                .select((
                    refresh_tokens::user_id,
                    refresh_tokens::family,
                    refresh_tokens::revoked_at,
                    refresh_tokens::expires_at,
                ))
                .first(conn)
                .optional()?;
        let Some((user_id, family, revoked_at, expires_at)) = row else {
            return Ok(Err(AppError::unauthorized(
                "invalid_refresh_token",
                "the refresh token is not known; log in again",
            )));
        };
        if claimed == 0 {
            if revoked_at.is_none() && expires_at <= now_naive {
                return Ok(Err(AppError::unauthorized(
                    "refresh_token_expired",
                    "the refresh token has expired; log in again",
                )));
            }
            if revoked_at.is_some() {
                return Ok(Err(AppError::unauthorized(
                    "session_ended",
                    "this session has ended; log in again",
                )));
            }
            // spent before: someone replays it. End the whole session.
            revoke_family(conn, &family, now_naive)?;
            events::record(
                conn,
                now_naive,
                None,
                EventType::AuthRefreshTokenReused,
                "user",
                user_id,
                serde_json::json!({ "session": family }),
            )?;
            return Ok(Err(AppError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session has been ended for safety, log in again",
            )));
        }
        let user: User = users::table
            .find(user_id)
            .select(User::as_select())
            .first(conn)?;
        if !user.active {
            return Ok(Err(AppError::unauthorized(
                "account_inactive",
                "this account has been deactivated",
            )));
        }
        issue(conn, config, jwt, now, user, &family).map(Ok)
    })?
}

fn revoke_family(conn: &mut DbConn, family: &str, now: NaiveDateTime) -> AppResult<()> {
    end_sessions(conn, Sessions::One(family), now)
}

/// Ends every session of a user (deactivation, password reset).
pub fn revoke_all_sessions(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> AppResult<()> {
    end_sessions(conn, Sessions::AllOf(user_id), now)
}

/// The sessions a step ends.
enum Sessions<'a> {
    One(&'a str),
    AllOf(i64),
    /// Every session of the user but the one in hand.
    OthersOf(i64, &'a str),
}

/// Ends sessions: their rows, which the check of every request reads, and
/// their refresh tokens, which can then not be exchanged any more.
fn end_sessions(conn: &mut DbConn, which: Sessions, now: NaiveDateTime) -> AppResult<()> {
    let live = sessions::table.filter(sessions::ended_at.is_null());
    let live_tokens = refresh_tokens::table.filter(refresh_tokens::revoked_at.is_null());
    let ended = sessions::ended_at.eq(Some(now));
    let revoked = refresh_tokens::revoked_at.eq(Some(now));
    match which {
        Sessions::One(family) => {
            diesel::update(live.filter(sessions::id.eq(family)))
                .set(ended)
                .execute(conn)?;
            diesel::update(live_tokens.filter(refresh_tokens::family.eq(family)))
                .set(revoked)
                .execute(conn)?;
        }
        Sessions::AllOf(user) => {
            diesel::update(live.filter(sessions::user_id.eq(user)))
                .set(ended)
                .execute(conn)?;
            diesel::update(live_tokens.filter(refresh_tokens::user_id.eq(user)))
                .set(revoked)
                .execute(conn)?;
        }
        Sessions::OthersOf(user, kept) => {
            diesel::update(
                live.filter(sessions::user_id.eq(user))
                    .filter(sessions::id.ne(kept)),
            )
            .set(ended)
            .execute(conn)?;
            diesel::update(
                live_tokens
                    .filter(refresh_tokens::user_id.eq(user))
                    .filter(refresh_tokens::family.ne(kept)),
            )
            .set(revoked)
            .execute(conn)?;
        }
    }
    Ok(())
}

/// A user changing their own password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "aftercare-demo", "new_password": "a longer one, 2026"}))]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    #[validate(length(min = 8, max = 128))]
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Before a password change: the stored hash to check the current password
/// against, unless the caller's address has failed too often for this
/// username (the same limits as logging in: a stolen token must not become a
/// way to guess the password).
pub fn password_check(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    actor: &Actor,
    remote_addr: &str,
) -> AppResult<String> {
    check_login_rate(conn, config, now, &actor.username, remote_addr)?;
    Ok(users::table
        .find(actor.id)
        .select(users::password_hash)
        .first(conn)?)
}

/// A wrong current password counts as a failed login.
pub fn wrong_current_password(
    conn: &mut DbConn,
    now: NaiveDateTime,
    actor: &Actor,
    remote_addr: &str,
) -> AppError {
    match record_failure(conn, now, &actor.username, remote_addr) {
        Ok(()) => AppError::invalid("current_password", "is not your current password"),
        Err(e) => e,
    }
}

/// Sets the caller's new password (hashed by the caller of this function)
/// and ends every other session of theirs; the one in hand goes on.
pub fn change_password(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    checked_hash: &str,
    new_hash: &str,
) -> AppResult<()> {
    write_tx(conn, |conn| {
        // the hash the current password was checked against must still be
        // the stored one (no change in between)
        let changed = diesel::update(
            users::table
                .filter(users::id.eq(actor.id))
                .filter(users::password_hash.eq(checked_hash)),
        )
        .set((
            users::password_hash.eq(new_hash),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::Conflict {
                code: "concurrent_change",
                detail: "the password was changed at the same time; try again".to_string(),
            });
        }
        end_sessions(conn, Sessions::OthersOf(actor.id, &actor.session), now)?;
        events::record(
            conn,
            now,
            Some(actor.id),
            EventType::UserPasswordChanged,
            "user",
            actor.id,
            serde_json::json!({ "other_sessions_ended": true }),
        )
    })
}

/// Ends the caller's session, or all their sessions.
pub fn logout(
    conn: &mut DbConn,
    actor: &Actor,
    now: DateTime<Utc>,
    all_sessions: bool,
) -> AppResult<()> {
    let now = now.naive_utc();
    write_tx(conn, |conn| {
        if all_sessions {
            revoke_all_sessions(conn, actor.id, now)?;
        } else {
            revoke_family(conn, &actor.session, now)?;
        }
        events::record(
            conn,
            now,
            Some(actor.id),
            EventType::AuthLoggedOut,
            "user",
            actor.id,
            serde_json::json!({ "session": actor.session, "all_sessions": all_sessions }),
        )
    })
}

/// On an empty database, creates the `admin` account. Returns the password
/// when it was generated, so the caller can print it once.
pub fn ensure_admin(
    conn: &mut DbConn,
    now: NaiveDateTime,
    configured_password: Option<&str>,
) -> AppResult<Option<String>> {
    let any_user: Option<i64> = users::table.select(users::id).first(conn).optional()?;
    if any_user.is_some() {
        return Ok(None);
    }
    let generated = configured_password.is_none().then(password::generate);
    let secret = configured_password
        .map(str::to_string)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = password::hash(&secret)?;
    let created = write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(users::table)
            .values(NewUser {
                username: "admin",
                display_name: "Administrator",
                phone: None,
                role: Role::Admin.as_str(),
                rank: None,
                org_unit_id: None,
                customer_id: None,
                password_hash: &hash,
                active: true,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .returning(users::id)
            .get_result(conn)?;
        events::record(
            conn,
            now,
            None,
            EventType::UserCreated,
            "user",
            id,
            serde_json::json!({ "before": null, "after": { "id": id, "username": "admin", "role": "admin" } }),
        )
    });
    match created {
        Ok(()) => Ok(generated),
        // another instance starting at the same moment created it first
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The identity the command line acts as: the oldest active administrator,
/// so that changes made at the console are audited like any other.
pub fn console_admin(conn: &mut DbConn) -> AppResult<Actor> {
    let admin: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(users::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::conflict("no_admin", "there is no active administrator"))?;
    acting_as(conn, admin)
}

/// A user as the actor of work done outside HTTP (console, demo data).
pub fn acting_as(conn: &mut DbConn, user_id: i64) -> AppResult<Actor> {
    let (user, unit): (User, Option<OrgUnit>) = users::table
        .left_join(org_units::table)
        .filter(users::id.eq(user_id))
        .select((User::as_select(), Option::<OrgUnit>::as_select()))
        .first(conn)?;
    actor_of(user, unit, "console")
}
