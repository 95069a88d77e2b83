//! Rectification plans (专项整改方案, 004 §5.5–5.6) of complaints judged
//! ours and serious: written by the project department, reviewed by the
//! branch engineering department within 1 day (stating that the plan answers
//! every point of the complaint, control C03), approved by the branch leader
//! within 1 day, then carried out against its milestones, each a deadline
//! (control C04). One table on the transition kit.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::schema::{
    complaints as complaint_rows, rectification_milestones, rectification_plan_versions,
    rectification_plans, rectification_progress,
};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::attachments::{AttachmentPolicy, ENGINEERING};
use crate::models::attachment::SubjectType;
use crate::models::complaint::{
    ComplaintStatus, Milestone, MilestoneAction, MilestoneStatus, Plan, PlanAction, PlanStatus,
    PlanVersion, Progress,
};
use crate::models::deadline::Rule;
use crate::models::event::EventType;
use crate::models::user::Role;
use crate::services::{Approval, ApprovalDecision, IfMatch};

use super::complaints;
use super::trimmed;
use crate::kit::attachments;
use crate::kit::attachments::documents;
use crate::kit::deadlines::calendar;
use crate::kit::deadlines::NewDeadline;
use crate::kit::events;
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Does, Effect, Request, Transition};

// ---- requests ----------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"due_on": "2026-12-01", "description": "拆除原防水层 old waterproofing removed"}))]
pub struct MilestoneInput {
    /// The day it is done by (company time zone): its deadline ends with the day.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub due_on: NaiveDate,
    /// What is done by then.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub description: String,
}

/// What the plan puts to work (004 risk R02: resources with a basis).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"people": ["防水班组 6 人 waterproofing crew of 6"], "equipment": ["热熔机 torch"],
    "materials": ["SBS 卷材 120 m² SBS membrane"]}))]
pub struct Resources {
    /// Who does the work: at least one entry.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    pub people: Vec<String>,
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub equipment: Vec<String>,
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub materials: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "milestones": [
        {"due_on": "2026-12-01", "description": "拆除原防水层 old waterproofing removed"},
        {"due_on": "2026-12-08", "description": "新防水层完成并闭水试验 new layer laid, water test passed"}],
    "resources": {"people": ["防水班组 6 人 waterproofing crew of 6"], "equipment": ["热熔机 torch"], "materials": ["SBS 卷材 120 m²"]},
    "expected_result": "卫生间无渗漏，业主验收合格 no leak, accepted by the owner",
    "attachment_ids": []
}))]
pub struct NewPlan {
    /// At least a start and a finish, in date order.
    #[validate(length(min = 2, max = 30), nested)]
    #[schema(min_items = 2, max_items = 30)]
    pub milestones: Vec<MilestoneInput>,
    #[validate(nested)]
    pub resources: Resources,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub expected_result: String,
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

/// Changes to a plan being written or returned; absent stays.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expected_result": "卫生间无渗漏，闭水 48 小时合格 no leak after a 48-hour water test"}))]
pub struct PlanPatch {
    #[validate(length(min = 2, max = 30), nested)]
    #[schema(min_items = 2, max_items = 30)]
    pub milestones: Option<Vec<MilestoneInput>>,
    #[validate(nested)]
    pub resources: Option<Resources>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub expected_result: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct PlanSubmission {
    /// Uploads to attach to the plan with the submission.
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

/// The branch engineering department's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanReviewDecision {
    Pass,
    Return,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "pass", "covers_all_points": true, "comment": "方案完整 complete"}))]
pub struct PlanReview {
    pub decision: PlanReviewDecision,
    /// Whether the plan answers every point of the complaint (control C03);
    /// a pass with `false` is refused.
    pub covers_all_points: bool,
    /// Required when returning: what to change.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: Option<String>,
    /// Why the review comes after its 1 day; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "milestones": [
        {"due_on": "2026-12-01", "description": "拆除原防水层 old waterproofing removed"},
        {"due_on": "2026-12-15", "description": "新防水层完成并闭水试验 new layer laid, water test passed"}],
    "reason": "材料到货延迟一周 the membrane arrives a week late"
}))]
pub struct PlanRevision {
    /// The new milestones, in date order; a milestone already reported done
    /// stays done when its date and text are unchanged.
    #[validate(length(min = 2, max = 30), nested)]
    #[schema(min_items = 2, max_items = 30)]
    pub milestones: Vec<MilestoneInput>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reported_on": "2026-12-01", "percent": 40, "note": "原防水层已拆除 old layer removed",
    "resources_in_place": true, "milestones_done": [11]}))]
