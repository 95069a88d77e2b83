//! `/complaints`: register, list, read the timeline, and the steps of the
//! complaint workflow (judgment, filing, resolution, evaluation).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::attachments::AttachmentView;
use super::deadlines::{deadline_view, DeadlineView};
use super::extract::ValidQuery;
use super::rectification_plans::PlanView;
use super::{page, utc, versioned, ListResponse};
use crate::auth::{Actor, Caller};
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::complaint::{
    Channel, Complaint, ComplaintCategory, ComplaintStatus, Evaluation, EvaluationMethod,
    FilingStatus, Liability, Rating, Reply, ReplyMethod, Resolution, Severity,
};
use crate::models::event::{Event, EventType};
use crate::models::user::Role;
use crate::services::complaints::{
    self as service, ComplaintCount, ComplaintFilter, CountBy, EvaluationInput, FilingInput,
    JudgmentInput, NewComplaint, ResolutionInput,
};
use crate::AppState;

/// The liability judgment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JudgmentView {
    pub liability: Liability,
    /// For a complaint that is ours.
    pub severity: Option<Severity>,
    /// Why; `null` for customer accounts, who never see it.
    pub reasoning: Option<String>,
    pub judged_at: DateTime<Utc>,
    pub judged_by: Option<i64>,
}

/// The group's filing (备案).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FilingView {
    pub status: FilingStatus,
    pub filed_at: Option<DateTime<Utc>>,
    pub filed_by: Option<i64>,
    /// `null` for customer accounts.
    pub note: Option<String>,
}

/// A customer's complaint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "project_id": 3, "customer_id": 1, "branch_id": 2, "status": "registered",
    "category": "warranty", "channel": "phone", "complainant_name": "王先生 Mr Wang",
    "complainant_phone": "13800138000", "description": "3 号楼 12 层卫生间漏水",
    "sent_to_group": false, "received_at": "2026-11-20T09:30:00Z", "registered_by": 5,
    "is_repeat": false, "repeat_of": null, "visit_id": null, "judgment": null,
    "filing": {"status": "not_required", "filed_at": null, "filed_by": null, "note": null},
    "rounds": 0, "rating": null, "closed_at": null, "version": 1,
    "created_at": "2026-11-20T09:40:00Z", "updated_at": "2026-11-20T09:40:00Z"
}))]
pub struct ComplaintView {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: Option<i64>,
    pub status: ComplaintStatus,
    pub category: ComplaintCategory,
    pub channel: Channel,
    pub complainant_name: String,
    pub complainant_phone: String,
    pub description: String,
    /// Sent to the group (投诉至集团).
    pub sent_to_group: bool,
    pub received_at: DateTime<Utc>,
    pub registered_by: Option<i64>,
    /// A repeat complaint (二次投诉) about an earlier one's matter.
    pub is_repeat: bool,
    pub repeat_of: Option<i64>,
    /// The return visit whose survey opened it.
    pub visit_id: Option<i64>,
    /// `null` until judged.
    pub judgment: Option<JudgmentView>,
    pub filing: FilingView,
    /// How many times it was resolved (one more after each dissatisfied evaluation).
    pub rounds: i32,
    /// The last evaluation's rating.
    pub rating: Option<Rating>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Also sent as `ETag`; steps honour `If-Match`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<Complaint> for ComplaintView {
    type Error = AppError;
    fn try_from(c: Complaint) -> AppResult<Self> {
        let judgment = match (c.liability.as_deref(), c.judged_at) {
            (Some(liability), Some(at)) => Some(JudgmentView {
                liability: Liability::from_db(liability)?,
                severity: c.severity.as_deref().map(Severity::from_db).transpose()?,
                reasoning: c.reasoning,
                judged_at: utc(at),
                judged_by: c.judged_by,
            }),
            _ => None,
        };
        Ok(ComplaintView {
            id: c.id,
            project_id: c.project_id,
            customer_id: c.customer_id,
            branch_id: c.branch_id,
            status: ComplaintStatus::from_db(&c.status)?,
            category: ComplaintCategory::from_db(&c.category)?,
            channel: Channel::from_db(&c.channel)?,
            complainant_name: c.complainant_name,
            complainant_phone: c.complainant_phone,
            description: c.description,
            sent_to_group: c.sent_to_group,
            received_at: utc(c.received_at),
            registered_by: c.registered_by,
            is_repeat: c.is_repeat,
            repeat_of: c.repeat_of,
            visit_id: c.visit_id,
            judgment,
            filing: FilingView {
                status: FilingStatus::from_db(&c.filing_status)?,
                filed_at: c.filed_at.map(utc),
                filed_by: c.filed_by,
                note: c.filing_note,
            },
            rounds: c.rounds,
            rating: c.rating.as_deref().map(Rating::from_db).transpose()?,
            closed_at: c.closed_at.map(utc),
            version: c.version,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        })
    }
}

/// The reply letter to a complaint that is not ours.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplyView {
    pub method: ReplyMethod,
    pub sent_at: DateTime<Utc>,
    pub text: String,
}

