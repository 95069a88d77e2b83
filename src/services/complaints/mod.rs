//! Complaints (客户投诉, 004 §5.4–5.8 and appendix B): registered at once,
//! liability judged within 2 days, filed with the group when ours, handled
//! directly (minor) or by an approved rectification plan (serious, see
//! `services::rectification`), revisited within 3 days of the resolution
//! (001) and closed when the customer is satisfied. Two tables on the
//! transition kit: the complaint's own, and the group's filing beside it.

use chrono::{DateTime, Duration, Months, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::config::Config;
use crate::db::schema::{
    complaint_evaluations, complaint_replies, complaint_resolutions, complaints, deadlines, events,
};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::attachments::{AttachmentPolicy, ENGINEERING};
use crate::models::attachment::SubjectType;
use crate::models::complaint::{
    Channel, Complaint, ComplaintAction, ComplaintCategory, ComplaintStatus, Evaluation,
    EvaluationMethod, FilingAction, FilingStatus, Liability, Rating, Reply, ReplyMethod,
    Resolution, Severity,
};
use crate::models::deadline::{Deadline, Rule};
use crate::models::event::Event;
use crate::models::project::Project;
use crate::models::user::Role;
use crate::services::IfMatch;

use super::trimmed;
use super::{projects, Page, Paged};
use crate::kit::attachments::documents;
use crate::kit::attachments::{self, CLOCK_SKEW_MINUTES};
use crate::kit::deadlines::{self as clocks, NewDeadline};
use crate::kit::workflow::{
    self, CreateRequest, Creation, Ctx, Does, Effect, Outcome, Request, Transition,
};

/// A repeat complaint (二次投诉, 004 §5.8.2) is one about a matter that is
/// still open, or that was closed satisfied less than this many months ago.
pub const REPEAT_WINDOW_MONTHS: u32 = 12;

fn not_in_future(at: DateTime<Utc>, now: NaiveDateTime, field: &str) -> AppResult<NaiveDateTime> {
    let at = at.naive_utc();
    // a phone's clock may run a little ahead of ours
    if at > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(AppError::invalid(field, "must not be in the future"));
    }
    Ok(at)
}

// ---- requests ----------------------------------------------------------

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "project_id": 3, "received_at": "2026-11-20T09:30:00Z", "category": "warranty", "channel": "phone",
    "complainant_name": "王先生 Mr Wang", "complainant_phone": "13800138000",
    "description": "3 号楼 12 层卫生间漏水 the bathroom on floor 12 of building 3 leaks",
    "sent_to_group": false, "attachment_ids": []
}))]
pub struct NewComplaint {
    /// The project complained about, in your scope.
    pub project_id: i64,
    /// When the complaint came in; may lie in the past, never in the future.
    /// The 2-day judgment clock runs from here.
    pub received_at: DateTime<Utc>,
    pub category: ComplaintCategory,
    pub channel: Channel,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub complainant_name: String,
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub complainant_phone: String,
    /// What the owner complains about, in full (004 risk R01: nothing lost).
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    /// The complaint was sent to the group (投诉至集团): the group files and
    /// tracks it, and a milestone change of its plan is approved again.
    #[serde(default)]
    pub sent_to_group: bool,
    /// An earlier complaint about the same matter on the same project.
    pub repeat_of: Option<i64>,
    /// A repair of the project whose defect is complained of again (its
    /// work accepted): the repair is reopened for rework within 24 hours,
    /// another round (001).
    pub repair_id: Option<i64>,
    /// Uploads of yours to attach (the owner's photos, the letter).
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "email", "sent_at": "2026-11-21T10:00:00Z",
    "text": "经查，渗水系业主自行改造所致 the leak comes from the owner's own alteration"}))]
pub struct ReplyInput {
    pub method: ReplyMethod,
    /// When the reply letter was sent.
    pub sent_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"liability": "ours", "severity": "serious",
    "reasoning": "防水层施工缺陷 a defect of the waterproofing we laid"}))]
pub struct JudgmentInput {
    pub liability: Liability,
    /// Required when `ours`: `serious` needs a rectification plan, `minor`
    /// is handled directly. Not sent when `not_ours`.
    pub severity: Option<Severity>,
    /// Why; staff only, never shown to the customer.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub reasoning: String,
    /// Required when `not_ours`: the reply that gives the reasons.
    #[validate(nested)]
    pub reply: Option<ReplyInput>,
    /// Why the judgment comes after its 2 days; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    /// Uploads to attach (the scanned reply letter).
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
    /// A complaint judged ours and minor that a warranty repair answers:
    /// the repair is made with the judgment, linked both ways.
    #[validate(nested)]
    pub repair: Option<JudgedRepair>,
}

/// The repair a minor complaint becomes: what and where.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category": "waterproofing", "location": "3 号楼 1201 卫生间 building 3, flat 1201, bathroom", "severity": "normal"}))]
pub struct JudgedRepair {
    /// The warranty component.
    pub category: crate::models::project::WarrantyCategory,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub location: String,
    pub severity: crate::models::repair::RepairSeverity,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已备案 filed as 2026-JT-031"}))]
pub struct FilingInput {
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub note: Option<String>,
    /// Why the filing comes after its due time; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"summary": "更换卫生间防水层并闭水试验 48 小时合格 waterproofing redone, 48-hour water test passed",
    "attachment_ids": []}))]
