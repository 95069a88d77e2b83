//! Photos and documents, for every workflow. A phone uploads each file
//! first (`record_upload`, once its bytes are in the store) and then names
//! the uploads in the business step it submits; the step calls [`attach`]
//! in its own transaction. An attachment is seen exactly when its subject
//! is; hiding one keeps the record and the bytes for the audit trail.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::{attachments, file_removals, stored_files, uploads};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::attachment::{
    Attachment, MediaType, NewAttachment, NewStoredFile, NewUpload, SubjectType, Upload,
};
use crate::models::event::EventType;
use crate::models::user::Role;

use super::{check_version, concurrent_change, events, IfMatch, Page, Paged};

/// A file that has arrived whole: what its bytes are, as measured.
#[derive(Debug, Clone)]
pub struct Received {
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: MediaType,
    /// As the client named it, cleaned for display; never used as a path.
    pub file_name: String,
}

/// An attachment with the file it shows.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    pub attachment: Attachment,
    pub upload: Upload,
}

/// What to attach: one upload, with what the person said of it.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"upload_id": 17, "caption": "crack in the stair wall, 3rd floor", "taken_at": "2026-03-01T08:00:00Z"}))]
pub struct AttachInput {
    /// The `id` answered by `POST /api/v1/uploads`: one of your own uploads,
    /// not attached yet, within 24 hours of uploading.
    pub upload_id: i64,
    #[validate(length(max = 500, message = "at most 500 characters"))]
    #[schema(max_length = 500)]
    pub caption: Option<String>,
    /// When the photo was taken, if known (not in the future; a phone's
    /// clock may be up to 5 minutes ahead).
    pub taken_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Staff only: hidden from customer accounts (e.g. a photo for a
    /// liability judgment). Default false.
    #[serde(default)]
    pub internal: bool,
}

/// Uploads named by id in a step's body, attached as they are (no
/// caption, not internal).
pub fn documents(ids: &[i64]) -> Vec<AttachInput> {
    ids.iter()
        .map(|&upload_id| AttachInput {
            upload_id,
            caption: None,
            taken_at: None,
            internal: false,
        })
        .collect()
}

/// Changes to an attachment's caption or who may see it.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"internal": false}))]
pub struct AttachmentPatch {
    /// New caption; `null` removes it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    #[validate(length(max = 500, message = "at most 500 characters"))]
    pub caption: Option<Option<String>>,
    /// Staff only.
    pub internal: Option<bool>,
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("attachment {id} not found"))
}

/// How far ahead of the server a phone's clock may be for `taken_at`.
pub(crate) const CLOCK_SKEW_MINUTES: i64 = 5;

/// What a caller wants to do with a subject's attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// see them (and the subject): 404 otherwise
    See,
    /// add one: 403 when seen but not theirs to add to
    Add,
    /// change or hide anyone's, or un-mark an internal one: those who may
    /// change the record itself
    Steward,
}

/// Who does what with the attachments of a kind of record, declared by
/// the record kind itself beside its life cycle. Seeing follows the record
/// (its own scope rules, 404 outside them). Adding: staff who see it; a
/// customer only where `customer_adds` (their own complaint: the photos of
/// what they complain about). Changing, hiding and un-marking `internal`:
/// the record's stewards — whoever may change the record itself — and, for
/// their own attachment only, whoever attached it (a customer can never
/// change what the company attached).
#[derive(Debug)]
pub struct AttachmentPolicy {
    /// Roles (in scope) that may change the record itself.
    pub stewards: &'static [Role],
    /// The project department (`auth::DEPARTMENT`) is a steward too.
    pub department_stewards: bool,
    /// The record's own write rule decides both adding and stewarding
    /// (a project: its ledger's writers), through [`Subjects::check`].
    pub writers_steward: bool,
    /// Customer accounts may add to their own record of this kind.
    pub customer_adds: bool,
}

/// The engineering departments and admins, the usual stewards.
pub const ENGINEERING: &[Role] = &[Role::Admin, Role::GroupEngineer, Role::BranchEngineer];

