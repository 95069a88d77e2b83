//! Visit plans (回访计划, 004 §5.2, A.2 steps 4–6): a branch's plan for a
//! year (compiled by the branch engineering department, approved by the
//! group) and a project department's plan for a month (approved by the
//! branch). A generated draft satisfies every rule of `plan_rules` by
//! construction, with visitors of the rank each customer needs, spread
//! evenly; submission and approval check the same rules and answer the
//! compliance report. Approved, each item is its visitor's task on the
//! deadline engine. One table on the transition kit.

pub mod rules;

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::schema::{
    customers, org_units, projects, users, visit_plan_items, visit_plans, warranty_terms,
};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::models::customer::Customer;
use crate::models::deadline::Rule;
use crate::models::event::EventType;
use crate::models::org_unit::OrgUnitKind;
use crate::models::project::Project;
use crate::models::user::{Rank, Role};
use crate::models::visit::{
    ApprovalStatus, PlanItem, PlanItemAction, PlanItemStatus, PlanLevel, VisitKind, VisitMethod,
    VisitPlan, VisitPlanAction,
};
use crate::services::{ApprovalDecision, IfMatch};

use self::rules::{
    self as plan_rules, Level, PlanRule, ProjectFacts, Requirement, RequirementStatus,
};
use super::{customers as customer_profiles, Page, Paged};
use crate::kit::deadlines::calendar;
use crate::kit::deadlines::{self as clocks, NewDeadline};
use crate::kit::events;
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Does, Effect, Request, Transition};

// ---- requests ----------------------------------------------------------

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": "branch", "org_unit_id": 2, "year": 2027, "generate": true}))]
pub struct NewVisitPlan {
    pub level: PlanLevel,
    /// The branch (for `branch`) or the project department (for `project`).
    pub org_unit_id: i64,
    #[validate(range(min = 2000, max = 2100))]
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: i32,
    /// 1–12, for a project plan only.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub month: Option<i32>,
    /// Fill the draft with the fewest visits that satisfy every rule.
    #[serde(default)]
    pub generate: bool,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"project_id": 3, "kind": "routine", "method": "onsite", "planned_on": "2027-05-20", "visitor_id": 7}))]
pub struct PlanItemInput {
    pub project_id: i64,
    pub kind: VisitKind,
    pub method: VisitMethod,
    /// Within the plan's period.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub planned_on: NaiveDate,
    /// Of the plan's unit, with the rank the customer needs.
    pub visitor_id: i64,
}

/// Changes to an item; absent stays.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"planned_on": "2027-05-22", "visitor_id": 8}))]
pub struct PlanItemPatch {
    pub kind: Option<VisitKind>,
    pub method: Option<VisitMethod>,
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub planned_on: Option<NaiveDate>,
    pub visitor_id: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "approve"}))]
pub struct PlanReviewInput {
    pub decision: ApprovalDecision,
    /// Required when returning.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct PlanSubmissionInput {
    /// Required when the plan's compile clock has passed: the branch's
    /// yearly plan 3 days after 1 January, a new project's first plan 3
    /// days after its ledger's approval.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

// ---- the report --------------------------------------------------------

/// How one project's rules are met.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectCompliance {
    pub project_id: i64,
    pub code: String,
    pub name: String,
    pub requirements: Vec<RequirementStatus>,
    /// Rules not met.
    pub missing: i64,
}

/// For each project under warranty in the plan's scope and period, each
/// rule: required against planned, and what is missing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub compliant: bool,
    pub projects: Vec<ProjectCompliance>,
}

impl ComplianceReport {
    /// The refusal of a plan that misses a rule: 422 with the report's gaps.
    fn refusal(&self) -> AppError {
        let errors: Vec<FieldError> = self
            .projects
            .iter()
            .flat_map(|p| {
                p.requirements.iter().filter(|r| !r.met).map(move |r| {
                    FieldError::new(
                        format!(
                            "projects.{}.{}",
                            p.project_id,
                            serde_json::to_value(r.requirement.rule)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        ),
                        format!(
                            "{} {}: no {}visit planned between {} and {} ({})",
                            p.code,
                            p.name,
                            if r.requirement.onsite { "on-site " } else { "" },
                            r.requirement.from,
                            r.requirement.to,
                            r.requirement.label
                        ),
                    )
                })
            })
            .collect();
        AppError::Rule {
            code: "plan_not_compliant",
            detail: format!(
                "the plan misses {} rule(s) of the visit frequency and seasons (004 §5.2.4); each is listed",
                errors.len()
            ),
            errors,
        }
    }
}

/// A plan, its items and its compliance report.
#[derive(Debug)]
pub struct VisitPlanDetail {
    pub plan: VisitPlan,
    pub items: Vec<PlanItem>,
    pub report: ComplianceReport,
    /// The rules each item serves, with which occurrence (`H1`), by item id.
    pub serves: HashMap<i64, Vec<(PlanRule, String)>>,
}

// ---- the workflow ------------------------------------------------------

pub struct VisitPlanFlow;

static TABLE: &[Transition<ApprovalStatus, VisitPlanAction, VisitPlan>] = crate::transitions![ApprovalStatus, VisitPlanAction;
    // who compiles and who approves each level (004 A.4): the branch's plan
    // by its engineering department, approved by the group; a project's by
    // its manager, approved by the branch. Submitting is compiling: a branch
    // plan meets its year's clock, a project plan the first-plan clocks of
    // the projects it visits
    [Draft, Returned] Submit when "branch plan" branch_plan => Submitted, by &[Role::BranchEngineer],
        settles [VisitPlanCompile, VisitPlanCompileProject], event VisitPlanSubmitted;
    [Draft, Returned] Submit when "project plan" project_plan => Submitted, by &[Role::ProjectManager],
        settles [VisitPlanCompile, VisitPlanCompileProject], event VisitPlanSubmitted;
    [Submitted] Approve when "branch plan" branch_plan => Approved, by &[Role::GroupEngineer],
        effects [ITEMS_SCHEDULED], event VisitPlanApproved;
    [Submitted] Approve when "project plan" project_plan => Approved, by &[Role::BranchEngineer],
        effects [ITEMS_SCHEDULED], event VisitPlanApproved;
    [Submitted] Return when "branch plan" branch_plan => Returned, by &[Role::GroupEngineer],
        event VisitPlanReturned;
    [Submitted] Return when "project plan" project_plan => Returned, by &[Role::BranchEngineer],
        event VisitPlanReturned;
];

