//! Uploads, attachments and their content.

use std::io::Write;

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{ValidJson, ValidQuery};
use super::{answer, once, page, utc, BodyDigest, ListResponse};
use crate::auth::Caller;
use crate::error::{AppError, AppResult, Problem};
use crate::kit::attachments::{
    self as service, AttachInput, AttachmentFile, AttachmentPatch, Received,
};
use crate::kit::previews;
use crate::models::attachment::{MediaType, SubjectType, Upload};
use crate::services::RECORDS;
use crate::storage::{Derived, Storage, StorageError};
use crate::AppState;

/// A file as uploaded, waiting to be attached.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadView {
    /// Name it in a step's `attachment_ids`, or as `upload_id`.
    pub id: i64,
    /// As sent, for display only.
    pub file_name: String,
    /// Decided from the file's content.
    pub media_type: MediaType,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes: check it against what the phone sent.
    pub sha256: String,
    /// Thumbnails and previews can be had of it (JPEG, PNG, WebP).
    pub previews_available: bool,
    pub created_at: DateTime<Utc>,
    /// Removed at this time unless attached before.
    pub expires_at: DateTime<Utc>,
    /// When a step attached it; `null` while it waits.
    pub attached_at: Option<DateTime<Utc>>,
}

impl TryFrom<Upload> for UploadView {
    type Error = AppError;
    fn try_from(u: Upload) -> AppResult<Self> {
        let media_type = MediaType::from_db(&u.media_type)?;
        Ok(UploadView {
            id: u.id,
            file_name: u.file_name,
            media_type,
            size_bytes: u.size_bytes,
            sha256: u.sha256,
            previews_available: media_type.has_previews(),
            created_at: utc(u.created_at),
            expires_at: utc(u.expires_at),
            attached_at: u.attached_at.map(utc),
        })
    }
}

/// A photo or document attached to a record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub subject_type: SubjectType,
    pub subject_id: i64,
    pub upload_id: i64,
    pub file_name: String,
    pub media_type: MediaType,
    pub size_bytes: i64,
    pub sha256: String,
    pub caption: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    /// Not shown to customer accounts.
    pub internal: bool,
    pub attached_by: i64,
    pub created_at: DateTime<Utc>,
    /// Hidden from lists (administrators still see it); `null` when shown.
    pub hidden_at: Option<DateTime<Utc>>,
    pub hidden_by: Option<i64>,
    pub hidden_reason: Option<String>,
    /// The file itself.
    pub content_url: String,
    /// A 320 px JPEG of a picture; `null` for PDF and HEIC.
    pub thumbnail_url: Option<String>,
    /// A 1280 px JPEG of a picture; `null` for PDF and HEIC.
    pub preview_url: Option<String>,
    pub version: i32,
}

impl TryFrom<AttachmentFile> for AttachmentView {
    type Error = AppError;
    fn try_from(f: AttachmentFile) -> AppResult<Self> {
        let (a, u) = (f.attachment, f.upload);
        let media_type = MediaType::from_db(&u.media_type)?;
        let content_url = format!("/api/v1/attachments/{}/content", a.id);
        let sized = |size: &str| {
            media_type
                .has_previews()
                .then(|| format!("{content_url}?size={size}"))
        };
        Ok(AttachmentView {
            id: a.id,
            subject_type: SubjectType::from_db(&a.subject_type)?,
            subject_id: a.subject_id,
            upload_id: a.upload_id,
            file_name: u.file_name,
            media_type,
            size_bytes: u.size_bytes,
            sha256: u.sha256,
            caption: a.caption,
            taken_at: a.taken_at.map(utc),
            internal: a.internal,
            attached_by: a.attached_by,
            created_at: utc(a.created_at),
            hidden_at: a.hidden_at.map(utc),
            hidden_by: a.hidden_by,
            hidden_reason: a.hidden_reason,
            thumbnail_url: sized("thumbnail"),
            preview_url: sized("preview"),
            content_url,
            version: a.version,
        })
    }
}

/// The multipart form of an upload: one part named `file`, and no other.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the form; the handler reads the parts as they stream
pub struct UploadForm {
    /// The photo or document: JPEG, PNG, WebP, HEIC or PDF.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The bytes of a file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // documents the answer; the handler streams it
pub struct FileContent(Vec<u8>);

/// The spool's disk: full is 507, anything else ours to fix.
fn spool_failed(e: std::io::Error) -> AppError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        log::error!("spool: {e}");
        AppError::DiskFull
    } else {
        AppError::internal(format!("spool file: {e}"))
    }
}

