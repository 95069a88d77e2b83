use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{ValidJson, ValidQuery};
use super::PageQuery;
use super::{page, page_limit, utc, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::deadlines::calendar;
use crate::kit::deadlines::days::{self, CalendarDayInput};
use crate::kit::deadlines::{
    self as service, DeadlineFilter, DueCursor, PauseInput, PolicyInput, TaskReason,
};
use crate::models::deadline::{
    CalendarDay, CalendarDayKind, Deadline, DeadlineStatus, DeadlineSubject, DurationUnit, Policy,
    Rule,
};
use crate::models::user::Role;
use crate::AppState;

/// How long one step may take, and who hears of it when it is late.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"rule": "complaint.judge", "version": 1, "duration": 48, "unit": "hours",
    "actor_role": "branch_engineer", "escalation_roles": ["branch_leader", "group_engineer"],
    "min_duration": null, "warn_percent": 80,
    "description": "Judge complaint liability within 2 days of receipt (004 §5.4.2)", "created_by": null,
    "created_at": "2026-11-23T00:00:00Z"}))]
pub struct PolicyView {
    pub rule: Rule,
    /// Increases with every change; each deadline keeps the version it started under.
    pub version: i32,
    pub duration: i32,
    pub unit: DurationUnit,
    /// The role that must act.
    pub actor_role: Role,
    /// Who the deadline is escalated to when it passes.
    pub escalation_roles: Vec<Role>,
    pub description: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// The nearest target a workflow may choose instead of `duration`
    /// (`null`: any from 1).
    pub min_duration: Option<i32>,
    /// A deadline shows as due soon when this share (per cent) of its
    /// duration has gone by.
    pub warn_percent: i32,
}

impl TryFrom<Policy> for PolicyView {
    type Error = AppError;
    fn try_from(p: Policy) -> AppResult<Self> {
        Ok(PolicyView {
            unit: DurationUnit::from_db(&p.unit)?,
            actor_role: Role::from_db(&p.actor_role)?,
            escalation_roles: p
                .escalation_role_list()
                .into_iter()
                .map(Role::from_db)
                .collect::<AppResult<_>>()?,
            rule: Rule::from_db(&p.rule)?,
            version: p.version,
            duration: p.duration,
            description: p.description,
            created_by: p.created_by,
            created_at: utc(p.created_at),
            min_duration: p.min_duration,
            warn_percent: p.warn_percent,
        })
    }
}

/// A clock on one step of a workflow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadlineView {
    pub id: i64,
    pub rule: Rule,
    /// The policy version it started under.
    pub policy_version: i32,
    pub subject_type: DeadlineSubject,
    pub subject_id: i64,
    pub title: String,
    /// API path of the subject.
    pub link: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
    pub status: DeadlineStatus,
    pub assignee_user_id: Option<i64>,
    pub assignee_role: Option<Role>,
    /// The org unit the work belongs to.
    pub scope_org_unit_id: Option<i64>,
    pub escalation_level: i32,
    pub escalated_at: Option<DateTime<Utc>>,
    pub late_reason: Option<String>,
    /// What was said with a step done in time.
    pub note: Option<String>,
    pub settled_by: Option<i64>,
    /// The duration it runs for, in its policy's unit.
    pub duration: Option<i32>,
    /// Paused since then (the owner could not give access, …); a paused
    /// deadline is never swept overdue.
    pub paused_at: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    /// Time spent paused before, in seconds (working seconds for policies in
    /// working days); `due_at` already includes it.
    pub paused_secs: i64,
    /// When it shows as due soon.
    pub warn_at: Option<DateTime<Utc>>,
    /// When the sweeper marked it due soon.
    pub due_soon_at: Option<DateTime<Utc>>,
    /// Its version, also sent as `ETag`; pause and resume honour `If-Match`.
    pub version: i32,
}

pub(crate) fn deadline_view(d: Deadline, policy_version: i32) -> AppResult<DeadlineView> {
    Ok(DeadlineView {
        status: DeadlineStatus::from_db(&d.status)?,
        assignee_role: d.assignee_role.as_deref().map(Role::from_db).transpose()?,
        policy_version,
        id: d.id,
        rule: Rule::from_db(&d.rule)?,
        subject_type: DeadlineSubject::from_db(&d.subject_type)?,
        subject_id: d.subject_id,
        title: d.title,
        link: d.link,
        started_at: utc(d.started_at),
        due_at: utc(d.due_at),
        met_at: d.met_at.map(utc),
        assignee_user_id: d.assignee_user_id,
        scope_org_unit_id: d.scope_org_unit_id,
        escalation_level: d.escalation_level,
        escalated_at: d.escalated_at.map(utc),
        late_reason: d.late_reason,
        note: d.note,
        settled_by: d.settled_by,
        duration: d.duration,
        paused_at: d.paused_at.map(utc),
        pause_reason: d.pause_reason,
        paused_secs: d.paused_secs,
        warn_at: d.warn_at.map(utc),
        due_soon_at: d.due_soon_at.map(utc),
        version: d.version,
    })
}