pub struct ResolutionInput {
    /// What was done.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub summary: String,
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rating": "fairly_satisfied", "method": "visit", "notes": "业主确认不再渗水 no more leaking"}))]
pub struct EvaluationInput {
    /// The customer's rating; `basically_satisfied` or better closes the complaint.
    pub rating: Rating,
    /// How it was taken: `visit`, `phone`, `acceptance` by staff; `app` by
    /// the customer's own account (the default for it).
    pub method: Option<EvaluationMethod>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub notes: Option<String>,
    /// Why the revisit comes after its 3 days; required then (staff).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct ComplaintFilter {
    pub status: Option<ComplaintStatus>,
    pub category: Option<ComplaintCategory>,
    pub project_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub branch_id: Option<i64>,
    pub sent_to_group: Option<bool>,
    pub repeat: Option<bool>,
    pub overdue: Option<bool>,
    pub received_from: Option<NaiveDateTime>,
    pub received_to: Option<NaiveDateTime>,
}

// ---- the workflows -----------------------------------------------------

/// The complaint's life cycle.
pub struct ComplaintFlow;

const JUDGE_ROLES: &[Role] = &[Role::BranchEngineer];
const HANDLERS: &[Role] = crate::auth::DEPARTMENT;
const EVALUATORS: &[Role] = &[Role::BranchEngineer, Role::Customer];

static TABLE: &[Transition<ComplaintStatus, ComplaintAction, Complaint>] = crate::transitions![ComplaintStatus, ComplaintAction;
    [Registered] JudgeNotOurs => ClosedNotOurs, by JUDGE_ROLES,
        settles [ComplaintJudge], event ComplaintJudged;
    [Registered] JudgeSerious => AwaitingPlan, by JUDGE_ROLES,
        settles [ComplaintJudge], effects [FILING_REQUIRED], event ComplaintJudged;
    [Registered] JudgeMinor => Handling, by JUDGE_ROLES,
        settles [ComplaintJudge], effects [FILING_REQUIRED], event ComplaintJudged;
    // taken by the plan's approval, in its transaction
    [AwaitingPlan] StartRectification => Rectifying, by &[Role::BranchLeader],
        event ComplaintRectificationStarted;
    [Handling, Rectifying] Resolve => RevisitDue, by HANDLERS,
        starts [ComplaintRevisit], event ComplaintResolved;
    // milestones never reported no longer wait for anyone
    [RevisitDue] CloseSatisfied => ClosedSatisfied, by EVALUATORS,
        settles [ComplaintRevisit], effects [super::rectification::MILESTONES_ABANDONED],
        event ComplaintEvaluated;
    [RevisitDue] ReopenMinor => Handling, by EVALUATORS,
        settles [ComplaintRevisit], event ComplaintEvaluated;
    [RevisitDue] ReopenSerious => Rectifying, by EVALUATORS,
        settles [ComplaintRevisit], event ComplaintEvaluated;
];

/// Registered by staff or the owner's account; opened by a return visit
/// whose survey says `dissatisfied` (the visitor's record, in its
/// transaction). The 2 days run from the receipt.
static CREATIONS: &[Creation<ComplaintStatus>] = crate::creations![ComplaintStatus;
    "register" => Registered, by REGISTRARS, starts [ComplaintJudge],
        effects [REPAIR_REOPENED], event ComplaintRegistered;
    "open_from_visit" => Registered, by super::visits::VISITORS, starts [ComplaintJudge],
        event ComplaintRegistered;
];

/// A complaint about a repaired defect reopens its repair (001).
const REPAIR_REOPENED: Effect = Effect {
    on: "repair",
    when: &["accepted", "closed"],
    does: Does::Step("reopen", super::repairs::reopen),
};

/// A complaint judged ours is filed with the group, beside its handling.
const FILING_REQUIRED: Effect = Effect {
    on: "filing",
    when: &["not_required"],
    does: Does::Step("require", require_filing),
};

fn require_filing(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, _: Option<&str>) -> AppResult<()> {
    workflow::run::<FilingFlow>(
        conn,
        ctx,
        id,
        Request::new(FilingAction::Require, None, None),
        |_, _| Ok(()),
        |_, _, _| Ok(()),
    )?;
    Ok(())
}

/// A complaint's attachments: judged and kept by engineering, so the
/// department handles the complaint but does not own its evidence (a
/// liability photo); the owner adds photos of what they complain about.
pub const ATTACHMENTS: AttachmentPolicy = AttachmentPolicy {
    stewards: ENGINEERING,
    department_stewards: false,
    writers_steward: false,
    customer_adds: true,
};

crate::workflow! {
    ComplaintFlow {
        name: "complaint",
        subject: Complaint as "complaint",
        state: ComplaintStatus = complaints.status,
        action: ComplaintAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        clock: |c, rule, now| clock(c, rule, now),
        linked: |conn, c, on| match on {
            "filing" => Ok(vec![(c.id, c.filing_status.clone())]),
            "repair" => super::repairs::reopened_by(conn, c.id),
            _ => super::rectification::milestones_of_complaint(conn, c.id),
        },
    }
}

/// The group's filing of a complaint judged ours, beside its handling.
pub struct FilingFlow;

static FILING_TABLE: &[Transition<FilingStatus, FilingAction, Complaint>] = crate::transitions![FilingStatus, FilingAction;
    // entered by the judgment (ours), in its transaction
    [NotRequired] Require => Pending, by JUDGE_ROLES,
        starts [ComplaintFile], event ComplaintFilingRequired;
    [Pending] File => Filed, by &[Role::GroupEngineer],
        settles [ComplaintFile], event ComplaintFiled;
];

crate::workflow! {
    FilingFlow {
        name: "complaint filing",
        subject: Complaint as "complaint",
        state: FilingStatus = complaints.filing_status,
        action: FilingAction,
        table: FILING_TABLE,
        // the filing is born with its complaint
        creations: &[],
        load: |conn, actor, id| load(conn, actor, id),
        clock: |c, rule, now| clock(c, rule, now),
    }
}

/// A complaint's clocks all run in the branch of its project: the branch
/// engineering department judges and revisits, the group files (its
/// subtree holds the branch), the branch leader hears of a late judgment.
fn clock(c: &Complaint, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    let what = match rule {
        Rule::ComplaintJudge => "Judge the liability of",
        Rule::ComplaintFile => "File",
        _ => "Revisit the customer of",
    };
    let summary: String = c.description.chars().take(40).collect();
    NewDeadline::new(
        rule,
        ("complaint", c.id),
        c.branch_id.unwrap_or_default(),
        now,
        (
            format!("{what} complaint #{}: {summary}", c.id),
            format!("/api/v1/complaints/{}", c.id),
        ),
    )
}

// ---- reading -----------------------------------------------------------

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("complaint {id} not found"))
}