pub struct ProgressInput {
    /// The day the report describes (not after today).
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub reported_on: NaiveDate,
    #[validate(range(min = 0, max = 100))]
    #[schema(minimum = 0, maximum = 100)]
    pub percent: i32,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
    /// Whether the plan's people, equipment and materials are on site.
    pub resources_in_place: bool,
    /// Ids of the plan's current milestones done now: each settles its deadline.
    #[serde(default)]
    #[validate(length(max = 30))]
    #[schema(max_items = 30)]
    pub milestones_done: Vec<i64>,
    /// Why a milestone is reported done after its date; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

/// A plan with its current milestones and its progress reports.
#[derive(Debug)]
pub struct PlanDetail {
    pub plan: Plan,
    pub resources: Resources,
    /// The current revision's milestones, in order.
    pub milestones: Vec<Milestone>,
    /// Every milestone of every revision (their clocks are in the timeline).
    pub all_milestone_ids: Vec<i64>,
    pub progress: Vec<Progress>,
}

// ---- the workflow ------------------------------------------------------

/// Who writes plans and reports their progress: the project department.
const HANDLERS: &[Role] = crate::auth::DEPARTMENT;

pub struct PlanFlow;

static TABLE: &[Transition<PlanStatus, PlanAction, Plan>] = crate::transitions![PlanStatus, PlanAction;
    [Draft, Returned] Submit => Submitted, by HANDLERS,
        starts [RectificationReview], event RectificationPlanSubmitted;
    // the approval clock starts at the review, not the submission
    [Submitted] Pass => Reviewed, by &[Role::BranchEngineer],
        settles [RectificationReview], starts [RectificationApprove], event RectificationPlanReviewed;
    [Submitted] ReturnReview => Returned, by &[Role::BranchEngineer],
        settles [RectificationReview], event RectificationPlanReturned;
    // the plan in force: its milestones become deadlines, its complaint rectifying
    [Reviewed] Approve => Approved, by &[Role::BranchLeader],
        settles [RectificationApprove], effects [COMPLAINT_RECTIFYING, MILESTONES_SCHEDULED],
        event RectificationPlanApproved;
    [Reviewed] ReturnApproval => Returned, by &[Role::BranchLeader],
        settles [RectificationApprove], event RectificationPlanReturned;
    // a complaint sent to the group: its plan is reviewed and approved
    // again (004 §5.5.4); on another the revision is recorded, the plan
    // stays in force and its new milestones run at once
    [Approved] Revise when "sent to the group" sent_to_group => Submitted, by HANDLERS,
        starts [RectificationReview], event RectificationPlanRevised;
    [Approved] Revise when "kept by the branch" kept_by_branch => Approved, by HANDLERS,
        effects [MILESTONES_SCHEDULED], event RectificationPlanRevised;
    // against the plan in force only: one under re-review after a revision
    // has no milestone clocks until it is approved again
    [Approved] ReportProgress => Approved, by HANDLERS, event RectificationPlanProgress;
];

/// The plan's complaint went to the group (投诉至集团).
fn sent_to_group(conn: &mut DbConn, plan: &Plan) -> AppResult<bool> {
    use crate::db::schema::complaints as complaint_rows;
    Ok(complaint_rows::table
        .find(plan.complaint_id)
        .select(complaint_rows::sent_to_group)
        .first(conn)?)
}

fn kept_by_branch(conn: &mut DbConn, plan: &Plan) -> AppResult<bool> {
    Ok(!sent_to_group(conn, plan)?)
}

/// The project department writes the plan of a complaint awaiting one.
static CREATIONS: &[Creation<PlanStatus>] = crate::creations![PlanStatus;
    "write" => Draft, by HANDLERS, event RectificationPlanCreated;
];

/// The plan's approval moves its complaint on (a plan approved again after
/// a revision finds it rectifying already).
const COMPLAINT_RECTIFYING: Effect = Effect {
    on: "complaint",
    when: &["awaiting_plan"],
    does: Does::Step("start_rectification", complaints::start_rectification),
};

/// The plan in force: every open milestone gets its deadline.
const MILESTONES_SCHEDULED: Effect = Effect {
    on: "rectification_milestone",
    when: &["open"],
    does: Does::Step("schedule", schedule_milestone),
};

/// The complaint closed satisfied: milestones never reported no longer
/// wait for anyone.
pub(crate) const MILESTONES_ABANDONED: Effect = Effect {
    on: "rectification_milestone",
    when: &["open"],
    does: Does::Step("abandon", abandon_milestone),
};

fn schedule_milestone(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, _: Option<&str>) -> AppResult<()> {
    milestone_step(conn, ctx, id, MilestoneAction::Schedule, None)
}

fn abandon_milestone(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, _: Option<&str>) -> AppResult<()> {
    milestone_step(conn, ctx, id, MilestoneAction::Abandon, None)
}

fn milestone_step(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    action: MilestoneAction,
    late_reason: Option<&str>,
) -> AppResult<()> {
    workflow::run_linked::<MilestoneFlow>(conn, ctx, id, Request::new(action, None, late_reason))?;
    Ok(())
}

/// The current milestones of the complaint's plan, with their states.
pub(crate) fn milestones_of_complaint(
    conn: &mut DbConn,
    complaint_id: i64,
) -> AppResult<Vec<(i64, String)>> {
    Ok(rectification_milestones::table
        .inner_join(rectification_plans::table)
        .filter(rectification_plans::complaint_id.eq(complaint_id))
        .filter(rectification_milestones::current.eq(true))
        .order(rectification_milestones::id.asc())
        .select((
            rectification_milestones::id,
            rectification_milestones::status,
        ))
        .load(conn)?)
}

/// A milestone of a plan, with what its deadline needs to know: the plan,
/// the department that carries it out and whether the complaint went to
/// the group (its deadline then escalates to the group too).
#[derive(Debug, Clone, Serialize)]
pub struct PlanMilestone {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub version: i32,
    #[serde(skip)]
    pub status: String,
    #[serde(flatten)]
    pub milestone: Milestone,
    pub complaint_id: i64,
    #[serde(skip)]
    pub department_id: i64,
    #[serde(skip)]
    pub sent_to_group: bool,
}

fn plan_milestone(
    conn: &mut DbConn,
    plan: &Plan,
    milestone: Milestone,
) -> AppResult<PlanMilestone> {
    let sent_to_group: bool = complaint_rows::table
        .find(plan.complaint_id)
        .select(complaint_rows::sent_to_group)
        .first(conn)?;
    Ok(PlanMilestone {
        id: milestone.id,
        version: milestone.version,
        status: milestone.status.clone(),
        complaint_id: plan.complaint_id,
        department_id: plan.project_department_id,
        sent_to_group,
        milestone,
    })
}

fn find_milestone(conn: &mut DbConn, actor: Option<&Actor>, id: i64) -> AppResult<PlanMilestone> {
    let milestone: Milestone = rectification_milestones::table
        .find(id)
        .select(Milestone::as_select())
        .first(conn)?;
    let plan = match actor {
        Some(actor) => load(conn, actor, milestone.plan_id)?,
        None => rectification_plans::table
            .find(milestone.plan_id)
            .select(Plan::as_select())
            .first(conn)?,
    };
    plan_milestone(conn, &plan, milestone)
}

/// A milestone's small life cycle, each step taken inside a step of its
/// plan (written, scheduled when the plan is in force, reported done,
/// replaced by a revision) or of its complaint (abandoned on a satisfied
/// close).
pub struct MilestoneFlow;

/// Both milestone rules: a complaint sent to the group runs the group's.
static MILESTONE_TABLE: &[Transition<MilestoneStatus, MilestoneAction, PlanMilestone>] = crate::transitions![MilestoneStatus, MilestoneAction;
    // by the approval, or at once by a revision of a plan that stays in force
    [Open] Schedule => Open, by &[Role::BranchLeader, Role::ProjectManager, Role::Staff],
        starts [RectificationMilestone], event RectificationPlanMilestoneScheduled;
    [Open] ReportDone => Done, by HANDLERS,
        settles [RectificationMilestone, RectificationMilestoneGroup],
        event RectificationPlanMilestoneDone;
    [Open] Replace => Replaced, by HANDLERS,
        cancels [RectificationMilestone, RectificationMilestoneGroup],
        event RectificationPlanMilestoneReplaced;
    [Open] Abandon => Cancelled, by &[Role::BranchEngineer, Role::Customer],
        cancels [RectificationMilestone, RectificationMilestoneGroup],
        event RectificationPlanMilestoneCancelled;
];

/// Milestones are written with the plan's content; one already done stays
/// done in the next revision when its date and text are unchanged.
static MILESTONE_CREATIONS: &[Creation<MilestoneStatus>] = crate::creations![MilestoneStatus;
    "write" => Open, by HANDLERS, event RectificationPlanMilestoneWritten;
    "carry_done" => Done, by HANDLERS, event RectificationPlanMilestoneWritten;
];

crate::workflow! {
    MilestoneFlow {
        name: "milestone",
        subject: PlanMilestone as "rectification_milestone",
        state: MilestoneStatus = rectification_milestones.status,
        action: MilestoneAction,
        table: MILESTONE_TABLE,
        creations: MILESTONE_CREATIONS,
        load: |conn, actor, id| find_milestone(conn, Some(actor), id),
        clock: |m, rule, now| milestone_clock(m, rule, now),
        find: |conn, id| find_milestone(conn, None, id),
        event_subject: |m| ("rectification_plan", m.milestone.plan_id),
    }
}

/// A milestone's deadline: due when its date ends in the company's time
/// zone, for the project department, escalating to the branch (and the
/// group for a group complaint).
fn milestone_clock(m: &PlanMilestone, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    let rule = if m.sent_to_group && rule == Rule::RectificationMilestone {
        Rule::RectificationMilestoneGroup
    } else {
        rule
    };
    let summary: String = m.milestone.description.chars().take(40).collect();
    NewDeadline::new(
        rule,
        ("rectification_milestone", m.id),
        m.department_id,
        now,
        (
            format!(
                "Milestone {} of the plan for complaint #{}: {summary}",
                m.milestone.position + 1,
                m.complaint_id
            ),
            format!("/api/v1/rectification-plans/{}", m.milestone.plan_id),
        ),
    )
    .due_end_of(m.milestone.due_on)
}

/// A plan's attachments: the plan is the department's document, reviewed
/// by engineering; customers never see it.
pub const ATTACHMENTS: AttachmentPolicy = AttachmentPolicy {
    stewards: ENGINEERING,
    department_stewards: true,
    writers_steward: false,
    customer_adds: false,
};

crate::workflow! {
    PlanFlow {
        name: "rectification plan",
        subject: Plan as "rectification_plan",
        state: PlanStatus = rectification_plans.status,
        action: PlanAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        clock: |p, rule, now| {
        let what = if rule == Rule::RectificationApprove {
                    "Approve"
                } else {
                    "Review"
                };
                NewDeadline::new(
                    rule,
                    ("rectification_plan", p.id),
                    p.branch_id,
                    now,
                    (format!(
                        "{what} the rectification plan of complaint #{}",
                        p.complaint_id
                    ), format!("/api/v1/rectification-plans/{}", p.id)),
                )
            },
        linked: |conn, p, on| match on {
            "complaint" => Ok(complaint_rows::table
                .find(p.complaint_id)
                .select((complaint_rows::id, complaint_rows::status))
                .load(conn)?),
            _ => milestones_of_complaint(conn, p.complaint_id),
        },
    }
}

// ---- reading -----------------------------------------------------------

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("rectification plan {id} not found"))
}