/// One entry of the caller's task list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// The deadline's id, as in `/deadlines/{id}`.
    pub id: i64,
    pub rule: Rule,
    pub title: String,
    /// API path of the subject: open it to act.
    pub link: String,
    pub subject_type: DeadlineSubject,
    pub subject_id: i64,
    pub due_at: DateTime<Utc>,
    pub status: DeadlineStatus,
    /// Past its due time (the sweeper may not have marked it yet).
    pub overdue: bool,
    /// Past its warning point and not yet due: act now.
    pub due_soon: bool,
    /// Stopped with a reason; its due time moves on when it resumes.
    pub paused: bool,
    pub escalation_level: i32,
    pub reason: TaskReason,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskListResponse {
    pub items: Vec<TaskView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A day of the company calendar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDayView {
    pub date: NaiveDate,
    /// Worked or not, after marks and weekends.
    pub working: bool,
    /// The mark, when the day has one.
    pub kind: Option<CalendarDayKind>,
    pub name: Option<String>,
}

fn day_view(date: NaiveDate, mark: Option<CalendarDay>) -> AppResult<CalendarDayView> {
    let kind = mark
        .as_ref()
        .map(|m| CalendarDayKind::from_db(&m.kind))
        .transpose()?;
    let mut marks = calendar::Marks::new();
    if let Some(k) = kind {
        marks.insert(date, k);
    }
    Ok(CalendarDayView {
        date,
        working: calendar::is_working_day(date, &marks),
        kind,
        name: mark.map(|m| m.name),
    })
}

crate::list_query! {
    DeadlineListQuery {
        pub status: Option<DeadlineStatus>,
        pub rule: Option<Rule>,
        pub subject_type: Option<DeadlineSubject>,
        pub subject_id: Option<i64>,
        /// Assigned to this user by name.
        pub assignee: Option<i64>,
        /// Due before this instant (RFC 3339).
        pub due_before: Option<DateTime<Utc>>,
        /// `true`: open and past due; `false`: everything else.
        pub overdue: Option<bool>,
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    /// First day (default 1 January of this year).
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub from: Option<NaiveDate>,
    /// Last day (default 31 December of `from`'s year).
    #[validate(custom(function = "crate::services::plausible_date"))]
    pub to: Option<NaiveDate>,
}

/// Deadline policies
///
/// The policy in force for every rule.
#[utoipa::path(get, path = "/api/v1/deadline-policies", tag = "deadlines",
    responses((status = 200, description = "One policy per rule", body = [PolicyView])))]
pub async fn policies(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let rows = state
        .db_as(caller, |conn, _| service::current_policies(conn))
        .await?;
    let views: Vec<PolicyView> = rows
        .into_iter()
        .map(PolicyView::try_from)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// A rule's policy history
///
/// Every version, oldest first.
#[utoipa::path(get, path = "/api/v1/deadline-policies/{rule}", tag = "deadlines",
    params(("rule" = Rule, Path, description = "The rule, e.g. `complaint.judge`")),
    responses((status = 200, description = "Every version", body = [PolicyView])))]
pub async fn policy_versions(
    state: web::Data<AppState>,
    caller: Caller,
    rule: web::Path<Rule>,
) -> AppResult<HttpResponse> {
    let rule = rule.into_inner();
    let rows = state
        .db_as(caller, move |conn, _| service::policy_versions(conn, rule))
        .await?;
    let views: Vec<PolicyView> = rows
        .into_iter()
        .map(PolicyView::try_from)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// Change a rule's policy (admin)
///
/// Adds a version. It applies to deadlines started from now on; running
/// deadlines keep their due times.
#[utoipa::path(put, path = "/api/v1/deadline-policies/{rule}", tag = "deadlines", request_body = PolicyInput,
    params(("rule" = Rule, Path, description = "The rule, e.g. `complaint.judge`")),
    responses((status = 200, description = "The new version", body = PolicyView)))]