/// The records attachments hang on, as the kit reaches them without
/// knowing any workflow: each kind's declared policy, and the record as the
/// caller may see it. Implemented once above the kit, over the record
/// kinds' own declarations.
pub trait Subjects: Sync {
    /// The policy the kind of record declares.
    fn policy(&self, subject: SubjectType) -> &'static AttachmentPolicy;
    /// Record `id` is the caller's to see (404 otherwise); with `change`,
    /// theirs to change by the record's own write rule (403).
    fn check(
        &self,
        conn: &mut DbConn,
        actor: &Actor,
        subject: SubjectType,
        id: i64,
        change: bool,
    ) -> AppResult<()>;
}

/// The subject, checked for what the caller wants: visible (404 otherwise),
/// and for `Add` and `Steward` theirs to add to or to change (403).
fn check_subject(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    subject: SubjectType,
    id: i64,
    need: Need,
) -> AppResult<()> {
    let policy = subjects.policy(subject);
    if policy.writers_steward && need != Need::See {
        return subjects.check(conn, actor, subject, id, true);
    }
    subjects.check(conn, actor, subject, id, false)?;
    let allowed = match need {
        Need::See => true,
        Need::Add if actor.role == Role::Customer => policy.customer_adds,
        Need::Add => true,
        Need::Steward => {
            policy.stewards.contains(&actor.role)
                || (policy.department_stewards && actor.acts_as(crate::auth::DEPARTMENT))
        }
    };
    if allowed {
        Ok(())
    } else if need == Need::Add {
        Err(AppError::Forbidden(format!(
            "customer accounts cannot add files to a {subject}"
        )))
    } else {
        let mut stewards: Vec<&str> = policy.stewards.iter().map(|r| r.as_str()).collect();
        if policy.department_stewards {
            stewards.push("the project department");
        }
        Err(AppError::Forbidden(format!(
            "only whoever attached it, or {} of this {subject}, may change it",
            stewards.join(" or ")
        )))
    }
}

/// Every shown attachment of a subject the caller may see (a subject
/// keeps at most `AFTERCARE_MAX_ATTACHMENTS` shown, so one read holds all).
pub fn all_shown(
    conn: &mut DbConn,
    actor: &Actor,
    subject: (SubjectType, i64),
) -> AppResult<Vec<AttachmentFile>> {
    let page = Page {
        limit: 1000,
        after_id: None,
    };
    // the caller has read the record itself: its scope is checked
    Ok(shown(conn, actor, subject, false, page)?.items)
}

