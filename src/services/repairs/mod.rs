//! Warranty repairs (保修维修): the owner's call or a defect found on a
//! visit, by a complaint or an inspection, through confirmation, the
//! owner's agreement for paid work, the repair order, the work, its
//! inspection and the owner's sign-off, to the follow-up visit (002; 003
//! §3.2–3.3 and the repair record 表3.3.2; who is liable and who pays by
//! 000 §2; the follow-up, the renewed complaint and repeats by 001). One
//! table on the transition kit.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{
    deadlines as deadline_rows, project_contacts, repair_cost_lines, repair_reopenings,
    repair_steps, repairs, users,
};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::attachments::{self, documents, AttachmentPolicy, ENGINEERING};
use crate::kit::deadlines::{self, calendar, NewDeadline, Target};
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Request, Transition};
use crate::models::attachment::SubjectType;
use crate::models::complaint::Rating;
use crate::models::deadline::{Deadline, DeadlineStatus, Rule};
use crate::models::project::{ContactRole, ContactSide, Project, WarrantyCategory};
use crate::models::repair::*;
use crate::models::user::Role;
use crate::services::{projects, trimmed, IfMatch, Page, Paged};

/// How far back the owner's own account may date a report (as a complaint).
pub const APP_BACKDATE_DAYS: i64 = 7;
/// The follow-up visit comes at least this long after the sign-off (001).
pub const FOLLOWUP_AFTER_DAYS: i64 = 7;
/// The third repair of the same place is a repeat (001: quarterly analysis).
pub const REPEAT_AT: i64 = 3;

// ---- requests ----------------------------------------------------------

