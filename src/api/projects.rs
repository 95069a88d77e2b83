use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{ValidJson, ValidQuery};
use super::{answer, if_match, once, page, utc, versioned, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::idempotency::Answer;
use crate::models::project::{
    ApprovalStatus, Contact, ContactRole, ContactSide, Project, WarrantyCategory, WarrantyTerm,
};
use crate::services::projects::ledger::{self, LedgerSubmission};
use crate::services::projects::warranty::{self, Length};
use crate::services::projects::{
    self as service, ContactPatch, NewContactInput, NewProjectInput, ProjectFilter, ProjectPatch,
    WarrantyTermInput,
};
use crate::services::Approval;
use crate::AppState;

/// Where the project's ledger stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerView {
    pub status: ApprovalStatus,
    /// End of the third day after handover (company time zone).
    pub due_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Submitted after `due_at`.
    pub submitted_late: bool,
    pub late_reason: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<i64>,
    pub review_comment: Option<String>,
}

/// A completed project in the ledger.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub customer_id: i64,
    pub contract_number: Option<String>,
    /// Square metres.
    pub building_area: Option<f64>,
    pub structure_type: Option<String>,
    pub quality_grade: Option<String>,
    pub completion_accepted_on: NaiveDate,
    pub handover_on: NaiveDate,
    /// The warranty starts this day (the day after completion acceptance).
    pub warranty_starts_on: NaiveDate,
    pub is_key_project: bool,
    pub hvac_in_scope: bool,
    /// When the M&E equipment and the water systems went into formal
    /// operation; the equipment visit falls a month later.
    pub systems_in_operation_on: Option<NaiveDate>,
    pub design_service_life_years: i32,
    pub ledger: LedgerView,
    /// The import (`GET /api/v1/imports/{id}`) that entered it from a
    /// spreadsheet; absent when it was entered through the API.
    pub import_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<Project> for ProjectView {
    type Error = AppError;
    fn try_from(p: Project) -> AppResult<Self> {
        Ok(ProjectView {
            ledger: LedgerView {
                status: ApprovalStatus::from_db(&p.ledger_status)?,
                due_at: utc(p.ledger_due_at),
                submitted_at: p.ledger_submitted_at.map(utc),
                submitted_late: p.ledger_submitted_late,
                late_reason: p.ledger_late_reason,
                reviewed_at: p.ledger_reviewed_at.map(utc),
                reviewed_by: p.ledger_reviewed_by,
                review_comment: p.ledger_review_comment,
            },
            warranty_starts_on: warranty::starts_on(p.completion_accepted_on),
            id: p.id,
            code: p.code,
            name: p.name,
            address: p.address,
            branch_id: p.branch_id,
            project_department_id: p.project_department_id,
            customer_id: p.customer_id,
            contract_number: p.contract_number,
            building_area: p.building_area,
            structure_type: p.structure_type,
            quality_grade: p.quality_grade,
            completion_accepted_on: p.completion_accepted_on,
            handover_on: p.handover_on,
            is_key_project: p.is_key_project,
            hvac_in_scope: p.hvac_in_scope,
            systems_in_operation_on: p.systems_in_operation_on,
            design_service_life_years: p.design_service_life_years,
            import_id: p.import_id,
            version: p.version,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        })
    }
}

/// A person to call about the project (appendix C).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub project_id: i64,
    pub role: ContactRole,
    pub side: ContactSide,
    pub name: String,
    pub phone: String,
    pub company: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<Contact> for ContactView {
    type Error = AppError;
    fn try_from(c: Contact) -> AppResult<Self> {
        let role = ContactRole::from_db(&c.role)?;
        Ok(ContactView {
            side: role.side(),
            role,
            id: c.id,
            project_id: c.project_id,
            name: c.name,
            phone: c.phone,
            company: c.company,
            version: c.version,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        })
    }
}

/// A length of warranty.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TermLength {
    pub value: i32,
    /// `years`, or `periods` (heating/cooling seasons).
    #[schema(example = "years")]
    pub unit: String,
}

impl From<Length> for TermLength {
    fn from(l: Length) -> Self {
        TermLength {
            value: l.value(),
            unit: match l {
                Length::Years(_) => "years".to_string(),
                Length::Periods(_) => "periods".to_string(),
            },
        }
    }
}

