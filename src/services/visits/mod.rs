//! Return-visit records (回访记录, 000 §5, 004 appendix D, 003 表3.3.1): due
//! 24 hours after the visit (000 §5.5), with the people met, the findings,
//! the issues found and their liability (000 §5.4), the weighted
//! satisfaction survey (002; a dissatisfied rating opens a complaint, 003
//! §5.9.2) and the owner's confirmation (业主签字确认). The confirmation is
//! one table on the transition kit.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{users, visit_issues, visit_surveys, visit_visitors, visits};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::attachments::{AttachmentPolicy, ENGINEERING};
use crate::models::attachment::SubjectType;
use crate::models::complaint::Rating;
use crate::models::deadline::Rule;
use crate::models::project::WarrantyCategory;
use crate::models::user::Role;
use crate::models::visit::{
    ConfirmationMethod, IssueLiability, SurveyFactor, Visit, VisitAction, VisitIssue, VisitKind,
    VisitMethod, VisitOutcome, VisitStatus, VisitSurvey, SURVEY_SCORES,
};
use crate::services::IfMatch;

use super::complaints::{self, FromVisit};
use super::repairs;
use super::trimmed;
use super::{projects, Page, Paged};
use crate::kit::attachments::{self, CLOCK_SKEW_MINUTES};
use crate::kit::deadlines::NewDeadline;
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Does, Effect, Request, Transition};
use crate::models::repair::{RepairSeverity, RepairSource};

// ---- requests ----------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "李经理 Manager Li", "department": "物业公司 property company", "title": "经理 manager"}))]
pub struct PersonMet {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub department: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub title: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "地下室外墙渗水 the basement wall seeps", "component": "waterproofing",
    "location": "2 号楼地下一层 building 2, B1", "liability": "ours"}))]
pub struct IssueInput {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: String,
    /// The warranty category of the component: decides whether it is under warranty.
    pub component: WarrantyCategory,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub location: String,
    pub liability: IssueLiability,
    /// Required when `not_ours`: why it is not ours.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub explanation: Option<String>,
    /// Required when `not_ours`: the advice given to the owner.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub advice: Option<String>,
}

/// One factor's mark: 100, 80, 60, 30 or 0 (002's five levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SurveyMark(pub i32);

impl utoipa::PartialSchema for SurveyMark {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int32,
            )))
            .minimum(Some(0))
            .maximum(Some(100))
            .enum_values(Some(SURVEY_SCORES))
            .description(Some("One factor's mark: 100, 80, 60, 30 or 0"))
            .into()
    }
}

impl ToSchema for SurveyMark {}

/// The ten factors' marks (002), each weighted: construction quality 0.20;
/// problem handling and preparation 0.05; the rest 0.10.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"communication": 80, "construction_quality": 60, "attitude": 80,
    "problem_handling": 30, "preparation": 80, "schedule": 80, "safety": 80, "site_civility": 80,
    "environment": 80, "coordination": 80}))]
pub struct SurveyScores {
    /// 沟通 communication, 0.10
    pub communication: SurveyMark,
    /// 工程质量 construction quality, 0.20
    pub construction_quality: SurveyMark,
    /// 服务态度 attitude, 0.10
    pub attitude: SurveyMark,
    /// 问题处理 problem handling, 0.05
    pub problem_handling: SurveyMark,
    /// 前期准备及方案 preparation and plan, 0.05
    pub preparation: SurveyMark,
    /// 工期 schedule, 0.10
    pub schedule: SurveyMark,
    /// 安全 safety, 0.10
    pub safety: SurveyMark,
    /// 文明施工 site civility, 0.10
    pub site_civility: SurveyMark,
    /// 环境保护 environment, 0.10
    pub environment: SurveyMark,
    /// 与周边协调 coordination with the neighbours, 0.10
    pub coordination: SurveyMark,
}

