//! Corrective actions (纠正措施, 000 §1.4): each year, for every project not
//! brought to the owner's satisfaction, the responsible project department
//! analyses the cause and carries out measures by a date; the branch
//! engineering department verifies them, or returns them with a reason.
//! One table, run by the transition kit; the annual summary lists them.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope, DEPARTMENT};
use crate::db::schema::{corrective_actions, deadlines as deadline_rows};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::deadlines::{self, NewDeadline};
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Request, Transition};
use crate::models::deadline::{Deadline, Rule};
use crate::models::management::{CorrectiveAction, CorrectiveRecord, CorrectiveStatus};
use crate::models::user::Role;
use crate::services::{complaints, projects, trimmed, IfMatch, Page, Paged};

/// Who verifies or returns a corrective action: the branch engineering
/// department (000 §1.4).
const VERIFIERS: &[Role] = &[Role::BranchEngineer];

/// A corrective action's life cycle.
pub struct CorrectiveFlow;

static TABLE: &[Transition<CorrectiveStatus, CorrectiveAction, CorrectiveRecord>] = crate::transitions![CorrectiveStatus, CorrectiveAction;
    [Open] Complete => Done, by DEPARTMENT,
        settles [CorrectiveActionComplete], event CorrectiveActionCompleted;
    [Done] Verify => Verified, by VERIFIERS, event CorrectiveActionVerified;
    // back to the department, with 30 more days (the policy's duration)
    [Done] Return => Open, by VERIFIERS,
        starts [CorrectiveActionComplete], event CorrectiveActionReturned;
];

/// The responsible department records it, its clock due when its date ends.
static CREATIONS: &[Creation<CorrectiveStatus>] = crate::creations![CorrectiveStatus;
    "record" => Open, by DEPARTMENT, starts [CorrectiveActionComplete], event CorrectiveActionRecorded;
];

crate::workflow! {
    CorrectiveFlow {
        name: "corrective action",
        subject: CorrectiveRecord as "corrective_action",
        state: CorrectiveStatus = corrective_actions.status,
        action: CorrectiveAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        clock: |a, rule, now| clock(a, rule, now),
    }
}

/// The clock of a corrective action: due when its date ends; returned
/// after it was reported done, due the policy's duration from the return.
fn clock(a: &CorrectiveRecord, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    let summary: String = a.measures.chars().take(40).collect();
    let clock = NewDeadline::new(
        rule,
        ("corrective_action", a.id),
        a.project_department_id,
        now,
        (
            format!("Corrective action #{}: {summary}", a.id),
            format!("/api/v1/corrective-actions/{}", a.id),
        ),
    );
    if a.status == CorrectiveStatus::Done.as_str() {
        clock
    } else {
        clock.due_end_of(a.due_on)
    }
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("corrective action {id} not found"))
}

/// The rows the caller may read: staff in their subtree; customer
/// accounts none (the contractor's own analysis).
fn visible(actor: &Actor) -> Option<corrective_actions::BoxedQuery<'static, MultiBackend>> {
    let query = corrective_actions::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => {
            Some(query.filter(crate::in_subtree!(corrective_actions::scope_path, &path)))
        }
        Scope::Customer(_) | Scope::Nothing => None,
    }
}

/// The corrective action in the caller's scope (404 outside it).
pub fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<CorrectiveRecord> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(corrective_actions::id.eq(id))
        .select(CorrectiveRecord::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// What the responsible department records.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "project_id": 12, "complaint_id": 40, "year": 2026,
    "cause_analysis": "防水层搭接不足 the waterproofing laps were too short",
    "measures": "返工屋面防水并加强隐蔽验收 redo the roof and inspect before covering",
    "responsible": "李工 Li (project manager)", "due_on": "2027-01-31"
}))]
pub struct NewCorrectiveAction {
    /// The project not brought to the owner's satisfaction.
    pub project_id: i64,
    /// The complaint whose outcome it answers, if one does (of the same project).
    pub complaint_id: Option<i64>,
    /// The year of the annual summary it belongs to; this year when absent.
    #[validate(range(min = 2000, max = 9999))]
    #[schema(minimum = 2000, maximum = 9999)]
    pub year: Option<i32>,
    /// Why the owner was not satisfied.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub cause_analysis: String,
    /// What will be done about it.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub measures: String,
    /// Who carries the measures out.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub responsible: String,
    /// By when (company time zone): today or later; the clock is due when it ends.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub due_on: NaiveDate,
}