fn branch_plan(_: &mut DbConn, plan: &VisitPlan) -> AppResult<bool> {
    Ok(level_of(plan)? == PlanLevel::Branch)
}

fn project_plan(_: &mut DbConn, plan: &VisitPlan) -> AppResult<bool> {
    Ok(level_of(plan)? == PlanLevel::Project)
}

/// A branch's yearly plan is compiled by its engineering department, a
/// project department's monthly plan by its manager (004 A.4).
static CREATIONS: &[Creation<ApprovalStatus>] = crate::creations![ApprovalStatus;
    "compile_branch" => Draft, by &[Role::BranchEngineer], event VisitPlanCreated;
    "compile_project" => Draft, by &[Role::ProjectManager], event VisitPlanCreated;
];

crate::workflow! {
    VisitPlanFlow {
        name: "visit plan",
        subject: VisitPlan as "visit_plan",
        state: ApprovalStatus = visit_plans.status,
        action: VisitPlanAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        clock: |p, rule, now| visit_plan_clock(p, rule, now),
        settled_subjects: |conn, config, p, rule| visit_plan_settled_subjects(conn, config, p, rule),
        linked: |conn, p, _on| Ok(visit_plan_items::table
            .filter(visit_plan_items::plan_id.eq(p.id))
            .order(visit_plan_items::id.asc())
            .select((visit_plan_items::id, visit_plan_items::status))
            .load(conn)?),
    }
}

/// The clocks of a visit plan.
fn visit_plan_clock(p: &VisitPlan, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    NewDeadline::new(
        rule,
        ("visit_plan", p.id),
        p.org_unit_id,
        now,
        (
            format!("Visit plan #{}", p.id),
            format!("/api/v1/visit-plans/{}", p.id),
        ),
    )
}

/// The records whose clocks a visit plan step settles: the compile clocks it
/// meets (its branch's for the year, or its projects' first plan).
fn visit_plan_settled_subjects(
    conn: &mut DbConn,
    config: &Config,
    p: &VisitPlan,
    rule: Rule,
) -> AppResult<Vec<(&'static str, i64)>> {
    let subject = rule.subject().as_str();
    match (rule, level_of(p)?) {
        // only the clock of the plan's own year: next year's plan,
        // compiled early, leaves this year's clock alone
        (Rule::VisitPlanCompile, PlanLevel::Branch) => {
            let open = clocks::open_for(conn, rule, subject, p.org_unit_id)?;
            Ok(open
                .filter(|d| d.started_at == year_start(config, p.year))
                .map(|_| (subject, p.org_unit_id))
                .into_iter()
                .collect())
        }
        (Rule::VisitPlanCompileProject, PlanLevel::Project) => {
            let visited: Vec<i64> = visit_plan_items::table
                .filter(visit_plan_items::plan_id.eq(p.id))
                .select(visit_plan_items::project_id)
                .distinct()
                .load(conn)?;
            Ok(visited.into_iter().map(|id| (subject, id)).collect())
        }
        _ => Ok(vec![]),
    }
}

fn level_of(p: &VisitPlan) -> AppResult<PlanLevel> {
    PlanLevel::from_db(&p.level)
}

/// The plan's approval makes every planned item its visitor's task.
const ITEMS_SCHEDULED: Effect = Effect {
    on: "visit_plan_item",
    when: &["planned"],
    does: Does::Step("schedule", schedule_item),
};

fn schedule_item(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, _: Option<&str>) -> AppResult<()> {
    let request = Request::new(PlanItemAction::Schedule, None, None);
    workflow::run_linked::<PlanItemFlow>(conn, ctx, id, request)?;
    Ok(())
}

/// A plan item, with what its task needs to know: the plan's level and unit.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOfPlan {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub version: i32,
    #[serde(skip)]
    pub status: String,
    #[serde(flatten)]
    pub item: PlanItem,
    #[serde(skip)]
    pub branch_level: bool,
    #[serde(skip)]
    pub org_unit_id: i64,
}

fn find_item(conn: &mut DbConn, actor: Option<&Actor>, id: i64) -> AppResult<ItemOfPlan> {
    let item: PlanItem = visit_plan_items::table
        .find(id)
        .select(PlanItem::as_select())
        .first(conn)?;
    let plan = match actor {
        Some(actor) => load(conn, actor, item.plan_id)?,
        None => visit_plans::table
            .find(item.plan_id)
            .select(VisitPlan::as_select())
            .first(conn)?,
    };
    Ok(ItemOfPlan {
        id: item.id,
        version: item.version,
        status: item.status.clone(),
        branch_level: level_of(&plan)? == PlanLevel::Branch,
        org_unit_id: plan.org_unit_id,
        item,
    })
}

/// A plan item's small life cycle: planned (added to a draft, or re-planned
/// on site after a failed contact), its visitor's task once the plan is
/// approved, then carried out by a visit, or re-planned when the owner
/// could not be reached.
pub struct PlanItemFlow;

static ITEM_TABLE: &[Transition<PlanItemStatus, PlanItemAction, ItemOfPlan>] = crate::transitions![PlanItemStatus, PlanItemAction;
    [Planned] Schedule => Planned, by &[Role::GroupEngineer, Role::BranchEngineer],
        starts [VisitPerform], event VisitPlanItemScheduled;
    // judged on the visit's own day, not when it is written down
    [Planned] Complete => Done, by super::visits::VISITORS,
        settles [VisitPerform, VisitPerformBranch], event VisitPlanItemDone;
    [Planned] ContactFailed => Replanned, by super::visits::VISITORS,
        settles [VisitPerform, VisitPerformBranch], event VisitPlanItemReplanned;
];