/// Complaints the caller may see: those of projects in their org subtree,
/// or the customer user's own.
fn visible(actor: &Actor) -> Option<complaints::BoxedQuery<'static, MultiBackend>> {
    let query = complaints::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => Some(query.filter(crate::rows_in_subtree!(
            complaints::table,
            complaints::scope_path,
            &path
        ))),
        Scope::Customer(c) => Some(query.filter(complaints::customer_id.eq(c))),
        Scope::Nothing => None,
    }
}

/// The complaint as stored, in the caller's scope (404 outside it).
pub(crate) fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Complaint> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(complaints::id.eq(id))
        .select(Complaint::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// What the caller may read of a complaint: customer accounts never see
/// the judgment's reasoning or the group's filing note.
pub fn shown(actor: &Actor, mut c: Complaint) -> Complaint {
    if actor.role == Role::Customer {
        c.reasoning = None;
        c.filing_note = None;
    }
    c
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Complaint> {
    load(conn, actor, id).map(|c| shown(actor, c))
}

/// Complaints with an open clock past due: their own, their plan's or a
/// milestone's.
type Filter = Box<
    dyn diesel::BoxableExpression<
        complaints::table,
        MultiBackend,
        SqlType = diesel::sql_types::Bool,
    >,
>;

fn overdue_filter(now: NaiveDateTime, overdue: bool) -> Filter {
    use diesel::sql_types::{Bool, Timestamp};
    // written out because it reaches three subject types through two joins;
    // each EXISTS is served by `deadlines_subject`
    let exists = diesel::dsl::sql::<Bool>(&format!(
        "{} EXISTS (SELECT 1 FROM deadlines d WHERE (d.status || '') IN ('pending', 'overdue') \
         AND d.paused_at IS NULL AND d.due_at < ",
        if overdue { "" } else { "NOT" }
    ))
    .bind::<Timestamp, _>(now)
    .sql(
        " AND ((d.subject_type = 'complaint' AND d.subject_id = complaints.id) \
         OR (d.subject_type = 'rectification_plan' AND d.subject_id IN \
             (SELECT p.id FROM rectification_plans p WHERE p.complaint_id = complaints.id)) \
         OR (d.subject_type = 'rectification_milestone' AND d.subject_id IN \
             (SELECT m.id FROM rectification_milestones m JOIN rectification_plans p ON p.id = m.plan_id \
              WHERE p.complaint_id = complaints.id))))",
    );
    Box::new(exists)
}

/// The complaints the caller sees, newest registered first.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    filter: &ComplaintFilter,
    page: Page,
) -> AppResult<Paged<Complaint>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(s) = filter.status {
        query = query.filter(complaints::status.eq(s.as_str()));
    }
    if let Some(c) = filter.category {
        query = query.filter(complaints::category.eq(c.as_str()));
    }
    if let Some(p) = filter.project_id {
        query = query.filter(complaints::project_id.eq(p));
    }
    if let Some(c) = filter.customer_id {
        query = query.filter(complaints::customer_id.eq(c));
    }
    if let Some(b) = filter.branch_id {
        query = query.filter(complaints::branch_id.eq(b));
    }
    if let Some(g) = filter.sent_to_group {
        query = query.filter(complaints::sent_to_group.eq(g));
    }
    if let Some(r) = filter.repeat {
        query = query.filter(complaints::is_repeat.eq(r));
    }
    if let Some(from) = filter.received_from {
        query = query.filter(complaints::received_at.ge(from));
    }
    if let Some(to) = filter.received_to {
        query = query.filter(complaints::received_at.lt(to));
    }
    if let Some(overdue) = filter.overdue {
        query = query.filter(overdue_filter(now, overdue));
    }
    if let Some(after) = page.after_id {
        query = query.filter(complaints::id.lt(after));
    }
    let rows: Vec<Complaint> = query
        .order(complaints::id.desc())
        .limit(page.limit + 1)
        .select(Complaint::as_select())
        .load(conn)?;
    let mut paged = Paged::from_rows(rows, page, |c| c.id);
    paged.items = paged.items.into_iter().map(|c| shown(actor, c)).collect();
    Ok(paged)
}