/// The measures carried out.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"result": "屋面防水已返工，闭水试验合格 redone; the flood test passed"}))]
pub struct CorrectiveCompletion {
    /// What was done, and how it showed.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub result: String,
    /// Why it comes after its date; required then (`422 deadline_passed`).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

/// The branch engineering department's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationDecision {
    /// the measures worked: final
    Verified,
    /// not enough: back to the department with the reason
    Returned,
}

/// Verify a corrective action, or return it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "returned", "comment": "未提供闭水试验记录 the flood test record is missing"}))]
pub struct CorrectiveVerification {
    pub decision: VerificationDecision,
    /// What was checked; required when returning (why).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: Option<String>,
}

/// A corrective action with its clocks.
#[derive(Debug)]
pub struct CorrectiveDetail {
    pub action: CorrectiveRecord,
    pub clocks: Vec<Deadline>,
    pub policy_versions: std::collections::HashMap<i64, i32>,
}

fn detail(conn: &mut DbConn, action: CorrectiveRecord) -> AppResult<CorrectiveDetail> {
    let clocks: Vec<Deadline> = deadline_rows::table
        .filter(deadline_rows::subject_type.eq("corrective_action"))
        .filter(deadline_rows::subject_id.eq(action.id))
        .order(deadline_rows::id.asc())
        .select(Deadline::as_select())
        .load(conn)?;
    let policy_versions = deadlines::policy_versions_of(conn, &clocks)?;
    Ok(CorrectiveDetail {
        action,
        clocks,
        policy_versions,
    })
}

/// Reads one, with its clocks.
pub fn get(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<CorrectiveDetail> {
    let action = load(conn, actor, id)?;
    detail(conn, action)
}

/// The responsible department records a corrective action for a project
/// of its scope (and, when given, the complaint of that project it answers).
pub fn record(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    input: &NewCorrectiveAction,
) -> AppResult<CorrectiveDetail> {
    let Ctx { actor, config, now } = ctx;
    let birth = workflow::creation::<CorrectiveFlow>(actor, "record")?;
    let today = crate::kit::deadlines::calendar::local_day(now, config.tz);
    let mut errors = vec![];
    if input.due_on < today {
        errors.push(FieldError::new(
            "due_on",
            format!("must be today ({today}) or later"),
        ));
    }
    let blank = |text: &str| text.trim().is_empty();
    for (field, text) in [
        ("cause_analysis", &input.cause_analysis),
        ("measures", &input.measures),
        ("responsible", &input.responsible),
    ] {
        if blank(text) {
            errors.push(FieldError::new(field, "must not be blank"));
        }
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
        if let Some(complaint_id) = input.complaint_id {
            let complaint = complaints::load(conn, actor, complaint_id).map_err(|_| {
                AppError::missing_reference(
                    "complaint_id",
                    format!("complaint {complaint_id} not found"),
                )
            })?;
            if complaint.project_id != project.id {
                return Err(AppError::invalid(
                    "complaint_id",
                    format!(
                        "complaint {complaint_id} is about another project, not {}",
                        project.id
                    ),
                ));
            }
        }
        let (action, _) = workflow::create::<CorrectiveFlow>(
            conn,
            ctx,
            birth,
            CreateRequest::default(),
            |conn, state| {
                Ok(diesel::insert_into(corrective_actions::table)
                    .values((
                        corrective_actions::project_id.eq(project.id),
                        corrective_actions::customer_id.eq(project.customer_id),
                        corrective_actions::branch_id.eq(project.branch_id),
                        corrective_actions::project_department_id.eq(project.project_department_id),
                        corrective_actions::scope_path.eq(&project.scope_path),
                        corrective_actions::complaint_id.eq(input.complaint_id),
                        corrective_actions::year.eq(input.year.unwrap_or(today.year())),
                        corrective_actions::status.eq(state.as_str()),
                        corrective_actions::cause_analysis.eq(input.cause_analysis.trim()),
                        corrective_actions::measures.eq(input.measures.trim()),
                        corrective_actions::responsible.eq(input.responsible.trim()),
                        corrective_actions::due_on.eq(input.due_on),
                        corrective_actions::created_by.eq(actor.id),
                        corrective_actions::created_at.eq(now),
                        corrective_actions::updated_at.eq(now),
                    ))
                    .returning(corrective_actions::id)
                    .get_result(conn)?)
            },
            |_, _, _| Ok(()),
        )?;
        detail(conn, action)
    })
}

