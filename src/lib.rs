//! Aftercare: after-handover customer care for construction companies —
//! return visits, complaints, rectification plans and warranty repairs, each
//! with enforced deadlines. This crate builds the HTTP application so that
//! `main` serves it and the tests run it in-process.

pub mod api;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod i18n;
pub mod jobs;
#[macro_use]
pub mod kit;
pub mod logging;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod season;
pub mod services;
pub mod state;
pub mod storage;
pub mod webhooks;

pub use jobs::{sweep, Swept};
pub use state::{AppState, Startup};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::AppError;

/// `/` and `/swagger-ui` (without the slash) lead to Swagger UI.
async fn to_swagger_ui() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", "/swagger-ui/"))
        .finish()
}

/// The access log's target: one line per request, with its id.
pub const ACCESS_LOG: &str = "aftercare::access";

/// The header a request's id travels in, from the proxy and back.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: the proxy's `X-Request-Id` when it is a sane one (1 to
/// 128 letters, digits and `-_.:`), else a new one.
fn request_id_of(req: &ServiceRequest) -> std::sync::Arc<str> {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(std::sync::Arc::from)
        .unwrap_or_else(|| std::sync::Arc::from(crate::auth::jwt::random_token(16)))
}

/// The whole HTTP application: routes, error shaping, docs, logging.
/// The longest path and query string taken (8 KiB, as common proxies allow).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The longest `If-Match`, `If-None-Match` or `Range` header read (a list
/// of versions or ranges never needs more).
pub const MAX_HEADER_CHARS: usize = 1000;

pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.config.cors_origins);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PathConfig::default().error_handler(|err, req| {
            // name the parameter: an id that is no integer, else the last one
            let params: Vec<(&str, &str)> = req.match_info().iter().collect();
            let field = params
                .iter()
                .find(|(name, value)| name.ends_with("id") && value.parse::<i64>().is_err())
                .or(params.last())
                .map_or("path", |(name, _)| name)
                .to_string();
            AppError::bad_request("invalid_path_parameter", &field, err.to_string()).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            AppError::bad_request("invalid_query_parameter", "query", err.to_string()).into()
        }))
        .app_data(web::JsonConfig::default().error_handler(|err, _| {
            AppError::bad_request("malformed_json", "body", err.to_string()).into()
        }))
        .wrap_fn(|req, srv| {
            // a NUL in a path segment (`%00`) would reach the database as text
            let refused = if req.path().to_ascii_lowercase().contains("%00") {
                Some(AppError::bad_request(
                    "invalid_path_parameter",
                    "path",
                    "the path must not contain the NUL character (%00)",
                ))
            } else if let Some(name) =
                ["if-match", "if-none-match", "range"]
                    .into_iter()
                    .find(|h| {
                        req.headers()
                            .get(*h)
                            .is_some_and(|v| v.len() > MAX_HEADER_CHARS)
                    })
            {
                Some(AppError::bad_request(
                    "invalid_header",
                    name,
                    format!("must be at most {MAX_HEADER_CHARS} characters"),
                ))
            } else if req.uri().to_string().len() > MAX_URI_BYTES {
                // no operation needs more; actix-http's own limit (64 KiB)
                // answers a bare 400 before any of our code runs
                Some(AppError::UriTooLong {
                    limit: MAX_URI_BYTES,
                })
            } else {
                None
            };
            let lang = request_language(req.request());
            if let Some(err) = refused {
                let res = req.into_response(err.error_response());
                let res = in_language(res.map_into_boxed_body(), lang);
                return futures_util::future::Either::Left(std::future::ready(Ok(res)));
            }
            let fut = actix_web::dev::Service::call(srv, req);
            futures_util::future::Either::Right(async move {
                fut.await.map(|mut res| {
                    rate_limit_headers(&mut res);
                    in_language(res.map_into_boxed_body(), lang)
                })
            })
        })
        .wrap(ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, method_not_allowed))
        .wrap(cors)
        .wrap_fn(|req, srv| {
            let id = request_id_of(&req);
            let started = std::time::Instant::now();
            let method = req.method().to_string();
            // the route's template (`/api/v1/customers/{id}`), never the
            // path: one metric series per operation, not per record
            // a second route match and the access line's text cost only
            // when metrics are kept and the line is logged
            let route = crate::metrics::enabled().then(|| {
                req.match_pattern()
                    .unwrap_or_else(|| "unmatched".to_string())
            });
            let line = log::log_enabled!(target: ACCESS_LOG, log::Level::Info).then(|| format!(
                "{} \"{} {} {:?}\"",
                req.peer_addr().map_or("-".to_string(), |a| a.ip().to_string()),
                req.method(),
                req.path(),
                req.version()
            ));
            let fut = actix_web::dev::Service::call(srv, req);
            crate::logging::serving(id.clone(), async move {
                let res = fut.await;
                let took = started.elapsed();
                let mut res = match res {
                    Ok(res) => res,
                    Err(e) => {
                        if let Some(line) = &line {
                            log::info!(target: ACCESS_LOG, "{line} error {:.3}ms", took.as_secs_f64() * 1e3);
                        }
                        return Err(e);
                    }
                };
                let status = res.status().as_u16();
                if let Some(route) = &route {
                    crate::metrics::request(&method, route, status, took);
                }
                // time to the answer's head; a streamed body goes on after
                if let Some(line) = &line {
                    log::info!(target: ACCESS_LOG, "{line} {status} {:.3}ms", took.as_secs_f64() * 1e3);
                }
                if let Ok(value) = HeaderValue::from_str(&id) {
                    res.headers_mut().insert(REQUEST_ID.clone(), value);
                }
                Ok(res)
            })
        })
        .route("/", web::get().to(to_swagger_ui))
        .route("/swagger-ui", web::get().to(to_swagger_ui))
        .configure(api::configure)
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .url("/api-docs/openapi.json", openapi::ApiDoc::openapi()),
        )
        .default_service(web::to(|req: HttpRequest| async move {
            Err::<HttpResponse, AppError>(AppError::NotFound(format!(
                "no endpoint at {} {}",
                req.method(),
                req.path()
            )))
        }))
}

