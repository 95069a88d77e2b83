//! `aftercare seed-demo`: a believable organisation for a first look in
//! Swagger UI — a group, two branches, project departments, a user for every
//! role, graded customers of every tier, and a dozen projects in the ledger
//! (some key, some with HVAC, some out of warranty, ledgers in every state),
//! and on one of them repairs, complaints and a visit in their states.

pub mod care;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::users;
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::customer::CustomerKind;
use crate::models::org_unit::OrgUnitKind;
use crate::models::project::ContactRole;
use crate::models::user::{Rank, Role};

use crate::kit::deadlines::{self, PolicyInput};
use crate::kit::workflow::Ctx;
use crate::models::deadline::{DurationUnit, Rule};
use crate::services::auth::{acting_as, console_admin};
use crate::services::customers::{self, GradingInput, NewCustomerInput};
use crate::services::org_units::{self, NewOrgUnitInput};
use crate::services::projects::ledger::{self, LedgerSubmission};
use crate::services::projects::{self, NewContactInput, NewProjectInput};
use crate::services::users::{create as create_user, NewUserInput};
use crate::services::ApprovalDecision;

/// username, display name, role, rank, org unit, customer
type DemoUser<'a> = (
    &'a str,
    &'a str,
    Role,
    Option<Rank>,
    Option<i64>,
    Option<i64>,
);