impl TryFrom<Reply> for ReplyView {
    type Error = AppError;
    fn try_from(r: Reply) -> AppResult<Self> {
        Ok(ReplyView {
            method: ReplyMethod::from_db(&r.method)?,
            sent_at: utc(r.sent_at),
            text: r.text,
        })
    }
}

/// What the project department reported done.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResolutionView {
    pub round: i32,
    pub summary: String,
    pub resolved_by: i64,
    pub resolved_at: DateTime<Utc>,
}

impl From<Resolution> for ResolutionView {
    fn from(r: Resolution) -> Self {
        ResolutionView {
            round: r.round,
            summary: r.summary,
            resolved_by: r.resolved_by,
            resolved_at: utc(r.resolved_at),
        }
    }
}

/// The customer's evaluation of a round.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvaluationView {
    pub round: i32,
    pub rating: Rating,
    pub method: EvaluationMethod,
    pub notes: Option<String>,
    /// Basically satisfied or better: the complaint closed.
    pub satisfied: bool,
    pub evaluated_by: i64,
    pub evaluated_at: DateTime<Utc>,
}

impl TryFrom<Evaluation> for EvaluationView {
    type Error = AppError;
    fn try_from(e: Evaluation) -> AppResult<Self> {
        Ok(EvaluationView {
            round: e.round,
            rating: Rating::from_db(&e.rating)?,
            method: EvaluationMethod::from_db(&e.method)?,
            notes: e.notes,
            satisfied: e.satisfied,
            evaluated_by: e.evaluated_by,
            evaluated_at: utc(e.evaluated_at),
        })
    }
}

crate::listed_text!(
    /// The workflow action a timeline step took.
    StepAction,
    "The action of the complaint's, its filing's, its plan's or a milestone's table that the step took",
    crate::models::complaint::ComplaintAction::ALL,
    crate::models::complaint::FilingAction::ALL,
    crate::models::complaint::PlanAction::ALL,
    crate::models::complaint::MilestoneAction::ALL,
);

crate::listed_text!(
    /// The state a timeline step left its record in.
    StepState,
    "The complaint's, its filing's, its plan's or a milestone's state after the step",
    crate::models::complaint::ComplaintStatus::ALL,
    crate::models::complaint::FilingStatus::ALL,
    crate::models::complaint::PlanStatus::ALL,
    crate::models::complaint::MilestoneStatus::ALL,
);

/// One step in a complaint's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// What happened, e.g. `complaint.judged`, `rectification_plan.approved`.
    pub event: EventType,
    /// `complaint` or `rectification_plan`.
    pub subject_type: String,
    pub subject_id: i64,
    pub actor_user_id: Option<i64>,
    /// The workflow action taken, when the step is one.
    pub action: Option<StepAction>,
    /// The state after the step.
    pub state: Option<StepState>,
    /// The step came after its deadline.
    pub late: Option<bool>,
    /// The reason given with a late step (or a note in time); staff only.
    pub note: Option<String>,
}

