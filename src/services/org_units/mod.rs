//! Org units: the group, its branches and their project departments.
//! Administrators write; everyone else reads their own subtree.

use crate::models::event::EventType;
use crate::services::IfMatch;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{org_units, users};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::org_unit::{child_path, NewOrgUnit, OrgUnit, OrgUnitKind};

use super::{check_version, like_contains, Page, Paged};
use crate::kit::events;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "华东分公司 East China Branch", "kind": "branch", "parent_id": 1}))]
pub struct NewOrgUnitInput {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: OrgUnitKind,
    /// The unit above: none for the group, the group for a branch, a branch
    /// for a project department.
    pub parent_id: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "华东分公司 East China Branch (renamed)"}))]
pub struct OrgUnitPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrgUnitFilter {
    pub kind: Option<OrgUnitKind>,
    pub parent_id: Option<i64>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

fn audit(unit: &OrgUnit) -> serde_json::Value {
    serde_json::to_value(unit).unwrap_or_default()
}

/// Loads a unit the caller may see; 404 otherwise.
pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<OrgUnit> {
    actor.require_staff_side()?;
    let unit: Option<OrgUnit> = org_units::table
        .find(id)
        .select(OrgUnit::as_select())
        .first(conn)
        .optional()?;
    match unit {
        Some(u) if actor.scope().covers_path(&u.path) => Ok(u),
        _ => Err(not_found(id)),
    }
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("org unit {id} not found"))
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &OrgUnitFilter,
    page: Page,
) -> AppResult<Paged<OrgUnit>> {
    actor.require_staff_side()?;
    let mut query = org_units::table.into_boxed();
    match actor.scope() {
        Scope::All => {}
        Scope::OrgSubtree(path) => {
            query = query.filter(crate::in_subtree!(org_units::path, &path));
        }
        Scope::Customer(_) | Scope::Nothing => {
            return Ok(Paged {
                items: vec![],
                next_after: None,
            })
        }
    }
    if let Some(kind) = filter.kind {
        query = query.filter(org_units::kind.eq(kind.as_str()));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(org_units::parent_id.eq(parent));
    }
    if let Some(active) = filter.active {
        query = query.filter(org_units::active.eq(active));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(org_units::name.like(like_contains(q)).escape('\\'));
    }
    if let Some(after) = page.after_id {
        query = query.filter(org_units::id.gt(after));
    }
    let rows = query
        .order(org_units::id.asc())
        .limit(page.limit + 1)
        .select(OrgUnit::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |u| u.id))
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    input: &NewOrgUnitInput,
) -> AppResult<OrgUnit> {
    actor.require_admin()?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    write_tx(conn, |conn| {
        let parent = match (input.kind.parent_kind(), input.parent_id) {
            (None, Some(_)) => {
                return Err(AppError::rule(
                    "invalid_parent",
                    "parent_id",
                    "the group is the top of the organisation and has no parent",
                ))
            }
            (None, None) => {
                let existing: Option<i64> = org_units::table
                    .filter(org_units::kind.eq(OrgUnitKind::Group.as_str()))
                    .select(org_units::id)
                    .first(conn)
                    .optional()?;
                if let Some(id) = existing {
                    return Err(AppError::conflict(
                        "group_exists",
                        format!(
                            "the group already exists (org unit {id}); create branches under it"
                        ),
                    ));
                }
                None
            }
            (Some(kind), None) => {
                return Err(AppError::rule(
                    "invalid_parent",
                    "parent_id",
                    format!("a {} needs a parent_id naming its {kind}", input.kind),
                ))
            }
            (Some(kind), Some(parent_id)) => {
                let parent: OrgUnit = org_units::table
                    .find(parent_id)
                    .select(OrgUnit::as_select())
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| {
                        AppError::rule(
                            "invalid_parent",
                            "parent_id",
                            format!("org unit {parent_id} does not exist"),
                        )
                    })?;
                if parent.kind != kind.as_str() {
                    return Err(AppError::rule(
                        "invalid_parent",
                        "parent_id",
                        format!(
                            "a {} belongs under a {kind}, but org unit {parent_id} is a {}",
                            input.kind, parent.kind
                        ),
                    ));
                }
                if !parent.active {
                    return Err(AppError::rule(
                        "inactive_parent",
                        "parent_id",
                        format!("org unit {parent_id} is deactivated"),
                    ));
                }
                Some(parent)
            }
        };
        ensure_unique_name(conn, input.parent_id, name, None)?;
        let id: i64 = diesel::insert_into(org_units::table)
            .values(NewOrgUnit {
                name,
                kind: input.kind.as_str(),
                parent_id: input.parent_id,
                path: "",
                active: true,
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .returning(org_units::id)
            .get_result(conn)?;
        // the path holds the unit's own id, known only now
        let path = child_path(parent.as_ref().map_or("/", |p| p.path.as_str()), id);
        diesel::update(org_units::table.find(id))
            .set(org_units::path.eq(&path))
            .execute(conn)?;
        let unit: OrgUnit = org_units::table
            .find(id)
            .select(OrgUnit::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::OrgUnitCreated,
            ("org_unit", id),
            None,
            Some(audit(&unit)),
        )?;
        Ok(unit)
    })
}

fn ensure_unique_name(
    conn: &mut DbConn,
    parent_id: Option<i64>,
    name: &str,
    except: Option<i64>,
) -> AppResult<()> {
    let mut query = org_units::table
        .filter(org_units::name.eq(name))
        .select(org_units::id)
        .into_boxed();
    query = match parent_id {
        Some(p) => query.filter(org_units::parent_id.eq(p)),
        None => query.filter(org_units::parent_id.is_null()),
    };
    if let Some(id) = except {
        query = query.filter(org_units::id.ne(id));
    }
    if query.first::<i64>(conn).optional()?.is_some() {
        return Err(AppError::conflict(
            "name_taken",
            format!("another unit under the same parent is already named {name:?}"),
        ));
    }
    Ok(())
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &OrgUnitPatch,
) -> AppResult<OrgUnit> {
    actor.require_admin()?;
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        let name = patch.name.as_deref().map(str::trim);
        if name == Some("") {
            return Err(AppError::invalid("name", "must not be blank"));
        }
        // after the content's own checks: a request that fails anyway is not a 412
        check_version(expected_version, before.version)?;
        let Some(name) = name else {
            return Ok(before);
        };
        if name == before.name {
            return Ok(before);
        }
        ensure_unique_name(conn, before.parent_id, name, Some(id))?;
        save(
            conn,
            actor,
            now,
            &before,
            EventType::OrgUnitUpdated,
            name,
            before.active,
        )
    })
}