fn storage_failed(e: StorageError) -> AppError {
    match e {
        // the database names a file the store does not have: ours to fix
        StorageError::NotFound => AppError::internal("a stored file is missing from the store"),
        StorageError::Other(cause) if crate::error::disk_full(&cause) => {
            log::error!("file store: {cause}");
            AppError::DiskFull
        }
        StorageError::Other(cause) => AppError::StorageUnavailable(cause),
    }
}

/// The multipart reader's complaints: not multipart at all is 415 (with
/// `hint`, the form the operation takes), a broken body 400.
pub(crate) fn multipart_refused(e: actix_multipart::MultipartError, hint: &str) -> AppError {
    use actix_multipart::MultipartError as E;
    match e {
        E::ContentTypeMissing | E::ContentTypeParse | E::ContentTypeIncompatible => {
            AppError::UnsupportedMediaType(hint.to_string())
        }
        other => AppError::bad_request(
            "invalid_body",
            "file",
            format!("unreadable multipart body: {other}"),
        ),
    }
}

fn multipart_failed(e: actix_multipart::MultipartError) -> AppError {
    multipart_refused(
        e,
        "send the file as multipart/form-data, in a part named `file`",
    )
}

/// 413 before a byte is read when the body declares more than `limit`
/// (the form's own lines add a few hundred bytes to the file).
pub(crate) fn refuse_declared_over(req: &HttpRequest, limit: u64) -> AppResult<()> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + 64 * 1024) {
        return Err(too_large(limit));
    }
    Ok(())
}

/// A file name for display: the last path segment, without control
/// characters, at most 200 characters; the type's extension when none was sent.
fn display_name(sent: Option<&str>, media_type: MediaType) -> String {
    let base = sent
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>();
    let base = base.trim();
    if base.is_empty() || base == "." || base == ".." {
        format!("upload.{}", media_type.extension())
    } else {
        base.to_string()
    }
}

pub(crate) fn too_large(limit: u64) -> AppError {
    AppError::PayloadTooLarge {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    }
}

/// Enough of the start of a file to know its type.
const SNIFF_BYTES: usize = 4096;

/// Reads the part `file` into a private spool file while hashing it; the
/// type is decided from the first bytes, before the rest is read.
async fn receive(
    state: &AppState,
    mut payload: Multipart,
) -> AppResult<(Received, tempfile::NamedTempFile)> {
    let max = state.config.max_upload_bytes;
    let mut found = None;
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(multipart_failed)?;
        if part.name() != Some("file") {
            // the form has one part (the spec says so): another is refused
            // before a byte of it is read
            let name: String = part
                .name()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect();
            return Err(AppError::bad_request(
                "invalid_field",
                &name,
                "the upload form has one part, named `file`",
            ));
        }
        if found.is_some() {
            return Err(AppError::bad_request(
                "one_file_per_request",
                "file",
                "send one file per request",
            ));
        }
        let sent_name = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string);
        let mut spool =
            tempfile::NamedTempFile::new_in(state.storage.spool()).map_err(spool_failed)?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
        let mut media_type = None;
        while let Some(chunk) = part.try_next().await.map_err(multipart_failed)? {
            // counted as it streams: a chunked body declares no length
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large(max));
            }
            if media_type.is_none() {
                let want = SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..want.min(chunk.len())]);
                if head.len() >= SNIFF_BYTES {
                    media_type = Some(detect(&head)?);
                }
            }
            hasher.update(&chunk);
            // a write of one chunk to a local file: page cache, microseconds
            spool.write_all(&chunk).map_err(spool_failed)?;
        }
        if size == 0 {
            return Err(AppError::invalid("file", "the file is empty"));
        }
        let media_type = match media_type {
            Some(t) => t,
            None => detect(&head)?,
        };
        found = Some((
            Received {
                sha256: hex::encode(hasher.finalize()),
                size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
                media_type,
                file_name: display_name(sent_name.as_deref(), media_type),
            },
            spool,
        ));
    }
    found.ok_or_else(|| AppError::invalid("file", "send the file in a multipart part named `file`"))
}