/// The responsible department reports the measures carried out (late
/// only with a reason).
pub fn complete(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &CorrectiveCompletion,
) -> AppResult<CorrectiveDetail> {
    let result = trimmed(Some(&input.result))
        .ok_or_else(|| AppError::invalid("result", "say what was done"))?;
    let (now, by) = (ctx.now, ctx.actor.id);
    let action = workflow::run::<CorrectiveFlow>(
        conn,
        ctx,
        id,
        Request::new(
            CorrectiveAction::Complete,
            expected_version,
            input.late_reason.as_deref(),
        ),
        |_, _| Ok(()),
        |conn, before, _| {
            diesel::update(corrective_actions::table.find(before.id))
                .set((
                    corrective_actions::result.eq(&result),
                    corrective_actions::done_at.eq(now),
                    corrective_actions::done_by.eq(by),
                ))
                .execute(conn)?;
            Ok(())
        },
    )?;
    detail(conn, action)
}

/// The branch engineering department verifies the measures, or returns
/// them saying why (the department gets the policy's 30 days again).
pub fn verify(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &CorrectiveVerification,
) -> AppResult<CorrectiveDetail> {
    let comment = trimmed(input.comment.as_deref());
    let step = match input.decision {
        VerificationDecision::Verified => CorrectiveAction::Verify,
        VerificationDecision::Returned => CorrectiveAction::Return,
    };
    let (now, by) = (ctx.now, ctx.actor.id);
    let action = workflow::run::<CorrectiveFlow>(
        conn,
        ctx,
        id,
        Request::new(step, expected_version, None),
        |_, _| {
            if step == CorrectiveAction::Return && comment.is_none() {
                return Err(AppError::invalid(
                    "comment",
                    "say why the corrective action goes back",
                ));
            }
            Ok(())
        },
        |conn, before, _| {
            match step {
                CorrectiveAction::Return => {
                    diesel::update(corrective_actions::table.find(before.id))
                        .set((
                            corrective_actions::return_reason.eq(&comment),
                            corrective_actions::returns.eq(before.returns + 1),
                        ))
                        .execute(conn)?
                }
                _ => diesel::update(corrective_actions::table.find(before.id))
                    .set((
                        corrective_actions::verified_at.eq(now),
                        corrective_actions::verified_by.eq(by),
                        corrective_actions::verification_note.eq(&comment),
                    ))
                    .execute(conn)?,
            };
            Ok(())
        },
    )?;
    detail(conn, action)
}

/// What a list of corrective actions is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct CorrectiveFilter {
    pub project_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub branch_id: Option<i64>,
    pub project_department_id: Option<i64>,
    pub year: Option<i32>,
    pub status: Option<CorrectiveStatus>,
}

/// Corrective actions in the caller's scope, newest first (403 for
/// customer accounts).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &CorrectiveFilter,
    page: Page,
) -> AppResult<Paged<CorrectiveRecord>> {
    actor.require_staff_side()?;
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(p) = filter.project_id {
        query = query.filter(corrective_actions::project_id.eq(p));
    }
    if let Some(c) = filter.complaint_id {
        query = query.filter(corrective_actions::complaint_id.eq(c));
    }
    if let Some(b) = filter.branch_id {
        query = query.filter(corrective_actions::branch_id.eq(b));
    }
    if let Some(d) = filter.project_department_id {
        query = query.filter(corrective_actions::project_department_id.eq(d));
    }
    if let Some(y) = filter.year {
        query = query.filter(corrective_actions::year.eq(y));
    }
    if let Some(s) = filter.status {
        query = query.filter(corrective_actions::status.eq(s.as_str()));
    }
    if let Some(after) = page.after_id {
        query = query.filter(corrective_actions::id.lt(after));
    }
    let rows = query
        .order(corrective_actions::id.desc())
        .limit(page.limit + 1)
        .select(CorrectiveRecord::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |a| a.id))
}
