//! Accountability (责任追究, 004 §5.8, appendices E and H): when a schedule
//! complaint is found true, or a warranty complaint was handled so that the
//! owner complained again, the branch engineering department — the group,
//! for a complaint sent to it — records who is held accountable, the
//! measure (criticism, a fine with its amount, another) and why. Staff
//! only; never deleted: a record made in error is withdrawn with a reason
//! and stays. One table, run by the transition kit.

use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Actor, Scope};
use crate::db::schema::{accountability_records, complaints as complaint_rows, projects};
use crate::db::{write_tx, DbConn, MultiBackend};
use crate::error::{AppError, AppResult, FieldError};
use crate::kit::deadlines::NewDeadline;
use crate::kit::workflow::{self, CreateRequest, Creation, Ctx, Request, Transition};
use crate::models::complaint::{Complaint, ComplaintCategory, Liability};
use crate::models::management::{
    AccountabilityAction, AccountabilityBasis, AccountabilityMeasure, AccountabilityRecord,
    AccountabilityStatus,
};
use crate::models::project::Project;
use crate::models::user::Role;
use crate::services::{complaints, person_in_reach, trimmed, IfMatch, Page, Paged};

/// Who records for a complaint the branch handles.
const BRANCH: &[Role] = &[Role::BranchEngineer];
/// Who records for a complaint sent to the group (004 §5.6.2).
const GROUP: &[Role] = &[Role::GroupEngineer];

/// An accountability record's life cycle: recorded, and perhaps withdrawn.
pub struct AccountabilityFlow;

fn sent_to_group(_: &mut DbConn, r: &AccountabilityRecord) -> AppResult<bool> {
    Ok(r.sent_to_group)
}

fn branch_complaint(_: &mut DbConn, r: &AccountabilityRecord) -> AppResult<bool> {
    Ok(!r.sent_to_group)
}

static TABLE: &[Transition<AccountabilityStatus, AccountabilityAction, AccountabilityRecord>] = crate::transitions![AccountabilityStatus, AccountabilityAction;
    [Recorded] Withdraw when "branch complaint" branch_complaint => Withdrawn, by BRANCH,
        event AccountabilityWithdrawn;
    [Recorded] Withdraw when "sent to the group" sent_to_group => Withdrawn, by GROUP,
        event AccountabilityWithdrawn;
];

static CREATIONS: &[Creation<AccountabilityStatus>] = crate::creations![AccountabilityStatus;
    "record" => Recorded, by BRANCH, event AccountabilityRecorded;
    "record_for_group" => Recorded, by GROUP, event AccountabilityRecorded;
];

crate::workflow! {
    AccountabilityFlow {
        name: "accountability record",
        subject: AccountabilityRecord as "accountability_record",
        state: AccountabilityStatus = accountability_records.status,
        action: AccountabilityAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| load(conn, actor, id),
        // runs no clock: its table starts none
        clock: |r, rule, now| NewDeadline::new(
            rule,
            ("accountability_record", r.id),
            r.branch_id,
            now,
            (format!("Accountability #{}", r.id), format!("/api/v1/accountability-records/{}", r.id)),
        ),
    }
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("accountability record {id} not found"))
}

/// Staff in their subtree; customer accounts none.
fn visible(actor: &Actor) -> Option<accountability_records::BoxedQuery<'static, MultiBackend>> {
    let query = accountability_records::table.into_boxed();
    match actor.scope() {
        Scope::All => Some(query),
        Scope::OrgSubtree(path) => Some(query.filter(crate::in_subtree!(
            accountability_records::scope_path,
            &path
        ))),
        Scope::Customer(_) | Scope::Nothing => None,
    }
}

/// The record in the caller's scope (404 outside it, and for customers).
pub fn load(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<AccountabilityRecord> {
    let Some(query) = visible(actor) else {
        return Err(not_found(id));
    };
    query
        .filter(accountability_records::id.eq(id))
        .select(AccountabilityRecord::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))
}

