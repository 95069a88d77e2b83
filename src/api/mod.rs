//! HTTP handlers, one file per resource: parse, authorise, call a service,
//! shape the answer. No SQL and no business rule lives here.

pub mod accountability;
pub mod api_keys;
pub mod attachments;
pub mod auth;
pub mod changes;
pub mod complaints;
pub mod corrective_actions;
pub mod customers;
pub mod deadlines;
pub mod events;
pub mod export;
pub mod extract;
pub mod health;
pub mod imports;
pub mod labels;
pub mod me;
pub mod metrics;
pub mod org_units;
pub mod projects;
pub mod rectification_plans;
pub mod registers;
pub mod repairs;
pub mod reports;
pub mod users;
pub mod visit_plans;
pub mod visits;
pub mod webhooks;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Actor, Caller};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::kit::idempotency::{self, Answer, Claim};
use crate::kit::workflow::Ctx;
use crate::services::{IfMatch, Page, Paged};
use crate::AppState;

/// Every route, from the operations the spec documents
/// ([`crate::openapi::routes`]): one resource per path, so a path asked
/// with a method it does not take answers 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<(String, Vec<actix_web::Route>)> = vec![];
    for (path, _, route) in crate::openapi::routes() {
        match paths.iter_mut().find(|(known, _)| *known == path) {
            Some((_, routes)) => routes.push(route),
            None => paths.push((path, vec![route])),
        }
    }
    for (path, routes) in paths {
        cfg.service(
            routes
                .into_iter()
                .fold(web::resource(path), |r, route| r.route(route)),
        );
    }
}

/// A list's query string: its own filters, then the page (`limit`,
/// `cursor`). Unknown parameters are refused.
#[macro_export]
macro_rules! list_query {
    ($(#[$attr:meta])* $name:ident { $($field:tt)* }) => {
        $(#[$attr])*
        #[derive(Debug, serde::Deserialize, validator::Validate, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($field)*
            /// Page size, 1–200 (default 50).
            #[param(minimum = 1, maximum = 200)]
            pub limit: Option<i64>,
            /// `next_cursor` of the previous page.
            pub cursor: Option<String>,
        }
    };
}

crate::list_query! {
    /// The query of a list with no filters of its own.
    PageQuery {}
}

/// A page of a list answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> ListResponse<T> {
    pub fn from_paged<R>(paged: Paged<R>, view: impl Fn(R) -> AppResult<T>) -> AppResult<Self> {
        Ok(ListResponse {
            items: paged
                .items
                .into_iter()
                .map(view)
                .collect::<AppResult<_>>()?,
            next_cursor: paged.next_after.map(encode_cursor),
        })
    }
}

pub const DEFAULT_LIMIT: i64 = 50;

/// A page size, 1–200 (default 50).
pub fn page_limit(limit: Option<i64>) -> AppResult<i64> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}
pub const MAX_LIMIT: i64 = 200;

/// A page's cursor: the last id it holds, in decimal (the spec gives its
/// pattern, so a client or fuzzer can tell a cursor from any text).
pub fn encode_cursor(after_id: i64) -> String {
    after_id.to_string()
}

/// What a cursor looks like (documented on every `cursor` and
/// `next_cursor`); empty is the first page.
pub const CURSOR_PATTERN: &str = "^[0-9]{0,18}$";

/// Reads `limit` (1–200, default 50) and the opaque `cursor` of a list query.
pub fn page(limit: Option<i64>, cursor: Option<&str>) -> AppResult<Page> {
    let limit = page_limit(limit)?;
    let after_id = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|id| *id >= 0)
                .or_else(|| {
                    // the cursors of earlier versions: base64 of `after:{id}`
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(c)
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .and_then(|s| s.strip_prefix("after:").and_then(|n| n.parse::<i64>().ok()))
                })
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_query_parameter",
                        "cursor",
                        "not a cursor from a previous page",
                    )
                })?,
        ),
    };
    Ok(Page { limit, after_id })
}

