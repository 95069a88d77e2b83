//! The completed-projects ledger (竣工工程信息台账, 004 §5.1): registering
//! projects; their contacts (`contacts`) and warranty terms (`terms`) each
//! have their own file, and the review workflow is `ledger`.

use crate::kit::attachments::AttachmentPolicy;
use crate::models::event::EventType;
use crate::services::IfMatch;
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::schema::{customers, org_units, projects, warranty_terms};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::models::deadline::Rule;
use crate::models::org_unit::{OrgUnit, OrgUnitKind};
use crate::models::project::{ApprovalStatus, Project, ProjectFields, WarrantyCategory};
use crate::models::user::Role;

use super::{check_version, double_option, like_contains, Page, Paged};
use crate::kit::deadlines;
use crate::kit::events;
use crate::kit::workflow::{self, CreateRequest, Ctx};

mod contacts;
pub mod ledger;
mod terms;
pub mod warranty;

pub use contacts::*;
pub use terms::*;

/// Who keeps the ledger: the project department, the branch engineering
/// department, the group engineering department, administrators.
pub(crate) const WRITERS: &[Role] = &[
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
    "is_key_project": true, "hvac_in_scope": true, "systems_in_operation_on": "2026-04-01",
    "design_service_life_years": 50
}))]
pub struct NewProjectInput {
    /// The project's code, unique within its branch (each branch numbers its own).
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
    /// When the M&E equipment and the water supply and drainage systems went
    /// (or go) into formal operation; the equipment visit falls a month later.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub systems_in_operation_on: Option<NaiveDate>,
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
    #[validate(length(max = 64))]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub contract_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(range(exclusive_min = 0.0, max = 100000000.0))]
    #[schema(value_type = Option<f64>, exclusive_minimum = 0.0, maximum = 100000000.0)]
    pub building_area: Option<Option<f64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub structure_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub quality_grade: Option<Option<String>>,
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub completion_accepted_on: Option<NaiveDate>,
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub handover_on: Option<NaiveDate>,
    pub is_key_project: Option<bool>,
    pub hvac_in_scope: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = "crate::services::plausible_date"))]
    #[schema(value_type = Option<NaiveDate>)]
    pub systems_in_operation_on: Option<Option<NaiveDate>>,
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
    pub ledger_status: Option<ApprovalStatus>,
    pub under_warranty_on: Option<NaiveDate>,
    pub q: Option<String>,
}

/// A project's attachments (the warranty certificate, handover documents):
/// whoever may write its ledger adds and keeps them.
pub const ATTACHMENTS: AttachmentPolicy = AttachmentPolicy {
    stewards: &[],
    department_stewards: false,
    writers_steward: true,
    customer_adds: false,
};

pub(crate) fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("project {id} not found"))
}

pub(crate) use super::trimmed;

/// Projects the caller may see: by the department that built them, or the
/// customer user's own.
fn visible(actor: &Actor) -> Option<projects::BoxedQuery<'static, MultiBackend>> {
    let query = projects::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => Some(query.filter(crate::rows_in_subtree!(
            projects::table,
            projects::scope_path,
            &path
        ))),
        Scope::Customer(c) => Some(query.filter(projects::customer_id.eq(c))),
        Scope::Nothing => None,
    }
}