/// Records an upload whose bytes are in the store. The file's row is
/// written first: it is what the sweeper removes, with the bytes, only
/// while no upload names it.
pub fn record_upload(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    file: &Received,
) -> AppResult<Upload> {
    // the sweeper may remove the file's row between our check and our
    // insert (PostgreSQL: a foreign-key error); once more then finds it gone
    for attempt in 0..2 {
        let result = write_tx(conn, |conn| {
            check_quota(conn, actor, config, now, file.size_bytes)?;
            if removal_in_progress(conn, &file.sha256, now)? {
                return Err(AppError::conflict(
                    FILE_BEING_REMOVED,
                    "a sweep is removing this file's bytes from the store; send it again",
                ));
            }
            let known: i64 = stored_files::table
                .filter(stored_files::sha256.eq(&file.sha256))
                .count()
                .get_result(conn)?;
            if known == 0 {
                let inserted = conn.transaction::<_, DieselError, _>(|conn| {
                    diesel::insert_into(stored_files::table)
                        .values(NewStoredFile {
                            sha256: &file.sha256,
                            size_bytes: file.size_bytes,
                            media_type: file.media_type.as_str(),
                            created_at: now,
                        })
                        .execute(conn)
                });
                match inserted {
                    // the same file arrived from someone else at this moment
                    Ok(_)
                    | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let id: i64 = diesel::insert_into(uploads::table)
                .values(NewUpload {
                    uploaded_by: actor.id,
                    sha256: &file.sha256,
                    file_name: &file.file_name,
                    media_type: file.media_type.as_str(),
                    size_bytes: file.size_bytes,
                    created_at: now,
                    expires_at: now + Duration::hours(config.upload_ttl_hours),
                })
                .returning(uploads::id)
                .get_result(conn)?;
            Ok(uploads::table
                .find(id)
                .select(Upload::as_select())
                .first(conn)?)
        });
        match result {
            Err(AppError::Rule {
                code: "invalid_reference",
                ..
            }) if attempt == 0 => continue,
            Ok(upload) => {
                crate::metrics::uploaded(file.size_bytes);
                return Ok(upload);
            }
            other => return other,
        }
    }
    Err(AppError::internal("the uploaded file's row vanished twice"))
}

/// A user holds at most `AFTERCARE_UPLOAD_QUOTA_BYTES` of uploads not yet
/// attached (and not yet expired): 429 `upload_quota_exceeded` beyond,
/// until one is attached or the oldest expires. Checked before the bytes
/// go to the store and again in the transaction that records them.
pub fn check_quota(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    adding: i64,
) -> AppResult<()> {
    let waiting: Vec<(i64, NaiveDateTime)> = uploads::table
        .filter(uploads::uploaded_by.eq(actor.id))
        .filter(uploads::attached_at.is_null())
        .filter(uploads::expires_at.gt(now))
        .order(uploads::expires_at.asc())
        .select((uploads::size_bytes, uploads::expires_at))
        .load(conn)?;
    let held: i64 = waiting.iter().map(|(size, _)| size).sum();
    let quota = i64::try_from(config.upload_quota_bytes).unwrap_or(i64::MAX);
    if held.saturating_add(adding) <= quota {
        return Ok(());
    }
    let retry = waiting
        .first()
        .map_or(60, |(_, expires)| (*expires - now).num_seconds().max(1));
    Err(AppError::Limited {
        code: "upload_quota_exceeded",
        detail: format!(
            "you hold {held} bytes of uploads not yet attached; with this file that passes your {quota} bytes: attach them, or wait until the oldest expires"
        ),
        retry_after_secs: u64::try_from(retry).unwrap_or(60),
    })
}

/// One of the caller's uploads (an administrator may read any); 404 otherwise.
pub fn get_upload(conn: &mut DbConn, actor: &Actor, id: i64) -> AppResult<Upload> {
    let upload: Option<Upload> = uploads::table
        .find(id)
        .select(Upload::as_select())
        .first(conn)
        .optional()?;
    match upload {
        Some(u) if u.uploaded_by == actor.id || actor.role == Role::Admin => Ok(u),
        _ => Err(AppError::NotFound(format!("upload {id} not found"))),
    }
}

/// Attaches uploads to a subject, inside the caller's transaction: a step
/// that names `attachment_ids` calls this after its own checks, so the
/// step and its photos are stored together or not at all. `field` names
/// the request field in errors (`attachment_ids`).
///
/// The caller has already checked that the subject is theirs to change.
pub fn attach(
    conn: &mut DbConn,
    actor: &Actor,
    config: &Config,
    now: NaiveDateTime,
    (subject, subject_id): (SubjectType, i64),
    items: &[AttachInput],
    field: &str,
) -> AppResult<Vec<AttachmentFile>> {
    if items.is_empty() {
        return Ok(vec![]);
    }
    // the field an upload is named by: `upload_id` when attaching one after
    // the fact, `attachment_ids[i]` in a step
    let named = |i: usize| {
        if field == "upload_id" {
            field.to_string()
        } else {
            format!("{field}[{i}]")
        }
    };
    let mut errors = vec![];
    for (i, item) in items.iter().enumerate() {
        if item.internal && actor.role == Role::Customer {
            return Err(AppError::Forbidden(
                "customer accounts cannot mark attachments internal".to_string(),
            ));
        }
        if items[..i].iter().any(|o| o.upload_id == item.upload_id) {
            errors.push(crate::error::FieldError::new(named(i), "named twice"));
        }
        // a phone's clock may run a little ahead of ours
        if item
            .taken_at
            .is_some_and(|t| t.naive_utc() > now + Duration::minutes(CLOCK_SKEW_MINUTES))
        {
            errors.push(crate::error::FieldError::new(
                "taken_at",
                "must not be in the future",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let shown: i64 = attachments::table
        .filter(attachments::subject_type.eq(subject.as_str()))
        .filter(attachments::subject_id.eq(subject_id))
        .filter(attachments::hidden_at.is_null())
        .count()
        .get_result(conn)?;
    let room = config.max_attachments - shown;
    if items.len() as i64 > room {
        return Err(AppError::rule(
            "too_many_attachments",
            field,
            format!(
                "a {subject} keeps at most {} attachments; it has {shown}, so {} more at most",
                config.max_attachments,
                room.max(0)
            ),
        ));
    }
    let mut out = vec![];
    for (i, item) in items.iter().enumerate() {
        let upload = usable_upload(conn, actor, now, item.upload_id, &named(i))?;
        // claim the upload: the guard makes a second claim of it fail
        let claimed = diesel::update(
            uploads::table
                .filter(uploads::id.eq(upload.id))
                .filter(uploads::attached_at.is_null()),
        )
        .set(uploads::attached_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            return Err(concurrent_change());
        }
        let id: i64 = diesel::insert_into(attachments::table)
            .values(NewAttachment {
                subject_type: subject.as_str(),
                subject_id,
                upload_id: upload.id,
                caption: item
                    .caption
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty()),
                taken_at: item.taken_at.map(|t| t.naive_utc()),
                internal: item.internal,
                attached_by: actor.id,
                created_at: now,
                updated_at: now,
            })
            .returning(attachments::id)
            .get_result(conn)?;
        let attachment = load(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::AttachmentAdded,
            (subject.as_str(), subject_id),
            None,
            Some(audit(&attachment)),
        )?;
        out.push(attachment);
    }
    Ok(out)
}

/// The caller's own upload, not attached and not expired: 422 otherwise,
/// the same for someone else's as for none (uploads are nobody else's business).
fn usable_upload(
    conn: &mut DbConn,
    actor: &Actor,
    now: NaiveDateTime,
    id: i64,
    field: &str,
) -> AppResult<Upload> {
    let upload: Option<Upload> = uploads::table
        .find(id)
        .select(Upload::as_select())
        .first(conn)
        .optional()?;
    let problem = match upload {
        Some(u) if u.uploaded_by == actor.id => {
            if u.attached_at.is_some() {
                format!(
                    "upload {id} is attached already; upload the file again to attach it elsewhere"
                )
            } else if u.expires_at <= now {
                format!("upload {id} has expired; upload the file again")
            } else {
                return Ok(u);
            }
        }
        _ => format!("no upload {id} of yours: attach only what you uploaded yourself"),
    };
    Err(AppError::rule("upload_unavailable", field, problem))
}

/// Adds one attachment to a subject after the fact.
pub fn add(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    config: &Config,
    now: NaiveDateTime,
    subject: (SubjectType, i64),
    input: &AttachInput,
) -> AppResult<AttachmentFile> {
    write_tx(conn, |conn| {
        check_subject(conn, actor, subjects, subject.0, subject.1, Need::Add)?;
        let mut added = attach(
            conn,
            actor,
            config,
            now,
            subject,
            std::slice::from_ref(input),
            "upload_id",
        )?;
        added
            .pop()
            .ok_or_else(|| AppError::internal("an attachment was not added"))
    })
}

fn load(conn: &mut DbConn, id: i64) -> AppResult<AttachmentFile> {
    let (attachment, upload) = attachments::table
        .inner_join(uploads::table)
        .filter(attachments::id.eq(id))
        .select((Attachment::as_select(), Upload::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| not_found(id))?;
    Ok(AttachmentFile { attachment, upload })
}

/// An attachment the caller may see: its subject is visible to them; a
/// customer account never sees an internal one; only an administrator sees
/// a hidden one. 404 otherwise.
pub fn get(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    id: i64,
) -> AppResult<AttachmentFile> {
    let found = load(conn, id)?;
    let a = &found.attachment;
    if (a.internal && actor.role == Role::Customer)
        || (a.hidden_at.is_some() && actor.role != Role::Admin)
    {
        return Err(not_found(id));
    }
    let subject = SubjectType::from_db(&a.subject_type)?;
    check_subject(conn, actor, subjects, subject, a.subject_id, Need::See).map_err(
        |e| match e {
            AppError::NotFound(_) => not_found(id),
            other => other,
        },
    )?;
    Ok(found)
}

/// A subject's attachments, oldest first. `include_hidden` is for
/// administrators (403 for others).
pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    (subject, subject_id): (SubjectType, i64),
    include_hidden: bool,
    page: Page,
) -> AppResult<Paged<AttachmentFile>> {
    if include_hidden {
        actor.require_admin()?;
    }
    check_subject(conn, actor, subjects, subject, subject_id, Need::See)?;
    shown(conn, actor, (subject, subject_id), include_hidden, page)
}

/// A page of a subject's attachments the caller reads, the subject
/// already checked.
fn shown(
    conn: &mut DbConn,
    actor: &Actor,
    (subject, subject_id): (SubjectType, i64),
    include_hidden: bool,
    page: Page,
) -> AppResult<Paged<AttachmentFile>> {
    let mut query = attachments::table
        .inner_join(uploads::table)
        .filter(attachments::subject_type.eq(subject.as_str()))
        .filter(attachments::subject_id.eq(subject_id))
        .into_boxed();
    if !include_hidden {
        query = query.filter(attachments::hidden_at.is_null());
    }
    if actor.role == Role::Customer {
        query = query.filter(attachments::internal.eq(false));
    }
    if let Some(after) = page.after_id {
        query = query.filter(attachments::id.gt(after));
    }
    let rows: Vec<(Attachment, Upload)> = query
        .order(attachments::id)
        .limit(page.limit + 1)
        .select((Attachment::as_select(), Upload::as_select()))
        .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(attachment, upload)| AttachmentFile { attachment, upload })
        .collect();
    Ok(Paged::from_rows(rows, page, |f| f.attachment.id))
}

/// The attachment, if the caller may change it: its subject is theirs to
/// change, or they attached it themselves. Answers whether they are the
/// subject's steward (only a steward may un-mark `internal`).
fn get_for_write(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    id: i64,
) -> AppResult<(AttachmentFile, bool)> {
    let found = get(conn, actor, subjects, id)?;
    let a = &found.attachment;
    let subject = SubjectType::from_db(&a.subject_type)?;
    let steward = check_subject(conn, actor, subjects, subject, a.subject_id, Need::Steward);
    match steward {
        Ok(()) => Ok((found, true)),
        Err(AppError::Forbidden(_)) if a.attached_by == actor.id => Ok((found, false)),
        Err(e) => Err(e),
    }
}

/// Changes the caption or the `internal` mark.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    now: NaiveDateTime,
    id: i64,
    expected_version: Option<IfMatch>,
    patch: &AttachmentPatch,
) -> AppResult<AttachmentFile> {
    write_tx(conn, |conn| {
        let (before, steward) = get_for_write(conn, actor, subjects, id)?;
        if patch.internal.is_some() {
            actor.require_staff_side()?;
        }
        let a = &before.attachment;
        // what the company keeps from the owner is shown to them only by
        // someone who may change the record itself
        if a.internal && patch.internal == Some(false) && !steward {
            return Err(AppError::Forbidden(
                "only those who may change the record may show an internal attachment to the customer".to_string(),
            ));
        }
        let caption = match &patch.caption {
            Some(c) => c
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            None => a.caption.clone(),
        };
        let internal = patch.internal.unwrap_or(a.internal);
        check_version(expected_version, a.version)?;
        update_version!(
            conn,
            attachments,
            (id, a.version),
            now,
            (
                attachments::caption.eq(&caption),
                attachments::internal.eq(internal),
            )
        );
        let after = load(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::AttachmentChanged,
            (a.subject_type.as_str(), a.subject_id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(after)
    })
}

/// Hides an attachment from lists. The record and the bytes stay (the
/// audit trail and administrators still see it). Hiding a hidden one again
/// changes nothing.
pub fn hide(
    conn: &mut DbConn,
    actor: &Actor,
    subjects: &dyn Subjects,
    now: NaiveDateTime,
    id: i64,
    reason: Option<&str>,
) -> AppResult<()> {
    write_tx(conn, |conn| {
        let (before, _) = get_for_write(conn, actor, subjects, id)?;
        let a = &before.attachment;
        if a.hidden_at.is_some() {
            return Ok(());
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        diesel::update(attachments::table.filter(attachments::id.eq(id)))
            .set((
                attachments::hidden_at.eq(now),
                attachments::hidden_by.eq(actor.id),
                attachments::hidden_reason.eq(reason),
                attachments::version.eq(a.version + 1),
                attachments::updated_at.eq(now),
            ))
            .execute(conn)?;
        let after = load(conn, id)?;
        events::record_change(
            conn,
            now,
            actor,
            EventType::AttachmentHidden,
            (a.subject_type.as_str(), a.subject_id),
            Some(audit(&before)),
            Some(audit(&after)),
        )?;
        Ok(())
    })
}

/// Whether a step of a record's timeline may be shown to the caller: a
/// customer never sees the steps of an internal attachment (added, changed
/// or hidden), just as they never see the attachment.
pub fn event_shown_to(actor: &Actor, event: &crate::models::event::Event) -> bool {
    if actor.role != Role::Customer || !event.action.starts_with("attachment.") {
        return true;
    }
    let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
    // an attachment un-marked later shows from then on, never the steps
    // it took while internal
    !payload["after"]["internal"].as_bool().unwrap_or(false)
}

fn audit(file: &AttachmentFile) -> serde_json::Value {
    let a = &file.attachment;
    serde_json::json!({
        "id": a.id,
        "upload_id": a.upload_id,
        "file_name": file.upload.file_name,
        "sha256": file.upload.sha256,
        "media_type": file.upload.media_type,
        "caption": a.caption,
        "internal": a.internal,
        "hidden_at": a.hidden_at,
        "hidden_reason": a.hidden_reason,
        "version": a.version,
    })
}

/// Unattached uploads past their time, to remove: (upload id, file hash).
pub fn expired_uploads(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i64,
) -> AppResult<Vec<(i64, String)>> {
    Ok(uploads::table
        .filter(uploads::attached_at.is_null())
        .filter(uploads::expires_at.le(now))
        .order(uploads::expires_at)
        .limit(batch)
        .select((uploads::id, uploads::sha256))
        .load(conn)?)
}

/// Removes one expired upload. `None` when it is no longer there to remove
/// (attached or removed meanwhile); else whether its file is now named by
/// no upload (its bytes may go).
pub fn remove_upload(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> AppResult<Option<bool>> {
    write_tx(conn, |conn| {
        let sha: Option<String> = uploads::table
            .filter(uploads::id.eq(id))
            .filter(uploads::attached_at.is_null())
            .filter(uploads::expires_at.le(now))
            .select(uploads::sha256)
            .first(conn)
            .optional()?;
        let Some(sha) = sha else {
            return Ok(None);
        };
        // guarded: an attach that claimed it first keeps it
        let removed = diesel::delete(
            uploads::table
                .filter(uploads::id.eq(id))
                .filter(uploads::attached_at.is_null()),
        )
        .execute(conn)?;
        if removed == 0 {
            return Ok(None);
        }
        let others: i64 = uploads::table
            .filter(uploads::sha256.eq(&sha))
            .count()
            .get_result(conn)?;
        Ok(Some(others == 0))
    })
}

/// The code of an upload that met a sweep removing the same bytes: the
/// handler waits a moment and tries again.
pub const FILE_BEING_REMOVED: &str = "file_being_removed";

/// How long a sweeper holds a file it is removing: far beyond what the
/// store's delete takes; past it, the removal is taken as abandoned.
pub const REMOVAL_LEASE_MINUTES: i64 = 10;

/// The first step of removing a file's bytes, decided and committed in the
/// database before the store is touched: when no upload names the file,
/// its row goes and a removal is claimed until the lease ends. Answers the
/// claim (`None`: the file stays, or another sweeper removes it).
pub fn claim_removal(
    conn: &mut DbConn,
    sha256: &str,
    now: NaiveDateTime,
) -> AppResult<Option<NaiveDateTime>> {
    let until = now + Duration::minutes(REMOVAL_LEASE_MINUTES);
    write_tx(conn, |conn| {
        let named: i64 = uploads::table
            .filter(uploads::sha256.eq(sha256))
            .count()
            .get_result(conn)?;
        if named > 0 {
            return Ok(None);
        }
        let removed = diesel::delete(stored_files::table.filter(stored_files::sha256.eq(sha256)))
            .execute(conn)?;
        if removed == 0 {
            return Ok(None);
        }
        diesel::insert_into(file_removals::table)
            .values((
                file_removals::sha256.eq(sha256),
                file_removals::claimed_until.eq(until),
            ))
            .execute(conn)?;
        Ok(Some(until))
    })
}

/// Removals whose sweeper stopped before the end (their lease ran out),
/// claimed again by this sweep: (file, new lease end).
pub fn reclaim_abandoned_removals(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i64,
) -> AppResult<Vec<(String, NaiveDateTime)>> {
    let until = now + Duration::minutes(REMOVAL_LEASE_MINUTES);
    let stale: Vec<(String, NaiveDateTime)> = file_removals::table
        .filter(file_removals::claimed_until.le(now))
        .order(file_removals::claimed_until)
        .limit(batch)
        .select((file_removals::sha256, file_removals::claimed_until))
        .load(conn)?;
    let mut claimed = vec![];
    for (sha, was) in stale {
        // guarded by the old lease: one claimant wins
        let won = diesel::update(
            file_removals::table
                .filter(file_removals::sha256.eq(&sha))
                .filter(file_removals::claimed_until.eq(was)),
        )
        .set(file_removals::claimed_until.eq(until))
        .execute(conn)?;
        if won == 1 {
            claimed.push((sha, until));
        }
    }
    Ok(claimed)
}

/// The last step: the bytes are gone; the removal is over (if still ours).
pub fn finish_removal(
    conn: &mut DbConn,
    sha256: &str,
    claimed_until: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(
        file_removals::table
            .filter(file_removals::sha256.eq(sha256))
            .filter(file_removals::claimed_until.eq(claimed_until)),
    )
    .execute(conn)?;
    Ok(())
}

/// Whether an upload of `sha256` must wait: a sweeper holds a live lease on
/// removing its bytes. An abandoned removal is taken over (its row
/// removed): the upload then puts the bytes back and keeps them.
fn removal_in_progress(conn: &mut DbConn, sha256: &str, now: NaiveDateTime) -> AppResult<bool> {
    let lease: Option<NaiveDateTime> = file_removals::table
        .find(sha256)
        .select(file_removals::claimed_until)
        .first(conn)
        .optional()?;
    match lease {
        None => Ok(false),
        Some(until) if until > now => Ok(true),
        Some(until) => {
            diesel::delete(
                file_removals::table
                    .filter(file_removals::sha256.eq(sha256))
                    .filter(file_removals::claimed_until.eq(until)),
            )
            .execute(conn)?;
            Ok(false)
        }
    }
}