static ITEM_CREATIONS: &[Creation<PlanItemStatus>] = crate::creations![PlanItemStatus;
    "plan" => Planned, by &[Role::BranchEngineer, Role::ProjectManager], event VisitPlanItemAdded;
    // on site, within the period, a new task of the same visitor (004 C03/C04)
    "replan" => Planned, by super::visits::VISITORS, starts [VisitPerform], event VisitPlanItemAdded;
];

crate::workflow! {
    PlanItemFlow {
        name: "visit plan item",
        subject: ItemOfPlan as "visit_plan_item",
        state: PlanItemStatus = visit_plan_items.status,
        action: PlanItemAction,
        table: ITEM_TABLE,
        creations: ITEM_CREATIONS,
        load: |conn, actor, id| find_item(conn, Some(actor), id),
        clock: |i, rule, now| item_clock(i, rule, now),
        find: |conn, id| find_item(conn, None, id),
        event_subject: |i| ("visit_plan", i.item.plan_id),
    }
}

/// The item's task: due when its planned day ends (company time zone),
/// for its visitor, escalating to the level that approved the plan.
fn item_clock(i: &ItemOfPlan, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    let rule = if i.branch_level && rule == Rule::VisitPerform {
        Rule::VisitPerformBranch
    } else {
        rule
    };
    NewDeadline::new(
        rule,
        ("visit_plan_item", i.id),
        i.org_unit_id,
        now,
        (
            format!(
                "{} {} visit, plan #{}",
                i.item.kind, i.item.method, i.item.plan_id
            ),
            format!("/api/v1/visit-plans/{}", i.item.plan_id),
        ),
    )
    .held_by(i.item.visitor_id)
    .due_end_of(i.item.planned_on)
}

// ---- reading -----------------------------------------------------------

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("visit plan {id} not found"))
}

fn visible(actor: &Actor) -> Option<visit_plans::BoxedQuery<'static, MultiBackend>> {
    let query = visit_plans::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => {
            Some(query.filter(crate::in_subtree!(visit_plans::scope_path, &path)))
        }
        Scope::Customer(_) | Scope::Nothing => None,
    }
}

pub(crate) fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<VisitPlan> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(visit_plans::id.eq(id))
        .select(VisitPlan::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

fn items_of(conn: &mut DbConn, plan_id: i64) -> AppResult<Vec<PlanItem>> {
    Ok(visit_plan_items::table
        .filter(visit_plan_items::plan_id.eq(plan_id))
        .order((
            visit_plan_items::planned_on.asc(),
            visit_plan_items::id.asc(),
        ))
        .select(PlanItem::as_select())
        .load(conn)?)
}

/// The projects a plan covers: in its unit's subtree, under warranty on
/// some day of its period; with their warranty facts.
fn covered(
    conn: &mut DbConn,
    path: &str,
    (start, end): (NaiveDate, NaiveDate),
) -> AppResult<Vec<(Project, ProjectFacts)>> {
    let rows: Vec<Project> = projects::table
        .filter(crate::in_subtree!(projects::scope_path, path))
        .filter(diesel::dsl::exists(
            warranty_terms::table
                .filter(warranty_terms::project_id.eq(projects::id))
                .filter(warranty_terms::starts_on.le(end))
                .filter(warranty_terms::ends_on.ge(start)),
        ))
        .order(projects::id.asc())
        .select(Project::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let terms: Vec<(i64, NaiveDate, NaiveDate)> = warranty_terms::table
        .filter(warranty_terms::project_id.eq_any(&ids))
        .select((
            warranty_terms::project_id,
            warranty_terms::starts_on,
            warranty_terms::ends_on,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let mine: Vec<&(i64, NaiveDate, NaiveDate)> =
                terms.iter().filter(|t| t.0 == p.id).collect();
            let from = mine.iter().map(|t| t.1).min().unwrap_or(start);
            let to = mine.iter().map(|t| t.2).max().unwrap_or(start);
            let facts = ProjectFacts {
                project_id: p.id,
                completion_accepted_on: p.completion_accepted_on,
                handover_on: p.handover_on,
                is_key_project: p.is_key_project,
                hvac_in_scope: p.hvac_in_scope,
                systems_in_operation_on: p.systems_in_operation_on,
                warranty: (from, to),
                term_ends: mine.iter().map(|t| t.2).collect(),
            };
            (p, facts)
        })
        .collect())
}

fn rules_level(level: PlanLevel) -> Level {
    match level {
        PlanLevel::Branch => Level::Branch,
        PlanLevel::Project => Level::Project,
    }
}

/// The projects a plan covers with their facts, and everything they need.
type Needs = (Vec<(Project, ProjectFacts)>, Vec<Requirement>);

/// Every requirement of the plan's projects.
fn requirements_of(
    conn: &mut DbConn,
    config: &crate::config::Config,
    plan: &VisitPlan,
) -> AppResult<Needs> {
    let period = (plan.period_start, plan.period_end);
    let projects = covered(conn, &plan.scope_path, period)?;
    let level = rules_level(level_of(plan)?);
    let reqs = projects
        .iter()
        .flat_map(|(_, f)| plan_rules::requirements(level, period, f, config.heating_season))
        .collect();
    Ok((projects, reqs))
}

/// The plan's compliance report.
fn report_of(
    conn: &mut DbConn,
    config: &crate::config::Config,
    plan: &VisitPlan,
    items: &[PlanItem],
) -> AppResult<ComplianceReport> {
    let (projects, reqs) = requirements_of(conn, config, plan)?;
    let planned: Vec<(i64, NaiveDate, VisitMethod)> = items
        .iter()
        .filter(|i| i.status != PlanItemStatus::Replanned.as_str())
        .map(|i| Ok((i.project_id, i.planned_on, VisitMethod::from_db(&i.method)?)))
        .collect::<AppResult<_>>()?;
    let statuses = plan_rules::compliance(&reqs, &planned);
    let projects: Vec<ProjectCompliance> = projects
        .into_iter()
        .map(|(p, _)| {
            let requirements: Vec<RequirementStatus> = statuses
                .iter()
                .filter(|s| s.requirement.project_id == p.id)
                .cloned()
                .collect();
            ProjectCompliance {
                project_id: p.id,
                code: p.code,
                name: p.name,
                missing: requirements.iter().filter(|r| !r.met).count() as i64,
                requirements,
            }
        })
        .collect();
    Ok(ComplianceReport {
        compliant: projects.iter().all(|p| p.missing == 0),
        projects,
    })
}

fn detail(
    conn: &mut DbConn,
    config: &crate::config::Config,
    plan: VisitPlan,
) -> AppResult<VisitPlanDetail> {
    let items = items_of(conn, plan.id)?;
    let report = report_of(conn, config, &plan, &items)?;
    let mut serves = HashMap::new();
    for item in &items {
        let method = VisitMethod::from_db(&item.method)?;
        let rules: Vec<(PlanRule, String)> = report
            .projects
            .iter()
            .flat_map(|p| p.requirements.iter())
            .map(|s| &s.requirement)
            .filter(|r| r.met_by(item.project_id, item.planned_on, method))
            .map(|r| (r.rule, r.label.clone()))
            .collect();
        serves.insert(item.id, rules);
    }
    Ok(VisitPlanDetail {
        plan,
        items,
        report,
        serves,
    })
}

pub fn get(conn: &mut DbConn, ctx: Ctx<'_>, id: i64) -> AppResult<VisitPlanDetail> {
    let plan = load(conn, ctx.actor, id)?;
    detail(conn, ctx.config, plan)
}

pub fn compliance(conn: &mut DbConn, ctx: Ctx<'_>, id: i64) -> AppResult<ComplianceReport> {
    Ok(get(conn, ctx, id)?.report)
}

/// Plans the caller sees, newest first.
pub fn list(conn: &mut DbConn, actor: &Actor, page: Page) -> AppResult<Paged<VisitPlan>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(after) = page.after_id {
        query = query.filter(visit_plans::id.lt(after));
    }
    let rows = query
        .order(visit_plans::id.desc())
        .limit(page.limit + 1)
        .select(VisitPlan::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |p| p.id))
}

