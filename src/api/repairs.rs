//! `/repairs`: report a warranty repair and take it through its steps;
//! `/projects/{id}/repair-costs`: what a project's repairs cost, by payer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::attachments::AttachmentView;
use super::deadlines::{deadline_view, DeadlineView};
use super::extract::ValidQuery;
use super::{page, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::project::WarrantyCategory;
use crate::models::repair::{
    Repair, RepairAction, RepairCostKind, RepairCostLine, RepairHoldReason, RepairLiability,
    RepairPayer, RepairScale, RepairSeverity, RepairSource, RepairStatus, RepairStep,
};
use crate::services::repairs::{
    self as service, NewRepair, PayerCost, RepairAcceptance, RepairAgreement, RepairArrival,
    RepairCompletion, RepairConfirmation, RepairDetail, RepairDispatch, RepairFilter, RepairHold,
    RepairInspection, RepairResume,
};
use crate::AppState;

/// A warranty repair.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepairView {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub status: RepairStatus,
    pub source: RepairSource,
    /// The visit whose issue made it (`source: visit_issue`).
    pub visit_id: Option<i64>,
    /// The complaint judged minor that made it (`source: complaint`).
    pub complaint_id: Option<i64>,
    pub category: WarrantyCategory,
    pub location: String,
    pub description: String,
    pub severity: RepairSeverity,
    pub reported_at: DateTime<Utc>,
    pub reported_by: i64,
    /// Under warranty on the reported day (or as overridden); set by the confirmation.
    pub covered: Option<bool>,
    pub liability: Option<RepairLiability>,
    /// Who pays: set by the confirmation.
    pub payer: Option<RepairPayer>,
    /// The owner pays: work starts only after their agreement to the quote.
    pub billable: bool,
    pub scale: Option<RepairScale>,
    /// A large repair's target, in working days.
    pub target_days: Option<i32>,
    /// The repair lead the order named.
    pub lead_user_id: Option<i64>,
    /// 1, and one more each time the work went back (inspection failed,
    /// owner rejected, a renewed complaint).
    pub rounds: i32,
    /// The third (or later) repair of the same project, category and place.
    pub is_repeat: bool,
    /// The repair before it at the same place, for a repeat.
    pub repeat_of: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Also sent as `ETag`; steps honour `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<Repair> for RepairView {
    type Error = AppError;
    fn try_from(r: Repair) -> AppResult<Self> {
        Ok(RepairView {
            id: r.id,
            project_id: r.project_id,
            customer_id: r.customer_id,
            branch_id: r.branch_id,
            status: RepairStatus::from_db(&r.status)?,
            source: RepairSource::from_db(&r.source)?,
            visit_id: r.visit_id,
            complaint_id: r.complaint_id,
            category: WarrantyCategory::from_db(&r.category)?,
            location: r.location,
            description: r.description,
            severity: RepairSeverity::from_db(&r.severity)?,
            reported_at: utc(r.reported_at),
            reported_by: r.reported_by,
            covered: r.covered,
            liability: r
                .liability
                .as_deref()
                .map(RepairLiability::from_db)
                .transpose()?,
            payer: r.payer.as_deref().map(RepairPayer::from_db).transpose()?,
            billable: r.billable,
            scale: r.scale.as_deref().map(RepairScale::from_db).transpose()?,
            target_days: r.target_days,
            lead_user_id: r.lead_user_id,
            rounds: r.rounds,
            is_repeat: r.is_repeat,
            repeat_of: r.repeat_of,
            closed_at: r.closed_at.map(utc),
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        })
    }
}

/// A line of the quote or of the actual costs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepairCostLineView {
    pub id: i64,
    pub kind: RepairCostKind,
    /// The round of work it belongs to.
    pub round: i32,
    pub item: String,
    pub quantity: f64,
    /// Yuan.
    pub unit_price: f64,
    /// Yuan: quantity × unit price, to the fen.
    pub amount: f64,
    pub payer: RepairPayer,
    /// The subcontractor charged (staff only see such lines).
    pub contact_id: Option<i64>,
}

#[allow(clippy::cast_precision_loss)]
fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

impl TryFrom<RepairCostLine> for RepairCostLineView {
    type Error = AppError;
    fn try_from(l: RepairCostLine) -> AppResult<Self> {
        Ok(RepairCostLineView {
            id: l.id,
            kind: RepairCostKind::from_db(&l.kind)?,
            round: l.round,
            item: l.item,
            quantity: l.quantity,
            unit_price: yuan(l.unit_price_fen),
            amount: yuan(l.amount_fen),
            payer: RepairPayer::from_db(&l.payer)?,
            contact_id: l.contact_id,
        })
    }
}

/// What one step recorded (the repair record form).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepairStepView {
    pub id: i64,
    pub round: i32,
    pub action: RepairAction,
    /// The step's fields as recorded (the confirmation's cause and
    /// measures, the order's crew, the inspection's reasons, a signature).
    #[schema(value_type = super::JsonObject)]
    pub details: serde_json::Value,
    /// Staff only.
    pub internal_note: Option<String>,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

impl From<RepairStep> for RepairStepView {
    fn from(s: RepairStep) -> Self {
        RepairStepView {
            id: s.id,
            round: s.round,
            action: s.action.parse().unwrap_or(RepairAction::Arrive),
            details: serde_json::from_str(&s.details).unwrap_or_default(),
            internal_note: s.internal_note,
            recorded_by: s.recorded_by,
            recorded_at: utc(s.recorded_at),
        }
    }
}

/// Why work waits.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepairHoldView {
    pub reason: RepairHoldReason,
    pub note: String,
}

/// A repair and its timeline.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RepairDetailView {
    #[serde(flatten)]
    pub repair: RepairView,
    /// While `on_hold`: what the work waits for (the owner sees it).
    pub on_hold: Option<RepairHoldView>,
    /// Every repair of the same project, category and place, oldest first
    /// (this one among them).
    pub chain: Vec<i64>,
    /// Complaints about the repaired defect that reopened it.
    pub reopened_by: Vec<i64>,
    /// The follow-up visit.
    pub followup_visit_id: Option<i64>,
    /// The quote shown to the owner (billable repairs).
    pub quote: Vec<RepairCostLineView>,
    /// Yuan.
    pub quote_total: f64,
    /// What the work cost (an owner sees no line charged to a subcontractor).
    pub cost_lines: Vec<RepairCostLineView>,
    /// What each step recorded, in order.
    pub steps: Vec<RepairStepView>,
    /// Its clocks: due, met, late and why (the reasons staff only), time on hold.
    pub deadlines: Vec<DeadlineView>,
    /// Seconds its clocks have been held so far, all rounds.
    pub time_on_hold_secs: i64,
    pub attachments: Vec<AttachmentView>,
}

fn detail_view(d: RepairDetail) -> AppResult<RepairDetailView> {
    let versions = d.policy_versions;
    let quote: Vec<RepairCostLineView> = d
        .quote
        .into_iter()
        .map(RepairCostLineView::try_from)
        .collect::<AppResult<_>>()?;
    let quote_total = yuan(
        quote
            .iter()
            .map(|l| (l.amount * 100.0).round() as i64)
            .sum(),
    );
    Ok(RepairDetailView {
        repair: RepairView::try_from(d.repair)?,
        on_hold: d
            .on_hold
            .map(|(reason, note)| {
                Ok::<_, AppError>(RepairHoldView {
                    reason: RepairHoldReason::from_db(&reason)?,
                    note,
                })
            })
            .transpose()?,
        chain: d.chain,
        reopened_by: d.reopened_by,
        followup_visit_id: d.followup_visit_id,
        quote,
        quote_total,
        cost_lines: d
            .cost_lines
            .into_iter()
            .map(RepairCostLineView::try_from)
            .collect::<AppResult<_>>()?,
        steps: d.steps.into_iter().map(RepairStepView::from).collect(),
        time_on_hold_secs: d.clocks.iter().map(|c| c.paused_secs).sum(),
        deadlines: d
            .clocks
            .into_iter()
            .map(|c| {
                let v = versions.get(&c.policy_id).copied().unwrap_or(1);
                deadline_view(c, v)
            })
            .collect::<AppResult<_>>()?,
        attachments: d
            .attachments
            .into_iter()
            .map(AttachmentView::try_from)
            .collect::<AppResult<_>>()?,
    })
}

fn answer_of(status: StatusCode, d: RepairDetail) -> AppResult<Answer> {
    let at = (d.repair.id, d.repair.version);
    super::record_answer(status, "/api/v1/repairs", at, detail_view(d)?)
}

crate::list_query! {
    RepairListQuery {
        pub status: Option<RepairStatus>,
        pub project_id: Option<i64>,
        pub customer_id: Option<i64>,
        pub branch_id: Option<i64>,
        pub severity: Option<RepairSeverity>,
        pub category: Option<WarrantyCategory>,
        pub payer: Option<RepairPayer>,
        /// Only those with a clock past due, or only those without.
        pub overdue: Option<bool>,
        /// Only repeats (`true`: the third or later at the same place) or only others.
        pub repeat: Option<bool>,
        /// Reported on or after this instant.
        pub reported_from: Option<DateTime<Utc>>,
        /// Reported before this instant.
        pub reported_to: Option<DateTime<Utc>>,
    }
}

crate::create_handler! {
    /// Report a repair
    ///
    /// By engineers and the project department in scope (`owner_report`,
    /// `inspection`), or the owner's own account for its own project (`app`,
    /// at most 7 days back). Starts `repair.respond` (24 h; 8 h as
    /// `repair.respond.emergency` for an emergency) and `repair.confirm`
    /// (2 days) from `reported_at`, for the project department. The third
    /// repair of the same project, category and place is a repeat. Send an
    /// `Idempotency-Key`: a retried report never creates a second repair.
    #[utoipa::path(post, path = "/api/v1/repairs", tag = "repairs", operation_id = "report_repair", request_body = NewRepair,
        responses(
            (status = 201, description = "Reported", body = RepairDetailView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Your role does not report repairs", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`project_id` names no project in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields (`reported_at` in the future or, from the app, more than 7 days back; a `source` that is not yours to give), or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    report(NewRepair) => service::report, answer_of
}

/// List repairs
///
/// Those of projects in your scope (a customer account: its own; a lead:
/// also those they lead), newest first.
#[utoipa::path(get, path = "/api/v1/repairs", tag = "repairs", operation_id = "list_repairs", params(RepairListQuery),
    responses((status = 200, description = "A page of repairs", body = ListResponse<RepairView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<RepairListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = RepairFilter {
        status: q.status,
        project_id: q.project_id,
        customer_id: q.customer_id,
        branch_id: q.branch_id,
        severity: q.severity,
        category: q.category,
        payer: q.payer,
        overdue: q.overdue,
        repeat: q.repeat,
        reported_from: q.reported_from.map(|t| t.naive_utc()),
        reported_to: q.reported_to.map(|t| t.naive_utc()),
    };
    let now = state.clock.now_naive();
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, now, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, RepairView::try_from)?))
}

crate::read_handler! {
    /// A repair and its timeline
    ///
    /// Every step with what it recorded, every clock (due, met, late and why,
    /// time on hold), the quote and the cost lines, the attachments, the chain
    /// of repairs at the same place. An owner reads their own without internal
    /// notes, late reasons, lines charged to a subcontractor or internal
    /// attachments.
    #[utoipa::path(get, path = "/api/v1/repairs/{id}", tag = "repairs", operation_id = "get_repair",
        params(("id" = i64, Path, description = "Repair id")),
        responses(
            (status = 200, description = "The repair", body = RepairDetailView, headers(("ETag" = String))),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
        ))]
    get as public_view => |conn, ctx, id| service::get(conn, ctx.actor, id), answer_of
}

crate::step_handler! {
    /// Someone is on site
    ///
    /// By the project department: settles `repair.respond` (after it only with
    /// a `late_reason`). Before photos may come in `attachment_ids`.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/arrival", tag = "repairs", operation_id = "arrive_at_repair", request_body = RepairArrival,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Recorded", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `reported` (`invalid_transition`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Late without a reason (`deadline_passed`), or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    arrive(RepairArrival) => service::arrive, answer_of
}

crate::step_handler! {
    /// Confirm the defect
    ///
    /// By the project department within 2 days of the report (on site or by
    /// phone; the confirmation also answers the response clock). `not_a_defect`
    /// with the `explanation` closes it. `defect`: `covered` comes from the
    /// project's warranty terms on the reported day (`covered_override` only
    /// with an `override_reason`); from the `liability` and the coverage, who
    /// pays; billable repairs need a `quote` and wait for the owner's agreement,
    /// free ones for the repair order.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/confirmation", tag = "repairs", operation_id = "confirm_repair", request_body = RepairConfirmation,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Confirmed", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope, or `subcontractor_contact_id` / `shares[i].contact_id` names no subcontractor of the project", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Confirmed already (`invalid_transition`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Missing or misplaced fields (shares not summing to 100, `target_days` outside 2–5, a structural-safety defect without its report and scheme), a billable repair without its quote (`quote_required`), or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    confirm(RepairConfirmation) => service::confirm, answer_of
}

crate::step_handler! {
    /// The owner's answer to the quote
    ///
    /// By the owner's own account, or by the project department recording the
    /// signed form (`signed_by`, `signed_on`, the scan): `accepted` → the repair
    /// order may be issued; `declined` → `closed_declined`.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/agreement", tag = "repairs", operation_id = "agree_to_repair", request_body = RepairAgreement,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Answered", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Not the owner nor the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `awaiting_agreement` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A paper form without `signed_by` or `signed_on`, or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    agree(RepairAgreement) => service::agree, answer_of
}

crate::step_handler! {
    /// Issue the repair order
    ///
    /// By the branch engineering department (签发): the lead (by default the
    /// project department's project manager) and the crew. Starts
    /// `repair.complete` (24 h) for a small repair, `repair.complete.large`
    /// (the confirmed working days) for a large one, held by the lead.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/dispatch", tag = "repairs", operation_id = "dispatch_repair", request_body = RepairDispatch,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Ordered", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope, or `lead_user_id` / `subcontractor_contact_id` names no one there", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `awaiting_dispatch` (`invalid_transition`: a billable repair waits for the owner's agreement)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "No lead named and none by default, or a lead who is not a project manager or staff", body = Problem, content_type = "application/problem+json"),
        ))]
    dispatch(RepairDispatch) => service::dispatch, answer_of
}

crate::step_handler! {
    /// Put the work on hold
    ///
    /// By the project department, while work waits for the owner, their
    /// materials or the weather: the completion clock stops (a clock already
    /// past due keeps running).
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/hold", tag = "repairs", operation_id = "hold_repair", request_body = RepairHold,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "On hold", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `in_progress` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    hold(RepairHold) => service::hold, answer_of
}

crate::step_handler! {
    /// Resume the work
    ///
    /// By the project department: the completion clock runs again, due later
    /// by exactly the time held (working time for working days).
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/resume", tag = "repairs", operation_id = "resume_repair", request_body = RepairResume,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "In progress", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `on_hold` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    resume(RepairResume) => service::resume, answer_of
}

crate::step_handler! {
    /// Report the work done
    ///
    /// By the project department (the lead): what was done, materials, labour
    /// hours, the actual cost lines each with its payer, and at least one
    /// photo after the work. Settles the completion clock (late only with a
    /// `late_reason`); the quality side inspects next.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/completion", tag = "repairs", operation_id = "complete_repair", request_body = RepairCompletion,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Done", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope, or a cost line's `contact_id` names no subcontractor of the project", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `in_progress` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "No photo, invalid cost lines, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    complete(RepairCompletion) => service::complete, answer_of
}

crate::step_handler! {
    /// Inspect the work
    ///
    /// By the branch engineering department (the quality side): `pass` → the
    /// owner accepts next; `fail` with the `reasons` → back to work, another
    /// round, the completion clock running on with what was left of it.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/inspection", tag = "repairs", operation_id = "inspect_repair", request_body = RepairInspection,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Inspected", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `awaiting_inspection` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A fail without reasons", body = Problem, content_type = "application/problem+json"),
        ))]
    inspect(RepairInspection) => service::inspect, answer_of
}

crate::step_handler! {
    /// The owner's sign-off
    ///
    /// By the owner's own account, or the project department recording the
    /// paper sign-off (`signed_by`, `signed_on` on or after the completion day,
    /// the scan): `accepted` with the `rating` → `accepted`, and the follow-up
    /// visit is due within a month (`repair.followup`, not before a week);
    /// `rejected` with the `reason` → back to work, another round.
    #[utoipa::path(post, path = "/api/v1/repairs/{id}/acceptance", tag = "repairs", operation_id = "accept_repair", request_body = RepairAcceptance,
        params(("id" = i64, Path, description = "Repair id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Signed off or rejected", body = RepairDetailView, headers(("ETag" = String))),
            (status = 403, description = "Not the owner nor the project department", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such repair in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not `awaiting_acceptance` (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "No rating, no reason, a paper form without its signer or with a day before the completion, or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    accept(RepairAcceptance) => service::accept, answer_of
}

/// What a project's repairs cost, by payer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepairCostsView {
    pub project_id: i64,
    pub items: Vec<PayerCost>,
    /// Yuan, all payers.
    pub total: f64,
}

/// A project's repair costs
///
/// The actual cost lines of its repairs summed by payer: what the warranty
/// reserve paid (`company`), what each subcontractor owes, what owners were
/// billed, what no one owes. Staff only.
#[utoipa::path(get, path = "/api/v1/projects/{id}/repair-costs", tag = "repairs", operation_id = "get_project_repair_costs",
    params(("id" = i64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The sums", body = RepairCostsView),
        (status = 403, description = "Customer accounts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project in your scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn costs(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let items = state
        .db_as(caller, move |conn, actor| service::costs(conn, &actor, id))
        .await?;
    let total = yuan(items.iter().map(|c| c.amount_fen).sum());
    Ok(HttpResponse::Ok().json(RepairCostsView {
        project_id: id,
        items,
        total,
    }))
}