/// Writes the unit's new name/active flag if nobody changed it meanwhile.
fn save(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    before: &OrgUnit,
    action: EventType,
    name: &str,
    active: bool,
) -> AppResult<OrgUnit> {
    update_version!(
        conn,
        org_units,
        (before.id, before.version),
        now,
        (org_units::name.eq(name), org_units::active.eq(active),)
    );
    let after = OrgUnit {
        name: name.to_string(),
        active,
        version: before.version + 1,
        updated_at: now,
        ..before.clone()
    };
    events::record_change(
        conn,
        now,
        actor,
        action,
        ("org_unit", before.id),
        Some(audit(before)),
        Some(audit(&after)),
    )?;
    Ok(after)
}

/// Deactivates a unit that no longer has active sub-units or active users,
/// or reactivates one whose parent is active. Repeating either is harmless.
pub fn set_active(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    active: bool,
) -> AppResult<OrgUnit> {
    actor.require_admin()?;
    write_tx(conn, |conn| {
        let before = get(conn, actor, id)?;
        check_version(expected_version, before.version)?;
        if before.active == active {
            return Ok(before);
        }
        let event = if active {
            check_parent_active(conn, &before)?;
            EventType::OrgUnitActivated
        } else {
            check_unused(conn, id)?;
            EventType::OrgUnitDeactivated
        };
        save(conn, actor, now, &before, event, &before.name, active)
    })
}

/// A unit is closed only once nothing active is left in it.
fn check_unused(conn: &mut DbConn, id: i64) -> AppResult<()> {
    let children: i64 = org_units::table
        .filter(org_units::parent_id.eq(id))
        .filter(org_units::active.eq(true))
        .count()
        .get_result(conn)?;
    let members: i64 = users::table
        .filter(users::org_unit_id.eq(id))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)?;
    if children > 0 || members > 0 {
        return Err(AppError::conflict(
            "org_unit_in_use",
            format!(
                "org unit {id} still has {children} active sub-unit(s) and {members} active user(s); deactivate or move them first"
            ),
        ));
    }
    Ok(())
}

/// A unit opens again only under an open parent.
fn check_parent_active(conn: &mut DbConn, unit: &OrgUnit) -> AppResult<()> {
    if let Some(parent_id) = unit.parent_id {
        let parent_active: bool = org_units::table
            .find(parent_id)
            .select(org_units::active)
            .first(conn)?;
        if !parent_active {
            return Err(AppError::conflict(
                "inactive_parent",
                format!("the parent unit {parent_id} is deactivated; activate it first"),
            ));
        }
    }
    Ok(())
}