// ---- visitors ----------------------------------------------------------

/// The people of a plan's unit who visit: at a branch its engineering
/// department, leader and staff; at a project department its manager and
/// staff. With their rank.
fn unit_visitors(conn: &mut DbConn, plan: &VisitPlan) -> AppResult<Vec<(i64, Rank)>> {
    let roles: &[&str] = match level_of(plan)? {
        PlanLevel::Branch => &["branch_engineer", "branch_leader", "staff"],
        PlanLevel::Project => &["project_manager", "staff"],
    };
    let rows: Vec<(i64, Option<String>)> = users::table
        .filter(users::org_unit_id.eq(plan.org_unit_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(roles))
        .order(users::id.asc())
        .select((users::id, users::rank))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, rank)| {
            Ok((
                id,
                rank.as_deref()
                    .map(Rank::from_db)
                    .transpose()?
                    .unwrap_or(Rank::Staff),
            ))
        })
        .collect()
}

/// The rank each project's customer needs (000 §3), by project id.
fn needed_ranks(
    conn: &mut DbConn,
    config: &crate::config::Config,
    now: NaiveDateTime,
    project_ids: &[i64],
) -> AppResult<HashMap<i64, (Rank, String)>> {
    let rows: Vec<(i64, Customer)> = projects::table
        .inner_join(customers::table)
        .filter(projects::id.eq_any(project_ids))
        .select((projects::id, Customer::as_select()))
        .load(conn)?;
    let (pids, custs): (Vec<i64>, Vec<Customer>) = rows.into_iter().unzip();
    let profiles = customer_profiles::profiles(conn, config, now, custs)?;
    Ok(pids
        .into_iter()
        .zip(profiles)
        .map(|(pid, p)| {
            let tier = p
                .customer
                .grade
                .clone()
                .unwrap_or_else(|| "ungraded".into());
            (pid, (p.required_visitor_rank, tier))
        })
        .collect())
}

/// 422 unless `visitor` may visit the project's customer.
fn check_visitor(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    plan: &VisitPlan,
    project_id: i64,
    visitor: i64,
    field: &str,
) -> AppResult<()> {
    super::person_in_reach(conn, visitor, &plan.scope_path, field)?;
    let people = unit_visitors(conn, plan)?;
    let Some((_, rank)) = people.iter().find(|(id, _)| *id == visitor) else {
        return Err(AppError::rule(
            "visitor_not_of_unit",
            field,
            "not an active visitor (engineer, leader, manager or staff) of the plan's unit",
        ));
    };
    let needed = needed_ranks(conn, ctx.config, ctx.now, &[project_id])?;
    if let Some((required, tier)) = needed.get(&project_id) {
        if !rank.meets(*required) {
            return Err(AppError::rule(
                "visitor_rank_too_low",
                field,
                format!(
                    "the customer is tier {tier} and needs a visitor of rank {required} or above; this visitor is {rank}"
                ),
            ));
        }
    }
    Ok(())
}

// ---- commands ----------------------------------------------------------

