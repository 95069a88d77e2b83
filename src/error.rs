//! One error type for the whole service, rendered in one place as
//! `application/problem+json` (RFC 9457) with a stable machine `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

/// One offending input: which field, and what is wrong with it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `role` or `contacts[1].phone`;
    /// query and path parameters are named as such.
    #[schema(example = "username")]
    pub field: String,
    #[schema(example = "must be 3 to 64 characters")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One problem of one row of an imported file.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct RowProblem {
    /// The row number as the spreadsheet shows it (1 is the first row).
    #[schema(example = 4)]
    pub row: u32,
    /// The column's header as the file writes it; absent for a problem of
    /// the whole row.
    #[schema(example = "交付日期")]
    pub column: Option<String>,
    /// The column's field name (`handover_on`, `contacts.warranty_lead.phone`).
    #[schema(example = "handover_on")]
    pub field: Option<String>,
    /// Stable code: the API's own for the same rule (`code_taken`,
    /// `warranty_below_minimum`, `not_found`, …) or one of the file's
    /// (`missing_value`, `invalid_date`, `invalid_number`, `invalid_choice`,
    /// `missing_column`, `ambiguous_name`, `customer_exists`).
    #[schema(example = "invalid_date")]
    pub code: String,
    #[schema(example = "\"2021-13-01\" is not a date")]
    pub message: String,
}

/// An error answer (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:aftercare:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request has invalid fields",
    "code": "validation_failed",
    "errors": [{"field": "username", "message": "must be 3 to 64 characters"}]
}))]
pub struct Problem {
    /// `urn:aftercare:problem:{code}`
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The HTTP status text.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this, never on `detail`.
    pub code: String,
    /// The offending fields, for input errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `import_invalid`: every problem of the imported file, by row and column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowProblem>,
    /// On a server error (5xx), the request's id (`X-Request-Id`), to quote
    /// when reporting it: the server's log lines of the request carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "r7Kq2mXb9TzL4wPa")]
    pub request_id: Option<String>,
}

