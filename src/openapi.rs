//! The OpenAPI document, generated from the handlers' annotations. The
//! committed `openapi/openapi.json` must equal it (a test checks).

use std::sync::OnceLock;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use actix_web::http::Method;
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aftercare API",
        description = "After-handover customer care for construction companies: return visits, complaints, rectification plans and warranty repairs, each with enforced deadlines.\n\nLog in at `POST /api/v1/auth/login`, then send `Authorization: Bearer <access_token>` (in Swagger UI: **Authorize**). Errors are `application/problem+json` with a stable `code`; input errors list the offending `field`s.",
        version = "1.0.0"
    ),
    servers((url = "/", description = "The server that serves this document")),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        // named only by query parameters, which utoipa does not collect
        crate::models::event::EventSubject,
        crate::models::event::EventType,
        crate::api::export::ReportFormat,
        crate::api::export::Headings,
        crate::api::reports::ReportSection,
        crate::services::registers::Register,
    )),
    security(("bearer_auth" = [])),
    modifiers(&Operations, &Security, &Idempotency, &StandardErrors, &RateLimits, &RequestIds, &UniqueOperationIds, &ClientShapes, &TextShapes, &InputBounds, &Webhooks, &EnumLabels),
    tags(
        (name = "auth", description = "Log in, refresh, log out, who am I"),
        (name = "org-units", description = "The group, its branches and project departments"),
        (name = "users", description = "Accounts, roles and ranks"),
        (name = "customers", description = "Customers, their A/B/C grading and who must visit them"),
        (name = "projects", description = "The completed-projects ledger: contacts, warranty terms, review"),
        (name = "deadlines", description = "The deadline engine: policies, the company calendar, deadlines and task lists"),
        (name = "complaints", description = "Complaints: registered, judged in 2 days, filed with the group, resolved, revisited and evaluated"),
        (name = "rectification plans", description = "Rectification plans of serious complaints: reviewed in 1 day, approved in 1 day, tracked by milestones"),
        (name = "visit plans", description = "Branch (yearly) and project (monthly) visit plans that satisfy every frequency and season rule, approved and turned into tasks"),
        (name = "visits", description = "Return-visit records: due 24 hours after the visit, with the issues found, the weighted survey and the owner's confirmation"),
        (name = "repairs", description = "Warranty repairs: on site in 24 hours (8 for an emergency), confirmed in 2 days with who pays, agreed with the owner when billable, ordered, done, inspected, signed off and followed up"),
        (name = "reports", description = "What management reads, over a period and a part of the company: figures with their numerators and denominators, as JSON, CSV or an Excel workbook"),
        (name = "corrective actions", description = "Cause analyses and measures for projects not brought to the owner's satisfaction, carried out by their date and verified by the branch"),
        (name = "accountability", description = "Who was held accountable for a schedule complaint found true or a warranty complaint the owner repeated; staff only, never deleted"),
        (name = "labels", description = "Display labels of every enumeration, in English and Chinese"),
        (name = "imports", description = "A company's existing spreadsheets: customers and the completed-projects ledger"),
        (name = "attachments", description = "Photos and documents: upload first, then attach in the step or after it"),
        (name = "events", description = "The audit trail of every change"),
        (name = "changes", description = "The change feed: every change to what the caller may see, in order, from a cursor"),
        (name = "webhooks", description = "Signed notifications of events to partners' systems (Standard Webhooks)"),
        (name = "api-keys", description = "Keys for systems that call the API"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// Every operation of the API, listed once: the spec's paths and the
/// server's routes are both made from this list, so a route cannot exist
/// without its documentation, nor the reverse.
macro_rules! operations {
    ($($($segment:ident)::+),* $(,)?) => {
        /// The spec's paths (and the schemas they name), from the list.
        #[derive(OpenApi)]
        #[openapi(paths($($($segment)::+),*))]
        struct Paths;

        /// Every operation as `(path, method, route)`, in the list's order
        /// (a fixed path such as `/complaints/counts` before the
        /// `/complaints/{id}` that would take it).
        pub fn routes() -> Vec<(String, Method, actix_web::Route)> {
            // where each handler sits, read once from its own annotation
            static PLACES: OnceLock<Vec<Vec<(String, Method)>>> = OnceLock::new();
            let places = PLACES.get_or_init(|| vec![$({
                #[derive(OpenApi)]
                #[openapi(paths($($segment)::+))]
                struct One;
                endpoints(One::openapi())
            }),*]);
            let makers: Vec<fn(Method) -> actix_web::Route> =
                vec![$(|method| actix_web::web::route().method(method).to($($segment)::+)),*];
            places
                .iter()
                .zip(makers)
                .flat_map(|(place, make)| {
                    place
                        .iter()
                        .map(move |(path, method)| (path.clone(), method.clone(), make(method.clone())))
                })
                .collect()
        }
    };
}

operations!(
    api::health::healthz,
    api::health::readyz,
    api::labels::get,
    api::auth::login,
    api::auth::refresh,
    api::auth::logout,
    api::me::get_me,
    api::me::change_password,
    api::me::my_projects,
    api::me::my_complaints,
    api::org_units::list,
    api::org_units::create,
    api::org_units::get,
    api::org_units::update,
    api::org_units::deactivate,
    api::org_units::activate,
    api::users::list,
    api::users::create,
    api::users::get,
    api::users::update,
    api::users::deactivate,
    api::users::activate,
    api::events::list,
    api::changes::head,
    api::changes::list,
    api::api_keys::list,
    api::api_keys::create,
    api::api_keys::get,
    api::api_keys::revoke,
    api::webhooks::list,
    api::webhooks::create,
    api::webhooks::get,
    api::webhooks::update,
    api::webhooks::delete,
    api::webhooks::rotate_secret,
    api::webhooks::ping,
    api::webhooks::deliveries,
    api::webhooks::delivery,
    api::webhooks::retry,
    api::customers::list,
    api::customers::create,
    api::customers::get,
    api::customers::update,
    api::customers::grade,
    api::customers::gradings,
    api::projects::list,
    api::projects::create,
    api::projects::get,
    api::projects::update,
    api::projects::submit_ledger,
    api::projects::review_ledger,
    api::projects::contacts,
    api::projects::add_contact,
    api::projects::update_contact,
    api::projects::remove_contact,
    api::projects::terms,
    api::projects::set_term,
    api::projects::warranty_status,
    api::deadlines::tasks,
    api::deadlines::policies,
    api::deadlines::policy_versions,
    api::deadlines::change_policy,
    api::deadlines::list,
    api::deadlines::get,
    api::deadlines::pause,
    api::deadlines::resume,
    api::deadlines::calendar_days,
    api::deadlines::calendar_day,
    api::deadlines::put_calendar_day,
    api::deadlines::delete_calendar_day,
    api::imports::template,
    api::imports::create,
    api::imports::get,
    api::attachments::upload,
    api::attachments::get_upload,
    api::attachments::list_for_project,
    api::attachments::add_to_project,
    api::attachments::list_for_complaint,
    api::attachments::add_to_complaint,
    api::attachments::list_for_plan,
    api::attachments::add_to_plan,
    api::complaints::register,
    api::complaints::list,
    api::complaints::counts,
    api::complaints::get,
    api::complaints::judge,
    api::complaints::file,
    api::complaints::resolve,
    api::complaints::evaluate,
    api::rectification_plans::create,
    api::rectification_plans::get,
    api::rectification_plans::update,
    api::rectification_plans::submit,
    api::rectification_plans::review,
    api::rectification_plans::approve,
    api::rectification_plans::revise,
    api::rectification_plans::progress,
    api::rectification_plans::versions,
    api::visit_plans::create,
    api::visit_plans::list,
    api::visit_plans::get,
    api::visit_plans::compliance,
    api::visit_plans::add_item,
    api::visit_plans::update_item,
    api::visit_plans::remove_item,
    api::visit_plans::submit,
    api::visit_plans::review,
    api::visits::record,
    api::visits::list,
    api::visits::get,
    api::visits::confirm,
    api::attachments::list_for_visit,
    api::attachments::add_to_visit,
    api::repairs::report,
    api::repairs::list,
    api::repairs::get,
    api::repairs::arrive,
    api::repairs::confirm,
    api::repairs::agree,
    api::repairs::dispatch,
    api::repairs::hold,
    api::repairs::resume,
    api::repairs::complete,
    api::repairs::inspect,
    api::repairs::accept,
    api::repairs::costs,
    api::corrective_actions::record,
    api::corrective_actions::list,
    api::corrective_actions::get,
    api::corrective_actions::complete,
    api::corrective_actions::verify,
    api::accountability::record,
    api::accountability::list,
    api::accountability::get,
    api::accountability::withdraw,
    api::reports::deadline_report,
    api::reports::kpi_report,
    api::reports::repeat_report,
    api::reports::satisfaction_report,
    api::reports::annual_summary,
    api::registers::register_export,
    api::attachments::list_for_repair,
    api::attachments::add_to_repair,
    api::attachments::get,
    api::attachments::update,
    api::attachments::hide,
    api::attachments::content,
);

/// The methods and paths an operation's annotation gives.
fn endpoints(doc: utoipa::openapi::OpenApi) -> Vec<(String, Method)> {
    let mut out = vec![];
    for (path, item) in doc.paths.paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if operation.is_some() {
                out.push((path.clone(), method));
            }
        }
    }
    out
}

