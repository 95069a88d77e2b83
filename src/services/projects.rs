//! The completed-projects ledger (竣工工程信息台账): projects with their
//! contacts and warranty terms, filled by the project department and reviewed
//! by the branch engineering department (004 §5.1, A.2 steps 2–3).

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{CurrentUser, Scope};
use crate::config::Config;
use crate::db::schema::{customers, org_units, project_contacts, projects, warranty_terms};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::models::deadline::Rule;
use crate::models::org_unit::{OrgUnit, OrgUnitKind};
use crate::models::project::{
    Contact, ContactRole, ContactSide, LedgerStatus, Project, ProjectFields, WarrantyCategory,
    WarrantyTerm,
};
use crate::models::user::Role;

use super::deadlines;
use super::ledger;
use super::warranty::{self, Length};
use super::{check_version, concurrent_change, double_option, events, like_contains, Page, Paged};

/// Who keeps the ledger: the project department, the branch engineering
/// department, the group engineering department, administrators.
const WRITERS: &[Role] = &[
    Role::Admin,
    Role::GroupEngineer,
    Role::BranchEngineer,
    Role::ProjectManager,
];

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "HD-2025-017", "name": "滨江花园二期 Binjiang Garden Phase II",
    "address": "上海市浦东新区滨江大道 200 号", "project_department_id": 4, "customer_id": 1,
    "contract_number": "SG-2023-0456", "building_area": 86500.5, "structure_type": "框架剪力墙 frame-shear wall",
    "quality_grade": "合格 qualified", "completion_accepted_on": "2026-02-27", "handover_on": "2026-03-02",
    "is_key_project": true, "hvac_in_scope": true, "design_service_life_years": 50
}))]
pub struct NewProjectInput {
    /// Unique project code.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub address: String,
    /// The project department that built it; the branch is its parent.
    pub project_department_id: i64,
    /// The owner.
    pub customer_id: i64,
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub contract_number: Option<String>,
    /// Square metres.
    #[validate(range(exclusive_min = 0.0, max = 100000000.0))]
    #[schema(exclusive_minimum = 0.0, maximum = 100000000.0)]
    pub building_area: Option<f64>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub structure_type: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub quality_grade: Option<String>,
    /// Completion acceptance (竣工验收, four-party); the warranty starts the day after.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub completion_accepted_on: NaiveDate,
    /// Handover to the owner; the ledger is due 3 days later.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub handover_on: NaiveDate,
    #[serde(default)]
    pub is_key_project: bool,
    /// Heating / ventilation / air conditioning is in our contract.
    #[serde(default)]
    pub hvac_in_scope: bool,
    /// From the design documents; the foundation and structure warranty lasts this long. Default 50.
    #[validate(range(min = 1, max = 300))]
    #[schema(minimum = 1, maximum = 300)]
    pub design_service_life_years: Option<i32>,
}

/// Fields to change; absent stays, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"is_key_project": true, "contract_number": "SG-2023-0456-A"}))]
pub struct ProjectPatch {
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub address: Option<String>,
    pub project_department_id: Option<i64>,
    pub customer_id: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub contract_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>, exclusive_minimum = 0.0, maximum = 100000000.0)]
    pub building_area: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub structure_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub quality_grade: Option<Option<String>>,
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub completion_accepted_on: Option<NaiveDate>,
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub handover_on: Option<NaiveDate>,
    pub is_key_project: Option<bool>,
    pub hvac_in_scope: Option<bool>,
    #[validate(range(min = 1, max = 300))]
    #[schema(minimum = 1, maximum = 300)]
    pub design_service_life_years: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProjectFilter {
    pub branch_id: Option<i64>,
    pub project_department_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub is_key_project: Option<bool>,
    pub hvac_in_scope: Option<bool>,
    pub ledger_status: Option<LedgerStatus>,
    pub under_warranty_on: Option<NaiveDate>,
    pub q: Option<String>,
}

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
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company: Option<Option<String>>,
}

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