/// Who is held accountable, for which complaint, the measure and why.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "complaint_id": 40, "person": "王工 Wang (site manager)", "measure": "fine", "fine_amount": 500.0,
    "reason": "工期延误投诉属实 the schedule complaint was found true"
}))]
pub struct NewAccountability {
    /// A schedule complaint judged ours, or a warranty complaint with a repeat.
    pub complaint_id: i64,
    /// Who is held accountable (a person or a unit).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub person: String,
    /// Their account, when they have one (of the complaint's branch or the group).
    pub person_user_id: Option<i64>,
    pub measure: AccountabilityMeasure,
    /// Yuan, for a `fine` (required then, and only then): more than 0, to the fen.
    #[validate(range(exclusive_min = 0.0, max = 10000000.0))]
    #[schema(exclusive_minimum = 0.0, maximum = 10000000.0)]
    pub fine_amount: Option<f64>,
    /// What the measure is, for `other` (required then).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub measure_detail: Option<String>,
    /// Why: what was found.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub reason: String,
}

/// Why a record is withdrawn.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "申诉成立 the appeal was upheld", "decided_by": "集团申诉小组 the group's appeal panel"}))]
pub struct AccountabilityWithdrawal {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// Who decided it (an appeal panel, the group), when not the one
    /// recording the withdrawal.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub decided_by: Option<String>,
}

/// Why the complaint calls for accountability (004 §5.8), or `None`.
fn basis_of(conn: &mut DbConn, c: &Complaint) -> AppResult<Option<AccountabilityBasis>> {
    let ours = c.liability.as_deref() == Some(Liability::Ours.as_str());
    if c.category == ComplaintCategory::Schedule.as_str() && ours {
        return Ok(Some(AccountabilityBasis::ScheduleComplaint));
    }
    if c.category == ComplaintCategory::Warranty.as_str() {
        let repeated = c.is_repeat
            || diesel::select(diesel::dsl::exists(
                complaint_rows::table.filter(complaint_rows::repeat_of.eq(c.id)),
            ))
            .get_result::<bool>(conn)?;
        if repeated {
            return Ok(Some(AccountabilityBasis::RepeatWarrantyComplaint));
        }
    }
    Ok(None)
}

/// Yuan to fen, refusing more than two decimals.
fn fen(amount: f64) -> Option<i64> {
    let fen = (amount * 100.0).round();
    ((amount * 100.0 - fen).abs() < 1e-6).then_some(fen as i64)
}

