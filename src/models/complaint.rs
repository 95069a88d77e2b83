//! Complaints (客户投诉, 004 §5.4–5.8) and their rectification plans
//! (专项整改方案, 004 §5.5–5.6).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::text_enum;
use crate::db::schema::{
    complaint_evaluations, complaint_replies, complaint_resolutions, complaints,
    rectification_milestones, rectification_plan_versions, rectification_plans,
    rectification_progress,
};

text_enum! {
    /// Where a complaint stands (004 appendix B.2).
    ComplaintStatus {
        /// registered; liability to be judged within 2 days
        Registered => "registered",
        /// not ours: the reply was sent and the owner handles it
        ClosedNotOurs => "closed_not_ours",
        /// ours and serious: the project department writes a rectification plan
        AwaitingPlan => "awaiting_plan",
        /// ours and minor: the project department handles it directly
        Handling => "handling",
        /// the approved rectification plan is being carried out
        Rectifying => "rectifying",
        /// resolved; the customer is revisited within 3 days
        RevisitDue => "revisit_due",
        /// the customer is satisfied
        ClosedSatisfied => "closed_satisfied",
    }
}

text_enum! {
    /// A step of the complaint workflow.
    ComplaintAction {
        /// judged not our liability, with the reply sent
        JudgeNotOurs => "judge_not_ours",
        /// judged ours and serious: a plan is needed
        JudgeSerious => "judge_serious",
        /// judged ours and minor: handled directly
        JudgeMinor => "judge_minor",
        /// the rectification plan was approved
        StartRectification => "start_rectification",
        /// the project department reports the work done
        Resolve => "resolve",
        /// the customer is satisfied
        CloseSatisfied => "close_satisfied",
        /// not satisfied with a minor complaint: handled again
        ReopenMinor => "reopen_minor",
        /// not satisfied with a serious complaint: rectification goes on
        ReopenSerious => "reopen_serious",
    }
}

text_enum! {
    /// The group's filing (备案, 004 §5.4.3) of a complaint judged ours: a
    /// track beside the complaint's own that never blocks its handling.
    FilingStatus {
        /// not judged ours (yet): nothing to file
        NotRequired => "not_required",
        /// judged ours, waiting for the group engineering department
        Pending => "pending",
        /// filed; the group tracks it
        Filed => "filed",
    }
}

text_enum! {
    /// The step of the filing track.
    FilingAction {
        /// the judgment found it ours: the group is to file it
        Require => "require",
        /// the group engineering department files it
        File => "file",
    }
}

text_enum! {
    /// What a complaint is about (004 B.2 step 1).
    ComplaintCategory {
        /// 工期履约
        Schedule => "schedule",
        /// 安全文明施工
        SafetyCivility => "safety_civility",
        /// 保修
        Warranty => "warranty",
    }
}

text_enum! {
    /// How a complaint came in.
    Channel {
        Letter => "letter",
        Email => "email",
        Fax => "fax",
        Phone => "phone",
        Sms => "sms",
        Wechat => "wechat",
        /// the customer's own account, in the app
        App => "app",
        /// a return visit's dissatisfied survey
        Visit => "visit",
    }
}

text_enum! {
    /// Whose liability a complaint is (004 §5.4.2).
    Liability {
        Ours => "ours",
        NotOurs => "not_ours",
    }
}

text_enum! {
    /// How serious a complaint judged ours is.
    Severity {
        /// a rectification plan is written, reviewed and approved
        Serious => "serious",
        /// the project department handles it directly
        Minor => "minor",
    }
}

text_enum! {
    /// How the reply to a complaint that is not ours was sent (004 B.2 step 4).
    ReplyMethod {
        Courier => "courier",
        Fax => "fax",
        Email => "email",
    }
}

text_enum! {
    /// The customer's satisfaction, on the five levels of 003 §5.8.3.
    Rating {
        /// 很满意
        VerySatisfied => "very_satisfied",
        /// 比较满意
        FairlySatisfied => "fairly_satisfied",
        /// 基本满意
        BasicallySatisfied => "basically_satisfied",
        /// 不太满意
        SomewhatDissatisfied => "somewhat_dissatisfied",
        /// 不满意
        Dissatisfied => "dissatisfied",
    }
}

impl Rating {
    /// Basically satisfied or better closes a complaint (004 §5.7).
    pub fn is_satisfied(self) -> bool {
        matches!(
            self,
            Rating::VerySatisfied | Rating::FairlySatisfied | Rating::BasicallySatisfied
        )
    }
}

text_enum! {
    /// How the customer's evaluation was taken (004 §5.7).
    EvaluationMethod {
        /// a return visit
        Visit => "visit",
        Phone => "phone",
        /// acceptance of the rectified work
        Acceptance => "acceptance",
        /// by the customer in the app
        App => "app",
    }
}