pub async fn change_policy(
    state: web::Data<AppState>,
    caller: Caller,
    rule: web::Path<Rule>,
    body: ValidJson<PolicyInput>,
) -> AppResult<HttpResponse> {
    let (rule, now) = (rule.into_inner(), state.clock.now_naive());
    let policy = state
        .db_as(caller, move |conn, actor| {
            service::change_policy(conn, &actor, now, rule, &body.0)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PolicyView::try_from(policy)?))
}

/// List deadlines
///
/// The deadlines of the caller's scope, oldest first (by id). With
/// `overdue=true`: the open ones past due, most overdue first (by due time);
/// page on with that list's own `next_cursor`.
#[utoipa::path(get, path = "/api/v1/deadlines", tag = "deadlines", params(DeadlineListQuery),
    responses((status = 200, description = "A page of deadlines", body = ListResponse<DeadlineView>)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<DeadlineListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let filter = DeadlineFilter {
        status: q.status,
        rule: q.rule,
        subject_type: q.subject_type.map(|t| t.as_str().to_string()),
        subject_id: q.subject_id,
        assignee_user_id: q.assignee,
        due_before: q.due_before.map(|t| t.naive_utc()),
        overdue: q.overdue,
    };
    let now = state.clock.now_naive();
    // the overdue list reads most overdue first, and pages by due time
    let (rows, next_cursor, versions) = if q.overdue == Some(true) {
        let limit = page_limit(q.limit)?;
        let after = cursor_of(q.cursor.as_deref(), decode_due_after)?;
        let (rows, next, versions) = state
            .db_as(caller, move |conn, actor| {
                let after = resolve_due(conn, after)?;
                let (rows, next) = service::overdue(conn, &actor, now, &filter, limit, after)?;
                let versions = service::policy_versions_of(conn, &rows)?;
                Ok((rows, next, versions))
            })
            .await?;
        (rows, next.map(encode_due_cursor), versions)
    } else {
        let page = page(q.limit, q.cursor.as_deref())?;
        let (paged, versions) = state
            .db_as(caller, move |conn, actor| {
                let paged = service::list(conn, &actor, now, &filter, page)?;
                let versions = service::policy_versions_of(conn, &paged.items)?;
                Ok((paged, versions))
            })
            .await?;
        (
            paged.items,
            paged.next_after.map(super::encode_cursor),
            versions,
        )
    };
    let items = rows
        .into_iter()
        .map(|d| {
            let v = versions.get(&d.policy_id).copied().unwrap_or(0);
            deadline_view(d, v)
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(ListResponse { items, next_cursor }))
}

/// The cursor of a previous page, if one was sent.
fn cursor_of<C>(text: Option<&str>, decode: impl Fn(&str) -> AppResult<C>) -> AppResult<Option<C>> {
    text.filter(|c| !c.is_empty()).map(decode).transpose()
}

/// The deadline as an administrator reads it (a webhook's body).
pub(crate) fn public_view(
    conn: &mut crate::db::DbConn,
    ctx: crate::kit::workflow::Ctx<'_>,
    id: i64,
) -> AppResult<serde_json::Value> {
    let d = service::get(conn, ctx.actor, id)?;
    let versions = service::policy_versions_of(conn, std::slice::from_ref(&d))?;
    let v = versions.get(&d.policy_id).copied().unwrap_or(0);
    serde_json::to_value(deadline_view(d, v)?).map_err(AppError::internal)
}

/// Get a deadline
#[utoipa::path(get, path = "/api/v1/deadlines/{id}", tag = "deadlines",
    params(("id" = i64, Path, description = "Deadline id")),
    responses((status = 200, description = "The deadline", body = DeadlineView)))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (d, versions) = state
        .db_as(caller, move |conn, actor| {
            let d = service::get(conn, &actor, id)?;
            let versions = service::policy_versions_of(conn, std::slice::from_ref(&d))?;
            Ok((d, versions))
        })
        .await?;
    let v = versions.get(&d.policy_id).copied().unwrap_or(0);
    let version = d.version;
    Ok(super::versioned(
        StatusCode::OK,
        version,
        deadline_view(d, v)?,
    ))
}

/// The answer of a pause or resume: the deadline with its policy version.
fn deadline_answer(
    conn: &mut crate::db::DbConn,
    d: Deadline,
) -> AppResult<crate::kit::idempotency::Answer> {
    let versions = service::policy_versions_of(conn, std::slice::from_ref(&d))?;
    let v = versions.get(&d.policy_id).copied().unwrap_or(0);
    let version = d.version;
    super::answer(StatusCode::OK, Some(version), None, deadline_view(d, v)?)
}