/// The warranty term of one component category.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarrantyTermView {
    pub id: i64,
    pub project_id: i64,
    pub category: WarrantyCategory,
    /// Length in years; `null` for heating_cooling.
    pub years: Option<i32>,
    /// Length in heating/cooling periods (heating_cooling only).
    pub periods: Option<i32>,
    pub starts_on: NaiveDate,
    /// The last day under warranty.
    pub ends_on: NaiveDate,
    /// The statutory minimum; `null` for `other` (as contracted).
    pub statutory_minimum: Option<TermLength>,
    pub note: Option<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

fn term_view(term: WarrantyTerm, design_life: i32) -> AppResult<WarrantyTermView> {
    let category = WarrantyCategory::from_db(&term.category)?;
    Ok(WarrantyTermView {
        statutory_minimum: warranty::statutory_minimum(category, design_life).map(TermLength::from),
        category,
        id: term.id,
        project_id: term.project_id,
        years: term.years,
        periods: term.periods,
        starts_on: term.starts_on,
        ends_on: term.ends_on,
        note: term.note,
        version: term.version,
        updated_at: utc(term.updated_at),
    })
}

/// One category's state on the day asked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TermStatusView {
    pub category: WarrantyCategory,
    pub under_warranty: bool,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Is it under warranty that day, and until when?
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "project_id": 1, "on": "2027-06-01", "category": "waterproofing", "under_warranty": true,
    "under_warranty_until": "2031-02-27",
    "terms": [{"category": "waterproofing", "under_warranty": true, "starts_on": "2026-02-28", "ends_on": "2031-02-27"}]
}))]
pub struct WarrantyStatusView {
    pub project_id: i64,
    pub on: NaiveDate,
    /// The category asked about, if any.
    pub category: Option<WarrantyCategory>,
    /// The category (or, when none was asked, any component) is under warranty that day.
    pub under_warranty: bool,
    /// The last day of warranty, when under warranty (the latest, across categories).
    pub under_warranty_until: Option<NaiveDate>,
    pub terms: Vec<TermStatusView>,
}

crate::list_query! {
    ProjectListQuery {
        pub branch_id: Option<i64>,
        pub project_department_id: Option<i64>,
        pub customer_id: Option<i64>,
        pub is_key_project: Option<bool>,
        pub hvac_in_scope: Option<bool>,
        pub ledger_status: Option<ApprovalStatus>,
        /// Only projects with a warranty term in force that day (YYYY-MM-DD).
        #[validate(custom(function = "crate::services::plausible_date"))]
        pub under_warranty_on: Option<NaiveDate>,
        /// Part of the code or name.
        #[validate(length(max = 100))]
        #[param(max_length = 100)]
        pub q: Option<String>,
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactListQuery {
    /// Only one side: `warranty`, `subcontractor` or `owner`.
    pub side: Option<ContactSide>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WarrantyStatusQuery {
    /// The day to ask about (YYYY-MM-DD); default today in the company's time zone.
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub on: Option<NaiveDate>,
    /// One component category; default all.
    pub category: Option<WarrantyCategory>,
}

fn answer_of(status: StatusCode, project: Project) -> AppResult<Answer> {
    let at = (project.id, project.version);
    super::record_answer(
        status,
        "/api/v1/projects",
        at,
        ProjectView::try_from(project)?,
    )
}

/// List projects
///
/// A project department sees its own projects, a branch those of its
/// departments, the group and admins all, a customer user its own.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ProjectListQuery),
    responses((status = 200, description = "A page of projects", body = ListResponse<ProjectView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<ProjectListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = ProjectFilter {
        branch_id: q.branch_id,
        project_department_id: q.project_department_id,
        customer_id: q.customer_id,
        is_key_project: q.is_key_project,
        hvac_in_scope: q.hvac_in_scope,
        ledger_status: q.ledger_status,
        under_warranty_on: q.under_warranty_on,
        q: q.q,
    };
    let paged = state
        .db_as(caller, move |conn, actor| {
            let mut paged = service::list(conn, &actor, &filter, page)?;
            paged.items = paged
                .items
                .into_iter()
                .map(|p| service::shown(&actor, p))
                .collect();
            Ok(paged)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(paged, ProjectView::try_from)?))
}

crate::create_handler! {
    /// Enter a completed project
    ///
    /// Creates the ledger entry (status `draft`, due 3 days after handover) and
    /// the statutory warranty terms, starting the day after completion acceptance.
    #[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProjectInput,
        responses(
            (status = 201, description = "Created", body = ProjectView, headers(("Location" = String), ("ETag" = String))),
            (status = 409, description = "The code is taken (`code_taken`)", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "A record named in the body (`project_department_id`, `customer_id`) does not exist or is outside your scope; the field is named", body = Problem, content_type = "application/problem+json"),
        ))]
    create(NewProjectInput) => |conn, ctx, body| service::create(conn, ctx.actor, ctx.config, ctx.now, body), answer_of
}

crate::read_handler! {
    /// Get a project
    #[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
        params(("id" = i64, Path, description = "Project id")),
        responses((status = 200, description = "The project", body = ProjectView, headers(("ETag" = String)))))]
    get as public_view => |conn, ctx, id| {
        service::get(conn, ctx.actor, id).map(|p| service::shown(ctx.actor, p))
    }, answer_of
}