/// What a list of complaints is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountBy {
    Project,
    Customer,
}

/// One project's or customer's complaints.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct ComplaintCount {
    /// The project's or customer's id.
    pub id: i64,
    pub total: i64,
    /// Repeat complaints (二次投诉) among them.
    pub repeat: i64,
    /// Not closed yet.
    pub open: i64,
}

/// Complaints counted per project or customer in the caller's scope,
/// received in `[from, to)`, the most complained-about first; one grouped
/// query.
pub fn counts(
    conn: &mut DbConn,
    actor: &Actor,
    by: CountBy,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    limit: i64,
) -> AppResult<Vec<ComplaintCount>> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    actor.require_staff_side()?;
    let scope: Filter = match actor.scope() {
        Scope::All => Box::new(complaints::id.eq(complaints::id)),
        Scope::OrgSubtree(path) => {
            crate::rows_in_subtree!(complaints::table, complaints::scope_path, &path)
        }
        Scope::Customer(_) | Scope::Nothing => return Ok(vec![]),
    };
    let received: Filter = match (from, to) {
        (Some(f), Some(t)) => Box::new(
            complaints::received_at
                .ge(f)
                .and(complaints::received_at.lt(t)),
        ),
        (Some(f), None) => Box::new(complaints::received_at.ge(f)),
        (None, Some(t)) => Box::new(complaints::received_at.lt(t)),
        (None, None) => Box::new(complaints::id.eq(complaints::id)),
    };
    let repeat = || sql::<BigInt>("SUM(CASE WHEN is_repeat THEN 1 ELSE 0 END)");
    let open = || {
        sql::<BigInt>(
            "SUM(CASE WHEN status IN ('closed_not_ours', 'closed_satisfied') THEN 0 ELSE 1 END)",
        )
    };
    // grouped first, then boxed: diesel groups only unboxed queries
    let rows: Vec<(i64, i64, i64, i64)> = match by {
        CountBy::Project => complaints::table
            .group_by(complaints::project_id)
            .select((complaints::project_id, count_star(), repeat(), open()))
            .into_boxed::<MultiBackend>()
            .filter(scope)
            .filter(received)
            .order((count_star().desc(), complaints::project_id.asc()))
            .limit(limit)
            .load(conn)?,
        CountBy::Customer => complaints::table
            .group_by(complaints::customer_id)
            .select((complaints::customer_id, count_star(), repeat(), open()))
            .into_boxed::<MultiBackend>()
            .filter(scope)
            .filter(received)
            .order((count_star().desc(), complaints::customer_id.asc()))
            .limit(limit)
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .map(|(id, total, repeat, open)| ComplaintCount {
            id,
            total,
            repeat,
            open,
        })
        .collect())
}

/// Everything that happened to a complaint, as the caller may see it.
#[derive(Debug)]
pub struct Timeline {
    pub complaint: Complaint,
    /// The repairs it made (judged minor) or reopened (a renewed complaint).
    pub repair_ids: Vec<i64>,
    pub plan: Option<super::rectification::PlanDetail>,
    pub reply: Option<Reply>,
    pub resolutions: Vec<Resolution>,
    pub evaluations: Vec<Evaluation>,
    /// Staff only: the clocks of the complaint, its plan and milestones.
    pub deadlines: Vec<Deadline>,
    /// The policy version each clock started under, by policy id.
    pub policy_versions: std::collections::HashMap<i64, i32>,
    pub attachments: Vec<attachments::AttachmentFile>,
    /// The complaint's and its plan's steps, in order.
    pub events: Vec<Event>,
}

