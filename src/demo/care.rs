//! The demo's care records on Binjiang Garden (HD-2024-001): repairs,
//! complaints and a visit in the states the home screens of a technician,
//! the branch, and the owner show. Each step is taken through its record's
//! own service at the time it happened, so the clocks are the engine's.

use chrono::{NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::projects as project_rows;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::kit::attachments::{self, Received};
use crate::kit::workflow::Ctx;
use crate::models::attachment::MediaType;
use crate::models::complaint::{
    Channel, ComplaintCategory, Liability, Rating, ReplyMethod, Severity,
};
use crate::models::project::WarrantyCategory;
use crate::models::repair::{
    AcceptanceDecision, InspectionResult, RepairHoldReason, RepairLiability, RepairOutcome,
    RepairPayer, RepairScale, RepairSeverity, RepairSource,
};
use crate::models::visit::{IssueLiability, VisitKind, VisitMethod, VisitOutcome};
use crate::services::complaints::{self, JudgedRepair, JudgmentInput, NewComplaint, ReplyInput};
use crate::services::repairs::{
    self, NewRepair, RepairAcceptance, RepairCompletion, RepairConfirmation, RepairCostLineInput,
    RepairDispatch, RepairHold, RepairInspection,
};
use crate::services::visits::{self, IssueInput, NewVisit, PersonMet};

use super::actor;

/// The photo the demo's crews attach to their completed work: a small PNG
/// made here (the bytes, and the file as the upload service records it).
/// The caller puts the bytes in the store before seeding.
pub fn photo() -> AppResult<(Vec<u8>, Received)> {
    let image = image::RgbImage::from_fn(320, 240, |x, y| {
        // a grey wall with a darker band where it was patched
        let patched = (100..140).contains(&y) && (60..260).contains(&x);
        let shade = if patched { 120 } else { 190 } as u8;
        image::Rgb([shade, shade, shade.saturating_add((x % 16) as u8)])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| AppError::internal(format!("the demo photo: {e}")))?;
    let bytes = bytes.into_inner();
    let received = Received {
        sha256: hex::encode(Sha256::digest(&bytes)),
        size_bytes: bytes.len() as i64,
        media_type: MediaType::Png,
        file_name: "维修完成 repair done.png".to_string(),
    };
    Ok((bytes, received))
}

/// What was made, for the summary printed.
pub struct Made {
    pub repairs: usize,
    pub complaints: usize,
    pub visits: usize,
}

struct Demo<'a> {
    config: &'a Config,
    now: NaiveDateTime,
    project: i64,
    photo: &'a Received,
    pm: Actor,
    engineer: Actor,
    tech: Actor,
    owner: Actor,
}

impl<'a> Demo<'a> {
    fn at(&self, hours_ago: i64) -> NaiveDateTime {
        self.now - chrono::Duration::hours(hours_ago)
    }

    fn ctx<'b>(&'b self, actor: &'b Actor, hours_ago: i64) -> Ctx<'b> {
        Ctx {
            actor,
            config: self.config,
            now: self.at(hours_ago),
        }
    }

    fn report(
        &self,
        conn: &mut DbConn,
        severity: RepairSeverity,
        location: &str,
        hours_ago: i64,
    ) -> AppResult<i64> {
        repairs::report(
            conn,
            self.ctx(&self.pm, hours_ago),
            &NewRepair {
                project_id: self.project,
                source: RepairSource::OwnerReport,
                category: WarrantyCategory::Waterproofing,
                location: location.to_string(),
                description: "业主来电：渗水 the owner called: water seeps in".to_string(),
                severity,
                reported_at: Utc.from_utc_datetime(&self.at(hours_ago)),
                attachment_ids: vec![],
            },
        )
        .map(|d| d.repair.id)
    }

    fn confirm(
        &self,
        conn: &mut DbConn,
        id: i64,
        liability: RepairLiability,
        quote: Vec<RepairCostLineInput>,
        hours_ago: i64,
    ) -> AppResult<()> {
        repairs::confirm(
            conn,
            self.ctx(&self.pm, hours_ago),
            id,
            None,
            &RepairConfirmation {
                outcome: RepairOutcome::Defect,
                explanation: None,
                covered_override: None,
                override_reason: None,
                liability: Some(liability),
                subcontractor_contact_id: None,
                shares: None,
                cause: Some("防水层老化破损 the waterproofing layer is torn".to_string()),
                measures: Some("局部凿除重做 redo the layer locally".to_string()),
                scale: Some(RepairScale::Small),
                target_days: None,
                structural_safety: false,
                supervision_report: None,
                quote,
                internal_note: None,
                late_reason: None,
                attachment_ids: vec![],
            },
        )
        .map(|_| ())
    }

    /// The branch issues the order with the technician as the lead.
    fn dispatch(&self, conn: &mut DbConn, id: i64, hours_ago: i64) -> AppResult<()> {
        repairs::dispatch(
            conn,
            self.ctx(&self.engineer, hours_ago),
            id,
            None,
            &RepairDispatch {
                lead_user_id: Some(self.tech.id),
                crew: "维修技工 刘强 Liu Qiang".to_string(),
                subcontractor_contact_id: None,
                internal_note: None,
            },
        )
        .map(|_| ())
    }

    /// The technician reports the work done, with a photo uploaded then.
    fn complete(&self, conn: &mut DbConn, id: i64, hours_ago: i64) -> AppResult<()> {
        let upload = attachments::record_upload(
            conn,
            &self.tech,
            self.config,
            self.at(hours_ago),
            self.photo,
        )?;
        repairs::complete(
            conn,
            self.ctx(&self.tech, hours_ago),
            id,
            None,
            &RepairCompletion {
                work_done:
                    "凿除旧防水层，重做两遍涂膜 removed the old layer, two coats of membrane"
                        .to_string(),
                materials: Some("聚氨酯防水涂料 6 kg polyurethane coating".to_string()),
                labour_hours: 5.5,
                cost_lines: vec![RepairCostLineInput {
                    item: "防水涂料 waterproofing coating".to_string(),
                    quantity: 6.0,
                    unit_price: 42.0,
                    payer: RepairPayer::Company,
                    contact_id: None,
                }],
                attachment_ids: vec![upload.id],
                internal_note: None,
                late_reason: None,
            },
        )
        .map(|_| ())
    }

    fn inspect(
        &self,
        conn: &mut DbConn,
        id: i64,
        result: InspectionResult,
        hours_ago: i64,
    ) -> AppResult<()> {
        let reasons = matches!(result, InspectionResult::Fail)
            .then(|| "闭水试验仍有渗漏 the flood test still leaks at the drain".to_string());
        repairs::inspect(
            conn,
            self.ctx(&self.engineer, hours_ago),
            id,
            None,
            &RepairInspection {
                result,
                reasons,
                internal_note: None,
            },
        )
        .map(|_| ())
    }
}

/// Repairs, complaints and a visit of Binjiang Garden (HD-2024-001).
pub fn seed(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    photo: &Received,
) -> AppResult<Made> {
    let demo = Demo {
        config,
        now,
        project: project_rows::table
            .filter(project_rows::code.eq("HD-2024-001"))
            .select(project_rows::id)
            .first(conn)?,
        photo,
        pm: actor(conn, "east.pm1")?,
        engineer: actor(conn, "east.engineer")?,
        tech: actor(conn, "east.tech1")?,
        owner: actor(conn, "owner.binjiang")?,
    };
    let repairs = seed_repairs(conn, &demo)?;
    let (complaints, complaint_repairs) = seed_complaints(conn, &demo)?;
    let (visits, visit_repairs) = seed_visits(conn, &demo)?;
    Ok(Made {
        repairs: repairs + complaint_repairs + visit_repairs,
        complaints,
        visits,
    })
}

fn seed_repairs(conn: &mut DbConn, d: &Demo<'_>) -> AppResult<usize> {
    // an emergency nobody has answered: overdue, with the branch leader
    d.report(
        conn,
        RepairSeverity::Emergency,
        "2 号楼 502 厨房 kitchen",
        10,
    )?;
    // billable (the owner's own alteration): the quote waits for the owner
    let billable = d.report(conn, RepairSeverity::Normal, "1 号楼 301 阳台 balcony", 30)?;
    d.confirm(
        conn,
        billable,
        RepairLiability::Misuse,
        vec![RepairCostLineInput {
            item: "阳台防水修补 balcony waterproofing patch".to_string(),
            quantity: 4.0,
            unit_price: 85.0,
            payer: RepairPayer::Owner,
            contact_id: None,
        }],
        28,
    )?;
    // free, confirmed: the branch issues the order next
    let free = d.report(
        conn,
        RepairSeverity::Normal,
        "3 号楼 1201 卫生间 bathroom",
        20,
    )?;
    d.confirm(conn, free, RepairLiability::GeneralContractor, vec![], 18)?;
    // under way, then on hold: the owner is away
    let held = d.report(conn, RepairSeverity::Normal, "1 号楼 1102 外窗 window", 50)?;
    d.confirm(conn, held, RepairLiability::GeneralContractor, vec![], 47)?;
    d.dispatch(conn, held, 46)?;
    repairs::hold(
        conn,
        d.ctx(&d.pm, 44),
        held,
        None,
        &RepairHold {
            reason: RepairHoldReason::OwnerUnavailable,
            note: "业主出差，下周回 the owner is away until next week".to_string(),
        },
    )?;
    // failed inspection: back with the technician, whose completion clock
    // runs on from where it stopped (8 hours were left; 2 remain)
    let failed = d.report(
        conn,
        RepairSeverity::Normal,
        "2 号楼 801 卫生间 bathroom",
        30,
    )?;
    d.confirm(conn, failed, RepairLiability::GeneralContractor, vec![], 29)?;
    d.dispatch(conn, failed, 28)?;
    d.complete(conn, failed, 12)?;
    d.inspect(conn, failed, InspectionResult::Fail, 6)?;
    // passed inspection: the owner signs it off in the app
    let to_sign = d.report(
        conn,
        RepairSeverity::Normal,
        "2 号楼 302 外墙 outer wall",
        40,
    )?;
    d.confirm(
        conn,
        to_sign,
        RepairLiability::GeneralContractor,
        vec![],
        39,
    )?;
    d.dispatch(conn, to_sign, 38)?;
    d.complete(conn, to_sign, 20)?;
    d.inspect(conn, to_sign, InspectionResult::Pass, 10)?;
    // accepted 15 days ago: the follow-up visit is due (7 days to a month)
    let accepted = d.report(conn, RepairSeverity::Normal, "1 号楼 屋面 roof", 400)?;
    d.confirm(
        conn,
        accepted,
        RepairLiability::GeneralContractor,
        vec![],
        399,
    )?;
    d.dispatch(conn, accepted, 398)?;
    d.complete(conn, accepted, 390)?;
    d.inspect(conn, accepted, InspectionResult::Pass, 380)?;
    repairs::accept(
        conn,
        d.ctx(&d.owner, 360),
        accepted,
        None,
        &RepairAcceptance {
            decision: AcceptanceDecision::Accepted,
            rating: Some(Rating::VerySatisfied),
            reason: None,
            signed_by: None,
            signed_on: None,
            attachment_ids: vec![],
        },
    )?;
    // the same basement wall three times: the third is a repeat
    for hours in [2000, 900, 6] {
        d.report(
            conn,
            RepairSeverity::Normal,
            "地下车库 B1 墙面 basement wall",
            hours,
        )?;
    }
    Ok(10)
}

fn complaint(d: &Demo<'_>, hours_ago: i64, channel: Channel, what: &str) -> NewComplaint {
    NewComplaint {
        project_id: d.project,
        received_at: Utc.from_utc_datetime(&d.at(hours_ago)),
        category: ComplaintCategory::Warranty,
        channel,
        complainant_name: "滨江置业 陈经理 Manager Chen".to_string(),
        complainant_phone: "021-5888 0012".to_string(),
        description: what.to_string(),
        sent_to_group: false,
        repeat_of: None,
        repair_id: None,
        attachment_ids: vec![],
    }
}

/// Complaints waiting for the branch's judgment (one of them late), one
/// judged minor and answered by a repair, one serious waiting for its
/// rectification plan, one not ours and closed with the reply. Returns the
/// complaints and the repairs made of them.
fn seed_complaints(conn: &mut DbConn, d: &Demo<'_>) -> AppResult<(usize, usize)> {
    let register = |conn: &mut DbConn, hours_ago, channel, what: &str| {
        // the branch engineering department registers what comes in
        complaints::register(
            conn,
            d.ctx(&d.engineer, hours_ago),
            &complaint(d, hours_ago, channel, what),
        )
        .map(|c| c.id)
    };
    register(
        conn,
        20,
        Channel::Phone,
        "车库入口坡道开裂 the garage ramp is cracking",
    )?;
    register(
        conn,
        60,
        Channel::Letter,
        "电梯厅地砖空鼓 hollow floor tiles in the lift lobby",
    )?;
    let judge = |conn: &mut DbConn, id, hours_ago, input: &JudgmentInput| {
        complaints::judge(conn, d.ctx(&d.engineer, hours_ago), id, None, input).map(|_| ())
    };
    let minor = register(
        conn,
        30,
        Channel::Wechat,
        "3 号楼 1502 卫生间顶棚滴水 the bathroom ceiling of 1502 drips",
    )?;
    judge(
        conn,
        minor,
        26,
        &JudgmentInput {
            liability: Liability::Ours,
            severity: Some(Severity::Minor),
            reasoning: "楼上卫生间防水局部失效 the waterproofing of the flat above failed locally"
                .to_string(),
            reply: None,
            late_reason: None,
            attachment_ids: vec![],
            repair: Some(JudgedRepair {
                category: WarrantyCategory::Waterproofing,
                location: "3 号楼 1602 卫生间 bathroom".to_string(),
                severity: RepairSeverity::Normal,
            }),
        },
    )?;
    let serious = register(
        conn,
        40,
        Channel::Letter,
        "地下室整面外墙渗水 the whole basement outer wall seeps",
    )?;
    judge(
        conn,
        serious,
        30,
        &JudgmentInput {
            liability: Liability::Ours,
            severity: Some(Severity::Serious),
            reasoning: "外墙防水卷材搭接不足 the membrane's laps are too short".to_string(),
            reply: None,
            late_reason: None,
            attachment_ids: vec![],
            repair: None,
        },
    )?;
    let not_ours = register(
        conn,
        70,
        Channel::Email,
        "阳台栏杆锈蚀 the balcony railings rust",
    )?;
    judge(
        conn,
        not_ours,
        50,
        &JudgmentInput {
            liability: Liability::NotOurs,
            severity: None,
            reasoning: "栏杆由业主另行发包 the railings were let by the owner to another firm"
                .to_string(),
            reply: Some(ReplyInput {
                method: ReplyMethod::Email,
                sent_at: Utc.from_utc_datetime(&d.at(50)),
                text: "经查，栏杆不在我司施工范围 the railings were not in our contract"
                    .to_string(),
            }),
            late_reason: None,
            attachment_ids: vec![],
            repair: None,
        },
    )?;
    Ok((5, 1))
}

/// A routine visit recorded yesterday, waiting for the owner's
/// confirmation in the app; its issue under warranty became a repair.
fn seed_visits(conn: &mut DbConn, d: &Demo<'_>) -> AppResult<(usize, usize)> {
    visits::record(
        conn,
        d.ctx(&d.pm, 20),
        &NewVisit {
            project_id: d.project,
            kind: VisitKind::Routine,
            method: VisitMethod::Onsite,
            visited_at: Utc.from_utc_datetime(&d.at(22)),
            visitor_ids: vec![],
            people_met: vec![PersonMet {
                name: "陈经理 Manager Chen".to_string(),
                department: Some("滨江置业工程部 owner engineering".to_string()),
                title: Some("经理 manager".to_string()),
            }],
            findings: "整体使用正常；2 号楼屋面落水口积水 all in use; water stands at a roof drain"
                .to_string(),
            owner_opinion: Some("希望雨季前处理 please fix it before the rains".to_string()),
            owner_phone: Some("021-5888 0012".to_string()),
            outcome: VisitOutcome::Completed,
            contact_failed_reason: None,
            complaint_id: None,
            repair_id: None,
            plan_item_id: None,
            issues: vec![IssueInput {
                description: "屋面落水口周边防水开裂 the roof membrane cracks round the drain"
                    .to_string(),
                component: WarrantyCategory::Waterproofing,
                location: "2 号楼屋面 building 2, roof".to_string(),
                liability: IssueLiability::Ours,
                explanation: None,
                advice: None,
            }],
            survey: None,
            late_reason: None,
            attachment_ids: vec![],
        },
    )?;
    Ok((1, 1))
}