/// The plan in the caller's scope; customer accounts see none.
pub(crate) fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Plan> {
    let query = rectification_plans::table.into_boxed::<MultiBackend>();
    let query = match actor.scope() {
        Scope::All => query,
        Scope::OrgSubtree(path) => {
            query.filter(crate::in_subtree!(rectification_plans::scope_path, &path))
        }
        Scope::Customer(_) | Scope::Nothing => return Err(not_found(id)),
    };
    query
        .filter(rectification_plans::id.eq(id))
        .select(Plan::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

fn detail(conn: &mut DbConn, plan: Plan) -> AppResult<PlanDetail> {
    let resources: Resources = serde_json::from_str(&plan.resources).map_err(AppError::internal)?;
    let all: Vec<Milestone> = rectification_milestones::table
        .filter(rectification_milestones::plan_id.eq(plan.id))
        .order((
            rectification_milestones::revision.asc(),
            rectification_milestones::position.asc(),
        ))
        .select(Milestone::as_select())
        .load(conn)?;
    let progress = rectification_progress::table
        .filter(rectification_progress::plan_id.eq(plan.id))
        .order(rectification_progress::id.asc())
        .select(Progress::as_select())
        .load(conn)?;
    Ok(PlanDetail {
        plan,
        resources,
        all_milestone_ids: all.iter().map(|m| m.id).collect(),
        milestones: all.into_iter().filter(|m| m.current).collect(),
        progress,
    })
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<PlanDetail> {
    let plan = load(conn, actor, id)?;
    detail(conn, plan)
}

/// The plan of a complaint the caller has already been shown.
pub(crate) fn for_complaint(conn: &mut DbConn, complaint_id: i64) -> AppResult<Option<PlanDetail>> {
    let plan: Option<Plan> = rectification_plans::table
        .filter(rectification_plans::complaint_id.eq(complaint_id))
        .select(Plan::as_select())
        .first(conn)
        .optional()?;
    plan.map(|p| detail(conn, p)).transpose()
}

/// Every version of the plan's content, oldest first.
pub fn versions(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Vec<PlanVersion>> {
    load(conn, actor, id)?;
    Ok(rectification_plan_versions::table
        .filter(rectification_plan_versions::plan_id.eq(id))
        .order(rectification_plan_versions::revision.asc())
        .select(PlanVersion::as_select())
        .load(conn)?)
}

// ---- content -----------------------------------------------------------

/// Milestones must run in date order: the start first, the finish last.
fn check_milestones(milestones: &[MilestoneInput]) -> AppResult<()> {
    let mut errors = vec![];
    for (i, pair) in milestones.windows(2).enumerate() {
        if pair[1].due_on < pair[0].due_on {
            errors.push(FieldError::new(
                format!("milestones[{}].due_on", i + 1),
                "milestones run in date order: this one falls before the one above it",
            ));
        }
    }
    for (i, m) in milestones.iter().enumerate() {
        if m.description.trim().is_empty() {
            errors.push(FieldError::new(
                format!("milestones[{i}].description"),
                "say what is done by then",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The longest entry of a plan's resources (a person, a machine, a material).
pub const RESOURCE_CHARS: usize = 200;

fn check_resources(resources: &Resources) -> AppResult<()> {
    for (field, list) in [
        ("resources.people", &resources.people),
        ("resources.equipment", &resources.equipment),
        ("resources.materials", &resources.materials),
    ] {
        if list
            .iter()
            .any(|entry| entry.chars().count() > RESOURCE_CHARS)
        {
            return Err(AppError::invalid(
                field,
                format!("each entry must be at most {RESOURCE_CHARS} characters"),
            ));
        }
    }
    if resources.people.iter().all(|p| p.trim().is_empty()) {
        return Err(AppError::invalid(
            "resources.people",
            "name who does the work (004 risk R02: resources without a basis)",
        ));
    }
    Ok(())
}

fn json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

/// Writes a new revision of the plan's content: its version row, and its
/// milestones in place of the previous ones. A milestone already done stays
/// done when its date and text are unchanged.
#[allow(clippy::too_many_arguments)]
fn write_revision(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    plan_id: i64,
    revision: i32,
    milestones: &[MilestoneInput],
    resources: &str,
    expected_result: &str,
    reason: Option<&str>,
) -> AppResult<()> {
    let ctx = Ctx { actor, config, now };
    let previous: Vec<Milestone> = rectification_milestones::table
        .filter(rectification_milestones::plan_id.eq(plan_id))
        .filter(rectification_milestones::current.eq(true))
        .select(Milestone::as_select())
        .load(conn)?;
    diesel::update(
        rectification_milestones::table
            .filter(rectification_milestones::plan_id.eq(plan_id))
            .filter(rectification_milestones::current.eq(true)),
    )
    .set(rectification_milestones::current.eq(false))
    .execute(conn)?;
    // the replaced ones no longer run (done ones stay done)
    for old in previous
        .iter()
        .filter(|m| m.status == MilestoneStatus::Open.as_str())
    {
        milestone_step(conn, ctx, old.id, MilestoneAction::Replace, None)?;
    }
    for (position, m) in milestones.iter().enumerate() {
        let description = m.description.trim();
        let done_on = previous
            .iter()
            .find(|p| p.due_on == m.due_on && p.description == description)
            .and_then(|p| p.done_on);
        let birth = workflow::creation::<MilestoneFlow>(
            actor,
            if done_on.is_some() {
                "carry_done"
            } else {
                "write"
            },
        )?;
        workflow::create::<MilestoneFlow>(
            conn,
            ctx,
            birth,
            CreateRequest::default(),
            |conn, state| {
                Ok(diesel::insert_into(rectification_milestones::table)
                    .values((
                        rectification_milestones::plan_id.eq(plan_id),
                        rectification_milestones::revision.eq(revision),
                        rectification_milestones::position.eq(i32::try_from(position).unwrap_or(0)),
                        rectification_milestones::due_on.eq(m.due_on),
                        rectification_milestones::description.eq(description),
                        rectification_milestones::done_on.eq(done_on),
                        rectification_milestones::current.eq(true),
                        rectification_milestones::status.eq(state.as_str()),
                        rectification_milestones::updated_at.eq(now),
                    ))
                    .returning(rectification_milestones::id)
                    .get_result(conn)?)
            },
            |_, _, _| Ok(()),
        )?;
    }
    let trimmed: Vec<MilestoneInput> = milestones
        .iter()
        .map(|m| MilestoneInput {
            due_on: m.due_on,
            description: m.description.trim().to_string(),
        })
        .collect();
    diesel::insert_into(rectification_plan_versions::table)
        .values((
            rectification_plan_versions::plan_id.eq(plan_id),
            rectification_plan_versions::revision.eq(revision),
            rectification_plan_versions::milestones.eq(json(&trimmed)?),
            rectification_plan_versions::resources.eq(resources),
            rectification_plan_versions::expected_result.eq(expected_result),
            rectification_plan_versions::reason.eq(reason),
            rectification_plan_versions::changed_by.eq(actor.id),
            rectification_plan_versions::changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn current_milestones(conn: &mut DbConn, plan_id: i64) -> AppResult<Vec<MilestoneInput>> {
    let rows: Vec<Milestone> = rectification_milestones::table
        .filter(rectification_milestones::plan_id.eq(plan_id))
        .filter(rectification_milestones::current.eq(true))
        .order(rectification_milestones::position.asc())
        .select(Milestone::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|m| MilestoneInput {
            due_on: m.due_on,
            description: m.description,
        })
        .collect())
}

// ---- commands ----------------------------------------------------------

/// The project department writes the plan of a complaint judged serious.
pub fn create(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    complaint_id: i64,
    input: &NewPlan,
) -> AppResult<PlanDetail> {
    let Ctx { actor, config, now } = ctx;
    let birth = workflow::creation::<PlanFlow>(actor, "write")?;
    check_milestones(&input.milestones)?;
    check_resources(&input.resources)?;
    let expected = input.expected_result.trim();
    if expected.is_empty() {
        return Err(AppError::invalid(
            "expected_result",
            "say what the rectification must achieve",
        ));
    }
    write_tx(conn, |conn| {
        let complaint = complaints::load(conn, actor, complaint_id)?;
        if complaint.status != ComplaintStatus::AwaitingPlan.as_str() {
            return Err(AppError::conflict(
                "complaint_not_awaiting_plan",
                format!(
                    "complaint {complaint_id} is {}: a rectification plan is written for a complaint judged ours and serious, while it awaits its plan",
                    complaint.status
                ),
            ));
        }
        let exists: i64 = rectification_plans::table
            .filter(rectification_plans::complaint_id.eq(complaint_id))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            return Err(AppError::conflict(
                "plan_exists",
                format!(
                    "complaint {complaint_id} has its rectification plan already; change that one"
                ),
            ));
        }
        let project = super::projects::get(conn, actor, complaint.project_id)?;
        let resources = json(&input.resources)?;
        let (plan, _) = workflow::create::<PlanFlow>(
            conn,
            ctx,
            birth,
            CreateRequest::default(),
            |conn, state| {
                Ok(diesel::insert_into(rectification_plans::table)
                    .values((
                        rectification_plans::complaint_id.eq(complaint_id),
                        rectification_plans::branch_id.eq(project.branch_id),
                        rectification_plans::project_department_id
                            .eq(project.project_department_id),
                        rectification_plans::scope_path.eq(&complaint.scope_path),
                        rectification_plans::status.eq(state.as_str()),
                        rectification_plans::revision.eq(1),
                        rectification_plans::resources.eq(&resources),
                        rectification_plans::expected_result.eq(expected),
                        rectification_plans::created_by.eq(actor.id),
                        rectification_plans::created_at.eq(now),
                        rectification_plans::updated_at.eq(now),
                    ))
                    .returning(rectification_plans::id)
                    .get_result(conn)?)
            },
            |_, _, _| Ok(()),
        )?;
        let id = plan.id;
        write_revision(
            conn,
            actor,
            config,
            now,
            id,
            1,
            &input.milestones,
            &resources,
            expected,
            None,
        )?;
        attachments::attach(
            conn,
            actor,
            config,
            now,
            (SubjectType::RectificationPlan, id),
            &documents(&input.attachment_ids),
            "attachment_ids",
        )?;
        let plan = load(conn, actor, id)?;
        detail(conn, plan)
    })
}

/// Changes a plan while it is being written or after it was returned.
pub fn update(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &PlanPatch,
) -> AppResult<PlanDetail> {
    let Ctx { actor, config, now } = ctx;
    if let Some(m) = &patch.milestones {
        check_milestones(m)?;
    }
    if let Some(r) = &patch.resources {
        check_resources(r)?;
    }
    write_tx(conn, |conn| {
        let plan = load(conn, actor, id)?;
        actor.require(HANDLERS)?;
        let status = PlanStatus::from_db(&plan.status)?;
        if !matches!(status, PlanStatus::Draft | PlanStatus::Returned) {
            return Err(AppError::conflict(
                "plan_not_editable",
                format!("the rectification plan is {status}: it is changed while draft or returned (after approval: a revision)"),
            ));
        }
        super::check_version(expected_version, plan.version)?;
        let resources = match &patch.resources {
            Some(r) => json(r)?,
            None => plan.resources.clone(),
        };
        let expected = trimmed(patch.expected_result.as_deref())
            .unwrap_or_else(|| plan.expected_result.clone());
        let milestones = match &patch.milestones {
            Some(m) => m.clone(),
            None => current_milestones(conn, id)?,
        };
        let revision = plan.revision + 1;
        update_version!(
            conn,
            rectification_plans,
            (id, plan.version),
            now,
            (
                rectification_plans::revision.eq(revision),
                rectification_plans::resources.eq(&resources),
                rectification_plans::expected_result.eq(&expected),
            )
        );
        write_revision(
            conn,
            actor,
            config,
            now,
            id,
            revision,
            &milestones,
            &resources,
            &expected,
            None,
        )?;
        let after = load(conn, actor, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::RectificationPlanChanged,
            ("rectification_plan", id),
            Some(serde_json::to_value(&plan).unwrap_or_default()),
            Some(serde_json::to_value(&after).unwrap_or_default()),
        )?;
        detail(conn, after)
    })
}

/// The project department submits the plan: the branch reviews within 1 day.
pub fn submit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &PlanSubmission,
) -> AppResult<PlanDetail> {
    let Ctx { actor, config, now } = ctx;
    let docs = documents(&input.attachment_ids);
    let plan = workflow::run::<PlanFlow>(
        conn,
        ctx,
        id,
        Request::new(PlanAction::Submit, expected_version, None),
        |_, _| Ok(()),
        |conn, before, _| {
            diesel::update(rectification_plans::table.find(before.id))
                .set(rectification_plans::submitted_at.eq(now))
                .execute(conn)?;
            attachments::attach(
                conn,
                actor,
                config,
                now,
                (SubjectType::RectificationPlan, before.id),
                &docs,
                "attachment_ids",
            )?;
            Ok(())
        },
    )?;
    detail(conn, plan)
}

/// The branch engineering department passes the plan (it answers every
/// point of the complaint) or returns it.
pub fn review(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &PlanReview,
) -> AppResult<PlanDetail> {
    let Ctx { actor, now, .. } = ctx;
    let action = match input.decision {
        PlanReviewDecision::Pass => PlanAction::Pass,
        PlanReviewDecision::Return => PlanAction::ReturnReview,
    };
    let comment = trimmed(input.comment.as_deref());
    let plan = workflow::run::<PlanFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, input.late_reason.as_deref()),
        |_, _| {
            if action == PlanAction::Pass && !input.covers_all_points {
                return Err(AppError::rule(
                    "plan_incomplete",
                    "covers_all_points",
                    "a plan that does not answer every point of the complaint cannot pass review; return it with what is missing (control C03)",
                ));
            }
            if action == PlanAction::ReturnReview && comment.is_none() {
                return Err(AppError::invalid(
                    "comment",
                    "say what to change when returning a plan",
                ));
            }
            Ok(())
        },
        |conn, before, _| {
            diesel::update(rectification_plans::table.find(before.id))
                .set((
                    rectification_plans::reviewed_at.eq(now),
                    rectification_plans::reviewed_by.eq(actor.id),
                    rectification_plans::review_comment.eq(&comment),
                    rectification_plans::covers_all_points.eq(input.covers_all_points),
                ))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, plan)
}

/// The branch leader approves the plan (its milestones become deadlines and
/// the complaint `rectifying`) or returns it.
pub fn approve(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &Approval,
) -> AppResult<PlanDetail> {
    let Ctx { actor, now, .. } = ctx;
    let action = match input.decision {
        ApprovalDecision::Approve => PlanAction::Approve,
        ApprovalDecision::Return => PlanAction::ReturnApproval,
    };
    let comment = trimmed(input.comment.as_deref());
    let plan = workflow::run::<PlanFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, input.late_reason.as_deref()),
        |_, _| {
            if action == PlanAction::ReturnApproval && comment.is_none() {
                return Err(AppError::invalid(
                    "comment",
                    "say what to change when returning a plan",
                ));
            }
            Ok(())
        },
        |conn, before, _| {
            diesel::update(rectification_plans::table.find(before.id))
                .set((
                    rectification_plans::approved_at.eq(now),
                    rectification_plans::approved_by.eq(actor.id),
                    rectification_plans::approval_comment.eq(&comment),
                ))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, plan)
}

/// Milestones changed after approval (004 §5.5.4). For a complaint sent to
/// the group the plan is reviewed and approved again (the new milestones'
/// clocks start at that approval); otherwise the revision is recorded, the
/// plan stays approved and the new milestones' clocks start now.
pub fn revise(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &PlanRevision,
) -> AppResult<PlanDetail> {
    let Ctx { actor, config, now } = ctx;
    check_milestones(&input.milestones)?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "say why the milestones change"));
    }
    let new_revision = |conn: &mut DbConn, plan: &Plan| -> AppResult<()> {
        let revision = plan.revision + 1;
        diesel::update(rectification_plans::table.find(plan.id))
            .set(rectification_plans::revision.eq(revision))
            .execute(conn)?;
        write_revision(
            conn,
            actor,
            config,
            now,
            plan.id,
            revision,
            &input.milestones,
            &plan.resources,
            &plan.expected_result,
            Some(&reason),
        )
    };
    let plan = workflow::run::<PlanFlow>(
        conn,
        ctx,
        id,
        Request::new(PlanAction::Revise, expected_version, None),
        |_, _| Ok(()),
        |conn, before, _| new_revision(conn, before),
    )?;
    detail(conn, plan)
}

/// The project department reports progress against the approved plan;
/// milestones reported done settle their deadlines (late ones need a reason).
pub fn report_progress(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &ProgressInput,
) -> AppResult<PlanDetail> {
    let Ctx { actor, config, now } = ctx;
    let note = input.note.trim().to_string();
    if note.is_empty() {
        return Err(AppError::invalid("note", "say where the work stands"));
    }
    if input.reported_on > calendar::local_day(now, config.tz) {
        return Err(AppError::invalid("reported_on", "must not be after today"));
    }
    let check = |conn: &mut DbConn, plan: &Plan| -> AppResult<()> {
        let complaint = complaints::load(conn, actor, plan.complaint_id)?;
        if complaint.closed_at.is_some() {
            return Err(AppError::conflict(
                "complaint_closed",
                format!(
                    "complaint #{} is {}: its plan takes no more progress",
                    complaint.id, complaint.status
                ),
            ));
        }
        let current: Vec<Milestone> = rectification_milestones::table
            .filter(rectification_milestones::plan_id.eq(plan.id))
            .filter(rectification_milestones::current.eq(true))
            .select(Milestone::as_select())
            .load(conn)?;
        let mut errors = vec![];
        for (i, mid) in input.milestones_done.iter().enumerate() {
            match current.iter().find(|m| m.id == *mid) {
                None => errors.push(FieldError::new(
                    format!("milestones_done[{i}]"),
                    "not a current milestone of this plan",
                )),
                Some(m) if m.done_on.is_some() => errors.push(FieldError::new(
                    format!("milestones_done[{i}]"),
                    "reported done already",
                )),
                Some(_) if input.milestones_done[..i].contains(mid) => errors.push(
                    FieldError::new(format!("milestones_done[{i}]"), "named twice"),
                ),
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(errors))
        }
    };
    let apply = |conn: &mut DbConn, _: &Plan, _: &workflow::Outcome<PlanStatus>| -> AppResult<()> {
        for mid in &input.milestones_done {
            milestone_step(
                conn,
                ctx,
                *mid,
                MilestoneAction::ReportDone,
                input.late_reason.as_deref(),
            )?;
            diesel::update(rectification_milestones::table.find(*mid))
                .set(rectification_milestones::done_on.eq(input.reported_on))
                .execute(conn)?;
        }
        diesel::insert_into(rectification_progress::table)
            .values((
                rectification_progress::plan_id.eq(id),
                rectification_progress::reported_on.eq(input.reported_on),
                rectification_progress::percent.eq(input.percent),
                rectification_progress::note.eq(&note),
                rectification_progress::resources_in_place.eq(input.resources_in_place),
                rectification_progress::milestones_done.eq(json(&input.milestones_done)?),
                rectification_progress::reported_by.eq(actor.id),
                rectification_progress::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(rectification_plans::table.find(id))
            .set(rectification_plans::progress_percent.eq(input.percent))
            .execute(conn)?;
        attachments::attach(
            conn,
            actor,
            config,
            now,
            (SubjectType::RectificationPlan, id),
            &documents(&input.attachment_ids),
            "attachment_ids",
        )?;
        Ok(())
    };
    let request = Request::new(PlanAction::ReportProgress, expected_version, None);
    let plan = workflow::run::<PlanFlow>(conn, ctx, id, request, check, apply)?;
    detail(conn, plan)
}