/// `If-Match` as versions: `"3"`, `W/"3"`, `3`, or a list (`"3", "4"`);
/// `*` or absent is no condition. A value that names no version can never
/// match: 412, once scope and role have been checked.
pub fn if_match(req: &HttpRequest) -> AppResult<Option<IfMatch>> {
    // checked by the service after scope and role; text that names no
    // version of ours simply matches none
    Ok(req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| IfMatch::parse(v.to_str().unwrap_or(""))))
}

/// A versioned resource, with its version as the `ETag`.
pub fn versioned(status: StatusCode, version: i32, view: impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .json(view)
}

/// The answer of a write, kept so that a retry with the same
/// `Idempotency-Key` gets it again: a versioned resource, created at
/// `location` when one is given.
pub fn answer(
    status: StatusCode,
    version: Option<i32>,
    location: Option<String>,
    view: impl Serialize,
) -> AppResult<Answer> {
    Ok(Answer {
        status: status.as_u16(),
        body: serde_json::to_value(view).map_err(AppError::internal)?,
        location,
        etag: version.map(|v| format!("\"{v}\"")),
    })
}

/// The answer of record `id` of a collection (`/api/v1/projects`), with
/// its version as the `ETag` and, when it was just created, its `Location`.
pub fn record_answer(
    status: StatusCode,
    collection: &str,
    (id, version): (i64, i32),
    view: impl Serialize,
) -> AppResult<Answer> {
    let location = (status == StatusCode::CREATED).then(|| format!("{collection}/{id}"));
    answer(status, Some(version), location, view)
}

/// The HTTP answer of an [`Answer`]; a replay says so in `Idempotent-Replayed`.
pub fn reply(answer: Answer, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    if let Some(location) = answer.location {
        builder.insert_header((header::LOCATION, location));
    }
    if let Some(etag) = answer.etag {
        builder.insert_header((header::ETAG, etag));
    }
    if replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    builder.json(answer.body)
}

/// The header a client sends to make a POST safe to retry.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The SHA-256 of a JSON body as read by `ValidJson`, kept in the request's
/// extensions for the idempotency check.
#[derive(Debug, Clone)]
pub struct BodyDigest(pub String);

/// The caller's claim on the `Idempotency-Key` they sent, if any.
fn idempotency_claim(req: &HttpRequest, user_id: i64) -> AppResult<Option<Claim>> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| idempotency::valid_key(k))
        .ok_or_else(|| {
            AppError::bad_request(
                "invalid_header",
                IDEMPOTENCY_KEY,
                "must be 1 to 255 printable ASCII characters",
            )
        })?;
    let digest = req
        .extensions()
        .get::<BodyDigest>()
        .map(|d| d.0.clone())
        .unwrap_or_default();
    Ok(Some(Claim {
        user_id,
        key: key.to_string(),
        request_hash: idempotency::request_hash(req.method().as_str(), req.path(), &digest),
    }))
}

/// Runs a POST that creates something or takes a business step: once per
/// `Idempotency-Key` of the caller (a retry gets the first answer again), in
/// one transaction with the key's claim and the stored answer.
pub async fn once<F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: Caller,
    write: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut DbConn, Actor) -> AppResult<Answer> + Send + 'static,
{
    let claim = idempotency_claim(req, caller.user_id)?;
    let now = state.clock.now_naive();
    let ttl = chrono::Duration::hours(state.config.idempotency_ttl_hours);
    let (answer, replayed) = state
        .db_as(caller, move |conn, actor| {
            // a key's service user is known once the key is read
            let claim = claim.map(|c| Claim {
                user_id: actor.id,
                ..c
            });
            idempotency::once(conn, now, ttl, claim, |conn| write(conn, actor))
        })
        .await?;
    Ok(reply(answer, replayed))
}

