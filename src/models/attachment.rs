use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::text_enum;
use crate::db::schema::{attachments, stored_files, uploads};

text_enum! {
    /// What an attachment belongs to. Each workflow that takes photos or
    /// documents adds its subject here and one arm in the attachment
    /// service's subject check; the storage is shared.
    SubjectType {
        /// The completed-projects ledger: warranty certificate, handover documents.
        Project => "project",
        /// A complaint: the owner's photos, the scanned reply letter, the work done.
        Complaint => "complaint",
        /// A rectification plan: drawings, schedules, progress photos.
        RectificationPlan => "rectification_plan",
        /// A return visit: site photos, the signed record.
        Visit => "visit",
        /// A warranty repair: the owner's photos, before and after, the design unit's scheme, signed forms.
        Repair => "repair",
    }
}

text_enum! {
    /// The kinds of file accepted, by their content.
    MediaType {
        Jpeg => "image/jpeg",
        Png => "image/png",
        Webp => "image/webp",
        /// HEIC/HEIF from phones: stored and served; no thumbnail or preview is made.
        Heic => "image/heic",
        Pdf => "application/pdf",
    }
}

impl MediaType {
    /// The type of a file from its first bytes (at least the first 64).
    /// `Err` names what the bytes look like, or `unknown`.
    pub fn detect(head: &[u8]) -> Result<MediaType, String> {
        match infer::get(head).map(|t| t.mime_type()) {
            Some("image/jpeg") => Ok(MediaType::Jpeg),
            Some("image/png") => Ok(MediaType::Png),
            Some("image/webp") => Ok(MediaType::Webp),
            // infer names the HEVC-coded HEIF brands (heic, heix, mif1 with heic) so
            Some("image/heif") => Ok(MediaType::Heic),
            Some("application/pdf") => Ok(MediaType::Pdf),
            Some(other) => Err(other.to_string()),
            None => Err("unknown".to_string()),
        }
    }

    /// Thumbnails and previews are made of these.
    pub fn has_previews(self) -> bool {
        matches!(self, MediaType::Jpeg | MediaType::Png | MediaType::Webp)
    }

    /// The usual file extension, for a file sent without a name.
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpg",
            MediaType::Png => "png",
            MediaType::Webp => "webp",
            MediaType::Heic => "heic",
            MediaType::Pdf => "pdf",
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = stored_files)]
pub struct NewStoredFile<'a> {
    pub sha256: &'a str,
    pub size_bytes: i64,
    pub media_type: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = uploads)]
pub struct Upload {
    pub id: i64,
    pub uploaded_by: i64,
    pub sha256: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub attached_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = uploads)]
pub struct NewUpload<'a> {
    pub uploaded_by: i64,
    pub sha256: &'a str,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub size_bytes: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub subject_type: String,
    pub subject_id: i64,
    pub upload_id: i64,
    pub caption: Option<String>,
    pub taken_at: Option<NaiveDateTime>,
    pub internal: bool,
    pub attached_by: i64,
    pub hidden_at: Option<NaiveDateTime>,
    pub hidden_by: Option<i64>,
    pub hidden_reason: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment<'a> {
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub upload_id: i64,
    pub caption: Option<&'a str>,
    pub taken_at: Option<NaiveDateTime>,
    pub internal: bool,
    pub attached_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
