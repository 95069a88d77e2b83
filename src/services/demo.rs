//! `aftercare seed-demo`: a believable organisation for a first look in
//! Swagger UI — a group, two branches, project departments, a user for every
//! role and a customer user. Later issues add customers and projects here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{customers, users};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::models::org_unit::OrgUnitKind;
use crate::models::user::{Rank, Role};

use super::auth::console_admin;
use super::org_units::{self, NewOrgUnitInput};
use super::users::{create as create_user, NewUserInput};

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
/// database already holds an organisation.
pub fn seed(conn: &mut DbConn, now: NaiveDateTime, password: &str) -> AppResult<String> {
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

        let customer: i64 = diesel::insert_into(customers::table)
            .values((
                customers::name.eq("上海滨江置业有限公司 Binjiang Property Co."),
                customers::kind.eq("owner_organisation"),
                customers::branch_id.eq(east),
                customers::version.eq(1),
                customers::created_at.eq(now),
                customers::updated_at.eq(now),
            ))
            .returning(customers::id)
            .get_result(conn)?;

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
            )?;
            lines.push(format!(
                "  {:<16} {:<16} id {}",
                user.username, user.role, user.id
            ));
        }
        let count: i64 = users::table
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)?;
        lines.push(format!("\n{count} active users in all."));
        Ok(lines.join("\n"))
    })
}