/// Creates a draft plan; with `generate`, filled with the fewest visits
/// that meet every rule, each given an eligible visitor, spread evenly.
pub fn create(conn: &mut DbConn, ctx: Ctx<'_>, input: &NewVisitPlan) -> AppResult<VisitPlanDetail> {
    let Ctx { actor, config, now } = ctx;
    let (creation, kind) = match input.level {
        PlanLevel::Branch => ("compile_branch", OrgUnitKind::Branch),
        PlanLevel::Project => ("compile_project", OrgUnitKind::ProjectDepartment),
    };
    let birth = workflow::creation::<VisitPlanFlow>(actor, creation)?;
    let month = match (input.level, input.month) {
        (PlanLevel::Project, Some(m)) => m,
        (PlanLevel::Project, None) => {
            return Err(AppError::invalid("month", "a project plan is for a month"))
        }
        (PlanLevel::Branch, Some(_)) => {
            return Err(AppError::invalid(
                "month",
                "a branch plan is for the whole year",
            ))
        }
        (PlanLevel::Branch, None) => 0,
    };
    let (start, end) = plan_rules::period(
        rules_level(input.level),
        input.year,
        u32::try_from(month).ok().filter(|m| *m > 0),
    );
    write_tx(conn, |conn| {
        let unit: Option<(String, String)> = org_units::table
            .find(input.org_unit_id)
            .select((org_units::path, org_units::kind))
            .first(conn)
            .optional()?;
        let Some((path, unit_kind)) = unit.filter(|(p, _)| actor.scope().covers_path(p)) else {
            return Err(AppError::missing_reference(
                "org_unit_id",
                format!("org unit {} not found", input.org_unit_id),
            ));
        };
        if unit_kind != kind.as_str() {
            return Err(AppError::invalid(
                "org_unit_id",
                format!("a {} plan belongs to a {kind}", input.level),
            ));
        }
        let taken: i64 = visit_plans::table
            .filter(visit_plans::level.eq(input.level.as_str()))
            .filter(visit_plans::org_unit_id.eq(input.org_unit_id))
            .filter(visit_plans::year.eq(input.year))
            .filter(visit_plans::month.eq(month))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::conflict(
                "plan_exists",
                "this unit has its plan for this period already",
            ));
        }
        let (plan, _) = workflow::create::<VisitPlanFlow>(
            conn,
            ctx,
            birth,
            CreateRequest::default(),
            |conn, state| {
                Ok(diesel::insert_into(visit_plans::table)
                    .values((
                        visit_plans::level.eq(input.level.as_str()),
                        visit_plans::org_unit_id.eq(input.org_unit_id),
                        visit_plans::scope_path.eq(&path),
                        visit_plans::year.eq(input.year),
                        visit_plans::month.eq(month),
                        visit_plans::period_start.eq(start),
                        visit_plans::period_end.eq(end),
                        visit_plans::status.eq(state.as_str()),
                        visit_plans::created_by.eq(actor.id),
                        visit_plans::created_at.eq(now),
                        visit_plans::updated_at.eq(now),
                    ))
                    .returning(visit_plans::id)
                    .get_result(conn)?)
            },
            |_, _, _| Ok(()),
        )?;
        if input.generate {
            generate(conn, ctx, &plan)?;
        }
        let plan = load(conn, actor, plan.id)?;
        detail(conn, config, plan)
    })
}

/// Fills a plan with the placed visits and their visitors.
fn generate(conn: &mut DbConn, ctx: Ctx<'_>, plan: &VisitPlan) -> AppResult<()> {
    let Ctx { config, now, .. } = ctx;
    let (projects, reqs) = requirements_of(conn, config, plan)?;
    let marks = calendar::marks_for(conn, plan.period_start, 400)?;
    let placed = plan_rules::place(&reqs, |d| calendar::is_working_day(d, &marks));
    let people = unit_visitors(conn, plan)?;
    let ids: Vec<i64> = projects.iter().map(|(p, _)| p.id).collect();
    let needed = needed_ranks(conn, config, now, &ids)?;
    let mut load: HashMap<i64, usize> = people.iter().map(|(id, _)| (*id, 0)).collect();
    let mut missing = vec![];
    for v in &placed {
        let (rank, tier) = needed
            .get(&v.project_id)
            .cloned()
            .unwrap_or((Rank::Staff, String::new()));
        // the eligible person with the fewest visits so far
        let Some((visitor, _)) = people
            .iter()
            .filter(|(_, r)| r.meets(rank))
            .min_by_key(|(id, _)| (load.get(id).copied().unwrap_or(0), *id))
        else {
            let code = projects
                .iter()
                .find(|(p, _)| p.id == v.project_id)
                .map(|(p, _)| p.code.clone())
                .unwrap_or_default();
            missing.push(FieldError::new(
                format!("projects.{}", v.project_id),
                format!("{code}: the customer is tier {tier} and needs a visitor of rank {rank} or above; the unit has none"),
            ));
            continue;
        };
        *load.entry(*visitor).or_default() += 1;
        insert_item(
            conn,
            ctx,
            "plan",
            NewItem {
                plan_id: plan.id,
                project_id: v.project_id,
                kind: v.kind,
                method: v.method,
                planned_on: v.planned_on,
                visitor: *visitor,
                replaces: None,
            },
        )?;
    }
    if !missing.is_empty() {
        return Err(AppError::Rule {
            code: "no_eligible_visitor",
            detail: "some customers need a more senior visitor than the unit has".into(),
            errors: missing,
        });
    }
    Ok(())
}

/// What a new plan item is: its project, kind, method, day and visitor,
/// and the item it replaces when re-planned.
struct NewItem {
    plan_id: i64,
    project_id: i64,
    kind: VisitKind,
    method: VisitMethod,
    planned_on: NaiveDate,
    visitor: i64,
    replaces: Option<i64>,
}