impl Problem {
    /// The problem in `lang`: its title, detail and every message from the
    /// catalogue; `code`, `field`s and `column`s never change. A message
    /// the catalogue has no template for is said by its code's sentence,
    /// the original after it in brackets.
    pub fn in_language(mut self, lang: crate::i18n::Lang) -> Problem {
        use crate::i18n;
        if lang == i18n::Lang::En {
            return self;
        }
        if let Some(title) = i18n::message(lang, &format!("title.{}", self.status), &[]) {
            self.title = title;
        }
        let detail = &self.detail;
        self.detail = i18n::translate(lang, detail).unwrap_or_else(|| {
            match i18n::message(lang, &format!("problem.{}", self.code), &[]) {
                Some(sentence) => format!("{sentence}（{detail}）"),
                None => detail.clone(),
            }
        });
        for e in &mut self.errors {
            e.message = i18n::translate(lang, &e.message).unwrap_or_else(|| e.message.clone());
        }
        for r in &mut self.rows {
            r.message = i18n::translate(lang, &r.message).unwrap_or_else(|| r.message.clone());
        }
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request cannot be read (malformed JSON, wrong type, unknown enum value, bad parameter).
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no, bad or expired credentials.
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    /// 403: authenticated, but the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: missing, or outside the caller's scope (never says which).
    #[error("{0}")]
    NotFound(String),
    /// 404: a body field names a record that is missing or outside the
    /// caller's scope (never says which), e.g. another branch's customer.
    #[error("{detail}")]
    MissingReference { field: String, detail: String },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: not allowed in the current state, or a duplicate.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("{}", precondition_detail(expected, *current))]
    PreconditionFailed { expected: String, current: i32 },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 414: the path and query are longer than the limit.
    #[error("the URI is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 416: a `Range` outside the file.
    #[error("the range lies outside the file of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// 422: the fields fail their constraints.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 422: valid input that breaks a business rule.
    #[error("{detail}")]
    Rule {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 422: rows of an imported file break a rule; nothing was imported.
    #[error("{} problem(s) in the file; nothing was imported", .0.len())]
    ImportInvalid(Vec<RowProblem>),
    #[error("too many attempts; retry after {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    /// 429: a limit of what one account may hold or do, with its own code.
    #[error("{detail}")]
    Limited {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    #[error("the database is not reachable")]
    Unavailable,
    /// 507: a disk is full (the database's or the file store's); nothing
    /// was written.
    #[error("the server's disk is full; nothing was written; retry once space is freed")]
    DiskFull,
    /// 503: the file store failed; the cause is logged, never sent.
    #[error("the file store is not reachable; retry later")]
    StorageUnavailable(String),
    /// 500: logged with its cause; the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::BadRequest {
            code,
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn rule(code: &'static str, field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        AppError::Rule {
            code,
            errors: vec![FieldError::new(field, detail.clone())],
            detail,
        }
    }

    /// A body field names no record the caller may see: 404 naming the field.
    pub fn missing_reference(field: &str, detail: impl Into<String>) -> Self {
        AppError::MissingReference {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. }
            | AppError::Unauthorized { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Rule { code, .. }
            | AppError::Limited { code, .. } => code,
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) | AppError::MissingReference { .. } => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::PreconditionFailed { .. } => "version_mismatch",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::UriTooLong { .. } => "uri_too_long",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::Validation(_) => "validation_failed",
            AppError::ImportInvalid(_) => "import_invalid",
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::Unavailable => "database_unavailable",
            AppError::DiskFull => "insufficient_storage",
            AppError::StorageUnavailable(_) => "storage_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let errors = match self {
            AppError::BadRequest { errors, .. }
            | AppError::Validation(errors)
            | AppError::Rule { errors, .. } => errors.clone(),
            AppError::MissingReference { field, detail } => {
                vec![FieldError::new(field, detail.clone())]
            }
            _ => Vec::new(),
        };
        let detail = match self {
            // never leak internals
            AppError::Internal(_) => "an internal error occurred; it has been logged".to_string(),
            other => other.to_string(),
        };
        Problem {
            type_uri: format!("urn:aftercare:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            code: self.code().to_string(),
            errors,
            rows: match self {
                AppError::ImportInvalid(rows) => rows.clone(),
                _ => Vec::new(),
            },
            request_id: status
                .is_server_error()
                .then(crate::logging::request_id)
                .flatten()
                .map(|id| id.to_string()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::MissingReference { .. } => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::Validation(_) | AppError::Rule { .. } | AppError::ImportInvalid(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::TooManyRequests { .. } | AppError::Limited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Unavailable | AppError::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            log::error!("internal error: {cause}");
        }
        if let AppError::StorageUnavailable(cause) = self {
            log::error!("file store: {cause}");
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            AppError::Unauthorized { .. } => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::TooManyRequests { retry_after_secs }
            | AppError::Limited {
                retry_after_secs, ..
            } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::RangeNotSatisfiable { size } => {
                builder.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            _ => {}
        }
        let body = serde_json::to_string(&self.problem()).unwrap_or_else(|_| "{}".to_string());
        builder.body(body)
    }
}

impl From<DieselError> for AppError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => AppError::NotFound("not found".to_string()),
            // the database's own words name tables and constraints: they are
            // logged, never sent
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                log::info!("unique violation: {}", info.message());
                AppError::conflict(
                    "already_exists",
                    "a record with these values already exists",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                AppError::rule(
                    "invalid_reference",
                    "reference",
                    "a referenced record does not exist",
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, info) => {
                log::info!("check violation: {}", info.message());
                let field =
                    checked_column(info.table_name(), info.constraint_name(), info.message());
                AppError::invalid(&field, "this value is not allowed here")
            }
            DieselError::DatabaseError(DatabaseErrorKind::NotNullViolation, info) => {
                let field = info.column_name().unwrap_or("body").to_string();
                AppError::invalid(&field, "a value is required")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                log::warn!("database connection lost: {}", info.message());
                crate::db::mark_connection_lost();
                AppError::Unavailable
            }
            DieselError::DatabaseError(_, info) if disk_full(info.message()) => {
                log::error!("database: {}", info.message());
                AppError::DiskFull
            }
            DieselError::DatabaseError(_, info) if connection_lost(info.message()) => {
                log::warn!("database unreachable: {}", info.message());
                crate::db::mark_connection_lost();
                AppError::Unavailable
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

/// A full disk in the database's words: SQLite's `SQLITE_FULL`,
/// PostgreSQL's `could not extend file … No space left on device`.
pub fn disk_full(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("database or disk is full") || m.contains("no space left on device")
}

/// The database going away under a request: PostgreSQL restarting or
/// shutting down (`57P01`, `57P03`), a connection cut, SQLite's files
/// unreadable or held too long by another process.
fn connection_lost(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "connection to server",
        "the database system is",
        "could not receive data",
        "could not send data",
        "disk i/o error",
        "database is locked",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// The column a failed `CHECK` is about, so the answer can name the field.
/// PostgreSQL names the constraint (`customers_kind_check`: table, column,
/// `check`; a table-level check has a number instead); SQLite quotes the expression (`CHECK constraint failed: kind IN
/// (...)`). Either way the first identifier of the condition is the column.
fn checked_column(table: Option<&str>, constraint: Option<&str>, message: &str) -> String {
    let ident = |s: &str| -> Option<String> {
        let word: String = s
            .trim_start_matches(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!word.is_empty()).then_some(word)
    };
    if let (Some(table), Some(name)) = (table, constraint) {
        let column = name
            .strip_prefix(table)
            .and_then(|n| n.strip_prefix('_'))
            .and_then(|n| n.strip_suffix("_check"));
        if let Some(column) = column.filter(|c| !c.is_empty()) {
            return column.to_string();
        }
    }
    message
        .split_once("CHECK constraint failed:")
        .and_then(|(_, rest)| ident(rest))
        .unwrap_or_else(|| "body".to_string())
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        log::error!("database pool: {err}");
        AppError::Unavailable
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task: {err}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// `current` is negative when `If-Match` was no version at all.
fn precondition_detail(expected: &str, current: i32) -> String {
    if current < 0 {
        format!(
            "If-Match {expected:?} is not an ETag of this resource; send the ETag of your last read, e.g. \"3\""
        )
    } else {
        format!("the resource has changed since version {expected} was read (current version {current})")
    }
}

#[cfg(test)]
mod tests {
    use super::checked_column;

    #[test]
    fn a_failed_check_names_its_column_on_either_database() {
        assert_eq!(
            checked_column(
                Some("deadline_policies"),
                Some("deadline_policies_unit_check"),
                "x"
            ),
            "unit"
        );
        assert_eq!(
            checked_column(None, None, "CHECK constraint failed: kind IN ('a', 'b')"),
            "kind"
        );
        assert_eq!(checked_column(None, None, "something else"), "body");
    }
}