/// Pause a deadline
///
/// Stops a running clock with a reason, e.g. the owner cannot give access
/// to the flat. The paused time does not count; a paused deadline is never
/// swept overdue and shows `paused` in task lists. By the person it is
/// assigned to, or a project manager, branch engineer, branch leader, group
/// engineer or admin in whose scope it lies.
#[utoipa::path(post, path = "/api/v1/deadlines/{id}/pause", tag = "deadlines", request_body = PauseInput,
    params(("id" = i64, Path, description = "Deadline id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
    responses(
        (status = 200, description = "Paused", body = DeadlineView, headers(("ETag" = String))),
        (status = 409, description = "Already paused (`deadline_paused`), or no longer running (`deadline_not_running`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn pause(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<PauseInput>,
) -> AppResult<HttpResponse> {
    let (id, expected, now) = (
        id.into_inner(),
        super::if_match(&req)?,
        state.clock.now_naive(),
    );
    super::once(&state, &req, caller, move |conn, actor| {
        let d = service::pause(conn, &actor, now, id, expected, &body.0.reason)?;
        deadline_answer(conn, d)
    })
    .await
}

/// Resume a deadline
///
/// Starts a paused clock again: its due time moves on by the time it was
/// paused (in working time for policies counted in working days).
#[utoipa::path(post, path = "/api/v1/deadlines/{id}/resume", tag = "deadlines",
    params(("id" = i64, Path, description = "Deadline id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
    responses(
        (status = 200, description = "Running again", body = DeadlineView, headers(("ETag" = String))),
        (status = 409, description = "Not paused (`deadline_not_paused`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resume(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (id, expected, now) = (
        id.into_inner(),
        super::if_match(&req)?,
        state.clock.now_naive(),
    );
    let st = state.clone();
    super::once(&state, &req, caller, move |conn, actor| {
        let d = service::resume(conn, &actor, &st.config, now, id, expected)?;
        deadline_answer(conn, d)
    })
    .await
}

/// A due-ordered page's cursor: like every cursor, the id of its last row
/// (its due time is read back from the row).
fn encode_due_cursor(c: DueCursor) -> String {
    super::encode_cursor(c.id)
}

/// A due-ordered cursor: the last row's id, or the form earlier versions
/// sent (base64 of `due:{micros}:{id}`).
enum DueAfter {
    Row(i64),
    At(DueCursor),
}

fn decode_due_after(text: &str) -> AppResult<DueAfter> {
    match text.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(DueAfter::Row(id)),
        _ => decode_due_cursor(text).map(DueAfter::At),
    }
}

/// The due time and id to page on after, read in the request's own
/// database call; a row that is gone leaves nothing after it.
fn resolve_due(
    conn: &mut crate::db::DbConn,
    after: Option<DueAfter>,
) -> AppResult<Option<DueCursor>> {
    Ok(match after {
        None => None,
        Some(DueAfter::At(c)) => Some(c),
        Some(DueAfter::Row(id)) => Some(service::due_cursor_of(conn, id)?.unwrap_or(DueCursor {
            due_at: chrono::NaiveDateTime::MAX,
            id,
        })),
    })
}

fn decode_due_cursor(text: &str) -> AppResult<DueCursor> {
    let bad = || {
        AppError::bad_request(
            "invalid_query_parameter",
            "cursor",
            "not a cursor from a previous page",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = s.strip_prefix("due:").ok_or_else(bad)?.split(':');
    let micros: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let id: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let due_at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(bad)?
        .naive_utc();
    Ok(DueCursor { due_at, id })
}

/// My tasks
///
/// The caller's open deadlines, soonest first: assigned to them, to their
/// role within their org unit, or escalated to them. The mobile app's home screen.
#[utoipa::path(get, path = "/api/v1/me/tasks", tag = "deadlines", params(PageQuery),
    responses((status = 200, description = "A page of tasks", body = TaskListResponse)))]
pub async fn tasks(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let limit = page_limit(query.0.limit)?;
    let after = cursor_of(query.0.cursor.as_deref(), decode_due_after)?;
    let now = state.clock.now_naive();
    let (tasks, next) = state
        .db_as(caller, move |conn, actor| {
            let after = resolve_due(conn, after)?;
            service::tasks(conn, &actor, limit, after)
        })
        .await?;
    let items = tasks
        .into_iter()
        .map(|t| {
            let d = t.deadline;
            let status = DeadlineStatus::from_db(&d.status)?;
            let paused = d.paused_at.is_some();
            Ok(TaskView {
                overdue: !paused && d.due_at < now,
                due_soon: !paused && d.due_at >= now && d.warn_at.is_some_and(|w| w <= now),
                paused,
                id: d.id,
                rule: Rule::from_db(&d.rule)?,
                title: d.title,
                link: d.link,
                subject_type: DeadlineSubject::from_db(&d.subject_type)?,
                subject_id: d.subject_id,
                due_at: utc(d.due_at),
                status,
                escalation_level: d.escalation_level,
                reason: t.reason,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(TaskListResponse {
        items,
        next_cursor: next.map(encode_due_cursor),
    }))
}

/// A date in the path, within the years the databases keep.
fn calendar_date(date: web::Path<NaiveDate>) -> AppResult<NaiveDate> {
    let date = date.into_inner();
    crate::services::plausible_date(&date).map_err(|_| {
        AppError::bad_request(
            "invalid_path_parameter",
            "date",
            "must be a date from 0001-01-01 to 9999-12-31",
        )
    })?;
    Ok(date)
}

/// Company calendar
///
/// The marked days (holidays, make-up working days) in a range. Days not
/// listed are working Monday to Friday and off at weekends.
#[utoipa::path(get, path = "/api/v1/calendar/days", tag = "deadlines", params(CalendarQuery),
    responses((status = 200, description = "The marked days", body = [CalendarDayView])))]
pub async fn calendar_days(
    state: web::Data<AppState>,
    caller: Caller,
    query: ValidQuery<CalendarQuery>,
) -> AppResult<HttpResponse> {
    use chrono::Datelike;
    let today = state
        .clock
        .now()
        .with_timezone(&state.config.tz)
        .date_naive();
    let from = query
        .0
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = query
        .0
        .to
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(from.year(), 12, 31).unwrap_or(from));
    let rows = state
        .db_as(caller, move |conn, _| calendar::list(conn, from, to))
        .await?;
    let views: Vec<CalendarDayView> = rows
        .into_iter()
        .map(|d| day_view(d.day, Some(d)))
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// One calendar day
///
/// Whether the day is worked, and its mark if any.
#[utoipa::path(get, path = "/api/v1/calendar/days/{date}", tag = "deadlines",
    params(("date" = NaiveDate, Path, description = "YYYY-MM-DD")),
    responses((status = 200, description = "The day", body = CalendarDayView)))]
pub async fn calendar_day(
    state: web::Data<AppState>,
    caller: Caller,
    date: web::Path<NaiveDate>,
) -> AppResult<HttpResponse> {
    let date = calendar_date(date)?;
    let mark = state
        .db_as(caller, move |conn, _| calendar::get(conn, date))
        .await?;
    Ok(HttpResponse::Ok().json(day_view(date, mark)?))
}

/// Mark a calendar day (admin)
///
/// `holiday` for a weekday off, `workday` for a weekend day worked. Open
/// deadlines counted in working days whose span covers the day are planned
/// again (event `deadline.rescheduled`); those counted in hours stay.
#[utoipa::path(put, path = "/api/v1/calendar/days/{date}", tag = "deadlines", request_body = CalendarDayInput,
    params(("date" = NaiveDate, Path, description = "YYYY-MM-DD")),
    responses((status = 200, description = "The day", body = CalendarDayView)))]
pub async fn put_calendar_day(
    state: web::Data<AppState>,
    caller: Caller,
    date: web::Path<NaiveDate>,
    body: ValidJson<CalendarDayInput>,
) -> AppResult<HttpResponse> {
    let (date, now, st) = (calendar_date(date)?, state.clock.now_naive(), state.clone());
    let day = state
        .db_as(caller, move |conn, actor| {
            days::put(conn, &actor, &st.config, now, date, &body.0)
        })
        .await?;
    Ok(HttpResponse::Ok().json(day_view(date, Some(day))?))
}

/// Unmark a calendar day (admin)
#[utoipa::path(delete, path = "/api/v1/calendar/days/{date}", tag = "deadlines",
    params(("date" = NaiveDate, Path, description = "YYYY-MM-DD")),
    responses((status = 204, description = "The mark is gone")))]
pub async fn delete_calendar_day(
    state: web::Data<AppState>,
    caller: Caller,
    date: web::Path<NaiveDate>,
) -> AppResult<HttpResponse> {
    let (date, now, st) = (calendar_date(date)?, state.clock.now_naive(), state.clone());
    state
        .db_as(caller, move |conn, actor| {
            days::delete(conn, &actor, &st.config, now, date)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