/// Puts the listed operations' paths into the spec, before the modifiers
/// that shape them.
struct Operations;

impl Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(Paths::openapi());
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` from `POST /api/v1/auth/login` (a JWT made and checked as RFC8725 advises:                          one algorithm, HS256, fixed by the server; expiry and the session checked on every request),                          or an API key `ak_…` from `POST /api/v1/api-keys` for a system",
                    ))
                    .build(),
            ),
        );
    }
}

/// Handlers of different resources share names (`create`, `list`, `get`,
/// …); their operation ids take the resource (`create_org_unit`,
/// `list_customers`), so generated clients get one method each.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        const SHARED: [&str; 6] = ["create", "list", "get", "update", "activate", "deactivate"];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let plural = path
                .trim_start_matches("/api/v1/")
                .split('/')
                .next()
                .unwrap_or("")
                .replace('-', "_");
            let singular = plural.strip_suffix('s').unwrap_or(&plural).to_string();
            for op in operations(item) {
                let Some(id) = op.operation_id.clone() else {
                    continue;
                };
                if SHARED.contains(&id.as_str()) {
                    let noun = if id == "list" { &plural } else { &singular };
                    op.operation_id = Some(format!("{id}_{noun}"));
                }
            }
        }
    }
}

/// What generated clients need to get the API's real shape:
///
/// - a list answer's `items` refer to the item schema (`ProjectView`), where
///   utoipa inlines it and generators then make a second model of it;
/// - every field of an answer is `required`, nullable ones included: the
///   server always sends them (`null` when empty), so a typed client sees a
///   value or null, never "absent";
/// - `If-Match` is a plain string (a header cannot be null).
struct ClientShapes;

impl Modify for ClientShapes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ArrayItems, Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(object)) = schema else {
                continue;
            };
            if let Some(item) = name.strip_prefix("ListResponse_") {
                if let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("items") {
                    array.items =
                        ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
                }
            }
            if is_answer(name) {
                object.required = object.properties.keys().cloned().collect();
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                for parameter in op.parameters.iter_mut().flatten() {
                    if parameter.name == "If-Match" {
                        parameter.schema = Some(RefOr::T(Schema::Object(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::String)
                                .build(),
                        )));
                    }
                }
            }
        }
    }
}

/// What the server refuses in any text, said in the spec so that a client
/// (or a fuzzer) sending data valid by the spec is never refused as
/// unreadable:
///
/// - a `cursor` (and every `next_cursor`) is the decimal id of a page's
///   last row;
/// - text sent in a request (bodies, query and path parameters) never
///   holds NUL, which PostgreSQL cannot store.
struct TextShapes;

/// Text without NUL.
const NO_NUL: &str = "^[^\\u0000]*$";

impl Modify for TextShapes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        use utoipa::openapi::Type;
        fn is_text(object: &utoipa::openapi::schema::Object) -> bool {
            matches!(
                &object.schema_type,
                utoipa::openapi::schema::SchemaType::Type(Type::String)
            ) || matches!(
                &object.schema_type,
                utoipa::openapi::schema::SchemaType::Array(types) if types.contains(&Type::String)
            )
        }
        // plain text: no format (dates, binary), no enum, no pattern of its own
        fn no_nul(schema: &mut RefOr<Schema>) {
            match schema {
                RefOr::T(Schema::Object(object)) => {
                    if is_text(object)
                        && object.format.is_none()
                        && object.enum_values.is_none()
                        && object.pattern.is_none()
                    {
                        object.pattern = Some(NO_NUL.to_string());
                    }
                    for property in object.properties.values_mut() {
                        no_nul(property);
                    }
                }
                RefOr::T(Schema::Array(array)) => {
                    if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) =
                        &mut array.items
                    {
                        no_nul(items);
                    }
                }
                RefOr::T(Schema::OneOf(one)) => one.items.iter_mut().for_each(no_nul),
                RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(no_nul),
                _ => {}
            }
        }
        // (the change feed's cursor has its own pattern)
        let cursor = |schema: &mut RefOr<Schema>| {
            if let RefOr::T(Schema::Object(object)) = schema {
                object
                    .pattern
                    .get_or_insert_with(|| crate::api::CURSOR_PATTERN.to_string());
            }
        };
        if let Some(components) = openapi.components.as_mut() {
            for (name, schema) in components.schemas.iter_mut() {
                if name.starts_with("ListResponse_") {
                    if let RefOr::T(Schema::Object(object)) = schema {
                        if let Some(next) = object.properties.get_mut("next_cursor") {
                            cursor(next);
                        }
                    }
                } else if !is_answer(name) && name != "Problem" && name != "FieldError" {
                    no_nul(schema);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                for parameter in op.parameters.iter_mut().flatten() {
                    let Some(schema) = parameter.schema.as_mut() else {
                        continue;
                    };
                    if parameter.name == "cursor" {
                        cursor(schema);
                    } else if parameter.name != crate::api::IDEMPOTENCY_KEY {
                        no_nul(schema);
                    }
                }
            }
        }
    }
}

/// The bounds the server holds every input to, said in the spec where a
/// type alone leaves them open (and checked by Spectral's OWASP rules in
/// CI): an id is a positive 64-bit integer; a date is ten characters, an
/// instant at most 64 (RFC 3339 with its fraction and offset); a query
/// string's text fits the 8 KiB the URI may have; `If-Match`,
/// `If-None-Match` and `Range` are at most [`crate::MAX_HEADER_CHARS`]
/// (longer is 400); a plan's resource entries at most 200 characters; an
/// upload the default file limit.
struct InputBounds;

/// The default largest upload, as the spec states it.
const UPLOAD_BYTES: i64 = 20 * 1024 * 1024;

/// A field or parameter that holds a record's id (the spec says: 1 or more).
pub fn id_like(name: &str) -> bool {
    name == "id"
        || name.ends_with("_id")
        || name.ends_with("_ids")
        || name == "assignee"
        || name == "repeat_of"
        || name == "milestones_done"
}

fn bound_schema(schema: &mut RefOr<utoipa::openapi::schema::Schema>, name: &str) {
    use utoipa::openapi::schema::{ArrayItems, Schema, SchemaFormat, SchemaType};
    use utoipa::openapi::{KnownFormat, Type};
    match schema {
        RefOr::T(Schema::Object(o)) => {
            let is = |t: Type| match &o.schema_type {
                SchemaType::Type(x) => *x == t,
                SchemaType::Array(xs) => xs.contains(&t),
                _ => false,
            };
            if is(Type::Integer) {
                if o.format.is_none() {
                    o.format = Some(SchemaFormat::KnownFormat(KnownFormat::Int64));
                }
                if o.maximum.is_none() && id_like(name) {
                    o.minimum = o.minimum.clone().or(Some(1f64.into()));
                    o.maximum = Some((i64::MAX as f64).into());
                }
            }
            if is(Type::String) && o.max_length.is_none() && o.enum_values.is_none() {
                o.max_length = match &o.format {
                    Some(SchemaFormat::KnownFormat(KnownFormat::Date)) => Some(10),
                    Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)) => Some(64),
                    Some(SchemaFormat::KnownFormat(KnownFormat::Binary)) => {
                        Some(UPLOAD_BYTES as usize)
                    }
                    _ if name == "resource" => Some(crate::services::rectification::RESOURCE_CHARS),
                    _ => None,
                };
            }
            let names: Vec<String> = o.properties.keys().cloned().collect();
            for key in names {
                if let Some(p) = o.properties.get_mut(&key) {
                    bound_schema(p, &key);
                }
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                // the items of `attachment_ids` are ids; of `people`, resources
                let item_name = match name {
                    "people" | "equipment" | "materials" => "resource",
                    other => other,
                };
                bound_schema(items, item_name);
            }
        }
        RefOr::T(Schema::OneOf(one)) => one.items.iter_mut().for_each(|s| bound_schema(s, name)),
        RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(|s| bound_schema(s, name)),
        RefOr::T(Schema::AnyOf(any)) => any.items.iter_mut().for_each(|s| bound_schema(s, name)),
        _ => {}
    }
}

impl Modify for InputBounds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::Schema;
        // the schemas a request reaches, transitively
        fn refs(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            out.insert(name.to_string());
                        }
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut inputs = std::collections::BTreeSet::new();
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                if let Some(body) = &op.request_body {
                    refs(&serde_json::to_value(body).unwrap_or_default(), &mut inputs);
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            let mut todo: Vec<String> = inputs.iter().cloned().collect();
            while let Some(name) = todo.pop() {
                let mut found = std::collections::BTreeSet::new();
                if let Some(schema) = components.schemas.get(&name) {
                    refs(
                        &serde_json::to_value(schema).unwrap_or_default(),
                        &mut found,
                    );
                }
                for f in found {
                    if inputs.insert(f.clone()) {
                        todo.push(f);
                    }
                }
            }
            for (name, schema) in components.schemas.iter_mut() {
                if inputs.contains(name) {
                    bound_schema(schema, name);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                for parameter in op.parameters.iter_mut().flatten() {
                    let name = parameter.name.clone();
                    let header = matches!(parameter.parameter_in, ParameterIn::Header);
                    let Some(schema) = parameter.schema.as_mut() else {
                        continue;
                    };
                    bound_schema(schema, &name);
                    if let RefOr::T(Schema::Object(o)) = schema {
                        let text = match &o.schema_type {
                            utoipa::openapi::schema::SchemaType::Type(t) => {
                                *t == utoipa::openapi::Type::String
                            }
                            utoipa::openapi::schema::SchemaType::Array(ts) => {
                                ts.contains(&utoipa::openapi::Type::String)
                            }
                            _ => false,
                        };
                        if text && o.max_length.is_none() && o.enum_values.is_none() {
                            o.max_length = Some(if header {
                                crate::MAX_HEADER_CHARS
                            } else if name == "cursor" {
                                18
                            } else {
                                crate::MAX_URI_BYTES
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Schemas of answers, whose every field is always sent. (`Problem` leaves
/// out an empty `errors`, so it is not one of them.)
fn is_answer(name: &str) -> bool {
    name.ends_with("View") || name.ends_with("Response") || name.starts_with("ListResponse_")
}

/// Every POST that creates something or takes a business step (all but
/// `/auth/*` and `/me/password`, whose sessions and passwords are not things
/// to replay) accepts `Idempotency-Key`; documented in one place so no
/// operation can be left out.
struct Idempotency;

impl Modify for Idempotency {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::Required;
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path.starts_with("/api/v1/auth/") || path == "/api/v1/me/password" {
                continue;
            }
            let Some(op) = item.post.as_mut() else {
                continue;
            };
            let key = ParameterBuilder::new()
                .name(crate::api::IDEMPOTENCY_KEY)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes the request safe to retry: 1–255 printable characters, new for each \
                     new request (a UUID does). A retry with the same key and body gets the first \
                     answer again, with `Idempotent-Replayed: true`, and nothing is done twice; \
                     the same key with another request is `422 idempotency_key_reused`. A request \
                     that failed did not use up its key. Keys are remembered for 24 hours.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[\\x20-\\x7E]+$")),
                ))
                .build();
            op.parameters.get_or_insert_with(Vec::new).push(key);
            op.responses
                .responses
                .entry("422".to_string())
                .or_insert_with(|| {
                    RefOr::T(problem(
                        "The `Idempotency-Key` was used for another request (`idempotency_key_reused`), or a business rule",
                    ))
                });
            for (status, response) in op.responses.responses.iter_mut() {
                if let (true, RefOr::T(r)) = (status.starts_with('2'), response) {
                    r.headers.insert(
                        "Idempotent-Replayed".to_string(),
                        utoipa::openapi::header::HeaderBuilder::new()
                            .schema(ObjectBuilder::new().schema_type(Type::String))
                            .description(Some(
                                "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`",
                            ))
                            .build(),
                    );
                }
            }
        }
    }
}

/// Every operation that takes a token or a key counts against its
/// caller's rate limit: its answers carry the `RateLimit-*` headers, and a
/// `429` with `Retry-After` when the bucket is empty.
struct RateLimits;

impl Modify for RateLimits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let number = |description: &str| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0))
                        .maximum(Some(i64::from(u32::MAX))),
                )
                .description(Some(description))
                .build()
        };
        let headers = [
            (
                "RateLimit-Limit",
                "Requests the caller's bucket holds when full",
            ),
            ("RateLimit-Remaining", "Requests left in the bucket now"),
            ("RateLimit-Reset", "Seconds until the bucket is full again"),
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                if is_public(op) {
                    continue;
                }
                op.responses
                    .responses
                    .entry("429".to_string())
                    .or_insert_with(|| {
                        let mut r = problem("Too many requests from this account or API key (`rate_limited`): wait `Retry-After` seconds");
                        r.headers.insert("Retry-After".to_string(), number("Seconds to wait before the next request"));
                        RefOr::T(r)
                    });
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        for (name, description) in headers {
                            r.headers.insert(name.to_string(), number(description));
                        }
                    }
                }
            }
        }
    }
}

/// Every answer names the request it answers (`X-Request-Id`).
struct RequestIds;

impl Modify for RequestIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let header = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9._:-]{1,128}$"))
                    .max_length(Some(128)),
            )
            .description(Some(
                "The request's id: the one sent in `X-Request-Id` (by a proxy, say) when it is 1 to 128 letters, digits or `-_.:`, else a new one. The server's log lines of the request carry it, and so does a 5xx problem body (`request_id`).",
            ))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in operations(item) {
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        r.headers.insert("X-Request-Id".to_string(), header.clone());
                    }
                }
            }
        }
    }
}

/// Every enumeration's description lists its values with their labels in
/// both languages, from the catalogues (`GET /api/v1/labels` answers the same).
struct EnumLabels;

impl Modify for EnumLabels {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::i18n::{self, Lang};
        use utoipa::openapi::schema::Schema;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(object)) = schema else {
                continue;
            };
            let Some(values) = object.enum_values.clone() else {
                continue;
            };
            let lines: Vec<String> = values
                .iter()
                .map(|v| {
                    let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    format!(
                        "- `{value}`: {} / {}",
                        i18n::label(Lang::En, name, &value),
                        i18n::label(Lang::ZhCn, name, &value)
                    )
                })
                .collect();
            let mut description = object.description.clone().unwrap_or_default();
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str("Labels (English / 中文):\n");
            description.push_str(&lines.join("\n"));
            object.description = Some(description);
        }
    }
}

/// True for an operation anyone may call (`security: [{}]`).
fn is_public(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|s| {
        s.iter()
            .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
    })
}

/// The webhooks a subscription receives, one entry per event type (the
/// OpenAPI 3.1 `webhooks` section): the Standard Webhooks headers, the body
/// `{"type", "timestamp", "data"}` with the subject's view, and an example.
struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::models::event::EventType;
        use serde_json::json;
        let views = [
            ("accountability_record", "AccountabilityView"),
            ("complaint", "ComplaintDetailView"),
            ("corrective_action", "CorrectiveActionView"),
            ("customer", "CustomerView"),
            ("deadline", "DeadlineView"),
            ("org_unit", "OrgUnitView"),
            ("project", "ProjectView"),
            ("rectification_plan", "PlanDetailView"),
            ("repair", "RepairDetailView"),
            ("user", "UserView"),
            ("visit", "VisitDetailView"),
            ("visit_plan", "VisitPlanView"),
        ];
        // each view's own example, for the body's example (none: `null`)
        let known: std::collections::HashMap<String, serde_json::Value> = openapi
            .components
            .as_ref()
            .map(|c| {
                c.schemas
                    .iter()
                    .map(|(name, schema)| {
                        let value = serde_json::to_value(schema).unwrap_or_default();
                        let example = value
                            .get("example")
                            .cloned()
                            .or_else(|| value["examples"].get(0).cloned())
                            .unwrap_or(serde_json::Value::Null);
                        (name.clone(), example)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let headers = json!([
            {"name": "webhook-id", "in": "header", "required": true,
             "description": "The event's id: the same on every retry of it. Deduplicate on it.",
             "schema": {"type": "string", "maxLength": 20, "pattern": "^[0-9]+$"}},
            {"name": "webhook-timestamp", "in": "header", "required": true,
             "description": "When this attempt was signed, in Unix seconds; refuse one more than 5 minutes off.",
             "schema": {"type": "string", "maxLength": 20, "pattern": "^[0-9]+$"}},
            {"name": "webhook-signature", "in": "header", "required": true,
             "description": "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the secret (its base64 after `whsec_`); two, space-separated, for a day after a rotation.",
             "schema": {"type": "string", "maxLength": 200}}
        ]);
        let mut hooks = serde_json::Map::new();
        for event in EventType::ALL {
            let name = event.as_str();
            if name.starts_with("auth.") {
                continue;
            }
            let subject = name.split('.').next().unwrap_or("");
            let view = views
                .iter()
                .find(|(s, v)| *s == subject && known.contains_key(*v))
                .map(|(_, v)| *v);
            let object = view
                .map(|v| json!({"$ref": format!("#/components/schemas/{v}")}))
                .unwrap_or_else(|| json!({"type": "object", "description": "What the event recorded of its subject"}));
            let object_example = view
                .and_then(|v| known.get(v).cloned())
                .unwrap_or(serde_json::Value::Null);
            let schema = json!({
                "type": "object",
                "required": ["type", "timestamp", "data"],
                "properties": {
                    "type": {"type": "string", "const": name},
                    "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
                    "data": {
                        "type": "object",
                        "required": ["event_id", "subject_type", "subject_id", "object"],
                        "properties": {
                            "event_id": {"type": "integer", "format": "int64", "minimum": 1},
                            "subject_type": {"type": "string", "const": subject},
                            "subject_id": {"type": "integer", "format": "int64", "minimum": 1},
                            "object": {"description": "The subject as an administrator reads it with a GET when the delivery is first sent (`null` when it is gone)", "anyOf": [object, {"type": "null"}]}
                        }
                    }
                }
            });
            let example = json!({
                "type": name, "timestamp": "2026-11-23T02:00:00Z",
                "data": {"event_id": 4211, "subject_type": subject, "subject_id": 87, "object": object_example}
            });
            hooks.insert(name.to_string(), json!({"post": {
                "summary": format!("`{name}`"),
                "operationId": format!("webhook_{}", name.replace('.', "_")),
                "tags": ["webhooks"],
                "parameters": headers,
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema, "example": example}}},
                "responses": {"200": {"description": "Received (any 2xx); anything else, or no answer in 15 seconds, is retried"}}
            }}));
        }
        openapi
            .extensions
            .get_or_insert_with(Default::default)
            .insert("webhooks".to_string(), serde_json::Value::Object(hooks));
    }
}

/// Adds the error answers every operation can give, so that each handler
/// documents only its own special ones.
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            for op in operations(item) {
                add_standard_errors(op, has_path_params);
            }
        }
    }
}

fn add_standard_errors(op: &mut Operation, has_path_params: bool) {
    // an empty requirement list entry (`security: [{}]`) marks a public operation
    let public = is_public(op);
    let has_body = op.request_body.is_some();
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
    });
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(problem(description)));
    };
    if !public || has_body || has_path_params {
        add("400", "The request cannot be read: malformed JSON, a wrong type, an unknown field or enum value, a bad parameter");
    }
    if !public {
        add(
            "401",
            "No access token or API key, or it is invalid, expired, revoked or its session ended",
        );
        add("403", "Your role may not do this");
    }
    if has_path_params {
        add("404", "Not found, or outside your scope");
    }
    if has_body {
        add("413", "The body is larger than the limit");
        add("415", "The body is not `application/json`");
    }
    if has_body || has_query {
        add(
            "422",
            "Fields or parameters fail their constraints (`validation_failed`) or a business rule",
        );
    }
    add("414", "The path and query are longer than 8 KiB");
    add("500", "Internal error (logged; no details are given)");
    add(
        "503",
        "The database (`database_unavailable`) or the file store (`storage_unavailable`) cannot be reached now; retry later",
    );
    add(
        "507",
        "A disk of the server is full (`insufficient_storage`): nothing was written; retry once space is freed",
    );
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// The operations of one path, whatever their method.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}