impl SurveyScores {
    /// The mark of one factor.
    pub fn of(&self, factor: SurveyFactor) -> i32 {
        match factor {
            SurveyFactor::Communication => self.communication.0,
            SurveyFactor::ConstructionQuality => self.construction_quality.0,
            SurveyFactor::Attitude => self.attitude.0,
            SurveyFactor::ProblemHandling => self.problem_handling.0,
            SurveyFactor::Preparation => self.preparation.0,
            SurveyFactor::Schedule => self.schedule.0,
            SurveyFactor::Safety => self.safety.0,
            SurveyFactor::SiteCivility => self.site_civility.0,
            SurveyFactor::Environment => self.environment.0,
            SurveyFactor::Coordination => self.coordination.0,
        }
    }
}

/// The satisfaction survey (002): every one of the ten factors scored 100,
/// 80, 60, 30 or 0, and the overall rating.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scores": {"communication": 80, "construction_quality": 60, "attitude": 80,
    "problem_handling": 30, "preparation": 80, "schedule": 80, "safety": 80, "site_civility": 80,
    "environment": 80, "coordination": 80}, "rating": "basically_satisfied"}))]
pub struct SurveyInput {
    pub scores: SurveyScores,
    pub rating: Rating,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "project_id": 3, "kind": "routine", "method": "onsite", "visited_at": "2026-11-20T02:00:00Z",
    "people_met": [{"name": "李经理 Manager Li", "department": "物业公司", "title": "经理"}],
    "findings": "外立面完好，地下室外墙渗水一处 facade fine, one seep in the basement",
    "owner_opinion": "希望尽快处理渗水 please fix the seep soon", "outcome": "completed",
    "issues": [{"description": "地下室外墙渗水", "component": "waterproofing", "location": "2 号楼地下一层", "liability": "ours"}]
}))]
pub struct NewVisit {
    pub project_id: i64,
    pub kind: VisitKind,
    pub method: VisitMethod,
    /// When the visit took place (not in the future); the record is due 24
    /// hours later.
    pub visited_at: DateTime<Utc>,
    /// Who visited (staff of the project's department or above it); default: you.
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    pub visitor_ids: Vec<i64>,
    #[serde(default)]
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    pub people_met: Vec<PersonMet>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub findings: String,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub owner_opinion: Option<String>,
    /// The owner's number a phone visit reached; required for a completed phone visit (001).
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub owner_phone: Option<String>,
    pub outcome: VisitOutcome,
    /// Required when `contact_failed`: why the owner could not be reached.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub contact_failed_reason: Option<String>,
    /// The complaint a `complaint` visit revisits (required for that kind).
    pub complaint_id: Option<i64>,
    /// The repair a `repair_followup` visit follows up (required for that
    /// kind): accepted by the owner at least 7 days before the visit; the
    /// visit closes it.
    pub repair_id: Option<i64>,
    /// The item of an approved visit plan this visit carries out: the item
    /// is done (re-planned on site when the owner was not reached) and its
    /// task settled.
    pub plan_item_id: Option<i64>,
    #[serde(default)]
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    pub issues: Vec<IssueInput>,
    pub survey: Option<SurveyInput>,
    /// Why the record comes more than 24 hours after the visit; required then.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"signer_name": "李经理 Manager Li", "signed_on": "2026-11-20"}))]
pub struct ConfirmationInput {
    /// Staff recording a paper signature: who signed (required then).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub signer_name: Option<String>,
    /// Staff recording a paper signature: the day it was signed (required then).
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub signed_on: Option<NaiveDate>,
}

#[derive(Debug, Default, Clone)]
pub struct VisitFilter {
    pub project_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub kind: Option<VisitKind>,
    pub method: Option<VisitMethod>,
    pub outcome: Option<VisitOutcome>,
    pub status: Option<VisitStatus>,
    pub visitor_id: Option<i64>,
    pub visited_from: Option<NaiveDateTime>,
    pub visited_to: Option<NaiveDateTime>,
}

/// A visit with its visitors, issues and survey.
#[derive(Debug)]
pub struct VisitDetail {
    pub visit: Visit,
    pub visitor_ids: Vec<i64>,
    pub issues: Vec<VisitIssue>,
    pub survey: Option<VisitSurvey>,
}

// ---- the survey --------------------------------------------------------

/// Checks the ten scores and answers the weighted total in tenths (exact:
/// every weight is a multiple of 0.05 and every score of 10).
pub fn weighted_score_tenths(scores: &SurveyScores) -> AppResult<i32> {
    let mut errors = vec![];
    let mut total = 0;
    for factor in SurveyFactor::ALL {
        let mark = scores.of(*factor);
        if SURVEY_SCORES.contains(&mark) {
            total += factor.weight_pct() * mark;
        } else {
            errors.push(FieldError::new(
                format!("survey.scores.{factor}"),
                "must be 100, 80, 60, 30 or 0",
            ));
        }
    }
    if errors.is_empty() {
        Ok(total / 10)
    } else {
        Err(AppError::Validation(errors))
    }
}

// ---- the confirmation workflow ----------------------------------------

/// Staff who may record a paper signature: those who visit.
pub(crate) const VISITORS: &[Role] = &[
    Role::GroupEngineer,
    Role::BranchEngineer,
    Role::BranchLeader,
    Role::ProjectManager,
    Role::Staff,
];

pub struct VisitFlow;

static TABLE: &[Transition<VisitStatus, VisitAction, Visit>] = crate::transitions![VisitStatus, VisitAction;
    [Recorded] Confirm => Confirmed, by &[Role::Customer], event VisitConfirmed;
    [Recorded] RecordSignature => Confirmed, by VISITORS, event VisitConfirmed;
];

/// A visit is recorded by those who made it. The 24-hour rule on the
/// engine: the clock runs from the visit and is met by this record (late
/// without a reason: nothing is kept).
static CREATIONS: &[Creation<VisitStatus>] = crate::creations![VisitStatus;
    "record" => Recorded, by VISITORS, starts [VisitRecord], settles [VisitRecord],
        effects [REVISIT_MET, REPAIR_FOLLOWED_UP], event VisitRecorded;
];

/// The revisit a resolved complaint waits for (001: the branch revisits
/// within 3 days): met by a complaint visit recorded by the role its clock
/// names, while the complaint waits for it. Any other complaint visit is
/// kept as a record and meets no clock.
const REVISIT_MET: Effect = Effect {
    on: "complaint",
    when: &["revisit_due"],
    does: Does::SettleHeld(Rule::ComplaintRevisit),
};

/// A repair's follow-up visit (001) closes the repair it names.
const REPAIR_FOLLOWED_UP: Effect = Effect {
    on: "repair",
    when: &["accepted"],
    does: Does::Step("follow_up", repairs::follow_up),
};

/// A visit record's attachments: the branch organises the visits (001:
/// the branch revisits); the owner reads them but adds none.
pub const ATTACHMENTS: AttachmentPolicy = AttachmentPolicy {
    stewards: ENGINEERING,
    department_stewards: false,
    writers_steward: false,
    customer_adds: false,
};

crate::workflow! {
    VisitFlow {
        name: "visit record",
        subject: Visit as "visit",
        state: VisitStatus = visits.status,
        action: VisitAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        clock: |v, rule, now| record_clock(v, rule, now, v.recorded_by),
        linked: |conn, v, on| match (on, v.complaint_id, v.repair_id) {
            ("repair", _, Some(id)) => Ok(crate::db::schema::repairs::table
                .find(id)
                .select((
                    crate::db::schema::repairs::id,
                    crate::db::schema::repairs::status,
                ))
                .load(conn)?),
            ("complaint", Some(id), _) => Ok(crate::db::schema::complaints::table
                .find(id)
                .select((
                    crate::db::schema::complaints::id,
                    crate::db::schema::complaints::status,
                ))
                .load(conn)?),
            _ => Ok(vec![]),
        },
    }
}

/// The 24-hour clock of a record (000 §5.5), from the visit, for the visitor.
fn record_clock(v: &Visit, rule: Rule, started_at: NaiveDateTime, visitor: i64) -> NewDeadline {
    NewDeadline::new(
        rule,
        ("visit", v.id),
        v.branch_id,
        started_at,
        (
            format!("Record the {} visit #{}", v.kind, v.id),
            format!("/api/v1/visits/{}", v.id),
        ),
    )
    .held_by(visitor)
}

// ---- reading -----------------------------------------------------------

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("visit {id} not found"))
}