/// Writes a plan item by its creation row (`plan` into a draft, `replan`
/// after a failed contact, whose task starts at once).
fn insert_item(conn: &mut DbConn, ctx: Ctx<'_>, creation: &str, new: NewItem) -> AppResult<i64> {
    let birth = workflow::creation::<PlanItemFlow>(ctx.actor, creation)?;
    let now = ctx.now;
    let (item, _) = workflow::create::<PlanItemFlow>(
        conn,
        ctx,
        birth,
        CreateRequest::default(),
        |conn, state| {
            Ok(diesel::insert_into(visit_plan_items::table)
                .values((
                    visit_plan_items::plan_id.eq(new.plan_id),
                    visit_plan_items::project_id.eq(new.project_id),
                    visit_plan_items::kind.eq(new.kind.as_str()),
                    visit_plan_items::method.eq(new.method.as_str()),
                    visit_plan_items::planned_on.eq(new.planned_on),
                    visit_plan_items::visitor_id.eq(new.visitor),
                    visit_plan_items::status.eq(state.as_str()),
                    visit_plan_items::replaces_item_id.eq(new.replaces),
                    visit_plan_items::created_at.eq(now),
                    visit_plan_items::updated_at.eq(now),
                ))
                .returning(visit_plan_items::id)
                .get_result(conn)?)
        },
        |_, _, _| Ok(()),
    )?;
    Ok(item.id)
}

/// A plan whose items may change: draft or returned, the compiler's role,
/// the version the client read. Bumps the plan's version.
fn editable(
    conn: &mut DbConn,
    actor: &Actor,
    plan_id: i64,
    expected: Option<IfMatch>,
    now: NaiveDateTime,
) -> AppResult<VisitPlan> {
    let plan = load(conn, actor, plan_id)?;
    workflow::may::<VisitPlanFlow>(conn, actor, &plan, VisitPlanAction::Submit)?;
    let status = ApprovalStatus::from_db(&plan.status)?;
    if !matches!(status, ApprovalStatus::Draft | ApprovalStatus::Returned) {
        return Err(AppError::conflict(
            "plan_not_editable",
            format!("the visit plan is {status}: items change while it is draft or returned"),
        ));
    }
    super::check_version(expected, plan.version)?;
    update_version!(conn, visit_plans, (plan.id, plan.version), now, ());
    Ok(plan)
}

fn check_item(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    plan: &VisitPlan,
    project_id: i64,
    planned_on: NaiveDate,
    visitor: i64,
) -> AppResult<()> {
    if planned_on < plan.period_start || planned_on > plan.period_end {
        return Err(AppError::invalid(
            "planned_on",
            format!(
                "must lie in the plan's period, {} to {}",
                plan.period_start, plan.period_end
            ),
        ));
    }
    let today = calendar::local_day(ctx.now, ctx.config.tz);
    if planned_on < today {
        return Err(AppError::invalid(
            "planned_on",
            format!("must not be before today ({today}): a visit is planned ahead"),
        ));
    }
    let covered = covered(conn, &plan.scope_path, (plan.period_start, plan.period_end))?;
    if !covered.iter().any(|(p, _)| p.id == project_id) {
        return Err(AppError::missing_reference(
            "project_id",
            format!("project {project_id} is not under warranty in this plan's unit and period"),
        ));
    }
    check_visitor(conn, ctx, plan, project_id, visitor, "visitor_id")
}

pub fn add_item(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    plan_id: i64,
    expected: Option<IfMatch>,
    input: &PlanItemInput,
) -> AppResult<VisitPlanDetail> {
    let Ctx { actor, config, now } = ctx;
    write_tx(conn, |conn| {
        let plan = editable(conn, actor, plan_id, expected, now)?;
        check_item(
            conn,
            ctx,
            &plan,
            input.project_id,
            input.planned_on,
            input.visitor_id,
        )?;
        insert_item(
            conn,
            ctx,
            "plan",
            NewItem {
                plan_id: plan.id,
                project_id: input.project_id,
                kind: input.kind,
                method: input.method,
                planned_on: input.planned_on,
                visitor: input.visitor_id,
                replaces: None,
            },
        )?;
        let plan = load(conn, actor, plan_id)?;
        detail(conn, config, plan)
    })
}

fn item_in(conn: &mut DbConn, plan_id: i64, item_id: i64) -> AppResult<PlanItem> {
    visit_plan_items::table
        .filter(visit_plan_items::id.eq(item_id))
        .filter(visit_plan_items::plan_id.eq(plan_id))
        .select(PlanItem::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("item {item_id} not found in plan {plan_id}")))
}

pub fn update_item(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    (plan_id, item_id): (i64, i64),
    expected: Option<IfMatch>,
    patch: &PlanItemPatch,
) -> AppResult<VisitPlanDetail> {
    let Ctx { actor, config, now } = ctx;
    write_tx(conn, |conn| {
        let plan = editable(conn, actor, plan_id, expected, now)?;
        let item = item_in(conn, plan_id, item_id)?;
        let planned_on = patch.planned_on.unwrap_or(item.planned_on);
        let visitor = patch.visitor_id.unwrap_or(item.visitor_id);
        check_item(conn, ctx, &plan, item.project_id, planned_on, visitor)?;
        diesel::update(visit_plan_items::table.find(item_id))
            .set((
                visit_plan_items::planned_on.eq(planned_on),
                visit_plan_items::visitor_id.eq(visitor),
                visit_plan_items::kind.eq(patch
                    .kind
                    .map_or(item.kind.clone(), |k| k.as_str().to_string())),
                visit_plan_items::method.eq(patch
                    .method
                    .map_or(item.method.clone(), |m| m.as_str().to_string())),
                visit_plan_items::version.eq(item.version + 1),
                visit_plan_items::updated_at.eq(now),
            ))
            .execute(conn)?;
        events::record(
            conn,
            now,
            Some(actor.id),
            EventType::VisitPlanItemChanged,
            "visit_plan",
            plan.id,
            serde_json::json!({ "item_id": item_id, "before": item,
                "after": { "planned_on": planned_on, "visitor_id": visitor } }),
        )?;
        let plan = load(conn, actor, plan_id)?;
        detail(conn, config, plan)
    })
}