pub fn timeline(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Timeline> {
    let complaint = get(conn, actor, id)?;
    let staff = actor.role != Role::Customer;
    let plan = if staff {
        super::rectification::for_complaint(conn, id)?
    } else {
        None
    };
    let reply = complaint_replies::table
        .find(id)
        .select(Reply::as_select())
        .first(conn)
        .optional()?;
    let resolutions = complaint_resolutions::table
        .filter(complaint_resolutions::complaint_id.eq(id))
        .order(complaint_resolutions::id.asc())
        .select(Resolution::as_select())
        .load(conn)?;
    let evaluations = complaint_evaluations::table
        .filter(complaint_evaluations::complaint_id.eq(id))
        .order(complaint_evaluations::id.asc())
        .select(Evaluation::as_select())
        .load(conn)?;
    let plan_id = plan.as_ref().map(|p| p.plan.id);
    let milestone_ids: Vec<i64> = plan
        .as_ref()
        .map(|p| p.all_milestone_ids.clone())
        .unwrap_or_default();
    let deadlines = if staff {
        deadlines::table
            .filter(
                deadlines::subject_type
                    .eq("complaint")
                    .and(deadlines::subject_id.eq(id))
                    .or(deadlines::subject_type
                        .eq("rectification_plan")
                        .and(deadlines::subject_id.eq(plan_id.unwrap_or(0))))
                    .or(deadlines::subject_type
                        .eq("rectification_milestone")
                        .and(deadlines::subject_id.eq_any(milestone_ids))),
            )
            .order(deadlines::id.asc())
            .select(Deadline::as_select())
            .load(conn)?
    } else {
        vec![]
    };
    let policy_versions = clocks::policy_versions_of(conn, &deadlines)?;
    let repair_ids = super::repairs::made_of_complaint(conn, id)?;
    let attachments = attachments::all_shown(conn, actor, (SubjectType::Complaint, id))?;
    let events = events::table
        .filter(
            events::subject_type
                .eq("complaint")
                .and(events::subject_id.eq(id))
                .or(events::subject_type
                    .eq("rectification_plan")
                    .and(events::subject_id.eq(plan_id.unwrap_or(0)))),
        )
        .order(events::id.asc())
        .select(Event::as_select())
        .load::<Event>(conn)?
        .into_iter()
        .filter(|e| attachments::event_shown_to(actor, e))
        .collect();
    Ok(Timeline {
        complaint,
        plan,
        reply,
        resolutions,
        evaluations,
        deadlines,
        policy_versions,
        attachments,
        events,
        repair_ids,
    })
}

// ---- registering -------------------------------------------------------

/// Who registers complaints: the group's and the branch's engineering
/// departments, and the customer in the app (004 B.2 steps 2.1, 2.2).
const REGISTRARS: &[Role] = &[Role::GroupEngineer, Role::BranchEngineer, Role::Customer];

/// The earlier complaint a new one repeats (004 §5.8.2): `repeat_of` when
/// named (same project, visible), else the latest on the same project and
/// category that is not closed satisfied, or was closed satisfied less than
/// [`REPEAT_WINDOW_MONTHS`] before this one came in.
fn repeated(
    conn: &mut DbConn,
    actor: &Actor,
    project: &Project,
    category: ComplaintCategory,
    received_at: NaiveDateTime,
    named: Option<i64>,
) -> AppResult<Option<i64>> {
    if let Some(id) = named {
        let earlier = load(conn, actor, id).map_err(|_| {
            AppError::missing_reference("repeat_of", format!("complaint {id} not found"))
        })?;
        if earlier.project_id != project.id {
            return Err(AppError::rule(
                "repeat_of_other_project",
                "repeat_of",
                format!(
                    "complaint {id} is about another project; a repeat complaint is about the same matter"
                ),
            ));
        }
        return Ok(Some(id));
    }
    let window_start = received_at
        .checked_sub_months(Months::new(REPEAT_WINDOW_MONTHS))
        .unwrap_or(received_at);
    Ok(complaints::table
        .filter(complaints::project_id.eq(project.id))
        .filter(complaints::category.eq(category.as_str()))
        .filter(
            complaints::status
                .ne(ComplaintStatus::ClosedSatisfied.as_str())
                .or(complaints::closed_at.gt(window_start)),
        )
        .order(complaints::id.desc())
        .select(complaints::id)
        .first(conn)
        .optional()?)
}

/// How far back a customer's own account may date a complaint's receipt.
pub const APP_BACKDATE_DAYS: i64 = 7;

/// A customer account registers at most
/// `AFTERCARE_CUSTOMER_COMPLAINTS_PER_DAY` complaints in 24 hours (each
/// starts clocks and tasks for several people); beyond, 429 until the
/// oldest of them is a day old.
fn check_daily_limit(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    actor: &Actor,
) -> AppResult<()> {
    let since = now - Duration::hours(24);
    let recent: Vec<NaiveDateTime> = complaints::table
        .filter(complaints::registered_by.eq(actor.id))
        .filter(complaints::created_at.gt(since))
        .order(complaints::created_at.asc())
        .limit(config.customer_complaints_per_day)
        .select(complaints::created_at)
        .load(conn)?;
    if (recent.len() as i64) < config.customer_complaints_per_day {
        return Ok(());
    }
    let oldest = recent.first().copied().unwrap_or(now);
    let wait = (oldest + Duration::hours(24) - now).num_seconds().max(1);
    Err(AppError::Limited {
        code: "daily_complaint_limit",
        detail: format!(
            "this account has registered {} complaints in the last 24 hours; retry after {wait} seconds",
            config.customer_complaints_per_day
        ),
        retry_after_secs: u64::try_from(wait).unwrap_or(1),
    })
}

/// Registers a complaint and starts its 2-day judgment clock from
/// `received_at`, for the branch engineering department of the project.
pub fn register(conn: &mut DbConn, ctx: Ctx<'_>, input: &NewComplaint) -> AppResult<Complaint> {
    let Ctx { actor, config, now } = ctx;
    let birth = workflow::creation::<ComplaintFlow>(actor, "register")?;
    let received_at = not_in_future(input.received_at, now, "received_at")?;
    write_tx(conn, |conn| {
        let project = projects::get(conn, actor, input.project_id).map_err(|_| {
            AppError::missing_reference(
                "project_id",
                format!("project {} not found", input.project_id),
            )
        })?;
        if actor.role == Role::Customer {
            let mut errors = vec![];
            if input.channel != Channel::App {
                errors.push(FieldError::new(
                    "channel",
                    "a complaint from the customer's own account comes by `app`",
                ));
            }
            if input.sent_to_group {
                errors.push(FieldError::new(
                    "sent_to_group",
                    "only the contractor's staff record that a complaint went to the group",
                ));
            }
            // paper arrives late; an app complaint is sent when it happens
            if received_at < now - Duration::days(APP_BACKDATE_DAYS) {
                errors.push(FieldError::new(
                    "received_at",
                    format!("a complaint from the app was received at most {APP_BACKDATE_DAYS} days before it is registered"),
                ));
            }
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            check_daily_limit(conn, config, now, actor)?;
        }
        let repeat_of = repeated(
            conn,
            actor,
            &project,
            input.category,
            received_at,
            input.repeat_of,
        )?;
        if let Some(rid) = input.repair_id {
            super::repairs::check_renewed(conn, actor, rid, project.id)?;
        }
        let complaint = insert(
            conn,
            ctx,
            birth,
            &project,
            NewRow {
                received_at,
                category: input.category,
                channel: input.channel,
                complainant_name: input.complainant_name.trim(),
                complainant_phone: input.complainant_phone.trim(),
                description: input.description.trim(),
                sent_to_group: input.sent_to_group,
                repeat_of,
                visit_id: None,
                repair_id: input.repair_id,
            },
        )?;
        attachments::attach(
            conn,
            actor,
            config,
            now,
            (SubjectType::Complaint, complaint.id),
            &documents(&input.attachment_ids),
            "attachment_ids",
        )?;
        Ok(shown(actor, complaint))
    })
}

struct NewRow<'a> {
    received_at: NaiveDateTime,
    category: ComplaintCategory,
    channel: Channel,
    complainant_name: &'a str,
    complainant_phone: &'a str,
    description: &'a str,
    sent_to_group: bool,
    repeat_of: Option<i64>,
    visit_id: Option<i64>,
    /// The repaired defect it is about.
    repair_id: Option<i64>,
}

