//! The records and their workflows, one module (or folder) per kind of
//! record: its declaration on the kit (scope, access, life cycle), its
//! steps and its queries. Every command runs in one transaction that writes
//! the new state and its event together. Services know nothing of HTTP.

pub mod accountability;
pub mod api_keys;
pub mod auth;
pub mod changes;
pub mod complaints;
pub mod corrective_actions;
pub mod customers;
pub mod imports;
pub mod org_units;
pub mod owner_view;
pub mod projects;
pub mod rectification;
pub mod registers;
pub mod repairs;
pub mod reports;
pub mod users;
pub mod visit_plans;
pub mod visits;
pub mod webhooks;

use serde::Deserialize;

use crate::kit::attachments::AttachmentPolicy;
use crate::models::attachment::SubjectType;

// the kit's shared pieces, by the names the services have always used
pub use crate::kit::{
    check_version, concurrent_change, double_option, like_contains, one_written, plausible_date,
    trimmed, IfMatch, Page, Paged,
};

/// The kinds of record attachments hang on, each by its own declaration
/// (its `ATTACHMENTS` policy and its scope rule): what the attachment kit
/// reaches them through.
pub struct Records;

/// The one [`Records`].
pub static RECORDS: Records = Records;

impl crate::kit::attachments::Subjects for Records {
    fn policy(&self, subject: SubjectType) -> &'static AttachmentPolicy {
        match subject {
            SubjectType::Project => &projects::ATTACHMENTS,
            SubjectType::Complaint => &complaints::ATTACHMENTS,
            SubjectType::RectificationPlan => &rectification::ATTACHMENTS,
            SubjectType::Visit => &visits::ATTACHMENTS,
            SubjectType::Repair => &repairs::ATTACHMENTS,
        }
    }

    fn check(
        &self,
        conn: &mut crate::db::DbConn,
        actor: &crate::auth::Actor,
        subject: SubjectType,
        id: i64,
        change: bool,
    ) -> crate::error::AppResult<()> {
        match subject {
            SubjectType::Project if change => projects::get_for_write(conn, actor, id).map(drop),
            SubjectType::Project => projects::get(conn, actor, id).map(drop),
            SubjectType::Complaint => complaints::load(conn, actor, id).map(drop),
            // a plan is the contractor's: customer accounts never see it
            SubjectType::RectificationPlan => rectification::load(conn, actor, id).map(drop),
            SubjectType::Visit => visits::load(conn, actor, id).map(drop),
            SubjectType::Repair => repairs::load(conn, actor, id).map(drop),
        }
    }
}

/// An approver's decision: accept, or send back to be completed (the
/// ledger's review, rectification plans' approval and visit plans alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    Approve,
    Return,
}

/// An approver's verdict and what they said: the ledger's review and a
/// rectification plan's approval.
#[derive(Debug, Deserialize, validator::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "return", "comment": "物业经理电话缺失 property manager's phone is missing"}))]
pub struct Approval {
    pub decision: ApprovalDecision,
    /// Required when returning: what to complete or change.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: Option<String>,
    /// Why the step comes after its due time; required then. Sent in time,
    /// it is kept as a note.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub late_reason: Option<String>,
}

/// A person named in a body (a visitor): 404 naming the field when there
/// is no such user in the branch of the unit at `path` or in the group
/// above it — another branch's people are as unknown to the caller as
/// missing ones, the same as every other id in a body.
pub(crate) fn person_in_reach(
    conn: &mut crate::db::DbConn,
    user_id: i64,
    path: &str,
    field: &str,
) -> crate::error::AppResult<()> {
    use crate::db::schema::{org_units, users};
    use diesel::prelude::*;
    let user_path: Option<Option<String>> = users::table
        .left_join(org_units::table)
        .filter(users::id.eq(user_id))
        .select(org_units::path.nullable())
        .first(conn)
        .optional()?;
    // the branch's path: the group's and the branch's segments
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let branch = format!("/{}/", segments[..segments.len().min(2)].join("/"));
    let reachable = user_path
        .flatten()
        .is_some_and(|p| p.starts_with(&branch) || branch.starts_with(&p));
    if reachable {
        Ok(())
    } else {
        Err(crate::error::AppError::missing_reference(
            field,
            format!("user {user_id} not found"),
        ))
    }
}