fn step_view(e: Event, staff: bool) -> AppResult<StepView> {
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    let after = &payload["after"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    Ok(StepView {
        id: e.id,
        at: utc(e.at),
        event: EventType::from_db(&e.action)?,
        subject_type: e.subject_type,
        subject_id: e.subject_id,
        actor_user_id: e.actor_user_id,
        action: text(&after["action"]).map(StepAction),
        state: text(&after["state"])
            .or_else(|| text(&after["status"]))
            .map(StepState),
        late: after["late"].as_bool(),
        note: if staff { text(&after["note"]) } else { None },
    })
}

/// A complaint with everything that happened to it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ComplaintDetailView {
    #[serde(flatten)]
    pub complaint: ComplaintView,
    /// The repairs it made (judged minor) or reopened (about a repaired defect).
    pub repair_ids: Vec<i64>,
    /// The reply letter, for a complaint judged not ours.
    pub reply: Option<ReplyView>,
    /// The rectification plan of a serious complaint; staff only.
    pub plan: Option<PlanView>,
    pub resolutions: Vec<ResolutionView>,
    pub evaluations: Vec<EvaluationView>,
    /// The clocks of the complaint, its plan and its milestones (due, met,
    /// late and why); staff only.
    pub deadlines: Vec<DeadlineView>,
    pub attachments: Vec<AttachmentView>,
    /// Every step, in order.
    pub events: Vec<StepView>,
}

crate::list_query! {
    ComplaintListQuery {
        pub status: Option<ComplaintStatus>,
        pub category: Option<ComplaintCategory>,
        pub project_id: Option<i64>,
        pub customer_id: Option<i64>,
        pub branch_id: Option<i64>,
        pub sent_to_group: Option<bool>,
        /// Only repeat complaints (`true`) or only first ones (`false`).
        pub repeat: Option<bool>,
        /// Only those with a clock past due (their own, their plan's or a
        /// milestone's), or only those without.
        pub overdue: Option<bool>,
        /// Received on or after this instant.
        pub received_from: Option<DateTime<Utc>>,
        /// Received before this instant.
        pub received_to: Option<DateTime<Utc>>,
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ComplaintCountQuery {
    /// `project` or `customer`.
    pub by: CountBy,
    /// Received on or after this instant.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before this instant.
    pub received_to: Option<DateTime<Utc>>,
    /// How many rows, 1–200 (default 50), the most complained-about first.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The counts of one project or customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintCountsView {
    pub by: CountBy,
    pub items: Vec<ComplaintCount>,
}

fn answer_of(status: StatusCode, complaint: Complaint) -> AppResult<Answer> {
    let at = (complaint.id, complaint.version);
    super::record_answer(
        status,
        "/api/v1/complaints",
        at,
        ComplaintView::try_from(complaint)?,
    )
}

crate::create_handler! {
    /// Register a complaint
    ///
    /// By the group or branch engineering department (any channel), or by a
    /// customer account for its own project (channel `app`). Starts the 2-day
    /// `complaint.judge` clock from `received_at` for the branch engineering
    /// department. An earlier complaint on the same project and category that
    /// is still open, or was closed satisfied less than 12 months before, makes
    /// it a repeat complaint (`is_repeat`, `repeat_of`). Send an
    /// `Idempotency-Key`: a retried registration never creates a second one.
    #[utoipa::path(post, path = "/api/v1/complaints", tag = "complaints", operation_id = "register_complaint", request_body = NewComplaint,
        responses(
            (status = 201, description = "Registered", body = ComplaintView, headers(("Location" = String), ("ETag" = String))),
            (status = 403, description = "Your role does not register complaints", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "`project_id` or `repeat_of` names nothing in your scope (the field is named)", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields (`received_at` in the future; a customer's channel other than `app`), `repeat_of_other_project`, or an upload that cannot be attached (`upload_unavailable`)", body = Problem, content_type = "application/problem+json"),
            (status = 429, description = "A customer's account has registered its day's complaints (`daily_complaint_limit`, 20 in 24 hours by default); `Retry-After` says when the oldest is a day old", body = Problem, content_type = "application/problem+json"),
        ))]
    register(NewComplaint) => service::register, answer_of
}

/// List complaints
///
/// Those of projects in your scope (a customer account: its own), newest
/// registered first.
#[utoipa::path(get, path = "/api/v1/complaints", tag = "complaints", operation_id = "list_complaints", params(ComplaintListQuery),
    responses((status = 200, description = "A page of complaints", body = ListResponse<ComplaintView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<ComplaintListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = ComplaintFilter {
        status: q.status,
        category: q.category,
        project_id: q.project_id,
        customer_id: q.customer_id,
        branch_id: q.branch_id,
        sent_to_group: q.sent_to_group,
        repeat: q.repeat,
        overdue: q.overdue,
        received_from: q.received_from.map(|t| t.naive_utc()),
        received_to: q.received_to.map(|t| t.naive_utc()),
    };
    let now = state.clock.now_naive();
    let paged = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, now, &filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, ComplaintView::try_from)?))
}