fn upload_ids() -> Vec<i64> {
    vec![]
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "project_id": 3, "source": "owner_report", "category": "waterproofing",
    "location": "3 号楼 2 单元 1201 卫生间 building 3, unit 2, flat 1201, bathroom",
    "description": "卫生间顶板渗水 water seeps through the bathroom ceiling",
    "severity": "emergency", "reported_at": "2026-11-20T09:30:00Z", "attachment_ids": []
}))]
pub struct NewRepair {
    /// The project, in your scope (the owner's account: its own).
    pub project_id: i64,
    /// `app` from the owner's own account (and only that); `visit_issue`
    /// and `complaint` repairs are made by the visit and the judgment.
    pub source: RepairSource,
    /// The warranty component (its term decides the coverage).
    pub category: WarrantyCategory,
    /// Building / unit / room, as free text; repeats compare it ignoring
    /// case and spacing.
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub location: String,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    pub severity: RepairSeverity,
    /// When the owner reported it: not in the future; from the app at most
    /// 7 days back. The clocks run from it.
    pub reported_at: DateTime<Utc>,
    /// Uploads (the owner's photos, before photos) attached with the report.
    #[serde(default = "upload_ids")]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已到现场，关闭上层阀门 on site, the valve upstairs is shut", "attachment_ids": []}))]
pub struct RepairArrival {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: Option<String>,
    /// Never shown to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub internal_note: Option<String>,
    /// Why it comes after the response time (24 h, 8 h for an emergency); required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    /// Before photos.
    #[serde(default = "upload_ids")]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

/// One party's share of a shared liability.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"party": "subcontractor", "contact_id": 12, "percent": 60}))]
pub struct RepairShare {
    pub party: SharedParty,
    /// The subcontractor's contact on the project's ledger; required for a
    /// `subcontractor` party, refused for others.
    pub contact_id: Option<i64>,
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    pub percent: i32,
}

/// The report to the quality supervision station of a structural-safety
/// defect (002).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reported_on": "2026-11-20", "reference": "质监报 2026-117"}))]
pub struct SupervisionReport {
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub reported_on: NaiveDate,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub reference: String,
}

/// A line of a quote or of the costs of the work done.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"item": "SBS 卷材 membrane (m²)", "quantity": 6.5, "unit_price": 48.5, "payer": "owner"}))]
pub struct RepairCostLineInput {
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub item: String,
    #[validate(range(exclusive_min = 0.0, max = 100000.0))]
    #[schema(exclusive_minimum = 0.0, maximum = 100000.0)]
    pub quantity: f64,
    /// Yuan, at most 2 decimals.
    #[validate(range(min = 0.0, max = 10000000.0))]
    #[schema(minimum = 0.0, maximum = 10000000.0)]
    pub unit_price: f64,
    /// `company`, `subcontractor` (with `contact_id`), `owner` or `none`.
    pub payer: RepairPayer,
    /// The subcontractor charged, a subcontractor contact of the project;
    /// required with `payer: subcontractor`.
    pub contact_id: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "outcome": "defect", "liability": "subcontractor", "subcontractor_contact_id": 12,
    "cause": "卫生间防水层破损 the bathroom's waterproofing layer is torn",
    "measures": "凿除重做防水，闭水试验 48 小时 redo the layer, 48-hour water test",
    "scale": "large", "target_days": 3, "structural_safety": false, "attachment_ids": []
}))]
pub struct RepairConfirmation {
    pub outcome: RepairOutcome,
    /// What the owner is told; required for `not_a_defect`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub explanation: Option<String>,
    /// To change the coverage the warranty terms give on the reported day
    /// (`warranty-status`); only with `override_reason`.
    pub covered_override: Option<bool>,
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub override_reason: Option<String>,
    /// Required for a `defect`.
    pub liability: Option<RepairLiability>,
    /// The liable subcontractor: a subcontractor contact of the project's
    /// ledger; required with `liability: subcontractor`.
    pub subcontractor_contact_id: Option<i64>,
    /// With `liability: shared`: each party's percent, summing to exactly 100.
    #[validate(length(min = 2, max = 10), nested)]
    #[schema(min_items = 2, max_items = 10)]
    pub shares: Option<Vec<RepairShare>>,
    /// The cause found (003 §3.2); required for a `defect`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub cause: Option<String>,
    /// The measures to take; required for a `defect`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub measures: Option<String>,
    /// Required for a `defect`: `small` is done within 24 hours of the
    /// repair order, `large` within `target_days`.
    pub scale: Option<RepairScale>,
    /// Working days of the company calendar, 2 to 5 (the policy's bounds);
    /// required for a `large` repair, refused for a small one.
    #[schema(minimum = 1, maximum = 365)]
    #[validate(range(min = 1, max = 365))]
    pub target_days: Option<i32>,
    /// A defect of structural safety: reported to the quality supervision
    /// station (`supervision_report`) and repaired by the design unit's
    /// scheme (in `attachment_ids`) before work starts (002).
    #[serde(default)]
    pub structural_safety: bool,
    #[validate(nested)]
    pub supervision_report: Option<SupervisionReport>,
    /// The quote shown to the owner: required when the repair is billable.
    #[serde(default)]
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    pub quote: Vec<RepairCostLineInput>,
    /// Never shown to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub internal_note: Option<String>,
    /// Why it comes after the 2 days; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    #[serde(default = "upload_ids")]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "accepted"}))]
pub struct RepairAgreement {
    pub decision: AgreementDecision,
    /// Staff recording the signed form: who signed it.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub signed_by: Option<String>,
    /// Staff recording the signed form: the day it was signed (not after today).
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub signed_on: Option<NaiveDate>,
    /// The scan of the signed form.
    #[serde(default = "upload_ids")]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lead_user_id": 7, "crew": "防水班组 3 人 waterproofing crew of 3", "subcontractor_contact_id": 12}))]
pub struct RepairDispatch {
    /// The repair lead; by default the project department's project manager.
    pub lead_user_id: Option<i64>,
    /// Who does the work (own staff, or the subcontractor's people).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub crew: String,
    /// When the named subcontractor does the work: its contact on the ledger.
    pub subcontractor_contact_id: Option<i64>,
    /// Never shown to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub internal_note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "owner_unavailable", "note": "业主出差至 12 月 5 日 the owner is away until 5 December"}))]
pub struct RepairHold {
    pub reason: RepairHoldReason,
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub note: String,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "业主已返回 the owner is back"}))]
pub struct RepairResume {
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "work_done": "凿除并重做卫生间防水层，闭水 48 小时无渗漏 layer redone, no leak after 48 hours",
    "materials": "SBS 卷材 6.5 m²", "labour_hours": 12.5,
    "cost_lines": [{"item": "SBS 卷材 membrane (m²)", "quantity": 6.5, "unit_price": 48.5, "payer": "subcontractor", "contact_id": 12}],
    "attachment_ids": [41]
}))]
pub struct RepairCompletion {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub work_done: String,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub materials: Option<String>,
    #[validate(range(min = 0.0, max = 10000.0))]
    #[schema(minimum = 0.0, maximum = 10000.0)]
    pub labour_hours: f64,
    /// What the work actually cost, each line with who pays it.
    #[serde(default)]
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub cost_lines: Vec<RepairCostLineInput>,
    /// Photos after the work: at least one.
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
    /// Never shown to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub internal_note: Option<String>,
    /// Why it comes after the completion time; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"result": "fail", "reasons": "闭水试验仍有渗漏 the water test still leaks"}))]
pub struct RepairInspection {
    pub result: InspectionResult,
    /// Required for a `fail`: what is wrong.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reasons: Option<String>,
    /// Never shown to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub internal_note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "accepted", "rating": "very_satisfied"}))]
pub struct RepairAcceptance {
    pub decision: AcceptanceDecision,
    /// Required when accepted: the owner's satisfaction.
    pub rating: Option<Rating>,
    /// Required when rejected: what is wrong.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: Option<String>,
    /// Staff recording the paper sign-off: who signed it.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub signed_by: Option<String>,
    /// Staff recording the paper sign-off: on or after the completion day, not after today.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub signed_on: Option<NaiveDate>,
    /// The scan of the signed form.
    #[serde(default = "upload_ids")]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

// ---- the workflow ------------------------------------------------------

/// The project department: responds, confirms, holds, completes.
const HANDLERS: &[Role] = crate::auth::DEPARTMENT;
/// Who reports: engineers in scope, the project department, the owner's
/// own account (003 §3.2, 004 appendix B).
const REPORTERS: &[Role] = &[
    Role::GroupEngineer,
    Role::BranchEngineer,
    Role::ProjectManager,
    Role::Staff,
    Role::Customer,
];
/// The owner's own answer, or staff recording the owner's signature.
const OWNER_OR_DEPARTMENT: &[Role] = &[Role::Customer, Role::ProjectManager, Role::Staff];
/// Issues the repair order and inspects: the branch engineering department.
const ENGINEER: &[Role] = &[Role::BranchEngineer];
/// Who registers a complaint (a renewed one reopens its repair).
const COMPLAINANTS: &[Role] = &[Role::GroupEngineer, Role::BranchEngineer, Role::Customer];

pub struct RepairFlow;

static TABLE: &[Transition<RepairStatus, RepairAction, RepairRecord>] = crate::transitions![RepairStatus, RepairAction;
    [Reported] Arrive => Arrived, by HANDLERS,
        settles [RepairRespond, RepairRespondEmergency], event RepairArrived;
    // confirmed by phone, the confirmation is the response too
    [Reported, Arrived] ConfirmNotADefect => ClosedNotADefect, by HANDLERS,
        settles [RepairRespond, RepairRespondEmergency, RepairConfirm], event RepairConfirmed;
    [Reported, Arrived] ConfirmFree => AwaitingDispatch, by HANDLERS,
        settles [RepairRespond, RepairRespondEmergency, RepairConfirm], event RepairConfirmed;
    // paid work starts only after the owner agrees (002)
    [Reported, Arrived] ConfirmBillable => AwaitingAgreement, by HANDLERS,
        settles [RepairRespond, RepairRespondEmergency, RepairConfirm], event RepairConfirmed;
    [AwaitingAgreement] Agree => AwaitingDispatch, by OWNER_OR_DEPARTMENT, event RepairAgreed;
    [AwaitingAgreement] Decline => ClosedDeclined, by OWNER_OR_DEPARTMENT, event RepairDeclined;
    // small: 24 hours; large: the confirmed 2-5 working days
    [AwaitingDispatch] Dispatch => InProgress, by ENGINEER,
        starts [RepairComplete], event RepairDispatched;
    [InProgress] Hold => OnHold, by HANDLERS,
        pauses [RepairComplete, RepairCompleteLarge, RepairRework], event RepairHeld;
    [OnHold] Resume => InProgress, by HANDLERS,
        resumes [RepairComplete, RepairCompleteLarge, RepairRework], event RepairResumed;
    [InProgress] Complete => AwaitingInspection, by HANDLERS,
        settles [RepairComplete, RepairCompleteLarge, RepairRework], event RepairCompleted;
    [AwaitingInspection] Pass => AwaitingAcceptance, by ENGINEER, event RepairInspected;
    // back to work: the completion clock runs on from where it stopped
    [AwaitingInspection] Fail => InProgress, by ENGINEER,
        starts [RepairComplete], event RepairInspected;
    [AwaitingAcceptance] Accept => Accepted, by OWNER_OR_DEPARTMENT,
        starts [RepairFollowup], event RepairAccepted;
    [AwaitingAcceptance] Reject => InProgress, by OWNER_OR_DEPARTMENT,
        starts [RepairComplete], event RepairRejected;
    // by the follow-up visit's record, a week to a month after the sign-off
    [Accepted] FollowUp => Closed, by crate::services::visits::VISITORS,
        settles [RepairFollowup], event RepairClosed;
    // by a complaint naming the repaired defect: rework in 24 hours (001)
    [Accepted, Closed] Reopen => InProgress, by COMPLAINANTS,
        starts [RepairRework], cancels [RepairFollowup], event RepairReopened;
];

/// How a repair comes to be: reported (an emergency's response clock is
/// 8 hours), or made by a visit's issue or a complaint judged minor.
static CREATIONS: &[Creation<RepairStatus>] = crate::creations![RepairStatus;
    "report" => Reported, by REPORTERS,
        starts [RepairRespond, RepairConfirm], event RepairReported;
    "report_emergency" => Reported, by REPORTERS,
        starts [RepairRespondEmergency, RepairConfirm], event RepairReported;
    "open_from_visit" => Reported, by crate::services::visits::VISITORS,
        starts [RepairRespond, RepairConfirm], event RepairReported;
    "open_from_complaint" => Reported, by &[Role::BranchEngineer],
        starts [RepairRespond, RepairConfirm], event RepairReported;
];

/// A repair's photos and documents: the owner adds their own (photos of
/// the defect); the company's engineering and the project department
/// keep them.
pub const ATTACHMENTS: AttachmentPolicy = AttachmentPolicy {
    stewards: ENGINEERING,
    department_stewards: true,
    writers_steward: false,
    customer_adds: true,
};

/// The repair as a step sees it: the row, and what was left of the
/// completion clock when the work was last reported done (a failed
/// inspection or a rejected sign-off gives the crew that time again).
#[derive(Debug, Clone, Serialize)]
pub struct RepairRecord {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub version: i32,
    #[serde(skip)]
    pub status: String,
    #[serde(flatten)]
    pub repair: Repair,
    #[serde(skip)]
    pub remaining_secs: Option<i64>,
}

crate::workflow! {
    RepairFlow {
        name: "repair",
        subject: RepairRecord as "repair",
        state: RepairStatus = repairs.status,
        action: RepairAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id).and_then(|r| record(conn, r)),
        clock: |r, rule, now| clock(r, rule, now),
        find: |conn, id| {
            let row = repairs::table.find(id).select(Repair::as_select()).first(conn)?;
            record(conn, row)
        },
    }
}

fn record(conn: &mut DbConn, repair: Repair) -> AppResult<RepairRecord> {
    // the last completion clock met: how much of it was left
    let last: Option<(NaiveDateTime, Option<NaiveDateTime>)> = deadline_rows::table
        .filter(deadline_rows::subject_type.eq("repair"))
        .filter(deadline_rows::subject_id.eq(repair.id))
        .filter(deadline_rows::rule.eq_any([
            Rule::RepairComplete.as_str(),
            Rule::RepairCompleteLarge.as_str(),
            Rule::RepairRework.as_str(),
        ]))
        .filter(deadline_rows::status.eq_any([
            DeadlineStatus::Met.as_str(),
            DeadlineStatus::MetLate.as_str(),
        ]))
        .order(deadline_rows::id.desc())
        .select((deadline_rows::due_at, deadline_rows::met_at))
        .first(conn)
        .optional()?;
    let remaining_secs = last.map(|(due, met)| (due - met.unwrap_or(due)).num_seconds().max(0));
    Ok(RepairRecord {
        id: repair.id,
        version: repair.version,
        status: repair.status.clone(),
        repair,
        remaining_secs,
    })
}

/// A repair's clocks: the project department's, the completion the lead's.
fn clock(r: &RepairRecord, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    let repair = &r.repair;
    let large = repair.scale.as_deref() == Some(RepairScale::Large.as_str());
    let rule = if rule == Rule::RepairComplete && large {
        Rule::RepairCompleteLarge
    } else {
        rule
    };
    let what = match rule {
        Rule::RepairRespond | Rule::RepairRespondEmergency => "Be on site for",
        Rule::RepairConfirm => "Confirm",
        Rule::RepairComplete | Rule::RepairCompleteLarge => "Finish",
        Rule::RepairRework => "Rework",
        _ => "Follow up",
    };
    let summary: String = repair.location.chars().take(40).collect();
    let mut d = NewDeadline::new(
        rule,
        ("repair", repair.id),
        repair.project_department_id,
        now,
        (
            format!("{what} repair #{}: {summary}", repair.id),
            format!("/api/v1/repairs/{}", repair.id),
        ),
    );
    if matches!(
        rule,
        Rule::RepairComplete | Rule::RepairCompleteLarge | Rule::RepairRework
    ) {
        if let Some(lead) = repair.lead_user_id {
            d = d.held_by(lead);
        }
    }
    let back_to_work = matches!(
        RepairStatus::from_db(&r.status),
        Ok(RepairStatus::AwaitingInspection | RepairStatus::AwaitingAcceptance)
    );
    match (rule, back_to_work, r.remaining_secs) {
        // failed or rejected: what was left of the clock, from now
        (Rule::RepairComplete | Rule::RepairCompleteLarge, true, Some(left)) => NewDeadline {
            due_at: Some(now + Duration::seconds(left)),
            ..d
        },
        (Rule::RepairCompleteLarge, _, _) => NewDeadline {
            target: repair.target_days.map(|duration| Target {
                duration,
                field: "target_days",
            }),
            ..d
        },
        _ => d,
    }
}

// ---- reading -----------------------------------------------------------

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("repair {id} not found"))
}

