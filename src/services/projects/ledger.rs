//! The completed-projects ledger workflow (竣工工程信息台账, 004 A.2 steps
//! 2–3): the project department fills the ledger within 3 days of handover
//! and submits it; the branch engineering department approves it or returns
//! it with what is missing. One table, run by the transition kit.

use crate::services::{Approval, ApprovalDecision, IfMatch};
use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::config::Config;
use crate::db::schema::{project_contacts, projects, warranty_terms};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError};
use crate::models::attachment::SubjectType;
use crate::models::deadline::Rule;
use crate::models::project::{
    ApprovalStatus, ContactRole, LedgerAction, Project, WarrantyCategory,
};
use crate::models::user::Role;

use super::trimmed;
use crate::kit::attachments;
use crate::kit::deadlines::calendar;
use crate::kit::deadlines::NewDeadline;
use crate::kit::workflow::{self, Creation, Ctx, Outcome, Request, Transition};

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct LedgerSubmission {
    /// Why the ledger comes after its due time; required then
    /// (`422 deadline_passed` without it). Sent in time, it is kept as a note.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
    /// Uploads to attach to the project with the submission (the warranty
    /// certificate, handover documents): ids from `POST /api/v1/uploads`,
    /// your own, within 24 hours of uploading. Attached in the same
    /// transaction: the submission and its documents are stored together.
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 at once"))]
    #[schema(max_items = 50)]
    pub attachment_ids: Vec<i64>,
}

/// The ledger's life cycle.
pub struct Ledger;

static TABLE: &[Transition<ApprovalStatus, LedgerAction, Project>] = crate::transitions![ApprovalStatus, LedgerAction;
    [Draft, Returned] Submit => Submitted, by &[Role::ProjectManager],
        settles [LedgerFill], starts [LedgerReview], event ProjectLedgerSubmitted;
    // the project's first visit plan is compiled from the approved ledger (004 A.2 step 4.2)
    [Submitted] Approve => Approved, by &[Role::BranchEngineer],
        settles [LedgerReview], starts [VisitPlanCompileProject], event ProjectLedgerApproved;
    // the department gets a fresh clock to complete and resubmit
    [Submitted] Return => Returned, by &[Role::BranchEngineer],
        settles [LedgerReview], starts [LedgerFill], event ProjectLedgerReturned;
];

/// A project is entered with its ledger in draft, the fill clock running
/// from the end of the handover day.
static CREATIONS: &[Creation<ApprovalStatus>] = crate::creations![ApprovalStatus;
    "enter" => Draft, by super::WRITERS, starts [LedgerFill], event ProjectCreated;
    // from a spreadsheet (`services::imports`): a recent handover's clock
    // runs as if entered by hand; one long past starts none
    "import" => Draft, by crate::services::imports::IMPORTERS, starts [LedgerFill], event ProjectCreated;
    "import_past" => Draft, by crate::services::imports::IMPORTERS, event ProjectCreated;
];

crate::workflow! {
    Ledger {
        name: "ledger",
        subject: Project as "project",
        state: ApprovalStatus = projects.ledger_status,
        action: LedgerAction,
        table: TABLE,
        creations: CREATIONS,
        load: |conn, actor, id| super::get(conn, actor, id),
        clock: |p, rule, now| ledger_clock(p, rule, now),
    }
}

/// The clocks of a ledger.
fn ledger_clock(p: &Project, rule: Rule, now: NaiveDateTime) -> NewDeadline {
    NewDeadline::new(
        rule,
        ("project", p.id),
        p.project_department_id,
        now,
        (
            clock_title(rule, &p.code, &p.name),
            format!("/api/v1/projects/{}", p.id),
        ),
    )
}

/// The ledger clock (`ledger.fill`) starts when the handover day ends, in
/// the company's time zone: "within 3 days of handover" (004 A.2 step 2)
/// then ends with the third day after it.
pub fn clock_start(handover_on: NaiveDate, config: &Config) -> NaiveDateTime {
    calendar::local_midnight(handover_on + Days::new(1), config.tz)
}

/// The clocks about a project's ledger: the department fills it, the branch
/// reviews it, and once approved the department compiles the first visit plan.
pub const RULES: [Rule; 3] = [
    Rule::LedgerFill,
    Rule::LedgerReview,
    Rule::VisitPlanCompileProject,
];

/// What a ledger clock asks for, as its task list shows it.
pub fn clock_title(rule: Rule, code: &str, name: &str) -> String {
    match rule {
        Rule::LedgerReview => format!("Review the ledger of {code} {name}"),
        Rule::VisitPlanCompileProject => format!("Compile the first visit plan of {code} {name}"),
        _ => format!("Fill the ledger of {code} {name}"),
    }
}