fn detect(head: &[u8]) -> AppResult<MediaType> {
    MediaType::detect(head).map_err(|seen| {
        AppError::UnsupportedMediaType(format!(
            "the file's content is {seen}; accepted are JPEG, PNG, WebP, HEIC and PDF"
        ))
    })
}

/// Upload a photo or document
///
/// One file per request, as `multipart/form-data` with a part named `file`.
/// Its type is decided from its content (JPEG, PNG, WebP, HEIC, PDF;
/// anything else is 415 naming what it is), never from the name or the
/// `Content-Type` sent. Answers the upload's `id`: name it within 24 hours
/// in a step's `attachment_ids` (or `POST …/attachments`), or it is removed.
/// Safe to retry with `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "attachments", operation_id = "create_upload",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = UploadView, headers(("Location" = String))),
        (status = 400, description = "Not a readable multipart body, more than one file, or a part other than `file`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the limit (20 MiB by default)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Your uploads not yet attached would pass your quota (`upload_quota_exceeded`, 500 MiB by default); `Retry-After` says when the oldest expires", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the content is not an accepted type (the detail names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No part named `file`, or an empty file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    refuse_declared_over(&req, state.config.max_upload_bytes)?;
    let (received, spool) = receive(&state, payload).await?;
    // over the quota, nothing goes to the store
    let (now, size) = (state.clock.now_naive(), received.size_bytes);
    let quota_caller = caller.clone();
    let st = state.clone();
    state
        .db_as(quota_caller, move |conn, actor| {
            service::check_quota(conn, &actor, &st.config, now, size)
        })
        .await?;
    let key = Storage::original_key(&received.sha256);
    // the bytes first, then the rows that name them
    state
        .storage
        .ensure_file(&key, spool.path())
        .await
        .map_err(storage_failed)?;
    req.extensions_mut().insert(BodyDigest(format!(
        "{}:{}",
        received.sha256, received.file_name
    )));
    // a sweep removing these very bytes holds them for milliseconds: wait
    // for it to finish (then the bytes are put back below), up to 2 s
    let mut waited = 0;
    let response = loop {
        let (now, st, file) = (state.clock.now_naive(), state.clone(), received.clone());
        let recorded = once(&state, &req, caller.clone(), move |conn, actor| {
            let upload = service::record_upload(conn, &actor, &st.config, now, &file)?;
            let location = format!("/api/v1/uploads/{}", upload.id);
            answer(
                StatusCode::CREATED,
                None,
                Some(location),
                UploadView::try_from(upload)?,
            )
        })
        .await;
        match recorded {
            Err(AppError::Conflict { code, .. }) if code == service::FILE_BEING_REMOVED => {
                if waited >= 20 {
                    return Err(AppError::StorageUnavailable(format!(
                        "a sweep is still removing the bytes of {}",
                        received.sha256
                    )));
                }
                waited += 1;
                actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => break other?,
        }
    };
    // an older upload of the same file may have been swept, bytes and all,
    // between the first check and our row: put them back (our row now
    // keeps any later sweep away)
    state
        .storage
        .ensure_file(&key, spool.path())
        .await
        .map_err(storage_failed)?;
    Ok(response)
}

/// One of your uploads
///
/// Whether it is attached yet, and until when it waits. Only the person who
/// uploaded it (and administrators) can read it.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "attachments", operation_id = "get_upload",
    params(("id" = i64, Path, description = "Upload id")),
    responses(
        (status = 200, description = "The upload", body = UploadView),
        (status = 404, description = "No upload of yours with this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let upload = state
        .db_as(caller, move |conn, actor| {
            service::get_upload(conn, &actor, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UploadView::try_from(upload)?))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttachmentListQuery {
    /// Administrators only: include hidden attachments.
    pub include_hidden: Option<bool>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a record's attachments.
async fn list_of(
    state: web::Data<AppState>,
    caller: Caller,
    subject: (SubjectType, i64),
    q: AttachmentListQuery,
) -> AppResult<HttpResponse> {
    let page = page(q.limit, q.cursor.as_deref())?;
    let include_hidden = q.include_hidden.unwrap_or(false);
    let list = state
        .db_as(caller, move |conn, actor| {
            service::list(conn, &actor, &RECORDS, subject, include_hidden, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_paged(list, AttachmentView::try_from)?))
}

/// Attaches one upload to a record, once per `Idempotency-Key`.
async fn add_to(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    subject: (SubjectType, i64),
    input: AttachInput,
) -> AppResult<HttpResponse> {
    let (now, st) = (state.clock.now_naive(), state.clone());
    once(&state, &req, caller, move |conn, actor| {
        let added = service::add(conn, &actor, &RECORDS, &st.config, now, subject, &input)?;
        let view = AttachmentView::try_from(added)?;
        answer(
            StatusCode::CREATED,
            Some(view.version),
            Some(format!("/api/v1/attachments/{}", view.id)),
            view,
        )
    })
    .await
}

/// The two attachment operations of one kind of record — list and attach —
/// made the same way for every subject: its path, operation ids and texts
/// vary, the handlers are the one pair `list_of` and `add_to`. Who may see,
/// add to and change each kind's attachments is declared in
/// `kit::attachments`, once.
macro_rules! attachment_operations {
    (
        $subject:expr, $path:tt, $id_text:tt, $missing:tt,
        list: $list:ident, $list_id:tt, [$($list_doc:tt),+],
        add: $add:ident, $add_id:tt, [$($add_doc:tt),+], $add_403:tt $(,)?
    ) => {
        $(#[doc = $list_doc])+
        #[utoipa::path(get, path = $path, tag = "attachments", operation_id = $list_id,
            params(("id" = i64, Path, description = $id_text), AttachmentListQuery),
            responses(
                (status = 200, description = "A page of attachments", body = ListResponse<AttachmentView>),
                (status = 403, description = "`include_hidden` by someone not an administrator", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = $missing, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $list(
            state: web::Data<AppState>,
            caller: Caller,
            id: web::Path<i64>,
            query: ValidQuery<AttachmentListQuery>,
        ) -> AppResult<HttpResponse> {
            list_of(state, caller, ($subject, id.into_inner()), query.0).await
        }

        $(#[doc = $add_doc])+
        #[utoipa::path(post, path = $path, tag = "attachments", operation_id = $add_id, request_body = AttachInput,
            params(("id" = i64, Path, description = $id_text)),
            responses(
                (status = 201, description = "Attached", body = AttachmentView, headers(("Location" = String), ("ETag" = String))),
                (status = 403, description = $add_403, body = Problem, content_type = "application/problem+json"),
                (status = 404, description = $missing, body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Not an upload of yours that waits to be attached, or too many attachments", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $add(
            state: web::Data<AppState>,
            caller: Caller,
            req: HttpRequest,
            id: web::Path<i64>,
            body: ValidJson<AttachInput>,
        ) -> AppResult<HttpResponse> {
            add_to(state, caller, req, ($subject, id.into_inner()), body.0).await
        }
    };
}

attachment_operations!(
    SubjectType::Project, "/api/v1/projects/{id}/attachments", "Project id",
    "No such project in your scope",
    list: list_for_project, "list_project_attachments", [
        " A project's documents",
        "",
        " Attachments of the ledger (warranty certificate, handover documents,",
        " photos), oldest first. Customer accounts do not see `internal` ones;",
        " hidden ones are listed for administrators with `include_hidden=true`."
    ],
    add: add_to_project, "add_project_attachment", [
        " Attach an upload to a project",
        "",
        " For those who keep the ledger (the project department, branch and",
        " group engineering, administrators). The upload must be yours, not",
        " attached yet, and not expired (`422 upload_unavailable`); a project keeps",
        " at most 50 shown attachments (`422 too_many_attachments`)."
    ],
    "Your role does not keep the ledger",
);

attachment_operations!(
    SubjectType::Complaint, "/api/v1/complaints/{id}/attachments", "Complaint id",
    "No such complaint in your scope",
    list: list_for_complaint, "list_complaint_attachments", [
        " A complaint's photos and documents",
        "",
        " Oldest first. Customer accounts see their own complaint's, without",
        " `internal` ones (nor any step of them in the timeline); hidden ones are",
        " listed for administrators with `include_hidden=true`."
    ],
    add: add_to_complaint, "add_complaint_attachment", [
        " Attach an upload to a complaint",
        "",
        " By staff who see the complaint, and by the customer to their own (the",
        " photos of what they complain about). Only staff mark one `internal`",
        " (e.g. a liability photo); a customer never changes or hides what the",
        " company attached."
    ],
    "A customer account marking one internal",
);

attachment_operations!(
    SubjectType::RectificationPlan, "/api/v1/rectification-plans/{id}/attachments", "Plan id",
    "No such plan in your scope",
    list: list_for_plan, "list_rectification_plan_attachments", [
        " A rectification plan's documents",
        "",
        " Drawings, schedules, progress photos, oldest first; staff only."
    ],
    add: add_to_plan, "add_rectification_plan_attachment", [
        " Attach an upload to a rectification plan",
        "",
        " By staff who see the plan."
    ],
    "A customer account",
);

attachment_operations!(
    SubjectType::Visit, "/api/v1/visits/{id}/attachments", "Visit id",
    "No such visit in your scope",
    list: list_for_visit, "list_visit_attachments", [
        " A visit's photos and documents",
        "",
        " Oldest first. The owner reads their visit's, without `internal` ones."
    ],
    add: add_to_visit, "add_visit_attachment", [
        " Attach an upload to a visit",
        "",
        " By staff who see the visit record; the owner reads but adds none."
    ],
    "A customer account (the record is the company's)",
);

attachment_operations!(
    SubjectType::Repair, "/api/v1/repairs/{id}/attachments", "Repair id",
    "No such repair in your scope",
    list: list_for_repair, "list_repair_attachments", [
        " A repair's photos and documents",
        "",
        " Oldest first: before and after photos, the design unit's scheme, signed",
        " forms. The owner reads their repair's, without `internal` ones."
    ],
    add: add_to_repair, "add_repair_attachment", [
        " Attach an upload to a repair",
        "",
        " By staff who see the repair, and by the owner to their own (photos of",
        " the defect). Only staff mark one `internal`."
    ],
    "A customer account marking one internal",
);

crate::read_handler! {
    /// An attachment
    #[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", operation_id = "get_attachment",
        params(("id" = i64, Path, description = "Attachment id")),
        responses(
            (status = 200, description = "The attachment", body = AttachmentView, headers(("ETag" = String))),
            (status = 404, description = "No such attachment you may see", body = Problem, content_type = "application/problem+json"),
        ))]
    get => |conn, ctx, id| service::get(conn, ctx.actor, &RECORDS, id), answer_of
}

/// An attachment as answered by its reads and changes.
fn answer_of(
    status: StatusCode,
    found: AttachmentFile,
) -> AppResult<crate::kit::idempotency::Answer> {
    let at = (found.attachment.id, found.attachment.version);
    super::record_answer(
        status,
        "/api/v1/attachments",
        at,
        AttachmentView::try_from(found)?,
    )
}

crate::step_handler! {
    /// Change an attachment's caption or `internal` mark
    ///
    /// By whoever attached it, or by those who may change its subject;
    /// `internal` by staff only.
    #[utoipa::path(patch, path = "/api/v1/attachments/{id}", tag = "attachments", operation_id = "update_attachment", request_body = AttachmentPatch,
        params(("id" = i64, Path, description = "Attachment id"),
            ("If-Match" = Option<String>, Header, description = "The `ETag` (version) last read")),
        responses(
            (status = 200, description = "Changed", body = AttachmentView, headers(("ETag" = String))),
            (status = 403, description = "Not yours to change", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such attachment you may see", body = Problem, content_type = "application/problem+json"),
            (status = 409, description = "Changed at the same time (`concurrent_change`)", body = Problem, content_type = "application/problem+json"),
            (status = 412, description = "`If-Match` is not the current version", body = Problem, content_type = "application/problem+json"),
        ))]
    update(AttachmentPatch) => |conn, ctx, id, expected, patch| {
        service::update(conn, ctx.actor, &RECORDS, ctx.now, id, expected, patch)
    }, answer_of
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HideQuery {
    /// Why it is hidden, for the audit trail.
    #[validate(length(max = 500, message = "at most 500 characters"))]
    #[param(max_length = 500)]
    pub reason: Option<String>,
}

/// Hide an attachment
///
/// Hidden from lists; the record and the file are kept for the audit trail
/// and administrators still see them. By whoever attached it, or by those
/// who may change its subject. Hiding a hidden attachment again changes nothing.
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "attachments", operation_id = "hide_attachment",
    params(("id" = i64, Path, description = "Attachment id"), HideQuery),
    responses(
        (status = 204, description = "Hidden"),
        (status = 403, description = "Not yours to hide", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment you may see", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn hide(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: ValidQuery<HideQuery>,
) -> AppResult<HttpResponse> {
    let (id, reason, now) = (id.into_inner(), query.0.reason, state.clock.now_naive());
    state
        .db_as(caller, move |conn, actor| {
            service::hide(conn, &actor, &RECORDS, now, id, reason.as_deref())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which rendition of a file.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContentSize {
    /// The file as uploaded, every byte.
    #[default]
    Original,
    /// A JPEG at most 320 px on its longer side, without metadata.
    Thumbnail,
    /// A JPEG at most 1280 px on its longer side, without metadata.
    Preview,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// `original` (default), or for JPEG, PNG and WebP `thumbnail` or `preview`.
    #[param(inline)]
    pub size: Option<ContentSize>,
}

/// Download an attachment
///
/// The file with its `Content-Type` and original name (`Content-Disposition`,
/// RFC 6266 for names beyond ASCII). The `ETag` is the content hash: send it
/// as `If-None-Match` to get 304 when unchanged. `Range` (one range) is
/// answered 206, for large PDFs. `size=thumbnail` or `size=preview` gives a
/// smaller JPEG of a picture, made once and kept, upright and without
/// EXIF; PDF and HEIC have none (`422 preview_unavailable`).
#[utoipa::path(get, path = "/api/v1/attachments/{id}/content", tag = "attachments", operation_id = "download_attachment",
    params(("id" = i64, Path, description = "Attachment id"), ContentQuery,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` last received"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1048575`")),
    responses(
        (status = 200, description = "The file's bytes, in its own type (thumbnails and previews are JPEG). Generated clients read the answer as bytes (`application/octet-stream`); the `Content-Type` sent is the file's own",
            content((FileContent = "application/octet-stream"), (FileContent = "image/jpeg"), (FileContent = "image/png"), (FileContent = "image/webp"),
                (FileContent = "image/heic"), (FileContent = "application/pdf")),
            headers(("ETag" = String), ("Content-Disposition" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The requested range",
            content((FileContent = "application/octet-stream"), (FileContent = "image/jpeg"), (FileContent = "image/png"), (FileContent = "image/webp"),
                (FileContent = "image/heic"), (FileContent = "application/pdf")),
            headers(("Content-Range" = String))),
        (status = 304, description = "Unchanged since the `ETag` sent"),
        (status = 404, description = "No such attachment you may see", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range lies outside the file", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No thumbnail or preview for this type (`preview_unavailable`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn content(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    query: ValidQuery<ContentQuery>,
) -> AppResult<HttpResponse> {
    let (id, size) = (id.into_inner(), query.0.size.unwrap_or_default());
    let found = state
        .db_as(caller, move |conn, actor| {
            service::get(conn, &actor, &RECORDS, id)
        })
        .await?;
    let upload = found.upload;
    let media_type = MediaType::from_db(&upload.media_type)?;
    let derived = match size {
        ContentSize::Original => None,
        ContentSize::Thumbnail => Some(Derived::Thumbnail),
        ContentSize::Preview => Some(Derived::Preview),
    };
    match derived {
        None => original(&state, &req, &upload, media_type).await,
        Some(derived) if media_type.has_previews() => smaller(&state, &req, &upload, derived).await,
        Some(derived) => Err(AppError::rule(
            "preview_unavailable",
            "size",
            format!(
                "no {} is made of {} files; download the original",
                derived.as_str(),
                media_type.as_str()
            ),
        )),
    }
}

/// True when `If-None-Match` names `etag` (or is `*`).
fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// The one byte range asked for, as `start..end` (end exclusive); `Ok(None)`
/// when there is none to honour (absent, several, or `If-Range` stale);
/// `Err` when it lies outside the file.
fn wanted_range(req: &HttpRequest, etag: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if let Some(if_range) = req.headers().get(header::IF_RANGE) {
        if if_range.to_str().map(str::trim).ok() != Some(etag) {
            return Ok(None);
        }
    }
    let Some(ranges) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if ranges.contains(',') {
        // several ranges: the whole file is a valid answer (RFC 9110 §14.2)
        return Ok(None);
    }
    let Some((first, last)) = ranges.trim().split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        // a last byte the server could not even count past is refused
        // (416), not clipped
        (Ok(a), Ok(b)) if a <= b => Some((a, b.checked_add(1).ok_or(())?.min(size))),
        (Ok(a), Err(_)) if last.is_empty() => Some((a, size)),
        (Err(_), Ok(n)) if first.is_empty() && n > 0 => Some((size.saturating_sub(n), size)),
        _ => return Ok(None),
    };
    match range {
        Some((a, b)) if a < size && a < b => Ok(Some((a, b))),
        _ => Err(()),
    }
}

/// `inline; filename="…"; filename*=UTF-8''…`: an ASCII name for old
/// clients and the exact one, percent-encoded, for the rest (RFC 6266).
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The headers every file answer carries: its `ETag`, revalidation on
/// each use (access is checked every time), and no type sniffing.
fn file_answer(etag: &str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(StatusCode::OK);
    builder
        .insert_header((header::ETAG, etag.to_string()))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    builder
}

async fn original(
    state: &AppState,
    req: &HttpRequest,
    upload: &Upload,
    media_type: MediaType,
) -> AppResult<HttpResponse> {
    let etag = format!("\"{}\"", upload.sha256);
    let size = u64::try_from(upload.size_bytes).unwrap_or(0);
    let mut builder = file_answer(&etag);
    builder.insert_header((header::ACCEPT_RANGES, "bytes"));
    if not_modified(req, &etag) {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    let range = match wanted_range(req, &etag, size) {
        Ok(r) => r,
        Err(()) => return Err(AppError::RangeNotSatisfiable { size }),
    };
    let key = Storage::original_key(&upload.sha256);
    let got = state
        .storage
        .get(&key, range.map(|(a, b)| a..b))
        .await
        .map_err(storage_failed)?;
    let length = range.map_or(size, |(a, b)| b - a);
    if let Some((a, b)) = range {
        builder
            .status(StatusCode::PARTIAL_CONTENT)
            .insert_header((header::CONTENT_RANGE, format!("bytes {a}-{}/{size}", b - 1)));
    }
    let body = got
        .into_stream()
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()));
    Ok(builder
        .content_type(media_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, disposition(&upload.file_name)))
        .no_chunking(length)
        .streaming(body))
}

/// A thumbnail or preview: from the store when made before, else made now
/// (on the blocking pool) and kept.
async fn smaller(
    state: &AppState,
    req: &HttpRequest,
    upload: &Upload,
    derived: Derived,
) -> AppResult<HttpResponse> {
    let etag = format!("\"{}-{}\"", upload.sha256, derived.as_str());
    let mut builder = file_answer(&etag);
    if not_modified(req, &etag) {
        return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
    }
    let key = Storage::derived_key(&upload.sha256, derived);
    let bytes = match state.storage.get_bytes(&key).await {
        Ok(bytes) => bytes,
        Err(StorageError::NotFound) => {
            let original = state
                .storage
                .get_bytes(&Storage::original_key(&upload.sha256))
                .await
                .map_err(storage_failed)?;
            let made = bytes::Bytes::from(
                state
                    .blocking(move || previews::make(&original, derived))
                    .await?,
            );
            state
                .storage
                .put_bytes(&key, made.clone())
                .await
                .map_err(storage_failed)?;
            made
        }
        Err(e) => return Err(storage_failed(e)),
    };
    let stem = upload
        .file_name
        .rsplit_once('.')
        .map_or(upload.file_name.as_str(), |(stem, _)| stem);
    Ok(builder
        .content_type("image/jpeg")
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition(&format!("{stem}-{}.jpg", derived.as_str())),
        ))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_file_name_is_sent_both_as_ascii_and_percent_encoded() {
        assert_eq!(
            disposition("保修证书 1.pdf"),
            "inline; filename=\"____ 1.pdf\"; filename*=UTF-8''%E4%BF%9D%E4%BF%AE%E8%AF%81%E4%B9%A6%201.pdf"
        );
    }

    #[test]
    fn a_file_name_is_kept_for_display_only_never_as_a_path() {
        assert_eq!(
            display_name(Some("../../etc/passwd"), MediaType::Pdf),
            "passwd"
        );
        assert_eq!(
            display_name(Some("C:\\photos\\墙面.jpg"), MediaType::Jpeg),
            "墙面.jpg"
        );
        assert_eq!(display_name(Some(".."), MediaType::Png), "upload.png");
        assert_eq!(display_name(None, MediaType::Webp), "upload.webp");
    }
}
