//! A project's warranty terms (保修期限): one per component category, at
//! least the statutory minimum, re-fitted when the acceptance date or the
//! design life changes.

use crate::models::event::EventType;
use crate::services::IfMatch;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{audit, get, get_for_write, trimmed};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::warranty_terms;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::kit::events;
use crate::models::project::{Project, ProjectFields, WarrantyCategory, WarrantyTerm};
use crate::services::check_version;
use crate::services::projects::warranty::{self, Length};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"years": 8, "note": "contract §12.3: eight years for roofing"}))]
pub struct WarrantyTermInput {
    /// Length in years (every category but `heating_cooling`).
    #[validate(range(min = 1, max = 300))]
    #[schema(minimum = 1, maximum = 300)]
    pub years: Option<i32>,
    /// Length in heating/cooling periods (`heating_cooling` only).
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    pub periods: Option<i32>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

pub fn terms(
    conn: &mut DbConn,
    actor: &Actor,
    project_id: i64,
) -> AppResult<(Project, Vec<WarrantyTerm>)> {
    let project = get(conn, actor, project_id)?;
    let terms = warranty_terms::table
        .filter(warranty_terms::project_id.eq(project_id))
        .order(warranty_terms::id.asc())
        .select(WarrantyTerm::as_select())
        .load(conn)?;
    Ok((project, terms))
}

/// Sets the length of one category's term (creating it for `other`). A
/// contract may lengthen a term, never shorten it below the statutory minimum.
#[allow(clippy::too_many_arguments)]
pub fn set_term(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    project_id: i64,
    category: WarrantyCategory,
    expected_version: Option<IfMatch>,
    input: &WarrantyTermInput,
) -> AppResult<WarrantyTerm> {
    let length = match (category, input.years, input.periods) {
        (WarrantyCategory::HeatingCooling, None, Some(p)) => Length::Periods(p),
        (WarrantyCategory::HeatingCooling, _, _) => {
            return Err(AppError::invalid(
                "periods",
                "heating_cooling is counted in heating/cooling periods: send `periods` only",
            ))
        }
        (_, Some(y), None) => Length::Years(y),
        (_, _, _) => {
            return Err(AppError::invalid(
                "years",
                format!("{category} is counted in years: send `years` only"),
            ))
        }
    };
    let note = trimmed(input.note.as_deref());
    write_tx(conn, |conn| {
        let project = get_for_write(conn, actor, project_id)?;
        write_term(
            conn,
            (actor, config, now),
            &project,
            category,
            length,
            note.as_deref(),
            expected_version,
        )
    })
}

/// Sets one category's term of a project the caller may already write
/// (checked by the caller), refusing a length below the statutory minimum.
pub(crate) fn write_term(
    conn: &mut DbConn,
    (actor, config, now): (&Actor, &Config, NaiveDateTime),
    project: &Project,
    category: WarrantyCategory,
    length: Length,
    note: Option<&str>,
    expected_version: Option<IfMatch>,
) -> AppResult<WarrantyTerm> {
    let project_id = project.id;
    let note = note.map(str::to_string);
    write_tx(conn, |conn| {
        if let Some(minimum) =
            warranty::statutory_minimum(category, project.design_service_life_years)
        {
            if length.value() < minimum.value() {
                let field = if matches!(length, Length::Years(_)) {
                    "years"
                } else {
                    "periods"
                };
                return Err(AppError::rule(
                    "warranty_below_minimum",
                    field,
                    format!(
                        "the {category} warranty cannot be shorter than the statutory minimum of {} {}",
                        minimum.value(),
                        minimum.unit()
                    ),
                ));
            }
        }
        let existing: Option<WarrantyTerm> = warranty_terms::table
            .filter(warranty_terms::project_id.eq(project_id))
            .filter(warranty_terms::category.eq(category.as_str()))
            .select(WarrantyTerm::as_select())
            .first(conn)
            .optional()?;
        let starts_on = warranty::starts_on(project.completion_accepted_on);
        let before = match existing {
            None => {
                check_version(expected_version, 0)?;
                insert_term(
                    conn,
                    config,
                    now,
                    project_id,
                    category,
                    length,
                    starts_on,
                    note.as_deref(),
                )?;
                None
            }
            Some(term) => {
                check_version(expected_version, term.version)?;
                let (years, periods) = split(length);
                update_version!(
                    conn,
                    warranty_terms,
                    (term.id, term.version),
                    now,
                    (
                        warranty_terms::years.eq(years),
                        warranty_terms::periods.eq(periods),
                        warranty_terms::ends_on.eq(term_end(config, term.starts_on, length)?),
                        warranty_terms::note.eq(note.as_deref().or(term.note.as_deref())),
                    )
                );
                Some(term)
            }
        };
        let after: WarrantyTerm = warranty_terms::table
            .filter(warranty_terms::project_id.eq(project_id))
            .filter(warranty_terms::category.eq(category.as_str()))
            .select(WarrantyTerm::as_select())
            .first(conn)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ProjectWarrantyTermSet,
            ("project", project_id),
            before.as_ref().map(audit),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// Whether the project (or one component category of it) is under
/// warranty on `on`, and until when: the question a repair asks.
pub fn warranty_status(
    conn: &mut DbConn,
    actor: &Actor,
    project_id: i64,
    on: NaiveDate,
    category: Option<WarrantyCategory>,
) -> AppResult<warranty::Status> {
    let (_, terms) = terms(conn, actor, project_id)?;
    Ok(warranty::status(terms, on, category))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_term(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    project_id: i64,
    category: WarrantyCategory,
    length: Length,
    starts_on: NaiveDate,
    note: Option<&str>,
) -> AppResult<()> {
    let ends_on = term_end(config, starts_on, length)?;
    let (years, periods) = split(length);
    diesel::insert_into(warranty_terms::table)
        .values((
            warranty_terms::project_id.eq(project_id),
            warranty_terms::category.eq(category.as_str()),
            warranty_terms::years.eq(years),
            warranty_terms::periods.eq(periods),
            warranty_terms::starts_on.eq(starts_on),
            warranty_terms::ends_on.eq(ends_on),
            warranty_terms::note.eq(note),
            warranty_terms::version.eq(1),
            warranty_terms::created_at.eq(now),
            warranty_terms::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn split(length: Length) -> (Option<i32>, Option<i32>) {
    match length {
        Length::Years(n) => (Some(n), None),
        Length::Periods(n) => (None, Some(n)),
    }
}

fn term_end(config: &Config, starts_on: NaiveDate, length: Length) -> AppResult<NaiveDate> {
    warranty::ends_on(
        starts_on,
        length,
        config.heating_season,
        config.cooling_season,
    )
    .ok_or_else(|| {
        AppError::invalid(
            if matches!(length, Length::Years(_)) {
                "years"
            } else {
                "periods"
            },
            "the term runs past the calendar",
        )
    })
}

fn term_length(term: &WarrantyTerm) -> AppResult<Length> {
    match (term.years, term.periods) {
        (Some(y), None) => Ok(Length::Years(y)),
        (None, Some(p)) => Ok(Length::Periods(p)),
        _ => Err(AppError::internal(format!(
            "warranty term {} has no length",
            term.id
        ))),
    }
}

/// After a change of the acceptance date or the design service life: terms
/// start anew from the day after acceptance, and the structure term follows
/// the design life (kept longer only when it was lengthened on purpose).
pub(super) fn refit_terms(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    before: &Project,
    after: &ProjectFields,
) -> AppResult<()> {
    let starts_on = warranty::starts_on(after.completion_accepted_on);
    let terms: Vec<WarrantyTerm> = warranty_terms::table
        .filter(warranty_terms::project_id.eq(before.id))
        .select(WarrantyTerm::as_select())
        .load(conn)?;
    for term in terms {
        let mut length = term_length(&term)?;
        if term.category == WarrantyCategory::FoundationStructure.as_str() {
            let years = length.value();
            let new_life = after.design_service_life_years;
            length = Length::Years(if years == before.design_service_life_years {
                new_life
            } else {
                years.max(new_life)
            });
        }
        let (years, periods) = split(length);
        diesel::update(warranty_terms::table.find(term.id))
            .set((
                warranty_terms::years.eq(years),
                warranty_terms::periods.eq(periods),
                warranty_terms::starts_on.eq(starts_on),
                warranty_terms::ends_on.eq(term_end(config, starts_on, length)?),
                warranty_terms::version.eq(term.version + 1),
                warranty_terms::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