/// What the caller may read of a project: a customer account never reads
/// the ledger's review comments or why it came late (the contractor's own).
pub fn shown(actor: &Actor, mut p: Project) -> Project {
    if actor.role == crate::models::user::Role::Customer {
        p.ledger_review_comment = None;
        p.ledger_late_reason = None;
    }
    p
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Project> {
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
pub(crate) fn get_for_write(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Project> {
    let project = get(conn, actor, id)?;
    actor.require(WRITERS)?;
    Ok(project)
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
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
fn check_department(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<(i64, String)> {
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
        _ => Err(AppError::missing_reference(
            "project_department_id",
            format!("project department {id} does not exist or is outside your scope"),
        )),
    }
}

/// The owner a project names: a customer of a branch the caller reaches
/// (inside their scope, or the branch their department belongs to), and
/// active. A customer of another branch is answered exactly like a missing
/// one, so ids outside the scope reveal nothing.
fn check_customer(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<()> {
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
        _ => Err(AppError::missing_reference(
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

/// A project's code is unique within its branch (each branch numbers its
/// own projects): another branch's code is no conflict, nor a hint that it
/// exists.
fn ensure_unique_code(
    conn: &mut DbConn,
    branch_id: i64,
    code: &str,
    except: Option<i64>,
) -> AppResult<()> {
    let mut query = projects::table
        .filter(projects::branch_id.eq(branch_id))
        .filter(projects::code.eq(code))
        .select(projects::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(projects::id.ne(id));
    }
    if query.first::<i64>(conn).optional()?.is_some() {
        return Err(AppError::conflict(
            "code_taken",
            format!("another project of this branch already has the code {code:?}"),
        ));
    }
    Ok(())
}

/// A project moved to another department (of this or another branch) or
/// another customer takes everything of it along, in the transaction that
/// moves it: its complaints, their rectification plans and its visits get
/// the new customer, branch and scope, and their open clocks move to the
/// new units' task lists. Whoever saw them through the old customer or
/// unit no longer does from the next request on; the new ones do.
fn carry_records(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    before: &Project,
    after: &ProjectFields,
) -> AppResult<()> {
    use crate::db::schema::{complaints, rectification_milestones, rectification_plans, visits};
    let complaint_ids: Vec<i64> = complaints::table
        .filter(complaints::project_id.eq(before.id))
        .select(complaints::id)
        .load(conn)?;
    diesel::update(complaints::table.filter(complaints::project_id.eq(before.id)))
        .set((
            complaints::customer_id.eq(after.customer_id),
            complaints::branch_id.eq(after.branch_id),
            complaints::scope_path.eq(&after.scope_path),
        ))
        .execute(conn)?;
    diesel::update(visits::table.filter(visits::project_id.eq(before.id)))
        .set((
            visits::customer_id.eq(after.customer_id),
            visits::branch_id.eq(after.branch_id),
            visits::scope_path.eq(&after.scope_path),
        ))
        .execute(conn)?;
    let plan_ids: Vec<i64> = rectification_plans::table
        .filter(rectification_plans::complaint_id.eq_any(&complaint_ids))
        .select(rectification_plans::id)
        .load(conn)?;
    diesel::update(rectification_plans::table.filter(rectification_plans::id.eq_any(&plan_ids)))
        .set((
            rectification_plans::branch_id.eq(after.branch_id),
            rectification_plans::project_department_id.eq(after.project_department_id),
            rectification_plans::scope_path.eq(&after.scope_path),
        ))
        .execute(conn)?;
    let milestone_ids: Vec<i64> = rectification_milestones::table
        .filter(rectification_milestones::plan_id.eq_any(&plan_ids))
        .select(rectification_milestones::id)
        .load(conn)?;
    let visit_ids: Vec<i64> = visits::table
        .filter(visits::project_id.eq(before.id))
        .select(visits::id)
        .load(conn)?;
    // each clock goes to the unit its kind is kept by (as when started)
    let department = after.project_department_id;
    deadlines::move_scope(conn, now, "project", &[before.id], department)?;
    deadlines::move_scope(conn, now, "complaint", &complaint_ids, after.branch_id)?;
    deadlines::move_scope(conn, now, "rectification_plan", &plan_ids, after.branch_id)?;
    deadlines::move_scope(
        conn,
        now,
        "rectification_milestone",
        &milestone_ids,
        department,
    )?;
    deadlines::move_scope(conn, now, "visit", &visit_ids, after.branch_id)?;
    let was = (Some(before.scope_path.as_str()), Some(before.customer_id));
    let moves = [
        (EventType::ComplaintMoved, "complaint", &complaint_ids),
        (
            EventType::RectificationPlanMoved,
            "rectification_plan",
            &plan_ids,
        ),
        (EventType::VisitMoved, "visit", &visit_ids),
    ];
    for (action, kind, ids) in moves {
        events::record_moves(conn, now, Some(actor), action, kind, ids, was)?;
    }
    carry_later_records(conn, actor, now, before, after)
}

/// The repairs, corrective actions and accountability records of a moved
/// project go with it, as its complaints and visits do; their clocks are
/// the project department's.
fn carry_later_records(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    before: &Project,
    after: &ProjectFields,
) -> AppResult<()> {
    use crate::db::schema::{accountability_records, corrective_actions, repairs};
    let repair_ids: Vec<i64> = repairs::table
        .filter(repairs::project_id.eq(before.id))
        .select(repairs::id)
        .load(conn)?;
    diesel::update(repairs::table.filter(repairs::project_id.eq(before.id)))
        .set((
            repairs::customer_id.eq(after.customer_id),
            repairs::branch_id.eq(after.branch_id),
            repairs::project_department_id.eq(after.project_department_id),
            repairs::scope_path.eq(&after.scope_path),
        ))
        .execute(conn)?;
    let action_ids: Vec<i64> = corrective_actions::table
        .filter(corrective_actions::project_id.eq(before.id))
        .select(corrective_actions::id)
        .load(conn)?;
    diesel::update(corrective_actions::table.filter(corrective_actions::project_id.eq(before.id)))
        .set((
            corrective_actions::customer_id.eq(after.customer_id),
            corrective_actions::branch_id.eq(after.branch_id),
            corrective_actions::project_department_id.eq(after.project_department_id),
            corrective_actions::scope_path.eq(&after.scope_path),
        ))
        .execute(conn)?;
    diesel::update(
        accountability_records::table.filter(accountability_records::project_id.eq(before.id)),
    )
    .set((
        accountability_records::customer_id.eq(after.customer_id),
        accountability_records::branch_id.eq(after.branch_id),
        accountability_records::project_department_id.eq(after.project_department_id),
        accountability_records::scope_path.eq(&after.scope_path),
    ))
    .execute(conn)?;
    let accountability_ids: Vec<i64> = accountability_records::table
        .filter(accountability_records::project_id.eq(before.id))
        .select(accountability_records::id)
        .load(conn)?;
    let department = after.project_department_id;
    deadlines::move_scope(conn, now, "repair", &repair_ids, department)?;
    deadlines::move_scope(conn, now, "corrective_action", &action_ids, department)?;
    let was = (Some(before.scope_path.as_str()), Some(before.customer_id));
    let moves = [
        (EventType::RepairMoved, "repair", &repair_ids),
        (
            EventType::CorrectiveActionMoved,
            "corrective_action",
            &action_ids,
        ),
        (
            EventType::AccountabilityMoved,
            "accountability_record",
            &accountability_ids,
        ),
    ];
    for (action, kind, ids) in moves {
        events::record_moves(conn, now, Some(actor), action, kind, ids, was)?;
    }
    Ok(())
}

pub(crate) fn audit<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    input: &NewProjectInput,
) -> AppResult<Project> {
    enter(conn, actor, config, now, input, None).map(|(project, _)| project)
}

/// Enters a project into the ledger through the API, or (with `import_id`)
/// from a spreadsheet import: the same checks either way. An imported
/// project whose ledger would already be overdue (a handover long past)
/// starts no fill clock, so nobody is escalated for a past the company
/// kept on paper.
pub(crate) fn enter(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    input: &NewProjectInput,
    import_id: Option<i64>,
) -> AppResult<(Project, bool)> {
    let creation = match import_id {
        None => "enter",
        Some(_) => {
            let start = ledger::clock_start(input.handover_on, config);
            if deadlines::due_of(conn, config, Rule::LedgerFill, start)? > now {
                "import"
            } else {
                "import_past"
            }
        }
    };
    let clock_started = creation != "import_past";
    let birth = workflow::creation::<ledger::Ledger>(actor, creation)?;
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
        ensure_unique_code(conn, branch_id, code, None)?;
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
            systems_in_operation_on: input.systems_in_operation_on,
            design_service_life_years: input.design_service_life_years.unwrap_or(50),
            ledger_due_at: ledger::clock_start(input.handover_on, config),
            scope_path,
        };
        let ctx = Ctx { actor, config, now };
        let starts_at = Some(fields.ledger_due_at);
        let (project, _) = workflow::create::<ledger::Ledger>(
            conn,
            ctx,
            birth,
            CreateRequest {
                starts_at,
                ..CreateRequest::default()
            },
            |conn, state| {
                let id: i64 = diesel::insert_into(projects::table)
                    .values((
                        &fields,
                        projects::ledger_status.eq(state.as_str()),
                        projects::version.eq(1),
                        projects::created_at.eq(now),
                        projects::updated_at.eq(now),
                        projects::import_id.eq(import_id),
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
                Ok(id)
            },
            |conn, project, outcome| {
                // the project mirrors its fill clock's due time
                for d in &outcome.started {
                    ledger::set_due(conn, project.id, d.due_at)?;
                }
                Ok(())
            },
        )?;
        let project = get(conn, actor, project.id)?;
        Ok((project, clock_started))
    })
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &ProjectPatch,
) -> AppResult<Project> {
    write_tx(conn, |conn| {
        let before = get_for_write(conn, actor, id)?;
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
        if code != before.code || branch_id != before.branch_id {
            ensure_unique_code(conn, branch_id, &code, Some(id))?;
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
            systems_in_operation_on: patch
                .systems_in_operation_on
                .unwrap_or(before.systems_in_operation_on),
            design_service_life_years: patch
                .design_service_life_years
                .unwrap_or(before.design_service_life_years),
            ledger_due_at: before.ledger_due_at,
            scope_path,
        };
        // after the content's checks: a request that fails anyway is not a 412
        check_version(expected_version, before.version)?;
        update_version!(conn, projects, (id, before.version), now, (&fields,));
        if completion != before.completion_accepted_on
            || fields.design_service_life_years != before.design_service_life_years
        {
            refit_terms(conn, config, now, &before, &fields)?;
        }
        if department != before.project_department_id || customer_id != before.customer_id {
            carry_records(conn, actor, now, &before, &fields)?;
        }
        if fields.code != before.code || fields.name != before.name {
            for rule in ledger::RULES {
                let title = ledger::clock_title(rule, &fields.code, &fields.name);
                deadlines::retitle(conn, now, rule, "project", id, &title)?;
            }
        }
        // a corrected handover date moves the first fill's clock; a returned
        // ledger's clock runs from the return and stays
        if handover != before.handover_on && before.ledger_status == ApprovalStatus::Draft.as_str()
        {
            let start = ledger::clock_start(handover, config);
            if let Some(d) = workflow::retime::<ledger::Ledger>(
                conn,
                config,
                now,
                &before,
                Rule::LedgerFill,
                start,
            )? {
                ledger::set_due(conn, id, d.due_at)?;
            }
        }
        let after = get(conn, actor, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::ProjectUpdated,
            ("project", id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}