/// Visits the caller may see: of projects in their subtree, or the
/// customer's own.
fn visible(actor: &Actor) -> Option<visits::BoxedQuery<'static, MultiBackend>> {
    let query = visits::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => Some(query.filter(crate::rows_in_subtree!(
            visits::table,
            visits::scope_path,
            &path
        ))),
        Scope::Customer(c) => Some(query.filter(visits::customer_id.eq(c))),
        Scope::Nothing => None,
    }
}

pub(crate) fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Visit> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(visits::id.eq(id))
        .select(Visit::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// Visits with their visitors, issues and surveys: three reads for any
/// number of visits.
fn details(conn: &mut DbConn, rows: Vec<Visit>) -> AppResult<Vec<VisitDetail>> {
    let ids: Vec<i64> = rows.iter().map(|v| v.id).collect();
    let visitors: Vec<(i64, i64)> = visit_visitors::table
        .filter(visit_visitors::visit_id.eq_any(&ids))
        .order((
            visit_visitors::visit_id.asc(),
            visit_visitors::user_id.asc(),
        ))
        .select((visit_visitors::visit_id, visit_visitors::user_id))
        .load(conn)?;
    let issues: Vec<VisitIssue> = visit_issues::table
        .filter(visit_issues::visit_id.eq_any(&ids))
        .order((visit_issues::visit_id.asc(), visit_issues::position.asc()))
        .select(VisitIssue::as_select())
        .load(conn)?;
    let surveys: Vec<VisitSurvey> = visit_surveys::table
        .filter(visit_surveys::visit_id.eq_any(&ids))
        .select(VisitSurvey::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|visit| VisitDetail {
            visitor_ids: visitors
                .iter()
                .filter(|(v, _)| *v == visit.id)
                .map(|(_, u)| *u)
                .collect(),
            issues: issues
                .iter()
                .filter(|i| i.visit_id == visit.id)
                .cloned()
                .collect(),
            survey: surveys.iter().find(|s| s.visit_id == visit.id).cloned(),
            visit,
        })
        .collect())
}