/// Records accountability for a complaint of the caller's scope.
pub fn record(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    input: &NewAccountability,
) -> AppResult<AccountabilityRecord> {
    let Ctx { actor, now, .. } = ctx;
    // a role that records for neither kind of complaint is told so first
    if !BRANCH.contains(&actor.role) {
        workflow::creation::<AccountabilityFlow>(actor, "record_for_group")?;
    }
    let mut errors = vec![];
    let fine = match (input.measure, input.fine_amount) {
        (AccountabilityMeasure::Fine, None) => {
            errors.push(FieldError::new("fine_amount", "a fine needs its amount"));
            None
        }
        (AccountabilityMeasure::Fine, Some(a)) => match fen(a) {
            Some(f) if f > 0 => Some(f),
            _ => {
                errors.push(FieldError::new(
                    "fine_amount",
                    "yuan to the fen: at most two decimals, more than 0",
                ));
                None
            }
        },
        (_, Some(_)) => {
            errors.push(FieldError::new("fine_amount", "only a fine has an amount"));
            None
        }
        (_, None) => None,
    };
    let detail = trimmed(input.measure_detail.as_deref());
    if input.measure == AccountabilityMeasure::Other && detail.is_none() {
        errors.push(FieldError::new("measure_detail", "say what the measure is"));
    }
    for (field, text) in [("person", &input.person), ("reason", &input.reason)] {
        if text.trim().is_empty() {
            errors.push(FieldError::new(field, "must not be blank"));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    write_tx(conn, |conn| {
        let complaint = complaints::load(conn, actor, input.complaint_id).map_err(|_| {
            AppError::missing_reference(
                "complaint_id",
                format!("complaint {} not found", input.complaint_id),
            )
        })?;
        let birth = workflow::creation::<AccountabilityFlow>(
            actor,
            if complaint.sent_to_group {
                "record_for_group"
            } else {
                "record"
            },
        )?;
        let Some(basis) = basis_of(conn, &complaint)? else {
            return Err(AppError::Rule {
                code: "accountability_not_applicable",
                detail: format!(
                    "complaint {} is neither a schedule complaint found true nor a warranty complaint the owner repeated",
                    complaint.id
                ),
                errors: vec![FieldError::new(
                    "complaint_id",
                    "accountability is recorded for a schedule complaint judged ours, or a warranty complaint with a repeat",
                )],
            });
        };
        if let Some(user) = input.person_user_id {
            person_in_reach(conn, user, &complaint.scope_path, "person_user_id")?;
        }
        let project: Project = projects::table
            .find(complaint.project_id)
            .select(Project::as_select())
            .first(conn)?;
        let (record, _) = workflow::create::<AccountabilityFlow>(
            conn,
            ctx,
            birth,
            CreateRequest::default(),
            |conn, state| {
                Ok(diesel::insert_into(accountability_records::table)
                    .values((
                        accountability_records::complaint_id.eq(complaint.id),
                        accountability_records::project_id.eq(project.id),
                        accountability_records::customer_id.eq(complaint.customer_id),
                        accountability_records::branch_id.eq(project.branch_id),
                        accountability_records::project_department_id
                            .eq(project.project_department_id),
                        accountability_records::scope_path.eq(&complaint.scope_path),
                        accountability_records::sent_to_group.eq(complaint.sent_to_group),
                        accountability_records::status.eq(state.as_str()),
                        accountability_records::basis.eq(basis.as_str()),
                        accountability_records::person.eq(input.person.trim()),
                        accountability_records::person_user_id.eq(input.person_user_id),
                        accountability_records::measure.eq(input.measure.as_str()),
                        accountability_records::fine_fen.eq(fine),
                        accountability_records::measure_detail.eq(&detail),
                        accountability_records::reason.eq(input.reason.trim()),
                        accountability_records::recorded_by.eq(actor.id),
                        accountability_records::created_at.eq(now),
                        accountability_records::updated_at.eq(now),
                    ))
                    .returning(accountability_records::id)
                    .get_result(conn)?)
            },
            |_, _, _| Ok(()),
        )?;
        Ok(record)
    })
}

/// Withdraws a record, saying why; it stays, marked withdrawn.
pub fn withdraw(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    expected_version: Option<IfMatch>,
    input: &AccountabilityWithdrawal,
) -> AppResult<AccountabilityRecord> {
    let reason =
        trimmed(Some(&input.reason)).ok_or_else(|| AppError::invalid("reason", "say why"))?;
    let decided_by = trimmed(input.decided_by.as_deref());
    let (now, by) = (ctx.now, ctx.actor.id);
    workflow::run::<AccountabilityFlow>(
        conn,
        ctx,
        id,
        Request::new(AccountabilityAction::Withdraw, expected_version, None),
        |_, _| Ok(()),
        |conn, before, _| {
            diesel::update(accountability_records::table.find(before.id))
                .set((
                    accountability_records::withdrawn_reason.eq(&reason),
                    accountability_records::withdrawn_decided_by.eq(&decided_by),
                    accountability_records::withdrawn_at.eq(now),
                    accountability_records::withdrawn_by.eq(by),
                ))
                .execute(conn)?;
            Ok(())
        },
    )
}

/// What a list of accountability records is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct AccountabilityFilter {
    pub complaint_id: Option<i64>,
    pub project_id: Option<i64>,
    pub project_department_id: Option<i64>,
    pub branch_id: Option<i64>,
    pub status: Option<AccountabilityStatus>,
}

/// The records in the caller's scope, newest first (403 for customers).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    filter: &AccountabilityFilter,
    page: Page,
) -> AppResult<Paged<AccountabilityRecord>> {
    actor.require_staff_side()?;
    let Some(mut query) = visible(actor) else {
        return Ok(Paged {
            items: vec![],
            next_after: None,
        });
    };
    if let Some(c) = filter.complaint_id {
        query = query.filter(accountability_records::complaint_id.eq(c));
    }
    if let Some(p) = filter.project_id {
        query = query.filter(accountability_records::project_id.eq(p));
    }
    if let Some(d) = filter.project_department_id {
        query = query.filter(accountability_records::project_department_id.eq(d));
    }
    if let Some(b) = filter.branch_id {
        query = query.filter(accountability_records::branch_id.eq(b));
    }
    if let Some(s) = filter.status {
        query = query.filter(accountability_records::status.eq(s.as_str()));
    }
    if let Some(after) = page.after_id {
        query = query.filter(accountability_records::id.lt(after));
    }
    let rows = query
        .order(accountability_records::id.desc())
        .limit(page.limit + 1)
        .select(AccountabilityRecord::as_select())
        .load(conn)?;
    Ok(Paged::from_rows(rows, page, |a| a.id))
}