pub fn remove_item(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    (plan_id, item_id): (i64, i64),
    expected: Option<IfMatch>,
) -> AppResult<VisitPlanDetail> {
    let Ctx { actor, config, now } = ctx;
    write_tx(conn, |conn| {
        let plan = editable(conn, actor, plan_id, expected, now)?;
        let item = item_in(conn, plan_id, item_id)?;
        diesel::delete(visit_plan_items::table.find(item_id)).execute(conn)?;
        events::record(
            conn,
            now,
            Some(actor.id),
            EventType::VisitPlanItemRemoved,
            "visit_plan",
            plan.id,
            serde_json::json!({ "item": item }),
        )?;
        let plan = load(conn, actor, plan_id)?;
        detail(conn, config, plan)
    })
}

/// Submits the plan for approval: refused with the report while it misses
/// a rule or a project (004 §5.2.4, risk R02).
pub fn submit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected: Option<IfMatch>,
    input: &PlanSubmissionInput,
) -> AppResult<VisitPlanDetail> {
    let now = ctx.now;
    let plan = workflow::run::<VisitPlanFlow>(
        conn,
        ctx,
        id,
        Request::new(
            VisitPlanAction::Submit,
            expected,
            input.late_reason.as_deref(),
        ),
        |conn, plan| {
            let items = items_of(conn, plan.id)?;
            let report = report_of(conn, ctx.config, plan, &items)?;
            if report.compliant {
                Ok(())
            } else {
                Err(report.refusal())
            }
        },
        |conn, before, _| {
            diesel::update(visit_plans::table.find(before.id))
                .set(visit_plans::submitted_at.eq(now))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, ctx.config, plan)
}

/// Midnight of 1 January in the company's time zone: when a branch's
/// yearly plan starts to be compiled (004 A.2 step 4.1: "at the start of
/// each year").
fn year_start(config: &Config, year: i32) -> NaiveDateTime {
    let day = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    calendar::local_midnight(day, config.tz)
}

/// Starts the `visit_plan.compile` clock of this year for every active
/// branch that existed when the year began and has not yet submitted its
/// plan for the year; run by each sweep, so a clock appears once the year
/// turns. Once per branch and year: a unique index stops a second
/// instance's sweep, and its attempt is dropped.
pub fn start_yearly_compile_clocks(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
) -> AppResult<usize> {
    use crate::db::schema::deadlines;
    let year = config.tz.from_utc_datetime(&now).year();
    let start = year_start(config, year);
    let branches: Vec<(i64, String)> = org_units::table
        .filter(org_units::kind.eq(OrgUnitKind::Branch.as_str()))
        .filter(org_units::active.eq(true))
        .filter(org_units::created_at.lt(start))
        .select((org_units::id, org_units::name))
        .load(conn)?;
    if branches.is_empty() {
        return Ok(0);
    }
    let started: Vec<i64> = deadlines::table
        .filter(deadlines::rule.eq(Rule::VisitPlanCompile.as_str()))
        .filter(deadlines::subject_type.eq("org_unit"))
        .filter(deadlines::started_at.eq(start))
        .select(deadlines::subject_id)
        .load(conn)?;
    let compiled: Vec<i64> = visit_plans::table
        .filter(visit_plans::level.eq(PlanLevel::Branch.as_str()))
        .filter(visit_plans::year.eq(year))
        .filter(visit_plans::status.eq_any([
            ApprovalStatus::Submitted.as_str(),
            ApprovalStatus::Approved.as_str(),
        ]))
        .select(visit_plans::org_unit_id)
        .load(conn)?;
    let mut count = 0;
    for (branch, name) in branches {
        if started.contains(&branch) || compiled.contains(&branch) {
            continue;
        }
        let clock = NewDeadline::new(
            Rule::VisitPlanCompile,
            ("org_unit", branch),
            branch,
            start,
            (
                format!("Compile the {year} visit plan of {name}"),
                format!("/api/v1/org-units/{branch}"),
            ),
        );
        // another instance's sweep may have started it a moment ago
        if workflow::calendar_clock(conn, config, now, clock)? {
            count += 1;
        }
    }
    Ok(count)
}

/// The approving level approves the plan (checked again: 422 with the
/// report) — each planned item becomes its visitor's task — or returns it.
pub fn review(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected: Option<IfMatch>,
    input: &PlanReviewInput,
) -> AppResult<VisitPlanDetail> {
    let Ctx { actor, config, now } = ctx;
    let action = match input.decision {
        ApprovalDecision::Approve => VisitPlanAction::Approve,
        ApprovalDecision::Return => VisitPlanAction::Return,
    };
    let comment = input
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let plan = workflow::run::<VisitPlanFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected, None),
        |conn, plan| {
            if action == VisitPlanAction::Return {
                return if comment.is_some() {
                    Ok(())
                } else {
                    Err(AppError::invalid("comment", "say what to change"))
                };
            }
            let items = items_of(conn, plan.id)?;
            if action == VisitPlanAction::Approve {
                // approved, each item becomes a task due when its day ends:
                // a day already past would be overdue at birth
                let today = calendar::local_day(now, config.tz);
                let past: Vec<FieldError> = items
                    .iter()
                    .filter(|i| {
                        i.status == PlanItemStatus::Planned.as_str() && i.planned_on < today
                    })
                    .map(|i| {
                        FieldError::new(
                            format!("items[{}].planned_on", i.id),
                            format!(
                                "item {} is planned for {}, before today ({today}): move it first",
                                i.id, i.planned_on
                            ),
                        )
                    })
                    .collect();
                if !past.is_empty() {
                    return Err(AppError::Rule {
                        code: "items_in_the_past",
                        detail: format!("{} planned visits fall before today; move or remove them before approving", past.len()),
                        errors: past,
                    });
                }
            }
            let report = report_of(conn, config, plan, &items)?;
            if report.compliant {
                Ok(())
            } else {
                Err(report.refusal())
            }
        },
        |conn, before, _| {
            diesel::update(visit_plans::table.find(before.id))
                .set((
                    visit_plans::reviewed_at.eq(now),
                    visit_plans::reviewed_by.eq(actor.id),
                    visit_plans::review_comment.eq(&comment),
                ))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, config, plan)
}