/// Creates the demo data and returns a summary to print. Refuses when the
/// database already holds an organisation. Every demo user gets `password`,
/// hashed beforehand by the caller (`password::hash`), holding no connection.
pub fn seed(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    password: &str,
    password_hash: &str,
    photo: &crate::kit::attachments::Received,
) -> AppResult<String> {
    let admin = console_admin(conn)?;
    let unit = |conn: &mut DbConn, name: &str, kind: OrgUnitKind, parent: Option<i64>| {
        org_units::create(
            conn,
            &admin,
            now,
            &NewOrgUnitInput {
                name: name.to_string(),
                kind,
                parent_id: parent,
            },
        )
        .map(|u| u.id)
    };
    write_tx(conn, |conn| {
        let group = unit(
            conn,
            "示范建设集团 Demo Construction Group",
            OrgUnitKind::Group,
            None,
        )
        .map_err(|e| match e {
            AppError::Conflict {
                code: "group_exists",
                ..
            } => AppError::conflict(
                "already_seeded",
                "the database already holds an organisation; seed-demo only fills an empty one",
            ),
            other => other,
        })?;
        let east = unit(
            conn,
            "华东分公司 East China Branch",
            OrgUnitKind::Branch,
            Some(group),
        )?;
        let north = unit(
            conn,
            "华北分公司 North China Branch",
            OrgUnitKind::Branch,
            Some(group),
        )?;
        let east_pd1 = unit(
            conn,
            "华东第一项目经理部 East Project Dept. 1",
            OrgUnitKind::ProjectDepartment,
            Some(east),
        )?;
        let east_pd2 = unit(
            conn,
            "华东第二项目经理部 East Project Dept. 2",
            OrgUnitKind::ProjectDepartment,
            Some(east),
        )?;
        let north_pd1 = unit(
            conn,
            "华北第一项目经理部 North Project Dept. 1",
            OrgUnitKind::ProjectDepartment,
            Some(north),
        )?;

        // customers of every tier, graded by the branch engineering departments
        let customer =
            |conn: &mut DbConn, name: &str, kind: CustomerKind, branch: i64, phone: &str| {
                customers::create(
                    conn,
                    &admin,
                    config,
                    now,
                    &NewCustomerInput {
                        name: name.to_string(),
                        kind,
                        branch_id: branch,
                        contact_name: None,
                        contact_phone: Some(phone.to_string()),
                        address: None,
                        serious_problems: false,
                    },
                )
                .map(|p| p.customer.id)
            };
        let binjiang = customer(
            conn,
            "上海滨江置业有限公司 Binjiang Property Co.",
            CustomerKind::OwnerOrganisation,
            east,
            "021-5888 0000",
        )?;
        let xihu = customer(
            conn,
            "杭州西湖物业服务有限公司 West Lake Property Services",
            CustomerKind::PropertyCompany,
            east,
            "0571-8777 1000",
        )?;
        let suzhou = customer(
            conn,
            "苏州工业园区建设局 Suzhou Industrial Park Construction Bureau",
            CustomerKind::OwnerOrganisation,
            east,
            "0512-6666 2000",
        )?;
        let chaoyang = customer(
            conn,
            "北京朝阳置业有限公司 Chaoyang Real Estate",
            CustomerKind::OwnerOrganisation,
            north,
            "010-6555 3000",
        )?;
        let li = customer(
            conn,
            "李先生 Mr. Li (individual owner)",
            CustomerKind::Individual,
            north,
            "139 1000 4000",
        )?;
        let _ungraded = customer(
            conn,
            "石家庄城建投资 Shijiazhuang Urban Investment",
            CustomerKind::OwnerOrganisation,
            north,
            "0311-8555 5000",
        )?;
        for (id, scores) in [
            (binjiang, [90, 88, 86]),
            (suzhou, [82, 80, 81]),
            (xihu, [78, 74, 76]),
            (chaoyang, [72, 70, 69]),
            (li, [55, 40, 60]),
        ] {
            customers::grade(
                conn,
                &admin,
                config,
                now,
                id,
                &GradingInput {
                    operating_score: scores[0],
                    payment_score: scores[1],
                    cooperation_score: scores[2],
                    grade: None,
                    override_reason: None,
                },
            )?;
        }
        let customer = binjiang;

        let people: [DemoUser; 11] = [
            (
                "group.engineer",
                "集团工程部 王工 Wang (group engineering)",
                Role::GroupEngineer,
                Some(Rank::Manager),
                Some(group),
                None,
            ),
            (
                "east.engineer",
                "华东工程部 李工 Li (branch engineering)",
                Role::BranchEngineer,
                Some(Rank::Supervisor),
                Some(east),
                None,
            ),
            (
                "east.leader",
                "华东分管领导 赵总 Zhao (branch leader)",
                Role::BranchLeader,
                Some(Rank::Manager),
                Some(east),
                None,
            ),
            (
                "east.pm1",
                "项目经理 张伟 Zhang Wei",
                Role::ProjectManager,
                Some(Rank::Manager),
                Some(east_pd1),
                None,
            ),
            (
                "east.pm2",
                "项目经理 陈静 Chen Jing",
                Role::ProjectManager,
                Some(Rank::Supervisor),
                Some(east_pd2),
                None,
            ),
            (
                "east.tech1",
                "维修技工 刘强 Liu Qiang",
                Role::Staff,
                Some(Rank::Staff),
                Some(east_pd1),
                None,
            ),
            (
                "north.engineer",
                "华北工程部 孙工 Sun (branch engineering)",
                Role::BranchEngineer,
                Some(Rank::Supervisor),
                Some(north),
                None,
            ),
            (
                "north.leader",
                "华北分管领导 周总 Zhou (branch leader)",
                Role::BranchLeader,
                Some(Rank::Manager),
                Some(north),
                None,
            ),
            (
                "north.pm1",
                "项目经理 吴磊 Wu Lei",
                Role::ProjectManager,
                Some(Rank::Manager),
                Some(north_pd1),
                None,
            ),
            (
                "north.tech1",
                "维修技工 郑浩 Zheng Hao",
                Role::Staff,
                Some(Rank::Staff),
                Some(north_pd1),
                None,
            ),
            (
                "owner.binjiang",
                "滨江置业 工程部 Binjiang owner engineering",
                Role::Customer,
                None,
                None,
                Some(customer),
            ),
        ];
        let mut lines = vec![format!(
            "Demo organisation created. Every demo user's password: {password}\n"
        )];
        for (username, name, role, rank, org_unit_id, customer_id) in people {
            let user = create_user(
                conn,
                &admin,
                now,
                &NewUserInput {
                    username: username.to_string(),
                    display_name: name.to_string(),
                    phone: None,
                    role,
                    rank,
                    org_unit_id,
                    customer_id,
                    password: password.to_string(),
                },
                password_hash,
            )?;
            lines.push(format!(
                "  {:<16} {:<16} id {}",
                user.username, user.role, user.id
            ));
        }
        // group engineering hears of late ledger reviews too: a policy change
        // (version 2) made before the demo's ledgers start their clocks
        let review = deadlines::current_policy(conn, Rule::LedgerReview)?;
        deadlines::change_policy(
            conn,
            &admin,
            now,
            Rule::LedgerReview,
            &PolicyInput {
                duration: review.duration,
                unit: DurationUnit::from_db(&review.unit)?,
                actor_role: Role::from_db(&review.actor_role)?,
                escalation_roles: vec![Role::BranchLeader, Role::GroupEngineer],
                description: None,
                min_duration: review.min_duration,
                warn_percent: Some(review.warn_percent),
            },
        )?;
        let projects_made = seed_projects(
            conn,
            config,
            now,
            [east_pd1, east_pd2, north_pd1],
            [binjiang, xihu, suzhou, chaoyang, li],
        )?;
        lines.push(format!("\n6 customers (graded AA, A, BBB, BB and C, one not yet graded) and {projects_made} projects in the ledger."));
        let made = care::seed(conn, config, now, photo)?;
        lines.push(format!(
            "On Binjiang Garden (HD-2024-001): {} warranty repairs — an emergency nobody answered, one awaiting the owner's agreement to its quote, one awaiting its repair order, one on hold for the owner, one back with the technician after a failed inspection, one for the owner to sign off, one waiting for its follow-up visit, a third repeat at the same place, and those made of a complaint and a visit; {} complaints (two awaiting judgment, one late; one minor, one serious awaiting its plan, one not ours and closed); {} visit awaiting the owner's confirmation.",
            made.repairs, made.complaints, made.visits
        ));
        // the clocks that passed while the demo ledgers "waited"
        let swept = deadlines::sweep(conn, now)?;
        lines.push(format!(
            "{} deadlines overdue and escalated, {} due soon: see GET /api/v1/me/tasks.",
            swept.overdue, swept.due_soon
        ));
        let count: i64 = users::table
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)?;
        lines.push(format!("\n{count} active users in all."));
        Ok(lines.join("\n"))
    })
}