fn detail(conn: &mut DbConn, visit: Visit) -> AppResult<VisitDetail> {
    details(conn, vec![visit])?
        .pop()
        .ok_or_else(|| AppError::internal("a visit vanished while it was read"))
}

pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<VisitDetail> {
    let visit = load(conn, actor, id)?;
    detail(conn, visit)
}

/// The visits the caller sees, newest recorded first.
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &VisitFilter,
    page: Page,
) -> AppResult<Paged<VisitDetail>> {
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(p) = filter.project_id {
        query = query.filter(visits::project_id.eq(p));
    }
    if let Some(c) = filter.customer_id {
        query = query.filter(visits::customer_id.eq(c));
    }
    if let Some(k) = filter.kind {
        query = query.filter(visits::kind.eq(k.as_str()));
    }
    if let Some(m) = filter.method {
        query = query.filter(visits::method.eq(m.as_str()));
    }
    if let Some(o) = filter.outcome {
        query = query.filter(visits::outcome.eq(o.as_str()));
    }
    if let Some(s) = filter.status {
        query = query.filter(visits::status.eq(s.as_str()));
    }
    if let Some(u) = filter.visitor_id {
        query = query.filter(
            visits::id.eq_any(
                visit_visitors::table
                    .filter(visit_visitors::user_id.eq(u))
                    .select(visit_visitors::visit_id),
            ),
        );
    }
    if let Some(from) = filter.visited_from {
        query = query.filter(visits::visited_at.ge(from));
    }
    if let Some(to) = filter.visited_to {
        query = query.filter(visits::visited_at.lt(to));
    }
    if let Some(after) = page.after_id {
        query = query.filter(visits::id.lt(after));
    }
    let rows = query
        .order(visits::id.desc())
        .limit(page.limit + 1)
        .select(Visit::as_select())
        .load(conn)?;
    let paged = Paged::from_rows(rows, page, |v| v.id);
    Ok(Paged {
        items: details(conn, paged.items)?,
        next_after: paged.next_after,
    })
}

