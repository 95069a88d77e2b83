//! Request extractors that turn every kind of bad input into a problem+json
//! 4xx naming the offending field: `ValidJson` (content type, size limit,
//! malformed JSON, wrong types, unknown fields and enum values, then the
//! `validator` constraints) and `ValidQuery` (query strings, the same way).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::auth::Caller;
use crate::error::{AppError, FieldError};
use crate::AppState;

/// A JSON body, read within the size limit, deserialised and validated.
pub struct ValidJson<T>(pub T);

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_body_bytes)
            .unwrap_or(256 * 1024);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase());
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            let is_json = content_type.as_deref().is_some_and(|ct| {
                let essence = ct.split(';').next().unwrap_or("").trim();
                essence == "application/json" || essence.ends_with("+json")
            });
            if !is_json {
                return Err(AppError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".to_string(),
                ));
            }
            if declared_length.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge { limit });
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request(
                        "invalid_body",
                        "body",
                        format!("cannot read the body: {e}"),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            let value: T = parse_json(&body)?;
            value.validate().map_err(validation_error)?;
            req.extensions_mut().insert(super::BodyDigest(hex::encode(
                <sha2::Sha256 as sha2::Digest>::digest(&body),
            )));
            Ok(ValidJson(value))
        })
    }
}

/// Deserialises a JSON body, naming the field at fault when it fails.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(AppError::bad_request(
            "malformed_json",
            "body",
            "the body is empty; send a JSON object",
        ));
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        AppError::bad_request(
            "malformed_json",
            "body",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    // serde reads a struct from an array too (`[null, null]` fills the
    // fields in order); every body of this API is an object
    if !value.is_object() {
        return Err(AppError::bad_request(
            "invalid_field",
            "body",
            "the body must be a JSON object",
        ));
    }
    if let Some(path) = nul_path(&value, String::new()) {
        return Err(AppError::bad_request("invalid_field", &path, NUL_MESSAGE));
    }
    if let Some((path, message)) = out_of_era(&value, String::new()) {
        return Err(AppError::rule("invalid_field", &path, message));
    }
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        AppError::bad_request("invalid_field", &field_name(&path, &message), message)
    })
}

/// JSON has one number type: `28.0` is the integer 28 to JSON Schema and to
/// clients that write every number as a double. Such numbers are read as
/// integers; `28.5` stays a float and is refused where an integer belongs.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                // every whole double below 2^63 is an exact i64
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    *n = serde_json::Number::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

const NUL_MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// Text may not hold NUL: PostgreSQL cannot store it, and no person types it.
/// The path (`contacts[0].name`) of the first string or key holding NUL.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.clone()
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(here()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{}[{i}]", here()))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = if path.is_empty() {
                k.replace('\0', "")
            } else {
                format!("{path}.{}", k.replace('\0', ""))
            };
            if k.contains('\0') {
                Some(key)
            } else {
                nul_path(v, key)
            }
        }),
        _ => None,
    }
}

/// The instants the API stores: from 2000 (no record of this service is
/// older: paper arrives late, not decades late) to 9999 (what both
/// databases store; PostgreSQL refuses a year 0 or below, SQLite would keep
/// it and sort it wrongly). Calendar dates have their own, wider check
/// (`services::plausible_date`): a structure's warranty runs for decades.
pub const INSTANT_YEARS: std::ops::RangeInclusive<i32> = 2000..=9999;

/// What is wrong with a text that is an instant outside the years stored,
/// if it is one.
pub fn era_problem(text: &str) -> Option<&'static str> {
    use chrono::Datelike;
    let unsigned = text.trim_start_matches(['+', '-']);
    // cheap test first: only a text shaped like `YYYY-MM-DDT…` is parsed
    let dated = unsigned.len() > 10
        && unsigned.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && unsigned.contains('T');
    if !dated {
        return None;
    }
    let instant = text.parse::<chrono::DateTime<chrono::Utc>>().ok()?;
    (!INSTANT_YEARS.contains(&instant.year()))
        .then_some("must lie between 2000-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
}

/// The path and message of the first string that is an instant outside
/// the years stored.
fn out_of_era(value: &serde_json::Value, path: String) -> Option<(String, &'static str)> {
    match value {
        serde_json::Value::String(s) => era_problem(s).map(|m| (path, m)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| out_of_era(v, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            out_of_era(v, key)
        }),
        _ => None,
    }
}

/// A query string, deserialised and validated.
pub struct ValidQuery<T>(pub T);

impl<T> FromRequest for ValidQuery<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ValidQuery))
    }
}

