//! Importing a company's spreadsheets: the templates, the import (a dry run
//! or the real one) and its report afterwards. The rules are the
//! services'; here the file is received and read.

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::export::{WorkbookFile, XLSX};
use super::{answer, once, BodyDigest};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::workflow::Ctx;
use crate::services::imports::{
    self as service, read, template, ImportFile, ImportKind, ImportReport,
};
use crate::AppState;

/// The import form (`multipart/form-data`).
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the form; the handler reads the parts as they stream
pub struct ImportForm {
    /// The spreadsheet: XLSX (its first sheet is read), or CSV in UTF-8 or
    /// GB18030. The first row that is not empty holds the headers, in
    /// Chinese or English or as field names, in any order; the template's
    /// row of field names under them is skipped.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    kind: ImportKind,
    /// `true`: check every row and answer the report, keeping nothing.
    /// Default `false`.
    dry_run: Option<bool>,
}

/// A small text part of the form, read whole (at most 64 bytes).
async fn text_part(part: &mut actix_multipart::Field, name: &str) -> AppResult<String> {
    let mut bytes = vec![];
    while let Some(chunk) = part.try_next().await.map_err(unreadable)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 64 {
            return Err(AppError::invalid(name, "at most 64 bytes"));
        }
    }
    String::from_utf8(bytes)
        .map(|s| s.trim().to_string())
        .map_err(|_| AppError::invalid(name, "must be UTF-8 text"))
}

fn unreadable(e: actix_multipart::MultipartError) -> AppError {
    super::attachments::multipart_refused(
        e,
        "send the import as multipart/form-data with the parts `file`, `kind` and `dry_run`",
    )
}

/// The form as received: the file's bytes, name and digest, the kind and
/// whether it is a dry run.
struct Received {
    bytes: Vec<u8>,
    file_name: String,
    sha256: String,
    kind: ImportKind,
    dry_run: bool,
}

async fn receive(limit: u64, mut payload: Multipart) -> AppResult<Received> {
    let (mut file, mut kind, mut dry_run) = (None, None, None);
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(unreadable)?;
        match part.name() {
            Some("file") => {
                if file.is_some() {
                    return Err(AppError::bad_request(
                        "one_file_per_request",
                        "file",
                        "send one file per import",
                    ));
                }
                let name = part
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect())
                    .unwrap_or_else(|| "import".to_string());
                let mut bytes = vec![];
                let mut hasher = Sha256::new();
                while let Some(chunk) = part.try_next().await.map_err(unreadable)? {
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(super::attachments::too_large(limit));
                    }
                    hasher.update(&chunk);
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((bytes, name, hex::encode(hasher.finalize())));
            }
            Some("kind") => {
                let text = text_part(&mut part, "kind").await?;
                kind =
                    Some(text.parse::<ImportKind>().map_err(|_| {
                        AppError::invalid("kind", "must be `customers` or `projects`")
                    })?);
            }
            Some("dry_run") => {
                let text = text_part(&mut part, "dry_run").await?;
                dry_run = Some(match text.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    // `null` is the form's way of leaving it out
                    "false" | "0" | "" | "null" => false,
                    _ => return Err(AppError::invalid("dry_run", "must be `true` or `false`")),
                });
            }
            other => {
                let name: String = other
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect();
                return Err(AppError::bad_request(
                    "invalid_field",
                    &name,
                    "the import form has the parts `file`, `kind` and `dry_run`",
                ));
            }
        }
    }
    let Some((bytes, file_name, sha256)) = file else {
        return Err(AppError::invalid(
            "file",
            "send the spreadsheet in a part named `file`",
        ));
    };
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "the file is empty"));
    }
    let kind = kind.ok_or_else(|| {
        AppError::invalid("kind", "say what the file holds: `customers` or `projects`")
    })?;
    Ok(Received {
        bytes,
        file_name,
        sha256,
        kind,
        dry_run: dry_run.unwrap_or(false),
    })
}