/// A visit recorded for a plan item (in the visit's transaction): the item
/// is done and its task settled (late only with the visit's `late_reason`);
/// when the owner could not be reached the item is re-planned as an on-site
/// visit within the same period (004 C03/C04), a new task of its visitor.
/// A visit that carries out a plan item, as recorded.
pub(crate) struct ItemVisit<'a> {
    pub visit_id: i64,
    pub project: &'a Project,
    pub kind: VisitKind,
    pub method: VisitMethod,
    pub visited_at: NaiveDateTime,
    pub contact_failed: bool,
    /// The people named on the record (the recorder when none is named).
    pub visitor_ids: &'a [i64],
}

/// A visit carries out an item only as planned: made by its visitor, or by
/// someone of at least the rank the customer needs who is named on the
/// record; of the item's kind and by its method; on a day of the plan's
/// period, not before the project's handover. 422 naming the field.
fn check_item_visit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    plan: &VisitPlan,
    item: &PlanItem,
    visit: &ItemVisit<'_>,
) -> AppResult<()> {
    let mut errors = vec![];
    if visit.kind.as_str() != item.kind {
        errors.push(FieldError::new(
            "kind",
            format!("plan item {} is a {} visit", item.id, item.kind),
        ));
    }
    if visit.method.as_str() != item.method {
        errors.push(FieldError::new(
            "method",
            format!("plan item {} is visited by {}", item.id, item.method),
        ));
    }
    let day = calendar::local_day(visit.visited_at, ctx.config.tz);
    if day < plan.period_start || day > plan.period_end {
        errors.push(FieldError::new(
            "visited_at",
            format!(
                "the plan covers {} to {}; a visit on {day} does not carry out its items",
                plan.period_start, plan.period_end
            ),
        ));
    } else if day < visit.project.handover_on {
        errors.push(FieldError::new(
            "visited_at",
            format!(
                "the project was handed over on {}; a visit before that is no return visit",
                visit.project.handover_on
            ),
        ));
    }
    if !visit.visitor_ids.contains(&item.visitor_id) {
        let needed = needed_ranks(conn, ctx.config, ctx.now, &[item.project_id])?;
        let required = needed.get(&item.project_id).map(|(r, _)| *r);
        let ranks: Vec<Option<String>> = users::table
            .filter(users::id.eq_any(visit.visitor_ids))
            .select(users::rank)
            .load(conn)?;
        let senior_enough = ranks.iter().any(|rank| {
            let rank = rank
                .as_deref()
                .and_then(|r| r.parse::<Rank>().ok())
                .unwrap_or(Rank::Staff);
            required.is_none_or(|req| rank.meets(req))
        });
        if !senior_enough {
            errors.push(FieldError::new(
                "plan_item_id",
                format!(
                    "plan item {} is user {}'s; another visitor carries it out only with the rank the customer needs ({}) and named on the record",
                    item.id,
                    item.visitor_id,
                    required.map_or("any".to_string(), |r| r.to_string())
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub(crate) fn record_item_visit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    item_id: i64,
    visit: &ItemVisit<'_>,
    late_reason: Option<&str>,
) -> AppResult<()> {
    let Ctx { actor, config, .. } = ctx;
    let (visit_id, project_id, contact_failed) =
        (visit.visit_id, visit.project.id, visit.contact_failed);
    let item: PlanItem = visit_plan_items::table
        .find(item_id)
        .select(PlanItem::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::missing_reference("plan_item_id", format!("plan item {item_id} not found"))
        })?;
    let plan = load(conn, actor, item.plan_id).map_err(|_| {
        AppError::missing_reference("plan_item_id", format!("plan item {item_id} not found"))
    })?;
    if item.project_id != project_id {
        return Err(AppError::rule(
            "plan_item_of_other_project",
            "plan_item_id",
            "the plan item is for another project",
        ));
    }
    if plan.status != ApprovalStatus::Approved.as_str()
        || item.status != PlanItemStatus::Planned.as_str()
    {
        return Err(AppError::conflict(
            "plan_item_not_open",
            format!(
                "plan item {item_id} is {} in a {} plan: only a planned item of an approved plan is visited",
                item.status, plan.status
            ),
        ));
    }
    check_item_visit(conn, ctx, &plan, &item, visit)?;
    let visited_on = calendar::local_day(visit.visited_at, config.tz);
    let action = if contact_failed {
        PlanItemAction::ContactFailed
    } else {
        PlanItemAction::Complete
    };
    // judged on the visit's own day, not when it is written down
    let request = Request {
        done_at: Some(visit.visited_at),
        ..Request::new(action, None, late_reason)
    };
    workflow::run_linked::<PlanItemFlow>(conn, ctx, item.id, request)?;
    diesel::update(visit_plan_items::table.find(item.id))
        .set((
            visit_plan_items::visit_id.eq(visit_id),
            visit_plan_items::done_on.eq(visited_on),
        ))
        .execute(conn)?;
    if contact_failed {
        // on site, the next working day within the period (its last day at the latest)
        let marks = calendar::marks_for(conn, visited_on, 30)?;
        let mut day = visited_on + Days::new(1);
        while day < plan.period_end && !calendar::is_working_day(day, &marks) {
            day = day + Days::new(1);
        }
        let day = day.min(plan.period_end).max(plan.period_start);
        insert_item(
            conn,
            ctx,
            "replan",
            NewItem {
                plan_id: plan.id,
                project_id: item.project_id,
                kind: VisitKind::from_db(&item.kind)?,
                method: VisitMethod::Onsite,
                planned_on: day,
                visitor: item.visitor_id,
                replaces: Some(item.id),
            },
        )?;
    }
    Ok(())
}