pub fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, AppError> {
    if let Some((key, _)) =
        form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        let field = key.replace('\0', "");
        return Err(AppError::bad_request(
            "invalid_query_parameter",
            &field,
            NUL_MESSAGE,
        ));
    }
    if let Some((key, message)) = form_urlencoded::parse(query.as_bytes())
        .find_map(|(k, v)| era_problem(&v).map(|m| (k.into_owned(), m)))
    {
        return Err(AppError::rule("invalid_field", &key, message));
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // ids are 1 or more, as the spec says: 0 or below names no record
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, v)| crate::openapi::id_like(k) && v.trim().parse::<f64>().is_ok_and(|n| n < 1.0))
    {
        return Err(AppError::bad_request(
            "invalid_query_parameter",
            key,
            "must be an id: 1 or more",
        ));
    }
    // a whole number written with a fraction of zeros (`7.0`) is the number
    // (JSON Schema's integers include it): read as such where a number
    // failed to parse, never where text was expected
    let mut retried = vec![];
    let value: T = loop {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(value) => break value,
            Err(err) => {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = field_name(&path, &message);
                let whole = pairs.iter_mut().find(|(k, v)| {
                    *k == field && !retried.contains(k) && integral_text(v).is_some()
                });
                match whole {
                    Some((k, v)) => {
                        *v = integral_text(v).unwrap_or_default();
                        retried.push(k.clone());
                    }
                    None => {
                        return Err(AppError::bad_request(
                            "invalid_query_parameter",
                            &field,
                            message,
                        ))
                    }
                }
            }
        }
    };
    value.validate().map_err(validation_error)?;
    Ok(value)
}

/// `7.0`, `-12.00` → `7`, `-12`; anything else → `None`.
fn integral_text(text: &str) -> Option<String> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    (!digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b == b'0'))
    .then(|| whole.to_string())
}

/// serde reports a missing or unknown field at the parent's path, with the
/// name only inside the message; put it back on the path.
fn field_name(path: &str, message: &str) -> String {
    let missing = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let path = if path == "." { "" } else { path };
    match (path, missing) {
        // serde_path_to_error already ends the path with an unknown field
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        ("", Some(name)) => name.to_string(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        ("", None) => "body".to_string(),
        (p, None) => p.to_string(),
    }
}

/// Flattens `validator` errors into one `FieldError` per failed constraint.
pub fn validation_error(errors: ValidationErrors) -> AppError {
    let mut out = Vec::new();
    flatten("", &errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    AppError::Validation(out)
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError::new(path.clone(), describe(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(&format!("{path}[{index}]"), inner, out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    let counts_items = e.params.get("value").is_some_and(|v| v.is_array());
    match e.code.as_ref() {
        "length" if counts_items => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must have {min} to {max} items"),
            (Some(min), None) => format!("must have at least {min} items"),
            (None, Some(max)) => format!("must have at most {max} items"),
            _ => "has the wrong number of items".to_string(),
        },
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".to_string(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".to_string(),
        },
        "email" => "must be an e-mail address".to_string(),
        other => format!("is invalid ({other})"),
    }
}

/// The caller of every authenticated handler: taken from the bearer token
/// and checked against the database on every request, so deactivation and
/// logout act at once.
impl FromRequest for Caller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let writes = !matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = match auth {
                None => {
                    return Err(AppError::unauthorized(
                        "missing_token",
                        "send an access token or an API key: Authorization: Bearer <token> (get one at /api/v1/auth/login)",
                    ))
                }
                Some(Err(_)) => return Err(malformed()),
                Some(Ok(value)) => bearer_token(&value).ok_or_else(malformed)?,
            };
            let caller = if token.starts_with(crate::services::api_keys::KEY_PREFIX) {
                // the key is checked with the request's own database work
                Caller {
                    user_id: 0,
                    session: String::new(),
                    api_key: Some(token),
                    writes,
                }
            } else {
                let claims = state.jwt.verify(&token, state.clock.now())?;
                let user_id: i64 = claims.sub.parse().map_err(|_| {
                    AppError::unauthorized("invalid_token", "the access token is not valid")
                })?;
                // the account and session are checked with the request's own
                // database work (`AppState::db_as`)
                Caller {
                    user_id,
                    session: claims.sid,
                    api_key: None,
                    writes,
                }
            };
            let bucket = match &caller.api_key {
                Some(key) => format!("k:{}", crate::services::api_keys::fingerprint(key)),
                None => format!("u:{}", caller.user_id),
            };
            match state.limiter.take(&bucket) {
                Ok(quota) => {
                    if let Some(quota) = quota {
                        req.extensions_mut().insert(quota);
                    }
                    Ok(caller)
                }
                Err(refused) => {
                    req.extensions_mut().insert(refused.quota);
                    Err(AppError::Limited {
                        code: "rate_limited",
                        detail: format!(
                            "too many requests from this account or key; retry after {} seconds",
                            refused.retry_after_secs
                        ),
                        retry_after_secs: refused.retry_after_secs,
                    })
                }
            }
        })
    }
}

fn malformed() -> AppError {
    AppError::unauthorized(
        "invalid_token",
        "the Authorization header must be `Bearer <token>`",
    )
}

fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}
