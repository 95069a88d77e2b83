//! User accounts. Administrators create and change them and deactivate them
//! (never delete: events and records keep pointing at them); everyone else
//! reads the users within their own scope.

use crate::models::event::EventType;
use crate::services::IfMatch;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{customers, org_units, users};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::org_unit::OrgUnit;
use crate::models::user::{NewUser, Rank, Role, User};

use super::{auth, check_version, double_option, like_contains, one_written, Page, Paged};
use crate::kit::events;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "zhang.wei",
    "display_name": "张伟 Zhang Wei",
    "phone": "13800138000",
    "role": "project_manager",
    "rank": "manager",
    "org_unit_id": 3,
    "password": "Str0ng-passw0rd"
}))]
pub struct NewUserInput {
    /// Login name: 3–64 of `a-z 0-9 . _ -`, stored in lower case.
    #[validate(length(min = 3, max = 64))]
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")]
    pub username: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    #[validate(length(min = 3, max = 32))]
    #[schema(
        min_length = 3,
        max_length = 32,
        pattern = r"^[0-9+() -]*[0-9][0-9+() -]*$"
    )]
    pub phone: Option<String>,
    pub role: Role,
    /// Required sense only for the contractor's staff; defaults to `staff`.
    /// Customers have none.
    pub rank: Option<Rank>,
    /// The org unit the user belongs to: required for every role but
    /// `admin` and `customer`. Its kind must fit the role: `group_engineer` →
    /// group, `branch_engineer`/`branch_leader` → branch, `project_manager` →
    /// project department, `staff` → any.
    pub org_unit_id: Option<i64>,
    /// The customer a `customer` user belongs to (required for that role only).
    pub customer_id: Option<i64>,
    #[validate(length(min = 8, max = 128))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// Fields to change; absent fields stay as they are, `null` clears `phone`.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "张伟 Zhang Wei", "rank": "supervisor"}))]
pub struct UserPatch {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 32))]
    #[schema(value_type = Option<String>, max_length = 32, pattern = r"^[0-9+() -]*[0-9][0-9+() -]*$")]
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    pub rank: Option<Rank>,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// A new password; every session of the user ends.
    #[validate(length(min = 8, max = 128))]
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub org_unit_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

/// The audit view of a user: everything but the password hash.
pub fn audit(user: &User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone,
        "role": user.role,
        "rank": user.rank,
        "org_unit_id": user.org_unit_id,
        "customer_id": user.customer_id,
        "active": user.active,
        "version": user.version,
    })
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("user {id} not found"))
}

/// Loads a user the caller may see; 404 otherwise.
pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<User> {
    let row: Option<(User, Option<String>)> = users::table
        .left_join(org_units::table)
        .filter(users::id.eq(id))
        .select((User::as_select(), org_units::path.nullable()))
        .first(conn)
        .optional()?;
    let visible = |user: &User, path: &Option<String>| match actor.scope() {
        Scope::All => true,
        Scope::OrgSubtree(root) => path.as_deref().is_some_and(|p| p.starts_with(&root)),
        Scope::Customer(c) => user.customer_id == Some(c),
        Scope::Nothing => false,
    };
    match row {
        Some((user, path)) if visible(&user, &path) => Ok(user),
        _ => Err(not_found(id)),
    }
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &UserFilter,
    page: Page,
) -> AppResult<Paged<User>> {
    let mut query = users::table
        .left_join(org_units::table)
        .select(User::as_select())
        .into_boxed();
    match actor.scope() {
        Scope::All => {}
        Scope::OrgSubtree(path) => {
            query = query.filter(crate::in_subtree!(org_units::path, &path));
        }
        Scope::Customer(c) => query = query.filter(users::customer_id.eq(c)),
        Scope::Nothing => {
            return Ok(Paged {
                items: vec![],
                next_after: None,
            })
        }
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role.as_str()));
    }
    if let Some(unit) = filter.org_unit_id {
        query = query.filter(users::org_unit_id.eq(unit));
    }
    if let Some(customer) = filter.customer_id {
        query = query.filter(users::customer_id.eq(customer));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_contains(&q.to_lowercase());
        query = query.filter(
            users::username
                .like(pattern.clone())
                .escape('\\')
                .or(users::display_name.like(like_contains(q)).escape('\\')),
        );
    }
    if let Some(after) = page.after_id {
        query = query.filter(users::id.gt(after));
    }
    let rows = query
        .order(users::id.asc())
        .limit(page.limit + 1)
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |u| u.id))
}

/// The membership a user would have: checked against the role's rules.
struct Membership {
    role: Role,
    rank: Option<Rank>,
    org_unit_id: Option<i64>,
    customer_id: Option<i64>,
}