crate::step_handler! {
    /// Change a project
    ///
    /// A new completion-acceptance date moves every warranty term's start; a new
    /// design service life moves the foundation and structure term with it.
    #[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", request_body = ProjectPatch,
        params(("id" = i64, Path, description = "Project id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "The changed project", body = ProjectView, headers(("ETag" = String))),
            (status = 409, description = "Code taken, or a concurrent change", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    update(ProjectPatch) => |conn, ctx, id, expected, patch| {
        service::update(conn, ctx.actor, ctx.config, ctx.now, id, expected, patch)
    }, answer_of
}

crate::step_handler! {
    /// Submit the ledger for review
    ///
    /// By the project manager. Refused (`ledger_incomplete`, each gap in
    /// `errors`) while the warranty lead, the project manager or an owner-side
    /// contact is missing. After the due time (the `ledger.fill` deadline) it is
    /// accepted only with a `late_reason` (`422 deadline_passed` without), and
    /// flagged late.
    #[utoipa::path(post, path = "/api/v1/projects/{id}/ledger/submission", tag = "projects", request_body = LedgerSubmission,
        params(("id" = i64, Path, description = "Project id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Submitted", body = ProjectView, headers(("ETag" = String))),
            (status = 403, description = "Only a project manager submits", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such project in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not in a state that can be submitted (`invalid_transition`), or changed at the same time (`concurrent_change`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Incomplete (`ledger_incomplete`) or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    submit_ledger(LedgerSubmission) => ledger::submit, answer_of
}

crate::step_handler! {
    /// Review the ledger
    ///
    /// By the branch engineering department: `approve`, or `return` with a
    /// comment saying what to complete.
    #[utoipa::path(post, path = "/api/v1/projects/{id}/ledger/review", tag = "projects", request_body = Approval,
        params(("id" = i64, Path, description = "Project id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Reviewed", body = ProjectView, headers(("ETag" = String))),
            (status = 403, description = "Only the branch engineering department reviews", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such project in your scope", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Not submitted (`invalid_transition`), or changed at the same time (`concurrent_change`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
            (status = 422, description = "Returned without a comment, or late without a reason (`deadline_passed`)", body = Problem, content_type = "application/problem+json"),
        ))]
    review_ledger(Approval) => ledger::review, answer_of
}

/// List the project's contacts
///
/// Customer users see the contractor's warranty team only.
#[utoipa::path(get, path = "/api/v1/projects/{id}/contacts", tag = "projects",
    params(("id" = i64, Path, description = "Project id"), ContactListQuery),
    responses((status = 200, description = "The contacts", body = [ContactView])))]
pub async fn contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: ValidQuery<ContactListQuery>,
) -> AppResult<HttpResponse> {
    let (id, side) = (id.into_inner(), query.0.side);
    let rows = state
        .db_as(caller, move |conn, actor| {
            service::contacts(conn, &actor, id, side)
        })
        .await?;
    let views: Vec<ContactView> = rows
        .into_iter()
        .map(ContactView::try_from)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// Add a contact
#[utoipa::path(post, path = "/api/v1/projects/{id}/contacts", tag = "projects", request_body = NewContactInput,
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 201, description = "Added", body = ContactView, headers(("ETag" = String)))))]
pub async fn add_contact(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<NewContactInput>,
) -> AppResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    once(&state, &req, caller, move |conn, actor| {
        let contact = service::add_contact(conn, &actor, now, id, &body.0)?;
        let (version, view) = (contact.version, ContactView::try_from(contact)?);
        answer(StatusCode::CREATED, Some(version), None, view)
    })
    .await
}