/// Count complaints per project or customer
///
/// Total, repeat and open complaints in your scope received in the period,
/// the most complained-about first. Staff only.
#[utoipa::path(get, path = "/api/v1/complaints/counts", tag = "complaints", operation_id = "count_complaints", params(ComplaintCountQuery),
    responses(
        (status = 200, description = "The counts", body = ComplaintCountsView),
        (status = 403, description = "Customer accounts", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn counts(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<ComplaintCountQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let limit = super::page_limit(q.limit)?;
    let (by, from, to) = (
        q.by,
        q.received_from.map(|t| t.naive_utc()),
        q.received_to.map(|t| t.naive_utc()),
    );
    let items = state
        .db_as(caller, move |conn, actor| {
            service::counts(conn, &actor, by, from, to, limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ComplaintCountsView { by, items }))
}

pub(crate) fn detail_view(actor: &Actor, t: service::Timeline) -> AppResult<ComplaintDetailView> {
    let staff = actor.role != Role::Customer;
    let versions = t.policy_versions;
    Ok(ComplaintDetailView {
        complaint: ComplaintView::try_from(t.complaint)?,
        repair_ids: t.repair_ids,
        reply: t.reply.map(ReplyView::try_from).transpose()?,
        plan: t.plan.map(PlanView::try_from).transpose()?,
        resolutions: t
            .resolutions
            .into_iter()
            .map(ResolutionView::from)
            .collect(),
        evaluations: t
            .evaluations
            .into_iter()
            .map(EvaluationView::try_from)
            .collect::<AppResult<_>>()?,
        deadlines: t
            .deadlines
            .into_iter()
            .map(|d| {
                let v = versions.get(&d.policy_id).copied().unwrap_or(1);
                deadline_view(d, v)
            })
            .collect::<AppResult<_>>()?,
        attachments: t
            .attachments
            .into_iter()
            .map(AttachmentView::try_from)
            .collect::<AppResult<_>>()?,
        events: t
            .events
            .into_iter()
            .map(|e| step_view(e, staff))
            .collect::<AppResult<_>>()?,
    })
}

/// A complaint and its timeline
///
/// The complaint with its reply, plan, resolutions, evaluations, clocks,
/// attachments and every step in order. Customer accounts see their own,
/// without the judgment's reasoning, the plan, the clocks or internal
/// attachments.
#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "complaints", operation_id = "get_complaint",
    params(("id" = i64, Path, description = "Complaint id")),
    responses(
        (status = 200, description = "The complaint", body = ComplaintDetailView, headers(("ETag" = String))),
        (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db_as(caller, move |conn, actor| {
            let t = service::timeline(conn, &actor, id)?;
            detail_view(&actor, t)
        })
        .await?;
    Ok(versioned(StatusCode::OK, view.complaint.version, view))
}

/// The complaint as an administrator reads it (a webhook's body).
pub(crate) fn public_view(
    conn: &mut crate::db::DbConn,
    ctx: crate::kit::workflow::Ctx<'_>,
    id: i64,
) -> AppResult<serde_json::Value> {
    let t = service::timeline(conn, ctx.actor, id)?;
    serde_json::to_value(detail_view(ctx.actor, t)?).map_err(AppError::internal)
}

crate::step_handler! {
    /// Judge liability
    ///
    /// By the branch engineering department, within 2 days of receipt
    /// (`complaint.judge`; after that only with a `late_reason`, `422
    /// deadline_passed` without). `not_ours` needs the `reply` and closes the
    /// complaint (`closed_not_ours`); `ours` needs the `severity`: `serious` →
    /// `awaiting_plan`, `minor` → `handling`, and the group's filing is due.
    #[utoipa::path(post, path = "/api/v1/complaints/{id}/judgment", tag = "complaints", operation_id = "judge_complaint", request_body = JudgmentInput,
        params(("id" = i64, Path, description = "Complaint id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Judged", body = ComplaintView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department judges", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Judged already (`invalid_transition`), or changed at the same time (`concurrent_change`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "`severity` or `reply` missing or out of place, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    judge(JudgmentInput) => service::judge, answer_of
}

crate::step_handler! {
    /// File a complaint with the group
    ///
    /// By the group engineering department (备案), for every complaint judged
    /// ours; it runs beside the handling and never blocks it.
    #[utoipa::path(post, path = "/api/v1/complaints/{id}/filing", tag = "complaints", operation_id = "file_complaint", request_body = FilingInput,
        params(("id" = i64, Path, description = "Complaint id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Filed", body = ComplaintView, headers(("ETag" = String))),
            (status = 403, description = "Only the group engineering department files", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not judged ours, or filed already (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    file(FilingInput) => service::file, answer_of
}

crate::step_handler! {
    /// Report the complaint resolved
    ///
    /// By the project department, when a minor complaint is handled or a
    /// serious one's rectification is done: `revisit_due`, and the branch
    /// revisits the customer within 3 days (`complaint.revisit`).
    #[utoipa::path(post, path = "/api/v1/complaints/{id}/resolution", tag = "complaints", operation_id = "resolve_complaint", request_body = ResolutionInput,
        params(("id" = i64, Path, description = "Complaint id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Resolved", body = ComplaintView, headers(("ETag" = String))),
            (status = 403, description = "Only the project department resolves", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not being handled or rectified (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields or an upload that cannot be attached", body = Problem, content_type = "application/problem+json"),
        ))]
    resolve(ResolutionInput) => service::resolve, answer_of
}

crate::step_handler! {
    /// Record the customer's evaluation
    ///
    /// By the branch engineering department (method `visit`, `phone` or
    /// `acceptance`) or the customer account (method `app`). `basically_satisfied`
    /// or better closes the complaint (`closed_satisfied`); worse sends it back
    /// to `handling` (minor) or `rectifying` (serious) for another round.
    /// Settles `complaint.revisit`: staff need a `late_reason` after its 3 days.
    #[utoipa::path(post, path = "/api/v1/complaints/{id}/evaluation", tag = "complaints", operation_id = "evaluate_complaint", request_body = EvaluationInput,
        params(("id" = i64, Path, description = "Complaint id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Evaluated", body = ComplaintView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department or the customer evaluates", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such complaint in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not resolved (`invalid_transition`), or changed at the same time", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "A method the caller cannot use, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    evaluate(EvaluationInput) => service::evaluate, answer_of
}
