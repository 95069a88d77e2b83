//! Return-visit records (回访记录, 000 §5, 004 appendix D, 003 表3.3.1) and
//! the satisfaction survey (002 项目满意度调查记录表).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::text_enum;
use crate::db::schema::{visit_issues, visit_plan_items, visit_plans, visit_surveys, visits};

text_enum! {
    /// Why a visit is made (000 §2).
    VisitKind {
        /// within 3 months of handover
        Handover => "handover",
        /// the regular quarterly, half-yearly or monthly visit
        Routine => "routine",
        /// before and during the rainy season (April–June)
        RainySeason => "rainy_season",
        /// a month before heating starts
        HeatingSeason => "heating_season",
        /// HVAC in summer
        Summer => "summer",
        /// HVAC in winter
        Winter => "winter",
        /// a technical visit
        Technical => "technical",
        /// a month after equipment goes into formal operation
        Equipment => "equipment",
        /// in the month before a warranty term ends
        PreExpiry => "pre_expiry",
        /// the revisit of a resolved complaint (001: within 3 days)
        Complaint => "complaint",
        /// after a repair
        RepairFollowup => "repair_followup",
    }
}

text_enum! {
    /// How a visit was made.
    VisitMethod {
        Onsite => "onsite",
        Phone => "phone",
        Letter => "letter",
        Email => "email",
        Meeting => "meeting",
    }
}

text_enum! {
    /// Whether the owner was reached (004 risk R03).
    VisitOutcome {
        Completed => "completed",
        /// the owner could not be reached; an on-site visit takes its place
        ContactFailed => "contact_failed",
    }
}

text_enum! {
    /// Where a visit record stands.
    VisitStatus {
        /// recorded by the visitor
        Recorded => "recorded",
        /// confirmed by the owner (业主签字确认)
        Confirmed => "confirmed",
    }
}

text_enum! {
    /// A step of the visit record's workflow.
    VisitAction {
        /// the owner's own account confirms it in the app
        Confirm => "confirm",
        /// staff record the owner's signature on paper
        RecordSignature => "record_signature",
    }
}

text_enum! {
    /// How the owner confirmed a visit record.
    ConfirmationMethod {
        /// the owner's own account, in the app
        App => "app",
        /// a signature on the paper record, recorded by staff
        Paper => "paper",
    }
}

text_enum! {
    /// Whose an issue found is (000 §5.4).
    IssueLiability {
        Ours => "ours",
        NotOurs => "not_ours",
        Undetermined => "undetermined",
    }
}

text_enum! {
    /// The ten factors of the satisfaction survey (002).
    SurveyFactor {
        /// 沟通 0.10
        Communication => "communication",
        /// 工程质量 0.20
        ConstructionQuality => "construction_quality",
        /// 服务态度 0.10
        Attitude => "attitude",
        /// 问题处理 0.05
        ProblemHandling => "problem_handling",
        /// 前期准备及方案 0.05
        Preparation => "preparation",
        /// 工期 0.10
        Schedule => "schedule",
        /// 安全 0.10
        Safety => "safety",
        /// 文明施工 0.10
        SiteCivility => "site_civility",
        /// 环境保护 0.10
        Environment => "environment",
        /// 与周边协调 0.10
        Coordination => "coordination",
    }
}

impl SurveyFactor {
    /// The factor's weight in hundredths; the weights sum to 100.
    pub fn weight_pct(self) -> i32 {
        match self {
            SurveyFactor::ConstructionQuality => 20,
            SurveyFactor::ProblemHandling | SurveyFactor::Preparation => 5,
            _ => 10,
        }
    }
}

/// The scores a factor may be given.
pub const SURVEY_SCORES: [i32; 5] = [100, 80, 60, 30, 0];

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = visits)]
pub struct Visit {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub branch_id: i64,
    pub scope_path: String,
    pub status: String,
    pub kind: String,
    pub method: String,
    pub visited_at: NaiveDateTime,
    pub outcome: String,
    pub contact_failed_reason: Option<String>,
    /// JSON list of the people met.
    pub people_met: String,
    pub findings: String,
    pub owner_opinion: Option<String>,
    pub owner_phone: Option<String>,
    pub complaint_id: Option<i64>,
    pub opened_complaint_id: Option<i64>,
    pub recorded_by: i64,
    pub recorded_late: bool,
    pub confirmation: Option<String>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub confirmed_by: Option<i64>,
    pub signer_name: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The plan item the visit carried out.
    pub plan_item_id: Option<i64>,
    /// The repair a `repair_followup` visit follows up.
    pub repair_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = visit_issues)]
pub struct VisitIssue {
    pub id: i64,
    pub visit_id: i64,
    pub position: i32,
    pub description: String,
    pub component: String,
    pub location: String,
    pub liability: String,
    pub explanation: Option<String>,
    pub advice: Option<String>,
    pub repair_needed: bool,
    pub repair_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = visit_surveys)]
#[diesel(primary_key(visit_id))]
pub struct VisitSurvey {
    pub visit_id: i64,
    /// JSON: `{factor: score}`.
    pub scores: String,
    pub weighted_score_tenths: i32,
    pub rating: String,
}

text_enum! {
    /// The two levels of visit plan (004 §5.2).
    PlanLevel {
        /// a branch's plan for a calendar year, approved by the group
        Branch => "branch",
        /// a project department's plan for a month, approved by the branch
        Project => "project",
    }
}

pub use super::ApprovalStatus;

text_enum! {
    /// A step of the visit plan workflow.
    VisitPlanAction {
        Submit => "submit",
        Approve => "approve",
        Return => "return",
    }
}

text_enum! {
    /// Where a plan item stands.
    PlanItemStatus {
        /// to be visited on its day
        Planned => "planned",
        /// a visit record carried it out
        Done => "done",
        /// the owner could not be reached; an on-site item replaces it
        Replanned => "replanned",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = visit_plans)]
pub struct VisitPlan {
    pub id: i64,
    pub level: String,
    pub org_unit_id: i64,
    pub scope_path: String,
    pub year: i32,
    pub month: i32,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub status: String,
    pub created_by: i64,
    pub submitted_at: Option<NaiveDateTime>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<i64>,
    pub review_comment: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

text_enum! {
    /// The steps of a plan item.
    PlanItemAction {
        /// the plan is approved: the item is its visitor's task
        Schedule => "schedule",
        /// a visit record carried it out
        Complete => "complete",
        /// the visit found nobody: an on-site item replaces it
        ContactFailed => "contact_failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = visit_plan_items)]
pub struct PlanItem {
    pub id: i64,
    pub plan_id: i64,
    pub project_id: i64,
    pub kind: String,
    pub method: String,
    pub planned_on: NaiveDate,
    pub visitor_id: i64,
    pub status: String,
    pub visit_id: Option<i64>,
    pub replaces_item_id: Option<i64>,
    pub done_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