text_enum! {
    /// Where a rectification plan stands (004 §5.5).
    PlanStatus {
        /// being written by the project department
        Draft => "draft",
        /// waiting for the branch engineering department's review (1 day)
        Submitted => "submitted",
        /// passed review; waiting for the branch leader's approval (1 day)
        Reviewed => "reviewed",
        /// approved: the work follows its milestones
        Approved => "approved",
        /// sent back; revise and resubmit
        Returned => "returned",
    }
}

text_enum! {
    /// A step of the rectification plan workflow.
    PlanAction {
        /// the project department hands the plan in
        Submit => "submit",
        /// the branch engineering department passes it
        Pass => "pass",
        /// the branch engineering department returns it
        ReturnReview => "return_review",
        /// the branch leader approves it
        Approve => "approve",
        /// the branch leader returns it
        ReturnApproval => "return_approval",
        /// milestones changed after approval: on a complaint sent to the group
        /// reviewed and approved again, on another in force at once
        Revise => "revise",
        /// the project department reports progress against the plan in force
        ReportProgress => "report_progress",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = complaints)]
pub struct Complaint {
    pub id: i64,
    pub project_id: i64,
    pub customer_id: i64,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub branch_id: Option<i64>,
    pub scope_path: String,
    pub status: String,
    pub category: String,
    pub channel: String,
    pub complainant_name: String,
    pub complainant_phone: String,
    pub description: String,
    pub sent_to_group: bool,
    pub registered_by: Option<i64>,
    pub repeat_of: Option<i64>,
    pub is_repeat: bool,
    pub visit_id: Option<i64>,
    pub liability: Option<String>,
    pub severity: Option<String>,
    pub reasoning: Option<String>,
    pub judged_at: Option<NaiveDateTime>,
    pub judged_by: Option<i64>,
    pub filing_status: String,
    pub filed_at: Option<NaiveDateTime>,
    pub filed_by: Option<i64>,
    pub filing_note: Option<String>,
    pub rounds: i32,
    pub rating: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

/// The reply letter to a complaint judged not ours.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = complaint_replies)]
#[diesel(primary_key(complaint_id))]
pub struct Reply {
    pub complaint_id: i64,
    pub method: String,
    pub sent_at: NaiveDateTime,
    pub text: String,
    pub recorded_by: i64,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = complaint_resolutions)]
pub struct Resolution {
    pub id: i64,
    pub complaint_id: i64,
    pub round: i32,
    pub summary: String,
    pub resolved_by: i64,
    pub resolved_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = complaint_evaluations)]
pub struct Evaluation {
    pub id: i64,
    pub complaint_id: i64,
    pub round: i32,
    pub rating: String,
    pub method: String,
    pub notes: Option<String>,
    pub satisfied: bool,
    pub evaluated_by: i64,
    pub evaluated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = rectification_plans)]
pub struct Plan {
    pub id: i64,
    pub complaint_id: i64,
    pub branch_id: i64,
    pub project_department_id: i64,
    pub scope_path: String,
    pub status: String,
    pub revision: i32,
    /// JSON: `{"people": […], "equipment": […], "materials": […]}`.
    pub resources: String,
    pub expected_result: String,
    pub created_by: i64,
    pub submitted_at: Option<NaiveDateTime>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<i64>,
    pub review_comment: Option<String>,
    pub covers_all_points: Option<bool>,
    pub approved_at: Option<NaiveDateTime>,
    pub approved_by: Option<i64>,
    pub approval_comment: Option<String>,
    pub progress_percent: i32,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = rectification_plan_versions)]
pub struct PlanVersion {
    pub id: i64,
    pub plan_id: i64,
    pub revision: i32,
    pub milestones: String,
    pub resources: String,
    pub expected_result: String,
    pub reason: Option<String>,
    pub changed_by: i64,
    pub changed_at: NaiveDateTime,
}

text_enum! {
    /// Where a milestone of a rectification plan stands.
    MilestoneStatus {
        /// to be done by its date (a deadline once the plan is approved)
        Open => "open",
        /// reported done in a progress report
        Done => "done",
        /// a revision of the plan replaced it
        Replaced => "replaced",
        /// the complaint closed satisfied before it was reported
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// The steps of a milestone, each taken inside a step of its plan or
    /// complaint.
    MilestoneAction {
        /// the plan in force: its deadline starts
        Schedule => "schedule",
        /// reported done
        ReportDone => "report_done",
        /// a revision replaced it
        Replace => "replace",
        /// its complaint closed satisfied
        Abandon => "abandon",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = rectification_milestones)]
pub struct Milestone {
    pub id: i64,
    pub plan_id: i64,
    pub revision: i32,
    pub position: i32,
    pub due_on: NaiveDate,
    pub description: String,
    pub done_on: Option<NaiveDate>,
    pub current: bool,
    pub status: String,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = rectification_progress)]
pub struct Progress {
    pub id: i64,
    pub plan_id: i64,
    pub reported_on: NaiveDate,
    pub percent: i32,
    pub note: String,
    pub resources_in_place: bool,
    /// JSON list of the milestone ids reported done.
    pub milestones_done: String,
    pub reported_by: i64,
    pub created_at: NaiveDateTime,
}