/// The repairs the caller sees: in their units' scope, a customer's own,
/// and those they lead (a project manager of a nearby department).
fn visible(actor: &Actor) -> Option<repairs::BoxedQuery<'static, MultiBackend>> {
    let query = repairs::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => Some(
            query.filter(
                crate::rows_in_subtree!(repairs::table, repairs::scope_path, &path)
                    .or(repairs::lead_user_id.eq(actor.id)),
            ),
        ),
        Scope::Customer(c) => Some(query.filter(repairs::customer_id.eq(c))),
        Scope::Nothing => None,
    }
}

/// The repair in the caller's scope (404 outside it).
pub(crate) fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Repair> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(repairs::id.eq(id))
        .select(Repair::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// A repair with everything its timeline shows.
#[derive(Debug)]
pub struct RepairDetail {
    pub repair: Repair,
    pub steps: Vec<RepairStep>,
    pub quote: Vec<RepairCostLine>,
    pub cost_lines: Vec<RepairCostLine>,
    pub clocks: Vec<Deadline>,
    /// The policy version each clock started under, by policy id.
    pub policy_versions: std::collections::HashMap<i64, i32>,
    pub attachments: Vec<attachments::AttachmentFile>,
    /// Every repair of the same project, category and place, oldest first.
    pub chain: Vec<i64>,
    /// Complaints that reopened it.
    pub reopened_by: Vec<i64>,
    /// The follow-up visit that closed it.
    pub followup_visit_id: Option<i64>,
    /// Why work waits, while on hold.
    pub on_hold: Option<(String, String)>,
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<RepairDetail> {
    let repair = load(conn, actor, id)?;
    detail(conn, actor, repair)
}

fn detail(conn: &mut DbConn, actor: &Actor, repair: Repair) -> AppResult<RepairDetail> {
    use crate::db::schema::visits;
    let customer = actor.role == Role::Customer;
    let mut steps: Vec<RepairStep> = repair_steps::table
        .filter(repair_steps::repair_id.eq(repair.id))
        .order(repair_steps::id.asc())
        .select(RepairStep::as_select())
        .load(conn)?;
    let lines: Vec<RepairCostLine> = repair_cost_lines::table
        .filter(repair_cost_lines::repair_id.eq(repair.id))
        .order(repair_cost_lines::id.asc())
        .select(RepairCostLine::as_select())
        .load(conn)?;
    let (quote, mut cost_lines): (Vec<_>, Vec<_>) = lines
        .into_iter()
        .partition(|l| l.kind == RepairCostKind::Quote.as_str());
    if customer {
        // what a subcontractor is charged is between the company and it
        cost_lines.retain(|l| l.payer != RepairPayer::Subcontractor.as_str());
        for step in &mut steps {
            step.internal_note = None;
            step.details = owner_details(&step.details);
        }
    }
    let mut clocks: Vec<Deadline> = deadline_rows::table
        .filter(deadline_rows::subject_type.eq("repair"))
        .filter(deadline_rows::subject_id.eq(repair.id))
        .order(deadline_rows::id.asc())
        .select(Deadline::as_select())
        .load(conn)?;
    let policy_versions = deadlines::policy_versions_of(conn, &clocks)?;
    if customer {
        // the owner sees when each step is due, not the staff's reasons
        for c in &mut clocks {
            c.late_reason = None;
            c.note = None;
        }
    }
    let attachments = attachments::all_shown(conn, actor, (SubjectType::Repair, repair.id))?;
    let chain: Vec<i64> = repairs::table
        .filter(repairs::project_id.eq(repair.project_id))
        .filter(repairs::category.eq(&repair.category))
        .filter(repairs::location_key.eq(&repair.location_key))
        .order(repairs::id.asc())
        .select(repairs::id)
        .load(conn)?;
    let reopened_by: Vec<i64> = repair_reopenings::table
        .filter(repair_reopenings::repair_id.eq(repair.id))
        .order(repair_reopenings::complaint_id.asc())
        .select(repair_reopenings::complaint_id)
        .load(conn)?;
    let followup_visit_id: Option<i64> = visits::table
        .filter(visits::repair_id.eq(repair.id))
        .order(visits::id.desc())
        .select(visits::id)
        .first(conn)
        .optional()?;
    let on_hold = if repair.status == RepairStatus::OnHold.as_str() {
        steps
            .iter()
            .rev()
            .find(|s| s.action == RepairAction::Hold.as_str())
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.details).ok())
            .map(|v| {
                (
                    v["reason"].as_str().unwrap_or_default().to_string(),
                    v["note"].as_str().unwrap_or_default().to_string(),
                )
            })
    } else {
        None
    };
    Ok(RepairDetail {
        repair,
        steps,
        quote,
        cost_lines,
        clocks,
        policy_versions,
        attachments,
        chain,
        reopened_by,
        followup_visit_id,
        on_hold,
    })
}

/// A step's details as the owner reads them: not who at a subcontractor
/// is liable or charged.
fn owner_details(details: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(details) else {
        return "{}".to_string();
    };
    if let Some(map) = v.as_object_mut() {
        map.retain(|k, _| !k.contains("contact_id") && k != "shares");
    }
    v.to_string()
}

/// What a list of repairs is filtered by.
#[derive(Debug, Default)]
pub struct RepairFilter {
    pub status: Option<RepairStatus>,
    pub project_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub branch_id: Option<i64>,
    pub severity: Option<RepairSeverity>,
    pub category: Option<WarrantyCategory>,
    pub payer: Option<RepairPayer>,
    pub overdue: Option<bool>,
    pub repeat: Option<bool>,
    pub reported_from: Option<NaiveDateTime>,
    pub reported_to: Option<NaiveDateTime>,
}