/// Import customers or projects from a spreadsheet
///
/// For the branch engineering department and the branch's leaders (their
/// branch), the group engineering department (the group) and
/// administrators. Every row is checked by the same rules as `POST
/// /api/v1/customers` and `POST /api/v1/projects` with its contacts and
/// warranty terms: a department or branch named outside your scope is as
/// unknown as one that does not exist; a project's customer is found by
/// name in the department's branch, or created when `customer_kind` is
/// given. With `dry_run=true` the answer (200) lists every problem of the
/// file at once, by row and column, and nothing is kept. Otherwise all rows
/// are kept in one transaction (201) or, when any has a problem, none
/// (`422 import_invalid`, the problems in `rows`). A project whose handover
/// is so long past that its ledger would already be overdue starts no
/// ledger clock; the answer says which ledgers are complete and what the
/// others lack. At most 20,000 rows and the upload size limit. Safe to
/// retry with `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", operation_id = "create_import",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The dry run's report: what would be created, and every problem", body = ImportReport),
        (status = 201, description = "Imported: what was created, with ids", body = ImportReport, headers(("Location" = String))),
        (status = 400, description = "Not a readable multipart body, or a part other than `file`, `kind` and `dry_run`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Your role does not import", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file or kind (`validation_failed`); a file that is no workbook or CSV (`unreadable_file`), is empty (`empty_file`) or has more than 20,000 rows (`too_many_rows`); rows with problems (`import_invalid`, listed in `rows`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let limit = state.config.max_upload_bytes;
    super::attachments::refuse_declared_over(&req, limit)?;
    // the role first: a file is read only for those who may import it
    state
        .db_as(caller.clone(), |_, actor| actor.require(service::IMPORTERS))
        .await?;
    let received = receive(limit, payload).await?;
    let Received {
        bytes,
        file_name,
        sha256,
        kind,
        dry_run,
    } = received;
    req.extensions_mut()
        .insert(BodyDigest(format!("{sha256}:{kind}:{dry_run}")));
    let sheet = web::block(move || read::sheet(&bytes)).await??;
    let upload = ImportFile {
        kind,
        file_name,
        sha256,
        sheet,
        dry_run,
    };
    let (now, st) = (state.clock.now_naive(), state.clone());
    if dry_run {
        // a dry run keeps nothing, so it has nothing to replay
        let report = state
            .db_as(caller, move |conn, actor| {
                let ctx = Ctx {
                    actor: &actor,
                    config: &st.config,
                    now,
                };
                service::run(conn, ctx, &upload)
            })
            .await?;
        // its problems in the request's language, as a refusal's would be
        let lang = crate::request_language(&req);
        let mut report = report;
        for problem in &mut report.problems {
            if let Some(said) = crate::i18n::translate(lang, &problem.message) {
                problem.message = said;
            }
        }
        return Ok(HttpResponse::Ok().json(report));
    }
    once(&state, &req, caller, move |conn, actor| {
        let ctx = Ctx {
            actor: &actor,
            config: &st.config,
            now,
        };
        let report = service::run(conn, ctx, &upload)?;
        let location = report.id.map(|id| format!("/api/v1/imports/{id}"));
        answer(StatusCode::CREATED, None, location, report)
    })
    .await
}

/// An import's report
///
/// What the import created, with ids, as its answer said. Imports are read
/// by those who import, in their scope (an import of the group's by the
/// group and administrators).
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", operation_id = "get_import",
    params(("id" = i64, Path, description = "Import id")),
    responses(
        (status = 200, description = "The import's report", body = ImportReport),
        (status = 403, description = "Your role does not import", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such import in your scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let report = state
        .db_as(caller, move |conn, actor| service::get(conn, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The Excel template of an import
///
/// The columns of the completed-projects ledger (`projects`) or of the
/// customer register (`customers`): headers in Chinese (`*` marks the
/// required ones) with the field name beneath, drop-down lists for the
/// customer kind and the yes/no columns, date columns formatted as dates.
/// Fill the first sheet; the second holds one example row.
#[utoipa::path(get, path = "/api/v1/imports/templates/{kind}", tag = "imports", operation_id = "get_import_template",
    params(("kind" = ImportKind, Path, description = "What the file holds")),
    responses(
        (status = 200, description = "The template (sent as the workbook type; clients may read it as bytes)", content(
            (WorkbookFile = "application/octet-stream"),
            (WorkbookFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String))),
        (status = 403, description = "Your role does not import", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such kind", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn template(
    state: web::Data<AppState>,
    caller: Caller,
    kind: web::Path<String>,
) -> AppResult<HttpResponse> {
    let kind: ImportKind = kind.parse().map_err(|_| {
        AppError::NotFound("the templates are `customers` and `projects`".to_string())
    })?;
    state
        .db_as(caller, |_, actor| actor.require(service::IMPORTERS))
        .await?;
    let bytes = web::block(move || template::workbook(kind)).await??;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"aftercare-import-{kind}.xlsx\""),
        ))
        .body(bytes))
}