fn check_membership(conn: &mut DbConn, m: &Membership) -> AppResult<()> {
    match m.role {
        Role::Customer => {
            let Some(customer_id) = m.customer_id else {
                return Err(AppError::invalid(
                    "customer_id",
                    "a customer user needs the customer it belongs to",
                ));
            };
            if m.org_unit_id.is_some() {
                return Err(AppError::invalid(
                    "org_unit_id",
                    "a customer user belongs to a customer, not to an org unit",
                ));
            }
            if m.rank.is_some() {
                return Err(AppError::invalid("rank", "customer users have no rank"));
            }
            let exists: Option<i64> = customers::table
                .find(customer_id)
                .select(customers::id)
                .first(conn)
                .optional()?;
            if exists.is_none() {
                return Err(AppError::missing_reference(
                    "customer_id",
                    format!("customer {customer_id} does not exist"),
                ));
            }
        }
        role => {
            if m.customer_id.is_some() {
                return Err(AppError::invalid(
                    "customer_id",
                    "only customer users belong to a customer",
                ));
            }
            match m.org_unit_id {
                None if role.is_org_role() => {
                    return Err(AppError::invalid(
                        "org_unit_id",
                        format!("a {role} needs the org unit they belong to"),
                    ))
                }
                None => {}
                Some(unit_id) => {
                    let unit: OrgUnit = org_units::table
                        .find(unit_id)
                        .select(OrgUnit::as_select())
                        .first(conn)
                        .optional()?
                        .ok_or_else(|| {
                            AppError::missing_reference(
                                "org_unit_id",
                                format!("org unit {unit_id} does not exist"),
                            )
                        })?;
                    if !unit.active {
                        return Err(AppError::rule(
                            "inactive_org_unit",
                            "org_unit_id",
                            format!("org unit {unit_id} is deactivated"),
                        ));
                    }
                    if let Some(kind) = role.org_unit_kind() {
                        if unit.kind != kind.as_str() {
                            return Err(AppError::rule(
                                "org_unit_kind_mismatch",
                                "org_unit_id",
                                format!(
                                    "a {role} belongs to a {kind}, but org unit {unit_id} is a {}",
                                    unit.kind
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Usernames: lower case letters, digits, `.`, `_`, `-`.
fn normalise_username(raw: &str) -> AppResult<String> {
    let name = raw.trim().to_lowercase();
    let ok = (3..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(AppError::invalid(
            "username",
            "must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'",
        ))
    }
}

pub fn clean_phone(phone: Option<&str>) -> AppResult<Option<String>> {
    clean_phone_field("phone", phone)
}

/// A phone number as people write it (digits, spaces and `+ - ( )`),
/// trimmed; blank is none. An error names `field`.
pub fn clean_phone_field(field: &str, phone: Option<&str>) -> AppResult<Option<String>> {
    let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let ok = phone.chars().any(|c| c.is_ascii_digit())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
    if ok {
        Ok(Some(phone.to_string()))
    } else {
        Err(AppError::invalid(
            field,
            "must be a phone number: digits, spaces and + - ( )",
        ))
    }
}

fn default_rank(role: Role, rank: Option<Rank>) -> Option<Rank> {
    match role {
        Role::Customer => None,
        Role::Admin => rank,
        _ => Some(rank.unwrap_or(Rank::Staff)),
    }
}

/// Creates a user. The password arrives already hashed (`password::hash`,
/// done by the caller holding no connection): Argon2 is deliberately slow.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    input: &NewUserInput,
    password_hash: &str,
) -> AppResult<User> {
    actor.require_admin()?;
    let username = normalise_username(&input.username)?;
    let display_name = input.display_name.trim();
    if display_name.is_empty() {
        return Err(AppError::invalid("display_name", "must not be blank"));
    }
    let phone = clean_phone(input.phone.as_deref())?;
    let membership = Membership {
        role: input.role,
        rank: if input.role == Role::Customer {
            input.rank
        } else {
            default_rank(input.role, input.rank)
        },
        org_unit_id: input.org_unit_id,
        customer_id: input.customer_id,
    };
    write_tx(conn, |conn| {
        check_membership(conn, &membership)?;
        let taken: Option<i64> = users::table
            .filter(users::username.eq(&username))
            .select(users::id)
            .first(conn)
            .optional()?;
        if taken.is_some() {
            return Err(AppError::Conflict {
                code: "username_taken",
                detail: format!("the username {username:?} is already taken"),
            });
        }
        let id: i64 = diesel::insert_into(users::table)
            .values(NewUser {
                username: &username,
                display_name,
                phone: phone.as_deref(),
                role: membership.role.as_str(),
                rank: membership.rank.map(Rank::as_str),
                org_unit_id: membership.org_unit_id,
                customer_id: membership.customer_id,
                password_hash,
                active: true,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .returning(users::id)
            .get_result(conn)?;
        let user: User = users::table
            .find(id)
            .select(User::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::UserCreated,
            ("user", id),
            None,
            Some(audit(&user)),
        )?;
        Ok(user)
    })
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &UserPatch,
    new_hash: Option<String>,
) -> AppResult<User> {
    actor.require_admin()?;
    // one's own password changes only with the current one (POST
    // /me/password): a stolen admin session must not lock its owner out
    if id == actor.id && patch.password.is_some() {
        return Err(AppError::conflict(
            "cannot_reset_own_password",
            "change your own password with POST /api/v1/me/password, which asks for the current one",
        ));
    }
    let display_name = match patch.display_name.as_deref().map(str::trim) {
        Some("") => return Err(AppError::invalid("display_name", "must not be blank")),
        other => other.map(str::to_string),
    };
    let phone = match &patch.phone {
        Some(p) => Some(clean_phone(p.as_deref())?),
        None => None,
    };
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        let old_role = Role::from_db(&before.role)?;
        let role = patch.role.unwrap_or(old_role);
        if id == actor.id && role != Role::Admin {
            return Err(AppError::conflict(
                "cannot_demote_self",
                "you cannot take away your own admin role; ask another administrator",
            ));
        }
        // a role change re-derives what the role needs unless given anew
        let membership = Membership {
            role,
            rank: match patch.rank {
                Some(r) => Some(r),
                None if role == Role::Customer => None,
                None => default_rank(role, before.rank.as_deref().map(Rank::from_db).transpose()?),
            },
            org_unit_id: match patch.org_unit_id {
                Some(u) => Some(u),
                None if role == Role::Customer => None,
                None => before.org_unit_id,
            },
            customer_id: match patch.customer_id {
                Some(c) => Some(c),
                None if role != Role::Customer => None,
                None => before.customer_id,
            },
        };
        check_membership(conn, &membership)?;
        // after the content's checks: a request that fails anyway is not a 412
        check_version(expected_version, before.version)?;
        let after = User {
            display_name: display_name
                .clone()
                .unwrap_or_else(|| before.display_name.clone()),
            phone: phone.clone().unwrap_or_else(|| before.phone.clone()),
            role: role.as_str().to_string(),
            rank: membership.rank.map(|r| r.as_str().to_string()),
            org_unit_id: membership.org_unit_id,
            customer_id: membership.customer_id,
            password_hash: new_hash
                .clone()
                .unwrap_or_else(|| before.password_hash.clone()),
            version: before.version + 1,
            updated_at: now,
            ..before.clone()
        };
        let unchanged = new_hash.is_none()
            && after.display_name == before.display_name
            && after.phone == before.phone
            && after.role == before.role
            && after.rank == before.rank
            && after.org_unit_id == before.org_unit_id
            && after.customer_id == before.customer_id;
        if unchanged {
            return Ok(before); // nothing changes: no new version, no event
        }
        one_written(
            diesel::update(
                users::table
                    .filter(users::id.eq(id))
                    .filter(users::version.eq(before.version)),
            )
            .set((
                users::display_name.eq(&after.display_name),
                users::phone.eq(&after.phone),
                users::role.eq(&after.role),
                users::rank.eq(&after.rank),
                users::org_unit_id.eq(after.org_unit_id),
                users::customer_id.eq(after.customer_id),
                users::password_hash.eq(&after.password_hash),
                users::version.eq(after.version),
                users::updated_at.eq(now),
            ))
            .execute(conn)?,
        )?;
        // the session check reads the account's copy in its sessions
        auth::sync_sessions(conn, &after)?;
        if new_hash.is_some() {
            auth::revoke_all_sessions(conn, id, now)?;
        }
        let mut payload_after = audit(&after);
        if new_hash.is_some() {
            payload_after["password_changed"] = true.into();
        }
        events::record_change(
            conn,
            now,
            actor,
            EventType::UserUpdated,
            ("user", id),
            Some(audit(&before)),
            Some(payload_after),
        )?;
        Ok(after)
    })
}

/// Deactivates a user and ends all their sessions, or reactivates one (who
/// must log in again). Idempotent.
pub fn set_active(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    active: bool,
) -> AppResult<User> {
    actor.require_admin()?;
    if !active && id == actor.id {
        return Err(AppError::conflict(
            "cannot_deactivate_self",
            "you cannot deactivate your own account; ask another administrator",
        ));
    }
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        check_version(expected_version, before.version)?;
        if before.active == active {
            return Ok(before);
        }
        if active {
            // the unit may have been closed meanwhile
            check_membership(
                conn,
                &Membership {
                    role: Role::from_db(&before.role)?,
                    rank: before.rank.as_deref().map(Rank::from_db).transpose()?,
                    org_unit_id: before.org_unit_id,
                    customer_id: before.customer_id,
                },
            )?;
        }
        update_version!(
            conn,
            users,
            (id, before.version),
            now,
            (users::active.eq(active),)
        );
        let after = User {
            active,
            version: before.version + 1,
            updated_at: now,
            ..before.clone()
        };
        auth::sync_sessions(conn, &after)?;
        if !active {
            auth::revoke_all_sessions(conn, id, now)?;
        }
        let action = if active {
            EventType::UserActivated
        } else {
            EventType::UserDeactivated
        };
        events::record_change(
            conn,
            now,
            actor,
            action,
            ("user", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}