/// The repairs the caller sees, newest first.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    filter: &RepairFilter,
    page: Page,
) -> AppResult<Paged<Repair>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(s) = filter.status {
        query = query.filter(repairs::status.eq(s.as_str()));
    }
    if let Some(p) = filter.project_id {
        query = query.filter(repairs::project_id.eq(p));
    }
    if let Some(c) = filter.customer_id {
        query = query.filter(repairs::customer_id.eq(c));
    }
    if let Some(b) = filter.branch_id {
        query = query.filter(repairs::branch_id.eq(b));
    }
    if let Some(s) = filter.severity {
        query = query.filter(repairs::severity.eq(s.as_str()));
    }
    if let Some(c) = filter.category {
        query = query.filter(repairs::category.eq(c.as_str()));
    }
    if let Some(p) = filter.payer {
        query = query.filter(repairs::payer.eq(p.as_str()));
    }
    if let Some(r) = filter.repeat {
        query = query.filter(repairs::is_repeat.eq(r));
    }
    if let Some(from) = filter.reported_from {
        query = query.filter(repairs::reported_at.ge(from));
    }
    if let Some(to) = filter.reported_to {
        query = query.filter(repairs::reported_at.lt(to));
    }
    if let Some(overdue) = filter.overdue {
        use diesel::sql_types::{Bool, Timestamp};
        // served by `deadlines_subject`
        let exists = diesel::dsl::sql::<Bool>(&format!(
            "{} EXISTS (SELECT 1 FROM deadlines d WHERE d.subject_type = 'repair' \
             AND d.subject_id = repairs.id AND {} AND d.paused_at IS NULL AND d.due_at < ",
            if overdue { "" } else { "NOT" },
            deadlines::OPEN_SQL.replace("status", "d.status")
        ))
        .bind::<Timestamp, _>(now)
        .sql(")");
        query = query.filter(exists);
    }
    if let Some(after) = page.after_id {
        query = query.filter(repairs::id.lt(after));
    }
    let rows: Vec<Repair> = query
        .order(repairs::id.desc())
        .limit(page.limit + 1)
        .select(Repair::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |r| r.id))
}

/// What the project's repairs cost, by who pays: the warranty reserve,
/// each subcontractor, the owners, no one.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayerCost {
    pub payer: RepairPayer,
    /// The subcontractor charged (its contact on the ledger), for `subcontractor`.
    pub contact_id: Option<i64>,
    /// Its company or name on the ledger.
    pub name: Option<String>,
    /// Yuan.
    pub amount: f64,
    pub amount_fen: i64,
    pub lines: i64,
}

