//! What management records about how customers were served: corrective
//! actions for projects not brought to the owner's satisfaction (纠正措施,
//! 000 §1.4) and accountability for complaints handled wrongly (责任追究,
//! 004 §5.8, appendices E and H).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::text_enum;
use crate::db::schema::{accountability_records, corrective_actions};

text_enum! {
    /// Where a corrective action stands.
    CorrectiveStatus {
        /// recorded; the measures are being carried out by their date
        Open => "open",
        /// carried out; the branch engineering department verifies it
        Done => "done",
        /// verified effective: final
        Verified => "verified",
    }
}

text_enum! {
    /// A step of a corrective action.
    CorrectiveAction {
        /// the responsible department reports the measures carried out
        Complete => "complete",
        /// the branch engineering department finds them effective
        Verify => "verify",
        /// the branch engineering department sends them back, saying why
        Return => "return",
    }
}

text_enum! {
    /// Where an accountability record stands. It is never deleted.
    AccountabilityStatus {
        /// in force
        Recorded => "recorded",
        /// withdrawn with a reason (recorded in error, overturned on appeal); kept
        Withdrawn => "withdrawn",
    }
}

text_enum! {
    /// A step of an accountability record.
    AccountabilityAction {
        /// withdrawn, with the reason
        Withdraw => "withdraw",
    }
}

text_enum! {
    /// Why someone is held accountable (004 §5.8).
    AccountabilityBasis {
        /// a complaint about the construction schedule found true (judged ours)
        ScheduleComplaint => "schedule_complaint",
        /// a warranty complaint handled so that the owner complained again
        RepeatWarrantyComplaint => "repeat_warranty_complaint",
    }
}

text_enum! {
    /// The measure taken (004 appendix H).
    AccountabilityMeasure {
        /// a criticism (通报批评)
        Criticism => "criticism",
        /// a fine, with its amount
        Fine => "fine",
        /// another measure, described
        Other => "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = corrective_actions)]
pub struct CorrectiveRecord {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub scope_path: String,
    pub complaint_id: Option<i64>,
    pub year: i32,
    pub status: String,
    pub cause_analysis: String,
    pub measures: String,
    pub responsible: String,
    pub due_on: NaiveDate,
    pub result: Option<String>,
    pub done_at: Option<NaiveDateTime>,
    pub done_by: Option<i64>,
    pub verified_at: Option<NaiveDateTime>,
    pub verified_by: Option<i64>,
    pub verification_note: Option<String>,
    pub return_reason: Option<String>,
    pub returns: i32,
    pub created_by: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = accountability_records)]
pub struct AccountabilityRecord {
    pub id: i64,
    pub complaint_id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub scope_path: String,
    pub sent_to_group: bool,
    pub status: String,
    pub basis: String,
    pub person: String,
    pub person_user_id: Option<i64>,
    pub measure: String,
    pub fine_fen: Option<i64>,
    pub measure_detail: Option<String>,
    pub reason: String,
    pub recorded_by: i64,
    pub withdrawn_reason: Option<String>,
    pub withdrawn_decided_by: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub withdrawn_by: Option<i64>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