/// Runs a write with the caller's [`Ctx`] (actor, configuration, the
/// clock's now), once per `Idempotency-Key`: the body of [`create`] and [`step`].
async fn in_ctx<F>(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    write: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut DbConn, Ctx<'_>) -> AppResult<Answer> + Send + 'static,
{
    let (now, st) = (state.clock.now_naive(), state.clone());
    once(&state, &req, caller, move |conn, actor| {
        let ctx = Ctx {
            actor: &actor,
            config: &st.config,
            now,
        };
        write(conn, ctx)
    })
    .await
}

/// Creates a record (its service function), once per `Idempotency-Key`,
/// answering `201` with the record as `view` shapes it.
pub async fn create<B, T>(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: B,
    run: fn(&mut DbConn, Ctx<'_>, &B) -> AppResult<T>,
    view: fn(StatusCode, T) -> AppResult<Answer>,
) -> AppResult<HttpResponse>
where
    B: Send + 'static,
    T: 'static,
{
    in_ctx(state, req, caller, move |conn, ctx| {
        view(StatusCode::CREATED, run(conn, ctx, &body)?)
    })
    .await
}

/// Reads record `id` (its service function) as the caller, answering it as
/// `view` shapes it (the same shape its steps answer, `ETag` included).
pub async fn read<T>(
    state: web::Data<AppState>,
    caller: Caller,
    id: i64,
    run: fn(&mut DbConn, Ctx<'_>, i64) -> AppResult<T>,
    view: fn(StatusCode, T) -> AppResult<Answer>,
) -> AppResult<HttpResponse>
where
    T: Send + 'static,
{
    let (now, st) = (state.clock.now_naive(), state.clone());
    let found = state
        .db_as(caller, move |conn, actor| {
            let ctx = Ctx {
                actor: &actor,
                config: &st.config,
                now,
            };
            run(conn, ctx, id)
        })
        .await?;
    Ok(reply(view(StatusCode::OK, found)?, false))
}

/// Reads record `id` as `ctx`'s actor and answers its JSON as a GET
/// would: the body of a webhook's delivery.
pub fn read_value<T>(
    conn: &mut DbConn,
    ctx: Ctx<'_>,
    id: i64,
    run: fn(&mut DbConn, Ctx<'_>, i64) -> AppResult<T>,
    view: fn(StatusCode, T) -> AppResult<Answer>,
) -> AppResult<serde_json::Value> {
    Ok(view(StatusCode::OK, run(conn, ctx, id)?)?.body)
}

/// Runs one workflow step on record `id` (its service function), once per
/// `Idempotency-Key`, answering the record as `view` shapes it.
pub async fn step<B, T>(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: i64,
    body: B,
    run: fn(&mut DbConn, Ctx<'_>, i64, Option<IfMatch>, &B) -> AppResult<T>,
    view: fn(StatusCode, T) -> AppResult<Answer>,
) -> AppResult<HttpResponse>
where
    B: Send + 'static,
    T: 'static,
{
    let expected = if_match(&req)?;
    in_ctx(state, req, caller, move |conn, ctx| {
        view(StatusCode::OK, run(conn, ctx, id, expected, &body)?)
    })
    .await
}

/// A workflow step's handler, `POST …/{id}/<step>` with a JSON body, run by
/// [`step`] (`If-Match`, `Idempotency-Key`, one transaction) and answered as
/// the view function shapes it. Its annotation (docs and `#[utoipa::path]`)
/// comes first:
/// `step_handler! { /// … #[utoipa::path(…)] judge(JudgmentInput) => service::judge, answer_of }`.
#[macro_export]
macro_rules! step_handler {
    ($(#[$attr:meta])* $name:ident($body:ty) => $run:expr, $view:path) => {
        $(#[$attr])*
        pub async fn $name(
            state: actix_web::web::Data<$crate::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            id: actix_web::web::Path<i64>,
            body: $crate::api::extract::ValidJson<$body>,
        ) -> $crate::error::AppResult<actix_web::HttpResponse> {
            $crate::api::step(state, req, caller, id.into_inner(), body.0, $run, $view).await
        }
    };
    // a step without a body (`…/activation`)
    ($(#[$attr:meta])* $name:ident => $run:expr, $view:path) => {
        $(#[$attr])*
        pub async fn $name(
            state: actix_web::web::Data<$crate::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            id: actix_web::web::Path<i64>,
        ) -> $crate::error::AppResult<actix_web::HttpResponse> {
            $crate::api::step(state, req, caller, id.into_inner(), (), $run, $view).await
        }
    };
}

/// A record's `GET …/{id}` handler, run by [`read`]; its annotation comes
/// first, as for [`step_handler!`](crate::step_handler).
#[macro_export]
macro_rules! read_handler {
    // also `public_view`: the record as an administrator reads it, for
    // the webhooks' bodies (`crate::webhooks::public_view`)
    ($(#[$attr:meta])* $name:ident as public_view => $run:expr, $view:expr) => {
        $crate::read_handler! { $(#[$attr])* $name => $run, $view }
        pub(crate) fn public_view(
            conn: &mut $crate::db::DbConn,
            ctx: $crate::kit::workflow::Ctx<'_>,
            id: i64,
        ) -> $crate::error::AppResult<serde_json::Value> {
            $crate::api::read_value(conn, ctx, id, $run, $view)
        }
    };
    ($(#[$attr:meta])* $name:ident => $run:expr, $view:expr) => {
        $(#[$attr])*
        pub async fn $name(
            state: actix_web::web::Data<$crate::AppState>,
            caller: $crate::auth::Caller,
            id: actix_web::web::Path<i64>,
        ) -> $crate::error::AppResult<actix_web::HttpResponse> {
            $crate::api::read(state, caller, id.into_inner(), $run, $view).await
        }
    };
}

/// A creation's handler, `POST /<records>` with a JSON body, run by
/// [`create`] (`Idempotency-Key`, one transaction) and answered `201` as the
/// view function shapes it; its annotation comes first, as for
/// [`step_handler!`](crate::step_handler).
#[macro_export]
macro_rules! create_handler {
    ($(#[$attr:meta])* $name:ident($body:ty) => $run:expr, $view:path) => {
        $(#[$attr])*
        pub async fn $name(
            state: actix_web::web::Data<$crate::AppState>,
            caller: $crate::auth::Caller,
            req: actix_web::HttpRequest,
            body: $crate::api::extract::ValidJson<$body>,
        ) -> $crate::error::AppResult<actix_web::HttpResponse> {
            $crate::api::create(state, req, caller, body.0, $run, $view).await
        }
    };
}

/// Every instant the API sends has one shape, whole seconds in UTC
/// (`2026-11-23T08:00:00Z`): strict date parsers on phones take one
/// precision only, and the stored microseconds mean nothing to a person.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    use chrono::Timelike;
    let t = t.with_nanosecond(0).unwrap_or(t);
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// A text field whose values the spec lists from the code's own enums (a
/// union of several, e.g. the actions of the complaint and the plan tables),
/// so generated clients get an enum without a second list to keep:
/// `listed_text!(StepAction, "…", ComplaintAction::ALL, PlanAction::ALL)`.
#[macro_export]
macro_rules! listed_text {
    ($(#[$meta:meta])* $name:ident, $description:expr, $($all:expr),+ $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let mut values: Vec<&'static str> = vec![];
                $(for v in $all.iter() {
                    if !values.contains(&v.as_str()) {
                        values.push(v.as_str());
                    }
                })+
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .enum_values(Some(values))
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// A JSON object whose fields depend on what it records (an event's
/// record before and after, what a repair's step recorded): one schema, so
/// that generated clients have one free-form model.
pub struct JsonObject;

impl utoipa::PartialSchema for JsonObject {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("A JSON object whose fields depend on what it records"))
            .into()
    }
}

impl utoipa::ToSchema for JsonObject {}