/// Web apps of the origins the operator names may call the API from the
/// browser: their preflight is answered, the request headers the API reads
/// are allowed and the answer headers a client needs can be read. Other
/// origins get no CORS headers, so the browser refuses them.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{header, Method};
    let mut cors = actix_cors::Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::RANGE,
            header::HeaderName::from_static("idempotency-key"),
            REQUEST_ID.clone(),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
            REQUEST_ID.clone(),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// The caller's quota, on every answer to a request that named one.
fn rate_limit_headers<B>(res: &mut ServiceResponse<B>) {
    use actix_web::HttpMessage;
    let quota = res
        .request()
        .extensions()
        .get::<auth::rate::Quota>()
        .copied();
    if let Some(q) = quota {
        let headers = res.headers_mut();
        let named: [(&'static str, String); 3] = [
            ("ratelimit-limit", q.limit.to_string()),
            ("ratelimit-remaining", q.remaining.to_string()),
            ("ratelimit-reset", q.reset_secs.to_string()),
        ];
        for (name, value) in named {
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
                headers.insert(
                    actix_web::http::header::HeaderName::from_static(name),
                    value,
                );
            }
        }
    }
}

/// A known path asked with a method it does not take: answer problem+json.
/// The language a request's problems are told in: the best of ours its
/// `Accept-Language` names, else the configured default.
pub fn request_language(req: &actix_web::HttpRequest) -> i18n::Lang {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(i18n::Lang::from_accept_language)
        .or_else(|| {
            req.app_data::<web::Data<AppState>>()
                .map(|s| s.config.default_language)
        })
        .unwrap_or(i18n::Lang::En)
}

/// A problem answer told again in `lang` (nothing else changes).
fn in_language(
    res: ServiceResponse<actix_web::body::BoxBody>,
    lang: i18n::Lang,
) -> ServiceResponse<actix_web::body::BoxBody> {
    if lang == i18n::Lang::En {
        return res;
    }
    let Some(problem) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .map(|e| e.problem().in_language(lang))
    else {
        return res;
    };
    let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".to_string());
    res.map_body(|_, _| actix_web::body::BoxBody::new(body))
}

fn method_not_allowed<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let problem = AppError::MethodNotAllowed
        .problem()
        .in_language(request_language(&req));
    let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".to_string());
    let mut response = AppError::MethodNotAllowed
        .error_response()
        .set_body(actix_web::body::BoxBody::new(body));
    // RFC 9110: a 405 says which methods the resource does support
    if let Some(allow) = req.match_pattern().and_then(|p| allowed_methods().get(&p)) {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// The methods of every path, from the spec (which documents every route).
fn allowed_methods() -> &'static std::collections::HashMap<String, String> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| {
        let spec = serde_json::to_value(openapi::ApiDoc::openapi()).unwrap_or_default();
        let mut out = std::collections::HashMap::new();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                out.insert(path.clone(), methods.join(", "));
            }
        }
        out
    })
}
