//! A project's contacts (appendix C of 004): the warranty team, the
//! subcontractors and the owner's side, each role with a name and a phone.

use crate::models::event::EventType;
use crate::services::IfMatch;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{audit, get, get_for_write, trimmed};
use crate::auth::Actor;
use crate::db::schema::project_contacts;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::kit::events;
use crate::models::project::{Contact, ContactRole, ContactSide};
use crate::models::user::Role;
use crate::services::{check_version, double_option};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "warranty_lead", "name": "刘强 Liu Qiang", "phone": "139 1234 5678"}))]
pub struct NewContactInput {
    pub role: ContactRole,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(min = 3, max = 32))]
    #[schema(
        min_length = 3,
        max_length = 32,
        pattern = r"^[0-9+() -]*[0-9][0-9+() -]*$"
    )]
    pub phone: String,
    /// The company; required for subcontractors.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub company: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "139 8765 4321"}))]
pub struct ContactPatch {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(length(min = 3, max = 32))]
    #[schema(
        min_length = 3,
        max_length = 32,
        pattern = r"^[0-9+() -]*[0-9][0-9+() -]*$"
    )]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 200))]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company: Option<Option<String>>,
}

pub fn contacts(
    conn: &mut DbConn,
    actor: &Actor,
    project_id: i64,
    side: Option<ContactSide>,
) -> AppResult<Vec<Contact>> {
    get(conn, actor, project_id)?;
    let mut query = project_contacts::table
        .filter(project_contacts::project_id.eq(project_id))
        .into_boxed();
    // customers see the contractor's warranty team only (appendix C part one)
    let side = if actor.role == Role::Customer {
        Some(ContactSide::Warranty)
    } else {
        side
    };
    if let Some(side) = side {
        let roles: Vec<&str> = ContactRole::roles_of(side)
            .into_iter()
            .map(ContactRole::as_str)
            .collect();
        query = query.filter(project_contacts::role.eq_any(roles));
    }
    Ok(query
        .order(project_contacts::id.asc())
        .select(Contact::as_select())
        .load(conn)?)
}

fn check_company(role: ContactRole, company: &Option<String>) -> AppResult<()> {
    if role.side() == ContactSide::Subcontractor && company.is_none() {
        return Err(AppError::invalid(
            "company",
            "a subcontractor contact needs the company's name",
        ));
    }
    Ok(())
}

pub fn add_contact(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    project_id: i64,
    input: &NewContactInput,
) -> AppResult<Contact> {
    write_tx(conn, |conn| {
        get_for_write(conn, actor, project_id)?;
        insert_contact(conn, actor, now, project_id, input)
    })
}

/// Adds a contact to a project the caller may already write (checked by
/// the caller: the ledger's keepers through the API, an import's roles).
pub(crate) fn insert_contact(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    project_id: i64,
    input: &NewContactInput,
) -> AppResult<Contact> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    let phone = crate::services::users::clean_phone(Some(&input.phone))?
        .ok_or_else(|| AppError::invalid("phone", "must not be blank"))?;
    let company = trimmed(input.company.as_deref());
    check_company(input.role, &company)?;
    write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(project_contacts::table)
            .values((
                project_contacts::project_id.eq(project_id),
                project_contacts::role.eq(input.role.as_str()),
                project_contacts::name.eq(name),
                project_contacts::phone.eq(&phone),
                project_contacts::company.eq(&company),
                project_contacts::version.eq(1),
                project_contacts::created_at.eq(now),
                project_contacts::updated_at.eq(now),
            ))
            .returning(project_contacts::id)
            .get_result(conn)?;
        let contact: Contact = project_contacts::table
            .find(id)
            .select(Contact::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ProjectContactAdded,
            ("project", project_id),
            None,
            Some(audit(&contact)),
        )?;
        Ok(contact)
    })
}

fn get_contact(conn: &mut DbConn, project_id: i64, contact_id: i64) -> AppResult<Contact> {
    project_contacts::table
        .filter(project_contacts::id.eq(contact_id))
        .filter(project_contacts::project_id.eq(project_id))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "contact {contact_id} of project {project_id} not found"
            ))
        })
}

#[allow(clippy::too_many_arguments)]
pub fn update_contact(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    project_id: i64,
    contact_id: i64,
    expected_version: Option<IfMatch>,
    patch: &ContactPatch,
) -> AppResult<Contact> {
    write_tx(conn, |conn| {
        get_for_write(conn, actor, project_id)?;
        let before = get_contact(conn, project_id, contact_id)?;
        let name = match patch.name.as_deref().map(str::trim) {
            Some("") => return Err(AppError::invalid("name", "must not be blank")),
            Some(n) => n.to_string(),
            None => before.name.clone(),
        };
        let phone = match &patch.phone {
            Some(p) => crate::services::users::clean_phone(Some(p))?
                .ok_or_else(|| AppError::invalid("phone", "must not be blank"))?,
            None => before.phone.clone(),
        };
        let company = match &patch.company {
            Some(c) => trimmed(c.as_deref()),
            None => before.company.clone(),
        };
        check_company(ContactRole::from_db(&before.role)?, &company)?;
        // after the content's checks: a request that fails anyway is not a 412
        check_version(expected_version, before.version)?;
        update_version!(
            conn,
            project_contacts,
            (contact_id, before.version),
            now,
            (
                project_contacts::name.eq(&name),
                project_contacts::phone.eq(&phone),
                project_contacts::company.eq(&company),
            )
        );
        let after = get_contact(conn, project_id, contact_id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ProjectContactUpdated,
            ("project", project_id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

pub fn remove_contact(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    project_id: i64,
    contact_id: i64,
) -> AppResult<()> {
    write_tx(conn, |conn| {
        get_for_write(conn, actor, project_id)?;
        let before = get_contact(conn, project_id, contact_id)?;
        diesel::delete(project_contacts::table.find(contact_id)).execute(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ProjectContactRemoved,
            ("project", project_id),
            Some(audit(&before)),
            None,
        )
    })
}