/// Writes the complaint by its creation row: the kit starts its judgment
/// clock from the receipt and writes its event.
fn insert(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    birth: &'static Creation<ComplaintStatus>,
    project: &Project,
    row: NewRow<'_>,
) -> AppResult<Complaint> {
    let Ctx { actor, now, .. } = ctx;
    let request = CreateRequest {
        starts_at: Some(row.received_at),
        ..CreateRequest::default()
    };
    let (complaint, _) = workflow::create::<ComplaintFlow>(
        conn,
        ctx,
        birth,
        request,
        |conn, state| {
            Ok(diesel::insert_into(complaints::table)
                .values((
                    complaints::project_id.eq(project.id),
                    complaints::customer_id.eq(project.customer_id),
                    complaints::branch_id.eq(project.branch_id),
                    complaints::scope_path.eq(&project.scope_path),
                    complaints::received_at.eq(row.received_at),
                    complaints::status.eq(state.as_str()),
                    complaints::category.eq(row.category.as_str()),
                    complaints::channel.eq(row.channel.as_str()),
                    complaints::complainant_name.eq(row.complainant_name),
                    complaints::complainant_phone.eq(row.complainant_phone),
                    complaints::description.eq(row.description),
                    complaints::sent_to_group.eq(row.sent_to_group),
                    complaints::registered_by.eq(actor.id),
                    complaints::repeat_of.eq(row.repeat_of),
                    complaints::is_repeat.eq(row.repeat_of.is_some()),
                    complaints::visit_id.eq(row.visit_id),
                    complaints::created_at.eq(now),
                    complaints::updated_at.eq(now),
                ))
                .returning(complaints::id)
                .get_result(conn)?)
        },
        // named before the creation's effect reopens it
        |conn, c, _| match row.repair_id {
            Some(rid) => super::repairs::note_renewed(conn, c.id, rid),
            None => Ok(()),
        },
    )?;
    Ok(complaint)
}

/// A return visit's survey rated `dissatisfied`: a complaint is opened at
/// once (003 §5.9.2), channel `visit`, category `warranty`, received when
/// the visit took place, linked to the visit (and the visit to it by the
/// returned id). Called inside the visit's own transaction.
pub struct FromVisit<'a> {
    pub visit_id: i64,
    pub project_id: i64,
    pub visited_at: NaiveDateTime,
    pub complainant_name: &'a str,
    pub complainant_phone: &'a str,
    pub description: &'a str,
}