/// Mirrors the open fill clock's due time on the project, so that project
/// lists filter and sort on it without a join.
pub fn set_due(conn: &mut DbConn, project_id: i64, due: NaiveDateTime) -> AppResult<()> {
    diesel::update(projects::table.find(project_id))
        .set(projects::ledger_due_at.eq(due))
        .execute(conn)?;
    Ok(())
}

/// What a ledger still lacks before it can be submitted (004 A.2 step 3, R01).
pub fn gaps(conn: &mut DbConn, project: &Project) -> AppResult<Vec<FieldError>> {
    let roles: Vec<String> = project_contacts::table
        .filter(project_contacts::project_id.eq(project.id))
        .select(project_contacts::role)
        .load(conn)?;
    let has = |r: ContactRole| roles.iter().any(|x| x == r.as_str());
    let mut gaps = vec![];
    for role in [ContactRole::WarrantyLead, ContactRole::ProjectManager] {
        if !has(role) {
            gaps.push(FieldError::new(
                format!("contacts.{role}"),
                "a contact with this role is required",
            ));
        }
    }
    if !has(ContactRole::OwnerEngineeringManager) && !has(ContactRole::PropertyManager) {
        gaps.push(FieldError::new(
            "contacts.owner_engineering_manager|property_manager",
            "an owner-side contact (owner engineering manager or property manager) is required",
        ));
    }
    let categories: Vec<String> = warranty_terms::table
        .filter(warranty_terms::project_id.eq(project.id))
        .select(warranty_terms::category)
        .load(conn)?;
    for category in WarrantyCategory::ALL
        .iter()
        .filter(|c| **c != WarrantyCategory::Other)
    {
        if !categories.iter().any(|c| c == category.as_str()) {
            gaps.push(FieldError::new(
                format!("warranty_terms.{category}"),
                "the warranty term is missing",
            ));
        }
    }
    Ok(gaps)
}

/// The project department submits the filled ledger for review. Refused
/// while a required contact or warranty term is missing.
pub fn submit(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    project_id: i64,
    expected_version: Option<IfMatch>,
    input: &LedgerSubmission,
) -> AppResult<Project> {
    let (now, actor, config) = (ctx.now, ctx.actor, ctx.config);
    let documents = attachments::documents(&input.attachment_ids);
    workflow::run::<Ledger>(
        conn,
        ctx,
        project_id,
        Request::new(
            LedgerAction::Submit,
            expected_version,
            input.late_reason.as_deref(),
        ),
        |conn, project| {
            let gaps = gaps(conn, project)?;
            if gaps.is_empty() {
                Ok(())
            } else {
                Err(AppError::Rule {
                    code: "ledger_incomplete",
                    detail: format!("the ledger is incomplete: {} item(s) missing", gaps.len()),
                    errors: gaps,
                })
            }
        },
        |conn, before, outcome: &Outcome<ApprovalStatus>| {
            // a ledger entered before the deadline engine ran has no clock:
            // judge it by the due time recorded on the project
            // (an import of a handover long past has no clock and no lateness)
            let late = outcome.late
                || (outcome.settled.is_empty()
                    && before.import_id.is_none()
                    && now > before.ledger_due_at);
            diesel::update(projects::table.find(before.id))
                .set((
                    projects::ledger_submitted_at.eq(now),
                    projects::ledger_submitted_late.eq(late),
                    projects::ledger_late_reason.eq(&outcome.note),
                ))
                .execute(conn)?;
            attachments::attach(
                conn,
                actor,
                config,
                now,
                (SubjectType::Project, before.id),
                &documents,
                "attachment_ids",
            )?;
            Ok(())
        },
    )
}

/// The branch engineering department approves the ledger or returns it
/// with what must be completed.
pub fn review(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    project_id: i64,
    expected_version: Option<IfMatch>,
    input: &Approval,
) -> AppResult<Project> {
    let comment = trimmed(input.comment.as_deref());
    let action = match input.decision {
        ApprovalDecision::Approve => LedgerAction::Approve,
        ApprovalDecision::Return => LedgerAction::Return,
    };
    let (now, reviewer) = (ctx.now, ctx.actor.id);
    workflow::run::<Ledger>(
        conn,
        ctx,
        project_id,
        Request::new(action, expected_version, input.late_reason.as_deref()),
        |_, _| {
            if action == LedgerAction::Return && comment.is_none() {
                return Err(AppError::invalid(
                    "comment",
                    "say what must be completed when returning a ledger",
                ));
            }
            Ok(())
        },
        |conn, before, outcome| {
            if let Some(fill) = outcome
                .started
                .iter()
                .find(|d| d.rule == Rule::LedgerFill.as_str())
            {
                set_due(conn, before.id, fill.due_at)?;
            }
            diesel::update(projects::table.find(before.id))
                .set((
                    projects::ledger_reviewed_at.eq(now),
                    projects::ledger_reviewed_by.eq(reviewer),
                    projects::ledger_review_comment.eq(&comment),
                ))
                .execute(conn)?;
            Ok(())
        },
    )
}
