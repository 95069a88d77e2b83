//! Warranty repairs (保修维修, 002; 003 §3.2–3.3 and its repair record
//! 表3.3.2; who pays by 000 §2).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::text_enum;
use crate::db::schema::{repair_cost_lines, repair_steps, repairs};

text_enum! {
    /// Where a repair stands.
    RepairStatus {
        /// reported; someone must be on site in 24 hours (8 for an emergency)
        /// and the defect confirmed in 2 days
        Reported => "reported",
        /// someone is on site; the defect is to be confirmed
        Arrived => "arrived",
        /// billable: the owner agrees to the quote first (002)
        AwaitingAgreement => "awaiting_agreement",
        /// the branch engineering department issues the repair order
        AwaitingDispatch => "awaiting_dispatch",
        /// the repair unit is at work
        InProgress => "in_progress",
        /// work waits (for the owner, their materials, the weather); the clock stops
        OnHold => "on_hold",
        /// done; the quality side inspects
        AwaitingInspection => "awaiting_inspection",
        /// passed; the owner accepts and signs
        AwaitingAcceptance => "awaiting_acceptance",
        /// signed off; a follow-up visit comes 1 week to 1 month later
        Accepted => "accepted",
        /// followed up: done
        Closed => "closed",
        /// not a defect, explained to the owner
        ClosedNotADefect => "closed_not_a_defect",
        /// billable and the owner declined the quote
        ClosedDeclined => "closed_declined",
    }
}

text_enum! {
    /// A step of a repair.
    RepairAction {
        /// someone from the contractor is on site
        Arrive => "arrive",
        /// confirmed not a defect, explained to the owner
        ConfirmNotADefect => "confirm_not_a_defect",
        /// confirmed a defect the company, a subcontractor or no one bills nobody for
        ConfirmFree => "confirm_free",
        /// confirmed a defect the owner pays for: the quote goes to them
        ConfirmBillable => "confirm_billable",
        /// the owner accepts the quote
        Agree => "agree",
        /// the owner declines the quote
        Decline => "decline",
        /// the repair order is issued (签发) to the lead and the crew
        Dispatch => "dispatch",
        /// work waits
        Hold => "hold",
        /// work goes on
        Resume => "resume",
        /// the lead reports the work done
        Complete => "complete",
        /// the quality side passes the work
        Pass => "pass",
        /// the quality side fails the work: another round
        Fail => "fail",
        /// the owner accepts and signs
        Accept => "accept",
        /// the owner rejects the work: another round
        Reject => "reject",
        /// the follow-up visit was made
        FollowUp => "follow_up",
        /// the owner complained of the repaired defect again: rework in 24 hours
        Reopen => "reopen",
    }
}

text_enum! {
    /// How the repair came to the contractor.
    RepairSource {
        /// the owner called or came in (staff record it)
        OwnerReport => "owner_report",
        /// the owner's own account in the app
        App => "app",
        /// an issue found on a return visit, ours and under warranty
        VisitIssue => "visit_issue",
        /// a complaint judged ours and minor
        Complaint => "complaint",
        /// the contractor's own inspection
        Inspection => "inspection",
    }
}

text_enum! {
    /// How fast someone must be there (002).
    RepairSeverity {
        /// leaks, power or water out, danger: on site within 8 hours
        Emergency => "emergency",
        /// on site within 24 hours
        Normal => "normal",
    }
}

text_enum! {
    /// What the confirmation found.
    RepairOutcome {
        NotADefect => "not_a_defect",
        Defect => "defect",
    }
}

text_enum! {
    /// Who is liable for the defect (000 §2).
    RepairLiability {
        /// the general contractor's own work
        GeneralContractor => "general_contractor",
        /// a subcontractor named on the project's ledger
        Subcontractor => "subcontractor",
        /// several parties, by shares summing to 100
        Shared => "shared",
        /// materials the company supplied
        CompanyMaterials => "company_materials",
        /// materials the owner supplied
        OwnerMaterials => "owner_materials",
        /// the design
        Designer => "designer",
        /// the owner's misuse
        Misuse => "misuse",
        /// force majeure
        ForceMajeure => "force_majeure",
    }
}

text_enum! {
    /// Who pays for a repair, or for one cost line of it.
    RepairPayer {
        /// the company, out of its warranty reserve
        Company => "company",
        /// the named subcontractor, out of its retained warranty money
        Subcontractor => "subcontractor",
        /// several parties by shares (a repair's payer only)
        Shared => "shared",
        /// the owner: billable
        Owner => "owner",
        /// no one is liable (force majeure): billable if the owner wants it done
        #[allow(clippy::enum_variant_names)]
        NoOne => "none",
    }
}

text_enum! {
    /// One party of a shared liability.
    SharedParty {
        GeneralContractor => "general_contractor",
        Subcontractor => "subcontractor",
        Owner => "owner",
        Designer => "designer",
    }
}

text_enum! {
    /// How big the work is (002).
    RepairScale {
        /// done within 24 hours of the repair order
        Small => "small",
        /// done within its target of 2–5 working days
        Large => "large",
    }
}

text_enum! {
    /// Why work waits.
    RepairHoldReason {
        OwnerUnavailable => "owner_unavailable",
        AwaitingOwnerMaterials => "awaiting_owner_materials",
        Weather => "weather",
    }
}

text_enum! {
    /// The owner's answer to the quote.
    AgreementDecision {
        Accepted => "accepted",
        Declined => "declined",
    }
}

text_enum! {
    /// The owner's answer to the work.
    AcceptanceDecision {
        Accepted => "accepted",
        Rejected => "rejected",
    }
}

text_enum! {
    /// The quality side's verdict.
    InspectionResult {
        Pass => "pass",
        Fail => "fail",
    }
}

text_enum! {
    /// A cost line of the quote or of the work actually done.
    RepairCostKind {
        Quote => "quote",
        Actual => "actual",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = repairs)]
pub struct Repair {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub scope_path: String,
    pub status: String,
    pub source: String,
    pub visit_id: Option<i64>,
    pub complaint_id: Option<i64>,
    pub category: String,
    pub location: String,
    pub location_key: String,
    pub description: String,
    pub severity: String,
    pub reported_at: NaiveDateTime,
    pub reported_by: i64,
    pub covered: Option<bool>,
    pub liability: Option<String>,
    pub payer: Option<String>,
    pub billable: bool,
    pub scale: Option<String>,
    pub target_days: Option<i32>,
    pub lead_user_id: Option<i64>,
    pub rounds: i32,
    pub is_repeat: bool,
    pub repeat_of: Option<i64>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = repair_steps)]
pub struct RepairStep {
    pub id: i64,
    pub repair_id: i64,
    pub round: i32,
    pub action: String,
    pub details: String,
    pub internal_note: Option<String>,
    pub recorded_by: i64,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = repair_cost_lines)]
pub struct RepairCostLine {
    pub id: i64,
    pub repair_id: i64,
    pub project_id: i64,
    pub kind: String,
    pub round: i32,
    pub item: String,
    pub quantity: f64,
    pub unit_price_fen: i64,
    pub amount_fen: i64,
    pub payer: String,
    pub contact_id: Option<i64>,
    pub created_at: NaiveDateTime,
}