/// Whether one component category is under warranty on a day.
#[derive(Debug, Clone)]
pub struct TermStatus {
    pub term: WarrantyTerm,
    pub under_warranty: bool,
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("project {id} not found"))
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Projects the caller may see: by the department that built them, or the
/// customer user's own.
fn visible(actor: &CurrentUser) -> Option<projects::BoxedQuery<'static, MultiBackend>> {
    let query = projects::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => {
            Some(query.filter(crate::in_subtree!(projects::scope_path, &path)))
        }
        Scope::Customer(c) => Some(query.filter(projects::customer_id.eq(c))),
        Scope::Nothing => None,
    }
}

pub fn get(conn: &mut DbConn, actor: &CurrentUser, id: i64) -> AppResult<Project> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(projects::id.eq(id))
        .select(Project::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// A project the caller may change: visible to them and a ledger-keeping role.
fn get_for_write(conn: &mut DbConn, actor: &CurrentUser, id: i64) -> AppResult<Project> {
    let project = get(conn, actor, id)?;
    actor.require(WRITERS)?;
    Ok(project)
}

pub fn list(
    conn: &mut DbConn,
    actor: &CurrentUser,
    filter: &ProjectFilter,
    page: Page,
) -> AppResult<Paged<Project>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(v) = filter.branch_id {
        query = query.filter(projects::branch_id.eq(v));
    }
    if let Some(v) = filter.project_department_id {
        query = query.filter(projects::project_department_id.eq(v));
    }
    if let Some(v) = filter.customer_id {
        query = query.filter(projects::customer_id.eq(v));
    }
    if let Some(v) = filter.is_key_project {
        query = query.filter(projects::is_key_project.eq(v));
    }
    if let Some(v) = filter.hvac_in_scope {
        query = query.filter(projects::hvac_in_scope.eq(v));
    }
    if let Some(v) = filter.ledger_status {
        query = query.filter(projects::ledger_status.eq(v.as_str()));
    }
    if let Some(day) = filter.under_warranty_on {
        query = query.filter(
            projects::id.eq_any(
                warranty_terms::table
                    .filter(warranty_terms::starts_on.le(day))
                    .filter(warranty_terms::ends_on.ge(day))
                    .select(warranty_terms::project_id),
            ),
        );
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_contains(q);
        query = query.filter(
            projects::code
                .like(pattern.clone())
                .escape('\\')
                .or(projects::name.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = page.after_id {
        query = query.filter(projects::id.gt(after));
    }
    let rows = query
        .order(projects::id.asc())
        .limit(page.limit + 1)
        .select(Project::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |p| p.id))
}

/// The project department a project belongs to: a department, active, in
/// the caller's scope. Returns its branch and its ancestry path.
fn check_department(conn: &mut DbConn, actor: &CurrentUser, id: i64) -> AppResult<(i64, String)> {
    let unit: Option<OrgUnit> = org_units::table
        .find(id)
        .select(OrgUnit::as_select())
        .first(conn)
        .optional()?;
    match unit {
        Some(u) if actor.scope().covers_path(&u.path) => {
            if u.kind != OrgUnitKind::ProjectDepartment.as_str() {
                return Err(AppError::rule(
                    "invalid_reference",
                    "project_department_id",
                    format!("org unit {id} is a {}, not a project department", u.kind),
                ));
            }
            if !u.active {
                return Err(AppError::rule(
                    "inactive_org_unit",
                    "project_department_id",
                    format!("project department {id} is deactivated"),
                ));
            }
            let branch = u
                .parent_id
                .ok_or_else(|| AppError::internal("project department without a branch"))?;
            Ok((branch, u.path))
        }
        _ => Err(AppError::rule(
            "invalid_reference",
            "project_department_id",
            format!("project department {id} does not exist or is outside your scope"),
        )),
    }
}

/// The owner a project names: a customer of a branch the caller reaches
/// (inside their scope, or the branch their department belongs to), and
/// active. A customer of another branch is answered exactly like a missing
/// one, so ids outside the scope reveal nothing.
fn check_customer(conn: &mut DbConn, actor: &CurrentUser, id: i64) -> AppResult<()> {
    let row: Option<(bool, String)> = customers::table
        .find(id)
        .select((customers::active, customers::scope_path))
        .first(conn)
        .optional()?;
    match row {
        Some((active, path)) if actor.scope().reaches_path(&path) => {
            if active {
                Ok(())
            } else {
                Err(AppError::rule(
                    "inactive_customer",
                    "customer_id",
                    format!("customer {id} is inactive"),
                ))
            }
        }
        _ => Err(AppError::rule(
            "invalid_reference",
            "customer_id",
            format!("customer {id} does not exist or is outside your scope"),
        )),
    }
}

fn check_dates(
    config: &Config,
    now: NaiveDateTime,
    completion: NaiveDate,
    handover: NaiveDate,
) -> AppResult<()> {
    let today = config.tz.from_utc_datetime(&now).date_naive();
    let mut errors = vec![];
    if completion > today {
        errors.push(FieldError::new(
            "completion_accepted_on",
            "must not be in the future",
        ));
    }
    if handover > today {
        errors.push(FieldError::new("handover_on", "must not be in the future"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Rule {
            code: "date_in_future",
            detail: "the ledger records completed projects: dates cannot lie in the future"
                .to_string(),
            errors,
        })
    }
}

fn ensure_unique_code(conn: &mut DbConn, code: &str, except: Option<i64>) -> AppResult<()> {
    let mut query = projects::table
        .filter(projects::code.eq(code))
        .select(projects::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(projects::id.ne(id));
    }
    if query.first::<i64>(conn).optional()?.is_some() {
        return Err(AppError::conflict(
            "code_taken",
            format!("another project already has the code {code:?}"),
        ));
    }
    Ok(())
}

fn audit<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

pub fn create(
    conn: &mut DbConn,
    actor: &CurrentUser,
    config: &Config,
    now: NaiveDateTime,
    input: &NewProjectInput,
) -> AppResult<Project> {
    actor.require(WRITERS)?;
    let (code, name, address) = (input.code.trim(), input.name.trim(), input.address.trim());
    for (field, value) in [("code", code), ("name", name), ("address", address)] {
        if value.is_empty() {
            return Err(AppError::invalid(field, "must not be blank"));
        }
    }
    check_dates(config, now, input.completion_accepted_on, input.handover_on)?;
    write_tx(conn, |conn| {
        let (branch_id, scope_path) = check_department(conn, actor, input.project_department_id)?;
        check_customer(conn, actor, input.customer_id)?;
        ensure_unique_code(conn, code, None)?;
        let fields = ProjectFields {
            code: code.to_string(),
            name: name.to_string(),
            address: address.to_string(),
            branch_id,
            project_department_id: input.project_department_id,
            customer_id: input.customer_id,
            contract_number: trimmed(input.contract_number.as_deref()),
            building_area: input.building_area,
            structure_type: trimmed(input.structure_type.as_deref()),
            quality_grade: trimmed(input.quality_grade.as_deref()),
            completion_accepted_on: input.completion_accepted_on,
            handover_on: input.handover_on,
            is_key_project: input.is_key_project,
            hvac_in_scope: input.hvac_in_scope,
            design_service_life_years: input.design_service_life_years.unwrap_or(50),
            ledger_due_at: ledger::clock_start(input.handover_on, config),
            scope_path,
        };
        let id: i64 = diesel::insert_into(projects::table)
            .values((
                &fields,
                projects::ledger_status.eq(LedgerStatus::Draft.as_str()),
                projects::version.eq(1),
                projects::created_at.eq(now),
                projects::updated_at.eq(now),
            ))
            .returning(projects::id)
            .get_result(conn)?;
        // the statutory minimum terms, from the day after completion acceptance
        let starts_on = warranty::starts_on(fields.completion_accepted_on);
        for category in WarrantyCategory::ALL {
            let Some(length) =
                warranty::statutory_minimum(*category, fields.design_service_life_years)
            else {
                continue;
            };
            insert_term(conn, config, now, id, *category, length, starts_on, None)?;
        }
        let mut project = get(conn, actor, id)?;
        let clock = ledger::fill_clock(&project, ledger::clock_start(project.handover_on, config));
        let d = deadlines::start(conn, config, now, clock)?;
        ledger::set_due(conn, id, d.due_at)?;
        project.ledger_due_at = d.due_at;
        events::record_change(
            conn,
            now,
            actor,
            "project.created",
            ("project", id),
            None,
            Some(audit(&project)),
        )?;
        Ok(project)
    })
}

#[allow(clippy::too_many_arguments)]
fn insert_term(
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

pub fn update(
    conn: &mut DbConn,
    actor: &CurrentUser,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<i32>,
    patch: &ProjectPatch,
) -> AppResult<Project> {
    write_tx(conn, |conn| {
        let before = get_for_write(conn, actor, id)?;
        check_version(expected_version, before.version)?;
        let text = |field: &'static str, v: &Option<String>, old: &str| -> AppResult<String> {
            match v.as_deref().map(str::trim) {
                Some("") => Err(AppError::invalid(field, "must not be blank")),
                Some(t) => Ok(t.to_string()),
                None => Ok(old.to_string()),
            }
        };
        let pick = |p: &Option<Option<String>>, old: &Option<String>| match p {
            Some(v) => trimmed(v.as_deref()),
            None => old.clone(),
        };
        let department = patch
            .project_department_id
            .unwrap_or(before.project_department_id);
        let (branch_id, scope_path) = if department == before.project_department_id {
            (before.branch_id, before.scope_path.clone())
        } else {
            check_department(conn, actor, department)?
        };
        let customer_id = patch.customer_id.unwrap_or(before.customer_id);
        if customer_id != before.customer_id {
            check_customer(conn, actor, customer_id)?;
        }
        let code = text("code", &patch.code, &before.code)?;
        if code != before.code {
            ensure_unique_code(conn, &code, Some(id))?;
        }
        let completion = patch
            .completion_accepted_on
            .unwrap_or(before.completion_accepted_on);
        let handover = patch.handover_on.unwrap_or(before.handover_on);
        check_dates(config, now, completion, handover)?;
        let fields = ProjectFields {
            code,
            name: text("name", &patch.name, &before.name)?,
            address: text("address", &patch.address, &before.address)?,
            branch_id,
            project_department_id: department,
            customer_id,
            contract_number: pick(&patch.contract_number, &before.contract_number),
            building_area: patch.building_area.unwrap_or(before.building_area),
            structure_type: pick(&patch.structure_type, &before.structure_type),
            quality_grade: pick(&patch.quality_grade, &before.quality_grade),
            completion_accepted_on: completion,
            handover_on: handover,
            is_key_project: patch.is_key_project.unwrap_or(before.is_key_project),
            hvac_in_scope: patch.hvac_in_scope.unwrap_or(before.hvac_in_scope),
            design_service_life_years: patch
                .design_service_life_years
                .unwrap_or(before.design_service_life_years),
            ledger_due_at: before.ledger_due_at,
            scope_path,
        };
        let written = diesel::update(
            projects::table
                .filter(projects::id.eq(id))
                .filter(projects::version.eq(before.version)),
        )
        .set((
            &fields,
            projects::version.eq(before.version + 1),
            projects::updated_at.eq(now),
        ))
        .execute(conn)?;
        if written == 0 {
            return Err(concurrent_change());
        }
        if completion != before.completion_accepted_on
            || fields.design_service_life_years != before.design_service_life_years
        {
            refit_terms(conn, config, now, &before, &fields)?;
        }
        if department != before.project_department_id {
            deadlines::move_scope(conn, now, "project", id, department)?;
        }
        if fields.code != before.code || fields.name != before.name {
            for rule in ledger::RULES {
                let title = ledger::clock_title(rule, &fields.code, &fields.name);
                deadlines::retitle(conn, now, rule, "project", id, &title)?;
            }
        }
        // a corrected handover date moves the first fill's clock; a returned
        // ledger's clock runs from the return and stays
        if handover != before.handover_on && before.ledger_status == LedgerStatus::Draft.as_str() {
            let start = ledger::clock_start(handover, config);
            if let Some(d) =
                deadlines::restart(conn, config, now, Rule::LedgerFill, "project", id, start)?
            {
                ledger::set_due(conn, id, d.due_at)?;
            }
        }
        let after = get(conn, actor, id)?;
        events::record_change(
            conn,
            now,
            actor,
            "project.updated",
            ("project", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// After a change of the acceptance date or the design service life: terms
/// start anew from the day after acceptance, and the structure term follows
/// the design life (kept longer only when it was lengthened on purpose).
fn refit_terms(
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

// ---- contacts ----------------------------------------------------------

pub fn contacts(
    conn: &mut DbConn,
    actor: &CurrentUser,
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
    actor: &CurrentUser,
    now: NaiveDateTime,
    project_id: i64,
    input: &NewContactInput,
) -> AppResult<Contact> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "must not be blank"));
    }
    let phone = super::users::clean_phone(Some(&input.phone))?
        .ok_or_else(|| AppError::invalid("phone", "must not be blank"))?;
    let company = trimmed(input.company.as_deref());
    check_company(input.role, &company)?;
    write_tx(conn, |conn| {
        get_for_write(conn, actor, project_id)?;
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
            "project.contact_added",
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
    actor: &CurrentUser,
    now: NaiveDateTime,
    project_id: i64,
    contact_id: i64,
    expected_version: Option<i32>,
    patch: &ContactPatch,
) -> AppResult<Contact> {
    write_tx(conn, |conn| {
        get_for_write(conn, actor, project_id)?;
        let before = get_contact(conn, project_id, contact_id)?;
        check_version(expected_version, before.version)?;
        let name = match patch.name.as_deref().map(str::trim) {
            Some("") => return Err(AppError::invalid("name", "must not be blank")),
            Some(n) => n.to_string(),
            None => before.name.clone(),
        };
        let phone = match &patch.phone {
            Some(p) => super::users::clean_phone(Some(p))?
                .ok_or_else(|| AppError::invalid("phone", "must not be blank"))?,
            None => before.phone.clone(),
        };
        let company = match &patch.company {
            Some(c) => trimmed(c.as_deref()),
            None => before.company.clone(),
        };
        check_company(ContactRole::from_db(&before.role)?, &company)?;
        let written = diesel::update(
            project_contacts::table
                .filter(project_contacts::id.eq(contact_id))
                .filter(project_contacts::version.eq(before.version)),
        )
        .set((
            project_contacts::name.eq(&name),
            project_contacts::phone.eq(&phone),
            project_contacts::company.eq(&company),
            project_contacts::version.eq(before.version + 1),
            project_contacts::updated_at.eq(now),
        ))
        .execute(conn)?;
        if written == 0 {
            return Err(concurrent_change());
        }
        let after = get_contact(conn, project_id, contact_id)?;
        events::record_change(
            conn,
            now,
            actor,
            "project.contact_updated",
            ("project", project_id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

pub fn remove_contact(
    conn: &mut DbConn,
    actor: &CurrentUser,
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
            "project.contact_removed",
            ("project", project_id),
            Some(audit(&before)),
            None,
        )
    })
}

// ---- warranty terms ----------------------------------------------------

pub fn terms(
    conn: &mut DbConn,
    actor: &CurrentUser,
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
    actor: &CurrentUser,
    config: &Config,
    now: NaiveDateTime,
    project_id: i64,
    category: WarrantyCategory,
    expected_version: Option<i32>,
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
                let written = diesel::update(
                    warranty_terms::table
                        .filter(warranty_terms::id.eq(term.id))
                        .filter(warranty_terms::version.eq(term.version)),
                )
                .set((
                    warranty_terms::years.eq(years),
                    warranty_terms::periods.eq(periods),
                    warranty_terms::ends_on.eq(term_end(config, term.starts_on, length)?),
                    warranty_terms::note.eq(note.as_deref().or(term.note.as_deref())),
                    warranty_terms::version.eq(term.version + 1),
                    warranty_terms::updated_at.eq(now),
                ))
                .execute(conn)?;
                if written == 0 {
                    return Err(concurrent_change());
                }
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
            "project.warranty_term_set",
            ("project", project_id),
            before.as_ref().map(audit),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// Which terms of a project are in force on `on` (all, or one category's).
pub fn warranty_status(
    conn: &mut DbConn,
    actor: &CurrentUser,
    project_id: i64,
    on: NaiveDate,
    category: Option<WarrantyCategory>,
) -> AppResult<Vec<TermStatus>> {
    let (_, terms) = terms(conn, actor, project_id)?;
    Ok(terms
        .into_iter()
        .filter(|t| category.is_none_or(|c| t.category == c.as_str()))
        .map(|term| TermStatus {
            under_warranty: term.starts_on <= on && on <= term.ends_on,
            term,
        })
        .collect())
}