fn actor(conn: &mut DbConn, username: &str) -> AppResult<crate::auth::Actor> {
    let id: i64 = users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(conn)?;
    acting_as(conn, id)
}

/// code, name, department, customer, accepted, handed over, key, hvac,
/// design life, ledger state, hours ago the ledger reached that state
type DemoProject<'a> = (
    &'a str,
    &'a str,
    i64,
    i64,
    NaiveDate,
    NaiveDate,
    bool,
    bool,
    i32,
    &'a str,
    i64,
);

/// Fifteen projects: key ones, HVAC ones, two long out of warranty, and
/// ledgers left in every state of the workflow — some of them days ago, so
/// that the deadline engine has overdue, escalated and due-soon work to show.
fn seed_projects(
    conn: &mut DbConn,
    config: &Config,
    now: NaiveDateTime,
    [east_pd1, east_pd2, north_pd1]: [i64; 3],
    [binjiang, xihu, suzhou, chaoyang, li]: [i64; 5],
) -> AppResult<usize> {
    let today = config.tz.from_utc_datetime(&now).date_naive();
    let year = today.year();
    // dates of this year stay before the earliest time a demo ledger moved
    // (three days ago), whatever the day the demo is seeded
    let latest = today - chrono::Days::new(5);
    let day = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap_or(latest)
            .min(latest)
    };
    let rows: [DemoProject; 15] = [
        (
            "HD-2024-001",
            "滨江花园一期 Binjiang Garden Phase I",
            east_pd1,
            binjiang,
            day(year - 2, 6, 28),
            day(year - 2, 7, 5),
            true,
            true,
            50,
            "approved",
            0,
        ),
        (
            "HD-2025-002",
            "滨江花园二期 Binjiang Garden Phase II",
            east_pd1,
            binjiang,
            day(year - 1, 9, 30),
            day(year - 1, 10, 8),
            true,
            true,
            50,
            "approved",
            0,
        ),
        (
            "HD-2025-003",
            "西湖苑住宅小区 West Lake Residences",
            east_pd1,
            xihu,
            day(year - 1, 4, 15),
            day(year - 1, 4, 20),
            false,
            false,
            50,
            "approved",
            0,
        ),
        (
            "HD-2026-004",
            "苏州园区人才公寓 SIP Talent Apartments",
            east_pd2,
            suzhou,
            day(year, 3, 20),
            day(year, 3, 28),
            true,
            true,
            50,
            "submitted",
            72,
        ),
        (
            "HD-2026-005",
            "苏州园区邻里中心 SIP Neighbourhood Centre",
            east_pd2,
            suzhou,
            day(year, 8, 10),
            day(year, 8, 18),
            false,
            true,
            50,
            "returned",
            0,
        ),
        (
            "HD-2026-006",
            "西湖物业办公楼 West Lake Property Office",
            east_pd2,
            xihu,
            today - chrono::Days::new(10),
            today - chrono::Days::new(2),
            false,
            false,
            50,
            "draft",
            0,
        ),
        (
            "HB-2023-007",
            "朝阳商务中心 Chaoyang Business Centre",
            north_pd1,
            chaoyang,
            day(year - 3, 11, 30),
            day(year - 3, 12, 10),
            true,
            true,
            50,
            "approved",
            0,
        ),
        (
            "HB-2025-008",
            "朝阳幼儿园 Chaoyang Kindergarten",
            north_pd1,
            chaoyang,
            day(year - 1, 7, 31),
            day(year - 1, 8, 15),
            true,
            false,
            50,
            "approved",
            0,
        ),
        (
            "HB-2026-009",
            "李宅翻建 Li Family House Rebuild",
            north_pd1,
            li,
            day(year, 5, 12),
            day(year, 5, 15),
            false,
            false,
            50,
            "submitted",
            48,
        ),
        (
            "HB-2026-010",
            "朝阳社区卫生站 Chaoyang Community Clinic",
            north_pd1,
            chaoyang,
            today - chrono::Days::new(5),
            today - chrono::Days::new(1),
            false,
            true,
            50,
            "draft",
            0,
        ),
        (
            "HB-2012-011",
            "朝阳临时展棚 Chaoyang Temporary Exhibition Hall",
            north_pd1,
            chaoyang,
            day(2012, 4, 30),
            day(2012, 5, 6),
            false,
            false,
            5,
            "approved",
            0,
        ),
        (
            "HD-2014-012",
            "滨江工地临时办公区 Binjiang Site Offices",
            east_pd1,
            binjiang,
            day(2014, 8, 31),
            day(2014, 9, 3),
            false,
            false,
            5,
            "approved",
            0,
        ),
        (
            "HD-2026-013",
            "滨江花园三期商铺 Binjiang Garden Phase III Shops",
            east_pd1,
            binjiang,
            today - chrono::Days::new(12),
            today - chrono::Days::new(7),
            false,
            false,
            50,
            "draft",
            0,
        ),
        (
            "HD-2026-014",
            "西湖苑地下车库 West Lake Residences Car Park",
            east_pd1,
            xihu,
            today - chrono::Days::new(9),
            today - chrono::Days::new(4),
            false,
            false,
            50,
            "submitted",
            20,
        ),
        (
            "HB-2026-015",
            "朝阳幼儿园风雨操场 Chaoyang Kindergarten Covered Playground",
            north_pd1,
            chaoyang,
            today - chrono::Days::new(9),
            today - chrono::Days::new(4),
            false,
            true,
            50,
            "submitted",
            20,
        ),
    ];
    let count = rows.len();
    let east_pm = actor(conn, "east.pm1")?;
    let east_pm2 = actor(conn, "east.pm2")?;
    let north_pm = actor(conn, "north.pm1")?;
    let east_eng = actor(conn, "east.engineer")?;
    let north_eng = actor(conn, "north.engineer")?;
    for (i, row) in rows.into_iter().enumerate() {
        let (code, name, dept, customer, accepted, handover, key, hvac, life, state, hours_ago) =
            row;
        // the ledger reached its state `hours_ago`; the project was entered
        // an hour before that
        let acted = now - chrono::TimeDelta::hours(hours_ago);
        let entered = if hours_ago > 0 {
            acted - chrono::TimeDelta::hours(1)
        } else {
            now
        };
        let (pm, engineer) = if dept == north_pd1 {
            (&north_pm, &north_eng)
        } else if dept == east_pd2 {
            (&east_pm2, &east_eng)
        } else {
            (&east_pm, &east_eng)
        };
        let project = projects::create(
            conn,
            pm,
            config,
            entered,
            &NewProjectInput {
                code: code.to_string(),
                name: name.to_string(),
                address: format!("{} 号 No. {}", 100 + i * 8, 100 + i * 8),
                project_department_id: dept,
                customer_id: customer,
                contract_number: Some(format!("SG-{}-{:04}", accepted.year(), 120 + i)),
                building_area: Some(12_000.0 + 7_350.5 * i as f64),
                structure_type: Some(
                    if life == 5 {
                        "轻钢 light steel"
                    } else {
                        "框架剪力墙 frame-shear wall"
                    }
                    .to_string(),
                ),
                quality_grade: Some("合格 qualified".to_string()),
                completion_accepted_on: accepted,
                handover_on: handover,
                is_key_project: key,
                hvac_in_scope: hvac,
                // building services commissioned some weeks after handover
                systems_in_operation_on: hvac.then(|| handover + chrono::Days::new(20)),
                design_service_life_years: Some(life),
            },
        )?;
        let contacts: &[(ContactRole, &str, &str, Option<&str>)] = &[
            (
                ContactRole::WarrantyLead,
                "刘强 Liu Qiang",
                "139 1200 0001",
                None,
            ),
            (
                ContactRole::ProjectManager,
                "张伟 Zhang Wei",
                "139 1200 0002",
                None,
            ),
            (
                ContactRole::ChiefEngineer,
                "周敏 Zhou Min",
                "139 1200 0003",
                None,
            ),
            (
                ContactRole::WaterproofingSubcontractor,
                "孙涛 Sun Tao",
                "138 3300 0004",
                Some("东方防水工程有限公司 Oriental Waterproofing Co."),
            ),
            (
                ContactRole::PropertyManager,
                "王芳 Wang Fang",
                "137 5500 0005",
                None,
            ),
        ];
        // a draft ledger is still being filled: the owner side is missing
        let keep = if state == "draft" { 2 } else { contacts.len() };
        for (role, person, phone, company) in &contacts[..keep] {
            projects::add_contact(
                conn,
                pm,
                entered,
                project.id,
                &NewContactInput {
                    role: *role,
                    name: person.to_string(),
                    phone: phone.to_string(),
                    company: company.map(str::to_string),
                },
            )?;
        }
        if state == "draft" {
            continue;
        }
        let late = acted > project.ledger_due_at;
        let as_pm = Ctx {
            actor: pm,
            config,
            now: acted,
        };
        ledger::submit(
            conn,
            as_pm,
            project.id,
            None,
            &LedgerSubmission {
                late_reason: late
                    .then(|| "entered when the ledger moved into Aftercare".to_string()),
                attachment_ids: vec![],
            },
        )?;
        let review = match state {
            "approved" => Some((ApprovalDecision::Approve, None)),
            "returned" => Some((
                ApprovalDecision::Return,
                Some("物业经理电话有误 property manager's phone is wrong".to_string()),
            )),
            _ => None,
        };
        if let Some((decision, comment)) = review {
            let as_engineer = Ctx {
                actor: engineer,
                config,
                now: acted,
            };
            ledger::review(
                conn,
                as_engineer,
                project.id,
                None,
                &crate::services::Approval {
                    decision,
                    comment,
                    late_reason: None,
                },
            )?;
        }
    }
    Ok(count)
}