/// One grouped query over the actual cost lines.
pub fn costs(conn: &mut DbConn, actor: &Actor, project_id: i64) -> AppResult<Vec<PayerCost>> {
    actor.require_staff_side()?;
    projects::get(conn, actor, project_id)?;
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    let rows: Vec<(String, Option<i64>, i64, i64)> = repair_cost_lines::table
        .filter(repair_cost_lines::project_id.eq(project_id))
        .filter(repair_cost_lines::kind.eq(RepairCostKind::Actual.as_str()))
        .group_by((repair_cost_lines::payer, repair_cost_lines::contact_id))
        .select((
            repair_cost_lines::payer,
            repair_cost_lines::contact_id,
            // a BIGINT sum is NUMERIC on PostgreSQL
            sql::<BigInt>("CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT)"),
            diesel::dsl::count_star(),
        ))
        .order((
            repair_cost_lines::payer.asc(),
            repair_cost_lines::contact_id.asc(),
        ))
        .load(conn)?;
    let names: Vec<(i64, String, Option<String>)> = project_contacts::table
        .filter(project_contacts::project_id.eq(project_id))
        .select((
            project_contacts::id,
            project_contacts::name,
            project_contacts::company,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(payer, contact_id, fen, lines)| {
            Ok(PayerCost {
                payer: RepairPayer::from_db(&payer)?,
                contact_id,
                name: contact_id.and_then(|c| {
                    names
                        .iter()
                        .find(|n| n.0 == c)
                        .map(|n| n.2.clone().unwrap_or_else(|| n.1.clone()))
                }),
                #[allow(clippy::cast_precision_loss)]
                amount: fen as f64 / 100.0,
                amount_fen: fen,
                lines,
            })
        })
        .collect()
}

// ---- rules -------------------------------------------------------------

/// Who pays and whether the owner is billed, from the liability and the
/// coverage (000 §2): the owner's side and misuse always bill the owner,
/// force majeure is no one's (the company may still help, billed); a defect
/// out of its term is the owner's; within it, the company or the named
/// subcontractor; shared by its shares (billed when the owner has one).
pub fn payer_of(
    liability: RepairLiability,
    covered: bool,
    shares: &[RepairShare],
) -> (RepairPayer, bool) {
    use RepairLiability::*;
    match liability {
        OwnerMaterials | Designer | Misuse => (RepairPayer::Owner, true),
        ForceMajeure => (RepairPayer::NoOne, true),
        _ if !covered => (RepairPayer::Owner, true),
        GeneralContractor | CompanyMaterials => (RepairPayer::Company, false),
        Subcontractor => (RepairPayer::Subcontractor, false),
        Shared => (
            RepairPayer::Shared,
            shares.iter().any(|s| s.party == SharedParty::Owner),
        ),
    }
}

/// The location as repeats compare it.
pub fn location_key(location: &str) -> String {
    location
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A subcontractor contact of the project's ledger (404 naming the field).
fn subcontractor(
    conn: &mut DbConn,
    project_id: i64,
    contact_id: i64,
    field: &str,
) -> AppResult<()> {
    let role: Option<String> = project_contacts::table
        .filter(project_contacts::id.eq(contact_id))
        .filter(project_contacts::project_id.eq(project_id))
        .select(project_contacts::role)
        .first(conn)
        .optional()?;
    let is_sub = role
        .and_then(|r| r.parse::<ContactRole>().ok())
        .is_some_and(|r| r.side() == ContactSide::Subcontractor);
    if is_sub {
        Ok(())
    } else {
        Err(AppError::missing_reference(
            field,
            format!("no subcontractor contact {contact_id} on this project's ledger"),
        ))
    }
}

fn fen(yuan: f64, field: &str) -> AppResult<i64> {
    let cents = (yuan * 100.0).round();
    if ((yuan * 100.0) - cents).abs() > 1e-6 || !(0.0..=1e9).contains(&cents) {
        return Err(AppError::invalid(field, "yuan with at most 2 decimals"));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(cents as i64)
}

/// Checks cost lines and writes them.
fn write_lines(
    conn: &mut DbConn,
    now: NaiveDateTime,
    repair: &Repair,
    kind: RepairCostKind,
    lines: &[RepairCostLineInput],
    field: &str,
) -> AppResult<()> {
    for (i, line) in lines.iter().enumerate() {
        let at = |f: &str| format!("{field}[{i}].{f}");
        if line.item.trim().is_empty() {
            return Err(AppError::invalid(&at("item"), "say what it is"));
        }
        match (line.payer, line.contact_id) {
            (RepairPayer::Subcontractor, Some(c)) => {
                subcontractor(conn, repair.project_id, c, &at("contact_id"))?;
            }
            (RepairPayer::Subcontractor, None) => {
                return Err(AppError::invalid(
                    &at("contact_id"),
                    "name the subcontractor charged (its contact on the ledger)",
                ))
            }
            (RepairPayer::Shared, _) => {
                return Err(AppError::invalid(
                    &at("payer"),
                    "each line has one payer: company, subcontractor, owner or none",
                ))
            }
            (_, Some(_)) => {
                return Err(AppError::invalid(
                    &at("contact_id"),
                    "only a subcontractor's line names a contact",
                ))
            }
            (_, None) => {}
        }
        let price = fen(line.unit_price, &at("unit_price"))?;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let amount = (line.quantity * price as f64).round() as i64;
        diesel::insert_into(repair_cost_lines::table)
            .values((
                repair_cost_lines::repair_id.eq(repair.id),
                repair_cost_lines::project_id.eq(repair.project_id),
                repair_cost_lines::kind.eq(kind.as_str()),
                repair_cost_lines::round.eq(repair.rounds),
                repair_cost_lines::item.eq(line.item.trim()),
                repair_cost_lines::quantity.eq(line.quantity),
                repair_cost_lines::unit_price_fen.eq(price),
                repair_cost_lines::amount_fen.eq(amount),
                repair_cost_lines::payer.eq(line.payer.as_str()),
                repair_cost_lines::contact_id.eq(line.contact_id),
                repair_cost_lines::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Writes what a step recorded, for the timeline.
fn write_step(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    repair: &Repair,
    action: RepairAction,
    details: serde_json::Value,
    internal_note: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(repair_steps::table)
        .values((
            repair_steps::repair_id.eq(repair.id),
            repair_steps::round.eq(repair.rounds),
            repair_steps::action.eq(action.as_str()),
            repair_steps::details.eq(details.to_string()),
            repair_steps::internal_note.eq(trimmed(internal_note)),
            repair_steps::recorded_by.eq(ctx.actor.id),
            repair_steps::recorded_at.eq(ctx.now),
        ))
        .execute(conn)?;
    Ok(())
}

fn attach(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, ids: &[i64]) -> AppResult<()> {
    attachments::attach(
        conn,
        ctx.actor,
        ctx.config,
        ctx.now,
        (SubjectType::Repair, id),
        &documents(ids),
        "attachment_ids",
    )
    .map(drop)
}

fn not_in_future(at: DateTime<Utc>, now: NaiveDateTime, field: &str) -> AppResult<NaiveDateTime> {
    let at = at.naive_utc();
    // a phone's clock may run a little ahead of ours
    if at > now + Duration::minutes(5) {
        return Err(AppError::invalid(field, "must not be in the future"));
    }
    Ok(at)
}

/// The repair as a step answers it.
fn answered(conn: &mut DbConn, actor: &Actor, r: RepairRecord) -> AppResult<RepairDetail> {
    let repair = match load(conn, actor, r.id) {
        Ok(repair) => repair,
        // the step was the caller's last with it (a lead handing over)
        Err(AppError::NotFound(_)) => r.repair,
        Err(e) => return Err(e),
    };
    detail(conn, actor, repair)
}

// ---- commands ----------------------------------------------------------

/// What a new repair is, however it came.
pub struct Reported<'a> {
    pub project: &'a Project,
    pub source: RepairSource,
    pub visit_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub category: WarrantyCategory,
    pub location: &'a str,
    pub description: &'a str,
    pub severity: RepairSeverity,
    pub reported_at: NaiveDateTime,
}

/// Writes a repair by its creation row: its clocks run from the report;
/// the third of the same project, category and place is a repeat.
fn insert(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    birth: &'static Creation<RepairStatus>,
    r: &Reported<'_>,
) -> AppResult<Repair> {
    let Ctx { actor, now, .. } = ctx;
    let key = location_key(r.location);
    let earlier: Vec<i64> = repairs::table
        .filter(repairs::project_id.eq(r.project.id))
        .filter(repairs::category.eq(r.category.as_str()))
        .filter(repairs::location_key.eq(&key))
        .order(repairs::id.asc())
        .select(repairs::id)
        .load(conn)?;
    let is_repeat = i64::try_from(earlier.len()).unwrap_or(0) + 1 >= REPEAT_AT;
    let repeat_of = if is_repeat {
        earlier.last().copied()
    } else {
        None
    };
    let request = CreateRequest {
        starts_at: Some(r.reported_at),
        ..CreateRequest::default()
    };
    let (repair, _) = workflow::create::<RepairFlow>(
        conn,
        ctx,
        birth,
        request,
        |conn, state| {
            Ok(diesel::insert_into(repairs::table)
                .values((
                    repairs::project_id.eq(r.project.id),
                    repairs::customer_id.eq(r.project.customer_id),
                    repairs::branch_id.eq(r.project.branch_id),
                    repairs::project_department_id.eq(r.project.project_department_id),
                    repairs::scope_path.eq(&r.project.scope_path),
                    repairs::status.eq(state.as_str()),
                    repairs::source.eq(r.source.as_str()),
                    repairs::visit_id.eq(r.visit_id),
                    repairs::complaint_id.eq(r.complaint_id),
                    repairs::category.eq(r.category.as_str()),
                    repairs::location.eq(r.location.trim()),
                    repairs::location_key.eq(&key),
                    repairs::description.eq(r.description.trim()),
                    repairs::severity.eq(r.severity.as_str()),
                    repairs::reported_at.eq(r.reported_at),
                    repairs::reported_by.eq(actor.id),
                    repairs::is_repeat.eq(is_repeat),
                    repairs::repeat_of.eq(repeat_of),
                    repairs::created_at.eq(now),
                    repairs::updated_at.eq(now),
                ))
                .returning(repairs::id)
                .get_result(conn)?)
        },
        |_, _, _| Ok(()),
    )?;
    Ok(repair.repair)
}

fn birth_of(actor: &Actor, severity: RepairSeverity) -> AppResult<&'static Creation<RepairStatus>> {
    workflow::creation::<RepairFlow>(
        actor,
        match severity {
            RepairSeverity::Emergency => "report_emergency",
            RepairSeverity::Normal => "report",
        },
    )
}

/// Reports a repair: the response clock (24 h, 8 h for an emergency) and
/// the 2-day confirmation run from `reported_at`.
pub fn report(conn: &mut DbConn, ctx: Ctx<'_>, input: &NewRepair) -> AppResult<RepairDetail> {
    let Ctx { actor, now, .. } = ctx;
    let birth = birth_of(actor, input.severity)?;
    let reported_at = not_in_future(input.reported_at, now, "reported_at")?;
    let mut errors = vec![];
    let own_account = actor.role == Role::Customer;
    match input.source {
        RepairSource::App if !own_account => errors.push(FieldError::new(
            "source",
            "`app` is the owner's own account; record a call or a visit to the office as `owner_report`",
        )),
        RepairSource::VisitIssue | RepairSource::Complaint => errors.push(FieldError::new(
            "source",
            "a visit's issue and a complaint judged minor make their repair themselves: record the visit, or judge the complaint",
        )),
        s if own_account && s != RepairSource::App => errors.push(FieldError::new(
            "source",
            "a repair from the owner's own account comes by `app`",
        )),
        _ => {}
    }
    if own_account && reported_at < now - Duration::days(APP_BACKDATE_DAYS) {
        errors.push(FieldError::new(
            "reported_at",
            format!("a repair from the app was reported at most {APP_BACKDATE_DAYS} days before it is sent"),
        ));
    }
    if input.location.trim().is_empty() {
        errors.push(FieldError::new("location", "say where it is"));
    }
    if input.description.trim().is_empty() {
        errors.push(FieldError::new("description", "say what is wrong"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    write_tx(conn, |conn| {
        let project = projects::get(conn, actor, input.project_id).map_err(|_| {
            AppError::missing_reference(
                "project_id",
                format!("project {} not found", input.project_id),
            )
        })?;
        let repair = insert(
            conn,
            ctx,
            birth,
            &Reported {
                project: &project,
                source: input.source,
                visit_id: None,
                complaint_id: None,
                category: input.category,
                location: &input.location,
                description: &input.description,
                severity: input.severity,
                reported_at,
            },
        )?;
        attach(conn, ctx, repair.id, &input.attachment_ids)?;
        detail(conn, actor, repair)
    })
}

/// The repair of a visit's issue (ours, under warranty) or of a complaint
/// judged minor, made inside that step's transaction; answers its id.
pub fn open_from(conn: &mut DbConn, ctx: Ctx<'_>, r: &Reported<'_>) -> AppResult<i64> {
    let birth = workflow::creation::<RepairFlow>(
        ctx.actor,
        match r.source {
            RepairSource::VisitIssue => "open_from_visit",
            _ => "open_from_complaint",
        },
    )?;
    Ok(insert(conn, ctx, birth, r)?.id)
}

/// What a step records for its timeline (the repair record form): its
/// fields, a note never shown to the owner, the uploads it attaches.
struct Recorded<'a> {
    details: serde_json::Value,
    internal_note: Option<&'a str>,
    attachment_ids: &'a [i64],
}

/// Takes one step of the table on the kit (scope, role, state, `If-Match`,
/// `check`, the guarded write, the clocks), then the step's own columns
/// (`write`), its record and its attachments; answers the repair as the
/// caller reads it.
fn take(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    request: Request<'_, RepairAction>,
    check: impl FnOnce(&mut DbConn, &RepairRecord) -> AppResult<()>,
    write: impl FnOnce(&mut DbConn, &RepairRecord) -> AppResult<()>,
    recorded: Recorded<'_>,
) -> AppResult<RepairDetail> {
    let action = request.action;
    let r = workflow::run::<RepairFlow>(conn, ctx, id, request, check, |conn, before, _| {
        write(conn, before)?;
        write_step(
            conn,
            ctx,
            &before.repair,
            action,
            recorded.details,
            recorded.internal_note,
        )?;
        attach(conn, ctx, before.id, recorded.attachment_ids)
    })?;
    answered(conn, ctx.actor, r)
}

/// What a step writes to the repair's own columns, chosen by its input.
type StepWrite<'a> = dyn FnOnce(&mut DbConn, &RepairRecord) -> AppResult<()> + 'a;

fn no_check(_: &mut DbConn, _: &RepairRecord) -> AppResult<()> {
    Ok(())
}

fn closed(ctx: Ctx<'_>) -> impl FnOnce(&mut DbConn, &RepairRecord) -> AppResult<()> + '_ {
    move |conn, before| {
        diesel::update(repairs::table.find(before.id))
            .set(repairs::closed_at.eq(ctx.now))
            .execute(conn)?;
        Ok(())
    }
}

/// Someone is on site.
pub fn arrive(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairArrival,
) -> AppResult<RepairDetail> {
    let late = input.late_reason.as_deref();
    take(
        conn,
        ctx,
        id,
        Request::new(RepairAction::Arrive, expected_version, late),
        no_check,
        no_check,
        Recorded {
            details: serde_json::json!({ "note": trimmed(input.note.as_deref()) }),
            internal_note: input.internal_note.as_deref(),
            attachment_ids: &input.attachment_ids,
        },
    )
}

/// What a confirmation of a defect decided, before it is written.
struct Decided {
    covered: bool,
    liability: RepairLiability,
    payer: RepairPayer,
    billable: bool,
    scale: RepairScale,
}

fn decide(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    repair: &Repair,
    input: &RepairConfirmation,
) -> AppResult<Decided> {
    let Ctx { actor, config, .. } = ctx;
    let mut errors = vec![];
    let required = |errors: &mut Vec<FieldError>, field: &str, given: bool, what: &str| {
        if !given {
            errors.push(FieldError::new(field, what));
        }
    };
    required(
        &mut errors,
        "liability",
        input.liability.is_some(),
        "required for a defect: who is liable",
    );
    required(
        &mut errors,
        "cause",
        trimmed(input.cause.as_deref()).is_some(),
        "required for a defect: the cause found",
    );
    required(
        &mut errors,
        "measures",
        trimmed(input.measures.as_deref()).is_some(),
        "required for a defect: the measures to take",
    );
    required(
        &mut errors,
        "scale",
        input.scale.is_some(),
        "required for a defect: small or large",
    );
    if input.covered_override.is_some() != trimmed(input.override_reason.as_deref()).is_some() {
        errors.push(FieldError::new(
            "override_reason",
            "the coverage the warranty terms give is changed only with a reason, and a reason comes only with `covered_override`",
        ));
    }
    if input.structural_safety {
        if input.supervision_report.is_none() {
            errors.push(FieldError::new(
                "supervision_report",
                "a structural-safety defect is reported to the quality supervision station before work starts (002)",
            ));
        }
        if input.attachment_ids.is_empty() {
            errors.push(FieldError::new(
                "attachment_ids",
                "attach the design unit's repair scheme of a structural-safety defect (002)",
            ));
        }
    }
    let (Some(liability), Some(scale)) = (input.liability, input.scale) else {
        return Err(AppError::Validation(errors));
    };
    match (liability, input.subcontractor_contact_id) {
        (RepairLiability::Subcontractor, None) => errors.push(FieldError::new(
            "subcontractor_contact_id",
            "name the liable subcontractor (its contact on the ledger)",
        )),
        (RepairLiability::Subcontractor, Some(_)) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "subcontractor_contact_id",
            "only with `liability: subcontractor`",
        )),
        _ => {}
    }
    let shares = input.shares.clone().unwrap_or_default();
    match (liability, &input.shares) {
        (RepairLiability::Shared, None) => errors.push(FieldError::new(
            "shares",
            "a shared liability names each party's percent",
        )),
        (RepairLiability::Shared, Some(s)) => {
            let total: i32 = s.iter().map(|s| s.percent).sum();
            if total != 100 {
                errors.push(FieldError::new(
                    "shares",
                    format!("the shares sum to {total}; they must sum to exactly 100"),
                ));
            }
            for (i, share) in s.iter().enumerate() {
                match (share.party, share.contact_id) {
                    (SharedParty::Subcontractor, None) => errors.push(FieldError::new(
                        format!("shares[{i}].contact_id"),
                        "name the subcontractor (its contact on the ledger)",
                    )),
                    (SharedParty::Subcontractor, Some(_)) | (_, None) => {}
                    (_, Some(_)) => errors.push(FieldError::new(
                        format!("shares[{i}].contact_id"),
                        "only a subcontractor's share names a contact",
                    )),
                }
            }
        }
        (_, Some(_)) => errors.push(FieldError::new("shares", "only with `liability: shared`")),
        _ => {}
    }
    match (scale, input.target_days) {
        (RepairScale::Large, None) => errors.push(FieldError::new(
            "target_days",
            "a large repair has its target in working days",
        )),
        (RepairScale::Small, Some(_)) => errors.push(FieldError::new(
            "target_days",
            "a small repair is done within 24 hours of the repair order; no target",
        )),
        (RepairScale::Large, Some(days)) => {
            let policy = deadlines::current_policy(conn, Rule::RepairCompleteLarge)?;
            let min = policy.min_duration.unwrap_or(1);
            if days < min || days > policy.duration {
                errors.push(FieldError::new(
                    "target_days",
                    format!(
                        "a large repair is done within {min} to {} working days (002)",
                        policy.duration
                    ),
                ));
            }
        }
        (RepairScale::Small, None) => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(c) = input.subcontractor_contact_id {
        subcontractor(conn, repair.project_id, c, "subcontractor_contact_id")?;
    }
    for (i, share) in shares.iter().enumerate() {
        if let Some(c) = share.contact_id {
            subcontractor(
                conn,
                repair.project_id,
                c,
                &format!("shares[{i}].contact_id"),
            )?;
        }
    }
    // the warranty service's answer for the component on the reported day
    let day = calendar::local_day(repair.reported_at, config.tz);
    let category: WarrantyCategory = repair
        .category
        .parse()
        .map_err(|_| AppError::internal("unknown repair category"))?;
    let in_term = projects::warranty_status(conn, actor, repair.project_id, day, Some(category))?
        .under_warranty_until
        .is_some();
    let covered = input.covered_override.unwrap_or(in_term);
    let (payer, billable) = payer_of(liability, covered, &shares);
    if billable && input.quote.is_empty() {
        return Err(AppError::rule(
            "quote_required",
            "quote",
            format!("the owner pays for this repair ({liability}, covered: {covered}): give the quote they agree to before work starts (002)"),
        ));
    }
    if !billable && !input.quote.is_empty() {
        return Err(AppError::invalid(
            "quote",
            "a repair the owner does not pay for has no quote",
        ));
    }
    Ok(Decided {
        covered,
        liability,
        payer,
        billable,
        scale,
    })
}

/// The project department confirms within 2 days of the report: not a
/// defect (explained to the owner), or a defect with its coverage,
/// liability, payer, cause, measures and scale.
pub fn confirm(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairConfirmation,
) -> AppResult<RepairDetail> {
    let late = input.late_reason.as_deref();
    let explanation = trimmed(input.explanation.as_deref());
    if input.outcome == RepairOutcome::NotADefect {
        if explanation.is_none() {
            return Err(AppError::invalid(
                "explanation",
                "say what the owner is told: why it is not a defect",
            ));
        }
        return take(
            conn,
            ctx,
            id,
            Request::new(RepairAction::ConfirmNotADefect, expected_version, late),
            no_check,
            closed(ctx),
            Recorded {
                details: serde_json::json!({
                    "outcome": RepairOutcome::NotADefect, "explanation": explanation,
                }),
                internal_note: input.internal_note.as_deref(),
                attachment_ids: &input.attachment_ids,
            },
        );
    }
    // the action depends on who pays: decided from the record, in the step
    let decided = write_tx(conn, |conn| {
        let repair = load(conn, ctx.actor, id)?;
        let status = RepairStatus::from_db(&repair.status)?;
        // refuse a wrong role or state before judging the body
        workflow::transition::<RepairFlow>(ctx.actor.role, status, RepairAction::ConfirmFree)?;
        decide(conn, ctx, &repair, input)
    })?;
    let action = if decided.billable {
        RepairAction::ConfirmBillable
    } else {
        RepairAction::ConfirmFree
    };
    let details = serde_json::json!({
        "outcome": RepairOutcome::Defect,
        "explanation": explanation,
        "covered": decided.covered,
        "covered_override": input.covered_override,
        "override_reason": trimmed(input.override_reason.as_deref()),
        "liability": decided.liability,
        "subcontractor_contact_id": input.subcontractor_contact_id,
        "shares": input.shares,
        "payer": decided.payer,
        "billable": decided.billable,
        "cause": trimmed(input.cause.as_deref()),
        "measures": trimmed(input.measures.as_deref()),
        "scale": decided.scale,
        "target_days": input.target_days,
        "structural_safety": input.structural_safety,
        "supervision_report": input.supervision_report,
    });
    let write = |conn: &mut DbConn, before: &RepairRecord| {
        diesel::update(repairs::table.find(before.id))
            .set((
                repairs::covered.eq(decided.covered),
                repairs::liability.eq(decided.liability.as_str()),
                repairs::payer.eq(decided.payer.as_str()),
                repairs::billable.eq(decided.billable),
                repairs::scale.eq(decided.scale.as_str()),
                repairs::target_days.eq(input.target_days),
            ))
            .execute(conn)?;
        let quote = RepairCostKind::Quote;
        write_lines(conn, ctx.now, &before.repair, quote, &input.quote, "quote")
    };
    take(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, late),
        no_check,
        write,
        Recorded {
            details,
            internal_note: input.internal_note.as_deref(),
            attachment_ids: &input.attachment_ids,
        },
    )
}

/// A paper signature recorded by staff names who signed and when; the
/// owner's own account signs by answering.
fn signature(
    actor: &Actor,
    signed_by: Option<&str>,
    signed_on: Option<NaiveDate>,
    today: NaiveDate,
    earliest: Option<NaiveDate>,
) -> AppResult<serde_json::Value> {
    if actor.role == Role::Customer {
        return Ok(serde_json::json!({ "by": "app" }));
    }
    let mut errors = vec![];
    let signer = trimmed(signed_by);
    if signer.is_none() {
        errors.push(FieldError::new(
            "signed_by",
            "staff record the owner's signed form: who signed it",
        ));
    }
    match signed_on {
        None => errors.push(FieldError::new(
            "signed_on",
            "staff record the owner's signed form: the day it was signed",
        )),
        Some(d) if d > today => {
            errors.push(FieldError::new("signed_on", "must not be after today"))
        }
        Some(d) if earliest.is_some_and(|e| d < e) => errors.push(FieldError::new(
            "signed_on",
            format!(
                "signed on or after the work was completed ({})",
                earliest.unwrap_or(d)
            ),
        )),
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(serde_json::json!({ "by": "paper", "signed_by": signer, "signed_on": signed_on }))
}

/// The owner agrees to the quote (work may be ordered) or declines (closed).
pub fn agree(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairAgreement,
) -> AppResult<RepairDetail> {
    let today = calendar::local_day(ctx.now, ctx.config.tz);
    let (by, on) = (input.signed_by.as_deref(), input.signed_on);
    // judged in the step, after its state: a paper form needs its signer
    let signed = signature(ctx.actor, by, on, today, None);
    let details = serde_json::json!({
        "decision": input.decision,
        "signature": signed.as_ref().ok(),
    });
    let (action, write): (_, Box<StepWrite<'_>>) = match input.decision {
        AgreementDecision::Accepted => (RepairAction::Agree, Box::new(no_check)),
        AgreementDecision::Declined => (RepairAction::Decline, Box::new(closed(ctx))),
    };
    take(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, None),
        |_, _| signed.map(drop),
        write,
        Recorded {
            details,
            internal_note: None,
            attachment_ids: &input.attachment_ids,
        },
    )
}

/// The project department's project manager, the default repair lead.
fn department_manager(conn: &mut DbConn, repair: &Repair) -> AppResult<Option<i64>> {
    Ok(users::table
        .filter(users::org_unit_id.eq(repair.project_department_id))
        .filter(users::role.eq(Role::ProjectManager.as_str()))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// The branch engineering department issues the repair order (签发): the
/// lead and the crew; the completion clock starts (small: 24 hours;
/// large: the confirmed working days), held by the lead.
pub fn dispatch(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairDispatch,
) -> AppResult<RepairDetail> {
    if input.crew.trim().is_empty() {
        return Err(AppError::invalid("crew", "say who does the work"));
    }
    // the lead holds the completion clock the order starts
    let lead = write_tx(conn, |conn| {
        let repair = load(conn, ctx.actor, id)?;
        let status = RepairStatus::from_db(&repair.status)?;
        workflow::transition::<RepairFlow>(ctx.actor.role, status, RepairAction::Dispatch)?;
        if let Some(c) = input.subcontractor_contact_id {
            subcontractor(conn, repair.project_id, c, "subcontractor_contact_id")?;
        }
        match input.lead_user_id {
            Some(u) => lead_in_reach(conn, u, &repair.scope_path).map(|()| u),
            None => department_manager(conn, &repair)?.ok_or_else(|| {
                AppError::invalid(
                    "lead_user_id",
                    "the project department has no active project manager: name the repair lead",
                )
            }),
        }
    })?;
    let request = Request::new(RepairAction::Dispatch, expected_version, None).held_by(lead);
    take(
        conn,
        ctx,
        id,
        request,
        no_check,
        |conn, before| {
            diesel::update(repairs::table.find(before.id))
                .set(repairs::lead_user_id.eq(lead))
                .execute(conn)?;
            Ok(())
        },
        Recorded {
            details: serde_json::json!({
                "lead_user_id": lead,
                "crew": input.crew.trim(),
                "subcontractor_contact_id": input.subcontractor_contact_id,
            }),
            internal_note: input.internal_note.as_deref(),
            attachment_ids: &[],
        },
    )
}

/// A repair lead: an active project manager or staff member of the
/// project's branch (a nearby project department's manager may lead).
fn lead_in_reach(conn: &mut DbConn, user_id: i64, scope_path: &str) -> AppResult<()> {
    crate::services::person_in_reach(conn, user_id, scope_path, "lead_user_id")?;
    let role: Option<(String, bool)> = users::table
        .find(user_id)
        .select((users::role, users::active))
        .first(conn)
        .optional()?;
    match role {
        Some((r, true)) if r == Role::ProjectManager.as_str() || r == Role::Staff.as_str() => {
            Ok(())
        }
        _ => Err(AppError::invalid(
            "lead_user_id",
            "the repair lead is an active project manager or staff member",
        )),
    }
}

/// Work waits (for the owner, their materials, the weather): the completion
/// clock stops until it resumes.
pub fn hold(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairHold,
) -> AppResult<RepairDetail> {
    let note = input.note.trim();
    if note.is_empty() {
        return Err(AppError::invalid("note", "say what the work waits for"));
    }
    let reason = format!("{}: {note}", input.reason);
    let request = Request::new(RepairAction::Hold, expected_version, None).pausing(&reason);
    take(
        conn,
        ctx,
        id,
        request,
        no_check,
        no_check,
        Recorded {
            details: serde_json::json!({ "reason": input.reason, "note": note }),
            internal_note: None,
            attachment_ids: &[],
        },
    )
}

/// Work goes on: the completion clock runs again, due later by the time held.
pub fn resume(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairResume,
) -> AppResult<RepairDetail> {
    take(
        conn,
        ctx,
        id,
        Request::new(RepairAction::Resume, expected_version, None),
        no_check,
        no_check,
        Recorded {
            details: serde_json::json!({ "note": trimmed(input.note.as_deref()) }),
            internal_note: None,
            attachment_ids: &[],
        },
    )
}

/// The lead reports the work done, with the after photos and what it cost.
pub fn complete(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairCompletion,
) -> AppResult<RepairDetail> {
    if input.work_done.trim().is_empty() {
        return Err(AppError::invalid("work_done", "say what was done"));
    }
    if input.attachment_ids.is_empty() {
        return Err(AppError::invalid(
            "attachment_ids",
            "attach at least one photo of the work done",
        ));
    }
    let late = input.late_reason.as_deref();
    take(
        conn,
        ctx,
        id,
        Request::new(RepairAction::Complete, expected_version, late),
        no_check,
        |conn, before| {
            let actual = RepairCostKind::Actual;
            write_lines(
                conn,
                ctx.now,
                &before.repair,
                actual,
                &input.cost_lines,
                "cost_lines",
            )
        },
        Recorded {
            details: serde_json::json!({
                "work_done": input.work_done.trim(),
                "materials": trimmed(input.materials.as_deref()),
                "labour_hours": input.labour_hours,
            }),
            internal_note: input.internal_note.as_deref(),
            attachment_ids: &input.attachment_ids,
        },
    )
}

/// One more round of work.
fn next_round(conn: &mut DbConn, before: &RepairRecord) -> AppResult<()> {
    diesel::update(repairs::table.find(before.id))
        .set(repairs::rounds.eq(before.repair.rounds + 1))
        .execute(conn)?;
    Ok(())
}

/// The quality side (branch engineering) passes the work, or fails it with
/// the reasons: back to work, another round.
pub fn inspect(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairInspection,
) -> AppResult<RepairDetail> {
    let reasons = trimmed(input.reasons.as_deref());
    let action = match input.result {
        InspectionResult::Pass => RepairAction::Pass,
        InspectionResult::Fail if reasons.is_none() => {
            return Err(AppError::invalid(
                "reasons",
                "say what is wrong with the work",
            ))
        }
        InspectionResult::Fail => RepairAction::Fail,
    };
    take(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, None),
        no_check,
        |conn, before| match action {
            RepairAction::Fail => next_round(conn, before),
            _ => Ok(()),
        },
        Recorded {
            details: serde_json::json!({ "result": input.result, "reasons": reasons }),
            internal_note: input.internal_note.as_deref(),
            attachment_ids: &[],
        },
    )
}

/// The owner accepts and signs (with their rating; the follow-up visit
/// comes 1 week to 1 month later), or rejects: back to work.
pub fn accept(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &RepairAcceptance,
) -> AppResult<RepairDetail> {
    let reason = trimmed(input.reason.as_deref());
    let action = match input.decision {
        AcceptanceDecision::Accepted if input.rating.is_none() => {
            return Err(AppError::invalid(
                "rating",
                "the owner's satisfaction with the repair",
            ))
        }
        AcceptanceDecision::Accepted => RepairAction::Accept,
        AcceptanceDecision::Rejected if reason.is_none() => {
            return Err(AppError::invalid(
                "reason",
                "say what is wrong with the work",
            ))
        }
        AcceptanceDecision::Rejected => RepairAction::Reject,
    };
    let today = calendar::local_day(ctx.now, ctx.config.tz);
    let (by, on) = (input.signed_by.as_deref(), input.signed_on);
    let details = serde_json::json!({
        "decision": input.decision, "rating": input.rating, "reason": reason,
        "signature": signature(ctx.actor, by, on, today, None).ok(),
    });
    // a paper sign-off is dated on or after the work was completed
    let check = |conn: &mut DbConn, before: &RepairRecord| -> AppResult<()> {
        let completed = last_step_at(conn, before.id, RepairAction::Complete)?
            .map(|at| calendar::local_day(at, ctx.config.tz));
        signature(ctx.actor, by, on, today, completed).map(drop)
    };
    take(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, None),
        check,
        |conn, before| match action {
            RepairAction::Reject => next_round(conn, before),
            _ => Ok(()),
        },
        Recorded {
            details,
            internal_note: None,
            attachment_ids: &input.attachment_ids,
        },
    )
}

fn last_step_at(
    conn: &mut DbConn,
    repair_id: i64,
    action: RepairAction,
) -> AppResult<Option<NaiveDateTime>> {
    Ok(repair_steps::table
        .filter(repair_steps::repair_id.eq(repair_id))
        .filter(repair_steps::action.eq(action.as_str()))
        .order(repair_steps::id.desc())
        .select(repair_steps::recorded_at)
        .first(conn)
        .optional()?)
}

/// A follow-up visit names its repair: a repair of the visit's project, in
/// the visitor's scope, signed off at least a week before the visit (001);
/// earlier is refused naming the first day allowed.
pub fn check_followup(
    conn: &mut DbConn,
    actor: &Actor,
    config: &crate::config::Config,
    repair_id: i64,
    project_id: i64,
    visited_at: NaiveDateTime,
) -> AppResult<()> {
    let repair = load(conn, actor, repair_id).map_err(|_| {
        AppError::missing_reference("repair_id", format!("repair {repair_id} not found"))
    })?;
    if repair.project_id != project_id {
        return Err(AppError::invalid(
            "repair_id",
            format!("repair {repair_id} is of another project"),
        ));
    }
    if repair.status != RepairStatus::Accepted.as_str() {
        return Err(AppError::conflict(
            "repair_not_accepted",
            format!(
                "repair {repair_id} is {}: a follow-up visit comes after the owner accepted the work",
                repair.status
            ),
        ));
    }
    let accepted =
        last_step_at(conn, repair_id, RepairAction::Accept)?.unwrap_or(repair.updated_at);
    let first = calendar::local_day(accepted, config.tz) + Duration::days(FOLLOWUP_AFTER_DAYS);
    if calendar::local_day(visited_at, config.tz) < first {
        return Err(AppError::rule(
            "followup_too_early",
            "visited_at",
            format!("a repair's follow-up visit comes at least {FOLLOWUP_AFTER_DAYS} days after it was accepted: on {first} at the earliest (001)"),
        ));
    }
    Ok(())
}

/// The visit's effect on the repair it follows up: closed.
pub fn follow_up(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, late: Option<&str>) -> AppResult<()> {
    let request = Request::new(RepairAction::FollowUp, None, late);
    workflow::run_linked::<RepairFlow>(conn, ctx, id, request)?;
    diesel::update(repairs::table.find(id))
        .set(repairs::closed_at.eq(ctx.now))
        .execute(conn)?;
    Ok(())
}

/// A renewed complaint names a repair: one of the complaint's project,
/// repaired (accepted or closed), in the caller's scope.
pub fn check_renewed(
    conn: &mut DbConn,
    actor: &Actor,
    repair_id: i64,
    project_id: i64,
) -> AppResult<()> {
    let repair = load(conn, actor, repair_id).map_err(|_| {
        AppError::missing_reference("repair_id", format!("repair {repair_id} not found"))
    })?;
    if repair.project_id != project_id {
        return Err(AppError::invalid(
            "repair_id",
            format!("repair {repair_id} is of another project"),
        ));
    }
    let status = RepairStatus::from_db(&repair.status)?;
    if !matches!(status, RepairStatus::Accepted | RepairStatus::Closed) {
        return Err(AppError::conflict(
            "repair_not_repaired",
            format!("repair {repair_id} is {status}: a complaint reopens a repair once its work was accepted"),
        ));
    }
    Ok(())
}

/// Records that a complaint names a repaired defect (its effect then
/// reopens the repair).
pub fn note_renewed(conn: &mut DbConn, complaint_id: i64, repair_id: i64) -> AppResult<()> {
    let rounds: i32 = repairs::table
        .find(repair_id)
        .select(repairs::rounds)
        .first(conn)?;
    diesel::insert_into(repair_reopenings::table)
        .values((
            repair_reopenings::complaint_id.eq(complaint_id),
            repair_reopenings::repair_id.eq(repair_id),
            repair_reopenings::round.eq(rounds + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// The repair a complaint reopened, with its state.
pub fn reopened_by(conn: &mut DbConn, complaint_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(repair_reopenings::table
        .inner_join(repairs::table)
        .filter(repair_reopenings::complaint_id.eq(complaint_id))
        .select((repairs::id, repairs::status))
        .load(conn)?)
}

/// The complaint's effect on the repair it names: another round, rework
/// within 24 hours.
pub fn reopen(conn: &mut DbConn, ctx: Ctx<'_>, id: i64, _: Option<&str>) -> AppResult<()> {
    let request = Request::new(RepairAction::Reopen, None, None);
    let r = workflow::run_linked::<RepairFlow>(conn, ctx, id, request)?;
    diesel::update(repairs::table.find(id))
        .set((
            repairs::rounds.eq(r.repair.rounds + 1),
            repairs::closed_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    write_step(
        conn,
        ctx,
        &r.repair,
        RepairAction::Reopen,
        serde_json::json!({}),
        None,
    )
}

/// The repairs made of a complaint or a visit (linked both ways).
pub fn made_of_complaint(conn: &mut DbConn, complaint_id: i64) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = repairs::table
        .filter(repairs::complaint_id.eq(complaint_id))
        .select(repairs::id)
        .load(conn)?;
    ids.extend(
        repair_reopenings::table
            .filter(repair_reopenings::complaint_id.eq(complaint_id))
            .select(repair_reopenings::repair_id)
            .load::<i64>(conn)?,
    );
    Ok(ids)
}