// ---- recording ---------------------------------------------------------

/// The checks of a record that need no database.
fn check_record(input: &NewVisit) -> AppResult<()> {
    let mut errors = vec![];
    match input.outcome {
        VisitOutcome::ContactFailed
            if trimmed(input.contact_failed_reason.as_deref()).is_none() =>
        {
            errors.push(FieldError::new(
                "contact_failed_reason",
                "say why the owner could not be reached (004 risk R03)",
            ))
        }
        VisitOutcome::Completed if input.contact_failed_reason.is_some() => {
            errors.push(FieldError::new(
                "contact_failed_reason",
                "only for a visit whose contact failed",
            ))
        }
        _ => {}
    }
    if input.method == VisitMethod::Phone
        && input.outcome == VisitOutcome::Completed
        && trimmed(input.owner_phone.as_deref()).is_none()
    {
        errors.push(FieldError::new(
            "owner_phone",
            "a phone visit records the owner's number it reached (001)",
        ));
    }
    match (input.kind, input.complaint_id) {
        (VisitKind::Complaint, None) => errors.push(FieldError::new(
            "complaint_id",
            "a complaint visit names the complaint it revisits",
        )),
        (k, Some(_)) if k != VisitKind::Complaint => errors.push(FieldError::new(
            "complaint_id",
            "only a visit of kind `complaint` names a complaint",
        )),
        _ => {}
    }
    match (input.kind, input.repair_id) {
        (VisitKind::RepairFollowup, None) => errors.push(FieldError::new(
            "repair_id",
            "a repair's follow-up visit names the repair it follows up",
        )),
        (k, Some(_)) if k != VisitKind::RepairFollowup => errors.push(FieldError::new(
            "repair_id",
            "only a visit of kind `repair_followup` names a repair",
        )),
        _ => {}
    }
    if input.outcome == VisitOutcome::ContactFailed && input.survey.is_some() {
        errors.push(FieldError::new(
            "survey",
            "no survey is taken when the owner was not reached",
        ));
    }
    for (i, issue) in input.issues.iter().enumerate() {
        if issue.liability == IssueLiability::NotOurs {
            for (field, value) in [
                ("explanation", &issue.explanation),
                ("advice", &issue.advice),
            ] {
                if trimmed(value.as_deref()).is_none() {
                    errors.push(FieldError::new(
                        format!("issues[{i}].{field}"),
                        "an issue that is not ours is explained to the owner, with advice (000 §5.4)",
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The visitors named (default: the caller): active staff whose unit is
/// the project's department or lies above it.
fn visitors(
    conn: &mut DbConn,
    actor: &Actor,
    input: &NewVisit,
    project_path: &str,
) -> AppResult<Vec<i64>> {
    if input.visitor_ids.is_empty() {
        return Ok(vec![actor.id]);
    }
    let mut errors = vec![];
    let mut ids = vec![];
    for (i, id) in input.visitor_ids.iter().enumerate() {
        super::person_in_reach(conn, *id, project_path, &format!("visitor_ids[{i}]"))?;
        let found: Option<(String, bool, Option<String>)> = users::table
            .left_join(crate::db::schema::org_units::table)
            .filter(users::id.eq(id))
            .select((
                users::role,
                users::active,
                crate::db::schema::org_units::path.nullable(),
            ))
            .first(conn)
            .optional()?;
        let eligible = found.is_some_and(|(role, active, path)| {
            active
                && role.parse::<Role>().is_ok_and(|r| VISITORS.contains(&r))
                && path.is_some_and(|p| project_path.starts_with(&p))
        });
        if !eligible {
            errors.push(FieldError::new(
                format!("visitor_ids[{i}]"),
                "not an active member of the staff of this project's department or above it",
            ));
        } else if ids.contains(id) {
            errors.push(FieldError::new(format!("visitor_ids[{i}]"), "named twice"));
        } else {
            ids.push(*id);
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Records a visit. The record is due 24 hours after the visit (000
/// §5.5): later it needs a `late_reason`, is kept and counted late. Issues
/// that are ours and under warranty on the visit day are marked for repair;
/// a `dissatisfied` survey opens a complaint; a complaint visit settles the
/// complaint's revisit clock.
pub fn record(conn: &mut DbConn, ctx: Ctx<'_>, input: &NewVisit) -> AppResult<VisitDetail> {
    let Ctx { actor, config, now } = ctx;
    let birth = workflow::creation::<VisitFlow>(actor, "record")?;
    let visited_at = input.visited_at.naive_utc();
    if visited_at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(AppError::invalid("visited_at", "must not be in the future"));
    }
    check_record(input)?;
    let tenths = match &input.survey {
        Some(s) => Some(weighted_score_tenths(&s.scores)?),
        None => None,
    };
    write_tx(conn, |conn| {
        let project = projects::get(conn, actor, input.project_id).map_err(|_| {
            AppError::missing_reference(
                "project_id",
                format!("project {} not found", input.project_id),
            )
        })?;
        if let Some(cid) = input.complaint_id {
            let c = complaints::load(conn, actor, cid).map_err(|_| {
                AppError::missing_reference("complaint_id", format!("complaint {cid} not found"))
            })?;
            if c.project_id != project.id {
                return Err(AppError::rule(
                    "complaint_of_other_project",
                    "complaint_id",
                    format!("complaint {cid} is about another project"),
                ));
            }
        }
        if let Some(rid) = input.repair_id {
            repairs::check_followup(conn, actor, config, rid, project.id, visited_at)?;
        }
        let visitor_ids = visitors(conn, actor, input, &project.scope_path)?;
        let people = serde_json::to_string(&input.people_met).map_err(AppError::internal)?;
        let ctx = Ctx { actor, config, now };
        let request = CreateRequest {
            starts_at: Some(visited_at),
            done_at: None,
            late_reason: input.late_reason.as_deref(),
        };
        let (visit, _) = workflow::create::<VisitFlow>(
            conn,
            ctx,
            birth,
            request,
            |conn, state| {
                Ok(diesel::insert_into(visits::table)
                    .values((
                        visits::project_id.eq(project.id),
                        visits::customer_id.eq(project.customer_id),
                        visits::branch_id.eq(project.branch_id),
                        visits::scope_path.eq(&project.scope_path),
                        visits::status.eq(state.as_str()),
                        visits::kind.eq(input.kind.as_str()),
                        visits::method.eq(input.method.as_str()),
                        visits::visited_at.eq(visited_at),
                        visits::outcome.eq(input.outcome.as_str()),
                        visits::contact_failed_reason
                            .eq(trimmed(input.contact_failed_reason.as_deref())),
                        visits::people_met.eq(people),
                        visits::findings.eq(input.findings.trim()),
                        visits::owner_opinion.eq(trimmed(input.owner_opinion.as_deref())),
                        visits::owner_phone.eq(trimmed(input.owner_phone.as_deref())),
                        visits::complaint_id.eq(input.complaint_id),
                        visits::repair_id.eq(input.repair_id),
                        visits::recorded_by.eq(actor.id),
                        visits::recorded_late.eq(false),
                        visits::created_at.eq(now),
                        visits::updated_at.eq(now),
                    ))
                    .returning(visits::id)
                    .get_result(conn)?)
            },
            |conn, visit, outcome| {
                let id = visit.id;
                // the 24-hour rule: met by this record, late only with a reason
                let late = outcome.late;
                for user in &visitor_ids {
                    diesel::insert_into(visit_visitors::table)
                        .values((
                            visit_visitors::visit_id.eq(id),
                            visit_visitors::user_id.eq(user),
                        ))
                        .execute(conn)?;
                }
                let day = crate::kit::deadlines::calendar::local_day(visited_at, config.tz);
                for (i, issue) in input.issues.iter().enumerate() {
                    let covered = issue.liability == IssueLiability::Ours
                        && projects::warranty_status(
                            conn,
                            actor,
                            project.id,
                            day,
                            Some(issue.component),
                        )?
                        .under_warranty_until
                        .is_some();
                    // ours and under warranty: its repair, linked both ways
                    let repair_id = if covered {
                        Some(repairs::open_from(
                            conn,
                            ctx,
                            &repairs::Reported {
                                project: &project,
                                source: RepairSource::VisitIssue,
                                visit_id: Some(id),
                                complaint_id: None,
                                category: issue.component,
                                location: &issue.location,
                                description: &issue.description,
                                severity: RepairSeverity::Normal,
                                reported_at: visited_at,
                            },
                        )?)
                    } else {
                        None
                    };
                    diesel::insert_into(visit_issues::table)
                        .values((
                            visit_issues::visit_id.eq(id),
                            visit_issues::position.eq(i32::try_from(i).unwrap_or(0)),
                            visit_issues::description.eq(issue.description.trim()),
                            visit_issues::component.eq(issue.component.as_str()),
                            visit_issues::location.eq(issue.location.trim()),
                            visit_issues::liability.eq(issue.liability.as_str()),
                            visit_issues::explanation.eq(trimmed(issue.explanation.as_deref())),
                            visit_issues::advice.eq(trimmed(issue.advice.as_deref())),
                            visit_issues::repair_needed.eq(covered),
                            visit_issues::repair_id.eq(repair_id),
                        ))
                        .execute(conn)?;
                }
                if let (Some(survey), Some(tenths)) = (&input.survey, tenths) {
                    diesel::insert_into(visit_surveys::table)
                        .values((
                            visit_surveys::visit_id.eq(id),
                            visit_surveys::scores.eq(serde_json::to_string(&survey.scores)
                                .map_err(AppError::internal)?),
                            visit_surveys::weighted_score_tenths.eq(tenths),
                            visit_surveys::rating.eq(survey.rating.as_str()),
                        ))
                        .execute(conn)?;
                    if survey.rating == Rating::Dissatisfied {
                        let met = input
                            .people_met
                            .first()
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| "业主 the owner".to_string());
                        let description = format!(
                            "回访满意度调查：不满意 (visit #{id}). {}",
                            trimmed(input.owner_opinion.as_deref())
                                .unwrap_or_else(|| input.findings.trim().to_string())
                        );
                        let opened = complaints::open_from_visit(
                            conn,
                            ctx,
                            &FromVisit {
                                visit_id: id,
                                project_id: project.id,
                                visited_at,
                                complainant_name: &met,
                                complainant_phone: input.owner_phone.as_deref().unwrap_or(""),
                                description: &description,
                            },
                        )?;
                        diesel::update(visits::table.find(id))
                            .set(visits::opened_complaint_id.eq(opened.id))
                            .execute(conn)?;
                    }
                }
                if late {
                    diesel::update(visits::table.find(id))
                        .set(visits::recorded_late.eq(true))
                        .execute(conn)?;
                }
                if let Some(item) = input.plan_item_id {
                    super::visit_plans::record_item_visit(
                        conn,
                        ctx,
                        item,
                        &super::visit_plans::ItemVisit {
                            visit_id: id,
                            project: &project,
                            kind: input.kind,
                            method: input.method,
                            visited_at,
                            contact_failed: input.outcome == VisitOutcome::ContactFailed,
                            visitor_ids: &visitor_ids,
                        },
                        input.late_reason.as_deref(),
                    )?;
                    diesel::update(visits::table.find(id))
                        .set(visits::plan_item_id.eq(item))
                        .execute(conn)?;
                }
                attachments::attach(
                    conn,
                    actor,
                    config,
                    now,
                    (SubjectType::Visit, id),
                    &attachments::documents(&input.attachment_ids),
                    "attachment_ids",
                )?;
                Ok(())
            },
        )?;
        detail(conn, visit)
    })
}

/// The owner confirms the record (业主签字确认): the project's own customer
/// account in the app, or staff recording a paper signature with the
/// signer's name and date.
pub fn confirm(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &ConfirmationInput,
) -> AppResult<VisitDetail> {
    let Ctx { actor, now, .. } = ctx;
    let customer = actor.role == Role::Customer;
    let action = if customer {
        VisitAction::Confirm
    } else {
        VisitAction::RecordSignature
    };
    let signer = trimmed(input.signer_name.as_deref());
    let visit = workflow::run::<VisitFlow>(
        conn,
        ctx,
        id,
        Request::new(action, expected_version, None),
        |_, visit: &Visit| {
            let mut errors = vec![];
            let visit_day =
                crate::kit::deadlines::calendar::local_day(visit.visited_at, ctx.config.tz);
            if customer {
                if input.signer_name.is_some() || input.signed_on.is_some() {
                    errors.push(FieldError::new(
                        "signer_name",
                        "the owner's account confirms as itself; a paper signature is recorded by staff",
                    ));
                }
            } else {
                if signer.is_none() {
                    errors.push(FieldError::new(
                        "signer_name",
                        "who signed the paper record",
                    ));
                }
                match input.signed_on {
                    None => errors.push(FieldError::new("signed_on", "the day it was signed")),
                    Some(day)
                        if day > crate::kit::deadlines::calendar::local_day(now, ctx.config.tz) =>
                    {
                        errors.push(FieldError::new("signed_on", "must not be after today"))
                    }
                    // the owner signs the record of a visit that happened
                    Some(day) if day < visit_day => errors.push(FieldError::new(
                        "signed_on",
                        format!("must not be before the visit ({visit_day})"),
                    )),
                    Some(_) => {}
                }
            }
            if errors.is_empty() {
                Ok(())
            } else {
                Err(AppError::Validation(errors))
            }
        },
        |conn, before, _| {
            let (how, name, day) = if customer {
                (
                    ConfirmationMethod::App.as_str(),
                    Some(
                        users::table
                            .find(actor.id)
                            .select(users::display_name)
                            .first::<String>(conn)?,
                    ),
                    Some(crate::kit::deadlines::calendar::local_day(
                        now,
                        ctx.config.tz,
                    )),
                )
            } else {
                (
                    ConfirmationMethod::Paper.as_str(),
                    signer.clone(),
                    input.signed_on,
                )
            };
            diesel::update(visits::table.find(before.id))
                .set((
                    visits::confirmation.eq(how),
                    visits::confirmed_at.eq(now),
                    visits::confirmed_by.eq(actor.id),
                    visits::signer_name.eq(name),
                    visits::signed_on.eq(day),
                ))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, visit)
}