pub fn open_from_visit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    visit: &FromVisit<'_>,
) -> AppResult<Complaint> {
    let birth = workflow::creation::<ComplaintFlow>(ctx.actor, "open_from_visit")?;
    let project = projects::get(conn, ctx.actor, visit.project_id)?;
    let repeat_of = repeated(
        conn,
        ctx.actor,
        &project,
        ComplaintCategory::Warranty,
        visit.visited_at,
        None,
    )?;
    insert(
        conn,
        ctx,
        birth,
        &project,
        NewRow {
            received_at: visit.visited_at,
            category: ComplaintCategory::Warranty,
            channel: Channel::Visit,
            complainant_name: visit.complainant_name,
            complainant_phone: visit.complainant_phone,
            description: visit.description,
            sent_to_group: false,
            repeat_of,
            visit_id: Some(visit.visit_id),
            repair_id: None,
        },
    )
}

// ---- the steps ---------------------------------------------------------

/// The branch engineering department judges liability (004 §5.4.2).
pub fn judge(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &JudgmentInput,
) -> AppResult<Complaint> {
    let Ctx { actor, config, now } = ctx;
    let action = match (input.liability, input.severity) {
        (Liability::NotOurs, _) => ComplaintAction::JudgeNotOurs,
        (Liability::Ours, Some(Severity::Serious)) => ComplaintAction::JudgeSerious,
        (Liability::Ours, _) => ComplaintAction::JudgeMinor,
    };
    let reasoning = input.reasoning.trim().to_string();
    let reply_sent_at = match &input.reply {
        Some(r) => Some(not_in_future(r.sent_at, now, "reply.sent_at")?),
        None => None,
    };
    let docs = documents(&input.attachment_ids);
    workflow::run::<ComplaintFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, input.late_reason.as_deref()),
        |_, _| {
            let mut errors = vec![];
            match input.liability {
                Liability::Ours => {
                    if input.severity.is_none() {
                        errors.push(FieldError::new(
                            "severity",
                            "say whether a complaint that is ours is `serious` or `minor`",
                        ));
                    }
                    if input.reply.is_some() {
                        errors.push(FieldError::new(
                            "reply",
                            "a reply letter is sent only for a complaint that is not ours",
                        ));
                    }
                }
                Liability::NotOurs => {
                    if input.severity.is_some() {
                        errors.push(FieldError::new(
                            "severity",
                            "only a complaint that is ours has a severity",
                        ));
                    }
                    if input.reply.is_none() {
                        errors.push(FieldError::new(
                            "reply",
                            "a complaint that is not ours is answered by a reply giving the reasons (courier, fax or email)",
                        ));
                    }
                }
            }
            if reasoning.is_empty() {
                errors.push(FieldError::new("reasoning", "say why"));
            }
            if input.repair.is_some() && action != ComplaintAction::JudgeMinor {
                errors.push(FieldError::new(
                    "repair",
                    "only a complaint judged ours and minor is answered by a repair",
                ));
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(AppError::Validation(errors))
            }
        },
        |conn, before, _: &Outcome<ComplaintStatus>| {
            let ours = input.liability == Liability::Ours;
            diesel::update(complaints::table.find(before.id))
                .set((
                    complaints::liability.eq(input.liability.as_str()),
                    complaints::severity.eq(input.severity.map(|s| s.as_str())),
                    complaints::reasoning.eq(&reasoning),
                    complaints::judged_at.eq(now),
                    complaints::judged_by.eq(actor.id),
                    complaints::closed_at.eq((!ours).then_some(now)),
                ))
                .execute(conn)?;
            if let (Some(reply), Some(sent_at)) = (&input.reply, reply_sent_at) {
                diesel::insert_into(complaint_replies::table)
                    .values((
                        complaint_replies::complaint_id.eq(before.id),
                        complaint_replies::method.eq(reply.method.as_str()),
                        complaint_replies::sent_at.eq(sent_at),
                        complaint_replies::text.eq(reply.text.trim()),
                        complaint_replies::recorded_by.eq(actor.id),
                        complaint_replies::recorded_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            attachments::attach(
                conn,
                actor,
                config,
                now,
                (SubjectType::Complaint, before.id),
                &docs,
                "attachment_ids",
            )?;
            if let Some(r) = &input.repair {
                let project = projects::get(conn, actor, before.project_id)?;
                super::repairs::open_from(
                    conn,
                    ctx,
                    &super::repairs::Reported {
                        project: &project,
                        source: crate::models::repair::RepairSource::Complaint,
                        visit_id: None,
                        complaint_id: Some(before.id),
                        category: r.category,
                        location: &r.location,
                        description: &before.description,
                        severity: r.severity,
                        reported_at: before.received_at,
                    },
                )?;
            }
            Ok(())
        },
    )
    .map(|c| shown(actor, c))
}

/// The group engineering department files a complaint judged ours (备案,
/// 004 §5.4.3); the complaint's handling never waits for it.
pub fn file(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &FilingInput,
) -> AppResult<Complaint> {
    let Ctx { actor, now, .. } = ctx;
    let note = trimmed(input.note.as_deref());
    workflow::run::<FilingFlow>(
        conn,
        ctx,
        id,
        Request::new(
            FilingAction::File,
            expected_version,
            input.late_reason.as_deref(),
        ),
        |_, _| Ok(()),
        |conn, before, _| {
            diesel::update(complaints::table.find(before.id))
                .set((
                    complaints::filed_at.eq(now),
                    complaints::filed_by.eq(actor.id),
                    complaints::filing_note.eq(&note),
                ))
                .execute(conn)?;
            Ok(())
        },
    )
    .map(|c| shown(actor, c))
}

/// The project department reports the complaint handled (minor) or the
/// rectification done (serious); the branch revisits within 3 days (001).
pub fn resolve(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &ResolutionInput,
) -> AppResult<Complaint> {
    let Ctx { actor, config, now } = ctx;
    let summary = input.summary.trim().to_string();
    let docs = documents(&input.attachment_ids);
    workflow::run::<ComplaintFlow>(
        conn,
        ctx,
        id,
        Request::new(ComplaintAction::Resolve, expected_version, None),
        |_, _| {
            if summary.is_empty() {
                return Err(AppError::invalid("summary", "say what was done"));
            }
            Ok(())
        },
        |conn, before, _| {
            let round = before.rounds + 1;
            diesel::insert_into(complaint_resolutions::table)
                .values((
                    complaint_resolutions::complaint_id.eq(before.id),
                    complaint_resolutions::round.eq(round),
                    complaint_resolutions::summary.eq(&summary),
                    complaint_resolutions::resolved_by.eq(actor.id),
                    complaint_resolutions::resolved_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(complaints::table.find(before.id))
                .set(complaints::rounds.eq(round))
                .execute(conn)?;
            attachments::attach(
                conn,
                actor,
                config,
                now,
                (SubjectType::Complaint, before.id),
                &docs,
                "attachment_ids",
            )?;
            Ok(())
        },
    )
    .map(|c| shown(actor, c))
}

/// The customer's evaluation of the result (004 §5.7): satisfied closes
/// the complaint; otherwise the work goes on (handling or rectifying) and
/// the round is counted.
pub fn evaluate(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &EvaluationInput,
) -> AppResult<Complaint> {
    let Ctx { actor, now, .. } = ctx;
    let customer = actor.role == Role::Customer;
    let method = input.method.unwrap_or(if customer {
        EvaluationMethod::App
    } else {
        EvaluationMethod::Visit
    });
    if customer != (method == EvaluationMethod::App) {
        return Err(AppError::invalid(
            "method",
            if customer {
                "the customer's own evaluation comes by `app`"
            } else {
                "staff take the evaluation by `visit`, `phone` or `acceptance`; `app` is the customer's own"
            },
        ));
    }
    // the revisit clock is the branch's: a customer answering in the app
    // after it passed is not asked why, the record says who answered
    let late_reason = match (customer, input.late_reason.as_deref()) {
        (true, None) => Some("evaluated by the customer in the app"),
        (_, given) => given,
    };
    // the table's row follows from the complaint: read it in the step
    let current = load(conn, actor, id)?;
    let action = if input.rating.is_satisfied() {
        ComplaintAction::CloseSatisfied
    } else if current.severity.as_deref() == Some(Severity::Serious.as_str()) {
        ComplaintAction::ReopenSerious
    } else {
        ComplaintAction::ReopenMinor
    };
    let notes = trimmed(input.notes.as_deref());
    workflow::run::<ComplaintFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, late_reason),
        |_, c| {
            // the complaint changed between the read above and the step
            if c.version != current.version {
                return Err(super::concurrent_change());
            }
            Ok(())
        },
        |conn, before, _| {
            let satisfied = input.rating.is_satisfied();
            diesel::insert_into(complaint_evaluations::table)
                .values((
                    complaint_evaluations::complaint_id.eq(before.id),
                    complaint_evaluations::round.eq(before.rounds),
                    complaint_evaluations::rating.eq(input.rating.as_str()),
                    complaint_evaluations::method.eq(method.as_str()),
                    complaint_evaluations::notes.eq(&notes),
                    complaint_evaluations::satisfied.eq(satisfied),
                    complaint_evaluations::evaluated_by.eq(actor.id),
                    complaint_evaluations::evaluated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(complaints::table.find(before.id))
                .set((
                    complaints::rating.eq(input.rating.as_str()),
                    complaints::closed_at.eq(satisfied.then_some(now)),
                ))
                .execute(conn)?;
            Ok(())
        },
    )
    .map(|c| shown(actor, c))
}

/// The plan of a complaint was approved: the complaint moves to
/// `rectifying` in the approval's transaction (a plan approved again after
/// a revision finds it there already).
pub(crate) fn start_rectification(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    complaint_id: i64,
    _: Option<&str>,
) -> AppResult<()> {
    workflow::run::<ComplaintFlow>(
        conn,
        ctx,
        complaint_id,
        Request::new(ComplaintAction::StartRectification, None, None),
        |_, _| Ok(()),
        |_, _, _| Ok(()),
    )?;
    Ok(())
}