/// Change a contact
#[utoipa::path(patch, path = "/api/v1/projects/{id}/contacts/{contact_id}", tag = "projects", request_body = ContactPatch,
    params(("id" = i64, Path, description = "Project id"), ("contact_id" = i64, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
    responses(
        (status = 200, description = "Changed", body = ContactView, headers(("ETag" = String))),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_contact(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    body: ValidJson<ContactPatch>,
) -> AppResult<HttpResponse> {
    let ((id, contact_id), expected, now) =
        (path.into_inner(), if_match(&req)?, state.clock.now_naive());
    let contact = state
        .db_as(caller, move |conn, actor| {
            service::update_contact(conn, &actor, now, id, contact_id, expected, &body.0)
        })
        .await?;
    let (version, view) = (contact.version, ContactView::try_from(contact)?);
    Ok(versioned(StatusCode::OK, version, view))
}

/// Remove a contact
#[utoipa::path(delete, path = "/api/v1/projects/{id}/contacts/{contact_id}", tag = "projects",
    params(("id" = i64, Path, description = "Project id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204, description = "Removed (the audit trail keeps it)")))]
pub async fn remove_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let ((id, contact_id), now) = (path.into_inner(), state.clock.now_naive());
    state
        .db_as(caller, move |conn, actor| {
            service::remove_contact(conn, &actor, now, id, contact_id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List the warranty terms
#[utoipa::path(get, path = "/api/v1/projects/{id}/warranty-terms", tag = "projects",
    params(("id" = i64, Path, description = "Project id")),
    responses((status = 200, description = "One term per category", body = [WarrantyTermView])))]
pub async fn terms(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (project, terms) = state
        .db_as(caller, move |conn, actor| service::terms(conn, &actor, id))
        .await?;
    let views: Vec<WarrantyTermView> = terms
        .into_iter()
        .map(|t| term_view(t, project.design_service_life_years))
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// Set a warranty term
///
/// Lengthens (or, for `other`, creates) a category's term: `years`, or
/// `periods` for heating_cooling. A term shorter than the statutory minimum
/// is refused (`warranty_below_minimum`, naming the category and the minimum).
#[utoipa::path(put, path = "/api/v1/projects/{id}/warranty-terms/{category}", tag = "projects", request_body = WarrantyTermInput,
    params(("id" = i64, Path, description = "Project id"), ("category" = WarrantyCategory, Path, description = "Component category"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
    responses(
        (status = 200, description = "The term", body = WarrantyTermView, headers(("ETag" = String))),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_term(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(i64, WarrantyCategory)>,
    body: ValidJson<WarrantyTermInput>,
) -> AppResult<HttpResponse> {
    let ((id, category), expected, now, st) = (
        path.into_inner(),
        if_match(&req)?,
        state.clock.now_naive(),
        state.clone(),
    );
    let (term, design_life) = state
        .db_as(caller, move |conn, actor| {
            let term = service::set_term(
                conn, &actor, &st.config, now, id, category, expected, &body.0,
            )?;
            let project = service::get(conn, &actor, id)?;
            Ok((term, project.design_service_life_years))
        })
        .await?;
    let (version, view) = (term.version, term_view(term, design_life)?);
    Ok(versioned(StatusCode::OK, version, view))
}

/// Is it under warranty?
///
/// Answers for a day (default today) whether a component category — or any
/// component — of the project is under warranty, and until when.
#[utoipa::path(get, path = "/api/v1/projects/{id}/warranty-status", tag = "projects",
    params(("id" = i64, Path, description = "Project id"), WarrantyStatusQuery),
    responses((status = 200, description = "The warranty status", body = WarrantyStatusView)))]
pub async fn warranty_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: ValidQuery<WarrantyStatusQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let today = state
        .clock
        .now()
        .with_timezone(&state.config.tz)
        .date_naive();
    let on = query.0.on.unwrap_or(today);
    let category = query.0.category;
    let status = state
        .db_as(caller, move |conn, actor| {
            service::warranty_status(conn, &actor, id, on, category)
        })
        .await?;
    let until = status.under_warranty_until;
    let terms: Vec<TermStatusView> = status
        .terms
        .into_iter()
        .map(|s| {
            Ok(TermStatusView {
                category: WarrantyCategory::from_db(&s.term.category)?,
                under_warranty: s.under_warranty,
                starts_on: s.term.starts_on,
                ends_on: s.term.ends_on,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(WarrantyStatusView {
        project_id: id,
        on,
        category,
        under_warranty: until.is_some(),
        under_warranty_until: until,
        terms,
    }))
}
